/*
 * Fuzz target of the tenant resolver (mto_tenant.h). The first byte of
 * the input, modulo 4, chooses the mode:
 *
 *   0  the rest is a tenant information document, a NUL byte and a
 *      discovery document. The discovery document is applied to the
 *      parsed tenant, or to a fixed tenant when the information fails.
 *      A complete tenant must survive mto_tenant_encode and
 *      mto_tenant_decode unchanged;
 *   1  the rest is a cached tenant record for mto_tenant_decode;
 *   2  the rest is lines: a Host header value for mto_host_parse, then
 *      host patterns for mto_host_matches;
 *   3  the rest is lines: an issuer, then issuer patterns for
 *      mto_issuer_matches.
 */
#include <stdint.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "mto_tenant.h"
#include "fuzz_fixture.h"
#include "fuzz_support.h"

#define MODE_DOCUMENTS 0
#define MODE_RECORD 1
#define MODE_HOST 2
#define MODE_ISSUER 3
#define MODE_COUNT 4

static apr_array_header_t *issuer_patterns;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_pool_t *pool = fuzz_init();

    issuer_patterns = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(issuer_patterns, const char *) = FUZZ_ISSUER_PATTERN;
    APR_ARRAY_PUSH(issuer_patterns, const char *) =
        "https://*.idp.example.net:8443/tenants/*";
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_list(const apr_array_header_t *a,
                     const apr_array_header_t *b)
{
    int i;

    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; i++) {
        if (!same_text(APR_ARRAY_IDX(a, i, const char *),
                       APR_ARRAY_IDX(b, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

/* Returns the name of the first field that differs, or NULL. */
static const char *tenant_difference(const mto_tenant_t *a,
                                     const mto_tenant_t *b)
{
    if (!same_text(a->host, b->host)) {
        return "host";
    }
    if (!same_text(a->issuer, b->issuer)) {
        return "issuer";
    }
    if (!same_text(a->authorization_endpoint, b->authorization_endpoint)) {
        return "authorization_endpoint";
    }
    if (!same_text(a->token_endpoint, b->token_endpoint)) {
        return "token_endpoint";
    }
    if (!same_text(a->jwks_uri, b->jwks_uri)) {
        return "jwks_uri";
    }
    if (!same_text(a->end_session_endpoint, b->end_session_endpoint)) {
        return "end_session_endpoint";
    }
    if (!same_text(a->client_id, b->client_id)) {
        return "client_id";
    }
    if (!same_list(a->signing_algs, b->signing_algs)) {
        return "signing_algs";
    }
    return NULL;
}

/* A complete tenant must decode from its own encoding unchanged. */
static void check_round_trip(apr_pool_t *pool, const mto_tenant_t *tenant)
{
    char *encoded = mto_tenant_encode(pool, tenant);
    mto_tenant_t decoded;
    mto_error_t err = { 0 };
    const char *difference;

    if (encoded == NULL) {
        fuzz_fail("mto_tenant_encode failed on a complete tenant");
    }
    if (mto_tenant_decode(pool, encoded, strlen(encoded), &decoded, &err)
        != APR_SUCCESS) {
        fuzz_fail("mto_tenant_decode rejected the encoding of a complete "
                  "tenant: %s", err.text);
    }
    difference = tenant_difference(tenant, &decoded);
    if (difference != NULL) {
        fuzz_fail("tenant field %s changed in encode and decode", difference);
    }
}

/* Checks what mto_tenant_parse_info promises about a parsed tenant. */
static void check_info(const mto_tenant_t *tenant)
{
    const char *endpoints[4];
    int i;

    endpoints[0] = tenant->authorization_endpoint;
    endpoints[1] = tenant->token_endpoint;
    endpoints[2] = tenant->jwks_uri;
    endpoints[3] = tenant->end_session_endpoint;
    if (!same_text(tenant->host, FUZZ_HOST)) {
        fuzz_fail("parsed tenant has host '%s'", tenant->host);
    }
    if (!mto_issuer_matches(tenant->issuer, issuer_patterns)) {
        fuzz_fail("parsed tenant issuer '%s' matches no issuer pattern",
                  tenant->issuer);
    }
    for (i = 0; i < 4; i++) {
        if (endpoints[i] != NULL && strncmp(endpoints[i], "https://", 8)) {
            fuzz_fail("parsed tenant endpoint '%s' is not https",
                      endpoints[i]);
        }
    }
}

static void run_documents(apr_pool_t *pool, const uint8_t *data,
                          size_t size)
{
    char *info;
    char *discovery;
    size_t info_size;
    size_t discovery_size;
    mto_tenant_t tenant;
    mto_tenant_t before;
    mto_error_t err = { 0 };
    const char *difference;

    fuzz_split(pool, data, size, &info, &info_size, &discovery,
               &discovery_size);
    if (mto_tenant_parse_info(pool, FUZZ_HOST, info, info_size,
                              issuer_patterns, &tenant, &err)
        == APR_SUCCESS) {
        check_info(&tenant);
    }
    else {
        fuzz_check_error(&err, 502, 1, "mto_tenant_parse_info");
        memset(&tenant, 0, sizeof(tenant));
        tenant.host = FUZZ_HOST;
        tenant.issuer = FUZZ_ISSUER;
    }

    before = tenant;
    memset(&err, 0, sizeof(err));
    if (mto_tenant_parse_discovery(pool, discovery, discovery_size, &tenant,
                                   &err) != APR_SUCCESS) {
        fuzz_check_error(&err, 502, 1, "mto_tenant_parse_discovery");
        /* tenant.c promises that a failure leaves the tenant unchanged. */
        difference = tenant_difference(&before, &tenant);
        if (difference != NULL) {
            fuzz_fail("failed discovery changed tenant field %s", difference);
        }
    }
    else if (!same_text(tenant.issuer, before.issuer)) {
        fuzz_fail("discovery changed the tenant's issuer");
    }
    if (mto_tenant_complete(&tenant)) {
        check_round_trip(pool, &tenant);
    }
}

static void run_record(apr_pool_t *pool, const uint8_t *data, size_t size)
{
    char *json = fuzz_text(pool, data, size);
    mto_tenant_t tenant;
    mto_error_t err = { 0 };

    if (mto_tenant_decode(pool, json, size, &tenant, &err) != APR_SUCCESS) {
        fuzz_check_error(&err, 502, 0, "mto_tenant_decode");
        return;
    }
    if (!mto_tenant_complete(&tenant)) {
        fuzz_fail("mto_tenant_decode returned an incomplete tenant");
    }
    check_round_trip(pool, &tenant);
}

/* Splits size bytes into NUL-terminated lines at each '\n'. */
static apr_array_header_t *split_lines(apr_pool_t *pool, const uint8_t *data,
                                       size_t size)
{
    apr_array_header_t *lines = apr_array_make(pool, 4, sizeof(char *));
    size_t start = 0;
    size_t i;

    for (i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            APR_ARRAY_PUSH(lines, char *) = fuzz_text(pool, data + start,
                                                      i - start);
            start = i + 1;
        }
    }
    return lines;
}

/* Returns lines without the first one, as a pattern list. */
static apr_array_header_t *pattern_lines(apr_pool_t *pool,
                                         const apr_array_header_t *lines)
{
    apr_array_header_t *patterns = apr_array_make(pool, lines->nelts,
                                                  sizeof(const char *));
    int i;

    for (i = 1; i < lines->nelts; i++) {
        APR_ARRAY_PUSH(patterns, const char *) =
            APR_ARRAY_IDX(lines, i, const char *);
    }
    return patterns;
}

static apr_array_header_t *one_pattern(apr_pool_t *pool, const char *pattern)
{
    apr_array_header_t *patterns = apr_array_make(pool, 1,
                                                  sizeof(const char *));

    APR_ARRAY_PUSH(patterns, const char *) = pattern;
    return patterns;
}

/* Checks the syntax that mto_tenant.h promises for a parsed host name. */
static void check_host_name(const char *name, const char *port)
{
    size_t length = strlen(name);
    size_t i;

    if (length == 0 || length > MTO_HOST_MAX || name[length - 1] == '.') {
        fuzz_fail("parsed host name '%s' has an invalid length or a "
                  "trailing dot", name);
    }
    for (i = 0; i < length; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || apr_isdigit(c) || c == '-'
              || c == '.')) {
            fuzz_fail("parsed host name '%s' has byte 0x%02x", name,
                      (unsigned char)c);
        }
    }
    if (port != NULL && (port[0] == '\0' || strlen(port) > 5
                         || strspn(port, "0123456789") != strlen(port))) {
        fuzz_fail("parsed port '%s' is not 1 to 5 digits", port);
    }
}

static void run_host(apr_pool_t *pool, const uint8_t *data, size_t size)
{
    apr_array_header_t *lines = split_lines(pool, data, size);
    apr_array_header_t *patterns = pattern_lines(pool, lines);
    const char *header = APR_ARRAY_IDX(lines, 0, const char *);
    const char *name = NULL;
    const char *port = NULL;
    const char *again = NULL;
    const char *url;
    char *upper;
    int i;

    for (i = 0; i < patterns->nelts; i++) {
        mto_host_pattern_valid(APR_ARRAY_IDX(patterns, i, const char *));
    }
    if (mto_host_parse(pool, header, &name, &port) != APR_SUCCESS) {
        return;
    }
    check_host_name(name, port);
    if (mto_host_parse(pool, name, &again, NULL) != APR_SUCCESS
        || strcmp(again, name) != 0) {
        fuzz_fail("parsed host name '%s' does not parse to itself", name);
    }

    /* A host name is a host pattern without wildcards, in any case. */
    upper = apr_pstrdup(pool, name);
    for (i = 0; upper[i] != '\0'; i++) {
        upper[i] = apr_toupper(upper[i]);
    }
    if (!mto_host_matches(name, one_pattern(pool, name))
        || !mto_host_matches(name, one_pattern(pool, upper))) {
        fuzz_fail("host name '%s' does not match itself as a pattern", name);
    }
    mto_host_matches(name, patterns);

    url = mto_url_expand(pool, FUZZ_URL_TEMPLATE, name);
    if (strlen(url) != strlen(FUZZ_URL_TEMPLATE) - strlen("{host}")
                       + strlen(name)) {
        fuzz_fail("mto_url_expand made '%s' from '%s'", url, name);
    }
}

static void run_issuer(apr_pool_t *pool, const uint8_t *data, size_t size)
{
    apr_array_header_t *lines = split_lines(pool, data, size);
    apr_array_header_t *patterns = pattern_lines(pool, lines);
    const char *issuer = APR_ARRAY_IDX(lines, 0, const char *);
    int i;

    for (i = 0; i < patterns->nelts; i++) {
        mto_issuer_pattern_valid(APR_ARRAY_IDX(patterns, i, const char *));
    }
    mto_issuer_pattern_valid(issuer);
    if (!mto_issuer_matches(issuer, patterns)) {
        return;
    }
    /* An issuer that any pattern accepts is a valid pattern of itself. */
    if (!mto_issuer_matches(issuer, one_pattern(pool, issuer))) {
        fuzz_fail("issuer '%s' matches a pattern but not itself", issuer);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;

    if (size == 0) {
        return 0;
    }
    pool = fuzz_input_pool_create();
    switch (data[0] % MODE_COUNT) {
    case MODE_DOCUMENTS:
        run_documents(pool, data + 1, size - 1);
        break;
    case MODE_RECORD:
        run_record(pool, data + 1, size - 1);
        break;
    case MODE_HOST:
        run_host(pool, data + 1, size - 1);
        break;
    default:
        run_issuer(pool, data + 1, size - 1);
        break;
    }
    fuzz_input_pool_destroy(pool);
    return 0;
}
