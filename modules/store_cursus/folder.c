/*
 * folder.c - a folder's index, cache and log, and its state in memory
 *
 * On-disk formats (all little endian):
 *   store.log   "SCLOG1\n\0", u64 generation, u64 reserved; then records
 *               u32 length, u32 crc32, u8 type, data (length counts the
 *               type and the data)
 *   store.idx   Tokyo Cabinet hash: "H" folder header, "M"+be32(chunk)
 *               the records of UIDs chunk*512 .. chunk*512+511, "X" the
 *               remembered expunges, "S"+user a non-owner's \Seen set
 *   store.cache Tokyo Cabinet hash: be32(uid) -> cache record (mime.h)
 */
#include "folder.h"
#include "layout.h"
#include "mime.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK_SHIFT 9
#define HEADER_MAGIC 0x31484353u /* "SCH1" */
#define MAX_RECORD (256u * 1024 * 1024)
#define REGISTRY_KEEP 256

enum {
  R_APPEND = 1,
  R_FLAGS = 2,
  R_EXPUNGE = 3,
  R_KEYWORD = 4,
  R_RECENT = 5,
  R_SEEN = 6,
  R_ACL = 7,
  R_SPECIAL = 8,
  R_CACHE = 9,
  R_MOVED = 10,
};

static const char log_magic[8] = "SCLOG1\n";

/* ------------------------------------------------------------ uids */

sc_uids *sc_uids_ref(sc_uids *u) {
  g_atomic_int_inc(&u->refs);
  return u;
}

void sc_uids_unref(sc_uids **up) {
  sc_uids *u = *up;
  *up = NULL;
  if (u != NULL && g_atomic_int_dec_and_test(&u->refs))
    g_free(u);
}

static sc_uids *uids_new(uint32_t cap) {
  sc_uids *u = g_malloc(sizeof(sc_uids) + (size_t)MAX(cap, 16u) * 4);
  u->refs = 1;
  u->n = 0;
  u->cap = MAX(cap, 16u);
  return u;
}

/* uids_push - add UID at the end; views only look at their own prefix, so
 * the array grows in place until it must move */
static void uids_push(sc_folder *f, uint32_t uid) {
  if (f->uids->n == f->uids->cap) {
    sc_uids *u = uids_new(f->uids->cap * 2);
    memcpy(u->v, f->uids->v, (size_t)f->uids->n * 4);
    u->n = f->uids->n;
    sc_uids_unref(&f->uids);
    f->uids = u;
  }
  f->uids->v[f->uids->n++] = uid;
}

/* uids_rebuild - a new array from the records (after expunges) */
static void uids_rebuild(sc_folder *f) {
  sc_uids *u = uids_new(f->recs->len + 64);
  for (guint i = 0; i < f->recs->len; i++)
    u->v[i] = g_array_index(f->recs, sc_rec, i).uid;
  u->n = f->recs->len;
  if (f->uids != NULL)
    sc_uids_unref(&f->uids);
  f->uids = u;
}

/* ------------------------------------------------------------ state */

void sc_folder_count(sc_folder *f, const sc_rec *r, int sign) {
  if (!(r->flags & CURSUS_STORE_SEEN))
    f->n_unseen += (uint32_t)sign;
  if (r->flags & CURSUS_STORE_DELETED)
    f->n_deleted += (uint32_t)sign;
  f->bytes += (uint64_t)((int64_t)sign * (int64_t)r->size);
}

const sc_rec *sc_folder_find(sc_folder *f, uint32_t uid, guint *index_r) {
  guint lo = 0, hi = f->recs->len;
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    uint32_t u = g_array_index(f->recs, sc_rec, mid).uid;
    if (u < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (index_r != NULL)
    *index_r = lo;
  if (lo < f->recs->len && g_array_index(f->recs, sc_rec, lo).uid == uid)
    return &g_array_index(f->recs, sc_rec, lo);
  return NULL;
}

static void mark_chunk(sc_folder *f, uint32_t uid) {
  g_hash_table_add(f->dirty_chunks, GUINT_TO_POINTER((uid >> CHUNK_SHIFT) + 1));
}

static void reset_since_checkpoint(sc_folder *f) {
  g_hash_table_remove_all(f->pending);
  g_hash_table_remove_all(f->dirty_chunks);
  g_hash_table_remove_all(f->dirty_seen);
  g_array_set_size(f->cache_drop, 0);
  f->header_dirty = false;
}

static void clear_state(sc_folder *f) {
  g_array_set_size(f->recs, 0);
  g_array_set_size(f->tombs, 0);
  g_hash_table_remove_all(f->seen);
  g_ptr_array_set_size(f->keywords, 0);
  reset_since_checkpoint(f);
  g_clear_pointer(&f->mailbox_id, g_free);
  g_clear_pointer(&f->acl, g_free);
  f->n_unseen = f->n_deleted = 0;
  f->bytes = 0;
}

/* ------------------------------------------------------------ applying */

static void apply_append(sc_folder *f, const uint8_t *p, size_t len,
                         uint64_t payload_off) {
  sc_rec r;
  guint at;
  if (len < SC_REC_BYTES || !sc_rec_unpack(p, SC_REC_BYTES, &r))
    return;
  if (sc_folder_find(f, r.uid, &at) != NULL)
    return;
  g_array_insert_val(f->recs, at, r);
  sc_folder_count(f, &r, 1);
  if (at == f->recs->len - 1 && (f->uids->n == 0 ||
                                 f->uids->v[f->uids->n - 1] < r.uid))
    uids_push(f, r.uid);
  else
    uids_rebuild(f);
  if (r.uid >= f->uidnext)
    f->uidnext = r.uid + 1;
  f->highestmodseq = MAX(f->highestmodseq, r.modseq);
  sc_logref *ref = g_new(sc_logref, 1);
  ref->off = payload_off + SC_REC_BYTES;
  ref->len = (uint32_t)(len - SC_REC_BYTES);
  g_hash_table_insert(f->pending, GUINT_TO_POINTER(r.uid), ref);
  mark_chunk(f, r.uid);
}

static void apply_flags(sc_folder *f, const uint8_t *p, size_t len) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, p, len);
  uint32_t uid = sc_get_u32(&rb);
  uint32_t flags = sc_get_u32(&rb);
  uint64_t kw0 = sc_get_u64(&rb), kw1 = sc_get_u64(&rb);
  uint64_t modseq = sc_get_u64(&rb);
  if (rb.bad)
    return;
  sc_rec *r = (sc_rec *)sc_folder_find(f, uid, NULL);
  f->highestmodseq = MAX(f->highestmodseq, modseq);
  if (r == NULL)
    return;
  sc_folder_count(f, r, -1);
  r->flags = flags & SC_FLAG_MASK;
  r->kw[0] = kw0;
  r->kw[1] = kw1;
  r->modseq = modseq;
  sc_folder_count(f, r, 1);
  mark_chunk(f, uid);
}

