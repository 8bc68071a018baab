/*
 * address.h - mail addresses as the directory sees them: local part,
 * domain, mailbox and subaddress
 *
 * "joe+work@Example.COM" parses to local "joe+work", mailbox "joe",
 * subaddress "work" (with the separator "+"), domain "example.com".
 * Domains are folded to lower case; local parts keep their case (the
 * directory compares addresses without case anyway).  Syntax as RFC 5321
 * (dot-atom or quoted-string local part, at most 64 octets, UTF-8 as RFC
 * 6531 allows) and RFC 1035 host names (or UTF-8 labels).  Pure: any
 * thread.
 */
#ifndef CURSUS_DIR_ADDRESS_H
#define CURSUS_DIR_ADDRESS_H

#include <stdbool.h>

typedef struct dir_addr {
  char *local;
  char *domain;
  char *mailbox;    /* local part without the subaddress */
  char *subaddress; /* NULL when there is none */
} dir_addr;

/* dir_addr_parse - split ADDRESS with subaddress separator SEP ("" or
 * NULL: none); false with *error_r (allocated) when it is not a valid
 * address.  A leading source route ("@host:") is refused. */
bool dir_addr_parse(const char *address, const char *sep, dir_addr *a,
                    char **error_r);
void dir_addr_clear(dir_addr *a);
/* dir_addr_check - ADDRESS is valid (CATCHALL: "@domain" too); false with
 * *error_r (allocated) */
bool dir_addr_check(const char *address, bool catchall, char **error_r);
/* dir_domain_check - DOMAIN is a valid domain name */
bool dir_domain_check(const char *domain, char **error_r);
/* dir_addr_domain - the domain part of ADDRESS folded to lower case, or
 * NULL; allocated */
char *dir_addr_domain(const char *address);
/* dir_addr_equal - the same address (domain and local part without
 * case) */
bool dir_addr_equal(const char *a, const char *b);

#endif
