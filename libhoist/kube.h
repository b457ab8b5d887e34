/*
 * kube.h - a small Kubernetes API client over hoist_http (no kubectl, no
 * second HTTP client): get, list, server-side apply, merge patch, delete,
 * text subresources (pod logs), and the API's Status errors.
 *
 * Credentials come from a callback (the cluster driver's `credentials` op),
 * fetched on first use, refreshed when they expire and once after a 401.
 *
 * Server-side apply policy: hoist applies with fieldManager=hoist.  hoist is
 * the only manager of the objects it creates (they carry the label
 * app.kubernetes.io/managed-by=hoist), so on those it applies with
 * force=true and takes back fields someone changed by hand (drift is
 * reverted, as a re-deploy should).  On an object that exists without that
 * label it never forces: a conflict is reported and the object is left
 * alone.  The caller decides (hoist_kube_apply's @force).
 *
 * All functions are thread-safe: one client may serve several worker threads.
 */
#ifndef HOIST_KUBE_H
#define HOIST_KUBE_H

#include <hoist/host.h>
#include <hoist/provider.h>
#include <jansson.h>

#define HOIST_KUBE_MANAGER "hoist"
#define HOIST_KUBE_LABEL_MANAGED "app.kubernetes.io/managed-by"

typedef struct hoist_kube hoist_kube;

/*
 * hoist_kube_creds_fn - fill @out (malloc'd strings, freed by the client)
 * with fresh credentials.  Called without the client's lock held, possibly
 * from several threads.  Returns HOIST_OK or an error reported in @ctx.
 */
typedef hoist_status (*hoist_kube_creds_fn)(void *arg, hoist_ctx *ctx,
                                            hoist_cluster_credentials *out);

/*
 * hoist_kube_new - a client that asks @fn(@arg) for credentials when it
 * first needs them.  @arg belongs to the client: hoist_kube_free calls
 * @arg_free(@arg) when @arg_free is not NULL.
 * Returns a new client (free with hoist_kube_free); never NULL.
 */
hoist_kube *hoist_kube_new(hoist_kube_creds_fn fn, void *arg, void (*arg_free)(void *));
/* A client with fixed credentials (tests, kubeconfig); strings copied, @ca_pem may be NULL. */
hoist_kube *hoist_kube_new_static(const char *endpoint, const char *ca_pem, const char *token);
void hoist_kube_free(hoist_kube *k);

/*
 * hoist_kube_credentials - the client's current credentials (fetching them
 * if needed) as copies in @out (clear with hoist_kube_credentials_clear).
 */
hoist_status hoist_kube_credentials(hoist_kube *k, hoist_ctx *ctx, hoist_cluster_credentials *out);
void hoist_kube_credentials_clear(hoist_cluster_credentials *c);

/*
 * hoist_kube_path - the REST path of an object or collection:
 * ("apps/v1", "Deployment", "ns", "api") -> /apis/apps/v1/namespaces/ns/deployments/api.
 * @ns NULL for cluster-scoped kinds or all namespaces; @name NULL for the
 * collection.  Returns a new string, or NULL for a kind hoist does not know.
 */
char *hoist_kube_path(const char *api_version, const char *kind, const char *ns, const char *name);
/* The path of @obj from its apiVersion, kind, metadata.namespace and metadata.name (or NULL). */
char *hoist_kube_object_path(const json_t *obj);

/*
 * hoist_kube_request - one raw exchange: @method @path (below the endpoint,
 * with query) with @body of type @ctype (both may be NULL).  A 401 refreshes
 * the credentials and retries once.  Returns HOIST_OK when an answer
 * arrived (read resp->status; free with hoist_http_response_free), or a
 * transport error reported in @ctx.
 */
hoist_status hoist_kube_request(hoist_kube *k, hoist_ctx *ctx, const char *method, const char *path,
                                const char *ctype, const char *body, hoist_http_response *resp);

/*
 * hoist_kube_error - report a failed answer once in @ctx as
 * "@what: HTTP 409 Conflict: <Status.message>" (reason, message and code of
 * the API's Status when the body is one, with each of details.causes the
 * message leaves out; any other body as it came; both masked and bounded at
 * 4 KiB, never at a fixed short snippet) and return the mapped status
 * (401/403 AUTH, 404/410 NOTFOUND, 409 CONFLICT, 400/422 INVALID,
 * 429/5xx TRANSIENT, else INTERNAL).
 */
hoist_status hoist_kube_error(hoist_ctx *ctx, const hoist_http_response *resp, const char *what);

/*
 * hoist_kube_get - GET @path into *out (new reference).  Returns HOIST_OK,
 * HOIST_E_NOTFOUND without reporting anything (absence is an answer), or an
 * error reported in @ctx.
 */
hoist_status hoist_kube_get(hoist_kube *k, hoist_ctx *ctx, const char *path, json_t **out);

/*
 * hoist_kube_list - the items of collection @path filtered by
 * @label_selector (may be NULL) into *items (a new JSON array).
 */
hoist_status hoist_kube_list(hoist_kube *k, hoist_ctx *ctx, const char *path,
                             const char *label_selector, json_t **items);

/*
 * hoist_kube_apply - server-side apply @obj (a complete manifest: apiVersion,
 * kind, metadata.name, and metadata.namespace for namespaced kinds) with
 * fieldManager=hoist, and force=true iff @force (see the policy above).
 * *live (may be NULL) gets the object as stored.  Errors reported in @ctx.
 */
hoist_status hoist_kube_apply(hoist_kube *k, hoist_ctx *ctx, const json_t *obj, int force,
                              json_t **live);

/* hoist_kube_merge_patch - JSON merge patch @patch onto @path (fieldManager=hoist). */
hoist_status hoist_kube_merge_patch(hoist_kube *k, hoist_ctx *ctx, const char *path,
                                    const json_t *patch, json_t **live);

/*
 * hoist_kube_delete - DELETE @path with propagationPolicy @propagation
 * ("Foreground", "Background" or NULL for the server's default).
 * HOIST_OK when deletion was accepted or the object is already gone.
 */
hoist_status hoist_kube_delete(hoist_kube *k, hoist_ctx *ctx, const char *path,
                               const char *propagation);

/* hoist_kube_get_text - GET @path as text (e.g. pods/NAME/log) into *out (malloc'd). */
hoist_status hoist_kube_get_text(hoist_kube *k, hoist_ctx *ctx, const char *path, char **out);

#endif
