/*
 * check_oci.c - image assembly without a network: references, challenges,
 * ignore patterns, the reproducible layer (checked with sha256sum, gzip and
 * libarchive, not with our own code), the image config and the cache.
 * The registry half is exercised against a real registry in oci_registry.sh.
 */
#include "config.h"
#include "host.h"
#include "log.h"
#include "oci.h"
#include "registry.h"
#include "testutil.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <utime.h>

START_TEST(ref_parse)
{
    hoist_image_ref r;
    char *err = NULL;
    ck_assert_int_eq(hoist_image_ref_parse("node:20-slim", &r, &err), 0);
    ck_assert_str_eq(r.registry, "docker.io");
    ck_assert_str_eq(r.repository, "library/node");
    ck_assert_str_eq(r.tag, "20-slim");
    ck_assert_ptr_null(r.digest);
    hoist_image_ref_free(&r);

    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char *s = hoist_xasprintf("127.0.0.1:5000/team/api:v1@%s", d);
    ck_assert_int_eq(hoist_image_ref_parse(s, &r, &err), 0);
    ck_assert_str_eq(r.registry, "127.0.0.1:5000");
    ck_assert_str_eq(r.repository, "team/api");
    ck_assert_str_eq(r.tag, "v1");
    ck_assert_str_eq(r.digest, d);
    ck_assert_str_eq(hoist_image_ref_reference(&r), d);
    hoist_image_ref_free(&r);
    free(s);

    ck_assert_int_eq(hoist_image_ref_parse("localhost/x", &r, &err), 0);
    ck_assert_str_eq(r.registry, "localhost");
    ck_assert_str_eq(r.repository, "x");
    ck_assert_str_eq(hoist_image_ref_reference(&r), "latest");
    hoist_image_ref_free(&r);

    ck_assert_int_eq(hoist_image_ref_parse("bitnami/redis", &r, &err), 0);
    ck_assert_str_eq(r.repository, "bitnami/redis");
    hoist_image_ref_free(&r);

    ck_assert_int_eq(hoist_image_ref_parse("Node:20", &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "Node"));
    free(err);
    ck_assert_int_eq(hoist_image_ref_parse("node@sha256:abc", &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid digest"));
    free(err);
    ck_assert_int_eq(hoist_image_ref_parse("node:bad!tag", &r, &err), -1);
    free(err);
    ck_assert_int_eq(hoist_image_ref_parse("a//b", &r, &err), -1);
    free(err);
}
END_TEST

START_TEST(base_urls)
{
    const char *cases[][2] = {
        {"docker.io", "https://registry-1.docker.io"},
        {"127.0.0.1:5000", "http://127.0.0.1:5000"},
        {"localhost:5000", "http://localhost:5000"},
        {"ghcr.io", "https://ghcr.io"},
        {"10.0.0.1:5000", "https://10.0.0.1:5000"},
        {"https://r.example.com/", "https://r.example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = hoist_registry_base_url(cases[i][0]);
        ck_assert_str_eq(u, cases[i][1]);
        free(u);
    }
}
END_TEST

START_TEST(www_authenticate)
{
    char *scheme;
    json_t *p;
    ck_assert_int_eq(hoist_www_authenticate_parse(
                         "Bearer realm=\"https://auth.example/token\",service=\"reg\","
                         "scope=\"repository:a/b:pull,push repository:c:pull\"",
                         &scheme, &p), 0);
    ck_assert_str_eq(scheme, "Bearer");
    ck_assert_str_eq(json_string_value(json_object_get(p, "realm")), "https://auth.example/token");
    ck_assert_str_eq(json_string_value(json_object_get(p, "service")), "reg");
    ck_assert_str_eq(json_string_value(json_object_get(p, "scope")),
                     "repository:a/b:pull,push repository:c:pull");
    free(scheme);
    json_decref(p);
    ck_assert_int_eq(hoist_www_authenticate_parse("Basic Realm=x, charset=\"UTF-8\"", &scheme, &p),
                     0);
    ck_assert_str_eq(scheme, "Basic");
    ck_assert_str_eq(json_string_value(json_object_get(p, "realm")), "x");
    ck_assert_str_eq(json_string_value(json_object_get(p, "charset")), "UTF-8");
    free(scheme);
    json_decref(p);
    ck_assert_int_eq(hoist_www_authenticate_parse("Bearer realm=\"unterminated", &scheme, &p), -1);
    ck_assert_int_eq(hoist_www_authenticate_parse("", &scheme, &p), -1);
}
END_TEST

START_TEST(ignore_patterns)
{
    hoist_ignore ig = {0};
    const char *pats[] = {"# comment", "node_modules", "*.log", "**/*.tmp", "!keep.log",
                          "/build/", "docs/*.md", "  ", NULL};
    for (size_t i = 0; pats[i]; i++)
        hoist_ignore_add(&ig, pats[i]);
    ck_assert_uint_eq(ig.n, 6);
    ck_assert_int_eq(ig.negations, 1);
    ck_assert(hoist_ignore_match(&ig, "node_modules"));
    ck_assert(hoist_ignore_match(&ig, "node_modules/x/index.js")); /* under an ignored dir */
    ck_assert(!hoist_ignore_match(&ig, "src/node_modules")); /* anchored at the root */
    ck_assert(hoist_ignore_match(&ig, "debug.log"));
    ck_assert(!hoist_ignore_match(&ig, "keep.log"));          /* re-included */
    ck_assert(!hoist_ignore_match(&ig, "logs/debug.log"));     /* '*' stops at '/' */
    ck_assert(hoist_ignore_match(&ig, "a.tmp"));
    ck_assert(hoist_ignore_match(&ig, "a/b/c.tmp"));
    ck_assert(hoist_ignore_match(&ig, "build/out.js"));
    ck_assert(hoist_ignore_match(&ig, "docs/readme.md"));
    ck_assert(!hoist_ignore_match(&ig, "docs/sub/readme.md"));
    ck_assert(!hoist_ignore_match(&ig, "src/index.js"));
    hoist_ignore_free(&ig);
}
END_TEST

/* A small app directory with an ignore file, a symlink and an executable. */
static char *make_app(const char *root)
{
    char *app = hoist_xasprintf("%s/app", root);
    char *src = hoist_xasprintf("%s/src", app);
    char *nm = hoist_xasprintf("%s/node_modules/x", app);
    ck_assert_int_eq(hoist_mkdirs(src, 0755), 0);
    ck_assert_int_eq(hoist_mkdirs(nm, 0755), 0);
    free(tu_write(app, "server.js", "require('http').createServer().listen(3000)\n"));
    free(tu_write(app, "package.json", "{\"name\":\"api\"}\n"));
    free(tu_write(app, ".dockerignore", "node_modules\n*.log\n"));
    free(tu_write(app, "debug.log", "noise\n"));
    free(tu_write(src, "b.js", "b\n"));
    free(tu_write(src, "a.js", "a\n"));
    free(tu_write(nm, "index.js", "dep\n"));
    char *run = tu_write(app, "run.sh", "#!/bin/sh\nexec node server.js\n");
    chmod(run, 0755);
    free(run);
    char *lnk = hoist_xasprintf("%s/current", app);
    ck_assert_int_eq(symlink("src", lnk), 0);
    free(lnk);
    free(src);
    free(nm);
    return app;
}

static char *sh_out(const char *cmd)
{
    char *out = NULL;
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    out[strcspn(out, " \n")] = '\0';
    return out;
}

START_TEST(layer_reproducible)
{
    char *root = tu_tmpdir();
    char *app = make_app(root);
    hoist_ignore ig = {0};
    hoist_ignore_load(&ig, app, NULL);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    char d1[72], i1[72], d2[72], i2[72];
    long long s1, s2;
    char *l1 = hoist_xasprintf("%s/l1.tgz", root), *l2 = hoist_xasprintf("%s/l2.tgz", root);
    ck_assert_int_eq(hoist_layer_write(&ctx, app, "app", &ig, 0, l1, i1, d1, &s1), HOIST_OK);
    /* New mtimes on every file must not change a byte of the layer. */
    char *touch = hoist_xasprintf("find '%s' -exec touch -h -d '2001-02-03 04:05:06' {} +", app);
    ck_assert_int_eq(tu_run(touch, NULL), 0);
    ck_assert_int_eq(hoist_layer_write(&ctx, app, "app", &ig, 0, l2, i2, d2, &s2), HOIST_OK);
    ck_assert_str_eq(d1, d2);
    ck_assert_str_eq(i1, i2);
    ck_assert_int_eq(s1, s2);

    /* The digests agree with independent tools. */
    char *cmd = hoist_xasprintf("sha256sum '%s'", l1);
    char *out = sh_out(cmd);
    ck_assert_str_eq(out, d1 + 7);
    free(out);
    free(cmd);
    cmd = hoist_xasprintf("gzip -dc '%s' | sha256sum", l1);
    out = sh_out(cmd);
    ck_assert_str_eq(out, i1 + 7);
    free(out);
    free(cmd);
    struct stat sb;
    ck_assert_int_eq(stat(l1, &sb), 0);
    ck_assert_int_eq(sb.st_size, s1);

    /* The gzip header: no name flag, mtime 0. */
    FILE *fp = fopen(l1, "rb");
    unsigned char h[10];
    ck_assert_uint_eq(fread(h, 1, 10, fp), 10);
    fclose(fp);
    ck_assert_uint_eq(h[0], 0x1f);
    ck_assert_uint_eq(h[1], 0x8b);
    ck_assert_uint_eq(h[3] & 0x08, 0);
    ck_assert_uint_eq(h[4] | h[5] | h[6] | h[7], 0);

    /* The entries, read back with libarchive. */
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_filename(a, l1, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    hoist_buf names = {0};
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        hoist_buf_printf(&names, "%s,", archive_entry_pathname(e));
        ck_assert_int_eq(archive_entry_mtime(e), 0);
        ck_assert_int_eq(archive_entry_uid(e), 0);
        ck_assert_int_eq(archive_entry_gid(e), 0);
        ck_assert(!archive_entry_uname(e) || !*archive_entry_uname(e));
        ck_assert(!archive_entry_gname(e) || !*archive_entry_gname(e));
        if (!strcmp(archive_entry_pathname(e), "app/run.sh"))
            ck_assert_int_eq(archive_entry_perm(e), 0755);
        if (!strcmp(archive_entry_pathname(e), "app/current"))
            ck_assert_str_eq(archive_entry_symlink(e), "src");
    }
    archive_read_free(a);
    ck_assert_str_eq(names.s, "app/,app/.dockerignore,app/current,app/package.json,app/run.sh,"
                              "app/server.js,app/src/,app/src/a.js,app/src/b.js,");
    hoist_buf_free(&names);

    /* Another mtime for the entries gives another (but again stable) digest. */
    ck_assert_int_eq(hoist_layer_write(&ctx, app, "app", &ig, 1700000000, l2, i2, d2, &s2),
                     HOIST_OK);
    ck_assert_str_ne(d1, d2);
    hoist_ctx_cleanup(&ctx);
    hoist_ignore_free(&ig);
    free(touch);
    free(l1);
    free(l2);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

/* Names past ASCII - UTF-8 or not - go into the layer byte for byte (they
   once failed the build: "Can't translate pathname ... to UTF-8"). */
/* A fresh temporary directory in *@root with an empty "app" in it (returned). */
static char *empty_app(char **root)
{
    *root = tu_tmpdir();
    char *app = hoist_xasprintf("%s/app", *root);
    ck_assert_int_eq(hoist_mkdirs(app, 0755), 0);
    return app;
}

START_TEST(layer_non_ascii_names)
{
    char *root;
    char *app = empty_app(&root);
    free(tu_write(app, "caf\xc3\xa9.txt", "utf-8 name\n"));
    free(tu_write(app, "bad\xff.txt", "latin-1 byte\n"));
    free(tu_write(app, "plain.txt", "ascii\n"));
    hoist_ignore ig = {0};
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    char d[72], i[72];
    long long sz;
    char *l = hoist_xasprintf("%s/l.tgz", root);
    ck_assert_int_eq(hoist_layer_write(&ctx, app, "app", &ig, 0, l, i, d, &sz), HOIST_OK);
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    ck_assert_int_eq(archive_read_open_filename(a, l, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    hoist_buf names = {0};
    char data[64];
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        hoist_buf_printf(&names, "%s", archive_entry_pathname(e));
        la_ssize_t n = archive_read_data(a, data, sizeof data - 1);
        if (n > 0) {
            data[n] = '\0';
            hoist_buf_printf(&names, "=%s", data);
        }
        hoist_buf_puts(&names, ",");
    }
    archive_read_free(a);
    ck_assert_str_eq(names.s, "app/,app/bad\xff.txt=latin-1 byte\n,"
                              "app/caf\xc3\xa9.txt=utf-8 name\n,app/plain.txt=ascii\n,");
    /* GNU tar reads the same names back, bytes as they were */
    char *cmd = hoist_xasprintf("cd '%s' && mkdir x && tar -xzf '%s' -C x 2>/dev/null && "
                                "cat x/app/caf\xc3\xa9.txt x/app/bad\xff.txt", root, l);
    char *out = NULL;
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_str_eq(out, "utf-8 name\nlatin-1 byte\n");
    free(out);
    free(cmd);
    hoist_buf_free(&names);
    hoist_ctx_cleanup(&ctx);
    free(l);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

START_TEST(docker_config)
{
    char *root = tu_tmpdir();
    /* "user:p@ss:word" in base64; a password may contain ':' */
    free(tu_write(root, "config.json",
                  "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwQHNzOndvcmQ=\"},"
                  "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
                  "\"https://ghcr.io\":{\"username\":\"g\",\"password\":\"gpassword\"}}}"));
    setenv("DOCKER_CONFIG", root, 1);
    char *u, *p;
    ck_assert_int_eq(hoist_docker_config_auth("127.0.0.1:5000", &u, &p), 1);
    ck_assert_str_eq(u, "user");
    ck_assert_str_eq(p, "p@ss:word");
    free(u);
    free(p);
    ck_assert_int_eq(hoist_docker_config_auth("docker.io", &u, &p), 1);
    ck_assert_str_eq(u, "hub");
    ck_assert_str_eq(p, "hubpw");
    free(u);
    free(p);
    ck_assert_int_eq(hoist_docker_config_auth("ghcr.io", &u, &p), 1);
    ck_assert_str_eq(p, "gpassword");
    free(u);
    free(p);
    ck_assert_int_eq(hoist_docker_config_auth("quay.io", &u, &p), 0);
    ck_assert_ptr_null(u);
    /* The password is now a registered secret. */
    char *red = hoist_redact("token p@ss:word here");
    ck_assert_str_eq(red, "token *** here");
    free(red);
    unsetenv("DOCKER_CONFIG");
    tu_rmrf(root);
    free(root);
}
END_TEST

static json_t *load_blob(const char *cache, const char *digest)
{
    char *p = hoist_xasprintf("%s/blobs/sha256/%s", cache, digest + 7);
    json_t *j = json_load_file(p, 0, NULL);
    ck_assert_ptr_nonnull(j);
    free(p);
    return j;
}

START_TEST(native_build_scratch)
{
    char *root = tu_tmpdir();
    char *app = make_app(root);
    setenv("HOIST_TEST_SECRET", "s3cr3t-value", 1);
    free(tu_write(root, "hoist.yml",
                  "project: shop\n"
                  "environments:\n  dev: { provider: local }\n"
                  "applications:\n"
                  "  - name: api\n    path: ./app\n    port: 3000\n"
                  "    env: { NODE_ENV: production, API_KEY: \"${HOIST_TEST_SECRET}\" }\n"
                  "    command: [node, server.js]\n"
                  "    build: { builder: native, command: [sh, -c, \"echo built > out.txt\"],\n"
                  "             ignore: [run.sh] }\n"));
    char *yml = hoist_xasprintf("%s/hoist.yml", root);
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_load(yml, NULL, NULL, &d);
    hoist_diags_print(&d, stderr);
    ck_assert_ptr_nonnull(cfg);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    hoist_image a, b, c;
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &a), HOIST_OK);
    ck_assert_str_eq(a.builder, "native");
    ck_assert_int_eq(a.cached, 0);
    ck_assert_ptr_null(a.base);
    ck_assert_uint_eq(strlen(a.tag), 25);

    /* The manifest and config as stored. */
    json_t *man = load_blob(a.cache_dir, a.manifest_digest);
    ck_assert_str_eq(json_string_value(json_object_get(man, "mediaType")), HOIST_MT_OCI_MANIFEST);
    json_t *layers = json_object_get(man, "layers");
    ck_assert_uint_eq(json_array_size(layers), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(layers, 0), "mediaType")),
                     HOIST_MT_OCI_LAYER_GZIP);
    const char *cd = json_string_value(json_object_get(json_object_get(man, "config"), "digest"));
    json_t *conf = load_blob(a.cache_dir, cd);
    json_t *cc = json_object_get(conf, "config");
    char *cmd = json_dumps(json_object_get(cc, "Cmd"), JSON_COMPACT);
    ck_assert_str_eq(cmd, "[\"node\",\"server.js\"]");
    free(cmd);
    char *env = json_dumps(json_object_get(cc, "Env"), JSON_COMPACT);
    ck_assert_str_eq(env, "[\"NODE_ENV=production\",\"PORT=3000\"]"); /* no secret baked in */
    free(env);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(cc, "ExposedPorts"), "3000/tcp"));
    ck_assert_str_eq(json_string_value(json_object_get(cc, "WorkingDir")), "/app");
    ck_assert_str_eq(json_string_value(json_object_get(conf, "created")), "1970-01-01T00:00:00Z");
    json_t *ids = json_object_get(json_object_get(conf, "rootfs"), "diff_ids");
    ck_assert_uint_eq(json_array_size(ids), 1);

    /* The config and layer digests in the manifest are those of the files. */
    char *sh = hoist_xasprintf("sha256sum '%s/blobs/sha256/%s'", a.cache_dir, cd + 7);
    char *out = sh_out(sh);
    ck_assert_str_eq(out, cd + 7);
    free(out);
    free(sh);
    const char *ld = json_string_value(json_object_get(json_array_get(layers, 0), "digest"));
    sh = hoist_xasprintf("gzip -dc '%s/blobs/sha256/%s' | sha256sum", a.cache_dir, ld + 7);
    out = sh_out(sh);
    ck_assert_str_eq(out, json_string_value(json_array_get(ids, 0)) + 7);
    free(out);
    free(sh);
    /* build.ignore applies on top of .dockerignore. */
    sh = hoist_xasprintf("gzip -dc '%s/blobs/sha256/%s' | tar -t", a.cache_dir, ld + 7);
    ck_assert_int_eq(tu_run(sh, &out), 0);
    ck_assert_ptr_null(strstr(out, "run.sh"));
    ck_assert_ptr_nonnull(strstr(out, "app/server.js"));
    ck_assert_ptr_nonnull(strstr(out, "app/out.txt")); /* the build step's result */
    free(out);
    free(sh);

    /* Unchanged: the layer comes from the cache, same digest and tag. */
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &b), HOIST_OK);
    ck_assert_int_eq(b.cached, 1);
    ck_assert_str_eq(a.manifest_digest, b.manifest_digest);
    ck_assert_str_eq(a.tag, b.tag);
    hoist_image_clear(&b);
    /* Touched but unchanged: rebuilt, still the same digest. */
    char *touch = hoist_xasprintf("touch '%s/server.js'", app);
    ck_assert_int_eq(tu_run(touch, NULL), 0);
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &b), HOIST_OK);
    ck_assert_int_eq(b.cached, 0);
    ck_assert_str_eq(a.manifest_digest, b.manifest_digest);
    /* Changed: another digest and tag. */
    free(tu_write(app, "server.js", "changed\n"));
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &c), HOIST_OK);
    ck_assert_str_ne(a.manifest_digest, c.manifest_digest);
    ck_assert_str_ne(a.tag, c.tag);

    /* The cache is an OCI layout that umoci can read back. */
    char *um = hoist_xasprintf("cd '%s' && umoci unpack --rootless --image '%s:api-%s' "
                               "bundle >/dev/null 2>&1 && cat bundle/rootfs/app/server.js",
                               root, c.cache_dir, c.tag);
    ck_assert_int_eq(tu_run(um, &out), 0);
    ck_assert_str_eq(out, "changed\n");
    free(out);
    free(um);

    json_decref(man);
    json_decref(conf);
    hoist_image_clear(&a);
    hoist_image_clear(&b);
    hoist_image_clear(&c);
    hoist_ctx_cleanup(&ctx);
    hoist_config_free(cfg);
    hoist_diags_free(&d);
    free(touch);
    free(yml);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

