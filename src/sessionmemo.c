/*
 * The opened-session memo: a direct-mapped table of MEMO_SLOTS entries
 * per process, indexed by a hash of the sealed text and the host, behind
 * one thread mutex. An entry also records the server configuration and
 * its current key, so a record opened for one virtual host is never
 * reused by another with a different key. Each entry is one malloc block
 * that is freed when another record takes its slot.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "mto_sessionmemo.h"

/* Slots in the table; a busy server keeps its active sessions in it. */
#define MEMO_SLOTS 4096

/* Longer sealed records are opened every time instead. */
#define MEMO_SEALED_MAX 1024

typedef struct {
    apr_uint64_t hash;
    const mto_config_t *conf;
    unsigned char key[MTO_KEY_LENGTH];
    apr_size_t sealed_length;
    char *sealed;
    char *host;
    mto_session_t session;      /* strings point into the same block */
    apr_size_t strings_length;  /* bytes from session.id to the end */
} memo_entry;

static apr_thread_mutex_t *memo_mutex;
static apr_uint64_t memo_seed;
static memo_entry *memo_slots[MEMO_SLOTS];

static apr_status_t memo_clear(void *data)
{
    int i;

    for (i = 0; i < MEMO_SLOTS; i++) {
        if (memo_slots[i] != NULL) {
            OPENSSL_cleanse(memo_slots[i]->key, MTO_KEY_LENGTH);
            free(memo_slots[i]);
            memo_slots[i] = NULL;
        }
    }
    memo_mutex = NULL;
    return APR_SUCCESS;
}

void mto_session_memo_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    rv = apr_thread_mutex_create(&memo_mutex, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "MTO0060: cannot create the session memo mutex; "
                     "every session cookie will be opened in full");
        memo_mutex = NULL;
        return;
    }
    if (RAND_bytes((unsigned char *)&memo_seed, sizeof(memo_seed)) != 1) {
        memo_seed = (apr_uint64_t)apr_time_now();
    }
    apr_pool_cleanup_register(pchild, NULL, memo_clear,
                              apr_pool_cleanup_null);
}

/* FNV-1a over the sealed text, eight bytes a step, and the host, from a
 * random per-process start, so a client cannot aim its cookies at another
 * browser's slot or entry. */
static apr_uint64_t memo_hash(const char *sealed, apr_size_t length,
                              const char *host)
{
    apr_uint64_t hash = APR_UINT64_C(14695981039346656037) ^ memo_seed;
    apr_uint64_t word;
    apr_size_t i;

    for (i = 0; i + sizeof(word) <= length; i += sizeof(word)) {
        memcpy(&word, sealed + i, sizeof(word));
        hash = (hash ^ word) * APR_UINT64_C(1099511628211);
    }
    for (; i < length; i++) {
        hash = (hash ^ (unsigned char)sealed[i]) * APR_UINT64_C(1099511628211);
    }
    for (; *host; host++) {
        hash = (hash ^ (unsigned char)*host) * APR_UINT64_C(1099511628211);
    }
    return hash;
}

static int memo_matches(const memo_entry *entry, apr_uint64_t hash,
                        const mto_config_t *conf, const char *host,
                        const char *sealed, apr_size_t length)
{
    /* memcmp runs only after the 64-bit seeded hash matched, which a
     * client cannot arrange for a cookie it does not already hold, so its
     * timing shows nothing about another browser's cookie. */
    return entry != NULL && entry->hash == hash && entry->conf == conf
           && entry->sealed_length == length
           && memcmp(entry->key, conf->keys[0].bytes, MTO_KEY_LENGTH) == 0
           && memcmp(entry->sealed, sealed, length) == 0
           && strcmp(entry->host, host) == 0;
}

/* Sets the string pointers of copy, a struct copy of session, to the same
 * offsets in strings, a copy of the block of session's strings. */
static void session_rebase(mto_session_t *copy, const mto_session_t *session,
                           const char *strings)
{
    const char *start = session->id;

    copy->id = strings;
    copy->user = strings + (session->user - start);
    copy->sub = strings + (session->sub - start);
    copy->issuer = strings + (session->issuer - start);
    copy->host = strings + (session->host - start);
}

mto_session_t *mto_session_memo_get(apr_pool_t *pool,
                                    const mto_config_t *conf,
                                    const char *host, const char *sealed)
{
    apr_size_t length = strlen(sealed);
    apr_uint64_t hash;
    const memo_entry *entry;
    mto_session_t *copy = NULL;

    if (memo_mutex == NULL || length > MEMO_SEALED_MAX) {
        return NULL;
    }
    hash = memo_hash(sealed, length, host);
    apr_thread_mutex_lock(memo_mutex);
    entry = memo_slots[hash % MEMO_SLOTS];
    if (memo_matches(entry, hash, conf, host, sealed, length)) {
        copy = apr_palloc(pool, sizeof(*copy));
        *copy = entry->session;
        session_rebase(copy, &entry->session,
                       apr_pmemdup(pool, entry->session.id,
                                   entry->strings_length));
    }
    apr_thread_mutex_unlock(memo_mutex);
    return copy;
}

/* Copies text to *at and returns where it was put. */
static char *memo_store(char **at, const char *text)
{
    char *start = *at;
    apr_size_t length = strlen(text) + 1;

    memcpy(start, text, length);
    *at += length;
    return start;
}

void mto_session_memo_put(const mto_config_t *conf, const char *host,
                          const char *sealed, const mto_session_t *session)
{
    apr_size_t length = strlen(sealed);
    apr_size_t size;
    apr_size_t slot;
    memo_entry *entry;
    char *at;

    if (memo_mutex == NULL || length > MEMO_SEALED_MAX) {
        return;
    }
    size = sizeof(*entry) + length + 1 + strlen(host) + 1
           + strlen(session->id) + 1 + strlen(session->user) + 1
           + strlen(session->sub) + 1 + strlen(session->issuer) + 1
           + strlen(session->host) + 1;
    entry = malloc(size);
    if (entry == NULL) {
        return;
    }
    entry->hash = memo_hash(sealed, length, host);
    entry->conf = conf;
    memcpy(entry->key, conf->keys[0].bytes, MTO_KEY_LENGTH);
    entry->sealed_length = length;
    at = (char *)(entry + 1);
    entry->sealed = memo_store(&at, sealed);
    entry->host = memo_store(&at, host);
    entry->session.id = memo_store(&at, session->id);
    entry->session.user = memo_store(&at, session->user);
    entry->session.sub = memo_store(&at, session->sub);
    entry->session.issuer = memo_store(&at, session->issuer);
    entry->session.host = memo_store(&at, session->host);
    entry->strings_length = (apr_size_t)(at - entry->session.id);
    entry->session.created = session->created;
    entry->session.expires = session->expires;

    slot = (apr_size_t)(entry->hash % MEMO_SLOTS);
    apr_thread_mutex_lock(memo_mutex);
    if (memo_slots[slot] != NULL) {
        OPENSSL_cleanse(memo_slots[slot]->key, MTO_KEY_LENGTH);
        free(memo_slots[slot]);
    }
    memo_slots[slot] = entry;
    apr_thread_mutex_unlock(memo_mutex);
}
