/*
 * imap-login.c - LOGIN and AUTHENTICATE (SASL, SASL-IR), and what
 * happens once a user is known: the access filter with the login name,
 * the per-user session limit, opening the user's store
 *
 * Password checks and SASL steps may wait for the directory, so they run
 * on a host thread.  A failed login is answered only after the delay the
 * host asks for (host->auth->login_failed), which slows guessing per user
 * and per address.
 */
#include "imap.h"
#include "../common/userlimit.h"

#include <string.h>

extern userlimit *imap_userlimit;

typedef enum login_outcome {
  LOGIN_OK,
  LOGIN_FAILED,  /* wrong credentials: slow down, then NO */
  LOGIN_REFUSED, /* known user, but refused: NO with reason */
  LOGIN_AGAIN,   /* SASL: send a challenge */
} login_outcome;

typedef struct login_state {
  char *login;
  char *password;
  char *mech;
  cursus_buf challenge; /* SASL: decoded data for the client */
  char *response;       /* SASL: decoded client response */
  size_t response_len;
  bool have_response;
  bool final_sent;      /* server's final data sent, waiting for "" */
  login_outcome outcome;
  char *user;           /* canonical user id */
  char text[256];       /* reply text for NO */
  unsigned delay_ms;
} login_state;

static void login_state_free(void *p) {
  login_state *ls = p;
  if (ls->password != NULL) {
    memset(ls->password, 0, strlen(ls->password));
    g_free(ls->password);
  }
  if (ls->response != NULL) {
    memset(ls->response, 0, ls->response_len);
    g_free(ls->response);
  }
  g_free(ls->login);
  g_free(ls->mech);
  g_free(ls->user);
  HOST->buf_free(&ls->challenge);
  g_free(ls);
}

static cursus_auth_info auth_info(const imap_session *s) {
  cursus_auth_info ai = {.service = "imap",
                         .remote_ip = s->info->remote_ip,
                         .tls = s->tls};
  return ai;
}

/* refuse - a known user may not log in now: reply text */
static void refuse(login_state *ls, const char *text) {
  ls->outcome = LOGIN_REFUSED;
  g_strlcpy(ls->text, text, sizeof(ls->text));
}

/* open_user - thread: checks for a user who proved who they are */
static void open_user(imap_session *s, login_state *ls) {
  const char *error = NULL;
  s->client.user = ls->user;
  svcaccess_result acc = svcaccess_check(imap_set.access, &s->client);
  s->client.user = NULL;
  if (acc == SVCACCESS_DENY) {
    imap_log(s, CURSUS_LOG_NOTICE, "login of %s refused by the access filter",
             ls->user);
    refuse(ls, "[AUTHORIZATIONFAILED] Access denied");
    return;
  }
  int slot = userlimit_acquire(imap_userlimit, ls->user, &error);
  if (slot == -1) {
    refuse(ls, "[LIMIT] Too many sessions of this user");
    return;
  }
  if (slot == -2)
    imap_log(s, CURSUS_LOG_WARNING, "cannot count the sessions of %s: %s",
             ls->user, error);
  if (HOST->store == NULL) {
    userlimit_release(imap_userlimit, ls->user, slot);
    refuse(ls, "[UNAVAILABLE] The message store is not available");
    return;
  }
  cursus_store_user *u = NULL;
  int rc = HOST->store->user_open(ls->user, CURSUS_STORE_USER_CREATE, &u,
                                  &error);
  if (rc != CURSUS_OK) {
    userlimit_release(imap_userlimit, ls->user, slot);
    imap_log(s, CURSUS_LOG_WARNING, "cannot open the store of %s: %s",
             ls->user, error != NULL ? error : "no store");
    refuse(ls, rc == CURSUS_NONE ? "[AUTHORIZATIONFAILED] No mailbox"
                                 : "[UNAVAILABLE] Mailbox not available");
    return;
  }
  s->user = u;
  s->session_slot = slot;
  s->user_id = g_strdup(ls->user);
  ls->outcome = LOGIN_OK;
}

/* failed - thread: record the failure and learn the delay */
static void failed(imap_session *s, login_state *ls, const char *login) {
  ls->outcome = LOGIN_FAILED;
  ls->delay_ms = HOST->auth->login_failed(login != NULL ? login : "",
                                          s->info->remote_ip);
  if (ls->delay_ms > 60000)
    ls->delay_ms = 60000;
}

