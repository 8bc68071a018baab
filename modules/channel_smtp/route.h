/*
 * route.h - where the SMTP client connects for a destination domain
 *
 * Builds the ordered list of next hops for a domain: its MX hosts by
 * preference (equal preferences shuffled with `randommx`), the domain
 * itself when it has no MX (RFC 5321 5.1) or with `nomx`, the smarthost
 * of `daemon` instead of any of this, and `lastresort` at the end; then
 * each hop's IPv4 and IPv6 addresses.  Lookups go through c-ares to the
 * servers of the `dns_server` setting (else /etc/resolv.conf), one c-ares
 * channel per thread, with answers cached for their TTL.
 *
 * Needs c-ares and GLib only.
 */
#ifndef SMTP_ROUTE_H
#define SMTP_ROUTE_H

#include <stdbool.h>
#include <sys/socket.h>
#include <glib.h>

/* One address to connect to. */
typedef struct route_addr {
  struct sockaddr_storage sa;
  socklen_t len;
  char text[64]; /* "192.0.2.1" or "2001:db8::1" */
} route_addr;

/* One next hop: a host name and its addresses. */
typedef struct route_hop {
  char *name;       /* MX target, smarthost or the domain itself   */
  int preference;   /* MX preference; -1 when not from an MX record */
  GArray *addrs;    /* of route_addr; empty when the lookup failed  */
  int addr_status;  /* CURSUS_OK, TEMPFAIL (lookup failed), PERMFAIL */
} route_hop;

typedef enum route_mx_mode {
  ROUTE_MX = 0,     /* MX records, preference order (default)        */
  ROUTE_RANDOMMX,   /* MX records, equal preferences shuffled        */
  ROUTE_NOMX,       /* address records of the domain only            */
} route_mx_mode;

typedef struct route_config {
  route_mx_mode mode;
  const char *daemon;     /* smarthost, or NULL                         */
  const char *lastresort; /* host tried after all others, or NULL       */
  const char *servers;    /* c-ares server list "ip[:port],...", or NULL */
  unsigned timeout_ms;    /* per query try                              */
  unsigned max_mx;        /* most MX hosts used                          */
  bool ipv6;              /* also AAAA                                   */
} route_config;

/* route_resolve - the hops for DOMAIN (a domain, or an address literal
 * "[192.0.2.1]" / "[IPv6:...]").  CURSUS_OK with *hops_r (free with
 * route_hops_free; hops without addresses are kept so the caller can
 * report them), TEMPFAIL when DNS failed, PERMFAIL when the domain does
 * not exist or has a null MX (RFC 7505); *error_r (allocated) says why. */
int route_resolve(const route_config *cfg, const char *domain,
                  GPtrArray **hops_r, char **error_r);
void route_hops_free(GPtrArray **hops);

/* route_cache_clear - forget cached answers (tests, refresh) */
void route_cache_clear(void);
/* route_shutdown - free the cache and c-ares (before the module goes) */
void route_shutdown(void);

#endif
