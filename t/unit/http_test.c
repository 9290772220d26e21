/*
 * Unit tests of the back-channel HTTPS client against TLS servers that
 * run in threads of the test process on 127.0.0.1. The test creates a CA
 * and server certificates at run time. The client reaches the servers
 * as idp.localhost, which libcurl resolves to loopback by itself.
 * Server threads never touch the test's APR pool, which is not
 * thread-safe.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* strcasestr */
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mto_http.h"

#define COUNT(table) ((int)(sizeof(table) / sizeof((table)[0])))

#define TEST_HOST "idp.localhost"
#define REQUEST_MAX 16384
#define SILENT_CONNECTIONS_MAX 8
#define POLL_INTERVAL_MS 50

/* Body sizes: the client's cap, and what /large sends in chunks. */
#define MAX_BODY 4096
#define LARGE_BODY 5000
#define LARGE_CHUNK 1000

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} credential_t;

typedef enum {
    SERVE_TLS,          /* TLS with canned responses by path */
    SERVE_SILENT        /* accepts TCP connections and sends nothing */
} server_mode_t;

typedef struct {
    server_mode_t mode;
    SSL_CTX *ctx;
    int listener;
    int port;
    pthread_t thread;
    atomic_int stop;
    atomic_int connections;
    int silent_fds[SILENT_CONNECTIONS_MAX];
    int silent_count;
    pthread_mutex_t lock;
    char request[REQUEST_MAX + 1];  /* last request: headers and body */
} server_t;

static apr_pool_t *pool;
static credential_t ca;
static credential_t server_credential;
static credential_t rogue_ca;
static credential_t rogue_credential;
static char ca_file[64];
static server_t tls_server;
static mto_http_options_t options;

/* Certificates, made once in main() before the tests fork */

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "test setup failed: %s\n", what);
        ERR_print_errors_fp(stderr);
        exit(EXIT_FAILURE);
    }
}

static void add_extension(X509 *cert, X509 *issuer, int nid,
                          const char *value)
{
    X509V3_CTX context;
    X509_EXTENSION *extension;

    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, NULL, NULL, 0);
    extension = X509V3_EXT_conf_nid(NULL, &context, nid, value);
    require(extension != NULL, value);
    require(X509_add_ext(cert, extension, -1) == 1, value);
    X509_EXTENSION_free(extension);
}

/*
 * Creates a P-256 key and a certificate for it: a self-signed CA when
 * issuer is NULL, else a server certificate for TEST_HOST signed by
 * issuer.
 */
static credential_t make_credential(const char *common_name,
                                    const credential_t *issuer)
{
    static long serial;
    credential_t credential;
    X509_NAME *name;
    X509 *issuer_cert;
    EVP_PKEY *issuer_key;

    credential.key = EVP_EC_gen("P-256");
    require(credential.key != NULL, "key generation");
    credential.cert = X509_new();
    require(credential.cert != NULL, "certificate allocation");
    issuer_cert = issuer ? issuer->cert : credential.cert;
    issuer_key = issuer ? issuer->key : credential.key;

    X509_set_version(credential.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(credential.cert), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(credential.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(credential.cert), 24 * 3600);
    name = X509_get_subject_name(credential.cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)common_name, -1, -1, 0);
    X509_set_issuer_name(credential.cert, X509_get_subject_name(issuer_cert));
    X509_set_pubkey(credential.cert, credential.key);

    add_extension(credential.cert, issuer_cert, NID_subject_key_identifier,
                  "hash");
    if (issuer == NULL) {
        add_extension(credential.cert, credential.cert, NID_basic_constraints,
                      "critical,CA:TRUE");
        add_extension(credential.cert, credential.cert, NID_key_usage,
                      "critical,keyCertSign,cRLSign");
    }
    else {
        add_extension(credential.cert, issuer_cert,
                      NID_authority_key_identifier, "keyid");
        add_extension(credential.cert, issuer_cert, NID_subject_alt_name,
                      "DNS:" TEST_HOST);
        add_extension(credential.cert, issuer_cert, NID_ext_key_usage,
                      "serverAuth");
    }
    require(X509_sign(credential.cert, issuer_key, EVP_sha256()) > 0,
            "certificate signature");
    return credential;
}

static void free_credential(credential_t *credential)
{
    X509_free(credential->cert);
    EVP_PKEY_free(credential->key);
}

