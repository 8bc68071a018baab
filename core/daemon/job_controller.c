/*
 * job_controller.c - the job controller process
 *
 * Runs under the watcher.  Knows every queued message (core/jobs/qcache,
 * rebuilt from the queue directories at start, kept current by the
 * enqueuers' datagrams on RUN_DIR/job_controller.sock and by the jobs'
 * results) and runs the master channel jobs that deliver them: it starts
 * `cursus channel-job CHANNEL` processes within each pool's JOB_LIMIT and
 * each channel's `maxjobs`, another one when a channel's ready messages
 * exceed `threaddepth` per job, hands each job messages by priority and
 * retry time, keeps MIN_JOBS jobs warm, stops idle jobs after IDLE_TIME
 * and retires jobs after MAX_LIFE_AGE or MAX_LIFE_CONNS messages.  A job
 * that dies or hangs (DELIVERY_TIMEOUT) has its messages rescheduled; the
 * recipients it had delivered are recorded in the files and not repeated.
 * `cursus qm` talks to it on RUN_DIR/job_controller.ctl (jobctl.h).
 * docs/job-controller.md describes the whole.
 */
#include "build-config.h"
#include "daemon.h"
#include "jobs/dequeue.h"
#include "jobs/jobctl.h"
#include "jobs/jobproto.h"
#include "jobs/jpolicy.h"
#include "jobs/qcache.h"
#include "jobs/qcounters.h"
#include "main/commands.h"
#include "queue/qnotify.h"
#include "queue/queue.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How often jobs are checked for hanging, idleness and old age. */
#define HOUSEKEEPING_MS 1000

typedef struct jc_pool {
  char *name;
  unsigned limit;
  unsigned running;
} jc_pool;

typedef struct jc_chan {
  qc_chan *qc;
  const cnf_channel *ch; /* NULL when no longer configured */
  bool runnable;         /* has a master program */
  jc_pool *pool;
  unsigned maxjobs, threaddepth, threads, min_jobs;
  int64_t idle_time_ms, max_life_age_ms, delivery_timeout_ms;
  unsigned max_life_conns;
  jpolicy pol; /* priorities, immediacy, first attempt, job splitting */
  GPtrArray *jobs; /* of jc_job* */
} jc_chan;

typedef struct jc_job {
  pid_t pid;
  jc_chan *chan;
  int fd;
  ev_io *io;
  GHashTable *inflight; /* path -> uint64_t* monotonic ms assigned */
  uint64_t started_ms, state_since_ms;
  unsigned done;
  bool finishing;
} jc_job;

typedef struct jc_state {
  daemon_ctx *d;
  qcache *qc;
  GHashTable *pools; /* name -> jc_pool* */
  GHashTable *jobs;  /* pid -> jc_job* */
  int notify_fd;
  ev_io *notify_io;
  ev_timer *wake_timer;
  ev_timer *house_timer;
  ev_timer *synch_timer;
  ev_timer *refill_timer; /* a rescan soon, for files waiting on disk */
  bool refill_armed;
  int64_t wake_at;
  jobctl *ctl;
  bool stopping;
  char *counters_path;
  uint64_t counters_saved; /* qcounters_sum when last saved */
  uint64_t counters_saved_ms;
} jc_state;

static jc_state jc;

static int64_t now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }
static uint64_t now_ms(void) { return ev_monotonic_ms(); }

static void dispatch(jc_chan *c);
static void refill_soon(void);

/* ------------------------------------------------------------ channels */

static jc_pool *pool_get(const char *name, unsigned limit) {
  jc_pool *p = g_hash_table_lookup(jc.pools, name);
  if (p == NULL) {
    p = g_new0(jc_pool, 1);
    p->name = g_strdup(name);
    g_hash_table_insert(jc.pools, p->name, p);
  }
  p->limit = limit;
  return p;
}

static void pool_free(gpointer data) {
  jc_pool *p = data;
  g_free(p->name);
  g_free(p);
}

