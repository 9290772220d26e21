/*
 * Unit tests of JWK Set parsing and ID token validation. Keys are made
 * with OpenSSL at start-up. Valid tokens are signed with cjose_jws_sign.
 * Crafted tokens, whose header or payload bytes no JSON encoder would
 * write, are signed by sign_raw with OpenSSL, so a crafted token fails
 * only for the rule under test and never for a bad signature.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <check.h>
#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mto_jose.h"

#define ISSUER "https://idp.localhost/tenant-a"
#define CLIENT_ID "client-1"
#define NONCE "n-0123456789abcdef"
#define NOW 1700000000
#define SKEW 60
#define MAX_AGE 600
#define MAX_LENGTH 16384

typedef struct {
    const char *kid;
    EVP_PKEY *pkey;
    cjose_jwk_t *jwk;          /* private key, for cjose_jws_sign */
    const char *public_json;   /* public JWK with "kid", for JWK Sets */
} test_key_t;

static test_key_t rsa_key;        /* kid "rsa-1": the provider's key */
static test_key_t rsa_new_key;    /* kid "rsa-2": the provider's next key */
static test_key_t attacker_key;   /* kid "attacker" */
static test_key_t rsa_small_key;  /* kid "rsa-1024" */
static test_key_t ec256_key;      /* kid "ec-256" */
static test_key_t ec384_key;      /* kid "ec-384" */
static test_key_t ec521_key;      /* kid "ec-521" */

static apr_pool_t *key_pool;
static apr_pool_t *pool;

/* ------------------------------------------------------------------ */
/* Encoding and key set-up                                              */
/* ------------------------------------------------------------------ */

static char *b64url(apr_pool_t *p, const void *data, size_t length)
{
    char *out = apr_palloc(p, 4 * ((length + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)length);
    int i;

    for (i = 0; i < n; i++) {
        if (out[i] == '+') {
            out[i] = '-';
        }
        else if (out[i] == '/') {
            out[i] = '_';
        }
    }
    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';
    return out;
}

static char *b64url_text(apr_pool_t *p, const char *text)
{
    return b64url(p, text, strlen(text));
}

static void fail_setup(const char *step)
{
    fprintf(stderr, "test set-up failed: %s\n", step);
    exit(2);
}

/* Adds a big-number parameter of pkey to jwk as base64url of size bytes
 * (its own length when size is 0). */
static void add_bn(json_t *jwk, const char *member, EVP_PKEY *pkey,
                   const char *param, int size)
{
    BIGNUM *bn = NULL;
    unsigned char buffer[1024];
    int length;

    if (!EVP_PKEY_get_bn_param(pkey, param, &bn)) {
        fail_setup(param);
    }
    length = size ? size : BN_num_bytes(bn);
    if (BN_bn2binpad(bn, buffer, length) != length) {
        fail_setup(param);
    }
    json_object_set_new(jwk, member,
                        json_string(b64url(key_pool, buffer, length)));
    BN_clear_free(bn);
}

static void finish_key(test_key_t *key, json_t *public_jwk, json_t *private_jwk)
{
    char *text;
    cjose_err cerr;

    text = json_dumps(public_jwk, JSON_COMPACT);
    key->public_json = apr_pstrdup(key_pool, text);
    free(text);

    text = json_dumps(private_jwk, JSON_COMPACT);
    key->jwk = cjose_jwk_import(text, strlen(text), &cerr);
    free(text);
    if (key->jwk == NULL) {
        fail_setup(cerr.message);
    }
    json_decref(public_jwk);
    json_decref(private_jwk);
}

static void make_rsa_key(test_key_t *key, const char *kid, size_t bits)
{
    json_t *public_jwk;
    json_t *private_jwk;

    key->kid = kid;
    key->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    if (key->pkey == NULL) {
        fail_setup("RSA key generation");
    }
    public_jwk = json_pack("{s:s, s:s}", "kty", "RSA", "kid", kid);
    add_bn(public_jwk, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
    add_bn(public_jwk, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0);

    private_jwk = json_deep_copy(public_jwk);
    add_bn(private_jwk, "d", key->pkey, OSSL_PKEY_PARAM_RSA_D, 0);
    add_bn(private_jwk, "p", key->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0);
    add_bn(private_jwk, "q", key->pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0);
    add_bn(private_jwk, "dp", key->pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0);
    add_bn(private_jwk, "dq", key->pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0);
    add_bn(private_jwk, "qi", key->pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
    finish_key(key, public_jwk, private_jwk);
}

static void make_ec_key(test_key_t *key, const char *kid, const char *curve,
                        const char *crv, int size)
{
    json_t *public_jwk;
    json_t *private_jwk;

    key->kid = kid;
    key->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    if (key->pkey == NULL) {
        fail_setup("EC key generation");
    }
    public_jwk = json_pack("{s:s, s:s, s:s}", "kty", "EC", "kid", kid,
                           "crv", crv);
    add_bn(public_jwk, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, size);
    add_bn(public_jwk, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size);

    private_jwk = json_deep_copy(public_jwk);
    add_bn(private_jwk, "d", key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, size);
    finish_key(key, public_jwk, private_jwk);
}

static void make_keys(void)
{
    make_rsa_key(&rsa_key, "rsa-1", 2048);
    make_rsa_key(&rsa_new_key, "rsa-2", 2048);
    make_rsa_key(&attacker_key, "attacker", 2048);
    make_rsa_key(&rsa_small_key, "rsa-1024", 1024);
    make_ec_key(&ec256_key, "ec-256", "P-256", "P-256", 32);
    make_ec_key(&ec384_key, "ec-384", "P-384", "P-384", 48);
    make_ec_key(&ec521_key, "ec-521", "P-521", "P-521", 66);
}

static void free_key(test_key_t *key)
{
    cjose_jwk_release(key->jwk);
    EVP_PKEY_free(key->pkey);
}

static void free_keys(void)
{
    free_key(&rsa_key);
    free_key(&rsa_new_key);
    free_key(&attacker_key);
    free_key(&rsa_small_key);
    free_key(&ec256_key);
    free_key(&ec384_key);
    free_key(&ec521_key);
}

/* ------------------------------------------------------------------ */
/* Token and key set builders                                           */
/* ------------------------------------------------------------------ */

static const EVP_MD *digest_for(const char *alg)
{
    const char *bits = alg + 2;

    if (strcmp(bits, "384") == 0) {
        return EVP_sha384();
    }
    if (strcmp(bits, "512") == 0) {
        return EVP_sha512();
    }
    return EVP_sha256();
}

/* Converts a DER ECDSA signature to the JWS form R || S (RFC 7518 3.4). */
static size_t ecdsa_der_to_raw(const unsigned char *der, size_t length,
                               unsigned char *raw, int coordinate_size)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)length);
    const BIGNUM *r;
    const BIGNUM *s;

    ck_assert_ptr_nonnull(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    BN_bn2binpad(r, raw, coordinate_size);
    BN_bn2binpad(s, raw + coordinate_size, coordinate_size);
    ECDSA_SIG_free(sig);
    return 2 * (size_t)coordinate_size;
}

/*
 * Signs the exact header and payload texts with key under sign_alg, which
 * may differ from the header's "alg". With der set, an ECDSA signature
 * stays DER-encoded instead of R || S.
 */
static char *sign_raw_der(const test_key_t *key, const char *sign_alg,
                          const char *header, const char *payload, int der)
{
    const char *input = apr_pstrcat(pool, b64url_text(pool, header), ".",
                                    b64url_text(pool, payload), NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char der_sig[1024];
    unsigned char raw_sig[1024];
    size_t length = sizeof(der_sig);
    const unsigned char *sig = der_sig;

    ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, digest_for(sign_alg),
                                        NULL, key->pkey), 1);
    if (sign_alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    ck_assert_int_eq(EVP_DigestSign(ctx, der_sig, &length,
                                    (const unsigned char *)input,
                                    strlen(input)), 1);
    EVP_MD_CTX_free(ctx);

    if (sign_alg[0] == 'E' && !der) {
        length = ecdsa_der_to_raw(der_sig, length, raw_sig,
                                  (EVP_PKEY_get_bits(key->pkey) + 7) / 8);
        sig = raw_sig;
    }
    return apr_pstrcat(pool, input, ".", b64url(pool, sig, length), NULL);
}

static char *sign_raw(const test_key_t *key, const char *sign_alg,
                      const char *header, const char *payload)
{
    return sign_raw_der(key, sign_alg, header, payload, 0);
}

/* Signs payload with cjose_jws_sign under a header of alg and key's kid. */
static char *sign_cjose(const test_key_t *key, const char *alg,
                        const char *payload)
{
    cjose_err cerr;
    cjose_header_t *header = cjose_header_new(&cerr);
    cjose_jws_t *jws;
    const char *compact = NULL;
    char *copy;

    ck_assert_ptr_nonnull(header);
    ck_assert(cjose_header_set(header, CJOSE_HDR_ALG, alg, &cerr));
    ck_assert(cjose_header_set(header, CJOSE_HDR_KID, key->kid, &cerr));
    jws = cjose_jws_sign(key->jwk, header, (const uint8_t *)payload,
                         strlen(payload), &cerr);
    ck_assert_msg(jws != NULL, "cjose_jws_sign %s: %s", alg, cerr.message);
    ck_assert(cjose_jws_export(jws, &compact, &cerr));
    copy = apr_pstrdup(pool, compact);
    cjose_jws_release(jws);
    cjose_header_release(header);
    return copy;
}

static json_t *default_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}",
                     "iss", ISSUER, "aud", CLIENT_ID, "sub", "user-1",
                     "nonce", NONCE,
                     "exp", (json_int_t)(NOW + 300),
                     "iat", (json_int_t)(NOW - 10));
}

