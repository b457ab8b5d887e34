/*
 * sim_core.c - HTTP glue (libmicrohttpd), routing, faults, delays and call
 * accounting for hoist-sim.  See sim.h for the contract with modules.
 */
#include "autoconfig.h"

#include "sim.h"
#include "util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

sim_config sim_cfg;

static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *sim_daemon;
static unsigned sim_bound_port;

/* ------------------------------------------------------------------ clouds and routes */

typedef struct sim_routedef {
    const sim_cloud *cloud;
    char *method, *tmpl;
    sim_handler h;
    int mutating;
} sim_routedef;

static const sim_cloud *sim_clouds[16];
static size_t sim_nclouds;
static sim_routedef *sim_routes;
static size_t sim_nroutes;

void sim_cloud_add(const sim_cloud *c)
{
    if (sim_nclouds == sizeof sim_clouds / sizeof sim_clouds[0])
        abort(); /* a programming error: raise the table size */
    sim_clouds[sim_nclouds++] = c;
}

void sim_route(const sim_cloud *c, const char *method, const char *tmpl, sim_handler h,
               int mutating)
{
    sim_routes = hoist_xrealloc(sim_routes, (sim_nroutes + 1) * sizeof *sim_routes);
    sim_routes[sim_nroutes++] = (sim_routedef){c, hoist_xstrdup(method), hoist_xstrdup(tmpl), h,
                                               mutating};
}

static const sim_cloud *sim_cloud_for(const char *path)
{
    const sim_cloud *best = NULL;
    size_t bestlen = 0;
    for (size_t i = 0; i < sim_nclouds; i++)
        for (const char *const *p = sim_clouds[i]->prefixes; *p; p++) {
            size_t n = strlen(*p);
            if (n > bestlen && strncmp(path, *p, n) == 0) {
                best = sim_clouds[i];
                bestlen = n;
            }
        }
    return best;
}

/* Match @path against @tmpl, capturing parameters into @rq.  1 on match. */
static int sim_match(const char *tmpl, const char *path, sim_req *rq)
{
    const char *t = tmpl, *p = path;
    int n = 0;
    while (*t && *p) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            int rest = close[-1] == '*';
            size_t seglen = rest ? strlen(p) : strcspn(p, "/");
            if ((seglen == 0 && !rest) || n == SIM_MAX_PARAMS)
                return 0;
            rq->pnames[n] = t + 1; /* name ends at '}' or '*': see sim_param */
            rq->pvals[n] = hoist_xstrndup(p, seglen);
            n++;
            t = close + 1;
            p += seglen;
        } else if (*t++ != *p++) {
            goto fail;
        }
    }
    /* "/x/{rest*}" also matches "/x/" with an empty rest */
    if (*p == '\0' && t[0] == '{' && strstr(t, "*}") && strchr(t, '}')[1] == '\0') {
        rq->pnames[n] = t + 1;
        rq->pvals[n++] = hoist_xstrdup("");
        t = "";
    }
    if (*t == '\0' && *p == '\0') {
        rq->nparams = n;
        return 1;
    }
fail:
    for (int i = 0; i < n; i++)
        free(rq->pvals[i]);
    return 0;
}

const char *sim_param(const sim_req *rq, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < rq->nparams; i++)
        if (strncmp(rq->pnames[i], name, len) == 0 &&
            (rq->pnames[i][len] == '}' || rq->pnames[i][len] == '*'))
            return rq->pvals[i];
    return NULL;
}

