/*
 * tmpl_database.c - managed databases.
 *
 * Shows: checking the spec against what the cloud offers (the engines in
 * the descriptor's caps), a password made with host->random_secret and
 * returned in out->secrets (never in outputs), and the connection struct.
 */
#include "tmpl.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *engine;
    int port;
} tmpl_engines[] = {{"postgresql", 5432}, {"mysql", 3306}, {"redis", 6379}};

static int tmpl_engine_port(const char *engine)
{
    for (size_t i = 0; engine && i < sizeof tmpl_engines / sizeof tmpl_engines[0]; i++)
        if (strcmp(engine, tmpl_engines[i].engine) == 0)
            return tmpl_engines[i].port;
    return 0;
}

static void tmpl_database_describe(tmpl_prov *p, hoist_ctx *ctx, json_t *obj, hoist_result *out)
{
    const char *password = json_string_value(json_object_get(obj, "password"));
    p->host->secret(ctx, password);
    out->outputs = json_pack("{s:O,s:O,s:O}", "id", json_object_get(obj, "id"), "engine",
                             json_object_get(obj, "engine"), "port", json_object_get(obj, "port"));
    /* secrets: kept by the core in state (sealed when a key is set) and
     * handed back in r->recorded["secrets"]; never shown. */
    out->secrets = json_pack("{s:s}", "password", password ? password : "");
}

static hoist_status tmpl_database_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                         hoist_result *out)
{
    tmpl_prov *p = prov;
    const char *engine = json_string_value(json_object_get(r->spec, "engine"));
    int port = tmpl_engine_port(engine ? engine : "postgresql");
    if (!port)
        return p->host->fail(ctx, HOIST_E_UNSUPPORTED, "database %s: engine '%s' is not offered "
                             "(postgresql, mysql, redis)", r->name, engine);
    char password[25];
    if (p->host->random_secret(ctx, password, sizeof password) != HOIST_OK)
        return HOIST_E_INTERNAL;
    json_t *attrs = json_pack("{s:s,s:i,s:s}", "engine", engine ? engine : "postgresql", "port",
                              port, "password", password);
    hoist_status st = tmpl_ensure(p, ctx, "database", r, attrs, tmpl_database_describe, out);
    json_decref(attrs);
    return st;
}

static hoist_status tmpl_database_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    return tmpl_observe(prov, ctx, "database", r, tmpl_database_describe, out);
}

static hoist_status tmpl_database_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                          hoist_result *out)
{
    return tmpl_destroy(prov, ctx, "database", r, out);
}

static hoist_status tmpl_database_connection(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                             hoist_db_connection *out)
{
    tmpl_prov *p = prov;
    json_t *obj = NULL;
    hoist_status st = tmpl_ready_object(p, ctx, "database", r, &obj);
    if (st != HOIST_OK)
        return st;
    const char *password = json_string_value(json_object_get(obj, "password"));
    p->host->secret(ctx, password);
    out->host = hoist_kit_xstrdup("127.0.0.1");
    out->port = (int)json_integer_value(json_object_get(obj, "port"));
    out->user = hoist_kit_xstrdup(r->name);
    out->password = hoist_kit_xstrdup(password ? password : "");
    out->database = hoist_kit_xstrdup(r->name);
    out->tls = 0;
    json_decref(obj);
    return st;
}

const hoist_database_ops tmpl_database_ops = {
    .struct_size = sizeof tmpl_database_ops,
    .ensure = tmpl_database_ensure,
    .observe = tmpl_database_observe,
    .destroy = tmpl_database_destroy,
    .pause = NULL, /* not offered: no HOIST_CAP_PAUSE_DATABASE in the caps */
    .connection = tmpl_database_connection,
};
