/* state.c - environment state: atomic file backend, lock, sealed secrets. */
#include "state.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const rstatus_names[] = {"create-requested", "pending", "ready",
                                            "destroy-requested", "paused"};

const char *hoist_rstatus_name(hoist_rstatus s)
{
    return (unsigned)s < 5 ? rstatus_names[s] : "unknown";
}

int hoist_rstatus_parse(const char *s)
{
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, rstatus_names[i]) == 0)
            return i;
    return -1;
}

char *hoist_json_sha256(const json_t *j)
{
    char *c = hoist_json_canonical(j);
    char hex[65];
    hoist_sha256_hex(c, strlen(c), hex);
    free(c);
    return hoist_xstrdup(hex);
}

char *hoist_json_canonical(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s)
        s = strdup("null");
    char *r = hoist_xstrdup(s);
    free(s);
    return r;
}

/* ---------------------------------------------------------------- file backend */

typedef struct file_backend {
    char *dir, *path, *lockpath, *env;
    int lockfd;
} file_backend;

static int file_mkdir(file_backend *f, char **err)
{
    if (hoist_mkdirs(f->dir, 0700) == 0)
        return 0;
    *err = hoist_xasprintf("cannot create the state directory %s: %s", f->dir,
                           hoist_strerror(errno));
    return -1;
}

static hoist_status file_load(hoist_state_backend *b, char **text, char **err)
{
    file_backend *f = b->data;
    *text = NULL;
    FILE *fp = fopen(f->path, "r");
    if (!fp) {
        if (errno == ENOENT)
            return HOIST_OK;
        *err = hoist_xasprintf("cannot read the state file %s: %s", f->path, hoist_strerror(errno));
        return HOIST_E_INTERNAL;
    }
    hoist_buf buf = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        hoist_buf_add(&buf, chunk, n);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        hoist_buf_free(&buf);
        *err = hoist_xasprintf("cannot read the state file %s", f->path);
        return HOIST_E_INTERNAL;
    }
    *text = hoist_buf_steal(&buf);
    return HOIST_OK;
}

/* fsync the directory so the rename itself survives a power cut. */
static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static hoist_status file_save(hoist_state_backend *b, const char *text, char **err)
{
    file_backend *f = b->data;
    if (file_mkdir(f, err) != 0)
        return HOIST_E_INTERNAL;
    char *tmp = hoist_xasprintf("%s.tmp.%ld", f->path, (long)getpid());
    hoist_status st = HOIST_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        *err = hoist_xasprintf("cannot write %s: %s", tmp, hoist_strerror(errno));
        st = HOIST_E_INTERNAL;
        goto cleanup;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off != len || fsync(fd) != 0) {
        *err = hoist_xasprintf("cannot write %s: %s", tmp, hoist_strerror(errno));
        st = HOIST_E_INTERNAL;
        close(fd);
        unlink(tmp);
        goto cleanup;
    }
    close(fd);
    if (rename(tmp, f->path) != 0) {
        *err = hoist_xasprintf("cannot replace %s: %s", f->path, hoist_strerror(errno));
        st = HOIST_E_INTERNAL;
        unlink(tmp);
        goto cleanup;
    }
    fsync_dir(f->dir);
cleanup:
    free(tmp);
    return st;
}

static char *file_holder(file_backend *f)
{
    char buf[1024] = {0};
    int fd = open(f->lockpath, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
            buf[0] = '\0';
    }
    json_t *j = json_loads(buf, 0, NULL);
    char *s;
    if (j)
        s = hoist_xasprintf("pid %lld on host %s since %s (operation %s)",
                            (long long)json_integer_value(json_object_get(j, "pid")),
                            json_string_value(json_object_get(j, "host")) ?: "?",
                            json_string_value(json_object_get(j, "since")) ?: "?",
                            json_string_value(json_object_get(j, "operation")) ?: "?");
    else
        s = hoist_xstrdup("another process (no holder details recorded yet)");
    json_decref(j);
    return s;
}

