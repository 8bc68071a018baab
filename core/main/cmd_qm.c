/*
 * cmd_qm.c - `cursus qm`: the queue manager
 *
 *   qm list [-channel C] [-from TEXT] [-to TEXT] [-age SECONDS] [-held]
 *           [-envelope]
 *   qm show ID              envelope, recipients' states, header
 *   qm hold ID...           qm release ID...
 *   qm delete ID...         removed silently
 *   qm return ID...         returned to the sender with a failure notice
 *   qm retry ID|CHANNEL...  due now
 *   qm counters [clear [C]] per channel (kept across restarts)
 *   qm history ID           the message log entries and results of a message
 *   qm clean [-from|-to|-subject|-content TEXT]... [-hold|-delete] [C]
 *   qm top [-from] [-to] [-subject] [-top N] [C]
 *   qm jobs                 the channel jobs and their state
 *   qm inject [-count N] [-source C] CHANNEL SENDER RCPT... < MESSAGE
 *
 * Works on the queue files themselves, so it works whether the server
 * runs or not; when the job controller runs, lists and counters come from
 * its cache and every change is told to it (jobctl.h).  ID is a queue file
 * name or its path below the queue directory.  docs/qm.md has examples.
 */
#include "build-config.h"
#include "commands.h"
#include "qm.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "dir/dir.h"
#include "jobs/dequeue.h"
#include "jobs/jobctl.h"
#include "jobs/notice.h"
#include "jobs/qcache.h"
#include "jobs/qcounters.h"
#include "module/host.h"
#include "queue/hostq.h"
#include "queue/qconfig.h"
#include "queue/queue.h"
#include "queue/qwrite.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int64_t now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

/* qm_ask - one request to the job controller; NULL when it does not run */
GPtrArray *qm_ask(qm_ctx *q, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *line = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  GPtrArray *lines = NULL;
  char *error = NULL;
  int rc = jobctl_request(q->cfg->run_dir, line, &lines, &error);
  g_free(line);
  if (rc == CURSUS_OK)
    q->running = true;
  else if (rc != CURSUS_NONE) {
    fprintf(stderr, "cursus qm: %s\n", error);
    g_free(error);
  }
  return lines;
}

/* qm_find_file - the path below queue_dir of ID, or NULL */
typedef struct finder {
  const char *name;
  char *found;
} finder;

static bool find_cb(void *data, const char *channel, const char *rel_path,
                    const char *name) {
  finder *f = data;
  if (strcmp(name, f->name) != 0)
    return true;
  f->found = g_strdup(rel_path);
  return false;
}

char *qm_find_file(qm_ctx *q, const char *id) {
  if (strstr(id, "..") != NULL || id[0] == '/')
    return NULL;
  if (strchr(id, '/') != NULL) {
    char *full = g_build_filename(q->cfg->queue_dir, id, NULL);
    bool ok = g_file_test(full, G_FILE_TEST_IS_REGULAR);
    g_free(full);
    return ok ? g_strdup(id) : NULL;
  }
  finder f = {.name = id};
  queue_scan(q->cfg->queue_dir, NULL, find_cb, &f);
  return f.found;
}

/* qm_open_id - open the queue file ID names (an error is printed) */
qmsg *qm_open_id(qm_ctx *q, const char *id, bool writable, char **rel_r) {
  char *rel = qm_find_file(q, id);
  if (rel == NULL) {
    fprintf(stderr, "cursus qm: no queued message %s\n", id);
    return NULL;
  }
  char *full = g_build_filename(q->cfg->queue_dir, rel, NULL);
  qmsg *m = NULL;
  char *error = NULL;
  if (qmsg_open(full, writable, &m, &error) != CURSUS_OK) {
    fprintf(stderr, "cursus qm: %s\n", error);
    g_free(error);
    g_free(rel);
    rel = NULL;
  }
  g_free(full);
  *rel_r = rel;
  return m;
}

/* qm_tell - the job controller should re-read REL (and maybe run it now) */
void qm_tell(qm_ctx *q, const char *rel, bool retry) {
  GPtrArray *l = qm_ask(q, "SYNC %s", rel);
  if (l != NULL)
    g_ptr_array_free(l, TRUE);
  if (retry && (l = qm_ask(q, "RETRY %s", rel)) != NULL)
    g_ptr_array_free(l, TRUE);
}

