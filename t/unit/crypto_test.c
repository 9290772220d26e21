/*
 * Unit tests of cookie sealing, key derivation, random text, base64url,
 * SHA-256 and the constant-time comparison.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>

#include "mto_crypto.h"

static apr_pool_t *pool;

static void pool_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static void pool_teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
}

/* Fills key with a byte pattern, so tests that need no derivation stay
 * fast. */
static void key_fill(mto_key_t *key, unsigned char seed)
{
    int i;

    for (i = 0; i < MTO_KEY_LENGTH; i++) {
        key->bytes[i] = (unsigned char)(seed + i * 7);
    }
}

static void hex_decode(const char *hex, unsigned char *out, size_t length)
{
    size_t i;

    ck_assert_uint_eq(strlen(hex), length * 2);
    for (i = 0; i < length; i++) {
        unsigned int byte;

        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &byte), 1);
        out[i] = (unsigned char)byte;
    }
}

static const char *key_hex(const mto_key_t *key)
{
    char *hex = apr_palloc(pool, MTO_KEY_LENGTH * 2 + 1);
    int i;

    for (i = 0; i < MTO_KEY_LENGTH; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", key->bytes[i]);
    }
    return hex;
}

/* Seals text with key and aad and checks that the result is not NULL. */
static const char *seal_text(const mto_key_t *key, const char *aad,
                             const char *text)
{
    const char *sealed = mto_seal(pool, key, aad, text, strlen(text));

    ck_assert_ptr_nonnull(sealed);
    return sealed;
}

static apr_status_t open_one(const mto_key_t *key, const char *aad,
                             const char *sealed, char **plain)
{
    return mto_open(pool, key, 1, aad, sealed, 8192, plain, NULL, NULL);
}

/* Sealing and opening */

START_TEST(seal_open_round_trip)
{
    static const char text[] = "{\"s\":\"abc\",\"n\":\"def\"}";
    mto_key_t key;
    const char *sealed;
    char *plain = NULL;
    apr_size_t length = 0;
    int key_index = -1;

    key_fill(&key, 1);
    sealed = seal_text(&key, "state\nacme.example.com", text);

    ck_assert_int_eq(mto_open(pool, &key, 1, "state\nacme.example.com",
                              sealed, 8192, &plain, &length, &key_index),
                     APR_SUCCESS);
    ck_assert_str_eq(plain, text);
    ck_assert_uint_eq(length, strlen(text));
    ck_assert_int_eq(key_index, 0);
}
END_TEST

START_TEST(seal_sealed_text_size)
{
    mto_key_t key;
    const char *sealed;
    apr_size_t plain_length;

    key_fill(&key, 1);
    for (plain_length = 0; plain_length < 40; plain_length++) {
        char *text = apr_palloc(pool, plain_length + 1);
        apr_size_t raw = 1 + 12 + plain_length + 16;
        apr_size_t expected = raw / 3 * 4 + (raw % 3 ? raw % 3 + 1 : 0);

        memset(text, 'x', plain_length);
        text[plain_length] = '\0';
        sealed = seal_text(&key, "a", text);
        ck_assert_uint_eq(strlen(sealed), expected);
    }
}
END_TEST

START_TEST(seal_empty_plaintext)
{
    mto_key_t key;
    const char *sealed;
    char *plain = NULL;
    apr_size_t length = 99;

    key_fill(&key, 1);
    sealed = mto_seal(pool, &key, "state\nacme.example.com", NULL, 0);
    ck_assert_ptr_nonnull(sealed);
    ck_assert_int_eq(mto_open(pool, &key, 1, "state\nacme.example.com",
                              sealed, 8192, &plain, &length, NULL),
                     APR_SUCCESS);
    ck_assert_uint_eq(length, 0);
    ck_assert_str_eq(plain, "");
}
END_TEST

START_TEST(seal_binary_plaintext)
{
    static const unsigned char data[] = {0x00, 0xff, 0x00, 0x41, 0x80};
    mto_key_t key;
    const char *sealed;
    char *plain = NULL;
    apr_size_t length = 0;

    key_fill(&key, 1);
    sealed = mto_seal(pool, &key, "x", data, sizeof(data));
    ck_assert_ptr_nonnull(sealed);
    ck_assert_int_eq(mto_open(pool, &key, 1, "x", sealed, 8192, &plain,
                              &length, NULL),
                     APR_SUCCESS);
    ck_assert_uint_eq(length, sizeof(data));
    ck_assert_mem_eq(plain, data, sizeof(data));
    ck_assert_int_eq(plain[length], '\0');
}
END_TEST

