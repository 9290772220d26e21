/*
 * The authorization code flow with PKCE (RFC 7636, S256 only). This part
 * chooses the flow for a tenant and computes the code challenge sent at
 * login. At the callback it redeems the code at the tenant's token
 * endpoint (RFC 6749 section 4.1.3).
 */
#ifndef MTO_TOKEN_H
#define MTO_TOKEN_H

#include "mto_request.h"
#include "mto_tenant.h"

/* Random bytes in a code_verifier: 32 bytes give 43 base64url characters,
 * within the 43 to 128 that RFC 7636 section 4.1 allows. */
#define MTO_CODE_VERIFIER_BYTES 32

/* Returns 1 when a login at tenant uses the code flow: the tenant's
 * "responseType" decides when set, else MTOIDCResponseType. */
int mto_code_flow_used(const mto_config_t *conf, const mto_tenant_t *tenant);

/* Returns the S256 code_challenge of verifier, BASE64URL(SHA-256(verifier)),
 * or NULL when OpenSSL fails. */
const char *mto_code_challenge(apr_pool_t *pool, const char *verifier);

/*
 * Returns the redirect_uri for request r: the callback path on the
 * request's own scheme, host and port. The login and the code redemption
 * both take it from here, so the token request repeats the value sent.
 */
const char *mto_redirect_uri(request_rec *r, const mto_config_t *conf);

/*
 * Redeems code at the token endpoint of tenant with the code_verifier of
 * state and sets *id_token to the id_token of the response. The request
 * carries client_id in the body and, when conf has a client secret, HTTP
 * Basic credentials as well. Logs every failure with the tenant host and
 * returns OK or an HTTP status: 502 for a failed request or an invalid
 * response, 503 for an unreachable or slow endpoint.
 */
int mto_token_redeem(request_rec *r, const mto_config_t *conf,
                     const mto_tenant_t *tenant, const mto_state_t *state,
                     const char *code, const char **id_token);

#endif
