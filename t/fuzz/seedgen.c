/*
 * Writes the seed corpora of the fuzz targets into DIR/<target>/, one file
 * per seed, overwriting seeds of the same name and leaving other files
 * (such as crash reproducers) in place. "t/fuzz/run --seeds" runs it.
 *
 * Tokens are signed with the keys of fuzz_keys.h and checked here with
 * mto_idtoken_verify before they are written: a seed meant to pass must
 * pass, and a near-valid one must fail with the expected status. Sealed
 * cookies (random IV), ES256 and PS256 signatures (random per signature)
 * and the 1024-bit RSA key of one JWK Set seed differ on every run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "mto_crypto.h"
#include "mto_jose.h"
#include "mto_record.h"
#include "mto_tenant.h"
#include "fuzz_fixture.h"
#include "fuzz_keys.h"
#include "fuzz_sign.h"

/* Mode bytes of fuzz_idtoken.c. */
#define IDTOKEN_TOKEN 0
#define IDTOKEN_JWKS_AND_TOKEN 1
#define IDTOKEN_SIGN_RS256 2
#define IDTOKEN_SIGN_ES256 3
#define IDTOKEN_SIGN_PS256 4

/* Mode bytes of fuzz_tenant_info.c. */
#define TENANT_DOCUMENTS 0
#define TENANT_RECORD 1
#define TENANT_HOST 2
#define TENANT_ISSUER 3

static apr_pool_t *pool;
static const char *corpus_dir;
static EVP_PKEY *rsa_key;
static EVP_PKEY *ec_key;
static mto_idtoken_expect_t expect;
static int seed_count;

static _Noreturn void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static _Noreturn void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("seedgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* Destroying the pool releases the cjose and jansson objects, which
     * LeakSanitizer would otherwise report at exit. */
    if (pool != NULL) {
        apr_pool_destroy(pool);
    }
    exit(1);
}

/*
 * Writes a seed file: an optional mode byte (mode < 0 for none), then the
 * parts, each followed by a NUL byte except the last.
 */
static void write_seed(const char *target, const char *name, int mode,
                       int part_count, ...)
{
    const char *dir = apr_pstrcat(pool, corpus_dir, "/", target, NULL);
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *file;
    va_list ap;
    int i;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fail("cannot create %s: %s", dir, strerror(errno));
    }
    file = fopen(path, "wb");
    if (file == NULL) {
        fail("cannot write %s: %s", path, strerror(errno));
    }
    if (mode >= 0) {
        fputc(mode, file);
    }
    va_start(ap, part_count);
    for (i = 0; i < part_count; i++) {
        const char *part = va_arg(ap, const char *);

        fwrite(part, 1, strlen(part), file);
        if (i + 1 < part_count) {
            fputc('\0', file);
        }
    }
    va_end(ap);
    if (fclose(file) != 0) {
        fail("cannot write %s: %s", path, strerror(errno));
    }
    seed_count++;
}

/* Returns a payload with the fixed iss, aud and sub, and extra members. */
static const char *claims_with(const char *nonce, int iat, int exp,
                               const char *extra)
{
    return apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":\"%s\","
                        "\"sub\":\"00u1a2b3c4\",\"nonce\":\"%s\","
                        "\"iat\":%d,\"exp\":%d%s}", FUZZ_ISSUER,
                        FUZZ_CLIENT_ID, nonce, iat, exp, extra);
}

/* Returns a payload that passes every claim check, with extra members. */
static const char *claims(const char *extra)
{
    return claims_with(FUZZ_NONCE, FUZZ_NOW - 5, FUZZ_NOW + 3600, extra);
}

static const char *sign(const char *alg, const char *header,
                        const char *payload)
{
    EVP_PKEY *key = strcmp(alg, "ES256") == 0 ? ec_key : rsa_key;
    const char *token = fuzz_sign(pool, key, alg, header, strlen(header),
                                  payload, strlen(payload));

    if (token == NULL) {
        fail("signing a %s token failed", alg);
    }
    return token;
}

