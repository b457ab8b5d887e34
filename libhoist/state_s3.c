/*
 * state_s3.c - the S3 state backend: state shared by a team and CI through
 * any S3-compatible store (AWS S3, DigitalOcean Spaces, Scaleway Object
 * Storage, MinIO, hoist-sim), path-style URLs, SigV4 (S3's variant).
 *
 * Safety rests on two conditional writes, so it needs a store that honours
 * them (AWS S3 does since 2024; s3rver, for one, ignores them):
 *  - the lock object <prefix>/<env>.lock is created with If-None-Match: *
 *    (412: someone holds it) and its lease is renewed by a thread with
 *    If-Match on its ETag, so a lock broken by `hoist force-unlock` is
 *    noticed by its holder, which then stops starting work and fails;
 *  - the document <prefix>/<env>.json is written with If-Match on the ETag
 *    that was read (If-None-Match: * when there was none), so two writers
 *    can never silently overwrite each other.
 * After each write the same bytes are kept as <prefix>/<env>.json.v<serial>
 * and the version keep_versions serials older is deleted.
 *
 * Lease expiry is judged on the server's clock (its Date header against
 * the lock's Last-Modified), with one second of slack for their resolution.
 */
#include "autoconfig.h"

#include "creds.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "sigv4.h"
#include "state.h"
#include "util.h"
#include "xmlutil.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S3_DEFAULT_LEASE 60.0
#define S3_DEFAULT_KEEP 10

typedef struct s3b {
    char *endpoint, *bucket, *region, *env;
    char *ak, *sk, *token;
    int plain;                 /* http:// to loopback */
    char *key_state, *key_lock, *where, *lock_where;
    char *etag;                /* of the document as last read or written; NULL: none stored */
    int keep;
    double lease_s;
    char *who;                 /* "user@host pid N" */

    /* the held lock; mu guards everything below */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int th_on, stop, lost;
    char *operation, *lock_id, *lock_etag, *since;
    hoist_flag *cancel;
} s3b;

/* ---------------------------------------------------------------- requests */

typedef struct s3_answer {
    hoist_http_response r;
    int ok;                    /* an answer arrived */
} s3_answer;

/*
 * One signed request on @key (NULL: the bucket) with optional @query
 * ("list-type=2&prefix=..", already encoded).  HOIST_OK when an answer
 * arrived (whatever its status; free @a->r), else an error in *err.
 */
static hoist_status s3_call(s3b *s, const char *method, const char *key, const char *query,
                            const char *const *headers, const char *body, long timeout_ms,
                            s3_answer *a, char **err)
{
    hoist_buf url = {0};
    hoist_buf_printf(&url, "%s/", s->endpoint);
    hoist_uri_encode(&url, s->bucket, strlen(s->bucket), 0);
    if (key) {
        hoist_buf_puts(&url, "/");
        hoist_uri_encode(&url, key, strlen(key), 1);
    }
    if (query)
        hoist_buf_printf(&url, "?%s", query);
    hoist_sigv4_spec spec = {.struct_size = sizeof spec, .service = "s3", .region = s->region,
                             .access_key_id = s->ak, .secret_access_key = s->sk,
                             .session_token = s->token, .flags = HOIST_SIGV4_S3};
    hoist_http_request req = {.struct_size = sizeof req, .method = method, .url = url.s,
                              .headers = headers, .body = body, .body_len = body ? strlen(body) : 0,
                              .flags = s->plain ? HOIST_HTTP_ALLOW_PLAIN_LOOPBACK : 0,
                              .timeout_ms = timeout_ms, .max_attempts = timeout_ms ? 2 : 0,
                              .sigv4 = &spec};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    memset(a, 0, sizeof *a);
    a->r.struct_size = sizeof a->r;
    hoist_status st = hoist_http(&ctx, &req, &a->r);
    if (st == HOIST_OK)
        a->ok = 1;
    else
        *err = hoist_xasprintf("S3 %s %s: %s", method, url.s,
                               hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx) : "request failed");
    hoist_ctx_cleanup(&ctx);
    hoist_buf_free(&url);
    return st;
}

static void s3_answer_free(s3_answer *a)
{
    if (a->ok)
        hoist_http_response_free(&a->r);
    a->ok = 0;
}

/* The S3 error code of @a ("NoSuchKey"), or "" (static or owned by @buf). */
static const char *s3_code(const s3_answer *a, char **buf)
{
    char *msg = NULL;
    *buf = NULL;
    hoist_service_error(a->r.body, a->r.body_len, buf, &msg);
    free(msg);
    return *buf ? *buf : "";
}

