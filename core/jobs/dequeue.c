/*
 * dequeue.c - one delivery attempt of one queue file
 */
#include "build-config.h"
#include "dequeue.h"
#include "mta/msglog.h"
#include "hdrfield.h"
#include "notice.h"
#include "module/host.h"
#include "queue/hostq.h"
#include "queue/qconfig.h"
#include "queue/queue.h"
#include "schedule.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int64_t now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

/* log_result - the message log line for one recipient's outcome */
static void log_result(const dequeue_ctx *dq, const qmsg *q, const qrcpt *r,
                       char code, const char *diag_text) {
  if (!queue_channel_logging(dq->ch))
    return;
  msglog_entry e = {
      .code = code,
      .source = q->env->source,
      .dest = dq->ch->name,
      .size = q->env->size,
      .from = q->env->sender,
      .orcpt = r->orcpt != NULL ? r->orcpt : r->original,
      .to = r->address,
      .file = strrchr(q->path, '/') != NULL ? strrchr(q->path, '/') + 1
                                            : q->path,
      .message_id = q->env->message_id,
      .connection = r->remote,
      .diag = diag_text,
  };
  msglog_write(&e);
}

/* --------------------------------------------------------- the attempt */

static char *full_path(const config *cfg, const char *rel_path) {
  return g_build_filename(cfg->queue_dir, rel_path, NULL);
}

/* fail_pending - every pending recipient fails with CODE and TEXT */
static void fail_pending(dequeue_ctx *dq, qmsg *q, const char *code,
                         const char *text) {
  for (guint i = 0; i < q->env->rcpts->len; i++) {
    qrcpt *r = q->env->rcpts->pdata[i];
    if (r->state != QSTATE_PENDING)
      continue;
    char *error = NULL;
    const char *diag_text = text;
    char *combined = NULL;
    if (r->diag != NULL) /* say what the last attempt met */
      diag_text = combined = g_strdup_printf("%s; last error: %s", text, r->diag);
    /* qmsg_result replaces r->remote: pass a copy */
    char *remote = g_strdup(r->remote);
    int rc = qmsg_result(q, i, QSTATE_FAILED, code, diag_text, remote, &error);
    g_free(remote);
    if (rc != CURSUS_OK) {
      log_error("%s", error);
      g_free(error);
    } else {
      log_result(dq, q, r, 'R', diag_text);
    }
    g_free(combined);
  }
}

/* call_module - the module's deliver on the pending recipients; each
 * result is in the file as the module reports it (hostq.h) */
static void call_module(dequeue_ctx *dq, qmsg *q) {
  GArray *pending = g_array_new(FALSE, FALSE, sizeof(unsigned));
  GArray *before = g_array_new(FALSE, FALSE, sizeof(unsigned));
  for (guint i = 0; i < q->env->rcpts->len; i++) {
    const qrcpt *r = q->env->rcpts->pdata[i];
    if (r->state == QSTATE_PENDING) {
      g_array_append_val(pending, i);
      g_array_append_val(before, r->results);
    }
  }
  cursus_message *m = hostq_message_new(q);
  const char *error = NULL;
  int rc = dq->mod->desc->channel->deliver(dq->chan_data, m, &error);
  const cursus_queue_ops *ops = host_table()->queue;
  for (guint k = 0; k < pending->len; k++) {
    unsigned idx = g_array_index(pending, unsigned, k);
    const qrcpt *r = q->env->rcpts->pdata[idx];
    /* a result recorded during this call, even a deferral in the same
     * second as the previous attempt's */
    bool reported = r->results != g_array_index(before, unsigned, k);
    if (!reported) {
      /* no result from the module: the call's own result stands */
      cursus_result res = {
          .status = rc == CURSUS_PERMFAIL ? CURSUS_PERMFAIL : CURSUS_TEMPFAIL,
          .code = rc == CURSUS_PERMFAIL ? "5.3.0" : "4.3.0",
          .text = error != NULL ? error : "the channel gave no result",
      };
      ops->rcpt_result(m, k, &res);
    }
    log_result(dq, q, r,
               r->state == QSTATE_DELIVERED || r->state == QSTATE_RELAYED ? 'D'
               : r->state == QSTATE_FAILED                               ? 'R'
                                                                         : 'Q',
               r->diag);
  }
  hostq_message_free(&m);
  g_array_free(pending, TRUE);
  g_array_free(before, TRUE);
}

