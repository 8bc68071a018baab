/*
 * provision.c - provisioning users, groups and domains (see provision.h)
 */
#include "build-config.h"
#include "provision.h"
#include "address.h"
#include "auth/passwd.h"
#include "config/conf.h"
#include "config/config.h"
#include "dir.h"
#include "domain.h"
#include "status.h"
#include "user.h"
#include "values.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ requests */

static void change_free(gpointer p) {
  prov_change *c = p;
  g_free(c->attr);
  g_ptr_array_free(c->values, TRUE);
  g_free(c);
}

prov_request *prov_request_new(prov_kind kind, const char *name) {
  prov_request *r = g_new0(prov_request, 1);
  r->kind = kind;
  r->name = g_strdup(name);
  r->changes = g_ptr_array_new_with_free_func(change_free);
  return r;
}

void prov_request_free(prov_request **rp) {
  prov_request *r = *rp;
  if (r == NULL)
    return;
  g_free(r->name);
  g_ptr_array_free(r->changes, TRUE);
  if (r->password != NULL)
    memset(r->password, 0, strlen(r->password));
  g_free(r->password);
  g_free(r->scheme);
  g_free(r);
  *rp = NULL;
}

void prov_change_add(prov_request *r, cursus_mod_op op, const char *attr,
                     const char *value) {
  prov_change *c = NULL;
  for (guint i = 0; i < r->changes->len && c == NULL; i++) {
    prov_change *x = r->changes->pdata[i];
    if (x->op == op && g_ascii_strcasecmp(x->attr, attr) == 0)
      c = x;
  }
  if (c == NULL) {
    c = g_new0(prov_change, 1);
    c->op = op;
    c->attr = g_strdup(attr);
    c->values = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(r->changes, c);
  }
  if (value != NULL)
    g_ptr_array_add(c->values, g_strdup(value));
}

/* value_ok - VALUE may be given for ATTR: passwords only hashed here */
static bool value_ok(const char *attr, const char *value, char **error_r) {
  if (g_ascii_strcasecmp(attr, "userPassword") == 0 ||
      g_ascii_strcasecmp(attr, "authPassword") == 0) {
    *error_r = g_strdup_printf("set passwords with --password-stdin or "
                               "--password-file, not as %s values",
                               attr);
    return false;
  }
  return dir_check_value(attr, value, error_r);
}

/* ------------------------------------------------------------- entries */

/* An entry the core builds for dir_add. */
typedef struct pentry {
  cursus_entry e;
  GArray *attrs;      /* of cursus_attr */
  GPtrArray *owned;   /* strings and arrays to free */
} pentry;

static pentry *pentry_new(const char *dn) {
  pentry *p = g_new0(pentry, 1);
  p->attrs = g_array_new(FALSE, TRUE, sizeof(cursus_attr));
  p->owned = g_ptr_array_new_with_free_func(g_free);
  p->e.dn = g_strdup(dn);
  g_ptr_array_add(p->owned, (char *)p->e.dn);
  return p;
}

/* pentry_add - VALUE for NAME */
static void pentry_add(pentry *p, const char *name, const char *value) {
  cursus_attr *a = NULL;
  for (guint i = 0; i < p->attrs->len && a == NULL; i++)
    if (g_ascii_strcasecmp(g_array_index(p->attrs, cursus_attr, i).name,
                           name) == 0)
      a = &g_array_index(p->attrs, cursus_attr, i);
  if (a == NULL) {
    cursus_attr na = {g_intern_string(name), 0, NULL};
    g_array_append_val(p->attrs, na);
    a = &g_array_index(p->attrs, cursus_attr, p->attrs->len - 1);
  }
  for (size_t v = 0; v < a->n_values; v++)
    if (g_ascii_strcasecmp(a->values[v], value) == 0)
      return;
  const char **vals = g_new(const char *, a->n_values + 1);
  if (a->n_values > 0)
    memcpy(vals, a->values, a->n_values * sizeof(char *));
  char *copy = g_strdup(value);
  vals[a->n_values++] = copy;
  a->values = vals;
  g_ptr_array_add(p->owned, copy);
  g_ptr_array_add(p->owned, vals);
}

/* pentry_finish - the cursus_entry view */
static const cursus_entry *pentry_entry(pentry *p) {
  p->e.n_attrs = p->attrs->len;
  p->e.attrs = (const cursus_attr *)p->attrs->data;
  return &p->e;
}

