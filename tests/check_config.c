/*
 * check_config.c - the hoist.yml parser: the model it builds from good files,
 * and the exact diagnostics it gives for a corpus of bad ones
 * (tests/config/bad/NAME.yml, expected output in NAME.expect).
 */
#include "config.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <sys/stat.h>

/* The config sketch of DESIGN.md, verbatim. */
static const char design_yml[] =
    "project: shop\n"
    "environments:\n"
    "  dev:        { provider: local }\n"
    "  staging:    { provider: scaleway, region: fr-par }\n"
    "  production: { provider: aws, region: eu-west-3,\n"
    "                cluster: { version: \"1.30\", nodes: { type: t3.medium, min: 2, max: 5 } } }\n"
    "databases:\n"
    "  - { name: main, engine: postgresql, version: \"15\", mode: managed, size: small }\n"
    "applications:\n"
    "  - name: api\n"
    "    path: ./api              # built into an image: Dockerfile via docker/podman/buildah if\n"
    "    port: 3000               # present, else hoist assembles the image itself\n"
    "    instances: { min: 1, max: 3 }\n"
    "    healthcheck: /health\n"
    "    public: true\n"
    "    env: { NODE_ENV: production }\n"
    "    databases: [main]\n";

static int known_providers(const char *env, const char *name, void *arg)
{
    (void)arg;
    return !strcmp(name, "null") || !strcmp(name, "local");
}

