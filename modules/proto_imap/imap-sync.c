/*
 * imap-sync.c - the selected mailbox: untagged updates (EXPUNGE or
 * VANISHED, EXISTS, RECENT, FLAGS, FETCH), message sets, leaving it
 *
 * Every session with a folder open learns of other sessions' changes here:
 * after each command, and during IDLE when the store's watch fires.
 */
#include "imap.h"

#include <string.h>

/* send_vanished - QRESYNC: report the expunged UIDs collected so far */
static void send_vanished(imap_session *s) {
  if (s->expunged_uids == NULL || s->expunged_uids->len == 0)
    return;
  GArray *u = s->expunged_uids;
  imap_printf(s, "* VANISHED ");
  imap_append_seqset(s->out, (const uint32_t *)(void *)u->data, u->len);
  imap_write(s, "\r\n", 2);
  g_array_set_size(u, 0);
}

static void flush_vanished(imap_session *s) {
  if (s->expunged_uids != NULL && s->expunged_uids->len > 0) {
    g_array_sort(s->expunged_uids, imap_cmp_u32);
    send_vanished(s);
  }
}

void imap_on_expunged(void *data, uint32_t seq, uint32_t uid) {
  imap_session *s = data;
  if (s->enabled & IMAP_ENABLE_QRESYNC) {
    if (s->expunged_uids == NULL)
      s->expunged_uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_val(s->expunged_uids, uid);
  } else {
    imap_printf(s, "* %u EXPUNGE\r\n", seq);
  }
  if (s->last_exists > 0)
    s->last_exists--;
}

static void on_exists(void *data, uint32_t count) {
  imap_session *s = data;
  flush_vanished(s);
  imap_printf(s, "* %u EXISTS\r\n", count);
  s->last_exists = count;
}

static void on_recent(void *data, uint32_t count) {
  imap_session *s = data;
  flush_vanished(s);
  if (!(s->enabled & IMAP_ENABLE_REV2))
    imap_printf(s, "* %u RECENT\r\n", count);
  s->last_recent = count;
}

/* The store may not be called from its own callbacks: keyword and flag
 * changes are noted here and reported once mailbox_sync returned. */
typedef struct sync_notes {
  imap_session *s;
  bool keywords;
  GArray *changed; /* seq */
} sync_notes;

static void on_exists_n(void *data, uint32_t count) {
  on_exists(((sync_notes *)data)->s, count);
}

static void on_recent_n(void *data, uint32_t count) {
  on_recent(((sync_notes *)data)->s, count);
}

static void on_expunged_n(void *data, uint32_t seq, uint32_t uid) {
  imap_on_expunged(((sync_notes *)data)->s, seq, uid);
}

static void on_keywords(void *data) { ((sync_notes *)data)->keywords = true; }

static void on_changed(void *data, uint32_t seq, uint32_t uid) {
  sync_notes *n = data;
  (void)uid;
  if (n->changed == NULL)
    n->changed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  g_array_append_val(n->changed, seq);
}

void imap_sync(imap_session *s, unsigned flags) {
  if (s->box == NULL)
    return;
  static const cursus_store_sync_cb cb = {
      .size = sizeof(cursus_store_sync_cb),
      .expunged = on_expunged_n,
      .exists = on_exists_n,
      .recent = on_recent_n,
      .keywords = on_keywords,
      .changed = on_changed,
  };
  sync_notes notes = {s, false, NULL};
  const char *error = NULL;
  int rc = STORE->mailbox_sync(s->box, flags, &cb, &notes, &error);
  flush_vanished(s);
  if (notes.keywords)
    imap_send_mailbox_flags(s);
  if (notes.changed != NULL) {
    imap_sort_unique(notes.changed);
    for (guint i = 0; i < notes.changed->len; i++)
      imap_send_fetch_flags(s, g_array_index(notes.changed, uint32_t, i),
                            (s->enabled & IMAP_ENABLE_QRESYNC) != 0);
    g_array_free(notes.changed, TRUE);
  }
  if (rc != CURSUS_OK) {
    cursus_store_error e = imap_user_error(s);
    if (e == CURSUS_STORE_E_NOTFOUND) {
      /* another session deleted or renamed the folder under us */
      imap_printf(s, "* BYE Selected mailbox was deleted, have to "
                     "disconnect\r\n");
      s->logout = true;
      return;
    }
    imap_log(s, CURSUS_LOG_WARNING, "cannot synchronise %s: %s", s->box_name,
             error != NULL ? error : "unknown error");
  }
}

