# hoist-sim tests: fidelity against the official documents through Prism,
# and the simulator's own behaviour (faults, admin API, persistence).
TESTS += tests/sim_prism.sh tests/sim_faults.sh
EXTRA_DIST += tests/sim_prism.sh tests/sim_faults.sh tests/sim_lib.sh
# sim_aws.sh: the official AWS CLI against hoist-sim's AWS services.
SIM_AWS_TESTS = tests/sim_aws.sh
TESTS += $(SIM_AWS_TESTS)
EXTRA_DIST += $(SIM_AWS_TESTS)
# hoist-sim's Kubernetes API (tools/hoist-sim/sim_kube*.c)
TESTS += tests/sim_kube_api.sh tests/sim_kube_kubectl.sh tests/sim_kube_prism.sh
EXTRA_DIST += tests/sim_kube_api.sh tests/sim_kube_kubectl.sh tests/sim_kube_prism.sh \
	tests/sim_kube_lib.sh tests/sim_kube_tls.py
