/*
 * sim_aws_json.c - the JSON services of AWS in hoist-sim: EKS (REST-JSON,
 * 2017-11-01: clusters and managed node groups) and ECR (JSON 1.1 with
 * X-Amz-Target, 2015-09-21: repositories, lifecycle policies, scanning
 * configuration, authorization tokens).
 *
 * Conventions shared with the other clouds: a cluster's endpoint is
 * sim_cfg.base_url + "/kube/<cluster-id>" (served by sim_kube.c once the
 * cluster is ACTIVE, with aws-iam-authenticator bearer tokens); the sim
 * certificateAuthority.data is the --tls CA (empty without --tls).
 * repositoryUri and proxyEndpoint name the registry behind hoist-sim
 * (sim_registry.c), or with --no-registry the simulator's own host:port as a
 * placeholder.
 */
#include "autoconfig.h"

#include "sim_aws.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void eks_status(json_t *body, const char *st)
{
    json_object_set_new(body, "status", json_string(st));
}

static const sim_kind eks_cluster = {"aws", "eks_cluster", "cluster", "CREATING", "ACTIVE",
                                     "DELETING", eks_status};
static const sim_kind eks_ng = {"aws", "eks_nodegroup", "pool", "CREATING", "ACTIVE", "DELETING",
                                eks_status};
static const sim_kind ecr_repo = {"aws", "ecr_repository", "registry", NULL, NULL, NULL, NULL};

static void json_reply(sim_req *rq, sim_resp *rs, json_t *j)
{
    sim_reply_json(rs, 200, j);
    if (aws_svc_of(rq)->proto == AWS_JSON)
        rs->ctype = "application/x-amz-json-1.1";
}

