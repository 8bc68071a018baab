/*
 * mboxlist.c - the system area database and ACL text
 *
 * Readers take a shared flock and see the latest commit; writers an
 * exclusive one.  Every change moves the generation, a counter in the
 * first 8 bytes of the lock file: once when a writer takes the lock (so
 * that a writer killed before it finished still leaves a new number) and
 * once more when it is done.  Single-key lookups are remembered for the
 * generation they were read in: while the number has not moved, nobody
 * has changed the list, and a lookup costs a pread of the counter
 * instead of two flocks and a B+ tree search (a delivery makes three).
 */
#include "mboxlist.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <tcbdb.h>
#include <unistd.h>

#define MBOX_MAGIC 0x314d4353u /* "SCM1" */
#define USER_MAGIC 0x31554353u /* "SCU1" */
#define VERSION_MAGIC 0x31564353u /* "SCV1" */

struct sc_mboxlist {
  char *dir;
  char *path;
  int lock_fd;
  unsigned timeout_ms;
  char sep;
  GMutex mu;
  TCBDB *reader;
  uint64_t reader_gen;
  GMutex memo_mu;     /* guards memo and memo_gen                      */
  GHashTable *memo;   /* key (GBytes) -> value (GBytes; empty: absent) */
  uint64_t memo_gen;  /* the generation memo was read in               */
};

/* Lookups remembered before the memo starts over. */
#define MEMO_MAX 4096

struct sc_mltx {
  sc_mboxlist *ml;
  TCBDB *db;
};

/* ------------------------------------------------------------ records */

void sc_mbox_free(sc_mbox *m) {
  if (m == NULL)
    return;
  g_free(m->owner);
  g_free(m->name);
  g_free(m->mailbox_id);
  g_free(m->acl);
  g_free(m);
}

sc_mbox *sc_mbox_copy(const sc_mbox *m) {
  sc_mbox *c = g_new0(sc_mbox, 1);
  *c = *m;
  c->owner = g_strdup(m->owner);
  c->name = g_strdup(m->name);
  c->mailbox_id = g_strdup(m->mailbox_id);
  c->acl = g_strdup(m->acl);
  return c;
}

void sc_userrec_free(sc_userrec *u) {
  if (u == NULL)
    return;
  g_free(u->user);
  g_free(u->partition);
  g_free(u);
}

static GByteArray *key2(char kind, const char *a, const char *b) {
  GByteArray *k = g_byte_array_new();
  g_byte_array_append(k, (const guint8 *)&kind, 1);
  g_byte_array_append(k, (const guint8 *)a, (guint)strlen(a));
  if (b != NULL) {
    g_byte_array_append(k, (const guint8 *)"", 1);
    g_byte_array_append(k, (const guint8 *)b, (guint)strlen(b));
  }
  return k;
}

static void mbox_encode(const sc_mbox *m, sc_wbuf *b) {
  sc_put_u32(b, MBOX_MAGIC);
  sc_put_u32(b, m->uidvalidity);
  sc_put_str(b, m->mailbox_id, m->mailbox_id ? strlen(m->mailbox_id) : 0);
  sc_put_u32(b, m->special_use);
  sc_put_str(b, m->acl, m->acl ? strlen(m->acl) : 0);
  sc_put_u32(b, m->flags);
  sc_put_u64(b, (uint64_t)m->created);
}

/* mbox_decode - a record from key F<owner>\0<name> and its value */
static sc_mbox *mbox_decode(const char *key, int ksz, const void *v, int vsz) {
  const char *nul = memchr(key + 1, '\0', (size_t)ksz - 1);
  sc_rbuf rb;
  if (nul == NULL)
    return NULL;
  sc_rbuf_init(&rb, v, (size_t)vsz);
  if (sc_get_u32(&rb) != MBOX_MAGIC)
    return NULL;
  sc_mbox *m = g_new0(sc_mbox, 1);
  m->owner = g_strndup(key + 1, (gsize)(nul - key - 1));
  m->name = g_strndup(nul + 1, (gsize)(key + ksz - nul - 1));
  m->uidvalidity = sc_get_u32(&rb);
  m->mailbox_id = sc_get_strdup(&rb);
  m->special_use = sc_get_u32(&rb);
  m->acl = sc_get_strdup(&rb);
  m->flags = sc_get_u32(&rb);
  m->created = (int64_t)sc_get_u64(&rb);
  if (rb.bad) {
    sc_mbox_free(m);
    return NULL;
  }
  if (m->acl == NULL)
    m->acl = g_strdup("");
  return m;
}

