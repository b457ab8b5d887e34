/*
 * tmpl_provider.c - the example driver's descriptor, init/fini and
 * operations table.  Start reading here.
 *
 * The module is named "example": it is built as example.la / example.so,
 * its descriptor says .name = "example" (HOIST_PROVIDER_DEFINE does that),
 * and hoist.yml selects it with `provider: example`.  The three must agree.
 *
 * Settings (keys of the environment in hoist.yml):
 *   dir:           the "cloud" directory (default: host->state_dir())
 *   pending_polls: polls a create or delete stays PENDING (default 1)
 *   fail:          {"<kind>/<name>": "auth|quota|invalid|conflict|transient"}
 *                  makes that ensure fail as the cloud would
 *   conformance_fail: the same, set by hoist-conformance
 */
#include "tmpl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const hoist_provider_ops tmpl_ops = {
    .struct_size = sizeof tmpl_ops,
    .network = &tmpl_network_ops,
    .cluster = &tmpl_cluster_ops,
    .registry = &tmpl_registry_ops,
    .database = &tmpl_database_ops,
    .app = NULL, /* apps run on the cluster: no HOIST_CAP_LOCAL_RUNTIME */
};

/* Merge `fail` and `conformance_fail` into one table we own. */
static json_t *tmpl_failures(json_t *settings)
{
    json_t *all = json_object();
    const char *keys[] = {"fail", "conformance_fail"};
    for (int i = 0; i < 2; i++) {
        json_t *f = json_object_get(settings, keys[i]);
        if (json_is_object(f))
            json_object_update(all, f);
    }
    return all;
}

/*
 * init: validate the settings, copy what we keep (settings are borrowed for
 * this call only), and return our context and table.  On failure report
 * once with host->fail() and free everything: fini is not called then.
 */
static hoist_status tmpl_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings,
                              void **prov, const hoist_provider_ops **ops)
{
    hoist_status st = HOIST_OK;
    tmpl_prov *p = calloc(1, sizeof *p);
    if (!p)
        return host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    p->host = host;
    pthread_mutex_init(&p->lock, NULL);

    json_t *polls = json_object_get(settings, "pending_polls");
    if (polls && (!json_is_integer(polls) || json_integer_value(polls) < 0 ||
                  json_integer_value(polls) > 100)) {
        st = host->fail(ctx, HOIST_E_INVALID, "pending_polls must be a number from 0 to 100");
        goto cleanup;
    }
    p->pending_polls = polls ? (int)json_integer_value(polls) : 1;

    const char *dir = json_string_value(json_object_get(settings, "dir"));
    if (!dir)
        dir = host->state_dir(ctx);
    if (!dir) {
        st = host->fail(ctx, HOIST_E_INVALID, "no cloud directory: set `dir:` in the environment");
        goto cleanup;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        st = host->fail(ctx, HOIST_E_INVALID, "dir: cannot create %s: %s", dir,
                        hoist_kit_strerror(errno));
        goto cleanup;
    }
    p->dir = hoist_kit_xstrdup(dir);
    p->fail = tmpl_failures(settings);

    /* Members added after ABI 1.0 exist only in newer headers, and only a
     * newer core fills them: test both before use. */
#if HOIST_ABI_MINOR >= 1
    if (HOIST_HOST_HAS(host, http))
        host->log(ctx, HOIST_LOG_DEBUG, "host offers HTTP: a real cloud API would be called "
                  "through host->http");
#endif
    host->log(ctx, HOIST_LOG_DEBUG, "cloud directory %s", p->dir);
    *prov = p;
    *ops = &tmpl_ops;
cleanup:
    if (st != HOIST_OK) {
        json_decref(p->fail);
        free(p->dir);
        pthread_mutex_destroy(&p->lock);
        free(p);
    }
    return st;
}

/* fini: called once, after every operation has returned. */
static void tmpl_fini(void *prov)
{
    tmpl_prov *p = prov;
    json_decref(p->fail);
    free(p->dir);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The keys above, declared (ABI 1.3) so hoist reports a misspelt one with
 * "did you mean" at its line in hoist.yml.  Keep it in step with init. */
static const hoist_setting tmpl_settings[] = {
    {.name = "dir", .type = HOIST_SETTING_STRING, .doc = "the cloud directory (default: host->state_dir())"},
    {.name = "pending_polls", .type = HOIST_SETTING_INT, .doc = "polls a create or delete stays PENDING (default 1)"},
    {.name = "fail", .type = HOIST_SETTING_MAP, .doc = "{\"kind/name\": auth|quota|invalid|conflict|transient}"},
    {.name = "conformance_fail", .type = HOIST_SETTING_MAP, .doc = "the same, set by hoist-conformance"},
    {.name = NULL},
};

HOIST_PROVIDER_DEFINE(example, .version = "0.1.0", .license = "MIT",
                      .description = "example driver: a cloud in a directory (template)",
                      .caps = HOIST_CAP_DB_POSTGRESQL | HOIST_CAP_DB_MYSQL | HOIST_CAP_DB_REDIS,
                      .settings = tmpl_settings, .init = tmpl_init, .fini = tmpl_fini)
