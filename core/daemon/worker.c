/*
 * worker.c - a server worker process: serves the connections the
 * dispatcher hands it with the service's protocol module
 *
 * Started by the dispatcher as `cursus worker SERVICE` with the hand-off
 * socket on descriptor 3.  Runs every connection on one event loop.  On
 * RETIRE (or when the dispatcher goes away) it takes no more connections,
 * tells its sessions (CURSUS_EVENT_SHUTDOWN) and exits once they are gone;
 * on SIGTERM it closes them and exits.
 */
#include "build-config.h"
#include "auth/auth.h"
#include "conn.h"
#include "dir/dir.h"
#include "daemon.h"
#include "handoff.h"
#include "main/commands.h"
#include "module/host.h"
#include "queue/hostq.h"
#include "queue/qconfig.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define CTL_FD 3
/* How long sessions may take to end on SIGTERM. */
#define STOP_GRACE_MS 3000

typedef struct worker_state {
  daemon_ctx *d;
  GArray *unsent; /* handoff_msg the dispatcher could not take yet */
  disp_service *svc;
  module *mod;
  tls_ctx *tls;
  ev_io *ctl_io;
  bool retiring;
  bool stopping;
  ev_timer *exit_timer;
} worker_state;

static worker_state ws;

typedef struct conn_tag {
  uint64_t id;
} conn_tag;

static void maybe_exit(void) {
  if ((ws.retiring || ws.stopping) && conn_count() == 0 &&
      (ws.unsent->len == 0 || ws.ctl_io == NULL))
    ev_loop_stop(ws.d->loop);
}

/* flush_unsent - send queued CLOSED messages; the dispatcher's counts
 * depend on every one of them arriving */
static void flush_unsent(void) {
  guint sent = 0;
  while (sent < ws.unsent->len) {
    handoff_msg *m = &g_array_index(ws.unsent, handoff_msg, sent);
    if (send(CTL_FD, m, sizeof(*m), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == EINTR)
        break;
      log_warning("cannot tell the dispatcher a connection ended: %s",
                  g_strerror(errno));
      g_array_set_size(ws.unsent, 0);
      sent = 0;
      break;
    }
    sent++;
  }
  g_array_remove_range(ws.unsent, 0, sent);
  /* wait for room when the dispatcher is behind */
  if (ws.ctl_io != NULL)
    ev_io_set(ws.ctl_io, EV_READ | (ws.unsent->len > 0 ? EV_WRITE : 0));
}

static void on_conn_closed(void *data) {
  conn_tag *tag = data;
  handoff_msg msg = {.type = HANDOFF_CLOSED, .id = tag->id};
  g_free(tag);
  if (ws.ctl_io != NULL) {
    g_array_append_val(ws.unsent, msg);
    flush_unsent();
  }
  maybe_exit();
}

static const char *service_option(const char *key, void *data) {
  return disp_service_option(ws.d->cfg->disp, ws.svc, key);
}

static void retire(const char *why) {
  if (ws.retiring)
    return;
  ws.retiring = true;
  log_info("retiring (%s); %u connection(s) to finish", why, conn_count());
  conn_shutdown_all();
  maybe_exit();
}