/* One clear message for an unexpected answer: what, where, and how to fix. */
static hoist_status s3_fail(s3b *s, const s3_answer *a, const char *what, const char *key,
                            char **err)
{
    char *code = NULL, *msg = NULL;
    hoist_service_error(a->r.body, a->r.body_len, &code, &msg);
    const char *hint = "";
    hoist_status st = HOIST_E_INTERNAL;
    if (code && strcmp(code, "NoSuchBucket") == 0) {
        hint = "; create the bucket first (e.g. aws s3 mb s3://BUCKET --endpoint-url ENDPOINT)";
        st = HOIST_E_NOTFOUND;
    } else if (a->r.status == 401 || a->r.status == 403) {
        hint = "; check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or "
               "state.access_key/secret_key) and their permissions on the bucket";
        st = HOIST_E_AUTH;
    } else if (a->r.status >= 500 || a->r.status == 429) {
        st = HOIST_E_TRANSIENT;
    }
    *err = hoist_xasprintf("state backend s3: %s s3://%s/%s at %s: HTTP %ld%s%s%s%s%s", what,
                           s->bucket, key ? key : "", s->endpoint, a->r.status, code ? " " : "",
                           code ? code : "", msg ? ": " : "", msg ? msg : "", hint);
    free(code);
    free(msg);
    return st;
}

/* Seconds since the epoch of an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if none. */
static time_t s3_http_time(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = v ? strptime(v, "%a, %d %b %Y %H:%M:%S", &tm) : NULL;
    return end ? timegm(&tm) : (time_t)-1;
}

