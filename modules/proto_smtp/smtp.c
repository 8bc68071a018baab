/*
 * smtp.c - the proto_smtp module: descriptor, sessions, replies, limits
 */
#include "build-config.h"
#include "smtp.h"

#include <stdio.h>
#include <string.h>

const cursus_host *smtp_host;
cursus_module_ctx *smtp_ctx;
smtp_settings smtp_cfg;

/* ------------------------------------------------------------- replies */

void smtp_reply(smtp_session *s, unsigned code, const char *fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  if (n < 0)
    return;
  smtp_host->conn->printf(s->conn, "%u %s\r\n", code, buf);
}

static void delay_done(void *data) {
  smtp_session *s = data;
  smtp_host->timer_remove(&s->delay_timer);
  char *text = s->delayed_reply;
  s->delayed_reply = NULL;
  s->wait = WAIT_NONE;
  smtp_host->conn->printf(s->conn, "%s\r\n", text);
  g_free(text);
  smtp_resume(s);
}

void smtp_reply_delayed(smtp_session *s, unsigned code, const char *text,
                        unsigned delay_ms) {
  if (delay_ms == 0 || smtp_host->timer_add == NULL) {
    smtp_reply(s, code, "%s", text);
    return;
  }
  g_free(s->delayed_reply);
  s->delayed_reply = g_strdup_printf("%u %s", code, text);
  s->wait = WAIT_DELAY;
  smtp_host->conn->suspend(s->conn);
  s->delay_timer = smtp_host->timer_add(delay_ms, delay_done, s);
}

void smtp_close(smtp_session *s, const char *text) {
  smtp_reply(s, 421, "%s", text);
  smtp_host->conn->close(s->conn);
}

void smtp_error(smtp_session *s, unsigned code, const char *text) {
  smtp_reply(s, code, "%s", text);
  if (code >= 500 && code != 550 && code != 553 && code != 552)
    s->errors++;
  unsigned limit = s->pol.bad_command_limit;
  if (limit > 0 && s->errors >= limit)
    smtp_close(s, "4.7.0 Too many errors, closing connection");
}

/* ------------------------------------------------------- host threads */

typedef struct run_job {
  smtp_session *s;
  void (*work)(void *);
  void (*done)(void *);
  void *data;
} run_job;

static void run_work(void *p) {
  run_job *j = p;
  j->work(j->data);
}

static void run_done(void *p) {
  run_job *j = p;
  smtp_session *s = j->s;
  if (s->wait == WAIT_LOOKUP)
    s->wait = WAIT_NONE;
  /* DONE runs even for a session that is gone: it frees what WORK made */
  j->done(j->data);
  g_free(j);
  if (s->gone && s->wait == WAIT_NONE)
    smtp_free(s);
}

bool smtp_run(smtp_session *s, void (*work)(void *), void (*done)(void *),
              void *data) {
  const char *err = NULL;
  run_job *j = g_new0(run_job, 1);
  j->s = s;
  j->work = work;
  j->done = done;
  j->data = data;
  s->wait = WAIT_LOOKUP;
  smtp_host->conn->suspend(s->conn);
  if (smtp_host->run_blocking(run_work, run_done, j, &err) != CURSUS_OK) {
    smtp_host->log(smtp_ctx, CURSUS_LOG_ERROR, "cannot run a lookup: %s",
                   err != NULL ? err : "?");
    g_free(j);
    s->wait = WAIT_NONE;
    smtp_host->conn->resume(s->conn);
    return false;
  }
  return true;
}

bool smtp_lookup(smtp_session *s, void (*work)(void *), void (*done)(void *),
                 void *data) {
  if (!s->pol.lookups_inline)
    return smtp_run(s, work, done, data);
  work(data);
  done(data);
  return true;
}

void smtp_resume(smtp_session *s) {
  if (!s->gone && s->wait == WAIT_NONE)
    smtp_host->conn->resume(s->conn);
}

/* ------------------------------------------------------------- policy */

static const cursus_channel *find_channel(const char *name) {
  return smtp_host->queue != NULL ? smtp_host->queue->channel_find(name) : NULL;
}

/* last_of - which of NAMES the channel states last, or NULL */
static const char *last_of(const cursus_channel *ch, const char *const *names) {
  return ch != NULL ? smtp_host->queue->channel_keyword_last(ch, names) : NULL;
}

static bool is(const char *v, const char *name) {
  return v != NULL && strcmp(v, name) == 0;
}

