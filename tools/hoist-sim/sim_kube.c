/*
 * sim_kube.c - the Kubernetes API of every simulated cluster.
 *
 * Each cluster's API lives on the main port under /kube/<cluster-id>/ (not
 * on a port of its own): kubectl and client-go accept a server URL with a
 * path, Prism's proxy joins its upstream's path with the request path (so
 * the official /api/v1/... documents still match), and one port keeps
 * faults, call accounting, /_sim/ and --state-dir working unchanged.
 *
 * Served: discovery (/version, /api, /apis, each group-version), CRUD on
 * the types of kube_types[], server-side apply, merge patch, watch, the
 * pods log subresource and kubectl's Table output.  The controllers
 * (sim_kube_ctl.c) generate ReplicaSets and pods and roll status forward.
 * Objects are store resources of cloud "kube" (see sim_kube.h).
 */
#include "autoconfig.h"

#include "sim_kube.h"
#include "util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KUBE_VERSION_MINOR "33"
#define KUBE_GIT_VERSION "v1.33.1"
#define KUBE_WATCH_POLL_MS 100
#define KUBE_WATCH_MAX_MS 1100 /* just over client-go's 1 s "very short watch" limit:
                                 * answers are not streamed, so a stopping client
                                 * waits for the open watch to end */
#define KUBE_TOMBSTONES 256

/* ------------------------------------------------------------------ types */

#define KIND(plural) {"kube", plural, NULL, NULL, NULL, NULL, NULL}
kube_type kube_types[KT_COUNT] = {
    [KT_NAMESPACES] = {"", "v1", "namespaces", "Namespace", "namespace", "ns", 0, 0, 0,
                       KIND("namespaces")},
    [KT_SECRETS] = {"", "v1", "secrets", "Secret", "secret", "", 1, 0, 0, KIND("secrets")},
    [KT_CONFIGMAPS] = {"", "v1", "configmaps", "ConfigMap", "configmap", "cm", 1, 0, 0,
                       KIND("configmaps")},
    [KT_SERVICES] = {"", "v1", "services", "Service", "service", "svc", 1, 1, 0, KIND("services")},
    [KT_PVCS] = {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim",
                 "persistentvolumeclaim", "pvc", 1, 0, 0, KIND("persistentvolumeclaims")},
    [KT_PODS] = {"", "v1", "pods", "Pod", "pod", "po", 1, 1, 0, KIND("pods")},
    [KT_DEPLOYMENTS] = {"apps", "v1", "deployments", "Deployment", "deployment", "deploy", 1, 1, 1,
                        KIND("deployments")},
    [KT_STATEFULSETS] = {"apps", "v1", "statefulsets", "StatefulSet", "statefulset", "sts", 1, 1,
                         1, KIND("statefulsets")},
    [KT_REPLICASETS] = {"apps", "v1", "replicasets", "ReplicaSet", "replicaset", "rs", 1, 1, 1,
                        KIND("replicasets")},
    [KT_INGRESSES] = {"networking.k8s.io", "v1", "ingresses", "Ingress", "ingress", "ing", 1, 0, 1,
                      KIND("ingresses")},
    [KT_HPAS] = {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
                 "horizontalpodautoscaler", "hpa", 1, 1, 1, KIND("horizontalpodautoscalers")},
};

/* The cluster record: id = cluster id, priv {token, owner_cloud, owner_type}. */
static const sim_kind kube_cluster_kind = {"kube", "cluster", NULL, NULL, NULL, NULL, NULL};

static const char *const kube_groups[][2] = {
    {"apps", "v1"}, {"networking.k8s.io", "v1"}, {"autoscaling", "v2"}};

const char *kube_api_version(const kube_type *t)
{
    static char buf[KT_COUNT][64];
    size_t i = (size_t)(t - kube_types);
    if (!buf[i][0])
        snprintf(buf[i], sizeof buf[i], "%s%s%s", t->group, *t->group ? "/" : "", t->version);
    return buf[i];
}

/* "deployments.apps" or "pods": how the API names a type in messages. */
static char *kube_qualified(const kube_type *t)
{
    return hoist_xasprintf("%s%s%s", t->plural, *t->group ? "." : "", t->group);
}

/* ------------------------------------------------------------------ Status answers */

static const char *kube_reason(int code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    default: return "InternalError";
    }
}

/* A Failure Status; @details is stolen (may be NULL). */
static void kube_status(sim_resp *rs, int code, const char *reason, json_t *details,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void kube_status(sim_resp *rs, int code, const char *reason, json_t *details,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    json_t *s = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                          "metadata", "status", "Failure", "message", msg, "reason",
                          reason ? reason : kube_reason(code), "code", code);
    if (details)
        json_object_set_new(s, "details", details);
    sim_reply_json(rs, code, s);
    free(msg);
}

static void kube_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                       const char *resource, const char *message)
{
    kube_status(rs, status, NULL, NULL, "%s", message);
}

static json_t *kube_details(const kube_type *t, const char *name)
{
    json_t *d = json_pack("{s:s,s:s}", "name", name ? name : "", "kind", t->plural);
    if (*t->group)
        json_object_set_new(d, "group", json_string(t->group));
    return d;
}

static void kube_not_found(sim_resp *rs, const kube_type *t, const char *name)
{
    char *q = kube_qualified(t);
    kube_status(rs, 404, NULL, kube_details(t, name), "%s \"%s\" not found", q, name);
    free(q);
}

/* ------------------------------------------------------------------ clusters */

static sim_res *kube_cluster_find(const char *id)
{
    return id ? sim_res_get(&kube_cluster_kind, id) : NULL;
}

static void kube_default_namespaces(const char *cluster);

const char *sim_kube_cluster_add(const sim_kind *owner, const char *id)
{
    sim_res *c = kube_cluster_find(id);
    if (!c) {
        char *u = sim_uuid(), *tok = NULL;
        /* opaque, long, and recognisable in a log as a simulator token */
        for (char *p = u, *o = u;; p++)
            if (*p != '-' && !(*o++ = *p))
                break;
        tok = hoist_xasprintf("kubesim.%s", u);
        c = sim_res_new(&kube_cluster_kind, id, id, NULL, NULL, json_object(), NULL);
        json_object_set_new(c->priv, "token", json_string(tok));
        json_object_set_new(c->priv, "owner_cloud", json_string(owner->cloud));
        json_object_set_new(c->priv, "owner_type", json_string(owner->type));
        kube_default_namespaces(id);
        free(u);
        free(tok);
    }
    return json_string_value(json_object_get(c->priv, "token"));
}

void sim_kube_cluster_remove(const char *id)
{
    sim_res *c = kube_cluster_find(id);
    for (size_t i = 0; i < KT_COUNT; i++)
        sim_res_delete_children(&kube_types[i].sk, id);
    if (c)
        sim_res_delete(c);
}

const char *sim_kube_token(const char *id)
{
    sim_res *c = kube_cluster_find(id);
    return c ? json_string_value(json_object_get(c->priv, "token")) : NULL;
}

char *sim_kube_endpoint(const char *id)
{
    return hoist_xasprintf("%s/kube/%s", sim_cfg.base_url ? sim_cfg.base_url : "", id);
}

static struct {
    const char *cloud;
    int (*check)(const sim_res *owner, const char *token);
} kube_hooks[4];

void sim_kube_auth_hook(const char *cloud, int (*check)(const sim_res *owner, const char *token))
{
    for (size_t i = 0; i < sizeof kube_hooks / sizeof kube_hooks[0]; i++)
        if (!kube_hooks[i].cloud || strcmp(kube_hooks[i].cloud, cloud) == 0) {
            kube_hooks[i].cloud = cloud;
            kube_hooks[i].check = check;
            return;
        }
    abort(); /* a programming error: more clouds than slots */
}

/* Does @tok admit to the cluster @owner?  The owner cloud's hook, else the
   token sim_kube_cluster_add made. */
static int kube_token_ok(const sim_res *c, const sim_res *owner, const char *tok)
{
    const char *cloud = json_string_value(json_object_get(c->priv, "owner_cloud"));
    for (size_t i = 0; i < sizeof kube_hooks / sizeof kube_hooks[0] && kube_hooks[i].cloud; i++)
        if (cloud && strcmp(kube_hooks[i].cloud, cloud) == 0)
            return kube_hooks[i].check(owner, tok);
    return strcmp(tok, json_string_value(json_object_get(c->priv, "token"))) == 0;
}

