# conformance.mk - hoist-conformance: checks any driver module against the
# provider ABI contract through the real loader and host table.  Installed
# with hoist, for driver authors.
bin_PROGRAMS += tools/hoist-conformance/hoist-conformance
tools_hoist_conformance_hoist_conformance_SOURCES = \
	tools/hoist-conformance/conformance.c tools/hoist-conformance/conformance.h \
	tools/hoist-conformance/settings.c
tools_hoist_conformance_hoist_conformance_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins-api/testhelper
tools_hoist_conformance_hoist_conformance_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
tools_hoist_conformance_hoist_conformance_LDADD = libhoist.la libhoist-providertest.la $(JANSSON_LIBS) $(YAML_LIBS) \
	$(AX_PTHREAD_LIBS)