static void apply_expunge(sc_folder *f, const uint8_t *p, size_t len,
                          int64_t when) {
  sc_rbuf rb;
  guint at;
  sc_rbuf_init(&rb, p, len);
  uint32_t uid = sc_get_u32(&rb);
  uint64_t modseq = sc_get_u64(&rb);
  if (rb.bad)
    return;
  f->highestmodseq = MAX(f->highestmodseq, modseq);
  const sc_rec *r = sc_folder_find(f, uid, &at);
  if (r == NULL)
    return;
  sc_folder_count(f, r, -1);
  g_array_remove_index(f->recs, at);
  g_hash_table_remove(f->pending, GUINT_TO_POINTER(uid));
  g_array_append_val(f->cache_drop, uid);
  sc_tomb t = {uid, modseq, when};
  g_array_append_val(f->tombs, t);
  f->expunge_version++;
  uids_rebuild(f);
  mark_chunk(f, uid);
}

static void apply_seen(sc_folder *f, const uint8_t *p, size_t len) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, p, len);
  uint64_t modseq = sc_get_u64(&rb);
  char *user = sc_get_strdup(&rb);
  char *set = sc_get_strdup(&rb);
  GArray *parsed = set != NULL ? sc_uidset_parse(set) : NULL;
  if (!rb.bad && user != NULL && parsed != NULL) {
    f->highestmodseq = MAX(f->highestmodseq, modseq);
    g_hash_table_add(f->dirty_seen, g_strdup(user));
    g_hash_table_insert(f->seen, user, parsed);
    user = NULL;
    parsed = NULL;
  }
  if (parsed != NULL)
    g_array_free(parsed, TRUE);
  g_free(user);
  g_free(set);
}

/* apply - one log record (replayed, or just written by us) */
static void apply(sc_folder *f, uint8_t type, const uint8_t *p, size_t len,
                  uint64_t payload_off) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, p, len);
  f->version++;
  switch (type) {
  case R_APPEND:
    apply_append(f, p, len, payload_off);
    break;
  case R_FLAGS:
    apply_flags(f, p, len);
    break;
  case R_EXPUNGE: {
    sc_rbuf t;
    sc_rbuf_init(&t, p, len);
    sc_get_u32(&t);
    sc_get_u64(&t);
    int64_t when = (int64_t)sc_get_u64(&t);
    apply_expunge(f, p, len, t.bad ? g_get_real_time() / G_USEC_PER_SEC : when);
    break;
  }
  case R_KEYWORD: {
    uint32_t idx = sc_get_u32(&rb);
    size_t n = len - rb.pos;
    if (!rb.bad && idx == f->keywords->len && idx < SC_MAX_KEYWORDS && n > 0)
      g_ptr_array_add(f->keywords, g_strndup((const char *)p + 4, n));
    f->header_dirty = true;
    break;
  }
  case R_RECENT: {
    uint32_t r = sc_get_u32(&rb);
    if (!rb.bad && r > f->recent_uid)
      f->recent_uid = r;
    f->header_dirty = true;
    break;
  }
  case R_SEEN:
    apply_seen(f, p, len);
    break;
  case R_ACL:
    g_free(f->acl);
    f->acl = g_strndup((const char *)p, len);
    f->header_dirty = true;
    break;
  case R_SPECIAL: {
    uint32_t su = sc_get_u32(&rb);
    if (!rb.bad)
      f->special_use = su;
    f->header_dirty = true;
    break;
  }
  case R_CACHE: {
    uint32_t uid = sc_get_u32(&rb);
    if (!rb.bad && sc_folder_find(f, uid, NULL) != NULL) {
      sc_logref *ref = g_new(sc_logref, 1);
      ref->off = payload_off + 4;
      ref->len = (uint32_t)(len - 4);
      g_hash_table_insert(f->pending, GUINT_TO_POINTER(uid), ref);
    }
    break;
  }
  case R_MOVED:
    /* the owner's mailboxes now live on another partition */
    f->gone = true;
    break;
  default:
    break;
  }
}

/* ------------------------------------------------------------ log file */

bool sc_log_parse_header(const void *data, size_t len, uint64_t *gen_r) {
  sc_rbuf rb;
  if (len < SC_LOG_HEADER_BYTES || memcmp(data, log_magic, 8) != 0)
    return false;
  sc_rbuf_init(&rb, (const uint8_t *)data + 8, len - 8);
  *gen_r = sc_get_u64(&rb);
  return !rb.bad && *gen_r > 0;
}

bool sc_log_next_record(const uint8_t *data, size_t len, size_t *off,
                        uint8_t *type_r, const uint8_t **payload_r,
                        size_t *payload_len_r) {
  sc_rbuf rb;
  if (*off > len || len - *off < 9)
    return false;
  sc_rbuf_init(&rb, data + *off, len - *off);
  uint32_t n = sc_get_u32(&rb);
  uint32_t crc = sc_get_u32(&rb);
  if (n == 0 || n > MAX_RECORD || n > len - *off - 8)
    return false;
  const uint8_t *body = data + *off + 8;
  if ((uint32_t)crc32(0, body, n) != crc)
    return false;
  *type_r = body[0];
  *payload_r = body + 1;
  *payload_len_r = n - 1;
  *off += 8 + n;
  return true;
}

/* read_log - apply the complete records after log_off */
static void read_log(sc_folder *f) {
  GByteArray *buf = g_byte_array_new();
  if (f->log_fd < 0 || f->log_stale) {
    g_byte_array_free(buf, TRUE);
    return;
  }
  for (;;) {
    uint8_t hdr[8];
    ssize_t n = pread(f->log_fd, hdr, 8, (off_t)f->log_off);
    if (n != 8)
      break;
    uint32_t len = GUINT32_FROM_LE(*(uint32_t *)(void *)hdr);
    if (len == 0 || len > MAX_RECORD)
      break;
    g_byte_array_set_size(buf, len + 8);
    n = pread(f->log_fd, buf->data, len + 8, (off_t)f->log_off);
    if (n != (ssize_t)(len + 8))
      break;
    size_t off = 0;
    uint8_t type;
    const uint8_t *payload;
    size_t plen;
    if (!sc_log_next_record(buf->data, buf->len, &off, &type, &payload,
                            &plen))
      break;
    apply(f, type, payload, plen, f->log_off + 9);
    f->log_off += off;
  }
  g_byte_array_free(buf, TRUE);
}

/* open_log - open store.log and read its header; -1 when missing */
static int open_log(sc_folder *f, ino_t *ino_r, uint64_t *gen_r,
                    GError **error) {
  int fd = openat(f->dirfd, "store.log", O_RDWR | O_APPEND | O_CLOEXEC);
  struct stat st;
  uint8_t hdr[SC_LOG_HEADER_BYTES];
  if (fd < 0) {
    if (errno != ENOENT)
      sc_errno_error(error, errno, "cannot open", f->path);
    return -1;
  }
  if (fstat(fd, &st) < 0 ||
      pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
      !sc_log_parse_header(hdr, sizeof(hdr), gen_r)) {
    /* an unusable log: treat it as stale so the next writer replaces it */
    *gen_r = 0;
  }
  *ino_r = st.st_ino;
  return fd;
}