static sc_userrec *user_decode(const char *user, const void *v, int vsz) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, v, (size_t)vsz);
  if (sc_get_u32(&rb) != USER_MAGIC)
    return NULL;
  sc_userrec *u = g_new0(sc_userrec, 1);
  u->user = g_strdup(user);
  u->partition = sc_get_strdup(&rb);
  u->created = (int64_t)sc_get_u64(&rb);
  if (rb.bad || u->partition == NULL) {
    sc_userrec_free(u);
    return NULL;
  }
  return u;
}

/* ------------------------------------------------------------ open */

static uint64_t read_gen(sc_mboxlist *ml) {
  uint64_t g = 0;
  if (pread(ml->lock_fd, &g, 8, 0) != 8)
    return 0;
  return g;
}

/* bump_gen - a new generation: readers in every process see the list
 * changed (called with the exclusive lock) */
static void bump_gen(sc_mboxlist *ml) {
  uint64_t gen = read_gen(ml) + 1;
  if (pwrite(ml->lock_fd, &gen, 8, 0) != 8)
    sc_log(CURSUS_LOG_WARNING, "%s: cannot record the generation: %s",
           ml->path, g_strerror(errno));
}

static TCBDB *bdb_open(const char *path, int mode, GError **error) {
  if (!sc_tc_sane(path, error))
    return NULL;
  TCBDB *db = tcbdbnew();
  tcbdbsetxmsiz(db, 0);
  if (mode & BDBOCREAT)
    tcbdbtune(db, 128, 256, 32749, 8, 10, BDBTLARGE);
  if (!tcbdbopen(db, path, mode | BDBONOLCK)) {
    sc_set_error(error, CURSUS_STORE_E_CORRUPT, "cannot open %s: %s", path,
                 tcbdberrmsg(tcbdbecode(db)));
    tcbdbdel(db);
    return NULL;
  }
  return db;
}

static void close_reader(sc_mboxlist *ml) {
  if (ml->reader != NULL) {
    tcbdbclose(ml->reader);
    tcbdbdel(ml->reader);
    ml->reader = NULL;
  }
}

