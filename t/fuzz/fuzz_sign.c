#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mto_crypto.h"
#include "fuzz_sign.h"

/* Length of each of R and S in an ES256 signature (RFC 7518 section 3.4). */
#define ES256_HALF_LENGTH 32

EVP_PKEY *fuzz_key_load(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = NULL;

    if (bio != NULL) {
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    if (key == NULL) {
        fprintf(stderr, "fuzz: cannot load a private key of fuzz_keys.h\n");
        abort();
    }
    return key;
}

/*
 * Converts a DER ECDSA signature to the JWS form R || S of fixed length.
 * Returns 0 when der is invalid.
 */
static int ecdsa_der_to_raw(const unsigned char *der, size_t der_length,
                            unsigned char *raw)
{
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &cursor, (long)der_length);
    const BIGNUM *r;
    const BIGNUM *s;
    int ok;

    if (signature == NULL) {
        return 0;
    }
    ECDSA_SIG_get0(signature, &r, &s);
    ok = BN_bn2binpad(r, raw, ES256_HALF_LENGTH) == ES256_HALF_LENGTH
         && BN_bn2binpad(s, raw + ES256_HALF_LENGTH, ES256_HALF_LENGTH)
            == ES256_HALF_LENGTH;
    ECDSA_SIG_free(signature);
    return ok;
}

/* Sets the RSA padding that alg names on a signing context. */
static int set_padding(EVP_PKEY_CTX *context, const char *alg)
{
    if (strcmp(alg, "PS256") == 0) {
        return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) > 0
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(context,
                                                   RSA_PSS_SALTLEN_DIGEST) > 0;
    }
    if (strcmp(alg, "RS256") == 0) {
        return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) > 0;
    }
    return 1;
}

/*
 * Signs input with SHA-256 under key. Returns the signature in pool and
 * its length in *length, or NULL.
 */
static unsigned char *sign_sha256(apr_pool_t *pool, EVP_PKEY *key,
                                  const char *alg, const char *input,
                                  size_t *length)
{
    EVP_MD_CTX *digest = EVP_MD_CTX_new();
    EVP_PKEY_CTX *context = NULL;
    unsigned char *signature = NULL;
    size_t size = 0;

    if (digest == NULL
        || EVP_DigestSignInit(digest, &context, EVP_sha256(), NULL, key) != 1
        || !set_padding(context, alg)
        || EVP_DigestSign(digest, NULL, &size, (const unsigned char *)input,
                          strlen(input)) != 1) {
        goto done;
    }
    signature = apr_palloc(pool, size);
    if (EVP_DigestSign(digest, signature, &size,
                       (const unsigned char *)input, strlen(input)) != 1) {
        signature = NULL;
        goto done;
    }
    *length = size;

done:
    EVP_MD_CTX_free(digest);
    return signature;
}

const char *fuzz_sign(apr_pool_t *pool, EVP_PKEY *key, const char *alg,
                      const void *header, size_t header_length,
                      const void *payload, size_t payload_length)
{
    int ec = strcmp(alg, "ES256") == 0;
    int rsa = strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0;
    const char *input;
    unsigned char *signature;
    unsigned char raw[2 * ES256_HALF_LENGTH];
    size_t length;

    if ((!ec && !rsa) || (ec && EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        || (rsa && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)) {
        return NULL;
    }
    input = apr_pstrcat(pool,
                        mto_base64url_encode(pool, header, header_length),
                        ".",
                        mto_base64url_encode(pool, payload, payload_length),
                        NULL);
    signature = sign_sha256(pool, key, alg, input, &length);
    if (signature == NULL) {
        return NULL;
    }
    if (ec) {
        if (!ecdsa_der_to_raw(signature, length, raw)) {
            return NULL;
        }
        signature = raw;
        length = sizeof(raw);
    }
    return apr_pstrcat(pool, input, ".",
                       mto_base64url_encode(pool, signature, length), NULL);
}