static void on_ctl(ev_io *io, unsigned events, void *data) {
  if (events & EV_WRITE) {
    flush_unsent();
    maybe_exit();
    if (!(events & EV_READ))
      return;
  }
  for (;;) {
    handoff_msg msg;
    int fd = -1;
    int rc = handoff_recv(CTL_FD, &msg, &fd);
    if (rc < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (rc <= 0) {
      ev_io_free(&ws.ctl_io);
      g_array_set_size(ws.unsent, 0);
      retire("the dispatcher has gone");
      return;
    }
    if (msg.type == HANDOFF_RETIRE) {
      retire("asked by the dispatcher");
      continue;
    }
    if (msg.type != HANDOFF_CONN || fd < 0) {
      if (fd >= 0)
        close(fd);
      continue;
    }
    conn_tag *tag = g_new0(conn_tag, 1);
    tag->id = msg.id;
    conn_params p = {
        .fd = fd,
        .implicit_tls = msg.implicit_tls != 0,
        .unix_socket = msg.unix_socket != 0,
        .addr = &msg.addr,
        .service = ws.svc->name,
        .channel = ws.svc->channel,
        .hostname = ws.d->cfg->hostname,
        .mod = ws.mod,
        .tls = ws.tls,
        .service_option = service_option,
        .closed = on_conn_closed,
        .closed_data = tag,
    };
    conn_start(ws.d->loop, &p);
  }
}

static void exit_now(ev_timer *t, void *data) {
  ev_timer_free(&ws.exit_timer);
  log_warning("%u connection(s) did not end in time; exiting", conn_count());
  ev_loop_stop(ws.d->loop);
}

static void on_stop(daemon_ctx *d) {
  if (ws.stopping)
    return;
  ws.stopping = true;
  ev_io_free(&ws.ctl_io);
  conn_shutdown_all();
  if (conn_count() == 0)
    ev_loop_stop(d->loop);
  else
    ws.exit_timer = ev_timer_new(d->loop, STOP_GRACE_MS, exit_now, NULL);
}

static void on_refresh(daemon_ctx *d) {
  char *error = NULL;
  if (!queue_process_setup(d->cfg, &error)) {
    log_error("%s", error);
    g_free(error);
  }
  dir_service_refresh(d->cfg);
  auth_service_refresh(d->cfg);
}

int cmd_worker(cmd_ctx *ctx) {
  char *error = NULL;
  if (ctx->argc != 2) {
    fprintf(stderr, "usage: cursus worker SERVICE (started by the dispatcher)\n");
    return 2;
  }
  char *name = g_strdup_printf("worker-%s", ctx->argv[1]);
  char *lname = g_ascii_strdown(name, -1);
  daemon_ctx d = {
      .name = lname,
      .process = CURSUS_PROC_WORKER,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = -1,
      .no_pidfile = true,
      .on_stop = on_stop,
      .on_refresh = on_refresh,
  };
  ws.d = &d;
  ws.unsent = g_array_new(FALSE, FALSE, sizeof(handoff_msg));
  daemon_start(&d);
  ws.svc = dispcnf_service(d.cfg->disp, ctx->argv[1]);
  if (ws.svc == NULL)
    log_fatal("service %s is not in dispatcher.cnf", ctx->argv[1]);
  ws.mod = modreg_protocol(d.mods, ws.svc->protocol);
  if (ws.mod == NULL)
    log_fatal("service %s: no module serves protocol %s", ws.svc->name,
              ws.svc->protocol);
  /* relative paths of cursus.conf are relative to its directory */
  const char *cert = conf_get(d.cfg->conf, "tls", "certificate");
  const char *key = conf_get(d.cfg->conf, "tls", "key");
  char *cert_path = cert != NULL && *cert != '\0' ? fs_path_join(d.cfg->dir, cert)
                                                  : NULL;
  char *key_path = key != NULL && *key != '\0' ? fs_path_join(d.cfg->dir, key)
                                               : NULL;
  ws.tls = conn_tls_load(cert_path, key_path,
                         conf_get(d.cfg->conf, "tls", "priority"), &error);
  g_free(cert_path);
  g_free(key_path);
  if (error != NULL)
    log_fatal("%s", error);
  host_set_conn(conn_ops());
  if (!queue_process_setup(d.cfg, &error))
    log_fatal("%s", error);
  queue_clean_tmp(d.cfg->queue_dir);
  host_set_queue(hostq_ops(d.loop));
  /* the service's protocol first, then what it may need */
  if (!module_init(ws.mod, &error))
    log_fatal("%s", error);
  modules_init(d.mods, CURSUS_KIND_DIRECTORY | CURSUS_KIND_MAPPING |
                           CURSUS_KIND_STORE | CURSUS_KIND_AUTH |
                           CURSUS_KIND_FILTER,
               true);
  if (dir_service_wanted(d.cfg) && !dir_service_start(d.cfg, d.mods, &error))
    log_fatal("%s", error);
  auth_service_start(d.cfg, d.mods);
  ws.ctl_io = ev_io_new(d.loop, CTL_FD, EV_READ, on_ctl, NULL);
  ev_loop_run(d.loop);
  ev_io_free(&ws.ctl_io);
  g_array_free(ws.unsent, TRUE);
  ev_timer_free(&ws.exit_timer);
  /* sessions that outlived the grace period end here */
  conn_close_all();
  conn_tls_free(&ws.tls);
  /* commits still on their way to disk and lookups on host threads end
   * before the process does; their completions free what they hold */
  qwrite_stop();
  host_stop_blocking();
  ev_loop_run_once(d.loop, 0);
  auth_service_stop();
  dir_service_stop();
  daemon_finish(&d);
  g_free(name);
  g_free(lname);
  return 0;
}
