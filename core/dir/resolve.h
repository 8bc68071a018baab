/*
 * resolve.h - the MTA's address resolution for hosted domains: the
 * directory's expander (see mta/expand.h)
 *
 * For an address routed to the local channel:
 *   1. the domain: its entry (aliases, vanity domains, uplevel), then its
 *      status (inactive 4.2.1, deleted 5.1.2, hold: the hold channel);
 *   2. the user or group: by the address, by the address in the
 *      canonical domain (for alias domains), both again without the
 *      subaddress, then the "@domain" catch-all alternate address; not
 *      found: the domain's mailDomainCatchallAddress, else its
 *      mailRoutingSmartHost, else 5.1.1;
 *   3. the entry's status (status.h);
 *   4. mailRoutingAddress: mail goes there and nothing else happens;
 *   5. a user whose mailHost is another server: the address is routed to
 *      that host (`[directory] mailhost_route`, "@$X:$A"), unless all its
 *      options may be applied anywhere ("#", e.g. forward only);
 *   6. mailDeliveryOption values through the delivery option table
 *      (delivery.h) give the new addresses; groups expand their members
 *      (group.h).
 * Directory outages give TEMPFAIL ("4.4.3 ..."), bad directory data
 * TEMPFAIL ("4.3.5 ..." naming the entry), refusals PERMFAIL.
 *
 * The same code serves the MTA (through expand_address) and the tools
 * (`cursus directory resolve`).  Thread-safe once started.
 */
#ifndef CURSUS_DIR_RESOLVE_H
#define CURSUS_DIR_RESOLVE_H

#include <stdbool.h>
#include "dir.h"
#include "delivery.h"
#include "domain.h"
#include "mta/expand.h"

/* resolve_start - use settings S (parses the delivery options) and
 * register the expander once; false with *error_r */
bool resolve_start(const dir_settings *s, char **error_r);
void resolve_stop(void);
/* resolve_table - the delivery option table in use */
const dopt_table *resolve_table(void);

/* dir_resolve - the expander: 1 expanded into OUT, 0 not a hosted
 * address, TEMPFAIL/PERMFAIL with *error_r ("4.x.x text"/"5.x.x text") */
int dir_resolve(const char *address, const expand_params *params,
                expansion *out, char **error_r);
/* dir_domain_is_local - the expander's domain_is_local */
int dir_domain_is_local(const char *domain, char **error_r);

/* Shared with group.c. */
/* resolve_add - append ADDRESS to OUT unless already there */
void resolve_add(expansion *out, const char *address);
/* resolve_bad_data - a "4.3.5" error about entry E's ATTR value */
int resolve_bad_data(const cursus_entry *e, const char *attr,
                     const char *value, const char *why, char **error_r);
/* resolve_lookup_error - map a lookup failure RC to the MTA's error */
int resolve_lookup_error(int rc, const char *what, char *error,
                         char **error_r);
/* resolve_option_addresses - the addresses of delivery option O applied
 * to entry E; -1/-2 with *error_r on bad data, 0 when the option does not
 * apply, 1 when it added addresses */
int resolve_option(const dopt *o, const cursus_entry *e, const dopt_vars *v,
                   const expand_params *params, expansion *out,
                   char **error_r);

#endif