static void pentry_free(pentry **pp) {
  if (*pp == NULL)
    return;
  g_array_free((*pp)->attrs, TRUE);
  g_ptr_array_free((*pp)->owned, TRUE);
  g_free(*pp);
  *pp = NULL;
}

/* ------------------------------------------------------------ lookups */

/* used_by - the DN of a user or group with ADDRESS other than SELF, or
 * NULL; TEMPFAIL in *rc_r on failure */
static char *used_by(const char *address, const char *self, int *rc_r,
                     char **error_r) {
  cursus_entry *e = NULL;
  char *error = NULL;
  *rc_r = dir_lookup_address("", address,
                             CURSUS_ENTRY_USER | CURSUS_ENTRY_GROUP,
                             CURSUS_DIR_FRESH, &e, &error);
  char *dn = NULL;
  if (*rc_r == CURSUS_OK && (self == NULL || g_ascii_strcasecmp(e->dn, self)))
    dn = g_strdup(e->dn);
  else if (*rc_r == CURSUS_PERMFAIL)
    dn = g_strdup("several entries");
  if (*rc_r < 0 && *rc_r != CURSUS_PERMFAIL) {
    *error_r = error;
    error = NULL;
  } else {
    *rc_r = CURSUS_OK;
  }
  g_free(error);
  dir_entry_free(&e);
  return dn;
}

/* hosted - the hosted domain of ADDRESS (FRESH); NONE with *error_r */
static int hosted(const char *address, dir_domain **dom_r, char **error_r) {
  char *domain = dir_addr_domain(address);
  char *error = NULL;
  int rc = domain != NULL ? dir_find_domain(domain, CURSUS_DIR_FRESH, dom_r,
                                            &error)
                          : CURSUS_NONE;
  if (rc == CURSUS_OK && (*dom_r)->vanity) {
    dir_domain_free(dom_r);
    rc = CURSUS_NONE;
  }
  if (rc == CURSUS_NONE) {
    *error_r = g_strdup_printf("%s is not a hosted domain (add it with "
                               "`cursus domain add %s`)",
                               domain != NULL ? domain : address,
                               domain != NULL ? domain : "DOMAIN");
    g_free(error);
  } else if (rc < 0) {
    *error_r = error;
  }
  g_free(domain);
  return rc;
}

int prov_find(prov_kind kind, const char *name, cursus_entry **entry_r,
              char **error_r) {
  char *error = NULL;
  int rc;
  if (kind == PROV_DOMAIN) {
    dir_domain *d = NULL;
    rc = dir_find_domain(name, CURSUS_DIR_FRESH, &d, &error);
    if (rc == CURSUS_OK && d->vanity) {
      dir_domain_free(&d);
      rc = CURSUS_NONE;
    }
    if (rc == CURSUS_OK) {
      *entry_r = d->entry;
      d->entry = NULL;
      dir_domain_free(&d);
    }
  } else if (kind == PROV_USER) {
    dir_user *u = NULL;
    rc = dir_find_user(name, CURSUS_DIR_FRESH, &u, &error);
    if (rc == CURSUS_OK) {
      *entry_r = u->entry;
      u->entry = NULL;
      dir_user_free(&u);
    }
  } else {
    dir_domain *d = NULL;
    rc = hosted(name, &d, &error);
    if (rc == CURSUS_OK) {
      g_free(error);
      error = NULL;
      rc = dir_lookup_address(d->base_dn, name, CURSUS_ENTRY_GROUP,
                              CURSUS_DIR_FRESH, entry_r, &error);
      dir_domain_free(&d);
    }
  }
  if (rc == CURSUS_NONE) {
    static const char *const what[] = {"user", "group", "domain"};
    *error_r = g_strdup_printf("no %s %s", what[kind], name);
    g_free(error);
  } else if (rc < 0) {
    *error_r = error;
  } else {
    g_free(error);
  }
  return rc;
}

/* -------------------------------------------------------------- adding */

/* conf_value - a value of cursus.conf (or its default) */
static const char *conf_value(const char *group, const char *key) {
  config *cfg = config_current();
  return conf_get(cfg != NULL ? cfg->conf : NULL, group, key);
}

