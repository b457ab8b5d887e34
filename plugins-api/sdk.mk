hoistsdkdir = $(includedir)/hoist
hoistsdk_HEADERS = plugins-api/hoist/provider.h plugins-api/hoist/host.h plugins-api/hoist/kit.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = plugins-api/hoist-provider.pc

# hoist.m4: HOIST_PROVIDER_PREREQ for out-of-tree drivers' configure.ac.
aclocaldir = $(datadir)/aclocal
dist_aclocal_DATA = plugins-api/hoist.m4

# libhoist-providertest: a mock host table and helpers for drivers' unit
# tests; no dependency on libhoist.
lib_LTLIBRARIES += libhoist-providertest.la
libhoist_providertest_la_SOURCES = plugins-api/testhelper/providertest.c
libhoist_providertest_la_CPPFLAGS = -I$(top_srcdir)/plugins-api -I$(top_srcdir)/plugins-api/testhelper
libhoist_providertest_la_CFLAGS = $(AM_CFLAGS)
libhoist_providertest_la_LIBADD = $(JANSSON_LIBS) $(AX_PTHREAD_LIBS)
libhoist_providertest_la_LDFLAGS = -no-undefined -version-info 0:0:0
hoistsdk_HEADERS += plugins-api/testhelper/hoist/providertest.h

# Its .pc is written at build time so configure.ac need not list it; like
# hoist-provider.pc, its paths follow ${prefix} (pkg-config --define-variable).
pkgconfig_DATA += plugins-api/testhelper/hoist-providertest.pc
plugins-api/testhelper/hoist-providertest.pc: $(srcdir)/plugins-api/testhelper/hoist-providertest.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) plugins-api/testhelper && \
	sed -e 's|[@]PREFIX[@]|$(prefix)|' -e 's|[@]VERSION[@]|$(PACKAGE_VERSION)|' \
	    $(srcdir)/plugins-api/testhelper/hoist-providertest.pc.in > $@
CLEANFILES += plugins-api/testhelper/hoist-providertest.pc
EXTRA_DIST += plugins-api/testhelper/hoist-providertest.pc.in

# The template driver project, shipped as source (tests/kit_outoftree.sh
# builds it against an installed hoist).
EXTRA_DIST += plugins-api/template/configure.ac plugins-api/template/Makefile.am \
	plugins-api/template/README plugins-api/template/tmpl.h \
	plugins-api/template/tmpl_provider.c plugins-api/template/tmpl_api.c \
	plugins-api/template/tmpl_network.c plugins-api/template/tmpl_cluster.c \
	plugins-api/template/tmpl_registry.c plugins-api/template/tmpl_database.c \
	plugins-api/template/tests/check_example.c
