/*
 * broken.c - a small in-memory driver built once per deliberate flaw, to
 * prove that hoist-conformance catches each one (tests/check_conformance.c).
 * Built with no BROKEN_* macro it is correct and must pass every check.
 *
 *   BROKEN_DUP_ENSURE      ensure creates a new object on every call
 *   BROKEN_GONE_OK         observe of a missing object answers OK
 *   BROKEN_GONE_INTERNAL   observe of a missing object answers INTERNAL
 *   BROKEN_NO_ENDPOINT     cluster credentials with an empty endpoint
 *   BROKEN_NO_PASSWORD     database connection without a password
 *   BROKEN_BAD_SETTINGS    a settings schema (ABI 1.3) declaring a key twice
 */
#include <hoist/host.h>
#include <hoist/provider.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BROKEN_NAME
#error "define BROKEN_NAME"
#endif

typedef struct brk_obj {
    char kind[16];
    char name[64];
    char id[32];
    char password[24];
    struct brk_obj *next;
} brk_obj;

typedef struct brk_prov {
    const hoist_host *host;
    pthread_mutex_t lock;
    brk_obj *objs;
    unsigned long next_id;
} brk_prov;

/* The live object of @kind named @name (or with the recorded id); lock held. */
static brk_obj *brk_find(brk_prov *p, const char *kind, const hoist_resource *r)
{
    const char *id = json_string_value(json_object_get(r->recorded, "id"));
    for (brk_obj *o = p->objs; o; o = o->next)
        if (strcmp(o->kind, kind) == 0 && (id ? strcmp(o->id, id) == 0 : strcmp(o->name, r->name) == 0))
            return o;
    return NULL;
}

static hoist_status brk_ensure(const char *kind, void *vp, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    brk_prov *p = vp;
    if (p->host->cancelled(ctx))
        return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled before start");
    hoist_status st = HOIST_OK;
    pthread_mutex_lock(&p->lock);
    brk_obj *o = NULL;
#ifndef BROKEN_DUP_ENSURE
    for (o = p->objs; o; o = o->next)
        if (strcmp(o->kind, kind) == 0 && strcmp(o->name, r->name) == 0)
            break;
#endif
    if (!o) {
        o = calloc(1, sizeof *o);
        if (!o) {
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
            goto cleanup;
        }
        snprintf(o->kind, sizeof o->kind, "%s", kind);
        snprintf(o->name, sizeof o->name, "%s", r->name);
        snprintf(o->id, sizeof o->id, "%s-%lu", kind, ++p->next_id);
        if (p->host->random_secret(ctx, o->password, sizeof o->password) != HOIST_OK) {
            free(o);
            st = HOIST_E_INTERNAL;
            goto cleanup;
        }
        o->next = p->objs;
        p->objs = o;
    }
    out->outputs = json_pack("{s:s}", "id", o->id);
    if (strcmp(kind, "database") == 0)
        out->secrets = json_pack("{s:s}", "password", o->password);
cleanup:
    pthread_mutex_unlock(&p->lock);
    return st;
}