const char *sim_query(const sim_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_header_in(const sim_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *sim_body_str(const sim_req *rq, const char *key)
{
    return json_string_value(json_object_get(rq->json, key));
}

/* ------------------------------------------------------------------ responses */

void sim_reply_json(sim_resp *rs, int status, json_t *j)
{
    free(rs->body);
    rs->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    rs->ctype = j ? "application/json" : NULL;
    rs->status = status;
    json_decref(j);
}

void sim_reply_text(sim_resp *rs, int status, const char *ctype, const char *text)
{
    free(rs->body);
    rs->body = hoist_xstrdup(text);
    rs->ctype = ctype;
    rs->status = status;
}

void sim_reply_header(sim_resp *rs, const char *name, const char *fmt, ...)
{
    if (rs->nheaders == SIM_MAX_HEADERS)
        abort(); /* a programming error: raise SIM_MAX_HEADERS */
    va_list ap;
    va_start(ap, fmt);
    rs->hname[rs->nheaders] = hoist_xstrdup(name);
    rs->hval[rs->nheaders++] = hoist_xvasprintf(fmt, ap);
    va_end(ap);
}

void sim_fail(sim_req *rq, sim_resp *rs, int status, const char *kind, const char *resource,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = hoist_xvasprintf(fmt, ap);
    va_end(ap);
    rq->cloud->error(rq, rs, status, kind, resource, msg);
    free(msg);
}

/* ------------------------------------------------------------------ durations, delays */

long long sim_parse_duration(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        return (long long)v;
    if (strcmp(end, "s") == 0)
        return (long long)(v * 1000);
    if (strcmp(end, "m") == 0)
        return (long long)(v * 60000);
    return -1;
}

typedef struct sim_kv {
    char *key;
    long long ms;
} sim_kv;

/* Defaults keep a run fast yet show every intermediate status. */
static sim_kv sim_delays[32] = {
    {"cluster", 200}, {"pool", 100},  {"database", 150}, {"instance", 150},
    {"namespace", 0}, {"registry", 0}, {"vpc", 0},        {"private_network", 0},
    {"nat", 100},
};

long long sim_delay_ms(const char *key)
{
    for (size_t i = 0; i < 32 && sim_delays[i].key; i++)
        if (strcmp(sim_delays[i].key, key) == 0)
            return sim_delays[i].ms;
    return 0;
}

static int sim_delay_set(const char *key, long long ms, char **err)
{
    size_t i;
    for (i = 0; i < 32 && sim_delays[i].key; i++)
        if (strcmp(sim_delays[i].key, key) == 0)
            break;
    if (i == 32) {
        *err = hoist_xasprintf("too many delay keys (at '%s')", key);
        return -1;
    }
    if (!sim_delays[i].key)
        sim_delays[i].key = hoist_xstrdup(key);
    sim_delays[i].ms = ms;
    return 0;
}

/*
 * Walk "k=v,k=v", calling @set for each pair; shared by --delay and
 * --faults so both accept the same syntax.
 */
static int sim_kv_walk(const char *spec, const char *what,
                       int (*set)(const char *k, const char *v, char **err), char **err)
{
    char *copy = hoist_xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            *err = hoist_xasprintf("%s: '%s' is not KEY=VALUE", what, tok);
            rc = -1;
            break;
        }
        *eq = '\0';
        if ((rc = set(tok, eq + 1, err)) != 0)
            break;
    }
    free(copy);
    return rc;
}

static int sim_delay_kv(const char *k, const char *v, char **err)
{
    long long ms = sim_parse_duration(v);
    if (ms < 0) {
        *err = hoist_xasprintf("delay %s: '%s' is not a duration (e.g. 2s, 150ms)", k, v);
        return -1;
    }
    return sim_delay_set(k, ms, err);
}

int sim_delays_parse(const char *spec, char **err)
{
    return sim_kv_walk(spec, "--delay", sim_delay_kv, err);
}

/* JSON {"k": "2s" | 2000} -> the same setter as the command line. */
static int sim_json_walk(json_t *obj, int (*set)(const char *k, const char *v, char **err),
                         char **err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj)) {
        *err = hoist_xstrdup("expected a JSON object");
        return -1;
    }
    json_object_foreach(obj, k, v) {
        char num[64];
        const char *s = json_string_value(v);
        if (json_is_number(v)) {
            snprintf(num, sizeof num, "%.17g", json_number_value(v));
            s = num;
        }
        if (!s) {
            *err = hoist_xasprintf("%s: expected a number or a string", k);
            return -1;
        }
        if (set(k, s, err) != 0)
            return -1;
    }
    return 0;
}

int sim_delays_json(json_t *obj, char **err)
{
    return sim_json_walk(obj, sim_delay_kv, err);
}

json_t *sim_delays_dump(void)
{
    json_t *o = json_object();
    for (size_t i = 0; i < 32 && sim_delays[i].key; i++)
        json_object_set_new(o, sim_delays[i].key, json_integer(sim_delays[i].ms));
    return o;
}

/* ------------------------------------------------------------------ faults */

enum { F_ERROR, F_THROTTLE, F_RESET, F_LOST, F_NKINDS };
static const char *const sim_fault_names[F_NKINDS] = {"error", "throttle", "reset", "lost"};