static mto_jwks_t *parse_jwks(const char *json)
{
    mto_jwks_t *jwks;
    apr_array_header_t *warnings;
    mto_error_t err = { 0 };

    if (mto_jwks_parse(pool, json, strlen(json), &jwks, &warnings, &err)
        != APR_SUCCESS) {
        fail("a seed JWK Set does not parse: %s", err.text);
    }
    return jwks;
}

/* Checks that mto_idtoken_verify returns expected for token. */
static void check_token(const char *name, const char *token,
                        const char *jwks_json, apr_status_t expected)
{
    mto_idtoken_t *verified;
    mto_error_t err = { 0 };
    apr_status_t rv;

    rv = mto_idtoken_verify(pool, token, parse_jwks(jwks_json), &expect,
                            &verified, &err);
    if (rv != expected) {
        fail("seed %s: mto_idtoken_verify returned %d, expected %d (%s)",
             name, rv, expected, err.text);
    }
}

static void token_seed(const char *name, const char *token,
                       apr_status_t expected)
{
    check_token(name, token, fuzz_jwks_json, expected);
    write_seed("fuzz_idtoken", name, IDTOKEN_TOKEN, 1, token);
}

/* Writes a seed for the modes in which the target signs the token. */
static void signed_seed(const char *name, int mode, const char *header,
                        const char *payload, apr_status_t expected)
{
    const char *alg = mode == IDTOKEN_SIGN_RS256 ? "RS256"
                      : mode == IDTOKEN_SIGN_ES256 ? "ES256" : "PS256";

    check_token(name, sign(alg, header, payload), fuzz_jwks_json, expected);
    write_seed("fuzz_idtoken", name, mode, 2, header, payload);
}

/* JOSE headers of the seed tokens. */
#define HEADER_RS256 \
    "{\"alg\":\"RS256\",\"kid\":\"" FUZZ_RSA_KID "\",\"typ\":\"JWT\"}"
#define HEADER_ES256 "{\"alg\":\"ES256\",\"kid\":\"" FUZZ_EC_KID "\"}"
#define HEADER_PS256 "{\"alg\":\"PS256\"}"

/* Writes tokens verified against the fixed key set (mode 0). */
static void write_token_seeds(void)
{
    const char *none = "{\"alg\":\"none\"}";

    token_seed("token-rs256", sign("RS256", HEADER_RS256, claims("")),
               APR_SUCCESS);
    token_seed("token-es256", sign("ES256", HEADER_ES256, claims("")),
               APR_SUCCESS);
    token_seed("token-ps256-no-kid", sign("PS256", HEADER_PS256, claims("")),
               APR_SUCCESS);
    token_seed("token-aud-array-azp", sign("RS256", HEADER_RS256,
               apr_psprintf(pool,
               "{\"iss\":\"%s\",\"aud\":[\"%s\",\"api\"],\"azp\":\"%s\","
               "\"sub\":\"u\",\"nonce\":\"%s\",\"iat\":%d,\"exp\":%d,"
               "\"nbf\":%d}", FUZZ_ISSUER, FUZZ_CLIENT_ID, FUZZ_CLIENT_ID,
               FUZZ_NONCE, FUZZ_NOW, FUZZ_NOW + 60, FUZZ_NOW - 60)),
               APR_SUCCESS);
    token_seed("token-expired", sign("ES256", HEADER_ES256,
               claims_with(FUZZ_NONCE, FUZZ_NOW - 500, FUZZ_NOW - 100, "")),
               APR_EGENERAL);
    token_seed("token-wrong-nonce", sign("RS256", HEADER_RS256,
               claims_with("n-other", FUZZ_NOW, FUZZ_NOW + 60, "")),
               APR_EGENERAL);
    token_seed("token-extra-claims", sign("RS256", HEADER_RS256,
               claims(",\"groups\":[\"a\"],\"extra\":{\"nonce\":1}")),
               APR_SUCCESS);
    token_seed("token-unknown-kid", sign("RS256",
               "{\"alg\":\"RS256\",\"kid\":\"rotated\"}", claims("")),
               APR_ENOENT);
    token_seed("token-hs256", sign("RS256", "{\"alg\":\"HS256\"}",
               claims("")), APR_EGENERAL);
    token_seed("token-crit", sign("ES256", "{\"alg\":\"ES256\",\"crit\":"
               "[\"b64\"],\"b64\":false}", claims("")), APR_EGENERAL);
    token_seed("token-alg-none", apr_pstrcat(pool,
               mto_base64url_encode(pool, none, strlen(none)), ".",
               mto_base64url_encode(pool, claims(""), strlen(claims(""))),
               ".AA", NULL), APR_EGENERAL);
    token_seed("token-kid-alg-mismatch", sign("RS256",
               "{\"alg\":\"RS256\",\"kid\":\"" FUZZ_EC_KID "\"}", claims("")),
               APR_EGENERAL);
    token_seed("token-es384-no-key", sign("ES256", "{\"alg\":\"ES384\"}",
               claims("")), APR_EGENERAL);
    token_seed("token-jwe-parts", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
               APR_EGENERAL);
}

