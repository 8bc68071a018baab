/*
 * service.h - which services a user may use from where:
 * mailAllowedServiceAccess (user) and mailDomainAllowedServiceAccess
 * (domain)
 *
 * A value is a list of rules separated by "$", each
 *   [+|-]SERVICES:CLIENTS
 * SERVICES: comma-separated imap, imaps, pop, pop3, pops, smtp,
 * submission, http, https, or "*"; CLIENTS: comma-separated "*" or ALL,
 * an IP address, a network ADDR/PREFIXLEN or ADDR/MASK, or an address
 * prefix ending in "." ("192.168.").  Rules are tried in order; the first
 * whose service and client match decides (+ allows, - refuses).  When no
 * rule matches, access is refused if the value has a "+" rule, else
 * allowed.  The domain's rules are checked before the user's.  Pure.
 */
#ifndef CURSUS_SERVICE_H
#define CURSUS_SERVICE_H

#include <stdbool.h>

/* service_allowed - RULES (NULL: no rules) allow SERVICE ("imap",
 * "pop3", "smtp", "submission", "http") over TLS or not from IP; false
 * with *why_r (static) */
bool service_allowed(const char *rules, const char *service, bool tls,
                     const char *ip, const char **why_r);
/* service_rules_check - RULES are well formed; false with *error_r */
bool service_rules_check(const char *rules, char **error_r);

#endif
