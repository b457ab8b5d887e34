/*
 * do_database.c - a managed database cluster "<project>-<env>-<name>" in the
 * network's VPC (private_network_uuid), tagged for ownership, with a
 * database and a user for the apps, and a firewall rule trusting the
 * environment's Kubernetes cluster.  READY when "online" and all of that is
 * in place.
 *
 * The graph gives a managed database only the network as a need, so the
 * cluster's id is found by the cluster's deterministic name: ensure adds the
 * rule when the cluster exists, and the cluster's ensure adds it to every
 * online database of the environment (do_database_trust_all), so whichever
 * finishes last completes the link in the same deploy.
 */
#include "do.h"

#include <stdlib.h>
#include <string.h>

static const char *do_engine(const char *e)
{
    if (!e || !strcmp(e, "postgresql") || !strcmp(e, "postgres") || !strcmp(e, "pg"))
        return "pg";
    return e; /* mysql, redis, mongodb are DO's own slugs */
}

/* hoist.yml size: small/medium/large, or a DO slug used as is. */
static const char *do_db_size(const char *s, const char *engine)
{
    int redis = !strcmp(engine, "redis");
    if (!s || !strcmp(s, "small"))
        return "db-s-1vcpu-1gb";
    if (!strcmp(s, "medium"))
        return redis ? "db-s-1vcpu-2gb" : "db-s-2vcpu-4gb";
    if (!strcmp(s, "large"))
        return "db-s-4vcpu-8gb";
    return s;
}

/* The app's database and user names: [a-z0-9_] so no engine needs quoting. */
static char *do_db_dbname(const hoist_resource *r)
{
    return do_slug(r->name, '_');
}

static char *do_db_user(const hoist_resource *r)
{
    char *s = do_slug(r->name, '_'), *u = hoist_kit_xasprintf("%s_app", s);
    free(s);
    return u;
}

static int do_has_members(const char *engine)
{
    return strcmp(engine, "redis") != 0 && strcmp(engine, "valkey") != 0;
}

static hoist_status do_db_find(do_prov *p, hoist_ctx *ctx, const hoist_resource *r, json_t **out)
{
    char *name = do_name(r, r->name, DO_NAME_MAX_DATABASE);
    char *legacy = do_legacy_name(r, r->name, DO_NAME_MAX_DATABASE);
    const char *id = do_recorded_id(r);
    json_t *j = NULL, *tags = NULL;
    hoist_status st = HOIST_OK;
    *out = NULL;
    if (id) {
        char *path = hoist_kit_xasprintf("/v2/databases/%s", id);
        st = do_req(p, ctx, "GET", path, NULL, 0, DO_Q404, NULL, &j);
        free(path);
        json_t *d = json_object_get(j, "database");
        if (st == HOIST_OK && do_is_named(d, r, "database", name, legacy)) {
            *out = json_incref(d);
            goto cleanup;
        }
        if (st != HOIST_OK && st != HOIST_E_NOTFOUND)
            goto cleanup;
        json_decref(j);
        j = NULL;
    }
    /* By the project tag, then by name (names are unique per account); a
       cluster an older hoist named by a plain cut is adopted when its tags
       say it is this database. */
    tags = do_tags(r, "database");
    char *path = hoist_kit_xasprintf("/v2/databases?tag_name=%s",
                                     json_string_value(json_array_get(tags, 0)));
    st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &j);
    free(path);
    if (st != HOIST_OK)
        goto cleanup;
    json_t *d = do_pick_named(json_object_get(j, "databases"), r, "database", name, legacy);
    if (d)
        *out = json_incref(d);
cleanup:
    json_decref(j);
    json_decref(tags);
    free(name);
    free(legacy);
    return st;
}

