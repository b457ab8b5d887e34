/*
 * config.c - hoist.yml: YAML events -> a located node tree -> a validated model.
 *
 * Two passes.  The first reads libyaml events into a small tree whose every
 * node carries its 1-based line and column, expanding ${VAR} as scalars
 * arrive and catching duplicate keys, aliases and excessive nesting.  The
 * second walks the tree against the schema and fills the model; it never
 * stops at the first problem, so one run reports everything.  Only a YAML
 * syntax error (or a second document) ends the first pass early, and then the
 * schema pass is skipped because a truncated tree would produce noise.
 */
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Deeper than any sane hoist.yml; bounds the recursion of the later passes. */
#define CFG_MAX_DEPTH 64
#define CFG_NAME_MAX 40

enum { N_SCALAR, N_MAP, N_SEQ };

typedef struct ynode {
    int kind;
    int line, col;
    char *text;          /* scalar: value after ${VAR} expansion */
    int plain;           /* scalar: plain style, so its type is inferred (int, bool...) */
    int bad;             /* already reported (alias, unset variable): stay quiet about it */
    struct ynode **kids; /* map: key, value, key, value...; seq: items */
    size_t n, cap;
} ynode;

typedef struct cfg_ctx {
    hoist_config *cfg;
    hoist_diags diags;   /* this file's diagnostics, sorted before they are handed out */
    const char *buf;
    size_t len;
    hoist_provider_exists_fn exists;
    hoist_provider_settings_fn settings;
    void *exists_arg;
} cfg_ctx;

/* ---- diagnostics ---------------------------------------------------------------------- */

void hoist_diags_add(hoist_diags *d, hoist_loc loc, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *raw = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = hoist_xrealloc(d->v, d->cap * sizeof *d->v);
    }
    hoist_diag *g = &d->v[d->n++];
    /* Messages quote values that may come from ${VAR}: never let a secret out. */
    g->message = hoist_redact(raw);
    free(raw);
    g->file = hoist_xstrdup(loc.file);
    g->loc = loc;
    g->loc.file = g->file;
}

void hoist_diags_print(const hoist_diags *d, FILE *fp)
{
    for (size_t i = 0; i < d->n; i++) {
        const hoist_diag *g = &d->v[i];
        const char *f = g->loc.file ? g->loc.file : "hoist.yml";
        if (g->loc.line > 0)
            fprintf(fp, "%s:%d:%d: error: %s\n", f, g->loc.line, g->loc.col, g->message);
        else
            fprintf(fp, "%s: error: %s\n", f, g->message);
    }
}

void hoist_diags_free(hoist_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].message);
        free(d->v[i].file);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

typedef struct {
    hoist_diag d;
    size_t seq;
} diag_sort;

