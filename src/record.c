/*
 * JSON encoding of the state and session records, with jansson.
 *
 * Each record type is described by a table of members: the short JSON
 * name, the field name used in error messages, the type and where the
 * value sits in the C struct. Encoding and decoding both walk the table
 * and apply the same limits, so anything the encoder writes, the decoder
 * reads back.
 *
 * Limits on decoding: at most RECORD_INPUT_MAX bytes of input, one JSON
 * object, no unknown or duplicate member names. Strings are non-empty,
 * contain no NUL and have at most RECORD_STRING_MAX bytes. Times are whole
 * seconds since the epoch, from 0 up to the largest value apr_time_t can
 * hold in microseconds.
 */
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "mto_record.h"

#define RECORD_INPUT_MAX 16384
#define RECORD_STRING_MAX 4096

/* Largest number of seconds that apr_time_from_sec converts without
 * overflowing apr_time_t. */
#define RECORD_SECONDS_MAX (APR_INT64_MAX / APR_USEC_PER_SEC)

/* Maximum number of bytes of an unknown member name quoted in an error
 * message. */
#define RECORD_NAME_QUOTE_MAX 32

typedef enum {
    MEMBER_STRING,              /* const char * field */
    MEMBER_TIME                 /* apr_time_t field, seconds in JSON */
} member_type;

typedef struct {
    const char *name;           /* JSON member name */
    const char *field;          /* struct field name, for messages */
    member_type type;
    int required;
    size_t offset;              /* offset of the field in the struct */
} member_spec;

typedef struct {
    const char *kind;           /* "state record" or "session record" */
    const member_spec *members;
    size_t count;
} record_spec;

static const member_spec state_members[] = {
    {"s", "state", MEMBER_STRING, 1, offsetof(mto_state_t, state)},
    {"n", "nonce", MEMBER_STRING, 1, offsetof(mto_state_t, nonce)},
    {"h", "host", MEMBER_STRING, 1, offsetof(mto_state_t, host)},
    {"i", "issuer", MEMBER_STRING, 1, offsetof(mto_state_t, issuer)},
    {"r", "next", MEMBER_STRING, 0, offsetof(mto_state_t, next)},
    {"v", "code_verifier", MEMBER_STRING, 0,
     offsetof(mto_state_t, code_verifier)},
    {"t", "created", MEMBER_TIME, 1, offsetof(mto_state_t, created)},
};

static const member_spec session_members[] = {
    {"id", "id", MEMBER_STRING, 1, offsetof(mto_session_t, id)},
    {"u", "user", MEMBER_STRING, 1, offsetof(mto_session_t, user)},
    {"sub", "sub", MEMBER_STRING, 1, offsetof(mto_session_t, sub)},
    {"i", "issuer", MEMBER_STRING, 1, offsetof(mto_session_t, issuer)},
    {"h", "host", MEMBER_STRING, 1, offsetof(mto_session_t, host)},
    {"c", "created", MEMBER_TIME, 1, offsetof(mto_session_t, created)},
    {"e", "expires", MEMBER_TIME, 1, offsetof(mto_session_t, expires)},
};

static const record_spec state_spec = {
    "state record", state_members,
    sizeof(state_members) / sizeof(state_members[0])
};

static const record_spec session_spec = {
    "session record", session_members,
    sizeof(session_members) / sizeof(session_members[0])
};

/* Value of next for a state record without "r". */
#define STATE_NEXT_DEFAULT "/"

static const char *string_get(const member_spec *member, const void *record)
{
    return *(const char *const *)((const char *)record + member->offset);
}

static apr_time_t time_get(const member_spec *member, const void *record)
{
    return *(const apr_time_t *)((const char *)record + member->offset);
}

static void string_set(const member_spec *member, void *record,
                       const char *value)
{
    *(const char **)((char *)record + member->offset) = value;
}

static void time_set(const member_spec *member, void *record,
                     apr_time_t value)
{
    *(apr_time_t *)((char *)record + member->offset) = value;
}

/* Returns 1 when value may be stored in a string member, else 0. */
static int string_valid(const char *value, apr_size_t length)
{
    return length > 0 && length <= RECORD_STRING_MAX
           && strlen(value) == length;
}

/*
 * Adds one member of record to object. An optional member that is NULL is
 * left out. Returns 0 when the value breaks a decoding limit, so that the
 * encoder never writes a record that the decoder rejects.
 */
static int encode_member(json_t *object, const member_spec *member,
                         const void *record)
{
    json_t *value;

    if (member->type == MEMBER_STRING) {
        const char *text = string_get(member, record);

        if (text == NULL) {
            return !member->required;
        }
        if (!string_valid(text, strlen(text))) {
            return 0;
        }
        /* json_string returns NULL for text that is not valid UTF-8. */
        value = json_string(text);
    }
    else {
        apr_time_t time = time_get(member, record);

        if (time < 0) {
            return 0;
        }
        value = json_integer((json_int_t)apr_time_sec(time));
    }
    if (value == NULL) {
        return 0;
    }
    /* json_object_set_new releases value when it fails. */
    return json_object_set_new(object, member->name, value) == 0;
}

