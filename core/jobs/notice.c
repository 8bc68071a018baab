/*
 * notice.c - who gets a notice, and enqueueing it
 */
#include "build-config.h"
#include "notice.h"
#include "module/host.h"
#include "util/log.h"

#include <string.h>

/* Returned messages above this size come back as their header only. */
#define MAX_RETURN (2u * 1024 * 1024)

char *notice_postmaster(const config *cfg) {
  const char *pm = conf_get(cfg->conf, "server", "postmaster");
  if (pm != NULL && *pm != '\0')
    return g_strdup(pm);
  return g_strdup_printf("postmaster@%s", cfg->hostname);
}

/* wanted - the recipient's NOTIFY asks for a notice of KIND */
static bool wanted(const qrcpt *r, dsn_kind kind) {
  if (r->notify & CURSUS_NOTIFY_NEVER)
    return false;
  if (r->notify == CURSUS_NOTIFY_DEFAULT)
    return kind != DSN_SUCCESS;
  unsigned bit = kind == DSN_FAILURE ? CURSUS_NOTIFY_FAILURE
                 : kind == DSN_DELAY ? CURSUS_NOTIFY_DELAY
                                     : CURSUS_NOTIFY_SUCCESS;
  return (r->notify & bit) != 0;
}

/* selected - the recipient is in the notice at all */
static bool selected(const qrcpt *r, dsn_kind kind) {
  switch (kind) {
  case DSN_FAILURE:
    return r->state == QSTATE_FAILED && !(r->dsn & QDSN_FAILURE);
  case DSN_DELAY:
    return r->state == QSTATE_PENDING;
  case DSN_SUCCESS:
    return (r->state == QSTATE_DELIVERED || r->state == QSTATE_RELAYED) &&
           !(r->dsn & QDSN_SUCCESS) && (r->notify & CURSUS_NOTIFY_SUCCESS);
  }
  return false;
}

bool notice_owed(const qenv *env) {
  for (guint i = 0; i < env->rcpts->len; i++) {
    const qrcpt *r = env->rcpts->pdata[i];
    if (selected(r, DSN_FAILURE) || selected(r, DSN_SUCCESS))
      return true;
  }
  return false;
}

/* postmaster_policy - whether the postmaster gets a copy: 's' always,
 * 'c' unless the sender is null (then the notice itself), 'e' only what
 * cannot be returned, 'n' never */
static char postmaster_policy(const cnf_channel *ch, dsn_kind kind) {
  static const char *const fail[] = {"sendpost", "copysendpost",
                                     "errsendpost", "nosendpost", NULL};
  static const char *const warn[] = {"warnpost", "copywarnpost",
                                     "errwarnpost", "nowarnpost", NULL};
  const char *k = ch != NULL ? cnf_channel_last_of(
                                   ch, kind == DSN_DELAY ? warn : fail)
                             : NULL;
  if (k == NULL)
    return kind == DSN_SUCCESS ? 'n' : 'e';
  return g_str_has_prefix(k, "copy") ? 'c'
         : g_str_has_prefix(k, "err") ? 'e'
         : g_str_has_prefix(k, "no")  ? 'n'
                                      : 's';
}

/* enqueue_notice - enqueue CONTENT from the null sender to TO */
static int enqueue_notice(const char *source, const char *to, GBytes *content,
                          char **error_r) {
  const cursus_queue_ops *q = host_table()->queue;
  const char *err = NULL;
  if (q == NULL || q->enqueue_begin == NULL) {
    *error_r = g_strdup("this process cannot enqueue mail");
    return CURSUS_TEMPFAIL;
  }
  cursus_enqueue *enq = q->enqueue_begin(NULL, source, "", &err);
  if (enq == NULL) {
    *error_r = g_strdup_printf("cannot start a notice: %s", err);
    return CURSUS_TEMPFAIL;
  }
  gsize len;
  const char *data = g_bytes_get_data(content, &len);
  const char *id = NULL;
  int rc = q->enqueue_recipient(enq, to, CURSUS_NOTIFY_NEVER, NULL, &err);
  if (rc == CURSUS_OK)
    rc = q->enqueue_write(enq, data, len, &err);
  if (rc == CURSUS_OK)
    rc = q->enqueue_commit(enq, &id, &err);
  if (rc == CURSUS_OK)
    log_info("notice to <%s> queued as %s", to, id);
  else if (rc == CURSUS_PERMFAIL) /* retrying cannot help: say so, go on */
    log_error("notice to <%s> refused: %s; it is dropped", to,
              err != NULL ? err : "unknown error");
  else
    *error_r = g_strdup_printf("cannot enqueue the notice to <%s>: %s", to,
                               err != NULL ? err : "unknown error");
  q->enqueue_free(&enq);
  return rc == CURSUS_PERMFAIL ? CURSUS_OK : rc;
}