static hoist_status file_lock(hoist_state_backend *b, const char *operation, double timeout_s,
                              char **err)
{
    file_backend *f = b->data;
    if (f->lockfd >= 0)
        return HOIST_OK;
    long long deadline = hoist_now_ms() + (long long)(timeout_s * 1000);
    int fd;
again:
    if (file_mkdir(f, err) != 0)
        return HOIST_E_INTERNAL;
    fd = open(f->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err = hoist_xasprintf("cannot open the lock file %s: %s", f->lockpath,
                               hoist_strerror(errno));
        return HOIST_E_INTERNAL;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            *err = hoist_xasprintf("cannot lock %s: %s", f->lockpath, hoist_strerror(errno));
            close(fd);
            return HOIST_E_INTERNAL;
        }
        if (hoist_now_ms() >= deadline) {
            char *who = file_holder(f);
            *err = hoist_xasprintf("environment '%s' is locked by %s; wait for it to finish, or "
                                   "pass --lock-timeout SECONDS to wait (lock file %s)",
                                   f->env, who, f->lockpath);
            free(who);
            close(fd);
            return HOIST_E_CONFLICT;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* A destroy that removed the environment's files (file_remove) unlinks
       the lock while holding it: a waiter that had opened that file now
       holds a lock nobody else can see, so it locks the path anew. */
    struct stat held, cur;
    if (fstat(fd, &held) == 0 &&
        (stat(f->lockpath, &cur) != 0 ? errno == ENOENT
                                      : held.st_ino != cur.st_ino || held.st_dev != cur.st_dev)) {
        close(fd);
        goto again;
    }
    /* Record who holds it; readers only use it for the message. */
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    char *since = hoist_utc_iso(time(NULL));
    json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "pid", (json_int_t)getpid(), "host", host, "since",
                          since, "operation", operation ? operation : "?");
    free(since);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (ftruncate(fd, 0) == 0 && pwrite(fd, s, strlen(s), 0) < 0)
        hoist_log(HOIST_LOG_DEBUG_, "state", "cannot record the lock holder");
    free(s);
    f->lockfd = fd;
    return HOIST_OK;
}

static void file_unlock(hoist_state_backend *b)
{
    file_backend *f = b->data;
    if (f->lockfd >= 0) {
        /* Leave the file: removing it would race with a waiter that opened it. */
        flock(f->lockfd, LOCK_UN);
        close(f->lockfd);
        f->lockfd = -1;
    }
}

/* The document, then the lock (still held: see file_lock), then the
   directory when nothing else is in it. */
static hoist_status file_remove(hoist_state_backend *b, char **err)
{
    file_backend *f = b->data;
    if (unlink(f->path) != 0 && errno != ENOENT) {
        *err = hoist_xasprintf("cannot remove %s: %s", f->path, hoist_strerror(errno));
        return HOIST_E_INTERNAL;
    }
    unlink(f->lockpath);
    rmdir(f->dir);
    return HOIST_OK;
}

static void file_free(hoist_state_backend *b)
{
    if (!b)
        return;
    file_unlock(b);
    file_backend *f = b->data;
    free(f->dir);
    free(f->path);
    free(f->lockpath);
    free(f->env);
    free(f);
    free(b);
}

static const char *file_describe(hoist_state_backend *b)
{
    return ((file_backend *)b->data)->path;
}

hoist_state_backend *hoist_state_file_backend(const char *dir, const char *env)
{
    file_backend *f = hoist_xcalloc(1, sizeof *f);
    f->dir = hoist_xstrdup(dir);
    f->path = hoist_xasprintf("%s/%s.json", dir, env);
    f->lockpath = hoist_xasprintf("%s/%s.lock", dir, env);
    f->env = hoist_xstrdup(env);
    f->lockfd = -1;
    hoist_state_backend *b = hoist_xcalloc(1, sizeof *b);
    b->load = file_load;
    b->save = file_save;
    b->lock = file_lock;
    b->unlock = file_unlock;
    b->remove = file_remove;
    b->free = file_free;
    b->describe = file_describe;
    b->data = f;
    return b;
}

