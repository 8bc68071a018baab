/*
 * cmd.c - SMTP and LMTP commands (RFC 5321, 2033, 1869 ff.)
 */
#include "smtp.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------ greeting */

typedef struct greet_job {
  smtp_session *s;
  bool want_name;
  char *ip;
  char *channel;
  char *name;       /* result */
  const char *switched;
} greet_job;

static void send_greeting(smtp_session *s) {
  smtp_reply(s, 220, "%s %s", s->info->local_hostname,
             s->lmtp ? "LMTP Cursus" : smtp_cfg.banner);
}

/* reverse_name - the client's name by reverse DNS, or NULL */
static char *reverse_name(const char *ip) {
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
  char host[NI_MAXHOST];
  if (getaddrinfo(ip, NULL, &hints, &ai) != 0)
    return NULL;
  int rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL,
                       0, NI_NAMEREQD);
  freeaddrinfo(ai);
  return rc == 0 ? g_strdup(host) : NULL;
}

static void greet_work(void *data) {
  greet_job *g = data;
  if (g->want_name)
    g->name = reverse_name(g->ip);
  g->switched = smtp_host->queue->switch_channel(g->channel, g->ip,
                                                 g->s->pol.ident == IDENT_LIMITED
                                                     ? NULL
                                                     : g->name);
}

static void greet_done(void *data) {
  greet_job *g = data;
  smtp_session *s = g->s;
  if (!s->gone) {
    s->client_name = g->name;
    g->name = NULL;
    if (g->switched != NULL && strcmp(g->switched, s->channel) != 0) {
      smtp_host->log(smtp_ctx, CURSUS_LOG_INFO, "source channel %s (was %s)",
                     g->switched, s->channel);
      smtp_set_channel(s, g->switched);
    }
    send_greeting(s);
    smtp_resume(s);
  }
  g_free(g->name);
  g_free(g->ip);
  g_free(g->channel);
  g_free(g);
}

void smtp_greet(smtp_session *s) {
  bool want_name = s->pol.ident != IDENT_NUMERIC && !s->info->unix_socket;
  const cursus_channel *ch = smtp_host->queue->channel_find(s->channel);
  bool want_switch =
      ch != NULL && !s->info->unix_socket &&
      smtp_host->queue->channel_keyword(ch, "switchchannel", 0) != NULL;
  if (!want_name && !want_switch) {
    send_greeting(s);
    return;
  }
  greet_job *g = g_new0(greet_job, 1);
  g->s = s;
  g->want_name = want_name;
  g->ip = g_strdup(s->info->remote_ip);
  g->channel = g_strdup(s->channel);
  /* a reverse-DNS lookup waits; switch_channel alone is a queue lookup */
  if (!(want_name ? smtp_run : smtp_lookup)(s, greet_work, greet_done, g)) {
    g_free(g->ip);
    g_free(g->channel);
    g_free(g);
    send_greeting(s);
  }
}

/* --------------------------------------------------------- EHLO / HELO */

/* ehlo_reply - the capabilities */
static void ehlo_reply(smtp_session *s) {
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(lines, g_strdup_printf("%s Hello %s [%s]",
                                         s->info->local_hostname, s->helo,
                                         s->info->remote_ip));
  g_ptr_array_add(lines, g_strdup("PIPELINING"));
  if (s->pol.size_limit > 0)
    g_ptr_array_add(lines, g_strdup_printf("SIZE %llu",
                                           (unsigned long long)s->pol.size_limit));
  else
    g_ptr_array_add(lines, g_strdup("SIZE"));
  g_ptr_array_add(lines, g_strdup("8BITMIME"));
  g_ptr_array_add(lines, g_strdup("ENHANCEDSTATUSCODES"));
  g_ptr_array_add(lines, g_strdup("DSN"));
  g_ptr_array_add(lines, g_strdup("SMTPUTF8"));
  if (s->pol.chunking) {
    g_ptr_array_add(lines, g_strdup("CHUNKING"));
    g_ptr_array_add(lines, g_strdup("BINARYMIME"));
  }
  if (s->pol.tls != POLICY_NO && !s->info->tls &&
      smtp_host->conn->tls_available(s->conn))
    g_ptr_array_add(lines, g_strdup("STARTTLS"));
  if (smtp_auth_offered(s)) {
    cursus_buf mechs = {0};
    smtp_auth_mechanisms(s, &mechs);
    if (mechs.len > 0) {
      g_ptr_array_add(lines, g_strdup_printf("AUTH %s", mechs.data));
      if (s->pol.msexchange)
        g_ptr_array_add(lines, g_strdup_printf("AUTH=%s", mechs.data));
    }
    smtp_host->buf_free(&mechs);
  }
  if (!s->lmtp && s->pol.etrn != ETRN_OFF)
    g_ptr_array_add(lines, g_strdup("ETRN"));
  g_ptr_array_add(lines, g_strdup("HELP"));
  for (guint i = 0; i < lines->len; i++)
    smtp_host->conn->printf(s->conn, "250%c%s\r\n",
                            i + 1 < lines->len ? '-' : ' ',
                            (char *)lines->pdata[i]);
  g_ptr_array_free(lines, TRUE);
}

