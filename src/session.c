/*
 * Sessions bound to the tenant host, in one of two stores:
 *
 * cookie  The session record, AEAD-sealed, is the cookie value.
 * cache   The cookie holds only the session id, 128 random bits in
 *         base64url, and the sealed record lives in the shared cache under
 *         "s:" + hex SHA-256 of the id until the session expires. The id
 *         is not sealed: it is unguessable, and the server looks it up
 *         anyway. Hashing it keeps live cookie values out of the cache's
 *         key space, so a key listing (redis KEYS, memcached dumps) does
 *         not hand out sessions. The record is still sealed with the
 *         cookie key and the host, so an entry written into the cache by
 *         anyone without the passphrase, or copied from another host, is
 *         rejected. Logout deletes the entry, which ends the session on
 *         every node that shares the cache.
 *
 * Either way a session is rejected when its tenant was marked gone (its
 * tenant information returned 404) after the session was created.
 */
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <http_core.h>

#include "mto_cache.h"
#include "mto_metrics.h"
#include "mto_request.h"
#include "mto_sessionmemo.h"

/* Maximum length of a session cookie value opened, in bytes. */
#define SESSION_COOKIE_MAX 4096

/* Length of a session id: 16 random bytes in base64url. */
#define SESSION_ID_LENGTH 22

/*
 * How long this process trusts what it last read of a tenant's gone
 * marker. The memo keeps the shared cache, and with shmcb its global
 * mutex, off the path of every signed-in request. A host is looked up
 * about once per interval per process (two threads may both look it up), so an offboarded tenant's sessions
 * stop within this time of the marker being written.
 */
#define GONE_MEMO_TIME apr_time_from_sec(1)

/* Hosts remembered per process before the memo starts over. */
#define GONE_MEMO_MAX 10000

typedef struct {
    apr_time_t checked;
    apr_time_t gone_since;      /* time of the marker, 0 when none */
} gone_memo_entry;

static struct {
    apr_thread_mutex_t *mutex;
    apr_pool_t *pool;           /* contains table; cleared when full */
    apr_hash_t *table;          /* host -> gone_memo_entry */
} gone_memo;

void mto_session_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    mto_session_memo_child_init(pchild, s);

    rv = apr_thread_mutex_create(&gone_memo.mutex, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_pool_create(&gone_memo.pool, pchild);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "MTO0420: cannot create the offboarding memo, so every "
                     "signed-in request reads the shared cache");
        gone_memo.mutex = NULL;
        return;
    }
    gone_memo.table = apr_hash_make(gone_memo.pool);
}

/* Reads the gone marker of host from the shared cache and returns its
 * time, or 0. A backend failure reads as no marker, so a cache outage
 * does not end every session. */
static apr_time_t tenant_gone_shared(request_rec *r, const char *host)
{
    char *value;
    apr_size_t length;

    if (mto_cache_get(r->server, r->pool,
                      apr_pstrcat(r->pool, MTO_GONE_PREFIX, host, NULL),
                      &value, &length) != APR_SUCCESS) {
        return 0;
    }
    return apr_atoi64(value);
}

/* Returns the time host was last marked gone, or 0, through the
 * per-process memo. */
static apr_time_t tenant_gone_since(request_rec *r, const char *host)
{
    gone_memo_entry *entry;
    apr_time_t now = apr_time_now();
    apr_time_t gone;

    if (gone_memo.mutex == NULL) {
        return tenant_gone_shared(r, host);
    }
    apr_thread_mutex_lock(gone_memo.mutex);
    entry = apr_hash_get(gone_memo.table, host, APR_HASH_KEY_STRING);
    if (entry != NULL && now - entry->checked < GONE_MEMO_TIME) {
        gone = entry->gone_since;
        apr_thread_mutex_unlock(gone_memo.mutex);
        return gone;
    }
    apr_thread_mutex_unlock(gone_memo.mutex);

    /* The shared cache is read without holding the memo's mutex. */
    gone = tenant_gone_shared(r, host);

    apr_thread_mutex_lock(gone_memo.mutex);
    entry = apr_hash_get(gone_memo.table, host, APR_HASH_KEY_STRING);
    if (entry == NULL) {
        if (apr_hash_count(gone_memo.table) >= GONE_MEMO_MAX) {
            apr_pool_clear(gone_memo.pool);
            gone_memo.table = apr_hash_make(gone_memo.pool);
        }
        entry = apr_palloc(gone_memo.pool, sizeof(*entry));
        apr_hash_set(gone_memo.table, apr_pstrdup(gone_memo.pool, host),
                     APR_HASH_KEY_STRING, entry);
    }
    entry->checked = now;
    entry->gone_since = gone;
    apr_thread_mutex_unlock(gone_memo.mutex);
    return gone;
}

