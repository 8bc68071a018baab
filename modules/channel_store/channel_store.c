/*
 * channel_store.c - the ims-ms channel: delivery from the channel's queue
 * into the message store
 *
 * Serves channels named ims-ms* (ims-ms, ims-ms-guaranteed ...).  A
 * recipient address is "uid+folder@ims-ms-daemon" (hosted domains:
 * "uid%domain+folder@..."), as the directory's delivery options make it;
 * the folder is optional and falls back to INBOX when it does not exist
 * or may not be written.  All recipients of one message are stored in
 * one append: the store keeps one copy per partition, each recipient
 * with their own flags.
 *
 * Quota: a recipient over quota is held (4.2.2, retried on the channel's
 * backoff) while they have been over for less than `[store] quota_grace`,
 * then the message is returned (5.2.2); with `noexquota` (the last of it
 * and `holdexquota`) it is returned at once; a message larger than the
 * whole quota is returned at once.  A channel with the `guaranteed` keyword
 * delivers whatever the quota says.  After each delivery the recipient's
 * usage is checked against the warning threshold (host->store->
 * quota_notify).
 *
 * Opening a recipient's store session (the directory entry, the store's
 * record of the user, an unfinished operation to repair) costs as much as
 * a tenth of a delivery, so a session is kept for the next delivery to
 * the same user, by one thread at a time, for at most `keep_sessions`
 * (1 s; 0: never kept) after it was opened: a change in the directory
 * (quota, status) reaches deliveries as late as the directory's own
 * cache lets it plus that.  A
 * delivery that fails on a kept session (the user's store deleted or
 * moved meanwhile) is tried once more on a fresh one, and a failed
 * session is not kept.  Sessions are closed when the job goes idle.
 */
#include "build-config.h"
#include <cursus/cursus.h>

#include <errno.h>
#include <stdbool.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

static const cursus_host *host;
static cursus_module_ctx *mctx;

/* Sessions kept at most (a job delivering to many users at once keeps
 * those it reaches first). */
#define KEPT_MAX 1024

/* A store session kept for the next delivery to its user. */
typedef struct kept {
  cursus_store_user *u;
  int64_t opened; /* monotonic ms */
} kept;

typedef struct chan {
  bool guaranteed;
  bool noexquota; /* over quota: returned at once, no grace period */
  char subaddress_sep;
  int64_t keep_ms;   /* keep_sessions */
  GMutex kept_lock;  /* guards kept */
  GHashTable *kept;  /* user id -> kept*, none of them in use */
} chan;

/* A recipient as the store sees it. */
typedef struct rcpt {
  size_t index;
  char *user;
  char *folder;
  cursus_store_user *u;
  int64_t opened; /* when u was opened (monotonic ms) */
  bool reused;    /* u served an earlier delivery */
  bool notfound;  /* the store answered "no such mailbox or user" */
  cursus_result res;
  char *text;
  bool done;
} rcpt;

static void kept_free(kept *k) {
  host->store->ops->user_close(&k->u);
  g_free(k);
}

static int cs_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  mctx = ctx;
  return CURSUS_OK;
}

static int cs_open(cursus_module_ctx *ctx, const cursus_channel *ch,
                   void **data_r, const char **error_r) {
  chan *c = g_new0(chan, 1);
  g_mutex_init(&c->kept_lock);
  c->kept = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify)kept_free);
  c->guaranteed = host->queue->channel_keyword_count(ch, "guaranteed") >= 0;
  static const char *const exquota[] = {"holdexquota", "noexquota", NULL};
  const char *ex = host->queue->channel_keyword_last(ch, exquota);
  c->noexquota = ex != NULL && strcmp(ex, "noexquota") == 0;
  const char *sep = host->setting(ctx, "subaddress_separator");
  c->subaddress_sep = sep != NULL && *sep != '\0' ? sep[0] : '+';
  c->keep_ms = host->setting_int(ctx, "keep_sessions", 1) * 1000;
  *data_r = c;
  return CURSUS_OK;
}

/* cs_idle - nothing to deliver: the kept sessions go */
static void cs_idle(void *data) {
  chan *c = data;
  g_mutex_lock(&c->kept_lock);
  g_hash_table_remove_all(c->kept);
  g_mutex_unlock(&c->kept_lock);
}

static void cs_close(void *data) {
  chan *c = data;
  g_hash_table_destroy(c->kept);
  g_mutex_clear(&c->kept_lock);
  g_free(c);
}

