/*
 * mod_multitenant_oidc: OpenID Connect sign-in for many tenants on one
 * httpd, each tenant chosen by the request's host name and resolved at run
 * time, with the user handed to the application in a request header.
 *
 * This file contains the module glue: directives, per-server configuration,
 * and the hooks. The parts live under src/.
 */
#define MTO_MODULE_FILE

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include "mto_cache.h"
#include "mto_config.h"
#include "mto_metrics.h"
#include "mto_request.h"
#include "mto_resolve.h"
#include "mto_tenant.h"

module AP_MODULE_DECLARE_DATA multitenant_oidc_module;

#define DEFAULT_TENANT_INFO_URL \
    "https://{host}/identity/api/authentication/information"
#define DEFAULT_CLIENT_ID "client_id"
#define DEFAULT_ALGORITHMS \
    "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512"

/* Upper bound of every time directive, in seconds (one year). */
#define MAX_SECONDS (365 * 24 * 3600)

/* Largest passphrase or client secret file read, in bytes. */
#define PASSPHRASE_FILE_MAX 4096

/* Maximum length of a client secret, in bytes. */
#define CLIENT_SECRET_MAX 1024

mto_config_t *mto_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &multitenant_oidc_module);
}

static void *create_server_config(apr_pool_t *p, server_rec *s)
{
    mto_config_t *conf = apr_pcalloc(p, sizeof(*conf));

    /* Pointers start NULL through apr_pcalloc; numbers start unset. */
    conf->enabled = MTO_UNSET;
    conf->connect_timeout_ms = MTO_UNSET;
    conf->total_timeout_ms = MTO_UNSET;
    conf->max_response = MTO_UNSET;
    conf->clock_skew = MTO_UNSET;
    conf->iat_max_age = MTO_UNSET;
    conf->state_ttl = MTO_UNSET;
    conf->session_ttl = MTO_UNSET;
    conf->tenant_ttl = MTO_UNSET;
    conf->tenant_ttl_min = MTO_UNSET;
    conf->tenant_ttl_max = MTO_UNSET;
    conf->negative_ttl = MTO_UNSET;
    conf->max_stale = MTO_UNSET;
    conf->session_store = MTO_UNSET;
    conf->jwks_cooldown = MTO_UNSET;
    conf->response_type = MTO_UNSET;
    return conf;
}

#define MERGE_PTR(field) \
    conf->field = (add->field != NULL) ? add->field : base->field
#define MERGE_NUM(field) \
    conf->field = (add->field != MTO_UNSET) ? add->field : base->field

static void *merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    mto_config_t *base = basev;
    mto_config_t *add = addv;
    mto_config_t *conf = apr_pcalloc(p, sizeof(*conf));

    MERGE_NUM(enabled);
    MERGE_PTR(host_patterns);
    MERGE_PTR(tenant_info_url);
    MERGE_PTR(issuer_patterns);
    MERGE_PTR(client_id);
    MERGE_PTR(client_secret);
    MERGE_NUM(response_type);
    if (add->passphrase != NULL) {
        conf->passphrase = add->passphrase;
        conf->previous_passphrase = add->previous_passphrase;
    }
    else {
        conf->passphrase = base->passphrase;
        conf->previous_passphrase = base->previous_passphrase;
    }
    MERGE_PTR(login_path);
    MERGE_PTR(callback_path);
    MERGE_PTR(logout_path);
    MERGE_PTR(user_claim);
    MERGE_PTR(user_format);
    MERGE_PTR(user_header);
    MERGE_PTR(api_header);
    MERGE_PTR(scope);
    MERGE_PTR(algorithms);
    MERGE_PTR(ca_file);
    MERGE_NUM(connect_timeout_ms);
    MERGE_NUM(total_timeout_ms);
    MERGE_NUM(max_response);
    MERGE_NUM(clock_skew);
    MERGE_NUM(iat_max_age);
    MERGE_NUM(state_ttl);
    MERGE_NUM(session_ttl);
    /* The bounds belong to the cache time set beside them. */
    if (add->tenant_ttl != MTO_UNSET) {
        conf->tenant_ttl = add->tenant_ttl;
        conf->tenant_ttl_min = add->tenant_ttl_min;
        conf->tenant_ttl_max = add->tenant_ttl_max;
    }
    else {
        conf->tenant_ttl = base->tenant_ttl;
        conf->tenant_ttl_min = base->tenant_ttl_min;
        conf->tenant_ttl_max = base->tenant_ttl_max;
    }
    MERGE_NUM(negative_ttl);
    MERGE_NUM(max_stale);
    MERGE_NUM(session_store);
    MERGE_NUM(jwks_cooldown);
    return conf;
}

