/*
 * sim.h - the hoist-sim framework: one HTTP edge, a route table, a resource
 * store with status machines, faults and call accounting.  Cloud modules
 * (sim_do.c, sim_scw.c, ...) only register a cloud and its routes and write
 * handlers; everything cross-cutting (auth, faults, counting, locking,
 * persistence) happens here, so a new module gets it for free.
 *
 * Threading: the HTTP server runs one thread per connection, but every
 * handler runs with the global store lock held (sim_dispatch takes it), so
 * handlers and the store functions below need no locking of their own.
 * Only the fault latency is slept outside the lock.
 */
#ifndef HOIST_SIM_H
#define HOIST_SIM_H

#include <jansson.h>
#include <stddef.h>

#define SIM_MAX_PARAMS 6
#define SIM_MAX_HEADERS 10

struct MHD_Connection;
struct sim_cloud;

/* One request, as the handler sees it.  Everything is borrowed. */
typedef struct sim_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;              /* without the query string */
    const char *tmpl;              /* matched route template, e.g. "/v2/vpcs/{vpc_id}" */
    const struct sim_cloud *cloud; /* never NULL once routed */
    const char *pnames[SIM_MAX_PARAMS];
    char *pvals[SIM_MAX_PARAMS];   /* URL-captured {name} values */
    int nparams;
    const char *body;              /* raw body, NUL-terminated ("" when none) */
    size_t body_len;
    json_t *json;                  /* parsed body; NULL when empty */
} sim_req;

/* The answer a handler builds; sim_core sends and frees it. */
typedef struct sim_resp {
    int status;                    /* 0 until set */
    char *body;                    /* owned */
    const char *ctype;             /* static string */
    char *hname[SIM_MAX_HEADERS], *hval[SIM_MAX_HEADERS];
    int nheaders;
    int drop;                      /* close the connection without answering */
    long long again_ms;            /* > 0 with status 0: run the handler again after this
                                    * long, without the lock (a watch waiting for a change) */
    int rounds;                    /* how many times the handler already ran */
} sim_resp;

typedef void (*sim_handler)(sim_req *rq, sim_resp *rs);

/*
 * A cloud: URL prefixes it owns and its conventions.  Static storage; the
 * framework keeps the pointer.
 *   auth     returns 1 when the request is authenticated; else fills @rs.
 *   error    fills @rs with the cloud's error body for @status; @kind is a
 *            cloud-neutral word ("not_found", "invalid", "unauthorized",
 *            "throttled", "server_error", "unavailable", "conflict",
 *            "bad_request", "method_not_allowed"); @resource may be NULL.
 *   decorate adds headers every answer of this cloud carries (may be NULL).
 *   faults   1 when --faults apply to it (clouds), 0 for /_sim/.
 *   claim    optional, for APIs that paths cannot tell apart (AWS's Query and
 *            JSON protocols all POST to "/"): returns a malloc'd routing key
 *            that this cloud's route templates are matched against instead of
 *            the path (e.g. "ec2:CreateVpc"), or NULL when the request is not
 *            this cloud's.  Claims are asked before prefixes, without the
 *            store lock.  A claim may set rq->json (e.g. to form parameters);
 *            the framework then leaves the body unparsed.
 */
typedef struct sim_cloud {
    const char *name;              /* "do", "scw", "aws", "kube", "sim" */
    const char *prefixes[8];       /* NULL-terminated, e.g. "/v2/" */
    int (*auth)(sim_req *rq, sim_resp *rs);
    void (*error)(sim_req *rq, sim_resp *rs, int status, const char *kind,
                  const char *resource, const char *message);
    void (*decorate)(sim_req *rq, sim_resp *rs);
    int faults;
    char *(*claim)(sim_req *rq);
} sim_cloud;

/* ---- registration (call from a module's register function, before serving) ---- */

/* Register @c (static storage).  Longest prefix wins when routing. */
void sim_cloud_add(const sim_cloud *c);

