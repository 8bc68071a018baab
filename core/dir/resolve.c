/*
 * resolve.c - the MTA's address resolution for hosted domains (see
 * resolve.h)
 */
#include "build-config.h"
#include "resolve.h"
#include "address.h"
#include "autoreply.h"
#include "group.h"
#include "status.h"
#include "util/log.h"

#include <string.h>

static struct {
  dopt_table *table;
  GPtrArray *old_tables; /* kept for lookups still running on other threads */
  bool registered;
} rs;

/* expand_cb - dir_resolve as an expander */
static int expand_cb(void *data, const char *address,
                     const expand_params *params, expansion *out,
                     char **error_r) {
  return dir_resolve(address, params, out, error_r);
}

/* local_cb - dir_domain_is_local as an expander's */
static int local_cb(void *data, const char *domain, char **error_r) {
  return dir_domain_is_local(domain, error_r);
}

static void table_free(gpointer p) { dopt_table_free((dopt_table **)&p); }

bool resolve_start(const dir_settings *s, char **error_r) {
  char *error = NULL;
  dopt_table *t = dopt_table_parse(s->delivery_options, &error);
  if (t == NULL) {
    *error_r = g_strdup_printf("delivery_options: %s", error);
    g_free(error);
    return false;
  }
  if (!dopt_check_template(s->mailhost_route, &error)) {
    *error_r = g_strdup_printf("mailhost_route: %s", error);
    g_free(error);
    dopt_table_free(&t);
    return false;
  }
  if (rs.old_tables == NULL)
    rs.old_tables = g_ptr_array_new_with_free_func(table_free);
  if (rs.table != NULL)
    g_ptr_array_add(rs.old_tables, rs.table);
  rs.table = t;
  if (!rs.registered) {
    expander e = {.name = "directory",
                  .expand = expand_cb,
                  .domain_is_local = local_cb,
                  .data = NULL};
    expander_register(&e);
    rs.registered = true;
  }
  return true;
}

void resolve_stop(void) {
  dopt_table_free(&rs.table);
  if (rs.old_tables != NULL)
    g_ptr_array_free(rs.old_tables, TRUE);
  rs.old_tables = NULL;
}

const dopt_table *resolve_table(void) { return rs.table; }

void resolve_add(expansion *out, const char *address) {
  for (guint i = 0; i < out->addresses->len; i++)
    if (dir_addr_equal(out->addresses->pdata[i], address))
      return;
  g_ptr_array_add(out->addresses, g_strdup(address));
}

int resolve_bad_data(const cursus_entry *e, const char *attr,
                     const char *value, const char *why, char **error_r) {
  *error_r = g_strdup_printf("4.3.5 directory entry %s: %s \"%s\" %s", e->dn,
                             attr, value, why);
  log_error("%s", *error_r + 6);
  return CURSUS_TEMPFAIL;
}

int resolve_lookup_error(int rc, const char *what, char *error,
                         char **error_r) {
  if (rc == CURSUS_TEMPFAIL)
    *error_r = g_strdup_printf("4.4.3 directory unavailable looking up %s: %s",
                               what, error);
  else
    *error_r = g_strdup_printf("4.3.5 directory error looking up %s: %s", what,
                               error);
  log_warning("%s", *error_r + 6);
  g_free(error);
  return CURSUS_TEMPFAIL;
}

/* add_checked - VALUE of E's ATTR, which must be an address */
static int add_checked(expansion *out, const cursus_entry *e, const char *attr,
                       const char *value, char **error_r) {
  char *why = NULL;
  if (!dir_addr_check(value, false, &why)) {
    int rc = resolve_bad_data(e, attr, value, "is not an address", error_r);
    g_free(why);
    return rc;
  }
  resolve_add(out, value);
  return 1;
}

/* per_value - expand T once per value of E's ATTR into OUT */
static int per_value(const char *t, const cursus_entry *e, const char *attr,
                     dopt_vars v, bool program, expansion *out,
                     char **error_r) {
  const cursus_attr *a = cursus_entry_attr(e, attr);
  if (a == NULL || a->n_values == 0)
    return resolve_bad_data(e, attr, "", "is missing", error_r);
  for (size_t i = 0; i < a->n_values; i++) {
    if (program)
      v.program = a->values[i];
    else
      v.file = a->values[i];
    char *addr = dopt_expand(t, &v);
    resolve_add(out, addr);
    g_free(addr);
  }
  return 1;
}

