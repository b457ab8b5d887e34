/*
 * graph.h - one environment as a graph of resources, and the executors that
 * know how to converge each kind of node.
 *
 *   network -> cluster ------------------+-> app
 *   registry (repo per app) -> image ----+     ^
 *   network -> managed database --------------+  (container databases need the cluster)
 *
 * Each node names an executor.  "provider" calls the driver (through driver.h) for
 * the node's kind and is built in.  "image" (building and pushing app images,
 * issue 10) and "kube" (workloads on the cluster, issue 11) are registered
 * by their modules with hoist_executor_register(); until then a node that
 * needs them is reported by plan as not available, and deploy fails it (and
 * skips what needs it) instead of pretending.
 */
#ifndef HOIST_GRAPH_H
#define HOIST_GRAPH_H

#include "config.h"
#include "loader.h"

#include <stdio.h>

typedef enum hoist_kind {
    HOIST_KIND_NETWORK,
    HOIST_KIND_CLUSTER,
    HOIST_KIND_REGISTRY,
    HOIST_KIND_IMAGE,
    HOIST_KIND_DATABASE,
    HOIST_KIND_APP,
    HOIST_KIND_COUNT_
} hoist_kind;

/* "network", "cluster"...; and back (-1 if unknown). */
const char *hoist_kind_name(hoist_kind k);
int hoist_kind_parse(const char *s);

typedef struct hoist_node {
    hoist_kind kind;
    char *name;      /* logical name: "network", "cluster", the db or app name */
    char *key;       /* "kind/name", the state key */
    const char *executor; /* "provider", "image" or "kube" (static string) */
    json_t *spec;    /* desired settings with defaults (owned); apps get "source_digest" */
    size_t *needs;   /* indices into the graph's nodes */
    size_t n_needs;
    size_t *needed_by; /* reverse edges */
    size_t n_needed_by;
    const hoist_db_cfg *db;   /* for database nodes; borrowed from the model */
    const hoist_app_cfg *app; /* for app, registry and image nodes */
    const hoist_config *cfg;  /* the model the node came from (borrowed) */
} hoist_node;

typedef struct hoist_graph {
    hoist_node *nodes;
    size_t n;
    const hoist_config *cfg;   /* borrowed */
    const hoist_env_cfg *env;  /* borrowed */
} hoist_graph;

/*
 * hoist_graph_build - the graph of @env on the driver @drv (initialised, so
 * its ops tables are known).  @drv may be NULL in tests that only need the
 * shape; then every kind is assumed offered and apps run on the local runtime.
 * Apps with a `path` get their source digest computed here (which reads the
 * app directory).  Returns a new graph or NULL with *err set.
 */
hoist_graph *hoist_graph_build(const hoist_config *cfg, const hoist_env_cfg *env,
                               const hoist_driver *drv, char **err);
void hoist_graph_free(hoist_graph *g);

/* Index of @kind/@name, or -1. */
long hoist_graph_find(const hoist_graph *g, hoist_kind kind, const char *name);

/* Graphviz DOT of @g (with an optional per-node label suffix, e.g. the action). */
void hoist_graph_dot(const hoist_graph *g, const char *const *labels, FILE *fp);

/* ------------------------------------------------------------- executors */

/*
 * hoist_exec_fn - converge (or observe, destroy, pause) one node.
 * Same contract as the driver ops (hoist/provider.h): HOIST_OK when done,
 * HOIST_PENDING to be called again after out->poll_ms, an error reported
 * once through hoist_ctx_fail(ctx, ...) or the driver.
 * @self: the executor's own context (hoist_executor.self).
 * @drv:  the environment's initialised driver (for credentials: a kube
 *        executor calls hoist_driver_cluster_credentials(), an image
 *        executor hoist_driver_registry_credentials(); see driver.h).
 * @n:    the node; @r: the resource as the driver would see it, with needs
 *        (outputs of needed nodes by kind then name) and recorded outputs.
 * Called from worker threads; never twice at once for the same node.
 */
typedef hoist_status (*hoist_exec_fn)(void *self, hoist_driver *drv, hoist_ctx *ctx,
                                      const hoist_node *n, const hoist_resource *r,
                                      hoist_result *out);

typedef struct hoist_executor {
    const char *name;   /* "provider", "image", "kube" */
    hoist_exec_fn ensure, observe, destroy;
    hoist_exec_fn pause; /* may be NULL: pause not offered */
    void *self;
} hoist_executor;

/*
 * hoist_executor_register - make @e available under e->name (replacing a
 * previous one of that name).  @e must stay valid for the process lifetime.
 * Call before building plans (e.g. at start-up from the CLI).  Thread-safe.
 */
void hoist_executor_register(const hoist_executor *e);
/* The executor named @name, or NULL when it is not available. */
const hoist_executor *hoist_executor_find(const char *name);
/* Why @name is missing, for plan ("not available yet: ..."); static string. */
const char *hoist_executor_missing_reason(const char *name, hoist_kind kind);
/*
 * Whether the executor for @n can run it on @drv: 1 yes, 0 no with *why set
 * to a static explanation.
 */
int hoist_node_runnable(const hoist_node *n, const hoist_driver *drv, const char **why);

#endif
