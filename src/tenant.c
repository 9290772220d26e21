/*
 * Tenant resolver without httpd: host names and patterns, issuer
 * patterns, the tenant information and discovery documents, and the
 * cached tenant record. The rules are stated in mto_tenant.h.
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "mto_tenant.h"

#define LABEL_MAX 63
#define PORT_DIGITS_MAX 5
#define CLIENT_ID_MAX 255

/* Longest quoted value in an error message, in bytes. */
#define CLIP_MAX 80

typedef struct {
    const char *host;
    apr_size_t host_length;
    const char *port;           /* NULL when the URL has no port */
    apr_size_t port_length;
    const char *path;           /* the rest of the URL, "" or "/..." */
} url_parts_t;

/* The relations of the tenant information "links" that fill a tenant. */
static const char *const endpoint_names[] = {
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "end_session_endpoint"
};

#define ENDPOINT_COUNT \
    ((int)(sizeof(endpoint_names) / sizeof(endpoint_names[0])))

static const char **endpoint_slot(mto_tenant_t *tenant, int index)
{
    switch (index) {
    case 0:
        return &tenant->authorization_endpoint;
    case 1:
        return &tenant->token_endpoint;
    case 2:
        return &tenant->jwks_uri;
    default:
        return &tenant->end_session_endpoint;
    }
}

/*
 * Copies value into buffer (CLIP_MAX + 4 bytes) for an error message:
 * bytes outside printable ASCII become '?', and a value longer than
 * CLIP_MAX is cut and ends in "...".
 */
