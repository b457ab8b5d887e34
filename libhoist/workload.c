/* workload.c - app and container-database manifests; the "kube" executor (see workload.h). */
#include "workload.h"
#include "driver.h"
#include "host.h"
#include "log.h"
#include "state.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LBL_NAME "app.kubernetes.io/name"
#define LBL_INSTANCE "app.kubernetes.io/instance"
#define LBL_COMPONENT "app.kubernetes.io/component"
#define ANN_ENV_HASH "hoist.dev/env-hash"

/* ---------------------------------------------------------------- rendering */

char *hoist_workload_namespace(const char *project, const char *env)
{
    char *ns = hoist_xasprintf("%s-%s", project, env);
    size_t j = 0;
    for (size_t i = 0; ns[i] && j < 63; i++) {
        char c = (char)tolower((unsigned char)ns[i]);
        ns[j++] = isalnum((unsigned char)c) ? c : '-';
    }
    while (j > 0 && ns[j - 1] == '-')
        j--;
    ns[j] = '\0';
    return ns;
}

char *hoist_workload_selector(const char *ns, const char *name, int database)
{
    return hoist_xasprintf(LBL_NAME "=%s," LBL_INSTANCE "=%s," LBL_COMPONENT "=%s", name, ns,
                           database ? "database" : "app");
}

static json_t *labels(const char *ns, const char *name, const char *component)
{
    return json_pack("{s:s,s:s,s:s,s:s}", LBL_NAME, name, LBL_INSTANCE, ns, LBL_COMPONENT,
                     component, HOIST_KUBE_LABEL_MANAGED, HOIST_KUBE_MANAGER);
}

static json_t *selector(const char *ns, const char *name, const char *component)
{
    return json_pack("{s:s,s:s,s:s}", LBL_NAME, name, LBL_INSTANCE, ns, LBL_COMPONENT, component);
}

static json_t *object(const char *api, const char *kind, const char *ns, const char *name,
                      json_t *lbls)
{
    json_t *md = json_pack("{s:s,s:o}", "name", name, "labels", lbls);
    if (ns)
        json_object_set_new(md, "namespace", json_string(ns));
    return json_pack("{s:s,s:s,s:o}", "apiVersion", api, "kind", kind, "metadata", md);
}

/* Stamp @obj with the hash of its content (computed without the stamp). */
static json_t *stamp(json_t *obj)
{
    char *h = hoist_json_sha256(obj);
    json_t *md = json_object_get(obj, "metadata");
    json_t *ann = json_object_get(md, "annotations");
    if (!ann) {
        ann = json_object();
        json_object_set_new(md, "annotations", ann);
    }
    json_object_set_new(ann, HOIST_KUBE_ANN_HASH, json_string(h));
    free(h);
    return obj;
}

const char *hoist_workload_hash(const json_t *obj)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "metadata"), "annotations"), HOIST_KUBE_ANN_HASH));
}

json_t *hoist_workload_namespace_manifest(const char *project, const char *env)
{
    char *ns = hoist_workload_namespace(project, env);
    json_t *l = json_pack("{s:s,s:s,s:s}", HOIST_KUBE_LABEL_MANAGED, HOIST_KUBE_MANAGER,
                          "hoist.dev/project", project, "hoist.dev/env", env);
    json_t *o = stamp(object("v1", "Namespace", NULL, ns, l));
    free(ns);
    return o;
}

/* A Secret of type Opaque holding the string members of @vars. */
static json_t *secret(const char *ns, const char *name, json_t *lbls, const json_t *vars)
{
    json_t *o = object("v1", "Secret", ns, name, lbls);
    json_t *data = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vars, k, v) {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        char *b = hoist_base64_encode(s, strlen(s));
        json_object_set_new(data, k, json_string(b));
        free(b);
    }
    json_object_set_new(o, "type", json_string("Opaque"));
    json_object_set_new(o, "data", data);
    return o;
}

/* The image to run: the pushed digest from the image node, else `image:` as given. */
static char *app_image(const json_t *spec, const json_t *needs, const char *name)
{
    json_t *img = json_object_get(json_object_get(needs, "image"), name);
    const char *full = json_string_value(json_object_get(img, "image"));
    if (full)
        return hoist_xstrdup(full);
    const char *ref = json_string_value(json_object_get(img, "reference"));
    const char *dg = json_string_value(json_object_get(img, "digest"));
    if (ref && dg && !strchr(ref, '@')) {
        /* Run by digest: a tag can move, a digest cannot. */
        char *base = hoist_xstrdup(ref);
        char *slash = strrchr(base, '/'), *colon = strrchr(base, ':');
        if (colon && (!slash || colon > slash))
            *colon = '\0';
        char *r = hoist_xasprintf("%s@%s", base, dg);
        free(base);
        return r;
    }
    if (ref)
        return hoist_xstrdup(ref);
    return hoist_xstrdup(json_string_value(json_object_get(spec, "image")));
}

static json_t *probe(const json_t *spec, int liveness)
{
    const char *hc = json_string_value(json_object_get(spec, "healthcheck"));
    json_t *p = hc ? json_pack("{s:{s:s,s:s}}", "httpGet", "path", hc, "port", "http")
                   : json_pack("{s:{s:s}}", "tcpSocket", "port", "http");
    json_object_set_new(p, "periodSeconds", json_integer(liveness ? 10 : 5));
    json_object_set_new(p, "failureThreshold", json_integer(liveness ? 6 : 3));
    if (liveness)
        json_object_set_new(p, "initialDelaySeconds", json_integer(10));
    return p;
}