sc_mboxlist *sc_mboxlist_open(const char *dir, char sep, unsigned timeout_ms,
                              GError **error) {
  if (g_mkdir_with_parents(dir, 0750) < 0) {
    sc_errno_error(error, errno, "cannot create", dir);
    return NULL;
  }
  sc_mboxlist *ml = g_new0(sc_mboxlist, 1);
  ml->dir = g_strdup(dir);
  ml->path = g_build_filename(dir, "folders.tcb", NULL);
  ml->sep = sep;
  ml->timeout_ms = timeout_ms;
  g_mutex_init(&ml->mu);
  g_mutex_init(&ml->memo_mu);
  ml->memo = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                   (GDestroyNotify)g_bytes_unref,
                                   (GDestroyNotify)g_bytes_unref);
  char *lock = g_build_filename(dir, "lock", NULL);
  ml->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (ml->lock_fd < 0) {
    sc_errno_error(error, errno, "cannot open", lock);
    g_free(lock);
    sc_mboxlist_close(&ml);
    return NULL;
  }
  g_free(lock);
  /* create the database and check its separator */
  sc_mltx *tx = sc_mboxlist_begin(ml, error);
  if (tx == NULL) {
    sc_mboxlist_close(&ml);
    return NULL;
  }
  int vsz;
  void *v = tcbdbget(tx->db, "V", 1, &vsz);
  sc_rbuf rb;
  sc_rbuf_init(&rb, v, v != NULL ? (size_t)vsz : 0);
  if (v == NULL) {
    sc_wbuf *b = g_byte_array_new();
    sc_put_u32(b, VERSION_MAGIC);
    sc_put_u32(b, 1);
    sc_put_u8(b, (uint8_t)sep);
    sc_put_u32(b, (uint32_t)(g_get_real_time() / G_USEC_PER_SEC));
    tcbdbput(tx->db, "V", 1, b->data, (int)b->len);
    g_byte_array_free(b, TRUE);
  } else if (sc_get_u32(&rb) != VERSION_MAGIC || sc_get_u32(&rb) != 1) {
    sc_set_error(error, CURSUS_STORE_E_CORRUPT,
                 "%s: not a mailbox list of this version", ml->path);
  } else if ((char)sc_get_u8(&rb) != sep) {
    sc_set_error(error, CURSUS_STORE_E_INVALID,
                 "the store was created with hierarchy separator '%c'; "
                 "[module store_cursus] separator cannot change",
                 (char)((uint8_t *)v)[8]);
  }
  free(v);
  if (error != NULL && *error != NULL) {
    sc_mboxlist_abort(&tx);
    sc_mboxlist_close(&ml);
    return NULL;
  }
  if (!sc_mboxlist_commit(&tx, error)) {
    sc_mboxlist_close(&ml);
    return NULL;
  }
  return ml;
}

void sc_mboxlist_close(sc_mboxlist **mlp) {
  sc_mboxlist *ml = *mlp;
  if (ml == NULL)
    return;
  *mlp = NULL;
  close_reader(ml);
  if (ml->lock_fd >= 0)
    close(ml->lock_fd);
  g_mutex_clear(&ml->mu);
  g_mutex_clear(&ml->memo_mu);
  g_hash_table_destroy(ml->memo);
  g_free(ml->dir);
  g_free(ml->path);
  g_free(ml);
}

const char *sc_mboxlist_path(sc_mboxlist *ml) { return ml->path; }

/* ------------------------------------------------------------ reading */

/* read_begin - shared lock and a reader that sees the latest commit */
static TCBDB *read_begin(sc_mboxlist *ml, GError **error) {
  g_mutex_lock(&ml->mu);
  if (!sc_flock(ml->lock_fd, LOCK_SH, ml->timeout_ms)) {
    sc_errno_error(error, errno, "cannot lock", ml->path);
    g_mutex_unlock(&ml->mu);
    return NULL;
  }
  uint64_t gen = read_gen(ml);
  if (ml->reader == NULL || gen != ml->reader_gen) {
    close_reader(ml);
    ml->reader = bdb_open(ml->path, BDBOREADER, error);
    ml->reader_gen = gen;
    if (ml->reader == NULL) {
      flock(ml->lock_fd, LOCK_UN);
      g_mutex_unlock(&ml->mu);
      return NULL;
    }
  }
  return ml->reader;
}

static void read_end(sc_mboxlist *ml) {
  flock(ml->lock_fd, LOCK_UN);
  g_mutex_unlock(&ml->mu);
}

/* value_copy - V (VSZ bytes) as the caller's malloc'd copy */
static void *value_copy(const void *v, size_t vsz) {
  void *c = malloc(vsz + 1);
  if (c != NULL) {
    memcpy(c, v, vsz);
    ((char *)c)[vsz] = '\0';
  }
  return c;
}

/* get - the value of key K (malloc'd, for free()) or NULL when absent;
 * from the memo while the generation has not moved.  False on an error */
