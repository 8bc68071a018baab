/*
 * mailbox.c - mailbox operations by name: create, delete, rename,
 * subscribe, status, special use, ACLs, quota
 *
 * Structural changes take the owner's user lock, then change the
 * directories and the mailbox list.  Delete and rename record what they
 * are doing in the mailbox list first ("P" intent), so a crash at any
 * step is finished or undone by sc_repair_intents the next time the
 * owner's store is opened.
 */
#include "api.h"
#include "layout.h"
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

/* sc_rmtree - remove directory PATH and everything in it */
bool sc_rmtree(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  bool ok = true;
  if (d == NULL)
    return unlink(path) == 0 || errno == ENOENT;
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    char *sub = g_build_filename(path, name, NULL);
    struct stat st;
    if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
      ok = sc_rmtree(sub) && ok;
    else if (unlink(sub) < 0 && errno != ENOENT)
      ok = false;
    g_free(sub);
  }
  g_dir_close(d);
  if (rmdir(path) < 0 && errno != ENOENT)
    ok = false;
  return ok;
}

/* child_prefix - "NAME<sep>" */
static char *child_prefix(sc_store *st, const char *name) {
  char sep[2] = {st->separator, '\0'};
  return g_strconcat(name, sep, NULL);
}

/* has_children - does OWNER have mailboxes below NAME? */
static bool has_children(sc_store *st, const char *owner, const char *name) {
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  char *pre = child_prefix(st, name);
  bool found = false;
  if (sc_mboxlist_folders(st->mboxlist, owner, all, NULL))
    for (guint i = 0; i < all->len && !found; i++)
      found = g_str_has_prefix(((sc_mbox *)all->pdata[i])->name, pre);
  g_free(pre);
  g_ptr_array_free(all, TRUE);
  return found;
}

/* parent_name - NAME without its last component, or NULL at the top */
static char *parent_name(sc_store *st, const char *name) {
  const char *p = strrchr(name, st->separator);
  return p != NULL ? g_strndup(name, (gsize)(p - name)) : NULL;
}

/* folder_usage - messages and bytes of the folder at PATH */
static void folder_usage(sc_store *st, const char *path, uint64_t *msgs_r,
                         uint64_t *bytes_r) {
  GError *err = NULL;
  *msgs_r = *bytes_r = 0;
  sc_folder *f = sc_folder_get(st, path, &err);
  if (f == NULL) {
    g_clear_error(&err);
    return;
  }
  g_mutex_lock(&f->mu);
  if (sc_folder_refresh(f, &err)) {
    *msgs_r = f->recs->len;
    *bytes_r = f->bytes;
  }
  g_mutex_unlock(&f->mu);
  g_clear_error(&err);
  sc_folder_unref(&f);
}

/* ensure_parents - placeholders (\Noselect) for missing parents of NAME */
static bool ensure_parents(sc_store *st, sc_mltx *tx, const char *owner,
                           const char *owner_dir, const char *name,
                           GError **error) {
  char *parent = parent_name(st, name);
  bool ok = true;
  while (parent != NULL && ok) {
    sc_mbox *m = NULL;
    if (sc_mltx_get(tx, owner, parent, &m) == CURSUS_OK) {
      sc_mbox_free(m);
      break;
    }
    char *rel = sc_folder_relpath(parent, st->separator);
    char *path = rel != NULL ? g_build_filename(owner_dir, rel, NULL) : NULL;
    if (path == NULL || g_mkdir_with_parents(path, 0750) < 0) {
      sc_set_error(error, CURSUS_STORE_E_TEMP, "cannot create %s",
                   path != NULL ? path : parent);
      ok = false;
    } else {
      sc_mbox ph = {0};
      ph.owner = (char *)owner;
      ph.name = parent;
      ph.acl = "";
      ph.flags = SC_MBOX_NOSELECT;
      ph.created = g_get_real_time() / G_USEC_PER_SEC;
      sc_mltx_put(tx, &ph);
    }
    g_free(rel);
    g_free(path);
    char *up = parent_name(st, parent);
    g_free(parent);
    parent = up;
  }
  g_free(parent);
  return ok;
}

/* write_subscriptions - the user-area copy of USER's subscriptions, from
 * which reconstruct rebuilds them */
static void write_subscriptions(sc_store *st, const char *user,
                                const char *dir) {
  GPtrArray *subs = g_ptr_array_new_with_free_func(g_free);
  if (dir == NULL || !sc_mboxlist_subscriptions(st->mboxlist, user, subs,
                                                NULL)) {
    g_ptr_array_free(subs, TRUE);
    return;
  }
  GString *text = g_string_new(NULL);
  for (guint i = 0; i < subs->len; i++)
    g_string_append_printf(text, "%s\n", (char *)subs->pdata[i]);
  char *path = g_build_filename(dir, "store.sub", NULL);
  char *tmp = g_strconcat(path, ".new", NULL);
  if (g_file_set_contents(tmp, text->str, (gssize)text->len, NULL))
    rename(tmp, path);
  g_free(tmp);
  g_free(path);
  g_string_free(text, TRUE);
  g_ptr_array_free(subs, TRUE);
}

/* ------------------------------------------------------------ create */

