/*
 * check_state_s3.c - the S3 state backend against hoist-sim's S3: a write
 * race never loses an update, the lock is exclusive and names its holder,
 * a broken lease is noticed by its holder, versions are kept and pruned,
 * secrets are sealed, bad settings are refused.
 */
#include "host.h"
#include "http.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>

static pid_t sim_pid;
static char sim_url[128];

/* Start hoist-sim on a free port; 0 on success. */
static int sim_start(void)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    sim_pid = fork();
    if (sim_pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        char *bin = hoist_xasprintf("%s/tools/hoist-sim/hoist-sim", getenv("HOIST_BUILDDIR"));
        execl(bin, bin, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *fp = fdopen(fd[0], "r");
    char line[256];
    int rc = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "hoist-sim: listening on %127s", sim_url) == 1) {
            rc = 0;
            break;
        }
    fclose(fp);
    return rc;
}

static json_t *settings(const char *extra_key, json_t *extra)
{
    json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "backend", "s3", "bucket", "hoist-state",
                          "prefix", "/team/shop/", "endpoint", sim_url, "access_key",
                          "AKIDHOISTSIM", "secret_key", "hoist-sim-secret");
    if (extra_key)
        json_object_set_new(s, extra_key, extra);
    return s;
}

static hoist_state_backend *backend(const char *env, const char *extra_key, json_t *extra)
{
    json_t *s = settings(extra_key, extra);
    char *err = NULL;
    hoist_state_backend *b = hoist_state_s3_backend(s, env, &err);
    ck_assert_msg(b != NULL, "backend: %s", err ? err : "?");
    json_decref(s);
    return b;
}

/* One signed request on the bucket (@key NULL) or one of its objects; the
   answer's status, its Content-Type copied into @ctype (may be NULL). */
static long s3_raw(const char *method, const char *key, char *ctype, size_t ctype_size)
{
    hoist_sigv4_spec spec = {.struct_size = sizeof spec, .service = "s3", .region = "us-east-1",
                             .access_key_id = "AKIDHOISTSIM",
                             .secret_access_key = "hoist-sim-secret", .flags = HOIST_SIGV4_S3};
    char *url = hoist_xasprintf("%s/hoist-state%s%s", sim_url, key ? "/" : "", key ? key : "");
    hoist_http_request req = {.struct_size = sizeof req, .method = method, .url = url,
                              .flags = HOIST_HTTP_ALLOW_PLAIN_LOOPBACK, .sigv4 = &spec};
    hoist_http_response resp = {.struct_size = sizeof resp};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    long status = -1;
    if (hoist_http(&ctx, &req, &resp) != HOIST_OK) {
        fprintf(stderr, "S3 %s %s: %s\n", method, url, hoist_ctx_error(&ctx));
    } else {
        status = resp.status;
        if (ctype) {
            const char *ct = hoist_http_header(&resp, "Content-Type");
            snprintf(ctype, ctype_size, "%s", ct ? ct : "(none)");
        }
        hoist_http_response_free(&resp);
    }
    hoist_ctx_cleanup(&ctx);
    free(url);
    return status;
}

static void make_bucket(void)
{
    if (s3_raw("PUT", NULL, NULL, 0) != 200) {
        fprintf(stderr, "cannot create the bucket\n");
        exit(1);
    }
}

/* ------------------------------------------------------------ the write race */

typedef struct racer {
    hoist_state_backend *b;
    const char *text;
    pthread_barrier_t *go;
    hoist_status st;
    char *err;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->go);
    r->st = r->b->save(r->b, r->text, &r->err);
    return NULL;
}

