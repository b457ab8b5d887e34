/*
 * sim_store.c - the resource store of hoist-sim: resources with time-driven
 * status machines, the creation log, and optional persistence.  Callers
 * hold the global lock (see sim.h); nothing here locks.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sim_res *sim_head, *sim_tail; /* creation order, so lists are stable */
static json_t *sim_creations;        /* [{cloud,type,name,count}] */
static const sim_kind *sim_kinds[64];
static size_t sim_nkinds;

void sim_kind_add(const sim_kind *k)
{
    if (sim_nkinds == sizeof sim_kinds / sizeof sim_kinds[0])
        abort(); /* a programming error: raise the table size */
    sim_kinds[sim_nkinds++] = k;
}

const sim_kind *sim_kind_lookup(const char *cloud, const char *type)
{
    for (size_t i = 0; i < sim_nkinds; i++)
        if (strcmp(sim_kinds[i]->cloud, cloud) == 0 && strcmp(sim_kinds[i]->type, type) == 0)
            return sim_kinds[i];
    return NULL;
}

void sim_creation_record(const char *cloud, const char *type, const char *name)
{
    size_t i;
    json_t *e;
    if (!sim_creations)
        sim_creations = json_array();
    json_array_foreach(sim_creations, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "cloud")), cloud) == 0 &&
            strcmp(json_string_value(json_object_get(e, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(e, "name")), name ? name : "") == 0) {
            json_object_set_new(e, "count",
                                json_integer(json_integer_value(json_object_get(e, "count")) + 1));
            return;
        }
    }
    json_array_append_new(sim_creations, json_pack("{s:s,s:s,s:s,s:i}", "cloud", cloud, "type",
                                                   type, "name", name ? name : "", "count", 1));
}

static void sim_link(sim_res *r)
{
    r->next = NULL;
    if (sim_tail)
        sim_tail->next = r;
    else
        sim_head = r;
    sim_tail = r;
}

sim_res *sim_res_new(const sim_kind *k, const char *id, const char *name, const char *region,
                     const char *parent, json_t *body, json_t *tags)
{
    sim_res *r = hoist_xcalloc(1, sizeof *r);
    r->kind = k;
    r->id = hoist_xstrdup(id);
    r->name = hoist_xstrdup(name ? name : "");
    r->region = hoist_xstrdup(region);
    r->parent = hoist_xstrdup(parent);
    r->body = body ? body : json_object();
    r->tags = tags ? tags : json_array();
    r->priv = json_object();
    r->created_ms = sim_wall_ms();
    r->ready_ms = r->created_ms + (k->pending ? sim_delay_ms(k->delay_key) : 0);
    sim_link(r);
    sim_creation_record(k->cloud, k->type, r->name);
    return r;
}

sim_res *sim_res_get(const sim_kind *k, const char *id)
{
    for (sim_res *r = sim_head; r; r = r->next)
        if (r->kind == k && strcmp(r->id, id) == 0)
            return r;
    return NULL;
}

sim_res *sim_res_next(sim_res *r, const sim_kind *k, const char *parent)
{
    for (r = r ? r->next : NULL; r; r = r->next)
        if (r->kind == k && (!parent || (r->parent && strcmp(r->parent, parent) == 0)))
            return r;
    return NULL;
}

sim_res *sim_res_first(const sim_kind *k, const char *parent)
{
    sim_res *r = sim_head;
    if (r && r->kind == k && (!parent || (r->parent && strcmp(r->parent, parent) == 0)))
        return r;
    return sim_res_next(r, k, parent);
}

const char *sim_res_status(const sim_res *r)
{
    if (r->delete_ms)
        return r->kind->deleting;
    if (r->kind->pending && sim_wall_ms() < r->ready_ms)
        return r->kind->pending;
    return r->kind->ready;
}

json_t *sim_res_render(sim_res *r)
{
    const char *st = sim_res_status(r);
    if (st && r->kind->set_status)
        r->kind->set_status(r->body, st);
    return r->body;
}

void sim_res_restart(sim_res *r)
{
    if (r->kind->pending)
        r->ready_ms = sim_wall_ms() + sim_delay_ms(r->kind->delay_key);
}

static void sim_res_free(sim_res *r)
{
    free(r->id);
    free(r->name);
    free(r->region);
    free(r->parent);
    json_decref(r->tags);
    json_decref(r->body);
    json_decref(r->priv);
    free(r);
}

static void sim_unlink(sim_res *r)
{
    sim_res *prev = NULL;
    for (sim_res *x = sim_head; x; prev = x, x = x->next)
        if (x == r) {
            if (prev)
                prev->next = r->next;
            else
                sim_head = r->next;
            if (sim_tail == r)
                sim_tail = prev;
            return;
        }
}

void sim_res_delete(sim_res *r)
{
    if (r->delete_ms)
        return;
    if (!r->kind->deleting) {
        sim_unlink(r);
        sim_res_free(r);
        return;
    }
    r->delete_ms = sim_wall_ms();
    r->gone_ms = r->delete_ms + sim_delay_ms(r->kind->delay_key);
}

void sim_res_delete_children(const sim_kind *k, const char *parent)
{
    sim_res *r = sim_res_first(k, parent);
    while (r) {
        sim_res *next = sim_res_next(r, k, parent);
        sim_res_delete(r);
        r = next;
    }
}

