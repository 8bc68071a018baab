/*
 * user.c - user sessions, mailbox names and where users live
 */
#include "user.h"
#include "layout.h"
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

int sc_user_fail(cursus_store_user *u, GError *error, const char **error_r) {
  cursus_store_error code = CURSUS_STORE_E_INTERNAL;
  const char *text = "internal error";
  if (error != NULL && error->domain == SC_ERROR) {
    code = (cursus_store_error)error->code;
    text = error->message;
  } else if (error != NULL) {
    text = error->message;
  }
  if (u != NULL) {
    u->last_error = code;
    g_free(u->last_text);
    u->last_text = g_strdup(text);
    if (error_r != NULL)
      *error_r = u->last_text;
  } else if (error_r != NULL) {
    /* thread-local without GPrivate, whose key would leak when the
     * module is unloaded */
    static __thread char copy[512];
    g_strlcpy(copy, text, sizeof copy);
    *error_r = copy;
  }
  if (code == CURSUS_STORE_E_CORRUPT || code == CURSUS_STORE_E_INTERNAL)
    sc_log(CURSUS_LOG_ERROR, "%s", text);
  if (error != NULL)
    g_error_free(error);
  return sc_status_of(code);
}

void sc_user_ok(cursus_store_user *u) {
  if (u != NULL)
    u->last_error = CURSUS_STORE_E_NONE;
}

void sc_loc_clear(sc_loc *loc) {
  g_clear_pointer(&loc->owner, g_free);
  g_clear_pointer(&loc->name, g_free);
  g_clear_pointer(&loc->full, g_free);
}

/* ------------------------------------------------------------ names */

bool sc_name_check(sc_store *st, const char *name, GError **error) {
  size_t len = strlen(name);
  unsigned depth = 1;
  if (len == 0 || len > 1000 || !g_utf8_validate(name, (gssize)len, NULL)) {
    sc_set_error(error, CURSUS_STORE_E_INVALID,
                 "invalid mailbox name (empty, too long or not UTF-8)");
    return false;
  }
  const char *comp = name;
  for (const char *p = name;; p++) {
    if (*p == st->separator || *p == '\0') {
      size_t clen = (size_t)(p - comp);
      if (clen == 0 || (clen == 1 && comp[0] == '.') ||
          (clen == 2 && comp[0] == '.' && comp[1] == '.')) {
        sc_set_error(error, CURSUS_STORE_E_INVALID,
                     "invalid mailbox name: empty or dot component");
        return false;
      }
      if (*p == '\0')
        break;
      comp = p + 1;
      if (++depth > 64) {
        sc_set_error(error, CURSUS_STORE_E_LIMIT,
                     "mailbox hierarchy too deep (at most 64 levels)");
        return false;
      }
    } else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '*' ||
               *p == '%') {
      sc_set_error(error, CURSUS_STORE_E_INVALID,
                   "invalid character in mailbox name");
      return false;
    }
  }
  return true;
}

/* is_inbox - NAME is "INBOX" or starts with "INBOX<sep>", any case */
static bool is_inbox(const char *name, char sep) {
  return g_ascii_strncasecmp(name, "INBOX", 5) == 0 &&
         (name[5] == '\0' || name[5] == sep);
}

/* has_prefix - NAME is PREFIX or starts with PREFIX<sep>; *rest_r is what
 * follows (NULL when NAME is the prefix itself) */
static bool has_prefix(const char *name, const char *prefix, char sep,
                       const char **rest_r) {
  size_t n = strlen(prefix);
  if (*prefix == '\0' || strncmp(name, prefix, n) != 0)
    return false;
  if (name[n] == '\0') {
    *rest_r = NULL;
    return true;
  }
  if (name[n] != sep)
    return false;
  *rest_r = name + n + 1;
  return true;
}