static char *s3_uuid(void)
{
    unsigned char u[16];
    if (RAND_bytes(u, sizeof u) != 1)
        abort();
    hoist_buf b = {0};
    for (int i = 0; i < 16; i++)
        hoist_buf_printf(&b, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
    return hoist_buf_steal(&b);
}

/* ---------------------------------------------------------------- document */

static hoist_status s3_load(hoist_state_backend *b, char **text, char **err)
{
    s3b *s = b->data;
    s3_answer a;
    *text = NULL;
    hoist_status st = s3_call(s, "GET", s->key_state, NULL, NULL, NULL, 0, &a, err);
    if (st != HOIST_OK)
        return st;
    char *code = NULL;
    if (a.r.status == 200) {
        free(s->etag);
        s->etag = hoist_xstrdup(hoist_http_header(&a.r, "ETag"));
        *text = hoist_xstrndup(a.r.body, a.r.body_len);
    } else if (a.r.status == 404 && strcmp(s3_code(&a, &code), "NoSuchKey") == 0) {
        free(s->etag);
        s->etag = NULL;
    } else {
        st = s3_fail(s, &a, "reading", s->key_state, err);
    }
    free(code);
    s3_answer_free(&a);
    return st;
}

static long long s3_serial_of(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    long long n = json_integer_value(json_object_get(j, "serial"));
    json_decref(j);
    return n;
}

/* Keep @text as version @serial and drop the one that fell out of the window. */
static void s3_keep_version(s3b *s, const char *text, long long serial, const char *const *hdrs)
{
    char *err = NULL, *key = hoist_xasprintf("%s.v%lld", s->key_state, serial);
    s3_answer a;
    if (s3_call(s, "PUT", key, NULL, hdrs, text, 0, &a, &err) == HOIST_OK && a.r.status != 200)
        s3_fail(s, &a, "keeping a version as", key, &err);
    s3_answer_free(&a);
    free(key);
    if (!err && serial > s->keep) {
        key = hoist_xasprintf("%s.v%lld", s->key_state, serial - s->keep);
        if (s3_call(s, "DELETE", key, NULL, NULL, NULL, 0, &a, &err) == HOIST_OK &&
            a.r.status >= 300 && a.r.status != 404)
            s3_fail(s, &a, "pruning the old version", key, &err);
        s3_answer_free(&a);
        free(key);
    }
    /* the document itself was saved: a missing history entry is only worth a warning */
    if (err)
        hoist_log(HOIST_LOG_WARN_, "state", "%s", err);
    free(err);
}

static hoist_status s3_save(hoist_state_backend *b, const char *text, char **err)
{
    s3b *s = b->data;
    pthread_mutex_lock(&s->mu);
    int lost = s->lost;
    char *who = hoist_xasprintf("x-amz-meta-hoist-who: %s (%s)", s->who,
                                s->operation ? s->operation : "?");
    pthread_mutex_unlock(&s->mu);
    if (lost) {
        *err = hoist_xasprintf("state backend s3: not saving %s: this run lost its lock on "
                               "environment '%s' (see above); nothing more is written",
                               s->where, s->env);
        free(who);
        return HOIST_E_CONFLICT;
    }
    char *cond = s->etag ? hoist_xasprintf("If-Match: %s", s->etag)
                         : hoist_xstrdup("If-None-Match: *");
    const char *hdrs[] = {"Content-Type: application/json", cond, who, NULL};
    /* A version is written unconditionally, labelled like the document. */
    const char *vhdrs[] = {"Content-Type: application/json", who, NULL};
    s3_answer a;
    hoist_status st = s3_call(s, "PUT", s->key_state, NULL, hdrs, text, 0, &a, err);
    if (st != HOIST_OK)
        goto cleanup;
    if (a.r.status == 200) {
        free(s->etag);
        s->etag = hoist_xstrdup(hoist_http_header(&a.r, "ETag"));
        s3_keep_version(s, text, s3_serial_of(text), vhdrs);
    } else if (a.r.status == 412 || a.r.status == 409 || (a.r.status == 404 && s->etag)) {
        /* A retried write of ours that had landed also fails its condition:
           it is ours if the stored bytes are exactly what we wrote. */
        char *now = NULL, *e2 = NULL;
        char *old = s->etag;
        s->etag = NULL;
        if (s3_load(b, &now, &e2) == HOIST_OK && now && strcmp(now, text) == 0) {
            free(old);
            free(now);
            s3_keep_version(s, text, s3_serial_of(text), vhdrs);
            goto cleanup;
        }
        free(s->etag);
        s->etag = old;
        *err = hoist_xasprintf(
            "state conflict on %s: another writer changed it since this run read it (this run "
            "wrote serial %lld; the store holds %s%lld); nothing was overwritten. Another hoist "
            "may be working on environment '%s' without its lock, or the store ignores "
            "conditional writes: see `hoist state history -e %s`, then run again",
            s->where, s3_serial_of(text), now ? "serial " : "no document, serial ",
            now ? s3_serial_of(now) : 0LL, s->env, s->env);
        free(now);
        free(e2);
        st = HOIST_E_CONFLICT;
    } else {
        st = s3_fail(s, &a, "writing", s->key_state, err);
    }
cleanup:
    s3_answer_free(&a);
    free(cond);
    free(who);
    return st;
}

/* ---------------------------------------------------------------- lock */

typedef struct s3_lockinfo {
    json_t *doc;
    char *etag;
    int expired;
    time_t stale_since;        /* when the lease ran out (server clock) */
} s3_lockinfo;

static void s3_lockinfo_free(s3_lockinfo *li)
{
    json_decref(li->doc);
    free(li->etag);
    memset(li, 0, sizeof *li);
}

/* GET the lock object: 1 found (@li filled), 0 none, -1 error in *err. */
static int s3_lock_read(s3b *s, s3_lockinfo *li, char **err)
{
    s3_answer a;
    memset(li, 0, sizeof *li);
    if (s3_call(s, "GET", s->key_lock, NULL, NULL, NULL, 0, &a, err) != HOIST_OK)
        return -1;
    int rc = 1;
    if (a.r.status == 404) {
        rc = 0;
    } else if (a.r.status != 200) {
        s3_fail(s, &a, "reading the lock", s->key_lock, err);
        rc = -1;
    } else {
        li->doc = json_loadb(a.r.body, a.r.body_len, 0, NULL);
        if (!json_is_object(li->doc)) {
            json_decref(li->doc);
            li->doc = json_object(); /* unreadable: still a lock, described as unknown */
        }
        li->etag = hoist_xstrdup(hoist_http_header(&a.r, "ETag"));
        double lease = json_number_value(json_object_get(li->doc, "lease_seconds"));
        if (lease <= 0)
            lease = S3_DEFAULT_LEASE;
        time_t now = s3_http_time(hoist_http_header(&a.r, "Date"));
        time_t mod = s3_http_time(hoist_http_header(&a.r, "Last-Modified"));
        if (now < 0 || mod < 0) {
            /* no server clock: fall back on ours */
            now = time(NULL);
            mod = now;
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            const char *r = json_string_value(json_object_get(li->doc, "renewed"));
            if (r && strptime(r, "%Y-%m-%dT%H:%M:%SZ", &tm))
                mod = timegm(&tm);
        }
        li->stale_since = mod + (time_t)(lease + 0.999);
        /* one second of slack: both clocks read in whole seconds */
        li->expired = (double)(now - mod) > lease + 1.0;
    }
    s3_answer_free(&a);
    return rc;
}

static const char *s3_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "?";
}