static void write_ca_file(const credential_t *authority)
{
    int fd;
    FILE *file;

    strcpy(ca_file, "/tmp/mto-http-test-ca-XXXXXX");
    fd = mkstemp(ca_file);
    require(fd >= 0, "temporary CA file");
    file = fdopen(fd, "w");
    require(file != NULL, "temporary CA file");
    require(PEM_write_X509(file, authority->cert) == 1, "CA certificate");
    require(fclose(file) == 0, "temporary CA file");
}

static void make_credentials(void)
{
    ca = make_credential("mto test CA", NULL);
    server_credential = make_credential(TEST_HOST, &ca);
    rogue_ca = make_credential("mto rogue CA", NULL);
    rogue_credential = make_credential(TEST_HOST, &rogue_ca);
    write_ca_file(&ca);
}

static void free_credentials(void)
{
    unlink(ca_file);
    free_credential(&rogue_credential);
    free_credential(&rogue_ca);
    free_credential(&server_credential);
    free_credential(&ca);
}

static SSL_CTX *make_server_context(const credential_t *credential)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, credential->cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, credential->key), 1);
    return ctx;
}

/* Test servers */

/* Returns a socket bound to 127.0.0.1 on a free port, and the port. */
static int bind_loopback(int *port)
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    int enable = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable));
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)),
                     0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length),
                     0);
    *port = ntohs(address.sin_port);
    return fd;
}

/* Waits until the peer closes fd (or sends data) or the server stops. */
static void wait_for_peer(server_t *server, int fd)
{
    struct pollfd watched = { fd, POLLIN, 0 };

    while (!atomic_load(&server->stop)) {
        if (poll(&watched, 1, POLL_INTERVAL_MS) > 0) {
            return;
        }
    }
}

static void send_text(SSL *ssl, const char *text)
{
    SSL_write(ssl, text, (int)strlen(text));
}

static void send_response(SSL *ssl, const char *status, const char *headers,
                          const char *body)
{
    char head[1024];

    snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n%sContent-Length: %lu\r\n"
             "Connection: close\r\n\r\n", status, headers,
             (unsigned long)strlen(body));
    send_text(ssl, head);
    send_text(ssl, body);
}

/* Cache-Control cases served at /cache/N, with the max_age expected. */
static const struct {
    const char *header_lines;
    long max_age;
} cache_cases[] = {
    { "Cache-Control: max-age=60\r\n", 60 },
    { "cache-control: MAX-AGE=61\r\n", 61 },
    { "Cache-Control: public, max-age=62, must-revalidate\r\n", 62 },
    { "Cache-Control: max-age=\"63\"\r\n", 63 },
    { "Cache-Control: s-maxage=10, max-age=64\r\n", 64 },
    { "Cache-Control: max-age=abc, max-age=65\r\n", 65 },
    { "Cache-Control: max-age=66\r\nCache-Control: max-age=99\r\n", 66 },
    { "Cache-Control: no-store\r\nCache-Control: max-age=67\r\n", 67 },
    { "Cache-Control: max-age=, max-age=-5, max-age=68\r\n", 68 },
    { "Cache-Control:max-age=69\r\n", 69 },
    { "Cache-Control: max-age=0\r\n", 0 },
    { "Cache-Control: max-age=99999999999999999999\r\n", 2147483647L },
    { "Cache-Control: max-age=12abc\r\n", -1 },
    { "Cache-Control: max-age =5\r\n", -1 },
    { "Cache-Control: no-cache=\"x, max-age=5\"\r\n", -1 },
    { "Cache-Control: no-store\r\n", -1 },
    { "X-Cache-Control: max-age=5\r\n", -1 },
    { "", -1 },
};

static void send_large_chunked(SSL *ssl)
{
    char chunk[LARGE_CHUNK];
    char size_line[16];
    int sent;

    memset(chunk, 'x', sizeof(chunk));
    snprintf(size_line, sizeof(size_line), "%x\r\n", LARGE_CHUNK);
    send_text(ssl, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
              "Connection: close\r\n\r\n");
    for (sent = 0; sent < LARGE_BODY; sent += LARGE_CHUNK) {
        send_text(ssl, size_line);
        if (SSL_write(ssl, chunk, LARGE_CHUNK) <= 0) {
            return;
        }
        send_text(ssl, "\r\n");
    }
    send_text(ssl, "0\r\n\r\n");
}