bool sc_name_resolve(cursus_store_user *u, const char *full, sc_loc *loc,
                     GError **error) {
  sc_store *st = u->st;
  const char *rest;
  memset(loc, 0, sizeof(*loc));
  if (!sc_name_check(st, full, error))
    return false;
  if (is_inbox(full, st->separator)) {
    loc->ns = SC_NS_PERSONAL;
    loc->owner = g_strdup(u->id);
    loc->name = g_strconcat("INBOX", full + 5, NULL);
  } else if (has_prefix(full, st->other_prefix, st->separator, &rest)) {
    const char *sep = rest != NULL ? strchr(rest, st->separator) : NULL;
    if (rest == NULL || sep == NULL) {
      sc_set_error(error, CURSUS_STORE_E_NOTFOUND,
                   "%s is a namespace, not a mailbox", full);
      return false;
    }
    loc->ns = SC_NS_OTHER;
    loc->owner = g_strndup(rest, (gsize)(sep - rest));
    loc->name = is_inbox(sep + 1, st->separator)
                    ? g_strconcat("INBOX", sep + 6, NULL)
                    : g_strdup(sep + 1);
  } else if (has_prefix(full, st->shared_prefix, st->separator, &rest)) {
    if (rest == NULL) {
      sc_set_error(error, CURSUS_STORE_E_NOTFOUND,
                   "%s is a namespace, not a mailbox", full);
      return false;
    }
    loc->ns = SC_NS_SHARED;
    loc->owner = g_strdup(SC_SHARED_OWNER);
    loc->name = g_strdup(rest);
  } else {
    loc->ns = SC_NS_PERSONAL;
    loc->owner = g_strdup(u->id);
    loc->name = g_strdup(full);
  }
  loc->full = sc_name_full(u, loc->owner, loc->name);
  return true;
}

char *sc_name_full(cursus_store_user *u, const char *owner, const char *name) {
  char sep[2] = {u->st->separator, '\0'};
  if (g_str_equal(owner, u->id))
    return g_strdup(name);
  if (g_str_equal(owner, SC_SHARED_OWNER))
    return g_strconcat(u->st->shared_prefix, sep, name, NULL);
  return g_strconcat(u->st->other_prefix, sep, owner, sep, name, NULL);
}

/* ------------------------------------------------------------ users */

/* choose_partition - the named one, the configured default, or the least
 * full: the one with the most free space; partitions sharing that file
 * system (so the same free space) get new users in turn, spread by a hash
 * of the user id */
static sc_partition *choose_partition(sc_store *st, const char *owner,
                                      const char *want, GError **error) {
  if (want != NULL && *want != '\0') {
    sc_partition *p = sc_store_partition(st, want);
    if (p == NULL)
      sc_set_error(error, CURSUS_STORE_E_INVALID,
                   "partition %s is not configured", want);
    return p;
  }
  if (st->default_partition != NULL)
    return sc_store_partition(st, st->default_partition);
  guint n = st->partitions->len, best = 0;
  uint64_t *free_bytes = g_new0(uint64_t, MAX(n, 1u));
  unsigned long *fs = g_new0(unsigned long, MAX(n, 1u));
  for (guint i = 0; i < n; i++) {
    sc_partition *p = st->partitions->pdata[i];
    struct statvfs sv;
    if (statvfs(p->path, &sv) == 0) {
      free_bytes[i] = (uint64_t)sv.f_bavail * sv.f_frsize;
      fs[i] = sv.f_fsid;
    }
    if (free_bytes[i] > free_bytes[best])
      best = i;
  }
  GPtrArray *same = g_ptr_array_new();
  for (guint i = 0; i < n; i++)
    if (fs[i] == fs[best] && free_bytes[i] > 0)
      g_ptr_array_add(same, st->partitions->pdata[i]);
  sc_partition *p = same->len > 1
                        ? same->pdata[g_str_hash(owner) % same->len]
                        : n > 0 ? st->partitions->pdata[best] : NULL;
  g_ptr_array_free(same, TRUE);
  g_free(free_bytes);
  g_free(fs);
  return p;
}

