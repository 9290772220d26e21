/*
 * Cookie encryption and random values. Cookies are sealed with AES-256-GCM
 * (a random 96-bit IV per cookie, a 128-bit tag) under a key derived from
 * the configured passphrase. The additional authenticated data binds a
 * cookie to its purpose and tenant host, so a cookie minted for one host
 * or purpose fails to open on any other.
 */
#ifndef MTO_CRYPTO_H
#define MTO_CRYPTO_H

#include <apr_pools.h>
#include "mto_error.h"

#define MTO_KEY_LENGTH 32

typedef struct {
    unsigned char bytes[MTO_KEY_LENGTH];
} mto_key_t;

/*
 * Derives a cookie key from passphrase with PBKDF2-HMAC-SHA256 and a fixed
 * salt, so every node given the same passphrase derives the same key.
 */
apr_status_t mto_key_derive(const char *passphrase, mto_key_t *key);

/*
 * Encrypts plain and returns base64url text (no padding): one version
 * byte, the IV, the ciphertext and the tag. aad is the binding, such as
 * "state\nacme.example.com". Returns NULL when OpenSSL fails.
 */
const char *mto_seal(apr_pool_t *pool, const mto_key_t *key, const char *aad,
                     const void *plain, apr_size_t length);

/*
 * Decrypts sealed text made by mto_seal with one of nkeys keys (the
 * current key first, then earlier ones). On success *plain is a
 * NUL-terminated copy and *key_index the index of the key that opened it.
 * Returns APR_EINVAL for text that is malformed, longer than max_length,
 * or fails authentication under every key.
 */
apr_status_t mto_open(apr_pool_t *pool, const mto_key_t *keys, int nkeys,
                      const char *aad, const char *sealed,
                      apr_size_t max_length, char **plain,
                      apr_size_t *length, int *key_index);

/*
 * Returns base64url text of length bytes from the OpenSSL CSPRNG. Aborts
 * the process when the generator fails, because no login or session may
 * go on with predictable values.
 */
const char *mto_random_text(apr_pool_t *pool, apr_size_t length);

/* Compares two strings in time that depends only on their lengths. */
int mto_equal_consttime(const char *a, const char *b);

/* Returns the 6-bit value of a base64url character, or -1. */
int mto_base64url_value(unsigned char c);

/* Base64url without padding (RFC 4648 section 5). */
const char *mto_base64url_encode(apr_pool_t *pool, const void *data,
                                 apr_size_t length);
apr_status_t mto_base64url_decode(apr_pool_t *pool, const char *text,
                                  unsigned char **data, apr_size_t *length);

/* Returns the lower-case hex SHA-256 digest of text. */
const char *mto_sha256_hex(apr_pool_t *pool, const char *text);

/* Overwrites length bytes at data in a way the compiler keeps. */
void mto_wipe(void *data, apr_size_t length);

#endif
