#include <stdarg.h>
#include <apr_strings.h>

#include "mto_error.h"

void mto_error_set(mto_error_t *err, int http_status, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return;
    }
    err->http_status = http_status;
    va_start(ap, fmt);
    apr_vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}
