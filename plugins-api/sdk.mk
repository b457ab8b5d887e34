hoistsdkdir = $(includedir)/hoist
hoistsdk_HEADERS = plugins-api/hoist/provider.h plugins-api/hoist/host.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = plugins-api/hoist-provider.pc