/* Cluster id from "/kube/<id>/..." (owned), or NULL. */
static char *kube_path_cluster(const char *path)
{
    const char *p = path + strlen("/kube/");
    size_t n = strcspn(p, "/");
    return n ? hoist_xstrndup(p, n) : NULL;
}

/*
 * Authenticate: the cluster must exist and be ready at its cloud, and the
 * bearer token must be that cluster's.  401 carries exactly the body a real
 * API server sends.
 */
static int kube_auth(sim_req *rq, sim_resp *rs)
{
    char *id = kube_path_cluster(rq->path);
    sim_res *c = kube_cluster_find(id);
    int ok = 0;
    if (!c) {
        kube_status(rs, 404, NULL, NULL, "no simulated cluster %s (create one through a cloud API)",
                    id ? id : "(none)");
        goto cleanup;
    }
    const sim_kind *ok_kind =
        sim_kind_lookup(json_string_value(json_object_get(c->priv, "owner_cloud")),
                        json_string_value(json_object_get(c->priv, "owner_type")));
    sim_res *owner = ok_kind ? sim_res_get(ok_kind, id) : NULL;
    if (!owner || owner->delete_ms) {
        sim_kube_cluster_remove(id);
        kube_status(rs, 404, NULL, NULL, "cluster %s has been deleted", id);
        goto cleanup;
    }
    const char *st = sim_res_status(owner);
    if (ok_kind->pending && (!st || strcmp(st, ok_kind->ready) != 0)) {
        kube_status(rs, 503, NULL, NULL, "cluster %s is not ready yet (%s)", id, st ? st : "?");
        sim_reply_header(rs, "Retry-After", "1");
        goto cleanup;
    }
    const char *h = sim_header_in(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !kube_token_ok(c, owner, h + 7)) {
        kube_status(rs, 401, NULL, NULL, "Unauthorized");
        goto cleanup;
    }
    ok = 1;
cleanup:
    free(id);
    return ok;
}

static const sim_cloud kube_cloud = {
    .name = "kube", .prefixes = {"/kube/", NULL}, .auth = kube_auth, .error = kube_error,
    .faults = 1,
};

/* ------------------------------------------------------------------ objects */

static long long kube_rv;

long long kube_next_rv(void)
{
    if (kube_rv == 0) /* after a restart with --state-dir: continue above what exists */
        for (size_t i = 0; i < KT_COUNT; i++)
            for (sim_res *r = sim_res_first(&kube_types[i].sk, NULL); r;
                 r = sim_res_next(r, &kube_types[i].sk, NULL)) {
                const char *v = json_string_value(
                    json_object_get(json_object_get(r->body, "metadata"), "resourceVersion"));
                long long n = v ? atoll(v) : 0;
                if (n > kube_rv)
                    kube_rv = n;
            }
    return ++kube_rv;
}

static void kube_set_rv(json_t *meta, long long rv)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", rv);
    json_object_set_new(meta, "resourceVersion", json_string(buf));
}

static long long kube_obj_rv(const sim_res *r)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(r->body, "metadata"), "resourceVersion"));
    return v ? atoll(v) : 0;
}

static const char *kube_meta_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static char *kube_key(const kube_type *t, const char *ns, const char *name)
{
    return t->namespaced ? hoist_xasprintf("%s/%s", ns, name) : hoist_xstrdup(name);
}

sim_res *kube_obj_find(const kube_type *t, const char *cluster, const char *ns, const char *name)
{
    char *key = kube_key(t, ns, name);
    sim_res *r = sim_res_first(&t->sk, cluster);
    while (r && strcmp(r->name, key) != 0)
        r = sim_res_next(r, &t->sk, cluster);
    free(key);
    return r;
}

sim_res *kube_obj_new(const kube_type *t, const char *cluster, json_t *body)
{
    char ts[32];
    json_t *meta = json_object_get(body, "metadata");
    char *uid = sim_uuid();
    json_object_set_new(body, "kind", json_string(t->kind));
    json_object_set_new(body, "apiVersion", json_string(kube_api_version(t)));
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(sim_rfc3339(sim_wall_ms(), ts)));
    kube_set_rv(meta, kube_next_rv());
    if (t->has_generation)
        json_object_set_new(meta, "generation", json_integer(1));
    if (!t->namespaced)
        json_object_del(meta, "namespace");
    char *key = kube_key(t, kube_meta_str(body, "namespace"), kube_meta_str(body, "name"));
    sim_res *r = sim_res_new(&t->sk, uid, key, NULL, cluster, body, NULL);
    json_object_set_new(r->priv, "created_rv", json_copy(json_object_get(meta, "resourceVersion")));
    free(uid);
    free(key);
    return r;
}

void kube_obj_touch(sim_res *r, json_t *old_spec)
{
    json_t *meta = json_object_get(r->body, "metadata");
    const kube_type *t = (const kube_type *)((const char *)r->kind - offsetof(kube_type, sk));
    kube_set_rv(meta, kube_next_rv());
    if (t->has_generation && old_spec &&
        !json_equal(old_spec, json_object_get(r->body, "spec")))
        json_object_set_new(meta, "generation",
                            json_integer(json_integer_value(json_object_get(meta, "generation")) + 1));
}

/* Recently deleted objects, for DELETED watch events. */
static struct kube_tomb {
    const kube_type *t;
    char *cluster;
    json_t *obj;
} kube_tombs[KUBE_TOMBSTONES];
static size_t kube_ntombs;

void kube_obj_delete(sim_res *r)
{
    const kube_type *t = (const kube_type *)((const char *)r->kind - offsetof(kube_type, sk));
    struct kube_tomb *tb = &kube_tombs[kube_ntombs++ % KUBE_TOMBSTONES];
    free(tb->cluster);
    json_decref(tb->obj);
    tb->t = t;
    tb->cluster = hoist_xstrdup(r->parent);
    tb->obj = json_deep_copy(r->body);
    kube_set_rv(json_object_get(tb->obj, "metadata"), kube_next_rv());
    sim_res_delete(r);
}

void kube_rand_suffix(char *out, size_t n)
{
    /* the alphabet Kubernetes uses for generated names: no vowels, no look-alikes */
    static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
    char *u = sim_uuid(); /* its last 12 hex digits are random */
    for (size_t i = 0; i < n && i < 6; i++) {
        char hex[3] = {u[24 + 2 * i], u[25 + 2 * i], 0};
        out[i] = al[strtoul(hex, NULL, 16) % (sizeof al - 1)];
    }
    out[n < 6 ? n : 6] = '\0';
    free(u);
}

static void kube_default_namespaces(const char *cluster)
{
    static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", names[i]);
        kube_defaults(&kube_types[KT_NAMESPACES], ns, NULL);
        kube_obj_new(&kube_types[KT_NAMESPACES], cluster, ns);
    }
}

/* ------------------------------------------------------------------ request context */

typedef struct kube_ctx {
    const char *cluster, *ns, *name;
    const kube_type *t;
} kube_ctx;

/*
 * Resolve the type from the matched template ("/kube/{cluster}/apis/apps/v1/
 * namespaces/{namespace}/deployments/{name}"), then run the controllers so
 * the answer reflects the time that passed.
 */
static void kube_ctx_init(sim_req *rq, kube_ctx *k)
{
    char *copy = hoist_xstrdup(rq->tmpl), *save = NULL, *tok;
    const char *group = "", *version = NULL;
    int n = 0;
    memset(k, 0, sizeof *k);
    k->cluster = sim_param(rq, "cluster");
    k->ns = sim_param(rq, "namespace");
    k->name = sim_param(rq, "name");
    for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save), n++) {
        if (n < 2)
            continue; /* "kube", "{cluster}" */
        if (strcmp(tok, "api") == 0) {
            version = strtok_r(NULL, "/", &save);
        } else if (strcmp(tok, "apis") == 0) {
            group = strtok_r(NULL, "/", &save);
            version = strtok_r(NULL, "/", &save);
        } else if (strcmp(tok, "namespaces") == 0 && save && strncmp(save, "{namespace}", 11) == 0) {
            strtok_r(NULL, "/", &save);
        } else if (tok[0] != '{') {
            for (size_t i = 0; i < KT_COUNT && !k->t; i++)
                if (strcmp(kube_types[i].plural, tok) == 0 && strcmp(kube_types[i].group, group) == 0 &&
                    version && strcmp(kube_types[i].version, version) == 0)
                    k->t = &kube_types[i];
            if (k->t)
                break;
        }
    }
    free(copy);
    kube_reconcile(k->cluster);
}