bool sc_mailbox_create_loc(cursus_store_user *u, const sc_loc *loc,
                           uint32_t special_use, GError **error) {
  sc_store *st = u->st;
  if (g_ascii_strcasecmp(loc->name, "INBOX") == 0) {
    sc_set_error(error, CURSUS_STORE_E_EXISTS, "Mailbox already exists");
    return false;
  }
  /* in another user's or the public namespace: the parent's `k` right */
  if (!g_str_equal(loc->owner, u->id) &&
      !(u->flags & CURSUS_STORE_USER_ADMIN)) {
    char *parent = parent_name(st, loc->name);
    sc_mbox *pm = NULL;
    uint32_t rights = 0;
    if (parent != NULL &&
        sc_mboxlist_get(st->mboxlist, loc->owner, parent, &pm, NULL) ==
            CURSUS_OK)
      rights = sc_rights(u, pm);
    sc_mbox_free(pm);
    g_free(parent);
    if (!(rights & CURSUS_STORE_RIGHT_CREATE)) {
      sc_set_error(error, CURSUS_STORE_E_NOPERM,
                   "Permission denied: cannot create %s", loc->full);
      return false;
    }
  }
  const char *owner_dir = sc_owner_dir(
      u, loc->owner, g_str_equal(loc->owner, SC_SHARED_OWNER), error);
  if (owner_dir == NULL)
    return false;
  char *path = sc_folder_dir(u, loc->owner, loc->name, error);
  if (path == NULL)
    return false;
  sc_ulock lk;
  if (!sc_ulock_take(st, loc->owner, owner_dir, &lk, error)) {
    g_free(path);
    return false;
  }
  bool ok = false;
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  sc_mbox *old = NULL;
  if (tx == NULL)
    goto out;
  if (sc_mltx_get(tx, loc->owner, loc->name, &old) == CURSUS_OK &&
      !(old->flags & SC_MBOX_NOSELECT)) {
    sc_set_error(error, CURSUS_STORE_E_EXISTS, "Mailbox already exists");
    sc_mboxlist_abort(&tx);
    goto out;
  }
  if (!ensure_parents(st, tx, loc->owner, owner_dir, loc->name, error)) {
    sc_mboxlist_abort(&tx);
    goto out;
  }
  sc_mbox m = {0};
  m.owner = loc->owner;
  m.name = loc->name;
  m.special_use = special_use;
  m.acl = old != NULL ? old->acl : "";
  m.created = g_get_real_time() / G_USEC_PER_SEC;
  sc_folder_forget(st, path);
  if (sc_folder_index_ok(path) && old == NULL) {
    /* files of a creation a crash interrupted: take them over */
    sc_folder *f = sc_folder_get(st, path, error);
    if (f == NULL) {
      sc_mboxlist_abort(&tx);
      goto out;
    }
    m.uidvalidity = f->uidvalidity;
    m.mailbox_id = g_strdup(f->mailbox_id);
    sc_folder_unref(&f);
  } else {
    m.uidvalidity = sc_mltx_uidvalidity(tx);
    m.mailbox_id = g_strdup_printf("%08x%08x%08x", g_random_int(),
                                   g_random_int(), g_random_int());
    if (!sc_folder_create(st, path, m.uidvalidity, m.mailbox_id, special_use,
                          m.acl, true, error)) {
      g_free(m.mailbox_id);
      sc_mboxlist_abort(&tx);
      goto out;
    }
  }
  sc_mltx_put(tx, &m);
  g_free(m.mailbox_id);
  ok = sc_mboxlist_commit(&tx, error);
out:
  sc_mbox_free(old);
  sc_ulock_release(&lk);
  g_free(path);
  return ok;
}

int sc_op_mailbox_create(cursus_store_user *u, const char *name,
                         uint32_t special_use, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  if (!sc_name_resolve(u, name, &loc, &err))
    return sc_user_fail(u, err, error_r);
  bool ok = sc_mailbox_create_loc(u, &loc, special_use, &err);
  sc_loc_clear(&loc);
  if (!ok)
    return sc_user_fail(u, err, error_r);
  sc_user_ok(u);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ delete */

/* finish_delete - remove OWNER's folder NAME at PATH whose intent is
 * recorded; the renamed-away directory TRASH is removed last */
static bool finish_delete(sc_store *st, const char *owner, const char *name,
                          const char *path, const char *trash, sc_ulock *lk,
                          GError **error) {
  uint64_t msgs = 0, bytes = 0;
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    folder_usage(st, path, &msgs, &bytes);
    if (rename(path, trash) < 0 && errno != ENOENT) {
      sc_errno_error(error, errno, "cannot remove", path);
      return false;
    }
  }
  sc_folder_forget(st, path);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL)
    return false;
  sc_mltx_del(tx, owner, name);
  sc_mltx_set_intent(tx, owner, NULL);
  if (!sc_mboxlist_commit(&tx, error))
    return false;
  if (!sc_rmtree(trash))
    sc_log(CURSUS_LOG_WARNING, "could not remove all of %s", trash);
  if (msgs > 0 || bytes > 0)
    sc_ulock_change(lk, -(int64_t)bytes, -(int64_t)msgs);
  return true;
}

