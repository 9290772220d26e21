/*
 * Unit tests of the state and session records: round trips through the
 * encoders, and decoding of missing, mistyped, duplicated, unknown and
 * oversized members and of input that is not a JSON object.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>
#include <jansson.h>

#include "mto_record.h"

#define STRING_MAX 4096
#define INPUT_MAX 16384

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

typedef enum { RECORD_STATE, RECORD_SESSION } record_kind;

/* JSON member name, its type and whether the record requires it. */
typedef struct {
    const char *name;
    int is_string;
    int required;
} member_case;

static const member_case state_cases[] = {
    {"s", 1, 1}, {"n", 1, 1}, {"h", 1, 1}, {"i", 1, 1},
    {"r", 1, 0}, {"v", 1, 0}, {"t", 0, 1},
};

static const member_case session_cases[] = {
    {"id", 1, 1}, {"u", 1, 1}, {"sub", 1, 1}, {"i", 1, 1},
    {"h", 1, 1}, {"c", 0, 1}, {"e", 0, 1},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static mto_state_t sample_state(void)
{
    mto_state_t state;

    memset(&state, 0, sizeof(state));
    state.state = "Xy3kq0-_state";
    state.nonce = "n0nce_value";
    state.host = "acme.example.com";
    state.issuer = "https://acme.okta.example/oauth2/default";
    state.next = "/hub/spawn?profile=large&x=\"quoted\"";
    state.code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    state.created = apr_time_from_sec(1700000000);
    return state;
}

static mto_session_t sample_session(void)
{
    mto_session_t session;

    memset(&session, 0, sizeof(session));
    session.id = "sessionid-0123456789";
    session.user = "bob@acme.example.com";
    session.sub = "00u1abcd\xc3\xa9";           /* UTF-8 e acute */
    session.issuer = "https://acme.okta.example/oauth2/default";
    session.host = "acme.example.com";
    session.created = apr_time_from_sec(1700000000);
    session.expires = apr_time_from_sec(1700028800);
    return session;
}

/* Returns a jansson object of a valid record, built without the encoder. */
static json_t *sample_object(record_kind kind)
{
    json_t *object;

    if (kind == RECORD_STATE) {
        object = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                           "s", "Xy3kq0-_state", "n", "n0nce_value",
                           "h", "acme.example.com",
                           "i", "https://acme.okta.example/oauth2/default",
                           "r", "/hub/", "v", "verifier",
                           "t", (json_int_t)1700000000);
    }
    else {
        object = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
                           "id", "sessionid", "u", "bob", "sub", "00u1",
                           "i", "https://acme.okta.example/oauth2/default",
                           "h", "acme.example.com",
                           "c", (json_int_t)1700000000,
                           "e", (json_int_t)1700028800);
    }
    ck_assert_ptr_nonnull(object);
    return object;
}

/* Returns the compact JSON text of object in the pool and releases it. */
static const char *object_text(json_t *object)
{
    char *dumped = json_dumps(object, JSON_COMPACT);
    const char *text;

    ck_assert_ptr_nonnull(dumped);
    text = apr_pstrdup(pool, dumped);
    free(dumped);
    json_decref(object);
    return text;
}

static apr_status_t decode_length(record_kind kind, const char *json,
                                  apr_size_t length, mto_error_t *err)
{
    mto_state_t state;
    mto_session_t session;

    memset(err, 0, sizeof(*err));
    if (kind == RECORD_STATE) {
        return mto_state_decode(pool, json, length, &state, err);
    }
    return mto_session_decode(pool, json, length, &session, err);
}

static apr_status_t decode(record_kind kind, const char *json,
                           mto_error_t *err)
{
    return decode_length(kind, json, strlen(json), err);
}

/* Checks that json fails to decode with status 400 and a message that
 * contains expected (skipped when NULL). */
static void assert_rejected(record_kind kind, const char *json,
                            const char *expected)
{
    mto_error_t err;

    /* libcheck rejects long failure messages, so quote only the start. */
    ck_assert_msg(decode(kind, json, &err) == APR_EINVAL,
                  "accepted %.200s", json);
    ck_assert_int_eq(err.http_status, 400);
    if (expected != NULL) {
        ck_assert_msg(strstr(err.text, expected) != NULL,
                      "message \"%s\" lacks \"%s\" for %.200s", err.text,
                      expected, json);
    }
}

