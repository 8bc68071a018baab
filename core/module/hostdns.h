/*
 * hostdns.h - the process's DNS resolver and the host table's DNS service
 *
 * One resolver per process, on the host event loop, made on first use
 * from [dns] servers / timeout / tries of the running configuration.  The
 * dispatcher asks it about block lists; modules reach it through
 * host->dns_query.  Needs util/dns, config and the host loop.
 */
#ifndef CURSUS_HOSTDNS_H
#define CURSUS_HOSTDNS_H

#include "util/dns.h"

#include <cursus/host.h>

/* hostdns_resolver - the process's resolver (made now if needed, and made
 * again when a refreshed configuration changed [dns]: queries still on
 * the old one hear TEMPFAIL); NULL with *error_r when there is no loop or
 * the server list is bad */
dns_resolver *hostdns_resolver(char **error_r);
/* hostdns_shutdown - free the resolver (pending queries hear TEMPFAIL) */
void hostdns_shutdown(void);
/* hostdns_install - put the DNS members into the host table H */
void hostdns_install(cursus_host *h);
/* hostdns_register - check [dns] in every configuration load */
void hostdns_register(void);

#endif