static bool get(sc_mboxlist *ml, const GByteArray *k, void **v_r, int *vsz_r,
                GError **error) {
  GBytes *key = g_bytes_new(k->data, k->len);
  uint64_t now = read_gen(ml);
  g_mutex_lock(&ml->memo_mu);
  GBytes *hit = now != 0 && now == ml->memo_gen
                    ? g_hash_table_lookup(ml->memo, key)
                    : NULL;
  if (hit != NULL) {
    gsize n;
    const void *d = g_bytes_get_data(hit, &n);
    *v_r = n > 0 ? value_copy(d, n - 1) : NULL;
    *vsz_r = n > 0 ? (int)n - 1 : 0;
    g_mutex_unlock(&ml->memo_mu);
    g_bytes_unref(key);
    return true;
  }
  g_mutex_unlock(&ml->memo_mu);
  TCBDB *db = read_begin(ml, error);
  if (db == NULL) {
    g_bytes_unref(key);
    return false;
  }
  *v_r = tcbdbget(db, k->data, (int)k->len, vsz_r);
  uint64_t gen = ml->reader_gen;
  read_end(ml);
  /* a value is kept with one byte more, so that absent is empty */
  GBytes *val = *v_r != NULL ? g_bytes_new(*v_r, (gsize)*vsz_r + 1)
                             : g_bytes_new(NULL, 0);
  g_mutex_lock(&ml->memo_mu);
  if (gen != ml->memo_gen || g_hash_table_size(ml->memo) >= MEMO_MAX) {
    g_hash_table_remove_all(ml->memo);
    ml->memo_gen = gen;
  }
  if (gen != 0)
    g_hash_table_replace(ml->memo, key, val);
  else {
    g_bytes_unref(key);
    g_bytes_unref(val);
  }
  g_mutex_unlock(&ml->memo_mu);
  return true;
}

/* scan - call CB for every key starting with PREFIX */
static void scan(TCBDB *db, const void *prefix, int plen,
                 void (*cb)(void *data, const char *k, int ksz, const void *v,
                            int vsz),
                 void *data) {
  BDBCUR *cur = tcbdbcurnew(db);
  if (tcbdbcurjump(cur, prefix, plen)) {
    for (;;) {
      int ksz, vsz;
      const char *k = tcbdbcurkey3(cur, &ksz);
      if (k == NULL || ksz < plen || memcmp(k, prefix, (size_t)plen) != 0)
        break;
      const void *v = tcbdbcurval3(cur, &vsz);
      cb(data, k, ksz, v, vsz);
      if (!tcbdbcurnext(cur))
        break;
    }
  }
  tcbdbcurdel(cur);
}

int sc_mboxlist_user(sc_mboxlist *ml, const char *user, sc_userrec **rec_r,
                     GError **error) {
  GByteArray *k = key2('U', user, NULL);
  int vsz;
  void *v;
  bool ok = get(ml, k, &v, &vsz, error);
  g_byte_array_free(k, TRUE);
  if (!ok)
    return CURSUS_TEMPFAIL;
  *rec_r = v != NULL ? user_decode(user, v, vsz) : NULL;
  free(v);
  return *rec_r != NULL ? CURSUS_OK : CURSUS_NONE;
}

int sc_mboxlist_get(sc_mboxlist *ml, const char *owner, const char *name,
                    sc_mbox **m_r, GError **error) {
  GByteArray *k = key2('F', owner, name);
  int vsz;
  void *v;
  if (!get(ml, k, &v, &vsz, error)) {
    g_byte_array_free(k, TRUE);
    return CURSUS_TEMPFAIL;
  }
  *m_r = v != NULL ? mbox_decode((char *)k->data, (int)k->len, v, vsz) : NULL;
  free(v);
  g_byte_array_free(k, TRUE);
  return *m_r != NULL ? CURSUS_OK : CURSUS_NONE;
}

static void collect_mbox(void *data, const char *k, int ksz, const void *v,
                         int vsz) {
  sc_mbox *m = mbox_decode(k, ksz, v, vsz);
  if (m != NULL)
    g_ptr_array_add(data, m);
}

bool sc_mboxlist_folders(sc_mboxlist *ml, const char *owner, GPtrArray *out,
                         GError **error) {
  TCBDB *db = read_begin(ml, error);
  if (db == NULL)
    return false;
  GByteArray *k = key2('F', owner, "");
  scan(db, k->data, (int)k->len, collect_mbox, out);
  read_end(ml);
  g_byte_array_free(k, TRUE);
  return true;
}

