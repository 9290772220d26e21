/*
 * Generates the fuzz targets' signing keys and writes fuzz_keys.h to
 * standard output: an RSA 2048-bit key and an EC P-256 key as PKCS#8 PEM,
 * and the public JWK Set of both. The keys are test fixtures, committed
 * so that the seed tokens keep verifying. "t/fuzz/run --keys" runs this
 * program. The seed corpora must then be regenerated with
 * "t/fuzz/run --seeds", because every seed token was signed with the old
 * keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mto_crypto.h"
#include "fuzz_fixture.h"

/* Length of a P-256 coordinate in bytes (RFC 7518 section 6.2.1.2). */
#define P256_COORDINATE_LENGTH 32

static _Noreturn void fail(const char *operation)
{
    fprintf(stderr, "genkeys: %s failed\n", operation);
    exit(1);
}

/*
 * Returns the base64url text of a key parameter. A positive pad sets the
 * length in bytes (EC coordinates), 0 the minimal length (RSA "n", "e").
 */
static const char *parameter_text(apr_pool_t *pool, EVP_PKEY *pkey,
                                  const char *name, int pad)
{
    BIGNUM *number = NULL;
    unsigned char *bytes;
    int length;

    if (!EVP_PKEY_get_bn_param(pkey, name, &number)) {
        fail(name);
    }
    length = pad > 0 ? pad : BN_num_bytes(number);
    bytes = apr_palloc(pool, length);
    if (BN_bn2binpad(number, bytes, length) != length) {
        fail(name);
    }
    BN_free(number);
    return mto_base64url_encode(pool, bytes, (apr_size_t)length);
}

/* Returns the PKCS#8 PEM text of the private key. */
static const char *private_pem(apr_pool_t *pool, EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long length;
    const char *text;

    if (bio == NULL
        || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        fail("PEM_write_bio_PrivateKey");
    }
    length = BIO_get_mem_data(bio, &data);
    text = apr_pstrmemdup(pool, data, (apr_size_t)length);
    BIO_free(bio);
    return text;
}

/* Maximum number of text bytes on one line of a string literal. */
#define LITERAL_PIECE_MAX 64

/*
 * Prints text as a C string literal: one source line per text line, and
 * long lines cut into pieces of LITERAL_PIECE_MAX bytes.
 */
static void print_literal(const char *name, const char *text)
{
    const char *c;
    size_t piece = 0;

    printf("static const char %s[] =", name);
    for (c = text; *c != '\0'; c++) {
        if (c == text || c[-1] == '\n'
            || (piece == LITERAL_PIECE_MAX && *c != '\n')) {
            printf("%s\n    \"", c == text ? "" : "\"");
            piece = 0;
        }
        if (*c == '\n') {
            printf("\\n");
            continue;
        }
        if (*c == '"' || *c == '\\') {
            putchar('\\');
        }
        putchar(*c);
        piece++;
    }
    printf("%s;\n\n", c == text ? " \"\"" : "\"");
}

/*
 * Returns the JWK Set of both public keys. The RSA key has no "alg", so
 * it verifies both RS256 and PS256. The EC key has "alg" ES256.
 */
static const char *public_jwks(apr_pool_t *pool, EVP_PKEY *rsa, EVP_PKEY *ec)
{
    return apr_psprintf(pool,
        "{\"keys\":[\n"
        "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"e\":\"%s\",\n"
        "\"n\":\"%s\"},\n"
        "{\"kty\":\"EC\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"ES256\",\n"
        "\"crv\":\"P-256\",\n"
        "\"x\":\"%s\",\n"
        "\"y\":\"%s\"}\n"
        "]}\n",
        FUZZ_RSA_KID, parameter_text(pool, rsa, OSSL_PKEY_PARAM_RSA_E, 0),
        parameter_text(pool, rsa, OSSL_PKEY_PARAM_RSA_N, 0), FUZZ_EC_KID,
        parameter_text(pool, ec, OSSL_PKEY_PARAM_EC_PUB_X,
                       P256_COORDINATE_LENGTH),
        parameter_text(pool, ec, OSSL_PKEY_PARAM_EC_PUB_Y,
                       P256_COORDINATE_LENGTH));
}

int main(void)
{
    apr_pool_t *pool;
    EVP_PKEY *rsa;
    EVP_PKEY *ec;

    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fail("APR initialisation");
    }
    rsa = EVP_RSA_gen(2048);
    ec = EVP_EC_gen("P-256");
    if (rsa == NULL || ec == NULL) {
        fail("key generation");
    }

    printf("/*\n"
           " * Test keys of the fuzz targets, written by genkeys.c.\n"
           " * They sign the seed tokens under corpus/ and nothing else.\n"
           " */\n"
           "#ifndef FUZZ_KEYS_H\n"
           "#define FUZZ_KEYS_H\n\n");
    print_literal("fuzz_rsa_private_pem", private_pem(pool, rsa));
    print_literal("fuzz_ec_private_pem", private_pem(pool, ec));
    print_literal("fuzz_jwks_json", public_jwks(pool, rsa, ec));
    printf("#endif\n");

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
