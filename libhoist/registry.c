/* registry.c - OCI distribution API client over http.c (see registry.h). */
#include "autoconfig.h"
#include "registry.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SMALL_BLOB (1u << 20) /* blobs up to this size go up in one request */

/* ---- references ---- */

static int valid_digest(const char *d)
{
    if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return 0;
    return 1;
}

static int valid_path(const char *p)
{
    /* Components of [a-z0-9] separated by '.', '_', '__', '-' runs, joined by '/'. */
    if (!*p)
        return 0;
    int prev_sep = 1;
    for (; *p; p++) {
        int alnum = islower((unsigned char)*p) || isdigit((unsigned char)*p);
        if (alnum) {
            prev_sep = 0;
        } else if (strchr("._-/", *p)) {
            if (prev_sep)
                return 0;
            prev_sep = *p == '/';
            if (*p != '/' && (p[1] == '/' || !p[1]))
                return 0;
        } else {
            return 0;
        }
    }
    return !prev_sep;
}

int hoist_image_ref_parse(const char *s, hoist_image_ref *out, char **err)
{
    memset(out, 0, sizeof *out);
    char *work = hoist_xstrdup(s ? s : "");
    char *rest = work, *at = strchr(work, '@');
    if (at) {
        *at = '\0';
        if (!valid_digest(at + 1)) {
            *err = hoist_xasprintf("invalid digest '%s' in image reference '%s' (expected "
                                   "sha256: and 64 lower-case hex digits)", at + 1, s);
            goto fail;
        }
        out->digest = hoist_xstrdup(at + 1);
    }
    char *slash = strchr(rest, '/');
    if (slash && (memchr(rest, '.', slash - rest) || memchr(rest, ':', slash - rest) ||
                  (slash - rest == 9 && !strncmp(rest, "localhost", 9)))) {
        out->registry = hoist_xstrndup(rest, slash - rest);
        rest = slash + 1;
    } else {
        out->registry = hoist_xstrdup("docker.io");
    }
    char *colon = strrchr(rest, ':');
    if (colon) {
        *colon = '\0';
        const char *t = colon + 1;
        size_t tl = strlen(t);
        int ok = tl > 0 && tl <= 128 && (isalnum((unsigned char)*t) || *t == '_');
        for (size_t i = 0; ok && i < tl; i++)
            ok = isalnum((unsigned char)t[i]) || strchr("_.-", t[i]);
        if (!ok) {
            *err = hoist_xasprintf("invalid tag '%s' in image reference '%s'", t, s);
            goto fail;
        }
        out->tag = hoist_xstrdup(t);
    }
    if (!valid_path(rest)) {
        *err = hoist_xasprintf("invalid image reference '%s': the repository '%s' must be "
                               "lower-case letters, digits and . _ - separated by /", s, rest);
        goto fail;
    }
    if (!strcmp(out->registry, "docker.io") && !strchr(rest, '/'))
        out->repository = hoist_xasprintf("library/%s", rest);
    else
        out->repository = hoist_xstrdup(rest);
    free(work);
    return 0;
fail:
    free(work);
    hoist_image_ref_free(out);
    return -1;
}

void hoist_image_ref_free(hoist_image_ref *r)
{
    free(r->registry);
    free(r->repository);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof *r);
}

const char *hoist_image_ref_reference(const hoist_image_ref *r)
{
    return r->digest ? r->digest : r->tag ? r->tag : "latest";
}

static int host_is_loopback(const char *host)
{
    size_t n = strcspn(host, "/");
    char *h = hoist_xstrndup(host, n);
    char *colon = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
    if (h[0] == '[' && colon)
        colon[1] = '\0';
    else if (colon)
        *colon = '\0';
    int lo = !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]");
    free(h);
    return lo;
}