hoist_state_backend *hoist_state_backend_for(const hoist_config *cfg, const hoist_env_cfg *env,
                                             const char *kind, char **err)
{
    /* the environment's keys over the project's */
    json_t *m = json_object();
    if (json_is_object(cfg->state))
        json_object_update(m, cfg->state);
    json_t *es = json_object_get(env->settings, "state");
    if (json_is_object(es))
        json_object_update(m, es);
    const char *name = kind ? kind : json_string_value(json_object_get(m, "backend"));
    hoist_state_backend *b = NULL;
    if (!name || strcmp(name, "file") == 0) {
        char *dir = hoist_xasprintf("%s/.hoist/state", cfg->dir);
        b = hoist_state_file_backend(dir, env->name);
        free(dir);
    } else if (strcmp(name, "s3") == 0) {
        b = hoist_state_s3_backend(m, env->name, err);
    } else {
        *err = hoist_xasprintf("state.backend '%s' of environment '%s' is unknown; use 'file' "
                               "(the default) or 's3'", name, env->name);
    }
    json_decref(m);
    return b;
}

/* ---------------------------------------------------------------- sealing */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_key(const char *s, unsigned char key[32])
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (n == 64) {
        for (int i = 0; i < 32; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                goto try_b64;
            key[i] = (unsigned char)(hi * 16 + lo);
        }
        return 0;
    }
try_b64:;
    char *copy = hoist_xstrndup(s, n);
    size_t len = 0;
    unsigned char *raw = (unsigned char *)hoist_base64_decode(copy, &len);
    free(copy);
    int ok = raw && len == 32;
    if (ok)
        memcpy(key, raw, 32);
    if (raw)
        OPENSSL_cleanse(raw, len);
    free(raw);
    return ok ? 0 : -1;
}

int hoist_state_key_from_env(unsigned char key[32], char **err)
{
    const char *v = getenv("HOIST_STATE_KEY");
    if (v && *v) {
        if (parse_key(v, key) != 0) {
            *err = hoist_xstrdup("HOIST_STATE_KEY must be 64 hex characters or the base64 of 32 "
                                 "bytes (e.g. `openssl rand -hex 32`)");
            return -1;
        }
        return 1;
    }
    const char *file = getenv("HOIST_STATE_KEY_FILE");
    if (file && *file) {
        char buf[256] = {0};
        FILE *fp = fopen(file, "r");
        if (!fp) {
            *err = hoist_xasprintf("HOIST_STATE_KEY_FILE: cannot read %s: %s", file,
                                   hoist_strerror(errno));
            return -1;
        }
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        int bad = parse_key(buf, key) != 0;
        OPENSSL_cleanse(buf, sizeof buf);
        if (bad) {
            *err = hoist_xasprintf("HOIST_STATE_KEY_FILE %s must hold 64 hex characters or the "
                                   "base64 of 32 bytes", file);
            return -1;
        }
        return 1;
    }
    return 0;
}

#define SEAL_PREFIX "aes-256-gcm:"

