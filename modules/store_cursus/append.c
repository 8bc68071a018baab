/*
 * append.c - storing messages: IMAP APPEND, delivery to many recipients,
 * COPY and MOVE
 *
 * The content is written once into the partition's tmp directory and
 * made durable; every target mailbox on that partition then gets a hard
 * link named by its new UID (single copy: one file, one inode, however
 * many recipients), its folder a log record with the recipient's own
 * flags, and the link's directory an fsync before the commit returns.
 * Targets on another partition get one copy of the file per partition.
 */
#include "api.h"
#include "layout.h"
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Content up to this size is kept in memory until the commit writes it
 * at once and parses it from there (no mapping of the file). */
#define HOLD_MAX (256 * 1024)

typedef struct target {
  cursus_store_user *u;
  char *mailbox;
  uint32_t flags;
  char **keywords;
  int64_t idate;
  int32_t tz;
  unsigned options;
  int status;
  cursus_store_error error;
  char *text;
  uint32_t uid, uidvalidity;
  char *where;
} target;

struct cursus_store_append {
  sc_store *st;
  unsigned flags;
  GPtrArray *targets;
  sc_partition *part;     /* where tmp_path is                         */
  char *tmp_path;
  int tmp_fd;
  GByteArray *held;       /* the content while it is small (HOLD_MAX) */
  uint64_t size;
  bool last_cr;
  GError *werr;           /* the first write error                     */
  GHashTable *copies;     /* partition name -> tmp path of its copy     */
  uint64_t guid;
  bool committed;
};

/* A directory (or log) to make durable before the commit returns. */
typedef struct pending_sync {
  char *key;
  int fd;
  sc_folder *f; /* set when the folder's log must be synced */
} pending_sync;

static void target_free(target *t) {
  g_free(t->mailbox);
  g_strfreev(t->keywords);
  g_free(t->text);
  g_free(t->where);
  g_free(t);
}

/* ------------------------------------------------------------ tmp files */

/* tmp_name - a new name for content on P: each thread writes in one of
 * SC_TMP_SLOTS directories of P/tmp, since the threads of a channel job
 * creating and removing names in one directory queue on its lock */
static char *tmp_name(sc_partition *p) {
  static gint threads;
  static GPrivate slot_key; /* the thread's slot + 1 */
  int slot = GPOINTER_TO_INT(g_private_get(&slot_key));
  if (slot == 0) {
    slot = g_atomic_int_add(&threads, 1) % SC_TMP_SLOTS + 1;
    g_private_set(&slot_key, GINT_TO_POINTER(slot));
  }
  return g_strdup_printf("%s/tmp/" SC_TMP_SLOT_PREFIX "%d/%" G_GINT64_FORMAT
                         ".%d.%08x.tmp",
                         p->path, slot - 1, g_get_real_time(), (int)getpid(),
                         g_random_int());
}

/* tmp_create - open PATH (a tmp_name) new with FLAGS, making its slot
 * directory the first time; -1 with errno */
static int tmp_create(const char *path, int flags) {
  int fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  char *dir = g_path_get_dirname(path);
  int made = mkdir(dir, 0750) == 0 || errno == EEXIST;
  g_free(dir);
  return made ? open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0640) : -1;
}

static bool open_tmp(cursus_store_append *a, GError **error) {
  sc_partition *p = a->part;
  if (p == NULL && a->targets->len > 0) {
    target *t = a->targets->pdata[0];
    p = sc_store_partition(a->st, t->u->partition);
  }
  if (p == NULL)
    p = sc_store_partition(a->st, a->st->default_partition);
  if (p == NULL)
    p = a->st->partitions->pdata[0];
  a->part = p;
  a->tmp_path = tmp_name(p);
  a->tmp_fd = tmp_create(a->tmp_path, O_RDWR);
  if (a->tmp_fd < 0) {
    sc_errno_error(error, errno, "cannot create", a->tmp_path);
    return false;
  }
  return true;
}