/* build_and_send - one notice with RCPTS to TO */
static int build_and_send(const config *cfg, qmsg *q, dsn_kind kind,
                          GArray *rcpts, const char *to, bool headers_only,
                          int64_t retry_until, char **error_r) {
  qenv *e = q->env;
  dsn_report rep = {
      .kind = kind,
      .reporting_mta = cfg->hostname,
      .to = to,
      .envid = e->envid,
      .queue_id = strrchr(q->path, '/') != NULL ? strrchr(q->path, '/') + 1
                                                : q->path,
      .arrival = e->arrival_us / G_USEC_PER_SEC,
      .retry_until = retry_until,
      .ret = e->ret,
      .headers_only = headers_only,
      .fd = q->fd,
      .offset = q->content_offset,
      .size = e->size,
      .max_return = MAX_RETURN,
      .rcpts = (const dsn_rcpt *)rcpts->data,
      .nrcpts = rcpts->len,
  };
  char *rf = e->helo != NULL ? g_strdup_printf("dns; %s", e->helo) : NULL;
  rep.received_from = rf;
  GBytes *content = dsn_build(&rep);
  g_free(rf);
  const cnf_channel *local =
      cfg->imta != NULL && cfg->imta->channels->len > 0
          ? cfg->imta->channels->pdata[0]
          : NULL;
  int rc = enqueue_notice(local != NULL ? local->name : "l", to, content,
                          error_r);
  g_bytes_unref(content);
  return rc;
}

/* reported_address - the form of R's address a notice names, by the
 * channel's includefinal (the final form, default), useintermediate (as
 * the sender gave it) or suppressfinal (the ORCPT address when there is
 * one: the final form, maybe an internal mailbox, is not revealed) */
static const char *reported_address(const cnf_channel *ch, const qrcpt *r) {
  static const char *const forms[] = {"includefinal", "suppressfinal",
                                      "useintermediate", NULL};
  const char *form = ch != NULL ? cnf_channel_last_of(ch, forms) : NULL;
  if (form == NULL || strcmp(form, "includefinal") == 0)
    return r->address;
  if (strcmp(form, "useintermediate") == 0)
    return r->original != NULL ? r->original : r->address;
  const char *semi = r->orcpt != NULL ? strchr(r->orcpt, ';') : NULL;
  return semi != NULL && semi[1] != '\0' ? semi + 1 : r->address;
}

int notice_send(const config *cfg, const cnf_channel *ch, qmsg *q,
                dsn_kind kind, int64_t retry_until, char **error_r) {
  qenv *e = q->env;
  GArray *to_sender = g_array_new(FALSE, TRUE, sizeof(dsn_rcpt));
  GArray *all = g_array_new(FALSE, TRUE, sizeof(dsn_rcpt));
  GArray *index = g_array_new(FALSE, FALSE, sizeof(unsigned));
  bool null_sender = e->sender == NULL || *e->sender == '\0';
  for (guint i = 0; i < e->rcpts->len; i++) {
    const qrcpt *r = e->rcpts->pdata[i];
    if (!selected(r, kind))
      continue;
    dsn_rcpt d = {
        .address = reported_address(ch, r),
        .orcpt = r->orcpt,
        .action = kind == DSN_FAILURE ? "failed"
                  : kind == DSN_DELAY ? "delayed"
                  : r->state == QSTATE_RELAYED ? "relayed"
                                               : "delivered",
        .status = r->code != NULL ? r->code
                  : kind == DSN_FAILURE ? "5.0.0"
                  : kind == DSN_DELAY   ? "4.0.0"
                                        : "2.0.0",
        .remote = r->remote,
        .diag = r->diag,
        .last_attempt = r->when,
    };
    /* a delay is reported with a temporary status (RFC 3464 2.3.4) */
    if (kind == DSN_DELAY && d.status[0] != '4')
      d.status = "4.0.0";
    if (kind == DSN_FAILURE && d.status[0] != '5')
      d.status = g_str_has_prefix(d.status, "4.4.7") ? "4.4.7" : "5.0.0";
    g_array_append_val(all, d);
    g_array_append_val(index, i);
    if (!null_sender && wanted(r, kind))
      g_array_append_val(to_sender, d);
  }
  int rc = CURSUS_OK;
  char policy = postmaster_policy(ch, kind);
  static const char *const post_forms[] = {"postheadonly", "postheadbody", NULL};
  const char *post_form = ch != NULL ? cnf_channel_last_of(ch, post_forms) : NULL;
  bool pm_headers_only = post_form != NULL && strcmp(post_form, "postheadonly") == 0;
  if (to_sender->len > 0)
    rc = build_and_send(cfg, q, kind, to_sender, e->sender, false, retry_until,
                        error_r);
  /* 's' and 'c' copy the postmaster on every notice (with a null sender
   * the copy is the only notice); 'e' only when it cannot be returned */
  bool to_postmaster = kind != DSN_SUCCESS && all->len > 0 &&
                       (policy == 's' || policy == 'c' ||
                        (policy == 'e' && null_sender));
  if (rc == CURSUS_OK && to_postmaster) {
    char *pm = notice_postmaster(cfg);
    rc = build_and_send(cfg, q, kind, all, pm, pm_headers_only, retry_until,
                        error_r);
    g_free(pm);
  }
  if (rc == CURSUS_OK && kind != DSN_DELAY) {
    unsigned bit = kind == DSN_FAILURE ? QDSN_FAILURE : QDSN_SUCCESS;
    for (guint k = 0; k < index->len && rc == CURSUS_OK; k++) {
      unsigned i = g_array_index(index, unsigned, k);
      const qrcpt *r = e->rcpts->pdata[i];
      rc = qmsg_dsn(q, i, r->dsn | bit, true, error_r);
    }
  }
  g_array_free(to_sender, TRUE);
  g_array_free(all, TRUE);
  g_array_free(index, TRUE);
  return rc;
}
