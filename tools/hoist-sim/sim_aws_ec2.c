/*
 * sim_aws_ec2.c - EC2 (Query dialect, API 2016-11-15) in hoist-sim: VPCs,
 * subnets, internet gateways, NAT gateways, Elastic IP addresses, route
 * tables, security groups, tags and availability zones.  Bodies are kept under the XML names of the botocore
 * model (vpcId, tagSet, ...) so a reply is the body converted to XML.
 * A VPC comes with its default security group and main route table, as in
 * AWS, and cannot be deleted while other dependents exist.
 *
 * NAT gateways follow AWS's states: pending -> available (delay "nat"),
 * failed when the VPC has no internet gateway, and after DeleteNatGateway
 * deleting -> deleted (shown for one more delay before they vanish).  Routes
 * to a NAT gateway that is not available are "blackhole"; an Elastic IP
 * cannot be released, nor the internet gateway detached, while a NAT
 * gateway still uses them.
 */
#include "autoconfig.h"

#include "sim_aws.h"
#include "util.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ec2_state(json_t *body, const char *st)
{
    json_object_set_new(body, "state", json_string(st));
}

static const sim_kind ec2_vpc = {"aws", "ec2_vpc", "vpc", "pending", "available", NULL, ec2_state};
static const sim_kind ec2_subnet = {"aws", "ec2_subnet", "vpc", "pending", "available", NULL,
                                    ec2_state};
static const sim_kind ec2_igw = {"aws", "ec2_internet_gateway", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind ec2_rtb = {"aws", "ec2_route_table", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind ec2_sg = {"aws", "ec2_security_group", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind ec2_eip = {"aws", "ec2_address", "vpc", NULL, NULL, NULL, NULL};
static const sim_kind ec2_nat = {"aws", "ec2_nat_gateway", "nat", "pending", "available",
                                 "deleting", ec2_state};

/* What tells the EC2 resource types apart in ids, errors, tags and filters. */
typedef struct ec2_type {
    const sim_kind *kind;
    const char *prefix, *rtype, *set, *idfield, *nf_code, *nf_noun;
    const char *filters; /* accepted Filter names, blank-separated ("tag:*" always) */
} ec2_type;

static const ec2_type ec2_types[] = {
    {&ec2_vpc, "vpc", "vpc", "vpcSet", "vpcId", "InvalidVpcID.NotFound", "vpc ID",
     "vpc-id cidr cidr-block state is-default owner-id dhcp-options-id"},
    {&ec2_subnet, "subnet", "subnet", "subnetSet", "subnetId", "InvalidSubnetID.NotFound",
     "subnet ID",
     "subnet-id vpc-id cidr-block state availability-zone availability-zone-id default-for-az "
     "owner-id"},
    {&ec2_igw, "igw", "internet-gateway", "internetGatewaySet", "internetGatewayId",
     "InvalidInternetGatewayID.NotFound", "internetGateway ID",
     "internet-gateway-id attachment.vpc-id attachment.state owner-id"},
    {&ec2_rtb, "rtb", "route-table", "routeTableSet", "routeTableId",
     "InvalidRouteTableID.NotFound", "routeTable ID",
     "route-table-id vpc-id association.main association.subnet-id "
     "association.route-table-association-id route.gateway-id route.nat-gateway-id "
     "route.destination-cidr-block route.state owner-id"},
    {&ec2_sg, "sg", "security-group", "securityGroupInfo", "groupId", "InvalidGroup.NotFound",
     "security group", "group-id group-name vpc-id description owner-id"},
    {&ec2_eip, "eipalloc", "elastic-ip", "addressesSet", "allocationId",
     "InvalidAllocationID.NotFound", "allocation ID",
     "allocation-id association-id domain public-ip network-border-group"},
    {&ec2_nat, "nat", "natgateway", "natGatewaySet", "natGatewayId", "NatGatewayNotFound",
     "NAT gateway", "nat-gateway-id state subnet-id vpc-id"},
};
#define EC2_NTYPES (sizeof ec2_types / sizeof ec2_types[0])

static const ec2_type *ec2_type_of(const sim_kind *k)
{
    for (size_t i = 0; i < EC2_NTYPES; i++)
        if (ec2_types[i].kind == k)
            return &ec2_types[i];
    return NULL;
}

/* ------------------------------------------------------------------ helpers */

static json_t *ec2_ok(void)
{
    return json_pack("{s:b}", "return", 1);
}

/* Tag.N.Key/Value under @prefix ("Tag" or "TagSpecification.1.Tag") as a tagSet. */
static json_t *ec2_tags_at(sim_req *rq, const char *prefix)
{
    json_t *set = json_array();
    const char *k;
    for (int i = 1; (k = aws_p(rq, "%s.%d.Key", prefix, i)); i++) {
        const char *v = aws_p(rq, "%s.%d.Value", prefix, i);
        json_array_append_new(set, json_pack("{s:s,s:s}", "key", k, "value", v ? v : ""));
    }
    return set;
}

/* The tags of TagSpecifications for resource type @rtype. */
static json_t *ec2_tagspec(sim_req *rq, const char *rtype)
{
    const char *t;
    for (int i = 1; (t = aws_p(rq, "TagSpecification.%d.ResourceType", i)); i++)
        if (strcmp(t, rtype) == 0) {
            char *pre = hoist_xasprintf("TagSpecification.%d.Tag", i);
            json_t *set = ec2_tags_at(rq, pre);
            free(pre);
            return set;
        }
    return json_array();
}

/* Set or replace @set's tags in @r (body tagSet and store tags). */
static void ec2_tags_merge(sim_res *r, json_t *set)
{
    json_t *cur = json_object_get(r->body, "tagSet"), *t, *c;
    size_t i, j;
    json_array_foreach(set, i, t) {
        int found = 0;
        json_array_foreach(cur, j, c)
            if (json_equal(json_object_get(c, "key"), json_object_get(t, "key"))) {
                json_object_set(c, "value", json_object_get(t, "value"));
                found = 1;
            }
        if (!found)
            json_array_append(cur, t);
    }
    json_decref(r->tags);
    r->tags = aws_tag_strings(cur);
}

static sim_res *ec2_new(sim_req *rq, const sim_kind *k, const char *id, const char *parent,
                        json_t *body, json_t *tagset)
{
    json_object_set_new(body, "ownerId", json_string(AWS_ACCOUNT));
    json_object_set_new(body, "tagSet", json_array());
    const char *name = id;
    json_t *t;
    size_t i;
    json_array_foreach(tagset, i, t)
        if (strcmp(json_string_value(json_object_get(t, "key")), "Name") == 0)
            name = json_string_value(json_object_get(t, "value"));
    sim_res *r = sim_res_new(k, id, name, aws_region(rq), parent, body, NULL);
    ec2_tags_merge(r, tagset);
    json_decref(tagset);
    return r;
}

/* A live resource of kind @k with id @id in this region, else the EC2 error. */
static sim_res *ec2_find(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *id)
{
    const ec2_type *t = ec2_type_of(k);
    sim_res *r = id ? sim_res_get(k, id) : NULL;
    if (!id)
        aws_fail(rq, rs, 400, "MissingParameter", "The request must contain the parameter %s",
                 t->idfield);
    else if (!r || (r->delete_ms && !k->deleting) || strcmp(r->region, aws_region(rq)) != 0) {
        aws_fail(rq, rs, 400, t->nf_code, "The %s '%s' does not exist", t->nf_noun, id);
        r = NULL;
    }
    return r;
}

/* Parse "a.b.c.d/n"; 0 on success. */
static int ec2_cidr(const char *s, unsigned *addr, int *bits)
{
    char ip[32];
    const char *slash = s ? strchr(s, '/') : NULL;
    struct in_addr in;
    char *end;
    if (!slash || (size_t)(slash - s) >= sizeof ip)
        return -1;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    long n = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &in) != 1 || *end || end == slash + 1 || n < 0 || n > 32)
        return -1;
    *addr = ntohl(in.s_addr);
    *bits = (int)n;
    return 0;
}

static unsigned ec2_mask(int bits)
{
    return bits ? 0xffffffffu << (32 - bits) : 0;
}

/* ------------------------------------------------------------------ NAT gateway states */

/* The state AWS shows for NAT gateway @r: the store's status, "failed" when
   it was made in a VPC without an internet gateway, "deleted" once the
   deletion is done (until the store drops it a delay later). */
static const char *ec2_nat_state(sim_res *r)
{
    if (r->delete_ms)
        return sim_wall_ms() >= json_integer_value(json_object_get(r->priv, "deleted_ms"))
                   ? "deleted"
                   : "deleting";
    if (json_object_get(r->priv, "failed"))
        return "failed";
    return sim_res_status(r);
}

/* 1 while NAT gateway @r holds its Elastic IP and its place in the subnet. */
static int ec2_nat_live(sim_res *r)
{
    const char *st = ec2_nat_state(r);
    return strcmp(st, "deleted") != 0 && strcmp(st, "failed") != 0;
}

/* The body as Describe* shows it: NAT states, and routes through a NAT
   gateway that is not available as "blackhole", as AWS reports them. */
static json_t *ec2_render(sim_res *r)
{
    json_t *b = sim_res_render(r), *x;
    size_t i;
    if (r->kind == &ec2_nat)
        json_object_set_new(b, "state", json_string(ec2_nat_state(r)));
    if (r->kind != &ec2_rtb)
        return b;
    json_array_foreach(json_object_get(b, "routeSet"), i, x) {
        const char *nat = json_string_value(json_object_get(x, "natGatewayId"));
        sim_res *g = nat ? sim_res_get(&ec2_nat, nat) : NULL;
        if (nat)
            json_object_set_new(x, "state",
                                json_string(g && strcmp(ec2_nat_state(g), "available") == 0
                                                ? "active"
                                                : "blackhole"));
    }
    return b;
}

/* The first live NAT gateway of VPC @vpc (and subnet @subnet when given). */
static sim_res *ec2_nat_in(const char *vpc, const char *subnet)
{
    for (sim_res *g = sim_res_first(&ec2_nat, vpc); g; g = sim_res_next(g, &ec2_nat, vpc))
        if (ec2_nat_live(g) &&
            (!subnet || strcmp(json_string_value(json_object_get(g->body, "subnetId")), subnet) == 0))
            return g;
    return NULL;
}

/* ------------------------------------------------------------------ filters */

/* "vpc-id" -> "vpcId" */
static char *ec2_camel(const char *s, size_t len)
{
    char *o = hoist_xmalloc(len + 1), *p = o;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-' && i + 1 < len)
            *p++ = (char)(s[++i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
        else
            *p++ = s[i];
    }
    *p = '\0';
    return o;
}

/* Collect the leaves at dotted filter path @path of @v into @out as strings. */
static void ec2_values(json_t *v, const char *path, json_t *out)
{
    size_t i;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            ec2_values(x, path, out);
        return;
    }
    if (!*path) {
        if (json_is_string(v))
            json_array_append(out, v);
        else if (json_is_boolean(v))
            json_array_append_new(out, json_string(json_is_true(v) ? "true" : "false"));
        return;
    }
    size_t len = strcspn(path, ".");
    char *key = ec2_camel(path, len), *set = hoist_xasprintf("%sSet", key);
    x = json_object_get(v, key);
    if (!x)
        x = json_object_get(v, set);
    if (!x && strcmp(key, "route") == 0)
        x = json_object_get(v, "routeSet");
    if (x)
        ec2_values(x, path[len] ? path + len + 1 : "", out);
    free(key);
    free(set);
}

/* Filter-name aliases whose field is not the camel-cased name. */
static const char *ec2_alias(const char *name)
{
    static const char *const map[][2] = {
        {"cidr", "cidr-block"},         {"description", "group-description"},
        {"state", "state"},             {"zone-name", "zone-name"},
        {"availability-zone", "availability-zone"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], name) == 0)
            return map[i][1];
    return name;
}