bool sc_mboxlist_all(sc_mboxlist *ml, GPtrArray *out, GError **error) {
  TCBDB *db = read_begin(ml, error);
  if (db == NULL)
    return false;
  scan(db, "F", 1, collect_mbox, out);
  read_end(ml);
  return true;
}

struct granted_ctx {
  TCBDB *db;
  GPtrArray *out;
};

static void collect_granted(void *data, const char *k, int ksz, const void *v,
                            int vsz) {
  struct granted_ctx *g = data;
  const char *p = memchr(k, '\0', (size_t)ksz);
  if (p == NULL)
    return;
  /* A<id>\0<owner>\0<name> -> F<owner>\0<name> */
  GByteArray *fk = g_byte_array_new();
  g_byte_array_append(fk, (const guint8 *)"F", 1);
  g_byte_array_append(fk, (const guint8 *)p + 1, (guint)(k + ksz - p - 1));
  int fsz;
  void *fv = tcbdbget(g->db, fk->data, (int)fk->len, &fsz);
  if (fv != NULL) {
    sc_mbox *m = mbox_decode((char *)fk->data, (int)fk->len, fv, fsz);
    if (m != NULL)
      g_ptr_array_add(g->out, m);
  }
  free(fv);
  g_byte_array_free(fk, TRUE);
}

bool sc_mboxlist_granted(sc_mboxlist *ml, const char *identifier,
                         GPtrArray *out, GError **error) {
  TCBDB *db = read_begin(ml, error);
  if (db == NULL)
    return false;
  struct granted_ctx g = {db, out};
  GByteArray *k = key2('A', identifier, "");
  scan(db, k->data, (int)k->len, collect_granted, &g);
  read_end(ml);
  g_byte_array_free(k, TRUE);
  return true;
}

static void collect_sub(void *data, const char *k, int ksz, const void *v,
                        int vsz) {
  const char *p = memchr(k, '\0', (size_t)ksz);
  if (p != NULL)
    g_ptr_array_add(data, g_strndup(p + 1, (gsize)(k + ksz - p - 1)));
}

bool sc_mboxlist_subscriptions(sc_mboxlist *ml, const char *user,
                               GPtrArray *out, GError **error) {
  TCBDB *db = read_begin(ml, error);
  if (db == NULL)
    return false;
  GByteArray *k = key2('S', user, "");
  scan(db, k->data, (int)k->len, collect_sub, out);
  read_end(ml);
  g_byte_array_free(k, TRUE);
  return true;
}

static void collect_user(void *data, const char *k, int ksz, const void *v,
                         int vsz) {
  char *user = g_strndup(k + 1, (gsize)ksz - 1);
  sc_userrec *u = user_decode(user, v, vsz);
  if (u != NULL)
    g_ptr_array_add(data, u);
  g_free(user);
}

bool sc_mboxlist_users(sc_mboxlist *ml, GPtrArray *out, GError **error) {
  TCBDB *db = read_begin(ml, error);
  if (db == NULL)
    return false;
  scan(db, "U", 1, collect_user, out);
  read_end(ml);
  return true;
}

char *sc_mboxlist_intent(sc_mboxlist *ml, const char *user, GError **error) {
  GByteArray *k = key2('P', user, NULL);
  int vsz;
  void *v;
  bool ok = get(ml, k, &v, &vsz, error);
  g_byte_array_free(k, TRUE);
  if (!ok)
    return NULL;
  char *r = v != NULL ? g_strndup(v, (gsize)vsz) : NULL;
  free(v);
  return r;
}

/* ------------------------------------------------------------ writing */