/* Fills every field still unset after the merge with its default. */
static void apply_defaults(apr_pool_t *p, mto_config_t *conf)
{
#define DEFAULT_PTR(field, value) \
    if (conf->field == NULL) conf->field = (value)
#define DEFAULT_NUM(field, value) \
    if (conf->field == MTO_UNSET) conf->field = (value)

    DEFAULT_NUM(enabled, 0);
    DEFAULT_PTR(tenant_info_url, DEFAULT_TENANT_INFO_URL);
    DEFAULT_PTR(client_id, DEFAULT_CLIENT_ID);
    DEFAULT_PTR(login_path, "/hub/login");
    DEFAULT_PTR(callback_path, "/hub/oauth_callback");
    DEFAULT_PTR(logout_path, "/hub/logout");
    DEFAULT_PTR(user_claim, "sub");
    DEFAULT_PTR(user_format, "{claim}@{host}");
    DEFAULT_PTR(user_header, "REMOTE_USER");
    DEFAULT_PTR(api_header, "X-Tenant-API-Base");
    DEFAULT_PTR(scope, "openid");
    if (conf->algorithms == NULL) {
        char *list = apr_pstrdup(p, DEFAULT_ALGORITHMS);
        char *last;
        char *alg;

        conf->algorithms = apr_array_make(p, 9, sizeof(const char *));
        for (alg = apr_strtok(list, " ", &last); alg != NULL;
             alg = apr_strtok(NULL, " ", &last)) {
            APR_ARRAY_PUSH(conf->algorithms, const char *) = alg;
        }
    }
    DEFAULT_NUM(connect_timeout_ms, 5000);
    DEFAULT_NUM(total_timeout_ms, 10000);
    DEFAULT_NUM(max_response, 262144);
    DEFAULT_NUM(clock_skew, 60);
    DEFAULT_NUM(iat_max_age, 600);
    DEFAULT_NUM(state_ttl, 600);
    DEFAULT_NUM(session_ttl, 28800);
    DEFAULT_NUM(tenant_ttl, 300);
    DEFAULT_NUM(tenant_ttl_min, conf->tenant_ttl < 60 ? conf->tenant_ttl
                                                      : 60);
    DEFAULT_NUM(tenant_ttl_max, conf->tenant_ttl > 3600 ? conf->tenant_ttl
                                                        : 3600);
    DEFAULT_NUM(negative_ttl, 10);
    DEFAULT_NUM(max_stale, 3600);
    DEFAULT_NUM(session_store, MTO_SESSION_STORE_COOKIE);
    DEFAULT_NUM(jwks_cooldown, 60);
    DEFAULT_NUM(response_type, MTO_RESPONSE_TYPE_ID_TOKEN);

#undef DEFAULT_PTR
#undef DEFAULT_NUM
}

/* Directive handlers. Each returns NULL or a message naming the value. */

static mto_config_t *cmd_config(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &multitenant_oidc_module);
}

static const char *set_enable(cmd_parms *cmd, void *dummy, int flag)
{
    cmd_config(cmd)->enabled = flag;
    return NULL;
}

static const char *add_host_pattern(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);

    if (!mto_host_pattern_valid(arg)) {
        return apr_psprintf(cmd->pool, "%s: invalid host pattern '%s'; use "
                            "host names in which '*' stands for one whole "
                            "label, such as *.example.com",
                            cmd->cmd->name, arg);
    }
    if (conf->host_patterns == NULL) {
        conf->host_patterns = apr_array_make(cmd->pool, 4,
                                             sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->host_patterns, const char *) =
        apr_pstrdup(cmd->pool, arg);
    ap_str_tolower(APR_ARRAY_IDX(conf->host_patterns,
                                 conf->host_patterns->nelts - 1, char *));
    return NULL;
}

static const char *add_issuer_pattern(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);

    if (!mto_issuer_pattern_valid(arg)) {
        return apr_psprintf(cmd->pool, "%s: invalid issuer pattern '%s'; "
                            "use https://HOST[:PORT][/PATH] where HOST may "
                            "have '*' labels and PATH may end in '*'",
                            cmd->cmd->name, arg);
    }
    if (conf->issuer_patterns == NULL) {
        conf->issuer_patterns = apr_array_make(cmd->pool, 4,
                                               sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->issuer_patterns, const char *) = arg;
    return NULL;
}

