/*
 * hoist/provider.h - the provider ABI: what a cloud driver exports and implements.
 *
 * A driver is a shared object (a libtool module) that exports exactly one
 * symbol, written by HOIST_PROVIDER_DEFINE().  The core finds it with
 * lt_dlsym(h, "hoist_provider_entry"); libltdl tries the module-prefixed
 * form "<name>_LTX_hoist_provider_entry" first, which is what the macro
 * emits, so every driver can also be preloaded into one static binary.
 *
 * Versioning rule
 * ---------------
 * The ABI has a major and a minor number.  The core accepts a driver iff
 * the driver's major equals the core's and the driver's minor is not newer
 * than the core's.  Every struct begins with (or carries) a struct_size so
 * that an older reader can tell which members a newer writer filled.
 *   - Appending a member to a struct or ops table: minor bump.
 *   - Changing or removing a member, or changing a signature: major bump.
 * A driver must zero-initialise what it does not fill (designated
 * initialisers do this); the core treats a NULL member as "unsupported".
 *
 * ABI changelog
 * -------------
 *   1.0  2026-11-27  Descriptor, init/fini, network/cluster/registry/
 *        database/app ops, cluster and registry credentials, database
 *        connection, status codes, capability bits.  Host table: log, fail,
 *        secret, cancelled, state_dir, random_secret (see hoist/host.h).
 *   1.1  2026-11-27  Host table: http, http_response_free, http_header,
 *        http_error, sigv4_presign, eks_token, credentials, xml_*;
 *        hoist_sigv4_spec, hoist_http_request, hoist_http_response.
 *   1.2  2026-11-27  Host table: base64_encode, base64_decode (drivers
 *        decoded CA data, registry logins and kubeconfigs with hand-written
 *        decoders).
 *   1.3  2026-12-04  Host table: progress (the core copies the text, so a
 *        driver may pass a cloud's status word from an answer it frees).
 *        Descriptor: settings, the schema of the environment keys the
 *        driver reads (hoist_setting), so hoist reports a misspelt key with
 *        "did you mean" instead of ignoring it.
 *        Deprecated: hoist_result.status_text (use host->progress); still
 *        read when a call reported no progress, so 1.0-1.2 drivers keep
 *        their status lines.
 *
 * A driver built against an older minor keeps working: the core reads a
 * descriptor member only when the driver's abi_minor and struct_size say it
 * is there (a 1.2 driver's settings are therefore not checked), and the host
 * table only grows at its end, so an old driver never sees a member move.
 *
 * Everything here is plain C99 data; JSON crosses the boundary as jansson
 * references (json_t *) with the ownership stated at each member.
 */
#ifndef HOIST_PROVIDER_H
#define HOIST_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI this header describes (1.3 here).  Since: ABI 1.0 */
#define HOIST_ABI_MAJOR 1
#define HOIST_ABI_MINOR 3

/**
 * hoist_status - the result of every operation.
 *
 * Non-negative values are successes: HOIST_OK (done, the object is READY)
 * and HOIST_PENDING (accepted, not finished: call again after poll_ms).
 * Negative values are errors; the driver reports the detail once through
 * host->fail(), which returns the code so it can be used in a return.
 *
 * Since: ABI 1.0
 */
typedef enum hoist_status {
    HOIST_OK = 0,
    HOIST_PENDING = 1,
    HOIST_E_NOTFOUND = -1,    /* the object does not exist (observe, credentials) */
    HOIST_E_AUTH = -2,        /* credentials missing, wrong or not allowed */
    HOIST_E_INVALID = -3,     /* the request or the settings are invalid; permanent */
    HOIST_E_CONFLICT = -4,    /* the object exists in a state that forbids the change */
    HOIST_E_QUOTA = -5,       /* a quota or limit of the account was reached */
    HOIST_E_TRANSIENT = -6,   /* temporary failure; the core may retry */
    HOIST_E_UNSUPPORTED = -7, /* this driver does not offer the operation */
    HOIST_E_INTERNAL = -8,    /* a bug or an unexpected answer */
    HOIST_E_CANCELLED = -9    /* host->cancelled() became true; stop soon */
} hoist_status;

