/*
 * Unit tests of the state and session records: round trips through the
 * encoders, the exact encoding, and decoding of truncated, overrunning,
 * malformed, oversized and out-of-range members, of other kinds and
 * versions, and of bytes after the last member.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <check.h>

#include "mto_record.h"

#define STRING_MAX 4096
#define INPUT_MAX 16384
#define SECONDS_MAX "9223372036854"

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

#define MEMBER_COUNT 7

/* Field name of a member, its type and whether the record requires it. */
typedef struct {
    const char *field;
    int is_string;
    int required;
} member_case;

static const member_case state_cases[MEMBER_COUNT] = {
    {"state", 1, 1}, {"nonce", 1, 1}, {"host", 1, 1}, {"issuer", 1, 1},
    {"next", 1, 0}, {"code_verifier", 1, 0}, {"created", 0, 1},
};

static const member_case session_cases[MEMBER_COUNT] = {
    {"id", 1, 1}, {"user", 1, 1}, {"sub", 1, 1}, {"issuer", 1, 1},
    {"host", 1, 1}, {"created", 0, 1}, {"expires", 0, 1},
};

/* Encoded members of a valid record, written by hand in member order. */
static const char *const state_parts[MEMBER_COUNT] = {
    "13:Xy3kq0-_state,", "11:n0nce_value,", "16:acme.example.com,",
    "40:https://acme.okta.example/oauth2/default,", "5:/hub/,",
    "8:verifier,", "1700000000,",
};

