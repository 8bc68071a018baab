/*
 * dsn.c - RFC 3464 multipart/report built with GMime
 */
#include "build-config.h"
#include "dsn.h"

#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

static gsize gmime_ready;

/* rfc822_date - an RFC 5322 date for T */
static char *rfc822_date(int64_t t) {
  GDateTime *dt = g_date_time_new_from_unix_local(t);
  char *s = g_mime_utils_header_format_date(dt);
  g_date_time_unref(dt);
  return s;
}

/* original - the original content, or its header (up to the blank line) */
static GBytes *original(const dsn_report *r, bool header_only) {
  uint64_t want = MIN(r->size, header_only ? (uint64_t)256 * 1024 : r->size);
  char *buf = g_malloc(want + 1);
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(r->fd, buf + got, want - got, (off_t)(r->offset + got));
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  if (header_only) {
    char *end = g_strstr_len(buf, (gssize)got, "\r\n\r\n");
    char *lf = g_strstr_len(buf, (gssize)got, "\n\n");
    if (end != NULL)
      got = (size_t)(end - buf) + 2;
    else if (lf != NULL)
      got = (size_t)(lf - buf) + 1;
  }
  return g_bytes_new_take(buf, got);
}

static void field(GString *s, const char *name, const char *value) {
  if (value != NULL && *value != '\0')
    g_string_append_printf(s, "%s: %s\r\n", name, value);
}

/* address_type - "rfc822" or "utf-8" (RFC 6533) for ADDRESS */
static const char *address_type(const char *address) {
  for (const char *p = address; *p != '\0'; p++)
    if ((unsigned char)*p >= 0x80)
      return "utf-8";
  return "rfc822";
}

/* one_line - TEXT without line breaks (a field value) */
static char *one_line(const char *text) {
  char *s = g_strdup(text != NULL ? text : "");
  for (char *p = s; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n')
      *p = ' ';
  return s;
}

/* smtp_reply_in - the SMTP reply a diagnostic quotes ("host said: 550
 * 5.1.1 ... (in reply to RCPT TO)"), cut in place, or NULL */
static const char *smtp_reply_in(char *d) {
  char *p = g_ascii_isdigit(d[0]) ? d : strstr(d, " said: ");
  if (p == NULL)
    return NULL;
  if (p != d)
    p += 7;
  if (!g_ascii_isdigit(p[0]) || !g_ascii_isdigit(p[1]) ||
      !g_ascii_isdigit(p[2]) || (p[3] != ' ' && p[3] != '\0'))
    return NULL;
  char *tail = g_strrstr(p, " (in reply to ");
  if (tail != NULL)
    *tail = '\0';
  return p;
}

static char *status_fields(const dsn_report *r) {
  GString *s = g_string_new(NULL);
  char *date = rfc822_date(r->arrival);
  g_string_append_printf(s, "Reporting-MTA: dns; %s\r\n", r->reporting_mta);
  if (r->envid != NULL && *r->envid != '\0')
    g_string_append_printf(s, "Original-Envelope-Id: %s\r\n", r->envid);
  field(s, "X-Cursus-Queue-ID", r->queue_id);
  field(s, "Received-From-MTA", r->received_from);
  field(s, "Arrival-Date", date);
  g_free(date);
  for (size_t i = 0; i < r->nrcpts; i++) {
    const dsn_rcpt *rc = &r->rcpts[i];
    g_string_append(s, "\r\n");
    if (rc->orcpt != NULL && strchr(rc->orcpt, ';') != NULL)
      g_string_append_printf(s, "Original-Recipient: %s\r\n", rc->orcpt);
    g_string_append_printf(s, "Final-Recipient: %s; %s\r\n",
                           address_type(rc->address), rc->address);
    g_string_append_printf(s, "Action: %s\r\n", rc->action);
    g_string_append_printf(s, "Status: %s\r\n", rc->status);
    if (rc->remote != NULL && *rc->remote != '\0')
      g_string_append_printf(s, "Remote-MTA: dns; %s\r\n", rc->remote);
    if (rc->diag != NULL && *rc->diag != '\0') {
      char *d = one_line(rc->diag);
      const char *reply = smtp_reply_in(d);
      if (reply != NULL)
        g_string_append_printf(s, "Diagnostic-Code: smtp; %s\r\n", reply);
      else
        g_string_append_printf(s, "Diagnostic-Code: x-cursus; %s\r\n", d);
      g_free(d);
    }
    if (rc->last_attempt > 0) {
      char *la = rfc822_date(rc->last_attempt);
      g_string_append_printf(s, "Last-Attempt-Date: %s\r\n", la);
      g_free(la);
    }
    if (r->kind == DSN_DELAY && r->retry_until > 0) {
      char *wr = rfc822_date(r->retry_until);
      g_string_append_printf(s, "Will-Retry-Until: %s\r\n", wr);
      g_free(wr);
    }
  }
  return g_string_free(s, FALSE);
}

static char *human_text(const dsn_report *r) {
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "This is the mail system at host %s.\r\n\r\n",
                         r->reporting_mta);
  switch (r->kind) {
  case DSN_FAILURE:
    g_string_append(s, "Your message could not be delivered to one or more "
                       "recipients.\r\nIt is attached below.\r\n");
    break;
  case DSN_DELAY: {
    char *until = rfc822_date(r->retry_until);
    g_string_append_printf(s,
                           "Your message has not been delivered yet to the "
                           "recipients below.\r\nThe mail system will keep "
                           "trying until %s.\r\nYou do not need to send it "
                           "again.\r\n",
                           until);
    g_free(until);
    break;
  }
  case DSN_SUCCESS:
    g_string_append(s, "Your message was delivered to the recipients "
                       "below.\r\n");
    break;
  }
  g_string_append(s, "\r\n");
  for (size_t i = 0; i < r->nrcpts; i++) {
    char *d = one_line(r->rcpts[i].diag);
    g_string_append_printf(s, "<%s>: %s%s%s\r\n", r->rcpts[i].address,
                           r->rcpts[i].status, *d ? ", " : "", d);
    g_free(d);
  }
  return g_string_free(s, FALSE);
}