char *hoist_registry_base_url(const char *host)
{
    char *u;
    if (strstr(host, "://"))
        u = hoist_xstrdup(host);
    else if (!strcmp(host, "docker.io") || !strcmp(host, "index.docker.io"))
        u = hoist_xstrdup("https://registry-1.docker.io");
    else
        u = hoist_xasprintf("%s://%s", host_is_loopback(host) ? "http" : "https", host);
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
        u[--n] = '\0';
    return u;
}

/* ---- docker config.json ---- */


int hoist_docker_config_auth(const char *host, char **user, char **pass)
{
    *user = *pass = NULL;
    const char *dir = getenv("DOCKER_CONFIG");
    const char *home = getenv("HOME");
    char *path = dir && *dir ? hoist_xasprintf("%s/config.json", dir)
                             : hoist_xasprintf("%s/.docker/config.json", home ? home : "");
    json_t *root = json_load_file(path, 0, NULL);
    json_t *auths = json_object_get(root, "auths");
    free(path);
    int found = 0;
    char *keys[3] = {hoist_xstrdup(host), hoist_xasprintf("https://%s", host),
                     !strcmp(host, "docker.io") ? hoist_xstrdup("https://index.docker.io/v1/")
                                                : hoist_xasprintf("http://%s", host)};
    for (int i = 0; i < 3 && !found; i++) {
        json_t *e = json_object_get(auths, keys[i]);
        const char *a = json_string_value(json_object_get(e, "auth"));
        const char *u = json_string_value(json_object_get(e, "username"));
        const char *p = json_string_value(json_object_get(e, "password"));
        if (a) {
            char *dec = hoist_base64_decode(a, NULL), *c = dec ? strchr(dec, ':') : NULL;
            if (c) {
                *user = hoist_xstrndup(dec, c - dec);
                *pass = hoist_xstrdup(c + 1);
                found = 1;
            }
            free(dec);
        } else if (u && p) {
            *user = hoist_xstrdup(u);
            *pass = hoist_xstrdup(p);
            found = 1;
        }
    }
    for (int i = 0; i < 3; i++)
        free(keys[i]);
    json_decref(root);
    if (found)
        hoist_secret_add(*pass);
    return found;
}

/* ---- WWW-Authenticate ---- */

int hoist_www_authenticate_parse(const char *value, char **scheme, json_t **params)
{
    *scheme = NULL;
    *params = NULL;
    const char *p = value;
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " ");
    if (!n)
        return -1;
    json_t *o = json_object();
    char *sch = hoist_xstrndup(p, n);
    p += n;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t kn = strcspn(p, "= ,");
        if (!kn || p[kn] != '=')
            goto bad;
        char *key = hoist_xstrndup(p, kn);
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        p += kn + 1;
        hoist_buf v = {0};
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                hoist_buf_add(&v, p, 1);
            }
            if (*p != '"') {
                free(key);
                hoist_buf_free(&v);
                goto bad;
            }
            p++;
        } else {
            size_t vn = strcspn(p, ",");
            while (vn && p[vn - 1] == ' ')
                vn--;
            hoist_buf_add(&v, p, vn);
            p += vn;
        }
        json_object_set_new(o, key, json_string(v.s ? v.s : ""));
        free(key);
        hoist_buf_free(&v);
    }
    *scheme = sch;
    *params = o;
    return 0;
bad:
    free(sch);
    json_decref(o);
    return -1;
}

/* ---- the session ---- */

struct hoist_registry {
    char *base;  /* "https://host[:port]", no trailing slash */
    char *host;  /* "host[:port]" */
    char *user, *pass;
    char *authz; /* the Authorization value in use, or NULL */
    char *authz_scope; /* scope the bearer token was issued for */
    unsigned flags;
};

