/*
 * cmd_state.c - `hoist state history|rollback|migrate` and `hoist
 * force-unlock`: looking after an environment's state itself, mostly for the
 * shared (S3) backend.  None of them needs the environment's driver.
 */
#include "cli.h"
#include "log.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hoist.yml and the environment named by -e; EXIT_DONE or the code to leave with. */
static int state_cfg(cli_opts *o, hoist_config **cfg, const hoist_env_cfg **env)
{
    *cfg = cli_load_config(o, NULL);
    if (!*cfg)
        return EXIT_USAGE;
    *env = cli_env(o, *cfg);
    return *env ? EXIT_DONE : EXIT_USAGE;
}

/* Open @env's state through backend @kind (NULL: hoist.yml's), locked for @op when not NULL. */
static hoist_state *state_open(cli_opts *o, hoist_config *cfg, const hoist_env_cfg *env,
                               const char *kind, const char *op)
{
    char *err = NULL;
    hoist_state_backend *b = hoist_state_backend_for(cfg, env, kind, &err);
    hoist_state *st = b ? hoist_state_open(b, cfg->project, env->name, env->provider, &err) : NULL;
    if (st && op && hoist_state_lock(st, op, o->lock_timeout, &err) != HOIST_OK) {
        hoist_state_free(st);
        st = NULL;
    }
    if (!st)
        fprintf(stderr, "hoist: %s\n", err);
    free(err);
    return st;
}