static int kube_query_true(const sim_req *rq, const char *name)
{
    const char *v = sim_query(rq, name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* ------------------------------------------------------------------ discovery */

static void kube_version(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200,
                   json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor",
                             KUBE_VERSION_MINOR, "emulationMajor", "1", "emulationMinor",
                             KUBE_VERSION_MINOR, "gitVersion", KUBE_GIT_VERSION, "gitCommit",
                             "0000000000000000000000000000000000000000", "gitTreeState", "clean",
                             "buildDate", "2025-05-15T00:00:00Z", "goVersion", "go1.24.2",
                             "compiler", "gc", "platform", "linux/amd64"));
}

static json_t *kube_server_addresses(void)
{
    const char *host = sim_cfg.base_url ? strstr(sim_cfg.base_url, "://") : NULL;
    return json_pack("[{s:s,s:s}]", "clientCIDR", "0.0.0.0/0", "serverAddress",
                     host ? host + 3 : "127.0.0.1");
}

static void kube_api_root(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, json_pack("{s:s,s:[s],s:o}", "kind", "APIVersions", "versions", "v1",
                                      "serverAddressByClientCIDRs", kube_server_addresses()));
}

static void kube_apis_root(sim_req *rq, sim_resp *rs)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < sizeof kube_groups / sizeof kube_groups[0]; i++) {
        char *gv = hoist_xasprintf("%s/%s", kube_groups[i][0], kube_groups[i][1]);
        json_array_append_new(groups, json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name",
                                                kube_groups[i][0], "versions", "groupVersion", gv,
                                                "version", kube_groups[i][1], "preferredVersion",
                                                "groupVersion", gv, "version", kube_groups[i][1]));
        free(gv);
    }
    sim_reply_json(rs, 200, json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1",
                                      "groups", groups));
}

/* The APIResourceList of one group-version, with the real server's verbs,
 * short names and categories for the types served. */
static void kube_resource_list(sim_resp *rs, const char *group, const char *version)
{
    json_t *res = json_array();
    for (size_t i = 0; i < KT_COUNT; i++) {
        const kube_type *t = &kube_types[i];
        if (strcmp(t->group, group) != 0 || strcmp(t->version, version) != 0)
            continue;
        json_t *e = json_pack("{s:s,s:s,s:b,s:s}", "name", t->plural, "singularName", t->singular,
                              "namespaced", t->namespaced, "kind", t->kind);
        json_t *verbs = t->namespaced ? json_pack("[s,s,s,s,s,s,s,s]", "create", "delete",
                                                  "deletecollection", "get", "list", "patch",
                                                  "update", "watch")
                                      : json_pack("[s,s,s,s,s,s,s]", "create", "delete", "get",
                                                  "list", "patch", "update", "watch");
        json_object_set_new(e, "verbs", verbs);
        if (*t->shorts)
            json_object_set_new(e, "shortNames", json_pack("[s]", t->shorts));
        if (t->all_category)
            json_object_set_new(e, "categories", json_pack("[s]", "all"));
        json_array_append_new(res, e);
        if (i == KT_PODS)
            json_array_append_new(res, json_pack("{s:s,s:s,s:b,s:s,s:[s]}", "name", "pods/log",
                                                 "singularName", "", "namespaced", 1, "kind",
                                                 "Pod", "verbs", "get"));
    }
    char *gv = hoist_xasprintf("%s%s%s", group, *group ? "/" : "", version);
    sim_reply_json(rs, 200, json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion",
                                      "v1", "groupVersion", gv, "resources", res));
    free(gv);
}

static void kube_core_resources(sim_req *rq, sim_resp *rs)
{
    kube_resource_list(rs, "", "v1");
}

static void kube_group_resources(sim_req *rq, sim_resp *rs)
{
    /* the template names the group-version: /kube/{cluster}/apis/G/V */
    const char *p = strstr(rq->tmpl, "/apis/") + 6;
    char *g = hoist_xstrndup(p, strcspn(p, "/"));
    const char *vp = p + strlen(g) + 1;
    char *v = hoist_xstrndup(vp, strcspn(vp, "/"));
    kube_resource_list(rs, g, v);
    free(g);
    free(v);
}

/* ------------------------------------------------------------------ selectors */

/* Does the labels object @labels satisfy one requirement @req? */
static int kube_label_req(json_t *labels, const char *req)
{
    char key[256], op[8] = "", vals[1024] = "";
    const char *p = req;
    while (*p == ' ')
        p++;
    int neg = *p == '!';
    if (neg)
        p++;
    size_t kl = strcspn(p, "=! ");
    if (kl >= sizeof key)
        return 0;
    memcpy(key, p, kl);
    key[kl] = '\0';
    p += kl;
    while (*p == ' ')
        p++;
    const char *have = json_string_value(json_object_get(labels, key));
    if (!*p)
        return neg ? !have : have != NULL;
    if (strncmp(p, "!=", 2) == 0) {
        strcpy(op, "!=");
        p += 2;
    } else if (strncmp(p, "==", 2) == 0) {
        strcpy(op, "=");
        p += 2;
    } else if (*p == '=') {
        strcpy(op, "=");
        p++;
    } else if (strncmp(p, "in ", 3) == 0 || strncmp(p, "in(", 3) == 0) {
        strcpy(op, "in");
        p += 2;
    } else if (strncmp(p, "notin", 5) == 0) {
        strcpy(op, "notin");
        p += 5;
    }
    while (*p == ' ' || *p == '(')
        p++;
    snprintf(vals, sizeof vals, "%s", p);
    for (char *e = vals + strlen(vals); e > vals && (e[-1] == ' ' || e[-1] == ')');)
        *--e = '\0';
    if (strcmp(op, "=") == 0)
        return have && strcmp(have, vals) == 0;
    if (strcmp(op, "!=") == 0)
        return !have || strcmp(have, vals) != 0;
    int found = 0;
    char *save = NULL;
    for (char *v = strtok_r(vals, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        while (*v == ' ')
            v++;
        char *e = v + strlen(v);
        while (e > v && e[-1] == ' ')
            *--e = '\0';
        found |= have && strcmp(have, v) == 0;
    }
    return strcmp(op, "in") == 0 ? found : !found;
}

/* labelSelector syntax: requirements separated by commas outside parentheses. */
static int kube_labels_match(json_t *obj, const char *sel)
{
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    int depth = 0, ok = 1;
    const char *start = sel;
    if (!sel || !*sel)
        return 1;
    for (const char *p = sel;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if ((*p == ',' && depth == 0) || !*p) {
            char *req = hoist_xstrndup(start, (size_t)(p - start));
            ok &= kube_label_req(labels, req);
            free(req);
            start = p + 1;
        }
        if (!*p)
            break;
    }
    return ok;
}

/* fieldSelector: metadata.name and metadata.namespace (what clients use);
 * 1 match, 0 no match, -1 unsupported field (answered 400). */
static int kube_fields_match(json_t *obj, const char *sel, char **bad)
{
    char *copy = hoist_xstrdup(sel ? sel : ""), *save = NULL;
    int ok = 1;
    for (char *req = strtok_r(copy, ",", &save); req; req = strtok_r(NULL, ",", &save)) {
        int neg = strstr(req, "!=") != NULL;
        char *eq = strchr(req, neg ? '!' : '=');
        if (!eq) {
            ok = -1;
            break;
        }
        *eq = '\0';
        const char *want = eq + (neg ? 2 : (eq[1] == '=' ? 2 : 1)), *have = NULL;
        if (strcmp(req, "metadata.name") == 0)
            have = kube_meta_str(obj, "name");
        else if (strcmp(req, "metadata.namespace") == 0)
            have = kube_meta_str(obj, "namespace");
        else if (strcmp(req, "status.phase") == 0)
            have = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
        else {
            *bad = hoist_xstrdup(req);
            ok = -1;
            break;
        }
        if ((have && strcmp(have, want) == 0) == neg)
            ok = 0;
    }
    free(copy);
    return ok;
}

/* ------------------------------------------------------------------ lists, tables, watch */

static int kube_in_scope(const kube_ctx *k, json_t *obj)
{
    return !k->ns || !k->t->namespaced || strcmp(kube_meta_str(obj, "namespace"), k->ns) == 0;
}

static int kube_wants_table(const sim_req *rq)
{
    const char *a = sim_header_in(rq, "Accept");
    return a && strstr(a, "as=Table") != NULL;
}

static const char *kube_age(json_t *obj, char *buf, size_t n)
{
    const char *ts = kube_meta_str(obj, "creationTimestamp");
    struct tm tm = {0};
    if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return "<unknown>";
    long long s = sim_wall_ms() / 1000 - (long long)timegm(&tm);
    if (s < 120)
        snprintf(buf, n, "%llds", s < 0 ? 0 : s);
    else if (s < 7200)
        snprintf(buf, n, "%lldm", s / 60);
    else
        snprintf(buf, n, "%lldh", s / 3600);
    return buf;
}

/* A meta.k8s.io/v1 Table of @items (borrowed), as kubectl get asks for. */
static json_t *kube_table(const kube_type *t, json_t *items, long long rv)
{
    json_t *cols = json_array(), *rows = json_array(), *obj;
    size_t i;
    char age[32], rvs[32];
    /* format "name" marks the column kubectl prefixes with kind/ for several types */
#define COL(n, ty) json_array_append_new(cols, json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", n, \
                                                         "type", ty, "format", \
                                                         strcmp(n, "Name") ? "" : "name", \
                                                         "description", n, "priority", 0))
    COL("Name", "string");
    if (t == &kube_types[KT_PODS]) {
        COL("Ready", "string");
        COL("Status", "string");
        COL("Restarts", "string");
    } else if (t == &kube_types[KT_DEPLOYMENTS] || t == &kube_types[KT_STATEFULSETS]) {
        COL("Ready", "string");
        COL("Up-to-date", "integer");
        COL("Available", "integer");
    } else if (t == &kube_types[KT_NAMESPACES] || t == &kube_types[KT_PVCS]) {
        COL("Status", "string");
    }
    COL("Age", "string");
