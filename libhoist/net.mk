# net.mk: transport (libcurl), SigV4 (OpenSSL), credentials, XML helpers.
libhoist_la_SOURCES += \
	libhoist/sigv4.c libhoist/sigv4.h \
	libhoist/xmlutil.c libhoist/xmlutil.h \
	libhoist/http.c libhoist/http.h
libhoist_la_SOURCES += libhoist/creds.c libhoist/creds.h
