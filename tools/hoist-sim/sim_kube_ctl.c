/*
 * sim_kube_ctl.c - what the simulated Kubernetes control plane does on its
 * own: server-side defaults, validation, and the controllers that turn
 * Deployments into ReplicaSets into pods, StatefulSets into pods, and roll
 * their status forward as time passes.
 *
 * Pods are owned the real way: Deployment -> ReplicaSet (named
 * <deployment>-<pod-template-hash>) -> pods; StatefulSet -> pods
 * <name>-<ordinal>.  A template change makes a new ReplicaSet and scales
 * old ones to zero at once (no surge).  A pod is ready `--delay rollout`
 * after its creation, except for these image triggers:
 *   image containing "crashloop": Running, container waiting in
 *     CrashLoopBackOff, never ready;
 *   image containing "notfound": Pending, container waiting in
 *     ImagePullBackOff (ErrImagePull in its message), never ready.
 * Such a Deployment never becomes available; once progressDeadlineSeconds
 * (default 600; set it low in tests) pass since its template changed, its
 * Progressing condition turns False with reason ProgressDeadlineExceeded,
 * which kubectl rollout status reports as a failure.
 */
#include "autoconfig.h"

#include "sim_kube.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KUBE_NODE "hoist-sim-node-1"

static const char *kmeta(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static json_t *jpath(json_t *obj, const char *a, const char *b)
{
    json_t *x = json_object_get(obj, a);
    return b ? json_object_get(x, b) : x;
}

static void set_default(json_t *obj, const char *key, json_t *v)
{
    if (!json_object_get(obj, key))
        json_object_set(obj, key, v);
    json_decref(v);
}

static json_t *ensure_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

/* ------------------------------------------------------------------ defaults */

static void pod_spec_defaults(json_t *spec)
{
    size_t i;
    json_t *c;
    set_default(spec, "restartPolicy", json_string("Always"));
    set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
    set_default(spec, "schedulerName", json_string("default-scheduler"));
    set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
    set_default(spec, "securityContext", json_object());
    json_array_foreach(json_object_get(spec, "containers"), i, c) {
        const char *img = json_string_value(json_object_get(c, "image"));
        int latest = img && (!strchr(strrchr(img, '/') ? strrchr(img, '/') : img, ':') ||
                             strstr(img, ":latest"));
        if (img && strchr(img, '@'))
            latest = 0;
        set_default(c, "imagePullPolicy", json_string(latest ? "Always" : "IfNotPresent"));
        set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
        set_default(c, "terminationMessagePolicy", json_string("File"));
        set_default(c, "resources", json_object());
        size_t j;
        json_t *p;
        json_array_foreach(json_object_get(c, "ports"), j, p)
            set_default(p, "protocol", json_string("TCP"));
    }
}

static void service_defaults(json_t *obj, json_t *old)
{
    static unsigned next_ip = 10, next_port = 30000;
    json_t *spec = ensure_obj(obj, "spec"), *p;
    size_t i;
    char ip[32];
    set_default(spec, "type", json_string("ClusterIP"));
    set_default(spec, "sessionAffinity", json_string("None"));
    const char *type = json_string_value(json_object_get(spec, "type"));
    if (strcmp(type, "ExternalName") != 0) {
        json_t *oldip = old ? jpath(old, "spec", "clusterIP") : NULL;
        if (oldip)
            json_object_set(spec, "clusterIP", oldip);
        if (!json_object_get(spec, "clusterIP")) {
            snprintf(ip, sizeof ip, "10.245.%u.%u", next_ip / 250, next_ip % 250 + 1);
            next_ip++;
            json_object_set_new(spec, "clusterIP", json_string(ip));
        }
        json_object_set_new(spec, "clusterIPs", json_pack("[O]", json_object_get(spec, "clusterIP")));
        set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
        set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
    }
    int lb = strcmp(type, "LoadBalancer") == 0, np = lb || strcmp(type, "NodePort") == 0;
    if (np)
        set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        set_default(p, "protocol", json_string("TCP"));
        set_default(p, "targetPort", json_incref(json_object_get(p, "port")));
        if (np && !json_object_get(p, "nodePort")) {
            json_t *op = old ? json_array_get(jpath(old, "spec", "ports"), i) : NULL;
            json_t *onp = json_object_get(op, "nodePort");
            json_object_set_new(p, "nodePort", onp ? json_copy(onp) : json_integer(next_port++));
        }
    }
    json_t *status = json_object();
    json_object_set_new(status, "loadBalancer",
                        lb ? json_pack("{s:[{s:s,s:s}]}", "ingress", "ip", "127.0.0.1", "ipMode",
                                       "VIP")
                           : json_object());
    json_object_set_new(obj, "status", status);
}

