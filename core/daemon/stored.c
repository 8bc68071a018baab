/*
 * stored.c - the store housekeeping process
 *
 * Runs under the watcher and does, each on its schedule from [store] in
 * cursus.conf (docs/store.md):
 *   snapshots   of the system area every snapshot_interval, keeping
 *               snapshot_keep (the first at start when the newest is
 *               older than the interval);
 *   quota       every quota_check_interval: users crossing quota_warn get
 *               their warning (once per crossing);
 *   expiry      daily at expire_start o'clock: the expire_rules.
 * Each task runs on a thread of its own so the process keeps answering
 * signals; a task still running when its time comes again is skipped.
 * Leftovers of interrupted deliveries in the partitions' tmp directories
 * are removed when the store opens here.
 */
#include "build-config.h"
#include "daemon.h"
#include "dir/dir.h"
#include "main/commands.h"
#include "module/host.h"
#include "store/expire.h"
#include "store/store.h"
#include "util/log.h"
#include "util/proc.h"

#include <string.h>
#include <time.h>

typedef struct task {
  const char *name;
  void (*run)(void);
  ev_timer *timer;
  GThread *thread;
  gint busy;
} task;

static daemon_ctx *dctx;

/* ------------------------------------------------------------ work */

static int collect(void *data, const char *user, const char *partition) {
  g_ptr_array_add(data, g_strdup(user));
  return 0;
}

static void run_snapshot(void) {
  const cursus_store_ops *ops = store_ops();
  const char *error;
  void *h = store_backend(&error);
  if (h == NULL) {
    log_error("stored: snapshot: %s", error);
    return;
  }
  cursus_buf name = {0};
  if (ops->snapshot(h, &name, &error) != CURSUS_OK)
    log_error("stored: snapshot failed: %s", error);
  g_free(name.data);
  long long keep = conf_get_int(config_current()->conf, "store",
                                "snapshot_keep", 3);
  if (ops->snapshot_prune(h, (unsigned)MAX(keep, 1), &error) != CURSUS_OK)
    log_error("stored: removing old snapshots failed: %s", error);
}

static void run_quota(void) {
  const cursus_store_ops *ops = store_ops();
  const char *error;
  void *h = store_backend(&error);
  GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
  if (h == NULL || ops->users_list(h, collect, users, &error) != CURSUS_OK) {
    log_error("stored: quota check: %s", error);
    g_ptr_array_free(users, TRUE);
    return;
  }
  unsigned warned = 0;
  for (guint i = 0; i < users->len; i++) {
    cursus_store_user *u = NULL;
    if (store_user_open(users->pdata[i], 0, &u, &error) != CURSUS_OK)
      continue; /* no longer in the directory: no account to warn */
    int r = host_table()->store->quota_notify(u, &error);
    if (r == CURSUS_OK)
      warned++;
    else if (r == CURSUS_TEMPFAIL)
      log_warning("stored: quota warning for %s: %s",
                  (char *)users->pdata[i], error);
    ops->user_close(&u);
  }
  log_info("stored: quota check of %u users: %u warned", users->len, warned);
  g_ptr_array_free(users, TRUE);
}

static void run_expire(void) {
  diag *d = diag_new();
  expire_rules *rules = expire_rules_read(config_current(), d);
  diag_log(d);
  if (!diag_has_errors(d) && rules->rules->len > 0) {
    expire_stats st;
    char *error = NULL;
    if (expire_run(rules, NULL, false, NULL, NULL, &st, &error))
      log_info("stored: expired %u messages (%" G_GUINT64_FORMAT
               " bytes) in %u folders",
               st.messages, st.bytes, st.folders);
    else
      log_error("stored: expiry failed: %s", error);
    g_free(error);
  }
  expire_rules_free(&rules);
  diag_free(&d);
}

/* ------------------------------------------------------------ schedule */

static task tasks[] = {
    {"snapshot", run_snapshot, NULL, NULL, 0},
    {"quota", run_quota, NULL, NULL, 0},
    {"expire", run_expire, NULL, NULL, 0},
};

