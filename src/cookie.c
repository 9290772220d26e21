/*
 * Cookies: reading the Cookie request headers, writing Set-Cookie, and
 * the per-request context that names the tenant host.
 */
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mto_request.h"
#include "mto_tenant.h"

typedef struct {
    const char *name;
    apr_size_t name_length;
    const char *value;
    int count;
    apr_pool_t *pool;
} cookie_search;

/*
 * Finds search->name among the "name=value" entries of one Cookie header.
 * Entries are split at ";" only, and a value runs to the next ";", so a
 * match must start an entry: at the start of the header or after ";" and
 * any spaces or tabs. strchr and strncmp do the scanning, because every
 * request with a session runs this over the whole header.
 */
static void scan_cookie_header(cookie_search *search, const char *header)
{
    const char *c = header;

    for (;;) {
        const char *end;

        while (*c == ' ' || *c == '\t') {
            c++;
        }
        end = strchr(c, ';');
        if (strncmp(c, search->name, search->name_length) == 0
            && c[search->name_length] == '=') {
            const char *value = c + search->name_length + 1;
            apr_size_t length = end ? (apr_size_t)(end - value)
                                    : strlen(value);

            search->count++;
            search->value = apr_pstrmemdup(search->pool, value, length);
        }
        if (end == NULL) {
            return;
        }
        c = end + 1;
    }
}

static int scan_cookie_entry(void *data, const char *key, const char *value)
{
    scan_cookie_header(data, value);
    return 1;
}

const char *mto_cookie_get(request_rec *r, const char *name)
{
    cookie_search search = {name, strlen(name), NULL, 0, r->pool};

    apr_table_do(scan_cookie_entry, &search, r->headers_in, "Cookie", NULL);

    /* A cookie sent twice may be one planted beside the real one. */
    if (search.count != 1) {
        return NULL;
    }
    return search.value;
}

void mto_cookie_set(request_rec *r, const char *name, const char *value,
                    apr_int64_t max_age, const char *same_site)
{
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, "%s=%s; Path=/; Max-Age=%"
                                APR_INT64_T_FMT "; Secure; HttpOnly; "
                                "SameSite=%s", name, value, max_age,
                                same_site));
}

const char *mto_cookie_aad(apr_pool_t *pool, const char *purpose,
                           const char *host)
{
    return apr_pstrcat(pool, purpose, "\n", host, NULL);
}

/*
 * What the Host header of the first request on a connection gave: the
 * host name, the port, the origin, the API base URL and whether a tenant
 * host pattern matches. Later requests on the connection reuse it when
 * they send the same header to the same virtual host over the same scheme.
 * Any other request works it out in its own pool, and the memo is made
 * only from a valid header, so the connection's pool does not grow with
 * the number of requests a client sends.
 */
typedef struct {
    const mto_config_t *conf;
    const char *scheme;
    const char *header;
    const char *host;
    const char *port;
    const char *origin;
    const char *api_base;
    int host_listed;
} host_memo;

/* Fills memo from header for conf and scheme. Returns 0 when the header
 * is not a valid host name with an optional port. */
static int host_work_out(apr_pool_t *pool, host_memo *memo,
                         const mto_config_t *conf, const char *scheme,
                         const char *header)
{
    if (mto_host_parse(pool, header, &memo->host, &memo->port)
        != APR_SUCCESS) {
        return 0;
    }
    memo->conf = conf;
    memo->scheme = scheme;
    memo->header = header;
    memo->origin = apr_pstrcat(pool, scheme, "://", memo->host,
                               memo->port ? ":" : "", memo->port, NULL);
    memo->api_base = apr_pstrcat(pool, memo->origin, "/api", NULL);
    memo->host_listed = conf->host_patterns != NULL
                        && mto_host_matches(memo->host, conf->host_patterns);
    return 1;
}

/* Returns the host details of header for the request: the connection's
 * memo when it fits, else new ones. Returns NULL for an invalid header. */
static const host_memo *host_lookup(request_rec *r, const char *header)
{
    extern module AP_MODULE_DECLARE_DATA multitenant_oidc_module;
    conn_rec *c = r->connection;
    const mto_config_t *conf = mto_config_get(r->server);
    const char *scheme = ap_http_scheme(r);
    host_memo *memo;
    host_memo *found;

    memo = ap_get_module_config(c->conn_config, &multitenant_oidc_module);
    if (memo != NULL && memo->conf == conf
        && strcmp(memo->header, header) == 0
        && strcmp(memo->scheme, scheme) == 0) {
        return memo;
    }
    found = apr_palloc(r->pool, sizeof(*found));
    if (!host_work_out(r->pool, found, conf, scheme, header)) {
        return NULL;
    }

    /* Only the first valid header is kept, so the connection's pool takes
     * one copy whatever its requests send. */
    if (memo == NULL) {
        memo = apr_palloc(c->pool, sizeof(*memo));
        memo->conf = conf;
        memo->scheme = apr_pstrdup(c->pool, scheme);
        memo->header = apr_pstrdup(c->pool, header);
        memo->host = apr_pstrdup(c->pool, found->host);
        memo->port = found->port ? apr_pstrdup(c->pool, found->port) : NULL;
        memo->origin = apr_pstrdup(c->pool, found->origin);
        memo->api_base = apr_pstrdup(c->pool, found->api_base);
        memo->host_listed = found->host_listed;
        ap_set_module_config(c->conn_config, &multitenant_oidc_module, memo);
    }
    return found;
}

mto_request_t *mto_request_get(request_rec *r)
{
    extern module AP_MODULE_DECLARE_DATA multitenant_oidc_module;
    mto_request_t *ctx;
    const host_memo *found;
    const char *header;

    ctx = ap_get_module_config(r->request_config, &multitenant_oidc_module);
    if (ctx != NULL) {
        return ctx;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ap_set_module_config(r->request_config, &multitenant_oidc_module, ctx);

    header = apr_table_get(r->headers_in, "Host");
    found = header ? host_lookup(r, header) : NULL;
    if (found == NULL) {
        return ctx;
    }

    /* httpd picked the virtual host from the same name; they must agree. */
    if (r->hostname == NULL || strcasecmp(r->hostname, found->host) != 0) {
        return ctx;
    }
    ctx->host = found->host;
    ctx->port = found->port;
    ctx->origin = found->origin;
    ctx->api_base = found->api_base;
    ctx->host_listed = found->host_listed;
    return ctx;
}