/* Canonical JSON text for exact comparisons (caller frees). */
static char *jtext(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

#define ck_assert_json(j, expected)                                                             \
    do {                                                                                       \
        char *t_ = jtext(j);                                                                   \
        ck_assert_str_eq(t_, expected);                                                        \
        free(t_);                                                                              \
    } while (0)

/* Parse @text from a buffer named @name with @h; the diagnostics printed into *out (caller frees). */
static hoist_config *parse_hooked(const char *name, const char *text, const hoist_config_hooks *h,
                                  char **out)
{
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_parse_hooks(name, text, strlen(text), h, &d);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    hoist_diags_print(&d, fp);
    fclose(fp);
    ck_assert_int_eq(cfg == NULL, d.n > 0);
    hoist_diags_free(&d);
    if (out)
        *out = buf;
    else
        free(buf);
    return cfg;
}

/* The same with the installed drivers "null" and "local" and no settings schema. */
static hoist_config *parse_text(const char *name, const char *text, char **out)
{
    hoist_config_hooks h = {.exists = known_providers};
    return parse_hooked(name, text, &h, out);
}

/* Parse text that must be valid; fails the test with the diagnostics otherwise. */
static hoist_config *parse_ok(const char *text)
{
    char *diags;
    hoist_config *cfg = parse_text("/nonexistent/hoist.yml", text, &diags);
    ck_assert_msg(cfg != NULL, "unexpected diagnostics:\n%s", diags);
    ck_assert_str_eq(diags, "");
    free(diags);
    return cfg;
}

START_TEST(t_design_example)
{
    char *dir = tu_tmpdir();
    char *api = hoist_xasprintf("%s/api", dir);
    ck_assert_int_eq(mkdir(api, 0755), 0);
    char *path = tu_write(dir, "hoist.yml", design_yml);
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_load(path, known_providers, NULL, &d);
    ck_assert_uint_eq(d.n, 2); /* scaleway and aws are not installed for this test */
    ck_assert_ptr_null(cfg);
    ck_assert_int_eq(d.v[0].loc.line, 4);
    ck_assert_int_eq(d.v[0].loc.col, 27);
    ck_assert_int_eq(d.v[1].loc.line, 5);
    ck_assert_int_eq(d.v[1].loc.col, 27);
    ck_assert_str_eq(d.v[1].loc.file, path);
    ck_assert_str_eq(d.v[1].message, "provider 'aws' of environment 'production' is not "
                                     "installed; run 'hoist providers' to list the installed "
                                     "drivers");
    hoist_diags_free(&d);

    cfg = hoist_config_load(path, NULL, NULL, &d);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg->file, path);
    char *real = realpath(dir, NULL);
    ck_assert_str_eq(cfg->dir, real);
    ck_assert_str_eq(cfg->project, "shop");

    ck_assert_uint_eq(cfg->n_envs, 3);
    ck_assert_str_eq(cfg->envs[0].name, "dev");
    ck_assert_str_eq(cfg->envs[0].provider, "local");
    ck_assert_ptr_null(cfg->envs[0].region);
    ck_assert_ptr_null(cfg->envs[0].cluster);
    ck_assert_int_eq(cfg->envs[0].protected_, 0);
    ck_assert_int_eq(cfg->envs[0].loc.line, 3);
    ck_assert_int_eq(cfg->envs[0].loc.col, 15);
    ck_assert_int_eq(cfg->envs[0].provider_loc.line, 3);
    ck_assert_int_eq(cfg->envs[0].provider_loc.col, 27);
    ck_assert_str_eq(cfg->envs[0].loc.file, cfg->file);
    const hoist_env_cfg *st = hoist_config_env(cfg, "staging");
    ck_assert_ptr_eq(st, &cfg->envs[1]);
    ck_assert_str_eq(st->provider, "scaleway");
    ck_assert_str_eq(st->region, "fr-par");
    ck_assert_json(st->settings, "{\"provider\":\"scaleway\",\"region\":\"fr-par\"}");
    const hoist_env_cfg *pr = hoist_config_env(cfg, "production");
    ck_assert_str_eq(pr->provider, "aws");
    ck_assert_str_eq(pr->region, "eu-west-3");
    ck_assert_json(pr->cluster,
                   "{\"nodes\":{\"max\":5,\"min\":2,\"type\":\"t3.medium\"},\"version\":\"1.30\"}");
    ck_assert_ptr_eq(pr->cluster, json_object_get(pr->settings, "cluster"));

    ck_assert_uint_eq(cfg->n_dbs, 1);
    const hoist_db_cfg *db = hoist_config_db(cfg, "main");
    ck_assert_ptr_eq(db, &cfg->dbs[0]);
    ck_assert_int_eq(db->engine, HOIST_DB_POSTGRESQL);
    ck_assert_str_eq(hoist_db_engine_name(db->engine), "postgresql");
    ck_assert_str_eq(db->version, "15");
    ck_assert_int_eq(db->mode, HOIST_DB_MANAGED);
    ck_assert_str_eq(db->size, "small");
    ck_assert_int_eq(db->storage_gb, 0);
    ck_assert_int_eq(db->loc.line, 8);
    ck_assert_int_eq(db->loc.col, 5);
    ck_assert_json(db->spec, "{\"engine\":\"postgresql\",\"mode\":\"managed\",\"name\":\"main\","
                             "\"size\":\"small\",\"version\":\"15\"}");

    ck_assert_uint_eq(cfg->n_apps, 1);
    const hoist_app_cfg *a = &cfg->apps[0];
    ck_assert_str_eq(a->name, "api");
    char *want_path = hoist_xasprintf("%s/api", real);
    ck_assert_str_eq(a->path, want_path);
    ck_assert_ptr_null(a->image);
    ck_assert_int_eq(a->port, 3000);
    ck_assert_int_eq(a->min_instances, 1);
    ck_assert_int_eq(a->max_instances, 3);
    ck_assert_str_eq(a->healthcheck, "/health");
    ck_assert_int_eq(a->public_, 1);
    ck_assert_json(a->env, "{\"NODE_ENV\":\"production\"}");
    ck_assert_str_eq(a->databases[0], "main");
    ck_assert_ptr_null(a->databases[1]);
    ck_assert_ptr_null(a->domains[0]);
    ck_assert_ptr_null(a->build);
    ck_assert_int_eq(a->loc.line, 10);
    ck_assert_int_eq(a->loc.col, 5);
    ck_assert_json(a->spec,
                   "{\"databases\":[\"main\"],\"env\":{\"NODE_ENV\":\"production\"},"
                   "\"healthcheck\":\"/health\",\"instances\":{\"max\":3,\"min\":1},"
                   "\"name\":\"api\",\"path\":\"./api\",\"port\":3000,\"public\":true}");
    ck_assert_ptr_null(cfg->state);
    ck_assert_ptr_null(hoist_config_env(cfg, "nope"));
    ck_assert_ptr_null(hoist_config_db(cfg, "nope"));

    hoist_config_free(cfg);
    free(want_path);
    free(real);
    free(path);
    free(api);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(t_defaults)
{
    hoist_config *cfg = parse_ok("project: p\n"
                                 "databases:\n"
                                 "  - { name: cache, engine: redis }\n"
                                 "applications:\n"
                                 "  - { name: web, image: nginx }\n"
                                 "  - name: worker\n"
                                 "    image: ghcr.io/x/worker:1\n"
                                 "    instances: { min: 0 }\n");
    ck_assert_uint_eq(cfg->n_envs, 0);
    const hoist_db_cfg *db = hoist_config_db(cfg, "cache");
    ck_assert_int_eq(db->engine, HOIST_DB_REDIS);
    ck_assert_int_eq(db->mode, HOIST_DB_MANAGED);
    ck_assert_ptr_null(db->version);
    ck_assert_ptr_null(db->size);
    ck_assert_json(db->spec, "{\"engine\":\"redis\",\"mode\":\"managed\",\"name\":\"cache\"}");
    const hoist_app_cfg *web = &cfg->apps[0];
    ck_assert_int_eq(web->min_instances, 1);
    ck_assert_int_eq(web->max_instances, 1);
    ck_assert_int_eq(web->port, 0);
    ck_assert_int_eq(web->public_, 0);
    ck_assert_ptr_null(web->path);
    ck_assert_str_eq(web->image, "nginx");
    ck_assert_json(web->env, "{}");
    ck_assert_ptr_null(web->databases[0]);
    ck_assert_json(web->spec, "{\"env\":{},\"image\":\"nginx\",\"instances\":{\"max\":1,\"min\":1},"
                              "\"name\":\"web\",\"public\":false}");
    /* min 0 alone: scaled to zero, max stays 1. */
    ck_assert_int_eq(cfg->apps[1].min_instances, 0);
    ck_assert_int_eq(cfg->apps[1].max_instances, 1);
    hoist_config_free(cfg);

    /* Only min given and above the default max: max follows it. */
    cfg = parse_ok("project: p\napplications:\n  - { name: a, image: x, instances: { min: 3 } }\n");
    ck_assert_int_eq(cfg->apps[0].min_instances, 3);
    ck_assert_int_eq(cfg->apps[0].max_instances, 3);
    hoist_config_free(cfg);
}
END_TEST

START_TEST(t_full_fields)
{
    hoist_config *cfg = parse_ok(
        "project: p-2\n"
        "environments:\n"
        "  test:\n"
        "    provider: \"null\"\n"
        "    protected: true\n"
        "    endpoint: http://127.0.0.1:9000\n"
        "    latency_ms: 25\n"
        "    polls: -3\n"
        "    fail: false\n"
        "    ratio: 0.5\n"
        "    note:\n"
        "    tags: [a, 1, true]\n"
        "databases:\n"
        "  - { name: a, engine: mysql, version: 8.0, mode: container, storage: 20 }\n"
        "  - { name: b, engine: postgresql, version: 15 }\n"
        "  - { name: c, engine: mongodb, size: db-s-1vcpu-1gb }\n"
        "applications:\n"
        "  - name: api\n"
        "    image: registry.example/api:1.2\n"
        "    build: { builder: podman, base: debian:12, dockerfile: Dockerfile.prod,\n"
        "             command: [make, build], ignore: [node_modules] }\n"
        "    env: { N: 5, B: true, E: , Q: \"x y\" }\n"
        "    databases: [a, c]\n"
        "    domains: [api.example.com, www.example.com]\n"
        "state:\n"
        "  backend: file\n"
        "  dir: /var/lib/hoist\n");
    const hoist_env_cfg *e = hoist_config_env(cfg, "test");
    ck_assert_int_eq(e->protected_, 1);
    ck_assert_json(e->settings, "{\"endpoint\":\"http://127.0.0.1:9000\",\"fail\":false,"
                                "\"latency_ms\":25,\"note\":null,\"polls\":-3,"
                                "\"protected\":true,\"provider\":\"null\",\"ratio\":\"0.5\","
                                "\"tags\":[\"a\",1,true]}");
    ck_assert_str_eq(cfg->dbs[0].version, "8.0");
    ck_assert_int_eq(cfg->dbs[0].mode, HOIST_DB_CONTAINER);
    ck_assert_int_eq(cfg->dbs[0].engine, HOIST_DB_MYSQL);
    ck_assert_int_eq(cfg->dbs[0].storage_gb, 20);
    ck_assert_json(cfg->dbs[0].spec, "{\"engine\":\"mysql\",\"mode\":\"container\",\"name\":\"a\","
                                     "\"storage\":20,\"version\":\"8.0\"}");
    ck_assert_str_eq(cfg->dbs[1].version, "15");
    ck_assert_json(json_object_get(cfg->dbs[1].spec, "version"), "\"15\"");
    ck_assert_int_eq(cfg->dbs[2].engine, HOIST_DB_MONGODB);
    ck_assert_str_eq(cfg->dbs[2].size, "db-s-1vcpu-1gb");
    ck_assert_str_eq(hoist_db_engine_name(HOIST_DB_MYSQL), "mysql");
    const hoist_app_cfg *a = &cfg->apps[0];
    ck_assert_json(a->build, "{\"base\":\"debian:12\",\"builder\":\"podman\",\"command\":"
                             "[\"make\",\"build\"],\"dockerfile\":\"Dockerfile.prod\","
                             "\"ignore\":[\"node_modules\"]}");
    ck_assert_ptr_eq(a->build, json_object_get(a->spec, "build"));
    ck_assert_json(a->env, "{\"B\":\"true\",\"E\":\"\",\"N\":\"5\",\"Q\":\"x y\"}");
    ck_assert_str_eq(a->databases[0], "a");
    ck_assert_str_eq(a->databases[1], "c");
    ck_assert_ptr_null(a->databases[2]);
    ck_assert_str_eq(a->domains[1], "www.example.com");
    ck_assert_ptr_null(a->domains[2]);
    ck_assert_json(cfg->state, "{\"backend\":\"file\",\"dir\":\"/var/lib/hoist\"}");
    hoist_config_free(cfg);
}
END_TEST

/* JSON text of @j, a new reference it releases ("null" for NULL); owned. */
static char *jtake(json_t *j)
{
    char *s = j ? jtext(j) : hoist_xstrdup("null");
    json_decref(j);
    return s;
}

static void assert_defaults(const hoist_app_cfg *a, const char *step, const char *cmd)
{
    char *got = jtake(hoist_app_build_step(a));
    ck_assert_str_eq(got, step);
    free(got);
    got = jtake(hoist_app_start_command(a));
    ck_assert_str_eq(got, cmd);
    free(got);
}

START_TEST(t_app_defaults)
{
    /* What every runtime builds and starts, from hoist.yml and the files. */
    char *dir = tu_tmpdir();
    hoist_app_cfg a = {.path = dir, .spec = json_object()};
    assert_defaults(&a, "null", "null");
    free(tu_write(dir, "package.json", "{\"name\":\"x\",\"main\":\"lib/index.js\"}"));
    assert_defaults(&a, "[\"npm\",\"install\",\"--no-audit\",\"--no-fund\"]",
                    "[\"node\",\"lib/index.js\"]");
    free(tu_write(dir, "package-lock.json", "{}"));
    free(tu_write(dir, "package.json", "{\"main\":\"lib/index.js\",\"scripts\":{\"start\":"
                                       "\"node srv.js\"}}"));
    assert_defaults(&a, "[\"npm\",\"ci\",\"--no-audit\",\"--no-fund\"]", "[\"npm\",\"start\"]");
    /* Given in hoist.yml: used as written, whatever the files say. */
    hoist_config *cfg = parse_ok("project: p\napplications:\n  - name: w\n    image: x\n"
                                 "    command: [sleep, 5]\n    build: { command: [make] }\n");
    cfg->apps[0].path = dir;
    assert_defaults(&cfg->apps[0], "[\"make\"]", "[\"sleep\",\"5\"]");
    cfg->apps[0].path = NULL;
    hoist_config_free(cfg);
    /* A prebuilt image with no command keeps its own. */
    a.path = NULL;
    assert_defaults(&a, "null", "null");
    json_decref(a.spec);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(t_spec_is_deterministic)
{
    /* Same content, so the same spec text: the pipeline hashes it to detect changes. */
    hoist_config *a = parse_ok("project: p\napplications:\n  - { name: w, image: x, port: 80 }\n");
    hoist_config *b = parse_ok("project: p\n\napplications:\n- name: w\n  image: x\n  port: 80\n");
    char *ta = json_dumps(a->apps[0].spec, JSON_COMPACT), *tb = json_dumps(b->apps[0].spec,
                                                                          JSON_COMPACT);
    ck_assert_str_eq(ta, tb);
    free(ta);
    free(tb);
    hoist_config_free(a);
    hoist_config_free(b);
}
END_TEST

START_TEST(t_variables)
{
    hoist_secret_reset();
    setenv("HOIST_T_PASSWORD", "correct-horse-battery", 1);
    setenv("HOIST_T_REGION", "fr-par", 1);
    setenv("HOIST_T_PORT", "8081", 1);
    hoist_config *cfg = parse_ok("project: p\n"
                                 "environments:\n"
                                 "  e: { provider: local, region: \"${HOIST_T_REGION}\" }\n"
                                 "applications:\n"
                                 "  - name: w\n"
                                 "    image: x\n"
                                 "    port: ${HOIST_T_PORT}\n"
                                 "    env:\n"
                                 "      PW: pre-${HOIST_T_PASSWORD}-post\n"
                                 "      LIT: $${HOIST_T_PASSWORD} costs $$5 and $ 6\n");
    ck_assert_str_eq(cfg->envs[0].region, "fr-par");
    ck_assert_json(json_object_get(cfg->envs[0].settings, "region"), "\"fr-par\"");
    ck_assert_int_eq(cfg->apps[0].port, 8081);
    ck_assert_json(cfg->apps[0].env, "{\"LIT\":\"${HOIST_T_PASSWORD} costs $5 and $ 6\","
                                     "\"PW\":\"pre-correct-horse-battery-post\"}");
    ck_assert_json(json_object_get(cfg->apps[0].spec, "env"),
                   "{\"LIT\":\"${HOIST_T_PASSWORD} costs $5 and $ 6\","
                   "\"PW\":\"pre-correct-horse-battery-post\"}");
    /* Every expanded value is a secret (the 4-byte port too; nothing for the literal). */
    ck_assert_uint_eq(hoist_secret_count(), 3);
    char *r = hoist_redact("pw=correct-horse-battery region=fr-par");
    ck_assert_str_eq(r, "pw=*** region=***");
    free(r);
    hoist_config_free(cfg);
    hoist_secret_reset();
}
END_TEST

START_TEST(t_secret_not_in_diagnostics)
{
    hoist_secret_reset();
    setenv("HOIST_T_TOKEN", "tok-3f9a77", 1);
    char *out;
    hoist_config *cfg = parse_text("h.yml",
                                   "project: p\napplications:\n"
                                   "  - { name: w, image: x, port: \"${HOIST_T_TOKEN}\" }\n",
                                   &out);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(out, "h.yml:3:32: error: invalid port of application 'w': found \"***\" (a "
                          "quoted string); expected an integer from 1 to 65535\n");
    free(out);
    hoist_secret_reset();
}
END_TEST

START_TEST(t_unset_variable_column)
{
    unsetenv("HOIST_T_NOPE");
    char *out;
    /* Plain, single-quoted and double-quoted: the column of the '$' itself. */
    hoist_config *cfg = parse_text("h.yml",
                                   "project: p\nenvironments:\n  e:\n    provider: local\n"
                                   "    a: x${HOIST_T_NOPE}\n"
                                   "    b: 'y${HOIST_T_NOPE}'\n"
                                   "    c: \"\\tz${HOIST_T_NOPE}\"\n",
                                   &out);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(out,
                     "h.yml:5:9: error: environment variable 'HOIST_T_NOPE' is not set (write "
                     "'$${HOIST_T_NOPE}' for a literal '${HOIST_T_NOPE}')\n"
                     "h.yml:6:10: error: environment variable 'HOIST_T_NOPE' is not set (write "
                     "'$${HOIST_T_NOPE}' for a literal '${HOIST_T_NOPE}')\n"
                     /* an escape shifts columns: the scalar's start instead */
                     "h.yml:7:8: error: environment variable 'HOIST_T_NOPE' is not set (write "
                     "'$${HOIST_T_NOPE}' for a literal '${HOIST_T_NOPE}')\n");
    free(out);
}
END_TEST

START_TEST(t_relative_path)
{
    char *dir = tu_tmpdir();
    char *sub = hoist_xasprintf("%s/svc", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    char *web = hoist_xasprintf("%s/svc/web", dir);
    ck_assert_int_eq(mkdir(web, 0755), 0);
    char *path = tu_write(dir, "hoist.yml",
                          "project: p\napplications:\n"
                          "  - { name: a, path: svc/web }\n"
                          "  - { name: b, path: . }\n"
                          "  - { name: c, path: ./svc/./web }\n");
    char *abs = hoist_xasprintf("%s/svc/web", dir);
    char *yml = tu_write(dir, "abs.yml", "project: p\napplications:\n  - { name: a, path: x }\n");
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_load(path, NULL, NULL, &d);
    ck_assert_uint_eq(d.n, 0);
    char *real = realpath(dir, NULL);
    char *want = hoist_xasprintf("%s/svc/web", real);
    ck_assert_str_eq(cfg->apps[0].path, want);
    ck_assert_str_eq(cfg->apps[1].path, real);
    struct stat s1, s2;
    ck_assert_int_eq(stat(cfg->apps[2].path, &s1), 0);
    ck_assert_int_eq(stat(abs, &s2), 0);
    ck_assert(s1.st_ino == s2.st_ino);
    hoist_config_free(cfg);
    /* Relative to hoist.yml, not to the working directory. */
    cfg = hoist_config_load(yml, NULL, NULL, &d);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_str_eq(d.v[0].message, "path 'x' of application 'a' does not exist (relative "
                                     "paths start at the directory of hoist.yml)");
    hoist_diags_free(&d);
    free(want);
    free(real);
    free(abs);
    free(yml);
    free(path);
    free(web);
    free(sub);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(t_diags_api)
{
    hoist_diags d = {0};
    hoist_diags_add(&d, (hoist_loc){.file = "earlier.yml", .line = 9, .col = 9}, "first %d", 1);
    const char *text = "project: p\nprojet: x\nfoo: 1\n";
    hoist_config *cfg = hoist_config_parse("z.yml", text, strlen(text), NULL, NULL, &d);
    ck_assert_ptr_null(cfg);
    /* Earlier entries stay first; this file's follow, by position. */
    ck_assert_uint_eq(d.n, 3);
    ck_assert_str_eq(d.v[0].message, "first 1");
    ck_assert_int_eq(d.v[1].loc.line, 2);
    ck_assert_int_eq(d.v[2].loc.line, 3);
    hoist_diags_add(&d, (hoist_loc){.file = NULL, .line = 0}, "no position");
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    hoist_diags_print(&d, fp);
    fclose(fp);
    ck_assert_str_eq(buf, "earlier.yml:9:9: error: first 1\n"
                          "z.yml:2:1: error: unknown key 'projet' in the top level; did you mean "
                          "'project'?\n"
                          "z.yml:3:1: error: unknown key 'foo' in the top level; expected one of: "
                          "project, environments, databases, applications, state\n"
                          "hoist.yml: error: no position\n");
    free(buf);
    hoist_diags_free(&d);
    ck_assert_uint_eq(d.n, 0);
    hoist_diags_free(&d); /* twice is harmless */

    cfg = hoist_config_load("/nonexistent/dir/hoist.yml", NULL, NULL, &d);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_int_eq(d.v[0].loc.line, 0);
    ck_assert_ptr_nonnull(strstr(d.v[0].message, "cannot open: No such file or directory"));
    hoist_diags_free(&d);
}
END_TEST

static int count_calls(const char *env, const char *name, void *arg)
{
    ck_assert(strcmp(env, "a") == 0 || strcmp(env, "b") == 0);
    ck_assert_str_eq(name, "local");
    ++*(int *)arg;
    return 1;
}

START_TEST(t_exists_callback)
{
    int calls = 0;
    const char *text = "project: p\nenvironments:\n  a: { provider: local }\n"
                       "  b: { provider: local }\n";
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_parse("h.yml", text, strlen(text), count_calls, &calls, &d);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(calls, 2);
    hoist_config_free(cfg);
    hoist_config_free(NULL);
}
END_TEST

/* Inputs that must give diagnostics, not crashes (valgrind-clean under `make check`). */
START_TEST(t_hostile_inputs)
{
    char *out;
    hoist_diags d = {0};
    /* Raw NUL bytes: libyaml refuses control characters. */
    static const char nul[] = "project: a\0b\n";
    hoist_config *cfg = hoist_config_parse("n.yml", nul, sizeof nul - 1, NULL, NULL, &d);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_ptr_nonnull(strstr(d.v[0].message, "invalid YAML: control characters are not "
                                                 "allowed"));
    hoist_diags_free(&d);
    /* Empty buffer, comments only, a lone "---", null document. */
    const char *empties[] = {"", "# nothing\n", "---\n", "~\n"};
    for (size_t i = 0; i < 4; i++) {
        cfg = parse_text("e.yml", empties[i], &out);
        ck_assert_ptr_null(cfg);
        ck_assert_str_eq(out, "e.yml:1:1: error: the file is empty; expected a mapping with at "
                              "least 'project'\n");
        free(out);
    }
    /* Deep nesting is refused at a fixed depth instead of exhausting the stack. */
    hoist_buf deep = {0};
    hoist_buf_puts(&deep, "project: p\nstate: ");
    for (int i = 0; i < 100000; i++)
        hoist_buf_puts(&deep, "[");
    cfg = parse_text("d.yml", deep.s, &out);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(out, "d.yml:2:71: error: nesting is deeper than 64 levels\n");
    free(out);
    hoist_buf_free(&deep);
    /* A large flat mapping with duplicate keys: linear, every duplicate reported. */
    hoist_buf big = {0};
    hoist_buf_puts(&big, "project: p\nstate:\n");
    for (int i = 0; i < 20000; i++)
        hoist_buf_printf(&big, "  k%d: %d\n", i % 10000, i);
    cfg = parse_text("b.yml", big.s, &out);
    ck_assert_ptr_null(cfg);
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, 10000);
    free(out);
    hoist_buf_free(&big);
    /* Huge numbers are not integers anywhere. */
    cfg = parse_ok("project: p\nenvironments:\n  e: { provider: local, n: 123456789012345678901 }\n");
    ck_assert_json(json_object_get(cfg->envs[0].settings, "n"), "\"123456789012345678901\"");
    hoist_config_free(cfg);
}
END_TEST

/* Byte mutations of a valid file: any outcome but a crash or a leak is fine. */
START_TEST(t_mutations)
{
    size_t len = sizeof design_yml - 1;
    char *buf = hoist_xmalloc(len);
    unsigned seed = 12345;
    static const char alphabet[] = "{}[]:,-#&*!|>'\"%@`\t\n ${}\\a0";
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, design_yml, len);
        int edits = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < edits; k++)
            buf[rand_r(&seed) % len] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        size_t cut = rand_r(&seed) % 8 == 0 ? rand_r(&seed) % len : len;
        hoist_diags d = {0};
        hoist_config *cfg = hoist_config_parse("m.yml", buf, cut, NULL, NULL, &d);
        /* The contract: a model exactly when there is no diagnostic. */
        ck_assert_int_eq(cfg == NULL, d.n > 0);
        for (size_t i = 0; i < d.n; i++)
            ck_assert_int_ge(d.v[i].loc.line, 1);
        hoist_config_free(cfg);
        hoist_diags_free(&d);
    }
    free(buf);
}
END_TEST

