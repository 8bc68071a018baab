/*
 * list.c - LIST with patterns and the RFC 5258 selection options
 *
 * Gathers every name the user may see (own mailboxes, other users'
 * mailboxes shared with them, public folders, the namespace roots, and
 * subscriptions), works out the hierarchy attributes from that set, then
 * reports the names matching the patterns.
 */
#include "api.h"

#include <string.h>

typedef struct node {
  char *name;
  bool exists;       /* a mailbox record (selectable or placeholder) */
  bool noselect;
  bool virtual_;     /* a namespace root or a hidden parent            */
  bool subscribed;
  uint32_t special_use;
  uint32_t rights;
  bool has_children;
  bool child_subscribed;
} node;

static void node_free(node *n) {
  g_free(n->name);
  g_free(n);
}

/* table_values - the values of TABLE in a new array */
static GPtrArray *table_values(GHashTable *table) {
  GPtrArray *out = g_ptr_array_new();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, table);
  while (g_hash_table_iter_next(&it, NULL, &value))
    g_ptr_array_add(out, value);
  return out;
}

static node *get_node(GHashTable *nodes, const char *name) {
  node *n = g_hash_table_lookup(nodes, name);
  if (n == NULL) {
    n = g_new0(node, 1);
    n->name = g_strdup(name);
    g_hash_table_insert(nodes, n->name, n);
  }
  return n;
}

/* IMAP LIST matching: `*` anything, `%` anything but SEP; "INBOX" matches
 * in any case */
bool sc_list_match(const char *pattern, const char *name, char sep) {
  char *n = NULL;
  if (g_ascii_strncasecmp(name, "INBOX", 5) == 0 &&
      (name[5] == '\0' || name[5] == sep) &&
      g_ascii_strncasecmp(pattern, "INBOX", 5) == 0) {
    /* compare the INBOX part without regard to case */
    n = g_strdup(pattern);
    memcpy(n, "INBOX", 5);
    pattern = n;
  }
  size_t pl = strlen(pattern), nl = strlen(name);
  /* dp[j]: pattern[0..i) matches name[0..j) */
  bool *dp = g_new0(bool, nl + 1), *next = g_new0(bool, nl + 1);
  dp[0] = true;
  for (size_t i = 0; i < pl; i++) {
    char c = pattern[i];
    memset(next, 0, nl + 1);
    if (c == '*' || c == '%') {
      bool carry = false;
      for (size_t j = 0; j <= nl; j++) {
        carry = carry || dp[j];
        next[j] = carry;
        if (c == '%' && j < nl && name[j] == sep)
          carry = false;
      }
    } else {
      for (size_t j = 0; j < nl; j++)
        next[j + 1] = dp[j] && name[j] == c;
    }
    bool *t = dp;
    dp = next;
    next = t;
  }
  bool r = dp[nl];
  g_free(dp);
  g_free(next);
  g_free(n);
  return r;
}

static bool matches(const char *const *patterns, const char *name, char sep) {
  for (const char *const *p = patterns; p != NULL && *p != NULL; p++)
    if (sc_list_match(*p, name, sep))
      return true;
  return false;
}

/* add_parents - the hierarchy above NAME as virtual nodes */
static void add_parents(GHashTable *nodes, const char *name, char sep) {
  char *copy = g_strdup(name);
  char *p;
  while ((p = strrchr(copy, sep)) != NULL) {
    *p = '\0';
    node *n = get_node(nodes, copy);
    if (!n->exists)
      n->virtual_ = true;
  }
  g_free(copy);
}

static void add_visible(cursus_store_user *u, GHashTable *nodes,
                        const sc_mbox *m) {
  uint32_t rights = sc_rights(u, m);
  if (!(rights & CURSUS_STORE_RIGHT_LOOKUP))
    return;
  char *full = sc_name_full(u, m->owner, m->name);
  node *n = get_node(nodes, full);
  n->exists = true;
  n->virtual_ = false;
  n->noselect = (m->flags & SC_MBOX_NOSELECT) != 0;
  n->special_use = m->special_use;
  n->rights = rights;
  g_free(full);
}