START_TEST(seal_uses_fresh_iv)
{
    mto_key_t key;
    const char *first;
    const char *second;

    key_fill(&key, 1);
    first = seal_text(&key, "a", "same text");
    second = seal_text(&key, "a", "same text");
    ck_assert_str_ne(first, second);
}
END_TEST

START_TEST(seal_rejects_bad_arguments)
{
    mto_key_t key;

    key_fill(&key, 1);
    ck_assert_ptr_null(mto_seal(pool, NULL, "a", "x", 1));
    ck_assert_ptr_null(mto_seal(pool, &key, "a", NULL, 1));
    /* Over OpenSSL's int limit: rejected before the buffer is read. */
    ck_assert_ptr_null(mto_seal(pool, &key, "a", "x", (apr_size_t)INT_MAX));
}
END_TEST

START_TEST(open_wrong_aad_fails)
{
    static const char *other_aads[] = {
        "state\nglobex.example.com",    /* other host */
        "session\nacme.example.com",    /* other purpose */
        "state\nacme.example.com.",     /* one byte longer */
        "state\nacme.example.co",       /* one byte shorter */
        "",
        NULL,
    };
    mto_key_t key;
    const char *sealed;
    char *plain;
    size_t i;

    key_fill(&key, 1);
    sealed = seal_text(&key, "state\nacme.example.com", "payload");
    for (i = 0; i < sizeof(other_aads) / sizeof(other_aads[0]); i++) {
        plain = (char *)"unchanged";
        ck_assert_msg(open_one(&key, other_aads[i], sealed, &plain)
                      == APR_EINVAL, "opened with aad number %zu", i);
        ck_assert_ptr_null(plain);
    }
}
END_TEST

START_TEST(open_null_and_empty_aad_same)
{
    mto_key_t key;
    const char *sealed;
    char *plain;

    key_fill(&key, 1);
    sealed = seal_text(&key, NULL, "payload");
    ck_assert_int_eq(open_one(&key, "", sealed, &plain), APR_SUCCESS);
    ck_assert_str_eq(plain, "payload");
    ck_assert_int_eq(open_one(&key, "x", sealed, &plain), APR_EINVAL);
}
END_TEST

START_TEST(open_wrong_key_fails)
{
    mto_key_t key;
    mto_key_t other;
    const char *sealed;
    char *plain;

    key_fill(&key, 1);
    key_fill(&other, 2);
    sealed = seal_text(&key, "a", "payload");
    ck_assert_int_eq(open_one(&other, "a", sealed, &plain), APR_EINVAL);
}
END_TEST

/*
 * Replaces every character of a sealed text with each other character of
 * the alphabet and with characters outside it. Because the decoder accepts
 * only canonical text, each change either fails decoding or changes the
 * decoded bytes, and so fails the version check or GCM. Returns the number
 * of changed texts tried.
 */
static int check_every_single_change(const mto_key_t *key,
                                     const char *sealed)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        "+/= .";
    apr_size_t length = strlen(sealed);
    char *copy = apr_pstrdup(pool, sealed);
    char *plain;
    apr_size_t position;
    size_t k;
    int tried = 0;

    for (position = 0; position < length; position++) {
        for (k = 0; alphabet[k] != '\0'; k++) {
            if (alphabet[k] == sealed[position]) {
                continue;
            }
            copy[position] = alphabet[k];
            ck_assert_msg(open_one(key, "session\nacme.example.com", copy,
                                   &plain) == APR_EINVAL,
                          "opened after position %lu of %lu became '%c'",
                          (unsigned long)position, (unsigned long)length,
                          alphabet[k]);
            tried++;
        }
        copy[position] = sealed[position];
    }

    /* The restored copy still opens, so the failures above come from the
     * changes. */
    ck_assert_int_eq(open_one(key, "session\nacme.example.com", copy,
                              &plain), APR_SUCCESS);
    return tried;
}

