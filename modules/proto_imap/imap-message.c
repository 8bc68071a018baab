/*
 * imap-message.c - changing messages: STORE (with UNCHANGEDSINCE,
 * RFC 7162), COPY and MOVE (with COPYUID, RFC 4315 / RFC 6851)
 */
#include "imap.h"

#include <string.h>

/* ------------------------------------------------------------ STORE */

/* imap_parse_flag_list - "(\Seen kw ...)" or "\Seen kw ..." into FLAGS and
 * KEYWORDS (NULL-terminated); \Recent and unknown system flags refused */
bool imap_parse_flag_list(imap_parser *ip, bool parens, uint32_t *flags,
                          GPtrArray *keywords) {
  if (parens && !imap_parse_char(ip, '('))
    return false;
  for (bool first = true;; first = false) {
    if (parens && imap_parse_peek(ip, ')'))
      break;
    if (!parens && !first && !imap_parse_peek(ip, ' '))
      break;
    const char *flag;
    if ((!first && !imap_parse_sp(ip)) || !imap_parse_flag(ip, false, &flag))
      return false;
    int bit = imap_flag_bit(flag);
    if (bit < 0 || bit == CURSUS_STORE_RECENT)
      return imap_parser_fail(ip, "invalid system flag");
    if (bit > 0) {
      *flags |= (uint32_t)bit;
    } else {
      if (keywords->len >= 256)
        return imap_parser_fail(ip, "too many keywords");
      g_ptr_array_add(keywords, (gpointer)flag);
    }
  }
  if (parens)
    ip->p++;
  g_ptr_array_add(keywords, NULL);
  return true;
}

bool imap_store_parse(imap_parser *ip, store_args *a) {
  const char *what;
  memset(a, 0, sizeof(*a));
  a->keywords = g_ptr_array_new(); /* the caller frees it */
  if (!imap_parse_sp(ip) || !imap_parse_seqset(ip, true, &a->set) ||
      !imap_parse_sp(ip))
    return false;
  if (imap_parse_peek(ip, '(')) {
    const char *m;
    ip->p++;
    if (!imap_parse_atom(ip, &m) ||
        g_ascii_strcasecmp(m, "UNCHANGEDSINCE") != 0)
      return imap_parser_fail(ip, "unknown STORE modifier");
    if (!imap_parse_sp(ip) || !imap_parse_number64(ip, &a->unchangedsince) ||
        !imap_parse_char(ip, ')') || !imap_parse_sp(ip))
      return false;
  }
  a->mode = CURSUS_STORE_FLAGS_REPLACE;
  if (imap_parse_peek(ip, '+')) {
    a->mode = CURSUS_STORE_FLAGS_ADD;
    ip->p++;
  } else if (imap_parse_peek(ip, '-')) {
    a->mode = CURSUS_STORE_FLAGS_REMOVE;
    ip->p++;
  }
  if (!imap_parse_atom(ip, &what))
    return false;
  if (g_ascii_strcasecmp(what, "FLAGS.SILENT") == 0)
    a->silent = true;
  else if (g_ascii_strcasecmp(what, "FLAGS") != 0)
    return imap_parser_fail(ip, "expected FLAGS, +FLAGS or -FLAGS");
  if (!imap_parse_sp(ip))
    return false;
  if (!imap_parse_flag_list(ip, imap_parse_peek(ip, '('), &a->flags,
                            a->keywords))
    return false;
  return imap_parse_end(ip);
}

typedef struct store_result {
  GArray *changed;  /* seq */
  GArray *modified; /* seq or uid, as the command speaks */
  bool by_uid;
} store_result;

static void on_changed(void *data, uint32_t seq, uint32_t uid) {
  store_result *r = data;
  (void)uid;
  g_array_append_val(r->changed, seq);
}

static void on_modified(void *data, uint32_t seq, uint32_t uid) {
  store_result *r = data;
  uint32_t v = r->by_uid ? uid : seq;
  g_array_append_val(r->modified, v);
}