/* Sets claim name to the JSON text value, or removes it when value is NULL. */
static void set_claim(json_t *claims, const char *name, const char *value)
{
    json_t *parsed;

    if (value == NULL) {
        json_object_del(claims, name);
        return;
    }
    parsed = json_loads(value, JSON_DECODE_ANY, NULL);
    ck_assert_msg(parsed != NULL, "bad JSON in test table: %s", value);
    json_object_set_new(claims, name, parsed);
}

/* Returns value as compact JSON text and releases value. */
static char *dump_json(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    char *copy = apr_pstrdup(pool, text);

    free(text);
    json_decref(value);
    return copy;
}

static const char *default_payload(void)
{
    return dump_json(default_claims());
}

/* Builds a JWK Set document from the NULL-terminated entry texts. */
static const char *jwks_text(const char *first, ...)
{
    va_list ap;
    const char *entry;
    const char *text = "{\"keys\":[";
    int n = 0;

    va_start(ap, first);
    for (entry = first; entry != NULL; entry = va_arg(ap, const char *)) {
        text = apr_pstrcat(pool, text, n++ ? "," : "", entry, NULL);
    }
    va_end(ap);
    return apr_pstrcat(pool, text, "]}", NULL);
}

static mto_jwks_t *parse_jwks(const char *text)
{
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };

    ck_assert_int_eq(mto_jwks_parse(pool, text, strlen(text), &jwks,
                                    &warnings, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(jwks);
    return jwks;
}

/* Returns the JWK text with member set to value (JSON) or removed. */
static const char *jwk_with(const char *jwk_text, const char *member,
                            const char *value)
{
    json_t *jwk = json_loads(jwk_text, 0, NULL);

    ck_assert_ptr_nonnull(jwk);
    set_claim(jwk, member, value);
    return dump_json(jwk);
}

static mto_idtoken_expect_t expect;

static void default_expect(void)
{
    apr_array_header_t *algs = apr_array_make(pool, 8, sizeof(const char *));

    APR_ARRAY_PUSH(algs, const char *) = "RS256";
    APR_ARRAY_PUSH(algs, const char *) = "PS256";
    APR_ARRAY_PUSH(algs, const char *) = "ES256";
    APR_ARRAY_PUSH(algs, const char *) = "ES384";
    APR_ARRAY_PUSH(algs, const char *) = "ES512";
    /* Listed on purpose: HMAC must be rejected even when configured. */
    APR_ARRAY_PUSH(algs, const char *) = "HS256";
    memset(&expect, 0, sizeof(expect));
    expect.issuer = ISSUER;
    expect.client_id = CLIENT_ID;
    expect.nonce = NONCE;
    expect.algs = algs;
    expect.now = apr_time_from_sec(NOW);
    expect.skew = apr_time_from_sec(SKEW);
    expect.iat_max_age = apr_time_from_sec(MAX_AGE);
    expect.max_length = MAX_LENGTH;
}

static mto_jwks_t *provider_jwks(void)
{
    return parse_jwks(jwks_text(rsa_key.public_json, ec256_key.public_json,
                                ec384_key.public_json, ec521_key.public_json,
                                NULL));
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    default_expect();
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* Verifies token and checks that it is accepted. */
static mto_idtoken_t *assert_accepted(const char *name, const char *token,
                                      const mto_jwks_t *jwks)
{
    mto_idtoken_t *idtoken = NULL;
    mto_error_t err = { 0 };
    apr_status_t rv = mto_idtoken_verify(pool, token, jwks, &expect,
                                         &idtoken, &err);

    ck_assert_msg(rv == APR_SUCCESS, "%s: rejected: %s", name, err.text);
    ck_assert_msg(idtoken != NULL, "%s: no token returned", name);
    return idtoken;
}

/* Verifies token and checks the status, 403 and a reason naming the rule. */
static void assert_rejected_with(const char *name, const char *token,
                                 const mto_jwks_t *jwks, apr_status_t status,
                                 const char *reason)
{
    mto_idtoken_t *idtoken = NULL;
    mto_error_t err = { 0 };
    apr_status_t rv = mto_idtoken_verify(pool, token, jwks, &expect,
                                         &idtoken, &err);
    const char *signature = token ? strrchr(token, '.') : NULL;

    ck_assert_msg(rv == status, "%s: status %d, expected %d (%s)", name,
                  rv, status, err.text);
    ck_assert_msg(idtoken == NULL, "%s: token returned on rejection", name);
    ck_assert_msg(err.http_status == 403, "%s: http_status %d", name,
                  err.http_status);
    ck_assert_msg(strstr(err.text, reason) != NULL,
                  "%s: reason '%s' does not contain '%s'", name, err.text,
                  reason);
    if (signature != NULL && strlen(signature) > 8) {
        ck_assert_msg(strstr(err.text, signature + 1) == NULL,
                      "%s: reason contains the token signature", name);
    }
}

static void assert_rejected(const char *name, const char *token,
                            const mto_jwks_t *jwks, const char *reason)
{
    assert_rejected_with(name, token, jwks, APR_EGENERAL, reason);
}

/* ------------------------------------------------------------------ */
/* Valid tokens                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *alg;
    const test_key_t *key;
} success_case_t;

static const success_case_t success_cases[] = {
    { "RS256", &rsa_key },
    { "PS256", &rsa_key },
    { "ES256", &ec256_key },
    { "ES384", &ec384_key },
    { "ES512", &ec521_key },
};

START_TEST(idtoken_valid_cjose_signed)
{
    const success_case_t *c = &success_cases[_i];
    const char *token = sign_cjose(c->key, c->alg, default_payload());
    mto_idtoken_t *idtoken = assert_accepted(c->alg, token, provider_jwks());

    ck_assert_str_eq(mto_idtoken_claim(idtoken, "sub"), "user-1");
    ck_assert_str_eq(mto_idtoken_claim(idtoken, "iss"), ISSUER);
    ck_assert_str_eq(mto_idtoken_claim(idtoken, "nonce"), NONCE);
    ck_assert_ptr_null(mto_idtoken_claim(idtoken, "exp"));
    ck_assert_ptr_null(mto_idtoken_claim(idtoken, "missing"));
    ck_assert_int_eq(mto_idtoken_expiry(idtoken), apr_time_from_sec(NOW + 300));
}
END_TEST

START_TEST(idtoken_valid_raw_signed)
{
    /* The raw signer must make tokens that verify, or the crafted-token
     * tests below would pass for the wrong reason. */
    const success_case_t *c = &success_cases[_i];
    const char *header = apr_psprintf(pool, "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                                      c->alg, c->key->kid);
    const char *token = sign_raw(c->key, c->alg, header, default_payload());

    assert_accepted(c->alg, token, provider_jwks());
}
END_TEST

START_TEST(idtoken_expiry_of_real_exp)
{
    json_t *claims = default_claims();
    mto_idtoken_t *idtoken;

    set_claim(claims, "exp", "1700000300.99");
    idtoken = assert_accepted("real exp",
                              sign_cjose(&rsa_key, "RS256", dump_json(claims)),
                              provider_jwks());
    ck_assert_int_eq(mto_idtoken_expiry(idtoken), apr_time_from_sec(NOW + 300));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Step 1: structure                                                    */
/* ------------------------------------------------------------------ */

START_TEST(structure_missing_or_empty)
{
    mto_jwks_t *jwks = provider_jwks();

    assert_rejected("null token", NULL, jwks, "missing");
    assert_rejected("empty token", "", jwks, "missing");
}
END_TEST

START_TEST(structure_part_count)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *valid = sign_cjose(&rsa_key, "RS256", default_payload());
    const char *header = b64url_text(pool, "{\"alg\":\"RS256\"}");
    const char *payload = b64url_text(pool, default_payload());

    assert_rejected("two parts", apr_pstrcat(pool, header, ".", payload, NULL),
                    jwks, "2 parts");
    assert_rejected("four parts", apr_pstrcat(pool, valid, ".AAAA", NULL),
                    jwks, "4 parts");
    assert_rejected("five parts (JWE)",
                    apr_pstrcat(pool, header, ".AAAA.AAAA.", payload,
                                ".AAAA", NULL), jwks, "JWE");
    assert_rejected("no dots", "AAAA", jwks, "has 1 part,");
}
END_TEST

START_TEST(structure_empty_parts)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *header = b64url_text(pool, "{\"alg\":\"none\"}");
    const char *payload = b64url_text(pool, default_payload());

    /* The classic unsigned token: alg none and no signature. */
    assert_rejected("alg none unsigned",
                    apr_pstrcat(pool, header, ".", payload, ".", NULL),
                    jwks, "signature part is empty");
    assert_rejected("empty header",
                    apr_pstrcat(pool, ".", payload, ".AAAA", NULL),
                    jwks, "header part is empty");
    assert_rejected("empty payload",
                    apr_pstrcat(pool, header, "..AAAA", NULL),
                    jwks, "payload part is empty");
}
END_TEST

START_TEST(structure_base64url_alphabet)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *valid = sign_cjose(&rsa_key, "RS256", default_payload());
    char *plus = apr_pstrdup(pool, valid);
    char *space = apr_pstrdup(pool, valid);

    plus[3] = '+';
    space[3] = ' ';
    assert_rejected("padding", apr_pstrcat(pool, valid, "==", NULL), jwks,
                    "'='");
    assert_rejected("plus", plus, jwks, "'+'");
    assert_rejected("space", space, jwks, "base64url alphabet");
    assert_rejected("newline", apr_pstrcat(pool, valid, "\n", NULL), jwks,
                    "base64url alphabet");
}
END_TEST

