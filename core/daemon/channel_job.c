/*
 * channel_job.c - a master channel job: `cursus channel-job CHANNEL`
 *
 * Started by the job controller with its socket on descriptor 3 (see
 * core/jobs/jobproto.h).  Loads the channel's module through the ABI,
 * opens it for the channel, and runs each assigned queue file through
 * core/jobs/dequeue on a pool of delivery threads: one thread unless the
 * module declares CURSUS_CHANNEL_CONCURRENT, else the channel's THREADS
 * from job_controller.cnf.  Each delivery thread sends its own result to
 * the controller.  When nothing has been assigned for a moment the module's
 * idle is called (closing kept connections).  The job exits on "X" once
 * its deliveries are done, when the controller goes away, or on SIGTERM
 * after the deliveries in progress end.
 */
#include "build-config.h"
#include "daemon.h"
#include "dir/dir.h"
#include "jobs/dequeue.h"
#include "jobs/jobproto.h"
#include "main/commands.h"
#include "module/host.h"
#include "queue/hostq.h"
#include "queue/qconfig.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Quiet time before the module is told it is idle. */
#define IDLE_AFTER_MS 2000

typedef struct job_state {
  daemon_ctx *d;
  dequeue_ctx dq;
  GThreadPool *threads;
  ev_io *ctl;
  ev_timer *idle_timer;
  gint inflight; /* atomic: assigned, result not yet sent */
  bool module_idle; /* idle() called since the last delivery */
  bool finishing;
} job_state;

static job_state js;

typedef struct assignment {
  char *path;
  jobproto_result result;
} assignment;

static void maybe_exit(void) {
  if (js.finishing && g_atomic_int_get(&js.inflight) == 0)
    ev_loop_stop(js.d->loop);
}

static void on_idle_timer(ev_timer *t, void *data) {
  const cursus_channel_ops *ops = js.dq.mod->desc->channel;
  if (g_atomic_int_get(&js.inflight) == 0 && !js.module_idle &&
      ops->idle != NULL) {
    ops->idle(js.dq.chan_data);
    js.module_idle = true;
  }
}

/* all_done - on the loop thread once the last result in flight was
 * sent: the idle countdown starts, a finishing job ends */
static void all_done(void *data) {
  if (g_atomic_int_get(&js.inflight) != 0)
    return; /* assigned more meanwhile */
  ev_timer_reset(js.idle_timer, IDLE_AFTER_MS);
  maybe_exit();
}

/* deliver_thread - one delivery; its result goes to the controller from
 * this thread (a seqpacket socket keeps each report whole), so the loop
 * thread is only woken when nothing is left in flight */
static void deliver_thread(gpointer data, gpointer user_data) {
  assignment *a = data;
  dequeue_one(&js.dq, a->path, &a->result);
  char buf[JOBPROTO_MAX];
  size_t n = jobproto_format_result(&a->result, buf);
  if (send(JOBPROTO_FD, buf, n, MSG_NOSIGNAL) < 0)
    log_warning("cannot report %s to the job controller: %s", a->path,
                g_strerror(errno));
  g_free(a->path);
  g_free(a);
  if (g_atomic_int_dec_and_test(&js.inflight))
    ev_post(js.d->loop, all_done, NULL);
}

static void on_ctl(ev_io *io, unsigned events, void *data) {
  char buf[JOBPROTO_MAX + 1];
  for (;;) {
    ssize_t n = recv(JOBPROTO_FD, buf, JOBPROTO_MAX, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) { /* the job controller is gone */
      ev_io_free(&js.ctl);
      js.finishing = true;
      maybe_exit();
      return;
    }
    buf[n] = '\0';
    if (buf[0] == 'X') {
      js.finishing = true;
      maybe_exit();
    } else if (buf[0] == 'A' && buf[1] == ' ' && n > 2) {
      assignment *a = g_new0(assignment, 1);
      a->path = g_strdup(buf + 2);
      g_atomic_int_inc(&js.inflight);
      js.module_idle = false;
      g_thread_pool_push(js.threads, a, NULL);
    } else {
      log_warning("unknown request from the job controller: %.60s", buf);
    }
  }
}