/* Writes key sets with a token verified against them (mode 1). */
static void write_jwks_token_seeds(void)
{
    const char *rsa_only = apr_psprintf(pool, "{\"keys\":[%s]}",
        strstr(fuzz_jwks_json, "{\"kty\":\"RSA\""));
    char *cut = strstr(rsa_only, ",\n{\"kty\":\"EC\"");

    /* Cuts the fixed key set after its RSA entry. */
    memcpy(cut, "]}", 3);

    check_token("jwks-and-es256", sign("ES256", HEADER_ES256, claims("")),
                fuzz_jwks_json, APR_SUCCESS);
    write_seed("fuzz_idtoken", "jwks-and-es256", IDTOKEN_JWKS_AND_TOKEN, 2,
               fuzz_jwks_json, sign("ES256", HEADER_ES256, claims("")));
    check_token("jwks-rsa-only-and-rs256", sign("RS256", "{\"alg\":\"RS256\"}",
                claims("")), rsa_only, APR_SUCCESS);
    write_seed("fuzz_idtoken", "jwks-rsa-only-and-rs256",
               IDTOKEN_JWKS_AND_TOKEN, 2, rsa_only,
               sign("RS256", "{\"alg\":\"RS256\"}", claims("")));
}

/* Writes headers and payloads that the target signs (modes 2 to 4). */
static void write_signed_seeds(void)
{
    signed_seed("sign-rs256", IDTOKEN_SIGN_RS256, HEADER_RS256, claims(""),
                APR_SUCCESS);
    signed_seed("sign-es256-real-times", IDTOKEN_SIGN_ES256, HEADER_ES256,
                apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":\"%s\","
                "\"sub\":\"u\",\"nonce\":\"%s\",\"iat\":%d.25,"
                "\"exp\":%d.5}", FUZZ_ISSUER, FUZZ_CLIENT_ID, FUZZ_NONCE,
                FUZZ_NOW, FUZZ_NOW + 120), APR_SUCCESS);
    signed_seed("sign-ps256-iat-too-old", IDTOKEN_SIGN_PS256, HEADER_PS256,
                claims_with(FUZZ_NONCE, FUZZ_NOW - 7200, FUZZ_NOW + 120, ""),
                APR_EGENERAL);
    signed_seed("sign-rs256-header-types", IDTOKEN_SIGN_RS256,
                "{\"alg\":\"RS256\",\"kid\":5,\"typ\":\"at+jwt\"}",
                claims(""), APR_EGENERAL);
    signed_seed("sign-rs256-azp-other", IDTOKEN_SIGN_RS256, HEADER_RS256,
                apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":[\"%s\",\"api\"],"
                "\"azp\":\"api\",\"sub\":\"u\",\"nonce\":\"%s\",\"iat\":%d,"
                "\"exp\":%d}", FUZZ_ISSUER, FUZZ_CLIENT_ID, FUZZ_NONCE,
                FUZZ_NOW, FUZZ_NOW + 60), APR_EGENERAL);
    signed_seed("sign-es256-nbf-future", IDTOKEN_SIGN_ES256, HEADER_ES256,
                claims(apr_psprintf(pool, ",\"nbf\":%d", FUZZ_NOW + 600)),
                APR_EGENERAL);
    signed_seed("sign-es256-exp-string", IDTOKEN_SIGN_ES256, HEADER_ES256,
                apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":\"%s\","
                "\"sub\":\"u\",\"nonce\":\"%s\",\"iat\":%d,"
                "\"exp\":\"%d\"}", FUZZ_ISSUER, FUZZ_CLIENT_ID, FUZZ_NONCE,
                FUZZ_NOW, FUZZ_NOW + 60), APR_EGENERAL);
    signed_seed("sign-ps256-sub-too-long", IDTOKEN_SIGN_PS256, HEADER_PS256,
                apr_psprintf(pool, "{\"iss\":\"%s\",\"aud\":\"%s\","
                "\"sub\":\"%0256d\",\"nonce\":\"%s\",\"iat\":%d,"
                "\"exp\":%d}", FUZZ_ISSUER, FUZZ_CLIENT_ID, 1, FUZZ_NONCE,
                FUZZ_NOW, FUZZ_NOW + 60), APR_EGENERAL);
}

