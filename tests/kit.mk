# kit.mk - tests of the third-party driver kit: hoist-conformance against
# deliberately broken drivers and the null driver, the installed SDK and the
# template driver built out of tree.

# tests/broken/broken.c built once per flaw (see its header); broken_control
# has none and must pass.
BROKEN_LDFLAGS = $(PROVIDER_LDFLAGS) -rpath /nowhere
BROKEN_LIBADD = $(JANSSON_LIBS) $(AX_PTHREAD_LIBS)
check_LTLIBRARIES += tests/broken/broken_control.la tests/broken/broken_dupensure.la tests/broken/broken_goneok.la tests/broken/broken_goneinternal.la tests/broken/broken_noendpoint.la tests/broken/broken_nopassword.la tests/broken/broken_badsettings.la

tests_broken_broken_control_la_SOURCES = tests/broken/broken.c
tests_broken_broken_control_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_control
tests_broken_broken_control_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_control_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_dupensure_la_SOURCES = tests/broken/broken.c
tests_broken_broken_dupensure_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_dupensure -DBROKEN_DUP_ENSURE
tests_broken_broken_dupensure_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_dupensure_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_goneok_la_SOURCES = tests/broken/broken.c
tests_broken_broken_goneok_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_goneok -DBROKEN_GONE_OK
tests_broken_broken_goneok_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_goneok_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_goneinternal_la_SOURCES = tests/broken/broken.c
tests_broken_broken_goneinternal_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_goneinternal -DBROKEN_GONE_INTERNAL
tests_broken_broken_goneinternal_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_goneinternal_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_noendpoint_la_SOURCES = tests/broken/broken.c
tests_broken_broken_noendpoint_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_noendpoint -DBROKEN_NO_ENDPOINT
tests_broken_broken_noendpoint_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_noendpoint_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_nopassword_la_SOURCES = tests/broken/broken.c
tests_broken_broken_nopassword_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_nopassword -DBROKEN_NO_PASSWORD
tests_broken_broken_nopassword_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_nopassword_la_LIBADD = $(BROKEN_LIBADD)

tests_broken_broken_badsettings_la_SOURCES = tests/broken/broken.c
tests_broken_broken_badsettings_la_CFLAGS = $(PROVIDER_CFLAGS) -DBROKEN_NAME=broken_badsettings -DBROKEN_BAD_SETTINGS
tests_broken_broken_badsettings_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_broken_broken_badsettings_la_LIBADD = $(BROKEN_LIBADD)

if HAVE_CHECK
# hoist/kit.h on its own: no libhoist, as in a driver.
check_PROGRAMS += tests/check_kit
TESTS += tests/check_kit
tests_check_kit_SOURCES = tests/check_kit.c
tests_check_kit_CFLAGS = $(TEST_CFLAGS)
tests_check_kit_LDADD = $(CHECK_LIBS) -lpthread

check_PROGRAMS += tests/check_conformance
TESTS += tests/check_conformance
tests_check_conformance_SOURCES = tests/check_conformance.c
tests_check_conformance_CFLAGS = $(TEST_CFLAGS)
tests_check_conformance_LDADD = $(TEST_LIBS)
# it runs the tool: build it first
EXTRA_tests_check_conformance_DEPENDENCIES = tools/hoist-conformance/hoist-conformance
endif

TESTS += tests/kit_outoftree.sh
EXTRA_DIST += tests/kit_outoftree.sh tests/broken/broken.c