void kube_defaults(const kube_type *t, json_t *obj, json_t *old)
{
    json_t *meta = json_object_get(obj, "metadata"), *spec;
    size_t ti = (size_t)(t - kube_types);
    switch (ti) {
    case KT_NAMESPACES: {
        json_t *labels = ensure_obj(meta, "labels");
        json_object_set_new(labels, "kubernetes.io/metadata.name",
                            json_string(json_string_value(json_object_get(meta, "name"))));
        spec = ensure_obj(obj, "spec");
        set_default(spec, "finalizers", json_pack("[s]", "kubernetes"));
        if (!old)
            json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        break;
    }
    case KT_SECRETS: {
        set_default(obj, "type", json_string("Opaque"));
        json_t *sd = json_object_get(obj, "stringData"), *v;
        const char *key;
        if (json_is_object(sd)) { /* the API folds stringData into data */
            json_t *data = ensure_obj(obj, "data");
            json_object_foreach(sd, key, v) {
                const char *s = json_string_value(v);
                char *b = sim_base64(s ? s : "", s ? strlen(s) : 0);
                json_object_set_new(data, key, json_string(b));
                free(b);
            }
            json_object_del(obj, "stringData");
        }
        break;
    }
    case KT_SERVICES:
        service_defaults(obj, old);
        break;
    case KT_PVCS: {
        spec = ensure_obj(obj, "spec");
        set_default(spec, "storageClassName", json_string("standard"));
        set_default(spec, "volumeMode", json_string("Filesystem"));
        if (!json_object_get(spec, "volumeName")) {
            char *u = sim_uuid(), *vn = hoist_xasprintf("pvc-%s", u);
            json_object_set_new(spec, "volumeName", json_string(vn));
            free(u);
            free(vn);
        }
        json_object_set_new(obj, "status",
                            json_pack("{s:s,s:O,s:O}", "phase", "Bound", "accessModes",
                                      json_object_get(spec, "accessModes")
                                          ? json_object_get(spec, "accessModes")
                                          : json_array(),
                                      "capacity",
                                      jpath(json_object_get(spec, "resources"), "requests", NULL)
                                          ? jpath(json_object_get(spec, "resources"), "requests", NULL)
                                          : json_object()));
        break;
    }
    case KT_PODS:
        pod_spec_defaults(ensure_obj(obj, "spec"));
        set_default(obj, "status", json_pack("{s:s}", "phase", "Pending"));
        break;
    case KT_DEPLOYMENTS:
    case KT_STATEFULSETS:
    case KT_REPLICASETS:
        spec = ensure_obj(obj, "spec");
        set_default(spec, "replicas", json_integer(1));
        if (ti != KT_REPLICASETS)
            set_default(spec, "revisionHistoryLimit", json_integer(10));
        if (ti == KT_DEPLOYMENTS) {
            set_default(spec, "progressDeadlineSeconds", json_integer(600));
            set_default(spec, "strategy",
                        json_pack("{s:s,s:{s:s,s:s}}", "type", "RollingUpdate", "rollingUpdate",
                                  "maxUnavailable", "25%", "maxSurge", "25%"));
        } else if (ti == KT_STATEFULSETS) {
            set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
            set_default(spec, "updateStrategy", json_pack("{s:s,s:{s:i}}", "type", "RollingUpdate",
                                                          "rollingUpdate", "partition", 0));
            set_default(spec, "persistentVolumeClaimRetentionPolicy",
                        json_pack("{s:s,s:s}", "whenDeleted", "Retain", "whenScaled", "Retain"));
        }
        pod_spec_defaults(ensure_obj(ensure_obj(spec, "template"), "spec"));
        set_default(obj, "status", json_object());
        break;
    case KT_INGRESSES:
        json_object_set_new(obj, "status",
                            json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", "127.0.0.1"));
        break;
    case KT_HPAS:
        set_default(obj, "status", json_pack("{s:i}", "desiredReplicas", 0));
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ validation */

static void cause(json_t **causes, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cause(json_t **causes, const char *reason, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    if (!*causes)
        *causes = json_array();
    json_array_append_new(*causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", m,
                                             "field", field));
    free(m);
}

/* RFC 1123 label (@dots 0) or subdomain (@dots 1). */
static int dns_name_ok(const char *s, int dots)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > (dots ? 253u : 63u))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && !(dots && c == '.'))
            return 0;
        if ((i == 0 || i == n - 1 || (dots && (s[i - 1] == '.' || s[i + 1] == '.'))) && !alnum &&
            c != '.')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
    }
    return 1;
}

static void validate_pod_spec(json_t *spec, const char *at, json_t **causes)
{
    json_t *cs = json_object_get(spec, "containers"), *c;
    size_t i;
    char *f;
    if (!json_is_array(cs) || json_array_size(cs) == 0) {
        f = hoist_xasprintf("%s.containers", at);
        cause(causes, "FieldValueRequired", f, "Required value");
        free(f);
        return;
    }
    json_array_foreach(cs, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *img = json_string_value(json_object_get(c, "image"));
        if (!name || !dns_name_ok(name, 0)) {
            f = hoist_xasprintf("%s.containers[%zu].name", at, i);
            cause(causes, name ? "FieldValueInvalid" : "FieldValueRequired", f,
                  name ? "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower "
                         "case alphanumeric characters or '-'"
                       : "Required value%s", name ? name : "");
            free(f);
        }
        if (!img || !*img) {
            f = hoist_xasprintf("%s.containers[%zu].image", at, i);
            cause(causes, "FieldValueRequired", f, "Required value");
            free(f);
        }
    }
}

