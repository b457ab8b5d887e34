/* kube.c - Kubernetes API client over hoist_http (see kube.h). */
#include "kube.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "plan.h"
#include "util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hoist_kube {
    pthread_mutex_t mu;
    hoist_kube_creds_fn fn;
    void *arg;
    void (*arg_free)(void *);
    hoist_cluster_credentials c; /* c.endpoint NULL until fetched */
    unsigned generation;         /* bumped on every refresh */
};

/* Kinds hoist manages: where they live in the REST tree. */
static const struct kube_kind {
    const char *kind, *plural;
    int namespaced;
} kinds[] = {
    {"Namespace", "namespaces", 0},
    {"Secret", "secrets", 1},
    {"ConfigMap", "configmaps", 1},
    {"Service", "services", 1},
    {"PersistentVolumeClaim", "persistentvolumeclaims", 1},
    {"Pod", "pods", 1},
    {"Deployment", "deployments", 1},
    {"StatefulSet", "statefulsets", 1},
    {"ReplicaSet", "replicasets", 1},
    {"Ingress", "ingresses", 1},
    {"HorizontalPodAutoscaler", "horizontalpodautoscalers", 1},
};

void hoist_kube_credentials_clear(hoist_cluster_credentials *c)
{
    free(c->endpoint);
    free(c->ca_pem);
    free(c->token);
    c->endpoint = c->ca_pem = c->token = NULL;
    c->expires_at = 0;
}

static void creds_copy(hoist_cluster_credentials *dst, const hoist_cluster_credentials *src)
{
    dst->struct_size = sizeof *dst;
    dst->endpoint = hoist_xstrdup(src->endpoint);
    dst->ca_pem = hoist_xstrdup(src->ca_pem);
    dst->token = hoist_xstrdup(src->token);
    dst->expires_at = src->expires_at;
}

hoist_kube *hoist_kube_new(hoist_kube_creds_fn fn, void *arg, void (*arg_free)(void *))
{
    hoist_kube *k = hoist_xcalloc(1, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    k->fn = fn;
    k->arg = arg;
    k->arg_free = arg_free;
    return k;
}

hoist_kube *hoist_kube_new_static(const char *endpoint, const char *ca_pem, const char *token)
{
    hoist_kube *k = hoist_kube_new(NULL, NULL, NULL);
    hoist_cluster_credentials c = {.endpoint = (char *)endpoint, .ca_pem = (char *)ca_pem,
                                   .token = (char *)token};
    creds_copy(&k->c, &c);
    if (token)
        hoist_secret_add(token);
    return k;
}

void hoist_kube_free(hoist_kube *k)
{
    if (!k)
        return;
    hoist_kube_credentials_clear(&k->c);
    if (k->arg_free)
        k->arg_free(k->arg);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* Expired (or about to: a minute of margin for slow calls)? */
static int creds_stale(const hoist_cluster_credentials *c)
{
    return !c->endpoint || (c->expires_at && (int64_t)time(NULL) + 60 >= c->expires_at);
}

/*
 * Make sure the cached credentials are usable; @force_gen: refresh if the
 * cache is still at that generation (after a 401), or -1.  Copies them to
 * @out and the generation to *gen.
 */
static hoist_status creds_get(hoist_kube *k, hoist_ctx *ctx, long force_gen,
                              hoist_cluster_credentials *out, unsigned *gen)
{
    pthread_mutex_lock(&k->mu);
    int need = creds_stale(&k->c) || (force_gen >= 0 && (unsigned)force_gen == k->generation);
    pthread_mutex_unlock(&k->mu);
    if (need && k->fn) {
        hoist_cluster_credentials fresh = {.struct_size = sizeof fresh};
        hoist_status st = k->fn(k->arg, ctx, &fresh);
        if (st != HOIST_OK) {
            hoist_kube_credentials_clear(&fresh);
            return st;
        }
        if (!fresh.endpoint || !*fresh.endpoint) {
            hoist_kube_credentials_clear(&fresh);
            return hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                                  "the cluster's credentials have no API endpoint");
        }
        if (fresh.token)
            hoist_secret_add(fresh.token);
        /* Endpoints are documented without a trailing slash; be lenient. */
        size_t n = strlen(fresh.endpoint);
        while (n > 0 && fresh.endpoint[n - 1] == '/')
            fresh.endpoint[--n] = '\0';
        pthread_mutex_lock(&k->mu);
        hoist_kube_credentials_clear(&k->c);
        k->c = fresh;
        k->generation++;
        pthread_mutex_unlock(&k->mu);
    } else if (need && !k->c.endpoint) {
        return hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "no Kubernetes credentials configured");
    }
    pthread_mutex_lock(&k->mu);
    creds_copy(out, &k->c);
    *gen = k->generation;
    pthread_mutex_unlock(&k->mu);
    return HOIST_OK;
}

