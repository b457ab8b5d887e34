/* cmd_providers.c - `hoist providers` and `hoist validate`. */
#include "cli.h"
#include "driver.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct exists_arg {
    hoist_loader *l;
    const char *env;      /* only this environment's driver must exist; NULL: all */
    hoist_driver **open;  /* drivers opened for their settings schema, closed after the load */
    size_t n_open;
    char *why;            /* the last "not checked" reason handed out */
} exists_arg;

static int exists_cb(const char *env, const char *provider, void *arg)
{
    const exists_arg *a = arg;
    if (a->env && strcmp(a->env, env) != 0)
        return 1;
    return hoist_loader_exists(a->l, provider);
}

/* The schema of @provider's driver, opened (not initialised) for it. */
static const hoist_setting *settings_cb(const char *env, const char *provider, void *arg,
                                        const char **why)
{
    exists_arg *a = arg;
    if (a->env && strcmp(a->env, env) != 0)
        return NULL; /* not this command's environment: its driver is not loaded */
    hoist_driver *d = NULL;
    for (size_t i = 0; i < a->n_open && !d; i++)
        if (!strcmp(a->open[i]->name, provider))
            d = a->open[i];
    free(a->why);
    a->why = NULL;
    if (!d) {
        char *err = NULL;
        if (hoist_loader_open(a->l, provider, &d, &err) != HOIST_OK) {
            /* Reported where the driver is used (or by exists_cb). */
            a->why = hoist_xasprintf("driver '%s' not loaded", provider);
            free(err);
            *why = a->why;
            return NULL;
        }
        a->open = hoist_xrealloc(a->open, (a->n_open + 1) * sizeof *a->open);
        a->open[a->n_open++] = d;
    }
    const hoist_setting *s = hoist_descriptor_settings(d->desc);
    if (!s) {
        a->why = hoist_xasprintf("driver '%s' was built against provider ABI %u.%u, which has "
                                 "no settings schema",
                                 provider, d->desc->abi_major, d->desc->abi_minor);
        *why = a->why;
    }
    return s;
}

hoist_config *cli_load_config(cli_opts *o, hoist_loader *l)
{
    hoist_diags d = {0};
    exists_arg a = {.l = l, .env = o->env};
    hoist_config_hooks h = {.exists = l ? exists_cb : NULL, .settings = l ? settings_cb : NULL,
                            .arg = &a};
    hoist_config *cfg = hoist_config_load_hooks(o->file, &h, &d);
    for (size_t i = 0; i < a.n_open; i++)
        hoist_driver_free(a.open[i]);
    free(a.open);
    free(a.why);
    hoist_diags_print(&d, stderr);
    if (!cfg && d.n)
        fprintf(stderr, "hoist: %s: %zu error%s; nothing was changed\n", o->file, d.n,
                d.n == 1 ? "" : "s");
    hoist_diags_free(&d);
    return cfg;
}

const hoist_env_cfg *cli_env(cli_opts *o, const hoist_config *cfg)
{
    if (!o->env) {
        fprintf(stderr, "hoist: which environment? pass -e ENV; %s defines:", o->file);
        for (size_t i = 0; i < cfg->n_envs; i++)
            fprintf(stderr, " %s", cfg->envs[i].name);
        fputc('\n', stderr);
        return NULL;
    }
    const hoist_env_cfg *e = hoist_config_env(cfg, o->env);
    if (!e) {
        hoist_suggest s;
        hoist_suggest_init(&s, o->env);
        fprintf(stderr, "hoist: %s has no environment '%s'; it defines:", o->file, o->env);
        for (size_t i = 0; i < cfg->n_envs; i++) {
            fprintf(stderr, " %s", cfg->envs[i].name);
            hoist_suggest_try(&s, cfg->envs[i].name);
        }
        if (s.best)
            fprintf(stderr, "; did you mean '%s'?", s.best);
        fputc('\n', stderr);
    }
    return e;
}

