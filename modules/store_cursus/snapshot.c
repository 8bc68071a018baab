/*
 * snapshot.c - snapshots of the system area and fast recovery from them
 *
 * A snapshot is a consistent copy of STORE/mboxlist/folders.tcb taken
 * under the mailbox list's lock, in STORE/snapshots/<UTC time>/.  Restoring
 * one puts it back and then reconciles it with the partitions: users and
 * folders created or removed since are added or dropped, every record
 * that still matches the disk is kept, so recovery takes a directory walk
 * instead of reading every folder (reconstruct -m).
 */
#include "api.h"
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define SNAPSHOT_FILE "folders.tcb"

/* copy_durably - SRC to DST (new), fsynced */
static bool copy_durably(const char *src, const char *dst, GError **error) {
  char *data;
  gsize len;
  GError *gerr = NULL;
  if (!g_file_get_contents(src, &data, &len, &gerr)) {
    sc_set_error(error, CURSUS_STORE_E_TEMP, "%s", gerr->message);
    g_error_free(gerr);
    return false;
  }
  char *tmp = g_strconcat(dst, ".tmp", NULL);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = fd >= 0;
  size_t done = 0;
  while (ok && done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
    done += n > 0 ? (size_t)n : 0;
  }
  ok = ok && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  ok = ok && rename(tmp, dst) == 0;
  if (!ok) {
    sc_errno_error(error, errno, "cannot write", dst);
    unlink(tmp);
  }
  g_free(tmp);
  g_free(data);
  return ok;
}

static bool fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

int sc_op_snapshot(void *store, cursus_buf *name, const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  GDateTime *now = g_date_time_new_now_utc();
  char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
  g_date_time_unref(now);
  char *dir = g_build_filename(st->snapshot_dir, stamp, NULL);
  char *file = g_build_filename(dir, SNAPSHOT_FILE, NULL);
  bool ok = g_mkdir_with_parents(dir, 0750) == 0;
  if (!ok)
    sc_errno_error(&err, errno, "cannot create", dir);
  /* under the writers' lock the file holds only committed transactions */
  if (ok && sc_mboxlist_exclusive(st->mboxlist, &err)) {
    ok = copy_durably(sc_mboxlist_path(st->mboxlist), file, &err);
    sc_mboxlist_release(st->mboxlist, false);
    ok = ok && fsync_dir(dir) && fsync_dir(st->snapshot_dir);
  } else {
    ok = false;
  }
  if (ok) {
    sc_host->buf_append(name, stamp, strlen(stamp));
    sc_log(CURSUS_LOG_INFO, "snapshot %s of the mailbox list taken", stamp);
  }
  g_free(stamp);
  g_free(dir);
  g_free(file);
  if (!ok)
    return sc_user_fail(NULL, err, error_r);
  return CURSUS_OK;
}

/* snapshots - the snapshot names, oldest first */
static GPtrArray *snapshots(sc_store *st) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  GDir *d = g_dir_open(st->snapshot_dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    char *file = g_build_filename(st->snapshot_dir, name, SNAPSHOT_FILE, NULL);
    if (strlen(name) == 16 && name[8] == 'T' &&
        g_file_test(file, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add(out, g_strdup(name));
    g_free(file);
  }
  if (d != NULL)
    g_dir_close(d);
  return out;
}

static gint name_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int64_t stamp_time(const char *name) {
  char iso[32];
  g_snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", name,
             name + 4, name + 6, name + 9, name + 11, name + 13);
  GDateTime *dt = g_date_time_new_from_iso8601(iso, NULL);
  int64_t t = dt != NULL ? g_date_time_to_unix(dt) : 0;
  if (dt != NULL)
    g_date_time_unref(dt);
  return t;
}

int sc_op_snapshot_list(void *store,
                        int (*cb)(void *data, const char *name, int64_t when),
                        void *data, const char **error_r) {
  GPtrArray *names = snapshots(store);
  g_ptr_array_sort(names, name_cmp);
  int stop = 0;
  for (guint i = 0; i < names->len && stop == 0; i++)
    stop = cb(data, names->pdata[i], stamp_time(names->pdata[i]));
  g_ptr_array_free(names, TRUE);
  (void)error_r;
  return CURSUS_OK;
}

int sc_op_snapshot_prune(void *store, unsigned keep, const char **error_r) {
  sc_store *st = store;
  GPtrArray *names = snapshots(st);
  g_ptr_array_sort(names, name_cmp);
  for (guint i = 0; i + keep < names->len; i++) {
    char *dir = g_build_filename(st->snapshot_dir, names->pdata[i], NULL);
    sc_rmtree(dir);
    g_free(dir);
  }
  g_ptr_array_free(names, TRUE);
  (void)error_r;
  return CURSUS_OK;
}

/* sc_snapshot_restore_file - put snapshot NAME (NULL: the newest) back in
 * place of the mailbox list file; used before the list can be opened */
bool sc_snapshot_restore_file(sc_store *st, const char *name, char **used_r,
                              GError **error) {
  GPtrArray *names = snapshots(st);
  g_ptr_array_sort(names, name_cmp);
  const char *pick = name;
  if (pick == NULL && names->len > 0)
    pick = names->pdata[names->len - 1];
  if (pick == NULL) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "there is no snapshot");
    g_ptr_array_free(names, TRUE);
    return false;
  }
  char *file = g_build_filename(st->snapshot_dir, pick, SNAPSHOT_FILE, NULL);
  char *target = g_build_filename(st->mboxlist_dir, SNAPSHOT_FILE, NULL);
  bool ok = g_file_test(file, G_FILE_TEST_IS_REGULAR);
  if (!ok)
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "no snapshot named %s",
                 pick);
  ok = ok && copy_durably(file, target, error) && fsync_dir(st->mboxlist_dir);
  if (ok && used_r != NULL)
    *used_r = g_strdup(pick);
  g_free(file);
  g_free(target);
  g_ptr_array_free(names, TRUE);
  return ok;
}

int sc_op_snapshot_restore(void *store, const char *name,
                           void (*report)(void *data, const char *line),
                           void *data, const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  char *used = NULL;
  /* hold the lock through the swap so nobody sees half of it; readers
   * reopen afterwards (the generation changes) */
  if (!sc_mboxlist_exclusive(st->mboxlist, &err))
    return sc_user_fail(NULL, err, error_r);
  bool ok = sc_snapshot_restore_file(st, name, &used, &err);
  sc_mboxlist_release(st->mboxlist, true);
  if (!ok)
    return sc_user_fail(NULL, err, error_r);
  sc_folder_cache_trim();
  if (report != NULL) {
    char *line = g_strdup_printf("restored the mailbox list from snapshot %s",
                                 used);
    report(data, line);
    g_free(line);
  }
  sc_log(CURSUS_LOG_NOTICE, "restored the mailbox list from snapshot %s",
         used);
  g_free(used);
  if (!sc_fast_recover(st, report, data, &err))
    return sc_user_fail(NULL, err, error_r);
  return CURSUS_OK;
}