static const char *set_tenant_info_url(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    if (strncmp(arg, "https://", 8) != 0 || !ap_strstr_c(arg, "{host}")) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be an https URL "
                            "containing {host}", cmd->cmd->name, arg);
    }
    cmd_config(cmd)->tenant_info_url = arg;
    return NULL;
}

/* Accepts printable ASCII without spaces, as client ids and claims are. */
static const char *check_token(cmd_parms *cmd, const char *arg)
{
    const unsigned char *c;

    if (*arg == '\0' || strlen(arg) > 255) {
        return apr_psprintf(cmd->pool, "%s: value must be 1 to 255 bytes",
                            cmd->cmd->name);
    }
    for (c = (const unsigned char *)arg; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f) {
            return apr_psprintf(cmd->pool, "%s: '%s' must be printable "
                                "ASCII without spaces", cmd->cmd->name, arg);
        }
    }
    return NULL;
}

static const char *set_client_id(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    const char *err = check_token(cmd, arg);

    if (err == NULL) {
        cmd_config(cmd)->client_id = arg;
    }
    return err;
}

static const char *set_user_claim(cmd_parms *cmd, void *dummy,
                                  const char *arg)
{
    const char *err = check_token(cmd, arg);

    if (err == NULL) {
        cmd_config(cmd)->user_claim = arg;
    }
    return err;
}

static const char *check_passphrase(cmd_parms *cmd, const char *value)
{
    if (strlen(value) < 16) {
        /* The value itself is never echoed: it is a secret. */
        return apr_psprintf(cmd->pool, "%s: a passphrase must be at least "
                            "16 bytes long", cmd->cmd->name);
    }
    return NULL;
}

static const char *set_passphrase(cmd_parms *cmd, void *dummy,
                                  const char *current, const char *previous)
{
    mto_config_t *conf = cmd_config(cmd);
    const char *err = check_passphrase(cmd, current);

    if (err == NULL && previous != NULL) {
        err = check_passphrase(cmd, previous);
    }
    if (err != NULL) {
        return err;
    }
    conf->passphrase = current;
    conf->previous_passphrase = previous;
    return NULL;
}

typedef const char *(*secret_check_fn)(cmd_parms *cmd, const char *value);

/* Reads a secret from a file, dropping trailing white space, and accepts
 * it when check returns NULL. */
static const char *read_secret_file(cmd_parms *cmd, const char *arg,
                                    secret_check_fn check,
                                    const char **value)
{
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    char buffer[PASSPHRASE_FILE_MAX + 1];
    apr_file_t *file;
    apr_size_t length = PASSPHRASE_FILE_MAX + 1;
    apr_status_t rv;
    const char *err = NULL;

    if (path == NULL) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                            cmd->cmd->name, arg);
    }
    rv = apr_file_open(&file, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    if (rv != APR_SUCCESS) {
        char msg[120];
        return apr_psprintf(cmd->pool, "%s: cannot open '%s': %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, msg, sizeof(msg)));
    }
    rv = apr_file_read_full(file, buffer, PASSPHRASE_FILE_MAX + 1, &length);
    apr_file_close(file);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(cmd->pool, "%s: cannot read '%s'",
                            cmd->cmd->name, path);
    }
    if (length > PASSPHRASE_FILE_MAX) {
        err = apr_psprintf(cmd->pool, "%s: '%s' is larger than %d bytes",
                           cmd->cmd->name, path, PASSPHRASE_FILE_MAX);
    }
    else {
        while (length > 0 && apr_isspace(buffer[length - 1])) {
            length--;
        }
        buffer[length] = '\0';
        if (strlen(buffer) != length) {
            err = apr_psprintf(cmd->pool, "%s: '%s' contains a NUL byte",
                               cmd->cmd->name, path);
        }
        else if ((err = check(cmd, buffer)) == NULL) {
            *value = apr_pstrmemdup(cmd->pool, buffer, length);
        }
    }
    mto_wipe(buffer, sizeof(buffer));
    return err;
}

static const char *set_passphrase_file(cmd_parms *cmd, void *dummy,
                                       const char *current_file,
                                       const char *previous_file)
{
    const char *current = NULL;
    const char *previous = NULL;
    const char *err;

    err = read_secret_file(cmd, current_file, check_passphrase, &current);
    if (err == NULL && previous_file != NULL) {
        err = read_secret_file(cmd, previous_file, check_passphrase,
                               &previous);
    }
    if (err != NULL) {
        return err;
    }
    return set_passphrase(cmd, dummy, current, previous);
}

