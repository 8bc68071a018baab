/*
 * user.c - finding users by login or address (see user.h)
 */
#include "build-config.h"
#include "user.h"
#include "address.h"
#include "dir.h"

#include <string.h>

char *dir_user_id(const cursus_entry *e, const dir_domain *d) {
  const char *uid = cursus_entry_value(e, "uid");
  if (uid == NULL)
    uid = cursus_entry_value(e, "mail");
  if (d == NULL || d->is_default || uid == NULL || strchr(uid, '@') != NULL)
    return g_strdup(uid != NULL ? uid : e->dn);
  return g_strdup_printf("%s@%s", uid, d->name);
}

/* by_uid_or_address - in BASE: uid LOCAL, else the address LOGIN, else
 * LOCAL in the domain's canonical name CANON (LOGIN may name an alias) */
static int by_uid_or_address(const char *base, const char *local,
                             const char *login, const char *canon,
                             unsigned flags, cursus_entry **e_r,
                             char **error_r) {
  int rc = dir_lookup_uid(base, local, flags, e_r, error_r);
  if (rc == CURSUS_NONE && login != NULL && strchr(login, '@') != NULL) {
    g_free(*error_r);
    *error_r = NULL;
    rc = dir_lookup_address(base, login, CURSUS_ENTRY_USER, flags, e_r,
                            error_r);
  }
  if (rc == CURSUS_NONE && login != NULL && canon != NULL) {
    char *address = g_strdup_printf("%s@%s", local, canon);
    g_free(*error_r);
    *error_r = NULL;
    if (!dir_addr_equal(address, login))
      rc = dir_lookup_address(base, address, CURSUS_ENTRY_USER, flags, e_r,
                              error_r);
    g_free(address);
  }
  if (rc == CURSUS_PERMFAIL) {
    char *why = *error_r;
    *error_r = g_strdup_printf("login %s is ambiguous: %s", login, why);
    g_free(why);
    rc = CURSUS_NONE;
  }
  return rc;
}

int dir_find_user(const char *login, unsigned flags, dir_user **user_r,
                  char **error_r) {
  const dir_settings *s = dir_settings_get();
  const char *at = strrchr(login, '@');
  char *local = at != NULL ? g_strndup(login, (gsize)(at - login))
                           : g_strdup(login);
  const char *dname = at != NULL ? at + 1
                      : s != NULL ? s->default_domain
                                  : NULL;
  dir_domain *dom = NULL;
  cursus_entry *e = NULL;
  int rc = CURSUS_OK;
  if (*local == '\0' || (at != NULL && at[1] == '\0')) {
    *error_r = g_strdup("empty login");
    rc = CURSUS_NONE;
  } else if (dname != NULL) {
    rc = dir_find_domain(dname, flags, &dom, error_r);
    if (rc == CURSUS_OK)
      rc = by_uid_or_address(dom->base_dn, local, login, dom->name, flags, &e,
                             error_r);
  } else {
    rc = by_uid_or_address("", local, NULL, NULL, flags, &e, error_r);
  }
  if (rc == CURSUS_OK && dom == NULL) {
    char *error = NULL;
    if (dir_domain_of_entry(e, &dom, &error) != CURSUS_OK)
      dom = NULL;
    g_free(error);
  }
  if (rc == CURSUS_OK && dom != NULL && dom->vanity) {
    dir_domain *home = NULL;
    char *error = NULL;
    dir_domain_free(&dom);
    if (dir_domain_of_entry(e, &home, &error) == CURSUS_OK)
      dom = home;
    g_free(error);
  }
  if (rc == CURSUS_OK) {
    dir_user *u = g_new0(dir_user, 1);
    u->entry = e;
    u->domain = dom;
    u->id = dir_user_id(e, dom);
    *user_r = u;
  } else {
    dir_domain_free(&dom);
  }
  g_free(local);
  return rc;
}

void dir_user_free(dir_user **up) {
  dir_user *u = *up;
  if (u == NULL)
    return;
  dir_entry_free(&u->entry);
  dir_domain_free(&u->domain);
  g_free(u->id);
  g_free(u);
  *up = NULL;
}
