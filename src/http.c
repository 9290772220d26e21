/*
 * Back-channel HTTPS client on libcurl (7.85 or later for the
 * CURLOPT_*_PROTOCOLS_STR options).
 *
 * NOTE: every call creates and frees its own easy handle, so neither
 * connections nor TLS sessions are reused between calls. A per-process
 * pool of handles would save a TCP and TLS handshake per call.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "mto_http.h"
#include "mto_version.h"

#define USER_AGENT "mod_multitenant_oidc/" MTO_VERSION

/* Maximum max-age returned, in seconds. A larger value is capped to it. */
#define MAX_AGE_LIMIT 2147483647L

#define BODY_INITIAL_CAPACITY 4096

/* State shared by the callbacks of one transfer. */
typedef struct {
    char *body;                 /* from malloc, freed by perform() */
    apr_size_t length;
    apr_size_t capacity;
    apr_size_t max_body;
    int too_large;              /* the body passed max_body */
    int out_of_memory;
    long max_age;
} transfer_t;

/* One request, as perform() sends it. */
typedef struct {
    const char *method;         /* "GET" or "POST", for messages */
    const char *url;
    const char *form;           /* POST body, or NULL for GET */
    const char *basic_user;
    const char *basic_password;
} request_t;

apr_status_t mto_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
           ? APR_SUCCESS : APR_EGENERAL;
}

static size_t write_body(char *data, size_t size, size_t count,
                         void *userdata)
{
    transfer_t *transfer = userdata;
    size_t length = size * count;

    if (length > transfer->max_body - transfer->length) {
        transfer->too_large = 1;
        return 0;
    }
    if (transfer->length + length + 1 > transfer->capacity) {
        apr_size_t capacity = transfer->capacity * 2;
        char *grown;

        if (capacity < BODY_INITIAL_CAPACITY) {
            capacity = BODY_INITIAL_CAPACITY;
        }
        if (capacity < transfer->length + length + 1) {
            capacity = transfer->length + length + 1;
        }
        grown = realloc(transfer->body, capacity);
        if (grown == NULL) {
            transfer->out_of_memory = 1;
            return 0;
        }
        transfer->body = grown;
        transfer->capacity = capacity;
    }
    memcpy(transfer->body + transfer->length, data, length);
    transfer->length += length;
    return length;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Finds the value of header name in one raw header line (not
 * NUL-terminated), without surrounding white space or the line end.
 */
static int header_value(const char *line, apr_size_t length,
                        const char *name, const char **value,
                        apr_size_t *value_length)
{
    apr_size_t name_length = strlen(name);
    const char *start;
    const char *end = line + length;

    if (length <= name_length || line[name_length] != ':'
        || strncasecmp(line, name, name_length) != 0) {
        return 0;
    }
    start = line + name_length + 1;
    while (start < end && is_space(*start)) {
        start++;
    }
    while (end > start && is_space(end[-1])) {
        end--;
    }
    *value = start;
    *value_length = end - start;
    return 1;
}

/* Parses 1 or more digits, capping the result at limit. Returns -1 when
 * the text is empty or has another character. */
static long parse_digits(const char *text, apr_size_t length, long limit)
{
    apr_size_t i;
    long value = 0;

    if (length == 0) {
        return -1;
    }
    for (i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return -1;
        }
        if (value <= (limit - (text[i] - '0')) / 10) {
            value = value * 10 + (text[i] - '0');
        }
        else {
            value = limit;
        }
    }
    return value;
}

/* Returns the end of the Cache-Control directive at text, skipping over
 * quoted strings (RFC 9110 section 5.6.4) so a comma inside one does not
 * end it. */
static const char *directive_end(const char *text, const char *end)
{
    int quoted = 0;

    for (; text < end; text++) {
        if (quoted && *text == '\\' && text + 1 < end) {
            text++;
        }
        else if (*text == '"') {
            quoted = !quoted;
        }
        else if (*text == ',' && !quoted) {
            break;
        }
    }
    return text;
}

/*
 * Returns the first valid max-age of a Cache-Control value (RFC 9111
 * section 5.2.2.1), as a token or a quoted string, or -1. Directive names
 * ignore case, and a max-age without 1 or more digits is skipped.
 */
