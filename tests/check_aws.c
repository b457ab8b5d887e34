/*
 * check_aws.c - the aws driver's request building and answer parsing, with
 * its sources compiled in: error decoding and mapping for every AWS
 * protocol, Query encoding, endpoints, names and tokens, sizes, the ECR
 * lifecycle policy, base64; and every operation and parameter the driver
 * sends checked against the official botocore models (skipped without
 * $HOIST_SPECS_DIR).
 */
#include "../providers/aws/aws.h"
#include "host.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static aws_prov *prov_new(const char *endpoint, json_t *eps)
{
    aws_prov *p = calloc(1, sizeof *p);
    p->host = hoist_host_table();
    p->region = strdup("eu-west-3");
    p->endpoint_url = endpoint ? strdup(endpoint) : NULL;
    p->endpoints = eps ? eps : json_object();
    return p;
}

static void prov_free(aws_prov *p)
{
    free(p->region);
    free(p->endpoint_url);
    json_decref(p->endpoints);
    free(p);
}

START_TEST(test_code_status)
{
    static const struct {
        const char *code;
        long http;
        hoist_status want;
    } cases[] = {
        {"AuthFailure", 401, HOIST_E_AUTH},
        {"UnrecognizedClientException", 400, HOIST_E_AUTH},
        {"SignatureDoesNotMatch", 403, HOIST_E_AUTH},
        {"InvalidSignatureException", 400, HOIST_E_AUTH},
        {"VpcLimitExceeded", 400, HOIST_E_QUOTA},
        {"LimitExceededException", 400, HOIST_E_QUOTA},
        {"InstanceQuotaExceeded", 400, HOIST_E_QUOTA},
        {"RequestLimitExceeded", 503, HOIST_E_TRANSIENT},
        {"Throttling", 400, HOIST_E_TRANSIENT},
        {"ThrottlingException", 429, HOIST_E_TRANSIENT},
        {"ServiceUnavailable", 503, HOIST_E_TRANSIENT},
        {"InvalidParameterValue", 400, HOIST_E_INVALID},
        {"InvalidParameterCombination", 400, HOIST_E_INVALID},
        {"InvalidVpcID.NotFound", 400, HOIST_E_NOTFOUND},
        {"NoSuchEntity", 404, HOIST_E_NOTFOUND},
        {"ResourceNotFoundException", 404, HOIST_E_NOTFOUND},
        {"DBInstanceAlreadyExists", 400, HOIST_E_CONFLICT},
        {"InvalidGroup.Duplicate", 400, HOIST_E_CONFLICT},
        {"DependencyViolation", 400, HOIST_E_CONFLICT},
        {"SomethingNew", 500, HOIST_E_TRANSIENT},
        {"SomethingNew", 400, HOIST_E_INTERNAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(aws_code_status(cases[i].code, cases[i].http) == cases[i].want,
                      "%s -> %d, want %d", cases[i].code,
                      aws_code_status(cases[i].code, cases[i].http), cases[i].want);
}
END_TEST

static void err_case(const char *body, const char *hdr, const char *code, const char *msg)
{
    hoist_ctx ctx;
    char c[128], *m = NULL;
    hoist_ctx_init(&ctx, NULL, "test");
    ck_assert_int_eq(aws_error_code(hoist_host_table(), &ctx, body, strlen(body), hdr, c,
                                    sizeof c, &m),
                     1);
    ck_assert_str_eq(c, code);
    if (msg)
        ck_assert_str_eq(m, msg);
    free(m);
    hoist_ctx_cleanup(&ctx);
}

START_TEST(test_error_documents)
{
    /* EC2 Query dialect */
    err_case("<?xml version=\"1.0\"?><Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>"
             "<Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors>"
             "<RequestID>x</RequestID></Response>",
             NULL, "InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist");
    /* IAM/RDS/STS Query with a namespace */
    err_case("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>"
             "Sender</Type><Code>NoSuchEntity</Code><Message>no role</Message></Error>"
             "</ErrorResponse>",
             NULL, "NoSuchEntity", "no role");
    /* JSON 1.1 (ECR): the shape id after '#' */
    err_case("{\"__type\":\"com.amazonaws.ecr#RepositoryNotFoundException\",\"message\":\"gone\"}",
             NULL, "RepositoryNotFoundException", "gone");
    /* REST-JSON (EKS): the code travels in x-amzn-ErrorType, with a suffix */
    err_case("{\"message\":\"No cluster found\"}",
             "ResourceNotFoundException:http://internal.amazon.com/coral/", "ResourceNotFoundException",
             "No cluster found");
}
END_TEST

START_TEST(test_query_body)
{
    hoist_resource r = {.struct_size = sizeof r, .project = "shop", .env = "prod", .name = "network"};
    aws_params q = {0};
    aws_param(&q, "CidrBlock", "%s", "10.0.0.0/16");
    int n = aws_param_tags(&q, "TagSpecification.1.Tag", 1, &r, "shop-prod-vpc");
    ck_assert_int_eq(n, 5);
    char *b = aws_query_body("CreateVpc", AWS_EC2_VERSION, &q);
    ck_assert_str_eq(b, "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16"
                        "&TagSpecification.1.Tag.1.Key=hoist%3Aproject"
                        "&TagSpecification.1.Tag.1.Value=shop"
                        "&TagSpecification.1.Tag.2.Key=hoist%3Aenv"
                        "&TagSpecification.1.Tag.2.Value=prod"
                        "&TagSpecification.1.Tag.3.Key=hoist%3Aresource"
                        "&TagSpecification.1.Tag.3.Value=network"
                        "&TagSpecification.1.Tag.4.Key=Name"
                        "&TagSpecification.1.Tag.4.Value=shop-prod-vpc");
    free(b);
    aws_params_free(&q);
    /* no Name: three tags */
    ck_assert_int_eq(aws_param_tags(&q, "Tags.member", 1, &r, NULL), 4);
    aws_params_free(&q);
}
END_TEST

START_TEST(test_endpoints)
{
    int o;
    aws_prov *p = prov_new(NULL, NULL);
    char *u = aws_endpoint(p, "ec2", &o);
    ck_assert_str_eq(u, "https://ec2.eu-west-3.amazonaws.com");
    ck_assert_int_eq(o, 0);
    free(u);
    u = aws_endpoint(p, "iam", &o);
    ck_assert_str_eq(u, "https://iam.amazonaws.com");
    free(u);
    u = aws_endpoint(p, "ecr", &o);
    ck_assert_str_eq(u, "https://api.ecr.eu-west-3.amazonaws.com");
    free(u);
    hoist_sigv4_spec s;
    aws_sigv4(p, "iam", &s);
    ck_assert_str_eq(s.region, "us-east-1");
    aws_sigv4(p, "eks", &s);
    ck_assert_str_eq(s.region, "eu-west-3");
    prov_free(p);

    p = prov_new("http://127.0.0.1:4566/", json_pack("{s:s}", "eks", "http://127.0.0.1:9/eks"));
    u = aws_endpoint(p, "rds", &o);
    ck_assert_str_eq(u, "http://127.0.0.1:4566");
    ck_assert_int_eq(o, 1);
    free(u);
    u = aws_endpoint(p, "eks", &o);
    ck_assert_str_eq(u, "http://127.0.0.1:9/eks");
    free(u);
    prov_free(p);
}
END_TEST

START_TEST(test_names_tokens)
{
    hoist_resource r = {.struct_size = sizeof r, .project = "Shop_1", .env = "prod.eu", .name = "main"};
    char *n = aws_name(&r, AWS_NAME_TAG, "db");
    ck_assert_str_eq(n, "shop-1-prod-eu-db");
    free(n);
    char *a = aws_token(&r, "x"), *b = aws_token(&r, "x"), *c = aws_token(&r, "y");
    /* the value the driver gave before hoist/kit.h: retried creates keep their token */
    ck_assert_str_eq(a, "hoist-1db8052118bd58add63d1f6fdc729d0e");
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_uint_le(strlen(a), 64); /* EC2 ClientToken limit */
    free(a);
    free(b);
    free(c);
}
END_TEST

/* A 40-character project and a long environment: every name within its
   AWS limit (they were not cut at all before), RDS's rules kept, two
   databases apart, and short names as they always were. */
START_TEST(test_names_long)
{
    hoist_resource r = {.struct_size = sizeof r,
                        .project = "northwind-traders-inventory-platform-v2x",
                        .env = "production-eu-west-2a", .name = "orders"};
    static const struct {
        aws_name_kind kind;
        const char *suffix;
        size_t max;
    } cases[] = {
        {AWS_NAME_IAM_ROLE, "eks-cluster", 64}, {AWS_NAME_IAM_ROLE, "eks-node", 64},
        {AWS_NAME_EKS_CLUSTER, NULL, 100},      {AWS_NAME_EKS_NODEGROUP, "nodes", 63},
        {AWS_NAME_RDS, "orders", 63},           {AWS_NAME_TAG, "private-rt", 255},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = aws_name(&r, cases[i].kind, cases[i].suffix);
        ck_assert_msg(strlen(n) <= cases[i].max, "%s: %zu > %zu", n, strlen(n), cases[i].max);
        ck_assert(strncmp(n, "northwind-traders-", 18) == 0);
        free(n);
    }
    char *a = aws_name(&r, AWS_NAME_RDS, "orders"), *b = aws_name(&r, AWS_NAME_RDS, "billing");
    ck_assert_str_ne(a, b);
    ck_assert_ptr_null(strstr(a, "--"));
    ck_assert_int_ne(a[strlen(a) - 1], '-');
    free(a);
    free(b);
    /* the EKS cluster name fits in 100: unchanged */
    a = aws_name(&r, AWS_NAME_EKS_CLUSTER, NULL);
    ck_assert_str_eq(a, "northwind-traders-inventory-platform-v2x-production-eu-west-2a");
    free(a);
    hoist_resource s = {.struct_size = sizeof s, .project = "shop", .env = "prod", .name = "main"};
    a = aws_name(&s, AWS_NAME_RDS, "main");
    ck_assert_str_eq(a, "shop-prod-main");
    free(a);
}
END_TEST

START_TEST(test_sizes_and_policy)
{
    ck_assert_str_eq(aws_db_class(NULL), "db.t3.micro");
    ck_assert_str_eq(aws_db_class("small"), "db.t3.micro");
    ck_assert_str_eq(aws_db_class("medium"), "db.t3.medium");
    ck_assert_str_eq(aws_db_class("large"), "db.m5.large");
    ck_assert_str_eq(aws_db_class("db.r6g.xlarge"), "db.r6g.xlarge");
    ck_assert_str_eq(aws_db_engine("postgresql"), "postgres");
    ck_assert_str_eq(aws_db_engine("mysql"), "mysql");
    ck_assert_ptr_null(aws_db_engine("redis"));
    ck_assert_ptr_null(aws_db_engine("mongodb"));
    char *pol = aws_lifecycle_policy(7);
    json_t *j = json_loads(pol, 0, NULL);
    json_t *rule = json_array_get(json_object_get(j, "rules"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rule, "selection"), "countNumber")), 7);
    ck_assert_str_eq(aws_jstr(rule, "selection.countType"), "imageCountMoreThan");
    ck_assert_str_eq(aws_jstr(rule, "action.type"), "expire");
    json_decref(j);
    free(pol);
}
END_TEST

