/* check_kube.c - manifests, rollout verdicts and the Kubernetes client (against a local server). */
#include "host.h"
#include "http.h"
#include "kube.h"
#include "util.h"
#include "log.h"
#include "state.h"
#include "testutil.h"
#include "workload.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>

/* ---------------------------------------------------------------- manifests */

static json_t *app_spec(void)
{
    return json_pack("{s:s,s:s,s:i,s:{s:i,s:i},s:s,s:b,s:{s:s,s:s}}", "name", "api", "image",
                     "docker.io/library/nginx:1", "port", 3000, "instances", "min", 2, "max", 5,
                     "healthcheck", "/health", "public", 1, "env", "NODE_ENV", "production",
                     "DATABASE_URL", "postgresql://u:p@h:5432/d");
}

static json_t *find_kind(json_t *objs, const char *kind)
{
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) if (strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0) return o;
    return NULL;
}

static const char *jpath(json_t *o, const char *path)
{
    /* "a.b.0.c": objects by key, arrays by index. */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(t, NULL, 10)) : json_object_get(cur, t);
    static __thread char out[512];
    if (json_is_string(cur))
        return json_string_value(cur);
    if (json_is_integer(cur)) {
        snprintf(out, sizeof out, "%lld", (long long)json_integer_value(cur));
        return out;
    }
    return cur ? "<non-scalar>" : "<missing>";
}

START_TEST(namespace_name)
{
    char *ns = hoist_workload_namespace("Shop", "dev");
    ck_assert_str_eq(ns, "shop-dev");
    free(ns);
    ns = hoist_workload_namespace("a_b", "x--");
    ck_assert_str_eq(ns, "a-b-x");
    free(ns);
}
END_TEST

