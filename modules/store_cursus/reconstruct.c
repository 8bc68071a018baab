/*
 * reconstruct.c - rebuilding from the user area: a folder's index and
 * cache from its message files, a user's mailbox list from their
 * directory tree, the whole system area from the partitions, quota usage
 * from the folders
 */
#include "api.h"
#include "layout.h"
#include "mime.h"
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rctx {
  sc_store *st;
  unsigned flags;
  void (*report)(void *data, const char *line);
  void *data;
  unsigned findings;
} rctx;

static void say(rctx *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(rctx *r, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char *line = g_strdup_vprintf(fmt, args);
  va_end(args);
  r->findings++;
  if (r->report != NULL)
    r->report(r->data, line);
  sc_log(CURSUS_LOG_NOTICE, "reconstruct: %s", line);
  g_free(line);
}

/* ------------------------------------------------------------ files */

static gint u32_cmp(gconstpointer a, gconstpointer b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* message_files - the UIDs that have a file in folder PATH, ascending */
static GArray *message_files(const char *path) {
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    uint32_t uid;
    if (sc_is_msg_name(name, &uid)) {
      g_array_append_val(uids, uid);
    } else if (name[0] != '=' && name[0] != '.' && g_ascii_isxdigit(name[0])) {
      char *sub = g_build_filename(path, name, NULL);
      GDir *h = g_dir_open(sub, 0, NULL);
      const char *n2;
      while (h != NULL && (n2 = g_dir_read_name(h)) != NULL)
        if (sc_is_msg_name(n2, &uid))
          g_array_append_val(uids, uid);
      if (h != NULL)
        g_dir_close(h);
      g_free(sub);
    }
  }
  if (d != NULL)
    g_dir_close(d);
  g_array_sort(uids, u32_cmp);
  return uids;
}

/* find_file - the path of UID's file in PATH wherever it is */
static char *find_file(const char *path, uint32_t uid, uint32_t threshold) {
  char rel[40];
  char *p = g_build_filename(path, sc_msg_relpath(uid, threshold, rel), NULL);
  if (g_file_test(p, G_FILE_TEST_EXISTS))
    return p;
  g_free(p);
  /* a threshold other than the folder's: look in both places */
  p = g_strdup_printf("%s/%u.msg", path, uid);
  if (g_file_test(p, G_FILE_TEST_EXISTS))
    return p;
  g_free(p);
  return g_strdup_printf("%s/%02x/%u.msg", path, uid >> 12, uid);
}

/* index_file - log an append for the message file of UID (write lock) */
static bool index_file(sc_folder *f, const char *file, uint32_t uid,
                       GError **error) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    sc_errno_error(error, errno, "cannot read", file);
    if (fd >= 0)
      close(fd);
    return false;
  }
  GMappedFile *map = st.st_size > 0 ? g_mapped_file_new_from_fd(fd, FALSE, NULL)
                                    : NULL;
  sc_msginfo *info =
      map != NULL ? sc_mime_parse(g_mapped_file_get_contents(map),
                                  g_mapped_file_get_length(map))
                  : sc_mime_parse("", 0);
  if (map != NULL)
    g_mapped_file_unref(map);
  close(fd);
  sc_rec r = {0};
  r.uid = uid;
  r.internal_date = st.st_mtime;
  r.save_date = st.st_mtime;
  r.sent_date = info->sent_date;
  r.sent_tz = info->sent_tz;
  r.size = (uint64_t)st.st_size;
  r.guid = ((uint64_t)g_random_int() << 32) | g_random_int();
  sc_wbuf *b = g_byte_array_new();
  sc_msginfo_encode(info, uid, b);
  sc_msginfo_free(&info);
  bool ok = sc_folder_log_append(f, &r, b->data, b->len, error);
  g_byte_array_free(b, TRUE);
  return ok;
}

/* ------------------------------------------------------------ folders */

/* rebuild_folder - a new index for folder PATH from its message files,
 * keeping UIDVALIDITY (so clients keep their caches) when known */