/* Client secrets are opaque to the module: any bytes but NUL, sent
 * form-encoded in HTTP Basic authentication. */
static const char *check_client_secret(cmd_parms *cmd, const char *value)
{
    if (*value == '\0' || strlen(value) > CLIENT_SECRET_MAX) {
        /* The value itself is never echoed: it is a secret. */
        return apr_psprintf(cmd->pool, "%s: a client secret must be 1 to "
                            "%d bytes long", cmd->cmd->name,
                            CLIENT_SECRET_MAX);
    }
    return NULL;
}

static const char *set_client_secret(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *err = check_client_secret(cmd, arg);

    if (err == NULL) {
        cmd_config(cmd)->client_secret = arg;
    }
    return err;
}

static const char *set_client_secret_file(cmd_parms *cmd, void *dummy,
                                          const char *arg)
{
    const char *secret = NULL;
    const char *err;

    err = read_secret_file(cmd, arg, check_client_secret, &secret);
    if (err == NULL) {
        cmd_config(cmd)->client_secret = secret;
    }
    return err;
}

static const char *set_response_type(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);

    if (strcmp(arg, "id_token") == 0) {
        conf->response_type = MTO_RESPONSE_TYPE_ID_TOKEN;
    }
    else if (strcmp(arg, "code") == 0) {
        conf->response_type = MTO_RESPONSE_TYPE_CODE;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: invalid value '%s'; use "
                            "id_token (implicit flow) or code (code flow "
                            "with PKCE)", cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);
    const char **field;

    if (!mto_return_path_valid(arg) || ap_strchr_c(arg, '?')) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be an absolute URL "
                            "path with no query", cmd->cmd->name, arg);
    }
    field = (const char **)((char *)conf + (apr_size_t)cmd->info);
    *field = arg;
    return NULL;
}

static const char *set_user_format(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    if (!ap_strstr_c(arg, "{claim}")) {
        return apr_psprintf(cmd->pool, "%s: '%s' must contain {claim}",
                            cmd->cmd->name, arg);
    }
    cmd_config(cmd)->user_format = arg;
    return NULL;
}

/* Header names are HTTP tokens (RFC 9110 section 5.6.2). */
static const char *set_header_name(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);
    const char *c;

    if (*arg == '\0' || strlen(arg) > 64) {
        return apr_psprintf(cmd->pool, "%s: name must be 1 to 64 bytes",
                            cmd->cmd->name);
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !ap_strchr_c("!#$%&'*+-.^_`|~", *c)) {
            return apr_psprintf(cmd->pool, "%s: '%s' is not a valid header "
                                "name", cmd->cmd->name, arg);
        }
    }
    if (cmd->info == (void *)0) {
        conf->user_header = arg;
    }
    else {
        conf->api_header = arg;
    }
    return NULL;
}

static const char *set_scope(cmd_parms *cmd, void *dummy, const char *arg)
{
    if (!ap_strstr_c(apr_pstrcat(cmd->temp_pool, " ", arg, " ", NULL),
                     " openid ")) {
        return apr_psprintf(cmd->pool, "%s: '%s' must include openid",
                            cmd->cmd->name, arg);
    }
    cmd_config(cmd)->scope = arg;
    return NULL;
}

static const char *add_algorithm(cmd_parms *cmd, void *dummy,
                                 const char *arg)
{
    static const char *const supported[] = {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", NULL
    };
    mto_config_t *conf = cmd_config(cmd);
    int i;

    for (i = 0; supported[i] != NULL; i++) {
        if (strcmp(arg, supported[i]) == 0) {
            break;
        }
    }
    if (supported[i] == NULL) {
        return apr_psprintf(cmd->pool, "%s: unsupported algorithm '%s'; "
                            "choose from " DEFAULT_ALGORITHMS,
                            cmd->cmd->name, arg);
    }
    if (conf->algorithms == NULL) {
        conf->algorithms = apr_array_make(cmd->pool, 9,
                                          sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->algorithms, const char *) = supported[i];
    return NULL;
}

static const char *set_ca_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;

    if (path == NULL
        || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool)
           != APR_SUCCESS
        || finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a readable file",
                            cmd->cmd->name, arg);
    }
    cmd_config(cmd)->ca_file = path;
    return NULL;
}

