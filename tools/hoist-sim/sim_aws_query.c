/*
 * sim_aws_query.c - the AWS Query services of hoist-sim other than EC2:
 * IAM (roles and their managed policies; AWS's documented IAM Query API,
 * 2010-05-08), STS (GetCallerIdentity) and RDS (DB subnet groups and DB
 * instances, 2014-10-31 model).  Bodies use the model's member names, so a
 * reply is the body converted to XML.
 */
#include "autoconfig.h"

#include "sim_aws.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ STS */

static void sts_caller(sim_req *rq, sim_resp *rs)
{
    aws_reply(rq, rs, json_pack("{s:s,s:s,s:s}", "UserId", "AIDAHOISTSIMULATOR01", "Account",
                                AWS_ACCOUNT, "Arn", "arn:aws:iam::" AWS_ACCOUNT ":user/hoist-sim"));
}

/* Tags.member.N / Tags.Tag.N -> [{Key, Value}] */
static json_t *q_tags(sim_req *rq, const char *prefix)
{
    json_t *a = json_array();
    const char *k;
    for (int i = 1; (k = aws_p(rq, "%s.%d.Key", prefix, i)); i++) {
        const char *v = aws_p(rq, "%s.%d.Value", prefix, i);
        json_array_append_new(a, json_pack("{s:s,s:s}", "Key", k, "Value", v ? v : ""));
    }
    return a;
}

/* Merge {Key,Value} @add into @set (replacing equal keys). */
static void q_tags_merge(json_t *set, json_t *add)
{
    json_t *t, *c;
    size_t i, j;
    json_array_foreach(add, i, t) {
        int found = 0;
        json_array_foreach(set, j, c)
            if (json_equal(json_object_get(c, "Key"), json_object_get(t, "Key"))) {
                json_object_set(c, "Value", json_object_get(t, "Value"));
                found = 1;
            }
        if (!found)
            json_array_append(set, t);
    }
}

/* ------------------------------------------------------------------ IAM */

static const sim_kind iam_role = {"aws", "iam_role", "role", NULL, NULL, NULL, NULL};

static sim_res *iam_find(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "RoleName");
    sim_res *r = name ? sim_res_get(&iam_role, name) : NULL;
    if (name && (!r || r->delete_ms)) {
        aws_fail(rq, rs, 404, "NoSuchEntity", "The role with name %s cannot be found.", name);
        r = NULL;
    }
    return r;
}

static void iam_create_role(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "RoleName"), *path = aws_p(rq, "Path");
    const char *doc = name ? aws_need(rq, rs, "AssumeRolePolicyDocument") : NULL;
    const char *desc = aws_p(rq, "Description");
    char ts[32];
    if (!doc)
        return;
    if (strlen(name) > 64) { /* IAM's RoleName limit */
        aws_fail(rq, rs, 400, "ValidationError",
                 "1 validation error detected: Value '%s' at 'roleName' failed to satisfy "
                 "constraint: Member must have length less than or equal to 64", name);
        return;
    }
    if (sim_res_get(&iam_role, name)) {
        aws_fail(rq, rs, 409, "EntityAlreadyExists", "Role with name %s already exists.", name);
        return;
    }
    json_t *d = json_loads(doc, 0, NULL);
    json_decref(d);
    if (!d) {
        aws_fail(rq, rs, 400, "MalformedPolicyDocument", "This policy contains invalid Json");
        return;
    }
    if (!path)
        path = "/";
    char *rid = aws_ec2_id("AROA"), *arn = hoist_xasprintf("arn:aws:iam::%s:role%s%s",
                                                          AWS_ACCOUNT, path, name);
    for (char *p = rid; *p; p++)
        *p = *p == '-' ? 'X' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    json_t *tags = q_tags(rq, "Tags.member");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:O}", "Path", path, "RoleName", name,
                             "RoleId", rid, "Arn", arn, "CreateDate",
                             sim_rfc3339(sim_wall_ms(), ts), "AssumeRolePolicyDocument", doc,
                             "MaxSessionDuration", 3600, "Tags", tags);
    if (desc)
        json_object_set_new(body, "Description", json_string(desc));
    sim_res *r = sim_res_new(&iam_role, name, name, NULL, NULL, body, aws_tag_strings(tags));
    json_object_set_new(r->priv, "policies", json_array());
    aws_reply(rq, rs, json_pack("{s:O}", "Role", r->body));
    json_decref(tags);
    free(rid);
    free(arn);
}

