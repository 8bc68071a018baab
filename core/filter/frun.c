/*
 * frun.c - running the content filters of one message
 */
#include "build-config.h"
#include "frun.h"
#include "util/log.h"

#include <string.h>

/* Threads running filter calls, and threads running DATA chains (which
 * mostly wait for calls).  Calls stuck past their time keep a thread
 * until they return, so the pools are generous. */
#define CALL_THREADS 128
#define CHAIN_THREADS 64

/* One filter of the chain, for this message. */
typedef struct fslot {
  fconf_def *def;
  const cursus_filter_ops *ops;
  void *instance;
  void *state;
  bool done;      /* no more calls: accepted, or failed with accept */
  bool state_out; /* a late call owns the state (and ends it) */
} fslot;

struct frun {
  config *cfg;
  GPtrArray *slots; /* of fslot* */
  fmodel *m;
  uint64_t limit;
  frun_resolve_fn *resolve;
  void *resolve_data;
  frun_outcome out;
  bool discard; /* DISCARD at MAIL or RCPT: no more calls */
  bool early;   /* MAIL and RCPT stages are filtered */
  /* async DATA */
  fsource *src;
  void (*done)(void *);
  void *done_data;
};

/* One call on a pool thread; shared by the caller and the thread. */
typedef struct fcall {
  gint refs;
  GMutex m;
  GCond c;
  bool finished, abandoned;
  config *cfg; /* keeps the instance open for a late call */
  const cursus_filter_ops *ops;
  void *instance;
  void *state;
  cursus_filter_stage stage;
  size_t index;
  fview *view;
  gint64 deadline;
  int rc;
  cursus_filter_verdict v;
  char *status, *text, *error;
} fcall;

static GThreadPool *call_pool, *chain_pool;
static GMutex pool_lock;

void frun_reply_clear(frun_reply *r) {
  g_free(r->text);
  r->text = NULL;
  r->code = 0;
}

/* ------------------------------------------------------------- calls */

static void fcall_unref(fcall *c) {
  if (!g_atomic_int_dec_and_test(&c->refs))
    return;
  fview_free(&c->view);
  config_unref(&c->cfg);
  g_mutex_clear(&c->m);
  g_cond_clear(&c->c);
  g_free(c->status);
  g_free(c->text);
  g_free(c->error);
  g_free(c);
}

static void call_run(gpointer data, gpointer unused) {
  fcall *c = data;
  const char *err = NULL;
  cursus_filter_verdict v = {0};
  int rc;
  if (g_get_monotonic_time() >= c->deadline) {
    rc = CURSUS_TEMPFAIL;
    err = "no thread was free in time";
  } else if (c->stage == CURSUS_FILTER_STAGE_MAIL) {
    rc = c->ops->mail(c->instance, &c->state, c->view, &v, &err);
  } else if (c->stage == CURSUS_FILTER_STAGE_RCPT) {
    rc = c->ops->rcpt(c->instance, &c->state, c->view, c->index, &v, &err);
  } else {
    rc = c->ops->data(c->instance, &c->state, c->view, &v, &err);
  }
  g_mutex_lock(&c->m);
  c->rc = rc;
  c->v = v;
  c->status = g_strdup(v.status);
  c->text = g_strdup(v.text);
  c->error = g_strdup(err != NULL ? err : "no reason given");
  c->finished = true;
  bool late = c->abandoned;
  g_cond_signal(&c->c);
  g_mutex_unlock(&c->m);
  if (late && c->state != NULL && c->ops->end != NULL)
    c->ops->end(c->instance, c->state);
  fcall_unref(c);
}

static void chain_run(gpointer data, gpointer unused);

static void pools_start(void) {
  g_mutex_lock(&pool_lock);
  if (call_pool == NULL) {
    call_pool = g_thread_pool_new(call_run, NULL, CALL_THREADS, FALSE, NULL);
    chain_pool = g_thread_pool_new(chain_run, NULL, CHAIN_THREADS, FALSE,
                                   NULL);
    /* keep idle threads: starting one per call costs more than the call */
    if (g_thread_pool_get_max_unused_threads() < CHAIN_THREADS)
      g_thread_pool_set_max_unused_threads(CHAIN_THREADS);
  }
  g_mutex_unlock(&pool_lock);
}

/* call - run one stage call of S and wait for it; the fcall (a reference
 * for the caller) has finished, or was abandoned when ABANDONED_R */
