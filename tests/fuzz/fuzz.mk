# fuzz.mk - fuzz targets (tests/fuzz/fuzz_<target>.c, libFuzzer's entry
# point).  `make check` links each with replay.c and replays its corpus,
# tests/fuzz/corpus/<target>/, with the normal compiler (and under ASan/UBSan
# in the sanitizer pass); bench/fuzz.sh builds the same sources with clang's
# -fsanitize=fuzzer out of this tree and fuzzes them.
# A new target (e.g. a cloud driver's response decoder): add its source and
# corpus directory, and one block like these.
FUZZ_SRC = tests/fuzz/replay.c tests/fuzz/fuzz.h
FUZZ_LIBS = libhoist.la $(JANSSON_LIBS)

check_PROGRAMS += tests/fuzz/fuzz_config tests/fuzz/fuzz_state tests/fuzz/fuzz_sigv4 \
	tests/fuzz/fuzz_xml tests/fuzz/fuzz_registry tests/fuzz/fuzz_errors
TESTS += tests/fuzz/fuzz_config tests/fuzz/fuzz_state tests/fuzz/fuzz_sigv4 \
	tests/fuzz/fuzz_xml tests/fuzz/fuzz_registry tests/fuzz/fuzz_errors

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_SRC)
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"config"'
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_state_SOURCES = tests/fuzz/fuzz_state.c $(FUZZ_SRC)
tests_fuzz_fuzz_state_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"state"'
tests_fuzz_fuzz_state_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_sigv4_SOURCES = tests/fuzz/fuzz_sigv4.c $(FUZZ_SRC)
tests_fuzz_fuzz_sigv4_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"sigv4"'
tests_fuzz_fuzz_sigv4_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_xml_SOURCES = tests/fuzz/fuzz_xml.c $(FUZZ_SRC)
tests_fuzz_fuzz_xml_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"xml"'
tests_fuzz_fuzz_xml_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_registry_SOURCES = tests/fuzz/fuzz_registry.c $(FUZZ_SRC)
tests_fuzz_fuzz_registry_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"registry"'
tests_fuzz_fuzz_registry_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_errors_SOURCES = tests/fuzz/fuzz_errors.c $(FUZZ_SRC)
tests_fuzz_fuzz_errors_CFLAGS = $(AM_CFLAGS) -DFUZZ_TARGET='"errors"'
tests_fuzz_fuzz_errors_LDADD = $(FUZZ_LIBS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/README.md bench/fuzz.sh