/* {"k": "v"} tags of the body as "k=v" strings. */
static json_t *eks_tag_strings(json_t *tags)
{
    json_t *a = json_array(), *v;
    const char *k;
    json_object_foreach(tags, k, v) {
        char *s = hoist_xasprintf("%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
        json_array_append_new(a, json_string(s));
        free(s);
    }
    return a;
}

/* Live resource of kind @k named @name (under @parent) in this region. */
static sim_res *eks_by_name(sim_req *rq, const sim_kind *k, const char *name, const char *parent)
{
    for (sim_res *r = sim_res_first(k, parent); r; r = sim_res_next(r, k, parent))
        if (strcmp(r->name, name) == 0 && (!r->region || strcmp(r->region, aws_region(rq)) == 0))
            return r;
    return NULL;
}

static sim_res *eks_find_cluster(sim_req *rq, sim_resp *rs)
{
    const char *name = sim_param(rq, "name");
    sim_res *r = eks_by_name(rq, &eks_cluster, name, NULL);
    if (!r)
        aws_fail(rq, rs, 404, "ResourceNotFoundException", "No cluster found for name: %s.", name);
    return r;
}

/* The resource a retry with the same clientRequestToken created, or NULL. */
static sim_res *eks_token(sim_req *rq, const sim_kind *k, const char *parent)
{
    const char *tok = sim_body_str(rq, "clientRequestToken");
    for (sim_res *r = sim_res_first(k, parent); r && tok; r = sim_res_next(r, k, parent)) {
        const char *t = json_string_value(json_object_get(r->priv, "clientRequestToken"));
        if (t && strcmp(t, tok) == 0)
            return r;
    }
    return NULL;
}

static void eks_create_cluster(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "name");
    const char *role = name ? aws_need(rq, rs, "roleArn") : NULL;
    json_t *vpc = json_object_get(rq->json, "resourcesVpcConfig");
    sim_res *r;
    if (!role)
        return;
    if (strlen(name) > 63) { /* EKS refuses longer node group names */
        aws_fail(rq, rs, 400, "InvalidParameterException",
                 "nodegroupName can't be longer than 63 characters");
        return;
    }
    if ((r = eks_token(rq, &eks_cluster, NULL))) {
        json_reply(rq, rs, json_pack("{s:O}", "cluster", sim_res_render(r)));
        return;
    }
    if (eks_by_name(rq, &eks_cluster, name, NULL)) {
        aws_fail(rq, rs, 409, "ResourceInUseException", "Cluster already exists with name: %s",
                 name);
        return;
    }
    json_t *subnets = json_object_get(vpc, "subnetIds");
    if (json_array_size(subnets) < 2) {
        aws_fail(rq, rs, 400, "InvalidParameterException",
                 "Subnets specified must be in at least two different AZs");
        return;
    }
    json_t *sn = aws_ec2_subnet(json_string_value(json_array_get(subnets, 0)), aws_region(rq));
    const char *ver = sim_body_str(rq, "version");
    char *id = sim_uuid(), *endpoint = hoist_xasprintf("%s/kube/%s", sim_cfg.base_url, id);
    char *arn = hoist_xasprintf("arn:aws:eks:%s:%s:cluster/%s", aws_region(rq), AWS_ACCOUNT, name);
    char *csg = aws_ec2_id("sg"), *ca = sim_tls_ca_b64();
    json_t *tags = json_object_get(rq->json, "tags");
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:f,s:s,s:s,s:s,s:{s:O,s:o,s:s,s:o,s:O,s:O,s:[s]},s:{s:s,s:s},s:{s:s},"
        "s:s,s:s,s:o,s:{s:[{s:[s,s,s,s,s],s:b}]},s:{s:s}}",
        "id", id, "name", name, "arn", arn, "createdAt", (double)sim_wall_ms() / 1000.0,
        "version", ver ? ver : "1.31", "endpoint", endpoint, "roleArn", role,
        "resourcesVpcConfig", "subnetIds", subnets, "securityGroupIds",
        json_object_get(vpc, "securityGroupIds") ? json_incref(json_object_get(vpc, "securityGroupIds"))
                                                 : json_array(),
        "clusterSecurityGroupId", csg, "vpcId",
        sn ? json_incref(json_object_get(sn, "vpcId")) : json_string(""), "endpointPublicAccess",
        json_object_get(vpc, "endpointPublicAccess") ? json_object_get(vpc, "endpointPublicAccess")
                                                     : json_true(),
        "endpointPrivateAccess",
        json_object_get(vpc, "endpointPrivateAccess") ? json_object_get(vpc, "endpointPrivateAccess")
                                                      : json_false(),
        "publicAccessCidrs", "0.0.0.0/0", "kubernetesNetworkConfig", "serviceIpv4Cidr",
        "10.100.0.0/16", "ipFamily", "ipv4", "certificateAuthority", "data", ca, "status",
        "CREATING", "platformVersion", "eks.1", "tags", tags ? json_incref(tags) : json_object(), "logging",
        "clusterLogging", "types", "api", "audit", "authenticator", "controllerManager",
        "scheduler", "enabled", 0, "accessConfig", "authenticationMode", "API_AND_CONFIG_MAP");
    r = sim_res_new(&eks_cluster, id, name, aws_region(rq), NULL, body,
                    eks_tag_strings(json_object_get(body, "tags")));
    sim_kube_cluster_add(&eks_cluster, id); /* serves once the cluster is ACTIVE */
    if (sim_body_str(rq, "clientRequestToken"))
        json_object_set_new(r->priv, "clientRequestToken",
                            json_string(sim_body_str(rq, "clientRequestToken")));
    json_reply(rq, rs, json_pack("{s:O}", "cluster", sim_res_render(r)));
    free(id);
    free(endpoint);
    free(arn);
    free(csg);
    free(ca);
}

/* The Kubernetes API of an EKS cluster takes aws-iam-authenticator tokens. */
static int eks_kube_auth(const sim_res *owner, const char *token)
{
    return aws_eks_token_ok(owner->name, token);
}

static void eks_describe_cluster(sim_req *rq, sim_resp *rs)
{
    sim_res *r = eks_find_cluster(rq, rs);
    if (r)
        json_reply(rq, rs, json_pack("{s:O}", "cluster", sim_res_render(r)));
}

static void eks_list(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *parent,
                     const char *key)
{
    json_t *names = json_array();
    for (sim_res *r = sim_res_first(k, parent); r; r = sim_res_next(r, k, parent))
        if (strcmp(r->region, aws_region(rq)) == 0)
            json_array_append_new(names, json_string(r->name));
    json_reply(rq, rs, json_pack("{s:o}", key, names));
}

