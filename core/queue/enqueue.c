/*
 * enqueue.c - a new message: checks, content, copies, commit
 */
#include "build-config.h"
#include "enqueue.h"
#include "admit.h"
#include "hdrscan.h"
#include "qconfig.h"
#include "qfile.h"
#include "queue.h"
#include "qwrite.h"
#include "filter/frun.h"
#include "mta/msglog.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A queue entry of the message, from one accepted RCPT. */
typedef struct entry {
  char *original;
  char *orcpt;
  unsigned notify;
  unsigned rcpt_index; /* the accepted RCPT it came from */
  admit_target *t;
  bool refused;        /* too large for its channel (per-recipient mode) */
  bool dropped;        /* removed or discarded by a content filter */
  char *fail_code;     /* refused by a content filter (SMTP): queued as */
  char *fail_text;     /* failed, so the sender gets a failure notice */
} entry;

/* A reply kept for the session. */
typedef struct kept_reply {
  unsigned code;
  char *text;
} kept_reply;

struct cursus_enqueue {
  config *cfg;
  queue_settings qs;
  char id[QUEUE_ID_LEN + 1];
  /* the submission */
  char *source, *sender, *sender_rw, *envid, *auth_user, *auth_sender;
  char *connection, *helo, *protocol, *flags, *app_info;
  char *server_ip, *client_ip;
  admit_session session;
  cursus_ret ret;
  cursus_body body_type;
  bool smtputf8;
  bool per_rcpt;
  bool hold_all;    /* FROM_ACCESS said $H: every copy is held */
  bool discard_all; /* FROM_ACCESS said $B: accepted, then dropped */
  const char *expand_channel; /* expandlimit passed: where expansion goes */
  uint64_t declared;
  int64_t arrival_us;
  uint64_t max_size;
  /* recipients */
  GPtrArray *entries; /* of entry* */
  unsigned accepted, presented;
  bool cutoff;
  /* content */
  qbody *body;
  hdrscan scan;
  bool too_big;
  char *write_error;
  /* replies */
  char *reply_text;
  bool committed;
  int status;
  kept_reply final;
  GArray *rcpt_replies; /* of kept_reply, per accepted RCPT */
  /* the commit */
  qwrite_job job;
  GPtrArray *copy_entries; /* per copy: GPtrArray of entry* */
  ev_loop *loop;
  void (*done)(void *, int);
  void *done_data;
  /* content filters (core/filter), when the source channel names any */
  frun *filters;
  fsource *fsrc;
  GHashTable *added; /* recipient id -> GPtrArray of admit_target* */
};

/* ------------------------------------------------------------ helpers */

static char *dup_or_null(const char *s) { return s != NULL ? g_strdup(s) : NULL; }

