# Shared state on S3: the backend against hoist-sim (Check), two deploys on
# one environment, the AWS CLI reading hoist's state, s3rver behind a SigV4 proxy.
check_PROGRAMS += tests/check_state_s3
TESTS += tests/check_state_s3
tests_check_state_s3_SOURCES = tests/check_state_s3.c
tests_check_state_s3_CFLAGS = $(TEST_CFLAGS)
tests_check_state_s3_LDADD = $(TEST_LIBS) -lpthread
TESTS += tests/s3_deploy.sh
EXTRA_DIST += tests/s3_deploy.sh
TESTS += tests/s3_s3rver.sh
EXTRA_DIST += tests/s3_s3rver.sh tests/s3_sigv4_proxy.py