/* delay_ms - milliseconds until task T runs next */
static uint64_t delay_ms(const task *t) {
  const optfile *of = config_current()->conf;
  if (t->run == run_snapshot) {
    long long s = conf_get_int(of, "store", "snapshot_interval", 86400);
    return s > 0 ? (uint64_t)s * 1000 : 0;
  }
  if (t->run == run_quota) {
    long long s = conf_get_int(of, "store", "quota_check_interval", 3600);
    return s > 0 ? (uint64_t)s * 1000 : 0;
  }
  /* the next expire_start o'clock, local time */
  long long hour = conf_get_int(of, "store", "expire_start", 23);
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  tm.tm_hour = (int)CLAMP(hour, 0, 23);
  tm.tm_min = tm.tm_sec = 0;
  time_t next = mktime(&tm);
  if (next <= now)
    next += 86400;
  return (uint64_t)(next - now) * 1000;
}

static gpointer task_thread(gpointer data) {
  task *t = data;
  t->run();
  g_atomic_int_set(&t->busy, 0);
  return NULL;
}

static void on_timer(ev_timer *timer, void *data) {
  task *t = data;
  if (g_atomic_int_compare_and_exchange(&t->busy, 0, 1)) {
    if (t->thread != NULL)
      g_thread_join(t->thread);
    t->thread = g_thread_new(t->name, task_thread, t);
  } else {
    log_warning("stored: %s still running; this turn is skipped", t->name);
  }
  uint64_t ms = delay_ms(t);
  if (ms > 0)
    ev_timer_reset(timer, ms);
}

static void schedule(void) {
  for (size_t i = 0; i < G_N_ELEMENTS(tasks); i++) {
    task *t = &tasks[i];
    uint64_t ms = delay_ms(t);
    if (t->timer != NULL)
      ev_timer_free(&t->timer);
    if (ms > 0)
      t->timer = ev_timer_new(dctx->loop, ms, on_timer, t);
  }
}

/* snapshot_due - no snapshot within the interval: take one now */
static int newest_cb(void *data, const char *name, int64_t when) {
  *(int64_t *)data = when;
  return 0;
}

static bool snapshot_due(void) {
  long long interval = conf_get_int(config_current()->conf, "store",
                                    "snapshot_interval", 86400);
  const char *error;
  void *h = store_backend(&error);
  int64_t newest = 0;
  if (interval <= 0 || h == NULL)
    return false;
  store_ops()->snapshot_list(h, newest_cb, &newest, &error);
  return g_get_real_time() / G_USEC_PER_SEC - newest >= interval;
}

static void on_refresh(daemon_ctx *d) { schedule(); }

int cmd_stored(cmd_ctx *ctx) {
  daemon_ctx d = {
      .name = "stored",
      .process = CURSUS_PROC_STORED,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = ctx->ready_fd,
      .on_refresh = on_refresh,
  };
  char *error = NULL;
  const char *e;
  dctx = &d;
  daemon_start(&d);
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  if (dir_service_wanted(d.cfg) && !dir_service_start(d.cfg, d.mods, &error))
    log_fatal("%s", error);
  if (!store_running())
    log_fatal("stored: [store] module %s is not available",
              conf_get(d.cfg->conf, "store", "module"));
  if (store_backend(&e) == NULL)
    log_fatal("stored: %s", e);
  schedule();
  if (snapshot_due())
    on_timer(tasks[0].timer, &tasks[0]);
  log_info("store housekeeping ready");
  daemon_ready(&d);
  ev_loop_run(d.loop);
  for (size_t i = 0; i < G_N_ELEMENTS(tasks); i++) {
    if (tasks[i].thread != NULL)
      g_thread_join(tasks[i].thread);
    ev_timer_free(&tasks[i].timer);
  }
  dir_service_stop();
  daemon_finish(&d);
  return 0;
}
