/*
 * aws_database.c - managed databases on RDS (PostgreSQL, MySQL): a DB
 * subnet group over the network's private subnets, the database security
 * group opened to the cluster group on the engine port, and a DB instance
 * (encrypted, not publicly accessible).  READY when `available`.
 *
 * The master password is generated (host->random_secret) and handed back
 * as a secret in a first PENDING answer, before CreateDBInstance is sent:
 * the core records it, so a create repeated after a crash or a lost answer
 * always uses the password that state knows.  The identifier is the key:
 * a repeated create gets DBInstanceAlreadyExists and carries on.
 *
 * Redis (ElastiCache) and MongoDB are not offered: the descriptor's caps
 * leave them out.
 */
#include "aws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_USER "hoist"

const char *aws_db_class(const char *size)
{
    if (!size || !*size || strcmp(size, "small") == 0)
        return "db.t3.micro";
    if (strcmp(size, "medium") == 0)
        return "db.t3.medium";
    if (strcmp(size, "large") == 0)
        return "db.m5.large";
    return size; /* a literal class such as db.r6g.large */
}

const char *aws_db_engine(const char *engine)
{
    if (!engine)
        return NULL;
    if (strcmp(engine, "postgresql") == 0 || strcmp(engine, "postgres") == 0)
        return "postgres";
    if (strcmp(engine, "mysql") == 0)
        return "mysql";
    return NULL;
}

/* The database name inside the instance: letters, digits, '_'; starts with a letter. */
static char *db_dbname(const char *name)
{
    char *s = hoist_kit_xasprintf("%s%s", isalpha((unsigned char)name[0]) ? "" : "db", name);
    for (char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    if (strlen(s) > 63)
        s[63] = '\0';
    return s;
}

typedef struct db {
    aws_prov *p;
    hoist_ctx *ctx;
    const hoist_resource *r;
    const char *engine; /* RDS engine */
    char *id, *dbname;
    int port;
} db;

/* The instance (DescribeDBInstances); NOTFOUND quietly.  c->xml kept. */
static hoist_status db_describe(db *d, aws_call *c, const hoist_xml_node **inst)
{
    static const char *const quiet[] = {"DBInstanceNotFound", "DBInstanceNotFoundFault", NULL};
    aws_params q = {0};
    aws_param(&q, "DBInstanceIdentifier", "%s", d->id);
    c->idempotent = 1;
    c->quiet = quiet;
    hoist_status st = aws_query(d->p, d->ctx, "rds", "DescribeDBInstances", &q, c);
    aws_params_free(&q);
    *inst = NULL;
    if (st == HOIST_OK) {
        *inst = d->p->host->xml_first(d->p->host->xml_root(c->xml),
                                      "DescribeDBInstancesResult/DBInstances/DBInstance");
        if (!*inst)
            st = HOIST_E_NOTFOUND;
    }
    return st;
}

static hoist_status db_subnet_group(db *d, json_t *netw)
{
    static const char *const quiet[] = {"DBSubnetGroupNotFoundFault", "DBSubnetGroupAlreadyExists",
                                        "DBSubnetGroupAlreadyExistsFault", NULL};
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = quiet};
    aws_param(&q, "DBSubnetGroupName", "%s", d->id);
    hoist_status st = aws_query(d->p, d->ctx, "rds", "DescribeDBSubnetGroups", &q, &c);
    if (st == HOIST_E_NOTFOUND) {
        json_t *x;
        size_t i;
        aws_call_clear(d->p, &c);
        aws_param(&q, "DBSubnetGroupDescription", "hoist: %s/%s database %s", d->r->project,
                  d->r->env, d->r->name);
        json_array_foreach(json_object_get(netw, "private_subnets"), i, x) {
            char *k = hoist_kit_xasprintf("SubnetIds.SubnetIdentifier.%zu", i + 1);
            aws_param(&q, k, "%s", json_string_value(x));
            free(k);
        }
        aws_param_tags(&q, "Tags.Tag", 1, d->r, NULL);
        st = aws_query(d->p, d->ctx, "rds", "CreateDBSubnetGroup", &q, &c);
        if (st == HOIST_E_CONFLICT)
            st = HOIST_OK; /* made by a call whose answer was lost */
    }
    aws_call_clear(d->p, &c);
    aws_params_free(&q);
    return st;
}