static bool rebuild_folder(rctx *r, const char *path, const sc_mbox *m,
                           GError **error) {
  GArray *uids = message_files(path);
  say(r, "%s: index missing or damaged; %s from %u message files", path,
      (r->flags & CURSUS_STORE_RECONSTRUCT_CHECK) ? "would rebuild"
                                                  : "rebuilding",
      uids->len);
  if (r->flags & CURSUS_STORE_RECONSTRUCT_CHECK) {
    g_array_free(uids, TRUE);
    return true;
  }
  uint32_t uv = m != NULL && m->uidvalidity != 0
                    ? m->uidvalidity
                    : (uint32_t)(g_get_real_time() / G_USEC_PER_SEC);
  char *mid = m != NULL && m->mailbox_id != NULL
                  ? g_strdup(m->mailbox_id)
                  : g_strdup_printf("%08x%08x%08x", g_random_int(),
                                    g_random_int(), g_random_int());
  /* the files keep their names: remember where they are before the new
   * index fixes the hash threshold */
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < uids->len; i++)
    g_ptr_array_add(files, find_file(path, g_array_index(uids, uint32_t, i),
                                     r->st->hash_threshold));
  sc_folder_forget(r->st, path);
  bool ok = sc_folder_create(r->st, path, uv, mid,
                             m != NULL ? m->special_use : 0,
                             m != NULL ? m->acl : "", false, error);
  sc_folder *f = ok ? sc_folder_get(r->st, path, error) : NULL;
  if (f != NULL) {
    g_mutex_lock(&f->mu);
    ok = sc_folder_write_begin(f, error);
    for (guint i = 0; ok && i < uids->len; i++) {
      uint32_t uid = g_array_index(uids, uint32_t, i);
      char *want = sc_folder_msg_path(f, uid);
      if (!g_str_equal(want, files->pdata[i])) {
        int dfd = sc_folder_msg_dirfd(f, uid, NULL);
        if (dfd >= 0)
          close(dfd);
        if (rename(files->pdata[i], want) < 0)
          sc_log(CURSUS_LOG_WARNING, "cannot move %s to %s",
                 (char *)files->pdata[i], want);
      }
      GError *ierr = NULL;
      if (!index_file(f, want, uid, &ierr)) {
        say(r, "%s: cannot index message %u: %s", path, uid, ierr->message);
        g_error_free(ierr);
      }
      g_free(want);
    }
    if (ok)
      ok = sc_folder_checkpoint(f, error);
    sc_folder_write_end(f);
    g_mutex_unlock(&f->mu);
    sc_folder_unref(&f);
  } else {
    ok = false;
  }
  g_ptr_array_free(files, TRUE);
  g_array_free(uids, TRUE);
  g_free(mid);
  return ok;
}

