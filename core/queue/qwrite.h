/*
 * qwrite.h - writing new queue files durably, with group commit
 *
 * A message being enqueued keeps its content in a qbody: in memory, or
 * beyond a threshold in an unnamed file in queue_dir (O_TMPFILE) that
 * later becomes its first queue file.  At commit its queue files (one per
 * copy) go to the process's committer thread as one job.  The committer
 * takes every job waiting and writes all their files in full (still
 * unnamed).  With the syncfs method it then links each into its channel
 * directory and issues one syncfs for the whole batch (contents, inodes
 * and directory entries alike); with the fsync method it fdatasyncs each
 * file, links it, and fsyncs each directory touched once.  Only then does
 * it report each job done and tell the job controller.  While a batch is
 * on its way to disk the next one gathers, so the number of flushes per
 * message falls as load rises.
 *
 * Where O_TMPFILE is missing, files are written in queue_dir/.tmp and
 * renamed; queue_clean_tmp removes what dead processes left there.
 */
#ifndef CURSUS_QWRITE_H
#define CURSUS_QWRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/channel.h>

/* How a batch is made durable. */
typedef enum qwrite_sync {
  QWRITE_SYNCFS = 0, /* one syncfs(2) of the queue file system per batch */
  QWRITE_FSYNC = 1,  /* fdatasync(2) of each file (shared file systems)   */
} qwrite_sync;

typedef struct qbody qbody;

/* qbody_new - empty content; spills to a file in QUEUE_DIR beyond
 * SPILL_AT bytes */
qbody *qbody_new(const char *queue_dir, size_t spill_at);
/* qbody_append - add bytes; false with *error_r (allocated) when the
 * spill file cannot be written */
bool qbody_append(qbody *b, const void *data, size_t len, char **error_r);
uint64_t qbody_size(const qbody *b);
uint32_t qbody_crc(const qbody *b);
/* qbody_head - the first bytes kept in memory (up to SPILL_AT), for
 * header inspection */
const char *qbody_head(const qbody *b, size_t *len_r);
/* qbody_read - up to LEN content bytes from OFFSET (any thread, while no
 * append runs); the count, 0 at the end, -1 on an I/O error */
long long qbody_read(const qbody *b, uint64_t offset, void *buf, size_t len);
void qbody_free(qbody **b);

/* One queue file to write. */
typedef struct qcopy {
  char *channel;
  char *dir;      /* relative: "tcp_local" or "tcp_local/003" */
  char *name;     /* "ID.NN" */
  char *rel_path; /* dir/name */
  GString *envelope;
  cursus_priority priority;
  unsigned rcpts; /* recipients in the file (0: not known), for the job
                     controller */
  /* used by the committer */
  int fd;
  char *tmp_path; /* named file renamed into place (a spare file, or a
                     temporary one without O_TMPFILE), or NULL */
  bool spare;     /* written in a recycled spare file */
  bool linked;
} qcopy;

qcopy *qcopy_new(const char *channel, unsigned subdirs, const char *name,
                 GString *envelope, cursus_priority priority);
void qcopy_free(void *copy);

typedef struct qwrite_job qwrite_job;
struct qwrite_job {
  qbody *body;       /* borrowed until done runs */
  GPtrArray *copies; /* of qcopy* */
  int status;        /* CURSUS_OK or CURSUS_TEMPFAIL when done runs */
  char *error;       /* why, when it failed */
  /* called on the committer thread when the job is finished */
  void (*done)(qwrite_job *job);
  void *data;
};

/* qwrite_configure - queue directory, sync method, biggest batch; may be
 * called again after a refresh (takes effect with the next batch) */
void qwrite_configure(const char *queue_dir, qwrite_sync sync,
                      unsigned max_batch);
/* qwrite_submit - queue JOB for the committer (any thread) */
void qwrite_submit(qwrite_job *job);
/* qwrite_run - submit JOB and wait until it is done (JOB->done is not
 * called) */
int qwrite_run(qwrite_job *job);
/* qwrite_stop - finish the jobs submitted and end the thread */
void qwrite_stop(void);

/* Counters since start, for logs and tests. */
typedef struct qwrite_stats {
  uint64_t batches, jobs, files, flushes;
} qwrite_stats;
void qwrite_get_stats(qwrite_stats *out);

#endif