/* GET then POST a db or user named @name under database @id. */
static hoist_status do_member_ensure(do_prov *p, hoist_ctx *ctx, const char *id, const char *kind,
                                     const char *name, json_t **got)
{
    char *path = hoist_kit_xasprintf("/v2/databases/%s/%s/%s", id, kind, name);
    char *coll = hoist_kit_xasprintf("/v2/databases/%s/%s", id, kind);
    json_t *j = NULL, *body = NULL;
    hoist_status st = do_req(p, ctx, "GET", path, NULL, 0, DO_Q404, NULL, &j);
    if (st == HOIST_E_NOTFOUND) {
        json_decref(j);
        j = NULL;
        body = json_pack("{s:s}", "name", name);
        p->host->log(ctx, HOIST_LOG_INFO, "creating %s %s", !strcmp(kind, "dbs") ? "database" : "user",
                     name);
        /* Names are unique in a cluster: a repeated POST is refused, never doubled. */
        st = do_req(p, ctx, "POST", coll, body, HOIST_HTTP_IDEMPOTENT, DO_Q422, NULL, &j);
        if (st == HOIST_E_INVALID) {
            json_t *err = j;
            j = NULL;
            st = do_req(p, ctx, "GET", path, NULL, 0, DO_Q404, NULL, &j);
            if (st == HOIST_E_NOTFOUND)
                st = do_report(p, ctx, HOIST_E_INVALID, coll, err);
            json_decref(err);
        }
    }
    if (got && st == HOIST_OK)
        *got = json_incref(json_object_get(j, !strcmp(kind, "dbs") ? "db" : "user"));
    json_decref(j);
    json_decref(body);
    free(path);
    free(coll);
    return st;
}

hoist_status do_database_trust(do_prov *p, hoist_ctx *ctx, const char *db_id,
                               const char *cluster_id)
{
    char *path = hoist_kit_xasprintf("/v2/databases/%s/firewall", db_id);
    json_t *j = NULL, *rules = json_array(), *v;
    size_t i;
    int have = 0;
    hoist_status st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &j);
    if (st != HOIST_OK)
        goto cleanup;
    json_array_foreach(json_object_get(j, "rules"), i, v) {
        const char *t = json_string_value(json_object_get(v, "type"));
        const char *val = json_string_value(json_object_get(v, "value"));
        if (!t || !val)
            continue;
        have |= !strcmp(t, "k8s") && !strcmp(val, cluster_id);
        /* Only the writable members go back: uuid and cluster_uuid are read-only. */
        json_array_append_new(rules, json_pack("{s:s,s:s}", "type", t, "value", val));
    }
    if (have)
        goto cleanup;
    json_array_append_new(rules, json_pack("{s:s,s:s}", "type", "k8s", "value", cluster_id));
    json_t *body = json_pack("{s:O}", "rules", rules);
    p->host->log(ctx, HOIST_LOG_INFO, "letting Kubernetes cluster %s reach the database", cluster_id);
    /* PUT replaces the whole rule set: repeating it is harmless. */
    st = do_req(p, ctx, "PUT", path, body, 0, 0, NULL, NULL);
    json_decref(body);
cleanup:
    json_decref(j);
    json_decref(rules);
    free(path);
    return st;
}

hoist_status do_database_trust_all(do_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                   const char *cluster_id)
{
    json_t *tags = do_tags(r, "cluster"), *j = NULL, *d;
    char *path = hoist_kit_xasprintf("/v2/databases?tag_name=%s",
                                     json_string_value(json_array_get(tags, 0)));
    size_t i;
    hoist_status st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &j);
    json_array_foreach(json_object_get(j, "databases"), i, d) {
        if (st != HOIST_OK)
            break;
        const char *status = json_string_value(json_object_get(d, "status"));
        if (do_owned(json_object_get(d, "tags"), r) && status && !strcmp(status, "online"))
            st = do_database_trust(p, ctx, json_string_value(json_object_get(d, "id")), cluster_id);
    }
    json_decref(j);
    json_decref(tags);
    free(path);
    return st;
}

static json_t *do_db_outputs(const hoist_resource *r, json_t *d, const char *user, const char *db)
{
    json_t *c = json_object_get(d, "private_connection");
    if (!json_is_object(c) || !json_object_get(c, "host"))
        c = json_object_get(d, "connection");
    return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:s,s:b}", "id", json_object_get(d, "id"),
                     "name", json_object_get(d, "name"), "engine", json_object_get(d, "engine"),
                     "version", json_object_get(d, "version") ?: json_null(), "status",
                     json_object_get(d, "status") ?: json_null(), "host",
                     json_object_get(c, "host") ?: json_null(), "port",
                     json_object_get(c, "port") ?: json_null(), "user", user, "database", db, "ssl",
                     json_is_true(json_object_get(c, "ssl")));
    (void)r;
}

