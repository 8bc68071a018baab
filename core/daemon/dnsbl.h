/*
 * dnsbl.h - is a client address on a DNS block list?
 *
 * The dispatcher's DNS_VERIFY_DOMAIN check: the address, reversed, is
 * looked up under every zone at once (A records); the first zone that
 * lists it wins and its TXT record gives the reason.  A zone that does
 * not answer (timeout, SERVFAIL) is logged and counts as "not listed":
 * a broken block list must not shut a mail server.  Needs util/dns.
 */
#ifndef CURSUS_DNSBL_H
#define CURSUS_DNSBL_H

#include "util/dns.h"

typedef struct dnsbl_check dnsbl_check;

/* Called once, on the loop thread: ZONE is the list that lists the client
 * (NULL: none does) and REASON its TXT text (NULL if it has none). */
typedef void dnsbl_cb(const char *zone, const char *reason, void *data);

/* dnsbl_start - check IP against ZONES (NULL-terminated); CB runs later,
 * never from inside this call.  LABEL names the asker in the log.  NULL
 * (and CB never runs) when there is nothing to ask: no zones, or IP is
 * not an address. */
dnsbl_check *dnsbl_start(dns_resolver *r, const char *label, const char *ip,
                         char *const *zones, dnsbl_cb *cb, void *data);

/* dnsbl_listed_address - ADDR (an A record's text) means "listed": block
 * lists answer 127.0.0.0/8, and 127.255.255.0/24 are their error codes
 * (a refused or rate-limited query), never a listing */
bool dnsbl_listed_address(const char *addr);

/* dnsbl_reason_clean - TEXT made fit for a reply line: printable ASCII,
 * at most MAX bytes */
char *dnsbl_reason_clean(const char *text, size_t max);

#endif
