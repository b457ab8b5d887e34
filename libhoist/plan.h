/*
 * plan.h - desired (graph) vs recorded (state) vs observed (driver observe)
 * -> one action per resource, with the reason.  Building a plan never
 * writes: it reads the state and calls only observe and the database
 * `connection` op, both read-only by contract.
 */
#ifndef HOIST_PLAN_H
#define HOIST_PLAN_H

#include "graph.h"
#include "state.h"

#include <stdio.h>

typedef enum hoist_action {
    HOIST_ACT_NOOP,
    HOIST_ACT_CREATE,
    HOIST_ACT_UPDATE,
    HOIST_ACT_REPLACE, /* destroy, then create: the change cannot be made in place */
    HOIST_ACT_DESTROY,
    HOIST_ACT_PAUSE,
    HOIST_ACT_UNAVAILABLE /* the node's executor is missing: deploy fails it */
} hoist_action;

const char *hoist_action_name(hoist_action a);

typedef enum hoist_plan_mode { HOIST_PLAN_DEPLOY, HOIST_PLAN_DESTROY, HOIST_PLAN_PAUSE } hoist_plan_mode;

typedef struct hoist_plan_item {
    char *key;          /* "kind/name" */
    hoist_kind kind;
    char *name;
    long node;          /* index in the graph, or -1 (in state only) */
    hoist_action action;
    char *reason;       /* why, for people (never holds a secret) */
    json_t *changed;    /* array of changed spec paths ("version", "nodes.min"), or NULL */
    json_t *spec;       /* the spec to record (apps: with "env_sha256"; no env values) */
    char *spec_hash;    /* sha256 of canonical @spec */
    char *observed;     /* "ready", "pending", "missing", "error: ...", or NULL (not observed) */
    json_t *observed_outputs; /* the outputs observe reported (live: URL, port, pid), or NULL */
    char *recorded_status; /* status in state, or NULL */
} hoist_plan_item;

typedef struct hoist_plan {
    hoist_plan_mode mode;
    hoist_plan_item *items;
    size_t n;
} hoist_plan;

/* Context shared by plan and run: everything about one environment. */
typedef struct hoist_env_run {
    const hoist_config *cfg;
    const hoist_env_cfg *env;
    hoist_graph *g;
    hoist_state *st;
    hoist_driver *drv;      /* initialised */
    hoist_flag *cancel;     /* may be NULL */
} hoist_env_run;

/*
 * hoist_plan_build - compute the plan for @mode.  @observe: also ask the
 * cloud (observe ops, @parallelism at a time) for each recorded resource, to
 * detect drift.  Returns a new plan (free with hoist_plan_free) or NULL with
 * *err set.
 */
hoist_plan *hoist_plan_build(hoist_env_run *er, hoist_plan_mode mode, int observe, int parallelism,
                             char **err);
void hoist_plan_free(hoist_plan *p);
/* The changed spec paths of an item (@changed, a JSON array of strings) for
 * people: "version, nodes.min", internal names said in words (env_sha256 is
 * "environment variables").  Returns a new string. */
char *hoist_plan_changed_text(const json_t *changed);

/* Counts by action (array indexed by hoist_action, HOIST_ACT_UNAVAILABLE+1 long). */
void hoist_plan_counts(const hoist_plan *p, size_t counts[HOIST_ACT_UNAVAILABLE + 1]);
/* 1 if the plan changes anything. */
int hoist_plan_has_changes(const hoist_plan *p);

/* Print grouped by action with a summary line, or as one JSON document. */
void hoist_plan_print(const hoist_plan *p, FILE *fp, int json, int color);

/*
 * hoist_app_env - the environment variables of app node @n: its own env,
 * plus HOIST_DATABASE_<NAME>_{HOST,PORT,USER,PASSWORD,NAME,URL} for each
 * database it uses and DATABASE_URL when it uses exactly one.  Connection
 * details come from the driver's database `connection` op (given the
 * database's recorded outputs), or for container databases from their
 * recorded outputs and secrets.  Passwords and URLs are registered as
 * secrets.  Returns a new object, or NULL with *err set (e.g. a database not
 * ready yet).  Thread-safe.
 */
json_t *hoist_app_env(hoist_env_run *er, const hoist_node *n, char **err);

/* The resource view of a state record: its outputs plus "secrets" (new reference; NULL-safe). */
json_t *hoist_recorded_view(const json_t *rec);
/* Needs of @n built from the recorded outputs of what it needs (new reference). */
json_t *hoist_needs_from_state(hoist_env_run *er, const hoist_node *n);

/* Paths ("a.b") whose values differ between two JSON objects; new array. */
json_t *hoist_json_diff_paths(const json_t *old, const json_t *new_);

/* Percent-encode @s for the userinfo of a URL (new string). */
char *hoist_url_escape(const char *s);

/* Call @fn(i, arg) for i in [0, n) on up to @parallelism threads; returns after all. */
void hoist_parallel_for(size_t n, int parallelism, void (*fn)(size_t i, void *arg), void *arg);

#endif