hoist_registry *hoist_registry_new(const char *endpoint, const char *username,
                                   const char *password)
{
    hoist_registry *r = hoist_xcalloc(1, sizeof *r);
    r->base = hoist_registry_base_url(endpoint);
    const char *h = strstr(r->base, "://") + 3;
    r->host = hoist_xstrdup(h);
    if (!strcmp(r->host, "registry-1.docker.io")) {
        free(r->host);
        r->host = hoist_xstrdup("docker.io");
    }
    if (username && password) {
        r->user = hoist_xstrdup(username);
        r->pass = hoist_xstrdup(password);
        hoist_secret_add(password);
    }
    /* The endpoint was configured explicitly (provider credentials, the
       user's --registry or hoist.yml), which is what the transport's plain
       loopback rule asks for. */
    if (!strncmp(r->base, "http://", 7))
        r->flags |= HOIST_HTTP_ALLOW_PLAIN_LOOPBACK;
    return r;
}

void hoist_registry_free(hoist_registry *reg)
{
    if (!reg)
        return;
    free(reg->base);
    free(reg->host);
    free(reg->user);
    free(reg->pass);
    free(reg->authz);
    free(reg->authz_scope);
    free(reg);
}

const char *hoist_registry_host(const hoist_registry *reg)
{
    return reg->host;
}

/* A short reason from a registry error body: "CODE: message (detail)". */
static char *error_reason(const hoist_http_response *resp)
{
    json_t *j = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    char *s;
    if (e) {
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        s = hoist_xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    } else if (resp->body_len && resp->body_len < 200 && !memchr(resp->body, '<', resp->body_len)) {
        s = hoist_xstrndup(resp->body, strcspn(resp->body, "\r\n"));
    } else {
        s = hoist_xstrdup("");
    }
    json_decref(j);
    return s;
}

static hoist_status status_of(long http)
{
    if (http == 401 || http == 403)
        return HOIST_E_AUTH;
    if (http == 404)
        return HOIST_E_NOTFOUND;
    if (http == 429 || http >= 500)
        return HOIST_E_TRANSIENT;
    return HOIST_E_INVALID;
}

/* Report an unexpected answer to @what once in @ctx. */
static hoist_status reg_fail(hoist_registry *reg, hoist_ctx *ctx, const hoist_http_response *resp,
                             const char *what)
{
    char *reason = error_reason(resp);
    hoist_status st = status_of(resp->status);
    const char *hint = "";
    if (resp->status == 401)
        hint = reg->user ? " (the registry rejected the credentials of user '%s'; check "
                           "the provider's registry login or DOCKER_CONFIG)"
                         : " (no credentials for this registry: add them to the provider or to "
                           "Docker's config.json with `docker login`)";
    else if (resp->status == 403)
        hint = " (the credentials are valid but not allowed to do this)";
    char *h = hoist_xasprintf(hint, reg->user ? reg->user : "");
    hoist_ctx_fail(ctx, st, "registry %s: %s: HTTP %ld%s%s%s", reg->host, what, resp->status,
                   *reason ? " " : "", reason, h);
    free(h);
    free(reason);
    return st;
}

/* Run @req through http.c in a private context so that a transport error
   is reported once, prefixed with the registry and @what. */
static hoist_status reg_http(hoist_registry *reg, hoist_ctx *ctx, const char *what,
                             hoist_http_request *req, hoist_http_response *resp)
{
    hoist_ctx sub;
    hoist_ctx_init(&sub, NULL, NULL);
    sub.cancel = ctx->cancel;
    sub.deadline_ms = ctx->deadline_ms;
    hoist_status st = hoist_http(&sub, req, resp);
    if (st != HOIST_OK)
        hoist_ctx_fail(ctx, st, "registry %s: %s: %s", reg->host, what,
                       hoist_ctx_error(&sub) ? hoist_ctx_error(&sub) : "request failed");
    hoist_ctx_cleanup(&sub);
    return st;
}