/* ---- the corpus of bad files ----------------------------------------------------------- */

static char *corpus_dir;
static char **corpus;
static int n_corpus;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void corpus_scan(void)
{
    const char *src = getenv("HOIST_SRCDIR");
    corpus_dir = hoist_xasprintf("%s/tests/config/bad", src && *src ? src : HOIST_SRCDIR);
    DIR *d = opendir(corpus_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".yml")) {
            corpus = hoist_xrealloc(corpus, (n_corpus + 1) * sizeof *corpus);
            corpus[n_corpus++] = hoist_xstrndup(e->d_name, l - 4);
        }
    }
    closedir(d);
    qsort(corpus, n_corpus, sizeof *corpus, cmp_str);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    hoist_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        hoist_buf_add(&b, chunk, n);
    fclose(fp);
    return hoist_buf_steal(&b);
}

/* Drop every occurrence of @prefix from @s, in place (diagnostics name the file by path). */
static void strip_all(char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    char *p;
    while ((p = strstr(s, prefix)))
        memmove(p, p + pl, strlen(p + pl) + 1);
}

START_TEST(t_bad_corpus)
{
    unsetenv("HOIST_TEST_UNSET_TOKEN");
    unsetenv("HOIST_TEST_UNSET_HOST");
    const char *name = corpus[_i];
    char *yml = hoist_xasprintf("%s/%s.yml", corpus_dir, name);
    char *exp = hoist_xasprintf("%s/%s.expect", corpus_dir, name);
    char *want = slurp(exp);
    hoist_diags d = {0};
    hoist_config *cfg = hoist_config_load(yml, known_providers, NULL, &d);
    ck_assert_msg(cfg == NULL, "%s.yml was accepted", name);
    ck_assert_uint_gt(d.n, 0);
    char *got = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&got, &len);
    hoist_diags_print(&d, fp);
    fclose(fp);
    char *prefix = hoist_xasprintf("%s/", corpus_dir);
    strip_all(got, prefix);
    ck_assert_msg(!strcmp(got, want), "%s.yml:\n--- expected\n%s--- got\n%s", name, want, got);
    free(prefix);
    free(got);
    hoist_diags_free(&d);
    free(want);
    free(exp);
    free(yml);
}
END_TEST

