/*
 * Unit tests of the tenant resolver's pure parts: host names and
 * patterns, issuer patterns, URL templates, the tenant information and
 * discovery documents, and the cached tenant record.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <check.h>

#include "mto_tenant.h"

#define COUNT(table) ((int)(sizeof(table) / sizeof((table)[0])))

static apr_pool_t *pool;

static void pool_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static void pool_teardown(void)
{
    apr_pool_destroy(pool);
}

static apr_array_header_t *make_list(const char *const *items)
{
    apr_array_header_t *list = apr_array_make(pool, 4, sizeof(const char *));

    for (; *items != NULL; items++) {
        APR_ARRAY_PUSH(list, const char *) = *items;
    }
    return list;
}

/* Returns count labels of label_length bytes each, joined by dots. */
static const char *make_name(int count, int label_length)
{
    char *name = apr_palloc(pool, count * (label_length + 1));
    char *to = name;
    int i;

    for (i = 0; i < count; i++) {
        memset(to, 'a' + i % 26, label_length);
        to += label_length;
        *to++ = '.';
    }
    to[-1] = '\0';
    return name;
}

/* Host parsing */

static const struct {
    const char *header;
    const char *name;
    const char *port;
} valid_hosts[] = {
    { "acme.example.com", "acme.example.com", NULL },
    { "ACME.Example.COM", "acme.example.com", NULL },
    { "acme.example.com:8443", "acme.example.com", "8443" },
    { "acme.example.com.", "acme.example.com", NULL },
    { "acme.example.com.:443", "acme.example.com", "443" },
    { "localhost", "localhost", NULL },
    { "tenant-a.localhost:1", "tenant-a.localhost", "1" },
    { "a-b.example.com:65535", "a-b.example.com", "65535" },
    { "1acme.example.com", "1acme.example.com", NULL },
    { "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
};

START_TEST(host_parse_valid)
{
    const char *name = NULL;
    const char *port = "unset";
    apr_status_t rv;

    rv = mto_host_parse(pool, valid_hosts[_i].header, &name, &port);
    ck_assert_msg(rv == APR_SUCCESS, "rejected \"%s\"",
                  valid_hosts[_i].header);
    ck_assert_str_eq(name, valid_hosts[_i].name);
    if (valid_hosts[_i].port == NULL) {
        ck_assert_ptr_null(port);
    }
    else {
        ck_assert_pstr_eq(port, valid_hosts[_i].port);
    }
}
END_TEST

static const char *const invalid_hosts[] = {
    "",
    "127.0.0.1",
    "127.0.0.1:80",
    "[::1]",
    "[::1]:443",
    "::1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "acme.example.123",
    "a_b.example.com",
    "a%2eb.example.com",
    "acme example.com",
    " acme.example.com",
    "acme.example.com ",
    "-acme.example.com",
    "acme-.example.com",
    "acme..example.com",
    ".example.com",
    "example.com..",
    ".",
    "acme.example.com:",
    "acme.example.com:0",
    "acme.example.com:65536",
    "acme.example.com:123456",
    "acme.example.com:00000",
    "acme.example.com:+80",
    "acme.example.com: 80",
    "acme.example.com:-1",
    "acme.example.com:80x",
    "acme.example.com:80:80",
    "acme.example.com/path",
    "user@acme.example.com",
    "acme.example.com\r\n",
    "\xc3\xa4.example.com",
};

START_TEST(host_parse_invalid)
{
    const char *name = "unset";
    const char *port = "unset";
    apr_status_t rv;

    rv = mto_host_parse(pool, invalid_hosts[_i], &name, &port);
    ck_assert_msg(rv == APR_EINVAL, "accepted \"%s\"", invalid_hosts[_i]);
}
END_TEST

START_TEST(host_parse_null)
{
    const char *name = NULL;

    ck_assert_int_eq(mto_host_parse(pool, NULL, &name, NULL), APR_EINVAL);
}
END_TEST

START_TEST(host_parse_length_limits)
{
    const char *name;
    const char *label63 = make_name(1, 63);
    const char *label64 = make_name(1, 64);
    /* 4 labels of 62 bytes and 3 dots: 251 bytes, then 253 and 254. */
    const char *name251 = make_name(4, 62);
    const char *name253 = apr_pstrcat(pool, name251, ".a", NULL);
    const char *name254 = apr_pstrcat(pool, name251, ".ab", NULL);

    ck_assert_int_eq(strlen(name253), 253);
    ck_assert_int_eq(mto_host_parse(pool, label63, &name, NULL), APR_SUCCESS);
    ck_assert_int_eq(mto_host_parse(pool, label64, &name, NULL), APR_EINVAL);
    ck_assert_int_eq(mto_host_parse(pool, name253, &name, NULL), APR_SUCCESS);
    ck_assert_int_eq(mto_host_parse(pool, apr_pstrcat(pool, name253, ".",
                                                      NULL), &name, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(mto_host_parse(pool, name254, &name, NULL), APR_EINVAL);
}
END_TEST

/* Host patterns */

static const struct {
    const char *pattern;
    int valid;
} host_patterns[] = {
    { "*.example.com", 1 },
    { "example.com", 1 },
    { "EXAMPLE.com", 1 },
    { "*.*.example.com", 1 },
    { "a.*.example.com", 1 },
    { "*.localhost", 1 },
    { "", 0 },
    { "*", 0 },
    { "*.*", 0 },
    { "tenant-*.example.com", 0 },
    { "*tenant.example.com", 0 },
    { "**.example.com", 0 },
    { "*.example.com.", 0 },
    { ".example.com", 0 },
    { "exa mple.com", 0 },
    { "*.example.com:443", 0 },
    { "*.0.0.1", 0 },
    { "a_b.example.com", 0 },
};

START_TEST(host_pattern_validity)
{
    ck_assert_msg(mto_host_pattern_valid(host_patterns[_i].pattern)
                  == host_patterns[_i].valid, "\"%s\" should be %s",
                  host_patterns[_i].pattern,
                  host_patterns[_i].valid ? "valid" : "invalid");
}
END_TEST

START_TEST(host_pattern_null)
{
    ck_assert_int_eq(mto_host_pattern_valid(NULL), 0);
}
END_TEST

static const struct {
    const char *name;
    int matches;
} host_matches[] = {
    { "acme.example.com", 1 },
    { "globex.example.com", 1 },
    { "ACME.example.com", 1 },
    { "static.other.org", 1 },
    { "static.OTHER.org", 1 },
    { "example.com", 0 },
    { "a.b.example.com", 0 },
    { "acmeexample.com", 0 },
    { "acme.example.com.evil.org", 0 },
    { "acme.example.co", 0 },
    { "evil-example.com", 0 },
    { "other.org", 0 },
    { "x.static.other.org", 0 },
    { "a_b.example.com", 0 },
    { ".example.com", 0 },
};

START_TEST(host_matching)
{
    static const char *const patterns[] = {
        "*.example.com", "static.other.org", "tenant-*.invalid.org", NULL
    };

    ck_assert_msg(mto_host_matches(host_matches[_i].name, make_list(patterns))
                  == host_matches[_i].matches, "\"%s\" should %smatch",
                  host_matches[_i].name,
                  host_matches[_i].matches ? "" : "not ");
}
END_TEST

START_TEST(host_matching_skips_invalid_pattern)
{
    static const char *const patterns[] = { "tenant-*.example.com", NULL };

    ck_assert_int_eq(mto_host_matches("tenant-*.example.com",
                                      make_list(patterns)), 0);
    ck_assert_int_eq(mto_host_matches(NULL, make_list(patterns)), 0);
    ck_assert_int_eq(mto_host_matches("acme.example.com", NULL), 0);
}
END_TEST

/* Issuer patterns */

static const struct {
    const char *pattern;
    int valid;
} issuer_patterns[] = {
    { "https://*.okta.com", 1 },
    { "https://acme.okta.com/", 1 },
    { "https://*.okta.com/oauth2/*", 1 },
    { "https://login.example.com/tenants/*", 1 },
    { "https://idp.example.com:8443/realms/acme", 1 },
    { "https://*.localhost:8443/*", 1 },
    { "", 0 },
    { "https://", 0 },
    { "http://*.okta.com", 0 },
    { "HTTPS://acme.okta.com", 0 },
    { "https://tenant-*.okta.com", 0 },
    { "https://*", 0 },
    { "https://*.okta.com?x=1", 0 },
    { "https://*.okta.com/?x=1", 0 },
    { "https://*.okta.com#f", 0 },
    { "https://user@*.okta.com", 0 },
    { "https://*.okta.com:", 0 },
    { "https://*.okta.com:0", 0 },
    { "https://*.okta.com:99999", 0 },
    { "https://*.okta.com/a*/b", 0 },
    { "https://*.okta.com/a/**", 0 },
    { "https://*.okta.com/../x", 0 },
    { "https://*.okta.com/a/./x", 0 },
    { "https://*.okta.com/a/..", 0 },
    { "https://*.okta.com/a/%2E%2E/x", 0 },
    { "https://*.okta.com/a b", 0 },
    { "https://*.okta.com/a\\b", 0 },
    { "https://127.0.0.1", 0 },
    { "https://[::1]", 0 },
};

START_TEST(issuer_pattern_validity)
{
    ck_assert_msg(mto_issuer_pattern_valid(issuer_patterns[_i].pattern)
                  == issuer_patterns[_i].valid, "\"%s\" should be %s",
                  issuer_patterns[_i].pattern,
                  issuer_patterns[_i].valid ? "valid" : "invalid");
}
END_TEST

START_TEST(issuer_pattern_null)
{
    ck_assert_int_eq(mto_issuer_pattern_valid(NULL), 0);
}
END_TEST

static const struct {
    const char *issuer;
    int matches;
} issuer_matches[] = {
    { "https://acme.okta.com", 1 },
    { "https://ACME.okta.com", 1 },
    { "https://login.example.com/tenants/acme", 1 },
    { "https://login.example.com/tenants/", 1 },
    { "https://login.example.com/tenants/acme/v2", 1 },
    { "https://idp.example.com:8443/realms/acme", 1 },
    { "https://evil.com/.okta.com", 0 },
    { "https://a.okta.com.evil.com", 0 },
    { "http://a.okta.com", 0 },
    { "https://okta.com", 0 },
    { "https://.okta.com", 0 },
    { "https://a.b.okta.com", 0 },
    { "https://acme.okta.com/", 0 },
    { "https://acme.okta.com/oauth2/default", 0 },
    { "https://acme.okta.com?x=1", 0 },
    { "https://acme.okta.com#x", 0 },
    { "https://user@acme.okta.com", 0 },
    { "https://acme.okta.com@evil.com", 0 },
    { "https://acme.okta.com\\@evil.com", 0 },
    { "https://acme.okta.com:443", 0 },
    { "https://acme.okta.com.", 0 },
    { " https://acme.okta.com", 0 },
    { "https://acme.okta.com ", 0 },
    { "https://login.example.com/tenants", 0 },
    { "https://login.example.com/tenants/../admin", 0 },
    { "https://login.example.com/tenants/%2e%2e/admin", 0 },
    { "https://login.example.com/tenants/acme?x=1", 0 },
    { "https://login.example.com/other", 0 },
    { "https://idp.example.com/realms/acme", 0 },
    { "https://idp.example.com:8444/realms/acme", 0 },
    { "https://idp.example.com:8443/realms/acme/", 0 },
    { "https://idp.example.com:8443/realms/acmex", 0 },
    { "", 0 },
};

static const char *const configured_issuers[] = {
    "https://*.okta.com",
    "https://login.example.com/tenants/*",
    "https://idp.example.com:8443/realms/acme",
    NULL
};

START_TEST(issuer_matching)
{
    ck_assert_msg(mto_issuer_matches(issuer_matches[_i].issuer,
                                     make_list(configured_issuers))
                  == issuer_matches[_i].matches, "\"%s\" should %smatch",
                  issuer_matches[_i].issuer,
                  issuer_matches[_i].matches ? "" : "not ");
}
END_TEST

START_TEST(issuer_matching_null)
{
    ck_assert_int_eq(mto_issuer_matches(NULL, make_list(configured_issuers)),
                     0);
    ck_assert_int_eq(mto_issuer_matches("https://acme.okta.com", NULL), 0);
}
END_TEST

/* URL templates */

static const struct {
    const char *url_template;
    const char *expected;
} expansions[] = {
    { "https://{host}/identity/api/authentication/information",
      "https://acme.example.com/identity/api/authentication/information" },
    { "https://tenants.internal.example/{host}/info",
      "https://tenants.internal.example/acme.example.com/info" },
    { "https://{host}/{host}", "https://acme.example.com/acme.example.com" },
    { "https://static.example/info", "https://static.example/info" },
    { "https://{host/{hostx}", "https://{host/{hostx}" },
    { "https://{{host}}", "https://{acme.example.com}" },
    { "{host}", "acme.example.com" },
    { "", "" },
};

START_TEST(url_expansion)
{
    ck_assert_str_eq(mto_url_expand(pool, expansions[_i].url_template,
                                    "acme.example.com"),
                     expansions[_i].expected);
}
END_TEST

/* Tenant information */

static const char *const info_issuers[] = { "https://*.okta.com", NULL };

static apr_status_t parse_info(const char *json, mto_tenant_t *tenant,
                               mto_error_t *err)
{
    memset(err, 0, sizeof(*err));
    return mto_tenant_parse_info(pool, "acme.example.com", json, strlen(json),
                                 make_list(info_issuers), tenant, err);
}

START_TEST(info_full_document)
{
    mto_tenant_t tenant;
    mto_error_t err;
    const char *json =
        "{\"issuerUrl\": \"https://acme.okta.com\","
        " \"clientId\": \"0oa1b2c3\","
        " \"responseType\": \"code\","
        " \"links\": ["
        "  {\"relation\": \"authorization_endpoint\","
        "   \"href\": \"https://acme.okta.com/oauth2/v1/authorize\"},"
        "  {\"relation\": \"token_endpoint\","
        "   \"href\": \"https://acme.okta.com/oauth2/v1/token\"},"
        "  {\"relation\": \"jwks_uri\","
        "   \"href\": \"https://acme.okta.com/oauth2/v1/keys\"},"
        "  {\"relation\": \"end_session_endpoint\","
        "   \"href\": \"https://acme.okta.com/oauth2/v1/logout?x=1\"},"
        "  {\"relation\": \"help\", \"href\": \"http://example.com/help\"},"
        "  {\"relation\": \"help\", \"href\": 7, \"extra\": true}"
        " ],"
        " \"unknownMember\": [1, 2]}";

    ck_assert_int_eq(parse_info(json, &tenant, &err), APR_SUCCESS);
    ck_assert_str_eq(tenant.host, "acme.example.com");
    ck_assert_str_eq(tenant.issuer, "https://acme.okta.com");
    ck_assert_str_eq(tenant.client_id, "0oa1b2c3");
    ck_assert_str_eq(tenant.response_type, "code");
    ck_assert_str_eq(tenant.authorization_endpoint,
                     "https://acme.okta.com/oauth2/v1/authorize");
    ck_assert_str_eq(tenant.token_endpoint,
                     "https://acme.okta.com/oauth2/v1/token");
    ck_assert_str_eq(tenant.jwks_uri, "https://acme.okta.com/oauth2/v1/keys");
    ck_assert_str_eq(tenant.end_session_endpoint,
                     "https://acme.okta.com/oauth2/v1/logout?x=1");
    ck_assert_ptr_null(tenant.signing_algs);
    ck_assert_int_eq(mto_tenant_complete(&tenant), 1);
}
END_TEST

START_TEST(info_minimal_document)
{
    mto_tenant_t tenant;
    mto_error_t err;

    ck_assert_int_eq(parse_info("{\"issuerUrl\":\"https://acme.okta.com\"}",
                                &tenant, &err), APR_SUCCESS);
    ck_assert_str_eq(tenant.host, "acme.example.com");
    ck_assert_str_eq(tenant.issuer, "https://acme.okta.com");
    ck_assert_ptr_null(tenant.client_id);
    ck_assert_ptr_null(tenant.response_type);
    ck_assert_ptr_null(tenant.authorization_endpoint);
    ck_assert_ptr_null(tenant.token_endpoint);
    ck_assert_ptr_null(tenant.jwks_uri);
    ck_assert_ptr_null(tenant.end_session_endpoint);
    ck_assert_int_eq(mto_tenant_complete(&tenant), 0);
}
END_TEST

START_TEST(info_response_type_id_token)
{
    mto_tenant_t tenant;
    mto_error_t err;

    ck_assert_int_eq(parse_info("{\"issuerUrl\":\"https://acme.okta.com\","
                                "\"responseType\":\"id_token\"}",
                                &tenant, &err), APR_SUCCESS);
    ck_assert_str_eq(tenant.response_type, "id_token");
}
END_TEST

START_TEST(info_client_id_limit)
{
    mto_tenant_t tenant;
    mto_error_t err;
    char id[257];
    const char *json;

    memset(id, 'x', 255);
    id[255] = '\0';
    json = apr_psprintf(pool, "{\"issuerUrl\":\"https://acme.okta.com\","
                        "\"clientId\":\"%s\"}", id);
    ck_assert_int_eq(parse_info(json, &tenant, &err), APR_SUCCESS);
    ck_assert_int_eq(strlen(tenant.client_id), 255);

    memset(id, 'x', 256);
    id[256] = '\0';
    json = apr_psprintf(pool, "{\"issuerUrl\":\"https://acme.okta.com\","
                        "\"clientId\":\"%s\"}", id);
    ck_assert_int_eq(parse_info(json, &tenant, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.text, "\"clientId\""));
}
END_TEST

#define ISSUER "\"issuerUrl\":\"https://acme.okta.com\""
#define LINK(relation, href) \
    "{\"relation\":\"" relation "\",\"href\":\"" href "\"}"

static const struct {
    const char *json;
    const char *reason;         /* expected part of the error text */
} invalid_infos[] = {
    { "", "not valid JSON" },
    { "{\"issuerUrl\":", "not valid JSON" },
    { "[\"https://acme.okta.com\"]", "not a JSON object" },
    { "\"https://acme.okta.com\"", "not valid JSON" },
    { "{}", "\"issuerUrl\" is missing" },
    { "{\"issuer\":\"https://acme.okta.com\"}", "\"issuerUrl\" is missing" },
    { "{\"issuerUrl\":5}", "\"issuerUrl\" is not a string" },
    { "{\"issuerUrl\":null}", "\"issuerUrl\" is not a string" },
    { "{\"issuerUrl\":\"https://acme.okta.com\\u0000x\"}",
      "not valid JSON" },
    { "{\"issuerUrl\":\"http://acme.okta.com\"}", "is not an https URL" },
    { "{\"issuerUrl\":\"https://acme.okta.com?x=1\"}", "is not an https URL" },
    { "{\"issuerUrl\":\"https://acme.okta.com#f\"}", "is not an https URL" },
    { "{\"issuerUrl\":\"https://u@acme.okta.com\"}", "is not an https URL" },
    { "{\"issuerUrl\":\"https://evil.com\"}", "matches no configured issuer" },
    { "{\"issuerUrl\":\"https://evil.com/.okta.com\"}",
      "matches no configured issuer" },
    { "{" ISSUER "," ISSUER "}", "duplicate" },
    { "{" ISSUER ",\"clientId\":42}", "\"clientId\"" },
    { "{" ISSUER ",\"clientId\":\"\"}", "\"clientId\"" },
    { "{" ISSUER ",\"clientId\":\"a b\"}", "\"clientId\"" },
    { "{" ISSUER ",\"clientId\":\"a\\nb\"}", "\"clientId\"" },
    { "{" ISSUER ",\"clientId\":\"caf\\u00e9\"}", "\"clientId\"" },
    { "{" ISSUER ",\"clientId\":\"a\\u0000b\"}", "not valid JSON" },
    { "{" ISSUER ",\"responseType\":\"token\"}", "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":\"code id_token\"}",
      "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":\"CODE\"}", "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":\"\"}", "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":null}", "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":[\"code\"]}", "\"responseType\"" },
    { "{" ISSUER ",\"responseType\":\"code\\u0000\"}", "not valid JSON" },
    { "{" ISSUER ",\"links\":{}}", "\"links\" is not an array" },
    { "{" ISSUER ",\"links\":[\"jwks_uri\"]}", "item 0" },
    { "{" ISSUER ",\"links\":[{\"relation\":\"jwks_uri\"}]}",
      "link \"jwks_uri\" has no string \"href\"" },
    { "{" ISSUER ",\"links\":[{\"relation\":\"jwks_uri\",\"href\":null}]}",
      "link \"jwks_uri\" has no string \"href\"" },
    { "{" ISSUER ",\"links\":[{\"href\":\"https://a.example\"}]}", "item 0" },
    { "{" ISSUER ",\"links\":[" LINK("help", "https://a.example") ","
      "{\"relation\":1,\"href\":\"https://a.example\"}]}", "item 1" },
    { "{" ISSUER ",\"links\":[" LINK("jwks_uri", "http://acme.okta.com/k")
      "]}", "of link \"jwks_uri\" is not a valid https URL" },
    { "{" ISSUER ",\"links\":[" LINK("jwks_uri", "https://acme.okta.com/k#f")
      "]}", "link \"jwks_uri\"" },
    { "{" ISSUER ",\"links\":[" LINK("token_endpoint", "https://127.0.0.1/t")
      "]}", "link \"token_endpoint\"" },
    { "{" ISSUER ",\"links\":[" LINK("authorization_endpoint", "/authorize")
      "]}", "link \"authorization_endpoint\"" },
    { "{" ISSUER ",\"links\":[" LINK("jwks_uri", "https://acme.okta.com/k")
      "," LINK("jwks_uri", "https://acme.okta.com/k") "]}",
      "\"jwks_uri\" appears more than once" },
    { "{" ISSUER ",\"links\":[{\"relation\":\"jwks_uri\",\"relation\":"
      "\"token_endpoint\",\"href\":\"https://acme.okta.com/k\"}]}",
      "duplicate" },
};

START_TEST(info_invalid_document)
{
    mto_tenant_t tenant;
    mto_error_t err;
    apr_status_t rv = parse_info(invalid_infos[_i].json, &tenant, &err);

    ck_assert_msg(rv != APR_SUCCESS, "accepted %s", invalid_infos[_i].json);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_msg(strstr(err.text, invalid_infos[_i].reason) != NULL,
                  "error \"%s\" lacks \"%s\"", err.text,
                  invalid_infos[_i].reason);
    ck_assert_ptr_null(tenant.issuer);
}
END_TEST

START_TEST(info_error_clips_value)
{
    mto_tenant_t tenant;
    mto_error_t err;
    char path[400];
    const char *json;

    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    json = apr_psprintf(pool, "{\"issuerUrl\":\"https://evil.com/%s\"}", path);
    ck_assert_int_eq(parse_info(json, &tenant, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.text, "https://evil.com/ppp"));
    ck_assert_ptr_nonnull(strstr(err.text, "...\" matches no configured"));
}
END_TEST

/* Discovery */

static void info_tenant(mto_tenant_t *tenant)
{
    memset(tenant, 0, sizeof(*tenant));
    tenant->host = "acme.example.com";
    tenant->issuer = "https://acme.okta.com/oauth2/default";
    tenant->authorization_endpoint = "https://acme.okta.com/from-info";
}

static apr_status_t parse_discovery(const char *json, mto_tenant_t *tenant,
                                    mto_error_t *err)
{
    memset(err, 0, sizeof(*err));
    return mto_tenant_parse_discovery(pool, json, strlen(json), tenant, err);
}

START_TEST(discovery_fills_missing_endpoints)
{
    mto_tenant_t tenant;
    mto_error_t err;
    const char *json =
        "{\"issuer\":\"https://acme.okta.com/oauth2/default\","
        " \"authorization_endpoint\":\"https://acme.okta.com/from-discovery\","
        " \"token_endpoint\":\"https://acme.okta.com/token\","
        " \"jwks_uri\":\"https://acme.okta.com/keys\","
        " \"end_session_endpoint\":\"https://acme.okta.com/logout\","
        " \"id_token_signing_alg_values_supported\":[\"RS256\",\"ES256\"],"
        " \"response_types_supported\":[\"code\",\"id_token\"]}";

    info_tenant(&tenant);
    ck_assert_int_eq(parse_discovery(json, &tenant, &err), APR_SUCCESS);
    ck_assert_str_eq(tenant.authorization_endpoint,
                     "https://acme.okta.com/from-info");
    ck_assert_str_eq(tenant.token_endpoint, "https://acme.okta.com/token");
    ck_assert_str_eq(tenant.jwks_uri, "https://acme.okta.com/keys");
    ck_assert_str_eq(tenant.end_session_endpoint,
                     "https://acme.okta.com/logout");
    ck_assert_ptr_nonnull(tenant.signing_algs);
    ck_assert_int_eq(tenant.signing_algs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(tenant.signing_algs, 0, const char *),
                     "RS256");
    ck_assert_str_eq(APR_ARRAY_IDX(tenant.signing_algs, 1, const char *),
                     "ES256");
    ck_assert_int_eq(mto_tenant_complete(&tenant), 1);
}
END_TEST

START_TEST(discovery_ignores_unneeded_fields)
{
    mto_tenant_t tenant;
    mto_error_t err;
    const char *json =
        "{\"issuer\":\"https://acme.okta.com/oauth2/default\","
        " \"authorization_endpoint\":7,"
        " \"jwks_uri\":\"https://acme.okta.com/keys\"}";

    info_tenant(&tenant);
    ck_assert_int_eq(parse_discovery(json, &tenant, &err), APR_SUCCESS);
    ck_assert_str_eq(tenant.authorization_endpoint,
                     "https://acme.okta.com/from-info");
    ck_assert_str_eq(tenant.jwks_uri, "https://acme.okta.com/keys");
    ck_assert_ptr_null(tenant.token_endpoint);
    ck_assert_ptr_null(tenant.signing_algs);
}
END_TEST

#define DISCOVERY_ISSUER "\"issuer\":\"https://acme.okta.com/oauth2/default\""

static const struct {
    const char *json;
    const char *reason;
} invalid_discoveries[] = {
    { "not json", "not valid JSON" },
    { "[]", "not a JSON object" },
    { "{}", "\"issuer\" is missing" },
    { "{\"issuer\":[]}", "\"issuer\" is not a string" },
    { "{\"issuer\":\"https://acme.okta.com/oauth2/default\\u0000\"}",
      "not valid JSON" },
    { "{\"issuer\":\"https://acme.okta.com/oauth2/default/\"}", "differs" },
    { "{\"issuer\":\"https://ACME.okta.com/oauth2/default\"}", "differs" },
    { "{\"issuer\":\"https://evil.com\"}", "differs" },
    { "{" DISCOVERY_ISSUER "," DISCOVERY_ISSUER "}", "duplicate" },
    { "{" DISCOVERY_ISSUER ",\"jwks_uri\":\"http://acme.okta.com/keys\"}",
      "\"jwks_uri\" \"http://acme.okta.com/keys\" is not a valid https URL" },
    { "{" DISCOVERY_ISSUER ",\"jwks_uri\":5}",
      "\"jwks_uri\" is not a string" },
    { "{" DISCOVERY_ISSUER ",\"token_endpoint\":\"https://u@a.okta.com/t\"}",
      "\"token_endpoint\"" },
    { "{" DISCOVERY_ISSUER ",\"id_token_signing_alg_values_supported\":"
      "\"RS256\"}", "id_token_signing_alg_values_supported" },
    { "{" DISCOVERY_ISSUER ",\"id_token_signing_alg_values_supported\":[]}",
      "id_token_signing_alg_values_supported" },
    { "{" DISCOVERY_ISSUER ",\"id_token_signing_alg_values_supported\":"
      "[\"RS256\",256]}", "id_token_signing_alg_values_supported" },
    { "{" DISCOVERY_ISSUER ",\"id_token_signing_alg_values_supported\":"
      "[\"\"]}", "id_token_signing_alg_values_supported" },
};

START_TEST(discovery_invalid_document)
{
    mto_tenant_t tenant;
    mto_error_t err;
    apr_status_t rv;

    info_tenant(&tenant);
    rv = parse_discovery(invalid_discoveries[_i].json, &tenant, &err);
    ck_assert_msg(rv != APR_SUCCESS, "accepted %s",
                  invalid_discoveries[_i].json);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_msg(strstr(err.text, invalid_discoveries[_i].reason) != NULL,
                  "error \"%s\" lacks \"%s\"", err.text,
                  invalid_discoveries[_i].reason);
    ck_assert_ptr_null(tenant.jwks_uri);
    ck_assert_ptr_null(tenant.signing_algs);
}
END_TEST

START_TEST(discovery_failure_keeps_tenant)
{
    mto_tenant_t tenant;
    mto_error_t err;
    const char *json =
        "{" DISCOVERY_ISSUER ",\"jwks_uri\":\"https://acme.okta.com/keys\","
        " \"token_endpoint\":\"https://acme.okta.com/token\","
        " \"id_token_signing_alg_values_supported\":{}}";

    info_tenant(&tenant);
    ck_assert_int_eq(parse_discovery(json, &tenant, &err), APR_EINVAL);
    ck_assert_ptr_null(tenant.jwks_uri);
    ck_assert_ptr_null(tenant.token_endpoint);
}
END_TEST

START_TEST(tenant_completeness)
{
    mto_tenant_t tenant;

    memset(&tenant, 0, sizeof(tenant));
    tenant.issuer = "https://acme.okta.com";
    tenant.authorization_endpoint = "https://acme.okta.com/authorize";
    ck_assert_int_eq(mto_tenant_complete(&tenant), 0);
    tenant.jwks_uri = "https://acme.okta.com/keys";
    ck_assert_int_eq(mto_tenant_complete(&tenant), 1);
    tenant.authorization_endpoint = NULL;
    ck_assert_int_eq(mto_tenant_complete(&tenant), 0);
    tenant.authorization_endpoint = "https://acme.okta.com/authorize";
    tenant.issuer = NULL;
    ck_assert_int_eq(mto_tenant_complete(&tenant), 0);
}
END_TEST

/* Builds an array of const char * from a NULL-terminated list. */
static apr_array_header_t *string_array(const char *first, ...)
{
    apr_array_header_t *array = apr_array_make(pool, 4, sizeof(char *));
    const char *item;
    va_list ap;

    va_start(ap, first);
    for (item = first; item != NULL; item = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(array, const char *) = item;
    }
    va_end(ap);
    return array;
}

static const char *joined(const apr_array_header_t *array)
{
    return apr_array_pstrcat(pool, array, ' ');
}

START_TEST(algorithms_advertised)
{
    apr_array_header_t *allowed = string_array("RS256", "PS256", "ES256",
                                               NULL);
    mto_tenant_t tenant;

    memset(&tenant, 0, sizeof(tenant));
    ck_assert_str_eq(joined(mto_tenant_algorithms(pool, allowed, &tenant)),
                     "RS256 PS256 ES256");
    tenant.signing_algs = string_array("ES256", "RS256", "HS256", NULL);
    ck_assert_str_eq(joined(mto_tenant_algorithms(pool, allowed, &tenant)),
                     "RS256 ES256");
    tenant.signing_algs = string_array("ES384", NULL);
    ck_assert_int_eq(mto_tenant_algorithms(pool, allowed, &tenant)->nelts,
                     0);
}
END_TEST

/* Cached tenant record */

START_TEST(record_round_trip_full)
{
    mto_tenant_t tenant;
    mto_tenant_t decoded;
    mto_error_t err;
    char *json;

    memset(&tenant, 0, sizeof(tenant));
    tenant.host = "acme.example.com";
    tenant.issuer = "https://acme.okta.com";
    tenant.authorization_endpoint = "https://acme.okta.com/authorize";
    tenant.token_endpoint = "https://acme.okta.com/token";
    tenant.jwks_uri = "https://acme.okta.com/keys";
    tenant.end_session_endpoint = "https://acme.okta.com/logout";
    tenant.client_id = "0oa1b2c3";
    tenant.response_type = "code";
    tenant.signing_algs = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(tenant.signing_algs, const char *) = "RS256";
    APR_ARRAY_PUSH(tenant.signing_algs, const char *) = "PS256";

    json = mto_tenant_encode(pool, &tenant);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(mto_tenant_decode(pool, json, strlen(json), &decoded,
                                       &err), APR_SUCCESS);
    ck_assert_str_eq(decoded.host, tenant.host);
    ck_assert_str_eq(decoded.issuer, tenant.issuer);
    ck_assert_str_eq(decoded.authorization_endpoint,
                     tenant.authorization_endpoint);
    ck_assert_str_eq(decoded.token_endpoint, tenant.token_endpoint);
    ck_assert_str_eq(decoded.jwks_uri, tenant.jwks_uri);
    ck_assert_str_eq(decoded.end_session_endpoint,
                     tenant.end_session_endpoint);
    ck_assert_str_eq(decoded.client_id, tenant.client_id);
    ck_assert_str_eq(decoded.response_type, "code");
    ck_assert_int_eq(decoded.signing_algs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(decoded.signing_algs, 0, const char *),
                     "RS256");
    ck_assert_str_eq(APR_ARRAY_IDX(decoded.signing_algs, 1, const char *),
                     "PS256");
}
END_TEST

START_TEST(record_round_trip_minimal)
{
    mto_tenant_t tenant;
    mto_tenant_t decoded;
    mto_error_t err;
    char *json;

    memset(&tenant, 0, sizeof(tenant));
    tenant.host = "acme.example.com";
    tenant.issuer = "https://acme.okta.com";
    tenant.authorization_endpoint = "https://acme.okta.com/authorize";
    tenant.jwks_uri = "https://acme.okta.com/keys";

    json = mto_tenant_encode(pool, &tenant);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(mto_tenant_decode(pool, json, strlen(json), &decoded,
                                       &err), APR_SUCCESS);
    ck_assert_str_eq(decoded.host, tenant.host);
    ck_assert_str_eq(decoded.jwks_uri, tenant.jwks_uri);
    ck_assert_ptr_null(decoded.token_endpoint);
    ck_assert_ptr_null(decoded.end_session_endpoint);
    ck_assert_ptr_null(decoded.client_id);
    ck_assert_ptr_null(decoded.response_type);
    ck_assert_ptr_null(decoded.signing_algs);
}
END_TEST

#define RECORD_BASE \
    "\"host\":\"acme.example.com\",\"issuer\":\"https://acme.okta.com\"," \
    "\"authorization_endpoint\":\"https://acme.okta.com/authorize\""

static const struct {
    const char *json;
    const char *reason;
} invalid_records[] = {
    { "", "not valid JSON" },
    { "[]", "not a JSON object" },
    { "{" RECORD_BASE "}", "\"jwks_uri\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":7}", "\"jwks_uri\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"http://acme.okta.com/keys\"}",
      "\"jwks_uri\"" },
    { "{\"issuer\":\"https://acme.okta.com\",\"authorization_endpoint\":"
      "\"https://acme.okta.com/a\",\"jwks_uri\":\"https://acme.okta.com/k\"}",
      "\"host\"" },
    { "{\"host\":\"127.0.0.1\",\"issuer\":\"https://acme.okta.com\","
      "\"authorization_endpoint\":\"https://acme.okta.com/a\","
      "\"jwks_uri\":\"https://acme.okta.com/k\"}", "\"host\"" },
    { "{\"host\":\"acme.example.com\",\"issuer\":\"http://acme.okta.com\","
      "\"authorization_endpoint\":\"https://acme.okta.com/a\","
      "\"jwks_uri\":\"https://acme.okta.com/k\"}", "\"issuer\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"client_id\":[\"x\"]}", "\"client_id\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"token_endpoint\":false}", "\"token_endpoint\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"response_type\":\"token\"}", "\"response_type\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"response_type\":1}", "\"response_type\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"signing_algs\":[1]}", "\"signing_algs\"" },
    { "{" RECORD_BASE ",\"jwks_uri\":\"https://acme.okta.com/k\","
      "\"jwks_uri\":\"https://acme.okta.com/k\"}", "duplicate" },
};

START_TEST(record_invalid)
{
    mto_tenant_t decoded;
    mto_error_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = mto_tenant_decode(pool, invalid_records[_i].json,
                           strlen(invalid_records[_i].json), &decoded, &err);
    ck_assert_msg(rv != APR_SUCCESS, "accepted %s", invalid_records[_i].json);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_msg(strstr(err.text, invalid_records[_i].reason) != NULL,
                  "error \"%s\" lacks \"%s\"", err.text,
                  invalid_records[_i].reason);
    ck_assert_ptr_null(decoded.host);
}
END_TEST

static TCase *make_case(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
    return tc;
}

static Suite *tenant_suite(void)
{
    Suite *s = suite_create("tenant");
    TCase *tc;

    tc = make_case("host");
    tcase_add_loop_test(tc, host_parse_valid, 0, COUNT(valid_hosts));
    tcase_add_loop_test(tc, host_parse_invalid, 0, COUNT(invalid_hosts));
    tcase_add_test(tc, host_parse_null);
    tcase_add_test(tc, host_parse_length_limits);
    tcase_add_loop_test(tc, host_pattern_validity, 0, COUNT(host_patterns));
    tcase_add_test(tc, host_pattern_null);
    tcase_add_loop_test(tc, host_matching, 0, COUNT(host_matches));
    tcase_add_test(tc, host_matching_skips_invalid_pattern);
    suite_add_tcase(s, tc);

    tc = make_case("issuer");
    tcase_add_loop_test(tc, issuer_pattern_validity, 0,
                        COUNT(issuer_patterns));
    tcase_add_test(tc, issuer_pattern_null);
    tcase_add_loop_test(tc, issuer_matching, 0, COUNT(issuer_matches));
    tcase_add_test(tc, issuer_matching_null);
    tcase_add_loop_test(tc, url_expansion, 0, COUNT(expansions));
    suite_add_tcase(s, tc);

    tc = make_case("documents");
    tcase_add_test(tc, info_full_document);
    tcase_add_test(tc, info_minimal_document);
    tcase_add_test(tc, info_response_type_id_token);
    tcase_add_test(tc, info_client_id_limit);
    tcase_add_loop_test(tc, info_invalid_document, 0, COUNT(invalid_infos));
    tcase_add_test(tc, info_error_clips_value);
    tcase_add_test(tc, discovery_fills_missing_endpoints);
    tcase_add_test(tc, discovery_ignores_unneeded_fields);
    tcase_add_loop_test(tc, discovery_invalid_document, 0,
                        COUNT(invalid_discoveries));
    tcase_add_test(tc, discovery_failure_keeps_tenant);
    tcase_add_test(tc, tenant_completeness);
    tcase_add_test(tc, algorithms_advertised);
    suite_add_tcase(s, tc);

    tc = make_case("record");
    tcase_add_test(tc, record_round_trip_full);
    tcase_add_test(tc, record_round_trip_minimal);
    tcase_add_loop_test(tc, record_invalid, 0, COUNT(invalid_records));
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *runner;
    int failed;

    apr_initialize();
    runner = srunner_create(tenant_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
