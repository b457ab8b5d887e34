/*
 * sim_scw.c - Scaleway APIs in hoist-sim: VPC v2 (VPCs, private networks),
 * Kubernetes v1 (clusters, pools, kubeconfig), Registry v1 (namespaces) and
 * RDB v1 (instances, databases, users, ACLs).  Shapes follow Scaleway's
 * public OpenAPI documents; tests/sim_prism.sh proves it.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCW_PROJECT "11111111-1111-4111-8111-111111111111"

static const char *const scw_regions[] = {"fr-par", "nl-ams", "pl-waw", NULL};
static const char *const scw_k8s_versions[] = {"1.32.3", "1.31.7", "1.30.11", NULL};

/* ------------------------------------------------------------------ conventions */

static void scw_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                      const char *resource, const char *message)
{
    json_t *j;
    if (strcmp(kind, "unauthorized") == 0) {
        j = json_pack("{s:s,s:s,s:s,s:s}", "message", "authentication is denied", "method",
                      "api_key", "reason", "invalid_argument", "type", "denied_authentication");
    } else if (strcmp(kind, "quota") == 0) {
        /* Scaleway names the quota and where the account stands */
        j = json_pack("{s:[{s:s,s:i,s:i}],s:s,s:s}", "details", "resource",
                      resource ? resource : rq->tmpl, "quota", 0, "current", 0, "message",
                      message, "type", "quotas_exceeded");
    } else if (strcmp(kind, "not_found") == 0) {
        /* Scaleway names the missing resource and its id (the last URL parameter) */
        const char *id = rq->nparams ? rq->pvals[rq->nparams - 1] : "";
        j = json_pack("{s:s,s:s,s:s,s:s}", "message", "resource is not found", "resource",
                      resource ? resource : "", "resource_id", id, "type", "not_found");
    } else if (strcmp(kind, "invalid") == 0 || strcmp(kind, "bad_request") == 0) {
        j = json_pack("{s:[{s:s,s:s,s:s}],s:s,s:s}", "details", "argument_name",
                      resource ? resource : "body", "reason",
                      strcmp(kind, "bad_request") == 0 ? "format" : "constraint", "help_message",
                      message, "message", "invalid argument(s)", "type", "invalid_arguments");
    } else {
        static const char *const types[][2] = {
            {"throttled", "too_many_requests"}, {"conflict", "conflict"},
            {"server_error", "internal_error"}, {"unavailable", "service_unavailable"},
            {"method_not_allowed", "method_not_allowed"},
        };
        const char *type = kind;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(types[i][0], kind) == 0)
                type = types[i][1];
        j = json_pack("{s:s,s:s}", "message", message, "type", type);
    }
    sim_reply_json(rs, status, j);
}

static int scw_auth(sim_req *rq, sim_resp *rs)
{
    const char *t = sim_header_in(rq, "X-Auth-Token");
    if (t && strcmp(t, sim_cfg.scw_secret) == 0)
        return 1;
    sim_fail(rq, rs, 401, "unauthorized", NULL, "authentication is denied");
    return 0;
}

static const sim_cloud scw_cloud = {
    .name = "scw", .prefixes = {"/vpc/v2/", "/k8s/v1/", "/registry/v1/", "/rdb/v1/", NULL},
    .auth = scw_auth, .error = scw_error, .faults = 1,
};

static void scw_status(json_t *body, const char *st)
{
    json_object_set_new(body, "status", json_string(st));
}

static const sim_kind scw_vpc = {"scw", "vpc", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind scw_pn = {"scw", "private_network", "private_network", NULL, NULL, NULL,
                                NULL};
static const sim_kind scw_cluster = {"scw", "k8s_cluster", "cluster", "creating", "ready",
                                     "deleting", scw_status};
static const sim_kind scw_pool = {"scw", "k8s_pool", "pool", "scaling", "ready", "deleting",
                                  scw_status};
static const sim_kind scw_ns = {"scw", "registry_namespace", "namespace", NULL, "ready",
                                "deleting", scw_status};
static const sim_kind scw_inst = {"scw", "rdb_instance", "instance", "provisioning", "ready",
                                  "deleting", scw_status};

/* ------------------------------------------------------------------ helpers */

/* The {region} of the URL, or a 400 answer and NULL. */
static const char *scw_region(sim_req *rq, sim_resp *rs)
{
    const char *r = sim_param(rq, "region");
    for (const char *const *p = scw_regions; *p; p++)
        if (strcmp(*p, r) == 0)
            return r;
    sim_fail(rq, rs, 400, "invalid", "region", "region %s is not one of fr-par, nl-ams, pl-waw", r);
    return NULL;
}

/* 400 unless the body is an object with every listed string member. */
static int scw_require(sim_req *rq, sim_resp *rs, const char *const *fields)
{
    if (!scw_region(rq, rs))
        return 0;
    if (!json_is_object(rq->json)) {
        sim_fail(rq, rs, 400, "invalid", "body", "the request body must be a JSON object");
        return 0;
    }
    for (; *fields; fields++) {
        const char *v = sim_body_str(rq, *fields);
        if (!v || !*v) {
            sim_fail(rq, rs, 400, "invalid", *fields, "%s is required", *fields);
            return 0;
        }
    }
    return 1;
}

/* The resource of kind @k named by URL parameter @param in this region, or 404. */
static sim_res *scw_find(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *param)
{
    const char *region = scw_region(rq, rs);
    if (!region)
        return NULL;
    sim_res *r = sim_res_get(k, sim_param(rq, param));
    if (!r || strcmp(r->region, region) != 0) {
        sim_fail(rq, rs, 404, "not_found", k->type, "resource is not found");
        return NULL;
    }
    return r;
}

/* {key: [page], total_count} over @k in this region (and @parent).  Scaleway pages from 1. */
static void scw_list(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *parent,
                     const char *key)
{
    const char *region = scw_region(rq, rs), *name = sim_query(rq, "name");
    const char *ps = sim_query(rq, "page_size"), *pg = sim_query(rq, "page");
    long size = ps ? strtol(ps, NULL, 10) : 50, page = pg ? strtol(pg, NULL, 10) : 1, n = 0;
    if (!region)
        return;
    if (size < 1 || size > 100)
        size = 50;
    if (page < 1)
        page = 1;
    json_t *items = json_array();
    for (sim_res *r = sim_res_first(k, parent); r; r = sim_res_next(r, k, parent)) {
        if (strcmp(r->region, region) != 0 || (name && !strstr(r->name, name)))
            continue;
        if (n >= (page - 1) * size && n < page * size)
            json_array_append(items, sim_res_render(r));
        n++;
    }
    sim_reply_json(rs, 200, json_pack("{s:o,s:I}", key, items, "total_count", (json_int_t)n));
}

static json_t *scw_tags(sim_req *rq)
{
    json_t *a = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(rq->json, "tags"), i, v)
        if (json_is_string(v)) json_array_append(a, v);
    return a;
}