static char *new_mailbox_id(void) {
  return g_strdup_printf("%08x%08x%08x", g_random_int(), g_random_int(),
                         g_random_int());
}

bool sc_create_user(sc_store *st, const char *owner, const char *partition,
                    GError **error) {
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  sc_userrec *u = NULL;
  if (tx == NULL)
    return false;
  if (sc_mltx_user(tx, owner, &u) == CURSUS_OK) {
    sc_userrec_free(u);
    sc_mboxlist_abort(&tx);
    return true;
  }
  sc_partition *p = choose_partition(st, owner, partition, error);
  if (p == NULL) {
    sc_mboxlist_abort(&tx);
    return false;
  }
  char *dir = sc_user_dir(p->path, owner);
  if (dir == NULL) {
    sc_set_error(error, CURSUS_STORE_E_INVALID, "invalid user id");
    sc_mboxlist_abort(&tx);
    return false;
  }
  sc_mbox m = {0};
  m.owner = (char *)owner;
  m.name = "INBOX";
  m.acl = "";
  m.created = g_get_real_time() / G_USEC_PER_SEC;
  bool ok;
  if (sc_folder_index_ok(dir)) {
    /* a store left by an earlier, interrupted creation: keep it */
    sc_folder *f = sc_folder_get(st, dir, error);
    ok = f != NULL;
    if (ok) {
      m.uidvalidity = f->uidvalidity;
      m.mailbox_id = g_strdup(f->mailbox_id);
      sc_folder_unref(&f);
    }
  } else {
    m.uidvalidity = sc_mltx_uidvalidity(tx);
    m.mailbox_id = new_mailbox_id();
    ok = sc_folder_create(st, dir, m.uidvalidity, m.mailbox_id, 0, "", true,
                          error);
  }
  if (ok) {
    sc_userrec rec = {(char *)owner, p->name,
                      g_get_real_time() / G_USEC_PER_SEC};
    sc_mltx_put_user(tx, &rec);
    sc_mltx_put(tx, &m);
    ok = sc_mboxlist_commit(&tx, error);
  } else {
    sc_mboxlist_abort(&tx);
  }
  if (ok)
    sc_log(CURSUS_LOG_INFO, "created the store of %s on partition %s", owner,
           p->name);
  g_free(m.mailbox_id);
  g_free(dir);
  return ok;
}

/* forget_user - drop every record of OWNER from the mailbox list */
static void forget_user(sc_store *st, const char *owner) {
  GError *err = NULL;
  sc_log(CURSUS_LOG_WARNING, "the mailboxes of %s are recorded but their "
         "directory is gone: dropping the records", owner);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
  if (tx == NULL) {
    g_clear_error(&err);
    return;
  }
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  sc_mltx_folders(tx, owner, list);
  for (guint i = 0; i < list->len; i++)
    sc_mltx_del(tx, owner, ((sc_mbox *)list->pdata[i])->name);
  g_ptr_array_free(list, TRUE);
  sc_mltx_del_user(tx, owner);
  sc_mltx_set_intent(tx, owner, NULL);
  if (!sc_mboxlist_commit(&tx, &err))
    g_clear_error(&err);
}

/* find_orphan - a user directory on some partition without a user record
 * (the system area was lost): its partition, or NULL */
static sc_partition *find_orphan(sc_store *st, const char *owner) {
  for (guint i = 0; i < st->partitions->len; i++) {
    sc_partition *p = st->partitions->pdata[i];
    char *dir = sc_user_dir(p->path, owner);
    bool there = dir != NULL && sc_folder_index_ok(dir);
    g_free(dir);
    if (there)
      return p;
  }
  return NULL;
}