static fcall *call(frun *fr, fslot *s, cursus_filter_stage stage,
                   size_t index, bool *abandoned_r) {
  pools_start();
  fcall *c = g_new0(fcall, 1);
  c->refs = 2;
  g_mutex_init(&c->m);
  g_cond_init(&c->c);
  c->cfg = config_ref(fr->cfg);
  c->ops = s->ops;
  c->instance = s->instance;
  c->state = s->state;
  c->stage = stage;
  c->index = index;
  c->deadline = g_get_monotonic_time() + (gint64)s->def->timeout_ms * 1000;
  c->view = fview_new(fr->m, s->def->name, c->deadline, fr->limit);
  g_thread_pool_push(call_pool, c, NULL);
  g_mutex_lock(&c->m);
  while (!c->finished)
    if (!g_cond_wait_until(&c->c, &c->m, c->deadline) && !c->finished) {
      c->abandoned = true;
      break;
    }
  *abandoned_r = c->abandoned;
  g_mutex_unlock(&c->m);
  if (*abandoned_r) {
    fview_kill(c->view);
    s->state_out = true;
    s->state = NULL;
  } else {
    s->state = c->state;
  }
  return c;
}

/* ---------------------------------------------------------- outcomes */

/* set_refusal - the outcome REJECT or TEMPFAIL from verdict V of BY */
static void make_reply(const cursus_filter_verdict *v, const char *by,
                       frun_reply *r) {
  bool perm = v->action == CURSUS_FILTER_REJECT;
  unsigned code = v->code;
  if (perm ? (code < 500 || code > 599) : (code < 400 || code > 499))
    code = perm ? 550 : 451;
  const char *status = v->status;
  bool status_ok = status != NULL && strlen(status) >= 5 &&
                   status[0] == (perm ? '5' : '4') && status[1] == '.';
  const char *text = v->text;
  char *deftext = NULL;
  if (text == NULL || *text == '\0')
    text = deftext = g_strdup_printf(perm ? "Message refused by content "
                                            "filter %s"
                                          : "Message deferred by content "
                                            "filter %s, try again later",
                                     by);
  r->code = code;
  r->text = g_strdup_printf("%s %s", status_ok ? status
                                     : perm    ? "5.7.1"
                                               : "4.7.1",
                            text);
  g_free(deftext);
}

/* failure - S failed (WHY): its default action; CURSUS_OK when the
 * message goes on, else a refusal in R */
static int failure(frun *fr, fslot *s, const char *stage, const char *why,
                   frun_reply *r) {
  fconf_default d = s->def->on_failure;
  log_warning("message %s: content filter %s failed at %s: %s; default "
              "action %s",
              fr->m->info.queue_id, s->def->name, stage, why,
              fconf_default_name(d));
  s->done = true;
  switch (d) {
  case FCONF_ACCEPT:
    return CURSUS_OK;
  case FCONF_QUARANTINE:
    if (fr->out.hold == NULL)
      fr->out.hold = g_strdup_printf("content filter %s failed", s->def->name);
    return CURSUS_OK;
  case FCONF_REJECT:
    r->code = 550;
    r->text = g_strdup("5.7.1 Message cannot be accepted");
    return CURSUS_PERMFAIL;
  case FCONF_TEMPFAIL:
  default:
    r->code = 451;
    r->text = g_strdup("4.7.1 Content filter unavailable, try again later");
    return CURSUS_TEMPFAIL;
  }
}

/* text_ok - a verdict text fit for a reply line */
static bool text_ok(const char *t) {
  for (const char *p = t; p != NULL && *p != '\0'; p++)
    if ((unsigned char)*p < 32 || *p == 127)
      return false;
  return t == NULL || strlen(t) <= 512;
}

/* resolve_added - route the recipients the last call added */
static bool resolve_added(frun *fr, fmodel *m, char **error_r) {
  for (guint i = 0; i < m->rcpts->len; i++) {
    frcpt *r = m->rcpts->pdata[i];
    if (!r->added || r->channel != NULL || r->removed)
      continue;
    char *routed = NULL, *channel = NULL, *err = NULL;
    if (fr->resolve == NULL ||
        fr->resolve(fr->resolve_data, r->id, r->address, &routed, &channel,
                    &err) != CURSUS_OK) {
      *error_r = g_strdup_printf("added recipient <%s>: %s", r->address,
                                 err != NULL ? err : "cannot be routed");
      g_free(err);
      return false;
    }
    r->routed = routed;
    r->channel = channel;
    r->pub.routed = routed;
    r->pub.channel = channel;
  }
  return true;
}

