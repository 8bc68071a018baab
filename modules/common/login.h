/*
 * login.h - the part of logging in that IMAP and POP3 share: checking a
 * password or running a SASL step through host->auth, and, once the user
 * is known, the access filter with the login name, the per-user session
 * limit and opening the user's store
 *
 * Every function here may wait for the directory or the disk: call them
 * on a host thread (host->run_blocking).  The protocol turns the outcome
 * into its own reply (NO [AUTHENTICATIONFAILED], -ERR [AUTH] ...) and,
 * for LOGIN_FAILED, answers only after delay_ms.
 *
 * Needs the SDK (auth, store), svcaccess and userlimit, GLib.
 */
#ifndef LOGIN_H
#define LOGIN_H

#include <stdbool.h>
#include <cursus/cursus.h>
#include "svcaccess.h"
#include "userlimit.h"

typedef enum login_outcome {
  LOGIN_OK,      /* user known and allowed; the store user is open     */
  LOGIN_FAILED,  /* wrong credentials: wait delay_ms, then refuse      */
  LOGIN_REFUSED, /* right credentials, but not now: see `why`          */
  LOGIN_AGAIN,   /* SASL: send `challenge`, read the next response      */
} login_outcome;

/* Why a known user was refused. */
typedef enum login_refusal {
  LOGIN_DENIED,      /* the access filter refuses the user             */
  LOGIN_TOO_MANY,    /* the per-user session limit is reached          */
  LOGIN_NO_STORE,    /* no store backend, or the store cannot answer   */
  LOGIN_NO_MAILBOX,  /* the user has no mailbox                        */
  LOGIN_TEMP_AUTH,   /* the directory could not answer                 */
} login_refusal;

/* What a protocol module gives the login steps. */
typedef struct login_policy {
  const cursus_host *host;
  cursus_module_ctx *ctx;   /* for log lines */
  const char *service;      /* "imap", "pop3" (cursus_auth_info.service) */
  const svcaccess *access;  /* filters, or NULL */
  userlimit *limits;        /* session counter, or NULL */
} login_policy;

typedef struct login_result {
  login_outcome outcome;
  login_refusal why;
  char *user;                  /* canonical user id (g_free)           */
  cursus_store_user *store;    /* LOGIN_OK: the user's store session   */
  int slot;                    /* LOGIN_OK: session slot, or -1        */
  unsigned delay_ms;           /* LOGIN_FAILED: answer after this      */
  bool final_data;             /* SASL success with server data in
                                  `challenge` for the client to accept  */
  cursus_buf challenge;        /* SASL data for the client (decoded)   */
} login_result;

/* login_password - LOGIN / USER+PASS; CLIENT->user is left untouched */
void login_password(const login_policy *p, const svcaccess_client *client,
                    const cursus_auth_info *ai, const char *login,
                    const char *password, login_result *r);

/* login_sasl_step - one step of SASL exchange SASL with the client's
 * decoded RESPONSE (NULL for none yet) */
void login_sasl_step(const login_policy *p, const svcaccess_client *client,
                     cursus_sasl *sasl, const char *response, size_t len,
                     login_result *r);

/* login_open_user - the checks and the store once R->user is known (after
 * the client accepted SASL final data) */
void login_open_user(const login_policy *p, const svcaccess_client *client,
                     login_result *r);

/* login_result_clear - free what R holds, except r->store and the slot,
 * which the session keeps after LOGIN_OK */
void login_result_clear(const login_policy *p, login_result *r);

/* login_decode_b64 - strict base64 (RFC 4648 with padding) as SASL wants
 * it; NULL when malformed.  *len_r gets the decoded length. */
char *login_decode_b64(const char *text, size_t len, size_t *len_r);

/* login_release - give back a session's slot and close its store user */
void login_release(const login_policy *p, const char *user, int *slot,
                   cursus_store_user **store);

#endif
