/*
 * tmpl_api.c - the example driver's "cloud", and the reconciliation loop
 * every kind shares.
 *
 * The cloud is a directory: one JSON file per object, <kind>-<id>.json,
 * written atomically.  It behaves like a real cloud API in the ways that
 * matter to hoist: objects get ids the cloud chooses, carry ownership tags,
 * take a few polls to create and delete (setting `pending_polls:`), and can
 * be told to fail (setting `fail:`).  Swap these four tmpl_api_* functions
 * for HTTP calls (host->http, ABI 1.1) and the rest of the driver stays.
 */
#include "tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- files ---------------------------------------------------------------- */

static char *tmpl_path(tmpl_prov *p, const char *kind, const char *id)
{
    return hoist_kit_xasprintf("%s/%s-%s.json", p->dir, kind, id);
}

/* Write atomically (temp file, fsync, rename): a process killed at any
 * instant leaves either the old object or the new one, never half of one. */
static hoist_status tmpl_write(tmpl_prov *p, hoist_ctx *ctx, const char *kind, json_t *obj)
{
    hoist_status st = HOIST_OK;
    char *path = tmpl_path(p, kind, json_string_value(json_object_get(obj, "id")));
    char *tmp = hoist_kit_xasprintf("%s.tmp", path);
    char *text = json_dumps(obj, JSON_SORT_KEYS);
    int fd = -1;
    if (!text) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "cannot serialise %s", path);
        goto cleanup;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 || rename(tmp, path) != 0) {
        st = p->host->fail(ctx, HOIST_E_TRANSIENT, "cannot write %s: %s", path,
                           hoist_kit_strerror(errno));
        unlink(tmp);
    }
cleanup:
    if (fd >= 0)
        close(fd);
    free(text);
    free(tmp);
    free(path);
    return st;
}

/* A fresh id, chosen by "the cloud" as real clouds do. */
static void tmpl_new_id(char *buf, size_t len)
{
    unsigned char raw[6] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, raw, sizeof raw) != (ssize_t)sizeof raw)
            memset(raw, 0, sizeof raw);
        close(fd);
    }
    snprintf(buf, len, "%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]);
}

/* ---- the API (every call takes the lock: several threads call us) ------- */

static hoist_status tmpl_get_locked(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                                    const char *id, json_t **obj)
{
    *obj = NULL;
    char *path = tmpl_path(p, kind, id);
    hoist_status st = HOIST_OK;
    json_t *o = json_load_file(path, 0, NULL);
    if (!o) {
        /* A missing object is an answer, not a failure: no host->fail(). */
        st = HOIST_E_NOTFOUND;
        goto cleanup;
    }
    /* The cloud makes progress each time someone looks (a real cloud does it
     * on its own clock; the poll count keeps tests deterministic). */
    json_int_t polls = json_integer_value(json_object_get(o, "polls"));
    const char *state = json_string_value(json_object_get(o, "state"));
    if (polls > 0) {
        json_object_set_new(o, "polls", json_integer(--polls));
    }
    if (polls == 0 && state && strcmp(state, "deleting") == 0) {
        unlink(path);
        json_decref(o);
        st = HOIST_E_NOTFOUND;
        goto cleanup;
    }
    if (polls == 0 && state && strcmp(state, "creating") == 0)
        json_object_set_new(o, "state", json_string("ready"));
    st = tmpl_write(p, ctx, kind, o);
    if (st == HOIST_OK)
        *obj = o;
    else
        json_decref(o);
cleanup:
    free(path);
    return st;
}

hoist_status tmpl_api_get(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const char *id,
                          json_t **obj)
{
    pthread_mutex_lock(&p->lock);
    hoist_status st = tmpl_get_locked(p, ctx, kind, id, obj);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* True if @obj carries the three ownership tags of @r. */
static int tmpl_owned(json_t *obj, const hoist_resource *r)
{
    json_t *tags = json_object_get(obj, "tags");
    const char *want[3][2] = {{"hoist:project", r->project}, {"hoist:env", r->env},
                              {"hoist:resource", r->name}};
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(tags, want[i][0]));
        if (!v || strcmp(v, want[i][1]) != 0)
            return 0;
    }
    return 1;
}