/* run_stage - call S at STAGE and apply what it says; CURSUS_OK when the
 * message goes on, else a refusal in R (for the stage's command) */
static int run_stage(frun *fr, fslot *s, cursus_filter_stage stage,
                     size_t index, const char *stage_name, frun_reply *r) {
  const char *err = NULL;
  if (s->instance == NULL &&
      fconf_instance(s->def, &s->instance, &err) != CURSUS_OK)
    return failure(fr, s, stage_name, err, r);
  s->ops = fconf_ops(s->def);
  bool late = false;
  fcall *c = call(fr, s, stage, index, &late);
  int rc = CURSUS_OK;
  if (late) {
    rc = failure(fr, s, stage_name, "no answer in time", r);
  } else if (c->rc != CURSUS_OK) {
    rc = failure(fr, s, stage_name, c->error, r);
  } else if (c->v.action > CURSUS_FILTER_QUARANTINE || !text_ok(c->text) ||
             !text_ok(c->status)) {
    rc = failure(fr, s, stage_name, "malformed verdict", r);
  } else {
    fmodel *n = fview_result(c->view);
    char *why = NULL;
    if (!resolve_added(fr, n, &why)) {
      fmodel_unref(&n);
      rc = failure(fr, s, stage_name, why, r);
      g_free(why);
    } else {
      fmodel_unref(&fr->m);
      fr->m = n;
      cursus_filter_verdict v = c->v;
      v.status = c->status;
      v.text = c->text;
      switch (v.action) {
      case CURSUS_FILTER_CONTINUE:
        break;
      case CURSUS_FILTER_ACCEPT:
        s->done = true;
        break;
      case CURSUS_FILTER_REJECT:
      case CURSUS_FILTER_TEMPFAIL:
        make_reply(&v, s->def->name, r);
        log_info("message %s: content filter %s at %s: %u %s",
                 fr->m->info.queue_id, s->def->name, stage_name, r->code,
                 r->text);
        rc = v.action == CURSUS_FILTER_REJECT ? CURSUS_PERMFAIL
                                              : CURSUS_TEMPFAIL;
        break;
      case CURSUS_FILTER_DISCARD:
        fr->discard = true;
        g_free(fr->out.text);
        fr->out.text = g_strdup_printf("discarded by content filter %s%s%s",
                                       s->def->name, v.text ? ": " : "",
                                       v.text ? v.text : "");
        g_free(fr->out.by);
        fr->out.by = g_strdup(s->def->name);
        break;
      case CURSUS_FILTER_QUARANTINE:
        if (fr->out.hold == NULL)
          fr->out.hold = g_strdup_printf("quarantined by content filter "
                                         "%s%s%s",
                                         s->def->name, v.text ? ": " : "",
                                         v.text ? v.text : "");
        break;
      }
    }
  }
  fcall_unref(c);
  return rc;
}

/* ------------------------------------------------------------- stages */

frun *frun_new(config *cfg, const GPtrArray *chain,
               const cursus_filter_info *info, uint64_t limit, bool early,
               frun_resolve_fn *resolve, void *resolve_data) {
  frun *fr = g_new0(frun, 1);
  fr->early = early;
  fr->cfg = config_ref(cfg);
  fr->slots = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < chain->len; i++) {
    fslot *s = g_new0(fslot, 1);
    s->def = chain->pdata[i];
    g_ptr_array_add(fr->slots, s);
  }
  fr->m = fmodel_new(info);
  fr->limit = limit;
  fr->resolve = resolve;
  fr->resolve_data = resolve_data;
  return fr;
}

void frun_free(frun **frp) {
  frun *fr = *frp;
  *frp = NULL;
  if (fr == NULL)
    return;
  for (guint i = 0; i < fr->slots->len; i++) {
    fslot *s = fr->slots->pdata[i];
    if (s->state != NULL && !s->state_out && s->ops != NULL &&
        s->ops->end != NULL)
      s->ops->end(s->instance, s->state);
  }
  g_ptr_array_free(fr->slots, TRUE);
  fmodel_unref(&fr->m);
  g_free(fr->out.text);
  g_free(fr->out.hold);
  g_free(fr->out.by);
  config_unref(&fr->cfg);
  g_free(fr);
}

