/*
 * dequeue.c - one delivery attempt of one queue file
 */
#include "build-config.h"
#include "dequeue.h"
#include "mta/msglog.h"
#include "notice.h"
#include "queue/qconfig.h"
#include "queue/queue.h"
#include "schedule.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The message a module sees during deliver. */
struct cursus_message {
  dequeue_ctx *dq;
  qmsg *q;
  const char *name;       /* file name (the queue id) */
  GArray *pending;        /* of unsigned: envelope index of each view */
  cursus_recipient *view; /* what the module reads */
  bool *reported;
};

static int64_t now_s(void) { return g_get_real_time() / G_USEC_PER_SEC; }

/* ------------------------------------------------- host->queue members */

static const char *m_message_id(cursus_message *m) { return m->name; }
static const char *m_sender(cursus_message *m) {
  return m->q->env->sender != NULL ? m->q->env->sender : "";
}
static const char *m_envid(cursus_message *m) { return m->q->env->envid; }
static cursus_ret m_ret(cursus_message *m) { return m->q->env->ret; }
static cursus_body m_body(cursus_message *m) { return m->q->env->body; }
static int m_smtputf8(cursus_message *m) { return m->q->env->smtputf8; }
static size_t m_count(cursus_message *m) { return m->pending->len; }

static const cursus_recipient *m_recipient(cursus_message *m, size_t i) {
  return i < m->pending->len ? &m->view[i] : NULL;
}

static int m_content_fd(cursus_message *m, uint64_t *offset_r,
                        uint64_t *size_r) {
  *offset_r = m->q->content_offset;
  *size_r = m->q->env->size;
  if (lseek(m->q->fd, (off_t)m->q->content_offset, SEEK_SET) < 0)
    return -1;
  return m->q->fd;
}

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

static void m_rcpt_result(cursus_message *m, size_t i,
                          const cursus_result *res) {
  if (i >= m->pending->len || res == NULL)
    return;
  unsigned idx = g_array_index(m->pending, unsigned, i);
  qstate state = res->status == CURSUS_OK         ? QSTATE_DELIVERED
                 : res->status == CURSUS_PERMFAIL ? QSTATE_FAILED
                                                  : QSTATE_PENDING;
  const char *code = res->code;
  if (code == NULL || *code == '\0')
    code = state == QSTATE_DELIVERED ? "2.0.0"
           : state == QSTATE_FAILED  ? "5.0.0"
                                     : "4.0.0";
  char *error = NULL;
  if (qmsg_result(m->q, idx, state, code, res->text, res->remote, &error) !=
      CURSUS_OK) {
    log_error("cannot record the result for <%s>: %s", m->view[i].address,
              error);
    g_free(error);
    return;
  }
  m->reported[i] = true;
  const qrcpt *r = m->q->env->rcpts->pdata[idx];
  log_result(m->dq, m->q, r,
             state == QSTATE_DELIVERED ? 'D'
             : state == QSTATE_FAILED  ? 'R'
                                       : 'Q',
             res->text);
}

/* channel configuration, for modules */
static const char *c_name(const cursus_channel *chan) {
  return ((const cnf_channel *)chan)->name;
}

static const char *c_host(const cursus_channel *chan) {
  const cnf_channel *ch = (const cnf_channel *)chan;
  return ch->hosts->len > 0 ? ((cnf_host *)ch->hosts->pdata[0])->name : NULL;
}

static const char *c_keyword(const cursus_channel *chan, const char *keyword,
                             size_t index) {
  const cnf_kw *k = cnf_channel_kw((const cnf_channel *)chan, keyword);
  if (k == NULL)
    return NULL;
  if (k->values->len == 0)
    return index == 0 ? "" : NULL;
  return index < k->values->len ? k->values->pdata[index] : NULL;
}

static int c_keyword_count(const cursus_channel *chan, const char *keyword) {
  const cnf_kw *k = cnf_channel_kw((const cnf_channel *)chan, keyword);
  return k != NULL ? (int)k->values->len : -1;
}