static json_t *app_resources(const json_t *settings)
{
    json_t *r = json_object_get(settings, "resources");
    if (json_is_object(r))
        return json_deep_copy(r);
    return json_pack("{s:{s:s,s:s},s:{s:s}}", "requests", "cpu", "100m", "memory", "128Mi",
                     "limits", "memory", "512Mi");
}

static long setting_int(const json_t *settings, const char *key, long def)
{
    json_t *v = json_object_get(settings, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : def;
}

json_t *hoist_workload_app_manifests(const char *project, const char *env, const char *name,
                                     const json_t *spec, const json_t *needs,
                                     const json_t *settings, char **err)
{
    char *image = app_image(spec, needs, name);
    if (!image || !*image) {
        *err = hoist_xasprintf("app '%s' has no image to run: its image was not built yet "
                               "(needs.image.%s has no reference) and it sets no `image:`",
                               name, name);
        free(image);
        return NULL;
    }
    char *ns = hoist_workload_namespace(project, env);
    json_t *out = json_array();
    long port = (long)json_integer_value(json_object_get(spec, "port"));
    json_t *inst = json_object_get(spec, "instances");
    long min = json_is_integer(json_object_get(inst, "min"))
                   ? (long)json_integer_value(json_object_get(inst, "min")) : 1;
    long max = (long)json_integer_value(json_object_get(inst, "max"));
    int hpa = max > min;
    json_t *env_vars = json_object_get(spec, "env");
    if (!json_is_object(env_vars))
        env_vars = NULL;
    char *secret_name = hoist_xasprintf("%s-env", name);

    /* Secret: every variable, database credentials included. */
    json_t *empty = json_object();
    json_array_append_new(out, stamp(secret(ns, secret_name, labels(ns, name, "app"),
                                            env_vars ? env_vars : empty)));
    json_decref(empty);

    /* Deployment. */
    json_t *c = json_pack("{s:s,s:s,s:s,s:[{s:{s:s}}],s:o}", "name", name, "image", image,
                          "imagePullPolicy", "IfNotPresent", "envFrom", "secretRef", "name",
                          secret_name, "resources", app_resources(settings));
    if (port > 0) {
        char ps[24];
        snprintf(ps, sizeof ps, "%ld", port);
        json_object_set_new(c, "ports", json_pack("[{s:s,s:I,s:s}]", "name", "http",
                                                  "containerPort", (json_int_t)port, "protocol",
                                                  "TCP"));
        json_object_set_new(c, "env", json_pack("[{s:s,s:s}]", "name", "PORT", "value", ps));
        json_object_set_new(c, "readinessProbe", probe(spec, 0));
        json_object_set_new(c, "livenessProbe", probe(spec, 1));
    }
    /* The Secret's content hash on the pod template: an env change rolls the pods. */
    char *env_hash = hoist_json_sha256(env_vars ? env_vars : json_object_get(spec, "none"));
    json_t *tmpl = json_pack("{s:{s:o,s:{s:s}},s:{s:[o]}}", "metadata", "labels",
                             labels(ns, name, "app"), "annotations", ANN_ENV_HASH, env_hash,
                             "spec", "containers", c);
    free(env_hash);
    json_t *dspec = json_pack(
        "{s:{s:o},s:{s:s,s:{s:i,s:i}},s:I,s:i,s:o}", "selector", "matchLabels",
        selector(ns, name, "app"), "strategy", "type", "RollingUpdate", "rollingUpdate",
        "maxUnavailable", 0, "maxSurge", 1, "progressDeadlineSeconds",
        (json_int_t)setting_int(settings, "rollout_timeout", 600), "revisionHistoryLimit", 5,
        "template", tmpl);
    /* With an autoscaler the replica count is its business, not the manifest's. */
    if (!hpa)
        json_object_set_new(dspec, "replicas", json_integer(min));
    json_t *dep = object("apps/v1", "Deployment", ns, name, labels(ns, name, "app"));
    json_object_set_new(dep, "spec", dspec);
    json_array_append_new(out, stamp(dep));

    if (port > 0) {
        json_t *svc = object("v1", "Service", ns, name, labels(ns, name, "app"));
        json_object_set_new(svc, "spec",
                            json_pack("{s:s,s:o,s:[{s:s,s:i,s:I,s:s}]}", "type", "ClusterIP",
                                      "selector", selector(ns, name, "app"), "ports", "name",
                                      "http", "port", 80, "targetPort", (json_int_t)port,
                                      "protocol", "TCP"));
        json_array_append_new(out, stamp(svc));
    }

    if (port > 0 && json_is_true(json_object_get(spec, "public"))) {
        json_t *ing_set = json_object_get(settings, "ingress");
        json_t *hosts = json_array();
        json_t *domains = json_object_get(spec, "domains");
        size_t i;
        json_t *v;
        json_array_foreach(domains, i, v) if (json_is_string(v)) json_array_append(hosts, v);
        if (json_array_size(hosts) == 0) {
            const char *dom = json_string_value(json_object_get(ing_set, "domain"));
            json_array_append_new(hosts, json_sprintf("%s.%s.%s.%s", name, env, project,
                                                      dom ? dom : "hoist.local"));
        }
        json_t *rules = json_array();
        json_array_foreach(hosts, i, v) {
            json_array_append_new(
                rules, json_pack("{s:O,s:{s:[{s:s,s:s,s:{s:{s:s,s:{s:i}}}}]}}", "host", v, "http",
                                 "paths", "path", "/", "pathType", "Prefix", "backend", "service",
                                 "name", name, "port", "number", 80));
        }
        json_t *ispec = json_pack("{s:o}", "rules", rules);
        const char *cls = json_string_value(json_object_get(ing_set, "class"));
        if (cls)
            json_object_set_new(ispec, "ingressClassName", json_string(cls));
        const char *tls = json_string_value(json_object_get(ing_set, "tls_secret"));
        if (tls)
            json_object_set_new(ispec, "tls",
                                json_pack("[{s:O,s:s}]", "hosts", hosts, "secretName", tls));
        json_t *ing = object("networking.k8s.io/v1", "Ingress", ns, name, labels(ns, name, "app"));
        json_t *ann = json_object_get(ing_set, "annotations");
        if (json_is_object(ann))
            json_object_set_new(json_object_get(ing, "metadata"), "annotations",
                                json_deep_copy(ann));
        json_object_set_new(ing, "spec", ispec);
        json_decref(hosts);
        json_array_append_new(out, stamp(ing));
    }

    if (hpa) {
        json_t *h = object("autoscaling/v2", "HorizontalPodAutoscaler", ns, name,
                           labels(ns, name, "app"));
        json_object_set_new(
            h, "spec",
            json_pack("{s:{s:s,s:s,s:s},s:I,s:I,s:[{s:s,s:{s:s,s:{s:s,s:i}}}]}", "scaleTargetRef",
                      "apiVersion", "apps/v1", "kind", "Deployment", "name", name, "minReplicas",
                      (json_int_t)(min > 0 ? min : 1), "maxReplicas", (json_int_t)max, "metrics",
                      "type", "Resource", "resource", "name", "cpu", "target", "type",
                      "Utilization", "averageUtilization", 70));
        json_array_append_new(out, stamp(h));
    }
    free(secret_name);
    free(image);
    free(ns);
    return out;
}

/* Official images and their documented conventions. */
static const struct engine {
    const char *engine, *image, *version, *mount;
    int port;
} engines[] = {
    {"postgresql", "postgres", "16", "/var/lib/postgresql/data", 5432},
    {"mysql", "mysql", "8.0", "/var/lib/mysql", 3306},
    {"redis", "redis", "7", "/data", 6379},
    {"mongodb", "mongo", "7", "/data/db", 27017},
};

static json_t *env_secret(const char *var, const char *secret, const char *key)
{
    return json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", var, "valueFrom", "secretKeyRef", "name",
                     secret, "key", key);
}