static const char *scw_project(sim_req *rq)
{
    const char *p = sim_body_str(rq, "project_id");
    return p ? p : SCW_PROJECT;
}

/* Apply "name", "description" and "tags" of a PATCH body to @r. */
static void scw_patch_common(sim_req *rq, sim_res *r)
{
    char ts[32];
    const char *name = sim_body_str(rq, "name"), *desc = sim_body_str(rq, "description");
    if (name) {
        json_object_set_new(r->body, "name", json_string(name));
        free(r->name);
        r->name = hoist_xstrdup(name);
    }
    if (desc)
        json_object_set_new(r->body, "description", json_string(desc));
    if (json_is_array(json_object_get(rq->json, "tags"))) {
        json_decref(r->tags);
        r->tags = scw_tags(rq);
        json_object_set(r->body, "tags", r->tags);
    }
    json_object_set_new(r->body, "updated_at", json_string(sim_rfc3339(sim_wall_ms(), ts)));
}

/* Render-and-answer, the common tail of get/create/update/delete. */
static void scw_reply_res(sim_resp *rs, sim_res *r)
{
    sim_reply_json(rs, 200, json_deep_copy(sim_res_render(r)));
}

/* ------------------------------------------------------------------ VPC v2 */

static json_t *scw_vpc_body(const char *id, const char *name, const char *project,
                            const char *region, json_t *tags, int is_default)
{
    char ts[32];
    sim_rfc3339(sim_wall_ms(), ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b,s:s,s:s,s:i,s:b,s:b}", "id", id, "name", name,
                     "organization_id", project, "project_id", project, "region", region, "tags",
                     tags, "is_default", is_default, "created_at", ts, "updated_at", ts,
                     "private_network_count", 0, "routing_enabled", 1,
                     "custom_routes_propagation_enabled", 0);
}

static void scw_vpc_list(sim_req *rq, sim_resp *rs)
{
    scw_list(rq, rs, &scw_vpc, NULL, "vpcs");
}

static void scw_vpc_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", NULL};
    if (!scw_require(rq, rs, req))
        return;
    char *id = sim_uuid();
    json_t *tags = scw_tags(rq);
    sim_res *r = sim_res_new(&scw_vpc, id, sim_body_str(rq, "name"), sim_param(rq, "region"),
                             NULL, scw_vpc_body(id, sim_body_str(rq, "name"), scw_project(rq),
                                                sim_param(rq, "region"), tags, 0),
                             tags);
    scw_reply_res(rs, r);
    free(id);
}

static void scw_vpc_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_vpc, "vpc_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_vpc_patch(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_vpc, "vpc_id");
    if (!r)
        return;
    scw_patch_common(rq, r);
    scw_reply_res(rs, r);
}

static void scw_vpc_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_vpc, "vpc_id");
    if (!r)
        return;
    if (sim_res_first(&scw_pn, r->id)) {
        sim_fail(rq, rs, 409, "conflict", NULL, "VPC %s still has private networks", r->id);
        return;
    }
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

