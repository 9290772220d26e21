/*
 * Per-server configuration and the logging macro shared by the parts that
 * run inside httpd. Parts that have no request (parsers, validators,
 * crypto) do not include this header.
 */
#ifndef MTO_CONFIG_H
#define MTO_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_lib.h>
#include <apr_tables.h>

#include "mto_crypto.h"
#include "mto_http.h"

/* The module's own file declares the module with AP_DECLARE_MODULE. */
#ifndef MTO_MODULE_FILE
APLOG_USE_MODULE(multitenant_oidc);
#endif

/* Directive names, defined once so that messages cannot drift. */
#define MTO_DIR_ENABLE          "MTOIDCEnable"
#define MTO_DIR_TENANT_HOST     "MTOIDCTenantHost"
#define MTO_DIR_TENANT_INFO_URL "MTOIDCTenantInfoURL"
#define MTO_DIR_ISSUER          "MTOIDCIssuer"
#define MTO_DIR_CLIENT_ID       "MTOIDCClientID"
#define MTO_DIR_PASSPHRASE      "MTOIDCPassphrase"
#define MTO_DIR_PASSPHRASE_FILE "MTOIDCPassphraseFile"
#define MTO_DIR_LOGIN_PATH      "MTOIDCLoginPath"
#define MTO_DIR_CALLBACK_PATH   "MTOIDCCallbackPath"
#define MTO_DIR_LOGOUT_PATH     "MTOIDCLogoutPath"
#define MTO_DIR_USER_CLAIM      "MTOIDCUserClaim"
#define MTO_DIR_USER_FORMAT     "MTOIDCUserFormat"
#define MTO_DIR_USER_HEADER     "MTOIDCUserHeader"
#define MTO_DIR_API_HEADER      "MTOIDCAPIHeader"
#define MTO_DIR_CA_FILE         "MTOIDCCAFile"
#define MTO_DIR_TIMEOUT         "MTOIDCBackChannelTimeout"
#define MTO_DIR_MAX_RESPONSE    "MTOIDCMaxResponseSize"
#define MTO_DIR_ALGORITHMS      "MTOIDCAlgorithms"
#define MTO_DIR_CLOCK_SKEW      "MTOIDCClockSkew"
#define MTO_DIR_IAT_MAX_AGE     "MTOIDCTokenMaxAge"
#define MTO_DIR_STATE_TTL       "MTOIDCStateTimeout"
#define MTO_DIR_SESSION_TTL     "MTOIDCSessionTimeout"
#define MTO_DIR_TENANT_TTL      "MTOIDCTenantCacheTime"
#define MTO_DIR_JWKS_COOLDOWN   "MTOIDCKeyRefreshInterval"
#define MTO_DIR_CACHE           "MTOIDCCache"
#define MTO_DIR_SCOPE           "MTOIDCScope"
#define MTO_DIR_NEGATIVE_TTL    "MTOIDCNegativeCacheTime"
#define MTO_DIR_MAX_STALE       "MTOIDCMaxStale"
#define MTO_DIR_SESSION_STORE   "MTOIDCSessionStore"
#define MTO_DIR_RESPONSE_TYPE   "MTOIDCResponseType"
#define MTO_DIR_CLIENT_SECRET   "MTOIDCClientSecret"
#define MTO_DIR_CLIENT_SECRET_FILE "MTOIDCClientSecretFile"

/* Values of session_store. */
#define MTO_SESSION_STORE_COOKIE 0  /* the sealed record is the cookie */
#define MTO_SESSION_STORE_CACHE  1  /* the cookie is an id into the cache */

/* Values of response_type: the OpenID Connect flow a login uses. */
#define MTO_RESPONSE_TYPE_ID_TOKEN 0  /* implicit flow, id_token posted */
#define MTO_RESPONSE_TYPE_CODE     1  /* code flow with PKCE (S256) */

/*
 * A number or flag field is MTO_UNSET (or NULL for pointers) until a
 * directive sets it. The merge takes the virtual host's value when set,
 * and check_config then fills what is still unset with the defaults.
 */
#define MTO_UNSET (-1)

typedef struct {
    int enabled;
    apr_array_header_t *host_patterns;      /* const char *, lower case */
    const char *tenant_info_url;            /* template with {host} */
    apr_array_header_t *issuer_patterns;    /* const char * */
    const char *client_id;
    const char *client_secret;              /* never logged; NULL: public */
    int response_type;                      /* MTO_RESPONSE_TYPE_* */
    const char *passphrase;                 /* never logged */
    const char *previous_passphrase;        /* still read, never written */
    const char *login_path;
    const char *callback_path;
    const char *logout_path;
    const char *user_claim;
    const char *user_format;                /* {claim} and {host} */
    const char *user_header;
    const char *api_header;
    const char *scope;
    apr_array_header_t *algorithms;         /* const char * */
    const char *ca_file;
    long connect_timeout_ms;
    long total_timeout_ms;
    apr_int64_t max_response;               /* bytes */
    apr_int64_t clock_skew;                 /* seconds */
    apr_int64_t iat_max_age;                /* seconds */
    apr_int64_t state_ttl;                  /* seconds */
    apr_int64_t session_ttl;                /* seconds */
    apr_int64_t tenant_ttl;                 /* seconds, no max-age */
    apr_int64_t tenant_ttl_min;             /* seconds, max-age floor */
    apr_int64_t tenant_ttl_max;             /* seconds, max-age ceiling */
    apr_int64_t negative_ttl;               /* seconds */
    apr_int64_t max_stale;                  /* seconds */
    int session_store;                      /* MTO_SESSION_STORE_* */
    apr_int64_t jwks_cooldown;              /* seconds */

    /* Derived in check_config from the settings above: the current key
     * first, then the key of the previous passphrase when one is set. */
    mto_key_t keys[2];
    int key_count;
    mto_http_options_t http;
} mto_config_t;

/* Returns the module configuration of server s. */
mto_config_t *mto_config_get(const server_rec *s);

/*
 * Logs one line for request r that always names the tenant host. tag is a
 * string literal of the form "MTO0123", unique per call site.
 */
#define mto_log(r, level, status, host, tag, fmt, ...)                   \
    ap_log_rerror(APLOG_MARK, (level), (status), (r),                    \
                  tag ": tenant %s: " fmt, (host) ? (host) : "-",        \
                  ##__VA_ARGS__)

#endif
