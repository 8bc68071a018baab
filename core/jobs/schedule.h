/*
 * schedule.h - when a queued message is tried again, warned about and
 * returned
 *
 * Retry intervals come from the destination channel's `backoff` keywords
 * (`urgentbackoff`, `normalbackoff`, `nonurgentbackoff` first for their
 * priority), ISO 8601 durations whose last one repeats; without them the
 * classic default cadence of the message's priority applies.  Notice ages
 * come from `notices` (and its per-priority forms) of the channel, else of
 * the local channel, else 3 6 9 12; they count in [mta] notice_unit
 * (default one day).  At each age but the last a delay notice is owed; at
 * the last the message is returned.
 */
#ifndef CURSUS_SCHEDULE_H
#define CURSUS_SCHEDULE_H

#include <stdint.h>
#include <cursus/channel.h>
#include "config/config.h"

#define SCHED_MAX_NOTICES 5

typedef struct sched_notices {
  unsigned count;                       /* 1..SCHED_MAX_NOTICES */
  int64_t age_s[SCHED_MAX_NOTICES];     /* ascending, in seconds */
} sched_notices;

/* sched_backoff - seconds to wait after failed attempt number ATTEMPTS
 * (1 = the first) of a message of PRIORITY on channel CH */
int64_t sched_backoff(const cnf_channel *ch, cursus_priority priority,
                      unsigned attempts);
/* sched_get_notices - the notice ages for a message of PRIORITY on CH */
void sched_get_notices(const config *cfg, const cnf_channel *ch,
                       cursus_priority priority, sched_notices *out);
/* sched_notice_unit - seconds per notice unit ([mta] notice_unit) */
int64_t sched_notice_unit(const config *cfg);

#endif
