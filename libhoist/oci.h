/*
 * oci.h - application images without a daemon: assemble an OCI image from
 * an application directory on top of a base image (or hand a Dockerfile to
 * docker/podman/buildah when one is usable), keep it in a local OCI image
 * layout (.hoist/images), and push it to any registry with registry.h.
 *
 * Images are reproducible: the same inputs (base manifest digest, source
 * files and modes, build settings, SOURCE_DATE_EPOCH) give the same
 * manifest digest, so an unchanged application is neither rebuilt nor
 * pushed again.  Tags are content-addressed ("h" + 24 hex digits of the
 * inputs' hash); deployments should use the manifest digest.
 *
 * Concurrency: building or pushing different applications from several
 * threads at once is safe (blobs are written through temporary files and
 * renamed; the layout's index is updated under an flock).  Do not build
 * the same application twice at the same time.
 */
#ifndef HOIST_OCI_H
#define HOIST_OCI_H

#include <hoist/provider.h>
#include <stddef.h>

#include "config.h"

/* Options shared by build and push.  All pointers borrowed; zero = default. */
typedef struct hoist_image_opts {
    const char *cache_dir;  /* the OCI layout; NULL = <cfg->dir>/.hoist/images */
    /* The destination registry, when known at build time: a base image on
       the same registry host is pulled with these credentials (others use
       Docker's config.json), and its blobs are later mounted, not copied. */
    const hoist_registry_credentials *registry;
    int force;              /* rebuild the layer even when the cache matches */
    const char *workdir;    /* where the app goes in the image; NULL = /app */
} hoist_image_opts;

/* A built image (all strings owned; free with hoist_image_clear). */
typedef struct hoist_image {
    char *app;
    char *builder;          /* "native", "docker", "podman", "buildah", or "prebuilt" */
    char *prebuilt;         /* for `image: REF`: REF, deployed as is; else NULL */
    char *tag;              /* content-addressed tag */
    char *manifest_digest;  /* "sha256:..." of the manifest in the cache */
    char *media_type;       /* of the manifest */
    char *base;             /* "host/repo@sha256:..." of the base, or NULL (scratch) */
    char *base_host;        /* registry host and repository of the base, for mounts */
    char *base_repository;
    int cached;             /* 1 when the app layer came from the cache (nothing rebuilt) */
    char *cache_dir;
} hoist_image;

/*
 * hoist_image_build - build @app's image into the cache.
 * @cfg: the loaded hoist.yml (its dir and project name); @app: one of its apps.
 * For `image: REF` nothing is built: @out->prebuilt = REF, builder "prebuilt".
 * Otherwise `build.builder` (auto|native|docker|podman|buildah) chooses the
 * builder; auto uses an external one only when the app has a Dockerfile and
 * the engine answers (`docker info` / `podman info`; buildah needs none).
 * The native builder runs the app's build step (hoist_app_build_step) on
 * this host in a temporary copy of the directory (ignore patterns applied,
 * no node_modules/.git/.hoist), output in <cfg->dir>/.hoist/logs/
 * APP-image-build.log, and layers the copy as the step left it; the step is
 * part of the layer's cache key.  The layer is as reproducible as the step's
 * output.  The image's Cmd is hoist_app_start_command (else the base's).
 * Returns HOIST_OK and fills @out, or an error reported once in @ctx naming
 * the app, the reference or file involved and the reason.  Thread-safe for
 * different apps.
 */
hoist_status hoist_image_build(hoist_ctx *ctx, const hoist_config *cfg, const hoist_app_cfg *app,
                               const hoist_image_opts *o, hoist_image *out);
void hoist_image_clear(hoist_image *img);

/* What a push did (strings owned; free with hoist_image_pushed_clear). */
typedef struct hoist_image_pushed {
    char *reference;        /* "host/repo:tag" */
    char *digest_reference; /* "host/repo@sha256:..." - what a deployment should use */
    int uploaded, mounted, existing; /* blobs by outcome */
    int manifest_existed;   /* 1 when the registry already had this tag at this digest */
} hoist_image_pushed;

/*
 * hoist_image_push - push @img from the cache to @dest (the provider's
 * registry credentials: endpoint, repository, username, password; borrowed).
 * Only HEAD requests are made when the registry already has the image.
 * Blobs the registry lacks are mounted from another repository of the same
 * registry when known (the base image's, or one hoist pushed to), else
 * uploaded in chunks.  A prebuilt image is not pushed (HOIST_OK, @out
 * names the prebuilt reference).  Thread-safe for different images.
 */
hoist_status hoist_image_push(hoist_ctx *ctx, const hoist_image *img, const hoist_image_opts *o,
                              const hoist_registry_credentials *dest, hoist_image_pushed *out);
void hoist_image_pushed_clear(hoist_image_pushed *p);

/* ---- building blocks, exposed for tests and the benchmark ---- */

/* .dockerignore-style patterns: '*', '?', '[...]', '**', leading '!' re-includes. */
typedef struct hoist_ignore {
    char **pats;
    size_t n;
    int negations;
} hoist_ignore;

/* Load @dir/.dockerignore and @dir/.hoistignore (either may be absent), then @extra
   (a JSON array of strings, may be NULL).  Free with hoist_ignore_free. */
void hoist_ignore_load(hoist_ignore *ig, const char *dir, json_t *extra);
void hoist_ignore_add(hoist_ignore *ig, const char *pattern);
void hoist_ignore_free(hoist_ignore *ig);
/* 1 if the relative path @rel ("src/a.js") is excluded. */
int hoist_ignore_match(const hoist_ignore *ig, const char *rel);

/*
 * hoist_layer_write - write @dir's files (minus @ig) as a reproducible
 * gzip'd tar under @prefix ("app", no leading '/') to the file @out_path,
 * in one streaming pass.  Entries sorted, mtime @mtime, uid/gid 0, no user
 * or group names.  @diff_id and @digest receive "sha256:..." of the tar and
 * of the gzip stream; *@size the compressed size.
 */
hoist_status hoist_layer_write(hoist_ctx *ctx, const char *dir, const char *prefix,
                               const hoist_ignore *ig, long long mtime, const char *out_path,
                               char diff_id[72], char digest[72], long long *size);

#endif
