/*
 * folder.h - one folder on disk and its state in this process
 *
 * A folder's state is its index (store.idx, Tokyo Cabinet) plus the
 * changes in its log (store.log) since the last checkpoint.  Writers
 * (append, flags, expunge) hold the folder's exclusive lock (flock on the
 * folder directory), append a record to the log and apply it to the
 * in-memory state; readers replay new log records without a lock.  A
 * checkpoint folds the log into the index and cache in one Tokyo Cabinet
 * transaction each and starts a new log generation.  After a crash:
 *   - a torn log tail is cut off by the next writer;
 *   - message files linked but not yet logged are adopted by the next
 *     appender (they sit at the folder's next UID);
 *   - indexed messages whose file is gone are dropped when noticed.
 *
 * One sc_folder exists per folder per process, shared by every view;
 * `mu` serialises threads, the flock other processes.  Functions marked
 * "mu" expect f->mu held; "write" ones also the write lock.
 */
#ifndef SC_FOLDER_H
#define SC_FOLDER_H

#include "sc.h"
#include <tchdb.h>

/* A shared array of UIDs: views keep the one they last synced to. */
typedef struct sc_uids {
  gint refs;
  uint32_t n, cap;
  uint32_t v[];
} sc_uids;

sc_uids *sc_uids_ref(sc_uids *u);
void sc_uids_unref(sc_uids **u);

/* An expunged UID remembered for QRESYNC. */
typedef struct sc_tomb {
  uint32_t uid;
  uint64_t modseq;
  int64_t when;
} sc_tomb;

/* Where a not-yet-checkpointed cache record lies in the log. */
typedef struct sc_logref {
  uint64_t off;
  uint32_t len;
} sc_logref;

/* A cache record read ahead (malloc'd by Tokyo Cabinet). */
typedef struct sc_ahead {
  uint32_t uid;
  void *data;
  int len;
} sc_ahead;

typedef struct sc_folder sc_folder;
typedef void sc_folder_notify_fn(sc_folder *f);

struct sc_folder {
  gint refs;
  sc_store *st;
  char *path;       /* the folder directory                          */
  int dirfd;        /* open for the folder's life; the flock target  */
  GMutex mu;

  /* header */
  uint32_t uidvalidity, uidnext, recent_uid, hash_threshold;
  uint64_t highestmodseq, vanished_floor, log_seq;
  int64_t created;
  char *mailbox_id;
  uint32_t special_use;
  char *acl;
  GPtrArray *keywords; /* of char* */

  /* messages */
  GArray *recs;            /* sc_rec, ascending uid, live messages       */
  sc_uids *uids;           /* the same UIDs, for views                   */
  GHashTable *pending;     /* uid -> sc_logref*: cache in the log        */
  GArray *tombs;           /* sc_tomb, ascending modseq                  */
  GHashTable *seen;        /* user -> GArray uid set (non-owners' \Seen) */
  uint32_t n_unseen, n_deleted;
  uint64_t bytes;
  uint64_t version;        /* bumps on every applied change              */
  uint64_t expunge_version;/* bumps on every expunge                     */

  /* since the last checkpoint */
  GHashTable *dirty_chunks;/* chunk number set                           */
  GHashTable *dirty_seen;  /* user set                                   */
  GArray *cache_drop;      /* uids whose cache record goes               */
  bool header_dirty;

  /* the log */
  int log_fd;
  ino_t log_ino;
  uint64_t log_gen;
  uint64_t log_off;        /* end of the last complete record read       */
  bool log_stale;          /* the log is from before the index's generation */

  /* readers of the Tokyo Cabinet files */
  TCHDB *cache_r;
  ino_t cache_r_ino;       /* the log inode when cache_r was opened      */
  /* cache records read ahead under one shared lock while a caller walks
   * the folder in UID order (FETCH 1:*, SEARCH): sc_ahead, consumed
   * from ahead_head; ahead_last is the UID asked for last */
  GArray *ahead;
  guint ahead_head;
  uint32_t ahead_last;
  unsigned ahead_window;

  int writing;             /* write lock held (nesting count)            */
  bool probed;             /* the wide orphan probe ran in this process  */
  bool gone;               /* removed from disk                          */
  int exclusive_fd;        /* POP3 exclusive lock file, -1              */

  /* change notification (watch.c) */
  int wd;
  GPtrArray *watchers;
};

/* sc_folder_create - initialise an empty folder in directory PATH
 * (created when missing); FRESH removes what an earlier folder there left
 * (reconstruct keeps the message files to index them again) */
bool sc_folder_create(sc_store *st, const char *path, uint32_t uidvalidity,
                      const char *mailbox_id, uint32_t special_use,
                      const char *acl, bool fresh, GError **error);
/* sc_folder_get - the folder at PATH, loaded (a new reference) */
sc_folder *sc_folder_get(sc_store *st, const char *path, GError **error);
sc_folder *sc_folder_ref(sc_folder *f);
void sc_folder_unref(sc_folder **f);
/* sc_folder_forget - drop the cached state of PATH and everything below
 * it (after delete, rename, reconstruct) */
