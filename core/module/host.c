/*
 * host.c - the host table
 */
#include "build-config.h"
#include "host.h"
#include "config/bundle.h"
#include "config/config.h"
#include "filter/fmsg.h"
#include "hostdns.h"
#include "util/fsutil.h"
#include "util/cache.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static cursus_host host;
static ev_loop *host_loop;
static GThreadPool *blocking_pool;

/* ------------------------------------------------------------- logging */

static void h_logv(cursus_module_ctx *ctx, cursus_log_level level,
                   const char *fmt, va_list args) {
  log_msgv(level, ctx != NULL ? ctx->log_prefix : NULL, fmt, args);
}

static void h_log(cursus_module_ctx *ctx, cursus_log_level level,
                  const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  h_logv(ctx, level, fmt, args);
  va_end(args);
}

static int h_log_enabled(cursus_module_ctx *ctx, cursus_log_level level) {
  return level >= log_get_level();
}

/* ------------------------------------------------------------ settings */

static const char *h_setting(cursus_module_ctx *ctx, const char *key) {
  config *cfg = config_in_effect_ref();
  opt_section *s =
      cfg != NULL ? conf_module_section(cfg->conf, ctx->mod->desc->name) : NULL;
  const opt_entry *e = s != NULL ? optfile_get(s, key) : NULL;
  /* the string lives as long as the configuration, which the caller's
   * process holds (current or being loaded) */
  config_unref(&cfg);
  return e != NULL ? e->value : NULL;
}

static long long h_setting_int(cursus_module_ctx *ctx, const char *key,
                               long long def) {
  const char *v = h_setting(ctx, key);
  long long n;
  bool b;
  if (v == NULL)
    return def;
  if (opt_parse_int(v, &n) || opt_parse_duration(v, &n) ||
      opt_parse_size(v, &n))
    return n;
  if (opt_parse_bool(v, &b))
    return b ? 1 : 0;
  return def;
}

static const char *h_path(cursus_module_ctx *ctx, cursus_path_id which) {
  config *ref = config_in_effect_ref();
  config *cfg = ref;
  /* the strings live as long as the configuration the process holds */
  config_unref(&ref);
  if (cfg == NULL)
    return "/";
  switch (which) {
  case CURSUS_PATH_CONFIG:
    return cfg->dir;
  case CURSUS_PATH_STATE:
    return cfg->state_dir;
  case CURSUS_PATH_QUEUE:
    return cfg->queue_dir;
  case CURSUS_PATH_STORE:
    return cfg->store_dir;
  case CURSUS_PATH_LOG:
    return cfg->log_dir;
  case CURSUS_PATH_RUN:
    return cfg->run_dir;
  case CURSUS_PATH_MODULES:
    return cfg->module_path[0] != NULL ? cfg->module_path[0] : "/";
  }
  return cfg->state_dir;
}

/* ------------------------------------------------------------- buffers */