START_TEST(t_corpus_size)
{
    /* The corpus must exist and cover the error classes; a missing directory is a failure. */
    ck_assert_msg(n_corpus >= 30, "only %d files in %s", n_corpus, corpus_dir);
}
END_TEST

/* ---- ABI 1.3: environment keys against the driver's settings schema ---------------- */

static const hoist_setting cloud_schema[] = {
    {.name = "token", .type = HOIST_SETTING_STRING, .doc = "API token"},
    {.name = "poll_ms", .type = HOIST_SETTING_INT, .doc = "polling interval in ms"},
    {.name = "registry", .type = HOIST_SETTING_MAP, .doc = "registry settings"},
    {.name = "registry.keep_images", .type = HOIST_SETTING_INT, .doc = "images kept"},
    {.name = "network.cidr", .type = HOIST_SETTING_STRING, .doc = "the VPC block"},
    {.name = "offer", .type = HOIST_SETTING_LIST, .doc = "kinds offered"},
    {.name = "debug", .type = HOIST_SETTING_BOOL, .doc = "verbose calls"},
    {.name = "extra", .type = HOIST_SETTING_ANY, .doc = "anything"},
    {.name = NULL},
};

typedef struct schema_calls {
    int n;
    char envs[8][16];
} schema_calls;

/* "cloud" declares cloud_schema; "old" is a driver built against ABI 1.2. */
static const hoist_setting *test_schema(const char *env, const char *provider, void *arg,
                                        const char **why)
{
    schema_calls *c = arg;
    if (c && c->n < 8)
        snprintf(c->envs[c->n++], sizeof c->envs[0], "%s", env);
    if (!strcmp(provider, "cloud"))
        return cloud_schema;
    *why = "driver 'old' was built against provider ABI 1.2";
    return NULL;
}