static bool finish_empty(sc_store *st, const char *owner, const char *path,
                         GError **error);

/* make_placeholder - drop the messages and index of a folder that keeps
 * children, leaving a \Noselect directory.  The mailbox list says so
 * first (with an intent, finished by sc_repair_intents after a crash), so
 * nobody finds a selectable mailbox without its index. */
static bool make_placeholder(sc_store *st, const sc_mbox *m, const char *path,
                             sc_ulock *lk, GError **error) {
  uint64_t msgs, bytes;
  folder_usage(st, path, &msgs, &bytes);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL)
    return false;
  sc_mbox ph = *m;
  ph.flags |= SC_MBOX_NOSELECT;
  ph.special_use = 0;
  sc_mltx_put(tx, &ph);
  char *intent = g_strdup_printf("empty\t%s", m->name);
  sc_mltx_set_intent(tx, m->owner, intent);
  g_free(intent);
  if (!sc_mboxlist_commit(&tx, error))
    return false;
  sc_ulock_change(lk, -(int64_t)bytes, -(int64_t)msgs);
  return finish_empty(st, m->owner, path, error);
}

/* finish_empty - remove a placeholder's files and its intent */
static bool finish_empty(sc_store *st, const char *owner, const char *path,
                         GError **error) {
  sc_folder_forget(st, path);
  GDir *d = g_dir_open(path, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    if (name[0] == '=')
      continue; /* a child folder */
    char *sub = g_build_filename(path, name, NULL);
    if (g_file_test(sub, G_FILE_TEST_IS_DIR))
      sc_rmtree(sub);
    else
      unlink(sub);
    g_free(sub);
  }
  if (d != NULL)
    g_dir_close(d);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL)
    return false;
  sc_mltx_set_intent(tx, owner, NULL);
  return sc_mboxlist_commit(&tx, error);
}

static char *trash_path(const char *owner_dir) {
  return g_strdup_printf("%s/.deleted-%08x%08x", owner_dir, g_random_int(),
                         g_random_int());
}

int sc_op_mailbox_delete(cursus_store_user *u, const char *name,
                         const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  sc_store *st = u->st;
  if (!sc_lookup_mbox(u, name, CURSUS_STORE_RIGHT_DELETE_MBOX, &loc, &m,
                      &err))
    return sc_user_fail(u, err, error_r);
  if (g_ascii_strcasecmp(loc.name, "INBOX") == 0) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "INBOX cannot be deleted");
    goto fail;
  }
  const char *owner_dir = sc_owner_dir(u, loc.owner, false, &err);
  char *path = owner_dir != NULL ? sc_folder_dir(u, loc.owner, loc.name, &err)
                                 : NULL;
  if (path == NULL)
    goto fail;
  sc_ulock lk;
  if (!sc_ulock_take(st, loc.owner, owner_dir, &lk, &err)) {
    g_free(path);
    goto fail;
  }
  bool ok;
  if (has_children(st, loc.owner, loc.name)) {
    if (m->flags & SC_MBOX_NOSELECT) {
      sc_set_error(&err, CURSUS_STORE_E_INVALID,
                   "Mailbox has children and is not selectable: delete them "
                   "first");
      ok = false;
    } else {
      ok = make_placeholder(st, m, path, &lk, &err);
    }
  } else {
    char *trash = trash_path(owner_dir);
    char *intent = g_strdup_printf("delete\t%s\t%s", loc.name, trash);
    sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
    ok = tx != NULL;
    if (ok) {
      sc_mltx_set_intent(tx, loc.owner, intent);
      ok = sc_mboxlist_commit(&tx, &err) &&
           finish_delete(st, loc.owner, loc.name, path, trash, &lk, &err);
    }
    g_free(intent);
    g_free(trash);
  }
  sc_ulock_release(&lk);
  g_free(path);
  if (!ok)
    goto fail;
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
fail:
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  return sc_user_fail(u, err, error_r);
}

/* ------------------------------------------------------------ rename */

/* rename_records - move every record of OLD and below to NEW */
static void rename_records(sc_store *st, sc_mltx *tx, const char *owner,
                           const char *old_name, const char *new_name) {
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  char *pre = child_prefix(st, old_name);
  sc_mltx_folders(tx, owner, all);
  for (guint i = 0; i < all->len; i++) {
    sc_mbox *m = all->pdata[i];
    const char *tail;
    if (g_str_equal(m->name, old_name))
      tail = "";
    else if (g_str_has_prefix(m->name, pre))
      tail = m->name + strlen(old_name);
    else
      continue;
    sc_mltx_del(tx, owner, m->name);
    sc_mltx_subscribe(tx, owner, m->name, false);
    char *nn = g_strconcat(new_name, tail, NULL);
    g_free(m->name);
    m->name = nn;
    sc_mltx_put(tx, m);
  }
  g_free(pre);
  g_ptr_array_free(all, TRUE);
}