/* Get a bearer token for the challenge @params; sets reg->authz. */
static hoist_status fetch_token(hoist_registry *reg, hoist_ctx *ctx, json_t *params,
                                const char *what)
{
    const char *realm = json_string_value(json_object_get(params, "realm"));
    const char *service = json_string_value(json_object_get(params, "service"));
    const char *scope = json_string_value(json_object_get(params, "scope"));
    hoist_status st = HOIST_OK;
    hoist_buf url = {0};
    char *auth_hdr = NULL;
    json_t *j = NULL;
    hoist_http_response resp = {0};
    if (!realm)
        return hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                              "registry %s: %s: bearer challenge without a realm", reg->host,
                              what);
    hoist_buf_puts(&url, realm);
    char sep = strchr(realm, '?') ? '&' : '?';
    /* Percent-encode by hand: the transport wants URLs already encoded. */
    const char *keys[2] = {"service", "scope"};
    const char *vals[2] = {service, scope};
    for (int k = 0; k < 2; k++) {
        if (!vals[k])
            continue;
        /* Docker sends one scope parameter per space-separated scope. */
        char *copy = hoist_xstrdup(vals[k]);
        char *save = NULL;
        for (char *one = k ? strtok_r(copy, " ", &save) : copy; one;
             one = k ? strtok_r(NULL, " ", &save) : NULL) {
            hoist_buf_printf(&url, "%c%s=", sep, keys[k]);
            sep = '&';
            for (const unsigned char *c = (const unsigned char *)one; *c; c++) {
                if (isalnum(*c) || strchr("-._~", *c))
                    hoist_buf_add(&url, c, 1);
                else
                    hoist_buf_printf(&url, "%%%02X", *c);
            }
        }
        free(copy);
    }
    const char *hdrs[2] = {NULL, NULL};
    if (reg->user) {
        char *up = hoist_xasprintf("%s:%s", reg->user, reg->pass);
        char *b = hoist_base64_encode(up, strlen(up));
        auth_hdr = hoist_xasprintf("Authorization: Basic %s", b);
        hoist_secret_add(b);
        free(up);
        free(b);
        hdrs[0] = auth_hdr;
    }
    hoist_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url.s,
                              .headers = hdrs, .operation = "GET registry token",
                              .flags = reg->flags};
    char *what2 = hoist_xasprintf("%s: token from %s", what, realm);
    st = reg_http(reg, ctx, what2, &req, &resp);
    if (st == HOIST_OK && resp.status != 200)
        st = reg_fail(reg, ctx, &resp, what2);
    free(what2);
    if (st != HOIST_OK)
        goto cleanup;
    j = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (!tok || !*tok)
        tok = json_string_value(json_object_get(j, "access_token"));
    if (!tok || !*tok) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                            "registry %s: %s: the token service %s answered without a token",
                            reg->host, what, realm);
        goto cleanup;
    }
    hoist_secret_add(tok);
    free(reg->authz);
    reg->authz = hoist_xasprintf("Bearer %s", tok);
    free(reg->authz_scope);
    reg->authz_scope = hoist_xstrdup(scope);
cleanup:
    json_decref(j);
    hoist_http_response_free(&resp);
    free(auth_hdr);
    hoist_buf_free(&url);
    return st;
}

/*
 * One registry request with authentication: sends the current credentials,
 * and on a 401 answers the challenge (basic or bearer) and tries once more.
 * @url: absolute, or a path starting with '/' (joined to the base).
 * @hdrs: extra "Name: value" lines, NULL-terminated, or NULL.
 * On HOIST_OK the caller reads @resp (any status) and frees it.
 */
