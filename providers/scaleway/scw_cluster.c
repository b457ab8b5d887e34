/*
 * scw_cluster.c - a Kapsule cluster (Kubernetes API v1) on the network's
 * private network, CNI cilium, with one node pool named "default".
 * Spec keys (environment `cluster:`): version ("1.32.3", or "1.32" for the
 * newest patch; default: the newest offered), nodes.type (default DEV1-M),
 * nodes.min (default 1), nodes.max (default max(min, 1)); the pool
 * autoscales when max > min and always autoheals.
 * Needs: needs["network"]["network"]["private_network_id"].
 * Outputs: id, name, version, cluster_url, region, private_network_id,
 * pool_id, node_type.  READY when the cluster and the pool are "ready".
 */
#include "scw_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCW_POOL_NAME "default"
#define SCW_DEFAULT_NODE_TYPE "DEV1-M"

typedef struct scw_pool_want {
    const char *node_type;
    long long size, min, max;
    int autoscaling;
} scw_pool_want;

static void scw_pool_wanted(const hoist_resource *r, scw_pool_want *w)
{
    json_t *nodes = json_object_get(r->spec, "nodes");
    json_t *mn = json_object_get(nodes, "min"), *mx = json_object_get(nodes, "max");
    w->node_type = scw_str(nodes, "type") ? scw_str(nodes, "type") : SCW_DEFAULT_NODE_TYPE;
    w->min = json_is_integer(mn) ? json_integer_value(mn) : 1;
    w->max = json_is_integer(mx) ? json_integer_value(mx) : (w->min > 1 ? w->min : 1);
    w->size = w->min > 1 ? w->min : 1;
    if (w->max < w->size)
        w->max = w->size;
    w->autoscaling = w->max > w->min;
}

static char *scw_k8s_base(scw_prov *p, const hoist_resource *r)
{
    return hoist_kit_xasprintf("/k8s/v1/regions/%s", scw_region(p, r));
}

/* Compare dotted versions numerically ("1.31.10" > "1.31.9"). */
static int scw_vercmp(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
        if (!*a && !*b)
            break;
        if (!*a || !*b)
            return *a ? 1 : -1;
    }
    return 0;
}

/* The version to create: the newest offered one matching @want (exact or a prefix), or any. */
static hoist_status scw_k8s_version(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                    char **out)
{
    const char *want = scw_str(r->spec, "version");
    char *base = scw_k8s_base(p, r), *path = hoist_kit_xasprintf("%s/versions", base);
    json_t *ans = NULL, *v;
    const char *best = NULL;
    size_t i, wl = want ? strlen(want) : 0;
    *out = NULL;
    hoist_status st = scw_call(p, ctx, "GET", path, NULL, 0, &ans);
    if (st == HOIST_E_NOTFOUND)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "GET %s: 404", path);
    if (st != HOIST_OK)
        goto cleanup;
    json_array_foreach(json_object_get(ans, "versions"), i, v) {
        const char *n = scw_str(v, "name");
        if (!n || (want && strcmp(n, want) != 0 && !(strncmp(n, want, wl) == 0 && n[wl] == '.')))
            continue;
        if (!best || scw_vercmp(n, best) > 0)
            best = n;
    }
    if (!best) {
        char list[512] = "";
        json_array_foreach(json_object_get(ans, "versions"), i, v) if (strlen(list) < 400) {
            strcat(list, i ? ", " : "");
            strncat(list, scw_str(v, "name") ? scw_str(v, "name") : "?", 64);
        }
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "cluster.version '%s' is not offered in %s; available: %s",
                           want ? want : "(any)", scw_region(p, r), list);
        goto cleanup;
    }
    *out = hoist_kit_xstrdup(best);
cleanup:
    json_decref(ans);
    free(base);
    free(path);
    return st;
}

static json_t *scw_pool_body(const hoist_resource *r, const scw_pool_want *w)
{
    return json_pack("{s:s,s:s,s:I,s:b,s:I,s:I,s:b,s:o}", "name", SCW_POOL_NAME, "node_type",
                     w->node_type, "size", (json_int_t)w->size, "autoscaling", w->autoscaling,
                     "min_size", (json_int_t)w->min, "max_size", (json_int_t)w->max,
                     "autohealing", 1, "tags", scw_tags(r, "cluster"));
}

