# oci.mk (tests): image assembly (check_oci) and the push/pull round trip
# against a real docker-registry, read back by skopeo and umoci.
check_PROGRAMS += tests/check_oci
TESTS += tests/check_oci
tests_check_oci_SOURCES = tests/check_oci.c
tests_check_oci_CFLAGS = $(TEST_CFLAGS) $(ARCHIVE_CFLAGS)
tests_check_oci_LDADD = $(TEST_LIBS) $(ARCHIVE_LIBS)