static const char *const session_parts[MEMBER_COUNT] = {
    "9:sessionid,", "3:bob,", "4:00u1,",
    "40:https://acme.okta.example/oauth2/default,",
    "16:acme.example.com,", "1700000000,", "1700028800,",
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
    state.next = "/hub/spawn?profile=large&x=\"quoted\",y:1";
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

static const char *tag_of(record_kind kind)
{
    return kind == RECORD_STATE ? "st1," : "se1,";
}

static const char *kind_name(record_kind kind)
{
    return kind == RECORD_STATE ? "state record" : "session record";
}

static const member_case *cases_of(record_kind kind)
{
    return kind == RECORD_STATE ? state_cases : session_cases;
}

/*
 * Returns the text of a valid record of kind with member index replaced
 * by replacement, which is an encoded member such as "3:abc,", or left
 * out when replacement is NULL. An index of -1 changes nothing.
 */
static const char *record_with(record_kind kind, int index,
                               const char *replacement)
{
    const char *const *parts =
        kind == RECORD_STATE ? state_parts : session_parts;
    const char *text = tag_of(kind);
    int i;

    for (i = 0; i < MEMBER_COUNT; i++) {
        const char *part = i == index ? replacement : parts[i];

        if (part != NULL) {
            text = apr_pstrcat(pool, text, part, NULL);
        }
    }
    return text;
}

static const char *sample_text(record_kind kind)
{
    return record_with(kind, -1, NULL);
}

/* Returns an encoded string member of length bytes of c. */
static const char *string_part(apr_size_t length, char c)
{
    char *bytes = apr_palloc(pool, length + 1);

    memset(bytes, c, length);
    bytes[length] = '\0';
    return apr_psprintf(pool, "%" APR_SIZE_T_FMT ":%s,", length, bytes);
}

/* Decodes exactly length bytes, copied into a buffer of that size with
 * no terminating NUL, so a read past the end shows under valgrind. */
static apr_status_t decode_length(record_kind kind, const char *text,
                                  apr_size_t length, mto_error_t *err)
{
    mto_state_t state;
    mto_session_t session;
    char *exact = malloc(length > 0 ? length : 1);
    apr_status_t status;

    ck_assert_ptr_nonnull(exact);
    memcpy(exact, text, length);
    memset(err, 0, sizeof(*err));
    if (kind == RECORD_STATE) {
        status = mto_state_decode(pool, exact, length, &state, err);
    }
    else {
        status = mto_session_decode(pool, exact, length, &session, err);
    }
    free(exact);
    return status;
}

static apr_status_t decode(record_kind kind, const char *text,
                           mto_error_t *err)
{
    return decode_length(kind, text, strlen(text), err);
}

/* Checks that length bytes of text fail to decode with status 400 and a
 * message that names the kind and contains expected (skipped when NULL). */
static void assert_rejected_length(record_kind kind, const char *text,
                                   apr_size_t length, const char *expected)
{
    mto_error_t err;

    /* libcheck rejects long failure messages, so quote only the start. */
    ck_assert_msg(decode_length(kind, text, length, &err) == APR_EINVAL,
                  "accepted %.*s", (int)(length < 200 ? length : 200), text);
    ck_assert_int_eq(err.http_status, 400);
    ck_assert_msg(strstr(err.text, kind_name(kind)) != NULL,
                  "message \"%s\" does not name the %s", err.text,
                  kind_name(kind));
    if (expected != NULL) {
        ck_assert_msg(strstr(err.text, expected) != NULL,
                      "message \"%s\" lacks \"%s\" for %.200s", err.text,
                      expected, text);
    }
}

static void assert_rejected(record_kind kind, const char *text,
                            const char *expected)
{
    assert_rejected_length(kind, text, strlen(text), expected);
}

static void assert_accepted(record_kind kind, const char *text)
{
    mto_error_t err;

    ck_assert_msg(decode(kind, text, &err) == APR_SUCCESS,
                  "rejected %.200s: %s", text, err.text);
}

/* The field name in the form the error messages quote it. */
static const char *field_quoted(record_kind kind, int index)
{
    return apr_psprintf(pool, "field \"%s\"", cases_of(kind)[index].field);
}

/* Round trips */

START_TEST(state_round_trip)
{
    mto_state_t in = sample_state();
    mto_state_t out;
    mto_error_t err;
    const char *text;

    text = mto_state_encode(pool, &in);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(mto_state_decode(pool, text, strlen(text), &out, &err),
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
    const char *text;

    in.next = NULL;
    in.code_verifier = NULL;
    text = mto_state_encode(pool, &in);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, ",-,-,1700000000,"));

    ck_assert_int_eq(mto_state_decode(pool, text, strlen(text), &out, &err),
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
    const char *text;

    text = mto_session_encode(pool, &in);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(mto_session_decode(pool, text, strlen(text), &out,
                                        &err), APR_SUCCESS);
    ck_assert_str_eq(out.id, in.id);
    ck_assert_str_eq(out.user, in.user);
    ck_assert_str_eq(out.sub, in.sub);
    ck_assert_str_eq(out.issuer, in.issuer);
    ck_assert_str_eq(out.host, in.host);
    ck_assert_int_eq(out.created, in.created);
    ck_assert_int_eq(out.expires, in.expires);
}
END_TEST

/* The encoding is pinned, so a change to the format shows here first. */
START_TEST(session_encoding_exact)
{
    mto_session_t in = sample_session();

    in.id = "sessionid";
    in.user = "bob";
    in.sub = "00u1";
    ck_assert_str_eq(mto_session_encode(pool, &in),
                     sample_text(RECORD_SESSION));
}
END_TEST

START_TEST(state_encoding_exact)
{
    mto_state_t in = sample_state();

    in.next = "/hub/";
    in.code_verifier = "verifier";
    ck_assert_str_eq(mto_state_encode(pool, &in), sample_text(RECORD_STATE));
}
END_TEST

/* Each string member at the maximum length, one at a time. */
START_TEST(longest_strings_round_trip)
{
    char *longest = apr_palloc(pool, STRING_MAX + 1);
    mto_error_t err;
    int i;

    memset(longest, 'a', STRING_MAX);
    longest[STRING_MAX] = '\0';
    for (i = 0; i < MEMBER_COUNT; i++) {
        mto_state_t state = sample_state();
        mto_session_t session = sample_session();
        mto_state_t state_out;
        mto_session_t session_out;
        const char **state_fields[] = {
            &state.state, &state.nonce, &state.host, &state.issuer,
            &state.next, &state.code_verifier, NULL,
        };
        const char **session_fields[] = {
            &session.id, &session.user, &session.sub, &session.issuer,
            &session.host, NULL, NULL,
        };
        const char *text;

        if (state_fields[i] != NULL) {
            *state_fields[i] = longest;
            text = mto_state_encode(pool, &state);
            ck_assert_ptr_nonnull(text);
            ck_assert_int_eq(mto_state_decode(pool, text, strlen(text),
                                              &state_out, &err),
                             APR_SUCCESS);
            ck_assert_str_eq(*(const char **)((char *)&state_out
                                              + ((char *)state_fields[i]
                                                 - (char *)&state)),
                             longest);
        }
        if (session_fields[i] != NULL) {
            *session_fields[i] = longest;
            text = mto_session_encode(pool, &session);
            ck_assert_ptr_nonnull(text);
            ck_assert_int_eq(mto_session_decode(pool, text, strlen(text),
                                                &session_out, &err),
                             APR_SUCCESS);
            ck_assert_str_eq(*(const char **)((char *)&session_out
                                              + ((char *)session_fields[i]
                                                 - (char *)&session)),
                             longest);
        }
    }
}
END_TEST

START_TEST(time_truncated_to_seconds)
{
    mto_session_t in = sample_session();
    mto_session_t out;
    mto_error_t err;
    const char *text;

    in.created = apr_time_from_sec(1700000000) + 999999;
    text = mto_session_encode(pool, &in);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, ",1700000000,"));
    ck_assert_int_eq(mto_session_decode(pool, text, strlen(text), &out,
                                        &err), APR_SUCCESS);
    ck_assert_int_eq(out.created, apr_time_from_sec(1700000000));
}
END_TEST

