/*
 * Helpers shared by the fuzz targets: one APR pool per input whose
 * allocations AddressSanitizer can see, and property checks that abort
 * with a message, so libFuzzer records the input as a crash.
 */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "mto_error.h"

/*
 * Calls apr_initialize once and returns a pool that lives as long as the
 * process, for fixtures built once, such as the fixed JWK Set. Like the
 * input pool, it takes every allocation from malloc.
 */
apr_pool_t *fuzz_init(void);

/*
 * Creates the pool for one input. Until fuzz_input_pool_destroy, every
 * apr_palloc and apr_pcalloc on this pool is a separate malloc, so ASan
 * reports a read or write past the requested size. A normal APR pool
 * carves requests out of 8 KiB blocks, where such overflows go unseen.
 */
apr_pool_t *fuzz_input_pool_create(void);

/* Destroys the input pool, runs its cleanups and frees its allocations. */
void fuzz_input_pool_destroy(apr_pool_t *pool);

/* Returns a NUL-terminated copy of size bytes of data, in pool. */
char *fuzz_text(apr_pool_t *pool, const uint8_t *data, size_t size);

/*
 * Splits size bytes at the first NUL byte. *first is the part before it
 * (NUL-terminated), *second the part after it, and *second is "" when
 * data contains no NUL.
 */
void fuzz_split(apr_pool_t *pool, const uint8_t *data, size_t size,
                char **first, size_t *first_size, char **second,
                size_t *second_size);

/*
 * Prints "property violated: " and the message to stderr, then aborts, so
 * libFuzzer saves the input as a crash.
 */
void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Checks an error filled by a failed call: the given HTTP status and a
 * non-empty text. When printable is set, the text must also contain only
 * printable ASCII, because it names rejected input in a log line.
 */
void fuzz_check_error(const mto_error_t *err, int status, int printable,
                      const char *call);

#endif
