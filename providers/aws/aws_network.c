/*
 * aws_network.c - the network: a VPC (DNS support and hostnames), a public
 * and a private subnet in each of two availability zones, an internet
 * gateway, a public route table (0.0.0.0/0 -> igw), NAT gateway(s) with
 * Elastic IPs in the public subnets and private route table(s) sending
 * 0.0.0.0/0 to them (network.nat: single, one for both zones, or per_az),
 * and two security groups: one for the cluster, one for the databases (the
 * database node admits the cluster group on its engine port).  Nodes live
 * in the private subnets: without the NAT route they could neither join
 * EKS nor pull images.  Subnets carry the tags EKS and the Kubernetes load
 * balancer controllers look for (kubernetes.io/role/elb on public ones,
 * kubernetes.io/role/internal-elb on private ones, and
 * kubernetes.io/cluster/<cluster>=shared).
 *
 * EC2 creates take no idempotency token here (except CreateRouteTable and
 * CreateNatGateway), so every object carries a Name tag unique in the
 * environment and hoist's tags; ensure looks each one up by those tags
 * before creating it.  Destroy deletes the NAT gateways first and waits
 * until AWS reports them deleted (it is asynchronous), then releases the
 * addresses, before the internet gateway and the subnets can go.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NET_ZONES 2

typedef struct net {
    aws_prov *p;
    hoist_ctx *ctx;
    const hoist_resource *r;
    char *vpc, *cidr, *igw, *rt_pub, *sg_cluster, *sg_db;
    char *azs[NET_ZONES], *pub[NET_ZONES], *priv[NET_ZONES];
    char *eip[NET_ZONES], *nat[NET_ZONES], *rt_priv[NET_ZONES];
    int nats;    /* NAT gateways and private route tables: 1 (single) or NET_ZONES */
    int mutate;  /* ensure: create what is missing; observe: only look */
    int missing; /* observe: something is not there */
    int waiting; /* a NAT gateway is still pending */
} net;

static void net_clear(net *n)
{
    free(n->vpc);
    free(n->cidr);
    free(n->igw);
    free(n->rt_pub);
    free(n->sg_cluster);
    free(n->sg_db);
    for (int i = 0; i < NET_ZONES; i++) {
        free(n->azs[i]);
        free(n->pub[i]);
        free(n->priv[i]);
        free(n->eip[i]);
        free(n->nat[i]);
        free(n->rt_priv[i]);
    }
}

/* The NAT gateway states that count as "there": a deleting or deleted one
   does not (AWS lists those for an hour), a failed one is reported. */
static const char *const nat_live[] = {"pending", "available", "failed", NULL};

/* Filters selecting this environment's network objects (and @name's Name tag). */
static int net_filters(aws_params *q, const hoist_resource *r, const char *vpc, const char *name)
{
    const char *f[][2] = {{"tag:hoist:project", r->project}, {"tag:hoist:env", r->env},
                          {"tag:hoist:resource", r->name}, {"vpc-id", vpc}, {"tag:Name", name}};
    int n = 1;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i][1])
            continue;
        char *k = hoist_kit_xasprintf("Filter.%d.Name", n);
        char *v = hoist_kit_xasprintf("Filter.%d.Value.1", n);
        aws_param(q, k, "%s", f[i][0]);
        aws_param(q, v, "%s", f[i][1]);
        free(k);
        free(v);
        n++;
    }
    return n;
}

/*
 * Describe @action's objects of this environment (inside @vpc when given,
 * named @name when given).  On HOIST_OK c->xml holds the answer and *@first
 * the first item of @set (or NULL).
 */
static hoist_status net_describe(net *n, const char *action, const char *set, const char *vpc,
                                 const char *name, aws_call *c, const hoist_xml_node **first)
{
    aws_params q = {0};
    int k = net_filters(&q, n->r, vpc, name);
    /* Look-ups by name (ensure, observe) skip NAT gateways on their way out. */
    if (name && strcmp(action, "DescribeNatGateways") == 0) {
        char *f = hoist_kit_xasprintf("Filter.%d.Name", k);
        aws_param(&q, f, "state");
        for (int i = 0; nat_live[i]; i++) {
            char *v = hoist_kit_xasprintf("Filter.%d.Value.%d", k, i + 1);
            aws_param(&q, v, "%s", nat_live[i]);
            free(v);
        }
        free(f);
    }
    c->idempotent = 1;
    hoist_status st = aws_query(n->p, n->ctx, "ec2", action, &q, c);
    aws_params_free(&q);
    *first = NULL;
    if (st == HOIST_OK) {
        char *path = hoist_kit_xasprintf("%s/item", set);
        *first = n->p->host->xml_first(n->p->host->xml_root(c->xml), path);
        free(path);
    }
    return st;
}

/*
 * Find-or-create one EC2 object named @name; *@id gets its id.  A create
 * that fails transiently (its answer may have been lost) is followed by a
 * new look-up before any new create, a few times within this call, so a
 * flaky API converges without waiting for the core's backoff.
 */