START_TEST(decoded_strings_copied_to_pool)
{
    mto_session_t out;
    mto_error_t err;
    char *text = apr_pstrdup(pool, mto_session_encode(pool, &(mto_session_t){
        .id = "abc", .user = "bob", .sub = "s1", .issuer = "https://i",
        .host = "h.example", .created = 0, .expires = 0}));

    ck_assert_int_eq(mto_session_decode(pool, text, strlen(text), &out,
                                        &err), APR_SUCCESS);
    memset(text, 'x', strlen(text));
    ck_assert_str_eq(out.id, "abc");
    ck_assert_str_eq(out.user, "bob");
    ck_assert_str_eq(out.host, "h.example");
    ck_assert_int_eq(out.created, 0);
}
END_TEST

START_TEST(decode_reads_only_length_bytes)
{
    mto_state_t out;
    mto_error_t err;
    const char *text = sample_text(RECORD_STATE);
    char *padded = apr_pstrcat(pool, text, "garbage", NULL);

    ck_assert_int_eq(mto_state_decode(pool, padded, strlen(text), &out,
                                      &err), APR_SUCCESS);
    ck_assert_str_eq(out.code_verifier, "verifier");
    ck_assert_int_eq(mto_state_decode(pool, padded, strlen(padded), &out,
                                      &err), APR_EINVAL);

    /* A buffer of exactly the record's length, without a NUL. */
    ck_assert_int_eq(decode_length(RECORD_STATE, text, strlen(text), &err),
                     APR_SUCCESS);
}
END_TEST

START_TEST(decode_failure_keeps_output)
{
    mto_state_t out = sample_state();
    mto_error_t err;
    const char *text = record_with(RECORD_STATE, 6, "x,");

    ck_assert_int_eq(mto_state_decode(pool, text, strlen(text), &out, &err),
                     APR_EINVAL);
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
    state = sample_state();
    state.code_verifier = "\xc3";                /* incomplete UTF-8 */
    ck_assert_ptr_null(mto_state_encode(pool, &state));
}
END_TEST

START_TEST(encode_rejects_oversized_record)
{
    mto_session_t session = sample_session();
    mto_session_t out;
    mto_error_t err;
    char *long_text = apr_palloc(pool, STRING_MAX + 1);
    const char *text;

    memset(long_text, 'a', STRING_MAX);
    long_text[STRING_MAX] = '\0';

    /* Three strings of the maximum length still fit the input limit. */
    session.id = long_text;
    session.user = long_text;
    session.sub = long_text;
    text = mto_session_encode(pool, &session);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(mto_session_decode(pool, text, strlen(text), &out,
                                        &err), APR_SUCCESS);

    /* A fourth one does not, so the encoder returns NULL. */
    session.issuer = long_text;
    ck_assert_ptr_null(mto_session_encode(pool, &session));
}
END_TEST

/* A record of exactly INPUT_MAX bytes decodes, and one byte more fails
 * in both directions. */