START_TEST(structure_base64url_length_and_bits)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *valid = sign_cjose(&rsa_key, "RS256", default_payload());
    char *changed = apr_pstrdup(pool, valid);
    size_t signature_length = strlen(strrchr(valid, '.') + 1);

    /* A 256-byte signature is 342 characters, so 4 bits of the last one
     * are unused and must be zero. */
    ck_assert_uint_eq(signature_length, 342);
    changed[strlen(changed) - 1] = 'B';
    assert_rejected("unused bits set", changed, jwks, "unused bits");
    assert_rejected("length 4n+1", apr_pstrcat(pool, valid, "AAA", NULL), jwks,
                    "length");
}
END_TEST

START_TEST(structure_max_length)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *valid = sign_cjose(&rsa_key, "RS256", default_payload());

    expect.max_length = strlen(valid);
    assert_accepted("exactly max_length", valid, jwks);
    expect.max_length = strlen(valid) - 1;
    assert_rejected("one byte over max_length", valid, jwks, "maximum");
}
END_TEST

START_TEST(structure_oversize_token)
{
    mto_jwks_t *jwks = provider_jwks();
    char *huge = apr_palloc(pool, 1024 * 1024 + 1);

    memset(huge, 'A', 1024 * 1024);
    huge[1024 * 1024] = '\0';
    huge[10] = '.';
    huge[20] = '.';
    assert_rejected("1 MiB token", huge, jwks, "maximum of 16384");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Step 2: JSON of header and payload                                   */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *header;
    const char *payload;     /* NULL: the default claims */
    const char *reason;
} json_case_t;

static const json_case_t json_cases[] = {
    { "header duplicate alg",
      "{\"alg\":\"HS256\",\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", NULL,
      "duplicate" },
    { "header duplicate kid",
      "{\"alg\":\"RS256\",\"kid\":\"attacker\",\"kid\":\"rsa-1\"}", NULL,
      "duplicate" },
    { "header not JSON", "alg=RS256", NULL, "header is not valid JSON" },
    { "header array", "[\"RS256\"]", NULL, "header is not a JSON object" },
    { "header string", "\"RS256\"", NULL, "header is not valid JSON" },
    { "payload duplicate iss", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
      "{\"iss\":\"https://evil.localhost\",\"iss\":\""
      ISSUER "\",\"aud\":\"" CLIENT_ID "\",\"sub\":\"u\",\"nonce\":\""
      NONCE "\",\"exp\":1700000300,\"iat\":1699999990}", "duplicate" },
    { "payload nested duplicate", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
      "{\"iss\":\"" ISSUER "\",\"aud\":\"" CLIENT_ID "\",\"sub\":\"u\","
      "\"nonce\":\"" NONCE "\",\"exp\":1700000300,\"iat\":1699999990,"
      "\"address\":{\"country\":\"a\",\"country\":\"b\"}}", "duplicate" },
    { "payload array", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "[1,2]",
      "payload is not a JSON object" },
    { "payload not JSON", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
      "iss=x", "payload is not valid JSON" },
    { "payload with NUL escape", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
      "{\"iss\":\"" ISSUER "\\u0000x\"}", "payload is not valid JSON" },
};

START_TEST(idtoken_json_rules)
{
    const json_case_t *c = &json_cases[_i];
    const char *payload = c->payload ? c->payload : default_payload();

    assert_rejected(c->name, sign_raw(&rsa_key, "RS256", c->header, payload),
                    provider_jwks(), c->reason);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Step 3: JOSE header                                                  */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *header;
    const char *sign_alg;
    const test_key_t *key;
    apr_status_t status;      /* APR_SUCCESS when the token is valid */
    const char *reason;
} header_case_t;