/*
 * Plaintexts of 10, 11 and 12 bytes make sealed values of 39, 40 and 41
 * bytes. Their texts end in a group of 3, 1 and 2 bytes, which leaves 0, 4
 * and 2 unused bits in the last character.
 */
START_TEST(open_rejects_every_single_change)
{
    static const char *texts[] = {
        "{\"id\":\"x\"}", "{\"id\":\"xy\"}", "{\"id\":\"xyz\"}",
    };
    mto_key_t key;
    size_t i;

    key_fill(&key, 1);
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *sealed = seal_text(&key, "session\nacme.example.com",
                                       texts[i]);
        int tried = check_every_single_change(&key, sealed);

        /* 69 characters to try, minus the one already in place. */
        ck_assert_int_eq(tried, (int)(strlen(sealed) * 68));
    }
}
END_TEST

START_TEST(open_rejects_truncation_and_extension)
{
    mto_key_t key;
    const char *sealed;
    char *plain;
    apr_size_t length;
    apr_size_t cut;

    key_fill(&key, 1);
    sealed = seal_text(&key, "a", "payload");
    length = strlen(sealed);

    for (cut = 0; cut < length; cut++) {
        const char *prefix = apr_pstrndup(pool, sealed, cut);

        ck_assert_msg(open_one(&key, "a", prefix, &plain) == APR_EINVAL,
                      "opened a prefix of %lu characters",
                      (unsigned long)cut);
    }
    ck_assert_int_eq(open_one(&key, "a", apr_pstrcat(pool, sealed, "A", NULL),
                              &plain), APR_EINVAL);
    ck_assert_int_eq(open_one(&key, "a",
                              apr_pstrcat(pool, sealed, "AAAA", NULL),
                              &plain), APR_EINVAL);
}
END_TEST

START_TEST(open_key_rotation_reports_index)
{
    mto_key_t keys[2];
    const char *old_sealed;
    const char *new_sealed;
    char *plain = NULL;
    int key_index = -1;

    key_fill(&keys[0], 10);    /* current key */
    key_fill(&keys[1], 20);    /* earlier key */
    old_sealed = seal_text(&keys[1], "a", "sealed before rotation");
    new_sealed = seal_text(&keys[0], "a", "sealed after rotation");

    ck_assert_int_eq(mto_open(pool, keys, 2, "a", old_sealed, 8192, &plain,
                              NULL, &key_index), APR_SUCCESS);
    ck_assert_int_eq(key_index, 1);
    ck_assert_str_eq(plain, "sealed before rotation");

    ck_assert_int_eq(mto_open(pool, keys, 2, "a", new_sealed, 8192, &plain,
                              NULL, &key_index), APR_SUCCESS);
    ck_assert_int_eq(key_index, 0);
    ck_assert_str_eq(plain, "sealed after rotation");

    /* Without the earlier key, the old cookie no longer opens. */
    ck_assert_int_eq(mto_open(pool, keys, 1, "a", old_sealed, 8192, &plain,
                              NULL, &key_index), APR_EINVAL);
}
END_TEST

START_TEST(open_rejects_bad_key_count)
{
    mto_key_t key;
    const char *sealed;
    char *plain;

    key_fill(&key, 1);
    sealed = seal_text(&key, "a", "payload");
    ck_assert_int_eq(mto_open(pool, &key, 0, "a", sealed, 8192, &plain, NULL,
                              NULL), APR_EINVAL);
    ck_assert_int_eq(mto_open(pool, &key, -1, "a", sealed, 8192, &plain, NULL,
                              NULL), APR_EINVAL);
    ck_assert_int_eq(mto_open(pool, NULL, 1, "a", sealed, 8192, &plain, NULL,
                              NULL), APR_EINVAL);
}
END_TEST

