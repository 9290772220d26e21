/*
 * Encoding of the state and session records.
 *
 * A record is sealed with AES-256-GCM before it leaves the module, and it
 * is decoded only after mto_open has authenticated it, so the decoder
 * reads text that this module wrote. It still checks every byte, because
 * nodes that share a passphrase may run other versions of the module, and
 * tests and fuzzers call it directly.
 *
 * The format is text without NUL bytes, read in one pass:
 *
 *     record = tag member...
 *     tag    = "st1," (state record) or "se1," (session record)
 *     member = string, absent or time, one for each row of the member
 *              table below, in table order
 *     string = length ":" bytes ","
 *     absent = "-,"            (only for an optional string member)
 *     time   = seconds ","
 *
 * length is the number of bytes, and seconds a time in whole seconds
 * since the epoch. Both are decimal digits without a sign or leading
 * zeros, so each value has one encoding. The one exception: a state
 * record's next of "/" reads the same written out or absent. The digit in
 * the tag is the format version. A session record reads, for example:
 *
 *     se1,6:Zk3Qm1,3:bob,4:00u1,25:https://idp.example.com/a,
 *     16:acme.example.com,1700000000,1700028800,
 *
 * without the line break.
 *
 * Limits on decoding: at most RECORD_INPUT_MAX bytes of input, the tag of
 * the expected kind and version, every member, and nothing after the last
 * one. Strings are non-empty valid UTF-8 without NUL and have at most
 * RECORD_STRING_MAX bytes. Times range from 0 up to the largest number of
 * seconds that apr_time_t can hold in microseconds. The encoder applies
 * the same limits, so anything it writes, the decoder reads back.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "mto_record.h"

#define RECORD_INPUT_MAX 16384
#define RECORD_STRING_MAX 4096

/* Digits of RECORD_STRING_MAX, the longest length field. */
#define RECORD_LENGTH_DIGITS 4

/* Largest number of seconds that apr_time_from_sec converts without
 * overflowing apr_time_t, and its number of digits. */
#define RECORD_SECONDS_MAX (APR_INT64_MAX / APR_USEC_PER_SEC)
#define RECORD_SECONDS_DIGITS 13

#define RECORD_ABSENT '-'
#define RECORD_LENGTH_END ':'
#define RECORD_MEMBER_END ','

typedef enum {
    MEMBER_STRING,              /* const char * field */
    MEMBER_TIME                 /* apr_time_t field, seconds in the text */
} member_type;

typedef struct {
    const char *field;          /* struct field name, for messages */
    member_type type;
    int required;               /* 0 lets a string member be absent */
    size_t offset;              /* offset of the field in the struct */
} member_spec;

typedef struct {
    const char *kind;           /* "state record" or "session record" */
    const char *tag;            /* kind and format version, ending in ',' */
    apr_size_t tag_length;
    const member_spec *members; /* in the order of the encoding */
    size_t count;
} record_spec;

static const member_spec state_members[] = {
    {"state", MEMBER_STRING, 1, offsetof(mto_state_t, state)},
    {"nonce", MEMBER_STRING, 1, offsetof(mto_state_t, nonce)},
    {"host", MEMBER_STRING, 1, offsetof(mto_state_t, host)},
    {"issuer", MEMBER_STRING, 1, offsetof(mto_state_t, issuer)},
    {"next", MEMBER_STRING, 0, offsetof(mto_state_t, next)},
    {"code_verifier", MEMBER_STRING, 0, offsetof(mto_state_t, code_verifier)},
    {"created", MEMBER_TIME, 1, offsetof(mto_state_t, created)},
};