static json_t *env_value(const char *var, const char *value)
{
    return json_pack("{s:s,s:s}", "name", var, "value", value);
}

json_t *hoist_workload_db_manifests(const char *project, const char *env, const char *name,
                                    const json_t *spec, const char *password,
                                    const char *root_password, const json_t *settings,
                                    json_t **conn, char **err)
{
    const char *engine = json_string_value(json_object_get(spec, "engine"));
    const struct engine *e = NULL;
    for (size_t i = 0; engine && i < sizeof engines / sizeof engines[0]; i++)
        if (strcmp(engines[i].engine, engine) == 0)
            e = &engines[i];
    if (!e) {
        *err = hoist_xasprintf("database '%s': engine '%s' cannot run in a container", name,
                               engine ? engine : "?");
        return NULL;
    }
    char *ns = hoist_workload_namespace(project, env);
    char *obj = hoist_xasprintf("%s-db", name);
    char *pvc = hoist_xasprintf("%s-db-data", name);
    char *dbname = hoist_xstrdup(name);
    for (char *p = dbname; *p; p++)
        if (*p == '-')
            *p = '_'; /* SQL identifiers without quoting */
    const char *user = strcmp(e->engine, "redis") == 0 ? "default" : "hoist";
    const char *database = strcmp(e->engine, "redis") == 0 ? "0" : dbname;
    const char *ver = json_string_value(json_object_get(spec, "version"));
    char *image = hoist_xasprintf("%s:%s", e->image, ver ? ver : e->version);
    json_t *out = json_array();

    json_t *vars = json_pack("{s:s}", "password", password);
    if (root_password)
        json_object_set_new(vars, "root-password", json_string(root_password));
    json_array_append_new(out, stamp(secret(ns, obj, labels(ns, name, "database"), vars)));
    json_decref(vars);

    long gb = (long)json_integer_value(json_object_get(spec, "storage"));
    char size[32];
    snprintf(size, sizeof size, "%ldGi", gb > 0 ? gb : 1);
    json_t *claim = object("v1", "PersistentVolumeClaim", ns, pvc, labels(ns, name, "database"));
    json_t *cspec = json_pack("{s:[s],s:{s:{s:s}}}", "accessModes", "ReadWriteOnce", "resources",
                              "requests", "storage", size);
    const char *sc = json_string_value(json_object_get(settings, "storage_class"));
    if (sc)
        json_object_set_new(cspec, "storageClassName", json_string(sc));
    json_object_set_new(claim, "spec", cspec);
    json_array_append_new(out, stamp(claim));

    json_t *svc = object("v1", "Service", ns, obj, labels(ns, name, "database"));
    json_object_set_new(svc, "spec",
                        json_pack("{s:s,s:o,s:[{s:s,s:i,s:s,s:s}]}", "type", "ClusterIP",
                                  "selector", selector(ns, name, "database"), "ports", "name",
                                  e->engine, "port", e->port, "targetPort", "db", "protocol",
                                  "TCP"));
    json_array_append_new(out, stamp(svc));

    json_t *cenv = json_array(), *args = NULL;
    if (strcmp(e->engine, "postgresql") == 0) {
        json_array_append_new(cenv, env_value("POSTGRES_USER", user));
        json_array_append_new(cenv, env_secret("POSTGRES_PASSWORD", obj, "password"));
        json_array_append_new(cenv, env_value("POSTGRES_DB", database));
        /* A volume's root may hold lost+found, which initdb refuses. */
        json_array_append_new(cenv, env_value("PGDATA", "/var/lib/postgresql/data/pgdata"));
    } else if (strcmp(e->engine, "mysql") == 0) {
        json_array_append_new(cenv, env_secret("MYSQL_ROOT_PASSWORD", obj,
                                               root_password ? "root-password" : "password"));
        json_array_append_new(cenv, env_value("MYSQL_USER", user));
        json_array_append_new(cenv, env_secret("MYSQL_PASSWORD", obj, "password"));
        json_array_append_new(cenv, env_value("MYSQL_DATABASE", database));
    } else if (strcmp(e->engine, "redis") == 0) {
        /* The redis image takes its password as an argument; $(VAR) is expanded by the kubelet. */
        json_array_append_new(cenv, env_secret("REDIS_PASSWORD", obj, "password"));
        args = json_pack("[s,s,s,s]", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes");
    } else {
        json_array_append_new(cenv, env_value("MONGO_INITDB_ROOT_USERNAME", user));
        json_array_append_new(cenv, env_secret("MONGO_INITDB_ROOT_PASSWORD", obj, "password"));
        json_array_append_new(cenv, env_value("MONGO_INITDB_DATABASE", database));
    }
    json_t *c = json_pack(
        "{s:s,s:s,s:[{s:s,s:i,s:s}],s:o,s:[{s:s,s:s}],s:{s:{s:s},s:i,s:i},s:{s:{s:s,s:s}}}",
        "name", e->engine, "image", image, "ports", "name", "db", "containerPort", e->port,
        "protocol", "TCP", "env", cenv, "volumeMounts", "name", "data", "mountPath", e->mount,
        "readinessProbe", "tcpSocket", "port", "db", "periodSeconds", 5, "failureThreshold", 3,
        "resources", "requests", "cpu", "100m", "memory", "256Mi");
    if (args)
        json_object_set_new(c, "args", args);
    json_t *sts = object("apps/v1", "StatefulSet", ns, obj, labels(ns, name, "database"));
    json_object_set_new(
        sts, "spec",
        json_pack("{s:s,s:i,s:{s:o},s:{s:{s:o},s:{s:[o],s:[{s:s,s:{s:s}}]}}}", "serviceName", obj,
                  "replicas", 1, "selector", "matchLabels", selector(ns, name, "database"),
                  "template", "metadata", "labels", labels(ns, name, "database"), "spec",
                  "containers", c, "volumes", "name", "data", "persistentVolumeClaim",
                  "claimName", pvc));
    json_array_append_new(out, stamp(sts));

    if (conn) {
        char *host = hoist_xasprintf("%s.%s.svc.cluster.local", obj, ns);
        *conn = json_pack("{s:s,s:i,s:s,s:s}", "host", host, "port", e->port, "user", user,
                          "database", database);
        free(host);
    }
    free(image);
    free(dbname);
    free(pvc);
    free(obj);
    free(ns);
    return out;
}

/* ---------------------------------------------------------------- status */

static long jint(const json_t *o, const char *a, const char *b, long def)
{
    json_t *v = json_object_get(json_object_get(o, a), b);
    return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

int hoist_workload_rollout(const json_t *live, const char **why)
{
    json_t *status = json_object_get(live, "status");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        const char *reason = json_string_value(json_object_get(c, "reason"));
        if (type && st && reason && strcmp(type, "Progressing") == 0 && strcmp(st, "False") == 0 &&
            strcmp(reason, "ProgressDeadlineExceeded") == 0) {
            *why = "progress deadline exceeded";
            return -1;
        }
    }
    if (jint(live, "status", "observedGeneration", -1) < jint(live, "metadata", "generation", 0)) {
        *why = "waiting for the controller";
        return 0;
    }
    int sts = strcmp(json_string_value(json_object_get(live, "kind")) ?: "", "StatefulSet") == 0;
    long want = jint(live, "spec", "replicas", 1);
    long have = jint(live, "status", "replicas", 0);
    long updated = jint(live, "status", "updatedReplicas", 0);
    long avail = jint(live, "status", sts ? "readyReplicas" : "availableReplicas", 0);
    if (sts) {
        /* A finished StatefulSet rollout has one revision left. */
        const char *cur = json_string_value(json_object_get(status, "currentRevision"));
        const char *upd = json_string_value(json_object_get(status, "updateRevision"));
        if (cur && upd && strcmp(cur, upd) == 0 && updated == 0)
            updated = have;
    }
    if (updated < want || avail < want || have != want) {
        *why = want == 0 ? "scaling to zero" : avail == 0 ? "starting" : "rolling out";
        return 0;
    }
    *why = "available";
    return 1;
}

static void container_problems(hoist_buf *b, const char *pod, json_t *statuses)
{
    size_t i;
    json_t *cs;
    json_array_foreach(statuses, i, cs) {
        const char *cname = json_string_value(json_object_get(cs, "name"));
        json_t *state = json_object_get(cs, "state");
        json_t *w = json_object_get(state, "waiting");
        json_t *t = json_object_get(state, "terminated");
        json_t *x = w ? w : t;
        const char *reason = json_string_value(json_object_get(x, "reason"));
        if (!x || !reason || strcmp(reason, "Completed") == 0 ||
            strcmp(reason, "ContainerCreating") == 0 || strcmp(reason, "PodInitializing") == 0)
            continue;
        const char *msg = json_string_value(json_object_get(x, "message"));
        hoist_buf_printf(b, "%spod %s/%s: %s%s%s", b->len ? "; " : "", pod, cname ? cname : "?",
                         reason, msg ? ": " : "", msg ? msg : "");
    }
}

char *hoist_workload_pod_problems(const json_t *pods)
{
    hoist_buf b = {0};
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p) {
        const char *name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        json_t *st = json_object_get(p, "status");
        container_problems(&b, name ? name : "?", json_object_get(st, "initContainerStatuses"));
        container_problems(&b, name ? name : "?", json_object_get(st, "containerStatuses"));
    }
    return hoist_buf_steal(&b);
}

