/*
 * jobccnf.h - job_controller.cnf: pools, job limits, per-channel settings
 *
 * Global options, then [POOL=name] sections (JOB_LIMIT) and
 * [CHANNEL=name] sections, whose name may be a glob (tcp_*).  The first
 * pool is the default pool of channels without a `pool` keyword.
 */
#ifndef CURSUS_JOBCCNF_H
#define CURSUS_JOBCCNF_H

#include "optfile.h"

typedef struct jobc_pool {
  char *name;
  unsigned job_limit;
  const char *file;
  unsigned line;
} jobc_pool;

typedef struct jobc_channel {
  char *pattern; /* channel name or glob */
  const opt_section *section;
} jobc_channel;

typedef struct jobccnf {
  optfile *of;
  GPtrArray *pools;    /* of jobc_pool* */
  GPtrArray *channels; /* of jobc_channel* in file order */
  unsigned max_messages;
  unsigned synch_time;
  unsigned rebuild_parallel_channel;
} jobccnf;

jobccnf *jobccnf_read(const char *path, diag *d);
void jobccnf_free(jobccnf **jc);
jobc_pool *jobccnf_pool(const jobccnf *jc, const char *name);
/* jobccnf_channel_int - KEY for CHANNEL from the first matching
 * [CHANNEL=...] section, else the global value, else DEF */
long long jobccnf_channel_int(const jobccnf *jc, const char *channel,
                              const char *key, long long def);
const char *jobccnf_channel_str(const jobccnf *jc, const char *channel,
                                const char *key, const char *def);

#endif
