# sim.mk: filled by its area
# hoist-sim's Kubernetes API (tools/hoist-sim/sim_kube*.c)
TESTS += tests/sim_kube_api.sh tests/sim_kube_kubectl.sh tests/sim_kube_prism.sh
EXTRA_DIST += tests/sim_kube_api.sh tests/sim_kube_kubectl.sh tests/sim_kube_prism.sh \
	tests/sim_kube_lib.sh tests/sim_kube_tls.py