/* configure - (re)read the settings of channel C from the configuration */
static void configure(jc_chan *c) {
  config *cfg = jc.d->cfg;
  const char *name = c->qc->name;
  c->ch = imtacnf_channel(cfg->imta, name);
  c->runnable = c->ch != NULL && config_channel_module(cfg, c->ch) != NULL &&
                !config_channel_slave(c->ch);
  const cnf_kw *pk = c->ch != NULL ? cnf_channel_kw(c->ch, "pool") : NULL;
  jobc_pool *jp = pk != NULL && pk->values->len > 0
                      ? jobccnf_pool(cfg->jobc, pk->values->pdata[0])
                      : (cfg->jobc->pools->len > 0 ? cfg->jobc->pools->pdata[0]
                                                   : NULL);
  if (jp == NULL)
    c->runnable = false;
  c->pool = pool_get(jp != NULL ? jp->name : "DEFAULT",
                     jp != NULL ? jp->job_limit : 0);
  unsigned limit = (unsigned)jobccnf_channel_int(cfg->jobc, name, "JOB_LIMIT",
                                                 c->pool->limit);
  c->maxjobs = (unsigned)(c->ch != NULL ? cnf_channel_int(c->ch, "maxjobs", limit)
                                        : limit);
  c->threaddepth = (unsigned)jobccnf_channel_int(
      cfg->jobc, name, "THREAD_DEPTH",
      c->ch != NULL ? cnf_channel_int(c->ch, "threaddepth", 128) : 128);
  c->threads = (unsigned)jobccnf_channel_int(cfg->jobc, name, "THREADS", 8);
  c->min_jobs = (unsigned)jobccnf_channel_int(cfg->jobc, name, "MIN_JOBS", 0);
  c->idle_time_ms =
      jobccnf_channel_int(cfg->jobc, name, "IDLE_TIME", 60) * 1000;
  c->max_life_age_ms =
      jobccnf_channel_int(cfg->jobc, name, "MAX_LIFE_AGE", 0) * 1000;
  c->max_life_conns =
      (unsigned)jobccnf_channel_int(cfg->jobc, name, "MAX_LIFE_CONNS", 0);
  c->delivery_timeout_ms =
      jobccnf_channel_int(cfg->jobc, name, "DELIVERY_TIMEOUT", 3600) * 1000;
  jpolicy_read(cfg, c->ch, &c->pol);
}

/* chan_free - the controller's state of channel Q */
static void chan_free(qc_chan *q) {
  jc_chan *c = q->data;
  if (c == NULL)
    return;
  g_ptr_array_free(c->jobs, TRUE);
  g_free(c);
  q->data = NULL;
}

static jc_chan *chan_of(qc_chan *q) {
  if (q->data == NULL) {
    jc_chan *c = g_new0(jc_chan, 1);
    c->qc = q;
    c->jobs = g_ptr_array_new();
    q->data = c;
    configure(c);
  }
  return q->data;
}

/* admit - a message new to the cache: the priority it is scheduled with
 * (size drops) and, before its first attempt, when that may be (`after`,
 * periodic runs) */
static void admit(qc_entry *e, void *data) {
  jc_chan *c = chan_of(e->chan);
  bool periodic = false;
  e->priority = jpolicy_priority(&c->pol, e->priority, e->size, &periodic);
  if (e->attempts > 0)
    return;
  int64_t now = now_s();
  int64_t first = jpolicy_first_attempt(&c->pol, periodic, e->arrival, now);
  if (first > now)
    e->next_retry = MAX(e->next_retry, first);
}

/* ---------------------------------------------------------------- jobs */

static void on_job_packet(ev_io *io, unsigned events, void *data);

