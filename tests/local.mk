# The local provider against real servers and a real Node.js app.
AM_TESTS_ENVIRONMENT += HOIST_LOCAL_RUNNER='$(abs_top_builddir)/providers/local/hoist-local-run'; \
	export HOIST_LOCAL_RUNNER;
check_PROGRAMS += tests/check_local
TESTS += tests/check_local
tests_check_local_SOURCES = tests/check_local.c
tests_check_local_CFLAGS = $(TEST_CFLAGS)
tests_check_local_LDADD = $(TEST_LIBS)

# The example deployed with the real CLI (needs the pipeline commands).
TESTS += tests/local_e2e.sh
EXTRA_DIST += tests/local_e2e.sh

# Releases on the local provider: no failed request during a code change or
# scaling, a broken release keeps the old one serving, crash-loop recovery,
# fast health feedback, Ctrl-C during a health wait (Node.js only).
TESTS += tests/local_release.sh
EXTRA_DIST += tests/local_release.sh bench/local_health.sh