/* ---------------------------------------------------------------- list */

typedef struct list_opts {
  const char *channel, *from, *to;
  int64_t min_age;
  bool held_only, envelope;
} list_opts;

/* qm_prio_name - "urgent", "normal" or "non-urgent" */
const char *qm_prio_name(int p) {
  return p > 0 ? "urgent" : p < 0 ? "non-urgent" : "normal";
}

/* envelope_match - the file's sender/recipients contain the filters */
static bool envelope_match(qm_ctx *q, const char *rel, const list_opts *o,
                           GString *env_out) {
  char *full = g_build_filename(q->cfg->queue_dir, rel, NULL);
  qmsg *m = NULL;
  char *error = NULL;
  bool ok = qmsg_open(full, false, &m, &error) == CURSUS_OK;
  g_free(full);
  g_free(error);
  if (!ok)
    return false;
  bool match = o->from == NULL || strstr(m->env->sender, o->from) != NULL;
  bool to_match = o->to == NULL;
  for (guint i = 0; i < m->env->rcpts->len; i++) {
    const qrcpt *r = m->env->rcpts->pdata[i];
    if (o->to != NULL && strstr(r->address, o->to) != NULL)
      to_match = true;
    if (env_out != NULL && r->state == QSTATE_PENDING)
      g_string_append_printf(env_out, " <%s>", r->address);
  }
  if (env_out != NULL)
    g_string_prepend(env_out, *m->env->sender ? m->env->sender : "<>");
  qmsg_close(&m);
  return match && to_match;
}

static void print_entry(const char *path, const char *chan, int prio,
                        unsigned attempts, int64_t next, bool held, bool busy,
                        uint64_t size, int64_t arrival, const char *env) {
  const char *name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
  int64_t now = now_s();
  char when[32];
  if (held)
    g_strlcpy(when, "held", sizeof(when));
  else if (busy)
    g_strlcpy(when, "delivering", sizeof(when));
  else if (next <= now)
    g_strlcpy(when, "ready", sizeof(when));
  else
    g_snprintf(when, sizeof(when), "retry in %" G_GINT64_FORMAT "s", next - now);
  printf("%-24s %-14s %8" G_GUINT64_FORMAT " %7" G_GINT64_FORMAT "s %3u %-10s %s%s%s\n",
         name, chan, size, now - arrival, attempts, qm_prio_name(prio), when,
         env != NULL ? "  " : "", env != NULL ? env : "");
}

static int qm_list(qm_ctx *q, int argc, char **argv) {
  list_opts o = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-held") == 0)
      o.held_only = true;
    else if (strcmp(a, "-envelope") == 0)
      o.envelope = true;
    else if (v != NULL && strcmp(a, "-channel") == 0)
      o.channel = v, i++;
    else if (v != NULL && strcmp(a, "-from") == 0)
      o.from = v, i++;
    else if (v != NULL && strcmp(a, "-to") == 0)
      o.to = v, i++;
    else if (v != NULL && strcmp(a, "-age") == 0)
      o.min_age = g_ascii_strtoll(v, NULL, 10), i++;
    else if (a[0] != '-' && o.channel == NULL)
      o.channel = a;
    else {
      fprintf(stderr, "cursus qm list: unknown option %s\n", a);
      return 2;
    }
  }
  bool need_env = o.from != NULL || o.to != NULL || o.envelope;
  GPtrArray *lines = qm_ask(q, "LIST%s%s", o.channel ? " " : "",
                         o.channel ? o.channel : "");
  qcache *local = NULL;
  if (lines == NULL) { /* not running: read the files */
    local = qcache_new();
    qcache_rebuild(local, q->cfg->queue_dir, 4);
    lines = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, local->entries);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
      const qc_entry *e = v;
      if (o.channel != NULL && strcmp(e->chan->name, o.channel) != 0)
        continue;
      g_ptr_array_add(lines, g_strdup_printf(
                                 "%s %s %d %u %" G_GINT64_FORMAT " %d 0 %" G_GUINT64_FORMAT
                                 " %" G_GINT64_FORMAT,
                                 e->path, e->chan->name, (int)e->priority,
                                 e->attempts, e->next_retry, e->held, e->size,
                                 e->arrival));
    }
    qcache_free(&local);
  }
  unsigned shown = 0;
  int64_t now = now_s();
  bool on_disk = false;
  for (guint i = 0; i < lines->len; i++) {
    on_disk |= g_str_equal(lines->pdata[i], "+disk");
    char **f = g_strsplit(lines->pdata[i], " ", 0);
    if (g_strv_length(f) < 9) {
      g_strfreev(f);
      continue;
    }
    bool held = atoi(f[5]) != 0;
    int64_t arrival = g_ascii_strtoll(f[8], NULL, 10);
    GString *env = o.envelope ? g_string_new(NULL) : NULL;
    bool keep = (!o.held_only || held) && now - arrival >= o.min_age &&
                (!need_env || envelope_match(q, f[0], &o, env));
    if (keep) {
      print_entry(f[0], f[1], atoi(f[2]), (unsigned)atoi(f[3]),
                  g_ascii_strtoll(f[4], NULL, 10), held, atoi(f[6]) != 0,
                  g_ascii_strtoull(f[7], NULL, 10), arrival,
                  env != NULL ? env->str : NULL);
      shown++;
    }
    if (env != NULL)
      g_string_free(env, TRUE);
    g_strfreev(f);
  }
  printf("%u message(s)%s\n", shown, q->running ? "" : " (job controller not running)");
  if (on_disk)
    printf("more wait on disk: the job controller's cache is full (MAX_MESSAGES)\n");
  g_ptr_array_free(lines, TRUE);
  return 0;
}