/* The VPC a new private network joins: the given one, else the region's default. */
static sim_res *scw_pn_vpc(sim_req *rq, sim_resp *rs, const char *region)
{
    const char *vpc_id = sim_body_str(rq, "vpc_id");
    if (vpc_id) {
        sim_res *v = sim_res_get(&scw_vpc, vpc_id);
        if (!v || strcmp(v->region, region) != 0)
            sim_fail(rq, rs, 404, "not_found", "vpc", "resource is not found");
        return v && strcmp(v->region, region) == 0 ? v : NULL;
    }
    for (sim_res *v = sim_res_first(&scw_vpc, NULL); v; v = sim_res_next(v, &scw_vpc, NULL))
        if (strcmp(v->region, region) == 0 && json_is_true(json_object_get(v->body, "is_default")))
            return v;
    /* Scaleway has a default VPC per region; create it on first need */
    char *id = sim_uuid();
    sim_res *v = sim_res_new(&scw_vpc, id, "default", region, NULL,
                             scw_vpc_body(id, "default", scw_project(rq), region, json_array(), 1),
                             NULL);
    free(id);
    return v;
}

static void scw_pn_list(sim_req *rq, sim_resp *rs)
{
    scw_list(rq, rs, &scw_pn, NULL, "private_networks");
}

static void scw_pn_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", NULL};
    static unsigned next_net = 16;
    char ts[32];
    if (!scw_require(rq, rs, req))
        return;
    const char *region = sim_param(rq, "region");
    sim_res *vpc = scw_pn_vpc(rq, rs, region);
    if (!vpc)
        return;
    char *id = sim_uuid(), *sid = sim_uuid();
    const char *want = json_string_value(json_array_get(json_object_get(rq->json, "subnets"), 0));
    char *subnet = want ? hoist_xstrdup(want) : hoist_xasprintf("172.16.%u.0/22", (next_net++ % 64) * 4);
    json_t *tags = scw_tags(rq);
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s}],s:s,s:b,s:b}", "id", id,
        "name", sim_body_str(rq, "name"), "organization_id", scw_project(rq), "project_id",
        scw_project(rq), "region", region, "tags", tags, "created_at", ts, "updated_at", ts,
        "subnets", "id", sid, "created_at", ts, "updated_at", ts, "subnet", subnet, "project_id",
        scw_project(rq), "private_network_id", id, "vpc_id", vpc->id, "vpc_id", vpc->id,
        "dhcp_enabled", 1, "default_route_propagation_enabled", 0);
    json_object_set_new(vpc->body, "private_network_count",
                        json_integer(json_integer_value(
                                         json_object_get(vpc->body, "private_network_count")) + 1));
    sim_res *r = sim_res_new(&scw_pn, id, sim_body_str(rq, "name"), region, vpc->id, body, tags);
    scw_reply_res(rs, r);
    free(id);
    free(sid);
    free(subnet);
}

static void scw_pn_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_pn, "private_network_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_pn_patch(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_pn, "private_network_id");
    if (!r)
        return;
    scw_patch_common(rq, r);
    scw_reply_res(rs, r);
}

static void scw_pn_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_pn, "private_network_id");
    if (!r)
        return;
    sim_res *vpc = sim_res_get(&scw_vpc, r->parent);
    if (vpc)
        json_object_set_new(vpc->body, "private_network_count",
                            json_integer(json_integer_value(
                                             json_object_get(vpc->body, "private_network_count")) - 1));
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

/* ------------------------------------------------------------------ Kubernetes v1 */

/* A pool from a request object, attached to @cluster; NULL with a 400 answer. */
static sim_res *scw_pool_new(sim_req *rq, sim_resp *rs, sim_res *cluster, json_t *in)
{
    char ts[32];
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *type = json_string_value(json_object_get(in, "node_type"));
    json_t *size = json_object_get(in, "size");
    if (!name || !type || !json_is_integer(size)) {
        sim_fail(rq, rs, 400, "invalid", !name ? "name" : !type ? "node_type" : "size",
                 "a pool needs a name, a node_type and a size");
        return NULL;
    }
    char *id = sim_uuid(), *zone = hoist_xasprintf("%s-1", cluster->region);
    json_t *tags = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(in, "tags"), i, v) if (json_is_string(v))
        json_array_append(tags, v);
    json_int_t n = json_integer_value(size);
    json_t *minv = json_object_get(in, "min_size"), *maxv = json_object_get(in, "max_size");
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:b,s:I,s:I,s:I,s:s,s:b,s:O,s:n,s:{},s:{s:i,s:i},s:s,"
        "s:s,s:I,s:b,s:b,s:s}",
        "id", id, "cluster_id", cluster->id, "created_at", ts, "updated_at", ts, "name", name,
        "status", "scaling", "version", json_object_get(cluster->body, "version"), "node_type",
        type, "autoscaling", json_is_true(json_object_get(in, "autoscaling")), "size", n,
        "min_size", json_is_integer(minv) ? json_integer_value(minv) : n, "max_size",
        json_is_integer(maxv) ? json_integer_value(maxv) : n, "container_runtime", "containerd",
        "autohealing", json_is_true(json_object_get(in, "autohealing")), "tags", tags,
        "placement_group_id", "kubelet_args", "upgrade_policy", "max_unavailable", 1, "max_surge",
        0, "zone", zone, "root_volume_type", "default_volume_type", "root_volume_size",
        (json_int_t)20000000000LL, "public_ip_disabled", 0, "new_images_enabled", 1, "region",
        cluster->region);
    sim_res *p = sim_res_new(&scw_pool, id, name, cluster->region, cluster->id, body, tags);
    free(id);
    free(zone);
    return p;
}