static int state_history(cli_opts *o, hoist_config *cfg, const hoist_env_cfg *env)
{
    hoist_state *st = state_open(o, cfg, env, NULL, NULL);
    if (!st)
        return EXIT_FAILED;
    hoist_state_backend *b = hoist_state_backend_of(st);
    int rc = EXIT_DONE;
    json_t *v = NULL;
    char *err = NULL;
    if (!b->history) {
        fprintf(stderr, "hoist state history: %s is kept by the file backend, which keeps no "
                        "history; `state: {backend: s3, ...}` in hoist.yml keeps the last versions\n",
                hoist_state_where(st));
        rc = EXIT_USAGE;
    } else if (b->history(b, &v, &err) != HOIST_OK) {
        fprintf(stderr, "hoist state history: %s\n", err);
        rc = EXIT_FAILED;
    } else if (strcmp(o->output, "json") == 0) {
        char *s = json_dumps(v, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
    } else {
        size_t i, n = json_array_size(v);
        json_t *e;
        printf("%-8s %-26s %s\n", "SERIAL", "TIME", "WHO");
        for (i = 0; i < n; i++) {
            e = json_array_get(v, i);
            long long serial = json_integer_value(json_object_get(e, "serial"));
            printf("%-8lld %-26s %s%s\n", serial,
                   json_string_value(json_object_get(e, "time")) ?: "?",
                   json_string_value(json_object_get(e, "who")) ?: "?",
                   serial == hoist_state_serial(st) ? "  (current)" : "");
        }
        if (!n)
            printf("(no versions kept yet in %s)\n", hoist_state_where(st));
    }
    json_decref(v);
    free(err);
    hoist_state_free(st);
    return rc;
}

static int state_rollback(cli_opts *o, hoist_config *cfg, const hoist_env_cfg *env)
{
    char *end = NULL;
    long long serial = o->nargs == 2 ? strtoll(o->args[1], &end, 10) : 0;
    if (!end || *end || serial < 1) {
        fprintf(stderr, "usage: hoist state rollback -e ENV SERIAL (a serial listed by `hoist "
                        "state history -e ENV`)\n");
        return EXIT_USAGE;
    }
    hoist_state *st = state_open(o, cfg, env, NULL, "rollback");
    if (!st)
        return EXIT_FAILED;
    hoist_state_backend *b = hoist_state_backend_of(st);
    char *text = NULL, *err = NULL;
    int rc = EXIT_FAILED;
    if (!b->load_version) {
        fprintf(stderr, "hoist state rollback: %s is kept by the file backend, which keeps no "
                        "versions to roll back to\n", hoist_state_where(st));
        rc = EXIT_USAGE;
    } else if (b->load_version(b, serial, &text, &err) != HOIST_OK ||
               hoist_state_replace(st, text, &err) != HOIST_OK) {
        fprintf(stderr, "hoist state rollback: %s\n", err);
    } else {
        printf("Environment '%s': the state of serial %lld is now current, written as serial "
               "%lld in %s (history is kept; run `hoist plan -e %s` to see what a deploy would "
               "change)\n", env->name, serial, hoist_state_serial(st), hoist_state_where(st),
               env->name);
        rc = EXIT_DONE;
    }
    free(text);
    free(err);
    hoist_state_free(st);
    return rc;
}

static int state_migrate(cli_opts *o, hoist_config *cfg, const hoist_env_cfg *env)
{
    const char *to = o->to;
    if (!to || (strcmp(to, "s3") != 0 && strcmp(to, "file") != 0)) {
        fprintf(stderr, "usage: hoist state migrate -e ENV --to s3|file\n");
        return EXIT_USAGE;
    }
    const char *from = strcmp(to, "s3") == 0 ? "file" : "s3";
    int rc = EXIT_FAILED;
    char *text = NULL, *err = NULL, **keys = NULL;
    hoist_state *src = state_open(o, cfg, env, from, "migrate");
    hoist_state *dst = src ? state_open(o, cfg, env, to, "migrate") : NULL;
    if (!dst)
        goto cleanup;
    hoist_state_backend *sb = hoist_state_backend_of(src);
    if (sb->load(sb, &text, &err) != HOIST_OK) {
        fprintf(stderr, "hoist state migrate: %s\n", err);
        goto cleanup;
    }
    if (!text) {
        fprintf(stderr, "hoist state migrate: environment '%s' has no state in %s: nothing to "
                        "copy\n", env->name, hoist_state_where(src));
        goto cleanup;
    }
    keys = hoist_state_keys(dst);
    if (keys[0] && strcmp(hoist_state_lineage(dst), hoist_state_lineage(src)) != 0 && !o->force) {
        fprintf(stderr, "hoist state migrate: %s already holds a different state of environment "
                        "'%s' (lineage %s, serial %lld); nothing was copied; pass --force to "
                        "replace it (its versions stay in the history)\n",
                hoist_state_where(dst), env->name, hoist_state_lineage(dst),
                hoist_state_serial(dst));
        goto cleanup;
    }
    if (hoist_state_replace(dst, text, &err) != HOIST_OK) {
        fprintf(stderr, "hoist state migrate: %s\n", err);
        goto cleanup;
    }
    printf("Environment '%s': state (serial %lld) copied from %s to %s, which now holds serial "
           "%lld.\nThe copy in %s was left as it was; set `state: {backend: %s, ...}` in %s so "
           "that runs use %s.\n", env->name, hoist_state_serial(src), hoist_state_where(src),
           hoist_state_where(dst), hoist_state_serial(dst), hoist_state_where(src), to, o->file,
           hoist_state_where(dst));
    rc = EXIT_DONE;
cleanup:
    hoist_strv_free(keys);
    hoist_state_free(dst);
    hoist_state_free(src);
    free(text);
    free(err);
    return rc;
}

int cmd_state(cli_opts *o)
{
    if (o->nargs < 1) {
        fputs(cli_help_state, stderr);
        return EXIT_USAGE;
    }
    const char *sub = o->args[0];
    if (strcmp(sub, "history") != 0 && strcmp(sub, "rollback") != 0 &&
        strcmp(sub, "migrate") != 0) {
        fprintf(stderr, "hoist state: unknown subcommand '%s'; use history, rollback or "
                        "migrate\n", sub);
        return EXIT_USAGE;
    }
    hoist_config *cfg = NULL;
    const hoist_env_cfg *env = NULL;
    int rc = state_cfg(o, &cfg, &env);
    if (rc == EXIT_DONE)
        rc = strcmp(sub, "history") == 0    ? state_history(o, cfg, env)
             : strcmp(sub, "rollback") == 0 ? state_rollback(o, cfg, env)
                                            : state_migrate(o, cfg, env);
    hoist_config_free(cfg);
    return rc;
}

int cmd_force_unlock(cli_opts *o)
{
    if (o->nargs != 1) {
        fputs(cli_help_force_unlock, stderr);
        return EXIT_USAGE;
    }
    hoist_config *cfg = NULL;
    const hoist_env_cfg *env = NULL;
    int rc = state_cfg(o, &cfg, &env);
    if (rc != EXIT_DONE) {
        hoist_config_free(cfg);
        return rc;
    }
    char *err = NULL, *what = NULL;
    hoist_state_backend *b = hoist_state_backend_for(cfg, env, NULL, &err);
    rc = EXIT_FAILED;
    if (!b) {
        fprintf(stderr, "hoist force-unlock: %s\n", err);
    } else if (!b->force_unlock) {
        fprintf(stderr, "hoist force-unlock: %s is kept by the file backend, whose lock is "
                        "released by the system when its holder exits: nothing to break\n",
                b->describe(b));
        rc = EXIT_USAGE;
    } else if (b->force_unlock(b, o->args[0], o->force, &what, &err) != HOIST_OK) {
        fprintf(stderr, "hoist force-unlock: %s\n", err);
    } else {
        printf("Broke %s on environment '%s'.\n", what, env->name);
        rc = EXIT_DONE;
    }
    if (b)
        b->free(b);
    free(what);
    free(err);
    hoist_config_free(cfg);
    return rc;
}

const char cli_help_state[] =
    "usage: hoist state history -e ENV [-o json]\n"
    "       hoist state rollback -e ENV SERIAL [--lock-timeout S]\n"
    "       hoist state migrate -e ENV --to s3|file [--force] [--lock-timeout S]\n\n"
    "history   lists the kept versions of ENV's state (serial, time, who wrote\n"
    "          it), newest first; the S3 backend keeps the last keep_versions\n"
    "          (default 10) as <prefix>/<env>.json.v<serial>.\n"
    "rollback  makes version SERIAL current again by writing it as a new serial\n"
    "          (history is never rewritten), under the environment's lock.\n"
    "migrate   copies ENV's state from the other backend to the one named by\n"
    "          --to (file: .hoist/state next to hoist.yml; s3: hoist.yml's\n"
    "          `state:` settings), under both locks, re-sealing secrets with the\n"
    "          current HOIST_STATE_KEY, and says where it went.  A different state\n"
    "          already at the destination is replaced only with --force.\n";

const char cli_help_force_unlock[] =
    "usage: hoist force-unlock -e ENV LOCK_ID [--force]\n\n"
    "Breaks the lock LOCK_ID on ENV's shared (S3) state, the only way to\n"
    "break one.  hoist names the lock id when it reports a held or stale lock.\n"
    "Only a lock whose lease expired (its holder stopped renewing it: killed,\n"
    "or lost its network), or whose holder ran on this host and no longer\n"
    "exists, is broken, unless --force: a live holder notices that its lock\n"
    "was broken, starts no new work and fails.\n";
