/*
 * Signing of test tokens with the keys in fuzz_keys.h, for the fuzz
 * targets and seedgen. OpenSSL signs the exact header and payload bytes
 * given, so a token may carry JSON that no encoder would write.
 */
#ifndef FUZZ_SIGN_H
#define FUZZ_SIGN_H

#include <stddef.h>

#include <apr_pools.h>
#include <openssl/evp.h>

/*
 * Returns the private key of a PEM text, or aborts. The caller frees it
 * with EVP_PKEY_free.
 */
EVP_PKEY *fuzz_key_load(const char *pem);

/*
 * Returns the compact JWS of header and payload (raw bytes, encoded here)
 * signed by key with alg, which is "RS256", "PS256" or "ES256". Returns
 * NULL for another alg or when key does not fit alg.
 */
const char *fuzz_sign(apr_pool_t *pool, EVP_PKEY *key, const char *alg,
                      const void *header, size_t header_length,
                      const void *payload, size_t payload_length);

#endif
