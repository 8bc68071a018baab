/*
 * imap-thread.c - THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256)
 *
 * REFERENCES follows the RFC's steps: containers linked by the References
 * (or In-Reply-To) ids without loops, empty containers pruned, the root
 * set sorted, threads with the same base subject merged, siblings sorted
 * by sent date.
 */
#include "imap.h"
#include "imap-sort.h"

#include <string.h>

typedef struct container {
  msg_keys *msg;             /* NULL: a dummy */
  struct container *parent;
  GPtrArray *children;       /* container*, or NULL */
} container;

typedef struct thread_ctx {
  GPtrArray *all;            /* every container, to free */
  bool uid;
} thread_ctx;

static container *new_container(thread_ctx *t) {
  container *c = g_new0(container, 1);
  g_ptr_array_add(t->all, c);
  return c;
}

static void add_child(container *parent, container *c) {
  if (parent->children == NULL)
    parent->children = g_ptr_array_new();
  g_ptr_array_add(parent->children, c);
  c->parent = parent;
}

static void unlink_child(container *c) {
  if (c->parent != NULL && c->parent->children != NULL)
    g_ptr_array_remove(c->parent->children, c);
  c->parent = NULL;
}

static guint n_children(const container *c) {
  return c->children != NULL ? c->children->len : 0;
}

static container *child(const container *c, guint i) {
  return c->children->pdata[i];
}

/* is_ancestor - true when A is C or one of C's ancestors */
static bool is_ancestor(const container *a, const container *c) {
  for (const container *p = c; p != NULL; p = p->parent)
    if (p == a)
      return true;
  return false;
}

/* thread_date - the date a container sorts by: its message's, or the
 * first child's for a dummy */
static const msg_keys *sort_msg(const container *c) {
  while (c != NULL && c->msg == NULL)
    c = n_children(c) > 0 ? child(c, 0) : NULL;
  return c != NULL ? c->msg : NULL;
}

