/*
 * transact.c - MAIL, RCPT, DATA/BDAT on an open connection
 */
#include "transact.h"

#include <string.h>

void tx_result_set(tx_result *r, int status, const char *code,
                   const char *text) {
  r->status = status;
  g_strlcpy(r->code, code != NULL ? code : "", sizeof(r->code));
  g_free(r->text);
  r->text = g_strdup(text);
}

/* xtext - S in RFC 3461 xtext */
static void xtext(GString *out, const char *s) {
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch < 33 || ch > 126 || ch == '+' || ch == '=')
      g_string_append_printf(out, "+%02X", ch);
    else
      g_string_append_c(out, (char)ch);
  }
}

/* enhanced - the reply's enhanced code, or one derived from its class */
static const char *enhanced(const client_reply *r, const char *fallback) {
  if (r->enh[0] != '\0')
    return r->enh;
  if (r->code >= 200 && r->code < 300)
    return "2.0.0";
  if (r->code >= 500 && r->code < 600)
    return "5.0.0";
  return fallback;
}

/* describe - "host[addr] said: 550 5.1.1 text (in reply to WHAT)" */
static char *describe(const client_conn *c, const client_reply *r,
                      const char *what) {
  if (r->code <= 0)
    return g_strdup_printf("%s (%s)", r->text, what);
  return g_strdup_printf("%s said: %d %s%s%s (in reply to %s)", c->peer_addr,
                         r->code, r->enh, r->enh[0] ? " " : "", r->text, what);
}

static void result_from_reply(tx_result *res, const client_conn *c,
                              const client_reply *r, const char *what) {
  char *text = describe(c, r, what);
  int status = client_reply_status(r);
  tx_result_set(res, status, enhanced(r, status == CURSUS_OK ? "2.0.0" : "4.4.2"),
                text);
  g_strlcpy(res->remote, c->peer_name, sizeof(res->remote));
  res->dsn_passed = (c->ext & EXT_DSN) != 0;
  g_free(text);
}

/* check_fit - whether the server can take the message at all; false with
 * every result set to a permanent failure */
static bool check_fit(const client_conn *c, const tx_message *m, size_t n,
                      tx_result *results) {
  const char *code = NULL, *why = NULL;
  char buf[256];
  if ((c->ext & EXT_SIZE) && c->max_size > 0 && m->size > c->max_size) {
    g_snprintf(buf, sizeof(buf),
               "message of %" G_GUINT64_FORMAT " bytes exceeds the %"
               G_GUINT64_FORMAT " bytes %s accepts",
               m->size, c->max_size, c->peer_addr);
    code = "5.3.4";
    why = buf;
  } else if (m->smtputf8 && !(c->ext & EXT_SMTPUTF8)) {
    g_snprintf(buf, sizeof(buf), "%s does not support SMTPUTF8",
               c->peer_addr);
    code = "5.6.7";
    why = buf;
  } else if (m->body == CURSUS_BODY_BINARYMIME &&
             (c->ext & (EXT_BINARYMIME | EXT_CHUNKING)) !=
                 (EXT_BINARYMIME | EXT_CHUNKING)) {
    g_snprintf(buf, sizeof(buf), "%s does not accept binary content",
               c->peer_addr);
    code = "5.6.3";
    why = buf;
  }
  if (code == NULL)
    return true;
  for (size_t i = 0; i < n; i++)
    tx_result_set(&results[i], CURSUS_PERMFAIL, code, why);
  return false;
}

static char *mail_command(const client_conn *c, const tx_message *m) {
  GString *s = g_string_new("MAIL FROM:<");
  g_string_append(s, m->sender);
  g_string_append_c(s, '>');
  if (c->ext & EXT_SIZE)
    g_string_append_printf(s, " SIZE=%" G_GUINT64_FORMAT, m->size);
  if (m->body == CURSUS_BODY_BINARYMIME)
    g_string_append(s, " BODY=BINARYMIME");
  else if (m->body == CURSUS_BODY_8BITMIME && (c->ext & EXT_8BITMIME))
    g_string_append(s, " BODY=8BITMIME");
  if (m->smtputf8)
    g_string_append(s, " SMTPUTF8");
  if (c->ext & EXT_DSN) {
    if (m->ret == CURSUS_RET_FULL)
      g_string_append(s, " RET=FULL");
    else if (m->ret == CURSUS_RET_HDRS)
      g_string_append(s, " RET=HDRS");
    if (m->envid != NULL && *m->envid != '\0') {
      g_string_append(s, " ENVID=");
      xtext(s, m->envid);
    }
  }
  return g_string_free(s, FALSE);
}

static char *rcpt_command(const client_conn *c, const cursus_recipient *r) {
  GString *s = g_string_new("RCPT TO:<");
  g_string_append(s, r->address);
  g_string_append_c(s, '>');
  if (c->ext & EXT_DSN) {
    if (r->notify & CURSUS_NOTIFY_NEVER) {
      g_string_append(s, " NOTIFY=NEVER");
    } else if (r->notify != 0) {
      const char *sep = " NOTIFY=";
      if (r->notify & CURSUS_NOTIFY_SUCCESS)
        g_string_append_printf(s, "%sSUCCESS", sep), sep = ",";
      if (r->notify & CURSUS_NOTIFY_FAILURE)
        g_string_append_printf(s, "%sFAILURE", sep), sep = ",";
      if (r->notify & CURSUS_NOTIFY_DELAY)
        g_string_append_printf(s, "%sDELAY", sep);
    }
    const char *semi = r->orcpt != NULL ? strchr(r->orcpt, ';') : NULL;
    if (semi != NULL && semi > r->orcpt) {
      g_string_append(s, " ORCPT=");
      g_string_append_len(s, r->orcpt, semi - r->orcpt);
      g_string_append_c(s, ';');
      xtext(s, semi + 1);
    }
  }
  return g_string_free(s, FALSE);
}

