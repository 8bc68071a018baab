/*
 * qcounters.h - the job controller's per-channel counters, kept across
 * restarts
 *
 * Messages enqueued, done (delivered or returned), deferred attempts and
 * errors of each channel (qc_chan) are saved to
 * STATE_DIR/job_controller.counters (one line per channel: "NAME ENQUEUED
 * DONE DEFERRED ERRORS") and read back when the job controller starts, so
 * `cursus qm counters` counts since they were last cleared, not since the
 * last start.  Loop thread only.
 */
#ifndef CURSUS_QCOUNTERS_H
#define CURSUS_QCOUNTERS_H

#include <stdbool.h>
#include <stdint.h>
#include "qcache.h"

#define QCOUNTERS_FILE "job_controller.counters"

/* qcounters_path - STATE_DIR/job_controller.counters (allocated) */
char *qcounters_path(const char *state_dir);
/* qcounters_load - add the saved counters of PATH to QC's channels; a
 * missing file is no error.  CURSUS_OK or CURSUS_TEMPFAIL (*error_r). */
int qcounters_load(qcache *qc, const char *path, char **error_r);
/* qcounters_save - write QC's counters to PATH durably */
int qcounters_save(const qcache *qc, const char *path, char **error_r);
/* qcounters_clear - zero the counters of CHANNEL (NULL: of all); how
 * many channels were cleared */
unsigned qcounters_clear(qcache *qc, const char *channel);
/* qcounters_sum - a figure that changes whenever a counter does (for
 * saving only when needed) */
uint64_t qcounters_sum(const qcache *qc);

#endif