START_TEST(open_max_length_enforced)
{
    mto_key_t key;
    const char *sealed;
    char *plain;
    apr_size_t length;

    key_fill(&key, 1);
    sealed = seal_text(&key, "a", "payload of some length");
    length = strlen(sealed);

    ck_assert_int_eq(mto_open(pool, &key, 1, "a", sealed, length, &plain,
                              NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(mto_open(pool, &key, 1, "a", sealed, length - 1, &plain,
                              NULL, NULL), APR_EINVAL);
    ck_assert_int_eq(mto_open(pool, &key, 1, "a", sealed, 0, &plain, NULL,
                              NULL), APR_EINVAL);
    ck_assert_int_eq(mto_open(pool, &key, 1, "a", sealed, APR_SIZE_MAX,
                              &plain, NULL, NULL), APR_SUCCESS);
}
END_TEST

START_TEST(open_rejects_malformed_base64url)
{
    mto_key_t key;
    const char *sealed;
    char *plain;
    apr_size_t length;

    key_fill(&key, 1);
    sealed = seal_text(&key, "a", "payload");
    length = strlen(sealed);

    /* Standard base64 characters, padding and white space. */
    ck_assert_int_eq(open_one(&key, "a", apr_pstrcat(pool, sealed, "==", NULL),
                              &plain), APR_EINVAL);
    ck_assert_int_eq(open_one(&key, "a", apr_pstrcat(pool, " ", sealed, NULL),
                              &plain), APR_EINVAL);
    ck_assert_int_eq(open_one(&key, "a", apr_pstrcat(pool, sealed, "\n", NULL),
                              &plain), APR_EINVAL);
    ck_assert_int_eq(open_one(&key, "a",
                              apr_pstrcat(pool, "+/", sealed + 2, NULL),
                              &plain), APR_EINVAL);
    ck_assert_int_eq(open_one(&key, "a",
                              apr_pstrcat(pool,
                                          apr_pstrndup(pool, sealed,
                                                       length / 2),
                                          "%41", sealed + length / 2 + 1,
                                          NULL),
                              &plain), APR_EINVAL);
}
END_TEST

START_TEST(open_rejects_empty_input)
{
    mto_key_t key;
    char *plain = (char *)"unchanged";

    key_fill(&key, 1);
    ck_assert_int_eq(open_one(&key, "a", "", &plain), APR_EINVAL);
    ck_assert_ptr_null(plain);
    ck_assert_int_eq(open_one(&key, "a", NULL, &plain), APR_EINVAL);
    ck_assert_int_eq(mto_open(pool, &key, 1, "a", "AAAA", 8192, NULL, NULL,
                              NULL), APR_EINVAL);
}
END_TEST

/*
 * Decodes sealed, sets its version byte unless version is negative, keeps
 * at most keep bytes and encodes the result again.
 */
static const char *sealed_edit(const char *sealed, int version,
                               apr_size_t keep)
{
    unsigned char *raw;
    apr_size_t length;

    ck_assert_int_eq(mto_base64url_decode(pool, sealed, &raw, &length),
                     APR_SUCCESS);
    if (version >= 0) {
        raw[0] = (unsigned char)version;
    }
    if (keep < length) {
        length = keep;
    }
    return mto_base64url_encode(pool, raw, length);
}

START_TEST(open_rejects_other_versions)
{
    mto_key_t key;
    const char *sealed;
    char *plain;
    int version;

    key_fill(&key, 1);
    sealed = seal_text(&key, "a", "payload");
    ck_assert_int_eq(open_one(&key, "a", sealed_edit(sealed, 1, APR_SIZE_MAX),
                              &plain), APR_SUCCESS);
    for (version = 0; version < 256; version++) {
        if (version == 1) {
            continue;
        }
        ck_assert_msg(open_one(&key, "a",
                               sealed_edit(sealed, version, APR_SIZE_MAX),
                               &plain) == APR_EINVAL,
                      "opened with version byte %d", version);
    }
}
END_TEST

START_TEST(open_rejects_short_input)
{
    mto_key_t key;
    const char *sealed;
    char *plain;
    apr_size_t keep;

    key_fill(&key, 1);
    sealed = mto_seal(pool, &key, "a", NULL, 0);
    ck_assert_ptr_nonnull(sealed);

    /* 29 bytes (version, IV, tag) is the shortest valid sealed value. */
    ck_assert_int_eq(open_one(&key, "a", sealed_edit(sealed, -1, 29), &plain),
                     APR_SUCCESS);
    for (keep = 0; keep < 29; keep++) {
        ck_assert_msg(open_one(&key, "a", sealed_edit(sealed, -1, keep),
                               &plain) == APR_EINVAL,
                      "opened %lu bytes", (unsigned long)keep);
    }
}
END_TEST

/*
 * Test case 16 of "The Galois/Counter Mode of Operation (GCM)", McGrew and
 * Viega (AES-256, 96-bit IV, 20 bytes of AAD), packed in the sealed
 * format. Opening it shows that the format is plain AES-256-GCM.
 */
START_TEST(open_accepts_gcm_spec_vector)
{
    static const char key_hex_text[] =
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    static const char iv_hex[] = "cafebabefacedbaddecaf888";
    static const char aad_hex[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    static const char plain_hex[] =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    static const char cipher_hex[] =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
    static const char tag_hex[] = "76fc6ece0f4e1768cddf8853bb2d551b";
    mto_key_t key;
    unsigned char raw[1 + 12 + 60 + 16];
    unsigned char expected[60];
    char aad[21];
    char *plain = NULL;
    apr_size_t length = 0;

    hex_decode(key_hex_text, key.bytes, sizeof(key.bytes));
    raw[0] = 0x01;
    hex_decode(iv_hex, raw + 1, 12);
    hex_decode(cipher_hex, raw + 13, 60);
    hex_decode(tag_hex, raw + 73, 16);
    hex_decode(aad_hex, (unsigned char *)aad, 20);
    aad[20] = '\0';
    hex_decode(plain_hex, expected, sizeof(expected));

    ck_assert_int_eq(mto_open(pool, &key, 1, aad,
                              mto_base64url_encode(pool, raw, sizeof(raw)),
                              8192, &plain, &length, NULL),
                     APR_SUCCESS);
    ck_assert_uint_eq(length, sizeof(expected));
    ck_assert_mem_eq(plain, expected, sizeof(expected));
}
END_TEST

/* Key derivation */

START_TEST(key_derive_deterministic)
{
    mto_key_t first;
    mto_key_t second;

    ck_assert_int_eq(mto_key_derive("correct horse battery staple", &first),
                     APR_SUCCESS);
    ck_assert_int_eq(mto_key_derive("correct horse battery staple", &second),
                     APR_SUCCESS);
    ck_assert_mem_eq(first.bytes, second.bytes, MTO_KEY_LENGTH);
}
END_TEST

START_TEST(key_derive_differs_per_passphrase)
{
    mto_key_t first;
    mto_key_t second;

    ck_assert_int_eq(mto_key_derive("correct horse battery staple", &first),
                     APR_SUCCESS);
    ck_assert_int_eq(mto_key_derive("Correct horse battery staple", &second),
                     APR_SUCCESS);
    ck_assert_int_ne(memcmp(first.bytes, second.bytes, MTO_KEY_LENGTH), 0);
}
END_TEST

/*
 * Expected keys computed with Python's hashlib.pbkdf2_hmac("sha256",
 * passphrase, b"mod_multitenant_oidc cookie key v1", 100000, 32). A change
 * of salt, iteration count or digest makes every issued cookie unreadable,
 * so this test fails on purpose when one of them changes.
 */
START_TEST(key_derive_known_answer)
{
    mto_key_t key;

    ck_assert_int_eq(mto_key_derive("correct horse battery staple", &key),
                     APR_SUCCESS);
    ck_assert_str_eq(key_hex(&key), "b321a46a67c180877764c6cfacdc1c11"
                                    "74f513da92eae0895d39ac8de6b155a5");
    ck_assert_int_eq(mto_key_derive("Correct horse battery staple", &key),
                     APR_SUCCESS);
    ck_assert_str_eq(key_hex(&key), "a82fa9edb0c9f1e75cce94fb4a80af70"
                                    "9b1189de8ac1df9faff0d6ae95c87740");
}
END_TEST

START_TEST(key_derive_rejects_empty_passphrase)
{
    mto_key_t key;

    ck_assert_int_eq(mto_key_derive("", &key), APR_EINVAL);
    ck_assert_int_eq(mto_key_derive(NULL, &key), APR_EINVAL);
    ck_assert_int_eq(mto_key_derive("secret", NULL), APR_EINVAL);
}
END_TEST

START_TEST(key_derive_then_seal_open)
{
    mto_key_t key;
    mto_key_t again;
    const char *sealed;
    char *plain;

    ck_assert_int_eq(mto_key_derive("node passphrase", &key), APR_SUCCESS);
    sealed = seal_text(&key, "a", "shared across nodes");
    /* A second node derives its own key from the same passphrase. */
    ck_assert_int_eq(mto_key_derive("node passphrase", &again), APR_SUCCESS);
    ck_assert_int_eq(open_one(&again, "a", sealed, &plain), APR_SUCCESS);
    ck_assert_str_eq(plain, "shared across nodes");
}
END_TEST

/* Random text */

static int base64url_text(const char *text)
{
    return strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_") == strlen(text);
}

START_TEST(random_text_length)
{
    apr_size_t n;

    for (n = 0; n <= 64; n++) {
        const char *text = mto_random_text(pool, n);
        apr_size_t expected = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);

        ck_assert_ptr_nonnull(text);
        ck_assert_uint_eq(strlen(text), expected);
        ck_assert_msg(base64url_text(text), "not base64url: %s", text);
    }
}
END_TEST

START_TEST(random_text_unique)
{
    apr_hash_t *seen = apr_hash_make(pool);
    int i;

    for (i = 0; i < 10000; i++) {
        const char *text = mto_random_text(pool, 16);

        ck_assert_ptr_null(apr_hash_get(seen, text, APR_HASH_KEY_STRING));
        apr_hash_set(seen, text, APR_HASH_KEY_STRING, text);
    }
    ck_assert_uint_eq(apr_hash_count(seen), 10000);
}
END_TEST

/* The same abort path as a RAND_bytes failure, which a test cannot
 * cause. */
START_TEST(random_text_aborts_on_huge_length)
{
    mto_random_text(pool, (apr_size_t)INT_MAX + 1);
}
END_TEST

/* Constant-time comparison */

START_TEST(equal_consttime_cases)
{
    ck_assert_int_eq(mto_equal_consttime("abc", "abc"), 1);
    ck_assert_int_eq(mto_equal_consttime("", ""), 1);
    ck_assert_int_eq(mto_equal_consttime("abc", "abd"), 0);
    ck_assert_int_eq(mto_equal_consttime("abc", "xbc"), 0);
    ck_assert_int_eq(mto_equal_consttime("abc", "ab"), 0);
    ck_assert_int_eq(mto_equal_consttime("ab", "abc"), 0);
    ck_assert_int_eq(mto_equal_consttime("abc", ""), 0);
    ck_assert_int_eq(mto_equal_consttime("ABC", "abc"), 0);
    ck_assert_int_eq(mto_equal_consttime(NULL, "abc"), 0);
    ck_assert_int_eq(mto_equal_consttime("abc", NULL), 0);
    ck_assert_int_eq(mto_equal_consttime(NULL, NULL), 0);
}
END_TEST

/* base64url */

/*
 * The test vectors of RFC 4648 section 10, in the url alphabet without
 * padding, and three more that use the two characters in which base64url
 * differs from base64.
 */
static const struct {
    const char *data;
    apr_size_t length;
    const char *text;
} base64url_vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xff\xbf", 3, "-_-_"},
    {"\xfb\xff", 2, "-_8"},
    {"\x00\x00\x00\xff", 4, "AAAA_w"},
};

START_TEST(base64url_encode_vectors)
{
    size_t i;

    for (i = 0; i < sizeof(base64url_vectors) / sizeof(base64url_vectors[0]);
         i++) {
        ck_assert_str_eq(mto_base64url_encode(pool, base64url_vectors[i].data,
                                              base64url_vectors[i].length),
                         base64url_vectors[i].text);
    }
}
END_TEST

START_TEST(base64url_decode_vectors)
{
    size_t i;

    for (i = 0; i < sizeof(base64url_vectors) / sizeof(base64url_vectors[0]);
         i++) {
        unsigned char *data = NULL;
        apr_size_t length = 99;

        ck_assert_int_eq(mto_base64url_decode(pool, base64url_vectors[i].text,
                                              &data, &length),
                         APR_SUCCESS);
        ck_assert_uint_eq(length, base64url_vectors[i].length);
        ck_assert_mem_eq(data, base64url_vectors[i].data, length);
        ck_assert_int_eq(data[length], '\0');
    }
}
END_TEST

START_TEST(base64url_decode_rejects_malformed)
{
    static const char *malformed[] = {
        "Zg==",         /* padding */
        "Zm8=",
        "Zg=",
        "+_8",          /* standard base64 alphabet */
        "-/8",
        "Z",            /* a single character cannot hold a byte */
        "Zm9vY",
        "Zh",           /* non-zero bits after the last byte */
        "Zm9",
        "Zm 9v",        /* white space */
        "Zm9v\n",
        "Zm9v.",
        "Zm9\x80",
    };
    size_t i;

    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        unsigned char *data;
        apr_size_t length;

        ck_assert_msg(mto_base64url_decode(pool, malformed[i], &data, &length)
                      == APR_EINVAL, "accepted \"%s\"", malformed[i]);
    }
}
END_TEST