/* The digest of layer @k of @img (negative: from the end; -1 the app's); new string. */
static char *layer_digest(const hoist_image *img, int k)
{
    json_t *man = load_blob(img->cache_dir, img->manifest_digest);
    json_t *layers = json_object_get(man, "layers");
    size_t i = k < 0 ? json_array_size(layers) + (size_t)k : (size_t)k;
    const char *ld = json_string_value(json_object_get(json_array_get(layers, i), "digest"));
    ck_assert_ptr_nonnull(ld);
    char *d = hoist_xstrdup(ld);
    json_decref(man);
    return d;
}

static size_t layer_count(const hoist_image *img)
{
    json_t *man = load_blob(img->cache_dir, img->manifest_digest);
    size_t n = json_array_size(json_object_get(man, "layers"));
    json_decref(man);
    return n;
}

/* List of layer @k of @img (as layer_digest). */
static char *layer_list_at(const hoist_image *img, int k)
{
    char *ld = layer_digest(img, k);
    char *sh = hoist_xasprintf("gzip -dc '%s/blobs/sha256/%s' | tar -t", img->cache_dir, ld + 7);
    char *out = NULL;
    ck_assert_int_eq(tu_run(sh, &out), 0);
    free(sh);
    free(ld);
    return out;
}

/* List of the app layer of @img (its last layer). */
static char *layer_list(const hoist_image *img)
{
    return layer_list_at(img, -1);
}