START_TEST(app_objects)
{
    json_t *spec = app_spec();
    json_t *needs = json_pack("{s:{s:{s:s,s:s}}}", "image", "api", "reference",
                              "registry.example:5000/shop/api:v3", "digest", "sha256:abcd");
    json_t *settings = json_pack("{s:{s:s,s:s,s:{s:s}}}", "ingress", "class", "nginx",
                                 "tls_secret", "tls", "annotations", "a/b", "c");
    char *err = NULL;
    json_t *objs = hoist_workload_app_manifests("shop", "dev", "api", spec, needs, settings, &err);
    ck_assert_ptr_nonnull(objs);
    ck_assert_int_eq(json_array_size(objs), 5);
    /* Apply order: the Secret before the Deployment that reads it. */
    ck_assert_str_eq(jpath(objs, "0.kind"), "Secret");
    ck_assert_str_eq(jpath(objs, "1.kind"), "Deployment");
    json_t *sec = find_kind(objs, "Secret");
    ck_assert_str_eq(jpath(sec, "metadata.name"), "api-env");
    ck_assert_str_eq(jpath(sec, "metadata.namespace"), "shop-dev");
    ck_assert_str_eq(jpath(sec, "data.NODE_ENV"), "cHJvZHVjdGlvbg==");
    json_t *dep = find_kind(objs, "Deployment");
    ck_assert_str_eq(jpath(dep, "apiVersion"), "apps/v1");
    /* Run by digest, the tag dropped. */
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.image"),
                     "registry.example:5000/shop/api@sha256:abcd");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.envFrom.0.secretRef.name"), "api-env");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.readinessProbe.httpGet.path"), "/health");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.livenessProbe.httpGet.port"), "http");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.ports.0.containerPort"), "3000");
    ck_assert_str_eq(jpath(dep, "spec.strategy.type"), "RollingUpdate");
    /* An autoscaler owns the replica count. */
    ck_assert_str_eq(jpath(dep, "spec.replicas"), "<missing>");
    json_t *lb = json_object_get(json_object_get(dep, "metadata"), "labels");
    ck_assert_str_eq(json_string_value(json_object_get(lb, "app.kubernetes.io/managed-by")), "hoist");
    ck_assert_str_eq(json_string_value(json_object_get(lb, "app.kubernetes.io/name")), "api");
    ck_assert_str_eq(json_string_value(json_object_get(lb, "app.kubernetes.io/instance")), "shop-dev");
    json_t *ml = json_object_get(json_object_get(json_object_get(dep, "spec"), "selector"), "matchLabels");
    ck_assert_str_eq(json_string_value(json_object_get(ml, "app.kubernetes.io/name")), "api");
    json_t *svc = find_kind(objs, "Service");
    ck_assert_str_eq(jpath(svc, "spec.type"), "ClusterIP");
    ck_assert_str_eq(jpath(svc, "spec.ports.0.port"), "80");
    ck_assert_str_eq(jpath(svc, "spec.ports.0.targetPort"), "3000");
    json_t *ing = find_kind(objs, "Ingress");
    ck_assert_str_eq(jpath(ing, "spec.ingressClassName"), "nginx");
    ck_assert_str_eq(jpath(ing, "spec.rules.0.host"), "api.dev.shop.hoist.local");
    ck_assert_str_eq(jpath(ing, "spec.rules.0.http.paths.0.backend.service.name"), "api");
    ck_assert_str_eq(jpath(ing, "spec.tls.0.secretName"), "tls");
    ck_assert_str_eq(jpath(ing, "spec.tls.0.hosts.0"), "api.dev.shop.hoist.local");
    json_t *hpa = find_kind(objs, "HorizontalPodAutoscaler");
    ck_assert_str_eq(jpath(hpa, "apiVersion"), "autoscaling/v2");
    ck_assert_str_eq(jpath(hpa, "spec.minReplicas"), "2");
    ck_assert_str_eq(jpath(hpa, "spec.maxReplicas"), "5");
    ck_assert_str_eq(jpath(hpa, "spec.scaleTargetRef.name"), "api");
    /* The stamp is the hash of the object without the stamp. */
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        json_t *c = json_deep_copy(o);
        const char *h = hoist_workload_hash(o);
        ck_assert_ptr_nonnull(h);
        json_t *ann = json_object_get(json_object_get(c, "metadata"), "annotations");
        json_object_del(ann, HOIST_KUBE_ANN_HASH);
        if (json_object_size(ann) == 0)
            json_object_del(json_object_get(c, "metadata"), "annotations");
        char *want = hoist_json_sha256(c);
        ck_assert_str_eq(h, want);
        free(want);
        json_decref(c);
    }
    /* Same input, same hashes; a changed variable changes the Secret's and the Deployment's. */
    json_t *again = hoist_workload_app_manifests("shop", "dev", "api", spec, needs, settings, &err);
    ck_assert_str_eq(hoist_workload_hash(json_array_get(again, 1)), hoist_workload_hash(dep));
    json_decref(again);
    json_object_set_new(json_object_get(spec, "env"), "NODE_ENV", json_string("staging"));
    again = hoist_workload_app_manifests("shop", "dev", "api", spec, needs, settings, &err);
    ck_assert_str_ne(hoist_workload_hash(json_array_get(again, 0)), hoist_workload_hash(sec));
    ck_assert_str_ne(hoist_workload_hash(json_array_get(again, 1)), hoist_workload_hash(dep));
    ck_assert_str_eq(hoist_workload_hash(find_kind(again, "Service")), hoist_workload_hash(svc));
    json_decref(again);
    json_decref(objs);
    json_decref(settings);
    json_decref(needs);
    json_decref(spec);
}
END_TEST

START_TEST(app_plain)
{
    /* A private worker with a fixed count: no Service, Ingress or HPA; `image:` as given. */
    json_t *spec = json_pack("{s:s,s:{s:i,s:i}}", "image", "busybox:1", "instances", "min", 3, "max", 3);
    json_t *needs = json_object();
    char *err = NULL;
    json_t *objs = hoist_workload_app_manifests("p", "e", "w", spec, needs, NULL, &err);
    ck_assert_int_eq(json_array_size(objs), 2);
    json_t *dep = find_kind(objs, "Deployment");
    ck_assert_str_eq(jpath(dep, "spec.replicas"), "3");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.image"), "busybox:1");
    ck_assert_str_eq(jpath(dep, "spec.template.spec.containers.0.readinessProbe"), "<missing>");
    json_decref(objs);
    json_object_del(spec, "image");
    ck_assert_ptr_null(hoist_workload_app_manifests("p", "e", "w", spec, needs, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err, "no image"));
    free(err);
    json_decref(needs);
    json_decref(spec);
}
END_TEST