/* Returns 1 when id has the form of a session id. */
static int session_id_valid(const char *id)
{
    const char *c;

    if (strlen(id) != SESSION_ID_LENGTH) {
        return 0;
    }
    for (c = id; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_') {
            return 0;
        }
    }
    return 1;
}

static const char *session_cache_key(apr_pool_t *pool, const char *id)
{
    return apr_pstrcat(pool, "s:", mto_sha256_hex(pool, id), NULL);
}

/*
 * Reads the sealed record of the session id in the cookie from the shared
 * cache. Returns the sealed text, or NULL when the id is malformed or has
 * no entry (logged out, expired, or evicted).
 */
static const char *session_fetch(request_rec *r, const mto_request_t *ctx,
                                 const char *id)
{
    char *sealed;
    apr_size_t length;
    apr_status_t rv;

    if (!session_id_valid(id)) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0421",
                "session cookie ignored: it is not a session id");
        return NULL;
    }
    rv = mto_cache_get(r->server, r->pool, session_cache_key(r->pool, id),
                       &sealed, &length);
    if (rv == APR_NOTFOUND) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0422",
                "session cookie ignored: no such session in the shared "
                "cache (logged out, expired or evicted)");
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_ERR, rv, ctx->host, "MTO0423",
                "session cookie ignored: reading the session from the "
                "shared cache failed");
        return NULL;
    }
    return sealed;
}

/* Opens and checks a sealed session record for the request's host. */
static mto_session_t *session_open(request_rec *r, const mto_config_t *conf,
                                   const mto_request_t *ctx,
                                   const char *sealed, int *key_index)
{
    mto_session_t *session;
    mto_error_t err = {0};
    char *plain;
    apr_size_t length;

    if (mto_open(r->pool, conf->keys, conf->key_count,
                 mto_cookie_aad(r->pool, MTO_PURPOSE_SESSION, ctx->host),
                 sealed, SESSION_COOKIE_MAX, &plain, &length, key_index)
        != APR_SUCCESS) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0020",
                "session cookie ignored: it does not open with this "
                "server's key for this host");
        return NULL;
    }
    session = apr_pcalloc(r->pool, sizeof(*session));
    if (mto_session_decode(r->pool, plain, length, session, &err)
        != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, 0, ctx->host, "MTO0021",
                "session cookie ignored: %s", err.text);
        return NULL;
    }
    if (strcmp(session->host, ctx->host) != 0) {
        mto_log(r, APLOG_WARNING, 0, ctx->host, "MTO0022",
                "session cookie ignored: made for host '%s'", session->host);
        return NULL;
    }
    return session;
}

static mto_session_t *session_check(request_rec *r, const mto_config_t *conf,
                                    const mto_request_t *ctx,
                                    const char *cookie)
{
    const char *sealed = cookie;
    mto_session_t *session;
    int key_index = 0;

    if (conf->session_store == MTO_SESSION_STORE_CACHE) {
        sealed = session_fetch(r, ctx, cookie);
        if (sealed == NULL) {
            return NULL;
        }
    }
    session = mto_session_memo_get(r->pool, conf, ctx->host, sealed);
    if (session == NULL) {
        session = session_open(r, conf, ctx, sealed, &key_index);
        if (session == NULL) {
            return NULL;
        }

        /* A record under the previous key is sealed again below, so only
         * records under the current key are remembered. */
        if (key_index == 0) {
            mto_session_memo_put(conf, ctx->host, sealed, session);
        }
    }
    if (conf->session_store == MTO_SESSION_STORE_CACHE
        && !mto_equal_consttime(session->id, cookie)) {
        mto_log(r, APLOG_WARNING, 0, ctx->host, "MTO0424",
                "session ignored: the cached record belongs to another "
                "session id");
        return NULL;
    }
    if (session->expires <= apr_time_now()) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0023",
                "session of user '%s' expired", session->user);
        return NULL;
    }
    if (session->created <= tenant_gone_since(r, ctx->host)) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0425",
                "session of user '%s' rejected: the tenant is gone (its "
                "tenant information returned 404)", session->user);
        return NULL;
    }

    /* A record sealed under the previous passphrase is sealed again under
     * the current one, so rotation completes as users come back. */
    if (key_index > 0 && mto_session_save(r, conf, session) == APR_SUCCESS) {
        mto_log(r, APLOG_DEBUG, 0, ctx->host, "MTO0024",
                "session of user '%s' re-sealed under the current "
                "passphrase", session->user);
    }
    return session;
}