/* set_reply - fill *R; TEXT is kept in E until the next call */
static void set_reply(enqueue *e, cursus_reply *r, unsigned code,
                      unsigned delay_ms, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
static void set_reply(enqueue *e, cursus_reply *r, unsigned code,
                      unsigned delay_ms, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  g_free(e->reply_text);
  e->reply_text = g_strdup_vprintf(fmt, args);
  va_end(args);
  if (r != NULL) {
    r->code = code;
    r->text = e->reply_text;
    r->delay_ms = delay_ms;
  }
}

/* status_of - the status a reply code stands for */
static int status_of(unsigned code) {
  return code < 400 ? CURSUS_OK : code < 500 ? CURSUS_TEMPFAIL : CURSUS_PERMFAIL;
}

static const cnf_channel *channel(const enqueue *e, const char *name) {
  return e->cfg->imta != NULL && name != NULL
             ? imtacnf_channel(e->cfg->imta, name)
             : NULL;
}

/* parse_connection - "TCP|lip|lport|rip|rport" into the session */
static void parse_connection(enqueue *e) {
  if (e->connection == NULL)
    return;
  char **f = g_strsplit(e->connection, "|", -1);
  if (g_strv_length(f) == 5) {
    e->server_ip = g_strdup(f[1]);
    e->session.server_port = (unsigned)strtoul(f[2], NULL, 10);
    e->client_ip = g_strdup(f[3]);
    e->session.client_port = (unsigned)strtoul(f[4], NULL, 10);
  }
  g_strfreev(f);
  e->session.server_ip = e->server_ip;
  e->session.client_ip = e->client_ip;
}

/* log_event - a message log line for this message */
static void log_event(const enqueue *e, char code, const char *dest,
                      const char *orcpt, const char *to, const char *file,
                      const char *text) {
  const cnf_channel *src = channel(e, e->source);
  if (!queue_channel_logging(src) && !queue_channel_logging(channel(e, dest)))
    return;
  char mods[8], *m = mods;
  if (e->flags != NULL) {
    if (strchr(e->flags, 'L'))
      *m++ = 'L';
    else if (strchr(e->flags, 'E'))
      *m++ = 'E';
    if (e->body_type == CURSUS_BODY_BINARYMIME)
      *m++ = 'C';
    if (strchr(e->flags, 'T'))
      *m++ = 'S';
    if (strchr(e->flags, 'A'))
      *m++ = 'A';
  }
  *m = '\0';
  msglog_entry l = {.code = code,
                    .modifiers = mods,
                    .source = e->source,
                    .dest = dest,
                    .size = e->body != NULL ? qbody_size(e->body) : e->declared,
                    .from = e->sender_rw != NULL ? e->sender_rw : e->sender,
                    .orcpt = orcpt,
                    .to = to,
                    .file = file,
                    .message_id = e->scan.message_id[0] ? e->scan.message_id
                                                        : NULL,
                    .connection = e->connection,
                    .user = e->auth_user,
                    .diag = text};
  msglog_write(&l);
}

static void entry_free(void *p) {
  entry *en = p;
  g_free(en->fail_code);
  g_free(en->fail_text);
  g_free(en->original);
  g_free(en->orcpt);
  admit_target_free(en->t);
  g_free(en);
}

static void kept_clear(void *p) {
  kept_reply *k = p;
  g_free(k->text);
}

/* --------------------------------------------------- content filters */

static void keep(kept_reply *k, unsigned code, const char *text);
static int fail_all(enqueue *e, unsigned code, const char *text);

/* resolve_added - route a recipient a content filter added, as a local
 * submission would (no relaying check: the filter is trusted) */
static int resolve_added(void *data, unsigned id, const char *address,
                         char **routed_r, char **channel_r, char **error_r) {
  enqueue *e = data;
  admit_session s = e->session;
  s.client_ip = NULL;
  s.server_ip = NULL;
  GPtrArray *targets = g_ptr_array_new_with_free_func(admit_target_free);
  admit_reply ar = {0};
  if (admit_recipient(&s, e->sender_rw, address, 0, NULL, targets, &ar) !=
      CURSUS_OK) {
    *error_r = g_strdup(ar.text);
    admit_reply_clear(&ar);
    g_ptr_array_free(targets, TRUE);
    return CURSUS_PERMFAIL;
  }
  admit_reply_clear(&ar);
  const admit_target *t = targets->pdata[0];
  *routed_r = g_strdup(t->address);
  *channel_r = g_strdup(t->channel);
  if (e->added == NULL)
    e->added = g_hash_table_new_full(NULL, NULL, NULL,
                                     (GDestroyNotify)g_ptr_array_unref);
  g_hash_table_replace(e->added, GUINT_TO_POINTER(id), targets);
  return CURSUS_OK;
}

/* filters_start - the filters of the source channel, and their MAIL
 * stage for a protocol session; false with the refusal in R */
static bool filters_start(enqueue *e, const cursus_enqueue_params *p,
                          cursus_reply *r) {
  const GPtrArray *chain = fconf_chain(e->cfg, e->source);
  if (chain == NULL)
    return true;
  cursus_filter_info info = {
      .size = sizeof(info),
      .queue_id = e->id,
      .source_channel = e->source,
      .client_ip = e->client_ip,
      .client_port = e->session.client_port,
      .client_name = CURSUS_HAS(p, client_name) ? p->client_name : NULL,
      .server_ip = e->server_ip,
      .server_port = e->session.server_port,
      .helo = e->helo,
      .protocol = e->protocol,
      .auth_user = e->auth_user,
      .tls = strchr(e->flags, 'T') != NULL,
      .sender = e->sender,
      .per_recipient = e->per_rcpt,
      .hostname = e->cfg->hostname,
  };
  e->filters = frun_new(e->cfg, chain, &info, e->max_size,
                        e->protocol != NULL, resolve_added, e);
  frun_reply fr = {0};
  if (frun_mail(e->filters, &fr) == CURSUS_OK)
    return true;
  set_reply(e, r, fr.code, 0, "%s", fr.text);
  log_event(e, 'J', NULL, NULL, NULL, NULL, fr.text);
  frun_reply_clear(&fr);
  return false;
}

/* body_source - the content as content filters read it */
static long long body_source(void *data, uint64_t offset, void *buf,
                             size_t len) {
  return qbody_read(data, offset, buf, len);
}

/* new_body_append - one piece of the filtered content */
static bool new_body_append(void *data, const void *buf, size_t len) {
  void **a = data;
  char *err = NULL;
  hdrscan_feed(a[1], buf, len);
  if (qbody_append(a[0], buf, len, &err))
    return true;
  log_error("%s", err);
  g_free(err);
  return false;
}

/* filters_content - write the content the filters left */
static bool filters_content(enqueue *e, const fmodel *m) {
  qbody *nb = qbody_new(e->cfg->queue_dir, e->qs.spill_size);
  hdrscan scan;
  hdrscan_init(&scan);
  void *a[2] = {nb, &scan};
  if (!fmodel_write(m, new_body_append, a)) {
    qbody_free(&nb);
    return false;
  }
  hdrscan_end(&scan);
  fsource_detach(e->fsrc);
  qbody_free(&e->body);
  e->body = nb;
  e->scan = scan;
  return true;
}

/* filters_recipients - what the filters said of each recipient; false
 * when that fails the whole message (the replies are set) */
static bool filters_recipients(enqueue *e, const fmodel *m) {
  unsigned first_code = 0, failed_index = G_MAXUINT;
  char *first_text = NULL;
  for (guint i = 0; i < e->entries->len; i++) {
    entry *en = e->entries->pdata[i];
    const frcpt *r = fmodel_rcpt_by_id(m, en->rcpt_index);
    const cursus_filter_verdict *v = r != NULL ? &r->verdict : NULL;
    char *why = NULL;
    if (r == NULL || r->removed || v->action == CURSUS_FILTER_DISCARD) {
      en->dropped = true;
      why = g_strdup_printf("%s by content filter %s",
                            r != NULL && r->removed ? "removed" : "discarded",
                            r != NULL && r->v_by ? r->v_by : "");
      log_event(e, 'E', "bitbucket", en->original, en->t->address, NULL, why);
      g_free(why);
      continue;
    }
    if (v->action == CURSUS_FILTER_QUARANTINE)
      en->t->hold = true;
    if (v->action != CURSUS_FILTER_REJECT &&
        v->action != CURSUS_FILTER_TEMPFAIL)
      continue;
    bool perm = v->action == CURSUS_FILTER_REJECT;
    unsigned code = v->code;
    if (perm ? code < 500 || code > 599 : code < 400 || code > 499)
      code = perm ? 550 : 451;
    const char *st = v->status;
    if (st == NULL || st[0] != (perm ? '5' : '4') || st[1] != '.')
      st = perm ? "5.7.1" : "4.7.1";
    char *text = g_strdup_printf("%s %s", st,
                                 v->text != NULL ? v->text
                                 : perm ? "Refused by content filter"
                                        : "Deferred by content filter");
    if (first_text == NULL) {
      first_code = code;
      first_text = g_strdup(text);
    }
    if (e->per_rcpt) {
      en->refused = true;
      keep(&g_array_index(e->rcpt_replies, kept_reply, en->rcpt_index), code,
           text);
      log_event(e, 'J', en->t->channel, en->original, en->t->address, NULL,
                text);
    } else if (!perm) {
      /* one reply for everyone: defer them all, nobody gets it twice */
      fail_all(e, code, text);
      g_free(text);
      g_free(first_text);
      return false;
    } else if (en->rcpt_index != failed_index) {
      /* one failed entry per recipient: one failure notice */
      en->fail_code = g_strndup(st, strcspn(st, " "));
      en->fail_text = g_strdup(text);
      failed_index = en->rcpt_index;
    } else {
      en->dropped = true;
    }
    g_free(text);
  }
  bool any_live = false;
  for (guint i = 0; i < e->entries->len; i++) {
    const entry *en = e->entries->pdata[i];
    any_live |= !en->dropped && !en->refused && en->fail_text == NULL;
  }
  bool ok = any_live || first_text == NULL || e->per_rcpt;
  if (!ok)
    fail_all(e, first_code, first_text);
  g_free(first_text);
  return ok;
}

/* filters_added - queue entries for the recipients filters added */
static void filters_added(enqueue *e, const fmodel *m) {
  for (guint i = 0; i < m->rcpts->len; i++) {
    const frcpt *r = m->rcpts->pdata[i];
    GPtrArray *targets = e->added != NULL
                             ? g_hash_table_lookup(e->added,
                                                   GUINT_TO_POINTER(r->id))
                             : NULL;
    if (!r->added || r->removed || targets == NULL)
      continue;
    for (guint k = 0; k < targets->len; k++) {
      entry *en = g_new0(entry, 1);
      en->original = g_strdup(r->address);
      en->rcpt_index = G_MAXUINT;
      en->t = targets->pdata[k];
      targets->pdata[k] = NULL;
      g_ptr_array_add(e->entries, en);
    }
  }
}

/* filters_apply - act on what the DATA stage decided; false when nothing
 * is to be written (refused or discarded: the replies are set) */
static bool filters_apply(enqueue *e) {
  const frun_outcome *o = frun_get_outcome(e->filters);
  const fmodel *m = frun_model(e->filters);
  if (o->action == CURSUS_FILTER_REJECT || o->action == CURSUS_FILTER_TEMPFAIL) {
    fail_all(e, o->code, o->text);
    return false;
  }
  if (o->action == CURSUS_FILTER_DISCARD) {
    for (guint i = 0; i < e->entries->len; i++) {
      entry *en = e->entries->pdata[i];
      log_event(e, 'E', "bitbucket", en->original, en->t->address, NULL,
                o->text);
      en->dropped = true;
    }
    return true; /* build_copies finds nothing left: 250 */
  }
  if (m->sender_changed) {
    g_free(e->sender_rw);
    e->sender_rw = g_strdup(m->sender);
  }
  if (!filters_recipients(e, m))
    return false;
  filters_added(e, m);
  if (o->hold != NULL) {
    log_info("message %s held: %s", e->id, o->hold);
    for (guint i = 0; i < e->entries->len; i++)
      ((entry *)e->entries->pdata[i])->t->hold = true;
  }
  if (m->content_changed && !filters_content(e, m)) {
    fail_all(e, 451, "4.3.0 Error writing the filtered message; try later");
    return false;
  }
  return true;
}

/* filters_data - run the DATA stage (blocking) and apply it */
static bool filters_data(enqueue *e) {
  e->fsrc = fsource_new(body_source, e->body, qbody_size(e->body));
  frun_data(e->filters, e->fsrc);
  return filters_apply(e);
}

/* ------------------------------------------------------------- start */

/* A refusal of enqueue_start outlives the handle it came from. */
static _Thread_local char start_refusal[512];

/* refuse_start - keep the reply text in R, free E; NULL */
static enqueue *refuse_start(enqueue *e, cursus_reply *r) {
  if (r != NULL && r->text != NULL) {
    g_strlcpy(start_refusal, r->text, sizeof(start_refusal));
    r->text = start_refusal;
  }
  enqueue_free(&e);
  return NULL;
}

uint64_t enqueue_size_limit(const config *cfg, const char *source_channel) {
  const cnf_channel *ch = cfg->imta != NULL && source_channel != NULL
                              ? imtacnf_channel(cfg->imta, source_channel)
                              : NULL;
  return queue_channel_limit(cfg, ch, true);
}

enqueue *enqueue_start(const cursus_enqueue_params *p, cursus_reply *reply_r) {
  enqueue *e = g_new0(enqueue, 1);
  config *cfg = config_current_ref();
  e->cfg = cfg;
  e->entries = g_ptr_array_new_with_free_func(entry_free);
  e->rcpt_replies = g_array_new(FALSE, TRUE, sizeof(kept_reply));
  g_array_set_clear_func(e->rcpt_replies, kept_clear);
  e->arrival_us = g_get_real_time();
  queue_new_id(e->id);
  hdrscan_init(&e->scan);
  e->source = g_strdup(p->source_channel != NULL ? p->source_channel : "");
  e->sender = g_strdup(p->sender != NULL ? p->sender : "");
  e->envid = dup_or_null(p->envid);
  e->ret = p->ret;
  e->body_type = p->body;
  e->smtputf8 = p->smtputf8 != 0;
  e->declared = p->declared_size;
  e->auth_user = dup_or_null(p->auth_user);
  e->auth_sender = dup_or_null(p->auth_sender);
  e->connection = dup_or_null(p->connection);
  e->helo = dup_or_null(p->helo);
  e->protocol = dup_or_null(p->protocol);
  e->flags = g_strdup(p->session_flags != NULL ? p->session_flags : "");
  e->per_rcpt = p->per_recipient != 0;
  if (e->protocol != NULL)
    e->app_info = g_strdup_printf("%s/%s", strchr(e->flags, 'L') ? "LMTP"
                                           : strchr(e->flags, 'E') ? "ESMTP"
                                                                   : "SMTP",
                                  e->helo != NULL ? e->helo : "");
  parse_connection(e);
  e->session.source_channel = e->source;
  e->session.sender = e->sender;
  e->session.auth_user = e->auth_user;
  e->session.auth_sender = e->auth_sender;
  e->session.app_info = e->app_info;
  e->session.session_flags = e->flags;

  if (cfg == NULL) {
    set_reply(e, reply_r, 451, 0, "4.3.5 the server has no configuration");
    return refuse_start(e, reply_r);
  }
  queue_settings_read(cfg, &e->qs);
  if (channel(e, e->source) == NULL) {
    log_error("enqueue from unknown channel %s", e->source);
    set_reply(e, reply_r, 451, 0,
              "4.3.5 configuration error: channel %s is not defined",
              e->source);
    return refuse_start(e, reply_r);
  }
  e->max_size = enqueue_size_limit(cfg, e->source);
  if (e->max_size != 0 && e->declared > e->max_size) {
    set_reply(e, reply_r, 552, 0,
              "5.3.4 Message size exceeds fixed maximum message size (%llu)",
              (unsigned long long)e->max_size);
    log_event(e, 'J', NULL, NULL, NULL, NULL, e->reply_text);
    return refuse_start(e, reply_r);
  }
  admit_reply ar = {0};
  int rc = admit_sender(&e->session, &e->sender_rw, &ar);
  if (rc != CURSUS_OK) {
    set_reply(e, reply_r, ar.code, ar.delay_ms, "%s", ar.text);
    log_event(e, 'J', NULL, NULL, NULL, NULL, ar.text);
    admit_reply_clear(&ar);
    return refuse_start(e, reply_r);
  }
  unsigned delay_ms = ar.delay_ms;
  e->hold_all = ar.hold;
  e->discard_all = ar.discard;
  admit_reply_clear(&ar);
  e->body = qbody_new(cfg->queue_dir, e->qs.spill_size);
  if (!filters_start(e, p, reply_r))
    return refuse_start(e, reply_r);
  set_reply(e, reply_r, 250, delay_ms, "2.1.0 Sender ok");
  return e;
}

/* ---------------------------------------------------------- recipients */

/* refuse_rcpt - log and reply a refused recipient */
static int refuse_rcpt(enqueue *e, const char *address, cursus_reply *r,
                       unsigned code, unsigned delay_ms, const char *text) {
  set_reply(e, r, code, delay_ms, "%s", text);
  log_event(e, 'J', NULL, address, address, NULL, text);
  return status_of(code);
}

static int accept_targets(enqueue *e, const char *address, unsigned notify,
                          const char *orcpt, GPtrArray *targets,
                          admit_reply *arp, cursus_reply *r);

/* defer_expansion - past the source channel's `expandlimit`, recipients
 * are only rewritten, and the whole message goes to `expandchannel`
 * (default reprocess), whose job expands every recipient off-line: the
 * client does not wait for a large expansion */
static void defer_expansion(enqueue *e, const cnf_channel *src) {
  if (e->expand_channel != NULL || src == NULL)
    return;
  long long limit = cnf_channel_int(src, "expandlimit", 0);
  if (limit <= 0 || e->presented <= (unsigned long long)limit)
    return;
  const cnf_kw *k = cnf_channel_kw(src, "expandchannel");
  const char *to = k != NULL && k->values->len > 0 ? k->values->pdata[0]
                                                   : "reprocess";
  if (channel(e, to) == NULL || strcmp(to, e->source) == 0) {
    log_warning("%s: expandlimit %lld passed, but channel %s cannot expand "
                "(not defined, or the source itself): expanding now",
                e->source, limit, to);
    return;
  }
  e->expand_channel = to;
  e->session.no_expand = true;
}

/* to_expand_channel - with expansion deferred, every recipient goes to
 * the expand channel as the sender gave it, once */
static void to_expand_channel(enqueue *e) {
  GHashTable *seen = g_hash_table_new(NULL, NULL);
  for (guint i = 0; i < e->entries->len; i++) {
    entry *en = e->entries->pdata[i];
    if (en->refused || en->dropped)
      continue;
    if (!g_hash_table_add(seen, GUINT_TO_POINTER(en->rcpt_index + 1))) {
      en->dropped = true; /* another form of a recipient already there */
      continue;
    }
    g_free(en->t->address);
    g_free(en->t->channel);
    g_free(en->t->host);
    en->t->address = g_strdup(en->original);
    en->t->channel = g_strdup(e->expand_channel);
    en->t->host = NULL;
  }
  g_hash_table_destroy(seen);
}

int enqueue_rcpt(enqueue *e, const char *address, unsigned notify,
                 const char *orcpt, cursus_reply *r) {
  const cnf_channel *src = channel(e, e->source);
  e->presented++;
  defer_expansion(e, src);
  long long limit = cnf_channel_int(src, "recipientlimit", 0);
  long long cutoff = cnf_channel_int(src, "recipientcutoff", 0);
  if (cutoff > 0 && e->presented > (unsigned long long)cutoff)
    e->cutoff = true;
  if (limit > 0 && e->accepted >= (unsigned long long)limit)
    return refuse_rcpt(e, address, r, 452, 0, "4.5.3 Too many recipients");

  GPtrArray *targets = g_ptr_array_new_with_free_func(admit_target_free);
  admit_reply ar = {0};
  int rc = admit_recipient(&e->session, e->sender_rw, address, notify, orcpt,
                           targets, &ar);
  if (rc != CURSUS_OK) {
    rc = refuse_rcpt(e, address, r, ar.code, ar.delay_ms, ar.text);
    admit_reply_clear(&ar);
    g_ptr_array_free(targets, TRUE);
    return rc;
  }
  return accept_targets(e, address, notify, orcpt, targets, &ar, r);
}

int enqueue_rcpt_routed(enqueue *e, const char *address, unsigned notify,
                        const char *orcpt, const cursus_route *routes,
                        size_t n, cursus_reply *r) {
  const cnf_channel *src = channel(e, e->source);
  e->presented++;
  long long limit = cnf_channel_int(src, "recipientlimit", 0);
  if (limit > 0 && e->accepted >= (unsigned long long)limit)
    return refuse_rcpt(e, address, r, 452, 0, "4.5.3 Too many recipients");
  if (n == 0)
    return refuse_rcpt(e, address, r, 550, 0,
                       "5.1.1 the address resolves to no recipient");
  GPtrArray *targets = g_ptr_array_new_with_free_func(admit_target_free);
  for (size_t i = 0; i < n; i++) {
    admit_target *t = g_new0(admit_target, 1);
    t->address = g_strdup(routes[i].address);
    t->channel = g_strdup(routes[i].channel);
    t->host = dup_or_null(routes[i].host);
    t->errors_to = dup_or_null(routes[i].errors_to);
    g_ptr_array_add(targets, t);
  }
  admit_reply ar = {0};
  return accept_targets(e, address, notify, orcpt, targets, &ar, r);
}

/* accept_targets - ADDRESS goes to TARGETS (taken), after the size and
 * content filter checks */
static int accept_targets(enqueue *e, const char *address, unsigned notify,
                          const char *orcpt, GPtrArray *targets,
                          admit_reply *arp, cursus_reply *r) {
  admit_reply ar = *arp;
  int rc = CURSUS_OK;
  /* the declared size against each destination channel */
  for (guint i = 0; i < targets->len && e->declared > 0; i++) {
    admit_target *t = targets->pdata[i];
    uint64_t max = queue_channel_limit(e->cfg, channel(e, t->channel), false);
    if (max != 0 && e->declared > max) {
      char *text = g_strdup_printf("5.3.4 Message too big for <%s> (%llu bytes "
                                   "at most)",
                                   address, (unsigned long long)max);
      rc = refuse_rcpt(e, address, r, 552, ar.delay_ms, text);
      g_free(text);
      admit_reply_clear(&ar);
      g_ptr_array_free(targets, TRUE);
      return rc;
    }
  }
  if (e->filters != NULL && targets->len > 0) {
    frun_reply fr = {0};
    const admit_target *t0 = targets->pdata[0];
    if (frun_rcpt(e->filters, e->accepted, address, t0->address, t0->channel,
                  orcpt, notify, &fr) != CURSUS_OK) {
      rc = refuse_rcpt(e, address, r, fr.code, ar.delay_ms, fr.text);
      frun_reply_clear(&fr);
      admit_reply_clear(&ar);
      g_ptr_array_free(targets, TRUE);
      return rc;
    }
  }
  for (guint i = 0; i < targets->len; i++) {
    entry *en = g_new0(entry, 1);
    en->original = g_strdup(address);
    en->orcpt = dup_or_null(orcpt);
    en->notify = notify;
    en->rcpt_index = e->accepted;
    en->t = targets->pdata[i];
    targets->pdata[i] = NULL;
    g_ptr_array_add(e->entries, en);
  }
  g_ptr_array_free(targets, TRUE);
  e->accepted++;
  kept_reply none = {0};
  g_array_append_val(e->rcpt_replies, none);
  set_reply(e, r, 250, ar.delay_ms, "2.1.5 Recipient ok");
  admit_reply_clear(&ar);
  return CURSUS_OK;
}

/* ------------------------------------------------------------- content */

int enqueue_write(enqueue *e, const void *data, size_t len,
                  const char **error_r) {
  if (e->too_big) {
    *error_r = "5.3.4 Message size exceeds fixed maximum message size";
    return CURSUS_PERMFAIL;
  }
  if (e->write_error != NULL) {
    *error_r = e->write_error;
    return CURSUS_TEMPFAIL;
  }
  if (e->max_size != 0 && qbody_size(e->body) + len > e->max_size) {
    e->too_big = true;
    *error_r = "5.3.4 Message size exceeds fixed maximum message size";
    return CURSUS_PERMFAIL;
  }
  hdrscan_feed(&e->scan, data, len);
  char *err = NULL;
  if (!qbody_append(e->body, data, len, &err)) {
    log_error("%s", err);
    e->write_error = g_strdup_printf("4.3.0 %s", err);
    g_free(err);
    *error_r = e->write_error;
    return CURSUS_TEMPFAIL;
  }
  return CURSUS_OK;
}

/* ------------------------------------------------------------- copies */

/* copy_key - entries with the same key share a queue file */
static char *copy_key(const enqueue *e, const entry *en, guint index) {
  const cnf_channel *ch = channel(e, en->t->channel);
  GString *k = g_string_new(en->t->channel);
  g_string_append_printf(k, "|%s|%d", en->t->errors_to ? en->t->errors_to : "",
                         en->t->hold ? 1 : 0);
  static const char *const split[] = {"single", "single_sys", "multiple", NULL};
  const char *mode = ch != NULL ? cnf_channel_last_of(ch, split) : NULL;
  if (mode != NULL && strcmp(mode, "single") == 0)
    g_string_append_printf(k, "|#%u", index);
  else if (mode != NULL && strcmp(mode, "single_sys") == 0)
    g_string_append_printf(k, "|@%s", en->t->host ? en->t->host : "");
  return g_string_free(k, FALSE);
}

/* envelope_for - the envelope of a copy holding ENTRIES */
static GString *envelope_for(const enqueue *e, GPtrArray *entries) {
  const entry *first = entries->pdata[0];
  const cnf_channel *ch = channel(e, first->t->channel);
  qenv *env = qenv_new();
  env->channel = g_strdup(first->t->channel);
  env->source = g_strdup(e->source);
  g_free(env->sender);
  env->sender = g_strdup(first->t->errors_to != NULL ? first->t->errors_to
                         : e->sender_rw != NULL      ? e->sender_rw
                                                     : e->sender);
  env->envid = dup_or_null(e->envid);
  env->ret = e->ret;
  env->body = e->body_type;
  env->smtputf8 = e->smtputf8;
  env->priority = e->scan.priority;
  env->arrival_us = e->arrival_us;
  env->size = qbody_size(e->body);
  env->crc = qbody_crc(e->body);
  env->auth_user = dup_or_null(e->auth_user);
  env->connection = dup_or_null(e->connection);
  env->helo = dup_or_null(e->helo);
  env->protocol = dup_or_null(e->protocol);
  env->message_id = e->scan.message_id[0] ? g_strdup(e->scan.message_id) : NULL;
  long long holdlimit = ch != NULL ? cnf_channel_int(ch, "holdlimit", 0) : 0;
  env->held = first->t->hold || e->hold_all ||
              (holdlimit > 0 && entries->len > (unsigned long long)holdlimit);
  for (guint i = 0; i < entries->len; i++) {
    const entry *en = entries->pdata[i];
    qrcpt *r = qenv_add_rcpt(env, en->t->address, en->original, en->orcpt,
                             en->t->host, en->notify);
    if (en->fail_text != NULL) {
      /* refused by a content filter: the channel job returns it */
      r->state = QSTATE_FAILED;
      r->code = g_strdup(en->fail_code);
      r->diag = g_strdup(en->fail_text);
      r->when = e->arrival_us / G_USEC_PER_SEC;
    }
  }
  GString *text = g_string_new(NULL);
  qenv_format(env, text);
  qenv_free(&env);
  return text;
}

/* build_copies - the queue files of the message; false when nothing is
 * left to queue */
static bool build_copies(enqueue *e) {
  if (e->expand_channel != NULL)
    to_expand_channel(e);
  GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             NULL);
  GPtrArray *order = g_ptr_array_new(); /* of GPtrArray*, first-seen order */
  for (guint i = 0; i < e->entries->len; i++) {
    entry *en = e->entries->pdata[i];
    if (en->refused || en->dropped)
      continue;
    if (en->t->discard || e->discard_all) {
      log_event(e, 'E', "bitbucket", en->original, en->t->address, NULL,
                "discarded by an access table");
      continue;
    }
    char *key = copy_key(e, en, i);
    GPtrArray *g = g_hash_table_lookup(groups, key);
    if (g == NULL) {
      g = g_ptr_array_new();
      g_hash_table_insert(groups, key, g);
      g_ptr_array_add(order, g);
    } else {
      g_free(key);
    }
    g_ptr_array_add(g, en);
  }
  g_hash_table_destroy(groups);
  e->job.copies = g_ptr_array_new_with_free_func(qcopy_free);
  e->copy_entries = g_ptr_array_new_with_free_func(
      (GDestroyNotify)g_ptr_array_unref);
  unsigned n = 0;
  for (guint i = 0; i < order->len; i++) {
    GPtrArray *g = order->pdata[i];
    const entry *first = g->pdata[0];
    const cnf_channel *ch = channel(e, first->t->channel);
    long long per = ch != NULL ? cnf_channel_int(ch, "addrsperfile", 0) : 0;
    guint step = per > 0 ? (guint)per : g->len;
    for (guint off = 0; off < g->len; off += step) {
      GPtrArray *part = g_ptr_array_new();
      for (guint k = off; k < MIN(g->len, off + step); k++)
        g_ptr_array_add(part, g->pdata[k]);
      char name[QUEUE_NAME_MAX + 1];
      snprintf(name, sizeof(name), "%s.%02u", e->id, ++n);
      qcopy *c = qcopy_new(first->t->channel, queue_channel_subdirs(ch),
                           name, envelope_for(e, part), e->scan.priority);
      c->rcpts = part->len;
      g_ptr_array_add(e->job.copies, c);
      g_ptr_array_add(e->copy_entries, part);
    }
    g_ptr_array_free(g, TRUE);
  }
  g_ptr_array_free(order, TRUE);
  return e->job.copies->len > 0;
}