/* Returns compact JSON text of record in pool, or NULL. */
static const char *record_encode(apr_pool_t *pool, const record_spec *spec,
                                 const void *record)
{
    json_t *object;
    char *text = NULL;
    size_t length;
    size_t i;

    if (record == NULL) {
        return NULL;
    }
    object = json_object();
    if (object == NULL) {
        return NULL;
    }
    for (i = 0; i < spec->count; i++) {
        if (!encode_member(object, &spec->members[i], record)) {
            goto done;
        }
    }

    length = json_dumpb(object, NULL, 0, JSON_COMPACT);
    if (length == 0 || length > RECORD_INPUT_MAX) {
        goto done;
    }
    text = apr_palloc(pool, length + 1);
    if (json_dumpb(object, text, length, JSON_COMPACT) != length) {
        text = NULL;
        goto done;
    }
    text[length] = '\0';

done:
    json_decref(object);
    return text;
}

const char *mto_state_encode(apr_pool_t *pool, const mto_state_t *state)
{
    return record_encode(pool, &state_spec, state);
}

const char *mto_session_encode(apr_pool_t *pool,
                               const mto_session_t *session)
{
    return record_encode(pool, &session_spec, session);
}

/*
 * Returns a copy of name that is safe to put in a log line: at most
 * RECORD_NAME_QUOTE_MAX bytes, with every byte other than a letter, digit,
 * '_', '-' or '.' replaced by '?'.
 */
static const char *quote_name(apr_pool_t *pool, const char *name)
{
    apr_size_t length = strlen(name);
    apr_size_t quoted_length = length;
    char *copy;
    apr_size_t i;

    if (quoted_length > RECORD_NAME_QUOTE_MAX) {
        quoted_length = RECORD_NAME_QUOTE_MAX;
    }
    copy = apr_palloc(pool, quoted_length + 4);
    for (i = 0; i < quoted_length; i++) {
        unsigned char c = (unsigned char)name[i];
        int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9') || c == '_' || c == '-'
                   || c == '.';

        copy[i] = safe ? (char)c : '?';
    }
    if (quoted_length < length) {
        memcpy(copy + quoted_length, "...", 3);
        quoted_length += 3;
    }
    copy[quoted_length] = '\0';
    return copy;
}

/*
 * Fills err for input that jansson rejected. jansson's own text is not
 * used, because it quotes the input near the error, which may be part of
 * a secret value such as a session id.
 */
static void report_json_error(const record_spec *spec,
                              const json_error_t *jerr, mto_error_t *err)
{
    const char *reason = "invalid JSON syntax";

#if JANSSON_VERSION_HEX >= 0x020b00
    switch (json_error_code(jerr)) {
    case json_error_duplicate_key:
        reason = "duplicate member name";
        break;
    case json_error_premature_end_of_input:
        reason = "truncated JSON";
        break;
    case json_error_end_of_input_expected:
        reason = "data after the JSON value";
        break;
    case json_error_invalid_utf8:
        reason = "invalid UTF-8";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        reason = "NUL character in a string";
        break;
    case json_error_numeric_overflow:
        reason = "number out of range";
        break;
    default:
        break;
    }
#endif
    mto_error_set(err, 400, "invalid %s: %s at byte %d", spec->kind, reason,
                  jerr->position);
}

/* Rejects any member name that spec does not list. */
static apr_status_t check_member_names(apr_pool_t *pool,
                                       const record_spec *spec,
                                       json_t *object, mto_error_t *err)
{
    const char *name;
    json_t *value;
    size_t i;

    json_object_foreach(object, name, value) {
        for (i = 0; i < spec->count; i++) {
            if (strcmp(name, spec->members[i].name) == 0) {
                break;
            }
        }
        if (i == spec->count) {
            mto_error_set(err, 400, "invalid %s: unknown member \"%s\"",
                          spec->kind, quote_name(pool, name));
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t decode_string(apr_pool_t *pool, const record_spec *spec,
                                  const member_spec *member, json_t *value,
                                  void *record, mto_error_t *err)
{
    const char *text;
    apr_size_t length;

    if (!json_is_string(value)) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) must be a "
                      "string", spec->kind, member->name, member->field);
        return APR_EINVAL;
    }
    text = json_string_value(value);
    length = json_string_length(value);
    if (length == 0) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) is empty",
                      spec->kind, member->name, member->field);
        return APR_EINVAL;
    }
    if (length > RECORD_STRING_MAX) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) is longer "
                      "than %d bytes", spec->kind, member->name,
                      member->field, RECORD_STRING_MAX);
        return APR_EINVAL;
    }
    /* jansson rejects \u0000 unless JSON_ALLOW_NUL is given, but a NUL
     * would silently cut the copy short, so check here as well. */
    if (strlen(text) != length) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) contains a "
                      "NUL character", spec->kind, member->name,
                      member->field);
        return APR_EINVAL;
    }
    string_set(member, record, apr_pstrmemdup(pool, text, length));
    return APR_SUCCESS;
}

