/*
 * sim_do.c - DigitalOcean API v2 in hoist-sim: account, VPCs, Kubernetes
 * (clusters, node pools, kubeconfig, credentials, options, registry
 * integration), Container Registry and managed databases (dbs, users,
 * firewall).  Shapes follow DigitalOcean's public OpenAPI document; the
 * Prism test (tests/sim_prism.sh) proves it.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define DO_PER_PAGE_DEFAULT 20
#define DO_PER_PAGE_MAX 200
#define DO_RATE_LIMIT 5000

static const char *const do_regions[] = {"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1",
                                         "fra1", "tor1", "blr1", "syd1", "atl1", NULL};
static const char *const do_k8s_versions[][2] = {{"1.33.1-do.0", "1.33.1"},
                                                 {"1.32.5-do.0", "1.32.5"},
                                                 {"1.31.9-do.0", "1.31.9"}};

/* ------------------------------------------------------------------ cloud conventions */

static long long do_remaining = DO_RATE_LIMIT;

static void do_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                     const char *resource, const char *message)
{
    static const char *const ids[][2] = {
        {"not_found", "not_found"},       {"invalid", "unprocessable_entity"},
        {"unauthorized", "unauthorized"}, {"throttled", "too_many_requests"},
        {"server_error", "server_error"}, {"unavailable", "service_unavailable"},
        {"conflict", "conflict"},         {"bad_request", "bad_request"},
        {"method_not_allowed", "method_not_allowed"}, {"quota", "unprocessable_entity"},
    };
    const char *id = kind;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(ids[i][0], kind) == 0)
            id = ids[i][1];
    char *rid = sim_uuid();
    sim_reply_json(rs, status,
                   json_pack("{s:s,s:s,s:s}", "id", id, "message", message, "request_id", rid));
    free(rid);
}

static int do_auth(sim_req *rq, sim_resp *rs)
{
    const char *h = sim_header_in(rq, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, sim_cfg.do_token) == 0)
        return 1;
    sim_fail(rq, rs, 401, "unauthorized", NULL, "Unable to authenticate you");
    return 0;
}

/* Every DigitalOcean answer carries its rate-limit window. */
static void do_decorate(sim_req *rq, sim_resp *rs)
{
    long long now_s = sim_wall_ms() / 1000;
    if (rs->status != 429 && do_remaining > 0)
        do_remaining--;
    sim_reply_header(rs, "ratelimit-limit", "%d", DO_RATE_LIMIT);
    /* A 429 says the window is spent; an injected one (throttle fault) does
     * not really spend it.  A spent window ends when the 429's Retry-After
     * (1 s) says: claiming a minute made clients honouring ratelimit-reset
     * (as DigitalOcean documents) stall 60 s after every simulated throttle. */
    int spent = rs->status == 429 || do_remaining == 0;
    sim_reply_header(rs, "ratelimit-remaining", "%lld", rs->status == 429 ? 0 : do_remaining);
    sim_reply_header(rs, "ratelimit-reset", "%lld", now_s + (spent ? 1 : 60));
    if (do_remaining == 0 && rs->status != 429)
        do_remaining = DO_RATE_LIMIT; /* a new window: the simulator never blocks for real */
}

static const sim_cloud do_cloud = {
    .name = "do", .prefixes = {"/v2/", NULL}, .auth = do_auth, .error = do_error,
    .decorate = do_decorate, .faults = 1,
};

/* ------------------------------------------------------------------ kinds */

static void do_cluster_status(json_t *body, const char *st)
{
    json_t *status = json_object_get(body, "status");
    json_object_set_new(status, "state", json_string(st));
    json_object_set_new(status, "message",
                        json_string(strcmp(st, "provisioning") == 0 ? "Provisioning" : ""));
    const char *node = strcmp(st, "running") == 0    ? "running"
                       : strcmp(st, "deleting") == 0 ? "deleting"
                                                     : "provisioning";
    size_t i, j;
    json_t *pool, *n;
    json_array_foreach(json_object_get(body, "node_pools"), i, pool)
        json_array_foreach(json_object_get(pool, "nodes"), j, n)
            json_object_set_new(json_object_get(n, "status"), "state", json_string(node));
}

static void do_plain_status(json_t *body, const char *st)
{
    json_object_set_new(body, "status", json_string(st));
}

static const sim_kind do_vpc = {"do", "vpc", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind do_cluster = {"do", "kubernetes_cluster", "cluster", "provisioning",
                                    "running", "deleting", do_cluster_status};
static const sim_kind do_database = {"do", "database", "database", "creating", "online", NULL,
                                     do_plain_status};
static const sim_kind do_registry = {"do", "registry", "registry", NULL, NULL, NULL, NULL};

/* ------------------------------------------------------------------ helpers */

static int do_valid_region(const char *r)
{
    for (const char *const *p = do_regions; *p; p++)
        if (strcmp(*p, r) == 0)
            return 1;
    return 0;
}

/* 422 unless every listed string member is present; 1 when all are. */
static int do_require(sim_req *rq, sim_resp *rs, const char *const *fields)
{
    if (!json_is_object(rq->json)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "the request body must be a JSON object");
        return 0;
    }
    for (; *fields; fields++)
        if (!sim_body_str(rq, *fields) || !*sim_body_str(rq, *fields)) {
            sim_fail(rq, rs, 422, "invalid", NULL, "%s is required", *fields);
            return 0;
        }
    const char *region = sim_body_str(rq, "region");
    if (region && !do_valid_region(region)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "region %s is not available", region);
        return 0;
    }
    return 1;
}

