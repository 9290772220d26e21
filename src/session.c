/*
 * Sessions kept in an AEAD-sealed cookie bound to the tenant host.
 */
#include <apr_strings.h>
#include <http_core.h>

#include "mto_request.h"

/* Maximum length of a session cookie value opened, in bytes. */
#define SESSION_COOKIE_MAX 4096

static mto_session_t *session_open(request_rec *r, const mto_config_t *conf,
                                   const mto_request_t *ctx)
{
    const char *sealed = mto_cookie_get(r, MTO_SESSION_COOKIE);
    mto_session_t *session;
    mto_error_t err = {0};
    char *plain;
    apr_size_t length;
    int key_index;
    apr_time_t now = apr_time_now();

    if (sealed == NULL || *sealed == '\0') {
        return NULL;
    }
    if (mto_open(r->pool, conf->keys, conf->key_count,
                 mto_cookie_aad(r->pool, MTO_PURPOSE_SESSION, ctx->host),
                 sealed, SESSION_COOKIE_MAX, &plain, &length, &key_index)
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
    if (session->expires <= now) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0023",
                "session of user '%s' expired", session->user);
        return NULL;
    }

    /* A cookie sealed under the previous passphrase is sealed again under
     * the current one, so rotation completes as users come back. */
    if (key_index > 0 && mto_session_save(r, conf, session) == APR_SUCCESS) {
        mto_log(r, APLOG_DEBUG, 0, ctx->host, "MTO0024",
                "session of user '%s' re-sealed under the current "
                "passphrase", session->user);
    }
    return session;
}

mto_session_t *mto_session_load(request_rec *r, const mto_config_t *conf)
{
    mto_request_t *ctx = mto_request_get(r);

    if (!ctx->session_checked) {
        ctx->session_checked = 1;
        if (ctx->host != NULL && ctx->host_listed) {
            ctx->session = session_open(r, conf, ctx);
        }
    }
    return ctx->session;
}

apr_status_t mto_session_save(request_rec *r, const mto_config_t *conf,
                              const mto_session_t *session)
{
    const char *plain = mto_session_encode(r->pool, session);
    const char *sealed;

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
    mto_cookie_set(r, MTO_SESSION_COOKIE, sealed,
                   apr_time_sec(session->expires - session->created), "Lax");
    return APR_SUCCESS;
}

void mto_session_apply(request_rec *r, const mto_config_t *conf,
                       const mto_request_t *ctx)
{
    const mto_session_t *session = ctx->session;

    r->user = apr_pstrdup(r->pool, session->user);
    r->ap_auth_type = MTO_AUTH_TYPE;
    apr_table_set(r->headers_in, conf->user_header, session->user);
    apr_table_set(r->headers_in, conf->api_header,
                  apr_pstrcat(r->pool, ctx->origin, "/api", NULL));
}