static mto_session_t *session_load(request_rec *r, const mto_config_t *conf,
                                   const mto_request_t *ctx)
{
    const char *cookie = mto_cookie_get(r, MTO_SESSION_COOKIE);
    mto_session_t *session;

    if (cookie == NULL || *cookie == '\0') {
        return NULL;
    }
    session = session_check(r, conf, ctx, cookie);
    mto_metric_inc(session ? MTO_METRIC_SESSION_ACCEPTED
                           : MTO_METRIC_SESSION_REJECTED);
    return session;
}

mto_session_t *mto_session_load(request_rec *r, const mto_config_t *conf)
{
    mto_request_t *ctx = mto_request_get(r);

    if (!ctx->session_checked) {
        ctx->session_checked = 1;
        if (ctx->host != NULL && ctx->host_listed) {
            ctx->session = session_load(r, conf, ctx);
        }
    }
    return ctx->session;
}

apr_status_t mto_session_save(request_rec *r, const mto_config_t *conf,
                              const mto_session_t *session)
{
    const char *plain = mto_session_encode(r->pool, session);
    const char *sealed;
    apr_status_t rv;

    if (plain == NULL) {
        return APR_EINVAL;
    }
    sealed = mto_seal(r->pool, &conf->keys[0],
                      mto_cookie_aad(r->pool, MTO_PURPOSE_SESSION,
                                     session->host),
                      plain, strlen(plain));
    if (sealed == NULL) {
        return APR_EGENERAL;
    }
    if (conf->session_store == MTO_SESSION_STORE_CACHE) {
        if (!session_id_valid(session->id)) {
            return APR_EINVAL;
        }
        rv = mto_cache_set(r->server, r->pool,
                           session_cache_key(r->pool, session->id), sealed,
                           strlen(sealed), session->expires);
        if (rv != APR_SUCCESS) {
            mto_log(r, APLOG_ERR, rv, session->host, "MTO0426",
                    "storing the session in the shared cache failed");
            return rv;
        }
        sealed = session->id;
    }
    mto_cookie_set(r, MTO_SESSION_COOKIE, sealed,
                   apr_time_sec(session->expires - session->created), "Lax");
    return APR_SUCCESS;
}

void mto_session_end(request_rec *r, const mto_config_t *conf)
{
    mto_request_t *ctx = mto_request_get(r);
    const char *cookie = mto_cookie_get(r, MTO_SESSION_COOKIE);
    apr_status_t rv;

    mto_cookie_set(r, MTO_SESSION_COOKIE, "", 0, "Lax");
    if (conf->session_store != MTO_SESSION_STORE_CACHE || cookie == NULL
        || !session_id_valid(cookie)) {
        return;
    }
    rv = mto_cache_remove(r->server, r->pool,
                          session_cache_key(r->pool, cookie));
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_ERR, rv, ctx->host, "MTO0427",
                "deleting the session from the shared cache at logout "
                "failed, so it stays valid on other browsers that hold "
                "its id until it expires");
    }
}

void mto_session_apply(request_rec *r, const mto_config_t *conf,
                       const mto_request_t *ctx)
{
    const mto_session_t *session = ctx->session;

    /* The session's strings live in the request pool and the header names
     * in the configuration, so the table keeps pointers, not copies. */
    r->user = (char *)session->user;
    r->ap_auth_type = MTO_AUTH_TYPE;
    apr_table_setn(r->headers_in, conf->user_header, session->user);
    apr_table_setn(r->headers_in, conf->api_header, ctx->api_base);
}