#undef COL
    json_array_foreach(items, i, obj) {
        json_t *st = json_object_get(obj, "status"), *cells = json_pack("[s]", kube_meta_str(obj, "name"));
        if (t == &kube_types[KT_PODS]) {
            json_t *cs = json_object_get(st, "containerStatuses"), *c;
            size_t j, ready = 0;
            long long restarts = 0;
            const char *phase = json_string_value(json_object_get(st, "phase"));
            json_array_foreach(cs, j, c) {
                ready += json_is_true(json_object_get(c, "ready"));
                restarts += json_integer_value(json_object_get(c, "restartCount"));
                const char *why = json_string_value(
                    json_object_get(json_object_get(json_object_get(c, "state"), "waiting"), "reason"));
                if (why)
                    phase = why;
            }
            char *r = hoist_xasprintf("%zu/%zu", ready, json_array_size(cs));
            char *rs = hoist_xasprintf("%lld", restarts);
            json_array_append_new(cells, json_string(r));
            json_array_append_new(cells, json_string(phase ? phase : "Pending"));
            json_array_append_new(cells, json_string(rs));
            free(r);
            free(rs);
        } else if (t == &kube_types[KT_DEPLOYMENTS] || t == &kube_types[KT_STATEFULSETS]) {
            char *r = hoist_xasprintf(
                "%lld/%lld", json_integer_value(json_object_get(st, "readyReplicas")),
                json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas")));
            json_array_append_new(cells, json_string(r));
            json_array_append_new(cells, json_integer(json_integer_value(json_object_get(st, "updatedReplicas"))));
            json_array_append_new(cells, json_integer(json_integer_value(json_object_get(st, "availableReplicas"))));
            free(r);
        } else if (t == &kube_types[KT_NAMESPACES] || t == &kube_types[KT_PVCS]) {
            json_array_append(cells, json_object_get(st, "phase"));
        }
        json_array_append_new(cells, json_string(kube_age(obj, age, sizeof age)));
        json_array_append_new(rows, json_pack("{s:o,s:{s:s,s:s,s:O}}", "cells", cells, "object",
                                              "kind", "PartialObjectMetadata", "apiVersion",
                                              "meta.k8s.io/v1", "metadata",
                                              json_object_get(obj, "metadata")));
    }
    snprintf(rvs, sizeof rvs, "%lld", rv);
    return json_pack("{s:s,s:s,s:{s:s},s:o,s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                     "metadata", "resourceVersion", rvs, "columnDefinitions", cols, "rows", rows);
}

/* Objects of the request's scope matching its selectors (new array), or NULL
 * after answering 400 for an unsupported field selector. */
static json_t *kube_select(sim_req *rq, sim_resp *rs, const kube_ctx *k)
{
    const char *ls = sim_query(rq, "labelSelector"), *fs = sim_query(rq, "fieldSelector");
    json_t *items = json_array();
    for (sim_res *r = sim_res_first(&k->t->sk, k->cluster); r;
         r = sim_res_next(r, &k->t->sk, k->cluster)) {
        char *bad = NULL;
        if (!kube_in_scope(k, r->body) || !kube_labels_match(r->body, ls))
            continue;
        int m = kube_fields_match(r->body, fs, &bad);
        if (m < 0) {
            kube_status(rs, 400, NULL, NULL, "field label not supported: %s", bad ? bad : fs);
            free(bad);
            json_decref(items);
            return NULL;
        }
        if (m)
            json_array_append(items, r->body);
    }
    return items;
}

/*
 * Watch: the events since ?resourceVersion= (all objects as ADDED when it
 * is absent or 0), as newline-separated JSON.  With nothing to say the
 * handler waits (polling without the lock) up to KUBE_WATCH_MAX_MS or
 * timeoutSeconds, then ends the stream; clients simply watch again.
 */
static void kube_watch(sim_req *rq, sim_resp *rs, const kube_ctx *k)
{
    const char *rvq = sim_query(rq, "resourceVersion"), *ts = sim_query(rq, "timeoutSeconds");
    long long since = rvq ? atoll(rvq) : 0;
    long long max_ms = ts ? atoll(ts) * 1000 : KUBE_WATCH_MAX_MS;
    hoist_buf out = {0};
    if (max_ms > KUBE_WATCH_MAX_MS || max_ms <= 0)
        max_ms = KUBE_WATCH_MAX_MS;
    json_t *items = kube_select(rq, rs, k), *obj;
    size_t i;
    if (!items)
        return;
    json_array_foreach(items, i, obj) {
        sim_res *r = sim_res_get(&k->t->sk, kube_meta_str(obj, "uid"));
        long long rv = kube_obj_rv(r);
        if (since && rv <= since)
            continue;
        const char *crv = json_string_value(json_object_get(r->priv, "created_rv"));
        const char *type = !since || (crv && atoll(crv) > since) ? "ADDED" : "MODIFIED";
        json_t *ev = json_pack("{s:s,s:O}", "type", type, "object", obj);
        char *line = json_dumps(ev, JSON_COMPACT);
        hoist_buf_printf(&out, "%s\n", line);
        free(line);
        json_decref(ev);
    }
    for (size_t t = 0; since && t < KUBE_TOMBSTONES && t < kube_ntombs; t++) {
        struct kube_tomb *tb = &kube_tombs[t];
        const char *rv = kube_meta_str(tb->obj, "resourceVersion");
        if (tb->t != k->t || strcmp(tb->cluster, k->cluster) != 0 || atoll(rv) <= since ||
            !kube_in_scope(k, tb->obj) || !kube_labels_match(tb->obj, sim_query(rq, "labelSelector")))
            continue;
        json_t *ev = json_pack("{s:s,s:O}", "type", "DELETED", "object", tb->obj);
        char *line = json_dumps(ev, JSON_COMPACT);
        hoist_buf_printf(&out, "%s\n", line);
        free(line);
        json_decref(ev);
    }
    json_decref(items);
    if (!out.len && (long long)rs->rounds * KUBE_WATCH_POLL_MS < max_ms) {
        rs->again_ms = KUBE_WATCH_POLL_MS;
        return;
    }
    char *text = hoist_buf_steal(&out);
    sim_reply_text(rs, 200, "application/json", text);
    free(text);
}

static void kube_list(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    kube_ctx_init(rq, &k);
    if (kube_query_true(rq, "watch")) {
        kube_watch(rq, rs, &k);
        return;
    }
    json_t *items = kube_select(rq, rs, &k), *obj;
    size_t i;
    char rvs[32];
    if (!items)
        return;
    long long rv = kube_rv ? kube_rv : kube_next_rv();
    if (kube_wants_table(rq)) {
        sim_reply_json(rs, 200, kube_table(k.t, items, rv));
        json_decref(items);
        return;
    }
    json_t *out = json_array();
    json_array_foreach(items, i, obj) {
        json_t *c = json_copy(obj); /* list items carry no kind/apiVersion */
        json_object_del(c, "kind");
        json_object_del(c, "apiVersion");
        json_array_append_new(out, c);
    }
    json_decref(items);
    char *kind = hoist_xasprintf("%sList", k.t->kind);
    snprintf(rvs, sizeof rvs, "%lld", rv);
    sim_reply_json(rs, 200, json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", kind, "apiVersion",
                                      kube_api_version(k.t), "metadata", "resourceVersion", rvs,
                                      "items", out));
    free(kind);
}