static void cmd_helo(smtp_session *s, const smtp_cmd *c) {
  smtp_err err;
  if (!smtp_check_helo(c->arg, c->arg_len, &err)) {
    smtp_error(s, err.code, err.text);
    return;
  }
  smtp_reset(s);
  g_free(s->helo);
  s->helo = g_strndup(c->arg, c->arg_len);
  s->esmtp = c->verb != SMTP_HELO;
  if (c->verb == SMTP_HELO) {
    smtp_reply(s, 250, "%s Hello %s [%s]", s->info->local_hostname, s->helo,
               s->info->remote_ip);
    return;
  }
  ehlo_reply(s);
}

/* ------------------------------------------------------------- paths */

/* has_8bit - S has a byte outside ASCII */
static bool has_8bit(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s >= 0x80)
      return true;
  return false;
}

/* parse_path - the path of MAIL FROM (MAIL) or RCPT TO with the host's
 * address parser: *ADDR_R its canonical form ("" for <>), *PARAMS_R the
 * parameters inside *COPY_R; false after replying */
static bool parse_path(smtp_session *s, const smtp_cmd *c, bool mail,
                       char **addr_r, char **copy_r, const char **params_r) {
  const char *rest, *params = NULL, *perr = NULL;
  smtp_err err;
  if (!smtp_path_arg(c->arg, c->arg_len, mail ? "FROM:" : "TO:",
                     SMTP_P_LENIENT, &rest, &err)) {
    smtp_error(s, err.code, err.text);
    return false;
  }
  *copy_r = g_strndup(rest, c->arg_len - (size_t)(rest - c->arg));
  cursus_buf out = {0};
  uint32_t flags = CURSUS_PATH_UTF8 |
                   (mail ? CURSUS_PATH_NULL_OK : CURSUS_PATH_POSTMASTER);
  if (smtp_host->lookup->parse_path(*copy_r, flags, &out, &params, &perr) !=
      CURSUS_OK) {
    char *t = g_strdup_printf(mail ? "5.1.7 Bad sender address syntax: %s"
                                   : "5.1.3 Bad recipient address syntax: %s",
                              perr != NULL ? perr : "malformed");
    smtp_error(s, 501, t);
    g_free(t);
    smtp_host->buf_free(&out);
    g_free(*copy_r);
    *copy_r = NULL;
    return false;
  }
  *addr_r = g_strdup(out.data != NULL ? out.data : "");
  smtp_host->buf_free(&out);
  *params_r = params != NULL ? params : "";
  return true;
}

/* --------------------------------------------------------------- MAIL */

typedef struct mail_job {
  smtp_session *s;
  cursus_enqueue_params p;
  smtp_mail m;
  char *connection;
  char *protocol;
  char flags[8];
  cursus_enqueue *enq;
  unsigned code;
  char *text;
  unsigned delay_ms;
} mail_job;

static void mail_work(void *data) {
  mail_job *j = data;
  cursus_reply r = {0};
  j->enq = smtp_host->queue->enqueue_start(smtp_ctx, &j->p, &r);
  j->code = r.code;
  j->text = g_strdup(r.text != NULL ? r.text : "4.3.0 Temporary failure");
  j->delay_ms = r.delay_ms;
}

