/* check_run.c - plan and run against the null driver: parallelism, failure
 * isolation, polls and deadlines, env injection, read-only plan, destroy. */
#include "log.h"
#include "pipeutil.h"

#include <sys/stat.h>

static const char *cloud = ".hoist/null/dev";

static char *cloud_file(const char *dir, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", cloud, name);
    return pu_slurp(dir, rel);
}

START_TEST(parallel_close_to_critical_path)
{
    char *dir = tu_tmpdir();
    hoist_buf y = {0};
    hoist_buf_puts(&y, "project: p\nenvironments:\n  dev: { provider: \"null\", latency_ms: 200, "
                       "offer: [database] }\ndatabases:\n");
    for (int i = 0; i < 10; i++)
        hoist_buf_printf(&y, "  - { name: db%d, engine: redis }\n", i);
    pu_env e;
    pu_open(&e, dir, y.s);
    long long t0 = hoist_now_ms();
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 8, &sum), 0);
    long long ms = hoist_now_ms() - t0;
    ck_assert_uint_eq(sum.created, 10);
    /* 10 x 200 ms on 8 workers: two rounds, not ten.  (Under TSan the run
     * still races 8 workers for the sanitizer; only the clock is unfair.) */
    ck_assert_msg(ms < 1000 || TU_TSAN, "took %lld ms", ms);
    pu_close(&e);
    hoist_buf_free(&y);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static const char *two_branches =
    "project: p\n"
    "environments:\n"
    "  dev: { provider: \"null\", fail: { \"database/bad\": quota } }\n"
    "databases:\n"
    "  - { name: bad, engine: postgresql }\n"
    "  - { name: good, engine: mysql }\n"
    "applications:\n"
    "  - { name: a, image: x:1, databases: [bad] }\n"
    "  - { name: b, image: x:1, databases: [good] }\n";