static int any_provider(const char *env, const char *name, void *arg)
{
    (void)env, (void)name, (void)arg;
    return 1;
}

/* Parse @text with the schema hook; the printed diagnostics (caller frees). */
static char *schema_diags(const char *text, hoist_config **cfg_out, schema_calls *calls)
{
    hoist_config_hooks h = {.exists = any_provider, .settings = test_schema, .arg = calls};
    char *buf;
    hoist_config *cfg = parse_hooked("h.yml", text, &h, &buf);
    if (cfg_out)
        *cfg_out = cfg;
    else
        hoist_config_free(cfg);
    return buf;
}

START_TEST(t_schema_unknown_keys)
{
    const char *text = "project: p\n"
                       "environments:\n"
                       "  prod:\n"
                       "    provider: cloud\n"
                       "    tokne: abc\n"
                       "    poll_ms: soon\n"
                       "    registry: { keep_imags: 3 }\n"
                       "    network: { cdir: 10.0.0.0/16, zone: a }\n"
                       "    offer: network\n"
                       "    debug: maybe\n"
                       "    wholly_new: 1\n"
                       "    protectd: true\n"
                       "    extra: [1, {a: b}]\n";
    char *got = schema_diags(text, NULL, NULL);
    ck_assert_str_eq(got,
        "h.yml:5:5: error: unknown key 'tokne' in environment 'prod'; did you mean 'token'?\n"
        "h.yml:6:14: error: invalid 'poll_ms' of environment 'prod': found 'soon'; expected an "
        "integer (polling interval in ms)\n"
        "h.yml:7:17: error: unknown key 'keep_imags' in 'registry' of environment 'prod'; did you "
        "mean 'keep_images'?\n"
        "h.yml:8:16: error: unknown key 'cdir' in 'network' of environment 'prod'; did you mean "
        "'cidr'?\n"
        "h.yml:8:35: error: unknown key 'zone' in 'network' of environment 'prod'; driver 'cloud' "
        "reads: cidr\n"
        "h.yml:9:12: error: invalid 'offer' of environment 'prod': found 'network'; expected a "
        "sequence (kinds offered)\n"
        "h.yml:10:12: error: invalid 'debug' of environment 'prod': found 'maybe'; expected true "
        "or false (verbose calls)\n"
        "h.yml:11:5: error: unknown key 'wholly_new' in environment 'prod'; hoist reads: "
        "provider, region, protected, cluster, network, timeouts, ingress, resources, "
        "rollout_timeout, storage_class, state; driver 'cloud' reads: token, poll_ms, registry, "
        "offer, debug, extra\n"
        "h.yml:12:5: error: unknown key 'protectd' in environment 'prod'; did you mean "
        "'protected'?\n");
    free(got);
}
END_TEST

