/*
 * Fuzz target of the cookie decoder. Each input goes through every step:
 *
 *   - mto_open on the input as sealed text, under the fixed keys and the
 *     state and session bindings, then the decoder of that record on the
 *     opened plaintext;
 *   - mto_state_decode and mto_session_decode on the input itself. A
 *     record that decodes must encode again to the input bytes and decode
 *     to the same values;
 *   - mto_base64url_decode on the input, which accepts only canonical
 *     text, so encoding the bytes again must give the input back;
 *   - mto_seal of the input bytes: mto_open must return them byte for
 *     byte, and must reject the sealed text under another binding or with
 *     a maximum length one byte short.
 *
 * A broken property calls abort(), which libFuzzer records as a crash.
 */
#include <stdint.h>
#include <string.h>

#include "mto_crypto.h"
#include "mto_record.h"
#include "fuzz_fixture.h"
#include "fuzz_support.h"

/*
 * Maximum length of sealed text, in bytes. RFC 6265 section 6.1 says
 * browsers should store cookies of at least 4096 bytes.
 */
#define SEALED_MAX 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_state_round_trip(apr_pool_t *pool,
                                   const mto_state_t *state)
{
    const char *text = mto_state_encode(pool, state);
    mto_state_t again;
    mto_error_t err = { 0 };

    if (text == NULL) {
        fuzz_fail("mto_state_encode rejected a decoded state record");
    }
    if (mto_state_decode(pool, text, strlen(text), &again, &err)
        != APR_SUCCESS) {
        fuzz_fail("mto_state_decode rejected its own encoding: %s",
                  err.text);
    }
    if (!same_text(state->state, again.state)
        || !same_text(state->nonce, again.nonce)
        || !same_text(state->host, again.host)
        || !same_text(state->issuer, again.issuer)
        || !same_text(state->next, again.next)
        || !same_text(state->code_verifier, again.code_verifier)
        || state->created != again.created) {
        fuzz_fail("a state record changed in encode and decode");
    }
}

static void check_session_round_trip(apr_pool_t *pool,
                                     const mto_session_t *session)
{
    const char *text = mto_session_encode(pool, session);
    mto_session_t again;
    mto_error_t err = { 0 };

    if (text == NULL) {
        fuzz_fail("mto_session_encode rejected a decoded session record");
    }
    if (mto_session_decode(pool, text, strlen(text), &again, &err)
        != APR_SUCCESS) {
        fuzz_fail("mto_session_decode rejected its own encoding: %s",
                  err.text);
    }
    if (!same_text(session->id, again.id)
        || !same_text(session->user, again.user)
        || !same_text(session->sub, again.sub)
        || !same_text(session->issuer, again.issuer)
        || !same_text(session->host, again.host)
        || session->created != again.created
        || session->expires != again.expires) {
        fuzz_fail("a session record changed in encode and decode");
    }
}

/* Returns 1 when text is the size bytes at data. */
static int same_bytes(const char *text, const char *data, size_t size)
{
    return text != NULL && strlen(text) == size
           && memcmp(text, data, size) == 0;
}

/* A state record without a next path decodes with next "/", so its
 * encoding matches the input either with that next path or without. */
static void check_state_encoding(apr_pool_t *pool, mto_state_t state,
                                 const char *data, size_t size)
{
    if (same_bytes(mto_state_encode(pool, &state), data, size)) {
        return;
    }
    if (strcmp(state.next, "/") == 0) {
        state.next = NULL;
        if (same_bytes(mto_state_encode(pool, &state), data, size)) {
            return;
        }
    }
    fuzz_fail("a decoded state record encodes to other bytes");
}

/*
 * Decodes size bytes at data as a state record, or as a session record
 * when session. A record that decodes must encode to the input bytes
 * again, because every record has exactly one encoding.
 */
