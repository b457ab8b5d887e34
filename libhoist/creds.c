/* creds.c - cloud credentials from settings, environment and files (see creds.h). */
#include "creds.h"
#include "host.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

extern char **environ;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static const char *setting(json_t *settings, const char *key)
{
    const char *v = json_string_value(json_object_get(settings, key));
    return v && *v ? v : NULL;
}

static char *home_path(const char *rel)
{
    const char *h = env("HOME");
    return hoist_xasprintf("%s/%s", h ? h : ".", rel);
}

/* Set @key in @o if @v is non-NULL and @key not yet set; returns 1 if set. */
static int take(json_t *o, const char *key, const char *v)
{
    if (!v || json_object_get(o, key))
        return 0;
    json_object_set_new(o, key, json_string(v));
    return 1;
}

static const char *got(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/*
 * Read section @section of INI file @path into a new object (keys
 * lowercased).  Returns NULL if the file does not exist; sets *@found when
 * the section exists.  Indented lines (nested service settings) are skipped.
 */
static json_t *ini_section(const char *path, const char *section, int *found, char **err)
{
    FILE *fp = fopen(path, "r");
    *found = 0;
    if (!fp) {
        if (errno != ENOENT)
            *err = hoist_xasprintf("cannot read %s: %s", path, hoist_strerror(errno));
        return NULL;
    }
    json_t *o = json_object();
    char line[4096];
    int in = 0;
    while (fgets(line, sizeof line, fp)) {
        char *p = line;
        int indented = *p == ' ' || *p == '\t';
        while (isspace((unsigned char)*p))
            p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (!*p || *p == '#' || *p == ';')
            continue;
        if (*p == '[') {
            char *close = strchr(p, ']');
            if (close) {
                *close = '\0';
                char *name = p + 1;
                while (isspace((unsigned char)*name))
                    name++;
                char *ne = name + strlen(name);
                while (ne > name && isspace((unsigned char)ne[-1]))
                    *--ne = '\0';
                in = strcmp(name, section) == 0;
                *found |= in;
            }
            continue;
        }
        char *eq = strchr(p, '=');
        if (!in || indented || !eq)
            continue;
        char *k = p, *ke = eq;
        while (ke > k && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        for (char *c = k; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (*v)
            json_object_set_new(o, k, json_string(v));
    }
    fclose(fp);
    return o;
}

/* ---- AWS ---- */

static hoist_status aws_creds(hoist_ctx *ctx, json_t *settings, json_t *o)
{
    hoist_status st = HOIST_OK;
    hoist_buf looked = {0}, partial = {0};
    char *cred_path = NULL, *conf_path = NULL, *err = NULL;
    json_t *cs = NULL, *cf = NULL;

    /* 1. hoist.yml, 2. environment: both only as a complete pair. */
    const char *ak = setting(settings, "access_key_id"), *sk = setting(settings, "secret_access_key");
    hoist_buf_puts(&looked, "\n  - hoist.yml settings access_key_id/secret_access_key");
    if (ak && sk) {
        take(o, "access_key_id", ak);
        take(o, "secret_access_key", sk);
        take(o, "session_token", setting(settings, "session_token"));
        take(o, "source", "hoist.yml");
    } else if (ak || sk) {
        hoist_buf_printf(&partial, "\n  hoist.yml sets %s but not %s",
                         ak ? "access_key_id" : "secret_access_key",
                         ak ? "secret_access_key" : "access_key_id");
    }
    ak = env("AWS_ACCESS_KEY_ID"), sk = env("AWS_SECRET_ACCESS_KEY");
    hoist_buf_puts(&looked, "\n  - environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
    if (ak && sk && !got(o, "access_key_id")) {
        take(o, "access_key_id", ak);
        take(o, "secret_access_key", sk);
        take(o, "session_token", env("AWS_SESSION_TOKEN"));
        take(o, "source", "environment");
    } else if ((ak || sk) && !(ak && sk)) {
        hoist_buf_printf(&partial, "\n  %s is set but %s is not",
                         ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                         ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    }

    /* 3. the profile, in the shared credentials file then the config file. */
    const char *profile = setting(settings, "profile");
    int explicit_profile = profile || env("AWS_PROFILE");
    if (!profile)
        profile = env("AWS_PROFILE");
    if (!profile)
        profile = "default";
    cred_path = env("AWS_SHARED_CREDENTIALS_FILE") ? hoist_xstrdup(env("AWS_SHARED_CREDENTIALS_FILE"))
                                                   : home_path(".aws/credentials");
    conf_path = env("AWS_CONFIG_FILE") ? hoist_xstrdup(env("AWS_CONFIG_FILE"))
                                       : home_path(".aws/config");
    char *conf_section = strcmp(profile, "default") ? hoist_xasprintf("profile %s", profile)
                                                    : hoist_xstrdup("default");
    int in_cred = 0, in_conf = 0;
    cs = ini_section(cred_path, profile, &in_cred, &err);
    if (!err)
        cf = ini_section(conf_path, conf_section, &in_conf, &err);
    if (err) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "aws credentials: %s", err);
        free(conf_section);
        goto cleanup;
    }
    hoist_buf_printf(&looked, "\n  - %s [%s]%s", cred_path, profile,
                     cs ? (in_cred ? "" : " (no such section)") : " (no such file)");
    hoist_buf_printf(&looked, "\n  - %s [%s]%s", conf_path, conf_section,
                     cf ? (in_conf ? "" : " (no such section)") : " (no such file)");
    free(conf_section);
    if (explicit_profile && !in_cred && !in_conf) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                            "aws profile '%s' not found; looked in:%s", profile, looked.s);
        goto cleanup;
    }
    json_t *files[] = {cs, cf};
    for (int i = 0; i < 2; i++) {
        const char *fak = got(files[i], "aws_access_key_id"),
                   *fsk = got(files[i], "aws_secret_access_key");
        if (fak && fsk && !got(o, "access_key_id")) {
            take(o, "access_key_id", fak);
            take(o, "secret_access_key", fsk);
            take(o, "session_token", got(files[i], "aws_session_token"));
            json_object_set_new(o, "source", json_sprintf("profile %s in %s", profile,
                                                          i ? conf_path : cred_path));
        } else if ((fak || fsk) && !(fak && fsk)) {
            hoist_buf_printf(&partial, "\n  %s [%s] has %s but not %s", i ? conf_path : cred_path,
                             profile, fak ? "aws_access_key_id" : "aws_secret_access_key",
                             fak ? "aws_secret_access_key" : "aws_access_key_id");
        }
    }
    if (explicit_profile)
        take(o, "profile", profile);

    /* Region and endpoints: settings, environment, profile. */
    take(o, "region", setting(settings, "region"));
    take(o, "region", env("AWS_REGION"));
    take(o, "region", env("AWS_DEFAULT_REGION"));
    take(o, "region", got(cf, "region"));
    take(o, "endpoint_url", setting(settings, "endpoint"));
    take(o, "endpoint_url", env("AWS_ENDPOINT_URL"));
    take(o, "endpoint_url", got(cf, "endpoint_url"));
    json_t *eps = json_object();
    json_t *sep = json_object_get(settings, "endpoints");
    const char *k;
    json_t *v;
    json_object_foreach(sep, k, v)
    {
        if (json_is_string(v))
            json_object_set(eps, k, v);
    }
    /* AWS_ENDPOINT_URL_<SERVICE>: the service id upper-cased, spaces and
       dashes as underscores (AWS "service-specific endpoints" docs). */
    for (char **e = environ; e && *e; e++) {
        const char *pre = "AWS_ENDPOINT_URL_";
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, pre, strlen(pre)) || !eq || !eq[1])
            continue;
        char *svc = hoist_xstrndup(*e + strlen(pre), (size_t)(eq - *e) - strlen(pre));
        for (char *c = svc; *c; c++)
            *c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
        if (!json_object_get(eps, svc))
            json_object_set_new(eps, svc, json_string(eq + 1));
        free(svc);
    }
    json_object_set_new(o, "endpoints", eps);

    if (!got(o, "access_key_id")) {
        st = hoist_ctx_fail(ctx, HOIST_E_AUTH,
                            "no AWS credentials found; looked in:%s%s%s\n"
                            "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                            "with a profile in ~/.aws/credentials",
                            looked.s, partial.len ? "\nIncomplete:" : "",
                            partial.len ? partial.s : "");
        goto cleanup;
    }
    if (!got(o, "region")) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                            "no AWS region: set `region:` in hoist.yml, AWS_REGION or "
                            "AWS_DEFAULT_REGION, or region in %s [%s]",
                            conf_path, profile);
        goto cleanup;
    }
    hoist_secret_add(got(o, "secret_access_key"));
    hoist_secret_add(got(o, "session_token"));

