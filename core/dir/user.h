/*
 * user.h - finding a user by what a client or a channel gives: a login
 * ("joe", "joe@example.com") or an address
 *
 * A login with a domain finds the hosted domain first (aliases count),
 * then the user by uid in that domain's base, then by address.  A login
 * without a domain uses `[directory] default_domain`, or the whole
 * directory when there is none (two users with that uid: no match).  The
 * canonical user id is the uid for users of the default domain, else
 * uid@domain (the domain's canonical name): the store and the logs know
 * users by it.  Thread-safe.
 */
#ifndef CURSUS_DIR_USER_H
#define CURSUS_DIR_USER_H

#include "domain.h"

typedef struct dir_user {
  cursus_entry *entry;
  dir_domain *domain; /* the user's hosted domain, or NULL */
  char *id;           /* canonical user id */
} dir_user;

/* dir_find_user - CURSUS_OK with *user_r, CURSUS_NONE (no such user, or
 * ambiguous: *error_r says which), TEMPFAIL with *error_r */
int dir_find_user(const char *login, unsigned flags, dir_user **user_r,
                  char **error_r);
void dir_user_free(dir_user **u);
/* dir_user_id - the canonical id of user E in domain D (may be NULL) */
char *dir_user_id(const cursus_entry *e, const dir_domain *d);

#endif
