/*
 * Request-time resolution of tenants and their JWK Sets, through the
 * shared cache and the back channel. Cache keys:
 *   "t:" + host       encoded tenant record (mto_tenant_encode)
 *   "k:" + jwks_uri   JWK Set text as fetched
 *   "r:" + jwks_uri   marker of a recent forced refresh of that key set
 */
#include <string.h>

#include <apr_strings.h>

#include "mto_cache.h"
#include "mto_resolve.h"

#define DISCOVERY_PATH "/.well-known/openid-configuration"

static apr_time_t expiry_after(apr_int64_t seconds)
{
    return apr_time_now() + apr_time_from_sec(seconds);
}

/* Returns url without its query and fragment, for messages. */
static const char *url_for_message(apr_pool_t *pool, const char *url)
{
    return apr_pstrmemdup(pool, url, strcspn(url, "?#"));
}

/*
 * Sends GET url and requires status 200. what names the document in
 * messages, such as "tenant information".
 */
static apr_status_t fetch_document(request_rec *r, const mto_config_t *conf,
                                   const char *url, const char *what,
                                   mto_http_response_t *response,
                                   mto_error_t *err)
{
    apr_status_t rv = mto_http_get(r->pool, &conf->http, url, response, err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (response->status == 404) {
        mto_error_set(err, 502, "%s not found (HTTP 404) at %s", what,
                      url_for_message(r->pool, url));
        return APR_NOTFOUND;
    }
    if (response->status != 200) {
        mto_error_set(err, 502, "%s request to %s returned HTTP %ld, "
                      "expected 200", what, url_for_message(r->pool, url),
                      response->status);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Returns the discovery URL of issuer, without a doubled slash. */
static const char *discovery_url(apr_pool_t *pool, const char *issuer)
{
    apr_size_t length = strlen(issuer);

    if (length > 0 && issuer[length - 1] == '/') {
        length--;
    }
    return apr_pstrcat(pool, apr_pstrmemdup(pool, issuer, length),
                       DISCOVERY_PATH, NULL);
}

/* Reads a tenant from the cache. Returns 0 on a miss, and a backend
 * failure or an invalid record counts as a miss. */
static int cached_tenant(request_rec *r, const char *key, const char *host,
                         mto_tenant_t *tenant)
{
    mto_error_t ignored;
    char *value;
    apr_size_t length;

    if (mto_cache_get(r->server, r->pool, key, &value, &length)
        != APR_SUCCESS) {
        return 0;
    }
    return mto_tenant_decode(r->pool, value, length, tenant, &ignored)
               == APR_SUCCESS
           && strcmp(tenant->host, host) == 0;
}

/* Fetches the tenant information document and, if needed, discovery. */
static apr_status_t fetch_tenant(request_rec *r, const mto_config_t *conf,
                                 const char *host, mto_tenant_t *tenant,
                                 mto_error_t *err)
{
    mto_http_response_t response;
    const char *url = mto_url_expand(r->pool, conf->tenant_info_url, host);
    apr_status_t rv;

    rv = fetch_document(r, conf, url, "tenant information", &response, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mto_tenant_parse_info(r->pool, host, response.body, response.length,
                               conf->issuer_patterns, tenant, err);
    if (rv != APR_SUCCESS || mto_tenant_complete(tenant)) {
        return rv;
    }

    url = discovery_url(r->pool, tenant->issuer);
    rv = fetch_document(r, conf, url, "discovery document", &response, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mto_tenant_parse_discovery(r->pool, response.body, response.length,
                                    tenant, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!mto_tenant_complete(tenant)) {
        mto_error_set(err, 502, "neither tenant information nor discovery "
                      "names %s",
                      tenant->authorization_endpoint == NULL
                      ? "an authorization_endpoint" : "a jwks_uri");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t mto_tenant_resolve(request_rec *r, const mto_config_t *conf,
                                const char *host, mto_tenant_t **tenant,
                                mto_error_t *err)
{
    const char *key = apr_pstrcat(r->pool, "t:", host, NULL);
    mto_tenant_t *resolved = apr_pcalloc(r->pool, sizeof(*resolved));
    const char *encoded;
    apr_status_t rv;

    if (cached_tenant(r, key, host, resolved)) {
        *tenant = resolved;
        return APR_SUCCESS;
    }

    rv = fetch_tenant(r, conf, host, resolved, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }

    encoded = mto_tenant_encode(r->pool, resolved);
    rv = encoded == NULL ? APR_ENOMEM
         : mto_cache_set(r->server, r->pool, key, encoded, strlen(encoded),
                         expiry_after(conf->tenant_ttl));
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, rv, host, "MTO0301",
                "storing the tenant in the shared cache failed, so the next "
                "request fetches it again");
    }
    *tenant = resolved;
    return APR_SUCCESS;
}

/* Parses a cached JWK Set. Returns 1 when it has a usable key, else 0. */
static int cached_jwks(request_rec *r, const char *key, mto_jwks_t **jwks)
{
    apr_array_header_t *warnings;
    mto_error_t ignored;
    char *value;
    apr_size_t length;

    if (mto_cache_get(r->server, r->pool, key, &value, &length)
        != APR_SUCCESS) {
        return 0;
    }
    return mto_jwks_parse(r->pool, value, length, jwks, &warnings, &ignored)
               == APR_SUCCESS
           && mto_jwks_count(*jwks) > 0;
}

/*
 * Claims the forced refresh of one key set for the key refresh interval.
 * Returns 0 when another request claimed it within that interval.
 *
 * NOTE: with memcache or redis, mto_cache_add checks and stores in two
 * steps, so processes that race here may each refresh once.
 */
static int claim_refresh(request_rec *r, const mto_config_t *conf,
                         const mto_tenant_t *tenant)
{
    const char *marker = apr_pstrcat(r->pool, "r:", tenant->jwks_uri, NULL);
    apr_status_t rv;

    rv = mto_cache_add(r->server, r->pool, marker, "1", 1,
                       expiry_after(conf->jwks_cooldown));
    if (rv == APR_EEXIST) {
        return 0;
    }
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, rv, tenant->host, "MTO0302",
                "storing the key refresh marker for %s in the shared cache "
                "failed, so this refresh is not rate-limited",
                tenant->jwks_uri);
    }
    return 1;
}

static apr_status_t fetch_jwks(request_rec *r, const mto_config_t *conf,
                               const mto_tenant_t *tenant, const char *key,
                               mto_jwks_t **jwks, mto_error_t *err)
{
    mto_http_response_t response;
    apr_array_header_t *warnings;
    apr_status_t rv;
    int i;

    rv = fetch_document(r, conf, tenant->jwks_uri, "JWK Set", &response,
                        err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mto_jwks_parse(r->pool, response.body, response.length, jwks,
                        &warnings, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < warnings->nelts; i++) {
        mto_log(r, APLOG_WARNING, APR_SUCCESS, tenant->host, "MTO0303",
                "JWK Set %s: %s", tenant->jwks_uri,
                APR_ARRAY_IDX(warnings, i, const char *));
    }
    if (mto_jwks_count(*jwks) < 1) {
        mto_error_set(err, 502, "JWK Set at %s has no usable signing key",
                      url_for_message(r->pool, tenant->jwks_uri));
        return APR_EGENERAL;
    }

    rv = mto_cache_set(r->server, r->pool, key, response.body,
                       response.length, expiry_after(conf->tenant_ttl));
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, rv, tenant->host, "MTO0304",
                "storing the JWK Set %s in the shared cache failed, so the "
                "next request fetches it again", tenant->jwks_uri);
    }
    return APR_SUCCESS;
}

apr_status_t mto_jwks_load(request_rec *r, const mto_config_t *conf,
                           const mto_tenant_t *tenant, int refresh,
                           mto_jwks_t **jwks, mto_error_t *err)
{
    const char *key = apr_pstrcat(r->pool, "k:", tenant->jwks_uri, NULL);

    if (!refresh && cached_jwks(r, key, jwks)) {
        return APR_SUCCESS;
    }
    if (refresh && !claim_refresh(r, conf, tenant)) {
        mto_error_set(err, 503, "JWK Set refresh skipped: it was refreshed "
                      "less than %" APR_INT64_T_FMT " seconds ago",
                      conf->jwks_cooldown);
        return APR_EAGAIN;
    }
    return fetch_jwks(r, conf, tenant, key, jwks, err);
}
