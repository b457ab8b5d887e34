/* check_graph.c - graph shape per driver offer, executors, the driver door, source digests. */
#include "graph.h"
#include "driver.h"
#include "host.h"
#include "srcdigest.h"
#include "testutil.h"

#include <sys/stat.h>

static hoist_status dummy_op(void *p, hoist_ctx *c, const hoist_resource *r, hoist_result *o)
{
    (void)p; (void)c; (void)r; (void)o;
    return HOIST_OK;
}

/* A "Kubernetes cloud": network, cluster, registry, database; no app runtime. */
static const hoist_network_ops k_net = {sizeof k_net, dummy_op, dummy_op, dummy_op};
static const hoist_cluster_ops k_cl = {sizeof k_cl, dummy_op, dummy_op, dummy_op, NULL};
static const hoist_registry_ops k_reg = {sizeof k_reg, dummy_op, dummy_op, dummy_op, NULL};
static const hoist_database_ops k_db = {sizeof k_db, dummy_op, dummy_op, dummy_op, NULL, NULL};
static const hoist_provider_ops kube_ops = {sizeof kube_ops, &k_net, &k_cl, &k_reg, &k_db, NULL};

static hoist_config *parse(const char *dir, const char *extra)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "project: shop\n"
             "environments:\n  dev: { provider: x }\n"
             "databases:\n  - { name: main, engine: postgresql }\n%s"
             "applications:\n"
             "  - { name: api, path: %s, port: 3000, databases: [main] }\n"
             "  - { name: web, image: nginx:1, port: 80 }\n",
             extra, dir);
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_parse("hoist.yml", yaml, strlen(yaml), NULL, NULL, &d);
    if (!cfg)
        hoist_diags_print(&d, stderr);
    hoist_diags_free(&d);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

static int needs(const hoist_graph *g, hoist_kind a, const char *an, hoist_kind b, const char *bn)
{
    long i = hoist_graph_find(g, a, an), j = hoist_graph_find(g, b, bn);
    ck_assert_msg(i >= 0 && j >= 0, "missing node %s/%s or %s/%s", hoist_kind_name(a), an,
                  hoist_kind_name(b), bn);
    for (size_t k = 0; k < g->nodes[i].n_needs; k++)
        if (g->nodes[i].needs[k] == (size_t)j)
            return 1;
    return 0;
}