/* ------------------------------------------------------------------ field managers */

/*
 * Ownership is tracked per manager as a tree of leaf paths (objects are
 * walked, arrays and scalars are leaves): priv.managed = [{manager,
 * operation, time, fields}].  This is coarser than the real structured
 * merge (lists are owned whole), which is enough for conflicts between an
 * applier and a scaler on fields like spec.replicas.
 */
static json_t *kube_fields_of(json_t *v, int top)
{
    json_t *tree = json_object(), *c;
    const char *key;
    json_object_foreach(v, key, c) {
        if (top && (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0 ||
                    strcmp(key, "status") == 0))
            continue;
        if (top && strcmp(key, "metadata") == 0) {
            json_t *m = json_object();
            if (json_object_get(c, "labels"))
                json_object_set_new(m, "labels", kube_fields_of(json_object_get(c, "labels"), 0));
            if (json_object_get(c, "annotations"))
                json_object_set_new(m, "annotations",
                                    kube_fields_of(json_object_get(c, "annotations"), 0));
            if (json_object_size(m))
                json_object_set_new(tree, key, m);
            else
                json_decref(m);
            continue;
        }
        json_object_set_new(tree, key, json_is_object(c) && json_object_size(c)
                                           ? kube_fields_of(c, 0) : json_object());
    }
    return tree;
}

/* Collect "a.b.c" leaf paths of @tree into @out (array of strings). */
static void kube_leaves(json_t *tree, const char *prefix, json_t *out)
{
    const char *key;
    json_t *c;
    json_object_foreach(tree, key, c) {
        char *p = hoist_xasprintf("%s%s%s", prefix, *prefix ? "." : "", key);
        if (json_object_size(c))
            kube_leaves(c, p, out);
        else
            json_array_append_new(out, json_string(p));
        free(p);
    }
}

/* The value at dotted @path in @obj (keys with dots are not expected in
 * spec paths; labels with dots are compared through their parent). */
static json_t *kube_at(json_t *obj, const char *path, int create, json_t **parent, char **last)
{
    char *copy = hoist_xstrdup(path), *save = NULL, *tok, *next;
    json_t *cur = obj, *par = NULL;
    for (tok = strtok_r(copy, ".", &save); tok; tok = next) {
        next = strtok_r(NULL, ".", &save);
        par = cur;
        json_t *c = json_object_get(cur, tok);
        if (!c && create && next) {
            c = json_object();
            json_object_set_new(cur, tok, c);
        }
        if (!next) {
            if (last)
                *last = hoist_xstrdup(tok);
            cur = c;
            break;
        }
        if (!json_is_object(c)) {
            cur = NULL;
            break;
        }
        cur = c;
    }
    if (parent)
        *parent = par;
    free(copy);
    return cur;
}

static int kube_tree_has(json_t *tree, const char *path)
{
    char *copy = hoist_xstrdup(path), *save = NULL;
    json_t *cur = tree;
    int has = 1;
    for (char *tok = strtok_r(copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        if (!json_object_size(cur))
            break; /* a leaf above @path owns it */
        if (!(cur = json_object_get(cur, tok))) {
            has = 0;
            break;
        }
    }
    free(copy);
    return has;
}

static void kube_tree_remove(json_t *tree, const char *path)
{
    json_t *parent;
    char *last = NULL;
    if (kube_at(tree, path, 0, &parent, &last) && parent)
        json_object_del(parent, last);
    free(last);
}

static json_t *kube_manager_entry(sim_res *r, const char *manager, const char *op, int create)
{
    json_t *m = json_object_get(r->priv, "managed"), *e;
    size_t i;
    if (!m) {
        m = json_array();
        json_object_set_new(r->priv, "managed", m);
    }
    json_array_foreach(m, i, e)
        if (strcmp(json_string_value(json_object_get(e, "manager")), manager) == 0 &&
            strcmp(json_string_value(json_object_get(e, "operation")), op) == 0)
            return e;
    if (!create)
        return NULL;
    e = json_pack("{s:s,s:s,s:{}}", "manager", manager, "operation", op, "fields");
    json_array_append_new(m, e);
    return e;
}

/* "f:" keyed FieldsV1 rendering of an internal tree. */
static json_t *kube_fieldsv1(json_t *tree)
{
    json_t *o = json_object(), *c;
    const char *key;
    json_object_foreach(tree, key, c) {
        char *k = hoist_xasprintf("f:%s", key);
        json_object_set_new(o, k, kube_fieldsv1(c));
        free(k);
    }
    return o;
}

static void kube_render_managed(sim_res *r, const kube_type *t)
{
    json_t *out = json_array(), *e;
    size_t i;
    char ts[32];
    json_array_foreach(json_object_get(r->priv, "managed"), i, e) {
        json_t *f = json_object_get(e, "fields");
        if (!json_object_size(f))
            continue;
        json_array_append_new(out, json_pack("{s:O,s:O,s:s,s:s,s:s,s:o}", "manager",
                                             json_object_get(e, "manager"), "operation",
                                             json_object_get(e, "operation"), "apiVersion",
                                             kube_api_version(t), "time",
                                             sim_rfc3339(sim_wall_ms(), ts), "fieldsType",
                                             "FieldsV1", "fieldsV1", kube_fieldsv1(f)));
    }
    json_object_set_new(json_object_get(r->body, "metadata"), "managedFields", out);
}

/* An update (create, replace, merge patch) by @manager takes the leaves it
 * changed from everyone else. */
static void kube_record_update(sim_res *r, const kube_type *t, json_t *old, const char *manager)
{
    json_t *leaves = json_array(), *p, *mine = kube_manager_entry(r, manager, "Update", 1);
    size_t i, j;
    json_t *newtree = kube_fields_of(r->body, 1);
    kube_leaves(newtree, "", leaves);
    json_array_foreach(leaves, i, p) {
        const char *path = json_string_value(p);
        json_t *nv = kube_at(r->body, path, 0, NULL, NULL);
        json_t *ov = old ? kube_at(old, path, 0, NULL, NULL) : NULL;
        if (ov && json_equal(ov, nv))
            continue;
        json_t *e;
        json_array_foreach(json_object_get(r->priv, "managed"), j, e)
            if (e != mine)
                kube_tree_remove(json_object_get(e, "fields"), path);
        json_t *parent;
        char *last = NULL;
        kube_at(json_object_get(mine, "fields"), path, 1, &parent, &last);
        if (parent && last)
            json_object_set_new(parent, last, json_object());
        free(last);
    }
    json_decref(leaves);
    json_decref(newtree);
    kube_render_managed(r, t);
}

static const char *kube_manager(const sim_req *rq, char *buf, size_t n)
{
    const char *m = sim_query(rq, "fieldManager");
    if (m && *m)
        return m;
    const char *ua = sim_header_in(rq, "User-Agent");
    snprintf(buf, n, "%.*s", ua ? (int)strcspn(ua, "/ ") : 7, ua ? ua : "unknown");
    return buf;
}

/* ------------------------------------------------------------------ merge helpers */

/* RFC 7386 JSON merge patch of @patch into @target (modified in place). */
static json_t *kube_merge(json_t *target, json_t *patch)
{
    if (!json_is_object(patch))
        return json_incref(patch);
    if (!json_is_object(target))
        target = json_object();
    else
        json_incref(target);
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(target, key);
        } else {
            json_t *merged = kube_merge(json_object_get(target, key), v);
            json_object_set_new(target, key, merged);
        }
    }
    return target;
}

/* ------------------------------------------------------------------ create, get, replace */

