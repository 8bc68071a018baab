/*
 * autoreply.c - vacation and autoreply messages (see autoreply.h)
 */
#include "build-config.h"
#include "autoreply.h"
#include "address.h"
#include "arstate.h"
#include "dir.h"
#include "user.h"
#include "module/host.h"
#include "util/log.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most of a message read for a decision and an echo. */
#define MAX_READ (10 * 1024 * 1024)

void autoreply_init(void) {
  static gsize done;
  if (g_once_init_enter(&done)) {
    g_mime_init();
    g_once_init_leave(&done, 1);
  }
}

GMimeMessage *autoreply_parse(const char *data, size_t len) {
  autoreply_init();
  GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
  GMimeParser *p = g_mime_parser_new_with_stream(s);
  GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
  g_object_unref(p);
  g_object_unref(s);
  return m;
}

/* header - the header NAME of M, or NULL */
static const char *header(GMimeMessage *m, const char *name) {
  return g_mime_object_get_header(GMIME_OBJECT(m), name);
}

/* robot_sender - an address no autoreply goes to (RFC 3834 section 2) */
static bool robot_sender(const char *sender) {
  const char *at = strrchr(sender, '@');
  char *local = g_ascii_strdown(sender, at != NULL ? at - sender : -1);
  bool robot = strcmp(local, "mailer-daemon") == 0 ||
               strcmp(local, "postmaster") == 0 ||
               g_str_has_prefix(local, "owner-") ||
               g_str_has_suffix(local, "-request");
  g_free(local);
  return robot;
}

/* list_has - one of the user's addresses is in LIST (groups included) */
static bool list_has(InternetAddressList *list, const cursus_entry *user) {
  static const char *const attrs[] = {"mail", "mailAlternateAddress",
                                      "mailEquivalentAddress"};
  for (int i = 0; list != NULL && i < internet_address_list_length(list); i++) {
    InternetAddress *ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      if (list_has(internet_address_group_get_members(
                       INTERNET_ADDRESS_GROUP(ia)),
                   user))
        return true;
      continue;
    }
    const char *addr =
        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    for (size_t k = 0; addr != NULL && k < G_N_ELEMENTS(attrs); k++) {
      const cursus_attr *a = cursus_entry_attr(user, attrs[k]);
      for (size_t v = 0; a != NULL && v < a->n_values; v++)
        if (dir_addr_equal(a->values[v], addr))
          return true;
    }
  }
  return false;
}

/* is_user - ADDRESS is one of the user's */
static bool is_user(const cursus_entry *user, const char *address) {
  InternetAddressList *l = internet_address_list_new();
  internet_address_list_add(l, internet_address_mailbox_new(NULL, address));
  bool yes = list_has(l, user);
  g_object_unref(l);
  return yes;
}

/* padded - a GeneralizedTime YYYYMMDDHHMM[SS]Z as YYYYMMDDHHMMSSZ */
static char *padded(const char *t) {
  if (t == NULL)
    return NULL;
  return strlen(t) == 13 ? g_strdup_printf("%.12s00Z", t) : g_strdup(t);
}

bool autoreply_in_dates(const cursus_entry *user, time_t now) {
  GDateTime *t = g_date_time_new_from_unix_utc(now);
  char *stamp = g_date_time_format(t, "%Y%m%d%H%M%SZ");
  g_date_time_unref(t);
  char *start = padded(cursus_entry_value(user, "vacationStartDate"));
  char *end = padded(cursus_entry_value(user, "vacationEndDate"));
  bool in = (start == NULL || strcmp(stamp, start) >= 0) &&
            (end == NULL || strcmp(stamp, end) < 0);
  g_free(start);
  g_free(end);
  g_free(stamp);
  return in;
}

/* not_no - an Auto-Submitted value other than "no" */
static bool not_no(const char *value) {
  char *v = g_strstrip(g_ascii_strdown(value, -1));
  bool no = g_str_has_prefix(v, "no") && (v[2] == '\0' || v[2] == ';' ||
                                          g_ascii_isspace(v[2]));
  g_free(v);
  return !no;
}