/* Does every matchLabels pair of @sel appear in @labels? */
static int selector_matches(json_t *sel, json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(sel, "matchLabels"), k, v)
        if (!json_equal(json_object_get(labels, k), v))
            return 0;
    return 1;
}

json_t *kube_validate(const kube_type *t, json_t *obj, json_t *old)
{
    json_t *causes = NULL, *spec = json_object_get(obj, "spec");
    size_t ti = (size_t)(t - kube_types);
    const char *name = kmeta(obj, "name");
    int label = ti == KT_NAMESPACES || ti == KT_SERVICES;
    if (!dns_name_ok(name, !label))
        cause(&causes, "FieldValueInvalid", "metadata.name",
              "Invalid value: \"%s\": a lowercase RFC 1123 %s must consist of lower case "
              "alphanumeric characters, '-'%s, and must start and end with an alphanumeric "
              "character", name ? name : "", label ? "label" : "subdomain",
              label ? "" : " or '.'");
    switch (ti) {
    case KT_PODS:
        validate_pod_spec(spec, "spec", &causes);
        break;
    case KT_DEPLOYMENTS:
    case KT_STATEFULSETS:
    case KT_REPLICASETS: {
        json_t *sel = json_object_get(spec, "selector"), *tmpl = json_object_get(spec, "template");
        json_t *replicas = json_object_get(spec, "replicas");
        if (!json_is_integer(replicas) || json_integer_value(replicas) < 0)
            cause(&causes, "FieldValueInvalid", "spec.replicas",
                  "Invalid value: must be greater than or equal to 0");
        if (!json_is_object(sel) || !json_object_size(json_object_get(sel, "matchLabels")))
            cause(&causes, "FieldValueRequired", "spec.selector", "Required value");
        else if (!selector_matches(sel, jpath(tmpl, "metadata", "labels")))
            cause(&causes, "FieldValueInvalid", "spec.template.metadata.labels",
                  "Invalid value: `selector` does not match template `labels`");
        if (old && sel && !json_equal(sel, jpath(old, "spec", "selector")))
            cause(&causes, "FieldValueInvalid", "spec.selector",
                  "Invalid value: field is immutable");
        validate_pod_spec(json_object_get(tmpl, "spec"), "spec.template.spec", &causes);
        break;
    }
    case KT_SERVICES: {
        const char *type = json_string_value(json_object_get(spec, "type"));
        const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
        json_t *ports = json_object_get(spec, "ports"), *p;
        size_t i;
        if (strcmp(type, "ExternalName") != 0 && !(cip && strcmp(cip, "None") == 0) &&
            !json_array_size(ports))
            cause(&causes, "FieldValueRequired", "spec.ports", "Required value");
        json_array_foreach(ports, i, p) {
            json_int_t port = json_integer_value(json_object_get(p, "port"));
            if (port < 1 || port > 65535) {
                char *f = hoist_xasprintf("spec.ports[%zu].port", i);
                cause(&causes, "FieldValueInvalid", f,
                      "Invalid value: %lld: must be between 1 and 65535, inclusive", (long long)port);
                free(f);
            }
        }
        break;
    }
    case KT_PVCS:
        if (!json_array_size(json_object_get(spec, "accessModes")))
            cause(&causes, "FieldValueRequired", "spec.accessModes", "Required value");
        if (!jpath(json_object_get(spec, "resources"), "requests", "storage"))
            cause(&causes, "FieldValueRequired", "spec.resources[storage]", "Required value");
        break;
    case KT_INGRESSES: {
        json_t *rule, *path;
        size_t i, j;
        json_array_foreach(json_object_get(spec, "rules"), i, rule)
            json_array_foreach(jpath(json_object_get(rule, "http"), "paths", NULL), j, path) {
                char *f;
                if (!json_object_get(path, "pathType")) {
                    f = hoist_xasprintf("spec.rules[%zu].http.paths[%zu].pathType", i, j);
                    cause(&causes, "FieldValueRequired", f, "Required value: pathType must be specified");
                    free(f);
                }
                if (!jpath(jpath(path, "backend", "service"), "name", NULL) &&
                    !jpath(path, "backend", "resource")) {
                    f = hoist_xasprintf("spec.rules[%zu].http.paths[%zu].backend", i, j);
                    cause(&causes, "FieldValueRequired", f,
                          "Required value: one backend (service or resource) must be specified");
                    free(f);
                }
            }
        break;
    }
    case KT_HPAS: {
        json_t *ref = json_object_get(spec, "scaleTargetRef");
        json_int_t max = json_integer_value(json_object_get(spec, "maxReplicas"));
        json_t *min = json_object_get(spec, "minReplicas");
        if (!json_string_value(json_object_get(ref, "kind")))
            cause(&causes, "FieldValueRequired", "spec.scaleTargetRef.kind", "Required value");
        if (!json_string_value(json_object_get(ref, "name")))
            cause(&causes, "FieldValueRequired", "spec.scaleTargetRef.name", "Required value");
        if (max < 1)
            cause(&causes, "FieldValueInvalid", "spec.maxReplicas",
                  "Invalid value: %lld: must be greater than or equal to 1", (long long)max);
        else if (min && json_integer_value(min) > max)
            cause(&causes, "FieldValueInvalid", "spec.minReplicas",
                  "Invalid value: %lld: must be less than or equal to maxReplicas",
                  (long long)json_integer_value(min));
        break;
    }
    default:
        break;
    }
    return causes;
}