static long do_int_query(const sim_req *rq, const char *name, long def, long max)
{
    const char *v = sim_query(rq, name);
    char *end;
    long n = v ? strtol(v, &end, 10) : def;
    if (!v || *end || n < 1)
        return def;
    return n > max ? max : n;
}

/* A paginated list: {key: [...page...], links: {pages}, meta: {total}}.  Steals @all. */
static void do_list(sim_req *rq, sim_resp *rs, const char *key, json_t *all)
{
    long per = do_int_query(rq, "per_page", DO_PER_PAGE_DEFAULT, DO_PER_PAGE_MAX);
    long page = do_int_query(rq, "page", 1, 1000000);
    long total = (long)json_array_size(all);
    long last = total ? (total + per - 1) / per : 1;
    json_t *items = json_array(), *pages = json_object();
    for (long i = (page - 1) * per; i < total && i < page * per; i++)
        json_array_append(items, json_array_get(all, (size_t)i));
    if (page > 1) {
        char *a = hoist_xasprintf("%s%s?page=1&per_page=%ld", sim_cfg.base_url, rq->path, per);
        char *b = hoist_xasprintf("%s%s?page=%ld&per_page=%ld", sim_cfg.base_url, rq->path,
                                  page - 1, per);
        json_object_set_new(pages, "first", json_string(a));
        json_object_set_new(pages, "prev", json_string(b));
        free(a);
        free(b);
    }
    if (page < last) {
        char *a = hoist_xasprintf("%s%s?page=%ld&per_page=%ld", sim_cfg.base_url, rq->path,
                                  page + 1, per);
        char *b = hoist_xasprintf("%s%s?page=%ld&per_page=%ld", sim_cfg.base_url, rq->path, last,
                                  per);
        json_object_set_new(pages, "next", json_string(a));
        json_object_set_new(pages, "last", json_string(b));
        free(a);
        free(b);
    }
    json_decref(all);
    sim_reply_json(rs, 200, json_pack("{s:o,s:{s:o},s:{s:i}}", key, items, "links", "pages",
                                      pages, "meta", "total", (int)total));
}

/* Rendered bodies of every live resource of @k (optionally with tag @tag). */
static json_t *do_all(const sim_kind *k, const char *tag)
{
    json_t *a = json_array();
    for (sim_res *r = sim_res_first(k, NULL); r; r = sim_res_next(r, k, NULL)) {
        if (tag) {
            size_t i;
            json_t *t;
            int has = 0;
            json_array_foreach(r->tags, i, t) has |= strcmp(json_string_value(t), tag) == 0;
            if (!has)
                continue;
        }
        json_array_append(a, sim_res_render(r));
    }
    return a;
}

/* The resource named by URL parameter @param, or a 404 answer and NULL. */
static sim_res *do_find(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *param)
{
    sim_res *r = sim_res_get(k, sim_param(rq, param));
    if (!r)
        sim_fail(rq, rs, 404, "not_found", k->type,
                 "The resource you were accessing could not be found.");
    return r;
}

static json_t *do_str_array(json_t *j)
{
    json_t *a = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) if (json_is_string(v)) json_array_append(a, v);
    return a;
}

static char *do_secret(void)
{
    char *u = sim_uuid(), *o = u;
    for (char *p = u; *p; p++)
        if (*p != '-')
            *o++ = *p;
    *o = '\0';
    return u;
}

/* ------------------------------------------------------------------ account */

static void do_account(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200,
                   json_pack("{s:{s:i,s:i,s:i,s:s,s:s,s:s,s:b,s:s,s:s,s:{s:s,s:s}}}", "account",
                             "droplet_limit", 25, "floating_ip_limit", 5, "volume_limit", 100,
                             "email", "sim@hoist-sim.invalid", "name", "hoist-sim", "uuid",
                             "b6fc1d5c-0e0c-4c5b-9d3e-4e1a2f7a5b10", "email_verified", 1, "status",
                             "active", "status_message", "", "team", "uuid",
                             "5df3e3c4-2b4b-4c4b-8a11-7a8e0f0d6f01", "name", "My Team"));
}

/* ------------------------------------------------------------------ VPCs */

static void do_vpc_list(sim_req *rq, sim_resp *rs)
{
    do_list(rq, rs, "vpcs", do_all(&do_vpc, NULL));
}