static int diag_cmp(const void *a, const void *b)
{
    const diag_sort *x = a, *y = b;
    if (x->d.loc.line != y->d.loc.line)
        return x->d.loc.line < y->d.loc.line ? -1 : 1;
    if (x->d.loc.col != y->d.loc.col)
        return x->d.loc.col < y->d.loc.col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort @src by position (stable) and move its entries to the end of @dst. */
static void diags_move_sorted(hoist_diags *src, hoist_diags *dst)
{
    if (!src->n)
        return;
    diag_sort *t = hoist_xmalloc(src->n * sizeof *t);
    for (size_t i = 0; i < src->n; i++) {
        t[i].d = src->v[i];
        t[i].seq = i;
    }
    hoist_sort(t, src->n, sizeof *t, diag_cmp);
    if (dst->n + src->n > dst->cap) {
        dst->cap = dst->n + src->n;
        dst->v = hoist_xrealloc(dst->v, dst->cap * sizeof *dst->v);
    }
    for (size_t i = 0; i < src->n; i++)
        dst->v[dst->n++] = t[i].d;
    free(t);
    free(src->v);
    src->v = NULL;
    src->n = src->cap = 0;
}

static hoist_loc node_loc(const cfg_ctx *c, const ynode *n)
{
    return (hoist_loc){.file = c->cfg->file, .line = n ? n->line : 0, .col = n ? n->col : 0};
}

static void err_at(cfg_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void err_at(cfg_ctx *c, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    hoist_diags_add(&c->diags, (hoist_loc){.file = c->cfg->file, .line = line, .col = col}, "%s",
                    m);
    free(m);
}

#define err(c, n, ...) err_at((c), (n)->line, (n)->col, __VA_ARGS__)

/* ---- the node tree -------------------------------------------------------------------- */

static void node_free(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static void node_add(ynode *parent, ynode *kid)
{
    if (parent->n == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = hoist_xrealloc(parent->kids, parent->cap * sizeof *parent->kids);
    }
    parent->kids[parent->n++] = kid;
}

static ynode *node_new(int kind, yaml_mark_t m)
{
    ynode *n = hoist_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    return n;
}

static int var_start(int ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static int var_char(int ch)
{
    return var_start(ch) || (ch >= '0' && ch <= '9');
}

/*
 * Expand ${VAR} in @s (length @len) from the environment; "$$" is a literal
 * "$".  Problems are reported at the reference itself when the scalar's raw
 * text maps 1:1 to columns (@shift is the column of s[0], or 0 when it does
 * not, e.g. after escapes or line folding).  Returns the new string, or NULL
 * after reporting.
 */
static char *expand_vars(cfg_ctx *c, const ynode *n, const char *s, size_t len, int shift)
{
    hoist_buf out = {0};
    int ok = 1;
    hoist_buf_add(&out, "", 0);
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '$') {
            hoist_buf_add(&out, &s[i], 1);
            continue;
        }
        int col = shift ? shift + (int)i : n->col;
        if (i + 1 < len && s[i + 1] == '$') {
            hoist_buf_add(&out, "$", 1);
            i++;
            continue;
        }
        if (i + 1 >= len || s[i + 1] != '{') {
            hoist_buf_add(&out, "$", 1);
            continue;
        }
        size_t j = i + 2;
        while (j < len && s[j] != '}')
            j++;
        if (j >= len) {
            err_at(c, n->line, col, "unterminated '${' (expected '${NAME}'; write '$$' for a "
                   "literal '$')");
            ok = 0;
            break;
        }
        char *name = hoist_xstrndup(s + i + 2, j - i - 2);
        int valid = var_start((unsigned char)name[0]);
        for (size_t k = 1; valid && name[k]; k++)
            valid = var_char((unsigned char)name[k]);
        if (!valid || strlen(name) != j - i - 2) {
            err_at(c, n->line, col, "invalid variable reference '${%.40s}'; expected a name of "
                   "letters, digits and '_' not starting with a digit", name);
            ok = 0;
        } else {
            const char *v = getenv(name);
            if (!v) {
                err_at(c, n->line, col, "environment variable '%s' is not set (write '$${%s}' "
                       "for a literal '${%s}')", name, name, name);
                ok = 0;
            } else {
                hoist_secret_add(v);
                hoist_buf_puts(&out, v);
            }
        }
        free(name);
        i = j;
    }
    if (!ok) {
        hoist_buf_free(&out);
        return NULL;
    }
    return hoist_buf_steal(&out);
}

static ynode *scalar_from_event(cfg_ctx *c, const yaml_event_t *ev)
{
    ynode *n = node_new(N_SCALAR, ev->start_mark);
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               !(tag && strcmp(tag, YAML_STR_TAG) == 0);
    if (memchr(v, '\0', len)) {
        err(c, n, "a NUL character is not allowed in a value");
        n->bad = 1;
        n->text = hoist_xstrdup("");
        return n;
    }
    /* Columns of ${...} are exact only when the raw text is the value itself. */
    int shift = 0;
    size_t span = ev->end_mark.index - ev->start_mark.index;
    if (ev->start_mark.line == ev->end_mark.line) {
        if (n->plain && span == len)
            shift = n->col;
        else if ((ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                  ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
                 span == len + 2)
            shift = n->col + 1;
    }
    n->text = memchr(v, '$', len) ? expand_vars(c, n, v, len, shift) : hoist_xstrndup(v, len);
    if (!n->text) {
        n->bad = 1;
        n->text = hoist_xstrdup("");
    }
    return n;
}

/* Report a mapping's duplicate keys at the second occurrence. */
static void check_dup_keys(cfg_ctx *c, const ynode *map)
{
    json_t *seen = json_object();
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const ynode *k = map->kids[i];
        if (k->kind != N_SCALAR || k->bad)
            continue;
        json_t *first = json_object_get(seen, k->text);
        if (first)
            err(c, k, "duplicate key '%.60s' (first defined at line %d)", k->text,
                (int)json_integer_value(first));
        else
            json_object_set_new_nocheck(seen, k->text, json_integer(k->line));
    }
    json_decref(seen);
}

static const char *yaml_problem(const yaml_parser_t *p)
{
    return p->problem ? p->problem : "malformed YAML";
}

/* Pass one.  Returns the document's root (NULL for an empty stream) and sets *fatal. */
static ynode *read_tree(cfg_ctx *c, int *fatal)
{
    yaml_parser_t p;
    ynode *root = NULL;
    ynode *stack[CFG_MAX_DEPTH + 1];
    int depth = 0, docs = 0, done = 0;
    *fatal = 0;
    if (!yaml_parser_initialize(&p)) {
        err_at(c, 0, 0, "cannot initialise the YAML parser");
        *fatal = 1;
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->buf, c->len);
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            int line = (int)p.problem_mark.line + 1, col = (int)p.problem_mark.column + 1;
            const char *hint = "";
            if (p.problem_mark.index < c->len && c->buf[p.problem_mark.index] == '\t')
                hint = "; tabs cannot be used for indentation, use spaces";
            if (p.context && p.context_mark.index == p.problem_mark.index)
                err_at(c, line, col, "invalid YAML: %s (%s)%s", yaml_problem(&p), p.context,
                       hint);
            else if (p.context)
                err_at(c, line, col, "invalid YAML: %s (%s that starts at %d:%d)%s",
                       yaml_problem(&p), p.context, (int)p.context_mark.line + 1,
                       (int)p.context_mark.column + 1, hint);
            else
                err_at(c, line, col, "invalid YAML: %s%s", yaml_problem(&p), hint);
            *fatal = 1;
            break;
        }
        ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                err_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                       "a second YAML document was found; hoist.yml must hold exactly one");
                *fatal = 1;
                done = 1;
            }
            break;
        case YAML_ALIAS_EVENT:
            n = node_new(N_SCALAR, ev.start_mark);
            n->text = hoist_xstrdup("");
            n->bad = 1;
            err(c, n, "aliases ('*%.40s') are not supported in hoist.yml; repeat the value "
                "instead", (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            n = scalar_from_event(c, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP, ev.start_mark);
            if (depth == CFG_MAX_DEPTH) {
                err(c, n, "nesting is deeper than %d levels", CFG_MAX_DEPTH);
                node_free(n);
                n = NULL;
                *fatal = 1;
                done = 1;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
                if (stack[depth]->kind == N_MAP)
                    check_dup_keys(c, stack[depth]);
            }
            break;
        default:
            break;
        }
        if (n && depth == 0 && root) {
            node_free(n); /* a second root cannot happen within one document; be safe */
        } else if (n) {
            if (depth > 0)
                node_add(stack[depth - 1], n);
            else
                root = n;
            if (n->kind != N_SCALAR)
                stack[depth++] = n;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return root;
}

/* ---- scalar typing (YAML 1.2 core schema, plain scalars only) ------------------------- */

static int is_null(const ynode *n)
{
    if (n->kind != N_SCALAR || !n->plain)
        return 0;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

/* 1 and *out set when @n is a plain true/false. */
static int as_bool(const ynode *n, int *out)
{
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False",
                                                                           "FALSE"};
    if (n->kind != N_SCALAR || !n->plain)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        if (!strcmp(n->text, t[i]))
            return *out = 1, 1;
        if (!strcmp(n->text, f[i]))
            return *out = 0, 1;
    }
    return 0;
}

/* 1 and *out set when @n is a plain decimal integer that fits a long long. */
static int as_int(const ynode *n, long long *out)
{
    if (n->kind != N_SCALAR || !n->plain)
        return 0;
    const char *s = n->text;
    size_t i = (*s == '-' || *s == '+') ? 1 : 0;
    if (!s[i])
        return 0;
    for (; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    errno = 0;
    long long v = strtoll(n->text, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *out = v;
    return 1;
}

static const char *found(const ynode *n, char *tmp, size_t size)
{
    if (n->kind == N_MAP)
        return "a mapping";
    if (n->kind == N_SEQ)
        return "a sequence";
    if (is_null(n))
        return "nothing (null)";
    const char *more = strlen(n->text) > 40 ? "..." : "";
    /* Quoting makes "8080" a string: say so, or the message would look absurd. */
    if (n->plain)
        snprintf(tmp, size, "'%.40s%s'", n->text, more);
    else
        snprintf(tmp, size, "\"%.40s%s\" (a quoted string)", n->text, more);
    return tmp;
}

/* ---- scalar to JSON -------------------------------------------------------------------- */

static json_t *scalar_json(const ynode *n)
{
    long long i;
    int b;
    if (is_null(n))
        return json_null();
    if (as_int(n, &i))
        return json_integer(i);
    if (as_bool(n, &b))
        return json_boolean(b);
    return json_string_nocheck(n->text);
}

static json_t *to_json(const ynode *n)
{
    if (n->kind == N_SCALAR)
        return scalar_json(n);
    if (n->kind == N_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; i < n->n; i++)
            json_array_append_new(a, to_json(n->kids[i]));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const ynode *k = n->kids[i];
        if (k->kind == N_SCALAR && !json_object_get(o, k->text))
            json_object_set_new_nocheck(o, k->text, to_json(n->kids[i + 1]));
    }
    return o;
}

/* ---- schema helpers -------------------------------------------------------------------- */

static const ynode *map_get(const ynode *map, const char *key)
{
    if (!map || map->kind != N_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (map->kids[i]->kind == N_SCALAR && !strcmp(map->kids[i]->text, key))
            return map->kids[i + 1];
    return NULL;
}

static const char *kind_word(int kind)
{
    return kind == N_MAP ? "a mapping" : kind == N_SEQ ? "a sequence" : "a scalar value";
}

/* 1 if @n is of @kind; otherwise report "expected KIND for WHAT, found ..." and 0. */
static int want(cfg_ctx *c, const ynode *n, int kind, const char *what)
{
    char tmp[80];
    if (n->kind == kind && !(kind == N_SCALAR && is_null(n)))
        return 1;
    if (!n->bad)
        err(c, n, "expected %s for %s, found %s", kind == N_SCALAR ? "a string" : kind_word(kind),
            what, found(n, tmp, sizeof tmp));
    return 0;
}

/* Optional collection: absent or null means empty. */
static int want_opt(cfg_ctx *c, const ynode *n, int kind, const char *what)
{
    if (!n || is_null(n))
        return 0;
    return want(c, n, kind, what);
}

/*
 * The entry of @known (NULL-terminated) closest to @word, if it is within two
 * edits (a typo, not a different word), else NULL.
 */
static const char *closest(const char *word, const char *const *known)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t j = 0; known && known[j]; j++) {
        size_t d = hoist_levenshtein(word, known[j]);
        if (d < bestd) {
            bestd = d;
            best = known[j];
        }
    }
    return best;
}