/* Parses a whole number from min to max, or returns an error message. */
static const char *parse_number(cmd_parms *cmd, const char *arg,
                                apr_int64_t min, apr_int64_t max,
                                apr_int64_t *value)
{
    char *end;

    errno = 0;
    *value = apr_strtoi64(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || *value < min
        || *value > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a whole number "
                            "from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, min, max);
    }
    return NULL;
}

static const char *set_timeouts(cmd_parms *cmd, void *dummy,
                                const char *connect, const char *total)
{
    mto_config_t *conf = cmd_config(cmd);
    apr_int64_t connect_s;
    apr_int64_t total_s;
    const char *err;

    err = parse_number(cmd, connect, 1, 300, &connect_s);
    if (err == NULL) {
        err = parse_number(cmd, total, 1, 300, &total_s);
    }
    if (err != NULL) {
        return err;
    }
    if (total_s < connect_s) {
        return apr_psprintf(cmd->pool, "%s: the total timeout %s must not "
                            "be shorter than the connect timeout %s",
                            cmd->cmd->name, total, connect);
    }
    conf->connect_timeout_ms = (long)connect_s * 1000;
    conf->total_timeout_ms = (long)total_s * 1000;
    return NULL;
}

/* Sets the apr_int64_t field at offset cmd->info, in seconds. */
static const char *set_seconds(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t *field = (apr_int64_t *)((char *)cmd_config(cmd)
                                         + (apr_size_t)cmd->info);

    return parse_number(cmd, arg, 0, MAX_SECONDS, field);
}

static const char *set_max_response(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    return parse_number(cmd, arg, 1024, 16 * 1024 * 1024,
                        &cmd_config(cmd)->max_response);
}

/* Sets the tenant cache time and, optionally, the bounds that a
 * provider's Cache-Control max-age is clamped to. */
static const char *set_tenant_ttl(cmd_parms *cmd, void *dummy,
                                  const char *ttl, const char *min,
                                  const char *max)
{
    mto_config_t *conf = cmd_config(cmd);
    apr_int64_t value;
    apr_int64_t low = MTO_UNSET;
    apr_int64_t high = MTO_UNSET;
    const char *err = parse_number(cmd, ttl, 0, MAX_SECONDS, &value);

    if (err == NULL && min != NULL) {
        err = parse_number(cmd, min, 0, MAX_SECONDS, &low);
    }
    if (err == NULL && max != NULL) {
        err = parse_number(cmd, max, 0, MAX_SECONDS, &high);
    }
    if (err != NULL) {
        return err;
    }
    if (min != NULL && low > high) {
        return apr_psprintf(cmd->pool, "%s: MIN %s must not be larger than "
                            "MAX %s", cmd->cmd->name, min, max);
    }
    conf->tenant_ttl = value;
    conf->tenant_ttl_min = low;
    conf->tenant_ttl_max = high;
    return NULL;
}

static const char *set_session_store(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    mto_config_t *conf = cmd_config(cmd);

    if (strcasecmp(arg, "cookie") == 0) {
        conf->session_store = MTO_SESSION_STORE_COOKIE;
    }
    else if (strcasecmp(arg, "cache") == 0) {
        conf->session_store = MTO_SESSION_STORE_CACHE;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: invalid value '%s'; use cookie "
                            "or cache", cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err != NULL) {
        return err;
    }
    return mto_cache_configure(cmd->pool, arg);
}

#define OFFSET(field) ((void *)APR_OFFSETOF(mto_config_t, field))

