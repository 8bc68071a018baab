/*
 * jobccnf.c - job_controller.cnf
 */
#include "build-config.h"
#include "jobccnf.h"

#include <fnmatch.h>

#define G OPT_GLOBAL
#define S OPT_SECTION
#define B (OPT_GLOBAL | OPT_SECTION)
static const opt_schema jobc_schema[] = {
    {"TCP_PORT", CURSUS_VALUE_INTEGER, G, 0, 65535, "accepted for compatibility (a UNIX socket is used)"},
    {"INTERFACE_ADDRESS", CURSUS_VALUE_STRING, G, 0, 0, "accepted for compatibility"},
    {"SECRET", CURSUS_VALUE_STRING, G, 0, 0, "accepted for compatibility (socket permissions protect it)"},
    {"DEBUG", CURSUS_VALUE_INTEGER, G, 0, 0, "debug bitmask"},
    {"SYNCH_TIME", CURSUS_VALUE_DURATION, G, 0, 0, "interval between queue/disk resynchronisations"},
    {"MAX_MESSAGES", CURSUS_VALUE_INTEGER, G, 1, 100000000, "messages held in the in-memory queue cache"},
    {"REBUILD_IN_ORDER", CURSUS_VALUE_BOOLEAN, G, 0, 0, "rebuild the cache in arrival order"},
    {"REBUILD_PARALLEL_CHANNEL", CURSUS_VALUE_INTEGER, G, 1, 1000, "channels scanned in parallel at start"},
    {"JOB_LIMIT", CURSUS_VALUE_INTEGER, S, 0, 100000, "most jobs at once in the pool / for the channel"},
    {"MASTER_COMMAND", CURSUS_VALUE_STRING, S, 0, 0, "module running the channel's master program"},
    {"SLAVE_COMMAND", CURSUS_VALUE_STRING, B, 0, 0, "accepted for compatibility"},
    {"MAX_LIFE_AGE", CURSUS_VALUE_DURATION, B, 0, 0, "longest life of a master job"},
    {"MAX_LIFE_CONNS", CURSUS_VALUE_INTEGER, B, 0, 100000000, "messages a job handles before it exits"},
    {"THREAD_DEPTH", CURSUS_VALUE_INTEGER, S, 1, 100000000, "queued messages per job before another starts"},
    {"IDLE_TIME", CURSUS_VALUE_DURATION, B, 0, 0, "how long an idle job waits for work before exiting"},
    {"MIN_JOBS", CURSUS_VALUE_INTEGER, S, 0, 1000, "jobs kept running (warm) even when idle"},
    {"THREADS", CURSUS_VALUE_INTEGER, B, 1, 1000, "deliveries at once in one job (modules that allow it)"},
    {"DELIVERY_TIMEOUT", CURSUS_VALUE_DURATION, B, 0, 0, "a delivery taking longer means the job hangs: it is killed"},
    {"PERIODIC_INTERVAL", CURSUS_VALUE_DURATION, B, 0, 0, "interval of the periodic runs of channels' waiting messages"},
    {"COMMAND", CURSUS_VALUE_STRING, G, 0, 0, "periodic job command"},
    {"TIME", CURSUS_VALUE_STRING, G, 0, 0, "periodic job schedule"},
    {NULL, 0, 0, 0, 0, NULL},
};

static void pool_free(void *p) {
  jobc_pool *pool = p;
  g_free(pool->name);
  g_free(pool);
}

static void chan_free(void *p) {
  jobc_channel *c = p;
  g_free(c->pattern);
  g_free(c);
}

jobccnf *jobccnf_read(const char *path, diag *d) {
  static const char *const kinds[] = {"POOL", "CHANNEL", NULL};
  optfile *of = optfile_read(path, d);
  if (of == NULL)
    return NULL;
  optfile_check(of, jobc_schema, kinds, d);

  jobccnf *jc = g_new0(jobccnf, 1);
  const opt_section *g = of->sections->pdata[0];
  jc->of = of;
  jc->pools = g_ptr_array_new_with_free_func(pool_free);
  jc->channels = g_ptr_array_new_with_free_func(chan_free);
  jc->max_messages = (unsigned)optfile_int(g, NULL, "MAX_MESSAGES", 100000);
  jc->synch_time = (unsigned)optfile_int(g, NULL, "SYNCH_TIME", 7200);
  jc->rebuild_parallel_channel =
      (unsigned)optfile_int(g, NULL, "REBUILD_PARALLEL_CHANNEL", 12);
  for (guint i = 1; i < of->sections->len; i++) {
    const opt_section *s = of->sections->pdata[i];
    if (s->name == NULL)
      continue;
    if (g_ascii_strcasecmp(s->kind, "POOL") == 0) {
      if (jobccnf_pool(jc, s->name) != NULL) {
        diag_error(d, s->file, s->line, "pool %s is defined twice", s->name);
        continue;
      }
      jobc_pool *p = g_new0(jobc_pool, 1);
      p->name = g_strdup(s->name);
      p->job_limit = (unsigned)optfile_int(s, NULL, "JOB_LIMIT", 10);
      p->file = s->file;
      p->line = s->line;
      g_ptr_array_add(jc->pools, p);
    } else if (g_ascii_strcasecmp(s->kind, "CHANNEL") == 0) {
      jobc_channel *c = g_new0(jobc_channel, 1);
      c->pattern = g_strdup(s->name);
      c->section = s;
      g_ptr_array_add(jc->channels, c);
    }
  }
  if (jc->pools->len == 0)
    diag_error(d, path, 0, "no [POOL=name] is defined; channel jobs need one");
  return jc;
}

void jobccnf_free(jobccnf **jcp) {
  jobccnf *jc = *jcp;
  if (jc == NULL)
    return;
  *jcp = NULL;
  g_ptr_array_free(jc->pools, TRUE);
  g_ptr_array_free(jc->channels, TRUE);
  optfile_free(&jc->of);
  g_free(jc);
}

jobc_pool *jobccnf_pool(const jobccnf *jc, const char *name) {
  for (guint i = 0; i < jc->pools->len; i++) {
    jobc_pool *p = jc->pools->pdata[i];
    if (g_ascii_strcasecmp(p->name, name) == 0)
      return p;
  }
  return NULL;
}

static const opt_section *channel_section(const jobccnf *jc,
                                          const char *channel,
                                          const char *key) {
  for (guint i = 0; i < jc->channels->len; i++) {
    const jobc_channel *c = jc->channels->pdata[i];
    if (fnmatch(c->pattern, channel, FNM_CASEFOLD) == 0 &&
        optfile_get(c->section, key) != NULL)
      return c->section;
  }
  return NULL;
}

long long jobccnf_channel_int(const jobccnf *jc, const char *channel,
                              const char *key, long long def) {
  return optfile_int(channel_section(jc, channel, key),
                     jc->of->sections->pdata[0], key, def);
}

const char *jobccnf_channel_str(const jobccnf *jc, const char *channel,
                                const char *key, const char *def) {
  return optfile_str(channel_section(jc, channel, key),
                     jc->of->sections->pdata[0], key, def);
}