static void respond(server_t *server, SSL *ssl, int fd, const char *path,
                    const char *request)
{
    int index;

    if (strcmp(path, "/ok") == 0) {
        send_response(ssl, "200 OK", "Content-Type: application/json\r\n"
                      "Cache-Control: public, max-age=300\r\n",
                      "{\"hello\":\"world\"}");
    }
    else if (sscanf(path, "/cache/%d", &index) == 1 && index >= 0
             && index < COUNT(cache_cases)) {
        send_response(ssl, "200 OK", cache_cases[index].header_lines, "{}");
    }
    else if (strcmp(path, "/redirect") == 0) {
        char location[128];

        snprintf(location, sizeof(location), "Location: https://" TEST_HOST
                 ":%d/ok\r\n", server->port);
        send_response(ssl, "302 Found", location, "moved");
    }
    else if (strcmp(path, "/large") == 0) {
        send_large_chunked(ssl);
    }
    else if (strcmp(path, "/declared-large") == 0) {
        send_text(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"
                  "0123456789");
        wait_for_peer(server, fd);
    }
    else if (strcmp(path, "/continue") == 0) {
        send_text(ssl, "HTTP/1.1 100 Continue\r\n"
                  "Cache-Control: max-age=5\r\n\r\n");
        send_response(ssl, "200 OK", "", "{}");
    }
    else if (strcmp(path, "/hang") == 0) {
        wait_for_peer(server, fd);
    }
    else if (strcmp(path, "/echo") == 0) {
        send_response(ssl, "200 OK", "Content-Type: text/plain\r\n", request);
    }
    else {
        send_response(ssl, "404 Not Found", "", "not found");
    }
}

/* Reads one request (headers and a Content-Length body) into buffer. */
static int read_request(SSL *ssl, char *buffer)
{
    int length = 0;
    int expected = -1;

    while (length < REQUEST_MAX) {
        int got = SSL_read(ssl, buffer + length, REQUEST_MAX - length);
        char *end;

        if (got <= 0) {
            return 0;
        }
        length += got;
        buffer[length] = '\0';
        end = strstr(buffer, "\r\n\r\n");
        if (end != NULL && expected < 0) {
            const char *declared = strcasestr(buffer, "\r\nContent-Length:");

            expected = (int)(end + 4 - buffer);
            if (declared != NULL && declared < end) {
                expected += atoi(declared + 17);
            }
        }
        if (expected >= 0 && length >= expected) {
            return 1;
        }
    }
    return 0;
}