static int in_list(const char *word, const char *const *known)
{
    for (size_t j = 0; known && known[j]; j++)
        if (!strcmp(word, known[j]))
            return 1;
    return 0;
}

/* "a, b, c" of @known, into @b. */
static void list_words(hoist_buf *b, const char *const *known)
{
    for (size_t j = 0; known && known[j]; j++)
        hoist_buf_printf(b, "%s%s", j ? ", " : "", known[j]);
}

/*
 * Report every key of @map not in @known (NULL-terminated) with a suggestion,
 * and every key that is not a scalar.  @where reads like "in the top level".
 */
static void check_keys(cfg_ctx *c, const ynode *map, const char *const *known, const char *where)
{
    char tmp[80];
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const ynode *k = map->kids[i];
        if (k->kind != N_SCALAR) {
            err(c, k, "expected a key name %s, found %s", where, found(k, tmp, sizeof tmp));
            continue;
        }
        if (!known || k->bad || in_list(k->text, known))
            continue;
        const char *best = closest(k->text, known);
        if (best)
            err(c, k, "unknown key '%.60s' %s; did you mean '%s'?", k->text, where, best);
        else {
            hoist_buf b = {0};
            list_words(&b, known);
            err(c, k, "unknown key '%.60s' %s; expected one of: %s", k->text, where, b.s);
            hoist_buf_free(&b);
        }
    }
}

static void missing(cfg_ctx *c, const ynode *map, const char *key, const char *where)
{
    err(c, map, "missing required key '%s' %s", key, where);
}

/* A non-null scalar as text (numbers and booleans as written); NULL after reporting. */
static char *get_text(cfg_ctx *c, const ynode *n, const char *what)
{
    if (!n || !want(c, n, N_SCALAR, what))
        return NULL;
    return hoist_xstrdup(n->text);
}

static int get_bool(cfg_ctx *c, const ynode *n, const char *what, int *out)
{
    char tmp[80];
    if (as_bool(n, out))
        return 1;
    if (!n->bad)
        err(c, n, "invalid %s: found %s; expected true or false", what,
            found(n, tmp, sizeof tmp));
    return 0;
}

static int get_int(cfg_ctx *c, const ynode *n, const char *what, long long lo, long long hi,
                   long long *out)
{
    char tmp[80];
    if (as_int(n, out) && *out >= lo && *out <= hi)
        return 1;
    if (n->bad)
        return 0;
    if (hi >= INT_MAX)
        err(c, n, "invalid %s: found %s; expected an integer of at least %lld", what,
            found(n, tmp, sizeof tmp), lo);
    else
        err(c, n, "invalid %s: found %s; expected an integer from %lld to %lld", what,
            found(n, tmp, sizeof tmp), lo, hi);
    return 0;
}

/* Index of @n's text in @values, or -1 after reporting (with a suggestion). */
static int get_enum(cfg_ctx *c, const ynode *n, const char *what, const char *const *values)
{
    char tmp[80];
    if (n->kind == N_SCALAR && !is_null(n))
        for (int i = 0; values[i]; i++)
            if (!strcmp(n->text, values[i]))
                return i;
    if (n->bad)
        return -1;
    hoist_buf b = {0};
    list_words(&b, values);
    const char *best = n->kind == N_SCALAR ? closest(n->text, values) : NULL;
    if (best)
        err(c, n, "invalid %s: found %s; expected one of: %s; did you mean '%s'?", what,
            found(n, tmp, sizeof tmp), b.s, best);
    else
        err(c, n, "invalid %s: found %s; expected one of: %s", what, found(n, tmp, sizeof tmp),
            b.s);
    hoist_buf_free(&b);
    return -1;
}

static int valid_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > CFG_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* Check @n as the name of a @kind ("application"); returns a copy or NULL after reporting. */
static char *get_name(cfg_ctx *c, const ynode *n, const char *kind)
{
    char what[64];
    snprintf(what, sizeof what, "the name of %s %s", kind[0] == 'a' ? "an" : "a", kind);
    char *s = get_text(c, n, what);
    if (s && !valid_name(s)) {
        err(c, n, "invalid %s name '%.60s'; expected lowercase letters, digits and '-', "
            "starting with a letter, at most %d characters", kind, s, CFG_NAME_MAX);
        free(s);
        return NULL;
    }
    return s;
}

/* Names seen so far of one kind: report the second of two equal names. */
typedef struct {
    json_t *lines; /* name -> line of its first definition */
} name_set;

static int name_unique(cfg_ctx *c, name_set *ns, const ynode *n, const char *name,
                       const char *kind)
{
    json_t *first = json_object_get(ns->lines, name);
    if (first) {
        err(c, n, "duplicate %s name '%s' (first defined at line %d)", kind, name,
            (int)json_integer_value(first));
        return 0;
    }
    json_object_set_new_nocheck(ns->lines, name, json_integer(n->line));
    return 1;
}