/* wants - S is still called, and at STAGE */
static bool wants(frun *fr, fslot *s, cursus_filter_stage stage) {
  if (s->done || fr->discard ||
      (!fr->early && stage != CURSUS_FILTER_STAGE_DATA))
    return false;
  const cursus_filter_ops *ops = fconf_ops(s->def);
  if (ops == NULL)
    return true; /* fails when opened: the default action applies */
  return (ops->stages & stage) != 0;
}

int frun_mail(frun *fr, frun_reply *r) {
  for (guint i = 0; i < fr->slots->len; i++) {
    fslot *s = fr->slots->pdata[i];
    if (!wants(fr, s, CURSUS_FILTER_STAGE_MAIL))
      continue;
    int rc = run_stage(fr, s, CURSUS_FILTER_STAGE_MAIL, 0, "MAIL", r);
    if (rc != CURSUS_OK)
      return rc;
  }
  return CURSUS_OK;
}

/* writable - the model, unshared (a late call may still look at it) */
static fmodel *writable(frun *fr) {
  if (g_atomic_int_get(&fr->m->refs) > 1) {
    fmodel *n = fmodel_clone(fr->m);
    fmodel_unref(&fr->m);
    fr->m = n;
  }
  return fr->m;
}

int frun_rcpt(frun *fr, unsigned id, const char *address, const char *routed,
              const char *channel, const char *orcpt, unsigned notify,
              frun_reply *r) {
  fmodel_add_rcpt(writable(fr), id, address, routed, channel, orcpt, notify);
  size_t index = 0;
  for (guint i = 0; i < fr->m->rcpts->len; i++)
    if (!((frcpt *)fr->m->rcpts->pdata[i])->removed)
      index++;
  index--;
  for (guint i = 0; i < fr->slots->len; i++) {
    fslot *s = fr->slots->pdata[i];
    if (!wants(fr, s, CURSUS_FILTER_STAGE_RCPT))
      continue;
    int rc = run_stage(fr, s, CURSUS_FILTER_STAGE_RCPT, index, "RCPT", r);
    if (rc != CURSUS_OK) {
      frcpt *x = fmodel_rcpt_by_id(writable(fr), id);
      if (x != NULL)
        g_ptr_array_remove(fr->m->rcpts, x);
      return rc;
    }
  }
  return CURSUS_OK;
}

void frun_data(frun *fr, fsource *src) {
  char *err = NULL;
  if (!fmodel_set_content(writable(fr), src, &err)) {
    fr->out.action = CURSUS_FILTER_TEMPFAIL;
    fr->out.code = 451;
    fr->out.text = g_strdup_printf("4.3.0 %s", err);
    g_free(err);
    return;
  }
  for (guint i = 0; i < fr->slots->len; i++) {
    fslot *s = fr->slots->pdata[i];
    if (!wants(fr, s, CURSUS_FILTER_STAGE_DATA))
      continue;
    frun_reply r = {0};
    int rc = run_stage(fr, s, CURSUS_FILTER_STAGE_DATA, 0, "DATA", &r);
    if (rc != CURSUS_OK) {
      fr->out.action = rc == CURSUS_PERMFAIL ? CURSUS_FILTER_REJECT
                                             : CURSUS_FILTER_TEMPFAIL;
      fr->out.code = r.code;
      g_free(fr->out.text);
      fr->out.text = r.text;
      g_free(fr->out.by);
      fr->out.by = g_strdup(s->def->name);
      return;
    }
  }
  if (fr->discard)
    fr->out.action = CURSUS_FILTER_DISCARD;
}

static void chain_run(gpointer data, gpointer unused) {
  frun *fr = data;
  fsource *src = fr->src;
  fr->src = NULL;
  frun_data(fr, src);
  fsource_unref(&src);
  fr->done(fr->done_data);
}

void frun_data_async(frun *fr, fsource *src, void (*done)(void *data),
                     void *data) {
  pools_start();
  fr->src = fsource_ref(src);
  fr->done = done;
  fr->done_data = data;
  g_thread_pool_push(chain_pool, fr, NULL);
}

const frun_outcome *frun_get_outcome(const frun *fr) { return &fr->out; }
const fmodel *frun_model(const frun *fr) { return fr->m; }
