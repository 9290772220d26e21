/*
 * Fuzz target of mto_jwks_parse. The input is the JWK Set document. The
 * target checks the contract of mto_jose.h: a document that is a JSON
 * object with a "keys" array parses, anything else fails with status 502,
 * and every entry read becomes either a key or a warning. A set that
 * parses then verifies three fixed tokens, so cjose uses the hostile keys.
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mto_jose.h"
#include "fuzz_fixture.h"
#include "fuzz_keys.h"
#include "fuzz_sign.h"
#include "fuzz_support.h"

/* Entries that mto_jwks_parse reads from one document (jwks.c). */
#define JWKS_MAX_ENTRIES 100

#define FIXED_TOKEN_COUNT 3

static mto_idtoken_expect_t expect;
static const char *fixed_tokens[FIXED_TOKEN_COUNT];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns a token with the fixed claims, signed by key with alg. */
static const char *mint(apr_pool_t *pool, EVP_PKEY *key, const char *alg,
                        const char *kid)
{
    const char *header;
    const char *payload;
    const char *token;

    header = kid ? apr_psprintf(pool, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg,
                                kid)
                 : apr_psprintf(pool, "{\"alg\":\"%s\"}", alg);
    payload = apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":\"%s\","
                           "\"sub\":\"user-1\",\"nonce\":\"%s\","
                           "\"iat\":%d,\"exp\":%d}", FUZZ_ISSUER,
                           FUZZ_CLIENT_ID, FUZZ_NONCE, FUZZ_NOW - 10,
                           FUZZ_NOW + 300);
    token = fuzz_sign(pool, key, alg, header, strlen(header), payload,
                      strlen(payload));
    if (token == NULL) {
        fuzz_fail("cannot sign a fixed %s token", alg);
    }
    return token;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *pool = fuzz_init();
    EVP_PKEY *rsa = fuzz_key_load(fuzz_rsa_private_pem);
    EVP_PKEY *ec = fuzz_key_load(fuzz_ec_private_pem);

    fuzz_expect_init(pool, &expect);
    fixed_tokens[0] = mint(pool, rsa, "RS256", FUZZ_RSA_KID);
    fixed_tokens[1] = mint(pool, ec, "ES256", FUZZ_EC_KID);
    fixed_tokens[2] = mint(pool, rsa, "PS256", NULL);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    return 0;
}

/*
 * Returns the number of entries that mto_jwks_parse should read from the
 * document, or -1 when it is not a JSON object with a "keys" array. The
 * document is loaded with the same jansson flags as in jwks.c.
 */
static int expected_entries(const uint8_t *data, size_t size)
{
    json_t *document;
    json_t *keys;
    int entries = -1;

    if (size == 0) {
        return -1;
    }
    document = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
                          NULL);
    keys = json_object_get(document, "keys");
    if (json_is_object(document) && json_is_array(keys)) {
        entries = (int)json_array_size(keys);
    }
    json_decref(document);
    return entries;
}

static void check_parsed(const mto_jwks_t *jwks,
                         const apr_array_header_t *warnings, int entries)
{
    int count = mto_jwks_count(jwks);
    int expected = entries;
    int i;

    if (jwks == NULL || warnings == NULL) {
        fuzz_fail("mto_jwks_parse succeeded without a key set or warnings");
    }
    /* Past the cap, one more warning reports how many entries were ignored. */
    if (entries > JWKS_MAX_ENTRIES) {
        expected = JWKS_MAX_ENTRIES + 1;
    }
    if (count + warnings->nelts != expected) {
        fuzz_fail("%d entries became %d keys and %d warnings", entries,
                  count, warnings->nelts);
    }
    for (i = 0; i < warnings->nelts; i++) {
        const char *warning = APR_ARRAY_IDX(warnings, i, const char *);
        const char *c;

        for (c = warning; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
                fuzz_fail("warning %d has byte 0x%02x", i, (unsigned char)*c);
            }
        }
    }
}

static void verify_fixed_tokens(apr_pool_t *pool, const mto_jwks_t *jwks)
{
    int i;

    for (i = 0; i < FIXED_TOKEN_COUNT; i++) {
        mto_idtoken_t *token = NULL;
        mto_error_t err = { 0 };
        apr_status_t rv;

        rv = mto_idtoken_verify(pool, fixed_tokens[i], jwks, &expect, &token,
                                &err);
        if (rv == APR_SUCCESS) {
            continue;
        }
        if (rv != APR_ENOENT && rv != APR_EGENERAL) {
            fuzz_fail("mto_idtoken_verify returned status %d", rv);
        }
        fuzz_check_error(&err, 403, 1, "mto_idtoken_verify");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_input_pool_create();
    char *json = fuzz_text(pool, data, size);
    int entries = expected_entries(data, size);
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };
    apr_status_t rv;

    rv = mto_jwks_parse(pool, json, size, &jwks, &warnings, &err);
    if (rv != APR_SUCCESS) {
        if (entries >= 0) {
            fuzz_fail("a JSON object with a \"keys\" array was rejected: %s",
                      err.text);
        }
        if (jwks != NULL) {
            fuzz_fail("mto_jwks_parse failed but set a key set");
        }
        fuzz_check_error(&err, 502, 1, "mto_jwks_parse");
    }
    else {
        if (entries < 0) {
            fuzz_fail("mto_jwks_parse accepted a document without a "
                      "\"keys\" array");
        }
        check_parsed(jwks, warnings, entries);
        verify_fixed_tokens(pool, jwks);
    }
    fuzz_input_pool_destroy(pool);
    return 0;
}