START_TEST(t_schema_valid_keys)
{
    const char *text = "project: p\n"
                       "environments:\n"
                       "  prod:\n"
                       "    provider: cloud\n"
                       "    region: r1\n"
                       "    protected: true\n"
                       "    token: 12345\n"
                       "    poll_ms: 250\n"
                       "    registry: { keep_images: 3 }\n"
                       "    network: { cidr: 10.0.0.0/16 }\n"
                       "    offer: [network]\n"
                       "    extra: { x: 0777 }\n"
                       "    debug: ~\n"
                       "    timeouts: { network: 60 }\n";
    hoist_config *cfg = NULL;
    char *got = schema_diags(text, &cfg, NULL);
    ck_assert_str_eq(got, "");
    ck_assert_ptr_nonnull(cfg);
    const hoist_env_cfg *e = hoist_config_env(cfg, "prod");
    ck_assert_int_eq(e->protected_, 1);
    ck_assert_json(json_object_get(e->settings, "registry"), "{\"keep_images\":3}");
    /* Declared a string: kept as written, not turned into a number. */
    ck_assert_str_eq(json_string_value(json_object_get(e->settings, "token")), "12345");
    ck_assert_int_eq(json_integer_value(json_object_get(e->settings, "poll_ms")), 250);
    hoist_config_free(cfg);
    free(got);
}
END_TEST

