/*
 * The callback path: the provider's form_post with state and either an
 * id_token (implicit flow) or a code (code flow), as the login chose. The
 * state must match a sealed state cookie of this browser and host and is
 * accepted once. A code is redeemed at the token endpoint for an id_token.
 * The id_token must pass every check in mto_idtoken_verify. Only then is a
 * session issued.
 */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "mto_cache.h"
#include "mto_metrics.h"
#include "mto_request.h"
#include "mto_resolve.h"
#include "mto_token.h"

/* Largest form body read, in bytes; an id_token is rarely over 4 KiB. */
#define FORM_BODY_MAX (64 * 1024)

/* Largest state cookie opened, in bytes. */
#define STATE_COOKIE_MAX 4096

/* Maximum length of the state parameter: 16 random bytes are 22 characters. */
#define STATE_PARAM_MAX 64

/* Maximum length of an authorization code, in bytes. RFC 6749 sets no
 * limit, so this cap is an estimate with room to spare. */
#define CODE_PARAM_MAX 4096

/* Maximum length of a user name handed to the application, in bytes. */
#define USER_NAME_MAX 128

typedef struct {
    const char *state;
    const char *id_token;
    const char *code;
    const char *error;
    const char *error_description;
} callback_form;

static const char *form_value(request_rec *r, ap_form_pair_t *pair)
{
    apr_off_t length;
    apr_size_t size;
    char *buffer;

    apr_brigade_length(pair->value, 1, &length);
    size = (apr_size_t)length;
    buffer = apr_palloc(r->pool, size + 1);
    apr_brigade_flatten(pair->value, buffer, &size);
    buffer[size] = '\0';
    return buffer;
}

/*
 * Reads the form into form. Returns OK, or an HTTP status with *problem
 * naming what was wrong.
 */
static int read_form(request_rec *r, callback_form *form,
                     const char **problem)
{
    static const char *const names[] = {
        "state", "id_token", "code", "error", "error_description"
    };
    const char **fields[] = {
        &form->state, &form->id_token, &form->code, &form->error,
        &form->error_description
    };
    apr_array_header_t *pairs = NULL;
    const char *length = apr_table_get(r->headers_in, "Content-Length");
    int status;
    int i;
    int n;

    if (length != NULL && apr_atoi64(length) > FORM_BODY_MAX) {
        *problem = "form body too large";
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    status = ap_parse_form_data(r, NULL, &pairs, -1, FORM_BODY_MAX);
    if (status != OK || pairs == NULL) {
        *problem = "form body cannot be read";
        return HTTP_BAD_REQUEST;
    }
    for (i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);

        for (n = 0; n < (int)(sizeof(names) / sizeof(names[0])); n++) {
            if (strcmp(pair->name, names[n]) != 0) {
                continue;
            }
            if (*fields[n] != NULL) {
                *problem = apr_psprintf(r->pool, "parameter %s appears more "
                                        "than once", names[n]);
                return HTTP_BAD_REQUEST;
            }
            *fields[n] = form_value(r, pair);
        }
    }
    return OK;
}

static int state_param_valid(const char *state)
{
    const char *c;

    if (state == NULL || *state == '\0' || strlen(state) > STATE_PARAM_MAX) {
        return 0;
    }
    for (c = state; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '_') {
            return 0;
        }
    }
    return 1;
}

/* Accepts 1 to CODE_PARAM_MAX printable ASCII characters, the VSCHAR set
 * of RFC 6749 appendix A.11. */
