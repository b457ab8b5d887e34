/*
 * sim_aws.h - what the AWS modules of hoist-sim (sim_aws*.c) share: the
 * services and their protocols, parameter access, replies and errors in each
 * protocol's own format.  sim_aws.c owns routing (the cloud's claim hook),
 * SigV4 verification and the error documents.
 */
#ifndef HOIST_SIM_AWS_H
#define HOIST_SIM_AWS_H

#include "sim.h"

#include <jansson.h>

#define AWS_ACCOUNT "123456789012"

typedef enum {
    AWS_EC2,       /* EC2's Query dialect: <XResponse><requestId/>..., <Response><Errors> */
    AWS_QUERY,     /* IAM, STS, RDS: <XResponse><XResult>..., <ErrorResponse> */
    AWS_JSON,      /* JSON 1.1 with X-Amz-Target (ECR) */
    AWS_REST_JSON  /* REST-JSON (EKS) */
} aws_proto;

typedef struct aws_svc {
    const char *name;   /* SigV4 signing name, also the routing-key prefix ("ec2") */
    aws_proto proto;
    const char *xmlns;  /* Query: the response namespace */
    const char *target; /* JSON 1.1: X-Amz-Target before the '.' */
    const char *(*member)(const char *list); /* Query: XML member name of a list */
} aws_svc;

extern const aws_svc aws_ec2, aws_iam, aws_sts, aws_rds, aws_eks, aws_ecr;

/* Route operation @action of a Query or JSON service (Query: GET and POST). */
void aws_op(const aws_svc *s, const char *action, sim_handler h, int mutating);
/* Route a REST-JSON operation: @method and a path template. */
void aws_rest(const aws_svc *s, const char *method, const char *path, sim_handler h,
              int mutating);
/* The service of a request (from the SigV4 scope or X-Amz-Target), or NULL. */
const aws_svc *aws_svc_of(const sim_req *rq);
/* The region of the SigV4 credential scope ("us-east-1" when absent). */
const char *aws_region(const sim_req *rq);

/*
 * aws_sigv4_check - verify @rq's SigV4 Authorization header with the
 * simulator's key pair (S3's variant when the scope's service is "s3").
 * Returns 1 when valid, 0 when there is no SigV4 header, -1 for an unknown
 * access key, -2 for a wrong signature (*@why: static text).
 */
int aws_sigv4_check(sim_req *rq, const char **why);
/* Append @s to @b with XML's five special characters escaped (also used by S3). */
struct hoist_buf;
void aws_xml_esc(struct hoist_buf *b, const char *s);

/* Query parameter named by printf @fmt (NULL when absent).  Query services only. */
const char *aws_p(const sim_req *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Values of "@prefix.1", "@prefix.2", ... as a new array of strings. */
json_t *aws_plist(const sim_req *rq, const char *prefix);

/* An error in the service's format (code as AWS spells it); printf @fmt. */
void aws_fail(sim_req *rq, sim_resp *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The XML answer of a Query/EC2 action; @result's members (stolen) become
   the result's children, converted by aws_xml. */
void aws_reply(sim_req *rq, sim_resp *rs, json_t *result);
/* 400 with the protocol's "missing parameter" error unless @name is given. */
const char *aws_need(sim_req *rq, sim_resp *rs, const char *name);

/* Tags: {Key,Value} or {key,value} objects of @set as "k=v" strings (new). */
json_t *aws_tag_strings(json_t *set);
/* New id "@prefix-" + 17 hex digits, EC2 style. */
char *aws_ec2_id(const char *prefix);
/* ISO 8601 of now with milliseconds (owned). */
char *aws_now_iso(void);

/* The live EC2 subnet @id of @region (borrowed body), or NULL. */
json_t *aws_ec2_subnet(const char *id, const char *region);
/* How subnet @id of @region reaches the internet through its route table's
   0.0.0.0/0 route: 1 an attached internet gateway, 2 an available NAT
   gateway, 0 not at all. */
int aws_ec2_subnet_egress(const char *id, const char *region);

/*
 * Is @token ("k8s-aws-v1." + unpadded base64url of a presigned STS
 * GetCallerIdentity URL, aws-iam-authenticator's format) a valid EKS bearer
 * token for cluster @cluster?  1 when it names the configured access key,
 * signs x-k8s-aws-id: @cluster, is at most 15 minutes old (EKS's window,
 * whatever X-Amz-Expires says), and its signature is the one the configured
 * secret gives (the request signed again with libhoist's SigV4; any client's
 * parameter order is fine, so aws eks get-token's tokens pass too).
 */
int aws_eks_token_ok(const char *cluster, const char *token);

void sim_aws_ec2_register(void);
void sim_aws_query_register(void);
void sim_aws_json_register(void);

#endif
