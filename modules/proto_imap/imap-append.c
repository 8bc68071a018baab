/*
 * imap-append.c - APPEND (RFC 3501 6.3.11, UIDPLUS APPENDUID, BINARY
 * literal8), with the message streamed into the store
 *
 * The reader calls imap_append_literal when a command line ends with a
 * literal marker.  When the command so far is "tag APPEND mailbox [flags]
 * [date-time]", the literal is the message: it is written to the store
 * as it arrives (append_write), never held in memory, and committed (the
 * store fsyncs) on a host thread once the command line ends.
 */
#include "imap.h"

#include <string.h>

typedef struct imap_append {
  cursus_store_append *append;
  const char *mailbox;
  uint64_t left;        /* message octets still to come */
  bool discard;         /* throw the octets away: the command failed */
  char fail[256];       /* the reply when failed */
  bool failed;
  bool bad;             /* the failure is a BAD (malformed command) */
  GPtrArray *keywords;
  int status;           /* of append_commit */
  cursus_store_append_result result;
  char error[256];
} imap_append;

/* imap_append_parse - the arguments before the message, up to the literal
 * marker (not included in IP): APPEND_MESSAGE when the literal is the
 * message, APPEND_OTHER when it is not an APPEND's message (another
 * command, or the mailbox name as a literal), APPEND_MALFORMED (ip->error
 * says why) */
append_kind imap_append_parse(imap_parser *ip, append_args *a) {
  const char *tag, *name;
  memset(a, 0, sizeof(*a));
  if (!imap_parse_tag(ip, &tag) || !imap_parse_sp(ip) ||
      !imap_parse_atom(ip, &name) || g_ascii_strcasecmp(name, "APPEND") != 0 ||
      !imap_parse_sp(ip) || imap_parse_at_end(ip))
    return APPEND_OTHER;
  if (!imap_parse_mailbox(ip, &a->mailbox) || !imap_parse_sp(ip))
    return imap_parse_at_end(ip) ? APPEND_OTHER : APPEND_MALFORMED;
  a->keywords = g_ptr_array_new();
  if (imap_parse_peek(ip, '(')) {
    if (!imap_parse_flag_list(ip, true, &a->flags, a->keywords) ||
        !imap_parse_sp(ip))
      return APPEND_MALFORMED;
  } else {
    g_ptr_array_add(a->keywords, NULL);
  }
  if (imap_parse_peek(ip, '"')) {
    if (!imap_parse_date_time(ip, &a->date, &a->tz) || !imap_parse_sp(ip))
      return APPEND_MALFORMED;
  }
  if (!imap_parse_at_end(ip)) {
    imap_parser_fail(ip, "expected the message literal");
    return APPEND_MALFORMED;
  }
  return APPEND_MESSAGE;
}

static void append_fail(imap_append *ap, const char *text) {
  if (ap->failed)
    return;
  ap->failed = true;
  ap->discard = true;
  g_strlcpy(ap->fail, text, sizeof(ap->fail));
}

void imap_append_free(imap_session *s) {
  imap_append *ap = s->append;
  if (ap == NULL)
    return;
  s->append = NULL;
  if (ap->append != NULL)
    STORE->append_free(&ap->append);
  if (ap->keywords != NULL)
    g_ptr_array_free(ap->keywords, TRUE);
  g_free(ap);
}

/* start_cmd - the command being appended, from the reader's text */
static imap_cmd *start_cmd(imap_session *s) {
  imap_cmd *cmd = g_new0(imap_cmd, 1);
  cmd->text = imap_reader_take(&s->reader);
  imap_parser_init(&cmd->parser, cmd->text->str, cmd->text->len);
  imap_parse_tag(&cmd->parser, &cmd->tag);
  cmd->name = "APPEND";
  cmd->def = imap_command_find("APPEND");
  return cmd;
}

