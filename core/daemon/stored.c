/*
 * stored.c - the store housekeeping process
 *
 * Runs under the watcher: quota warnings, expiry and snapshots of the
 * message store on their schedules (docs/store.md).
 */
#include "build-config.h"
#include "daemon.h"
#include "main/commands.h"
#include "util/log.h"
#include "util/proc.h"

int cmd_stored(cmd_ctx *ctx) {
  daemon_ctx d = {
      .name = "stored",
      .process = CURSUS_PROC_STORED,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = ctx->ready_fd,
  };
  char *error = NULL;
  daemon_start(&d);
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  log_info("store housekeeping ready");
  daemon_ready(&d);
  ev_loop_run(d.loop);
  daemon_finish(&d);
  return 0;
}
