/*
 * hostq.c - the host's queue table for modules
 */
#include "build-config.h"
#include "hostq.h"
#include "admit.h"
#include "enqueue.h"
#include "qnotify.h"
#include "config/config.h"
#include "filter/fconf.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static ev_loop *hostq_loop;

/* ------------------------------------------------ the delivered message */

struct cursus_message {
  qmsg *q;
  char *name;
  GArray *pending;          /* of guint: indices in q->env->rcpts */
  cursus_recipient *views;  /* one per pending recipient */
  unsigned results;
};

cursus_message *hostq_message_new(qmsg *q) {
  cursus_message *m = g_new0(cursus_message, 1);
  m->q = q;
  m->name = g_path_get_basename(q->path);
  m->pending = g_array_new(FALSE, FALSE, sizeof(guint));
  for (guint i = 0; i < q->env->rcpts->len; i++)
    if (((qrcpt *)q->env->rcpts->pdata[i])->state == QSTATE_PENDING)
      g_array_append_val(m->pending, i);
  m->views = g_new0(cursus_recipient, MAX(m->pending->len, 1));
  for (guint k = 0; k < m->pending->len; k++) {
    const qrcpt *r = q->env->rcpts->pdata[g_array_index(m->pending, guint, k)];
    m->views[k] = (cursus_recipient){.address = r->address,
                                     .original = r->original,
                                     .orcpt = r->orcpt,
                                     .host = r->host,
                                     .notify = r->notify};
  }
  return m;
}

int hostq_message_sync(cursus_message *m, char **error_r) {
  return qmsg_sync(m->q, error_r);
}

unsigned hostq_message_results(const cursus_message *m) { return m->results; }

void hostq_message_free(cursus_message **mp) {
  cursus_message *m = *mp;
  if (m == NULL)
    return;
  *mp = NULL;
  g_array_free(m->pending, TRUE);
  g_free(m->views);
  g_free(m->name);
  g_free(m);
}

static const char *m_message_id(cursus_message *m) { return m->name; }
static const char *m_sender(cursus_message *m) { return m->q->env->sender; }
static const char *m_envid(cursus_message *m) { return m->q->env->envid; }
static cursus_ret m_ret(cursus_message *m) { return m->q->env->ret; }
static cursus_body m_body(cursus_message *m) { return m->q->env->body; }
static int m_smtputf8(cursus_message *m) { return m->q->env->smtputf8; }
static size_t m_recipient_count(cursus_message *m) { return m->pending->len; }

static const cursus_recipient *m_recipient(cursus_message *m, size_t i) {
  return i < m->pending->len ? &m->views[i] : NULL;
}

static int m_content_fd(cursus_message *m, uint64_t *offset_r,
                        uint64_t *size_r) {
  *offset_r = m->q->content_offset;
  *size_r = m->q->env->size;
  if (lseek(m->q->fd, (off_t)m->q->content_offset, SEEK_SET) < 0)
    return -1;
  return m->q->fd;
}

static void m_rcpt_result(cursus_message *m, size_t i, const cursus_result *r) {
  if (i >= m->pending->len || r == NULL)
    return;
  qstate st = r->status == CURSUS_OK         ? QSTATE_DELIVERED
              : r->status == CURSUS_PERMFAIL ? QSTATE_FAILED
                                             : QSTATE_PENDING;
  char *err = NULL;
  if (qmsg_result(m->q, g_array_index(m->pending, guint, i), st, r->code,
                  r->text, r->remote, &err) != CURSUS_OK) {
    log_error("%s", err);
    g_free(err);
    return;
  }
  m->results++;
}