/* Two writers that read the same version: one wins, the other gets a conflict. */
static void race_once(const char *env)
{
    hoist_state_backend *b1 = backend(env, NULL, NULL), *b2 = backend(env, NULL, NULL);
    char *t1 = NULL, *t2 = NULL, *err = NULL;
    ck_assert_int_eq(b1->load(b1, &t1, &err), HOIST_OK);
    ck_assert_int_eq(b2->load(b2, &t2, &err), HOIST_OK);
    ck_assert((t1 == NULL) == (t2 == NULL));
    json_t *doc = t1 ? json_loads(t1, 0, NULL) : NULL;
    long long base = json_integer_value(json_object_get(doc, "serial"));
    json_decref(doc);
    char *w1 = hoist_xasprintf("{\"serial\":%lld,\"writer\":1}", base + 1);
    char *w2 = hoist_xasprintf("{\"serial\":%lld,\"writer\":2}", base + 1);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    racer r1 = {b1, w1, &go, 0, NULL}, r2 = {b2, w2, &go, 0, NULL};
    pthread_t th1, th2;
    pthread_create(&th1, NULL, race, &r1);
    pthread_create(&th2, NULL, race, &r2);
    pthread_join(th1, NULL);
    pthread_join(th2, NULL);
    ck_assert_msg((r1.st == HOIST_OK) != (r2.st == HOIST_OK), "exactly one writer wins (%d, %d)",
                  r1.st, r2.st);
    racer *lost = r1.st == HOIST_OK ? &r2 : &r1, *won = r1.st == HOIST_OK ? &r1 : &r2;
    ck_assert_int_eq(lost->st, HOIST_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(lost->err, "state conflict"));
    ck_assert_ptr_nonnull(strstr(lost->err, "nothing was overwritten"));
    /* the store holds the winner's bytes */
    char *now = NULL;
    hoist_state_backend *b3 = backend(env, NULL, NULL);
    ck_assert_int_eq(b3->load(b3, &now, &err), HOIST_OK);
    ck_assert_str_eq(now, won->text);
    /* the loser may write again once it has read the winner's version */
    char *again = NULL;
    ck_assert_int_eq(lost->b->load(lost->b, &again, &err), HOIST_OK);
    ck_assert_int_eq(lost->b->save(lost->b, "{\"serial\":99,\"writer\":3}", &err), HOIST_OK);
    free(again);
    free(now);
    free(r1.err);
    free(r2.err);
    free(w1);
    free(w2);
    free(t1);
    free(t2);
    b1->free(b1);
    b2->free(b2);
    b3->free(b3);
    pthread_barrier_destroy(&go);
}

START_TEST(test_write_race)
{
    /* first with no document (If-None-Match: *), then over one (If-Match) */
    for (int i = 0; i < 5; i++)
        race_once("race");
}
END_TEST

/* ------------------------------------------------------------ the lock */

/* The lock id named in a "locked by" message. */
static char *lock_id_of(const char *msg)
{
    const char *p = strstr(msg, "lock id ");
    ck_assert_ptr_nonnull(p);
    p += strlen("lock id ");
    return hoist_xstrndup(p, strcspn(p, ")"));
}

START_TEST(test_lock_exclusive)
{
    hoist_state_backend *b1 = backend("lockx", NULL, NULL), *b2 = backend("lockx", NULL, NULL);
    char *err = NULL;
    ck_assert_int_eq(b1->lock(b1, "deploy", 0, &err), HOIST_OK);
    ck_assert_int_eq(b2->lock(b2, "destroy", 0, &err), HOIST_E_CONFLICT);
    ck_assert_msg(strstr(err, "locked by") && strstr(err, "operation deploy") &&
                      strstr(err, " since "), "%s", err);
    ck_assert_ptr_null(strstr(err, "stale"));
    /* a live lease is not broken without --force, nor a wrong id */
    char *id = lock_id_of(err), *what = NULL;
    free(err);
    err = NULL;
    ck_assert_int_eq(b2->force_unlock(b2, id, 0, &what, &err), HOIST_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err, "live"));
    free(err);
    err = NULL;
    ck_assert_int_eq(b2->force_unlock(b2, "not-the-id", 1, &what, &err), HOIST_E_INVALID);
    free(err);
    err = NULL;
    /* --lock-timeout waits for the holder */
    b1->unlock(b1);
    ck_assert_int_eq(b2->lock(b2, "destroy", 2, &err), HOIST_OK);
    b2->unlock(b2);
    free(id);
    b1->free(b1);
    b2->free(b2);
}
END_TEST

