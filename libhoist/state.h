/*
 * state.h - what hoist recorded about one environment: which resources
 * exist, in which status, with which spec, outputs and secrets.
 *
 * Storage goes through a backend (a table of function pointers) so a remote
 * backend (S3 with a lock object) can be added without touching callers.
 * The file backend keeps `.hoist/state/<env>.json` next to hoist.yml,
 * written atomically (temp, fsync, rename, fsync dir; mode 0600) and locked
 * with flock(2) on `<env>.lock`.
 *
 * Document (format 1):
 *   {"format":1, "lineage":"<uuid>", "serial":N, "project":..., "env":...,
 *    "provider":..., "resources": {"<kind>/<name>": {"kind","name","status",
 *    "spec_hash","spec","outputs","secrets" | "secrets_sealed",
 *    "created_at","updated_at"}}}
 * Secrets are sealed with AES-256-GCM when HOIST_STATE_KEY (64 hex chars or
 * base64 of 32 bytes) or HOIST_STATE_KEY_FILE is set.
 */
#ifndef HOIST_STATE_H
#define HOIST_STATE_H

#include <hoist/provider.h>
#include <jansson.h>

#include "util.h"

#define HOIST_STATE_FORMAT 1

/* Resource status as recorded.  The string forms are what the file holds. */
typedef enum hoist_rstatus {
    HOIST_RS_CREATE_REQUESTED, /* recorded before the first ensure: a crash re-ensures */
    HOIST_RS_PENDING,          /* ensure answered PENDING, or an update is in flight */
    HOIST_RS_READY,
    HOIST_RS_DESTROY_REQUESTED, /* recorded before destroy: a crash re-destroys */
    HOIST_RS_PAUSED
} hoist_rstatus;

const char *hoist_rstatus_name(hoist_rstatus s);
/* Parse a status name; -1 if unknown. */
int hoist_rstatus_parse(const char *s);

/*
 * hoist_state_backend - where a state document lives.  Every member returns
 * HOIST_OK or an error with *err set to one clear message (caller frees).
 * Not thread-safe by itself: hoist_state serialises calls.
 *   load:   *text = the stored document (new string) or NULL when none exists.
 *   save:   store @text atomically (a reader sees the old or the new one).
 *   lock:   take the environment's exclusive lock for @operation, waiting up
 *           to @timeout_s seconds (0 = fail at once, naming the holder).
 *   unlock: release it (NULL-safe to call when not held).
 *   free:   release the backend (unlocks first).
 *   describe: where the document lives, for messages (borrowed).
 */
typedef struct hoist_state_backend {
    hoist_status (*load)(struct hoist_state_backend *b, char **text, char **err);
    hoist_status (*save)(struct hoist_state_backend *b, const char *text, char **err);
    hoist_status (*lock)(struct hoist_state_backend *b, const char *operation, double timeout_s,
                         char **err);
    void (*unlock)(struct hoist_state_backend *b);
    void (*free)(struct hoist_state_backend *b);
    const char *(*describe)(struct hoist_state_backend *b);
    void *data;
    /* Optional members (NULL when the backend has no such feature):
     *   history:      *versions = new array of {"serial","time","who"}, newest first.
     *   load_version: *text = the stored document of @serial (new string).
     *   force_unlock: break the lock whose id is @lock_id; only an expired
     *                 lease unless @force.  *what = a description of what was
     *                 broken (new string).
     *   set_cancel:   @flag is set to 1 when the lock is lost while held, so
     *                 the run starts no new work (borrowed; must outlive the lock).
     *   lost:         1 once the held lock was lost (saves then fail).
 *   remove:       delete the document and the lock of an environment that
 *                 holds nothing (the caller holds the lock).  The file
 *                 backend has it; S3 keeps its document and versions. */
    hoist_status (*history)(struct hoist_state_backend *b, json_t **versions, char **err);
    hoist_status (*load_version)(struct hoist_state_backend *b, long long serial, char **text,
                                 char **err);
    hoist_status (*force_unlock)(struct hoist_state_backend *b, const char *lock_id, int force,
                                 char **what, char **err);
    void (*set_cancel)(struct hoist_state_backend *b, hoist_flag *flag);
    int (*lost)(struct hoist_state_backend *b);
    hoist_status (*remove)(struct hoist_state_backend *b, char **err);
} hoist_state_backend;

/*
 * hoist_state_s3_backend - the S3 backend for @env.  @settings: the merged
 * `state:` mapping (bucket, prefix, region, endpoint, access_key,
 * secret_key, profile, lease, keep_versions); borrowed.  Objects:
 * <prefix>/<env>.json (written with If-Match on the ETag read, or
 * If-None-Match: * when there was none), <prefix>/<env>.json.v<serial>
 * (the last keep_versions versions) and <prefix>/<env>.lock (created with
 * If-None-Match: *, its lease renewed by a thread with If-Match).
 * Returns a new backend, or NULL with *err set (bad settings, no credentials).
 */
hoist_state_backend *hoist_state_s3_backend(json_t *settings, const char *env, char **err);