START_TEST(db_objects)
{
    json_t *conn = NULL;
    char *err = NULL;
    json_t *spec = json_pack("{s:s,s:s,s:i}", "engine", "postgresql", "version", "15", "storage", 20);
    json_t *objs = hoist_workload_db_manifests("shop", "dev", "main-db2", spec, "pw123456", NULL,
                                               NULL, &conn, &err);
    ck_assert_ptr_nonnull(objs);
    json_t *sts = find_kind(objs, "StatefulSet");
    ck_assert_str_eq(jpath(sts, "metadata.name"), "main-db2-db");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.image"), "postgres:15");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.env.1.name"), "POSTGRES_PASSWORD");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.env.1.valueFrom.secretKeyRef.key"), "password");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.env.2.value"), "main_db2");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.volumes.0.persistentVolumeClaim.claimName"), "main-db2-db-data");
    ck_assert_str_eq(jpath(find_kind(objs, "PersistentVolumeClaim"), "spec.resources.requests.storage"), "20Gi");
    ck_assert_str_eq(jpath(find_kind(objs, "Secret"), "data.password"), "cHcxMjM0NTY=");
    ck_assert_str_eq(jpath(find_kind(objs, "Service"), "spec.ports.0.port"), "5432");
    ck_assert_str_eq(jpath(conn, "host"), "main-db2-db.shop-dev.svc.cluster.local");
    ck_assert_str_eq(jpath(conn, "user"), "hoist");
    ck_assert_str_eq(jpath(conn, "database"), "main_db2");
    json_decref(objs);
    json_decref(conn);
    json_object_set_new(spec, "engine", json_string("redis"));
    json_object_del(spec, "version");
    objs = hoist_workload_db_manifests("shop", "dev", "cache", spec, "pw123456", NULL, NULL, &conn, &err);
    sts = find_kind(objs, "StatefulSet");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.image"), "redis:7");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.args.0"), "--requirepass");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.args.1"), "$(REDIS_PASSWORD)");
    ck_assert_str_eq(jpath(conn, "port"), "6379");
    json_decref(objs);
    json_decref(conn);
    json_object_set_new(spec, "engine", json_string("mysql"));
    objs = hoist_workload_db_manifests("shop", "dev", "m", spec, "pw123456", "root9999", NULL, &conn, &err);
    sts = find_kind(objs, "StatefulSet");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.env.0.name"), "MYSQL_ROOT_PASSWORD");
    ck_assert_str_eq(jpath(sts, "spec.template.spec.containers.0.env.0.valueFrom.secretKeyRef.key"), "root-password");
    ck_assert_str_eq(jpath(find_kind(objs, "Secret"), "data.root-password"), "cm9vdDk5OTk=");
    json_decref(objs);
    json_decref(conn);
    json_object_set_new(spec, "engine", json_string("mongodb"));
    objs = hoist_workload_db_manifests("shop", "dev", "m", spec, "pw123456", NULL, NULL, &conn, &err);
    ck_assert_str_eq(jpath(find_kind(objs, "StatefulSet"), "spec.template.spec.containers.0.env.1.name"),
                     "MONGO_INITDB_ROOT_PASSWORD");
    json_decref(objs);
    json_decref(conn);
    json_object_set_new(spec, "engine", json_string("oracle"));
    ck_assert_ptr_null(hoist_workload_db_manifests("shop", "dev", "m", spec, "pw", NULL, NULL, NULL, &err));
    free(err);
    json_decref(spec);
}
END_TEST

START_TEST(rollout_verdicts)
{
    const char *why = NULL;
    json_t *d = json_loads("{\"kind\":\"Deployment\",\"metadata\":{\"generation\":3},\"spec\":{\"replicas\":2},"
                           "\"status\":{\"observedGeneration\":2,\"replicas\":2,\"updatedReplicas\":2,\"availableReplicas\":2}}", 0, NULL);
    ck_assert_int_eq(hoist_workload_rollout(d, &why), 0); /* controller has not seen generation 3 */
    json_object_set_new(json_object_get(d, "status"), "observedGeneration", json_integer(3));
    ck_assert_int_eq(hoist_workload_rollout(d, &why), 1);
    json_object_set_new(json_object_get(d, "status"), "replicas", json_integer(3)); /* an old pod left */
    ck_assert_int_eq(hoist_workload_rollout(d, &why), 0);
    json_object_set_new(json_object_get(d, "status"), "conditions",
                        json_loads("[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]", 0, NULL));
    ck_assert_int_eq(hoist_workload_rollout(d, &why), -1);
    json_decref(d);
    json_t *pods = json_loads(
        "[{\"metadata\":{\"name\":\"api-1\"},\"status\":{\"containerStatuses\":[{\"name\":\"api\",\"state\":"
        "{\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":\"back-off 10s\"}}}]}},"
        "{\"metadata\":{\"name\":\"api-2\"},\"status\":{\"containerStatuses\":[{\"name\":\"api\",\"state\":{\"running\":{}}}]}}]",
        0, NULL);
    char *p = hoist_workload_pod_problems(pods);
    ck_assert_str_eq(p, "pod api-1/api: CrashLoopBackOff: back-off 10s");
    free(p);
    json_decref(pods);
}
END_TEST

