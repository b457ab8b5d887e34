/*
 * tmpl_network.c - networks (a VPC with its subnets in a real cloud).
 *
 * The smallest area: it shows the shape every kind follows.  Each operation
 * validates what it needs from r->spec, then hands the find/create/poll
 * work to the shared reconciliation in tmpl_api.c, and describe() decides
 * what the core and the user get to see.
 */
#include "tmpl.h"

#include <string.h>

/* outputs: facts others may read.  Everything here is printed by
 * `hoist status`, so no secret belongs in it. */
static void tmpl_network_describe(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, hoist_result *out)
{
    (void)p;
    (void)ctx;
    out->outputs = json_pack("{s:O,s:O}", "id", json_object_get(obj, "id"), "cidr",
                             json_object_get(obj, "cidr"));
}

static hoist_status tmpl_network_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    tmpl_prov *p = prov;
    /* Validate before touching the cloud, and say exactly how to fix it. */
    json_t *cidr = json_object_get(r->spec, "cidr");
    if (cidr && (!json_is_string(cidr) || !strchr(json_string_value(cidr), '/')))
        return p->host->fail(ctx, HOIST_E_INVALID, "network %s: cidr must look like 10.0.0.0/16",
                             r->name);
    json_t *attrs = json_pack("{s:s}", "cidr", cidr ? json_string_value(cidr) : "10.0.0.0/16");
    hoist_status st = tmpl_ensure(p, ctx, "network", r, attrs, tmpl_network_describe, out);
    json_decref(attrs);
    return st;
}

static hoist_status tmpl_network_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    return tmpl_observe(prov, ctx, "network", r, tmpl_network_describe, out);
}

static hoist_status tmpl_network_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    return tmpl_destroy(prov, ctx, "network", r, out);
}

const hoist_network_ops tmpl_network_ops = {
    .struct_size = sizeof tmpl_network_ops,
    .ensure = tmpl_network_ensure,
    .observe = tmpl_network_observe,
    .destroy = tmpl_network_destroy,
};