void sim_store_sweep(void)
{
    long long now = sim_wall_ms();
    sim_res *r = sim_head;
    while (r) {
        sim_res *next = r->next;
        if (r->delete_ms && now >= r->gone_ms) {
            sim_unlink(r);
            sim_res_free(r);
        }
        r = next;
    }
}

void sim_store_reset(void)
{
    while (sim_head) {
        sim_res *r = sim_head;
        sim_head = r->next;
        sim_res_free(r);
    }
    sim_tail = NULL;
    json_decref(sim_creations);
    sim_creations = NULL;
    sim_calls_reset();
    sim_store_save();
}

json_t *sim_store_resources(void)
{
    json_t *a = json_array();
    char ts[32];
    for (sim_res *r = sim_head; r; r = r->next) {
        const char *st = sim_res_status(r);
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:O,s:o,s:s,s:b}", "cloud", r->kind->cloud, "type",
                              r->kind->type, "id", r->id, "name", r->name, "tags", r->tags,
                              "status", st ? json_string(st) : json_null(), "created_at",
                              sim_rfc3339(r->created_ms, ts), "deleting", r->delete_ms != 0);
        if (r->region)
            json_object_set_new(e, "region", json_string(r->region));
        if (r->parent)
            json_object_set_new(e, "parent", json_string(r->parent));
        json_array_append_new(a, e);
    }
    return json_pack("{s:o}", "resources", a);
}

json_t *sim_store_creations(void)
{
    return json_pack("{s:O}", "creations", sim_creations ? sim_creations : json_array());
}

/* ------------------------------------------------------------------ persistence */

static char *sim_state_path(void)
{
    return hoist_xasprintf("%s/hoist-sim-state.json", sim_cfg.state_dir);
}

void sim_store_save(void)
{
    if (!sim_cfg.state_dir)
        return;
    json_t *a = json_array();
    for (sim_res *r = sim_head; r; r = r->next)
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:O,s:O,s:O,s:I,s:I,s:I,s:I}", "cloud",
                         r->kind->cloud, "type", r->kind->type, "id", r->id, "name", r->name,
                         "region", r->region, "parent", r->parent, "tags", r->tags, "body",
                         r->body, "priv", r->priv, "created_ms", (json_int_t)r->created_ms,
                         "ready_ms", (json_int_t)r->ready_ms, "delete_ms",
                         (json_int_t)r->delete_ms, "gone_ms", (json_int_t)r->gone_ms));
    json_t *doc = json_pack("{s:i,s:o,s:O}", "version", 1, "resources", a, "creations",
                            sim_creations ? sim_creations : json_array());
    char *path = sim_state_path(), *tmp = hoist_xasprintf("%s.tmp", path);
    /* write-then-rename: a crash leaves the old file or the new one, never half */
    if (json_dump_file(doc, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "hoist-sim: cannot save state to %s: %s\n", path, hoist_strerror(errno));
        unlink(tmp);
    }
    json_decref(doc);
    free(path);
    free(tmp);
}

int sim_store_load(char **err)
{
    if (!sim_cfg.state_dir)
        return 0;
    char *path = sim_state_path();
    json_error_t jerr;
    int rc = -1;
    json_t *doc = NULL;
    if (access(path, F_OK) != 0) {
        rc = 0; /* first run */
        goto cleanup;
    }
    if (!(doc = json_load_file(path, 0, &jerr))) {
        *err = hoist_xasprintf("%s:%d: %s (delete the file to start empty)", path, jerr.line,
                               jerr.text);
        goto cleanup;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "resources"), i, e) {
        const char *cloud = json_string_value(json_object_get(e, "cloud"));
        const char *type = json_string_value(json_object_get(e, "type"));
        const sim_kind *k = cloud && type ? sim_kind_lookup(cloud, type) : NULL;
        if (!k) {
            *err = hoist_xasprintf("%s: unknown resource kind %s/%s", path, cloud ? cloud : "?",
                                   type ? type : "?");
            goto cleanup;
        }
        sim_res *r = hoist_xcalloc(1, sizeof *r);
        r->kind = k;
        r->id = hoist_xstrdup(json_string_value(json_object_get(e, "id")));
        r->name = hoist_xstrdup(json_string_value(json_object_get(e, "name")));
        r->region = hoist_xstrdup(json_string_value(json_object_get(e, "region")));
        r->parent = hoist_xstrdup(json_string_value(json_object_get(e, "parent")));
        r->tags = json_incref(json_object_get(e, "tags"));
        r->body = json_incref(json_object_get(e, "body"));
        r->priv = json_incref(json_object_get(e, "priv"));
        r->created_ms = json_integer_value(json_object_get(e, "created_ms"));
        r->ready_ms = json_integer_value(json_object_get(e, "ready_ms"));
        r->delete_ms = json_integer_value(json_object_get(e, "delete_ms"));
        r->gone_ms = json_integer_value(json_object_get(e, "gone_ms"));
        if (!r->id || !r->body || !r->tags || !r->priv) {
            *err = hoist_xasprintf("%s: resource %zu is incomplete", path, i);
            sim_res_free(r);
            goto cleanup;
        }
        sim_link(r);
    }
    json_decref(sim_creations);
    sim_creations = json_incref(json_object_get(doc, "creations"));
    rc = 0;
cleanup:
    json_decref(doc);
    free(path);
    return rc;
}
