/*
 * reprocess.c - the reprocess channel, and built with CHANNEL_HOLD the
 * hold channel
 *
 * Reprocess (channels reprocess*, process*): each recipient is resolved
 * again, once (rewrite rules, aliases, directory; host->lookup, flagged as
 * reprocessing, so `$1M` rules apply) and the message is enqueued anew
 * from this channel to the routes of that resolution (host->queue->
 * enqueue_routes: no second resolution outside the reprocess context):
 * deferred expansion, a domain that failed temporarily, a recipient moved
 * by the administrator.  A recipient that routes back to this very
 * channel is a loop and fails.  An address this channel was reached by
 * (`@reprocess-daemon:ADDRESS`, the directory's deferred delivery
 * options) is resolved without that route.
 *
 * Hold (channels hold*): messages for recipients whose directory entry
 * says hold (mailUserStatus or mailDomainStatus hold, mailDeliveryOption
 * hold: `@hold-daemon:ADDRESS`) wait here.  On each retry (the channel's
 * backoff) ADDRESS is resolved again: while it still routes to the hold
 * channel it stays held (4.2.1), once it routes elsewhere the message
 * moves on there.  The channel's `notices` bound
 * how long mail is held before it is returned.
 */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <cursus/cursus.h>

static const cursus_host *host;
static cursus_module_ctx *me;

typedef struct rp_chan {
  char *name;
  char *host; /* the channel's official host name: hold-daemon ... */
} rp_chan;

static int rp_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  if (h->queue == NULL || h->lookup == NULL) {
    *error_r = "the host offers no queue or lookup services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  me = ctx;
  return CURSUS_OK;
}

static int rp_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                   void **data_r, const char **error_r) {
  rp_chan *c = g_new0(rp_chan, 1);
  c->name = g_strdup(host->queue->channel_name(chan));
  const char *h = host->queue->channel_host(chan);
  c->host = g_strdup(h != NULL ? h : "");
  *data_r = c;
  return CURSUS_OK;
}

/* routes_here - the resolution sends a copy back to this channel */
static bool routes_here(const rp_chan *c, const cursus_resolution *res) {
  for (size_t k = 0; k < res->n_routes; k++)
    if (g_ascii_strcasecmp(res->routes[k].channel, c->name) == 0)
      return true;
  return false;
}

/* own_route_stripped - ADDRESS without a leading source route naming this
 * channel ("@hold-daemon:frank@example.com" -> "frank@example.com") */
static const char *own_route_stripped(const rp_chan *c, const char *address) {
  size_t n = strlen(c->host);
  if (address[0] == '@' && n > 0 && g_ascii_strncasecmp(address + 1, c->host, n) == 0 &&
      (address[n + 1] == ':' || address[n + 1] == ',') && address[n + 2] != '\0')
    return address + n + 2; /* after the colon, or the comma of a longer route */
  return address;
}

static void result(cursus_message *msg, size_t i, int status, const char *code,
                   const char *text) {
  cursus_result r = {.status = status, .code = code, .text = text};
  host->queue->rcpt_result(msg, i, &r);
}

/* copy_content - the message into ENQ */
static bool copy_content(cursus_message *msg, cursus_enqueue *enq,
                         const char **error_r) {
  uint64_t off, len;
  int fd = host->queue->content_fd(msg, &off, &len);
  if (fd < 0) {
    *error_r = "cannot read the queued message";
    return false;
  }
  char buf[65536];
  for (uint64_t done = 0; done < len;) {
    ssize_t n = pread(fd, buf, (size_t)MIN((uint64_t)sizeof(buf), len - done),
                      (off_t)(off + done));
    if (n <= 0) {
      *error_r = "cannot read the queued message";
      return false;
    }
    if (host->queue->enqueue_write(enq, buf, (size_t)n, error_r) != CURSUS_OK)
      return false;
    done += (uint64_t)n;
  }
  return true;
}

static int rp_deliver(void *data, cursus_message *msg, const char **error_r) {
  rp_chan *c = data;
  const cursus_queue_ops *q = host->queue;
  size_t n = q->recipient_count(msg);
  cursus_enqueue *enq = NULL;
  GArray *moving = g_array_new(FALSE, FALSE, sizeof(size_t));
  const char *err = NULL;
  for (size_t i = 0; i < n; i++) {
    const cursus_recipient *r = q->recipient(msg, i);
    cursus_resolve_params p = {.size = sizeof(p),
                               .source_channel = c->name,
                               .sender = q->sender(msg),
                               .flags = CURSUS_RESOLVE_REPROCESS};
    cursus_resolution *res = NULL;
    int st = host->lookup->resolve_recipient(own_route_stripped(c, r->address),
                                             &p, &res);
    if (st != CURSUS_OK) {
      result(msg, i, st, st == CURSUS_PERMFAIL ? "5.1.1" : "4.4.3",
             res != NULL && res->error != NULL ? res->error : "cannot resolve");
    } else if (routes_here(c, res)) {
#ifdef CHANNEL_HOLD
      result(msg, i, CURSUS_TEMPFAIL, "4.2.1", "held for the recipient");
#else
      result(msg, i, CURSUS_PERMFAIL, "5.4.6",
             "routing loop: the address resolves to this channel again");
#endif
    } else {
      if (enq == NULL)
        enq = q->enqueue_begin(me, c->name, q->sender(msg), &err);
      if (enq == NULL) {
        result(msg, i, CURSUS_TEMPFAIL, "4.3.0", err);
      } else if ((st = q->enqueue_routes(enq, r, res, &err)) != CURSUS_OK) {
        result(msg, i, st, st == CURSUS_PERMFAIL ? "5.1.1" : "4.3.0", err);
      } else {
        g_array_append_val(moving, i);
      }
    }
    host->lookup->resolution_free(&res);
  }
  if (moving->len > 0) {
    const char *id = NULL;
    bool ok = copy_content(msg, enq, &err) &&
              q->enqueue_commit(enq, &id, &err) == CURSUS_OK;
    char *text = ok ? g_strdup_printf("requeued as %s", id) : g_strdup(err);
    for (guint k = 0; k < moving->len; k++)
      result(msg, g_array_index(moving, size_t, k),
             ok ? CURSUS_OK : CURSUS_TEMPFAIL, ok ? "2.0.0" : "4.3.0", text);
    g_free(text);
  }
  if (enq != NULL)
    q->enqueue_free(&enq);
  g_array_free(moving, TRUE);
  return CURSUS_OK;
}

static void rp_close(void *data) {
  rp_chan *c = data;
  g_free(c->name);
  g_free(c->host);
  g_free(c);
}

#ifdef CHANNEL_HOLD
static const char *const rp_names[] = {"hold*", NULL};
#else
static const char *const rp_names[] = {"reprocess*", "process*", NULL};
#endif

static const cursus_channel_ops rp_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = rp_names,
    .open = rp_open,
    .deliver = rp_deliver,
    .close = rp_close,
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

CURSUS_MODULE(
#ifdef CHANNEL_HOLD
    .name = "channel_hold",
    .description = "holds mail until its recipients route elsewhere",
#else
    .name = "channel_reprocess",
    .description = "resolves recipients again and requeues the message",
#endif
    .version = "1.0", .vendor = "Cursus", .license = "GPL-3.0-or-later",
    .kinds = CURSUS_KIND_CHANNEL,
    .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL, .init = rp_init,
    .channel = &rp_ops);
