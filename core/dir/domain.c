/*
 * domain.c - hosted domains (see domain.h)
 */
#include "build-config.h"
#include "domain.h"
#include "address.h"
#include "dir.h"

#include <idn2.h>
#include <string.h>

bool dir_is_local_host(const char *name) {
  const dir_settings *s = dir_settings_get();
  if (g_ascii_strcasecmp(name, "localhost") == 0)
    return true;
  for (char **h = s != NULL ? s->local_hosts : NULL; h != NULL && *h != NULL;
       h++)
    if (g_ascii_strcasecmp(name, *h) == 0)
      return true;
  return false;
}

/* other_form - NAME in punycode when it is UTF-8 and the reverse, or NULL
 * when it has only one form */
static char *other_form(const char *name) {
  char *out = NULL;
  bool ascii = true;
  for (const char *c = name; *c != '\0'; c++)
    ascii &= (unsigned char)*c < 0x80;
  if (!ascii) {
    if (idn2_to_ascii_8z(name, &out, IDN2_NONTRANSITIONAL) != IDN2_OK)
      return NULL;
  } else if (strstr(name, "xn--") != NULL) {
    if (idn2_to_unicode_8z8z(name, &out, 0) != IDN2_OK)
      return NULL;
  } else {
    return NULL;
  }
  char *copy = g_utf8_strdown(out, -1);
  idn2_free(out);
  return copy;
}

/* make_domain - the dir_domain for entry E found for NAME */
static dir_domain *make_domain(cursus_entry *e, const char *name) {
  const dir_settings *s = dir_settings_get();
  dir_domain *d = g_new0(dir_domain, 1);
  d->entry = e;
  d->vanity = cursus_entry_kind_of(e) != CURSUS_ENTRY_DOMAIN;
  const char *canon = d->vanity ? NULL : cursus_entry_value(e, "sunPreferredDomain");
  if (canon == NULL && !d->vanity)
    canon = cursus_entry_value(e, "associatedDomain");
  d->name = g_ascii_strdown(canon != NULL ? canon : name, -1);
  const char *base = d->vanity ? "" : cursus_entry_value(e, "inetDomainBaseDN");
  d->base_dn = g_strdup(base != NULL ? base : e->dn);
  d->is_default = s != NULL && s->default_domain != NULL && !d->vanity &&
                  (g_ascii_strcasecmp(d->name, s->default_domain) == 0 ||
                   cursus_entry_has(e, "associatedDomain", s->default_domain));
  return d;
}

/* lookup_name - NAME or its other IDN form */
static int lookup_name(const char *name, unsigned flags, cursus_entry **e_r,
                       char **error_r) {
  int rc = dir_lookup_domain(name, flags, e_r, error_r);
  char *other = rc == CURSUS_NONE ? other_form(name) : NULL;
  if (other != NULL) {
    rc = dir_lookup_domain(other, flags, e_r, error_r);
    g_free(other);
  }
  return rc;
}

int dir_find_domain(const char *name, unsigned flags, dir_domain **dom_r,
                    char **error_r) {
  const dir_settings *s = dir_settings_get();
  char *folded = g_utf8_strdown(name, -1);
  size_t len = strlen(folded);
  if (len > 0 && folded[len - 1] == '.')
    folded[len - 1] = '\0';
  if (dir_is_local_host(folded)) {
    g_free(folded);
    if (s == NULL || s->default_domain == NULL)
      return CURSUS_NONE;
    folded = g_strdup(s->default_domain);
  }
  if (!dir_domain_check(folded, error_r)) {
    g_free(folded);
    return CURSUS_NONE;
  }
  cursus_entry *e = NULL;
  int rc = CURSUS_NONE;
  /* the name itself, then (uplevel) its parents: a.b.example.com,
   * b.example.com, example.com; never a top-level label alone */
  for (const char *try = folded; try != NULL;) {
    rc = lookup_name(try, flags, &e, error_r);
    if (rc != CURSUS_NONE || s == NULL || !s->domain_uplevel)
      break;
    const char *dot = strchr(try, '.');
    try = dot != NULL && strchr(dot + 1, '.') != NULL ? dot + 1 : NULL;
  }
  if (rc == CURSUS_OK)
    *dom_r = make_domain(e, folded);
  g_free(folded);
  return rc;
}

void dir_domain_free(dir_domain **dp) {
  dir_domain *d = *dp;
  if (d == NULL)
    return;
  dir_entry_free(&d->entry);
  g_free(d->name);
  g_free(d->base_dn);
  g_free(d);
  *dp = NULL;
}

int dir_domain_of_entry(const cursus_entry *e, dir_domain **dom_r,
                        char **error_r) {
  const char *mail = cursus_entry_value(e, "mail");
  char *domain = mail != NULL ? dir_addr_domain(mail) : NULL;
  if (domain == NULL) {
    *error_r = g_strdup_printf("entry %s has no mail address", e->dn);
    return CURSUS_NONE;
  }
  int rc = dir_find_domain(domain, 0, dom_r, error_r);
  g_free(domain);
  return rc;
}