/* add_password - userPassword and authPassword of R's password */
static bool add_password(pentry *p, const prov_request *r, char **error_r) {
  const char *scheme = r->scheme != NULL ? r->scheme
                                         : conf_value("auth", "password_scheme");
  char *hash = passwd_hash(scheme, r->password, error_r);
  if (hash == NULL)
    return false;
  unsigned iterations = r->scram_iterations > 0 ? r->scram_iterations : 4096;
  char *scram = passwd_scram("SCRAM-SHA-256", r->password, iterations, error_r);
  if (scram == NULL) {
    g_free(hash);
    return false;
  }
  pentry_add(p, "userPassword", hash);
  pentry_add(p, "authPassword", scram);
  g_free(hash);
  g_free(scram);
  return true;
}

/* apply_request - R's values into P, checked */
static bool apply_request(pentry *p, const prov_request *r, char **error_r) {
  for (guint i = 0; i < r->changes->len; i++) {
    const prov_change *c = r->changes->pdata[i];
    if (c->op == CURSUS_MOD_DELETE) {
      *error_r = g_strdup_printf("cannot remove %s from a new entry", c->attr);
      return false;
    }
    for (guint v = 0; v < c->values->len; v++) {
      if (!value_ok(c->attr, c->values->pdata[v], error_r))
        return false;
      pentry_add(p, c->attr, c->values->pdata[v]);
    }
  }
  return true;
}

/* check_addresses - every address of E is free, in a hosted domain */
static int check_addresses(const cursus_entry *e, const char *self,
                           char **error_r) {
  static const char *const attrs[] = {"mail", "mailAlternateAddress",
                                      "mailEquivalentAddress"};
  for (size_t k = 0; k < G_N_ELEMENTS(attrs); k++) {
    const cursus_attr *a = cursus_entry_attr(e, attrs[k]);
    for (size_t i = 0; a != NULL && i < a->n_values; i++) {
      const char *addr = a->values[i];
      dir_domain *d = NULL;
      int rc = hosted(addr, &d, error_r);
      dir_domain_free(&d);
      if (rc != CURSUS_OK)
        return rc == CURSUS_NONE ? CURSUS_PERMFAIL : rc;
      char *other = used_by(addr, self, &rc, error_r);
      if (rc < 0)
        return rc;
      if (other != NULL) {
        *error_r = g_strdup_printf("address %s is already used by %s", addr,
                                   other);
        g_free(other);
        return CURSUS_PERMFAIL;
      }
    }
  }
  return CURSUS_OK;
}

/* entry_exists - CURSUS_OK when DN exists, NONE when not, or a failure
 * with *error_r */
static int entry_exists(const char *dn, char **error_r) {
  cursus_entry *e = NULL;
  char *error = NULL;
  int rc = dir_lookup_dn(dn, CURSUS_DIR_FRESH, &e, &error);
  dir_entry_free(&e);
  if (rc < 0)
    *error_r = error;
  else
    g_free(error);
  return rc;
}

/* ensure_entry - DN exists, created with objectClass CLASS and
 * ATTR=VALUE when missing */
static int ensure_entry(const char *dn, const char *cls, const char *attr,
                        const char *value, char **error_r) {
  int rc = entry_exists(dn, error_r);
  if (rc != CURSUS_NONE)
    return rc;
  pentry *p = pentry_new(dn);
  pentry_add(p, "objectClass", "top");
  pentry_add(p, "objectClass", cls);
  pentry_add(p, attr, value);
  rc = dir_add(pentry_entry(p), error_r);
  pentry_free(&p);
  return rc;
}

/* ensure_base - the top entry BASE_DN (o=, ou= or dc= of one RDN) exists;
 * deeper bases must be created by the administrator */
static int ensure_base(const char *base_dn, char **error_r) {
  static const struct {
    const char *attr, *cls;
  } tops[] = {{"o", "organization"},
              {"ou", "organizationalUnit"},
              {"dc", "domain"}};
  const char *eq = strchr(base_dn, '=');
  int rc = entry_exists(base_dn, error_r);
  if (rc != CURSUS_NONE)
    return rc;
  for (size_t i = 0; eq != NULL && strchr(base_dn, ',') == NULL &&
                     i < G_N_ELEMENTS(tops);
       i++)
    if (g_ascii_strncasecmp(base_dn, tops[i].attr, (gsize)(eq - base_dn)) ==
            0 &&
        strlen(tops[i].attr) == (size_t)(eq - base_dn))
      return ensure_entry(base_dn, tops[i].cls, tops[i].attr, eq + 1,
                          error_r);
  *error_r = g_strdup_printf("the entry %s ([directory] base_dn) does not "
                             "exist; create it first",
                             base_dn);
  return CURSUS_PERMFAIL;
}