static void mail_done(void *data) {
  mail_job *j = data;
  smtp_session *s = j->s;
  if (s->gone) {
    if (j->enq != NULL)
      smtp_host->queue->enqueue_free(&j->enq);
  } else if (j->enq != NULL) {
    s->enq = j->enq;
    s->mail_utf8 = j->m.smtputf8;
    s->mail_binary = j->m.body == 2;
    s->transactions++;
    smtp_reply_delayed(s, 250, j->text, j->delay_ms);
  } else {
    s->rejects++;
    smtp_reply_delayed(s, j->code, j->text, j->delay_ms);
  }
  smtp_mail_clear(&j->m);
  g_free(j->connection);
  g_free(j->protocol);
  g_free(j->text);
  g_free(j);
  if (!s->gone)
    smtp_resume(s);
}

/* protocol_word - the Received: "with" word (RFC 3848, RFC 6531) */
static char *protocol_word(const smtp_session *s, bool utf8) {
  const char *base = s->lmtp ? (utf8 ? "UTF8LMTP" : "LMTP")
                     : utf8  ? "UTF8SMTP"
                     : s->esmtp ? "ESMTP"
                                : "SMTP";
  return g_strdup_printf("%s%s%s", base, s->info->tls ? "S" : "",
                         s->auth_user != NULL ? "A" : "");
}

/* allowed_to_mail - TLS and AUTH requirements of the channel */
static bool allowed_to_mail(smtp_session *s) {
  if (s->pol.tls == POLICY_MUST && !s->info->tls) {
    smtp_reply(s, 530, "5.7.0 Must issue a STARTTLS command first");
    return false;
  }
  if (s->pol.sasl == POLICY_MUST && s->auth_user == NULL) {
    smtp_reply(s, 530, "5.7.0 Authentication required");
    return false;
  }
  return true;
}

static void mail_enqueue(smtp_session *s, mail_job *j);

static void mail_job_free(void *data) {
  mail_job *j = data;
  smtp_mail_clear(&j->m);
  g_free(j);
}

/* mail_verified - mailfromdnsverify's verdict on the sender's domain */
static void mail_verified(smtp_session *s, void *data, unsigned code,
                          const char *text) {
  mail_job *j = data;
  if (code == 0) {
    mail_enqueue(s, j);
    return;
  }
  mail_job_free(j);
  s->rejects++;
  smtp_reply(s, code, "%s", text);
  smtp_resume(s);
}

static void cmd_mail(smtp_session *s, const smtp_cmd *c) {
  smtp_err err;
  if (s->helo == NULL) {
    smtp_error(s, 503, s->lmtp ? "5.5.1 Send LHLO first"
                               : "5.5.1 Send EHLO or HELO first");
    return;
  }
  if (s->enq != NULL) {
    smtp_error(s, 503, "5.5.1 Nested MAIL command");
    return;
  }
  if (!allowed_to_mail(s))
    return;
  if (s->pol.transaction_limit > 0 &&
      s->transactions >= s->pol.transaction_limit) {
    smtp_close(s, "4.7.0 Too many transactions in one session; reconnect");
    return;
  }
  mail_job *j = g_new0(mail_job, 1);
  char *copy = NULL;
  const char *params;
  if (!parse_path(s, c, true, &j->m.path, &copy, &params)) {
    g_free(j);
    return;
  }
  bool ok = smtp_parse_mail_params(params, strlen(params),
                                   s->esmtp ? SMTP_P_ESMTP : 0, &j->m, &err);
  g_free(copy);
  if (!ok) {
    smtp_mail_clear(&j->m);
    g_free(j);
    smtp_error(s, err.code, err.text);
    return;
  }
  if (!j->m.smtputf8 && has_8bit(j->m.path)) {
    smtp_mail_clear(&j->m);
    g_free(j);
    smtp_reply(s, 553, "5.6.7 Non-ASCII addresses require SMTPUTF8");
    return;
  }
  if (j->m.body == 2 && !s->pol.chunking) {
    smtp_mail_clear(&j->m);
    g_free(j);
    smtp_error(s, 555, "5.5.4 BINARYMIME needs CHUNKING, which is not offered");
    return;
  }
  if (j->m.has_size && s->pol.size_limit > 0 && j->m.size > s->pol.size_limit) {
    smtp_reply(s, 552, "5.3.4 Message size exceeds fixed maximum message size "
                       "(%llu)",
               (unsigned long long)s->pol.size_limit);
    smtp_mail_clear(&j->m);
    g_free(j);
    return;
  }
  j->s = s;
  if (s->pol.mailfromdnsverify &&
      smtp_sender_dns(s, j->m.path, mail_verified, mail_job_free, j))
    return;
  mail_enqueue(s, j);
}

