/*
 * watcher.c - the supervising process (`cursus start`)
 *
 * Starts the dispatcher, the job controller and the store housekeeping
 * process and waits until each reports ready (a byte on a pipe) before
 * telling `cursus start` it succeeded; a child that dies during start-up
 * makes the start fail.  Afterwards it restarts a child that dies (waiting
 * longer each time it dies again soon, up to [watcher] restart_delay_max),
 * forwards refresh (SIGHUP) after checking the new configuration itself,
 * and on stop (SIGTERM) stops them all, killing what does not stop within
 * [watcher] stop_timeout.  Started as root it stays root, so a restarted
 * dispatcher can bind privileged ports again; the children drop privileges.
 */
#include "build-config.h"
#include "daemon.h"
#include "main/commands.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that lived this long is stable: its next death restarts it at
 * once. */
#define STABLE_AFTER_MS 30000
/* Longest wait for the children to report ready at start. */
#define START_TIMEOUT_MS 60000

typedef struct watcher watcher;

typedef struct child {
  watcher *w;
  const char *name; /* the cursus subcommand */
  pid_t pid;
  uint64_t started;
  unsigned delay_ms; /* before the next restart */
  bool ready;
  int ready_fd;
  ev_io *ready_io;
  ev_timer *restart;
} child;

struct watcher {
  daemon_ctx *d;
  child children[3];
  bool starting; /* still waiting for the first readiness of all */
  bool stopping;
  int exit_status;
  ev_timer *kill_timer;
  ev_timer *start_timer;
  int notify_fd;
};

static void start_failed(watcher *w, const char *why);

static void ready_close(child *c) {
  ev_io_free(&c->ready_io);
  if (c->ready_fd >= 0)
    close(c->ready_fd);
  c->ready_fd = -1;
}

static void check_all_ready(watcher *w) {
  if (!w->starting)
    return;
  for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
    if (!w->children[i].ready)
      return;
  w->starting = false;
  ev_timer_free(&w->start_timer);
  log_info("Cursus is running");
  proc_notify_parent(w->notify_fd, 0);
  w->notify_fd = -1;
}

static void on_ready(ev_io *io, unsigned events, void *data) {
  child *c = data;
  char b;
  ssize_t n = read(c->ready_fd, &b, 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  ready_close(c);
  if (n == 1) {
    c->ready = true;
    check_all_ready(c->w);
  }
  /* EOF: the child died before it was ready; on_child reports it */
}

static void child_start(watcher *w, child *c) {
  char *error = NULL;
  int fds[2];
  GPtrArray *argv = g_ptr_array_new();

  if (pipe2(fds, O_CLOEXEC) < 0) {
    log_error("cannot start %s: pipe: %s", c->name, g_strerror(errno));
    return;
  }
  g_ptr_array_add(argv, "cursus");
  g_ptr_array_add(argv, "--config");
  g_ptr_array_add(argv, (char *)w->d->cfg->dir);
  g_ptr_array_add(argv, "--ready-fd=3");
  if (w->d->log_stderr)
    g_ptr_array_add(argv, "--log-stderr");
  g_ptr_array_add(argv, (char *)c->name);
  g_ptr_array_add(argv, NULL);
  c->pid = proc_spawn_self((char *const *)argv->pdata, fds[1], &error);
  g_ptr_array_free(argv, TRUE);
  close(fds[1]);
  if (c->pid < 0) {
    log_error("cannot start %s: %s", c->name, error);
    g_free(error);
    close(fds[0]);
    c->pid = 0;
    return;
  }
  c->ready = false;
  c->ready_fd = fds[0];
  fcntl(c->ready_fd, F_SETFL, O_NONBLOCK);
  c->ready_io = ev_io_new(w->d->loop, c->ready_fd, EV_READ, on_ready, c);
  c->started = ev_monotonic_ms();
  log_info("started %s (pid %ld)", c->name, (long)c->pid);
}

static void restart_fire(ev_timer *t, void *data) {
  child *c = data;
  ev_timer_free(&c->restart);
  if (!c->w->stopping)
    child_start(c->w, c);
}

static void child_died(watcher *w, child *c, int status) {
  char how[96];
  if (WIFSIGNALED(status))
    snprintf(how, sizeof(how), "(pid %ld) was killed by signal %d",
             (long)c->pid, WTERMSIG(status));
  else
    snprintf(how, sizeof(how), "(pid %ld) exited with status %d", (long)c->pid,
             WEXITSTATUS(status));
  c->pid = 0;
  ready_close(c);
  if (w->stopping) {
    log_info("%s %s", c->name, how);
    return;
  }
  if (w->starting && !c->ready) {
    char *why = g_strdup_printf("%s %s during start-up", c->name, how);
    start_failed(w, why);
    g_free(why);
    return;
  }
  uint64_t lived = ev_monotonic_ms() - c->started;
  unsigned max_ms = (unsigned)conf_get_int(w->d->cfg->conf, "watcher",
                                           "restart_delay_max", 60) *
                    1000;
  if (lived >= STABLE_AFTER_MS)
    c->delay_ms = 0;
  else
    c->delay_ms = c->delay_ms == 0 ? 500 : MIN(c->delay_ms * 2, max_ms);
  log_warning("%s %s after %.1f s; restarting it in %.1f s", c->name, how,
              lived / 1000.0, c->delay_ms / 1000.0);
  c->restart = ev_timer_new(w->d->loop, c->delay_ms, restart_fire, c);
}

static void on_child(daemon_ctx *d) {
  watcher *w = d->data;
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
      if (w->children[i].pid == pid)
        child_died(w, &w->children[i], status);
  if (w->stopping) {
    for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
      if (w->children[i].pid != 0)
        return;
    ev_loop_stop(d->loop);
  }
}

static void kill_remaining(ev_timer *t, void *data) {
  watcher *w = data;
  ev_timer_free(&w->kill_timer);
  for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
    if (w->children[i].pid != 0) {
      log_warning("%s (pid %ld) did not stop in time: killing it",
                  w->children[i].name, (long)w->children[i].pid);
      kill(w->children[i].pid, SIGKILL);
    }
}

static void stop_all(watcher *w) {
  daemon_ctx *d = w->d;
  bool any = false;
  if (w->stopping)
    return;
  w->stopping = true;
  for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++) {
    child *c = &w->children[i];
    ev_timer_free(&c->restart);
    if (c->pid != 0) {
      kill(c->pid, SIGTERM);
      any = true;
    }
  }
  if (!any) {
    ev_loop_stop(d->loop);
    return;
  }
  unsigned timeout =
      (unsigned)conf_get_int(d->cfg->conf, "watcher", "stop_timeout", 10);
  w->kill_timer =
      ev_timer_new(d->loop, (uint64_t)timeout * 1000, kill_remaining, w);
}

