/*
 * workload.h - apps and container-mode databases as Kubernetes objects, and
 * the "kube" executor that converges them (see graph.h for the contract).
 *
 * Per environment one Namespace, <project>-<env>.  Per app: a Secret
 * <app>-env with its variables (database connections included), a
 * Deployment, a Service (when it has a port), an Ingress (when public) and a
 * HorizontalPodAutoscaler (when instances.max > instances.min).  Per
 * container database <db>-db: a Secret, a PersistentVolumeClaim, a Service
 * and a one-replica StatefulSet running the engine's official image.
 *
 * Every rendered manifest carries the annotation hoist.dev/spec-hash (the
 * SHA-256 of its canonical JSON without that annotation); an object whose
 * live annotation matches is not sent again, so an unchanged environment
 * costs GETs only.  The hashes are also kept in the node's outputs
 * ("manifests").
 *
 * Environment settings read (all optional):
 *   ingress: { class, annotations: {k: v}, tls_secret, domain }
 *            (generated hosts are <app>.<env>.<project>.<domain>,
 *             domain defaulting to hoist.local)
 *   resources: { requests: {cpu, memory}, limits: {cpu, memory} } for apps
 *   storage_class: the PVCs' storageClassName
 *   rollout_timeout: seconds before a Deployment is reported stuck (600)
 */
#ifndef HOIST_WORKLOAD_H
#define HOIST_WORKLOAD_H

#include "graph.h"
#include "kube.h"

#include <jansson.h>

#define HOIST_KUBE_ANN_HASH "hoist.dev/spec-hash"

/* "<project>-<env>" made a valid DNS label (lower case, at most 63 bytes); new string. */
char *hoist_workload_namespace(const char *project, const char *env);

/* The Namespace manifest of @project/@env (hash annotation included); new reference. */
json_t *hoist_workload_namespace_manifest(const char *project, const char *env);

/*
 * hoist_workload_app_manifests - the objects of app @name in apply order
 * (Secret, Deployment, then Service, Ingress, HPA when they apply).
 * @spec: the app's spec with "env" (the injected variables); @needs: the
 * node's needs (image outputs under needs.image.<name>); @settings: the
 * environment's settings (may be NULL).  Returns a new array, or NULL with
 * *err set (e.g. no image to run).
 */
json_t *hoist_workload_app_manifests(const char *project, const char *env, const char *name,
                                     const json_t *spec, const json_t *needs,
                                     const json_t *settings, char **err);

/*
 * hoist_workload_db_manifests - the objects of container database @name
 * (Secret, PersistentVolumeClaim, Service, StatefulSet) with @password (and
 * @root_password for MySQL; may be NULL otherwise).  *conn (may be NULL)
 * gets the connection outputs {host, port, user, database}.  Returns a new
 * array or NULL with *err set (unknown engine).
 */
json_t *hoist_workload_db_manifests(const char *project, const char *env, const char *name,
                                    const json_t *spec, const char *password,
                                    const char *root_password, const json_t *settings,
                                    json_t **conn, char **err);

/* The hash annotation of @obj (borrowed) or NULL. */
const char *hoist_workload_hash(const json_t *obj);

/*
 * hoist_workload_rollout - is Deployment or StatefulSet @live done rolling
 * out?  1 done, 0 not yet (*why: a static phase), -1 stuck (Progressing is
 * False with ProgressDeadlineExceeded).
 */
int hoist_workload_rollout(const json_t *live, const char **why);

/*
 * hoist_workload_pod_problems - from a list of Pods, "pod/container:
 * Reason: message" for every waiting or crashed container (CrashLoopBackOff,
 * ImagePullBackOff...), joined with "; "; new string, "" when none.
 */
char *hoist_workload_pod_problems(const json_t *pods);

/* The label selector of app or database @name's pods in @ns ("k=v,k=v"); new string. */
char *hoist_workload_selector(const char *ns, const char *name, int database);

/*
 * hoist_kube_executor - the "kube" executor for an environment with
 * @settings (borrowed; must outlive the executor).  Create once per
 * process and register it with hoist_executor_register().  Thread-safe.
 */
hoist_executor *hoist_kube_executor_new(const json_t *settings);
void hoist_kube_executor_free(hoist_executor *e);

/*
 * hoist_kube_for_cluster - a client for the cluster whose recorded outputs
 * are @cluster_outputs, getting (and refreshing) credentials from @drv's
 * cluster credentials op.  Returns a new client or NULL with *err set when
 * the driver offers no credentials.  @drv must outlive the client.
 */
hoist_kube *hoist_kube_for_cluster(hoist_driver *drv, const char *project, const char *env,
                                   const json_t *cluster_outputs, char **err);

#endif
