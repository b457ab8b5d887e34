/*
 * scw_database.c - a Managed Database instance (RDB API v1) on the
 * network's private network, with a database and a user for the app.
 *
 * Spec keys (a `databases:` entry): engine (postgresql, mysql), version
 * (default 15 / 8), size (small -> DB-DEV-S, medium -> DB-DEV-M, large ->
 * DB-GP-XS, or a literal node type), storage (GB: an SBS volume; default:
 * the node type's local volume).
 * Needs: needs["network"]["network"] private_network_id and subnet.
 * Outputs: id, name, engine, node_type, host, port, database, user, tls,
 * region.  Secrets: password (the app user's), admin_password.
 *
 * Passwords are generated and returned (PENDING) before anything is created
 * with them, so the core records them first: a crash never leaves a user
 * whose password nobody knows.  The ACL is set to the private network's
 * subnet, which closes the public endpoint Scaleway always adds.
 */
#include "scw_api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SCW_ADMIN_USER "hoist_admin"

typedef struct scw_db_want {
    char *engine;    /* "PostgreSQL-15" */
    char *node_type; /* "DB-DEV-S" */
    char *dbname;    /* the app's database: the resource name, '-' -> '_' */
    char *user;      /* <dbname>_app */
    long long storage_gb;
} scw_db_want;

static void scw_db_want_free(scw_db_want *w)
{
    free(w->engine);
    free(w->node_type);
    free(w->dbname);
    free(w->user);
}

static hoist_status scw_db_wanted(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                  scw_db_want *w)
{
    static const char *const sizes[][2] = {
        {"small", "DB-DEV-S"}, {"medium", "DB-DEV-M"}, {"large", "DB-GP-XS"}};
    const char *engine = scw_str(r->spec, "engine"), *version = scw_str(r->spec, "version");
    const char *size = scw_str(r->spec, "size");
    json_t *storage = json_object_get(r->spec, "storage");
    memset(w, 0, sizeof *w);
    if (!engine || (strcmp(engine, "postgresql") != 0 && strcmp(engine, "mysql") != 0))
        return p->host->fail(ctx, HOIST_E_UNSUPPORTED,
                             "Scaleway Managed Databases run postgresql and mysql, not %s; use "
                             "mode: container for it",
                             engine ? engine : "(no engine)");
    int pg = !strcmp(engine, "postgresql");
    w->engine = hoist_kit_xasprintf("%s-%s", pg ? "PostgreSQL" : "MySQL",
                                    version ? version : pg ? "15" : "8");
    w->node_type = NULL;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (!strcmp(size ? size : "small", sizes[i][0]))
            w->node_type = hoist_kit_xstrdup(sizes[i][1]);
    if (!w->node_type) { /* a literal node type, written as Scaleway does */
        w->node_type = hoist_kit_xstrdup(size);
        for (char *c = w->node_type; *c; c++)
            *c = (char)toupper((unsigned char)*c);
    }
    w->dbname = hoist_kit_xstrdup(r->name);
    for (char *c = w->dbname; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    w->user = hoist_kit_xasprintf("%s_app", w->dbname);
    w->storage_gb = json_is_integer(storage) ? json_integer_value(storage) : 0;
    return HOIST_OK;
}

static char *scw_rdb_base(scw_prov *p, const hoist_resource *r)
{
    return hoist_kit_xasprintf("/rdb/v1/regions/%s/instances", scw_region(p, r));
}

static hoist_status scw_db_locate(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                  json_t **inst)
{
    char *base = scw_rdb_base(p, r), *name = scw_name(r, r->name, SCW_NAME_MAX_DATABASE);
    json_t *tags = scw_tags(r, "database");
    hoist_status st = scw_locate(p, ctx, r->recorded, "id", base, "instances", name, tags, NULL,
                                 inst);
    free(base);
    free(name);
    json_decref(tags);
    return st;
}

/* The endpoint on private network @pn_id (borrowed), or NULL. */
static json_t *scw_db_private_endpoint(json_t *inst, const char *pn_id)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(inst, "endpoints"), i, e) {
        const char *id = scw_str(json_object_get(e, "private_network"), "private_network_id");
        if (id && (!pn_id || !strcmp(id, pn_id)))
            return e;
    }
    return NULL;
}