int resolve_option(const dopt *o, const cursus_entry *e, const dopt_vars *v,
                   const expand_params *params, expansion *out,
                   char **error_r) {
  if ((o->flags & DOPT_DATES) && !autoreply_in_dates(e, time(NULL)))
    return 0;
  if ((o->flags & DOPT_NOT_NULL) &&
      (params->sender == NULL || *params->sender == '\0'))
    return 0;
  if ((o->flags & DOPT_DEFER) &&
      (params->source_channel == NULL ||
       g_ascii_strcasecmp(params->source_channel, "reprocess") != 0)) {
    char *addr = g_strdup_printf("@reprocess-daemon:%s", v->address);
    resolve_add(out, addr);
    g_free(addr);
    return 1;
  }
  if (strcmp(o->template, "**") == 0) {
    const cursus_attr *a = cursus_entry_attr(e, "mailForwardingAddress");
    if (a == NULL || a->n_values == 0)
      return resolve_bad_data(e, "mailForwardingAddress", "",
                              "is missing for the forward option", error_r);
    for (size_t i = 0; i < a->n_values; i++) {
      int rc = add_checked(out, e, "mailForwardingAddress", a->values[i],
                           error_r);
      if (rc < 0)
        return rc;
    }
    return 1;
  }
  if (strcmp(o->template, "*") == 0)
    return 0; /* members: groups only (group.c) */
  if (dopt_uses(o->template, 'P'))
    return per_value(o->template, e, "mailProgramDeliveryInfo", *v, true, out,
                     error_r);
  if (dopt_uses(o->template, 'F'))
    return per_value(o->template, e, "mailDeliveryFileURL", *v, false, out,
                     error_r);
  char *addr = dopt_expand(o->template, v);
  resolve_add(out, addr);
  g_free(addr);
  return 1;
}

/* route_to - OUT gets TEMPLATE applied to V (hold, mail host) */
static int route_to(const char *template, const dopt_vars *v, expansion *out,
                    const char *note) {
  char *addr = dopt_expand(template, v);
  resolve_add(out, addr);
  g_free(addr);
  out->note = g_strdup(note);
  return 1;
}

/* hold - the hold route for V, or a configuration error */
static int hold(const dopt_vars *v, expansion *out, const char *what,
                char **error_r) {
  const dopt *o = dopt_hold(rs.table);
  if (o == NULL) {
    *error_r = g_strdup("4.3.5 held, but [directory] delivery_options has no "
                        "hold entry (/hold=...)");
    return CURSUS_TEMPFAIL;
  }
  char *note = g_strdup_printf("%s on hold", what);
  route_to(o->template, v, out, note);
  g_free(note);
  return 1;
}

/* all_any_host - every option of OPTS is a "#" option */
static bool all_any_host(const char *const *opts, unsigned kind) {
  for (const char *const *o = opts; *o != NULL; o++) {
    const dopt *d = dopt_find(rs.table, *o, kind);
    if (d == NULL || !(d->flags & DOPT_ANY_HOST))
      return false;
  }
  return true;
}

/* apply_options - the user's delivery options */
static int apply_options(const cursus_entry *e, const char *const *opts,
                         const dopt_vars *v, const expand_params *params,
                         expansion *out, char **error_r) {
  const dir_settings *s = dir_settings_get();
  GString *refused = g_string_new(NULL), *used = g_string_new(NULL);
  int rc = 1;
  for (const char *const *name = opts; rc >= 0 && *name != NULL; name++) {
    const dopt *o = dopt_find(rs.table, *name, DOPT_USERS);
    const char *why = NULL;
    if (o == NULL)
      why = "is not in [directory] delivery_options";
    else if (g_ascii_strcasecmp(o->name, "program") == 0 && !s->allow_program)
      why = "is not allowed ([directory] allow_program)";
    else if (g_ascii_strcasecmp(o->name, "file") == 0 && !s->allow_file)
      why = "is not allowed ([directory] allow_file)";
    if (why != NULL) {
      log_warning("%s: delivery option %s %s", e->dn, *name, why);
      g_string_append_printf(refused, "%s%s", refused->len ? ", " : "", *name);
      continue;
    }
    int applied = resolve_option(o, e, v, params, out, error_r);
    if (applied < 0)
      rc = applied;
    else if (applied > 0)
      g_string_append_printf(used, "%s%s", used->len ? ", " : "", o->name);
  }
  if (rc >= 0 && out->addresses->len == 0) {
    *error_r = refused->len > 0
                   ? g_strdup_printf("5.7.1 delivery option %s not allowed",
                                     refused->str)
                   : g_strdup("5.2.0 no delivery option applies to this "
                              "mailbox now");
    rc = CURSUS_PERMFAIL;
  }
  if (rc > 0)
    out->note = g_strdup_printf("user %s: %s", e->dn, used->str);
  g_string_free(refused, TRUE);
  g_string_free(used, TRUE);
  return rc;
}