/* ---------------------------------------------------------------- show */

static int qm_show(qm_ctx *q, const char *id) {
  char *rel = NULL;
  qmsg *m = qm_open_id(q, id, false, &rel);
  if (m == NULL)
    return 1;
  qenv *e = m->env;
  char *arr = g_date_time_format_iso8601(
      g_date_time_new_from_unix_local(e->arrival_us / G_USEC_PER_SEC));
  printf("File:        %s\n", rel);
  printf("Channel:     %s (from %s)\n", e->channel, e->source);
  printf("Sender:      <%s>\n", e->sender);
  printf("Arrived:     %s\n", arr);
  printf("Size:        %" G_GUINT64_FORMAT " bytes\n", e->size);
  printf("Priority:    %s\n", qm_prio_name(e->priority));
  printf("Attempts:    %u\n", e->attempts);
  if (e->next_retry > 0)
    printf("Next retry:  in %" G_GINT64_FORMAT " s\n", e->next_retry - now_s());
  printf("Held:        %s\n", e->held ? "yes" : "no");
  printf("Notices:     %u delay notice(s) sent\n", e->notices);
  if (e->envid != NULL)
    printf("Envid:       %s\n", e->envid);
  if (e->message_id != NULL)
    printf("Message-ID:  %s\n", e->message_id);
  for (guint i = 0; i < e->rcpts->len; i++) {
    const qrcpt *r = e->rcpts->pdata[i];
    printf("Recipient:   <%s> %s%s%s%s%s\n", r->address, qstate_name(r->state),
           r->code ? " " : "", r->code ? r->code : "", r->diag ? " " : "",
           r->diag ? r->diag : "");
  }
  printf("\n");
  /* the header */
  char buf[65536];
  ssize_t n = pread(m->fd, buf, MIN(sizeof(buf) - 1, e->size),
                    (off_t)m->content_offset);
  if (n > 0) {
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end != NULL)
      end[2] = '\0';
    for (char *p = buf; *p; p++)
      if (*p != '\r')
        putchar(*p);
  }
  g_free(arr);
  g_free(rel);
  qmsg_close(&m);
  return 0;
}

/* -------------------------------------------------------------- changes */

/* qm_hold - hold or release the messages ARGV[1..] */
int qm_hold(qm_ctx *q, int argc, char **argv, bool held) {
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    char *rel = NULL, *error = NULL;
    qmsg *m = qm_open_id(q, argv[i], true, &rel);
    if (m == NULL) {
      rc = 1;
      continue;
    }
    if (qmsg_hold(m, held, &error) != CURSUS_OK ||
        (!held && qmsg_reschedule(m, m->env->attempts, 0, &error) != CURSUS_OK)) {
      fprintf(stderr, "cursus qm: %s\n", error);
      g_free(error);
      rc = 1;
    } else {
      printf("%s %s\n", argv[i], held ? "held" : "released");
      qm_tell(q, rel, !held);
    }
    qmsg_close(&m);
    g_free(rel);
  }
  return rc;
}

