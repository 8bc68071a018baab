/*
 * ldifdb.c - one loaded directory file and its indexes (see ldifdb.h)
 */
#include "ldifdb.h"
#include "direntry/direntry.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>

struct ldifdb {
  gint refs;
  ldif_file *file;
  GPtrArray *entries;      /* cursus_entry*, parallel to file->records */
  GByteArray *kinds;       /* enum cursus_entry_kind of each entry */
  GHashTable *by_dn;       /* ndn -> index + 1 */
  GHashTable *by_address;  /* folded address -> GArray of guint index */
  GHashTable *by_domain;   /* domain -> GArray (domain entries) */
  GHashTable *by_vanity;   /* domain -> GArray (users) */
  GHashTable *by_uid;      /* folded uid -> GArray */
  GHashTable *children;    /* parent ndn -> count */
};

/* ---------------------------------------------------------- value checks */

/* check_url - an LDAP URL whose filter this module can evaluate */
static bool check_url(const char *v, const char **why_r) {
  LDAPURLDesc *u = NULL;
  if (ldap_url_parse(v, &u) != LDAP_URL_SUCCESS) {
    *why_r = "not an LDAP URL (ldap:///BASE??SCOPE?FILTER)";
    return false;
  }
  bool ok = true;
  if (u->lud_filter != NULL) {
    char *error = NULL;
    filter *f = filter_parse(u->lud_filter, &error);
    ok = f != NULL;
    if (!ok)
      *why_r = "the URL's filter is not a valid LDAP filter";
    filter_free(&f);
    g_free(error);
  }
  ldap_free_urldesc(u);
  return ok;
}

/* url_value - NAME holds LDAP URLs (always, or when VALUE says ldap:) */
static bool url_value(const char *name, const char *value) {
  static const char *const always[] = {"memberURL", "mgrpDeliverTo"};
  static const char *const maybe[] = {"mgrpAllowedBroadcaster",
                                      "mgrpDisallowedBroadcaster",
                                      "mgrpModerator"};
  for (size_t i = 0; i < G_N_ELEMENTS(always); i++)
    if (g_ascii_strcasecmp(name, always[i]) == 0)
      return true;
  for (size_t i = 0; i < G_N_ELEMENTS(maybe); i++)
    if (g_ascii_strcasecmp(name, maybe[i]) == 0)
      return g_ascii_strncasecmp(value, "ldap:", 5) == 0;
  return false;
}

/* check_values - every value of R the server uses; false with *error_r */
static bool check_values(const ldif_record *r, const char *name,
                         ldifdb_check *check, char **error_r) {
  for (guint i = 0; i < r->values->len; i++) {
    const ldif_value *v = &g_array_index(r->values, ldif_value, i);
    const char *why = NULL;
    bool bad;
    if (v->binary) {
      /* binary data only where the server reads nothing */
      bad = check != NULL && !check(v->name, "", &why);
      why = "binary data in an attribute the server reads";
    } else {
      bad = (check != NULL && !check(v->name, v->value, &why)) ||
            (url_value(v->name, v->value) && !check_url(v->value, &why));
    }
    if (bad) {
      char *where = v->line > 0 ? g_strdup_printf("%s:%u: ", name, v->line)
                                : g_strdup_printf("entry %s: ", r->dn);
      *error_r = g_strdup_printf("%s%s \"%s\": %s", where, v->name,
                                 v->binary ? "" : v->value, why);
      g_free(where);
      return false;
    }
  }
  return true;
}

/* -------------------------------------------------------------- indexes */

static void index_add(GHashTable *h, const char *key, guint i) {
  GArray *a = g_hash_table_lookup(h, key);
  if (a == NULL) {
    a = g_array_new(FALSE, FALSE, sizeof(guint));
    g_hash_table_insert(h, g_strdup(key), a);
  }
  for (guint k = 0; k < a->len; k++)
    if (g_array_index(a, guint, k) == i)
      return;
  g_array_append_val(a, i);
}

static void array_free(gpointer a) { g_array_free(a, TRUE); }

static GHashTable *index_new(void) {
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, array_free);
}

/* fold_key - VALUE without case */
static char *fold_key(const char *value) {
  for (const char *c = value; *c != '\0'; c++)
    if ((unsigned char)*c >= 0x80)
      return g_utf8_casefold(value, -1);
  return g_ascii_strdown(value, -1);
}