static hoist_status net_object(net *n, const char *action, const char *set, const char *idf,
                               const char *vpc, const char *name, const char *create,
                               const char *rtype, aws_params *cq, const char *created_path,
                               char **id)
{
    aws_call c = {0};
    const hoist_xml_node *it;
    hoist_status st = HOIST_OK;
    size_t base = cq->kv ? json_array_size(cq->kv) : 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt) {
            if (n->p->host->cancelled(n->ctx))
                break;
            usleep(200000u * (unsigned)attempt);
        }
        aws_call_clear(n->p, &c);
        st = net_describe(n, action, set, vpc, name, &c, &it);
        if (st != HOIST_OK)
            break;
        if (it) {
            *id = aws_xtext(n->p, it, idf);
            break;
        }
        if (!n->mutate) {
            n->missing = 1;
            break;
        }
        aws_call_clear(n->p, &c);
        /* Only CreateRouteTable and CreateNatGateway carry a token; the others
           are never re-sent by the transport (the look-up above finds them). */
        c.idempotent = strcmp(create, "CreateRouteTable") == 0 ||
                       strcmp(create, "CreateNatGateway") == 0;
        while (cq->kv && json_array_size(cq->kv) > base)
            json_array_remove(cq->kv, json_array_size(cq->kv) - 1);
        aws_param(cq, "TagSpecification.1.ResourceType", "%s", rtype);
        aws_param_tags(cq, "TagSpecification.1.Tag", 1, n->r, name);
        st = aws_query(n->p, n->ctx, "ec2", create, cq, &c);
        if (st == HOIST_OK) {
            *id = aws_xtext(n->p, n->p->host->xml_root(c.xml), created_path);
            if (!*id)
                st = n->p->host->fail(n->ctx, HOIST_E_INTERNAL, "ec2:%s: no %s in the answer",
                                      create, created_path);
            else
                n->p->host->log(n->ctx, HOIST_LOG_INFO, "created %s %s (%s)", rtype, *id, name);
        }
        if (st != HOIST_E_TRANSIENT)
            break;
    }
    aws_call_clear(n->p, &c);
    return st;
}

static hoist_status net_zones(net *n)
{
    aws_params q = {0};
    aws_call c = {.idempotent = 1};
    aws_param(&q, "Filter.1.Name", "zone-type");
    aws_param(&q, "Filter.1.Value.1", "availability-zone");
    aws_param(&q, "Filter.2.Name", "zone-state");
    aws_param(&q, "Filter.2.Value.1", "available");
    hoist_status st = aws_query(n->p, n->ctx, "ec2", "DescribeAvailabilityZones", &q, &c);
    aws_params_free(&q);
    if (st != HOIST_OK)
        return st;
    int k = 0;
    for (const hoist_xml_node *z = n->p->host->xml_first(n->p->host->xml_root(c.xml),
                                                          "availabilityZoneInfo/item");
         z && k < NET_ZONES; z = n->p->host->xml_next(z))
        n->azs[k++] = aws_xtext(n->p, z, "zoneName");
    aws_call_clear(n->p, &c);
    if (k < NET_ZONES)
        return n->p->host->fail(n->ctx, HOIST_E_INVALID,
                                "region %s has %d available availability zone(s); hoist needs %d "
                                "(EKS and RDS require two)", n->p->region, k, NET_ZONES);
    return HOIST_OK;
}

/* "a.b.0.0/16" -> subnet @i of /20 in it; NULL if @cidr is not a /16. */
static char *net_subnet_cidr(const char *cidr, int i)
{
    unsigned a, b, c, d, bits;
    if (sscanf(cidr, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &bits) != 5 || bits != 16 || a > 255 ||
        b > 255)
        return NULL;
    return hoist_kit_xasprintf("%u.%u.%u.0/20", a, b, (unsigned)i * 16);
}

