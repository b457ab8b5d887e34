# oci.mk: daemonless image builds (libarchive + zlib) and the OCI
# distribution API client used to push them.
libhoist_la_SOURCES += \
	libhoist/oci.c libhoist/oci.h \
	libhoist/registry.c libhoist/registry.h
libhoist_la_SOURCES += libhoist/imagexec.c libhoist/imagexec.h