START_TEST(failure_skips_only_dependents)
{
    char *dir = tu_tmpdir();
    pu_env e;
    pu_open(&e, dir, two_branches);
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 1);
    ck_assert_uint_eq(sum.failed, 1);
    ck_assert_uint_eq(sum.skipped, 1);
    ck_assert_uint_eq(sum.created, 3); /* network, good, b */
    json_t *b = hoist_state_get(e.st, "app", "b");
    ck_assert_str_eq(json_string_value(json_object_get(b, "status")), "ready");
    json_decref(b);
    ck_assert_ptr_null(hoist_state_get(e.st, "app", "a"));
    /* The failed create was recorded as requested: the next run retries it. */
    json_t *bad = hoist_state_get(e.st, "database", "bad");
    ck_assert_str_eq(json_string_value(json_object_get(bad, "status")), "create-requested");
    json_decref(bad);
    pu_close(&e);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(env_injection_and_secret_redaction)
{
    char *dir = tu_tmpdir();
    pu_env e;
    pu_open(&e, dir,
            "project: p\nenvironments:\n  dev: { provider: \"null\" }\n"
            "databases:\n  - { name: main-db, engine: postgresql }\n"
            "applications:\n  - { name: api, image: x:1, env: { MODE: prod }, databases: [main-db] }\n");
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 0);
    char *app = cloud_file(dir, "app-api.json");
    json_t *j = json_loads(app, 0, NULL);
    json_t *env = json_object_get(json_object_get(j, "spec"), "env");
    ck_assert_str_eq(json_string_value(json_object_get(env, "MODE")), "prod");
    const char *url = "postgresql://main-db:null-password-not-secret@127.0.0.1:5432/main-db";
    ck_assert_str_eq(json_string_value(json_object_get(env, "HOIST_DATABASE_MAIN_DB_URL")), url);
    ck_assert_str_eq(json_string_value(json_object_get(env, "DATABASE_URL")), url);
    ck_assert_str_eq(json_string_value(json_object_get(env, "HOIST_DATABASE_MAIN_DB_PORT")), "5432");
    ck_assert_str_eq(json_string_value(json_object_get(env, "HOIST_DATABASE_MAIN_DB_NAME")), "main-db");
    /* The recorded spec has the env's hash, never its values. */
    json_t *rec = hoist_state_get(e.st, "app", "api");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(rec, "spec"), "env_sha256"));
    ck_assert_ptr_null(json_object_get(json_object_get(rec, "spec"), "env"));
    char *red = hoist_redact("pw=null-password-not-secret");
    ck_assert_str_eq(red, "pw=***");
    free(red);
    /* Percent-encoding of user info. */
    char *esc = hoist_url_escape("p@ss:w/rd");
    ck_assert_str_eq(esc, "p%40ss%3Aw%2Frd");
    free(esc);
    json_decref(rec);
    json_decref(j);
    free(app);
    pu_close(&e);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(plan_is_read_only_and_reports_changes)
{
    char *dir = tu_tmpdir();
    char *src = hoist_xasprintf("%s/api", dir);
    mkdir(src, 0755);
    free(tu_write(src, "main.js", "v1"));
    char *yaml = hoist_xasprintf(
        "project: p\nenvironments:\n  dev: { provider: \"null\" }\n"
        "databases:\n  - { name: main, engine: postgresql, version: \"15\" }\n"
        "applications:\n  - { name: api, path: %s, databases: [main] }\n"
        "  - { name: other, image: x:1 }\n", src);
    pu_env e;
    pu_open(&e, dir, yaml);
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 0);
    pu_close(&e);
    /* Change the source of one app and the version of the database. */
    free(tu_write(src, "main.js", "v2"));
    char *yaml2 = hoist_xasprintf(
        "project: p\nenvironments:\n  dev: { provider: \"null\" }\n"
        "databases:\n  - { name: main, engine: postgresql, version: \"16\" }\n"
        "applications:\n  - { name: api, path: %s, databases: [main] }\n"
        "  - { name: other, image: x:1 }\n", src);
    pu_open(&e, dir, yaml2);
    char *state0 = pu_slurp(dir, ".hoist/state/dev.json");
    char *calls0 = cloud_file(dir, "calls.log");
    hoist_state_set_readonly(e.st, 1);
    char *err = NULL;
    hoist_plan *p = hoist_plan_build(&e.er, HOIST_PLAN_DEPLOY, 1, 4, &err);
    ck_assert_ptr_nonnull(p);
    size_t c[HOIST_ACT_UNAVAILABLE + 1];
    hoist_plan_counts(p, c);
    ck_assert_uint_eq(c[HOIST_ACT_UPDATE], 2);
    ck_assert_uint_eq(c[HOIST_ACT_NOOP], 2); /* network, other */
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i].key, "database/main") == 0)
            ck_assert_str_eq(p->items[i].reason, "changed: version");
        if (strcmp(p->items[i].key, "app/api") == 0)
            ck_assert_str_eq(p->items[i].reason, "changed: source files");
    }
    char *state1 = pu_slurp(dir, ".hoist/state/dev.json");
    char *calls1 = cloud_file(dir, "calls.log");
    ck_assert_str_eq(state0, state1);
    ck_assert_str_eq(calls0, calls1);
    hoist_plan_free(p);
    /* Deploying it changes exactly those two. */
    hoist_state_set_readonly(e.st, 0);
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 0);
    ck_assert_uint_eq(sum.changed, 2);
    ck_assert_uint_eq(sum.unchanged, 2);
    ck_assert_uint_eq(sum.created, 0);
    pu_close(&e);
    free(state0); free(state1); free(calls0); free(calls1);
    free(yaml); free(yaml2); free(src);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(polls_then_deadline)
{
    char *dir = tu_tmpdir();
    pu_env e;
    pu_open(&e, dir, "project: p\nenvironments:\n  dev: { provider: \"null\", polls: 3, offer: [network] }\n");
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 2, &sum), 0);
    ck_assert_uint_eq(sum.created, 1);
    char *calls = cloud_file(dir, "calls.log");
    /* 3 PENDING answers, then READY: four ensure calls. */
    int n = 0;
    for (char *s = calls; (s = strstr(s, "ensure network/network")); s++)
        n++;
    ck_assert_int_eq(n, 4);
    free(calls);
    pu_close(&e);
    tu_rmrf(dir);
    /* The driver's 10 ms hint is honoured while the wait is short: 8 polls
     * take ~80 ms (doubling the hint would take 10+20+...+1280 = 2.5 s). */
    char *dir3 = tu_tmpdir();
    pu_open(&e, dir3, "project: p\nenvironments:\n  dev: { provider: \"null\", polls: 8, offer: [network] }\n");
    long long t3 = hoist_now_ms();
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 2, &sum), 0);
    ck_assert_int_lt(hoist_now_ms() - t3, 1000);
    pu_close(&e);
    tu_rmrf(dir3);
    free(dir3);
    char *dir2 = tu_tmpdir();
    pu_open(&e, dir2, "project: p\nenvironments:\n  dev: { provider: \"null\", polls: 100000, "
                      "offer: [network], timeouts: { network: 0.3 } }\n");
    long long t0 = hoist_now_ms();
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 2, &sum), 1);
    ck_assert_uint_eq(sum.failed, 1);
    ck_assert_int_lt(hoist_now_ms() - t0, 3000);
    json_t *rec = hoist_state_get(e.st, "network", "network");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "pending");
    json_decref(rec);
    pu_close(&e);
    tu_rmrf(dir2);
    free(dir);
    free(dir2);
}
END_TEST