static hoist_status net_vpc(net *n)
{
    char *name = aws_name(n->r, AWS_NAME_TAG, "vpc");
    const char *rec = aws_jstr(n->r->recorded, "vpc_id");
    aws_call c = {.idempotent = 1, .quiet = (const char *const[]){"InvalidVpcID.NotFound", NULL}};
    hoist_status st = HOIST_OK;
    /* The recorded id first (one cheap call), then the tags. */
    if (rec) {
        aws_params q = {0};
        aws_param(&q, "VpcId.1", "%s", rec);
        st = aws_query(n->p, n->ctx, "ec2", "DescribeVpcs", &q, &c);
        aws_params_free(&q);
        if (st == HOIST_OK &&
            n->p->host->xml_first(n->p->host->xml_root(c.xml), "vpcSet/item"))
            n->vpc = hoist_kit_xstrdup(rec);
        else if (st != HOIST_E_NOTFOUND && st != HOIST_OK)
            goto cleanup;
        st = HOIST_OK;
    }
    if (!n->vpc) {
        aws_params cq = {0};
        aws_param(&cq, "CidrBlock", "%s", n->cidr);
        st = net_object(n, "DescribeVpcs", "vpcSet", "vpcId", NULL, name, "CreateVpc", "vpc", &cq,
                        "vpc/vpcId", &n->vpc);
        aws_params_free(&cq);
        if (st != HOIST_OK || !n->vpc)
            goto cleanup;
    }
    /* DNS attributes: set once per VPC (EC2 has no way to read them in one
       call with the write, and setting them again is harmless). */
    const char *done = aws_jstr(n->r->recorded, "dns_vpc");
    if (n->mutate && !(done && strcmp(done, n->vpc) == 0)) {
        const char *attrs[] = {"EnableDnsSupport.Value", "EnableDnsHostnames.Value"};
        for (int i = 0; i < 2 && st == HOIST_OK; i++) {
            aws_params q = {0};
            aws_call m = {.idempotent = 1};
            aws_param(&q, "VpcId", "%s", n->vpc);
            aws_param(&q, attrs[i], "true");
            st = aws_query(n->p, n->ctx, "ec2", "ModifyVpcAttribute", &q, &m);
            aws_params_free(&q);
            aws_call_clear(n->p, &m);
        }
    }
cleanup:
    aws_call_clear(n->p, &c);
    free(name);
    return st;
}

/* The tag giving a subnet's load balancer role. */
static const char *net_role_tag(int pub)
{
    return pub ? "kubernetes.io/role/elb" : "kubernetes.io/role/internal-elb";
}

/* "kubernetes.io/cluster/<cluster>": the EKS cluster is named like the
   environment (aws_name without a suffix), so the network knows it. */
static char *net_cluster_tag(const hoist_resource *r)
{
    char *cl = aws_name(r, AWS_NAME_EKS_CLUSTER, NULL), *t = hoist_kit_xasprintf("kubernetes.io/cluster/%s", cl);
    free(cl);
    return t;
}

/* Subnets made before hoist tagged them get the role and cluster tags. */
static hoist_status net_subnet_tags(net *n, const char *ctag)
{
    aws_call c = {0};
    const hoist_xml_node *it;
    hoist_status st = net_describe(n, "DescribeSubnets", "subnetSet", n->vpc, NULL, &c, &it);
    for (; st == HOIST_OK && it; it = n->p->host->xml_next(it)) {
        char *id = aws_xtext(n->p, it, "subnetId");
        int pub = 0, ours = 0; /* only the four subnets hoist cut */
        for (int z = 0; z < NET_ZONES; z++) {
            pub |= id && n->pub[z] && strcmp(id, n->pub[z]) == 0;
            ours |= id && n->priv[z] && strcmp(id, n->priv[z]) == 0;
        }
        ours |= pub;
        char *role = aws_ec2_tag(n->p, it, net_role_tag(pub)), *cl = aws_ec2_tag(n->p, it, ctag);
        if (ours && (!role || !cl)) {
            if (!n->mutate) {
                n->missing = 1;
            } else {
                aws_params q = {0};
                aws_call m = {.idempotent = 1}; /* tagging again is harmless */
                aws_param(&q, "ResourceId.1", "%s", id);
                aws_param(&q, "Tag.1.Key", "%s", net_role_tag(pub));
                aws_param(&q, "Tag.1.Value", "1");
                aws_param(&q, "Tag.2.Key", "%s", ctag);
                aws_param(&q, "Tag.2.Value", "shared");
                st = aws_query(n->p, n->ctx, "ec2", "CreateTags", &q, &m);
                aws_params_free(&q);
                aws_call_clear(n->p, &m);
            }
        }
        free(id);
        free(role);
        free(cl);
    }
    aws_call_clear(n->p, &c);
    return st;
}

static hoist_status net_subnets(net *n)
{
    hoist_status st = HOIST_OK;
    char *ctag = net_cluster_tag(n->r);
    for (int i = 0; i < 2 * NET_ZONES && st == HOIST_OK; i++) {
        int pub = i < NET_ZONES, z = i % NET_ZONES;
        char *suffix = hoist_kit_xasprintf("%s-%c", pub ? "public" : "private",
                                           n->azs[z][strlen(n->azs[z]) - 1]);
        char *name = aws_name(n->r, AWS_NAME_TAG, suffix), *cidr = net_subnet_cidr(n->cidr, i);
        aws_params cq = {0};
        aws_param(&cq, "VpcId", "%s", n->vpc);
        aws_param(&cq, "CidrBlock", "%s", cidr);
        aws_param(&cq, "AvailabilityZone", "%s", n->azs[z]);
        /* Kubernetes load balancers find their subnets by these tags. */
        aws_param(&cq, "TagSpecification.1.Tag.5.Key", "%s", net_role_tag(pub));
        aws_param(&cq, "TagSpecification.1.Tag.5.Value", "1");
        aws_param(&cq, "TagSpecification.1.Tag.6.Key", "%s", ctag);
        aws_param(&cq, "TagSpecification.1.Tag.6.Value", "shared");
        st = net_object(n, "DescribeSubnets", "subnetSet", "subnetId", n->vpc, name,
                        "CreateSubnet", "subnet", &cq, "subnet/subnetId",
                        pub ? &n->pub[z] : &n->priv[z]);
        aws_params_free(&cq);
        free(suffix);
        free(name);
        free(cidr);
    }
    if (st == HOIST_OK && !n->missing)
        st = net_subnet_tags(n, ctag);
    free(ctag);
    return st;
}