static hoist_status scw_cluster_locate(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                       json_t **cl)
{
    char *base = scw_k8s_base(p, r), *clusters = hoist_kit_xasprintf("%s/clusters", base);
    char *name = scw_name(r, NULL, SCW_NAME_MAX_CLUSTER);
    json_t *tags = scw_tags(r, "cluster");
    hoist_status st =
        scw_locate(p, ctx, r->recorded, "id", clusters, "clusters", name, tags, NULL, cl);
    free(base);
    free(clusters);
    free(name);
    json_decref(tags);
    return st;
}

static hoist_status scw_pool_locate(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                    json_t *cl, json_t **pool)
{
    char *base = scw_k8s_base(p, r);
    char *pools = hoist_kit_xasprintf("%s/clusters/%s/pools", base, scw_str(cl, "id"));
    hoist_status st = scw_find(p, ctx, pools, "pools", SCW_POOL_NAME, NULL, NULL, 0, pool);
    free(base);
    free(pools);
    return st;
}

static void scw_cluster_outputs(scw_prov *p, const hoist_resource *r, json_t *cl, json_t *pool,
                                hoist_result *out)
{
    out->outputs = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s?}", "id", scw_str(cl, "id"), "name",
                             scw_str(cl, "name"), "version", scw_str(cl, "version"),
                             "cluster_url", scw_str(cl, "cluster_url"), "region",
                             scw_region(p, r), "private_network_id",
                             scw_str(cl, "private_network_id"));
    if (pool) {
        json_object_set_new(out->outputs, "pool_id", json_string(scw_str(pool, "id")));
        json_object_set_new(out->outputs, "node_type", json_string(scw_str(pool, "node_type")));
    }
}

/* 1 if the pool's settings differ from @w (size only counts without autoscaling). */
static int scw_pool_drift(json_t *pool, const scw_pool_want *w)
{
    int as = json_is_true(json_object_get(pool, "autoscaling"));
    return as != w->autoscaling || !json_is_true(json_object_get(pool, "autohealing")) ||
           json_integer_value(json_object_get(pool, "min_size")) != w->min ||
           json_integer_value(json_object_get(pool, "max_size")) != w->max ||
           (!w->autoscaling && json_integer_value(json_object_get(pool, "size")) != w->size);
}

static hoist_status scw_cluster_create(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                       const char *pn_id, json_t **cl)
{
    scw_pool_want w;
    char *version = NULL, *base = scw_k8s_base(p, r);
    char *path = hoist_kit_xasprintf("%s/clusters", base);
    char *name = scw_name(r, NULL, SCW_NAME_MAX_CLUSTER);
    json_t *body = NULL;
    hoist_status st = scw_k8s_version(p, ctx, r, &version);
    if (st != HOIST_OK)
        goto cleanup;
    scw_pool_wanted(r, &w);
    body = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:[o]}", "project_id", p->project_id,
                     "type", "kapsule", "name", name, "description",
                     "managed by hoist; do not edit by hand", "tags", scw_tags(r, "cluster"),
                     "version", version, "cni", "cilium", "private_network_id", pn_id, "pools",
                     scw_pool_body(r, &w));
    st = scw_call(p, ctx, "POST", path, body, 0, cl);
    if (st == HOIST_OK)
        p->host->log(ctx, HOIST_LOG_INFO, "creating Kapsule cluster %s (Kubernetes %s, %s)", name,
                     version, w.node_type);
cleanup:
    json_decref(body);
    free(version);
    free(base);
    free(path);
    free(name);
    return st;
}

