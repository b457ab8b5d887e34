/*
 * fuzz_xml.c - the XML helpers the AWS Query drivers use (hoist_xml_*) and
 * the AWS error decoding (hoist_service_error on XML bodies): parse, walk
 * the paths an EC2/IAM/RDS answer is read with, iterate siblings, read text.
 */
#include "fuzz.h"

#include "xmlutil.h"

static const char *const paths[] = {
    "", "Errors/Error/Code", "Error/Message", "RequestId", "vpcSet/item",
    "DescribeVpcsResult/Vpcs/member", "DBInstances/DBInstance/Endpoint/Address", "a/b/c/d",
};

static void walk(const hoist_xml_node *n, int depth)
{
    for (; n && depth < 32; n = hoist_xml_next(n)) {
        (void)hoist_xml_name(n);
        free(hoist_xml_text(n, NULL));
        walk(hoist_xml_first(n, NULL), depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;
    hoist_xml_doc *doc = hoist_xml_parse((const char *)data, size, &err);
    free(err);
    if (doc) {
        const hoist_xml_node *root = hoist_xml_root(doc);
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
            const hoist_xml_node *n = hoist_xml_first(root, paths[i]);
            for (int k = 0; n && k < 64; k++, n = hoist_xml_next(n))
                free(hoist_xml_text(n, NULL));
            free(hoist_xml_text(root, paths[i]));
        }
        walk(root, 0);
        hoist_xml_free(doc);
    }
    char *code = NULL, *msg = NULL;
    if (hoist_service_error((const char *)data, size, &code, &msg))
        (void)hoist_error_code_status(code);
    free(code);
    free(msg);
    return 0;
}
