# Every test speaks TAP, so each Check test case is counted on its own line
# (Check writes TAP to stdout with CK_TAP_LOG_FILE_NAME=-; scripts print TAP).
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CK_TAP_LOG_FILE_NAME=- CK_VERBOSITY=silent \
	HOIST_BUILDDIR='$(abs_top_builddir)' HOIST_SRCDIR='$(abs_top_srcdir)' \
	HOIST_PROVIDER_PATH='$(abs_top_builddir)/providers/null:$(abs_top_builddir)/providers/local:$(abs_top_builddir)/providers/digitalocean:$(abs_top_builddir)/providers/scaleway:$(abs_top_builddir)/providers/aws' \
	HOIST_SPECS_DIR="$${HOIST_SPECS_DIR:-$(abs_top_srcdir)/../shared/specs}" \
	HOIST='$(abs_top_builddir)/tools/hoist/hoist' \
	HOIST_CFLAGS='$(CFLAGS)' HOIST_LDFLAGS='$(LDFLAGS)' HOIST_CC='$(CC)' \
	; export CK_TAP_LOG_FILE_NAME CK_VERBOSITY HOIST_BUILDDIR HOIST_SRCDIR HOIST_PROVIDER_PATH \
	HOIST_SPECS_DIR HOIST HOIST_CFLAGS HOIST_LDFLAGS HOIST_CC;

# Shared by the Check suites: link libhoist and Check.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = libhoist.la $(CHECK_LIBS) $(JANSSON_LIBS)

noinst_HEADERS += tests/testutil.h
EXTRA_DIST += tests/lib.sh build-aux/tap-driver.sh

# banned_calls.sh: no thread-unsafe libc call (gmtime, strtok, strerror, ...)
# in libhoist, the drivers, the tools or the SDK; the list and the reasons
# are in the script.
TESTS += tests/banned_calls.sh
EXTRA_DIST += tests/banned_calls.sh
