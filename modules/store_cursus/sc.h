/*
 * sc.h - store_cursus, the default message store: shared declarations
 *
 * The store's shape (docs/store.md):
 *   STORE/mboxlist/      the system area: mailbox list, users,
 *                        subscriptions, ACL index (Tokyo Cabinet), quota
 *                        report table; rebuildable from the partitions
 *   STORE/snapshots/     snapshots of the system area
 *   PARTITION/=user/h1/h2/=<user>/   a user's INBOX; every other folder a
 *                        directory "=<name>" inside its parent
 *   FOLDER/store.idx     index (Tokyo Cabinet): header, message records
 *   FOLDER/store.cache   cache (Tokyo Cabinet): envelope, body
 *                        structure, header, MIME part offsets per message
 *   FOLDER/store.log     changes since the last checkpoint (append-only)
 *   FOLDER/<uid>.msg     one file per message (hard links: single copy),
 *                        FOLDER/<hex>/<uid>.msg once the folder is large
 *
 * Offers the types the parts of the module share; needs GLib, Tokyo
 * Cabinet, GMime and the SDK.
 */
#ifndef SC_H
#define SC_H

#include "build-config.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <cursus/cursus.h>

/* ------------------------------------------------------------ errors */

/* GError domain: codes are cursus_store_error. */
#define SC_ERROR (sc_error_quark())
GQuark sc_error_quark(void);

/* sc_set_error - set *ERROR to CODE with a formatted message */
void sc_set_error(GError **error, cursus_store_error code, const char *fmt,
                  ...) G_GNUC_PRINTF(3, 4);
/* sc_errno_error - an error for a failed system call on PATH */
void sc_errno_error(GError **error, int errnum, const char *what,
                    const char *path);
/* sc_status_of - the CURSUS_* status an error code maps to */
int sc_status_of(cursus_store_error code);

extern const cursus_host *sc_host;
extern cursus_module_ctx *sc_ctx;

#define sc_log(level, ...) sc_host->log(sc_ctx, level, __VA_ARGS__)

/* ------------------------------------------------------------ settings */

typedef struct sc_partition {
  char *name;
  char *path;
} sc_partition;

typedef struct sc_store {
  char *root;             /* the store directory                        */
  char *mboxlist_dir;     /* STORE/mboxlist                             */
  char *snapshot_dir;     /* STORE/snapshots                            */
  GPtrArray *partitions;  /* of sc_partition*                           */
  char *default_partition;/* a name, or NULL = the least full           */
  char separator;
  char *other_prefix;     /* "Other Users"                              */
  char *shared_prefix;    /* "Shared Folders"                           */
  uint32_t hash_threshold;/* messages before hash subdirectories        */
  unsigned lock_timeout_ms;
  uint64_t checkpoint_bytes;
  uint64_t max_message_size; /* 0 = no limit                            */
  uint64_t binary_limit;
  int64_t vanished_keep;  /* seconds tombstones of expunges are kept    */
  bool fsync;
  struct sc_mboxlist *mboxlist;
  GMutex partitions_lock; /* guards partitions_out                      */
  struct cursus_store_partition *partitions_out; /* of the partitions op */
} sc_store;

/* Content being written goes to PART/tmp/slotN/ (N < SC_TMP_SLOTS). */
#define SC_TMP_SLOTS 8
#define SC_TMP_SLOT_PREFIX "slot"

/* sc_store_partition - the partition named NAME, or NULL */
sc_partition *sc_store_partition(sc_store *st, const char *name);

/* ------------------------------------------------------------ locks */

/* sc_crash_point - end the process at once, as kill -9 would, when the
 * environment's CURSUS_STORE_CRASH_AT names POINT: lets the crash tests
 * stop a change at an exact step */
void sc_crash_point(const char *point);

/* sc_flock - flock(FD, OP) retrying up to TIMEOUT_MS; false with errno
 * EWOULDBLOCK on timeout */