hoist_status hoist_kube_credentials(hoist_kube *k, hoist_ctx *ctx, hoist_cluster_credentials *out)
{
    unsigned gen;
    return creds_get(k, ctx, -1, out, &gen);
}

static const struct kube_kind *kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

char *hoist_kube_path(const char *api_version, const char *kind, const char *ns, const char *name)
{
    const struct kube_kind *kk = kind_find(kind);
    if (!kk || !api_version)
        return NULL;
    hoist_buf b = {0};
    /* The core group ("v1") lives under /api, named groups under /apis. */
    hoist_buf_printf(&b, "%s/%s", strchr(api_version, '/') ? "/apis" : "/api", api_version);
    if (kk->namespaced && ns)
        hoist_buf_printf(&b, "/namespaces/%s", ns);
    hoist_buf_printf(&b, "/%s", kk->plural);
    if (name)
        hoist_buf_printf(&b, "/%s", name);
    return hoist_buf_steal(&b);
}

char *hoist_kube_object_path(const json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    return hoist_kube_path(json_string_value(json_object_get(obj, "apiVersion")),
                           json_string_value(json_object_get(obj, "kind")),
                           json_string_value(json_object_get(md, "namespace")),
                           json_string_value(json_object_get(md, "name")));
}

hoist_status hoist_kube_request(hoist_kube *k, hoist_ctx *ctx, const char *method, const char *path,
                                const char *ctype, const char *body, hoist_http_response *resp)
{
    hoist_status st = HOIST_OK;
    long force_gen = -1;
    memset(resp, 0, sizeof *resp);
    for (int attempt = 0; attempt < 2; attempt++) {
        hoist_cluster_credentials c = {0};
        unsigned gen = 0;
        st = creds_get(k, ctx, force_gen, &c, &gen);
        if (st != HOIST_OK)
            return st;
        char *url = hoist_xasprintf("%s%s", c.endpoint, path);
        char *auth = c.token ? hoist_xasprintf("Authorization: Bearer %s", c.token) : NULL;
        char *ct = ctype ? hoist_xasprintf("Content-Type: %s", ctype) : NULL;
        const char *headers[5];
        size_t nh = 0;
        headers[nh++] = "Accept: application/json";
        if (auth)
            headers[nh++] = auth;
        if (ct)
            headers[nh++] = ct;
        headers[nh] = NULL;
        char *op = hoist_xasprintf("kube %s %s", method, path);
        char *q = strchr(op, '?');
        if (q)
            *q = '\0'; /* counters by path, not by query */
        hoist_http_request req = {
            .struct_size = sizeof req, .method = method, .url = url, .headers = headers,
            .body = body, .body_len = body ? strlen(body) : 0, .operation = op,
            .ca_pem = c.ca_pem,
            /* Apply and merge patch are idempotent by construction. */
            .flags = HOIST_HTTP_IDEMPOTENT |
                     (strncmp(c.endpoint, "http://", 7) == 0 ? HOIST_HTTP_ALLOW_PLAIN_LOOPBACK : 0),
        };
        st = hoist_http(ctx, &req, resp);
        free(op);
        free(ct);
        free(auth);
        free(url);
        hoist_kube_credentials_clear(&c);
        if (st != HOIST_OK || resp->status != 401 || !k->fn || attempt == 1)
            break;
        /* The token was refused: it may have been rotated.  Once more with fresh ones. */
        hoist_log(HOIST_LOG_DEBUG_, NULL, "kube: 401 on %s %s; refreshing cluster credentials",
                  method, path);
        hoist_http_response_free(resp);
        memset(resp, 0, sizeof *resp);
        force_gen = gen;
    }
    return st;
}