static char *s3_lock_who(const s3_lockinfo *li)
{
    return hoist_xasprintf("%s (operation %s, lock id %s) since %s", s3_str(li->doc, "who"),
                           s3_str(li->doc, "operation"), s3_str(li->doc, "id"),
                           s3_str(li->doc, "since"));
}

/*
 * 1 when the lock's holder ran on this host ("who" is "USER@HOST pid N", as
 * s3_new writes it) and that process no longer exists: a run left by a
 * second Ctrl-C or a kill, whose lease has simply not run out yet.
 */
static int s3_holder_dead_here(const s3_lockinfo *li)
{
    const char *who = json_string_value(json_object_get(li->doc, "who"));
    const char *at = who ? strchr(who, '@') : NULL;
    const char *sp = at ? strstr(at, " pid ") : NULL;
    if (!sp)
        return 0;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    size_t hl = (size_t)(sp - at - 1);
    if (hl != strlen(host) || strncmp(at + 1, host, hl) != 0)
        return 0;
    char *end;
    long pid = strtol(sp + 5, &end, 10);
    if (pid <= 0 || *end)
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static char *s3_lock_body(s3b *s)
{
    char *now = hoist_utc_iso(time(NULL));
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f}", "id", s->lock_id, "who", s->who,
                          "operation", s->operation ? s->operation : "?", "since", s->since,
                          "renewed", now, "lease_seconds", s->lease_s);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    free(now);
    char *r = hoist_xstrdup(text);
    free(text);
    return r;
}

/* Record the loss once and stop the run from starting new work.  Caller holds mu. */
static void s3_lost(s3b *s, const char *why)
{
    if (s->lost)
        return;
    s->lost = 1;
    if (s->cancel)
        *s->cancel = 1;
    hoist_log(HOIST_LOG_ERROR_, "state",
              "lost the lock on environment '%s' (%s): %s; no new work is started and this run "
              "fails; check the environment with `hoist status -e %s` before running again",
              s->env, s->lock_where, why, s->env);
}

static long s3_lock_timeout_ms(const s3b *s)
{
    long ms = (long)(s->lease_s * 1000 / 3);
    return ms < 1000 ? 1000 : ms;
}