/* 1 when @obj passes every Filter.N; -1 (after answering) on an unknown filter. */
static int ec2_filter(sim_req *rq, sim_resp *rs, json_t *obj, const char *allowed)
{
    const char *name;
    for (int i = 1; (name = aws_p(rq, "Filter.%d.Name", i)); i++) {
        json_t *vals = json_array(), *want = NULL;
        char *pre = hoist_xasprintf("Filter.%d.Value", i);
        if (strncmp(name, "tag:", 4) == 0) {
            json_t *t;
            size_t j;
            json_array_foreach(json_object_get(obj, "tagSet"), j, t)
                if (strcmp(json_string_value(json_object_get(t, "key")), name + 4) == 0)
                    json_array_append(vals, json_object_get(t, "value"));
        } else if (strcmp(name, "tag-key") == 0) {
            ec2_values(json_object_get(obj, "tagSet"), "key", vals);
        } else {
            /* allowed: a blank-separated word list */
            size_t nl = strlen(name);
            const char *a = allowed;
            int ok = 0;
            while ((a = strstr(a, name))) {
                if ((a == allowed || a[-1] == ' ') && (a[nl] == ' ' || a[nl] == '\0'))
                    ok = 1;
                a += nl;
            }
            if (!ok) {
                aws_fail(rq, rs, 400, "InvalidParameterValue", "The filter '%s' is invalid",
                         name);
                json_decref(vals);
                free(pre);
                return -1;
            }
            ec2_values(obj, ec2_alias(name), vals);
        }
        want = aws_plist(rq, pre);
        free(pre);
        int match = 0;
        size_t a, b;
        json_t *x, *y;
        json_array_foreach(want, a, x)
            json_array_foreach(vals, b, y)
                if (fnmatch(json_string_value(x), json_string_value(y), 0) == 0)
                    match = 1;
        json_decref(want);
        json_decref(vals);
        if (!match)
            return 0;
    }
    return 1;
}

/* Describe*: ids from @idparam.N (all must exist), then filters. */
static void ec2_describe(sim_req *rq, sim_resp *rs, const sim_kind *k, const char *idparam)
{
    const ec2_type *t = ec2_type_of(k);
    json_t *ids = aws_plist(rq, idparam), *items = json_array(), *id;
    size_t i;
    json_array_foreach(ids, i, id)
        if (!ec2_find(rq, rs, k, json_string_value(id)))
            goto cleanup;
    for (sim_res *r = sim_res_first(k, NULL); r; r = sim_res_next(r, k, NULL)) {
        if ((r->delete_ms && !k->deleting) || strcmp(r->region, aws_region(rq)) != 0)
            continue;
        int in = json_array_size(ids) == 0;
        json_array_foreach(ids, i, id)
            if (strcmp(json_string_value(id), r->id) == 0)
                in = 1;
        if (!in)
            continue;
        int f = ec2_filter(rq, rs, ec2_render(r), t->filters);
        if (f < 0)
            goto cleanup;
        if (f)
            json_array_append(items, r->body);
    }
    aws_reply(rq, rs, json_pack("{s:O}", t->set, items));
cleanup:
    json_decref(ids);
    json_decref(items);
}