hoist_status tmpl_api_find(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                           const hoist_resource *r, json_t **obj)
{
    *obj = NULL;
    hoist_status st = HOIST_E_NOTFOUND;
    size_t klen = strlen(kind);
    pthread_mutex_lock(&p->lock);
    DIR *d = opendir(p->dir);
    if (!d) {
        st = p->host->fail(ctx, HOIST_E_TRANSIENT, "cannot list %s: %s", p->dir,
                           hoist_kit_strerror(errno));
        goto cleanup;
    }
    struct dirent *e;
    while (st == HOIST_E_NOTFOUND && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= klen + 6 || strncmp(e->d_name, kind, klen) != 0 || e->d_name[klen] != '-' ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char id[128];
        snprintf(id, sizeof id, "%.*s", (int)(len - klen - 6), e->d_name + klen + 1);
        json_t *o = NULL;
        /* Read through get so that finding also makes progress. */
        hoist_status g = tmpl_get_locked(p, ctx, kind, id, &o);
        if (g == HOIST_OK && tmpl_owned(o, r)) {
            *obj = o;
            st = HOIST_OK;
        } else {
            json_decref(o);
            if (g != HOIST_OK && g != HOIST_E_NOTFOUND)
                st = g;
        }
    }
    closedir(d);
cleanup:
    pthread_mutex_unlock(&p->lock);
    return st;
}

hoist_status tmpl_api_create(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                             const hoist_resource *r, json_t *attrs, json_t **obj)
{
    char id[32];
    tmpl_new_id(id, sizeof id);
    /* The name people see in the cloud's console.  Real clouds limit names
     * (length, alphabet): hoist_kit_name keeps a name that fits as it is and
     * ends a longer one with a hash of the whole, so two never collide. */
    char *name = hoist_kit_name(TMPL_NAME_MAX, 0, r->project, r->env, r->name, (char *)NULL);
    /* Ownership tags: how ensure finds this object again after a crash, and
     * how nobody's objects but ours are ever touched. */
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s,s:i,s:O}", "id", id, "kind", kind,
                          "name", name, "tags", "hoist:project", r->project, "hoist:env",
                          r->env, "hoist:resource", r->name, "state",
                          p->pending_polls ? "creating" : "ready", "polls", p->pending_polls,
                          "spec", r->spec);
    free(name);
    if (!o)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "cannot describe the new %s", kind);
    if (attrs)
        json_object_update(o, attrs);
    pthread_mutex_lock(&p->lock);
    hoist_status st = tmpl_write(p, ctx, kind, o);
    pthread_mutex_unlock(&p->lock);
    if (st == HOIST_OK) {
        p->host->log(ctx, HOIST_LOG_INFO, "created %s %s", kind, id);
        *obj = o;
    } else {
        json_decref(o);
    }
    return st;
}