static void eks_list_clusters(sim_req *rq, sim_resp *rs)
{
    eks_list(rq, rs, &eks_cluster, NULL, "clusters");
}

static void eks_delete_cluster(sim_req *rq, sim_resp *rs)
{
    sim_res *r = eks_find_cluster(rq, rs);
    if (!r)
        return;
    if (sim_res_first(&eks_ng, r->id)) {
        aws_fail(rq, rs, 409, "ResourceInUseException", "Cluster has nodegroups attached");
        return;
    }
    sim_res_delete(r);
    sim_kube_cluster_remove(r->id);
    json_reply(rq, rs, json_pack("{s:O}", "cluster", sim_res_render(r)));
}

/*
 * EKS's rule for managed nodes (API reference, Issue: NodeCreationFailure,
 * "lack of outbound internet access for the nodes"; user guide, "Nodes fail
 * to join cluster" and "Subnet requirements"): a node's subnet must reach
 * the internet through a NAT gateway, or be a public subnet (internet
 * gateway) that assigns public IPv4 addresses.  The health issue of the
 * first subnet that does not, or NULL.
 */
static json_t *eks_ng_issue(sim_req *rq, json_t *subnets, const char *ng)
{
    json_t *x;
    size_t i;
    json_array_foreach(subnets, i, x) {
        const char *id = json_string_value(x);
        json_t *sn = id ? aws_ec2_subnet(id, aws_region(rq)) : NULL;
        int via = id ? aws_ec2_subnet_egress(id, aws_region(rq)) : 0;
        if (via == 2 || (via == 1 && json_is_true(json_object_get(sn, "mapPublicIpOnLaunch"))))
            continue;
        if (via == 1) {
            char *msg = hoist_xasprintf(
                "One or more Amazon EC2 Subnets of [%s] for node group %s does not "
                "automatically assign public IP addresses to instances launched into it. If "
                "you want your instances to be assigned a public IP address, then you need to "
                "enable auto-assign public IP address for the subnet.", id, ng);
            json_t *is = json_pack("{s:s,s:s,s:[s]}", "code", "Ec2SubnetInvalidConfiguration",
                                   "message", msg, "resourceIds", id);
            free(msg);
            return is;
        }
        char *inst = aws_ec2_id("i");
        json_t *is = json_pack("{s:s,s:s,s:[s]}", "code", "NodeCreationFailure", "message",
                               "Instances failed to join the kubernetes cluster", "resourceIds",
                               inst);
        free(inst);
        return is;
    }
    return NULL;
}

/* The node group as EKS shows it: CREATE_FAILED with its health issue once
   the creation that the rule above condemned has run its course. */
static json_t *eks_ng_render(sim_res *r)
{
    json_t *b = sim_res_render(r), *issue = json_object_get(r->priv, "issue");
    if (issue && !r->delete_ms && strcmp(sim_res_status(r), "ACTIVE") == 0) {
        json_object_set_new(b, "status", json_string("CREATE_FAILED"));
        json_object_set_new(b, "health", json_pack("{s:[O]}", "issues", issue));
    }
    return b;
}

static sim_res *eks_find_ng(sim_req *rq, sim_resp *rs, sim_res *c)
{
    const char *name = sim_param(rq, "nodegroupName");
    sim_res *r = eks_by_name(rq, &eks_ng, name, c->id);
    if (!r)
        aws_fail(rq, rs, 404, "ResourceNotFoundException", "No node group found for name: %s.",
                 name);
    return r;
}

