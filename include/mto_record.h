/*
 * The records sealed into cookies: the login state, which lives from the
 * redirect to the provider until the callback, and the session. Both are
 * encoded as compact text: a tag naming the kind and format version, then
 * every field in a fixed order as a length-prefixed string or decimal
 * seconds (src/record.c describes the format).
 */
#ifndef MTO_RECORD_H
#define MTO_RECORD_H

#include <apr_pools.h>
#include <apr_time.h>
#include "mto_error.h"

typedef struct {
    const char *state;          /* value sent as the state parameter */
    const char *nonce;          /* value sent as the nonce parameter */
    const char *host;           /* tenant host the login started on */
    const char *issuer;         /* issuer resolved for that host */
    const char *next;           /* same-host relative return path */
    const char *code_verifier;  /* PKCE verifier, NULL in the implicit flow */
    apr_time_t created;
} mto_state_t;

typedef struct {
    const char *id;             /* random session id */
    const char *user;           /* user name handed to the hub */
    const char *sub;            /* "sub" of the id_token */
    const char *issuer;
    const char *host;           /* tenant host the session belongs to */
    apr_time_t created;
    apr_time_t expires;
} mto_session_t;

/* Encodes state or session as NUL-terminated text without NUL bytes in
 * pool, or returns NULL when a field is missing, empty, not UTF-8 or too
 * long for the decoder to accept, or a time is negative. */
const char *mto_state_encode(apr_pool_t *pool, const mto_state_t *state);
const char *mto_session_encode(apr_pool_t *pool,
                               const mto_session_t *session);

/*
 * Parses length bytes of text made by the encoders; text needs no
 * terminating NUL. Every field is required except next (default "/") and
 * code_verifier. Text of another kind or version, a field that breaks a
 * limit and bytes after the last field are rejected with err filled
 * (status 400), and the output is left unchanged. Decoded strings are
 * copied into pool.
 */
apr_status_t mto_state_decode(apr_pool_t *pool, const char *text,
                              apr_size_t length, mto_state_t *state,
                              mto_error_t *err);
apr_status_t mto_session_decode(apr_pool_t *pool, const char *text,
                                apr_size_t length, mto_session_t *session,
                                mto_error_t *err);

#endif
