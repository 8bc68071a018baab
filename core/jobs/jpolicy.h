/*
 * jpolicy.h - when a channel's messages are first tried
 *
 * The queueing keywords of a destination channel, read once per channel
 * and applied to each message as it enters the job controller's cache:
 *   - `urgentblocklimit`, `normalblocklimit`: a message larger than N
 *     blocks ([mta] block_size) drops to the next lower priority (the
 *     drops cascade); `nonurgentblocklimit`: a non-urgent message larger
 *     than N blocks waits for a periodic run whatever the channel's
 *     immediacy;
 *   - `immediate` (default) / `periodic`, and `immnonurgent`, `immnormal`
 *     (default), `immurgent`: which priorities are tried as soon as they
 *     are queued; the others wait for the channel's next periodic run
 *     (PERIODIC_INTERVAL of job_controller.cnf, runs aligned on multiples
 *     of it, so waiting messages go out together);
 *   - `after`: no first attempt before the message is that old;
 *   - `filesperjob`, `addrsperjob`: more ready messages (recipients) than
 *     N per running job start another job.
 * The priority after the size drops is the one the message is scheduled,
 * retried and warned about with.  Pure code.
 */
#ifndef CURSUS_JPOLICY_H
#define CURSUS_JPOLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <cursus/channel.h>
#include "config/config.h"

typedef struct jpolicy {
  uint64_t block_size;
  uint64_t urgent_blocks, normal_blocks, nonurgent_blocks; /* 0: no limit */
  bool periodic;                  /* `periodic`: nothing is immediate */
  cursus_priority immediate_from; /* lowest priority tried at once */
  int64_t after_s;
  int64_t periodic_s; /* interval of periodic runs, > 0 */
  unsigned filesperjob, addrsperjob; /* 0: not set */
} jpolicy;

/* jpolicy_read - the policy of channel CH (NULL: the defaults) */
void jpolicy_read(const config *cfg, const cnf_channel *ch, jpolicy *out);
/* jpolicy_priority - the priority a message of PRIORITY and SIZE bytes is
 * scheduled with; *periodic_r (may be NULL) tells whether it waits for a
 * periodic run */
cursus_priority jpolicy_priority(const jpolicy *p, cursus_priority priority,
                                 uint64_t size, bool *periodic_r);
/* jpolicy_first_attempt - earliest first attempt (seconds since the
 * epoch) of a message that arrived at ARRIVAL, with the priority and
 * periodic flag jpolicy_priority gave, seen at NOW */
int64_t jpolicy_first_attempt(const jpolicy *p, bool periodic,
                              int64_t arrival, int64_t now);

#endif