hoist_status tmpl_api_delete(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const char *id)
{
    pthread_mutex_lock(&p->lock);
    json_t *o = NULL;
    hoist_status st = tmpl_get_locked(p, ctx, kind, id, &o);
    if (st == HOIST_E_NOTFOUND) {
        st = HOIST_OK; /* already gone: deleting it again succeeds */
        goto cleanup;
    }
    if (st != HOIST_OK)
        goto cleanup;
    if (p->pending_polls == 0) {
        char *path = tmpl_path(p, kind, id);
        if (unlink(path) != 0 && errno != ENOENT)
            st = p->host->fail(ctx, HOIST_E_TRANSIENT, "cannot delete %s %s", kind, id);
        free(path);
        goto cleanup;
    }
    json_object_set_new(o, "state", json_string("deleting"));
    json_object_set_new(o, "polls", json_integer(p->pending_polls));
    st = tmpl_write(p, ctx, kind, o);
cleanup:
    json_decref(o);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* ---- simulated failures -------------------------------------------------- */

/*
 * `fail: {"database/main": "quota"}` in the environment makes that ensure
 * fail as the cloud would.  `conformance_fail` has the same shape: it is the
 * hook hoist-conformance uses to check error mapping (hoist-provider(7)).
 */
static hoist_status tmpl_simulated(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    const char *how = json_string_value(json_object_get(p->fail, key));
    if (!how)
        return HOIST_OK;
    static const struct {
        const char *word;
        hoist_status st;
        const char *text;
    } map[] = {
        {"auth", HOIST_E_AUTH, "the account may not create it (simulated 403)"},
        {"quota", HOIST_E_QUOTA, "the account's limit is reached (simulated)"},
        {"invalid", HOIST_E_INVALID, "the cloud rejected the request (simulated 400)"},
        {"conflict", HOIST_E_CONFLICT, "the name is taken by another owner (simulated 409)"},
        {"transient", HOIST_E_TRANSIENT, "the cloud is unavailable (simulated 503)"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(how, map[i].word) == 0)
            return p->host->fail(ctx, map[i].st, "%s: %s", key, map[i].text);
    return p->host->fail(ctx, HOIST_E_INVALID, "setting fail: %s: unknown failure '%s' (use auth, "
                         "quota, invalid, conflict or transient)", key, how);
}

/* ---- reconciliation ------------------------------------------------------ */

/*
 * Find the object for @r: by the id hoist recorded (cheap), then by the
 * ownership tags (after a crash hoist may have no record of an object we
 * created).  A recorded id that no longer exists is not an error: someone
 * deleted it; fall back to the tags.
 */
static hoist_status tmpl_locate(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                                const hoist_resource *r, json_t **obj)
{
    const char *id = json_string_value(json_object_get(r->recorded, "id"));
    if (id) {
        hoist_status st = tmpl_api_get(p, ctx, kind, id, obj);
        if (st != HOIST_E_NOTFOUND)
            return st;
    }
    return tmpl_api_find(p, ctx, kind, r, obj);
}

static hoist_status tmpl_answer(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, tmpl_describe_fn describe,
                                hoist_result *out)
{
    const char *state = json_string_value(json_object_get(obj, "state"));
    describe(p, ctx, obj, out);
    if (state && strcmp(state, "ready") == 0)
        return HOIST_OK;
    /* Not ready: say when to ask again instead of sleeping here; the core
     * polls with backoff and a deadline, and stays cancellable. */
    out->poll_ms = 50;
    /* The status line; the core copies it, so it may come from @obj. */
    p->host->progress(ctx, "%s", state ? state : "creating");
    return HOIST_PENDING;
}

hoist_status tmpl_ensure(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                         json_t *attrs, tmpl_describe_fn describe, hoist_result *out)
{
    /* A cancelled run must not start new work. */
    if (p->host->cancelled(ctx))
        return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled before %s %s was touched", kind,
                             r->name);
    hoist_status st = tmpl_simulated(p, ctx, kind, r->name);
    if (st != HOIST_OK)
        return st;
    json_t *obj = NULL;
    st = tmpl_locate(p, ctx, kind, r, &obj);
    if (st == HOIST_E_NOTFOUND) /* find before create: only now is creating safe */
        st = tmpl_api_create(p, ctx, kind, r, attrs, &obj);
    if (st == HOIST_OK)
        st = tmpl_answer(p, ctx, obj, describe, out);
    json_decref(obj);
    return st;
}

hoist_status tmpl_observe(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                          tmpl_describe_fn describe, hoist_result *out)
{
    json_t *obj = NULL;
    hoist_status st = tmpl_locate(p, ctx, kind, r, &obj);
    if (st == HOIST_OK)
        st = tmpl_answer(p, ctx, obj, describe, out);
    json_decref(obj);
    return st; /* HOIST_E_NOTFOUND passes through: it is observe's answer */
}

hoist_status tmpl_destroy(tmpl_prov *p, hoist_ctx *ctx, const char *kind, const hoist_resource *r,
                          hoist_result *out)
{
    (void)out;
    json_t *obj = NULL;
    hoist_status st = tmpl_locate(p, ctx, kind, r, &obj);
    if (st == HOIST_E_NOTFOUND)
        return HOIST_OK; /* never there, or gone: destroy twice succeeds */
    if (st != HOIST_OK)
        return st;
    const char *id = json_string_value(json_object_get(obj, "id"));
    st = tmpl_api_delete(p, ctx, kind, id);
    json_decref(obj);
    obj = NULL;
    if (st != HOIST_OK)
        return st;
    /* Deletion may take a while: PENDING until a look finds it gone. */
    st = tmpl_locate(p, ctx, kind, r, &obj);
    json_decref(obj);
    if (st == HOIST_E_NOTFOUND)
        return HOIST_OK;
    if (st == HOIST_OK) {
        out->poll_ms = 50;
        p->host->progress(ctx, "deleting");
        return HOIST_PENDING;
    }
    return st;
}

hoist_status tmpl_ready_object(tmpl_prov *p, hoist_ctx *ctx, const char *kind,
                               const hoist_resource *r, json_t **obj)
{
    hoist_status st = tmpl_locate(p, ctx, kind, r, obj);
    if (st == HOIST_E_NOTFOUND)
        return p->host->fail(ctx, HOIST_E_NOTFOUND, "%s %s does not exist", kind, r->name);
    if (st == HOIST_OK && strcmp(json_string_value(json_object_get(*obj, "state")), "ready") != 0) {
        json_decref(*obj);
        *obj = NULL;
        return p->host->fail(ctx, HOIST_E_CONFLICT, "%s %s is not ready yet", kind, r->name);
    }
    return st;
}