/*
 * Returns an entry with the fixed RSA key's "kty", "e" and "n" and the
 * given members, which must not repeat those three, because jwks.c
 * rejects a document with a duplicate member name.
 */
static const char *rsa_entry(const char *members)
{
    const char *n = strstr(fuzz_jwks_json, "\"n\":\"") + 5;
    const char *n_end = strchr(n, '"');

    return apr_psprintf(pool, "{\"kty\":\"RSA\",\"e\":\"AQAB\","
                        "\"n\":\"%.*s\"%s}", (int)(n_end - n), n, members);
}

/* Returns a JWK of a new RSA key of bits bits, without "kid". */
static const char *rsa_public_jwk(int bits)
{
    EVP_PKEY *key = EVP_RSA_gen(bits);
    BIGNUM *n = NULL;
    unsigned char *bytes;
    int length;
    const char *jwk;

    if (key == NULL
        || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n)) {
        fail("generating an RSA key of %d bits failed", bits);
    }
    length = BN_num_bytes(n);
    bytes = apr_palloc(pool, length);
    BN_bn2bin(n, bytes);
    jwk = apr_psprintf(pool, "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"%s\"}",
                       mto_base64url_encode(pool, bytes, length));
    BN_free(n);
    EVP_PKEY_free(key);
    return jwk;
}

static void jwks_seed(const char *name, const char *json)
{
    write_seed("fuzz_jwks", name, -1, 1, json);
}