static hoist_status scw_cluster_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    scw_prov *p = prov;
    json_t *cl = NULL, *pool = NULL, *body = NULL, *ans = NULL;
    char *path = NULL, *base = scw_k8s_base(p, r);
    const char *pn_id = scw_str(scw_need(r, "network", "network"), "private_network_id");
    scw_pool_want w;
    hoist_status st;
    scw_pool_wanted(r, &w);
    if (!pn_id) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "the cluster needs the network's private_network_id (needs.network."
                           "network), which the core did not pass");
        goto cleanup;
    }
    if ((st = scw_cluster_locate(p, ctx, r, &cl)) != HOIST_OK)
        goto cleanup;
    if (!cl) {
        if ((st = scw_cluster_create(p, ctx, r, pn_id, &cl)) != HOIST_OK)
            goto cleanup;
    }
    const char *cs = scw_str(cl, "status");
    scw_cluster_outputs(p, r, cl, NULL, out);
    if (cs && strcmp(cs, "ready") != 0 && strcmp(cs, "pool_required") != 0) {
        if (!strcmp(cs, "creating") || !strcmp(cs, "updating") || !strcmp(cs, "deleting") ||
            !strcmp(cs, "unknown")) {
            st = scw_pending(p, ctx, out, !strcmp(cs, "deleting") ? "waiting for a previous cluster "
                                                               "to finish deleting"
                                                             : "provisioning the cluster");
            goto cleanup;
        }
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "cluster %s is %s; see the Scaleway console for why",
                           scw_str(cl, "id"), cs);
        goto cleanup;
    }
    if (strcmp(scw_str(cl, "private_network_id") ? scw_str(cl, "private_network_id") : "",
               pn_id) != 0)
        p->host->log(ctx, HOIST_LOG_WARN,
                     "cluster %s is on private network %s, not the environment's %s; a Kapsule "
                     "cluster cannot move: destroy and deploy it again to change networks",
                     scw_str(cl, "id"), scw_str(cl, "private_network_id"), pn_id);
    if ((st = scw_pool_locate(p, ctx, r, cl, &pool)) != HOIST_OK)
        goto cleanup;
    if (!pool) {
        path = hoist_kit_xasprintf("%s/clusters/%s/pools", base, scw_str(cl, "id"));
        body = scw_pool_body(r, &w);
        if ((st = scw_call(p, ctx, "POST", path, body, 0, &ans)) != HOIST_OK)
            goto cleanup;
        st = scw_pending(p, ctx, out, "creating the node pool");
        goto cleanup;
    }
    json_decref(out->outputs);
    scw_cluster_outputs(p, r, cl, pool, out);
    if (scw_pool_drift(pool, &w)) {
        path = hoist_kit_xasprintf("%s/pools/%s", base, scw_str(pool, "id"));
        body = json_pack("{s:b,s:I,s:I,s:b}", "autoscaling", w.autoscaling, "min_size",
                         (json_int_t)w.min, "max_size", (json_int_t)w.max, "autohealing", 1);
        if (!w.autoscaling)
            json_object_set_new(body, "size", json_integer(w.size));
        if ((st = scw_call(p, ctx, "PATCH", path, body, SCW_IDEMPOTENT, &ans)) != HOIST_OK)
            goto cleanup;
        p->host->log(ctx, HOIST_LOG_INFO, "node pool resized: min %lld, max %lld", w.min, w.max);
        st = scw_pending(p, ctx, out, "resizing the node pool");
        goto cleanup;
    }
    if (strcmp(w.node_type, scw_str(pool, "node_type") ? scw_str(pool, "node_type") : "") != 0)
        p->host->log(ctx, HOIST_LOG_WARN,
                     "node pool runs %s, hoist.yml asks %s: Scaleway cannot change a pool's node "
                     "type; destroy the cluster to change it",
                     scw_str(pool, "node_type"), w.node_type);
    const char *ps = scw_str(pool, "status");
    if (!ps || strcmp(ps, "ready") != 0) {
        if (ps && (!strcmp(ps, "locked") || !strcmp(ps, "deleted"))) {
            st = p->host->fail(ctx, HOIST_E_CONFLICT, "node pool %s is %s", scw_str(pool, "id"),
                               ps);
            goto cleanup;
        }
        st = scw_pending(p, ctx, out, "waiting for the node pool");
        goto cleanup;
    }
    if (!cs || strcmp(cs, "ready") != 0) {
        st = scw_pending(p, ctx, out, "waiting for the cluster");
        goto cleanup;
    }
    st = HOIST_OK;
cleanup:
    json_decref(cl);
    json_decref(pool);
    json_decref(body);
    json_decref(ans);
    free(path);
    free(base);
    return st;
}

static hoist_status scw_cluster_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    scw_prov *p = prov;
    json_t *cl = NULL, *pool = NULL;
    hoist_status st = scw_cluster_locate(p, ctx, r, &cl);
    if (st != HOIST_OK)
        goto cleanup;
    if (!cl) {
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "no Kapsule cluster for %s/%s in %s",
                           r->project, r->env, scw_region(p, r));
        goto cleanup;
    }
    if ((st = scw_pool_locate(p, ctx, r, cl, &pool)) != HOIST_OK)
        goto cleanup;
    scw_cluster_outputs(p, r, cl, pool, out);
    if (!pool || strcmp(scw_str(cl, "status") ? scw_str(cl, "status") : "", "ready") != 0 ||
        strcmp(scw_str(pool, "status") ? scw_str(pool, "status") : "", "ready") != 0)
        st = scw_pending(p, ctx, out, !pool ? "no node pool" : "not ready");
cleanup:
    json_decref(cl);
    json_decref(pool);
    return st;
}