sc_mltx *sc_mboxlist_begin(sc_mboxlist *ml, GError **error) {
  /* threads share the lock descriptor, so they take turns here first */
  g_mutex_lock(&ml->mu);
  if (!sc_flock(ml->lock_fd, LOCK_EX, ml->timeout_ms)) {
    sc_errno_error(error, errno, "cannot lock", ml->path);
    g_mutex_unlock(&ml->mu);
    return NULL;
  }
  bump_gen(ml);
  /* Tokyo Cabinet opens a file once per process: the reader goes */
  close_reader(ml);
  TCBDB *db = bdb_open(ml->path, BDBOWRITER | BDBOCREAT, error);
  if (db == NULL) {
    flock(ml->lock_fd, LOCK_UN);
    g_mutex_unlock(&ml->mu);
    return NULL;
  }
  tcbdbtranbegin(db);
  sc_mltx *tx = g_new0(sc_mltx, 1);
  tx->ml = ml;
  tx->db = db;
  return tx;
}

static void tx_end(sc_mltx *tx) {
  tcbdbclose(tx->db);
  tcbdbdel(tx->db);
  bump_gen(tx->ml);
  flock(tx->ml->lock_fd, LOCK_UN);
  g_mutex_unlock(&tx->ml->mu);
  g_free(tx);
}

bool sc_mboxlist_commit(sc_mltx **txp, GError **error) {
  sc_mltx *tx = *txp;
  *txp = NULL;
  bool ok = tcbdbtrancommit(tx->db);
  if (!ok) {
    sc_set_error(error, CURSUS_STORE_E_TEMP, "%s: %s", tx->ml->path,
                 tcbdberrmsg(tcbdbecode(tx->db)));
    tcbdbtranabort(tx->db);
  }
  tx_end(tx);
  return ok;
}

void sc_mboxlist_abort(sc_mltx **txp) {
  sc_mltx *tx = *txp;
  if (tx == NULL)
    return;
  *txp = NULL;
  tcbdbtranabort(tx->db);
  tx_end(tx);
}

bool sc_mboxlist_exclusive(sc_mboxlist *ml, GError **error) {
  g_mutex_lock(&ml->mu);
  if (!sc_flock(ml->lock_fd, LOCK_EX, ml->timeout_ms)) {
    sc_errno_error(error, errno, "cannot lock", ml->path);
    g_mutex_unlock(&ml->mu);
    return false;
  }
  bump_gen(ml);
  close_reader(ml);
  return true;
}

void sc_mboxlist_release(sc_mboxlist *ml, bool changed) {
  if (changed)
    bump_gen(ml);
  flock(ml->lock_fd, LOCK_UN);
  g_mutex_unlock(&ml->mu);
}

uint32_t sc_mltx_uidvalidity(sc_mltx *tx) {
  int vsz;
  void *v = tcbdbget(tx->db, "V", 1, &vsz);
  if (v == NULL || vsz < 13) {
    free(v);
    return (uint32_t)(g_get_real_time() / G_USEC_PER_SEC);
  }
  uint32_t next;
  memcpy(&next, (uint8_t *)v + 9, 4);
  next = GUINT32_FROM_LE(next);
  uint32_t now = (uint32_t)(g_get_real_time() / G_USEC_PER_SEC);
  uint32_t uv = MAX(next, now);
  if (uv == 0)
    uv = 1;
  uint32_t le = GUINT32_TO_LE(uv + 1);
  memcpy((uint8_t *)v + 9, &le, 4);
  tcbdbput(tx->db, "V", 1, v, vsz);
  free(v);
  return uv;
}

int sc_mltx_get(sc_mltx *tx, const char *owner, const char *name,
                sc_mbox **m_r) {
  GByteArray *k = key2('F', owner, name);
  int vsz;
  void *v = tcbdbget(tx->db, k->data, (int)k->len, &vsz);
  *m_r = v != NULL ? mbox_decode((char *)k->data, (int)k->len, v, vsz) : NULL;
  free(v);
  g_byte_array_free(k, TRUE);
  return *m_r != NULL ? CURSUS_OK : CURSUS_NONE;
}

int sc_mltx_user(sc_mltx *tx, const char *user, sc_userrec **rec_r) {
  GByteArray *k = key2('U', user, NULL);
  int vsz;
  void *v = tcbdbget(tx->db, k->data, (int)k->len, &vsz);
  *rec_r = v != NULL ? user_decode(user, v, vsz) : NULL;
  free(v);
  g_byte_array_free(k, TRUE);
  return *rec_r != NULL ? CURSUS_OK : CURSUS_NONE;
}