/* ------------------------------------------------------------- commit */

static void keep(kept_reply *k, unsigned code, const char *text) {
  g_free(k->text);
  k->code = code;
  k->text = g_strdup(text);
}

/* fail_all - the whole message failed with CODE and TEXT */
static int fail_all(enqueue *e, unsigned code, const char *text) {
  e->status = status_of(code);
  keep(&e->final, code, text);
  for (guint i = 0; i < e->rcpt_replies->len; i++)
    keep(&g_array_index(e->rcpt_replies, kept_reply, i), code, text);
  for (guint i = 0; i < e->entries->len; i++) {
    entry *en = e->entries->pdata[i];
    log_event(e, 'J', en->t->channel, en->original, en->t->address, NULL, text);
  }
  return e->status;
}

/* check_sizes - each entry's channel limit against the final size; the
 * refused entries are marked (per-recipient mode) or the whole message
 * fails */
static bool check_sizes(enqueue *e) {
  uint64_t size = qbody_size(e->body);
  for (guint i = 0; i < e->entries->len; i++) {
    entry *en = e->entries->pdata[i];
    if (en->refused)
      continue;
    uint64_t max = queue_channel_limit(e->cfg, channel(e, en->t->channel), false);
    if (max == 0 || size <= max)
      continue;
    char *text = g_strdup_printf("5.3.4 Message too big for <%s> (%llu bytes at "
                                 "most)",
                                 en->original, (unsigned long long)max);
    if (!e->per_rcpt) {
      fail_all(e, 552, text);
      g_free(text);
      return false;
    }
    /* every address this RCPT expanded to goes the same way */
    for (guint k = 0; k < e->entries->len; k++) {
      entry *other = e->entries->pdata[k];
      if (other->rcpt_index != en->rcpt_index || other->refused)
        continue;
      other->refused = true;
      log_event(e, 'J', other->t->channel, other->original, other->t->address,
                NULL, text);
    }
    if (en->rcpt_index < e->rcpt_replies->len)
      keep(&g_array_index(e->rcpt_replies, kept_reply, en->rcpt_index), 552,
           text);
    g_free(text);
  }
  return true;
}