/* The database group admits the cluster group on the engine port. */
static hoist_status db_ingress(db *d, json_t *netw, int mutate)
{
    const hoist_host *h = d->p->host;
    const char *dbsg = json_string_value(json_object_get(netw, "database_security_group"));
    const char *clsg = json_string_value(json_object_get(netw, "cluster_security_group"));
    static const char *const quiet[] = {"InvalidPermission.Duplicate", NULL};
    aws_params q = {0};
    aws_call c = {.idempotent = 1};
    int has = 0;
    if (!dbsg || !clsg)
        return h->fail(d->ctx, HOIST_E_INVALID,
                       "the network's outputs name no security groups: deploy the network again");
    aws_param(&q, "GroupId.1", "%s", dbsg);
    hoist_status st = aws_query(d->p, d->ctx, "ec2", "DescribeSecurityGroups", &q, &c);
    aws_params_free(&q);
    const hoist_xml_node *g = st == HOIST_OK ? h->xml_first(h->xml_root(c.xml),
                                                            "securityGroupInfo/item") : NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", d->port);
    for (const hoist_xml_node *pm = g ? h->xml_first(g, "ipPermissions/item") : NULL; pm;
         pm = h->xml_next(pm)) {
        if (!aws_xis(d->p, pm, "fromPort", port))
            continue;
        for (const hoist_xml_node *u = h->xml_first(pm, "groups/item"); u; u = h->xml_next(u))
            has |= aws_xis(d->p, u, "groupId", clsg);
    }
    aws_call_clear(d->p, &c);
    if (st != HOIST_OK || has)
        return st;
    if (!mutate)
        return HOIST_PENDING;
    aws_param(&q, "GroupId", "%s", dbsg);
    aws_param(&q, "IpPermissions.1.IpProtocol", "tcp");
    aws_param(&q, "IpPermissions.1.FromPort", "%d", d->port);
    aws_param(&q, "IpPermissions.1.ToPort", "%d", d->port);
    aws_param(&q, "IpPermissions.1.Groups.1.GroupId", "%s", clsg);
    aws_param(&q, "IpPermissions.1.Groups.1.Description", "hoist: the cluster");
    c.quiet = quiet;
    st = aws_query(d->p, d->ctx, "ec2", "AuthorizeSecurityGroupIngress", &q, &c);
    if (st == HOIST_E_CONFLICT)
        st = HOIST_OK; /* the rule is there */
    aws_params_free(&q);
    aws_call_clear(d->p, &c);
    return st;
}

static json_t *db_outputs(db *d, const hoist_xml_node *inst)
{
    const aws_prov *p = d->p;
    char *host = aws_xtext(p, inst, "Endpoint/Address"), *port = aws_xtext(p, inst, "Endpoint/Port");
    char *user = aws_xtext(p, inst, "MasterUsername"), *name = aws_xtext(p, inst, "DBName");
    char *ver = aws_xtext(p, inst, "EngineVersion"), *cls = aws_xtext(p, inst, "DBInstanceClass");
    char *arn = aws_xtext(p, inst, "DBInstanceArn");
    /* RDS for PostgreSQL 15 and later sets rds.force_ssl by default. */
    int tls = strcmp(d->engine, "postgres") == 0 && (!ver || atoi(ver) >= 15);
    json_t *o = json_pack("{s:s,s:s,s:s?,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:b}", "id", d->id,
                          "engine", d->engine, "host", host, "port", port ? atoi(port) : d->port,
                          "user", user, "database", name ? name : d->dbname, "version", ver,
                          "class", cls, "arn", arn, "tls", tls);
    free(host);
    free(port);
    free(user);
    free(name);
    free(ver);
    free(cls);
    free(arn);
    return o;
}

static const char *db_password(const hoist_resource *r)
{
    return json_string_value(json_object_get(json_object_get(r->recorded, "secrets"), "password"));
}

static hoist_status db_setup(db *d, aws_prov *p, hoist_ctx *ctx, const hoist_resource *r)
{
    const char *engine = aws_spec_str(r, "engine", NULL);
    d->p = p;
    d->ctx = ctx;
    d->r = r;
    d->engine = aws_db_engine(engine);
    if (!d->engine)
        return p->host->fail(ctx, HOIST_E_UNSUPPORTED,
                             "database '%s': engine '%s' is not offered by the aws provider "
                             "(RDS: postgresql, mysql); use mode: container for it", r->name,
                             engine ? engine : "(none)");
    d->id = aws_name(r, AWS_NAME_RDS, r->name);
    d->dbname = db_dbname(r->name);
    d->port = strcmp(d->engine, "postgres") == 0 ? 5432 : 3306;
    return HOIST_OK;
}

