/*
 * aws_cluster.c - the cluster: two IAM roles (the EKS control plane's and
 * the nodes', with the AWS managed policies EKS documents), the EKS cluster
 * in the network's subnets, and one managed node group in the private
 * subnets.  READY when both are ACTIVE.
 *
 * Names are deterministic ("<project>-<env>", "-eks-cluster", "-eks-node",
 * "-nodes") and the EKS creates carry a clientRequestToken derived from
 * them, so a create repeated after a lost answer makes nothing twice.
 * Credentials: endpoint, CA (certificateAuthority.data, base64 of a PEM
 * bundle) and a bearer token from host->eks_token, cached until a minute
 * before it expires.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLICY_ARN "arn:aws:iam::aws:policy/"

static const char *const cluster_policies[] = {POLICY_ARN "AmazonEKSClusterPolicy", NULL};
static const char *const node_policies[] = {POLICY_ARN "AmazonEKSWorkerNodePolicy",
                                            POLICY_ARN "AmazonEKS_CNI_Policy",
                                            POLICY_ARN "AmazonEC2ContainerRegistryReadOnly", NULL};

/* The trust policy letting @service assume the role. */
static char *trust_policy(const char *service)
{
    json_t *d = json_pack("{s:s,s:[{s:s,s:{s:s},s:s}]}", "Version", "2012-10-17", "Statement",
                          "Effect", "Allow", "Principal", "Service", service, "Action",
                          "sts:AssumeRole");
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

/* Find or create role @suffix with @policies attached; *@arn (malloc'd). */
static hoist_status cl_role(aws_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                            const char *suffix, const char *service,
                            const char *const *policies, int mutate, char **arn)
{
    const hoist_host *h = p->host;
    char *name = aws_name(r, AWS_NAME_IAM_ROLE, suffix);
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = (const char *const[]){"NoSuchEntity", NULL}};
    aws_param(&q, "RoleName", "%s", name);
    hoist_status st = aws_query(p, ctx, "iam", "GetRole", &q, &c);
    if (st == HOIST_E_NOTFOUND && mutate) {
        aws_params cq = {0};
        char *trust = trust_policy(service);
        aws_call_clear(p, &c);
        /* The name is the key: a retry after a lost answer gets
           EntityAlreadyExists, which means our earlier call worked. */
        c.quiet = (const char *const[]){"EntityAlreadyExists", NULL};
        aws_param(&cq, "RoleName", "%s", name);
        aws_param(&cq, "AssumeRolePolicyDocument", "%s", trust);
        aws_param(&cq, "Description", "hoist: %s of %s/%s", suffix, r->project, r->env);
        aws_param_tags(&cq, "Tags.member", 1, r, NULL);
        st = aws_query(p, ctx, "iam", "CreateRole", &cq, &c);
        aws_params_free(&cq);
        free(trust);
        if (st == HOIST_E_CONFLICT) {
            aws_call_clear(p, &c);
            c.quiet = NULL;
            st = aws_query(p, ctx, "iam", "GetRole", &q, &c);
        } else if (st == HOIST_OK) {
            h->log(ctx, HOIST_LOG_INFO, "created IAM role %s", name);
        }
    }
    if (st != HOIST_OK)
        goto cleanup;
    const hoist_xml_node *root = h->xml_root(c.xml);
    *arn = aws_xtext(p, root, "GetRoleResult/Role/Arn");
    if (!*arn)
        *arn = aws_xtext(p, root, "CreateRoleResult/Role/Arn");
    aws_call_clear(p, &c);
    c.quiet = NULL;
    st = aws_query(p, ctx, "iam", "ListAttachedRolePolicies", &q, &c);
    for (const char *const *pol = policies; st == HOIST_OK && *pol; pol++) {
        int has = 0;
        for (const hoist_xml_node *m = h->xml_first(h->xml_root(c.xml),
                                                    "ListAttachedRolePoliciesResult/AttachedPolicies/member");
             m; m = h->xml_next(m))
            has |= aws_xis(p, m, "PolicyArn", *pol);
        if (has)
            continue;
        if (!mutate) {
            st = HOIST_PENDING;
            break;
        }
        aws_params aq = {0};
        aws_call a = {.idempotent = 1}; /* attaching twice is a no-op */
        aws_param(&aq, "RoleName", "%s", name);
        aws_param(&aq, "PolicyArn", "%s", *pol);
        st = aws_query(p, ctx, "iam", "AttachRolePolicy", &aq, &a);
        aws_params_free(&aq);
        aws_call_clear(p, &a);
    }
cleanup:
    aws_call_clear(p, &c);
    aws_params_free(&q);
    free(name);
    return st;
}

