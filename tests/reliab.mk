# reliab.mk - issue 13, "Reliability and security, proven": hostile drivers
# contained by the core, no secret leaked, TLS and plain-http refusal at the
# CLI, and memcheck over the CLI's main paths.  (Fuzzing: tests/fuzz/fuzz.mk.)

# Hostile drivers: tests/hostile/hostile.c, one real module per misbehaviour.
HOSTILE_LDFLAGS = $(PROVIDER_LDFLAGS) -rpath /nowhere
check_LTLIBRARIES += tests/hostile/hostile_crash.la tests/hostile/hostile_malformed.la \
	tests/hostile/hostile_hang.la

tests_hostile_hostile_crash_la_SOURCES = tests/hostile/hostile.c
tests_hostile_hostile_crash_la_CFLAGS = $(PROVIDER_CFLAGS) -DHOSTILE_NAME=hostile_crash
tests_hostile_hostile_crash_la_LDFLAGS = $(HOSTILE_LDFLAGS)
tests_hostile_hostile_crash_la_LIBADD = $(JANSSON_LIBS)

tests_hostile_hostile_malformed_la_SOURCES = tests/hostile/hostile.c
tests_hostile_hostile_malformed_la_CFLAGS = $(PROVIDER_CFLAGS) -DHOSTILE_NAME=hostile_malformed
tests_hostile_hostile_malformed_la_LDFLAGS = $(HOSTILE_LDFLAGS)
tests_hostile_hostile_malformed_la_LIBADD = $(JANSSON_LIBS)

tests_hostile_hostile_hang_la_SOURCES = tests/hostile/hostile.c
tests_hostile_hostile_hang_la_CFLAGS = $(PROVIDER_CFLAGS) -DHOSTILE_NAME=hostile_hang -DHOSTILE_HANG
tests_hostile_hostile_hang_la_LDFLAGS = $(HOSTILE_LDFLAGS)
tests_hostile_hostile_hang_la_LIBADD = $(JANSSON_LIBS)

TESTS += tests/check_hostile.sh
EXTRA_DIST += tests/check_hostile.sh

TESTS += tests/secrets_local.sh
EXTRA_DIST += tests/secrets_local.sh

TESTS += tests/tls_cli.sh
EXTRA_DIST += tests/tls_cli.sh

# About 15 s on two cores; skips itself in the ASan build.
TESTS += tests/valgrind_cli.sh
EXTRA_DIST += tests/valgrind_cli.sh

# Storms on the cloud drivers against hoist-sim (tests/RELIABILITY.md):
# crash_clouds.sh runs a few seeded trials of crash_storm.sh per driver;
# fault_storm.sh deploys under 30% injected faults and permanent failures.
# secrets_clouds.sh searches every output of each cloud driver for its secrets.
TESTS += tests/crash_clouds.sh tests/fault_storm.sh tests/secrets_clouds.sh
EXTRA_DIST += tests/crash_clouds.sh tests/crash_storm.sh tests/fault_storm.sh \
	tests/secrets_clouds.sh tests/secrets_lib.sh tests/state_secrets.py \
	tests/storm_lib.sh tests/storm_orphans.py tests/RELIABILITY.md

# Every call into a driver goes through libhoist/driver.c (grep-based).
TESTS += tests/driver_door.sh
EXTRA_DIST += tests/driver_door.sh
