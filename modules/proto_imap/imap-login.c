/*
 * imap-login.c - LOGIN and AUTHENTICATE (SASL, SASL-IR)
 *
 * Password checks and SASL steps may wait for the directory, so they run
 * on a host thread (modules/common/login.c does the work).  A failed
 * login is answered only after the delay the host asks for
 * (host->auth->login_failed), which slows guessing per user and address.
 */
#include "imap.h"
#include "../common/login.h"

#include <string.h>

extern userlimit *imap_userlimit;

typedef struct login_state {
  char *login;
  char *password;
  char *mech;           /* AUTHENTICATE: the mechanism */
  char *response;       /* SASL: decoded client response */
  size_t response_len;
  bool have_response;
  bool final_sent;      /* server's final data sent, waiting for "" */
  login_result result;
} login_state;

static login_policy policy(void) {
  login_policy p = {HOST, imap_ctx, "imap", imap_set.access, imap_userlimit};
  return p;
}

static void wipe(char **p, size_t len) {
  if (*p != NULL) {
    memset(*p, 0, len);
    g_free(*p);
    *p = NULL;
  }
}

static void login_state_free(void *data) {
  login_state *ls = data;
  login_policy p = policy();
  if (ls->password != NULL)
    wipe(&ls->password, strlen(ls->password));
  wipe(&ls->response, ls->response_len);
  /* a store user opened for a session that closed meanwhile */
  login_release(&p, ls->result.user, &ls->result.slot, &ls->result.store);
  login_result_clear(&p, &ls->result);
  g_free(ls->login);
  g_free(ls->mech);
  g_free(ls);
}

static cursus_auth_info auth_info(const imap_session *s) {
  cursus_auth_info ai = {.service = "imap",
                         .remote_ip = s->info->remote_ip,
                         .tls = s->tls};
  return ai;
}

/* refusal_text - the NO of a known user who may not log in */
static const char *refusal_text(login_refusal why) {
  switch (why) {
  case LOGIN_DENIED:
    return "[AUTHORIZATIONFAILED] Access denied.";
  case LOGIN_TOO_MANY:
    return "[LIMIT] Too many sessions of this user.";
  case LOGIN_NO_MAILBOX:
    return "[AUTHORIZATIONFAILED] No mailbox.";
  case LOGIN_TEMP_AUTH:
    return "[UNAVAILABLE] Temporary authentication failure.";
  case LOGIN_NO_STORE:
    break;
  }
  return "[UNAVAILABLE] Mailbox not available.";
}

/* finish_login - loop thread: answer the command */
static void finish_login(imap_session *s) {
  imap_cmd *cmd = s->cmd;
  login_state *ls = cmd->state;
  login_result *r = &ls->result;
  if (r->outcome == LOGIN_OK) {
    /* the session takes over the store user and the slot */
    s->user = r->store;
    s->session_slot = r->slot;
    s->user_id = g_strdup(r->user);
    r->store = NULL;
    r->slot = -1;
    s->state = IMAP_STATE_AUTH;
    s->box_condstore = (s->enabled & IMAP_ENABLE_CONDSTORE) != 0;
    HOST->conn->set_timeout(s->conn, imap_set.timeout_ms);
    imap_set_log_context(s);
    imap_log(s, CURSUS_LOG_INFO, "logged in (%s%s)",
             ls->mech != NULL ? "AUTHENTICATE " : "LOGIN",
             ls->mech != NULL ? ls->mech : "");
    GString *caps = g_string_new(NULL);
    imap_capabilities(s, caps);
    imap_cmd_done(s, cmd, "OK", "[CAPABILITY %s] Logged in", caps->str);
    g_string_free(caps, TRUE);
  } else if (r->outcome == LOGIN_FAILED) {
    imap_log(s, CURSUS_LOG_NOTICE, "authentication failed%s%s",
             ls->login != NULL ? " for " : "",
             ls->login != NULL ? ls->login : "");
    imap_cmd_done(s, cmd, "NO",
                  "[AUTHENTICATIONFAILED] Authentication failed.");
  } else {
    imap_cmd_done(s, cmd, "NO", "%s", refusal_text(r->why));
  }
  if (s->sasl != NULL)
    HOST->auth->sasl_finish(&s->sasl);
  imap_cmd_finish_async(s);
}

static void delay_over(void *data) {
  imap_session *s = data;
  HOST->timer_remove(&s->delay);
  finish_login(s);
}

/* answer - loop thread: finish now, or after the failure delay */
static void answer(imap_session *s) {
  login_state *ls = s->cmd->state;
  if (ls->result.outcome == LOGIN_FAILED && ls->result.delay_ms > 0 &&
      HOST->timer_add != NULL) {
    imap_set_input(s, IMAP_INPUT_BUSY);
    s->delay = HOST->timer_add(ls->result.delay_ms, delay_over, s);
    return;
  }
  finish_login(s);
}

/* ------------------------------------------------------------ LOGIN */

static void login_work(imap_session *s) {
  login_state *ls = s->cmd->state;
  login_policy p = policy();
  cursus_auth_info ai = auth_info(s);
  login_password(&p, &s->client, &ai, ls->login, ls->password, &ls->result);
  wipe(&ls->password, strlen(ls->password));
}

