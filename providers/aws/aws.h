/*
 * aws.h - internals of the `aws` driver (not installed, not exported: the
 * module is built with -fvisibility=hidden and exports only its entry).
 *
 * Every object the driver makes carries the tags hoist:project, hoist:env
 * and hoist:resource, and a deterministic name or idempotency token derived
 * from them, so `ensure` can always find what an earlier (possibly crashed)
 * call made before it creates anything.
 *
 * Every function here that returns a hoist_status reports a failure once
 * through host->fail() where it happens.
 */
#ifndef HOIST_AWS_H
#define HOIST_AWS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <hoist/host.h>
#include <hoist/kit.h>
#include <hoist/provider.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The API versions of the Query services (botocore models / IAM docs). */
#define AWS_EC2_VERSION "2016-11-15"
#define AWS_IAM_VERSION "2010-05-08"
#define AWS_RDS_VERSION "2014-10-31"
#define AWS_STS_VERSION "2011-06-15"

/* Default number of images an ECR lifecycle policy keeps. */
#define AWS_DEFAULT_KEEP_IMAGES 30
/* An EKS token is valid 15 minutes; it is handed out as valid for 14. */
#define AWS_EKS_TOKEN_TTL 840

typedef struct aws_prov {
    const hoist_host *host;
    char *ak, *sk, *token;  /* credentials (registered as secrets by the host) */
    char *region;
    char *endpoint_url;     /* one override for every service, or NULL */
    json_t *endpoints;      /* {service: url} overrides, owned */
    int keep_images;        /* registry.keep_images */
    unsigned poll_ms;       /* poll_ms setting; 0: each operation's own pace */
    pthread_mutex_t lock;   /* guards the token cache below */
    char *tok_cluster, *tok_value;
    int64_t tok_expires;
} aws_prov;

/* How long to wait before polling again: the poll_ms setting when given
   (fast simulators), else @dflt, the pace AWS's own operation suggests. */
static inline unsigned aws_poll_ms(const aws_prov *p, unsigned dflt)
{
    return p->poll_ms ? p->poll_ms : dflt;
}

/* ---- aws_api.c: strings (allocation and buffers: hoist/kit.h) ----------- */

/* RFC 3986 unreserved characters kept, everything else %XX (Query bodies). */
void aws_buf_urlenc(hoist_kit_buf *b, const char *s);

/* ---- aws_api.c: naming --------------------------------------------------- */

/*
 * What a name is for, which sets its limit and rules (AWS API references):
 *   AWS_NAME_TAG            EC2 Name tags and security group names: 255
 *   AWS_NAME_IAM_ROLE       IAM role names: 64
 *   AWS_NAME_EKS_CLUSTER    EKS cluster names: 100 (botocore ClusterName)
 *   AWS_NAME_EKS_NODEGROUP  EKS node group names: 63
 *   AWS_NAME_RDS            RDS DB instance identifiers (also the DB subnet
 *                           group's name): 63, no "--", no trailing '-'
 */
typedef enum aws_name_kind {
    AWS_NAME_TAG,
    AWS_NAME_IAM_ROLE,
    AWS_NAME_EKS_CLUSTER,
    AWS_NAME_EKS_NODEGROUP,
    AWS_NAME_RDS,
} aws_name_kind;

/* "@project-@env[-@suffix]" by hoist_kit_name (lower case, [a-z0-9-]) within
   @kind's limit: a longer name keeps a prefix and ends with a hash of the
   whole.  malloc'd. */
char *aws_name(const hoist_resource *r, aws_name_kind kind, const char *suffix);
/* A deterministic idempotency token for @what of @r (hex, 40 chars). */
char *aws_token(const hoist_resource *r, const char *what);

/* ---- aws_api.c: endpoints and calls ------------------------------------ */

/*
 * The base URL for @svc ("ec2", "iam", "sts", "rds", "eks", "ecr"): the
 * per-service override, else the global override, else AWS's public
 * endpoint for the region.  *@override = 1 when it came from the user.
 * malloc'd, without a trailing slash.
 */
char *aws_endpoint(const aws_prov *p, const char *svc, int *override);