/* The image's Cmd as compact JSON ("null" when it has none); owned. */
static char *image_cmd(const hoist_image *img)
{
    json_t *man = load_blob(img->cache_dir, img->manifest_digest);
    json_t *conf = load_blob(img->cache_dir, json_string_value(json_object_get(
                                                 json_object_get(man, "config"), "digest")));
    char *cmd = json_dumps(json_object_get(json_object_get(conf, "config"), "Cmd"),
                           JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(conf);
    json_decref(man);
    return cmd;
}

static hoist_config *load_yml(const char *root, const char *text, hoist_diags *d)
{
    free(tu_write(root, "hoist.yml", text));
    char *yml = hoist_xasprintf("%s/hoist.yml", root);
    hoist_config *cfg = hoist_config_load(yml, NULL, NULL, d);
    hoist_diags_print(d, stderr);
    ck_assert_ptr_nonnull(cfg);
    free(yml);
    return cfg;
}

#define STEP_APP                                                                                 \
    "project: shop\napplications:\n  - name: api\n    path: ./app\n    build:\n"                   \
    "      builder: native\n      command:\n        - sh\n        - -c\n"

START_TEST(native_build_step)
{
    char *root = tu_tmpdir();
    char *app = hoist_xasprintf("%s/app", root);
    char *stale = hoist_xasprintf("%s/node_modules/stale", app);
    char *git = hoist_xasprintf("%s/.git", app);
    ck_assert_int_eq(hoist_mkdirs(stale, 0755), 0);
    ck_assert_int_eq(hoist_mkdirs(git, 0755), 0);
    free(tu_write(stale, "index.js", "host build\n"));
    free(tu_write(git, "HEAD", "ref: refs/heads/main\n"));
    free(tu_write(app, "server.js", "console.log('hi')\n"));
    free(tu_write(app, "package.json", "{\"name\":\"api\",\"scripts\":{\"start\":\"node "
                                       "server.js\"}}\n"));
    free(tu_write(app, ".dockerignore", "*.log\n"));
    free(tu_write(app, "debug.log", "noise\n"));
    /* The step sees a copy without node_modules, .git and ignored files,
       and what it makes (a dependency tree, like npm ci) is layered. */
    /* hoist's own credentials are not the build step's. */
    setenv("AWS_SECRET_ACCESS_KEY", "not-for-npm", 1);
    hoist_diags d = {0};
    hoist_config *cfg = load_yml(root, STEP_APP
        "        - test -z \"$AWS_SECRET_ACCESS_KEY\" && test ! -e node_modules && test ! -e .git && test ! -e debug.log && mkdir -p "
        "node_modules/dep && echo built > node_modules/dep/out.txt && echo built > out.txt && "
        "echo step-ran\n", &d);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    hoist_image a, b, c;
    ck_assert_msg(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &a) == HOIST_OK, "%s",
                  hoist_ctx_error(&ctx));
    char *list = layer_list(&a);
    ck_assert_ptr_nonnull(strstr(list, "app/out.txt"));
    ck_assert_ptr_null(strstr(list, "node_modules")); /* in a layer of its own */
    ck_assert_ptr_nonnull(strstr(list, "app/server.js"));
    ck_assert_ptr_null(strstr(list, "stale"));
    ck_assert_ptr_null(strstr(list, ".git"));
    ck_assert_ptr_null(strstr(list, "debug.log"));
    free(list);
    list = layer_list_at(&a, -2);
    ck_assert_ptr_nonnull(strstr(list, "app/node_modules/dep/out.txt"));
    ck_assert_ptr_null(strstr(list, "stale"));
    ck_assert_ptr_null(strstr(list, "server.js"));
    free(list);
    /* The source directory is unchanged; the copy is gone. */
    char *chk = hoist_xasprintf("test ! -e '%s/out.txt' && test ! -e '%s/node_modules/dep' && "
                                "! ls '%s'/tmp-* 2>/dev/null", app, app, a.cache_dir);
    ck_assert_int_eq(tu_run(chk, NULL), 0);
    free(chk);
    /* The step's output is in the log; the Cmd is package.json's start script. */
    char *logp = hoist_xasprintf("%s/.hoist/logs/api-image-build.log", root);
    char *cat = hoist_xasprintf("grep -q step-ran '%s'", logp);
    ck_assert_int_eq(tu_run(cat, NULL), 0);
    char *cmd = image_cmd(&a);
    ck_assert_str_eq(cmd, "[\"npm\",\"start\"]");
    free(cmd);

    /* Unchanged: cached, and the step does not run again. */
    ck_assert_int_eq(unlink(logp), 0);
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &b), HOIST_OK);
    ck_assert_int_eq(b.cached, 1);
    ck_assert_str_eq(a.manifest_digest, b.manifest_digest);
    ck_assert_int_ne(access(logp, F_OK), 0);
    hoist_image_clear(&b);
    hoist_config_free(cfg);
    hoist_diags_free(&d);

    /* Another step is another cache key; `command:` sets the Cmd. */
    cfg = load_yml(root, STEP_APP "        - echo other > out.txt\n    command: [node, server.js]\n",
                   &d);
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &b), HOIST_OK);
    ck_assert_int_eq(b.cached, 0);
    ck_assert_str_ne(a.manifest_digest, b.manifest_digest);
    cmd = image_cmd(&b);
    ck_assert_str_eq(cmd, "[\"node\",\"server.js\"]");
    free(cmd);
    hoist_config_free(cfg);
    hoist_diags_free(&d);

    /* A failing step: the command, its exit status and its last lines. */
    cfg = load_yml(root, STEP_APP "        - echo first-line; echo boom-here >&2; exit 3\n", &d);
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &c), HOIST_E_INVALID);
    const char *e = hoist_ctx_error(&ctx);
    ck_assert_ptr_nonnull(strstr(e, "build step `sh -c echo first-line;"));
    ck_assert_ptr_nonnull(strstr(e, "exit status 3"));
    ck_assert_ptr_nonnull(strstr(e, "boom-here"));
    ck_assert_ptr_nonnull(strstr(e, logp));
    hoist_image_clear(&c);

    hoist_image_clear(&a);
    hoist_image_clear(&b);
    hoist_ctx_cleanup(&ctx);
    hoist_config_free(cfg);
    hoist_diags_free(&d);
    free(cat);
    free(logp);
    free(git);
    free(stale);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

