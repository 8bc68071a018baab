/*
 * job_controller.c - the job controller process
 *
 * Runs under the watcher.  It knows every queued message and runs the
 * master channel jobs that deliver them (docs/job-controller.md).
 */
#include "build-config.h"
#include "daemon.h"
#include "main/commands.h"
#include "util/log.h"
#include "util/proc.h"

int cmd_job_controller(cmd_ctx *ctx) {
  daemon_ctx d = {
      .name = "job-controller",
      .process = CURSUS_PROC_JOB_CONTROLLER,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = ctx->ready_fd,
  };
  char *error = NULL;
  daemon_start(&d);
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  log_info("job controller ready (%u channel(s), %u pool(s))",
           d.cfg->imta->channels->len, d.cfg->jobc->pools->len);
  daemon_ready(&d);
  ev_loop_run(d.loop);
  daemon_finish(&d);
  return 0;
}
