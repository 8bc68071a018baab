/*
 * schedule.c - retry intervals and notice ages of a channel
 */
#include "build-config.h"
#include "schedule.h"

/* The classic default cadence in minutes; the last value repeats. */
static const int64_t urgent_min[] = {30, 60, 60, 120, 120, 120, 240};
static const int64_t normal_min[] = {60, 120, 120, 240, 240, 240, 480};
static const int64_t nonurgent_min[] = {120, 240, 240, 480, 480, 480, 960};

static const char *prefix_of(cursus_priority p) {
  return p == CURSUS_PRIORITY_URGENT      ? "urgent"
         : p == CURSUS_PRIORITY_NONURGENT ? "nonurgent"
                                          : "normal";
}

/* keyword_for - the priority's own form of NAME on CH, else NAME */
static const cnf_kw *keyword_for(const cnf_channel *ch, cursus_priority p,
                                 const char *name) {
  if (ch == NULL)
    return NULL;
  char *own = g_strconcat(prefix_of(p), name, NULL);
  const cnf_kw *k = cnf_channel_kw(ch, own);
  g_free(own);
  return k != NULL ? k : cnf_channel_kw(ch, name);
}

int64_t sched_backoff(const cnf_channel *ch, cursus_priority priority,
                      unsigned attempts) {
  unsigned i = attempts > 0 ? attempts - 1 : 0;
  const cnf_kw *k = keyword_for(ch, priority, "backoff");
  if (k != NULL && k->values->len > 0) {
    long long s = 0;
    guint at = MIN(i, k->values->len - 1);
    if (opt_parse_duration(k->values->pdata[at], &s) && s > 0)
      return s;
  }
  const int64_t *table = priority == CURSUS_PRIORITY_URGENT      ? urgent_min
                         : priority == CURSUS_PRIORITY_NONURGENT ? nonurgent_min
                                                                 : normal_min;
  size_t n = G_N_ELEMENTS(normal_min);
  return table[MIN(i, n - 1)] * 60;
}

int64_t sched_notice_unit(const config *cfg) {
  const char *v = conf_get(cfg->conf, "mta", "notice_unit");
  long long s = 0;
  if (v != NULL && opt_parse_duration(v, &s) && s > 0)
    return s;
  return 86400;
}

void sched_get_notices(const config *cfg, const cnf_channel *ch,
                       cursus_priority priority, sched_notices *out) {
  const cnf_kw *k = keyword_for(ch, priority, "notices");
  if (k == NULL && cfg->imta != NULL && cfg->imta->channels->len > 0)
    k = keyword_for(cfg->imta->channels->pdata[0], priority, "notices");
  int64_t unit = sched_notice_unit(cfg);
  out->count = 0;
  if (k != NULL)
    for (guint i = 0; i < k->values->len && out->count < SCHED_MAX_NOTICES;
         i++) {
      long long n = g_ascii_strtoll(k->values->pdata[i], NULL, 10);
      if (n > 0 && (out->count == 0 || n * unit > out->age_s[out->count - 1]))
        out->age_s[out->count++] = n * unit;
    }
  if (out->count == 0) {
    static const int defaults[] = {3, 6, 9, 12};
    for (size_t i = 0; i < G_N_ELEMENTS(defaults); i++)
      out->age_s[out->count++] = defaults[i] * unit;
  }
}
