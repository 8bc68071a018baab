/*
 * dispcnf.h - dispatcher.cnf: the services the dispatcher listens for
 *
 * Global options first (defaults for every service), then one
 * [SERVICE=name] section per service.  Options and meanings follow the
 * classic dispatcher; Cursus adds PROTOCOL (the protocol module's name),
 * CHANNEL (the service's default source channel), UNIX_SOCKET and the
 * per-IP limits.  docs/dispatcher.md describes each.
 */
#ifndef CURSUS_DISPCNF_H
#define CURSUS_DISPCNF_H

#include "optfile.h"

typedef struct disp_service {
  char *name;     /* "SMTP" */
  char *protocol; /* "smtp" */
  char *channel;  /* default source channel, or NULL */
  GArray *ports;      /* of unsigned */
  GArray *tls_ports;  /* of unsigned: TLS from the first byte */
  char **interfaces;  /* addresses to listen on; NULL = all */
  char *unix_socket;  /* path of a UNIX-domain listener, or NULL */
  unsigned min_procs, max_procs, min_conns, max_conns;
  unsigned max_life_time, max_life_conns, max_shutdown, max_idle_time;
  unsigned max_handoffs, backlog;
  unsigned max_conns_per_ip;  /* 0 = unlimited */
  unsigned max_conn_rate_per_ip; /* new connections per IP per minute */
  unsigned max_sessions;      /* whole service; 0 = MAX_PROCS * MAX_CONNS */
  char **block;               /* client networks refused (CIDR) */
  char **dns_zones;           /* DNS block lists asked (ENABLE_RBL), or NULL */
  const opt_section *section; /* for the protocol's own options */
  const char *file;
  unsigned line;
} disp_service;

typedef struct dispcnf {
  optfile *of;
  GPtrArray *services; /* of disp_service* */
} dispcnf;

/* dispcnf_read - read and check PATH; unix socket paths resolve in RUN_DIR */
dispcnf *dispcnf_read(const char *path, const char *run_dir, diag *d);
void dispcnf_free(dispcnf **dc);
disp_service *dispcnf_service(const dispcnf *dc, const char *name);
/* disp_service_option - the service's option KEY (or the global one) */
const char *disp_service_option(const dispcnf *dc, const disp_service *svc,
                                const char *key);

#endif