static void do_vpc_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", "region", NULL};
    static unsigned next_net = 100;
    char ts[32];
    if (!do_require(rq, rs, req))
        return;
    const char *name = sim_body_str(rq, "name"), *region = sim_body_str(rq, "region");
    for (sim_res *r = sim_res_first(&do_vpc, NULL); r; r = sim_res_next(r, &do_vpc, NULL))
        if (strcmp(r->name, name) == 0) {
            sim_fail(rq, rs, 422, "invalid", NULL, "a VPC named %s already exists", name);
            return;
        }
    char *id = sim_uuid(), *urn = hoist_xasprintf("do:vpc:%s", id);
    char *range = sim_body_str(rq, "ip_range")
                      ? hoist_xstrdup(sim_body_str(rq, "ip_range"))
                      : hoist_xasprintf("10.%u.0.0/20", next_net++ % 250);
    const char *desc = sim_body_str(rq, "description");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "id", id, "urn", urn, "name",
                             name, "description", desc ? desc : "", "region", region, "ip_range",
                             range, "default", 0, "created_at", sim_rfc3339(sim_wall_ms(), ts));
    sim_res *r = sim_res_new(&do_vpc, id, name, region, NULL, body, NULL);
    sim_reply_json(rs, 201, json_pack("{s:O}", "vpc", sim_res_render(r)));
    free(id);
    free(urn);
    free(range);
}

static void do_vpc_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_vpc, "vpc_id");
    if (r)
        sim_reply_json(rs, 200, json_pack("{s:O}", "vpc", sim_res_render(r)));
}

static void do_vpc_update(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", NULL};
    sim_res *r = do_find(rq, rs, &do_vpc, "vpc_id");
    if (!r)
        return;
    if (strcmp(rq->method, "PUT") == 0 ? !do_require(rq, rs, req) : !json_is_object(rq->json)) {
        if (!rs->status)
            sim_fail(rq, rs, 422, "invalid", NULL, "the request body must be a JSON object");
        return;
    }
    static const char *const fields[] = {"name", "description", NULL};
    for (const char *const *f = fields; *f; f++)
        if (sim_body_str(rq, *f))
            json_object_set_new(r->body, *f, json_string(sim_body_str(rq, *f)));
    json_t *def = json_object_get(rq->json, "default");
    if (json_is_boolean(def))
        json_object_set(r->body, "default", def);
    free(r->name);
    r->name = hoist_xstrdup(json_string_value(json_object_get(r->body, "name")));
    sim_reply_json(rs, 200, json_pack("{s:O}", "vpc", sim_res_render(r)));
}

static void do_vpc_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_vpc, "vpc_id");
    if (!r)
        return;
    for (sim_res *c = sim_res_first(&do_cluster, NULL); c; c = sim_res_next(c, &do_cluster, NULL))
        if (!c->delete_ms &&
            strcmp(json_string_value(json_object_get(c->body, "vpc_uuid")), r->id) == 0) {
            sim_fail(rq, rs, 409, "conflict", NULL, "VPC %s still has members (cluster %s)",
                     r->id, c->name);
            return;
        }
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

/* ------------------------------------------------------------------ Kubernetes */

static json_t *do_nodes(const char *pool_name, long count)
{
    json_t *nodes = json_array();
    char ts[32];
    sim_rfc3339(sim_wall_ms(), ts);
    for (long i = 0; i < count; i++) {
        char *id = sim_uuid(), *name = hoist_xasprintf("%s-%.5s", pool_name, id);
        json_array_append_new(nodes, json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:s}", "id", id, "name",
                                               name, "status", "state", "provisioning",
                                               "droplet_id", "0", "created_at", ts, "updated_at",
                                               ts));
        free(id);
        free(name);
    }
    return nodes;
}

/* A node pool body from a request object; NULL with a 422 answer when invalid. */
static json_t *do_pool_from(sim_req *rq, sim_resp *rs, json_t *in)
{
    const char *size = json_string_value(json_object_get(in, "size"));
    const char *name = json_string_value(json_object_get(in, "name"));
    json_t *count = json_object_get(in, "count");
    if (!size || !name || !json_is_integer(count) || json_integer_value(count) < 1) {
        sim_fail(rq, rs, 422, "invalid", NULL,
                 "a node pool needs a name, a size and a count of at least 1");
        return NULL;
    }
    char *id = sim_uuid();
    json_t *auto_scale = json_object_get(in, "auto_scale");
    json_t *p = json_pack("{s:s,s:s,s:s,s:I,s:o,s:n,s:[],s:b,s:I,s:I,s:o}", "id", id, "name", name,
                          "size", size, "count", json_integer_value(count), "tags",
                          do_str_array(json_object_get(in, "tags")), "labels", "taints",
                          "auto_scale", json_is_true(auto_scale), "min_nodes",
                          json_integer_value(json_object_get(in, "min_nodes")), "max_nodes",
                          json_integer_value(json_object_get(in, "max_nodes")), "nodes",
                          do_nodes(name, (long)json_integer_value(count)));
    free(id);
    return p;
}

static const char *do_k8s_slug(const char *v)
{
    if (strcmp(v, "latest") == 0)
        return do_k8s_versions[0][0];
    for (size_t i = 0; i < sizeof do_k8s_versions / sizeof do_k8s_versions[0]; i++)
        if (strcmp(v, do_k8s_versions[i][0]) == 0)
            return v;
    return NULL;
}

static void do_cluster_list(sim_req *rq, sim_resp *rs)
{
    do_list(rq, rs, "kubernetes_clusters", do_all(&do_cluster, NULL));
}