/* rdn_value - VALUE escaped for use in a DN (RFC 4514) */
static char *rdn_value(const char *value) {
  GString *out = g_string_new(NULL);
  for (const char *c = value; *c != '\0'; c++) {
    if (strchr(",+\"\\<>;=", *c) != NULL || (c == value && (*c == ' ' || *c == '#')) ||
        (c[1] == '\0' && *c == ' '))
      g_string_append_c(out, '\\');
    g_string_append_c(out, *c);
  }
  return g_string_free(out, FALSE);
}

/* first_value - the first value R gives for ATTR, or NULL */
static const char *first_value(const prov_request *r, const char *attr) {
  for (guint i = 0; i < r->changes->len; i++) {
    const prov_change *c = r->changes->pdata[i];
    if (g_ascii_strcasecmp(c->attr, attr) == 0 && c->values->len > 0)
      return c->values->pdata[0];
  }
  return NULL;
}

/* add_domain - a domain entry with People and Groups */
static int add_domain(const prov_request *r, const char *base_dn, char **dn_r,
                      char **error_r) {
  char *name = g_ascii_strdown(r->name, -1);
  cursus_entry *e = NULL;
  int rc = CURSUS_OK;
  if (!dir_domain_check(name, error_r)) {
    g_free(name);
    return CURSUS_PERMFAIL;
  }
  rc = ensure_base(base_dn, error_r);
  char *esc = rdn_value(name);
  char *dn = g_strdup_printf("o=%s,%s", esc, base_dn);
  g_free(esc);
  pentry *p = pentry_new(dn);
  for (const char *const *oc = (const char *const[]){"top", "organization",
                                                     "sunManagedOrganization",
                                                     "inetDomain",
                                                     "mailDomain", NULL};
       *oc != NULL; oc++)
    pentry_add(p, "objectClass", *oc);
  pentry_add(p, "o", name);
  pentry_add(p, "sunPreferredDomain", name);
  pentry_add(p, "associatedDomain", name);
  pentry_add(p, "inetDomainStatus", "active");
  pentry_add(p, "mailDomainStatus", "active");
  if (rc == CURSUS_OK && !apply_request(p, r, error_r))
    rc = CURSUS_PERMFAIL;
  const cursus_attr *names = cursus_entry_attr(pentry_entry(p),
                                               "associatedDomain");
  for (size_t i = 0; rc == CURSUS_OK && i < names->n_values; i++) {
    char *error = NULL;
    int found = dir_lookup_domain(names->values[i], CURSUS_DIR_FRESH, &e,
                                  &error);
    if (found == CURSUS_OK) {
      *error_r = g_strdup_printf("domain %s is already used by %s",
                                 names->values[i], e->dn);
      rc = CURSUS_PERMFAIL;
    } else if (found < 0) {
      *error_r = error;
      error = NULL;
      rc = found == CURSUS_PERMFAIL ? CURSUS_PERMFAIL : CURSUS_TEMPFAIL;
    }
    g_free(error);
    dir_entry_free(&e);
  }
  if (rc == CURSUS_OK)
    rc = dir_add(pentry_entry(p), error_r);
  static const char *const ous[] = {"People", "Groups"};
  for (size_t i = 0; rc == CURSUS_OK && i < G_N_ELEMENTS(ous); i++) {
    char *ou = g_strdup_printf("ou=%s,%s", ous[i], dn);
    rc = ensure_entry(ou, "organizationalUnit", "ou", ous[i], error_r);
    g_free(ou);
  }
  if (rc == CURSUS_OK)
    *dn_r = g_strdup(dn);
  pentry_free(&p);
  g_free(dn);
  g_free(name);
  return rc;
}

/* local_of - the local part of ADDRESS */
static char *local_of(const char *address) {
  const char *at = strrchr(address, '@');
  return g_strndup(address, at != NULL ? (gsize)(at - address) : strlen(address));
}