/** Capability bits, in hoist_provider_descriptor.caps.  Since: ABI 1.0 */
enum {
    HOIST_CAP_PAUSE_DATABASE = 1u << 0, /* database->pause stops a managed database */
    HOIST_CAP_AUTOSCALE = 1u << 1,      /* cluster node pools autoscale (min/max) */
    HOIST_CAP_PRIVATE_DB = 1u << 2,     /* databases reachable only from the cluster */
    HOIST_CAP_LOCAL_RUNTIME = 1u << 3,  /* apps run through ops->app, not Kubernetes */
    HOIST_CAP_DB_POSTGRESQL = 1u << 8,
    HOIST_CAP_DB_MYSQL = 1u << 9,
    HOIST_CAP_DB_REDIS = 1u << 10,
    HOIST_CAP_DB_MONGODB = 1u << 11
};

/**
 * hoist_ctx - an opaque handle owned by the core.  init() receives one for
 * the driver's lifetime; every operation receives one for that call (it
 * carries the resource name for log lines, the cancellation flag and the
 * deadline).  Pass it back to every host function.  Never free it.
 * Since: ABI 1.0
 */
typedef struct hoist_ctx hoist_ctx;
struct hoist_host;

/**
 * hoist_resource - what the core asks an operation to converge on.
 * All members are borrowed for the duration of the call.
 *
 * @struct_size: sizeof(hoist_resource) as the core compiled it.
 * @project:     project name from hoist.yml.
 * @env:         environment name.
 * @name:        the resource's logical name ("network", "cluster", the
 *               database or application name).
 * @spec:        desired settings (a JSON object, never NULL): the part of
 *               hoist.yml that describes this resource, with defaults applied.
 * @needs:       outputs of the resources this one needs, keyed by kind then
 *               name, e.g. {"network": {...outputs...}} (never NULL).
 * @recorded:    outputs recorded by the last successful or pending call for
 *               this resource, or NULL if none.  Includes "id" when the
 *               driver returned one.  Drivers use it to find their object
 *               without a search, but must still verify it exists.
 *
 * Since: ABI 1.0
 */
typedef struct hoist_resource {
    size_t struct_size;
    const char *project;
    const char *env;
    const char *name;
    json_t *spec;
    json_t *needs;
    json_t *recorded;
} hoist_resource;

/**
 * hoist_result - what an operation hands back.  The core zeroes it and sets
 * struct_size before the call.
 *
 * @outputs: a JSON object (new reference, or NULL) of facts that other
 *           resources and the user may see: "id" (the cloud's identifier),
 *           endpoints, names.  Recorded in state, shown by `hoist status`.
 * @secrets: a JSON object (new reference, or NULL) of values that must never
 *           be printed (passwords, tokens).  Recorded in state (sealed when a
 *           key is configured) and passed back through @recorded under the
 *           key "secrets".
 * @poll_ms: with HOIST_PENDING, when to ask again (a hint; 0 = core default).
 * @status_text: DEPRECATED since ABI 1.3: call host->progress() instead,
 *           which copies.  Optional short phase ("creating"); a static
 *           string or NULL.  The core still reads it when the call reported
 *           no progress (so 1.0-1.2 drivers keep working).
 *
 * Since: ABI 1.0
 */
typedef struct hoist_result {
    size_t struct_size;
    json_t *outputs;
    json_t *secrets;
    unsigned poll_ms;
    const char *status_text;
} hoist_result;

