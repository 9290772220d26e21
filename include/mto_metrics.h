/*
 * Server-wide counters in anonymous shared memory, created before the
 * children fork, and the handler that prints them in the Prometheus text
 * exposition format.
 */
#ifndef MTO_METRICS_H
#define MTO_METRICS_H

#include <httpd.h>

#define MTO_METRICS_HANDLER "multitenant-oidc-metrics"

typedef enum {
    MTO_METRIC_LOGIN_STARTED,
    MTO_METRIC_LOGIN_FAILED,
    MTO_METRIC_CALLBACK_ACCEPTED,
    MTO_METRIC_CALLBACK_REJECTED,
    MTO_METRIC_SESSION_ACCEPTED,
    MTO_METRIC_SESSION_REJECTED,
    MTO_METRIC_HEADER_REMOVED,
    MTO_METRIC_BACKCHANNEL_COMPLETED,
    MTO_METRIC_BACKCHANNEL_FAILED,
    MTO_METRIC_COUNT
} mto_metric_t;

/* Creates the counters; called from post_config. */
apr_status_t mto_metrics_post_config(apr_pool_t *pconf, server_rec *s);

/* Adds one to a counter; does nothing before post_config. */
void mto_metric_inc(mto_metric_t metric);

/* Serves the counters for SetHandler multitenant-oidc-metrics. */
int mto_metrics_handler(request_rec *r);

#endif