/* qm_delete - remove the messages ARGV[1..], returning them to their
 * senders WITH_NOTICE */
int qm_delete(qm_ctx *q, int argc, char **argv, bool with_notice) {
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    char *rel = NULL, *error = NULL;
    qmsg *m = qm_open_id(q, argv[i], true, &rel);
    if (m == NULL) {
      rc = 1;
      continue;
    }
    int st = CURSUS_OK;
    if (with_notice) {
      const cnf_channel *ch = imtacnf_channel(q->cfg->imta, m->env->channel);
      for (guint k = 0; k < m->env->rcpts->len && st == CURSUS_OK; k++) {
        const qrcpt *r = m->env->rcpts->pdata[k];
        if (r->state == QSTATE_PENDING)
          st = qmsg_result(m, k, QSTATE_FAILED, "5.0.0",
                           "returned to the sender by the postmaster", NULL,
                           &error);
      }
      if (st == CURSUS_OK)
        st = qmsg_sync(m, &error);
      if (st == CURSUS_OK)
        st = notice_send(q->cfg, ch, m, DSN_FAILURE, 0, &error);
    }
    if (st == CURSUS_OK)
      st = qmsg_delete(m, q->cfg->queue_dir, true, &error);
    if (st != CURSUS_OK) {
      fprintf(stderr, "cursus qm: %s: %s\n", argv[i], error);
      g_free(error);
      rc = 1;
    } else {
      printf("%s %s\n", argv[i], with_notice ? "returned" : "deleted");
      qm_tell(q, rel, false);
    }
    qmsg_close(&m);
    g_free(rel);
  }
  return rc;
}

static int qm_retry(qm_ctx *q, int argc, char **argv) {
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    if (imtacnf_channel(q->cfg->imta, argv[i]) != NULL) {
      GPtrArray *l = qm_ask(q, "RETRY %s", argv[i]);
      printf("channel %s: %s message(s) due now\n", argv[i],
             l != NULL && l->len > 0 ? (char *)l->pdata[0] : "no");
      if (l != NULL)
        g_ptr_array_free(l, TRUE);
      continue;
    }
    char *rel = NULL, *error = NULL;
    qmsg *m = qm_open_id(q, argv[i], true, &rel);
    if (m == NULL) {
      rc = 1;
      continue;
    }
    if (qmsg_reschedule(m, m->env->attempts, 0, &error) != CURSUS_OK) {
      fprintf(stderr, "cursus qm: %s\n", error);
      g_free(error);
      rc = 1;
    } else {
      printf("%s due now\n", argv[i]);
      qm_tell(q, rel, true);
    }
    qmsg_close(&m);
    g_free(rel);
  }
  return rc;
}

static int qm_table(qm_ctx *q, const char *what) {
  GPtrArray *l = qm_ask(q, "%s", what);
  if (l == NULL) {
    fprintf(stderr, "cursus qm: the job controller is not running\n");
    return 1;
  }
  if (g_str_equal(what, "JOBS"))
    printf("%-8s %-14s %-10s %8s %9s %8s %8s\n", "PID", "CHANNEL", "STATE",
           "FOR(s)", "INFLIGHT", "DONE", "AGE(s)");
  else
    printf("%-14s %7s %7s %7s %5s %5s %9s %9s %9s %7s\n", "CHANNEL", "QUEUED",
           "READY", "DELAYED", "HELD", "BUSY", "ENQUEUED", "DONE",
           "DEFERRED", "ERRORS");
  for (guint i = 0; i < l->len; i++) {
    if (g_str_equal(l->pdata[i], "+disk"))
      printf("more wait on disk: the job controller's cache is full (MAX_MESSAGES)\n");
    char **f = g_strsplit(l->pdata[i], " ", 0);
    if (g_str_equal(what, "JOBS") && g_strv_length(f) >= 7)
      printf("%-8s %-14s %-10s %8s %9s %8s %8s\n", f[0], f[1], f[2], f[3],
             f[4], f[5], f[6]);
    else if (g_strv_length(f) >= 10)
      printf("%-14s %7s %7s %7s %5s %5s %9s %9s %9s %7s\n", f[0], f[1], f[2],
             f[3], f[4], f[5], f[6], f[7], f[8], f[9]);
    g_strfreev(f);
  }
  g_ptr_array_free(l, TRUE);
  return 0;
}