static bool write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* copy_file - SRC into a new tmp file of partition P, made durable */
static char *copy_file(sc_store *st, const char *src, sc_partition *p,
                       GError **error) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    sc_errno_error(error, errno, "cannot open", src);
    return NULL;
  }
  char *dst = tmp_name(p);
  int out = tmp_create(dst, O_WRONLY);
  bool ok = out >= 0;
  char buf[65536];
  ssize_t n;
  while (ok && (n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0 && write_all(out, buf, (size_t)n);
  }
  if (ok && st->fsync && fdatasync(out) < 0)
    ok = false;
  if (!ok) {
    sc_errno_error(error, errno, "cannot copy a message to", p->path);
    unlink(dst);
    g_clear_pointer(&dst, g_free);
  }
  close(in);
  if (out >= 0)
    close(out);
  return dst;
}

/* ------------------------------------------------------------ api */

cursus_store_append *sc_op_append_begin(void *store,
                                        const cursus_store_append_params *p,
                                        const char **error_r) {
  cursus_store_append *a = g_new0(cursus_store_append, 1);
  a->st = store;
  a->tmp_fd = -1;
  a->targets = g_ptr_array_new_with_free_func((GDestroyNotify)target_free);
  a->copies = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  a->guid = ((uint64_t)g_random_int() << 32) | g_random_int();
  if (p != NULL && CURSUS_HAS(p, flags))
    a->flags = p->flags;
  if (p != NULL && p->size_hint > 0 && a->st->max_message_size > 0 &&
      p->size_hint > a->st->max_message_size) {
    sc_set_error(&a->werr, CURSUS_STORE_E_LIMIT,
                 "message larger than the store accepts (%" G_GUINT64_FORMAT
                 " bytes)",
                 a->st->max_message_size);
  }
  (void)error_r;
  return a;
}

int sc_op_append_target(cursus_store_append *a, cursus_store_user *user,
                        const cursus_store_target *t, const char **error_r) {
  GError *err = NULL;
  if (a->committed || t == NULL || t->mailbox == NULL || user == NULL) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "bad append target");
    return sc_user_fail(user, err, error_r);
  }
  target *tg = g_new0(target, 1);
  tg->u = user;
  tg->mailbox = g_strdup(t->mailbox);
  tg->flags = t->flags & CURSUS_STORE_FLAGS_SETTABLE;
  tg->keywords = t->keywords != NULL ? g_strdupv((char **)t->keywords) : NULL;
  tg->idate = t->internal_date;
  tg->tz = t->internal_tz;
  tg->options = CURSUS_HAS(t, options) ? t->options : 0;
  g_ptr_array_add(a->targets, tg);
  user->children++;
  return CURSUS_OK;
}

/* put - DATA at the end of the content: held while small, else in the
 * temporary file */
static bool put(cursus_store_append *a, const void *data, size_t len) {
  if (a->tmp_fd < 0 && a->size + len <= HOLD_MAX) {
    if (a->held == NULL)
      a->held = g_byte_array_sized_new(8192);
    g_byte_array_append(a->held, data, (guint)len);
    return true;
  }
  if (a->tmp_fd < 0 && !open_tmp(a, &a->werr))
    return false;
  if (a->held != NULL) {
    bool ok = write_all(a->tmp_fd, a->held->data, a->held->len);
    g_byte_array_free(a->held, TRUE);
    a->held = NULL;
    if (!ok)
      return false;
  }
  return write_all(a->tmp_fd, data, len);
}

int sc_op_append_write(cursus_store_append *a, const void *data, size_t len,
                       const char **error_r) {
  if (a->werr != NULL)
    return sc_user_fail(NULL, g_error_copy(a->werr), error_r);
  bool ok;
  size_t added = len;
  if (a->flags & CURSUS_STORE_APPEND_FIX_EOL) {
    GString *s = g_string_sized_new(len + len / 32 + 2);
    const char *p = data;
    for (size_t i = 0; i < len; i++) {
      if (p[i] == '\n' && !a->last_cr)
        g_string_append_c(s, '\r');
      g_string_append_c(s, p[i]);
      a->last_cr = p[i] == '\r';
    }
    added = s->len;
    ok = put(a, s->str, s->len);
    g_string_free(s, TRUE);
  } else {
    ok = put(a, data, len);
  }
  if (!ok) {
    if (a->werr == NULL)
      sc_errno_error(&a->werr, errno, "cannot write", a->tmp_path);
    return sc_user_fail(NULL, g_error_copy(a->werr), error_r);
  }
  a->size += added;
  if (a->st->max_message_size > 0 && a->size > a->st->max_message_size) {
    sc_set_error(&a->werr, CURSUS_STORE_E_LIMIT,
                 "message larger than the store accepts (%" G_GUINT64_FORMAT
                 " bytes)",
                 a->st->max_message_size);
    return sc_user_fail(NULL, g_error_copy(a->werr), error_r);
  }
  return CURSUS_OK;
}