static hoist_status brk_observe(const char *kind, void *vp, hoist_ctx *ctx,
                                const hoist_resource *r, hoist_result *out)
{
    brk_prov *p = vp;
    hoist_status st = HOIST_OK;
    pthread_mutex_lock(&p->lock);
    brk_obj *o = brk_find(p, kind, r);
    if (o)
        out->outputs = json_pack("{s:s}", "id", o->id);
    else {
#if defined(BROKEN_GONE_OK)
        out->outputs = json_pack("{s:s}", "id", "whatever");
#elif defined(BROKEN_GONE_INTERNAL)
        st = p->host->fail(ctx, HOIST_E_INTERNAL, "lookup of %s failed", r->name);
#else
        st = HOIST_E_NOTFOUND;
#endif
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

static hoist_status brk_destroy(const char *kind, void *vp, hoist_ctx *ctx,
                                const hoist_resource *r, hoist_result *out)
{
    (void)ctx;
    (void)out;
    brk_prov *p = vp;
    pthread_mutex_lock(&p->lock);
    for (brk_obj **pp = &p->objs; *pp;) {
        brk_obj *o = *pp;
        if (strcmp(o->kind, kind) == 0 && strcmp(o->name, r->name) == 0) {
            *pp = o->next;
            free(o);
        } else {
            pp = &o->next;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return HOIST_OK;
}

#define BRK_KIND(kind)                                                                        \
    static hoist_status brk_##kind##_ensure(void *p, hoist_ctx *c, const hoist_resource *r,   \
                                            hoist_result *o)                                  \
    {                                                                                         \
        return brk_ensure(#kind, p, c, r, o);                                                 \
    }                                                                                         \
    static hoist_status brk_##kind##_observe(void *p, hoist_ctx *c, const hoist_resource *r,  \
                                             hoist_result *o)                                 \
    {                                                                                         \
        return brk_observe(#kind, p, c, r, o);                                                \
    }                                                                                         \
    static hoist_status brk_##kind##_destroy(void *p, hoist_ctx *c, const hoist_resource *r,  \
                                             hoist_result *o)                                 \
    {                                                                                         \
        return brk_destroy(#kind, p, c, r, o);                                                \
    }
BRK_KIND(network)
BRK_KIND(cluster)
BRK_KIND(database)

static hoist_status brk_credentials(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_cluster_credentials *out)
{
    (void)ctx;
    (void)r;
    (void)vp;
#ifdef BROKEN_NO_ENDPOINT
    out->endpoint = strdup("");
#else
    out->endpoint = strdup("https://127.0.0.1:6443");
#endif
    out->token = strdup("broken-driver-token");
    return HOIST_OK;
}

static hoist_status brk_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_db_connection *out)
{
    brk_prov *p = vp;
    hoist_status st = HOIST_OK;
    pthread_mutex_lock(&p->lock);
    brk_obj *o = brk_find(p, "database", r);
    if (!o) {
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "database %s does not exist", r->name);
        goto cleanup;
    }
    out->host = strdup("127.0.0.1");
    out->port = 5432;
    out->user = strdup("app");
    out->database = strdup(r->name);
#ifndef BROKEN_NO_PASSWORD
    out->password = strdup(o->password);
#endif
cleanup:
    pthread_mutex_unlock(&p->lock);
    return st;
}

static const hoist_network_ops brk_network = {
    .struct_size = sizeof brk_network,
    .ensure = brk_network_ensure, .observe = brk_network_observe, .destroy = brk_network_destroy,
};
static const hoist_cluster_ops brk_cluster = {
    .struct_size = sizeof brk_cluster,
    .ensure = brk_cluster_ensure, .observe = brk_cluster_observe, .destroy = brk_cluster_destroy,
    .credentials = brk_credentials,
};
static const hoist_database_ops brk_database = {
    .struct_size = sizeof brk_database,
    .ensure = brk_database_ensure, .observe = brk_database_observe,
    .destroy = brk_database_destroy, .connection = brk_connection,
};
static const hoist_provider_ops brk_ops = {
    .struct_size = sizeof brk_ops,
    .network = &brk_network,
    .cluster = &brk_cluster,
    .database = &brk_database,
};

static hoist_status brk_init(const hoist_host *host, hoist_ctx *ctx, json_t *settings, void **prov,
                             const hoist_provider_ops **ops)
{
    (void)settings;
    brk_prov *p = calloc(1, sizeof *p);
    if (!p)
        return host->fail(ctx, HOIST_E_INTERNAL, "out of memory");
    p->host = host;
    pthread_mutex_init(&p->lock, NULL);
    *prov = p;
    *ops = &brk_ops;
    return HOIST_OK;
}

static void brk_fini(void *vp)
{
    brk_prov *p = vp;
    while (p->objs) {
        brk_obj *o = p->objs;
        p->objs = o->next;
        free(o);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The keys it reads (none, in fact: the schema is what is tested). */
static const hoist_setting brk_settings[] = {
    {.name = "dir", .type = HOIST_SETTING_STRING, .doc = "unused"},
    {.name = "network.cidr", .type = HOIST_SETTING_STRING, .doc = "unused"},
#ifdef BROKEN_BAD_SETTINGS
    {.name = "dir", .type = HOIST_SETTING_INT, .doc = "declared twice"},
#endif
    {.name = NULL},
};

/* One level of indirection so BROKEN_NAME expands before ## pastes it. */
#define BRK_DEFINE(n, ...) HOIST_PROVIDER_DEFINE(n, __VA_ARGS__)
BRK_DEFINE(BROKEN_NAME, .version = "0.0.1", .license = "MIT",
                      .description = "a deliberately broken driver (tests only)",
                      .caps = HOIST_CAP_DB_POSTGRESQL, .settings = brk_settings,
                      .init = brk_init, .fini = brk_fini)