int autoreply_decide(const autoreply_case *c, const char **why_r) {
  const cursus_entry *u = c->user;
  GMimeMessage *m = c->message;
  const char *as = m != NULL ? header(m, "Auto-Submitted") : NULL;
  const char *prec = m != NULL ? header(m, "Precedence") : NULL;
  /* strip works in place: the pointer stays the allocation's */
  char *prec_l = prec != NULL ? g_strstrip(g_ascii_strdown(prec, -1)) : NULL;
  const char *why = NULL;
  if (!cursus_entry_has(u, "mailDeliveryOption", "autoreply"))
    why = "the user has no autoreply option";
  else if (cursus_entry_value(u, "mailAutoReplyText") == NULL &&
           cursus_entry_value(u, "mailAutoReplyTextInternal") == NULL)
    why = "the user has no autoreply text";
  else if (!autoreply_in_dates(u, c->now))
    why = "outside the vacation dates";
  else if (c->sender == NULL || *c->sender == '\0')
    why = "null sender";
  else if (robot_sender(c->sender))
    why = "the sender is a mailer or a list";
  else if (is_user(u, c->sender))
    why = "the sender is the user";
  else if (m == NULL)
    why = "the message cannot be parsed";
  else if (as != NULL && not_no(as))
    why = "the message is auto-submitted";
  else if (prec_l != NULL && (strcmp(prec_l, "bulk") == 0 ||
                              strcmp(prec_l, "junk") == 0 ||
                              strcmp(prec_l, "list") == 0))
    why = "the message is bulk mail";
  else if (header(m, "List-Id") != NULL || header(m, "List-Post") != NULL ||
           header(m, "List-Unsubscribe") != NULL)
    why = "the message comes from a list";
  else if (header(m, "X-Auto-Response-Suppress") != NULL &&
           (strcasestr(header(m, "X-Auto-Response-Suppress"), "all") ||
            strcasestr(header(m, "X-Auto-Response-Suppress"), "oof")))
    why = "the message asks for no automatic response";
  else if (!list_has(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO),
                     u) &&
           !list_has(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_CC),
                     u))
    why = "the user is not in To: or Cc:";
  g_free(prec_l);
  *why_r = why;
  return why == NULL;
}

unsigned autoreply_interval(const cursus_entry *user,
                            const cursus_entry *domain, unsigned dflt) {
  const char *v = cursus_entry_value(user, "mailAutoReplyTimeOut");
  if (v == NULL)
    v = cursus_entry_value(domain, "mailDomainAutoReplyTimeOut");
  if (v == NULL)
    return dflt;
  long long hours = strtoll(v, NULL, 10);
  return hours > 0 ? (unsigned)MIN(hours * 3600, (long long)G_MAXUINT) : 0;
}

/* subject - the reply's subject */
static char *subject(const autoreply_case *c) {
  const char *orig = c->message != NULL
                         ? g_mime_message_get_subject(c->message)
                         : NULL;
  const char *mine = cursus_entry_value(c->user, "mailAutoReplySubject");
  if (orig == NULL)
    orig = "";
  if (mine == NULL)
    return g_strdup_printf("Re: %s", orig);
  GString *s = g_string_new(NULL);
  for (const char *p = mine; *p != '\0'; p++) {
    if (g_str_has_prefix(p, "$SUBJECT")) {
      g_string_append(s, orig);
      p += 7;
    } else {
      g_string_append_c(s, *p);
    }
  }
  return g_string_free(s, FALSE);
}

