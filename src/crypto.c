/*
 * Cookie encryption, key derivation and random values on OpenSSL 3.
 *
 * Sealed text is base64url without padding (RFC 4648 section 5) of
 *
 *     version (1 byte, 0x01) | IV (12 bytes) | ciphertext | tag (16 bytes)
 *
 * where the ciphertext is AES-256-GCM of the plaintext, exactly as long as
 * the plaintext, and the tag covers the ciphertext and the aad string. The
 * version byte is not part of the additional authenticated data, so
 * mto_open accepts only version 0x01 and rejects any other value before it
 * decrypts.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mto_crypto.h"

#define SEAL_VERSION 0x01
#define SEAL_IV_LENGTH 12
#define SEAL_TAG_LENGTH 16
#define SEAL_HEADER_LENGTH (1 + SEAL_IV_LENGTH)
#define SEAL_OVERHEAD (SEAL_HEADER_LENGTH + SEAL_TAG_LENGTH)

/* OpenSSL's EVP update functions take int lengths. */
#define SEAL_PLAIN_MAX ((apr_size_t)INT_MAX - SEAL_OVERHEAD)

/*
 * A fixed salt: every node that is given the same passphrase must derive
 * the same key, so the salt cannot be random. Naming the module and the
 * purpose keeps this key apart from keys that other software derives from
 * the same passphrase. Changing the salt or the iteration count makes
 * every cookie already issued fail to open.
 */
#define KEY_SALT "mod_multitenant_oidc cookie key v1"

/*
 * PBKDF2 iterations. The key is derived when the configuration is loaded,
 * never per request, so a high count costs httpd little. An attacker who
 * has a sealed cookie pays 100000 HMAC-SHA256 computations for every guess
 * at a possibly weak passphrase.
 */
#define KEY_ITERATIONS 100000

static const char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void mto_wipe(void *data, apr_size_t length)
{
    if (data != NULL && length > 0) {
        OPENSSL_cleanse(data, length);
    }
}

apr_status_t mto_key_derive(const char *passphrase, mto_key_t *key)
{
    int ok;

    if (passphrase == NULL || passphrase[0] == '\0' || key == NULL) {
        return APR_EINVAL;
    }
    if (strlen(passphrase) > INT_MAX) {
        return APR_EINVAL;
    }

    ok = PKCS5_PBKDF2_HMAC(passphrase, (int)strlen(passphrase),
                           (const unsigned char *)KEY_SALT,
                           (int)strlen(KEY_SALT), KEY_ITERATIONS,
                           EVP_sha256(), MTO_KEY_LENGTH, key->bytes);
    if (ok != 1) {
        mto_wipe(key->bytes, sizeof(key->bytes));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/*
 * Passes aad to the GCM context as additional authenticated data. A NULL
 * or empty aad adds nothing, so those two bind the same way.
 */
static int gcm_add_aad(EVP_CIPHER_CTX *ctx, const char *aad, int encrypt)
{
    apr_size_t length = aad ? strlen(aad) : 0;
    int outl;

    if (length == 0) {
        return 1;
    }
    if (length > INT_MAX) {
        return 0;
    }
    if (encrypt) {
        return EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
                                 (int)length);
    }
    return EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
                             (int)length);
}

/*
 * Returns a cipher context set up for AES-256-GCM in the given direction,
 * with key, iv and aad applied, or NULL on any OpenSSL failure.
 */
static EVP_CIPHER_CTX *gcm_start(const mto_key_t *key, const char *aad,
                                 const unsigned char *iv, int encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (ctx == NULL) {
        return NULL;
    }
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
                          encrypt) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_IV_LENGTH,
                               NULL) != 1
        || EVP_CipherInit_ex(ctx, NULL, NULL, key->bytes, iv, encrypt) != 1
        || gcm_add_aad(ctx, aad, encrypt) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/*
 * Encrypts length bytes of plain into out (same length) and writes the tag.
 * Returns 1 on success, 0 on any OpenSSL failure.
 */
static int gcm_encrypt(const mto_key_t *key, const char *aad,
                       const unsigned char *iv, const unsigned char *plain,
                       apr_size_t length, unsigned char *out,
                       unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = gcm_start(key, aad, iv, 1);
    int outl;
    int ok = 0;

    if (ctx == NULL) {
        return 0;
    }
    if (length > 0
        && EVP_EncryptUpdate(ctx, out, &outl, plain, (int)length) != 1) {
        goto done;
    }

    /* GCM is a stream mode, so the final call writes no bytes. */
    if (EVP_EncryptFinal_ex(ctx, out + length, &outl) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LENGTH,
                               tag) != 1) {
        goto done;
    }
    ok = 1;

done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/*
 * Decrypts length bytes of cipher into out and checks the tag. Returns 1
 * only when the tag verifies. On 0, out may contain unauthenticated
 * plaintext, which the caller must wipe.
 */