/* parse_tmp - the cache record of the written message (uid 0) */
static GBytes *parse_tmp(cursus_store_append *a, int64_t *sent_r,
                         int16_t *sent_tz_r) {
  sc_msginfo *info;
  if (a->held != NULL) {
    info = sc_mime_parse((const char *)a->held->data, a->held->len);
  } else {
    void *map = a->size > 0 ? mmap(NULL, a->size, PROT_READ, MAP_PRIVATE,
                                   a->tmp_fd, 0)
                            : MAP_FAILED;
    info = map != MAP_FAILED ? sc_mime_parse(map, a->size)
                             : sc_mime_parse("", 0);
    if (map != MAP_FAILED)
      munmap(map, a->size);
  }
  *sent_r = info->sent_date;
  *sent_tz_r = info->sent_tz;
  sc_wbuf *b = g_byte_array_new();
  sc_msginfo_encode(info, 0, b);
  sc_msginfo_free(&info);
  return g_byte_array_free_to_bytes(b);
}

/* blob_for - BLOB with its uid field set to UID */
static GByteArray *blob_for(GBytes *blob, uint32_t uid) {
  gsize len;
  const guint8 *d = g_bytes_get_data(blob, &len);
  GByteArray *b = g_byte_array_sized_new((guint)len);
  g_byte_array_append(b, d, (guint)len);
  uint32_t le = GUINT32_TO_LE(uid);
  if (len >= 8)
    memcpy(b->data + 4, &le, 4);
  return b;
}

/* keyword_bits - the folder's bits for KEYWORDS, defining missing ones
 * when allowed (write lock held) */
static bool keyword_bits(sc_folder *f, char **keywords, bool create,
                         uint64_t kw[2], GError **error) {
  kw[0] = kw[1] = 0;
  for (char **k = keywords; k != NULL && *k != NULL; k++) {
    if (**k == '\0' || **k == '\\')
      continue;
    int idx = sc_folder_keyword(f, *k, create, error);
    if (idx >= 0)
      kw[idx / 64] |= UINT64_C(1) << (idx % 64);
    else if (error != NULL && *error != NULL)
      return false;
  }
  return true;
}

/* remember_sync - the directory UID's file is in (and the log when
 * LOG_TOO) to sync before the commit returns; *DFD, when not -1, is that
 * directory open already: taken over when the directory is new here */
static void remember_sync(GHashTable *syncs, sc_folder *f, uint32_t uid,
                          bool log_too, int *dfd) {
  char b[20];
  const char *bucket = sc_msg_bucket(uid, f->hash_threshold, b);
  char *key = g_strconcat(f->path, "/", bucket != NULL ? bucket : "", NULL);
  pending_sync *ps = g_hash_table_lookup(syncs, key);
  if (ps == NULL) {
    ps = g_new0(pending_sync, 1);
    ps->key = key;
    if (dfd != NULL && *dfd >= 0) {
      ps->fd = *dfd;
      *dfd = -1;
    } else {
      ps->fd = sc_folder_msg_dirfd(f, uid, NULL);
    }
    g_hash_table_insert(syncs, ps->key, ps);
  } else {
    g_free(key);
  }
  if (log_too && ps->f == NULL)
    ps->f = sc_folder_ref(f);
}

static void pending_sync_free(pending_sync *ps) {
  if (ps->fd >= 0)
    close(ps->fd);
  sc_folder_unref(&ps->f);
  g_free(ps->key);
  g_free(ps);
}

