/*
 * do_api.c - request and error plumbing of the DigitalOcean driver: every
 * call goes through host->http (retries, tracing, TLS policy, redaction),
 * every failed answer through host->http_error (DO's {"id","message"}).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* timegm */
#endif
#include "do.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

hoist_status do_req(do_prov *p, hoist_ctx *ctx, const char *method, const char *path,
                    json_t *body, unsigned flags, unsigned quiet, long *status, json_t **out)
{
    const hoist_host *h = p->host;
    char *url = hoist_kit_xasprintf("%s%s", p->api, path);
    char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
    const char *headers[] = {p->auth, "Accept: application/json",
                             data ? "Content-Type: application/json" : NULL, NULL};
    hoist_http_request rq = {.struct_size = sizeof rq,
                             .method = method,
                             .url = url,
                             .headers = headers,
                             .body = data,
                             .body_len = data ? strlen(data) : 0,
                             .flags = p->http_flags | flags};
    hoist_http_response rs = {.struct_size = sizeof rs};
    hoist_status st;
    if (out)
        *out = NULL;
    if (status)
        *status = 0;
    st = h->http(ctx, &rq, &rs);
    if (st != HOIST_OK)
        goto cleanup;
    if (status)
        *status = rs.status;
    unsigned q = rs.status == 404 ? DO_Q404 : rs.status == 409 ? DO_Q409 : rs.status == 422 ? DO_Q422 : 0;
    if (q & quiet) {
        st = q == DO_Q404 ? HOIST_E_NOTFOUND : q == DO_Q409 ? HOIST_E_CONFLICT : HOIST_E_INVALID;
        if (out)
            *out = json_loadb(rs.body, rs.body_len, 0, NULL);
    } else if (rs.status < 200 || rs.status >= 300) {
        char *what = hoist_kit_xasprintf("%s %s", method, path);
        st = h->http_error(ctx, &rs, what);
        free(what);
    } else if (out && rs.body_len > 0) {
        json_error_t e;
        *out = json_loadb(rs.body, rs.body_len, 0, &e);
        if (!*out)
            st = h->fail(ctx, HOIST_E_INTERNAL, "%s %s: unexpected answer (not JSON: %s)", method,
                         path, e.text);
    }
    h->http_response_free(&rs);
cleanup:
    free(url);
    free(data);
    return st;
}

hoist_status do_report(do_prov *p, hoist_ctx *ctx, hoist_status st, const char *what, json_t *err)
{
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *id = json_string_value(json_object_get(err, "id"));
    return p->host->fail(ctx, st, "%s: %s%s%s", what, id ? id : "error", msg ? ": " : "",
                         msg ? msg : "");
}

hoist_status do_list_all(do_prov *p, hoist_ctx *ctx, const char *path, const char *key,
                         json_t **out)
{
    json_t *all = json_array();
    hoist_status st = HOIST_OK;
    const char *sep = strchr(path, '?') ? "&" : "?";
    for (long page = 1;; page++) {
        char *u = hoist_kit_xasprintf("%s%spage=%ld&per_page=200", path, sep, page);
        json_t *j = NULL;
        st = do_req(p, ctx, "GET", u, NULL, 0, 0, NULL, &j);
        free(u);
        if (st != HOIST_OK)
            break;
        json_t *items = json_object_get(j, key);
        if (!json_is_array(items)) {
            json_decref(j);
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "GET %s: the answer has no \"%s\" list",
                               path, key);
            break;
        }
        json_array_extend(all, items);
        int more = json_object_get(json_object_get(json_object_get(j, "links"), "pages"),
                                   "next") != NULL &&
                   json_array_size(items) > 0;
        json_decref(j);
        if (!more)
            break;
    }
    if (st != HOIST_OK) {
        json_decref(all);
        all = NULL;
    }
    *out = all;
    return st;
}

char *do_slug(const char *s, char repl)
{
    char *d = hoist_kit_xstrdup(s);
    for (char *c = d; *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
        else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            *c = repl;
    }
    return d;
}