char *sc_store_user_dir(sc_store *st, const char *owner, char **partition_r,
                        GError **error) {
  sc_userrec *rec = NULL;
  int r = sc_mboxlist_user(st->mboxlist, owner, &rec, error);
  if (r == CURSUS_NONE) {
    sc_partition *p = find_orphan(st, owner);
    if (p != NULL && sc_repair_user_list(st, owner, p->name, error))
      r = sc_mboxlist_user(st->mboxlist, owner, &rec, error);
  }
  if (r != CURSUS_OK) {
    if (r == CURSUS_NONE)
      sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "%s has no mailboxes",
                   owner);
    return NULL;
  }
  sc_partition *p = sc_store_partition(st, rec->partition);
  if (p == NULL) {
    sc_set_error(error, CURSUS_STORE_E_TEMP,
                 "the mailboxes of %s are on partition %s, which is not "
                 "configured",
                 owner, rec->partition);
    sc_userrec_free(rec);
    return NULL;
  }
  char *dir = sc_user_dir(p->path, owner);
  if (!g_file_test(p->path, G_FILE_TEST_IS_DIR)) {
    sc_set_error(error, CURSUS_STORE_E_TEMP, "partition %s (%s) is not "
                 "available", p->name, p->path);
    g_clear_pointer(&dir, g_free);
  } else if (dir != NULL && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    /* the records outlived the directory (a removal a crash cut short) */
    forget_user(st, owner);
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "%s has no mailboxes",
                 owner);
    g_clear_pointer(&dir, g_free);
  }
  if (partition_r != NULL && dir != NULL)
    *partition_r = g_strdup(p->name);
  sc_userrec_free(rec);
  return dir;
}

const char *sc_owner_dir(cursus_store_user *u, const char *owner, bool create,
                         GError **error) {
  bool self = g_str_equal(owner, u->id);
  const char *dir = self ? u->dir : g_hash_table_lookup(u->owner_dirs, owner);
  /* a user moved to another partition is found again at the new place */
  if (dir != NULL && g_file_test(dir, G_FILE_TEST_IS_DIR))
    return dir;
  GError *err = NULL;
  char *part = NULL;
  char *d = sc_store_user_dir(u->st, owner, &part, &err);
  if (d != NULL && self) {
    g_free(u->dir);
    g_free(u->partition);
    u->dir = d;
    u->partition = part;
    return u->dir;
  }
  g_free(part);
  if (d == NULL && create && err->code == CURSUS_STORE_E_NOTFOUND) {
    g_clear_error(&err);
    if (sc_create_user(u->st, owner, NULL, &err))
      d = sc_store_user_dir(u->st, owner, NULL, &err);
  }
  if (d == NULL) {
    g_propagate_error(error, err);
    return NULL;
  }
  g_hash_table_insert(u->owner_dirs, g_strdup(owner), d);
  return d;
}

char *sc_folder_dir(cursus_store_user *u, const char *owner, const char *name,
                    GError **error) {
  const char *dir = sc_owner_dir(u, owner, false, error);
  if (dir == NULL)
    return NULL;
  char *rel = sc_folder_relpath(name, u->st->separator);
  if (rel == NULL) {
    sc_set_error(error, CURSUS_STORE_E_LIMIT, "mailbox name component too "
                 "long");
    return NULL;
  }
  char *path = *rel != '\0' ? g_build_filename(dir, rel, NULL) : g_strdup(dir);
  g_free(rel);
  return path;
}

uint32_t sc_rights(cursus_store_user *u, const sc_mbox *m) {
  if (u->flags & CURSUS_STORE_USER_ADMIN)
    return CURSUS_STORE_RIGHTS_ALL;
  return sc_acl_rights(m->acl, m->owner, u->id);
}