/* body_text - internal text for senders of the user's domain */
static const char *body_text(const autoreply_case *c) {
  const char *internal = cursus_entry_value(c->user, "mailAutoReplyTextInternal");
  const char *text = cursus_entry_value(c->user, "mailAutoReplyText");
  char *sd = dir_addr_domain(c->sender);
  bool same = sd != NULL && c->user_domain != NULL &&
              g_ascii_strcasecmp(sd, c->user_domain) == 0;
  g_free(sd);
  if ((same && internal != NULL) || text == NULL)
    return internal;
  return text;
}

/* crlf - TEXT with every line end as CRLF */
static char *crlf(const char *text, size_t *len_r) {
  GString *out = g_string_sized_new(strlen(text) + 256);
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '\n' && (p == text || p[-1] != '\r'))
      g_string_append_c(out, '\r');
    g_string_append_c(out, *p);
  }
  *len_r = out->len;
  return g_string_free(out, FALSE);
}

char *autoreply_compose(const autoreply_case *c, size_t *len_r) {
  autoreply_init();
  GMimeMessage *r = g_mime_message_new(TRUE);
  const char *mail = cursus_entry_value(c->user, "mail");
  g_mime_message_add_mailbox(r, GMIME_ADDRESS_TYPE_FROM,
                             cursus_entry_value(c->user, "cn"), mail);
  g_mime_message_add_mailbox(r, GMIME_ADDRESS_TYPE_TO, NULL, c->sender);
  char *subj = subject(c);
  g_mime_message_set_subject(r, subj, "utf-8");
  g_free(subj);
  GDateTime *now = g_date_time_new_from_unix_local(c->now);
  g_mime_message_set_date(r, now);
  g_date_time_unref(now);
  const char *at = mail != NULL ? strrchr(mail, '@') : NULL;
  char *id = g_mime_utils_generate_message_id(at != NULL ? at + 1 : "localhost");
  g_mime_message_set_message_id(r, id);
  g_free(id);
  GMimeObject *ro = GMIME_OBJECT(r);
  g_mime_object_set_header(ro, "Auto-Submitted", "auto-replied", NULL);
  const char *orig_id = c->message != NULL
                            ? g_mime_message_get_message_id(c->message)
                            : NULL;
  if (orig_id != NULL) {
    char *bracketed = g_strdup_printf("<%s>", orig_id);
    const char *refs = header(c->message, "References");
    char *all = refs != NULL ? g_strdup_printf("%s %s", refs, bracketed)
                             : g_strdup(bracketed);
    g_mime_object_set_header(ro, "In-Reply-To", bracketed, NULL);
    g_mime_object_set_header(ro, "References", all, NULL);
    g_free(bracketed);
    g_free(all);
  }
  GMimeTextPart *text = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_text(text, body_text(c));
  const char *mode = cursus_entry_value(c->user, "mailAutoReplyMode");
  if (mode != NULL && g_ascii_strcasecmp(mode, "echo") == 0 &&
      c->message != NULL) {
    GMimeMultipart *mp = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mp, GMIME_OBJECT(text));
    GMimeMessagePart *orig =
        g_mime_message_part_new_with_message("rfc822", c->message);
    g_mime_multipart_add(mp, GMIME_OBJECT(orig));
    g_object_unref(orig);
    g_mime_message_set_mime_part(r, GMIME_OBJECT(mp));
    g_object_unref(mp);
  } else {
    g_mime_message_set_mime_part(r, GMIME_OBJECT(text));
  }
  g_object_unref(text);
  char *lf = g_mime_object_to_string(ro, NULL);
  char *out = crlf(lf, len_r);
  g_free(lf);
  g_object_unref(r);
  return out;
}