/* GET an EKS object; NOTFOUND quietly. */
static hoist_status eks_get(aws_prov *p, hoist_ctx *ctx, const char *path, aws_call *c)
{
    static const char *const quiet[] = {"ResourceNotFoundException", NULL};
    c->idempotent = 1;
    c->quiet = quiet;
    return aws_rest(p, ctx, "eks", "GET", path, NULL, c);
}

static json_t *cl_tags(const hoist_resource *r)
{
    return json_pack("{s:s,s:s,s:s}", "hoist:project", r->project, "hoist:env", r->env,
                     "hoist:resource", r->name);
}

/* Translate an EKS status into a hoist status for ensure; @obj (the
   cluster or node group) gives the first health issue of a failure. */
static hoist_status cl_phase(aws_prov *p, hoist_ctx *ctx, const char *what, json_t *obj,
                             hoist_result *out)
{
    const char *status = aws_jstr(obj, "status");
    if (!status)
        return p->host->fail(ctx, HOIST_E_INTERNAL, "%s: the answer has no status", what);
    if (strcmp(status, "ACTIVE") == 0)
        return HOIST_OK;
    if (strcmp(status, "FAILED") == 0 || strcmp(status, "CREATE_FAILED") == 0 ||
        strcmp(status, "DEGRADED") == 0 || strcmp(status, "DELETE_FAILED") == 0) {
        json_t *issue = json_array_get(json_object_get(json_object_get(obj, "health"), "issues"), 0);
        const char *code = aws_jstr(issue, "code"), *msg = aws_jstr(issue, "message");
        return p->host->fail(ctx, HOIST_E_CONFLICT,
                             "%s is %s%s%s%s%s: see its health issues (EKS console), fix them, "
                             "then run `hoist destroy` and deploy again", what, status,
                             code ? ": " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
    }
    out->poll_ms = aws_poll_ms(p, 5000);
    p->host->progress(ctx, "%s", strcmp(status, "DELETING") == 0   ? "waiting for a deletion to finish"
                                 : strcmp(status, "UPDATING") == 0 ? "updating"
                                                                   : "creating");
    return HOIST_PENDING;
}

static hoist_status cl_walk(aws_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                            hoist_result *out, int mutate)
{
    const hoist_host *h = p->host;
    json_t *netw = aws_need(r, "network", "network");
    char *name = aws_name(r, AWS_NAME_EKS_CLUSTER, NULL);
    char *ng = aws_name(r, AWS_NAME_EKS_NODEGROUP, "nodes"), *crole = NULL, *nrole = NULL;
    char *path = hoist_kit_xasprintf("/clusters/%s", name);
    char *ngpath = hoist_kit_xasprintf("/clusters/%s/node-groups/%s", name, ng);
    aws_call c = {0}, g = {0};
    json_t *cl = NULL, *body = NULL;
    hoist_status st;
    const char *version = aws_spec_str(r, "version", NULL);
    json_t *nodes = json_object_get(r->spec, "nodes");
    const char *itype = json_string_value(json_object_get(nodes, "type"));
    json_int_t nmin = json_integer_value(json_object_get(nodes, "min"));
    json_int_t nmax = json_integer_value(json_object_get(nodes, "max"));
    if (!json_object_get(nodes, "min"))
        nmin = 2;
    if (!json_object_get(nodes, "max"))
        nmax = nmin > 3 ? nmin : 3;

    if (mutate && !netw) {
        st = h->fail(ctx, HOIST_E_INVALID, "the cluster needs the network's outputs (vpc, subnets)");
        goto cleanup;
    }
    st = eks_get(p, ctx, path, &c);
    if (st == HOIST_E_NOTFOUND && !mutate)
        goto cleanup;
    if (st != HOIST_OK && st != HOIST_E_NOTFOUND)
        goto cleanup;
    if ((st = cl_role(p, ctx, r, "eks-cluster", "eks.amazonaws.com", cluster_policies, mutate,
                      &crole)) != HOIST_OK ||
        (st = cl_role(p, ctx, r, "eks-node", "ec2.amazonaws.com", node_policies, mutate,
                      &nrole)) != HOIST_OK)
        goto cleanup;
    if (!c.json) {
        char *tok = aws_token(r, "eks-cluster");
        json_t *subnets = json_array(), *x;
        size_t i;
        json_array_foreach(json_object_get(netw, "public_subnets"), i, x)
            json_array_append(subnets, x);
        json_array_foreach(json_object_get(netw, "private_subnets"), i, x)
            json_array_append(subnets, x);
        body = json_pack("{s:s,s:s,s:{s:o,s:[s],s:b,s:b},s:o,s:s}", "name", name, "roleArn", crole,
                         "resourcesVpcConfig", "subnetIds", subnets, "securityGroupIds",
                         json_string_value(json_object_get(netw, "cluster_security_group"))
                             ? json_string_value(json_object_get(netw, "cluster_security_group"))
                             : "",
                         "endpointPublicAccess", 1, "endpointPrivateAccess", 1, "tags", cl_tags(r),
                         "clientRequestToken", tok);
        if (version)
            json_object_set_new(body, "version", json_string(version));
        c.idempotent = 1; /* clientRequestToken */
        c.quiet = NULL;
        st = aws_rest(p, ctx, "eks", "POST", "/clusters", body, &c);
        free(tok);
        if (st != HOIST_OK)
            goto cleanup;
        h->log(ctx, HOIST_LOG_INFO, "creating EKS cluster %s%s%s", name, version ? " " : "",
               version ? version : "");
    }
    cl = json_incref(json_object_get(c.json, "cluster"));
    const char *cver = aws_jstr(cl, "version");
    if (version && cver && strcmp(version, cver) != 0)
        h->log(ctx, HOIST_LOG_WARN,
               "cluster %s runs Kubernetes %s, hoist.yml asks for %s: hoist does not upgrade "
               "clusters yet (aws eks update-cluster-version)", name, cver, version);
    st = cl_phase(p, ctx, "EKS cluster", cl, out);
    if (st != HOIST_OK)
        goto cleanup;

    st = eks_get(p, ctx, ngpath, &g);
    if (st == HOIST_E_NOTFOUND && !mutate) {
        st = HOIST_PENDING;
        goto cleanup;
    }
    if (st == HOIST_E_NOTFOUND) {
        char *tok = aws_token(r, "eks-nodegroup");
        char *ngp = hoist_kit_xasprintf("/clusters/%s/node-groups", name);
        json_decref(body);
        body = json_pack("{s:s,s:{s:I,s:I,s:I},s:O,s:s,s:o,s:s}", "nodegroupName", ng,
                         "scalingConfig", "minSize", nmin, "maxSize", nmax, "desiredSize", nmin,
                         "subnets", json_object_get(netw, "private_subnets"), "nodeRole", nrole,
                         "tags", cl_tags(r), "clientRequestToken", tok);
        if (itype)
            json_object_set_new(body, "instanceTypes", json_pack("[s]", itype));
        g.quiet = NULL;
        st = aws_rest(p, ctx, "eks", "POST", ngp, body, &g);
        free(tok);
        free(ngp);
        if (st != HOIST_OK)
            goto cleanup;
        h->log(ctx, HOIST_LOG_INFO, "creating node group %s (%s, %lld-%lld nodes)", ng,
               itype ? itype : "default type", (long long)nmin, (long long)nmax);
    } else if (st != HOIST_OK) {
        goto cleanup;
    }
    st = cl_phase(p, ctx, "EKS node group", json_object_get(g.json, "nodegroup"), out);
    if (st == HOIST_OK)
        out->outputs = json_pack(
            "{s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s?,s:s?,s:s?,s:s}", "id", name, "name", name, "arn",
            aws_jstr(cl, "arn"), "endpoint", aws_jstr(cl, "endpoint"), "version",
            aws_jstr(cl, "version"), "nodegroup", ng, "cluster_security_group",
            aws_jstr(cl, "resourcesVpcConfig.clusterSecurityGroupId"), "cluster_role_arn", crole,
            "node_role_arn", nrole, "region", p->region);
cleanup:
    json_decref(cl);
    json_decref(body);
    aws_call_clear(p, &c);
    aws_call_clear(p, &g);
    free(name);
    free(ng);
    free(path);
    free(ngpath);
    free(crole);
    free(nrole);
    return st;
}

static hoist_status cl_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                              hoist_result *out)
{
    return cl_walk(prov, ctx, r, out, 1);
}

