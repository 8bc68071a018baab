/*
 * login.c - password checks, SASL steps and opening the user's store,
 * shared by the access protocols
 */
#include "login.h"

#include <string.h>
#include <glib.h>

/* Longest wait the host may ask for after a failed login. */
#define LOGIN_DELAY_MAX_MS 60000

static void failed(const login_policy *p, const svcaccess_client *client,
                   const char *login, login_result *r) {
  r->outcome = LOGIN_FAILED;
  r->delay_ms = p->host->auth->login_failed(login != NULL ? login : "",
                                            client->ip);
  if (r->delay_ms > LOGIN_DELAY_MAX_MS)
    r->delay_ms = LOGIN_DELAY_MAX_MS;
}

static void refused(login_result *r, login_refusal why) {
  r->outcome = LOGIN_REFUSED;
  r->why = why;
}

void login_open_user(const login_policy *p, const svcaccess_client *client,
                     login_result *r) {
  const char *error = NULL;
  svcaccess_client c = *client;
  c.user = r->user;
  if (svcaccess_check(p->access, &c) == SVCACCESS_DENY) {
    p->host->log(p->ctx, CURSUS_LOG_NOTICE,
                 "login of %s refused by the access filter", r->user);
    refused(r, LOGIN_DENIED);
    return;
  }
  int slot = userlimit_acquire(p->limits, r->user, &error);
  if (slot == -1) {
    p->host->log(p->ctx, CURSUS_LOG_NOTICE,
                 "login of %s refused: too many sessions", r->user);
    refused(r, LOGIN_TOO_MANY);
    return;
  }
  if (slot == -2)
    p->host->log(p->ctx, CURSUS_LOG_WARNING,
                 "cannot count the sessions of %s: %s", r->user, error);
  if (p->host->store == NULL) {
    userlimit_release(p->limits, r->user, slot);
    refused(r, LOGIN_NO_STORE);
    return;
  }
  int rc = p->host->store->user_open(r->user, CURSUS_STORE_USER_CREATE,
                                     &r->store, &error);
  if (rc != CURSUS_OK) {
    userlimit_release(p->limits, r->user, slot);
    r->store = NULL;
    p->host->log(p->ctx, CURSUS_LOG_WARNING, "cannot open the store of %s: %s",
                 r->user, error != NULL ? error : "no store");
    refused(r, rc == CURSUS_NONE ? LOGIN_NO_MAILBOX : LOGIN_NO_STORE);
    return;
  }
  r->slot = slot;
  r->outcome = LOGIN_OK;
}

void login_password(const login_policy *p, const svcaccess_client *client,
                    const cursus_auth_info *ai, const char *login,
                    const char *password, login_result *r) {
  cursus_buf user = {0};
  const char *error = NULL;
  r->slot = -1;
  int rc = p->host->auth->verify_password(login, password, ai, &user, &error);
  if (rc == CURSUS_OK && user.len > 0) {
    r->user = g_strdup(user.data);
    login_open_user(p, client, r);
  } else if (rc == CURSUS_TEMPFAIL) {
    p->host->log(p->ctx, CURSUS_LOG_WARNING, "cannot verify %s: %s", login,
                 error != NULL ? error : "directory unavailable");
    refused(r, LOGIN_TEMP_AUTH);
  } else {
    failed(p, client, login, r);
  }
  p->host->buf_free(&user);
}

void login_sasl_step(const login_policy *p, const svcaccess_client *client,
                     cursus_sasl *sasl, const char *response, size_t len,
                     login_result *r) {
  const char *user = NULL, *error = NULL;
  r->slot = -1;
  r->challenge.len = 0;
  r->final_data = false;
  int rc = p->host->auth->sasl_step(sasl, response, len, &r->challenge, &user,
                                    &error);
  switch (rc) {
  case CURSUS_AGAIN:
    r->outcome = LOGIN_AGAIN;
    break;
  case CURSUS_OK:
    r->user = g_strdup(user);
    if (r->challenge.len > 0) {
      /* server's final data (SCRAM): the client must accept it first */
      r->outcome = LOGIN_AGAIN;
      r->final_data = true;
    } else {
      login_open_user(p, client, r);
    }
    break;
  case CURSUS_TEMPFAIL:
    refused(r, LOGIN_TEMP_AUTH);
    break;
  default:
    if (rc == CURSUS_PERMFAIL)
      p->host->log(p->ctx, CURSUS_LOG_NOTICE, "SASL exchange failed: %s",
                   error != NULL ? error : "malformed");
    failed(p, client, user, r);
    break;
  }
}

void login_result_clear(const login_policy *p, login_result *r) {
  g_free(r->user);
  r->user = NULL;
  p->host->buf_free(&r->challenge);
}

void login_release(const login_policy *p, const char *user, int *slot,
                   cursus_store_user **store) {
  if (store != NULL && *store != NULL)
    p->host->store->ops->user_close(store);
  if (user != NULL && slot != NULL && *slot >= 0)
    userlimit_release(p->limits, user, *slot);
  if (slot != NULL)
    *slot = -1;
}

char *login_decode_b64(const char *text, size_t len, size_t *len_r) {
  *len_r = 0;
  if (len == 0)
    return g_strdup("");
  if (len % 4 != 0)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    bool pad = c == '=' && i + 2 >= len && (i + 1 == len || text[i + 1] == '=');
    if (!g_ascii_isalnum(c) && c != '+' && c != '/' && !pad)
      return NULL;
  }
  char *copy = g_strndup(text, len);
  gsize n = 0;
  g_base64_decode_inplace(copy, &n);
  copy[n] = '\0';
  *len_r = n;
  return copy;
}
