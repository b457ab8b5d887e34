/*
 * tmpl.h - what the files of the example driver share.  Nothing here is
 * exported: only the entry symbol written by HOIST_PROVIDER_DEFINE() leaves
 * the module (see Makefile.am: -fvisibility=hidden, -export-symbols-regex).
 *
 * Rename the "tmpl_" prefix and the module name "example" when you start
 * your own driver from this template.
 */
#ifndef TMPL_H
#define TMPL_H

#include <hoist/host.h>
#include <hoist/provider.h>

#include <pthread.h>

/*
 * The driver context, created by init() and handed back to every operation
 * as `prov`.  The core calls operations on different resources from several
 * threads at once, so everything in it that changes after init is guarded by
 * `lock` (here: the cloud directory, which is read-modify-written).
 */
typedef struct tmpl_prov {
    const hoist_host *host; /* lent by the core until fini() returns */
    char *dir;              /* the "cloud": a directory of JSON files */
    int pending_polls;      /* how many polls each create/delete stays PENDING */
    json_t *fail;           /* {"kind/name": "quota"|...}: failures to simulate */
    pthread_mutex_t lock;   /* guards every access to dir */
} tmpl_prov;

/* ---- tmpl_api.c: the "cloud" API ----------------------------------------
 * A real driver would talk HTTP here through host->http (ABI 1.1).  These
 * calls behave like a cloud's REST API: objects have ids and tags, creation
 * and deletion take a few polls, and errors come back as statuses. */

/* Find the object of @kind tagged as @r (hoist:project/env/resource).
 * HOIST_OK with *obj (new reference), HOIST_E_NOTFOUND, or an error. */
hoist_status tmpl_api_find(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                           const hoist_resource *r, json_t **obj);
/* Read the object @id; progresses a pending create/delete by one poll.
 * HOIST_OK with *obj, HOIST_E_NOTFOUND when it does not (or no longer) exist. */
hoist_status tmpl_api_get(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const char *id,
                          json_t **obj);
/* Create an object tagged for @r with @attrs (borrowed; merged in). */
hoist_status tmpl_api_create(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                             const hoist_resource *r, json_t *attrs, json_t **obj);
/* Start deleting @id.  HOIST_OK (also when it is already gone). */
hoist_status tmpl_api_delete(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const char *id);

/* strerror(3) for threads: several threads call the driver at once, and
 * strerror may share one buffer between them.  The text is valid until this
 * thread's next call. */
const char *tmpl_strerror(int err);

/* ---- the reconciliation every kind shares (tmpl_api.c) ------------------ */

/* Fill the outputs/secrets of @obj for the core; a kind-specific hook. */
typedef void (*tmpl_describe_fn)(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, hoist_result *out);

hoist_status tmpl_ensure(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                         json_t *attrs, tmpl_describe_fn describe, hoist_result *out);
hoist_status tmpl_observe(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                          tmpl_describe_fn describe, hoist_result *out);
hoist_status tmpl_destroy(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                          hoist_result *out);
/* The READY object for @r (for credentials/connection): HOIST_OK or NOTFOUND. */
hoist_status tmpl_ready_object(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                               const hoist_resource *r, json_t **obj);

/* ---- the operations tables, one file per area --------------------------- */
extern const hoist_network_ops tmpl_network_ops;
extern const hoist_cluster_ops tmpl_cluster_ops;
extern const hoist_registry_ops tmpl_registry_ops;
extern const hoist_database_ops tmpl_database_ops;

#endif