/* validate -o json: one document, {file, valid, errors: [...]} plus counts when valid. */
static int validate_json(cli_opts *o, hoist_loader *l)
{
    hoist_diags d = {0};
    exists_arg a = {.l = l, .env = o->env};
    hoist_config *cfg = hoist_config_load(o->file, exists_cb, &a, &d);
    json_t *errs = json_array();
    for (size_t i = 0; i < d.n; i++) {
        const hoist_diag *g = &d.v[i];
        json_t *e = json_pack("{s:s,s:s}", "file", g->loc.file ? g->loc.file : o->file,
                              "message", g->message);
        if (g->loc.line > 0) {
            json_object_set_new(e, "line", json_integer(g->loc.line));
            json_object_set_new(e, "column", json_integer(g->loc.col));
        }
        json_array_append_new(errs, e);
    }
    json_t *doc = json_pack("{s:s,s:b,s:o}", "file", o->file, "valid", cfg != NULL, "errors", errs);
    if (cfg) {
        json_object_set_new(doc, "project", json_string(cfg->project));
        json_object_set_new(doc, "environments", json_integer((json_int_t)cfg->n_envs));
        json_object_set_new(doc, "databases", json_integer((json_int_t)cfg->n_dbs));
        json_object_set_new(doc, "applications", json_integer((json_int_t)cfg->n_apps));
    }
    char *s = json_dumps(doc, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(doc);
    hoist_diags_free(&d);
    int rc = cfg ? EXIT_DONE : EXIT_USAGE;
    hoist_config_free(cfg);
    return rc;
}

int cmd_validate(cli_opts *o)
{
    hoist_loader *l = hoist_loader_new(o->provider_dir);
    if (strcmp(o->output, "json") == 0) {
        int rc = validate_json(o, l);
        hoist_loader_free(l);
        return rc;
    }
    hoist_config *cfg = cli_load_config(o, l);
    hoist_loader_free(l);
    if (!cfg)
        return EXIT_USAGE;
    printf("%s: valid: project '%s', %zu environment%s, %zu database%s, %zu application%s\n",
           o->file, cfg->project, cfg->n_envs, cfg->n_envs == 1 ? "" : "s", cfg->n_dbs,
           cfg->n_dbs == 1 ? "" : "s", cfg->n_apps, cfg->n_apps == 1 ? "" : "s");
    hoist_config_free(cfg);
    return EXIT_DONE;
}

static void print_ops(const hoist_driver *d)
{
    static const hoist_kind kinds[] = {HOIST_KIND_NETWORK, HOIST_KIND_CLUSTER, HOIST_KIND_REGISTRY,
                                       HOIST_KIND_DATABASE, HOIST_KIND_APP};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        printf("  %-9s %s\n", hoist_kind_name(kinds[i]),
               hoist_driver_offers_kind(d, kinds[i]) ? "offered" : "not offered");
}

/* The keys the driver declares for hoist.yml (ABI 1.3), with their docs. */
static void print_settings(const hoist_provider_descriptor *desc)
{
    static const char *const types[] = {"any", "string", "integer", "boolean", "mapping",
                                        "sequence"};
    const hoist_setting *s = hoist_descriptor_settings(desc);
    if (!s) {
        printf("settings:    not declared (provider ABI %u.%u): hoist.yml keys unchecked\n",
               desc->abi_major, desc->abi_minor);
        return;
    }
    printf("settings:%s\n", s->name ? "" : "    none");
    for (; s->name; s++)
        printf("  %-24s %-8s %s\n", s->name, s->type < 6 ? types[s->type] : "?",
               s->doc ? s->doc : "");
}

static int providers_info(cli_opts *o, hoist_loader *l, const char *name)
{
    hoist_driver *d;
    char *err;
    if (hoist_loader_open(l, name, &d, &err) != HOIST_OK) {
        hoist_log(HOIST_LOG_ERROR_, NULL, "%s", err);
        free(err);
        return EXIT_FAILED;
    }
    char *tmp = hoist_xstrdup("/tmp/hoist-providers-info-XXXXXX");
    int have_tmp = mkdtemp(tmp) != NULL;
    hoist_status st = hoist_driver_init(d, NULL, have_tmp ? tmp : NULL, &err);
    printf("name:        %s\nversion:     %s\nABI:         %u.%u\nlicense:     %s\n"
           "description: %s\nfile:        %s\n",
           d->desc->name, d->desc->version, d->desc->abi_major, d->desc->abi_minor,
           d->desc->license, d->desc->description ? d->desc->description : "", d->path);
    int rc = EXIT_DONE;
    char *caps = hoist_caps_string(d->desc->caps);
    printf("caps:        %s\n", *caps ? caps : "(none)");
    free(caps);
    print_settings(d->desc);
    if (st == HOIST_OK) {
        printf("operations:\n");
        print_ops(d);
    } else {
        /* Without settings some drivers cannot start (no credentials): say so, not fail.
         * The message is the driver's own, so it is redacted like every log line. */
        char *safe = hoist_redact(err);
        printf("operations:  unknown until configured (%s)\n", safe);
        free(safe);
        free(err);
    }
    hoist_driver_free(d);
    if (have_tmp) {
        char *cmd = hoist_xasprintf("rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            rc = EXIT_FAILED;
        free(cmd);
    }
    free(tmp);
    (void)o;
    return rc;
}

int cmd_providers(cli_opts *o)
{
    hoist_loader *l = hoist_loader_new(o->provider_dir);
    int rc = EXIT_DONE;
    if (o->nargs >= 1 && strcmp(o->args[0], "info") == 0) {
        if (o->nargs != 2) {
            fprintf(stderr, "usage: hoist providers info NAME\n");
            rc = EXIT_USAGE;
        } else {
            rc = providers_info(o, l, o->args[1]);
        }
        hoist_loader_free(l);
        return rc;
    }
    if (o->nargs) {
        fprintf(stderr, "hoist providers: unexpected '%s'; see 'hoist help providers'\n", o->args[0]);
        hoist_loader_free(l);
        return EXIT_USAGE;
    }
    char **names = hoist_loader_list(l);
    int json = strcmp(o->output, "json") == 0;
    json_t *arr = json_array();
    if (!json)
        printf("%-14s %-9s %-5s %s\n", "NAME", "VERSION", "ABI", "FILE");
    for (char **n = names; *n; n++) {
        hoist_driver *d;
        char *err;
        if (hoist_loader_open(l, *n, &d, &err) != HOIST_OK) {
            if (json)
                json_array_append_new(arr, json_pack("{s:s,s:s}", "name", *n, "error", err));
            else
                printf("%-14s %-9s %-5s refused: %s\n", *n, "-", "-", err);
            free(err);
            rc = EXIT_FAILED;
            continue;
        }
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", d->desc->abi_major, d->desc->abi_minor);
        char *caps = hoist_caps_string(d->desc->caps);
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", *n,
                                                 "version", d->desc->version, "abi", abi,
                                                 "license", d->desc->license, "caps", caps,
                                                 "path", d->path));
        else
            printf("%-14s %-9s %-5s %s\n%14s caps: %s\n", *n, d->desc->version, abi, d->path, "",
                   *caps ? caps : "(none)");
        free(caps);
        hoist_driver_free(d);
    }
    if (!names[0] && !json) {
        printf("(no drivers found; searched:");
        for (const char *const *dir = hoist_loader_dirs(l); *dir; dir++)
            printf(" %s", *dir);
        printf(")\n");
    }
    if (json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        puts(s);
        free(s);
    }
    json_decref(arr);
    hoist_strv_free(names);
    hoist_loader_free(l);
    return rc;
}
