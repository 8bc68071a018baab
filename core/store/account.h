/*
 * account.h - a user's store account: canonical id, quota and partition
 *
 * From the directory when one runs in this process: the user entry's
 * mailQuota (octets) and mailMsgQuota (messages), where -1 means
 * unlimited and -2 or no value means "the default"; the default is the
 * hosted domain's mailDomainDiskQuota / mailDomainMsgQuota, else
 * `[store] default_quota` / `default_message_quota` (0: unlimited).
 * mailMessageStore names the partition for a new user.  Without a
 * directory every user gets the [store] defaults.
 *
 * Another resolver (tests, an external provisioning system) can take the
 * directory's place with store_account_set_resolver.
 */
#ifndef CURSUS_STORE_ACCOUNT_H
#define CURSUS_STORE_ACCOUNT_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/cursus.h>

struct config;

/* A resolved account; strings owned by it. */
typedef struct store_account {
  char *user;      /* canonical user id                          */
  char *partition; /* NULL: the store's choice                  */
  int64_t quota_bytes, quota_messages; /* -1: unlimited          */
  bool enforce;
} store_account;

/* A resolver: CURSUS_OK with ACCT filled, CURSUS_NONE (no such user),
 * TEMPFAIL with *error_r (allocated). */
typedef int store_account_resolver(const char *user, store_account *acct,
                                   char **error_r);

/* store_account_resolve - the account of USER (a login or user id) */
int store_account_resolve(const struct config *cfg, const char *user,
                          store_account *acct, char **error_r);
void store_account_clear(store_account *acct);
/* store_account_set_resolver - use RESOLVER instead of the directory
 * (NULL: back to the directory) */
void store_account_set_resolver(store_account_resolver *resolver);
/* store_quota_default - [store] default in octets or messages, -1 for
 * unlimited */
int64_t store_quota_default(const struct config *cfg, bool messages);

#endif