/* finish_rename - the directory is at NEW: bring the list along */
static bool finish_rename(sc_store *st, const char *owner,
                          const char *owner_dir, const char *old_name,
                          const char *new_name, GError **error) {
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, error);
  if (tx == NULL)
    return false;
  GPtrArray *subs = g_ptr_array_new_with_free_func(g_free);
  sc_mltx_subscriptions(tx, owner, subs);
  if (!ensure_parents(st, tx, owner, owner_dir, new_name, error)) {
    sc_mboxlist_abort(&tx);
    g_ptr_array_free(subs, TRUE);
    return false;
  }
  rename_records(st, tx, owner, old_name, new_name);
  /* subscriptions follow the mailboxes they name */
  char *pre = child_prefix(st, old_name);
  for (guint i = 0; i < subs->len; i++) {
    const char *s = subs->pdata[i];
    if (g_str_equal(s, old_name) || g_str_has_prefix(s, pre)) {
      char *nn = g_strconcat(new_name, s + strlen(old_name), NULL);
      sc_mltx_subscribe(tx, owner, nn, true);
      g_free(nn);
    }
  }
  g_free(pre);
  g_ptr_array_free(subs, TRUE);
  sc_mltx_set_intent(tx, owner, NULL);
  return sc_mboxlist_commit(&tx, error);
}

static bool rename_inbox(cursus_store_user *u, const sc_loc *from,
                         const sc_loc *to, GError **error);

/* renamed_names_valid - would every mailbox below OLD_NAME still have a
 * valid name (depth, length) once it is below NEW_NAME? */
static bool renamed_names_valid(sc_store *st, const char *owner,
                                const char *old_name, const char *new_name,
                                GError **error) {
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
  char *pre = child_prefix(st, old_name);
  bool ok = sc_mboxlist_folders(st->mboxlist, owner, all, error);
  for (guint i = 0; ok && i < all->len; i++) {
    const sc_mbox *m = all->pdata[i];
    if (!g_str_has_prefix(m->name, pre))
      continue;
    char *nn = g_strconcat(new_name, m->name + strlen(old_name), NULL);
    ok = sc_name_check(st, nn, error);
    g_free(nn);
  }
  g_free(pre);
  g_ptr_array_free(all, TRUE);
  return ok;
}

int sc_op_mailbox_rename(cursus_store_user *u, const char *old_name,
                         const char *new_name, const char **error_r) {
  GError *err = NULL;
  sc_loc from, to = {0};
  sc_mbox *m = NULL, *exist = NULL;
  sc_store *st = u->st;
  char *old_path = NULL, *new_path = NULL;
  bool ok = false;
  if (!sc_lookup_mbox(u, old_name, CURSUS_STORE_RIGHT_DELETE_MBOX, &from, &m,
                      &err))
    return sc_user_fail(u, err, error_r);
  if (!sc_name_resolve(u, new_name, &to, &err))
    goto out;
  if (!g_str_equal(from.owner, to.owner)) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID,
                 "cannot rename a mailbox into another user's mailboxes");
    goto out;
  }
  if (sc_mboxlist_get(st->mboxlist, to.owner, to.name, &exist, NULL) ==
      CURSUS_OK) {
    sc_set_error(&err, CURSUS_STORE_E_EXISTS, "Mailbox already exists: %s",
                 new_name);
    goto out;
  }
  if (g_ascii_strcasecmp(to.name, "INBOX") == 0 ||
      (g_str_has_prefix(to.name, from.name) &&
       to.name[strlen(from.name)] == st->separator)) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID,
                 "cannot rename a mailbox to INBOX or below itself");
    goto out;
  }
  if (g_ascii_strcasecmp(from.name, "INBOX") == 0) {
    ok = rename_inbox(u, &from, &to, &err);
    goto out;
  }
  const char *owner_dir = sc_owner_dir(u, from.owner, false, &err);
  if (owner_dir == NULL)
    goto out;
  old_path = sc_folder_dir(u, from.owner, from.name, &err);
  new_path = old_path != NULL ? sc_folder_dir(u, to.owner, to.name, &err)
                              : NULL;
  if (new_path == NULL)
    goto out;
  sc_ulock lk;
  if (!sc_ulock_take(st, from.owner, owner_dir, &lk, &err))
    goto out;
  if (!renamed_names_valid(st, from.owner, from.name, to.name, &err)) {
    sc_ulock_release(&lk);
    goto out;
  }
  char *intent = g_strdup_printf("rename\t%s\t%s", from.name, to.name);
  sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
  if (tx != NULL) {
    sc_mltx_set_intent(tx, from.owner, intent);
    ok = sc_mboxlist_commit(&tx, &err);
  }
  g_free(intent);
  if (ok) {
    char *parent = g_path_get_dirname(new_path);
    if (g_mkdir_with_parents(parent, 0750) < 0 ||
        rename(old_path, new_path) < 0) {
      sc_errno_error(&err, errno, "cannot rename", old_path);
      ok = false;
      /* nothing moved: drop the intent */
      sc_mltx *undo = sc_mboxlist_begin(st->mboxlist, NULL);
      if (undo != NULL) {
        sc_mltx_set_intent(undo, from.owner, NULL);
        sc_mboxlist_commit(&undo, NULL);
      }
    } else {
      sc_crash_point("rename-moved");
      sc_folder_forget(st, old_path);
      ok = finish_rename(st, from.owner, owner_dir, from.name, to.name, &err);
    }
    g_free(parent);
  }
  sc_ulock_release(&lk);
  if (ok)
    write_subscriptions(st, from.owner, owner_dir);
