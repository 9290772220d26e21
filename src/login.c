/*
 * The login path: pass a signed-in browser through to the application, or
 * send it to the tenant's authorization endpoint with a fresh state and
 * nonce kept in a sealed state cookie. In the code flow the cookie keeps
 * a fresh PKCE code_verifier too, and the redirect carries its challenge.
 */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "mto_cache.h"
#include "mto_metrics.h"
#include "mto_request.h"
#include "mto_resolve.h"
#include "mto_token.h"

/* Random bytes in each state and nonce value (128 bits). */
#define LOGIN_RANDOM_BYTES 16

/* State cookies kept at once; older ones are cleared by a new login. */
#define STATE_COOKIES_MAX 4

typedef struct {
    request_rec *r;
    apr_array_header_t *names;
} state_cookie_scan;

static int collect_state_cookies(void *data, const char *key,
                                 const char *value)
{
    state_cookie_scan *scan = data;
    const apr_size_t prefix_length = strlen(MTO_STATE_COOKIE_PREFIX);
    const char *c = value;

    while ((c = ap_strstr_c(c, MTO_STATE_COOKIE_PREFIX)) != NULL) {
        const char *end = ap_strchr_c(c, '=');

        if (end == NULL) {
            break;
        }
        if (end - c > (apr_ssize_t)prefix_length) {
            APR_ARRAY_PUSH(scan->names, const char *) =
                apr_pstrmemdup(scan->r->pool, c, end - c);
        }
        c = end;
    }
    return 1;
}

/* Clears earlier state cookies once there are too many, so abandoned
 * logins cannot grow the Cookie header without bound. */
static void prune_state_cookies(request_rec *r)
{
    state_cookie_scan scan = {r, apr_array_make(r->pool, 4,
                                                sizeof(const char *))};
    int i;

    apr_table_do(collect_state_cookies, &scan, r->headers_in, "Cookie",
                 NULL);
    if (scan.names->nelts < STATE_COOKIES_MAX) {
        return;
    }
    for (i = 0; i < scan.names->nelts; i++) {
        mto_cookie_set(r, APR_ARRAY_IDX(scan.names, i, const char *), "", 0,
                       "None");
    }
}

static const char *query_param(apr_pool_t *pool, const char *name,
                               const char *value, const char *sep)
{
    return apr_pstrcat(pool, sep, name, "=",
                       ap_escape_urlencoded(pool, value), NULL);
}

/*
 * Returns the authorization request URL (OpenID Connect Core section
 * 3.1.2.1 for the implicit flow, plus RFC 7636 section 4.3 for the code
 * flow), or NULL when the code challenge cannot be computed.
 */
static const char *authorization_url(request_rec *r, const mto_config_t *conf,
                                     const mto_tenant_t *tenant,
                                     const mto_state_t *state,
                                     const char *client_id)
{
    const char *endpoint = tenant->authorization_endpoint;
    const char *pkce = "";
    const char *challenge;

    if (state->code_verifier != NULL) {
        challenge = mto_code_challenge(r->pool, state->code_verifier);
        if (challenge == NULL) {
            return NULL;
        }
        pkce = apr_pstrcat(r->pool,
            query_param(r->pool, "code_challenge", challenge, "&"),
            query_param(r->pool, "code_challenge_method", "S256", "&"),
            NULL);
    }
    return apr_pstrcat(r->pool, endpoint,
        query_param(r->pool, "response_type",
                    state->code_verifier ? "code" : "id_token",
                    ap_strchr_c(endpoint, '?') ? "&" : "?"),
        query_param(r->pool, "response_mode", "form_post", "&"),
        query_param(r->pool, "scope", conf->scope, "&"),
        query_param(r->pool, "client_id", client_id, "&"),
        query_param(r->pool, "redirect_uri", mto_redirect_uri(r, conf), "&"),
        query_param(r->pool, "state", state->state, "&"),
        query_param(r->pool, "nonce", state->nonce, "&"),
        pkce, NULL);
}

/* Seals state into a new state cookie. Returns 0 when it cannot. */
static int set_state_cookie(request_rec *r, const mto_config_t *conf,
                            const mto_state_t *state)
{
    const char *plain = mto_state_encode(r->pool, state);
    const char *sealed;

    if (plain == NULL) {
        return 0;
    }
    sealed = mto_seal(r->pool, &conf->keys[0],
                      mto_cookie_aad(r->pool, MTO_PURPOSE_STATE, state->host),
                      plain, strlen(plain));
    if (sealed == NULL) {
        return 0;
    }
    prune_state_cookies(r);
    mto_cookie_set(r, apr_pstrcat(r->pool, MTO_STATE_COOKIE_PREFIX,
                                  state->state, NULL),
                   sealed, conf->state_ttl, "None");
    return 1;
}

/*
 * Records the login in the shared cache until the state expires, so that
 * the callback can take it once. Returns 0, with a log line, when the
 * cache cannot store it.
 */
static int record_pending(request_rec *r, const mto_config_t *conf,
                          const mto_state_t *state)
{
    apr_time_t expiry = state->created + apr_time_from_sec(conf->state_ttl)
                        + apr_time_from_sec(conf->clock_skew);
    apr_status_t rv;

    rv = mto_cache_set(r->server, r->pool,
                       apr_pstrcat(r->pool, MTO_PENDING_PREFIX, state->state,
                                   NULL), "1", 1, expiry);
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_ERR, rv, state->host, "MTO0036",
                "login failed: cannot record the login in the shared "
                "cache, so its callback could not be checked");
        return 0;
    }
    return 1;
}