static void scw_cluster_list(sim_req *rq, sim_resp *rs)
{
    scw_list(rq, rs, &scw_cluster, NULL, "clusters");
}

static void scw_cluster_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", "version", "cni", NULL};
    char ts[32];
    size_t i;
    json_t *in;
    if (!scw_require(rq, rs, req))
        return;
    const char *version = sim_body_str(rq, "version"), *region = sim_param(rq, "region");
    const char *const *v = scw_k8s_versions;
    while (*v && strcmp(*v, version) != 0)
        v++;
    if (!*v) {
        sim_fail(rq, rs, 400, "invalid", "version", "version %s is not available (try %s)",
                 version, scw_k8s_versions[0]);
        return;
    }
    json_array_foreach(json_object_get(rq->json, "pools"), i, in)
        if (!json_string_value(json_object_get(in, "name")) ||
            !json_string_value(json_object_get(in, "node_type")) ||
            !json_is_integer(json_object_get(in, "size"))) {
            sim_fail(rq, rs, 400, "invalid", "pools", "pool %zu needs a name, a node_type and a size", i);
            return;
        }
    const char *pn = sim_body_str(rq, "private_network_id");
    const char *desc = sim_body_str(rq, "description");
    char *id = sim_uuid(), *url = hoist_xasprintf("%s/kube/%s", sim_cfg.base_url, id);
    char *dns = hoist_xasprintf("*.%s.nodes.k8s.%s.scw.cloud", id, region), *tok = sim_uuid();
    json_t *tags = scw_tags(rq);
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:{s:b,s:s,s:s,s:s,s:b,s:b,s:i,s:s,s:f,s:i},s:{s:b,s:{s:i,s:s}},s:b,s:[],s:[],"
        "s:{s:s,s:s,s:s,s:s,s:[],s:s,s:[]},s:[],s:s?,s:n,s:b,s:s,s:b}",
        "id", id, "type", "kapsule", "name", sim_body_str(rq, "name"), "status", "creating",
        "version", version, "region", region, "organization_id", scw_project(rq), "project_id",
        scw_project(rq), "tags", tags, "cni", sim_body_str(rq, "cni"), "description",
        desc ? desc : "", "cluster_url", url, "dns_wildcard", dns, "created_at", ts, "updated_at",
        ts, "autoscaler_config", "scale_down_disabled", 0, "scale_down_delay_after_add", "10m",
        "estimator", "binpacking", "expander", "random", "ignore_daemonsets_utilization", 0,
        "balance_similar_node_groups", 0, "expendable_pods_priority_cutoff", -10,
        "scale_down_unneeded_time", "10m", "scale_down_utilization_threshold", 0.5,
        "max_graceful_termination_sec", 600, "auto_upgrade", "enabled", 0, "maintenance_window",
        "start_hour", 0, "day", "any", "upgrade_available", 0, "feature_gates",
        "admission_plugins", "open_id_connect_config", "issuer_url", "", "client_id", "",
        "username_claim", "", "username_prefix", "", "groups_claim", "groups_prefix", "",
        "required_claim", "apiserver_cert_sans", "private_network_id", pn, "commitment_ends_at",
        "acl_available", 1, "iam_nodes_group_id", "", "new_images_enabled", 1);
    if (!pn)
        json_object_set_new(body, "private_network_id", json_null());
    sim_res *c = sim_res_new(&scw_cluster, id, sim_body_str(rq, "name"), region, NULL, body, tags);
    /* the cluster's Kubernetes API (sim_kube.c) serves once the cluster is ready */
    json_object_set_new(c->priv, "token", json_string(sim_kube_cluster_add(&scw_cluster, id)));
    json_array_foreach(json_object_get(rq->json, "pools"), i, in)
        scw_pool_new(rq, rs, c, in); /* validated above: cannot fail */
    scw_reply_res(rs, c);
    free(id);
    free(url);
    free(dns);
    free(tok);
}

static void scw_cluster_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_cluster, "cluster_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_cluster_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_cluster, "cluster_id");
    if (!r)
        return;
    sim_res_delete_children(&scw_pool, r->id);
    sim_kube_cluster_remove(r->id);
    sim_res_delete(r);
    scw_reply_res(rs, r);
}

/* Scaleway hands the kubeconfig as base64 in a JSON envelope. */
static void scw_kubeconfig(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_cluster, "cluster_id");
    if (!r)
        return;
    char *cad = sim_tls_kubeconfig_ca(); /* --tls */
    char *y = hoist_xasprintf(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: %s\n  cluster:\n    server: %s\n%s"
        "contexts:\n- name: admin@%s\n  context:\n    cluster: %s\n    user: %s-admin\n"
        "current-context: admin@%s\nusers:\n- name: %s-admin\n  user:\n    token: %s\n",
        r->name, json_string_value(json_object_get(r->body, "cluster_url")), cad, r->name, r->name,
        r->name, r->name, r->name, json_string_value(json_object_get(r->priv, "token")));
    char *b64 = sim_base64(y, strlen(y));
    sim_reply_json(rs, 200, json_pack("{s:s,s:s,s:s}", "name", "kubeconfig", "content_type",
                                      "application/octet-stream", "content", b64));
    free(cad);
    free(y);
    free(b64);
}