static void db_clear(db *d)
{
    free(d->id);
    free(d->dbname);
}

/* Send CreateDBInstance with @password. */
static hoist_status db_create(db *d, json_t *netw, const char *password)
{
    static const char *const quiet[] = {"DBInstanceAlreadyExists",
                                        "DBInstanceAlreadyExistsFault", NULL};
    const hoist_resource *r = d->r;
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = quiet};
    json_t *storage = json_object_get(r->spec, "storage");
    const char *version = aws_spec_str(r, "version", NULL);
    aws_param(&q, "DBInstanceIdentifier", "%s", d->id);
    aws_param(&q, "DBInstanceClass", "%s", aws_db_class(aws_spec_str(r, "size", NULL)));
    aws_param(&q, "Engine", "%s", d->engine);
    if (version)
        aws_param(&q, "EngineVersion", "%s", version);
    aws_param(&q, "AllocatedStorage", "%lld",
              json_is_integer(storage) ? (long long)json_integer_value(storage) : 20LL);
    aws_param(&q, "DBName", "%s", d->dbname);
    aws_param(&q, "MasterUsername", DB_USER);
    aws_param(&q, "MasterUserPassword", "%s", password);
    aws_param(&q, "DBSubnetGroupName", "%s", d->id);
    aws_param(&q, "VpcSecurityGroupIds.VpcSecurityGroupId.1", "%s",
              json_string_value(json_object_get(netw, "database_security_group")));
    aws_param(&q, "Port", "%d", d->port);
    aws_param(&q, "PubliclyAccessible", "false");
    aws_param(&q, "StorageEncrypted", "true");
    aws_param(&q, "CopyTagsToSnapshot", "true");
    aws_param_tags(&q, "Tags.Tag", 1, r, NULL);
    hoist_status st = aws_query(d->p, d->ctx, "rds", "CreateDBInstance", &q, &c);
    if (st == HOIST_E_CONFLICT)
        st = HOIST_OK;
    else if (st == HOIST_OK)
        d->p->host->log(d->ctx, HOIST_LOG_INFO, "creating RDS %s instance %s (%s)", d->engine,
                        d->id, aws_db_class(aws_spec_str(r, "size", NULL)));
    aws_params_free(&q);
    aws_call_clear(d->p, &c);
    return st;
}

/* A one-parameter RDS action on the instance (Start, Stop, Modify password...). */
static hoist_status db_action(db *d, const char *action, const char *k, const char *v)
{
    aws_params q = {0};
    aws_call c = {.idempotent = 1};
    aws_param(&q, "DBInstanceIdentifier", "%s", d->id);
    if (k)
        aws_param(&q, k, "%s", v);
    if (strcmp(action, "ModifyDBInstance") == 0)
        aws_param(&q, "ApplyImmediately", "true");
    hoist_status st = aws_query(d->p, d->ctx, "rds", action, &q, &c);
    aws_params_free(&q);
    aws_call_clear(d->p, &c);
    return st;
}