static unsigned kw_uint(const cursus_channel *ch, const char *name,
                        unsigned def) {
  const char *v = ch != NULL ? smtp_host->queue->channel_keyword(ch, name, 0)
                             : NULL;
  if (v == NULL || *v == '\0')
    return def;
  guint64 n = g_ascii_strtoull(v, NULL, 10);
  return n > G_MAXUINT ? G_MAXUINT : (unsigned)n;
}

/* The policy of each source channel met, read once: a worker runs one
 * configuration for its whole life. */
static GHashTable *policies; /* channel name -> smtp_policy* */
static GMutex policies_lock;

static void read_policy(smtp_policy *p, const char *name);

void smtp_set_channel(smtp_session *s, const char *name) {
  g_free(s->channel);
  s->channel = g_strdup(name);
  g_mutex_lock(&policies_lock);
  if (policies == NULL)
    policies = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  smtp_policy *known = g_hash_table_lookup(policies, name);
  if (known == NULL) {
    known = g_new0(smtp_policy, 1);
    read_policy(known, name);
    g_hash_table_insert(policies, g_strdup(name), known);
  }
  s->pol = *known;
  g_mutex_unlock(&policies_lock);
}

static void forget_policies(void) {
  g_mutex_lock(&policies_lock);
  if (policies != NULL)
    g_hash_table_destroy(policies);
  policies = NULL;
  g_mutex_unlock(&policies_lock);
}

/* read_policy - the keywords of source channel NAME that shape a session */
static void read_policy(smtp_policy *p, const char *name) {
  static const char *const sasl[] = {"nosasl", "nosaslserver", "maysaslserver",
                                     "mustsaslserver", NULL};
  static const char *const tls[] = {"notls",         "notlsserver",
                                    "maytls",        "maytlsserver",
                                    "musttls",       "musttlsserver", NULL};
  static const char *const chunk[] = {"chunkingserver", "nochunkingserver",
                                      NULL};
  static const char *const vrfy[] = {"novrfy", "vrfyhide", "vrfydefault",
                                     "vrfyallow", "localvrfy", "domainvrfy",
                                     NULL};
  static const char *const etrn[] = {"allowetrn", "blocketrn", "disableetrn",
                                     "domainetrn", "silentetrn", NULL};
  static const char *const lines[] = {"rejectsmtplonglines", "wrapsmtplonglines",
                                      "truncatesmtplonglines", NULL};
  static const char *const eol[] = {"smtp_crlf", "smtp_crorlf", "smtp_lf", NULL};
  static const char *const ident[] = {"identnone", "identnonelimited",
                                      "identnonenumeric", "identnonesymbolic",
                                      NULL};
  static const char *const rfor[] = {"receivedfor", "noreceivedfor", NULL};
  static const char *const rfrom[] = {"receivedfrom", "noreceivedfrom", NULL};
  const cursus_channel *ch = find_channel(name);
  p->lookups_inline = CURSUS_HAS(smtp_host->queue, enqueue_waits) &&
                      smtp_host->queue->enqueue_waits(name) == 0;
  const char *v = last_of(ch, sasl);
  p->sasl = is(v, "mustsaslserver") ? POLICY_MUST
            : is(v, "maysaslserver") ? POLICY_MAY
                                     : POLICY_NO;
  v = last_of(ch, tls);
  p->tls = is(v, "musttls") || is(v, "musttlsserver") ? POLICY_MUST
           : is(v, "notls") || is(v, "notlsserver")   ? POLICY_NO
                                                      : POLICY_MAY;
  p->chunking = !is(last_of(ch, chunk), "nochunkingserver");
  static const char *const exch[] = {"msexchange", NULL};
  p->msexchange = last_of(ch, exch) != NULL;
  v = last_of(ch, vrfy);
  p->vrfy = is(v, "novrfy")                                      ? VRFY_OFF
            : is(v, "vrfyallow") || is(v, "localvrfy") ||
                      is(v, "domainvrfy")                        ? VRFY_ALLOW
                                                                 : VRFY_HIDE;
  v = last_of(ch, etrn);
  p->etrn = is(v, "blocketrn")    ? ETRN_BLOCK
            : is(v, "disableetrn") ? ETRN_OFF
            : is(v, "domainetrn")  ? ETRN_DOMAIN
            : is(v, "silentetrn")  ? ETRN_SILENT
                                   : ETRN_ALLOW;
  v = last_of(ch, lines);
  p->longlines = is(v, "rejectsmtplonglines")     ? LONG_REJECT
                 : is(v, "wrapsmtplonglines")     ? LONG_WRAP
                 : is(v, "truncatesmtplonglines") ? LONG_TRUNCATE
                                                  : LONG_ACCEPT;
  v = last_of(ch, eol);
  p->bare_lf_ok = is(v, "smtp_crorlf") || is(v, "smtp_lf");
  v = last_of(ch, ident);
  p->ident = is(v, "identnone")           ? IDENT_NONE
             : is(v, "identnonelimited")  ? IDENT_LIMITED
             : is(v, "identnonesymbolic") ? IDENT_SYMBOLIC
                                          : IDENT_NUMERIC;
  p->receivedfor = !is(last_of(ch, rfor), "noreceivedfor");
  p->receivedfrom = is(last_of(ch, rfrom), "receivedfrom");
  static const char *const mfdv[] = {"mailfromdnsverify",
                                     "nomailfromdnsverify", NULL};
  p->mailfromdnsverify = is(last_of(ch, mfdv), "mailfromdnsverify");
  p->bad_command_limit =
      kw_uint(ch, "disconnectbadcommandlimit", smtp_cfg.max_errors);
  p->bad_auth_limit = kw_uint(ch, "disconnectbadauthlimit", 3);
  p->reject_limit = kw_uint(ch, "disconnectrejectlimit", 0);
  p->transaction_limit = kw_uint(ch, "disconnecttransactionlimit", 0);
  p->recipient_limit = kw_uint(ch, "disconnectrecipientlimit", 0);
  unsigned tl = kw_uint(ch, "transactionlimit", 0);
  if (tl > 0 && (p->transaction_limit == 0 || tl < p->transaction_limit))
    p->transaction_limit = tl;
  p->size_limit = smtp_host->queue != NULL
                      ? smtp_host->queue->size_limit(name)
                      : 0;
}