START_TEST(paths_and_b64)
{
    char *p = hoist_kube_path("apps/v1", "Deployment", "ns", "api");
    ck_assert_str_eq(p, "/apis/apps/v1/namespaces/ns/deployments/api");
    free(p);
    p = hoist_kube_path("v1", "Namespace", "ignored", "x");
    ck_assert_str_eq(p, "/api/v1/namespaces/x");
    free(p);
    p = hoist_kube_path("v1", "Pod", "ns", NULL);
    ck_assert_str_eq(p, "/api/v1/namespaces/ns/pods");
    free(p);
    ck_assert_ptr_null(hoist_kube_path("v1", "Widget", "ns", "x"));
    char *b = hoist_base64_encode("ab", 2);
    ck_assert_str_eq(b, "YWI=");
    size_t n;
    char *d = hoist_base64_decode(b, &n);
    ck_assert_str_eq(d, "ab");
    ck_assert_int_eq(n, 2);
    free(d);
    free(b);
    ck_assert_ptr_null(hoist_base64_decode("abc", NULL));
    /* PEM and kubeconfig data wrap lines: white space is skipped. */
    d = hoist_base64_decode("YW\nJj\r\nZA==\n", &n);
    ck_assert_str_eq(d, "abcd");
    ck_assert_int_eq(n, 4);
    free(d);
}
END_TEST

/* ---------------------------------------------------------------- client vs a local server */

typedef struct srv {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int hits;
    int status[8];
    const char *body[8];
    int n;
    char method[16], url[512], ctype[128], auth[256], reqbody[2048];
} srv;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    char *u = cls;
    size_t l = strlen(u);
    snprintf(u + l, 512 - l, "%c%s=%s", strchr(u, '?') ? '&' : '?', k, v ? v : "");
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    srv *s = cls;
    if (!*con_cls) {
        *con_cls = calloc(1, 2048);
        return MHD_YES;
    }
    char *body = *con_cls;
    if (*upload_size) {
        size_t l = strlen(body);
        snprintf(body + l, 2048 - l, "%.*s", (int)*upload_size, upload);
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    int i = s->hits++;
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->url, sizeof s->url, "%s", url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, s->url);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *au = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(s->ctype, sizeof s->ctype, "%s", ct ? ct : "");
    snprintf(s->auth, sizeof s->auth, "%s", au ? au : "");
    snprintf(s->reqbody, sizeof s->reqbody, "%s", body);
    int k = i < s->n ? i : s->n - 1;
    int st = s->status[k];
    const char *b = s->body[k];
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)st, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    free(*con_cls);
    *con_cls = NULL;
}

static srv S;