/* The lease renewer: rewrites the lock every lease/4, conditional on its ETag. */
static void *s3_renew_main(void *arg)
{
    s3b *s = arg;
    long long last_ok = hoist_now_ms();
    long long period = (long long)(s->lease_s * 250);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && !s->lost) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = (long long)ts.tv_nsec + (period < 50 ? 50 : period) * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (s->stop)
            break;
        char *body = s3_lock_body(s), *cond = hoist_xasprintf("If-Match: %s", s->lock_etag);
        pthread_mutex_unlock(&s->mu);
        const char *hdrs[] = {"Content-Type: application/json", cond, NULL};
        s3_answer a;
        char *err = NULL;
        hoist_status st = s3_call(s, "PUT", s->key_lock, NULL, hdrs, body, s3_lock_timeout_ms(s),
                                  &a, &err);
        pthread_mutex_lock(&s->mu);
        if (st == HOIST_OK && a.r.status == 200) {
            free(s->lock_etag);
            s->lock_etag = hoist_xstrdup(hoist_http_header(&a.r, "ETag"));
            last_ok = hoist_now_ms();
        } else if (st == HOIST_OK && (a.r.status == 412 || a.r.status == 404)) {
            s3_lost(s, a.r.status == 404 ? "the lock object was deleted (hoist force-unlock?)"
                                         : "the lock object was replaced by another holder "
                                           "(hoist force-unlock?)");
        } else if (hoist_now_ms() - last_ok > (long long)(s->lease_s * 1000)) {
            char *why = hoist_xasprintf("the lease could not be renewed for %.0f s, so another "
                                        "run may break it (last error: %s)", s->lease_s,
                                        err ? err : "unexpected answer");
            s3_lost(s, why);
            free(why);
        }
        s3_answer_free(&a);
        free(err);
        free(body);
        free(cond);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static hoist_status s3_lock(hoist_state_backend *b, const char *operation, double timeout_s,
                            char **err)
{
    s3b *s = b->data;
    if (s->lock_etag)
        return HOIST_OK;
    free(s->operation);
    free(s->lock_id);
    free(s->since);
    s->operation = hoist_xstrdup(operation ? operation : "?");
    s->lock_id = s3_uuid();
    s->since = hoist_utc_iso(time(NULL));
    s->lost = 0;
    long long deadline = hoist_now_ms() + (long long)(timeout_s * 1000);
    hoist_status st = HOIST_OK;
    for (;;) {
        char *body = s3_lock_body(s);
        const char *hdrs[] = {"Content-Type: application/json", "If-None-Match: *", NULL};
        s3_answer a;
        st = s3_call(s, "PUT", s->key_lock, NULL, hdrs, body, 0, &a, err);
        free(body);
        if (st != HOIST_OK)
            return st;
        long status = a.r.status;
        if (status == 200)
            s->lock_etag = hoist_xstrdup(hoist_http_header(&a.r, "ETag"));
        else if (status != 412 && status != 409)
            st = s3_fail(s, &a, "creating the lock", s->key_lock, err);
        s3_answer_free(&a);
        if (status == 200 || st != HOIST_OK)
            break;
        s3_lockinfo li;
        int found = s3_lock_read(s, &li, err);
        if (found < 0)
            return HOIST_E_TRANSIENT;
        if (found == 0)
            continue; /* released meanwhile: try again at once */
        const char *id = json_string_value(json_object_get(li.doc, "id"));
        if (id && strcmp(id, s->lock_id) == 0) {
            /* our own create, retried after a lost answer */
            s->lock_etag = li.etag;
            li.etag = NULL;
            s3_lockinfo_free(&li);
            break;
        }
        int dead = !li.expired && s3_holder_dead_here(&li);
        if (li.expired || dead || hoist_now_ms() >= deadline) {
            char *who = s3_lock_who(&li), *stale = hoist_utc_iso(li.stale_since);
            if (dead)
                *err = hoist_xasprintf(
                    "environment '%s' is locked by %s, a process of this host that is no longer "
                    "running (interrupted twice, or killed); break its lock now with: hoist "
                    "force-unlock -e %s %s", s->env, who, s->env, id ? id : "LOCK_ID");
            else if (li.expired)
                *err = hoist_xasprintf(
                    "environment '%s' is locked by %s, but its lease is stale since %s (the "
                    "holder stopped renewing it: it was probably killed); if that run is really "
                    "gone, break it with: hoist force-unlock -e %s %s", s->env, who, stale, s->env,
                    id ? id : "LOCK_ID");
            else
                *err = hoist_xasprintf("environment '%s' is locked by %s; wait for it to finish, "
                                       "or pass --lock-timeout SECONDS to wait (lock object %s)",
                                       s->env, who, s->lock_where);
            free(who);
            free(stale);
            s3_lockinfo_free(&li);
            return HOIST_E_CONFLICT;
        }
        s3_lockinfo_free(&li);
        usleep(250 * 1000);
    }
    if (st != HOIST_OK)
        return st;
    s->stop = 0;
    if (pthread_create(&s->th, NULL, s3_renew_main, s) != 0) {
        *err = hoist_xstrdup("state backend s3: cannot start the lease renewal thread");
        return HOIST_E_INTERNAL;
    }
    s->th_on = 1;
    return HOIST_OK;
}

static void s3_unlock(hoist_state_backend *b)
{
    s3b *s = b->data;
    if (s->th_on) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
        s->th_on = 0;
    }
    if (!s->lock_etag)
        return;
    if (!s->lost) {
        char *cond = hoist_xasprintf("If-Match: %s", s->lock_etag), *err = NULL;
        const char *hdrs[] = {cond, NULL};
        s3_answer a;
        if (s3_call(s, "DELETE", s->key_lock, NULL, hdrs, NULL, 0, &a, &err) == HOIST_OK &&
            a.r.status >= 300 && a.r.status != 404)
            s3_fail(s, &a, "releasing the lock", s->key_lock, &err);
        if (err)
            hoist_log(HOIST_LOG_WARN_, "state", "%s (the lease expires by itself)", err);
        s3_answer_free(&a);
        free(err);
        free(cond);
    }
    free(s->lock_etag);
    s->lock_etag = NULL;
}

static void s3_set_cancel(hoist_state_backend *b, hoist_flag *flag)
{
    s3b *s = b->data;
    pthread_mutex_lock(&s->mu);
    s->cancel = flag;
    pthread_mutex_unlock(&s->mu);
}

static int s3_is_lost(hoist_state_backend *b)
{
    s3b *s = b->data;
    pthread_mutex_lock(&s->mu);
    int lost = s->lost;
    pthread_mutex_unlock(&s->mu);
    return lost;
}