/* ---------------------------------------------------------------- the executor */

typedef struct drv_src {
    hoist_driver *drv;
    char *project, *env;
    json_t *recorded;
} drv_src;

static hoist_status drv_creds(void *arg, hoist_ctx *ctx, hoist_cluster_credentials *out)
{
    drv_src *s = arg;
    json_t *empty = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = s->project, .env = s->env,
                        .name = "cluster", .spec = empty, .needs = empty, .recorded = s->recorded};
    hoist_status st = hoist_driver_cluster_credentials(s->drv, ctx, &r, out);
    if (st != HOIST_OK && !hoist_ctx_error(ctx))
        hoist_ctx_fail(ctx, st, "provider '%s' gave no credentials for the cluster",
                       s->drv->name);
    json_decref(empty);
    return st;
}

static void drv_src_free(void *arg)
{
    drv_src *s = arg;
    free(s->project);
    free(s->env);
    json_decref(s->recorded);
    free(s);
}

hoist_kube *hoist_kube_for_cluster(hoist_driver *drv, const char *project, const char *env,
                                   const json_t *cluster_outputs, char **err)
{
    if (!hoist_driver_offers(drv, HOIST_KIND_CLUSTER, HOIST_OP_CREDENTIALS)) {
        *err = hoist_xasprintf("provider '%s' gives no Kubernetes credentials for its cluster",
                               drv ? drv->name : "?");
        return NULL;
    }
    drv_src *s = hoist_xcalloc(1, sizeof *s);
    s->drv = drv;
    s->project = hoist_xstrdup(project);
    s->env = hoist_xstrdup(env);
    s->recorded = cluster_outputs ? json_deep_copy(cluster_outputs) : json_object();
    return hoist_kube_new(drv_creds, s, drv_src_free);
}