char *hoist_state_seal(const unsigned char key[32], const char *plain)
{
    size_t n = strlen(plain);
    unsigned char *raw = hoist_xmalloc(12 + 16 + n + 16);
    unsigned char *iv = raw, *tag = raw + 12, *ct = raw + 28;
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c || RAND_bytes(iv, 12) != 1 ||
        EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
        EVP_EncryptUpdate(c, ct, &len, (const unsigned char *)plain, (int)n) != 1 ||
        EVP_EncryptFinal_ex(c, ct + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        abort(); /* only fails on OOM or a broken libcrypto */
    EVP_CIPHER_CTX_free(c);
    size_t total = 28 + (size_t)len + (size_t)fin;
    char *out = hoist_xmalloc(sizeof SEAL_PREFIX + 4 * ((total + 2) / 3) + 1);
    strcpy(out, SEAL_PREFIX);
    EVP_EncodeBlock((unsigned char *)out + strlen(SEAL_PREFIX), raw, (int)total);
    free(raw);
    return out;
}

char *hoist_state_unseal(const unsigned char key[32], const char *sealed, char **err)
{
    char *plain = NULL;
    size_t pl = strlen(SEAL_PREFIX);
    if (strncmp(sealed, SEAL_PREFIX, pl) != 0) {
        *err = hoist_xstrdup("sealed secrets use an unknown scheme");
        return NULL;
    }
    size_t rawlen = 0;
    unsigned char *raw = (unsigned char *)hoist_base64_decode(sealed + pl, &rawlen);
    int n = raw ? (int)rawlen : -1;
    if (n < 28) {
        *err = hoist_xstrdup("sealed secrets are truncated or not base64");
        free(raw);
        return NULL;
    }
    plain = hoist_xmalloc((size_t)n);
    int len = 0, fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, raw) == 1 &&
             EVP_DecryptUpdate(c, (unsigned char *)plain, &len, raw + 28, n - 28) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, raw + 12) == 1 &&
             EVP_DecryptFinal_ex(c, (unsigned char *)plain + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    free(raw);
    if (!ok) {
        *err = hoist_xstrdup("cannot unseal the secrets: wrong HOIST_STATE_KEY, or the state file "
                             "was altered");
        free(plain);
        return NULL;
    }
    plain[len + fin] = '\0';
    return plain;
}

/* ---------------------------------------------------------------- state */

struct hoist_state {
    pthread_mutex_t mu;
    pthread_cond_t saved_cv; /* a save finished (group commit, see state_commit_locked) */
    long long changes;       /* changes made to doc so far */
    long long saved;         /* changes the backend holds durably */
    int saving;              /* a thread is writing (mu released meanwhile) */
    hoist_state_backend *b;
    json_t *doc;
    unsigned char key[32];
    int has_key;
    int readonly;
    int warned_plain;
};

static char *new_uuid(void)
{
    unsigned char u[16];
    if (RAND_bytes(u, sizeof u) != 1)
        abort();
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    return hoist_xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                           u[12], u[13], u[14], u[15]);
}

/* Validate a loaded document; unseal its secrets in place.  0 or -1 (*err). */
static int state_check(hoist_state *st, json_t *doc, const char *where, const char *project,
                       const char *env, char **err)
{
    json_t *fmt = json_object_get(doc, "format");
    if (!json_is_object(doc) || !json_is_integer(fmt) || !json_is_object(json_object_get(doc, "resources"))) {
        *err = hoist_xasprintf("state file %s is not a hoist state document (no format or "
                               "resources); it was left untouched", where);
        return -1;
    }
    if (json_integer_value(fmt) > HOIST_STATE_FORMAT) {
        *err = hoist_xasprintf("state file %s has format %lld, written by a newer hoist; this "
                               "hoist reads format %d and will not touch it: upgrade hoist",
                               where, (long long)json_integer_value(fmt), HOIST_STATE_FORMAT);
        return -1;
    }
    const char *p = json_string_value(json_object_get(doc, "project"));
    const char *e = json_string_value(json_object_get(doc, "env"));
    if ((p && project && strcmp(p, project) != 0) || (e && env && strcmp(e, env) != 0)) {
        *err = hoist_xasprintf("state file %s belongs to project '%s' environment '%s', not "
                               "'%s'/'%s'; it was left untouched", where, p ? p : "?", e ? e : "?",
                               project ? project : "?", env ? env : "?");
        return -1;
    }
    const char *k;
    json_t *r;
    json_object_foreach(json_object_get(doc, "resources"), k, r) {
        const char *sealed = json_string_value(json_object_get(r, "secrets_sealed"));
        /* Already stored unsealed: the run that first wrote them warned. */
        if (json_object_size(json_object_get(r, "secrets")))
            st->warned_plain = 1;
        if (!sealed)
            continue;
        if (!st->has_key) {
            *err = hoist_xasprintf("state file %s holds sealed secrets: set HOIST_STATE_KEY or "
                                   "HOIST_STATE_KEY_FILE to the key that sealed them", where);
            return -1;
        }
        char *plain = hoist_state_unseal(st->key, sealed, err);
        if (!plain) {
            char *m = hoist_xasprintf("state file %s, resource %s: %s", where, k, *err);
            free(*err);
            *err = m;
            return -1;
        }
        json_t *sec = json_loads(plain, 0, NULL);
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
        json_object_set_new(r, "secrets", sec ? sec : json_object());
        json_object_del(r, "secrets_sealed");
    }
    return 0;
}

