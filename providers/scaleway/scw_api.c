/*
 * scw_api.c - request and error plumbing for the Scaleway driver: one call
 * through the host's HTTP (retries, tracing, TLS policy, redaction are the
 * core's), Scaleway's error shapes mapped to hoist statuses, paginated
 * look-ups, names, tags.
 */
#include "scw_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *scw_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "field: reason (help); ..." from Scaleway's details array, or NULL. */
static char *scw_details(json_t *err)
{
    json_t *d = json_object_get(err, "details"), *v;
    size_t i;
    hoist_kit_buf out = {0};
    json_array_foreach(d, i, v) {
        const char *arg = scw_str(v, "argument_name"), *why = scw_str(v, "reason");
        const char *help = scw_str(v, "help_message"), *res = scw_str(v, "resource");
        char *one;
        if (res) /* quotas_exceeded: {resource, quota, current} */
            one = hoist_kit_xasprintf("%s: %lld of %lld used", res,
                                      (long long)json_integer_value(json_object_get(v, "current")),
                                      (long long)json_integer_value(json_object_get(v, "quota")));
        else
            one = hoist_kit_xasprintf("%s: %s%s%s%s", arg ? arg : "?", why ? why : "invalid",
                                      help && *help ? " (" : "", help && *help ? help : "",
                                      help && *help ? ")" : "");
        if (out.len)
            hoist_kit_buf_puts(&out, "; ");
        hoist_kit_buf_puts(&out, one);
        free(one);
    }
    return out.s;
}

/*
 * Map a failed answer.  Scaleway's JSON carries "type" (invalid_arguments,
 * quotas_exceeded, permissions_denied, denied_authentication, not_found,
 * transient_state, resource_locked, precondition_failed, out_of_stock,
 * conflict...), "message" and sometimes "details".
 */
static hoist_status scw_error(scw_prov *p, hoist_ctx *ctx, const hoist_http_response *resp,
                              const char *what, unsigned flags)
{
    json_t *e = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *type = scw_str(e, "type"), *msg = scw_str(e, "message");
    long s = resp->status;
    hoist_status st;
    char *det = NULL;
    if (!type) {
        json_decref(e);
        return p->host->http_error(ctx, resp, what);
    }
    det = scw_details(e);
    if (!strcmp(type, "invalid_arguments") || !strcmp(type, "invalid_request_error"))
        st = HOIST_E_INVALID;
    else if (!strcmp(type, "quotas_exceeded") || !strcmp(type, "out_of_stock"))
        st = HOIST_E_QUOTA;
    else if (!strcmp(type, "denied_authentication") || !strcmp(type, "permissions_denied") ||
             s == 401 || s == 403)
        st = HOIST_E_AUTH;
    else if (!strcmp(type, "not_found") || s == 404)
        st = HOIST_E_NOTFOUND;
    else if (!strcmp(type, "transient_state") || !strcmp(type, "too_many_requests") || s == 429 ||
             s >= 500)
        st = HOIST_E_TRANSIENT; /* the object is busy or the service is: try again */
    else if (!strcmp(type, "conflict") || !strcmp(type, "resource_locked") ||
             !strcmp(type, "precondition_failed") || s == 409 || s == 412)
        st = HOIST_E_CONFLICT;
    else
        st = s >= 400 && s < 500 ? HOIST_E_INVALID : HOIST_E_INTERNAL;
    if ((flags & SCW_QUIET_BUSY) && (st == HOIST_E_CONFLICT || !strcmp(type, "transient_state"))) {
        /* the caller waits for the object to settle: not an error */
        p->host->log(ctx, HOIST_LOG_DEBUG, "%s: %s, waiting", what, msg ? msg : type);
        st = HOIST_E_CONFLICT;
        goto cleanup;
    }
    p->host->fail(ctx, st, "%s: HTTP %ld %s: %s%s%s%s", what, s, type, msg ? msg : "(no message)",
                  det ? " [" : "", det ? det : "", det ? "]" : "");
    if (st == HOIST_E_AUTH)
        p->host->log(ctx, HOIST_LOG_ERROR,
                     "check SCW_SECRET_KEY (or secret_key in the scw profile) and that the API key "
                     "may manage project %s",
                     p->project_id);
cleanup:
    free(det);
    json_decref(e);
    return st;
}