START_TEST(input_size_limit)
{
    mto_session_t session = sample_session();
    char *long_text = apr_palloc(pool, STRING_MAX + 1);
    char *issuer = apr_palloc(pool, STRING_MAX + 1);
    apr_size_t issuer_length = 1000;
    const char *text;

    memset(long_text, 'a', STRING_MAX);
    long_text[STRING_MAX] = '\0';
    memset(issuer, 'i', STRING_MAX);
    session.id = long_text;
    session.user = long_text;
    session.sub = long_text;

    /* Any issuer of four-digit length moves the total one for one. */
    issuer[issuer_length] = '\0';
    session.issuer = issuer;
    text = mto_session_encode(pool, &session);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_lt(strlen(text), INPUT_MAX);
    issuer[issuer_length] = 'i';
    issuer_length += INPUT_MAX - strlen(text);
    ck_assert_uint_le(issuer_length, STRING_MAX);
    issuer[issuer_length] = '\0';

    text = mto_session_encode(pool, &session);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), INPUT_MAX);
    assert_accepted(RECORD_SESSION, text);
    assert_rejected_length(RECORD_SESSION,
                           apr_pstrcat(pool, text, ",", NULL), INPUT_MAX + 1,
                           "16385 bytes");

    issuer[issuer_length] = 'i';
    issuer[issuer_length + 1] = '\0';
    ck_assert_ptr_null(mto_session_encode(pool, &session));
}
END_TEST

/* Truncation and trailing bytes */

static void check_every_truncation(record_kind kind, const char *text)
{
    apr_size_t length = strlen(text);
    apr_size_t cut;

    assert_accepted(kind, text);
    for (cut = 1; cut < length; cut++) {
        assert_rejected_length(kind, text, cut, NULL);
    }
}

START_TEST(state_every_truncation_rejected)
{
    check_every_truncation(RECORD_STATE, sample_text(RECORD_STATE));
    check_every_truncation(RECORD_STATE, record_with(RECORD_STATE, 4, "-,"));
}
END_TEST

START_TEST(session_every_truncation_rejected)
{
    check_every_truncation(RECORD_SESSION, sample_text(RECORD_SESSION));
}
END_TEST

/* Cutting a record at the end of a member leaves the next one missing. */
START_TEST(truncation_names_missing_field)
{
    const char *text = tag_of(RECORD_SESSION);
    int i;

    for (i = 0; i < MEMBER_COUNT; i++) {
        assert_rejected(RECORD_SESSION, text, field_quoted(RECORD_SESSION, i));
        assert_rejected(RECORD_SESSION, text, "is missing");
        text = apr_pstrcat(pool, text, session_parts[i], NULL);
    }
    assert_accepted(RECORD_SESSION, text);
}
END_TEST

START_TEST(trailing_data_rejected)
{
    const char *text = sample_text(RECORD_STATE);

    assert_rejected(RECORD_STATE, apr_pstrcat(pool, text, "x", NULL),
                    "data after the last field");
    assert_rejected(RECORD_STATE, apr_pstrcat(pool, text, ",", NULL),
                    "data after the last field");
    assert_rejected(RECORD_STATE, apr_pstrcat(pool, text, "3:abc,", NULL),
                    "data after the last field");
    assert_rejected(RECORD_SESSION,
                    apr_pstrcat(pool, sample_text(RECORD_SESSION), "\n",
                                NULL), "data after the last field");
}
END_TEST

/* Tags, versions and kinds */

START_TEST(unknown_version_rejected)
{
    static const char *const tags[] = {
        "se2,", "se0,", "se1;", "SE1,", "se,", "s1,", "se11,", "{", " se1,",
    };
    const char *body = sample_text(RECORD_SESSION) + 4;
    size_t i;

    for (i = 0; i < COUNT(tags); i++) {
        assert_rejected(RECORD_SESSION, apr_pstrcat(pool, tags[i], body, NULL),
                        "unknown format or version");
    }
    assert_rejected(RECORD_SESSION, "se", "unknown format or version");
}
END_TEST

START_TEST(other_kind_rejected)
{
    assert_rejected(RECORD_SESSION, sample_text(RECORD_STATE),
                    "unknown format or version");
    assert_rejected(RECORD_STATE, sample_text(RECORD_SESSION),
                    "unknown format or version");
}
END_TEST

/* The records that jansson wrote before this format are rejected. */
START_TEST(json_record_rejected)
{
    assert_rejected(RECORD_SESSION,
                    "{\"id\":\"i\",\"u\":\"u\",\"sub\":\"s\",\"i\":\"x\","
                    "\"h\":\"h\",\"c\":0,\"e\":1}",
                    "unknown format or version");
}
END_TEST