static void eks_create_ng(sim_req *rq, sim_resp *rs)
{
    sim_res *c = eks_find_cluster(rq, rs), *r;
    const char *name = c ? aws_need(rq, rs, "nodegroupName") : NULL;
    const char *role = name ? aws_need(rq, rs, "nodeRole") : NULL;
    json_t *sc = json_object_get(rq->json, "scalingConfig"), *subnets, *types, *tags, *labels;
    if (!role)
        return;
    if ((r = eks_token(rq, &eks_ng, c->id))) {
        json_reply(rq, rs, json_pack("{s:O}", "nodegroup", eks_ng_render(r)));
        return;
    }
    if (strcmp(sim_res_status(c), "ACTIVE") != 0) {
        aws_fail(rq, rs, 400, "InvalidRequestException",
                 "Cluster '%s' is not in ACTIVE status", c->name);
        return;
    }
    if (eks_by_name(rq, &eks_ng, name, c->id)) {
        aws_fail(rq, rs, 409, "ResourceInUseException", "NodeGroup already exists with name %s "
                 "and cluster name %s", name, c->name);
        return;
    }
    subnets = json_object_get(rq->json, "subnets");
    if (!json_array_size(subnets)) {
        aws_fail(rq, rs, 400, "InvalidParameterException", "subnets is required");
        return;
    }
    types = json_object_get(rq->json, "instanceTypes");
    tags = json_object_get(rq->json, "tags");
    labels = json_object_get(rq->json, "labels");
    char *id = sim_uuid();
    char *arn = hoist_xasprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/%s", aws_region(rq),
                                AWS_ACCOUNT, c->name, name, id);
    double now = (double)sim_wall_ms() / 1000.0;
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:O,s:s,s:f,s:f,s:s,s:s,s:{s:I,s:I,s:I},s:o,s:O,s:s,s:s,s:o,s:o,s:{s:[]},"
        "s:o}",
        "nodegroupName", name, "nodegroupArn", arn, "clusterName", c->name, "version",
        json_object_get(c->body, "version"), "releaseVersion", "1.31.0-20250101", "createdAt", now,
        "modifiedAt", now, "status", "CREATING", "capacityType", "ON_DEMAND", "scalingConfig",
        "minSize", (json_int_t)json_integer_value(json_object_get(sc, "minSize")), "maxSize",
        (json_int_t)(json_object_get(sc, "maxSize") ? json_integer_value(json_object_get(sc, "maxSize")) : 2),
        "desiredSize",
        (json_int_t)(json_object_get(sc, "desiredSize") ? json_integer_value(json_object_get(sc, "desiredSize")) : 2),
        "instanceTypes", types ? json_incref(types) : json_pack("[s]", "t3.medium"), "subnets", subnets,
        "amiType", sim_body_str(rq, "amiType") ? sim_body_str(rq, "amiType") : "AL2023_x86_64_STANDARD",
        "nodeRole", role, "labels", labels ? json_incref(labels) : json_object(), "tags",
        tags ? json_incref(tags) : json_object(), "health", "issues", "diskSize",
        json_object_get(rq->json, "diskSize") ? json_incref(json_object_get(rq->json, "diskSize"))
                                              : json_integer(20));
    json_t *issue = eks_ng_issue(rq, subnets, name);
    r = sim_res_new(&eks_ng, id, name, aws_region(rq), c->id, body,
                    eks_tag_strings(json_object_get(body, "tags")));
    if (issue)
        json_object_set_new(r->priv, "issue", issue);
    if (sim_body_str(rq, "clientRequestToken"))
        json_object_set_new(r->priv, "clientRequestToken",
                            json_string(sim_body_str(rq, "clientRequestToken")));
    json_reply(rq, rs, json_pack("{s:O}", "nodegroup", eks_ng_render(r)));
    free(id);
    free(arn);
}

static void eks_describe_ng(sim_req *rq, sim_resp *rs)
{
    sim_res *c = eks_find_cluster(rq, rs), *r = c ? eks_find_ng(rq, rs, c) : NULL;
    if (r)
        json_reply(rq, rs, json_pack("{s:O}", "nodegroup", eks_ng_render(r)));
}

static void eks_list_ngs(sim_req *rq, sim_resp *rs)
{
    sim_res *c = eks_find_cluster(rq, rs);
    if (c)
        eks_list(rq, rs, &eks_ng, c->id, "nodegroups");
}

static void eks_delete_ng(sim_req *rq, sim_resp *rs)
{
    sim_res *c = eks_find_cluster(rq, rs), *r = c ? eks_find_ng(rq, rs, c) : NULL;
    if (!r)
        return;
    sim_res_delete(r);
    json_reply(rq, rs, json_pack("{s:O}", "nodegroup", eks_ng_render(r)));
}

/* ------------------------------------------------------------------ ECR */

/* "127.0.0.1:PORT": the registry host (see the file comment). */
static const char *ecr_host(void)
{
    const char *p = strstr(sim_cfg.base_url, "://");
    if (sim_registry_host())
        return sim_registry_host();
    return p ? p + 3 : sim_cfg.base_url;
}

