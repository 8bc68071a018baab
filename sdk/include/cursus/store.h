/*
 * cursus/store.h - message store backends
 *
 * A store backend keeps users' mailboxes.  IMAP, POP3, HTTP and the
 * delivery channel reach it only through these operations.
 * (ABI 0.x: this table is being completed with the message store.)
 */
#ifndef CURSUS_STORE_H
#define CURSUS_STORE_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cursus_store_ops {
  uint32_t size;
  /* Opens the store with the module's settings; once per process. */
  int (*open)(cursus_module_ctx *ctx, void **store_r, const char **error_r);
  void (*close)(void *store);
  /* --- members added after ABI 0.1 go here --- */
} cursus_store_ops;

/* Access to the configured store backend (host->store). */
typedef struct cursus_store_access {
  uint32_t size;
  /* --- members added after ABI 0.1 go here --- */
} cursus_store_access;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_STORE_H */
