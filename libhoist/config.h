/*
 * config.h - hoist.yml, parsed with libyaml and validated into a model.
 *
 * Every node of the model remembers where it came from (file, line, column)
 * so that later stages (provider checks, plan) can point back at hoist.yml.
 */
#ifndef HOIST_CONFIG_H
#define HOIST_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include <hoist/provider.h>

typedef struct hoist_loc {
    const char *file; /* borrowed from the model */
    int line;         /* 1-based; 0 = unknown */
    int col;          /* 1-based */
} hoist_loc;

typedef enum { HOIST_DB_POSTGRESQL, HOIST_DB_MYSQL, HOIST_DB_REDIS, HOIST_DB_MONGODB } hoist_db_engine;
typedef enum { HOIST_DB_MANAGED, HOIST_DB_CONTAINER } hoist_db_mode;

typedef struct hoist_env_cfg {
    char *name;
    char *provider;  /* driver name, e.g. "aws" */
    char *region;    /* may be NULL */
    int protected_;  /* `protected: true`: destroy needs --force */
    json_t *settings; /* everything under the environment (provider settings, endpoint,
                         region, cluster...) as JSON, ${VAR} expanded; owned */
    json_t *cluster;  /* the `cluster:` mapping as JSON or NULL; borrowed from settings */
    hoist_loc loc;
    hoist_loc provider_loc;
} hoist_env_cfg;

typedef struct hoist_db_cfg {
    char *name;
    hoist_db_engine engine;
    char *version;   /* may be NULL: the provider's default */
    hoist_db_mode mode;
    char *size;      /* small|medium|large or a provider slug; may be NULL */
    int storage_gb;  /* 0 = default */
    json_t *spec;    /* the whole mapping as JSON with defaults applied; owned */
    hoist_loc loc;
} hoist_db_cfg;

typedef struct hoist_app_cfg {
    char *name;
    char *path;      /* source directory, resolved against hoist.yml's directory; or NULL */
    char *image;     /* prebuilt image reference; or NULL (exactly one of path/image) */
    int port;        /* 1..65535; 0 = none (a worker) */
    int min_instances, max_instances;
    char *healthcheck; /* path such as /health, or NULL */
    int public_;
    json_t *env;       /* object of string -> string, ${VAR} expanded; owned */
    char **databases;  /* NULL-terminated names of databases this app uses */
    char **domains;    /* NULL-terminated, may be empty */
    json_t *build;     /* the `build:` mapping or NULL; borrowed from spec */
    json_t *spec;      /* the whole mapping as JSON with defaults applied; owned */
    hoist_loc loc;
} hoist_app_cfg;

typedef struct hoist_config {
    char *file;        /* path as given */
    char *dir;         /* directory of the file, for relative paths */
    char *project;
    hoist_env_cfg *envs;
    size_t n_envs;
    hoist_db_cfg *dbs;
    size_t n_dbs;
    hoist_app_cfg *apps;
    size_t n_apps;
    json_t *state;     /* `state:` mapping or NULL (backend settings); owned */
} hoist_config;

/* One diagnostic: "file:line:col: message". */
typedef struct hoist_diag {
    hoist_loc loc;     /* loc.file points at @file */
    char *message;     /* owned; registered secrets already redacted */
    char *file;        /* owned copy of the file name: diagnostics outlive the model */
} hoist_diag;

typedef struct hoist_diags {
    hoist_diag *v;
    size_t n, cap;
} hoist_diags;

/*
 * Callback that tells the validator whether @provider, named by environment
 * @env, is installed (the CLI passes one backed by the loader; tests pass
 * their own).  Returns 1 if it can be loaded, or if the caller does not care
 * about that environment (`deploy -e dev` needs only dev's driver, while
 * `validate` checks them all).  May be NULL: providers are then not checked.
 */
typedef int (*hoist_provider_exists_fn)(const char *env, const char *provider, void *arg);

/*
 * Callback that hands the validator the settings schema of @provider, named
 * by environment @env (ABI 1.3, see hoist_setting in hoist/provider.h), so
 * that keys neither hoist's nor the driver's are reported.  Returns the
 * NULL-name-terminated array, borrowed until hoist_config_load returns, or
 * NULL when there is none to check against: the driver declares no schema
 * (built against ABI 1.2 or older), cannot be loaded, or the caller does not
 * care about @env.  Then *@why may say why, for the -v note listing the keys
 * left unchecked (borrowed until the next call; left NULL: no note).
 */
typedef const hoist_setting *(*hoist_provider_settings_fn)(const char *env, const char *provider,
                                                            void *arg, const char **why);

/* What the validator asks the caller about drivers; every member may be NULL. */
typedef struct hoist_config_hooks {
    hoist_provider_exists_fn exists;
    hoist_provider_settings_fn settings;
    void *arg; /* passed to both */
} hoist_config_hooks;

/*
 * hoist_config_load - parse and validate @path.
 * Every problem in the file is appended to @diags (all of them, not just the
 * first).  Returns a new model (free with hoist_config_free) when there were
 * no errors, NULL otherwise.  ${VAR} references are expanded from the process
 * environment; expanded values are registered as secrets.
 */
hoist_config *hoist_config_load(const char *path, hoist_provider_exists_fn exists, void *arg,
                                hoist_diags *diags);

/* Same, from a buffer; @name is used in diagnostics. */
hoist_config *hoist_config_parse(const char *name, const char *buf, size_t len,
                                 hoist_provider_exists_fn exists, void *arg, hoist_diags *diags);

/* Same as the two above, with the settings schema hook as well; @h may be NULL. */
hoist_config *hoist_config_load_hooks(const char *path, const hoist_config_hooks *h,
                                      hoist_diags *diags);
hoist_config *hoist_config_parse_hooks(const char *name, const char *buf, size_t len,
                                       const hoist_config_hooks *h, hoist_diags *diags);

void hoist_config_free(hoist_config *cfg);

const hoist_env_cfg *hoist_config_env(const hoist_config *cfg, const char *name);
const hoist_db_cfg *hoist_config_db(const hoist_config *cfg, const char *name);

const char *hoist_db_engine_name(hoist_db_engine e);

/*
 * hoist_app_build_step - the argv of @app's build step, the same for every
 * runtime (the local provider and the native image builder): `build.command`
 * when given; else, for a source directory, `npm ci` when it holds
 * package-lock.json or npm-shrinkwrap.json, `npm install` when it holds
 * package.json; else none.  The step runs in a copy of the directory.
 * Returns a new reference to a JSON array of strings, or NULL (no build
 * step).  Reads @app->path only; thread-safe.
 */
json_t *hoist_app_build_step(const hoist_app_cfg *app);

/*
 * hoist_app_start_command - the argv that starts @app, the same for every
 * runtime: `command` when given; else, for a source directory whose
 * package.json has a "start" script, `npm start`; else its "main" file,
 * `node <main>`; else NULL (an image keeps its base's Cmd/Entrypoint).
 * Returns a new reference to a JSON array of strings, or NULL.  Reads
 * @app->path/package.json only; thread-safe.
 */
json_t *hoist_app_start_command(const hoist_app_cfg *app);

/* Diagnostics: add (printf-style), print "file:line:col: error: msg" lines, free. */
void hoist_diags_add(hoist_diags *d, hoist_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hoist_diags_print(const hoist_diags *d, FILE *fp);
void hoist_diags_free(hoist_diags *d);

#endif
