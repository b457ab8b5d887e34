/*
 * settings.c - read the driver settings hoist-conformance hands to init:
 * a JSON file, or a YAML file shaped like one environment of hoist.yml.
 */
#include "conformance.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A plain YAML scalar becomes a number, boolean or null when it reads as one
 * (YAML 1.2 core schema); quoted scalars always stay strings. */
static json_t *yaml_scalar(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
        return json_null();
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*end && !errno)
        return json_integer(v);
    double d = strtod(s, &end);
    if (!*end && !errno)
        return json_real(d);
    return json_string(s);
}

static json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > 64)
        return NULL;
    if (n->type == YAML_SCALAR_NODE)
        return yaml_scalar(n);
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
            json_array_append_new(a, yaml_to_json(doc, yaml_document_get_node(doc, *i), depth + 1));
        return a;
    }
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        json_t *v = yaml_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
        json_object_set_new(o, (const char *)k->data.scalar.value, v ? v : json_null());
    }
    return o;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

json_t *hc_settings_load(const char *path, char **err)
{
    *err = NULL;
    json_t *out = NULL;
    if (ends_with(path, ".json")) {
        json_error_t je;
        out = json_load_file(path, 0, &je);
        if (!out)
            *err = hoist_xasprintf("%s:%d:%d: %s", path, je.line, je.column, je.text);
    } else {
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            *err = hoist_xasprintf("cannot open %s: %s", path, hoist_strerror(errno));
            return NULL;
        }
        yaml_parser_t p;
        yaml_document_t doc;
        yaml_parser_initialize(&p);
        yaml_parser_set_input_file(&p, fp);
        if (!yaml_parser_load(&p, &doc)) {
            *err = hoist_xasprintf("%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
                                   p.problem_mark.column + 1, p.problem ? p.problem : "invalid YAML");
        } else {
            out = yaml_to_json(&doc, yaml_document_get_root_node(&doc), 0);
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&p);
        fclose(fp);
    }
    if (out && !json_is_object(out)) {
        *err = hoist_xasprintf("%s: settings must be a mapping (an object), like one environment "
                               "of hoist.yml",
                               path);
        json_decref(out);
        out = NULL;
    }
    if (!out && !*err)
        *err = hoist_xasprintf("%s: empty settings file", path);
    return out;
}
