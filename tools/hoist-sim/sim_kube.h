/*
 * sim_kube.h - internals shared by the simulated Kubernetes API (sim_kube.c:
 * clusters, routing, discovery, CRUD, patch, apply, watch) and its
 * controllers (sim_kube_ctl.c: defaults, validation, ReplicaSets, pods,
 * rollout status, logs).  Not part of the framework contract (sim.h).
 * Everything runs with the global store lock held.
 */
#ifndef HOIST_SIM_KUBE_H
#define HOIST_SIM_KUBE_H

#include "sim.h"

/* One served resource type.  Objects are store resources of @sk, with
 * parent = cluster id, name = "namespace/name" (or "name"), id = uid. */
typedef struct kube_type {
    const char *group, *version, *plural, *kind, *singular;
    const char *shorts;            /* space-separated short names, "" for none */
    int namespaced, all_category;
    int has_generation;            /* metadata.generation tracks spec changes */
    sim_kind sk;
} kube_type;

enum {
    KT_NAMESPACES, KT_SECRETS, KT_CONFIGMAPS, KT_SERVICES, KT_PVCS, KT_PODS,
    KT_DEPLOYMENTS, KT_STATEFULSETS, KT_REPLICASETS, KT_INGRESSES, KT_HPAS, KT_COUNT
};
extern kube_type kube_types[KT_COUNT];

/* "apps/v1", or "v1" for the core group (static buffer per type). */
const char *kube_api_version(const kube_type *t);
/* Next global resourceVersion. */
long long kube_next_rv(void);
/* Store a new object of @t in @cluster (body stolen); sets uid, RV,
 * creationTimestamp, generation.  Returns the resource. */
sim_res *kube_obj_new(const kube_type *t, const char *cluster, json_t *body);
/* The object @ns/@name of @t in @cluster, or NULL. */
sim_res *kube_obj_find(const kube_type *t, const char *cluster, const char *ns, const char *name);
/* Record a change of @r's body: bump RV (and generation when the spec
 * changed compared with @old_spec, which may be NULL). */
void kube_obj_touch(sim_res *r, json_t *old_spec);
/* Remove @r (records a DELETED watch event). */
void kube_obj_delete(sim_res *r);
/* Random lowercase suffix of @n characters (as the API's generateName). */
void kube_rand_suffix(char *out, size_t n);

/* ---- sim_kube_ctl.c ---- */

/* Server-side defaults for a new or replaced object (e.g. Deployment
 * strategy, Service clusterIP, Secret stringData folding). */
void kube_defaults(const kube_type *t, json_t *obj, json_t *old);
/* Validation: NULL when valid, else a JSON array of causes
 * [{reason, message, field}] (owned). */
json_t *kube_validate(const kube_type *t, json_t *obj, json_t *old);
/* Run the controllers of @cluster: ReplicaSets, pods, statuses.  Changes
 * bump resourceVersions so watches see them. */
void kube_reconcile(const char *cluster);
/* The log text of @container (NULL: the first) of @pod (owned); when
 * *@code is set to an error status (400) the text is the error message. */
char *kube_pod_log(sim_res *pod, const char *container, int previous, int *code);
/* Delete the objects @r owns (ownerReferences), recursively; @orphan
 * strips the references instead. */
void kube_delete_dependents(sim_res *r, int orphan);

#endif
