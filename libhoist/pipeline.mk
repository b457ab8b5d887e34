# The deploy pipeline: state, graph, plan, run, events, source digests.
libhoist_la_SOURCES += \
	libhoist/state.c libhoist/state.h \
	libhoist/graph.c libhoist/graph.h \
	libhoist/plan.c libhoist/plan.h \
	libhoist/run.c libhoist/run.h \
	libhoist/events.c libhoist/events.h \
	libhoist/srcdigest.c libhoist/srcdigest.h
