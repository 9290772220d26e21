/*
 * JWK Set parsing (RFC 7517 section 5). Each usable entry becomes a cjose
 * key. An entry that cannot verify ID token signatures is skipped with a
 * warning, so one broken key does not take down the others.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <cjose/jwk.h>
#include <jansson.h>

#include "jose_int.h"

/*
 * Maximum number of entries read from one JWK Set. Providers usually
 * publish a few keys, so 100 leaves room while bounding the import work
 * that one fetched document can cause.
 */
#define JWKS_MAX_ENTRIES 100

/* RFC 7518 section 3.3 requires RSA keys of 2048 bits or larger. */
#define JWKS_RSA_MIN_BITS 2048

static const mto_jose_alg_t supported_algs[] = {
    { "RS256", "RSA", NULL, 0 },
    { "RS384", "RSA", NULL, 0 },
    { "RS512", "RSA", NULL, 0 },
    { "PS256", "RSA", NULL, 0 },
    { "PS384", "RSA", NULL, 0 },
    { "PS512", "RSA", NULL, 0 },
    { "ES256", "EC", "P-256", 64 },
    { "ES384", "EC", "P-384", 96 },
    { "ES512", "EC", "P-521", 132 },
};

/* Members that only a private JWK has (RFC 7518 sections 6.2.2, 6.3.2). */
static const char *const private_members[] = {
    "d", "p", "q", "dp", "dq", "qi", "oth"
};

const mto_jose_alg_t *mto_jose_alg_find(const char *name)
{
    apr_size_t i;

    if (name == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(supported_algs) / sizeof(supported_algs[0]); i++) {
        if (strcmp(supported_algs[i].name, name) == 0) {
            return &supported_algs[i];
        }
    }
    return NULL;
}

int mto_jose_key_fits(const mto_jwks_key_t *key, const mto_jose_alg_t *alg)
{
    if (strcmp(key->kty, alg->kty) != 0) {
        return 0;
    }
    if (alg->crv != NULL
        && (key->crv == NULL || strcmp(key->crv, alg->crv) != 0)) {
        return 0;
    }
    return 1;
}

void mto_jose_printable(char *out, apr_size_t size, const char *text)
{
    apr_size_t i;
    apr_size_t limit;

    if (size == 0) {
        return;
    }
    if (text == NULL) {
        apr_cpystrn(out, "(null)", size);
        return;
    }
    limit = size - 1;
    for (i = 0; i < limit && text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];

        out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (text[i] != '\0' && limit >= 3) {
        memcpy(out + limit - 3, "...", 3);
        i = limit;
    }
    out[i] = '\0';
}