static hoist_status scw_cluster_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    scw_prov *p = prov;
    json_t *cl = NULL;
    char *base = scw_k8s_base(p, r), *path = NULL;
    hoist_status st = scw_cluster_locate(p, ctx, r, &cl);
    if (st != HOIST_OK || !cl)
        goto cleanup;
    /* with_additional_resources: the volumes and load balancers Kubernetes
       made for this cluster go with it, so nothing billable is left behind */
    path = hoist_kit_xasprintf("%s/clusters/%s?with_additional_resources=true", base,
                               scw_str(cl, "id"));
    st = scw_delete(p, ctx, path, cl, out, "deleting the cluster");
cleanup:
    json_decref(cl);
    free(base);
    free(path);
    return st;
}

/* The value of "key:" on a kubeconfig line, unquoted, malloc'd; NULL if not that key. */
static char *scw_yaml_value(const char *line, const char *key)
{
    while (*line == ' ' || *line == '-' || *line == '\t')
        line++;
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != ':')
        return NULL;
    const char *v = line + kl + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strcspn(v, "\r\n");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    char *s = hoist_kit_xmalloc(n + 1);
    memcpy(s, v, n);
    s[n] = '\0';
    return s;
}

/*
 * Scaleway's kubeconfig names one cluster and one user: server,
 * certificate-authority-data and token are all hoist needs, so a line scan
 * does instead of a YAML parser (drivers do not link libyaml).
 */
static hoist_status scw_kubeconfig_parse(scw_prov *p, hoist_ctx *ctx, const char *yaml,
                                         hoist_cluster_credentials *out)
{
    char *ca = NULL;
    for (const char *l = yaml; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *v;
        if (!out->endpoint && (v = scw_yaml_value(l, "server")))
            out->endpoint = v;
        else if (!ca && (v = scw_yaml_value(l, "certificate-authority-data")))
            ca = v;
        else if (!out->token && (v = scw_yaml_value(l, "token")))
            out->token = v;
    }
    if (!out->endpoint || !out->token) {
        free(ca);
        return p->host->fail(ctx, HOIST_E_INTERNAL, "the cluster's kubeconfig has no %s",
                             out->endpoint ? "token" : "server");
    }
    p->host->secret(ctx, out->token);
    size_t n = strlen(out->endpoint);
    while (n && out->endpoint[n - 1] == '/')
        out->endpoint[--n] = '\0';
    if (ca) {
        out->ca_pem = p->host->base64_decode(ca, NULL);
        free(ca);
        if (!out->ca_pem || !strstr(out->ca_pem, "-----BEGIN CERTIFICATE-----"))
            return p->host->fail(ctx, HOIST_E_INTERNAL,
                                 "the cluster's certificate-authority-data is not a PEM bundle");
    }
    return HOIST_OK;
}

static hoist_status scw_cluster_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                            hoist_cluster_credentials *out)
{
    scw_prov *p = prov;
    json_t *cl = NULL, *ans = NULL;
    char *base = scw_k8s_base(p, r), *path = NULL, *yaml = NULL;
    hoist_status st = scw_cluster_locate(p, ctx, r, &cl);
    if (st != HOIST_OK)
        goto cleanup;
    if (!cl) {
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "no Kapsule cluster for %s/%s", r->project,
                           r->env);
        goto cleanup;
    }
    path = hoist_kit_xasprintf("%s/clusters/%s/kubeconfig", base, scw_str(cl, "id"));
    st = scw_call(p, ctx, "GET", path, NULL, 0, &ans);
    if (st == HOIST_E_NOTFOUND)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "cluster %s has no kubeconfig (yet)",
                           scw_str(cl, "id"));
    if (st != HOIST_OK)
        goto cleanup;
    /* the content is base64 in a JSON envelope */
    const char *content = scw_str(ans, "content");
    yaml = content ? p->host->base64_decode(content, NULL) : NULL;
    if (!yaml) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "GET %s: no readable kubeconfig content", path);
        goto cleanup;
    }
    st = scw_kubeconfig_parse(p, ctx, yaml, out);
    out->expires_at = 0; /* the cluster's admin token does not expire */
cleanup:
    if (st != HOIST_OK) {
        free(out->endpoint);
        free(out->token);
        free(out->ca_pem);
        out->endpoint = out->token = out->ca_pem = NULL;
    }
    json_decref(cl);
    json_decref(ans);
    free(base);
    free(path);
    free(yaml);
    return st;
}

const hoist_cluster_ops scw_cluster_ops = {
    .struct_size = sizeof scw_cluster_ops,
    .ensure = scw_cluster_ensure,
    .observe = scw_cluster_observe,
    .destroy = scw_cluster_destroy,
    .credentials = scw_cluster_credentials,
};