START_TEST(test_lease_lost)
{
    setenv("HOIST_STATE_LEASE", "1", 1);
    hoist_state_backend *b1 = backend("lease", NULL, NULL), *b2 = backend("lease", NULL, NULL);
    char *err = NULL, *what = NULL, *text = NULL;
    hoist_flag cancel = 0;
    ck_assert_int_eq(b1->load(b1, &text, &err), HOIST_OK);
    ck_assert_int_eq(b1->lock(b1, "deploy", 0, &err), HOIST_OK);
    b1->set_cancel(b1, &cancel);
    /* renewals keep it alive past its lease */
    usleep(2500 * 1000);
    ck_assert_int_eq(b2->lock(b2, "deploy", 0, &err), HOIST_E_CONFLICT);
    ck_assert_msg(!strstr(err, "stale"), "a renewed lease is live: %s", err);
    char *id = lock_id_of(err);
    free(err);
    err = NULL;
    ck_assert_int_eq(b2->force_unlock(b2, id, 1, &what, &err), HOIST_OK);
    ck_assert_ptr_nonnull(strstr(what, id));
    /* the holder notices at its next renewal (a quarter of the lease) */
    for (int i = 0; i < 40 && !cancel; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(cancel, 1);
    ck_assert_int_eq(b1->lost(b1), 1);
    ck_assert_int_eq(b1->save(b1, "{\"serial\":1}", &err), HOIST_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err, "lost its lock"));
    free(err);
    free(what);
    free(id);
    b1->free(b1);
    b2->free(b2);
    unsetenv("HOIST_STATE_LEASE");
}
END_TEST

START_TEST(test_stale_lease)
{
    setenv("HOIST_STATE_LEASE", "1", 1);
    hoist_state_backend *b1 = backend("stale", NULL, NULL), *b2 = backend("stale", NULL, NULL);
    char *err = NULL, *what = NULL;
    /* a holder that stops renewing, like a killed process: fork, lock, _exit without unlocking */
    pid_t p = fork();
    if (p == 0) {
        hoist_state_backend *bk = backend("stale", NULL, NULL);
        _exit(bk->lock(bk, "deploy", 0, &err) == HOIST_OK ? 0 : 1);
    }
    int ws;
    waitpid(p, &ws, 0);
    ck_assert_int_eq(WEXITSTATUS(ws), 0);
    usleep(3200 * 1000);
    ck_assert_int_eq(b1->lock(b1, "deploy", 5, &err), HOIST_E_CONFLICT);
    ck_assert_msg(strstr(err, "stale since") && strstr(err, "hoist force-unlock -e stale "),
                  "%s", err);
    const char *idp = strstr(err, "force-unlock -e stale ") + strlen("force-unlock -e stale ");
    char *id = hoist_xstrdup(idp);
    free(err);
    err = NULL;
    ck_assert_int_eq(b2->force_unlock(b2, id, 0, &what, &err), HOIST_OK);
    ck_assert_int_eq(b1->lock(b1, "deploy", 0, &err), HOIST_OK);
    free(id);
    free(what);
    b1->free(b1);
    b2->free(b2);
    unsetenv("HOIST_STATE_LEASE");
}
END_TEST

/* ------------------------------------------------------------ versions, sealing */

START_TEST(test_versions_kept_and_pruned)
{
    hoist_state_backend *b = backend("hist", "keep_versions", json_integer(3));
    char *err = NULL;
    hoist_state *st = hoist_state_open(b, "shop", "hist", "null", &err);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(hoist_state_lock(st, "deploy", 0, &err), HOIST_OK);
    json_t *spec = json_pack("{s:i}", "n", 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hoist_state_put(st, "network", "network", HOIST_RS_READY, "h", spec,
                                         NULL, NULL, &err), HOIST_OK);
    json_t *v = NULL;
    ck_assert_int_eq(b->history(b, &v, &err), HOIST_OK);
    ck_assert_int_eq(json_array_size(v), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(v, 0), "serial")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(v, 2), "serial")), 3);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(v, 0), "who")),
                                 "(deploy)"));
    /* versions are stored as JSON, like the document (they were once labelled as forms) */
    char ct[256];
    ck_assert_int_eq(s3_raw("GET", "team/shop/hist.json.v5", ct, sizeof ct), 200);
    ck_assert_str_eq(ct, "application/json");
    ck_assert_int_eq(s3_raw("GET", "team/shop/hist.json", ct, sizeof ct), 200);
    ck_assert_str_eq(ct, "application/json");
    /* rollback writes the old version as a new serial */
    char *old = NULL;
    ck_assert_int_eq(b->load_version(b, 3, &old, &err), HOIST_OK);
    free(old);
    ck_assert_int_eq(b->load_version(b, 1, &old, &err), HOIST_E_NOTFOUND);
    free(err);
    err = NULL;
    ck_assert_int_eq(b->load_version(b, 3, &old, &err), HOIST_OK);
    ck_assert_int_eq(hoist_state_replace(st, old, &err), HOIST_OK);
    ck_assert_int_eq(hoist_state_serial(st), 6);
    json_decref(v);
    json_decref(spec);
    free(old);
    hoist_state_free(st);
}
END_TEST