static void do_cluster_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", "region", "version", NULL};
    char ts[32];
    json_t *pools = NULL, *in;
    size_t i;
    if (!do_require(rq, rs, req))
        return;
    const char *name = sim_body_str(rq, "name"), *region = sim_body_str(rq, "region");
    const char *version = do_k8s_slug(sim_body_str(rq, "version"));
    const char *vpc = sim_body_str(rq, "vpc_uuid");
    if (!version) {
        sim_fail(rq, rs, 422, "invalid", NULL, "version %s is not supported (see /v2/kubernetes/options)",
                 sim_body_str(rq, "version"));
        return;
    }
    if (vpc && !sim_res_get(&do_vpc, vpc)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "vpc_uuid %s does not exist", vpc);
        return;
    }
    json_t *inpools = json_object_get(rq->json, "node_pools");
    if (!json_is_array(inpools) || json_array_size(inpools) == 0) {
        sim_fail(rq, rs, 422, "invalid", NULL, "at least one node pool is required");
        return;
    }
    pools = json_array();
    json_array_foreach(inpools, i, in) {
        json_t *p = do_pool_from(rq, rs, in);
        if (!p)
            goto cleanup;
        json_array_append_new(pools, p);
    }
    char *id = sim_uuid(), *endpoint = sim_kube_endpoint(id);
    char *tag = hoist_xasprintf("k8s:%s", id);
    json_t *tags = json_pack("[s,s]", "k8s", tag);
    size_t k;
    json_t *t;
    json_array_foreach(json_object_get(rq->json, "tags"), k, t)
        if (json_is_string(t)) json_array_append(tags, t);
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:{s:s,s:s,s:s},s:b,s:{s:s,s:s},s:s,s:s,"
        "s:b,s:b,s:b}",
        "id", id, "name", name, "region", region, "version", version, "cluster_subnet",
        "10.244.0.0/16", "service_subnet", "10.245.0.0/16", "vpc_uuid", vpc ? vpc : id, "ipv4",
        "127.0.0.1", "endpoint", endpoint, "tags", tags, "node_pools", pools,
        "maintenance_policy", "start_time", "00:00", "duration", "4h0m0s", "day", "any",
        "auto_upgrade", 0, "status", "state", "provisioning", "message", "Provisioning",
        "created_at", ts, "updated_at", ts, "surge_upgrade", 0, "ha", 0, "registry_enabled", 0);
    sim_res *r = sim_res_new(&do_cluster, id, name, region, NULL, body, tags);
    sim_kube_cluster_add(&do_cluster, id); /* serves once the cluster is running */
    sim_reply_json(rs, 201, json_pack("{s:O}", "kubernetes_cluster", sim_res_render(r)));
    free(id);
    free(endpoint);
    free(tag);
cleanup:
    json_decref(pools);
}

static void do_cluster_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_cluster, "cluster_id");
    if (r)
        sim_reply_json(rs, 200, json_pack("{s:O}", "kubernetes_cluster", sim_res_render(r)));
}

static void do_cluster_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_cluster, "cluster_id");
    if (!r)
        return;
    sim_kube_cluster_remove(r->id);
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

static void do_pool_list(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_cluster, "cluster_id");
    if (r)
        sim_reply_json(rs, 200, json_pack("{s:O}", "node_pools",
                                          json_object_get(sim_res_render(r), "node_pools")));
}

static json_t *do_pool_find(sim_req *rq, sim_resp *rs, sim_res **cluster)
{
    size_t i;
    json_t *p;
    if (!(*cluster = do_find(rq, rs, &do_cluster, "cluster_id")))
        return NULL;
    json_array_foreach(json_object_get(sim_res_render(*cluster), "node_pools"), i, p)
        if (strcmp(json_string_value(json_object_get(p, "id")), sim_param(rq, "node_pool_id")) == 0)
            return p;
    sim_fail(rq, rs, 404, "not_found", "node_pool", "The resource you were accessing could not be found.");
    return NULL;
}

static void do_pool_get(sim_req *rq, sim_resp *rs)
{
    sim_res *c;
    json_t *p = do_pool_find(rq, rs, &c);
    if (p)
        sim_reply_json(rs, 200, json_pack("{s:O}", "node_pool", p));
}

static void do_pool_update(sim_req *rq, sim_resp *rs)
{
    sim_res *c;
    json_t *p = do_pool_find(rq, rs, &c);
    if (!p)
        return;
    const char *name = sim_body_str(rq, "name");
    json_t *count = json_object_get(rq->json, "count");
    if (!name || !json_is_integer(count) || json_integer_value(count) < 0) {
        sim_fail(rq, rs, 422, "invalid", NULL, "name and count are required");
        return;
    }
    json_object_set_new(p, "name", json_string(name));
    json_object_set(p, "count", count);
    json_object_set_new(p, "nodes", do_nodes(name, (long)json_integer_value(count)));
    static const char *const keep[] = {"tags", "auto_scale", "min_nodes", "max_nodes", NULL};
    for (const char *const *k = keep; *k; k++)
        if (json_object_get(rq->json, *k))
            json_object_set(p, *k, json_object_get(rq->json, *k));
    sim_res_restart(c); /* new nodes: the cluster provisions them again */
    sim_res_render(c);
    sim_reply_json(rs, 202, json_pack("{s:O}", "node_pool", p));
}