typedef struct sim_faultset {
    char *cloud;                   /* NULL: the default for every cloud */
    double p[F_NKINDS];
    int set[F_NKINDS];             /* per-cloud entries override only what they set */
    long long latency_ms;
    int latency_set;
} sim_faultset;

static sim_faultset sim_faults[16];
static size_t sim_nfaults = 1;     /* [0] is the default set */
static unsigned long long sim_seed = 1;
static unsigned long long sim_fault_counter;
static long long sim_fault_hits[F_NKINDS]; /* faults injected since start or reset */

void sim_faults_seed(unsigned long long seed)
{
    sim_seed = seed;
    sim_fault_counter = 0;
}

static sim_faultset *sim_faultset_for(const char *cloud, int create)
{
    if (!cloud)
        return &sim_faults[0];
    for (size_t i = 1; i < sim_nfaults; i++)
        if (strcmp(sim_faults[i].cloud, cloud) == 0)
            return &sim_faults[i];
    if (!create || sim_nfaults == sizeof sim_faults / sizeof sim_faults[0])
        return NULL;
    sim_faults[sim_nfaults].cloud = hoist_xstrdup(cloud);
    return &sim_faults[sim_nfaults++];
}

static int sim_fault_kv(const char *k, const char *v, char **err)
{
    if (strcmp(k, "seed") == 0) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        if (*end) {
            *err = hoist_xasprintf("fault seed '%s' is not an integer", v);
            return -1;
        }
        sim_faults_seed(s);
        return 0;
    }
    char *cloud = NULL;
    const char *dot = strchr(k, '.'), *kind = k;
    if (dot) {
        cloud = hoist_xstrndup(k, (size_t)(dot - k));
        kind = dot + 1;
    }
    sim_faultset *fs = sim_faultset_for(cloud, 1);
    free(cloud);
    if (!fs) {
        *err = hoist_xstrdup("too many per-cloud fault sets");
        return -1;
    }
    if (strcmp(kind, "latency") == 0) {
        long long ms = sim_parse_duration(v);
        if (ms < 0) {
            *err = hoist_xasprintf("fault %s: '%s' is not a duration (e.g. 50ms)", k, v);
            return -1;
        }
        fs->latency_ms = ms;
        fs->latency_set = 1;
        return 0;
    }
    for (int i = 0; i < F_NKINDS; i++)
        if (strcmp(kind, sim_fault_names[i]) == 0) {
            char *end;
            double p = strtod(v, &end);
            if (*end || end == v || p < 0 || p > 1) {
                *err = hoist_xasprintf("fault %s: '%s' is not a probability in [0,1]", k, v);
                return -1;
            }
            fs->p[i] = p;
            fs->set[i] = 1;
            return 0;
        }
    *err = hoist_xasprintf("unknown fault '%s' (known: error, throttle, reset, lost, latency, "
                           "seed; prefix with a cloud like do.error)", k);
    return -1;
}

int sim_faults_parse(const char *spec, char **err)
{
    return sim_kv_walk(spec, "--faults", sim_fault_kv, err);
}

int sim_faults_json(json_t *obj, char **err)
{
    return sim_json_walk(obj, sim_fault_kv, err);
}

json_t *sim_faults_dump(void)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sim_nfaults; i++) {
        const sim_faultset *fs = &sim_faults[i];
        for (int k = 0; k < F_NKINDS; k++)
            if (i == 0 || fs->set[k]) {
                char *key = fs->cloud ? hoist_xasprintf("%s.%s", fs->cloud, sim_fault_names[k])
                                      : hoist_xstrdup(sim_fault_names[k]);
                json_object_set_new(o, key, json_real(fs->p[k]));
                free(key);
            }
        if (i == 0 || fs->latency_set) {
            char *key = fs->cloud ? hoist_xasprintf("%s.latency", fs->cloud)
                                  : hoist_xstrdup("latency");
            json_object_set_new(o, key, json_integer(fs->latency_ms));
            free(key);
        }
    }
    json_object_set_new(o, "seed", json_integer((json_int_t)sim_seed));
    json_t *inj = json_object();
    for (int k = 0; k < F_NKINDS; k++)
        json_object_set_new(inj, sim_fault_names[k], json_integer(sim_fault_hits[k]));
    json_object_set_new(o, "injected", inj);
    return o;
}

/* splitmix64: a stateless mix so draw N depends only on (seed, N, kind). */
static double sim_draw(unsigned long long n, int kind)
{
    unsigned long long z = sim_seed * 0x9E3779B97F4A7C15ULL + n * 0xBF58476D1CE4E5B9ULL +
                           (unsigned long long)kind * 0x94D049BB133111EBULL + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ULL << 53);
}