static char *note_buf;
static void note_sink(int level, const char *prefix, const char *msg, void *arg)
{
    (void)prefix, (void)arg;
    if (level == HOIST_LOG_DEBUG_ && !note_buf)
        note_buf = hoist_xstrdup(msg);
}

/*
 * A driver without a schema (ABI 1.2): its keys pass, with a -v note naming
 * them; a key a typo away from hoist's own is still an error.
 */
START_TEST(t_schema_absent)
{
    schema_calls calls = {0};
    const char *ok_text = "project: p\n"
                          "environments:\n"
                          "  dev: { provider: old, anything: 1, dir: /x }\n"
                          "  prod: { provider: cloud, token: t }\n";
    hoist_log_set_level(HOIST_LOG_DEBUG_);
    hoist_log_set_sink(note_sink, NULL);
    char *got = schema_diags(ok_text, NULL, &calls);
    hoist_log_set_sink(NULL, NULL);
    hoist_log_set_level(HOIST_LOG_INFO_);
    ck_assert_str_eq(got, "");
    free(got);
    ck_assert_int_eq(calls.n, 2);
    ck_assert_str_eq(calls.envs[0], "dev");
    ck_assert_ptr_nonnull(note_buf);
    ck_assert_str_eq(note_buf, "h.yml:3:8: note: settings of environment 'dev' (anything, dir) "
                               "not checked: driver 'old' was built against provider ABI 1.2");
    free(note_buf);
    note_buf = NULL;

    got = schema_diags("project: p\nenvironments:\n"
                       "  dev: { provider: old, protectd: true, regio: x }\n",
                       NULL, NULL);
    ck_assert_str_eq(got, "h.yml:3:25: error: unknown key 'protectd' in environment 'dev'; did you "
                          "mean 'protected'?\n"
                          "h.yml:3:41: error: unknown key 'regio' in environment 'dev'; did you "
                          "mean 'region'?\n");
    free(got);
}
END_TEST

