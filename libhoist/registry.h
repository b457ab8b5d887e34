/*
 * registry.h - a client of the OCI distribution API (the Docker registry
 * HTTP API v2) on top of the core's HTTP transport (http.h).
 *
 * Auth: anonymous, basic, and bearer tokens (the WWW-Authenticate challenge
 * names the realm, service and scope; the token is fetched with the basic
 * credentials and cached per scope).  Plain http:// only to loopback
 * registries.  Blob downloads and uploads move at most one chunk
 * (HOIST_REGISTRY_CHUNK) in memory at a time.
 *
 * A hoist_registry is a session with one registry; it is not thread-safe:
 * use one per thread (they are cheap; connections are reused per thread by
 * http.c anyway).
 */
#ifndef HOIST_REGISTRY_H
#define HOIST_REGISTRY_H

#include <hoist/host.h>
#include <stddef.h>

#define HOIST_REGISTRY_CHUNK (8u << 20)

#define HOIST_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HOIST_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HOIST_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HOIST_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HOIST_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HOIST_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/*
 * hoist_image_ref - a parsed image reference "[host[:port]/]path[:tag][@digest]".
 * Docker's rules: the first component is a registry host when it contains
 * '.' or ':' or is "localhost"; otherwise the registry is docker.io and a
 * one-component path gets "library/".  All strings owned.
 */
typedef struct hoist_image_ref {
    char *registry;   /* "docker.io", "127.0.0.1:5000" */
    char *repository; /* "library/node" */
    char *tag;        /* or NULL (then "latest" unless @digest is set) */
    char *digest;     /* "sha256:<64 hex>" or NULL */
} hoist_image_ref;

/*
 * hoist_image_ref_parse - parse @s into @out (zeroed first).
 * Returns 0, or -1 with *@err a malloc'd reason (caller frees).
 */
int hoist_image_ref_parse(const char *s, hoist_image_ref *out, char **err);
/* Free the members of @r (not @r itself). */
void hoist_image_ref_free(hoist_image_ref *r);
/* The tag or digest to ask the registry for ("latest" by default); borrowed. */
const char *hoist_image_ref_reference(const hoist_image_ref *r);

/*
 * hoist_registry_base_url - the API base URL for registry @host: docker.io
 * maps to https://registry-1.docker.io; a loopback host (127.x, localhost,
 * [::1]) to http://; anything else to https://.  A @host that already has a
 * scheme is kept (trailing '/' removed).  Returns a new string.
 */
char *hoist_registry_base_url(const char *host);

/*
 * hoist_docker_config_auth - credentials for registry @host from Docker's
 * config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 * the `auths` entry whose key is @host, https://@host or (for docker.io)
 * https://index.docker.io/v1/, decoded from base64 "user:pass", or its
 * "username"/"password" fields.  On success *@user and *@pass are malloc'd
 * (the password is registered as a secret) and 1 is returned; 0 when no
 * entry exists (credential helpers are not supported).  Thread-safe.
 */
int hoist_docker_config_auth(const char *host, char **user, char **pass);

typedef struct hoist_registry hoist_registry;

/*
 * hoist_registry_new - a session with the registry at @endpoint (a host, or
 * a URL with scheme).  @username/@password: basic credentials (both or
 * neither; may be NULL for anonymous access; copied, password registered as
 * a secret).  Free with hoist_registry_free.
 */
hoist_registry *hoist_registry_new(const char *endpoint, const char *username,
                                   const char *password);
void hoist_registry_free(hoist_registry *reg);
/* "host[:port]" of the registry, for messages and references; borrowed. */
const char *hoist_registry_host(const hoist_registry *reg);

/*
 * hoist_registry_get_manifest - GET /v2/@repo/manifests/@ref, accepting OCI
 * and Docker v2 manifests and indexes.  On HOIST_OK: *@body (malloc'd,
 * NUL-terminated), *@len, *@media_type (malloc'd) and *@digest (malloc'd,
 * sha256 of the body, checked against Docker-Content-Digest and against
 * @ref when it is a digest).  Errors are reported in @ctx and name the
 * registry and the reference (HOIST_E_NOTFOUND for an unknown image).
 */
hoist_status hoist_registry_get_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                         const char *ref, char **body, size_t *len,
                                         char **media_type, char **digest);

/*
 * hoist_registry_head_manifest - HEAD the manifest @ref; *@digest is its
 * Docker-Content-Digest (malloc'd) or NULL when the registry has no such
 * manifest (HOIST_OK either way).
 */
hoist_status hoist_registry_head_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                          const char *ref, char **digest);

/* hoist_registry_blob_exists - HEAD the blob; *@exists is 1 or 0. */
hoist_status hoist_registry_blob_exists(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                        const char *digest, int *exists);

/*
 * hoist_registry_fetch_blob - download blob @digest of @size bytes into
 * @path (written through a temporary file and renamed, so @path only ever
 * holds a verified blob), in ranged GETs of HOIST_REGISTRY_CHUNK bytes.
 * Follows the registry's redirect to blob storage (without credentials).
 */
hoist_status hoist_registry_fetch_blob(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                       const char *digest, long long size, const char *path);

/*
 * hoist_registry_push_blob - make blob @digest (the file @path, @size bytes)
 * present in @repo: nothing if HEAD finds it; else a cross-repository mount
 * from @mount_from (a repository of the same registry known to hold it; may
 * be NULL); else an upload (POST, then PATCH chunks following the latest
 * Location, then PUT ?digest=; small blobs try a monolithic POST first and
 * continue with PUT when the registry ignores it).  *@how (may be NULL) is
 * set to "exists", "mounted" or "uploaded" (static strings).
 */
hoist_status hoist_registry_push_blob(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                      const char *digest, long long size, const char *path,
                                      const char *mount_from, const char **how);

/*
 * hoist_registry_put_manifest - PUT @body (of @media_type) as @repo:@ref;
 * checks the registry's Docker-Content-Digest against the body's sha256.
 */
hoist_status hoist_registry_put_manifest(hoist_registry *reg, hoist_ctx *ctx, const char *repo,
                                         const char *ref, const char *media_type,
                                         const char *body, size_t len);

/*
 * hoist_www_authenticate_parse - split a WWW-Authenticate value into its
 * scheme (*@scheme, malloc'd, e.g. "Bearer") and parameters (*@params, a new
 * JSON object of lower-cased names to strings; quoted values unescaped).
 * Returns 0 or -1 if the value is malformed.  Exposed for tests.
 */
int hoist_www_authenticate_parse(const char *value, char **scheme, json_t **params);

#endif
