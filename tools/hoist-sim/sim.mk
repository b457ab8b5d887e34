# hoist-sim: the local cloud-API simulator (tools/hoist-sim/README.md).
bin_PROGRAMS += tools/hoist-sim/hoist-sim
tools_hoist_sim_hoist_sim_SOURCES = tools/hoist-sim/main.c tools/hoist-sim/sim.h \
	tools/hoist-sim/sim_core.c tools/hoist-sim/sim_store.c tools/hoist-sim/sim_admin.c \
	tools/hoist-sim/sim_kube.c tools/hoist-sim/sim_kube.h \
	tools/hoist-sim/sim_kube_ctl.c tools/hoist-sim/sim_do.c tools/hoist-sim/sim_scw.c
tools_hoist_sim_hoist_sim_SOURCES += tools/hoist-sim/sim_aws.h tools/hoist-sim/sim_aws.c \
	tools/hoist-sim/sim_aws_ec2.c tools/hoist-sim/sim_aws_query.c tools/hoist-sim/sim_aws_json.c
tools_hoist_sim_hoist_sim_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
tools_hoist_sim_hoist_sim_LDADD = libhoist.la $(MHD_LIBS) $(JANSSON_LIBS) -lpthread
dist_man_MANS += doc/hoist-sim.1
EXTRA_DIST += tools/hoist-sim/README.md