/**
 * Reconciliation-shaped operations, the same signature for every kind.
 *
 * ensure:  create the object or converge it on @r->spec.  Returns HOIST_OK when
 *          READY, HOIST_PENDING while it converges (the core calls again with
 *          the outputs it returned as @r->recorded).  Must find an existing
 *          object (by recorded id, ownership tags "hoist:project", "hoist:env",
 *          "hoist:resource", names or idempotency tokens) before creating one,
 *          so a call repeated after a crash never creates twice.
 * observe: report the object as it is: HOIST_OK (outputs filled), HOIST_PENDING
 *          (exists but not ready), or HOIST_E_NOTFOUND.  Never mutates.
 * destroy: delete the object.  HOIST_OK when it is gone (including "was never
 *          there"), HOIST_PENDING while deleting.
 * pause:   (optional) stop or scale to zero without losing data.  HOIST_OK or
 *          HOIST_PENDING.  Calling ensure again resumes.
 *
 * @prov: the driver context returned by init().  @ctx: this call's handle.
 * Thread-safety: the core calls operations on different resources from
 * several threads at once; it never calls two operations on the same
 * resource at the same time.  Drivers must protect shared state of @prov.
 *
 * Since: ABI 1.0
 */
typedef hoist_status (*hoist_op_fn)(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_result *out);

/** Network: VPC, subnets, gateways, security groups.  Since: ABI 1.0 */
typedef struct hoist_network_ops {
    size_t struct_size;
    hoist_op_fn ensure;
    hoist_op_fn observe;
    hoist_op_fn destroy;
} hoist_network_ops;

/**
 * hoist_cluster_credentials - how to reach a cluster's Kubernetes API.
 * Strings are allocated with malloc(3) by the driver and freed by the core
 * with hoist_cluster_credentials_clear() (or free() on each member).
 * @expires_at: Unix time after which @token is no longer valid, 0 = never.
 * Since: ABI 1.0
 */
typedef struct hoist_cluster_credentials {
    size_t struct_size;
    char *endpoint;  /* https://host:port, no trailing slash */
    char *ca_pem;    /* PEM bundle that signs the endpoint's certificate, or NULL */
    char *token;     /* bearer token (a secret) */
    int64_t expires_at;
} hoist_cluster_credentials;

/** Cluster: managed Kubernetes plus its node pool.  Since: ABI 1.0 */
typedef struct hoist_cluster_ops {
    size_t struct_size;
    hoist_op_fn ensure;
    hoist_op_fn observe;
    hoist_op_fn destroy;
    /**
     * credentials: fill @out for the READY cluster described by @r (its
     * recorded outputs are in @r->recorded).  HOIST_OK, HOIST_E_NOTFOUND, or
     * an error.  The core registers the token as a secret.
     */
    hoist_status (*credentials)(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_cluster_credentials *out);
} hoist_cluster_ops;

/**
 * hoist_registry_credentials - where and how to push images.
 * @endpoint: registry host[:port] with scheme, e.g. https://123.dkr.ecr...,
 *   or a bare host[:port] when the cloud names no scheme: the core then
 *   applies docker's rule (https; plain http only for a loopback host).
 * @repository: the repository path inside the registry for this resource.
 * Strings malloc(3)'d by the driver, freed by the core.  Since: ABI 1.0
 */
typedef struct hoist_registry_credentials {
    size_t struct_size;
    char *endpoint;
    char *repository;
    char *username;
    char *password; /* a secret */
    int64_t expires_at;
} hoist_registry_credentials;

/** Registry: one repository per application.  Since: ABI 1.0 */
typedef struct hoist_registry_ops {
    size_t struct_size;
    hoist_op_fn ensure;
    hoist_op_fn observe;
    hoist_op_fn destroy;
    hoist_status (*credentials)(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_registry_credentials *out);
} hoist_registry_ops;

/**
 * hoist_db_connection - how an application reaches a database.
 * Strings malloc(3)'d by the driver, freed by the core.  @password is a
 * secret.  @tls: 1 if the server requires TLS.  Since: ABI 1.0
 */
typedef struct hoist_db_connection {
    size_t struct_size;
    char *host;
    int port;
    char *user;
    char *password;
    char *database;
    int tls;
} hoist_db_connection;