/* ---- every operation and member the driver sends exists in AWS's models ---- */

static json_t *model(const char *svc)
{
    const char *dir = getenv("HOIST_SPECS_DIR");
    char path[1024];
    /* botocore/<svc>/<api-version>/service-2.json: take the one version present */
    snprintf(path, sizeof path, "ls -d %s/aws/botocore/%s/*/service-2.json 2>/dev/null | tail -1",
             dir ? dir : "/nonexistent", svc);
    FILE *f = popen(path, "r");
    char file[1024] = "";
    if (f) {
        if (!fgets(file, sizeof file, f))
            file[0] = '\0';
        pclose(f);
    }
    file[strcspn(file, "\n")] = '\0';
    return *file ? json_load_file(file, 0, NULL) : NULL;
}

/* @members: top-level input members (names as sent: Query serialisation
   names are the member's locationName or name). */
static void op_has(json_t *m, const char *op, const char *const *members)
{
    json_t *o = json_object_get(json_object_get(m, "operations"), op);
    ck_assert_msg(o != NULL, "operation %s is not in the model", op);
    const char *shape = aws_jstr(o, "input.shape");
    json_t *mem = json_object_get(json_object_get(json_object_get(m, "shapes"), shape), "members");
    for (const char *const *k = members; k && *k; k++) {
        int found = json_object_get(mem, *k) != NULL;
        const char *name;
        json_t *v;
        json_object_foreach(mem, name, v) found |= aws_jstr(v, "locationName") &&
                                                   strcmp(aws_jstr(v, "locationName"), *k) == 0;
        ck_assert_msg(found, "%s has no member %s", op, *k);
    }
}