out:
  g_free(old_path);
  g_free(new_path);
  sc_mbox_free(m);
  sc_mbox_free(exist);
  sc_loc_clear(&from);
  sc_loc_clear(&to);
  if (!ok)
    return sc_user_fail(u, err, error_r);
  sc_user_ok(u);
  return CURSUS_OK;
}

/* rename_inbox - RFC 3501: the messages move to a new mailbox, INBOX
 * stays (empty) with its children */
static bool rename_inbox(cursus_store_user *u, const sc_loc *from,
                         const sc_loc *to, GError **error) {
  if (!sc_mailbox_create_loc(u, to, 0, error))
    return false;
  cursus_store_mailbox *box = NULL;
  const char *e;
  if (sc_op_mailbox_open(u, from->full, 0, &box, &e) != CURSUS_OK) {
    sc_set_error(error, u->last_error, "%s", e);
    return false;
  }
  uint32_t n = sc_op_mailbox_count(box);
  bool ok = true;
  if (n > 0) {
    cursus_store_range all = {1, n};
    cursus_store_set set = {&all, 1, 0};
    uint32_t uv;
    ok = sc_op_message_move(box, &set, to->full, NULL, NULL, NULL, &uv, &e) ==
         CURSUS_OK;
    if (!ok)
      sc_set_error(error, u->last_error, "%s", e);
  }
  sc_op_mailbox_close(&box);
  return ok;
}

/* ------------------------------------------------------------ repair */

bool sc_repair_intents(sc_store *st, const char *owner, sc_ulock *lk) {
  GError *err = NULL;
  char *intent = sc_mboxlist_intent(st->mboxlist, owner, &err);
  if (intent == NULL) {
    g_clear_error(&err);
    return false;
  }
  char **v = g_strsplit(intent, "\t", 4);
  bool ok = true;
  sc_log(CURSUS_LOG_NOTICE, "finishing an interrupted operation on the "
         "mailboxes of %s: %s", owner, intent);
  if (g_strv_length(v) == 3 && g_str_equal(v[0], "delete")) {
    char *rel = sc_folder_relpath(v[1], st->separator);
    char *path = rel != NULL ? g_build_filename(lk->dir, rel, NULL) : NULL;
    ok = path != NULL &&
         finish_delete(st, owner, v[1], path, v[2], lk, &err);
    g_free(rel);
    g_free(path);
  } else if (g_strv_length(v) == 2 && g_str_equal(v[0], "empty")) {
    char *rel = sc_folder_relpath(v[1], st->separator);
    char *path = rel != NULL ? g_build_filename(lk->dir, rel, NULL) : NULL;
    ok = path != NULL && finish_empty(st, owner, path, &err);
    g_free(rel);
    g_free(path);
  } else if (g_strv_length(v) == 3 && g_str_equal(v[0], "rename")) {
    char *orel = sc_folder_relpath(v[1], st->separator);
    char *nrel = sc_folder_relpath(v[2], st->separator);
    char *op = orel ? g_build_filename(lk->dir, orel, NULL) : NULL;
    char *np = nrel ? g_build_filename(lk->dir, nrel, NULL) : NULL;
    if (op != NULL && np != NULL && !g_file_test(op, G_FILE_TEST_EXISTS) &&
        g_file_test(np, G_FILE_TEST_IS_DIR)) {
      ok = finish_rename(st, owner, lk->dir, v[1], v[2], &err);
    } else {
      /* the directory never moved: forget the intent */
      sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
      ok = tx != NULL;
      if (ok) {
        sc_mltx_set_intent(tx, owner, NULL);
        ok = sc_mboxlist_commit(&tx, &err);
      }
    }
    g_free(orel);
    g_free(nrel);
    g_free(op);
    g_free(np);
  } else {
    sc_mltx *tx = sc_mboxlist_begin(st->mboxlist, &err);
    ok = tx != NULL;
    if (ok) {
      sc_mltx_set_intent(tx, owner, NULL);
      ok = sc_mboxlist_commit(&tx, &err);
    }
  }
  if (!ok) {
    sc_log(CURSUS_LOG_ERROR, "cannot finish the interrupted operation on the "
           "mailboxes of %s: %s", owner, err != NULL ? err->message : "?");
    g_clear_error(&err);
  }
  g_strfreev(v);
  g_free(intent);
  /* a count made while the list and the directories disagreed (a folder
   * half renamed is in neither place) is wrong: count again */
  if (sc_usage_recount(st, owner, lk->dir, &lk->usage, &err))
    sc_ulock_change(lk, 0, 0);
  else
    sc_log(CURSUS_LOG_WARNING, "cannot recount the usage of %s: %s", owner,
           err->message);
  g_clear_error(&err);
  return true;
}

/* ------------------------------------------------------------ subscribe */

