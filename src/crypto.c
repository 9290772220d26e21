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
#include <pthread.h>
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

/*
 * One more than the 6-bit value of each byte of the base64url alphabet,
 * so that the zero of every byte left out, padding '=' included, marks
 * it as invalid.
 */
static const unsigned char base64url_values[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

/*
 * AES-256-GCM, fetched from OpenSSL's default library context once per
 * process, because EVP_aes_256_gcm() makes OpenSSL 3 fetch the cipher
 * again in every EVP_CipherInit_ex call. A fetched EVP_CIPHER is
 * immutable, so all threads share it, and it is never freed.
 *
 * Each thread also keeps one cipher context for all its seals and opens,
 * which saves a context allocation and OpenSSL's cipher set-up per call.
 * Between calls the context keeps the AES key schedule of the last key
 * used, a copy of key material that the process keeps in its
 * configuration anyway.
 * The context is freed, and its key schedule wiped, when the thread
 * exits.
 */
static pthread_once_t gcm_setup_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_fetched;
static pthread_key_t gcm_ctx_key;
static int gcm_ctx_key_ready;

static void gcm_ctx_free(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

static void gcm_setup(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    gcm_ctx_key_ready = pthread_key_create(&gcm_ctx_key, gcm_ctx_free) == 0;
}

/* Returns the fetched cipher, or EVP_aes_256_gcm() when the fetch failed,
 * which fails in turn in EVP_CipherInit_ex if the cipher is missing. */
static const EVP_CIPHER *gcm_cipher(void)
{
    if (pthread_once(&gcm_setup_once, gcm_setup) != 0
        || gcm_fetched == NULL) {
        return EVP_aes_256_gcm();
    }
    return gcm_fetched;
}

/*
 * Returns the calling thread's cipher context, made on first use, or NULL
 * when OpenSSL cannot make one. *owned is set to 1 when the context could
 * not be kept for the thread, so the caller must free it.
 */
static EVP_CIPHER_CTX *gcm_ctx_get(int *owned)
{
    EVP_CIPHER_CTX *ctx;

    *owned = 0;
    if (pthread_once(&gcm_setup_once, gcm_setup) == 0 && gcm_ctx_key_ready) {
        ctx = pthread_getspecific(gcm_ctx_key);
        if (ctx != NULL) {
            return ctx;
        }
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }
    if (!gcm_ctx_key_ready || pthread_setspecific(gcm_ctx_key, ctx) != 0) {
        *owned = 1;
    }
    return ctx;
}

static void gcm_ctx_release(EVP_CIPHER_CTX *ctx, int owned)
{
    if (owned) {
        EVP_CIPHER_CTX_free(ctx);
    }
}

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
 * Sets ctx up for AES-256-GCM in the given direction, with key, iv and aad
 * applied. The cipher is set on the first call for a new ctx only. A ctx
 * used before keeps OpenSSL's cipher state, and loading the key and IV
 * resets that state as for a new context. The IV needs no
 * EVP_CTRL_GCM_SET_IVLEN, because 12 bytes is the default IV length of
 * GCM in OpenSSL. Returns 1 on success, 0 on any OpenSSL failure.
 */
static int gcm_start(EVP_CIPHER_CTX *ctx, const mto_key_t *key,
                     const char *aad, const unsigned char *iv, int encrypt)
{
    const EVP_CIPHER *cipher = NULL;

    if (EVP_CIPHER_CTX_get0_cipher(ctx) == NULL) {
        cipher = gcm_cipher();
    }
    return EVP_CipherInit_ex(ctx, cipher, NULL, key->bytes, iv, encrypt) == 1
           && gcm_add_aad(ctx, aad, encrypt) == 1;
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
    int owned;
    EVP_CIPHER_CTX *ctx = gcm_ctx_get(&owned);
    int outl;
    int ok = 0;

    if (ctx == NULL) {
        return 0;
    }
    if (!gcm_start(ctx, key, aad, iv, 1)) {
        goto done;
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
    gcm_ctx_release(ctx, owned);
    return ok;
}

/*
 * Decrypts length bytes of cipher into out with ctx, which may have been
 * used for another key, and checks the tag. Returns 1 only when the tag
 * verifies. On 0, out may contain unauthenticated plaintext, which the
 * caller must wipe.
 */
static int gcm_decrypt(EVP_CIPHER_CTX *ctx, const mto_key_t *key,
                       const char *aad, const unsigned char *iv,
                       const unsigned char *cipher, apr_size_t length,
                       const unsigned char *tag, unsigned char *out)
{
    int outl;

    if (!gcm_start(ctx, key, aad, iv, 0)) {
        return 0;
    }
    if (length > 0
        && EVP_DecryptUpdate(ctx, out, &outl, cipher, (int)length) != 1) {
        return 0;
    }

    /* OpenSSL reads the expected tag from the context, so it is not
     * modified through this cast. */
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LENGTH,
                            (void *)tag) != 1) {
        return 0;
    }

    /* EVP_DecryptFinal_ex fails when the tag does not match. */
    return EVP_DecryptFinal_ex(ctx, out + length, &outl) == 1;
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

static apr_status_t base64url_decode_length(apr_pool_t *pool,
                                            const char *text,
                                            apr_size_t text_length,
                                            unsigned char **data,
                                            apr_size_t *length);

/*
 * Tries each key on the decoded sealed bytes raw. Returns the index of the
 * key whose tag verifies, with the NUL-terminated plaintext in *plain, or
 * -1. The thread's cipher context serves every key.
 */
static int open_with_keys(apr_pool_t *pool, const mto_key_t *keys,
                          int nkeys, const char *aad,
                          const unsigned char *raw, apr_size_t raw_length,
                          char **plain)
{
    apr_size_t cipher_length = raw_length - SEAL_OVERHEAD;
    const unsigned char *iv = raw + 1;
    const unsigned char *cipher = raw + SEAL_HEADER_LENGTH;
    const unsigned char *tag = cipher + cipher_length;
    unsigned char *out = apr_palloc(pool, cipher_length + 1);
    int owned;
    EVP_CIPHER_CTX *ctx = gcm_ctx_get(&owned);
    int found = -1;
    int i;

    if (ctx == NULL) {
        return -1;
    }
    for (i = 0; i < nkeys; i++) {
        if (gcm_decrypt(ctx, &keys[i], aad, iv, cipher, cipher_length, tag,
                        out)) {
            out[cipher_length] = '\0';
            *plain = (char *)out;
            found = i;
            break;
        }
        /* GCM decrypts before the tag is checked, so a failed check leaves
         * unauthenticated plaintext in out. */
        mto_wipe(out, cipher_length);
    }
    gcm_ctx_release(ctx, owned);
    return found;
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
    apr_size_t text_length;
    int found;

    if (plain == NULL) {
        return APR_EINVAL;
    }
    *plain = NULL;
    if (keys == NULL || nkeys < 1 || sealed == NULL) {
        return APR_EINVAL;
    }

    /* The length check reads at most max_length + 1 bytes, so an
     * oversized cookie costs no decoding work. */
    if (max_length == APR_SIZE_MAX) {
        text_length = strlen(sealed);
    }
    else {
        text_length = strnlen(sealed, max_length + 1);
        if (text_length > max_length) {
            return APR_EINVAL;
        }
    }
    if (base64url_decode_length(pool, sealed, text_length, &raw, &raw_length)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (raw_length < SEAL_OVERHEAD || raw[0] != SEAL_VERSION) {
        return APR_EINVAL;
    }

    found = open_with_keys(pool, keys, nkeys, aad, raw, raw_length, plain);
    if (found < 0) {
        return APR_EINVAL;
    }
    if (length != NULL) {
        *length = raw_length - SEAL_OVERHEAD;
    }
    if (key_index != NULL) {
        *key_index = found;
    }
    return APR_SUCCESS;
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
    return (int)base64url_values[c] - 1;
}

/*
 * Decodes text_length bytes of text as mto_base64url_decode describes.
 * Four characters make three bytes. The values of a group are combined
 * before one test, because OR-ing the table entries minus one gives a
 * negative result exactly when one of the characters is invalid.
 */
static apr_status_t base64url_decode_length(apr_pool_t *pool,
                                            const char *text,
                                            apr_size_t text_length,
                                            unsigned char **data,
                                            apr_size_t *length)
{
    const unsigned char *in = (const unsigned char *)text;
    apr_size_t rest = text_length % 4;
    apr_size_t full = text_length - rest;
    apr_size_t i;
    unsigned char *out;
    unsigned char *next;
    long group;

    if (rest == 1) {
        return APR_EINVAL;
    }
    out = apr_palloc(pool, full / 4 * 3 + (rest ? rest - 1 : 0) + 1);
    next = out;
    for (i = 0; i < full; i += 4) {
        long a = (long)base64url_values[in[i]] - 1;
        long b = (long)base64url_values[in[i + 1]] - 1;
        long c = (long)base64url_values[in[i + 2]] - 1;
        long d = (long)base64url_values[in[i + 3]] - 1;

        if ((a | b | c | d) < 0) {
            return APR_EINVAL;
        }
        group = a << 18 | b << 12 | c << 6 | d;
        next[0] = (unsigned char)(group >> 16);
        next[1] = (unsigned char)(group >> 8);
        next[2] = (unsigned char)group;
        next += 3;
    }
    if (rest > 0) {
        long a = (long)base64url_values[in[i]] - 1;
        long b = (long)base64url_values[in[i + 1]] - 1;
        long c = rest == 3 ? (long)base64url_values[in[i + 2]] - 1 : 0;

        if ((a | b | c) < 0) {
            return APR_EINVAL;
        }
        group = a << 18 | b << 12 | c << 6;

        /* The bits below the last whole byte (4 of them after two
         * characters, 2 after three) must be zero in canonical text. */
        if ((group & (rest == 2 ? 0xffff : 0xff)) != 0) {
            return APR_EINVAL;
        }
        *next++ = (unsigned char)(group >> 16);
        if (rest == 3) {
            *next++ = (unsigned char)(group >> 8);
        }
    }

    *next = '\0';
    *data = out;
    *length = (apr_size_t)(next - out);
    return APR_SUCCESS;
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
    if (text == NULL || data == NULL || length == NULL) {
        return APR_EINVAL;
    }
    return base64url_decode_length(pool, text, strlen(text), data, length);
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