static void scw_db_outputs(scw_prov *p, const hoist_resource *r, const scw_db_want *w,
                           json_t *inst, hoist_result *out)
{
    json_t *ep = scw_db_private_endpoint(inst, NULL);
    json_decref(out->outputs);
    out->outputs = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s,s:b,s:s}", "id", scw_str(inst, "id"),
                             "name", scw_str(inst, "name"), "engine", scw_str(inst, "engine"),
                             "node_type", scw_str(inst, "node_type"), "database", w->dbname,
                             "user", w->user, "tls", 1, "region", scw_region(p, r));
    if (ep) {
        json_object_set_new(out->outputs, "host", json_string(scw_str(ep, "ip")));
        json_object_set(out->outputs, "port", json_object_get(ep, "port"));
    }
}

/* A password Scaleway accepts: random [A-Za-z0-9] plus one of each required class. */
static hoist_status scw_db_password(scw_prov *p, hoist_ctx *ctx, json_t *secrets, const char *key)
{
    char buf[29];
    if (scw_str(secrets, key))
        return HOIST_OK;
    hoist_status st = p->host->random_secret(ctx, buf, sizeof buf);
    if (st != HOIST_OK)
        return st;
    char *pw = hoist_kit_xasprintf("%s-Az9", buf); /* RDB wants upper, lower, digit and a symbol */
    p->host->secret(ctx, pw);
    json_object_set_new(secrets, key, json_string(pw));
    free(pw);
    return HOIST_OK;
}

static hoist_status scw_db_create(scw_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                  const scw_db_want *w, const char *pn_id, json_t *secrets,
                                  json_t **inst)
{
    char *base = scw_rdb_base(p, r), *name = scw_name(r, r->name, SCW_NAME_MAX_DATABASE);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:[{s:{s:s,s:{}}}]}", "project_id", p->project_id,
        "name", name, "engine", w->engine, "user_name", SCW_ADMIN_USER, "password",
        scw_str(secrets, "admin_password"), "node_type", w->node_type, "is_ha_cluster", 0,
        "disable_backup", 0, "tags", scw_tags(r, "database"), "init_endpoints",
        "private_network", "private_network_id", pn_id, "ipam_config");
    if (w->storage_gb > 0) {
        json_object_set_new(body, "volume_type", json_string("sbs_5k"));
        json_object_set_new(body, "volume_size", json_integer(w->storage_gb * 1000000000LL));
    }
    hoist_status st = scw_call(p, ctx, "POST", base, body, 0, inst);
    if (st == HOIST_OK)
        p->host->log(ctx, HOIST_LOG_INFO, "creating %s instance %s (%s)", w->engine, name,
                     w->node_type);
    json_decref(body);
    free(base);
    free(name);
    return st;
}

/* OK when ready, PENDING while busy, CONFLICT when stuck. */
static hoist_status scw_db_status(scw_prov *p, hoist_ctx *ctx, json_t *inst, hoist_result *out)
{
    static const char *const busy[] = {"provisioning", "initializing", "configuring",
                                       "backuping", "autohealing", "snapshotting",
                                       "restarting", "deleting", "unknown", NULL};
    const char *s = scw_str(inst, "status");
    if (s && !strcmp(s, "ready"))
        return HOIST_OK;
    for (const char *const *b = busy; s && *b; b++)
        if (!strcmp(s, *b))
            return scw_pending(p, ctx, out, s);
    return p->host->fail(ctx, HOIST_E_CONFLICT, "database instance %s is %s",
                         scw_str(inst, "id"), s ? s : "(no status)");
}

