# config.mk (tests): the hoist.yml parser's suite and its corpus of bad files.