/* ------------------------------------------------------------------ ownership */

static int owned_by(json_t *obj, const char *uid)
{
    size_t i;
    json_t *o;
    json_array_foreach(jpath(obj, "metadata", "ownerReferences"), i, o)
        if (strcmp(json_string_value(json_object_get(o, "uid")), uid) == 0)
            return 1;
    return 0;
}

static json_t *owner_ref(json_t *owner)
{
    return json_pack("[{s:O,s:O,s:s,s:s,s:b,s:b}]", "apiVersion", json_object_get(owner, "apiVersion"),
                     "kind", json_object_get(owner, "kind"), "name", kmeta(owner, "name"), "uid",
                     kmeta(owner, "uid"), "controller", 1, "blockOwnerDeletion", 1);
}

void kube_delete_dependents(sim_res *r, int orphan)
{
    const char *uid = kmeta(r->body, "uid");
    for (size_t i = 0; i < KT_COUNT; i++) {
        sim_res *c = sim_res_first(&kube_types[i].sk, r->parent);
        while (c) {
            sim_res *next = sim_res_next(c, &kube_types[i].sk, r->parent);
            if (c != r && owned_by(c->body, uid)) {
                if (orphan) {
                    json_object_del(json_object_get(c->body, "metadata"), "ownerReferences");
                    kube_obj_touch(c, NULL);
                } else {
                    kube_delete_dependents(c, 0);
                    kube_obj_delete(c);
                    next = sim_res_first(&kube_types[i].sk, r->parent); /* list changed */
                }
            }
            c = next;
        }
    }
}

/* ------------------------------------------------------------------ pods */

/* A stable short hash of the pod template (the pod-template-hash label). */
static char *template_hash(json_t *tmpl)
{
    static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
    char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS), out[11];
    unsigned long long h = 1469598103934665603ULL;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    free(s);
    for (int i = 0; i < 10; i++, h /= (sizeof al - 1))
        out[i] = al[h % (sizeof al - 1)];
    out[10] = '\0';
    return hoist_xstrdup(out);
}

/* A pod of @owner from @tmpl named @name with extra @labels (borrowed). */
static sim_res *make_pod(const char *cluster, json_t *owner, json_t *tmpl, const char *name,
                         json_t *labels)
{
    json_t *meta = json_deep_copy(json_object_get(tmpl, "metadata"));
    if (!json_is_object(meta))
        meta = json_object();
    json_t *l = ensure_obj(meta, "labels");
    json_object_update(l, labels);
    json_object_set_new(meta, "name", json_string(name));
    json_object_set(meta, "namespace", json_object_get(json_object_get(owner, "metadata"), "namespace"));
    json_object_set_new(meta, "ownerReferences", owner_ref(owner));
    json_t *pod = json_pack("{s:o,s:o}", "metadata", meta, "spec",
                            json_deep_copy(json_object_get(tmpl, "spec")));
    json_object_set_new(json_object_get(pod, "spec"), "nodeName", json_string(KUBE_NODE));
    kube_defaults(&kube_types[KT_PODS], pod, NULL);
    return kube_obj_new(&kube_types[KT_PODS], cluster, pod);
}

static void count_pods(const char *cluster, const char *uid, json_t *ids)
{
    for (sim_res *p = sim_res_first(&kube_types[KT_PODS].sk, cluster); p;
         p = sim_res_next(p, &kube_types[KT_PODS].sk, cluster))
        if (owned_by(p->body, uid))
            json_array_append_new(ids, json_string(p->id));
}

/* Make the pods of ReplicaSet @rs match its spec.replicas. */
static void sync_replicaset(sim_res *rs)
{
    json_t *ids = json_array();
    count_pods(rs->parent, kmeta(rs->body, "uid"), ids);
    long long want = json_integer_value(jpath(rs->body, "spec", "replicas"));
    json_t *tmpl = jpath(rs->body, "spec", "template");
    while ((long long)json_array_size(ids) > want) {
        size_t last = json_array_size(ids) - 1;
        sim_res *p = sim_res_get(&kube_types[KT_PODS].sk, json_string_value(json_array_get(ids, last)));
        if (p)
            kube_obj_delete(p);
        json_array_remove(ids, last);
    }
    for (long long n = (long long)json_array_size(ids); n < want; n++) {
        char sfx[6];
        kube_rand_suffix(sfx, 5);
        char *name = hoist_xasprintf("%s-%s", kmeta(rs->body, "name"), sfx);
        json_t *labels = json_object();
        make_pod(rs->parent, rs->body, tmpl, name, labels);
        json_decref(labels);
        free(name);
    }
    json_decref(ids);
}

