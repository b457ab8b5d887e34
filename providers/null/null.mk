# The null driver is for tests only: built, never installed.
noinst_LTLIBRARIES += providers/null/null.la
providers_null_null_la_SOURCES = providers/null/null.c
providers_null_null_la_CFLAGS = $(PROVIDER_CFLAGS)
# -rpath makes libtool build a shared module even though it is not installed.
providers_null_null_la_LDFLAGS = $(PROVIDER_LDFLAGS) -rpath /nowhere
providers_null_null_la_LIBADD = $(JANSSON_LIBS)