/* notices_due - handle the notice schedule before an attempt: false when
 * the message has expired (its pending recipients are then failed) */
static bool notices_due(dequeue_ctx *dq, qmsg *q, const sched_notices *sn,
                        int64_t age) {
  if (age >= sn->age_s[sn->count - 1]) {
    char *text = g_strdup_printf("delivery time expired: not delivered "
                                 "after %" G_GINT64_FORMAT " seconds in the "
                                 "queue",
                                 age);
    fail_pending(dq, q, "4.4.7", text);
    g_free(text);
    return false;
  }
  unsigned due = 0;
  while (due + 1 < sn->count && age >= sn->age_s[due])
    due++;
  if (due > q->env->notices) {
    char *error = NULL;
    int64_t until = q->env->arrival_us / G_USEC_PER_SEC + sn->age_s[sn->count - 1];
    if (notice_send(dq->cfg, dq->ch, q, DSN_DELAY, until, &error) ==
        CURSUS_OK) {
      if (qmsg_notice(q, due, &error) != CURSUS_OK) {
        log_error("%s", error);
        g_free(error);
      } else if (queue_channel_logging(dq->ch)) {
        for (guint i = 0; i < q->env->rcpts->len; i++) {
          const qrcpt *r = q->env->rcpts->pdata[i];
          if (r->state == QSTATE_PENDING)
            log_result(dq, q, r, 'W', "delay notice sent");
        }
      }
    } else {
      log_warning("%s: delay notice not sent: %s", q->path, error);
      g_free(error);
    }
  }
  return true;
}

/* deferred_until - on a `deferred` channel, the Deferred-delivery: time
 * of Q when it is still to come, else 0 */
static int64_t deferred_until(const dequeue_ctx *dq, const qmsg *q) {
  static const char *const which[] = {"deferred", "nodeferred", NULL};
  const char *mode = dq->ch != NULL ? cnf_channel_last_of(dq->ch, which) : NULL;
  if (mode == NULL || strcmp(mode, "deferred") != 0)
    return 0;
  char *value = NULL;
  int64_t t = 0;
  if (hdrfield_get(q, "Deferred-delivery", &value) == CURSUS_OK &&
      !hdrfield_date(value, &t))
    log_warning("%s: Deferred-delivery: \"%.80s\" is not a date; ignored",
                q->path, value);
  g_free(value);
  return t > now_s() ? t : 0;
}

/* remove_done - the message is settled: its file goes (to the spare
 * files, for a later message) */
static void remove_done(const dequeue_ctx *dq, qmsg *q, jobproto_result *res) {
  char *error = NULL;
  if (qmsg_delete(q, dq->cfg->queue_dir, false, &error) != CURSUS_OK) {
    res->outcome = JOB_ERROR;
    g_strlcpy(res->text, error, sizeof(res->text));
    g_free(error);
    return;
  }
  res->outcome = JOB_DONE;
}