struct hoist_config;
struct hoist_env_cfg;
/*
 * hoist_state_backend_for - the backend hoist.yml chooses for @env: the
 * top-level `state:` mapping with the environment's `state:` keys over it;
 * `backend: file` (the default) or `backend: s3`.  @kind, when not NULL,
 * overrides the backend name (for `hoist state migrate`).  Returns a new
 * backend or NULL with *err set.
 */
hoist_state_backend *hoist_state_backend_for(const struct hoist_config *cfg,
                                             const struct hoist_env_cfg *env, const char *kind,
                                             char **err);

/*
 * hoist_state_file_backend - the file backend for @env under @dir
 * (normally "<dir of hoist.yml>/.hoist/state").  The directory is created
 * (0700) on first save or lock.  Returns a new backend; never NULL.
 */
hoist_state_backend *hoist_state_file_backend(const char *dir, const char *env);

typedef struct hoist_state hoist_state;

/*
 * hoist_state_open - load the document through @b (taking ownership of @b).
 * A missing document starts an empty one (new lineage, serial 0; nothing is
 * written until the first change).  A corrupt document, one with a newer
 * format, or one for another project/env is refused: returns NULL with *err
 * set, and the stored document is left untouched (@b is freed).
 * @project, @env, @provider are recorded in a new document.
 * The sealing key comes from HOIST_STATE_KEY / HOIST_STATE_KEY_FILE.
 */
hoist_state *hoist_state_open(hoist_state_backend *b, const char *project, const char *env,
                              const char *provider, char **err);
/* Unlock (if locked) and free.  NULL-safe. */
void hoist_state_free(hoist_state *st);

/* Take/release the exclusive lock (see backend->lock). */
hoist_status hoist_state_lock(hoist_state *st, const char *operation, double timeout_s, char **err);

/*
 * hoist_state_replace - make @text (a stored document of this environment,
 * e.g. an older version or another backend's copy) the current state and
 * save it as the next serial (max of both serials + 1), re-sealing secrets
 * with the current key.  The caller holds the lock.  Thread-safe.
 */
hoist_status hoist_state_replace(hoist_state *st, const char *text, char **err);
/* The backend (borrowed), for its optional members. */
hoist_state_backend *hoist_state_backend_of(hoist_state *st);

/* Make writes fail instead of storing (plan, status).  Asserted by tests. */
void hoist_state_set_readonly(hoist_state *st, int ro);

/*
 * hoist_state_get - a deep copy of the record for @kind/@name (new
 * reference, secrets unsealed under "secrets"), or NULL.  Thread-safe.
 */
json_t *hoist_state_get(hoist_state *st, const char *kind, const char *name);

/*
 * hoist_state_put - replace the record for @kind/@name and save at once.
 * @spec, @outputs, @secrets are borrowed (copied); NULL @outputs/@secrets
 * keep the previously recorded ones.  Thread-safe.  Returns HOIST_OK or an
 * error with *err set (the in-memory record is updated anyway, so a later
 * save may still succeed).
 */
hoist_status hoist_state_put(hoist_state *st, const char *kind, const char *name,
                             hoist_rstatus status, const char *spec_hash, json_t *spec,
                             json_t *outputs, json_t *secrets, char **err);
/* Change only the status; error if no record exists.  Thread-safe. */
hoist_status hoist_state_set_status(hoist_state *st, const char *kind, const char *name,
                                    hoist_rstatus status, char **err);
/* Remove the record and save.  Thread-safe. */
hoist_status hoist_state_forget(hoist_state *st, const char *kind, const char *name, char **err);

/*
 * hoist_state_remove_if_empty - after a destroy: when @st records no
 * resource and its backend can (file), delete the stored document and its
 * lock, and make @st read-only.  Call with the lock held.  1 removed, 0
 * kept (resources left, or a backend that keeps its history), -1 with *err.
 */
int hoist_state_remove_if_empty(hoist_state *st, char **err);

/* Keys ("kind/name") of every record, NULL-terminated; free with hoist_strv_free. */
char **hoist_state_keys(hoist_state *st);
/* Borrowed views for reporting (valid until the next put/forget). */
const char *hoist_state_lineage(hoist_state *st);
long long hoist_state_serial(hoist_state *st);
const char *hoist_state_where(hoist_state *st);

/* Sealing primitives, exported for tests: key from the environment (32 bytes
 * into @key; returns 1 if a key is configured, 0 if none, -1 with *err when
 * the variable is malformed). */
int hoist_state_key_from_env(unsigned char key[32], char **err);
char *hoist_state_seal(const unsigned char key[32], const char *plain);
char *hoist_state_unseal(const unsigned char key[32], const char *sealed, char **err);

/* SHA-256 of @j's canonical JSON (sorted keys, compact) as 64 hex chars; new string. */
char *hoist_json_sha256(const json_t *j);
/* Canonical JSON (sorted keys, compact) of @j (new string). */
char *hoist_json_canonical(const json_t *j);

#endif