/* run_syncs - make every link and log durable; false on an I/O error */
static bool run_syncs(sc_store *st, GHashTable *syncs, GError **error) {
  GHashTableIter it;
  gpointer value;
  bool ok = true;
  if (!st->fsync)
    return true;
  g_hash_table_iter_init(&it, syncs);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    pending_sync *ps = value;
    if (ps->fd < 0 || fsync(ps->fd) < 0) {
      if (ok)
        sc_errno_error(error, errno, "cannot sync", ps->key);
      ok = false;
    }
    if (ps->f != NULL) {
      g_mutex_lock(&ps->f->mu);
      if (!sc_folder_sync_log(ps->f, ok ? error : NULL))
        ok = false;
      g_mutex_unlock(&ps->f->mu);
    }
  }
  return ok;
}

/* store_one - link SRC into OWNER's folder at PATH (both locks taken
 * here) as a new message; *uid_r the UID it got */
typedef struct store_req {
  cursus_store_user *u;
  const sc_loc *loc;
  const char *owner_dir;
  const char *src;
  uint64_t size;
  uint32_t flags;
  char **keywords;
  int64_t idate;
  int32_t tz;
  int64_t sent;
  int16_t sent_tz;
  uint64_t guid;
  GBytes *blob;
  bool ignore_quota;
  bool may_keywords;
} store_req;

static bool store_one(const store_req *rq, GHashTable *syncs, uint32_t *uid_r,
                      uint32_t *uidvalidity_r, GError **error) {
  sc_store *st = rq->u->st;
  sc_ulock lk;
  if (!sc_ulock_take(st, rq->loc->owner, rq->owner_dir, &lk, error))
    return false;
  if (g_str_equal(rq->loc->owner, rq->u->id))
    sc_ulock_limits(&lk, &rq->u->acct);
  if (!rq->ignore_quota && !sc_ulock_fits(&lk, rq->size, 1)) {
    if (lk.usage.over_since == 0) {
      lk.usage.over_since = g_get_real_time() / G_USEC_PER_SEC;
      sc_ulock_save(&lk);
    }
    sc_set_error(error, CURSUS_STORE_E_OVERQUOTA,
                 "Quota exceeded (mailbox of %s is full)", rq->loc->owner);
    sc_ulock_release(&lk);
    return false;
  }
  /* the owner's directory as of the lock (they may have moved) */
  char *rel = sc_folder_relpath(rq->loc->name, st->separator);
  char *path = rel == NULL ? NULL
               : *rel != '\0' ? g_build_filename(lk.dir, rel, NULL)
                              : g_strdup(lk.dir);
  g_free(rel);
  sc_folder *f = path != NULL ? sc_folder_get(st, path, error) : NULL;
  g_free(path);
  if (f == NULL) {
    sc_ulock_release(&lk);
    return false;
  }
  g_mutex_lock(&f->mu);
  bool ok = sc_folder_write_begin(f, error);
  uint32_t adopted = 0;
  uint64_t adopted_bytes = 0;
  if (ok) {
    ok = sc_folder_adopt(f, &adopted, &adopted_bytes, error);
    uint64_t kw[2];
    ok = ok && keyword_bits(f, rq->keywords, rq->may_keywords, kw, error);
    uint32_t uid = f->uidnext;
    int dfd = ok ? sc_folder_msg_dirfd(f, uid, error) : -1;
    char name[24];
    snprintf(name, sizeof(name), "%u.msg", uid);
    if (dfd >= 0 && linkat(AT_FDCWD, rq->src, dfd, name, 0) < 0) {
      sc_errno_error(error, errno, "cannot link a message into", f->path);
      ok = false;
    } else if (dfd < 0) {
      ok = false;
    }
    if (ok) {
      sc_rec r = {0};
      r.uid = uid;
      r.flags = rq->flags;
      r.kw[0] = kw[0];
      r.kw[1] = kw[1];
      r.internal_date = rq->idate != 0 ? rq->idate
                                       : g_get_real_time() / G_USEC_PER_SEC;
      r.internal_tz = (int16_t)rq->tz;
      r.save_date = g_get_real_time() / G_USEC_PER_SEC;
      r.sent_date = rq->sent;
      r.sent_tz = rq->sent_tz;
      r.size = rq->size;
      r.guid = rq->guid;
      GByteArray *b = blob_for(rq->blob, uid);
      ok = sc_folder_log_append(f, &r, b->data, b->len, error);
      g_byte_array_free(b, TRUE);
      if (!ok) {
        char *p = sc_folder_msg_path(f, uid);
        unlink(p);
        g_free(p);
      } else {
        *uid_r = uid;
        *uidvalidity_r = f->uidvalidity;
        remember_sync(syncs, f, uid, rq->flags != 0 || kw[0] || kw[1], &dfd);
      }
    }
    if (dfd >= 0)
      close(dfd);
    sc_folder_write_end(f);
  }
  g_mutex_unlock(&f->mu);
  sc_folder_unref(&f);
  if (ok || adopted > 0)
    sc_ulock_change(&lk, (int64_t)(adopted_bytes + (ok ? rq->size : 0)),
                    (int64_t)adopted + (ok ? 1 : 0));
  sc_ulock_release(&lk);
  return ok;
}