typedef struct kx {
    hoist_executor ex; /* first: the executor handed out is &kx->ex */
    json_t *settings;
    pthread_mutex_t mu;
    hoist_kube *kube;
} kx;

/* The executor's client, made on first use from the cluster's outputs in @r's needs. */
static hoist_kube *kx_client(kx *x, hoist_driver *drv, hoist_ctx *ctx, const hoist_resource *r)
{
    pthread_mutex_lock(&x->mu);
    if (!x->kube) {
        char *err = NULL;
        json_t *cl = json_object_get(json_object_get(r->needs, "cluster"), "cluster");
        x->kube = hoist_kube_for_cluster(drv, r->project, r->env, cl, &err);
        if (!x->kube) {
            hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "%s", err);
            free(err);
        }
    }
    hoist_kube *k = x->kube;
    pthread_mutex_unlock(&x->mu);
    return k;
}

static int hoist_labelled(const json_t *live)
{
    const char *m = json_string_value(json_object_get(
        json_object_get(json_object_get(live, "metadata"), "labels"), HOIST_KUBE_LABEL_MANAGED));
    return m && strcmp(m, HOIST_KUBE_MANAGER) == 0;
}

static const char *obj_kind(const json_t *o)
{
    return json_string_value(json_object_get(o, "kind"));
}

static const char *obj_name(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
}

/*
 * Make the live object match @obj: GET, and apply only when the hash
 * annotation differs (or the object is missing).  A stopped workload
 * (replicas 0 after pause) is scaled back.  *live gets the object as it is
 * now (new reference).
 */
static hoist_status converge(hoist_kube *k, hoist_ctx *ctx, const json_t *obj, json_t **live)
{
    char *path = hoist_kube_object_path(obj);
    json_t *cur = NULL;
    *live = NULL;
    hoist_status st = hoist_kube_get(k, ctx, path, &cur);
    if (st == HOIST_OK) {
        const char *want = hoist_workload_hash(obj), *have = hoist_workload_hash(cur);
        if (want && have && strcmp(want, have) == 0 && hoist_labelled(cur)) {
            long desired = jint(obj, "spec", "replicas", 1);
            if ((strcmp(obj_kind(obj), "Deployment") == 0 ||
                 strcmp(obj_kind(obj), "StatefulSet") == 0) &&
                jint(cur, "spec", "replicas", 1) == 0 && desired > 0) {
                /* Paused: resume with the replica count of the manifest. */
                json_t *patch = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)desired);
                json_decref(cur);
                cur = NULL;
                st = hoist_kube_merge_patch(k, ctx, path, patch, &cur);
                json_decref(patch);
            }
            *live = cur;
            free(path);
            return st;
        }
        /* Force only over objects hoist made (see kube.h). */
        int force = hoist_labelled(cur);
        json_decref(cur);
        cur = NULL;
        st = hoist_kube_apply(k, ctx, obj, force, &cur);
    } else if (st == HOIST_E_NOTFOUND) {
        st = hoist_kube_apply(k, ctx, obj, 0, &cur);
    }
    if (st == HOIST_OK)
        hoist_log(HOIST_LOG_DEBUG_, NULL, "kube: applied %s %s", obj_kind(obj), obj_name(obj));
    *live = cur;
    free(path);
    return st;
}