/* prepare - the checks before the content filters; false when the
 * message is refused (the replies are set) */
static bool prepare(enqueue *e) {
  e->committed = true;
  hdrscan_end(&e->scan);
  if (e->accepted == 0) {
    fail_all(e, 554, "5.5.1 No valid recipients");
    return false;
  }
  if (e->write_error != NULL) {
    fail_all(e, 451, e->write_error);
    return false;
  }
  if (e->too_big) {
    char *t = g_strdup_printf("5.3.4 Message size exceeds fixed maximum "
                              "message size (%llu)",
                              (unsigned long long)e->max_size);
    fail_all(e, 552, t);
    g_free(t);
    return false;
  }
  if (e->cutoff) {
    fail_all(e, 452, "4.5.3 Too many recipients for one message");
    return false;
  }
  if (e->qs.max_received > 0 && e->scan.received > e->qs.max_received) {
    char *t = g_strdup_printf("5.4.6 Too many hops (%u Received: header "
                              "fields): mail loop",
                              e->scan.received);
    fail_all(e, 554, t);
    g_free(t);
    return false;
  }
  return true;
}

/* prepare_copies - the checks after the content filters, and the copies;
 * false when nothing is written (the replies are set) */
static bool prepare_copies(enqueue *e) {
  if (!check_sizes(e))
    return false;
  if (!build_copies(e)) {
    /* every recipient was refused alone, or discarded */
    bool any_refused = false;
    for (guint i = 0; i < e->entries->len; i++)
      any_refused |= ((entry *)e->entries->pdata[i])->refused;
    e->status = any_refused ? CURSUS_PERMFAIL : CURSUS_OK;
    char *t = g_strdup_printf("2.0.0 Ok: queued as %s", e->id);
    keep(&e->final, any_refused ? 552 : 250,
         any_refused ? "5.3.4 Message too big for every recipient" : t);
    for (guint i = 0; i < e->rcpt_replies->len; i++) {
      kept_reply *k = &g_array_index(e->rcpt_replies, kept_reply, i);
      if (k->text == NULL)
        keep(k, 250, t);
    }
    g_free(t);
    return false;
  }
  e->job.body = e->body;
  e->job.data = e;
  return true;
}

