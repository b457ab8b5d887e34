/*
 * conformance.h - shared by hoist-conformance's source files.
 */
#ifndef HOIST_CONFORMANCE_H
#define HOIST_CONFORMANCE_H

#include <jansson.h>

/*
 * hc_settings_load - read driver settings from @path: JSON when the name
 * ends in ".json", YAML otherwise (plain scalars typed by the YAML 1.2 core
 * schema).  Returns a new JSON object, or NULL with *err set to one message
 * naming the file and place (caller frees).  Not thread-safe (libyaml state
 * is per call, but it is only called before any thread starts).
 */
json_t *hc_settings_load(const char *path, char **err);

#endif
