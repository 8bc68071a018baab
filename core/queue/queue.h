/*
 * queue.h - the channel queues on disk
 *
 * One directory per channel under [paths] queue_dir, with `subdirs N`
 * spread over "000" ... "N-1"; one file per message copy, named by its
 * queue id and copy number ("0LQ8K2P3A1B4C00001.01").  The format is in
 * qfile.h and docs/queue-format.md.  Writing new files is qwrite.h's job
 * (group commit); this part opens existing files for the job controller,
 * channel jobs and tools: read the envelope and state, record
 * per-recipient results, reschedule, hold/release, count notices, delete,
 * compact, and list a channel's files.
 *
 * Concurrency: a process changing a file holds flock(LOCK_EX) on it for
 * the change only.  Records are appended, so a crash at any point leaves
 * at worst a torn last record, which readers ignore and writers cut off.
 * Return convention: CURSUS_OK, CURSUS_NONE (the file is gone),
 * CURSUS_TEMPFAIL (I/O error), CURSUS_PERMFAIL (not a valid queue file).
 */
#ifndef CURSUS_QUEUE_H
#define CURSUS_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <glib.h>
#include "qfile.h"

/* Characters of a queue id (without the ".NN" copy suffix). */
#define QUEUE_ID_LEN 18
/* Longest file name: id, ".", copy number. */
#define QUEUE_NAME_MAX 32
/* Directory (below queue_dir) of temporary files where the file system
 * lacks O_TMPFILE. */
#define QUEUE_TMP_DIR ".tmp"
/* where the job controller sets damaged queue files aside */
#define QUEUE_DAMAGED_DIR ".damaged"
/* Spare files: the files of removed messages wait here (in up to
 * QUEUE_SPARES slots) to be written again as new queue files, so that
 * the file system allocates and frees no inode and no block per message.
 * A spare starts with QUEUE_SPARE_MAGIC instead of a preamble.  Files
 * larger than QUEUE_SPARE_MAX_SIZE are removed instead. */
#define QUEUE_SPARE_DIR ".spare"
#define QUEUE_SPARES 4096
#define QUEUE_SPARE_MAX_SIZE (256 * 1024)
#define QUEUE_SPARE_MAGIC "cursus-spare\n\n\n\n"
#define QUEUE_SPARE_MAGIC_LEN 16

/* queue_new_id - a new queue id, unique across the processes of this
 * host, sorting by creation time; OUT gets QUEUE_ID_LEN + 1 bytes */
void queue_new_id(char out[QUEUE_ID_LEN + 1]);
/* queue_name_valid - NAME looks like a queue file name ("ID.NN") */
bool queue_name_valid(const char *name);
/* queue_subdir - the subdirectory number of file NAME among SUBDIRS */
unsigned queue_subdir(const char *name, unsigned subdirs);
/* queue_rel_path - "CHANNEL/NAME" or "CHANNEL/NNN/NAME"; allocated */
char *queue_rel_path(const char *channel, unsigned subdirs, const char *name);

/* An open queue file. */
typedef struct qmsg {
  char *path;
  int fd;
  bool writable;
  qenv *env;
  uint64_t content_offset; /* first content byte */
  uint64_t end;            /* file size as known (where records go) */
  bool unsynced;           /* records written but not yet fsynced */
} qmsg;

/* qmsg_open - open and read PATH (WRITABLE to record results; a torn
 * last record is then cut off).  The handle marks the file in use
 * (queue_use) until qmsg_close: a file is only recycled by a process that
 * has it alone.  NONE when PATH is gone (or went while it was opened). */
int qmsg_open(const char *path, bool writable, qmsg **msg_r, char **error_r);
void qmsg_close(qmsg **msg);
/* qmsg_reload - re-read the state (after another process changed it) */
int qmsg_reload(qmsg *msg, char **error_r);

/* qmsg_result - record the outcome for recipient INDEX (written at once,
 * fsynced by qmsg_sync) */
int qmsg_result(qmsg *msg, unsigned index, qstate state, const char *code,
                const char *text, const char *remote, char **error_r);
/* qmsg_sync - make the recorded results durable */
int qmsg_sync(qmsg *msg, char **error_r);
/* qmsg_reschedule - attempts and next retry time, durably */
int qmsg_reschedule(qmsg *msg, unsigned attempts, int64_t next_retry,
                    char **error_r);
/* qmsg_hold - hold or release the message, durably */
int qmsg_hold(qmsg *msg, bool held, char **error_r);
/* qmsg_notice - delay notices sent so far, durably */
int qmsg_notice(qmsg *msg, unsigned notices, char **error_r);
/* queue_still_named - PATH still names the file open as FD (a removed
 * or recycled file, or one replaced by a compaction, is not); FD's stat
 * in *ST_R when it does and ST_R is not NULL */
bool queue_still_named(int fd, const char *path, struct stat *st_r);
/* queue_use - mark the queue file PATH, open as FD, in use for as long as
 * FD's open file description lives (a shared lock on byte 0, waiting for
 * whoever recycles it), then check that PATH still names it: CURSUS_OK,
 * NONE when it went meanwhile, TEMPFAIL */
int queue_use(int fd, const char *path, char **error_r);
/* queue_own - FD's file is in use by nobody else (an exclusive lock on
 * byte 0, not waiting): only then may it be recycled */
bool queue_own(int fd);
/* qmsg_dsn - notices sent or owed for recipient INDEX (enum qdsn bits);
 * durably with SYNC, else like qmsg_result (flushed by qmsg_sync) */
int qmsg_dsn(qmsg *msg, unsigned index, unsigned bits, bool sync,
             char **error_r);
/* qmsg_delete - remove the file (delivered or returned): moved among
 * QUEUE_DIR's spare files when nobody else has it open and it is small,
 * else unlinked (also with QUEUE_DIR NULL); with SYNC, durably (its
 * directory fsynced) */
int qmsg_delete(qmsg *msg, const char *queue_dir, bool sync, char **error_r);
/* qmsg_compact - rewrite the file with its records folded into the
 * envelope (done by the holder of the message when records pile up) */
int qmsg_compact(qmsg *msg, char **error_r);

/* queue_scan - call CB(DATA, channel, rel_path, name) for every queue
 * file of CHANNEL (NULL: of every channel) below QUEUE_DIR, in no
 * particular order; CB returns false to stop.  Returns the files seen. */
unsigned queue_scan(const char *queue_dir, const char *channel,
                    bool (*cb)(void *data, const char *channel,
                               const char *rel_path, const char *name),
                    void *data);
/* queue_clean_tmp - remove temporary files left by dead processes */
void queue_clean_tmp(const char *queue_dir);

/* queue_copy_range - LEN bytes from IN at IN_OFF to OUT at OUT_OFF (in
 * the kernel where it can) */
bool queue_copy_range(int in, uint64_t in_off, int out, uint64_t out_off,
                      uint64_t len);

/* queue_mkdirs - create DIR below QUEUE_DIR durably (parents fsynced);
 * DIR is relative ("tcp_local" or "tcp_local/003") */
bool queue_mkdirs(const char *queue_dir, const char *dir, char **error_r);

#endif