static bool gather(cursus_store_user *u, GHashTable *nodes, GError **error) {
  sc_store *st = u->st;
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  bool ok = sc_mboxlist_folders(st->mboxlist, u->id, list, error);
  const char *ids[] = {u->id, "anyone", "authenticated"};
  for (size_t i = 0; ok && i < G_N_ELEMENTS(ids); i++)
    ok = sc_mboxlist_granted(st->mboxlist, ids[i], list, error);
  if (ok)
    ok = sc_mboxlist_folders(st->mboxlist, SC_SHARED_OWNER, list, error);
  for (guint i = 0; ok && i < list->len; i++) {
    add_visible(u, nodes, list->pdata[i]);
  }
  g_ptr_array_free(list, TRUE);
  /* a visible folder of another user or the public tree makes its
   * namespace root and owner level visible */
  GPtrArray *found = table_values(nodes);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add(names, g_strdup(((node *)found->pdata[i])->name));
  g_ptr_array_free(found, TRUE);
  for (guint i = 0; i < names->len; i++)
    add_parents(nodes, names->pdata[i], st->separator);
  g_ptr_array_free(names, TRUE);
  GPtrArray *subs = g_ptr_array_new_with_free_func(g_free);
  if (ok)
    ok = sc_mboxlist_subscriptions(st->mboxlist, u->id, subs, error);
  for (guint i = 0; ok && i < subs->len; i++) {
    node *n = get_node(nodes, subs->pdata[i]);
    n->subscribed = true;
  }
  g_ptr_array_free(subs, TRUE);
  return ok;
}

/* hierarchy - children flags, from the sorted names */
static void hierarchy(GPtrArray *sorted, char sep) {
  for (guint i = 0; i < sorted->len; i++) {
    node *n = sorted->pdata[i];
    size_t len = strlen(n->name);
    for (guint j = i + 1; j < sorted->len; j++) {
      node *c = sorted->pdata[j];
      if (strncmp(c->name, n->name, len) != 0)
        break;
      if (c->name[len] != sep)
        continue;
      if (c->exists || c->virtual_)
        n->has_children = true;
      if (c->subscribed)
        n->child_subscribed = true;
    }
  }
}

static gint node_cmp(gconstpointer a, gconstpointer b) {
  return strcmp((*(node *const *)a)->name, (*(node *const *)b)->name);
}

int sc_op_mailbox_list(cursus_store_user *u, const char *const *patterns,
                       unsigned flags,
                       int (*cb)(void *data, const cursus_store_list_entry *e),
                       void *data, const char **error_r) {
  GError *err = NULL;
  char sep = u->st->separator;
  GHashTable *nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify)node_free);
  if (!gather(u, nodes, &err)) {
    g_hash_table_destroy(nodes);
    return sc_user_fail(u, err, error_r);
  }
  GPtrArray *sorted = table_values(nodes);
  g_ptr_array_sort(sorted, node_cmp);
  hierarchy(sorted, sep);
  int stop = 0;
  bool only_subscribed = flags & CURSUS_STORE_LIST_SELECT_SUBSCRIBED;
  bool only_special = flags & CURSUS_STORE_LIST_SELECT_SPECIAL_USE;
  bool recursive = flags & CURSUS_STORE_LIST_RECURSIVE_MATCH;
  /* INBOX first, as clients expect */
  for (int pass = 0; pass < 2 && stop == 0; pass++) {
    for (guint i = 0; i < sorted->len && stop == 0; i++) {
      node *n = sorted->pdata[i];
      bool inbox = g_str_equal(n->name, "INBOX");
      if ((pass == 0) != inbox)
        continue;
      if (!matches(patterns, n->name, sep))
        continue;
      bool selected;
      uint32_t child_info = 0;
      if (only_subscribed) {
        selected = n->subscribed;
        if (!selected && recursive && n->child_subscribed) {
          selected = true;
          child_info = CURSUS_STORE_LIST_SUBSCRIBED;
        }
      } else if (only_special) {
        selected = n->exists && n->special_use != 0;
      } else {
        selected = n->exists || n->virtual_;
      }
      if (!selected)
        continue;
      cursus_store_list_entry e = {0};
      e.name = n->name;
      e.separator = sep;
      e.special_use = n->special_use;
      e.child_info = child_info;
      e.my_rights = n->rights;
      if (!n->exists && !n->virtual_)
        e.attributes |= CURSUS_STORE_LIST_NONEXISTENT;
      if (n->noselect || n->virtual_)
        e.attributes |= CURSUS_STORE_LIST_NOSELECT;
      if (n->subscribed)
        e.attributes |= CURSUS_STORE_LIST_SUBSCRIBED;
      if (n->exists || n->virtual_)
        e.attributes |= n->has_children ? CURSUS_STORE_LIST_HASCHILDREN
                                        : CURSUS_STORE_LIST_HASNOCHILDREN;
      stop = cb(data, &e);
    }
  }
  g_ptr_array_free(sorted, TRUE);
  g_hash_table_destroy(nodes);
  sc_user_ok(u);
  return CURSUS_OK;
}