void smtp_session_flags(const smtp_session *s, char out[8]) {
  char *p = out;
  if (s->lmtp)
    *p++ = 'L';
  else if (s->esmtp)
    *p++ = 'E';
  if (s->info->tls)
    *p++ = 'T';
  if (s->auth_user != NULL)
    *p++ = 'A';
  *p = '\0';
}

/* ------------------------------------------------------------ sessions */

void smtp_reset(smtp_session *s) {
  if (s->enq != NULL)
    smtp_host->queue->enqueue_free(&s->enq);
  s->mail_utf8 = false;
  s->mail_binary = false;
  s->rcpt_accepted = 0;
  s->rcpt_seen = 0;
  s->bdat_seen = false;
  s->data_failed = false;
  g_free(s->data_error);
  s->data_error = NULL;
  g_free(s->first_rcpt);
  s->first_rcpt = NULL;
  s->idle_commands = 0;
}

void smtp_free(smtp_session *s) {
  smtp_reset(s);
  if (s->sasl != NULL)
    smtp_host->auth->sasl_finish(&s->sasl);
  smtp_host->timer_remove(&s->delay_timer);
  smtp_host->timer_remove(&s->session_timer);
  g_free(s->delayed_reply);
  g_free(s->bdat_refusal);
  g_free(s->sasl_mech);
  g_free(s->auth_pending);
  g_free(s->helo);
  g_free(s->client_name);
  g_free(s->channel);
  g_free(s->auth_user);
  g_free(s);
}

static void session_too_long(void *data) {
  smtp_session *s = data;
  smtp_host->timer_remove(&s->session_timer);
  if (s->wait == WAIT_COMMIT)
    return; /* the reply to the message comes first; then the next input
               finds the session over its time */
  smtp_close(s, "4.4.2 Session time limit exceeded, closing connection");
}

static int session_open(cursus_module_ctx *ctx, cursus_conn *conn,
                        void **session_r, const char **error_r) {
  if (smtp_host->queue == NULL) {
    *error_r = "no queue services in this process";
    return CURSUS_PERMFAIL;
  }
  smtp_session *s = g_new0(smtp_session, 1);
  s->conn = conn;
  s->info = smtp_host->conn->info(conn);
  const char *proto = smtp_host->conn->service_option(conn, "PROTOCOL");
  s->lmtp = proto != NULL && g_ascii_strcasecmp(proto, "lmtp") == 0;
  smtp_set_channel(s, s->info->channel != NULL ? s->info->channel
                                               : (s->lmtp ? "tcp_lmtp"
                                                          : "tcp_local"));
  smtp_host->conn->set_line_limit(conn, smtp_cfg.max_line);
  smtp_host->conn->set_timeout(conn, smtp_cfg.timeout_ms);
  if (smtp_cfg.session_timeout_ms > 0 && smtp_host->timer_add != NULL)
    s->session_timer =
        smtp_host->timer_add(smtp_cfg.session_timeout_ms, session_too_long, s);
  *session_r = s;
  smtp_greet(s);
  return CURSUS_OK;
}