/* check_folder - compare folder PATH's index with its files and repair */
static bool check_folder(rctx *r, const char *path, const sc_mbox *m,
                         GError **error) {
  if (!sc_folder_index_ok(path))
    return rebuild_folder(r, path, m, error);
  sc_folder_forget(r->st, path);
  sc_folder *f = sc_folder_get(r->st, path, error);
  if (f == NULL)
    return rebuild_folder(r, path, m, error);
  bool check_only = r->flags & CURSUS_STORE_RECONSTRUCT_CHECK;
  bool force = r->flags & CURSUS_STORE_RECONSTRUCT_FORCE;
  g_mutex_lock(&f->mu);
  bool ok = check_only ? sc_folder_refresh(f, error)
                       : sc_folder_write_begin(f, error);
  if (!ok) {
    g_mutex_unlock(&f->mu);
    sc_folder_unref(&f);
    return false;
  }
  GArray *files = message_files(path);
  GHashTable *tombs = g_hash_table_new(NULL, NULL);
  for (guint i = 0; i < f->tombs->len; i++)
    g_hash_table_add(tombs, GUINT_TO_POINTER(
                                g_array_index(f->tombs, sc_tomb, i).uid));
  /* indexed messages without a file */
  GArray *gone = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (guint i = 0; i < f->recs->len; i++) {
    uint32_t uid = g_array_index(f->recs, sc_rec, i).uid;
    if (!g_array_binary_search(files, &uid, u32_cmp, NULL))
      g_array_append_val(gone, uid);
  }
  for (guint i = 0; i < gone->len; i++) {
    uint32_t uid = g_array_index(gone, uint32_t, i);
    say(r, "%s: message %u has no file; %s", path, uid,
        check_only ? "would drop it" : "dropping it");
    if (!check_only)
      sc_folder_log_expunge(f, uid, NULL);
  }
  /* files the index does not know */
  for (guint i = 0; i < files->len; i++) {
    uint32_t uid = g_array_index(files, uint32_t, i);
    if (sc_folder_find(f, uid, NULL) != NULL)
      continue;
    char *file = find_file(path, uid, f->hash_threshold);
    if (g_hash_table_contains(tombs, GUINT_TO_POINTER(uid))) {
      say(r, "%s: message %u was expunged but its file remains; %s", path,
          uid, check_only ? "would remove it" : "removing it");
      if (!check_only)
        unlink(file);
    } else {
      say(r, "%s: message file %u is not in the index; %s", path, uid,
          check_only ? "would add it" : "adding it");
      if (!check_only && !index_file(f, file, uid, NULL))
        say(r, "%s: cannot add message %u", path, uid);
    }
    g_free(file);
  }
  if (force && !check_only) {
    /* regenerate every cache record from the files */
    for (guint i = 0; i < f->recs->len; i++) {
      uint32_t uid = g_array_index(f->recs, sc_rec, i).uid;
      char *file = sc_folder_msg_path(f, uid);
      GMappedFile *map = g_mapped_file_new(file, FALSE, NULL);
      sc_msginfo *info =
          sc_mime_parse(map ? g_mapped_file_get_contents(map) : "",
                        map ? g_mapped_file_get_length(map) : 0);
      if (map != NULL)
        g_mapped_file_unref(map);
      sc_wbuf *b = g_byte_array_new();
      sc_msginfo_encode(info, uid, b);
      sc_folder_log_cache(f, uid, b->data, b->len, NULL);
      g_byte_array_free(b, TRUE);
      sc_msginfo_free(&info);
      g_free(file);
    }
    say(r, "%s: cache rebuilt for %u messages", path, f->recs->len);
  }
  if (!check_only) {
    ok = sc_folder_checkpoint(f, error);
    sc_folder_write_end(f);
  }
  g_mutex_unlock(&f->mu);
  sc_folder_unref(&f);
  g_array_free(gone, TRUE);
  g_array_free(files, TRUE);
  g_hash_table_destroy(tombs);
  return ok;
}

/* ------------------------------------------------------------ users */

/* scan_tree - every folder under the user directory DIR: name ->
 * selectable? (placeholders have no index) */
static void scan_tree(sc_store *st, const char *dir, const char *prefix,
                      GHashTable *out, unsigned depth) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  if (depth > 64)
    return;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    if (name[0] != '=')
      continue;
    char *comp = sc_decode_component(name + 1);
    if (comp == NULL)
      continue;
    char sep[2] = {st->separator, '\0'};
    char *full = *prefix ? g_strconcat(prefix, sep, comp, NULL)
                         : g_strdup(comp);
    char *sub = g_build_filename(dir, name, NULL);
    g_hash_table_insert(out, g_strdup(full),
                        GINT_TO_POINTER(sc_folder_index_ok(sub) ? 1 : 2));
    scan_tree(st, sub, full, out, depth + 1);
    g_free(sub);
    g_free(full);
    g_free(comp);
  }
  if (d != NULL)
    g_dir_close(d);
}

/* record_user - the records of OWNER on PARTITION from its directory
 * (inside transaction TX) */