static int date_cmp(gconstpointer pa, gconstpointer pb) {
  const msg_keys *a = sort_msg(*(container *const *)pa);
  const msg_keys *b = sort_msg(*(container *const *)pb);
  if (a == NULL || b == NULL)
    return (a == NULL) - (b == NULL);
  if (a->date != b->date)
    return a->date < b->date ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* sort_tree - children first, then their siblings (RFC 5256 step 6) */
static void sort_tree(GPtrArray *siblings) {
  if (siblings == NULL)
    return;
  for (guint i = 0; i < siblings->len; i++)
    sort_tree(((container *)siblings->pdata[i])->children);
  g_ptr_array_sort(siblings, date_cmp);
}

/* prune - step 3: drop empty dummies, promote children of dummies */
static void prune(GPtrArray *siblings, bool root_level) {
  for (guint i = 0; i < siblings->len;) {
    container *c = siblings->pdata[i];
    if (c->children != NULL)
      prune(c->children, false);
    if (c->msg == NULL && n_children(c) == 0) {
      g_ptr_array_remove_index(siblings, i);
      continue;
    }
    if (c->msg == NULL && (!root_level || n_children(c) == 1)) {
      g_ptr_array_remove_index(siblings, i);
      for (guint k = 0; k < n_children(c); k++) {
        container *kid = child(c, k);
        kid->parent = root_level ? NULL : c->parent;
        g_ptr_array_insert(siblings, (gint)(i + k), kid);
      }
      g_ptr_array_set_size(c->children, 0);
      continue; /* look at the promoted children again */
    }
    i++;
  }
}

/* thread_subject - the base subject of a root thread */
static const msg_keys *subject_msg(const container *c) {
  if (c->msg != NULL)
    return c->msg;
  return n_children(c) > 0 ? child(c, 0)->msg : NULL;
}

/* merge_subjects - step 5 */
static void merge_subjects(thread_ctx *t, GPtrArray *roots) {
  GHashTable *table = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
  /* (B) one thread per subject */
  for (guint i = 0; i < roots->len; i++) {
    container *c = roots->pdata[i];
    const msg_keys *m = subject_msg(c);
    if (m == NULL || m->subject == NULL || *m->subject == '\0')
      continue;
    char *key = g_ascii_strup(m->subject, -1);
    g_ptr_array_add(keys, key);
    container *old = g_hash_table_lookup(table, key);
    if (old == NULL ||
        (old->msg != NULL &&
         (c->msg == NULL || (old->msg->subject_reply && !c->msg->subject_reply))))
      g_hash_table_insert(table, key, c);
  }
  /* (C) merge the others into it */
  for (guint i = 0; i < roots->len;) {
    container *c = roots->pdata[i];
    const msg_keys *m = subject_msg(c);
    if (m == NULL || m->subject == NULL || *m->subject == '\0') {
      i++;
      continue;
    }
    char *key = g_ascii_strup(m->subject, -1);
    container *old = g_hash_table_lookup(table, key);
    if (old == NULL || old == c) {
      g_free(key);
      i++;
      continue;
    }
    g_ptr_array_remove_index(roots, i);
    if (old->msg == NULL && c->msg == NULL) {
      for (guint k = 0; k < n_children(c); k++)
        add_child(old, child(c, k));
      g_ptr_array_set_size(c->children, 0);
    } else if (old->msg == NULL && c->msg != NULL) {
      add_child(old, c);
    } else if (c->msg != NULL && c->msg->subject_reply &&
               !old->msg->subject_reply) {
      add_child(old, c);
    } else {
      container *dummy = new_container(t);
      guint pos;
      g_ptr_array_find(roots, old, &pos);
      roots->pdata[pos] = dummy;
      add_child(dummy, old);
      add_child(dummy, c);
      g_hash_table_insert(table, key, dummy);
      g_ptr_array_add(keys, key);
      key = NULL;
    }
    g_free(key);
  }
  g_hash_table_destroy(table);
  g_ptr_array_free(keys, TRUE);
}

/* references - the REFERENCES algorithm; returns the root set */
static GPtrArray *references(thread_ctx *t, msg_keys *keys, guint n) {
  GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++) {
    msg_keys *m = &keys[i];
    /* (1A) the message's own container */
    container *c = m->message_id != NULL
                       ? g_hash_table_lookup(ids, m->message_id)
                       : NULL;
    if (c != NULL && c->msg == NULL) {
      c->msg = m;
    } else {
      c = new_container(t);
      c->msg = m;
      if (m->message_id != NULL &&
          !g_hash_table_contains(ids, m->message_id))
        g_hash_table_insert(ids, m->message_id, c);
    }
    /* (1B) link the references in order, never making a loop */
    container *prev = NULL;
    for (guint r = 0; m->references != NULL && r < m->references->len; r++) {
      const char *id = m->references->pdata[r];
      container *rc = g_hash_table_lookup(ids, id);
      if (rc == NULL) {
        rc = new_container(t);
        g_hash_table_insert(ids, (gpointer)id, rc);
      }
      if (prev != NULL && rc->parent == NULL && !is_ancestor(rc, prev))
        add_child(prev, rc);
      prev = rc;
    }
    /* (1C) the last reference is the parent */
    if (prev != NULL && is_ancestor(c, prev))
      prev = NULL;
    if (c->parent != prev) {
      unlink_child(c);
      if (prev != NULL)
        add_child(prev, c);
    }
  }
  g_hash_table_destroy(ids);
  /* (2) the root set */
  GPtrArray *roots = g_ptr_array_new();
  for (guint i = 0; i < t->all->len; i++) {
    container *c = t->all->pdata[i];
    if (c->parent == NULL)
      g_ptr_array_add(roots, c);
  }
  prune(roots, true);      /* (3) */
  sort_tree(roots);        /* (4) */
  merge_subjects(t, roots);/* (5) */
  sort_tree(roots);        /* (6) */
  return roots;
}