cleanup:
    json_decref(cs);
    json_decref(cf);
    free(cred_path);
    free(conf_path);
    free(err);
    hoist_buf_free(&looked);
    hoist_buf_free(&partial);
    return st;
}

/* ---- DigitalOcean ---- */

static hoist_status do_creds(hoist_ctx *ctx, json_t *settings, json_t *o)
{
    if (take(o, "token", setting(settings, "token")))
        take(o, "source", "hoist.yml");
    if (take(o, "token", env("DIGITALOCEAN_TOKEN")))
        take(o, "source", "DIGITALOCEAN_TOKEN");
    if (take(o, "token", env("DIGITALOCEAN_ACCESS_TOKEN")))
        take(o, "source", "DIGITALOCEAN_ACCESS_TOKEN");
    take(o, "api_url", setting(settings, "endpoint"));
    take(o, "api_url", setting(settings, "api_url"));
    take(o, "api_url", env("DIGITALOCEAN_API_URL"));
    take(o, "api_url", "https://api.digitalocean.com");
    if (!got(o, "token"))
        return hoist_ctx_fail(ctx, HOIST_E_AUTH,
                              "no DigitalOcean token found; looked in:\n"
                              "  - hoist.yml settings token\n"
                              "  - environment DIGITALOCEAN_TOKEN\n"
                              "  - environment DIGITALOCEAN_ACCESS_TOKEN\n"
                              "Create a token at https://cloud.digitalocean.com/account/api/tokens "
                              "and export DIGITALOCEAN_TOKEN");
    hoist_secret_add(got(o, "token"));
    return HOIST_OK;
}