/* ------------------------------------------------------------------ VPCs */

static sim_res *ec2_rtb_make(sim_req *rq, sim_res *vpc, int main_table, json_t *tags)
{
    char *id = aws_ec2_id("rtb");
    json_t *body = json_pack(
        "{s:s,s:s,s:[{s:s,s:s,s:s,s:s}],s:[],s:[]}", "routeTableId", id, "vpcId", vpc->id,
        "routeSet", "destinationCidrBlock", json_string_value(json_object_get(vpc->body, "cidrBlock")),
        "gatewayId", "local", "origin", "CreateRouteTable", "state", "active", "associationSet",
        "propagatingVgwSet");
    if (main_table) {
        char *assoc = aws_ec2_id("rtbassoc");
        json_array_append_new(json_object_get(body, "associationSet"),
                              json_pack("{s:b,s:s,s:s,s:{s:s}}", "main", 1,
                                        "routeTableAssociationId", assoc, "routeTableId", id,
                                        "associationState", "state", "associated"));
        free(assoc);
    }
    sim_res *r = ec2_new(rq, &ec2_rtb, id, vpc->id, body, tags);
    free(id);
    return r;
}

static sim_res *ec2_sg_make(sim_req *rq, const char *vpc, const char *name, const char *desc,
                            json_t *tags)
{
    char *id = aws_ec2_id("sg");
    char *arn = hoist_xasprintf("arn:aws:ec2:%s:%s:security-group/%s", aws_region(rq),
                                AWS_ACCOUNT, id);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:[],s:[{s:s,s:[{s:s}],s:[],s:[],s:[]}],s:s}",
                             "groupId", id, "groupName", name, "groupDescription", desc, "vpcId",
                             vpc, "ipPermissions", "ipPermissionsEgress", "ipProtocol", "-1",
                             "ipRanges", "cidrIp", "0.0.0.0/0", "ipv6Ranges", "groups",
                             "prefixListIds", "securityGroupArn", arn);
    sim_res *r = ec2_new(rq, &ec2_sg, id, vpc, body, tags);
    free(id);
    free(arn);
    return r;
}

static void ec2_create_vpc(sim_req *rq, sim_resp *rs)
{
    const char *cidr = aws_need(rq, rs, "CidrBlock");
    unsigned addr;
    int bits;
    if (!cidr)
        return;
    if (ec2_cidr(cidr, &addr, &bits) != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
                 cidr);
        return;
    }
    if (bits < 16 || bits > 28) {
        aws_fail(rq, rs, 400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", cidr);
        return;
    }
    char *id = aws_ec2_id("vpc"), *assoc = aws_ec2_id("vpc-cidr-assoc");
    const char *ten = aws_p(rq, "InstanceTenancy");
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:b,s:[{s:s,s:s,s:{s:s}}]}", "vpcId", id,
                             "cidrBlock", cidr, "dhcpOptionsId", "dopt-00000000000000001",
                             "instanceTenancy", ten ? ten : "default", "isDefault", 0,
                             "cidrBlockAssociationSet", "associationId", assoc, "cidrBlock",
                             cidr, "cidrBlockState", "state", "associated");
    sim_res *r = ec2_new(rq, &ec2_vpc, id, NULL, body, ec2_tagspec(rq, "vpc"));
    json_object_set_new(r->priv, "enableDnsSupport", json_true());
    json_object_set_new(r->priv, "enableDnsHostnames", json_false());
    ec2_sg_make(rq, id, "default", "default VPC security group", json_array());
    ec2_rtb_make(rq, r, 1, json_array());
    aws_reply(rq, rs, json_pack("{s:O}", "vpc", sim_res_render(r)));
    free(id);
    free(assoc);
}

static void ec2_describe_vpcs(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_vpc, "VpcId");
}

/* 1 when route table @r is its VPC's main one. */
static int ec2_rtb_main(sim_res *r)
{
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(r->body, "associationSet"), i, a)
        if (json_is_true(json_object_get(a, "main")))
            return 1;
    return 0;
}

static void ec2_delete_vpc(sim_req *rq, sim_resp *rs)
{
    sim_res *v = ec2_find(rq, rs, &ec2_vpc, aws_p(rq, "VpcId")), *r;
    if (!v)
        return;
    int deps = sim_res_first(&ec2_subnet, v->id) != NULL;
    for (r = sim_res_first(&ec2_sg, v->id); r; r = sim_res_next(r, &ec2_sg, v->id))
        deps |= strcmp(r->name, "default") != 0 &&
                strcmp(json_string_value(json_object_get(r->body, "groupName")), "default") != 0;
    for (r = sim_res_first(&ec2_rtb, v->id); r; r = sim_res_next(r, &ec2_rtb, v->id))
        deps |= !ec2_rtb_main(r);
    deps |= ec2_nat_in(v->id, NULL) != NULL;
    for (r = sim_res_first(&ec2_igw, NULL); r; r = sim_res_next(r, &ec2_igw, NULL)) {
        json_t *vals = json_array();
        ec2_values(r->body, "attachment.vpc-id", vals);
        deps |= json_array_size(vals) && strcmp(json_string_value(json_array_get(vals, 0)), v->id) == 0;
        json_decref(vals);
    }
    if (deps) {
        aws_fail(rq, rs, 400, "DependencyViolation",
                 "The vpc '%s' has dependencies and cannot be deleted.", v->id);
        return;
    }
    sim_res_delete_children(&ec2_sg, v->id);
    sim_res_delete_children(&ec2_rtb, v->id);
    sim_res_delete(v);
    aws_reply(rq, rs, ec2_ok());
}

static void ec2_modify_vpc_attribute(sim_req *rq, sim_resp *rs)
{
    sim_res *v = ec2_find(rq, rs, &ec2_vpc, aws_p(rq, "VpcId"));
    const char *attrs[] = {"EnableDnsSupport", "EnableDnsHostnames",
                           "EnableNetworkAddressUsageMetrics"};
    int n = 0;
    if (!v)
        return;
    for (size_t i = 0; i < 3; i++) {
        const char *val = aws_p(rq, "%s.Value", attrs[i]);
        if (!val)
            continue;
        char key[64];
        snprintf(key, sizeof key, "e%s", attrs[i] + 1);
        json_object_set_new(v->priv, key, json_boolean(strcmp(val, "true") == 0));
        n++;
    }
    if (n != 1) {
        aws_fail(rq, rs, 400, "InvalidParameterCombination",
                 "Exactly one attribute must be modified per request (got %d)", n);
        return;
    }
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ subnets */

static void ec2_create_subnet(sim_req *rq, sim_resp *rs)
{
    const char *vpcid = aws_need(rq, rs, "VpcId"), *cidr, *az = aws_p(rq, "AvailabilityZone");
    sim_res *v = vpcid ? ec2_find(rq, rs, &ec2_vpc, vpcid) : NULL;
    unsigned addr, vaddr;
    int bits, vbits;
    if (!v || !(cidr = aws_need(rq, rs, "CidrBlock")))
        return;
    ec2_cidr(json_string_value(json_object_get(v->body, "cidrBlock")), &vaddr, &vbits);
    if (ec2_cidr(cidr, &addr, &bits) != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
                 cidr);
        return;
    }
    if (bits < vbits || bits > 28 || (addr & ec2_mask(vbits)) != (vaddr & ec2_mask(vbits))) {
        aws_fail(rq, rs, 400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", cidr);
        return;
    }
    for (sim_res *s = sim_res_first(&ec2_subnet, v->id); s; s = sim_res_next(s, &ec2_subnet, v->id)) {
        unsigned sa;
        int sb;
        ec2_cidr(json_string_value(json_object_get(s->body, "cidrBlock")), &sa, &sb);
        int m = sb < bits ? sb : bits;
        if ((sa & ec2_mask(m)) == (addr & ec2_mask(m))) {
            aws_fail(rq, rs, 400, "InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet",
                     cidr);
            return;
        }
    }
    const char *region = aws_region(rq);
    char *defaz = hoist_xasprintf("%sa", region);
    if (!az)
        az = defaz;
    size_t rl = strlen(region);
    if (strncmp(az, region, rl) != 0 || strlen(az) != rl + 1 || az[rl] < 'a' || az[rl] > 'c') {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Value (%s) for parameter availabilityZone is invalid. Subnets can currently "
                 "only be created in the following availability zones: %sa, %sb, %sc.",
                 az, region, region, region);
        free(defaz);
        return;
    }
    char *id = aws_ec2_id("subnet"), *azid = hoist_xasprintf("az%d", az[rl] - 'a' + 1);
    char *arn = hoist_xasprintf("arn:aws:ec2:%s:%s:subnet/%s", region, AWS_ACCOUNT, id);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:b,s:s}", "subnetId", id,
                             "vpcId", v->id, "cidrBlock", cidr, "availabilityZone", az,
                             "availabilityZoneId", azid, "availableIpAddressCount",
                             (json_int_t)((1LL << (32 - bits)) - 5), "defaultForAz", 0,
                             "mapPublicIpOnLaunch", 0, "assignIpv6AddressOnCreation", 0,
                             "subnetArn", arn);
    sim_res *r = ec2_new(rq, &ec2_subnet, id, v->id, body, ec2_tagspec(rq, "subnet"));
    aws_reply(rq, rs, json_pack("{s:O}", "subnet", sim_res_render(r)));
    free(id);
    free(azid);
    free(arn);
    free(defaz);
}