static const command_rec directives[] = {
    AP_INIT_FLAG(MTO_DIR_ENABLE, set_enable, NULL, RSRC_CONF,
                 "On to sign users in for this server's tenant hosts"),
    AP_INIT_ITERATE(MTO_DIR_TENANT_HOST, add_host_pattern, NULL, RSRC_CONF,
                    "Tenant host patterns, such as *.example.com"),
    AP_INIT_TAKE1(MTO_DIR_TENANT_INFO_URL, set_tenant_info_url, NULL,
                  RSRC_CONF, "https URL template of the tenant information "
                  "document, with {host}"),
    AP_INIT_ITERATE(MTO_DIR_ISSUER, add_issuer_pattern, NULL, RSRC_CONF,
                    "Allowed issuer patterns, such as https://*.okta.com"),
    AP_INIT_TAKE1(MTO_DIR_CLIENT_ID, set_client_id, NULL, RSRC_CONF,
                  "Default client_id; tenant information may override it"),
    AP_INIT_TAKE1(MTO_DIR_CLIENT_SECRET, set_client_secret, NULL, RSRC_CONF,
                  "Client secret sent with HTTP Basic to token endpoints; "
                  "without one the module is a public client"),
    AP_INIT_TAKE1(MTO_DIR_CLIENT_SECRET_FILE, set_client_secret_file, NULL,
                  RSRC_CONF, "File holding the client secret"),
    AP_INIT_TAKE1(MTO_DIR_RESPONSE_TYPE, set_response_type, NULL, RSRC_CONF,
                  "Flow of a login: id_token (implicit flow with "
                  "form_post) or code (code flow with PKCE); tenant "
                  "information may override it"),
    AP_INIT_TAKE12(MTO_DIR_PASSPHRASE, set_passphrase, NULL, RSRC_CONF,
                   "Passphrase the cookie key is derived from, then "
                   "optionally the previous one, still accepted"),
    AP_INIT_TAKE12(MTO_DIR_PASSPHRASE_FILE, set_passphrase_file, NULL,
                   RSRC_CONF, "File holding the cookie passphrase, then "
                   "optionally a file holding the previous one"),
    AP_INIT_TAKE1(MTO_DIR_LOGIN_PATH, set_path, OFFSET(login_path),
                  RSRC_CONF, "URL path that starts a login"),
    AP_INIT_TAKE1(MTO_DIR_CALLBACK_PATH, set_path, OFFSET(callback_path),
                  RSRC_CONF, "URL path the provider posts the token to"),
    AP_INIT_TAKE1(MTO_DIR_LOGOUT_PATH, set_path, OFFSET(logout_path),
                  RSRC_CONF, "URL path that ends the session"),
    AP_INIT_TAKE1(MTO_DIR_USER_CLAIM, set_user_claim, NULL, RSRC_CONF,
                  "id_token claim that names the user"),
    AP_INIT_TAKE1(MTO_DIR_USER_FORMAT, set_user_format, NULL, RSRC_CONF,
                  "User name format with {claim} and {host}"),
    AP_INIT_TAKE1(MTO_DIR_USER_HEADER, set_header_name, (void *)0,
                  RSRC_CONF, "Request header that carries the user name"),
    AP_INIT_TAKE1(MTO_DIR_API_HEADER, set_header_name, (void *)1, RSRC_CONF,
                  "Request header that carries the tenant API base URL"),
    AP_INIT_TAKE1(MTO_DIR_SCOPE, set_scope, NULL, RSRC_CONF,
                  "Space-separated scopes requested, including openid"),
    AP_INIT_ITERATE(MTO_DIR_ALGORITHMS, add_algorithm, NULL, RSRC_CONF,
                    "id_token signature algorithms accepted"),
    AP_INIT_TAKE1(MTO_DIR_CA_FILE, set_ca_file, NULL, RSRC_CONF,
                  "PEM file of CA certificates for back-channel TLS"),
    AP_INIT_TAKE2(MTO_DIR_TIMEOUT, set_timeouts, NULL, RSRC_CONF,
                  "Back-channel connect and total timeouts, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_MAX_RESPONSE, set_max_response, NULL, RSRC_CONF,
                  "Largest back-channel response body, in bytes"),
    AP_INIT_TAKE1(MTO_DIR_CLOCK_SKEW, set_seconds, OFFSET(clock_skew),
                  RSRC_CONF, "Clock difference tolerated, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_IAT_MAX_AGE, set_seconds, OFFSET(iat_max_age),
                  RSRC_CONF, "Oldest id_token iat accepted, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_STATE_TTL, set_seconds, OFFSET(state_ttl),
                  RSRC_CONF, "Time a login may take, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_SESSION_TTL, set_seconds, OFFSET(session_ttl),
                  RSRC_CONF, "Session lifetime, in seconds"),
    AP_INIT_TAKE13(MTO_DIR_TENANT_TTL, set_tenant_ttl, NULL, RSRC_CONF,
                   "Time tenant records and keys are cached without a "
                   "max-age, then optionally the MIN and MAX a max-age is "
                   "clamped to, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_NEGATIVE_TTL, set_seconds, OFFSET(negative_ttl),
                  RSRC_CONF, "Time a failed tenant or key set fetch is "
                  "cached, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_MAX_STALE, set_seconds, OFFSET(max_stale),
                  RSRC_CONF, "Time past expiry a cached tenant or key set "
                  "is still used while its provider fails, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_SESSION_STORE, set_session_store, NULL, RSRC_CONF,
                  "Where sessions live: cookie (sealed record) or cache "
                  "(random id in the cookie, record in the shared cache)"),
    AP_INIT_TAKE1(MTO_DIR_JWKS_COOLDOWN, set_seconds, OFFSET(jwks_cooldown),
                  RSRC_CONF, "Shortest time between two key refetches for "
                  "an unknown kid, in seconds"),
    AP_INIT_TAKE1(MTO_DIR_CACHE, set_cache, NULL, RSRC_CONF,
                  "Shared cache provider and arguments, such as "
                  "shmcb:cache/mto(1048576)"),
    {NULL}
};

