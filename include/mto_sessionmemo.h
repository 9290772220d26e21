/*
 * A per-process memo of sealed session records that opened and decoded
 * under a server's current key for a host. A browser that sends the same
 * session cookie again then costs one lookup instead of an AES-GCM open
 * and a JSON parse. Expiry and the tenant checks still run on every
 * request; only the decryption and decoding are remembered.
 */
#ifndef MTO_SESSIONMEMO_H
#define MTO_SESSIONMEMO_H

#include "mto_config.h"
#include "mto_record.h"

/* Creates the memo's mutex; called from child_init. */
void mto_session_memo_child_init(apr_pool_t *pchild, server_rec *s);

/*
 * Returns a copy in pool of the session that sealed opened to earlier
 * under conf's current key for host, or NULL when it is not remembered.
 */
mto_session_t *mto_session_memo_get(apr_pool_t *pool,
                                    const mto_config_t *conf,
                                    const char *host, const char *sealed);

/* Remembers that sealed opened to session under conf's current key. */
void mto_session_memo_put(const mto_config_t *conf, const char *host,
                          const char *sealed, const mto_session_t *session);

#endif