/* parse_address - user id and folder of "uid%domain+folder@host" */
static bool parse_address(const chan *c, const char *address, char **user_r,
                          char **folder_r) {
  const char *at = strrchr(address, '@');
  char *local = at != NULL ? g_strndup(address, (gsize)(at - address))
                           : g_strdup(address);
  /* a quoted local part: "joe+My Folder" */
  size_t n = strlen(local);
  if (n >= 2 && local[0] == '"' && local[n - 1] == '"') {
    GString *u = g_string_new(NULL);
    for (size_t i = 1; i + 1 < n; i++) {
      if (local[i] == '\\' && i + 2 < n)
        i++;
      g_string_append_c(u, local[i]);
    }
    g_free(local);
    local = g_string_free(u, FALSE);
  }
  char *plus = strchr(local, c->subaddress_sep);
  char *folder = NULL;
  if (plus != NULL) {
    folder = *(plus + 1) != '\0' ? g_strdup(plus + 1) : NULL;
    *plus = '\0';
  }
  /* joe%example.com: a hosted domain's user */
  char *pct = strrchr(local, '%');
  if (pct != NULL)
    *pct = '@';
  if (*local == '\0') {
    g_free(local);
    g_free(folder);
    return false;
  }
  *user_r = local;
  *folder_r = folder;
  return true;
}

static void set_result(rcpt *r, cursus_status st, const char *code,
                       char *text) {
  r->res.status = st;
  r->res.code = code;
  g_free(r->text);
  r->text = text;
  r->res.text = text;
  r->res.remote = NULL;
  r->done = true;
}

/* take_kept - the kept session of USER still young enough, or NULL */
static cursus_store_user *take_kept(chan *c, const char *user,
                                    int64_t *opened_r) {
  cursus_store_user *u = NULL;
  g_mutex_lock(&c->kept_lock);
  kept *k = g_hash_table_lookup(c->kept, user);
  if (k != NULL) {
    if (g_get_monotonic_time() / 1000 - k->opened < c->keep_ms) {
      u = k->u;
      k->u = NULL;
      *opened_r = k->opened;
    }
    g_hash_table_remove(c->kept, user);
  }
  g_mutex_unlock(&c->kept_lock);
  return u;
}

/* keep - R's session for the next delivery to R's user (closed when one
 * is kept already, it is too old or KEPT_MAX are kept) */
static void keep(chan *c, rcpt *r) {
  cursus_store_user *u = r->u;
  r->u = NULL;
  if (g_get_monotonic_time() / 1000 - r->opened < c->keep_ms) {
    g_mutex_lock(&c->kept_lock);
    if (g_hash_table_size(c->kept) < KEPT_MAX &&
        g_hash_table_lookup(c->kept, r->user) == NULL) {
      kept *k = g_new0(kept, 1);
      k->u = u;
      k->opened = r->opened;
      g_hash_table_insert(c->kept, g_strdup(r->user), k);
      u = NULL;
    }
    g_mutex_unlock(&c->kept_lock);
  }
  if (u != NULL)
    host->store->ops->user_close(&u);
}

/* open_user - the recipient's store session (a kept one unless FRESH); a
 * result when there is none */
static void open_user(chan *c, rcpt *r, bool fresh) {
  const char *error = NULL;
  r->u = fresh ? NULL : take_kept(c, r->user, &r->opened);
  r->reused = r->u != NULL;
  if (r->reused)
    return;
  r->opened = g_get_monotonic_time() / 1000;
  int st = host->store->user_open(r->user, CURSUS_STORE_USER_CREATE, &r->u,
                                  &error);
  if (st == CURSUS_OK)
    return;
  if (st == CURSUS_NONE || st == CURSUS_PERMFAIL)
    set_result(r, CURSUS_PERMFAIL, "5.1.1",
               g_strdup_printf("no mailbox here for %s: %s", r->user,
                               error != NULL ? error : "unknown user"));
  else
    set_result(r, CURSUS_TEMPFAIL, "4.3.0",
               g_strdup_printf("the mailbox of %s cannot be reached now: %s",
                               r->user, error != NULL ? error : "try later"));
}

/* over_quota - hold during the grace period (holdexquota, the default),
 * then return; at once with noexquota */