START_TEST(test_models)
{
    json_t *ec2 = model("ec2"), *rds = model("rds"), *eks = model("eks"), *ecr = model("ecr");
    if (!ec2 || !rds || !eks || !ecr) {
        fprintf(stderr, "# SKIP: botocore models not found under $HOIST_SPECS_DIR/aws/botocore\n");
        json_decref(ec2);
        json_decref(rds);
        json_decref(eks);
        json_decref(ecr);
        return;
    }
    ck_assert_str_eq(aws_jstr(ec2, "metadata.apiVersion"), AWS_EC2_VERSION);
    ck_assert_str_eq(aws_jstr(rds, "metadata.apiVersion"), AWS_RDS_VERSION);
    ck_assert_str_eq(aws_jstr(ecr, "metadata.targetPrefix"), "AmazonEC2ContainerRegistry_V20150921");
    op_has(ec2, "CreateVpc", (const char *[]){"CidrBlock", "TagSpecification", NULL});
    op_has(ec2, "ModifyVpcAttribute", (const char *[]){"VpcId", "EnableDnsSupport", "EnableDnsHostnames", NULL});
    op_has(ec2, "CreateSubnet", (const char *[]){"VpcId", "CidrBlock", "AvailabilityZone", "TagSpecification", NULL});
    op_has(ec2, "CreateRouteTable", (const char *[]){"VpcId", "ClientToken", "TagSpecification", NULL});
    op_has(ec2, "CreateRoute", (const char *[]){"RouteTableId", "DestinationCidrBlock", "GatewayId", NULL});
    op_has(ec2, "AssociateRouteTable", (const char *[]){"RouteTableId", "SubnetId", NULL});
    op_has(ec2, "CreateInternetGateway", (const char *[]){"TagSpecification", NULL});
    op_has(ec2, "AttachInternetGateway", (const char *[]){"InternetGatewayId", "VpcId", NULL});
    op_has(ec2, "CreateSecurityGroup", (const char *[]){"GroupName", "GroupDescription", "VpcId", "TagSpecification", NULL});
    op_has(ec2, "AuthorizeSecurityGroupIngress", (const char *[]){"GroupId", "IpPermissions", NULL});
    op_has(ec2, "DescribeAvailabilityZones", (const char *[]){"Filter", NULL});
    op_has(ec2, "DescribeVpcs", (const char *[]){"VpcId", "Filter", NULL});
    op_has(ec2, "DisassociateRouteTable", (const char *[]){"AssociationId", NULL});
    op_has(ec2, "DetachInternetGateway", (const char *[]){"InternetGatewayId", "VpcId", NULL});
    op_has(ec2, "DeleteVpc", (const char *[]){"VpcId", NULL});
    /* the NAT gateways and Elastic IPs of the private subnets' egress */
    op_has(ec2, "AllocateAddress", (const char *[]){"Domain", "TagSpecification", NULL});
    op_has(ec2, "DescribeAddresses", (const char *[]){"AllocationId", "Filter", NULL});
    op_has(ec2, "ReleaseAddress", (const char *[]){"AllocationId", NULL});
    op_has(ec2, "CreateNatGateway", (const char *[]){"SubnetId", "AllocationId", "ConnectivityType",
                                                     "ClientToken", "TagSpecification", NULL});
    op_has(ec2, "DescribeNatGateways", (const char *[]){"NatGatewayId", "Filter", NULL});
    op_has(ec2, "DeleteNatGateway", (const char *[]){"NatGatewayId", NULL});
    op_has(ec2, "CreateRoute", (const char *[]){"NatGatewayId", NULL});
    op_has(ec2, "ReplaceRoute", (const char *[]){"RouteTableId", "DestinationCidrBlock", "GatewayId",
                                                 "NatGatewayId", NULL});
    op_has(ec2, "CreateTags", (const char *[]){"ResourceId", "Tag", NULL});
    op_has(rds, "CreateDBSubnetGroup", (const char *[]){"DBSubnetGroupName", "DBSubnetGroupDescription", "SubnetIds", "Tags", NULL});
    op_has(rds, "CreateDBInstance", (const char *[]){"DBInstanceIdentifier", "DBInstanceClass", "Engine", "EngineVersion",
                                                     "AllocatedStorage", "DBName", "MasterUsername", "MasterUserPassword",
                                                     "DBSubnetGroupName", "VpcSecurityGroupIds", "Port", "PubliclyAccessible",
                                                     "StorageEncrypted", "CopyTagsToSnapshot", "Tags", NULL});
    op_has(rds, "DeleteDBInstance", (const char *[]){"DBInstanceIdentifier", "SkipFinalSnapshot", "DeleteAutomatedBackups", NULL});
    op_has(rds, "ModifyDBInstance", (const char *[]){"DBInstanceIdentifier", "MasterUserPassword", "DBInstanceClass", "AllocatedStorage", "ApplyImmediately", NULL});
    op_has(rds, "StopDBInstance", (const char *[]){"DBInstanceIdentifier", NULL});
    op_has(rds, "StartDBInstance", (const char *[]){"DBInstanceIdentifier", NULL});
    op_has(eks, "CreateCluster", (const char *[]){"name", "version", "roleArn", "resourcesVpcConfig", "tags", "clientRequestToken", NULL});
    op_has(eks, "CreateNodegroup", (const char *[]){"nodegroupName", "scalingConfig", "subnets", "instanceTypes", "nodeRole", "tags", "clientRequestToken", NULL});
    ck_assert_str_eq(aws_jstr(json_object_get(eks, "operations"), "CreateNodegroup.http.requestUri"),
                     "/clusters/{name}/node-groups");
    ck_assert_str_eq(aws_jstr(json_object_get(eks, "operations"), "DescribeCluster.http.requestUri"),
                     "/clusters/{name}");
    op_has(ecr, "CreateRepository", (const char *[]){"repositoryName", "imageTagMutability", "imageScanningConfiguration", "tags", NULL});
    op_has(ecr, "PutLifecyclePolicy", (const char *[]){"repositoryName", "lifecyclePolicyText", NULL});
    op_has(ecr, "PutImageScanningConfiguration", (const char *[]){"repositoryName", "imageScanningConfiguration", NULL});
    op_has(ecr, "DeleteRepository", (const char *[]){"repositoryName", "force", NULL});
    op_has(ecr, "GetAuthorizationToken", NULL);
    json_decref(ec2);
    json_decref(rds);
    json_decref(eks);
    json_decref(ecr);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aws");
    TCase *tc = tcase_create("driver");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_code_status);
    tcase_add_test(tc, test_error_documents);
    tcase_add_test(tc, test_query_body);
    tcase_add_test(tc, test_endpoints);
    tcase_add_test(tc, test_names_tokens);
    tcase_add_test(tc, test_names_long);
    tcase_add_test(tc, test_sizes_and_policy);
    tcase_add_test(tc, test_models);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