/* Decide this request's fault (-1: none) and latency.  Lock held. */
static int sim_fault_pick(const sim_cloud *c, long long *latency)
{
    const sim_faultset *def = &sim_faults[0], *own = sim_faultset_for(c->name, 0);
    unsigned long long n = sim_fault_counter++;
    *latency = own && own->latency_set ? own->latency_ms : def->latency_ms;
    for (int k = 0; k < F_NKINDS; k++) {
        double p = own && own->set[k] ? own->p[k] : def->p[k];
        if (p > 0 && sim_draw(n, k) < p) {
            sim_fault_hits[k]++;
            return k;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ permanent failures */

typedef struct sim_failrule {
    char *cloud, *op, *kind, *message;
    int status;
    long long hits;
} sim_failrule;

static sim_failrule sim_failrules[16];
static size_t sim_nfailrules;

int sim_failrule_json(json_t *obj, char **err)
{
    const char *cloud = json_string_value(json_object_get(obj, "cloud"));
    const char *op = json_string_value(json_object_get(obj, "operation"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *msg = json_string_value(json_object_get(obj, "message"));
    if (!cloud || !op || !kind) {
        *err = hoist_xstrdup("give cloud, operation (as /_sim/calls names it) and kind, e.g. "
                             "{\"cloud\": \"do\", \"operation\": \"POST /v2/databases\", "
                             "\"kind\": \"quota\"}");
        return -1;
    }
    int quota = strcmp(kind, "quota") == 0;
    if (!quota && strcmp(kind, "invalid") != 0) {
        *err = hoist_xasprintf("kind '%s': use quota or invalid", kind);
        return -1;
    }
    if (sim_nfailrules == sizeof sim_failrules / sizeof sim_failrules[0]) {
        *err = hoist_xstrdup("too many permanent failures (DELETE /_sim/fail clears them)");
        return -1;
    }
    /* The status each cloud answers such a request with. */
    int status = strcmp(cloud, "do") == 0 ? 422 : strcmp(cloud, "scw") == 0 && quota ? 403 : 400;
    if (!msg)
        msg = quota ? "simulated quota: creating this would exceed the account's limit"
                    : "simulated invalid parameter: the value is not accepted";
    sim_failrules[sim_nfailrules++] = (sim_failrule){hoist_xstrdup(cloud), hoist_xstrdup(op),
                                                     hoist_xstrdup(kind), hoist_xstrdup(msg),
                                                     status, 0};
    return 0;
}

void sim_failrule_clear(void)
{
    for (size_t i = 0; i < sim_nfailrules; i++) {
        free(sim_failrules[i].cloud);
        free(sim_failrules[i].op);
        free(sim_failrules[i].kind);
        free(sim_failrules[i].message);
    }
    sim_nfailrules = 0;
}

json_t *sim_failrule_dump(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sim_nfailrules; i++) {
        const sim_failrule *f = &sim_failrules[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:i,s:I}", "cloud", f->cloud,
                                           "operation", f->op, "kind", f->kind, "message",
                                           f->message, "status", f->status, "hits",
                                           (json_int_t)f->hits));
    }
    return json_pack("{s:o}", "fail", a);
}

/* The permanent failure for this request, or NULL.  Lock held. */
static sim_failrule *sim_failrule_match(const sim_cloud *c, const char *method, const char *tmpl)
{
    for (size_t i = 0; i < sim_nfailrules; i++) {
        sim_failrule *f = &sim_failrules[i];
        size_t ml = strlen(method);
        if (strcmp(f->cloud, c->name) == 0 && strncmp(f->op, method, ml) == 0 &&
            f->op[ml] == ' ' && strcmp(f->op + ml + 1, tmpl) == 0)
            return f;
    }
    return NULL;
}

/* ------------------------------------------------------------------ call accounting */

typedef struct sim_call {
    const char *cloud;
    char *op;
    int mutating;
    long long count;
} sim_call;

static sim_call *sim_calls;
static size_t sim_ncalls;

static void sim_call_count(const sim_cloud *c, const sim_routedef *r)
{
    char *op = hoist_xasprintf("%s %s", r->method, r->tmpl);
    for (size_t i = 0; i < sim_ncalls; i++)
        if (sim_calls[i].cloud == c->name && strcmp(sim_calls[i].op, op) == 0) {
            sim_calls[i].count++;
            free(op);
            return;
        }
    sim_calls = hoist_xrealloc(sim_calls, (sim_ncalls + 1) * sizeof *sim_calls);
    sim_calls[sim_ncalls++] = (sim_call){c->name, op, r->mutating, 1};
}

json_t *sim_calls_dump(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sim_ncalls; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:I}", "cloud", sim_calls[i].cloud,
                                           "operation", sim_calls[i].op, "mutating",
                                           sim_calls[i].mutating, "count",
                                           (json_int_t)sim_calls[i].count));
    return json_pack("{s:o}", "calls", a);
}