/*
 * Route @method + @tmpl of cloud @c to @h.  Template segments "{name}" match
 * one path segment, a last segment "{name*}" matches the rest (may be empty).
 * First registered match wins.  @mutating feeds /_sim/calls.
 */
void sim_route(const sim_cloud *c, const char *method, const char *tmpl, sim_handler h,
               int mutating);

/* ---- request helpers ---- */

/* Captured URL parameter @name, or NULL. */
const char *sim_param(const sim_req *rq, const char *name);
/* Query-string argument @name, or NULL. */
const char *sim_query(const sim_req *rq, const char *name);
/* Request header @name (case-insensitive), or NULL. */
const char *sim_header_in(const sim_req *rq, const char *name);
/* String member @key of the JSON body, or NULL when absent or not a string. */
const char *sim_body_str(const sim_req *rq, const char *key);

/* ---- response helpers ---- */

/* Answer @status with JSON @j (stolen; NULL means no body). */
void sim_reply_json(sim_resp *rs, int status, json_t *j);
/* Answer @status with @text (copied) of type @ctype (static string). */
void sim_reply_text(sim_resp *rs, int status, const char *ctype, const char *text);
/* Add a response header (both copied). */
void sim_reply_header(sim_resp *rs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The cloud's error body via rq->cloud->error; printf-style message. */
void sim_fail(sim_req *rq, sim_resp *rs, int status, const char *kind, const char *resource,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- configuration shared by modules ---- */

typedef struct sim_config {
    char *base_url;                /* "http://127.0.0.1:PORT", set once listening */
    char *do_token;
    char *scw_access, *scw_secret;
    char *aws_access, *aws_secret; /* the one AWS key pair SigV4 signatures are checked with */
    char *state_dir;               /* NULL: no persistence */
} sim_config;
extern sim_config sim_cfg;

/* ---- faults and delays ---- */

/*
 * Parse "error=0.2,throttle=0.05,latency=50ms,do.error=0.3" into the fault
 * table (merging); "seed=N" is accepted too.  0 or -1 with *err (owned) set.
 */
int sim_faults_parse(const char *spec, char **err);
/* Same, from a JSON object of the same keys (numbers or strings). */
int sim_faults_json(json_t *obj, char **err);
/* Current fault table as JSON (new reference). */
json_t *sim_faults_dump(void);
void sim_faults_seed(unsigned long long seed);

/*
 * Permanent failures (POST /_sim/fail): from now on, operation @op of cloud
 * @cloud (as /_sim/calls names it: "METHOD TEMPLATE", e.g. "POST
 * /v2/databases", AWS "POST rds:CreateDBInstance") answers the cloud's own
 * error for @kind every time, after authentication, without running the
 * handler: "quota" (DigitalOcean 422 unprocessable_entity, Scaleway 403
 * quotas_exceeded, AWS 400 with the service's limit code) or "invalid"
 * (DigitalOcean 422, Scaleway 400 invalid_arguments, AWS 400
 * InvalidParameterValue/Exception).  @obj: {"cloud", "operation", "kind",
 * optional "message"}.  0, or -1 with *err (owned) set.  Lock held.
 */
int sim_failrule_json(json_t *obj, char **err);
/* Forget every permanent failure (DELETE /_sim/fail). */
void sim_failrule_clear(void);
/* The rules with the number of requests each failed (new reference). */
json_t *sim_failrule_dump(void);

/* "cluster=2s,database=1s,pool=150ms" (merging); 0 or -1 with *err set. */
int sim_delays_parse(const char *spec, char **err);
int sim_delays_json(json_t *obj, char **err);
json_t *sim_delays_dump(void);
/* Delay in ms for @key ("cluster", ...); unknown keys are 0. */
long long sim_delay_ms(const char *key);
/* Parse "2s", "150ms", "1.5s", "200" (ms) into ms; -1 on error. */
long long sim_parse_duration(const char *s);

/* ---- store: resources with status machines ---- */

/*
 * A kind of resource and its status machine: created in @pending, @ready
 * after delay(@delay_key); DELETE moves it to @deleting for the same delay,
 * then it is gone.  @deleting NULL: gone at once.  @pending NULL: ready at
 * once (and @ready may be NULL for kinds with no status field).
 * @set_status writes the status into the API body (may be NULL).
 */
typedef struct sim_kind {
    const char *cloud, *type, *delay_key;
    const char *pending, *ready, *deleting;
    void (*set_status)(json_t *body, const char *status);
} sim_kind;

typedef struct sim_res {
    const sim_kind *kind;
    char *id, *name, *region;      /* region may be NULL */
    char *parent;                  /* id of the owning resource, or NULL */
    json_t *tags;                  /* array of strings */
    json_t *body;                  /* JSON as the API returns it (status patched on render) */
    json_t *priv;                  /* module-private state (object), never shown */
    long long created_ms;          /* wall-clock ms */
    long long ready_ms;            /* when pending becomes ready */
    long long delete_ms;           /* when DELETE was accepted; 0 if live */
    long long gone_ms;             /* when it disappears (deleting) */
    struct sim_res *next;
} sim_res;

/* Wall-clock milliseconds (persisted timestamps survive restarts). */
long long sim_wall_ms(void);
/* RFC 3339 UTC for @ms into @buf (>= 32 bytes); returns @buf. */
char *sim_rfc3339(long long ms, char *buf);
/* New random UUID v4 string (owned). */
char *sim_uuid(void);
/* Base64 of @n bytes (owned). */
char *sim_base64(const void *p, size_t n);

/*
 * Create a resource: takes @body (stolen) and @tags (stolen, may be NULL),
 * records the creation in /_sim/creations.  Returns the borrowed resource.
 */
sim_res *sim_res_new(const sim_kind *k, const char *id, const char *name, const char *region,
                     const char *parent, json_t *body, json_t *tags);
/* Find a live (or deleting) resource of kind @k by id; NULL if none. */
sim_res *sim_res_get(const sim_kind *k, const char *id);
/* Iterate: first/next resource of kind @k (and @parent when non-NULL). */
sim_res *sim_res_first(const sim_kind *k, const char *parent);
sim_res *sim_res_next(sim_res *r, const sim_kind *k, const char *parent);
/* Current status string (may be NULL for kinds without one). */
const char *sim_res_status(const sim_res *r);
/* The body with its current status written in (borrowed). */
json_t *sim_res_render(sim_res *r);
/* Re-enter the pending state (e.g. a pool resize); no-op without @pending. */
void sim_res_restart(sim_res *r);
/* Accept a DELETE: deleting state, or gone at once (then @r is freed). */
void sim_res_delete(sim_res *r);
/* Children of @parent of kind @k are deleted too. */
void sim_res_delete_children(const sim_kind *k, const char *parent);
/* Record a creation that is not a store resource (e.g. a database user). */
void sim_creation_record(const char *cloud, const char *type, const char *name);
/* Persist the store when --state-dir is set (called after mutating calls). */
void sim_store_save(void);
int sim_store_load(char **err);
/* Drop resources whose deletion completed. */
void sim_store_sweep(void);
/* Forget everything (resources, creations, calls, fault counter). */
void sim_store_reset(void);
/* Admin views (new references). */
json_t *sim_store_resources(void);
json_t *sim_store_creations(void);
json_t *sim_calls_dump(void);
void sim_calls_reset(void);

/* All kinds a module defines must be listed for persistence to map them back. */
void sim_kind_add(const sim_kind *k);
/* The registered kind @cloud/@type, or NULL. */
const sim_kind *sim_kind_lookup(const char *cloud, const char *type);

/* ---- the Kubernetes API of simulated clusters (sim_kube.c) ---- */

/*
 * Give cluster @id a Kubernetes API and a bearer token; call it when the
 * cloud creates the cluster.  The API lives at sim_kube_endpoint(@id) and
 * answers 503 until the owner resource (@owner, @id) shows its kind's ready
 * status, and 404 once that resource is gone.  Returns the token (borrowed:
 * valid until sim_kube_cluster_remove or a store reset; copy it).
 * Idempotent: a second call returns the existing token.
 */
const char *sim_kube_cluster_add(const sim_kind *owner, const char *id);
/* Forget cluster @id's API, token and every object in it (cluster deleted). */
void sim_kube_cluster_remove(const char *id);
/* Token of cluster @id (borrowed), or NULL when it has no API. */
const char *sim_kube_token(const char *id);
/* "<base_url>/kube/<id>" (owned): what a cloud reports as the cluster endpoint. */
char *sim_kube_endpoint(const char *id);
/*
 * Let the clusters of @cloud authenticate otherwise than with the token
 * sim_kube_cluster_add returned (EKS: presigned STS URLs): @check gets the
 * owner resource and the bearer token and returns 1 to admit the request.
 * Call before serving; a few clouds at most.
 */
void sim_kube_auth_hook(const char *cloud, int (*check)(const sim_res *owner, const char *token));

/* ---- server ---- */

/* Start serving on @host:@port (0: any free port); 0 or -1 with *err set. */
int sim_serve(const char *host, unsigned port, char **err);
void sim_stop(void);
/* Port actually bound. */
unsigned sim_port(void);

/* Module entry points, called once from main before serving. */
void sim_admin_register(void);
void sim_do_register(void);
void sim_scw_register(void);
void sim_kube_register(void);
void sim_aws_register(void);
void sim_s3_register(void);

/* ---- registry and TLS (sim_registry.c, sim_tls.c); main thread, before serving ---- */

/*
 * Per-run scratch directory: --state-dir when set, else a new temporary one
 * (borrowed; NULL with *err set on failure).  sim_rundir_cleanup removes a
 * temporary one with its contents.
 */
const char *sim_rundir(char **err);
void sim_rundir_cleanup(void);

/* --no-registry, --registry URL, --registry-credentials USER:PASS (0 or -1 with *err). */
void sim_registry_disable(void);
int sim_registry_use(const char *url, char **err);
int sim_registry_credentials(const char *userpass, char **err);
/* Start our own docker-registry unless disabled or external; 0 or -1 with *err. */
int sim_registry_start(char **err);
/* Stop our docker-registry (SIGTERM, then SIGKILL after 5 s); idempotent. */
void sim_registry_stop(void);
/* "127.0.0.1:PORT" and "http://127.0.0.1:PORT" (borrowed), NULL without a registry. */
const char *sim_registry_host(void);
const char *sim_registry_url(void);
/* The login @cloud ("do", "scw", "aws") hands out (borrowed; scw: nologin + its secret). */
void sim_registry_login(const char *cloud, const char **user, const char **pass);
/*
 * Repositories whose name starts with @prefix (NULL: all), read from the
 * registry: [{name, tags: [{tag, digest, size, updated_ms (0: unknown),
 * blobs: [{digest, compressed_size_bytes}]}]}] (new reference), or NULL with
 * *err (owned) set.  Called from handlers.
 */
json_t *sim_registry_repositories(const char *prefix, char **err);
/* base64("user:password") of @cloud's login (owned), NULL without a registry. */
char *sim_registry_auth_b64(const char *cloud);
/*
 * DigitalOcean's repositoriesV2 items for registry @registry (the
 * repositories under "<registry>/"), or NULL with *err set.
 */
json_t *sim_registry_do_repositories(const char *registry, char **err);

/*
 * --tls: make a CA and a server certificate for 127.0.0.1/localhost (and
 * @host), write the CA PEM to @ca_out (NULL: <rundir>/hoist-sim-ca.pem) and
 * print its path.  0 or -1 with *err set.
 */
int sim_tls_setup(const char *host, const char *ca_out, char **err);
/* PEMs (borrowed), NULL without --tls. */
const char *sim_tls_ca(void);
const char *sim_tls_cert(void);
const char *sim_tls_key(void);
/* Base64 of the CA PEM, "" without --tls (owned): kubeconfig CA data. */
char *sim_tls_ca_b64(void);
/* "    certificate-authority-data: <b64>\n" for a kubeconfig's cluster entry, "" without --tls (owned). */
char *sim_tls_kubeconfig_ca(void);

#endif