/* A sequence of non-null scalars as a NULL-terminated vector (also into @json if not NULL). */
static char **get_strings(cfg_ctx *c, const ynode *n, const char *what)
{
    char item[96];
    char **v = hoist_xcalloc(1, sizeof *v);
    if (!want_opt(c, n, N_SEQ, what))
        return v;
    size_t k = 0;
    v = hoist_xrealloc(v, (n->n + 1) * sizeof *v);
    snprintf(item, sizeof item, "an item of %s", what);
    for (size_t i = 0; i < n->n; i++) {
        char *s = get_text(c, n->kids[i], item);
        if (s)
            v[k++] = s;
    }
    v[k] = NULL;
    return v;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* ---- environments ---------------------------------------------------------------------- */

static void check_cluster(cfg_ctx *c, const ynode *cl, const char *env, json_t *settings)
{
    static const char *const keys[] = {"version", "nodes", NULL};
    static const char *const nkeys[] = {"type", "min", "max", NULL};
    char what[128], where[128];
    snprintf(what, sizeof what, "'cluster' of environment '%s'", env);
    if (!want(c, cl, N_MAP, what))
        return;
    snprintf(where, sizeof where, "in 'cluster' of environment '%s'", env);
    check_keys(c, cl, keys, where);
    json_t *jcl = json_object_get(settings, "cluster");
    const ynode *v = map_get(cl, "version");
    if (v) {
        snprintf(what, sizeof what, "'cluster.version' of environment '%s'", env);
        char *s = get_text(c, v, what);
        if (s) /* "1.30" must stay "1.30", not become a number */
            json_object_set_new(jcl, "version", json_string_nocheck(s));
        free(s);
    }
    const ynode *nodes = map_get(cl, "nodes");
    snprintf(what, sizeof what, "'cluster.nodes' of environment '%s'", env);
    if (!nodes || !want(c, nodes, N_MAP, what))
        return;
    snprintf(where, sizeof where, "in 'cluster.nodes' of environment '%s'", env);
    check_keys(c, nodes, nkeys, where);
    const ynode *t = map_get(nodes, "type"), *mn = map_get(nodes, "min"),
                *mx = map_get(nodes, "max");
    long long lo = 1, hi = 1;
    int have_lo = 0, have_hi = 0;
    if (t) {
        snprintf(what, sizeof what, "'cluster.nodes.type' of environment '%s'", env);
        free(get_text(c, t, what));
    }
    snprintf(what, sizeof what, "'cluster.nodes.min' of environment '%s'", env);
    if (mn)
        have_lo = get_int(c, mn, what, 0, 1000, &lo);
    snprintf(what, sizeof what, "'cluster.nodes.max' of environment '%s'", env);
    if (mx)
        have_hi = get_int(c, mx, what, 1, 1000, &hi);
    if (have_lo && have_hi && hi < lo)
        err(c, mx, "'cluster.nodes.max' (%lld) of environment '%s' is less than "
            "'cluster.nodes.min' (%lld)", hi, env, lo);
}

/*
 * hoist's own keys of an environment; every other key is a setting of the
 * environment's driver (checked against the driver's schema, ABI 1.3).
 * Keep in step with hoist.yml(5), ENVIRONMENTS, and provider.h.
 */
static const char *const env_core_keys[] = {"provider",  "region",          "protected",
                                            "cluster",   "network",         "timeouts",
                                            "ingress",   "resources",       "rollout_timeout",
                                            "storage_class", "state",       NULL};

/* The schema entry named @prefix.@key (or @key when @prefix is ""), or NULL. */
static const hoist_setting *schema_find(const hoist_setting *schema, const char *prefix,
                                        const char *key)
{
    size_t pl = strlen(prefix);
    for (const hoist_setting *s = schema; s && s->name; s++)
        if ((pl == 0 || (!strncmp(s->name, prefix, pl) && s->name[pl] == '.')) &&
            !strcmp(s->name + (pl ? pl + 1 : 0), key))
            return s;
    return NULL;
}

/*
 * The names of @schema's keys directly inside @prefix ("" = the
 * environment's top level), NULL-terminated; free the array (not the
 * strings, borrowed from the schema).  *@n gets their count.
 */
static const char **schema_level(const hoist_setting *schema, const char *prefix, size_t *n)
{
    size_t pl = strlen(prefix), cap = 0;
    for (const hoist_setting *s = schema; s && s->name; s++)
        cap++;
    const char **v = hoist_xcalloc(cap + 1, sizeof *v);
    *n = 0;
    for (const hoist_setting *s = schema; s && s->name; s++) {
        const char *rest = s->name;
        if (pl) {
            if (strncmp(s->name, prefix, pl) != 0 || s->name[pl] != '.')
                continue;
            rest += pl + 1;
        }
        if (!strchr(rest, '.'))
            v[(*n)++] = rest;
    }
    return v;
}

/* Check @v against a setting's declared type; reports and returns 0 if wrong. */
static int check_setting_type(cfg_ctx *c, const ynode *v, const hoist_setting *s, const char *env)
{
    static const char *const words[] = {
        [HOIST_SETTING_STRING] = "a string", [HOIST_SETTING_INT] = "an integer",
        [HOIST_SETTING_BOOL] = "true or false", [HOIST_SETTING_MAP] = "a mapping",
        [HOIST_SETTING_LIST] = "a sequence"};
    long long i;
    int b, ok;
    if (is_null(v) || v->bad)
        return 1;
    switch (s->type) {
    case HOIST_SETTING_STRING: ok = v->kind == N_SCALAR; break;
    case HOIST_SETTING_INT: ok = as_int(v, &i); break;
    case HOIST_SETTING_BOOL: ok = as_bool(v, &b); break;
    case HOIST_SETTING_MAP: ok = v->kind == N_MAP; break;
    case HOIST_SETTING_LIST: ok = v->kind == N_SEQ; break;
    default: return 1; /* HOIST_SETTING_ANY, or a type newer than this hoist */
    }
    if (!ok) {
        char tmp[80];
        err(c, v, "invalid '%s' of environment '%s': found %s; expected %s%s%s%s", s->name, env,
            found(v, tmp, sizeof tmp), words[s->type], s->doc ? " (" : "", s->doc ? s->doc : "",
            s->doc ? ")" : "");
    }
    return ok;
}

/*
 * Check the keys of @map, which sits at @prefix ("" for the environment
 * itself, "network" for its `network` mapping) against @schema, the
 * driver's; at the top level, hoist's own keys are known too.  Unknown keys
 * get "did you mean" over both.  Mappings with declared sub-keys recurse.
 * @obj is @map as JSON: a scalar declared a string is set as the text
 * written (`token: 0123` stays "0123", as cluster.version does).
 */
static void check_settings(cfg_ctx *c, const ynode *map, json_t *obj, const char *prefix,
                           const hoist_setting *schema, const hoist_env_cfg *e)
{
    size_t n_level;
    const char **level = schema_level(schema, prefix, &n_level);
    int top = !*prefix;
    /* Every name a key here may be: the driver's, plus hoist's at the top. */
    size_t n_core = top ? sizeof env_core_keys / sizeof env_core_keys[0] - 1 : 0;
    const char **all = hoist_xcalloc(n_level + n_core + 1, sizeof *all);
    memcpy(all, env_core_keys, n_core * sizeof *all);
    memcpy(all + n_core, level, n_level * sizeof *all);
    char where[160];
    if (top)
        snprintf(where, sizeof where, "in environment '%s'", e->name);
    else
        snprintf(where, sizeof where, "in '%s' of environment '%s'", prefix, e->name);
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const ynode *k = map->kids[i], *v = map->kids[i + 1];
        if (k->kind != N_SCALAR || k->bad)
            continue;
        const hoist_setting *s = schema_find(schema, prefix, k->text);
        int core = top && in_list(k->text, env_core_keys);
        if (s && !core && !check_setting_type(c, v, s, e->name))
            continue;
        if (s && !core && s->type == HOIST_SETTING_STRING && v->kind == N_SCALAR && !is_null(v))
            json_object_set_new(obj, k->text, json_string(v->text));
        if (s || core) {
            /* Declared sub-keys: check the mapping's keys too (cluster is hoist's). */
            size_t n_sub;
            char *sub = *prefix ? hoist_xasprintf("%s.%s", prefix, k->text)
                                : hoist_xstrdup(k->text);
            const char **subs = schema_level(schema, sub, &n_sub);
            if (n_sub && v->kind == N_MAP && strcmp(sub, "cluster") != 0)
                check_settings(c, v, json_object_get(obj, k->text), sub, schema, e);
            free(subs);
            free(sub);
            continue;
        }
        const char *best = closest(k->text, (const char *const *)all);
        if (best) {
            err(c, k, "unknown key '%.60s' %s; did you mean '%s'?", k->text, where, best);
            continue;
        }
        hoist_buf b = {0};
        if (top) {
            hoist_buf_puts(&b, "; hoist reads: ");
            list_words(&b, env_core_keys);
        }
        if (n_level) {
            hoist_buf_printf(&b, "; driver '%s' reads: ", e->provider);
            list_words(&b, level);
        } else {
            hoist_buf_printf(&b, "; driver '%s' reads no %s", e->provider,
                             top ? "settings" : "keys here");
        }
        err(c, k, "unknown key '%.60s' %s%s", k->text, where, b.s);
        hoist_buf_free(&b);
    }
    free(all);
    free(level);
}

