/*
 * xmlutil.h - the little XML the AWS Query protocol needs (libxml2): parse a
 * document, find elements by a simple path ignoring namespaces, iterate
 * siblings, read text.  Parsing never fetches anything and never expands
 * external entities.  Thread-safe (libxml2 is initialised once).
 */
#ifndef HOIST_XMLUTIL_H
#define HOIST_XMLUTIL_H

#include <hoist/host.h>

/* Parse @len bytes; NULL with *@err (malloc'd) on malformed input. */
hoist_xml_doc *hoist_xml_parse(const char *buf, size_t len, char **err);
/* The root element (borrowed). */
const hoist_xml_node *hoist_xml_root(const hoist_xml_doc *doc);
/* First element at @path ("a/b/c", local names) under @from; NULL @path or ""
   = @from's first child element.  NULL if absent. */
const hoist_xml_node *hoist_xml_first(const hoist_xml_node *from, const char *path);
/* Next sibling element with the same local name, or NULL. */
const hoist_xml_node *hoist_xml_next(const hoist_xml_node *node);
/* Local name of @node (borrowed). */
const char *hoist_xml_name(const hoist_xml_node *node);
/* Text content of the element at @path under @from (NULL = @from), malloc'd;
   NULL if the element is absent. */
char *hoist_xml_text(const hoist_xml_node *from, const char *path);
void hoist_xml_free(hoist_xml_doc *doc);

/*
 * hoist_service_error - find the error code and message in an error answer:
 * AWS Query/EC2 XML (<Response><Errors><Error>, <ErrorResponse><Error>,
 * S3's <Error>), AWS JSON (__type, message), DigitalOcean ({"id",
 * "message"}) and Scaleway ({"type", "message"}).  *@code and *@message are
 * malloc'd or NULL.  Returns 1 if a code was found.
 */
int hoist_service_error(const char *body, size_t len, char **code, char **message);

/* Map a service error code to a status (see http.h); HOIST_E_INTERNAL if unknown. */
hoist_status hoist_error_code_status(const char *code);

#endif
