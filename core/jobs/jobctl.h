/*
 * jobctl.h - the job controller's control socket, RUN_DIR/job_controller.ctl
 *
 * A stream socket (mode 0660) for `cursus qm` and other tools.  One
 * request line per connection, answered by lines ending with a line "."
 * (a first line "-ERR text" on failure):
 *
 *   LIST [CHANNEL]     one line per queued message:
 *                      PATH CHANNEL PRIORITY ATTEMPTS NEXT_RETRY HELD BUSY
 *                      SIZE ARRIVAL
 *   JOBS               one line per job: PID CHANNEL STATE SECONDS-IN-STATE
 *                      IN-FLIGHT DONE AGE
 *   COUNTERS           one line per channel: CHANNEL QUEUED READY DELAYED
 *                      HELD BUSY ENQUEUED DONE DEFERRED ERRORS (DONE:
 *                      files finished, delivered or returned)
 *   RETRY TARGET       a channel name, or a queue file path: due now
 *   SYNC PATH          re-read one queue file (after qm changed it)
 */
#ifndef CURSUS_JOBCTL_H
#define CURSUS_JOBCTL_H

#include <stdbool.h>
#include <glib.h>
#include "qcache.h"
#include "util/ev.h"

#define JOBCTL_SOCKET "job_controller.ctl"

typedef struct jobctl jobctl;

/* jobctl_listen - serve the control socket in RUN_DIR on LOOP.  JOBS
 * describes the jobs for JOBS; CHANGED runs after a request changed the
 * cache.  NULL with *error_r. */
jobctl *jobctl_listen(ev_loop *loop, const char *run_dir, qcache *qc,
                      void (*jobs)(GString *out),
                      void (*changed)(void *data), void *data,
                      char **error_r);
void jobctl_close(jobctl **ctl);
/* jobctl_retry - make TARGET (channel or path) due now; the count */
unsigned jobctl_retry(qcache *qc, const char *target);

/* jobctl_request - send LINE to the job controller of RUN_DIR and read
 * the answer lines (without the final "."); CURSUS_NONE when it does not
 * run, TEMPFAIL/PERMFAIL with *error_r */
int jobctl_request(const char *run_dir, const char *line, GPtrArray **lines_r,
                   char **error_r);

#endif