static hoist_status do_db_create(do_prov *p, hoist_ctx *ctx, const hoist_resource *r, json_t **out)
{
    const char *vpc = do_need(r, "network", "network", "id");
    const char *engine = do_engine(json_string_value(json_object_get(r->spec, "engine")));
    const char *version = json_string_value(json_object_get(r->spec, "version"));
    const char *size = do_db_size(json_string_value(json_object_get(r->spec, "size")), engine);
    char *name = do_name(r, r->name, DO_NAME_MAX_DATABASE);
    json_t *body = NULL, *j = NULL;
    hoist_status st;
    if (!vpc) {
        st = p->host->fail(ctx, HOIST_E_INVALID,
                           "the database needs the network's VPC id (needs.network.network.id); "
                           "ensure the network first");
        goto cleanup;
    }
    body = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "name", name, "engine", engine, "size", size,
                     "region", do_region(p, r), "num_nodes", (json_int_t)p->db_nodes,
                     "private_network_uuid", vpc, "tags", do_tags(r, "database"));
    if (version)
        json_object_set_new(body, "version", json_string(version));
    p->host->log(ctx, HOIST_LOG_INFO, "creating %s database cluster %s (%s)", engine, name, size);
    /* Cluster names are unique per account: a repeated POST is refused, never doubled. */
    st = do_req(p, ctx, "POST", "/v2/databases", body, HOIST_HTTP_IDEMPOTENT, DO_Q422, NULL, &j);
    if (st == HOIST_OK) {
        *out = json_incref(json_object_get(j, "database"));
    } else if (st == HOIST_E_INVALID) {
        hoist_status st2 = do_db_find(p, ctx, r, out);
        st = st2 != HOIST_OK ? st2 : *out ? HOIST_OK : do_report(p, ctx, st, "POST /v2/databases", j);
    }
cleanup:
    json_decref(body);
    json_decref(j);
    free(name);
    return st;
}

static hoist_status do_database_ensure(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                       hoist_result *out)
{
    do_prov *p = vp;
    json_t *d = NULL, *u = NULL, *cl = NULL;
    char *user = do_db_user(r), *db = do_db_dbname(r);
    hoist_status st = do_db_find(p, ctx, r, &d);
    if (st == HOIST_OK && !d)
        st = do_db_create(p, ctx, r, &d);
    if (st != HOIST_OK)
        goto cleanup;
    const char *status = json_string_value(json_object_get(d, "status")) ?: "";
    const char *id = json_string_value(json_object_get(d, "id"));
    const char *engine = json_string_value(json_object_get(d, "engine")) ?: "pg";
    const char *want = do_engine(json_string_value(json_object_get(r->spec, "engine")));
    if (strcmp(engine, want) != 0) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT,
                           "database cluster %s runs %s, hoist.yml wants %s; the engine cannot "
                           "change in place",
                           json_string_value(json_object_get(d, "name")), engine, want);
        goto cleanup;
    }
    if (strcmp(status, "online") != 0) {
        out->outputs = do_db_outputs(r, d, user, db);
        st = do_pending(p, ctx, out, status[0] ? status : "creating");
        goto cleanup;
    }
    if (do_has_members(engine)) {
        st = do_member_ensure(p, ctx, id, "dbs", db, NULL);
        if (st == HOIST_OK)
            st = do_member_ensure(p, ctx, id, "users", user, &u);
    }
    if (st != HOIST_OK)
        goto cleanup;
    st = do_cluster_lookup(p, ctx, r, &cl);
    if (st == HOIST_OK && cl)
        st = do_database_trust(p, ctx, id, json_string_value(json_object_get(cl, "id")));
    if (st != HOIST_OK)
        goto cleanup;
    if (!do_has_members(engine)) {
        json_t *c = json_object_get(d, "private_connection");
        free(user);
        user = hoist_kit_xstrdup(json_string_value(json_object_get(c, "user")) ?: "default");
    }
    out->outputs = do_db_outputs(r, d, user, do_has_members(engine) ? db : "");
    const char *pw = u ? json_string_value(json_object_get(u, "password"))
                       : json_string_value(json_object_get(json_object_get(d, "private_connection"),
                                                           "password"));
    if (pw) {
        p->host->secret(ctx, pw);
        out->secrets = json_pack("{s:s}", "password", pw);
    }
cleanup:
    json_decref(d);
    json_decref(u);
    json_decref(cl);
    free(user);
    free(db);
    return st;
}