static hoist_status cl_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    return cl_walk(prov, ctx, r, out, 0);
}

/* Detach every managed policy, then delete role @suffix. */
static hoist_status cl_role_delete(aws_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                                   const char *suffix)
{
    const hoist_host *h = p->host;
    char *name = aws_name(r, AWS_NAME_IAM_ROLE, suffix);
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = (const char *const[]){"NoSuchEntity", NULL}};
    aws_param(&q, "RoleName", "%s", name);
    hoist_status st = aws_query(p, ctx, "iam", "ListAttachedRolePolicies", &q, &c);
    for (const hoist_xml_node *m = st == HOIST_OK ? h->xml_first(h->xml_root(c.xml),
                                   "ListAttachedRolePoliciesResult/AttachedPolicies/member")
                                                  : NULL;
         m && st == HOIST_OK; m = h->xml_next(m)) {
        char *arn = aws_xtext(p, m, "PolicyArn");
        aws_params dq = {0};
        aws_call d = {.idempotent = 1, .quiet = (const char *const[]){"NoSuchEntity", NULL}};
        aws_param(&dq, "RoleName", "%s", name);
        aws_param(&dq, "PolicyArn", "%s", arn);
        st = aws_query(p, ctx, "iam", "DetachRolePolicy", &dq, &d);
        if (st == HOIST_E_NOTFOUND)
            st = HOIST_OK;
        aws_params_free(&dq);
        aws_call_clear(p, &d);
        free(arn);
    }
    aws_call_clear(p, &c);
    if (st == HOIST_OK) {
        st = aws_query(p, ctx, "iam", "DeleteRole", &q, &c);
        aws_call_clear(p, &c);
    }
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    aws_params_free(&q);
    free(name);
    return st;
}