static void record_user(sc_store *st, sc_mltx *tx, const char *owner,
                        const char *partition, const char *dir, rctx *r,
                        bool fast) {
  GHashTable *tree = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  g_hash_table_insert(tree, g_strdup("INBOX"), GINT_TO_POINTER(1));
  scan_tree(st, dir, "", tree, 0);
  /* INBOX's children live in =INBOX, which is not a folder itself */
  GHashTableIter it;
  gpointer key, value;
  GPtrArray *existing = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  sc_mltx_folders(tx, owner, existing);
  for (guint i = 0; i < existing->len; i++) {
    const sc_mbox *m = existing->pdata[i];
    if (!g_hash_table_contains(tree, m->name)) {
      if (r != NULL)
        say(r, "user/%s/%s: in the mailbox list but not on disk; removed",
            owner, m->name);
      sc_mltx_del(tx, owner, m->name);
    }
  }
  g_ptr_array_free(existing, TRUE);
  g_hash_table_iter_init(&it, tree);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const char *name = key;
    sc_mbox *old = NULL;
    sc_mltx_get(tx, owner, name, &old);
    bool selectable = GPOINTER_TO_INT(value) == 1;
    if (fast && old != NULL &&
        ((old->flags & SC_MBOX_NOSELECT) != 0) == !selectable) {
      /* a restored record that still matches the disk: keep it */
      sc_mbox_free(old);
      continue;
    }
    char *rel = sc_folder_relpath(name, st->separator);
    char *path = *rel ? g_build_filename(dir, rel, NULL) : g_strdup(dir);
    sc_mbox m = {0};
    m.owner = (char *)owner;
    m.name = (char *)name;
    m.created = old != NULL ? old->created : g_get_real_time() / G_USEC_PER_SEC;
    if (GPOINTER_TO_INT(value) == 1) {
      GError *err = NULL;
      sc_folder *f = sc_folder_get(st, path, &err);
      if (f != NULL) {
        m.uidvalidity = f->uidvalidity;
        m.mailbox_id = f->mailbox_id;
        m.special_use = f->special_use;
        m.acl = f->acl != NULL ? f->acl : "";
        if (old == NULL && r != NULL)
          say(r, "user/%s/%s: on disk but not in the mailbox list; added",
              owner, name);
        sc_mltx_put(tx, &m);
        sc_folder_unref(&f);
      }
      g_clear_error(&err);
    } else if (!g_str_equal(name, "INBOX")) {
      m.flags = SC_MBOX_NOSELECT;
      m.acl = "";
      sc_mltx_put(tx, &m);
    }
    sc_mbox_free(old);
    g_free(rel);
    g_free(path);
  }
  /* subscriptions from the user-area copy */
  char *subs_path = g_build_filename(dir, "store.sub", NULL);
  char *text = NULL;
  if (g_file_get_contents(subs_path, &text, NULL, NULL)) {
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++)
      if (**l != '\0')
        sc_mltx_subscribe(tx, owner, *l, true);
    g_strfreev(lines);
  }
  g_free(text);
  g_free(subs_path);
  sc_userrec *u = NULL;
  if (sc_mltx_user(tx, owner, &u) != CURSUS_OK ||
      !g_str_equal(u->partition, partition)) {
    sc_userrec rec = {(char *)owner, (char *)partition,
                      g_get_real_time() / G_USEC_PER_SEC};
    sc_mltx_put_user(tx, &rec);
  }
  sc_userrec_free(u);
  g_hash_table_destroy(tree);
}

bool sc_repair_user_list(sc_store *st, const char *owner,
                         const char *partition, GError **error) {
  sc_partition *p = sc_store_partition(st, partition);
  char *dir = p != NULL ? sc_user_dir(p->path, owner) : NULL;
  if (dir == NULL) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "no such partition");
    return false;
  }
  sc_log(CURSUS_LOG_NOTICE, "recording the mailboxes of %s found on "
         "partition %s in the mailbox list", owner, partition);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL) {
    g_free(dir);
    return false;
  }
  record_user(st, tx, owner, partition, dir, NULL, false);
  g_free(dir);
  return sc_mboxlist_commit(&tx, error);
}

/* each_user_dir - call CB for every user directory on every partition */
typedef void user_dir_cb(void *data, const char *owner, sc_partition *p,
                         const char *dir);