static const header_case_t header_cases[] = {
    { "alg none with signature", "{\"alg\":\"none\",\"kid\":\"rsa-1\"}",
      "RS256", &rsa_key, APR_EGENERAL, "'none'" },
    { "alg missing", "{\"kid\":\"rsa-1\"}", "RS256", &rsa_key,
      APR_EGENERAL, "\"alg\" is missing" },
    { "alg not a string", "{\"alg\":[\"RS256\"],\"kid\":\"rsa-1\"}", "RS256",
      &rsa_key, APR_EGENERAL, "\"alg\" is missing or not a string" },
    { "alg lower case", "{\"alg\":\"rs256\",\"kid\":\"rsa-1\"}", "RS256",
      &rsa_key, APR_EGENERAL, "'rs256' is not supported" },
    { "alg unsupported", "{\"alg\":\"EdDSA\",\"kid\":\"rsa-1\"}", "RS256",
      &rsa_key, APR_EGENERAL, "'EdDSA' is not supported" },
    { "alg supported but not allowed",
      "{\"alg\":\"RS512\",\"kid\":\"rsa-1\"}", "RS512", &rsa_key,
      APR_EGENERAL, "'RS512' is not one of the allowed" },
    { "crit unknown name",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"exp\"],\"exp\":1}",
      "RS256", &rsa_key, APR_EGENERAL, "crit names the extension 'exp'" },
    { "crit b64",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"b64\":false,\"crit\":[\"b64\"]}",
      "RS256", &rsa_key, APR_EGENERAL, "'b64'" },
    { "crit empty", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[]}",
      "RS256", &rsa_key, APR_EGENERAL, "\"crit\" is not a non-empty array" },
    { "crit not an array",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":\"exp\"}", "RS256",
      &rsa_key, APR_EGENERAL, "\"crit\" is not a non-empty array" },
    { "crit value not a string",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[1]}", "RS256",
      &rsa_key, APR_EGENERAL, "not a string" },
    { "typ JWT", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"JWT\"}",
      "RS256", &rsa_key, APR_SUCCESS, NULL },
    { "typ jwt any case",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"jwt\"}", "RS256",
      &rsa_key, APR_SUCCESS, NULL },
    { "typ other", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"at+jwt\"}",
      "RS256", &rsa_key, APR_EGENERAL, "typ 'at+jwt' is not 'JWT'" },
    { "typ not a string", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":1}",
      "RS256", &rsa_key, APR_EGENERAL, "\"typ\" is not a string" },
    { "kid not a string", "{\"alg\":\"RS256\",\"kid\":1}", "RS256", &rsa_key,
      APR_EGENERAL, "\"kid\" is not a string" },
    { "kid unknown", "{\"alg\":\"RS256\",\"kid\":\"rsa-9\"}", "RS256",
      &rsa_key, APR_ENOENT, "kid 'rsa-9' names no key" },
    { "kid of RSA key with alg ES256", "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}",
      "ES256", &ec256_key, APR_EGENERAL, "does not fit alg ES256" },
    { "ES256 with the P-384 key", "{\"alg\":\"ES256\",\"kid\":\"ec-384\"}",
      "ES256", &ec384_key, APR_EGENERAL, "crv P-384) does not fit alg ES256" },
    { "alg RS256 with a PS256 signature",
      "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "PS256", &rsa_key,
      APR_EGENERAL, "signature verification failed" },
    { "alg PS256 with an RS256 signature",
      "{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}", "RS256", &rsa_key,
      APR_EGENERAL, "signature verification failed" },
    { "signed by another key", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
      "RS256", &attacker_key, APR_EGENERAL, "signature verification failed" },
};

START_TEST(idtoken_header_rules)
{
    const header_case_t *c = &header_cases[_i];
    const char *token = sign_raw(c->key, c->sign_alg, c->header,
                                 default_payload());

    if (c->status == APR_SUCCESS) {
        assert_accepted(c->name, token, provider_jwks());
    }
    else {
        assert_rejected_with(c->name, token, provider_jwks(), c->status,
                             c->reason);
    }
}
END_TEST

/* HS256 keyed with the provider's public key in PEM: the classic
 * algorithm confusion. HS256 is in expect.algs on purpose. */
START_TEST(idtoken_hmac_with_public_key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long pem_length;
    const char *headers[] = { "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                              "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}" };
    const char *input;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    int i;

    ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, rsa_key.pkey), 1);
    pem_length = BIO_get_mem_data(bio, &pem);
    for (i = 0; i < 2; i++) {
        input = apr_pstrcat(pool, b64url_text(pool, headers[i]), ".",
                            b64url_text(pool, default_payload()), NULL);
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pem, (int)pem_length,
                                   (const unsigned char *)input,
                                   strlen(input), mac, &mac_length));
        assert_rejected(headers[i],
                        apr_pstrcat(pool, input, ".",
                                    b64url(pool, mac, mac_length), NULL),
                        provider_jwks(), "'HS256' (HMAC) is never accepted");
    }
    BIO_free(bio);
}
END_TEST

/* jku, x5u, x5c and jwk point at the attacker's key, and the attacker's
 * key signed the token: none of them may lead to that key. */
START_TEST(idtoken_ignores_key_location_headers)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(rsa_key.public_json, NULL));
    const char *locations = apr_psprintf(pool,
        "\"jku\":\"https://attacker.localhost/jwks.json\","
        "\"x5u\":\"https://attacker.localhost/cert.pem\","
        "\"x5c\":[\"MIIBxTCCAW+gAwIBAgIJAL\"],\"jwk\":%s",
        attacker_key.public_json);
    const char *without_kid = apr_psprintf(pool, "{\"alg\":\"RS256\",%s}",
                                           locations);
    const char *own_kid = apr_psprintf(pool,
        "{\"alg\":\"RS256\",\"kid\":\"attacker\",%s}", locations);
    const char *victim_kid = apr_psprintf(pool,
        "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",%s}", locations);
    const char *payload = default_payload();

    assert_rejected("no kid", sign_raw(&attacker_key, "RS256", without_kid,
                                       payload),
                    jwks, "signature verification failed");
    assert_rejected_with("attacker kid",
                         sign_raw(&attacker_key, "RS256", own_kid, payload),
                         jwks, APR_ENOENT, "names no key");
    assert_rejected("victim kid",
                    sign_raw(&attacker_key, "RS256", victim_kid, payload),
                    jwks, "signature verification failed");
    /* The same headers on a token the provider signed change nothing. */
    assert_accepted("provider signed",
                    sign_raw(&rsa_key, "RS256", victim_kid, payload), jwks);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Steps 4 and 5: key selection and signature                           */
/* ------------------------------------------------------------------ */

START_TEST(select_kid_absent_single_key)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(
        jwk_with(rsa_key.public_json, "kid", NULL), NULL));

    assert_accepted("no kid, one key",
                    sign_raw(&rsa_key, "RS256", "{\"alg\":\"RS256\"}",
                             default_payload()), jwks);
}
END_TEST

START_TEST(select_kid_absent_multiple_keys_rejected)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(rsa_key.public_json,
                                            rsa_new_key.public_json, NULL));

    assert_rejected("no kid, two RSA keys",
                    sign_raw(&rsa_key, "RS256", "{\"alg\":\"RS256\"}",
                             default_payload()), jwks,
                    "no kid and 2 keys of the JWKS fit alg RS256");
}
END_TEST

START_TEST(select_kid_absent_filters_by_type)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *payload = default_payload();

    /* One key of each kind: only the matching kty and curve fits. */
    assert_accepted("ES256", sign_raw(&ec256_key, "ES256",
                                      "{\"alg\":\"ES256\"}", payload), jwks);
    assert_accepted("ES384", sign_raw(&ec384_key, "ES384",
                                      "{\"alg\":\"ES384\"}", payload), jwks);
    assert_accepted("RS256", sign_raw(&rsa_key, "RS256",
                                      "{\"alg\":\"RS256\"}", payload), jwks);
}
END_TEST

START_TEST(select_kid_absent_filters_by_key_alg)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(
        jwk_with(rsa_key.public_json, "alg", "\"RS256\""),
        jwk_with(rsa_new_key.public_json, "alg", "\"PS256\""), NULL));

    assert_accepted("PS256 picks the PS256 key",
                    sign_raw(&rsa_new_key, "PS256", "{\"alg\":\"PS256\"}",
                             default_payload()), jwks);
    assert_accepted("RS256 picks the RS256 key",
                    sign_raw(&rsa_key, "RS256", "{\"alg\":\"RS256\"}",
                             default_payload()), jwks);
}
END_TEST

START_TEST(select_kid_absent_no_fitting_key)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(rsa_key.public_json, NULL));

    assert_rejected("ES256 with only an RSA key",
                    sign_raw(&ec256_key, "ES256", "{\"alg\":\"ES256\"}",
                             default_payload()), jwks,
                    "no key of the JWKS fits alg ES256");
}
END_TEST