/* The kubeconfig document a client uses to reach the simulated API. */
static char *do_kubeconfig_text(sim_res *r)
{
    const char *ep = json_string_value(json_object_get(r->body, "endpoint"));
    const char *tok = sim_kube_token(r->id);
    char *cad = sim_tls_kubeconfig_ca(); /* --tls */
    char *y = hoist_xasprintf("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: %s\n%s"
                           "  name: do-%s-%s\ncontexts:\n- context:\n    cluster: do-%s-%s\n"
                           "    user: do-%s-%s-admin\n  name: do-%s-%s\n"
                           "current-context: do-%s-%s\nusers:\n- name: do-%s-%s-admin\n  user:\n"
                           "    token: %s\n",
                           ep, cad, r->region, r->name, r->region, r->name, r->region, r->name,
                           r->region, r->name, r->region, r->name, r->region, r->name, tok);
    free(cad);
    return y;
}

static void do_kubeconfig(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_cluster, "cluster_id");
    if (!r)
        return;
    char *y = do_kubeconfig_text(r);
    sim_reply_text(rs, 200, "application/yaml", y);
    free(y);
}

static void do_credentials(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_cluster, "cluster_id");
    char ts[32];
    if (!r)
        return;
    /* the --tls CA; without --tls hoist-sim serves plain HTTP and the CA data is empty */
    char *ca = sim_tls_ca_b64();
    sim_reply_json(rs, 200,
                   json_pack("{s:O,s:s,s:o,s:s}", "server", json_object_get(r->body, "endpoint"),
                             "certificate_authority_data", ca, "token",
                             json_string(sim_kube_token(r->id)), "expires_at",
                             sim_rfc3339(sim_wall_ms() + 7 * 24 * 3600 * 1000LL, ts)));
    free(ca);
}

static void do_k8s_options(sim_req *rq, sim_resp *rs)
{
    json_t *versions = json_array(), *regions = json_array();
    for (size_t i = 0; i < sizeof do_k8s_versions / sizeof do_k8s_versions[0]; i++)
        json_array_append_new(versions,
                              json_pack("{s:s,s:s,s:[s,s]}", "slug", do_k8s_versions[i][0],
                                        "kubernetes_version", do_k8s_versions[i][1],
                                        "supported_features", "cluster-autoscaler",
                                        "docr-integration"));
    for (const char *const *p = do_regions; *p; p++)
        json_array_append_new(regions, json_pack("{s:s,s:s}", "name", *p, "slug", *p));
    sim_reply_json(rs, 200,
                   json_pack("{s:{s:o,s:o,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}}", "options",
                             "regions", regions, "versions", versions, "sizes", "name",
                             "s-1vcpu-2gb", "slug", "s-1vcpu-2gb", "name", "s-2vcpu-4gb", "slug",
                             "s-2vcpu-4gb", "name", "s-4vcpu-8gb", "slug", "s-4vcpu-8gb"));
}

/* POST/DELETE /v2/kubernetes/registry: toggle registry_enabled on clusters. */
static void do_k8s_registry(sim_req *rq, sim_resp *rs)
{
    json_t *ids = json_object_get(rq->json, "cluster_uuids"), *v;
    size_t i;
    int enable = strcmp(rq->method, "POST") == 0;
    if (!json_is_array(ids)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "cluster_uuids must be an array of cluster IDs");
        return;
    }
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v) || !sim_res_get(&do_cluster, json_string_value(v))) {
            sim_fail(rq, rs, 404, "not_found", NULL, "cluster %s not found",
                     json_is_string(v) ? json_string_value(v) : "(not a string)");
            return;
        }
    }
    if (enable && !sim_res_first(&do_registry, NULL)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "create a container registry first");
        return;
    }
    json_array_foreach(ids, i, v)
        json_object_set_new(sim_res_get(&do_cluster, json_string_value(v))->body,
                            "registry_enabled", json_boolean(enable));
    sim_reply_json(rs, 204, NULL);
}

/* ------------------------------------------------------------------ Container Registry */

/* {"registry": ...} with hoist-sim's server_url: where the registry really is (sim_registry.c). */
static json_t *do_registry_json(sim_res *r)
{
    json_t *reg = json_deep_copy(sim_res_render(r));
    if (sim_registry_url())
        json_object_set_new(reg, "server_url", json_string(sim_registry_url()));
    return json_pack("{s:o}", "registry", reg);
}

static void do_registry_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = sim_res_first(&do_registry, NULL);
    if (!r)
        sim_fail(rq, rs, 404, "not_found", NULL, "no container registry: create one first");
    else
        sim_reply_json(rs, 200, do_registry_json(r));
}