static const member_case *cases_of(record_kind kind, size_t *count)
{
    if (kind == RECORD_STATE) {
        *count = COUNT(state_cases);
        return state_cases;
    }
    *count = COUNT(session_cases);
    return session_cases;
}

/* Round trips */

START_TEST(state_round_trip)
{
    mto_state_t in = sample_state();
    mto_state_t out;
    mto_error_t err;
    const char *json;

    json = mto_state_encode(pool, &in);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(mto_state_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(out.state, in.state);
    ck_assert_str_eq(out.nonce, in.nonce);
    ck_assert_str_eq(out.host, in.host);
    ck_assert_str_eq(out.issuer, in.issuer);
    ck_assert_str_eq(out.next, in.next);
    ck_assert_str_eq(out.code_verifier, in.code_verifier);
    ck_assert_int_eq(out.created, in.created);
}
END_TEST

START_TEST(state_optional_members_absent)
{
    mto_state_t in = sample_state();
    mto_state_t out;
    mto_error_t err;
    const char *json;

    in.next = NULL;
    in.code_verifier = NULL;
    json = mto_state_encode(pool, &in);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(strstr(json, "\"r\""));
    ck_assert_ptr_null(strstr(json, "\"v\""));

    ck_assert_int_eq(mto_state_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(out.next, "/");
    ck_assert_ptr_null(out.code_verifier);
    ck_assert_str_eq(out.state, in.state);
}
END_TEST

START_TEST(session_round_trip)
{
    mto_session_t in = sample_session();
    mto_session_t out;
    mto_error_t err;
    const char *json;

    json = mto_session_encode(pool, &in);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(mto_session_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(out.id, in.id);
    ck_assert_str_eq(out.user, in.user);
    ck_assert_str_eq(out.sub, in.sub);
    ck_assert_str_eq(out.issuer, in.issuer);
    ck_assert_str_eq(out.host, in.host);
    ck_assert_int_eq(out.created, in.created);
    ck_assert_int_eq(out.expires, in.expires);
}
END_TEST

START_TEST(time_truncated_to_seconds)
{
    mto_session_t in = sample_session();
    mto_session_t out;
    mto_error_t err;
    const char *json;

    in.created = apr_time_from_sec(1700000000) + 999999;
    json = mto_session_encode(pool, &in);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"c\":1700000000"));
    ck_assert_int_eq(mto_session_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(out.created, apr_time_from_sec(1700000000));
}
END_TEST

START_TEST(decoded_strings_copied_to_pool)
{
    mto_session_t out;
    mto_error_t err;
    char *json = apr_pstrdup(pool, mto_session_encode(pool, &(mto_session_t){
        .id = "abc", .user = "bob", .sub = "s1", .issuer = "https://i",
        .host = "h.example", .created = 0, .expires = 0}));

    ck_assert_int_eq(mto_session_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);
    memset(json, 'x', strlen(json));
    ck_assert_str_eq(out.id, "abc");
    ck_assert_str_eq(out.user, "bob");
    ck_assert_str_eq(out.host, "h.example");
}
END_TEST

START_TEST(decode_reads_only_length_bytes)
{
    mto_state_t out;
    mto_error_t err;
    const char *json = object_text(sample_object(RECORD_STATE));
    char *padded = apr_pstrcat(pool, json, "garbage", NULL);

    ck_assert_int_eq(mto_state_decode(pool, padded, strlen(json), &out, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(mto_state_decode(pool, padded, strlen(padded), &out,
                                      &err), APR_EINVAL);
}
END_TEST

START_TEST(decode_failure_keeps_output)
{
    mto_state_t out = sample_state();
    mto_error_t err;

    ck_assert_int_eq(mto_state_decode(pool, "{}", 2, &out, &err), APR_EINVAL);
    ck_assert_str_eq(out.state, "Xy3kq0-_state");
}
END_TEST

/* Encoders */

START_TEST(encode_rejects_missing_required)
{
    mto_state_t state = sample_state();
    mto_session_t session = sample_session();

    state.nonce = NULL;
    ck_assert_ptr_null(mto_state_encode(pool, &state));
    session.sub = NULL;
    ck_assert_ptr_null(mto_session_encode(pool, &session));
    ck_assert_ptr_null(mto_state_encode(pool, NULL));
    ck_assert_ptr_null(mto_session_encode(pool, NULL));
}
END_TEST

START_TEST(encode_rejects_what_decode_rejects)
{
    mto_state_t state = sample_state();
    mto_session_t session = sample_session();
    char *long_text = apr_palloc(pool, STRING_MAX + 2);

    memset(long_text, 'a', STRING_MAX + 1);
    long_text[STRING_MAX + 1] = '\0';

    state.host = "";
    ck_assert_ptr_null(mto_state_encode(pool, &state));
    state = sample_state();
    state.issuer = long_text;
    ck_assert_ptr_null(mto_state_encode(pool, &state));
    state = sample_state();
    state.created = -1;
    ck_assert_ptr_null(mto_state_encode(pool, &state));
    state = sample_state();
    state.next = "/\xff\xfe";                    /* not UTF-8 */
    ck_assert_ptr_null(mto_state_encode(pool, &state));

    /* A string of the maximum length still encodes. */
    long_text[STRING_MAX] = '\0';
    session.user = long_text;
    ck_assert_ptr_nonnull(mto_session_encode(pool, &session));
}
END_TEST

START_TEST(encode_rejects_oversized_record)
{
    mto_session_t session = sample_session();
    mto_session_t out;
    mto_error_t err;
    char *long_text = apr_palloc(pool, STRING_MAX + 1);
    const char *json;

    memset(long_text, 'a', STRING_MAX);
    long_text[STRING_MAX] = '\0';

    /* Three strings of the maximum length still fit the input limit. */
    session.id = long_text;
    session.user = long_text;
    session.sub = long_text;
    json = mto_session_encode(pool, &session);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(mto_session_decode(pool, json, strlen(json), &out, &err),
                     APR_SUCCESS);

    /* A fourth one does not, so the encoder returns NULL. */
    session.issuer = long_text;
    ck_assert_ptr_null(mto_session_encode(pool, &session));
}
END_TEST

/* Members missing, mistyped, duplicated, unknown and oversized */

static void check_missing(record_kind kind)
{
    size_t count;
    const member_case *cases = cases_of(kind, &count);
    size_t i;

    for (i = 0; i < count; i++) {
        json_t *object = sample_object(kind);
        const char *json;
        mto_error_t err;

        ck_assert_int_eq(json_object_del(object, cases[i].name), 0);
        json = object_text(object);
        if (cases[i].required) {
            assert_rejected(kind, json,
                            apr_psprintf(pool, "member \"%s\"",
                                         cases[i].name));
            assert_rejected(kind, json, "missing");
        }
        else {
            ck_assert_msg(decode(kind, json, &err) == APR_SUCCESS,
                          "rejected %.200s: %s", json, err.text);
        }
    }
}

START_TEST(state_member_missing)
{
    check_missing(RECORD_STATE);
}
END_TEST

START_TEST(session_member_missing)
{
    check_missing(RECORD_SESSION);
}
END_TEST

static void check_wrong_types(record_kind kind)
{
    size_t count;
    const member_case *cases = cases_of(kind, &count);
    size_t i;
    size_t k;

    for (i = 0; i < count; i++) {
        json_t *wrong[] = {
            json_null(), json_true(), json_false(), json_real(1.5),
            json_array(), json_object(),
            cases[i].is_string ? json_integer(17) : json_string("17"),
        };

        for (k = 0; k < COUNT(wrong); k++) {
            json_t *object = sample_object(kind);

            ck_assert_int_eq(json_object_set_new(object, cases[i].name,
                                                 wrong[k]), 0);
            assert_rejected(kind, object_text(object),
                            apr_psprintf(pool, "member \"%s\"",
                                         cases[i].name));
        }
    }
}

START_TEST(state_member_wrong_type)
{
    check_wrong_types(RECORD_STATE);
}
END_TEST

START_TEST(session_member_wrong_type)
{
    check_wrong_types(RECORD_SESSION);
}
END_TEST

/* Inserts a second copy of each member, with a valid value, at the front
 * of the object. */
static void check_duplicates(record_kind kind)
{
    size_t count;
    const member_case *cases = cases_of(kind, &count);
    const char *json = object_text(sample_object(kind));
    size_t i;

    ck_assert_int_eq(json[0], '{');
    for (i = 0; i < count; i++) {
        const char *value = cases[i].is_string ? "\"other\"" : "1";
        const char *doubled = apr_psprintf(pool, "{\"%s\":%s,%s",
                                           cases[i].name, value, json + 1);

        assert_rejected(kind, doubled, "duplicate member");
    }
}

START_TEST(state_member_duplicated)
{
    check_duplicates(RECORD_STATE);
}
END_TEST

START_TEST(session_member_duplicated)
{
    check_duplicates(RECORD_SESSION);
}
END_TEST

START_TEST(unknown_member_rejected)
{
    json_t *object = sample_object(RECORD_STATE);

    ck_assert_int_eq(json_object_set_new(object, "x", json_string("y")), 0);
    assert_rejected(RECORD_STATE, object_text(object), "unknown member \"x\"");

    /* A member of the other record type is unknown here. */
    object = sample_object(RECORD_SESSION);
    ck_assert_int_eq(json_object_set_new(object, "n", json_string("y")), 0);
    assert_rejected(RECORD_SESSION, object_text(object),
                    "unknown member \"n\"");

    /* Member names are case-sensitive. */
    object = sample_object(RECORD_SESSION);
    ck_assert_int_eq(json_object_set_new(object, "ID", json_string("y")), 0);
    assert_rejected(RECORD_SESSION, object_text(object),
                    "unknown member \"ID\"");
}
END_TEST

START_TEST(unknown_member_name_sanitised)
{
    json_t *object = sample_object(RECORD_STATE);
    const char *long_name = "abcdefghijklmnopqrstuvwxyz0123456789";
    mto_error_t err;

    ck_assert_int_eq(json_object_set_new(object, "a\nb\"c", json_true()), 0);
    ck_assert_int_eq(decode(RECORD_STATE, object_text(object), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.text, "unknown member \"a?b?c\""));

    object = sample_object(RECORD_STATE);
    ck_assert_int_eq(json_object_set_new(object, long_name, json_true()), 0);
    ck_assert_int_eq(decode(RECORD_STATE, object_text(object), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.text, "\"abcdefghijklmnopqrstuvwxyz012345"
                                           "...\""));
}
END_TEST

static void check_string_sizes(record_kind kind)
{
    size_t count;
    const member_case *cases = cases_of(kind, &count);
    char *text = apr_palloc(pool, STRING_MAX + 2);
    size_t i;

    memset(text, 'a', STRING_MAX + 1);
    for (i = 0; i < count; i++) {
        json_t *object;
        mto_error_t err;
        const char *json;

        if (!cases[i].is_string) {
            continue;
        }

        text[STRING_MAX] = '\0';
        object = sample_object(kind);
        ck_assert_int_eq(json_object_set_new(object, cases[i].name,
                                             json_string(text)), 0);
        json = object_text(object);
        ck_assert_msg(decode(kind, json, &err) == APR_SUCCESS,
                      "rejected %d bytes in \"%s\": %s", STRING_MAX,
                      cases[i].name, err.text);

        text[STRING_MAX] = 'a';
        text[STRING_MAX + 1] = '\0';
        object = sample_object(kind);
        ck_assert_int_eq(json_object_set_new(object, cases[i].name,
                                             json_string(text)), 0);
        assert_rejected(kind, object_text(object), "longer than 4096 bytes");

        object = sample_object(kind);
        ck_assert_int_eq(json_object_set_new(object, cases[i].name,
                                             json_string("")), 0);
        assert_rejected(kind, object_text(object), "is empty");
    }
}

START_TEST(state_member_oversized)
{
    check_string_sizes(RECORD_STATE);
}
END_TEST

START_TEST(session_member_oversized)
{
    check_string_sizes(RECORD_SESSION);
}
END_TEST

/* 2049 two-byte characters are 4098 bytes, so the byte limit applies. */
START_TEST(string_limit_counts_bytes)
{
    json_t *object = sample_object(RECORD_SESSION);
    char *text = apr_palloc(pool, 2 * 2049 + 1);
    int i;

    for (i = 0; i < 2049; i++) {
        text[2 * i] = '\xc3';
        text[2 * i + 1] = '\xa9';
    }
    text[2 * 2049] = '\0';
    ck_assert_int_eq(json_object_set_new(object, "u", json_string(text)), 0);
    assert_rejected(RECORD_SESSION, object_text(object),
                    "longer than 4096 bytes");
}
END_TEST

START_TEST(string_with_nul_rejected)
{
    json_t *object = sample_object(RECORD_STATE);
    const char *json;
    char *raw;
    mto_error_t err;

    /* Escaped NUL. */
    ck_assert_int_eq(json_object_set_new(object, "n",
                                         json_stringn("a\0b", 3)), 0);
    json = object_text(object);
    ck_assert_ptr_nonnull(strstr(json, "\\u0000"));
    assert_rejected(RECORD_STATE, json, "NUL");

    /* Raw NUL byte inside the input. */
    json = object_text(sample_object(RECORD_STATE));
    raw = apr_pstrdup(pool, json);
    raw[strstr(raw, "Xy3k") - raw + 1] = '\0';
    ck_assert_int_eq(decode_length(RECORD_STATE, raw, strlen(json), &err),
                     APR_EINVAL);
    ck_assert_int_eq(err.http_status, 400);
}
END_TEST

START_TEST(time_out_of_range)
{
    static const char *bad_times[] = {
        "-1",
        "9223372036855",            /* seconds that overflow apr_time_t */
        "9223372036854775807",
        "99999999999999999999",     /* beyond any integer jansson reads */
        "1e3",
        "1700000000.0",
    };
    size_t i;

    for (i = 0; i < COUNT(bad_times); i++) {
        json_t *object = sample_object(RECORD_SESSION);
        const char *json;

        json_object_del(object, "e");
        json = object_text(object);
        json = apr_psprintf(pool, "%.*s,\"e\":%s}", (int)strlen(json) - 1,
                            json, bad_times[i]);
        assert_rejected(RECORD_SESSION, json, NULL);
    }
}
END_TEST

START_TEST(time_limits_accepted)
{
    static const char *good_times[] = {"0", "9223372036854"};
    mto_session_t out;
    mto_error_t err;
    size_t i;

    for (i = 0; i < COUNT(good_times); i++) {
        json_t *object = sample_object(RECORD_SESSION);
        const char *json;

        json_object_del(object, "e");
        json = object_text(object);
        json = apr_psprintf(pool, "%.*s,\"e\":%s}", (int)strlen(json) - 1,
                            json, good_times[i]);
        ck_assert_msg(mto_session_decode(pool, json, strlen(json), &out, &err)
                      == APR_SUCCESS, "rejected %s: %s", json, err.text);
        ck_assert_int_eq(apr_time_sec(out.expires),
                         apr_atoi64(good_times[i]));
    }
}
END_TEST

/* Input that is not a record */

START_TEST(non_json_input_rejected)
{
    static const char *inputs[] = {
        "not json",
        "{",
        "{\"s\":",
        "{\"s\":\"abc\"",
        "{'s':'abc'}",
        "[]",
        "\"s\"",
        "17",
        "null",
        "{\"s\":\"abc\"}}",
        "{\"s\":\"abc\",}",
    };
    size_t i;

    for (i = 0; i < COUNT(inputs); i++) {
        assert_rejected(RECORD_STATE, inputs[i], "invalid state record");
        assert_rejected(RECORD_SESSION, inputs[i], "invalid session record");
    }
    assert_rejected(RECORD_STATE, "[]", "not a JSON object");
    assert_rejected(RECORD_SESSION, "[{\"id\":\"x\"}]", "not a JSON object");
}
END_TEST

START_TEST(trailing_data_rejected)
{
    const char *json = object_text(sample_object(RECORD_STATE));

    assert_rejected(RECORD_STATE, apr_pstrcat(pool, json, "{}", NULL),
                    "data after the JSON value");
    assert_rejected(RECORD_STATE, apr_pstrcat(pool, json, "x", NULL), NULL);
}
END_TEST

START_TEST(empty_input_rejected)
{
    mto_error_t err;
    mto_state_t state;

    assert_rejected(RECORD_STATE, "", "empty");
    assert_rejected(RECORD_SESSION, "", "empty");
    assert_rejected(RECORD_STATE, "   ", NULL);
    ck_assert_int_eq(mto_state_decode(pool, NULL, 10, &state, &err),
                     APR_EINVAL);
    ck_assert_int_eq(err.http_status, 400);
}
END_TEST

START_TEST(invalid_utf8_rejected)
{
    assert_rejected(RECORD_STATE,
                    "{\"s\":\"\xff\",\"n\":\"n\",\"h\":\"h\",\"i\":\"i\","
                    "\"t\":1}", "UTF-8");
}
END_TEST

/* The input limit applies to the raw bytes, white space included. */
START_TEST(input_size_limit)
{
    const char *json = object_text(sample_object(RECORD_STATE));
    apr_size_t length = strlen(json);
    char *padded = apr_palloc(pool, INPUT_MAX + 2);
    mto_error_t err;

    memcpy(padded, json, length);
    memset(padded + length, ' ', INPUT_MAX + 1 - length);
    padded[INPUT_MAX + 1] = '\0';

    ck_assert_int_eq(decode_length(RECORD_STATE, padded, INPUT_MAX, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(decode_length(RECORD_STATE, padded, INPUT_MAX + 1, &err),
                     APR_EINVAL);
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_ptr_nonnull(strstr(err.text, "16385 bytes"));
}
END_TEST

/* Error messages never quote member values, which may be secrets. */
START_TEST(error_text_omits_values)
{
    static const char secret[] = "SECRETSESSIONID";
    const char *inputs[] = {
        apr_psprintf(pool, "{\"id\":\"%s\" x}", secret),
        apr_psprintf(pool, "{\"id\":\"%s\\u0000\"}", secret),
        apr_psprintf(pool, "{\"id\":\"%s\\q\"}", secret),
        apr_psprintf(pool, "{\"id\":\"%s\",\"id\":\"%s\"}", secret, secret),
    };
    size_t i;

    for (i = 0; i < COUNT(inputs); i++) {
        mto_error_t err;

        ck_assert_int_eq(decode(RECORD_SESSION, inputs[i], &err), APR_EINVAL);
        ck_assert_msg(strstr(err.text, "SECRET") == NULL,
                      "message quotes a value: %s", err.text);
    }
}
END_TEST

static TCase *tcase_with_pool(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    /* Valgrind runs these many times slower than a normal build. */
    tcase_set_timeout(tc, 60);
    return tc;
}

static Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc;

    tc = tcase_with_pool("round trip");
    tcase_add_test(tc, state_round_trip);
    tcase_add_test(tc, state_optional_members_absent);
    tcase_add_test(tc, session_round_trip);
    tcase_add_test(tc, time_truncated_to_seconds);
    tcase_add_test(tc, decoded_strings_copied_to_pool);
    tcase_add_test(tc, decode_reads_only_length_bytes);
    tcase_add_test(tc, decode_failure_keeps_output);
    tcase_add_test(tc, encode_rejects_missing_required);
    tcase_add_test(tc, encode_rejects_what_decode_rejects);
    tcase_add_test(tc, encode_rejects_oversized_record);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("members");
    tcase_add_test(tc, state_member_missing);
    tcase_add_test(tc, session_member_missing);
    tcase_add_test(tc, state_member_wrong_type);
    tcase_add_test(tc, session_member_wrong_type);
    tcase_add_test(tc, state_member_duplicated);
    tcase_add_test(tc, session_member_duplicated);
    tcase_add_test(tc, unknown_member_rejected);
    tcase_add_test(tc, unknown_member_name_sanitised);
    tcase_add_test(tc, state_member_oversized);
    tcase_add_test(tc, session_member_oversized);
    tcase_add_test(tc, string_limit_counts_bytes);
    tcase_add_test(tc, string_with_nul_rejected);
    tcase_add_test(tc, time_out_of_range);
    tcase_add_test(tc, time_limits_accepted);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("input");
    tcase_add_test(tc, non_json_input_rejected);
    tcase_add_test(tc, trailing_data_rejected);
    tcase_add_test(tc, empty_input_rejected);
    tcase_add_test(tc, invalid_utf8_rejected);
    tcase_add_test(tc, input_size_limit);
    tcase_add_test(tc, error_text_omits_values);
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

    runner = srunner_create(record_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
