/*
 * do_cluster.c - a DOKS cluster "<project>-<env>-cluster" in the network's
 * VPC with one node pool ("hoist-pool"): a fixed count when nodes.min equals
 * nodes.max, else auto_scale between them.  READY when its state is
 * "running".  Once it runs, the driver also connects it to the account's
 * container registry and trusts it on the environment's databases, because
 * neither of those graph nodes needs the cluster (see do_database.c).
 */
#include "do.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DO_POOL_NAME "hoist-pool"
#define DO_DEFAULT_SIZE "s-2vcpu-4gb"

static int do_name_is(json_t *o, const char *name)
{
    const char *n = json_string_value(json_object_get(o, "name"));
    return n && !strcmp(n, name);
}

/* Find by recorded id, else by name among the account's clusters. */
static hoist_status do_cluster_find(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                    const char *id, json_t **out)
{
    char *name = do_name(r, "cluster", DO_NAME_MAX_CLUSTER);
    /* a cluster an older hoist named by a plain cut: adopted when tagged as ours */
    char *legacy = do_legacy_name(r, "cluster", DO_NAME_MAX_CLUSTER);
    json_t *j = NULL, *list = NULL;
    hoist_status st = HOIST_OK;
    *out = NULL;
    if (id) {
        char *path = hoist_kit_xasprintf("/v2/kubernetes/clusters/%s", id);
        st = do_req(p, ctx, "GET", path, NULL, 0, DO_Q404, NULL, &j);
        free(path);
        if (st == HOIST_OK &&
            do_is_named(json_object_get(j, "kubernetes_cluster"), r, "cluster", name, legacy)) {
            *out = json_incref(json_object_get(j, "kubernetes_cluster"));
            goto cleanup;
        }
        if (st != HOIST_OK && st != HOIST_E_NOTFOUND)
            goto cleanup;
    }
    st = do_list_all(p, ctx, "/v2/kubernetes/clusters", "kubernetes_clusters", &list);
    if (st != HOIST_OK)
        goto cleanup;
    json_t *c = do_pick_named(list, r, "cluster", name, legacy);
    if (c)
        *out = json_incref(c);
cleanup:
    json_decref(j);
    json_decref(list);
    free(name);
    free(legacy);
    return st;
}

hoist_status do_cluster_lookup(do_prov *p, hoist_ctx *ctx, const hoist_resource *r, json_t **out)
{
    return do_cluster_find(p, ctx, r, NULL, out);
}

static const char *do_state(json_t *c)
{
    return json_string_value(json_object_get(json_object_get(c, "status"), "state")) ?: "";
}

/* The version slug for hoist.yml's "1.32" (or "1.32.5", or an exact slug); NULL: latest. */
static hoist_status do_pick_version(do_prov *p, hoist_ctx *ctx, const char *want,
                                    json_t *options, char **slug)
{
    json_t *versions = json_object_get(json_object_get(options, "options"), "versions"), *v;
    size_t i, n = want ? strlen(want) : 0;
    *slug = NULL;
    json_array_foreach(versions, i, v) {
        const char *s = json_string_value(json_object_get(v, "slug"));
        const char *kv = json_string_value(json_object_get(v, "kubernetes_version"));
        if (!s || !kv)
            continue;
        /* DO lists versions newest first: the first match is the newest patch */
        if (!want || !strcmp(want, "latest") || !strcmp(want, s) ||
            (!strncmp(kv, want, n) && (kv[n] == '\0' || kv[n] == '.'))) {
            *slug = hoist_kit_xstrdup(s);
            return HOIST_OK;
        }
    }
    char *have = NULL;
    json_array_foreach(versions, i, v) {
        const char *kv = json_string_value(json_object_get(v, "kubernetes_version"));
        char *t = hoist_kit_xasprintf("%s%s%s", have ? have : "", have ? ", " : "", kv ? kv : "?");
        free(have);
        have = t;
    }
    hoist_status st = p->host->fail(ctx, HOIST_E_INVALID,
                                    "cluster.version \"%s\" is not offered by DigitalOcean (offered: "
                                    "%s); set cluster.version to one of them or remove it for the "
                                    "latest",
                                    want ? want : "", have ? have : "none");
    free(have);
    return st;
}

static int do_size_offered(json_t *options, const char *size)
{
    json_t *sizes = json_object_get(json_object_get(options, "options"), "sizes"), *s;
    size_t i;
    json_array_foreach(sizes, i, s) if (do_name_is(s, size) ||
                                        !strcmp(json_string_value(json_object_get(s, "slug")) ?: "",
                                                size)) return 1;
    return 0;
}