static hoist_status reg_request(hoist_registry *reg, hoist_ctx *ctx, const char *what,
                                const char *method, const char *url, const char *const *hdrs,
                                const void *body, size_t len, const char *op,
                                hoist_http_response *resp)
{
    char *full = url[0] == '/' ? hoist_xasprintf("%s%s", reg->base, url) : hoist_xstrdup(url);
    hoist_status st = HOIST_OK;
    memset(resp, 0, sizeof *resp);
    for (int round = 0; round < 2; round++) {
        const char *h[16];
        size_t n = 0;
        char *authz = reg->authz ? hoist_xasprintf("Authorization: %s", reg->authz) : NULL;
        if (authz)
            h[n++] = authz;
        for (size_t i = 0; hdrs && hdrs[i] && n < 15; i++)
            h[n++] = hdrs[i];
        h[n] = NULL;
        hoist_http_request req = {.struct_size = sizeof req, .method = method, .url = full,
                                  .headers = h, .body = body, .body_len = len,
                                  .operation = op, .flags = reg->flags};
        st = reg_http(reg, ctx, what, &req, resp);
        free(authz);
        if (st != HOIST_OK || resp->status != 401 || round == 1)
            break;
        const char *chal = hoist_http_header(resp, "WWW-Authenticate");
        char *scheme = NULL;
        json_t *params = NULL;
        if (!chal || hoist_www_authenticate_parse(chal, &scheme, &params) != 0)
            break; /* the caller reports the 401 */
        int retry = 0;
        if (!strcasecmp(scheme, "Basic")) {
            if (reg->user && !(reg->authz && !strncmp(reg->authz, "Basic ", 6))) {
                char *up = hoist_xasprintf("%s:%s", reg->user, reg->pass);
                char *b = hoist_base64_encode(up, strlen(up));
                hoist_secret_add(b);
                free(reg->authz);
                reg->authz = hoist_xasprintf("Basic %s", b);
                free(up);
                free(b);
                retry = 1;
            }
        } else if (!strcasecmp(scheme, "Bearer")) {
            hoist_http_response_free(resp);
            st = fetch_token(reg, ctx, params, what);
            retry = st == HOIST_OK;
        }
        free(scheme);
        json_decref(params);
        if (!retry)
            break;
        hoist_http_response_free(resp);
    }
    free(full);
    return st;
}

static const char *const manifest_accept =
    "Accept: " HOIST_MT_OCI_MANIFEST ", " HOIST_MT_OCI_INDEX ", " HOIST_MT_DOCKER_MANIFEST
    ", " HOIST_MT_DOCKER_LIST;

static char *sha256_digest(const void *p, size_t n)
{
    char hex[65];
    hoist_sha256_hex(p, n, hex);
    return hoist_xasprintf("sha256:%s", hex);
}

hoist_status hoist_registry_get_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                         const char *ref, char **body, size_t *len,
                                         char **media_type, char **digest)
{
    *body = *media_type = *digest = NULL;
    *len = 0;
    hoist_http_response resp;
    char *path = hoist_xasprintf("/v2/%s/manifests/%s", repo, ref);
    char *what = hoist_xasprintf("manifest of %s/%s%s%s", reg->host, repo,
                                 strchr(ref, ':') ? "@" : ":", ref);
    const char *hdrs[] = {manifest_accept, NULL};
    hoist_status st = reg_request(reg, ctx, what, "GET", path, hdrs, NULL, 0,
                                  "GET /v2/{name}/manifests/{ref}", &resp);
    if (st != HOIST_OK)
        goto cleanup;
    if (resp.status != 200) {
        st = reg_fail(reg, ctx, &resp, what);
        goto cleanup;
    }
    char *d = sha256_digest(resp.body, resp.body_len);
    const char *hd = hoist_http_header(&resp, "Docker-Content-Digest");
    if ((hd && strcmp(hd, d) != 0) || (!strncmp(ref, "sha256:", 7) && strcmp(ref, d) != 0)) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                            "registry %s: %s: the manifest received has digest %s, expected %s",
                            reg->host, what, d, hd && strcmp(hd, d) ? hd : ref);
        free(d);
        goto cleanup;
    }
    *digest = d;
    const char *ct = hoist_http_header(&resp, "Content-Type");
    json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    *media_type = hoist_xstrdup(mt ? mt : ct ? ct : HOIST_MT_OCI_MANIFEST);
    json_decref(j);
    *body = resp.body;
    *len = resp.body_len;
    resp.body = NULL;
cleanup:
    hoist_http_response_free(&resp);
    free(path);
    free(what);
    return st;
}

/* HEAD @path: *@found 1 (with *@digest = Docker-Content-Digest when
   @digest is not NULL) or 0 on 404; any other answer is an error. */