static void write_jwks_seeds(void)
{
    const char *ec_start = strstr(fuzz_jwks_json, "{\"kty\":\"EC\"");
    const char *ec = apr_pstrndup(pool, ec_start,
                                  strstr(ec_start, "}") + 1 - ec_start);
    const char *ec_point = strstr(ec, "\"x\"");
    const char *many = "{}";
    int i;

    for (i = 1; i <= 101; i++) {
        many = apr_pstrcat(pool, many, ",{}", NULL);
    }

    jwks_seed("fixed", fuzz_jwks_json);
    jwks_seed("empty", "{\"keys\":[]}");
    jwks_seed("keys-not-array", "{\"keys\":{\"kty\":\"RSA\"}}");
    jwks_seed("more-than-100-entries",
              apr_psprintf(pool, "{\"keys\":[%s]}", many));
    jwks_seed("oct", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}");
    jwks_seed("rsa-private", apr_psprintf(pool, "{\"keys\":[%s]}",
              rsa_entry(",\"kid\":\"p\",\"d\":\"AQAB\"")));
    jwks_seed("rsa-alg-mismatch", apr_psprintf(pool, "{\"keys\":[%s]}",
              rsa_entry(",\"kid\":\"" FUZZ_RSA_KID "\",\"alg\":\"ES256\"")));
    jwks_seed("rsa-key-ops", apr_psprintf(pool, "{\"keys\":[%s,%s,%s]}",
              rsa_entry(",\"kid\":\"" FUZZ_RSA_KID "\","
                        "\"key_ops\":[\"verify\"]"),
              rsa_entry(",\"kid\":\"s\",\"key_ops\":[\"sign\",1]"),
              rsa_entry(",\"kid\":\"t\",\"key_ops\":\"verify\"")));
    jwks_seed("rsa-use-enc", apr_psprintf(pool, "{\"keys\":[%s,%s]}",
              rsa_entry(",\"use\":\"enc\""), rsa_entry(",\"use\":1")));
    jwks_seed("rsa-1024", apr_psprintf(pool, "{\"keys\":[%s]}",
              rsa_public_jwk(1024)));
    jwks_seed("wrong-types", apr_psprintf(pool, "{\"keys\":[1,"
              "{\"kty\":1},{\"kty\":\"OKP\"},%s,%s,%s]}",
              rsa_entry(",\"kid\":7"), rsa_entry(",\"alg\":[]"),
              rsa_entry(",\"crv\":{}")));
    jwks_seed("ec-curves", apr_psprintf(pool, "{\"keys\":["
              "{\"kty\":\"EC\",\"crv\":\"P-384\",%s,"
              "{\"kty\":\"EC\",\"crv\":\"P-192\",%s,"
              "{\"kty\":\"EC\",%s,"
              "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}]}",
              ec_point, ec_point, ec_point));
    jwks_seed("ec-only", apr_psprintf(pool, "{\"keys\":[%s]}", ec));
    jwks_seed("duplicate-kid", apr_psprintf(pool, "{\"keys\":[%s,%s]}",
              rsa_entry(",\"kid\":\"" FUZZ_RSA_KID "\""),
              rsa_entry(",\"kid\":\"" FUZZ_RSA_KID "\"")));
}

static const char *link_json(const char *relation, const char *href)
{
    return apr_psprintf(pool, "{\"relation\":\"%s\",\"href\":\"%s\"}",
                        relation, href);
}