static long parse_max_age(const char *value, apr_size_t length)
{
    static const char name[] = "max-age=";
    const apr_size_t name_length = sizeof(name) - 1;
    const char *end = value + length;
    const char *directive = value;

    while (directive < end) {
        const char *next = directive_end(directive, end);
        const char *argument;
        const char *argument_end = next;
        long seconds;

        while (directive < next && is_space(*directive)) {
            directive++;
        }
        while (argument_end > directive && is_space(argument_end[-1])) {
            argument_end--;
        }
        argument = directive + name_length;
        if (argument <= argument_end
            && strncasecmp(directive, name, name_length) == 0) {
            if (argument_end - argument >= 2 && *argument == '"'
                && argument_end[-1] == '"') {
                argument++;
                argument_end--;
            }
            seconds = parse_digits(argument, argument_end - argument,
                                   MAX_AGE_LIMIT);
            if (seconds >= 0) {
                return seconds;
            }
        }
        directive = next + 1;
    }
    return -1;
}

/*
 * Reads Cache-Control max-age and rejects a declared Content-Length over
 * max_body before any of the body arrives. A status line starts a new
 * response (after a 1xx one), so it clears what earlier headers set.
 */
static size_t read_header(char *line, size_t size, size_t count,
                          void *userdata)
{
    transfer_t *transfer = userdata;
    size_t length = size * count;
    const char *value;
    apr_size_t value_length;

    if (length >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        transfer->max_age = -1;
    }
    else if (header_value(line, length, "Cache-Control", &value,
                          &value_length)) {
        if (transfer->max_age < 0) {
            transfer->max_age = parse_max_age(value, value_length);
        }
    }
    else if (header_value(line, length, "Content-Length", &value,
                          &value_length)) {
        long declared = parse_digits(value, value_length, LONG_MAX);

        if (declared >= 0 && (unsigned long)declared > transfer->max_body) {
            transfer->too_large = 1;
            return 0;
        }
    }
    return length;
}

/*
 * Parses url into *parsed and writes "host" or "host:port" into target
 * for messages, leaving out the path and query. Fails with err filled,
 * before any connection, unless the URL is a valid https URL.
 */