/* owner_partition - the partition OWNER's mailboxes are on */
static sc_partition *owner_partition(cursus_store_user *u, const char *owner) {
  if (g_str_equal(owner, u->id) && u->partition != NULL)
    return sc_store_partition(u->st, u->partition);
  char *part = NULL;
  char *dir = sc_store_user_dir(u->st, owner, &part, NULL);
  sc_partition *p = part != NULL ? sc_store_partition(u->st, part) : NULL;
  g_free(dir);
  g_free(part);
  return p;
}

/* source_for - the file to link on partition P (a copy when P is not
 * where the content was written) */
static const char *source_for(cursus_store_append *a, sc_partition *p,
                              GError **error) {
  if (p == NULL || p == a->part)
    return a->tmp_path;
  const char *have = g_hash_table_lookup(a->copies, p->name);
  if (have != NULL)
    return have;
  char *copy = copy_file(a->st, a->tmp_path, p, error);
  if (copy == NULL)
    return NULL;
  g_hash_table_insert(a->copies, g_strdup(p->name), copy);
  return copy;
}

/* resolve - the mailbox target T goes to, after CREATE and fallback */
static bool resolve(target *t, sc_loc *loc, sc_mbox **m_r, GError **error) {
  uint32_t need = (t->options & CURSUS_STORE_TARGET_POST)
                      ? CURSUS_STORE_RIGHT_POST
                      : CURSUS_STORE_RIGHT_INSERT;
  GError *err = NULL;
  if (sc_lookup_mbox(t->u, t->mailbox, need, loc, m_r, &err) &&
      !((*m_r)->flags & SC_MBOX_NOSELECT))
    return true;
  if (err == NULL) {
    sc_set_error(&err, CURSUS_STORE_E_NOTFOUND, "Mailbox isn't selectable");
    sc_mbox_free(*m_r);
    sc_loc_clear(loc);
  }
  if (err->code == CURSUS_STORE_E_NOTFOUND &&
      (t->options & CURSUS_STORE_TARGET_CREATE)) {
    sc_loc nl;
    GError *cerr = NULL;
    if (sc_name_resolve(t->u, t->mailbox, &nl, &cerr) &&
        sc_mailbox_create_loc(t->u, &nl, 0, &cerr) &&
        sc_lookup_mbox(t->u, t->mailbox, need, loc, m_r, &cerr)) {
      sc_loc_clear(&nl);
      g_error_free(err);
      return true;
    }
    sc_loc_clear(&nl);
    g_clear_error(&cerr);
  }
  if ((err->code == CURSUS_STORE_E_NOTFOUND ||
       err->code == CURSUS_STORE_E_NOPERM) &&
      (t->options & CURSUS_STORE_TARGET_FALLBACK_INBOX) &&
      g_ascii_strcasecmp(t->mailbox, "INBOX") != 0) {
    g_clear_error(&err);
    return sc_lookup_mbox(t->u, "INBOX", 0, loc, m_r, error);
  }
  g_propagate_error(error, err);
  return false;
}