static hoist_status reg_head(hoist_registry *reg, hoist_ctx *ctx, char *path, char *what,
                             const char *const *hdrs, const char *op, int *found, char **digest)
{
    hoist_http_response resp;
    hoist_status st = reg_request(reg, ctx, what, "HEAD", path, hdrs, NULL, 0, op, &resp);
    *found = st == HOIST_OK && resp.status == 200;
    if (*found && digest)
        *digest = hoist_xstrdup(hoist_http_header(&resp, "Docker-Content-Digest"));
    else if (st == HOIST_OK && resp.status != 200 && resp.status != 404)
        st = reg_fail(reg, ctx, &resp, what);
    hoist_http_response_free(&resp);
    free(path);
    free(what);
    return st;
}

hoist_status hoist_registry_head_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                          const char *ref, char **digest)
{
    int found;
    const char *hdrs[] = {manifest_accept, NULL};
    *digest = NULL;
    return reg_head(reg, ctx, hoist_xasprintf("/v2/%s/manifests/%s", repo, ref),
                    hoist_xasprintf("manifest %s:%s", repo, ref), hdrs,
                    "HEAD /v2/{name}/manifests/{ref}", &found, digest);
}

hoist_status hoist_registry_blob_exists(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                        const char *digest, int *exists)
{
    return reg_head(reg, ctx, hoist_xasprintf("/v2/%s/blobs/%s", repo, digest),
                    hoist_xasprintf("blob %s in %s", digest, repo), NULL,
                    "HEAD /v2/{name}/blobs/{digest}", exists, NULL);
}

/* Resolve a Location header against the registry (absolute or relative). */
static char *resolve_location(hoist_registry *reg, const char *loc)
{
    if (strstr(loc, "://"))
        return hoist_xstrdup(loc);
    if (loc[0] == '/')
        return hoist_xasprintf("%s%s", reg->base, loc);
    return hoist_xasprintf("%s/%s", reg->base, loc);
}

hoist_status hoist_registry_fetch_blob(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                       const char *digest, long long size, const char *path)
{
    hoist_status st = HOIST_OK;
    char *tmp = hoist_tmp_name(path, "part");
    char *url = hoist_xasprintf("/v2/%s/blobs/%s", repo, digest);
    char *what = hoist_xasprintf("blob %s of %s/%s", digest, reg->host, repo);
    char *redirect = NULL;
    FILE *fp = fopen(tmp, "wb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    long long got = 0;
    hoist_http_response resp = {0};
    if (!fp) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", tmp,
                            hoist_strerror(errno));
        goto cleanup;
    }
    while (got < size) {
        long long end = got + HOIST_REGISTRY_CHUNK - 1;
        if (end >= size)
            end = size - 1;
        char range[80];
        snprintf(range, sizeof range, "Range: bytes=%lld-%lld", got, end);
        const char *hdrs[] = {range, NULL};
        if (redirect) {
            /* Blob storage (a CDN, S3): no registry credentials there. */
            hoist_http_request req = {.struct_size = sizeof req, .method = "GET", .url = redirect,
                                      .headers = hdrs, .operation = "GET blob storage",
                                      .flags = reg->flags};
            st = reg_http(reg, ctx, what, &req, &resp);
        } else {
            st = reg_request(reg, ctx, what, "GET", url, size ? hdrs : NULL, NULL, 0,
                             "GET /v2/{name}/blobs/{digest}", &resp);
        }
        if (st != HOIST_OK)
            goto cleanup;
        if ((resp.status == 307 || resp.status == 302 || resp.status == 303) && !redirect &&
            hoist_http_header(&resp, "Location")) {
            redirect = resolve_location(reg, hoist_http_header(&resp, "Location"));
            hoist_http_response_free(&resp);
            continue;
        }
        if (resp.status != 200 && resp.status != 206) {
            st = reg_fail(reg, ctx, &resp, what);
            goto cleanup;
        }
        if (resp.status == 200 && got > 0) { /* Range ignored: the whole blob again */
            rewind(fp);
            EVP_DigestInit_ex(md, EVP_sha256(), NULL);
            got = 0;
        }
        if (fwrite(resp.body, 1, resp.body_len, fp) != resp.body_len) {
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot write %s: %s", tmp,
                                hoist_strerror(errno));
            goto cleanup;
        }
        EVP_DigestUpdate(md, resp.body, resp.body_len);
        got += (long long)resp.body_len;
        int stop = resp.status == 200 || resp.body_len == 0;
        hoist_http_response_free(&resp);
        if (stop)
            break;
    }
    unsigned char h[32];
    EVP_DigestFinal_ex(md, h, NULL);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    if (got != size || strcmp(hex, digest + 7) != 0) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                            "registry %s: %s: received %lld bytes with sha256:%s, expected %lld "
                            "bytes with %s", reg->host, what, got, hex, size, digest);
        goto cleanup;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        fp = NULL;
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot store %s: %s", path,
                            hoist_strerror(errno));
        goto cleanup;
    }
    fp = NULL;