/** Database: managed database instances.  Since: ABI 1.0 */
typedef struct hoist_database_ops {
    size_t struct_size;
    hoist_op_fn ensure;
    hoist_op_fn observe;
    hoist_op_fn destroy;
    hoist_op_fn pause;
    hoist_status (*connection)(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_db_connection *out);
} hoist_database_ops;

/**
 * App: for providers that run applications themselves (HOIST_CAP_LOCAL_RUNTIME)
 * instead of on Kubernetes.  @r->spec is the application's settings; @r->spec
 * also carries "env" with every variable to inject (database URLs included:
 * they are secrets and registered as such by the core).
 * logs: write the app's recent output to @fd (follow: keep writing until
 * cancelled).  Since: ABI 1.0
 */
typedef struct hoist_app_ops {
    size_t struct_size;
    hoist_op_fn ensure;
    hoist_op_fn observe;
    hoist_op_fn destroy;
    hoist_op_fn pause;
    hoist_status (*logs)(void *prov, hoist_ctx *ctx, const hoist_resource *r, int fd, int follow);
} hoist_app_ops;

/**
 * hoist_provider_ops - the driver's operations.  A NULL sub-table means the
 * cloud does not offer that kind; a NULL member means the operation is
 * unsupported (the core reports HOIST_E_UNSUPPORTED).  Must stay valid until
 * fini() returns (static storage is usual).
 * Since: ABI 1.0
 */
typedef struct hoist_provider_ops {
    size_t struct_size;
    const hoist_network_ops *network;
    const hoist_cluster_ops *cluster;
    const hoist_registry_ops *registry;
    const hoist_database_ops *database;
    const hoist_app_ops *app;
} hoist_provider_ops;

/**
 * hoist_setting - one environment key the driver reads (its settings
 * schema).  The descriptor's @settings points at an array of them in static
 * storage, ended by an entry whose @name is NULL.
 *
 * Every key of an environment in hoist.yml is either one of hoist's own
 * (provider, region, protected, cluster, network, timeouts, ingress,
 * resources, rollout_timeout, storage_class, state) or a setting of the
 * environment's driver.  When the driver declares a schema, `hoist validate`
 * and every command that reads hoist.yml report any other key as an error at
 * its FILE:LINE:COLUMN, with "did you mean" from both sets, and a value of
 * the wrong type likewise.  A driver without a schema (built against ABI 1.2
 * or older, or @settings NULL) gets its keys unchecked; `-v` says so.  Keys
 * close to one of hoist's own are errors whatever the driver.
 *
 * @name: the key, e.g. "poll_ms".  "a.b" names key b inside the mapping a
 *        ("network.cidr"): once a driver declares any "a.*" key, every key
 *        of that mapping is checked against them (hoist's own `cluster`
 *        mapping is always checked by hoist).  Declaring "a.b" does not
 *        declare "a"; declare both when "a" is a driver key.  Key names are
 *        made of [a-z0-9_.] and each appears once.
 * @type: HOIST_SETTING_* (what YAML value is accepted; null always is).
 * @doc:  one line for the user ("polling interval in ms, 1..600000").
 *
 * The struct is frozen: a later minor that needs more adds a new descriptor
 * member, so arrays built with any 1.x header keep their stride.
 * Since: ABI 1.3
 */
typedef struct hoist_setting {
    const char *name;
    unsigned type;
    const char *doc;
} hoist_setting;

/** Types of hoist_setting.type.  Since: ABI 1.3 */
enum {
    HOIST_SETTING_ANY = 0,    /* any value; the driver checks it */
    HOIST_SETTING_STRING = 1, /* a scalar (numbers and booleans are kept as written) */
    HOIST_SETTING_INT = 2,    /* an integer */
    HOIST_SETTING_BOOL = 3,   /* true or false */
    HOIST_SETTING_MAP = 4,    /* a mapping */
    HOIST_SETTING_LIST = 5    /* a sequence */
};