static void ec2_describe_subnets(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_subnet, "SubnetId");
}

static void ec2_delete_subnet(sim_req *rq, sim_resp *rs)
{
    sim_res *s = ec2_find(rq, rs, &ec2_subnet, aws_p(rq, "SubnetId"));
    if (!s)
        return;
    if (ec2_nat_in(s->parent, s->id)) {
        aws_fail(rq, rs, 400, "DependencyViolation",
                 "The subnet '%s' has dependencies and cannot be deleted.", s->id);
        return;
    }
    for (sim_res *r = sim_res_first(&ec2_rtb, s->parent); r; r = sim_res_next(r, &ec2_rtb, s->parent)) {
        json_t *vals = json_array(), *x;
        size_t i;
        int used = 0;
        ec2_values(r->body, "association.subnet-id", vals);
        json_array_foreach(vals, i, x)
            used |= strcmp(json_string_value(x), s->id) == 0;
        json_decref(vals);
        if (used) {
            aws_fail(rq, rs, 400, "DependencyViolation",
                     "The subnet '%s' has dependencies and cannot be deleted.", s->id);
            return;
        }
    }
    sim_res_delete(s);
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ internet gateways */

static void ec2_create_igw(sim_req *rq, sim_resp *rs)
{
    char *id = aws_ec2_id("igw");
    sim_res *r = ec2_new(rq, &ec2_igw, id, NULL,
                         json_pack("{s:s,s:[]}", "internetGatewayId", id, "attachmentSet"),
                         ec2_tagspec(rq, "internet-gateway"));
    aws_reply(rq, rs, json_pack("{s:O}", "internetGateway", r->body));
    free(id);
}

static void ec2_describe_igws(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_igw, "InternetGatewayId");
}

static void ec2_attach_igw(sim_req *rq, sim_resp *rs)
{
    sim_res *g = ec2_find(rq, rs, &ec2_igw, aws_p(rq, "InternetGatewayId"));
    sim_res *v = g ? ec2_find(rq, rs, &ec2_vpc, aws_p(rq, "VpcId")) : NULL;
    json_t *att;
    if (!v)
        return;
    att = json_object_get(g->body, "attachmentSet");
    if (json_array_size(att)) {
        aws_fail(rq, rs, 400, "Resource.AlreadyAssociated",
                 "resource %s is already attached to network %s", g->id,
                 json_string_value(json_object_get(json_array_get(att, 0), "vpcId")));
        return;
    }
    json_array_append_new(att, json_pack("{s:s,s:s}", "vpcId", v->id, "state", "available"));
    aws_reply(rq, rs, ec2_ok());
}

static void ec2_detach_igw(sim_req *rq, sim_resp *rs)
{
    sim_res *g = ec2_find(rq, rs, &ec2_igw, aws_p(rq, "InternetGatewayId"));
    const char *vpc = aws_p(rq, "VpcId");
    json_t *att;
    if (!g)
        return;
    att = json_object_get(g->body, "attachmentSet");
    if (!vpc || !json_array_size(att) ||
        strcmp(json_string_value(json_object_get(json_array_get(att, 0), "vpcId")), vpc) != 0) {
        aws_fail(rq, rs, 400, "Gateway.NotAttached", "resource %s is not attached to network %s",
                 g->id, vpc ? vpc : "(none)");
        return;
    }
    if (ec2_nat_in(vpc, NULL)) {
        aws_fail(rq, rs, 400, "DependencyViolation",
                 "Network %s has some mapped public address(es). Please unmap those public "
                 "address(es) before detaching the gateway.", vpc);
        return;
    }
    json_array_clear(att);
    aws_reply(rq, rs, ec2_ok());
}

static void ec2_delete_igw(sim_req *rq, sim_resp *rs)
{
    sim_res *g = ec2_find(rq, rs, &ec2_igw, aws_p(rq, "InternetGatewayId"));
    if (!g)
        return;
    if (json_array_size(json_object_get(g->body, "attachmentSet"))) {
        aws_fail(rq, rs, 400, "DependencyViolation",
                 "The internetGateway '%s' has dependencies and cannot be deleted.", g->id);
        return;
    }
    sim_res_delete(g);
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ route tables */

static void ec2_create_rtb(sim_req *rq, sim_resp *rs)
{
    const char *vpcid = aws_need(rq, rs, "VpcId"), *token = aws_p(rq, "ClientToken");
    sim_res *v = vpcid ? ec2_find(rq, rs, &ec2_vpc, vpcid) : NULL, *r;
    if (!v)
        return;
    /* ClientToken: a retry returns the table the first call made (without
       one, every call makes a table) */
    for (r = token ? sim_res_first(&ec2_rtb, NULL) : NULL; r; r = sim_res_next(r, &ec2_rtb, NULL)) {
        const char *t = json_string_value(json_object_get(r->priv, "clientToken"));
        if (!t || strcmp(t, token) != 0 || r->delete_ms)
            continue;
        if (strcmp(r->parent, v->id) != 0) {
            aws_fail(rq, rs, 400, "IdempotentParameterMismatch",
                     "The client token %s was used with different parameters", token);
            return;
        }
        break;
    }
    if (!r) {
        r = ec2_rtb_make(rq, v, 0, ec2_tagspec(rq, "route-table"));
        if (token)
            json_object_set_new(r->priv, "clientToken", json_string(token));
    }
    json_t *res = json_pack("{s:O}", "routeTable", r->body);
    if (token)
        json_object_set_new(res, "clientToken", json_string(token));
    aws_reply(rq, rs, res);
}

static void ec2_describe_rtbs(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_rtb, "RouteTableId");
}

/* The route target of the request, checked to be in route table @t's VPC:
   *@key is "gatewayId" or "natGatewayId".  NULL after answering. */
