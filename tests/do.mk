# tests/do.mk: the DigitalOcean driver against hoist-sim, with and without
# Prism in front (tests/do_lib.sh starts both).
check_PROGRAMS += tests/do_drive
tests_do_drive_SOURCES = tests/do_drive.c
tests_do_drive_LDADD = libhoist.la $(JANSSON_LIBS)
TESTS += tests/do_lifecycle.sh tests/do_names.sh tests/do_prism.sh
EXTRA_DIST += tests/do_lifecycle.sh tests/do_names.sh tests/do_prism.sh tests/do_lib.sh