START_TEST(select_key_alg_mismatch)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(
        jwk_with(rsa_key.public_json, "alg", "\"PS256\""), NULL));

    assert_rejected("key alg PS256, token RS256",
                    sign_raw(&rsa_key, "RS256",
                             "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
                             default_payload()), jwks,
                    "has alg 'PS256', not the token's alg 'RS256'");
}
END_TEST

START_TEST(select_duplicate_kid)
{
    const char *header = "{\"alg\":\"RS256\",\"kid\":\"shared\"}";
    mto_jwks_t *two_rsa = parse_jwks(jwks_text(
        jwk_with(rsa_key.public_json, "kid", "\"shared\""),
        jwk_with(rsa_new_key.public_json, "kid", "\"shared\""), NULL));
    mto_jwks_t *rsa_and_ec = parse_jwks(jwks_text(
        jwk_with(rsa_key.public_json, "kid", "\"shared\""),
        jwk_with(ec256_key.public_json, "kid", "\"shared\""), NULL));

    assert_rejected("two RSA keys share the kid",
                    sign_raw(&rsa_key, "RS256", header, default_payload()),
                    two_rsa, "2 keys of the JWKS have kid 'shared'");
    /* RFC 7517 section 4.5 allows one kid on keys of different kty. */
    assert_accepted("RSA and EC share the kid",
                    sign_raw(&ec256_key, "ES256",
                             "{\"alg\":\"ES256\",\"kid\":\"shared\"}",
                             default_payload()), rsa_and_ec);
    assert_accepted("RSA and EC share the kid, RS256",
                    sign_raw(&rsa_key, "RS256", header, default_payload()),
                    rsa_and_ec);
}
END_TEST

START_TEST(select_key_rotation)
{
    mto_jwks_t *old_set = parse_jwks(jwks_text(rsa_key.public_json, NULL));
    mto_jwks_t *new_set = parse_jwks(jwks_text(rsa_key.public_json,
                                               rsa_new_key.public_json,
                                               NULL));
    const char *token = sign_cjose(&rsa_new_key, "RS256", default_payload());
    const char *old_token = sign_cjose(&rsa_key, "RS256", default_payload());

    assert_rejected_with("new key not yet fetched", token, old_set,
                         APR_ENOENT, "kid 'rsa-2' names no key");
    assert_accepted("new key fetched", token, new_set);
    assert_accepted("old key still listed", old_token, new_set);
}
END_TEST

START_TEST(select_without_jwks)
{
    assert_rejected_with("no key set, kid",
                         sign_cjose(&rsa_key, "RS256", default_payload()),
                         NULL, APR_ENOENT, "names no key");
    assert_rejected("no key set, no kid",
                    sign_raw(&rsa_key, "RS256", "{\"alg\":\"RS256\"}",
                             default_payload()), NULL, "no key");
}
END_TEST

START_TEST(signature_length_rules)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *header = "{\"alg\":\"ES256\",\"kid\":\"ec-256\"}";
    const char *payload = default_payload();
    const char *valid = sign_cjose(&rsa_key, "RS256", payload);
    const char *input = apr_pstrndup(pool, valid, strrchr(valid, '.') - valid);
    unsigned char zeros[300] = { 0 };

    assert_rejected("ES256 DER signature",
                    sign_raw_der(&ec256_key, "ES256", header, payload, 1),
                    jwks, "but alg ES256 with key 'ec-256' makes 64");
    assert_rejected("RS256 signature one byte short",
                    apr_pstrcat(pool, input, ".", b64url(pool, zeros, 255),
                                NULL), jwks, "signature is 255 bytes");
    assert_rejected("RS256 signature of zeros",
                    apr_pstrcat(pool, input, ".", b64url(pool, zeros, 256),
                                NULL), jwks, "signature verification failed");
}
END_TEST

START_TEST(signature_covers_header_and_payload)
{
    mto_jwks_t *jwks = provider_jwks();
    const char *token = sign_cjose(&rsa_key, "RS256", default_payload());
    const char *other = sign_cjose(&ec256_key, "ES256", default_payload());
    json_t *claims = default_claims();
    const char *first_dot = strchr(token, '.');
    const char *last_dot = strrchr(token, '.');
    const char *swapped_header;
    const char *swapped_payload;

    set_claim(claims, "sub", "\"admin\"");
    swapped_header = apr_pstrcat(pool,
        b64url_text(pool, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\","
                          "\"typ\":\"JWT\"}"), first_dot, NULL);
    swapped_payload = apr_pstrcat(pool,
        apr_pstrndup(pool, token, first_dot - token + 1),
        b64url_text(pool, dump_json(claims)), last_dot, NULL);

    assert_rejected("swapped header", swapped_header, jwks,
                    "signature verification failed");
    assert_rejected("swapped payload", swapped_payload, jwks,
                    "signature verification failed");
    assert_rejected("signature of another token",
                    apr_pstrcat(pool,
                                apr_pstrndup(pool, other,
                                             strrchr(other, '.') - other),
                                last_dot, NULL),
                    jwks, "signature is 256 bytes");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Step 6: claims                                                       */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *claim;
    const char *value;       /* JSON text; NULL removes the claim */
    const char *claim2;      /* optional second change */
    const char *value2;
    const char *reason;      /* NULL when the token is valid */
} claim_case_t;

static const claim_case_t claim_cases[] = {
    { "iss other issuer", "iss", "\"https://evil.localhost/tenant-a\"",
      NULL, NULL, "iss 'https://evil.localhost/tenant-a' is not the "
      "expected issuer '" ISSUER "'" },
    { "iss trailing slash", "iss", "\"" ISSUER "/\"", NULL, NULL,
      "is not the expected issuer" },
    { "iss prefix of issuer", "iss", "\"https://idp.localhost\"", NULL, NULL,
      "is not the expected issuer" },
    { "iss other case", "iss", "\"https://IDP.localhost/tenant-a\"", NULL,
      NULL, "is not the expected issuer" },
    { "iss missing", "iss", NULL, NULL, NULL, "\"iss\" is missing" },
    { "iss not a string", "iss", "[\"" ISSUER "\"]", NULL, NULL,
      "\"iss\" is missing or not a string" },
    { "iss control characters quoted safely", "iss", "\"a\\nb\"", NULL, NULL,
      "iss 'a?b'" },

    { "aud other client", "aud", "\"client-2\"", NULL, NULL,
      "aud 'client-2' does not contain the client_id 'client-1'" },
    { "aud prefix of client", "aud", "\"client-\"", NULL, NULL,
      "does not contain the client_id" },
    { "aud extends client", "aud", "\"client-10\"", NULL, NULL,
      "does not contain the client_id" },
    { "aud missing", "aud", NULL, NULL, NULL, "\"aud\" is missing" },
    { "aud number", "aud", "1", NULL, NULL, "\"aud\" is missing" },
    { "aud empty array", "aud", "[]", NULL, NULL, "non-empty array" },
    { "aud array with a number", "aud", "[\"client-1\",5]", NULL, NULL,
      "\"aud\" contains a value that is not a string" },
    { "aud array without client", "aud", "[\"a\",\"b\"]", "azp",
      "\"client-1\"", "aud 'a' (and more) does not contain" },
    { "aud array of client only", "aud", "[\"client-1\"]", NULL, NULL,
      NULL },
    { "aud array of two with azp", "aud", "[\"client-1\",\"other\"]", "azp",
      "\"client-1\"", NULL },
    { "aud array of two without azp", "aud", "[\"other\",\"client-1\"]",
      NULL, NULL, "\"azp\" is missing, but aud has 2 values" },
    { "aud array of two with other azp", "aud", "[\"client-1\",\"other\"]",
      "azp", "\"other\"", "azp 'other' is not the client_id 'client-1'" },
    { "azp equal to client", "azp", "\"client-1\"", NULL, NULL, NULL },
    { "azp other with single aud", "azp", "\"other\"", NULL, NULL,
      "azp 'other' is not the client_id" },
    { "azp not a string", "azp", "[\"client-1\"]", NULL, NULL,
      "\"azp\" is not a string" },

    { "exp missing", "exp", NULL, NULL, NULL, "\"exp\" is missing" },
    { "exp string", "exp", "\"1700000300\"", NULL, NULL,
      "\"exp\" is not a number" },
    { "exp boolean", "exp", "true", NULL, NULL, "\"exp\" is not a number" },
    { "exp null", "exp", "null", NULL, NULL, "\"exp\" is not a number" },
    { "exp object", "exp", "{}", NULL, NULL, "\"exp\" is not a number" },
    { "exp negative", "exp", "-1", NULL, NULL, "out of range" },
    { "exp beyond apr_time_t", "exp", "9223372036855", NULL, NULL,
      "out of range" },
    { "exp 2^53 + 1", "exp", "9007199254740993", NULL, NULL,
      "out of range" },
    { "exp huge real", "exp", "1e300", NULL, NULL, "out of range" },
    { "exp negative real", "exp", "-0.5", NULL, NULL, "out of range" },
    { "exp real", "exp", "1700000300.5", NULL, NULL, NULL },
    { "exp far future", "exp", "9223372036854", NULL, NULL, NULL },
    { "iat missing", "iat", NULL, NULL, NULL, "\"iat\" is missing" },
    { "iat string", "iat", "\"1699999990\"", NULL, NULL,
      "\"iat\" is not a number" },
    { "iat real", "iat", "1699999990.25", NULL, NULL, NULL },
    { "nbf string", "nbf", "\"0\"", NULL, NULL, "\"nbf\" is not a number" },
    { "nbf null", "nbf", "null", NULL, NULL, "\"nbf\" is not a number" },
    { "nbf zero", "nbf", "0", NULL, NULL, NULL },

    { "sub missing", "sub", NULL, NULL, NULL, "\"sub\" is missing" },
    { "sub empty", "sub", "\"\"", NULL, NULL, "\"sub\" is missing, empty" },
    { "sub number", "sub", "42", NULL, NULL, "not a string" },

    { "nonce missing", "nonce", NULL, NULL, NULL, "\"nonce\" is missing" },
    { "nonce number", "nonce", "1", NULL, NULL, "\"nonce\" is missing" },
    { "nonce same length", "nonce", "\"n-0123456789abcdeX\"", NULL, NULL,
      "\"nonce\" does not match" },
    { "nonce prefix", "nonce", "\"n-0123456789abcde\"", NULL, NULL,
      "\"nonce\" does not match" },
    { "nonce longer", "nonce", "\"n-0123456789abcdef0\"", NULL, NULL,
      "\"nonce\" does not match" },
    { "nonce empty", "nonce", "\"\"", NULL, NULL, "\"nonce\" does not match" },
};