/* A name/value list for Query parameters. */
typedef struct aws_params {
    json_t *kv; /* array of [name, value] */
} aws_params;
void aws_param(aws_params *q, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void aws_params_free(aws_params *q);
/* The x-www-form-urlencoded body "Action=...&Version=...&k=v..." (malloc'd). */
char *aws_query_body(const char *action, const char *version, const aws_params *q);
/* Add hoist's three tags as @prefix.N.Key/Value starting at N = @first; returns next N. */
int aws_param_tags(aws_params *q, const char *prefix, int first, const hoist_resource *r,
                   const char *name);

/*
 * One call and its answer.  @quiet: NULL-terminated error codes that the
 * caller handles itself (not reported through fail(); the status is still
 * returned and @code filled).  Fill, call, then aws_call_clear().
 */
typedef struct aws_call {
    const char *const *quiet;
    int idempotent;           /* safe to retry (read, or a natural key/token) */
    long http;                /* HTTP status of the answer */
    char code[128];           /* the service's error code, "" on success */
    hoist_xml_doc *xml;       /* Query answers */
    json_t *json;             /* JSON answers */
} aws_call;
void aws_call_clear(const aws_prov *p, aws_call *c);

/* Query protocol (EC2, IAM, RDS, STS): POST form to "/". */
hoist_status aws_query(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *action,
                       const aws_params *q, aws_call *c);
/* JSON 1.1 (ECR): X-Amz-Target @target_prefix.@op, body @body (borrowed). */
hoist_status aws_json(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *target_prefix,
                      const char *op, json_t *body, aws_call *c);
/* REST-JSON (EKS): @method @path (already encoded), body or NULL. */
hoist_status aws_rest(aws_prov *p, hoist_ctx *ctx, const char *svc, const char *method,
                      const char *path, json_t *body, aws_call *c);

/* Error code (and message) of an AWS error answer of any protocol; 1 if found.
   @type_header: the x-amzn-ErrorType header or NULL.  *@msg malloc'd or NULL. */
int aws_error_code(const hoist_host *h, hoist_ctx *ctx, const char *body, size_t len,
                   const char *type_header, char *code, size_t codesz, char **msg);
/* The hoist status for AWS error @code with HTTP @http. */
hoist_status aws_code_status(const char *code, long http);

/* ---- aws_api.c: XML and JSON reading --------------------------------- */

/* Text at @path under @from (NULL if absent), malloc'd. */
char *aws_xtext(const aws_prov *p, const hoist_xml_node *from, const char *path);
/* 1 if the text at @path equals @want. */
int aws_xis(const aws_prov *p, const hoist_xml_node *from, const char *path, const char *want);
/* Value of tag @key in an EC2 tagSet under @from, malloc'd or NULL. */
char *aws_ec2_tag(const aws_prov *p, const hoist_xml_node *from, const char *key);
/* String member at dotted @path of @j ("cluster.status"), borrowed, or NULL. */
const char *aws_jstr(json_t *j, const char *path);
/* A string of @spec (or @def). */
const char *aws_spec_str(const hoist_resource *r, const char *key, const char *def);
/* Borrowed outputs of need @kind/@name (name NULL: the first one). */
json_t *aws_need(const hoist_resource *r, const char *kind, const char *name);

/* The signing spec for @svc (IAM is signed for us-east-1). */
void aws_sigv4(const aws_prov *p, const char *svc, hoist_sigv4_spec *s);

/* ---- ops tables (aws_network.c, aws_cluster.c, ...) ---------------------- */

extern const hoist_network_ops aws_network_ops;
extern const hoist_cluster_ops aws_cluster_ops;
extern const hoist_registry_ops aws_registry_ops;
extern const hoist_database_ops aws_database_ops;

/* ---- aws_database.c: sizes (exposed for the unit tests) ------------------- */

/* DB instance class for hoist `size` (small|medium|large or a literal class). */
const char *aws_db_class(const char *size);
/* RDS engine for hoist's engine name, or NULL if AWS is not offered for it. */
const char *aws_db_engine(const char *engine);

/* ---- aws_registry.c ------------------------------------------------------ */

/* The lifecycle policy text keeping the last @keep images (malloc'd). */
char *aws_lifecycle_policy(int keep);

#endif