/* Apply the namespace and @objs in order; *workload gets the live Deployment/StatefulSet. */
static hoist_status converge_all(hoist_kube *k, hoist_ctx *ctx, const hoist_resource *r,
                                 json_t *objs, json_t *hashes, json_t **workload)
{
    json_t *nsm = hoist_workload_namespace_manifest(r->project, r->env);
    json_t *live = NULL;
    hoist_status st = converge(k, ctx, nsm, &live);
    json_decref(live);
    json_decref(nsm);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        if (st != HOIST_OK)
            break;
        st = converge(k, ctx, o, &live);
        json_object_set_new(hashes, obj_kind(o), json_string(hoist_workload_hash(o)));
        const char *kind = obj_kind(o);
        if (st == HOIST_OK && (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0)) {
            json_decref(*workload);
            *workload = live;
        } else {
            json_decref(live);
        }
        live = NULL;
    }
    return st;
}

/* Rollout verdict for @live; on a stuck rollout the pods say why. */
static hoist_status rollout(hoist_kube *k, hoist_ctx *ctx, const char *ns, const char *name,
                            int database, const json_t *live, hoist_result *out)
{
    const char *why = "unknown";
    int r = hoist_workload_rollout(live, &why);
    /* The run's deadline is near: report now, while the pods can still tell why. */
    int late = r == 0 && ctx->deadline_ms && hoist_now_ms() + 3000 >= ctx->deadline_ms;
    if (r == 1)
        return HOIST_OK;
    if (r == 0 && !late) {
        out->poll_ms = 500;
        out->status_text = why;
        return HOIST_PENDING;
    }
    char *sel = hoist_workload_selector(ns, name, database);
    char *path = hoist_kube_path("v1", "Pod", ns, NULL);
    json_t *pods = NULL;
    char *probs = NULL;
    if (hoist_kube_list(k, ctx, path, sel, &pods) == HOIST_OK)
        probs = hoist_workload_pod_problems(pods);
    hoist_status st = hoist_ctx_fail(
        ctx, HOIST_E_INVALID, "%s %s in namespace %s did not become available (%s)%s%s%s",
        obj_kind(live), name, ns, why, probs && *probs ? ": " : "", probs ? probs : "",
        probs && *probs ? "" : "; no pod reports a reason: see hoist logs");
    free(probs);
    json_decref(pods);
    free(path);
    free(sel);
    return st;
}

/* Delete optional app objects the manifests no longer include (public: false, no autoscaler). */
static hoist_status prune(hoist_kube *k, hoist_ctx *ctx, const char *ns, const char *name,
                          json_t *objs)
{
    static const char *const opt[][2] = {{"v1", "Service"},
                                         {"networking.k8s.io/v1", "Ingress"},
                                         {"autoscaling/v2", "HorizontalPodAutoscaler"}};
    hoist_status st = HOIST_OK;
    for (size_t i = 0; i < 3 && st == HOIST_OK; i++) {
        size_t j;
        json_t *o;
        int wanted = 0;
        json_array_foreach(objs, j, o) wanted |= strcmp(obj_kind(o), opt[i][1]) == 0;
        if (wanted)
            continue;
        char *path = hoist_kube_path(opt[i][0], opt[i][1], ns, name);
        json_t *live = NULL;
        st = hoist_kube_get(k, ctx, path, &live);
        if (st == HOIST_OK && hoist_labelled(live))
            st = hoist_kube_delete(k, ctx, path, "Background");
        else if (st == HOIST_E_NOTFOUND)
            st = HOIST_OK;
        json_decref(live);
        free(path);
    }
    return st;
}

static hoist_status app_ensure(kx *x, hoist_kube *k, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    char *err = NULL;
    char *ns = hoist_workload_namespace(r->project, r->env);
    json_t *hashes = json_object(), *dep = NULL;
    hoist_status st;
    json_t *objs = hoist_workload_app_manifests(r->project, r->env, r->name, r->spec, r->needs,
                                                x->settings, &err);
    if (!objs) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "%s", err);
        goto cleanup;
    }
    st = converge_all(k, ctx, r, objs, hashes, &dep);
    if (st == HOIST_OK)
        st = prune(k, ctx, ns, r->name, objs);
    if (st != HOIST_OK)
        goto cleanup;
    /* The image actually run, as the Deployment says. */
    json_t *dspec = json_object_get(json_array_get(objs, 1), "spec");
    json_t *c0 = json_array_get(
        json_object_get(json_object_get(json_object_get(dspec, "template"), "spec"), "containers"),
        0);
    out->outputs = json_pack("{s:s,s:s,s:O,s:O}", "namespace", ns, "deployment", r->name, "image",
                             json_object_get(c0, "image"), "manifests", hashes);
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        if (strcmp(obj_kind(o), "Ingress") != 0)
            continue;
        json_t *spec = json_object_get(o, "spec");
        const char *host = json_string_value(
            json_object_get(json_array_get(json_object_get(spec, "rules"), 0), "host"));
        json_object_set_new(out->outputs, "url",
                            json_sprintf("%s://%s", json_object_get(spec, "tls") ? "https" : "http",
                                         host ? host : "?"));
    }
    if (json_integer_value(json_object_get(r->spec, "port")) > 0)
        json_object_set_new(out->outputs, "service",
                            json_sprintf("http://%s.%s.svc.cluster.local", r->name, ns));
    st = rollout(k, ctx, ns, r->name, 0, dep, out);
cleanup:
    json_decref(dep);
    json_decref(objs);
    json_decref(hashes);
    free(err);
    free(ns);
    return st;
}