static void scw_pool_list(sim_req *rq, sim_resp *rs)
{
    sim_res *c = scw_find(rq, rs, &scw_cluster, "cluster_id");
    if (c)
        scw_list(rq, rs, &scw_pool, c->id, "pools");
}

static void scw_pool_create(sim_req *rq, sim_resp *rs)
{
    sim_res *c = scw_find(rq, rs, &scw_cluster, "cluster_id"), *p;
    if (!c)
        return;
    for (p = sim_res_first(&scw_pool, c->id); p; p = sim_res_next(p, &scw_pool, c->id))
        if (strcmp(p->name, sim_body_str(rq, "name") ? sim_body_str(rq, "name") : "") == 0) {
            sim_fail(rq, rs, 409, "conflict", NULL, "pool %s already exists in cluster %s",
                     p->name, c->id);
            return;
        }
    if ((p = scw_pool_new(rq, rs, c, rq->json)))
        scw_reply_res(rs, p);
}

static void scw_pool_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_pool, "pool_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_pool_patch(sim_req *rq, sim_resp *rs)
{
    static const char *const keys[] = {"autoscaling", "min_size", "max_size", "autohealing",
                                       "kubelet_args", NULL};
    sim_res *r = scw_find(rq, rs, &scw_pool, "pool_id");
    if (!r)
        return;
    json_t *size = json_object_get(rq->json, "size");
    if (json_is_integer(size)) {
        json_object_set(r->body, "size", size);
        sim_res_restart(r); /* resizing: back to "scaling" for the pool delay */
    }
    for (const char *const *k = keys; *k; k++)
        if (json_object_get(rq->json, *k) && !json_is_null(json_object_get(rq->json, *k)))
            json_object_set(r->body, *k, json_object_get(rq->json, *k));
    scw_patch_common(rq, r);
    scw_reply_res(rs, r);
}

static void scw_pool_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_pool, "pool_id");
    if (!r)
        return;
    sim_res_delete(r);
    scw_reply_res(rs, r);
}

/* ------------------------------------------------------------------ Registry v1 */

static void scw_ns_list(sim_req *rq, sim_resp *rs)
{
    scw_list(rq, rs, &scw_ns, NULL, "namespaces");
}

static void scw_ns_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", NULL};
    char ts[32];
    if (!scw_require(rq, rs, req))
        return;
    const char *name = sim_body_str(rq, "name"), *region = sim_param(rq, "region");
    const char *desc = sim_body_str(rq, "description");
    for (sim_res *r = sim_res_first(&scw_ns, NULL); r; r = sim_res_next(r, &scw_ns, NULL))
        if (strcmp(r->name, name) == 0 && !r->delete_ms) {
            sim_fail(rq, rs, 409, "conflict", NULL, "namespace %s already exists", name);
            return;
        }
    /* with a registry behind it (sim_registry.c), the endpoint is really there */
    char *id = sim_uuid(), *ep = sim_registry_host()
                                     ? hoist_xasprintf("%s/%s", sim_registry_host(), name)
                                     : hoist_xasprintf("rg.%s.scw.cloud/%s", region, name);
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:s,s:i,s:s}", "id",
                             id, "name", name, "description", desc ? desc : "", "organization_id",
                             scw_project(rq), "project_id", scw_project(rq), "status", "ready",
                             "status_message", "", "endpoint", ep, "is_public",
                             json_is_true(json_object_get(rq->json, "is_public")), "size", 0,
                             "created_at", ts, "updated_at", ts, "image_count", 0, "region", region);
    scw_reply_res(rs, sim_res_new(&scw_ns, id, name, region, NULL, body, NULL));
    free(id);
    free(ep);
}

static void scw_ns_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_ns, "namespace_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_ns_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_ns, "namespace_id");
    if (!r)
        return;
    sim_res_delete(r);
    scw_reply_res(rs, r);
}

/* ------------------------------------------------------------------ RDB v1 */

static void scw_inst_list(sim_req *rq, sim_resp *rs)
{
    scw_list(rq, rs, &scw_inst, NULL, "instances");
}

/*
 * init_endpoints with a private_network: a second endpoint on that network,
 * its address (host .5) taken from the network's subnet as IPAM would.
 */
static void scw_inst_private_endpoint(sim_req *rq, json_t *body)
{
    size_t i;
    json_t *spec;
    json_array_foreach(json_object_get(rq->json, "init_endpoints"), i, spec) {
        json_t *pn = json_object_get(spec, "private_network");
        const char *pn_id = json_string_value(json_object_get(pn, "private_network_id"));
        sim_res *net = pn_id ? sim_res_get(&scw_pn, pn_id) : NULL;
        if (!net)
            continue;
        const char *subnet = json_string_value(json_object_get(
            json_array_get(json_object_get(net->body, "subnets"), 0), "subnet"));
        unsigned a = 172, b = 16, c = 0;
        if (subnet)
            sscanf(subnet, "%u.%u.%u.", &a, &b, &c);
        char *ip = hoist_xasprintf("%u.%u.%u.5", a, b, c), *cidr = hoist_xasprintf("%s/22", ip);
        char *eid = sim_uuid(), *zone = hoist_xasprintf("%s-1", net->region);
        json_array_append_new(
            json_object_get(body, "endpoints"),
            json_pack("{s:s,s:s,s:i,s:n,s:{s:s,s:s,s:s,s:s}}", "id", eid, "ip", ip, "port", 5432,
                      "name", "private_network", "private_network_id", pn_id, "service_ip", cidr,
                      "zone", zone, "provisioning_mode", "ipam"));
        free(ip);
        free(cidr);
        free(eid);
        free(zone);
    }
}