/* qm_counters_clear - zero the counters of CHANNEL (NULL: all), in the
 * running job controller or, when it does not run, in the saved file */
static int qm_counters_clear(qm_ctx *q, const char *channel) {
  GPtrArray *l = qm_ask(q, "CLEAR%s%s", channel ? " " : "", channel ? channel : "");
  if (l != NULL) {
    printf("%s channel counter(s) cleared\n",
           l->len > 0 ? (char *)l->pdata[0] : "0");
    g_ptr_array_free(l, TRUE);
    return 0;
  }
  char *path = qcounters_path(q->cfg->state_dir), *error = NULL;
  qcache *qc = qcache_new();
  int rc = qcounters_load(qc, path, &error);
  unsigned n = 0;
  if (rc == CURSUS_OK) {
    n = qcounters_clear(qc, channel);
    rc = qcounters_save(qc, path, &error);
  }
  if (rc != CURSUS_OK) {
    fprintf(stderr, "cursus qm: %s\n", error);
    g_free(error);
  } else {
    printf("%u channel counter(s) cleared (job controller not running)\n", n);
  }
  qcache_free(&qc);
  g_free(path);
  return rc == CURSUS_OK ? 0 : 1;
}

/* -------------------------------------------------------------- inject */

/* read_stdin_crlf - the message on standard input with CRLF line ends */
static GString *read_stdin_crlf(void) {
  GString *s = g_string_new(NULL);
  char buf[65536];
  size_t n;
  char prev = 0;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    for (size_t i = 0; i < n; i++) {
      if (buf[i] == '\n' && prev != '\r')
        g_string_append_c(s, '\r');
      g_string_append_c(s, buf[i]);
      prev = buf[i];
    }
  if (s->len > 0 && s->str[s->len - 1] != '\n')
    g_string_append(s, "\r\n");
  return s;
}

typedef struct inject_wait {
  GMutex lock;
  GCond cond;
  unsigned left;
} inject_wait;

/* inject_done - on the committer thread: one more file is durable */
static void inject_done(qwrite_job *job) {
  inject_wait *w = job->data;
  g_mutex_lock(&w->lock);
  w->left--;
  g_cond_signal(&w->cond);
  g_mutex_unlock(&w->lock);
}

/* parse_notify - RFC 3461 NOTIFY words to bits */
static unsigned parse_notify(const char *v, bool *bad_r) {
  unsigned bits = 0;
  char **w = g_strsplit(v, ",", 0);
  for (char **p = w; *p != NULL; p++) {
    if (g_ascii_strcasecmp(*p, "NEVER") == 0)
      bits |= CURSUS_NOTIFY_NEVER;
    else if (g_ascii_strcasecmp(*p, "SUCCESS") == 0)
      bits |= CURSUS_NOTIFY_SUCCESS;
    else if (g_ascii_strcasecmp(*p, "FAILURE") == 0)
      bits |= CURSUS_NOTIFY_FAILURE;
    else if (g_ascii_strcasecmp(*p, "DELAY") == 0)
      bits |= CURSUS_NOTIFY_DELAY;
    else
      *bad_r = true;
  }
  g_strfreev(w);
  return bits;
}

