/*
 * data.c - message content: DATA (RFC 5321 4.5.2 dot-stuffing), BDAT
 * (RFC 3030), the Received: field, the commit and its replies
 *
 * DATA content is read in BYTES mode and scanned once: lines starting
 * with a dot lose it, "CRLF . CRLF" (and only that) ends the message, a
 * bare LF either refuses the message (the default, smtp_crlf) or becomes
 * CRLF (smtp_lf, smtp_crorlf), long lines are accepted, refused, wrapped
 * or cut as the channel says.  Content goes to the host in runs as long
 * as the input allows.
 */
#include "smtp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ Received */

/* rfc5322_date - "Sat, 28 Nov 2026 20:00:00 +0100" in the C locale */
static void rfc5322_date(char *out, size_t len) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  long off = tm.tm_gmtoff / 60;
  snprintf(out, len, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
           days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
           tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
           (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}

/* clean - S without characters that would break a header field or a
 * comment in it (controls become '?', parentheses go) */
static char *clean(const char *s) {
  GString *c = g_string_new(NULL);
  for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
    if (*p == '(' || *p == ')')
      continue;
    g_string_append_c(c, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
  }
  return g_string_free(c, FALSE);
}

static char *received_field(smtp_session *s) {
  char date[64];
  rfc5322_date(date, sizeof(date));
  char *helo = clean(s->helo);
  char *name = clean(s->client_name);
  GString *f = g_string_new("Received: from ");
  g_string_append(f, helo);
  if (s->info->unix_socket) {
    g_string_append(f, " (local socket)");
  } else if (s->pol.ident == IDENT_SYMBOLIC && s->client_name != NULL) {
    g_string_append_printf(f, " (%s)", name);
  } else if (s->client_name != NULL) {
    g_string_append_printf(f, " (%s [%s])", name, s->info->remote_ip);
  } else {
    g_string_append_printf(f, " ([%s])", s->info->remote_ip);
  }
  bool utf8 = s->mail_utf8;
  const char *base = s->lmtp ? (utf8 ? "UTF8LMTP" : "LMTP")
                     : utf8  ? "UTF8SMTP"
                     : s->esmtp ? "ESMTP"
                                : "SMTP";
  g_string_append_printf(f, "\r\n\tby %s (Cursus %s) with %s%s%s id %s",
                         s->info->local_hostname, smtp_host->server_version,
                         base, s->info->tls ? "S" : "",
                         s->auth_user != NULL ? "A" : "",
                         smtp_host->queue->enqueue_id(s->enq));
  if (s->info->tls && s->info->tls_cipher != NULL) {
    char *cipher = clean(s->info->tls_cipher);
    g_string_append_printf(f, "\r\n\t(using %s)", cipher);
    g_free(cipher);
  }
  if (s->auth_user != NULL) {
    char *user = clean(s->auth_user);
    g_string_append_printf(f, "\r\n\t(authenticated as %s)", user);
    g_free(user);
  }
  if (s->pol.receivedfor && s->rcpt_accepted == 1 && s->first_rcpt != NULL) {
    char *r = clean(s->first_rcpt);
    g_string_append_printf(f, "\r\n\tfor <%s>", r);
    g_free(r);
  }
  g_string_append_printf(f, "; %s\r\n", date);
  g_free(helo);
  g_free(name);
  return g_string_free(f, FALSE);
}

/* --------------------------------------------------------- the commit */

/* content_error - the content cannot be taken; the rest is read and
 * dropped, then REPLY is given */
static void content_error(smtp_session *s, const char *reply) {
  if (s->data_failed)
    return;
  s->data_failed = true;
  s->data_error = g_strdup(reply);
}

static void write_content(smtp_session *s, const char *data, size_t len) {
  const char *err = NULL;
  if (len == 0 || s->data_failed)
    return;
  int rc = smtp_host->queue->enqueue_write(s->enq, data, len, &err);
  if (rc == CURSUS_PERMFAIL)
    content_error(s, err != NULL ? err : "5.3.4 Message refused");
  else if (rc != CURSUS_OK)
    content_error(s, err != NULL ? err : "4.3.0 Cannot store the message");
}

/* reply_line - "CODE TEXT" to send for a stored reply text that starts
 * with its enhanced status code */
static unsigned code_of(const char *text) {
  return text != NULL && text[0] == '5' ? 554 : 451;
}

static void back_to_commands(smtp_session *s) {
  s->mode = MODE_COMMAND;
  smtp_host->conn->set_input_mode(s->conn, CURSUS_INPUT_LINE);
  smtp_host->conn->set_timeout(s->conn, smtp_cfg.timeout_ms);
}

static void commit_done(void *data, int status) {
  smtp_session *s = data;
  s->wait = WAIT_NONE;
  if (s->gone) {
    smtp_free(s);
    return;
  }
  cursus_reply r = {0};
  if (s->lmtp) {
    for (unsigned i = 0; i < s->rcpt_accepted; i++) {
      smtp_host->queue->enqueue_reply(s->enq, i, &r);
      smtp_reply(s, r.code, "%s", r.text);
    }
  } else {
    smtp_host->queue->enqueue_reply(s->enq, 0, &r);
    smtp_reply(s, r.code, "%s", r.text);
  }
  smtp_reset(s);
  smtp_resume(s);
}

/* finish_message - the content is complete: commit, or reply the error */
static void finish_message(smtp_session *s) {
  back_to_commands(s);
  if (s->data_failed) {
    /* a 552 for size, 554 for bad content, 451 for our own trouble */
    const char *t = s->data_error;
    unsigned code = strncmp(t, "5.3.4", 5) == 0 ? 552 : code_of(t);
    unsigned n = s->lmtp ? s->rcpt_accepted : 1;
    for (unsigned i = 0; i < n; i++)
      smtp_reply(s, code, "%s", t);
    smtp_reset(s);
    return;
  }
  const char *err = NULL;
  s->wait = WAIT_COMMIT;
  smtp_host->conn->suspend(s->conn);
  if (smtp_host->queue->enqueue_commit_async(s->enq, commit_done, s, &err) !=
      CURSUS_OK) {
    s->wait = WAIT_NONE;
    smtp_host->log(smtp_ctx, CURSUS_LOG_ERROR, "commit: %s", err);
    unsigned n = s->lmtp ? s->rcpt_accepted : 1;
    for (unsigned i = 0; i < n; i++)
      smtp_reply(s, 451, "4.3.0 Cannot store the message, try again later");
    smtp_reset(s);
    smtp_resume(s);
  }
}

/* -------------------------------------------------------------- DATA */

static void scan_write(void *ctx, const char *data, size_t len) {
  write_content(ctx, data, len);
}

void smtp_data_start(smtp_session *s) {
  char *received = received_field(s);
  write_content(s, received, strlen(received));
  g_free(received);
  s->mode = MODE_DATA;
  s->scan.longlines = s->pol.longlines;
  s->scan.bare_lf_ok = s->pol.bare_lf_ok;
  s->scan.write = scan_write;
  s->scan.ctx = s;
  dotscan_start(&s->scan);
  smtp_host->conn->set_input_mode(s->conn, CURSUS_INPUT_BYTES);
  smtp_host->conn->set_timeout(s->conn, smtp_cfg.data_timeout_ms);
  smtp_reply(s, 354, "End data with <CR><LF>.<CR><LF>");
}

/* bdat_chunk_done - a whole chunk was read */
static void bdat_chunk_done(smtp_session *s) {
  back_to_commands(s);
  if (s->bdat_refusal != NULL) {
    smtp_error(s, (unsigned)g_ascii_strtoull(s->bdat_refusal, NULL, 10),
               s->bdat_refusal + 4);
    g_free(s->bdat_refusal);
    s->bdat_refusal = NULL;
  } else if (s->bdat_last) {
    finish_message(s);
  } else if (s->data_failed) {
    const char *t = s->data_error;
    smtp_reply(s, strncmp(t, "5.3.4", 5) == 0 ? 552 : code_of(t), "%s", t);
    if (s->enq == NULL)
      smtp_reset(s);
  } else {
    smtp_reply(s, 250, "2.0.0 %llu octets received",
               (unsigned long long)s->bdat_chunk);
  }
}

size_t smtp_data_bytes(smtp_session *s, const char *data, size_t len) {
  if (s->mode == MODE_BDAT) {
    size_t take = (size_t)MIN((uint64_t)len, s->bdat_left);
    if (s->bdat_refusal == NULL)
      write_content(s, data, take);
    s->bdat_left -= take;
    if (s->bdat_left == 0)
      bdat_chunk_done(s);
    return take;
  }
  if (s->mode != MODE_DATA)
    return 0;
  bool end = false;
  size_t taken = dotscan_feed(&s->scan, data, len, &end);
  if (s->scan.too_long)
    content_error(s, "5.6.0 Message has lines longer than 998 octets");
  if (end) {
    if (s->scan.bare_lf)
      content_error(s, "5.6.0 Message has bare LF line ends; SMTP needs CRLF");
    finish_message(s);
  }
  return taken;
}

/* -------------------------------------------------------------- BDAT */

void smtp_bdat_start(smtp_session *s, uint64_t size, bool last) {
  s->bdat_chunk = size;
  s->bdat_left = size;
  s->bdat_last = last;
  if (s->enq == NULL) {
    /* the chunk is read all the same, so the session stays in step */
    if (!s->data_failed) {
      s->data_failed = true;
      s->data_error = g_strdup("5.5.1 Need MAIL command first");
    }
  } else if (s->rcpt_accepted == 0 && !s->data_failed) {
    content_error(s, "5.5.1 No valid recipients");
  } else if (!s->bdat_seen) {
    s->bdat_seen = true;
    char *received = received_field(s);
    write_content(s, received, strlen(received));
    g_free(received);
  }
  s->mode = MODE_BDAT;
  smtp_host->conn->set_input_mode(s->conn, CURSUS_INPUT_BYTES);
  smtp_host->conn->set_timeout(s->conn, smtp_cfg.data_timeout_ms);
  if (size == 0)
    bdat_chunk_done(s);
}

void smtp_bdat_refuse(smtp_session *s, uint64_t size, unsigned code,
                      const char *text) {
  g_free(s->bdat_refusal);
  s->bdat_refusal = g_strdup_printf("%u %s", code, text);
  s->bdat_chunk = size;
  s->bdat_left = size;
  s->bdat_last = false;
  s->mode = MODE_BDAT;
  smtp_host->conn->set_input_mode(s->conn, CURSUS_INPUT_BYTES);
  smtp_host->conn->set_timeout(s->conn, smtp_cfg.data_timeout_ms);
  if (size == 0)
    bdat_chunk_done(s);
}
