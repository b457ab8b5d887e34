# tests/net.mk: transport, SigV4 and credentials tests.
check_PROGRAMS += tests/check_sigv4
TESTS += tests/check_sigv4
tests_check_sigv4_SOURCES = tests/check_sigv4.c
tests_check_sigv4_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS)
tests_check_sigv4_LDADD = $(TEST_LIBS) $(OPENSSL_LIBS)
