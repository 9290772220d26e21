/*
 * Request-time resolution of tenants and their JWK Sets, through the
 * shared cache and the back channel. Cache keys:
 *   "t:" + host       tenant record (mto_tenant_encode) in a cache entry
 *   "k:" + jwks_uri   JWK Set text as fetched, in a cache entry
 *   "l:" + one of the keys above
 *                     fetch lock: one request fetches, the others wait
 *   "g:" + host       time its tenant information last returned 404
 *   "r:" + jwks_uri   marker of a recent forced refresh of that key set
 *
 * A cache entry is "MTO1 FRESH STALE STATUS\n" followed by the body, where
 * FRESH and STALE are apr_time_t values (microseconds since the epoch).
 * Until FRESH the entry is used as it is. STATUS 0 marks a document, and
 * after FRESH it is refetched but may still be served until STALE while
 * its provider fails. Any other STATUS marks a cached failure (502 or
 * 503) whose body is the reason, and such an entry ends at FRESH.
 */
#include <string.h>

#include <apr_strings.h>

#include "mto_cache.h"
#include "mto_metrics.h"
#include "mto_resolve.h"

#define DISCOVERY_PATH "/.well-known/openid-configuration"

#define ENTRY_MAGIC "MTO1 "

/* Interval at which a request waiting for another request's fetch
 * polls the shared cache. */
#define WAIT_POLL_INTERVAL apr_time_from_msec(25)

typedef struct {
    apr_time_t fresh_until;
    apr_time_t stale_until;
    int status;                 /* 0, or the HTTP status of a failure */
    const char *body;           /* document, or the failure reason */
    apr_size_t length;
} cache_entry;

/* A document fetch: what it is, and how to get its text. */
typedef struct {
    const char *key;            /* cache key of the entry */
    const char *host;           /* tenant host, for log lines */
    const char *what;           /* "tenant information" or "JWK Set" */
    apr_status_t (*fetch)(request_rec *r, const mto_config_t *conf,
                          void *baton, const char **text,
                          apr_size_t *length, long *max_age,
                          mto_error_t *err);
    void *baton;
} document_source;

static apr_time_t expiry_after(apr_int64_t seconds)
{
    return apr_time_now() + apr_time_from_sec(seconds);
}

/* Returns url without its query and fragment, for messages. */
static const char *url_for_message(apr_pool_t *pool, const char *url)
{
    return apr_pstrmemdup(pool, url, strcspn(url, "?#"));
}

/* Parses a cache entry. Returns 1 when value is a well-formed entry. */
static int entry_parse(char *value, apr_size_t length, cache_entry *entry)
{
    char *newline = memchr(value, '\n', length);
    char *end;

    if (newline == NULL || strncmp(value, ENTRY_MAGIC, 5) != 0) {
        return 0;
    }
    *newline = '\0';
    entry->fresh_until = apr_strtoi64(value + 5, &end, 10);
    if (*end != ' ') {
        return 0;
    }
    entry->stale_until = apr_strtoi64(end + 1, &end, 10);
    if (*end != ' ') {
        return 0;
    }
    entry->status = (int)apr_strtoi64(end + 1, &end, 10);
    if (*end != '\0') {
        return 0;
    }
    entry->body = newline + 1;
    entry->length = length - (apr_size_t)(newline + 1 - value);
    return 1;
}

/* Reads the entry under key. Returns 0 on a miss; a backend failure or
 * a malformed entry counts as a miss. */
static int entry_get(request_rec *r, const char *key, cache_entry *entry)
{
    char *value;
    apr_size_t length;

    if (mto_cache_get(r->server, r->pool, key, &value, &length)
        != APR_SUCCESS) {
        return 0;
    }
    return entry_parse(value, length, entry);
}

static apr_status_t entry_put(request_rec *r, const char *key,
                              const cache_entry *entry)
{
    const char *header = apr_psprintf(r->pool, ENTRY_MAGIC "%"
                                      APR_TIME_T_FMT " %" APR_TIME_T_FMT
                                      " %d\n", entry->fresh_until,
                                      entry->stale_until, entry->status);
    apr_size_t header_length = strlen(header);
    char *value = apr_palloc(r->pool, header_length + entry->length);

    memcpy(value, header, header_length);
    memcpy(value + header_length, entry->body, entry->length);
    return mto_cache_set(r->server, r->pool, key, value,
                         header_length + entry->length,
                         entry->stale_until > entry->fresh_until
                         ? entry->stale_until : entry->fresh_until);
}