bool sc_lookup_mbox(cursus_store_user *u, const char *full, uint32_t need,
                    sc_loc *loc, sc_mbox **m_r, GError **error) {
  sc_mbox *m = NULL;
  if (!sc_name_resolve(u, full, loc, error))
    return false;
  int r = sc_mboxlist_get(u->st->mboxlist, loc->owner, loc->name, &m, error);
  if (r == CURSUS_TEMPFAIL)
    goto fail;
  uint32_t rights = m != NULL ? sc_rights(u, m) : 0;
  if (m == NULL ||
      !(rights & (CURSUS_STORE_RIGHT_LOOKUP | CURSUS_STORE_RIGHT_READ))) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "Mailbox doesn't exist: %s",
                 full);
    goto fail;
  }
  if ((rights & need) != need) {
    char *missing = sc_rights_format(need & ~rights);
    sc_set_error(error, CURSUS_STORE_E_NOPERM,
                 "Permission denied on %s (needs the \"%s\" right)", full,
                 missing);
    g_free(missing);
    goto fail;
  }
  *m_r = m;
  return true;
fail:
  sc_mbox_free(m);
  sc_loc_clear(loc);
  return false;
}

/* ------------------------------------------------------------ sessions */

/* open_needs_lock - must opening U take its lock: an update of its usage
 * or a create, delete or rename of its mailboxes was interrupted, or its
 * usage does not record the account's limits yet?  Read without the
 * lock: an operation running now in another process may look
 * interrupted (then the lock is taken and finds it done), and one that
 * is interrupted later is finished at the next open */
static bool open_needs_lock(sc_store *st, cursus_store_user *u) {
  sc_usage cur;
  if (!sc_usage_read_dir(u->dir, &cur) || (cur.seq & 1) ||
      cur.bytes_limit != u->acct.quota_bytes ||
      cur.messages_limit != u->acct.quota_messages ||
      cur.enforced != (uint32_t)(u->acct.enforce_quota != 0))
    return true;
  GError *err = NULL;
  char *intent = sc_mboxlist_intent(st->mboxlist, u->id, &err);
  bool pending = intent != NULL || err != NULL;
  g_free(intent);
  g_clear_error(&err);
  return pending;
}

int sc_user_open_impl(sc_store *st, const cursus_store_account *acct,
                      unsigned flags, cursus_store_user **user_r,
                      const char **error_r) {
  GError *err = NULL;
  *user_r = NULL;
  if (acct == NULL || acct->user == NULL || *acct->user == '\0' ||
      strchr(acct->user, '/') != NULL || strlen(acct->user) > 250 ||
      !g_utf8_validate(acct->user, -1, NULL)) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "invalid user id");
    return sc_user_fail(NULL, err, error_r);
  }
  cursus_store_user *u = g_new0(cursus_store_user, 1);
  u->st = st;
  u->id = g_strdup(acct->user);
  u->flags = flags;
  u->acct.size = sizeof(u->acct);
  u->acct.user = u->id;
  u->acct.quota_bytes = -1;
  u->acct.quota_messages = -1;
  if (CURSUS_HAS(acct, quota_messages)) {
    u->acct.quota_bytes = acct->quota_bytes;
    u->acct.quota_messages = acct->quota_messages;
  }
  if (CURSUS_HAS(acct, enforce_quota))
    u->acct.enforce_quota = acct->enforce_quota;
  u->owner_dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free);
  char sep[2] = {st->separator, '\0'};
  u->ns_prefix[0] = g_strdup("");
  u->ns_prefix[1] = g_strconcat(st->other_prefix, sep, NULL);
  u->ns_prefix[2] = g_strconcat(st->shared_prefix, sep, NULL);
  for (int i = 0; i < 3; i++) {
    u->ns[i].kind = (cursus_store_namespace_kind)i;
    u->ns[i].prefix = u->ns_prefix[i];
    u->ns[i].separator = st->separator;
  }

  u->dir = sc_store_user_dir(st, u->id, &u->partition, &err);
  if (u->dir == NULL && err->code == CURSUS_STORE_E_NOTFOUND &&
      (flags & CURSUS_STORE_USER_CREATE)) {
    g_clear_error(&err);
    if (sc_create_user(st, u->id, acct->partition, &err))
      u->dir = sc_store_user_dir(st, u->id, &u->partition, &err);
  }
  if (u->dir == NULL) {
    bool missing = err->code == CURSUS_STORE_E_NOTFOUND;
    if (missing && (flags & CURSUS_STORE_USER_ADMIN)) {
      /* an admin may act without a store of their own */
      g_clear_error(&err);
      *user_r = u;
      return CURSUS_OK;
    }
    int r = sc_user_fail(NULL, err, error_r);
    sc_user_close_impl(&u);
    return missing ? CURSUS_NONE : r;
  }
  /* finish what a crash interrupted, and record the account's limits;
   * nothing to do (the common case) needs no lock */
  if (!open_needs_lock(st, u)) {
    *user_r = u;
    return CURSUS_OK;
  }
  sc_ulock lk;
  if (sc_ulock_take(st, u->id, u->dir, &lk, &err)) {
    sc_repair_intents(st, u->id, &lk);
    sc_ulock_limits(&lk, &u->acct);
    sc_ulock_release(&lk);
  } else {
    int r = sc_user_fail(NULL, err, error_r);
    sc_user_close_impl(&u);
    return r;
  }
  *user_r = u;
  return CURSUS_OK;
}