static void index_attr(GHashTable *h, const cursus_entry *e, const char *attr,
                       guint i) {
  const cursus_attr *a = cursus_entry_attr(e, attr);
  for (size_t v = 0; a != NULL && v < a->n_values; v++) {
    char *key = fold_key(a->values[v]);
    index_add(h, key, i);
    g_free(key);
  }
}

/* ldifdb_record_entry - the entry of R (text values only) */
cursus_entry *ldifdb_record_entry(const ldif_record *r) {
  direntry_builder *b = direntry_builder_new(r->dn);
  for (guint i = 0; i < r->values->len; i++) {
    const ldif_value *v = &g_array_index(r->values, ldif_value, i);
    if (!v->binary)
      direntry_builder_add(b, v->name, v->value);
  }
  return direntry_builder_finish(&b);
}

static void index_addresses(ldifdb *db, const cursus_entry *e, guint i) {
  index_attr(db->by_address, e, "mail", i);
  index_attr(db->by_address, e, "mailAlternateAddress", i);
  index_attr(db->by_address, e, "mailEquivalentAddress", i);
}

static void index_entry(ldifdb *db, const ldif_record *r, cursus_entry *e,
                        guint i) {
  g_hash_table_insert(db->by_dn, r->ndn, GUINT_TO_POINTER(i + 1));
  char *parent = ldif_parent_dn(r->ndn);
  g_hash_table_insert(db->children, parent,
                      GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(
                                           db->children, parent)) +
                                       1));
  guint8 kind = (guint8)cursus_entry_kind_of(e);
  g_byte_array_append(db->kinds, &kind, 1);
  switch (kind) {
  case CURSUS_ENTRY_DOMAIN:
    index_attr(db->by_domain, e, "sunPreferredDomain", i);
    index_attr(db->by_domain, e, "associatedDomain", i);
    break;
  case CURSUS_ENTRY_USER:
    index_attr(db->by_uid, e, "uid", i);
    index_attr(db->by_vanity, e, "msgVanityDomain", i);
    index_addresses(db, e, i);
    break;
  case CURSUS_ENTRY_GROUP:
    index_addresses(db, e, i);
    break;
  default:
    break;
  }
}


ldifdb *ldifdb_build(ldif_file *f, const char *name, ldifdb_check *check,
                     char **error_r) {
  ldifdb *db = g_new0(ldifdb, 1);
  db->refs = 1;
  db->file = f;
  db->entries = g_ptr_array_new_with_free_func((GDestroyNotify)direntry_unref);
  db->kinds = g_byte_array_new();
  db->by_dn = g_hash_table_new(g_str_hash, g_str_equal);
  db->children = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  db->by_address = index_new();
  db->by_domain = index_new();
  db->by_vanity = index_new();
  db->by_uid = index_new();
  for (guint i = 0; i < f->records->len; i++) {
    const ldif_record *r = f->records->pdata[i];
    if (!check_values(r, name, check, error_r)) {
      ldifdb_unref(&db);
      return NULL;
    }
    cursus_entry *e = ldifdb_record_entry(r);
    g_ptr_array_add(db->entries, e);
    index_entry(db, r, e, i);
  }
  return db;
}

ldifdb *ldifdb_ref(ldifdb *db) {
  g_atomic_int_inc(&db->refs);
  return db;
}

void ldifdb_unref(ldifdb **dbp) {
  ldifdb *db = *dbp;
  *dbp = NULL;
  if (db == NULL || !g_atomic_int_dec_and_test(&db->refs))
    return;
  g_hash_table_destroy(db->by_dn);
  g_hash_table_destroy(db->children);
  g_hash_table_destroy(db->by_address);
  g_hash_table_destroy(db->by_domain);
  g_hash_table_destroy(db->by_vanity);
  g_hash_table_destroy(db->by_uid);
  g_ptr_array_free(db->entries, TRUE);
  g_byte_array_free(db->kinds, TRUE);
  ldif_file_free(&db->file);
  g_free(db);
}

const ldif_file *ldifdb_file(const ldifdb *db) { return db->file; }
size_t ldifdb_count(const ldifdb *db) { return db->entries->len; }

/* ------------------------------------------------------------- lookups */

/* pick - the one entry of index H under KEY that is of KINDS and below
 * BASE_NDN (NULL: anywhere) */