START_TEST(base64url_round_trip_all_bytes)
{
    unsigned char bytes[256];
    unsigned char *data;
    apr_size_t length;
    apr_size_t n;
    int i;

    for (i = 0; i < 256; i++) {
        bytes[i] = (unsigned char)i;
    }
    for (n = 0; n <= sizeof(bytes); n++) {
        const char *text = mto_base64url_encode(pool, bytes, n);

        ck_assert_int_eq(mto_base64url_decode(pool, text, &data, &length),
                         APR_SUCCESS);
        ck_assert_uint_eq(length, n);
        ck_assert_mem_eq(data, bytes, n);
    }
}
END_TEST

static const char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

START_TEST(base64url_value_every_byte)
{
    int c;

    for (c = 0; c < 256; c++) {
        const char *found = c == 0 ? NULL : strchr(base64url_alphabet, c);
        int expected = found ? (int)(found - base64url_alphabet) : -1;

        ck_assert_msg(mto_base64url_value((unsigned char)c) == expected,
                      "byte 0x%02x: value %d, expected %d", c,
                      mto_base64url_value((unsigned char)c), expected);
    }
}
END_TEST

/* Puts each byte outside the alphabet at each position of a full group
 * and of two- and three-character final groups. */
START_TEST(base64url_decode_rejects_every_other_byte)
{
    static const char *const valid[] = {"Zm9vYmFy", "Zm9vYg", "Zm9vYmE"};
    size_t v;
    int c;

    for (v = 0; v < sizeof(valid) / sizeof(valid[0]); v++) {
        size_t length = strlen(valid[v]);
        size_t position;

        for (position = 0; position < length; position++) {
            for (c = 1; c < 256; c++) {
                char *text = apr_pstrdup(pool, valid[v]);
                unsigned char *data;
                apr_size_t decoded;

                if (strchr(base64url_alphabet, c) != NULL) {
                    continue;
                }
                text[position] = (char)c;
                ck_assert_msg(mto_base64url_decode(pool, text, &data,
                                                   &decoded) == APR_EINVAL,
                              "accepted byte 0x%02x at %zu of %s", c,
                              position, valid[v]);
            }
        }
    }
}
END_TEST

