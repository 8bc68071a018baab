/*
 * imap-mailbox.c - commands on mailboxes as wholes: SELECT, EXAMINE
 * (with CONDSTORE and QRESYNC), CREATE (with USE), DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS, CLOSE, UNSELECT, EXPUNGE
 */
#include "imap.h"

#include <string.h>

static const struct {
  const char *name;
  uint32_t bit;
} special_uses[] = {
    {"\\All", CURSUS_STORE_USE_ALL},       {"\\Archive", CURSUS_STORE_USE_ARCHIVE},
    {"\\Drafts", CURSUS_STORE_USE_DRAFTS}, {"\\Flagged", CURSUS_STORE_USE_FLAGGED},
    {"\\Junk", CURSUS_STORE_USE_JUNK},     {"\\Sent", CURSUS_STORE_USE_SENT},
    {"\\Trash", CURSUS_STORE_USE_TRASH},
};

/* imap_special_use_bit - the bit of a special-use attribute, or 0 */
uint32_t imap_special_use_bit(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(special_uses); i++)
    if (g_ascii_strcasecmp(name, special_uses[i].name) == 0)
      return special_uses[i].bit;
  return 0;
}

/* imap_append_special_use - " \Sent \Trash" for BITS */
void imap_append_special_use(GString *out, uint32_t bits, bool *first) {
  for (size_t i = 0; i < G_N_ELEMENTS(special_uses); i++) {
    if (!(bits & special_uses[i].bit))
      continue;
    if (!*first)
      g_string_append_c(out, ' ');
    g_string_append(out, special_uses[i].name);
    *first = false;
  }
}

/* personal_separator - the hierarchy separator of the user's own folders */
static char personal_separator(imap_session *s) {
  size_t n = 0;
  const cursus_store_namespace *ns = STORE->user_namespaces(s->user, &n);
  return n > 0 ? ns[0].separator : '/';
}

/* ------------------------------------------------------------ SELECT */

typedef struct qresync_args {
  uint32_t uidvalidity;
  uint64_t modseq;
  imap_seqset known;
  bool have_known;
} qresync_args;

/* parse_select_params - "(CONDSTORE)" or "(QRESYNC (...))" */
static bool parse_select_params(imap_session *s, imap_cmd *cmd, bool *condstore,
                                qresync_args *q, bool *qresync) {
  imap_parser *ip = &cmd->parser;
  if (!imap_parse_char(ip, '('))
    return false;
  for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
    const char *name;
    if (!first && !imap_parse_sp(ip))
      return false;
    if (!imap_parse_atom(ip, &name))
      return false;
    if (g_ascii_strcasecmp(name, "CONDSTORE") == 0) {
      *condstore = true;
    } else if (g_ascii_strcasecmp(name, "QRESYNC") == 0) {
      if (!(s->enabled & IMAP_ENABLE_QRESYNC))
        return imap_parser_fail(ip, "QRESYNC needs ENABLE QRESYNC first");
      if (!imap_parse_sp(ip) || !imap_parse_char(ip, '(') ||
          !imap_parse_nz_number(ip, &q->uidvalidity) || !imap_parse_sp(ip) ||
          !imap_parse_number64(ip, &q->modseq))
        return false;
      if (q->modseq == 0)
        return imap_parser_fail(ip, "mod-sequence must not be zero");
      if (imap_parse_peek(ip, ' ')) {
        ip->p++;
        if (!imap_parse_peek(ip, '(')) {
          if (!imap_parse_seqset(ip, false, &q->known))
            return false;
          q->have_known = true;
          if (imap_parse_peek(ip, ' '))
            ip->p++;
        }
        if (imap_parse_peek(ip, '(')) {
          /* sequence match data: a hint we do not need */
          imap_seqset a, b;
          ip->p++;
          if (!imap_parse_seqset(ip, false, &a) || !imap_parse_sp(ip) ||
              !imap_parse_seqset(ip, false, &b) || !imap_parse_char(ip, ')'))
            return false;
        }
      }
      if (!imap_parse_char(ip, ')'))
        return false;
      *qresync = true;
    } else {
      return imap_parser_fail(ip, "unknown SELECT parameter");
    }
  }
  ip->p++;
  return true;
}

static void on_vanished(void *data, uint32_t uid) {
  GArray *a = data;
  g_array_append_val(a, uid);
}

static void on_changed_seq(void *data, uint32_t seq, uint32_t uid) {
  GArray *a = data;
  (void)uid;
  g_array_append_val(a, seq);
}