static const char *ec2_route_target(sim_req *rq, sim_resp *rs, sim_res *t, const char **key)
{
    const char *gw = aws_p(rq, "GatewayId"), *nat = aws_p(rq, "NatGatewayId");
    const char *vpc = NULL;
    json_t *vals = json_array();
    if (!gw == !nat) {
        aws_fail(rq, rs, 400, "InvalidParameterCombination",
                 "Exactly one of GatewayId and NatGatewayId must be given (hoist-sim models "
                 "these two route targets)");
        json_decref(vals);
        return NULL;
    }
    if (gw) {
        sim_res *g = ec2_find(rq, rs, &ec2_igw, gw);
        if (g)
            ec2_values(g->body, "attachment.vpc-id", vals);
        vpc = json_string_value(json_array_get(vals, 0));
        *key = "gatewayId";
        if (!g) {
            json_decref(vals);
            return NULL;
        }
    } else {
        sim_res *g = ec2_find(rq, rs, &ec2_nat, nat);
        if (!g) {
            json_decref(vals);
            return NULL;
        }
        if (!ec2_nat_live(g) || g->delete_ms) {
            aws_fail(rq, rs, 400, "InvalidNatGatewayID.NotFound",
                     "The natGateway ID '%s' does not exist", nat);
            json_decref(vals);
            return NULL;
        }
        vpc = g->parent;
        *key = "natGatewayId";
    }
    int same = vpc && strcmp(vpc, t->parent) == 0;
    json_decref(vals);
    if (!same) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "route table %s and network gateway %s belong to different networks", t->id,
                 gw ? gw : nat);
        return NULL;
    }
    return gw ? gw : nat;
}

/* CreateRoute (@replace 0) or ReplaceRoute (1) for DestinationCidrBlock. */
static void ec2_route(sim_req *rq, sim_resp *rs, int replace)
{
    sim_res *t = ec2_find(rq, rs, &ec2_rtb, aws_p(rq, "RouteTableId"));
    const char *dest, *target, *key = NULL;
    unsigned a;
    int b;
    if (!t || !(dest = aws_need(rq, rs, "DestinationCidrBlock")))
        return;
    if (ec2_cidr(dest, &a, &b) != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid "
                 "CIDR block.", dest);
        return;
    }
    if (!(target = ec2_route_target(rq, rs, t, &key)))
        return;
    json_t *routes = json_object_get(t->body, "routeSet"), *x, *found = NULL;
    size_t i;
    json_array_foreach(routes, i, x)
        if (strcmp(json_string_value(json_object_get(x, "destinationCidrBlock")), dest) == 0)
            found = x;
    if (found && !replace) {
        aws_fail(rq, rs, 400, "RouteAlreadyExists", "The route identified by %s already exists.",
                 dest);
        return;
    }
    if (!found && replace) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "There is no route defined for '%s' in the route table. Use CreateRoute "
                 "instead.", dest);
        return;
    }
    if (found) {
        json_object_del(found, "gatewayId");
        json_object_del(found, "natGatewayId");
        json_object_set_new(found, key, json_string(target));
        json_object_set_new(found, "origin", json_string("CreateRoute"));
    } else {
        json_array_append_new(routes, json_pack("{s:s,s:s,s:s,s:s}", "destinationCidrBlock", dest,
                                                key, target, "origin", "CreateRoute", "state",
                                                "active"));
    }
    aws_reply(rq, rs, ec2_ok());
}

static void ec2_create_route(sim_req *rq, sim_resp *rs)
{
    ec2_route(rq, rs, 0);
}

static void ec2_replace_route(sim_req *rq, sim_resp *rs)
{
    ec2_route(rq, rs, 1);
}

static void ec2_associate_rtb(sim_req *rq, sim_resp *rs)
{
    sim_res *t = ec2_find(rq, rs, &ec2_rtb, aws_p(rq, "RouteTableId"));
    sim_res *s = t ? ec2_find(rq, rs, &ec2_subnet, aws_p(rq, "SubnetId")) : NULL;
    if (!s)
        return;
    if (strcmp(s->parent, t->parent) != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Route table %s and subnet %s belong to different networks", t->id, s->id);
        return;
    }
    for (sim_res *r = sim_res_first(&ec2_rtb, NULL); r; r = sim_res_next(r, &ec2_rtb, NULL)) {
        json_t *vals = json_array(), *x;
        size_t i;
        ec2_values(r->body, "association.subnet-id", vals);
        json_array_foreach(vals, i, x)
            if (strcmp(json_string_value(x), s->id) == 0) {
                aws_fail(rq, rs, 400, "Resource.AlreadyAssociated",
                         "the specified association for route table %s conflicts with an "
                         "existing association", r->id);
                json_decref(vals);
                return;
            }
        json_decref(vals);
    }
    char *assoc = aws_ec2_id("rtbassoc");
    json_array_append_new(json_object_get(t->body, "associationSet"),
                          json_pack("{s:b,s:s,s:s,s:s,s:{s:s}}", "main", 0,
                                    "routeTableAssociationId", assoc, "routeTableId", t->id,
                                    "subnetId", s->id, "associationState", "state", "associated"));
    aws_reply(rq, rs, json_pack("{s:s,s:{s:s}}", "associationId", assoc, "associationState",
                                "state", "associated"));
    free(assoc);
}

static void ec2_disassociate_rtb(sim_req *rq, sim_resp *rs)
{
    const char *id = aws_need(rq, rs, "AssociationId");
    if (!id)
        return;
    for (sim_res *r = sim_res_first(&ec2_rtb, NULL); r; r = sim_res_next(r, &ec2_rtb, NULL)) {
        json_t *set = json_object_get(r->body, "associationSet"), *a;
        size_t i;
        json_array_foreach(set, i, a) {
            if (strcmp(json_string_value(json_object_get(a, "routeTableAssociationId")), id) != 0)
                continue;
            if (json_is_true(json_object_get(a, "main"))) {
                aws_fail(rq, rs, 400, "InvalidParameterValue",
                         "cannot disassociate the main route table association %s", id);
                return;
            }
            json_array_remove(set, i);
            aws_reply(rq, rs, json_object());
            return;
        }
    }
    aws_fail(rq, rs, 400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist",
             id);
}

static void ec2_delete_rtb(sim_req *rq, sim_resp *rs)
{
    sim_res *t = ec2_find(rq, rs, &ec2_rtb, aws_p(rq, "RouteTableId"));
    if (!t)
        return;
    if (json_array_size(json_object_get(t->body, "associationSet"))) {
        aws_fail(rq, rs, 400, "DependencyViolation",
                 "The routeTable '%s' has dependencies and cannot be deleted.", t->id);
        return;
    }
    sim_res_delete(t);
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ Elastic IPs */

static void ec2_allocate_address(sim_req *rq, sim_resp *rs)
{
    const char *dom = aws_p(rq, "Domain");
    if (dom && strcmp(dom, "vpc") != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "Value (%s) for parameter domain is invalid. Valid values: vpc", dom);
        return;
    }
    char *id = aws_ec2_id("eipalloc");
    /* an address of TEST-NET-3 (RFC 5737), from the id's random digits */
    char *ip = hoist_xasprintf("203.0.113.%lu", strtoul(id + strlen(id) - 2, NULL, 16) % 254 + 1);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "allocationId", id, "publicIp", ip,
                             "domain", "vpc", "publicIpv4Pool", "amazon", "networkBorderGroup",
                             aws_region(rq));
    sim_res *r = ec2_new(rq, &ec2_eip, id, NULL, body, ec2_tagspec(rq, "elastic-ip"));
    json_t *res = json_deep_copy(r->body);
    json_object_del(res, "tagSet");
    json_object_del(res, "ownerId");
    aws_reply(rq, rs, res);
    free(id);
    free(ip);
}