char *do_name(const hoist_resource *r, const char *name, size_t max)
{
    /* DO names must not end with a dash; a long name ends with a hash of the
       whole, so two resources never share one by a cut. */
    return hoist_kit_name(max, HOIST_KIT_NAME_NO_END_DASH, r->project, r->env, name, (char *)NULL);
}

char *do_legacy_name(const hoist_resource *r, const char *name, size_t max)
{
    char *s = hoist_kit_name((size_t)-1, HOIST_KIT_NAME_NO_END_DASH, r->project, r->env, name,
                             (char *)NULL);
    size_t n = strlen(s);
    if (n <= max) {
        free(s);
        return NULL;
    }
    for (n = max; n > 1 && s[n - 1] == '-'; n--)
        ;
    s[n] = '\0';
    return s;
}

int do_is_named(json_t *o, const hoist_resource *r, const char *kind, const char *name,
                const char *legacy)
{
    const char *n = json_string_value(json_object_get(o, "name"));
    if (!n)
        return 0;
    if (!strcmp(n, name))
        return 1;
    if (!legacy || strcmp(n, legacy) != 0)
        return 0;
    json_t *want = do_tags(r, kind), *have = json_object_get(o, "tags"), *t;
    size_t i;
    int all = 1;
    json_array_foreach(want, i, t) all &= do_has_tag(have, json_string_value(t));
    json_decref(want);
    return all;
}

json_t *do_pick_named(json_t *list, const hoist_resource *r, const char *kind, const char *name,
                      const char *legacy)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) if (do_is_named(o, r, kind, name, NULL)) return o;
    if (legacy)
        json_array_foreach(list, i, o) if (do_is_named(o, r, kind, name, legacy)) return o;
    return NULL;
}

/* Tags allow letters, digits, ':', '-', '_' (up to 255): anything else becomes '_'. */
static char *do_tag(const char *a, const char *b)
{
    char *t = hoist_kit_xasprintf("hoist:%s:%s", a, b);
    for (char *c = t; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == ':' || *c == '-' || *c == '_'))
            *c = '_';
    if (strlen(t) > 255)
        t[255] = '\0';
    return t;
}

json_t *do_tags(const hoist_resource *r, const char *kind)
{
    char *res = hoist_kit_xasprintf("%s-%s", kind, r->name);
    char *a = do_tag("project", r->project), *b = do_tag("env", r->env), *c = do_tag("resource", res);
    json_t *t = json_pack("[s,s,s]", a, b, c);
    free(res);
    free(a);
    free(b);
    free(c);
    return t;
}

int do_has_tag(json_t *tags, const char *tag)
{
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), tag))
        return 1;
    return 0;
}

int do_owned(json_t *tags, const hoist_resource *r)
{
    char *a = do_tag("project", r->project), *b = do_tag("env", r->env);
    int ok = do_has_tag(tags, a) && do_has_tag(tags, b);
    free(a);
    free(b);
    return ok;
}

const char *do_region(do_prov *p, const hoist_resource *r)
{
    const char *s = json_string_value(json_object_get(r->spec, "region"));
    return s && *s ? s : p->region;
}

const char *do_recorded_id(const hoist_resource *r)
{
    const char *s = json_string_value(json_object_get(r->recorded, "id"));
    return s && *s ? s : NULL;
}

const char *do_need(const hoist_resource *r, const char *kind, const char *name, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(r->needs, kind), name), key));
}

int64_t do_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

hoist_status do_pending(do_prov *p, hoist_ctx *ctx, hoist_result *out, const char *phase)
{
    out->poll_ms = p->poll_ms;
    /* The core copies (ABI 1.3): @phase may live in an answer freed next. */
    if (phase && HOIST_HOST_HAS(p->host, progress))
        p->host->progress(ctx, "%s", phase);
    return HOIST_PENDING;
}