static int kube_check_body(sim_req *rq, sim_resp *rs, const kube_ctx *k, json_t *body)
{
    const char *kind = json_string_value(json_object_get(body, "kind"));
    const char *av = json_string_value(json_object_get(body, "apiVersion"));
    if (!json_is_object(body)) {
        kube_status(rs, 400, NULL, NULL, "the request body must be a JSON object");
        return 0;
    }
    if ((kind && strcmp(kind, k->t->kind) != 0) || (av && strcmp(av, kube_api_version(k->t)) != 0)) {
        kube_status(rs, 400, NULL, NULL,
                    "the API version in the data (%s) does not match the expected API version (%s)"
                    " or kind (%s)", av ? av : "", kube_api_version(k->t), k->t->kind);
        return 0;
    }
    if (!json_is_object(json_object_get(body, "metadata")))
        json_object_set_new(body, "metadata", json_object());
    json_t *meta = json_object_get(body, "metadata");
    const char *bns = json_string_value(json_object_get(meta, "namespace"));
    if (k->t->namespaced && k->ns) {
        if (bns && strcmp(bns, k->ns) != 0) {
            kube_status(rs, 400, NULL, NULL,
                        "the namespace of the provided object does not match the namespace sent "
                        "on the request");
            return 0;
        }
        json_object_set_new(meta, "namespace", json_string(k->ns));
    }
    return 1;
}

static int kube_invalid(sim_resp *rs, const kube_type *t, json_t *obj, json_t *old)
{
    json_t *causes = kube_validate(t, obj, old), *c;
    size_t i;
    if (!causes)
        return 0;
    hoist_buf msg = {0};
    const char *name = kube_meta_str(obj, "name");
    hoist_buf_printf(&msg, "%s%s%s \"%s\" is invalid: ", t->kind, *t->group ? "." : "", t->group,
                     name ? name : "");
    json_array_foreach(causes, i, c) hoist_buf_printf(
        &msg, "%s%s: %s", i ? ", " : "", json_string_value(json_object_get(c, "field")),
        json_string_value(json_object_get(c, "message")));
    json_t *d = kube_details(t, name);
    json_object_set_new(d, "kind", json_string(t->kind));
    json_object_set_new(d, "causes", causes);
    kube_status(rs, 422, NULL, d, "%s", msg.s);
    hoist_buf_free(&msg);
    return 1;
}

static int kube_ns_exists(sim_resp *rs, const kube_ctx *k)
{
    sim_res *ns;
    if (!k->t->namespaced || !k->ns)
        return 1;
    ns = kube_obj_find(&kube_types[KT_NAMESPACES], k->cluster, NULL, k->ns);
    if (!ns) {
        kube_not_found(rs, &kube_types[KT_NAMESPACES], k->ns);
        return 0;
    }
    return 1;
}

/* Create @body (stolen) as a new object: shared by POST, PUT-create and apply-create. */
static sim_res *kube_create_obj(sim_req *rq, sim_resp *rs, const kube_ctx *k, json_t *body,
                                const char *manager, const char *op)
{
    json_t *meta = json_object_get(body, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    if (!name && gen) {
        char sfx[6], *n;
        kube_rand_suffix(sfx, 5);
        n = hoist_xasprintf("%s%s", gen, sfx);
        json_object_set_new(meta, "name", json_string(n));
        free(n);
        name = kube_meta_str(body, "name");
    }
    if (!kube_ns_exists(rs, k))
        goto fail;
    if (k->t == &kube_types[KT_NAMESPACES] || !k->t->namespaced)
        json_object_del(meta, "namespace");
    if (name && kube_obj_find(k->t, k->cluster, k->ns, name)) {
        char *q = kube_qualified(k->t);
        kube_status(rs, 409, "AlreadyExists", kube_details(k->t, name), "%s \"%s\" already exists", q,
                    name);
        free(q);
        goto fail;
    }
    if (k->ns && k->t->namespaced) {
        sim_res *ns = kube_obj_find(&kube_types[KT_NAMESPACES], k->cluster, NULL, k->ns);
        if (json_object_get(ns->body, "metadata") &&
            kube_meta_str(ns->body, "deletionTimestamp")) {
            kube_status(rs, 403, "Forbidden", NULL,
                        "unable to create new content in namespace %s because it is being "
                        "terminated", k->ns);
            goto fail;
        }
    }
    kube_defaults(k->t, body, NULL);
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "uid");
    json_object_del(meta, "managedFields");
    json_object_del(meta, "generation");
    json_object_del(meta, "creationTimestamp");
    if (kube_invalid(rs, k->t, body, NULL))
        goto fail;
    sim_res *r = kube_obj_new(k->t, k->cluster, body);
    if (strcmp(op, "Apply") == 0) {
        json_t *e = kube_manager_entry(r, manager, "Apply", 1);
        json_object_set_new(e, "fields", kube_fields_of(json_object_get(r->priv, "applied"), 1));
        kube_render_managed(r, k->t);
    } else {
        kube_record_update(r, k->t, NULL, manager);
    }
    return r;
fail:
    json_decref(body);
    return NULL;
}

static void kube_create(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    char mbuf[64];
    kube_ctx_init(rq, &k);
    if (!kube_check_body(rq, rs, &k, rq->json))
        return;
    if (!kube_meta_str(rq->json, "name") && !kube_meta_str(rq->json, "generateName")) {
        json_t *d = json_pack("[{s:s,s:s,s:s}]", "reason", "FieldValueRequired", "message",
                              "name or generateName is required", "field", "metadata.name");
        json_t *det = kube_details(k.t, "");
        json_object_set_new(det, "causes", d);
        kube_status(rs, 422, NULL, det, "%s \"\" is invalid: metadata.name: Required value: name "
                                        "or generateName is required", k.t->kind);
        return;
    }
    sim_res *r = kube_create_obj(rq, rs, &k, json_deep_copy(rq->json), kube_manager(rq, mbuf, sizeof mbuf),
                                 "Update");
    if (r) {
        kube_reconcile(k.cluster);
        sim_reply_json(rs, 201, json_incref(r->body));
    }
}

static sim_res *kube_find_or_404(sim_resp *rs, const kube_ctx *k)
{
    const char *name = k->name ? k->name : k->ns; /* /namespaces/{name} */
    sim_res *r = kube_obj_find(k->t, k->cluster, k->ns, name);
    if (!r)
        kube_not_found(rs, k->t, name);
    return r;
}

static void kube_get(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    kube_ctx_init(rq, &k);
    sim_res *r = kube_find_or_404(rs, &k);
    if (!r)
        return;
    if (kube_wants_table(rq)) {
        json_t *items = json_pack("[O]", r->body);
        sim_reply_json(rs, 200, kube_table(k.t, items, kube_obj_rv(r)));
        json_decref(items);
        return;
    }
    sim_reply_json(rs, 200, json_incref(r->body));
}

/* Keep what the server owns (uid, creationTimestamp, generation, status)
 * when a client sends a whole object. */
static void kube_carry_server_fields(json_t *obj, sim_res *r)
{
    static const char *const keep[] = {"uid", "creationTimestamp", "generation",
                                        "resourceVersion", "ownerReferences", "deletionTimestamp"};
    json_t *meta = json_object_get(obj, "metadata"), *om = json_object_get(r->body, "metadata");
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(om, keep[i]);
        if (v && (i != 4 || !json_object_get(meta, keep[i])))
            json_object_set(meta, keep[i], v);
    }
    json_object_set(obj, "status", json_object_get(r->body, "status"));
    json_object_set_new(obj, "kind", json_string(json_string_value(json_object_get(r->body, "kind"))));
    json_object_set_new(obj, "apiVersion", json_string(json_string_value(json_object_get(r->body, "apiVersion"))));
    json_object_del(meta, "managedFields");
}

/* Swap in @obj (stolen) as @r's body after defaults and validation: 0 on success. */
static int kube_commit(sim_resp *rs, const kube_ctx *k, sim_res *r, json_t *obj, const char *manager,
                       int record)
{
    kube_carry_server_fields(obj, r);
    kube_defaults(k->t, obj, r->body);
    if (kube_invalid(rs, k->t, obj, r->body)) {
        json_decref(obj);
        return -1;
    }
    json_t *old = r->body;
    json_object_set(json_object_get(obj, "metadata"), "managedFields",
                    json_object_get(json_object_get(old, "metadata"), "managedFields"));
    r->body = obj;
    if (json_equal(old, obj)) { /* a no-op write keeps the resourceVersion */
        json_decref(old);
        return 0;
    }
    kube_obj_touch(r, json_object_get(old, "spec"));
    if (record)
        kube_record_update(r, k->t, old, manager);
    json_decref(old);
    return 0;
}