static void each_user_dir(sc_store *st, user_dir_cb *cb, void *data) {
  for (guint i = 0; i < st->partitions->len; i++) {
    sc_partition *p = st->partitions->pdata[i];
    char *top = g_build_filename(p->path, "=user", NULL);
    GDir *d1 = g_dir_open(top, 0, NULL);
    const char *h1;
    while (d1 != NULL && (h1 = g_dir_read_name(d1)) != NULL) {
      char *p1 = g_build_filename(top, h1, NULL);
      GDir *d2 = g_dir_open(p1, 0, NULL);
      const char *h2;
      while (d2 != NULL && (h2 = g_dir_read_name(d2)) != NULL) {
        char *p2 = g_build_filename(p1, h2, NULL);
        GDir *d3 = g_dir_open(p2, 0, NULL);
        const char *u;
        while (d3 != NULL && (u = g_dir_read_name(d3)) != NULL) {
          if (u[0] != '=')
            continue;
          char *owner = sc_decode_component(u + 1);
          char *dir = g_build_filename(p2, u, NULL);
          if (owner != NULL)
            cb(data, owner, p, dir);
          g_free(owner);
          g_free(dir);
        }
        if (d3 != NULL)
          g_dir_close(d3);
        g_free(p2);
      }
      if (d2 != NULL)
        g_dir_close(d2);
      g_free(p1);
    }
    if (d1 != NULL)
      g_dir_close(d1);
    g_free(top);
  }
}

struct rebuild_all {
  sc_store *st;
  sc_mltx *tx;
  rctx *r;
  GHashTable *seen;
  bool fast; /* keep records that still match the disk */
};

static void rebuild_one(void *data, const char *owner, sc_partition *p,
                        const char *dir) {
  struct rebuild_all *ra = data;
  g_hash_table_add(ra->seen, g_strdup(owner));
  record_user(ra->st, ra->tx, owner, p->name, dir, ra->r, ra->fast);
}

/* rebuild_mboxlist - the mailbox list from the partitions; FAST keeps
 * records that still match the disk (snapshot recovery) */
static bool rebuild_mboxlist(sc_store *st, rctx *r, bool fast, bool clear,
                             GError **error) {
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL)
    return false;
  if (clear)
    sc_mltx_clear(tx);
  struct rebuild_all ra = {st, tx, r,
                           g_hash_table_new_full(g_str_hash, g_str_equal,
                                                 g_free, NULL),
                           fast};
  each_user_dir(st, rebuild_one, &ra);
  /* users recorded but gone from every partition */
  GPtrArray *users = g_ptr_array_new_with_free_func(
      (GDestroyNotify)sc_userrec_free);
  sc_mltx_users(tx, users);
  for (guint i = 0; i < users->len && !clear; i++) {
    const sc_userrec *u = users->pdata[i];
    if (g_hash_table_contains(ra.seen, u->user))
      continue;
    say(r, "user %s: recorded but has no directory; removed", u->user);
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
    sc_mltx_folders(tx, u->user, list);
    for (guint k = 0; k < list->len; k++)
      sc_mltx_del(tx, u->user, ((sc_mbox *)list->pdata[k])->name);
    g_ptr_array_free(list, TRUE);
    sc_mltx_del_user(tx, u->user);
  }
  g_ptr_array_free(users, TRUE);
  g_hash_table_destroy(ra.seen);
  if (r->flags & CURSUS_STORE_RECONSTRUCT_CHECK) {
    sc_mboxlist_abort(&tx);
    return true;
  }
  return sc_mboxlist_commit(&tx, error);
}

/* ------------------------------------------------------------ entry */

/* reconstruct_user - every folder of OWNER (NAME alone, or NAME and
 * below when RECURSIVE; NULL for all) */