static void iam_get_role(sim_req *rq, sim_resp *rs)
{
    sim_res *r = iam_find(rq, rs);
    if (r)
        aws_reply(rq, rs, json_pack("{s:O}", "Role", r->body));
}

static void iam_delete_role(sim_req *rq, sim_resp *rs)
{
    sim_res *r = iam_find(rq, rs);
    if (!r)
        return;
    if (json_array_size(json_object_get(r->priv, "policies"))) {
        aws_fail(rq, rs, 409, "DeleteConflict", "Cannot delete entity, must detach all policies first.");
        return;
    }
    sim_res_delete(r);
    aws_reply(rq, rs, json_object());
}

/* Attach (@attach) or detach the managed policy PolicyArn. */
static void iam_policy(sim_req *rq, sim_resp *rs, int attach)
{
    sim_res *r = iam_find(rq, rs);
    const char *arn = r ? aws_need(rq, rs, "PolicyArn") : NULL;
    json_t *pol, *p;
    size_t i;
    if (!arn)
        return;
    if (strncmp(arn, "arn:aws:iam::", 13) != 0 || !strstr(arn, ":policy/")) {
        aws_fail(rq, rs, 400, "InvalidInput", "ARN %s is not valid.", arn);
        return;
    }
    pol = json_object_get(r->priv, "policies");
    json_array_foreach(pol, i, p)
        if (strcmp(json_string_value(json_object_get(p, "PolicyArn")), arn) == 0)
            break;
    if (attach && i == json_array_size(pol))
        json_array_append_new(pol, json_pack("{s:s,s:s}", "PolicyName", strrchr(arn, '/') + 1,
                                             "PolicyArn", arn));
    else if (!attach && i < json_array_size(pol))
        json_array_remove(pol, i);
    else if (!attach) {
        aws_fail(rq, rs, 404, "NoSuchEntity", "Policy %s was not found.", arn);
        return;
    }
    aws_reply(rq, rs, json_object());
}

static void iam_attach(sim_req *rq, sim_resp *rs)
{
    iam_policy(rq, rs, 1);
}

static void iam_detach(sim_req *rq, sim_resp *rs)
{
    iam_policy(rq, rs, 0);
}

static void iam_list_attached(sim_req *rq, sim_resp *rs)
{
    sim_res *r = iam_find(rq, rs);
    if (r)
        aws_reply(rq, rs, json_pack("{s:O,s:b}", "AttachedPolicies",
                                    json_object_get(r->priv, "policies"), "IsTruncated", 0));
}

static void iam_tag_role(sim_req *rq, sim_resp *rs)
{
    sim_res *r = iam_find(rq, rs);
    if (!r)
        return;
    json_t *tags = q_tags(rq, "Tags.member");
    q_tags_merge(json_object_get(r->body, "Tags"), tags);
    json_decref(r->tags);
    r->tags = aws_tag_strings(json_object_get(r->body, "Tags"));
    json_decref(tags);
    aws_reply(rq, rs, json_object());
}

/* ------------------------------------------------------------------ RDS */

static void rds_status(json_t *body, const char *st)
{
    json_object_set_new(body, "DBInstanceStatus", json_string(st));
}

static const sim_kind rds_sng = {"aws", "rds_db_subnet_group", "database", NULL, NULL, NULL, NULL};
static const sim_kind rds_inst = {"aws", "rds_db_instance", "database", "creating", "available",
                                  "deleting", rds_status};