hoist_status scw_call(scw_prov *p, hoist_ctx *ctx, const char *method, const char *path,
                      json_t *body, unsigned flags, json_t **out)
{
    char *url = hoist_kit_xasprintf("%s%s", p->api_url, path);
    char *auth = hoist_kit_xasprintf("X-Auth-Token: %s", p->secret_key);
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *op = hoist_kit_xasprintf("%s %s", method, path);
    const char *headers[] = {auth, "Content-Type: application/json", "Accept: application/json",
                             NULL};
    hoist_http_request req = {.struct_size = sizeof req,
                              .method = method,
                              .url = url,
                              .headers = headers,
                              .body = payload,
                              .body_len = payload ? strlen(payload) : 0,
                              .flags = p->http_flags | (flags & SCW_IDEMPOTENT ? HOIST_HTTP_IDEMPOTENT : 0),
                              .operation = op};
    hoist_http_response resp = {.struct_size = sizeof resp};
    hoist_status st;
    /* Trace and counter name: method and path, without the query. */
    char *q = strchr(op, '?');
    if (q)
        *q = '\0';
    if (out)
        *out = NULL;
    st = p->host->http(ctx, &req, &resp);
    if (st != HOIST_OK)
        goto cleanup;
    if (resp.status == 404) {
        st = HOIST_E_NOTFOUND; /* the caller decides whether absence is an error */
        goto cleanup_resp;
    }
    if (resp.status >= 300) {
        char *what = hoist_kit_xasprintf("%s %s", method, path);
        st = scw_error(p, ctx, &resp, what, flags);
        free(what);
        goto cleanup_resp;
    }
    if (out && resp.body_len) {
        json_error_t je;
        *out = json_loadb(resp.body, resp.body_len, 0, &je);
        if (!*out)
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "%s %s: unreadable answer: %s", method, path,
                               je.text);
    }
cleanup_resp:
    p->host->http_response_free(&resp);
cleanup:
    free(url);
    free(auth);
    free(payload);
    free(op);
    return st;
}

/* Every tag of @want is in @have. */
static int scw_has_tags(json_t *have, json_t *want)
{
    size_t i, j;
    json_t *w, *h;
    json_array_foreach(want, i, w) {
        int found = 0;
        json_array_foreach(have, j, h) found |= json_equal(h, w);
        if (!found)
            return 0;
    }
    return 1;
}

hoist_status scw_find(scw_prov *p, hoist_ctx *ctx, const char *path, const char *key,
                      const char *name, json_t *tags, const char *extra_query, unsigned flags,
                      json_t **out)
{
    hoist_status st = HOIST_OK;
    long seen = 0;
    *out = NULL;
    for (int page = 1;; page++) {
        json_t *ans = NULL, *items, *v;
        size_t i;
        char *url = hoist_kit_xasprintf("%s?name=%s%s%s&page=%d&page_size=100%s", path, name,
                                        flags & SCW_BY_PROJECT ? "&project_id=" : "",
                                        flags & SCW_BY_PROJECT ? p->project_id : "", page,
                                        extra_query ? extra_query : "");
        st = scw_call(p, ctx, "GET", url, NULL, 0, &ans);
        if (st == HOIST_E_NOTFOUND)
            st = p->host->fail(ctx, HOIST_E_INTERNAL, "GET %s: 404 on a list", url);
        free(url);
        if (st != HOIST_OK)
            return st;
        items = json_object_get(ans, key);
        json_array_foreach(items, i, v) {
            const char *n = scw_str(v, "name");
            if (!*out && n && !strcmp(n, name) &&
                (!tags || scw_has_tags(json_object_get(v, "tags"), tags)))
                *out = json_incref(v);
        }
        seen += (long)json_array_size(items);
        long total = (long)json_integer_value(json_object_get(ans, "total_count"));
        size_t n = json_array_size(items);
        json_decref(ans);
        if (*out || n == 0 || seen >= total)
            return HOIST_OK;
        if (p->host->cancelled(ctx))
            return p->host->fail(ctx, HOIST_E_CANCELLED, "cancelled while listing %s", path);
    }
}

