/*
 * Per-input pools for the fuzz targets.
 *
 * This file defines apr_palloc and apr_pcalloc, which take the place of
 * libapr's exported functions in a fuzz target binary: the dynamic linker
 * binds every call, those inside libapr-1.so included (apr_pstrdup,
 * apr_array_make, apr_pool_cleanup_register), to the executable's
 * definition first. On the input pool each request becomes its own
 * malloc, freed after the pool is destroyed, and so on the process pool
 * of fuzz_init. On every other pool the call goes on to libapr's
 * function, found with dlsym(RTLD_NEXT).
 * apr_psprintf writes into the pool's block directly, so its results
 * stay invisible to ASan.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "fuzz_support.h"

typedef void *(*palloc_fn)(apr_pool_t *pool, apr_size_t size);

/* A pool whose every allocation is a separate malloc. */
typedef struct {
    apr_pool_t *pool;
    void **blocks;
    size_t count;
    size_t capacity;
} tracked_pool_t;

/*
 * The process pool is tracked as well: libapr here takes pool memory from
 * mmap, which LeakSanitizer does not scan, so a fixture that only pool
 * memory points to would count as leaked whenever libFuzzer checks an
 * input for leaks.
 */
static tracked_pool_t process;
static tracked_pool_t input;
static palloc_fn libapr_palloc;

static void *libapr_allocate(apr_pool_t *pool, apr_size_t size)
{
    if (libapr_palloc == NULL) {
        libapr_palloc = (palloc_fn)dlsym(RTLD_NEXT, "apr_palloc");
        if (libapr_palloc == NULL) {
            fprintf(stderr, "fuzz: apr_palloc not found in libapr: %s\n",
                    dlerror());
            abort();
        }
    }
    return libapr_palloc(pool, size);
}

static void *tracked_allocate(tracked_pool_t *tracked, apr_size_t size)
{
    /* malloc(0) may return NULL, which APR callers never expect. */
    void *block = malloc(size > 0 ? size : 1);

    if (block == NULL) {
        abort();
    }
    if (tracked->count == tracked->capacity) {
        size_t capacity = tracked->capacity ? 2 * tracked->capacity : 256;
        void **grown = realloc(tracked->blocks, capacity * sizeof(*grown));

        if (grown == NULL) {
            abort();
        }
        tracked->blocks = grown;
        tracked->capacity = capacity;
    }
    tracked->blocks[tracked->count++] = block;
    return block;
}

/* Destroys the pool, running its cleanups, then frees its blocks. */
static void tracked_destroy(tracked_pool_t *tracked)
{
    size_t i;

    /* Cleanups may still read blocks, so those are freed afterwards. */
    apr_pool_destroy(tracked->pool);
    tracked->pool = NULL;
    for (i = 0; i < tracked->count; i++) {
        free(tracked->blocks[i]);
    }
    tracked->count = 0;
}

void *apr_palloc(apr_pool_t *pool, apr_size_t size)
{
    if (pool == input.pool) {
        return tracked_allocate(&input, size);
    }
    if (pool == process.pool) {
        return tracked_allocate(&process, size);
    }
    return libapr_allocate(pool, size);
}

#undef apr_pcalloc
void *apr_pcalloc(apr_pool_t *pool, apr_size_t size);

void *apr_pcalloc(apr_pool_t *pool, apr_size_t size)
{
    return memset(apr_palloc(pool, size), 0, size);
}

/* Releases the fixtures at exit, before LeakSanitizer's final check. */
static void release_process_pool(void)
{
    tracked_destroy(&process);
    apr_terminate();
}

apr_pool_t *fuzz_init(void)
{
    if (process.pool == NULL) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&process.pool, NULL) != APR_SUCCESS) {
            fprintf(stderr, "fuzz: APR initialisation failed\n");
            abort();
        }
        atexit(release_process_pool);
    }
    return process.pool;
}

apr_pool_t *fuzz_input_pool_create(void)
{
    if (input.pool != NULL) {
        fuzz_fail("an input pool already exists");
    }
    if (apr_pool_create(&input.pool, NULL) != APR_SUCCESS) {
        abort();
    }
    return input.pool;
}

void fuzz_input_pool_destroy(apr_pool_t *pool)
{
    if (pool == NULL || pool != input.pool) {
        fuzz_fail("destroying a pool that is not the input pool");
    }
    tracked_destroy(&input);
}

char *fuzz_text(apr_pool_t *pool, const uint8_t *data, size_t size)
{
    char *text = apr_palloc(pool, size + 1);

    if (size > 0) {
        memcpy(text, data, size);
    }
    text[size] = '\0';
    return text;
}

void fuzz_split(apr_pool_t *pool, const uint8_t *data, size_t size,
                char **first, size_t *first_size, char **second,
                size_t *second_size)
{
    const uint8_t *nul = size > 0 ? memchr(data, '\0', size) : NULL;
    size_t head = nul ? (size_t)(nul - data) : size;

    *first = fuzz_text(pool, data, head);
    *first_size = head;
    if (nul == NULL) {
        *second = fuzz_text(pool, data, 0);
        *second_size = 0;
        return;
    }
    *second = fuzz_text(pool, nul + 1, size - head - 1);
    *second_size = size - head - 1;
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("property violated: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void fuzz_check_error(const mto_error_t *err, int status, int printable,
                      const char *call)
{
    size_t length = strnlen(err->text, sizeof(err->text));
    size_t i;

    if (length == sizeof(err->text)) {
        fuzz_fail("%s: error text is not NUL-terminated", call);
    }
    if (err->http_status != status) {
        fuzz_fail("%s: error status is %d, expected %d (\"%s\")", call,
                  err->http_status, status, err->text);
    }
    if (length == 0) {
        fuzz_fail("%s failed without an error text", call);
    }
    for (i = 0; printable && i < length; i++) {
        unsigned char c = (unsigned char)err->text[i];

        if (c < 0x20 || c >= 0x7f) {
            fuzz_fail("%s: error text has byte 0x%02x at offset %zu", call,
                      c, i);
        }
    }
}