static void session_line(void *data, const char *line, size_t len,
                         unsigned flags) {
  smtp_session *s = data;
  if (s->mode == MODE_AUTH) {
    if (flags & CURSUS_LINE_TOO_LONG)
      smtp_auth_line(s, "!", 1); /* not base64: the exchange ends */
    else
      smtp_auth_line(s, line, len);
    return;
  }
  smtp_command(s, line, len, flags);
}

static size_t session_bytes(void *data, const char *bytes, size_t len) {
  return smtp_data_bytes(data, bytes, len);
}

static void session_event(void *data, unsigned events) {
  smtp_session *s = data;
  if (events & CURSUS_EVENT_TIMEOUT) {
    if (s->wait != WAIT_NONE)
      return; /* our own work, not the client, is slow */
    smtp_close(s, "4.4.2 Timeout waiting for input, closing connection");
    return;
  }
  if (events & CURSUS_EVENT_SHUTDOWN) {
    /* a transaction under way may end first; the next command after it
     * is answered 421 */
    s->shutting_down = true;
    if (s->wait == WAIT_NONE && s->mode == MODE_COMMAND && s->enq == NULL)
      smtp_close(s, "4.3.2 Server shutting down, closing connection");
    return;
  }
  if (events & CURSUS_EVENT_TLS_DONE) {
    const char *to = s->channel != NULL && smtp_host->queue != NULL
                         ? smtp_host->queue->channel_keyword(
                               find_channel(s->channel), "tlsswitchchannel", 0)
                         : NULL;
    if (to != NULL && *to != '\0')
      smtp_set_channel(s, to);
    smtp_host->log(smtp_ctx, CURSUS_LOG_INFO, "TLS started: %s",
                   s->info->tls_cipher != NULL ? s->info->tls_cipher : "");
  }
}

static void session_close(void *data) {
  smtp_session *s = data;
  if (s->wait == WAIT_DNS) {
    smtp_sender_dns_cancel(s);
    s->wait = WAIT_NONE;
  }
  if (s->wait == WAIT_LOOKUP || s->wait == WAIT_COMMIT) {
    /* a host thread or the committer still holds the session: the
     * completion frees it */
    s->gone = true;
    return;
  }
  smtp_free(s);
}

/* ------------------------------------------------------------- module */

static int smtp_init(cursus_module_ctx *ctx, const cursus_host *host,
                     const char **error_r) {
  smtp_host = host;
  smtp_ctx = ctx;
  if (host->process == CURSUS_PROC_WORKER &&
      (host->conn == NULL || host->queue == NULL ||
       !CURSUS_HAS(host->queue, run_request) ||
       !CURSUS_HAS(host->lookup, parse_path))) {
    *error_r = "the worker offers no connection, queue or lookup services";
    return CURSUS_PERMFAIL;
  }
  const char *banner = host->setting(ctx, "banner");
  smtp_cfg.banner = banner != NULL ? banner : "ESMTP Cursus";
  smtp_cfg.timeout_ms = (unsigned)host->setting_int(ctx, "timeout", 300) * 1000;
  smtp_cfg.data_timeout_ms =
      (unsigned)host->setting_int(ctx, "data_timeout", 600) * 1000;
  smtp_cfg.session_timeout_ms =
      (unsigned)host->setting_int(ctx, "session_timeout", 3600) * 1000;
  smtp_cfg.max_line = (size_t)host->setting_int(ctx, "max_line", 2048);
  smtp_cfg.max_recipients =
      (unsigned)host->setting_int(ctx, "max_recipients", 1000);
  smtp_cfg.max_errors = (unsigned)host->setting_int(ctx, "max_errors", 20);
  smtp_cfg.max_idle_commands =
      (unsigned)host->setting_int(ctx, "max_idle_commands", 100);
  if (smtp_cfg.max_line < 512)
    smtp_cfg.max_line = 512;
  if (smtp_cfg.max_recipients < 100)
    smtp_cfg.max_recipients = 100; /* RFC 5321 4.5.3.1.8 */
  return CURSUS_OK;
}