/* mail_enqueue - open the transaction with the queue (on a host thread:
 * the access tables may call out) */
static void mail_enqueue(smtp_session *s, mail_job *j) {
  j->connection =
      s->info->unix_socket
          ? NULL
          : g_strdup_printf("TCP|%s|%u|%s|%u", s->info->local_ip,
                            s->info->local_port, s->info->remote_ip,
                            s->info->remote_port);
  j->protocol = protocol_word(s, j->m.smtputf8);
  smtp_session_flags(s, j->flags);
  j->p = (cursus_enqueue_params){
      .size = sizeof(cursus_enqueue_params),
      .source_channel = s->channel,
      .sender = j->m.path,
      .envid = j->m.envid,
      .ret = j->m.ret == 1   ? CURSUS_RET_FULL
             : j->m.ret == 2 ? CURSUS_RET_HDRS
                             : CURSUS_RET_DEFAULT,
      .body = j->m.body == 1   ? CURSUS_BODY_8BITMIME
              : j->m.body == 2 ? CURSUS_BODY_BINARYMIME
                               : CURSUS_BODY_7BIT,
      .smtputf8 = j->m.smtputf8,
      .declared_size = j->m.size,
      .auth_user = s->auth_user,
      /* RFC 4954 5: an unauthenticated client's AUTH= is not believed */
      .auth_sender = s->auth_user != NULL && j->m.auth != NULL &&
                             strcmp(j->m.auth, "<>") != 0
                         ? j->m.auth
                         : NULL,
      .connection = j->connection,
      .helo = s->helo,
      .protocol = j->protocol,
      .session_flags = j->flags,
      .per_recipient = s->lmtp,
      .client_name = s->client_name,
  };
  if (!smtp_lookup(s, mail_work, mail_done, j)) {
    smtp_mail_clear(&j->m);
    g_free(j->connection);
    g_free(j->protocol);
    g_free(j);
    smtp_reply(s, 451, "4.3.0 Temporary failure, try again later");
  }
}

/* --------------------------------------------------------------- RCPT */

typedef struct rcpt_job {
  smtp_session *s;
  smtp_rcpt r;
  int status;
  unsigned code;
  char *text;
  unsigned delay_ms;
} rcpt_job;

static void rcpt_work(void *data) {
  rcpt_job *j = data;
  cursus_reply r = {0};
  j->status = smtp_host->queue->enqueue_rcpt(j->s->enq, j->r.path, j->r.notify,
                                             j->r.orcpt, &r);
  j->code = r.code;
  j->text = g_strdup(r.text != NULL ? r.text : "4.3.0 Temporary failure");
  j->delay_ms = r.delay_ms;
}

static void rcpt_done(void *data) {
  rcpt_job *j = data;
  smtp_session *s = j->s;
  if (!s->gone) {
    if (j->status == CURSUS_OK) {
      s->rcpt_accepted++;
      s->rcpts_total++;
      if (s->first_rcpt == NULL)
        s->first_rcpt = g_strdup(j->r.path);
      smtp_reply_delayed(s, j->code, j->text, j->delay_ms);
    } else {
      s->rejects++;
      if (s->pol.reject_limit > 0 && s->rejects >= s->pol.reject_limit) {
        smtp_reply(s, j->code, "%s", j->text);
        smtp_close(s, "4.7.0 Too many rejected recipients, closing connection");
      } else {
        smtp_reply_delayed(s, j->code, j->text, j->delay_ms);
      }
    }
  }
  smtp_rcpt_clear(&j->r);
  g_free(j->text);
  g_free(j);
  if (!s->gone)
    smtp_resume(s);
}

