# loader.mk - proves the provider loader and the CLI frame; ships the man pages.

# Crafted modules: tests/fake/fake.c built once per variant, each a real
# shared object (-rpath makes libtool build one) whose file name equals its
# descriptor name unless the variant is about exactly that.
FAKE_LDFLAGS = $(PROVIDER_LDFLAGS) -rpath /nowhere
FAKE_LIBADD = $(JANSSON_LIBS)
check_LTLIBRARIES += tests/fake/fake_good.la tests/fake/fake_major.la tests/fake/fake_minor.la \
	tests/fake/fake_noentry.la tests/fake/fake_misnamed.la tests/fake/fake_noversion.la \
	tests/fake/fake_nolicense.la tests/fake/fake_noinit.la tests/fake/fake_initfail.la \
	tests/fake/fake_initsilent.la tests/fake/fake_noops.la

tests_fake_fake_good_la_SOURCES = tests/fake/fake.c
tests_fake_fake_good_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_good
tests_fake_fake_good_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_good_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_major_la_SOURCES = tests/fake/fake.c
tests_fake_fake_major_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_major \
	'-DFAKE_ABI_MAJOR=(HOIST_ABI_MAJOR + 1)'
tests_fake_fake_major_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_major_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_minor_la_SOURCES = tests/fake/fake.c
tests_fake_fake_minor_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_minor \
	'-DFAKE_ABI_MINOR=(HOIST_ABI_MINOR + 1)'
tests_fake_fake_minor_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_minor_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_noentry_la_SOURCES = tests/fake/fake.c
tests_fake_fake_noentry_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_noentry -DFAKE_NO_ENTRY
tests_fake_fake_noentry_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_noentry_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_misnamed_la_SOURCES = tests/fake/fake.c
tests_fake_fake_misnamed_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_misnamed \
	'-DFAKE_DESC_NAME="impostor"'
tests_fake_fake_misnamed_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_misnamed_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_noversion_la_SOURCES = tests/fake/fake.c
tests_fake_fake_noversion_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_noversion -DFAKE_NO_VERSION
tests_fake_fake_noversion_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_noversion_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_nolicense_la_SOURCES = tests/fake/fake.c
tests_fake_fake_nolicense_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_nolicense -DFAKE_NO_LICENSE
tests_fake_fake_nolicense_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_nolicense_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_noinit_la_SOURCES = tests/fake/fake.c
tests_fake_fake_noinit_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_noinit -DFAKE_NO_INIT
tests_fake_fake_noinit_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_noinit_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_initfail_la_SOURCES = tests/fake/fake.c
tests_fake_fake_initfail_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_initfail -DFAKE_INIT_FAILS
tests_fake_fake_initfail_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_initfail_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_initsilent_la_SOURCES = tests/fake/fake.c
tests_fake_fake_initsilent_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_initsilent \
	-DFAKE_INIT_SILENT
tests_fake_fake_initsilent_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_initsilent_la_LIBADD = $(FAKE_LIBADD)

tests_fake_fake_noops_la_SOURCES = tests/fake/fake.c
tests_fake_fake_noops_la_CFLAGS = $(PROVIDER_CFLAGS) -DFAKE_NAME=fake_noops -DFAKE_NO_OPS
tests_fake_fake_noops_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fake_fake_noops_la_LIBADD = $(FAKE_LIBADD)

if HAVE_CHECK
check_PROGRAMS += tests/check_loader
TESTS += tests/check_loader
tests_check_loader_SOURCES = tests/check_loader.c
tests_check_loader_CFLAGS = $(TEST_CFLAGS)
tests_check_loader_LDADD = $(TEST_LIBS)
endif

TESTS += tests/cli.sh
EXTRA_DIST += tests/cli.sh

dist_man_MANS += doc/hoist.1 doc/hoist-provider.7

# A driver built against the kept ABI 1.2 headers runs with this core.
TESTS += tests/abi_compat.sh
EXTRA_DIST += tests/abi_compat.sh tests/abi/1.2/hoist/provider.h tests/abi/1.2/hoist/host.h
