# cloud_e2e.sh: the whole pipeline on the aws, digitalocean and scaleway
# drivers against hoist-sim and its docker-registry (issue 11).
TESTS += tests/cloud_e2e.sh
EXTRA_DIST += tests/cloud_e2e.sh