/*
 * Returns the time a fetched document stays fresh, in seconds: the
 * provider's Cache-Control max-age clamped to the configured bounds, or
 * the tenant cache time when the response has no max-age.
 */
static apr_int64_t document_ttl(const mto_config_t *conf, long max_age)
{
    if (max_age < 0) {
        return conf->tenant_ttl;
    }
    if (max_age < conf->tenant_ttl_min) {
        return conf->tenant_ttl_min;
    }
    if (max_age > conf->tenant_ttl_max) {
        return conf->tenant_ttl_max;
    }
    return max_age;
}

/* Fills err from a cached failure. */
static apr_status_t entry_failure(request_rec *r, const cache_entry *entry,
                                  mto_error_t *err)
{
    apr_int64_t left = apr_time_sec(entry->fresh_until - apr_time_now()) + 1;

    mto_error_set(err, entry->status, "cached failure, retried in %"
                  APR_INT64_T_FMT " s: %.*s", left,
                  (int)(entry->length > 200 ? 200 : entry->length),
                  entry->body);
    return APR_EGENERAL;
}

/*
 * Waits for the request that holds the fetch lock of source to store its
 * result, for at most the back-channel total timeout. Returns 1 with
 * entry filled when a fresh entry appeared.
 */
static int wait_for_entry(request_rec *r, const mto_config_t *conf,
                          const document_source *source, cache_entry *entry)
{
    apr_time_t deadline = apr_time_now()
                          + apr_time_from_msec(conf->total_timeout_ms);

    while (apr_time_now() < deadline) {
        apr_sleep(WAIT_POLL_INTERVAL);
        if (entry_get(r, source->key, entry)
            && entry->fresh_until > apr_time_now()) {
            return 1;
        }
    }
    return 0;
}

/*
 * Stores the result of a fetch. On failure a copy that is still within
 * its stale time is kept and served, unless the document was not found
 * (404), and is tried again after the negative cache time.
 */
static apr_status_t store_result(request_rec *r, const mto_config_t *conf,
                                 const document_source *source,
                                 apr_status_t fetched, const char *text,
                                 apr_size_t length, long max_age,
                                 const cache_entry *old, cache_entry *entry,
                                 mto_error_t *err)
{
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    if (fetched == APR_SUCCESS) {
        entry->fresh_until = now + apr_time_from_sec(document_ttl(conf,
                                                                  max_age));
        entry->stale_until = entry->fresh_until
                             + apr_time_from_sec(conf->max_stale);
        entry->status = 0;
        entry->body = text;
        entry->length = length;
    }
    else if (old != NULL && fetched != APR_NOTFOUND) {
        *entry = *old;
        entry->fresh_until = now + apr_time_from_sec(conf->negative_ttl);
        if (entry->fresh_until > entry->stale_until) {
            entry->fresh_until = entry->stale_until;
        }
        mto_log(r, APLOG_WARNING, 0, source->host, "MTO0401",
                "refreshing the %s failed (%s), so the copy that expired %"
                APR_INT64_T_FMT " s ago is used for up to %" APR_INT64_T_FMT
                " s more", source->what, err->text,
                apr_time_sec(now - old->fresh_until),
                apr_time_sec(old->stale_until - now));
    }
    else {
        entry->fresh_until = now + apr_time_from_sec(conf->negative_ttl);
        entry->stale_until = entry->fresh_until;
        entry->status = err->http_status ? err->http_status : 502;
        entry->body = err->text;
        entry->length = strlen(err->text);
    }

    rv = entry_put(r, source->key, entry);
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, rv, source->host, "MTO0402",
                "storing the %s in the shared cache failed, so the next "
                "request fetches it again", source->what);
    }
    return entry->status == 0 ? APR_SUCCESS : fetched;
}

/* Returns the usable stale copy in entry, or NULL. */
static const cache_entry *stale_copy(const cache_entry *entry, int found)
{
    if (found && entry->status == 0
        && entry->stale_until > apr_time_now()) {
        return entry;
    }
    return NULL;
}

/*
 * Loads a document through the shared cache. A fresh entry is used as it
 * is. Otherwise one request per key takes the fetch lock and fetches,
 * while the others serve the stale copy when there is one or wait for the
 * lock holder's result. With force set the cache is bypassed. Returns
 * APR_SUCCESS with entry->body set, or an error with err filled. A
 * document not found gives APR_NOTFOUND.
 */
