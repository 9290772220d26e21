/*
 * Tenant resolver: host validation and matching, the tenant information
 * document, OpenID Connect discovery, and the cached tenant record.
 *
 * Host patterns are host names in which a label may be "*", matching
 * exactly one label of letters, digits and hyphens: "*.example.com"
 * matches "acme.example.com" but neither "example.com" nor
 * "a.b.example.com". Matching ignores case.
 *
 * Issuer patterns are https URLs of the form "https://HOST[:PORT][/PATH]"
 * whose HOST follows the host pattern rules and whose PATH either matches
 * exactly or, when it ends in "*", matches any suffix of the issuer's
 * path. An issuer with a query, a fragment or user information never
 * matches.
 */
#ifndef MTO_TENANT_H
#define MTO_TENANT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "mto_error.h"

/* Maximum length of a host name, in bytes (RFC 1035). */
#define MTO_HOST_MAX 253

typedef struct {
    const char *host;                   /* lower-case tenant host name */
    const char *issuer;                 /* exact issuer URL */
    const char *authorization_endpoint;
    const char *token_endpoint;         /* NULL when unknown */
    const char *jwks_uri;
    const char *end_session_endpoint;   /* NULL when unknown */
    const char *client_id;              /* NULL: the configured default */
    /* "id_token" or "code", or NULL for MTOIDCResponseType */
    const char *response_type;
    /* id_token_signing_alg_values_supported from discovery, or NULL */
    apr_array_header_t *signing_algs;   /* of const char * */
} mto_tenant_t;

/*
 * Splits a Host header value into a lower-case host name and an optional
 * port (NULL when absent) after checking its syntax. The name has letters,
 * digits, hyphens and dots, labels of 1 to 63 bytes that do not start or
 * end with a hyphen, and at most MTO_HOST_MAX bytes; one trailing dot is
 * dropped. The port has 1 to 5 digits. IP literals are rejected. Returns
 * APR_SUCCESS or APR_EINVAL.
 */
apr_status_t mto_host_parse(apr_pool_t *pool, const char *header,
                            const char **name, const char **port);

/* Returns 1 when pattern is a valid host pattern, else 0. */
int mto_host_pattern_valid(const char *pattern);

/* Returns 1 when the parsed host name matches one of the patterns. */
int mto_host_matches(const char *name, const apr_array_header_t *patterns);

/* Returns 1 when pattern is a valid issuer pattern, else 0. */
int mto_issuer_pattern_valid(const char *pattern);

/* Returns 1 when issuer matches one of the issuer patterns. */
int mto_issuer_matches(const char *issuer,
                       const apr_array_header_t *patterns);

/*
 * Returns the URL template with every "{host}" replaced by host name.
 * The name must come from mto_host_parse, so it needs no escaping.
 */
const char *mto_url_expand(apr_pool_t *pool, const char *url_template,
                           const char *name);

/*
 * Parses a tenant information document: a JSON object with a string
 * "issuerUrl", an optional string "clientId", an optional string
 * "responseType" ("id_token" or "code") and an optional array "links" of
 * {"relation": ..., "href": ...} objects. Relations read are
 * authorization_endpoint, token_endpoint, jwks_uri and
 * end_session_endpoint; each href must be an https URL. The issuer must be
 * https and match issuer_patterns. Fills tenant (host set to name) or
 * returns an error with err filled (status 502).
 */
apr_status_t mto_tenant_parse_info(apr_pool_t *pool, const char *name,
                                   const char *json, apr_size_t length,
                                   const apr_array_header_t *issuer_patterns,
                                   mto_tenant_t *tenant, mto_error_t *err);

/*
 * Parses an OpenID Connect discovery document for tenant. Its "issuer"
 * must equal tenant->issuer byte for byte. Endpoints still NULL in tenant
 * are taken from the document (https only); signing_algs is taken from
 * id_token_signing_alg_values_supported. Returns an error with err filled
 * (status 502) when the issuer differs or a needed field is invalid.
 */
apr_status_t mto_tenant_parse_discovery(apr_pool_t *pool, const char *json,
                                        apr_size_t length,
                                        mto_tenant_t *tenant,
                                        mto_error_t *err);

/*
 * Returns the id_token algorithms accepted for tenant: those in allowed
 * (the configured list) that the provider also advertises in
 * id_token_signing_alg_values_supported, in the order of allowed, or
 * allowed itself when the provider advertises nothing. The result may be
 * empty, and then no token of that tenant is accepted.
 */
apr_array_header_t *mto_tenant_algorithms(apr_pool_t *pool,
                                          apr_array_header_t *allowed,
                                          const mto_tenant_t *tenant);

/* Returns 1 when tenant has every endpoint a login needs, else 0. */
int mto_tenant_complete(const mto_tenant_t *tenant);

/* Serialises tenant to JSON for the shared cache. */
char *mto_tenant_encode(apr_pool_t *pool, const mto_tenant_t *tenant);

/* Reads a tenant back from mto_tenant_encode output. */
apr_status_t mto_tenant_decode(apr_pool_t *pool, const char *json,
                               apr_size_t length, mto_tenant_t *tenant,
                               mto_error_t *err);

#endif