/* The database, the user and the user's privileges on it; no call when all are there. */
static hoist_status scw_db_members(scw_prov *p, hoist_ctx *ctx, const char *ipath,
                                   const scw_db_want *w, json_t *secrets)
{
    char *dbs = hoist_kit_xasprintf("%s/databases", ipath);
    char *users = hoist_kit_xasprintf("%s/users", ipath);
    char *privs = hoist_kit_xasprintf("%s/privileges", ipath), *q = NULL;
    json_t *found = NULL, *body = NULL, *ans = NULL, *v;
    size_t i;
    int granted = 0;
    hoist_status st = scw_find(p, ctx, dbs, "databases", w->dbname, NULL, NULL, 0, &found);
    if (st == HOIST_OK && !found) {
        body = json_pack("{s:s}", "name", w->dbname);
        /* 409: a repeated POST (answer lost) already made it; names are ours */
        st = scw_call(p, ctx, "POST", dbs, body, SCW_QUIET_BUSY, &ans);
        if (st == HOIST_E_CONFLICT)
            st = HOIST_OK;
        json_decref(body);
        json_decref(ans);
        body = ans = NULL;
    }
    json_decref(found);
    found = NULL;
    if (st != HOIST_OK)
        goto cleanup;
    if ((st = scw_find(p, ctx, users, "users", w->user, NULL, NULL, 0, &found)) != HOIST_OK)
        goto cleanup;
    if (!found) {
        body = json_pack("{s:s,s:s,s:b}", "name", w->user, "password",
                         scw_str(secrets, "password"), "is_admin", 0);
        st = scw_call(p, ctx, "POST", users, body, SCW_QUIET_BUSY, &ans);
        if (st == HOIST_E_CONFLICT)
            st = HOIST_OK;
        json_decref(body);
        json_decref(ans);
        body = ans = NULL;
        if (st != HOIST_OK)
            goto cleanup;
    }
    q = hoist_kit_xasprintf("%s?database_name=%s&user_name=%s", privs, w->dbname, w->user);
    if ((st = scw_call(p, ctx, "GET", q, NULL, 0, &ans)) != HOIST_OK)
        goto cleanup;
    json_array_foreach(json_object_get(ans, "privileges"), i, v) granted |=
        !strcmp(scw_str(v, "permission") ? scw_str(v, "permission") : "", "all") &&
        !strcmp(scw_str(v, "database_name") ? scw_str(v, "database_name") : "", w->dbname) &&
        !strcmp(scw_str(v, "user_name") ? scw_str(v, "user_name") : "", w->user);
    json_decref(ans);
    ans = NULL;
    if (!granted) {
        body = json_pack("{s:s,s:s,s:s}", "database_name", w->dbname, "user_name", w->user,
                         "permission", "all");
        st = scw_call(p, ctx, "PUT", privs, body, SCW_IDEMPOTENT, &ans);
    }
cleanup:
    json_decref(found);
    json_decref(body);
    json_decref(ans);
    free(dbs);
    free(users);
    free(privs);
    free(q);
    return st;
}

/* The ACL is exactly {@subnet}; set it when it is anything else. */
static hoist_status scw_db_acl(scw_prov *p, hoist_ctx *ctx, const char *ipath, const char *subnet)
{
    char *path = hoist_kit_xasprintf("%s/acls", ipath);
    json_t *ans = NULL, *rules, *body = NULL;
    hoist_status st = scw_call(p, ctx, "GET", path, NULL, 0, &ans);
    if (st != HOIST_OK)
        goto cleanup;
    rules = json_object_get(ans, "rules");
    if (json_array_size(rules) == 1 && !strcmp(scw_str(json_array_get(rules, 0), "ip")
                                                   ? scw_str(json_array_get(rules, 0), "ip")
                                                   : "",
                                               subnet))
        goto cleanup;
    body = json_pack("{s:[{s:s,s:s}]}", "rules", "ip", subnet, "description",
                     "hoist: the environment's private network");
    json_decref(ans);
    ans = NULL;
    st = scw_call(p, ctx, "PUT", path, body, SCW_IDEMPOTENT, &ans);
cleanup:
    json_decref(ans);
    json_decref(body);
    free(path);
    return st;
}

