/*
 * admin.c - whole users: listing, removal, moving to another partition,
 * and the partitions themselves
 */
#include "api.h"
#include "layout.h"
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

int sc_op_users_list(void *store,
                     int (*cb)(void *data, const char *user,
                               const char *partition),
                     void *data, const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  GPtrArray *users = g_ptr_array_new_with_free_func(
      (GDestroyNotify)sc_userrec_free);
  if (!sc_mboxlist_users(st->mboxlist, users, &err)) {
    g_ptr_array_free(users, TRUE);
    return sc_user_fail(NULL, err, error_r);
  }
  int stop = 0;
  for (guint i = 0; i < users->len && stop == 0; i++) {
    const sc_userrec *u = users->pdata[i];
    stop = cb(data, u->user, u->partition);
  }
  g_ptr_array_free(users, TRUE);
  return stop == 0 ? CURSUS_OK : stop;
}

/* remove_from_acls - drop USER from the ACL of every mailbox naming it */
static void remove_from_acls(sc_store *st, sc_mltx *tx, const char *user) {
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  sc_mltx_granted(tx, user, list);
  for (guint i = 0; i < list->len; i++) {
    sc_mbox *m = list->pdata[i];
    char *a1 = sc_acl_set(m->acl, user, CURSUS_STORE_ACL_REPLACE, 0);
    char *a2 = g_strconcat("-", user, NULL);
    char *acl = sc_acl_set(a1, a2, CURSUS_STORE_ACL_REPLACE, 0);
    g_free(m->acl);
    m->acl = acl;
    sc_mltx_put(tx, m);
    g_free(a1);
    g_free(a2);
  }
  g_ptr_array_free(list, TRUE);
}

