/*
 * group.c - distribution lists (see group.h)
 */
#include "build-config.h"
#include "group.h"
#include "address.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

/* One expansion of a group and the groups nested in it. */
typedef struct members {
  expansion *out;
  GHashTable *seen;  /* lower-case DNs of the groups expanded */
  unsigned depth;
  unsigned limit;
  int rc;            /* first failure, or 1 */
  char *error;
} members;

static int expand_group(members *m, const cursus_entry *g);

/* fail - record the first failure */
static int fail(members *m, int rc, char *error) {
  if (m->rc > 0) {
    m->rc = rc;
    m->error = error;
  } else {
    g_free(error);
  }
  return rc;
}

/* add_member - one member address */
static int add_member(members *m, const char *address) {
  guint before = m->out->addresses->len;
  resolve_add(m->out, address);
  if (m->out->addresses->len > before && m->out->addresses->len > m->limit)
    return fail(m, CURSUS_PERMFAIL,
                g_strdup_printf("5.2.4 the group has more than %u members "
                                "([directory] max_group_members)",
                                m->limit));
  return 1;
}

/* member_entry - a member given as an entry (DN or URL result) */
static int member_entry(members *m, const cursus_entry *e) {
  if (cursus_entry_kind_of(e) == CURSUS_ENTRY_GROUP)
    return expand_group(m, e);
  const char *mail = cursus_entry_value(e, "mail");
  if (mail == NULL) {
    log_warning("group member %s has no mail address: skipped", e->dn);
    return 1;
  }
  char *why = NULL;
  if (!dir_addr_check(mail, false, &why)) {
    char *error = NULL;
    g_free(why);
    int rc = resolve_bad_data(e, "mail", mail, "is not an address", &error);
    return fail(m, rc, error);
  }
  return add_member(m, mail);
}

static int url_member_cb(void *data, const cursus_entry *e) {
  members *m = data;
  return member_entry(m, e) < 0;
}

/* member_address - a member given as an address: a group of ours is
 * expanded in place */
static int member_address(members *m, const cursus_entry *g,
                          const char *address) {
  char *why = NULL, *error = NULL;
  if (!dir_addr_check(address, false, &why)) {
    g_free(why);
    int rc = resolve_bad_data(g, "mgrpRFC822MailMember", address,
                              "is not an address", &error);
    return fail(m, rc, error);
  }
  dir_domain *dom = NULL;
  char *domain = dir_addr_domain(address);
  int rc = dir_find_domain(domain, 0, &dom, &error);
  g_free(domain);
  cursus_entry *e = NULL;
  if (rc == CURSUS_OK) {
    rc = dir_lookup_address(dom->base_dn, address, CURSUS_ENTRY_GROUP, 0, &e,
                            &error);
    dir_domain_free(&dom);
  }
  if (rc < 0) {
    rc = resolve_lookup_error(rc, address, error, &error);
    return fail(m, rc, error);
  }
  g_free(error);
  rc = e != NULL ? expand_group(m, e) : add_member(m, address);
  dir_entry_free(&e);
  return rc;
}

/* member_dn - a uniqueMember value */
static int member_dn(members *m, const char *value) {
  /* nameAndOptionalUID: "DN#'0101'B" */
  const char *hash = strstr(value, "#'");
  char *dn = hash != NULL ? g_strndup(value, (gsize)(hash - value))
                          : g_strdup(value);
  cursus_entry *e = NULL;
  char *error = NULL;
  int rc = dir_lookup_dn(dn, 0, &e, &error);
  if (rc == CURSUS_NONE)
    log_warning("group member %s does not exist: skipped", dn);
  else if (rc < 0) {
    rc = resolve_lookup_error(rc, dn, error, &error);
    rc = fail(m, rc, error);
  } else
    rc = member_entry(m, e);
  if (rc >= 0)
    g_free(error);
  dir_entry_free(&e);
  g_free(dn);
  return rc < 0 ? rc : 1;
}

/* member_url - a memberURL or mgrpDeliverTo value */
static int member_url(members *m, const char *url) {
  char *error = NULL;
  int rc = dir_search_url(url, m->limit + 1, 0, url_member_cb, m, &error);
  if (rc < 0 && m->rc > 0) {
    rc = resolve_lookup_error(rc, url, error, &error);
    return fail(m, rc, error);
  }
  g_free(error);
  return m->rc;
}

