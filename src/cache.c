/*
 * The shared cache: one ap_socache provider instance for the whole server,
 * selected by the cache directive in the main server configuration.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_global_mutex.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include "mto_cache.h"
#include "mto_config.h"
#include "mto_crypto.h"

#define MTO_CACHE_MUTEX "mto-cache"
#define MTO_CACHE_DEFAULT_PROVIDER "shmcb"

/* Entries larger than this are never stored, so retrieval needs no more. */
#define MTO_CACHE_VALUE_MAX (1024 * 1024)

/* First guess for a retrieval buffer; most entries are far smaller. */
#define MTO_CACHE_VALUE_GUESS 8192

/* Maximum length of a key passed to the provider as it is; memcached accepts at most
 * 250 bytes. A longer key is replaced by its prefix and SHA-256. */
#define MTO_CACHE_KEY_MAX 200

/* Shortest lifetime given to the provider. memcache and redis count in
 * whole seconds, and memcached reads 0 as "never expires", so a store
 * that would end within a second gets this much instead. Entries that
 * need a shorter life carry their own times (see src/resolve.c). */
#define MTO_CACHE_EXPIRY_MIN apr_time_from_sec(2)

typedef struct {
    const char *provider_name;
    const char *provider_args;
    int spread_first_byte;      /* the provider shards by the key's first byte */
    ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
} cache_state;

static cache_state cache;

apr_status_t mto_cache_pre_config(apr_pool_t *pconf)
{
    return ap_mutex_register(pconf, MTO_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT,
                             0);
}

const char *mto_cache_configure(apr_pool_t *pconf, const char *spec)
{
    const char *sep = ap_strchr_c(spec, ':');
    const char *name;

    name = sep ? apr_pstrmemdup(pconf, spec, sep - spec) : spec;
    cache.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                        AP_SOCACHE_PROVIDER_VERSION);
    if (cache.provider == NULL) {
        return apr_psprintf(pconf, MTO_DIR_CACHE ": unknown cache provider "
                            "'%s'; load its module (mod_socache_%s) first",
                            name, name);
    }
    cache.provider_name = name;
    cache.spread_first_byte = strcmp(name, "shmcb") == 0;
    cache.provider_args = sep ? apr_pstrdup(pconf, sep + 1) : NULL;
    return NULL;
}

static apr_status_t cache_destroy(void *data)
{
    server_rec *s = data;

    if (cache.instance != NULL) {
        cache.provider->destroy(cache.instance, s);
        cache.instance = NULL;
    }
    cache.provider = NULL;
    cache.mutex = NULL;
    return APR_SUCCESS;
}

apr_status_t mto_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                   server_rec *s)
{
    struct ap_socache_hints hints = {0};
    const char *errmsg;
    apr_status_t rv;

    if (cache.provider == NULL) {
        errmsg = mto_cache_configure(pconf, MTO_CACHE_DEFAULT_PROVIDER);
        if (errmsg != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "MTO0001: %s", errmsg);
            return APR_EGENERAL;
        }
    }

    errmsg = cache.provider->create(&cache.instance, cache.provider_args,
                                    ptemp, pconf);
    if (errmsg != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "MTO0002: " MTO_DIR_CACHE " %s: %s",
                     cache.provider_name, errmsg);
        return APR_EGENERAL;
    }

    if (cache.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache.mutex, NULL, MTO_CACHE_MUTEX,
                                    NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "MTO0003: cannot create the cache mutex");
            return rv;
        }
    }

    /* shmcb makes one index slot per (avg_id_len + avg_obj_size) bytes of
     * its size. The hints estimate the module's entries: keys of a few
     * dozen bytes, values of 1 byte (markers) to about 500 (tenant
     * records, sessions, key sets). */
    hints.avg_id_len = 48;
    hints.avg_obj_size = 256;
    hints.expiry_interval = 60;
    rv = cache.provider->init(cache.instance, "mto", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "MTO0004: cannot initialise cache provider %s",
                     cache.provider_name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void mto_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (cache.mutex == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&cache.mutex,
                                     apr_global_mutex_lockfile(cache.mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "MTO0005: cannot reopen the cache mutex in a child");
    }
}

static apr_status_t cache_lock(void)
{
    return cache.mutex ? apr_global_mutex_lock(cache.mutex) : APR_SUCCESS;
}

static void cache_unlock(void)
{
    if (cache.mutex != NULL) {
        apr_global_mutex_unlock(cache.mutex);
    }
}

/* Returns the key passed to the provider for key. */
/*
 * Returns a byte from 1 to 255 that depends on every byte of key (FNV-1a),
 * never 0, so the key stays a C string.
 */
static char spread_byte(const char *key)
{
    apr_uint32_t hash = 2166136261u;

    for (; *key; key++) {
        hash = (hash ^ (unsigned char)*key) * 16777619u;
    }
    return (char)(hash % 255 + 1);
}

/*
 * Maps a module key to the key given to the provider. A key longer than
 * MTO_CACHE_KEY_MAX is replaced by its prefix and SHA-256. shmcb picks
 * the subcache of an entry from the first byte of its key alone, and the
 * module's keys start with one of a few prefix letters. For shmcb, each
 * key therefore starts with a byte hashed from the whole key, because the
 * entries would otherwise share a handful of subcaches.
 */
