/*
 * auth.c - SMTP AUTH (RFC 4954) through the host's SASL service
 *
 * The mechanisms offered are those the auth-method modules allow in the
 * situation (host->auth->mechanisms: e.g. PLAIN only over TLS).  Each step
 * runs on a host thread, since checking a password may ask the directory.
 * Wrong credentials are answered after the delay the host asks for (it
 * grows with failures from the same address) and count towards
 * disconnectbadauthlimit.  After success the session takes the channel's
 * saslswitchchannel.
 */
#include "smtp.h"

#include <string.h>

/* RFC 4954 4: a SASL response line may be 12288 octets long */
#define AUTH_LINE_MAX 12288

static void auth_info(const smtp_session *s, cursus_auth_info *info) {
  const char *svc = s->info->service != NULL ? s->info->service : "";
  info->service = s->lmtp                          ? "lmtp"
                  : strstr(svc, "SUBMIT") != NULL ? "submission"
                                                  : "smtp";
  info->remote_ip = s->info->remote_ip;
  info->tls = s->info->tls;
}

bool smtp_auth_offered(const smtp_session *s) {
  return s->pol.sasl != POLICY_NO && smtp_host->auth != NULL &&
         s->auth_user == NULL;
}

void smtp_auth_mechanisms(const smtp_session *s, cursus_buf *out) {
  cursus_auth_info info;
  auth_info(s, &info);
  const char *m = smtp_host->auth->mechanisms(&info);
  if (m != NULL && *m != '\0')
    smtp_host->buf_append(out, m, strlen(m));
}

/* strict_base64 - decode TEXT; false when it is not base64 */
static bool strict_base64(const char *text, size_t len, char **out,
                          size_t *out_len) {
  if (len % 4 != 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    bool pad = c == '=' && i >= len - 2 && (i == len - 1 || text[len - 1] == '=');
    if (!g_ascii_isalnum(c) && c != '+' && c != '/' && !pad)
      return false;
  }
  char *copy = g_strndup(text, len);
  gsize n = 0;
  guchar *data = len > 0 ? g_base64_decode(copy, &n) : (guchar *)g_strdup("");
  g_free(copy);
  *out = (char *)data;
  *out_len = n;
  return true;
}

typedef struct auth_job {
  smtp_session *s;
  char *in;      /* decoded response, or NULL */
  size_t in_len;
  int rc;
  cursus_buf out;
  char *user;
  char *error;
  unsigned delay_ms;
} auth_job;

static void auth_end(smtp_session *s) {
  g_free(s->auth_pending);
  s->auth_pending = NULL;
  if (s->sasl != NULL)
    smtp_host->auth->sasl_finish(&s->sasl);
  g_free(s->sasl_mech);
  s->sasl_mech = NULL;
  s->mode = MODE_COMMAND;
  smtp_host->conn->set_line_limit(s->conn, smtp_cfg.max_line);
}

/* auth_success - the session is USER's now */
static void auth_success(smtp_session *s, const char *user) {
  s->auth_user = g_strdup(user);
  smtp_host->log(smtp_ctx, CURSUS_LOG_INFO, "authenticated as %s", user);
  const cursus_channel *ch = smtp_host->queue->channel_find(s->channel);
  const char *to =
      ch != NULL ? smtp_host->queue->channel_keyword(ch, "saslswitchchannel", 0)
                 : NULL;
  if (to != NULL && *to != '\0')
    smtp_set_channel(s, to);
  smtp_reply(s, 235, "2.7.0 Authentication successful");
}

static void auth_work(void *data) {
  auth_job *j = data;
  const char *user = NULL, *err = NULL;
  j->rc = smtp_host->auth->sasl_step(j->s->sasl, j->in, j->in_len, &j->out,
                                     &user, &err);
  if (j->rc == CURSUS_OK && user != NULL)
    j->user = g_strdup(user);
  if (err != NULL)
    j->error = g_strdup(err);
  if (j->rc == CURSUS_NONE)
    j->delay_ms = smtp_host->auth->login_failed("", j->s->info->remote_ip);
}