/* The longest server reason an error message carries (a 422 lists every
   invalid field; a page of HTML from a proxy is cut here). */
#define KUBE_REASON_MAX 4096

/*
 * The reason of a failure Status (new string): its message in full, then
 * each of details.causes the message does not already say ("field: why"),
 * masked and bounded by KUBE_REASON_MAX.
 */
static char *status_reason(const char *msg, json_t *details)
{
    hoist_buf b = {0};
    hoist_buf_puts(&b, msg && *msg ? msg : "no message");
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(details, "causes"), i, c) {
        const char *cm = json_string_value(json_object_get(c, "message"));
        const char *cf = json_string_value(json_object_get(c, "field"));
        if (!cm || (msg && strstr(msg, cm)))
            continue;
        hoist_buf_printf(&b, "; %s%s%s", cf && *cf ? cf : "", cf && *cf ? ": " : "", cm);
    }
    char *out = hoist_mask_secrets(b.s, b.len, KUBE_REASON_MAX);
    hoist_buf_free(&b);
    return out;
}

hoist_status hoist_kube_error(hoist_ctx *ctx, const hoist_http_response *resp, const char *what)
{
    long s = resp->status;
    hoist_status st = s == 401 || s == 403                 ? HOIST_E_AUTH
                      : s == 404 || s == 410               ? HOIST_E_NOTFOUND
                      : s == 409                           ? HOIST_E_CONFLICT
                      : s == 400 || s == 422 || s == 415   ? HOIST_E_INVALID
                      : s == 429 || (s >= 500 && s <= 599) ? HOIST_E_TRANSIENT
                                                           : HOIST_E_INTERNAL;
    json_t *j = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, NULL);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    if (kind && strcmp(kind, "Status") == 0) {
        const char *reason = json_string_value(json_object_get(j, "reason"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        long code = (long)json_integer_value(json_object_get(j, "code"));
        const char *hint = "";
        if (st == HOIST_E_AUTH)
            hint = " (check the cluster's credentials: hoist kubeconfig shows what hoist uses)";
        else if (st == HOIST_E_CONFLICT && msg && strstr(msg, "conflict"))
            hint = " (another field manager owns these fields; hoist forces only on objects "
                   "labelled app.kubernetes.io/managed-by=hoist)";
        char *why = status_reason(msg, json_object_get(j, "details"));
        hoist_ctx_fail(ctx, st, "%s: HTTP %ld %s: %s (code %ld)%s", what, s,
                       reason ? reason : "Failure", why, code ? code : s, hint);
        free(why);
    } else {
        /* An admission webhook or a proxy in front of the API server answers
           in its own words: show them, bounded only against a runaway page. */
        char *snippet = hoist_mask_secrets(resp->body ? resp->body : "", resp->body_len,
                                           KUBE_REASON_MAX);
        hoist_ctx_fail(ctx, st, "%s: HTTP %ld%s%s", what, s, *snippet ? ": " : "", snippet);
        free(snippet);
    }
    json_decref(j);
    return st;
}

/* Decode a JSON answer; a 2xx that is not JSON is a server bug worth reporting. */
static hoist_status parse_body(hoist_ctx *ctx, const hoist_http_response *resp, const char *what,
                               json_t **out)
{
    json_error_t e;
    json_t *j = json_loadb(resp->body, resp->body_len, 0, &e);
    if (!j)
        return hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "%s: the answer is not JSON: %s", what, e.text);
    *out = j;
    return HOIST_OK;
}

/* One call whose 2xx answer is JSON; @absent_ok: 404 is returned unreported. */
static hoist_status call_json(hoist_kube *k, hoist_ctx *ctx, const char *method, const char *path,
                              const char *ctype, const char *body, int absent_ok, json_t **out)
{
    hoist_http_response resp;
    char *what = hoist_xasprintf("Kubernetes %s %s", method, path);
    char *q = strchr(what, '?');
    if (q)
        *q = '\0';
    if (out)
        *out = NULL;
    hoist_status st = hoist_kube_request(k, ctx, method, path, ctype, body, &resp);
    if (st != HOIST_OK)
        goto cleanup;
    if (resp.status == 404 && absent_ok)
        st = HOIST_E_NOTFOUND;
    else if (resp.status < 200 || resp.status > 299)
        st = hoist_kube_error(ctx, &resp, what);
    else if (out)
        st = parse_body(ctx, &resp, what, out);
    hoist_http_response_free(&resp);
cleanup:
    free(what);
    return st;
}