bool imap_cmd_store(imap_session *s, imap_cmd *cmd) {
  store_args a;
  cursus_store_set set;
  const char *error = NULL;
  bool ok = imap_store_parse(&cmd->parser, &a);
  if (!ok || !imap_resolve_set(s, cmd, &a.set, cmd->uid, &set)) {
    g_ptr_array_free(a.keywords, TRUE);
    return imap_cmd_bad(s, cmd);
  }
  GPtrArray *kw = a.keywords;
  if (s->box_readonly) {
    g_ptr_array_free(kw, TRUE);
    return imap_cmd_done(s, cmd, "NO", "[READ-ONLY] Mailbox is read-only.");
  }
  if (a.unchangedsince > 0)
    s->box_condstore = true;
  size_t kw_before = 0;
  STORE->mailbox_keywords(s->box, &kw_before);
  store_result r = {g_array_new(FALSE, FALSE, sizeof(uint32_t)),
                    g_array_new(FALSE, FALSE, sizeof(uint32_t)), cmd->uid};
  int rc = STORE->message_store_flags(
      s->box, &set, a.mode, a.flags,
      kw->len > 1 || a.mode == CURSUS_STORE_FLAGS_REPLACE
          ? (const char *const *)kw->pdata
          : NULL,
      a.unchangedsince, on_changed, on_modified, &r, &error);
  g_ptr_array_free(kw, TRUE);
  if (rc != CURSUS_OK) {
    g_array_free(r.changed, TRUE);
    g_array_free(r.modified, TRUE);
    return imap_cmd_store_error(s, cmd, error);
  }
  /* new keywords enter the view at a sync: FLAGS goes out before the
   * FETCH responses that use them (no expunges yet: the numbers of
   * r.changed must stay valid) */
  imap_sync(s, CURSUS_STORE_SYNC_NO_EXPUNGES);
  size_t kw_after = 0;
  STORE->mailbox_keywords(s->box, &kw_after);
  if (kw_after != kw_before && s->out != NULL &&
      strstr(s->out->str, "* FLAGS (") == NULL)
    imap_send_mailbox_flags(s);
  g_array_sort(r.changed, imap_cmp_u32);
  for (guint i = 0; i < r.changed->len; i++) {
    uint32_t seq = g_array_index(r.changed, uint32_t, i);
    if (!a.silent) {
      imap_send_fetch_flags(s, seq, cmd->uid ||
                                        (s->enabled & IMAP_ENABLE_QRESYNC));
    } else if (s->box_condstore) {
      /* RFC 7162 3.1.3: the new mod-sequence even when silent */
      cursus_store_message msg = {.size = sizeof(msg)};
      if (STORE->message_info(s->box, seq, &msg, &error) == CURSUS_OK) {
        imap_printf(s, "* %u FETCH (", seq);
        if (cmd->uid)
          g_string_append_printf(s->out, "UID %u ", msg.uid);
        g_string_append_printf(s->out, "MODSEQ (%" G_GUINT64_FORMAT "))\r\n",
                               msg.modseq);
      }
    }
  }
  g_array_free(r.changed, TRUE);
  if (r.modified->len > 0) {
    g_array_sort(r.modified, imap_cmp_u32);
    GString *mod = g_string_new(NULL);
    imap_append_seqset(mod, (const uint32_t *)(void *)r.modified->data,
                       r.modified->len);
    g_array_free(r.modified, TRUE);
    imap_cmd_done(s, cmd, "OK", "[MODIFIED %s] Conditional STORE failed.",
                  mod->str);
    g_string_free(mod, TRUE);
    return true;
  }
  g_array_free(r.modified, TRUE);
  return imap_cmd_done(s, cmd, "OK", "Store completed.");
}

/* ------------------------------------------------------------ COPY/MOVE */

typedef struct copy_ctx {
  imap_session *s;
  GArray *src, *dst;
  bool reported;
  uint32_t uidvalidity;
} copy_ctx;

static void on_copied(void *data, uint32_t src_uid, uint32_t dst_uid) {
  copy_ctx *c = data;
  g_array_append_val(c->src, src_uid);
  g_array_append_val(c->dst, dst_uid);
}

static void append_copyuid(GString *out, const copy_ctx *c) {
  g_string_append_printf(out, "COPYUID %u ", c->uidvalidity);
  imap_append_seqset(out, (const uint32_t *)(void *)c->src->data, c->src->len);
  g_string_append_c(out, ' ');
  imap_append_seqset(out, (const uint32_t *)(void *)c->dst->data, c->dst->len);
}

static void on_moved_expunged(void *data, uint32_t seq, uint32_t uid) {
  copy_ctx *c = data;
  if (!c->reported && c->src->len > 0) {
    /* RFC 6851: COPYUID goes out before the expunges */
    imap_printf(c->s, "* OK [");
    append_copyuid(c->s->out, c);
    g_string_append(c->s->out, "] Moved UIDs.\r\n");
    c->reported = true;
  }
  imap_on_expunged(c->s, seq, uid);
}

bool imap_cmd_copy(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  imap_seqset in;
  cursus_store_set set;
  const char *dest, *error = NULL;
  bool move = strcmp(cmd->name, "MOVE") == 0;
  if (!imap_parse_sp(ip) || !imap_parse_seqset(ip, true, &in) ||
      !imap_parse_sp(ip) || !imap_parse_mailbox(ip, &dest) ||
      !imap_parse_end(ip) || !imap_resolve_set(s, cmd, &in, cmd->uid, &set))
    return imap_cmd_bad(s, cmd);
  if (move && s->box_readonly)
    return imap_cmd_done(s, cmd, "NO", "[READ-ONLY] Mailbox is read-only.");
  copy_ctx c = {s, g_array_new(FALSE, FALSE, sizeof(uint32_t)),
                g_array_new(FALSE, FALSE, sizeof(uint32_t)), false, 0};
  int rc = move ? STORE->message_move(s->box, &set, dest, on_copied,
                                      on_moved_expunged, &c, &c.uidvalidity,
                                      &error)
                : STORE->message_copy(s->box, &set, dest, on_copied, &c,
                                      &c.uidvalidity, &error);
  bool done;
  if (rc != CURSUS_OK) {
    cursus_store_error e = imap_user_error(s);
    const char *code = imap_store_error_code(e, true);
    done = imap_cmd_done(s, cmd, "NO", "%s%s%s%s", code ? "[" : "",
                         code ? code : "", code ? "] " : "",
                         error != NULL ? error : "failed");
  } else if (move) {
    done = imap_cmd_done(s, cmd, "OK", "Move completed.");
  } else if (c.src->len > 0) {
    GString *code = g_string_new(NULL);
    append_copyuid(code, &c);
    done = imap_cmd_done(s, cmd, "OK", "[%s] Copy completed.", code->str);
    g_string_free(code, TRUE);
  } else {
    done = imap_cmd_done(s, cmd, "OK", "Copy completed.");
  }
  g_array_free(c.src, TRUE);
  g_array_free(c.dst, TRUE);
  return done;
}