/* user_domain_name - $I for user E found in DOM: the hosted domain's name,
 * empty for the default domain */
static char *hosted_name(const cursus_entry *e, const dir_domain *dom) {
  dir_domain *home = NULL;
  char *error = NULL;
  if (!dom->vanity)
    return g_strdup(dom->is_default ? "" : dom->name);
  if (dir_domain_of_entry(e, &home, &error) != CURSUS_OK) {
    g_free(error);
    return g_strdup("");
  }
  char *name = g_strdup(home->is_default ? "" : home->name);
  dir_domain_free(&home);
  return name;
}

/* resolve_user - steps 4 to 6 for a user */
static int resolve_user(const cursus_entry *e, dopt_vars *v,
                        const dir_domain *dom, const expand_params *params,
                        expansion *out, char **error_r) {
  const dir_settings *s = dir_settings_get();
  const char *routing = cursus_entry_value(e, "mailRoutingAddress");
  if (routing != NULL) {
    int rc = add_checked(out, e, "mailRoutingAddress", routing, error_r);
    if (rc > 0)
      out->note = g_strdup_printf("user %s: mailRoutingAddress", e->dn);
    return rc;
  }
  const char *def = dopt_default(rs.table, DOPT_USERS)->name;
  const char *def_opts[] = {def, NULL};
  const char **opts = dir_entry_values(e, "mailDeliveryOption");
  const char *const *use = opts[0] != NULL ? opts : def_opts;
  const char *mailhost = cursus_entry_value(e, "mailHost");
  if (mailhost == NULL && !dom->vanity)
    mailhost = cursus_entry_value(dom->entry, "preferredMailHost");
  v->mailhost = mailhost;
  v->uid = cursus_entry_value(e, "uid");
  int rc;
  if (mailhost != NULL && !dir_is_local_host(mailhost) &&
      !all_any_host(use, DOPT_USERS)) {
    char *note = g_strdup_printf("user %s: mailHost %s", e->dn, mailhost);
    rc = route_to(s->mailhost_route, v, out, note);
    g_free(note);
  } else if (v->uid == NULL) {
    rc = resolve_bad_data(e, "uid", "", "is missing", error_r);
  } else {
    rc = apply_options(e, use, v, params, out, error_r);
  }
  g_free(opts);
  return rc;
}

/* find_entry - the user or group for the address: exact, canonical
 * domain, without subaddress, catch-all */
static int find_entry(const dir_addr *a, const dir_domain *dom,
                      cursus_entry **e_r, char **error_r) {
  const char *base = dom->base_dn;
  GPtrArray *tries = g_ptr_array_new_with_free_func(g_free);
  const char *locals[] = {a->local, a->subaddress != NULL ? a->mailbox : NULL};
  for (size_t l = 0; l < G_N_ELEMENTS(locals) && locals[l] != NULL; l++) {
    g_ptr_array_add(tries, g_strdup_printf("%s@%s", locals[l], a->domain));
    if (strcmp(a->domain, dom->name) != 0)
      g_ptr_array_add(tries, g_strdup_printf("%s@%s", locals[l], dom->name));
  }
  g_ptr_array_add(tries, g_strdup_printf("@%s", a->domain));
  if (strcmp(a->domain, dom->name) != 0)
    g_ptr_array_add(tries, g_strdup_printf("@%s", dom->name));
  int rc = CURSUS_NONE;
  for (guint i = 0; rc == CURSUS_NONE && i < tries->len; i++) {
    char *error = NULL;
    rc = dir_lookup_address(base, tries->pdata[i],
                            CURSUS_ENTRY_USER | CURSUS_ENTRY_GROUP, 0, e_r,
                            &error);
    if (rc < 0)
      rc = resolve_lookup_error(rc, tries->pdata[i], error, error_r);
    else
      g_free(error);
  }
  g_ptr_array_free(tries, TRUE);
  return rc;
}