#define FLAG(n, h) {n, CURSUS_VALUE_FLAG, 0, 0, h}
static const cursus_keyword smtp_keywords[] = {
    FLAG("maysaslserver", "offer SMTP AUTH"),
    FLAG("mustsaslserver", "require SMTP AUTH before MAIL"),
    FLAG("nosasl", "no SMTP AUTH (default)"),
    FLAG("nosaslserver", "no SMTP AUTH as a server (default)"),
    FLAG("maytls", "offer STARTTLS (and use it as a client)"),
    FLAG("musttls", "require STARTTLS (also as a client)"),
    FLAG("notls", "no STARTTLS"),
    FLAG("maytlsserver", "offer STARTTLS (default when a certificate is set)"),
    FLAG("musttlsserver", "require STARTTLS before MAIL"),
    FLAG("notlsserver", "do not offer STARTTLS"),
    FLAG("chunkingserver", "offer CHUNKING and BINARYMIME (default)"),
    FLAG("nochunkingserver", "do not offer CHUNKING"),
    FLAG("msexchange", "also announce AUTH in the form old Outlook expects"),
    FLAG("allowetrn", "honour ETRN (default)"),
    FLAG("blocketrn", "refuse ETRN"),
    FLAG("disableetrn", "ETRN is not offered"),
    FLAG("domainetrn", "honour ETRN for domains only"),
    FLAG("silentetrn", "accept ETRN without saying what it started"),
    FLAG("novrfy", "VRFY is not offered"),
    FLAG("vrfyhide", "VRFY answers 252 without checking (default)"),
    FLAG("vrfydefault", "VRFY answers 252 without checking"),
    FLAG("vrfyallow", "VRFY checks the address"),
    FLAG("localvrfy", "VRFY checks the address"),
    FLAG("domainvrfy", "VRFY checks the address"),
    FLAG("rejectsmtplonglines", "refuse messages with lines over 998 octets"),
    FLAG("wrapsmtplonglines", "break lines over 998 octets"),
    FLAG("truncatesmtplonglines", "cut lines at 998 octets"),
    FLAG("smtp_crlf", "only CRLF ends a line; bare LF refuses the message (default)"),
    FLAG("smtp_crorlf", "a bare LF in message data counts as CRLF"),
    FLAG("smtp_lf", "a bare LF in message data counts as CRLF"),
    FLAG("identnone", "look up the client's name (reverse DNS)"),
    FLAG("identnonelimited", "look up the client's name for Received: only"),
    FLAG("identnonenumeric", "no name lookup: the address only (default)"),
    FLAG("identnonesymbolic", "look up the client's name; show the name"),
    FLAG("mailfromdnsverify",
         "refuse MAIL FROM whose domain has no MX, A or AAAA record in DNS"),
    FLAG("nomailfromdnsverify", "do not look up the MAIL FROM domain (default)"),
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword smtp_settings_decl[] = {
    {"banner", CURSUS_VALUE_STRING, 1, 1, "greeting text after the host name"},
    {"timeout", CURSUS_VALUE_DURATION, 1, 1, "wait for a command (300)"},
    {"data_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "wait for more message data (600)"},
    {"session_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest session (3600; 0 = none)"},
    {"max_line", CURSUS_VALUE_SIZE, 1, 1, "longest command line (2048)"},
    {"max_recipients", CURSUS_VALUE_INTEGER, 1, 1,
     "most recipients per message (1000)"},
    {"max_errors", CURSUS_VALUE_INTEGER, 1, 1,
     "bad commands before disconnecting (20; disconnectbadcommandlimit)"},
    {"max_idle_commands", CURSUS_VALUE_INTEGER, 1, 1,
     "commands carrying no mail (NOOP, RSET, VRFY ...) per message (100)"},
    {NULL, 0, 0, 0, NULL},
};

static const char *const smtp_names[] = {"smtp", "lmtp", NULL};

static const cursus_protocol_ops smtp_protocol = {
    .size = sizeof(cursus_protocol_ops),
    .names = smtp_names,
    .busy_reply = "421 4.7.0 Too many connections, try again later\r\n",
    .session_open = session_open,
    .on_line = session_line,
    .on_bytes = session_bytes,
    .on_event = session_event,
    .session_close = session_close,
    .refusal_style = CURSUS_REFUSE_SMTP,
};

static void smtp_fini(cursus_module_ctx *ctx) { forget_policies(); }

CURSUS_MODULE(.name = "proto_smtp", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "SMTP, submission, SMTPS and LMTP servers",
              .kinds = CURSUS_KIND_PROTOCOL,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_TOOL |
                           CURSUS_PROC_DISPATCHER,
              .keywords = smtp_keywords, .settings = smtp_settings_decl,
              .init = smtp_init, .fini = smtp_fini, .protocol = &smtp_protocol);