/* add_member_entry - a user or group entry */
static int add_member_entry(const prov_request *r, char **dn_r,
                            char **error_r) {
  dir_domain *d = NULL;
  int rc = CURSUS_OK;
  if (!dir_addr_check(r->name, false, error_r))
    return CURSUS_PERMFAIL;
  rc = hosted(r->name, &d, error_r);
  if (rc != CURSUS_OK)
    return rc == CURSUS_NONE ? CURSUS_PERMFAIL : rc;
  char *domain = dir_addr_domain(r->name);
  if (g_ascii_strcasecmp(domain, d->name) != 0) {
    *error_r = g_strdup_printf("%s is an alias of %s: name the entry by its "
                               "address in %s (addresses in aliases resolve "
                               "to it)",
                               domain, d->name, d->name);
    g_free(domain);
    dir_domain_free(&d);
    return CURSUS_PERMFAIL;
  }
  g_free(domain);
  bool user = r->kind == PROV_USER;
  char *local = local_of(r->name);
  const char *id = user ? first_value(r, "uid") : first_value(r, "cn");
  char *idv = g_strdup(id != NULL ? id : local);
  char *esc = rdn_value(idv);
  char *dn = g_strdup_printf("%s=%s,ou=%s,%s", user ? "uid" : "cn", esc,
                             user ? "People" : "Groups", d->base_dn);
  g_free(esc);
  pentry *p = pentry_new(dn);
  static const char *const user_oc[] = {
      "top", "person", "organizationalPerson", "inetOrgPerson", "inetUser",
      "inetMailUser", "inetLocalMailRecipient", NULL};
  static const char *const group_oc[] = {"top", "groupOfURLs", "inetMailGroup",
                                         "inetLocalMailRecipient", NULL};
  for (const char *const *oc = user ? user_oc : group_oc; *oc != NULL; oc++)
    pentry_add(p, "objectClass", *oc);
  pentry_add(p, "mail", r->name);
  pentry_add(p, user ? "uid" : "cn", idv);
  if (!apply_request(p, r, error_r))
    rc = CURSUS_PERMFAIL;
  const cursus_entry *e = pentry_entry(p);
  const cursus_attr *mail = cursus_entry_attr(e, "mail");
  if (rc == CURSUS_OK && mail->n_values > 1) {
    *error_r = g_strdup("the mail address is the entry's name; give other "
                        "addresses as aliases");
    rc = CURSUS_PERMFAIL;
  }
  if (user) {
    const char *cn = first_value(r, "cn");
    if (cn == NULL)
      pentry_add(p, "cn", idv);
    if (first_value(r, "sn") == NULL) {
      const char *last = cn != NULL ? strrchr(cn, ' ') : NULL;
      pentry_add(p, "sn", last != NULL ? last + 1 : cn != NULL ? cn : idv);
    }
    if (first_value(r, "inetUserStatus") == NULL)
      pentry_add(p, "inetUserStatus", "active");
    if (first_value(r, "mailUserStatus") == NULL)
      pentry_add(p, "mailUserStatus", "active");
    if (first_value(r, "mailDeliveryOption") == NULL)
      pentry_add(p, "mailDeliveryOption", "mailbox");
    if (rc == CURSUS_OK && r->password != NULL && !add_password(p, r, error_r))
      rc = CURSUS_PERMFAIL;
  } else {
    if (first_value(r, "inetMailGroupStatus") == NULL)
      pentry_add(p, "inetMailGroupStatus", "active");
  }
  e = pentry_entry(p);
  if (rc == CURSUS_OK)
    rc = check_addresses(e, NULL, error_r);
  if (rc == CURSUS_OK && user) {
    cursus_entry *other = NULL;
    char *error = NULL;
    int found = dir_lookup_uid(d->base_dn, idv, CURSUS_DIR_FRESH, &other,
                               &error);
    if (found != CURSUS_NONE) {
      *error_r = found == CURSUS_OK || found == CURSUS_PERMFAIL
                     ? g_strdup_printf("uid %s is already used in %s", idv,
                                       d->name)
                     : g_strdup(error);
      rc = found == CURSUS_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_PERMFAIL;
    }
    g_free(error);
    dir_entry_free(&other);
  }
  if (rc == CURSUS_OK) {
    char *ou = g_strdup_printf("ou=%s,%s", user ? "People" : "Groups",
                               d->base_dn);
    rc = ensure_entry(ou, "organizationalUnit", "ou",
                      user ? "People" : "Groups", error_r);
    g_free(ou);
  }
  if (rc == CURSUS_OK)
    rc = dir_add(e, error_r);
  if (rc == CURSUS_OK)
    *dn_r = g_strdup(dn);
  pentry_free(&p);
  g_free(dn);
  g_free(idv);
  g_free(local);
  dir_domain_free(&d);
  return rc;
}

