/*
 * Error pages. Every message is escaped before it reaches the page, so
 * text taken from a request or a provider cannot become markup, and
 * non-ASCII bytes become character references, so the page is plain ASCII
 * whatever charset httpd announces for it.
 */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "mto_request.h"

int mto_page_error(request_rec *r, int status, const char *message)
{
    const char *page;

    page = apr_pstrcat(r->pool,
                       "<!DOCTYPE html>\n<html><head>"
                       "<title>Sign-in failed</title></head>\n<body>"
                       "<h1>Sign-in failed</h1>\n<p>",
                       ap_escape_html2(r->pool, message, 1),
                       "</p>\n</body></html>\n", NULL);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    ap_custom_response(r, status, page);
    return status;
}
