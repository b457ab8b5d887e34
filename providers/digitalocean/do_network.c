/*
 * do_network.c - the network is a DigitalOcean VPC in the environment's
 * region.  VPCs carry no tags, so the VPC is found by its deterministic name
 * "<project>-<env>-network" (names are unique per account) after the
 * recorded id.  The IP range comes from settings ip_range or is derived from
 * project and environment in 10.100.0.0-10.199.255.255 (/20), stepping past
 * ranges other VPCs of the account already use.
 */
#include "do.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: a stable spread of project/env over the candidate ranges. */
static unsigned do_hash(const char *a, const char *b)
{
    unsigned h = 2166136261u;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *s = b; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int do_cidr(const char *s, unsigned *net, unsigned *mask)
{
    unsigned a, b, c, d, len;
    if (!s || sscanf(s, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &len) != 5 || len > 32)
        return 0;
    *mask = len ? 0xffffffffu << (32 - len) : 0;
    *net = ((a << 24) | (b << 16) | (c << 8) | d) & *mask;
    return 1;
}

/* 1 if @cand (a /20 at @net) overlaps a VPC range in @vpcs. */
static int do_overlaps(json_t *vpcs, unsigned net)
{
    size_t i;
    json_t *v;
    json_array_foreach(vpcs, i, v) {
        unsigned n2, m2;
        if (!do_cidr(json_string_value(json_object_get(v, "ip_range")), &n2, &m2))
            continue;
        unsigned m = m2 < 0xfffff000u ? m2 : 0xfffff000u; /* the wider of the two masks */
        if ((net & m) == (n2 & m))
            return 1;
    }
    return 0;
}

/* 100 second octets x 16 /20 blocks = 1600 candidates, from the hash on. */
static char *do_pick_range(const hoist_resource *r, json_t *vpcs)
{
    unsigned start = do_hash(r->project, r->env) % 1600u;
    for (unsigned k = 0; k < 1600u; k++) {
        unsigned c = (start + k) % 1600u;
        unsigned net = (10u << 24) | ((100u + c / 16u) << 16) | ((c % 16u) * 16u << 8);
        if (!do_overlaps(vpcs, net))
            return hoist_kit_xasprintf("10.%u.%u.0/20", 100u + c / 16u, (c % 16u) * 16u);
    }
    return NULL;
}

static json_t *do_vpc_outputs(json_t *v)
{
    return json_pack("{s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(v, "id"), "name",
                     json_object_get(v, "name"), "region", json_object_get(v, "region"),
                     "ip_range", json_object_get(v, "ip_range"), "urn", json_object_get(v, "urn"));
}

/*
 * Find the VPC: by recorded id (if it still carries our name), else by name
 * in the full list.  *vpc (new ref) or NULL when absent; *all (if asked)
 * gets the list when it was fetched.
 */
static hoist_status do_vpc_find(do_prov *p, hoist_ctx *ctx, const hoist_resource *r, json_t **vpc,
                                json_t **all)
{
    char *name = do_name(r, r->name, DO_NAME_MAX_VPC);
    const char *id = do_recorded_id(r);
    hoist_status st = HOIST_OK;
    json_t *j = NULL, *list = NULL;
    *vpc = NULL;
    if (all)
        *all = NULL;
    if (id && !all) {
        char *path = hoist_kit_xasprintf("/v2/vpcs/%s", id);
        st = do_req(p, ctx, "GET", path, NULL, 0, DO_Q404, NULL, &j);
        free(path);
        if (st == HOIST_OK) {
            json_t *v = json_object_get(j, "vpc");
            if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", name)) {
                *vpc = json_incref(v);
                goto cleanup;
            }
        } else if (st != HOIST_E_NOTFOUND)
            goto cleanup;
    }
    st = do_list_all(p, ctx, "/v2/vpcs", "vpcs", &list);
    if (st != HOIST_OK)
        goto cleanup;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", name)) {
            *vpc = json_incref(v);
            break;
        }
    if (all) {
        *all = list;
        list = NULL;
    }
cleanup:
    json_decref(j);
    json_decref(list);
    free(name);
    return st;
}