START_TEST(idtoken_claim_rules)
{
    const claim_case_t *c = &claim_cases[_i];
    json_t *claims = default_claims();
    const char *token;

    set_claim(claims, c->claim, c->value);
    if (c->claim2 != NULL) {
        set_claim(claims, c->claim2, c->value2);
    }
    token = sign_cjose(&rsa_key, "RS256", dump_json(claims));
    if (c->reason == NULL) {
        assert_accepted(c->name, token, provider_jwks());
    }
    else {
        assert_rejected(c->name, token, provider_jwks(), c->reason);
    }
}
END_TEST

START_TEST(idtoken_nonce_not_in_reason)
{
    json_t *claims = default_claims();
    mto_idtoken_t *idtoken = NULL;
    mto_error_t err = { 0 };

    set_claim(claims, "nonce", "\"attacker-nonce-xyz\"");
    mto_idtoken_verify(pool, sign_cjose(&rsa_key, "RS256",
                                        dump_json(claims)),
                       provider_jwks(), &expect, &idtoken, &err);
    ck_assert_ptr_null(strstr(err.text, NONCE));
    ck_assert_ptr_null(strstr(err.text, "attacker-nonce-xyz"));
}
END_TEST

START_TEST(idtoken_sub_length)
{
    char value[260];
    json_t *claims;

    value[0] = '"';
    memset(value + 1, 'u', 255);
    value[256] = '"';
    value[257] = '\0';
    claims = default_claims();
    set_claim(claims, "sub", value);
    assert_accepted("sub of 255 bytes",
                    sign_cjose(&rsa_key, "RS256", dump_json(claims)),
                    provider_jwks());

    memset(value + 1, 'u', 256);
    value[257] = '"';
    value[258] = '\0';
    claims = default_claims();
    set_claim(claims, "sub", value);
    ck_assert_uint_eq(json_string_length(json_object_get(claims, "sub")),
                      256);
    assert_rejected("sub of 256 bytes",
                    sign_cjose(&rsa_key, "RS256", dump_json(claims)),
                    provider_jwks(), "256 bytes, longer than the maximum");
}
END_TEST

typedef struct {
    const char *name;
    const char *claim;
    long offset;            /* claim value minus NOW, in seconds */
    const char *reason;     /* NULL when the token is valid */
} time_case_t;

/* Skew 60 s, maximum iat age 600 s. */
static const time_case_t time_cases[] = {
    { "exp one second past skew", "exp", -61, "the token has expired" },
    { "exp plus skew equals now", "exp", -60, "the token has expired" },
    { "exp within skew", "exp", -59, NULL },
    { "iat at now plus skew", "iat", 60, NULL },
    { "iat beyond now plus skew", "iat", 61, "is in the future" },
    { "iat at maximum age plus skew", "iat", -660, NULL },
    { "iat older than maximum age plus skew", "iat", -661, "is too old" },
    { "nbf at now plus skew", "nbf", 60, NULL },
    { "nbf beyond now plus skew", "nbf", 61, "nbf 1700000061 is after now" },
    { "nbf in the past", "nbf", -1000, NULL },
};

START_TEST(idtoken_time_rules)
{
    const time_case_t *c = &time_cases[_i];
    json_t *claims = default_claims();
    const char *token;

    json_object_set_new(claims, c->claim, json_integer(NOW + c->offset));
    if (strcmp(c->claim, "exp") == 0) {
        /* Keep iat before exp so that only exp decides. */
        json_object_set_new(claims, "iat", json_integer(NOW - 100));
    }
    token = sign_cjose(&ec256_key, "ES256", dump_json(claims));
    if (c->reason == NULL) {
        assert_accepted(c->name, token, provider_jwks());
    }
    else {
        assert_rejected(c->name, token, provider_jwks(), c->reason);
    }
}
END_TEST

START_TEST(idtoken_time_rules_without_skew)
{
    json_t *claims = default_claims();

    expect.skew = 0;
    json_object_set_new(claims, "exp", json_integer(NOW));
    assert_rejected("exp equals now",
                    sign_cjose(&rsa_key, "RS256", dump_json(claims)),
                    provider_jwks(), "the token has expired");
    claims = default_claims();
    json_object_set_new(claims, "exp", json_integer(NOW + 1));
    assert_accepted("exp one second ahead",
                    sign_cjose(&rsa_key, "RS256", dump_json(claims)),
                    provider_jwks());
}
END_TEST

START_TEST(idtoken_expectation_errors)
{
    const char *token = sign_cjose(&rsa_key, "RS256", default_payload());
    mto_idtoken_t *idtoken = NULL;
    mto_error_t err = { 0 };

    ck_assert_int_eq(mto_idtoken_verify(pool, token, provider_jwks(), NULL,
                                        &idtoken, &err), APR_EGENERAL);
    ck_assert_int_eq(err.http_status, 403);

    expect.algs = NULL;
    assert_rejected("no allowed algorithms", token, provider_jwks(),
                    "not one of the allowed algorithms");
    default_expect();
    expect.nonce = NULL;
    assert_rejected("no expected nonce", token, provider_jwks(),
                    "no nonce is expected");
}
END_TEST

/* ------------------------------------------------------------------ */
/* JWK Set parsing                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *json;
    apr_size_t length;       /* 0: strlen(json) */
    int count;               /* usable keys, or -1 when parsing fails */
    const char *reason;      /* part of err.text when parsing fails */
} document_case_t;