static bool reconstruct_user(rctx *r, const char *owner, const char *name,
                             GError **error) {
  sc_store *st = r->st;
  char *dir = sc_store_user_dir(st, owner, NULL, error);
  if (dir == NULL)
    return false;
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  sc_mboxlist_folders(st->mboxlist, owner, list, NULL);
  char sep[2] = {st->separator, '\0'};
  char *prefix = name != NULL ? g_strconcat(name, sep, NULL) : NULL;
  bool ok = true;
  for (guint i = 0; i < list->len; i++) {
    const sc_mbox *m = list->pdata[i];
    if (m->flags & SC_MBOX_NOSELECT)
      continue;
    if (name != NULL && !g_str_equal(m->name, name) &&
        !((r->flags & CURSUS_STORE_RECONSTRUCT_RECURSIVE) &&
          g_str_has_prefix(m->name, prefix)))
      continue;
    char *rel = sc_folder_relpath(m->name, st->separator);
    char *path = *rel ? g_build_filename(dir, rel, NULL) : g_strdup(dir);
    GError *err = NULL;
    if (!check_folder(r, path, m, &err)) {
      say(r, "user/%s/%s: %s", owner, m->name, err ? err->message : "failed");
      g_clear_error(&err);
      ok = false;
    }
    g_free(rel);
    g_free(path);
  }
  if (ok && (r->flags & CURSUS_STORE_RECONSTRUCT_QUOTA) &&
      !(r->flags & CURSUS_STORE_RECONSTRUCT_CHECK)) {
    sc_ulock lk;
    if (sc_ulock_take(st, owner, dir, &lk, error)) {
      sc_usage before = lk.usage;
      sc_usage_recount(st, owner, lk.dir, &lk.usage, NULL);
      if (before.bytes != lk.usage.bytes ||
          before.messages != lk.usage.messages)
        say(r, "user %s: quota usage was %" G_GUINT64_FORMAT " bytes in %"
            G_GUINT64_FORMAT " messages; counted %" G_GUINT64_FORMAT
            " bytes in %" G_GUINT64_FORMAT,
            owner, before.bytes, before.messages, lk.usage.bytes,
            lk.usage.messages);
      sc_ulock_change(&lk, 0, 0);
      sc_ulock_release(&lk);
    } else {
      ok = false;
    }
  }
  g_free(prefix);
  g_ptr_array_free(list, TRUE);
  g_free(dir);
  return ok;
}

struct all_users {
  rctx *r;
  bool ok;
};

static int all_users_cb(void *data, const char *user, const char *partition) {
  struct all_users *a = data;
  GError *err = NULL;
  if (!reconstruct_user(a->r, user, NULL, &err)) {
    say(a->r, "user %s: %s", user, err != NULL ? err->message : "failed");
    g_clear_error(&err);
    a->ok = false;
  }
  return 0;
}

int sc_op_reconstruct(void *store, const char *target, unsigned flags,
                      void (*report)(void *data, const char *line), void *data,
                      const char **error_r) {
  sc_store *st = store;
  GError *err = NULL;
  rctx r = {st, flags, report, data, 0};
  bool ok = true;
  if (flags & CURSUS_STORE_RECONSTRUCT_MBOXLIST)
    ok = rebuild_mboxlist(st, &r, false, false, &err);
  if (ok && target == NULL) {
    struct all_users a = {&r, true};
    const char *e;
    sc_op_users_list(st, all_users_cb, &a, &e);
    ok = a.ok;
    if (!ok)
      sc_set_error(&err, CURSUS_STORE_E_CORRUPT,
                   "some mailboxes could not be repaired (see above)");
  } else if (ok) {
    /* "user/<id>" or "user/<id>/<mailbox>" */
    if (!g_str_has_prefix(target, "user/") || target[5] == '\0') {
      sc_set_error(&err, CURSUS_STORE_E_INVALID,
                   "name a mailbox as user/<id> or user/<id>/<mailbox>");
      ok = false;
    } else {
      const char *id = target + 5;
      const char *slash = strchr(id, '/');
      char *owner = slash ? g_strndup(id, (gsize)(slash - id)) : g_strdup(id);
      const char *name = slash ? slash + 1 : NULL;
      char *iname = name != NULL && g_ascii_strncasecmp(name, "INBOX", 5) == 0 &&
                            (name[5] == '\0' || name[5] == st->separator)
                        ? g_strconcat("INBOX", name + 5, NULL)
                        : g_strdup(name);
      ok = reconstruct_user(&r, owner, iname, &err);
      g_free(iname);
      g_free(owner);
    }
  }
  if (!ok)
    return sc_user_fail(NULL, err, error_r);
  if (r.findings == 0 && report != NULL)
    report(data, "no problems found");
  return CURSUS_OK;
}

bool sc_fast_recover(sc_store *st,
                     void (*report)(void *data, const char *line), void *data,
                     GError **error) {
  rctx r = {st, 0, report, data, 0};
  return rebuild_mboxlist(st, &r, true, false, error);
}