int sc_op_mailbox_subscribe(cursus_store_user *u, const char *name,
                            int subscribe, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  if (!sc_name_resolve(u, name, &loc, &err))
    return sc_user_fail(u, err, error_r);
  sc_mltx *tx = sc_mboxlist_begin(u->st->mboxlist, &err);
  bool ok = tx != NULL;
  if (ok) {
    sc_mltx_subscribe(tx, u->id, loc.full, subscribe != 0);
    ok = sc_mboxlist_commit(&tx, &err);
  }
  sc_loc_clear(&loc);
  if (!ok)
    return sc_user_fail(u, err, error_r);
  write_subscriptions(u->st, u->id, u->dir);
  sc_user_ok(u);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ status */

/* sc_unseen_for - unseen messages of F for the view's user */
uint32_t sc_unseen_for(sc_folder *f, const char *seen_user) {
  if (seen_user == NULL)
    return f->n_unseen;
  const GArray *set = sc_folder_user_seen(f, seen_user);
  uint32_t n = 0;
  for (guint i = 0; i < f->recs->len; i++)
    if (set == NULL ||
        !sc_uidset_has(set, g_array_index(f->recs, sc_rec, i).uid))
      n++;
  return n;
}

/* sc_fill_status - the fields of STATUS that F knows */
void sc_fill_status(sc_folder *f, const char *seen_user,
                    cursus_store_status *s) {
  uint32_t want = s->items, got = 0;
  if (want & CURSUS_STORE_STATUS_MESSAGES) {
    s->messages = f->recs->len;
    got |= CURSUS_STORE_STATUS_MESSAGES;
  }
  if (want & CURSUS_STORE_STATUS_RECENT) {
    guint at;
    sc_folder_find(f, f->recent_uid + 1, &at);
    s->recent = f->recs->len - at;
    got |= CURSUS_STORE_STATUS_RECENT;
  }
  if (want & CURSUS_STORE_STATUS_UIDNEXT) {
    s->uidnext = f->uidnext;
    got |= CURSUS_STORE_STATUS_UIDNEXT;
  }
  if (want & CURSUS_STORE_STATUS_UIDVALIDITY) {
    s->uidvalidity = f->uidvalidity;
    got |= CURSUS_STORE_STATUS_UIDVALIDITY;
  }
  if (want & CURSUS_STORE_STATUS_UNSEEN) {
    s->unseen = sc_unseen_for(f, seen_user);
    got |= CURSUS_STORE_STATUS_UNSEEN;
  }
  if (want & CURSUS_STORE_STATUS_DELETED) {
    s->deleted = f->n_deleted;
    got |= CURSUS_STORE_STATUS_DELETED;
  }
  if (want & CURSUS_STORE_STATUS_HIGHESTMODSEQ) {
    s->highestmodseq = f->highestmodseq;
    got |= CURSUS_STORE_STATUS_HIGHESTMODSEQ;
  }
  if (want & CURSUS_STORE_STATUS_SIZE) {
    s->bytes = f->bytes;
    got |= CURSUS_STORE_STATUS_SIZE;
  }
  if ((want & CURSUS_STORE_STATUS_MAILBOXID) && CURSUS_HAS(s, mailbox_id)) {
    s->mailbox_id = f->mailbox_id;
    got |= CURSUS_STORE_STATUS_MAILBOXID;
  }
  s->items = got;
}

int sc_op_mailbox_status(cursus_store_user *u, const char *name,
                         cursus_store_status *status, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, CURSUS_STORE_RIGHT_READ, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  sc_folder *f = NULL;
  char *path = NULL;
  if (m->flags & SC_MBOX_NOSELECT) {
    sc_set_error(&err, CURSUS_STORE_E_NOTFOUND, "Mailbox isn't selectable");
    goto fail;
  }
  path = sc_folder_dir(u, loc.owner, loc.name, &err);
  f = path != NULL ? sc_folder_get(u->st, path, &err) : NULL;
  if (f == NULL)
    goto fail;
  g_mutex_lock(&f->mu);
  bool ok = sc_folder_refresh(f, &err);
  if (ok) {
    bool owner = g_str_equal(loc.owner, u->id) ||
                 (u->flags & CURSUS_STORE_USER_ADMIN);
    sc_fill_status(f, owner ? NULL : u->id, status);
    if (status->items & CURSUS_STORE_STATUS_MAILBOXID) {
      /* the string must outlive the folder lock: keep it in the user */
      g_free(u->last_text);
      u->last_text = g_strdup(f->mailbox_id);
      status->mailbox_id = u->last_text;
    }
  }
  g_mutex_unlock(&f->mu);
  sc_folder_unref(&f);
  if (!ok)
    goto fail;
  g_free(path);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
fail:
  g_free(path);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  return sc_user_fail(u, err, error_r);
}

/* ------------------------------------------------------------ attributes */

/* update_record - change mailbox NAME's record with CHANGE and mirror it
 * into the folder's own log (reconstruct reads it back from there) */
static int update_record(cursus_store_user *u, const char *name,
                         uint32_t need,
                         void (*change)(sc_mbox *m, const void *arg),
                         const void *arg,
                         bool (*mirror)(sc_folder *f, const sc_mbox *m,
                                        GError **error),
                         const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, need, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  sc_mltx *tx = sc_mboxlist_begin(u->st->mboxlist, &err);
  bool ok = tx != NULL;
  if (ok) {
    sc_mbox *cur = NULL;
    if (sc_mltx_get(tx, loc.owner, loc.name, &cur) == CURSUS_OK) {
      change(cur, arg);
      sc_mltx_put(tx, cur);
      ok = sc_mboxlist_commit(&tx, &err);
      if (ok && !(cur->flags & SC_MBOX_NOSELECT)) {
        char *path = sc_folder_dir(u, loc.owner, loc.name, &err);
        sc_folder *f = path != NULL ? sc_folder_get(u->st, path, &err) : NULL;
        if (f != NULL) {
          g_mutex_lock(&f->mu);
          if (sc_folder_write_begin(f, &err)) {
            ok = mirror(f, cur, &err);
            sc_folder_write_end(f);
          } else {
            ok = false;
          }
          g_mutex_unlock(&f->mu);
          sc_folder_unref(&f);
        } else {
          ok = false;
        }
        g_free(path);
      }
    } else {
      sc_mboxlist_abort(&tx);
      sc_set_error(&err, CURSUS_STORE_E_NOTFOUND, "Mailbox doesn't exist");
      ok = false;
    }
    sc_mbox_free(cur);
  }
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  if (!ok)
    return sc_user_fail(u, err, error_r);
  sc_user_ok(u);
  return CURSUS_OK;
}

static void set_special(sc_mbox *m, const void *arg) {
  m->special_use = *(const uint32_t *)arg;
}

static bool mirror_special(sc_folder *f, const sc_mbox *m, GError **error) {
  return sc_folder_log_special_use(f, m->special_use, error);
}

int sc_op_mailbox_set_special_use(cursus_store_user *u, const char *name,
                                  uint32_t special_use, const char **error_r) {
  return update_record(u, name, CURSUS_STORE_RIGHT_WRITE, set_special,
                       &special_use, mirror_special, error_r);
}

struct acl_change {
  const char *identifier;
  cursus_store_acl_mode mode;
  uint32_t rights;
};

static void set_acl(sc_mbox *m, const void *arg) {
  const struct acl_change *c = arg;
  char *acl = sc_acl_set(m->acl, c->identifier, c->mode, c->rights);
  g_free(m->acl);
  m->acl = acl;
}

static bool mirror_acl(sc_folder *f, const sc_mbox *m, GError **error) {
  return sc_folder_log_acl(f, m->acl, error);
}

int sc_op_acl_set(cursus_store_user *u, const char *name,
                  const char *identifier, cursus_store_acl_mode mode,
                  uint32_t rights, const char **error_r) {
  GError *err = NULL;
  const char *id = identifier != NULL && *identifier == '-' ? identifier + 1
                                                            : identifier;
  if (id == NULL || *id == '\0' || strchr(identifier, '\t') != NULL ||
      strchr(identifier, '\n') != NULL || strlen(identifier) > 255) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "invalid identifier");
    return sc_user_fail(u, err, error_r);
  }
  struct acl_change c = {identifier, mode, rights & CURSUS_STORE_RIGHTS_ALL};
  return update_record(u, name, CURSUS_STORE_RIGHT_ADMIN, set_acl, &c,
                       mirror_acl, error_r);
}

