/*
 * dns.h - asynchronous DNS queries on an event loop (c-ares)
 *
 * A resolver belongs to one ev_loop: c-ares sockets are watched by the
 * loop and its retransmission timer is a loop timer, so a slow or silent
 * DNS server never blocks the loop.  Answers come back parsed into text
 * records.  Servers come from a "ip[:port],..." list or, when none is
 * given, from /etc/resolv.conf.  Needs c-ares, GLib and util/ev.
 */
#ifndef CURSUS_DNS_H
#define CURSUS_DNS_H

#include "ev.h"

#include <cursus/host.h>
#include <glib.h>

typedef struct dns_resolver dns_resolver;
typedef struct dns_query dns_query;

/* Record types asked for: the SDK's (their DNS type numbers). */
typedef enum cursus_dns_type dns_type;

/* What a query found.  STATUS: CURSUS_OK with RECORDS (addresses as text
 * for A/AAAA, host names in preference order for MX, one string per TXT
 * record with its character-strings joined), CURSUS_NONE when the name
 * does not exist or has no record of the type, CURSUS_TEMPFAIL when no
 * server answered in time or a server failed (ERROR says which). */
typedef struct dns_answer {
  int status;
  GPtrArray *records; /* of char*; empty unless CURSUS_OK */
  const char *error;  /* NULL unless CURSUS_TEMPFAIL */
} dns_answer;

/* Called once per query on the loop thread; ANSWER lives until return. */
typedef void dns_cb(const dns_answer *answer, void *data);

/* dns_resolver_new - a resolver on LOOP asking SERVERS ("ip[:port],...",
 * NULL or "" for /etc/resolv.conf), waiting TIMEOUT_MS per try, TRIES
 * times; NULL with *error_r (a bad server list, no resolv.conf) */
dns_resolver *dns_resolver_new(ev_loop *loop, const char *servers,
                               unsigned timeout_ms, unsigned tries,
                               char **error_r);
/* dns_resolver_free - end pending queries (their callbacks hear
 * CURSUS_TEMPFAIL "DNS resolver closed") and free; from inside a callback
 * the resolver goes once c-ares returns */
void dns_resolver_free(dns_resolver **r);
/* dns_resolver_servers - the server list it was made with ("" = system) */
const char *dns_resolver_servers(const dns_resolver *r);

/* dns_query_start - ask for TYPE records of NAME; CB runs later, never
 * from inside this call.  The handle stays valid until CB runs or
 * dns_query_cancel. */
dns_query *dns_query_start(dns_resolver *r, const char *name,
                           dns_type type, dns_cb *cb, void *data);
/* dns_query_cancel - CB will not be called; clears *Q */
void dns_query_cancel(dns_query **q);

/* dns_parse_answer - append the TYPE records of the DNS message BUF (as a
 * server sent it) to OUT as text; nothing for a malformed message */
void dns_parse_answer(dns_type type, const unsigned char *buf, int len,
                      GPtrArray *out);

/* dns_reverse_name - IP (v4 or v6 text) reversed under ZONE, as a DNS
 * block list wants it ("2.0.0.127.zone", nibbles for IPv6); NULL when IP
 * is not an address */
char *dns_reverse_name(const char *ip, const char *zone);

#endif
