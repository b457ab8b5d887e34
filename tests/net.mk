# tests/net.mk: transport, SigV4 and credentials tests.
check_PROGRAMS += tests/check_sigv4
TESTS += tests/check_sigv4
tests_check_sigv4_SOURCES = tests/check_sigv4.c
tests_check_sigv4_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS)
tests_check_sigv4_LDADD = $(TEST_LIBS) $(OPENSSL_LIBS)

check_PROGRAMS += tests/check_http
TESTS += tests/check_http
tests_check_http_SOURCES = tests/check_http.c tests/testhttpd.h
tests_check_http_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS) $(MHD_CFLAGS)
tests_check_http_LDADD = $(TEST_LIBS) $(OPENSSL_LIBS) $(MHD_LIBS) -lpthread
