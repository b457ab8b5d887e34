/*
 * run.h - execute a plan: a bounded pool of worker threads runs every item
 * whose needs are met, re-polls PENDING items with backoff and a per-kind
 * deadline, records state after every step, fails an item's dependents (as
 * skipped, with the reason) and nothing else, and stops starting new work
 * when asked to.
 */
#ifndef HOIST_RUN_H
#define HOIST_RUN_H

#include "events.h"
#include "plan.h"

typedef struct hoist_run_opts {
    int parallelism;                          /* worker threads, >= 1 */
    long long timeout_ms[HOIST_KIND_COUNT_];  /* per-kind deadline; 0 = default */
    hoist_flag *stop;        /* set (e.g. by SIGINT): start nothing new; may be NULL */
    long long stop_grace_ms; /* after stop, in-flight calls are cancelled after this (default 30 s) */
    unsigned retry_base_ms;  /* first backoff for TRANSIENT errors and polls without a hint (default 1000) */
    unsigned poll_max_ms;    /* backoff ceiling (default 30000) */
    hoist_events *ev;        /* may be NULL */
} hoist_run_opts;

typedef struct hoist_run_summary {
    size_t created, changed, unchanged, destroyed, paused, failed, skipped, interrupted;
    int stopped; /* the run was stopped before everything ran */
    size_t abandoned; /* driver calls given up after deadline + grace: their threads are still
                         inside the driver, so the caller must exit the process soon after
                         (without unloading the driver or freeing what the run used) */
} hoist_run_summary;

/*
 * Defaults (cluster 45 min, database 60 min, app 10 min, others 20 min),
 * overridden by the environment's `timeouts:` mapping (seconds per kind,
 * e.g. {cluster: 3600, app: 120}).  Returns 0, or -1 with *err set when a
 * value is not a positive number.
 */
int hoist_run_timeouts(json_t *settings, long long timeout_ms[HOIST_KIND_COUNT_], char **err);

/*
 * hoist_run_record_observed - record what observe reported (@p built with
 * observe) as the outputs of each unchanged, ready app: a local app
 * restarted by its supervisor has a new pid, and the state must not keep
 * the dead one.  Keys are updated, never dropped; nothing is written when
 * nothing changed.  hoist_run calls it; a deploy with nothing to do too.
 */
void hoist_run_record_observed(hoist_env_run *er, const hoist_plan *p);

/*
 * hoist_run - execute @p (built from @er) and fill @sum.  Returns 0 when
 * every item succeeded, 1 when something failed or was skipped, 130 when
 * stopped through opts->stop.  Item messages go through opts->ev.
 * A call still inside the driver at its kind's deadline plus a grace (a
 * tenth of the deadline, 1-60 s) is abandoned: the item fails with "did not
 * return within the deadline", the run goes on, and sum->abandoned counts
 * it (see there: the process must then exit without cleaning up).
 */
int hoist_run(hoist_env_run *er, hoist_plan *p, const hoist_run_opts *opts, hoist_run_summary *sum);

#endif