static const char *provider_key(apr_pool_t *pool, const char *key)
{
    const char *colon;
    char *spread;
    apr_size_t length;

    if (strlen(key) > MTO_CACHE_KEY_MAX) {
        colon = ap_strchr_c(key, ':');
        key = apr_pstrcat(pool, colon
                                ? apr_pstrmemdup(pool, key, colon - key + 1)
                                : "", "#", mto_sha256_hex(pool, key), NULL);
    }
    if (!cache.spread_first_byte) {
        return key;
    }
    length = strlen(key);
    spread = apr_palloc(pool, length + 2);
    spread[0] = spread_byte(key);
    memcpy(spread + 1, key, length + 1);
    return spread;
}

static apr_time_t provider_expiry(apr_time_t expiry)
{
    apr_time_t floor = apr_time_now() + MTO_CACHE_EXPIRY_MIN;

    return expiry < floor ? floor : expiry;
}

static apr_status_t cache_retrieve(server_rec *s, apr_pool_t *pool,
                                   const char *key, unsigned char *buffer,
                                   unsigned int *length)
{
    apr_status_t rv = cache_lock();

    if (rv != APR_SUCCESS) {
        return rv;
    }
    key = provider_key(pool, key);
    rv = cache.provider->retrieve(cache.instance, s,
                                  (const unsigned char *)key,
                                  (unsigned int)strlen(key), buffer, length,
                                  pool);
    cache_unlock();
    return rv;
}

apr_status_t mto_cache_get(server_rec *s, apr_pool_t *pool, const char *key,
                           char **value, apr_size_t *length)
{
    unsigned int size = MTO_CACHE_VALUE_GUESS;
    unsigned int got;
    unsigned char *buffer;
    apr_status_t rv;

    if (cache.instance == NULL) {
        return APR_ENOTIMPL;
    }

    /* A provider returns APR_ENOSPC when the buffer is too small. */
    for (;;) {
        buffer = apr_palloc(pool, size + 1);
        got = size;
        rv = cache_retrieve(s, pool, key, buffer, &got);
        if (rv != APR_ENOSPC || size == MTO_CACHE_VALUE_MAX) {
            break;
        }
        size = MTO_CACHE_VALUE_MAX;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    buffer[got] = '\0';
    *value = (char *)buffer;
    *length = got;
    return APR_SUCCESS;
}

/*
 * Checks that a value of length bytes may be stored, maps *key to the
 * provider's key and takes the cache lock. On APR_SUCCESS the caller
 * stores and then calls cache_unlock.
 */
static apr_status_t store_begin(apr_pool_t *pool, const char **key,
                                apr_size_t length)
{
    if (cache.instance == NULL) {
        return APR_ENOTIMPL;
    }
    if (length > MTO_CACHE_VALUE_MAX) {
        return APR_ENOSPC;
    }
    *key = provider_key(pool, *key);
    return cache_lock();
}

apr_status_t mto_cache_set(server_rec *s, apr_pool_t *pool, const char *key,
                           const char *value, apr_size_t length,
                           apr_time_t expiry)
{
    apr_status_t rv = store_begin(pool, &key, length);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = cache.provider->store(cache.instance, s, (const unsigned char *)key,
                               (unsigned int)strlen(key),
                               provider_expiry(expiry),
                               (unsigned char *)value, (unsigned int)length,
                               pool);
    cache_unlock();
    return rv;
}

apr_status_t mto_cache_add(server_rec *s, apr_pool_t *pool, const char *key,
                           const char *value, apr_size_t length,
                           apr_time_t expiry)
{
    unsigned char probe[MTO_CACHE_VALUE_GUESS];
    unsigned int got = sizeof(probe);
    apr_status_t rv = store_begin(pool, &key, length);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = cache.provider->retrieve(cache.instance, s,
                                  (const unsigned char *)key,
                                  (unsigned int)strlen(key), probe, &got,
                                  pool);
    /* APR_ENOSPC: an entry too large for the probe exists. */
    if (rv == APR_SUCCESS || rv == APR_ENOSPC) {
        rv = APR_EEXIST;
    }
    else if (rv == APR_NOTFOUND) {
        rv = cache.provider->store(cache.instance, s,
                                   (const unsigned char *)key,
                                   (unsigned int)strlen(key),
                                   provider_expiry(expiry),
                                   (unsigned char *)value,
                                   (unsigned int)length, pool);
    }
    cache_unlock();
    return rv;
}

apr_status_t mto_cache_take(server_rec *s, apr_pool_t *pool,
                            const char *key)
{
    apr_status_t rv = store_begin(pool, &key, 0);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* shmcb, memcache and redis all report a missing key as
     * APR_NOTFOUND here, and each removes a key in one step. */
    rv = cache.provider->remove(cache.instance, s,
                                (const unsigned char *)key,
                                (unsigned int)strlen(key), pool);
    cache_unlock();
    return rv;
}

apr_status_t mto_cache_remove(server_rec *s, apr_pool_t *pool,
                              const char *key)
{
    apr_status_t rv = mto_cache_take(s, pool, key);

    return (rv == APR_NOTFOUND) ? APR_SUCCESS : rv;
}