bool imap_cmd_login(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *login, *password;
  if (!imap_parse_sp(ip) || !imap_parse_astring(ip, &login) ||
      !imap_parse_sp(ip) || !imap_parse_astring(ip, &password) ||
      !imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (!s->tls && !imap_set.allow_plaintext)
    return imap_cmd_done(s, cmd, "NO",
                         "[PRIVACYREQUIRED] Plaintext authentication "
                         "disallowed on non-secure connections.");
  if (HOST->auth == NULL)
    return imap_cmd_done(s, cmd, "NO",
                         "[UNAVAILABLE] Authentication is not available.");
  login_state *ls = g_new0(login_state, 1);
  ls->result.slot = -1;
  ls->login = g_strdup(login);
  ls->password = g_strdup(password);
  /* no other copy of the password stays in memory */
  memset((char *)password, 0, strlen(password));
  memset(cmd->text->str, 0, cmd->text->len);
  cmd->state = ls;
  cmd->state_free = login_state_free;
  imap_run_job(s, login_work, answer);
  return imap_cmd_wait(s, cmd);
}

/* ------------------------------------------------------------ SASL */

static void sasl_work(imap_session *s) {
  login_state *ls = s->cmd->state;
  login_policy p = policy();
  login_sasl_step(&p, &s->client, s->sasl,
                  ls->have_response ? ls->response : NULL,
                  ls->have_response ? ls->response_len : 0, &ls->result);
  wipe(&ls->response, ls->response_len);
}

static void final_work(imap_session *s) {
  login_state *ls = s->cmd->state;
  login_policy p = policy();
  login_open_user(&p, &s->client, &ls->result);
}

static void sasl_done(imap_session *s) {
  login_state *ls = s->cmd->state;
  if (ls->result.outcome != LOGIN_AGAIN) {
    answer(s);
    return;
  }
  ls->final_sent = ls->result.final_data;
  gchar *b64 = g_base64_encode((const guchar *)ls->result.challenge.data,
                               ls->result.challenge.len);
  imap_printf(s, "+ %s\r\n", b64);
  g_free(b64);
  imap_flush(s);
  imap_set_input(s, IMAP_INPUT_SASL);
}

/* sasl_abort - end the exchange with a tagged reply */
static void sasl_abort(imap_session *s, const char *result, const char *text) {
  HOST->auth->sasl_finish(&s->sasl);
  imap_cmd_done(s, s->cmd, result, "%s", text);
  imap_cmd_finish_async(s);
}

void imap_sasl_line(imap_session *s, const char *line, size_t len) {
  login_state *ls = s->cmd != NULL ? s->cmd->state : NULL;
  if (ls == NULL)
    return;
  if (len == 1 && line[0] == '*') {
    sasl_abort(s, "BAD", "Authentication cancelled.");
    return;
  }
  if (ls->final_sent) {
    if (len != 0) {
      sasl_abort(s, "BAD", "Expected an empty response.");
      return;
    }
    ls->final_sent = false;
    imap_run_job(s, final_work, answer);
    return;
  }
  size_t n = 0;
  char *resp = login_decode_b64(line, len, &n);
  if (resp == NULL) {
    sasl_abort(s, "BAD", "Invalid base64 data.");
    return;
  }
  ls->response = resp;
  ls->response_len = n;
  ls->have_response = true;
  imap_run_job(s, sasl_work, sasl_done);
}

bool imap_cmd_authenticate(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *mech, *ir = NULL;
  if (!imap_parse_sp(ip) || !imap_parse_atom(ip, &mech))
    return imap_cmd_bad(s, cmd);
  if (imap_parse_peek(ip, ' ')) {
    ip->p++;
    if (imap_parse_peek(ip, '=')) {
      ip->p++;
      ir = "";
    } else if (!imap_parse_atom(ip, &ir)) {
      return imap_cmd_bad(s, cmd);
    }
  }
  if (!imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (HOST->auth == NULL)
    return imap_cmd_done(s, cmd, "NO",
                         "[UNAVAILABLE] Authentication is not available.");
  char *upper = imap_parser_own(ip, g_ascii_strup(mech, -1));
  if (!s->tls && !imap_set.allow_plaintext &&
      (strcmp(upper, "PLAIN") == 0 || strcmp(upper, "LOGIN") == 0))
    return imap_cmd_done(s, cmd, "NO",
                         "[PRIVACYREQUIRED] Plaintext authentication "
                         "disallowed on non-secure connections.");
  login_state *ls = g_new0(login_state, 1);
  ls->result.slot = -1;
  ls->mech = g_strdup(upper);
  cmd->state = ls;
  cmd->state_free = login_state_free;
  if (ir != NULL) {
    ls->response = login_decode_b64(ir, strlen(ir), &ls->response_len);
    if (ls->response == NULL)
      return imap_cmd_done(s, cmd, "BAD", "Invalid base64 data.");
    ls->have_response = true;
  }
  cursus_auth_info ai = auth_info(s);
  const char *error = NULL;
  s->sasl = HOST->auth->sasl_start(upper, &ai, &error);
  if (s->sasl == NULL)
    return imap_cmd_done(s, cmd, "NO",
                         "Unsupported authentication mechanism.");
  imap_run_job(s, sasl_work, sasl_done);
  return imap_cmd_wait(s, cmd);
}

/* ------------------------------------------------------------ cleanup */

void imap_login_cleanup(imap_session *s) {
  login_policy p = policy();
  if (s->sasl != NULL && HOST->auth != NULL)
    HOST->auth->sasl_finish(&s->sasl);
  login_release(&p, s->user_id, &s->session_slot, &s->user);
  g_free(s->user_id);
  s->user_id = NULL;
}
