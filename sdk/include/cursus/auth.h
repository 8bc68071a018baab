/*
 * cursus/auth.h - authentication methods (SASL mechanisms)
 * (ABI 0.x: this table is being completed with the access protocols.)
 */
#ifndef CURSUS_AUTH_H
#define CURSUS_AUTH_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cursus_auth_ops {
  uint32_t size;
  /* SASL mechanism names offered, e.g. {"PLAIN", "LOGIN", NULL}. */
  const char *const *mechanisms;
  /* --- members added after ABI 0.1 go here --- */
} cursus_auth_ops;

/* Authentication of users as a host service (host->auth). */
typedef struct cursus_auth_access {
  uint32_t size;
  /* --- members added after ABI 0.1 go here --- */
} cursus_auth_access;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_AUTH_H */