static void decode_record(apr_pool_t *pool, const char *data, size_t size,
                          int session)
{
    mto_state_t state;
    mto_session_t record;
    mto_error_t err = { 0 };

    if (session) {
        if (mto_session_decode(pool, data, size, &record, &err)
            == APR_SUCCESS) {
            check_session_round_trip(pool, &record);
            if (!same_bytes(mto_session_encode(pool, &record), data, size)) {
                fuzz_fail("a decoded session record encodes to other "
                          "bytes");
            }
            return;
        }
        fuzz_check_error(&err, 400, 1, "mto_session_decode");
        return;
    }
    if (mto_state_decode(pool, data, size, &state, &err) == APR_SUCCESS) {
        if (state.next == NULL) {
            fuzz_fail("a decoded state record has no next path");
        }
        check_state_round_trip(pool, &state);
        check_state_encoding(pool, state, data, size);
        return;
    }
    fuzz_check_error(&err, 400, 1, "mto_state_decode");
}

/* Opens text under one binding and decodes the plaintext it holds. */
static void open_cookie(apr_pool_t *pool, const char *text, const char *aad,
                        int session)
{
    char *plain = NULL;
    apr_size_t length = 0;
    int key_index = -1;

    if (mto_open(pool, fuzz_cookie_keys, FUZZ_COOKIE_KEY_COUNT, aad, text,
                 SEALED_MAX, &plain, &length, &key_index) != APR_SUCCESS) {
        if (plain != NULL) {
            fuzz_fail("mto_open failed but set the plaintext");
        }
        return;
    }
    if (plain == NULL || plain[length] != '\0' || key_index < 0
        || key_index >= FUZZ_COOKIE_KEY_COUNT) {
        fuzz_fail("mto_open succeeded with plaintext %p, key index %d",
                  (void *)plain, key_index);
    }
    decode_record(pool, plain, length, session);
}

/* Canonical base64url: decoding and encoding again gives the text back. */
static void check_base64url(apr_pool_t *pool, const char *text)
{
    unsigned char *bytes;
    apr_size_t length;
    const char *encoded;

    if (mto_base64url_decode(pool, text, &bytes, &length) != APR_SUCCESS) {
        return;
    }
    encoded = mto_base64url_encode(pool, bytes, length);
    if (encoded == NULL || strcmp(encoded, text) != 0) {
        fuzz_fail("base64url text decodes but encodes to other text");
    }
}

/* Seals data and checks that only the right opening returns it. */
static void check_seal_round_trip(apr_pool_t *pool, const uint8_t *data,
                                  size_t size)
{
    const char *sealed;
    char *plain = NULL;
    apr_size_t length = 0;
    int key_index = -1;

    sealed = mto_seal(pool, &fuzz_cookie_keys[0], FUZZ_STATE_AAD, data, size);
    if (sealed == NULL) {
        fuzz_fail("mto_seal failed on %zu bytes", size);
    }
    if (mto_open(pool, fuzz_cookie_keys, FUZZ_COOKIE_KEY_COUNT,
                 FUZZ_STATE_AAD, sealed, strlen(sealed), &plain, &length,
                 &key_index) != APR_SUCCESS) {
        fuzz_fail("mto_open rejected text that mto_seal made");
    }
    if (length != size || (size > 0 && memcmp(plain, data, size) != 0)
        || plain[length] != '\0' || key_index != 0) {
        fuzz_fail("mto_open returned other bytes than were sealed");
    }
    if (mto_open(pool, fuzz_cookie_keys, FUZZ_COOKIE_KEY_COUNT,
                 FUZZ_SESSION_AAD, sealed, SEALED_MAX * 4, &plain, &length,
                 &key_index) == APR_SUCCESS) {
        fuzz_fail("mto_open accepted a state cookie as a session cookie");
    }
    if (mto_open(pool, fuzz_cookie_keys, FUZZ_COOKIE_KEY_COUNT,
                 FUZZ_STATE_AAD, sealed, strlen(sealed) - 1, &plain,
                 &length, &key_index) == APR_SUCCESS) {
        fuzz_fail("mto_open accepted text longer than its maximum length");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_input_pool_create();
    char *text = fuzz_text(pool, data, size);

    open_cookie(pool, text, FUZZ_STATE_AAD, 0);
    open_cookie(pool, text, FUZZ_SESSION_AAD, 1);
    decode_record(pool, text, size, 0);
    decode_record(pool, text, size, 1);
    check_base64url(pool, text);
    check_seal_round_trip(pool, data, size);
    fuzz_input_pool_destroy(pool);
    return 0;
}