/* m_rcpt_result_dsn - a relay's result and who owes the success notice */
static void m_rcpt_result_dsn(cursus_message *m, size_t i,
                              const cursus_result *r, unsigned duty) {
  if (i >= m->pending->len || r == NULL)
    return;
  if (r->status != CURSUS_OK) {
    m_rcpt_result(m, i, r);
    return;
  }
  guint idx = g_array_index(m->pending, guint, i);
  qstate st = duty == CURSUS_DSN_RELAYED ? QSTATE_RELAYED : QSTATE_DELIVERED;
  char *err = NULL;
  if (qmsg_result(m->q, idx, st, r->code, r->text, r->remote, &err) !=
          CURSUS_OK ||
      (duty == CURSUS_DSN_PASSED &&
       qmsg_dsn(m->q, idx,
                ((qrcpt *)m->q->env->rcpts->pdata[idx])->dsn | QDSN_SUCCESS,
                false, &err) != CURSUS_OK)) {
    log_error("%s", err);
    g_free(err);
    return;
  }
  m->results++;
}

/* --------------------------------------------------------- enqueueing */

/* A refusal of enqueue_begin outlives the handle it came from. */
static _Thread_local char begin_error[512];

static cursus_enqueue *h_enqueue_begin(cursus_module_ctx *ctx,
                                       const char *source, const char *sender,
                                       const char **error_r) {
  cursus_enqueue_params p = {.size = sizeof(p),
                             .source_channel = source,
                             .sender = sender};
  cursus_reply r = {0};
  enqueue *e = enqueue_start(&p, &r);
  if (e == NULL) {
    g_snprintf(begin_error, sizeof(begin_error), "%s", r.text);
    *error_r = begin_error;
  }
  return e;
}

static int h_enqueue_recipient(cursus_enqueue *e, const char *address,
                               unsigned notify, const char *orcpt,
                               const char **error_r) {
  cursus_reply r = {0};
  int rc = enqueue_rcpt(e, address, notify, orcpt, &r);
  if (rc != CURSUS_OK)
    *error_r = r.text;
  return rc;
}

static int h_enqueue_routes(cursus_enqueue *e, const cursus_recipient *rcpt,
                            const struct cursus_resolution *res,
                            const char **error_r) {
  if (res == NULL || res->status != CURSUS_OK) {
    *error_r = "5.1.1 the recipient is not resolved";
    return CURSUS_PERMFAIL;
  }
  cursus_reply r = {0};
  int rc = enqueue_rcpt_routed(e, rcpt->original != NULL ? rcpt->original
                                                         : rcpt->address,
                               rcpt->notify, rcpt->orcpt, res->routes,
                               res->n_routes, &r);
  if (rc != CURSUS_OK)
    *error_r = r.text;
  return rc;
}

static int h_enqueue_write(cursus_enqueue *e, const void *data, size_t len,
                           const char **error_r) {
  return enqueue_write(e, data, len, error_r);
}

static int h_enqueue_commit(cursus_enqueue *e, const char **queue_id_r,
                            const char **error_r) {
  cursus_reply r = {0};
  int rc = enqueue_commit(e, &r);
  *queue_id_r = enqueue_id(e);
  if (rc != CURSUS_OK)
    *error_r = r.text;
  return rc;
}

static void h_enqueue_free(cursus_enqueue **e) { enqueue_free(e); }

static cursus_enqueue *h_enqueue_start(cursus_module_ctx *ctx,
                                       const cursus_enqueue_params *p,
                                       cursus_reply *r) {
  return enqueue_start(p, r);
}

static int h_enqueue_rcpt(cursus_enqueue *e, const char *address,
                          unsigned notify, const char *orcpt, cursus_reply *r) {
  return enqueue_rcpt(e, address, notify, orcpt, r);
}

static int h_enqueue_commit_async(cursus_enqueue *e,
                                  void (*done)(void *, int), void *data,
                                  const char **error_r) {
  if (hostq_loop == NULL) {
    *error_r = "no event loop in this process: use enqueue_commit";
    return CURSUS_TEMPFAIL;
  }
  return enqueue_commit_async(e, hostq_loop, done, data, error_r);
}

static void h_enqueue_reply(cursus_enqueue *e, size_t index, cursus_reply *r) {
  enqueue_reply(e, index, r);
}

static const char *h_enqueue_id(cursus_enqueue *e) { return enqueue_id(e); }
static size_t h_enqueue_rcpt_count(cursus_enqueue *e) {
  return enqueue_rcpt_count(e);
}

