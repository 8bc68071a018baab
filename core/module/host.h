/*
 * host.h - the host table handed to modules, and module initialisation
 *
 * One table per process.  Processes that offer more (a worker's connection
 * I/O, a channel job's queue access) plug their sub-tables in before
 * initialising modules.
 */
#ifndef CURSUS_HOST_IMPL_H
#define CURSUS_HOST_IMPL_H

#include <stdbool.h>
#include <cursus/cursus.h>
#include "loader.h"
#include "util/ev.h"

struct cursus_module_ctx {
  module *mod;
  char *log_prefix;
};

/* host_init - fill the process's table for PROCESS (enum cursus_process);
 * the lookup sub-table installed before (host_set_lookup) stays */
void host_init(unsigned process);
/* host_table - the table (host_init first) */
const cursus_host *host_table(void);
/* host_set_loop - the event loop behind io_watch, timers, run_blocking */
void host_set_loop(ev_loop *loop);
/* host_get_loop - that loop, or NULL */
ev_loop *host_get_loop(void);
/* host_stop_blocking - wait for run_blocking work; completions stay
 * posted to the loop */
void host_stop_blocking(void);
void host_set_conn(const cursus_conn_ops *ops);
void host_set_queue(const cursus_queue_ops *ops);
void host_set_lookup(const cursus_lookup_ops *ops);
void host_set_store(const cursus_store_access *ops);
void host_set_auth(const cursus_auth_access *ops);
void host_set_directory(const cursus_directory_access *ops);

/* module_init - create M's context and call its init; false with
 * *error_r (allocated) when init fails */
bool module_init(module *m, char **error_r);
/* modules_init - initialise every used module that provides one of KINDS
 * (0 = any) and may run in this process; the first failure is fatal to the
 * process when FATAL, else logged.  Returns false on a failure. */
bool modules_init(modreg *reg, uint32_t kinds, bool fatal);

#endif