void imap_send_fetch_flags(imap_session *s, uint32_t seq, bool with_uid) {
  cursus_store_message msg = {.size = sizeof(msg)};
  const char *error;
  if (STORE->message_info(s->box, seq, &msg, &error) != CURSUS_OK)
    return;
  imap_printf(s, "* %u FETCH (FLAGS ", seq);
  imap_append_flags(s, s->out, msg.flags, msg.keywords, msg.n_keywords);
  if (with_uid)
    g_string_append_printf(s->out, " UID %u", msg.uid);
  if (s->box_condstore)
    g_string_append_printf(s->out, " MODSEQ (%" G_GUINT64_FORMAT ")",
                           msg.modseq);
  g_string_append(s->out, ")\r\n");
}

void imap_send_mailbox_flags(imap_session *s) {
  cursus_store_status st = {.size = sizeof(st)};
  const char *error;
  size_t n = 0;
  const char *const *kw = STORE->mailbox_keywords(s->box, &n);
  imap_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
  for (size_t i = 0; i < n; i++)
    g_string_append_printf(s->out, " %s", kw[i]);
  g_string_append(s->out, ")\r\n");
  st.items = 0;
  if (STORE->mailbox_state(s->box, &st, &error) != CURSUS_OK)
    return;
  if (st.read_only) {
    imap_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
    return;
  }
  imap_printf(s, "* OK [PERMANENTFLAGS (");
  bool first = true;
  static const struct {
    uint32_t bit;
    const char *name;
  } f[] = {{CURSUS_STORE_ANSWERED, "\\Answered"},
           {CURSUS_STORE_FLAGGED, "\\Flagged"},
           {CURSUS_STORE_DELETED, "\\Deleted"},
           {CURSUS_STORE_SEEN, "\\Seen"},
           {CURSUS_STORE_DRAFT, "\\Draft"}};
  for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
    if (!(st.permanent_flags & f[i].bit))
      continue;
    g_string_append_printf(s->out, "%s%s", first ? "" : " ", f[i].name);
    first = false;
  }
  if (st.permanent_flags & CURSUS_STORE_FLAGGED) {
    /* keywords need the `w` right, as \Flagged does */
    for (size_t i = 0; i < n; i++) {
      g_string_append_printf(s->out, "%s%s", first ? "" : " ", kw[i]);
      first = false;
    }
  }
  if (st.may_create_keywords)
    g_string_append_printf(s->out, "%s\\*", first ? "" : " ");
  g_string_append(s->out, ")] Flags permitted.\r\n");
}

void imap_close_mailbox(imap_session *s) {
  imap_idle_stop(s);
  if (s->box != NULL)
    STORE->mailbox_close(&s->box);
  g_free(s->box_name);
  s->box_name = NULL;
  s->box_readonly = false;
  s->box_condstore = (s->enabled & IMAP_ENABLE_CONDSTORE) != 0;
  s->last_exists = s->last_recent = 0;
  if (s->saved.uids != NULL)
    g_array_set_size(s->saved.uids, 0);
  if (s->expunged_uids != NULL) {
    g_array_free(s->expunged_uids, TRUE);
    s->expunged_uids = NULL;
  }
  if (s->state == IMAP_STATE_SELECTED)
    s->state = IMAP_STATE_AUTH;
}

bool imap_resolve_set(imap_session *s, imap_cmd *cmd, const imap_seqset *in,
                      bool by_uid, cursus_store_set *set_r) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(cursus_store_range));
  uint32_t count = STORE->mailbox_count(s->box);
  memset(set_r, 0, sizeof(*set_r));
  if (in->saved) {
    /* "$": the saved UIDs, whatever the command's kind */
    const GArray *u = s->saved.uids;
    for (guint i = 0; u != NULL && i < u->len; i++) {
      uint32_t uid = g_array_index(u, uint32_t, i);
      cursus_store_range r = {uid, uid};
      g_array_append_val(out, r);
    }
    by_uid = true;
  } else {
    uint32_t star = count;
    if (by_uid)
      star = count > 0 ? STORE->message_uid(s->box, count) : 0;
    for (guint i = 0; i < in->ranges->len; i++) {
      imap_range r = g_array_index(in->ranges, imap_range, i);
      uint32_t a = r.first == 0 ? star : r.first;
      uint32_t b = r.last == 0 ? star : r.last;
      if (!by_uid && (a > count || b > count || a == 0 || b == 0)) {
        g_array_free(out, TRUE);
        return imap_parser_fail(&cmd->parser,
                                "invalid message sequence number");
      }
      cursus_store_range sr = {MIN(a, b), MAX(a, b)};
      g_array_append_val(out, sr);
    }
  }
  set_r->n_ranges = out->len;
  set_r->by_uid = by_uid;
  set_r->ranges = imap_parser_own(&cmd->parser,
                                  g_array_free(out, out->len == 0));
  return true;
}