struct acl_report {
  int (*cb)(void *data, const char *identifier, uint32_t rights);
  void *data;
  int stop;
};

static void acl_report_cb(void *data, const char *id, uint32_t rights) {
  struct acl_report *r = data;
  if (r->stop == 0)
    r->stop = r->cb(r->data, id, rights);
}

int sc_op_acl_get(cursus_store_user *u, const char *name,
                  int (*cb)(void *data, const char *identifier,
                            uint32_t rights),
                  void *data, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, 0, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  uint32_t rights = sc_rights(u, m);
  if (!(rights & CURSUS_STORE_RIGHT_ADMIN)) {
    sc_set_error(&err, CURSUS_STORE_E_NOPERM,
                 "Permission denied (needs the \"a\" right)");
    sc_mbox_free(m);
    sc_loc_clear(&loc);
    return sc_user_fail(u, err, error_r);
  }
  struct acl_report r = {cb, data, 0};
  if (!g_str_equal(m->owner, SC_SHARED_OWNER))
    r.stop = cb(data, m->owner, CURSUS_STORE_RIGHTS_ALL);
  if (r.stop == 0)
    sc_acl_each(m->acl, acl_report_cb, &r);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
}

int sc_op_acl_myrights(cursus_store_user *u, const char *name,
                       uint32_t *rights_r, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, 0, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  *rights_r = sc_rights(u, m);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
}

