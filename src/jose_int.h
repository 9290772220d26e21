/*
 * Types and helpers shared by jwks.c and idtoken.c. This header includes
 * cjose, so only those two files include it.
 */
#ifndef MTO_JOSE_INT_H
#define MTO_JOSE_INT_H

#include <apr_tables.h>
#include <cjose/jwk.h>

#include "mto_jose.h"

/* A JWS signature algorithm this module verifies (RFC 7518 section 3.1). */
typedef struct {
    const char *name;       /* "alg" value, such as "RS256" */
    const char *kty;        /* key type it needs: "RSA" or "EC" */
    const char *crv;        /* curve it needs for "EC", else NULL */
    apr_size_t ec_sig_len;  /* length of the raw R || S signature, or 0 */
} mto_jose_alg_t;

/* A verification key of a JWK Set, imported by cjose. */
typedef struct {
    cjose_jwk_t *jwk;       /* released by a cleanup on the set's pool */
    const char *kid;        /* NULL when the entry has no "kid" */
    const char *kty;        /* "RSA" or "EC" */
    const char *alg;        /* NULL when the entry has no "alg" */
    const char *crv;        /* "P-256", "P-384" or "P-521" for EC, else NULL */
    /* Size in bits from cjose_jwk_get_keysize: the RSA modulus rounded up
     * to whole bytes, or the EC field size. */
    apr_size_t bits;
} mto_jwks_key_t;

struct mto_jwks {
    apr_array_header_t *keys;   /* mto_jwks_key_t, in document order */
};

/* Buffer size for one quoted value: up to 63 bytes of text and the NUL. */
#define MTO_JOSE_QUOTE_MAX 64

/*
 * Looks up a supported signature algorithm by its "alg" name. Returns NULL
 * for any other name, "none" and the HMAC algorithms included.
 */
const mto_jose_alg_t *mto_jose_alg_find(const char *name);

/* Returns 1 when key has the kty and curve that alg needs, else 0. */
int mto_jose_key_fits(const mto_jwks_key_t *key, const mto_jose_alg_t *alg);

/*
 * Copies text into out, a buffer of size bytes, for quoting in an error
 * text or warning. Control characters and non-ASCII bytes become '?',
 * and a value that does not fit ends in "...". A NULL text becomes
 * "(null)".
 */
void mto_jose_printable(char *out, apr_size_t size, const char *text);

#endif