static apr_status_t parse_target(apr_pool_t *pool, const request_t *request,
                                 CURLU **parsed, const char **target,
                                 mto_error_t *err)
{
    CURLU *url = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (url == NULL
        || curl_url_set(url, CURLUPART_URL, request->url, 0) != CURLUE_OK
        || curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        mto_error_set(err, 502, "%s request rejected: the URL is not valid",
                      request->method);
        curl_free(scheme);
        curl_url_cleanup(url);
        return APR_EINVAL;
    }
    curl_url_get(url, CURLUPART_PORT, &port, 0);
    *target = port ? apr_pstrcat(pool, host, ":", port, NULL)
                   : apr_pstrdup(pool, host);

    if (strcmp(scheme, "https") != 0) {
        mto_error_set(err, 502, "%s request to %s rejected: the URL scheme "
                      "is %s, only https is allowed", request->method,
                      *target, scheme);
        curl_url_cleanup(url);
        rv = APR_EINVAL;
    }
    else {
        *parsed = url;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return rv;
}

static void set_options(CURL *curl, const mto_http_options_t *options,
                        const request_t *request, CURLU *url,
                        struct curl_slist *headers, transfer_t *transfer,
                        char *error_buffer)
{
    curl_easy_setopt(curl, CURLOPT_CURLU, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (options->ca_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, options->ca_file);
    }
    /* httpd threads must not get SIGALRM from the resolver timeout. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (options->connect_timeout_ms > 0) {
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                         options->connect_timeout_ms);
    }
    if (options->total_timeout_ms > 0) {
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options->total_timeout_ms);
    }
    curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, transfer);

    if (request->form != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->form);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(request->form));
    }
    if (request->basic_user != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, request->basic_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD,
                         request->basic_password ? request->basic_password
                                                 : "");
    }
}

/* Fills err for a failed transfer and returns the matching status. */
static apr_status_t transfer_failed(const request_t *request,
                                    const char *target, CURLcode code,
                                    const transfer_t *transfer,
                                    const char *error_buffer,
                                    mto_error_t *err)
{
    const char *reason = error_buffer[0] ? error_buffer
                                         : curl_easy_strerror(code);

    if (transfer->too_large) {
        mto_error_set(err, 502, "%s response from %s is larger than the "
                      "maximum of %lu bytes", request->method, target,
                      (unsigned long)transfer->max_body);
        return APR_EGENERAL;
    }
    if (transfer->out_of_memory) {
        mto_error_set(err, 502, "%s response from %s could not be stored: "
                      "out of memory", request->method, target);
        return APR_ENOMEM;
    }
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        mto_error_set(err, 503, "%s request to %s timed out: %s",
                      request->method, target, reason);
        return APR_TIMEUP;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        mto_error_set(err, 503, "%s request to %s failed: %s",
                      request->method, target, reason);
        return APR_EGENERAL;
    default:
        mto_error_set(err, 502, "%s request to %s failed: %s",
                      request->method, target, reason);
        return APR_EGENERAL;
    }
}

static void fill_response(apr_pool_t *pool, CURL *curl,
                          const transfer_t *transfer,
                          mto_http_response_t *response)
{
    char *body = apr_palloc(pool, transfer->length + 1);

    if (transfer->length > 0) {
        memcpy(body, transfer->body, transfer->length);
    }
    body[transfer->length] = '\0';
    response->status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    response->body = body;
    response->length = transfer->length;
    response->max_age = transfer->max_age;
}

static apr_status_t perform(apr_pool_t *pool,
                            const mto_http_options_t *options,
                            const request_t *request,
                            mto_http_response_t *response, mto_error_t *err)
{
    char error_buffer[CURL_ERROR_SIZE];
    transfer_t transfer;
    struct curl_slist *headers = NULL;
    const char *target = NULL;
    CURLU *url = NULL;
    CURL *curl;
    CURLcode code;
    apr_status_t rv;

    memset(response, 0, sizeof(*response));
    response->max_age = -1;
    rv = parse_target(pool, request, &url, &target, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    curl = curl_easy_init();
    if (curl == NULL) {
        mto_error_set(err, 502, "%s request to %s failed: libcurl could not "
                      "create a handle", request->method, target);
        curl_url_cleanup(url);
        return APR_EGENERAL;
    }

    memset(&transfer, 0, sizeof(transfer));
    transfer.max_body = options->max_body;
    transfer.max_age = -1;
    error_buffer[0] = '\0';
    headers = curl_slist_append(headers, "Accept: application/json");
    if (request->form != NULL) {
        headers = curl_slist_append(headers, "Content-Type: "
                                    "application/x-www-form-urlencoded");
    }
    set_options(curl, options, request, url, headers, &transfer,
                error_buffer);

    code = curl_easy_perform(curl);
    if (code == CURLE_OK && !transfer.too_large) {
        fill_response(pool, curl, &transfer, response);
        rv = APR_SUCCESS;
    }
    else {
        rv = transfer_failed(request, target, code, &transfer, error_buffer,
                             err);
    }

    curl_easy_cleanup(curl);
    curl_url_cleanup(url);
    curl_slist_free_all(headers);
    free(transfer.body);
    return rv;
}

apr_status_t mto_http_get(apr_pool_t *pool, const mto_http_options_t *options,
                          const char *url, mto_http_response_t *response,
                          mto_error_t *err)
{
    request_t request = { "GET", url, NULL, NULL, NULL };

    return perform(pool, options, &request, response, err);
}

/* Collects "key=value" pairs of a form, each part percent-encoded. */
typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *pairs;
    int failed;
} form_builder_t;

static const char *escape_text(apr_pool_t *pool, const char *text)
{
    char *escaped = curl_easy_escape(NULL, text, 0);
    const char *copy;

    if (escaped == NULL) {
        return NULL;
    }
    copy = apr_pstrdup(pool, escaped);
    curl_free(escaped);
    return copy;
}

static int add_form_pair(void *data, const char *key, const char *value)
{
    form_builder_t *builder = data;
    const char *escaped_key = escape_text(builder->pool, key);
    const char *escaped_value = escape_text(builder->pool, value);

    if (escaped_key == NULL || escaped_value == NULL) {
        builder->failed = 1;
        return 0;
    }
    APR_ARRAY_PUSH(builder->pairs, const char *) =
        apr_pstrcat(builder->pool, escaped_key, "=", escaped_value, NULL);
    return 1;
}

apr_status_t mto_http_post_form(apr_pool_t *pool,
                                const mto_http_options_t *options,
                                const char *url, const apr_table_t *form,
                                const char *basic_user,
                                const char *basic_password,
                                mto_http_response_t *response,
                                mto_error_t *err)
{
    request_t request = { "POST", url, NULL, basic_user, basic_password };
    form_builder_t builder;

    builder.pool = pool;
    builder.pairs = apr_array_make(pool, 8, sizeof(const char *));
    builder.failed = 0;
    if (form != NULL) {
        apr_table_do(add_form_pair, &builder, form, NULL);
    }
    if (builder.failed) {
        memset(response, 0, sizeof(*response));
        response->max_age = -1;
        mto_error_set(err, 502, "POST request rejected: the form could not "
                      "be encoded");
        return APR_ENOMEM;
    }
    request.form = apr_array_pstrcat(pool, builder.pairs, '&');
    return perform(pool, options, &request, response, err);
}
