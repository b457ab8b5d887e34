/* cmd_build.c - `hoist build`: build application images, optionally push them. */
#include "cli.h"
#include "host.h"
#include "log.h"
#include "oci.h"
#include "registry.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Split --registry URL ("http://127.0.0.1:5000/team") into endpoint and
   repository namespace ("team", or NULL). */
static void split_registry(const char *url, char **endpoint, char **ns)
{
    const char *s = strstr(url, "://");
    const char *host = s ? s + 3 : url;
    const char *slash = strchr(host, '/');
    *endpoint = slash ? hoist_xstrndup(url, (size_t)(slash - url)) : hoist_xstrdup(url);
    *ns = NULL;
    if (slash) {
        size_t n = strlen(slash + 1);
        while (n && slash[1 + n - 1] == '/')
            n--;
        if (n)
            *ns = hoist_xstrndup(slash + 1, n);
    }
}

static int selected(const cli_opts *o, const char *name)
{
    if (!o->nargs)
        return 1;
    for (int i = 0; i < o->nargs; i++)
        if (!strcmp(o->args[i], name))
            return 1;
    return 0;
}

int cmd_build(cli_opts *o)
{
    int rc = EXIT_DONE;
    hoist_loader *l = hoist_loader_new(o->provider_dir);
    hoist_config *cfg = cli_load_config(o, l);
    char *endpoint = NULL, *ns = NULL, *user = NULL, *pass = NULL;
    json_t *all = json_array();
    if (!cfg) {
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (o->env && !cli_env(o, cfg)) {
        rc = EXIT_USAGE;
        goto cleanup;
    }
    for (int i = 0; i < o->nargs; i++) {
        size_t k = 0;
        while (k < cfg->n_apps && strcmp(cfg->apps[k].name, o->args[i]) != 0)
            k++;
        if (k == cfg->n_apps) {
            fprintf(stderr, "hoist build: %s has no application '%s'\n", o->file, o->args[i]);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (o->push && !o->registry) {
        /* The pipeline asks the environment's driver for its registry
           (registry ensure + credentials); standalone, name one. */
        fprintf(stderr, "hoist build: --push needs --registry URL (e.g. "
                        "https://registry.example.com/team); credentials come from Docker's "
                        "config.json ($DOCKER_CONFIG or ~/.docker/config.json)\n");
        rc = EXIT_USAGE;
        goto cleanup;
    }
    hoist_registry_credentials dest = {.struct_size = sizeof dest};
    if (o->registry) {
        split_registry(o->registry, &endpoint, &ns);
        const char *s = strstr(endpoint, "://");
        hoist_docker_config_auth(s ? s + 3 : endpoint, &user, &pass);
        dest.endpoint = endpoint;
        dest.username = user;
        dest.password = pass;
    }
    hoist_image_opts opts = {.registry = o->registry ? &dest : NULL, .force = o->force};
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const hoist_app_cfg *app = &cfg->apps[i];
        if (!selected(o, app->name))
            continue;
        hoist_ctx ctx;
        hoist_ctx_init(&ctx, NULL, NULL);
        hoist_image img;
        hoist_image_pushed pushed = {0};
        long long t0 = hoist_now_ms();
        hoist_status st = hoist_image_build(&ctx, cfg, app, &opts, &img);
        long long t1 = hoist_now_ms();
        char *repo = NULL;
        if (st == HOIST_OK && o->push) {
            repo = ns ? hoist_xasprintf("%s/%s", ns, app->name)
                      : hoist_xasprintf("%s/%s", cfg->project, app->name);
            dest.repository = repo;
            st = hoist_image_push(&ctx, &img, &opts, &dest, &pushed);
        }
        long long t2 = hoist_now_ms();
        if (st != HOIST_OK) {
            char *msg = hoist_redact(hoist_ctx_error(&ctx) ? hoist_ctx_error(&ctx) : "failed");
            fprintf(stderr, "hoist build: %s: %s\n", app->name, msg);
            free(msg);
            rc = EXIT_FAILED;
        } else {
            char *local = img.prebuilt ? NULL
                                       : hoist_xasprintf("oci:%s:%s-%s", img.cache_dir,
                                                         app->name, img.tag);
            const char *ref = pushed.reference ? pushed.reference
                            : img.prebuilt     ? img.prebuilt : local;
            json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I, s:I}", "app", app->name,
                                  "builder", img.builder, "reference", ref, "digest",
                                  img.manifest_digest, "cached", img.cached, "build_ms",
                                  (json_int_t)(t1 - t0), "push_ms", (json_int_t)(t2 - t1));
            if (o->push && !img.prebuilt)
                json_object_set_new(j, "push",
                                    json_pack("{s:s, s:i, s:i, s:i, s:b}", "digest_reference",
                                              pushed.digest_reference, "uploaded",
                                              pushed.uploaded, "mounted", pushed.mounted,
                                              "existing", pushed.existing, "manifest_existed",
                                              pushed.manifest_existed));
            json_array_append_new(all, j);
            if (strcmp(o->output, "json") != 0) {
                printf("%s\t%s\t%s\t%s", app->name, ref,
                       img.manifest_digest ? img.manifest_digest : "-",
                       img.prebuilt ? "prebuilt (not built)" : img.cached ? "cached" : "built");
                if (o->push && !img.prebuilt) {
                    if (pushed.manifest_existed)
                        printf(", already in the registry");
                    else
                        printf(", pushed: %d uploaded, %d mounted, %d present", pushed.uploaded,
                               pushed.mounted, pushed.existing);
                }
                putchar('\n');
            }
            free(local);
        }
        free(repo);
        hoist_image_pushed_clear(&pushed);
        hoist_image_clear(&img);
        hoist_ctx_cleanup(&ctx);
    }
    if (!strcmp(o->output, "json")) {
        char *s = json_dumps(all, JSON_INDENT(2));
        puts(s);
        free(s);
    }
cleanup:
    json_decref(all);
    free(endpoint);
    free(ns);
    free(user);
    free(pass);
    hoist_config_free(cfg);
    hoist_loader_free(l);
    return rc;
}