static sim_res *ecr_find(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "repositoryName");
    sim_res *r = name ? eks_by_name(rq, &ecr_repo, name, NULL) : NULL;
    if (name && !r)
        aws_fail(rq, rs, 400, "RepositoryNotFoundException",
                 "The repository with name '%s' does not exist in the registry with id '%s'",
                 name, AWS_ACCOUNT);
    return r;
}

static void ecr_create(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "repositoryName");
    const char *mut = sim_body_str(rq, "imageTagMutability");
    json_t *scan = json_object_get(rq->json, "imageScanningConfiguration");
    if (!name)
        return;
    if (eks_by_name(rq, &ecr_repo, name, NULL)) {
        aws_fail(rq, rs, 400, "RepositoryAlreadyExistsException",
                 "The repository with name '%s' already exists in the registry with id '%s'",
                 name, AWS_ACCOUNT);
        return;
    }
    char *arn = hoist_xasprintf("arn:aws:ecr:%s:%s:repository/%s", aws_region(rq), AWS_ACCOUNT,
                                name);
    char *uri = hoist_xasprintf("%s/%s", ecr_host(), name);
    json_t *tags = json_object_get(rq->json, "tags");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:f,s:s,s:O,s:{s:s}}", "repositoryArn", arn,
                             "registryId", AWS_ACCOUNT, "repositoryName", name, "repositoryUri",
                             uri, "createdAt", (double)sim_wall_ms() / 1000.0,
                             "imageTagMutability", mut ? mut : "MUTABLE",
                             "imageScanningConfiguration",
                             scan ? scan : json_pack("{s:b}", "scanOnPush", 0),
                             "encryptionConfiguration", "encryptionType", "AES256");
    sim_res *r = sim_res_new(&ecr_repo, name, name, aws_region(rq), NULL, body,
                             aws_tag_strings(tags));
    json_reply(rq, rs, json_pack("{s:O}", "repository", r->body));
    free(arn);
    free(uri);
}

static void ecr_describe(sim_req *rq, sim_resp *rs)
{
    json_t *names = json_object_get(rq->json, "repositoryNames"), *items = json_array(), *n;
    size_t i;
    json_array_foreach(names, i, n) {
        sim_res *r = eks_by_name(rq, &ecr_repo, json_string_value(n), NULL);
        if (!r) {
            aws_fail(rq, rs, 400, "RepositoryNotFoundException",
                     "The repository with name '%s' does not exist in the registry with id '%s'",
                     json_string_value(n), AWS_ACCOUNT);
            json_decref(items);
            return;
        }
        json_array_append(items, r->body);
    }
    if (!json_array_size(names))
        for (sim_res *r = sim_res_first(&ecr_repo, NULL); r; r = sim_res_next(r, &ecr_repo, NULL))
            if (strcmp(r->region, aws_region(rq)) == 0)
                json_array_append(items, r->body);
    json_reply(rq, rs, json_pack("{s:o}", "repositories", items));
}

static void ecr_delete(sim_req *rq, sim_resp *rs)
{
    sim_res *r = ecr_find(rq, rs);
    if (!r)
        return;
    json_reply(rq, rs, json_pack("{s:O}", "repository", r->body));
    sim_res_delete(r);
}

