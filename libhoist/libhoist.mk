# libhoist: everything that is not cloud-specific.  Installed as a private
# library in $(pkglibdir) would also do; a normal shared library lets the
# test-helper library and out-of-tree tools link it.
lib_LTLIBRARIES += libhoist.la
libhoist_la_SOURCES = \
	libhoist/util.c libhoist/util.h \
	libhoist/log.c libhoist/log.h \
	libhoist/host.c libhoist/host.h \
	libhoist/loader.c libhoist/loader.h \
	libhoist/driver.c libhoist/driver.h

libhoist_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(XML_CFLAGS) \
	$(ARCHIVE_CFLAGS)
libhoist_la_LIBADD = $(JANSSON_LIBS) $(YAML_LIBS) $(CURL_LIBS) $(OPENSSL_LIBS) $(XML_LIBS) \
	$(ARCHIVE_LIBS) $(ZLIB_LIBS) $(LIBLTDL) -lpthread
libhoist_la_LDFLAGS = -no-undefined -version-info 0:0:0