static uint64_t h_size_limit(const char *source_channel) {
  config *cfg = config_current_ref();
  uint64_t n = cfg != NULL ? enqueue_size_limit(cfg, source_channel) : 0;
  config_unref(&cfg);
  return n;
}

/* --------------------------------------------------------- channels */

static const cnf_channel *chan_of(const cursus_channel *c) {
  return (const cnf_channel *)c;
}

static const char *c_name(const cursus_channel *c) { return chan_of(c)->name; }

static const char *c_host(const cursus_channel *c) {
  const cnf_channel *ch = chan_of(c);
  return ch->hosts->len > 0 ? ((cnf_host *)ch->hosts->pdata[0])->name : NULL;
}

static const char *c_keyword(const cursus_channel *c, const char *keyword,
                             size_t index) {
  const cnf_kw *kw = cnf_channel_kw(chan_of(c), keyword);
  if (kw == NULL)
    return NULL;
  if (kw->values->len == 0)
    return index == 0 ? "" : NULL;
  return index < kw->values->len ? kw->values->pdata[index] : NULL;
}

static int c_keyword_count(const cursus_channel *c, const char *keyword) {
  const cnf_kw *kw = cnf_channel_kw(chan_of(c), keyword);
  return kw != NULL ? (int)kw->values->len : -1;
}

static const cursus_channel *h_channel_find(const char *name) {
  config *cfg = config_current();
  if (cfg == NULL || cfg->imta == NULL || name == NULL)
    return NULL;
  return (const cursus_channel *)imtacnf_channel(cfg->imta, name);
}

static const char *h_switch_channel(const char *channel, const char *ip,
                                    const char *name) {
  /* the answer must outlive this call: channel names are few */
  char *ch = admit_switch_channel(channel, ip, name);
  const char *out = g_intern_string(ch);
  g_free(ch);
  return out;
}

static const char *c_keyword_last(const cursus_channel *c,
                                  const char *const *names) {
  return cnf_channel_last_of(chan_of(c), names);
}

static void h_run_request(const char *target) { qnotify_run(target); }

static int h_enqueue_waits(const char *source_channel) {
  config *cfg = config_current();
  if (cfg == NULL || source_channel == NULL)
    return 1;
  return fconf_chain(cfg, source_channel) != NULL || !config_lookups_local(cfg);
}

static const cursus_queue_ops table = {
    .size = sizeof(cursus_queue_ops),
    .message_id = m_message_id,
    .sender = m_sender,
    .envid = m_envid,
    .ret = m_ret,
    .body = m_body,
    .smtputf8 = m_smtputf8,
    .recipient_count = m_recipient_count,
    .recipient = m_recipient,
    .content_fd = m_content_fd,
    .rcpt_result = m_rcpt_result,
    .enqueue_begin = h_enqueue_begin,
    .enqueue_recipient = h_enqueue_recipient,
    .enqueue_write = h_enqueue_write,
    .enqueue_commit = h_enqueue_commit,
    .enqueue_free = h_enqueue_free,
    .channel_name = c_name,
    .channel_host = c_host,
    .channel_keyword = c_keyword,
    .channel_keyword_count = c_keyword_count,
    .enqueue_start = h_enqueue_start,
    .enqueue_rcpt = h_enqueue_rcpt,
    .enqueue_commit_async = h_enqueue_commit_async,
    .enqueue_reply = h_enqueue_reply,
    .enqueue_id = h_enqueue_id,
    .enqueue_rcpt_count = h_enqueue_rcpt_count,
    .size_limit = h_size_limit,
    .channel_find = h_channel_find,
    .switch_channel = h_switch_channel,
    .channel_keyword_last = c_keyword_last,
    .run_request = h_run_request,
    .rcpt_result_dsn = m_rcpt_result_dsn,
    .enqueue_routes = h_enqueue_routes,
    .enqueue_waits = h_enqueue_waits,
};

const cursus_queue_ops *hostq_ops(ev_loop *loop) {
  hostq_loop = loop;
  return &table;
}