/* Dependencies (node_modules) get a layer of their own keyed by the
   lockfile: a source change makes only the small layer anew. */
START_TEST(native_build_deps_layer)
{
    char *root;
    char *app = empty_app(&root);
    free(tu_write(app, "server.js", "console.log('v1')\n"));
    free(tu_write(app, "package.json", "{\"name\":\"api\"}\n"));
    free(tu_write(app, "package-lock.json", "{\"lockfileVersion\":3,\"dep\":\"1.0.0\"}\n"));
    hoist_diags d = {0};
    hoist_config *cfg = load_yml(root, STEP_APP
        "        - mkdir -p node_modules/dep && cp package-lock.json node_modules/dep/lock.json "
        "&& seq 1 20000 > node_modules/dep/data.txt\n", &d);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    hoist_image a, b, c;
    ck_assert_msg(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &a) == HOIST_OK, "%s",
                  hoist_ctx_error(&ctx));
    ck_assert_uint_eq(layer_count(&a), 2);
    char *deps = layer_list_at(&a, 0), *src = layer_list_at(&a, 1);
    ck_assert_ptr_nonnull(strstr(deps, "app/node_modules/dep/data.txt"));
    ck_assert_ptr_null(strstr(deps, "server.js"));
    ck_assert_ptr_nonnull(strstr(src, "app/server.js"));
    ck_assert_ptr_null(strstr(src, "node_modules"));
    free(deps);
    free(src);
    /* the config lists both layers, dependencies first */
    json_t *man = load_blob(a.cache_dir, a.manifest_digest);
    json_t *conf = load_blob(a.cache_dir, json_string_value(json_object_get(
                                              json_object_get(man, "config"), "digest")));
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(conf, "rootfs"),
                                                      "diff_ids")), 2);
    ck_assert_uint_eq(json_array_size(json_object_get(conf, "history")), 2);
    json_decref(conf);
    json_decref(man);

    /* A one-line source change: the dependency layer is the same blob. */
    free(tu_write(app, "server.js", "console.log('v2')\n"));
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &b), HOIST_OK);
    char *a0 = layer_digest(&a, 0), *a1 = layer_digest(&a, 1);
    char *b0 = layer_digest(&b, 0), *b1 = layer_digest(&b, 1);
    ck_assert_str_eq(a0, b0);
    ck_assert_str_ne(a1, b1);
    ck_assert_str_ne(a.manifest_digest, b.manifest_digest);
    /* A new lockfile: new dependencies. */
    free(tu_write(app, "package-lock.json", "{\"lockfileVersion\":3,\"dep\":\"2.0.0\"}\n"));
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &c), HOIST_OK);
    char *c0 = layer_digest(&c, 0);
    ck_assert_str_ne(b0, c0);
    free(a0);
    free(a1);
    free(b0);
    free(b1);
    free(c0);
    hoist_image_clear(&a);
    hoist_image_clear(&b);
    hoist_image_clear(&c);
    hoist_ctx_cleanup(&ctx);
    hoist_config_free(cfg);
    hoist_diags_free(&d);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