static void commit_target(cursus_store_append *a, target *t, GBytes *blob,
                          int64_t sent, int16_t sent_tz, GHashTable *syncs) {
  GError *err = NULL;
  sc_loc loc = {0};
  sc_mbox *m = NULL;
  char *path = NULL;
  if (!resolve(t, &loc, &m, &err))
    goto done;
  uint32_t rights = sc_rights(t->u, m);
  const char *owner_dir = sc_owner_dir(t->u, loc.owner, false, &err);
  path = owner_dir != NULL ? sc_folder_dir(t->u, loc.owner, loc.name, &err)
                           : NULL;
  sc_partition *p = path != NULL ? owner_partition(t->u, loc.owner) : NULL;
  const char *src = path != NULL ? source_for(a, p, &err) : NULL;
  if (src == NULL)
    goto done;
  /* flags the user may not set are dropped (RFC 4314) */
  uint32_t flags = t->flags;
  bool owner = g_str_equal(loc.owner, t->u->id);
  if (!(rights & CURSUS_STORE_RIGHT_SEEN) || !owner)
    flags &= ~CURSUS_STORE_SEEN;
  if (!(rights & CURSUS_STORE_RIGHT_WRITE))
    flags &= ~(CURSUS_STORE_ANSWERED | CURSUS_STORE_FLAGGED |
               CURSUS_STORE_DRAFT);
  if (!(rights & CURSUS_STORE_RIGHT_DELETE_MSG))
    flags &= ~CURSUS_STORE_DELETED;
  store_req rq = {
      .u = t->u,
      .loc = &loc,
      .owner_dir = owner_dir,
      .src = src,
      .size = a->size,
      .flags = flags,
      .keywords = (rights & CURSUS_STORE_RIGHT_WRITE) ? t->keywords : NULL,
      .idate = t->idate,
      .tz = t->tz,
      .sent = sent,
      .sent_tz = sent_tz,
      .guid = a->guid,
      .blob = blob,
      .ignore_quota = (t->options & CURSUS_STORE_TARGET_IGNORE_QUOTA) != 0,
      .may_keywords = (rights & CURSUS_STORE_RIGHT_WRITE) != 0,
  };
  if (store_one(&rq, syncs, &t->uid, &t->uidvalidity, &err))
    t->where = g_strdup(loc.full);
done:
  if (err != NULL) {
    t->error = (cursus_store_error)err->code;
    t->status = sc_status_of(t->error);
    t->text = g_strdup(err->message);
    g_error_free(err);
  } else {
    t->status = CURSUS_OK;
    t->text = g_strdup("stored");
  }
  g_free(path);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
}

int sc_op_append_commit(cursus_store_append *a,
                        cursus_store_append_result *results,
                        const char **error_r) {
  GError *err = NULL;
  if (a->committed) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "append already committed");
    return sc_user_fail(NULL, err, error_r);
  }
  a->committed = true;
  /* the content held in memory (or an empty message) gets its file */
  if (a->werr == NULL && a->tmp_fd < 0 && open_tmp(a, &a->werr) &&
      a->held != NULL && !write_all(a->tmp_fd, a->held->data, a->held->len))
    sc_errno_error(&a->werr, errno, "cannot write", a->tmp_path);
  if (a->werr == NULL && a->st->fsync && fdatasync(a->tmp_fd) < 0)
    sc_errno_error(&a->werr, errno, "cannot sync", a->tmp_path);
  if (a->werr != NULL) {
    for (guint i = 0; i < a->targets->len; i++) {
      target *t = a->targets->pdata[i];
      t->error = (cursus_store_error)a->werr->code;
      t->status = sc_status_of(t->error);
      t->text = g_strdup(a->werr->message);
    }
  } else {
    int64_t sent;
    int16_t sent_tz;
    GBytes *blob = parse_tmp(a, &sent, &sent_tz);
    GHashTable *syncs = g_hash_table_new_full(
        g_str_hash, g_str_equal, NULL, (GDestroyNotify)pending_sync_free);
    for (guint i = 0; i < a->targets->len; i++)
      commit_target(a, a->targets->pdata[i], blob, sent, sent_tz, syncs);
    GError *serr = NULL;
    if (!run_syncs(a->st, syncs, &serr)) {
      /* stored, but not provably durable: let the sender try again */
      for (guint i = 0; i < a->targets->len; i++) {
        target *t = a->targets->pdata[i];
        if (t->status == CURSUS_OK) {
          t->status = CURSUS_TEMPFAIL;
          t->error = CURSUS_STORE_E_TEMP;
          g_free(t->text);
          t->text = g_strdup(serr->message);
        }
      }
      g_error_free(serr);
    }
    g_hash_table_destroy(syncs);
    g_bytes_unref(blob);
  }
  int worst = CURSUS_OK;
  for (guint i = 0; i < a->targets->len; i++) {
    target *t = a->targets->pdata[i];
    cursus_store_append_result *r = &results[i];
    if (CURSUS_HAS(r, status))
      r->status = t->status;
    if (CURSUS_HAS(r, error))
      r->error = t->error;
    if (CURSUS_HAS(r, text))
      r->text = t->text;
    if (CURSUS_HAS(r, uidvalidity)) {
      r->uid = t->uid;
      r->uidvalidity = t->uidvalidity;
    }
    if (CURSUS_HAS(r, mailbox))
      r->mailbox = t->where != NULL ? t->where : t->mailbox;
    if (t->status != CURSUS_OK) {
      t->u->last_error = t->error;
      if (worst == CURSUS_OK || t->status == CURSUS_TEMPFAIL)
        worst = t->status;
    }
  }
  if (worst != CURSUS_OK && error_r != NULL) {
    for (guint i = 0; i < a->targets->len; i++) {
      target *t = a->targets->pdata[i];
      if (t->status != CURSUS_OK) {
        *error_r = t->text;
        break;
      }
    }
  }
  return worst;
}

