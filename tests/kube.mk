# Kubernetes client and workloads: unit tests (manifests, client against a
# local server) and the end-to-end deploy onto hoist-sim's Kubernetes API.
check_PROGRAMS += tests/check_kube
TESTS += tests/check_kube
tests_check_kube_SOURCES = tests/check_kube.c
tests_check_kube_CFLAGS = $(TEST_CFLAGS) $(MHD_CFLAGS)
tests_check_kube_LDADD = $(TEST_LIBS) $(MHD_LIBS) -lpthread
TESTS += tests/kube_deploy.sh
EXTRA_DIST += tests/kube_deploy.sh