#define THREAD_COUNT 8
#define THREAD_ROUNDS 200

typedef struct {
    const mto_key_t *keys;      /* current key, then the earlier one */
    int failures;
} open_job;

/*
 * Seals and opens under both keys with a pool of the thread's own. The
 * first thread to reach OpenSSL fetches the cipher while the others
 * wait for it.
 */
static void *open_in_thread(void *argument)
{
    open_job *job = argument;
    apr_pool_t *thread_pool;
    int round;

    if (apr_pool_create_unmanaged(&thread_pool) != APR_SUCCESS) {
        job->failures = THREAD_ROUNDS;
        return NULL;
    }
    for (round = 0; round < THREAD_ROUNDS; round++) {
        const char *text = apr_psprintf(thread_pool, "record %d", round);
        const char *sealed = mto_seal(thread_pool, &job->keys[round % 2],
                                      "session\nacme.example.com", text,
                                      strlen(text));
        char *plain = NULL;
        int key_index = -1;

        if (sealed == NULL
            || mto_open(thread_pool, job->keys, 2,
                        "session\nacme.example.com", sealed, 8192, &plain,
                        NULL, &key_index) != APR_SUCCESS
            || strcmp(plain, text) != 0 || key_index != round % 2) {
            job->failures++;
        }
        apr_pool_clear(thread_pool);
    }
    apr_pool_destroy(thread_pool);
    return NULL;
}