static void h_buf_append(cursus_buf *buf, const void *data, size_t len) {
  if (buf->len + len + 1 > buf->alloc) {
    size_t want = MAX(buf->alloc * 2, buf->len + len + 1);
    buf->data = g_realloc(buf->data, MAX(want, 64));
    buf->alloc = MAX(want, 64);
  }
  memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

static void h_buf_printf(cursus_buf *buf, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char *s = g_strdup_vprintf(fmt, args);
  va_end(args);
  h_buf_append(buf, s, strlen(s));
  g_free(s);
}

static void h_buf_free(cursus_buf *buf) {
  g_free(buf->data);
  memset(buf, 0, sizeof(*buf));
}

/* -------------------------------------------------------------- caches */

struct cursus_cache {
  cache *c;
  void *(*copy)(const void *);
  void (*free_value)(void *);
};

static cursus_cache *h_cache_new(size_t max_entries, unsigned ttl,
                                 unsigned negative_ttl,
                                 void *(*copy_value)(const void *),
                                 void (*free_value)(void *)) {
  cursus_cache *cc = g_new0(cursus_cache, 1);
  cc->c = cache_new(max_entries, ttl, negative_ttl, free_value);
  cc->copy = copy_value;
  cc->free_value = free_value;
  return cc;
}

static int h_cache_get(cursus_cache *cc, const char *key, void **value_r) {
  return cache_get(cc->c, key, value_r, cc->copy) ? CURSUS_OK : CURSUS_NONE;
}

static void h_cache_put(cursus_cache *cc, const char *key, void *value) {
  cache_put(cc->c, key, value);
}

static void h_cache_clear(cursus_cache *cc) { cache_clear(cc->c); }

static void h_cache_free(cursus_cache **ccp) {
  if (*ccp == NULL)
    return;
  cache_free(&(*ccp)->c);
  g_free(*ccp);
  *ccp = NULL;
}

/* ---------------------------------------------------------- event loop */

struct cursus_watch {
  ev_io *io;
  void (*cb)(void *, unsigned);
  void *data;
};

struct cursus_timer {
  ev_timer *t;
  void (*cb)(void *);
  void *data;
};

static void watch_cb(ev_io *io, unsigned events, void *data) {
  cursus_watch *w = data;
  unsigned e = 0;
  if (events & EV_READ)
    e |= CURSUS_IO_READ;
  if (events & EV_WRITE)
    e |= CURSUS_IO_WRITE;
  if (events & EV_ERROR)
    e |= CURSUS_IO_ERROR;
  w->cb(w->data, e);
}

static cursus_watch *h_io_watch(int fd, unsigned events,
                                void (*cb)(void *, unsigned), void *data) {
  if (host_loop == NULL)
    return NULL;
  cursus_watch *w = g_new0(cursus_watch, 1);
  w->cb = cb;
  w->data = data;
  unsigned e = 0;
  if (events & CURSUS_IO_READ)
    e |= EV_READ;
  if (events & CURSUS_IO_WRITE)
    e |= EV_WRITE;
  w->io = ev_io_new(host_loop, fd, e, watch_cb, w);
  return w;
}

static void h_io_unwatch(cursus_watch **wp) {
  if (*wp == NULL)
    return;
  ev_io_free(&(*wp)->io);
  g_free(*wp);
  *wp = NULL;
}

static void timer_cb(ev_timer *t, void *data) {
  cursus_timer *ct = data;
  /* one-shot: the module's handle stays valid until it removes it */
  ct->cb(ct->data);
}

static cursus_timer *h_timer_add(unsigned ms, void (*cb)(void *), void *data) {
  if (host_loop == NULL)
    return NULL;
  cursus_timer *ct = g_new0(cursus_timer, 1);
  ct->cb = cb;
  ct->data = data;
  ct->t = ev_timer_new(host_loop, ms, timer_cb, ct);
  return ct;
}

static void h_timer_remove(cursus_timer **ctp) {
  if (*ctp == NULL)
    return;
  ev_timer_free(&(*ctp)->t);
  g_free(*ctp);
  *ctp = NULL;
}

struct blocking_job {
  void (*work)(void *);
  void (*done)(void *);
  void *data;
  ev_loop *loop;
};

static void blocking_done(void *data) {
  struct blocking_job *job = data;
  job->done(job->data);
  g_free(job);
}

static void blocking_run(gpointer data, gpointer user_data) {
  struct blocking_job *job = data;
  job->work(job->data);
  ev_post(job->loop, blocking_done, job);
}

static int h_run_blocking(void (*work)(void *), void (*done)(void *),
                          void *data, const char **error_r) {
  if (host_loop == NULL) {
    *error_r = "no event loop in this process";
    return CURSUS_TEMPFAIL;
  }
  if (blocking_pool == NULL)
    blocking_pool = g_thread_pool_new(blocking_run, NULL, 8, FALSE, NULL);
  struct blocking_job *job = g_new0(struct blocking_job, 1);
  job->work = work;
  job->done = done;
  job->data = data;
  job->loop = host_loop;
  g_thread_pool_push(blocking_pool, job, NULL);
  return CURSUS_OK;
}

void host_stop_blocking(void) {
  if (blocking_pool != NULL)
    g_thread_pool_free(blocking_pool, FALSE, TRUE);
  blocking_pool = NULL;
}

/* ------------------------------------------------------ configuration */

static GPrivate read_error = G_PRIVATE_INIT(g_free);

static int h_read_config_file(cursus_module_ctx *ctx, const char *path,
                              cursus_buf *out, const char **error_r) {
  config *cfg = config_in_effect_ref();
  char *full = fs_path_join(cfg != NULL ? cfg->dir : "/", path);
  char *text = NULL, *why = NULL;
  gsize len = 0;
  GError *error = NULL;
  int rc = CURSUS_OK;
  config_unref(&cfg);
  if (!bundle_get_contents(full, &text, &len, &error)) {
    rc = error->code == G_FILE_ERROR_NOENT && !bundle_active()
             ? CURSUS_NONE
             : CURSUS_PERMFAIL;
    why = g_strdup_printf("%s: %s", full, error->message);
    g_error_free(error);
  } else if (!bundle_active() && !fs_check_trusted(full, false, &why)) {
    rc = CURSUS_PERMFAIL;
  } else {
    h_buf_append(out, text, len);
  }
  if (why != NULL) {
    g_private_replace(&read_error, why);
    *error_r = why;
  }
  g_free(text);
  g_free(full);
  return rc;
}

/* ---------------------------------------------------------------- table */

void host_init(unsigned process) {
  /* the lookup services belong to the whole program, not one process */
  const cursus_lookup_ops *lookup = host.lookup;
  memset(&host, 0, sizeof(host));
  host.lookup = lookup;
  host.size = sizeof(host);
  host.abi_major = CURSUS_ABI_MAJOR;
  host.abi_minor = CURSUS_ABI_MINOR;
  host.process = process;
  host.server_version = PACKAGE_VERSION;
  host.log = h_log;
  host.logv = h_logv;
  host.log_enabled = h_log_enabled;
  host.setting = h_setting;
  host.setting_int = h_setting_int;
  host.path = h_path;
  host.buf_append = h_buf_append;
  host.buf_printf = h_buf_printf;
  host.buf_free = h_buf_free;
  host.cache_new = h_cache_new;
  host.cache_get = h_cache_get;
  host.cache_put = h_cache_put;
  host.cache_clear = h_cache_clear;
  host.cache_free = h_cache_free;
  host.io_watch = h_io_watch;
  host.io_unwatch = h_io_unwatch;
  host.timer_add = h_timer_add;
  host.timer_remove = h_timer_remove;
  host.run_blocking = h_run_blocking;
  host.read_config_file = h_read_config_file;
  host.filter = fmsg_access();
  hostdns_install(&host);
}

const cursus_host *host_table(void) { return &host; }
void host_set_loop(ev_loop *loop) { host_loop = loop; }
ev_loop *host_get_loop(void) { return host_loop; }
void host_set_conn(const cursus_conn_ops *ops) { host.conn = ops; }
void host_set_queue(const cursus_queue_ops *ops) { host.queue = ops; }
void host_set_lookup(const cursus_lookup_ops *ops) { host.lookup = ops; }
void host_set_store(const cursus_store_access *ops) { host.store = ops; }
void host_set_auth(const cursus_auth_access *ops) { host.auth = ops; }
void host_set_directory(const cursus_directory_access *ops) {
  host.directory = ops;
}

/* ignore_sigpipe - modules talk to peers through libraries (libldap,
 * GnuTLS, c-ares) that write to sockets with plain write(): a peer that
 * went away must give them EPIPE, not kill the process (a daemon, a tool,
 * a benchmark or a command run by an admin) with SIGPIPE.  Every path
 * that initialises a module comes through here. */
static void ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

bool module_init(module *m, char **error_r) {
  if (m->initialized)
    return true;
  ignore_sigpipe();
  if (m->desc->processes != 0 && !(m->desc->processes & host.process)) {
    char *procs = module_processes_string(m->desc->processes);
    *error_r = g_strdup_printf("module %s (%s) may only run in: %s; not in "
                               "the %s process",
                               m->desc->name, m->path, procs,
                               process_name(host.process));
    g_free(procs);
    return false;
  }
  if (m->ctx == NULL) {
    m->ctx = g_new0(struct cursus_module_ctx, 1);
    m->ctx->mod = m;
    m->ctx->log_prefix = g_strdup(m->desc->name);
  }
  const char *error = NULL;
  if (m->desc->init != NULL &&
      m->desc->init(m->ctx, &host, &error) != CURSUS_OK) {
    *error_r = g_strdup_printf("module %s (%s): initialisation failed: %s",
                               m->desc->name, m->path,
                               error != NULL ? error : "no reason given");
    return false;
  }
  m->initialized = true;
  return true;
}

bool modules_init(modreg *reg, uint32_t kinds, bool fatal) {
  bool ok = true;
  ignore_sigpipe();
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    char *error = NULL;
    if (!m->used || (kinds != 0 && !(m->desc->kinds & kinds)))
      continue;
    if (m->desc->processes != 0 && !(m->desc->processes & host.process))
      continue;
    if (!module_init(m, &error)) {
      if (fatal)
        log_fatal("%s", error);
      log_error("%s", error);
      g_free(error);
      ok = false;
    }
  }
  return ok;
}