int sc_op_user_delete(void *store, const char *user, const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  char *part = NULL;
  char *dir = sc_store_user_dir(st, user, &part, &err);
  if (dir == NULL) {
    if (err->code == CURSUS_STORE_E_NOTFOUND) {
      g_error_free(err);
      return CURSUS_NONE;
    }
    return sc_user_fail(NULL, err, error_r);
  }
  sc_ulock lk;
  if (!sc_ulock_take(st, user, dir, &lk, &err)) {
    g_free(dir);
    g_free(part);
    return sc_user_fail(NULL, err, error_r);
  }
  /* out of the way first: a crash after this leaves records without a
   * directory, which the next lookup removes */
  sc_partition *p = sc_store_partition(st, part);
  char *trash = g_strdup_printf("%s/tmp/deleted-%08x%08x", p->path,
                                g_random_int(), g_random_int());
  bool ok = rename(lk.dir, trash) == 0;
  if (!ok)
    sc_errno_error(&err, errno, "cannot remove", lk.dir);
  if (ok) {
    sc_folder_forget(st, lk.dir);
    sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
    ok = tx != NULL;
    if (ok) {
      GPtrArray *list = g_ptr_array_new_with_free_func(
          (GDestroyNotify)sc_mbox_free);
      sc_mltx_folders(tx, user, list);
      for (guint i = 0; i < list->len; i++)
        sc_mltx_del(tx, user, ((sc_mbox *)list->pdata[i])->name);
      g_ptr_array_free(list, TRUE);
      GPtrArray *subs = g_ptr_array_new_with_free_func(g_free);
      sc_mltx_subscriptions(tx, user, subs);
      for (guint i = 0; i < subs->len; i++)
        sc_mltx_subscribe(tx, user, subs->pdata[i], false);
      g_ptr_array_free(subs, TRUE);
      remove_from_acls(st, tx, user);
      sc_mltx_del_user(tx, user);
      sc_mltx_set_intent(tx, user, NULL);
      ok = sc_mboxlist_commit(&tx, &err);
    }
  }
  sc_ulock_release(&lk);
  if (ok) {
    sc_rmtree(trash);
    sc_log(CURSUS_LOG_INFO, "removed the store of %s", user);
  }
  g_free(trash);
  g_free(dir);
  g_free(part);
  if (!ok)
    return sc_user_fail(NULL, err, error_r);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ moving */

typedef struct mover {
  sc_store *st;
  GHashTable *inodes; /* "dev:ino" -> copied path (single copy kept) */
  GPtrArray *locks;   /* folder directory fds held exclusively */
  GError *error;
} mover;

static bool copy_one(mover *mv, const char *src, const char *dst,
                     const struct stat *st) {
  char *key = g_strdup_printf("%lu:%lu", (unsigned long)st->st_dev,
                              (unsigned long)st->st_ino);
  const char *have = st->st_nlink > 1 ? g_hash_table_lookup(mv->inodes, key)
                                      : NULL;
  if (have != NULL) {
    g_free(key);
    if (link(have, dst) == 0)
      return true;
    sc_errno_error(&mv->error, errno, "cannot link", dst);
    return false;
  }
  int in = open(src, O_RDONLY | O_CLOEXEC);
  int out = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                           st->st_mode & 0777)
                    : -1;
  bool ok = in >= 0 && out >= 0;
  char buf[65536];
  ssize_t n;
  while (ok && (n = read(in, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0 && write(out, buf, (size_t)n) == n;
  }
  if (ok && mv->st->fsync && fsync(out) < 0)
    ok = false;
  if (!ok)
    sc_errno_error(&mv->error, errno, "cannot copy", src);
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  if (ok && st->st_nlink > 1)
    g_hash_table_insert(mv->inodes, key, g_strdup(dst));
  else
    g_free(key);
  return ok;
}

/* copy_tree - SRC to DST; every folder directory is locked first and
 * stays locked until the move is done */
static bool copy_tree(mover *mv, const char *src, const char *dst) {
  if (mkdir(dst, 0750) < 0 && errno != EEXIST) {
    sc_errno_error(&mv->error, errno, "cannot create", dst);
    return false;
  }
  int dfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || !sc_flock(dfd, LOCK_EX, mv->st->lock_timeout_ms)) {
    sc_errno_error(&mv->error, errno, "cannot lock", src);
    if (dfd >= 0)
      close(dfd);
    return false;
  }
  g_ptr_array_add(mv->locks, GINT_TO_POINTER(dfd));
  GDir *d = g_dir_open(src, 0, NULL);
  const char *name;
  bool ok = d != NULL;
  while (ok && (name = g_dir_read_name(d)) != NULL) {
    if (g_str_has_suffix(name, ".new") || g_str_equal(name, "store.pop"))
      continue;
    char *s = g_build_filename(src, name, NULL);
    char *t = g_build_filename(dst, name, NULL);
    struct stat st;
    if (lstat(s, &st) < 0)
      ok = true; /* gone meanwhile */
    else if (S_ISDIR(st.st_mode))
      ok = copy_tree(mv, s, t);
    else if (S_ISREG(st.st_mode))
      ok = copy_one(mv, s, t, &st);
    g_free(s);
    g_free(t);
  }
  if (d != NULL)
    g_dir_close(d);
  if (ok && mv->st->fsync) {
    int tfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd >= 0) {
      fsync(tfd);
      close(tfd);
    }
  }
  return ok;
}

/* mark_moved - tell every process using the old folders to look again */
static void mark_moved(sc_store *st, const char *old_dir, GPtrArray *names) {
  for (guint i = 0; i < names->len; i++) {
    const sc_mbox *m = names->pdata[i];
    if (m->flags & SC_MBOX_NOSELECT)
      continue;
    char *rel = sc_folder_relpath(m->name, st->separator);
    char *path = *rel ? g_build_filename(old_dir, rel, NULL)
                      : g_strdup(old_dir);
    GError *err = NULL;
    if (!sc_folder_mark_moved(path, &err)) {
      sc_log(CURSUS_LOG_WARNING, "%s", err->message);
      g_error_free(err);
    }
    g_free(rel);
    g_free(path);
  }
}