static void cmd_rcpt(smtp_session *s, const smtp_cmd *c) {
  smtp_err err;
  if (s->enq == NULL) {
    smtp_error(s, 503, "5.5.1 Need MAIL command first");
    return;
  }
  s->rcpt_seen++;
  if (s->rcpt_accepted >= smtp_cfg.max_recipients) {
    smtp_reply(s, 452, "4.5.3 Too many recipients");
    return;
  }
  if (s->pol.recipient_limit > 0 && s->rcpts_total >= s->pol.recipient_limit) {
    smtp_close(s, "4.7.0 Too many recipients in one session; reconnect");
    return;
  }
  rcpt_job *j = g_new0(rcpt_job, 1);
  char *copy = NULL;
  const char *params;
  if (!parse_path(s, c, false, &j->r.path, &copy, &params)) {
    g_free(j);
    return;
  }
  bool ok = smtp_parse_rcpt_params(params, strlen(params),
                                   s->esmtp || s->lmtp ? SMTP_P_ESMTP : 0,
                                   &j->r, &err);
  g_free(copy);
  if (!ok) {
    smtp_rcpt_clear(&j->r);
    g_free(j);
    smtp_error(s, err.code, err.text);
    return;
  }
  if (!s->mail_utf8 && has_8bit(j->r.path)) {
    smtp_rcpt_clear(&j->r);
    g_free(j);
    smtp_reply(s, 553, "5.6.7 Non-ASCII addresses require SMTPUTF8");
    return;
  }
  j->s = s;
  if (!smtp_lookup(s, rcpt_work, rcpt_done, j)) {
    smtp_rcpt_clear(&j->r);
    g_free(j);
    smtp_reply(s, 451, "4.3.0 Temporary failure, try again later");
  }
}

/* --------------------------------------------------------------- VRFY */

typedef struct vrfy_job {
  smtp_session *s;
  char *address;
  char *channel;
  int status;
  unsigned code;
  char *text;
} vrfy_job;

static void vrfy_work(void *data) {
  vrfy_job *j = data;
  const char *err = NULL;
  cursus_enqueue *e =
      smtp_host->queue->enqueue_begin(smtp_ctx, j->channel, "", &err);
  if (e == NULL) {
    j->status = CURSUS_TEMPFAIL;
    j->text = g_strdup(err != NULL ? err : "4.3.0 Cannot check now");
    return;
  }
  cursus_reply r = {0};
  j->status = smtp_host->queue->enqueue_rcpt(e, j->address, 0, NULL, &r);
  j->code = r.code;
  j->text = g_strdup(r.text);
  smtp_host->queue->enqueue_free(&e);
}

static void vrfy_done(void *data) {
  vrfy_job *j = data;
  smtp_session *s = j->s;
  if (!s->gone) {
    if (j->status == CURSUS_OK)
      smtp_reply(s, 250, "2.1.5 <%s>", j->address);
    else
      smtp_reply(s, j->code >= 400 ? j->code : 451, "%s", j->text);
  }
  g_free(j->address);
  g_free(j->channel);
  g_free(j->text);
  g_free(j);
  if (!s->gone)
    smtp_resume(s);
}

/* vrfy_address - the address of a VRFY argument: "<a@b>", "a@b", or a
 * display name followed by "<a@b>" */
static char *vrfy_address(const char *arg, size_t len) {
  const char *lt = memchr(arg, '<', len);
  if (lt != NULL) {
    const char *gt = memchr(lt, '>', len - (size_t)(lt - arg));
    if (gt == NULL || gt - lt < 2)
      return NULL;
    return g_strndup(lt + 1, (size_t)(gt - lt - 1));
  }
  if (len == 0 || memchr(arg, ' ', len) != NULL)
    return NULL;
  return g_strndup(arg, len);
}