static hoist_status do_network_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_result *out)
{
    do_prov *p = vp;
    json_t *vpc = NULL, *all = NULL, *body = NULL, *j = NULL;
    char *name = NULL, *range = NULL;
    const char *region = do_region(p, r);
    /* With a recorded id, a GET is enough; the list is needed only to create. */
    hoist_status st = do_vpc_find(p, ctx, r, &vpc, NULL);
    if (st != HOIST_OK || vpc)
        goto found;
    st = do_vpc_find(p, ctx, r, &vpc, &all);
    if (st != HOIST_OK || vpc)
        goto found;
    name = do_name(r, r->name, DO_NAME_MAX_VPC);
    const char *want = json_string_value(json_object_get(r->spec, "ip_range"));
    range = want          ? hoist_kit_xstrdup(want)
            : p->ip_range ? hoist_kit_xstrdup(p->ip_range)
                          : do_pick_range(r, all);
    if (!range) {
        st = p->host->fail(ctx, HOIST_E_QUOTA,
                           "no free /20 left in 10.100.0.0-10.199.255.255 for the VPC; set "
                           "`ip_range:` in the environment");
        goto cleanup;
    }
    char *desc = hoist_kit_xasprintf("hoist project %s, environment %s", r->project, r->env);
    body = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "region", region, "ip_range", range,
                     "description", desc);
    free(desc);
    p->host->log(ctx, HOIST_LOG_INFO, "creating VPC %s (%s) in %s", name, range, region);
    /* VPC names are unique per account: a repeated POST is refused, never doubled. */
    st = do_req(p, ctx, "POST", "/v2/vpcs", body, HOIST_HTTP_IDEMPOTENT, DO_Q422, NULL, &j);
    if (st == HOIST_OK) {
        vpc = json_incref(json_object_get(j, "vpc"));
    } else if (st == HOIST_E_INVALID) {
        /* perhaps our own earlier attempt whose answer was lost: look again */
        hoist_status st2 = do_vpc_find(p, ctx, r, &vpc, NULL);
        st = st2 != HOIST_OK ? st2 : vpc ? HOIST_OK : do_report(p, ctx, st, "POST /v2/vpcs", j);
    }
found:
    if (st == HOIST_OK && vpc) {
        const char *have = json_string_value(json_object_get(vpc, "region"));
        if (have && strcmp(have, region) != 0) {
            st = p->host->fail(ctx, HOIST_E_CONFLICT,
                               "VPC %s is in region %s, but the environment wants %s; destroy "
                               "the environment to move it",
                               json_string_value(json_object_get(vpc, "name")), have, region);
            goto cleanup;
        }
        out->outputs = do_vpc_outputs(vpc);
    }
cleanup:
    json_decref(vpc);
    json_decref(all);
    json_decref(body);
    json_decref(j);
    free(name);
    free(range);
    return st;
}

static hoist_status do_network_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    json_t *vpc = NULL;
    hoist_status st = do_vpc_find(vp, ctx, r, &vpc, NULL);
    if (st == HOIST_OK && !vpc)
        st = HOIST_E_NOTFOUND;
    if (vpc)
        out->outputs = do_vpc_outputs(vpc);
    json_decref(vpc);
    return st;
}

static hoist_status do_network_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    do_prov *p = vp;
    json_t *vpc = NULL;
    hoist_status st = do_vpc_find(p, ctx, r, &vpc, NULL);
    if (st != HOIST_OK || !vpc)
        goto cleanup;
    char *path = hoist_kit_xasprintf("/v2/vpcs/%s", json_string_value(json_object_get(vpc, "id")));
    st = do_req(p, ctx, "DELETE", path, NULL, 0, DO_Q404 | DO_Q409, NULL, NULL);
    free(path);
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    else if (st == HOIST_E_CONFLICT) {
        /* members (a cluster being deleted) are still in it: wait for them */
        st = do_pending(p, ctx, out, "waiting for members to leave");
    } else if (st == HOIST_OK) {
        json_t *gone = NULL;
        hoist_resource again = *r;
        again.recorded = NULL;
        st = do_vpc_find(p, ctx, &again, &gone, NULL);
        if (st == HOIST_OK && gone)
            st = do_pending(p, ctx, out, "deleting");
        json_decref(gone);
    }
cleanup:
    json_decref(vpc);
    return st;
}

const hoist_network_ops do_network_ops = {
    .struct_size = sizeof do_network_ops,
    .ensure = do_network_ensure,
    .observe = do_network_observe,
    .destroy = do_network_destroy,
};