void sc_mltx_put_user(sc_mltx *tx, const sc_userrec *u) {
  GByteArray *k = key2('U', u->user, NULL);
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, USER_MAGIC);
  sc_put_str(b, u->partition, strlen(u->partition));
  sc_put_u64(b, (uint64_t)u->created);
  tcbdbput(tx->db, k->data, (int)k->len, b->data, (int)b->len);
  g_byte_array_free(b, TRUE);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_del_user(sc_mltx *tx, const char *user) {
  GByteArray *k = key2('U', user, NULL);
  tcbdbout(tx->db, k->data, (int)k->len);
  g_byte_array_free(k, TRUE);
}

struct acl_index_ctx {
  sc_mltx *tx;
  const sc_mbox *m;
  bool add;
};

static void acl_index_cb(void *data, const char *id, uint32_t rights) {
  struct acl_index_ctx *c = data;
  const char *ident = *id == '-' ? id + 1 : id;
  GByteArray *k = key2('A', ident, c->m->owner);
  g_byte_array_append(k, (const guint8 *)"", 1);
  g_byte_array_append(k, (const guint8 *)c->m->name,
                      (guint)strlen(c->m->name));
  if (c->add)
    tcbdbput(c->tx->db, k->data, (int)k->len, "", 0);
  else
    tcbdbout(c->tx->db, k->data, (int)k->len);
  g_byte_array_free(k, TRUE);
}

static void acl_index(sc_mltx *tx, const sc_mbox *m, bool add) {
  struct acl_index_ctx c = {tx, m, add};
  sc_acl_each(m->acl, acl_index_cb, &c);
}