static apr_status_t release_json(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static apr_status_t release_jwk(void *data)
{
    cjose_jwk_release(data);
    return APR_SUCCESS;
}

/*
 * Reads an optional string member into *value (NULL when absent). Returns
 * 0 when the member is present but not a string.
 */
static int optional_string(json_t *entry, const char *name,
                           const char **value)
{
    json_t *member = json_object_get(entry, name);

    *value = NULL;
    if (member == NULL) {
        return 1;
    }
    if (!json_is_string(member)) {
        return 0;
    }
    *value = json_string_value(member);
    return 1;
}

/*
 * Returns 1 when member name is a non-empty base64url string without
 * padding (RFC 7518 section 6 gives n, e, x and y in that form). cjose
 * 0.6.2 aborts the process on a length that leaves one character over,
 * so such text never reaches it.
 */
static int has_base64url_string(json_t *entry, const char *name)
{
    json_t *member = json_object_get(entry, name);
    const char *text;
    size_t length;
    size_t i;

    if (!json_is_string(member)) {
        return 0;
    }
    text = json_string_value(member);
    length = json_string_length(member);
    if (length == 0 || length % 4 == 1 || strlen(text) != length) {
        return 0;
    }
    for (i = 0; i < length; i++) {
        if (!apr_isalnum(text[i]) && text[i] != '-' && text[i] != '_') {
            return 0;
        }
    }
    return 1;
}

static int key_ops_allow_verify(json_t *key_ops)
{
    size_t i;
    json_t *op;

    json_array_foreach(key_ops, i, op) {
        if (json_is_string(op)
            && strcmp(json_string_value(op), "verify") == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Checks the members "kty", "use", "key_ops", "alg" and "crv" of one entry
 * and copies them into key. Returns NULL when the entry may be imported,
 * else the reason to skip it.
 */
static const char *check_entry_members(apr_pool_t *pool, json_t *entry,
                                       mto_jwks_key_t *key)
{
    const char *use;
    const mto_jose_alg_t *alg;
    json_t *key_ops;
    char quoted[MTO_JOSE_QUOTE_MAX];

    if (!optional_string(entry, "kty", &key->kty) || key->kty == NULL) {
        return "\"kty\" is missing or not a string";
    }
    if (strcmp(key->kty, "oct") == 0) {
        /* A symmetric key in a public document is known to everyone. */
        return "kty \"oct\" (symmetric) keys are never used";
    }
    if (strcmp(key->kty, "RSA") != 0 && strcmp(key->kty, "EC") != 0) {
        mto_jose_printable(quoted, sizeof(quoted), key->kty);
        return apr_psprintf(pool, "kty '%s' is not supported, only RSA and EC",
                            quoted);
    }

    if (!optional_string(entry, "use", &use)) {
        return "\"use\" is not a string";
    }
    if (use != NULL && strcmp(use, "sig") != 0) {
        mto_jose_printable(quoted, sizeof(quoted), use);
        return apr_psprintf(pool, "use '%s' is not 'sig'", quoted);
    }

    key_ops = json_object_get(entry, "key_ops");
    if (key_ops != NULL && !json_is_array(key_ops)) {
        return "\"key_ops\" is not an array";
    }
    if (key_ops != NULL && !key_ops_allow_verify(key_ops)) {
        return "\"key_ops\" does not contain 'verify'";
    }

    if (!optional_string(entry, "crv", &key->crv)) {
        return "\"crv\" is not a string";
    }
    if (strcmp(key->kty, "EC") == 0) {
        if (key->crv == NULL) {
            return "EC key has no \"crv\"";
        }
        if (strcmp(key->crv, "P-256") != 0 && strcmp(key->crv, "P-384") != 0
            && strcmp(key->crv, "P-521") != 0) {
            mto_jose_printable(quoted, sizeof(quoted), key->crv);
            return apr_psprintf(pool, "crv '%s' is not supported, only P-256, "
                                "P-384 and P-521", quoted);
        }
    }
    else {
        key->crv = NULL;
    }

    if (!optional_string(entry, "alg", &key->alg)) {
        return "\"alg\" is not a string";
    }
    if (key->alg != NULL) {
        alg = mto_jose_alg_find(key->alg);
        mto_jose_printable(quoted, sizeof(quoted), key->alg);
        if (alg == NULL) {
            return apr_psprintf(pool, "alg '%s' is not a supported signature "
                                "algorithm", quoted);
        }
        if (!mto_jose_key_fits(key, alg)) {
            return apr_psprintf(pool, "alg '%s' does not fit kty '%s'%s%s",
                                quoted, key->kty, key->crv ? " crv " : "",
                                key->crv ? key->crv : "");
        }
    }
    return NULL;
}

/*
 * Checks that the entry carries the public parameters of its kty and no
 * private ones. A private key published in a JWK Set lets anyone sign, so
 * such an entry is skipped although cjose would import it.
 */
static const char *check_entry_parameters(apr_pool_t *pool, json_t *entry,
                                          const char *kty)
{
    apr_size_t i;
    int rsa = strcmp(kty, "RSA") == 0;

    if (rsa && (!has_base64url_string(entry, "n")
                || !has_base64url_string(entry, "e"))) {
        return "RSA key needs \"n\" and \"e\" as base64url strings "
               "without padding";
    }
    if (!rsa && (!has_base64url_string(entry, "x")
                 || !has_base64url_string(entry, "y"))) {
        return "EC key needs \"x\" and \"y\" as base64url strings "
               "without padding";
    }
    for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        if (json_object_get(entry, private_members[i]) != NULL) {
            return apr_psprintf(pool, "entry contains the private key "
                                "member \"%s\"", private_members[i]);
        }
    }
    return NULL;
}

/* Checks the RSA key size, which cjose computes on import. */
static const char *check_imported_key(apr_pool_t *pool, cjose_jwk_t *jwk,
                                      mto_jwks_key_t *key)
{
    key->bits = cjose_jwk_get_keysize(jwk, NULL);
    if (strcmp(key->kty, "RSA") == 0 && key->bits < JWKS_RSA_MIN_BITS) {
        return apr_psprintf(pool, "RSA key has %" APR_SIZE_T_FMT " bits, "
                            "fewer than the minimum of %d",
                            key->bits, JWKS_RSA_MIN_BITS);
    }
    return NULL;
}

/*
 * Imports one entry with cjose. On success key->jwk is set and released by
 * a cleanup on pool. Returns NULL on success, else the reason to skip it.
 */
static const char *import_entry(apr_pool_t *pool, json_t *entry,
                                mto_jwks_key_t *key)
{
    cjose_err cerr = { 0 };
    cjose_jwk_t *jwk;
    const char *reason;
    char *text;
    json_free_t free_text;

    text = json_dumps(entry, JSON_COMPACT);
    if (text == NULL) {
        return "entry could not be serialised for import";
    }
    jwk = cjose_jwk_import(text, strlen(text), &cerr);
    json_get_alloc_funcs(NULL, &free_text);
    free_text(text);
    if (jwk == NULL) {
        return apr_psprintf(pool, "cjose could not import it (%s)",
                            cerr.message ? cerr.message : "unknown error");
    }

    reason = check_imported_key(pool, jwk, key);
    if (reason != NULL) {
        cjose_jwk_release(jwk);
        return reason;
    }
    key->jwk = jwk;
    apr_pool_cleanup_register(pool, jwk, release_jwk, apr_pool_cleanup_null);
    return NULL;
}

/*
 * Reads entry number index into a new key of jwks. Returns NULL when the
 * key was added, else a warning that names the entry and the reason.
 */
static const char *add_entry(apr_pool_t *pool, mto_jwks_t *jwks,
                             json_t *entry, size_t index)
{
    mto_jwks_key_t key = { 0 };
    const char *reason = NULL;
    const char *kid = NULL;
    char quoted[MTO_JOSE_QUOTE_MAX];

    if (!json_is_object(entry)) {
        reason = "entry is not a JSON object";
    }
    else if (!optional_string(entry, "kid", &kid)) {
        reason = "\"kid\" is not a string";
    }
    if (reason == NULL) {
        reason = check_entry_members(pool, entry, &key);
    }
    if (reason == NULL) {
        reason = check_entry_parameters(pool, entry, key.kty);
    }
    if (reason == NULL) {
        reason = import_entry(pool, entry, &key);
    }

    if (reason != NULL) {
        if (kid == NULL) {
            return apr_psprintf(pool, "JWKS key %" APR_SIZE_T_FMT
                                " (no kid) skipped: %s", index, reason);
        }
        mto_jose_printable(quoted, sizeof(quoted), kid);
        return apr_psprintf(pool, "JWKS key %" APR_SIZE_T_FMT
                            " (kid '%s') skipped: %s", index, quoted, reason);
    }

    /* The strings belong to the document, which is released on return. */
    key.kid = kid ? apr_pstrdup(pool, kid) : NULL;
    key.kty = apr_pstrdup(pool, key.kty);
    key.alg = key.alg ? apr_pstrdup(pool, key.alg) : NULL;
    key.crv = key.crv ? apr_pstrdup(pool, key.crv) : NULL;
    APR_ARRAY_PUSH(jwks->keys, mto_jwks_key_t) = key;
    return NULL;
}

/* Loads the document and returns its "keys" array, or NULL with err set. */
static json_t *load_keys_array(apr_pool_t *pool, const char *json,
                               apr_size_t length, json_t **document,
                               mto_error_t *err)
{
    json_error_t jerr;
    json_t *keys;
    char quoted[MTO_JOSE_QUOTE_MAX];

    *document = NULL;
    if (json == NULL || length == 0) {
        mto_error_set(err, 502, "JWKS document is empty");
        return NULL;
    }
    *document = json_loadb(json, length, JSON_REJECT_DUPLICATES, &jerr);
    if (*document == NULL) {
        mto_jose_printable(quoted, sizeof(quoted), jerr.text);
        mto_error_set(err, 502, "JWKS document is not valid JSON: %s "
                      "(line %d, column %d)", quoted, jerr.line, jerr.column);
        return NULL;
    }
    apr_pool_cleanup_register(pool, *document, release_json,
                              apr_pool_cleanup_null);

    if (!json_is_object(*document)) {
        mto_error_set(err, 502, "JWKS document is not a JSON object");
        return NULL;
    }
    keys = json_object_get(*document, "keys");
    if (!json_is_array(keys)) {
        mto_error_set(err, 502, "JWKS document has no \"keys\" array");
        return NULL;
    }
    return keys;
}

apr_status_t mto_jwks_parse(apr_pool_t *pool, const char *json,
                            apr_size_t length, mto_jwks_t **jwks,
                            apr_array_header_t **warnings, mto_error_t *err)
{
    json_t *document;
    json_t *keys;
    json_t *entry;
    size_t index;
    const char *warning;
    mto_jwks_t *set;

    *jwks = NULL;
    *warnings = apr_array_make(pool, 2, sizeof(const char *));

    keys = load_keys_array(pool, json, length, &document, err);
    if (keys == NULL) {
        if (document != NULL) {
            apr_pool_cleanup_run(pool, document, release_json);
        }
        return APR_EGENERAL;
    }

    set = apr_pcalloc(pool, sizeof(*set));
    set->keys = apr_array_make(pool, 4, sizeof(mto_jwks_key_t));
    json_array_foreach(keys, index, entry) {
        if (index >= JWKS_MAX_ENTRIES) {
            APR_ARRAY_PUSH(*warnings, const char *) =
                apr_psprintf(pool, "JWKS has %" APR_SIZE_T_FMT " keys: only "
                             "the first %d were read",
                             json_array_size(keys), JWKS_MAX_ENTRIES);
            break;
        }
        warning = add_entry(pool, set, entry, index);
        if (warning != NULL) {
            APR_ARRAY_PUSH(*warnings, const char *) = warning;
        }
    }

    /* Every kept value was copied, so the document can go now. */
    apr_pool_cleanup_run(pool, document, release_json);
    *jwks = set;
    return APR_SUCCESS;
}

int mto_jwks_count(const mto_jwks_t *jwks)
{
    return jwks ? jwks->keys->nelts : 0;
}
