/*
 * pool.h - idle client connections kept for the next message
 *
 * A channel job delivering many messages to one host reuses its
 * connection: after a transaction the connection goes back here under
 * its destination key and the next message to that host takes it.
 * Connections are closed (QUIT) after MAX_REUSE transactions, when idle
 * longer than IDLE_MS, and all at once by pool_close_idle.  Addresses that
 * just failed to answer are remembered for a while so every message does
 * not wait for the same dead host.  Thread-safe.
 */
#ifndef SMTP_POOL_H
#define SMTP_POOL_H

#include <stdbool.h>
#include "client.h"

typedef struct conn_pool conn_pool;

conn_pool *pool_new(unsigned max_reuse, unsigned idle_ms);
/* pool_free - close every connection and free */
void pool_free(conn_pool **pool);
/* pool_take - an idle connection for KEY, or NULL */
client_conn *pool_take(conn_pool *pool, const char *key);
/* pool_put - keep C for KEY when it can serve again, else close it */
void pool_put(conn_pool *pool, const char *key, client_conn *c);
/* pool_close_idle - close every kept connection */
void pool_close_idle(conn_pool *pool);
/* pool_mark_dead / pool_is_dead - an address that did not answer */
void pool_mark_dead(conn_pool *pool, const char *addr);
bool pool_is_dead(conn_pool *pool, const char *addr);

#endif
