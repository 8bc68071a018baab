/*
 * addr.h - e-mail addresses: strict RFC 5321 / RFC 5322 parsing and
 * formatting
 *
 * Offers the parser of one address (local part, domain or domain literal,
 * optional source route), the parser of an SMTP path with its ESMTP
 * parameters (`MAIL FROM:<...> SIZE=10`), domain checks (IDNA to A-labels
 * with libidn2, IPv4 and IPv6 literals), and formatting with the quoting a
 * local part needs.  Every refusal comes with a precise, human message
 * (no enhanced status code: the caller knows whether it is a sender,
 * 5.1.7, or a recipient, 5.1.3).  Lengths are bounded; nothing here
 * allocates in proportion to anything but its input.
 *
 * Needs GLib and libidn2.  Knows nothing of rewriting or channels.
 */
#ifndef CURSUS_ADDR_H
#define CURSUS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <cursus/common.h>

/* RFC 5321 4.5.3.1 limits. */
#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_LABEL_MAX 63
#define ADDR_PATH_MAX 256
/* Longest address accepted anywhere (header forms, rewriting results). */
#define ADDR_TEXT_MAX 1024
/* Most source-route hops accepted. */
#define ADDR_ROUTE_MAX 16

/* Parser flags. */
enum addr_flags {
  /* RFC 5321 Mailbox: Dot-string / Quoted-string local part, LDH
   * domain, the 64/255/256 octet limits */
  ADDR_SMTP = 1u << 0,
  /* accept a source route "@a,@b:user@c" */
  ADDR_ROUTE = 1u << 1,
  /* accept a local part without "@domain" */
  ADDR_BARE = 1u << 2,
  /* accept UTF-8 in local part and domain (SMTPUTF8, RFC 6531/6532) */
  ADDR_UTF8 = 1u << 3,
  /* path parser: accept a path without the angle brackets (lenient
   * clients); never on by default */
  ADDR_NO_BRACKETS = 1u << 4,
  /* path parser: accept "<>" (reverse path) */
  ADDR_NULL_OK = 1u << 5,
  /* path parser: accept "<postmaster>" without a domain (RCPT, RFC 5321
   * 4.5.1) */
  ADDR_POSTMASTER = 1u << 6,
};

typedef struct addr {
  char *local;   /* decoded local part: quotes and quoted pairs removed */
  bool quoted;   /* it was written as a quoted string */
  char *domain;  /* lower-case A-label domain or "[literal]"; NULL if none */
  char **route;  /* NULL-terminated source-route domains, or NULL */
  bool utf8;     /* the address had non-ASCII text */
} addr;

/* An SMTP path and what follows it. */
typedef struct addr_path {
  addr *address;      /* NULL for the null path "<>" */
  const char *params; /* ESMTP parameters after the path (points into the
                         argument; "" when none) */
} addr_path;

/* addr_parse - parse one address of LEN octets (-1: NUL-terminated).
 * CURSUS_OK with *addr_r, or CURSUS_PERMFAIL with *error_r (allocated). */
int addr_parse(const char *text, gssize len, unsigned flags, addr **addr_r,
               char **error_r);
/* addr_parse_path - parse ARG, the text after "MAIL FROM:" or "RCPT TO:",
 * as a path followed by optional parameters.  Leading spaces are skipped
 * (clients send them although RFC 5321 does not allow them).  ADDR_SMTP
 * and ADDR_ROUTE are implied.  CURSUS_OK with *path_r (free its address
 * with addr_free), or CURSUS_PERMFAIL with *error_r. */
int addr_parse_path(const char *arg, unsigned flags, addr_path *path_r,
                    char **error_r);
void addr_free(addr **a);
addr *addr_copy(const addr *a);
/* addr_new - an address from parts (copied); DOMAIN may be NULL */
addr *addr_new(const char *local, bool quoted, const char *domain);

/* addr_format - "@r1,@r2:local@domain" with the quoting the local part
 * needs; newly allocated */
char *addr_format(const addr *a);
/* addr_format_local - LOCAL as it must be written: as is when it is a
 * dot-atom (and FORCE_QUOTE is false), else as a quoted string */
char *addr_format_local(const char *local, bool force_quote);
/* addr_local_is_dot_atom - LOCAL needs no quoting */
bool addr_local_is_dot_atom(const char *local, size_t len);

/* addr_domain_check - check DOMAIN (a name or "[literal]") and return its
 * canonical form: lower-case A-labels, IPv6 literals compressed.  UTF-8
 * names are converted only with ADDR_UTF8 (or when FLAGS lacks ADDR_SMTP,
 * for header addresses).  CURSUS_OK or CURSUS_PERMFAIL with *error_r. */
int addr_domain_check(const char *domain, size_t len, unsigned flags,
                      char **canonical_r, char **error_r);
/* addr_literal_check - "[192.0.2.1]" / "[IPv6:2001:db8::1]": canonical
 * form or an error */
int addr_literal_check(const char *literal, size_t len, char **canonical_r,
                       char **error_r);
/* addr_domain_to_unicode - the U-label form of an A-label DOMAIN (for
 * display), or a copy when it has none */
char *addr_domain_to_unicode(const char *domain);

#endif