static void cmd_vrfy(smtp_session *s, const smtp_cmd *c) {
  if (s->pol.vrfy == VRFY_OFF) {
    smtp_reply(s, 502, "5.5.1 VRFY command is disabled");
    return;
  }
  char *addr = vrfy_address(c->arg, c->arg_len);
  if (addr == NULL || strlen(addr) > SMTP_PATH_MAX) {
    g_free(addr);
    smtp_error(s, 501, "5.5.4 Syntax: VRFY <address>");
    return;
  }
  if (s->pol.vrfy == VRFY_HIDE) {
    g_free(addr);
    smtp_reply(s, 252, "2.5.2 Cannot VRFY user, but will accept message "
                       "and attempt delivery");
    return;
  }
  vrfy_job *j = g_new0(vrfy_job, 1);
  j->s = s;
  j->address = addr;
  j->channel = g_strdup(s->channel);
  if (!smtp_run(s, vrfy_work, vrfy_done, j)) {
    g_free(j->address);
    g_free(j->channel);
    g_free(j);
    smtp_reply(s, 451, "4.3.0 Temporary failure, try again later");
  }
}

/* --------------------------------------------------------------- ETRN */

static void cmd_etrn(smtp_session *s, const smtp_cmd *c) {
  if (s->lmtp || s->pol.etrn == ETRN_OFF) {
    smtp_reply(s, 502, "5.5.1 ETRN is not available");
    return;
  }
  if (s->helo == NULL) {
    smtp_error(s, 503, "5.5.1 Send EHLO first");
    return;
  }
  if (s->enq != NULL) {
    smtp_error(s, 503, "5.5.1 ETRN is not allowed in a mail transaction");
    return;
  }
  char *arg = g_strndup(c->arg, c->arg_len);
  const char *node = arg[0] == '@' || arg[0] == '#' ? arg + 1 : arg;
  bool ok = *node != '\0' && strlen(node) <= SMTP_DOMAIN_MAX;
  for (const char *p = node; ok && *p != '\0'; p++)
    ok = g_ascii_isalnum(*p) || *p == '.' || *p == '-' || *p == '_';
  if (!ok) {
    smtp_error(s, 501, "5.5.4 Syntax: ETRN node");
  } else if (s->pol.etrn == ETRN_BLOCK) {
    smtp_reply(s, 458, "4.7.0 Unable to queue messages for node %s", node);
  } else if (s->pol.etrn == ETRN_DOMAIN && arg[0] == '#') {
    smtp_reply(s, 459, "5.7.0 Node %s not allowed: only domains", node);
  } else {
    smtp_host->queue->run_request(node);
    if (s->pol.etrn == ETRN_SILENT)
      smtp_reply(s, 250, "2.0.0 OK");
    else
      smtp_reply(s, 250, "2.0.0 Queuing for node %s started", node);
  }
  g_free(arg);
}

/* ----------------------------------------------------------- STARTTLS */

static void cmd_starttls(smtp_session *s, const smtp_cmd *c) {
  const char *err = NULL;
  if (c->arg_len > 0) {
    smtp_error(s, 501, "5.5.4 Syntax: STARTTLS takes no parameters");
    return;
  }
  if (s->info->tls) {
    smtp_error(s, 503, "5.5.1 TLS is already active");
    return;
  }
  if (s->pol.tls == POLICY_NO || !smtp_host->conn->tls_available(s->conn)) {
    smtp_error(s, 502, "5.5.1 STARTTLS is not available");
    return;
  }
  smtp_reply(s, 220, "2.0.0 Ready to start TLS");
  if (smtp_host->conn->start_tls(s->conn, &err) != CURSUS_OK) {
    smtp_host->log(smtp_ctx, CURSUS_LOG_ERROR, "STARTTLS: %s", err);
    smtp_close(s, "4.7.0 TLS not available");
    return;
  }
  /* RFC 3207 4.2: the client starts over */
  smtp_reset(s);
  g_free(s->helo);
  s->helo = NULL;
  s->esmtp = false;
}

/* ------------------------------------------------------------ dispatch */

static void cmd_help(smtp_session *s) {
  smtp_host->conn->printf(
      s->conn, "214-2.0.0 Commands: %s MAIL RCPT DATA BDAT RSET NOOP QUIT\r\n"
               "214 2.0.0 HELP VRFY STARTTLS AUTH%s\r\n",
      s->lmtp ? "LHLO" : "HELO EHLO", s->lmtp ? "" : " ETRN");
}

/* idle_command - one more command carrying no mail; false when it was one
 * too many (the session is being closed) */
static bool idle_command(smtp_session *s) {
  if (++s->idle_commands > smtp_cfg.max_idle_commands) {
    smtp_close(s, "4.7.0 Too many commands without mail, closing connection");
    return false;
  }
  return true;
}

