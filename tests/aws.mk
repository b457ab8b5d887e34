# The aws provider: unit tests of request building and answer parsing, and
# the lifecycle against hoist-sim's AWS APIs (SigV4 verified by the sim).
TESTS += tests/aws_lifecycle.sh tests/aws_names.sh tests/aws_network.sh
EXTRA_DIST += tests/aws_lifecycle.sh tests/aws_names.sh tests/aws_network.sh tests/aws_lib.sh
check_PROGRAMS += tests/check_aws
TESTS += tests/check_aws
tests_check_aws_SOURCES = tests/check_aws.c $(AWS_SOURCES)
tests_check_aws_CFLAGS = $(TEST_CFLAGS)
tests_check_aws_LDADD = $(TEST_LIBS) -lpthread -lm
# Benchmarks (not run by make check): bench/aws_calls, driven by bench/aws_cli.sh,
# and the other issue-15 scripts (bench/README.md).
noinst_PROGRAMS += bench/aws_calls
bench_aws_calls_SOURCES = bench/aws_calls.c
bench_aws_calls_LDADD = libhoist.la $(JANSSON_LIBS)
EXTRA_DIST += bench/aws_cli.sh bench/bench_lib.sh bench/critical_path.sh bench/scale.sh bench/startup.sh