static const document_case_t document_cases[] = {
    { "empty", "", 0, -1, "empty" },
    { "not JSON", "keys", 0, -1, "not valid JSON" },
    { "array", "[{\"keys\":[]}]", 0, -1, "not a JSON object" },
    { "number", "5", 0, -1, "not valid JSON" },
    { "no keys member", "{\"key\":[]}", 0, -1, "no \"keys\" array" },
    { "keys not an array", "{\"keys\":{}}", 0, -1, "no \"keys\" array" },
    { "duplicate keys member", "{\"keys\":[],\"keys\":[]}", 0, -1,
      "duplicate" },
    { "no keys", "{\"keys\":[]}", 0, 0, NULL },
    { "length cuts trailing bytes", "{\"keys\":[]}garbage", 11, 0, NULL },
    { "length cuts the document", "{\"keys\":[]}", 9, -1, "not valid JSON" },
    { "trailing garbage", "{\"keys\":[]}garbage", 0, -1, "not valid JSON" },
};

START_TEST(jwks_document_rules)
{
    const document_case_t *c = &document_cases[_i];
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };
    apr_size_t length = c->length ? c->length : strlen(c->json);
    apr_status_t rv = mto_jwks_parse(pool, c->json, length, &jwks, &warnings,
                                     &err);

    ck_assert_ptr_nonnull(warnings);
    if (c->count < 0) {
        ck_assert_msg(rv != APR_SUCCESS, "%s: accepted", c->name);
        ck_assert_msg(err.http_status == 502, "%s: http_status %d", c->name,
                      err.http_status);
        ck_assert_msg(strstr(err.text, c->reason) != NULL,
                      "%s: reason '%s' does not contain '%s'", c->name,
                      err.text, c->reason);
    }
    else {
        ck_assert_msg(rv == APR_SUCCESS, "%s: %s", c->name, err.text);
        ck_assert_int_eq(mto_jwks_count(jwks), c->count);
    }
}
END_TEST

typedef struct {
    const char *name;
    const test_key_t *key;   /* entry to change; NULL: entry is the text */
    const char *member;
    const char *value;       /* JSON text; NULL removes the member */
    const char *warning;     /* NULL when the entry is usable */
} entry_case_t;

static const entry_case_t entry_cases[] = {
    { "entry not an object", NULL, NULL, "5", "entry is not a JSON object" },
    { "oct key", NULL, NULL,
      "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0LXNlY3JldA\"}",
      "kid 'hmac') skipped: kty \"oct\"" },
    { "kty missing", &rsa_key, "kty", NULL, "\"kty\" is missing" },
    { "kty not a string", &rsa_key, "kty", "1", "\"kty\" is missing" },
    { "kty OKP", &rsa_key, "kty", "\"OKP\"", "kty 'OKP' is not supported" },
    { "kty lower case", &rsa_key, "kty", "\"rsa\"", "kty 'rsa'" },
    { "kid not a string", &rsa_key, "kid", "7", "\"kid\" is not a string" },
    { "kid absent", &rsa_key, "kid", NULL, NULL },
    { "use enc", &rsa_key, "use", "\"enc\"", "use 'enc' is not 'sig'" },
    /* A one-character remainder makes cjose 0.6.2 abort the process. */
    { "n with padding", &rsa_key, "n", "\"O=\"", "base64url strings" },
    { "e one character over", &rsa_key, "e", "\"AQABA\"",
      "base64url strings" },
    { "e standard alphabet", &rsa_key, "e", "\"A+A/\"", "base64url strings" },
    { "x with padding", &ec256_key, "x", "\"A=\"", "base64url strings" },
    { "y empty", &ec256_key, "y", "\"\"", "base64url strings" },
    { "use not a string", &rsa_key, "use", "[\"sig\"]",
      "\"use\" is not a string" },
    { "use sig", &rsa_key, "use", "\"sig\"", NULL },
    { "key_ops without verify", &rsa_key, "key_ops", "[\"encrypt\"]",
      "does not contain 'verify'" },
    { "key_ops not an array", &rsa_key, "key_ops", "\"verify\"",
      "\"key_ops\" is not an array" },
    { "key_ops with verify", &rsa_key, "key_ops", "[\"sign\",\"verify\"]",
      NULL },
    { "alg not a string", &rsa_key, "alg", "256", "\"alg\" is not a string" },
    { "alg of encryption", &rsa_key, "alg", "\"RSA-OAEP\"",
      "alg 'RSA-OAEP' is not a supported signature algorithm" },
    { "alg HS256 on RSA key", &rsa_key, "alg", "\"HS256\"",
      "'HS256' is not a supported" },
    { "alg ES256 on RSA key", &rsa_key, "alg", "\"ES256\"",
      "alg 'ES256' does not fit kty 'RSA'" },
    { "alg ES384 on P-256 key", &ec256_key, "alg", "\"ES384\"",
      "alg 'ES384' does not fit kty 'EC' crv P-256" },
    { "alg ES256 on P-256 key", &ec256_key, "alg", "\"ES256\"", NULL },
    { "crv missing", &ec256_key, "crv", NULL, "EC key has no \"crv\"" },
    { "crv secp256k1", &ec256_key, "crv", "\"secp256k1\"",
      "crv 'secp256k1' is not supported" },
    { "crv not a string", &ec256_key, "crv", "256", "\"crv\" is not a string" },
    { "EC y missing", &ec256_key, "y", NULL, "as base64url strings" },
    { "RSA n missing", &rsa_key, "n", NULL, "as base64url strings" },
    { "RSA e empty", &rsa_key, "e", "\"\"", "as base64url strings" },
    { "RSA n not base64url", &rsa_key, "n", "\"!!!!\"",
      "as base64url strings" },
    { "EC x too short", &ec256_key, "x", "\"AAAA\"",
      "cjose could not import it" },
    { "RSA private d", &rsa_key, "d", "\"AQAB\"",
      "private key member \"d\"" },
    { "EC private d", &ec256_key, "d",
      "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"",
      "private key member \"d\"" },
    { "RSA of 1024 bits", &rsa_small_key, NULL, NULL,
      "RSA key has 1024 bits, fewer than the minimum of 2048" },
};

START_TEST(jwks_entry_rules)
{
    const entry_case_t *c = &entry_cases[_i];
    const char *entry;
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };
    const char *text;
    const char *warning;

    if (c->key == NULL) {
        entry = c->value;
    }
    else if (c->member == NULL) {
        entry = c->key->public_json;
    }
    else {
        entry = jwk_with(c->key->public_json, c->member, c->value);
    }
    /* The broken entry comes first, a good key after it. */
    text = jwks_text(entry, rsa_new_key.public_json, NULL);

    ck_assert_int_eq(mto_jwks_parse(pool, text, strlen(text), &jwks,
                                    &warnings, &err), APR_SUCCESS);
    if (c->warning == NULL) {
        ck_assert_msg(warnings->nelts == 0, "%s: warning '%s'", c->name,
                      APR_ARRAY_IDX(warnings, 0, const char *));
        ck_assert_int_eq(mto_jwks_count(jwks), 2);
        return;
    }
    ck_assert_msg(warnings->nelts == 1, "%s: %d warnings", c->name,
                  warnings->nelts);
    warning = APR_ARRAY_IDX(warnings, 0, const char *);
    ck_assert_msg(strstr(warning, c->warning) != NULL,
                  "%s: warning '%s' does not contain '%s'", c->name, warning,
                  c->warning);
    ck_assert_msg(strncmp(warning, "JWKS key 0 ", 11) == 0,
                  "%s: warning '%s' does not name the index", c->name,
                  warning);
    ck_assert_int_eq(mto_jwks_count(jwks), 1);
}
END_TEST