static jc_job *job_start(jc_chan *c) {
  int sv[2];
  char *error = NULL;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    log_error("channel %s: cannot start a job: socketpair: %s", c->qc->name,
              g_strerror(errno));
    return NULL;
  }
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, "cursus");
  g_ptr_array_add(argv, "--config");
  g_ptr_array_add(argv, jc.d->cfg->dir);
  if (jc.d->log_stderr)
    g_ptr_array_add(argv, "--log-stderr");
  g_ptr_array_add(argv, "channel-job");
  g_ptr_array_add(argv, c->qc->name);
  g_ptr_array_add(argv, NULL);
  pid_t pid = proc_spawn_self((char *const *)argv->pdata, sv[1], &error);
  g_ptr_array_free(argv, TRUE);
  close(sv[1]);
  if (pid < 0) {
    log_error("channel %s: cannot start a job: %s", c->qc->name, error);
    g_free(error);
    close(sv[0]);
    return NULL;
  }
  jc_job *j = g_new0(jc_job, 1);
  j->pid = pid;
  j->chan = c;
  j->fd = sv[0];
  j->inflight = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  j->started_ms = j->state_since_ms = now_ms();
  j->io = ev_io_new(jc.d->loop, j->fd, EV_READ, on_job_packet, j);
  g_ptr_array_add(c->jobs, j);
  c->pool->running++;
  g_hash_table_insert(jc.jobs, GINT_TO_POINTER(pid), j);
  log_info("channel %s: started job pid %ld (%u job(s))", c->qc->name,
           (long)pid, c->jobs->len);
  return j;
}

static void job_finish(jc_job *j, const char *why) {
  if (j->finishing)
    return;
  j->finishing = true;
  log_debug("channel %s: job pid %ld told to finish (%s)", j->chan->qc->name,
            (long)j->pid, why);
  if (send(j->fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    kill(j->pid, SIGTERM);
}

/* job_forget - the job is gone: reschedule what it held */
static void job_forget(jc_job *j, const char *how) {
  jc_chan *c = j->chan;
  unsigned lost = g_hash_table_size(j->inflight);
  if (lost > 0)
    log_error("channel %s: job pid %ld %s while delivering %u message(s); "
              "they are retried later",
              c->qc->name, (long)j->pid, how, lost);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, j->inflight);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    qc_entry *e = qcache_find(jc.qc, key);
    if (e == NULL)
      continue;
    int64_t next = dequeue_reschedule(jc.d->cfg, key);
    e->busy = false;
    c->qc->busy--;
    if (next == 0) {
      qcache_remove(jc.qc, e);
      refill_soon();
      continue;
    }
    e->attempts++;
    e->next_retry = next;
    c->qc->errors++;
    qcache_place(jc.qc, e, now_s());
  }
  g_ptr_array_remove(c->jobs, j);
  c->pool->running--;
  g_hash_table_remove(jc.jobs, GINT_TO_POINTER(j->pid));
  ev_io_free(&j->io);
  close(j->fd);
  g_hash_table_destroy(j->inflight);
  g_free(j);
}

static void schedule_wake(void);

/* refill_soon - room freed while files wait on disk: take them in soon
 * (once a tenth of the cache is free, so rescans stay rare) */
static void refill_soon(void) {
  unsigned max = jc.qc->max_messages;
  if (!jc.qc->left_on_disk || jc.refill_armed ||
      qcache_room(jc.qc) < MAX(max / 10, 1u))
    return;
  jc.refill_armed = true;
  ev_timer_reset(jc.refill_timer, 200);
}

/* handle_result - a job finished a message */
static void handle_result(jc_job *j, const jobproto_result *r) {
  if (!g_hash_table_remove(j->inflight, r->path)) {
    log_warning("job pid %ld reported %s, which it was not given",
                (long)j->pid, r->path);
    return;
  }
  j->done++;
  if (g_hash_table_size(j->inflight) == 0)
    j->state_since_ms = now_ms();
  qc_entry *e = qcache_find(jc.qc, r->path);
  if (e == NULL)
    return;
  qc_chan *q = e->chan;
  e->busy = false;
  q->busy--;
  switch (r->outcome) {
  case JOB_DONE:
    q->done++;
    qcache_remove(jc.qc, e);
    refill_soon();
    return;
  case JOB_DEFERRED:
    q->deferred++;
    e->attempts++;
    e->next_retry = r->next_retry;
    break;
  case JOB_WAITING:
    e->next_retry = r->next_retry;
    break;
  case JOB_HELD:
    e->held = true;
    q->held++;
    break;
  case JOB_ERROR:
    q->errors++;
    log_warning("channel %s: %s: %s", q->name, r->path, r->text);
    e->next_retry = now_s() + 60;
    break;
  }
  qcache_place(jc.qc, e, now_s());
  schedule_wake();
}

