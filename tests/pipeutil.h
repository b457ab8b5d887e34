/* pipeutil.h - set up one environment on the null driver for the pipeline suites. */
#ifndef HOIST_PIPEUTIL_H
#define HOIST_PIPEUTIL_H

#include "graph.h"
#include "loader.h"
#include "plan.h"
#include "run.h"
#include "state.h"
#include "util.h"
#include "testutil.h"

typedef struct pu_env {
    char *dir;
    hoist_loader *l;
    hoist_config *cfg;
    hoist_driver *drv;
    hoist_graph *g;
    hoist_state *st;
    hoist_env_run er;
} pu_env;

/* Write @yaml as @dir/hoist.yml and open environment "dev" (driver, graph, state). */
static inline void pu_open(pu_env *e, const char *dir, const char *yaml)
{
    memset(e, 0, sizeof *e);
    e->dir = strdup(dir);
    char *path = tu_write(dir, "hoist.yml", yaml);
    hoist_diags d = {0};
    e->cfg = hoist_config_load(path, NULL, NULL, &d);
    hoist_diags_print(&d, stderr);
    hoist_diags_free(&d);
    free(path);
    ck_assert_ptr_nonnull(e->cfg);
    char *err = NULL;
    e->l = hoist_loader_new(NULL);
    ck_assert_msg(hoist_loader_open(e->l, "null", &e->drv, &err) == HOIST_OK, "%s", err);
    char *sdir = hoist_xasprintf("%s/.hoist/null/dev", dir);
    ck_assert_int_eq(hoist_driver_init(e->drv, e->cfg->envs[0].settings, sdir, &err), HOIST_OK);
    free(sdir);
    e->g = hoist_graph_build(e->cfg, &e->cfg->envs[0], e->drv, &err);
    ck_assert_msg(e->g != NULL, "%s", err);
    char *stdir = hoist_xasprintf("%s/.hoist/state", dir);
    e->st = hoist_state_open(hoist_state_file_backend(stdir, "dev"), e->cfg->project, "dev", "null",
                             &err);
    free(stdir);
    ck_assert_msg(e->st != NULL, "%s", err);
    e->er = (hoist_env_run){.cfg = e->cfg, .env = &e->cfg->envs[0], .g = e->g, .st = e->st,
                            .drv = e->drv};
}

static inline void pu_close(pu_env *e)
{
    hoist_state_free(e->st);
    hoist_graph_free(e->g);
    hoist_driver_free(e->drv);
    hoist_config_free(e->cfg);
    hoist_loader_free(e->l);
    free(e->dir);
}

/* Plan (deploy mode unless said otherwise) and run with @par workers; returns hoist_run's code. */
static inline int pu_run(pu_env *e, hoist_plan_mode mode, int par, hoist_run_summary *sum)
{
    char *err = NULL;
    hoist_plan *p = hoist_plan_build(&e->er, mode, 1, par, &err);
    ck_assert_msg(p != NULL, "%s", err);
    hoist_run_opts o = {.parallelism = par, .retry_base_ms = 10};
    ck_assert_int_eq(hoist_run_timeouts(e->cfg->envs[0].settings, o.timeout_ms, &err), 0);
    int rc = hoist_run(&e->er, p, &o, sum);
    hoist_plan_free(p);
    return rc;
}

/* Contents of @dir/@name as a new string ("" when missing). */
static inline char *pu_slurp(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    hoist_buf b = {0};
    hoist_buf_puts(&b, "");
    if (fp) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            hoist_buf_add(&b, chunk, n);
        fclose(fp);
    }
    return hoist_buf_steal(&b);
}

#endif