static void do_registry_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", "subscription_tier_slug", NULL};
    static const char *const tiers[] = {"starter", "basic", "professional", NULL};
    char ts[32];
    if (!do_require(rq, rs, req))
        return;
    const char *tier = sim_body_str(rq, "subscription_tier_slug");
    const char *region = sim_body_str(rq, "region");
    size_t t = 0;
    while (tiers[t] && strcmp(tiers[t], tier) != 0)
        t++;
    if (!tiers[t]) {
        sim_fail(rq, rs, 422, "invalid", NULL, "unknown subscription tier %s", tier);
        return;
    }
    if (sim_res_first(&do_registry, NULL)) {
        sim_fail(rq, rs, 409, "conflict", NULL, "this account already has a container registry");
        return;
    }
    static const int repos[] = {1, 5, 1000};
    static const long long storage[] = {524288000LL, 5368709120LL, 107374182400LL};
    static const int price[] = {0, 500, 2000};
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:i,s:s,s:{s:{s:s,s:s,s:i,s:I,s:b,s:I,s:i,s:i},s:s,s:s}}", "name",
        sim_body_str(rq, "name"), "created_at", ts, "region", region ? region : "fra1",
        "storage_usage_bytes", 0, "storage_usage_bytes_updated_at", ts, "subscription", "tier",
        "name", tier, "slug", tier, "included_repositories", repos[t], "included_storage_bytes",
        (json_int_t)storage[t], "allow_storage_overage", t > 0, "included_bandwidth_bytes",
        (json_int_t)storage[t], "monthly_price_in_cents", price[t],
        "storage_overage_price_in_cents", t > 0 ? 2 : 0, "created_at", ts, "updated_at", ts);
    sim_res *r = sim_res_new(&do_registry, sim_body_str(rq, "name"), sim_body_str(rq, "name"),
                             region, NULL, body, NULL);
    sim_reply_json(rs, 201, do_registry_json(r));
}

static void do_registry_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = sim_res_first(&do_registry, NULL);
    if (!r) {
        sim_fail(rq, rs, 404, "not_found", NULL, "no container registry to delete");
        return;
    }
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

static void do_docker_credentials(sim_req *rq, sim_resp *rs)
{
    if (!sim_res_first(&do_registry, NULL)) {
        sim_fail(rq, rs, 404, "not_found", NULL, "no container registry: create one first");
        return;
    }
    /* Docker's auth is base64("user:password"); DO uses the token for both */
    char *tok = do_secret(), *pair = hoist_xasprintf("%s:%s", tok, tok);
    char *b64 = sim_base64(pair, strlen(pair)), *real = sim_registry_auth_b64("do");
    /* with a registry behind it (sim_registry.c) the login must really work there */
    sim_reply_json(rs, 200, json_pack("{s:{s:{s:s}}}", "auths",
                                      real ? sim_registry_host() : "registry.digitalocean.com",
                                      "auth", real ? real : b64));
    free(real);
    free(tok);
    free(pair);
    free(b64);
}

static void do_repositories(sim_req *rq, sim_resp *rs)
{
    sim_res *r = sim_res_get(&do_registry, sim_param(rq, "registry_name"));
    if (!r) {
        sim_fail(rq, rs, 404, "not_found", NULL, "registry %s not found",
                 sim_param(rq, "registry_name"));
        return;
    }
    char *err = NULL;
    json_t *repos = sim_registry_url() ? sim_registry_do_repositories(r->name, &err) : json_array();
    if (!repos) {
        sim_fail(rq, rs, 502, "server_error", NULL, "%s", err);
        free(err);
        return;
    }
    do_list(rq, rs, "repositories", repos);
}

/* ------------------------------------------------------------------ databases */

static json_t *do_conn(const char *host, const char *user, const char *password, int port)
{
    char *uri = hoist_xasprintf("postgresql://%s:%s@%s:%d/defaultdb?sslmode=require", user,
                                password, host, port);
    json_t *c = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:b}", "uri", uri, "database", "defaultdb",
                          "host", host, "port", port, "user", user, "password", password, "ssl", 1);
    free(uri);
    return c;
}

static void do_db_list(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, json_pack("{s:o}", "databases",
                                      do_all(&do_database, sim_query(rq, "tag_name"))));
}

static void do_db_create(sim_req *rq, sim_resp *rs)
{
    static const char *const req[] = {"name", "engine", "size", "region", NULL};
    static const char *const engines[] = {"pg", "mysql", "redis", "valkey", "mongodb", "kafka",
                                          "opensearch", NULL};
    char ts[32];
    if (!do_require(rq, rs, req))
        return;
    const char *engine = sim_body_str(rq, "engine"), *name = sim_body_str(rq, "name");
    const char *const *e = engines;
    while (*e && strcmp(*e, engine) != 0)
        e++;
    json_t *nodes = json_object_get(rq->json, "num_nodes");
    if (!*e || !json_is_integer(nodes) || json_integer_value(nodes) < 1) {
        sim_fail(rq, rs, 422, "invalid", NULL,
                 "engine must be one of pg, mysql, redis, valkey, mongodb, kafka, opensearch and "
                 "num_nodes at least 1");
        return;
    }
    for (sim_res *r = sim_res_first(&do_database, NULL); r; r = sim_res_next(r, &do_database, NULL))
        if (strcmp(r->name, name) == 0) {
            sim_fail(rq, rs, 422, "invalid", NULL, "a database cluster named %s already exists",
                     name);
            return;
        }
    char *id = sim_uuid(), *pw = do_secret();
    char *host = hoist_xasprintf("%s-do-user-0.db.hoist-sim.invalid", name);
    char *phost = hoist_xasprintf("private-%s", host);
    const char *version = sim_body_str(rq, "version");
    const char *pn = sim_body_str(rq, "private_network_uuid");
    sim_rfc3339(sim_wall_ms(), ts);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:[s],s:o,s:o,s:[{s:s,s:s,s:s}],"
        "s:{s:s,s:s,s:b,s:[]},s:i}",
        "id", id, "name", name, "engine", engine, "version", version ? version : "16",
        "num_nodes", json_integer_value(nodes), "size", sim_body_str(rq, "size"), "region",
        sim_body_str(rq, "region"), "status", "creating", "created_at", ts,
        "private_network_uuid", pn ? pn : "", "tags",
        do_str_array(json_object_get(rq->json, "tags")), "db_names", "defaultdb", "connection",
        do_conn(host, "doadmin", pw, 25060), "private_connection",
        do_conn(phost, "doadmin", pw, 25060), "users", "name", "doadmin", "role", "primary",
        "password", pw, "maintenance_window", "day", "sunday", "hour", "02:00:00", "pending", 0,
        "description", "storage_size_mib", 10240);
    sim_res *r = sim_res_new(&do_database, id, name, sim_body_str(rq, "region"), NULL, body,
                             do_str_array(json_object_get(rq->json, "tags")));
    json_object_set_new(r->priv, "rules", json_array());
    sim_reply_json(rs, 201, json_pack("{s:O}", "database", sim_res_render(r)));
    free(id);
    free(pw);
    free(host);
    free(phost);
}