static hoist_status s3_force_unlock(hoist_state_backend *b, const char *lock_id, int force,
                                    char **what, char **err)
{
    s3b *s = b->data;
    s3_lockinfo li;
    int found = s3_lock_read(s, &li, err);
    if (found < 0)
        return HOIST_E_TRANSIENT;
    if (found == 0) {
        *err = hoist_xasprintf("environment '%s' is not locked (no %s)", s->env, s->lock_where);
        return HOIST_E_NOTFOUND;
    }
    hoist_status st = HOIST_OK;
    const char *id = json_string_value(json_object_get(li.doc, "id"));
    char *who = s3_lock_who(&li);
    if (!id || strcmp(id, lock_id) != 0) {
        *err = hoist_xasprintf("the lock on environment '%s' has id %s, not %s: it is held by %s; "
                               "nothing was broken", s->env, id ? id : "?", lock_id, who);
        st = HOIST_E_INVALID;
    } else if (!li.expired && !force && !s3_holder_dead_here(&li)) {
        *err = hoist_xasprintf("the lease of lock %s on environment '%s' is live: its holder, %s, "
                               "renewed it within the last %.0f s, so it is still running; wait "
                               "for it, or pass --force if you are sure it is gone", lock_id,
                               s->env, who, json_number_value(json_object_get(li.doc,
                                                                              "lease_seconds")));
        st = HOIST_E_CONFLICT;
    } else {
        char *cond = hoist_xasprintf("If-Match: %s", li.etag);
        const char *hdrs[] = {cond, NULL};
        s3_answer a;
        st = s3_call(s, "DELETE", s->key_lock, NULL, hdrs, NULL, 0, &a, err);
        if (st == HOIST_OK && a.r.status == 412) {
            *err = hoist_xasprintf("lock %s on environment '%s' was renewed while breaking it: its "
                                   "holder is alive; nothing was broken", lock_id, s->env);
            st = HOIST_E_CONFLICT;
        } else if (st == HOIST_OK && a.r.status >= 300 && a.r.status != 404) {
            st = s3_fail(s, &a, "breaking the lock", s->key_lock, err);
        } else if (st == HOIST_OK) {
            *what = hoist_xasprintf("lock %s held by %s (%s)", lock_id, who, s->lock_where);
        }
        s3_answer_free(&a);
        free(cond);
    }
    free(who);
    s3_lockinfo_free(&li);
    return st;
}

/* ---------------------------------------------------------------- history */