static int qm_inject(qm_ctx *q, int argc, char **argv) {
  unsigned count = 1, notify = 0;
  bool orcpt = false;
  const char *source = NULL, *envid = NULL;
  cursus_ret ret = CURSUS_RET_DEFAULT;
  cursus_priority prio = CURSUS_PRIORITY_NORMAL;
  bool bad = false;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-' && !bad; i += 2) {
    const char *o = argv[i], *v = argv[i + 1];
    if (strcmp(o, "-orcpt") == 0) { /* a flag: no value */
      orcpt = true;
      i--;
    } else if (strcmp(o, "-count") == 0)
      count = (unsigned)atoi(v);
    else if (strcmp(o, "-source") == 0)
      source = v;
    else if (strcmp(o, "-envid") == 0)
      envid = v;
    else if (strcmp(o, "-ret") == 0)
      ret = g_ascii_strcasecmp(v, "HDRS") == 0 ? CURSUS_RET_HDRS : CURSUS_RET_FULL;
    else if (strcmp(o, "-priority") == 0)
      prio = g_ascii_strcasecmp(v, "urgent") == 0      ? CURSUS_PRIORITY_URGENT
             : g_ascii_strcasecmp(v, "non-urgent") == 0 ? CURSUS_PRIORITY_NONURGENT
                                                        : CURSUS_PRIORITY_NORMAL;
    else if (strcmp(o, "-notify") == 0)
      notify = parse_notify(v, &bad);
    else
      bad = true;
  }
  if (bad || argc - i < 3 || count == 0) {
    fprintf(stderr, "usage: cursus qm inject [-count N] [-source CHANNEL] "
                    "[-notify NEVER|SUCCESS,FAILURE,DELAY] [-ret FULL|HDRS] "
                    "[-envid ID] [-orcpt] [-priority urgent|normal|non-urgent] "
                    "CHANNEL SENDER RECIPIENT... < MESSAGE\n");
    return 2;
  }
  const char *channel = argv[i];
  const cnf_channel *ch = imtacnf_channel(q->cfg->imta, channel);
  if (ch == NULL) {
    fprintf(stderr, "cursus qm: no channel %s in %s\n", channel,
                    q->cfg->imta->path);
    return 1;
  }
  if (source == NULL)
    source = ((cnf_channel *)q->cfg->imta->channels->pdata[0])->name;
  char *error = NULL;
  if (!daemon_prepare_dirs(q->cfg, &error) ||
      !queue_process_setup(q->cfg, &error) ||
      !queue_mkdirs(q->cfg->queue_dir, channel, &error)) {
    fprintf(stderr, "cursus qm: %s\n", error);
    return 1;
  }
  GString *content = read_stdin_crlf();
  unsigned subdirs = queue_channel_subdirs(ch);
  int rc = 0;
  /* many at once go to the committer together */
  const unsigned batch = 256;
  for (unsigned done = 0; done < count && rc == 0;) {
    GPtrArray *jobs = g_ptr_array_new();
    for (unsigned k = 0; k < batch && done + k < count; k++) {
      qbody *b = qbody_new(q->cfg->queue_dir, 1 << 20);
      if (!qbody_append(b, content->str, content->len, &error)) {
        fprintf(stderr, "cursus qm: %s\n", error);
        qbody_free(&b);
        rc = 1;
        break;
      }
      qenv *e = qenv_new();
      e->channel = g_strdup(channel);
      e->source = g_strdup(source);
      g_free(e->sender);
      e->sender = g_strdup(argv[i + 1]);
      e->priority = prio;
      e->ret = ret;
      e->envid = g_strdup(envid);
      e->body = CURSUS_BODY_8BITMIME;
      e->arrival_us = g_get_real_time();
      e->size = qbody_size(b);
      e->crc = qbody_crc(b);
      for (int r = i + 2; r < argc; r++) {
        char *oc = orcpt ? g_strdup_printf("rfc822;%s", argv[r]) : NULL;
        qenv_add_rcpt(e, argv[r], argv[r], oc, NULL, notify);
        g_free(oc);
      }
      char id[QUEUE_ID_LEN + 1];
      queue_new_id(id);
      char *name = g_strdup_printf("%s.01", id);
      GString *env = g_string_new(NULL);
      qenv_format(e, env);
      qenv_free(&e);
      qwrite_job *job = g_new0(qwrite_job, 1);
      job->body = b;
      job->copies = g_ptr_array_new_with_free_func(qcopy_free);
      qcopy *copy = qcopy_new(channel, subdirs, name, env, prio);
      copy->rcpts = (unsigned)(argc - i - 2);
      g_ptr_array_add(job->copies, copy);
      g_free(name);
      g_ptr_array_add(jobs, job);
    }
    /* submit all, then wait for every one: they are flushed together */
    inject_wait w = {.left = jobs->len};
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    for (guint k = 0; k < jobs->len; k++) {
      qwrite_job *job = jobs->pdata[k];
      job->done = inject_done;
      job->data = &w;
      qwrite_submit(job);
    }
    g_mutex_lock(&w.lock);
    while (w.left > 0)
      g_cond_wait(&w.cond, &w.lock);
    g_mutex_unlock(&w.lock);
    for (guint k = 0; k < jobs->len; k++) {
      qwrite_job *job = jobs->pdata[k];
      if (job->status != CURSUS_OK) {
        fprintf(stderr, "cursus qm: %s\n", job->error);
        rc = 1;
      } else if (count == 1) {
        printf("%s\n", ((qcopy *)job->copies->pdata[0])->rel_path);
      }
      qbody_free(&job->body);
      g_ptr_array_free(job->copies, TRUE);
      g_free(job->error);
      g_free(job);
    }
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    done += jobs->len;
    g_ptr_array_free(jobs, TRUE);
  }
  if (count > 1 && rc == 0)
    printf("%u message(s) queued to %s\n", count, channel);
  g_string_free(content, TRUE);
  return rc;
}

