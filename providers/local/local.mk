# The local provider: runs an environment on this machine (see providers/local/README.md).
provider_LTLIBRARIES += providers/local/local.la
providers_local_local_la_SOURCES = providers/local/local.h providers/local/local_provider.c \
	providers/local/local_util.c providers/local/local_network.c \
	providers/local/local_database.c providers/local/local_app.c
providers_local_local_la_CFLAGS = $(PROVIDER_CFLAGS) \
	-DHOIST_LOCAL_RUNNER_PATH='"$(pkglibexecdir)/hoist-local-run"'
providers_local_local_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_local_local_la_LIBADD = $(JANSSON_LIBS) -lpthread

# The supervisor of local apps, started by the driver (found through
# $HOIST_LOCAL_RUNNER, else the installed path above).
pkglibexec_PROGRAMS = providers/local/hoist-local-run
providers_local_hoist_local_run_SOURCES = providers/local/hoist-local-run.c

EXTRA_DIST += providers/local/README.md
