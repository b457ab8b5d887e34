# oci.mk (tests): image assembly (check_oci) and the push/pull round trip
# against a real docker-registry, read back by skopeo and umoci.
check_PROGRAMS += tests/check_oci
TESTS += tests/check_oci
tests_check_oci_SOURCES = tests/check_oci.c
tests_check_oci_CFLAGS = $(TEST_CFLAGS) $(ARCHIVE_CFLAGS)
tests_check_oci_LDADD = $(TEST_LIBS) $(ARCHIVE_LIBS)
TESTS += tests/oci_registry.sh tests/image_pipeline.sh
EXTRA_DIST += tests/oci_registry.sh tests/image_pipeline.sh tests/registry_lib.sh tests/oci_token_server.py bench/image_build.sh bench/README.md