static void ecr_put_lifecycle(sim_req *rq, sim_resp *rs)
{
    sim_res *r = ecr_find(rq, rs);
    const char *text = r ? aws_need(rq, rs, "lifecyclePolicyText") : NULL;
    if (!text)
        return;
    json_t *doc = json_loads(text, 0, NULL);
    int ok = json_is_array(json_object_get(doc, "rules"));
    json_decref(doc);
    if (!ok) {
        aws_fail(rq, rs, 400, "InvalidParameterException",
                 "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                 "'Lifecycle policy validation failure: a JSON object with \"rules\" is required'");
        return;
    }
    json_object_set_new(r->priv, "lifecyclePolicyText", json_string(text));
    json_reply(rq, rs, json_pack("{s:s,s:s,s:s}", "registryId", AWS_ACCOUNT, "repositoryName",
                                 r->name, "lifecyclePolicyText", text));
}

static void ecr_get_lifecycle(sim_req *rq, sim_resp *rs)
{
    sim_res *r = ecr_find(rq, rs);
    json_t *text = r ? json_object_get(r->priv, "lifecyclePolicyText") : NULL;
    if (!r)
        return;
    if (!text) {
        aws_fail(rq, rs, 400, "LifecyclePolicyNotFoundException",
                 "Lifecycle policy does not exist for the repository with name '%s' in the "
                 "registry with id '%s'", r->name, AWS_ACCOUNT);
        return;
    }
    json_reply(rq, rs, json_pack("{s:s,s:s,s:O,s:f}", "registryId", AWS_ACCOUNT,
                                 "repositoryName", r->name, "lifecyclePolicyText", text,
                                 "lastEvaluatedAt", (double)sim_wall_ms() / 1000.0));
}

static void ecr_put_scanning(sim_req *rq, sim_resp *rs)
{
    sim_res *r = ecr_find(rq, rs);
    json_t *scan = json_object_get(rq->json, "imageScanningConfiguration");
    if (!r)
        return;
    if (!json_is_object(scan)) {
        aws_fail(rq, rs, 400, "InvalidParameterException", "imageScanningConfiguration is required");
        return;
    }
    json_object_set(r->body, "imageScanningConfiguration", scan);
    json_reply(rq, rs, json_pack("{s:s,s:s,s:O}", "registryId", AWS_ACCOUNT, "repositoryName",
                                 r->name, "imageScanningConfiguration", scan));
}

static void ecr_auth_token(sim_req *rq, sim_resp *rs)
{
    /* with a registry behind it the token is its AWS user's real login, else a placeholder */
    char *b64 = sim_registry_auth_b64("aws"), *ep = hoist_xasprintf("http://%s", ecr_host());
    if (!b64) {
        char *pw = sim_uuid(), *cred = hoist_xasprintf("AWS:hoist-sim-ecr-%s", pw);
        b64 = sim_base64(cred, strlen(cred));
        free(pw);
        free(cred);
    }
    json_reply(rq, rs, json_pack("{s:[{s:s,s:f,s:s}]}", "authorizationData",
                                 "authorizationToken", b64, "expiresAt",
                                 (double)sim_wall_ms() / 1000.0 + 12 * 3600, "proxyEndpoint", ep));
    free(b64);
    free(ep);
}

void sim_aws_json_register(void)
{
    static const struct {
        const char *action;
        sim_handler h;
        int mutating;
    } ecr[] = {
        {"CreateRepository", ecr_create, 1},
        {"DescribeRepositories", ecr_describe, 0},
        {"DeleteRepository", ecr_delete, 1},
        {"PutLifecyclePolicy", ecr_put_lifecycle, 1},
        {"GetLifecyclePolicy", ecr_get_lifecycle, 0},
        {"PutImageScanningConfiguration", ecr_put_scanning, 1},
        {"GetAuthorizationToken", ecr_auth_token, 0},
    };
    sim_kind_add(&eks_cluster);
    sim_kube_auth_hook("aws", eks_kube_auth);
    sim_kind_add(&eks_ng);
    sim_kind_add(&ecr_repo);
    aws_rest(&aws_eks, "POST", "/clusters", eks_create_cluster, 1);
    aws_rest(&aws_eks, "GET", "/clusters", eks_list_clusters, 0);
    aws_rest(&aws_eks, "GET", "/clusters/{name}", eks_describe_cluster, 0);
    aws_rest(&aws_eks, "DELETE", "/clusters/{name}", eks_delete_cluster, 1);
    aws_rest(&aws_eks, "POST", "/clusters/{name}/node-groups", eks_create_ng, 1);
    aws_rest(&aws_eks, "GET", "/clusters/{name}/node-groups", eks_list_ngs, 0);
    aws_rest(&aws_eks, "GET", "/clusters/{name}/node-groups/{nodegroupName}", eks_describe_ng, 0);
    aws_rest(&aws_eks, "DELETE", "/clusters/{name}/node-groups/{nodegroupName}", eks_delete_ng, 1);
    for (size_t i = 0; i < sizeof ecr / sizeof ecr[0]; i++)
        aws_op(&aws_ecr, ecr[i].action, ecr[i].h, ecr[i].mutating);
}