START_TEST(test_secrets_sealed)
{
    setenv("HOIST_STATE_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
           1);
    char *err = NULL, *text = NULL;
    hoist_state *st = hoist_state_open(backend("seal", NULL, NULL), "shop", "seal", "null", &err);
    ck_assert_ptr_nonnull(st);
    json_t *sec = json_pack("{s:s}", "password", "s3cr3t-pa55");
    ck_assert_int_eq(hoist_state_put(st, "database", "main", HOIST_RS_READY, "h", NULL, NULL, sec,
                                     &err), HOIST_OK);
    hoist_state_free(st);
    hoist_state_backend *b = backend("seal", NULL, NULL);
    ck_assert_int_eq(b->load(b, &text, &err), HOIST_OK);
    ck_assert_ptr_nonnull(strstr(text, "secrets_sealed"));
    ck_assert_ptr_null(strstr(text, "s3cr3t-pa55"));
    st = hoist_state_open(b, "shop", "seal", "null", &err);
    json_t *rec = hoist_state_get(st, "database", "main");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "secrets"), "password")),
                     "s3cr3t-pa55");
    json_decref(rec);
    json_decref(sec);
    free(text);
    hoist_state_free(st);
    unsetenv("HOIST_STATE_KEY");
}
END_TEST

START_TEST(test_bad_settings)
{
    char *err = NULL;
    json_t *s = json_pack("{s:s}", "prefix", "x");
    ck_assert_ptr_null(hoist_state_s3_backend(s, "dev", &err));
    ck_assert_ptr_nonnull(strstr(err, "bucket"));
    free(err);
    err = NULL;
    json_object_set_new(s, "bucket", json_string("b"));
    json_object_set_new(s, "access_key", json_string("a"));
    json_object_set_new(s, "secret_key", json_string("s"));
    json_object_set_new(s, "endpoint", json_string("http://s3.example.com"));
    ck_assert_ptr_null(hoist_state_s3_backend(s, "dev", &err));
    ck_assert_ptr_nonnull(strstr(err, "https://"));
    free(err);
    err = NULL;
    /* a missing bucket is named, with the fix */
    json_decref(s);
    s = settings(NULL, NULL);
    json_object_set_new(s, "bucket", json_string("no-such-bucket"));
    hoist_state_backend *b = hoist_state_s3_backend(s, "dev", &err);
    char *text = NULL;
    ck_assert_int_eq(b->load(b, &text, &err), HOIST_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "NoSuchBucket"));
    ck_assert_ptr_nonnull(strstr(err, "create the bucket"));
    free(err);
    b->free(b);
    json_decref(s);
}
END_TEST

int main(void)
{
    if (sim_start() != 0) {
        printf("1..0 # SKIP hoist-sim did not start\n");
        return 0;
    }
    hoist_http_set_backoff(10, 50, 2000, 0);
    make_bucket();
    Suite *s = suite_create("state_s3");
    TCase *tc = tcase_create("s3");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_write_race);
    tcase_add_test(tc, test_lock_exclusive);
    tcase_add_test(tc, test_lease_lost);
    tcase_add_test(tc, test_stale_lease);
    tcase_add_test(tc, test_versions_kept_and_pruned);
    tcase_add_test(tc, test_secrets_sealed);
    tcase_add_test(tc, test_bad_settings);
    suite_add_tcase(s, tc);
    int rc = tu_main(s);
    kill(sim_pid, SIGTERM);
    waitpid(sim_pid, NULL, 0);
    return rc;
}