hoist_status hoist_kube_get(hoist_kube *k, hoist_ctx *ctx, const char *path, json_t **out)
{
    return call_json(k, ctx, "GET", path, NULL, NULL, 1, out);
}

hoist_status hoist_kube_list(hoist_kube *k, hoist_ctx *ctx, const char *path,
                             const char *label_selector, json_t **items)
{
    char *full;
    if (label_selector) {
        char *sel = hoist_url_escape(label_selector);
        full = hoist_xasprintf("%s?labelSelector=%s", path, sel);
        free(sel);
    } else {
        full = hoist_xstrdup(path);
    }
    json_t *list = NULL;
    *items = NULL;
    hoist_status st = call_json(k, ctx, "GET", full, NULL, NULL, 1, &list);
    if (st == HOIST_E_NOTFOUND) {
        /* The namespace does not exist (yet): nothing in it. */
        *items = json_array();
        st = HOIST_OK;
    } else if (st == HOIST_OK) {
        json_t *a = json_object_get(list, "items");
        *items = json_is_array(a) ? json_incref(a) : json_array();
    }
    json_decref(list);
    free(full);
    return st;
}

hoist_status hoist_kube_apply(hoist_kube *k, hoist_ctx *ctx, const json_t *obj, int force,
                              json_t **live)
{
    char *path = hoist_kube_object_path(obj);
    if (!path)
        return hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot apply an object of kind %s",
                              json_string_value(json_object_get(obj, "kind")));
    char *full = hoist_xasprintf("%s?fieldManager=" HOIST_KUBE_MANAGER "%s", path,
                                 force ? "&force=true" : "");
    /* JSON is YAML, so the apply body needs no YAML writer. */
    char *body = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *got = NULL;
    hoist_status st =
        call_json(k, ctx, "PATCH", full, "application/apply-patch+yaml", body, 0, &got);
    if (live)
        *live = got;
    else
        json_decref(got);
    free(body);
    free(full);
    free(path);
    return st;
}

hoist_status hoist_kube_merge_patch(hoist_kube *k, hoist_ctx *ctx, const char *path,
                                    const json_t *patch, json_t **live)
{
    char *full = hoist_xasprintf("%s?fieldManager=" HOIST_KUBE_MANAGER, path);
    char *body = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *got = NULL;
    hoist_status st =
        call_json(k, ctx, "PATCH", full, "application/merge-patch+json", body, 0, &got);
    if (live)
        *live = got;
    else
        json_decref(got);
    free(body);
    free(full);
    return st;
}

hoist_status hoist_kube_delete(hoist_kube *k, hoist_ctx *ctx, const char *path,
                               const char *propagation)
{
    char *full = propagation ? hoist_xasprintf("%s?propagationPolicy=%s", path, propagation)
                             : hoist_xstrdup(path);
    hoist_status st = call_json(k, ctx, "DELETE", full, NULL, NULL, 1, NULL);
    free(full);
    return st == HOIST_E_NOTFOUND ? HOIST_OK : st;
}

hoist_status hoist_kube_get_text(hoist_kube *k, hoist_ctx *ctx, const char *path, char **out)
{
    hoist_http_response resp;
    *out = NULL;
    char *what = hoist_xasprintf("Kubernetes GET %s", path);
    char *q = strchr(what, '?');
    if (q)
        *q = '\0';
    hoist_status st = hoist_kube_request(k, ctx, "GET", path, NULL, NULL, &resp);
    if (st == HOIST_OK) {
        if (resp.status < 200 || resp.status > 299)
            st = hoist_kube_error(ctx, &resp, what);
        else
            *out = hoist_xstrndup(resp.body, resp.body_len);
        hoist_http_response_free(&resp);
    }
    free(what);
    return st;
}