static void srv_start(void)
{
    memset(&S, 0, sizeof S);
    pthread_mutex_init(&S.mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handler, &S, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                           completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(S.d);
    S.port = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    hoist_http_set_backoff(1, 5, 200, 0);
}

static void srv_stop(void)
{
    MHD_stop_daemon(S.d);
    pthread_mutex_destroy(&S.mu);
}

static void script(int n, const int *st, const char *const *bodies)
{
    pthread_mutex_lock(&S.mu);
    S.n = n;
    S.hits = 0;
    for (int i = 0; i < n; i++) {
        S.status[i] = st[i];
        S.body[i] = bodies[i];
    }
    pthread_mutex_unlock(&S.mu);
}

static int creds_calls;
static hoist_status test_creds(void *arg, hoist_ctx *ctx, hoist_cluster_credentials *out)
{
    (void)ctx;
    int *port = arg;
    creds_calls++;
    char ep[64], tok[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/", *port);
    snprintf(tok, sizeof tok, "token-number-%d", creds_calls);
    out->endpoint = strdup(ep);
    out->token = strdup(tok);
    return HOIST_OK;
}

START_TEST(client_apply_and_errors)
{
    srv_start();
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", S.port);
    hoist_kube *k = hoist_kube_new_static(ep, NULL, "static-token-1");
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "test");
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
                            "metadata", "name", "api", "namespace", "ns");
    const int ok200[] = {200};
    const char *const live[] = {"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\"}}"};
    script(1, ok200, live);
    json_t *got = NULL;
    ck_assert_int_eq(hoist_kube_apply(k, &ctx, obj, 1, &got), HOIST_OK);
    ck_assert_str_eq(S.method, "PATCH");
    ck_assert_str_eq(S.url, "/apis/apps/v1/namespaces/ns/deployments/api?fieldManager=hoist&force=true");
    ck_assert_str_eq(S.ctype, "application/apply-patch+yaml");
    ck_assert_str_eq(S.auth, "Bearer static-token-1");
    json_t *sent = json_loads(S.reqbody, 0, NULL);
    ck_assert(json_equal(sent, obj));
    json_decref(sent);
    ck_assert_str_eq(json_string_value(json_object_get(got, "kind")), "Deployment");
    json_decref(got);
    /* Not hoist's object: no force. */
    ck_assert_int_eq(hoist_kube_apply(k, &ctx, obj, 0, NULL), HOIST_OK);
    ck_assert_str_eq(S.url, "/apis/apps/v1/namespaces/ns/deployments/api?fieldManager=hoist");

    const int conflict[] = {409};
    const char *const status[] = {"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                                  "\"message\":\"Apply failed with 1 conflict: conflict with \\\"kubectl\\\": .spec.replicas\","
                                  "\"reason\":\"Conflict\",\"code\":409}"};
    script(1, conflict, status);
    ck_assert_int_eq(hoist_kube_apply(k, &ctx, obj, 0, NULL), HOIST_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "HTTP 409 Conflict: Apply failed with 1 conflict"));
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "(code 409)"));
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "managed-by=hoist"));
    hoist_ctx_cleanup(&ctx);

    /* 404 on GET is an answer, not an error. */
    hoist_ctx_init(&ctx, NULL, "test");
    const int nf[] = {404};
    const char *const nfb[] = {"{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}"};
    script(1, nf, nfb);
    ck_assert_int_eq(hoist_kube_get(k, &ctx, "/api/v1/namespaces/x", &got), HOIST_E_NOTFOUND);
    ck_assert_ptr_null(hoist_ctx_error(&ctx));
    /* ... and DELETE of something gone is done. */
    ck_assert_int_eq(hoist_kube_delete(k, &ctx, "/api/v1/namespaces/x", "Foreground"), HOIST_OK);
    ck_assert_str_eq(S.url, "/api/v1/namespaces/x?propagationPolicy=Foreground");
    /* A list with a selector. */
    const char *const list[] = {"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}"};
    script(1, ok200, list);
    json_t *items = NULL;
    ck_assert_int_eq(hoist_kube_list(k, &ctx, "/api/v1/namespaces/ns/pods", "a=b,c=d", &items), HOIST_OK);
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(S.url, "/api/v1/namespaces/ns/pods?labelSelector=a=b,c=d");
    json_decref(items);
    hoist_ctx_cleanup(&ctx);
    json_decref(obj);
    hoist_kube_free(k);
    srv_stop();
}
END_TEST

/* A 422's reason is shown whole: a long Status message, the causes it leaves
   out, and a body that is not a Status (a webhook's or a proxy's words). */