static void over_quota(const chan *c, rcpt *r, uint64_t size) {
  const cursus_store_ops *ops = host->store->ops;
  cursus_store_policy pol = {.size = sizeof(pol)};
  cursus_store_quota q = {.size = sizeof(q)};
  const char *error;
  host->store->quota_policy(&pol);
  if (ops->quota_get(r->u, NULL, &q, &error) != CURSUS_OK)
    q.over_since = 0;
  if (q.bytes_limit >= 0 && size > (uint64_t)q.bytes_limit) {
    set_result(r, CURSUS_PERMFAIL, "5.2.3",
               g_strdup_printf("message larger than the mailbox of %s may "
                               "hold (%" G_GINT64_FORMAT " bytes)",
                               r->user, q.bytes_limit));
    return;
  }
  int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  int64_t since = q.over_since != 0 ? q.over_since : now;
  if (!c->noexquota && now - since < pol.grace)
    set_result(r, CURSUS_TEMPFAIL, "4.2.2",
               g_strdup_printf("mailbox of %s is full; held for retry "
                               "(over quota for %" G_GINT64_FORMAT " s of a "
                               "%" G_GINT64_FORMAT " s grace period)",
                               r->user, now - since, pol.grace));
  else
    set_result(r, CURSUS_PERMFAIL, "5.2.2",
               g_strdup_printf("mailbox of %s is full", r->user));
}

static void map_result(const chan *c, rcpt *r,
                       const cursus_store_append_result *res, uint64_t size) {
  const char *error;
  if (res->status == CURSUS_OK) {
    set_result(r, CURSUS_OK, "2.0.0",
               g_strdup_printf("delivered to user/%s/%s (uid %u)", r->user,
                               res->mailbox, res->uid));
    if (CURSUS_HAS(host->store, quota_notify) &&
        host->store->quota_notify(r->u, &error) == CURSUS_TEMPFAIL)
      host->log(mctx, CURSUS_LOG_WARNING, "quota warning for %s: %s",
                r->user, error);
    return;
  }
  switch (res->error) {
  case CURSUS_STORE_E_OVERQUOTA:
    over_quota(c, r, size);
    break;
  case CURSUS_STORE_E_NOTFOUND:
    set_result(r, CURSUS_PERMFAIL, "5.1.1",
               g_strdup_printf("no such mailbox for %s: %s", r->user,
                               res->text));
    break;
  case CURSUS_STORE_E_NOPERM:
    set_result(r, CURSUS_PERMFAIL, "5.7.1",
               g_strdup_printf("not allowed to deliver to %s: %s", r->user,
                               res->text));
    break;
  case CURSUS_STORE_E_LIMIT:
    set_result(r, CURSUS_PERMFAIL, "5.3.4", g_strdup(res->text));
    break;
  case CURSUS_STORE_E_NOSPACE:
    set_result(r, CURSUS_TEMPFAIL, "4.3.1", g_strdup(res->text));
    break;
  default:
    set_result(r, res->status == CURSUS_PERMFAIL ? CURSUS_PERMFAIL
                                                 : CURSUS_TEMPFAIL,
               res->status == CURSUS_PERMFAIL ? "5.2.0" : "4.2.0",
               g_strdup(res->text != NULL ? res->text : "store failure"));
  }
}

/* copy_content - Return-Path, then the queued content */
static int copy_content(cursus_store_append *a, cursus_message *msg,
                        uint64_t *size_r, const char **error_r) {
  const cursus_store_ops *ops = host->store->ops;
  char *rp = g_strdup_printf("Return-Path: <%s>\r\n",
                             host->queue->sender(msg));
  int st = ops->append_write(a, rp, strlen(rp), error_r);
  *size_r = strlen(rp);
  g_free(rp);
  uint64_t off, size;
  int fd = host->queue->content_fd(msg, &off, &size);
  if (fd < 0) {
    *error_r = "cannot read the queued message";
    return CURSUS_TEMPFAIL;
  }
  char buf[65536];
  uint64_t done = 0;
  while (st == CURSUS_OK && done < size) {
    size_t want = (size_t)MIN((uint64_t)sizeof(buf), size - done);
    ssize_t n = pread(fd, buf, want, (off_t)(off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *error_r = "cannot read the queued message";
      return CURSUS_TEMPFAIL;
    }
    st = ops->append_write(a, buf, (size_t)n, error_r);
    done += (uint64_t)n;
  }
  *size_r += size;
  return st;
}

/* store_all - one append of MSG for every recipient of RS without a
 * result yet, each given theirs */
static void store_all(chan *c, cursus_message *msg, rcpt *rs, size_t n) {
  const cursus_store_ops *ops = host->store->ops;
  size_t live = 0;
  for (size_t i = 0; i < n; i++)
    live += !rs[i].done;
  if (live == 0)
    return;
  uint64_t off, size;
  host->queue->content_fd(msg, &off, &size);
  cursus_store_append_params p = {.size = sizeof(p), .size_hint = size};
  const char *error = NULL;
  cursus_store_append *a = host->store->append_begin(&p, &error);
  int st = a != NULL ? CURSUS_OK : CURSUS_TEMPFAIL;
  for (size_t i = 0; st == CURSUS_OK && i < n; i++) {
    if (rs[i].done)
      continue;
    cursus_store_target t = {
        .size = sizeof(t),
        .mailbox = rs[i].folder != NULL ? rs[i].folder : "INBOX",
        .options = CURSUS_STORE_TARGET_FALLBACK_INBOX |
                   CURSUS_STORE_TARGET_POST |
                   (c->guaranteed ? CURSUS_STORE_TARGET_IGNORE_QUOTA : 0),
    };
    st = ops->append_target(a, rs[i].u, &t, &error);
  }
  uint64_t total = 0;
  if (st == CURSUS_OK)
    st = copy_content(a, msg, &total, &error);
  cursus_store_append_result *res = g_new0(cursus_store_append_result, live);
  for (size_t k = 0; k < live; k++)
    res[k].size = sizeof(res[k]);
  if (st == CURSUS_OK)
    ops->append_commit(a, res, &error);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (rs[i].done)
      continue;
    if (st != CURSUS_OK) {
      set_result(&rs[i], CURSUS_TEMPFAIL, "4.3.0",
                 g_strdup_printf("cannot store the message: %s",
                                 error != NULL ? error : "store failure"));
    } else {
      rs[i].notfound = res[k].status != CURSUS_OK &&
                       res[k].error == CURSUS_STORE_E_NOTFOUND;
      map_result(c, &rs[i], &res[k], total);
    }
    k++;
  }
  g_free(res);
  if (a != NULL)
    ops->append_free(&a);
}