static void start_failed(watcher *w, const char *why) {
  log_error("start failed: %s; see the log in %s", why, w->d->cfg->log_dir);
  if (w->notify_fd >= 0) {
    /* the starting terminal still has our stderr */
    if (!w->d->log_stderr)
      dprintf(proc_startup_stderr(), "cursus: start failed: %s (see %s)\n",
              why, w->d->cfg->log_dir);
    /* `cursus start` is told once everything stopped (watcher_main), so
     * a status right after it finds nothing running */
  }
  w->starting = false;
  w->exit_status = 1;
  stop_all(w);
}

static void start_timeout(ev_timer *t, void *data) {
  watcher *w = data;
  ev_timer_free(&w->start_timer);
  GString *slow = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
    if (!w->children[i].ready)
      g_string_append_printf(slow, "%s%s", slow->len ? ", " : "",
                             w->children[i].name);
  char *why = g_strdup_printf("not ready after %d s: %s",
                              START_TIMEOUT_MS / 1000, slow->str);
  start_failed(w, why);
  g_free(why);
  g_string_free(slow, TRUE);
}

static void on_stop(daemon_ctx *d) { stop_all(d->data); }

static void on_refresh(daemon_ctx *d) {
  watcher *w = d->data;
  for (size_t i = 0; i < G_N_ELEMENTS(w->children); i++)
    if (w->children[i].pid != 0)
      kill(w->children[i].pid, SIGHUP);
}

int watcher_main(cmd_ctx *ctx, int notify_fd) {
  daemon_ctx d = {
      .name = "watcher",
      .process = CURSUS_PROC_WATCHER,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .on_stop = on_stop,
      .on_refresh = on_refresh,
      .on_child = on_child,
  };
  static const char *const names[] = {"dispatcher", "job-controller",
                                      "stored"};
  watcher w = {.d = &d, .notify_fd = notify_fd, .starting = true};
  for (size_t i = 0; i < G_N_ELEMENTS(w.children); i++) {
    w.children[i].w = &w;
    w.children[i].name = names[i];
    w.children[i].ready_fd = -1;
  }
  d.data = &w;

  daemon_start(&d);
  /* orphans of a dying dispatcher (its workers) come to us, not to init */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  log_info("Cursus %s starting (module ABI %d.%d, configuration %s)",
           PACKAGE_VERSION, CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR, d.cfg->dir);
  for (guint i = 0; i < d.mods->modules->len; i++) {
    module *m = d.mods->modules->pdata[i];
    if (!m->used)
      log_info("module %s (%s) is installed but not used by the "
               "configuration: not initialised",
               m->desc->name, m->path);
  }
  for (guint i = 0; i < d.mods->refused->len; i++) {
    const module_refusal *r = d.mods->refused->pdata[i];
    log_warning("%s: %s", r->path, r->reason);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(w.children); i++)
    child_start(&w, &w.children[i]);
  w.start_timer = ev_timer_new(d.loop, START_TIMEOUT_MS, start_timeout, &w);
  ev_loop_run(d.loop);
  for (size_t i = 0; i < G_N_ELEMENTS(w.children); i++) {
    ev_timer_free(&w.children[i].restart);
    ready_close(&w.children[i]);
  }
  ev_timer_free(&w.kill_timer);
  ev_timer_free(&w.start_timer);
  log_info("Cursus stopped");
  daemon_finish(&d);
  if (w.notify_fd >= 0)
    proc_notify_parent(w.notify_fd, 1);
  return w.exit_status;
}