START_TEST(empty_input_rejected)
{
    mto_error_t err;
    mto_state_t state;

    assert_rejected(RECORD_STATE, "", "empty");
    assert_rejected(RECORD_SESSION, "", "empty");
    ck_assert_int_eq(mto_state_decode(pool, NULL, 10, &state, &err),
                     APR_EINVAL);
    ck_assert_int_eq(err.http_status, 400);
}
END_TEST

/* Members missing and malformed */

static void check_missing(record_kind kind)
{
    const member_case *cases = cases_of(kind);
    int i;

    for (i = 0; i < MEMBER_COUNT; i++) {
        const char *text = record_with(kind, i, "-,");

        if (!cases[i].is_string) {
            assert_rejected(kind, text, field_quoted(kind, i));
        }
        else if (cases[i].required) {
            assert_rejected(kind, text, field_quoted(kind, i));
            assert_rejected(kind, text, "is missing");
        }
        else {
            assert_accepted(kind, text);
        }

        /* Leaving the member out shifts the others by one place. */
        assert_rejected(kind, record_with(kind, i, NULL), NULL);
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

START_TEST(absent_marker_malformed)
{
    assert_rejected(RECORD_STATE, record_with(RECORD_STATE, 4, "-x,"),
                    "invalid absent marker");
    assert_rejected(RECORD_STATE, record_with(RECORD_STATE, 4, "--,"),
                    "invalid absent marker");
    assert_rejected(RECORD_STATE, record_with(RECORD_STATE, 4, "-5:/hub/,"),
                    "invalid absent marker");
    assert_rejected(RECORD_STATE,
                    apr_pstrcat(pool, "st1,", state_parts[0], state_parts[1],
                                state_parts[2], state_parts[3],
                                state_parts[4], "-", NULL),
                    "invalid absent marker");
}
END_TEST

/* A string where a time belongs, and a time where a string belongs. */
static void check_wrong_types(record_kind kind)
{
    const member_case *cases = cases_of(kind);
    int i;

    for (i = 0; i < MEMBER_COUNT; i++) {
        const char *wrong = cases[i].is_string ? "1700000000," : "3:abc,";

        assert_rejected(kind, record_with(kind, i, wrong),
                        field_quoted(kind, i));
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

START_TEST(length_overruns_input)
{
    const char *text = apr_pstrcat(pool, "se1,", "9:sessionid,", "3:bob,",
                                   "4:00u1,", "100:https://i,", NULL);

    assert_rejected(RECORD_SESSION, text, "field \"issuer\"");
    assert_rejected(RECORD_SESSION, text, "runs past the end of the input");

    /* The length counts the ',' as a string byte: one too many. */
    assert_rejected(RECORD_SESSION, "se1,10:sessionid,",
                    "runs past the end of the input");

    /* Digits up to the end of the input. */
    assert_rejected(RECORD_SESSION, "se1,9", "runs past the end");
    assert_rejected(RECORD_SESSION,
                    apr_pstrcat(pool, record_with(RECORD_SESSION, 6, NULL),
                                "1700028800", NULL), "runs past the end");
}
END_TEST

START_TEST(length_wrong_by_one_rejected)
{
    /* One short: the byte after the string is not ','. */
    assert_rejected(RECORD_SESSION, record_with(RECORD_SESSION, 0,
                                                "8:sessionid,"),
                    "does not end with ','");
    /* One long: the ',' is read as a string byte. */
    assert_rejected(RECORD_SESSION, record_with(RECORD_SESSION, 1, "4:bob,"),
                    "field \"user\"");
}
END_TEST

START_TEST(length_form_rejected)
{
    static const struct {
        const char *part;
        const char *expected;
    } cases[] = {
        {"09:sessionid,", "leading zero"},
        {"009:sessionid,", "leading zero"},
        {"0:,", "is empty"},
        {"00:,", "leading zero"},
        {"+9:sessionid,", "has no length"},
        {" 9:sessionid,", "has no length"},
        {"x:sessionid,", "has no length"},
        {":sessionid,", "has no length"},
        {"9sessionid,", "no ':' after its length"},
        {"9;sessionid,", "no ':' after its length"},
        {"9:sessionid;", "does not end with ','"},
        {"4097:a,", "longer than 4096 bytes"},
        {"10000:a,", "longer than 4096 bytes"},
        {"99999999999999999999:a,", "longer than 4096 bytes"},
    };
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        const char *text = record_with(RECORD_SESSION, 0, cases[i].part);

        assert_rejected(RECORD_SESSION, text, "field \"id\"");
        assert_rejected(RECORD_SESSION, text, cases[i].expected);
    }

    /* A required string given as the absent marker with a sign. */
    assert_rejected(RECORD_SESSION, record_with(RECORD_SESSION, 0,
                                                "-9:sessionid,"),
                    "is missing");
}
END_TEST

static void check_string_sizes(record_kind kind)
{
    const member_case *cases = cases_of(kind);
    int i;

    for (i = 0; i < MEMBER_COUNT; i++) {
        if (!cases[i].is_string) {
            continue;
        }
        assert_accepted(kind, record_with(kind, i,
                                          string_part(STRING_MAX, 'a')));
        assert_accepted(kind, record_with(kind, i, string_part(1, 'a')));
        assert_rejected(kind, record_with(kind, i,
                                          string_part(STRING_MAX + 1, 'a')),
                        "longer than 4096 bytes");
        assert_rejected(kind, record_with(kind, i, "0:,"), "is empty");
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

START_TEST(string_with_nul_rejected)
{
    const char *text = record_with(RECORD_STATE, 1, "3:a?b,");
    char *raw = apr_pstrdup(pool, text);
    apr_size_t length = strlen(text);

    raw[strstr(raw, "a?b") - raw + 1] = '\0';
    assert_rejected_length(RECORD_STATE, raw, length, "field \"nonce\"");
    assert_rejected_length(RECORD_STATE, raw, length, "NUL character");

    /* A NUL in place of the ',' after a string. */
    raw = apr_pstrdup(pool, text);
    raw[strstr(raw, "a?b") - raw + 3] = '\0';
    assert_rejected_length(RECORD_STATE, raw, length,
                           "does not end with ','");
}
END_TEST

/* Every byte value but NUL passes inside a string, when it is UTF-8. */
START_TEST(string_bytes_kept_exactly)
{
    mto_session_t out;
    mto_error_t err;
    char ascii[128];
    const char *text;
    int i;

    for (i = 1; i < 128; i++) {
        ascii[i - 1] = (char)i;
    }
    ascii[127] = '\0';
    text = record_with(RECORD_SESSION, 2,
                       apr_psprintf(pool, "127:%s,", ascii));
    ck_assert_int_eq(mto_session_decode(pool, text, strlen(text), &out,
                                        &err), APR_SUCCESS);
    ck_assert_str_eq(out.sub, ascii);
    ck_assert_str_eq(out.issuer, "https://acme.okta.example/oauth2/default");
}
END_TEST

START_TEST(invalid_utf8_rejected)
{
    static const char *const invalid[] = {
        "\xff", "\x80", "\xc3", "a\xc3", "\xc0\xaf", "\xc1\xbf",
        "\xe0\x80\xaf", "\xed\xa0\x80", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\xe2\x82", "\xe2\x28\xa1",
        "abcdefgh\xc3(ijklmnop",
    };
    static const char *const valid[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
        "\xed\x9f\xbf", "abcdefghijklmno\xc3\xa9pqrstuvwxyz",
    };
    size_t i;

    for (i = 0; i < COUNT(invalid); i++) {
        const char *part = apr_psprintf(pool, "%" APR_SIZE_T_FMT ":%s,",
                                        strlen(invalid[i]), invalid[i]);

        assert_rejected(RECORD_SESSION, record_with(RECORD_SESSION, 1, part),
                        "is not valid UTF-8");
    }
    for (i = 0; i < COUNT(valid); i++) {
        const char *part = apr_psprintf(pool, "%" APR_SIZE_T_FMT ":%s,",
                                        strlen(valid[i]), valid[i]);

        assert_accepted(RECORD_SESSION, record_with(RECORD_SESSION, 1, part));
    }
}
END_TEST

START_TEST(time_out_of_range)
{
    static const char *const bad_times[] = {
        "-1,",
        "+1,",
        "9223372036855,",           /* seconds that overflow apr_time_t */
        "9999999999999,",
        "10000000000000,",
        "9223372036854775807,",
        "99999999999999999999,",
        "1e3,",
        "1700000000.0,",
        " 1,",
        ",",
        "01700000000,",
        "00,",
        "1700000000;",
    };
    size_t i;

    for (i = 0; i < COUNT(bad_times); i++) {
        const char *text = record_with(RECORD_SESSION, 6, bad_times[i]);

        assert_rejected(RECORD_SESSION, text, "field \"expires\"");
    }
    assert_rejected(RECORD_SESSION,
                    record_with(RECORD_SESSION, 6, "9223372036855,"),
                    "out of range (0 to " SECONDS_MAX " seconds)");
    assert_rejected(RECORD_SESSION,
                    record_with(RECORD_SESSION, 6, "01700000000,"),
                    "leading zero");
}
END_TEST

START_TEST(time_limits_accepted)
{
    static const char *const good_times[] = {"0", "1", SECONDS_MAX};
    mto_session_t out;
    mto_error_t err;
    size_t i;

    for (i = 0; i < COUNT(good_times); i++) {
        const char *text = record_with(RECORD_SESSION, 6,
                                       apr_pstrcat(pool, good_times[i], ",",
                                                   NULL));

        ck_assert_msg(mto_session_decode(pool, text, strlen(text), &out,
                                         &err) == APR_SUCCESS,
                      "rejected %s: %s", text, err.text);
        ck_assert_int_eq(apr_time_sec(out.expires),
                         apr_atoi64(good_times[i]));
    }
}
END_TEST

/* Error messages never quote member values, which may be secrets. */
START_TEST(error_text_omits_values)
{
    static const char secret[] = "SECRETSESSIONID";
    const char *parts[] = {
        apr_psprintf(pool, "15:%s;", secret),
        apr_psprintf(pool, "16:%s\xff,", secret),
        apr_psprintf(pool, "14:%s,", secret),
        apr_psprintf(pool, "99:%s,", secret),
        apr_psprintf(pool, "%s,", secret),
    };
    mto_error_t err;
    size_t i;

    for (i = 0; i < COUNT(parts); i++) {
        ck_assert_int_eq(decode(RECORD_SESSION,
                                record_with(RECORD_SESSION, 0, parts[i]),
                                &err), APR_EINVAL);
        ck_assert_msg(strstr(err.text, "SECRET") == NULL,
                      "message quotes a value: %s", err.text);
    }
    ck_assert_int_eq(decode(RECORD_SESSION,
                            apr_pstrcat(pool, sample_text(RECORD_SESSION),
                                        secret, NULL), &err), APR_EINVAL);
    ck_assert_msg(strstr(err.text, "SECRET") == NULL,
                  "message quotes a value: %s", err.text);
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
    tcase_add_test(tc, session_encoding_exact);
    tcase_add_test(tc, state_encoding_exact);
    tcase_add_test(tc, longest_strings_round_trip);
    tcase_add_test(tc, time_truncated_to_seconds);
    tcase_add_test(tc, decoded_strings_copied_to_pool);
    tcase_add_test(tc, decode_reads_only_length_bytes);
    tcase_add_test(tc, decode_failure_keeps_output);
    tcase_add_test(tc, encode_rejects_missing_required);
    tcase_add_test(tc, encode_rejects_what_decode_rejects);
    tcase_add_test(tc, encode_rejects_oversized_record);
    tcase_add_test(tc, input_size_limit);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("input");
    tcase_add_test(tc, state_every_truncation_rejected);
    tcase_add_test(tc, session_every_truncation_rejected);
    tcase_add_test(tc, truncation_names_missing_field);
    tcase_add_test(tc, trailing_data_rejected);
    tcase_add_test(tc, unknown_version_rejected);
    tcase_add_test(tc, other_kind_rejected);
    tcase_add_test(tc, json_record_rejected);
    tcase_add_test(tc, empty_input_rejected);
    tcase_add_test(tc, error_text_omits_values);
    suite_add_tcase(s, tc);

    tc = tcase_with_pool("members");
    tcase_add_test(tc, state_member_missing);
    tcase_add_test(tc, session_member_missing);
    tcase_add_test(tc, absent_marker_malformed);
    tcase_add_test(tc, state_member_wrong_type);
    tcase_add_test(tc, session_member_wrong_type);
    tcase_add_test(tc, length_overruns_input);
    tcase_add_test(tc, length_wrong_by_one_rejected);
    tcase_add_test(tc, length_form_rejected);
    tcase_add_test(tc, state_member_oversized);
    tcase_add_test(tc, session_member_oversized);
    tcase_add_test(tc, string_with_nul_rejected);
    tcase_add_test(tc, string_bytes_kept_exactly);
    tcase_add_test(tc, invalid_utf8_rejected);
    tcase_add_test(tc, time_out_of_range);
    tcase_add_test(tc, time_limits_accepted);
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