cleanup:
    hoist_http_response_free(&resp);
    if (fp)
        fclose(fp);
    if (st != HOIST_OK)
        unlink(tmp);
    EVP_MD_CTX_free(md);
    free(tmp);
    free(url);
    free(what);
    free(redirect);
    return st;
}

/* Append "?digest=D" or "&digest=D" to @loc. */
static char *with_digest(hoist_registry *reg, const char *loc, const char *digest)
{
    char *abs = resolve_location(reg, loc);
    char *u = hoist_xasprintf("%s%cdigest=%s", abs, strchr(abs, '?') ? '&' : '?', digest);
    free(abs);
    return u;
}

hoist_status hoist_registry_push_blob(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                      const char *digest, long long size, const char *path,
                                      const char *mount_from, const char **how)
{
    int exists = 0;
    hoist_status st;
    hoist_http_response resp = {0};
    char *loc = NULL, *u = NULL, *chunk = NULL;
    char *what = hoist_xasprintf("upload of blob %s to %s", digest, repo);
    FILE *fp = NULL;
    const char *dummy;
    if (!how)
        how = &dummy;
    *how = "exists";
    if ((st = hoist_registry_blob_exists(reg, ctx, repo, digest, &exists)) != HOIST_OK || exists)
        goto cleanup;

    fp = fopen(path, "rb");
    if (!fp) {
        st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot read blob %s: %s", path,
                            hoist_strerror(errno));
        goto cleanup;
    }
    chunk = hoist_xmalloc(size < HOIST_REGISTRY_CHUNK ? (size_t)size + 1 : HOIST_REGISTRY_CHUNK);
    const char *octet[] = {"Content-Type: application/octet-stream", NULL};
    if (mount_from && strcmp(mount_from, repo) != 0) {
        u = hoist_xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, digest, mount_from);
        st = reg_request(reg, ctx, what, "POST", u, NULL, NULL, 0,
                         "POST /v2/{name}/blobs/uploads/ (mount)", &resp);
        if (st != HOIST_OK)
            goto cleanup;
        if (resp.status == 201) {
            *how = "mounted";
            goto cleanup;
        }
    } else {
        /* Small blobs: try the monolithic POST ?digest=; registries that do
           not support it (docker-registry 2.8) answer 202 and a session. */
        size_t n = size <= SMALL_BLOB ? fread(chunk, 1, (size_t)size, fp) : 0;
        int mono = size <= SMALL_BLOB && (long long)n == size;
        u = mono ? hoist_xasprintf("/v2/%s/blobs/uploads/?digest=%s", repo, digest)
                 : hoist_xasprintf("/v2/%s/blobs/uploads/", repo);
        st = reg_request(reg, ctx, what, "POST", u, mono ? octet : NULL, mono ? chunk : NULL,
                         mono ? n : 0, "POST /v2/{name}/blobs/uploads/", &resp);
        if (st != HOIST_OK)
            goto cleanup;
        if (mono && resp.status == 201) {
            *how = "uploaded";
            goto cleanup;
        }
    }
    if (resp.status != 202 || !hoist_http_header(&resp, "Location")) {
        st = reg_fail(reg, ctx, &resp, what);
        goto cleanup;
    }
    loc = hoist_xstrdup(hoist_http_header(&resp, "Location"));
    hoist_http_response_free(&resp);
    rewind(fp);

    /* PATCH every chunk but the last, following the latest Location; the
       last chunk travels with the closing PUT. */
    long long sent = 0;
    for (;;) {
        size_t n = fread(chunk, 1, HOIST_REGISTRY_CHUNK, fp);
        if (ferror(fp)) {
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL, "cannot read blob %s: %s", path,
                                hoist_strerror(errno));
            goto cleanup;
        }
        int last = sent + (long long)n >= size;
        if (last) {
            free(u);
            u = with_digest(reg, loc, digest);
            st = reg_request(reg, ctx, what, "PUT", u, octet, chunk, n,
                             "PUT /v2/{name}/blobs/uploads/{uuid}", &resp);
            if (st == HOIST_OK && resp.status != 201 && resp.status != 204)
                st = reg_fail(reg, ctx, &resp, what);
            break;
        }
        char range[80];
        snprintf(range, sizeof range, "Content-Range: %lld-%lld", sent, sent + (long long)n - 1);
        const char *ph[] = {octet[0], range, NULL};
        free(u);
        u = resolve_location(reg, loc);
        st = reg_request(reg, ctx, what, "PATCH", u, ph, chunk, n,
                         "PATCH /v2/{name}/blobs/uploads/{uuid}", &resp);
        if (st != HOIST_OK)
            goto cleanup;
        if (resp.status != 202 || !hoist_http_header(&resp, "Location")) {
            st = reg_fail(reg, ctx, &resp, what);
            goto cleanup;
        }
        free(loc);
        loc = hoist_xstrdup(hoist_http_header(&resp, "Location"));
        hoist_http_response_free(&resp);
        sent += (long long)n;
    }
    if (st == HOIST_OK) {
        const char *got = hoist_http_header(&resp, "Docker-Content-Digest");
        if (got && strcmp(got, digest) != 0)
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                                "registry %s: %s: the registry stored digest %s", reg->host,
                                what, got);
        *how = "uploaded";
    }
