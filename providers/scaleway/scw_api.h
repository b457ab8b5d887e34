/*
 * scw_api.h - internals shared by the Scaleway driver's files (never
 * installed; every symbol is hidden by -fvisibility=hidden and the
 * export list, so only scaleway_LTX_hoist_provider_entry leaves the module).
 *
 * Conventions: every function returning hoist_status reports its failure
 * once through host->fail() where it happens; callers pass the status on.
 * json_t results are new references unless the name says get0/borrowed.
 */
#ifndef SCW_API_H
#define SCW_API_H

#include <hoist/host.h>
#include <hoist/kit.h>
#include <hoist/provider.h>

#include <jansson.h>
#include <stddef.h>

/* The driver context (one per init; read-only after init, so thread-safe). */
typedef struct scw_prov {
    const hoist_host *host;
    char *api_url;    /* no trailing slash */
    char *secret_key; /* registered as a secret by host->credentials */
    char *project_id;
    char *region; /* fr-par, nl-ams, pl-waw */
    char *zone;   /* fr-par-1 ... */
    unsigned http_flags; /* HOIST_HTTP_ALLOW_PLAIN_LOOPBACK for an explicit override */
    unsigned poll_ms;    /* PENDING hint */
} scw_prov;

/* A JSON member as a string, or NULL (borrowed). */
const char *scw_str(json_t *o, const char *key);

/*
 * scw_call - one Scaleway API call: @method on api_url + @path (already
 * encoded, starting with '/'), with @body (borrowed, may be NULL) as JSON.
 * *@out (may be NULL) gets the parsed answer (new reference; NULL for an
 * empty 204).  A 404 returns HOIST_E_NOTFOUND *without* reporting it, so
 * callers decide whether "absent" is an error; every other failure is
 * reported (see scw_error).  @flags: SCW_* below.
 */
enum {
    SCW_IDEMPOTENT = 1u << 0, /* a POST/PUT the core may retry (it converges, never duplicates) */
    SCW_QUIET_BUSY = 1u << 1, /* 409/412/transient_state: return HOIST_E_CONFLICT unreported */
    SCW_BY_PROJECT = 1u << 2  /* scw_find: filter the list by the driver's project */
};
hoist_status scw_call(scw_prov *p, hoist_ctx *ctx, const char *method, const char *path,
                      json_t *body, unsigned flags, json_t **out);

/*
 * scw_find - the object in the list at @path (e.g.
 * "/vpc/v2/regions/fr-par/vpcs") under @key whose name is exactly @name and,
 * when @tags is non-NULL, which carries every tag of @tags.  Follows
 * pagination (page, page_size, total_count).  *@out: new reference or NULL
 * when none matches (HOIST_OK either way).  @extra_query ("&vpc_id=...")
 * may be NULL.  @flags: SCW_BY_PROJECT adds the project filter (lists
 * that take project_id).
 */
hoist_status scw_find(scw_prov *p, hoist_ctx *ctx, const char *path, const char *key,
                      const char *name, json_t *tags, const char *extra_query, unsigned flags,
                      json_t **out);

/*
 * scw_get_recorded - GET @path_fmt with the id recorded under @id_key in
 * @recorded; *@out NULL (HOIST_OK) when nothing was recorded or the object
 * is gone (404).
 */
hoist_status scw_get_recorded(scw_prov *p, hoist_ctx *ctx, json_t *recorded, const char *id_key,
                              const char *path_prefix, json_t **out);

/*
 * scw_locate - the object recorded under @id_key (GET @base/<id>), else the
 * one named @name carrying @tags in the list at @base (see scw_find).
 * *@out NULL when neither exists.
 */
hoist_status scw_locate(scw_prov *p, hoist_ctx *ctx, json_t *recorded, const char *id_key,
                        const char *base, const char *list_key, const char *name, json_t *tags,
                        const char *extra_query, json_t **out);

/*
 * scw_delete - delete the object @obj (borrowed, as last read) at @path:
 * HOIST_OK when gone (204, or 404), HOIST_PENDING (with @phase and outputs
 * {"deleting": true} in @out) while it is leaving or the cloud says it is
 * busy (409/412/transient_state); otherwise the reported error.  An object
 * already "deleting" is not asked twice.  Recorded outputs with "deleting"
 * make scw_get_recorded skip the id, so later calls look the object up by
 * name in a list instead of earning a 404.
 */
hoist_status scw_delete(scw_prov *p, hoist_ctx *ctx, const char *path, json_t *obj,
                        hoist_result *out, const char *phase);

/* Ownership tags: ["hoist:project=P", "hoist:env=E", "hoist:resource=KIND/NAME"]. */
json_t *scw_tags(const hoist_resource *r, const char *kind);

/*
 * Name limits as this driver has always used them (Scaleway's OpenAPI
 * documents give none): registry namespaces 4..54 characters, VPCs and
 * private networks 63, Kapsule clusters 100, RDB instances 255.
 */
#define SCW_NAME_MAX_NETWORK 63
#define SCW_NAME_MAX_CLUSTER 100
#define SCW_NAME_MAX_DATABASE 255
#define SCW_NAME_MAX_NAMESPACE 54

/*
 * scw_name - a deterministic object name "hoist-<project>-<env>[-<suffix>]"
 * by hoist_kit_name: Scaleway's alphabet (lower-case letters, digits, '-'),
 * at most @max characters; too long names keep a prefix and end with an
 * 8-hex hash of the whole so distinct inputs stay distinct.  Malloc'd.
 */
char *scw_name(const hoist_resource *r, const char *suffix, size_t max);

/* The region of @r: spec "region", else the driver's. Borrowed. */
const char *scw_region(scw_prov *p, const hoist_resource *r);

/* The outputs of the resource this one needs: needs[kind][name] (borrowed or NULL). */
json_t *scw_need(const hoist_resource *r, const char *kind, const char *name);

/* Set @out to PENDING with the driver's poll hint; report @phase through
 * host->progress (which copies it). */
hoist_status scw_pending(scw_prov *p, hoist_ctx *ctx, hoist_result *out, const char *phase);


/* Driver ops, one file per kind. */
extern const hoist_network_ops scw_network_ops;
extern const hoist_cluster_ops scw_cluster_ops;
extern const hoist_registry_ops scw_registry_ops;
extern const hoist_database_ops scw_database_ops;

#endif