static apr_status_t load_document(request_rec *r, const mto_config_t *conf,
                                  const document_source *source, int force,
                                  cache_entry *entry, mto_error_t *err)
{
    const char *lock = apr_pstrcat(r->pool, "l:", source->key, NULL);
    cache_entry cached;
    const cache_entry *stale;
    const char *text = NULL;
    apr_size_t length = 0;
    long max_age = -1;
    apr_status_t rv;
    int found = entry_get(r, source->key, &cached);

    if (!force && found && cached.fresh_until > apr_time_now()) {
        *entry = cached;
        return cached.status == 0 ? APR_SUCCESS
                                   : entry_failure(r, &cached, err);
    }
    stale = stale_copy(&cached, found);

    rv = mto_cache_add(r->server, r->pool, lock, "1", 1,
                       apr_time_now()
                       + apr_time_from_msec(conf->total_timeout_ms));
    if (rv == APR_EEXIST && !force) {
        if (stale != NULL) {
            *entry = *stale;
            return APR_SUCCESS;
        }
        if (wait_for_entry(r, conf, source, entry)) {
            return entry->status == 0 ? APR_SUCCESS
                                      : entry_failure(r, entry, err);
        }
        mto_error_set(err, 503, "timed out waiting for another request's "
                      "fetch of the %s", source->what);
        return APR_TIMEUP;
    }
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        mto_log(r, APLOG_WARNING, rv, source->host, "MTO0403",
                "storing the fetch lock of the %s in the shared cache "
                "failed, so concurrent requests may fetch it too",
                source->what);
    }

    rv = source->fetch(r, conf, source->baton, &text, &length, &max_age,
                       err);
    rv = store_result(r, conf, source, rv, text, length, max_age, stale,
                      entry, err);
    mto_cache_remove(r->server, r->pool, lock);
    return rv;
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

    mto_metric_inc(rv == APR_SUCCESS ? MTO_METRIC_BACKCHANNEL_COMPLETED
                                     : MTO_METRIC_BACKCHANNEL_FAILED);
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

/*
 * Fetches the tenant information document and, if needed, discovery, and
 * returns the encoded tenant record as the document text. Only a 404 of
 * the tenant information returns APR_NOTFOUND. The max-age of the tenant
 * information applies, or the smaller one when discovery was read too.
 */
static apr_status_t fetch_tenant(request_rec *r, const mto_config_t *conf,
                                 void *baton, const char **text,
                                 apr_size_t *length, long *max_age,
                                 mto_error_t *err)
{
    const char *host = baton;
    mto_tenant_t *tenant = apr_pcalloc(r->pool, sizeof(*tenant));
    mto_http_response_t response;
    const char *url = mto_url_expand(r->pool, conf->tenant_info_url, host);
    apr_status_t rv;

    rv = fetch_document(r, conf, url, "tenant information", &response, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *max_age = response.max_age;
    rv = mto_tenant_parse_info(r->pool, host, response.body, response.length,
                               conf->issuer_patterns, tenant, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!mto_tenant_complete(tenant)) {
        url = discovery_url(r->pool, tenant->issuer);
        rv = fetch_document(r, conf, url, "discovery document", &response,
                            err);
        if (rv != APR_SUCCESS) {
            return rv == APR_NOTFOUND ? APR_EGENERAL : rv;
        }
        if (response.max_age >= 0
            && (*max_age < 0 || response.max_age < *max_age)) {
            *max_age = response.max_age;
        }
        rv = mto_tenant_parse_discovery(r->pool, response.body,
                                        response.length, tenant, err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if (!mto_tenant_complete(tenant)) {
        mto_error_set(err, 502, "neither tenant information nor discovery "
                      "names %s",
                      tenant->authorization_endpoint == NULL
                      ? "an authorization_endpoint" : "a jwks_uri");
        return APR_EGENERAL;
    }
    *text = mto_tenant_encode(r->pool, tenant);
    if (*text == NULL) {
        mto_error_set(err, 502, "tenant record cannot be encoded");
        return APR_EGENERAL;
    }
    *length = strlen(*text);
    return APR_SUCCESS;
}

/*
 * Writes the gone marker of host: the time its tenant information
 * returned 404. Sessions of the host created before that time are
 * rejected (src/session.c), also after the tenant comes back. The marker
 * lasts one session lifetime, so it outlives every session it rejects.
 */
static void mark_tenant_gone(request_rec *r, const mto_config_t *conf,
                             const char *host)
{
    const char *key = apr_pstrcat(r->pool, MTO_GONE_PREFIX, host, NULL);
    const char *now = apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                   apr_time_now());
    apr_status_t rv;

    rv = mto_cache_set(r->server, r->pool, key, now, strlen(now),
                       expiry_after(conf->session_ttl + conf->clock_skew));
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_ERR, rv, host, "MTO0404",
                "storing the offboarding marker in the shared cache failed, "
                "so existing sessions of this host stay valid");
    }
    else {
        mto_log(r, APLOG_WARNING, 0, host, "MTO0405",
                "tenant information returned 404: the tenant is treated as "
                "gone and its existing sessions are rejected");
    }
}