/* Deployment -> its ReplicaSet for the current template; others to zero. */
static void sync_deployment(sim_res *d)
{
    json_t *tmpl = jpath(d->body, "spec", "template");
    char *hash = template_hash(tmpl);
    char *rsname = hoist_xasprintf("%s-%s", kmeta(d->body, "name"), hash);
    const char *ns = kmeta(d->body, "namespace"), *uid = kmeta(d->body, "uid");
    const kube_type *rst = &kube_types[KT_REPLICASETS];
    sim_res *cur = kube_obj_find(rst, d->parent, ns, rsname);
    json_int_t replicas = json_integer_value(jpath(d->body, "spec", "replicas"));
    if (!cur) {
        long long rev = json_integer_value(json_object_get(d->priv, "revision")) + 1;
        char revs[32];
        snprintf(revs, sizeof revs, "%lld", rev);
        json_t *t2 = json_deep_copy(tmpl);
        json_object_set_new(ensure_obj(ensure_obj(t2, "metadata"), "labels"), "pod-template-hash",
                            json_string(hash));
        json_t *sel = json_deep_copy(jpath(d->body, "spec", "selector"));
        json_object_set_new(ensure_obj(sel, "matchLabels"), "pod-template-hash", json_string(hash));
        json_t *labels = json_deep_copy(jpath(tmpl, "metadata", "labels"));
        json_object_set_new(labels, "pod-template-hash", json_string(hash));
        json_t *rs = json_pack("{s:{s:s,s:s,s:o,s:o,s:{s:s,s:s}},s:{s:I,s:o,s:o}}", "metadata",
                               "name", rsname, "namespace", ns, "labels", labels, "ownerReferences",
                               owner_ref(d->body), "annotations", "deployment.kubernetes.io/revision",
                               revs, "deployment.kubernetes.io/max-replicas", "0", "spec",
                               "replicas", (json_int_t)replicas, "selector", sel, "template", t2);
        json_object_set_new(jpath(rs, "metadata", "annotations"),
                            "deployment.kubernetes.io/desired-replicas",
                            json_sprintf("%lld", (long long)replicas));
        kube_defaults(rst, rs, NULL);
        cur = kube_obj_new(rst, d->parent, rs);
        json_object_set_new(d->priv, "revision", json_integer(rev));
        json_object_set_new(d->priv, "progress_ms", json_integer(sim_wall_ms()));
        json_object_set_new(ensure_obj(json_object_get(d->body, "metadata"), "annotations"),
                            "deployment.kubernetes.io/revision", json_string(revs));
    }
    for (sim_res *rs = sim_res_first(&rst->sk, d->parent); rs; rs = sim_res_next(rs, &rst->sk, d->parent)) {
        if (!owned_by(rs->body, uid))
            continue;
        json_int_t want = rs == cur ? replicas : 0;
        if (json_integer_value(jpath(rs->body, "spec", "replicas")) != want) {
            json_t *old = json_deep_copy(json_object_get(rs->body, "spec"));
            json_object_set_new(json_object_get(rs->body, "spec"), "replicas", json_integer(want));
            kube_obj_touch(rs, old);
            json_decref(old);
        }
    }
    free(hash);
    free(rsname);
}

static void sync_statefulset(sim_res *s)
{
    json_t *tmpl = jpath(s->body, "spec", "template");
    char *hash = template_hash(tmpl), *rev = hoist_xasprintf("%s-%s", kmeta(s->body, "name"), hash);
    const char *ns = kmeta(s->body, "namespace"), *uid = kmeta(s->body, "uid");
    json_int_t replicas = json_integer_value(jpath(s->body, "spec", "replicas"));
    const kube_type *pt = &kube_types[KT_PODS];
    sim_res *p = sim_res_first(&pt->sk, s->parent);
    while (p) { /* remove pods beyond the count and pods of an old template */
        sim_res *next = sim_res_next(p, &pt->sk, s->parent);
        if (owned_by(p->body, uid)) {
            const char *pn = kmeta(p->body, "name"), *dash = strrchr(pn, '-');
            const char *prev = json_string_value(jpath(jpath(p->body, "metadata", "labels"),
                                                       "controller-revision-hash", NULL));
            if (!dash || atoll(dash + 1) >= replicas || !prev || strcmp(prev, rev) != 0) {
                kube_obj_delete(p);
                next = sim_res_first(&pt->sk, s->parent);
            }
        }
        p = next;
    }
    for (json_int_t i = 0; i < replicas; i++) {
        char *name = hoist_xasprintf("%s-%lld", kmeta(s->body, "name"), (long long)i);
        if (!kube_obj_find(pt, s->parent, ns, name)) {
            json_t *labels = json_pack("{s:s,s:s,s:s}", "controller-revision-hash", rev,
                                       "statefulset.kubernetes.io/pod-name", name,
                                       "apps.kubernetes.io/pod-index", "0");
            json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_sprintf("%lld", (long long)i));
            make_pod(s->parent, s->body, tmpl, name, labels);
            json_decref(labels);
        }
        free(name);
    }
    json_object_set_new(s->priv, "revision", json_string(rev));
    free(hash);
    free(rev);
}