hoist_status scw_get_recorded(scw_prov *p, hoist_ctx *ctx, json_t *recorded, const char *id_key,
                              const char *path_prefix, json_t **out)
{
    const char *id = scw_str(recorded, id_key);
    *out = NULL;
    if (json_is_true(json_object_get(recorded, "deleting")))
        return HOIST_OK; /* see scw_delete */
    if (!id || !*id)
        return HOIST_OK;
    char *path = hoist_kit_xasprintf("%s/%s", path_prefix, id);
    hoist_status st = scw_call(p, ctx, "GET", path, NULL, 0, out);
    free(path);
    return st == HOIST_E_NOTFOUND ? HOIST_OK : st;
}

json_t *scw_tags(const hoist_resource *r, const char *kind)
{
    return json_pack("[s+,s+,s+++]", "hoist:project=", r->project, "hoist:env=", r->env,
                     "hoist:resource=", kind, "/", r->name);
}

char *scw_name(const hoist_resource *r, const char *suffix, size_t max)
{
    return hoist_kit_name(max, 0, "hoist", r->project, r->env, suffix, (char *)NULL);
}

const char *scw_region(scw_prov *p, const hoist_resource *r)
{
    const char *s = scw_str(r->spec, "region");
    return s && *s ? s : p->region;
}

json_t *scw_need(const hoist_resource *r, const char *kind, const char *name)
{
    return json_object_get(json_object_get(r->needs, kind), name);
}

hoist_status scw_pending(scw_prov *p, hoist_ctx *ctx, hoist_result *out, const char *phase)
{
    out->poll_ms = p->poll_ms;
    /* The core copies (ABI 1.3): @phase may live in an answer freed next. */
    if (phase && HOIST_HOST_HAS(p->host, progress))
        p->host->progress(ctx, "%s", phase);
    return HOIST_PENDING;
}

hoist_status scw_locate(scw_prov *p, hoist_ctx *ctx, json_t *recorded, const char *id_key,
                        const char *base, const char *list_key, const char *name, json_t *tags,
                        const char *extra_query, json_t **out)
{
    hoist_status st = scw_get_recorded(p, ctx, recorded, id_key, base, out);
    if (st != HOIST_OK || *out)
        return st;
    return scw_find(p, ctx, base, list_key, name, tags, extra_query, SCW_BY_PROJECT, out);
}

hoist_status scw_delete(scw_prov *p, hoist_ctx *ctx, const char *path, json_t *obj,
                        hoist_result *out, const char *phase)
{
    const char *status = scw_str(obj, "status");
    json_t *ans = NULL;
    hoist_status st = HOIST_OK;
    /* already leaving: asking again would only earn a transient_state answer */
    if (!status || strcmp(status, "deleting") != 0)
        st = scw_call(p, ctx, "DELETE", path, NULL, SCW_QUIET_BUSY, &ans);
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    else if (st == HOIST_OK && ans && (status = scw_str(ans, "status")) && strcmp(status, "deleted"))
        st = HOIST_PENDING; /* 200 with the object, now "deleting" (204: gone at once) */
    else if (st == HOIST_OK && !ans && obj && scw_str(obj, "status") &&
             !strcmp(scw_str(obj, "status"), "deleting"))
        st = HOIST_PENDING;
    else if (st == HOIST_E_CONFLICT)
        st = HOIST_PENDING;
    json_decref(ans);
    if (st != HOIST_PENDING)
        return st;
    /* From now on the object is found by name (a list answers 200 with it
       or without it), never by a recorded id that would answer 404. */
    json_decref(out->outputs);
    out->outputs = json_pack("{s:b}", "deleting", 1);
    return scw_pending(p, ctx, out, phase);
}