hoist_state *hoist_state_open(hoist_state_backend *b, const char *project, const char *env,
                              const char *provider, char **err)
{
    hoist_state *st = hoist_xcalloc(1, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->saved_cv, NULL);
    st->b = b;
    char *text = NULL;
    int k = hoist_state_key_from_env(st->key, err);
    if (k < 0)
        goto fail;
    st->has_key = k;
    if (b->load(b, &text, err) != HOIST_OK)
        goto fail;
    if (!text) {
        char *lineage = new_uuid();
        st->doc = json_pack("{s:i,s:s,s:I,s:s?,s:s?,s:s?,s:{}}", "format", HOIST_STATE_FORMAT,
                            "lineage", lineage, "serial", (json_int_t)0, "project", project, "env",
                            env, "provider", provider, "resources");
        free(lineage);
        return st;
    }
    json_error_t je;
    st->doc = json_loads(text, 0, &je);
    if (!st->doc) {
        *err = hoist_xasprintf("state file %s is corrupt (line %d, column %d: %s); hoist will "
                               "not overwrite it: restore it from a backup or move it aside",
                               b->describe(b), je.line, je.column, je.text);
        goto fail;
    }
    if (state_check(st, st->doc, b->describe(b), project, env, err) != 0)
        goto fail;
    free(text);
    return st;
fail:
    free(text);
    hoist_state_free(st);
    return NULL;
}

void hoist_state_free(hoist_state *st)
{
    if (!st)
        return;
    if (st->b)
        st->b->free(st->b);
    json_decref(st->doc);
    OPENSSL_cleanse(st->key, sizeof st->key);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->saved_cv);
    free(st);
}

hoist_status hoist_state_lock(hoist_state *st, const char *operation, double timeout_s, char **err)
{
    hoist_status s = st->b->lock(st->b, operation, timeout_s, err);
    if (s != HOIST_OK)
        return s;
    /* Another run may have written since we loaded: reload under the lock. */
    char *text = NULL;
    s = st->b->load(st->b, &text, err);
    if (s != HOIST_OK || !text)
        return s;
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    free(text);
    if (!doc) {
        *err = hoist_xasprintf("state file %s is corrupt (line %d: %s); hoist will not overwrite "
                               "it", st->b->describe(st->b), je.line, je.text);
        st->b->unlock(st->b);
        return HOIST_E_INVALID;
    }
    if (state_check(st, doc, st->b->describe(st->b), NULL, NULL, err) != 0) {
        json_decref(doc);
        st->b->unlock(st->b);
        return HOIST_E_INVALID;
    }
    pthread_mutex_lock(&st->mu);
    json_decref(st->doc);
    st->doc = doc;
    pthread_mutex_unlock(&st->mu);
    return HOIST_OK;
}

hoist_state_backend *hoist_state_backend_of(hoist_state *st)
{
    return st->b;
}

static hoist_status state_save_locked(hoist_state *st, char **err);

