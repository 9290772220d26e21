/*
 * Fuzz target of mto_idtoken_verify, with mto_jwks_parse on hostile key
 * sets. The first byte of the input, modulo 5, chooses the mode:
 *
 *   0        the rest is a compact token, verified against the fixed JWK
 *            Set of fuzz_keys.h;
 *   1        the rest is a JWK Set, a NUL byte and a compact token, which
 *            is verified against that set when it parses;
 *   2, 3, 4  the rest is a JOSE header, a NUL byte and a payload. The
 *            target signs them with RS256, ES256 or PS256 under the fixed
 *            keys, so hostile headers and claims get past the signature.
 *
 * Every mode checks the contract of mto_jose.h: the status is one of the
 * three documented, a rejection fills err with 403 and printable text,
 * and an accepted token has the expected issuer, nonce and a live "exp".
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "mto_jose.h"
#include "fuzz_fixture.h"
#include "fuzz_keys.h"
#include "fuzz_sign.h"
#include "fuzz_support.h"

#define MODE_TOKEN 0
#define MODE_JWKS_AND_TOKEN 1
#define MODE_SIGN_RS256 2
#define MODE_SIGN_ES256 3
#define MODE_SIGN_PS256 4
#define MODE_COUNT 5

/* OpenID Connect Core 1.0 section 2 limits "sub" to 255 characters. */
#define SUB_MAX 255

static mto_jwks_t *fixed_jwks;
static mto_idtoken_expect_t expect;
static EVP_PKEY *rsa_key;
static EVP_PKEY *ec_key;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the warnings of a JWK Set that parsed. */
static void check_warnings(const apr_array_header_t *warnings)
{
    int i;

    if (warnings == NULL) {
        fuzz_fail("mto_jwks_parse returned NULL warnings");
    }
    for (i = 0; i < warnings->nelts; i++) {
        const char *warning = APR_ARRAY_IDX(warnings, i, const char *);
        const char *c;

        if (warning == NULL || warning[0] == '\0') {
            fuzz_fail("mto_jwks_parse warning %d is empty", i);
        }
        for (c = warning; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
                fuzz_fail("mto_jwks_parse warning %d has byte 0x%02x", i,
                          (unsigned char)*c);
            }
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *pool = fuzz_init();
    apr_array_header_t *warnings;
    mto_error_t err = { 0 };

    fuzz_expect_init(pool, &expect);
    if (mto_jwks_parse(pool, fuzz_jwks_json, strlen(fuzz_jwks_json),
                       &fixed_jwks, &warnings, &err) != APR_SUCCESS
        || mto_jwks_count(fixed_jwks) != 2 || warnings->nelts != 0) {
        fuzz_fail("the fixed JWK Set does not parse into two keys: %s",
                  err.text);
    }
    rsa_key = fuzz_key_load(fuzz_rsa_private_pem);
    ec_key = fuzz_key_load(fuzz_ec_private_pem);
    return 0;
}

/* Checks the token of a successful verification against expect. */
static void check_accepted(const mto_idtoken_t *token)
{
    const char *iss;
    const char *nonce;
    const char *sub;

    if (token == NULL) {
        fuzz_fail("mto_idtoken_verify succeeded without a token");
    }
    iss = mto_idtoken_claim(token, "iss");
    nonce = mto_idtoken_claim(token, "nonce");
    sub = mto_idtoken_claim(token, "sub");
    if (iss == NULL || strcmp(iss, expect.issuer) != 0) {
        fuzz_fail("accepted token has iss '%s'", iss ? iss : "(none)");
    }
    if (nonce == NULL || strcmp(nonce, expect.nonce) != 0) {
        fuzz_fail("accepted token has a nonce other than the expected one");
    }
    if (sub == NULL || sub[0] == '\0' || strlen(sub) > SUB_MAX) {
        fuzz_fail("accepted token has a missing, empty or long sub");
    }
    /* Written as a subtraction, because exp plus the skew may overflow. */
    if (mto_idtoken_expiry(token) <= expect.now - expect.skew) {
        fuzz_fail("accepted token expired at %" APR_TIME_T_FMT,
                  mto_idtoken_expiry(token));
    }
}

static void verify(apr_pool_t *pool, const char *compact,
                   const mto_jwks_t *jwks)
{
    mto_idtoken_t *token = NULL;
    mto_error_t err = { 0 };
    apr_status_t rv;

    rv = mto_idtoken_verify(pool, compact, jwks, &expect, &token, &err);
    if (rv == APR_SUCCESS) {
        check_accepted(token);
        return;
    }
    if (rv != APR_ENOENT && rv != APR_EGENERAL) {
        fuzz_fail("mto_idtoken_verify returned status %d", rv);
    }
    if (token != NULL) {
        fuzz_fail("mto_idtoken_verify failed but set a token");
    }
    fuzz_check_error(&err, 403, 1, "mto_idtoken_verify");
}

static void run_jwks_and_token(apr_pool_t *pool, const uint8_t *data,
                               size_t size)
{
    char *json;
    char *compact;
    size_t json_size;
    size_t compact_size;
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };

    fuzz_split(pool, data, size, &json, &json_size, &compact, &compact_size);
    if (mto_jwks_parse(pool, json, json_size, &jwks, &warnings, &err)
        != APR_SUCCESS) {
        if (jwks != NULL) {
            fuzz_fail("mto_jwks_parse failed but set a key set");
        }
        fuzz_check_error(&err, 502, 1, "mto_jwks_parse");
        return;
    }
    check_warnings(warnings);
    verify(pool, compact, jwks);
}

static void run_signed(apr_pool_t *pool, const uint8_t *data, size_t size,
                       int mode)
{
    char *header;
    char *payload;
    size_t header_size;
    size_t payload_size;
    const char *compact;

    fuzz_split(pool, data, size, &header, &header_size, &payload,
               &payload_size);
    if (mode == MODE_SIGN_ES256) {
        compact = fuzz_sign(pool, ec_key, "ES256", header, header_size,
                            payload, payload_size);
    }
    else {
        compact = fuzz_sign(pool, rsa_key,
                            mode == MODE_SIGN_RS256 ? "RS256" : "PS256",
                            header, header_size, payload, payload_size);
    }
    if (compact == NULL) {
        fuzz_fail("signing the header and payload failed");
    }
    verify(pool, compact, fixed_jwks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    int mode;

    if (size == 0) {
        return 0;
    }
    mode = data[0] % MODE_COUNT;
    pool = fuzz_input_pool_create();
    switch (mode) {
    case MODE_TOKEN:
        verify(pool, fuzz_text(pool, data + 1, size - 1), fixed_jwks);
        break;
    case MODE_JWKS_AND_TOKEN:
        run_jwks_and_token(pool, data + 1, size - 1);
        break;
    default:
        run_signed(pool, data + 1, size - 1, mode);
        break;
    }
    fuzz_input_pool_destroy(pool);
    return 0;
}