static void ec2_describe_addresses(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_eip, "AllocationId");
}

/* The live NAT gateway holding Elastic IP @alloc, or NULL. */
static sim_res *ec2_eip_user(const char *alloc)
{
    for (sim_res *g = sim_res_first(&ec2_nat, NULL); g; g = sim_res_next(g, &ec2_nat, NULL)) {
        json_t *a;
        size_t i;
        json_array_foreach(json_object_get(g->body, "natGatewayAddressSet"), i, a)
            if (ec2_nat_live(g) &&
                strcmp(json_string_value(json_object_get(a, "allocationId")), alloc) == 0)
                return g;
    }
    return NULL;
}

static void ec2_release_address(sim_req *rq, sim_resp *rs)
{
    sim_res *e = ec2_find(rq, rs, &ec2_eip, aws_p(rq, "AllocationId"));
    if (!e)
        return;
    if (ec2_eip_user(e->id)) {
        aws_fail(rq, rs, 400, "InvalidIPAddress.InUse", "Address %s is in use.",
                 json_string_value(json_object_get(e->body, "publicIp")));
        return;
    }
    sim_res_delete(e);
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ NAT gateways */

static void ec2_create_nat(sim_req *rq, sim_resp *rs)
{
    const char *token = aws_p(rq, "ClientToken"), *alloc = aws_p(rq, "AllocationId");
    const char *conn = aws_p(rq, "ConnectivityType");
    sim_res *s = ec2_find(rq, rs, &ec2_subnet, aws_p(rq, "SubnetId")), *e, *g;
    if (!s)
        return;
    /* ClientToken: a retry returns the gateway the first call made */
    for (g = token ? sim_res_first(&ec2_nat, NULL) : NULL; g; g = sim_res_next(g, &ec2_nat, NULL)) {
        const char *t = json_string_value(json_object_get(g->priv, "clientToken"));
        if (!t || strcmp(t, token) != 0)
            continue;
        if (strcmp(json_string_value(json_object_get(g->body, "subnetId")), s->id) != 0) {
            aws_fail(rq, rs, 400, "IdempotentParameterMismatch",
                     "The client token %s was used with different parameters", token);
            return;
        }
        aws_reply(rq, rs, json_pack("{s:s,s:O}", "clientToken", token, "natGateway",
                                    ec2_render(g)));
        return;
    }
    if (conn && strcmp(conn, "public") != 0) {
        aws_fail(rq, rs, 400, "InvalidParameterValue",
                 "hoist-sim models public NAT gateways only (ConnectivityType %s)", conn);
        return;
    }
    if (!alloc) {
        aws_fail(rq, rs, 400, "MissingParameter",
                 "The request must contain the parameter AllocationId for a public NAT gateway");
        return;
    }
    if (!(e = ec2_find(rq, rs, &ec2_eip, alloc)))
        return;
    if ((g = ec2_eip_user(e->id))) {
        aws_fail(rq, rs, 400, "Resource.AlreadyAssociated",
                 "Elastic IP address [%s] is already associated with %s", e->id, g->id);
        return;
    }
    char *id = aws_ec2_id("nat"), *eni = aws_ec2_id("eni"), *now = aws_now_iso();
    unsigned sa;
    int sb;
    ec2_cidr(json_string_value(json_object_get(s->body, "cidrBlock")), &sa, &sb);
    sa += 4 + (unsigned)(sim_wall_ms() % 200);
    char *priv = hoist_xasprintf("%u.%u.%u.%u", sa >> 24, (sa >> 16) & 255, (sa >> 8) & 255,
                                 sa & 255);
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:b,s:s}]}", "natGatewayId", id, "subnetId",
        s->id, "vpcId", s->parent, "createTime", now, "connectivityType", "public",
        "natGatewayAddressSet", "allocationId", e->id, "publicIp",
        json_string_value(json_object_get(e->body, "publicIp")), "networkInterfaceId", eni,
        "privateIp", priv, "isPrimary", 1, "status", "succeeded");
    g = ec2_new(rq, &ec2_nat, id, s->parent, body, ec2_tagspec(rq, "natgateway"));
    if (token)
        json_object_set_new(g->priv, "clientToken", json_string(token));
    /* AWS: a public NAT gateway in a VPC without an internet gateway fails. */
    int igw = 0;
    for (sim_res *i = sim_res_first(&ec2_igw, NULL); i; i = sim_res_next(i, &ec2_igw, NULL)) {
        json_t *vals = json_array();
        ec2_values(i->body, "attachment.vpc-id", vals);
        igw |= json_array_size(vals) && strcmp(json_string_value(json_array_get(vals, 0)), s->parent) == 0;
        json_decref(vals);
    }
    if (!igw) {
        json_object_set_new(g->priv, "failed", json_true());
        json_object_set_new(g->body, "failureCode", json_string("Gateway.NotAttached"));
        char *msg = hoist_xasprintf("Network %s has no Internet gateway attached", s->parent);
        json_object_set_new(g->body, "failureMessage", json_string(msg));
        free(msg);
    }
    json_t *res = json_pack("{s:O}", "natGateway", ec2_render(g));
    if (token)
        json_object_set_new(res, "clientToken", json_string(token));
    aws_reply(rq, rs, res);
    free(id);
    free(eni);
    free(now);
    free(priv);
}

static void ec2_describe_nats(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_nat, "NatGatewayId");
}

static void ec2_delete_nat(sim_req *rq, sim_resp *rs)
{
    sim_res *g = ec2_find(rq, rs, &ec2_nat, aws_p(rq, "NatGatewayId"));
    if (!g)
        return;
    if (!g->delete_ms) {
        char *now = aws_now_iso();
        sim_res_delete(g);
        /* deleting for one delay, then "deleted" for one more before it goes */
        json_object_set_new(g->priv, "deleted_ms", json_integer(g->gone_ms));
        g->gone_ms += sim_delay_ms(g->kind->delay_key);
        json_object_set_new(g->body, "deleteTime", json_string(now));
        free(now);
    }
    aws_reply(rq, rs, json_pack("{s:s}", "natGatewayId", g->id));
}

/* ------------------------------------------------------------------ security groups */

static void ec2_create_sg(sim_req *rq, sim_resp *rs)
{
    const char *name = aws_need(rq, rs, "GroupName");
    const char *desc = name ? aws_need(rq, rs, "GroupDescription") : NULL;
    const char *vpcid = desc ? aws_need(rq, rs, "VpcId") : NULL;
    sim_res *v = vpcid ? ec2_find(rq, rs, &ec2_vpc, vpcid) : NULL;
    if (!v)
        return;
    for (sim_res *g = sim_res_first(&ec2_sg, v->id); g; g = sim_res_next(g, &ec2_sg, v->id))
        if (strcmp(json_string_value(json_object_get(g->body, "groupName")), name) == 0) {
            aws_fail(rq, rs, 400, "InvalidGroup.Duplicate",
                     "The security group '%s' already exists for VPC '%s'", name, v->id);
            return;
        }
    sim_res *g = ec2_sg_make(rq, v->id, name, desc, ec2_tagspec(rq, "security-group"));
    aws_reply(rq, rs, json_pack("{s:O,s:O,s:O}", "groupId", json_object_get(g->body, "groupId"),
                                "tagSet", json_object_get(g->body, "tagSet"), "securityGroupArn",
                                json_object_get(g->body, "securityGroupArn")));
}