static void scw_inst_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"engine", "user_name", "password", "node_type", NULL};
    char ts[32];
    if (!scw_require(rq, rs, req))
        return;
    const char *region = sim_param(rq, "region"), *name = sim_body_str(rq, "name");
    const char *user = sim_body_str(rq, "user_name");
    char *id = sim_uuid(), *eid = sim_uuid(), *gen = NULL;
    if (!name)
        name = gen = hoist_xasprintf("rdb-%.8s", id);
    json_t *tags = scw_tags(rq);
    json_t *ep = json_pack("{s:s,s:s,s:i,s:n,s:n,s:n,s:n}", "id", eid, "ip", "192.0.2.10", "port",
                           5432, "name", "private_network", "load_balancer", "hostname");
    json_object_set_new(ep, "load_balancer", json_object());
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:{s:s,s:I,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:O,s:O,s:[],s:{s:i,s:i,s:b,s:n},"
        "s:b,s:[],s:s,s:[],s:[O],s:{s:i,s:n},s:b,s:[],s:{s:b}}",
        "created_at", ts, "volume", "type", "sbs_5k", "size", (json_int_t)10000000000LL, "class",
        "sbs", "region", region, "id", id, "name", name, "organization_id", scw_project(rq),
        "project_id", scw_project(rq), "status", "provisioning", "engine",
        sim_body_str(rq, "engine"), "upgradable_version", "endpoint", ep, "tags", tags,
        "settings", "backup_schedule", "frequency", 24, "retention", 7, "disabled",
        json_is_true(json_object_get(rq->json, "disable_backup")), "next_run_at", "is_ha_cluster",
        json_is_true(json_object_get(rq->json, "is_ha_cluster")), "read_replicas", "node_type",
        sim_body_str(rq, "node_type"), "init_settings", "endpoints", ep, "logs_policy",
        "max_age_retention", 30, "total_disk_retention", "backup_same_region", 0, "maintenances",
        "encryption", "enabled", 0);
    json_decref(ep);
    scw_inst_private_endpoint(rq, body);
    sim_res *r = sim_res_new(&scw_inst, id, name, region, NULL, body, tags);
    json_object_set_new(r->priv, "users", json_pack("[{s:s,s:b}]", "name", user, "is_admin", 1));
    json_object_set_new(r->priv, "databases",
                        json_pack("[{s:s,s:s,s:b,s:i}]", "name", "rdb", "owner", user, "managed",
                                  1, "size", 0));
    json_object_set_new(r->priv, "rules", json_array());
    scw_reply_res(rs, r);
    free(id);
    free(eid);
    free(gen);
}

static void scw_inst_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (r)
        scw_reply_res(rs, r);
}

static void scw_inst_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (!r)
        return;
    sim_res_delete(r);
    scw_reply_res(rs, r);
}

/* {key: priv[key], total_count} for an instance's users, databases or rules. */
static void scw_inst_members(sim_req *rq, sim_resp *rs, const char *key)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (!r)
        return;
    json_t *a = json_object_get(r->priv, key);
    sim_reply_json(rs, 200, json_pack("{s:O,s:I}", key, a, "total_count",
                                      (json_int_t)json_array_size(a)));
}

static int scw_name_index(json_t *a, const char *name, const char *field)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *n = json_string_value(json_object_get(v, field));
        if (n && strcmp(n, name) == 0)
            return (int)i;
    }
    return -1;
}

/* POST users/databases: @fields are the member's shape; the rest is shared. */
static void scw_member_create(sim_req *rq, sim_resp *rs, const char *key, const char *type)
{
    static const char *const req[] = {"name", NULL};
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (!r || !scw_require(rq, rs, req))
        return;
    const char *name = sim_body_str(rq, "name");
    json_t *a = json_object_get(r->priv, key), *m;
    if (scw_name_index(a, name, "name") >= 0) {
        sim_fail(rq, rs, 409, "conflict", NULL, "%s %s already exists", type, name);
        return;
    }
    if (strcmp(key, "users") == 0)
        m = json_pack("{s:s,s:b}", "name", name, "is_admin",
                      json_is_true(json_object_get(rq->json, "is_admin")));
    else
        m = json_pack("{s:s,s:s,s:b,s:i}", "name", name, "owner", "", "managed", 1, "size", 0);
    json_array_append(a, m);
    char *cname = hoist_xasprintf("%s/%s", r->name, name);
    sim_creation_record("scw", type, cname);
    free(cname);
    sim_reply_json(rs, 200, m);
}

static void scw_member_delete(sim_req *rq, sim_resp *rs, const char *key, const char *type)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (!r)
        return;
    json_t *a = json_object_get(r->priv, key);
    int idx = scw_name_index(a, sim_param(rq, "name"), "name");
    if (idx < 0) {
        sim_fail(rq, rs, 404, "not_found", type, "resource is not found");
        return;
    }
    json_array_remove(a, (size_t)idx);
    sim_reply_json(rs, 204, NULL);
}