/* all_results - every recipient in ACCEPTED (or all when NULL) gets R */
static void results_from(tx_result *results, const bool *accepted, size_t n,
                         const client_conn *c, const client_reply *r,
                         const char *what) {
  for (size_t i = 0; i < n; i++)
    if (accepted == NULL || accepted[i])
      result_from_reply(&results[i], c, r, what);
}

tx_outcome transact(client_conn *c, const tx_message *m,
                    const cursus_recipient *const *rcpts, size_t n,
                    tx_result *results, char **why_r) {
  client_reply r;
  if (!check_fit(c, m, n, results))
    return TX_DONE;
  bool pipelining = (c->ext & EXT_PIPELINING) != 0;
  bool bdat = m->body == CURSUS_BODY_BINARYMIME;
  char *cmd = mail_command(c, m);
  client_send(c, cmd);
  g_free(cmd);
  if (!pipelining && !client_read_reply(c, c->to.command_ms, &r))
    goto lost_before;
  for (size_t i = 0; i < n && pipelining; i++) {
    cmd = rcpt_command(c, rcpts[i]);
    client_send(c, cmd);
    g_free(cmd);
  }
  if (pipelining) {
    if (!bdat)
      client_send(c, "DATA");
    if (!client_read_reply(c, c->to.command_ms, &r))
      goto lost_before;
  }
  /* the MAIL reply */
  if (r.code < 200 || r.code >= 300) {
    char *text = describe(c, &r, "MAIL FROM");
    int status = client_reply_status(&r);
    const char *code = enhanced(&r, "4.4.2");
    char codebuf[16];
    g_strlcpy(codebuf, code, sizeof(codebuf));
    if (pipelining) { /* drain the RCPT and DATA replies */
      client_reply dummy;
      for (size_t i = 0; i < n + (bdat ? 0 : 1); i++)
        if (!client_read_reply(c, c->to.command_ms, &dummy))
          break;
    }
    if (!c->broken)
      client_command(c, "RSET", &r);
    if (status != CURSUS_PERMFAIL) {
      *why_r = text;
      return TX_NEXT_HOST;
    }
    for (size_t i = 0; i < n; i++) {
      tx_result_set(&results[i], status, codebuf, text);
      g_strlcpy(results[i].remote, c->peer_name, sizeof(results[i].remote));
    }
    g_free(text);
    return TX_DONE;
  }
  bool *accepted = g_new0(bool, n);
  size_t naccepted = 0;
  for (size_t i = 0; i < n; i++) {
    if (!pipelining) {
      cmd = rcpt_command(c, rcpts[i]);
      bool ok = client_command(c, cmd, &r);
      g_free(cmd);
      if (!ok)
        goto lost_during;
    } else if (!client_read_reply(c, c->to.command_ms, &r)) {
      goto lost_during;
    }
    char *what = g_strdup_printf("RCPT TO:<%s>", rcpts[i]->address);
    if (r.code >= 200 && r.code < 300) {
      accepted[i] = true;
      naccepted++;
    } else {
      result_from_reply(&results[i], c, &r, what);
    }
    g_free(what);
  }
  if (!bdat) {
    if (pipelining ? !client_read_reply(c, c->to.command_ms, &r)
                   : (naccepted > 0 && !client_command(c, "DATA", &r)))
      goto lost_during;
    if (naccepted == 0) {
      client_command(c, "RSET", &r);
      g_free(accepted);
      return TX_DONE;
    }
    if (r.code != 354) {
      results_from(results, accepted, n, c, &r, "DATA");
      client_command(c, "RSET", &r);
      g_free(accepted);
      return TX_DONE;
    }
    if (!client_send_data(c, m->fd, m->offset, m->size, &r))
      goto lost_during;
  } else {
    if (naccepted == 0) {
      client_command(c, "RSET", &r);
      g_free(accepted);
      return TX_DONE;
    }
    if (!client_send_bdat(c, m->fd, m->offset, m->size, &r))
      goto lost_during;
  }
  /* the end-of-data reply: one, or one per accepted recipient (LMTP) */
  for (size_t i = 0; i < n; i++) {
    if (!accepted[i])
      continue;
    if (!client_read_reply(c, c->to.data_ms, &r))
      goto lost_during;
    if (c->lmtp) {
      result_from_reply(&results[i], c, &r, "end of data");
    } else {
      results_from(results, accepted, n, c, &r, "end of data");
      break;
    }
  }
  c->messages++;
  g_free(accepted);
  return TX_DONE;

lost_before:
  *why_r = g_strdup(r.text);
  return TX_NEXT_HOST;

lost_during:
  /* the server may or may not have taken the message: retry later */
  for (size_t i = 0; i < n; i++)
    if (results[i].status == CURSUS_NONE) {
      tx_result_set(&results[i], CURSUS_TEMPFAIL,
                    r.code == -1 ? "4.3.0" : "4.4.2", r.text);
      g_strlcpy(results[i].remote, c->peer_name, sizeof(results[i].remote));
    }
  g_free(accepted);
  return TX_DONE;
}
