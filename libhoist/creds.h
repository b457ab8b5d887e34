/*
 * creds.h - cloud credentials, found the way each cloud's own tools find
 * them, so drivers never read credential files themselves (they call
 * host->credentials, which is hoist_credentials).
 *
 * Result objects (every string member optional unless marked):
 *  aws:          access_key_id*, secret_access_key*, session_token, region*,
 *                profile, endpoint_url (AWS_ENDPOINT_URL or settings
 *                "endpoint"), endpoints {service: url} (AWS_ENDPOINT_URL_<SVC>,
 *                settings "endpoints"), source.
 *  digitalocean: token*, api_url* (default https://api.digitalocean.com), source.
 *  scaleway:     access_key*, secret_key*, project_id*, region*, zone*,
 *                api_url* (default https://api.scaleway.com), profile, source.
 * Precedence: hoist.yml settings, then environment variables, then files
 * (AWS: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, then
 * AWS_CONFIG_FILE or ~/.aws/config with [profile NAME]; Scaleway:
 * SCW_CONFIG_PATH or ~/.config/scw/config.yaml, profile SCW_PROFILE or
 * active_profile).  Secrets found are registered with hoist_secret_add.
 */
#ifndef HOIST_CREDS_H
#define HOIST_CREDS_H

#include <hoist/host.h>
#include <jansson.h>

/*
 * hoist_credentials - resolve @cloud's credentials ("aws", "digitalocean",
 * "scaleway") from @settings (the environment's hoist.yml settings, borrowed,
 * may be NULL), the process environment and the cloud's files.
 * *@out: new reference on HOIST_OK.  Otherwise HOIST_E_AUTH (missing or
 * partial credentials: one message listing every place looked),
 * HOIST_E_INVALID (unreadable file, unknown profile or cloud), reported in
 * @ctx.  Thread-safe (reads the environment, never changes it).
 */
hoist_status hoist_credentials(hoist_ctx *ctx, const char *cloud, json_t *settings, json_t **out);

#endif