/* not_found - catch-all address, smart host, or 5.1.1 */
static int not_found(const dir_addr *a, const dir_domain *dom,
                     const dopt_vars *v, expansion *out, char **error_r) {
  const dir_settings *s = dir_settings_get();
  const cursus_entry *d = dom->vanity ? NULL : dom->entry;
  const char *catchall = cursus_entry_value(d, "mailDomainCatchallAddress");
  const char *smarthost = cursus_entry_value(d, "mailRoutingSmartHost");
  if (catchall != NULL) {
    int rc = add_checked(out, d, "mailDomainCatchallAddress", catchall,
                         error_r);
    if (rc > 0)
      out->note = g_strdup_printf("domain %s: catch-all address", dom->name);
    return rc;
  }
  if (smarthost != NULL) {
    dopt_vars sv = *v;
    sv.mailhost = smarthost;
    char *note = g_strdup_printf("domain %s: unknown user, smart host %s",
                                 dom->name, smarthost);
    int rc = route_to(s->mailhost_route, &sv, out, note);
    g_free(note);
    return rc;
  }
  *error_r = g_strdup_printf("5.1.1 <%s@%s>: no such user", a->local, a->domain);
  return CURSUS_PERMFAIL;
}

int dir_resolve(const char *address, const expand_params *params,
                expansion *out, char **error_r) {
  const dir_settings *s = dir_settings_get();
  dir_addr a;
  dir_domain *dom = NULL;
  char *error = NULL;
  if (s == NULL || rs.table == NULL)
    return 0;
  if (params->depth > s->max_nesting) {
    *error_r = g_strdup_printf("5.4.6 %s: address expanded more than %u "
                               "times (a forwarding loop?)",
                               address, s->max_nesting);
    return CURSUS_PERMFAIL;
  }
  if (!dir_addr_parse(address, s->subaddress_separator, &a, &error)) {
    g_free(error);
    return 0;
  }
  int rc = dir_find_domain(a.domain, 0, &dom, &error);
  if (rc <= 0) {
    dir_addr_clear(&a);
    return rc == CURSUS_NONE ? (g_free(error), 0)
                             : resolve_lookup_error(rc, address, error,
                                                    error_r);
  }
  char *hosted = NULL;
  dopt_vars v = {.address = address, .local = a.local, .mailbox = a.mailbox,
                 .subaddress = a.subaddress, .domain = a.domain};
  dir_verdict verdict;
  dir_status_mail(dom->vanity ? NULL : dom->entry, NULL, &verdict);
  cursus_entry *e = NULL;
  if (verdict.rc < 0) {
    rc = verdict.rc;
    *error_r = g_strdup(verdict.error);
  } else if (verdict.hold) {
    rc = hold(&v, out, "domain", error_r);
  } else if ((rc = find_entry(&a, dom, &e, error_r)) == CURSUS_NONE) {
    rc = not_found(&a, dom, &v, out, error_r);
  } else if (rc == CURSUS_OK) {
    dir_verdict_clear(&verdict);
    dir_status_mail(NULL, e, &verdict);
    hosted = hosted_name(e, dom);
    v.hosted = hosted;
    out->dn = g_strdup(e->dn);
    if (verdict.rc < 0) {
      rc = verdict.rc;
      *error_r = g_strdup(verdict.error);
    } else if (verdict.hold) {
      rc = hold(&v, out, e->dn, error_r);
    } else if (cursus_entry_kind_of(e) == CURSUS_ENTRY_GROUP) {
      rc = group_resolve(e, &v, params, out, error_r);
    } else {
      rc = resolve_user(e, &v, dom, params, out, error_r);
    }
  }
  dir_verdict_clear(&verdict);
  dir_entry_free(&e);
  dir_domain_free(&dom);
  dir_addr_clear(&a);
  g_free(hosted);
  return rc;
}

int dir_domain_is_local(const char *domain, char **error_r) {
  dir_domain *dom = NULL;
  char *error = NULL;
  int rc = dir_find_domain(domain, 0, &dom, &error);
  dir_domain_free(&dom);
  if (rc == CURSUS_OK)
    return 1;
  if (rc == CURSUS_NONE) {
    g_free(error);
    return 0;
  }
  return resolve_lookup_error(rc, domain, error, error_r);
}
