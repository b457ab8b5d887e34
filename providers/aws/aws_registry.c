/*
 * aws_registry.c - one ECR repository per application ("<project>/<env>/
 * <app>"), with scan on push and a lifecycle policy keeping the last N
 * images (settings registry.keep_images, default 30).  The repository name
 * is the key: a create repeated after a lost answer gets
 * RepositoryAlreadyExistsException, which means the first one worked.
 * Credentials come from GetAuthorizationToken (base64 "AWS:password").
 */
#include "aws.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ECR_TARGET "AmazonEC2ContainerRegistry_V20150921"

char *aws_lifecycle_policy(int keep)
{
    json_t *d = json_pack("{s:[{s:i,s:s,s:{s:s,s:s,s:i},s:{s:s}}]}", "rules", "rulePriority", 1,
                          "description", "hoist: keep the most recent images", "selection",
                          "tagStatus", "any", "countType", "imageCountMoreThan", "countNumber",
                          keep, "action", "type", "expire");
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return s;
}

static char *reg_name(const hoist_resource *r)
{
    char *s = hoist_kit_xasprintf("%s/%s/%s", r->project, r->env, r->name);
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return s;
}

static hoist_status reg_describe(aws_prov *p, hoist_ctx *ctx, const char *name, aws_call *c)
{
    static const char *const quiet[] = {"RepositoryNotFoundException", NULL};
    json_t *body = json_pack("{s:[s]}", "repositoryNames", name);
    c->idempotent = 1;
    c->quiet = quiet;
    hoist_status st = aws_json(p, ctx, "ecr", ECR_TARGET, "DescribeRepositories", body, c);
    json_decref(body);
    return st;
}

static hoist_status reg_walk(aws_prov *p, hoist_ctx *ctx, const hoist_resource *r,
                             hoist_result *out, int mutate)
{
    const hoist_host *h = p->host;
    char *name = reg_name(r), *want = aws_lifecycle_policy(p->keep_images);
    aws_call c = {0}, l = {0};
    json_t *body = NULL, *repo;
    hoist_status st = reg_describe(p, ctx, name, &c);
    if (st == HOIST_E_NOTFOUND && mutate) {
        static const char *const quiet[] = {"RepositoryAlreadyExistsException", NULL};
        aws_call_clear(p, &c);
        body = json_pack("{s:s,s:s,s:{s:b},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "repositoryName",
                         name, "imageTagMutability", "MUTABLE", "imageScanningConfiguration",
                         "scanOnPush", 1, "tags", "Key", "hoist:project", "Value", r->project,
                         "Key", "hoist:env", "Value", r->env, "Key", "hoist:resource", "Value",
                         r->name);
        c.idempotent = 1;
        c.quiet = quiet;
        st = aws_json(p, ctx, "ecr", ECR_TARGET, "CreateRepository", body, &c);
        if (st == HOIST_E_CONFLICT) {
            aws_call_clear(p, &c);
            st = reg_describe(p, ctx, name, &c);
        } else if (st == HOIST_OK) {
            h->log(ctx, HOIST_LOG_INFO, "created ECR repository %s", name);
        }
    }
    if (st != HOIST_OK)
        goto cleanup;
    repo = json_object_get(c.json, "repository");
    if (!repo)
        repo = json_array_get(json_object_get(c.json, "repositories"), 0);
    if (!repo) {
        st = h->fail(ctx, HOIST_E_INTERNAL, "ecr: no repository %s in the answer", name);
        goto cleanup;
    }
    if (!json_is_true(json_object_get(json_object_get(repo, "imageScanningConfiguration"),
                                      "scanOnPush"))) {
        if (!mutate) {
            st = HOIST_PENDING;
            goto cleanup;
        }
        aws_call s = {.idempotent = 1};
        json_t *b = json_pack("{s:s,s:{s:b}}", "repositoryName", name,
                              "imageScanningConfiguration", "scanOnPush", 1);
        st = aws_json(p, ctx, "ecr", ECR_TARGET, "PutImageScanningConfiguration", b, &s);
        json_decref(b);
        aws_call_clear(p, &s);
        if (st != HOIST_OK)
            goto cleanup;
    }
    /* The lifecycle policy, compared as JSON so formatting does not matter. */
    static const char *const lquiet[] = {"LifecyclePolicyNotFoundException", NULL};
    json_t *lb = json_pack("{s:s}", "repositoryName", name);
    l.idempotent = 1;
    l.quiet = lquiet;
    st = aws_json(p, ctx, "ecr", ECR_TARGET, "GetLifecyclePolicy", lb, &l);
    json_decref(lb);
    int same = 0;
    if (st == HOIST_OK) {
        json_t *have = json_loads(aws_jstr(l.json, "lifecyclePolicyText") ?
                                  aws_jstr(l.json, "lifecyclePolicyText") : "", 0, NULL);
        json_t *w = json_loads(want, 0, NULL);
        same = json_equal(have, w);
        json_decref(have);
        json_decref(w);
    } else if (st != HOIST_E_NOTFOUND) {
        goto cleanup;
    }
    st = HOIST_OK;
    if (!same && !mutate) {
        st = HOIST_PENDING;
        goto cleanup;
    }
    if (!same) {
        aws_call s = {.idempotent = 1};
        json_t *b = json_pack("{s:s,s:s}", "repositoryName", name, "lifecyclePolicyText", want);
        st = aws_json(p, ctx, "ecr", ECR_TARGET, "PutLifecyclePolicy", b, &s);
        json_decref(b);
        aws_call_clear(p, &s);
        if (st != HOIST_OK)
            goto cleanup;
    }
    out->outputs = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:i}", "id", name, "repository", name,
                             "repository_uri", json_string_value(json_object_get(repo, "repositoryUri")),
                             "arn", json_string_value(json_object_get(repo, "repositoryArn")),
                             "registry_id", json_string_value(json_object_get(repo, "registryId")),
                             "keep_images", p->keep_images);