static const member_spec session_members[] = {
    {"id", MEMBER_STRING, 1, offsetof(mto_session_t, id)},
    {"user", MEMBER_STRING, 1, offsetof(mto_session_t, user)},
    {"sub", MEMBER_STRING, 1, offsetof(mto_session_t, sub)},
    {"issuer", MEMBER_STRING, 1, offsetof(mto_session_t, issuer)},
    {"host", MEMBER_STRING, 1, offsetof(mto_session_t, host)},
    {"created", MEMBER_TIME, 1, offsetof(mto_session_t, created)},
    {"expires", MEMBER_TIME, 1, offsetof(mto_session_t, expires)},
};

#define STATE_TAG "st1,"
#define SESSION_TAG "se1,"

static const record_spec state_spec = {
    "state record", STATE_TAG, sizeof(STATE_TAG) - 1, state_members,
    sizeof(state_members) / sizeof(state_members[0])
};

static const record_spec session_spec = {
    "session record", SESSION_TAG, sizeof(SESSION_TAG) - 1, session_members,
    sizeof(session_members) / sizeof(session_members[0])
};

/* Value of next for a state record whose next member is absent. */
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

typedef enum {
    TEXT_VALID,
    TEXT_NUL,
    TEXT_NOT_UTF8
} text_check;

/*
 * Returns the length of the UTF-8 sequence at text, or 0 when it is not
 * one. As in RFC 3629, overlong forms, surrogates and code points above
 * U+10FFFF are not UTF-8.
 */
static apr_size_t utf8_sequence(const unsigned char *text, apr_size_t left)
{
    unsigned char lead = text[0];
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    apr_size_t length;
    apr_size_t i;

    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    }
    else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    }
    else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    }
    else {
        return 0;
    }
    if (left < length || text[1] < low || text[1] > high) {
        return 0;
    }
    for (i = 2; i < length; i++) {
        if (text[i] < 0x80 || text[i] > 0xbf) {
            return 0;
        }
    }
    return length;
}

/*
 * Checks that length bytes at text are UTF-8 without NUL. Eight bytes at
 * a time are tested for a byte that is 0 or above 0x7f, and only a block
 * that has one is checked byte by byte, so ASCII costs about one test per
 * block.
 */
static text_check text_classify(const char *text, apr_size_t length)
{
    const unsigned char *bytes = (const unsigned char *)text;
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;
    apr_size_t i = 0;

    while (i < length) {
        if (length - i >= 8) {
            uint64_t block;

            memcpy(&block, bytes + i, sizeof(block));
            if ((((block - ones) | block) & highs) == 0) {
                i += 8;
                continue;
            }
        }
        if (bytes[i] == 0) {
            return TEXT_NUL;
        }
        if (bytes[i] < 0x80) {
            i++;
        }
        else {
            apr_size_t step = utf8_sequence(bytes + i, length - i);

            if (step == 0) {
                return TEXT_NOT_UTF8;
            }
            i += step;
        }
    }
    return TEXT_VALID;
}

/* Writes value in decimal at out and returns the end of the digits. */
static char *put_decimal(char *out, apr_uint64_t value)
{
    char digits[20];
    int count = 0;

    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (count > 0) {
        *out++ = digits[--count];
    }
    return out;
}

/*
 * Returns the number of bytes that member takes in the encoding, or 0
 * when its value breaks a decoding limit, so that the encoder never
 * writes a record that the decoder rejects.
 */
static apr_size_t member_size(const member_spec *member, const void *record)
{
    char digits[20];
    apr_time_t time;
    apr_uint64_t seconds;

    if (member->type == MEMBER_STRING) {
        const char *text = string_get(member, record);
        apr_size_t length;

        if (text == NULL) {
            return member->required ? 0 : 2;
        }
        length = strlen(text);
        if (length == 0 || length > RECORD_STRING_MAX
            || text_classify(text, length) != TEXT_VALID) {
            return 0;
        }
        return (apr_size_t)(put_decimal(digits, length) - digits) + length
               + 2;
    }
    time = time_get(member, record);
    if (time < 0) {
        return 0;
    }
    seconds = (apr_uint64_t)apr_time_sec(time);
    return (apr_size_t)(put_decimal(digits, seconds) - digits) + 1;
}