static void on_stop(daemon_ctx *d) {
  js.finishing = true;
  ev_loop_stop(d->loop);
}

/* open_channel - find CHANNEL and its module, initialise and open it */
static void open_channel(const char *channel) {
  config *cfg = js.d->cfg;
  const cnf_channel *ch = imtacnf_channel(cfg->imta, channel);
  if (ch == NULL)
    log_fatal("channel %s is not defined in %s", channel, cfg->imta->path);
  static const char *const debug[] = {"master_debug", "nomaster_debug", NULL};
  const char *dbg = cnf_channel_last_of(ch, debug);
  if (dbg != NULL && strcmp(dbg, "master_debug") == 0) {
    /* the channel's master program says what it does, step by step */
    log_set_level(CURSUS_LOG_DEBUG);
    log_debug("channel %s: master_debug: debug output on", channel);
  }
  module *m = config_channel_module(cfg, ch);
  if (m == NULL || m->desc->channel == NULL)
    log_fatal("channel %s has no master program module", channel);
  char *error = NULL;
  if (!module_init(m, &error))
    log_fatal("%s", error);
  const char *err = NULL;
  void *chan_data = NULL;
  if (m->desc->channel->open(m->ctx, (const cursus_channel *)ch, &chan_data,
                             &err) != CURSUS_OK)
    log_fatal("channel %s: module %s cannot open it: %s", channel,
              m->desc->name, err != NULL ? err : "no reason given");
  js.dq.cfg = cfg;
  js.dq.ch = ch;
  js.dq.mod = m;
  js.dq.chan_data = chan_data;
  jpolicy_read(cfg, ch, &js.dq.pol);
}

int cmd_channel_job(cmd_ctx *ctx) {
  if (ctx->argc < 2) {
    fprintf(stderr, "usage: cursus channel-job CHANNEL\n");
    return 2;
  }
  const char *channel = ctx->argv[1];
  char *name = g_strdup_printf("job-%s", channel);
  daemon_ctx d = {
      .name = name,
      .process = CURSUS_PROC_CHANNEL_JOB,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = -1,
      .no_pidfile = true,
      .on_stop = on_stop,
  };
  char *error = NULL;
  js.d = &d;
  daemon_start(&d);
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  if (!queue_process_setup(d.cfg, &error))
    log_fatal("%s", error);
  host_set_queue(hostq_ops(d.loop));
  /* notices and reprocessing resolve addresses: mappings and directory */
  modules_init(d.mods, CURSUS_KIND_DIRECTORY | CURSUS_KIND_MAPPING, true);
  if (dir_service_wanted(d.cfg) && !dir_service_start(d.cfg, d.mods, &error))
    log_fatal("%s", error);
  open_channel(channel);

  const cursus_channel_ops *ops = js.dq.mod->desc->channel;
  unsigned threads = 1;
  if (CURSUS_HAS(ops, flags) && (ops->flags & CURSUS_CHANNEL_CONCURRENT))
    threads = (unsigned)jobccnf_channel_int(d.cfg->jobc, channel, "THREADS",
                                            8);
  js.threads = g_thread_pool_new(deliver_thread, NULL, (gint)MAX(threads, 1u),
                                 FALSE, NULL);
  js.idle_timer = ev_timer_new(d.loop, IDLE_AFTER_MS, on_idle_timer, NULL);
  js.ctl = ev_io_new(d.loop, JOBPROTO_FD, EV_READ, on_ctl, NULL);
  log_info("channel %s: job ready (module %s, %u thread(s))", channel,
           js.dq.mod->desc->name, threads);
  ev_loop_run(d.loop);
  /* deliveries in progress finish before the module closes */
  g_thread_pool_free(js.threads, FALSE, TRUE);
  for (int i = 0; i < 3; i++)
    ev_loop_run_once(d.loop, 0); /* what the threads posted last */
  ev_timer_free(&js.idle_timer);
  ev_io_free(&js.ctl);
  ops->close(js.dq.chan_data);
  log_info("channel %s: job ends", channel);
  daemon_finish(&d);
  g_free(name);
  return 0;
}
