/*
 * Strict ID token validation (OpenID Connect Core 1.0 section 3.1.3.7 and
 * RFC 7515). mto_idtoken_verify checks structure, JOSE header and key
 * choice before cjose parses the token, because cjose verifies with
 * whatever algorithm the header names. Claims are checked after the
 * signature.
 */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>
#include <cjose/jws.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "jose_int.h"
#include "mto_crypto.h"

/* OpenID Connect Core 1.0 section 2 limits "sub" to 255 ASCII characters. */
#define IDTOKEN_SUB_MAX 255

/*
 * Largest time claim accepted, in seconds since the epoch: the largest
 * that apr_time_t can represent in microseconds (about 292,000 years). It
 * is below 2^53, so a JSON real up to this value is an exact integer too.
 */
#define IDTOKEN_TIME_MAX (APR_INT64_MAX / APR_USEC_PER_SEC)

struct mto_idtoken {
    json_t *payload;        /* released by a cleanup on the token's pool */
    apr_time_t expiry;      /* "exp" */
};

/* A compact JWS split into its three base64url parts. */
typedef struct {
    const char *text[3];
    apr_size_t length[3];
} jws_parts_t;

static const char *const part_names[3] = { "header", "payload", "signature" };

static apr_status_t reject(mto_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fills err with status 403 and the reason. Returns APR_EGENERAL. */
static apr_status_t reject(mto_error_t *err, const char *fmt, ...)
{
    char reason[MTO_ERROR_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    mto_error_set(err, 403, "%s", reason);
    return APR_EGENERAL;
}

static apr_status_t release_json(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static apr_status_t release_jws(void *data)
{
    cjose_jws_release(data);
    return APR_SUCCESS;
}

/*
 * Checks one part against RFC 7515 section 2: base64url without padding.
 * The unused low bits of the last character must be zero, so each byte
 * string has exactly one encoding. Returns NULL or the reason.
 */
static const char *check_base64url(apr_pool_t *pool, const char *text,
                                   apr_size_t length)
{
    apr_size_t i;
    int last = 0;

    for (i = 0; i < length; i++) {
        last = mto_base64url_value((unsigned char)text[i]);
        if (last < 0) {
            unsigned char c = (unsigned char)text[i];

            return apr_psprintf(pool, "has the character '%c' at offset %"
                                APR_SIZE_T_FMT ", which is not in the "
                                "base64url alphabet",
                                (c > 0x20 && c < 0x7f) ? c : '?', i);
        }
    }
    if (length % 4 == 1) {
        return "has a length that no base64url encoding has";
    }
    if ((length % 4 == 2 && (last & 0x0f) != 0)
        || (length % 4 == 3 && (last & 0x03) != 0)) {
        return "ends in a character with unused bits set";
    }
    return NULL;
}

/* Returns the number of bytes that length base64url characters decode
 * to, for a length that split_compact accepted. */
static apr_size_t base64url_decoded_length(apr_size_t length)
{
    apr_size_t rest = length % 4;

    return length / 4 * 3 + (rest == 0 ? 0 : rest - 1);
}

/* Splits compact into its three parts after checking length and alphabet. */
static apr_status_t split_compact(apr_pool_t *pool, const char *compact,
                                  apr_size_t max_length, jws_parts_t *parts,
                                  mto_error_t *err)
{
    apr_size_t length;
    apr_size_t i;
    apr_size_t start = 0;
    int dots = 0;
    int part;
    const char *reason;

    if (compact == NULL || compact[0] == '\0') {
        return reject(err, "id_token is missing");
    }
    for (length = 0; compact[length] != '\0'; length++) {
        if (length == max_length) {
            return reject(err, "id_token is longer than the maximum of %"
                          APR_SIZE_T_FMT " bytes", max_length);
        }
    }
    for (i = 0; i < length; i++) {
        dots += compact[i] == '.';
    }
    if (dots != 2) {
        return reject(err, "id_token has %d part%s, not the 3 of a "
                      "compact JWS%s", dots + 1, dots == 0 ? "" : "s",
                      dots == 4 ? " (encrypted JWE tokens are not supported)"
                                : "");
    }

    for (part = 0; part < 3; part++) {
        const char *dot = memchr(compact + start, '.', length - start);
        apr_size_t end = dot ? (apr_size_t)(dot - compact) : length;

        parts->text[part] = compact + start;
        parts->length[part] = end - start;
        if (parts->length[part] == 0) {
            return reject(err, "id_token %s part is empty", part_names[part]);
        }
        reason = check_base64url(pool, parts->text[part], parts->length[part]);
        if (reason != NULL) {
            return reject(err, "id_token %s part %s", part_names[part],
                          reason);
        }
        start = end + 1;
    }
    return APR_SUCCESS;
}

/* Decodes one part and parses it as a JSON object. Duplicate member names
 * are rejected, so no two parsers can read different values. */
static apr_status_t parse_part(apr_pool_t *pool, const jws_parts_t *parts,
                               int part, json_t **object, mto_error_t *err)
{
    apr_size_t size;
    unsigned char *bytes;
    json_error_t jerr;
    char quoted[MTO_JOSE_QUOTE_MAX];

    /* split_compact checked the part, so this error is not expected. */
    if (mto_base64url_decode(pool, apr_pstrmemdup(pool, parts->text[part],
                                                  parts->length[part]),
                             &bytes, &size) != APR_SUCCESS) {
        return reject(err, "id_token %s is not base64url", part_names[part]);
    }
    *object = json_loadb((const char *)bytes, size, JSON_REJECT_DUPLICATES,
                         &jerr);
    if (*object == NULL) {
        mto_jose_printable(quoted, sizeof(quoted), jerr.text);
        return reject(err, "id_token %s is not valid JSON: %s",
                      part_names[part], quoted);
    }
    apr_pool_cleanup_register(pool, *object, release_json,
                              apr_pool_cleanup_null);
    if (!json_is_object(*object)) {
        return reject(err, "id_token %s is not a JSON object",
                      part_names[part]);
    }
    return APR_SUCCESS;
}

static int alg_allowed(const apr_array_header_t *algs, const char *name)
{
    int i;

    if (algs == NULL) {
        return 0;
    }
    for (i = 0; i < algs->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(algs, i, const char *), name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks that "alg" is supported and allowed, and neither none nor HMAC. */
static apr_status_t check_alg(apr_pool_t *pool, json_t *header,
                              const apr_array_header_t *algs,
                              const mto_jose_alg_t **alg, mto_error_t *err)
{
    const char *name = json_string_value(json_object_get(header, "alg"));
    const char *list;
    char quoted[MTO_JOSE_QUOTE_MAX];
    char quoted_list[MTO_JOSE_QUOTE_MAX];

    if (name == NULL) {
        return reject(err, "JOSE header \"alg\" is missing or not a string");
    }
    mto_jose_printable(quoted, sizeof(quoted), name);
    if (strcmp(name, "none") == 0) {
        return reject(err, "JOSE header alg 'none' (unsigned token) is never "
                      "accepted");
    }
    /* An HMAC key would have to be the provider's public key, which any
     * attacker can fetch, so these are rejected even when configured. */
    if (strcmp(name, "HS256") == 0 || strcmp(name, "HS384") == 0
        || strcmp(name, "HS512") == 0) {
        return reject(err, "JOSE header alg '%s' (HMAC) is never accepted",
                      quoted);
    }
    *alg = mto_jose_alg_find(name);
    if (*alg == NULL) {
        return reject(err, "JOSE header alg '%s' is not supported", quoted);
    }
    if (!alg_allowed(algs, name)) {
        list = algs ? apr_array_pstrcat(pool, algs, ',') : "";
        mto_jose_printable(quoted_list, sizeof(quoted_list), list);
        return reject(err, "JOSE header alg '%s' is not one of the allowed "
                      "algorithms '%s'", quoted, quoted_list);
    }
    return APR_SUCCESS;
}

/*
 * Checks "crit" and "typ" and reads "kid". This module implements no JWS
 * extension, so any name in "crit" rejects the token (RFC 7515 section
 * 4.1.11). "jku", "x5u", "x5c" and "jwk" are never read: a key that the
 * token itself names or carries proves nothing.
 */
static apr_status_t check_other_headers(json_t *header, const char **kid,
                                        mto_error_t *err)
{
    json_t *crit = json_object_get(header, "crit");
    json_t *typ = json_object_get(header, "typ");
    json_t *kid_member = json_object_get(header, "kid");
    json_t *name;
    size_t i;
    char quoted[MTO_JOSE_QUOTE_MAX];

    if (crit != NULL) {
        if (!json_is_array(crit) || json_array_size(crit) == 0) {
            return reject(err, "JOSE header \"crit\" is not a non-empty "
                          "array of strings");
        }
        json_array_foreach(crit, i, name) {
            if (!json_is_string(name)) {
                return reject(err, "JOSE header \"crit\" contains a value "
                              "that is not a string");
            }
        }
        mto_jose_printable(quoted, sizeof(quoted),
                           json_string_value(json_array_get(crit, 0)));
        return reject(err, "JOSE header crit names the extension '%s', "
                      "which is not supported", quoted);
    }

    if (typ != NULL) {
        if (!json_is_string(typ)) {
            return reject(err, "JOSE header \"typ\" is not a string");
        }
        if (strcasecmp(json_string_value(typ), "JWT") != 0) {
            mto_jose_printable(quoted, sizeof(quoted), json_string_value(typ));
            return reject(err, "JOSE header typ '%s' is not 'JWT'", quoted);
        }
    }

    *kid = NULL;
    if (kid_member != NULL) {
        if (!json_is_string(kid_member)) {
            return reject(err, "JOSE header \"kid\" is not a string");
        }
        *kid = json_string_value(kid_member);
    }
    return APR_SUCCESS;
}

/* Returns 1 when key fits alg and its "alg", if set, names alg. */
static int key_usable(const mto_jwks_key_t *key, const mto_jose_alg_t *alg)
{
    if (!mto_jose_key_fits(key, alg)) {
        return 0;
    }
    return key->alg == NULL || strcmp(key->alg, alg->name) == 0;
}

/* Selects the key whose "kid" equals kid and that may verify alg. Returns
 * APR_ENOENT when no key has that kid. */
static apr_status_t select_key_by_kid(const mto_jwks_t *jwks,
                                      const mto_jose_alg_t *alg,
                                      const char *kid,
                                      const mto_jwks_key_t **chosen,
                                      mto_error_t *err)
{
    const mto_jwks_key_t *named = NULL;
    const mto_jwks_key_t *key;
    int usable = 0;
    int i;
    char quoted[MTO_JOSE_QUOTE_MAX];

    mto_jose_printable(quoted, sizeof(quoted), kid);
    for (i = 0; jwks != NULL && i < jwks->keys->nelts; i++) {
        key = &APR_ARRAY_IDX(jwks->keys, i, mto_jwks_key_t);
        if (key->kid == NULL || strcmp(key->kid, kid) != 0) {
            continue;
        }
        named = key;
        if (key_usable(key, alg)) {
            *chosen = key;
            usable++;
        }
    }

    if (named == NULL) {
        mto_error_set(err, 403, "JOSE header kid '%s' names no key of the "
                      "JWKS", quoted);
        return APR_ENOENT;
    }
    if (usable == 0 && !mto_jose_key_fits(named, alg)) {
        return reject(err, "key '%s' (kty %s%s%s) does not fit alg %s",
                      quoted, named->kty, named->crv ? " crv " : "",
                      named->crv ? named->crv : "", alg->name);
    }
    if (usable == 0) {
        return reject(err, "key '%s' has alg '%s', not the token's alg '%s'",
                      quoted, named->alg, alg->name);
    }
    if (usable > 1) {
        return reject(err, "%d keys of the JWKS have kid '%s' and fit alg %s",
                      usable, quoted, alg->name);
    }
    return APR_SUCCESS;
}

/*
 * Selects the one key that may verify alg for a header without "kid".
 * When several keys fit, the token is rejected instead of tried against
 * each key, because trying every key multiplies the verification work
 * that one forged token can cause.
 */
static apr_status_t select_key_without_kid(const mto_jwks_t *jwks,
                                           const mto_jose_alg_t *alg,
                                           const mto_jwks_key_t **chosen,
                                           mto_error_t *err)
{
    const mto_jwks_key_t *key;
    int usable = 0;
    int i;

    for (i = 0; jwks != NULL && i < jwks->keys->nelts; i++) {
        key = &APR_ARRAY_IDX(jwks->keys, i, mto_jwks_key_t);
        if (key_usable(key, alg)) {
            *chosen = key;
            usable++;
        }
    }
    if (usable == 0) {
        return reject(err, "JOSE header has no kid and no key of the JWKS "
                      "fits alg %s", alg->name);
    }
    if (usable > 1) {
        return reject(err, "JOSE header has no kid and %d keys of the JWKS "
                      "fit alg %s: the token must name its key", usable,
                      alg->name);
    }
    return APR_SUCCESS;
}

/*
 * Verifies the signature with key after checking that its length fits alg
 * and key. cjose 0.6.2 splits an ECDSA signature into two halves of any
 * length and never compares that length with the curve, hence the check.
 */
static apr_status_t verify_signature(apr_pool_t *pool, const char *compact,
                                     const jws_parts_t *parts,
                                     const mto_jose_alg_t *alg,
                                     const mto_jwks_key_t *key,
                                     mto_error_t *err)
{
    apr_size_t expected;
    apr_size_t actual = base64url_decoded_length(parts->length[2]);
    apr_size_t length = (apr_size_t)(parts->text[2] + parts->length[2]
                                     - compact);
    cjose_err cerr = { 0 };
    cjose_jws_t *jws;
    int verified;
    char quoted[MTO_JOSE_QUOTE_MAX];

    mto_jose_printable(quoted, sizeof(quoted),
                       key->kid ? key->kid : "(no kid)");
    expected = alg->ec_sig_len ? alg->ec_sig_len : (key->bits + 7) / 8;
    if (actual != expected) {
        return reject(err, "signature is %" APR_SIZE_T_FMT " bytes, but alg "
                      "%s with key '%s' makes %" APR_SIZE_T_FMT, actual,
                      alg->name, quoted, expected);
    }

    jws = cjose_jws_import(compact, length, &cerr);
    if (jws == NULL) {
        return reject(err, "cjose could not parse the id_token (%s)",
                      cerr.message ? cerr.message : "unknown error");
    }
    apr_pool_cleanup_register(pool, jws, release_jws, apr_pool_cleanup_null);
    verified = cjose_jws_verify(jws, key->jwk, &cerr);
    apr_pool_cleanup_run(pool, jws, release_jws);
    if (!verified) {
        return reject(err, "signature verification failed with key '%s' "
                      "(alg %s)", quoted, alg->name);
    }
    return APR_SUCCESS;
}

/* Checks that "iss" equals the expected issuer byte for byte. */
static apr_status_t check_issuer(json_t *payload, const char *issuer,
                                 mto_error_t *err)
{
    const char *iss = json_string_value(json_object_get(payload, "iss"));
    char quoted[MTO_JOSE_QUOTE_MAX];
    char quoted_expected[MTO_JOSE_QUOTE_MAX];

    if (iss == NULL) {
        return reject(err, "claim \"iss\" is missing or not a string");
    }
    /* jansson rejects "\u0000" in strings, so strcmp compares every byte. */
    if (issuer == NULL || strcmp(iss, issuer) != 0) {
        mto_jose_printable(quoted, sizeof(quoted), iss);
        mto_jose_printable(quoted_expected, sizeof(quoted_expected), issuer);
        return reject(err, "claim iss '%s' is not the expected issuer '%s'",
                      quoted, quoted_expected);
    }
    return APR_SUCCESS;
}

/*
 * Checks that "aud" is client_id or an array that contains it, and that
 * "azp", when present, is client_id. An array of several audiences needs
 * "azp": a SHOULD in the original Core 1.0 text, enforced here.
 */
static apr_status_t check_audience(json_t *payload, const char *client_id,
                                   mto_error_t *err)
{
    json_t *aud = json_object_get(payload, "aud");
    json_t *azp = json_object_get(payload, "azp");
    json_t *value;
    size_t count = 1;
    size_t i;
    int found = 0;
    char quoted[MTO_JOSE_QUOTE_MAX];
    char quoted_client[MTO_JOSE_QUOTE_MAX];

    mto_jose_printable(quoted_client, sizeof(quoted_client), client_id);
    if (json_is_string(aud)) {
        found = client_id && strcmp(json_string_value(aud), client_id) == 0;
    }
    else if (json_is_array(aud) && json_array_size(aud) > 0) {
        count = json_array_size(aud);
        json_array_foreach(aud, i, value) {
            if (!json_is_string(value)) {
                return reject(err, "claim \"aud\" contains a value that is "
                              "not a string");
            }
            found |= client_id && strcmp(json_string_value(value),
                                         client_id) == 0;
        }
    }
    else {
        return reject(err, "claim \"aud\" is missing or not a string or a "
                      "non-empty array of strings");
    }

    if (!found) {
        value = json_is_array(aud) ? json_array_get(aud, 0) : aud;
        mto_jose_printable(quoted, sizeof(quoted), json_string_value(value));
        return reject(err, "claim aud '%s'%s does not contain the client_id "
                      "'%s'", quoted, count > 1 ? " (and more)" : "",
                      quoted_client);
    }

    if (azp != NULL) {
        if (!json_is_string(azp)) {
            return reject(err, "claim \"azp\" is not a string");
        }
        if (strcmp(json_string_value(azp), client_id) != 0) {
            mto_jose_printable(quoted, sizeof(quoted), json_string_value(azp));
            return reject(err, "claim azp '%s' is not the client_id '%s'",
                          quoted, quoted_client);
        }
    }
    else if (count > 1) {
        return reject(err, "claim \"azp\" is missing, but aud has %"
                      APR_SIZE_T_FMT " values", count);
    }
    return APR_SUCCESS;
}

/*
 * Reads a NumericDate claim (RFC 7519 section 2) in seconds. A real is
 * truncated. *present is 0 when the claim is absent, which is an error
 * only when required.
 */
static apr_status_t read_time_claim(json_t *payload, const char *name,
                                    int required, apr_int64_t *seconds,
                                    int *present, mto_error_t *err)
{
    json_t *claim = json_object_get(payload, name);
    double real;

    *present = claim != NULL;
    if (claim == NULL) {
        return required ? reject(err, "claim \"%s\" is missing", name)
                        : APR_SUCCESS;
    }
    if (json_is_integer(claim)) {
        *seconds = json_integer_value(claim);
    }
    else if (json_is_real(claim)) {
        real = json_real_value(claim);
        if (!(real >= 0 && real <= (double)IDTOKEN_TIME_MAX)) {
            return reject(err, "claim \"%s\" is out of range", name);
        }
        *seconds = (apr_int64_t)real;
    }
    else {
        return reject(err, "claim \"%s\" is not a number", name);
    }
    if (*seconds < 0 || *seconds > IDTOKEN_TIME_MAX) {
        return reject(err, "claim %s %" APR_INT64_T_FMT " is out of range",
                      name, *seconds);
    }
    return APR_SUCCESS;
}

/* Adds two non-negative times, saturating at the largest apr_time_t. */
static apr_time_t time_add(apr_time_t a, apr_interval_time_t b)
{
    return a > APR_INT64_MAX - b ? APR_INT64_MAX : a + b;
}

/* Checks "exp", "iat" and "nbf" against now, the clock skew and the
 * maximum age of "iat", and sets *expiry. */
static apr_status_t check_times(json_t *payload,
                                const mto_idtoken_expect_t *expect,
                                apr_time_t *expiry, mto_error_t *err)
{
    apr_int64_t exp = 0;
    apr_int64_t iat = 0;
    apr_int64_t nbf = 0;
    apr_int64_t now_sec = apr_time_sec(expect->now);
    apr_interval_time_t skew = expect->skew > 0 ? expect->skew : 0;
    apr_interval_time_t age = expect->iat_max_age > 0 ? expect->iat_max_age
                                                      : 0;
    int present;

    if (read_time_claim(payload, "exp", 1, &exp, &present, err)
        || read_time_claim(payload, "iat", 1, &iat, &present, err)
        || read_time_claim(payload, "nbf", 0, &nbf, &present, err)) {
        return APR_EGENERAL;
    }

    if (time_add(apr_time_from_sec(exp), skew) <= expect->now) {
        return reject(err, "claim exp %" APR_INT64_T_FMT " plus the clock "
                      "skew of %" APR_INT64_T_FMT " s is not after now (%"
                      APR_INT64_T_FMT "): the token has expired", exp,
                      apr_time_sec(skew), now_sec);
    }
    if (apr_time_from_sec(iat) > time_add(expect->now, skew)) {
        return reject(err, "claim iat %" APR_INT64_T_FMT " is in the future: "
                      "after now (%" APR_INT64_T_FMT ") plus the clock skew "
                      "of %" APR_INT64_T_FMT " s", iat, now_sec,
                      apr_time_sec(skew));
    }
    if (time_add(time_add(apr_time_from_sec(iat), age), skew) < expect->now) {
        return reject(err, "claim iat %" APR_INT64_T_FMT " is too old: "
                      "before now (%" APR_INT64_T_FMT ") minus the maximum "
                      "age of %" APR_INT64_T_FMT " s and the clock skew",
                      iat, now_sec, apr_time_sec(age));
    }
    if (present && apr_time_from_sec(nbf) > time_add(expect->now, skew)) {
        return reject(err, "claim nbf %" APR_INT64_T_FMT " is after now (%"
                      APR_INT64_T_FMT ") plus the clock skew of %"
                      APR_INT64_T_FMT " s", nbf, now_sec, apr_time_sec(skew));
    }
    *expiry = apr_time_from_sec(exp);
    return APR_SUCCESS;
}

/*
 * Checks "sub" and compares "nonce" in constant time. Neither value is
 * printed, because the nonce binds the token to this browser's login.
 */
static apr_status_t check_subject_nonce(json_t *payload,
                                        const char *expected_nonce,
                                        mto_error_t *err)
{
    json_t *sub = json_object_get(payload, "sub");
    json_t *nonce = json_object_get(payload, "nonce");
    apr_size_t length;

    if (!json_is_string(sub) || json_string_length(sub) == 0) {
        return reject(err, "claim \"sub\" is missing, empty or not a string");
    }
    if (json_string_length(sub) > IDTOKEN_SUB_MAX) {
        return reject(err, "claim \"sub\" is %" APR_SIZE_T_FMT " bytes, "
                      "longer than the maximum of %d",
                      json_string_length(sub), IDTOKEN_SUB_MAX);
    }

    if (!json_is_string(nonce)) {
        return reject(err, "claim \"nonce\" is missing or not a string");
    }
    if (expected_nonce == NULL) {
        return reject(err, "no nonce is expected, so the claim \"nonce\" "
                      "cannot match");
    }
    length = strlen(expected_nonce);
    if (json_string_length(nonce) != length
        || CRYPTO_memcmp(json_string_value(nonce), expected_nonce,
                         length) != 0) {
        return reject(err, "claim \"nonce\" does not match the nonce of "
                      "this login");
    }
    return APR_SUCCESS;
}

static apr_status_t check_claims(json_t *payload,
                                 const mto_idtoken_expect_t *expect,
                                 apr_time_t *expiry, mto_error_t *err)
{
    if (check_issuer(payload, expect->issuer, err)
        || check_audience(payload, expect->client_id, err)
        || check_times(payload, expect, expiry, err)
        || check_subject_nonce(payload, expect->nonce, err)) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t mto_idtoken_verify(apr_pool_t *pool, const char *compact,
                                const mto_jwks_t *jwks,
                                const mto_idtoken_expect_t *expect,
                                mto_idtoken_t **token, mto_error_t *err)
{
    jws_parts_t parts;
    json_t *header = NULL;
    json_t *payload = NULL;
    const mto_jose_alg_t *alg = NULL;
    const mto_jwks_key_t *key = NULL;
    const char *kid = NULL;
    apr_time_t expiry = 0;
    apr_status_t rv;

    *token = NULL;
    if (expect == NULL) {
        return reject(err, "id_token cannot be checked: no expected values "
                      "were given");
    }
    if (split_compact(pool, compact, expect->max_length, &parts, err)
        || parse_part(pool, &parts, 0, &header, err)
        || parse_part(pool, &parts, 1, &payload, err)
        || check_alg(pool, header, expect->algs, &alg, err)
        || check_other_headers(header, &kid, err)) {
        return APR_EGENERAL;
    }

    rv = kid ? select_key_by_kid(jwks, alg, kid, &key, err)
             : select_key_without_kid(jwks, alg, &key, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (verify_signature(pool, compact, &parts, alg, key, err)
        || check_claims(payload, expect, &expiry, err)) {
        return APR_EGENERAL;
    }

    *token = apr_palloc(pool, sizeof(**token));
    (*token)->payload = payload;
    (*token)->expiry = expiry;
    return APR_SUCCESS;
}

const char *mto_idtoken_claim(const mto_idtoken_t *token, const char *name)
{
    if (token == NULL || name == NULL) {
        return NULL;
    }
    return json_string_value(json_object_get(token->payload, name));
}

apr_time_t mto_idtoken_expiry(const mto_idtoken_t *token)
{
    return token ? token->expiry : 0;
}