static char *member_write(char *out, const member_spec *member,
                          const void *record)
{
    if (member->type == MEMBER_STRING) {
        const char *text = string_get(member, record);
        apr_size_t length;

        if (text == NULL) {
            *out++ = RECORD_ABSENT;
        }
        else {
            length = strlen(text);
            out = put_decimal(out, length);
            *out++ = RECORD_LENGTH_END;
            memcpy(out, text, length);
            out += length;
        }
    }
    else {
        out = put_decimal(out, (apr_uint64_t)apr_time_sec(
                          time_get(member, record)));
    }
    *out++ = RECORD_MEMBER_END;
    return out;
}

/* Returns the NUL-terminated encoding of record in pool, or NULL. */
static const char *record_encode(apr_pool_t *pool, const record_spec *spec,
                                 const void *record)
{
    apr_size_t total = spec->tag_length;
    char *text;
    char *out;
    size_t i;

    if (record == NULL) {
        return NULL;
    }
    for (i = 0; i < spec->count; i++) {
        apr_size_t size = member_size(&spec->members[i], record);

        if (size == 0) {
            return NULL;
        }
        total += size;
    }
    if (total > RECORD_INPUT_MAX) {
        return NULL;
    }

    text = apr_palloc(pool, total + 1);
    memcpy(text, spec->tag, spec->tag_length);
    out = text + spec->tag_length;
    for (i = 0; i < spec->count; i++) {
        out = member_write(out, &spec->members[i], record);
    }
    *out = '\0';
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
 * Decoding position in a pool copy of the input. Each string member is
 * returned in place: the ',' after its bytes is overwritten with a NUL,
 * so a record costs one allocation and one copy.
 */
typedef struct {
    const record_spec *spec;
    char *start;                /* first byte of the copy */
    char *next;                 /* first byte not yet read */
    char *end;                  /* one past the last byte */
    mto_error_t *err;
} record_reader;

/* Fills err for a member that breaks the format, naming the field and
 * the offset of the byte where reading stopped, never its value. */
static apr_status_t member_reject(const record_reader *reader,
                                  const member_spec *member,
                                  const char *reason)
{
    mto_error_set(reader->err, 400, "invalid %s: field \"%s\" %s at byte %lu",
                  reader->spec->kind, member->field, reason,
                  (unsigned long)(reader->next - reader->start));
    return APR_EINVAL;
}

typedef enum {
    DECIMAL_VALID,
    DECIMAL_NONE,               /* no digit, such as a sign or a letter */
    DECIMAL_AT_END,             /* the input ends after the digits */
    DECIMAL_LEADING_ZERO,
    DECIMAL_TOO_LONG            /* more digits than allowed, or for a
                                 * time a value above the maximum */
} decimal_result;

/*
 * Reads the decimal digits at the reading position into *value and moves
 * past them. On any result but DECIMAL_VALID the position stays put.
 */
static decimal_result decimal_read(record_reader *reader, int max_digits,
                                   apr_uint64_t *value)
{
    const char *digit = reader->next;
    apr_uint64_t number = 0;

    while (digit < reader->end && *digit >= '0' && *digit <= '9') {
        digit++;
    }
    if (digit == reader->next) {
        return DECIMAL_NONE;
    }
    if (digit == reader->end) {
        return DECIMAL_AT_END;
    }
    if (reader->next[0] == '0' && digit - reader->next > 1) {
        return DECIMAL_LEADING_ZERO;
    }
    if (digit - reader->next > max_digits) {
        return DECIMAL_TOO_LONG;
    }
    for (; reader->next < digit; reader->next++) {
        number = number * 10 + (apr_uint64_t)(reader->next[0] - '0');
    }
    *value = number;
    return DECIMAL_VALID;
}

#define STRING_TOO_LONG \
    "is longer than " APR_STRINGIFY(RECORD_STRING_MAX) " bytes"

static apr_status_t length_reject(const record_reader *reader,
                                  const member_spec *member,
                                  decimal_result result)
{
    switch (result) {
    case DECIMAL_AT_END:
        return member_reject(reader, member,
                             "runs past the end of the input");
    case DECIMAL_LEADING_ZERO:
        return member_reject(reader, member,
                             "has a length with a leading zero");
    case DECIMAL_TOO_LONG:
        return member_reject(reader, member, STRING_TOO_LONG);
    default:
        return member_reject(reader, member, "has no length");
    }
}

static apr_status_t string_check(record_reader *reader,
                                 const member_spec *member,
                                 apr_size_t length)
{
    if (length == 0) {
        return member_reject(reader, member, "is empty");
    }
    if (length > RECORD_STRING_MAX) {
        return member_reject(reader, member, STRING_TOO_LONG);
    }
    if ((apr_size_t)(reader->end - reader->next) <= length) {
        return member_reject(reader, member,
                             "runs past the end of the input");
    }
    switch (text_classify(reader->next, length)) {
    case TEXT_NUL:
        return member_reject(reader, member, "contains a NUL character");
    case TEXT_NOT_UTF8:
        return member_reject(reader, member, "is not valid UTF-8");
    default:
        break;
    }
    if (reader->next[length] != RECORD_MEMBER_END) {
        reader->next += length;
        return member_reject(reader, member, "does not end with ','");
    }
    return APR_SUCCESS;
}

static apr_status_t absent_read(record_reader *reader,
                                const member_spec *member)
{
    if (member->required) {
        return member_reject(reader, member, "is missing");
    }
    if (reader->end - reader->next < 2
        || reader->next[1] != RECORD_MEMBER_END) {
        return member_reject(reader, member, "has an invalid absent marker");
    }
    reader->next += 2;
    return APR_SUCCESS;
}

static apr_status_t string_read(record_reader *reader,
                                const member_spec *member, void *record)
{
    apr_uint64_t length = 0;
    decimal_result result;
    apr_status_t status;

    if (reader->next[0] == RECORD_ABSENT) {
        return absent_read(reader, member);
    }
    result = decimal_read(reader, RECORD_LENGTH_DIGITS, &length);
    if (result != DECIMAL_VALID) {
        return length_reject(reader, member, result);
    }
    if (reader->next[0] != RECORD_LENGTH_END) {
        return member_reject(reader, member, "has no ':' after its length");
    }
    reader->next++;
    status = string_check(reader, member, (apr_size_t)length);
    if (status != APR_SUCCESS) {
        return status;
    }
    reader->next[length] = '\0';
    string_set(member, record, reader->next);
    reader->next += length + 1;
    return APR_SUCCESS;
}

static apr_status_t time_reject(const record_reader *reader,
                                const member_spec *member,
                                decimal_result result)
{
    switch (result) {
    case DECIMAL_AT_END:
        return member_reject(reader, member,
                             "runs past the end of the input");
    case DECIMAL_LEADING_ZERO:
        return member_reject(reader, member, "has a leading zero");
    case DECIMAL_NONE:
        return member_reject(reader, member, "is not a time in seconds");
    default:
        mto_error_set(reader->err, 400, "invalid %s: field \"%s\" is out "
                      "of range (0 to %" APR_INT64_T_FMT " seconds) at byte "
                      "%lu", reader->spec->kind, member->field,
                      (apr_int64_t)RECORD_SECONDS_MAX,
                      (unsigned long)(reader->next - reader->start));
        return APR_EINVAL;
    }
}

static apr_status_t time_read(record_reader *reader,
                              const member_spec *member, void *record)
{
    apr_uint64_t seconds = 0;
    decimal_result result;

    result = decimal_read(reader, RECORD_SECONDS_DIGITS, &seconds);
    if (result == DECIMAL_VALID
        && seconds > (apr_uint64_t)RECORD_SECONDS_MAX) {
        result = DECIMAL_TOO_LONG;
    }
    if (result != DECIMAL_VALID) {
        return time_reject(reader, member, result);
    }
    if (reader->next[0] != RECORD_MEMBER_END) {
        return member_reject(reader, member, "does not end with ','");
    }
    reader->next++;
    time_set(member, record, apr_time_from_sec((apr_time_t)seconds));
    return APR_SUCCESS;
}

static apr_status_t members_read(record_reader *reader, void *record)
{
    const record_spec *spec = reader->spec;
    apr_status_t status;
    size_t i;

    for (i = 0; i < spec->count; i++) {
        const member_spec *member = &spec->members[i];

        if (reader->next == reader->end) {
            return member_reject(reader, member, "is missing");
        }
        if (member->type == MEMBER_STRING) {
            status = string_read(reader, member, record);
        }
        else {
            status = time_read(reader, member, record);
        }
        if (status != APR_SUCCESS) {
            return status;
        }
    }
    return APR_SUCCESS;
}

/*
 * Parses text into record, which the caller has zeroed. Reads exactly
 * length bytes of text, which needs no terminating NUL. Strings are
 * returned in one pool copy of the input.
 */
static apr_status_t record_decode(apr_pool_t *pool, const record_spec *spec,
                                  const char *text, apr_size_t length,
                                  void *record, mto_error_t *err)
{
    record_reader reader;
    apr_status_t status;

    if (text == NULL || length == 0) {
        mto_error_set(err, 400, "invalid %s: input is empty", spec->kind);
        return APR_EINVAL;
    }
    if (length > RECORD_INPUT_MAX) {
        mto_error_set(err, 400, "invalid %s: input is %" APR_SIZE_T_FMT
                      " bytes, more than the maximum of %d", spec->kind,
                      length, RECORD_INPUT_MAX);
        return APR_EINVAL;
    }
    if (length < spec->tag_length
        || memcmp(text, spec->tag, spec->tag_length) != 0) {
        mto_error_set(err, 400, "invalid %s: unknown format or version, "
                      "expected the tag \"%s\"", spec->kind, spec->tag);
        return APR_EINVAL;
    }

    reader.spec = spec;
    reader.start = apr_pmemdup(pool, text, length);
    reader.next = reader.start + spec->tag_length;
    reader.end = reader.start + length;
    reader.err = err;
    status = members_read(&reader, record);
    if (status != APR_SUCCESS) {
        return status;
    }
    if (reader.next != reader.end) {
        mto_error_set(err, 400, "invalid %s: data after the last field at "
                      "byte %lu", spec->kind,
                      (unsigned long)(reader.next - reader.start));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t mto_state_decode(apr_pool_t *pool, const char *text,
                              apr_size_t length, mto_state_t *state,
                              mto_error_t *err)
{
    mto_state_t decoded;
    apr_status_t status;

    if (state == NULL) {
        return APR_EINVAL;
    }
    memset(&decoded, 0, sizeof(decoded));
    status = record_decode(pool, &state_spec, text, length, &decoded, err);
    if (status != APR_SUCCESS) {
        return status;
    }
    if (decoded.next == NULL) {
        decoded.next = STATE_NEXT_DEFAULT;
    }
    *state = decoded;
    return APR_SUCCESS;
}

apr_status_t mto_session_decode(apr_pool_t *pool, const char *text,
                                apr_size_t length, mto_session_t *session,
                                mto_error_t *err)
{
    mto_session_t decoded;
    apr_status_t status;

    if (session == NULL) {
        return APR_EINVAL;
    }
    memset(&decoded, 0, sizeof(decoded));
    status = record_decode(pool, &session_spec, text, length, &decoded, err);
    if (status != APR_SUCCESS) {
        return status;
    }
    *session = decoded;
    return APR_SUCCESS;
}
