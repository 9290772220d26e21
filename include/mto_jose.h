/*
 * JWKS store and ID token validation on cjose and jansson. cjose types do
 * not appear here. Every object these functions allocate is released by a
 * cleanup on the pool passed in.
 */
#ifndef MTO_JOSE_H
#define MTO_JOSE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "mto_error.h"

typedef struct mto_jwks mto_jwks_t;
typedef struct mto_idtoken mto_idtoken_t;

/*
 * Parses a JWK Set (RFC 7517 section 5). Keys that cannot be parsed, or
 * whose "use" is not "sig", are skipped and described in warnings (an
 * array of const char *, never NULL). A document that is not a JSON
 * object with a "keys" array fails with err filled (status 502).
 */
apr_status_t mto_jwks_parse(apr_pool_t *pool, const char *json,
                            apr_size_t length, mto_jwks_t **jwks,
                            apr_array_header_t **warnings, mto_error_t *err);

/* Returns the number of usable keys in jwks. */
int mto_jwks_count(const mto_jwks_t *jwks);

typedef struct {
    const char *issuer;          /* required "iss", compared byte-exact */
    const char *client_id;       /* must be in "aud"; "azp" rules apply */
    const char *nonce;           /* required "nonce", constant-time compare */
    const apr_array_header_t *algs;  /* allowed "alg" values (const char *) */
    apr_time_t now;
    apr_interval_time_t skew;        /* tolerated clock difference */
    apr_interval_time_t iat_max_age; /* oldest "iat" accepted */
    apr_size_t max_length;           /* maximum compact token length, in bytes */
} mto_idtoken_expect_t;

/*
 * Verifies a compact-serialised id_token: size, structure, JOSE header
 * (alg in expect->algs, never "none" or HMAC; jku, x5u, x5c and jwk never
 * used; unknown crit names rejected), key selection by kid, signature, and
 * the claims iss, aud, azp, exp, iat, nbf, sub and nonce.
 *
 * Returns APR_SUCCESS and sets *token, or APR_ENOENT when the header's kid
 * names no key of jwks (the caller may refetch the key set once), or
 * APR_EGENERAL with err filled (status 403) for any other rejection.
 */
apr_status_t mto_idtoken_verify(apr_pool_t *pool, const char *compact,
                                const mto_jwks_t *jwks,
                                const mto_idtoken_expect_t *expect,
                                mto_idtoken_t **token, mto_error_t *err);

/* Returns the string value of a payload claim, or NULL when absent or not
 * a string. */
const char *mto_idtoken_claim(const mto_idtoken_t *token, const char *name);

/* Returns "exp" of a verified token as apr_time_t. */
apr_time_t mto_idtoken_expiry(const mto_idtoken_t *token);

#endif