int prov_add(const prov_request *r, const char *base_dn, char **dn_r,
             char **error_r) {
  if (r->kind == PROV_DOMAIN)
    return add_domain(r, base_dn, dn_r, error_r);
  if (r->kind == PROV_GROUP && r->password != NULL) {
    *error_r = g_strdup("groups have no password");
    return CURSUS_PERMFAIL;
  }
  return add_member_entry(r, dn_r, error_r);
}

/* ----------------------------------------------------------- modifying */

int prov_modify(const prov_request *r, char **error_r) {
  cursus_entry *e = NULL;
  int rc = prov_find(r->kind, r->name, &e, error_r);
  if (rc != CURSUS_OK)
    return rc;
  GArray *mods = g_array_new(FALSE, TRUE, sizeof(cursus_mod));
  pentry *added = pentry_new(e->dn), *pw = NULL;
  for (guint i = 0; rc == CURSUS_OK && i < r->changes->len; i++) {
    const prov_change *c = r->changes->pdata[i];
    for (guint v = 0; rc == CURSUS_OK && v < c->values->len; v++) {
      if (c->op != CURSUS_MOD_DELETE &&
          !value_ok(c->attr, c->values->pdata[v], error_r))
        rc = CURSUS_PERMFAIL;
      else if (c->op != CURSUS_MOD_DELETE)
        pentry_add(added, c->attr, c->values->pdata[v]);
    }
    cursus_mod m = {c->op, c->attr, c->values->len,
                    (const char *const *)c->values->pdata};
    g_array_append_val(mods, m);
  }
  if (rc == CURSUS_OK && r->password != NULL) {
    pw = pentry_new(e->dn);
    if (!add_password(pw, r, error_r)) {
      rc = CURSUS_PERMFAIL;
    } else {
      const cursus_entry *pe = pentry_entry(pw);
      for (size_t a = 0; a < pe->n_attrs; a++) {
        cursus_mod m = {CURSUS_MOD_REPLACE, pe->attrs[a].name, 1,
                        pe->attrs[a].values};
        g_array_append_val(mods, m);
      }
    }
  }
  if (rc == CURSUS_OK && r->kind != PROV_DOMAIN)
    rc = check_addresses(pentry_entry(added), e->dn, error_r);
  if (rc == CURSUS_OK && mods->len == 0) {
    *error_r = g_strdup("nothing to change");
    rc = CURSUS_PERMFAIL;
  }
  if (rc == CURSUS_OK)
    rc = dir_modify(e->dn, (const cursus_mod *)mods->data, mods->len, error_r);
  pentry_free(&pw);
  pentry_free(&added);
  g_array_free(mods, TRUE);
  dir_entry_free(&e);
  return rc;
}

/* ------------------------------------------------------------ deleting */

static int count_cb(void *data, const cursus_entry *e) {
  (*(unsigned *)data)++;
  return 0;
}

/* children - how many entries are directly below DN */
static int children(const char *dn, unsigned *n_r, char **error_r) {
  *n_r = 0;
  return dir_search(dn, CURSUS_SCOPE_ONE, "(objectClass=*)", 0,
                    CURSUS_DIR_FRESH, count_cb, n_r, error_r);
}

