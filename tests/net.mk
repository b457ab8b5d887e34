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

check_PROGRAMS += tests/check_creds
TESTS += tests/check_creds
tests_check_creds_SOURCES = tests/check_creds.c
tests_check_creds_CFLAGS = $(TEST_CFLAGS)
tests_check_creds_LDADD = $(TEST_LIBS)

# SigV4 against botocore (a helper program and a Python script).
check_PROGRAMS += tests/sigv4_tool
tests_sigv4_tool_SOURCES = tests/sigv4_tool.c
tests_sigv4_tool_LDADD = libhoist.la $(JANSSON_LIBS)
TESTS += tests/sigv4_botocore.sh
EXTRA_DIST += tests/sigv4_botocore.sh tests/sigv4_botocore.py

# Benchmark (not run by make check): bench/http_reuse [N].
noinst_PROGRAMS += bench/http_reuse
bench_http_reuse_SOURCES = bench/http_reuse.c
bench_http_reuse_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
bench_http_reuse_LDADD = libhoist.la $(MHD_LIBS) $(JANSSON_LIBS) -lpthread
EXTRA_DIST += bench/README.md
