# pipeline: state, graph, run (Check), CLI behaviour and crash convergence (shell).
check_PROGRAMS += tests/check_state tests/check_graph tests/check_run
TESTS += tests/check_state tests/check_graph tests/check_run
tests_check_state_SOURCES = tests/check_state.c
tests_check_state_CFLAGS = $(TEST_CFLAGS)
tests_check_state_LDADD = $(TEST_LIBS)
tests_check_graph_SOURCES = tests/check_graph.c
tests_check_graph_CFLAGS = $(TEST_CFLAGS)
tests_check_graph_LDADD = $(TEST_LIBS)
tests_check_run_SOURCES = tests/check_run.c tests/pipeutil.h
tests_check_run_CFLAGS = $(TEST_CFLAGS)
tests_check_run_LDADD = $(TEST_LIBS) -lpthread
TESTS += tests/pipeline_cli.sh tests/crash_deploy.sh
EXTRA_DIST += tests/pipeline_cli.sh tests/pty_run.py tests/crash_deploy.sh bench/pipeline_scale.sh bench/README.md