static int s3_serial_desc(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "serial"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "serial"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Newest first: the store lists keys as strings ("v100" before "v99"). */
static void s3_sort_versions(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = hoist_xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    hoist_sort(v, n, sizeof *v, s3_serial_desc);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

static hoist_status s3_history(hoist_state_backend *b, json_t **versions, char **err)
{
    s3b *s = b->data;
    hoist_buf q = {0};
    char *pfx = hoist_xasprintf("%s.v", s->key_state);
    hoist_buf_puts(&q, "list-type=2&prefix=");
    hoist_uri_encode(&q, pfx, strlen(pfx), 0);
    s3_answer a;
    hoist_status st = s3_call(s, "GET", NULL, q.s, NULL, NULL, 0, &a, err);
    hoist_xml_doc *doc = NULL;
    *versions = json_array();
    if (st != HOIST_OK)
        goto cleanup;
    if (a.r.status != 200) {
        st = s3_fail(s, &a, "listing the versions of", pfx, err);
        goto cleanup;
    }
    char *perr = NULL;
    doc = hoist_xml_parse(a.r.body, a.r.body_len, &perr);
    if (!doc) {
        *err = hoist_xasprintf("state backend s3: the version list of %s is not XML: %s", s->where,
                               perr);
        free(perr);
        st = HOIST_E_INTERNAL;
        goto cleanup;
    }
    for (const hoist_xml_node *c = hoist_xml_first(hoist_xml_root(doc), "Contents"); c;
         c = hoist_xml_next(c)) {
        char *key = hoist_xml_text(c, "Key");
        char *end = NULL;
        long long serial = key ? strtoll(key + strlen(pfx), &end, 10) : 0;
        if (end && !*end && serial > 0) {
            /* who wrote it travels in the object's metadata */
            s3_answer h;
            char *herr = NULL, *lm = hoist_xml_text(c, "LastModified");
            const char *who = NULL;
            if (s3_call(s, "HEAD", key, NULL, NULL, NULL, 0, &h, &herr) == HOIST_OK &&
                h.r.status == 200)
                who = hoist_http_header(&h.r, "x-amz-meta-hoist-who");
            json_array_append_new(*versions,
                                  json_pack("{s:I,s:s?,s:s}", "serial", (json_int_t)serial, "time",
                                            lm, "who", who ? who : "?"));
            s3_answer_free(&h);
            free(herr);
            free(lm);
        }
        free(key);
    }
    s3_sort_versions(*versions);
    /* A run killed between keeping a version and pruning the one that fell
       out of the window leaves that one behind: list only the window, and
       finish the interrupted prune (deleting twice is harmless). */
    size_t n = json_array_size(*versions);
    if (n > (size_t)s->keep) {
        json_int_t newest = json_integer_value(json_object_get(json_array_get(*versions, 0), "serial"));
        for (size_t i = n; i-- > 0;) {
            json_int_t sv = json_integer_value(json_object_get(json_array_get(*versions, i), "serial"));
            if (sv > newest - s->keep)
                break;
            char *key = hoist_xasprintf("%s.v%lld", s->key_state, (long long)sv), *derr = NULL;
            s3_answer d;
            s3_call(s, "DELETE", key, NULL, NULL, NULL, 0, &d, &derr);
            s3_answer_free(&d);
            free(derr);
            free(key);
            json_array_remove(*versions, i);
        }
    }
cleanup:
    hoist_xml_free(doc);
    s3_answer_free(&a);
    hoist_buf_free(&q);
    free(pfx);
    return st;
}

static hoist_status s3_load_version(hoist_state_backend *b, long long serial, char **text,
                                    char **err)
{
    s3b *s = b->data;
    char *key = hoist_xasprintf("%s.v%lld", s->key_state, serial);
    s3_answer a;
    *text = NULL;
    hoist_status st = s3_call(s, "GET", key, NULL, NULL, NULL, 0, &a, err);
    if (st == HOIST_OK && a.r.status == 200) {
        *text = hoist_xstrndup(a.r.body, a.r.body_len);
    } else if (st == HOIST_OK && a.r.status == 404) {
        *err = hoist_xasprintf("no version %lld of environment '%s' is kept in s3://%s/%s; `hoist "
                               "state history -e %s` lists the kept ones", serial, s->env,
                               s->bucket, key, s->env);
        st = HOIST_E_NOTFOUND;
    } else if (st == HOIST_OK) {
        st = s3_fail(s, &a, "reading", key, err);
    }
    s3_answer_free(&a);
    free(key);
    return st;
}

/* ---------------------------------------------------------------- setup */

static const char *s3_describe(hoist_state_backend *b)
{
    return ((s3b *)b->data)->where;
}

static void s3_free(hoist_state_backend *b)
{
    if (!b)
        return;
    s3_unlock(b);
    s3b *s = b->data;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    char **strs[] = {&s->endpoint, &s->bucket, &s->region, &s->env, &s->ak, &s->sk, &s->token,
                     &s->key_state, &s->key_lock, &s->where, &s->lock_where, &s->etag, &s->who,
                     &s->operation, &s->lock_id, &s->lock_etag, &s->since};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    free(s);
    free(b);
}

/* Plain http only to a loopback host: 127.0.0.0/8, localhost, [::1]. */
static int s3_loopback(const char *url)
{
    const char *h = url + strlen("http://");
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
           strncmp(h, "[::1]", 5) == 0;
}

/* Seconds from a number or "2s"/"1500ms"; -1 when malformed. */
static double s3_seconds(json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    const char *t = json_string_value(v);
    char *end = NULL;
    double d = t ? strtod(t, &end) : -1;
    if (!end || end == t)
        return -1;
    if (strcmp(end, "ms") == 0)
        return d / 1000;
    return (!*end || strcmp(end, "s") == 0) ? d : -1;
}

hoist_state_backend *hoist_state_s3_backend(json_t *settings, const char *env, char **err)
{
    const char *bucket = json_string_value(json_object_get(settings, "bucket"));
    const char *prefix = json_string_value(json_object_get(settings, "prefix"));
    if (!bucket || !*bucket) {
        *err = hoist_xstrdup("state backend s3 needs `bucket:` (and usually `prefix:`, `region:`, "
                             "`endpoint:`) under `state:` in hoist.yml");
        return NULL;
    }
    /* AWS's credential chain, with Spaces/Scaleway-style key names mapped onto it */
    json_t *cs = json_object();
    static const char *const map[][2] = {{"access_key", "access_key_id"},
                                         {"secret_key", "secret_access_key"},
                                         {"access_key_id", "access_key_id"},
                                         {"secret_access_key", "secret_access_key"},
                                         {"profile", "profile"},
                                         {"region", "region"},
                                         {"endpoint", "endpoint"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        json_t *v = json_object_get(settings, map[i][0]);
        if (json_is_string(v))
            json_object_set(cs, map[i][1], v);
    }
    if (!json_object_get(cs, "region") && !getenv("AWS_REGION") && !getenv("AWS_DEFAULT_REGION"))
        json_object_set_new(cs, "region", json_string("us-east-1"));
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    json_t *cr = NULL;
    hoist_status st = hoist_credentials(&ctx, "aws", cs, &cr);
    json_decref(cs);
    if (st != HOIST_OK) {
        *err = hoist_xasprintf("state backend s3: %s", hoist_ctx_error(&ctx));
        hoist_ctx_cleanup(&ctx);
        return NULL;
    }
    hoist_ctx_cleanup(&ctx);
    s3b *s = hoist_xcalloc(1, sizeof *s);
    const char *region = json_string_value(json_object_get(cr, "region"));
    const char *ep = json_string_value(json_object_get(settings, "endpoint"));
    if (!ep)
        ep = json_string_value(json_object_get(json_object_get(cr, "endpoints"), "s3"));
    if (!ep)
        ep = json_string_value(json_object_get(cr, "endpoint_url"));
    s->endpoint = ep ? hoist_xstrdup(ep) : hoist_xasprintf("https://s3.%s.amazonaws.com", region);
    size_t n = strlen(s->endpoint);
    while (n && s->endpoint[n - 1] == '/')
        s->endpoint[--n] = '\0';
    s->bucket = hoist_xstrdup(bucket);
    s->region = hoist_xstrdup(region);
    s->env = hoist_xstrdup(env);
    s->ak = hoist_xstrdup(json_string_value(json_object_get(cr, "access_key_id")));
    s->sk = hoist_xstrdup(json_string_value(json_object_get(cr, "secret_access_key")));
    s->token = hoist_xstrdup(json_string_value(json_object_get(cr, "session_token")));
    json_decref(cr);
    hoist_buf k = {0};
    if (prefix) {
        while (*prefix == '/')
            prefix++;
        size_t pl = strlen(prefix);
        while (pl && prefix[pl - 1] == '/')
            pl--;
        if (pl)
            hoist_buf_printf(&k, "%.*s/", (int)pl, prefix);
    }
    s->key_state = hoist_xasprintf("%s%s.json", k.s ? k.s : "", env);
    s->key_lock = hoist_xasprintf("%s%s.lock", k.s ? k.s : "", env);
    hoist_buf_free(&k);
    s->where = hoist_xasprintf("s3://%s/%s (%s)", s->bucket, s->key_state, s->endpoint);
    s->lock_where = hoist_xasprintf("s3://%s/%s", s->bucket, s->key_lock);
    /* the lease: setting `lease`, or HOIST_STATE_LEASE (seconds) for tests */
    json_t *lv = getenv("HOIST_STATE_LEASE") ? json_string(getenv("HOIST_STATE_LEASE"))
                                             : json_incref(json_object_get(settings, "lease"));
    s->lease_s = lv ? s3_seconds(lv) : S3_DEFAULT_LEASE;
    json_decref(lv);
    json_t *kv = json_object_get(settings, "keep_versions");
    s->keep = kv ? (int)json_integer_value(kv) : S3_DEFAULT_KEEP;
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    const char *user = getenv("USER") ? getenv("USER") : getenv("LOGNAME");
    struct passwd pw, *pwp = NULL;
    char pwbuf[1024];
    if (!user && getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp)
        user = pwp->pw_name;
    s->who = hoist_xasprintf("%s@%s pid %ld", user ? user : "?", host, (long)getpid());
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    hoist_state_backend *b = hoist_xcalloc(1, sizeof *b);
    *b = (hoist_state_backend){.load = s3_load, .save = s3_save, .lock = s3_lock,
                               .unlock = s3_unlock, .free = s3_free, .describe = s3_describe,
                               .data = s, .history = s3_history, .load_version = s3_load_version,
                               .force_unlock = s3_force_unlock, .set_cancel = s3_set_cancel,
                               .lost = s3_is_lost};
    if (strncmp(s->endpoint, "https://", 8) != 0 &&
        !(strncmp(s->endpoint, "http://", 7) == 0 && s3_loopback(s->endpoint))) {
        *err = hoist_xasprintf("state.endpoint %s: use https:// (plain http:// is only allowed "
                               "for a loopback endpoint such as http://127.0.0.1:PORT)",
                               s->endpoint);
    } else if (s->lease_s < 1 || s->lease_s > 3600) {
        *err = hoist_xstrdup("state.lease (or HOIST_STATE_LEASE) must be between 1 and 3600 "
                             "seconds, e.g. `lease: 60`");
    } else if (s->keep < 1 || s->keep > 1000) {
        *err = hoist_xstrdup("state.keep_versions must be between 1 and 1000");
    } else {
        s->plain = strncmp(s->endpoint, "http://", 7) == 0;
        return b;
    }
    s3_free(b);
    return NULL;
}