int main(void)
{
    corpus_scan();
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, t_design_example);
    tcase_add_test(tc, t_defaults);
    tcase_add_test(tc, t_full_fields);
    tcase_add_test(tc, t_spec_is_deterministic);
    tcase_add_test(tc, t_app_defaults);
    tcase_add_test(tc, t_variables);
    tcase_add_test(tc, t_secret_not_in_diagnostics);
    tcase_add_test(tc, t_unset_variable_column);
    tcase_add_test(tc, t_relative_path);
    tcase_add_test(tc, t_diags_api);
    tcase_add_test(tc, t_exists_callback);
    tcase_add_test(tc, t_schema_unknown_keys);
    tcase_add_test(tc, t_schema_valid_keys);
    tcase_add_test(tc, t_schema_absent);
    suite_add_tcase(s, tc);
    TCase *rob = tcase_create("robustness");
    tcase_set_timeout(rob, 30);
    tcase_add_test(rob, t_hostile_inputs);
    tcase_add_test(rob, t_mutations);
    suite_add_tcase(s, rob);
    TCase *bad = tcase_create("bad");
    tcase_add_test(bad, t_corpus_size);
    tcase_add_loop_test(bad, t_bad_corpus, 0, n_corpus);
    suite_add_tcase(s, bad);
    int rc = tu_main(s);
    for (int i = 0; i < n_corpus; i++)
        free(corpus[i]);
    free(corpus);
    free(corpus_dir);
    return rc;
}