/* A stored password: the state's, else the live Secret's (a crash may have lost the state). */
static char *db_password(hoist_kube *k, hoist_ctx *ctx, const hoist_resource *r, const char *ns,
                         const char *key, const char *skey, hoist_status *st)
{
    const char *s = json_string_value(json_object_get(json_object_get(r->recorded, "secrets"), key));
    if (s)
        return hoist_xstrdup(s);
    char *name = hoist_xasprintf("%s-db", r->name);
    char *path = hoist_kube_path("v1", "Secret", ns, name);
    json_t *live = NULL;
    char *pw = NULL;
    *st = hoist_kube_get(k, ctx, path, &live);
    if (*st == HOIST_OK && hoist_labelled(live)) {
        const char *b = json_string_value(json_object_get(json_object_get(live, "data"), skey));
        pw = b ? hoist_base64_decode(b, NULL) : NULL;
    }
    if (*st == HOIST_E_NOTFOUND || *st == HOIST_OK)
        *st = HOIST_OK;
    if (!pw && *st == HOIST_OK) {
        char buf[33];
        *st = hoist_host_table()->random_secret(ctx, buf, sizeof buf);
        pw = *st == HOIST_OK ? hoist_xstrdup(buf) : NULL;
    }
    if (pw)
        hoist_secret_add(pw);
    json_decref(live);
    free(path);
    free(name);
    return pw;
}

static hoist_status db_ensure(kx *x, hoist_kube *k, hoist_ctx *ctx, const hoist_resource *r,
                              hoist_result *out)
{
    char *err = NULL, *root = NULL;
    char *ns = hoist_workload_namespace(r->project, r->env);
    json_t *hashes = json_object(), *sts = NULL, *conn = NULL, *objs = NULL;
    int mysql = strcmp(json_string_value(json_object_get(r->spec, "engine")) ?: "", "mysql") == 0;
    hoist_status st = HOIST_OK;
    char *pw = db_password(k, ctx, r, ns, "password", "password", &st);
    if (st == HOIST_OK && mysql)
        root = db_password(k, ctx, r, ns, "root_password", "root-password", &st);
    if (st != HOIST_OK)
        goto cleanup;
    out->secrets = json_pack("{s:s}", "password", pw);
    if (root)
        json_object_set_new(out->secrets, "root_password", json_string(root));
    objs = hoist_workload_db_manifests(r->project, r->env, r->name, r->spec, pw, root, x->settings,
                                       &conn, &err);
    if (!objs) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "%s", err);
        goto cleanup;
    }
    st = converge_all(k, ctx, r, objs, hashes, &sts);
    if (st != HOIST_OK)
        goto cleanup;
    out->outputs = json_deep_copy(conn);
    json_object_set_new(out->outputs, "namespace", json_string(ns));
    json_object_set(out->outputs, "manifests", hashes);
    char *obj = hoist_xasprintf("%s-db", r->name);
    json_object_set_new(out->outputs, "statefulset", json_string(obj));
    st = rollout(k, ctx, ns, obj, 1, sts, out);
    free(obj);
cleanup:
    json_decref(objs);
    json_decref(conn);
    json_decref(sts);
    json_decref(hashes);
    free(pw);
    free(root);
    free(err);
    free(ns);
    return st;
}

static hoist_status kx_ensure(void *self, hoist_driver *drv, hoist_ctx *ctx, const hoist_node *n,
                              const hoist_resource *r, hoist_result *out)
{
    kx *x = self;
    hoist_kube *k = kx_client(x, drv, ctx, r);
    if (!k)
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "no Kubernetes client");
    return n->kind == HOIST_KIND_DATABASE ? db_ensure(x, k, ctx, r, out)
                                          : app_ensure(x, k, ctx, r, out);
}

/* The workload object (Deployment or StatefulSet) of node @n. */
static char *workload_path(const hoist_node *n, const hoist_resource *r, char **ns)
{
    *ns = hoist_workload_namespace(r->project, r->env);
    if (n->kind == HOIST_KIND_DATABASE) {
        char *name = hoist_xasprintf("%s-db", r->name);
        char *p = hoist_kube_path("apps/v1", "StatefulSet", *ns, name);
        free(name);
        return p;
    }
    return hoist_kube_path("apps/v1", "Deployment", *ns, r->name);
}

static hoist_status kx_observe(void *self, hoist_driver *drv, hoist_ctx *ctx, const hoist_node *n,
                               const hoist_resource *r, hoist_result *out)
{
    hoist_kube *k = kx_client(self, drv, ctx, r);
    if (!k)
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "no Kubernetes client");
    char *ns = NULL, *path = workload_path(n, r, &ns);
    json_t *live = NULL;
    hoist_status st = hoist_kube_get(k, ctx, path, &live);
    if (st == HOIST_OK) {
        const char *why = "";
        int ro = hoist_workload_rollout(live, &why);
        out->outputs = json_pack("{s:s,s:s}", "namespace", ns, "rollout", why);
        st = ro == 1 ? HOIST_OK : HOIST_PENDING;
        out->status_text = why;
    }
    json_decref(live);
    free(path);
    free(ns);
    return st;
}

static hoist_status kx_pause(void *self, hoist_driver *drv, hoist_ctx *ctx, const hoist_node *n,
                             const hoist_resource *r, hoist_result *out)
{
    (void)out;
    hoist_kube *k = kx_client(self, drv, ctx, r);
    if (!k)
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "no Kubernetes client");
    char *ns = NULL, *path = workload_path(n, r, &ns);
    json_t *live = NULL;
    hoist_status st = hoist_kube_get(k, ctx, path, &live);
    if (st == HOIST_E_NOTFOUND)
        st = hoist_ctx_fail(ctx, HOIST_E_NOTFOUND, "%s %s is not on the cluster (namespace %s)",
                            n->kind == HOIST_KIND_DATABASE ? "StatefulSet" : "Deployment", r->name,
                            ns);
    else if (st == HOIST_OK && jint(live, "spec", "replicas", 1) != 0) {
        /* A merge patch of one field: pause keeps everything else as applied. */
        json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", 0);
        st = hoist_kube_merge_patch(k, ctx, path, patch, NULL);
        json_decref(patch);
    }
    json_decref(live);
    free(path);
    free(ns);
    return st;
}