void sc_user_close_impl(cursus_store_user **up) {
  cursus_store_user *u = *up;
  if (u == NULL)
    return;
  *up = NULL;
  if (u->children > 0)
    sc_log(CURSUS_LOG_ERROR, "user %s closed with %d open handles (a bug in "
           "the caller)", u->id, u->children);
  g_hash_table_destroy(u->owner_dirs);
  for (int i = 0; i < 3; i++)
    g_free(u->ns_prefix[i]);
  g_free(u->id);
  g_free(u->partition);
  g_free(u->dir);
  g_free(u->last_text);
  g_free(u);
}

/* ------------------------------------------------------------ usage */

#define USAGE_MAGIC 0x31514353u /* "SCQ1" */
#define USAGE_BYTES 64

static void usage_encode(const sc_usage *u, uint8_t out[USAGE_BYTES]) {
  sc_wbuf *b = g_byte_array_new();
  sc_put_u32(b, USAGE_MAGIC);
  sc_put_u32(b, u->seq);
  sc_put_u64(b, u->bytes);
  sc_put_u64(b, u->messages);
  sc_put_u64(b, (uint64_t)u->over_since);
  sc_put_u64(b, (uint64_t)u->warned_at);
  sc_put_u64(b, (uint64_t)u->bytes_limit);
  sc_put_u64(b, (uint64_t)u->messages_limit);
  sc_put_u32(b, u->enforced);
  memset(out, 0, USAGE_BYTES);
  memcpy(out, b->data, b->len);
  g_byte_array_free(b, TRUE);
}

static bool usage_decode(const uint8_t *in, size_t len, sc_usage *u) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, in, len);
  if (sc_get_u32(&rb) != USAGE_MAGIC)
    return false;
  u->seq = sc_get_u32(&rb);
  u->bytes = sc_get_u64(&rb);
  u->messages = sc_get_u64(&rb);
  u->over_since = (int64_t)sc_get_u64(&rb);
  u->warned_at = (int64_t)sc_get_u64(&rb);
  u->bytes_limit = (int64_t)sc_get_u64(&rb);
  u->messages_limit = (int64_t)sc_get_u64(&rb);
  u->enforced = sc_get_u32(&rb);
  return !rb.bad;
}

static void usage_write(int fd, const sc_usage *u) {
  uint8_t buf[USAGE_BYTES];
  usage_encode(u, buf);
  if (pwrite(fd, buf, USAGE_BYTES, 0) != USAGE_BYTES)
    sc_log(CURSUS_LOG_WARNING, "cannot write quota usage: %s",
           g_strerror(errno));
}