static void on_job_packet(ev_io *io, unsigned events, void *data) {
  jc_job *j = data;
  char buf[JOBPROTO_MAX];
  for (;;) {
    ssize_t n = recv(j->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    if (n <= 0) { /* it exited; SIGCHLD does the rest */
      ev_io_set(j->io, 0);
      return;
    }
    jobproto_result r;
    if (jobproto_parse_result(buf, (size_t)n, &r))
      handle_result(j, &r);
    else
      log_warning("job pid %ld sent a malformed result", (long)j->pid);
  }
  dispatch(j->chan);
}

/* ------------------------------------------------------------ dispatch */

/* worn_out - the job has lived or worked long enough */
static bool worn_out(const jc_job *j) {
  const jc_chan *c = j->chan;
  return (c->max_life_conns > 0 && j->done >= c->max_life_conns) ||
         (c->max_life_age_ms > 0 &&
          (int64_t)(now_ms() - j->started_ms) >= c->max_life_age_ms);
}

/* can_start - another job for C fits within its and its pool's limits */
static bool can_start(const jc_chan *c) {
  return !jc.stopping && c->runnable && c->jobs->len < c->maxjobs &&
         c->pool->running < c->pool->limit;
}

/* pick_job - the job of C with the most free room, or NULL */
static jc_job *pick_job(jc_chan *c) {
  jc_job *best = NULL;
  unsigned best_load = 0;
  for (guint i = 0; i < c->jobs->len; i++) {
    jc_job *j = c->jobs->pdata[i];
    if (j->finishing)
      continue;
    if (worn_out(j)) {
      if (g_hash_table_size(j->inflight) == 0)
        job_finish(j, "end of life");
      continue;
    }
    unsigned load = g_hash_table_size(j->inflight);
    if (load < c->threads && (best == NULL || load < best_load)) {
      best = j;
      best_load = load;
    }
  }
  return best;
}

static void assign(jc_job *j, qc_entry *e) {
  char buf[JOBPROTO_MAX];
  int n = g_snprintf(buf, sizeof(buf), "A %s", e->path);
  if (send(j->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    log_warning("channel %s: cannot hand %s to job pid %ld: %s",
                j->chan->qc->name, e->path, (long)j->pid, g_strerror(errno));
    e->busy = false;
    e->chan->busy--;
    qcache_place(jc.qc, e, 0);
    job_finish(j, "unreachable");
    return;
  }
  if (g_hash_table_size(j->inflight) == 0)
    j->state_since_ms = now_ms();
  uint64_t *t = g_new(uint64_t, 1);
  *t = now_ms();
  g_hash_table_insert(j->inflight, g_strdup(e->path), t);
}

/* busy_jobs - jobs of C with work */
static unsigned live_jobs(const jc_chan *c) {
  unsigned n = 0;
  for (guint i = 0; i < c->jobs->len; i++)
    if (!((jc_job *)c->jobs->pdata[i])->finishing)
      n++;
  return n;
}

/* backlog_deep - C's ready work calls for one more job besides its LIVE
 * ones: more messages than threaddepth or filesperjob per job, or more
 * recipients than addrsperjob per job */
static bool backlog_deep(const jc_chan *c, unsigned live) {
  uint64_t ready = qcache_ready_count(c->qc);
  return ready > (uint64_t)c->threaddepth * live ||
         (c->pol.filesperjob > 0 && ready > (uint64_t)c->pol.filesperjob * live) ||
         (c->pol.addrsperjob > 0 &&
          c->qc->ready_rcpts > (uint64_t)c->pol.addrsperjob * live);
}

static void dispatch(jc_chan *c) {
  if (!c->runnable || jc.stopping)
    return;
  while (qcache_ready_count(c->qc) > 0) {
    unsigned live = live_jobs(c);
    if (can_start(c) && (live == 0 || backlog_deep(c, live)))
      if (job_start(c) == NULL)
        break;
    jc_job *j = pick_job(c);
    if (j == NULL)
      break;
    assign(j, qcache_pop_ready(jc.qc, c->qc));
  }
}

static void dispatch_all(void) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, jc.qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v))
    dispatch(chan_of(v));
}