static int gcm_decrypt(const mto_key_t *key, const char *aad,
                       const unsigned char *iv, const unsigned char *cipher,
                       apr_size_t length, const unsigned char *tag,
                       unsigned char *out)
{
    EVP_CIPHER_CTX *ctx = gcm_start(key, aad, iv, 0);
    int outl;
    int ok = 0;

    if (ctx == NULL) {
        return 0;
    }
    if (length > 0
        && EVP_DecryptUpdate(ctx, out, &outl, cipher, (int)length) != 1) {
        goto done;
    }

    /* OpenSSL reads the expected tag from the context, so it is not
     * modified through this cast. */
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LENGTH,
                            (void *)tag) != 1) {
        goto done;
    }

    /* EVP_DecryptFinal_ex fails when the tag does not match. */
    if (EVP_DecryptFinal_ex(ctx, out + length, &outl) != 1) {
        goto done;
    }
    ok = 1;

done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/*
 * Returns NULL when key is NULL, plain is NULL with a non-zero length,
 * length exceeds what OpenSSL's int lengths allow, or OpenSSL fails
 * (RAND_bytes included).
 */
const char *mto_seal(apr_pool_t *pool, const mto_key_t *key, const char *aad,
                     const void *plain, apr_size_t length)
{
    unsigned char *sealed;
    unsigned char *iv;
    unsigned char *cipher;
    apr_size_t total;

    if (key == NULL || (plain == NULL && length > 0)
        || length > SEAL_PLAIN_MAX) {
        return NULL;
    }

    total = SEAL_OVERHEAD + length;
    sealed = apr_palloc(pool, total);
    iv = sealed + 1;
    cipher = sealed + SEAL_HEADER_LENGTH;

    sealed[0] = SEAL_VERSION;
    if (RAND_bytes(iv, SEAL_IV_LENGTH) != 1) {
        return NULL;
    }
    if (!gcm_encrypt(key, aad, iv, plain, length, cipher, cipher + length)) {
        return NULL;
    }
    return mto_base64url_encode(pool, sealed, total);
}

/* Returns 1 when text is longer than max bytes, reading at most max + 1. */
static int text_exceeds(const char *text, apr_size_t max)
{
    if (max == APR_SIZE_MAX) {
        return 0;
    }
    return strnlen(text, max + 1) > max;
}

/*
 * plain and keys are required. length and key_index may be NULL. A
 * max_length of APR_SIZE_MAX sets no limit. The plaintext may contain NUL
 * bytes, so callers that expect text must compare *length with strlen.
 */
apr_status_t mto_open(apr_pool_t *pool, const mto_key_t *keys, int nkeys,
                      const char *aad, const char *sealed,
                      apr_size_t max_length, char **plain,
                      apr_size_t *length, int *key_index)
{
    unsigned char *raw;
    apr_size_t raw_length;
    apr_size_t cipher_length;
    const unsigned char *iv;
    const unsigned char *cipher;
    const unsigned char *tag;
    unsigned char *out;
    int i;

    if (plain == NULL) {
        return APR_EINVAL;
    }
    *plain = NULL;
    if (keys == NULL || nkeys < 1 || sealed == NULL) {
        return APR_EINVAL;
    }

    /* The length check comes first, so an oversized cookie costs no
     * decoding work. */
    if (text_exceeds(sealed, max_length)) {
        return APR_EINVAL;
    }
    if (mto_base64url_decode(pool, sealed, &raw, &raw_length)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (raw_length < SEAL_OVERHEAD || raw[0] != SEAL_VERSION) {
        return APR_EINVAL;
    }

    cipher_length = raw_length - SEAL_OVERHEAD;
    iv = raw + 1;
    cipher = raw + SEAL_HEADER_LENGTH;
    tag = cipher + cipher_length;
    out = apr_palloc(pool, cipher_length + 1);

    for (i = 0; i < nkeys; i++) {
        if (gcm_decrypt(&keys[i], aad, iv, cipher, cipher_length, tag, out)) {
            out[cipher_length] = '\0';
            *plain = (char *)out;
            if (length != NULL) {
                *length = cipher_length;
            }
            if (key_index != NULL) {
                *key_index = i;
            }
            return APR_SUCCESS;
        }
        /* GCM decrypts before the tag is checked, so a failed check leaves
         * unauthenticated plaintext in out. */
        mto_wipe(out, cipher_length);
    }
    return APR_EINVAL;
}

/*
 * Writes why no random bytes could be made to stderr, which httpd sends to
 * its error log, and aborts. A NULL reason takes the latest OpenSSL error.
 */
static _Noreturn void random_abort(apr_size_t length, const char *reason)
{
    char openssl_reason[256];

    if (reason == NULL) {
        ERR_error_string_n(ERR_get_error(), openssl_reason,
                           sizeof(openssl_reason));
        reason = openssl_reason;
    }
    fprintf(stderr, "mod_multitenant_oidc: cannot generate %lu random bytes "
            "(%s), aborting the process\n", (unsigned long)length, reason);
    abort();
}

/*
 * Aborts the process when the CSPRNG fails or length exceeds INT_MAX. A
 * caller could not go on safely, because state, nonce and session values
 * must be unpredictable, and a NULL return would turn up later as a crash
 * far from its cause. When this happens in a child process, the httpd
 * parent starts a new child in its place.
 */
const char *mto_random_text(apr_pool_t *pool, apr_size_t length)
{
    unsigned char *bytes;
    const char *text;

    if (length > INT_MAX) {
        random_abort(length, "more than INT_MAX bytes requested");
    }
    bytes = apr_palloc(pool, length > 0 ? length : 1);
    if (RAND_bytes(bytes, (int)length) != 1) {
        random_abort(length, NULL);
    }

    text = mto_base64url_encode(pool, bytes, length);
    mto_wipe(bytes, length);
    return text;
}

/*
 * Returns 1 when a and b are equal, else 0. A NULL on either side returns
 * 0. The lengths are compared first and are not treated as secret.
 */
int mto_equal_consttime(const char *a, const char *b)
{
    apr_size_t length;

    if (a == NULL || b == NULL) {
        return 0;
    }
    length = strlen(a);
    if (length != strlen(b)) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, length) == 0;
}