static sim_res *rds_find(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *param,
                         const char *id)
{
    sim_res *r = id ? sim_res_get(k, id) : NULL;
    if (!id)
        aws_need(rq, rs, param);
    else if (!r || strcmp(r->region, aws_region(rq)) != 0) {
        if (k == &rds_inst)
            aws_fail(rq, rs, 404, "DBInstanceNotFound", "DBInstance %s not found.", id);
        else
            aws_fail(rq, rs, 404, "DBSubnetGroupNotFoundFault", "DBSubnetGroup %s not found.",
                     id);
        r = NULL;
    }
    return r;
}

static void rds_create_sng(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "DBSubnetGroupName");
    const char *desc = name ? aws_need(rq, rs, "DBSubnetGroupDescription") : NULL;
    json_t *ids, *subnets, *id, *azs;
    const char *vpc = NULL;
    size_t i;
    if (!desc)
        return;
    if (sim_res_get(&rds_sng, name)) {
        aws_fail(rq, rs, 400, "DBSubnetGroupAlreadyExists",
                 "The DB subnet group '%s' already exists.", name);
        return;
    }
    ids = aws_plist(rq, "SubnetIds.SubnetIdentifier");
    subnets = json_array();
    azs = json_object();
    json_array_foreach(ids, i, id) {
        json_t *s = aws_ec2_subnet(json_string_value(id), aws_region(rq));
        const char *sv = s ? json_string_value(json_object_get(s, "vpcId")) : NULL;
        if (!s || (vpc && strcmp(vpc, sv) != 0)) {
            aws_fail(rq, rs, 400, "InvalidSubnet",
                     s ? "Subnets must all be in the same VPC (%s)"
                       : "The subnet %s does not exist.", s ? vpc : json_string_value(id));
            goto cleanup;
        }
        vpc = sv;
        json_object_set(azs, json_string_value(json_object_get(s, "availabilityZone")), json_true());
        json_array_append_new(subnets,
                              json_pack("{s:O,s:{s:O},s:{},s:s}", "SubnetIdentifier", id,
                                        "SubnetAvailabilityZone", "Name",
                                        json_object_get(s, "availabilityZone"), "SubnetOutpost",
                                        "SubnetStatus", "Active"));
    }
    if (json_object_size(azs) < 2) {
        aws_fail(rq, rs, 400, "DBSubnetGroupDoesNotCoverEnoughAZs",
                 "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                 "Current AZ coverage: %zu. Add subnets to cover at least 2 AZs.",
                 json_object_size(azs));
        goto cleanup;
    }
    char *arn = hoist_xasprintf("arn:aws:rds:%s:%s:subgrp:%s", aws_region(rq), AWS_ACCOUNT, name);
    json_t *tags = q_tags(rq, "Tags.Tag");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:[s]}", "DBSubnetGroupName", name,
                             "DBSubnetGroupDescription", desc, "VpcId", vpc, "SubnetGroupStatus",
                             "Complete", "Subnets", subnets, "DBSubnetGroupArn", arn,
                             "SupportedNetworkTypes", "IPV4");
    sim_res *r = sim_res_new(&rds_sng, name, name, aws_region(rq), NULL, body,
                             aws_tag_strings(tags));
    json_object_set_new(r->priv, "tags", tags);
    aws_reply(rq, rs, json_pack("{s:O}", "DBSubnetGroup", r->body));
    free(arn);
cleanup:
    json_decref(ids);
    json_decref(subnets);
    json_decref(azs);
}

/* Describe*: one by @param, or all of the region. */
static void rds_describe(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *param,
                         const char *list)
{
    const char *id = aws_p(rq, "%s", param);
    json_t *items = json_array();
    if (id) {
        sim_res *r = rds_find(rq, rs, k, param, id);
        if (!r) {
            json_decref(items);
            return;
        }
        json_array_append(items, sim_res_render(r));
    } else {
        for (sim_res *r = sim_res_first(k, NULL); r; r = sim_res_next(r, k, NULL))
            if (strcmp(r->region, aws_region(rq)) == 0)
                json_array_append(items, sim_res_render(r));
    }
    aws_reply(rq, rs, json_pack("{s:o}", list, items));
}