static void do_db_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_database, "database_cluster_uuid");
    if (r)
        sim_reply_json(rs, 200, json_pack("{s:O}", "database", sim_res_render(r)));
}

static void do_db_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_database, "database_cluster_uuid");
    if (!r)
        return;
    sim_res_delete(r);
    sim_reply_json(rs, 204, NULL);
}

/*
 * dbs and users live inside the cluster body (db_names, users), as the API
 * shows them there too.  @member picks which; @param the URL name.
 */
static int do_member_index(json_t *arr, int is_user, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *n = is_user ? json_string_value(json_object_get(v, "name"))
                                : json_string_value(v);
        if (n && strcmp(n, name) == 0)
            return (int)i;
    }
    return -1;
}

static json_t *do_member_json(json_t *arr, int is_user, int idx)
{
    json_t *v = json_array_get(arr, (size_t)idx);
    return is_user ? json_incref(v) : json_pack("{s:O}", "name", v);
}

static void do_members(sim_req *rq, sim_resp *rs, int is_user)
{
    const char *member = is_user ? "users" : "db_names", *one = is_user ? "user" : "db";
    const char *param = is_user ? "username" : "database_name";
    sim_res *r = do_find(rq, rs, &do_database, "database_cluster_uuid");
    if (!r)
        return;
    json_t *arr = json_object_get(r->body, member);
    const char *name = sim_param(rq, param);
    int idx = name ? do_member_index(arr, is_user, name) : -1;
    if (name && idx < 0) {
        sim_fail(rq, rs, 404, "not_found", one, "%s %s not found", one, name);
        return;
    }
    if (strcmp(rq->method, "GET") == 0 && !name) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(arr); i++)
            json_array_append_new(out, do_member_json(arr, is_user, (int)i));
        sim_reply_json(rs, 200, json_pack("{s:o}", is_user ? "users" : "dbs", out));
    } else if (strcmp(rq->method, "GET") == 0) {
        sim_reply_json(rs, 200, json_pack("{s:o}", one, do_member_json(arr, is_user, idx)));
    } else if (strcmp(rq->method, "DELETE") == 0) {
        json_array_remove(arr, (size_t)idx);
        sim_reply_json(rs, 204, NULL);
    } else { /* POST */
        static const char *const req[] = {"name", NULL};
        if (!do_require(rq, rs, req))
            return;
        name = sim_body_str(rq, "name");
        if (do_member_index(arr, is_user, name) >= 0) {
            sim_fail(rq, rs, 422, "invalid", NULL, "%s %s already exists", one, name);
            return;
        }
        if (is_user) {
            char *pw = do_secret();
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", name, "role", "normal",
                                                 "password", pw));
            free(pw);
        } else {
            json_array_append_new(arr, json_string(name));
        }
        char *cname = hoist_xasprintf("%s/%s", r->name, name);
        sim_creation_record("do", is_user ? "database_user" : "database_db", cname);
        free(cname);
        sim_reply_json(rs, 201, json_pack("{s:o}", one, do_member_json(arr, is_user,
                                                                       (int)json_array_size(arr) - 1)));
    }
}

static void do_dbs(sim_req *rq, sim_resp *rs)
{
    do_members(rq, rs, 0);
}

static void do_users(sim_req *rq, sim_resp *rs)
{
    do_members(rq, rs, 1);
}

static void do_firewall_get(sim_req *rq, sim_resp *rs)
{
    sim_res *r = do_find(rq, rs, &do_database, "database_cluster_uuid");
    if (r)
        sim_reply_json(rs, 200, json_pack("{s:O}", "rules", json_object_get(r->priv, "rules")));
}

