# The Scaleway driver: installed like every real driver.
provider_LTLIBRARIES += providers/scaleway/scaleway.la
providers_scaleway_scaleway_la_SOURCES = providers/scaleway/scw_provider.c \
	providers/scaleway/scw_api.c providers/scaleway/scw_api.h \
	providers/scaleway/scw_network.c providers/scaleway/scw_cluster.c \
	providers/scaleway/scw_registry.c providers/scaleway/scw_database.c
providers_scaleway_scaleway_la_CFLAGS = $(PROVIDER_CFLAGS)
providers_scaleway_scaleway_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_scaleway_scaleway_la_LIBADD = $(JANSSON_LIBS)
