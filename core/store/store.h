/*
 * store.h - the message store as a service of the process (host->store)
 *
 * store_service_start finds the backend named by `[store] module`,
 * initialises it and plugs the cursus_store_access table into the host,
 * so protocol modules, the delivery channel and the tools never load a
 * store by name.  The backend's own open runs once, at the first call
 * that needs it (workers serving SMTP never pay for it), or at once when
 * EAGER.  Users are opened with their account: quota and partition from
 * the directory, the domain's defaults and [store] (account.h).
 *
 * Threads: after start, every call may run on any thread; start, refresh
 * and stop on the main thread only.
 */
#ifndef CURSUS_STORE_SERVICE_H
#define CURSUS_STORE_SERVICE_H

#include <stdbool.h>
#include <cursus/cursus.h>

struct config;
struct modreg;

/* store_service_start - the store of CFG as host->store; false with
 * *error_r (allocated) when the module is missing or (EAGER) the store
 * cannot be opened */
bool store_service_start(struct config *cfg, struct modreg *mods, bool eager,
                         char **error_r);
/* store_service_refresh - the configuration changed */
void store_service_refresh(struct config *cfg);
void store_service_stop(void);
/* store_running - host->store is available */
bool store_running(void);

/* store_ops - the backend's table (store_running first) */
const cursus_store_ops *store_ops(void);
/* store_backend - the opened backend, opening it when needed; NULL with
 * *error_r (static text) */
void *store_backend(const char **error_r);
/* store_user_open - host->store->user_open */
int store_user_open(const char *user, unsigned flags,
                    cursus_store_user **user_r, const char **error_r);
/* store_policy - host->store->quota_policy */
void store_policy(cursus_store_policy *p);
/* store_access - the table plugged into the host */
const cursus_store_access *store_access(void);

#endif
