/*
 * tmpl_cluster.c - managed Kubernetes clusters.
 *
 * Shows: reading what a resource needs (the network's id arrives in
 * r->needs, keyed by kind then name), generating a credential with
 * host->random_secret, and filling hoist_cluster_credentials with strings
 * the core frees.
 */
#include "tmpl.h"

#include <stdlib.h>
#include <string.h>

static void tmpl_cluster_describe(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, hoist_result *out)
{
    /* The token lives in the cloud; a new process reading it back must
     * register it again before anything could print it. */
    p->host->secret(ctx, json_string_value(json_object_get(obj, "token")));
    out->outputs = json_pack("{s:O,s:O,s:O}", "id", json_object_get(obj, "id"), "version",
                             json_object_get(obj, "version"), "network",
                             json_object_get(obj, "network"));
}

static hoist_status tmpl_cluster_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    tmpl_prov *p = prov;
    /* needs: {"network": {"<name>": {outputs}}}; take the first network. */
    const char *key;
    json_t *net, *nets = json_object_get(r->needs, "network");
    const char *network = "";
    json_object_foreach(nets, key, net)
        if (json_string_value(json_object_get(net, "id")))
            network = json_string_value(json_object_get(net, "id"));
    const char *version = json_string_value(json_object_get(r->spec, "version"));
    /* random_secret registers the token as a secret at once. */
    char token[33];
    if (p->host->random_secret(ctx, token, sizeof token) != HOIST_OK)
        return HOIST_E_INTERNAL; /* random_secret already reported why */
    json_t *attrs = json_pack("{s:s,s:s,s:s}", "version", version ? version : "1.30", "network",
                              network, "token", token);
    hoist_status st = tmpl_ensure(p, ctx, "cluster", r, attrs, tmpl_cluster_describe, out);
    json_decref(attrs);
    return st;
}

static hoist_status tmpl_cluster_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    return tmpl_observe(prov, ctx, "cluster", r, tmpl_cluster_describe, out);
}

static hoist_status tmpl_cluster_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    return tmpl_destroy(prov, ctx, "cluster", r, out);
}

/*
 * credentials: the API endpoint (https://, no trailing slash), the CA that
 * signs it (NULL: the system's), and a bearer token.  Every string is
 * malloc'd here and freed by the core.  This cloud has no real API server;
 * the endpoint is where one would listen.
 */
static hoist_status tmpl_cluster_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                             hoist_cluster_credentials *out)
{
    tmpl_prov *p = prov;
    json_t *obj = NULL;
    hoist_status st = tmpl_ready_object(p, ctx, "cluster", r, &obj);
    if (st != HOIST_OK)
        return st;
    const char *token = json_string_value(json_object_get(obj, "token"));
    p->host->secret(ctx, token);
    out->endpoint = hoist_kit_xstrdup("https://127.0.0.1:6443");
    out->token = hoist_kit_xstrdup(token ? token : "");
    out->expires_at = 0; /* this token does not expire */
    json_decref(obj);
    return st;
}

const hoist_cluster_ops tmpl_cluster_ops = {
    .struct_size = sizeof tmpl_cluster_ops,
    .ensure = tmpl_cluster_ensure,
    .observe = tmpl_cluster_observe,
    .destroy = tmpl_cluster_destroy,
    .credentials = tmpl_cluster_credentials,
};