START_TEST(open_from_many_threads)
{
    mto_key_t keys[2];
    open_job jobs[THREAD_COUNT];
    pthread_t threads[THREAD_COUNT];
    int i;

    key_fill(&keys[0], 3);
    key_fill(&keys[1], 4);
    for (i = 0; i < THREAD_COUNT; i++) {
        jobs[i].keys = keys;
        jobs[i].failures = 0;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, open_in_thread,
                                        &jobs[i]), 0);
    }
    for (i = 0; i < THREAD_COUNT; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(jobs[i].failures, 0);
    }
}
END_TEST

/* SHA-256 and wiping */

/* Digests of "" and "abc" from FIPS 180-2, appendix B.1. */
START_TEST(sha256_hex_vectors)
{
    ck_assert_str_eq(mto_sha256_hex(pool, ""),
                     "e3b0c44298fc1c149afbf4c8996fb924"
                     "27ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(mto_sha256_hex(pool, "abc"),
                     "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");
    ck_assert_ptr_null(mto_sha256_hex(pool, NULL));
}
END_TEST

START_TEST(wipe_zeroes_bytes)
{
    unsigned char buffer[64];
    size_t i;

    memset(buffer, 0xa5, sizeof(buffer));
    mto_wipe(buffer + 8, 32);
    for (i = 0; i < sizeof(buffer); i++) {
        int wiped = i >= 8 && i < 40;

        ck_assert_uint_eq(buffer[i], wiped ? 0x00 : 0xa5);
    }
    mto_wipe(NULL, 10);
    mto_wipe(buffer, 0);
}
END_TEST