/* ordered_subject - threads of equal base subject, by date */
static GPtrArray *ordered_subject(thread_ctx *t, msg_keys *keys, guint n) {
  GPtrArray *msgs = g_ptr_array_new();
  for (guint i = 0; i < n; i++) {
    container *c = new_container(t);
    c->msg = &keys[i];
    g_ptr_array_add(msgs, c);
  }
  g_ptr_array_sort(msgs, date_cmp);
  GPtrArray *roots = g_ptr_array_new();
  GHashTable *by_subject = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                 g_free, NULL);
  for (guint i = 0; i < msgs->len; i++) {
    container *c = msgs->pdata[i];
    char *key = g_ascii_strup(c->msg->subject != NULL ? c->msg->subject : "",
                              -1);
    container *first = g_hash_table_lookup(by_subject, key);
    if (first == NULL) {
      g_hash_table_insert(by_subject, key, c);
      g_ptr_array_add(roots, c);
    } else {
      add_child(first, c);
      g_free(key);
    }
  }
  g_hash_table_destroy(by_subject);
  g_ptr_array_free(msgs, TRUE);
  return roots;
}

/* emit - the members of a thread (without the enclosing parentheses) */
static void emit(GString *out, const container *c, bool uid) {
  bool first = true;
  while (c != NULL) {
    if (c->msg != NULL) {
      g_string_append_printf(out, "%s%u", first ? "" : " ",
                             uid ? c->msg->uid : c->msg->seq);
      first = false;
    }
    if (n_children(c) == 1 && c->msg != NULL) {
      c = child(c, 0);
      continue;
    }
    if (first && n_children(c) == 1) {
      c = child(c, 0);
      continue;
    }
    for (guint i = 0; i < n_children(c); i++) {
      /* "1 (2 4)(5)": a space after the numbers, none between lists */
      if (!first && i == 0)
        g_string_append_c(out, ' ');
      g_string_append_c(out, '(');
      emit(out, child(c, i), uid);
      g_string_append_c(out, ')');
      first = false;
    }
    break;
  }
}

/* imap_thread_parse - "alg charset keys" */
bool imap_thread_parse(imap_parser *ip, bool *refs_r, search_args *a) {
  const char *alg, *charset;
  memset(a, 0, sizeof(*a));
  if (!imap_parse_sp(ip) || !imap_parse_atom(ip, &alg) || !imap_parse_sp(ip))
    return false;
  if (g_ascii_strcasecmp(alg, "REFERENCES") == 0)
    *refs_r = true;
  else if (g_ascii_strcasecmp(alg, "ORDEREDSUBJECT") == 0)
    *refs_r = false;
  else
    return imap_parser_fail(ip, "unknown threading algorithm");
  if (!imap_parse_astring(ip, &charset) || !imap_parse_sp(ip) ||
      !imap_search_parse_keys(ip, false, a))
    return false;
  a->charset = charset;
  return true;
}

static void free_container(gpointer p) {
  container *c = p;
  if (c->children != NULL)
    g_ptr_array_free(c->children, TRUE);
  g_free(c);
}

bool imap_cmd_thread(imap_session *s, imap_cmd *cmd) {
  search_args a;
  bool refs = false, done;
  if (!imap_thread_parse(&cmd->parser, &refs, &a))
    return imap_cmd_bad(s, cmd);
  GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (imap_search_run(s, cmd, &a, seqs, uids, &done) != CURSUS_OK) {
    g_array_free(seqs, TRUE);
    g_array_free(uids, TRUE);
    return done;
  }
  msg_keys *keys = imap_gather_keys(
      s, seqs, uids, refs ? KEYS_THREADING | KEYS_SUBJECT : KEYS_SUBJECT);
  thread_ctx t = {g_ptr_array_new_with_free_func(free_container), cmd->uid};
  GPtrArray *roots = refs ? references(&t, keys, seqs->len)
                          : ordered_subject(&t, keys, seqs->len);
  imap_printf(s, "* THREAD%s", roots->len > 0 ? " " : "");
  for (guint i = 0; i < roots->len; i++) {
    g_string_append_c(s->out, '(');
    emit(s->out, roots->pdata[i], cmd->uid);
    g_string_append_c(s->out, ')');
  }
  imap_write(s, "\r\n", 2);
  g_ptr_array_free(roots, TRUE);
  g_ptr_array_free(t.all, TRUE);
  imap_keys_free(keys, seqs->len);
  g_array_free(seqs, TRUE);
  g_array_free(uids, TRUE);
  return imap_cmd_done(s, cmd, "OK", "Thread completed.");
}
