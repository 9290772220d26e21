/*
 * The code flow with PKCE: the flow choice, the S256 code challenge, and
 * the back-channel request that turns a code into an id_token.
 *
 * The token response also carries an access token, and sometimes a
 * refresh token. The module keeps neither, because it needs only the
 * identity in the id_token, and never writes them to the log.
 */
#include <apr_strings.h>
#include <httpd.h>
#include <http_log.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "mto_metrics.h"
#include "mto_token.h"

/* Longest OAuth "error" code quoted in the log, in bytes. */
#define ERROR_CODE_MAX 64

int mto_code_flow_used(const mto_config_t *conf, const mto_tenant_t *tenant)
{
    if (tenant->response_type != NULL) {
        return strcmp(tenant->response_type, "code") == 0;
    }
    return conf->response_type == MTO_RESPONSE_TYPE_CODE;
}

const char *mto_code_challenge(apr_pool_t *pool, const char *verifier)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;

    if (EVP_Digest(verifier, strlen(verifier), digest, &length,
                   EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    return mto_base64url_encode(pool, digest, length);
}

const char *mto_redirect_uri(request_rec *r, const mto_config_t *conf)
{
    return apr_pstrcat(r->pool, mto_request_get(r)->origin,
                       conf->callback_path, NULL);
}

static int form_safe(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '*';
}

/*
 * Encodes text as application/x-www-form-urlencoded: letters, digits and
 * "-._*" stay, a space becomes "+", any other byte "%XX". RFC 6749 section
 * 2.3.1 applies this encoding to client_id and secret before HTTP Basic,
 * so a ":" in either cannot move the split between them.
 */
static const char *form_encode(apr_pool_t *pool, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    char *encoded = apr_palloc(pool, strlen(text) * 3 + 1);
    char *to = encoded;
    const unsigned char *c;

    for (c = (const unsigned char *)text; *c; c++) {
        if (form_safe(*c)) {
            *to++ = (char)*c;
        }
        else if (*c == ' ') {
            *to++ = '+';
        }
        else {
            *to++ = '%';
            *to++ = hex[*c >> 4];
            *to++ = hex[*c & 0x0f];
        }
    }
    *to = '\0';
    return encoded;
}

/* Returns 1 when code is a valid OAuth "error" value: 1 to ERROR_CODE_MAX
 * bytes of %x20-21 / %x23-5B / %x5D-7E (RFC 6749 section 5.2). */
static int error_code_valid(const char *code)
{
    const char *c;

    if (*code == '\0' || strlen(code) > ERROR_CODE_MAX) {
        return 0;
    }
    for (c = code; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* Describes a response other than 200, with its OAuth "error" code when
 * the body names a valid one. The rest of the body is never quoted. */
static const char *describe_error_status(apr_pool_t *pool,
                                         const mto_http_response_t *response)
{
    json_t *root = json_loadb(response->body, response->length,
                              JSON_REJECT_DUPLICATES, NULL);
    const char *code = json_string_value(json_object_get(root, "error"));
    const char *reason;

    if (code != NULL && error_code_valid(code)) {
        reason = apr_psprintf(pool, "the token endpoint returned HTTP %ld "
                              "with error \"%s\"", response->status, code);
    }
    else {
        reason = apr_psprintf(pool, "the token endpoint returned HTTP %ld",
                              response->status);
    }
    json_decref(root);
    return reason;
}

/* Reads the id_token of a 200 token response into *id_token. Returns
 * NULL, or the reason the response is invalid. */
static const char *read_token_response(apr_pool_t *pool, json_t *root,
                                       const char **id_token)
{
    json_t *value;
    const char *token_type;

    if (!json_is_object(root)) {
        return "the token response is not a JSON object";
    }
    token_type = json_string_value(json_object_get(root, "token_type"));
    if (token_type == NULL) {
        return "the token response has no string token_type";
    }
    if (strcasecmp(token_type, "Bearer") != 0) {
        return "the token response has a token_type other than Bearer";
    }
    value = json_object_get(root, "id_token");
    if (!json_is_string(value) || json_string_length(value) == 0
        || strlen(json_string_value(value)) != json_string_length(value)) {
        return "the token response has no string id_token";
    }
    *id_token = apr_pstrdup(pool, json_string_value(value));
    return NULL;
}

/* Checks a token response and sets *id_token. Returns NULL, or the reason
 * the response is rejected. */
static const char *check_token_response(apr_pool_t *pool,
                                        const mto_http_response_t *response,
                                        const char **id_token)
{
    json_error_t jerr;
    json_t *root;
    const char *reason;

    if (response->status != 200) {
        return describe_error_status(pool, response);
    }
    root = json_loadb(response->body, response->length,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jerr.text may quote the body, so only the position is logged. */
        return apr_psprintf(pool, "the token response is not valid JSON "
                            "(line %d, column %d)", jerr.line, jerr.column);
    }
    reason = read_token_response(pool, root, id_token);
    json_decref(root);
    return reason;
}

/* Builds the token request body of RFC 6749 section 4.1.3 with the
 * code_verifier of RFC 7636 section 4.5. */
static apr_table_t *token_request_form(request_rec *r,
                                       const mto_config_t *conf,
                                       const char *client_id,
                                       const mto_state_t *state,
                                       const char *code)
{
    apr_table_t *form = apr_table_make(r->pool, 5);

    apr_table_setn(form, "grant_type", "authorization_code");
    apr_table_setn(form, "code", code);
    apr_table_setn(form, "redirect_uri", mto_redirect_uri(r, conf));
    apr_table_setn(form, "client_id", client_id);
    apr_table_setn(form, "code_verifier", state->code_verifier);
    return form;
}

int mto_token_redeem(request_rec *r, const mto_config_t *conf,
                     const mto_tenant_t *tenant, const mto_state_t *state,
                     const char *code, const char **id_token)
{
    const char *client_id = tenant->client_id ? tenant->client_id
                                              : conf->client_id;
    const char *basic_user = NULL;
    const char *basic_password = NULL;
    mto_http_response_t response;
    mto_error_t err = {0};
    const char *reason;
    apr_status_t rv;

    if (tenant->token_endpoint == NULL) {
        mto_log(r, APLOG_WARNING, 0, tenant->host, "MTO0501",
                "code redemption failed: the tenant record has no "
                "token_endpoint");
        return HTTP_BAD_GATEWAY;
    }
    if (conf->client_secret != NULL) {
        basic_user = form_encode(r->pool, client_id);
        basic_password = form_encode(r->pool, conf->client_secret);
    }

    rv = mto_http_post_form(r->pool, &conf->http, tenant->token_endpoint,
                            token_request_form(r, conf, client_id, state,
                                               code),
                            basic_user, basic_password, &response, &err);
    mto_metric_inc(rv == APR_SUCCESS ? MTO_METRIC_BACKCHANNEL_COMPLETED
                                     : MTO_METRIC_BACKCHANNEL_FAILED);
    if (rv != APR_SUCCESS) {
        mto_log(r, APLOG_WARNING, 0, tenant->host, "MTO0502",
                "code redemption failed: token request to %s failed: %s",
                tenant->token_endpoint, err.text);
        return err.http_status ? err.http_status : HTTP_BAD_GATEWAY;
    }
    reason = check_token_response(r->pool, &response, id_token);
    if (reason != NULL) {
        mto_log(r, APLOG_WARNING, 0, tenant->host, "MTO0503",
                "code redemption failed at %s: %s", tenant->token_endpoint,
                reason);
        return HTTP_BAD_GATEWAY;
    }
    mto_log(r, APLOG_DEBUG, 0, tenant->host, "MTO0504",
            "code redeemed at %s (%s client)", tenant->token_endpoint,
            conf->client_secret ? "confidential" : "public");
    return OK;
}