/* Desired pool shape from spec.nodes: type, min, max. */
static void do_pool_want(const hoist_resource *r, const char **size, long *min, long *max)
{
    json_t *nodes = json_object_get(r->spec, "nodes");
    const char *t = json_string_value(json_object_get(nodes, "type"));
    json_t *mn = json_object_get(nodes, "min"), *mx = json_object_get(nodes, "max");
    *size = t && *t ? t : DO_DEFAULT_SIZE;
    *min = json_is_integer(mn) ? (long)json_integer_value(mn) : 1;
    *max = json_is_integer(mx) ? (long)json_integer_value(mx) : *min;
    if (*max < 1)
        *max = 1;
    if (*min > *max)
        *min = *max;
}

/* Fill a node pool request body (for create and update). */
static json_t *do_pool_body(const hoist_resource *r, int with_size)
{
    const char *size;
    long min, max;
    do_pool_want(r, &size, &min, &max);
    json_t *b = json_pack("{s:s,s:I,s:o}", "name", DO_POOL_NAME,
                          "count", (json_int_t)(min > 0 ? min : 1), "tags", do_tags(r, "cluster"));
    if (with_size)
        json_object_set_new(b, "size", json_string(size));
    if (min != max) {
        json_object_set_new(b, "auto_scale", json_true());
        json_object_set_new(b, "min_nodes", json_integer(min));
        json_object_set_new(b, "max_nodes", json_integer(max));
    }
    return b;
}

static hoist_status do_cluster_create(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                      json_t **out)
{
    json_t *opts = NULL, *body = NULL, *j = NULL;
    char *slug = NULL, *name = do_name(r, "cluster", DO_NAME_MAX_CLUSTER);
    const char *vpc = do_need(r, "network", "network", "id");
    const char *size;
    long min, max;
    hoist_status st;
    do_pool_want(r, &size, &min, &max);
    if (!vpc) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "the cluster needs the network's VPC id (needs.network.network.id); "
                           "ensure the network first");
        goto cleanup;
    }
    st = do_req(p, ctx, "GET", "/v2/kubernetes/options", NULL, 0, 0, NULL, &opts);
    if (st != HOIST_OK)
        goto cleanup;
    st = do_pick_version(p, ctx, json_string_value(json_object_get(r->spec, "version")), opts,
                         &slug);
    if (st != HOIST_OK)
        goto cleanup;
    if (!do_size_offered(opts, size)) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "cluster.nodes.type \"%s\" is not a DigitalOcean Kubernetes node size "
                           "(see `doctl kubernetes options sizes`)",
                           size);
        goto cleanup;
    }
    body = json_pack("{s:s,s:s,s:s,s:s,s:o,s:[o]}", "name", name, "region", do_region(p, r),
                     "version", slug, "vpc_uuid", vpc, "tags", do_tags(r, "cluster"), "node_pools",
                     do_pool_body(r, 1));
    p->host->log(ctx, HOIST_LOG_INFO, "creating Kubernetes cluster %s (%s, %s x%ld..%ld)", name,
                 slug, size, min, max);
    /* Not marked idempotent: DO does not refuse a second cluster of the same
       name, so a lost answer is found by name on the next call instead. */
    st = do_req(p, ctx, "POST", "/v2/kubernetes/clusters", body, 0, 0, NULL, &j);
    if (st == HOIST_OK)
        *out = json_incref(json_object_get(j, "kubernetes_cluster"));
cleanup:
    json_decref(opts);
    json_decref(body);
    json_decref(j);
    free(slug);
    free(name);
    return st;
}

/* Resize or re-bound the pool when hoist.yml changed (the size slug cannot change in place). */
static hoist_status do_pool_converge(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                     json_t *cluster, int *changed)
{
    const char *size;
    long min, max;
    size_t i;
    json_t *pool = NULL, *v;
    *changed = 0;
    do_pool_want(r, &size, &min, &max);
    json_array_foreach(json_object_get(cluster, "node_pools"), i, v) if (do_name_is(v, DO_POOL_NAME))
        pool = v;
    if (!pool)
        return HOIST_OK; /* renamed by hand: leave it alone */
    const char *have = json_string_value(json_object_get(pool, "size"));
    if (have && strcmp(have, size) != 0)
        p->host->log(ctx, HOIST_LOG_WARN,
                     "node size is %s but hoist.yml wants %s: DigitalOcean cannot change a "
                     "pool's size in place; destroy and deploy the cluster to change it",
                     have, size);
    int as = json_is_true(json_object_get(pool, "auto_scale"));
    long count = (long)json_integer_value(json_object_get(pool, "count"));
    long hmin = (long)json_integer_value(json_object_get(pool, "min_nodes"));
    long hmax = (long)json_integer_value(json_object_get(pool, "max_nodes"));
    int same = min == max ? (!as && count == (min > 0 ? min : 1))
                          : (as && hmin == min && hmax == max);
    if (same)
        return HOIST_OK;
    char *path = hoist_kit_xasprintf("/v2/kubernetes/clusters/%s/node_pools/%s",
                                     json_string_value(json_object_get(cluster, "id")),
                                     json_string_value(json_object_get(pool, "id")));
    json_t *body = do_pool_body(r, 0);
    if (min == max)
        json_object_set_new(body, "auto_scale", json_false());
    p->host->log(ctx, HOIST_LOG_INFO, "resizing node pool to %ld..%ld", min, max);
    hoist_status st = do_req(p, ctx, "PUT", path, body, 0, 0, NULL, NULL);
    json_decref(body);
    free(path);
    *changed = st == HOIST_OK;
    return st;
}

