/*
 * local_provider.c - the `local` driver: descriptor, ops table, init/fini.
 *
 * Runs an environment on this machine with no cloud account: databases are
 * real servers (PostgreSQL, Redis, MariaDB) on 127.0.0.1, applications are
 * processes supervised by hoist-local-run.  See README.md beside this file.
 */
#include "local.h"

#include <stdlib.h>
#include <string.h>

#ifndef HOIST_LOCAL_RUNNER_PATH
#define HOIST_LOCAL_RUNNER_PATH "/usr/local/libexec/hoist/hoist-local-run"
#endif

static const hoist_provider_ops local_ops = {
    .struct_size = sizeof local_ops,
    .network = &local_network_ops,
    .cluster = NULL, /* apps run as processes: no Kubernetes */
    .registry = NULL, /* nothing is pushed: apps run from a copy of their source */
    .database = &local_database_ops,
    .app = &local_app_ops,
};

static hoist_status local_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                               void **prov, const hoist_provider_ops **ops)
{
    (void)settings;
    const char *dir = host->state_dir(ctx);
    if (!dir)
        return host->fail(ctx, HOIST_E_INVALID,
                          "the local provider needs a state directory (.hoist/local/<env>) and "
                          "none could be created: check the permissions next to hoist.yml");
    local_prov *p = hoist_kit_xmalloc(sizeof *p);
    memset(p, 0, sizeof *p);
    p->host = host;
    p->dir = hoist_kit_xstrdup(dir);
    /* The environment variable lets tests and uninstalled builds use the
     * runner from the build tree. */
    const char *runner = getenv("HOIST_LOCAL_RUNNER");
    p->runner = hoist_kit_xstrdup(runner && *runner ? runner : HOIST_LOCAL_RUNNER_PATH);
    pthread_mutex_init(&p->lock, NULL);
    *prov = p;
    *ops = &local_ops;
    return HOIST_OK;
}

static void local_fini(void *vp)
{
    local_prov *p = vp;
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->dir);
    free(p->runner);
    free(p);
}

/* It reads no settings: an empty schema (ABI 1.3) makes every key of a
 * local environment that is not hoist's own an error. */
static const hoist_setting local_settings[] = {{.name = NULL}};

HOIST_PROVIDER_DEFINE(local, .version = "1.0.0", .license = "MIT",
                      .description = "this machine: real database servers on 127.0.0.1, apps "
                                     "as supervised processes",
                      .caps = HOIST_CAP_LOCAL_RUNTIME | HOIST_CAP_PAUSE_DATABASE |
                              HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS,
                      .settings = local_settings, .init = local_init, .fini = local_fini)
