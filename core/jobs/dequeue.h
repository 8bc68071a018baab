/*
 * dequeue.h - one delivery attempt of one queue file, in a channel job
 *
 * Opens the file; on a `deferred` channel leaves it alone until the time
 * of its Deferred-delivery: field; sends the delay notice or returns the message when its
 * age has reached the channel's `notices`, hands the pending recipients to
 * the channel module's deliver, records each recipient's outcome in the
 * file as the module reports it (so a crash of the job repeats none), logs
 * it in the message log, returns failed recipients to the sender
 * (notice.h), and finally deletes the file or reschedules it on the
 * channel's backoff.  Also fills the dequeue half of host->queue.
 *
 * Thread-safe: a job runs several attempts at once on its delivery
 * threads, each on its own file.
 */
#ifndef CURSUS_DEQUEUE_H
#define CURSUS_DEQUEUE_H

#include <cursus/cursus.h>
#include "config/config.h"
#include "jobproto.h"
#include "jpolicy.h"
#include "module/loader.h"

typedef struct dequeue_ctx {
  config *cfg;
  const cnf_channel *ch;
  module *mod;
  void *chan_data;
  jpolicy pol; /* of CH: the priority messages are scheduled with */
} dequeue_ctx;

/* dequeue_one - one attempt at REL_PATH; RESULT says what became of it */
void dequeue_one(dequeue_ctx *dq, const char *rel_path,
                 jobproto_result *result);
/* dequeue_reschedule - record a failed attempt the job could not record
 * itself (it crashed or hung): attempts + 1 and the next retry on the
 * channel's backoff.  Returns the next retry time, or 0 when the file is
 * gone. */
int64_t dequeue_reschedule(const config *cfg, const char *rel_path);

#endif