/* DELETE an EKS object unless it is gone or already deleting; 1 in *@gone when gone. */
static hoist_status eks_delete(aws_prov *p, hoist_ctx *ctx, const char *path, const char *key,
                               int *gone)
{
    aws_call c = {0};
    hoist_status st = eks_get(p, ctx, path, &c);
    *gone = st == HOIST_E_NOTFOUND;
    if (st == HOIST_OK && !aws_jstr(c.json, key)) {
        st = HOIST_OK;
    } else if (st == HOIST_OK && strcmp(aws_jstr(c.json, key), "DELETING") != 0) {
        aws_call_clear(p, &c);
        c.idempotent = 1; /* deleting twice: NotFound or ResourceInUse, both handled */
        static const char *const quiet[] = {"ResourceNotFoundException",
                                            "ResourceInUseException", NULL};
        c.quiet = quiet;
        st = aws_rest(p, ctx, "eks", "DELETE", path, NULL, &c);
        if (st == HOIST_E_CONFLICT) /* a node group is still going away */
            st = HOIST_OK;
    }
    if (st == HOIST_E_NOTFOUND) {
        *gone = 1;
        st = HOIST_OK;
    }
    aws_call_clear(p, &c);
    return st;
}

static hoist_status cl_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    aws_prov *p = prov;
    char *name = aws_name(r, AWS_NAME_EKS_CLUSTER, NULL);
    char *ng = aws_name(r, AWS_NAME_EKS_NODEGROUP, "nodes");
    char *path = hoist_kit_xasprintf("/clusters/%s", name);
    char *ngpath = hoist_kit_xasprintf("/clusters/%s/node-groups/%s", name, ng);
    int gone = 0;
    hoist_status st = eks_delete(p, ctx, ngpath, "nodegroup.status", &gone);
    if (st == HOIST_OK && !gone) {
        st = HOIST_PENDING;
        p->host->progress(ctx, "deleting the node group");
    }
    if (st == HOIST_OK) {
        st = eks_delete(p, ctx, path, "cluster.status", &gone);
        if (st == HOIST_OK && !gone) {
            st = HOIST_PENDING;
            p->host->progress(ctx, "deleting the cluster");
        }
    }
    if (st == HOIST_OK)
        st = cl_role_delete(p, ctx, r, "eks-node");
    if (st == HOIST_OK)
        st = cl_role_delete(p, ctx, r, "eks-cluster");
    if (st == HOIST_PENDING)
        out->poll_ms = aws_poll_ms(p, 5000);
    free(name);
    free(ng);
    free(path);
    free(ngpath);
    return st;
}

