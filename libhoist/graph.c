/* graph.c - model + driver -> resource graph; the executor registry. */
#include "graph.h"
#include "driver.h"
#include "host.h"
#include "loader.h"
#include "srcdigest.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"network", "cluster", "registry", "image", "database", "app"};

const char *hoist_kind_name(hoist_kind k)
{
    return (unsigned)k < HOIST_KIND_COUNT_ ? kind_names[k] : "unknown";
}

int hoist_kind_parse(const char *s)
{
    for (int i = 0; s && i < HOIST_KIND_COUNT_; i++)
        if (strcmp(s, kind_names[i]) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- executors */

/* The "provider" executor: the node's own operation, through the driver door. */
#define PROVIDER_OP(op, OP)                                                                    \
    static hoist_status provider_##op(void *self, hoist_driver *drv, hoist_ctx *ctx,           \
                                      const hoist_node *n, const hoist_resource *r,            \
                                      hoist_result *out)                                       \
    {                                                                                          \
        (void)self;                                                                            \
        return hoist_driver_call(drv, n->kind, OP, ctx, r, out);                               \
    }
PROVIDER_OP(ensure, HOIST_OP_ENSURE)
PROVIDER_OP(observe, HOIST_OP_OBSERVE)
PROVIDER_OP(destroy, HOIST_OP_DESTROY)
PROVIDER_OP(pause, HOIST_OP_PAUSE)

static const hoist_executor provider_executor = {
    .name = "provider",
    .ensure = provider_ensure,
    .observe = provider_observe,
    .destroy = provider_destroy,
    .pause = provider_pause,
};

#define MAX_EXECUTORS 16
static pthread_mutex_t exec_mu = PTHREAD_MUTEX_INITIALIZER;
static const hoist_executor *executors[MAX_EXECUTORS] = {&provider_executor};
static size_t n_executors = 1;

void hoist_executor_register(const hoist_executor *e)
{
    pthread_mutex_lock(&exec_mu);
    size_t i;
    for (i = 0; i < n_executors; i++)
        if (strcmp(executors[i]->name, e->name) == 0)
            break;
    if (i < MAX_EXECUTORS) {
        executors[i] = e;
        if (i == n_executors)
            n_executors++;
    }
    pthread_mutex_unlock(&exec_mu);
}

const hoist_executor *hoist_executor_find(const char *name)
{
    const hoist_executor *e = NULL;
    pthread_mutex_lock(&exec_mu);
    for (size_t i = 0; i < n_executors && !e; i++)
        if (strcmp(executors[i]->name, name) == 0)
            e = executors[i];
    pthread_mutex_unlock(&exec_mu);
    return e;
}

const char *hoist_executor_missing_reason(const char *name, hoist_kind kind)
{
    if (strcmp(name, "image") == 0)
        return "not available yet: building images arrives with `hoist build` (issue 10)";
    if (strcmp(name, "kube") == 0)
        return kind == HOIST_KIND_DATABASE
                   ? "not available yet: container-mode databases run on Kubernetes, which "
                     "arrives with the kube executor (issue 11); use mode: managed"
                   : "not available yet: running apps on Kubernetes arrives with the kube "
                     "executor (issue 11)";
    return "no executor registered for this node";
}

int hoist_node_runnable(const hoist_node *n, const hoist_driver *drv, const char **why)
{
    if (strcmp(n->executor, "provider") == 0) {
        if (drv && !hoist_driver_offers(drv, n->kind, HOIST_OP_ENSURE)) {
            *why = n->kind == HOIST_KIND_DATABASE
                       ? "this provider offers no managed databases: use mode: container"
                       : "this provider does not offer this kind of resource";
            return 0;
        }
        return 1;
    }
    if (!hoist_executor_find(n->executor)) {
        *why = hoist_executor_missing_reason(n->executor, n->kind);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- building */

static long add_node(hoist_graph *g, hoist_kind kind, const char *name, const char *executor,
                     json_t *spec)
{
    g->nodes = hoist_xrealloc(g->nodes, (g->n + 1) * sizeof *g->nodes);
    hoist_node *n = &g->nodes[g->n];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->name = hoist_xstrdup(name);
    n->key = hoist_xasprintf("%s/%s", hoist_kind_name(kind), name);
    n->executor = executor;
    n->spec = spec ? spec : json_object();
    n->cfg = g->cfg;
    return (long)g->n++;
}

static void add_edge(hoist_graph *g, long from, long to)
{
    if (from < 0 || to < 0)
        return;
    hoist_node *a = &g->nodes[from], *b = &g->nodes[to];
    for (size_t i = 0; i < a->n_needs; i++)
        if (a->needs[i] == (size_t)to)
            return;
    a->needs = hoist_xrealloc(a->needs, (a->n_needs + 1) * sizeof *a->needs);
    a->needs[a->n_needs++] = (size_t)to;
    b->needed_by = hoist_xrealloc(b->needed_by, (b->n_needed_by + 1) * sizeof *b->needed_by);
    b->needed_by[b->n_needed_by++] = (size_t)from;
}

static json_t *copy_or_empty(json_t *j)
{
    return json_is_object(j) ? json_deep_copy(j) : json_object();
}

hoist_graph *hoist_graph_build(const hoist_config *cfg, const hoist_env_cfg *env,
                               const hoist_driver *drv, char **err)
{
    hoist_graph *g = hoist_xcalloc(1, sizeof *g);
    g->cfg = cfg;
    g->env = env;
    int has_network = !drv || hoist_driver_offers_kind(drv, HOIST_KIND_NETWORK);
    int has_cluster = !drv || hoist_driver_offers_kind(drv, HOIST_KIND_CLUSTER);
    int has_registry = !drv || hoist_driver_offers_kind(drv, HOIST_KIND_REGISTRY);
    /* Apps run through the driver's app ops (the local runtime) when it has
     * them; such a runtime runs the source directory itself, so no image is
     * built for it.  Otherwise apps are Kubernetes workloads. */
    int local_apps = !drv || hoist_driver_offers_kind(drv, HOIST_KIND_APP);
    int need_cluster = 0;
    for (size_t i = 0; i < cfg->n_dbs; i++)
        need_cluster |= cfg->dbs[i].mode == HOIST_DB_CONTAINER;
    need_cluster |= !local_apps && cfg->n_apps > 0;
    if (need_cluster && !has_cluster) {
        *err = hoist_xasprintf("environment '%s': provider '%s' offers no Kubernetes cluster, but "
                               "%s needs one", env->name, env->provider,
                               local_apps ? "a container-mode database" : "running the apps");
        hoist_graph_free(g);
        return NULL;
    }

    long net = -1, cluster = -1;
    if (has_network) {
        json_t *s = copy_or_empty(json_object_get(env->settings, "network"));
        if (env->region)
            json_object_set_new(s, "region", json_string(env->region));
        net = add_node(g, HOIST_KIND_NETWORK, "network", "provider", s);
    }
    if (need_cluster) {
        json_t *s = copy_or_empty(env->cluster);
        if (env->region)
            json_object_set_new(s, "region", json_string(env->region));
        cluster = add_node(g, HOIST_KIND_CLUSTER, "cluster", "provider", s);
        add_edge(g, cluster, net);
    }
    for (size_t i = 0; i < cfg->n_dbs; i++) {
        const hoist_db_cfg *d = &cfg->dbs[i];
        int managed = d->mode == HOIST_DB_MANAGED;
        json_t *s = copy_or_empty(d->spec);
        json_object_set_new(s, "engine", json_string(hoist_db_engine_name(d->engine)));
        json_object_set_new(s, "mode", json_string(managed ? "managed" : "container"));
        long id = add_node(g, HOIST_KIND_DATABASE, d->name, managed ? "provider" : "kube", s);
        g->nodes[id].db = d;
        add_edge(g, id, managed ? net : cluster);
    }
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const hoist_app_cfg *a = &cfg->apps[i];
        json_t *s = copy_or_empty(a->spec);
        /* The injected env is added at run time; the app's own env is part
         * of the env hash, not of the recorded spec (it may hold secrets). */
        json_object_del(s, "env");
        if (a->path) {
            char *dg = hoist_source_digest(a->path, err);
            if (!dg) {
                char *m = hoist_xasprintf("app '%s': %s", a->name, *err);
                free(*err);
                *err = m;
                json_decref(s);
                hoist_graph_free(g);
                return NULL;
            }
            json_object_set_new(s, "source_digest", json_string(dg));
            free(dg);
        }
        long image = -1;
        if (!local_apps && a->path) {
            long reg = -1;
            if (has_registry)
                reg = add_node(g, HOIST_KIND_REGISTRY, a->name, "provider",
                               json_pack("{s:s}", "app", a->name));
            json_t *is = json_pack("{s:s,s:O}", "app", a->name, "source_digest",
                                   json_object_get(s, "source_digest"));
            if (a->build)
                json_object_set(is, "build", a->build);
            image = add_node(g, HOIST_KIND_IMAGE, a->name, "image", is);
            g->nodes[image].app = a;
            if (reg >= 0)
                g->nodes[reg].app = a;
            add_edge(g, image, reg);
        }
        long id = add_node(g, HOIST_KIND_APP, a->name, local_apps ? "provider" : "kube", s);
        g->nodes[id].app = a;
        if (!local_apps)
            add_edge(g, id, cluster);
        add_edge(g, id, image);
        for (char **dn = a->databases; dn && *dn; dn++) {
            long db = hoist_graph_find(g, HOIST_KIND_DATABASE, *dn);
            if (db < 0) {
                *err = hoist_xasprintf("app '%s' uses database '%s', which is not defined", a->name,
                                       *dn);
                hoist_graph_free(g);
                return NULL;
            }
            add_edge(g, id, db);
        }
    }
    return g;
}

void hoist_graph_free(hoist_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        hoist_node *n = &g->nodes[i];
        free(n->name);
        free(n->key);
        json_decref(n->spec);
        free(n->needs);
        free(n->needed_by);
    }
    free(g->nodes);
    free(g);
}

long hoist_graph_find(const hoist_graph *g, hoist_kind kind, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i].kind == kind && strcmp(g->nodes[i].name, name) == 0)
            return (long)i;
    return -1;
}

void hoist_graph_dot(const hoist_graph *g, const char *const *labels, FILE *fp)
{
    fprintf(fp, "digraph \"%s/%s\" {\n  rankdir=LR;\n  node [shape=box];\n",
            g->cfg && g->cfg->project ? g->cfg->project : "hoist", g->env ? g->env->name : "env");
    for (size_t i = 0; i < g->n; i++) {
        const hoist_node *n = &g->nodes[i];
        fprintf(fp, "  \"%s\" [label=\"%s\\n%s%s%s\"];\n", n->key, hoist_kind_name(n->kind), n->name,
                labels && labels[i] ? "\\n" : "", labels && labels[i] ? labels[i] : "");
    }
    /* Arrows point from what is needed to what needs it: the order things happen. */
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->nodes[i].n_needs; j++)
            fprintf(fp, "  \"%s\" -> \"%s\";\n", g->nodes[g->nodes[i].needs[j]].key, g->nodes[i].key);
    fputs("}\n", fp);
}