/* --------------------------------------------------------------- timers */

static void woke(qc_chan *q, void *data) { dispatch(chan_of(q)); }

static void on_wake(ev_timer *t, void *data) {
  jc.wake_at = 0;
  schedule_wake();
}

/* schedule_wake - move due messages to ready and arm the timer for the
 * next one */
static void schedule_wake(void) {
  int64_t next = qcache_wake(jc.qc, now_s(), woke, NULL);
  if (next == 0 || (jc.wake_at != 0 && jc.wake_at <= next))
    return;
  jc.wake_at = next;
  int64_t ms = (next - now_s()) * 1000;
  ev_timer_reset(jc.wake_timer, (uint64_t)MAX(ms, 10));
}

/* save_counters - write the counters when they changed (FORCE: now,
 * else at most every few seconds) */
static void save_counters(bool force) {
  uint64_t sum = qcounters_sum(jc.qc);
  if (sum == jc.counters_saved ||
      (!force && now_ms() - jc.counters_saved_ms < 5000))
    return;
  char *error = NULL;
  if (qcounters_save(jc.qc, jc.counters_path, &error) != CURSUS_OK) {
    log_warning("counters not saved: %s", error);
    g_free(error);
    return;
  }
  jc.counters_saved = sum;
  jc.counters_saved_ms = now_ms();
}

/* on_housekeeping - hung jobs, idle jobs, warm jobs */
static void on_housekeeping(ev_timer *t, void *data) {
  uint64_t now = now_ms();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, jc.jobs);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    jc_job *j = v;
    jc_chan *c = j->chan;
    GHashTableIter mi;
    gpointer path, when;
    g_hash_table_iter_init(&mi, j->inflight);
    while (g_hash_table_iter_next(&mi, &path, &when))
      if (c->delivery_timeout_ms > 0 &&
          (int64_t)(now - *(uint64_t *)when) > c->delivery_timeout_ms) {
        log_error("channel %s: job pid %ld has been delivering %s for too "
                  "long; killing it",
                  c->qc->name, (long)j->pid, (char *)path);
        kill(j->pid, SIGKILL);
        break;
      }
    if (g_hash_table_size(j->inflight) > 0 || j->finishing)
      continue;
    if (worn_out(j))
      job_finish(j, "end of life");
    else if (live_jobs(c) > c->min_jobs &&
             (int64_t)(now - j->state_since_ms) >= c->idle_time_ms)
      job_finish(j, "idle");
  }
  /* jobs kept warm */
  g_hash_table_iter_init(&it, jc.qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    jc_chan *c = chan_of(v);
    while (c->min_jobs > live_jobs(c) && can_start(c) && job_start(c) != NULL)
      ;
  }
  save_counters(false);
  ev_timer_reset(jc.house_timer, HOUSEKEEPING_MS);
}

/* rescan - read the queue directories for files the cache does not
 * hold; returns how many it took in */
static unsigned rescan(void) {
  unsigned before = g_hash_table_size(jc.qc->entries);
  qcache_rebuild(jc.qc, jc.d->cfg->queue_dir,
                 jc.d->cfg->jobc->rebuild_parallel_channel);
  unsigned after = g_hash_table_size(jc.qc->entries);
  schedule_wake();
  dispatch_all();
  return after > before ? after - before : 0;
}

/* on_synch - read the queue directories again: files whose notification
 * was lost (the controller was down or stalled) are found */
static void on_synch(ev_timer *t, void *data) {
  unsigned found = rescan();
  if (found > 0 && !jc.qc->left_on_disk)
    log_notice("queue resynchronised: %u message(s) were not known", found);
  ev_timer_reset(jc.synch_timer, (uint64_t)MAX(jc.d->cfg->jobc->synch_time, 10u) * 1000);
}