static void ec2_describe_sgs(sim_req *rq, sim_resp *rs)
{
    ec2_describe(rq, rs, &ec2_sg, "GroupId");
}

/* The IpPermissions of the request (or the flat CidrIp form) as model items. */
static json_t *ec2_perms(sim_req *rq)
{
    json_t *perms = json_array();
    const char *proto;
    for (int i = 1; (proto = aws_p(rq, "IpPermissions.%d.IpProtocol", i)); i++) {
        json_t *ranges = json_array();
        const char *c, *from = aws_p(rq, "IpPermissions.%d.FromPort", i);
        const char *to = aws_p(rq, "IpPermissions.%d.ToPort", i);
        for (int j = 1; (c = aws_p(rq, "IpPermissions.%d.IpRanges.%d.CidrIp", i, j)); j++)
            json_array_append_new(ranges, json_pack("{s:s}", "cidrIp", c));
        json_array_append_new(perms, json_pack("{s:s,s:I,s:I,s:o,s:[],s:[],s:[]}", "ipProtocol",
                                               proto, "fromPort",
                                               (json_int_t)(from ? atoll(from) : -1), "toPort",
                                               (json_int_t)(to ? atoll(to) : -1), "ipRanges",
                                               ranges, "ipv6Ranges", "groups", "prefixListIds"));
    }
    if ((proto = aws_p(rq, "IpProtocol"))) {
        const char *from = aws_p(rq, "FromPort"), *to = aws_p(rq, "ToPort"), *c = aws_p(rq, "CidrIp");
        json_array_append_new(perms, json_pack("{s:s,s:I,s:I,s:[{s:s}],s:[],s:[],s:[]}",
                                               "ipProtocol", proto, "fromPort",
                                               (json_int_t)(from ? atoll(from) : -1), "toPort",
                                               (json_int_t)(to ? atoll(to) : -1), "ipRanges",
                                               "cidrIp", c ? c : "0.0.0.0/0", "ipv6Ranges",
                                               "groups", "prefixListIds"));
    }
    return perms;
}

static sim_res *ec2_sg_param(sim_req *rq, sim_resp *rs)
{
    const char *id = aws_p(rq, "GroupId"), *name = aws_p(rq, "GroupName");
    if (!id && name) {
        for (sim_res *g = sim_res_first(&ec2_sg, NULL); g; g = sim_res_next(g, &ec2_sg, NULL))
            if (strcmp(json_string_value(json_object_get(g->body, "groupName")), name) == 0)
                return g;
        aws_fail(rq, rs, 400, "InvalidGroup.NotFound", "The security group '%s' does not exist",
                 name);
        return NULL;
    }
    return ec2_find(rq, rs, &ec2_sg, id);
}

/* Authorize (@add) or revoke ingress rules; each cidr is one rule. */
static void ec2_ingress(sim_req *rq, sim_resp *rs, int add)
{
    sim_res *g = ec2_sg_param(rq, rs);
    json_t *perms, *have, *p, *x, *rules;
    size_t i, j, k;
    if (!g)
        return;
    perms = ec2_perms(rq);
    have = json_object_get(g->body, "ipPermissions");
    rules = json_array();
    if (!json_array_size(perms)) {
        aws_fail(rq, rs, 400, "MissingParameter", "No IpPermissions given");
        goto cleanup;
    }
    json_array_foreach(perms, i, p) {
        json_t *found = NULL;
        json_array_foreach(have, j, x)
            if (json_equal(json_object_get(x, "ipProtocol"), json_object_get(p, "ipProtocol")) &&
                json_equal(json_object_get(x, "fromPort"), json_object_get(p, "fromPort")) &&
                json_equal(json_object_get(x, "toPort"), json_object_get(p, "toPort")))
                found = x;
        json_array_foreach(json_object_get(p, "ipRanges"), j, x) {
            json_t *cur = found ? json_object_get(found, "ipRanges") : NULL, *y;
            int idx = -1;
            json_array_foreach(cur, k, y)
                if (json_equal(json_object_get(y, "cidrIp"), json_object_get(x, "cidrIp")))
                    idx = (int)k;
            if (add && idx >= 0) {
                aws_fail(rq, rs, 400, "InvalidPermission.Duplicate",
                         "the specified rule \"peer: %s, %s, ALLOW\" already exists",
                         json_string_value(json_object_get(x, "cidrIp")),
                         json_string_value(json_object_get(p, "ipProtocol")));
                goto cleanup;
            }
            if (!add && idx < 0) {
                aws_fail(rq, rs, 400, "InvalidPermission.NotFound",
                         "The specified rule does not exist in this security group.");
                goto cleanup;
            }
            if (!add) {
                json_array_remove(cur, (size_t)idx);
                continue;
            }
            if (!found) {
                found = json_deep_copy(p);
                json_array_clear(json_object_get(found, "ipRanges"));
                json_array_append_new(have, found);
            }
            json_array_append(json_object_get(found, "ipRanges"), x);
            char *rid = aws_ec2_id("sgr");
            json_array_append_new(rules, json_pack("{s:s,s:s,s:s,s:b,s:O,s:O,s:O,s:O}",
                                                   "securityGroupRuleId", rid, "groupId", g->id,
                                                   "groupOwnerId", AWS_ACCOUNT, "isEgress", 0,
                                                   "ipProtocol", json_object_get(p, "ipProtocol"),
                                                   "fromPort", json_object_get(p, "fromPort"),
                                                   "toPort", json_object_get(p, "toPort"),
                                                   "cidrIpv4", json_object_get(x, "cidrIp")));
            free(rid);
        }
    }
    /* drop permissions left without ranges */
    for (i = json_array_size(have); i-- > 0;)
        if (!json_array_size(json_object_get(json_array_get(have, i), "ipRanges")))
            json_array_remove(have, i);
    json_t *res = ec2_ok();
    if (add)
        json_object_set(res, "securityGroupRuleSet", rules);
    aws_reply(rq, rs, res);
cleanup:
    json_decref(perms);
    json_decref(rules);
}

static void ec2_authorize(sim_req *rq, sim_resp *rs)
{
    ec2_ingress(rq, rs, 1);
}

static void ec2_revoke(sim_req *rq, sim_resp *rs)
{
    ec2_ingress(rq, rs, 0);
}