/* new_log - start log generation GEN (write lock held) */
static bool new_log(sc_folder *f, uint64_t gen, GError **error) {
  uint8_t hdr[SC_LOG_HEADER_BYTES] = {0};
  uint64_t le = GUINT64_TO_LE(gen);
  memcpy(hdr, log_magic, 8);
  memcpy(hdr + 8, &le, 8);
  int fd = openat(f->dirfd, "store.log.new",
                  O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    sc_errno_error(error, errno, "cannot create log in", f->path);
    return false;
  }
  struct stat st;
  if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
      fstat(fd, &st) < 0 ||
      renameat(f->dirfd, "store.log.new", f->dirfd, "store.log") < 0) {
    sc_errno_error(error, errno, "cannot write log in", f->path);
    close(fd);
    unlinkat(f->dirfd, "store.log.new", 0);
    return false;
  }
  if (f->log_fd >= 0)
    close(f->log_fd);
  f->log_fd = fd;
  f->log_ino = st.st_ino;
  f->log_gen = gen;
  f->log_off = SC_LOG_HEADER_BYTES;
  f->log_stale = false;
  reset_since_checkpoint(f);
  return true;
}

/* log_write - append one record and apply it */
static bool log_write(sc_folder *f, uint8_t type, const void *data,
                      size_t len, GError **error) {
  g_assert(f->writing > 0);
  if (len + 1 > MAX_RECORD) {
    sc_set_error(error, CURSUS_STORE_E_LIMIT, "record too large");
    return false;
  }
  sc_wbuf *b = g_byte_array_sized_new((guint)(len + 9));
  uint32_t n = (uint32_t)len + 1;
  sc_put_u32(b, n);
  sc_put_u32(b, 0);
  sc_put_u8(b, type);
  sc_put_bytes(b, data, len);
  uint32_t crc = GUINT32_TO_LE((uint32_t)crc32(0, b->data + 8, n));
  memcpy(b->data + 4, &crc, 4);
  size_t done = 0;
  while (done < b->len) {
    ssize_t w = write(f->log_fd, b->data + done, b->len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      if (ftruncate(f->log_fd, (off_t)f->log_off) < 0)
        sc_log(CURSUS_LOG_ERROR, "cannot cut %s/store.log: %s", f->path,
               g_strerror(errno));
      sc_errno_error(error, e, "cannot write the log of", f->path);
      g_byte_array_free(b, TRUE);
      return false;
    }
    done += (size_t)w;
  }
  uint64_t payload_off = f->log_off + 9;
  f->log_off += b->len;
  apply(f, type, b->data + 9, len, payload_off);
  g_byte_array_free(b, TRUE);
  return true;
}

/* ------------------------------------------------------------ index */

static void header_encode(const sc_folder *f, uint64_t log_seq, sc_wbuf *b) {
  sc_put_u32(b, HEADER_MAGIC);
  sc_put_u32(b, 1);
  sc_put_u32(b, f->uidvalidity);
  sc_put_u32(b, f->uidnext);
  sc_put_u32(b, f->recent_uid);
  sc_put_u32(b, f->hash_threshold);
  sc_put_u64(b, f->highestmodseq);
  sc_put_u64(b, f->vanished_floor);
  sc_put_u64(b, log_seq);
  sc_put_u64(b, (uint64_t)f->created);
  sc_put_str(b, f->mailbox_id, f->mailbox_id ? strlen(f->mailbox_id) : 0);
  sc_put_u32(b, f->special_use);
  sc_put_str(b, f->acl, f->acl ? strlen(f->acl) : 0);
  sc_put_u32(b, f->keywords->len);
  for (guint i = 0; i < f->keywords->len; i++)
    sc_put_str(b, f->keywords->pdata[i], strlen(f->keywords->pdata[i]));
}

static bool header_decode(sc_folder *f, const void *data, size_t len) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, data, len);
  if (sc_get_u32(&rb) != HEADER_MAGIC || sc_get_u32(&rb) != 1)
    return false;
  f->uidvalidity = sc_get_u32(&rb);
  f->uidnext = sc_get_u32(&rb);
  f->recent_uid = sc_get_u32(&rb);
  f->hash_threshold = sc_get_u32(&rb);
  f->highestmodseq = sc_get_u64(&rb);
  f->vanished_floor = sc_get_u64(&rb);
  f->log_seq = sc_get_u64(&rb);
  f->created = (int64_t)sc_get_u64(&rb);
  f->mailbox_id = sc_get_strdup(&rb);
  f->special_use = sc_get_u32(&rb);
  f->acl = sc_get_strdup(&rb);
  uint32_t n = sc_get_u32(&rb);
  for (uint32_t i = 0; i < n && i < SC_MAX_KEYWORDS && !rb.bad; i++) {
    char *k = sc_get_strdup(&rb);
    if (k != NULL)
      g_ptr_array_add(f->keywords, k);
  }
  return !rb.bad && f->uidnext > 0 && f->uidvalidity > 0 && f->log_seq > 0;
}

static TCHDB *tc_open(const char *dir, const char *name, int mode,
                      int64_t bnum, GError **error) {
  char *path = g_build_filename(dir, name, NULL);
  if (!sc_tc_sane(path, error)) {
    g_free(path);
    return NULL;
  }
  TCHDB *db = tchdbnew();
  /* the cache reader maps its file (Tokyo Cabinet maps at most the file's
   * size for a reader): records are copied from memory instead of two or
   * three preads each; everything else reads through the file */
  tchdbsetxmsiz(db, g_str_equal(name, "store.cache") && !(mode & HDBOWRITER)
                        ? INT64_C(1) << 31
                        : 0);
  if (mode & HDBOCREAT)
    tchdbtune(db, bnum, 4, 10, HDBTLARGE);
  if (!tchdbopen(db, path, mode | HDBONOLCK)) {
    int ec = tchdbecode(db);
    sc_set_error(error,
                 ec == TCENOFILE ? CURSUS_STORE_E_NOTFOUND
                                 : CURSUS_STORE_E_CORRUPT,
                 "cannot open %s: %s", path, tchdberrmsg(ec));
    tchdbdel(db);
    g_free(path);
    return NULL;
  }
  g_free(path);
  return db;
}

static void tc_close(TCHDB **db) {
  if (*db != NULL) {
    tchdbclose(*db);
    tchdbdel(*db);
    *db = NULL;
  }
}

/* load - the index, then the log (under a shared lock so no checkpoint
 * runs in between) */