static int pick(const ldifdb *db, GHashTable *h, const char *key,
                unsigned kinds, const char *base_ndn, cursus_entry **entry_r,
                const char **error_r, const char *ambiguous) {
  if (base_ndn != NULL && *base_ndn != '\0' && ldifdb_index(db, base_ndn) < 0) {
    *error_r = "the search base does not exist";
    return CURSUS_PERMFAIL;
  }
  char *folded = fold_key(key);
  GArray *a = g_hash_table_lookup(h, folded);
  g_free(folded);
  cursus_entry *found = NULL;
  for (guint k = 0; a != NULL && k < a->len; k++) {
    guint i = g_array_index(a, guint, k);
    cursus_entry *e = db->entries->pdata[i];
    const ldif_record *r = db->file->records->pdata[i];
    if (!(db->kinds->data[i] & kinds) ||
        (base_ndn != NULL && !ldif_dn_within(r->ndn, base_ndn)))
      continue;
    if (found != NULL) {
      *error_r = ambiguous;
      return CURSUS_PERMFAIL;
    }
    found = e;
  }
  if (found == NULL)
    return CURSUS_NONE;
  *entry_r = direntry_ref(found);
  return CURSUS_OK;
}

int ldifdb_domain(const ldifdb *db, const char *domain, cursus_entry **entry_r,
                  const char **error_r) {
  int rc = pick(db, db->by_domain, domain, CURSUS_ENTRY_DOMAIN, NULL, entry_r,
                error_r, "several domain entries claim this domain");
  if (rc != CURSUS_NONE)
    return rc;
  return pick(db, db->by_vanity, domain, CURSUS_ENTRY_USER, NULL, entry_r,
              error_r, "several users claim this vanity domain");
}

int ldifdb_address(const ldifdb *db, const char *base_ndn, const char *address,
                   unsigned kinds, cursus_entry **entry_r,
                   const char **error_r) {
  return pick(db, db->by_address, address, kinds, base_ndn, entry_r, error_r,
              "several entries have this address");
}

int ldifdb_uid(const ldifdb *db, const char *base_ndn, const char *uid,
               cursus_entry **entry_r, const char **error_r) {
  return pick(db, db->by_uid, uid, CURSUS_ENTRY_USER, base_ndn, entry_r,
              error_r, "several users have this uid");
}

int ldifdb_index(const ldifdb *db, const char *ndn) {
  return (int)GPOINTER_TO_UINT(g_hash_table_lookup(db->by_dn, ndn)) - 1;
}

int ldifdb_dn(const ldifdb *db, const char *ndn, cursus_entry **entry_r) {
  int i = ldifdb_index(db, ndn);
  if (i < 0)
    return CURSUS_NONE;
  *entry_r = direntry_ref(db->entries->pdata[i]);
  return CURSUS_OK;
}

bool ldifdb_has_children(const ldifdb *db, const char *ndn) {
  return g_hash_table_lookup(db->children, ndn) != NULL;
}

/* in_scope - NDN is in SCOPE of BASE */
static bool in_scope(const char *ndn, const char *base, int scope) {
  if (scope == CURSUS_SCOPE_BASE)
    return strcmp(ndn, base) == 0;
  if (scope == CURSUS_SCOPE_ONE) {
    char *parent = ldif_parent_dn(ndn);
    bool ok = strcmp(parent, base) == 0;
    g_free(parent);
    return ok;
  }
  return ldif_dn_within(ndn, base);
}

int ldifdb_search(const ldifdb *db, const char *base_ndn, int scope,
                  const filter *f, size_t max_entries, cursus_entry_cb *cb,
                  void *data, const char **error_r) {
  size_t found = 0;
  if (*base_ndn != '\0' && ldifdb_index(db, base_ndn) < 0) {
    *error_r = "the search base does not exist";
    return CURSUS_PERMFAIL;
  }
  for (guint i = 0; i < db->entries->len; i++) {
    const ldif_record *r = db->file->records->pdata[i];
    const cursus_entry *e = db->entries->pdata[i];
    if (!in_scope(r->ndn, base_ndn, scope) || !filter_match(f, e))
      continue;
    if (max_entries > 0 && ++found > max_entries) {
      *error_r = "size limit exceeded";
      return CURSUS_PERMFAIL;
    }
    if (cb(data, e) != 0)
      break;
  }
  return CURSUS_OK;
}