static void rds_describe_sngs(sim_req *rq, sim_resp *rs)
{
    rds_describe(rq, rs, &rds_sng, "DBSubnetGroupName", "DBSubnetGroups");
}

static void rds_delete_sng(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_p(rq, "DBSubnetGroupName");
    sim_res *g = rds_find(rq, rs, &rds_sng, "DBSubnetGroupName", name);
    if (!g)
        return;
    for (sim_res *r = sim_res_first(&rds_inst, NULL); r; r = sim_res_next(r, &rds_inst, NULL))
        if (r->parent && strcmp(r->parent, g->id) == 0) {
            aws_fail(rq, rs, 400, "InvalidDBSubnetGroupStateFault",
                     "Cannot delete the subnet group '%s' because at least one database "
                     "instance: %s is still using it.", g->id, r->id);
            return;
        }
    sim_res_delete(g);
    aws_reply(rq, rs, json_object());
}

/* The status, with the stop/start states the store's machine does not know. */
static json_t *rds_render(sim_res *r)
{
    json_t *b = sim_res_render(r);
    long long stop = json_integer_value(json_object_get(r->priv, "stop_ms"));
    const char *st = sim_res_status(r);
    if (r->delete_ms)
        return b;
    if (stop)
        st = sim_wall_ms() < stop ? "stopping" : "stopped";
    else if (json_is_true(json_object_get(r->priv, "starting")) && strcmp(st, "creating") == 0)
        st = "starting";
    rds_status(b, st);
    if (strcmp(st, "creating") == 0)
        json_object_del(b, "Endpoint"); /* AWS gives the endpoint once the instance exists */
    else
        json_object_set(b, "Endpoint", json_object_get(r->priv, "endpoint"));
    return b;
}

static void rds_reply_inst(sim_req *rq, sim_resp *rs, sim_res *r)
{
    aws_reply(rq, rs, json_pack("{s:O}", "DBInstance", rds_render(r)));
}