static hoist_status scw_db_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                  hoist_result *out)
{
    scw_prov *p = prov;
    scw_db_want w;
    json_t *inst = NULL, *net = scw_need(r, "network", "network");
    json_t *secrets = json_deep_copy(json_object_get(r->recorded, "secrets"));
    char *ipath = NULL, *base = scw_rdb_base(p, r);
    const char *pn_id = scw_str(net, "private_network_id"), *subnet = scw_str(net, "subnet");
    hoist_status st = scw_db_wanted(p, ctx, r, &w);
    if (!json_is_object(secrets)) {
        json_decref(secrets);
        secrets = json_object();
    }
    if (st != HOIST_OK)
        goto cleanup;
    if (!pn_id || !subnet) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "the database needs the network's private_network_id and subnet "
                           "(needs.network.network), which the core did not pass");
        goto cleanup;
    }
    if (!scw_str(secrets, "password") || !scw_str(secrets, "admin_password")) {
        if ((st = scw_db_password(p, ctx, secrets, "password")) != HOIST_OK ||
            (st = scw_db_password(p, ctx, secrets, "admin_password")) != HOIST_OK)
            goto cleanup;
        /* recorded before use: see the top of this file */
        out->outputs = json_pack("{s:s}", "phase", "credentials generated");
        st = scw_pending(p, ctx, out, "generating credentials");
        out->poll_ms = 1;
        goto cleanup;
    }
    if ((st = scw_db_locate(p, ctx, r, &inst)) != HOIST_OK)
        goto cleanup;
    if (!inst && (st = scw_db_create(p, ctx, r, &w, pn_id, secrets, &inst)) != HOIST_OK)
        goto cleanup;
    scw_db_outputs(p, r, &w, inst, out);
    if ((st = scw_db_status(p, ctx, inst, out)) != HOIST_OK)
        goto cleanup;
    if (!scw_db_private_endpoint(inst, pn_id)) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "database instance %s has no endpoint on private network %s; attach "
                           "it in the console or destroy it so hoist recreates it",
                           scw_str(inst, "id"), pn_id);
        goto cleanup;
    }
    if (strcmp(scw_str(inst, "node_type") ? scw_str(inst, "node_type") : "", w.node_type) != 0)
        p->host->log(ctx, HOIST_LOG_WARN,
                     "instance runs %s, hoist.yml asks %s: upgrade it in the console "
                     "(hoist does not resize databases)",
                     scw_str(inst, "node_type"), w.node_type);
    ipath = hoist_kit_xasprintf("%s/%s", base, scw_str(inst, "id"));
    if ((st = scw_db_members(p, ctx, ipath, &w, secrets)) != HOIST_OK)
        goto cleanup;
    st = scw_db_acl(p, ctx, ipath, subnet);
cleanup:
    if (st >= 0 || st == HOIST_E_TRANSIENT) {
        /* every answer carries the secrets, so the core never loses them */
        out->secrets = secrets;
        secrets = NULL;
    }
    json_decref(secrets);
    json_decref(inst);
    scw_db_want_free(&w);
    free(ipath);
    free(base);
    return st;
}

static hoist_status scw_db_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    scw_prov *p = prov;
    scw_db_want w;
    json_t *inst = NULL;
    hoist_status st = scw_db_wanted(p, ctx, r, &w);
    if (st == HOIST_OK)
        st = scw_db_locate(p, ctx, r, &inst);
    if (st == HOIST_OK && !inst)
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "no database instance for %s", r->name);
    if (st == HOIST_OK) {
        scw_db_outputs(p, r, &w, inst, out);
        st = scw_db_status(p, ctx, inst, out);
    }
    json_decref(inst);
    scw_db_want_free(&w);
    return st;
}

static hoist_status scw_db_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_result *out)
{
    scw_prov *p = prov;
    json_t *inst = NULL;
    char *base = scw_rdb_base(p, r), *path = NULL;
    hoist_status st = scw_db_locate(p, ctx, r, &inst);
    if (st == HOIST_OK && inst) {
        path = hoist_kit_xasprintf("%s/%s", base, scw_str(inst, "id"));
        st = scw_delete(p, ctx, path, inst, out, "deleting the database instance");
    }
    json_decref(inst);
    free(base);
    free(path);
    return st;
}

/* From what ensure recorded: no call, so apps can be configured offline. */
static hoist_status scw_db_connection(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                      hoist_db_connection *out)
{
    scw_prov *p = prov;
    json_t *rec = r->recorded, *sec = json_object_get(rec, "secrets");
    const char *host = scw_str(rec, "host"), *pw = scw_str(sec, "password");
    if (!host || !pw || !scw_str(rec, "user") || !scw_str(rec, "database"))
        return p->host->fail(ctx, HOIST_E_NOTFOUND,
                             "database %s has no recorded connection yet: deploy it first",
                             r->name);
    out->host = hoist_kit_xstrdup(host);
    out->port = (int)json_integer_value(json_object_get(rec, "port"));
    out->user = hoist_kit_xstrdup(scw_str(rec, "user"));
    out->password = hoist_kit_xstrdup(pw);
    out->database = hoist_kit_xstrdup(scw_str(rec, "database"));
    out->tls = json_is_true(json_object_get(rec, "tls"));
    return HOIST_OK;
}

const hoist_database_ops scw_database_ops = {
    .struct_size = sizeof scw_database_ops,
    .ensure = scw_db_ensure,
    .observe = scw_db_observe,
    .destroy = scw_db_destroy,
    .connection = scw_db_connection,
};