START_TEST(destroy_reverse_order_and_orphans)
{
    char *dir = tu_tmpdir();
    pu_env e;
    pu_open(&e, dir, two_branches);
    hoist_run_summary sum;
    pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum);
    pu_close(&e);
    /* Drop app b from hoist.yml: deploy destroys it as an orphan. */
    pu_open(&e, dir, "project: p\nenvironments:\n  dev: { provider: \"null\" }\n"
                     "databases:\n  - { name: good, engine: mysql }\n");
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 0);
    ck_assert_uint_eq(sum.destroyed, 2); /* app b and the never-created database bad */
    ck_assert_ptr_null(hoist_state_get(e.st, "app", "b"));
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DESTROY, 4, &sum), 0);
    char **keys = hoist_state_keys(e.st);
    ck_assert_ptr_null(keys[0]);
    hoist_strv_free(keys);
    char *calls = cloud_file(dir, "calls.log");
    char *db = strstr(calls, "destroy database/good"), *net = strstr(calls, "destroy network/network");
    ck_assert(db && net && db < net);
    free(calls);
    char *obj = cloud_file(dir, "network-network.json");
    ck_assert_str_eq(obj, "");
    free(obj);
    pu_close(&e);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(unavailable_executor_fails_honestly)
{
    char *dir = tu_tmpdir();
    pu_env e;
    /* No app runtime offered: apps would run on Kubernetes (issue 11). */
    pu_open(&e, dir, "project: p\nenvironments:\n  dev: { provider: \"null\", "
                     "offer: [network, cluster, database] }\n"
                     "databases:\n  - { name: main, engine: postgresql }\n"
                     "applications:\n  - { name: api, image: x:1, databases: [main] }\n");
    hoist_run_summary sum;
    ck_assert_int_eq(pu_run(&e, HOIST_PLAN_DEPLOY, 4, &sum), 1);
    ck_assert_uint_eq(sum.failed, 1);
    ck_assert_ptr_null(hoist_state_get(e.st, "app", "api"));
    json_t *db = hoist_state_get(e.st, "database", "main");
    ck_assert_str_eq(json_string_value(json_object_get(db, "status")), "ready");
    json_decref(db);
    pu_close(&e);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, parallel_close_to_critical_path);
    tcase_add_test(tc, failure_skips_only_dependents);
    tcase_add_test(tc, env_injection_and_secret_redaction);
    tcase_add_test(tc, plan_is_read_only_and_reports_changes);
    tcase_add_test(tc, polls_then_deadline);
    tcase_add_test(tc, destroy_reverse_order_and_orphans);
    tcase_add_test(tc, unavailable_executor_fails_honestly);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