START_TEST(jwks_warning_names_kid)
{
    const char *text = jwks_text(
        jwk_with(rsa_key.public_json, "use", "\"enc\""),
        jwk_with(jwk_with(ec256_key.public_json, "use", "\"enc\""), "kid",
                 NULL), NULL);
    mto_jwks_t *jwks = NULL;
    apr_array_header_t *warnings = NULL;
    mto_error_t err = { 0 };

    ck_assert_int_eq(mto_jwks_parse(pool, text, strlen(text), &jwks,
                                    &warnings, &err), APR_SUCCESS);
    ck_assert_int_eq(warnings->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(warnings, 0, const char *),
                     "JWKS key 0 (kid 'rsa-1') skipped: use 'enc' is not "
                     "'sig'");
    ck_assert_str_eq(APR_ARRAY_IDX(warnings, 1, const char *),
                     "JWKS key 1 (no kid) skipped: use 'enc' is not 'sig'");
    ck_assert_int_eq(mto_jwks_count(jwks), 0);
}
END_TEST

START_TEST(jwks_broken_entry_next_to_good_one)
{
    mto_jwks_t *jwks = parse_jwks(jwks_text(
        jwk_with(rsa_new_key.public_json, "n", "\"%%%\""),
        "{\"kty\":\"RSA\"}", "[]", rsa_key.public_json, NULL));

    ck_assert_int_eq(mto_jwks_count(jwks), 1);
    assert_accepted("good key after broken ones",
                    sign_cjose(&rsa_key, "RS256", default_payload()), jwks);
    assert_rejected_with("broken key is not usable",
                         sign_cjose(&rsa_new_key, "RS256", default_payload()),
                         jwks, APR_ENOENT, "names no key");
}
END_TEST

START_TEST(jwks_oct_key_never_verifies)
{
    const char *oct = "{\"kty\":\"oct\",\"kid\":\"rsa-1\","
                      "\"k\":\"c2VjcmV0LXNlY3JldA\"}";
    mto_jwks_t *jwks = parse_jwks(jwks_text(oct, NULL));

    ck_assert_int_eq(mto_jwks_count(jwks), 0);
    assert_rejected_with("kid of the oct key",
                         sign_cjose(&rsa_key, "RS256", default_payload()),
                         jwks, APR_ENOENT, "names no key");
    assert_rejected("no kid",
                    sign_raw(&rsa_key, "RS256", "{\"alg\":\"RS256\"}",
                             default_payload()), jwks, "no key");
}
END_TEST

START_TEST(jwks_ec_point_not_on_curve)
{
    json_t *jwk = json_loads(ec256_key.public_json, 0, NULL);
    json_t *x = json_object_get(jwk, "x");
    json_t *y = json_object_get(jwk, "y");
    mto_jwks_t *jwks;

    /* Swapping the coordinates moves the point off the curve. */
    json_incref(x);
    json_object_set(jwk, "x", y);
    json_object_set_new(jwk, "y", x);
    jwks = parse_jwks(jwks_text(dump_json(jwk), NULL));
    ck_assert_int_eq(mto_jwks_count(jwks), 0);
}
END_TEST

START_TEST(jwks_entry_cap)
{
    const char *oct = "{\"kty\":\"oct\",\"k\":\"AAAA\"}";
    const char *entries = oct;
    apr_array_header_t *warnings = NULL;
    mto_jwks_t *jwks = NULL;
    mto_error_t err = { 0 };
    const char *text;
    int i;

    for (i = 1; i < 101; i++) {
        entries = apr_pstrcat(pool, entries, ",", oct, NULL);
    }
    text = apr_pstrcat(pool, "{\"keys\":[", entries, ",",
                       rsa_key.public_json, "]}", NULL);
    ck_assert_int_eq(mto_jwks_parse(pool, text, strlen(text), &jwks,
                                    &warnings, &err), APR_SUCCESS);
    ck_assert_int_eq(warnings->nelts, 101);
    ck_assert_str_eq(APR_ARRAY_IDX(warnings, 100, const char *),
                     "JWKS has 102 keys: only the first 100 were read");
    ck_assert_int_eq(mto_jwks_count(jwks), 0);
}
END_TEST

START_TEST(jwks_keys_outlive_document)
{
    /* The key set must not point into the caller's text. */
    char *text = apr_pstrdup(pool, jwks_text(rsa_key.public_json, NULL));
    mto_jwks_t *jwks = parse_jwks(text);

    memset(text, 'x', strlen(text));
    assert_accepted("after the text is overwritten",
                    sign_cjose(&rsa_key, "RS256", default_payload()), jwks);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *jose_suite(void)
{
    Suite *suite = suite_create("jose");
    TCase *valid = tcase_create("valid");
    TCase *structure = tcase_create("structure");
    TCase *header = tcase_create("header");
    TCase *select = tcase_create("key_selection");
    TCase *claims = tcase_create("claims");
    TCase *jwks = tcase_create("jwks");
    TCase *all[] = { valid, structure, header, select, claims, jwks };
    size_t i;

#define COUNT(table) ((int)(sizeof(table) / sizeof((table)[0])))
    tcase_add_loop_test(valid, idtoken_valid_cjose_signed, 0,
                        COUNT(success_cases));
    tcase_add_loop_test(valid, idtoken_valid_raw_signed, 0,
                        COUNT(success_cases));
    tcase_add_test(valid, idtoken_expiry_of_real_exp);

    tcase_add_test(structure, structure_missing_or_empty);
    tcase_add_test(structure, structure_part_count);
    tcase_add_test(structure, structure_empty_parts);
    tcase_add_test(structure, structure_base64url_alphabet);
    tcase_add_test(structure, structure_base64url_length_and_bits);
    tcase_add_test(structure, structure_max_length);
    tcase_add_test(structure, structure_oversize_token);
    tcase_add_loop_test(structure, idtoken_json_rules, 0, COUNT(json_cases));

    tcase_add_loop_test(header, idtoken_header_rules, 0, COUNT(header_cases));
    tcase_add_test(header, idtoken_hmac_with_public_key);
    tcase_add_test(header, idtoken_ignores_key_location_headers);

    tcase_add_test(select, select_kid_absent_single_key);
    tcase_add_test(select, select_kid_absent_multiple_keys_rejected);
    tcase_add_test(select, select_kid_absent_filters_by_type);
    tcase_add_test(select, select_kid_absent_filters_by_key_alg);
    tcase_add_test(select, select_kid_absent_no_fitting_key);
    tcase_add_test(select, select_key_alg_mismatch);
    tcase_add_test(select, select_duplicate_kid);
    tcase_add_test(select, select_key_rotation);
    tcase_add_test(select, select_without_jwks);
    tcase_add_test(select, signature_length_rules);
    tcase_add_test(select, signature_covers_header_and_payload);

    tcase_add_loop_test(claims, idtoken_claim_rules, 0, COUNT(claim_cases));
    tcase_add_test(claims, idtoken_nonce_not_in_reason);
    tcase_add_test(claims, idtoken_sub_length);
    tcase_add_loop_test(claims, idtoken_time_rules, 0, COUNT(time_cases));
    tcase_add_test(claims, idtoken_time_rules_without_skew);
    tcase_add_test(claims, idtoken_expectation_errors);

    tcase_add_loop_test(jwks, jwks_document_rules, 0, COUNT(document_cases));
    tcase_add_loop_test(jwks, jwks_entry_rules, 0, COUNT(entry_cases));
    tcase_add_test(jwks, jwks_warning_names_kid);
    tcase_add_test(jwks, jwks_broken_entry_next_to_good_one);
    tcase_add_test(jwks, jwks_oct_key_never_verifies);
    tcase_add_test(jwks, jwks_ec_point_not_on_curve);
    tcase_add_test(jwks, jwks_entry_cap);
    tcase_add_test(jwks, jwks_keys_outlive_document);
#undef COUNT

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        /* Valgrind runs take longer than check's default of 4 s. */
        tcase_set_timeout(all[i], 120);
        suite_add_tcase(suite, all[i]);
    }
    return suite;
}

int main(void)
{
    SRunner *runner;
    int failed;

    apr_initialize();
    apr_pool_create(&key_pool, NULL);
    make_keys();

    runner = srunner_create(jose_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);

    free_keys();
    apr_pool_destroy(key_pool);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