int mto_login_start(request_rec *r, const mto_config_t *conf,
                    const char *return_to)
{
    mto_request_t *ctx = mto_request_get(r);
    mto_tenant_t *tenant;
    mto_error_t err = {0};
    mto_state_t state = {0};
    const char *client_id;
    const char *location;

    if (mto_tenant_resolve(r, conf, ctx->host, &tenant, &err)
        != APR_SUCCESS) {
        mto_log(r, APLOG_ERR, 0, ctx->host, "MTO0030",
                "login failed: cannot resolve the tenant: %s", err.text);
        mto_metric_inc(MTO_METRIC_LOGIN_FAILED);
        return mto_page_error(r, err.http_status ? err.http_status
                                                 : HTTP_BAD_GATEWAY,
                              apr_psprintf(r->pool, "The sign-in service "
                                           "of %s is unavailable. The "
                                           "server log names the cause.",
                                           ctx->host));
    }
    client_id = tenant->client_id ? tenant->client_id : conf->client_id;

    state.state = mto_random_text(r->pool, LOGIN_RANDOM_BYTES);
    state.nonce = mto_random_text(r->pool, LOGIN_RANDOM_BYTES);
    state.host = ctx->host;
    state.issuer = tenant->issuer;
    state.next = return_to;
    state.created = apr_time_now();
    if (mto_code_flow_used(conf, tenant)) {
        if (tenant->token_endpoint == NULL) {
            mto_log(r, APLOG_ERR, 0, ctx->host, "MTO0510",
                    "login failed: the code flow needs a token endpoint, "
                    "and the tenant record of issuer %s has none; add a "
                    "token_endpoint link to the tenant information",
                    tenant->issuer);
            mto_metric_inc(MTO_METRIC_LOGIN_FAILED);
            return mto_page_error(r, HTTP_BAD_GATEWAY,
                                  apr_psprintf(r->pool, "The sign-in "
                                               "service of %s is not "
                                               "configured completely. The "
                                               "server log names the "
                                               "cause.", ctx->host));
        }
        state.code_verifier = mto_random_text(r->pool,
                                              MTO_CODE_VERIFIER_BYTES);
    }

    location = authorization_url(r, conf, tenant, &state, client_id);
    if (location == NULL) {
        mto_log(r, APLOG_ERR, 0, ctx->host, "MTO0035",
                "login failed: cannot compute the code challenge");
        mto_metric_inc(MTO_METRIC_LOGIN_FAILED);
        return mto_page_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "Sign-in cannot start on this server.");
    }
    if (!record_pending(r, conf, &state)) {
        mto_metric_inc(MTO_METRIC_LOGIN_FAILED);
        return mto_page_error(r, HTTP_SERVICE_UNAVAILABLE,
                              "Sign-in cannot start on this server right "
                              "now. Try again in a moment.");
    }
    if (!set_state_cookie(r, conf, &state)) {
        mto_log(r, APLOG_ERR, 0, ctx->host, "MTO0035",
                "login failed: cannot seal the state cookie");
        mto_metric_inc(MTO_METRIC_LOGIN_FAILED);
        return mto_page_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "Sign-in cannot start on this server.");
    }

    mto_log(r, APLOG_DEBUG, 0, ctx->host, "MTO0031",
            "login started (%s flow), redirecting to issuer %s",
            state.code_verifier ? "code" : "implicit", tenant->issuer);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", location);
    mto_metric_inc(MTO_METRIC_LOGIN_STARTED);
    return HTTP_MOVED_TEMPORARILY;
}

/*
 * Reads the "next" query parameter. Returns APR_SUCCESS with *next set
 * (NULL when absent), or APR_EINVAL when it appears twice or is not a
 * same-host path.
 */
static apr_status_t login_next(request_rec *r, const char **next)
{
    char *args;
    char *pair;
    char *last;

    *next = NULL;
    if (r->args == NULL) {
        return APR_SUCCESS;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &last); pair != NULL;
         pair = apr_strtok(NULL, "&", &last)) {
        char *value = ap_strchr(pair, '=');

        if (value == NULL) {
            continue;
        }
        *value++ = '\0';
        if (strcmp(pair, "next") != 0) {
            continue;
        }
        if (*next != NULL || ap_unescape_urlencoded(value) != OK) {
            return APR_EINVAL;
        }
        *next = value;
    }
    if (*next != NULL && !mto_return_path_valid(*next)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

int mto_login_handle(request_rec *r, const mto_config_t *conf)
{
    mto_request_t *ctx = mto_request_get(r);
    const char *next;
    const char *return_to;

    if (ctx->host == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MTO0032: tenant -: login rejected: invalid Host "
                      "header");
        return mto_page_error(r, HTTP_BAD_REQUEST, "Invalid Host header.");
    }
    if (!ctx->host_listed) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0033",
                "login rejected: host matches no " MTO_DIR_TENANT_HOST
                " pattern");
        return mto_page_error(r, HTTP_NOT_FOUND,
                              "No tenant is served at this host.");
    }
    if (mto_session_load(r, conf) != NULL) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return mto_page_error(r, HTTP_METHOD_NOT_ALLOWED,
                              "Sign-in starts with a GET request.");
    }
    if (login_next(r, &next) != APR_SUCCESS) {
        mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0034",
                "login rejected: the next parameter is not a single "
                "same-host path");
        return mto_page_error(r, HTTP_BAD_REQUEST,
                              "The next parameter must be one path on this "
                              "host, such as /hub/spawn.");
    }
    return_to = conf->login_path;
    if (next != NULL) {
        return_to = apr_pstrcat(r->pool, conf->login_path, "?next=",
                                ap_escape_urlencoded(r->pool, next), NULL);
    }
    return mto_login_start(r, conf, return_to);
}