/* qresync_report - VANISHED (EARLIER) and FETCH for what changed */
static void qresync_report(imap_session *s, imap_cmd *cmd,
                           const qresync_args *q) {
  const char *error;
  cursus_store_set known = {0};
  if (q->have_known &&
      !imap_resolve_set(s, cmd, &q->known, true, &known))
    return;
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (STORE->mailbox_vanished_since(s->box, q->modseq,
                                    q->have_known ? &known : NULL, on_vanished,
                                    uids, &error) == CURSUS_OK &&
      uids->len > 0) {
    g_array_sort(uids, imap_cmp_u32);
    imap_printf(s, "* VANISHED (EARLIER) ");
    imap_append_seqset(s->out, (const uint32_t *)(void *)uids->data,
                       uids->len);
    imap_write(s, "\r\n", 2);
  }
  g_array_set_size(uids, 0);
  if (STORE->mailbox_changed_since(s->box, q->modseq, on_changed_seq, uids,
                                   &error) == CURSUS_OK)
    for (guint i = 0; i < uids->len; i++)
      imap_send_fetch_flags(s, g_array_index(uids, uint32_t, i), true);
  g_array_free(uids, TRUE);
}

bool imap_cmd_select(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *name, *error = NULL;
  bool condstore = false, qresync = false;
  qresync_args q = {0};
  bool examine = strcmp(cmd->name, "EXAMINE") == 0;
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &name))
    return imap_cmd_bad(s, cmd);
  if (imap_parse_peek(ip, ' ')) {
    ip->p++;
    if (!parse_select_params(s, cmd, &condstore, &q, &qresync))
      return imap_cmd_bad(s, cmd);
  }
  if (!imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (s->box != NULL) {
    imap_close_mailbox(s);
    if (s->enabled & IMAP_ENABLE_QRESYNC)
      imap_printf(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
  }
  cursus_store_mailbox *box = NULL;
  if (STORE->mailbox_open(s->user, name,
                          examine ? CURSUS_STORE_OPEN_READONLY : 0, &box,
                          &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  s->box = box;
  s->box_name = g_strdup(name);
  s->state = IMAP_STATE_SELECTED;
  if (condstore || qresync)
    s->box_condstore = true;
  cursus_store_status st = {.size = sizeof(st)};
  st.items = CURSUS_STORE_STATUS_MESSAGES | CURSUS_STORE_STATUS_RECENT |
             CURSUS_STORE_STATUS_UIDNEXT | CURSUS_STORE_STATUS_UIDVALIDITY |
             CURSUS_STORE_STATUS_HIGHESTMODSEQ |
             CURSUS_STORE_STATUS_FIRST_UNSEEN;
  if (STORE->mailbox_state(box, &st, &error) != CURSUS_OK) {
    imap_close_mailbox(s);
    return imap_cmd_store_error(s, cmd, error);
  }
  s->box_readonly = st.read_only != 0;
  s->last_exists = st.messages;
  s->last_recent = st.recent;
  s->highestmodseq = st.highestmodseq;
  imap_send_mailbox_flags(s);
  imap_printf(s, "* %u EXISTS\r\n", st.messages);
  if (!(s->enabled & IMAP_ENABLE_REV2)) {
    imap_printf(s, "* %u RECENT\r\n", st.recent);
    if ((st.items & CURSUS_STORE_STATUS_FIRST_UNSEEN) && st.first_unseen > 0)
      imap_printf(s, "* OK [UNSEEN %u] First unseen.\r\n", st.first_unseen);
  }
  imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n", st.uidvalidity);
  imap_printf(s, "* OK [UIDNEXT %u] Predicted next UID\r\n", st.uidnext);
  if (st.items & CURSUS_STORE_STATUS_HIGHESTMODSEQ)
    imap_printf(s, "* OK [HIGHESTMODSEQ %" G_GUINT64_FORMAT "] Highest\r\n",
                st.highestmodseq);
  else
    imap_printf(s, "* OK [NOMODSEQ] No permanent modsequences\r\n");
  if (qresync && q.uidvalidity == st.uidvalidity)
    qresync_report(s, cmd, &q);
  return imap_cmd_done(s, cmd, "OK", "[%s] %s completed.",
                       s->box_readonly ? "READ-ONLY" : "READ-WRITE",
                       examine ? "Examine" : "Select");
}

/* ------------------------------------------------------------ CREATE ... */

bool imap_cmd_create(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *name, *error = NULL;
  uint32_t use = 0;
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &name))
    return imap_cmd_bad(s, cmd);
  if (imap_parse_peek(ip, ' ')) {
    const char *kw;
    ip->p++;
    if (!imap_parse_char(ip, '(') || !imap_parse_atom(ip, &kw))
      return imap_cmd_bad(s, cmd);
    if (g_ascii_strcasecmp(kw, "USE") != 0) {
      imap_parser_fail(ip, "unknown CREATE parameter");
      return imap_cmd_bad(s, cmd);
    }
    if (!imap_parse_sp(ip) || !imap_parse_char(ip, '('))
      return imap_cmd_bad(s, cmd);
    for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
      const char *attr;
      if ((!first && !imap_parse_sp(ip)) ||
          !imap_parse_flag(ip, false, &attr))
        return imap_cmd_bad(s, cmd);
      uint32_t bit = imap_special_use_bit(attr);
      if (bit == 0)
        return imap_cmd_done(s, cmd, "NO",
                             "[USEATTR] Unsupported special-use attribute "
                             "%s.",
                             attr);
      use |= bit;
    }
    ip->p++;
    if (!imap_parse_char(ip, ')'))
      return imap_cmd_bad(s, cmd);
  }
  if (!imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  /* a trailing separator only says children will follow (RFC 3501) */
  char sep = personal_separator(s);
  char *n = imap_parser_own(ip, g_strdup(name));
  size_t len = strlen(n);
  while (len > 1 && sep != '\0' && n[len - 1] == sep)
    n[--len] = '\0';
  if (imap_mailbox_is_inbox(n))
    return imap_cmd_done(s, cmd, "NO",
                         "[ALREADYEXISTS] Mailbox already exists.");
  if (STORE->mailbox_create(s->user, n, use, &error) != CURSUS_OK) {
    if (use != 0 && imap_user_error(s) == CURSUS_STORE_E_UNSUPPORTED)
      return imap_cmd_done(s, cmd, "NO", "[USEATTR] %s",
                           error != NULL ? error : "not supported");
    return imap_cmd_store_error(s, cmd, error);
  }
  return imap_cmd_done(s, cmd, "OK", "Create completed.");
}

bool imap_cmd_delete(imap_session *s, imap_cmd *cmd) {
  const char *name, *error = NULL;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_mailbox(&cmd->parser, &name) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (imap_mailbox_is_inbox(name))
    return imap_cmd_done(s, cmd, "NO", "[CANNOT] INBOX cannot be deleted.");
  if (s->box_name != NULL && strcmp(s->box_name, name) == 0) {
    /* RFC 9051: deleting the selected mailbox leaves it first */
    imap_close_mailbox(s);
    if (s->enabled & IMAP_ENABLE_QRESYNC)
      imap_printf(s, "* OK [CLOSED] Mailbox closed.\r\n");
  }
  if (STORE->mailbox_delete(s->user, name, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "Delete completed.");
}

bool imap_cmd_rename(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *from, *to, *error = NULL;
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &from) ||
      !imap_parse_sp(ip) || !imap_parse_mailbox(ip, &to) ||
      !imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (imap_mailbox_is_inbox(to))
    return imap_cmd_done(s, cmd, "NO", "[ALREADYEXISTS] INBOX exists.");
  if (s->box_name != NULL && strcmp(s->box_name, from) == 0 &&
      !imap_mailbox_is_inbox(from)) {
    /* the selected mailbox moves away: leave it first, as DELETE does */
    imap_close_mailbox(s);
    if (s->enabled & IMAP_ENABLE_QRESYNC)
      imap_printf(s, "* OK [CLOSED] Mailbox closed.\r\n");
  }
  if (STORE->mailbox_rename(s->user, from, to, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "Rename completed.");
}

bool imap_cmd_subscribe(imap_session *s, imap_cmd *cmd) {
  const char *name, *error = NULL;
  bool sub = strcmp(cmd->name, "SUBSCRIBE") == 0;
  if (!imap_parse_sp(&cmd->parser) ||
      !imap_parse_mailbox(&cmd->parser, &name) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (STORE->mailbox_subscribe(s->user, name, sub, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "%s completed.",
                       sub ? "Subscribe" : "Unsubscribe");
}

/* ------------------------------------------------------------ STATUS */

static const struct {
  const char *name;
  uint32_t item;
} status_items[] = {
    {"MESSAGES", CURSUS_STORE_STATUS_MESSAGES},
    {"RECENT", CURSUS_STORE_STATUS_RECENT},
    {"UIDNEXT", CURSUS_STORE_STATUS_UIDNEXT},
    {"UIDVALIDITY", CURSUS_STORE_STATUS_UIDVALIDITY},
    {"UNSEEN", CURSUS_STORE_STATUS_UNSEEN},
    {"HIGHESTMODSEQ", CURSUS_STORE_STATUS_HIGHESTMODSEQ},
    {"SIZE", CURSUS_STORE_STATUS_SIZE},
    {"DELETED", CURSUS_STORE_STATUS_DELETED},
};

bool imap_parse_status_items(imap_parser *ip, GArray *items) {
  if (!imap_parse_char(ip, '('))
    return false;
  for (bool first = true; !imap_parse_peek(ip, ')'); first = false) {
    const char *name;
    if ((!first && !imap_parse_sp(ip)) || !imap_parse_atom(ip, &name))
      return false;
    guint i;
    for (i = 0; i < G_N_ELEMENTS(status_items); i++)
      if (g_ascii_strcasecmp(name, status_items[i].name) == 0)
        break;
    if (i == G_N_ELEMENTS(status_items))
      return imap_parser_fail(ip, "unknown STATUS item");
    g_array_append_val(items, i);
  }
  ip->p++;
  if (items->len == 0)
    return imap_parser_fail(ip, "no STATUS items");
  return true;
}

/* imap_write_status - "* STATUS name (...)"; false with the store's error */
bool imap_write_status(imap_session *s, const char *name, GArray *items,
                       const char **error_r) {
  cursus_store_status st = {.size = sizeof(st)};
  for (guint i = 0; i < items->len; i++)
    st.items |= status_items[g_array_index(items, guint, i)].item;
  if (STORE->mailbox_status(s->user, name, &st, error_r) != CURSUS_OK)
    return false;
  if (st.items & CURSUS_STORE_STATUS_HIGHESTMODSEQ)
    s->box_condstore = s->box_condstore || s->box == NULL;
  imap_printf(s, "* STATUS ");
  imap_append_mailbox(s, s->out, name);
  g_string_append(s->out, " (");
  for (guint i = 0; i < items->len; i++) {
    guint k = g_array_index(items, guint, i);
    uint64_t v = 0;
    switch (status_items[k].item) {
    case CURSUS_STORE_STATUS_MESSAGES:
      v = st.messages;
      break;
    case CURSUS_STORE_STATUS_RECENT:
      v = st.recent;
      break;
    case CURSUS_STORE_STATUS_UIDNEXT:
      v = st.uidnext;
      break;
    case CURSUS_STORE_STATUS_UIDVALIDITY:
      v = st.uidvalidity;
      break;
    case CURSUS_STORE_STATUS_UNSEEN:
      v = st.unseen;
      break;
    case CURSUS_STORE_STATUS_HIGHESTMODSEQ:
      v = st.highestmodseq;
      break;
    case CURSUS_STORE_STATUS_SIZE:
      v = st.bytes;
      break;
    case CURSUS_STORE_STATUS_DELETED:
      v = st.deleted;
      break;
    }
    g_string_append_printf(s->out, "%s%s %" G_GUINT64_FORMAT, i ? " " : "",
                           status_items[k].name, v);
  }
  g_string_append(s->out, ")\r\n");
  return true;
}

bool imap_cmd_status(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *name, *error = NULL;
  GArray *items = imap_parser_array(ip, sizeof(guint));
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &name) ||
      !imap_parse_sp(ip) || !imap_parse_status_items(ip, items) ||
      !imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (!imap_write_status(s, name, items, &error))
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "Status completed.");
}

/* ------------------------------------------------------------ CLOSE */

bool imap_cmd_close(imap_session *s, imap_cmd *cmd) {
  const char *error = NULL;
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  bool unselect = strcmp(cmd->name, "UNSELECT") == 0;
  if (!unselect && !s->box_readonly &&
      STORE->mailbox_expunge(s->box, NULL, NULL, NULL, &error) != CURSUS_OK &&
      imap_user_error(s) != CURSUS_STORE_E_NOPERM)
    imap_log(s, CURSUS_LOG_WARNING, "CLOSE: expunge of %s failed: %s",
             s->box_name, error != NULL ? error : "unknown error");
  imap_close_mailbox(s);
  return imap_cmd_done(s, cmd, "OK", "%s completed.",
                       unselect ? "Unselect" : "Close");
}

/* ------------------------------------------------------------ EXPUNGE */

bool imap_cmd_expunge(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *error = NULL;
  imap_seqset uids;
  cursus_store_set set;
  bool have_set = false;
  if (cmd->uid) {
    if (!imap_parse_sp(ip) || !imap_parse_seqset(ip, true, &uids) ||
        !imap_parse_end(ip) || !imap_resolve_set(s, cmd, &uids, true, &set))
      return imap_cmd_bad(s, cmd);
    have_set = true;
  } else if (!imap_parse_end(ip)) {
    return imap_cmd_bad(s, cmd);
  }
  if (s->box_readonly)
    return imap_cmd_done(s, cmd, "NO", "[READ-ONLY] Mailbox is read-only.");
  if (STORE->mailbox_expunge(s->box, have_set ? &set : NULL, imap_on_expunged, s,
                             &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "Expunge completed.");
}