static void do_firewall_put(sim_req *rq, sim_resp *rs)
{
    static const char *const types[] = {"droplet", "k8s", "ip_addr", "tag", "app", NULL};
    sim_res *r = do_find(rq, rs, &do_database, "database_cluster_uuid");
    json_t *in = json_object_get(rq->json, "rules"), *v, *rules;
    size_t i;
    char ts[32];
    if (!r)
        return;
    if (!json_is_array(in)) {
        sim_fail(rq, rs, 422, "invalid", NULL, "rules must be an array");
        return;
    }
    rules = json_array();
    sim_rfc3339(sim_wall_ms(), ts);
    json_array_foreach(in, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *value = json_string_value(json_object_get(v, "value"));
        const char *const *t = types;
        while (type && *t && strcmp(*t, type) != 0)
            t++;
        if (!type || !*t || !value) {
            sim_fail(rq, rs, 422, "invalid", NULL,
                     "rule %zu needs a type (droplet, k8s, ip_addr, tag, app) and a value", i);
            json_decref(rules);
            return;
        }
        char *uuid = sim_uuid();
        json_array_append_new(rules, json_pack("{s:s,s:s,s:s,s:s,s:s}", "uuid", uuid,
                                               "cluster_uuid", r->id, "type", type, "value",
                                               value, "created_at", ts));
        free(uuid);
    }
    json_object_set_new(r->priv, "rules", rules);
    sim_reply_json(rs, 204, NULL);
}

/* ------------------------------------------------------------------ registration */

void sim_do_register(void)
{
    const sim_cloud *c = &do_cloud;
    sim_cloud_add(c);
    sim_kind_add(&do_vpc);
    sim_kind_add(&do_cluster);
    sim_kind_add(&do_database);
    sim_kind_add(&do_registry);

    sim_route(c, "GET", "/v2/account", do_account, 0);

    sim_route(c, "GET", "/v2/vpcs", do_vpc_list, 0);
    sim_route(c, "POST", "/v2/vpcs", do_vpc_create, 1);
    sim_route(c, "GET", "/v2/vpcs/{vpc_id}", do_vpc_get, 0);
    sim_route(c, "PUT", "/v2/vpcs/{vpc_id}", do_vpc_update, 1);
    sim_route(c, "PATCH", "/v2/vpcs/{vpc_id}", do_vpc_update, 1);
    sim_route(c, "DELETE", "/v2/vpcs/{vpc_id}", do_vpc_delete, 1);

    sim_route(c, "GET", "/v2/kubernetes/options", do_k8s_options, 0);
    sim_route(c, "POST", "/v2/kubernetes/registry", do_k8s_registry, 1);
    sim_route(c, "DELETE", "/v2/kubernetes/registry", do_k8s_registry, 1);
    sim_route(c, "GET", "/v2/kubernetes/clusters", do_cluster_list, 0);
    sim_route(c, "POST", "/v2/kubernetes/clusters", do_cluster_create, 1);
    sim_route(c, "GET", "/v2/kubernetes/clusters/{cluster_id}", do_cluster_get, 0);
    sim_route(c, "DELETE", "/v2/kubernetes/clusters/{cluster_id}", do_cluster_delete, 1);
    sim_route(c, "GET", "/v2/kubernetes/clusters/{cluster_id}/kubeconfig", do_kubeconfig, 0);
    sim_route(c, "GET", "/v2/kubernetes/clusters/{cluster_id}/credentials", do_credentials, 0);
    sim_route(c, "GET", "/v2/kubernetes/clusters/{cluster_id}/node_pools", do_pool_list, 0);
    sim_route(c, "GET", "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
              do_pool_get, 0);
    sim_route(c, "PUT", "/v2/kubernetes/clusters/{cluster_id}/node_pools/{node_pool_id}",
              do_pool_update, 1);

    sim_route(c, "GET", "/v2/registry/docker-credentials", do_docker_credentials, 0);
    sim_route(c, "GET", "/v2/registry", do_registry_get, 0);
    sim_route(c, "POST", "/v2/registry", do_registry_create, 1);
    sim_route(c, "DELETE", "/v2/registry", do_registry_delete, 1);
    sim_route(c, "GET", "/v2/registry/{registry_name}/repositoriesV2", do_repositories, 0);

    sim_route(c, "GET", "/v2/databases", do_db_list, 0);
    sim_route(c, "POST", "/v2/databases", do_db_create, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}", do_db_get, 0);
    sim_route(c, "DELETE", "/v2/databases/{database_cluster_uuid}", do_db_delete, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}/dbs", do_dbs, 0);
    sim_route(c, "POST", "/v2/databases/{database_cluster_uuid}/dbs", do_dbs, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}/dbs/{database_name}", do_dbs, 0);
    sim_route(c, "DELETE", "/v2/databases/{database_cluster_uuid}/dbs/{database_name}", do_dbs, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}/users", do_users, 0);
    sim_route(c, "POST", "/v2/databases/{database_cluster_uuid}/users", do_users, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}/users/{username}", do_users, 0);
    sim_route(c, "DELETE", "/v2/databases/{database_cluster_uuid}/users/{username}", do_users, 1);
    sim_route(c, "GET", "/v2/databases/{database_cluster_uuid}/firewall", do_firewall_get, 0);
    sim_route(c, "PUT", "/v2/databases/{database_cluster_uuid}/firewall", do_firewall_put, 1);
}