static hoist_status do_database_observe(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    json_t *d = NULL;
    char *user = do_db_user(r), *db = do_db_dbname(r);
    hoist_status st = do_db_find(vp, ctx, r, &d);
    if (st == HOIST_OK && !d)
        st = HOIST_E_NOTFOUND;
    if (st == HOIST_OK) {
        out->outputs = do_db_outputs(r, d, user, db);
        const char *s = json_string_value(json_object_get(d, "status")) ?: "";
        if (strcmp(s, "online") != 0)
            st = do_pending(vp, ctx, out, s);
    }
    json_decref(d);
    free(user);
    free(db);
    return st;
}

static hoist_status do_database_destroy(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                        hoist_result *out)
{
    do_prov *p = vp;
    json_t *d = NULL;
    hoist_status st = do_db_find(p, ctx, r, &d);
    if (st != HOIST_OK || !d)
        goto cleanup;
    char *path = hoist_kit_xasprintf("/v2/databases/%s",
                                     json_string_value(json_object_get(d, "id")));
    p->host->log(ctx, HOIST_LOG_INFO, "deleting database cluster %s",
                 json_string_value(json_object_get(d, "name")));
    st = do_req(p, ctx, "DELETE", path, NULL, 0, DO_Q404, NULL, NULL);
    free(path);
    if (st == HOIST_E_NOTFOUND) {
        st = HOIST_OK;
        goto cleanup;
    }
    if (st == HOIST_OK) {
        /* Gone only when DO no longer lists it. */
        json_t *again = NULL;
        hoist_resource nr = *r;
        nr.recorded = NULL;
        st = do_db_find(p, ctx, &nr, &again);
        if (st == HOIST_OK && again)
            st = do_pending(p, ctx, out, "deleting");
        json_decref(again);
    }
cleanup:
    json_decref(d);
    return st;
}

static hoist_status do_database_connection(void *vp, hoist_ctx *ctx, const hoist_resource *r,
                                           hoist_db_connection *out)
{
    do_prov *p = vp;
    json_t *d = NULL, *u = NULL;
    char *user = do_db_user(r), *db = do_db_dbname(r);
    hoist_status st = do_db_find(p, ctx, r, &d);
    if (st == HOIST_OK && !d) {
        char *name = do_name(r, r->name, DO_NAME_MAX_DATABASE);
        st = p->host->fail(ctx, HOIST_E_NOTFOUND, "database cluster %s not found: deploy first",
                           name);
        free(name);
    }
    if (st != HOIST_OK)
        goto cleanup;
    const char *engine = json_string_value(json_object_get(d, "engine")) ?: "pg";
    json_t *c = json_object_get(d, "private_connection");
    if (!json_is_object(c) || !json_object_get(c, "host"))
        c = json_object_get(d, "connection");
    const char *pw = json_string_value(json_object_get(c, "password"));
    if (do_has_members(engine)) {
        char *path = hoist_kit_xasprintf("/v2/databases/%s/users/%s",
                                         json_string_value(json_object_get(d, "id")), user);
        st = do_req(p, ctx, "GET", path, NULL, 0, 0, NULL, &u);
        free(path);
        if (st != HOIST_OK)
            goto cleanup;
        pw = json_string_value(json_object_get(json_object_get(u, "user"), "password"));
    } else {
        free(user);
        user = hoist_kit_xstrdup(json_string_value(json_object_get(c, "user")) ?: "default");
    }
    if (!pw || !json_string_value(json_object_get(c, "host"))) {
        st = p->host->fail(ctx, HOIST_E_INTERNAL,
                           "database cluster answer has no host or password for %s", user);
        goto cleanup;
    }
    p->host->secret(ctx, pw);
    out->host = hoist_kit_xstrdup(json_string_value(json_object_get(c, "host")));
    out->port = (int)json_integer_value(json_object_get(c, "port"));
    out->user = hoist_kit_xstrdup(user);
    out->password = hoist_kit_xstrdup(pw);
    out->database = hoist_kit_xstrdup(do_has_members(engine) ? db : "");
    out->tls = json_is_true(json_object_get(c, "ssl"));
cleanup:
    json_decref(d);
    json_decref(u);
    free(user);
    free(db);
    return st;
}

const hoist_database_ops do_database_ops = {
    .struct_size = sizeof do_database_ops,
    .ensure = do_database_ensure,
    .observe = do_database_observe,
    .destroy = do_database_destroy,
    .connection = do_database_connection,
};