static const char *clip(char *buffer, const char *value)
{
    apr_size_t i;

    for (i = 0; value[i] != '\0' && i < CLIP_MAX; i++) {
        unsigned char c = (unsigned char)value[i];

        buffer[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (value[i] != '\0') {
        memcpy(buffer + i, "...", 3);
        i += 3;
    }
    buffer[i] = '\0';
    return buffer;
}

static int is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int label_valid(const char *label, apr_size_t length)
{
    apr_size_t i;

    if (length == 0 || length > LABEL_MAX) {
        return 0;
    }
    if (label[0] == '-' || label[length - 1] == '-') {
        return 0;
    }
    for (i = 0; i < length; i++) {
        if (!is_ldh(label[i])) {
            return 0;
        }
    }
    return 1;
}

/*
 * Returns 1 when the last label could make the name an IPv4 address for
 * inet_aton: all digits ("127.0.0.1", "2130706433") or a hex number
 * ("0x7f000001"). Top-level domains in use have neither form.
 */
static int label_numeric(const char *label, apr_size_t length)
{
    apr_size_t i = 0;

    if (length >= 2 && label[0] == '0'
        && (label[1] == 'x' || label[1] == 'X')) {
        for (i = 2; i < length; i++) {
            if (!apr_isxdigit(label[i])) {
                return 0;
            }
        }
        return 1;
    }
    for (i = 0; i < length; i++) {
        if (!is_digit(label[i])) {
            return 0;
        }
    }
    return 1;
}

/*
 * Checks the syntax of a host name of length bytes, or of a host pattern
 * when wildcards is set ("*" as a whole label, at least one other label).
 */
static int name_check(const char *name, apr_size_t length, int wildcards)
{
    const char *label = name;
    const char *end = name + length;
    int fixed_labels = 0;

    if (length == 0 || length > MTO_HOST_MAX) {
        return 0;
    }
    for (;;) {
        const char *dot = memchr(label, '.', end - label);
        apr_size_t label_length = (dot ? dot : end) - label;

        if (wildcards && label_length == 1 && label[0] == '*') {
            /* a wildcard label */
        }
        else if (label_valid(label, label_length)) {
            fixed_labels++;
        }
        else {
            return 0;
        }
        if (dot == NULL) {
            return fixed_labels > 0 && !label_numeric(label, label_length);
        }
        label = dot + 1;
    }
}

/* Checks a port of 1 to 5 digits with a value from 1 to 65535. */
static int port_valid(const char *port, apr_size_t length)
{
    apr_size_t i;
    long value = 0;

    if (length == 0 || length > PORT_DIGITS_MAX) {
        return 0;
    }
    for (i = 0; i < length; i++) {
        if (!is_digit(port[i])) {
            return 0;
        }
        value = value * 10 + (port[i] - '0');
    }
    return value >= 1 && value <= 65535;
}

apr_status_t mto_host_parse(apr_pool_t *pool, const char *header,
                            const char **name, const char **port)
{
    const char *colon;
    apr_size_t length;
    char *lower;
    apr_size_t i;

    if (header == NULL) {
        return APR_EINVAL;
    }
    colon = strchr(header, ':');
    length = colon ? (apr_size_t)(colon - header) : strlen(header);
    if (colon && !port_valid(colon + 1, strlen(colon + 1))) {
        return APR_EINVAL;
    }
    if (length > 0 && header[length - 1] == '.') {
        length--;
    }
    if (!name_check(header, length, 0)) {
        return APR_EINVAL;
    }

    lower = apr_pstrmemdup(pool, header, length);
    for (i = 0; i < length; i++) {
        lower[i] = apr_tolower(lower[i]);
    }
    *name = lower;
    if (port) {
        *port = colon ? apr_pstrdup(pool, colon + 1) : NULL;
    }
    return APR_SUCCESS;
}

int mto_host_pattern_valid(const char *pattern)
{
    return pattern != NULL && name_check(pattern, strlen(pattern), 1);
}

/*
 * Matches a host name against a host pattern, label by label. Neither
 * needs a terminating NUL. A "*" label matches one valid label.
 */
static int host_pattern_match(const char *pattern, apr_size_t pattern_length,
                              const char *name, apr_size_t name_length)
{
    const char *pattern_end = pattern + pattern_length;
    const char *name_end = name + name_length;

    for (;;) {
        const char *pattern_dot = memchr(pattern, '.', pattern_end - pattern);
        const char *name_dot = memchr(name, '.', name_end - name);
        apr_size_t pattern_label = (pattern_dot ? pattern_dot : pattern_end)
                                    - pattern;
        apr_size_t name_label = (name_dot ? name_dot : name_end) - name;

        if (pattern_label == 1 && pattern[0] == '*') {
            if (!label_valid(name, name_label)) {
                return 0;
            }
        }
        else if (pattern_label != name_label
                 || strncasecmp(pattern, name, pattern_label) != 0) {
            return 0;
        }
        if (pattern_dot == NULL || name_dot == NULL) {
            return pattern_dot == NULL && name_dot == NULL;
        }
        pattern = pattern_dot + 1;
        name = name_dot + 1;
    }
}

int mto_host_matches(const char *name, const apr_array_header_t *patterns)
{
    int i;

    if (name == NULL || patterns == NULL) {
        return 0;
    }
    for (i = 0; i < patterns->nelts; i++) {
        const char *pattern = APR_ARRAY_IDX(patterns, i, const char *);

        if (mto_host_pattern_valid(pattern)
            && host_pattern_match(pattern, strlen(pattern),
                                  name, strlen(name))) {
            return 1;
        }
    }
    return 0;
}

/*
 * Splits an https URL into host, port and the rest. Fails on another
 * scheme, user information, a fragment, an empty host, an invalid port,
 * or a byte outside printable ASCII (spaces included). The host itself is
 * not checked here.
 */
static int url_split(const char *url, url_parts_t *parts)
{
    const char *authority;
    const char *end;
    const char *colon;
    const char *c;

    if (strncmp(url, "https://", 8) != 0) {
        return 0;
    }
    for (c = url; *c != '\0'; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            return 0;
        }
    }
    if (strchr(url, '#') != NULL) {
        return 0;
    }

    authority = url + 8;
    end = authority + strcspn(authority, "/?");
    if (memchr(authority, '@', end - authority) != NULL) {
        return 0;
    }
    colon = memchr(authority, ':', end - authority);
    parts->host = authority;
    parts->host_length = (colon ? colon : end) - authority;
    parts->port = NULL;
    parts->port_length = 0;
    if (colon) {
        parts->port = colon + 1;
        parts->port_length = end - parts->port;
        if (!port_valid(parts->port, parts->port_length)) {
            return 0;
        }
    }
    parts->path = end;
    return parts->host_length > 0;
}

/*
 * Checks an issuer path, or an issuer pattern's path when pattern is set
 * (a final "*" allowed). Dot segments and encoded dots are rejected
 * because libcurl removes dot segments before sending, which could move
 * a URL built from the issuer out of the path that the pattern allows.
 */
static int issuer_path_valid(const char *path, int pattern)
{
    apr_size_t length = strlen(path);
    const char *segment;

    if (length == 0) {
        return 1;
    }
    if (path[0] != '/') {
        return 0;
    }
    if (pattern && path[length - 1] == '*') {
        length--;
    }
    if (memchr(path, '*', length) || memchr(path, '\\', length)
        || memchr(path, '?', length)) {
        return 0;
    }
    for (segment = path; segment < path + length; ) {
        const char *next = segment + 1;
        apr_size_t segment_length;

        while (next < path + length && *next != '/') {
            next++;
        }
        segment_length = next - segment - 1;
        if ((segment_length == 1 && segment[1] == '.')
            || (segment_length == 2 && segment[1] == '.'
                && segment[2] == '.')) {
            return 0;
        }
        segment = next;
    }
    for (segment = path; (segment = strchr(segment, '%')) != NULL; segment++) {
        if (segment[1] == '2' && (segment[2] == 'e' || segment[2] == 'E')) {
            return 0;
        }
    }
    return 1;
}

int mto_issuer_pattern_valid(const char *pattern)
{
    url_parts_t parts;

    if (pattern == NULL || !url_split(pattern, &parts)) {
        return 0;
    }
    return name_check(parts.host, parts.host_length, 1)
           && issuer_path_valid(parts.path, 1);
}

/* Splits an issuer URL, failing where no issuer pattern could match it. */
static int issuer_split(const char *issuer, url_parts_t *parts)
{
    return issuer != NULL && url_split(issuer, parts)
           && strchr(parts->path, '?') == NULL
           && name_check(parts->host, parts->host_length, 0)
           && issuer_path_valid(parts->path, 0);
}

static int issuer_pattern_match(const char *pattern, const url_parts_t *issuer)
{
    url_parts_t parts;
    apr_size_t path_length;

    if (!mto_issuer_pattern_valid(pattern) || !url_split(pattern, &parts)) {
        return 0;
    }
    if (!host_pattern_match(parts.host, parts.host_length,
                            issuer->host, issuer->host_length)) {
        return 0;
    }
    if ((parts.port == NULL) != (issuer->port == NULL)) {
        return 0;
    }
    if (parts.port && (parts.port_length != issuer->port_length
                       || memcmp(parts.port, issuer->port,
                                 parts.port_length) != 0)) {
        return 0;
    }
    path_length = strlen(parts.path);
    if (path_length > 0 && parts.path[path_length - 1] == '*') {
        return strncmp(issuer->path, parts.path, path_length - 1) == 0;
    }
    return strcmp(issuer->path, parts.path) == 0;
}

int mto_issuer_matches(const char *issuer, const apr_array_header_t *patterns)
{
    url_parts_t parts;
    int i;

    if (patterns == NULL || !issuer_split(issuer, &parts)) {
        return 0;
    }
    for (i = 0; i < patterns->nelts; i++) {
        if (issuer_pattern_match(APR_ARRAY_IDX(patterns, i, const char *),
                                 &parts)) {
            return 1;
        }
    }
    return 0;
}

const char *mto_url_expand(apr_pool_t *pool, const char *url_template,
                           const char *name)
{
    static const char placeholder[] = "{host}";
    const apr_size_t placeholder_length = sizeof(placeholder) - 1;
    apr_size_t name_length = strlen(name);
    apr_size_t count = 0;
    const char *from;
    const char *found;
    char *result;
    char *to;

    for (from = url_template; (found = strstr(from, placeholder)) != NULL;
         from = found + placeholder_length) {
        count++;
    }
    result = apr_palloc(pool, strlen(url_template) + 1
                              + count * name_length);
    to = result;
    for (from = url_template; (found = strstr(from, placeholder)) != NULL;
         from = found + placeholder_length) {
        memcpy(to, from, found - from);
        to += found - from;
        memcpy(to, name, name_length);
        to += name_length;
    }
    strcpy(to, from);
    return result;
}

/*
 * Checks an endpoint URL: https, a valid host name (IP literals are
 * rejected as for the Host header), no user information, no fragment.
 * A query is allowed (RFC 6749 section 3.1).
 */
static int endpoint_valid(const char *url)
{
    url_parts_t parts;

    return url_split(url, &parts)
           && name_check(parts.host, parts.host_length, 0);
}

/* Returns the text of a JSON string without NUL bytes, else NULL. */
static const char *json_text(const json_t *value)
{
    const char *text = json_string_value(value);

    if (text == NULL || strlen(text) != json_string_length(value)) {
        return NULL;
    }
    return text;
}

static int client_id_valid(const char *client_id)
{
    apr_size_t length = strlen(client_id);
    apr_size_t i;

    if (length == 0 || length > CLIENT_ID_MAX) {
        return 0;
    }
    for (i = 0; i < length; i++) {
        if ((unsigned char)client_id[i] <= 0x20
            || (unsigned char)client_id[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Parses length bytes of json, which must be an object. what names the
 * document in messages. */
static json_t *load_object(const char *json, apr_size_t length,
                           const char *what, mto_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, length, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        char reason[sizeof(jerr.text)];
        apr_size_t i;

        /* jansson quotes the input near the error, which is the
         * provider's text: only printable ASCII of it reaches the log. */
        for (i = 0; jerr.text[i] != '\0' && i < sizeof(reason) - 1; i++) {
            unsigned char c = (unsigned char)jerr.text[i];

            reason[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        reason[i] = '\0';
        mto_error_set(err, 502, "%s is not valid JSON: %s at line %d "
                      "column %d", what, reason, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        mto_error_set(err, 502, "%s is not a JSON object", what);
        json_decref(root);
        return NULL;
    }
    return root;
}

static int endpoint_index(const char *relation)
{
    int i;

    for (i = 0; i < ENDPOINT_COUNT; i++) {
        if (strcmp(relation, endpoint_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* Reads one element of "links" into tenant, skipping unknown relations. */
static apr_status_t parse_link(apr_pool_t *pool, json_t *link,
                               apr_size_t position, mto_tenant_t *tenant,
                               mto_error_t *err)
{
    char clipped[CLIP_MAX + 4];
    const char *relation = json_text(json_object_get(link, "relation"));
    const char *href = json_text(json_object_get(link, "href"));
    const char **slot;
    int index;

    if (!json_is_object(link) || relation == NULL) {
        mto_error_set(err, 502, "tenant information: \"links\" item %lu is "
                      "not an object with a string \"relation\"",
                      (unsigned long)position);
        return APR_EINVAL;
    }
    index = endpoint_index(relation);
    if (index < 0) {
        return APR_SUCCESS;
    }
    if (href == NULL) {
        mto_error_set(err, 502, "tenant information: link \"%s\" has no "
                      "string \"href\"", relation);
        return APR_EINVAL;
    }

    slot = endpoint_slot(tenant, index);
    if (*slot != NULL) {
        mto_error_set(err, 502, "tenant information: link \"%s\" appears "
                      "more than once", relation);
        return APR_EINVAL;
    }
    if (!endpoint_valid(href)) {
        mto_error_set(err, 502, "tenant information: href \"%s\" of link "
                      "\"%s\" is not a valid https URL",
                      clip(clipped, href), relation);
        return APR_EINVAL;
    }
    *slot = apr_pstrdup(pool, href);
    return APR_SUCCESS;
}

static apr_status_t parse_links(apr_pool_t *pool, json_t *links,
                                mto_tenant_t *tenant, mto_error_t *err)
{
    apr_size_t i;
    json_t *link;

    if (links == NULL) {
        return APR_SUCCESS;
    }
    if (!json_is_array(links)) {
        mto_error_set(err, 502, "tenant information: \"links\" is not an "
                      "array");
        return APR_EINVAL;
    }
    json_array_foreach(links, i, link) {
        apr_status_t rv = parse_link(pool, link, i, tenant, err);

        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t parse_issuer_url(apr_pool_t *pool, json_t *root,
                                     const apr_array_header_t *patterns,
                                     mto_tenant_t *tenant, mto_error_t *err)
{
    char clipped[CLIP_MAX + 4];
    json_t *value = json_object_get(root, "issuerUrl");
    const char *issuer = json_text(value);
    url_parts_t parts;

    if (value == NULL) {
        mto_error_set(err, 502, "tenant information: \"issuerUrl\" is "
                      "missing");
        return APR_EINVAL;
    }
    if (issuer == NULL) {
        mto_error_set(err, 502, "tenant information: \"issuerUrl\" is not "
                      "a string");
        return APR_EINVAL;
    }
    if (!issuer_split(issuer, &parts)) {
        mto_error_set(err, 502, "tenant information: \"issuerUrl\" \"%s\" "
                      "is not an https URL without query, fragment or user "
                      "information", clip(clipped, issuer));
        return APR_EINVAL;
    }
    if (!mto_issuer_matches(issuer, patterns)) {
        mto_error_set(err, 502, "tenant information: \"issuerUrl\" \"%s\" "
                      "matches no configured issuer pattern",
                      clip(clipped, issuer));
        return APR_EINVAL;
    }
    tenant->issuer = apr_pstrdup(pool, issuer);
    return APR_SUCCESS;
}

static apr_status_t parse_client_id(apr_pool_t *pool, json_t *root,
                                    mto_tenant_t *tenant, mto_error_t *err)
{
    json_t *value = json_object_get(root, "clientId");
    const char *client_id = json_text(value);

    if (value == NULL) {
        return APR_SUCCESS;
    }
    if (client_id == NULL || !client_id_valid(client_id)) {
        mto_error_set(err, 502, "tenant information: \"clientId\" is not a "
                      "string of 1 to %d printable ASCII characters without "
                      "spaces", CLIENT_ID_MAX);
        return APR_EINVAL;
    }
    tenant->client_id = apr_pstrdup(pool, client_id);
    return APR_SUCCESS;
}

/* Returns the static copy of a supported response type, or NULL. */
static const char *response_type_known(const char *value)
{
    if (value == NULL) {
        return NULL;
    }
    if (strcmp(value, "id_token") == 0) {
        return "id_token";
    }
    if (strcmp(value, "code") == 0) {
        return "code";
    }
    return NULL;
}

static apr_status_t parse_response_type(json_t *root, mto_tenant_t *tenant,
                                        mto_error_t *err)
{
    json_t *value = json_object_get(root, "responseType");

    if (value == NULL) {
        return APR_SUCCESS;
    }
    tenant->response_type = response_type_known(json_text(value));
    if (tenant->response_type == NULL) {
        mto_error_set(err, 502, "tenant information: \"responseType\" is "
                      "not \"id_token\" or \"code\"");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t mto_tenant_parse_info(apr_pool_t *pool, const char *name,
                                   const char *json, apr_size_t length,
                                   const apr_array_header_t *issuer_patterns,
                                   mto_tenant_t *tenant, mto_error_t *err)
{
    json_t *root;
    apr_status_t rv;

    memset(tenant, 0, sizeof(*tenant));
    root = load_object(json, length, "tenant information", err);
    if (root == NULL) {
        return APR_EINVAL;
    }

    rv = parse_issuer_url(pool, root, issuer_patterns, tenant, err);
    if (rv == APR_SUCCESS) {
        rv = parse_client_id(pool, root, tenant, err);
    }
    if (rv == APR_SUCCESS) {
        rv = parse_response_type(root, tenant, err);
    }
    if (rv == APR_SUCCESS) {
        rv = parse_links(pool, json_object_get(root, "links"), tenant, err);
    }
    json_decref(root);

    if (rv != APR_SUCCESS) {
        memset(tenant, 0, sizeof(*tenant));
        return rv;
    }
    tenant->host = apr_pstrdup(pool, name);
    return APR_SUCCESS;
}

/*
 * Reads a string array member into *list. An absent member leaves *list
 * unchanged, and anything but a non-empty array of strings fails.
 */
static int parse_string_array(apr_pool_t *pool, json_t *value,
                              apr_array_header_t **list)
{
    apr_array_header_t *result;
    apr_size_t i;
    json_t *item;

    if (value == NULL) {
        return 1;
    }
    if (!json_is_array(value) || json_array_size(value) == 0) {
        return 0;
    }
    result = apr_array_make(pool, (int)json_array_size(value),
                            sizeof(const char *));
    json_array_foreach(value, i, item) {
        const char *text = json_text(item);

        if (text == NULL || *text == '\0') {
            return 0;
        }
        APR_ARRAY_PUSH(result, const char *) = apr_pstrdup(pool, text);
    }
    *list = result;
    return 1;
}

static apr_status_t parse_discovery_issuer(json_t *root,
                                           const mto_tenant_t *tenant,
                                           mto_error_t *err)
{
    char clipped[CLIP_MAX + 4];
    char expected[CLIP_MAX + 4];
    json_t *value = json_object_get(root, "issuer");
    const char *issuer = json_text(value);

    if (issuer == NULL) {
        mto_error_set(err, 502, "discovery document: \"issuer\" is %s",
                      value ? "not a string" : "missing");
        return APR_EINVAL;
    }
    if (tenant->issuer == NULL || strcmp(issuer, tenant->issuer) != 0) {
        mto_error_set(err, 502, "discovery document: \"issuer\" \"%s\" "
                      "differs from the tenant's issuer \"%s\"",
                      clip(clipped, issuer),
                      clip(expected, tenant->issuer ? tenant->issuer : ""));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t mto_tenant_parse_discovery(apr_pool_t *pool, const char *json,
                                        apr_size_t length,
                                        mto_tenant_t *tenant,
                                        mto_error_t *err)
{
    static const char algs_name[] = "id_token_signing_alg_values_supported";
    char clipped[CLIP_MAX + 4];
    const char *found[ENDPOINT_COUNT] = { NULL };
    apr_array_header_t *algs = tenant->signing_algs;
    json_t *root;
    int i;

    root = load_object(json, length, "discovery document", err);
    if (root == NULL) {
        return APR_EINVAL;
    }
    if (parse_discovery_issuer(root, tenant, err) != APR_SUCCESS) {
        json_decref(root);
        return APR_EINVAL;
    }

    /* Validate every field before changing tenant, so that a failure
     * leaves it unchanged. */
    for (i = 0; i < ENDPOINT_COUNT; i++) {
        json_t *value = json_object_get(root, endpoint_names[i]);
        const char *url = json_text(value);

        if (*endpoint_slot(tenant, i) != NULL || value == NULL) {
            continue;
        }
        if (url == NULL) {
            mto_error_set(err, 502, "discovery document: \"%s\" is not a "
                          "string", endpoint_names[i]);
            json_decref(root);
            return APR_EINVAL;
        }
        if (!endpoint_valid(url)) {
            mto_error_set(err, 502, "discovery document: \"%s\" \"%s\" is "
                          "not a valid https URL", endpoint_names[i],
                          clip(clipped, url));
            json_decref(root);
            return APR_EINVAL;
        }
        found[i] = apr_pstrdup(pool, url);
    }
    if (!parse_string_array(pool, json_object_get(root, algs_name), &algs)) {
        mto_error_set(err, 502, "discovery document: \"%s\" is not a "
                      "non-empty array of strings", algs_name);
        json_decref(root);
        return APR_EINVAL;
    }
    json_decref(root);

    for (i = 0; i < ENDPOINT_COUNT; i++) {
        if (found[i] != NULL) {
            *endpoint_slot(tenant, i) = found[i];
        }
    }
    tenant->signing_algs = algs;
    return APR_SUCCESS;
}

apr_array_header_t *mto_tenant_algorithms(apr_pool_t *pool,
                                          apr_array_header_t *allowed,
                                          const mto_tenant_t *tenant)
{
    apr_array_header_t *result;
    int i;
    int j;

    if (tenant->signing_algs == NULL) {
        return allowed;
    }
    result = apr_array_make(pool, allowed->nelts, sizeof(const char *));
    for (i = 0; i < allowed->nelts; i++) {
        const char *alg = APR_ARRAY_IDX(allowed, i, const char *);

        for (j = 0; j < tenant->signing_algs->nelts; j++) {
            if (strcmp(alg, APR_ARRAY_IDX(tenant->signing_algs, j,
                                          const char *)) == 0) {
                APR_ARRAY_PUSH(result, const char *) = alg;
                break;
            }
        }
    }
    return result;
}

int mto_tenant_complete(const mto_tenant_t *tenant)
{
    return tenant->issuer != NULL && tenant->authorization_endpoint != NULL
           && tenant->jwks_uri != NULL;
}

/* Member names of the cached tenant record. */
#define RECORD_HOST "host"
#define RECORD_ISSUER "issuer"
#define RECORD_CLIENT_ID "client_id"
#define RECORD_RESPONSE_TYPE "response_type"
#define RECORD_ALGS "signing_algs"

static void set_text(json_t *object, const char *name, const char *text)
{
    if (text != NULL) {
        json_object_set_new(object, name, json_string(text));
    }
}

char *mto_tenant_encode(apr_pool_t *pool, const mto_tenant_t *tenant)
{
    json_t *root = json_object();
    char *dumped;
    char *result;
    int i;

    set_text(root, RECORD_HOST, tenant->host);
    set_text(root, RECORD_ISSUER, tenant->issuer);
    set_text(root, RECORD_CLIENT_ID, tenant->client_id);
    set_text(root, RECORD_RESPONSE_TYPE, tenant->response_type);
    for (i = 0; i < ENDPOINT_COUNT; i++) {
        set_text(root, endpoint_names[i],
                 *endpoint_slot((mto_tenant_t *)tenant, i));
    }
    if (tenant->signing_algs != NULL) {
        json_t *algs = json_array();

        for (i = 0; i < tenant->signing_algs->nelts; i++) {
            json_array_append_new(algs, json_string(
                APR_ARRAY_IDX(tenant->signing_algs, i, const char *)));
        }
        json_object_set_new(root, RECORD_ALGS, algs);
    }

    dumped = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (dumped == NULL) {
        return NULL;
    }
    result = apr_pstrdup(pool, dumped);
    free(dumped);
    return result;
}

/*
 * Reads an optional string member of a cached record. Fails when the
 * member is present but not a string, or not a valid URL when url is set.
 */
static int decode_text(apr_pool_t *pool, json_t *root, const char *name,
                       int url, const char **text)
{
    json_t *value = json_object_get(root, name);
    const char *found = json_text(value);

    *text = NULL;
    if (value == NULL) {
        return 1;
    }
    if (found == NULL || (url && !endpoint_valid(found))) {
        return 0;
    }
    *text = apr_pstrdup(pool, found);
    return 1;
}

static const char *decode_fields(apr_pool_t *pool, json_t *root,
                                 mto_tenant_t *tenant)
{
    url_parts_t parts;
    int i;

    if (!decode_text(pool, root, RECORD_HOST, 0, &tenant->host)
        || tenant->host == NULL
        || !name_check(tenant->host, strlen(tenant->host), 0)) {
        return RECORD_HOST;
    }
    if (!decode_text(pool, root, RECORD_ISSUER, 0, &tenant->issuer)
        || tenant->issuer == NULL || !issuer_split(tenant->issuer, &parts)) {
        return RECORD_ISSUER;
    }
    if (!decode_text(pool, root, RECORD_CLIENT_ID, 0, &tenant->client_id)
        || (tenant->client_id && !client_id_valid(tenant->client_id))) {
        return RECORD_CLIENT_ID;
    }
    if (!decode_text(pool, root, RECORD_RESPONSE_TYPE, 0,
                     &tenant->response_type)) {
        return RECORD_RESPONSE_TYPE;
    }
    if (tenant->response_type != NULL) {
        tenant->response_type = response_type_known(tenant->response_type);
        if (tenant->response_type == NULL) {
            return RECORD_RESPONSE_TYPE;
        }
    }
    for (i = 0; i < ENDPOINT_COUNT; i++) {
        if (!decode_text(pool, root, endpoint_names[i], 1,
                         endpoint_slot(tenant, i))) {
            return endpoint_names[i];
        }
    }
    if (!parse_string_array(pool, json_object_get(root, RECORD_ALGS),
                            &tenant->signing_algs)) {
        return RECORD_ALGS;
    }
    return NULL;
}

apr_status_t mto_tenant_decode(apr_pool_t *pool, const char *json,
                               apr_size_t length, mto_tenant_t *tenant,
                               mto_error_t *err)
{
    json_t *root;
    const char *invalid;

    memset(tenant, 0, sizeof(*tenant));
    root = load_object(json, length, "cached tenant record", err);
    if (root == NULL) {
        return APR_EINVAL;
    }
    invalid = decode_fields(pool, root, tenant);
    json_decref(root);

    if (invalid == NULL && !mto_tenant_complete(tenant)) {
        invalid = tenant->authorization_endpoint == NULL
                  ? "authorization_endpoint" : "jwks_uri";
    }
    if (invalid != NULL) {
        mto_error_set(err, 502, "cached tenant record: \"%s\" is missing or "
                      "invalid", invalid);
        memset(tenant, 0, sizeof(*tenant));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