bool sc_flock(int fd, int op, unsigned timeout_ms);

/* sc_tc_sane - does the Tokyo Cabinet file PATH (absent is fine) have a
 * plausible header?  CORRUPT error when not */
bool sc_tc_sane(const char *path, GError **error);

/* ------------------------------------------------------------ records */

/* Internal flag bits beside enum cursus_store_flag in sc_rec.flags. */
#define SC_FLAG_MASK 0x1fu

/* One message of a folder: the index record (fixed size on disk). */
typedef struct sc_rec {
  uint32_t uid;
  uint32_t flags;        /* enum cursus_store_flag (no RECENT)          */
  uint64_t modseq;
  uint64_t kw[2];        /* keyword bits, index into the keyword list   */
  int64_t internal_date;
  int64_t save_date;
  int64_t sent_date;
  uint64_t size;
  uint64_t guid;         /* EMAILID                                    */
  int16_t internal_tz;
  int16_t sent_tz;
  uint32_t reserved;
} sc_rec;

#define SC_REC_BYTES 80
#define SC_MAX_KEYWORDS 128

/* sc_rec_pack - write R into OUT (SC_REC_BYTES, little endian) */
void sc_rec_pack(const sc_rec *r, uint8_t *out);
/* sc_rec_unpack - read a record; false when the bytes are not one */
bool sc_rec_unpack(const uint8_t *in, size_t len, sc_rec *r);

/* ------------------------------------------------------------ binary */

/* A growable byte buffer with little-endian writers. */
typedef GByteArray sc_wbuf;
void sc_put_u8(sc_wbuf *b, uint8_t v);
void sc_put_u16(sc_wbuf *b, uint16_t v);
void sc_put_u32(sc_wbuf *b, uint32_t v);
void sc_put_u64(sc_wbuf *b, uint64_t v);
void sc_put_bytes(sc_wbuf *b, const void *data, size_t len);
/* sc_put_str - a u32 length and the bytes (NULL: length 0xffffffff) */
void sc_put_str(sc_wbuf *b, const char *s, size_t len);

/* A bounds-checked reader: every getter fails (and sets `bad`) past the
 * end, so malformed data can never be read beyond its buffer. */
typedef struct sc_rbuf {
  const uint8_t *p;
  size_t len;
  size_t pos;
  bool bad;
} sc_rbuf;
void sc_rbuf_init(sc_rbuf *r, const void *data, size_t len);
uint8_t sc_get_u8(sc_rbuf *r);
uint16_t sc_get_u16(sc_rbuf *r);
uint32_t sc_get_u32(sc_rbuf *r);
uint64_t sc_get_u64(sc_rbuf *r);
const uint8_t *sc_get_bytes(sc_rbuf *r, size_t len);
/* sc_get_str - a string written by sc_put_str: pointer into the buffer
 * (not NUL-terminated) and its length; NULL for a NULL string */
const char *sc_get_str(sc_rbuf *r, size_t *len_r);
/* sc_get_strdup - the same, newly allocated and NUL-terminated */
char *sc_get_strdup(sc_rbuf *r);

/* ------------------------------------------------------------ uid sets */

/* A set of UIDs as sorted, disjoint ranges (GArray of cursus_store_range). */
GArray *sc_uidset_new(void);
bool sc_uidset_has(const GArray *set, uint32_t uid);
void sc_uidset_add(GArray *set, uint32_t first, uint32_t last);
void sc_uidset_remove(GArray *set, uint32_t uid);
/* sc_uidset_format - "1:5,7" (empty string for an empty set) */
char *sc_uidset_format(const GArray *set);
/* sc_uidset_parse - the reverse; NULL when malformed */
GArray *sc_uidset_parse(const char *text);
/* sc_set_has - is N in the ABI set (ranges in any order)? */
bool sc_set_has(const cursus_store_set *set, uint32_t n);

#endif
