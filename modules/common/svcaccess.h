/*
 * svcaccess.h - service access filters in TCP-wrapper syntax, as the
 * classic server's service.imap.domainallowed / domainnotallowed
 *
 * A filter is "service-list : client-list [EXCEPT client-list]"; several
 * filters are separated by "$" (or line ends).  Services are the access
 * protocol names ("imap", "imaps", "pop", "pops") or the dispatcher.cnf
 * service name, or ALL.  Client patterns:
 *   ALL, *                  anything
 *   192.168.                an IPv4 address prefix (ends with a dot)
 *   10.0.0.0/255.0.0.0      network/mask; also 10.0.0.0/8, [2001:db8::]/32
 *   192.0.2.7, [::1]        one address
 *   .example.com            a host name suffix (needs reverse DNS)
 *   host.example.com, *.example.com, mail?.example.com
 *                           a host name, with * and ? wildcards
 *   LOCAL                   a host name without a dot
 *   KNOWN, UNKNOWN          the client's host name could (not) be found
 *   DNSSPOOFER              the host name's addresses omit the client's
 *   user@pattern            the login name (user may be ALL or use * and
 *                           ?) and a client pattern; the last "@" splits
 * "EXCEPT" nests to the right; lists are separated by commas or spaces.
 *
 * Decision (classic rules): the allow filters are tried first and the
 * first one that matches grants access; then the deny filters, and the
 * first that matches refuses it; when none matches, access is granted,
 * unless only allow filters are configured.
 *
 * Offers parsing with precise errors, the decision, and the blocking
 * reverse/forward DNS check.  Needs GLib and libc's resolver.
 */
#ifndef SVCACCESS_H
#define SVCACCESS_H

#include <stdbool.h>

typedef struct svcaccess svcaccess;

/* The client as the filters see it. */
typedef struct svcaccess_client {
  const char *service; /* "imap", "imaps", "pop", "pops" ...           */
  const char *alias;   /* the dispatcher.cnf service name, or NULL      */
  const char *ip;      /* the client's address                         */
  const char *host;    /* its verified host name, or NULL (unknown)    */
  bool spoofed;        /* the name's forward lookup omits the address  */
  const char *user;    /* the login name; NULL before authentication   */
} svcaccess_client;

typedef enum svcaccess_result {
  SVCACCESS_ALLOW = 1,
  SVCACCESS_DENY = 0,
  SVCACCESS_UNDECIDED = -1, /* depends on the login name, not known yet */
} svcaccess_result;

/* svcaccess_parse - the filters ALLOWED and NOT_ALLOWED (either may be
 * NULL or empty); NULL with *error_r (g_free it) naming the setting
 * (ALLOWED_NAME or NOT_ALLOWED_NAME), the filter number and the problem.
 * No filter at all gives NULL and no error. */
svcaccess *svcaccess_parse(const char *allowed, const char *allowed_name,
                           const char *not_allowed,
                           const char *not_allowed_name, char **error_r);
void svcaccess_free(svcaccess **access);

/* svcaccess_needs_names - true when a pattern needs the host name */
bool svcaccess_needs_names(const svcaccess *access);

/* svcaccess_check - the decision for CLIENT; NULL ACCESS allows all */
svcaccess_result svcaccess_check(const svcaccess *access,
                                 const svcaccess_client *client);

/* svcaccess_resolve - the verified host name of IP (g_free it), or NULL;
 * *spoofed_r is set when the name's addresses do not include IP.
 * Blocks: call it on a host thread. */
char *svcaccess_resolve(const char *ip, bool *spoofed_r);

#endif