/* expand_group - every member of G, once */
static int expand_group(members *m, const cursus_entry *g) {
  char *key = g_utf8_strdown(g->dn, -1);
  if (g_hash_table_contains(m->seen, key)) {
    log_info("group %s is nested in itself: expanded once", g->dn);
    g_free(key);
    return 1;
  }
  g_hash_table_add(m->seen, key);
  const dir_settings *s = dir_settings_get();
  if (++m->depth > s->max_nesting)
    return fail(m, CURSUS_PERMFAIL,
                g_strdup_printf("5.4.6 groups nested more than %u deep at %s",
                                s->max_nesting, g->dn));
  static const char *const url_attrs[] = {"memberURL", "mgrpDeliverTo"};
  const cursus_attr *a = cursus_entry_attr(g, "mgrpRFC822MailMember");
  for (size_t i = 0; a != NULL && m->rc > 0 && i < a->n_values; i++)
    member_address(m, g, a->values[i]);
  a = cursus_entry_attr(g, "uniqueMember");
  for (size_t i = 0; a != NULL && m->rc > 0 && i < a->n_values; i++)
    member_dn(m, a->values[i]);
  for (size_t k = 0; k < G_N_ELEMENTS(url_attrs); k++) {
    a = cursus_entry_attr(g, url_attrs[k]);
    for (size_t i = 0; a != NULL && m->rc > 0 && i < a->n_values; i++)
      member_url(m, a->values[i]);
  }
  m->depth--;
  return m->rc;
}

/* ------------------------------------------------------------- senders */

typedef struct sender_match {
  const char *sender;
  bool found;
} sender_match;

/* sender_cb - E, or for a group one of its members, is the sender */
static int sender_cb(void *data, const cursus_entry *e) {
  sender_match *sm = data;
  static const char *const attrs[] = {"mail", "mailAlternateAddress",
                                      "mailEquivalentAddress"};
  if (cursus_entry_kind_of(e) == CURSUS_ENTRY_GROUP) {
    expansion ex;
    expansion_init(&ex);
    members m = {&ex, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            NULL),
                 0, dir_settings_get()->max_group_members, 1, NULL};
    expand_group(&m, e);
    for (guint i = 0; m.rc > 0 && i < ex.addresses->len; i++)
      sm->found |= dir_addr_equal(ex.addresses->pdata[i], sm->sender);
    g_hash_table_destroy(m.seen);
    g_free(m.error);
    expansion_clear(&ex);
    return sm->found;
  }
  for (size_t k = 0; k < G_N_ELEMENTS(attrs); k++) {
    const cursus_attr *a = cursus_entry_attr(e, attrs[k]);
    for (size_t i = 0; a != NULL && i < a->n_values; i++)
      sm->found |= dir_addr_equal(a->values[i], sm->sender);
  }
  return sm->found;
}

/* sender_in - SENDER matches one of G's ATTR values; TEMPFAIL on outage */
static int sender_in(const cursus_entry *g, const char *attr,
                     const char *sender, char **error_r) {
  const cursus_attr *a = cursus_entry_attr(g, attr);
  for (size_t i = 0; a != NULL && i < a->n_values; i++) {
    const char *v = a->values[i];
    if (g_ascii_strncasecmp(v, "ldap:", 5) == 0) {
      sender_match sm = {sender, false};
      char *error = NULL;
      int rc = dir_search_url(v, 0, 0, sender_cb, &sm, &error);
      if (rc < 0)
        return resolve_lookup_error(rc, v, error, error_r);
      g_free(error);
      if (sm.found)
        return 1;
      continue;
    }
    if (g_ascii_strncasecmp(v, "mailto:", 7) == 0)
      v += 7;
    if (dir_addr_equal(v, sender))
      return 1;
  }
  return 0;
}

/* domain_in - the sender's domain is one of G's ATTR values or below */
static bool domain_in(const cursus_entry *g, const char *attr,
                      const char *sender) {
  const cursus_attr *a = cursus_entry_attr(g, attr);
  char *domain = dir_addr_domain(sender);
  bool in = false;
  for (size_t i = 0; domain != NULL && a != NULL && !in && i < a->n_values;
       i++) {
    const char *d = a->values[i];
    if (g_str_has_prefix(d, "*."))
      d += 2;
    size_t dl = strlen(d), nl = strlen(domain);
    in = g_ascii_strcasecmp(domain, d) == 0 ||
         (nl > dl && domain[nl - dl - 1] == '.' &&
          g_ascii_strcasecmp(domain + nl - dl, d) == 0);
  }
  g_free(domain);
  return in;
}

/* may_send - 1 allowed, 0 refused (*why_r static), TEMPFAIL */
static int may_send(const cursus_entry *g, const expand_params *p,
                    const char **why_r, char **error_r) {
  const char *sender = p->sender != NULL ? p->sender : "";
  const char *policy = cursus_entry_value(g, "mgrpBroadcasterPolicy");
  if (policy != NULL && strstr(policy, "SMTP_AUTH_REQUIRED") != NULL &&
      p->auth_user == NULL) {
    *why_r = "the list accepts only authenticated senders";
    return 0;
  }
  bool restricted = cursus_entry_attr(g, "mgrpAllowedBroadcaster") != NULL ||
                    cursus_entry_attr(g, "mgrpAllowedDomain") != NULL;
  int rc = 1;
  if (restricted) {
    rc = *sender == '\0' ? 0
                         : sender_in(g, "mgrpAllowedBroadcaster", sender,
                                     error_r);
    if (rc == 0 && *sender != '\0' &&
        domain_in(g, "mgrpAllowedDomain", sender))
      rc = 1;
    if (rc == 0)
      *why_r = "the sender is not an allowed broadcaster of the list";
  }
  if (rc == 1 && *sender != '\0') {
    int deny = sender_in(g, "mgrpDisallowedBroadcaster", sender, error_r);
    if (deny < 0)
      return deny;
    if (deny > 0 || domain_in(g, "mgrpDisallowedDomain", sender)) {
      *why_r = "the sender may not send to the list";
      rc = 0;
    }
  }
  return rc;
}