static void serve_tls(server_t *server, int fd)
{
    char request[REQUEST_MAX + 1];
    char path[256];
    SSL *ssl = SSL_new(server->ctx);

    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1 && read_request(ssl, request)) {
        pthread_mutex_lock(&server->lock);
        strcpy(server->request, request);
        pthread_mutex_unlock(&server->lock);
        if (sscanf(request, "%*s %255s", path) == 1) {
            respond(server, ssl, fd, path, request);
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(fd);
}

static void *serve(void *data)
{
    server_t *server = data;
    struct pollfd watched = { server->listener, POLLIN, 0 };
    struct timeval receive_timeout = { 5, 0 };

    while (!atomic_load(&server->stop)) {
        int fd;

        if (poll(&watched, 1, POLL_INTERVAL_MS) <= 0) {
            continue;
        }
        fd = accept(server->listener, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        atomic_fetch_add(&server->connections, 1);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout,
                   sizeof(receive_timeout));
        if (server->mode == SERVE_SILENT
            && server->silent_count < SILENT_CONNECTIONS_MAX) {
            server->silent_fds[server->silent_count++] = fd;
        }
        else if (server->mode == SERVE_SILENT) {
            close(fd);
        }
        else {
            serve_tls(server, fd);
        }
    }
    return NULL;
}

static void server_start(server_t *server, server_mode_t mode,
                         const credential_t *credential)
{
    memset(server, 0, sizeof(*server));
    server->mode = mode;
    server->ctx = credential ? make_server_context(credential) : NULL;
    server->listener = bind_loopback(&server->port);
    ck_assert_int_eq(listen(server->listener, 16), 0);
    pthread_mutex_init(&server->lock, NULL);
    ck_assert_int_eq(pthread_create(&server->thread, NULL, serve, server), 0);
}

static void server_stop(server_t *server)
{
    int i;

    atomic_store(&server->stop, 1);
    pthread_join(server->thread, NULL);
    for (i = 0; i < server->silent_count; i++) {
        close(server->silent_fds[i]);
    }
    close(server->listener);
    SSL_CTX_free(server->ctx);
    pthread_mutex_destroy(&server->lock);
}

static const char *last_request(server_t *server)
{
    const char *copy;

    pthread_mutex_lock(&server->lock);
    copy = apr_pstrdup(pool, server->request);
    pthread_mutex_unlock(&server->lock);
    return copy;
}

static const char *server_url(const server_t *server, const char *path)
{
    return apr_psprintf(pool, "https://" TEST_HOST ":%d%s", server->port,
                        path);
}

/* Fixture */

static void setup(void)
{
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    server_start(&tls_server, SERVE_TLS, &server_credential);

    options.ca_file = ca_file;
    options.connect_timeout_ms = 2000;
    options.total_timeout_ms = 3000;
    options.max_body = MAX_BODY;
}

static void teardown(void)
{
    server_stop(&tls_server);
    apr_pool_destroy(pool);
}

static apr_status_t get(const char *url, mto_http_response_t *response,
                        mto_error_t *err)
{
    memset(err, 0, sizeof(*err));
    return mto_http_get(pool, &options, url, response, err);
}

/* Tests */

START_TEST(get_returns_body)
{
    mto_http_response_t response;
    mto_error_t err;
    const char *request;

    ck_assert_int_eq(get(server_url(&tls_server, "/ok"), &response, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.body, "{\"hello\":\"world\"}");
    ck_assert_int_eq(response.length, strlen("{\"hello\":\"world\"}"));
    ck_assert_int_eq(response.max_age, 300);

    request = last_request(&tls_server);
    ck_assert_ptr_nonnull(strstr(request, "GET /ok HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(request, "\r\nAccept: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(request,
                                 "\r\nUser-Agent: mod_multitenant_oidc/"));
}
END_TEST

START_TEST(get_reads_max_age)
{
    mto_http_response_t response;
    mto_error_t err;
    const char *path = apr_psprintf(pool, "/cache/%d", _i);

    ck_assert_int_eq(get(server_url(&tls_server, path), &response, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(response.status, 200);
    ck_assert_msg(response.max_age == cache_cases[_i].max_age,
                  "max_age %ld, expected %ld for headers \"%s\"",
                  response.max_age, cache_cases[_i].max_age,
                  cache_cases[_i].header_lines);
}
END_TEST

START_TEST(max_age_of_interim_response_ignored)
{
    mto_http_response_t response;
    mto_error_t err;

    ck_assert_int_eq(get(server_url(&tls_server, "/continue"), &response,
                         &err), APR_SUCCESS);
    ck_assert_int_eq(response.status, 200);
    ck_assert_int_eq(response.max_age, -1);
}
END_TEST

START_TEST(get_returns_error_status)
{
    mto_http_response_t response;
    mto_error_t err;

    ck_assert_int_eq(get(server_url(&tls_server, "/missing"), &response,
                         &err), APR_SUCCESS);
    ck_assert_int_eq(response.status, 404);
    ck_assert_str_eq(response.body, "not found");
    ck_assert_int_eq(response.max_age, -1);
}
END_TEST

START_TEST(redirect_not_followed)
{
    mto_http_response_t response;
    mto_error_t err;

    ck_assert_int_eq(get(server_url(&tls_server, "/redirect"), &response,
                         &err), APR_SUCCESS);
    ck_assert_int_eq(response.status, 302);
    ck_assert_str_eq(response.body, "moved");
    ck_assert_int_eq(atomic_load(&tls_server.connections), 1);
    ck_assert_ptr_nonnull(strstr(last_request(&tls_server),
                                 "GET /redirect HTTP/1.1\r\n"));
}
END_TEST

START_TEST(http_url_rejected)
{
    server_t plain;
    mto_http_response_t response;
    mto_error_t err;
    apr_status_t rv;

    server_start(&plain, SERVE_SILENT, NULL);
    rv = get(apr_psprintf(pool, "http://" TEST_HOST ":%d/ok", plain.port),
             &response, &err);
    /* Give a connection that should not exist time to reach accept(). */
    apr_sleep(apr_time_from_msec(200));
    server_stop(&plain);

    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_ptr_nonnull(strstr(err.text, "only https is allowed"));
    ck_assert_int_eq(atomic_load(&plain.connections), 0);
}
END_TEST

START_TEST(invalid_url_rejected)
{
    mto_http_response_t response;
    mto_error_t err;

    ck_assert_int_eq(get("not a url", &response, &err), APR_EINVAL);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_int_eq(get("https://", &response, &err), APR_EINVAL);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_int_eq(get("ftp://" TEST_HOST "/", &response, &err),
                     APR_EINVAL);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_int_eq(atomic_load(&tls_server.connections), 0);
}
END_TEST

START_TEST(body_over_max_fails)
{
    mto_http_response_t response;
    mto_error_t err;

    ck_assert_int_ne(get(server_url(&tls_server, "/large"), &response, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_ptr_nonnull(strstr(err.text, "larger than the maximum of "
                                 "4096 bytes"));
    ck_assert_ptr_null(response.body);
}
END_TEST

START_TEST(body_at_max_succeeds)
{
    mto_http_response_t response;
    mto_error_t err;

    options.max_body = LARGE_BODY;
    ck_assert_int_eq(get(server_url(&tls_server, "/large"), &response, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(response.status, 200);
    ck_assert_int_eq(response.length, LARGE_BODY);
    ck_assert_int_eq(strlen(response.body), LARGE_BODY);
}
END_TEST

START_TEST(declared_length_rejected_early)
{
    mto_http_response_t response;
    mto_error_t err;
    apr_time_t start = apr_time_now();

    /* The server sends 10 of 1000000 declared bytes and then waits, so
     * only a check of Content-Length ends the request before the timeout. */
    ck_assert_int_ne(get(server_url(&tls_server, "/declared-large"),
                         &response, &err), APR_SUCCESS);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_msec(1500));
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_ptr_nonnull(strstr(err.text, "larger than the maximum"));
}
END_TEST

START_TEST(silent_server_times_out)
{
    server_t silent;
    mto_http_response_t response;
    mto_error_t err;
    apr_time_t start;
    apr_status_t rv;

    server_start(&silent, SERVE_SILENT, NULL);
    options.total_timeout_ms = 500;
    start = apr_time_now();
    rv = get(apr_psprintf(pool, "https://" TEST_HOST ":%d/ok", silent.port),
             &response, &err);
    server_stop(&silent);

    ck_assert_int_eq(rv, APR_TIMEUP);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_ptr_nonnull(strstr(err.text, "timed out"));
    ck_assert_int_ge(atomic_load(&silent.connections), 1);
    ck_assert_int_lt(apr_time_now() - start, apr_time_from_msec(2000));
}
END_TEST

START_TEST(unanswered_request_times_out)
{
    mto_http_response_t response;
    mto_error_t err;

    options.total_timeout_ms = 500;
    ck_assert_int_eq(get(server_url(&tls_server, "/hang"), &response, &err),
                     APR_TIMEUP);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_ptr_nonnull(strstr(last_request(&tls_server), "GET /hang "));
}
END_TEST

START_TEST(connection_refused)
{
    mto_http_response_t response;
    mto_error_t err;
    int port;
    int fd = bind_loopback(&port);

    /* The port stays bound without listen(), so connecting is refused. */
    ck_assert_int_ne(get(apr_psprintf(pool, "https://" TEST_HOST ":%d/ok",
                                      port), &response, &err), APR_SUCCESS);
    close(fd);
    ck_assert_int_eq(err.http_status, 503);
    ck_assert_ptr_nonnull(strstr(err.text, apr_psprintf(pool, TEST_HOST
                                                        ":%d", port)));
}
END_TEST

START_TEST(untrusted_certificate)
{
    server_t rogue;
    mto_http_response_t response;
    mto_error_t err;
    apr_status_t rv;

    server_start(&rogue, SERVE_TLS, &rogue_credential);
    rv = get(server_url(&rogue, "/ok?code=secret-value"), &response, &err);
    server_stop(&rogue);

    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_ptr_nonnull(strstr(err.text, apr_psprintf(pool, TEST_HOST
                                                        ":%d", rogue.port)));
    ck_assert_ptr_null(strstr(err.text, "secret-value"));
    ck_assert_ptr_null(strstr(err.text, "/ok"));
    ck_assert_int_eq(atomic_load(&rogue.connections), 1);
    ck_assert_str_eq(rogue.request, "");
}
END_TEST

START_TEST(trusted_server_needs_ca_file)
{
    mto_http_response_t response;
    mto_error_t err;

    /* The system store does not hold the test CA. */
    options.ca_file = NULL;
    ck_assert_int_ne(get(server_url(&tls_server, "/ok"), &response, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(err.http_status, 502);
}
END_TEST

START_TEST(post_form_encodes_and_authenticates)
{
    apr_table_t *form = apr_table_make(pool, 4);
    mto_http_response_t response;
    mto_error_t err;

    apr_table_add(form, "grant_type", "authorization_code");
    apr_table_add(form, "code", "a b&c=d");
    apr_table_add(form, "redirect_uri",
                  "https://acme.example.com/hub/oauth_callback");
    ck_assert_int_eq(mto_http_post_form(pool, &options,
                                        server_url(&tls_server, "/echo"),
                                        form, "client", "s3cret", &response,
                                        &err), APR_SUCCESS);
    ck_assert_int_eq(response.status, 200);
    ck_assert_ptr_nonnull(strstr(response.body, "POST /echo HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(response.body, "\r\nContent-Type: "
                                 "application/x-www-form-urlencoded\r\n"));
    ck_assert_ptr_nonnull(strstr(response.body, "\r\nAccept: "
                                 "application/json\r\n"));
    /* base64 of "client:s3cret" */
    ck_assert_ptr_nonnull(strstr(response.body, "\r\nAuthorization: Basic "
                                 "Y2xpZW50OnMzY3JldA==\r\n"));
    ck_assert_ptr_nonnull(strstr(response.body, "\r\n\r\n"
                                 "grant_type=authorization_code"
                                 "&code=a%20b%26c%3Dd"
                                 "&redirect_uri=https%3A%2F%2Facme.example"
                                 ".com%2Fhub%2Foauth_callback"));
}
END_TEST

START_TEST(post_form_without_authentication)
{
    apr_table_t *form = apr_table_make(pool, 1);
    mto_http_response_t response;
    mto_error_t err;

    apr_table_add(form, "client_id", "public client");
    ck_assert_int_eq(mto_http_post_form(pool, &options,
                                        server_url(&tls_server, "/echo"),
                                        form, NULL, NULL, &response, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(strcasestr(response.body, "\r\nAuthorization:"));
    ck_assert_ptr_nonnull(strstr(response.body,
                                 "\r\n\r\nclient_id=public%20client"));
}
END_TEST

START_TEST(post_form_rejects_http)
{
    apr_table_t *form = apr_table_make(pool, 1);
    mto_http_response_t response;
    mto_error_t err;

    apr_table_add(form, "code", "x");
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(mto_http_post_form(pool, &options,
                                        apr_psprintf(pool, "http://" TEST_HOST
                                                     ":%d/echo",
                                                     tls_server.port),
                                        form, "client", "s3cret", &response,
                                        &err), APR_EINVAL);
    ck_assert_int_eq(err.http_status, 502);
    ck_assert_ptr_null(strstr(err.text, "s3cret"));
    ck_assert_int_eq(atomic_load(&tls_server.connections), 0);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("client");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, get_returns_body);
    tcase_add_loop_test(tc, get_reads_max_age, 0, COUNT(cache_cases));
    tcase_add_test(tc, max_age_of_interim_response_ignored);
    tcase_add_test(tc, get_returns_error_status);
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, http_url_rejected);
    tcase_add_test(tc, invalid_url_rejected);
    tcase_add_test(tc, body_over_max_fails);
    tcase_add_test(tc, body_at_max_succeeds);
    tcase_add_test(tc, declared_length_rejected_early);
    tcase_add_test(tc, silent_server_times_out);
    tcase_add_test(tc, unanswered_request_times_out);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, untrusted_certificate);
    tcase_add_test(tc, trusted_server_needs_ca_file);
    tcase_add_test(tc, post_form_encodes_and_authenticates);
    tcase_add_test(tc, post_form_without_authentication);
    tcase_add_test(tc, post_form_rejects_http);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner;
    int failed;

    /* A client that stops reading must not kill the server with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    apr_initialize();
    if (mto_http_global_init() != APR_SUCCESS) {
        fprintf(stderr, "libcurl initialisation failed\n");
        return EXIT_FAILURE;
    }
    make_credentials();
    runner = srunner_create(http_suite());
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    free_credentials();
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