cleanup:
    hoist_http_response_free(&resp);
    if (fp)
        fclose(fp);
    free(chunk);
    free(loc);
    free(u);
    free(what);
    return st;
}

hoist_status hoist_registry_put_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                         const char *ref, const char *media_type,
                                         const char *body, size_t len)
{
    hoist_http_response resp;
    char *path = hoist_xasprintf("/v2/%s/manifests/%s", repo, ref);
    char *what = hoist_xasprintf("manifest %s:%s", repo, ref);
    char *ct = hoist_xasprintf("Content-Type: %s", media_type);
    const char *hdrs[] = {ct, NULL};
    hoist_status st = reg_request(reg, ctx, what, "PUT", path, hdrs, body, len,
                                  "PUT /v2/{name}/manifests/{ref}", &resp);
    if (st == HOIST_OK && resp.status != 201 && resp.status != 200 && resp.status != 204)
        st = reg_fail(reg, ctx, &resp, what);
    if (st == HOIST_OK) {
        char *d = sha256_digest(body, len);
        const char *got = hoist_http_header(&resp, "Docker-Content-Digest");
        if (got && strcmp(got, d) != 0)
            st = hoist_ctx_fail(ctx, HOIST_E_INTERNAL,
                                "registry %s: %s: stored with digest %s, expected %s", reg->host,
                                what, got, d);
        free(d);
    }
    hoist_http_response_free(&resp);
    free(path);
    free(what);
    free(ct);
    return st;
}