/* store_error_text - "[CODE] text" of the store's last failure */
static void store_error_text(imap_session *s, const char *error, char *out,
                             size_t size) {
  const char *code = imap_store_error_code(imap_user_error(s), true);
  g_snprintf(out, size, "%s%s%s%s", code != NULL ? "[" : "",
             code != NULL ? code : "", code != NULL ? "] " : "",
             error != NULL ? error : "Append failed");
}

/* append_refused - after the arguments were read: answer at once when
 * they failed and the client waits for "+", else take the message */
static bool append_refused(imap_session *s, bool sync) {
  imap_append *ap = s->append;
  if (ap->failed && sync) {
    /* the client has not sent the message: answer now */
    if (ap->bad)
      s->bad_commands++;
    imap_cmd_done(s, s->cmd, ap->bad ? "BAD" : "NO", "%s", ap->fail);
    imap_append_free(s);
    imap_cmd_finish_async(s);
    return true;
  }
  if (sync)
    imap_send_continuation(s, "Ready for literal data");
  s->input = IMAP_INPUT_APPEND;
  if (ap->left > 0)
    HOST->conn->set_input_mode(s->conn, CURSUS_INPUT_BYTES);
  return true;
}

bool imap_append_literal(imap_session *s, uint64_t size, bool sync,
                         bool binary) {
  imap_reader *r = &s->reader;
  (void)binary;
  if (s->state == IMAP_STATE_NOTAUTH || s->state == IMAP_STATE_LOGOUT)
    return false;
  size_t marker_len;
  uint64_t n;
  bool sy, bi;
  if (!imap_literal_marker(r->cmd->str, r->cmd->len, &n, &sy, &bi,
                           &marker_len))
    return false;
  imap_parser ip;
  append_args a;
  imap_parser_init(&ip, r->cmd->str, r->cmd->len - marker_len);
  ip.utf8_names = (s->enabled & IMAP_ENABLE_REV2) != 0;
  append_kind kind = imap_append_parse(&ip, &a);
  if (kind != APPEND_MESSAGE) {
    if (a.keywords != NULL)
      g_ptr_array_free(a.keywords, TRUE);
    if (kind == APPEND_OTHER) {
      imap_parser_clear(&ip);
      return false;
    }
    /* a malformed APPEND: refuse before the message, or skip it */
    imap_append *bad = g_new0(imap_append, 1);
    s->append = bad;
    bad->left = size;
    s->cmd = start_cmd(s);
    g_snprintf(bad->fail, sizeof(bad->fail), "Error in IMAP command APPEND: %s",
               ip.error != NULL ? ip.error : "invalid arguments");
    bad->failed = bad->discard = bad->bad = true;
    imap_parser_clear(&ip);
    return append_refused(s, sync);
  }
  imap_append *ap = g_new0(imap_append, 1);
  s->append = ap;
  ap->left = size;
  ap->keywords = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; a.keywords->pdata[i] != NULL; i++)
    g_ptr_array_add(ap->keywords, g_strdup(a.keywords->pdata[i]));
  g_ptr_array_add(ap->keywords, NULL);
  g_ptr_array_free(a.keywords, TRUE);
  s->cmd = start_cmd(s);
  ap->mailbox = imap_parser_own(&s->cmd->parser, g_strdup(a.mailbox));
  const char *error = NULL;

  if (size > imap_set.max_message) {
    append_fail(ap, "[TOOBIG] Message too large");
  } else {
    cursus_store_status st = {.size = sizeof(st),
                              .items = CURSUS_STORE_STATUS_MESSAGES};
    if (sync &&
        STORE->mailbox_status(s->user, ap->mailbox, &st, &error) != CURSUS_OK &&
        imap_user_error(s) == CURSUS_STORE_E_NOTFOUND) {
      append_fail(ap, "[TRYCREATE] Mailbox does not exist");
    } else {
      cursus_store_append_params p = {.size = sizeof(p), .size_hint = size};
      ap->append = HOST->store->append_begin(&p, &error);
      cursus_store_target t = {.size = sizeof(t),
                               .mailbox = ap->mailbox,
                               .flags = a.flags & CURSUS_STORE_FLAGS_SETTABLE,
                               .keywords = ap->keywords->len > 1
                                               ? (const char *const *)
                                                     ap->keywords->pdata
                                               : NULL,
                               .internal_date = a.date,
                               .internal_tz = a.tz};
      if (ap->append == NULL ||
          STORE->append_target(ap->append, s->user, &t, &error) != CURSUS_OK) {
        char text[256];
        store_error_text(s, error, text, sizeof(text));
        append_fail(ap, text);
      }
    }
  }
  imap_parser_clear(&ip);
  return append_refused(s, sync);
}

