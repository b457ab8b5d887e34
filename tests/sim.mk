# hoist-sim tests: fidelity against the official documents through Prism,
# and the simulator's own behaviour (faults, admin API, persistence).
TESTS += tests/sim_prism.sh tests/sim_faults.sh
EXTRA_DIST += tests/sim_prism.sh tests/sim_faults.sh tests/sim_lib.sh