static hoist_status db_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                              hoist_result *out)
{
    aws_prov *p = prov;
    db d = {0};
    aws_call c = {0};
    const hoist_xml_node *inst = NULL;
    json_t *netw = aws_need(r, "network", NULL);
    const char *pw = db_password(r);
    char fresh[33];
    hoist_status st = db_setup(&d, p, ctx, r);
    if (st != HOIST_OK)
        goto cleanup;
    if (!netw) {
        st = p->host->fail(ctx, HOIST_E_INVALID, "database '%s' needs the network's outputs",
                           r->name);
        goto cleanup;
    }
    /* A password known to state before anything can use it. */
    if (!pw) {
        if ((st = p->host->random_secret(ctx, fresh, sizeof fresh)) != HOIST_OK)
            goto cleanup;
        out->secrets = json_pack("{s:s}", "password", fresh);
        out->outputs = json_pack("{s:s}", "id", d.id);
        out->poll_ms = 1;
        p->host->progress(ctx, "password generated");
        st = HOIST_PENDING;
        goto cleanup;
    }
    out->secrets = json_pack("{s:s}", "password", pw);
    if ((st = db_subnet_group(&d, netw)) != HOIST_OK || (st = db_ingress(&d, netw, 1)) != HOIST_OK)
        goto cleanup;
    /* ours: the instance was created with the password state holds */
    int ours = json_is_true(json_object_get(r->recorded, "password_set"));
    st = db_describe(&d, &c, &inst);
    if (st == HOIST_E_NOTFOUND) {
        aws_call_clear(p, &c);
        if ((st = db_create(&d, netw, pw)) != HOIST_OK)
            goto cleanup;
        ours = 1;
        st = db_describe(&d, &c, &inst);
    } else if (st == HOIST_OK && !ours && aws_xis(p, inst, "DBInstanceStatus", "available")) {
        /* An instance state knew nothing of (or whose create answer was
           lost): its password may differ, so set the one state holds. */
        p->host->log(ctx, HOIST_LOG_INFO, "adopting %s: setting its master password", d.id);
        st = db_action(&d, "ModifyDBInstance", "MasterUserPassword", pw);
        ours = st == HOIST_OK;
    }
    if (st != HOIST_OK)
        goto cleanup;
    char *status = aws_xtext(p, inst, "DBInstanceStatus");
    if (status && strcmp(status, "available") == 0) {
        /* Converge size and storage when they drifted from hoist.yml. */
        char *cls = aws_xtext(p, inst, "DBInstanceClass");
        const char *want = aws_db_class(aws_spec_str(r, "size", NULL));
        if (cls && strcmp(cls, want) != 0)
            st = db_action(&d, "ModifyDBInstance", "DBInstanceClass", want);
        free(cls);
        json_t *storage = json_object_get(r->spec, "storage");
        char *alloc = aws_xtext(p, inst, "AllocatedStorage");
        if (st == HOIST_OK && json_is_integer(storage) && alloc &&
            atoll(alloc) < json_integer_value(storage)) {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(storage));
            st = db_action(&d, "ModifyDBInstance", "AllocatedStorage", buf);
        }
        free(alloc);
        if (st == HOIST_OK)
            out->outputs = db_outputs(&d, inst);
    } else if (status && strcmp(status, "stopped") == 0) {
        st = db_action(&d, "StartDBInstance", NULL, NULL); /* ensure resumes a paused database */
        if (st == HOIST_OK)
            st = HOIST_PENDING;
        p->host->progress(ctx, "starting");
    } else if (status && (strcmp(status, "failed") == 0 || strncmp(status, "incompatible", 12) == 0 ||
                          strcmp(status, "storage-full") == 0)) {
        st = p->host->fail(ctx, HOIST_E_CONFLICT, "RDS instance %s is %s: see its events in the "
                           "RDS console", d.id, status);
    } else {
        st = HOIST_PENDING;
        p->host->progress(ctx, "%s", status && strcmp(status, "creating") == 0 ? "creating" : "converging");
    }
    if (st == HOIST_PENDING) {
        out->poll_ms = aws_poll_ms(p, 5000);
        if (!out->outputs)
            out->outputs = json_pack("{s:s}", "id", d.id);
    }
    if (out->outputs)
        json_object_set_new(out->outputs, "password_set", json_boolean(ours));
    free(status);
cleanup:
    aws_call_clear(p, &c);
    db_clear(&d);
    return st;
}

/* What observe, pause and destroy do with the instance (NULL when there is none). */
typedef hoist_status (*db_step_fn)(db *d, const hoist_xml_node *inst, const char *status,
                                   hoist_result *out);

/* Set up, describe the instance, hand it to @fn. */
static hoist_status db_with_instance(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                     hoist_result *out, db_step_fn fn)
{
    aws_prov *p = prov;
    db d = {0};
    aws_call c = {0};
    const hoist_xml_node *inst = NULL;
    char *status = NULL;
    hoist_status st = db_setup(&d, p, ctx, r);
    if (st == HOIST_OK)
        st = db_describe(&d, &c, &inst);
    if (st == HOIST_OK || st == HOIST_E_NOTFOUND) {
        status = st == HOIST_OK ? aws_xtext(p, inst, "DBInstanceStatus") : NULL;
        st = fn(&d, st == HOIST_OK ? inst : NULL, status ? status : "", out);
    }
    free(status);
    aws_call_clear(p, &c);
    db_clear(&d);
    return st;
}