/* The internet gateway, attached to the VPC. */
static hoist_status net_igw(net *n)
{
    char *name = aws_name(n->r, AWS_NAME_TAG, "igw");
    aws_call c = {0};
    const hoist_xml_node *it;
    aws_params cq = {0};
    hoist_status st = net_object(n, "DescribeInternetGateways", "internetGatewaySet",
                                 "internetGatewayId", NULL, name, "CreateInternetGateway",
                                 "internet-gateway", &cq, "internetGateway/internetGatewayId",
                                 &n->igw);
    aws_params_free(&cq);
    if (st != HOIST_OK || !n->igw)
        goto cleanup;
    st = net_describe(n, "DescribeInternetGateways", "internetGatewaySet", NULL, name, &c, &it);
    if (st != HOIST_OK)
        goto cleanup;
    int attached = 0;
    for (const hoist_xml_node *a = it ? n->p->host->xml_first(it, "attachmentSet/item") : NULL; a;
         a = n->p->host->xml_next(a))
        attached |= aws_xis(n->p, a, "vpcId", n->vpc);
    if (!attached && !n->mutate)
        n->missing = 1;
    else if (!attached) {
        aws_params q = {0};
        aws_call m = {.idempotent = 1, .quiet = (const char *const[]){"Resource.AlreadyAssociated", NULL}};
        aws_param(&q, "InternetGatewayId", "%s", n->igw);
        aws_param(&q, "VpcId", "%s", n->vpc);
        st = aws_query(n->p, n->ctx, "ec2", "AttachInternetGateway", &q, &m);
        if (st == HOIST_E_CONFLICT && strcmp(m.code, "Resource.AlreadyAssociated") == 0)
            st = HOIST_OK; /* a retry of an attach whose answer was lost */
        aws_params_free(&q);
        aws_call_clear(n->p, &m);
    }
cleanup:
    aws_call_clear(n->p, &c);
    free(name);
    return st;
}

/*
 * Route table @suffix with its default route, 0.0.0.0/0 -> the gateway
 * @target (@key: GatewayId or NatGatewayId), associated with the @count
 * @subnets; *@id gets its id.  A default route to anything else (a NAT
 * gateway replaced, a blackhole) is replaced.
 */
static hoist_status net_route_table(net *n, const char *suffix, char **id, char *const *subnets,
                                    int count, const char *key, const char *target)
{
    char *name = aws_name(n->r, AWS_NAME_TAG, suffix);
    char *tok = aws_token(n->r, name);
    char field[32];
    aws_call c = {0};
    const hoist_xml_node *it;
    aws_params cq = {0};
    snprintf(field, sizeof field, "%c%s", key[0] - 'A' + 'a', key + 1); /* the XML name */
    aws_param(&cq, "VpcId", "%s", n->vpc);
    aws_param(&cq, "ClientToken", "%s", tok);
    hoist_status st = net_object(n, "DescribeRouteTables", "routeTableSet", "routeTableId", n->vpc,
                                 name, "CreateRouteTable", "route-table", &cq,
                                 "routeTable/routeTableId", id);
    aws_params_free(&cq);
    if (st != HOIST_OK || !*id)
        goto cleanup;
    st = net_describe(n, "DescribeRouteTables", "routeTableSet", n->vpc, name, &c, &it);
    if (st != HOIST_OK || !it)
        goto cleanup;
    int has = 0, other = 0;
    for (const hoist_xml_node *rt = n->p->host->xml_first(it, "routeSet/item"); rt;
         rt = n->p->host->xml_next(rt)) {
        if (!aws_xis(n->p, rt, "destinationCidrBlock", "0.0.0.0/0"))
            continue;
        if (aws_xis(n->p, rt, field, target))
            has = 1;
        else
            other = 1;
    }
    if (!has && !n->mutate)
        n->missing = 1;
    else if (!has) {
        aws_params q = {0};
        aws_call m = {.idempotent = 1, .quiet = (const char *const[]){"RouteAlreadyExists", NULL}};
        aws_param(&q, "RouteTableId", "%s", *id);
        aws_param(&q, "DestinationCidrBlock", "0.0.0.0/0");
        aws_param(&q, key, "%s", target);
        st = aws_query(n->p, n->ctx, "ec2", other ? "ReplaceRoute" : "CreateRoute", &q, &m);
        if (st == HOIST_E_CONFLICT && strcmp(m.code, "RouteAlreadyExists") == 0)
            st = HOIST_OK; /* made by a call whose answer was lost */
        else if (st == HOIST_OK && other)
            n->p->host->log(n->ctx, HOIST_LOG_INFO, "route table %s: 0.0.0.0/0 now goes to %s",
                            *id, target);
        aws_params_free(&q);
        aws_call_clear(n->p, &m);
    }
    for (int z = 0; z < count && st == HOIST_OK; z++) {
        int assoc = 0;
        for (const hoist_xml_node *a = n->p->host->xml_first(it, "associationSet/item"); a;
             a = n->p->host->xml_next(a))
            assoc |= aws_xis(n->p, a, "subnetId", subnets[z]);
        if (assoc)
            continue;
        if (!n->mutate) {
            n->missing = 1;
            continue;
        }
        aws_params q = {0};
        aws_call m = {.idempotent = 1, .quiet = (const char *const[]){"Resource.AlreadyAssociated", NULL}};
        aws_param(&q, "RouteTableId", "%s", *id);
        aws_param(&q, "SubnetId", "%s", subnets[z]);
        st = aws_query(n->p, n->ctx, "ec2", "AssociateRouteTable", &q, &m);
        if (st == HOIST_E_CONFLICT && strcmp(m.code, "Resource.AlreadyAssociated") == 0)
            st = HOIST_OK; /* associated by a call whose answer was lost */
        aws_params_free(&q);
        aws_call_clear(n->p, &m);
    }
cleanup:
    aws_call_clear(n->p, &c);
    free(name);
    free(tok);
    return st;
}