static void rds_create_inst(sim_req *rq, sim_resp *rs)
{
    static const char *const need[] = {"DBInstanceIdentifier", "DBInstanceClass", "Engine",
                                       "MasterUsername", "MasterUserPassword", NULL};
    const char *id = aws_p(rq, "DBInstanceIdentifier"), *engine = aws_p(rq, "Engine");
    const char *sng = aws_p(rq, "DBSubnetGroupName"), *port = aws_p(rq, "Port");
    const char *storage = aws_p(rq, "AllocatedStorage"), *ver = aws_p(rq, "EngineVersion");
    const char *dbname = aws_p(rq, "DBName");
    sim_res *g = NULL;
    char ts[32];
    for (const char *const *n = need; *n; n++)
        if (!aws_need(rq, rs, *n))
            return;
    /* RDS identifiers: 1-63 letters, digits or hyphens, a letter first, no
       trailing hyphen and no two in a row. */
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t idlen = strlen(id);
    int id_ok = idlen >= 1 && idlen <= 63 && strchr(letters, id[0]) && id[idlen - 1] != '-' &&
                !strstr(id, "--");
    for (size_t i = 0; id_ok && i < idlen; i++)
        id_ok = strchr(letters, id[i]) || (id[i] >= '0' && id[i] <= '9') || id[i] == '-';
    if (!id_ok) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must "
                 "begin with a letter; must contain only ASCII letters, digits, and hyphens; and "
                 "must not end with a hyphen or contain two consecutive hyphens.");
        return;
    }
    if (sim_res_get(&rds_inst, id)) {
        aws_fail(rq, rs, 400, "DBInstanceAlreadyExists", "DB instance already exists");
        return;
    }
    int pg = strstr(engine, "postgres") != NULL, my = strstr(engine, "mysql") || strstr(engine, "maria");
    if (!pg && !my) {
        aws_fail(rq, rs, 400, "InvalidParameterValue", "Invalid DB engine: %s", engine);
        return;
    }
    if (sng && !(g = rds_find(rq, rs, &rds_sng, "DBSubnetGroupName", sng)))
        return;
    long p = port ? atol(port) : pg ? 5432 : 3306;
    char *host = hoist_xasprintf("%s.c0hoistsim0.%s.rds.amazonaws.com", id, aws_region(rq));
    char *arn = hoist_xasprintf("arn:aws:rds:%s:%s:db:%s", aws_region(rq), AWS_ACCOUNT, id);
    char *dbi = aws_ec2_id("db");
    json_t *sgs = aws_plist(rq, "VpcSecurityGroupIds.VpcSecurityGroupId"), *sgm = json_array(), *x;
    size_t i;
    json_array_foreach(sgs, i, x)
        json_array_append_new(sgm, json_pack("{s:O,s:s}", "VpcSecurityGroupId", x, "Status",
                                             "active"));
    json_t *tags = q_tags(rq, "Tags.Tag");
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:o,s:s,s:s,s:b,s:b,s:s,s:s,s:O,s:b}",
        "DBInstanceIdentifier", id, "DBInstanceClass", aws_p(rq, "DBInstanceClass"), "Engine",
        engine, "DBInstanceStatus", "creating", "MasterUsername", aws_p(rq, "MasterUsername"),
        "DBName", dbname ? dbname : "", "AllocatedStorage",
        (json_int_t)(storage ? atoll(storage) : 20), "InstanceCreateTime",
        sim_rfc3339(sim_wall_ms(), ts), "BackupRetentionPeriod", 1, "VpcSecurityGroups", sgm,
        "EngineVersion", ver ? ver : pg ? "16.3" : "8.0.36", "StorageType", "gp2", "MultiAZ", 0,
        "PubliclyAccessible", 0, "DBInstanceArn", arn, "DbiResourceId", dbi, "TagList", tags,
        "DeletionProtection", 0);
    if (!dbname)
        json_object_del(body, "DBName");
    if (g)
        json_object_set(body, "DBSubnetGroup", g->body);
    sim_res *r = sim_res_new(&rds_inst, id, id, aws_region(rq), g ? g->id : NULL, body,
                             aws_tag_strings(tags));
    json_object_set_new(r->priv, "endpoint", json_pack("{s:s,s:i,s:s}", "Address", host, "Port",
                                                       (int)p, "HostedZoneId", "Z2R2ITUGPM61AM"));
    rds_reply_inst(rq, rs, r);
    json_decref(sgs);
    json_decref(tags);
    free(host);
    free(arn);
    free(dbi);
}

static void rds_describe_insts(sim_req *rq, sim_resp *rs)
{
    const char *id = aws_p(rq, "DBInstanceIdentifier");
    json_t *items = json_array();
    for (sim_res *r = sim_res_first(&rds_inst, NULL); r; r = sim_res_next(r, &rds_inst, NULL))
        if (strcmp(r->region, aws_region(rq)) == 0 && (!id || strcmp(id, r->id) == 0))
            json_array_append(items, rds_render(r));
    if (id && !json_array_size(items)) {
        json_decref(items);
        aws_fail(rq, rs, 404, "DBInstanceNotFound", "DBInstance %s not found.", id);
        return;
    }
    aws_reply(rq, rs, json_pack("{s:o}", "DBInstances", items));
}

/* The instance named by DBInstanceIdentifier in state @want (NULL: any). */
static sim_res *rds_inst_in(sim_req *rq, sim_resp *rs, const char *want)
{
    sim_res *r = rds_find(rq, rs, &rds_inst, "DBInstanceIdentifier",
                          aws_p(rq, "DBInstanceIdentifier"));
    if (!r)
        return NULL;
    const char *st = json_string_value(json_object_get(rds_render(r), "DBInstanceStatus"));
    if ((want && strcmp(st, want) != 0) || (!want && strcmp(st, "deleting") == 0)) {
        aws_fail(rq, rs, 400, "InvalidDBInstanceState", "Instance %s is not in %s state.", r->id,
                 want ? want : "a modifiable");
        return NULL;
    }
    return r;
}