int sc_op_acl_listrights(cursus_store_user *u, const char *name,
                         const char *identifier, uint32_t *required_r,
                         uint32_t *optional_r, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, 0, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  if (!(sc_rights(u, m) & CURSUS_STORE_RIGHT_ADMIN)) {
    sc_set_error(&err, CURSUS_STORE_E_NOPERM,
                 "Permission denied (needs the \"a\" right)");
    sc_mbox_free(m);
    sc_loc_clear(&loc);
    return sc_user_fail(u, err, error_r);
  }
  bool owner = g_str_equal(identifier, m->owner);
  *required_r = owner ? CURSUS_STORE_RIGHTS_ALL : 0;
  *optional_r = owner ? 0 : CURSUS_STORE_RIGHTS_ALL;
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ quota */

int sc_op_quota_root(cursus_store_user *u, const char *name, cursus_buf *root,
                     const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  if (!sc_lookup_mbox(u, name, 0, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  char *r = g_strconcat("user/", loc.owner, NULL);
  sc_host->buf_append(root, r, strlen(r));
  g_free(r);
  sc_mbox_free(m);
  sc_loc_clear(&loc);
  sc_user_ok(u);
  return CURSUS_OK;
}

/* may_see_quota - U owns ROOT's store, is an admin, or reads a mailbox
 * of its owner */
static bool may_see_quota(cursus_store_user *u, const char *owner) {
  if (g_str_equal(owner, u->id) || (u->flags & CURSUS_STORE_USER_ADMIN))
    return true;
  const char *ids[] = {u->id, "anyone", "authenticated"};
  bool ok = false;
  for (size_t i = 0; i < G_N_ELEMENTS(ids) && !ok; i++) {
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)sc_mbox_free);
    if (sc_mboxlist_granted(u->st->mboxlist, ids[i], list, NULL))
      for (guint k = 0; k < list->len && !ok; k++) {
        const sc_mbox *m = list->pdata[k];
        ok = g_str_equal(m->owner, owner) &&
             (sc_rights(u, m) & CURSUS_STORE_RIGHT_READ);
      }
    g_ptr_array_free(list, TRUE);
  }
  return ok;
}

int sc_op_quota_get(cursus_store_user *u, const char *root,
                    cursus_store_quota *q, const char **error_r) {
  GError *err = NULL;
  const char *owner = u->id;
  if (root != NULL && *root != '\0') {
    if (!g_str_has_prefix(root, "user/") || root[5] == '\0') {
      sc_set_error(&err, CURSUS_STORE_E_NOTFOUND, "no such quota root: %s",
                   root);
      return sc_user_fail(u, err, error_r);
    }
    owner = root + 5;
  }
  if (!may_see_quota(u, owner)) {
    sc_set_error(&err, CURSUS_STORE_E_NOPERM, "Permission denied");
    return sc_user_fail(u, err, error_r);
  }
  const char *dir = sc_owner_dir(u, owner, false, &err);
  sc_usage us;
  if (dir == NULL)
    return sc_user_fail(u, err, error_r);
  if (!sc_usage_read_dir(dir, &us)) {
    memset(&us, 0, sizeof(us));
    us.bytes_limit = us.messages_limit = -1;
  } else if (us.seq & 1) {
    /* held by someone, or left by a crash: the lock waits for the holder
     * and counts again after a crash */
    sc_ulock lk;
    GError *lerr = NULL;
    if (sc_ulock_take(u->st, owner, dir, &lk, &lerr)) {
      us = lk.usage;
      sc_ulock_release(&lk);
    }
    g_clear_error(&lerr);
  }
  bool self = g_str_equal(owner, u->id);
  g_free(u->last_text);
  u->last_text = g_strconcat("user/", owner, NULL);
  q->root = u->last_text;
  q->bytes_used = us.bytes;
  q->messages_used = us.messages;
  q->bytes_limit = self ? u->acct.quota_bytes : us.bytes_limit;
  q->messages_limit = self ? u->acct.quota_messages : us.messages_limit;
  if (CURSUS_HAS(q, enforced))
    q->enforced = self ? u->acct.enforce_quota : (int)us.enforced;
  if (CURSUS_HAS(q, over_since))
    q->over_since = us.over_since;
  if (CURSUS_HAS(q, warned_at))
    q->warned_at = us.warned_at;
  sc_user_ok(u);
  return CURSUS_OK;
}

/* own_ulock - the user lock of U's own mailboxes; false with the error
 * recorded */
static bool own_ulock(cursus_store_user *u, sc_ulock *lk, GError **error) {
  if (u->dir == NULL) {
    sc_set_error(error, CURSUS_STORE_E_NOTFOUND, "%s has no mailboxes", u->id);
    return false;
  }
  return sc_ulock_take(u->st, u->id, u->dir, lk, error);
}

int sc_op_quota_set_warned(cursus_store_user *u, int64_t when,
                           const char **error_r) {
  GError *err = NULL;
  sc_ulock lk;
  if (!own_ulock(u, &lk, &err))
    return sc_user_fail(u, err, error_r);
  lk.usage.warned_at = when;
  sc_ulock_save(&lk);
  sc_ulock_release(&lk);
  sc_user_ok(u);
  return CURSUS_OK;
}

int sc_op_quota_claim_warned(cursus_store_user *u, int64_t expected,
                             int64_t when, const char **error_r) {
  GError *err = NULL;
  sc_ulock lk;
  if (!own_ulock(u, &lk, &err))
    return sc_user_fail(u, err, error_r);
  bool mine = lk.usage.warned_at == expected;
  if (mine) {
    lk.usage.warned_at = when;
    sc_ulock_save(&lk);
  }
  sc_ulock_release(&lk);
  sc_user_ok(u);
  return mine ? CURSUS_OK : CURSUS_NONE;
}