/*
 * NAT gateway @z (in public subnet @z) with its Elastic IP.  The address is
 * found by its Name tag before one is allocated; CreateNatGateway carries a
 * token derived from the gateway's name and the address, so a create
 * repeated after a lost answer or a crash makes nothing twice.
 */
static hoist_status net_nat(net *n, int z)
{
    char letter = n->azs[z][strlen(n->azs[z]) - 1];
    char *sfx = hoist_kit_xasprintf("nat-%c", letter), *name = aws_name(n->r, AWS_NAME_TAG, sfx);
    char *esfx = hoist_kit_xasprintf("eip-%c", letter), *ename = aws_name(n->r, AWS_NAME_TAG, esfx);
    aws_call c = {0};
    const hoist_xml_node *it;
    hoist_status st = net_describe(n, "DescribeNatGateways", "natGatewaySet", n->vpc, name, &c, &it);
    if (st == HOIST_OK && it) {
        n->nat[z] = aws_xtext(n->p, it, "natGatewayId");
    } else if (st == HOIST_OK && !n->mutate) {
        n->missing = 1;
    } else if (st == HOIST_OK) {
        aws_params aq = {0};
        aws_param(&aq, "Domain", "vpc");
        st = net_object(n, "DescribeAddresses", "addressesSet", "allocationId", NULL, ename,
                        "AllocateAddress", "elastic-ip", &aq, "allocationId", &n->eip[z]);
        aws_params_free(&aq);
        if (st == HOIST_OK && n->eip[z]) {
            char *key = hoist_kit_xasprintf("%s/%s", name, n->eip[z]), *tok = aws_token(n->r, key);
            aws_params nq = {0};
            aws_param(&nq, "SubnetId", "%s", n->pub[z]);
            aws_param(&nq, "AllocationId", "%s", n->eip[z]);
            aws_param(&nq, "ConnectivityType", "public");
            aws_param(&nq, "ClientToken", "%s", tok);
            st = net_object(n, "DescribeNatGateways", "natGatewaySet", "natGatewayId", n->vpc,
                            name, "CreateNatGateway", "natgateway", &nq,
                            "natGateway/natGatewayId", &n->nat[z]);
            aws_params_free(&nq);
            free(key);
            free(tok);
        }
    }
    aws_call_clear(n->p, &c);
    /* Its state: routes through a pending gateway do not carry traffic yet. */
    if (st == HOIST_OK && n->nat[z]) {
        aws_params q = {0};
        aws_call s = {.idempotent = 1};
        aws_param(&q, "NatGatewayId.1", "%s", n->nat[z]);
        st = aws_query(n->p, n->ctx, "ec2", "DescribeNatGateways", &q, &s);
        const hoist_xml_node *g =
            st == HOIST_OK ? n->p->host->xml_first(n->p->host->xml_root(s.xml), "natGatewaySet/item")
                           : NULL;
        if (g && aws_xis(n->p, g, "state", "pending")) {
            n->waiting = 1;
        } else if (g && aws_xis(n->p, g, "state", "failed")) {
            char *code = aws_xtext(n->p, g, "failureCode"), *msg = aws_xtext(n->p, g, "failureMessage");
            st = n->p->host->fail(n->ctx, HOIST_E_CONFLICT,
                                  "NAT gateway %s (%s) failed: %s: %s; delete it (aws ec2 "
                                  "delete-nat-gateway --nat-gateway-id %s) or run `hoist "
                                  "destroy`, then deploy again", n->nat[z], name,
                                  code ? code : "?", msg ? msg : "no message", n->nat[z]);
            free(code);
            free(msg);
        }
        aws_params_free(&q);
        aws_call_clear(n->p, &s);
    }
    free(sfx);
    free(name);
    free(esfx);
    free(ename);
    return st;
}