/* ------------------------------------------------------------------ credentials */

/* PEM from certificateAuthority.data (base64 of the PEM bundle), or NULL. */
static char *cl_ca_pem(const hoist_host *h, const char *data)
{
    if (!data || !*data)
        return NULL;
    char *pem = h->base64_decode(data, NULL);
    if (pem && !strstr(pem, "-----BEGIN")) {
        free(pem);
        return NULL;
    }
    return pem;
}

static hoist_status cl_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                   hoist_cluster_credentials *out)
{
    aws_prov *p = prov;
    const hoist_host *h = p->host;
    char *name = aws_name(r, AWS_NAME_EKS_CLUSTER, NULL);
    char *path = hoist_kit_xasprintf("/clusters/%s", name);
    char *token = NULL, *sts = NULL;
    int64_t now = (int64_t)time(NULL), expires = 0;
    aws_call c = {0};
    hoist_status st = eks_get(p, ctx, path, &c);
    if (st == HOIST_E_NOTFOUND)
        st = h->fail(ctx, HOIST_E_NOTFOUND, "EKS cluster %s does not exist: run `hoist deploy`",
                     name);
    if (st != HOIST_OK)
        goto cleanup;
    const char *ep = aws_jstr(c.json, "cluster.endpoint");
    if (!ep || strcmp(aws_jstr(c.json, "cluster.status") ? aws_jstr(c.json, "cluster.status") : "",
                      "ACTIVE") != 0) {
        st = h->fail(ctx, HOIST_E_NOTFOUND, "EKS cluster %s is not ACTIVE yet", name);
        goto cleanup;
    }
    /* A cached token is reused until a minute before it expires. */
    pthread_mutex_lock(&p->lock);
    if (p->tok_cluster && strcmp(p->tok_cluster, name) == 0 && p->tok_expires - now > 60) {
        token = hoist_kit_xstrdup(p->tok_value);
        expires = p->tok_expires;
    }
    pthread_mutex_unlock(&p->lock);
    if (!token) {
        hoist_sigv4_spec sig;
        int override = 0;
        aws_sigv4(p, "sts", &sig);
        sts = aws_endpoint(p, "sts", &override);
        st = h->eks_token(ctx, &sig, name, override ? sts : NULL, &token);
        if (st != HOIST_OK)
            goto cleanup;
        expires = now + AWS_EKS_TOKEN_TTL;
        pthread_mutex_lock(&p->lock);
        free(p->tok_cluster);
        free(p->tok_value);
        p->tok_cluster = hoist_kit_xstrdup(name);
        p->tok_value = hoist_kit_xstrdup(token);
        p->tok_expires = expires;
        pthread_mutex_unlock(&p->lock);
    }
    out->endpoint = hoist_kit_xstrdup(ep);
    out->ca_pem = cl_ca_pem(h, aws_jstr(c.json, "cluster.certificateAuthority.data"));
    out->token = token;
    out->expires_at = expires;
    token = NULL;
cleanup:
    aws_call_clear(p, &c);
    free(token);
    free(sts);
    free(name);
    free(path);
    return st;
}

const hoist_cluster_ops aws_cluster_ops = {
    .struct_size = sizeof aws_cluster_ops,
    .ensure = cl_ensure,
    .observe = cl_observe,
    .destroy = cl_destroy,
    .credentials = cl_credentials,
};