static bool load(sc_folder *f, GError **error) {
  TCHDB *db;
  bool ok = false;
  clear_state(f);
  if (!sc_flock(f->dirfd, LOCK_SH, f->st->lock_timeout_ms)) {
    sc_errno_error(error, errno, "cannot lock", f->path);
    return false;
  }
  db = tc_open(f->path, "store.idx", HDBOREADER, 0, error);
  if (db == NULL)
    goto out;
  int sz;
  void *h = tchdbget(db, "H", 1, &sz);
  if (h == NULL || !header_decode(f, h, (size_t)sz)) {
    sc_set_error(error, CURSUS_STORE_E_CORRUPT,
                 "%s/store.idx: the folder header is damaged", f->path);
    free(h);
    goto out;
  }
  free(h);
  tchdbiterinit(db);
  int ksz;
  void *k;
  while ((k = tchdbiternext(db, &ksz)) != NULL) {
    int vsz;
    const uint8_t *kp = k;
    void *v = tchdbget(db, k, ksz, &vsz);
    if (v != NULL && ksz == 5 && kp[0] == 'M') {
      for (int off = 0; off + SC_REC_BYTES <= vsz; off += SC_REC_BYTES) {
        sc_rec r;
        if (sc_rec_unpack((uint8_t *)v + off, SC_REC_BYTES, &r))
          g_array_append_val(f->recs, r);
      }
    } else if (v != NULL && ksz == 1 && kp[0] == 'X') {
      sc_rbuf rb;
      sc_rbuf_init(&rb, v, (size_t)vsz);
      uint32_t n = sc_get_u32(&rb);
      for (uint32_t i = 0; i < n && !rb.bad; i++) {
        sc_tomb t;
        t.uid = sc_get_u32(&rb);
        t.modseq = sc_get_u64(&rb);
        t.when = (int64_t)sc_get_u64(&rb);
        if (!rb.bad)
          g_array_append_val(f->tombs, t);
      }
    } else if (v != NULL && ksz > 1 && kp[0] == 'S') {
      char *set = g_strndup(v, (gsize)vsz);
      GArray *parsed = sc_uidset_parse(set);
      if (parsed != NULL)
        g_hash_table_insert(f->seen, g_strndup((char *)k + 1, (gsize)ksz - 1),
                            parsed);
      g_free(set);
    }
    free(v);
    free(k);
  }
  tc_close(&db);
  ino_t ino;
  uint64_t gen = 0;
  if (f->log_fd >= 0)
    close(f->log_fd);
  f->log_fd = open_log(f, &ino, &gen, error);
  if (f->log_fd < 0 && error != NULL && *error != NULL)
    goto out;
  f->log_ino = f->log_fd >= 0 ? ino : 0;
  f->log_gen = gen;
  f->log_stale = f->log_fd < 0 || gen < f->log_seq;
  f->log_off = SC_LOG_HEADER_BYTES;
  ok = true;
out:
  flock(f->dirfd, LOCK_UN);
  return ok;
}

static gint rec_cmp(gconstpointer a, gconstpointer b) {
  uint32_t x = ((const sc_rec *)a)->uid, y = ((const sc_rec *)b)->uid;
  return x < y ? -1 : x > y;
}

static gint tomb_cmp(gconstpointer a, gconstpointer b) {
  uint64_t x = ((const sc_tomb *)a)->modseq, y = ((const sc_tomb *)b)->modseq;
  return x < y ? -1 : x > y;
}

/* full_load - index + log replay, counters and uid array */
static bool full_load(sc_folder *f, GError **error) {
  if (!load(f, error))
    return false;
  g_array_sort(f->recs, rec_cmp);
  g_array_sort(f->tombs, tomb_cmp);
  for (guint i = 0; i < f->recs->len; i++)
    sc_folder_count(f, &g_array_index(f->recs, sc_rec, i), 1);
  uids_rebuild(f);
  reset_since_checkpoint(f);
  read_log(f);
  f->version++;
  f->expunge_version++;
  return true;
}

/* ------------------------------------------------------------ registry */

static GMutex reg_mu;
static GHashTable *registry; /* path -> sc_folder* */

static sc_folder *folder_new(sc_store *st, const char *path) {
  sc_folder *f = g_new0(sc_folder, 1);
  f->st = st;
  f->path = g_strdup(path);
  f->dirfd = -1;
  f->log_fd = -1;
  f->exclusive_fd = -1;
  f->wd = -1;
  g_mutex_init(&f->mu);
  f->keywords = g_ptr_array_new_with_free_func(g_free);
  f->recs = g_array_new(FALSE, FALSE, sizeof(sc_rec));
  f->tombs = g_array_new(FALSE, FALSE, sizeof(sc_tomb));
  f->pending = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  f->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify)g_array_unref);
  f->dirty_chunks = g_hash_table_new(NULL, NULL);
  f->dirty_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  f->cache_drop = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  f->ahead = g_array_new(FALSE, FALSE, sizeof(sc_ahead));
  f->uids = uids_new(16);
  f->watchers = g_ptr_array_new();
  return f;
}

static void folder_free(sc_folder *f) {
  sc_watch_folder_gone(f);
  if (f->dirfd >= 0)
    close(f->dirfd);
  if (f->log_fd >= 0)
    close(f->log_fd);
  if (f->exclusive_fd >= 0)
    close(f->exclusive_fd);
  tc_close(&f->cache_r);
  sc_folder_ahead_clear(f);
  g_array_free(f->ahead, TRUE);
  clear_state(f);
  g_ptr_array_free(f->keywords, TRUE);
  g_array_free(f->recs, TRUE);
  g_array_free(f->tombs, TRUE);
  g_hash_table_destroy(f->pending);
  g_hash_table_destroy(f->seen);
  g_hash_table_destroy(f->dirty_chunks);
  g_hash_table_destroy(f->dirty_seen);
  g_array_free(f->cache_drop, TRUE);
  sc_uids_unref(&f->uids);
  g_ptr_array_free(f->watchers, TRUE);
  g_mutex_clear(&f->mu);
  g_free(f->path);
  g_free(f);
}

/* trim - free unreferenced folders beyond REGISTRY_KEEP (reg_mu held) */
static void trim(guint keep) {
  GHashTableIter it;
  gpointer key, value;
  if (registry == NULL || g_hash_table_size(registry) <= keep)
    return;
  g_hash_table_iter_init(&it, registry);
  while (g_hash_table_iter_next(&it, &key, &value) &&
         g_hash_table_size(registry) > keep) {
    sc_folder *f = value;
    if (f->refs == 0) {
      g_hash_table_iter_remove(&it);
      folder_free(f);
    }
  }
}

void sc_folder_cache_trim(void) {
  g_mutex_lock(&reg_mu);
  trim(0);
  g_mutex_unlock(&reg_mu);
}

