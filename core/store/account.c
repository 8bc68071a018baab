/*
 * account.c - users' quotas and partitions from the directory and
 * [store]
 */
#include "build-config.h"
#include "account.h"
#include "config/config.h"
#include "dir/dir.h"
#include "dir/user.h"

#include <stdlib.h>
#include <string.h>

static store_account_resolver *resolver;

void store_account_set_resolver(store_account_resolver *r) { resolver = r; }

void store_account_clear(store_account *acct) {
  g_clear_pointer(&acct->user, g_free);
  g_clear_pointer(&acct->partition, g_free);
}

int64_t store_quota_default(const config *cfg, bool messages) {
  long long v = conf_get_int(cfg != NULL ? cfg->conf : NULL, "store",
                             messages ? "default_message_quota"
                                      : "default_quota",
                             0);
  return v > 0 ? (int64_t)v : -1;
}

/* first_value - the first value of NAME in E, or NULL */
static const char *first_value(const cursus_entry *e, const char *name) {
  const char *v = NULL;
  if (e == NULL)
    return NULL;
  const char **vals = dir_entry_values(e, name);
  if (vals != NULL && vals[0] != NULL)
    v = vals[0];
  g_free(vals);
  return v;
}

/* limit - USER's ATTR, else the domain's DOMAIN_ATTR, else DEFAULT:
 * -1 unlimited, -2 or nothing "the default" */
static int64_t limit(const cursus_entry *user, const char *attr,
                     const cursus_entry *domain, const char *domain_attr,
                     int64_t def) {
  const char *v = first_value(user, attr);
  char *end;
  if (v != NULL) {
    long long n = strtoll(v, &end, 10);
    if (end != v && *end == '\0') {
      if (n == -1)
        return -1;
      if (n >= 0)
        return n;
    }
  }
  v = first_value(domain, domain_attr);
  if (v != NULL) {
    long long n = strtoll(v, &end, 10);
    if (end != v && *end == '\0' && n >= -1)
      return n == -1 ? -1 : n;
  }
  return def;
}

int store_account_resolve(const config *cfg, const char *user,
                          store_account *acct, char **error_r) {
  memset(acct, 0, sizeof(*acct));
  acct->enforce = conf_get_bool(cfg != NULL ? cfg->conf : NULL, "store",
                                "quota_enforcement", true);
  if (resolver != NULL) {
    bool enforce = acct->enforce;
    int r = resolver(user, acct, error_r);
    if (r == CURSUS_OK && acct->user == NULL)
      acct->user = g_strdup(user);
    acct->enforce = acct->enforce && enforce;
    return r;
  }
  int64_t dbytes = store_quota_default(cfg, false);
  int64_t dmsgs = store_quota_default(cfg, true);
  if (!dir_running()) {
    acct->user = g_strdup(user);
    acct->quota_bytes = dbytes;
    acct->quota_messages = dmsgs;
    return CURSUS_OK;
  }
  dir_user *du = NULL;
  int r = dir_find_user(user, 0, &du, error_r);
  if (r != CURSUS_OK)
    return r;
  const cursus_entry *dom = du->domain != NULL ? du->domain->entry : NULL;
  acct->user = g_strdup(du->id);
  acct->quota_bytes = limit(du->entry, "mailQuota", dom, "mailDomainDiskQuota",
                            dbytes);
  acct->quota_messages = limit(du->entry, "mailMsgQuota", dom,
                               "mailDomainMsgQuota", dmsgs);
  const char *part = first_value(du->entry, "mailMessageStore");
  acct->partition = part != NULL && *part != '\0' ? g_strdup(part) : NULL;
  dir_user_free(&du);
  return CURSUS_OK;
}
