/*
 * status.h - what the status attributes of domains, users and groups
 * mean for mail and for logins
 *
 * Checked in the classic order: the domain (inetDomainStatus, then
 * mailDomainStatus), then the user (inetUserStatus, then mailUserStatus)
 * or group (inetMailGroupStatus).  The first that is not "active" decides:
 *
 *   status      mail                              login
 *   active      delivered                         allowed
 *   inactive    4.2.1 temporary failure           refused
 *   hold        routed to the hold channel        refused
 *   overquota   4.2.2 temporary failure           allowed
 *   disabled    5.2.1 permanent failure           refused
 *   deleted,    5.1.1 as if there were no such    refused
 *   removed     user (5.1.2 for a domain)
 *
 * An absent attribute is "active"; a value that is not one of these words
 * is a configuration error: 4.3.5 for mail, refused for logins.  Pure.
 */
#ifndef CURSUS_DIR_STATUS_H
#define CURSUS_DIR_STATUS_H

#include <stdbool.h>
#include <cursus/cursus.h>

typedef enum dir_status {
  DIR_STATUS_ACTIVE = 0,
  DIR_STATUS_INACTIVE,
  DIR_STATUS_HOLD,
  DIR_STATUS_OVERQUOTA,
  DIR_STATUS_DISABLED,
  DIR_STATUS_DELETED,
  DIR_STATUS_REMOVED,
  DIR_STATUS_UNKNOWN,
} dir_status;

/* What the statuses mean for a message. */
typedef struct dir_verdict {
  int rc;           /* CURSUS_OK (go on), TEMPFAIL, PERMFAIL */
  bool hold;        /* CURSUS_OK but to the hold channel */
  char *error;      /* "4.2.1 ..." when rc < 0; allocated */
} dir_verdict;

/* dir_status_parse - the status word VALUE (NULL: active) */
dir_status dir_status_parse(const char *value);
const char *dir_status_name(dir_status st);
/* dir_status_of - the first non-active status of E's ATTRS (NULL-ended) */
dir_status dir_status_of(const cursus_entry *e, const char *const *attrs,
                         const char **value_r);
/* dir_status_mail - the verdict for mail to an entry: DOMAIN (may be
 * NULL) then ENTRY (a user or group; may be NULL for domain-only) */
void dir_status_mail(const cursus_entry *domain, const cursus_entry *entry,
                     dir_verdict *v);
/* dir_status_login - may the user ENTRY of DOMAIN log in?  NULL when yes,
 * else a static reason */
const char *dir_status_login(const cursus_entry *domain,
                             const cursus_entry *entry);
void dir_verdict_clear(dir_verdict *v);

#endif