/* Returns NULL when data is NULL and length is not zero. */
const char *mto_base64url_encode(apr_pool_t *pool, const void *data,
                                 apr_size_t length)
{
    const unsigned char *in = data;
    apr_size_t rest = length % 3;
    apr_size_t out_length;
    apr_size_t i;
    char *text;
    char *out;

    if (data == NULL && length > 0) {
        return NULL;
    }

    /* Four characters per full group of three bytes, and two or three
     * characters for a final group of one or two bytes. */
    out_length = length / 3 * 4 + (rest ? rest + 1 : 0);
    text = apr_palloc(pool, out_length + 1);
    out = text;

    for (i = 0; i + 3 <= length; i += 3) {
        unsigned long group = ((unsigned long)in[i] << 16)
                              | ((unsigned long)in[i + 1] << 8) | in[i + 2];

        *out++ = base64url_alphabet[(group >> 18) & 0x3f];
        *out++ = base64url_alphabet[(group >> 12) & 0x3f];
        *out++ = base64url_alphabet[(group >> 6) & 0x3f];
        *out++ = base64url_alphabet[group & 0x3f];
    }
    if (rest > 0) {
        unsigned long group = (unsigned long)in[i] << 16;

        if (rest == 2) {
            group |= (unsigned long)in[i + 1] << 8;
        }
        *out++ = base64url_alphabet[(group >> 18) & 0x3f];
        *out++ = base64url_alphabet[(group >> 12) & 0x3f];
        if (rest == 2) {
            *out++ = base64url_alphabet[(group >> 6) & 0x3f];
        }
    }
    *out = '\0';
    return text;
}

int mto_base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

/*
 * Accepts only the canonical encoding: no padding, no characters outside
 * the base64url alphabet, no length that leaves a single character in the
 * last group, and zero bits below the last full byte. So every byte string
 * has exactly one accepted text, and no change to a sealed cookie decodes
 * to the same bytes. On success *data contains *length bytes followed by
 * a NUL that *length does not count.
 */
apr_status_t mto_base64url_decode(apr_pool_t *pool, const char *text,
                                  unsigned char **data, apr_size_t *length)
{
    apr_size_t text_length;
    apr_size_t rest;
    apr_size_t i;
    unsigned long group = 0;
    unsigned char *out;
    unsigned char *next;
    int bits = 0;

    if (text == NULL || data == NULL || length == NULL) {
        return APR_EINVAL;
    }
    text_length = strlen(text);
    rest = text_length % 4;
    if (rest == 1) {
        return APR_EINVAL;
    }

    out = apr_palloc(pool, text_length / 4 * 3 + (rest ? rest - 1 : 0) + 1);
    next = out;
    for (i = 0; i < text_length; i++) {
        int value = mto_base64url_value((unsigned char)text[i]);

        if (value < 0) {
            return APR_EINVAL;
        }
        group = (group << 6) | (unsigned long)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *next++ = (unsigned char)(group >> bits);
            group &= (1UL << bits) - 1;
        }
    }
    /* Left-over bits (2 or 4 of them) must be zero in canonical text. */
    if (group != 0) {
        return APR_EINVAL;
    }

    *next = '\0';
    *data = out;
    *length = (apr_size_t)(next - out);
    return APR_SUCCESS;
}

/* Returns NULL when text is NULL or the digest fails. */
const char *mto_sha256_hex(apr_pool_t *pool, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    unsigned int i;
    char *out;

    if (text == NULL) {
        return NULL;
    }
    if (EVP_Digest(text, strlen(text), digest, &digest_length, EVP_sha256(),
                   NULL) != 1) {
        return NULL;
    }

    out = apr_palloc(pool, digest_length * 2 + 1);
    for (i = 0; i < digest_length; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[2 * i] = '\0';
    return out;
}
