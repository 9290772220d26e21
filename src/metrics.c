/*
 * Server-wide counters. One array of 64-bit counters lives in anonymous
 * shared memory created by the parent in post_config, so every child
 * inherits it and increments it with atomic operations, without a lock.
 */
#include <httpd.h>
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>

#include "mto_config.h"
#include "mto_metrics.h"

/* Names, help and labels in mto_metric_t order. */
static const struct {
    const char *name;
    const char *help;
    const char *labels;
} metric_info[MTO_METRIC_COUNT] = {
    {"mto_logins_total", "Logins by outcome at the login path.",
     "result=\"redirected\""},
    {"mto_logins_total", NULL, "result=\"failed\""},
    {"mto_callbacks_total", "Provider callbacks by outcome.",
     "result=\"accepted\""},
    {"mto_callbacks_total", NULL, "result=\"rejected\""},
    {"mto_session_cookies_total", "Session cookies presented, by outcome.",
     "result=\"accepted\""},
    {"mto_session_cookies_total", NULL, "result=\"rejected\""},
    {"mto_identity_headers_removed_total",
     "Incoming headers removed because they could pass for an identity "
     "header.", NULL},
    {"mto_backchannel_requests_total",
     "Requests to tenant information services and providers: completed "
     "with any HTTP status, or failed without a response.",
     "result=\"completed\""},
    {"mto_backchannel_requests_total", NULL, "result=\"failed\""},
};

static apr_uint64_t *counters;

static apr_status_t metrics_detach(void *data)
{
    counters = NULL;
    return APR_SUCCESS;
}

apr_status_t mto_metrics_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    rv = apr_shm_create(&shm, sizeof(apr_uint64_t) * MTO_METRIC_COUNT, NULL,
                        pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "MTO0050: cannot create shared memory for counters");
        return rv;
    }
    counters = apr_shm_baseaddr_get(shm);
    memset(counters, 0, sizeof(apr_uint64_t) * MTO_METRIC_COUNT);
    apr_pool_cleanup_register(pconf, NULL, metrics_detach,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void mto_metric_inc(mto_metric_t metric)
{
    if (counters != NULL && metric < MTO_METRIC_COUNT) {
        apr_atomic_inc64(&counters[metric]);
    }
}

int mto_metrics_handler(request_rec *r)
{
    int i;

    if (r->handler == NULL || strcmp(r->handler, MTO_METRICS_HANDLER) != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    for (i = 0; i < MTO_METRIC_COUNT; i++) {
        apr_uint64_t value = counters ? apr_atomic_read64(&counters[i]) : 0;

        if (metric_info[i].help != NULL) {
            ap_rprintf(r, "# HELP %s %s\n# TYPE %s counter\n",
                       metric_info[i].name, metric_info[i].help,
                       metric_info[i].name);
        }
        if (metric_info[i].labels != NULL) {
            ap_rprintf(r, "%s{%s} %" APR_UINT64_T_FMT "\n",
                       metric_info[i].name, metric_info[i].labels, value);
        }
        else {
            ap_rprintf(r, "%s %" APR_UINT64_T_FMT "\n", metric_info[i].name,
                       value);
        }
    }
    return OK;
}