/* on_refill - room has freed: the oldest files left on disk come in */
static void on_refill(ev_timer *t, void *data) {
  if (!jc.refill_armed)
    return;
  jc.refill_armed = false;
  unsigned n = rescan();
  log_info("queue cache: %u message(s) taken in from disk%s", n,
           jc.qc->left_on_disk ? "; more wait there" : "");
}

/* note_full - say once per episode that the cache is full */
static void note_full(void) {
  static bool said;
  if (jc.qc->left_on_disk && !said)
    log_warning("queue cache full (MAX_MESSAGES=%u): newer messages wait on "
                "disk until deliveries make room",
                jc.qc->max_messages);
  said = jc.qc->left_on_disk;
}

/* -------------------------------------------------------- notifications */

static void on_notify(ev_io *io, unsigned events, void *data) {
  char buf[QNOTIFY_MAX];
  for (int i = 0; i < 1024; i++) {
    ssize_t n = recv(jc.notify_fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0)
      break;
    qnotify_msg m;
    if (!qnotify_parse(buf, (size_t)n, &m)) {
      log_warning("malformed notification ignored");
      continue;
    }
    if (m.type == QNOTIFY_NEW) {
      if (qcache_find(jc.qc, m.path) != NULL)
        continue;
      qcache_chan(jc.qc, m.channel)->enqueued++;
      qc_entry *e = qcache_add(jc.qc, m.channel, m.path, m.priority, m.size);
      if (e == NULL) { /* the cache is full: a rescan takes it in later */
        note_full();
        continue;
      }
      e->rcpts = MAX(m.rcpts, 1u);
      qcache_admit(jc.qc, e);
      qcache_place(jc.qc, e, now_s());
      if (e->delayed_iter != NULL) /* not due yet: the timer may be later */
        schedule_wake();
      dispatch(chan_of(e->chan));
    } else if (m.type == QNOTIFY_RUN) {
      jobctl_retry(jc.qc, m.channel);
      dispatch_all();
    }
  }
}

/* --------------------------------------------------------- child exits */

static void on_child(daemon_ctx *d) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    jc_job *j = g_hash_table_lookup(jc.jobs, GINT_TO_POINTER(pid));
    if (j == NULL)
      continue;
    jc_chan *c = j->chan;
    char how[64];
    if (WIFSIGNALED(status))
      g_snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
    else
      g_snprintf(how, sizeof(how), "exited with status %d",
                 WEXITSTATUS(status));
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    log_msg(clean ? CURSUS_LOG_INFO : CURSUS_LOG_ERROR,
            "channel %s: job pid %ld %s", c->qc->name, (long)pid, how);
    /* results it sent before dying are still in the socket */
    on_job_packet(NULL, EV_READ, j);
    job_forget(j, how);
    schedule_wake();
    dispatch(c);
  }
}

/* -------------------------------------------------------------- control */

static void describe_jobs(GString *out) {
  uint64_t now = now_ms();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, jc.jobs);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    jc_job *j = v;
    unsigned n = g_hash_table_size(j->inflight);
    g_string_append_printf(
        out, "%ld %s %s %" G_GUINT64_FORMAT " %u %u %" G_GUINT64_FORMAT "\n",
        (long)j->pid, j->chan->qc->name,
        j->finishing ? "finishing" : n > 0 ? "busy" : "idle",
        (now - j->state_since_ms) / 1000, n, j->done,
        (now - j->started_ms) / 1000);
  }
}

static void on_refresh(daemon_ctx *d) {
  GHashTableIter it;
  gpointer v;
  jc.qc->max_messages = d->cfg->jobc->max_messages;
  g_hash_table_iter_init(&it, jc.qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v))
    configure(chan_of(v));
  /* jobs restart on the new configuration as they finish */
  g_hash_table_iter_init(&it, jc.jobs);
  while (g_hash_table_iter_next(&it, NULL, &v))
    job_finish(v, "configuration reloaded");
  dispatch_all();
}

static void on_stop(daemon_ctx *d) {
  jc.stopping = true;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, jc.jobs);
  while (g_hash_table_iter_next(&it, NULL, &v))
    kill(((jc_job *)v)->pid, SIGTERM);
  ev_loop_stop(d->loop);
}

