/*
 * domain.h - hosted domains: which entry a domain name belongs to
 *
 * A domain name finds its domain entry by the entry's sunPreferredDomain
 * (the canonical name) or associatedDomain (aliases).  When none has it:
 * with `[directory] domain_uplevel`, the parent domains are tried; then a
 * user whose msgVanityDomain is the name (a vanity domain).  Names in
 * punycode and in UTF-8 find the same entry.  The server's own host
 * names (`[server] hostname`, `[directory] local_hosts`, "localhost") mean
 * the default domain.  Thread-safe.
 */
#ifndef CURSUS_DIR_DOMAIN_H
#define CURSUS_DIR_DOMAIN_H

#include <stdbool.h>
#include <cursus/cursus.h>

typedef struct dir_domain {
  cursus_entry *entry; /* the domain entry, or the vanity user's entry */
  char *name;          /* canonical name (sunPreferredDomain) */
  char *base_dn;       /* where its users and groups are */
  bool vanity;         /* a user's vanity domain */
  bool is_default;     /* the default domain */
} dir_domain;

/* dir_find_domain - the hosted domain for NAME: CURSUS_OK with *dom_r,
 * CURSUS_NONE (also for a NAME that is no domain name, with *error_r),
 * TEMPFAIL (outage) or PERMFAIL (the directory's data is wrong, e.g. two
 * entries claim NAME) with *error_r */
int dir_find_domain(const char *name, unsigned flags, dir_domain **dom_r,
                    char **error_r);
void dir_domain_free(dir_domain **dom);
/* dir_is_local_host - NAME is this server (for mailHost) */
bool dir_is_local_host(const char *name);
/* dir_domain_of_entry - the hosted domain of user or group E (the domain
 * of its mail address); same results as dir_find_domain */
int dir_domain_of_entry(const cursus_entry *e, dir_domain **dom_r,
                        char **error_r);

#endif