sc_folder *sc_folder_get(sc_store *st, const char *path, GError **error) {
  g_mutex_lock(&reg_mu);
  if (registry == NULL)
    registry = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  sc_folder *f = g_hash_table_lookup(registry, path);
  if (f != NULL && !f->gone) {
    /* another process may have renamed the folder away and made a new
     * one at this path: the cached state is of the old directory */
    struct stat a, b;
    if (stat(path, &a) < 0 || fstat(f->dirfd, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev)
      f->gone = true;
  }
  if (f != NULL && f->gone) {
    /* moved away and back, or removed and created again */
    g_hash_table_remove(registry, path);
    if (f->refs == 0)
      folder_free(f);
    f = NULL;
  }
  if (f != NULL) {
    f->refs++;
    g_mutex_unlock(&reg_mu);
    return f;
  }
  trim(REGISTRY_KEEP);
  f = folder_new(st, path);
  f->refs = 1;
  f->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->dirfd < 0) {
    if (errno == ENOENT)
      sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "%s: no such folder", path);
    else
      sc_errno_error(error, errno, "cannot open", path);
    g_mutex_unlock(&reg_mu);
    folder_free(f);
    return NULL;
  }
  g_mutex_lock(&f->mu);
  bool ok = full_load(f, error);
  g_mutex_unlock(&f->mu);
  if (!ok) {
    g_mutex_unlock(&reg_mu);
    folder_free(f);
    return NULL;
  }
  g_hash_table_insert(registry, g_strdup(path), f);
  g_mutex_unlock(&reg_mu);
  return f;
}

sc_folder *sc_folder_ref(sc_folder *f) {
  g_mutex_lock(&reg_mu);
  f->refs++;
  g_mutex_unlock(&reg_mu);
  return f;
}

void sc_folder_unref(sc_folder **fp) {
  sc_folder *f = *fp;
  if (f == NULL)
    return;
  *fp = NULL;
  g_mutex_lock(&reg_mu);
  bool free_it = --f->refs == 0 && f->gone;
  /* a folder found gone (removed or moved by another process) may still
   * be registered under its path */
  if (free_it && registry != NULL &&
      g_hash_table_lookup(registry, f->path) == f)
    g_hash_table_remove(registry, f->path);
  g_mutex_unlock(&reg_mu);
  if (free_it)
    folder_free(f);
}

void sc_folder_forget(sc_store *st, const char *path) {
  GHashTableIter it;
  gpointer key, value;
  size_t plen = strlen(path);
  GPtrArray *dead = g_ptr_array_new();
  g_mutex_lock(&reg_mu);
  if (registry != NULL) {
    g_hash_table_iter_init(&it, registry);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      const char *k = key;
      if (strncmp(k, path, plen) == 0 && (k[plen] == '\0' || k[plen] == '/')) {
        sc_folder *f = value;
        f->gone = true;
        g_hash_table_iter_remove(&it);
        if (f->refs == 0)
          g_ptr_array_add(dead, f);
      }
    }
  }
  g_mutex_unlock(&reg_mu);
  for (guint i = 0; i < dead->len; i++)
    folder_free(dead->pdata[i]);
  g_ptr_array_free(dead, TRUE);
}

/* ------------------------------------------------------------ refresh */

bool sc_folder_refresh(sc_folder *f, GError **error) {
  struct stat st;
  if (f->gone) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "the folder was removed");
    return false;
  }
  read_log(f);
  if (f->gone) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND,
                 "the mailbox moved to another partition; open it again");
    return false;
  }
  if (fstatat(f->dirfd, "store.log", &st, 0) < 0) {
    if (errno == ENOENT) {
      /* a folder always has its log (a new one replaces the old by
       * rename): without one it was deleted, or emptied into a
       * placeholder for its children */
      f->gone = true;
      sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "the folder was removed");
      return false;
    }
    sc_errno_error(error, errno, "cannot stat the log of", f->path);
    return false;
  }
  if (f->log_fd >= 0 && st.st_ino == f->log_ino)
    return true;
  /* a checkpoint started a new log: continue with it when it follows the
   * one we read, otherwise reload everything */
  ino_t ino;
  uint64_t gen;
  GError *err = NULL;
  int fd = open_log(f, &ino, &gen, &err);
  if (fd < 0) {
    if (err != NULL) {
      g_propagate_error(error, err);
      return false;
    }
    return true;
  }
  uint64_t expect = f->log_stale ? f->log_seq : f->log_gen + 1;
  if (gen == expect && f->log_fd >= 0) {
    close(f->log_fd);
    f->log_fd = fd;
    f->log_ino = ino;
    f->log_gen = gen;
    f->log_seq = gen;
    f->log_off = SC_LOG_HEADER_BYTES;
    f->log_stale = false;
    reset_since_checkpoint(f);
    read_log(f);
    return true;
  }
  close(fd);
  return full_load(f, error);
}

/* ------------------------------------------------------------ writing */

bool sc_folder_write_begin(sc_folder *f, GError **error) {
  if (f->writing++ > 0)
    return true;
  if (!sc_flock(f->dirfd, LOCK_EX, f->st->lock_timeout_ms)) {
    sc_errno_error(error, errno, "cannot lock", f->path);
    f->writing--;
    return false;
  }
  if (!sc_folder_refresh(f, error))
    goto fail;
  if (f->log_fd < 0 || f->log_stale) {
    if (!new_log(f, f->log_seq, error))
      goto fail;
  } else {
    struct stat st;
    if (fstat(f->log_fd, &st) == 0 && (uint64_t)st.st_size > f->log_off) {
      sc_log(CURSUS_LOG_WARNING,
             "%s/store.log: cutting %llu bytes of an interrupted write",
             f->path, (unsigned long long)((uint64_t)st.st_size - f->log_off));
      if (ftruncate(f->log_fd, (off_t)f->log_off) < 0) {
        sc_errno_error(error, errno, "cannot repair the log of", f->path);
        goto fail;
      }
    }
  }
  return true;
fail:
  f->writing--;
  flock(f->dirfd, LOCK_UN);
  return false;
}

void sc_folder_write_end(sc_folder *f) {
  g_assert(f->writing > 0);
  if (f->writing > 1) {
    f->writing--;
    return;
  }
  if (f->log_off > f->st->checkpoint_bytes) {
    GError *err = NULL;
    if (!sc_folder_checkpoint(f, &err)) {
      sc_log(CURSUS_LOG_WARNING, "%s: checkpoint failed: %s", f->path,
             err->message);
      g_error_free(err);
    }
  }
  f->writing--;
  flock(f->dirfd, LOCK_UN);
}

