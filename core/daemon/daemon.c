/*
 * daemon.c - common start-up and signal handling of the daemons
 */
#include "build-config.h"
#include "daemon.h"
#include "config/bundle.h"
#include "module/host.h"
#include "module/hostdns.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

char *daemon_pidfile(const config *cfg, const char *name) {
  char *file = g_strdup_printf("%s.pid", name);
  char *path = g_build_filename(cfg->run_dir, file, NULL);
  g_free(file);
  return path;
}

/* give_to_server_user - when root, hand PATH to the server user so the
 * processes that drop privileges can use it */
static void give_to_server_user(const config *cfg, const char *path) {
  uid_t uid;
  gid_t gid;
  if (geteuid() != 0 || cfg->server_user == NULL ||
      strcmp(cfg->server_user, "root") == 0 ||
      !proc_user_ids(cfg->server_user, &uid, &gid))
    return;
  if (chown(path, uid, gid) < 0)
    log_warning("cannot give %s to user %s: %s", path, cfg->server_user,
                g_strerror(errno));
}

bool daemon_open_log(const config *cfg, const char *name, bool log_stderr,
                     char **error_r) {
  const char *file = conf_get(cfg->conf, "log", "file");
  unsigned targets = log_stderr ? LOG_TARGET_STDERR : 0;
  char *path = NULL;
  const char *err = NULL;
  int level = log_level_parse(conf_get(cfg->conf, "log", "level"));

  if (level >= 0)
    log_set_level((cursus_log_level)level);
  if (file != NULL && *file != '\0') {
    path = fs_path_join(cfg->log_dir, file);
    targets |= LOG_TARGET_FILE;
  }
  if (conf_get_bool(cfg->conf, "log", "syslog", false))
    targets |= LOG_TARGET_SYSLOG;
  if (targets == 0)
    targets = LOG_TARGET_SYSLOG;
  bool ok = log_open(targets, path, &err);
  if (!ok)
    *error_r = g_strdup(err);
  else if (path != NULL)
    give_to_server_user(cfg, path);
  g_free(path);
  return ok;
}

bool daemon_prepare_dirs(const config *cfg, char **error_r) {
  const char *dirs[] = {cfg->state_dir, cfg->queue_dir, cfg->store_dir,
                        cfg->log_dir, cfg->run_dir};
  uid_t uid = 0;
  gid_t gid = 0;
  bool chown_them = geteuid() == 0 && cfg->server_user != NULL &&
                    strcmp(cfg->server_user, "root") != 0;
  if (chown_them && !proc_user_ids(cfg->server_user, &uid, &gid)) {
    *error_r = g_strdup_printf("user %s does not exist: create it or set "
                               "[server] user in %s",
                               cfg->server_user, cfg->conf_path);
    return false;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
    if (!fs_mkdir_p(dirs[i], 0750, error_r))
      return false;
    if (chown_them && chown(dirs[i], uid, gid) < 0) {
      *error_r = g_strdup_printf("cannot give %s to user %s: %s", dirs[i],
                                 cfg->server_user, g_strerror(errno));
      return false;
    }
  }
  return true;
}

static void on_term(int signo, void *data) {
  daemon_ctx *d = data;
  log_info("%s: stopping (signal %d)", d->name, signo);
  if (d->on_stop != NULL)
    d->on_stop(d);
  else
    ev_loop_stop(d->loop);
}

static void on_hup(int signo, void *data) { daemon_refresh(data); }

static void on_chld(int signo, void *data) {
  daemon_ctx *d = data;
  if (d->on_child != NULL)
    d->on_child(d);
}

/* config_source - where this process reads its configuration from: the
 * watcher reads the files (recording them); everyone else the bundle the
 * watcher saved */
static void config_source(daemon_ctx *d) {
  const char *bundle = g_getenv(BUNDLE_ENV);
  char *error = NULL;
  if (d->process == CURSUS_PROC_WATCHER) {
    bundle_record();
  } else if (bundle != NULL && *bundle != '\0' &&
             !bundle_load(bundle, &error)) {
    log_fatal("%s", error);
  }
}

