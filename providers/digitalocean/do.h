/*
 * do.h - internals shared by the DigitalOcean driver's files.  Nothing here
 * is exported: the module is built with -fvisibility=hidden and only
 * digitalocean_LTX_hoist_provider_entry leaves it.
 */
#ifndef HOIST_DO_H
#define HOIST_DO_H

#include <hoist/host.h>
#include <hoist/kit.h>
#include <hoist/provider.h>

#include <pthread.h>

/* The driver context: read-only after init except where @mu says. */
typedef struct do_prov {
    const hoist_host *host;
    char *api;          /* base URL, no trailing slash */
    char *auth;         /* "Authorization: Bearer ..." (a secret) */
    unsigned http_flags;
    char *region;       /* default region of the environment */
    char *ip_range;     /* settings ip_range, or NULL: derived */
    char *registry;     /* settings registry, or NULL */
    char *registry_tier;
    char *registry_region; /* settings registry_region, or NULL: nearest to region */
    long registry_ttl;  /* docker-credentials expiry_seconds */
    long kube_ttl;      /* cluster credentials expiry_seconds */
    long db_nodes;
    unsigned poll_ms;
    char *state_dir;    /* host->state_dir at init, or NULL */
    pthread_mutex_t mu; /* registry find-or-create and its user markers; kube cache */
    char *kube_id;      /* cached cluster credentials (under mu) */
    hoist_cluster_credentials kube;
} do_prov;

/* ---- do_api.c: requests, errors, names ---- */

/*
 * do_req - one API call.  @path starts with "/v2/"; @body (borrowed) is
 * sent as JSON when not NULL; @flags are HOIST_HTTP_* added to the driver's.
 * On a 2xx answer returns HOIST_OK and *out (if @out) gets the parsed body
 * (a new reference, NULL for an empty body).  Answers whose status is in
 * @quiet (DO_Q404, DO_Q409, DO_Q422) return HOIST_E_NOTFOUND,
 * HOIST_E_CONFLICT or HOIST_E_INVALID without any report, *out holding DO's
 * error body, so the caller decides (do_report() reports it later).  Any
 * other answer is mapped by host->http_error (detail reported once);
 * *status (if @status) gets the HTTP status, 0 when none arrived.
 */
enum { DO_Q404 = 1, DO_Q409 = 2, DO_Q422 = 4 };
hoist_status do_req(do_prov *p, hoist_ctx *ctx, const char *method, const char *path,
                    json_t *body, unsigned flags, unsigned quiet, long *status, json_t **out);
/* Report @st for DO's error body @err ({"id","message"}) about @what; returns @st. */
hoist_status do_report(do_prov *p, hoist_ctx *ctx, hoist_status st, const char *what, json_t *err);

/*
 * do_list_all - GET @path (may carry a query) page by page (per_page=200)
 * and return the concatenation of every page's array @key in *out (new
 * reference).  Pages are counted here rather than following links.pages.next,
 * whose host is the API's own and would bypass an endpoint override.
 */
hoist_status do_list_all(do_prov *p, hoist_ctx *ctx, const char *path, const char *key,
                         json_t **out);

/*
 * Name limits.  DigitalOcean's OpenAPI document gives no maxLength for these
 * names; a database cluster's name becomes a DNS label of its hosts
 * ("<name>-do-user-N-0.db.ondigitalocean.com"), hence 63, and a Kubernetes
 * cluster's likewise.  VPC names are [A-Za-z0-9.-]; repository names are
 * paths under the registry.  hoist.yml names are at most 40 characters, so
 * only a long project and environment together reach a limit.
 */
#define DO_NAME_MAX_DATABASE 63
#define DO_NAME_MAX_CLUSTER 63
#define DO_NAME_MAX_VPC 100
#define DO_NAME_MAX_REPOSITORY 200

/* "<project>-<env>-<name>" by hoist_kit_name (lower case, [a-z0-9-], no
   trailing '-'), at most @max bytes: a longer one keeps a prefix and ends
   with a hash of the whole.  An empty @name gives "<project>-<env>".  malloc'd. */
char *do_name(const hoist_resource *r, const char *name, size_t max);
/*
 * do_legacy_name - the name do_name gave before hoist/kit.h when @name did
 * not fit: cut at @max, without trailing dashes.  NULL when the name fits
 * (then both agree).  Only for adopting what an older hoist created: such a
 * name may be another resource's (that was the bug), so do_is_named trusts
 * it only on an object tagged as this very resource.  malloc'd.
 */
char *do_legacy_name(const hoist_resource *r, const char *name, size_t max);
/* 1 if object @o is named @name, or named @legacy (may be NULL) and carries
   every tag do_tags(@r, @kind) gives. */
int do_is_named(json_t *o, const hoist_resource *r, const char *kind, const char *name,
                const char *legacy);
/* The member of @list that do_is_named picks, an exact name first (borrowed, or NULL). */
json_t *do_pick_named(json_t *list, const hoist_resource *r, const char *kind, const char *name,
                      const char *legacy);
/* @s lowercased with every character outside [a-z0-9] replaced by @repl; malloc'd. */
char *do_slug(const char *s, char repl);
/* The ownership tags [hoist:project:P, hoist:env:E, hoist:resource:KIND-NAME] (new ref). */
json_t *do_tags(const hoist_resource *r, const char *kind);
/* 1 if the array @tags holds the string @tag. */
int do_has_tag(json_t *tags, const char *tag);
/* 1 if @tags carries this resource's project and env tags. */
int do_owned(json_t *tags, const hoist_resource *r);
/* The region for @r: spec "region", else the driver's. Borrowed. */
const char *do_region(do_prov *p, const hoist_resource *r);
/* The id recorded by a previous call, or NULL.  Borrowed. */
const char *do_recorded_id(const hoist_resource *r);
/* needs[kind][name][key] as a string, or NULL.  Borrowed. */
const char *do_need(const hoist_resource *r, const char *kind, const char *name, const char *key);
/* RFC 3339 UTC time ("2024-01-02T03:04:05Z", fractions allowed) to Unix time, 0 if unparsable. */
int64_t do_parse_time(const char *s);
/* Set out->poll_ms and report @phase (copied by host->progress) for a PENDING
 * answer; returns HOIST_PENDING. */
hoist_status do_pending(do_prov *p, hoist_ctx *ctx, hoist_result *out, const char *phase);

/* ---- cross-area lookups ---- */

/* The cluster of @r's environment by deterministic name: *out (new ref) or NULL. */
hoist_status do_cluster_lookup(do_prov *p, hoist_ctx *ctx, const hoist_resource *r, json_t **out);
/* Turn on the registry integration for @cluster (a cluster object) if it is off. */
hoist_status do_cluster_attach_registry(do_prov *p, hoist_ctx *ctx, json_t *cluster);
/* Ensure database @db_id trusts Kubernetes cluster @cluster_id (firewall rule type k8s). */
hoist_status do_database_trust(do_prov *p, hoist_ctx *ctx, const char *db_id,
                               const char *cluster_id);
/* Trust @cluster_id on every online database of @r's project and environment. */
hoist_status do_database_trust_all(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                   const char *cluster_id);

extern const hoist_network_ops do_network_ops;
extern const hoist_cluster_ops do_cluster_ops;
extern const hoist_registry_ops do_registry_ops;
extern const hoist_database_ops do_database_ops;

#endif
