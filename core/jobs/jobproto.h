/*
 * jobproto.h - what the job controller and its channel jobs say to each
 * other
 *
 * One SOCK_SEQPACKET socket pair per job, descriptor 3 in the job.  Each
 * packet is one text line:
 *
 *   controller -> job
 *     "A <rel-path>"      deliver this queue file (path below queue_dir)
 *     "X"                 take no more work: exit once idle
 *   job -> controller
 *     "R <rel-path> D"            done: the file is gone (delivered or
 *                                 returned)
 *     "R <rel-path> Q <epoch>"    deferred: try again at <epoch> seconds
 *     "R <rel-path> W <epoch>"    not due before <epoch> (Deferred-delivery:
 *                                 of a `deferred` channel): no attempt made
 *     "R <rel-path> H"            held
 *     "R <rel-path> E <text>"     could not be processed now (I/O error,
 *                                 the module cannot open): retry later
 */
#ifndef CURSUS_JOBPROTO_H
#define CURSUS_JOBPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOBPROTO_FD 3
#define JOBPROTO_MAX 1024

typedef enum jobproto_outcome {
  JOB_DONE = 'D',
  JOB_DEFERRED = 'Q',
  JOB_WAITING = 'W',
  JOB_HELD = 'H',
  JOB_ERROR = 'E',
} jobproto_outcome;

typedef struct jobproto_result {
  char path[512];
  jobproto_outcome outcome;
  int64_t next_retry;
  char text[256];
} jobproto_result;

/* jobproto_format_result - the result packet into OUT; its length */
size_t jobproto_format_result(const jobproto_result *r,
                              char out[JOBPROTO_MAX]);
/* jobproto_parse_result - read a result packet; false when malformed */
bool jobproto_parse_result(const char *buf, size_t len, jobproto_result *r);

#endif