cleanup:
    aws_call_clear(p, &c);
    aws_call_clear(p, &l);
    json_decref(body);
    free(name);
    free(want);
    return st;
}

static hoist_status reg_ensure(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                               hoist_result *out)
{
    return reg_walk(prov, ctx, r, out, 1);
}

static hoist_status reg_observe(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_result *out)
{
    return reg_walk(prov, ctx, r, out, 0);
}

static hoist_status reg_destroy(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                hoist_result *out)
{
    aws_prov *p = prov;
    static const char *const quiet[] = {"RepositoryNotFoundException", NULL};
    char *name = reg_name(r);
    /* force: the images go with the repository */
    json_t *b = json_pack("{s:s,s:b}", "repositoryName", name, "force", 1);
    aws_call c = {.idempotent = 1, .quiet = quiet};
    (void)out;
    hoist_status st = aws_json(p, ctx, "ecr", ECR_TARGET, "DeleteRepository", b, &c);
    if (st == HOIST_E_NOTFOUND)
        st = HOIST_OK;
    aws_call_clear(p, &c);
    json_decref(b);
    free(name);
    return st;
}

static hoist_status reg_credentials(void *prov, hoist_ctx *ctx, const hoist_resource *r,
                                    hoist_registry_credentials *out)
{
    aws_prov *p = prov;
    const hoist_host *h = p->host;
    aws_call c = {.idempotent = 1};
    json_t *b = json_object();
    char *plain = NULL;
    hoist_status st = aws_json(p, ctx, "ecr", ECR_TARGET, "GetAuthorizationToken", b, &c);
    json_decref(b);
    if (st != HOIST_OK)
        goto cleanup;
    json_t *ad = json_array_get(json_object_get(c.json, "authorizationData"), 0);
    const char *tok = json_string_value(json_object_get(ad, "authorizationToken"));
    const char *ep = json_string_value(json_object_get(ad, "proxyEndpoint"));
    char *colon;
    if (tok)
        h->secret(ctx, tok);
    if (!tok || !ep || !(plain = h->base64_decode(tok, NULL)) || !(colon = strchr(plain, ':'))) {
        st = h->fail(ctx, HOIST_E_INTERNAL,
                     "ecr:GetAuthorizationToken: no usable authorizationData in the answer");
        goto cleanup;
    }
    *colon = '\0';
    h->secret(ctx, colon + 1);
    out->endpoint = hoist_kit_xstrdup(ep);
    out->repository = reg_name(r);
    out->username = hoist_kit_xstrdup(plain);
    out->password = hoist_kit_xstrdup(colon + 1);
    out->expires_at = (int64_t)floor(json_number_value(json_object_get(ad, "expiresAt")));
cleanup:
    free(plain);
    aws_call_clear(p, &c);
    return st;
}

const hoist_registry_ops aws_registry_ops = {
    .struct_size = sizeof aws_registry_ops,
    .ensure = reg_ensure,
    .observe = reg_observe,
    .destroy = reg_destroy,
    .credentials = reg_credentials,
};