static void scw_users_list(sim_req *rq, sim_resp *rs) { scw_inst_members(rq, rs, "users"); }
static void scw_users_create(sim_req *rq, sim_resp *rs) { scw_member_create(rq, rs, "users", "rdb_user"); }
static void scw_users_delete(sim_req *rq, sim_resp *rs) { scw_member_delete(rq, rs, "users", "rdb_user"); }
static void scw_dbs_list(sim_req *rq, sim_resp *rs) { scw_inst_members(rq, rs, "databases"); }
static void scw_dbs_create(sim_req *rq, sim_resp *rs) { scw_member_create(rq, rs, "databases", "rdb_database"); }
static void scw_dbs_delete(sim_req *rq, sim_resp *rs) { scw_member_delete(rq, rs, "databases", "rdb_database"); }
static void scw_acl_list(sim_req *rq, sim_resp *rs) { scw_inst_members(rq, rs, "rules"); }

/* Privileges: one entry per (database, user); GET filters by both names. */
static void scw_priv_list(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    const char *db = sim_query(rq, "database_name"), *user = sim_query(rq, "user_name");
    json_t *out = json_array(), *v;
    size_t i;
    if (!r) {
        json_decref(out);
        return;
    }
    json_array_foreach(json_object_get(r->priv, "privileges"), i, v) {
        if ((db && strcmp(db, json_string_value(json_object_get(v, "database_name")))) ||
            (user && strcmp(user, json_string_value(json_object_get(v, "user_name")))))
            continue;
        json_array_append(out, v);
    }
    sim_reply_json(rs, 200, json_pack("{s:o,s:I}", "privileges", out, "total_count",
                                      (json_int_t)json_array_size(out)));
}

static void scw_priv_set(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"database_name", "user_name", "permission", NULL};
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    if (!r || !scw_require(rq, rs, req))
        return;
    const char *db = sim_body_str(rq, "database_name"), *user = sim_body_str(rq, "user_name");
    if (scw_name_index(json_object_get(r->priv, "databases"), db, "name") < 0 ||
        scw_name_index(json_object_get(r->priv, "users"), user, "name") < 0) {
        sim_fail(rq, rs, 404, "not_found", "rdb_privilege", "resource is not found");
        return;
    }
    json_t *a = json_object_get(r->priv, "privileges"), *v;
    if (!a) {
        a = json_array();
        json_object_set_new(r->priv, "privileges", a);
    }
    size_t i;
    json_t *p = json_pack("{s:s,s:s,s:s}", "permission", sim_body_str(rq, "permission"),
                          "database_name", db, "user_name", user);
    json_array_foreach(a, i, v) if (!strcmp(db, json_string_value(json_object_get(v, "database_name"))) &&
                                    !strcmp(user, json_string_value(json_object_get(v, "user_name")))) {
        json_array_remove(a, i);
        break;
    }
    json_array_append(a, p);
    sim_reply_json(rs, 200, p);
}

/* The versions a new cluster may run, newest first. */
static void scw_versions(sim_req *rq, sim_resp *rs)
{
    const char *region = scw_region(rq, rs);
    if (!region)
        return;
    json_t *a = json_array();
    for (const char *const *v = scw_k8s_versions; *v; v++)
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:[s,s],s:[s],s:[],s:[],s:{}}", "name", *v, "label", *v,
                         "region", region, "available_cnis", "cilium", "calico",
                         "available_container_runtimes", "containerd", "available_feature_gates",
                         "available_admission_plugins", "available_kubelet_args"));
    sim_reply_json(rs, 200, json_pack("{s:o}", "versions", a));
}

/*
 * ACLs: POST adds rules, PUT replaces them all, DELETE removes by IP; each
 * answers the rules it touched (PUT: the new set), as Scaleway does.
 */
static void scw_acl_change(sim_req *rq, sim_resp *rs)
{
    sim_res *r = scw_find(rq, rs, &scw_inst, "instance_id");
    json_t *in, *v, *touched;
    size_t i;
    if (!r)
        return;
    json_t *rules = json_object_get(r->priv, "rules");
    int del = strcmp(rq->method, "DELETE") == 0;
    in = json_object_get(rq->json, del ? "acl_rule_ips" : "rules");
    if (!json_is_array(in)) {
        sim_fail(rq, rs, 400, "invalid", del ? "acl_rule_ips" : "rules", "an array is required");
        return;
    }
    touched = json_array();
    if (strcmp(rq->method, "PUT") == 0)
        json_array_clear(rules);
    json_array_foreach(in, i, v) {
        const char *ip = del ? json_string_value(v) : json_string_value(json_object_get(v, "ip"));
        if (!ip) {
            sim_fail(rq, rs, 400, "invalid", "ip", "rule %zu has no ip", i);
            json_decref(touched);
            return;
        }
        int idx = scw_name_index(rules, ip, "ip");
        if (del) {
            if (idx >= 0) {
                json_array_append(touched, json_array_get(rules, (size_t)idx));
                json_array_remove(rules, (size_t)idx);
            }
            continue;
        }
        const char *desc = json_string_value(json_object_get(v, "description"));
        json_t *rule = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "ip", ip, "port", 5432, "protocol",
                                 "tcp", "direction", "inbound", "action", "allow", "description",
                                 desc ? desc : "");
        if (idx >= 0)
            json_array_set(rules, (size_t)idx, rule);
        else
            json_array_append(rules, rule);
        json_array_append_new(touched, rule);
    }
    sim_reply_json(rs, 200, json_pack("{s:o}", "rules", touched));
}