void sc_mltx_put(sc_mltx *tx, const sc_mbox *m) {
  sc_mbox *old;
  if (sc_mltx_get(tx, m->owner, m->name, &old) == CURSUS_OK) {
    acl_index(tx, old, false);
    sc_mbox_free(old);
  }
  GByteArray *k = key2('F', m->owner, m->name);
  sc_wbuf *b = g_byte_array_new();
  mbox_encode(m, b);
  tcbdbput(tx->db, k->data, (int)k->len, b->data, (int)b->len);
  acl_index(tx, m, true);
  g_byte_array_free(b, TRUE);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_del(sc_mltx *tx, const char *owner, const char *name) {
  sc_mbox *old;
  if (sc_mltx_get(tx, owner, name, &old) == CURSUS_OK) {
    acl_index(tx, old, false);
    sc_mbox_free(old);
  }
  GByteArray *k = key2('F', owner, name);
  tcbdbout(tx->db, k->data, (int)k->len);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_subscribe(sc_mltx *tx, const char *user, const char *name,
                       bool on) {
  GByteArray *k = key2('S', user, name);
  if (on)
    tcbdbput(tx->db, k->data, (int)k->len, "", 0);
  else
    tcbdbout(tx->db, k->data, (int)k->len);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_set_intent(sc_mltx *tx, const char *user, const char *intent) {
  GByteArray *k = key2('P', user, NULL);
  if (intent != NULL)
    tcbdbput(tx->db, k->data, (int)k->len, intent, (int)strlen(intent));
  else
    tcbdbout(tx->db, k->data, (int)k->len);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_subscriptions(sc_mltx *tx, const char *user, GPtrArray *out) {
  GByteArray *k = key2('S', user, "");
  scan(tx->db, k->data, (int)k->len, collect_sub, out);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_granted(sc_mltx *tx, const char *identifier, GPtrArray *out) {
  struct granted_ctx g = {tx->db, out};
  GByteArray *k = key2('A', identifier, "");
  scan(tx->db, k->data, (int)k->len, collect_granted, &g);
  g_byte_array_free(k, TRUE);
}

void sc_mltx_users(sc_mltx *tx, GPtrArray *out) {
  scan(tx->db, "U", 1, collect_user, out);
}

void sc_mltx_folders(sc_mltx *tx, const char *owner, GPtrArray *out) {
  GByteArray *k = key2('F', owner, "");
  scan(tx->db, k->data, (int)k->len, collect_mbox, out);
  g_byte_array_free(k, TRUE);
}

static void collect_key(void *data, const char *k, int ksz, const void *v,
                        int vsz) {
  g_ptr_array_add(data, g_bytes_new(k, (gsize)ksz));
}

void sc_mltx_clear(sc_mltx *tx) {
  static const char kinds[] = "UFSAP";
  for (const char *p = kinds; *p; p++) {
    GPtrArray *keys = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    scan(tx->db, p, 1, collect_key, keys);
    for (guint i = 0; i < keys->len; i++) {
      gsize len;
      const void *k = g_bytes_get_data(keys->pdata[i], &len);
      tcbdbout(tx->db, k, (int)len);
    }
    g_ptr_array_free(keys, TRUE);
  }
}

/* ------------------------------------------------------------ ACL text */

bool sc_rights_parse(const char *text, uint32_t *rights_r) {
  return cursus_store_rights_parse(text, rights_r) != 0;
}

char *sc_rights_format(uint32_t rights) {
  char letters[12];
  return g_strdup(cursus_store_rights_format(rights, letters));
}

void sc_acl_each(const char *acl,
                 void (*cb)(void *data, const char *id, uint32_t rights),
                 void *data) {
  char **v = g_strsplit(acl != NULL ? acl : "", "\t", -1);
  for (int i = 0; v[i] != NULL && v[i + 1] != NULL; i += 2) {
    uint32_t r;
    if (*v[i] != '\0' && sc_rights_parse(v[i + 1], &r))
      cb(data, v[i], r);
  }
  g_strfreev(v);
}

struct rights_ctx {
  const char *user;
  uint32_t pos, neg;
};

static void rights_cb(void *data, const char *id, uint32_t rights) {
  struct rights_ctx *c = data;
  bool negative = *id == '-';
  const char *ident = negative ? id + 1 : id;
  if (g_str_equal(ident, "anyone") ||
      (c->user != NULL && g_str_equal(ident, c->user)) ||
      (c->user != NULL && g_str_equal(ident, "authenticated"))) {
    if (negative)
      c->neg |= rights;
    else
      c->pos |= rights;
  }
}

uint32_t sc_acl_rights(const char *acl, const char *owner, const char *user) {
  if (user != NULL && owner != NULL && g_str_equal(owner, user))
    return CURSUS_STORE_RIGHTS_ALL;
  struct rights_ctx c = {user, 0, 0};
  sc_acl_each(acl, rights_cb, &c);
  return c.pos & ~c.neg;
}

char *sc_acl_set(const char *acl, const char *identifier,
                 cursus_store_acl_mode mode, uint32_t rights) {
  char **v = g_strsplit(acl != NULL ? acl : "", "\t", -1);
  GString *out = g_string_new(NULL);
  uint32_t current = 0;
  for (int i = 0; v[i] != NULL && v[i + 1] != NULL; i += 2) {
    uint32_t r;
    if (*v[i] == '\0' || !sc_rights_parse(v[i + 1], &r))
      continue;
    if (g_str_equal(v[i], identifier)) {
      current = r;
      continue;
    }
    g_string_append_printf(out, "%s%s\t%s", out->len > 0 ? "\t" : "", v[i],
                           v[i + 1]);
  }
  g_strfreev(v);
  uint32_t nr = mode == CURSUS_STORE_ACL_REPLACE ? rights
                : mode == CURSUS_STORE_ACL_ADD   ? current | rights
                                                 : current & ~rights;
  if (nr != 0) {
    char *letters = sc_rights_format(nr);
    g_string_append_printf(out, "%s%s\t%s", out->len > 0 ? "\t" : "",
                           identifier, letters);
    g_free(letters);
  }
  return g_string_free(out, FALSE);
}
