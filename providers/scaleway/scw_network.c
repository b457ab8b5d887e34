/*
 * scw_network.c - the network: a VPC (VPC API v2) and one private network
 * in it, both named hoist-<project>-<env> and tagged with the ownership tags.
 * Spec keys (environment `network:` mapping): region, subnet (an IPv4 CIDR
 * for the private network; default: Scaleway's choice).
 * Outputs: id (the VPC), vpc_id, private_network_id, subnet, region, name.
 */
#include "scw_api.h"

#include <stdlib.h>
#include <string.h>

/* The VPC and the private network as they are (either may come back NULL). */
static hoist_status scw_net_locate(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                   json_t **vpc, json_t **pn)
{
    const char *region = scw_region(p, r);
    char *name = scw_name(r, NULL, SCW_NAME_MAX_NETWORK);
    char *vpcs = hoist_kit_xasprintf("/vpc/v2/regions/%s/vpcs", region);
    char *pns = hoist_kit_xasprintf("/vpc/v2/regions/%s/private-networks", region);
    char *extra = NULL;
    json_t *tags = scw_tags(r, "network");
    hoist_status st;
    *vpc = *pn = NULL;
    st = scw_locate(p, ctx, r->recorded, "vpc_id", vpcs, "vpcs", name, tags, NULL, vpc);
    if (st != HOIST_OK || !*vpc)
        goto cleanup;
    extra = hoist_kit_xasprintf("&vpc_id=%s", scw_str(*vpc, "id"));
    st = scw_locate(p, ctx, r->recorded, "private_network_id", pns, "private_networks", name, tags,
                    extra, pn);
cleanup:
    free(name);
    free(vpcs);
    free(pns);
    free(extra);
    json_decref(tags);
    return st;
}

static void scw_net_outputs(const hoist_resource *r, scw_prov *p, json_t *vpc, json_t *pn,
                            hoist_result *out)
{
    json_t *sub = json_array_get(json_object_get(pn, "subnets"), 0);
    /* subnets are objects in VPC v2, plain strings in older answers */
    const char *cidr = json_is_string(sub) ? json_string_value(sub) : scw_str(sub, "subnet");
    out->outputs = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", scw_str(vpc, "id"), "vpc_id",
                             scw_str(vpc, "id"), "private_network_id", scw_str(pn, "id"), "region",
                             scw_region(p, r), "name", scw_str(pn, "name"));
    if (cidr)
        json_object_set_new(out->outputs, "subnet", json_string(cidr));
}

static hoist_status scw_net_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    scw_prov *p = prov;
    json_t *vpc = NULL, *pn = NULL, *body = NULL;
    char *name = scw_name(r, NULL, SCW_NAME_MAX_NETWORK), *path = NULL;
    const char *region = scw_region(p, r), *subnet = scw_str(r->spec, "subnet");
    hoist_status st = scw_net_locate(p, ctx, r, &vpc, &pn);
    if (st != HOIST_OK)
        goto cleanup;
    if (!vpc) {
        body = json_pack("{s:s,s:s,s:o}", "name", name, "project_id", p->project_id, "tags",
                         scw_tags(r, "network"));
        path = hoist_kit_xasprintf("/vpc/v2/regions/%s/vpcs", region);
        st = scw_call(p, ctx, "POST", path, body, 0, &vpc);
        if (st != HOIST_OK)
            goto cleanup;
        json_decref(body);
        free(path);
        body = NULL;
        path = NULL;
        p->host->log(ctx, HOIST_LOG_INFO, "created VPC %s (%s)", name, scw_str(vpc, "id"));
    }
    if (!pn) {
        body = json_pack("{s:s,s:s,s:o,s:s}", "name", name, "project_id", p->project_id, "tags",
                         scw_tags(r, "network"), "vpc_id", scw_str(vpc, "id"));
        if (subnet)
            json_object_set_new(body, "subnets", json_pack("[s]", subnet));
        path = hoist_kit_xasprintf("/vpc/v2/regions/%s/private-networks", region);
        st = scw_call(p, ctx, "POST", path, body, 0, &pn);
        if (st != HOIST_OK)
            goto cleanup;
        p->host->log(ctx, HOIST_LOG_INFO, "created private network %s (%s)", name,
                     scw_str(pn, "id"));
    }
    scw_net_outputs(r, p, vpc, pn, out);
cleanup:
    json_decref(vpc);
    json_decref(pn);
    json_decref(body);
    free(name);
    free(path);
    return st;
}

static hoist_status scw_net_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_result *out)
{
    scw_prov *p = prov;
    json_t *vpc = NULL, *pn = NULL;
    hoist_status st = scw_net_locate(p, ctx, r, &vpc, &pn);
    if (st == HOIST_OK && (!vpc || !pn))
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "%s not found in %s",
                           vpc ? "private network" : "VPC", scw_region(p, r));
    else if (st == HOIST_OK)
        scw_net_outputs(r, p, vpc, pn, out);
    json_decref(vpc);
    json_decref(pn);
    return st;
}

/* The private network first (the VPC refuses to go while it has one). */
static hoist_status scw_net_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_result *out)
{
    scw_prov *p = prov;
    json_t *vpc = NULL, *pn = NULL;
    char *path = NULL;
    const char *region = scw_region(p, r);
    hoist_status st = scw_net_locate(p, ctx, r, &vpc, &pn);
    if (st != HOIST_OK)
        goto cleanup;
    if (pn) {
        path = hoist_kit_xasprintf("/vpc/v2/regions/%s/private-networks/%s", region,
                                   scw_str(pn, "id"));
        /* attached resources (a cluster, a database) may still be leaving */
        st = scw_delete(p, ctx, path, pn, out, "releasing the private network");
        if (st != HOIST_OK)
            goto cleanup;
        free(path);
        path = NULL;
    }
    if (vpc) {
        path = hoist_kit_xasprintf("/vpc/v2/regions/%s/vpcs/%s", region, scw_str(vpc, "id"));
        st = scw_delete(p, ctx, path, vpc, out, "deleting the VPC");
    }
cleanup:
    json_decref(vpc);
    json_decref(pn);
    free(path);
    return st;
}

const hoist_network_ops scw_network_ops = {
    .struct_size = sizeof scw_network_ops,
    .ensure = scw_net_ensure,
    .observe = scw_net_observe,
    .destroy = scw_net_destroy,
};