/* The private route table(s): one per NAT gateway (network.nat), the
   first keeping the name it had before NAT gateways existed.  Made once
   the gateways are available (the walk polls until then), as AWS's own
   examples route only to an available gateway. */
static hoist_status net_private_routes(net *n)
{
    hoist_status st = HOIST_OK;
    if (n->waiting)
        return HOIST_OK;
    for (int i = 0; i < n->nats && st == HOIST_OK && !n->missing; i++) {
        char *sfx = i == 0 ? hoist_kit_xstrdup("private-rt")
                           : hoist_kit_xasprintf("private-rt-%c", n->azs[i][strlen(n->azs[i]) - 1]);
        st = net_route_table(n, sfx, &n->rt_priv[i], n->nats == 1 ? n->priv : &n->priv[i],
                             n->nats == 1 ? NET_ZONES : 1, "NatGatewayId", n->nat[i]);
        free(sfx);
    }
    return st;
}

static hoist_status net_sg(net *n, const char *what, const char *desc, char **id)
{
    char *name = aws_name(n->r, AWS_NAME_TAG, what);
    aws_params cq = {0};
    aws_param(&cq, "GroupName", "%s", name);
    aws_param(&cq, "GroupDescription", "%s", desc);
    aws_param(&cq, "VpcId", "%s", n->vpc);
    hoist_status st = net_object(n, "DescribeSecurityGroups", "securityGroupInfo", "groupId",
                                 n->vpc, name, "CreateSecurityGroup", "security-group", &cq,
                                 "groupId", id);
    aws_params_free(&cq);
    free(name);
    return st;
}

static json_t *net_outputs(net *n)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:[],s:[],s:[],s:[]}",
                          "id", n->vpc, "vpc_id", n->vpc, "dns_vpc", n->vpc, "region",
                          n->p->region, "cidr", n->cidr, "igw_id", n->igw, "public_route_table",
                          n->rt_pub, "private_route_table", n->rt_priv[0],
                          "cluster_security_group", n->sg_cluster, "database_security_group",
                          n->sg_db, "nat", n->nats == 1 ? "single" : "per_az", "zones",
                          "public_subnets", "private_subnets", "nat_gateways",
                          "private_route_tables");
    for (int i = 0; i < NET_ZONES; i++) {
        json_array_append_new(json_object_get(o, "zones"), json_string(n->azs[i]));
        json_array_append_new(json_object_get(o, "public_subnets"), json_string(n->pub[i]));
        json_array_append_new(json_object_get(o, "private_subnets"), json_string(n->priv[i]));
    }
    for (int i = 0; i < n->nats; i++) {
        json_array_append_new(json_object_get(o, "nat_gateways"), json_string(n->nat[i]));
        json_array_append_new(json_object_get(o, "private_route_tables"),
                              json_string(n->rt_priv[i]));
    }
    return o;
}

/* Walk every step; @mutate 0 only looks (observe). */
static hoist_status net_walk(net *n, hoist_result *out)
{
    hoist_status st;
    const char *cidr = aws_spec_str(n->r, "cidr", "10.0.0.0/16");
    const char *nat = aws_spec_str(n->r, "nat", "single");
    char *probe = net_subnet_cidr(cidr, 0);
    if (!probe)
        return n->p->host->fail(n->ctx, HOIST_E_INVALID,
                                "network.cidr '%s' must be an IPv4 /16 block such as 10.0.0.0/16 "
                                "(hoist cuts /20 subnets out of it)", cidr);
    free(probe);
    /* network.nat was checked when the driver started (aws_provider.c). */
    n->nats = strcmp(nat, "per_az") == 0 ? NET_ZONES : 1;
    n->cidr = hoist_kit_xstrdup(cidr);
    if ((st = net_zones(n)) != HOIST_OK || (st = net_vpc(n)) != HOIST_OK)
        return st;
    if (!n->vpc)
        return HOIST_E_NOTFOUND;
    if ((st = net_subnets(n)) != HOIST_OK || n->missing || (st = net_igw(n)) != HOIST_OK ||
        n->missing ||
        (st = net_route_table(n, "public-rt", &n->rt_pub, n->pub, NET_ZONES, "GatewayId",
                              n->igw)) != HOIST_OK)
        return st;
    for (int z = 0; z < n->nats && !n->missing; z++)
        if ((st = net_nat(n, z)) != HOIST_OK)
            return st;
    if ((st = net_private_routes(n)) != HOIST_OK ||
        (st = net_sg(n, "cluster", "hoist: the Kubernetes cluster", &n->sg_cluster)) != HOIST_OK ||
        (st = net_sg(n, "db", "hoist: managed databases (the cluster group only)", &n->sg_db)) !=
            HOIST_OK)
        return st;
    if (n->missing || !n->sg_cluster || !n->sg_db)
        return HOIST_PENDING; /* observe: partly there */
    if (n->waiting) {
        out->poll_ms = aws_poll_ms(n->p, 10000);
        out->status_text = "waiting for the NAT gateway(s) to become available";
        return HOIST_PENDING;
    }
    out->outputs = net_outputs(n);
    return HOIST_OK;
}