void smtp_command(smtp_session *s, const char *line, size_t len,
                  unsigned flags) {
  smtp_cmd c;
  smtp_err err;
  if (s->shutting_down && s->enq == NULL) {
    smtp_close(s, "4.3.2 Server shutting down, closing connection");
    return;
  }
  if (flags & CURSUS_LINE_TOO_LONG) {
    smtp_error(s, 500, "5.5.2 Line too long");
    return;
  }
  if (!smtp_parse_command(line, len, &c, &err)) {
    smtp_error(s, err.code, err.text);
    return;
  }
  switch (c.verb) {
  case SMTP_HELO:
  case SMTP_EHLO:
    if (s->lmtp) {
      smtp_error(s, 500, "5.5.1 This is LMTP: use LHLO");
      return;
    }
    if (idle_command(s))
      cmd_helo(s, &c);
    return;
  case SMTP_LHLO:
    if (!s->lmtp) {
      smtp_error(s, 500, "5.5.1 Command unrecognized");
      return;
    }
    if (idle_command(s))
      cmd_helo(s, &c);
    return;
  case SMTP_MAIL:
    cmd_mail(s, &c);
    return;
  case SMTP_RCPT:
    cmd_rcpt(s, &c);
    return;
  case SMTP_DATA:
    if (c.arg_len > 0)
      smtp_error(s, 501, "5.5.4 Syntax: DATA takes no parameters");
    else if (s->enq == NULL)
      smtp_error(s, 503, "5.5.1 Need MAIL command first");
    else if (s->bdat_seen || s->mail_binary)
      smtp_error(s, 503, "5.5.1 BDAT is in use for this message");
    else if (s->rcpt_accepted == 0)
      smtp_reply(s, 554, "5.5.1 No valid recipients");
    else
      smtp_data_start(s);
    return;
  case SMTP_BDAT: {
    uint64_t size;
    bool last, size_ok;
    if (!s->pol.chunking) {
      smtp_error(s, 502, "5.5.1 CHUNKING is not offered");
      return;
    }
    if (!smtp_parse_bdat(c.arg, c.arg_len, &size, &last, &size_ok, &err)) {
      if (!size_ok) {
        /* the chunk's size is unknown: the session cannot go on */
        smtp_reply(s, err.code, "%s", err.text);
        smtp_close(s, "4.5.0 Lost track of the BDAT data, closing connection");
        return;
      }
      /* the chunk is read, then refused with the syntax error */
      smtp_bdat_refuse(s, size, err.code, err.text);
      return;
    }
    smtp_bdat_start(s, size, last);
    return;
  }
  case SMTP_RSET:
    if (c.arg_len > 0) {
      smtp_error(s, 501, "5.5.4 Syntax: RSET takes no parameters");
      return;
    }
    if (idle_command(s)) {
      smtp_reset(s);
      smtp_reply(s, 250, "2.0.0 Ok");
    }
    return;
  case SMTP_NOOP:
    if (idle_command(s))
      smtp_reply(s, 250, "2.0.0 Ok");
    return;
  case SMTP_QUIT:
    smtp_reply(s, 221, "2.0.0 %s closing connection", s->info->local_hostname);
    smtp_host->conn->close(s->conn);
    return;
  case SMTP_VRFY:
    if (idle_command(s))
      cmd_vrfy(s, &c);
    return;
  case SMTP_EXPN:
    smtp_reply(s, 502, "5.5.1 EXPN is not available");
    return;
  case SMTP_HELP:
    if (idle_command(s))
      cmd_help(s);
    return;
  case SMTP_STARTTLS:
    cmd_starttls(s, &c);
    return;
  case SMTP_AUTH:
    smtp_auth_start(s, c.arg, c.arg_len);
    return;
  case SMTP_ETRN:
    if (idle_command(s))
      cmd_etrn(s, &c);
    return;
  case SMTP_OBSOLETE:
    smtp_error(s, 502, "5.5.1 Command not implemented");
    return;
  case SMTP_UNKNOWN:
    break;
  }
  smtp_error(s, 500, "5.5.1 Command unrecognized");
}
