/*
 * imagexec.c - the "image" executor: the pipeline's image/<app> nodes build
 * the app's image (libhoist/oci.c) and push it to the repository that the
 * node's registry/<app> need created, with the driver's registry
 * credentials.  Content-addressed tags make an unchanged app cost only the
 * registry's HEAD answers.
 */
#include "imagexec.h"
#include "driver.h"
#include "graph.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "oci.h"
#include "registry.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The driver's credentials for the repository registry/<app> (recorded in @r->needs). */
static hoist_status repo_credentials(hoist_driver *drv, hoist_ctx *ctx, const hoist_node *n,
                                     const hoist_resource *r, hoist_registry_credentials *out)
{
    out->struct_size = sizeof *out;
    if (!hoist_driver_offers(drv, HOIST_KIND_REGISTRY, HOIST_OP_CREDENTIALS))
        return hoist_ctx_fail(ctx, HOIST_E_UNSUPPORTED,
                              "provider '%s' gives no registry credentials, so the image of "
                              "'%s' cannot be pushed", drv ? drv->name : "?", n->name);
    json_t *recorded = json_object_get(json_object_get(r->needs, "registry"), n->name);
    json_t *spec = json_object();
    json_t *needs = json_object();
    hoist_resource rr = {.struct_size = sizeof rr, .project = r->project, .env = r->env,
                         .name = n->name, .spec = spec, .needs = needs, .recorded = recorded};
    /* The door checks the endpoint and repository are there and well-formed. */
    hoist_status st = hoist_driver_registry_credentials(drv, ctx, &rr, out);
    json_decref(spec);
    json_decref(needs);
    if (st == HOIST_OK) {
        hoist_secret_add(out->password);
    } else if (!hoist_ctx_error(ctx)) {
        hoist_ctx_fail(ctx, st, "cannot get the registry credentials for '%s': %s", n->name,
                       hoist_status_name(st));
    }
    return st;
}

static hoist_status image_ensure(void *self, hoist_driver *drv, hoist_ctx *ctx,
                                 const hoist_node *n, const hoist_resource *r, hoist_result *out)
{
    (void)self;
    hoist_registry_credentials creds = {.struct_size = sizeof creds};
    hoist_image img = {0};
    hoist_image_pushed pushed = {0};
    hoist_status st = repo_credentials(drv, ctx, n, r, &creds);
    if (st != HOIST_OK)
        goto cleanup;
    hoist_image_opts opts = {.registry = &creds};
    st = hoist_image_build(ctx, n->cfg, n->app, &opts, &img);
    if (st != HOIST_OK)
        goto cleanup;
    st = hoist_image_push(ctx, &img, &opts, &creds, &pushed);
    if (st != HOIST_OK)
        goto cleanup;
    out->outputs = json_pack("{s:s,s:s?,s:s?,s:s,s:b}", "reference",
                             pushed.digest_reference ? pushed.digest_reference : img.prebuilt,
                             "tag", img.tag, "digest", img.manifest_digest, "builder", img.builder,
                             "pushed", !pushed.manifest_existed && !img.prebuilt);
cleanup:
    hoist_image_pushed_clear(&pushed);
    hoist_image_clear(&img);
    hoist_registry_credentials_clear(&creds);
    return st;
}

/* The image exists when the registry still has the recorded manifest. */
static hoist_status image_observe(void *self, hoist_driver *drv, hoist_ctx *ctx,
                                  const hoist_node *n, const hoist_resource *r, hoist_result *out)
{
    (void)self;
    const char *ref = json_string_value(json_object_get(r->recorded, "reference"));
    const char *digest = json_string_value(json_object_get(r->recorded, "digest"));
    if (!ref || !digest)
        return HOIST_E_NOTFOUND;
    hoist_registry_credentials creds = {.struct_size = sizeof creds};
    hoist_status st = repo_credentials(drv, ctx, n, r, &creds);
    if (st != HOIST_OK)
        return st;
    hoist_registry *reg = hoist_registry_new(creds.endpoint, creds.username, creds.password);
    char *have = NULL;
    st = hoist_registry_head_manifest(reg, ctx, creds.repository, digest, &have);
    if (st == HOIST_OK && !have)
        st = HOIST_E_NOTFOUND;
    if (st == HOIST_OK)
        out->outputs = json_deep_copy(r->recorded);
    free(have);
    hoist_registry_free(reg);
    hoist_registry_credentials_clear(&creds);
    return st;
}

/*
 * Images are not deleted one by one: the repository (registry/<app>) goes
 * with its images when the environment is destroyed, and an older image may
 * still run somewhere during a rollback.  Forgetting the node is enough.
 */
static hoist_status image_destroy(void *self, hoist_driver *drv, hoist_ctx *ctx,
                                  const hoist_node *n, const hoist_resource *r, hoist_result *out)
{
    (void)self, (void)drv, (void)ctx, (void)n, (void)r, (void)out;
    return HOIST_OK;
}

static const hoist_executor image_executor = {
    .name = "image",
    .ensure = image_ensure,
    .observe = image_observe,
    .destroy = image_destroy,
};

void hoist_image_executor_register(void)
{
    hoist_executor_register(&image_executor);
}
