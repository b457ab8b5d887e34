# Kubernetes: the API client and the workloads (apps, container databases) executor.
libhoist_la_SOURCES += \
	libhoist/kube.c libhoist/kube.h \
	libhoist/workload.c libhoist/workload.h