/* finish - send the notices owed, then delete or reschedule */
static void finish(dequeue_ctx *dq, qmsg *q, const sched_notices *sn,
                   cursus_priority prio, jobproto_result *res) {
  char *error = NULL;
  if (qenv_pending(q->env) == 0 && !notice_owed(q->env)) {
    /* every recipient delivered, nobody to tell: the file goes at once.
     * Its results need no fsync first: a killed job leaves them in the
     * page cache; only a crash of the system before the next journal
     * commit can bring the file back, and then its mail is delivered a
     * second time, never lost */
    remove_done(dq, q, res);
    return;
  }
  if (qmsg_sync(q, &error) != CURSUS_OK) {
    res->outcome = JOB_ERROR;
    g_strlcpy(res->text, error, sizeof(res->text));
    g_free(error);
    return;
  }
  int rc = notice_send(dq->cfg, dq->ch, q, DSN_FAILURE, 0, &error);
  if (rc == CURSUS_OK)
    rc = notice_send(dq->cfg, dq->ch, q, DSN_SUCCESS, 0, &error);
  if (rc == CURSUS_OK)
    rc = qmsg_sync(q, &error);
  if (rc != CURSUS_OK) {
    /* the recipients are settled; the notice is retried soon */
    log_warning("%s: %s; trying again later", q->path, error);
    g_free(error);
    res->outcome = JOB_DEFERRED;
    res->next_retry = now_s() + 60;
    return;
  }
  if (qenv_pending(q->env) == 0) {
    /* every result is on disk: should the unlink be lost in a crash,
     * the file comes back with nothing left to do and is removed then */
    remove_done(dq, q, res);
    return;
  }
  unsigned attempts = q->env->attempts + 1;
  int64_t now = now_s();
  int64_t next = now + sched_backoff(dq->ch, prio, attempts);
  /* wake up in time for the next notice or the return */
  int64_t arrival = q->env->arrival_us / G_USEC_PER_SEC;
  for (unsigned k = 0; k < sn->count; k++)
    if (arrival + sn->age_s[k] > now && (k >= q->env->notices || k + 1 == sn->count)) {
      next = MIN(next, arrival + sn->age_s[k]);
      break;
    }
  if (qmsg_reschedule(q, attempts, next, &error) != CURSUS_OK) {
    res->outcome = JOB_ERROR;
    g_strlcpy(res->text, error, sizeof(res->text));
    g_free(error);
    return;
  }
  res->outcome = JOB_DEFERRED;
  res->next_retry = next;
}

void dequeue_one(dequeue_ctx *dq, const char *rel_path,
                 jobproto_result *res) {
  memset(res, 0, sizeof(*res));
  g_strlcpy(res->path, rel_path, sizeof(res->path));
  char *path = full_path(dq->cfg, rel_path);
  char *error = NULL;
  qmsg *q = NULL;
  int rc = qmsg_open(path, true, &q, &error);
  g_free(path);
  if (rc == CURSUS_NONE) {
    res->outcome = JOB_DONE; /* removed meanwhile (qm delete) */
    g_free(error);
    return;
  }
  if (rc != CURSUS_OK) {
    res->outcome = JOB_ERROR;
    g_strlcpy(res->text, error, sizeof(res->text));
    log_error("%s", error);
    g_free(error);
    return;
  }
  if (q->env->held) {
    res->outcome = JOB_HELD;
    qmsg_close(&q);
    return;
  }
  int64_t until = deferred_until(dq, q);
  if (until > 0) {
    /* not an attempt: the retry time is kept for a restarted controller */
    if (qmsg_reschedule(q, q->env->attempts, until, &error) != CURSUS_OK) {
      res->outcome = JOB_ERROR;
      g_strlcpy(res->text, error, sizeof(res->text));
      g_free(error);
    } else {
      res->outcome = JOB_WAITING;
      res->next_retry = until;
    }
    qmsg_close(&q);
    return;
  }
  cursus_priority prio =
      jpolicy_priority(&dq->pol, q->env->priority, q->env->size, NULL);
  sched_notices sn;
  sched_get_notices(dq->cfg, dq->ch, prio, &sn);
  int64_t age = now_s() - q->env->arrival_us / G_USEC_PER_SEC;
  if (qenv_pending(q->env) > 0 && notices_due(dq, q, &sn, age))
    call_module(dq, q);
  finish(dq, q, &sn, prio, res);
  qmsg_close(&q);
}

int64_t dequeue_reschedule(const config *cfg, const char *rel_path) {
  char *path = full_path(cfg, rel_path);
  char *error = NULL;
  qmsg *q = NULL;
  int64_t next = 0;
  if (qmsg_open(path, true, &q, &error) == CURSUS_OK) {
    const cnf_channel *ch = imtacnf_channel(cfg->imta, q->env->channel);
    unsigned attempts = q->env->attempts + 1;
    jpolicy pol;
    jpolicy_read(cfg, ch, &pol);
    cursus_priority prio =
        jpolicy_priority(&pol, q->env->priority, q->env->size, NULL);
    next = now_s() + sched_backoff(ch, prio, attempts);
    if (qmsg_reschedule(q, attempts, next, &error) != CURSUS_OK) {
      log_error("%s", error);
      g_free(error);
    }
    qmsg_close(&q);
  } else {
    g_free(error);
  }
  g_free(path);
  return next;
}
