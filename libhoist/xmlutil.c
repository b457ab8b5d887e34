/* xmlutil.c - XML helpers and service error decoding (see xmlutil.h). */
#include "xmlutil.h"
#include "util.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

hoist_xml_doc *hoist_xml_parse(const char *buf, size_t len, char **err)
{
    pthread_once(&xml_once, xml_init);
    /* NONET and no NOENT: nothing is fetched, entities stay unexpanded. */
    xmlDocPtr d = xmlReadMemory(buf, (int)len, "answer.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!d || !xmlDocGetRootElement(d)) {
        const xmlError *e = xmlGetLastError();
        *err = hoist_xasprintf("malformed XML%s%s", e && e->message ? ": " : "",
                               e && e->message ? e->message : "");
        size_t l = strlen(*err);
        if (l && (*err)[l - 1] == '\n')
            (*err)[l - 1] = '\0';
        if (d)
            xmlFreeDoc(d);
        return NULL;
    }
    return (hoist_xml_doc *)d;
}

const hoist_xml_node *hoist_xml_root(const hoist_xml_doc *doc)
{
    return doc ? (const hoist_xml_node *)xmlDocGetRootElement((xmlDocPtr)doc) : NULL;
}

static xmlNodePtr child_named(xmlNodePtr from, const char *name, size_t len)
{
    for (xmlNodePtr c = from->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!name || (strlen((const char *)c->name) == len &&
                      strncmp((const char *)c->name, name, len) == 0))
            return c;
    }
    return NULL;
}

const hoist_xml_node *hoist_xml_first(const hoist_xml_node *from, const char *path)
{
    xmlNodePtr n = (xmlNodePtr)from;
    if (!n)
        return NULL;
    if (!path || !*path)
        return (const hoist_xml_node *)child_named(n, NULL, 0);
    const char *p = path;
    while (n && *p) {
        size_t l = strcspn(p, "/");
        n = child_named(n, p, l);
        p += l;
        if (*p == '/')
            p++;
    }
    return (const hoist_xml_node *)n;
}

const hoist_xml_node *hoist_xml_next(const hoist_xml_node *node)
{
    xmlNodePtr n = (xmlNodePtr)node;
    if (!n)
        return NULL;
    for (xmlNodePtr c = n->next; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, n->name))
            return (const hoist_xml_node *)c;
    return NULL;
}

const char *hoist_xml_name(const hoist_xml_node *node)
{
    return node ? (const char *)((xmlNodePtr)node)->name : NULL;
}

char *hoist_xml_text(const hoist_xml_node *from, const char *path)
{
    xmlNodePtr n = (xmlNodePtr)(path ? hoist_xml_first(from, path) : from);
    if (!n)
        return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    char *s = hoist_xstrdup(c ? (const char *)c : "");
    xmlFree(c);
    return s;
}

void hoist_xml_free(hoist_xml_doc *doc)
{
    if (doc)
        xmlFreeDoc((xmlDocPtr)doc);
}

static int json_error(const char *body, size_t len, char **code, char **message)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    /* AWS JSON protocol: "__type" may be "prefix#Code"; also "code"/"Code"
       (REST-JSON), DigitalOcean "id", Scaleway "type". */
    const char *keys[] = {"__type", "code", "Code", "id", "type", NULL};
    const char *c = NULL;
    for (int i = 0; keys[i] && !c; i++)
        c = json_string_value(json_object_get(j, keys[i]));
    if (c && strchr(c, '#'))
        c = strrchr(c, '#') + 1;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(j, "Message"));
    *code = c ? hoist_xstrndup(c, strcspn(c, ":")) : NULL;
    *message = hoist_xstrdup(m);
    json_decref(j);
    return c != NULL;
}

int hoist_service_error(const char *body, size_t len, char **code, char **message)
{
    *code = *message = NULL;
    if (!body || !len)
        return 0;
    size_t i = strspn(body, " \t\r\n");
    if (i < len && body[i] == '{')
        return json_error(body, len, code, message);
    if (i >= len || body[i] != '<')
        return 0;
    char *err = NULL;
    hoist_xml_doc *d = hoist_xml_parse(body, len, &err);
    free(err);
    if (!d)
        return 0;
    const hoist_xml_node *r = hoist_xml_root(d), *e = NULL;
    const char *name = hoist_xml_name(r);
    if (!strcmp(name, "Response"))
        e = hoist_xml_first(r, "Errors/Error");
    else if (!strcmp(name, "ErrorResponse"))
        e = hoist_xml_first(r, "Error");
    else if (!strcmp(name, "Error"))
        e = r;
    if (e) {
        *code = hoist_xml_text(e, "Code");
        *message = hoist_xml_text(e, "Message");
    }
    hoist_xml_free(d);
    return *code != NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

hoist_status hoist_error_code_status(const char *code)
{
    static const char *const auth[] = {"AuthFailure", "UnrecognizedClientException",
                                       "SignatureDoesNotMatch", "InvalidClientTokenId",
                                       "ExpiredToken", "ExpiredTokenException",
                                       "AccessDenied", "AccessDeniedException",
                                       "UnauthorizedOperation", "unauthorized",
                                       "forbidden", "denied_authentication", NULL};
    static const char *const transient[] = {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException",
        "RequestThrottledException", "TooManyRequestsException", "SlowDown",
        "RequestThrottled", "EC2ThrottledException", "PriorRequestNotComplete",
        "ProvisionedThroughputExceededException", "BandwidthLimitExceeded",
        "too_many_requests", "InternalError", "InternalFailure", "ServiceUnavailable",
        "Unavailable", "server_error", NULL};
    static const char *const invalid[] = {"ValidationError", "ValidationException",
                                          "MissingParameter", "MalformedQueryString",
                                          "invalid_argument", "unprocessable_entity",
                                          "bad_request", NULL};
    if (!code || !*code)
        return HOIST_E_INTERNAL;
    for (int i = 0; auth[i]; i++)
        if (!strcmp(code, auth[i]))
            return HOIST_E_AUTH;
    for (int i = 0; transient[i]; i++)
        if (!strcmp(code, transient[i]))
            return HOIST_E_TRANSIENT;
    if (!strncmp(code, "Throttl", 7))
        return HOIST_E_TRANSIENT;
    if (ends_with(code, "LimitExceeded") || ends_with(code, "QuotaExceeded") ||
        ends_with(code, "LimitExceededException") || strstr(code, "quota"))
        return HOIST_E_QUOTA;
    for (int i = 0; invalid[i]; i++)
        if (!strcmp(code, invalid[i]))
            return HOIST_E_INVALID;
    if (!strncmp(code, "InvalidParameter", 16))
        return HOIST_E_INVALID;
    if (strstr(code, "NotFound") || !strncmp(code, "NoSuch", 6) || !strcmp(code, "not_found"))
        return HOIST_E_NOTFOUND;
    if (strstr(code, "AlreadyExists") || ends_with(code, "InUse") || !strcmp(code, "conflict"))
        return HOIST_E_CONFLICT;
    /* EC2 uses Invalid<Thing>.NotFound (caught above) and Invalid<Thing>.Malformed. */
    if (!strncmp(code, "Invalid", 7))
        return HOIST_E_INVALID;
    return HOIST_E_INTERNAL;
}
