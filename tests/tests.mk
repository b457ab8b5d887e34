# Every test speaks TAP, so each Check test case is counted on its own line
# (Check writes TAP to stdout with CK_TAP_LOG_FILE_NAME=-; scripts print TAP).
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CK_TAP_LOG_FILE_NAME=- CK_VERBOSITY=silent \
	HOIST_BUILDDIR='$(abs_top_builddir)' HOIST_SRCDIR='$(abs_top_srcdir)' \
	HOIST_MODDIR='$(abs_top_builddir)/tests/modules' \
	HOIST_PROVIDER_PATH='$(abs_top_builddir)/tests/modules/providers/null:$(abs_top_builddir)/tests/modules/providers/local:$(abs_top_builddir)/tests/modules/providers/digitalocean:$(abs_top_builddir)/tests/modules/providers/scaleway:$(abs_top_builddir)/tests/modules/providers/aws' \
	HOIST_SPECS_DIR="$${HOIST_SPECS_DIR:-$(abs_top_srcdir)/../shared/specs}" \
	HOIST='$(abs_top_builddir)/tools/hoist/hoist' \
	HOIST_CFLAGS='$(CFLAGS)' HOIST_LDFLAGS='$(LDFLAGS)' HOIST_CC='$(CC)' \
	; export CK_TAP_LOG_FILE_NAME CK_VERBOSITY HOIST_BUILDDIR HOIST_SRCDIR HOIST_MODDIR HOIST_PROVIDER_PATH \
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

# Tests load drivers from copies under tests/modules/ (HOIST_MODDIR), in
# directories made here with mode 0755, never from the build's own
# directories: the loader rightly refuses a module whose directory others can
# write, and a tree unpacked by root with `tar -x` keeps the archive's 0775.
# Each module keeps the build's layout (DIR/NAME.la, DIR/.libs/DLNAME).
TEST_MODULES = $(provider_LTLIBRARIES) providers/null/null.la $(check_LTLIBRARIES)
check_DATA = tests/modules.stamp
tests/modules.stamp: $(TEST_MODULES)
	$(AM_V_GEN)umask 022 && rm -rf tests/modules && \
	for la in $(TEST_MODULES); do \
	  d=tests/modules/$${la%/*}; \
	  dl=`sed -n "s/^dlname='\\(.*\\)'$$/\\1/p" $$la`; \
	  mkdir -p "$$d/.libs" && cp $$la "$$d/" && \
	  cp "$${la%/*}/.libs/$$dl" "$$d/.libs/" || exit 1; \
	done && \
	chmod -R go-w tests/modules && touch $@
clean-local: clean-test-modules
clean-test-modules:
	rm -rf tests/modules tests/modules.stamp
.PHONY: clean-test-modules