static int code_param_valid(const char *code)
{
    const char *c;

    if (*code == '\0' || strlen(code) > CODE_PARAM_MAX) {
        return 0;
    }
    for (c = code; *c; c++) {
        if (*c < 0x20 || *c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/*
 * Checks that the form carries what the login's flow expects: a state made
 * for the code flow has a code_verifier and takes only a code, and any
 * other state takes only an id_token. Accepting the other flow's response
 * would let an attacker swap an id_token for a code or the reverse
 * (a mix-up). Returns OK or 400 with *problem set.
 */
static int check_flow_fields(const mto_state_t *state,
                             const callback_form *form, const char **problem)
{
    if (state->code_verifier != NULL) {
        if (form->id_token != NULL) {
            *problem = "an id_token was posted for a login that uses the "
                       "code flow";
        }
        else if (form->code == NULL) {
            *problem = "code parameter missing";
        }
        else if (!code_param_valid(form->code)) {
            *problem = "code parameter malformed";
        }
    }
    else if (form->code != NULL) {
        *problem = "a code was posted for a login that uses the implicit "
                   "flow";
    }
    else if (form->id_token == NULL) {
        *problem = "id_token parameter missing";
    }
    return *problem == NULL ? OK : HTTP_BAD_REQUEST;
}

/*
 * Opens the state cookie for the posted state, clears it, and takes the
 * login's pending entry from the shared cache. Returns OK or an HTTP status with *problem set.
 */
static int consume_state(request_rec *r, const mto_config_t *conf,
                         const char *host, const char *param,
                         mto_state_t *state, const char **problem)
{
    const char *name = apr_pstrcat(r->pool, MTO_STATE_COOKIE_PREFIX, param,
                                   NULL);
    const char *sealed = mto_cookie_get(r, name);
    mto_error_t err = {0};
    apr_time_t expiry;
    apr_status_t rv;
    char *plain;
    apr_size_t length;
    int key_index;

    if (sealed == NULL) {
        *problem = "no login is in progress for this state in this browser "
                   "(state cookie missing or expired)";
        return HTTP_BAD_REQUEST;
    }
    mto_cookie_set(r, name, "", 0, "None");
    if (mto_open(r->pool, conf->keys, conf->key_count,
                 mto_cookie_aad(r->pool, MTO_PURPOSE_STATE, host), sealed,
                 STATE_COOKIE_MAX, &plain, &length, &key_index)
        != APR_SUCCESS) {
        *problem = "state cookie does not open for this host";
        return HTTP_BAD_REQUEST;
    }
    if (mto_state_decode(r->pool, plain, length, state, &err)
        != APR_SUCCESS) {
        *problem = apr_pstrcat(r->pool, "state cookie invalid: ", err.text,
                               NULL);
        return HTTP_BAD_REQUEST;
    }
    if (!mto_equal_consttime(state->state, param)
        || strcmp(state->host, host) != 0) {
        *problem = "state cookie does not match the posted state";
        return HTTP_BAD_REQUEST;
    }
    expiry = state->created + apr_time_from_sec(conf->state_ttl);
    if (expiry <= apr_time_now()) {
        *problem = "login took too long: the state expired";
        return HTTP_BAD_REQUEST;
    }

    /* The pending entry is taken here, so a captured form and cookie
     * cannot be replayed from any browser. A state whose entry the cache
     * dropped is rejected too. */
    rv = mto_cache_take(r->server, r->pool,
                        apr_pstrcat(r->pool, MTO_PENDING_PREFIX, param, NULL));
    if (rv == APR_NOTFOUND) {
        *problem = "state not found in the shared cache: already used, "
                   "dropped from a full cache, or the cache is unreachable";
        return HTTP_BAD_REQUEST;
    }
    if (rv != APR_SUCCESS) {
        *problem = "cannot take the state from the shared cache";
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return OK;
}

/* Verifies the token, refetching the key set once for an unknown kid. */
static int verify_token(request_rec *r, const mto_config_t *conf,
                        const mto_tenant_t *tenant, const mto_state_t *state,
                        const char *id_token, mto_idtoken_t **token,
                        const char **problem)
{
    mto_idtoken_expect_t expect = {0};
    mto_error_t err = {0};
    mto_jwks_t *jwks;
    apr_status_t rv;

    expect.issuer = tenant->issuer;
    expect.client_id = tenant->client_id ? tenant->client_id
                                         : conf->client_id;
    expect.nonce = state->nonce;
    expect.algs = mto_tenant_algorithms(r->pool, conf->algorithms, tenant);
    expect.now = apr_time_now();
    expect.skew = apr_time_from_sec(conf->clock_skew);
    expect.iat_max_age = apr_time_from_sec(conf->iat_max_age);
    expect.max_length = FORM_BODY_MAX;

    rv = mto_jwks_load(r, conf, tenant, 0, &jwks, &err);
    if (rv == APR_SUCCESS) {
        rv = mto_idtoken_verify(r->pool, id_token, jwks, &expect, token,
                                &err);
    }
    else {
        *problem = apr_pstrdup(r->pool, err.text);
        return err.http_status ? err.http_status : HTTP_BAD_GATEWAY;
    }
    if (rv == APR_ENOENT) {
        rv = mto_jwks_load(r, conf, tenant, 1, &jwks, &err);
        if (rv == APR_EAGAIN) {
            *problem = "token key id unknown, and the key set was refreshed "
                       "too recently to refresh again";
            return HTTP_FORBIDDEN;
        }
        if (rv != APR_SUCCESS) {
            *problem = apr_pstrdup(r->pool, err.text);
            return err.http_status ? err.http_status : HTTP_BAD_GATEWAY;
        }
        rv = mto_idtoken_verify(r->pool, id_token, jwks, &expect, token,
                                &err);
    }
    if (rv != APR_SUCCESS) {
        *problem = apr_pstrcat(r->pool, "id_token rejected: ",
                               *err.text ? err.text
                                         : "key id not in the key set",
                               NULL);
        return HTTP_FORBIDDEN;
    }
    return OK;
}

/* Characters allowed in a user name: no separators a header or a URL
 * path could misread, no spaces, no commas, no control characters. */
static int user_name_valid(const char *name)
{
    const char *c;

    if (*name == '\0' || strlen(name) > USER_NAME_MAX) {
        return 0;
    }
    for (c = name; *c; c++) {
        if (!apr_isalnum(*c) && !ap_strchr_c("._@+-", *c)) {
            return 0;
        }
    }
    return 1;
}

/* Expands {claim} and {host} in the configured user name format. */
static const char *user_name_format(apr_pool_t *pool, const char *format,
                                    const char *claim, const char *host)
{
    const char *result = "";
    const char *c = format;

    while (*c) {
        if (strncmp(c, "{claim}", 7) == 0) {
            result = apr_pstrcat(pool, result, claim, NULL);
            c += 7;
        }
        else if (strncmp(c, "{host}", 6) == 0) {
            result = apr_pstrcat(pool, result, host, NULL);
            c += 6;
        }
        else {
            result = apr_pstrcat(pool, result,
                                 apr_pstrmemdup(pool, c, 1), NULL);
            c++;
        }
    }
    return result;
}

/* Reports an error the provider itself returned, such as access_denied
 * after the user pressed Cancel. The page names that error. */
static int callback_provider_error(request_rec *r, const char *host,
                                   const callback_form *form)
{
    mto_metric_inc(MTO_METRIC_CALLBACK_REJECTED);
    mto_log(r, APLOG_INFO, 0, host, "MTO0042", "callback rejected (403): "
            "the provider returned error '%.64s': %.200s", form->error,
            form->error_description ? form->error_description : "");
    return mto_page_error(r, HTTP_FORBIDDEN,
                          apr_psprintf(r->pool, "Sign-in did not complete: "
                                       "the identity provider returned "
                                       "'%.64s'. Start again from the "
                                       "login page.", form->error));
}

/* Counts a rejected callback and sends its error page. The caller has
 * logged the cause. */
static int callback_reject(request_rec *r, int status, const char *problem)
{
    const char *page_text = problem;

    mto_metric_inc(MTO_METRIC_CALLBACK_REJECTED);

    /* Token and back-channel details go to the log only, because they
     * describe the provider, not anything the browser can correct. */
    if (status == HTTP_FORBIDDEN) {
        page_text = "the provider's response did not pass verification, "
                    "and the server log names the reason";
    }
    else if (status >= 500) {
        page_text = "the sign-in service is unavailable, and the server log "
                    "names the cause";
    }
    return mto_page_error(r, status, apr_pstrcat(r->pool, "Sign-in was "
                                                 "rejected: ", page_text, ".",
                                                 NULL));
}

static int callback_fail(request_rec *r, const char *host, int status,
                         const char *problem)
{
    int level = (status == HTTP_FORBIDDEN || status >= 500)
                ? APLOG_WARNING : APLOG_INFO;

    mto_log(r, level, 0, host, "MTO0040", "callback rejected (%d): %s",
            status, problem);
    return callback_reject(r, status, problem);
}

int mto_callback_handle(request_rec *r, const mto_config_t *conf)
{
    mto_request_t *ctx = mto_request_get(r);
    callback_form form = {0};
    mto_state_t state = {0};
    mto_session_t session = {0};
    mto_tenant_t *tenant;
    mto_idtoken_t *token;
    mto_error_t err = {0};
    const char *id_token;
    const char *problem = NULL;
    const char *claim;
    int status;

    if (ctx->host == NULL) {
        return callback_fail(r, NULL, HTTP_BAD_REQUEST,
                             "invalid Host header");
    }
    if (!ctx->host_listed) {
        return callback_fail(r, ctx->host, HTTP_NOT_FOUND,
                             "no tenant is served at this host");
    }
    if (r->method_number != M_POST) {
        return callback_fail(r, ctx->host, HTTP_METHOD_NOT_ALLOWED,
                             "the callback takes the provider's form POST "
                             "only");
    }
    status = read_form(r, &form, &problem);
    if (status != OK) {
        return callback_fail(r, ctx->host, status, problem);
    }
    if (!state_param_valid(form.state)) {
        return callback_fail(r, ctx->host, HTTP_BAD_REQUEST,
                             form.state ? "state parameter malformed"
                                        : "state parameter missing");
    }
    status = consume_state(r, conf, ctx->host, form.state, &state,
                           &problem);
    if (status != OK) {
        return callback_fail(r, ctx->host, status, problem);
    }
    if (form.error != NULL) {
        return callback_provider_error(r, ctx->host, &form);
    }
    status = check_flow_fields(&state, &form, &problem);
    if (status != OK) {
        return callback_fail(r, ctx->host, status, problem);
    }

    if (mto_tenant_resolve(r, conf, ctx->host, &tenant, &err)
        != APR_SUCCESS) {
        return callback_fail(r, ctx->host,
                             err.http_status ? err.http_status
                                             : HTTP_BAD_GATEWAY,
                             apr_pstrdup(r->pool, err.text));
    }
    if (strcmp(tenant->issuer, state.issuer) != 0) {
        return callback_fail(r, ctx->host, HTTP_FORBIDDEN,
                             "the tenant's issuer changed during the login");
    }
    id_token = form.id_token;
    if (state.code_verifier != NULL) {
        /* mto_token_redeem logs its own failures in detail. */
        status = mto_token_redeem(r, conf, tenant, &state, form.code,
                                  &id_token);
        if (status != OK) {
            return callback_reject(r, status, "the code could not be "
                                   "redeemed");
        }
    }
    status = verify_token(r, conf, tenant, &state, id_token, &token,
                          &problem);
    if (status != OK) {
        return callback_fail(r, ctx->host, status, problem);
    }

    claim = mto_idtoken_claim(token, conf->user_claim);
    if (claim == NULL) {
        return callback_fail(r, ctx->host, HTTP_FORBIDDEN,
                             apr_psprintf(r->pool, "claim %s is missing or "
                                          "not a string", conf->user_claim));
    }
    session.user = user_name_format(r->pool, conf->user_format, claim,
                                    ctx->host);

    /* The claim is checked on its own as well, so an empty claim cannot
     * hide inside a format that adds the host. */
    if (!user_name_valid(claim) || !user_name_valid(session.user)) {
        return callback_fail(r, ctx->host, HTTP_FORBIDDEN,
                             apr_psprintf(r->pool, "claim %s gives a user "
                                          "name with characters outside "
                                          "A-Z a-z 0-9 . _ @ + - or longer "
                                          "than %d bytes", conf->user_claim,
                                          USER_NAME_MAX));
    }
    if (!mto_return_path_valid(state.next)) {
        return callback_fail(r, ctx->host, HTTP_BAD_REQUEST,
                             "the saved return path is not a same-host "
                             "path");
    }
    session.id = mto_random_text(r->pool, 16);
    session.sub = mto_idtoken_claim(token, "sub");
    session.issuer = tenant->issuer;
    session.host = ctx->host;
    session.created = apr_time_now();
    session.expires = session.created + apr_time_from_sec(conf->session_ttl);
    if (mto_session_save(r, conf, &session) != APR_SUCCESS) {
        return callback_fail(r, ctx->host, HTTP_INTERNAL_SERVER_ERROR,
                             "cannot seal the session cookie");
    }

    mto_metric_inc(MTO_METRIC_CALLBACK_ACCEPTED);
    mto_log(r, APLOG_INFO, 0, ctx->host, "MTO0041",
            "user '%s' signed in (issuer %s, %s flow)", session.user,
            tenant->issuer, state.code_verifier ? "code" : "implicit");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ctx->origin, state.next, NULL));
    return HTTP_SEE_OTHER;
}