hoist_status do_cluster_attach_registry(do_prov *p, hoist_ctx *ctx, json_t *cluster)
{
    if (json_is_true(json_object_get(cluster, "registry_enabled")))
        return HOIST_OK;
    json_t *body = json_pack("{s:[O]}", "cluster_uuids", json_object_get(cluster, "id"));
    p->host->log(ctx, HOIST_LOG_INFO, "connecting cluster %s to the container registry",
                 json_string_value(json_object_get(cluster, "name")));
    /* Turning the integration on twice is harmless: safe to retry. */
    hoist_status st = do_req(p, ctx, "POST", "/v2/kubernetes/registry", body,
                             HOIST_HTTP_IDEMPOTENT, 0, NULL, NULL);
    json_decref(body);
    return st;
}

static json_t *do_cluster_outputs(json_t *c)
{
    json_t *pool = json_array_get(json_object_get(c, "node_pools"), 0);
    return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "id", json_object_get(c, "id"), "name",
                     json_object_get(c, "name"), "region", json_object_get(c, "region"),
                     "version", json_object_get(c, "version"), "endpoint",
                     json_object_get(c, "endpoint") ?: json_null(), "vpc_uuid",
                     json_object_get(c, "vpc_uuid"), "node_pool_id",
                     pool ? json_object_get(pool, "id") : json_null(), "state", do_state(c));
}

static hoist_status do_cluster_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_result *out)
{
    do_prov *p = vp;
    json_t *c = NULL, *reg = NULL;
    int changed = 0;
    hoist_status st = do_cluster_find(p, ctx, r, do_recorded_id(r), &c);
    if (st == HOIST_OK && !c)
        st = do_cluster_create(p, ctx, r, &c);
    if (st != HOIST_OK)
        goto cleanup;
    const char *state = do_state(c);
    out->outputs = do_cluster_outputs(c);
    if (!strcmp(state, "errored") || !strcmp(state, "invalid") || !strcmp(state, "deleted")) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT, "cluster %s is %s: %s",
                           json_string_value(json_object_get(c, "name")), state,
                           json_string_value(json_object_get(json_object_get(c, "status"),
                                                             "message")) ?: "");
        goto cleanup;
    }
    if (!strcmp(state, "deleting")) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "cluster %s is being deleted; deploy again once it is gone",
                           json_string_value(json_object_get(c, "name")));
        goto cleanup;
    }
    if (strcmp(state, "running") != 0) {
        st = do_pending(p, ctx, out, state[0] ? state : "provisioning");
        goto cleanup;
    }
    st = do_pool_converge(p, ctx, r, c, &changed);
    if (st != HOIST_OK)
        goto cleanup;
    if (changed) {
        st = do_pending(p, ctx, out, "resizing");
        goto cleanup;
    }
    const char *id = json_string_value(json_object_get(c, "id"));
    /* The registry may not exist (no app has an image): then nothing to attach. */
    st = do_req(p, ctx, "GET", "/v2/registry", NULL, 0, DO_Q404, NULL, &reg);
    if (st == HOIST_OK)
        st = do_cluster_attach_registry(p, ctx, c);
    else if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    if (st == HOIST_OK)
        st = do_database_trust_all(p, ctx, r, id);
cleanup:
    if (st < 0 && out->outputs) {
        json_decref(out->outputs);
        out->outputs = NULL;
    }
    json_decref(c);
    json_decref(reg);
    return st;
}

static hoist_status do_cluster_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    json_t *c = NULL;
    hoist_status st = do_cluster_find(vp, ctx, r, do_recorded_id(r), &c);
    if (st == HOIST_OK && !c)
        return HOIST_E_NOTFOUND;
    if (st == HOIST_OK) {
        out->outputs = do_cluster_outputs(c);
        if (strcmp(do_state(c), "running") != 0)
            st = do_pending(vp, ctx, out, do_state(c));
    }
    json_decref(c);
    return st;
}