bool sc_usage_read_dir(const char *dir, sc_usage *u) {
  char *path = g_build_filename(dir, "store.usr", NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  uint8_t buf[USAGE_BYTES];
  bool ok = fd >= 0 && pread(fd, buf, USAGE_BYTES, 0) == USAGE_BYTES &&
            usage_decode(buf, USAGE_BYTES, u);
  if (fd >= 0)
    close(fd);
  g_free(path);
  return ok;
}

bool sc_usage_recount(sc_store *st, const char *owner, const char *dir,
                      sc_usage *u, GError **error) {
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  if (!sc_mboxlist_folders(st->mboxlist, owner, list, error)) {
    g_ptr_array_free(list, TRUE);
    return false;
  }
  u->bytes = u->messages = 0;
  for (guint i = 0; i < list->len; i++) {
    const sc_mbox *m = list->pdata[i];
    if (m->flags & SC_MBOX_NOSELECT)
      continue;
    char *rel = sc_folder_relpath(m->name, st->separator);
    char *path = rel != NULL && *rel ? g_build_filename(dir, rel, NULL)
                                     : g_strdup(dir);
    GError *err = NULL;
    sc_folder *f = sc_folder_get(st, path, &err);
    if (f != NULL) {
      g_mutex_lock(&f->mu);
      if (sc_folder_refresh(f, &err)) {
        u->bytes += f->bytes;
        u->messages += f->recs->len;
      }
      g_mutex_unlock(&f->mu);
      sc_folder_unref(&f);
    }
    if (err != NULL) {
      sc_log(CURSUS_LOG_WARNING, "quota recount of %s: %s", owner,
             err->message);
      g_error_free(err);
    }
    g_free(rel);
    g_free(path);
  }
  g_ptr_array_free(list, TRUE);
  return true;
}

/* open_usage - open and lock DIR/store.usr; 0 done, 1 stale (the user
 * moved or was removed meanwhile: resolve again), -1 failed */
static int open_usage(sc_store *st, const char *owner, const char *dir,
                      int *fd_r, GError **error) {
  char *path = g_build_filename(dir, "store.usr", NULL);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    int e = errno;
    g_free(path);
    if (e == ENOENT)
      return 1;
    sc_errno_error(error, e, "cannot open the usage of", owner);
    return -1;
  }
  if (!sc_flock(fd, LOCK_EX, st->lock_timeout_ms)) {
    sc_set_error(error, CURSUS_STORE_E_TEMP,
                 "the mailboxes of %s are busy (locked); try again later",
                 owner);
    close(fd);
    g_free(path);
    return -1;
  }
  struct stat a, b;
  bool same = fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
              a.st_ino == b.st_ino && a.st_dev == b.st_dev;
  g_free(path);
  if (!same) {
    close(fd);
    return 1;
  }
  *fd_r = fd;
  return 0;
}