hoist_status hoist_state_replace(hoist_state *st, const char *text, char **err)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc) {
        *err = hoist_xasprintf("the replacement state is not JSON (line %d: %s); nothing was "
                               "changed", je.line, je.text);
        return HOIST_E_INVALID;
    }
    hoist_status rc = HOIST_OK;
    pthread_mutex_lock(&st->mu);
    const char *p = json_string_value(json_object_get(st->doc, "project"));
    const char *e = json_string_value(json_object_get(st->doc, "env"));
    if (state_check(st, doc, "the replacement state", p, e, err) != 0) {
        json_decref(doc);
        rc = HOIST_E_INVALID;
    } else {
        /* saving adds one: the new serial is above both */
        json_int_t mine = json_integer_value(json_object_get(st->doc, "serial"));
        json_int_t theirs = json_integer_value(json_object_get(doc, "serial"));
        json_object_set_new(doc, "serial", json_integer(mine > theirs ? mine : theirs));
        json_decref(st->doc);
        st->doc = doc;
        rc = state_save_locked(st, err);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void hoist_state_set_readonly(hoist_state *st, int ro)
{
    st->readonly = ro;
}

/* Serialise @out (a private copy of the document, consumed) with secrets
 * sealed (or plain with a one-time warning) and hand it to the backend.
 * Called without mu: only warned_plain is shared, and only one thread saves
 * at a time (st->saving). */
static hoist_status state_write(hoist_state *st, json_t *out, char **err)
{
    const char *k;
    json_t *r;
    int plain_secrets = 0;
    json_object_foreach(json_object_get(out, "resources"), k, r) {
        json_t *sec = json_object_get(r, "secrets");
        if (!sec || json_object_size(sec) == 0)
            continue;
        if (st->has_key) {
            char *s = hoist_json_canonical(sec);
            char *sealed = hoist_state_seal(st->key, s);
            OPENSSL_cleanse(s, strlen(s));
            free(s);
            json_object_set_new(r, "secrets_sealed", json_string(sealed));
            free(sealed);
            json_object_del(r, "secrets");
        } else {
            plain_secrets = 1;
        }
    }
    if (plain_secrets && !st->warned_plain) {
        st->warned_plain = 1;
        /* Only the file backend (the one without force_unlock) sets a mode. */
        hoist_log(HOIST_LOG_WARN_, "state",
                  "secrets are stored unsealed in %s%s; set HOIST_STATE_KEY to seal them",
                  st->b->describe(st->b),
                  st->b->force_unlock ? " (readable by whoever can read that bucket)"
                                      : " (mode 0600)");
    }
    char *text = json_dumps(out, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(out);
    hoist_status s = st->b->save(st->b, text, err);
    free(text);
    return s;
}

/*
 * Record the change just made to doc and return once the backend holds it
 * (or a save including it failed).  Caller holds mu.  Group commit: while
 * one thread writes, changes made by others accumulate, and the next write
 * takes them all, so concurrent steps share one serialisation and one
 * fsync instead of queueing for one each behind the lock.  No step returns
 * before its change is durable: "recorded before the call" still holds.
 */
static hoist_status state_save_locked(hoist_state *st, char **err)
{
    if (st->readonly) {
        *err = hoist_xstrdup("internal error: a read-only operation tried to write the state");
        return HOIST_E_INTERNAL;
    }
    long long mine = ++st->changes;
    while (st->saved < mine) {
        if (st->saving) {
            pthread_cond_wait(&st->saved_cv, &st->mu);
            continue;
        }
        st->saving = 1;
        long long upto = st->changes;
        json_object_set_new(st->doc, "serial",
                            json_integer(json_integer_value(json_object_get(st->doc, "serial")) + 1));
        json_t *out = json_deep_copy(st->doc);
        pthread_mutex_unlock(&st->mu);
        hoist_status rc = state_write(st, out, err);
        pthread_mutex_lock(&st->mu);
        st->saving = 0;
        if (rc == HOIST_OK && upto > st->saved)
            st->saved = upto;
        pthread_cond_broadcast(&st->saved_cv);
        if (rc != HOIST_OK)
            return rc; /* waiters retry the save themselves and report their own error */
    }
    return HOIST_OK;
}

json_t *hoist_state_get(hoist_state *st, const char *kind, const char *name)
{
    char *key = hoist_xasprintf("%s/%s", kind, name);
    pthread_mutex_lock(&st->mu);
    json_t *r = json_object_get(json_object_get(st->doc, "resources"), key);
    json_t *copy = r ? json_deep_copy(r) : NULL;
    pthread_mutex_unlock(&st->mu);
    free(key);
    return copy;
}

hoist_status hoist_state_put(hoist_state *st, const char *kind, const char *name,
                             hoist_rstatus status, const char *spec_hash, json_t *spec,
                             json_t *outputs, json_t *secrets, char **err)
{
    char *key = hoist_xasprintf("%s/%s", kind, name);
    char *now = hoist_utc_iso(time(NULL));
    pthread_mutex_lock(&st->mu);
    json_t *res = json_object_get(st->doc, "resources");
    json_t *old = json_object_get(res, key);
    json_t *rec = json_object();
    json_object_set_new(rec, "kind", json_string(kind));
    json_object_set_new(rec, "name", json_string(name));
    json_object_set_new(rec, "status", json_string(hoist_rstatus_name(status)));
    if (spec_hash)
        json_object_set_new(rec, "spec_hash", json_string(spec_hash));
    if (spec)
        json_object_set_new(rec, "spec", json_deep_copy(spec));
    json_t *o = outputs ? outputs : json_object_get(old, "outputs");
    json_object_set_new(rec, "outputs", o ? json_deep_copy(o) : json_object());
    json_t *s = secrets ? secrets : json_object_get(old, "secrets");
    if (s)
        json_object_set_new(rec, "secrets", json_deep_copy(s));
    json_t *created = json_object_get(old, "created_at");
    json_object_set_new(rec, "created_at", created ? json_incref(created) : json_string(now));
    json_object_set_new(rec, "updated_at", json_string(now));
    json_object_set_new(res, key, rec);
    hoist_status rc = state_save_locked(st, err);
    pthread_mutex_unlock(&st->mu);
    free(now);
    free(key);
    return rc;
}

hoist_status hoist_state_set_status(hoist_state *st, const char *kind, const char *name,
                                    hoist_rstatus status, char **err)
{
    char *key = hoist_xasprintf("%s/%s", kind, name);
    hoist_status rc;
    pthread_mutex_lock(&st->mu);
    json_t *r = json_object_get(json_object_get(st->doc, "resources"), key);
    if (!r) {
        *err = hoist_xasprintf("internal error: no state record for %s", key);
        rc = HOIST_E_INTERNAL;
    } else {
        char *now = hoist_utc_iso(time(NULL));
        json_object_set_new(r, "status", json_string(hoist_rstatus_name(status)));
        json_object_set_new(r, "updated_at", json_string(now));
        free(now);
        rc = state_save_locked(st, err);
    }
    pthread_mutex_unlock(&st->mu);
    free(key);
    return rc;
}

hoist_status hoist_state_forget(hoist_state *st, const char *kind, const char *name, char **err)
{
    char *key = hoist_xasprintf("%s/%s", kind, name);
    hoist_status rc = HOIST_OK;
    pthread_mutex_lock(&st->mu);
    if (json_object_del(json_object_get(st->doc, "resources"), key) == 0)
        rc = state_save_locked(st, err);
    pthread_mutex_unlock(&st->mu);
    free(key);
    return rc;
}

int hoist_state_remove_if_empty(hoist_state *st, char **err)
{
    pthread_mutex_lock(&st->mu);
    int empty = json_object_size(json_object_get(st->doc, "resources")) == 0;
    pthread_mutex_unlock(&st->mu);
    if (!empty || !st->b->remove)
        return 0;
    if (st->b->remove(st->b, err) != HOIST_OK)
        return -1;
    hoist_state_set_readonly(st, 1); /* nothing may write it back */
    return 1;
}

char **hoist_state_keys(hoist_state *st)
{
    pthread_mutex_lock(&st->mu);
    json_t *res = json_object_get(st->doc, "resources");
    char **v = hoist_xcalloc(json_object_size(res) + 1, sizeof *v);
    size_t i = 0;
    const char *k;
    json_t *r;
    json_object_foreach(res, k, r) v[i++] = hoist_xstrdup(k);
    pthread_mutex_unlock(&st->mu);
    return v;
}

const char *hoist_state_lineage(hoist_state *st)
{
    return json_string_value(json_object_get(st->doc, "lineage"));
}

long long hoist_state_serial(hoist_state *st)
{
    return json_integer_value(json_object_get(st->doc, "serial"));
}

const char *hoist_state_where(hoist_state *st)
{
    return st->b->describe(st->b);
}