/* ------------------------------------------------------------------ registration */

void sim_scw_register(void)
{
    const sim_cloud *c = &scw_cloud;
    static const sim_kind *const kinds[] = {&scw_vpc, &scw_pn, &scw_cluster, &scw_pool, &scw_ns,
                                            &scw_inst};
    sim_cloud_add(c);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        sim_kind_add(kinds[i]);

#define VPC "/vpc/v2/regions/{region}"
    sim_route(c, "GET", VPC "/vpcs", scw_vpc_list, 0);
    sim_route(c, "POST", VPC "/vpcs", scw_vpc_create, 1);
    sim_route(c, "GET", VPC "/vpcs/{vpc_id}", scw_vpc_get, 0);
    sim_route(c, "PATCH", VPC "/vpcs/{vpc_id}", scw_vpc_patch, 1);
    sim_route(c, "DELETE", VPC "/vpcs/{vpc_id}", scw_vpc_delete, 1);
    sim_route(c, "GET", VPC "/private-networks", scw_pn_list, 0);
    sim_route(c, "POST", VPC "/private-networks", scw_pn_create, 1);
    sim_route(c, "GET", VPC "/private-networks/{private_network_id}", scw_pn_get, 0);
    sim_route(c, "PATCH", VPC "/private-networks/{private_network_id}", scw_pn_patch, 1);
    sim_route(c, "DELETE", VPC "/private-networks/{private_network_id}", scw_pn_delete, 1);
#undef VPC
#define K8S "/k8s/v1/regions/{region}"
    sim_route(c, "GET", K8S "/versions", scw_versions, 0);
    sim_route(c, "GET", K8S "/clusters", scw_cluster_list, 0);
    sim_route(c, "POST", K8S "/clusters", scw_cluster_create, 1);
    sim_route(c, "GET", K8S "/clusters/{cluster_id}", scw_cluster_get, 0);
    sim_route(c, "DELETE", K8S "/clusters/{cluster_id}", scw_cluster_delete, 1);
    sim_route(c, "GET", K8S "/clusters/{cluster_id}/kubeconfig", scw_kubeconfig, 0);
    sim_route(c, "GET", K8S "/clusters/{cluster_id}/pools", scw_pool_list, 0);
    sim_route(c, "POST", K8S "/clusters/{cluster_id}/pools", scw_pool_create, 1);
    sim_route(c, "GET", K8S "/pools/{pool_id}", scw_pool_get, 0);
    sim_route(c, "PATCH", K8S "/pools/{pool_id}", scw_pool_patch, 1);
    sim_route(c, "DELETE", K8S "/pools/{pool_id}", scw_pool_delete, 1);
#undef K8S
#define REG "/registry/v1/regions/{region}"
    sim_route(c, "GET", REG "/namespaces", scw_ns_list, 0);
    sim_route(c, "POST", REG "/namespaces", scw_ns_create, 1);
    sim_route(c, "GET", REG "/namespaces/{namespace_id}", scw_ns_get, 0);
    sim_route(c, "DELETE", REG "/namespaces/{namespace_id}", scw_ns_delete, 1);
#undef REG
#define RDB "/rdb/v1/regions/{region}/instances"
    sim_route(c, "GET", RDB, scw_inst_list, 0);
    sim_route(c, "POST", RDB, scw_inst_create, 1);
    sim_route(c, "GET", RDB "/{instance_id}", scw_inst_get, 0);
    sim_route(c, "DELETE", RDB "/{instance_id}", scw_inst_delete, 1);
    sim_route(c, "GET", RDB "/{instance_id}/databases", scw_dbs_list, 0);
    sim_route(c, "POST", RDB "/{instance_id}/databases", scw_dbs_create, 1);
    sim_route(c, "DELETE", RDB "/{instance_id}/databases/{name}", scw_dbs_delete, 1);
    sim_route(c, "GET", RDB "/{instance_id}/users", scw_users_list, 0);
    sim_route(c, "POST", RDB "/{instance_id}/users", scw_users_create, 1);
    sim_route(c, "DELETE", RDB "/{instance_id}/users/{name}", scw_users_delete, 1);
    sim_route(c, "GET", RDB "/{instance_id}/privileges", scw_priv_list, 0);
    sim_route(c, "PUT", RDB "/{instance_id}/privileges", scw_priv_set, 1);
    sim_route(c, "GET", RDB "/{instance_id}/acls", scw_acl_list, 0);
    sim_route(c, "POST", RDB "/{instance_id}/acls", scw_acl_change, 1);
    sim_route(c, "PUT", RDB "/{instance_id}/acls", scw_acl_change, 1);
    sim_route(c, "DELETE", RDB "/{instance_id}/acls", scw_acl_change, 1);
#undef RDB
}
