/*
 * Per-process cache of parsed JWK Sets, keyed by jwks_uri. The shared
 * cache contains the JWK Set text. This cache keeps the parsed keys of the
 * text last seen with its SHA-256 digest, so a callback parses the JSON
 * and imports the keys only when the text changed.
 *
 * Each parsed set lives in its own pool. A request holds a reference
 * until its pool is destroyed, and a replaced set is destroyed once no
 * request holds it. Every access to the table and the reference counts
 * takes the mutex, because the event and worker MPMs run requests in
 * threads.
 */
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "mto_config.h"
#include "mto_resolve.h"

/*
 * Maximum number of key sets kept per process. A parsed set takes at
 * least one 8 KiB pool, so the limit bounds the memory to about 8 MiB per
 * process. Sets beyond it are parsed for each request that needs them.
 */
#define KEYSET_MAX 1000

typedef struct {
    apr_pool_t *pool;
    const char *jwks_uri;
    const char *digest;         /* hex SHA-256 of the parsed text */
    mto_jwks_t *jwks;
    int references;             /* requests using jwks */
    int retired;                /* replaced, destroyed at 0 references */
} keyset;

static struct {
    apr_thread_mutex_t *mutex;
    apr_hash_t *table;          /* jwks_uri -> keyset */
} keysets;

void mto_keyset_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = apr_thread_mutex_create(&keysets.mutex,
                                              APR_THREAD_MUTEX_DEFAULT,
                                              pchild);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "MTO0410: cannot create the key set cache mutex, so "
                     "every callback parses its key set");
        keysets.mutex = NULL;
        return;
    }
    keysets.table = apr_hash_make(pchild);
}

/* Destroys set once it is replaced and unused; the caller holds the
 * mutex. */
static void keyset_collect(keyset *set)
{
    if (set->retired && set->references == 0) {
        apr_pool_destroy(set->pool);
    }
}

static apr_status_t keyset_release(void *data)
{
    keyset *set = data;

    apr_thread_mutex_lock(keysets.mutex);
    set->references--;
    keyset_collect(set);
    apr_thread_mutex_unlock(keysets.mutex);
    return APR_SUCCESS;
}

/* Takes a reference to set for the request; the caller holds the
 * mutex. */
static mto_jwks_t *keyset_acquire(request_rec *r, keyset *set)
{
    set->references++;
    apr_pool_cleanup_register(r->pool, set, keyset_release,
                              apr_pool_cleanup_null);
    return set->jwks;
}

/* Parses text into a new pool. Returns the set, or NULL with err set. */
static keyset *keyset_parse(const char *jwks_uri, const char *digest,
                            const char *text, apr_size_t length,
                            mto_error_t *err)
{
    apr_array_header_t *warnings;
    apr_pool_t *pool;
    keyset *set;

    /* An unmanaged pool has its own allocator, so creating and destroying
     * it needs no lock on a shared parent pool. */
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS) {
        mto_error_set(err, 500, "cannot allocate memory for a key set");
        return NULL;
    }
    set = apr_pcalloc(pool, sizeof(*set));
    set->pool = pool;
    set->jwks_uri = apr_pstrdup(pool, jwks_uri);
    set->digest = apr_pstrdup(pool, digest);
    if (mto_jwks_parse(pool, text, length, &set->jwks, &warnings, err)
        != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return NULL;
    }
    return set;
}

/* Puts set into the table in place of any older set of its URI, and
 * returns the set the request uses. */
static mto_jwks_t *keyset_install(request_rec *r, keyset *set)
{
    keyset *old;
    mto_jwks_t *jwks;

    apr_thread_mutex_lock(keysets.mutex);
    old = apr_hash_get(keysets.table, set->jwks_uri, APR_HASH_KEY_STRING);
    if (old != NULL && strcmp(old->digest, set->digest) == 0) {
        /* Another thread installed the same text first. */
        jwks = keyset_acquire(r, old);
        apr_thread_mutex_unlock(keysets.mutex);
        apr_pool_destroy(set->pool);
        return jwks;
    }
    if (old != NULL) {
        /* The table's key points into the old pool, so the entry is
         * removed before that pool can go. */
        apr_hash_set(keysets.table, old->jwks_uri, APR_HASH_KEY_STRING,
                     NULL);
        old->retired = 1;
        keyset_collect(old);
    }
    if (old != NULL || apr_hash_count(keysets.table) < KEYSET_MAX) {
        apr_hash_set(keysets.table, set->jwks_uri, APR_HASH_KEY_STRING, set);
    }
    else {
        set->retired = 1;
    }
    jwks = keyset_acquire(r, set);
    apr_thread_mutex_unlock(keysets.mutex);
    return jwks;
}

apr_status_t mto_keyset_get(request_rec *r, const char *jwks_uri,
                            const char *text, apr_size_t length,
                            mto_jwks_t **jwks, mto_error_t *err)
{
    apr_array_header_t *warnings;
    const char *digest;
    keyset *set;

    digest = keysets.mutex ? mto_sha256_hex(r->pool, text) : NULL;
    if (digest == NULL) {
        return mto_jwks_parse(r->pool, text, length, jwks, &warnings, err);
    }

    apr_thread_mutex_lock(keysets.mutex);
    set = apr_hash_get(keysets.table, jwks_uri, APR_HASH_KEY_STRING);
    if (set != NULL && strcmp(set->digest, digest) == 0) {
        *jwks = keyset_acquire(r, set);
        apr_thread_mutex_unlock(keysets.mutex);
        return APR_SUCCESS;
    }
    apr_thread_mutex_unlock(keysets.mutex);

    /* Parsing runs outside the mutex; two threads that parse the same
     * new text at once keep the first result. */
    set = keyset_parse(jwks_uri, digest, text, length, err);
    if (set == NULL) {
        return APR_EGENERAL;
    }
    mto_log(r, APLOG_DEBUG, 0, r->hostname, "MTO0411",
            "parsed the JWK Set %s into this process's key set cache",
            jwks_uri);
    *jwks = keyset_install(r, set);
    return APR_SUCCESS;
}
