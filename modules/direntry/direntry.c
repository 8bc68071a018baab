/*
 * direntry.c - immutable, reference-counted directory entries (see
 * direntry.h)
 */
#include "direntry.h"

#include <ldap.h>
#include <string.h>

/* What precedes the public entry in its allocation. */
typedef struct packed {
  gint refs;
  size_t size;
  cursus_entry pub;
} packed;

typedef struct battr {
  char *name;
  GPtrArray *values; /* of char* */
} battr;

struct direntry_builder {
  char *dn;
  GArray *attrs; /* of battr */
};

/* packed_of - the allocation holding E */
static packed *packed_of(const cursus_entry *e) {
  return (packed *)((char *)e - offsetof(packed, pub));
}

/* direntry_builder_new - start an entry */
direntry_builder *direntry_builder_new(const char *dn) {
  direntry_builder *b = g_new0(direntry_builder, 1);
  b->dn = g_strdup(dn);
  b->attrs = g_array_new(FALSE, FALSE, sizeof(battr));
  return b;
}

/* find_attr - the builder's attribute NAME, created when missing */
static battr *find_attr(direntry_builder *b, const char *name) {
  for (guint i = 0; i < b->attrs->len; i++) {
    battr *a = &g_array_index(b->attrs, battr, i);
    if (g_ascii_strcasecmp(a->name, name) == 0)
      return a;
  }
  battr na = {g_strdup(name), g_ptr_array_new_with_free_func(g_free)};
  g_array_append_val(b->attrs, na);
  return &g_array_index(b->attrs, battr, b->attrs->len - 1);
}

/* direntry_builder_add - one value */
void direntry_builder_add(direntry_builder *b, const char *name,
                          const char *value) {
  g_ptr_array_add(find_attr(b, name)->values, g_strdup(value));
}

/* direntry_builder_add_entry - copy E's attributes except SKIP */
void direntry_builder_add_entry(direntry_builder *b, const cursus_entry *e,
                                const char *const *skip) {
  for (size_t i = 0; i < e->n_attrs; i++) {
    const cursus_attr *a = &e->attrs[i];
    bool skipped = false;
    for (const char *const *s = skip; s != NULL && *s != NULL; s++)
      skipped |= g_ascii_strcasecmp(*s, a->name) == 0;
    for (size_t v = 0; !skipped && v < a->n_values; v++)
      direntry_builder_add(b, a->name, a->values[v]);
  }
}

/* direntry_builder_free - discard an unfinished entry */
void direntry_builder_free(direntry_builder **bp) {
  direntry_builder *b = *bp;
  if (b == NULL)
    return;
  for (guint i = 0; i < b->attrs->len; i++) {
    g_free(g_array_index(b->attrs, battr, i).name);
    g_ptr_array_free(g_array_index(b->attrs, battr, i).values, TRUE);
  }
  g_array_free(b->attrs, TRUE);
  g_free(b->dn);
  g_free(b);
  *bp = NULL;
}

/* direntry_builder_finish - lay the entry out in one block */
cursus_entry *direntry_builder_finish(direntry_builder **bp) {
  direntry_builder *b = *bp;
  size_t n_attrs = 0, n_values = 0, text = strlen(b->dn) + 1;
  for (guint i = 0; i < b->attrs->len; i++) {
    battr *a = &g_array_index(b->attrs, battr, i);
    if (a->values->len == 0)
      continue;
    n_attrs++;
    n_values += a->values->len;
    text += strlen(a->name) + 1;
    for (guint v = 0; v < a->values->len; v++)
      text += strlen(a->values->pdata[v]) + 1;
  }
  size_t size = sizeof(packed) + n_attrs * sizeof(cursus_attr) +
                n_values * sizeof(char *) + text;
  packed *p = g_malloc(size);
  cursus_attr *attrs = (cursus_attr *)(p + 1);
  const char **vals = (const char **)(attrs + n_attrs);
  char *str = (char *)(vals + n_values);

  p->refs = 1;
  p->size = size;
  p->pub.dn = str;
  p->pub.n_attrs = n_attrs;
  p->pub.attrs = attrs;
  str = g_stpcpy(str, b->dn) + 1;
  for (guint i = 0; i < b->attrs->len; i++) {
    battr *a = &g_array_index(b->attrs, battr, i);
    if (a->values->len == 0)
      continue;
    attrs->name = str;
    str = g_stpcpy(str, a->name) + 1;
    attrs->n_values = a->values->len;
    attrs->values = vals;
    for (guint v = 0; v < a->values->len; v++) {
      *vals++ = str;
      str = g_stpcpy(str, a->values->pdata[v]) + 1;
    }
    attrs++;
  }
  direntry_builder_free(bp);
  return &p->pub;
}

