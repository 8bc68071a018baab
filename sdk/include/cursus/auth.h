/*
 * cursus/auth.h - authentication: SASL mechanisms (auth-method modules)
 * and the host's user verification
 *
 * Two sides:
 *  - An auth-method module (kind CURSUS_KIND_AUTH) implements SASL
 *    mechanisms (auth_sasl uses GNU SASL for PLAIN, LOGIN, SCRAM-SHA-256).
 *    It never reads the directory itself: it asks the host to verify a
 *    password or to hand out a user's SCRAM secrets.
 *  - Protocol modules (SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH) never call
 *    an auth module by name: they ask the host (host->auth) which runs the
 *    exchange with whichever module offers the mechanism.
 *
 * Identities: a login name is what the client typed ("joe" or
 * "joe@example.com"); the host resolves it in the directory (hosted
 * domains, the default domain) to the canonical user id returned in
 * `user` buffers.  All strings are UTF-8.
 */
#ifndef CURSUS_AUTH_H
#define CURSUS_AUTH_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Facts about the client an authentication decision may depend on. */
typedef struct cursus_auth_info {
  const char *service;   /* "smtp", "submission", "imap", "pop3", "http" */
  const char *remote_ip; /* client address */
  int tls;               /* 1 when the connection is encrypted */
} cursus_auth_info;

/* One SASL exchange in progress (owned by the host). */
typedef struct cursus_sasl cursus_sasl;

/* What auth-method modules provide. */
typedef struct cursus_auth_ops {
  uint32_t size;
  /* SASL mechanism names offered, e.g. {"PLAIN", "LOGIN", NULL}. */
  const char *const *mechanisms;
  /* True when MECH may be offered in this situation (e.g. PLAIN only over
   * TLS unless the admin allows otherwise).  May be NULL (always). */
  int (*mechanism_allowed)(cursus_module_ctx *ctx, const char *mech,
                           const cursus_auth_info *info);
  /* Starts a server exchange for MECH; state in *exchange_r. */
  int (*start)(cursus_module_ctx *ctx, const char *mech,
               const cursus_auth_info *info, void **exchange_r,
               const char **error_r);
  /* One step: IN is the client's decoded response (NULL before the first
   * response when the mechanism speaks first).  Append the next decoded
   * challenge to OUT.  Returns CURSUS_AGAIN (send OUT, expect more),
   * CURSUS_OK (authenticated: *user_r set, valid until finish; OUT may hold
   * final server data), CURSUS_NONE (credentials wrong), CURSUS_PERMFAIL
   * (malformed exchange), CURSUS_TEMPFAIL (directory unavailable). */
  int (*step)(void *exchange, const char *in, size_t in_len, cursus_buf *out,
              const char **user_r, const char **error_r);
  void (*finish)(void *exchange);
  /* --- members added after ABI 1.0 go here --- */
} cursus_auth_ops;

/* Authentication as a host service (host->auth). */
typedef struct cursus_auth_access {
  uint32_t size;

  /* --- used by auth-method modules: the directory's answers --- */
  /* Verifies PASSWORD for LOGIN.  CURSUS_OK with the canonical user id
   * appended to USER; CURSUS_NONE when the login or password is wrong or
   * the account may not log in; CURSUS_TEMPFAIL when the directory cannot
   * answer. */
  int (*verify_password)(const char *login, const char *password,
                         const cursus_auth_info *info, cursus_buf *user,
                         const char **error_r);
  /* The stored SCRAM secrets of LOGIN for MECH ("SCRAM-SHA-256"), as
   * "iterations:salt:StoredKey:ServerKey" (salt and keys in base64, RFC
   * 5802), and the canonical user id.  CURSUS_NONE when the account has
   * none (the mechanism is then refused for it). */
  int (*scram_secret)(const char *login, const char *mech,
                      const cursus_auth_info *info, cursus_buf *secret,
                      cursus_buf *user, const char **error_r);

  /* --- used by protocol modules: run SASL through the auth modules --- */
  /* Space-separated mechanism names that may be offered now. */
  const char *(*mechanisms)(const cursus_auth_info *info);
  /* Starts an exchange for MECH; NULL with *error_r when no module offers
   * it (reply "unrecognized mechanism"). */
  cursus_sasl *(*sasl_start)(const char *mech, const cursus_auth_info *info,
                             const char **error_r);
  /* A step with the client's *decoded* response (see step above); the
   * decoded challenge is appended to OUT. */
  int (*sasl_step)(cursus_sasl *sasl, const char *in, size_t in_len,
                   cursus_buf *out, const char **user_r, const char **error_r);
  void (*sasl_finish)(cursus_sasl **sasl);
  /* Records a failed login for LOGIN from REMOTE_IP and returns how many
   * milliseconds to wait before answering (slows password guessing). */
  unsigned (*login_failed)(const char *login, const char *remote_ip);
  /* --- members added after ABI 1.0 go here --- */
} cursus_auth_access;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_AUTH_H */
