/*
 * Shared cache over one ap_socache provider instance for the whole server
 * (shmcb by default, memcache or redis across nodes). Keys carry a short
 * namespace prefix, such as "t:" for tenants and "k:" for key sets.
 * A global mutex serialises access when the provider is not safe across
 * processes on its own.
 */
#ifndef MTO_CACHE_H
#define MTO_CACHE_H

#include <httpd.h>
#include <http_config.h>

/* Key prefix of the marker of a tenant whose information returned 404. */
#define MTO_GONE_PREFIX "g:"

/* Registers the cache mutex type; called from pre_config. */
apr_status_t mto_cache_pre_config(apr_pool_t *pconf);

/*
 * Selects the provider from a "name" or "name:arguments" spec, as given
 * to the cache directive. Returns NULL or an error message.
 */
const char *mto_cache_configure(apr_pool_t *pconf, const char *spec);

/* Creates the provider instance and the mutex; called from post_config. */
apr_status_t mto_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                   server_rec *s);

/* Reopens the mutex in a child process; called from child_init. */
void mto_cache_child_init(apr_pool_t *pchild, server_rec *s);

/*
 * Looks up key. On APR_SUCCESS *value is a NUL-terminated copy from pool
 * and *length its size. Returns APR_NOTFOUND for a missing or expired
 * entry, another status when the backend failed.
 */
apr_status_t mto_cache_get(server_rec *s, apr_pool_t *pool, const char *key,
                           char **value, apr_size_t *length);

/* Stores value under key until expiry (an absolute apr_time_t). */
apr_status_t mto_cache_set(server_rec *s, apr_pool_t *pool, const char *key,
                           const char *value, apr_size_t length,
                           apr_time_t expiry);

/*
 * Stores value under key only when no live entry exists, and returns
 * APR_EEXIST otherwise. The check and the store happen under the cache
 * mutex, so with a provider that needs the mutex (shmcb) two processes
 * can never both succeed. A provider safe on its own (memcache, redis)
 * gets no such lock, so there the check and the store are two steps.
 */
apr_status_t mto_cache_add(server_rec *s, apr_pool_t *pool, const char *key,
                           const char *value, apr_size_t length,
                           apr_time_t expiry);

/*
 * Removes key and returns APR_SUCCESS when an entry existed, or
 * APR_NOTFOUND when none did. The removal is one step in the backend
 * (under the cache mutex for shmcb, one DELETE or DEL for memcached and
 * redis), so of several processes or nodes that take the same key at once
 * only one succeeds.
 */
apr_status_t mto_cache_take(server_rec *s, apr_pool_t *pool,
                            const char *key);

/* Removes key; a missing key is not an error. */
apr_status_t mto_cache_remove(server_rec *s, apr_pool_t *pool,
                              const char *key);

#endif
