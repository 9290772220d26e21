/*
 * Request-time resolution of a tenant and its signing keys through the
 * shared cache and the back channel.
 */
#ifndef MTO_RESOLVE_H
#define MTO_RESOLVE_H

#include "mto_config.h"
#include "mto_jose.h"
#include "mto_tenant.h"

/*
 * Resolves the tenant for a host name that already matched the host
 * patterns: the shared cache first, then the tenant information document
 * and, where it lacks an endpoint, the issuer's discovery document. The
 * result is cached for the provider's max-age within the configured
 * bounds, a failure for the negative cache time, and one request per host
 * fetches while the others wait for its result. A 404 of the tenant
 * information writes the tenant's gone marker, which ends its existing
 * sessions. On failure err contains the status (502 or 503) and reason. Only
 * stale copies served, offboarding and cache failures are logged here.
 */
apr_status_t mto_tenant_resolve(request_rec *r, const mto_config_t *conf,
                                const char *host, mto_tenant_t **tenant,
                                mto_error_t *err);

/*
 * Loads the tenant's JWK Set from the shared cache or from jwks_uri. With
 * refresh set, the cached copy is bypassed, but at most once per key
 * refresh interval per jwks_uri across all processes. A refresh refused
 * by that limit returns APR_EAGAIN. Skipped keys are logged at WARNING.
 */
apr_status_t mto_jwks_load(request_rec *r, const mto_config_t *conf,
                           const mto_tenant_t *tenant, int refresh,
                           mto_jwks_t **jwks, mto_error_t *err);

/*
 * Returns the parsed form of a JWK Set text from this process's key set
 * cache, parsing it when the text of jwks_uri changed. The result stays
 * valid until the request's pool is destroyed.
 */
apr_status_t mto_keyset_get(request_rec *r, const char *jwks_uri,
                            const char *text, apr_size_t length,
                            mto_jwks_t **jwks, mto_error_t *err);

/* Creates the per-process key set cache; called from child_init. */
void mto_keyset_child_init(apr_pool_t *pchild, server_rec *s);

#endif
