/*
 * daemon.h - what every long-lived process does the same way: load and
 * check the configuration, open the log, write its pid file, run an event
 * loop, stop on SIGTERM, reload on SIGHUP (keeping the old configuration
 * when the new one has errors)
 */
#ifndef CURSUS_DAEMON_H
#define CURSUS_DAEMON_H

#include <stdbool.h>
#include "config/config.h"
#include "util/ev.h"

typedef struct daemon_ctx daemon_ctx;

struct daemon_ctx {
  const char *name;   /* "dispatcher": log name and pid file name */
  unsigned process;   /* enum cursus_process */
  const char *config_dir;
  bool log_stderr;    /* also log to stderr (foreground) */
  int ready_fd;       /* written to once ready (see daemon_ready), or -1 */
  bool no_pidfile;    /* one of many (workers, channel jobs) */
  config *cfg;        /* current configuration (also config_current()) */
  modreg *mods;
  ev_loop *loop;
  char *pidfile;
  /* called with the new, checked configuration after it became current */
  void (*on_refresh)(daemon_ctx *d);
  /* called on SIGTERM/SIGINT; default: stop the loop */
  void (*on_stop)(daemon_ctx *d);
  /* called on SIGCHLD, when set */
  void (*on_child)(daemon_ctx *d);
  void *data;
};

/* daemon_start - everything up to a running loop; exits the process on a
 * configuration or resource failure */
void daemon_start(daemon_ctx *d);
/* daemon_open_log - log per [log] of CFG (file in log_dir, syslog), plus
 * stderr when LOG_STDERR */
bool daemon_open_log(const config *cfg, const char *name, bool log_stderr,
                     char **error_r);
/* daemon_ready - tell the watcher this process is ready to serve */
void daemon_ready(daemon_ctx *d);
/* daemon_refresh - reload now (what SIGHUP does) */
void daemon_refresh(daemon_ctx *d);
/* daemon_finish - remove the pid file and free everything */
void daemon_finish(daemon_ctx *d);
/* daemon_prepare_dirs - create the data directories of CFG owned by the
 * server user (when run as root) */
bool daemon_prepare_dirs(const config *cfg, char **error_r);
/* daemon_pidfile - RUN_DIR/NAME.pid; newly allocated */
char *daemon_pidfile(const config *cfg, const char *name);

#endif
