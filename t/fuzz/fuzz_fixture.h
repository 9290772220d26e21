/*
 * Fixed values shared by the fuzz targets and by seedgen, which writes
 * the seed corpora: the tenant, the expectations an id_token is checked
 * against, and the cookie keys. A seed made with other values would stop
 * reaching the code behind the checks it was made to pass.
 */
#ifndef FUZZ_FIXTURE_H
#define FUZZ_FIXTURE_H

#include <apr_tables.h>
#include <apr_time.h>

#include "mto_crypto.h"
#include "mto_jose.h"

#define FUZZ_HOST "acme.example.com"
#define FUZZ_HOST_PATTERN "*.example.com"
#define FUZZ_ISSUER "https://idp.example.com/acme"
#define FUZZ_ISSUER_PATTERN "https://idp.example.com/*"
#define FUZZ_URL_TEMPLATE \
    "https://{host}/identity/api/authentication/information"

#define FUZZ_CLIENT_ID "fuzz-client"
#define FUZZ_NONCE "n-0123456789abcdef"

/* The verifier's clock, in seconds since the epoch (November 2023). */
#define FUZZ_NOW 1700000000
#define FUZZ_SKEW 60
#define FUZZ_IAT_MAX_AGE 600
#define FUZZ_TOKEN_MAX 16384

/* Key ids of the two keys in fuzz_keys.h. */
#define FUZZ_RSA_KID "fuzz-rsa"
#define FUZZ_EC_KID "fuzz-ec"

/* Additional authenticated data of state and session cookies. */
#define FUZZ_STATE_AAD "state\n" FUZZ_HOST
#define FUZZ_SESSION_AAD "session\n" FUZZ_HOST

/* Cookie keys: the current one first, then an earlier one. */
#define FUZZ_COOKIE_KEY_COUNT 2

static const mto_key_t fuzz_cookie_keys[FUZZ_COOKIE_KEY_COUNT] = {
    {{ 0x6d, 0x74, 0x6f, 0x2d, 0x66, 0x75, 0x7a, 0x7a,
       0x2d, 0x63, 0x75, 0x72, 0x72, 0x65, 0x6e, 0x74,
       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
       0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 }},
    {{ 0x6d, 0x74, 0x6f, 0x2d, 0x66, 0x75, 0x7a, 0x7a,
       0x2d, 0x65, 0x61, 0x72, 0x6c, 0x69, 0x65, 0x72,
       0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
       0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 }},
};

/*
 * Fills expect with the fixed expectations. The allowed algorithms include
 * ES384, which no key of the fixed set fits, so a token naming it reaches
 * the key-selection errors.
 */
static inline void fuzz_expect_init(apr_pool_t *pool,
                                    mto_idtoken_expect_t *expect)
{
    apr_array_header_t *algs = apr_array_make(pool, 4, sizeof(const char *));

    APR_ARRAY_PUSH(algs, const char *) = "RS256";
    APR_ARRAY_PUSH(algs, const char *) = "PS256";
    APR_ARRAY_PUSH(algs, const char *) = "ES256";
    APR_ARRAY_PUSH(algs, const char *) = "ES384";

    expect->issuer = FUZZ_ISSUER;
    expect->client_id = FUZZ_CLIENT_ID;
    expect->nonce = FUZZ_NONCE;
    expect->algs = algs;
    expect->now = apr_time_from_sec(FUZZ_NOW);
    expect->skew = apr_time_from_sec(FUZZ_SKEW);
    expect->iat_max_age = apr_time_from_sec(FUZZ_IAT_MAX_AGE);
    expect->max_length = FUZZ_TOKEN_MAX;
}

#endif