/* prepare_notices - what enqueueing a notice needs in this process */
static bool prepare_notices(qm_ctx *q) {
  char *error = NULL;
  if (!queue_process_setup(q->cfg, &error) ||
      !modules_init(q->mods, CURSUS_KIND_DIRECTORY | CURSUS_KIND_MAPPING,
                    false) ||
      (dir_service_wanted(q->cfg) &&
       !dir_service_start(q->cfg, q->mods, &error))) {
    fprintf(stderr, "cursus qm: cannot send notices: %s\n",
            error != NULL ? error : "a module failed to start");
    g_free(error);
    return false;
  }
  return true;
}

int cmd_qm(cmd_ctx *ctx) {
  if (ctx->argc < 2) {
    fprintf(stderr,
            "usage: cursus qm list|show|history|hold|release|delete|return|"
            "retry|clean|top|counters [clear]|jobs|inject ...\n");
    return 2;
  }
  qm_ctx q = {0};
  log_init("qm");
  q.cfg = cmd_load_config(ctx, CURSUS_PROC_TOOL, &q.mods, false);
  if (q.cfg == NULL)
    return 1;
  config_set_current(q.cfg);
  host_init(CURSUS_PROC_TOOL);
  host_set_queue(hostq_ops(NULL));
  int argc = ctx->argc - 1;
  char **argv = ctx->argv + 1;
  const char *c = argv[0];
  int rc;
  if (strcmp(c, "list") == 0 || strcmp(c, "directory") == 0)
    rc = qm_list(&q, argc, argv);
  else if ((strcmp(c, "show") == 0 || strcmp(c, "view") == 0) && argc == 2)
    rc = qm_show(&q, argv[1]);
  else if (strcmp(c, "hold") == 0 && argc > 1)
    rc = qm_hold(&q, argc, argv, true);
  else if (strcmp(c, "release") == 0 && argc > 1)
    rc = qm_hold(&q, argc, argv, false);
  else if (strcmp(c, "delete") == 0 && argc > 1)
    rc = qm_delete(&q, argc, argv, false);
  else if (strcmp(c, "return") == 0 && argc > 1)
    rc = prepare_notices(&q) ? qm_delete(&q, argc, argv, true) : 1;
  else if (strcmp(c, "retry") == 0 && argc > 1)
    rc = qm_retry(&q, argc, argv);
  else if (strcmp(c, "counters") == 0 && argc >= 2 && strcmp(argv[1], "clear") == 0)
    rc = qm_counters_clear(&q, argc > 2 ? argv[2] : NULL);
  else if (strcmp(c, "counters") == 0 || strcmp(c, "summarize") == 0)
    rc = qm_table(&q, "COUNTERS");
  else if (strcmp(c, "history") == 0 && argc == 2)
    rc = qm_history(&q, argv[1]);
  else if (strcmp(c, "clean") == 0)
    rc = qm_clean(&q, argc, argv);
  else if (strcmp(c, "top") == 0)
    rc = qm_top(&q, argc, argv);
  else if (strcmp(c, "jobs") == 0)
    rc = qm_table(&q, "JOBS");
  else if (strcmp(c, "inject") == 0)
    rc = qm_inject(&q, argc, argv);
  else {
    fprintf(stderr, "cursus qm: unknown command or missing argument: %s\n", c);
    rc = 2;
  }
  qwrite_stop();
  config_set_current(NULL);
  config_unref(&q.cfg);
  modreg_free(&q.mods);
  return rc;
}
