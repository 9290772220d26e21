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

static void scan_cookie_header(cookie_search *search, const char *header)
{
    const char *c = header;

    while (*c) {
        const char *name;
        const char *end;

        while (*c == ' ' || *c == '\t' || *c == ';') {
            c++;
        }
        name = c;
        while (*c && *c != '=' && *c != ';') {
            c++;
        }
        if (*c != '=') {
            continue;
        }
        end = c++;
        if ((apr_size_t)(end - name) == search->name_length
            && strncmp(name, search->name, search->name_length) == 0) {
            const char *value = c;

            while (*c && *c != ';') {
                c++;
            }
            search->count++;
            search->value = apr_pstrmemdup(search->pool, value, c - value);
            continue;
        }
        while (*c && *c != ';') {
            c++;
        }
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

mto_request_t *mto_request_get(request_rec *r)
{
    extern module AP_MODULE_DECLARE_DATA multitenant_oidc_module;
    mto_request_t *ctx;
    const mto_config_t *conf;
    const char *header;

    ctx = ap_get_module_config(r->request_config, &multitenant_oidc_module);
    if (ctx != NULL) {
        return ctx;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ap_set_module_config(r->request_config, &multitenant_oidc_module, ctx);

    conf = mto_config_get(r->server);
    header = apr_table_get(r->headers_in, "Host");
    if (header == NULL
        || mto_host_parse(r->pool, header, &ctx->host, &ctx->port)
           != APR_SUCCESS) {
        ctx->host = NULL;
        return ctx;
    }

    /* httpd picked the virtual host from the same name; they must agree. */
    if (r->hostname == NULL || strcasecmp(r->hostname, ctx->host) != 0) {
        ctx->host = NULL;
        return ctx;
    }
    ctx->origin = apr_pstrcat(r->pool, ap_http_scheme(r), "://", ctx->host,
                              ctx->port ? ":" : "", ctx->port, NULL);
    ctx->host_listed = conf->host_patterns != NULL
                       && mto_host_matches(ctx->host, conf->host_patterns);
    return ctx;
}