/* One object to delete; @wait: later objects wait until this one is gone. */
typedef struct doomed {
    const char *api, *kind;
    char *name;
    const char *propagation;
    int wait;
} doomed;

static hoist_status delete_in_order(hoist_kube *k, hoist_ctx *ctx, const char *ns, doomed *d,
                                    size_t n, hoist_result *out)
{
    hoist_status st = HOIST_OK;
    for (size_t i = 0; i < n && st == HOIST_OK; i++) {
        char *path = hoist_kube_path(d[i].api, d[i].kind, ns, d[i].name);
        json_t *live = NULL;
        st = hoist_kube_get(k, ctx, path, &live);
        if (st == HOIST_E_NOTFOUND) {
            st = HOIST_OK;
        } else if (st == HOIST_OK && hoist_labelled(live)) {
            if (!json_object_get(json_object_get(live, "metadata"), "deletionTimestamp"))
                st = hoist_kube_delete(k, ctx, path, d[i].propagation);
            if (st == HOIST_OK && d[i].wait) {
                out->poll_ms = 500;
                out->status_text = "deleting";
                st = HOIST_PENDING;
            }
        }
        /* An object without hoist's label is someone else's: left alone. */
        json_decref(live);
        free(path);
    }
    return st;
}

/* Delete the namespace once no hoist workload is left in it. */
static hoist_status namespace_gc(hoist_kube *k, hoist_ctx *ctx, const char *ns)
{
    static const char *const kinds[] = {"Deployment", "StatefulSet"};
    char *sel = hoist_xstrdup(HOIST_KUBE_LABEL_MANAGED "=" HOIST_KUBE_MANAGER);
    hoist_status st = HOIST_OK;
    size_t left = 0;
    for (size_t i = 0; i < 2 && st == HOIST_OK; i++) {
        char *path = hoist_kube_path("apps/v1", kinds[i], ns, NULL);
        json_t *items = NULL;
        st = hoist_kube_list(k, ctx, path, sel, &items);
        left += json_array_size(items);
        json_decref(items);
        free(path);
    }
    if (st == HOIST_OK && left == 0) {
        char *path = hoist_kube_path("v1", "Namespace", NULL, ns);
        json_t *live = NULL;
        st = hoist_kube_get(k, ctx, path, &live);
        if (st == HOIST_OK && hoist_labelled(live) &&
            !json_object_get(json_object_get(live, "metadata"), "deletionTimestamp"))
            st = hoist_kube_delete(k, ctx, path, "Background");
        if (st == HOIST_E_NOTFOUND)
            st = HOIST_OK;
        json_decref(live);
        free(path);
    }
    free(sel);
    return st;
}

static hoist_status kx_destroy(void *self, hoist_driver *drv, hoist_ctx *ctx, const hoist_node *n,
                               const hoist_resource *r, hoist_result *out)
{
    hoist_kube *k = kx_client(self, drv, ctx, r);
    if (!k)
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED, "no Kubernetes client");
    char *ns = hoist_workload_namespace(r->project, r->env);
    doomed d[6];
    size_t nd = 0;
    if (n->kind == HOIST_KIND_DATABASE) {
        char *obj = hoist_xasprintf("%s-db", r->name);
        d[nd++] = (doomed){"apps/v1", "StatefulSet", hoist_xstrdup(obj), "Foreground", 1};
        d[nd++] = (doomed){"v1", "Service", hoist_xstrdup(obj), "Background", 0};
        d[nd++] = (doomed){"v1", "Secret", hoist_xstrdup(obj), "Background", 0};
        /* The data goes last, once nothing mounts it. */
        d[nd++] = (doomed){"v1", "PersistentVolumeClaim", hoist_xasprintf("%s-data", obj),
                           "Background", 1};
        free(obj);
    } else {
        d[nd++] = (doomed){"networking.k8s.io/v1", "Ingress", hoist_xstrdup(r->name), "Background", 0};
        d[nd++] = (doomed){"autoscaling/v2", "HorizontalPodAutoscaler", hoist_xstrdup(r->name),
                           "Background", 0};
        d[nd++] = (doomed){"v1", "Service", hoist_xstrdup(r->name), "Background", 0};
        d[nd++] = (doomed){"apps/v1", "Deployment", hoist_xstrdup(r->name), "Foreground", 1};
        d[nd++] = (doomed){"v1", "Secret", hoist_xasprintf("%s-env", r->name), "Background", 0};
    }
    hoist_status st = delete_in_order(k, ctx, ns, d, nd, out);
    if (st == HOIST_OK)
        st = namespace_gc(k, ctx, ns);
    for (size_t i = 0; i < nd; i++)
        free(d[i].name);
    free(ns);
    return st;
}

hoist_executor *hoist_kube_executor_new(const json_t *settings)
{
    kx *x = hoist_xcalloc(1, sizeof *x);
    pthread_mutex_init(&x->mu, NULL);
    x->settings = json_is_object(settings) ? json_deep_copy(settings) : json_object();
    x->ex = (hoist_executor){.name = "kube", .ensure = kx_ensure, .observe = kx_observe,
                             .destroy = kx_destroy, .pause = kx_pause, .self = x};
    return &x->ex;
}

void hoist_kube_executor_free(hoist_executor *e)
{
    if (!e)
        return;
    kx *x = e->self;
    hoist_kube_free(x->kube);
    json_decref(x->settings);
    pthread_mutex_destroy(&x->mu);
    free(x);
}