START_TEST(unusable_engine)
{
    char *root = tu_tmpdir();
    char *app = make_app(root);
    free(tu_write(app, "Dockerfile", "FROM scratch\nCOPY . /app\n"));
    /* Fake `docker`, `podman` and `buildah` that fail, as on a machine without
       an engine (the real ones may be installed here: they come first on PATH). */
    char *bin = hoist_xasprintf("%s/bin", root);
    ck_assert_int_eq(hoist_mkdirs(bin, 0755), 0);
    static const char *const engines[] = {"docker", "podman", "buildah"};
    for (size_t i = 0; i < 3; i++) {
        char *fake = tu_write(bin, engines[i], "#!/bin/sh\necho 'Cannot connect to the engine' "
                                               ">&2\nexit 1\n");
        chmod(fake, 0755);
        free(fake);
    }
    char *path = hoist_xasprintf("%s:%s", bin, getenv("PATH"));
    setenv("PATH", path, 1);
    free(tu_write(root, "hoist.yml",
                  "project: shop\nenvironments:\n  dev: { provider: local }\n"
                  "applications:\n  - name: auto\n    path: ./app\n"
                  "  - name: forced\n    path: ./app\n    build: { builder: docker }\n"
                  "  - name: pre\n    image: nginx:1.27\n"));
    char *yml = hoist_xasprintf("%s/hoist.yml", root);
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_load(yml, NULL, NULL, &d);
    ck_assert_ptr_nonnull(cfg);
    hoist_ctx ctx;
    hoist_ctx_init(&ctx, NULL, NULL);
    hoist_image img;
    /* auto + Dockerfile but no engine: the native builder. */
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[0], NULL, &img), HOIST_OK);
    ck_assert_str_eq(img.builder, "native");
    hoist_image_clear(&img);
    /* builder: docker without an engine: a clear error. */
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[1], NULL, &img), HOIST_E_INVALID);
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "`docker info` failed"));
    ck_assert_ptr_nonnull(strstr(hoist_ctx_error(&ctx), "forced"));
    hoist_image_clear(&img);
    /* image: REF is not built. */
    ck_assert_int_eq(hoist_image_build(&ctx, cfg, &cfg->apps[2], NULL, &img), HOIST_OK);
    ck_assert_str_eq(img.builder, "prebuilt");
    ck_assert_str_eq(img.prebuilt, "nginx:1.27");
    ck_assert_ptr_null(img.manifest_digest);
    hoist_image_clear(&img);
    hoist_ctx_cleanup(&ctx);
    hoist_config_free(cfg);
    hoist_diags_free(&d);
    free(yml);
    free(path);
    free(bin);
    free(app);
    tu_rmrf(root);
    free(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oci");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ref_parse);
    tcase_add_test(tc, base_urls);
    tcase_add_test(tc, www_authenticate);
    tcase_add_test(tc, ignore_patterns);
    tcase_add_test(tc, layer_reproducible);
    tcase_add_test(tc, layer_non_ascii_names);
    tcase_add_test(tc, docker_config);
    tcase_add_test(tc, native_build_scratch);
    tcase_add_test(tc, native_build_step);
    tcase_add_test(tc, native_build_deps_layer);
    tcase_add_test(tc, unusable_engine);
    suite_add_tcase(s, tc);
    return tu_main(s);
}
