/*
 * Prints a session cookie value for the benchmark, so that a load
 * generator can send signed-in requests without a browser or a provider.
 * The session record is encoded and sealed with the module's own code
 * (src/record.c and src/crypto.c). The binding ("session\n" and the tenant
 * host) and the length of the random session id are those the module uses
 * when it seals a session after a callback.
 *
 * Usage:
 *   mint-session PASSPHRASE_FILE HOST SUB ISSUER LIFETIME_SECONDS [COUNT]
 *
 * COUNT (default 1) cookies are printed, one a line, each a new session
 * with its own random id. The user name is SUB@HOST, the module's default
 * user format. The passphrase is read from a file, never from the command
 * line, and is read the way the module reads MTOIDCPassphraseFile:
 * trailing white space is dropped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "mto_crypto.h"
#include "mto_record.h"

/* Same limits as the module's passphrase directives. */
#define PASSPHRASE_FILE_MAX 4096
#define PASSPHRASE_MIN 16

/* Random bytes in a session id, as the callback makes them. */
#define SESSION_ID_BYTES 16

/* Maximum lifetime, in seconds (one year). */
#define LIFETIME_MAX (365 * 24 * 3600)

/* Maximum number of cookies printed by one run. */
#define COUNT_MAX 1000000

typedef struct {
    const char *host;
    const char *sub;
    const char *issuer;
    apr_int64_t lifetime;       /* seconds */
    apr_int64_t count;          /* cookies to print */
} mint_request;

static void usage(void)
{
    fprintf(stderr, "usage: mint-session PASSPHRASE_FILE HOST SUB ISSUER "
            "LIFETIME_SECONDS [COUNT]\n");
}

/* Reads the passphrase into buffer. Returns 0 on success, else 1 after
 * printing why. */
static int read_passphrase(const char *path, char *buffer, size_t size)
{
    FILE *file = fopen(path, "rb");
    size_t length;

    if (file == NULL) {
        fprintf(stderr, "mint-session: failed to open '%s': %s\n", path,
                strerror(errno));
        return 1;
    }
    length = fread(buffer, 1, size - 1, file);
    if (ferror(file) || !feof(file)) {
        fprintf(stderr, "mint-session: failed to read '%s', or it is "
                "larger than %d bytes\n", path, PASSPHRASE_FILE_MAX);
        fclose(file);
        return 1;
    }
    fclose(file);
    while (length > 0 && isspace((unsigned char)buffer[length - 1])) {
        length--;
    }
    buffer[length] = '\0';
    if (strlen(buffer) != length || length < PASSPHRASE_MIN) {
        fprintf(stderr, "mint-session: '%s' must contain a passphrase of "
                "at least %d bytes with no NUL byte\n", path,
                PASSPHRASE_MIN);
        return 1;
    }
    return 0;
}

/* Parses a whole number from 1 to max into value. Returns 0 on success,
 * else 1 after printing why. */
static int parse_number(const char *what, const char *text, apr_int64_t max,
                        apr_int64_t *value)
{
    char *end;

    errno = 0;
    *value = apr_strtoi64(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || *value < 1
        || *value > max) {
        fprintf(stderr, "mint-session: invalid %s '%s'; give a whole "
                "number from 1 to %" APR_INT64_T_FMT "\n", what, text, max);
        return 1;
    }
    return 0;
}

/* Seals one new session of user SUB@HOST with key. Returns the cookie
 * value, or NULL after printing why. */
static const char *seal_session(apr_pool_t *pool, const mto_key_t *key,
                                const mint_request *request)
{
    mto_session_t session = {0};
    const char *plain;
    const char *sealed;

    session.id = mto_random_text(pool, SESSION_ID_BYTES);
    session.host = request->host;
    session.sub = request->sub;
    session.issuer = request->issuer;
    session.user = apr_pstrcat(pool, session.sub, "@", session.host, NULL);
    session.created = apr_time_now();
    session.expires = session.created + apr_time_from_sec(request->lifetime);

    plain = mto_session_encode(pool, &session);
    if (plain == NULL) {
        fprintf(stderr, "mint-session: failed to encode the session "
                "record; check that HOST, SUB and ISSUER are non-empty "
                "and valid UTF-8\n");
        return NULL;
    }
    sealed = mto_seal(pool, key, apr_pstrcat(pool, "session\n",
                                             session.host, NULL),
                      plain, strlen(plain));
    if (sealed == NULL) {
        fprintf(stderr, "mint-session: sealing the record failed in "
                "OpenSSL\n");
    }
    return sealed;
}

/* Prints request->count cookie values, one a line. Returns 0 on
 * success. */
static int mint(apr_pool_t *pool, const char *passphrase,
                const mint_request *request)
{
    apr_pool_t *scratch;
    mto_key_t key;
    apr_int64_t i;
    int status = 0;

    /* PBKDF2 is slow on purpose, so the key is derived once for all. */
    if (mto_key_derive(passphrase, &key) != APR_SUCCESS) {
        fprintf(stderr, "mint-session: key derivation failed\n");
        return 1;
    }
    apr_pool_create(&scratch, pool);
    for (i = 0; i < request->count && status == 0; i++) {
        const char *sealed = seal_session(scratch, &key, request);

        if (sealed == NULL || printf("%s\n", sealed) < 0) {
            status = 1;
        }
        apr_pool_clear(scratch);
    }
    mto_wipe(&key, sizeof(key));
    return status;
}

int main(int argc, char **argv)
{
    char passphrase[PASSPHRASE_FILE_MAX + 2];
    mint_request request;
    apr_pool_t *pool;
    int status;

    if (argc != 6 && argc != 7) {
        usage();
        return 2;
    }
    request.host = argv[2];
    request.sub = argv[3];
    request.issuer = argv[4];
    request.count = 1;
    if (read_passphrase(argv[1], passphrase, sizeof(passphrase)) != 0
        || parse_number("lifetime", argv[5], LIFETIME_MAX,
                        &request.lifetime) != 0
        || (argc == 7 && parse_number("count", argv[6], COUNT_MAX,
                                      &request.count) != 0)) {
        return 1;
    }
    apr_initialize();
    apr_pool_create(&pool, NULL);
    status = mint(pool, passphrase, &request);
    mto_wipe(passphrase, sizeof(passphrase));
    apr_pool_destroy(pool);
    apr_terminate();
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mint-session: writing the output failed\n");
        status = 1;
    }
    return status;
}