static apr_status_t decode_time(const record_spec *spec,
                                const member_spec *member, json_t *value,
                                void *record, mto_error_t *err)
{
    json_int_t seconds;

    if (!json_is_integer(value)) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) must be an "
                      "integer", spec->kind, member->name, member->field);
        return APR_EINVAL;
    }
    seconds = json_integer_value(value);
    if (seconds < 0 || seconds > RECORD_SECONDS_MAX) {
        mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) is out of "
                      "range (0 to %" APR_INT64_T_FMT " seconds)", spec->kind,
                      member->name, member->field,
                      (apr_int64_t)RECORD_SECONDS_MAX);
        return APR_EINVAL;
    }
    time_set(member, record, apr_time_from_sec((apr_time_t)seconds));
    return APR_SUCCESS;
}

static apr_status_t decode_members(apr_pool_t *pool, const record_spec *spec,
                                   json_t *object, void *record,
                                   mto_error_t *err)
{
    apr_status_t status;
    size_t i;

    for (i = 0; i < spec->count; i++) {
        const member_spec *member = &spec->members[i];
        json_t *value = json_object_get(object, member->name);

        if (value == NULL) {
            if (member->required) {
                mto_error_set(err, 400, "invalid %s: member \"%s\" (%s) is "
                              "missing", spec->kind, member->name,
                              member->field);
                return APR_EINVAL;
            }
            continue;
        }
        if (member->type == MEMBER_STRING) {
            status = decode_string(pool, spec, member, value, record, err);
        }
        else {
            status = decode_time(spec, member, value, record, err);
        }
        if (status != APR_SUCCESS) {
            return status;
        }
    }
    return APR_SUCCESS;
}

/*
 * Parses json into record, which the caller has zeroed. Strings are
 * copied into pool and every jansson object is released before returning.
 */
static apr_status_t record_decode(apr_pool_t *pool, const record_spec *spec,
                                  const char *json, apr_size_t length,
                                  void *record, mto_error_t *err)
{
    json_error_t jerr;
    json_t *root;
    apr_status_t status;

    if (json == NULL || length == 0) {
        mto_error_set(err, 400, "invalid %s: input is empty", spec->kind);
        return APR_EINVAL;
    }
    if (length > RECORD_INPUT_MAX) {
        mto_error_set(err, 400, "invalid %s: input is %" APR_SIZE_T_FMT
                      " bytes, more than the maximum of %d", spec->kind,
                      length, RECORD_INPUT_MAX);
        return APR_EINVAL;
    }

    root = json_loadb(json, length, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        report_json_error(spec, &jerr, err);
        return APR_EINVAL;
    }
    if (!json_is_object(root)) {
        mto_error_set(err, 400, "invalid %s: input is not a JSON object",
                      spec->kind);
        json_decref(root);
        return APR_EINVAL;
    }

    status = check_member_names(pool, spec, root, err);
    if (status == APR_SUCCESS) {
        status = decode_members(pool, spec, root, record, err);
    }
    json_decref(root);
    return status;
}

apr_status_t mto_state_decode(apr_pool_t *pool, const char *json,
                              apr_size_t length, mto_state_t *state,
                              mto_error_t *err)
{
    mto_state_t decoded;
    apr_status_t status;

    if (state == NULL) {
        return APR_EINVAL;
    }
    memset(&decoded, 0, sizeof(decoded));
    status = record_decode(pool, &state_spec, json, length, &decoded, err);
    if (status != APR_SUCCESS) {
        return status;
    }
    if (decoded.next == NULL) {
        decoded.next = STATE_NEXT_DEFAULT;
    }
    *state = decoded;
    return APR_SUCCESS;
}

apr_status_t mto_session_decode(apr_pool_t *pool, const char *json,
                                apr_size_t length, mto_session_t *session,
                                mto_error_t *err)
{
    mto_session_t decoded;
    apr_status_t status;

    if (session == NULL) {
        return APR_EINVAL;
    }
    memset(&decoded, 0, sizeof(decoded));
    status = record_decode(pool, &session_spec, json, length, &decoded, err);
    if (status != APR_SUCCESS) {
        return status;
    }
    *session = decoded;
    return APR_SUCCESS;
}
