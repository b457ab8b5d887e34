/*
 * cli.h - shared by the hoist command's source files: parsed options and
 * the command table.  Each command lives in its own file (cmd_*.c).
 */
#ifndef HOIST_CLI_H
#define HOIST_CLI_H

#include "config.h"
#include "graph.h"
#include "loader.h"
#include "plan.h"
#include "state.h"

/* Exit codes, documented in --help and hoist(1). */
enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

typedef struct cli_opts {
    const char *file;         /* -f, default hoist.yml */
    const char *env;          /* -e */
    const char *provider_dir; /* --provider-dir */
    const char *output;       /* --output text|json */
    int verbose;              /* -v (repeatable) */
    int trace;                /* --trace or HOIST_TRACE=1 */
    int yes;                  /* --yes */
    int force;                /* --force */
    int follow;               /* --follow */
    int push;                 /* --push */
    int parallelism;          /* --parallelism, default 8 */
    double lock_timeout;      /* --lock-timeout seconds */
    const char *format;       /* --format (graph) */
    const char *registry;     /* --registry URL (build --push) */
    const char *to;           /* --to BACKEND (state migrate) */
    char **args;              /* remaining positional arguments */
    int nargs;
} cli_opts;

typedef struct cli_command {
    const char *name;
    int (*run)(cli_opts *o);
    const char *synopsis; /* one line for --help */
    const char *help;     /* the body of `hoist help NAME` */
} cli_command;

/* Load hoist.yml (-f), printing every diagnostic; NULL on error. */
hoist_config *cli_load_config(cli_opts *o, hoist_loader *l);
/* The environment named by -e, with a clear message when missing/unknown. */
const hoist_env_cfg *cli_env(cli_opts *o, const hoist_config *cfg);

int cmd_providers(cli_opts *o);
int cmd_validate(cli_opts *o);
int cmd_build(cli_opts *o);

/* cmd_pipeline.c: commands acting on one environment, and their help texts. */
int cmd_plan(cli_opts *o);
int cmd_deploy(cli_opts *o);
int cmd_destroy(cli_opts *o);
int cmd_status(cli_opts *o);
int cmd_pause(cli_opts *o);
int cmd_graph(cli_opts *o);
int cmd_logs(cli_opts *o);
/* One environment opened for a command: config, driver, graph, state. */
typedef struct pipe_env {
    hoist_loader *l;
    hoist_config *cfg;
    const hoist_env_cfg *env;
    hoist_driver *drv;
    hoist_graph *g;
    hoist_state *st;
    hoist_env_run er;
} pipe_env;
/* Open -f/-e (locking the state for @operation unless NULL); EXIT_DONE or the exit code. */
int cli_pipe_open(cli_opts *o, pipe_env *pe, const char *operation);
void cli_pipe_close(pipe_env *pe);
/* Ctrl-C handling shared by long-running commands; stop_flag is set on the
 * first signal, which prints @msg (a static string, or NULL for nothing). */
extern hoist_flag stop_flag;
void install_signals(const char *msg);

/* cmd_kube.c: the kube executor, kubeconfig, and logs of apps on Kubernetes. */
void cli_kube_register(const hoist_env_cfg *env);
int cli_kube_logs(cli_opts *o, pipe_env *pe, const char *app);
int cmd_kubeconfig(cli_opts *o);
extern const char cli_help_kubeconfig[];

extern const char cli_help_plan[], cli_help_deploy[], cli_help_destroy[], cli_help_status[],
    cli_help_pause[], cli_help_graph[], cli_help_logs[];

/* cmd_state.c: state history|rollback|migrate, force-unlock. */
int cmd_state(cli_opts *o);
int cmd_force_unlock(cli_opts *o);
extern const char cli_help_state[], cli_help_force_unlock[];

#endif