void dequeue_fill_ops(cursus_queue_ops *ops) {
  ops->message_id = m_message_id;
  ops->sender = m_sender;
  ops->envid = m_envid;
  ops->ret = m_ret;
  ops->body = m_body;
  ops->smtputf8 = m_smtputf8;
  ops->recipient_count = m_count;
  ops->recipient = m_recipient;
  ops->content_fd = m_content_fd;
  ops->rcpt_result = m_rcpt_result;
  ops->channel_name = c_name;
  ops->channel_host = c_host;
  ops->channel_keyword = c_keyword;
  ops->channel_keyword_count = c_keyword_count;
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
    if (qmsg_result(q, i, QSTATE_FAILED, code, diag_text, r->remote, &error) !=
        CURSUS_OK) {
      log_error("%s", error);
      g_free(error);
    } else {
      log_result(dq, q, r, 'R', diag_text);
    }
    g_free(combined);
  }
}

/* call_module - the module's deliver on the pending recipients */
static void call_module(dequeue_ctx *dq, qmsg *q) {
  cursus_message m = {.dq = dq, .q = q};
  m.name = strrchr(q->path, '/') != NULL ? strrchr(q->path, '/') + 1 : q->path;
  m.pending = g_array_new(FALSE, FALSE, sizeof(unsigned));
  for (guint i = 0; i < q->env->rcpts->len; i++)
    if (((qrcpt *)q->env->rcpts->pdata[i])->state == QSTATE_PENDING)
      g_array_append_val(m.pending, i);
  m.view = g_new0(cursus_recipient, m.pending->len);
  m.reported = g_new0(bool, m.pending->len);
  for (guint k = 0; k < m.pending->len; k++) {
    const qrcpt *r =
        q->env->rcpts->pdata[g_array_index(m.pending, unsigned, k)];
    m.view[k] = (cursus_recipient){.address = r->address,
                                   .original = r->original,
                                   .orcpt = r->orcpt,
                                   .host = r->host,
                                   .notify = r->notify};
  }
  const char *error = NULL;
  int rc = dq->mod->desc->channel->deliver(dq->chan_data, &m, &error);
  /* recipients the module left without a result get the call's */
  for (guint k = 0; k < m.pending->len; k++) {
    if (m.reported[k])
      continue;
    cursus_result res = {
        .status = rc == CURSUS_PERMFAIL ? CURSUS_PERMFAIL : CURSUS_TEMPFAIL,
        .code = rc == CURSUS_PERMFAIL ? "5.3.0" : "4.3.0",
        .text = error != NULL ? error : "the channel gave no result",
    };
    m_rcpt_result(&m, k, &res);
  }
  g_free(m.view);
  g_free(m.reported);
  g_array_free(m.pending, TRUE);
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

/* finish - send the notices owed, then delete or reschedule */
static void finish(dequeue_ctx *dq, qmsg *q, const sched_notices *sn,
                   jobproto_result *res) {
  char *error = NULL;
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
    if (unlink(q->path) < 0 && errno != ENOENT) {
      res->outcome = JOB_ERROR;
      g_snprintf(res->text, sizeof(res->text), "unlink: %s",
                 g_strerror(errno));
      return;
    }
    res->outcome = JOB_DONE;
    return;
  }
  unsigned attempts = q->env->attempts + 1;
  int64_t now = now_s();
  int64_t next = now + sched_backoff(dq->ch, q->env->priority, attempts);
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
  sched_notices sn;
  sched_get_notices(dq->cfg, dq->ch, q->env->priority, &sn);
  int64_t age = now_s() - q->env->arrival_us / G_USEC_PER_SEC;
  if (qenv_pending(q->env) > 0 && notices_due(dq, q, &sn, age))
    call_module(dq, q);
  finish(dq, q, &sn, res);
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
    next = now_s() + sched_backoff(ch, q->env->priority, attempts);
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