/* ---- Scaleway ---- */

/* A YAML document as JSON (mappings, sequences, scalars as strings). */
static json_t *yaml_node(yaml_parser_t *p, yaml_event_t *first, int *bad)
{
    json_t *r = NULL;
    if (first->type == YAML_SCALAR_EVENT) {
        return json_stringn((const char *)first->data.scalar.value, first->data.scalar.length);
    }
    int map = first->type == YAML_MAPPING_START_EVENT;
    if (!map && first->type != YAML_SEQUENCE_START_EVENT)
        return json_null();
    r = map ? json_object() : json_array();
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            *bad = 1;
            return r;
        }
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return r;
        }
        json_t *k = yaml_node(p, &ev, bad);
        yaml_event_delete(&ev);
        if (*bad) {
            json_decref(k);
            return r;
        }
        if (!map) {
            json_array_append_new(r, k);
            continue;
        }
        if (!yaml_parser_parse(p, &ev)) {
            *bad = 1;
            json_decref(k);
            return r;
        }
        json_t *v = yaml_node(p, &ev, bad);
        yaml_event_delete(&ev);
        if (json_is_string(k))
            json_object_set_new(r, json_string_value(k), v);
        else
            json_decref(v);
        json_decref(k);
        if (*bad)
            return r;
    }
}

/* Load @path as JSON; NULL if absent; *@err on unreadable or malformed. */
static json_t *yaml_load(const char *path, char **err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno != ENOENT)
            *err = hoist_xasprintf("cannot read %s: %s", path, hoist_strerror(errno));
        return NULL;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, fp);
    json_t *doc = NULL;
    int bad = 0;
    yaml_event_t ev;
    while (!bad && !doc) {
        if (!yaml_parser_parse(&p, &ev)) {
            bad = 1;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_SCALAR_EVENT)
            doc = yaml_node(&p, &ev, &bad);
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    if (bad) {
        *err = hoist_xasprintf("%s:%zu: invalid YAML: %s", path, p.problem_mark.line + 1,
                               p.problem ? p.problem : "syntax error");
        json_decref(doc);
        doc = NULL;
    }
    yaml_parser_delete(&p);
    fclose(fp);
    return doc ? doc : (bad ? NULL : json_object());
}