/* The last key derived during one configuration check. */
typedef struct {
    const char *passphrase;
    mto_key_t key;
} key_memo;

/* Derives the key of passphrase. PBKDF2 is slow on purpose, so the key of
 * the previous call is reused when the passphrase is the same. */
static apr_status_t derive_key(key_memo *memo, const char *passphrase,
                               mto_key_t *key)
{
    if (memo->passphrase == NULL
        || strcmp(memo->passphrase, passphrase) != 0) {
        if (mto_key_derive(passphrase, &memo->key) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        memo->passphrase = passphrase;
    }
    *key = memo->key;
    return APR_SUCCESS;
}

/* Derives the current and, when set, the previous cookie key of conf. */
static apr_status_t derive_keys(key_memo *memo, mto_config_t *conf)
{
    conf->key_count = 0;
    if (derive_key(memo, conf->passphrase, &conf->keys[0]) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    conf->key_count = 1;
    if (conf->previous_passphrase != NULL) {
        if (derive_key(memo, conf->previous_passphrase, &conf->keys[1])
            != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        conf->key_count = 2;
    }
    return APR_SUCCESS;
}

/*
 * Checks every enabled server after the merge, derives its cookie key and
 * its back-channel options. Runs for "apachectl -t" as well, so a bad
 * configuration stops before httpd starts.
 */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    key_memo memo = {NULL};
    server_rec *vs;

    for (vs = s; vs != NULL; vs = vs->next) {
        mto_config_t *conf = mto_config_get(vs);
        const char *missing = NULL;

        apply_defaults(pconf, conf);
        if (!conf->enabled) {
            continue;
        }
        if (conf->host_patterns == NULL) {
            missing = MTO_DIR_TENANT_HOST;
        }
        else if (conf->issuer_patterns == NULL) {
            missing = MTO_DIR_ISSUER;
        }
        else if (conf->passphrase == NULL) {
            missing = MTO_DIR_PASSPHRASE " or " MTO_DIR_PASSPHRASE_FILE;
        }
        if (missing != NULL) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         "MTO0006: " MTO_DIR_ENABLE " is on for server %s "
                         "(%s:%d) but %s is missing",
                         vs->server_hostname ? vs->server_hostname : "-",
                         vs->defn_name ? vs->defn_name : "-",
                         vs->defn_line_number, missing);
            return HTTP_INTERNAL_SERVER_ERROR;
        }

        if (derive_keys(&memo, conf) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         "MTO0007: cannot derive the cookie key");
            mto_wipe(&memo.key, sizeof(memo.key));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        conf->http.ca_file = conf->ca_file;
        conf->http.connect_timeout_ms = conf->connect_timeout_ms;
        conf->http.total_timeout_ms = conf->total_timeout_ms;
        conf->http.max_body = (apr_size_t)conf->max_response;
    }
    mto_wipe(&memo.key, sizeof(memo.key));
    return OK;
}

static int any_enabled(server_rec *s)
{
    for (; s != NULL; s = s->next) {
        if (mto_config_get(s)->enabled == 1) {
            return 1;
        }
    }
    return 0;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    return mto_cache_pre_config(pconf) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    if (!any_enabled(s)) {
        return OK;
    }
    if (mto_http_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "MTO0008: cannot initialise libcurl");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (mto_metrics_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (mto_cache_post_config(pconf, ptemp, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    if (any_enabled(s)) {
        mto_cache_child_init(pchild, s);
        mto_keyset_child_init(pchild, s);
        mto_session_child_init(pchild, s);
    }
}

/* Folds a header name for comparison: lower case, '_' read as '-'. */
static int header_name_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a == '_') ? '-' : apr_tolower(*a);
        char cb = (*b == '_') ? '-' : apr_tolower(*b);

        if (ca != cb) {
            return 0;
        }
    }
    return *a == *b;
}

typedef struct {
    const mto_config_t *conf;
    apr_array_header_t *found;
} strip_scan;