static void rds_modify_inst(sim_req *rq, sim_resp *rs)
{
    sim_res *r = rds_inst_in(rq, rs, NULL);
    const char *cls, *st;
    if (!r)
        return;
    if ((cls = aws_p(rq, "DBInstanceClass")))
        json_object_set_new(r->body, "DBInstanceClass", json_string(cls));
    if ((st = aws_p(rq, "AllocatedStorage")))
        json_object_set_new(r->body, "AllocatedStorage", json_integer(atoll(st)));
    if ((st = aws_p(rq, "EngineVersion")))
        json_object_set_new(r->body, "EngineVersion", json_string(st));
    rds_reply_inst(rq, rs, r);
}

static void rds_stop_inst(sim_req *rq, sim_resp *rs)
{
    sim_res *r = rds_inst_in(rq, rs, "available");
    if (!r)
        return;
    json_object_set_new(r->priv, "stop_ms", json_integer(sim_wall_ms() + sim_delay_ms("database")));
    rds_reply_inst(rq, rs, r);
}

static void rds_start_inst(sim_req *rq, sim_resp *rs)
{
    sim_res *r = rds_inst_in(rq, rs, "stopped");
    if (!r)
        return;
    json_object_del(r->priv, "stop_ms");
    json_object_set_new(r->priv, "starting", json_true());
    sim_res_restart(r);
    rds_reply_inst(rq, rs, r);
}

static void rds_delete_inst(sim_req *rq, sim_resp *rs)
{
    sim_res *r = rds_inst_in(rq, rs, NULL);
    const char *skip = aws_p(rq, "SkipFinalSnapshot");
    if (!r)
        return;
    if ((!skip || strcmp(skip, "true") != 0) && !aws_p(rq, "FinalDBSnapshotIdentifier")) {
        aws_fail(rq, rs, 400, "InvalidParameterCombination",
                 "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.");
        return;
    }
    sim_res_delete(r);
    rds_status(r->body, "deleting");
    aws_reply(rq, rs, json_pack("{s:O}", "DBInstance", r->body));
}

void sim_aws_query_register(void)
{
    static const struct {
        const aws_svc *s;
        const char *action;
        sim_handler h;
        int mutating;
    } ops[] = {
        {&aws_sts, "GetCallerIdentity", sts_caller, 0},
        {&aws_iam, "CreateRole", iam_create_role, 1},
        {&aws_iam, "GetRole", iam_get_role, 0},
        {&aws_iam, "DeleteRole", iam_delete_role, 1},
        {&aws_iam, "AttachRolePolicy", iam_attach, 1},
        {&aws_iam, "DetachRolePolicy", iam_detach, 1},
        {&aws_iam, "ListAttachedRolePolicies", iam_list_attached, 0},
        {&aws_iam, "TagRole", iam_tag_role, 1},
        {&aws_rds, "CreateDBSubnetGroup", rds_create_sng, 1},
        {&aws_rds, "DescribeDBSubnetGroups", rds_describe_sngs, 0},
        {&aws_rds, "DeleteDBSubnetGroup", rds_delete_sng, 1},
        {&aws_rds, "CreateDBInstance", rds_create_inst, 1},
        {&aws_rds, "DescribeDBInstances", rds_describe_insts, 0},
        {&aws_rds, "ModifyDBInstance", rds_modify_inst, 1},
        {&aws_rds, "StopDBInstance", rds_stop_inst, 1},
        {&aws_rds, "StartDBInstance", rds_start_inst, 1},
        {&aws_rds, "DeleteDBInstance", rds_delete_inst, 1},
    };
    sim_kind_add(&iam_role);
    sim_kind_add(&rds_sng);
    sim_kind_add(&rds_inst);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        aws_op(ops[i].s, ops[i].action, ops[i].h, ops[i].mutating);
}