int prov_delete(prov_kind kind, const char *name, char **error_r) {
  cursus_entry *e = NULL;
  int rc = prov_find(kind, name, &e, error_r);
  if (rc != CURSUS_OK)
    return rc;
  if (kind == PROV_DOMAIN) {
    static const char *const ous[] = {"People", "Groups"};
    for (size_t i = 0; rc == CURSUS_OK && i < G_N_ELEMENTS(ous); i++) {
      char *ou = g_strdup_printf("ou=%s,%s", ous[i], e->dn);
      unsigned n = 0;
      char *error = NULL;
      rc = children(ou, &n, &error);
      if (rc == CURSUS_PERMFAIL) { /* no such ou */
        rc = CURSUS_OK;
      } else if (rc == CURSUS_OK && n > 0) {
        *error_r = g_strdup_printf("domain %s still has %u %s; delete them "
                                   "first",
                                   name, n, i == 0 ? "user(s)" : "group(s)");
        rc = CURSUS_PERMFAIL;
      } else if (rc == CURSUS_OK) {
        rc = dir_remove(ou, error_r);
      } else {
        *error_r = error;
        error = NULL;
      }
      g_free(error);
      g_free(ou);
    }
  }
  if (rc == CURSUS_OK)
    rc = dir_remove(e->dn, error_r);
  dir_entry_free(&e);
  return rc;
}

/* ------------------------------------------------------------- showing */

int prov_show(prov_kind kind, const char *name, GString *out,
              char **error_r) {
  cursus_entry *e = NULL;
  int rc = prov_find(kind, name, &e, error_r);
  if (rc != CURSUS_OK)
    return rc;
  g_string_append_printf(out, "dn: %s\n", e->dn);
  for (size_t a = 0; a < e->n_attrs; a++) {
    bool secret = g_ascii_strcasecmp(e->attrs[a].name, "userPassword") == 0 ||
                  g_ascii_strcasecmp(e->attrs[a].name, "authPassword") == 0;
    for (size_t v = 0; v < e->attrs[a].n_values; v++)
      g_string_append_printf(out, "%s: %s\n", e->attrs[a].name,
                             secret ? "(hidden)" : e->attrs[a].values[v]);
  }
  dir_entry_free(&e);
  return CURSUS_OK;
}

typedef struct list_ctx {
  GString *out;
  prov_kind kind;
} list_ctx;

static int list_cb(void *data, const cursus_entry *e) {
  list_ctx *l = data;
  if (l->kind == PROV_DOMAIN) {
    const char *name = cursus_entry_value(e, "sunPreferredDomain");
    const cursus_attr *al = cursus_entry_attr(e, "associatedDomain");
    g_string_append_printf(l->out, "%s", name != NULL ? name : e->dn);
    for (size_t i = 0; al != NULL && i < al->n_values; i++)
      if (name == NULL || g_ascii_strcasecmp(al->values[i], name) != 0)
        g_string_append_printf(l->out, " %s", al->values[i]);
    const char *st = cursus_entry_value(e, "mailDomainStatus");
    g_string_append_printf(l->out, " (%s)\n", st != NULL ? st : "active");
    return 0;
  }
  const char *mail = cursus_entry_value(e, "mail");
  const char *st = cursus_entry_value(
      e, l->kind == PROV_USER ? "mailUserStatus" : "inetMailGroupStatus");
  g_string_append_printf(l->out, "%s %s (%s)\n", mail != NULL ? mail : "-",
                         e->dn, st != NULL ? st : "active");
  return 0;
}

int prov_list(prov_kind kind, const char *domain, const char *base_dn,
              GString *out, char **error_r) {
  static const char *const filters[] = {
      "(&(objectClass=inetMailUser)(!(objectClass=inetMailGroup)))",
      "(objectClass=inetMailGroup)",
      "(|(objectClass=sunManagedOrganization)(objectClass=mailDomain))"};
  char *base = g_strdup(base_dn);
  if (domain != NULL) {
    dir_domain *d = NULL;
    char *error = NULL;
    int rc = dir_find_domain(domain, CURSUS_DIR_FRESH, &d, &error);
    if (rc != CURSUS_OK || d->vanity) {
      *error_r = rc < 0 ? error
                        : g_strdup_printf("%s is not a hosted domain", domain);
      if (rc >= 0)
        g_free(error);
      dir_domain_free(&d);
      g_free(base);
      return rc < 0 ? rc : CURSUS_NONE;
    }
    g_free(error);
    g_free(base);
    base = g_strdup(d->base_dn);
    dir_domain_free(&d);
  }
  list_ctx l = {out, kind};
  int rc = dir_search(base, CURSUS_SCOPE_SUB, filters[kind], 0,
                      CURSUS_DIR_FRESH, list_cb, &l, error_r);
  g_free(base);
  return rc;
}