static TCase *tcase_with_pool(const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    /* Valgrind runs these many times slower than a normal build. */
    tcase_set_timeout(tc, timeout);
    return tc;
}

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc;

    tc = tcase_with_pool("seal", 120);
    tcase_add_test(tc, seal_open_round_trip);
    tcase_add_test(tc, seal_sealed_text_size);
    tcase_add_test(tc, seal_empty_plaintext);
    tcase_add_test(tc, seal_binary_plaintext);
    tcase_add_test(tc, seal_uses_fresh_iv);
    tcase_add_test(tc, seal_rejects_bad_arguments);
    tcase_add_test(tc, open_wrong_aad_fails);
    tcase_add_test(tc, open_null_and_empty_aad_same);
    tcase_add_test(tc, open_wrong_key_fails);
    tcase_add_test(tc, open_rejects_every_single_change);
    tcase_add_test(tc, open_rejects_truncation_and_extension);
    tcase_add_test(tc, open_key_rotation_reports_index);
    tcase_add_test(tc, open_rejects_bad_key_count);
    tcase_add_test(tc, open_max_length_enforced);
    tcase_add_test(tc, open_rejects_malformed_base64url);
    tcase_add_test(tc, open_rejects_empty_input);
    tcase_add_test(tc, open_rejects_other_versions);
    tcase_add_test(tc, open_rejects_short_input);
    tcase_add_test(tc, open_accepts_gcm_spec_vector);
    tcase_add_test(tc, open_from_many_threads);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("key", 120);
    tcase_add_test(tc, key_derive_deterministic);
    tcase_add_test(tc, key_derive_differs_per_passphrase);
    tcase_add_test(tc, key_derive_known_answer);
    tcase_add_test(tc, key_derive_rejects_empty_passphrase);
    tcase_add_test(tc, key_derive_then_seal_open);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("random", 60);
    tcase_add_test(tc, random_text_length);
    tcase_add_test(tc, random_text_unique);
    tcase_add_test_raise_signal(tc, random_text_aborts_on_huge_length,
                                SIGABRT);
    tcase_add_test(tc, equal_consttime_cases);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("encoding", 60);
    tcase_add_test(tc, base64url_encode_vectors);
    tcase_add_test(tc, base64url_decode_vectors);
    tcase_add_test(tc, base64url_decode_rejects_malformed);
    tcase_add_test(tc, base64url_round_trip_all_bytes);
    tcase_add_test(tc, base64url_value_every_byte);
    tcase_add_test(tc, base64url_decode_rejects_every_other_byte);
    tcase_add_test(tc, sha256_hex_vectors);
    tcase_add_test(tc, wipe_zeroes_bytes);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *runner;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        return EXIT_FAILURE;
    }
    atexit(apr_terminate);

    runner = srunner_create(crypto_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
