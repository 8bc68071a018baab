/*
 * qconfig.c - queue settings, their checks and a process's set-up
 */
#include "build-config.h"
#include "qconfig.h"
#include "qnotify.h"
#include "mta/msglog.h"
#include "util/fsutil.h"

#include <string.h>

/* Most subdirectories a channel queue may be spread over. */
#define SUBDIRS_MAX 1000

/* settings_compute - the settings of CFG, read from its options */
static void settings_compute(const config *cfg, queue_settings *out) {
  const char *sync = conf_get(cfg->conf, "queue", "sync");
  out->sync = sync != NULL && g_ascii_strcasecmp(sync, "fsync") == 0
                  ? QWRITE_FSYNC
                  : QWRITE_SYNCFS;
  out->spill_size =
      (size_t)conf_get_int(cfg->conf, "queue", "spill_size", 1 << 20);
  out->batch_max = (unsigned)conf_get_int(cfg->conf, "queue", "batch_max", 256);
  out->block_size = (unsigned)conf_get_int(cfg->conf, "mta", "block_size", 1024);
  if (out->block_size == 0)
    out->block_size = 1024;
  out->block_limit =
      (uint64_t)conf_get_int(cfg->conf, "mta", "block_limit", 51200);
  out->max_received =
      (unsigned)conf_get_int(cfg->conf, "mta", "max_received", 50);
}

/* Each configuration keeps its settings, computed by the check hook once:
 * they are read for every message. */
#define EXT_NAME "queue"

void queue_settings_read(const config *cfg, queue_settings *out) {
  const queue_settings *kept = config_extension(cfg, EXT_NAME);
  if (kept != NULL)
    *out = *kept;
  else
    settings_compute(cfg, out);
}

unsigned queue_channel_subdirs(const cnf_channel *ch) {
  long long n = ch != NULL ? cnf_channel_int(ch, "subdirs", 1) : 1;
  return n < 1 ? 1 : n > SUBDIRS_MAX ? SUBDIRS_MAX : (unsigned)n;
}

/* min_limit - the smaller of two limits where 0 means none */
static uint64_t min_limit(uint64_t a, uint64_t b) {
  if (a == 0)
    return b;
  if (b == 0)
    return a;
  return MIN(a, b);
}

uint64_t queue_channel_limit(const config *cfg, const cnf_channel *ch,
                             bool as_source) {
  queue_settings qs;
  queue_settings_read(cfg, &qs);
  uint64_t blocks = qs.block_limit;
  if (ch != NULL) {
    static const char *const which[] = {"blocklimit", "noblocklimit", NULL};
    const char *last = cnf_channel_last_of(ch, which);
    if (last != NULL && strcmp(last, "blocklimit") == 0)
      blocks = min_limit(blocks, (uint64_t)cnf_channel_int(ch, "blocklimit", 0));
    if (as_source)
      blocks = min_limit(blocks,
                         (uint64_t)cnf_channel_int(ch, "sourceblocklimit", 0));
  }
  return blocks * qs.block_size;
}

bool queue_channel_logging(const cnf_channel *ch) {
  static const char *const which[] = {"logging", "nologging", NULL};
  const char *last = ch != NULL ? cnf_channel_last_of(ch, which) : NULL;
  return last != NULL && strcmp(last, "logging") == 0;
}

/* check_hook - the queue's configuration checks */
static void check_hook(config *cfg, diag *d) {
  queue_settings *kept = g_new(queue_settings, 1);
  settings_compute(cfg, kept);
  config_extension_set(cfg, EXT_NAME, kept, g_free);
  for (guint i = 0; i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    if (s->kind == NULL || s->name != NULL)
      continue;
    if (g_ascii_strcasecmp(s->kind, "queue") == 0) {
      const opt_entry *e = optfile_get(s, "sync");
      if (e != NULL && g_ascii_strcasecmp(e->value, "syncfs") != 0 &&
          g_ascii_strcasecmp(e->value, "fsync") != 0)
        diag_error(d, e->file, e->line,
                   "[queue] sync must be syncfs or fsync, not \"%s\"",
                   e->value);
      e = optfile_get(s, "batch_max");
      long long n;
      if (e != NULL && opt_parse_int(e->value, &n) && (n < 1 || n > 4096))
        diag_error(d, e->file, e->line,
                   "[queue] batch_max must be between 1 and 4096");
    } else if (g_ascii_strcasecmp(s->kind, "mta") == 0) {
      const opt_entry *e = optfile_get(s, "block_size");
      long long n;
      if (e != NULL && opt_parse_int(e->value, &n) && (n < 1 || n > 1 << 20))
        diag_error(d, e->file, e->line,
                   "[mta] block_size must be between 1 and 1048576");
      e = optfile_get(s, "max_received");
      if (e != NULL && opt_parse_int(e->value, &n) && (n < 1 || n > 1000))
        diag_error(d, e->file, e->line,
                   "[mta] max_received must be between 1 and 1000");
    }
  }
  if (cfg->imta == NULL)
    return;
  for (guint i = 0; i < cfg->imta->channels->len; i++) {
    const cnf_channel *ch = cfg->imta->channels->pdata[i];
    if (ch->name[0] == '.')
      diag_error(d, ch->file, ch->line,
                 "channel name %s: a channel name cannot start with a dot "
                 "(its queue directory would be hidden)",
                 ch->name);
    const cnf_kw *kw = cnf_channel_kw(ch, "subdirs");
    long long n;
    if (kw != NULL && kw->values->len > 0 &&
        opt_parse_int(kw->values->pdata[0], &n) && (n < 1 || n > SUBDIRS_MAX))
      diag_error(d, kw->file, kw->line,
                 "channel %s: subdirs must be between 1 and %d", ch->name,
                 SUBDIRS_MAX);
    static const char *const limits[] = {"blocklimit", "sourceblocklimit",
                                         "recipientlimit", "recipientcutoff",
                                         "addrsperfile", "holdlimit"};
    for (size_t k = 0; k < G_N_ELEMENTS(limits); k++) {
      kw = cnf_channel_kw(ch, limits[k]);
      if (kw != NULL && kw->values->len > 0 &&
          opt_parse_int(kw->values->pdata[0], &n) && n < 1)
        diag_error(d, kw->file, kw->line,
                   "channel %s: %s must be at least 1", ch->name, limits[k]);
    }
  }
}

void queue_config_register(void) {
  static bool done;
  if (done)
    return;
  done = true;
  config_add_check_hook(check_hook);
}

bool queue_process_setup(const config *cfg, char **error_r) {
  queue_settings qs;
  queue_settings_read(cfg, &qs);
  qwrite_configure(cfg->queue_dir, qs.sync, qs.batch_max);
  qnotify_set_run_dir(cfg->run_dir);
  const char *file = conf_get(cfg->conf, "log", "mail_log");
  if (file == NULL || *file == '\0') {
    msglog_close();
    return true;
  }
  char *path = fs_path_join(cfg->log_dir, file);
  bool ok = fs_mkdir_p(cfg->log_dir, 0750, error_r) &&
            msglog_open(path, qs.block_size, error_r);
  g_free(path);
  return ok;
}