static GMimePart *text_part(const char *type, const char *subtype,
                            const char *text) {
  GMimePart *p = g_mime_part_new_with_type(type, subtype);
  if (g_str_equal(type, "text"))
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(p), "charset",
                                             "utf-8");
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(text, strlen(text));
  GMimeDataWrapper *dw =
      g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(p, dw);
  g_object_unref(dw);
  g_object_unref(st);
  return p;
}

/* returned_part - the original as message/rfc822, or its header */
static GMimeObject *returned_part(const dsn_report *r) {
  bool hdrs = r->headers_only || r->ret == CURSUS_RET_HDRS ||
              r->kind != DSN_FAILURE ||
              (r->max_return > 0 && r->size > r->max_return);
  GBytes *b = original(r, hdrs);
  gsize len;
  const char *data = g_bytes_get_data(b, &len);
  GMimeObject *obj = NULL;
  if (!hdrs) {
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *ps = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);
    if (m != NULL) {
      GMimeMessagePart *mp = g_mime_message_part_new_with_message("rfc822", m);
      obj = GMIME_OBJECT(mp);
      g_object_unref(m);
    }
    g_object_unref(ps);
    g_object_unref(st);
  }
  if (obj == NULL) {
    char *text = g_strndup(data, len);
    obj = GMIME_OBJECT(text_part("text", "rfc822-headers", text));
    g_free(text);
  }
  g_bytes_unref(b);
  return obj;
}

GBytes *dsn_build(const dsn_report *r) {
  if (g_once_init_enter(&gmime_ready)) {
    g_mime_init();
    g_once_init_leave(&gmime_ready, 1);
  }
  GMimeMessage *msg = g_mime_message_new(TRUE);
  char *from = g_strdup_printf("MAILER-DAEMON@%s", r->reporting_mta);
  g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM,
                             "Mail Delivery System", from);
  g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, r->to);
  g_mime_message_set_subject(
      msg,
      r->kind == DSN_FAILURE ? "Undelivered Mail Returned to Sender"
      : r->kind == DSN_DELAY ? "Delayed Mail (still being retried)"
                             : "Successful Mail Delivery Report",
      NULL);
  GDateTime *now = g_date_time_new_now_local();
  g_mime_message_set_date(msg, now);
  g_date_time_unref(now);
  char *mid = g_strdup_printf("%s.dsn.%" G_GINT64_FORMAT "@%s",
                              r->queue_id != NULL ? r->queue_id : "x",
                              g_get_real_time(), r->reporting_mta);
  g_mime_message_set_message_id(msg, mid);
  g_free(mid);
  g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted",
                           "auto-replied", NULL);

  GMimeMultipart *mp = g_mime_multipart_new_with_subtype("report");
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(mp), "report-type",
                                           "delivery-status");
  char *human = human_text(r);
  GMimePart *p1 = text_part("text", "plain", human);
  g_free(human);
  g_mime_part_set_content_description(p1, "Notification");
  char *fields = status_fields(r);
  GMimePart *p2 = text_part("message", "delivery-status", fields);
  g_free(fields);
  g_mime_part_set_content_description(p2, "Delivery report");
  GMimeObject *p3 = returned_part(r);
  g_mime_multipart_add(mp, GMIME_OBJECT(p1));
  g_mime_multipart_add(mp, GMIME_OBJECT(p2));
  g_mime_multipart_add(mp, p3);
  g_object_unref(p1);
  g_object_unref(p2);
  g_object_unref(p3);
  g_mime_message_set_mime_part(msg, GMIME_OBJECT(mp));
  g_object_unref(mp);

  GMimeFormatOptions *fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  GMimeStream *out = g_mime_stream_mem_new();
  g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, out);
  GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
  GBytes *result = g_bytes_new(ba->data, ba->len);
  g_object_unref(out);
  g_mime_format_options_free(fo);
  g_object_unref(msg);
  g_free(from);
  return result;
}
