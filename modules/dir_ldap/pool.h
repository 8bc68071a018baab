/*
 * pool.h - connections to a set of LDAP servers, with failover
 *
 * The servers are tried in the order of the `uri` setting: the first
 * that answers serves until it fails; a server that failed is passed
 * over for `retry_after` seconds (tried last, not never).  Each
 * connection is bound as the service (simple bind with bind_dn, SASL
 * EXTERNAL over ldapi:// or with a client certificate, or anonymous),
 * after StartTLS when asked; ldaps:// works too.  Every network wait is
 * bounded by `timeout`: a server that accepts connections but never
 * answers is one that failed.
 *
 * pool_run runs one operation on a connection; when the connection turns
 * out dead (server gone, timeout) it is dropped and the operation is run
 * once more on a fresh connection, so a server killed between lookups
 * costs no failure when another one answers.  Thread-safe: a connection
 * serves one thread at a time; callers wait (up to `timeout`) for a free
 * one.
 */
#ifndef CURSUS_LDAP_POOL_H
#define CURSUS_LDAP_POOL_H

#include <stdbool.h>
#include <glib.h>
#include <ldap.h>

typedef struct pool_settings {
  char **uris;            /* NULL-terminated */
  char *bind_dn;          /* NULL: anonymous or SASL */
  char *bind_password;
  char *sasl_mech;        /* "EXTERNAL" or NULL */
  bool starttls;
  char *tls_ca, *tls_cert, *tls_key;
  bool tls_verify;
  unsigned timeout_ms;
  unsigned retry_after_s;
  unsigned size;          /* connections */
  bool bind_as_service;   /* false: connections for user binds */
} pool_settings;

typedef struct pool pool;

/* An operation: an LDAP result code (LDAP_SUCCESS ...). */
typedef int pool_op(LDAP *ld, void *data);

pool *pool_new(const pool_settings *s);
void pool_free(pool **p);
/* pool_run - run OP on a connection: its LDAP code, or LDAP_SERVER_DOWN
 * (or the connection's failure) when no server could be reached, with
 * *error_r (allocated) saying why */
int pool_run(pool *p, pool_op *op, void *data, char **error_r);
/* pool_dead - the code means the connection or server failed */
bool pool_dead(int code);
/* pool_stats - "server URI up|down" lines and counters */
void pool_stats(pool *p, GString *out);

#endif