static hoist_status do_cluster_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    do_prov *p = vp;
    json_t *c = NULL;
    hoist_status st = do_cluster_find(p, ctx, r, do_recorded_id(r), &c);
    if (st != HOIST_OK || !c)
        goto cleanup;
    if (strcmp(do_state(c), "deleting") != 0) {
        char *path = hoist_kit_xasprintf("/v2/kubernetes/clusters/%s",
                                         json_string_value(json_object_get(c, "id")));
        p->host->log(ctx, HOIST_LOG_INFO, "deleting Kubernetes cluster %s",
                     json_string_value(json_object_get(c, "name")));
        st = do_req(p, ctx, "DELETE", path, NULL, 0, DO_Q404, NULL, NULL);
        free(path);
        if (st == HOIST_E_NOTFOUND) {
            st = HOIST_OK;
            goto cleanup;
        }
        if (st != HOIST_OK)
            goto cleanup;
    }
    st = do_pending(p, ctx, out, "deleting");
cleanup:
    json_decref(c);
    return st;
}

/* Cached credentials are reused until 5 minutes before they expire. */
#define DO_KUBE_MARGIN 300

static char *do_pem(do_prov *p, const char *b64)
{
    if (!b64 || !*b64)
        return NULL; /* no CA: the endpoint's certificate is publicly trusted */
    return p->host->base64_decode(b64, NULL);
}

static hoist_status do_copy_creds(const hoist_cluster_credentials *from,
                                  hoist_cluster_credentials *to)
{
    to->endpoint = hoist_kit_xstrdup(from->endpoint);
    to->ca_pem = from->ca_pem ? hoist_kit_xstrdup(from->ca_pem) : NULL;
    to->token = hoist_kit_xstrdup(from->token);
    to->expires_at = from->expires_at;
    return HOIST_OK;
}

static void do_creds_clear(hoist_cluster_credentials *c)
{
    free(c->endpoint);
    free(c->ca_pem);
    free(c->token);
    c->endpoint = c->ca_pem = c->token = NULL;
    c->expires_at = 0;
}

static hoist_status do_cluster_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                           hoist_cluster_credentials *out)
{
    do_prov *p = vp;
    json_t *c = NULL, *j = NULL;
    hoist_status st = HOIST_OK;
    const char *id = do_recorded_id(r);
    pthread_mutex_lock(&p->mu);
    if (id && p->kube_id && !strcmp(id, p->kube_id) &&
        (p->kube.expires_at == 0 || p->kube.expires_at > (int64_t)time(NULL) + DO_KUBE_MARGIN)) {
        st = do_copy_creds(&p->kube, out);
        pthread_mutex_unlock(&p->mu);
        return st;
    }
    pthread_mutex_unlock(&p->mu);
    st = do_cluster_find(p, ctx, r, id, &c);
    if (st == HOIST_OK && !c) {
        char *name = do_name(r, "cluster", DO_NAME_MAX_CLUSTER);
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "cluster %s not found: deploy it first", name);
        free(name);
    }
    if (st != HOIST_OK)
        goto cleanup;
    id = json_string_value(json_object_get(c, "id"));
    char *path = hoist_kit_xasprintf("/v2/kubernetes/clusters/%s/credentials?expiry_seconds=%ld",
                                     id,
                                     p->kube_ttl);
    st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &j);
    free(path);
    if (st != HOIST_OK)
        goto cleanup;
    const char *server = json_string_value(json_object_get(j, "server"));
    const char *token = json_string_value(json_object_get(j, "token"));
    if (!server || !token) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "cluster credentials without a server or a token (client "
                           "certificates are not supported)");
        goto cleanup;
    }
    p->host->secret(ctx, token);
    hoist_cluster_credentials fresh = {.struct_size = sizeof fresh};
    fresh.endpoint = hoist_kit_xstrdup(server);
    size_t n = strlen(fresh.endpoint);
    while (n > 0 && fresh.endpoint[n - 1] == '/')
        fresh.endpoint[--n] = '\0';
    fresh.ca_pem = do_pem(p, json_string_value(json_object_get(j, "certificate_authority_data")));
    fresh.token = hoist_kit_xstrdup(token);
    fresh.expires_at = do_parse_time(json_string_value(json_object_get(j, "expires_at")));
    do_copy_creds(&fresh, out);
    pthread_mutex_lock(&p->mu);
    do_creds_clear(&p->kube);
    free(p->kube_id);
    p->kube_id = hoist_kit_xstrdup(id);
    p->kube = fresh;
    pthread_mutex_unlock(&p->mu);
cleanup:
    json_decref(c);
    json_decref(j);
    return st;
}

const hoist_cluster_ops do_cluster_ops = {
    .struct_size = sizeof do_cluster_ops,
    .ensure = do_cluster_ensure,
    .observe = do_cluster_observe,
    .destroy = do_cluster_destroy,
    .credentials = do_cluster_credentials,
};