/* The image trigger of a container: 0 none, 1 crashloop, 2 image not found. */
static int image_trigger(const char *img)
{
    if (img && strstr(img, "crashloop"))
        return 1;
    if (img && strstr(img, "notfound"))
        return 2;
    return 0;
}

/* Status of pod @p at this moment: a pure function of its spec, creation
 * time and the clock, so only real transitions change it. */
static json_t *pod_status(sim_res *p)
{
    long long now = sim_wall_ms(), ready_at = p->created_ms + sim_delay_ms("rollout");
    char created[32], readyts[32], podip[32];
    json_t *cs = json_array(), *c;
    size_t i;
    int all_ready = 1, pulling_failed = 0, started = now >= ready_at;
    sim_rfc3339(p->created_ms, created);
    sim_rfc3339(started ? ready_at : p->created_ms, readyts);
    json_array_foreach(jpath(p->body, "spec", "containers"), i, c) {
        const char *img = json_string_value(json_object_get(c, "image"));
        int trig = image_trigger(img);
        json_t *state;
        int ready = 0;
        json_int_t restarts = 0;
        if (!started) {
            state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
        } else if (trig == 1) {
            restarts = 1 + (now - ready_at) / 10000;
            char *msg = hoist_xasprintf("back-off 10s restarting failed container=%s pod=%s",
                                        json_string_value(json_object_get(c, "name")),
                                        kmeta(p->body, "name"));
            state = json_pack("{s:{s:s,s:s}}", "waiting", "reason", "CrashLoopBackOff", "message", msg);
            free(msg);
        } else if (trig == 2) {
            char *msg = hoist_xasprintf("Back-off pulling image \"%s\": ErrImagePull: %s: not found",
                                        img, img);
            state = json_pack("{s:{s:s,s:s}}", "waiting", "reason", "ImagePullBackOff", "message", msg);
            free(msg);
            pulling_failed = 1;
        } else {
            state = json_pack("{s:{s:s}}", "running", "startedAt", readyts);
            ready = 1;
        }
        all_ready &= ready;
        json_t *st = json_pack("{s:O,s:s,s:s,s:b,s:b,s:I,s:o}", "name", json_object_get(c, "name"),
                               "image", img ? img : "", "imageID", "", "ready", ready, "started",
                               ready || trig == 1, "restartCount", (json_int_t)restarts, "state", state);
        if (started && trig != 2) {
            char *cid = hoist_xasprintf("containerd://%.12s%zu", p->id, i);
            char *iid = hoist_xasprintf("%s@sha256:%064d", img ? img : "", 0);
            json_object_set_new(st, "containerID", json_string(cid));
            json_object_set_new(st, "imageID", json_string(iid));
            free(cid);
            free(iid);
        }
        json_array_append_new(cs, st);
    }
    const char *phase = !started || pulling_failed ? "Pending" : "Running";
    const char *rstat = all_ready && started ? "True" : "False";
    unsigned h = 0;
    for (const char *s = p->id; *s; s++)
        h = h * 31 + (unsigned char)*s;
    snprintf(podip, sizeof podip, "10.244.%u.%u", (h >> 8) % 250, h % 250 + 2);
    json_t *conds = json_pack(
        "[{s:s,s:s,s:n,s:s},{s:s,s:s,s:n,s:s},{s:s,s:s,s:n,s:s},{s:s,s:s,s:n,s:s}]", "type",
        "PodScheduled", "status", "True", "lastProbeTime", "lastTransitionTime", created, "type",
        "Initialized", "status", "True", "lastProbeTime", "lastTransitionTime", created, "type",
        "ContainersReady", "status", rstat, "lastProbeTime", "lastTransitionTime", readyts, "type",
        "Ready", "status", rstat, "lastProbeTime", "lastTransitionTime", readyts);
    return json_pack("{s:s,s:o,s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,s:o,s:s}", "phase", phase,
                     "conditions", conds, "hostIP", "10.0.0.10", "hostIPs", "ip", "10.0.0.10",
                     "podIP", podip, "podIPs", "ip", podip, "startTime", created,
                     "containerStatuses", cs, "qosClass", "BestEffort");
}

static int pod_ready(json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(jpath(pod, "status", "conditions"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "type")), "Ready") == 0)
            return strcmp(json_string_value(json_object_get(c, "status")), "True") == 0;
    return 0;
}

/* Replace @r's status with @st (stolen) when it differs: a real change. */
static void set_status(sim_res *r, json_t *st)
{
    if (!json_equal(json_object_get(r->body, "status"), st)) {
        json_object_set(r->body, "status", st);
        kube_obj_touch(r, NULL);
    }
    json_decref(st);
}