void sc_folder_forget(sc_store *st, const char *path);
/* sc_folder_cache_trim - drop unreferenced cached folders (tests, close) */
void sc_folder_cache_trim(void);

/* sc_folder_refresh - apply what other processes logged (mu) */
bool sc_folder_refresh(sc_folder *f, GError **error);

/* sc_folder_write_begin / _end - the exclusive lock around changes (mu);
 * begin brings the state up to date and repairs a torn log tail */
bool sc_folder_write_begin(sc_folder *f, GError **error);
void sc_folder_write_end(sc_folder *f);

/* Changes (write).  Each assigns the next modseq. */
bool sc_folder_log_append(sc_folder *f, const sc_rec *rec, const void *blob,
                          size_t blob_len, GError **error);
bool sc_folder_log_flags(sc_folder *f, uint32_t uid, uint32_t flags,
                         const uint64_t kw[2], GError **error);
bool sc_folder_log_expunge(sc_folder *f, uint32_t uid, GError **error);
bool sc_folder_log_recent(sc_folder *f, uint32_t recent_uid, GError **error);
bool sc_folder_log_seen(sc_folder *f, const char *user, const GArray *set,
                        GError **error);
bool sc_folder_log_acl(sc_folder *f, const char *acl, GError **error);
bool sc_folder_log_special_use(sc_folder *f, uint32_t special_use,
                               GError **error);
/* sc_folder_mark_moved - tell every process using the folder at PATH
 * that it moved away (the caller holds its exclusive lock) */
bool sc_folder_mark_moved(const char *path, GError **error);
bool sc_folder_log_cache(sc_folder *f, uint32_t uid, const void *blob,
                         size_t len, GError **error);
/* sc_folder_keyword - the index of keyword NAME, defining it when CREATE
 * (write); -1 when unknown, or E_LIMIT when the folder is full */
int sc_folder_keyword(sc_folder *f, const char *name, bool create,
                      GError **error);
/* sc_folder_sync_log - make the log durable (after expunges) */
bool sc_folder_sync_log(sc_folder *f, GError **error);
/* sc_folder_checkpoint - fold the log into the index now (write) */
bool sc_folder_checkpoint(sc_folder *f, GError **error);
/* sc_folder_adopt - index message files at the folder's next UIDs that
 * a crash left unlogged (write); their count and bytes are returned */
bool sc_folder_adopt(sc_folder *f, uint32_t *count_r, uint64_t *bytes_r,
                     GError **error);

/* Readers (mu). */
const sc_rec *sc_folder_find(sc_folder *f, uint32_t uid, guint *index_r);
/* sc_folder_cache_raw - the encoded cache record of UID (malloc'd, the
 * caller frees it), or NULL when the cache lacks it */
void *sc_folder_cache_raw(sc_folder *f, uint32_t uid, size_t *len_r);
/* sc_folder_cache_get - the cache record of UID (the message file is
 * parsed when the cache lacks it) */
struct sc_msginfo *sc_folder_cache_get(sc_folder *f, uint32_t uid,
                                       GError **error);
/* sc_folder_ahead_clear - free the records read ahead (mu); a view calls
 * it at sync so an idle session keeps none */
void sc_folder_ahead_clear(sc_folder *f);
/* sc_folder_open_msg - open the message file of UID read-only */
int sc_folder_open_msg(sc_folder *f, uint32_t uid, GError **error);
/* sc_folder_msg_path - its path (newly allocated) */
char *sc_folder_msg_path(sc_folder *f, uint32_t uid);
/* sc_folder_msg_dirfd - open the directory UID's file goes in (creating
 * the hash subdirectory); the caller closes it */
int sc_folder_msg_dirfd(sc_folder *f, uint32_t uid, GError **error);
/* sc_folder_user_seen - the \Seen set USER keeps in this folder, or NULL */
const GArray *sc_folder_user_seen(sc_folder *f, const char *user);

/* sc_folder_rec_flags_apply - counters bookkeeping helper */
void sc_folder_count(sc_folder *f, const sc_rec *r, int sign);

/* sc_folder_read_index - the header and records of the index at PATH for
 * tools (reconstruct); false when unreadable */
bool sc_folder_index_ok(const char *path);

/* The record format, for the fuzz target and reconstruct. */
/* sc_index_header_valid - DATA/LEN is a folder header of the index */
bool sc_index_header_valid(const void *data, size_t len);
bool sc_log_parse_header(const void *data, size_t len, uint64_t *gen_r);
/* sc_log_next_record - the record at *OFF in DATA/LEN: its type, payload
 * and the offset after it; false at a torn or missing record */
bool sc_log_next_record(const uint8_t *data, size_t len, size_t *off,
                        uint8_t *type_r, const uint8_t **payload_r,
                        size_t *payload_len_r);
#define SC_LOG_HEADER_BYTES 24

#endif
