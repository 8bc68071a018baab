/*
 * status.c - domain, user and group status (see status.h)
 */
#include "build-config.h"
#include "status.h"

#include <glib.h>

static const char *const names[] = {
    [DIR_STATUS_ACTIVE] = "active",       [DIR_STATUS_INACTIVE] = "inactive",
    [DIR_STATUS_HOLD] = "hold",           [DIR_STATUS_OVERQUOTA] = "overquota",
    [DIR_STATUS_DISABLED] = "disabled",   [DIR_STATUS_DELETED] = "deleted",
    [DIR_STATUS_REMOVED] = "removed",     [DIR_STATUS_UNKNOWN] = "unknown",
};

static const char *const domain_attrs[] = {"inetDomainStatus",
                                           "mailDomainStatus", NULL};
static const char *const entry_attrs[] = {
    "inetUserStatus", "mailUserStatus", "inetMailGroupStatus", NULL};

dir_status dir_status_parse(const char *value) {
  if (value == NULL)
    return DIR_STATUS_ACTIVE;
  for (size_t i = 0; i < G_N_ELEMENTS(names) - 1; i++)
    if (g_ascii_strcasecmp(value, names[i]) == 0)
      return (dir_status)i;
  return DIR_STATUS_UNKNOWN;
}

const char *dir_status_name(dir_status st) { return names[st]; }

dir_status dir_status_of(const cursus_entry *e, const char *const *attrs,
                         const char **value_r) {
  for (const char *const *a = attrs; e != NULL && *a != NULL; a++) {
    const char *v = cursus_entry_value(e, *a);
    dir_status st = dir_status_parse(v);
    if (st != DIR_STATUS_ACTIVE) {
      if (value_r != NULL)
        *value_r = v;
      return st;
    }
  }
  return DIR_STATUS_ACTIVE;
}

/* verdict - the meaning of ST for mail to WHAT */
static void verdict(dir_status st, const char *value, bool domain,
                    const char *what, dir_verdict *v) {
  switch (st) {
  case DIR_STATUS_ACTIVE:
    return;
  case DIR_STATUS_HOLD:
    v->hold = true;
    return;
  case DIR_STATUS_INACTIVE:
    v->rc = CURSUS_TEMPFAIL;
    v->error = g_strdup_printf("4.2.1 %s is temporarily inactive", what);
    return;
  case DIR_STATUS_OVERQUOTA:
    v->rc = CURSUS_TEMPFAIL;
    v->error = g_strdup_printf("4.2.2 %s is over quota", what);
    return;
  case DIR_STATUS_DISABLED:
    v->rc = CURSUS_PERMFAIL;
    v->error = g_strdup_printf("5.2.1 %s is disabled", what);
    return;
  case DIR_STATUS_DELETED:
  case DIR_STATUS_REMOVED:
    v->rc = CURSUS_PERMFAIL;
    v->error = g_strdup(domain ? "5.1.2 no such domain" : "5.1.1 no such user");
    return;
  case DIR_STATUS_UNKNOWN:
    v->rc = CURSUS_TEMPFAIL;
    v->error = g_strdup_printf("4.3.5 %s has an unknown status \"%s\" in the "
                               "directory",
                               what, value);
    return;
  }
}

void dir_status_mail(const cursus_entry *domain, const cursus_entry *entry,
                     dir_verdict *v) {
  const char *value = NULL;
  v->rc = CURSUS_OK;
  v->hold = false;
  v->error = NULL;
  verdict(dir_status_of(domain, domain_attrs, &value), value, true,
          "the domain", v);
  if (v->rc == CURSUS_OK && !v->hold && entry != NULL)
    verdict(dir_status_of(entry, entry_attrs, &value), value, false,
            cursus_entry_kind_of(entry) == CURSUS_ENTRY_GROUP ? "the group"
                                                              : "the mailbox",
            v);
}

const char *dir_status_login(const cursus_entry *domain,
                             const cursus_entry *entry) {
  dir_status st = dir_status_of(domain, domain_attrs, NULL);
  if (st != DIR_STATUS_ACTIVE)
    return "the domain is not active";
  st = dir_status_of(entry, entry_attrs, NULL);
  if (st != DIR_STATUS_ACTIVE && st != DIR_STATUS_OVERQUOTA)
    return st == DIR_STATUS_UNKNOWN ? "the account has an unknown status"
                                    : "the account is not active";
  return NULL;
}

void dir_verdict_clear(dir_verdict *v) {
  g_free(v->error);
  v->error = NULL;
}