static void write_tenant_seeds(void)
{
    const char *full_links = apr_psprintf(pool,
        "{\"issuerUrl\":\"%s\",\"clientId\":\"acme-client\",\"links\":["
        "%s,%s,%s,%s,%s]}", FUZZ_ISSUER,
        link_json("authorization_endpoint",
                  "https://idp.example.com/acme/v1/authorize"),
        link_json("token_endpoint", "https://idp.example.com/acme/v1/token"),
        link_json("jwks_uri", "https://idp.example.com/acme/v1/keys"),
        link_json("end_session_endpoint",
                  "https://idp.example.com/acme/v1/logout?x=1"),
        link_json("self", "https://acme.example.com/identity"));
    const char *issuer_only = "{\"issuerUrl\":\"" FUZZ_ISSUER "\"}";
    const char *discovery = apr_psprintf(pool,
        "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/v1/authorize\","
        "\"token_endpoint\":\"%s/v1/token\",\"jwks_uri\":\"%s/v1/keys\","
        "\"end_session_endpoint\":\"%s/v1/logout\","
        "\"response_types_supported\":[\"code\",\"id_token\"],"
        "\"id_token_signing_alg_values_supported\":[\"RS256\",\"ES256\"]}",
        FUZZ_ISSUER, FUZZ_ISSUER, FUZZ_ISSUER, FUZZ_ISSUER, FUZZ_ISSUER);
    const char *algs_only = "{\"issuer\":\"" FUZZ_ISSUER "\","
        "\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    mto_tenant_t tenant = { 0 };
    apr_array_header_t *algs = apr_array_make(pool, 2, sizeof(char *));

    write_seed("fuzz_tenant_info", "info-links-and-algs", TENANT_DOCUMENTS, 2,
               full_links, algs_only);
    write_seed("fuzz_tenant_info", "info-issuer-and-discovery",
               TENANT_DOCUMENTS, 2, issuer_only, discovery);
    write_seed("fuzz_tenant_info", "info-port-pattern", TENANT_DOCUMENTS, 2,
               "{\"issuerUrl\":\"https://eu.idp.example.net:8443/tenants/"
               "acme\",\"links\":[]}",
               "{\"issuer\":\"https://eu.idp.example.net:8443/tenants/acme\","
               "\"authorization_endpoint\":\"https://eu.idp.example.net:8443"
               "/a\",\"jwks_uri\":\"https://eu.idp.example.net:8443/k\"}");
    write_seed("fuzz_tenant_info", "info-http-issuer", TENANT_DOCUMENTS, 2,
               "{\"issuerUrl\":\"http://idp.example.com/acme\"}", discovery);

    APR_ARRAY_PUSH(algs, const char *) = "RS256";
    APR_ARRAY_PUSH(algs, const char *) = "PS256";
    tenant.host = FUZZ_HOST;
    tenant.issuer = FUZZ_ISSUER;
    tenant.authorization_endpoint = FUZZ_ISSUER "/v1/authorize";
    tenant.token_endpoint = FUZZ_ISSUER "/v1/token";
    tenant.jwks_uri = FUZZ_ISSUER "/v1/keys";
    tenant.client_id = "acme-client";
    tenant.signing_algs = algs;
    write_seed("fuzz_tenant_info", "record", TENANT_RECORD, 1,
               mto_tenant_encode(pool, &tenant));

    write_seed("fuzz_tenant_info", "host-port-and-patterns", TENANT_HOST, 1,
               "Acme.Example.COM.:8443\n" FUZZ_HOST_PATTERN
               "\n*.*.example.org\nexample.com");
    write_seed("fuzz_tenant_info", "host-ipv4", TENANT_HOST, 1,
               "127.0.0.1\n" FUZZ_HOST_PATTERN);
    write_seed("fuzz_tenant_info", "host-idn", TENANT_HOST, 1,
               "xn--bcher-kva.example.com\n" FUZZ_HOST_PATTERN);
    write_seed("fuzz_tenant_info", "issuer-patterns", TENANT_ISSUER, 1,
               FUZZ_ISSUER "\n" FUZZ_ISSUER_PATTERN
               "\nhttps://*.example.com\nhttps://idp.example.com:443/acme");
    write_seed("fuzz_tenant_info", "issuer-dot-segment", TENANT_ISSUER, 1,
               "https://idp.example.com/acme/../other\n"
               FUZZ_ISSUER_PATTERN);
}

/* Seals a record with key number key_index of the fixed keys. */
static const char *seal(const char *aad, const char *record, int key_index)
{
    const char *sealed = mto_seal(pool, &fuzz_cookie_keys[key_index], aad,
                                  record, strlen(record));

    if (sealed == NULL) {
        fail("sealing a cookie seed failed");
    }
    return sealed;
}

/* The tag and the id, user and sub members of a short session record. */
#define SESSION_HEAD "se1,1:i,1:u,1:s,"

/* Writes records that break one rule each, so that the fuzzer starts
 * next to every check of the decoder. */
static void write_broken_record_seeds(const char *state_record,
                                      const char *session_record)
{
    write_seed("fuzz_cookie", "state-record-time-string", -1, 1,
               apr_psprintf(pool, "st1,3:s-1,3:n-1,%d:%s,%d:%s,-,-,"
                            "10:1700000000,", (int)strlen(FUZZ_HOST),
                            FUZZ_HOST, (int)strlen(FUZZ_ISSUER),
                            FUZZ_ISSUER));
    write_seed("fuzz_cookie", "session-record-time-overflow", -1, 1,
               SESSION_HEAD "1:x,1:h,0,9223372036855,");
    write_seed("fuzz_cookie", "session-record-leading-zero", -1, 1,
               SESSION_HEAD "01:x,1:h,0,1,");
    write_seed("fuzz_cookie", "session-record-overrun", -1, 1,
               SESSION_HEAD "99:x,1:h,0,1,");
    write_seed("fuzz_cookie", "session-record-trailing", -1, 1,
               apr_pstrcat(pool, session_record, "1:x,", NULL));
    write_seed("fuzz_cookie", "session-record-truncated", -1, 1,
               apr_pstrndup(pool, session_record,
                            strlen(session_record) / 2));
    write_seed("fuzz_cookie", "session-record-version-2", -1, 1,
               apr_pstrcat(pool, "se2,", session_record + 4, NULL));
    write_seed("fuzz_cookie", "session-record-not-utf8", -1, 1,
               SESSION_HEAD "2:\xed\xa0,1:h,0,1,");
    write_seed("fuzz_cookie", "state-record-long-string", -1, 1,
               apr_psprintf(pool, "st1,4097:%04097d,1:n,1:h,1:i,-,-,1,", 7));
    write_seed("fuzz_cookie", "state-record-as-session", -1, 1,
               state_record);
}