int sc_op_user_move(void *store, const char *user, const char *partition,
                    const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  sc_partition *to = sc_store_partition(st, partition);
  if (to == NULL) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "partition %s is not "
                 "configured", partition);
    return sc_user_fail(NULL, err, error_r);
  }
  char *from_part = NULL;
  char *dir = sc_store_user_dir(st, user, &from_part, &err);
  if (dir == NULL)
    return sc_user_fail(NULL, err, error_r);
  if (g_str_equal(from_part, to->name)) {
    g_free(dir);
    g_free(from_part);
    return CURSUS_OK;
  }
  sc_ulock lk;
  if (!sc_ulock_take(st, user, dir, &lk, &err)) {
    g_free(dir);
    g_free(from_part);
    return sc_user_fail(NULL, err, error_r);
  }
  GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  sc_mboxlist_folders(st->mboxlist, user, names, NULL);
  char *dest = sc_user_dir(to->path, user);
  char *staging = g_strdup_printf("%s/tmp/moving-%08x%08x", to->path,
                                  g_random_int(), g_random_int());
  mover mv = {st, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free),
              g_ptr_array_new(), NULL};
  bool ok = copy_tree(&mv, lk.dir, staging);
  char *parent = g_path_get_dirname(dest);
  if (ok && (g_mkdir_with_parents(parent, 0750) < 0 ||
             rename(staging, dest) < 0)) {
    sc_errno_error(&mv.error, errno, "cannot move to", dest);
    ok = false;
  }
  g_free(parent);
  if (ok) {
    sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &mv.error);
    sc_userrec *rec = NULL;
    ok = tx != NULL;
    if (ok && sc_mltx_user(tx, user, &rec) == CURSUS_OK) {
      g_free(rec->partition);
      rec->partition = g_strdup(to->name);
      sc_mltx_put_user(tx, rec);
      sc_userrec_free(rec);
      ok = sc_mboxlist_commit(&tx, &mv.error);
    } else if (ok) {
      sc_mboxlist_abort(&tx);
    }
  }
  if (ok) {
    /* sessions and deliveries still at the old place find the new one */
    mark_moved(st, lk.dir, names);
    char *from_trash = g_strdup_printf(
        "%s/tmp/moved-%08x%08x", sc_store_partition(st, from_part)->path,
        g_random_int(), g_random_int());
    if (rename(lk.dir, from_trash) == 0)
      sc_rmtree(from_trash);
    sc_folder_forget(st, lk.dir);
    g_free(from_trash);
    sc_log(CURSUS_LOG_INFO, "moved the store of %s from partition %s to %s",
           user, from_part, to->name);
  } else {
    sc_rmtree(staging);
    if (g_file_test(dest, G_FILE_TEST_IS_DIR) && !g_str_equal(dest, lk.dir))
      sc_rmtree(dest);
  }
  for (guint i = 0; i < mv.locks->len; i++)
    close(GPOINTER_TO_INT(mv.locks->pdata[i]));
  g_ptr_array_free(mv.locks, TRUE);
  g_hash_table_destroy(mv.inodes);
  sc_ulock_release(&lk);
  g_ptr_array_free(names, TRUE);
  g_free(staging);
  g_free(dest);
  g_free(dir);
  g_free(from_part);
  if (!ok)
    return sc_user_fail(NULL, mv.error, error_r);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ partitions */

/* The answer lives in the store (not in thread-local storage: a GPrivate
 * in a module leaks its key when the module is unloaded) and is refreshed
 * in place, so a pointer handed out stays valid until the store closes. */
const cursus_store_partition *sc_op_partitions(void *store, size_t *count_r,
                                               const char **error_r) {
  sc_store *st = store;
  GPtrArray *users = g_ptr_array_new_with_free_func(
      (GDestroyNotify)sc_userrec_free);
  sc_mboxlist_users(st->mboxlist, users, NULL);
  g_mutex_lock(&st->partitions_lock);
  if (st->partitions_out == NULL)
    st->partitions_out =
        g_new0(cursus_store_partition, MAX(st->partitions->len, 1));
  for (guint i = 0; i < st->partitions->len; i++) {
    sc_partition *p = st->partitions->pdata[i];
    cursus_store_partition cp = {0};
    struct statvfs sv;
    cp.size = sizeof(cp);
    cp.name = p->name;
    cp.path = p->path;
    if (statvfs(p->path, &sv) == 0) {
      cp.bytes_total = (uint64_t)sv.f_blocks * sv.f_frsize;
      cp.bytes_free = (uint64_t)sv.f_bavail * sv.f_frsize;
    }
    for (guint k = 0; k < users->len; k++)
      cp.users += g_str_equal(((sc_userrec *)users->pdata[k])->partition,
                              p->name);
    cp.is_default = st->default_partition != NULL &&
                    g_str_equal(st->default_partition, p->name);
    st->partitions_out[i] = cp;
  }
  g_mutex_unlock(&st->partitions_lock);
  g_ptr_array_free(users, TRUE);
  *count_r = st->partitions->len;
  (void)error_r;
  return st->partitions_out;
}
