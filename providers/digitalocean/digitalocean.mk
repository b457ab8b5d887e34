# The DigitalOcean driver: an installed provider module.
provider_LTLIBRARIES += providers/digitalocean/digitalocean.la
providers_digitalocean_digitalocean_la_SOURCES = providers/digitalocean/do.h \
	providers/digitalocean/do_provider.c providers/digitalocean/do_api.c \
	providers/digitalocean/do_network.c providers/digitalocean/do_cluster.c \
	providers/digitalocean/do_registry.c providers/digitalocean/do_database.c
providers_digitalocean_digitalocean_la_CFLAGS = $(PROVIDER_CFLAGS) -pthread
providers_digitalocean_digitalocean_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_digitalocean_digitalocean_la_LIBADD = $(JANSSON_LIBS) -lpthread
