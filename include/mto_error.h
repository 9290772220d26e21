/*
 * Error reports passed from the parts that have no request to the request
 * layer, which logs them once with the tenant host.
 */
#ifndef MTO_ERROR_H
#define MTO_ERROR_H

#include <apr.h>

#define MTO_ERROR_TEXT_MAX 256

typedef struct {
    /* HTTP status that fits the failure (400, 403, 502, 503), or 0. */
    int http_status;
    /* Reason in plain words, never containing a secret. */
    char text[MTO_ERROR_TEXT_MAX];
} mto_error_t;

/* Fills err with a status and a printf-style reason; err may be NULL. */
void mto_error_set(mto_error_t *err, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