/*
 * Report unknown keys of environment @e (mapping @map).  With the driver's
 * schema, every key is checked; without one (a driver built against ABI 1.2
 * or older, or a caller that does not look drivers up), only keys within a
 * typo of hoist's own are errors, so `protectd: true` never leaves an
 * environment silently unprotected; the rest are the driver's to read, and
 * -v says they were not checked.
 */
static void check_env_keys(cfg_ctx *c, const ynode *map, hoist_env_cfg *e)
{
    const char *why = NULL;
    const hoist_setting *schema =
        e->provider && c->settings ? c->settings(e->name, e->provider, c->exists_arg, &why) : NULL;
    if (schema) {
        check_settings(c, map, e->settings, "", schema, e);
        return;
    }
    hoist_buf unchecked = {0};
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const ynode *k = map->kids[i];
        if (k->kind != N_SCALAR || k->bad || in_list(k->text, env_core_keys))
            continue;
        const char *best = closest(k->text, env_core_keys);
        if (best)
            err(c, k, "unknown key '%.60s' in environment '%s'; did you mean '%s'?", k->text,
                e->name, best);
        else
            hoist_buf_printf(&unchecked, "%s%.60s", unchecked.len ? ", " : "", k->text);
    }
    if (unchecked.len && why)
        hoist_log(HOIST_LOG_DEBUG_, NULL, "%s:%d:%d: note: settings of environment '%s' (%s) "
                  "not checked: %s", c->cfg->file, map->line, map->col, e->name, unchecked.s, why);
    hoist_buf_free(&unchecked);
}

static void load_env(cfg_ctx *c, const ynode *key, const ynode *val, hoist_env_cfg *e)
{
    char what[128], where[128];
    e->loc = node_loc(c, val);
    snprintf(what, sizeof what, "environment '%s'", e->name);
    if (!want(c, val, N_MAP, what))
        return;
    check_keys(c, val, NULL, "in an environment"); /* key shapes only; names below */
    e->settings = to_json(val);
    snprintf(where, sizeof where, "in environment '%s'", e->name);
    const ynode *p = map_get(val, "provider");
    if (!p)
        missing(c, val, "provider", where);
    else {
        snprintf(what, sizeof what, "'provider' of environment '%s'", e->name);
        e->provider = get_text(c, p, what);
        e->provider_loc = node_loc(c, p);
        if (e->provider && c->exists && !c->exists(e->name, e->provider, c->exists_arg))
            err(c, p, "provider '%.60s' of environment '%s' is not installed; run 'hoist "
                "providers' to list the installed drivers", e->provider, e->name);
        if (e->provider)
            json_object_set_new(e->settings, "provider", json_string_nocheck(e->provider));
    }
    check_env_keys(c, val, e);
    const ynode *r = map_get(val, "region");
    if (r) {
        snprintf(what, sizeof what, "'region' of environment '%s'", e->name);
        e->region = get_text(c, r, what);
        if (e->region)
            json_object_set_new(e->settings, "region", json_string_nocheck(e->region));
    }
    const ynode *pr = map_get(val, "protected");
    if (pr) {
        snprintf(what, sizeof what, "'protected' of environment '%s'", e->name);
        get_bool(c, pr, what, &e->protected_);
    }
    const ynode *cl = map_get(val, "cluster");
    if (cl) {
        check_cluster(c, cl, e->name, e->settings);
        e->cluster = json_object_get(e->settings, "cluster");
        if (!json_is_object(e->cluster))
            e->cluster = NULL;
    }
    (void)key;
}

static void env_clear(hoist_env_cfg *e)
{
    free(e->name);
    free(e->provider);
    free(e->region);
    json_decref(e->settings);
}

static void load_envs(cfg_ctx *c, const ynode *envs)
{
    if (!want_opt(c, envs, N_MAP, "'environments'"))
        return;
    hoist_config *cfg = c->cfg;
    cfg->envs = hoist_xcalloc(envs->n / 2 + 1, sizeof *cfg->envs);
    name_set ns = {json_object()};
    for (size_t i = 0; i + 1 < envs->n; i += 2) {
        const ynode *k = envs->kids[i], *v = envs->kids[i + 1];
        if (k->kind != N_SCALAR) {
            char tmp[80];
            err(c, k, "expected an environment name, found %s", found(k, tmp, sizeof tmp));
            continue;
        }
        char *name = get_name(c, k, "environment");
        /* Duplicate keys were already reported by the YAML pass. */
        int keep = name && !json_object_get(ns.lines, name);
        if (keep)
            json_object_set_new_nocheck(ns.lines, name, json_integer(k->line));
        hoist_env_cfg *e = &cfg->envs[cfg->n_envs];
        e->name = name ? name : hoist_xstrdup(k->text);
        /* A bad name is reported once; its body is still checked for its own errors. */
        load_env(c, k, v, e);
        if (keep)
            cfg->n_envs++;
        else {
            env_clear(e);
            memset(e, 0, sizeof *e);
        }
    }
    json_decref(ns.lines);
}

/* ---- databases ------------------------------------------------------------------------- */

static const char *const db_engines[] = {"postgresql", "mysql", "redis", "mongodb", NULL};
static const char *const db_modes[] = {"managed", "container", NULL};

static void label(char *out, size_t size, const char *kind, const char *name, size_t idx)
{
    if (name)
        snprintf(out, size, "%s '%s'", kind, name);
    else
        snprintf(out, size, "%s #%zu", kind, idx + 1);
}

/*
 * The common start of a database or application entry: its name (checked and
 * unique), its label for messages (@self), its keys, and the required 'name'.
 * Returns 0 when the entry must stay out of the model (duplicate name).
 */
static int entry_head(cfg_ctx *c, const ynode *m, const char *kind, const char *const *keys,
                      name_set *ns, size_t idx, char **name, char *self, size_t self_size)
{
    char where[160];
    const ynode *n = map_get(m, "name");
    int keep = 1;
    if (n) {
        *name = get_name(c, n, kind);
        if (*name && !name_unique(c, ns, n, *name, kind))
            keep = 0;
    }
    label(self, self_size, kind, *name, idx);
    snprintf(where, sizeof where, "in %s", self);
    check_keys(c, m, keys, where);
    if (!n)
        missing(c, m, "name", where);
    return keep;
}

static void db_clear(hoist_db_cfg *d)
{
    free(d->name);
    free(d->version);
    free(d->size);
    json_decref(d->spec);
}