void sc_op_append_free(cursus_store_append **ap) {
  cursus_store_append *a = *ap;
  if (a == NULL)
    return;
  *ap = NULL;
  for (guint i = 0; i < a->targets->len; i++)
    ((target *)a->targets->pdata[i])->u->children--;
  if (a->tmp_fd >= 0)
    close(a->tmp_fd);
  if (a->tmp_path != NULL)
    unlink(a->tmp_path);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, a->copies);
  while (g_hash_table_iter_next(&it, NULL, &value))
    unlink(value);
  g_hash_table_destroy(a->copies);
  g_ptr_array_free(a->targets, TRUE);
  if (a->held != NULL)
    g_byte_array_free(a->held, TRUE);
  g_free(a->tmp_path);
  if (a->werr != NULL)
    g_error_free(a->werr);
  g_free(a);
}

/* ------------------------------------------------------------ copy */

bool sc_copy_into(cursus_store_user *u, const char *dest_full,
                  GPtrArray *items, uint32_t *uidvalidity_r, GError **error) {
  sc_store *st = u->st;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, dest_full, CURSUS_STORE_RIGHT_INSERT, &loc, &m,
                      error))
    return false;
  bool ok = false;
  char *path = NULL;
  GHashTable *syncs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify)pending_sync_free);
  GPtrArray *copies = g_ptr_array_new_with_free_func(g_free);
  if (m->flags & SC_MBOX_NOSELECT) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "Mailbox isn't selectable");
    goto out;
  }
  uint32_t rights = sc_rights(u, m);
  const char *owner_dir = sc_owner_dir(u, loc.owner, false, error);
  path = owner_dir != NULL ? sc_folder_dir(u, loc.owner, loc.name, error)
                           : NULL;
  sc_partition *part = path != NULL ? owner_partition(u, loc.owner) : NULL;
  if (part == NULL) {
    if (error != NULL && *error == NULL)
      sc_set_error(error, CURSUS_STORE_E_TEMP, "partition not available");
    goto out;
  }
  uint64_t total = 0;
  for (guint i = 0; i < items->len; i++)
    total += ((sc_copy_item *)items->pdata[i])->rec.size;
  sc_ulock lk;
  if (!sc_ulock_take(st, loc.owner, owner_dir, &lk, error))
    goto out;
  if (g_str_equal(loc.owner, u->id))
    sc_ulock_limits(&lk, &u->acct);
  if (!sc_ulock_fits(&lk, total, items->len)) {
    sc_set_error(error, CURSUS_STORE_E_OVERQUOTA, "Quota exceeded");
    sc_ulock_release(&lk);
    goto out;
  }
  if (!g_str_equal(lk.dir, owner_dir)) {
    g_free(path);
    char *rel = sc_folder_relpath(loc.name, st->separator);
    path = *rel != '\0' ? g_build_filename(lk.dir, rel, NULL)
                        : g_strdup(lk.dir);
    g_free(rel);
  }
  sc_folder *f = sc_folder_get(st, path, error);
  if (f == NULL) {
    sc_ulock_release(&lk);
    goto out;
  }
  g_mutex_lock(&f->mu);
  uint32_t adopted = 0;
  uint64_t adopted_bytes = 0;
  ok = sc_folder_write_begin(f, error);
  if (ok) {
    ok = sc_folder_adopt(f, &adopted, &adopted_bytes, error);
    guint done = 0;
    for (; ok && done < items->len; done++) {
      sc_copy_item *it = items->pdata[done];
      const char *src = it->src_path;
      if (it->src_partition == NULL ||
          !g_str_equal(it->src_partition, part->name)) {
        char *c = copy_file(st, it->src_path, part, error);
        if (c == NULL) {
          ok = false;
          break;
        }
        g_ptr_array_add(copies, c);
        src = c;
      }
      uint64_t kw[2];
      g_ptr_array_add(it->keywords, NULL);
      ok = keyword_bits(f, (char **)it->keywords->pdata,
                        (rights & CURSUS_STORE_RIGHT_WRITE) != 0, kw, error);
      g_ptr_array_remove_index(it->keywords, it->keywords->len - 1);
      if (!ok)
        break;
      uint32_t uid = f->uidnext;
      int dfd = sc_folder_msg_dirfd(f, uid, error);
      char name[24];
      snprintf(name, sizeof(name), "%u.msg", uid);
      if (dfd < 0 || linkat(AT_FDCWD, src, dfd, name, 0) < 0) {
        if (dfd >= 0)
          sc_errno_error(error, errno, "cannot link a message into", f->path);
        if (dfd >= 0)
          close(dfd);
        ok = false;
        break;
      }
      close(dfd);
      sc_rec r = it->rec;
      r.uid = uid;
      r.kw[0] = kw[0];
      r.kw[1] = kw[1];
      r.save_date = g_get_real_time() / G_USEC_PER_SEC;
      if (!(rights & CURSUS_STORE_RIGHT_SEEN) || !g_str_equal(loc.owner, u->id))
        r.flags &= ~CURSUS_STORE_SEEN;
      if (!(rights & CURSUS_STORE_RIGHT_WRITE))
        r.flags &= ~(CURSUS_STORE_ANSWERED | CURSUS_STORE_FLAGGED |
                     CURSUS_STORE_DRAFT);
      if (!(rights & CURSUS_STORE_RIGHT_DELETE_MSG))
        r.flags &= ~CURSUS_STORE_DELETED;
      GByteArray *b = blob_for(it->blob, uid);
      ok = sc_folder_log_append(f, &r, b->data, b->len, error);
      g_byte_array_free(b, TRUE);
      if (!ok) {
        char *p = sc_folder_msg_path(f, uid);
        unlink(p);
        g_free(p);
        break;
      }
      it->new_uid = uid;
      remember_sync(syncs, f, uid, true, NULL);
    }
    if (!ok) {
      /* all or nothing: take back what went in */
      for (guint i = 0; i < done; i++) {
        sc_copy_item *it = items->pdata[i];
        if (it->new_uid == 0)
          continue;
        char *p = sc_folder_msg_path(f, it->new_uid);
        sc_folder_log_expunge(f, it->new_uid, NULL);
        unlink(p);
        g_free(p);
        it->new_uid = 0;
      }
    } else {
      *uidvalidity_r = f->uidvalidity;
    }
    sc_folder_write_end(f);
  }
  g_mutex_unlock(&f->mu);
  sc_folder_unref(&f);
  if (ok && !run_syncs(st, syncs, error))
    ok = false;
  if (ok || adopted > 0)
    sc_ulock_change(&lk, (int64_t)(adopted_bytes + (ok ? total : 0)),
                    (int64_t)adopted + (ok ? (int64_t)items->len : 0));
  sc_ulock_release(&lk);
out:
  for (guint i = 0; i < copies->len; i++)
    if (copies->pdata[i] != NULL)
      unlink(copies->pdata[i]);
  g_ptr_array_free(copies, TRUE);
  g_hash_table_destroy(syncs);
  g_free(path);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  return ok;
}