static void write_cookie_seeds(void)
{
    mto_state_t state = { 0 };
    mto_session_t session = { 0 };
    const char *state_record;
    const char *state_implicit;
    const char *session_record;

    state.state = "s-0123456789abcdef";
    state.nonce = FUZZ_NONCE;
    state.host = FUZZ_HOST;
    state.issuer = FUZZ_ISSUER;
    state.next = "/hub/spawn?next=%2Fuser";
    state.code_verifier = "v-0123456789abcdef0123456789abcdef0123456789";
    state.created = apr_time_from_sec(FUZZ_NOW);
    session.id = "i-0123456789abcdef";
    session.user = "acme.example.com/00u1a2b3c4";
    session.sub = "00u1a2b3c4";
    session.issuer = FUZZ_ISSUER;
    session.host = FUZZ_HOST;
    session.created = apr_time_from_sec(FUZZ_NOW);
    session.expires = apr_time_from_sec(FUZZ_NOW + 28800);
    state_record = mto_state_encode(pool, &state);
    session_record = mto_session_encode(pool, &session);
    state.next = NULL;
    state.code_verifier = NULL;
    state_implicit = mto_state_encode(pool, &state);
    if (state_record == NULL || session_record == NULL
        || state_implicit == NULL) {
        fail("encoding a cookie record failed");
    }

    write_seed("fuzz_cookie", "sealed-state", -1, 1,
               seal(FUZZ_STATE_AAD, state_record, 0));
    write_seed("fuzz_cookie", "sealed-state-implicit", -1, 1,
               seal(FUZZ_STATE_AAD, state_implicit, 0));
    write_seed("fuzz_cookie", "sealed-session", -1, 1,
               seal(FUZZ_SESSION_AAD, session_record, 0));
    write_seed("fuzz_cookie", "sealed-session-earlier-key", -1, 1,
               seal(FUZZ_SESSION_AAD, session_record, 1));
    write_seed("fuzz_cookie", "state-record", -1, 1, state_record);
    write_seed("fuzz_cookie", "state-record-implicit", -1, 1, state_implicit);
    write_seed("fuzz_cookie", "session-record", -1, 1, session_record);
    write_seed("fuzz_cookie", "base64url", -1, 1, "AQIDBAUG_-8");
    write_broken_record_seeds(state_record, session_record);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen DIR\n"
                "Writes the seed corpora of the fuzz targets into "
                "DIR/<target>/.\n");
        return 2;
    }
    corpus_dir = argv[1];
    if (mkdir(corpus_dir, 0755) != 0 && errno != EEXIST) {
        fail("cannot create %s: %s", corpus_dir, strerror(errno));
    }
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fail("APR initialisation failed");
    }
    rsa_key = fuzz_key_load(fuzz_rsa_private_pem);
    ec_key = fuzz_key_load(fuzz_ec_private_pem);
    fuzz_expect_init(pool, &expect);

    write_token_seeds();
    write_jwks_token_seeds();
    write_signed_seeds();
    write_jwks_seeds();
    write_tenant_seeds();
    write_cookie_seeds();
    printf("seedgen: wrote %d seeds into %s\n", seed_count, corpus_dir);

    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