static int collect_identity_header(void *data, const char *key,
                                   const char *value)
{
    strip_scan *scan = data;

    if (header_name_equal(key, scan->conf->user_header)
        || header_name_equal(key, scan->conf->api_header)) {
        APR_ARRAY_PUSH(scan->found, const char *) = key;
    }
    return 1;
}

/*
 * Removes every incoming header that could pass for the identity headers
 * the module sets, whatever the case or the choice of '-' and '_', before
 * any other module reads the request.
 */
static int strip_identity_headers(request_rec *r)
{
    const mto_config_t *conf = mto_config_get(r->server);
    strip_scan scan;
    int i;

    if (conf->enabled != 1) {
        return DECLINED;
    }
    scan.conf = conf;
    scan.found = apr_array_make(r->pool, 2, sizeof(const char *));
    apr_table_do(collect_identity_header, &scan, r->headers_in, NULL);
    for (i = 0; i < scan.found->nelts; i++) {
        const char *name = APR_ARRAY_IDX(scan.found, i, const char *);

        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MTO0009: tenant %s: removed incoming header %s",
                      r->hostname ? r->hostname : "-", name);
        apr_table_unset(r->headers_in, name);
        mto_metric_inc(MTO_METRIC_HEADER_REMOVED);
    }
    return DECLINED;
}

/* Sets the user and identity headers wherever a valid session exists. */
static int apply_session(request_rec *r)
{
    const mto_config_t *conf = mto_config_get(r->server);
    mto_request_t *ctx;

    if (conf->enabled != 1 || r->main != NULL) {
        return DECLINED;
    }
    ctx = mto_request_get(r);

    /* check_authn has already set them where a session was required. */
    if (!ctx->session_applied && mto_session_load(r, conf) != NULL) {
        mto_session_apply(r, conf, ctx);
        ctx->session_applied = 1;
    }
    return DECLINED;
}

/* Authentication for locations with AuthType multitenant-oidc. */
static int check_authn(request_rec *r)
{
    const mto_config_t *conf = mto_config_get(r->server);
    const char *type = ap_auth_type(r);
    mto_request_t *ctx;

    if (type == NULL || strcasecmp(type, MTO_AUTH_TYPE) != 0) {
        return DECLINED;
    }
    if (conf->enabled != 1) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MTO0010: AuthType " MTO_AUTH_TYPE " used on a server "
                      "without " MTO_DIR_ENABLE " On");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx = mto_request_get(r);
    if (mto_session_load(r, conf) != NULL) {
        mto_session_apply(r, conf, ctx);
        ctx->session_applied = 1;
        return OK;
    }
    if (ctx->host == NULL) {
        return mto_page_error(r, HTTP_BAD_REQUEST, "Invalid Host header.");
    }
    if (!ctx->host_listed) {
        return mto_page_error(r, HTTP_NOT_FOUND,
                              "No tenant is served at this host.");
    }
    if (r->method_number != M_GET || r->main != NULL) {
        return mto_page_error(r, HTTP_UNAUTHORIZED,
                              "Sign in first: this resource needs a "
                              "session.");
    }
    if (!mto_return_path_valid(r->unparsed_uri)) {
        return mto_page_error(r, HTTP_BAD_REQUEST,
                              "The requested URL cannot be returned to "
                              "after sign-in.");
    }
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ctx->origin, conf->login_path,
                               "?next=",
                               ap_escape_urlencoded(r->pool,
                                                    r->unparsed_uri),
                               NULL));
    return HTTP_MOVED_TEMPORARILY;
}

/* Serves the login, callback and logout paths before mod_proxy can. */
static int handle_paths(request_rec *r)
{
    const mto_config_t *conf = mto_config_get(r->server);

    if (conf->enabled != 1 || r->main != NULL || r->uri == NULL) {
        return DECLINED;
    }
    if (strcmp(r->uri, conf->callback_path) == 0) {
        return mto_callback_handle(r, conf);
    }
    if (strcmp(r->uri, conf->login_path) == 0) {
        return mto_login_handle(r, conf);
    }
    if (strcmp(r->uri, conf->logout_path) == 0) {
        mto_session_end(r, conf);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MTO0011: tenant %s: session ended at logout",
                      mto_request_get(r)->host ? mto_request_get(r)->host
                                               : "-");
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(strip_identity_headers, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(apply_session, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(handle_paths, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(mto_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(multitenant_oidc) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config creator */
    NULL,                       /* per-directory config merger */
    create_server_config,
    merge_server_config,
    directives,
    register_hooks
};