static void put_nonzero(json_t *o, const char *key, long long v)
{
    if (v)
        json_object_set_new(o, key, json_integer(v));
}

/* Counts of the pods @uid owns. */
static void pod_counts(const char *cluster, const char *uid, long long *total, long long *ready)
{
    *total = *ready = 0;
    for (sim_res *p = sim_res_first(&kube_types[KT_PODS].sk, cluster); p;
         p = sim_res_next(p, &kube_types[KT_PODS].sk, cluster))
        if (owned_by(p->body, uid)) {
            (*total)++;
            *ready += pod_ready(p->body);
        }
}

/* Keep a condition's transition time while its status and reason hold. */
static json_t *condition(json_t *old_status, const char *type, const char *status,
                         const char *reason, const char *message)
{
    char ts[32];
    size_t i;
    json_t *c;
    const char *when = sim_rfc3339(sim_wall_ms(), ts);
    json_array_foreach(json_object_get(old_status, "conditions"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(c, "status")), status) == 0 &&
            strcmp(json_string_value(json_object_get(c, "reason")), reason) == 0)
            when = json_string_value(json_object_get(c, "lastTransitionTime"));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status,
                     "lastUpdateTime", when, "lastTransitionTime", when, "reason", reason,
                     "message", message);
}

static long long max_unavailable(json_t *d, long long replicas)
{
    json_t *mu = jpath(jpath(jpath(d, "spec", "strategy"), "rollingUpdate", NULL), "maxUnavailable", NULL);
    if (json_is_integer(mu))
        return json_integer_value(mu);
    if (json_is_string(mu))
        return replicas * atoll(json_string_value(mu)) / 100;
    return 0;
}

static void deployment_status(sim_res *d)
{
    const char *uid = kmeta(d->body, "uid");
    long long total = 0, ready = 0, updated = 0, want = json_integer_value(jpath(d->body, "spec", "replicas"));
    char *hash = template_hash(jpath(d->body, "spec", "template"));
    char *cur = hoist_xasprintf("%s-%s", kmeta(d->body, "name"), hash);
    const kube_type *rst = &kube_types[KT_REPLICASETS];
    for (sim_res *rs = sim_res_first(&rst->sk, d->parent); rs; rs = sim_res_next(rs, &rst->sk, d->parent)) {
        long long t, r;
        if (!owned_by(rs->body, uid))
            continue;
        pod_counts(d->parent, kmeta(rs->body, "uid"), &t, &r);
        total += t;
        ready += r;
        if (strcmp(kmeta(rs->body, "name"), cur) == 0)
            updated = t;
    }
    json_t *old = json_object_get(d->body, "status"), *st = json_object(), *conds = json_array();
    json_object_set(st, "observedGeneration", jpath(d->body, "metadata", "generation"));
    put_nonzero(st, "replicas", total);
    put_nonzero(st, "updatedReplicas", updated);
    put_nonzero(st, "readyReplicas", ready);
    put_nonzero(st, "availableReplicas", ready);
    put_nonzero(st, "unavailableReplicas", total - ready > want - ready ? total - ready : want - ready);
    int complete = updated == want && total == want && ready >= want;
    long long since = json_integer_value(json_object_get(d->priv, "progress_ms"));
    long long deadline = json_integer_value(jpath(d->body, "spec", "progressDeadlineSeconds")) * 1000;
    if (ready >= want - max_unavailable(d->body, want))
        json_array_append_new(conds, condition(old, "Available", "True", "MinimumReplicasAvailable",
                                               "Deployment has minimum availability."));
    else
        json_array_append_new(conds, condition(old, "Available", "False", "MinimumReplicasUnavailable",
                                               "Deployment does not have minimum availability."));
    char *msg;
    if (complete) {
        msg = hoist_xasprintf("ReplicaSet \"%s\" has successfully progressed.", cur);
        json_array_append_new(conds, condition(old, "Progressing", "True", "NewReplicaSetAvailable", msg));
    } else if (since && sim_wall_ms() > since + deadline) {
        msg = hoist_xasprintf("ReplicaSet \"%s\" has timed out progressing.", cur);
        json_array_append_new(conds, condition(old, "Progressing", "False", "ProgressDeadlineExceeded", msg));
    } else {
        msg = hoist_xasprintf("ReplicaSet \"%s\" is progressing.", cur);
        json_array_append_new(conds, condition(old, "Progressing", "True", "ReplicaSetUpdated", msg));
    }
    free(msg);
    json_object_set_new(st, "conditions", conds);
    set_status(d, st);
    free(hash);
    free(cur);
}

