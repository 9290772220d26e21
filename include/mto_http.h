/*
 * Back-channel HTTPS client on libcurl: https only, TLS verification on,
 * no redirects, connect and total timeouts, a cap on the body size.
 */
#ifndef MTO_HTTP_H
#define MTO_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "mto_error.h"

typedef struct {
    const char *ca_file;        /* PEM bundle; NULL uses the system store */
    long connect_timeout_ms;
    long total_timeout_ms;
    apr_size_t max_body;        /* bytes; a longer body fails the request */
} mto_http_options_t;

typedef struct {
    long status;                /* HTTP status code of the response */
    const char *body;           /* NUL-terminated copy in the pool */
    apr_size_t length;          /* body length in bytes, without the NUL */
    long max_age;               /* Cache-Control max-age in seconds, or -1 */
} mto_http_response_t;

/* Initialises libcurl once per process, before any thread starts. */
apr_status_t mto_http_global_init(void);

/*
 * Sends GET url and stores the response. Returns APR_SUCCESS whenever an
 * HTTP response arrived, whatever its status; a redirect is returned, not
 * followed. A transport failure, a URL that is not https, a body over
 * max_body, or a timeout returns an error with err filled: 503 for an
 * unreachable host or a timeout, 502 for anything else.
 */
apr_status_t mto_http_get(apr_pool_t *pool, const mto_http_options_t *options,
                          const char *url, mto_http_response_t *response,
                          mto_error_t *err);

/*
 * Sends POST url with an application/x-www-form-urlencoded body built from
 * form (keys and values are encoded here). basic_user and basic_password,
 * when not NULL, add HTTP Basic authentication. Results as mto_http_get.
 */
apr_status_t mto_http_post_form(apr_pool_t *pool,
                                const mto_http_options_t *options,
                                const char *url, const apr_table_t *form,
                                const char *basic_user,
                                const char *basic_password,
                                mto_http_response_t *response,
                                mto_error_t *err);

#endif