/* after_control - a control request changed the cache */
static void after_control(void *data) {
  save_counters(true);
  schedule_wake();
  dispatch_all();
}

int cmd_job_controller(cmd_ctx *ctx) {
  daemon_ctx d = {
      .name = "job-controller",
      .process = CURSUS_PROC_JOB_CONTROLLER,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = ctx->ready_fd,
      .on_child = on_child,
      .on_refresh = on_refresh,
      .on_stop = on_stop,
  };
  char *error = NULL;
  jc.d = &d;
  daemon_start(&d);
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  jc.qc = qcache_new();
  jc.qc->max_messages = d.cfg->jobc->max_messages;
  jc.qc->admit = admit;
  jc.pools = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pool_free);
  jc.jobs = g_hash_table_new(NULL, NULL);
  /* listen first: what is enqueued during the scan is not missed */
  jc.notify_fd = qnotify_listen(d.cfg->run_dir, &error);
  if (jc.notify_fd < 0)
    log_fatal("%s", error);
  queue_clean_tmp(d.cfg->queue_dir);
  jc.counters_path = qcounters_path(d.cfg->state_dir);
  if (qcounters_load(jc.qc, jc.counters_path, &error) != CURSUS_OK) {
    log_warning("counters start from zero: %s", error);
    g_free(error);
    error = NULL;
  }
  jc.counters_saved = qcounters_sum(jc.qc);
  uint64_t t0 = now_ms();
  unsigned n = qcache_rebuild(jc.qc, d.cfg->queue_dir,
                              d.cfg->jobc->rebuild_parallel_channel);
  log_notice("queue cache rebuilt: %u message(s) in %" G_GUINT64_FORMAT " ms", n,
           now_ms() - t0);
  note_full();
  jc.ctl = jobctl_listen(d.loop, d.cfg->run_dir, jc.qc, describe_jobs,
                         after_control, NULL, &error);
  if (jc.ctl == NULL)
    log_fatal("%s", error);
  jc.notify_io = ev_io_new(d.loop, jc.notify_fd, EV_READ, on_notify, NULL);
  jc.wake_timer = ev_timer_new(d.loop, 3600 * 1000, on_wake, NULL);
  jc.house_timer = ev_timer_new(d.loop, HOUSEKEEPING_MS, on_housekeeping, NULL);
  jc.refill_timer = ev_timer_new(d.loop, 3600 * 1000, on_refill, NULL);
  jc.synch_timer = ev_timer_new(
      d.loop, (uint64_t)MAX(d.cfg->jobc->synch_time, 10u) * 1000, on_synch, NULL);
  /* every configured channel is known, so MIN_JOBS applies to all */
  for (guint i = 0; i < d.cfg->imta->channels->len; i++)
    chan_of(qcache_chan(jc.qc, ((cnf_channel *)d.cfg->imta->channels->pdata[i])->name));
  log_info("job controller ready (%u channel(s), %u pool(s))",
           d.cfg->imta->channels->len, d.cfg->jobc->pools->len);
  daemon_ready(&d);
  schedule_wake();
  dispatch_all();
  ev_loop_run(d.loop);
  /* jobs got SIGTERM; give them a moment to report */
  uint64_t deadline = now_ms() + 5000;
  while (g_hash_table_size(jc.jobs) > 0 && now_ms() < deadline) {
    ev_loop_run_once(d.loop, 100);
    on_child(&d);
  }
  save_counters(true);
  g_free(jc.counters_path);
  jobctl_close(&jc.ctl);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, jc.qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v))
    chan_free(v);
  ev_io_free(&jc.notify_io);
  ev_timer_free(&jc.wake_timer);
  ev_timer_free(&jc.house_timer);
  ev_timer_free(&jc.synch_timer);
  ev_timer_free(&jc.refill_timer);
  close(jc.notify_fd);
  qcache_free(&jc.qc);
  g_hash_table_destroy(jc.jobs);
  g_hash_table_destroy(jc.pools);
  daemon_finish(&d);
  return 0;
}