bool sc_folder_log_append(sc_folder *f, const sc_rec *rec, const void *blob,
                          size_t blob_len, GError **error) {
  sc_rec r = *rec;
  r.modseq = f->highestmodseq + 1;
  sc_wbuf *b = g_byte_array_sized_new((guint)(SC_REC_BYTES + blob_len));
  g_byte_array_set_size(b, SC_REC_BYTES);
  sc_rec_pack(&r, b->data);
  sc_put_bytes(b, blob, blob_len);
  bool ok = log_write(f, R_APPEND, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

bool sc_folder_log_flags(sc_folder *f, uint32_t uid, uint32_t flags,
                         const uint64_t kw[2], GError **error) {
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, uid);
  sc_put_u32(b, flags & SC_FLAG_MASK);
  sc_put_u64(b, kw[0]);
  sc_put_u64(b, kw[1]);
  sc_put_u64(b, f->highestmodseq + 1);
  bool ok = log_write(f, R_FLAGS, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

bool sc_folder_log_expunge(sc_folder *f, uint32_t uid, GError **error) {
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, uid);
  sc_put_u64(b, f->highestmodseq + 1);
  sc_put_u64(b, (uint64_t)(g_get_real_time() / G_USEC_PER_SEC));
  bool ok = log_write(f, R_EXPUNGE, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

bool sc_folder_log_recent(sc_folder *f, uint32_t recent_uid, GError **error) {
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, recent_uid);
  bool ok = log_write(f, R_RECENT, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

bool sc_folder_log_seen(sc_folder *f, const char *user, const GArray *set,
                        GError **error) {
  char *text = sc_uidset_format(set);
  sc_wbuf *b = g_byte_array_new();
  sc_put_u64(b, f->highestmodseq + 1);
  sc_put_str(b, user, strlen(user));
  sc_put_str(b, text, strlen(text));
  bool ok = log_write(f, R_SEEN, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  g_free(text);
  return ok;
}

bool sc_folder_log_acl(sc_folder *f, const char *acl, GError **error) {
  return log_write(f, R_ACL, acl, strlen(acl), error);
}

bool sc_folder_log_special_use(sc_folder *f, uint32_t special_use,
                               GError **error) {
  uint32_t le = GUINT32_TO_LE(special_use);
  return log_write(f, R_SPECIAL, &le, 4, error);
}

bool sc_folder_mark_moved(const char *path, GError **error) {
  char *log = g_build_filename(path, "store.log", NULL);
  uint8_t rec[9];
  uint32_t n = GUINT32_TO_LE(1), crc;
  rec[8] = R_MOVED;
  crc = GUINT32_TO_LE((uint32_t)crc32(0, rec + 8, 1));
  memcpy(rec, &n, 4);
  memcpy(rec + 4, &crc, 4);
  int fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
  bool ok = fd >= 0 && write(fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec);
  if (!ok)
    sc_errno_error(error, errno, "cannot mark as moved", path);
  if (fd >= 0)
    close(fd);
  g_free(log);
  return ok;
}

bool sc_folder_log_cache(sc_folder *f, uint32_t uid, const void *blob,
                         size_t len, GError **error) {
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, uid);
  sc_put_bytes(b, blob, len);
  bool ok = log_write(f, R_CACHE, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

int sc_folder_keyword(sc_folder *f, const char *name, bool create,
                      GError **error) {
  for (guint i = 0; i < f->keywords->len; i++)
    if (g_ascii_strcasecmp(f->keywords->pdata[i], name) == 0)
      return (int)i;
  if (!create)
    return -1;
  if (f->keywords->len >= SC_MAX_KEYWORDS) {
    sc_set_error(error, CURSUS_STORE_E_LIMIT,
                 "too many keywords in this mailbox (at most %d)",
                 SC_MAX_KEYWORDS);
    return -1;
  }
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, f->keywords->len);
  sc_put_bytes(b, name, strlen(name));
  bool ok = log_write(f, R_KEYWORD, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok ? (int)f->keywords->len - 1 : -1;
}

bool sc_folder_sync_log(sc_folder *f, GError **error) {
  if (!f->st->fsync || f->log_fd < 0)
    return true;
  if (fdatasync(f->log_fd) < 0) {
    sc_errno_error(error, errno, "cannot sync the log of", f->path);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------ checkpoint */

static void chunk_key(uint32_t chunk, uint8_t key[5]) {
  uint32_t be = GUINT32_TO_BE(chunk);
  key[0] = 'M';
  memcpy(key + 1, &be, 4);
}

static bool checkpoint_cache(sc_folder *f, GError **error) {
  if (g_hash_table_size(f->pending) == 0 && f->cache_drop->len == 0)
    return true;
  /* Tokyo Cabinet opens a file once per process: the reader goes */
  tc_close(&f->cache_r);
  TCHDB *db = tc_open(f->path, "store.cache", HDBOWRITER | HDBOCREAT, 4093,
                      error);
  if (db == NULL)
    return false;
  tchdbtranbegin(db);
  GHashTableIter it;
  gpointer key, value;
  GByteArray *buf = g_byte_array_new();
  g_hash_table_iter_init(&it, f->pending);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const sc_logref *ref = value;
    uint32_t be = GUINT32_TO_BE(GPOINTER_TO_UINT(key));
    g_byte_array_set_size(buf, ref->len);
    if (pread(f->log_fd, buf->data, ref->len, (off_t)ref->off) ==
        (ssize_t)ref->len)
      tchdbput(db, &be, 4, buf->data, (int)ref->len);
  }
  for (guint i = 0; i < f->cache_drop->len; i++) {
    uint32_t be = GUINT32_TO_BE(g_array_index(f->cache_drop, uint32_t, i));
    tchdbout(db, &be, 4);
  }
  g_byte_array_free(buf, TRUE);
  bool ok = tchdbtrancommit(db);
  if (!ok) {
    sc_set_error(error, CURSUS_STORE_E_TEMP, "%s/store.cache: %s", f->path,
                 tchdberrmsg(tchdbecode(db)));
    tchdbtranabort(db);
  } else if (tchdbrnum(db) > 4 * (uint64_t)tchdbbnum(db)) {
    /* keep hash chains short as the folder grows */
    tchdboptimize(db, (int64_t)tchdbrnum(db) * 2, 4, 10, HDBTLARGE);
  }
  tc_close(&db);
  return ok;
}

static void put_chunk(TCHDB *db, sc_folder *f, uint32_t chunk) {
  uint8_t key[5];
  guint first;
  chunk_key(chunk, key);
  sc_folder_find(f, chunk << CHUNK_SHIFT, &first);
  GByteArray *v = g_byte_array_new();
  for (guint i = first; i < f->recs->len; i++) {
    const sc_rec *r = &g_array_index(f->recs, sc_rec, i);
    if ((r->uid >> CHUNK_SHIFT) != chunk)
      break;
    guint at = v->len;
    g_byte_array_set_size(v, at + SC_REC_BYTES);
    sc_rec_pack(r, v->data + at);
  }
  if (v->len > 0)
    tchdbput(db, key, 5, v->data, (int)v->len);
  else
    tchdbout(db, key, 5);
  g_byte_array_free(v, TRUE);
}

static void trim_tombs(sc_folder *f) {
  int64_t limit = g_get_real_time() / G_USEC_PER_SEC - f->st->vanished_keep;
  guint drop = 0;
  while (drop < f->tombs->len &&
         (g_array_index(f->tombs, sc_tomb, drop).when < limit ||
          f->tombs->len - drop > 100000)) {
    f->vanished_floor =
        MAX(f->vanished_floor, g_array_index(f->tombs, sc_tomb, drop).modseq);
    drop++;
  }
  if (drop > 0)
    g_array_remove_range(f->tombs, 0, drop);
}

static bool checkpoint_index(sc_folder *f, GError **error) {
  TCHDB *db = tc_open(f->path, "store.idx", HDBOWRITER | HDBOCREAT, 1021,
                      error);
  if (db == NULL)
    return false;
  tchdbtranbegin(db);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, f->dirty_chunks);
  while (g_hash_table_iter_next(&it, &key, &value))
    put_chunk(db, f, GPOINTER_TO_UINT(key) - 1);
  trim_tombs(f);
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, f->tombs->len);
  for (guint i = 0; i < f->tombs->len; i++) {
    const sc_tomb *t = &g_array_index(f->tombs, sc_tomb, i);
    sc_put_u32(b, t->uid);
    sc_put_u64(b, t->modseq);
    sc_put_u64(b, (uint64_t)t->when);
  }
  tchdbput(db, "X", 1, b->data, (int)b->len);
  g_byte_array_set_size(b, 0);
  g_hash_table_iter_init(&it, f->dirty_seen);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    GArray *set = g_hash_table_lookup(f->seen, key);
    char *k = g_strconcat("S", (char *)key, NULL);
    char *text = set != NULL ? sc_uidset_format(set) : g_strdup("");
    if (*text != '\0')
      tchdbput(db, k, (int)strlen(k), text, (int)strlen(text));
    else
      tchdbout(db, k, (int)strlen(k));
    g_free(k);
    g_free(text);
  }
  header_encode(f, f->log_gen + 1, b);
  tchdbput(db, "H", 1, b->data, (int)b->len);
  g_byte_array_free(b, TRUE);
  bool ok = tchdbtrancommit(db);
  if (!ok) {
    sc_set_error(error, CURSUS_STORE_E_TEMP, "%s/store.idx: %s", f->path,
                 tchdberrmsg(tchdbecode(db)));
    tchdbtranabort(db);
  }
  tc_close(&db);
  return ok;
}

bool sc_folder_checkpoint(sc_folder *f, GError **error) {
  g_assert(f->writing > 0);
  if (f->log_fd < 0)
    return true;
  if (!checkpoint_cache(f, error) || !checkpoint_index(f, error))
    return false;
  f->log_seq = f->log_gen + 1;
  return new_log(f, f->log_seq, error);
}

/* ------------------------------------------------------------ create */

/* clear_leftovers - remove what an earlier folder at PATH left (its
 * index, log, cache and messages), keeping child folders */
static void clear_leftovers(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    if (name[0] == '=')
      continue;
    char *sub = g_build_filename(path, name, NULL);
    if (g_file_test(sub, G_FILE_TEST_IS_DIR)) {
      GDir *h = g_dir_open(sub, 0, NULL);
      const char *n2;
      while (h != NULL && (n2 = g_dir_read_name(h)) != NULL) {
        char *f = g_build_filename(sub, n2, NULL);
        unlink(f);
        g_free(f);
      }
      if (h != NULL)
        g_dir_close(h);
      rmdir(sub);
    } else {
      unlink(sub);
    }
    g_free(sub);
  }
  if (d != NULL)
    g_dir_close(d);
}

bool sc_folder_create(sc_store *st, const char *path, uint32_t uidvalidity,
                      const char *mailbox_id, uint32_t special_use,
                      const char *acl, bool fresh, GError **error) {
  if (g_mkdir_with_parents(path, 0750) < 0) {
    sc_errno_error(error, errno, "cannot create", path);
    return false;
  }
  if (fresh)
    clear_leftovers(path);
  sc_folder *f = folder_new(st, path);
  bool ok = false;
  f->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->dirfd < 0) {
    sc_errno_error(error, errno, "cannot open", path);
    goto out;
  }
  f->uidvalidity = uidvalidity;
  f->uidnext = 1;
  f->highestmodseq = 1;
  f->hash_threshold = st->hash_threshold;
  f->created = g_get_real_time() / G_USEC_PER_SEC;
  f->mailbox_id = g_strdup(mailbox_id);
  f->special_use = special_use;
  f->acl = g_strdup(acl != NULL ? acl : "");
  f->writing = 1;
  f->log_gen = 0;
  /* a new file, never one cut short in place: readers in other processes
   * may still have the old one mapped */
  unlinkat(f->dirfd, "store.cache", 0);
  TCHDB *db = tc_open(path, "store.cache", HDBOWRITER | HDBOCREAT | HDBOTRUNC,
                      4093, error);
  if (db == NULL)
    goto out;
  tc_close(&db);
  unlinkat(f->dirfd, "store.idx", 0);
  if (!checkpoint_index(f, error))
    goto out;
  f->log_seq = 1;
  if (!new_log(f, 1, error))
    goto out;
  if (st->fsync && (fsync(f->log_fd) < 0 || fsync(f->dirfd) < 0)) {
    sc_errno_error(error, errno, "cannot sync", path);
    goto out;
  }
  ok = true;
out:
  f->writing = 0;
  folder_free(f);
  return ok;
}

bool sc_index_header_valid(const void *data, size_t len) {
  sc_folder *f = folder_new(NULL, "");
  bool ok = header_decode(f, data, len);
  folder_free(f);
  return ok;
}

bool sc_folder_index_ok(const char *path) {
  TCHDB *db = tc_open(path, "store.idx", HDBOREADER, 0, NULL);
  if (db == NULL)
    return false;
  int sz;
  void *h = tchdbget(db, "H", 1, &sz);
  sc_folder *f = folder_new(NULL, path);
  bool ok = h != NULL && header_decode(f, h, (size_t)sz);
  free(h);
  folder_free(f);
  tc_close(&db);
  return ok;
}

/* ------------------------------------------------------------ messages */

char *sc_folder_msg_path(sc_folder *f, uint32_t uid) {
  char rel[40];
  return g_build_filename(f->path,
                          sc_msg_relpath(uid, f->hash_threshold, rel), NULL);
}

int sc_folder_open_msg(sc_folder *f, uint32_t uid, GError **error) {
  char rel[40];
  int fd = openat(f->dirfd, sc_msg_relpath(uid, f->hash_threshold, rel),
                  O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      sc_set_error(error, CURSUS_STORE_E_EXPUNGED,
                   "message %u of %s has no file", uid, f->path);
    else
      sc_errno_error(error, errno, "cannot open a message in", f->path);
  }
  return fd;
}

int sc_folder_msg_dirfd(sc_folder *f, uint32_t uid, GError **error) {
  char b[20];
  const char *bucket = sc_msg_bucket(uid, f->hash_threshold, b);
  if (bucket == NULL)
    return dup(f->dirfd);
  int fd = openat(f->dirfd, bucket, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    if (mkdirat(f->dirfd, bucket, 0750) < 0 && errno != EEXIST) {
      sc_errno_error(error, errno, "cannot create a hash directory in",
                     f->path);
      return -1;
    }
    if (f->st->fsync)
      fsync(f->dirfd);
    fd = openat(f->dirfd, bucket, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (fd < 0)
    sc_errno_error(error, errno, "cannot open a hash directory in", f->path);
  return fd;
}

const GArray *sc_folder_user_seen(sc_folder *f, const char *user) {
  return g_hash_table_lookup(f->seen, user);
}

/* parse_file - the cache record of a message file */
static sc_msginfo *parse_file(int fd, uint64_t *size_r, GError **error) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    sc_errno_error(error, errno, "cannot stat", "a message");
    return NULL;
  }
  *size_r = (uint64_t)st.st_size;
  if (st.st_size == 0)
    return sc_mime_parse("", 0);
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    sc_errno_error(error, errno, "cannot map", "a message");
    return NULL;
  }
  sc_msginfo *info = sc_mime_parse(map, (size_t)st.st_size);
  munmap(map, (size_t)st.st_size);
  return info;
}

void sc_folder_ahead_clear(sc_folder *f) {
  for (guint i = f->ahead_head; i < f->ahead->len; i++)
    free(g_array_index(f->ahead, sc_ahead, i).data);
  g_array_set_size(f->ahead, 0);
  f->ahead_head = 0;
}

/* ahead_take - the record of UID if it was read ahead: skipped records
 * before it are dropped (the walk went past them) */
static void *ahead_take(sc_folder *f, uint32_t uid, int *len_r) {
  while (f->ahead_head < f->ahead->len) {
    sc_ahead *a = &g_array_index(f->ahead, sc_ahead, f->ahead_head);
    if (a->uid > uid)
      return NULL;
    f->ahead_head++;
    if (a->uid == uid) {
      *len_r = a->len;
      return a->data;
    }
    free(a->data);
  }
  return NULL;
}

/* read_cache - the cache record of UID from store.cache, and while the
 * caller walks the folder in UID order the next ones too, under one
 * shared lock: a walk of N messages takes N/64 locks, not N (mu) */
static void *read_cache(sc_folder *f, uint32_t uid, int *len_r) {
  enum { AHEAD_MAX = 64 };
  guint at;
  bool walking = sc_folder_find(f, uid, &at) != NULL && at > 0 &&
                 g_array_index(f->recs, sc_rec, at - 1).uid == f->ahead_last;
  f->ahead_last = uid;
  f->ahead_window = walking ? MIN(MAX(f->ahead_window * 2, 4u), AHEAD_MAX)
                            : 1;
  sc_folder_ahead_clear(f);
  if (!sc_flock(f->dirfd, LOCK_SH, f->st->lock_timeout_ms))
    return NULL;
  struct stat st;
  if (fstatat(f->dirfd, "store.log", &st, 0) == 0 &&
      (f->cache_r == NULL || st.st_ino != f->cache_r_ino)) {
    tc_close(&f->cache_r);
    f->cache_r = tc_open(f->path, "store.cache", HDBOREADER, 0, NULL);
    f->cache_r_ino = st.st_ino;
  }
  void *v = NULL;
  if (f->cache_r != NULL) {
    uint32_t be = GUINT32_TO_BE(uid);
    v = tchdbget(f->cache_r, &be, 4, len_r);
    for (guint i = at + 1; i < f->recs->len && i <= at + f->ahead_window;
         i++) {
      sc_ahead a = {g_array_index(f->recs, sc_rec, i).uid, NULL, 0};
      if (g_hash_table_contains(f->pending, GUINT_TO_POINTER(a.uid)))
        continue; /* in the log, read from there */
      be = GUINT32_TO_BE(a.uid);
      a.data = tchdbget(f->cache_r, &be, 4, &a.len);
      if (a.data != NULL)
        g_array_append_val(f->ahead, a);
    }
  }
  flock(f->dirfd, LOCK_UN);
  return v;
}

void *sc_folder_cache_raw(sc_folder *f, uint32_t uid, size_t *len_r) {
  sc_logref *ref = g_hash_table_lookup(f->pending, GUINT_TO_POINTER(uid));
  if (ref != NULL) {
    void *buf = malloc(MAX(ref->len, 1u));
    if (buf != NULL &&
        pread(f->log_fd, buf, ref->len, (off_t)ref->off) == (ssize_t)ref->len) {
      *len_r = ref->len;
      return buf;
    }
    free(buf);
    return NULL;
  }
  /* records never change once written (a UID is one message for good),
   * so one read ahead stays right until it is used */
  int len = 0;
  void *v = ahead_take(f, uid, &len);
  if (v != NULL)
    f->ahead_last = uid;
  else
    v = read_cache(f, uid, &len);
  *len_r = (size_t)len;
  return v;
}

sc_msginfo *sc_folder_cache_get(sc_folder *f, uint32_t uid, GError **error) {
  size_t len;
  uint32_t got;
  void *v = sc_folder_cache_raw(f, uid, &len);
  sc_msginfo *info = v != NULL ? sc_msginfo_decode(v, len, &got) : NULL;
  free(v);
  if (info != NULL && got == uid)
    return info;
  sc_msginfo_free(&info);
  /* not cached (or damaged): parse the file */
  int fd = sc_folder_open_msg(f, uid, error);
  if (fd < 0)
    return NULL;
  uint64_t size;
  info = parse_file(fd, &size, error);
  close(fd);
  return info;
}

bool sc_folder_adopt(sc_folder *f, uint32_t *count_r, uint64_t *bytes_r,
                     GError **error) {
  unsigned limit = f->probed ? 1 : 64, misses = 0;
  uint32_t uid = f->uidnext;
  *count_r = 0;
  *bytes_r = 0;
  f->probed = true;
  while (misses < limit && uid < UINT32_MAX) {
    GError *err = NULL;
    int fd = sc_folder_open_msg(f, uid, &err);
    if (fd < 0) {
      g_clear_error(&err);
      misses++;
      uid++;
      continue;
    }
    struct stat st;
    uint64_t size = 0;
    sc_msginfo *info = parse_file(fd, &size, &err);
    fstat(fd, &st);
    close(fd);
    if (info == NULL) {
      g_propagate_error(error, err);
      return false;
    }
    sc_rec r = {0};
    r.uid = uid;
    r.internal_date = st.st_mtime;
    r.save_date = st.st_mtime;
    r.sent_date = info->sent_date;
    r.sent_tz = info->sent_tz;
    r.size = size;
    r.guid = ((uint64_t)g_random_int() << 32) | g_random_int();
    sc_wbuf *blob = g_byte_array_new();
    sc_msginfo_encode(info, uid, blob);
    sc_msginfo_free(&info);
    bool ok = sc_folder_log_append(f, &r, blob->data, blob->len, error);
    g_byte_array_free(blob, TRUE);
    if (!ok)
      return false;
    sc_log(CURSUS_LOG_NOTICE, "%s: adopted message %u left by an interrupted "
           "delivery", f->path, uid);
    (*count_r)++;
    *bytes_r += size;
    misses = 0;
    uid++;
  }
  return true;
}