static hoist_status scw_creds(hoist_ctx *ctx, json_t *settings, json_t *o)
{
    hoist_status st = HOIST_OK;
    char *err = NULL;
    char *path = env("SCW_CONFIG_PATH") ? hoist_xstrdup(env("SCW_CONFIG_PATH"))
                                        : home_path(".config/scw/config.yaml");
    json_t *cfg = yaml_load(path, &err), *prof = NULL;
    if (err) {
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID, "scaleway credentials: %s", err);
        goto cleanup;
    }
    const char *pname = setting(settings, "profile");
    if (!pname)
        pname = env("SCW_PROFILE");
    int explicit_profile = pname != NULL;
    if (!pname)
        pname = json_string_value(json_object_get(cfg, "active_profile"));
    if (pname && strcmp(pname, "default")) {
        prof = json_object_get(json_object_get(cfg, "profiles"), pname);
        if (!prof && explicit_profile) {
            st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                                "scaleway profile '%s' not found in %s (profiles:)", pname, path);
            goto cleanup;
        }
        take(o, "profile", pname);
    }
    /* hoist.yml, environment, the profile, the file's top level. */
    static const struct {
        const char *key, *setting, *envname, *file;
    } f[] = {{"access_key", "access_key", "SCW_ACCESS_KEY", "access_key"},
             {"secret_key", "secret_key", "SCW_SECRET_KEY", "secret_key"},
             {"project_id", "project_id", "SCW_DEFAULT_PROJECT_ID", "default_project_id"},
             {"region", "region", "SCW_DEFAULT_REGION", "default_region"},
             {"zone", "zone", "SCW_DEFAULT_ZONE", "default_zone"},
             {"api_url", "endpoint", "SCW_API_URL", "api_url"}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        take(o, f[i].key, setting(settings, f[i].setting));
        take(o, f[i].key, env(f[i].envname));
        take(o, f[i].key, json_string_value(json_object_get(prof, f[i].file)));
        take(o, f[i].key, json_string_value(json_object_get(cfg, f[i].file)));
    }
    take(o, "api_url", "https://api.scaleway.com");
    /* A zone names its region (fr-par-1 -> fr-par); Scaleway's tools
       default to fr-par. */
    const char *zone = got(o, "zone");
    if (zone && !got(o, "region") && strrchr(zone, '-'))
        json_object_set_new(o, "region", json_stringn(zone, (size_t)(strrchr(zone, '-') - zone)));
    take(o, "region", "fr-par");
    if (!got(o, "zone"))
        json_object_set_new(o, "zone", json_sprintf("%s-1", got(o, "region")));
    hoist_buf missing = {0};
    const char *need[][2] = {{"access_key", "SCW_ACCESS_KEY"},
                             {"secret_key", "SCW_SECRET_KEY"},
                             {"project_id", "SCW_DEFAULT_PROJECT_ID"}};
    for (int i = 0; i < 3; i++)
        if (!got(o, need[i][0]))
            hoist_buf_printf(&missing, "%s%s (%s)", missing.len ? ", " : "", need[i][0],
                             need[i][1]);
    if (missing.len) {
        st = hoist_ctx_fail(ctx, HOIST_E_AUTH,
                            "Scaleway credentials incomplete: missing %s; looked in:\n"
                            "  - hoist.yml settings access_key/secret_key/project_id\n"
                            "  - environment SCW_ACCESS_KEY, SCW_SECRET_KEY, "
                            "SCW_DEFAULT_PROJECT_ID\n"
                            "  - %s%s%s%s\n"
                            "Create an API key in the Scaleway console and export them, or run "
                            "`scw init`",
                            missing.s, path, cfg ? "" : " (no such file)",
                            prof ? " profile " : "", prof ? pname : "");
        hoist_buf_free(&missing);
        goto cleanup;
    }
    take(o, "source", "scaleway");
    hoist_secret_add(got(o, "secret_key"));

cleanup:
    json_decref(cfg);
    free(path);
    free(err);
    return st;
}

hoist_status hoist_credentials(hoist_ctx *ctx, const char *cloud, json_t *settings, json_t **out)
{
    json_t *o = json_object();
    hoist_status st;
    *out = NULL;
    if (!json_is_object(settings))
        settings = NULL;
    if (!strcmp(cloud, "aws"))
        st = aws_creds(ctx, settings, o);
    else if (!strcmp(cloud, "digitalocean"))
        st = do_creds(ctx, settings, o);
    else if (!strcmp(cloud, "scaleway"))
        st = scw_creds(ctx, settings, o);
    else
        st = hoist_ctx_fail(ctx, HOIST_E_INVALID,
                            "no credential lookup for cloud '%s' (known: aws, digitalocean, "
                            "scaleway)",
                            cloud);
    if (st == HOIST_OK)
        *out = o;
    else
        json_decref(o);
    return st;
}