size_t imap_append_bytes(imap_session *s, const char *data, size_t len) {
  imap_append *ap = s->append;
  if (ap == NULL)
    return len;
  size_t take = (size_t)MIN((uint64_t)len, ap->left);
  if (!ap->discard) {
    const char *error = NULL;
    if (STORE->append_write(ap->append, data, take, &error) != CURSUS_OK) {
      char text[256];
      store_error_text(s, error, text, sizeof(text));
      append_fail(ap, text);
    }
  }
  ap->left -= take;
  if (ap->left == 0)
    HOST->conn->set_input_mode(s->conn, CURSUS_INPUT_LINE);
  return take;
}

static void commit_work(imap_session *s) {
  imap_append *ap = s->append;
  const char *error = NULL;
  memset(&ap->result, 0, sizeof(ap->result));
  ap->result.size = sizeof(ap->result);
  ap->status = STORE->append_commit(ap->append, &ap->result, &error);
  if (ap->status != CURSUS_OK) {
    const char *code = imap_store_error_code(ap->result.error, true);
    g_snprintf(ap->error, sizeof(ap->error), "%s%s%s%s",
               code != NULL ? "[" : "", code != NULL ? code : "",
               code != NULL ? "] " : "",
               ap->result.text != NULL ? ap->result.text
               : error != NULL         ? error
                                       : "Append failed");
    return;
  }
  /* the new message shows up in the selected view at once */
  imap_cmd_done(s, s->cmd, "OK", "[APPENDUID %u %u] Append completed.",
                ap->result.uidvalidity, ap->result.uid);
}

static void commit_done(imap_session *s) {
  imap_append *ap = s->append;
  if (ap->status != CURSUS_OK)
    imap_cmd_done(s, s->cmd, "NO", "%s", ap->error);
  imap_append_free(s);
  imap_cmd_finish_async(s);
}

void imap_append_line(imap_session *s, const char *line, size_t len,
                      unsigned flags) {
  imap_append *ap = s->append;
  (void)flags;
  if (ap == NULL)
    return;
  if (len != 0) {
    /* MULTIAPPEND and CATENATE are not offered */
    s->bad_commands++;
    bool literal = len > 0 && line[len - 1] == '}';
    imap_cmd_done(s, s->cmd, "BAD", "%s",
                  literal ? "Only one message per APPEND"
                          : "Unexpected text after the message");
    imap_append_free(s);
    imap_cmd_finish_async(s);
    if (literal) {
      /* a non-synchronising literal may follow: end the session rather
       * than read message text as commands */
      imap_printf(s, "* BYE Protocol error\r\n");
      s->logout = true;
      HOST->conn->close(s->conn);
    }
    return;
  }
  if (ap->failed) {
    if (ap->bad)
      s->bad_commands++;
    imap_cmd_done(s, s->cmd, ap->bad ? "BAD" : "NO", "%s", ap->fail);
    imap_append_free(s);
    imap_cmd_finish_async(s);
    return;
  }
  imap_run_job(s, commit_work, commit_done);
}

bool imap_cmd_append(imap_session *s, imap_cmd *cmd) {
  /* reached only when the message was not a literal */
  imap_parser_fail(&cmd->parser, "the message must be a literal");
  return imap_cmd_bad(s, cmd);
}