void kube_reconcile(const char *cluster)
{
    const kube_type *dt = &kube_types[KT_DEPLOYMENTS], *rst = &kube_types[KT_REPLICASETS];
    const kube_type *sst = &kube_types[KT_STATEFULSETS], *pt = &kube_types[KT_PODS];
    sim_res *r;
    if (!cluster)
        return;
    for (r = sim_res_first(&dt->sk, cluster); r; r = sim_res_next(r, &dt->sk, cluster))
        sync_deployment(r);
    for (r = sim_res_first(&rst->sk, cluster); r; r = sim_res_next(r, &rst->sk, cluster))
        sync_replicaset(r);
    for (r = sim_res_first(&sst->sk, cluster); r; r = sim_res_next(r, &sst->sk, cluster))
        sync_statefulset(r);
    for (r = sim_res_first(&pt->sk, cluster); r; r = sim_res_next(r, &pt->sk, cluster))
        set_status(r, pod_status(r));
    for (r = sim_res_first(&rst->sk, cluster); r; r = sim_res_next(r, &rst->sk, cluster)) {
        long long t, rd;
        pod_counts(cluster, kmeta(r->body, "uid"), &t, &rd);
        json_t *st = json_pack("{s:I,s:I,s:O}", "replicas", (json_int_t)t, "fullyLabeledReplicas",
                               (json_int_t)t, "observedGeneration", jpath(r->body, "metadata", "generation"));
        put_nonzero(st, "readyReplicas", rd);
        put_nonzero(st, "availableReplicas", rd);
        set_status(r, st);
    }
    for (r = sim_res_first(&dt->sk, cluster); r; r = sim_res_next(r, &dt->sk, cluster))
        deployment_status(r);
    for (r = sim_res_first(&sst->sk, cluster); r; r = sim_res_next(r, &sst->sk, cluster)) {
        long long t, rd;
        pod_counts(cluster, kmeta(r->body, "uid"), &t, &rd);
        const char *rev = json_string_value(json_object_get(r->priv, "revision"));
        json_t *st = json_pack("{s:I,s:O,s:s,s:s,s:s}", "replicas", (json_int_t)t, "observedGeneration",
                               jpath(r->body, "metadata", "generation"), "currentRevision", rev,
                               "updateRevision", rev, "collisionCount", "0");
        json_object_set_new(st, "collisionCount", json_integer(0));
        put_nonzero(st, "currentReplicas", t);
        put_nonzero(st, "updatedReplicas", t);
        put_nonzero(st, "readyReplicas", rd);
        put_nonzero(st, "availableReplicas", rd);
        set_status(r, st);
    }
    const kube_type *ht = &kube_types[KT_HPAS];
    for (r = sim_res_first(&ht->sk, cluster); r; r = sim_res_next(r, &ht->sk, cluster)) {
        json_t *ref = jpath(r->body, "spec", "scaleTargetRef");
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        const kube_type *tt = kind && strcmp(kind, "StatefulSet") == 0 ? sst : dt;
        sim_res *target = kube_obj_find(tt, cluster, kmeta(r->body, "namespace"),
                                        json_string_value(json_object_get(ref, "name")));
        json_int_t n = target ? json_integer_value(jpath(target->body, "spec", "replicas")) : 0;
        json_t *st = json_pack("{s:I,s:I}", "currentReplicas", n, "desiredReplicas", n);
        set_status(r, st);
    }
}

/* ------------------------------------------------------------------ logs */

char *kube_pod_log(sim_res *pod, const char *container, int previous, int *code)
{
    json_t *cs = jpath(pod->body, "spec", "containers"), *c = NULL, *x;
    size_t i;
    const char *pn = kmeta(pod->body, "name");
    json_array_foreach(cs, i, x)
        if (!container || strcmp(json_string_value(json_object_get(x, "name")), container) == 0) {
            c = x;
            break;
        }
    if (!c) {
        *code = 400;
        return hoist_xasprintf("container %s is not valid for pod %s", container ? container : "",
                               pn);
    }
    const char *cn = json_string_value(json_object_get(c, "name"));
    const char *img = json_string_value(json_object_get(c, "image"));
    long long ready_at = pod->created_ms + sim_delay_ms("rollout");
    int trig = image_trigger(img);
    char ts[32];
    if (sim_wall_ms() < ready_at || trig == 2) {
        *code = 400;
        return hoist_xasprintf("container \"%s\" in pod \"%s\" is waiting to start: %s", cn, pn,
                               trig == 2 ? "trying and failing to pull image" : "ContainerCreating");
    }
    if (previous && trig != 1) {
        *code = 400;
        return hoist_xasprintf("previous terminated container \"%s\" in pod \"%s\" not found", cn,
                               pn);
    }
    /* env values may be secrets: the log names the variables, never their values */
    hoist_buf b = {0};
    sim_rfc3339(ready_at, ts);
    hoist_buf_printf(&b, "%s hoist-sim: container %s of pod %s started from image %s\n", ts, cn,
                     pn, img);
    json_array_foreach(json_object_get(c, "env"), i, x)
        hoist_buf_printf(&b, "%s hoist-sim: environment variable %s is set\n", ts,
                         json_string_value(json_object_get(x, "name")));
    if (trig == 1)
        hoist_buf_printf(&b, "%s panic: simulated crash (the image name contains \"crashloop\")\n", ts);
    else
        hoist_buf_printf(&b, "%s hoist-sim: ready\n", ts);
    *code = 200;
    return hoist_buf_steal(&b);
}