static void load_db(cfg_ctx *c, const ynode *m, size_t idx, name_set *ns)
{
    static const char *const keys[] = {"name",    "engine", "version", "mode",
                                       "size",    "storage", NULL};
    char self[96], what[160], where[160];
    hoist_config *cfg = c->cfg;
    label(self, sizeof self, "database", NULL, idx);
    if (!want(c, m, N_MAP, self))
        return;
    hoist_db_cfg *d = &cfg->dbs[cfg->n_dbs];
    memset(d, 0, sizeof *d);
    d->loc = node_loc(c, m);
    int keep = entry_head(c, m, "database", keys, ns, idx, &d->name, self, sizeof self);
    snprintf(where, sizeof where, "in %s", self);
    d->spec = to_json(m);
    const ynode *e = map_get(m, "engine");
    if (!e)
        missing(c, m, "engine", where);
    else {
        snprintf(what, sizeof what, "engine of %s", self);
        int i = get_enum(c, e, what, db_engines);
        d->engine = i < 0 ? HOIST_DB_POSTGRESQL : (hoist_db_engine)i;
    }
    const ynode *v = map_get(m, "version");
    if (v) {
        int b;
        snprintf(what, sizeof what, "'version' of %s", self);
        if (as_bool(v, &b))
            err(c, v, "invalid version of %s: found '%s'; expected a version such as \"15\" or "
                "\"8.0\"", self, v->text);
        else if ((d->version = get_text(c, v, what)))
            json_object_set_new(d->spec, "version", json_string_nocheck(d->version));
    }
    const ynode *mo = map_get(m, "mode");
    d->mode = HOIST_DB_MANAGED;
    if (mo) {
        snprintf(what, sizeof what, "mode of %s", self);
        int i = get_enum(c, mo, what, db_modes);
        d->mode = i < 0 ? HOIST_DB_MANAGED : (hoist_db_mode)i;
    }
    json_object_set_new(d->spec, "mode", json_string(db_modes[d->mode]));
    const ynode *s = map_get(m, "size");
    if (s) {
        snprintf(what, sizeof what, "'size' of %s", self);
        if ((d->size = get_text(c, s, what)))
            json_object_set_new(d->spec, "size", json_string_nocheck(d->size));
    }
    const ynode *st = map_get(m, "storage");
    if (st) {
        long long gb;
        snprintf(what, sizeof what, "storage (GB) of %s", self);
        if (get_int(c, st, what, 1, INT_MAX, &gb))
            d->storage_gb = (int)gb;
    }
    if (keep && d->name)
        cfg->n_dbs++;
    else {
        db_clear(d);
        memset(d, 0, sizeof *d);
    }
}

static void load_dbs(cfg_ctx *c, const ynode *dbs)
{
    if (!want_opt(c, dbs, N_SEQ, "'databases'"))
        return;
    c->cfg->dbs = hoist_xcalloc(dbs->n + 1, sizeof *c->cfg->dbs);
    name_set ns = {json_object()};
    for (size_t i = 0; i < dbs->n; i++)
        load_db(c, dbs->kids[i], i, &ns);
    json_decref(ns.lines);
}

/* ---- applications ---------------------------------------------------------------------- */

/* A command line given as an argv list: a non-empty sequence of strings (no
   shell is involved, so a single string would be ambiguous).  Returns it as
   a new JSON array of strings (`[sleep, 5]` gives "5", not 5), or NULL. */