static hoist_status net_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    net n = {.p = prov, .ctx = ctx, .r = r, .mutate = 1};
    hoist_status st = net_walk(&n, out);
    net_clear(&n);
    return st;
}

static hoist_status net_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_result *out)
{
    net n = {.p = prov, .ctx = ctx, .r = r, .mutate = 0};
    hoist_status st = net_walk(&n, out);
    if (st == HOIST_E_NOTFOUND)
        ((aws_prov *)prov)->host->log(ctx, HOIST_LOG_DEBUG, "no VPC tagged for this environment");
    net_clear(&n);
    return st;
}

/* ------------------------------------------------------------------ destroy */

/* A delete-style call where NotFound means done and DependencyViolation "later". */
static hoist_status net_delete(net *n, const char *action, const char *k1, const char *v1,
                               const char *k2, const char *v2, int *busy)
{
    static const char *const quiet[] = {"InvalidVpcID.NotFound", "InvalidSubnetID.NotFound",
                                        "InvalidInternetGatewayID.NotFound",
                                        "InvalidRouteTableID.NotFound", "InvalidGroup.NotFound",
                                        "InvalidAssociationID.NotFound", "Gateway.NotAttached",
                                        "DependencyViolation", "NatGatewayNotFound",
                                        "InvalidAllocationID.NotFound",
                                        "InvalidIPAddress.InUse", NULL};
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = quiet};
    aws_param(&q, k1, "%s", v1);
    if (k2)
        aws_param(&q, k2, "%s", v2);
    hoist_status st = aws_query(n->p, n->ctx, "ec2", action, &q, &c);
    aws_params_free(&q);
    if (st != HOIST_OK && (strcmp(c.code, "DependencyViolation") == 0 ||
                           strcmp(c.code, "InvalidIPAddress.InUse") == 0)) {
        n->p->host->log(n->ctx, HOIST_LOG_DEBUG, "%s %s: still in use, retrying later", action, v1);
        *busy = 1;
        st = HOIST_OK;
    } else if (st == HOIST_E_NOTFOUND || strcmp(c.code, "Gateway.NotAttached") == 0 ||
               strstr(c.code, "NotFound")) {
        st = HOIST_OK; /* already gone */
    }
    aws_call_clear(n->p, &c);
    return st;
}

/* Every @set item of this environment (any VPC), as ids. */
static hoist_status net_ids(net *n, const char *action, const char *set, const char *idf,
                            const char *vpc, json_t *ids, aws_call *keep)
{
    const hoist_xml_node *it;
    hoist_status st = net_describe(n, action, set, vpc, NULL, keep, &it);
    for (; st == HOIST_OK && it; it = n->p->host->xml_next(it)) {
        char *id = aws_xtext(n->p, it, idf);
        if (id)
            json_array_append_new(ids, json_string(id));
        free(id);
    }
    return st;
}

