# The aws provider: unit tests of request building and answer parsing, and
# the lifecycle against hoist-sim's AWS APIs (SigV4 verified by the sim).
TESTS += tests/aws_lifecycle.sh
EXTRA_DIST += tests/aws_lifecycle.sh