START_TEST(local_runtime_shape)
{
    char *dir = tu_tmpdir(), *err = NULL;
    free(tu_write(dir, "index.js", "1"));
    hoist_config *cfg = parse(dir, "");
    hoist_graph *g = hoist_graph_build(cfg, &cfg->envs[0], NULL, &err);
    ck_assert_ptr_nonnull(g);
    /* network, database main, app api, app web: no cluster, no images */
    ck_assert_uint_eq(g->n, 4);
    ck_assert_int_lt(hoist_graph_find(g, HOIST_KIND_CLUSTER, "cluster"), 0);
    ck_assert(needs(g, HOIST_KIND_DATABASE, "main", HOIST_KIND_NETWORK, "network"));
    ck_assert(needs(g, HOIST_KIND_APP, "api", HOIST_KIND_DATABASE, "main"));
    ck_assert(!needs(g, HOIST_KIND_APP, "web", HOIST_KIND_DATABASE, "main"));
    long api = hoist_graph_find(g, HOIST_KIND_APP, "api");
    const char *dg = json_string_value(json_object_get(g->nodes[api].spec, "source_digest"));
    ck_assert_ptr_nonnull(dg);
    ck_assert_int_eq(strncmp(dg, "sha256:", 7), 0);
    ck_assert_ptr_null(json_object_get(g->nodes[api].spec, "env"));
    hoist_graph_free(g);
    hoist_config_free(cfg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static hoist_status fake_image(void *s, hoist_driver *d, hoist_ctx *c, const hoist_node *n,
                               const hoist_resource *r, hoist_result *o)
{
    (void)s; (void)d; (void)c; (void)n; (void)r; (void)o;
    return HOIST_OK;
}

START_TEST(kube_cloud_shape_and_executors)
{
    char *dir = tu_tmpdir(), *err = NULL;
    free(tu_write(dir, "index.js", "1"));
    hoist_config *cfg = parse(dir, "  - { name: cache, engine: redis, mode: container }\n");
    hoist_driver drv = {.name = "x", .ops = &kube_ops};
    hoist_graph *g = hoist_graph_build(cfg, &cfg->envs[0], &drv, &err);
    ck_assert_msg(g != NULL, "%s", err);
    ck_assert(needs(g, HOIST_KIND_CLUSTER, "cluster", HOIST_KIND_NETWORK, "network"));
    ck_assert(needs(g, HOIST_KIND_DATABASE, "main", HOIST_KIND_NETWORK, "network"));
    ck_assert(needs(g, HOIST_KIND_DATABASE, "cache", HOIST_KIND_CLUSTER, "cluster"));
    ck_assert(needs(g, HOIST_KIND_IMAGE, "api", HOIST_KIND_REGISTRY, "api"));
    ck_assert(needs(g, HOIST_KIND_APP, "api", HOIST_KIND_IMAGE, "api"));
    ck_assert(needs(g, HOIST_KIND_APP, "api", HOIST_KIND_CLUSTER, "cluster"));
    ck_assert(needs(g, HOIST_KIND_APP, "api", HOIST_KIND_DATABASE, "main"));
    /* The prebuilt image needs no registry or build. */
    ck_assert_int_lt(hoist_graph_find(g, HOIST_KIND_IMAGE, "web"), 0);
    ck_assert_int_lt(hoist_graph_find(g, HOIST_KIND_REGISTRY, "web"), 0);
    const char *why = NULL;
    const hoist_node *img = &g->nodes[hoist_graph_find(g, HOIST_KIND_IMAGE, "api")];
    ck_assert_str_eq(img->executor, "image");
    ck_assert(!hoist_node_runnable(img, &drv, &why));
    ck_assert_ptr_nonnull(strstr(why, "issue 10"));
    const hoist_node *app = &g->nodes[hoist_graph_find(g, HOIST_KIND_APP, "api")];
    ck_assert(!hoist_node_runnable(app, &drv, &why));
    ck_assert_ptr_nonnull(strstr(why, "issue 11"));
    const hoist_node *db = &g->nodes[hoist_graph_find(g, HOIST_KIND_DATABASE, "main")];
    ck_assert(hoist_node_runnable(db, &drv, &why));
    static const hoist_executor ex = {.name = "image", .ensure = fake_image, .observe = fake_image,
                                      .destroy = fake_image};
    hoist_executor_register(&ex);
    ck_assert(hoist_node_runnable(img, &drv, &why));
    ck_assert_ptr_eq(hoist_executor_find("image"), &ex);
    /* DOT names every edge in execution order. */
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    hoist_graph_dot(g, NULL, fp);
    fclose(fp);
    ck_assert_ptr_nonnull(strstr(buf, "\"registry/api\" -> \"image/api\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"network/network\" -> \"cluster/cluster\""));
    free(buf);
    hoist_graph_free(g);
    hoist_config_free(cfg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(no_cluster_offered_is_an_error)
{
    char *dir = tu_tmpdir(), *err = NULL;
    hoist_config *cfg = parse(dir, "");
    static const hoist_provider_ops ops = {sizeof ops, &k_net, NULL, NULL, &k_db, NULL};
    hoist_driver drv = {.name = "x", .ops = &ops};
    ck_assert_ptr_null(hoist_graph_build(cfg, &cfg->envs[0], &drv, &err));
    ck_assert_ptr_nonnull(strstr(err, "offers no Kubernetes cluster"));
    free(err);
    hoist_config_free(cfg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A driver that misbehaves in ways the door must catch (libhoist/driver.c). */
static hoist_status odd_status(void *p, hoist_ctx *c, const hoist_resource *r, hoist_result *o)
{
    (void)p; (void)c; (void)r;
    o->outputs = json_pack("{s:s}", "id", "net-1");
    return (hoist_status)42;
}

static hoist_status empty_endpoint(void *p, hoist_ctx *c, const hoist_resource *r,
                                   hoist_cluster_credentials *o)
{
    (void)p; (void)c; (void)r;
    o->endpoint = strdup("");
    o->token = strdup("t");
    return HOIST_OK;
}

static hoist_status good_registry(void *p, hoist_ctx *c, const hoist_resource *r,
                                  hoist_registry_credentials *o)
{
    (void)p; (void)c;
    o->endpoint = strdup("https://registry.example");
    o->repository = strdup(r->name);
    return HOIST_OK;
}

START_TEST(driver_door_reports_and_validates)
{
    static const hoist_network_ops net = {sizeof net, odd_status, dummy_op, dummy_op};
    static const hoist_cluster_ops cl = {sizeof cl, dummy_op, dummy_op, dummy_op, empty_endpoint};
    static const hoist_registry_ops reg = {sizeof reg, dummy_op, dummy_op, dummy_op, good_registry};
    static const hoist_provider_ops ops = {sizeof ops, &net, &cl, &reg, &k_db, NULL};
    hoist_driver drv = {.name = "x", .ops = &ops};
    json_t *empty = json_object();
    hoist_resource r = {.struct_size = sizeof r, .project = "p", .env = "e", .name = "api",
                        .spec = empty, .needs = empty};
    hoist_ctx ctx;

    /* What is offered, by enum. */
    ck_assert(hoist_driver_offers(&drv, HOIST_KIND_CLUSTER, HOIST_OP_CREDENTIALS));
    ck_assert(!hoist_driver_offers(&drv, HOIST_KIND_DATABASE, HOIST_OP_CONNECTION));
    ck_assert(!hoist_driver_offers(&drv, HOIST_KIND_DATABASE, HOIST_OP_PAUSE));
    ck_assert(!hoist_driver_offers(&drv, HOIST_KIND_IMAGE, HOIST_OP_ENSURE));
    ck_assert(!hoist_driver_offers_kind(&drv, HOIST_KIND_APP));

    /* Unsupported: named, not called. */
    hoist_ctx_init(&ctx, &drv, NULL);
    hoist_result out = {.struct_size = sizeof out};
    ck_assert_int_eq(hoist_driver_call(&drv, HOIST_KIND_DATABASE, HOIST_OP_PAUSE, &ctx, &r, &out),
                     HOIST_E_UNSUPPORTED);
    ck_assert_str_eq(hoist_ctx_error(&ctx), "provider 'x' does not support pause on database");
    hoist_ctx_cleanup(&ctx);

    /* A status that is none: refused, outputs dropped. */
    hoist_ctx_init(&ctx, &drv, NULL);
    r.name = "network";
    ck_assert_int_eq(hoist_driver_call(&drv, HOIST_KIND_NETWORK, HOIST_OP_ENSURE, &ctx, &r, &out),
                     HOIST_E_INTERNAL);
    ck_assert_ptr_null(out.outputs);
    ck_assert_str_eq(hoist_ctx_error(&ctx), "provider 'x' returned malformed data from ensure "
                                            "of network/network: status 42 is not a hoist_status");
    hoist_ctx_cleanup(&ctx);

    /* Credentials without an endpoint: refused and cleared. */
    hoist_ctx_init(&ctx, &drv, NULL);
    r.name = "cluster";
    hoist_cluster_credentials cc = {.struct_size = sizeof cc};
    ck_assert_int_eq(hoist_driver_cluster_credentials(&drv, &ctx, &r, &cc), HOIST_E_INTERNAL);
    ck_assert_ptr_null(cc.endpoint);
    ck_assert_ptr_null(cc.token);
    ck_assert_str_eq(hoist_ctx_error(&ctx), "provider 'x' returned malformed data from "
                                            "credentials of cluster/cluster: endpoint: empty");
    hoist_ctx_cleanup(&ctx);

    /* A well-formed answer passes untouched. */
    hoist_ctx_init(&ctx, &drv, NULL);
    r.name = "api";
    hoist_registry_credentials rc = {.struct_size = sizeof rc};
    ck_assert_int_eq(hoist_driver_registry_credentials(&drv, &ctx, &r, &rc), HOIST_OK);
    ck_assert_str_eq(rc.repository, "api");
    ck_assert_ptr_null(hoist_ctx_error(&ctx));
    hoist_registry_credentials_clear(&rc);
    hoist_ctx_cleanup(&ctx);
    json_decref(empty);
}
END_TEST

static char *digest(const char *dir)
{
    char *err = NULL;
    char *d = hoist_source_digest(dir, &err);
    ck_assert_msg(d != NULL, "%s", err);
    return d;
}

START_TEST(source_digest_tracks_content_mode_and_ignores)
{
    char *dir = tu_tmpdir();
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/src", dir);
    mkdir(sub, 0755);
    free(tu_write(dir, "src/a.js", "one"));
    free(tu_write(dir, ".hoistignore", "# comment\n*.log\nbuild/\n"));
    char *d0 = digest(dir);
    char *p = tu_write(dir, "src/a.js", "two");
    char *d1 = digest(dir);
    ck_assert_str_ne(d0, d1);
    chmod(p, 0755);
    char *d2 = digest(dir);
    ck_assert_str_ne(d1, d2);
    /* Ignored: node_modules, .git, *.log, build/ */
    snprintf(sub, sizeof sub, "%s/node_modules", dir);
    mkdir(sub, 0755);
    free(tu_write(dir, "node_modules/x.js", "x"));
    snprintf(sub, sizeof sub, "%s/build", dir);
    mkdir(sub, 0755);
    free(tu_write(dir, "build/out.bin", "x"));
    free(tu_write(dir, "debug.log", "x"));
    char *d3 = digest(dir);
    ck_assert_str_eq(d2, d3);
    /* Renaming a file changes the digest even with equal content. */
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/src/a.js", dir);
    snprintf(to, sizeof to, "%s/src/b.js", dir);
    rename(from, to);
    char *d4 = digest(dir);
    ck_assert_str_ne(d3, d4);
    char *err = NULL;
    ck_assert_ptr_null(hoist_source_digest("/nonexistent/hoist-app", &err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/hoist-app"));
    free(err);
    free(p);
    free(d0); free(d1); free(d2); free(d3); free(d4);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_add_test(tc, local_runtime_shape);
    tcase_add_test(tc, kube_cloud_shape_and_executors);
    tcase_add_test(tc, no_cluster_offered_is_an_error);
    tcase_add_test(tc, driver_door_reports_and_validates);
    tcase_add_test(tc, source_digest_tracks_content_mode_and_ignores);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