static hoist_status net_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_result *out)
{
    net n = {.p = prov, .ctx = ctx, .r = r};
    const hoist_host *h = n.p->host;
    json_t *vpcs = json_array(), *ids = json_array(), *v;
    aws_call c = {0};
    int busy = 0;
    size_t i;
    hoist_status st = net_ids(&n, "DescribeVpcs", "vpcSet", "vpcId", NULL, vpcs, &c);
    aws_call_clear(n.p, &c);
    const char *rec = aws_jstr(r->recorded, "vpc_id");
    int seen = 0;
    json_array_foreach(vpcs, i, v) seen |= rec && strcmp(json_string_value(v), rec) == 0;
    if (rec && !seen && st == HOIST_OK)
        json_array_append_new(vpcs, json_string(rec)); /* recorded but untagged: still ours */

    /* NAT gateways first: they hold the Elastic IPs and keep the internet
       gateway and their subnets busy until AWS reports them deleted. */
    int nat_busy = 0;
    if (st == HOIST_OK) {
        const hoist_xml_node *it;
        st = net_describe(&n, "DescribeNatGateways", "natGatewaySet", NULL, NULL, &c, &it);
        for (; st == HOIST_OK && it; it = h->xml_next(it)) {
            if (aws_xis(n.p, it, "state", "deleted"))
                continue;
            char *id = aws_xtext(n.p, it, "natGatewayId");
            nat_busy = 1;
            if (!aws_xis(n.p, it, "state", "deleting"))
                st = net_delete(&n, "DeleteNatGateway", "NatGatewayId", id, NULL, NULL, &busy);
            free(id);
        }
        aws_call_clear(n.p, &c);
    }
    /* Then the addresses they held. */
    if (st == HOIST_OK && !nat_busy) {
        json_array_clear(ids);
        st = net_ids(&n, "DescribeAddresses", "addressesSet", "allocationId", NULL, ids, &c);
        aws_call_clear(n.p, &c);
        json_array_foreach(ids, i, v) if (st == HOIST_OK) st =
            net_delete(&n, "ReleaseAddress", "AllocationId", json_string_value(v), NULL, NULL, &busy);
    }
    if (st == HOIST_OK && (nat_busy || busy)) {
        json_decref(vpcs);
        json_decref(ids);
        net_clear(&n);
        out->poll_ms = aws_poll_ms(n.p, 5000);
        out->status_text = nat_busy ? "waiting for the NAT gateways to be deleted"
                                    : "waiting for the Elastic IPs to be released";
        return HOIST_PENDING;
    }

    /* Route tables: associations first, then the tables (their routes go with them). */
    json_array_foreach(vpcs, i, v) {
        const char *vpc = json_string_value(v);
        const hoist_xml_node *it;
        if (st != HOIST_OK)
            break;
        st = net_describe(&n, "DescribeRouteTables", "routeTableSet", vpc, NULL, &c, &it);
        for (; st == HOIST_OK && it; it = h->xml_next(it)) {
            for (const hoist_xml_node *a = h->xml_first(it, "associationSet/item");
                 a && st == HOIST_OK; a = h->xml_next(a)) {
                if (aws_xis(n.p, a, "main", "true"))
                    continue;
                char *aid = aws_xtext(n.p, a, "routeTableAssociationId");
                st = net_delete(&n, "DisassociateRouteTable", "AssociationId", aid, NULL, NULL, &busy);
                free(aid);
            }
            char *id = aws_xtext(n.p, it, "routeTableId");
            if (st == HOIST_OK)
                st = net_delete(&n, "DeleteRouteTable", "RouteTableId", id, NULL, NULL, &busy);
            free(id);
        }
        aws_call_clear(n.p, &c);
    }
    /* Internet gateways: detach, delete. */
    if (st == HOIST_OK) {
        const hoist_xml_node *it;
        st = net_describe(&n, "DescribeInternetGateways", "internetGatewaySet", NULL, NULL, &c, &it);
        for (; st == HOIST_OK && it; it = h->xml_next(it)) {
            char *id = aws_xtext(n.p, it, "internetGatewayId");
            for (const hoist_xml_node *a = h->xml_first(it, "attachmentSet/item");
                 a && st == HOIST_OK; a = h->xml_next(a)) {
                char *vpc = aws_xtext(n.p, a, "vpcId");
                st = net_delete(&n, "DetachInternetGateway", "InternetGatewayId", id, "VpcId", vpc,
                                &busy);
                free(vpc);
            }
            if (st == HOIST_OK)
                st = net_delete(&n, "DeleteInternetGateway", "InternetGatewayId", id, NULL, NULL,
                                &busy);
            free(id);
        }
        aws_call_clear(n.p, &c);
    }
    /* Subnets, then security groups (databases' first: it names the cluster's). */
    json_array_foreach(vpcs, i, v) {
        const char *vpc = json_string_value(v);
        size_t j;
        json_t *x;
        if (st != HOIST_OK)
            break;
        json_array_clear(ids);
        st = net_ids(&n, "DescribeSubnets", "subnetSet", "subnetId", vpc, ids, &c);
        aws_call_clear(n.p, &c);
        json_array_foreach(ids, j, x) if (st == HOIST_OK) st =
            net_delete(&n, "DeleteSubnet", "SubnetId", json_string_value(x), NULL, NULL, &busy);
        for (int k = 0; k < 2 && st == HOIST_OK; k++) {
            char *name = aws_name(r, AWS_NAME_TAG, k == 0 ? "db" : "cluster");
            const hoist_xml_node *it;
            st = net_describe(&n, "DescribeSecurityGroups", "securityGroupInfo", vpc, name, &c, &it);
            char *id = st == HOIST_OK && it ? aws_xtext(n.p, it, "groupId") : NULL;
            aws_call_clear(n.p, &c);
            if (id)
                st = net_delete(&n, "DeleteSecurityGroup", "GroupId", id, NULL, NULL, &busy);
            free(id);
            free(name);
        }
        if (st == HOIST_OK && !busy)
            st = net_delete(&n, "DeleteVpc", "VpcId", vpc, NULL, NULL, &busy);
    }
    json_decref(vpcs);
    json_decref(ids);
    net_clear(&n);
    if (st == HOIST_OK && busy) {
        out->poll_ms = aws_poll_ms(n.p, 2000);
        n.p->host->progress(n.ctx, "waiting for dependents to go");
        return HOIST_PENDING;
    }
    return st;
}

const hoist_network_ops aws_network_ops = {
    .struct_size = sizeof aws_network_ops,
    .ensure = net_ensure,
    .observe = net_observe,
    .destroy = net_destroy,
};