/* direntry_ref - share E */
cursus_entry *direntry_ref(const cursus_entry *e) {
  packed *p = packed_of(e);
  g_atomic_int_inc(&p->refs);
  return &p->pub;
}

/* direntry_unref - release E */
void direntry_unref(cursus_entry *e) {
  if (e == NULL)
    return;
  packed *p = packed_of(e);
  if (g_atomic_int_dec_and_test(&p->refs))
    g_free(p);
}

size_t direntry_size(const cursus_entry *e) { return packed_of(e)->size; }

/* value_index - where VALUE is among A's values (without case), or -1 */
static int value_index(const battr *a, const char *value) {
  for (guint v = 0; v < a->values->len; v++)
    if (g_ascii_strcasecmp(a->values->pdata[v], value) == 0)
      return (int)v;
  return -1;
}

/* apply_one - one change to the builder's attributes */
static bool apply_one(direntry_builder *b, const cursus_mod *m,
                      char **error_r) {
  battr *a = find_attr(b, m->name);
  switch (m->op) {
  case CURSUS_MOD_REPLACE:
  case CURSUS_MOD_ADD:
    /* replace = delete all, then add */
    if (m->op == CURSUS_MOD_REPLACE)
      g_ptr_array_set_size(a->values, 0);
    for (size_t v = 0; v < m->n_values; v++) {
      if (value_index(a, m->values[v]) >= 0) {
        if (m->op == CURSUS_MOD_REPLACE)
          continue;
        *error_r = g_strdup_printf("attribute %s already has the value \"%s\"",
                                   m->name, m->values[v]);
        return false;
      }
      g_ptr_array_add(a->values, g_strdup(m->values[v]));
    }
    return true;
  case CURSUS_MOD_DELETE:
    if (m->n_values == 0) {
      if (a->values->len == 0) {
        *error_r = g_strdup_printf("the entry has no attribute %s", m->name);
        return false;
      }
      g_ptr_array_set_size(a->values, 0);
      return true;
    }
    for (size_t v = 0; v < m->n_values; v++) {
      int i = value_index(a, m->values[v]);
      if (i < 0) {
        *error_r = g_strdup_printf("attribute %s has no value \"%s\"",
                                   m->name, m->values[v]);
        return false;
      }
      g_ptr_array_remove_index(a->values, (guint)i);
    }
    return true;
  }
  *error_r = g_strdup_printf("unknown modification %d", (int)m->op);
  return false;
}

/* direntry_apply - E changed by MODS, all or nothing */
bool direntry_apply(const cursus_entry *e, const cursus_mod *mods,
                    size_t n_mods, cursus_entry **result_r, char **error_r) {
  direntry_builder *b = direntry_builder_new(e->dn);
  direntry_builder_add_entry(b, e, NULL);
  for (size_t i = 0; i < n_mods; i++) {
    if (!apply_one(b, &mods[i], error_r)) {
      direntry_builder_free(&b);
      return false;
    }
  }
  *result_r = direntry_builder_finish(&b);
  return true;
}

void *direntry_cache_copy(const void *value) {
  return value != NULL ? direntry_ref(value) : NULL;
}

void direntry_cache_free(void *value) { direntry_unref(value); }

bool direntry_url(const char *url, char **base_r, int *scope_r,
                  char **filter_r, const char **error_r) {
  LDAPURLDesc *u = NULL;
  if (ldap_url_parse(url, &u) != LDAP_URL_SUCCESS) {
    *error_r = "not an LDAP URL (ldap:///BASE??SCOPE?FILTER)";
    return false;
  }
  *scope_r = u->lud_scope == LDAP_SCOPE_ONELEVEL   ? CURSUS_SCOPE_ONE
             : u->lud_scope == LDAP_SCOPE_SUBTREE ? CURSUS_SCOPE_SUB
                                                  : CURSUS_SCOPE_BASE;
  *base_r = g_strdup(u->lud_dn != NULL ? u->lud_dn : "");
  *filter_r = g_strdup(u->lud_filter != NULL ? u->lud_filter
                                             : "(objectClass=*)");
  ldap_free_urldesc(u);
  return true;
}
