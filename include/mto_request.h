/*
 * Request-layer pieces shared by the hooks and handlers: the per-request
 * context, cookies, sessions and error pages.
 */
#ifndef MTO_REQUEST_H
#define MTO_REQUEST_H

#include "mto_config.h"
#include "mto_record.h"
#include "mto_returnpath.h"

#define MTO_AUTH_TYPE "multitenant-oidc"

/* Cookie names; the __Host- prefix makes browsers insist on Secure,
 * Path=/ and no Domain, so no sibling host can plant them. */
#define MTO_SESSION_COOKIE "__Host-mto_session"
#define MTO_STATE_COOKIE_PREFIX "__Host-mto_state_"

/* Shared cache key prefix of a login in progress: the entry exists from
 * the redirect to the provider until the callback takes it, so a state
 * is accepted once, and never after its entry was dropped. */
#define MTO_PENDING_PREFIX "p:"

/* Purposes bound into the sealed cookies with the tenant host. */
#define MTO_PURPOSE_STATE "state"
#define MTO_PURPOSE_SESSION "session"

/* Per-request context, kept in the module's request_config slot. */
typedef struct {
    const char *host;           /* lower-case host name, NULL if invalid */
    const char *port;           /* port from the Host header, or NULL */
    const char *origin;         /* SCHEME://HOST[:PORT] */
    const char *api_base;       /* origin + "/api", the API header value */
    int host_listed;            /* host matches the tenant host patterns */
    int session_checked;
    int session_applied;        /* user and headers already set */
    mto_session_t *session;     /* valid session for this host, or NULL */
} mto_request_t;

/* Returns the context of r, creating it from the Host header. */
mto_request_t *mto_request_get(request_rec *r);

/* Returns the value of cookie name from the request, or NULL. */
const char *mto_cookie_get(request_rec *r, const char *name);

/* Adds a Set-Cookie header with Path=/, Secure and HttpOnly. */
void mto_cookie_set(request_rec *r, const char *name, const char *value,
                    apr_int64_t max_age, const char *same_site);

/* Returns the AEAD binding for a cookie of purpose on host. */
const char *mto_cookie_aad(apr_pool_t *pool, const char *purpose,
                           const char *host);

/*
 * Loads and checks the session cookie for the request's host, once per
 * request. Returns the session or NULL when there is none or it is
 * invalid, expired or made for another host.
 */
mto_session_t *mto_session_load(request_rec *r, const mto_config_t *conf);

/*
 * Seals session and stores it in the session store of conf: the sealed
 * record as the session cookie, or, with the cache store, the sealed
 * record in the shared cache and the session id as the cookie. Returns
 * APR_SUCCESS, or an error when the session cannot be encoded, sealed or
 * stored.
 */
apr_status_t mto_session_save(request_rec *r, const mto_config_t *conf,
                              const mto_session_t *session);

/* Clears the session cookie and, with the cache store, deletes the
 * session from the shared cache; called at logout. */
void mto_session_end(request_rec *r, const mto_config_t *conf);

/* Creates the per-process memo of offboarded tenants; called from
 * child_init. */
void mto_session_child_init(apr_pool_t *pchild, server_rec *s);

/* Sets the user and the identity headers from a valid session. */
void mto_session_apply(request_rec *r, const mto_config_t *conf,
                       const mto_request_t *ctx);

/*
 * Sends status and an HTML page whose message is escaped. Returns
 * the status, so a hook can return it directly.
 */
int mto_page_error(request_rec *r, int status, const char *message);

/* Starts a login for the request's tenant; return_to is a same-host
 * relative URL already checked. Returns an HTTP status. */
int mto_login_start(request_rec *r, const mto_config_t *conf,
                    const char *return_to);

/* Handles a request for the login path. */
int mto_login_handle(request_rec *r, const mto_config_t *conf);

/* Handles a request for the callback path. */
int mto_callback_handle(request_rec *r, const mto_config_t *conf);

#endif