static void kube_replace(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    char mbuf[64];
    kube_ctx_init(rq, &k);
    const char *url_name = k.name ? k.name : k.ns;
    if (!kube_check_body(rq, rs, &k, rq->json))
        return;
    const char *name = kube_meta_str(rq->json, "name");
    if (!name || strcmp(name, url_name) != 0) {
        kube_status(rs, 400, NULL, NULL,
                    "the name of the object (%s) does not match the name on the URL (%s)",
                    name ? name : "", url_name);
        return;
    }
    sim_res *r = kube_obj_find(k.t, k.cluster, k.t->namespaced ? k.ns : NULL, url_name);
    if (!r) {
        if (!kube_ns_exists(rs, &k))
            return;
        kube_not_found(rs, k.t, url_name);
        return;
    }
    const char *rv = kube_meta_str(rq->json, "resourceVersion");
    if (rv && strcmp(rv, kube_meta_str(r->body, "resourceVersion")) != 0) {
        char *q = kube_qualified(k.t);
        kube_status(rs, 409, "Conflict", kube_details(k.t, url_name),
                    "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                    "please apply your changes to the latest version and try again", q, url_name);
        free(q);
        return;
    }
    json_t *obj = json_deep_copy(rq->json);
    json_object_del(obj, "status"); /* status is written through /status only */
    if (kube_commit(rs, &k, r, obj, kube_manager(rq, mbuf, sizeof mbuf), 1) == 0) {
        kube_reconcile(k.cluster);
        sim_reply_json(rs, 200, json_incref(r->body));
    }
}

/* ------------------------------------------------------------------ patch and apply */

/* Does @cur already say everything @cfg says?  Lists compare element by
 * element, so server defaults inside list items (a port's protocol) are not
 * taken for a conflicting value. */
static int kube_subset(json_t *cfg, json_t *cur)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(cfg) && json_is_object(cur)) {
        json_object_foreach(cfg, key, v) if (!kube_subset(v, json_object_get(cur, key))) return 0;
        return 1;
    }
    if (json_is_array(cfg) && json_is_array(cur)) {
        if (json_array_size(cfg) != json_array_size(cur))
            return 0;
        json_array_foreach(cfg, i, v) if (!kube_subset(v, json_array_get(cur, i))) return 0;
        return 1;
    }
    return cur && json_equal(cfg, cur);
}

/* Server-side apply of rq->json onto @r (NULL: create). */
static void kube_apply(sim_req *rq, sim_resp *rs, kube_ctx *k, sim_res *r, const char *url_name)
{
    const char *manager = sim_query(rq, "fieldManager");
    int force = kube_query_true(rq, "force");
    json_t *cfg = rq->json;
    if (!manager || !*manager) {
        kube_status(rs, 400, NULL, NULL, "PATCH %s: fieldManager is required for apply requests",
                    rq->path);
        return;
    }
    if (!kube_check_body(rq, rs, k, cfg))
        return;
    if (!json_object_get(cfg, "kind") || !json_object_get(cfg, "apiVersion")) {
        kube_status(rs, 400, NULL, NULL, "apply requests need apiVersion and kind in the body");
        return;
    }
    const char *name = kube_meta_str(cfg, "name");
    if (!name || strcmp(name, url_name) != 0) {
        kube_status(rs, 400, NULL, NULL,
                    "the name of the object (%s) does not match the name on the URL (%s)",
                    name ? name : "", url_name);
        return;
    }
    if (!r) {
        json_t *body = json_deep_copy(cfg);
        json_object_del(body, "status");
        if (!(r = kube_create_obj(rq, rs, k, body, manager, "Apply")))
            return;
        json_object_set_new(kube_manager_entry(r, manager, "Apply", 1), "fields",
                            kube_fields_of(cfg, 1));
        kube_render_managed(r, k->t);
        kube_reconcile(k->cluster);
        sim_reply_json(rs, 201, json_incref(r->body));
        return;
    }
    json_t *newtree = kube_fields_of(cfg, 1), *leaves = json_array(), *p, *e;
    json_t *mine = kube_manager_entry(r, manager, "Apply", 1), *conflicts = json_array();
    size_t i, j;
    kube_leaves(newtree, "", leaves);
    json_array_foreach(leaves, i, p) {
        const char *path = json_string_value(p);
        json_t *cur = kube_at(r->body, path, 0, NULL, NULL);
        if (!cur || kube_subset(kube_at(cfg, path, 0, NULL, NULL), cur))
            continue;
        json_array_foreach(json_object_get(r->priv, "managed"), j, e) {
            if (e == mine || !kube_tree_has(json_object_get(e, "fields"), path))
                continue;
            if (force)
                kube_tree_remove(json_object_get(e, "fields"), path);
            else
                json_array_append_new(conflicts, json_pack("{s:s,s:O,s:s}", "type",
                                                           "FieldManagerConflict", "manager",
                                                           json_object_get(e, "manager"), "field",
                                                           path));
        }
    }
    if (json_array_size(conflicts)) {
        hoist_buf msg = {0};
        json_t *causes = json_array(), *c;
        hoist_buf_printf(&msg, "Apply failed with %zu conflict%s: ", json_array_size(conflicts),
                         json_array_size(conflicts) > 1 ? "s" : "");
        json_array_foreach(conflicts, i, c) {
            char *m = hoist_xasprintf("conflict with \"%s\": .%s",
                                      json_string_value(json_object_get(c, "manager")),
                                      json_string_value(json_object_get(c, "field")));
            char *f = hoist_xasprintf(".%s", json_string_value(json_object_get(c, "field")));
            hoist_buf_printf(&msg, "%s%s", i ? "\n" : "", m);
            json_array_append_new(causes, json_pack("{s:s,s:s,s:s}", "reason", "FieldManagerConflict",
                                                    "message", m, "field", f));
            free(m);
            free(f);
        }
        json_t *d = kube_details(k->t, url_name);
        json_object_set_new(d, "causes", causes);
        kube_status(rs, 409, "Conflict", d, "%s", msg.s);
        hoist_buf_free(&msg);
        goto cleanup;
    }
    /* fields this manager applied before and dropped now go away, unless shared */
    json_t *obj = json_deep_copy(r->body), *oldleaves = json_array();
    kube_leaves(json_object_get(mine, "fields"), "", oldleaves);
    json_array_foreach(oldleaves, i, p) {
        const char *path = json_string_value(p);
        int shared = kube_tree_has(newtree, path);
        json_array_foreach(json_object_get(r->priv, "managed"), j, e)
            shared |= e != mine && kube_tree_has(json_object_get(e, "fields"), path);
        if (!shared) {
            json_t *parent;
            char *last = NULL;
            if (kube_at(obj, path, 0, &parent, &last) && parent)
                json_object_del(parent, last);
            free(last);
        }
    }
    json_decref(oldleaves);
    json_t *patch = json_deep_copy(cfg);
    json_object_del(patch, "status");
    json_object_del(json_object_get(patch, "metadata"), "managedFields");
    json_t *merged = kube_merge(obj, patch);
    json_decref(obj);
    json_decref(patch);
    json_object_set_new(mine, "fields", json_incref(newtree));
    if (kube_commit(rs, k, r, merged, manager, 0) == 0) {
        kube_render_managed(r, k->t);
        kube_reconcile(k->cluster);
        sim_reply_json(rs, 200, json_incref(r->body));
    }
cleanup:
    json_decref(conflicts);
    json_decref(leaves);
    json_decref(newtree);
}

static void kube_patch(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    char mbuf[64];
    kube_ctx_init(rq, &k);
    const char *ct = sim_header_in(rq, "Content-Type");
    const char *url_name = k.name ? k.name : k.ns;
    sim_res *r = kube_obj_find(k.t, k.cluster, k.t->namespaced ? k.ns : NULL, url_name);
    if (!ct)
        ct = "";
    if (strncmp(ct, "application/apply-patch+yaml", 28) == 0) {
        if (!rq->json) {
            kube_status(rs, 400, NULL, NULL, "the apply patch body is empty");
            return;
        }
        kube_apply(rq, rs, &k, r, url_name);
        return;
    }
    if (strncmp(ct, "application/merge-patch+json", 28) != 0 &&
        strncmp(ct, "application/strategic-merge-patch+json", 38) != 0) {
        kube_status(rs, 415, NULL, NULL,
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/merge-patch+json, application/strategic-merge-patch+json, "
                    "application/apply-patch+yaml");
        return;
    }
    if (!r) {
        if (kube_ns_exists(rs, &k))
            kube_not_found(rs, k.t, url_name);
        return;
    }
    if (!json_is_object(rq->json)) {
        kube_status(rs, 400, NULL, NULL, "the patch must be a JSON object");
        return;
    }
    /* a strategic merge patch is applied as a merge patch (lists replaced whole) */
    json_t *obj = json_deep_copy(r->body);
    json_t *merged = kube_merge(obj, rq->json);
    json_decref(obj);
    json_object_set(merged, "status", json_object_get(r->body, "status"));
    if (kube_commit(rs, &k, r, merged, kube_manager(rq, mbuf, sizeof mbuf), 1) == 0) {
        kube_reconcile(k.cluster);
        sim_reply_json(rs, 200, json_incref(r->body));
    }
}

