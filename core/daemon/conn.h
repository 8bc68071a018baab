/*
 * conn.h - one client connection in a worker: buffered, line-oriented
 * I/O with limits, timeouts and TLS, driving a protocol module's session
 *
 * Implements the host's connection services (cursus_conn_ops).  Memory
 * follows activity: an idle connection keeps only its small struct;
 * input and output buffers exist while there is data in them.
 */
#ifndef CURSUS_CONN_H
#define CURSUS_CONN_H

#include "handoff.h"

#include <stdbool.h>
#include <cursus/cursus.h>
#include "module/loader.h"
#include "util/ev.h"

typedef struct tls_ctx tls_ctx;

/* conn_tls_load - server credentials from [tls] of cursus.conf; NULL (and
 * no error) when none are configured, NULL with *error_r when they are
 * unusable */
tls_ctx *conn_tls_load(const char *cert, const char *key,
                       const char *priority, char **error_r);
void conn_tls_free(tls_ctx **tls);

/* What the worker passes for each accepted connection. */
typedef struct conn_params {
  int fd;
  bool implicit_tls;
  bool unix_socket;
  /* its two ends; the dispatcher made the fd non-blocking, and it has
   * TCP_NODELAY from the listener (whole replies must not wait for the
   * peer's delayed ACK) */
  const handoff_addr *addr;
  const char *service;  /* service name (kept by the worker) */
  const char *channel;  /* default source channel, or NULL */
  const char *hostname; /* this server's name */
  module *mod;          /* the protocol module */
  tls_ctx *tls;         /* credentials, or NULL */
  const char *(*service_option)(const char *key, void *data);
  void *service_option_data;
  /* called once when the connection is gone */
  void (*closed)(void *data);
  void *closed_data;
} conn_params;

/* conn_start - take over FD and start the session; false when the
 * session refused to start (the fd is closed) */
bool conn_start(ev_loop *loop, const conn_params *params);
/* conn_ops - the host table entries for connections */
const cursus_conn_ops *conn_ops(void);
/* conn_shutdown_all - tell every session the worker is retiring */
void conn_shutdown_all(void);
/* conn_close_all - end every connection now (process exit) */
void conn_close_all(void);
/* conn_count - connections open in this process */
unsigned conn_count(void);

#endif
