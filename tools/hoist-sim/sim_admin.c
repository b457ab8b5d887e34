/*
 * sim_admin.c - the /_sim/ admin API: what tests read (resources, calls,
 * creations) and what they steer (faults, delays, reset, permanent
 * failures of one operation: fail).  Never faulted.
 */
#include "autoconfig.h"

#include "sim.h"

#include <stdlib.h>

static void adm_error(sim_req *rq, sim_resp *rs, int status, const char *kind,
                      const char *resource, const char *message)
{
    sim_reply_json(rs, status, json_pack("{s:s,s:s}", "error", kind, "message", message));
}

static const sim_cloud adm_cloud = {
    .name = "sim", .prefixes = {"/_sim/", NULL}, .error = adm_error, .faults = 0,
};

static void adm_resources(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_store_resources());
}

static void adm_calls(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_calls_dump());
}

static void adm_creations(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_store_creations());
}

static void adm_get_faults(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_faults_dump());
}

static void adm_get_delays(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_delays_dump());
}

/* POST /_sim/faults and /_sim/delays share the shape: apply, answer the table. */
static void adm_apply(sim_req *rq, sim_resp *rs, int (*apply)(json_t *, char **),
                      json_t *(*dump)(void))
{
    char *err = NULL;
    if (apply(rq->json, &err) != 0) {
        sim_fail(rq, rs, 400, "invalid", NULL, "%s", err);
        free(err);
        return;
    }
    sim_reply_json(rs, 200, dump());
}

static void adm_post_faults(sim_req *rq, sim_resp *rs)
{
    adm_apply(rq, rs, sim_faults_json, sim_faults_dump);
}

static void adm_post_delays(sim_req *rq, sim_resp *rs)
{
    adm_apply(rq, rs, sim_delays_json, sim_delays_dump);
}

static void adm_post_fail(sim_req *rq, sim_resp *rs)
{
    adm_apply(rq, rs, sim_failrule_json, sim_failrule_dump);
}

static void adm_get_fail(sim_req *rq, sim_resp *rs)
{
    sim_reply_json(rs, 200, sim_failrule_dump());
}

static void adm_delete_fail(sim_req *rq, sim_resp *rs)
{
    sim_failrule_clear();
    sim_reply_json(rs, 200, sim_failrule_dump());
}

static void adm_reset(sim_req *rq, sim_resp *rs)
{
    sim_store_reset();
    sim_reply_json(rs, 200, json_pack("{s:b}", "reset", 1));
}

void sim_admin_register(void)
{
    sim_cloud_add(&adm_cloud);
    sim_route(&adm_cloud, "GET", "/_sim/resources", adm_resources, 0);
    sim_route(&adm_cloud, "GET", "/_sim/calls", adm_calls, 0);
    sim_route(&adm_cloud, "GET", "/_sim/creations", adm_creations, 0);
    sim_route(&adm_cloud, "GET", "/_sim/faults", adm_get_faults, 0);
    sim_route(&adm_cloud, "POST", "/_sim/faults", adm_post_faults, 1);
    sim_route(&adm_cloud, "GET", "/_sim/delays", adm_get_delays, 0);
    sim_route(&adm_cloud, "POST", "/_sim/delays", adm_post_delays, 1);
    sim_route(&adm_cloud, "POST", "/_sim/reset", adm_reset, 1);
    sim_route(&adm_cloud, "GET", "/_sim/fail", adm_get_fail, 0);
    sim_route(&adm_cloud, "POST", "/_sim/fail", adm_post_fail, 1);
    sim_route(&adm_cloud, "DELETE", "/_sim/fail", adm_delete_fail, 1);
}