/* finish - after the committer: replies and log lines */
static void finish(enqueue *e) {
  if (e->job.status != CURSUS_OK) {
    log_error("queueing message %s failed: %s", e->id,
              e->job.error != NULL ? e->job.error : "unknown error");
    fail_all(e, 451, "4.3.0 Error writing message to the queue; try later");
    return;
  }
  e->status = CURSUS_OK;
  char *t = g_strdup_printf("2.0.0 Ok: queued as %s", e->id);
  keep(&e->final, 250, t);
  for (guint i = 0; i < e->rcpt_replies->len; i++) {
    kept_reply *k = &g_array_index(e->rcpt_replies, kept_reply, i);
    if (k->text == NULL)
      keep(k, 250, t);
  }
  g_free(t);
  for (guint i = 0; i < e->job.copies->len; i++) {
    qcopy *c = e->job.copies->pdata[i];
    GPtrArray *part = e->copy_entries->pdata[i];
    for (guint k = 0; k < part->len; k++) {
      entry *en = part->pdata[k];
      log_event(e, 'E', en->t->channel, en->orcpt ? en->orcpt : en->original,
                en->t->address, c->name, NULL);
    }
  }
}

int enqueue_commit(enqueue *e, cursus_reply *r) {
  if (!e->committed && prepare(e) &&
      (e->filters == NULL || filters_data(e)) && prepare_copies(e)) {
    qwrite_run(&e->job);
    finish(e);
  }
  enqueue_reply(e, 0, r);
  return e->status;
}

