# sim.mk: filled by its area
# sim_aws.sh: the official AWS CLI against hoist-sim's AWS services.
SIM_AWS_TESTS = tests/sim_aws.sh
TESTS += $(SIM_AWS_TESTS)
EXTRA_DIST += $(SIM_AWS_TESTS)