static json_t *check_argv(cfg_ctx *c, const ynode *x, const char *what)
{
    if (!want(c, x, N_SEQ, what))
        return NULL;
    if (x->n == 0) {
        err(c, x, "%s is empty; expected the program and its arguments, such as [node, "
            "server.js]", what);
        return NULL;
    }
    char **v = get_strings(c, x, what);
    json_t *a = json_array();
    for (size_t i = 0; v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    strv_free(v);
    return a;
}

static const char *const builders[] = {"auto", "native", "docker", "podman", "buildah", NULL};

static void check_build(cfg_ctx *c, const ynode *b, const char *self, json_t *spec)
{
    static const char *const keys[] = {"builder", "base", "dockerfile", "command", "ignore",
                                       NULL};
    char what[160];
    snprintf(what, sizeof what, "'build' of %s", self);
    if (!want(c, b, N_MAP, what))
        return;
    snprintf(what, sizeof what, "in 'build' of %s", self);
    check_keys(c, b, keys, what);
    const ynode *x;
    snprintf(what, sizeof what, "builder of %s", self);
    if ((x = map_get(b, "builder")))
        get_enum(c, x, what, builders);
    static const char *const text_keys[] = {"base", "dockerfile"};
    for (size_t i = 0; i < 2; i++)
        if ((x = map_get(b, text_keys[i]))) {
            snprintf(what, sizeof what, "'build.%s' of %s", text_keys[i], self);
            free(get_text(c, x, what));
        }
    if ((x = map_get(b, "command"))) {
        snprintf(what, sizeof what, "'build.command' of %s", self);
        json_t *argv = check_argv(c, x, what);
        if (argv && json_is_object(spec))
            json_object_set_new(spec, "command", argv);
        else
            json_decref(argv);
    }
    if ((x = map_get(b, "ignore"))) {
        snprintf(what, sizeof what, "'build.ignore' of %s", self);
        if (want(c, x, N_SEQ, what))
            strv_free(get_strings(c, x, what));
    }
}

static void check_instances(cfg_ctx *c, const ynode *in, const char *self, hoist_app_cfg *a)
{
    static const char *const keys[] = {"min", "max", NULL};
    char what[160];
    snprintf(what, sizeof what, "'instances' of %s", self);
    if (!want(c, in, N_MAP, what))
        return;
    snprintf(what, sizeof what, "in 'instances' of %s", self);
    check_keys(c, in, keys, what);
    const ynode *mn = map_get(in, "min"), *mx = map_get(in, "max");
    long long lo = 1, hi = 1;
    int ok_lo = 1, ok_hi = 1;
    snprintf(what, sizeof what, "'instances.min' of %s", self);
    if (mn)
        ok_lo = get_int(c, mn, what, 0, 10000, &lo);
    snprintf(what, sizeof what, "'instances.max' of %s", self);
    if (mx)
        ok_hi = get_int(c, mx, what, 1, 10000, &hi);
    else if (mn && ok_lo && lo > hi)
        hi = lo; /* only min given: max follows it */
    if (ok_lo && ok_hi && hi < lo) {
        err(c, mx, "'instances.max' (%lld) of %s is less than 'instances.min' (%lld)", hi, self,
            lo);
        return;
    }
    a->min_instances = (int)lo;
    a->max_instances = (int)hi;
}

static int valid_env_name(const char *s)
{
    if (!var_start((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; s[i]; i++)
        if (!var_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static void check_env_map(cfg_ctx *c, const ynode *m, const char *self, hoist_app_cfg *a)
{
    char what[256], tmp[64];
    snprintf(what, sizeof what, "'env' of %s", self);
    if (!want_opt(c, m, N_MAP, what))
        return;
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const ynode *k = m->kids[i], *v = m->kids[i + 1];
        if (k->kind != N_SCALAR) {
            err(c, k, "expected a variable name in 'env' of %s, found %s", self,
                found(k, tmp, sizeof tmp));
            continue;
        }
        if (!k->bad && !valid_env_name(k->text)) {
            err(c, k, "invalid environment variable name '%.60s' in 'env' of %s; expected "
                "letters, digits and '_', not starting with a digit", k->text, self);
            continue;
        }
        if (v->kind != N_SCALAR) {
            snprintf(what, sizeof what, "'env.%.60s' of %s", k->text, self);
            want(c, v, N_SCALAR, what);
            continue;
        }
        /* Values are always strings: the container sees text. */
        json_object_set_new_nocheck(a->env, k->text,
                                    json_string_nocheck(is_null(v) ? "" : v->text));
    }
}

static char *resolve_path(cfg_ctx *c, const char *p)
{
    if (p[0] == '/')
        return hoist_xstrdup(p);
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    if (!strcmp(p, "."))
        return hoist_xstrdup(c->cfg->dir);
    return hoist_xasprintf("%s/%s", c->cfg->dir, p);
}

static void app_clear(hoist_app_cfg *a)
{
    free(a->name);
    free(a->path);
    free(a->image);
    free(a->healthcheck);
    json_decref(a->env);
    strv_free(a->databases);
    strv_free(a->domains);
    json_decref(a->spec);
}

static void load_app(cfg_ctx *c, const ynode *m, size_t idx, name_set *ns)
{
    static const char *const keys[] = {"name",   "path",      "image",     "build",
                                       "command", "port",     "instances", "healthcheck",
                                       "public", "env",       "databases", "domains",   NULL};
    char self[96], what[160];
    hoist_config *cfg = c->cfg;
    label(self, sizeof self, "application", NULL, idx);
    if (!want(c, m, N_MAP, self))
        return;
    hoist_app_cfg *a = &cfg->apps[cfg->n_apps];
    memset(a, 0, sizeof *a);
    a->loc = node_loc(c, m);
    a->min_instances = a->max_instances = 1;
    a->env = json_object();
    const ynode *x;
    int keep = entry_head(c, m, "application", keys, ns, idx, &a->name, self, sizeof self);
    a->spec = to_json(m);

    const ynode *path = map_get(m, "path"), *image = map_get(m, "image");
    if (path && image)
        err(c, image, "%s has both 'path' and 'image'; expected exactly one", self);
    else if (!path && !image)
        err(c, m, "%s needs 'path' (a source directory) or 'image' (a prebuilt image)", self);
    if (path) {
        snprintf(what, sizeof what, "'path' of %s", self);
        char *p = get_text(c, path, what);
        if (p) {
            struct stat st;
            a->path = resolve_path(c, p);
            if (stat(a->path, &st) != 0)
                err(c, path, "path '%.80s' of %s does not exist (relative paths start at the "
                    "directory of hoist.yml)", p, self);
            else if (!S_ISDIR(st.st_mode))
                err(c, path, "path '%.80s' of %s is not a directory", p, self);
            json_object_set_new(a->spec, "path", json_string_nocheck(p));
        }
        free(p);
    }
    if (image) {
        snprintf(what, sizeof what, "'image' of %s", self);
        if ((a->image = get_text(c, image, what)))
            json_object_set_new(a->spec, "image", json_string_nocheck(a->image));
    }
    if ((x = map_get(m, "build"))) {
        check_build(c, x, self, json_object_get(a->spec, "build"));
        a->build = json_object_get(a->spec, "build");
        if (!json_is_object(a->build))
            a->build = NULL;
    }
    if ((x = map_get(m, "command"))) {
        snprintf(what, sizeof what, "'command' of %s", self);
        json_t *argv = check_argv(c, x, what);
        if (argv)
            json_object_set_new(a->spec, "command", argv);
    }
    if ((x = map_get(m, "port"))) {
        long long port;
        snprintf(what, sizeof what, "port of %s", self);
        if (get_int(c, x, what, 1, 65535, &port))
            a->port = (int)port;
    }
    if ((x = map_get(m, "instances")))
        check_instances(c, x, self, a);
    json_t *inst = json_object();
    json_object_set_new(inst, "min", json_integer(a->min_instances));
    json_object_set_new(inst, "max", json_integer(a->max_instances));
    json_object_set_new(a->spec, "instances", inst);
    if ((x = map_get(m, "healthcheck"))) {
        snprintf(what, sizeof what, "'healthcheck' of %s", self);
        a->healthcheck = get_text(c, x, what);
        if (a->healthcheck && a->healthcheck[0] != '/') {
            err(c, x, "invalid healthcheck '%.80s' for %s; expected a path starting with '/', "
                "such as /health", a->healthcheck, self);
        } else if (a->healthcheck)
            json_object_set_new(a->spec, "healthcheck", json_string_nocheck(a->healthcheck));
    }
    if ((x = map_get(m, "public"))) {
        snprintf(what, sizeof what, "'public' of %s", self);
        get_bool(c, x, what, &a->public_);
    }
    json_object_set_new(a->spec, "public", json_boolean(a->public_));
    check_env_map(c, map_get(m, "env"), self, a);
    json_object_set(a->spec, "env", a->env);
    snprintf(what, sizeof what, "'databases' of %s", self);
    a->databases = get_strings(c, map_get(m, "databases"), what);
    snprintf(what, sizeof what, "'domains' of %s", self);
    a->domains = get_strings(c, map_get(m, "domains"), what);
    if (keep && a->name)
        cfg->n_apps++;
    else {
        app_clear(a);
        memset(a, 0, sizeof *a);
    }
}

/* Each app's database references must name a declared database. */
static void check_db_refs(cfg_ctx *c, const ynode *apps)
{
    hoist_config *cfg = c->cfg;
    hoist_buf known = {0};
    for (size_t i = 0; i < cfg->n_dbs; i++)
        hoist_buf_printf(&known, "%s%s", i ? ", " : "", cfg->dbs[i].name);
    for (size_t i = 0; i < apps->n; i++) {
        const ynode *m = apps->kids[i], *refs = map_get(m, "databases"), *n = map_get(m, "name");
        if (!refs || refs->kind != N_SEQ)
            continue;
        char self[96];
        label(self, sizeof self, "application",
              n && n->kind == N_SCALAR && valid_name(n->text) ? n->text : NULL, i);
        json_t *seen = json_object();
        for (size_t j = 0; j < refs->n; j++) {
            const ynode *r = refs->kids[j];
            if (r->kind != N_SCALAR || r->bad || is_null(r))
                continue;
            if (!hoist_config_db(cfg, r->text)) {
                if (cfg->n_dbs)
                    err(c, r, "%s uses unknown database '%.60s'; known databases: %s", self,
                        r->text, known.s);
                else
                    err(c, r, "%s uses unknown database '%.60s'; no databases are declared "
                        "under 'databases'", self, r->text);
            } else if (json_object_get(seen, r->text))
                err(c, r, "database '%.60s' is listed twice for %s", r->text, self);
            json_object_set_new_nocheck(seen, r->text, json_true());
        }
        json_decref(seen);
    }
    hoist_buf_free(&known);
}

static void load_apps(cfg_ctx *c, const ynode *apps)
{
    if (!want_opt(c, apps, N_SEQ, "'applications'"))
        return;
    c->cfg->apps = hoist_xcalloc(apps->n + 1, sizeof *c->cfg->apps);
    name_set ns = {json_object()};
    for (size_t i = 0; i < apps->n; i++)
        load_app(c, apps->kids[i], i, &ns);
    json_decref(ns.lines);
    check_db_refs(c, apps);
}

/* ---- top level ------------------------------------------------------------------------- */

static void load_root(cfg_ctx *c, const ynode *root)
{
    static const char *const keys[] = {"project", "environments", "databases", "applications",
                                       "state", NULL};
    hoist_config *cfg = c->cfg;
    if (!root || is_null(root)) {
        err_at(c, 1, 1, "the file is empty; expected a mapping with at least 'project'");
        return;
    }
    if (!want(c, root, N_MAP, "the top level of hoist.yml"))
        return;
    check_keys(c, root, keys, "in the top level");
    const ynode *p = map_get(root, "project");
    if (!p)
        missing(c, root, "project", "in the top level");
    else if ((cfg->project = get_text(c, p, "'project'")) && !valid_name(cfg->project))
        err(c, p, "invalid project name '%.60s'; expected lowercase letters, digits and '-', "
            "starting with a letter, at most %d characters", cfg->project, CFG_NAME_MAX);
    load_envs(c, map_get(root, "environments"));
    load_dbs(c, map_get(root, "databases"));
    load_apps(c, map_get(root, "applications"));
    const ynode *st = map_get(root, "state");
    if (want_opt(c, st, N_MAP, "'state'"))
        cfg->state = to_json(st);
}

/* ---- public API ------------------------------------------------------------------------ */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;
    if (!slash)
        d = hoist_xstrdup(".");
    else if (slash == path)
        d = hoist_xstrdup("/");
    else
        d = hoist_xstrndup(path, (size_t)(slash - path));
    /* Absolute, so resolved app paths survive a later chdir. */
    char *abs = realpath(d, NULL);
    if (abs) {
        free(d);
        d = hoist_xstrdup(abs);
        free(abs);
    }
    return d;
}

hoist_config *hoist_config_parse(const char *name, const char *buf, size_t len,
                                 hoist_provider_exists_fn exists, void *arg, hoist_diags *diags)
{
    hoist_config_hooks h = {.exists = exists, .arg = arg};
    return hoist_config_parse_hooks(name, buf, len, &h, diags);
}

hoist_config *hoist_config_parse_hooks(const char *name, const char *buf, size_t len,
                                       const hoist_config_hooks *h, hoist_diags *diags)
{
    cfg_ctx c = {.buf = buf, .len = len, .exists = h ? h->exists : NULL,
                 .settings = h ? h->settings : NULL, .exists_arg = h ? h->arg : NULL};
    c.cfg = hoist_xcalloc(1, sizeof *c.cfg);
    c.cfg->file = hoist_xstrdup(name ? name : "hoist.yml");
    c.cfg->dir = dir_of(c.cfg->file);
    int fatal;
    ynode *root = read_tree(&c, &fatal);
    if (!fatal)
        load_root(&c, root);
    node_free(root);
    int failed = c.diags.n > 0;
    if (diags)
        diags_move_sorted(&c.diags, diags);
    hoist_diags_free(&c.diags);
    if (failed) {
        hoist_config_free(c.cfg);
        return NULL;
    }
    return c.cfg;
}

hoist_config *hoist_config_load(const char *path, hoist_provider_exists_fn exists, void *arg,
                                hoist_diags *diags)
{
    hoist_config_hooks h = {.exists = exists, .arg = arg};
    return hoist_config_load_hooks(path, &h, diags);
}

hoist_config *hoist_config_load_hooks(const char *path, const hoist_config_hooks *h,
                                      hoist_diags *diags)
{
    hoist_buf b = {0};
    hoist_config *cfg = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        hoist_diags_add(diags, (hoist_loc){.file = path}, "cannot open: %s%s",
                        hoist_strerror(errno),
                        errno == ENOENT ? " (run hoist in the project directory or pass -f)" : "");
        goto cleanup;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        hoist_buf_add(&b, chunk, n);
    if (ferror(fp)) {
        hoist_diags_add(diags, (hoist_loc){.file = path}, "cannot read: %s", hoist_strerror(errno));
        goto cleanup;
    }
    cfg = hoist_config_parse_hooks(path, b.s ? b.s : "", b.len, h, diags);
cleanup:
    if (fp)
        fclose(fp);
    hoist_buf_free(&b);
    return cfg;
}

void hoist_config_free(hoist_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_envs; i++) {
        env_clear(&cfg->envs[i]);
    }
    for (size_t i = 0; i < cfg->n_dbs; i++) {
        db_clear(&cfg->dbs[i]);
    }
    for (size_t i = 0; i < cfg->n_apps; i++) {
        app_clear(&cfg->apps[i]);
    }
    free(cfg->envs);
    free(cfg->dbs);
    free(cfg->apps);
    json_decref(cfg->state);
    free(cfg->project);
    free(cfg->file);
    free(cfg->dir);
    free(cfg);
}

/* ---- what an app runs: shared by every runtime ---------------------------------------- */

static int app_has_file(const hoist_app_cfg *app, const char *name)
{
    char *f = hoist_xasprintf("%s/%s", app->path, name);
    int ok = access(f, F_OK) == 0;
    free(f);
    return ok;
}

json_t *hoist_app_build_step(const hoist_app_cfg *app)
{
    json_t *cmd = json_object_get(app->build, "command");
    if (json_is_array(cmd))
        return json_deep_copy(cmd);
    if (!app->path || !app_has_file(app, "package.json"))
        return NULL;
    /* A lock file pins the dependency tree: install exactly that. */
    int locked = app_has_file(app, "package-lock.json") ||
                 app_has_file(app, "npm-shrinkwrap.json");
    return json_pack("[s,s,s,s]", "npm", locked ? "ci" : "install", "--no-audit", "--no-fund");
}

json_t *hoist_app_start_command(const hoist_app_cfg *app)
{
    json_t *cmd = json_object_get(app->spec, "command");
    if (json_is_array(cmd))
        return json_deep_copy(cmd);
    if (!app->path)
        return NULL;
    char *pj = hoist_xasprintf("%s/package.json", app->path);
    json_t *pkg = json_load_file(pj, 0, NULL);
    free(pj);
    const char *main = json_string_value(json_object_get(pkg, "main"));
    json_t *out = NULL;
    if (json_is_string(json_object_get(json_object_get(pkg, "scripts"), "start")))
        out = json_pack("[s,s]", "npm", "start");
    else if (main && *main)
        out = json_pack("[s,s]", "node", main);
    json_decref(pkg);
    return out;
}

const hoist_env_cfg *hoist_config_env(const hoist_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_envs; i++)
        if (!strcmp(cfg->envs[i].name, name))
            return &cfg->envs[i];
    return NULL;
}

const hoist_db_cfg *hoist_config_db(const hoist_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_dbs; i++)
        if (!strcmp(cfg->dbs[i].name, name))
            return &cfg->dbs[i];
    return NULL;
}

const char *hoist_db_engine_name(hoist_db_engine e)
{
    return (unsigned)e < 4 ? db_engines[e] : "unknown";
}