START_TEST(error_shows_the_whole_reason)
{
    hoist_buf msg = {0};
    hoist_buf_puts(&msg, "Deployment.apps \\\"api\\\" is invalid: ");
    for (int i = 0; i < 12; i++)
        hoist_buf_printf(&msg, "%sspec.template.spec.containers[%d].image: Required value", i ? ", " : "", i);
    char *body = hoist_xasprintf(
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"%s\","
        "\"reason\":\"Invalid\",\"details\":{\"name\":\"api\",\"kind\":\"Deployment\",\"causes\":["
        "{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\",\"field\":\"spec.x\"},"
        "{\"reason\":\"FieldValueInvalid\",\"message\":\"must be no more than 63 characters\","
        "\"field\":\"metadata.labels\"}]},\"code\":422}", msg.s);
    hoist_http_response r = {.struct_size = sizeof r, .status = 422, .body = body,
                             .body_len = strlen(body)};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "test");
    ck_assert_int_eq(hoist_kube_error(&ctx, &r, "Kubernetes PATCH x"), HOIST_E_INVALID);
    const char *e = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(e, "HTTP 422 Invalid: Deployment.apps"));
    ck_assert_ptr_nonnull(strstr(e, "containers[11].image: Required value; "
                                    "metadata.labels: must be no more than 63 characters (code 422)"));
    ck_assert_ptr_null(strstr(e, "spec.x")); /* already said by the message */
    hoist_ctx_cleanup(&ctx);
    free(body);

    /* Not a Status: the body as it came, well past 200 bytes. */
    hoist_buf page = {0};
    hoist_buf_puts(&page, "admission webhook \"policy.example.com\" denied the request: ");
    for (int i = 0; i < 40; i++)
        hoist_buf_printf(&page, "rule %d failed; ", i);
    hoist_buf_puts(&page, "END-OF-REASON");
    r.body = page.s;
    r.body_len = page.len;
    hoist_ctx_init(&ctx, NULL, "test");
    ck_assert_int_eq(hoist_kube_error(&ctx, &r, "Kubernetes PATCH x"), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "rule 39 failed; END-OF-REASON"));
    hoist_ctx_cleanup(&ctx);
    /* ... and still bounded against a runaway page */
    for (int i = 0; i < 2000; i++)
        hoist_buf_puts(&page, " <p>filler</p>");
    r.body = page.s;
    r.body_len = page.len;
    hoist_ctx_init(&ctx, NULL, "test");
    hoist_kube_error(&ctx, &r, "Kubernetes PATCH x");
    ck_assert_uint_lt(strlen(hoist_ctx_error(&ctx)), 4096 + 100);
    hoist_ctx_cleanup(&ctx);
    hoist_buf_free(&page);
    hoist_buf_free(&msg);
}
END_TEST

START_TEST(client_refreshes_on_401)
{
    srv_start();
    creds_calls = 0;
    int port = S.port;
    hoist_kube *k = hoist_kube_new(test_creds, &port, NULL);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, "test");
    const int st[] = {401, 200};
    const char *const bodies[] = {"{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"code\":401}",
                                  "{\"kind\":\"Namespace\"}"};
    script(2, st, bodies);
    json_t *got = NULL;
    ck_assert_int_eq(hoist_kube_get(k, &ctx, "/api/v1/namespaces/x", &got), HOIST_OK);
    ck_assert_int_eq(creds_calls, 2);
    ck_assert_str_eq(S.auth, "Bearer token-number-2");
    /* The trailing slash of the endpoint is not doubled. */
    ck_assert_str_eq(S.url, "/api/v1/namespaces/x");
    json_decref(got);
    /* Refused twice: reported as an auth error, with the Status reason. */
    const int st2[] = {401};
    script(1, st2, bodies);
    ck_assert_int_eq(hoist_kube_get(k, &ctx, "/api/v1/namespaces/x", &got), HOIST_E_AUTH);
    ck_assert_int_eq(creds_calls, 3);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "HTTP 401 Unauthorized"));
    /* Tokens are registered secrets: never printed. */
    char *r = hoist_redact("token-number-3");
    ck_assert_str_eq(r, "***");
    free(r);
    hoist_ctx_cleanup(&ctx);
    hoist_kube_free(k);
    srv_stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kube");
    TCase *t = tcase_create("manifests");
    tcase_add_test(t, namespace_name);
    tcase_add_test(t, app_objects);
    tcase_add_test(t, app_plain);
    tcase_add_test(t, db_objects);
    tcase_add_test(t, rollout_verdicts);
    tcase_add_test(t, paths_and_b64);
    tcase_add_test(t, error_shows_the_whole_reason);
    suite_add_tcase(s, t);
    t = tcase_create("client");
    tcase_set_timeout(t, 20);
    tcase_add_test(t, client_apply_and_errors);
    tcase_add_test(t, client_refreshes_on_401);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_main(suite());
}