/* finish_login - loop thread: answer the command */
static void finish_login(imap_session *s) {
  imap_cmd *cmd = s->cmd;
  login_state *ls = cmd->state;
  switch (ls->outcome) {
  case LOGIN_OK: {
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
    break;
  }
  case LOGIN_FAILED:
    imap_cmd_done(s, cmd, "NO",
                  "[AUTHENTICATIONFAILED] Authentication failed.");
    break;
  case LOGIN_REFUSED:
  case LOGIN_AGAIN:
    imap_cmd_done(s, cmd, "NO", "%s", ls->text);
    break;
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
  if (ls->outcome == LOGIN_FAILED && ls->delay_ms > 0 &&
      HOST->timer_add != NULL) {
    imap_set_input(s, IMAP_INPUT_BUSY);
    s->delay = HOST->timer_add(ls->delay_ms, delay_over, s);
    return;
  }
  finish_login(s);
}

/* ------------------------------------------------------------ LOGIN */

static void login_work(imap_session *s) {
  login_state *ls = s->cmd->state;
  cursus_auth_info ai = auth_info(s);
  cursus_buf user = {0};
  const char *error = NULL;
  int rc = HOST->auth->verify_password(ls->login, ls->password, &ai, &user,
                                       &error);
  if (rc == CURSUS_OK && user.len > 0) {
    ls->user = g_strdup(user.data);
    open_user(s, ls);
  } else if (rc == CURSUS_TEMPFAIL) {
    imap_log(s, CURSUS_LOG_WARNING, "cannot verify %s: %s", ls->login,
             error != NULL ? error : "directory unavailable");
    refuse(ls, "[UNAVAILABLE] Temporary authentication failure");
  } else {
    failed(s, ls, ls->login);
  }
  HOST->buf_free(&user);
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

/* decode_b64 - strict base64 (RFC 4648, padded); NULL when malformed */
static char *decode_b64(const char *text, size_t len, size_t *out_len) {
  if (len % 4 != 0)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    bool pad = c == '=' && i >= len - 2 && (i == len - 1 || text[i + 1] == '=');
    if (!g_ascii_isalnum(c) && c != '+' && c != '/' && !pad)
      return NULL;
  }
  char *copy = g_strndup(text, len);
  gsize n = 0;
  guchar *out = g_base64_decode_inplace(copy, &n);
  *out_len = n;
  (void)out;
  return copy;
}

static void sasl_work(imap_session *s) {
  login_state *ls = s->cmd->state;
  const char *user = NULL, *error = NULL;
  ls->challenge.len = 0;
  int rc = HOST->auth->sasl_step(s->sasl,
                                 ls->have_response ? ls->response : NULL,
                                 ls->have_response ? ls->response_len : 0,
                                 &ls->challenge, &user, &error);
  if (ls->response != NULL) {
    memset(ls->response, 0, ls->response_len);
    g_free(ls->response);
    ls->response = NULL;
  }
  switch (rc) {
  case CURSUS_AGAIN:
    ls->outcome = LOGIN_AGAIN;
    break;
  case CURSUS_OK:
    ls->user = g_strdup(user);
    if (ls->challenge.len > 0) {
      /* server's final data (SCRAM): the client acknowledges with "" */
      ls->outcome = LOGIN_AGAIN;
      ls->final_sent = true;
    } else {
      open_user(s, ls);
    }
    break;
  case CURSUS_TEMPFAIL:
    refuse(ls, "[UNAVAILABLE] Temporary authentication failure");
    break;
  case CURSUS_PERMFAIL:
    imap_log(s, CURSUS_LOG_NOTICE, "AUTHENTICATE %s: %s", ls->mech,
             error != NULL ? error : "malformed exchange");
    failed(s, ls, NULL);
    break;
  default:
    failed(s, ls, NULL);
    break;
  }
}

static void sasl_done(imap_session *s) {
  login_state *ls = s->cmd->state;
  if (ls->outcome != LOGIN_AGAIN) {
    answer(s);
    return;
  }
  gchar *b64 = g_base64_encode((const guchar *)ls->challenge.data,
                               ls->challenge.len);
  imap_printf(s, "+ %s\r\n", b64);
  g_free(b64);
  imap_flush(s);
  imap_set_input(s, IMAP_INPUT_SASL);
}

static void final_work(imap_session *s) { open_user(s, s->cmd->state); }

void imap_sasl_line(imap_session *s, const char *line, size_t len) {
  login_state *ls = s->cmd != NULL ? s->cmd->state : NULL;
  if (ls == NULL)
    return;
  if (len == 1 && line[0] == '*') {
    HOST->auth->sasl_finish(&s->sasl);
    imap_cmd_done(s, s->cmd, "BAD", "Authentication cancelled.");
    imap_cmd_finish_async(s);
    return;
  }
  if (ls->final_sent) {
    if (len != 0) {
      HOST->auth->sasl_finish(&s->sasl);
      imap_cmd_done(s, s->cmd, "BAD", "Expected an empty response.");
      imap_cmd_finish_async(s);
      return;
    }
    ls->final_sent = false;
    imap_run_job(s, final_work, answer);
    return;
  }
  size_t n = 0;
  char *resp = decode_b64(line, len, &n);
  if (resp == NULL) {
    HOST->auth->sasl_finish(&s->sasl);
    imap_cmd_done(s, s->cmd, "BAD", "Invalid base64 data.");
    imap_cmd_finish_async(s);
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
  ls->mech = g_strdup(upper);
  cmd->state = ls;
  cmd->state_free = login_state_free;
  if (ir != NULL) {
    size_t n = 0;
    char *resp = *ir == '\0' ? g_strdup("") : decode_b64(ir, strlen(ir), &n);
    if (resp == NULL)
      return imap_cmd_done(s, cmd, "BAD", "Invalid base64 data.");
    ls->response = resp;
    ls->response_len = n;
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
  if (s->sasl != NULL && HOST->auth != NULL)
    HOST->auth->sasl_finish(&s->sasl);
  if (s->user != NULL)
    STORE->user_close(&s->user);
  if (s->user_id != NULL) {
    userlimit_release(imap_userlimit, s->user_id, s->session_slot);
    s->session_slot = -1;
  }
  g_free(s->user_id);
  s->user_id = NULL;
}