static hoist_status db_observe_step(db *d, const hoist_xml_node *inst, const char *status,
                                    hoist_result *out)
{
    if (!inst)
        return HOIST_E_NOTFOUND;
    out->outputs = db_outputs(d, inst);
    if (strcmp(status, "available") == 0)
        return HOIST_OK;
    d->p->host->progress(d->ctx, "not available");
    return HOIST_PENDING;
}

static hoist_status db_pause_step(db *d, const hoist_xml_node *inst, const char *status,
                                  hoist_result *out)
{
    hoist_status st = HOIST_OK;
    if (!inst)
        return d->p->host->fail(d->ctx, HOIST_E_NOTFOUND, "RDS instance %s does not exist", d->id);
    if (strcmp(status, "available") == 0)
        st = db_action(d, "StopDBInstance", NULL, NULL);
    if (st == HOIST_OK && strcmp(status, "stopped") != 0) {
        st = HOIST_PENDING;
        out->poll_ms = aws_poll_ms(d->p, 5000);
        d->p->host->progress(d->ctx, "stopping");
    }
    return st;
}

static hoist_status db_destroy_step(db *d, const hoist_xml_node *inst, const char *status,
                                    hoist_result *out)
{
    hoist_status st = HOIST_OK;
    if (inst && strcmp(status, "deleting") != 0) {
        static const char *const quiet[] = {"DBInstanceNotFound", "DBInstanceNotFoundFault",
                                            "InvalidDBInstanceState",
                                            "InvalidDBInstanceStateFault", NULL};
        aws_params q = {0};
        aws_call dc = {.idempotent = 1, .quiet = quiet};
        aws_param(&q, "DBInstanceIdentifier", "%s", d->id);
        aws_param(&q, "SkipFinalSnapshot", "true");
        aws_param(&q, "DeleteAutomatedBackups", "true");
        st = aws_query(d->p, d->ctx, "rds", "DeleteDBInstance", &q, &dc);
        if (st == HOIST_E_NOTFOUND || st == HOIST_E_CONFLICT)
            st = HOIST_OK; /* gone, or busy (e.g. creating): ask again later */
        aws_params_free(&q);
        aws_call_clear(d->p, &dc);
    }
    if (inst) {
        if (st == HOIST_OK) {
            st = HOIST_PENDING;
            out->poll_ms = aws_poll_ms(d->p, 5000);
            d->p->host->progress(d->ctx, "deleting");
        }
        return st;
    }
    /* The instance is gone: its subnet group can go too. */
    static const char *const quiet[] = {"DBSubnetGroupNotFoundFault", NULL};
    aws_params q = {0};
    aws_call c = {.idempotent = 1, .quiet = quiet};
    aws_param(&q, "DBSubnetGroupName", "%s", d->id);
    st = aws_query(d->p, d->ctx, "rds", "DeleteDBSubnetGroup", &q, &c);
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    aws_params_free(&q);
    aws_call_clear(d->p, &c);
    return st;
}

static hoist_status db_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    return db_with_instance(prov, ctx, r, out, db_observe_step);
}

static hoist_status db_pause(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                             hoist_result *out)
{
    return db_with_instance(prov, ctx, r, out, db_pause_step);
}

static hoist_status db_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    return db_with_instance(prov, ctx, r, out, db_destroy_step);
}

static hoist_status db_connection(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                  hoist_db_connection *out)
{
    aws_prov *p = prov;
    const char *host = aws_jstr(r->recorded, "host"), *pw = db_password(r);
    if (!host || !pw)
        return p->host->fail(ctx, HOIST_E_NOTFOUND,
                             "database '%s' has no recorded endpoint or password yet: run "
                             "`hoist deploy`", r->name);
    out->host = hoist_kit_xstrdup(host);
    out->port = (int)json_integer_value(json_object_get(r->recorded, "port"));
    out->user = hoist_kit_xstrdup(aws_jstr(r->recorded, "user"));
    out->password = hoist_kit_xstrdup(pw);
    out->database = hoist_kit_xstrdup(aws_jstr(r->recorded, "database"));
    out->tls = json_is_true(json_object_get(r->recorded, "tls"));
    return HOIST_OK;
}

const hoist_database_ops aws_database_ops = {
    .struct_size = sizeof aws_database_ops,
    .ensure = db_ensure,
    .observe = db_observe,
    .destroy = db_destroy,
    .pause = db_pause,
    .connection = db_connection,
};