bool sc_ulock_take(sc_store *st, const char *owner, const char *dir,
                   sc_ulock *lk, GError **error) {
  memset(lk, 0, sizeof(*lk));
  lk->fd = -1;
  /* threads of this process queue here, not on the file lock */
  lk->gate = sc_gate_enter(owner, st->lock_timeout_ms);
  if (lk->gate == NULL) {
    sc_set_error(error, CURSUS_STORE_E_TEMP,
                 "the mailboxes of %s are busy (locked); try again later",
                 owner);
    return false;
  }
  char *cur = g_strdup(dir);
  for (int attempt = 0;; attempt++) {
    int r = open_usage(st, owner, cur, &lk->fd, error);
    if (r == 0)
      break;
    g_free(cur);
    if (r < 0) {
      sc_gate_leave(&lk->gate);
      return false;
    }
    /* moved to another partition, or gone: ask the mailbox list again */
    GError *err = NULL;
    cur = attempt < 3 ? sc_store_user_dir(st, owner, NULL, &err) : NULL;
    if (cur == NULL) {
      if (err != NULL)
        g_propagate_error(error, err);
      else
        sc_set_error(error, CURSUS_STORE_E_TEMP,
                     "the mailboxes of %s keep moving; try again", owner);
      sc_gate_leave(&lk->gate);
      return false;
    }
  }
  lk->st = st;
  lk->owner = g_strdup(owner);
  lk->dir = cur;
  uint8_t buf[USAGE_BYTES];
  bool fresh = pread(lk->fd, buf, USAGE_BYTES, 0) != USAGE_BYTES ||
               !usage_decode(buf, USAGE_BYTES, &lk->usage);
  if (fresh) {
    memset(&lk->usage, 0, sizeof(lk->usage));
    lk->usage.bytes_limit = lk->usage.messages_limit = -1;
  }
  if (fresh || (lk->usage.seq & 1)) {
    /* a crash interrupted an update (or the file is new): count again,
     * once an interrupted create, delete or rename is finished (it
     * counts again itself) */
    GError *err = NULL;
    lk->usage.seq |= 1u;
    if (!sc_repair_intents(st, owner, lk) &&
        !sc_usage_recount(st, owner, cur, &lk->usage, &err)) {
      sc_log(CURSUS_LOG_WARNING, "cannot recount the usage of %s: %s", owner,
             err->message);
      g_error_free(err);
    }
  }
  /* odd while we hold it: a crash before release makes the next holder
   * count again */
  lk->usage.seq = (lk->usage.seq + 2) | 1u;
  usage_write(lk->fd, &lk->usage);
  return true;
}

void sc_ulock_change(sc_ulock *lk, int64_t dbytes, int64_t dmsgs) {
  sc_usage *u = &lk->usage;
  u->bytes = (uint64_t)MAX((int64_t)u->bytes + dbytes, (int64_t)0);
  u->messages = (uint64_t)MAX((int64_t)u->messages + dmsgs, (int64_t)0);
  bool over = (u->bytes_limit >= 0 && u->bytes >= (uint64_t)u->bytes_limit) ||
              (u->messages_limit >= 0 &&
               u->messages >= (uint64_t)u->messages_limit);
  if (over && u->over_since == 0)
    u->over_since = g_get_real_time() / G_USEC_PER_SEC;
  else if (!over)
    u->over_since = 0;
  /* written at release: until then the odd sequence number makes a
   * reader after a crash count again */
}

void sc_ulock_limits(sc_ulock *lk, const cursus_store_account *acct) {
  sc_usage *u = &lk->usage;
  if (u->bytes_limit == acct->quota_bytes &&
      u->messages_limit == acct->quota_messages &&
      u->enforced == (uint32_t)(acct->enforce_quota != 0))
    return;
  u->bytes_limit = acct->quota_bytes;
  u->messages_limit = acct->quota_messages;
  u->enforced = acct->enforce_quota != 0;
  sc_ulock_change(lk, 0, 0);
}

void sc_ulock_save(sc_ulock *lk) { usage_write(lk->fd, &lk->usage); }

bool sc_ulock_fits(sc_ulock *lk, uint64_t size, uint32_t count) {
  const sc_usage *u = &lk->usage;
  if (!u->enforced)
    return true;
  if (u->bytes_limit >= 0 && u->bytes + size > (uint64_t)u->bytes_limit)
    return false;
  if (u->messages_limit >= 0 &&
      u->messages + count > (uint64_t)u->messages_limit)
    return false;
  return true;
}

void sc_ulock_release(sc_ulock *lk) {
  if (lk->fd >= 0) {
    lk->usage.seq = (lk->usage.seq + 1) & ~1u;
    usage_write(lk->fd, &lk->usage);
    flock(lk->fd, LOCK_UN);
    close(lk->fd);
  }
  lk->fd = -1;
  sc_gate_leave(&lk->gate);
  g_clear_pointer(&lk->owner, g_free);
  g_clear_pointer(&lk->dir, g_free);
}