apr_status_t mto_tenant_resolve(request_rec *r, const mto_config_t *conf,
                                const char *host, mto_tenant_t **tenant,
                                mto_error_t *err)
{
    document_source source = {
        apr_pstrcat(r->pool, "t:", host, NULL), host, "tenant information",
        fetch_tenant, (void *)host
    };
    mto_tenant_t *resolved = apr_pcalloc(r->pool, sizeof(*resolved));
    mto_error_t decode_err = {0};
    cache_entry entry;
    apr_status_t rv;

    rv = load_document(r, conf, &source, 0, &entry, err);
    if (rv == APR_NOTFOUND) {
        mark_tenant_gone(r, conf, host);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mto_tenant_decode(r->pool, entry.body, entry.length, resolved,
                           &decode_err);
    if (rv != APR_SUCCESS || strcmp(resolved->host, host) != 0) {
        mto_cache_remove(r->server, r->pool, source.key);
        mto_error_set(err, 502, "cached tenant record is invalid: %s",
                      decode_err.text);
        return APR_EGENERAL;
    }
    *tenant = resolved;
    return APR_SUCCESS;
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

/* Fetches the JWK Set and checks that it has a usable key, so that a set
 * without one is cached as a failure. */
static apr_status_t fetch_jwks(request_rec *r, const mto_config_t *conf,
                               void *baton, const char **text,
                               apr_size_t *length, long *max_age,
                               mto_error_t *err)
{
    const mto_tenant_t *tenant = baton;
    mto_http_response_t response;
    apr_array_header_t *warnings;
    mto_jwks_t *jwks;
    apr_status_t rv;
    int i;

    rv = fetch_document(r, conf, tenant->jwks_uri, "JWK Set", &response,
                        err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = mto_jwks_parse(r->pool, response.body, response.length, &jwks,
                        &warnings, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < warnings->nelts; i++) {
        mto_log(r, APLOG_WARNING, APR_SUCCESS, tenant->host, "MTO0303",
                "JWK Set %s: %s", tenant->jwks_uri,
                APR_ARRAY_IDX(warnings, i, const char *));
    }
    if (mto_jwks_count(jwks) < 1) {
        mto_error_set(err, 502, "JWK Set at %s has no usable signing key",
                      url_for_message(r->pool, tenant->jwks_uri));
        return APR_EGENERAL;
    }
    *text = response.body;
    *length = response.length;
    *max_age = response.max_age;
    return APR_SUCCESS;
}

apr_status_t mto_jwks_load(request_rec *r, const mto_config_t *conf,
                           const mto_tenant_t *tenant, int refresh,
                           mto_jwks_t **jwks, mto_error_t *err)
{
    document_source source = {
        apr_pstrcat(r->pool, "k:", tenant->jwks_uri, NULL), tenant->host,
        "JWK Set", fetch_jwks, (void *)tenant
    };
    cache_entry entry;
    apr_status_t rv;

    if (refresh && !claim_refresh(r, conf, tenant)) {
        mto_error_set(err, 503, "JWK Set refresh skipped: it was refreshed "
                      "less than %" APR_INT64_T_FMT " seconds ago",
                      conf->jwks_cooldown);
        return APR_EAGAIN;
    }
    rv = load_document(r, conf, &source, refresh, &entry, err);
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_EGENERAL : rv;
    }
    return mto_keyset_get(r, tenant->jwks_uri, entry.body, entry.length,
                          jwks, err);
}
