/*
 * sim_kube.c - the hook for the simulated Kubernetes API of each cluster.
 * Clusters hand out sim_cfg.base_url + "/kube/<cluster-id>" as their
 * endpoint.  The API itself is not implemented yet: every request gets a
 * Kubernetes Status 404, so clients fail clearly rather than hang.
 * To implement it, register routes like "/kube/{cluster}/api/v1/..." on
 * kube_cloud *before* the catch-all below (first match wins).
 */
#include "autoconfig.h"

#include "sim.h"

static void kube_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                       const char *resource, const char *message)
{
    const char *reason = status == 404   ? "NotFound"
                         : status == 401 ? "Unauthorized"
                         : status == 429 ? "TooManyRequests"
                         : status == 400 ? "BadRequest"
                         : status == 405 ? "MethodNotAllowed"
                                         : "InternalError";
    sim_reply_json(rs, status,
                   json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
                             "metadata", "status", "Failure", "message", message, "reason",
                             reason, "code", status));
}

static const sim_cloud kube_cloud = {
    .name = "kube", .prefixes = {"/kube/", NULL}, .error = kube_error, .faults = 1,
};

static void kube_not_yet(sim_req *rq, sim_resp *rs)
{
    sim_fail(rq, rs, 404, "not_found", NULL,
             "the Kubernetes API of cluster %s is not simulated yet", sim_param(rq, "cluster"));
}

void sim_kube_register(void)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    sim_cloud_add(&kube_cloud);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        sim_route(&kube_cloud, methods[i], "/kube/{cluster}/{rest*}", kube_not_yet, 0);
}