/* ------------------------------------------------------------------ delete */

static int kube_returns_object(const kube_type *t)
{
    /* the official documents answer these DELETEs with the object, others with a Status */
    return t == &kube_types[KT_PODS] || t == &kube_types[KT_SERVICES] || t == &kube_types[KT_PVCS];
}

static const char *kube_propagation(sim_req *rq)
{
    const char *p = sim_query(rq, "propagationPolicy");
    const char *body = json_string_value(json_object_get(rq->json, "propagationPolicy"));
    if (body)
        p = body;
    if (!p && json_is_false(json_object_get(rq->json, "orphanDependents")))
        p = "Background";
    return p ? p : "Background";
}

/* Delete @r and, for a namespace, everything in it.  Returns the answer body. */
static json_t *kube_delete_one(const kube_ctx *k, sim_res *r, const char *policy)
{
    char ts[32];
    json_t *last = json_deep_copy(r->body);
    json_object_set_new(json_object_get(last, "metadata"), "deletionTimestamp",
                        json_string(sim_rfc3339(sim_wall_ms(), ts)));
    if (r->kind == &kube_types[KT_NAMESPACES].sk) {
        const char *ns = kube_meta_str(r->body, "name");
        for (size_t i = 0; i < KT_COUNT; i++) {
            if (!kube_types[i].namespaced)
                continue;
            sim_res *c = sim_res_first(&kube_types[i].sk, k->cluster);
            while (c) {
                sim_res *next = sim_res_next(c, &kube_types[i].sk, k->cluster);
                if (strcmp(kube_meta_str(c->body, "namespace"), ns) == 0)
                    kube_obj_delete(c);
                c = next;
            }
        }
    } else {
        kube_delete_dependents(r, strcmp(policy, "Orphan") == 0);
    }
    const char *uid = kube_meta_str(last, "uid");
    const kube_type *t = k->t;
    json_t *answer = kube_returns_object(t)
                         ? json_incref(last)
                         : json_pack("{s:s,s:s,s:{},s:s,s:o}", "kind", "Status", "apiVersion", "v1",
                                     "metadata", "status", "Success", "details",
                                     kube_details(t, kube_meta_str(last, "name")));
    if (!kube_returns_object(t))
        json_object_set_new(json_object_get(answer, "details"), "uid", json_string(uid));
    kube_obj_delete(r);
    json_decref(last);
    return answer;
}

static void kube_delete(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    kube_ctx_init(rq, &k);
    const char *policy = kube_propagation(rq);
    if (strcmp(policy, "Background") != 0 && strcmp(policy, "Foreground") != 0 &&
        strcmp(policy, "Orphan") != 0) {
        kube_status(rs, 400, NULL, NULL,
                    "propagationPolicy %s is not one of Orphan, Background, Foreground", policy);
        return;
    }
    if (!kube_ns_exists(rs, &k))
        return;
    sim_res *r = kube_find_or_404(rs, &k);
    if (!r)
        return;
    json_t *answer = kube_delete_one(&k, r, policy);
    kube_reconcile(k.cluster);
    sim_reply_json(rs, 200, answer);
}

static void kube_delete_collection(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    kube_ctx_init(rq, &k);
    if (!kube_ns_exists(rs, &k))
        return;
    json_t *items = kube_select(rq, rs, &k), *obj;
    size_t i;
    if (!items)
        return;
    json_array_foreach(items, i, obj) {
        sim_res *r = sim_res_get(&k.t->sk, kube_meta_str(obj, "uid"));
        if (r)
            json_decref(kube_delete_one(&k, r, kube_propagation(rq)));
    }
    json_decref(items);
    kube_reconcile(k.cluster);
    sim_reply_json(rs, 200, json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1",
                                      "metadata", "status", "Success"));
}

/* ------------------------------------------------------------------ pod log */

static void kube_log(sim_req *rq, sim_resp *rs)
{
    kube_ctx k;
    kube_ctx_init(rq, &k);
    sim_res *r = kube_find_or_404(rs, &k);
    if (!r)
        return;
    const char *c = sim_query(rq, "container");
    int code = 200;
    char *text = kube_pod_log(r, c, kube_query_true(rq, "previous"), &code);
    if (code != 200) {
        kube_status(rs, code, NULL, NULL, "%s", text);
        free(text);
        return;
    }
    const char *tl = sim_query(rq, "tailLines");
    char *start = text;
    if (tl && atol(tl) >= 0) {
        long want = atol(tl), seen = 0;
        for (char *p = text + strlen(text); p > text; p--)
            if (p[-1] == '\n' && p[0] && ++seen > want - 0 && (start = p))
                break;
        if (want == 0)
            start = text + strlen(text);
    }
    sim_reply_text(rs, 200, "text/plain", start);
    free(text);
}

/* ------------------------------------------------------------------ registration */

static void kube_routes_for(const kube_type *t)
{
    char *base = *t->group ? hoist_xasprintf("/kube/{cluster}/apis/%s/%s", t->group, t->version)
                           : hoist_xstrdup("/kube/{cluster}/api/v1");
    char *coll, *item, *all = NULL;
    const sim_cloud *c = &kube_cloud;
    if (t->namespaced) {
        coll = hoist_xasprintf("%s/namespaces/{namespace}/%s", base, t->plural);
        item = hoist_xasprintf("%s/{name}", coll);
        all = hoist_xasprintf("%s/%s", base, t->plural);
    } else {
        coll = hoist_xasprintf("%s/%s", base, t->plural);
        item = hoist_xasprintf("%s/{name}", coll);
    }
    sim_route(c, "GET", coll, kube_list, 0);
    sim_route(c, "POST", coll, kube_create, 1);
    if (t->namespaced)
        sim_route(c, "DELETE", coll, kube_delete_collection, 1);
    sim_route(c, "GET", item, kube_get, 0);
    sim_route(c, "PUT", item, kube_replace, 1);
    sim_route(c, "PATCH", item, kube_patch, 1);
    sim_route(c, "DELETE", item, kube_delete, 1);
    if (all)
        sim_route(c, "GET", all, kube_list, 0);
    if (t == &kube_types[KT_PODS]) {
        char *log = hoist_xasprintf("%s/log", item);
        sim_route(c, "GET", log, kube_log, 0);
        free(log);
    }
    free(base);
    free(coll);
    free(item);
    free(all);
}

void sim_kube_register(void)
{
    char *err = NULL;
    sim_cloud_add(&kube_cloud);
    sim_kind_add(&kube_cluster_kind);
    for (size_t i = 0; i < KT_COUNT; i++)
        sim_kind_add(&kube_types[i].sk);
    /* pods take this long to become ready; --delay rollout=... overrides it */
    if (sim_delays_parse("rollout=500ms", &err) != 0)
        abort(); /* a constant spec: cannot fail */
    sim_route(&kube_cloud, "GET", "/kube/{cluster}/version", kube_version, 0);
    sim_route(&kube_cloud, "GET", "/kube/{cluster}/api", kube_api_root, 0);
    sim_route(&kube_cloud, "GET", "/kube/{cluster}/apis", kube_apis_root, 0);
    /* the official documents spell the group-version paths with a trailing slash */
    sim_route(&kube_cloud, "GET", "/kube/{cluster}/api/v1", kube_core_resources, 0);
    sim_route(&kube_cloud, "GET", "/kube/{cluster}/api/v1/", kube_core_resources, 0);
    for (size_t i = 0; i < sizeof kube_groups / sizeof kube_groups[0]; i++)
        for (int slash = 0; slash < 2; slash++) {
            char *t = hoist_xasprintf("/kube/{cluster}/apis/%s/%s%s", kube_groups[i][0],
                                      kube_groups[i][1], slash ? "/" : "");
            sim_route(&kube_cloud, "GET", t, kube_group_resources, 0);
            free(t);
        }
    for (size_t i = 0; i < KT_COUNT; i++)
        kube_routes_for(&kube_types[i]);
}
