/*
 * jpolicy.c - the queueing keywords of a destination channel
 */
#include "build-config.h"
#include "jpolicy.h"

#include <string.h>

/* Default interval of periodic runs: half an hour. */
#define PERIODIC_DEFAULT_S 1800

static uint64_t blocks_kw(const cnf_channel *ch, const char *name) {
  long long n = cnf_channel_int(ch, name, 0);
  return n > 0 ? (uint64_t)n : 0;
}

void jpolicy_read(const config *cfg, const cnf_channel *ch, jpolicy *out) {
  memset(out, 0, sizeof(*out));
  long long bs = conf_get_int(cfg->conf, "mta", "block_size", 1024);
  out->block_size = bs > 0 ? (uint64_t)bs : 1024;
  out->immediate_from = CURSUS_PRIORITY_NORMAL;
  long long per = jobccnf_channel_int(cfg->jobc, ch != NULL ? ch->name : "",
                                      "PERIODIC_INTERVAL", PERIODIC_DEFAULT_S);
  out->periodic_s = per > 0 ? per : PERIODIC_DEFAULT_S;
  if (ch == NULL)
    return;
  out->urgent_blocks = blocks_kw(ch, "urgentblocklimit");
  out->normal_blocks = blocks_kw(ch, "normalblocklimit");
  out->nonurgent_blocks = blocks_kw(ch, "nonurgentblocklimit");
  static const char *const mode[] = {"immediate", "periodic", NULL};
  const char *m = cnf_channel_last_of(ch, mode);
  out->periodic = m != NULL && strcmp(m, "periodic") == 0;
  static const char *const imm[] = {"immnonurgent", "immnormal", "immurgent",
                                    NULL};
  const char *i = cnf_channel_last_of(ch, imm);
  if (i != NULL && strcmp(i, "immnonurgent") == 0)
    out->immediate_from = CURSUS_PRIORITY_NONURGENT;
  else if (i != NULL && strcmp(i, "immurgent") == 0)
    out->immediate_from = CURSUS_PRIORITY_URGENT;
  const cnf_kw *after = cnf_channel_kw(ch, "after");
  long long s = 0;
  if (after != NULL && after->values->len > 0 &&
      opt_parse_duration(after->values->pdata[0], &s) && s > 0)
    out->after_s = s;
  long long f = cnf_channel_int(ch, "filesperjob", 0);
  long long a = cnf_channel_int(ch, "addrsperjob", 0);
  out->filesperjob = f > 0 ? (unsigned)MIN(f, G_MAXUINT) : 0;
  out->addrsperjob = a > 0 ? (unsigned)MIN(a, G_MAXUINT) : 0;
}

/* over - SIZE bytes exceed LIMIT blocks (0: no limit) */
static bool over(const jpolicy *p, uint64_t size, uint64_t limit) {
  return limit > 0 && size > limit * p->block_size;
}

/* rank - urgent 0, normal 1, non-urgent 2 */
static int rank(cursus_priority pr) {
  return pr == CURSUS_PRIORITY_URGENT ? 0 : pr == CURSUS_PRIORITY_NONURGENT ? 2 : 1;
}

cursus_priority jpolicy_priority(const jpolicy *p, cursus_priority priority,
                                 uint64_t size, bool *periodic_r) {
  cursus_priority pr = priority;
  if (pr == CURSUS_PRIORITY_URGENT && over(p, size, p->urgent_blocks))
    pr = CURSUS_PRIORITY_NORMAL;
  if (pr == CURSUS_PRIORITY_NORMAL && over(p, size, p->normal_blocks))
    pr = CURSUS_PRIORITY_NONURGENT;
  bool periodic = p->periodic || rank(pr) > rank(p->immediate_from) ||
                  (pr == CURSUS_PRIORITY_NONURGENT &&
                   over(p, size, p->nonurgent_blocks));
  if (periodic_r != NULL)
    *periodic_r = periodic;
  return pr;
}

int64_t jpolicy_first_attempt(const jpolicy *p, bool periodic,
                              int64_t arrival, int64_t now) {
  int64_t t = arrival + p->after_s;
  if (periodic) {
    int64_t from = MAX(t, now);
    t = (from / p->periodic_s + 1) * p->periodic_s;
  }
  return t;
}
