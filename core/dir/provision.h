/*
 * provision.h - adding, changing, deleting and showing users, groups and
 * hosted domains, with the checks a directory server does not make
 *
 * Where entries go: a domain is "o=DOMAIN,<[directory] base_dn>" with
 * "ou=People" and "ou=Groups" below it; a user "uid=UID,ou=People,<domain
 * base>", a group "cn=NAME,ou=Groups,<domain base>" (the domain base is
 * its inetDomainBaseDN, else the domain entry).  The object classes are
 * those of config/ldap/cursus.schema.
 *
 * Checks before anything is written (each failure is one clear message):
 * addresses and domain names are well formed; an address's domain is a
 * hosted domain (not an alias only: aliases resolve anyway); no address
 * (mail, mailAlternateAddress, mailEquivalentAddress) is used by another
 * user or group, and no domain name by another domain; a uid is unique
 * in its domain; status words, delivery options, numbers and dates are
 * valid.  Passwords are stored hashed ([auth] password_scheme) with SCRAM
 * secrets (authPassword), never in clear.  Lookups here bypass caches.
 */
#ifndef CURSUS_PROVISION_H
#define CURSUS_PROVISION_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/cursus.h>

typedef enum prov_kind {
  PROV_USER = 0,
  PROV_GROUP = 1,
  PROV_DOMAIN = 2,
} prov_kind;

/* One attribute change asked for. */
typedef struct prov_change {
  cursus_mod_op op;   /* ADD (add: set), REPLACE, DELETE */
  char *attr;
  GPtrArray *values;  /* of char*; empty DELETE: the whole attribute */
} prov_change;

typedef struct prov_request {
  prov_kind kind;
  char *name;          /* address (users, groups) or domain name */
  GPtrArray *changes;  /* of prov_change* */
  char *password;      /* clear text to hash, or NULL */
  char *scheme;        /* password scheme, or NULL for [auth]'s */
  unsigned scram_iterations;
} prov_request;

prov_request *prov_request_new(prov_kind kind, const char *name);
void prov_request_free(prov_request **r);
/* prov_change_add - VALUE (NULL: none) for ATTR with OP; values of one
 * attribute and op accumulate */
void prov_change_add(prov_request *r, cursus_mod_op op, const char *attr,
                     const char *value);

/* prov_add - create the entry; *dn_r gets its DN */
int prov_add(const prov_request *r, const char *base_dn, char **dn_r,
             char **error_r);
/* prov_modify - change the entry R names */
int prov_modify(const prov_request *r, char **error_r);
/* prov_delete - delete the entry NAME of KIND (a domain with its empty
 * People and Groups) */
int prov_delete(prov_kind kind, const char *name, char **error_r);
/* prov_show - NAME as LDIF (password values hidden) into OUT */
int prov_show(prov_kind kind, const char *name, GString *out,
              char **error_r);
/* prov_list - one line per entry of KIND (below DOMAIN's base, or
 * BASE_DN when DOMAIN is NULL) into OUT */
int prov_list(prov_kind kind, const char *domain, const char *base_dn,
              GString *out, char **error_r);
/* prov_find - the entry NAME of KIND (FRESH); NONE with *error_r */
int prov_find(prov_kind kind, const char *name, cursus_entry **entry_r,
              char **error_r);

#endif
