bin_PROGRAMS += tools/hoist/hoist
tools_hoist_hoist_SOURCES = tools/hoist/main.c tools/hoist/cli.h tools/hoist/cmd_providers.c \
	tools/hoist/cmd_pipeline.c tools/hoist/cmd_build.c tools/hoist/cmd_kube.c tools/hoist/cmd_state.c
tools_hoist_hoist_LDADD = libhoist.la $(JANSSON_LIBS)
