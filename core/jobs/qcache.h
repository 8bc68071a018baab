/*
 * qcache.h - the job controller's in-memory view of every queued message
 *
 * One entry per queue file: its channel, priority, size, attempts, next
 * retry and held flag.  Per channel, messages ready now wait in three
 * FIFO lists by priority (urgent first); messages waiting for a retry sit
 * in one ordered set by retry time.  Rebuilt from the queue directories
 * at start (qcache_rebuild), kept current by the enqueuers' notifications
 * and the jobs' results.  Loop thread only.
 *
 * The cache holds at most `max_messages` entries (MAX_MESSAGES of
 * job_controller.cnf).  Files beyond it stay on disk only: `left_on_disk`
 * says some exist, and a rebuild (qcache_rebuild) brings in the oldest of
 * those it has room for, once deliveries have freed some.
 */
#ifndef CURSUS_QCACHE_H
#define CURSUS_QCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/channel.h>

typedef struct qc_chan qc_chan;

typedef struct qc_entry {
  char *path; /* below queue_dir: the key */
  qc_chan *chan;
  cursus_priority priority;
  uint64_t size;
  unsigned rcpts; /* recipients to deliver (1 when not known) */
  unsigned attempts;
  int64_t arrival;    /* seconds */
  int64_t next_retry; /* seconds; 0 = now */
  bool held;
  bool busy; /* assigned to a job */
  /* where it sits */
  GList *ready_link;
  GSequenceIter *delayed_iter;
} qc_entry;

struct qc_chan {
  char *name;
  GQueue ready[3]; /* urgent, normal, non-urgent */
  unsigned count;  /* entries of the channel */
  unsigned held;
  unsigned busy;
  unsigned ready_rcpts; /* recipients of the ready entries */
  /* counters since start */
  uint64_t done, deferred, errors, enqueued; /* done: delivered or returned */
  void *data; /* the controller's channel state */
};

typedef struct qcache {
  GHashTable *entries; /* path -> qc_entry* */
  GHashTable *chans;   /* name -> qc_chan* */
  GSequence *delayed;  /* of qc_entry*, by next_retry */
  unsigned max_messages; /* 0: no limit */
  bool left_on_disk;     /* files were not taken in for want of room */
  /* called for each entry new to the cache, once its file state is set
   * and before it is placed: may change its priority and next retry */
  void (*admit)(qc_entry *e, void *data);
  void *admit_data;
} qcache;

qcache *qcache_new(void);
void qcache_free(qcache **qc);
qc_chan *qcache_chan(qcache *qc, const char *name);
qc_entry *qcache_find(qcache *qc, const char *path);
/* qcache_add - a new entry (or the existing one for PATH); NULL when the
 * cache is full (left_on_disk is then set).  The caller sets the file
 * state, then calls qcache_admit and qcache_place. */
qc_entry *qcache_add(qcache *qc, const char *channel, const char *path,
                     cursus_priority priority, uint64_t size);
/* qcache_admit - run the admit hook on a new entry */
void qcache_admit(qcache *qc, qc_entry *e);
/* qcache_room - entries the cache can still take */
unsigned qcache_room(const qcache *qc);
/* qcache_place - put E where its state says: ready, delayed or nowhere
 * (held, busy) */
void qcache_place(qcache *qc, qc_entry *e, int64_t now);
void qcache_remove(qcache *qc, qc_entry *e);
/* qcache_pop_ready - the next ready entry of CH (marked busy), or NULL */
qc_entry *qcache_pop_ready(qcache *qc, qc_chan *ch);
unsigned qcache_ready_count(const qc_chan *ch);
/* qcache_wake - move delayed entries due at NOW to ready; returns the
 * time of the next one (0 = none) */
int64_t qcache_wake(qcache *qc, int64_t now, void (*woke)(qc_chan *ch, void *data),
                    void *data);
/* qcache_load_file - read one queue file's state into the cache;
 * CURSUS_OK, NONE (gone) or a failure */
int qcache_load_file(qcache *qc, const char *queue_dir, const char *rel_path);
/* qcache_rebuild - scan every channel queue below QUEUE_DIR with THREADS
 * readers; files already known are not read again, and of the others the
 * oldest are taken in while there is room.  Returns the files loaded. */
unsigned qcache_rebuild(qcache *qc, const char *queue_dir, unsigned threads);

#endif