/* read_content - up to MAX_READ octets of FD from OFFSET */
static char *read_content(int fd, uint64_t offset, uint64_t size,
                          size_t *len_r) {
  size_t want = (size_t)MIN(size, (uint64_t)MAX_READ), got = 0;
  char *buf = g_malloc(want + 1);
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, (off_t)(offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  *len_r = got;
  return buf;
}

static GPrivate errbuf = G_PRIVATE_INIT(g_free);

static const char *set_error(char *msg) {
  g_private_replace(&errbuf, msg);
  return msg;
}

/* enqueue - send the reply REPLY to SENDER through the host's queue, as
 * coming from CHANNEL */
static int enqueue(cursus_module_ctx *ctx, const char *channel,
                   const char *sender, const char *reply, size_t len,
                   const char **error_r) {
  const cursus_queue_ops *q = host_table()->queue;
  if (q == NULL || q->enqueue_begin == NULL) {
    *error_r = "no queue in this process to send the autoreply through";
    return CURSUS_TEMPFAIL;
  }
  cursus_enqueue *e = q->enqueue_begin(ctx, channel, "", error_r);
  if (e == NULL)
    return CURSUS_TEMPFAIL;
  const char *id = NULL;
  int rc = q->enqueue_recipient(e, sender, CURSUS_NOTIFY_NEVER, NULL, error_r);
  if (rc == CURSUS_OK)
    rc = q->enqueue_write(e, reply, len, error_r);
  if (rc == CURSUS_OK)
    rc = q->enqueue_commit(e, &id, error_r);
  /* the error text lives in the enqueue: keep a copy past its release */
  if (rc != CURSUS_OK && *error_r != NULL)
    *error_r = set_error(g_strdup(*error_r));
  /* released committed or not (channel.h); an uncommitted one is dropped */
  q->enqueue_free(&e);
  return rc;
}

/* route_stripped - ADDRESS without a leading source route ("@autoreply-
 * daemon:carol@example.com" is carol@example.com) */
static const char *route_stripped(const char *address) {
  const char *colon = *address == '@' ? strchr(address, ':') : NULL;
  return colon != NULL ? colon + 1 : address;
}

int autoreply_handle(cursus_module_ctx *ctx, const cursus_autoreply_msg *msg,
                     const char **error_r) {
  const dir_settings *s = dir_settings_get();
  dir_user *u = NULL;
  char *error = NULL;
  const char *recipient = route_stripped(msg->recipient);
  int rc = dir_find_user(recipient, 0, &u, &error);
  if (rc != CURSUS_OK) {
    *error_r = set_error(error != NULL ? error
                                       : g_strdup_printf("no user %s",
                                                         recipient));
    return rc == CURSUS_NONE ? CURSUS_NONE : CURSUS_TEMPFAIL;
  }
  size_t len = 0;
  char *data = read_content(msg->content_fd, msg->content_offset,
                            msg->content_size, &len);
  GMimeMessage *m = autoreply_parse(data, len);
  const cursus_entry *dom = u->domain != NULL ? u->domain->entry : NULL;
  autoreply_case c = {u->entry, u->domain != NULL ? u->domain->name : NULL,
                      msg->sender, m, time(NULL)};
  const char *why = NULL;
  if (!autoreply_decide(&c, &why)) {
    *error_r = why;
    rc = CURSUS_NONE;
  } else {
    unsigned interval = autoreply_interval(u->entry, dom, s->autoreply_timeout);
    char *prev = NULL;
    int due = arstate_claim(s->autoreply_db, u->id, msg->sender, c.now,
                            interval, &prev, &error);
    if (due < 0) {
      *error_r = set_error(error);
      rc = CURSUS_TEMPFAIL;
    } else if (due == 0) {
      *error_r = "the sender had a reply within the interval";
      rc = CURSUS_NONE;
    } else {
      size_t rlen;
      char *reply = autoreply_compose(&c, &rlen);
      rc = enqueue(ctx, msg->channel != NULL ? msg->channel : "autoreply",
                   msg->sender, reply, rlen, error_r);
      if (rc != CURSUS_OK)
        arstate_release(s->autoreply_db, u->id, msg->sender, prev);
      else
        log_info("autoreply from %s to %s", u->id, msg->sender);
      g_free(reply);
    }
    g_free(prev);
  }
  if (m != NULL)
    g_object_unref(m);
  g_free(data);
  dir_user_free(&u);
  return rc;
}