/* save_bundle - the watcher freezes an accepted configuration */
static void save_bundle(daemon_ctx *d) {
  char *error = NULL;
  if (d->process != CURSUS_PROC_WATCHER)
    return;
  char *path = g_build_filename(d->cfg->run_dir, "config.bundle", NULL);
  if (!fs_mkdir_p(d->cfg->run_dir, 0750, &error) ||
      !bundle_save(path, &error))
    log_fatal("%s", error);
  give_to_server_user(d->cfg, path);
  g_setenv(BUNDLE_ENV, path, TRUE);
  g_free(path);
}

void daemon_refresh(daemon_ctx *d) {
  diag *dg = diag_new();
  config_source(d);
  config *cfg = config_load(d->config_dir, d->process, &d->mods, dg);
  log_reopen();
  if (cfg == NULL || diag_has_errors(dg)) {
    diag_log(dg);
    log_error("%s: refresh refused: the new configuration has %u error(s); "
              "still running on the previous one",
              d->name, dg->errors);
    config_unref(&cfg);
    diag_free(&dg);
    return;
  }
  diag_log(dg);
  diag_free(&dg);
  config_set_current(cfg);
  config_unref(&d->cfg);
  d->cfg = cfg;
  save_bundle(d);
  char *error = NULL;
  if (!daemon_open_log(cfg, d->name, d->log_stderr, &error)) {
    log_error("%s", error);
    g_free(error);
  }
  store_service_refresh(cfg);
  log_info("%s: configuration reloaded", d->name);
  if (d->on_refresh != NULL)
    d->on_refresh(d);
}

/* start_store - host->store for the processes that serve users; the
 * backend opens at its first use (after privileges are dropped) */
static void start_store(daemon_ctx *d) {
  char *error = NULL;
  if (!(d->process & (CURSUS_PROC_WORKER | CURSUS_PROC_CHANNEL_JOB |
                      CURSUS_PROC_STORED)))
    return;
  const char *name = conf_get(d->cfg->conf, "store", "module");
  if (name == NULL || modreg_find(d->mods, name) == NULL)
    return; /* no store here: host->store stays NULL */
  if (!store_service_start(d->cfg, d->mods, false, &error)) {
    log_warning("%s: %s", d->name, error);
    g_free(error);
  }
}

void daemon_start(daemon_ctx *d) {
  char *error = NULL;
  diag *dg = diag_new();

  log_init(d->name);
  proc_set_name(d->name);
  signal(SIGPIPE, SIG_IGN);
  /* before the configuration: its checks may open mapping sources */
  host_init(d->process);
  config_source(d);
  d->cfg = config_load(d->config_dir, d->process, &d->mods, dg);
  if (d->mods != NULL)
    d->mods->process = d->process;
  if (d->cfg == NULL || diag_has_errors(dg)) {
    diag_log(dg);
    log_fatal("%s: the configuration in %s has %u error(s); not starting "
              "(run `cursus config check`)",
              d->name, d->config_dir, dg->errors);
  }
  diag_free(&dg);
  config_set_current(d->cfg);
  if (!daemon_open_log(d->cfg, d->name, d->log_stderr, &error))
    log_fatal("%s", error);
  save_bundle(d);
  if (!fs_mkdir_p(d->cfg->run_dir, 0750, &error))
    log_fatal("%s", error);
  if (!d->no_pidfile) {
    d->pidfile = daemon_pidfile(d->cfg, d->name);
    if (!proc_pidfile_write(d->pidfile, &error))
      log_fatal("%s", error);
  }
  d->loop = ev_loop_new();
  if (d->loop == NULL)
    log_fatal("cannot create the event loop");
  host_set_loop(d->loop);
  ev_signal(d->loop, SIGTERM, on_term, d);
  ev_signal(d->loop, SIGINT, on_term, d);
  ev_signal(d->loop, SIGHUP, on_hup, d);
  ev_signal(d->loop, SIGCHLD, on_chld, d);
  start_store(d);
}

void daemon_ready(daemon_ctx *d) {
  if (d->ready_fd < 0)
    return;
  char ok = 1;
  ssize_t n = write(d->ready_fd, &ok, 1);
  (void)n;
  close(d->ready_fd);
  d->ready_fd = -1;
}

void daemon_finish(daemon_ctx *d) {
  if (d->pidfile != NULL)
    proc_pidfile_remove(d->pidfile);
  g_free(d->pidfile);
  d->pidfile = NULL;
  hostdns_shutdown();
  store_service_stop();
  config_set_current(NULL);
  config_unref(&d->cfg);
  modreg_free(&d->mods);
  ev_loop_free(&d->loop);
}