static int cs_deliver(void *data, cursus_message *msg, const char **error_r) {
  chan *c = data;
  if (host->store == NULL) {
    *error_r = "no message store in this process";
    return CURSUS_TEMPFAIL;
  }
  const cursus_store_ops *ops = host->store->ops;
  size_t n = host->queue->recipient_count(msg);
  rcpt *rs = g_new0(rcpt, n);
  for (size_t i = 0; i < n; i++) {
    const cursus_recipient *cr = host->queue->recipient(msg, i);
    rs[i].index = i;
    if (!parse_address(c, cr->address, &rs[i].user, &rs[i].folder))
      set_result(&rs[i], CURSUS_PERMFAIL, "5.1.3",
                 g_strdup_printf("not a store address: %s", cr->address));
    else
      open_user(c, &rs[i], false);
  }
  store_all(c, msg, rs, n);
  /* a kept session may have outlived the user's store (deleted, made
   * anew): those recipients are tried once more on a fresh one */
  bool again = false;
  for (size_t i = 0; i < n; i++) {
    if (!rs[i].reused || !rs[i].notfound)
      continue;
    ops->user_close(&rs[i].u);
    rs[i].done = false;
    rs[i].notfound = false;
    open_user(c, &rs[i], true);
    again = true;
  }
  if (again)
    store_all(c, msg, rs, n);
  for (size_t i = 0; i < n; i++) {
    host->queue->rcpt_result(msg, rs[i].index, &rs[i].res);
    if (rs[i].u != NULL && rs[i].res.status == CURSUS_OK)
      keep(c, &rs[i]);
    else if (rs[i].u != NULL)
      ops->user_close(&rs[i].u);
    g_free(rs[i].user);
    g_free(rs[i].folder);
    g_free(rs[i].text);
  }
  g_free(rs);
  return CURSUS_OK;
}

static const char *const cs_names[] = {"ims-ms*", NULL};

static const cursus_channel_ops cs_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = cs_names,
    .open = cs_open,
    .deliver = cs_deliver,
    .idle = cs_idle,
    .close = cs_close,
    /* the store locks per user: deliveries of several messages may run at
     * once */
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

static const cursus_keyword cs_keywords[] = {
    {"guaranteed", CURSUS_VALUE_FLAG, 0, 0,
     "deliver into the store whatever the recipients' quota"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword cs_settings[] = {
    {"subaddress_separator", CURSUS_VALUE_STRING, 1, 1,
     "separates the folder in store addresses (+)"},
    {"keep_sessions", CURSUS_VALUE_DURATION, 1, 1,
     "how long a recipient's store session serves further deliveries "
     "(1 s; 0: each delivery opens its own)"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "channel_store", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "ims-ms: delivery into the message store",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .keywords = cs_keywords, .settings = cs_settings,
              .init = cs_init, .channel = &cs_ops);