/* to_moderators - the refused message goes to the moderators */
static int to_moderators(const cursus_entry *g, expansion *out,
                         char **error_r) {
  const cursus_attr *a = cursus_entry_attr(g, "mgrpModerator");
  for (size_t i = 0; a != NULL && i < a->n_values; i++) {
    const char *v = a->values[i];
    if (g_ascii_strncasecmp(v, "ldap:", 5) == 0) {
      members m = {out, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              NULL),
                   0, dir_settings_get()->max_group_members, 1, NULL};
      member_url(&m, v);
      g_hash_table_destroy(m.seen);
      if (m.rc < 0) {
        *error_r = m.error;
        return m.rc;
      }
      continue;
    }
    if (g_ascii_strncasecmp(v, "mailto:", 7) == 0)
      v += 7;
    resolve_add(out, v);
  }
  out->note = g_strdup_printf("group %s: sender refused, to the moderators",
                              g->dn);
  return out->addresses->len > 0 ? 1 : 0;
}

/* check_sender - the broadcaster rules and size limit */
static int check_sender(const cursus_entry *g, const expand_params *p,
                        expansion *out, bool *moderated_r, char **error_r) {
  const char *max = cursus_entry_value(g, "mgrpMsgMaxSize");
  *moderated_r = false;
  if (max != NULL && p->size > 0 && p->size > strtoull(max, NULL, 10)) {
    *error_r = g_strdup_printf("5.3.4 message bigger than the list accepts "
                               "(%s octets)",
                               max);
    return CURSUS_PERMFAIL;
  }
  const char *why = NULL;
  int rc = may_send(g, p, &why, error_r);
  if (rc != 0)
    return rc;
  const char *action = cursus_entry_value(g, "mgrpMsgRejectAction");
  if (action != NULL && g_ascii_strcasecmp(action, "TOMODERATOR") == 0) {
    rc = to_moderators(g, out, error_r);
    if (rc != 0) {
      *moderated_r = rc > 0;
      return rc;
    }
  }
  const char *text = cursus_entry_value(g, "mgrpMsgRejectText");
  *error_r = g_strdup_printf("5.7.1 %s", text != NULL ? text : why);
  return CURSUS_PERMFAIL;
}

int group_resolve(const cursus_entry *g, dopt_vars *v,
                  const expand_params *params, expansion *out,
                  char **error_r) {
  const dir_settings *s = dir_settings_get();
  bool moderated = false;
  int rc = check_sender(g, params, out, &moderated, error_r);
  if (rc <= 0 || moderated)
    return rc;
  const char *errors_to = cursus_entry_value(g, "mgrpErrorsTo");
  char *why = NULL;
  if (errors_to != NULL && !dir_addr_check(errors_to, false, &why)) {
    g_free(why);
    return resolve_bad_data(g, "mgrpErrorsTo", errors_to, "is not an address",
                            error_r);
  }
  out->errors_to = g_strdup(errors_to);
  v->uid = cursus_entry_value(g, "uid");
  const char **opts = dir_entry_values(g, "mailDeliveryOption");
  const char *def[] = {dopt_default(resolve_table(), DOPT_GROUPS)->name, NULL};
  GString *used = g_string_new(NULL);
  rc = 1;
  for (const char *const *name = opts[0] != NULL ? opts : def;
       rc >= 0 && *name != NULL; name++) {
    const dopt *o = dopt_find(resolve_table(), *name, DOPT_GROUPS);
    if (o == NULL || (g_ascii_strcasecmp(o->name, "program") == 0 &&
                      !s->allow_program) ||
        (g_ascii_strcasecmp(o->name, "file") == 0 && !s->allow_file)) {
      log_warning("%s: delivery option %s is unknown or not allowed for "
                  "groups: skipped",
                  g->dn, *name);
      continue;
    }
    bool deferred = (o->flags & DOPT_DEFER) &&
                    (params->source_channel == NULL ||
                     g_ascii_strcasecmp(params->source_channel,
                                        "reprocess") != 0);
    if (strcmp(o->template, "*") == 0 && !deferred) {
      members m = {out, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              NULL),
                   0, s->max_group_members, 1, NULL};
      rc = expand_group(&m, g);
      g_hash_table_destroy(m.seen);
      if (rc < 0)
        *error_r = m.error;
    } else {
      rc = resolve_option(o, g, v, params, out, error_r);
    }
    g_string_append_printf(used, "%s%s", used->len ? ", " : "", o->name);
  }
  if (rc >= 0) {
    out->note = g_strdup_printf("group %s: %s, %u address(es)", g->dn,
                                used->str, out->addresses->len);
    rc = 1;
  }
  g_string_free(used, TRUE);
  g_free(opts);
  return rc;
}