void sim_calls_reset(void)
{
    for (size_t i = 0; i < sim_ncalls; i++)
        free(sim_calls[i].op);
    free(sim_calls);
    sim_calls = NULL;
    sim_ncalls = 0;
    sim_fault_counter = 0;
    memset(sim_fault_hits, 0, sizeof sim_fault_hits);
}

/* ------------------------------------------------------------------ small utilities */

long long sim_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *sim_rfc3339(long long ms, char *buf)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

char *sim_uuid(void)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        abort(); /* the kernel's generator does not fail for 16 bytes */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    return hoist_xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
                           b[11], b[12], b[13], b[14], b[15]);
}

char *sim_base64(const void *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    char *out = hoist_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ dispatch */

typedef struct sim_conn {
    hoist_buf body;
} sim_conn;

static void sim_resp_free(sim_resp *rs)
{
    free(rs->body);
    for (int i = 0; i < rs->nheaders; i++) {
        free(rs->hname[i]);
        free(rs->hval[i]);
    }
}

static void sim_plain_404(sim_resp *rs, const char *path)
{
    json_t *j = json_pack("{s:s,s:s}", "error", "not_found", "message", "no simulated API here");
    json_object_set_new(j, "path", json_string(path));
    sim_reply_json(rs, 404, j);
}

/*
 * Route one complete request.  Returns 0 to answer @rs, -1 to drop the
 * connection (reset and lost faults).  Takes the store lock itself.
 */
static int sim_dispatch(sim_req *rq, sim_resp *rs)
{
    const sim_cloud *c = NULL;
    const sim_routedef *route = NULL;
    int path_known = 0, fault = -1;
    sim_failrule *failed;
    long long latency = 0;
    char *key = NULL; /* a claim's routing key; routes match it instead of the path */

    for (size_t i = 0; i < sim_nclouds && !key; i++)
        if (sim_clouds[i]->claim && (key = sim_clouds[i]->claim(rq)))
            c = sim_clouds[i];
    if (!c)
        c = sim_cloud_for(rq->path);
    if (!c) {
        sim_plain_404(rs, rq->path);
        return 0;
    }
    rq->cloud = c;
    for (size_t i = 0; i < sim_nroutes && !route; i++) {
        if (sim_routes[i].cloud != c || !sim_match(sim_routes[i].tmpl, key ? key : rq->path, rq))
            continue;
        path_known = 1;
        if (strcmp(sim_routes[i].method, rq->method) == 0) {
            route = &sim_routes[i];
            rq->tmpl = route->tmpl;
        } else {
            for (int k = 0; k < rq->nparams; k++)
                free(rq->pvals[k]);
            rq->nparams = 0;
        }
    }

    pthread_mutex_lock(&sim_lock);
    if (route)
        sim_call_count(c, route);
    if (c->faults)
        fault = sim_fault_pick(c, &latency);
    pthread_mutex_unlock(&sim_lock);

    if (latency > 0)
        usleep((useconds_t)(latency * 1000));
    if (fault == F_RESET) {
        free(key);
        return -1;
    }

    pthread_mutex_lock(&sim_lock);
    sim_store_sweep();
    if (fault == F_THROTTLE) {
        c->error(rq, rs, 429, "throttled", NULL, "API rate limit exceeded");
        sim_reply_header(rs, "Retry-After", "1");
    } else if (fault == F_ERROR) {
        /* alternate 500 and 503, still deterministic from the counter */
        if (sim_fault_counter % 2)
            c->error(rq, rs, 500, "server_error", NULL, "simulated server error");
        else
            c->error(rq, rs, 503, "unavailable", NULL, "simulated service unavailable");
    } else if (c->auth && !c->auth(rq, rs)) {
        /* rs filled by auth */
    } else if (!route) {
        if (path_known)
            c->error(rq, rs, 405, "method_not_allowed", NULL, "method not allowed");
        else
            c->error(rq, rs, 404, "not_found", NULL, "the resource you requested could not be found");
    } else if ((failed = sim_failrule_match(c, route->method, route->tmpl))) {
        failed->hits++;
        c->error(rq, rs, failed->status, failed->kind, NULL, failed->message);
    } else {
        json_error_t jerr;
        if (rq->body_len > 0 && !rq->json &&
            !(rq->json = json_loadb(rq->body, rq->body_len, 0, &jerr)))
            c->error(rq, rs, 400, "bad_request", NULL, jerr.text);
        else
            route->h(rq, rs);
        /* a handler waiting for a change (a Kubernetes watch) asks to run again */
        while (rs->status == 0 && rs->again_ms > 0) {
            useconds_t us = (useconds_t)(rs->again_ms * 1000);
            rs->again_ms = 0;
            rs->rounds++;
            pthread_mutex_unlock(&sim_lock);
            usleep(us);
            pthread_mutex_lock(&sim_lock);
            sim_store_sweep();
            route->h(rq, rs);
        }
        if (route->mutating && rs->status < 300)
            sim_store_save();
    }
    if (rs->status == 0)
        c->error(rq, rs, 500, "server_error", NULL, "handler gave no answer");
    if (c->decorate)
        c->decorate(rq, rs);
    pthread_mutex_unlock(&sim_lock);
    free(key);
    return fault == F_LOST ? -1 : 0;
}

static enum MHD_Result sim_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    sim_conn *sc = *con_cls;
    if (!sc) {
        *con_cls = hoist_xcalloc(1, sizeof *sc);
        return MHD_YES;
    }
    if (*upload_data_size) {
        hoist_buf_add(&sc->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    sim_req rq = {.conn = conn, .method = method, .path = url,
                  .body = sc->body.s ? sc->body.s : "", .body_len = sc->body.len};
    sim_resp rs = {0};
    int drop = sim_dispatch(&rq, &rs);
    for (int i = 0; i < rq.nparams; i++)
        free(rq.pvals[i]);
    json_decref(rq.json);

    enum MHD_Result ret = MHD_NO;
    if (!drop && !rs.drop) {
        size_t len = rs.body ? strlen(rs.body) : 0;
        struct MHD_Response *r =
            MHD_create_response_from_buffer(len, rs.body ? rs.body : (char *)"",
                                            MHD_RESPMEM_MUST_COPY);
        if (rs.ctype)
            MHD_add_response_header(r, "Content-Type", rs.ctype);
        for (int i = 0; i < rs.nheaders; i++)
            MHD_add_response_header(r, rs.hname[i], rs.hval[i]);
        ret = MHD_queue_response(conn, (unsigned)rs.status, r);
        MHD_destroy_response(r);
    }
    sim_resp_free(&rs);
    return ret;
}

static void sim_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
    sim_conn *sc = *con_cls;
    if (sc) {
        hoist_buf_free(&sc->body);
        free(sc);
        *con_cls = NULL;
    }
}

int sim_serve(const char *host, unsigned port, char **err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        *err = hoist_xasprintf("--host %s: not an IPv4 address (e.g. 127.0.0.1)", host);
        return -1;
    }
    /* --tls (sim_tls.c): the same edge over HTTPS */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)sim_tls_key()},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)sim_tls_cert()},
        {MHD_OPTION_END, 0, NULL},
    };
    if (sim_tls_cert()) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            *err = hoist_xstrdup("--tls: this libmicrohttpd was built without TLS support "
                                 "(Debian's libmicrohttpd12 has it; or run without --tls)");
            return -1;
        }
        flags |= MHD_USE_TLS;
    } else {
        tls[0].option = MHD_OPTION_END;
    }
    sim_daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, sim_access, NULL,
                                  MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, sim_done,
                                  NULL, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_ARRAY, tls,
                                  MHD_OPTION_END);
    if (!sim_daemon) {
        *err = hoist_xasprintf("cannot listen on %s:%u (port in use? try --port 0)", host, port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(sim_daemon, MHD_DAEMON_INFO_BIND_PORT);
    sim_bound_port = di ? di->port : port;
    return 0;
}

unsigned sim_port(void)
{
    return sim_bound_port;
}

void sim_stop(void)
{
    if (sim_daemon)
        MHD_stop_daemon(sim_daemon);
    sim_daemon = NULL;
}