static void ec2_delete_sg(sim_req *rq, sim_resp *rs)
{
    sim_res *g = ec2_sg_param(rq, rs);
    if (!g)
        return;
    if (strcmp(json_string_value(json_object_get(g->body, "groupName")), "default") == 0) {
        aws_fail(rq, rs, 400, "CannotDelete",
                 "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g->id);
        return;
    }
    sim_res_delete(g);
    aws_reply(rq, rs, ec2_ok());
}

/* ------------------------------------------------------------------ tags, zones */

static sim_res *ec2_any(sim_req *rq, sim_resp *rs, const char *id)
{
    for (size_t i = 0; i < EC2_NTYPES; i++) {
        size_t pl = strlen(ec2_types[i].prefix);
        if (strncmp(id, ec2_types[i].prefix, pl) == 0 && id[pl] == '-')
            return ec2_find(rq, rs, ec2_types[i].kind, id);
    }
    aws_fail(rq, rs, 400, "InvalidID", "The ID '%s' is not valid", id);
    return NULL;
}

static void ec2_create_tags(sim_req *rq, sim_resp *rs)
{
    json_t *ids = aws_plist(rq, "ResourceId"), *tags = ec2_tags_at(rq, "Tag"), *id;
    size_t i;
    json_array_foreach(ids, i, id)
        if (!ec2_any(rq, rs, json_string_value(id)))
            goto cleanup;
    if (!json_array_size(ids) || !json_array_size(tags)) {
        aws_fail(rq, rs, 400, "MissingParameter", "The request must contain the parameter %s",
                 json_array_size(ids) ? "Tag" : "ResourceId");
        goto cleanup;
    }
    json_array_foreach(ids, i, id)
        ec2_tags_merge(ec2_any(rq, rs, json_string_value(id)), tags);
    aws_reply(rq, rs, ec2_ok());
cleanup:
    json_decref(ids);
    json_decref(tags);
}

static void ec2_describe_tags(sim_req *rq, sim_resp *rs)
{
    json_t *items = json_array(), *t;
    size_t j;
    for (size_t i = 0; i < EC2_NTYPES; i++)
        for (sim_res *r = sim_res_first(ec2_types[i].kind, NULL); r;
             r = sim_res_next(r, ec2_types[i].kind, NULL)) {
            if (r->delete_ms || strcmp(r->region, aws_region(rq)) != 0)
                continue;
            json_array_foreach(json_object_get(r->body, "tagSet"), j, t) {
                json_t *item = json_pack("{s:s,s:s,s:O,s:O}", "resourceId", r->id, "resourceType",
                                         ec2_types[i].rtype, "key", json_object_get(t, "key"),
                                         "value", json_object_get(t, "value"));
                int f = ec2_filter(rq, rs, item, "resource-id resource-type key value");
                if (f < 0) {
                    json_decref(item);
                    json_decref(items);
                    return;
                }
                if (f)
                    json_array_append(items, item);
                json_decref(item);
            }
        }
    aws_reply(rq, rs, json_pack("{s:o}", "tagSet", items));
}

static void ec2_describe_azs(sim_req *rq, sim_resp *rs)
{
    const char *region = aws_region(rq);
    json_t *items = json_array();
    for (int i = 0; i < 3; i++) {
        char *zone = hoist_xasprintf("%s%c", region, 'a' + i), *zid = hoist_xasprintf("az%d", i + 1);
        json_t *z = json_pack("{s:s,s:s,s:[],s:s,s:s,s:s,s:s,s:s,s:s}", "zoneState", "available",
                              "optInStatus", "opt-in-not-required", "messageSet", "regionName",
                              region, "zoneName", zone, "zoneId", zid, "groupName", region,
                              "networkBorderGroup", region, "zoneType", "availability-zone");
        int f = ec2_filter(rq, rs, z, "zone-name zone-id region-name zone-type group-name "
                                      "opt-in-status zone-state");
        if (f > 0)
            json_array_append(items, z);
        json_decref(z);
        free(zone);
        free(zid);
        if (f < 0) {
            json_decref(items);
            return;
        }
    }
    aws_reply(rq, rs, json_pack("{s:o}", "availabilityZoneInfo", items));
}

void sim_aws_ec2_register(void)
{
    static const struct {
        const char *action;
        sim_handler h;
        int mutating;
    } ops[] = {
        {"CreateVpc", ec2_create_vpc, 1},
        {"DescribeVpcs", ec2_describe_vpcs, 0},
        {"DeleteVpc", ec2_delete_vpc, 1},
        {"ModifyVpcAttribute", ec2_modify_vpc_attribute, 1},
        {"CreateSubnet", ec2_create_subnet, 1},
        {"DescribeSubnets", ec2_describe_subnets, 0},
        {"DeleteSubnet", ec2_delete_subnet, 1},
        {"CreateInternetGateway", ec2_create_igw, 1},
        {"DescribeInternetGateways", ec2_describe_igws, 0},
        {"AttachInternetGateway", ec2_attach_igw, 1},
        {"DetachInternetGateway", ec2_detach_igw, 1},
        {"DeleteInternetGateway", ec2_delete_igw, 1},
        {"CreateRouteTable", ec2_create_rtb, 1},
        {"DescribeRouteTables", ec2_describe_rtbs, 0},
        {"CreateRoute", ec2_create_route, 1},
        {"ReplaceRoute", ec2_replace_route, 1},
        {"AssociateRouteTable", ec2_associate_rtb, 1},
        {"DisassociateRouteTable", ec2_disassociate_rtb, 1},
        {"DeleteRouteTable", ec2_delete_rtb, 1},
        {"AllocateAddress", ec2_allocate_address, 1},
        {"DescribeAddresses", ec2_describe_addresses, 0},
        {"ReleaseAddress", ec2_release_address, 1},
        {"CreateNatGateway", ec2_create_nat, 1},
        {"DescribeNatGateways", ec2_describe_nats, 0},
        {"DeleteNatGateway", ec2_delete_nat, 1},
        {"CreateSecurityGroup", ec2_create_sg, 1},
        {"DescribeSecurityGroups", ec2_describe_sgs, 0},
        {"AuthorizeSecurityGroupIngress", ec2_authorize, 1},
        {"RevokeSecurityGroupIngress", ec2_revoke, 1},
        {"DeleteSecurityGroup", ec2_delete_sg, 1},
        {"CreateTags", ec2_create_tags, 1},
        {"DescribeTags", ec2_describe_tags, 0},
        {"DescribeAvailabilityZones", ec2_describe_azs, 0},
    };
    for (size_t i = 0; i < EC2_NTYPES; i++)
        sim_kind_add(ec2_types[i].kind);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        aws_op(&aws_ec2, ops[i].action, ops[i].h, ops[i].mutating);
}

json_t *aws_ec2_subnet(const char *id, const char *region)
{
    sim_res *r = sim_res_get(&ec2_subnet, id);
    return r && !r->delete_ms && strcmp(r->region, region) == 0 ? r->body : NULL;
}

/* The VPC that internet gateway @g is attached to, or NULL. */
static const char *ec2_igw_vpc(sim_res *g)
{
    json_t *a = json_array_get(json_object_get(g->body, "attachmentSet"), 0);
    return json_string_value(json_object_get(a, "vpcId"));
}

int aws_ec2_subnet_egress(const char *id, const char *region)
{
    sim_res *s = sim_res_get(&ec2_subnet, id), *t, *main_rtb = NULL, *rtb = NULL;
    if (!s || s->delete_ms || strcmp(s->region, region) != 0)
        return 0;
    /* The subnet's route table: its explicit association, else the main one. */
    for (t = sim_res_first(&ec2_rtb, s->parent); t; t = sim_res_next(t, &ec2_rtb, s->parent)) {
        json_t *a;
        size_t i;
        json_array_foreach(json_object_get(t->body, "associationSet"), i, a) {
            const char *sub = json_string_value(json_object_get(a, "subnetId"));
            if (sub && strcmp(sub, id) == 0)
                rtb = t;
        }
        if (ec2_rtb_main(t))
            main_rtb = t;
    }
    if (!rtb)
        rtb = main_rtb;
    json_t *x;
    size_t i;
    json_array_foreach(rtb ? json_object_get(ec2_render(rtb), "routeSet") : NULL, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "destinationCidrBlock")), "0.0.0.0/0") != 0)
            continue;
        const char *gw = json_string_value(json_object_get(x, "gatewayId"));
        sim_res *g = gw ? sim_res_get(&ec2_igw, gw) : NULL;
        if (g && ec2_igw_vpc(g) && strcmp(ec2_igw_vpc(g), s->parent) == 0)
            return 1;
        if (json_object_get(x, "natGatewayId") &&
            strcmp(json_string_value(json_object_get(x, "state")), "active") == 0)
            return 2;
    }
    return 0;
}
