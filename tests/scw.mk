# scw.mk - the Scaleway driver against hoist-sim: a full lifecycle with
# faults (scw_lifecycle.sh) and every request and answer checked by Prism
# with Scaleway's official documents (scw_prism.sh).  scw_drive calls the
# driver through the real loader the way the pipeline does.
check_PROGRAMS += tests/scw_drive
tests_scw_drive_SOURCES = tests/scw_drive.c
tests_scw_drive_CFLAGS = $(AM_CFLAGS)
tests_scw_drive_LDADD = libhoist.la $(JANSSON_LIBS)

TESTS += tests/scw_lifecycle.sh tests/scw_prism.sh
EXTRA_DIST += tests/scw_lifecycle.sh tests/scw_prism.sh tests/scw_lib.sh