static void auth_done(void *data) {
  auth_job *j = data;
  smtp_session *s = j->s;
  if (s->gone) {
    /* smtp_free finishes the exchange */
  } else if (j->rc == CURSUS_AGAIN) {
    gchar *b64 = j->out.len > 0
                     ? g_base64_encode((const guchar *)j->out.data, j->out.len)
                     : g_strdup("");
    smtp_host->conn->printf(s->conn, "334 %s\r\n", b64);
    g_free(b64);
    s->mode = MODE_AUTH;
    smtp_host->conn->set_line_limit(s->conn, AUTH_LINE_MAX);
  } else if (j->rc == CURSUS_OK && j->user != NULL && j->out.len > 0) {
    /* RFC 4954 4: success with final data (SCRAM's server signature)
     * goes as one more challenge; an empty response completes it */
    gchar *b64 = g_base64_encode((const guchar *)j->out.data, j->out.len);
    smtp_host->conn->printf(s->conn, "334 %s\r\n", b64);
    g_free(b64);
    g_free(s->auth_pending);
    s->auth_pending = g_strdup(j->user);
    s->mode = MODE_AUTH;
  } else if (j->rc == CURSUS_OK && j->user != NULL) {
    auth_end(s);
    auth_success(s, j->user);
  } else {
    auth_end(s);
    if (j->rc == CURSUS_NONE) {
      s->bad_auths++;
      smtp_host->log(smtp_ctx, CURSUS_LOG_NOTICE, "authentication failed%s%s",
                     j->error != NULL ? ": " : "",
                     j->error != NULL ? j->error : "");
      if (s->pol.bad_auth_limit > 0 && s->bad_auths >= s->pol.bad_auth_limit) {
        smtp_reply(s, 535, "5.7.8 Authentication credentials invalid");
        smtp_close(s, "4.7.0 Too many failed authentications, closing "
                      "connection");
      } else {
        smtp_reply_delayed(s, 535, "5.7.8 Authentication credentials invalid",
                           j->delay_ms);
      }
    } else if (j->rc == CURSUS_TEMPFAIL) {
      smtp_reply(s, 454, "4.7.0 Temporary authentication failure");
    } else {
      smtp_reply(s, 501, "5.5.2 Malformed authentication exchange");
    }
  }
  smtp_host->buf_free(&j->out);
  g_free(j->in);
  g_free(j->user);
  g_free(j->error);
  g_free(j);
  if (!s->gone)
    smtp_resume(s);
}

/* step - run one SASL step with the decoded response IN (or NULL) */
static void step(smtp_session *s, char *in, size_t in_len) {
  auth_job *j = g_new0(auth_job, 1);
  j->s = s;
  j->in = in;
  j->in_len = in_len;
  if (!smtp_run(s, auth_work, auth_done, j)) {
    g_free(j->in);
    g_free(j);
    auth_end(s);
    smtp_reply(s, 454, "4.7.0 Temporary authentication failure");
  }
}

void smtp_auth_start(smtp_session *s, const char *arg, size_t len) {
  bool any = false;
  if (smtp_auth_offered(s)) {
    cursus_buf mechs = {0};
    smtp_auth_mechanisms(s, &mechs);
    any = mechs.len > 0;
    smtp_host->buf_free(&mechs);
  }
  if (!any) {
    if (s->auth_user != NULL)
      smtp_error(s, 503, "5.5.1 Already authenticated");
    else
      smtp_error(s, 502, "5.5.1 AUTH is not available");
    return;
  }
  if (s->helo == NULL || !(s->esmtp || s->lmtp)) {
    smtp_error(s, 503, "5.5.1 Send EHLO first");
    return;
  }
  if (s->enq != NULL) {
    smtp_error(s, 503, "5.5.1 AUTH is not allowed in a mail transaction");
    return;
  }
  size_t n = 0;
  while (n < len && arg[n] != ' ')
    n++;
  if (n == 0 || n > 20) {
    smtp_error(s, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
    return;
  }
  char *mech = g_ascii_strup(arg, (gssize)n);
  char *in = NULL;
  size_t in_len = 0;
  bool initial = n < len;
  if (initial) {
    const char *r = arg + n + 1;
    size_t rl = len - n - 1;
    if (rl == 1 && r[0] == '=') {
      in = g_strdup("");
    } else if (rl == 0 || !strict_base64(r, rl, &in, &in_len)) {
      g_free(mech);
      smtp_error(s, 501, "5.5.2 Cannot decode the initial response");
      return;
    }
  }
  cursus_auth_info info;
  auth_info(s, &info);
  const char *err = NULL;
  s->sasl = smtp_host->auth->sasl_start(mech, &info, &err);
  if (s->sasl == NULL) {
    g_free(mech);
    g_free(in);
    smtp_error(s, 504, "5.5.4 Unrecognized authentication type");
    return;
  }
  s->sasl_mech = mech;
  step(s, in, in_len);
}

void smtp_auth_line(smtp_session *s, const char *line, size_t len) {
  if (len == 1 && line[0] == '*') {
    auth_end(s);
    smtp_reply(s, 501, "5.0.0 Authentication cancelled");
    return;
  }
  if (s->auth_pending != NULL) {
    /* the answer to the final data must be empty */
    char *user = s->auth_pending;
    s->auth_pending = NULL;
    auth_end(s);
    if (len == 0)
      auth_success(s, user);
    else
      smtp_error(s, 501, "5.5.2 Unexpected data after authentication");
    g_free(user);
    return;
  }
  char *in = NULL;
  size_t in_len = 0;
  if (!strict_base64(line, len, &in, &in_len)) {
    auth_end(s);
    smtp_error(s, 501, "5.5.2 Cannot decode the response");
    return;
  }
  step(s, in, in_len);
}