static void async_finished(void *data) {
  enqueue *e = data;
  finish(e);
  e->done(e->done_data, e->status);
}

/* job_done - on the committer thread: back to the session's loop */
static void job_done(qwrite_job *job) {
  enqueue *e = job->data;
  ev_post(e->loop, async_finished, e);
}

/* refused_now - a commit that ended before writing: still report on the
 * loop, never from inside the caller */
static void refused_now(void *data) {
  enqueue *e = data;
  e->done(e->done_data, e->status);
}

/* filtered - on a filter thread: the DATA stage is done, commit */
static void filtered(void *data) {
  enqueue *e = data;
  if (!filters_apply(e) || !prepare_copies(e)) {
    ev_post(e->loop, refused_now, e);
    return;
  }
  e->job.done = job_done;
  qwrite_submit(&e->job);
}

int enqueue_commit_async(enqueue *e, ev_loop *loop,
                         void (*done)(void *data, int status), void *data,
                         const char **error_r) {
  if (e->committed) {
    *error_r = "the message was already committed";
    return CURSUS_PERMFAIL;
  }
  e->loop = loop;
  e->done = done;
  e->done_data = data;
  if (!prepare(e)) {
    ev_post(loop, refused_now, e);
    return CURSUS_OK;
  }
  if (e->filters != NULL) {
    /* the filters run on their own threads; the commit follows there */
    e->fsrc = fsource_new(body_source, e->body, qbody_size(e->body));
    frun_data_async(e->filters, e->fsrc, filtered, e);
    return CURSUS_OK;
  }
  if (!prepare_copies(e)) {
    ev_post(loop, refused_now, e);
    return CURSUS_OK;
  }
  e->job.done = job_done;
  qwrite_submit(&e->job);
  return CURSUS_OK;
}