/**
 * init - create the driver's context.
 * @host:     services lent by the core; valid until fini() returns.
 * @ctx:      the driver's lifetime handle for host calls made outside an
 *            operation (and in fini).
 * @settings: the environment's settings from hoist.yml (region, endpoint,
 *            anything provider-specific); borrowed, may be used only during
 *            init (copy what you keep).
 * @prov:     out: the driver context passed to every operation.
 * @ops:      out: the operations table.
 * Returns HOIST_OK, or an error reported with host->fail() (the loader shows
 * it, prefixed with the driver's name).
 * Called once, from one thread.  Since: ABI 1.0
 */
typedef hoist_status (*hoist_init_fn)(const struct hoist_host *host, hoist_ctx *ctx,
                                      json_t *settings, void **prov,
                                      const hoist_provider_ops **ops);

/**
 * fini - free the driver context.  Called once, after every operation
 * returned (also when init succeeded but the core gives up at once).
 * Since: ABI 1.0
 */
typedef void (*hoist_fini_fn)(void *prov);

/**
 * hoist_provider_descriptor - plain data returned by the entry symbol.
 * @abi_major, @abi_minor: HOIST_ABI_MAJOR/MINOR the driver was built with.
 * @struct_size: sizeof(hoist_provider_descriptor) as the driver compiled it.
 * @name:    must equal the module's file name without ".so"/".la".
 * @version, @license, @description: shown by `hoist providers`.
 * @caps:    HOIST_CAP_* bits; static, so `hoist providers` and `hoist validate`
 *           know them without initialising the driver.
 * @init, @fini: see above.
 * @settings: (since ABI 1.3, optional) the environment keys the driver
 *           reads, see hoist_setting; NULL = no schema, keys unchecked.
 * Required: name, version, license, init.  Since: ABI 1.0
 */
typedef struct hoist_provider_descriptor {
    unsigned abi_major;
    unsigned abi_minor;
    size_t struct_size;
    const char *name;
    const char *version;
    const char *license;
    const char *description;
    unsigned caps;
    hoist_init_fn init;
    hoist_fini_fn fini;
    const struct hoist_setting *settings; /* Since: ABI 1.3 */
} hoist_provider_descriptor;

/**
 * hoist_entry_fn - the type of the one exported symbol,
 * <name>_LTX_hoist_provider_entry (written by HOIST_PROVIDER_DEFINE): returns
 * the driver's descriptor, in static storage.  Called before init, maybe
 * several times; must do nothing else.  Since: ABI 1.0
 */
typedef const hoist_provider_descriptor *(*hoist_entry_fn)(void);

/** HOIST_EXPORT - gives the entry symbol default visibility.  Since: ABI 1.0 */
#if defined(__GNUC__)
#define HOIST_EXPORT __attribute__((visibility("default")))
#else
#define HOIST_EXPORT
#endif

/**
 * HOIST_PROVIDER_DEFINE(name, ...) - define the one exported symbol.
 * The remaining arguments are designated initialisers of the descriptor:
 *   HOIST_PROVIDER_DEFINE(aws, .version = "1.0.0", .license = "MIT",
 *                         .settings = aws_settings,
 *                         .init = aws_init, .fini = aws_fini)
 * @name must be a C identifier equal to the module's file name.  It fills
 * abi_major/abi_minor with the header's, so rebuilding a driver against a
 * newer SDK declares the newer minor.  Since: ABI 1.0
 */
#define HOIST_PROVIDER_DEFINE(pname, ...)                                                  \
    HOIST_EXPORT const hoist_provider_descriptor *pname##_LTX_hoist_provider_entry(void);  \
    const hoist_provider_descriptor *pname##_LTX_hoist_provider_entry(void)                \
    {                                                                                      \
        static const hoist_provider_descriptor d = {.abi_major = HOIST_ABI_MAJOR,          \
                                                    .abi_minor = HOIST_ABI_MINOR,          \
                                                    .struct_size = sizeof d,               \
                                                    .name = #pname,                        \
                                                    __VA_ARGS__};                          \
        return &d;                                                                         \
    }

#ifdef __cplusplus
}
#endif
#endif /* HOIST_PROVIDER_H */
