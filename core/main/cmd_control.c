/*
 * cmd_control.c - `cursus start | stop | status | refresh`
 */
#include "build-config.h"
#include "commands.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const process_names[] = {"watcher", "dispatcher",
                                            "job-controller", "stored"};

/* control_config - the configuration, checked; NULL after printing errors */
static config *control_config(cmd_ctx *ctx, modreg **mods_r) {
  return cmd_load_config(ctx, CURSUS_PROC_TOOL, mods_r, false);
}

int cmd_start(cmd_ctx *ctx) {
  modreg *mods = NULL;
  char *error = NULL;
  for (int i = 1; i < ctx->argc; i++) {
    fprintf(stderr, "usage: cursus [--config DIR] start [--foreground]\n");
    return 2;
  }
  config *cfg = control_config(ctx, &mods);
  if (cfg == NULL)
    return 1;
  if (!daemon_prepare_dirs(cfg, &error)) {
    fprintf(stderr, "cursus: %s\n", error);
    return 1;
  }
  char *pidfile = daemon_pidfile(cfg, "watcher");
  pid_t pid = proc_pidfile_read(pidfile);
  g_free(pidfile);
  if (pid > 0) {
    fprintf(stderr, "cursus: already running (watcher pid %ld)\n", (long)pid);
    return 1;
  }
  /* the watcher loads everything again for itself */
  char *dir = g_strdup(cfg->dir);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  ctx->config_dir = dir;

  int notify_fd = -1, status;
  if (!ctx->foreground && !proc_daemonize(&notify_fd, &error)) {
    fprintf(stderr, "cursus: %s\n", error);
    g_free(dir);
    return 1;
  }
  status = watcher_main(ctx, notify_fd);
  g_free(dir);
  return status;
}

/* wait_gone - wait up to SECONDS for PID to exit */
static bool wait_gone(pid_t pid, unsigned seconds) {
  for (unsigned i = 0; i < seconds * 20; i++) {
    if (kill(pid, 0) < 0 && errno == ESRCH)
      return true;
    g_usleep(50000);
  }
  return false;
}

/* watcher_pid - the running watcher's pid, or 0; prints nothing */
static pid_t watcher_pid(cmd_ctx *ctx, config **cfg_r, modreg **mods_r) {
  diag *d = diag_new();
  *mods_r = NULL;
  *cfg_r = config_load(ctx->config_dir, CURSUS_PROC_ANY, mods_r, d);
  if (*cfg_r == NULL)
    diag_print(d, stderr);
  diag_free(&d);
  if (*cfg_r == NULL)
    return 0;
  char *pidfile = daemon_pidfile(*cfg_r, "watcher");
  pid_t pid = proc_pidfile_read(pidfile);
  g_free(pidfile);
  return pid;
}

int cmd_stop(cmd_ctx *ctx) {
  config *cfg;
  modreg *mods;
  pid_t pid = watcher_pid(ctx, &cfg, &mods);
  int status = 0;
  if (cfg == NULL) {
    fprintf(stderr, "cursus: cannot read the configuration in %s\n",
            ctx->config_dir);
    return 1;
  }
  if (pid == 0) {
    printf("cursus is not running\n");
  } else {
    unsigned timeout =
        (unsigned)conf_get_int(cfg->conf, "watcher", "stop_timeout", 10);
    kill(pid, SIGTERM);
    if (wait_gone(pid, timeout + 5)) {
      printf("cursus stopped\n");
    } else {
      fprintf(stderr, "cursus: the watcher (pid %ld) did not stop within %u s\n",
              (long)pid, timeout + 5);
      status = 1;
    }
  }
  config_unref(&cfg);
  modreg_free(&mods);
  return status;
}

int cmd_status(cmd_ctx *ctx) {
  config *cfg;
  modreg *mods;
  int status = 0;
  pid_t wpid = watcher_pid(ctx, &cfg, &mods);
  if (cfg == NULL) {
    fprintf(stderr, "cursus: cannot read the configuration in %s\n",
            ctx->config_dir);
    return 4;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(process_names); i++) {
    char *pidfile = daemon_pidfile(cfg, process_names[i]);
    pid_t pid = proc_pidfile_read(pidfile);
    g_free(pidfile);
    if (pid > 0) {
      printf("%-16s running (pid %ld)\n", process_names[i], (long)pid);
    } else {
      printf("%-16s not running\n", process_names[i]);
      if (status == 0)
        status = wpid == 0 ? 3 : 1;
    }
  }
  config_unref(&cfg);
  modreg_free(&mods);
  return wpid == 0 ? 3 : status;
}

int cmd_refresh(cmd_ctx *ctx) {
  modreg *mods = NULL;
  config *cfg = control_config(ctx, &mods);
  if (cfg == NULL) {
    fprintf(stderr, "cursus: refresh not sent: fix the errors above first\n");
    return 1;
  }
  char *pidfile = daemon_pidfile(cfg, "watcher");
  pid_t pid = proc_pidfile_read(pidfile);
  g_free(pidfile);
  config_unref(&cfg);
  modreg_free(&mods);
  if (pid == 0) {
    fprintf(stderr, "cursus: not running\n");
    return 1;
  }
  kill(pid, SIGHUP);
  printf("refresh sent to the watcher (pid %ld)\n", (long)pid);
  return 0;
}