void enqueue_reply(enqueue *e, size_t index, cursus_reply *r) {
  const kept_reply *k = &e->final;
  if (e->per_rcpt && index < e->rcpt_replies->len &&
      g_array_index(e->rcpt_replies, kept_reply, index).text != NULL)
    k = &g_array_index(e->rcpt_replies, kept_reply, index);
  if (k->text == NULL) {
    set_reply(e, r, 451, 0, "4.3.0 The message was not committed");
    return;
  }
  r->code = k->code;
  r->text = k->text;
  r->delay_ms = 0;
}

const char *enqueue_id(const enqueue *e) { return e->id; }
size_t enqueue_rcpt_count(const enqueue *e) { return e->accepted; }

void enqueue_free(enqueue **ep) {
  enqueue *e = *ep;
  if (e == NULL)
    return;
  *ep = NULL;
  g_ptr_array_free(e->entries, TRUE);
  g_array_free(e->rcpt_replies, TRUE);
  if (e->job.copies != NULL)
    g_ptr_array_free(e->job.copies, TRUE);
  if (e->copy_entries != NULL)
    g_ptr_array_free(e->copy_entries, TRUE);
  g_free(e->job.error);
  if (e->fsrc != NULL)
    fsource_detach(e->fsrc);
  fsource_unref(&e->fsrc);
  frun_free(&e->filters);
  if (e->added != NULL)
    g_hash_table_destroy(e->added);
  qbody_free(&e->body);
  kept_clear(&e->final);
  g_free(e->reply_text);
  g_free(e->write_error);
  g_free(e->source);
  g_free(e->sender);
  g_free(e->sender_rw);
  g_free(e->envid);
  g_free(e->auth_user);
  g_free(e->auth_sender);
  g_free(e->connection);
  g_free(e->helo);
  g_free(e->protocol);
  g_free(e->flags);
  g_free(e->app_info);
  g_free(e->server_ip);
  g_free(e->client_ip);
  config_unref(&e->cfg);
  g_free(e);
}
