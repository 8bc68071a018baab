/*
 * flags.c - changing messages of an open mailbox: flags and keywords,
 * expunge, copy and move
 */
#include "api.h"
#include "layout.h"
#include "mime.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static bool readonly(cursus_store_mailbox *box, GError **error) {
  if (box->flags & CURSUS_STORE_OPEN_READONLY) {
    sc_set_error(error, CURSUS_STORE_E_NOPERM, "the mailbox is read-only");
    return true;
  }
  return false;
}

/* allowed_flags - which system flags U may change (RFC 4314) */
static uint32_t allowed_flags(cursus_store_mailbox *box) {
  uint32_t a = 0;
  if (box->rights & CURSUS_STORE_RIGHT_SEEN)
    a |= CURSUS_STORE_SEEN;
  if (box->rights & CURSUS_STORE_RIGHT_WRITE)
    a |= CURSUS_STORE_ANSWERED | CURSUS_STORE_FLAGGED | CURSUS_STORE_DRAFT;
  if (box->rights & CURSUS_STORE_RIGHT_DELETE_MSG)
    a |= CURSUS_STORE_DELETED;
  return a;
}

static bool keyword_ok(const char *k) {
  if (*k == '\0' || *k == '\\' || strlen(k) > 100)
    return false;
  for (const char *p = k; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
      return false;
  }
  return true;
}

static gint u32_cmp(gconstpointer a, gconstpointer b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t mode_apply(cursus_store_flag_mode mode, uint32_t cur,
                           uint32_t v) {
  switch (mode) {
  case CURSUS_STORE_FLAGS_ADD:
    return cur | v;
  case CURSUS_STORE_FLAGS_REMOVE:
    return cur & ~v;
  default:
    return v;
  }
}

int sc_op_message_store_flags(cursus_store_mailbox *box,
                              const cursus_store_set *set,
                              cursus_store_flag_mode mode, uint32_t flags,
                              const char *const *keywords,
                              uint64_t unchangedsince,
                              void (*changed)(void *data, uint32_t seq,
                                              uint32_t uid),
                              void (*modified)(void *data, uint32_t seq,
                                               uint32_t uid),
                              void *data, const char **error_r) {
  GError *err = NULL;
  sc_folder *f = box->f;
  if (readonly(box, &err))
    return sc_user_fail(box->user, err, error_r);
  for (const char *const *k = keywords; k != NULL && *k != NULL; k++)
    if (!keyword_ok(*k)) {
      sc_set_error(&err, CURSUS_STORE_E_INVALID, "invalid keyword %s", *k);
      return sc_user_fail(box->user, err, error_r);
    }
  uint32_t allowed = allowed_flags(box);
  bool may_keywords = (box->rights & CURSUS_STORE_RIGHT_WRITE) != 0;
  flags &= CURSUS_STORE_FLAGS_SETTABLE;

  g_mutex_lock(&f->mu);
  if (!sc_folder_write_begin(f, &err)) {
    g_mutex_unlock(&f->mu);
    return sc_user_fail(box->user, err, error_r);
  }
  uint64_t kw[2] = {0, 0};
  bool ok = true;
  for (const char *const *k = keywords; k != NULL && *k != NULL && ok; k++) {
    int idx = sc_folder_keyword(f, *k, may_keywords &&
                                           mode != CURSUS_STORE_FLAGS_REMOVE,
                                &err);
    if (idx >= 0)
      kw[idx / 64] |= UINT64_C(1) << (idx % 64);
    else if (err != NULL)
      ok = false;
  }
  GArray *seqs = ok ? sc_view_seqs(box, set) : NULL;
  GArray *seen_set = NULL;
  if (ok && box->seen_user != NULL) {
    const GArray *cur = sc_folder_user_seen(f, box->seen_user);
    seen_set = sc_uidset_new();
    if (cur != NULL)
      g_array_append_vals(seen_set, cur->data, cur->len);
  }
  bool seen_changed = false;
  GArray *report = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (guint i = 0; ok && seqs != NULL && i < seqs->len; i++) {
    uint32_t seq = g_array_index(seqs, uint32_t, i);
    const sc_rec *r = sc_view_rec(box, seq, NULL);
    if (r == NULL)
      continue;
    if (unchangedsince != 0 && r->modseq > unchangedsince) {
      if (modified != NULL)
        modified(data, seq, r->uid);
      continue;
    }
    uint32_t cur = r->flags & SC_FLAG_MASK;
    uint32_t want = mode_apply(mode, cur, flags);
    if (seen_set != NULL) {
      /* a non-owner's \Seen lives in their own set */
      bool was = sc_uidset_has(seen_set, r->uid);
      bool now = mode_apply(mode, was ? CURSUS_STORE_SEEN : 0, flags) &
                 CURSUS_STORE_SEEN;
      if (now != was && (allowed & CURSUS_STORE_SEEN)) {
        if (now)
          sc_uidset_add(seen_set, r->uid, r->uid);
        else
          sc_uidset_remove(seen_set, r->uid);
        seen_changed = true;
        g_array_append_val(report, seq);
      }
      want = (want & ~CURSUS_STORE_SEEN) | (cur & CURSUS_STORE_SEEN);
    }
    uint32_t nf = (cur & ~allowed) | (want & allowed);
    uint64_t nk[2] = {r->kw[0], r->kw[1]};
    if (may_keywords)
      for (int w = 0; w < 2; w++)
        nk[w] = mode == CURSUS_STORE_FLAGS_REPLACE ? kw[w]
                : mode == CURSUS_STORE_FLAGS_ADD   ? r->kw[w] | kw[w]
                                                   : r->kw[w] & ~kw[w];
    if (nf == cur && nk[0] == r->kw[0] && nk[1] == r->kw[1])
      continue;
    uint32_t uid = r->uid;
    if (!sc_folder_log_flags(f, uid, nf, nk, &err)) {
      ok = false;
      break;
    }
    g_hash_table_insert(box->own, GUINT_TO_POINTER(uid),
                        GSIZE_TO_POINTER((gsize)f->highestmodseq));
    g_array_append_val(report, seq);
  }
  if (ok && seen_changed) {
    ok = sc_folder_log_seen(f, box->seen_user, seen_set, &err);
  }
  sc_folder_write_end(f);
  g_mutex_unlock(&f->mu);
  if (ok && changed != NULL) {
    g_array_sort(report, u32_cmp);
    for (guint i = 0; i < report->len; i++) {
      uint32_t seq = g_array_index(report, uint32_t, i);
      if (i > 0 && seq == g_array_index(report, uint32_t, i - 1))
        continue;
      changed(data, seq, sc_op_message_uid(box, seq));
    }
  }
  g_array_free(report, TRUE);
  if (seen_set != NULL)
    g_array_free(seen_set, TRUE);
  if (seqs != NULL)
    g_array_free(seqs, TRUE);
  if (!ok)
    return sc_user_fail(box->user, err, error_r);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ expunge */

bool sc_expunge_uids(sc_store *st, sc_folder *f, const char *owner,
                     const char *dir, const GArray *uids, GError **error) {
  sc_ulock lk;
  if (uids->len == 0)
    return true;
  if (!sc_ulock_take(st, owner, dir, &lk, error))
    return false;
  g_mutex_lock(&f->mu);
  if (!sc_folder_write_begin(f, error)) {
    g_mutex_unlock(&f->mu);
    sc_ulock_release(&lk);
    return false;
  }
  uint64_t bytes = 0;
  int64_t count = 0;
  bool ok = true;
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < uids->len && ok; i++) {
    uint32_t uid = g_array_index(uids, uint32_t, i);
    const sc_rec *r = sc_folder_find(f, uid, NULL);
    if (r == NULL)
      continue;
    uint64_t size = r->size;
    if (!sc_folder_log_expunge(f, uid, error)) {
      ok = false;
      break;
    }
    g_ptr_array_add(files, sc_folder_msg_path(f, uid));
    bytes += size;
    count++;
  }
  /* an expunge must survive a crash once reported */
  if (count > 0 && !sc_folder_sync_log(f, error))
    ok = false;
  sc_folder_write_end(f);
  g_mutex_unlock(&f->mu);
  for (guint i = 0; i < files->len; i++)
    if (unlink(files->pdata[i]) < 0 && errno != ENOENT)
      sc_log(CURSUS_LOG_WARNING, "cannot remove %s: %s",
             (char *)files->pdata[i], g_strerror(errno));
  g_ptr_array_free(files, TRUE);
  if (count > 0)
    sc_ulock_change(&lk, -(int64_t)bytes, -count);
  sc_ulock_release(&lk);
  return ok;
}

int sc_op_mailbox_expunge(cursus_store_mailbox *box,
                          const cursus_store_set *set,
                          void (*expunged)(void *data, uint32_t seq,
                                           uint32_t uid),
                          void *data, const char **error_r) {
  GError *err = NULL;
  sc_folder *f = box->f;
  if (readonly(box, &err))
    return sc_user_fail(box->user, err, error_r);
  if (!(box->rights & CURSUS_STORE_RIGHT_EXPUNGE)) {
    sc_set_error(&err, CURSUS_STORE_E_NOPERM,
                 "Permission denied (needs the \"e\" right)");
    return sc_user_fail(box->user, err, error_r);
  }
  const char *dir = sc_owner_dir(box->user, box->loc.owner, false, &err);
  if (dir == NULL)
    return sc_user_fail(box->user, err, error_r);
  /* which messages: \Deleted ones (as the folder says now), within SET */
  g_mutex_lock(&f->mu);
  bool ok = sc_folder_refresh(f, &err);
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *seqs = set != NULL ? sc_view_seqs(box, set) : NULL;
  if (ok && seqs != NULL) {
    for (guint i = 0; i < seqs->len; i++) {
      const sc_rec *r = sc_view_rec(box, g_array_index(seqs, uint32_t, i),
                                    NULL);
      if (r != NULL && (r->flags & CURSUS_STORE_DELETED))
        g_array_append_val(uids, r->uid);
    }
  } else if (ok) {
    for (guint i = 0; i < f->recs->len; i++) {
      const sc_rec *r = &g_array_index(f->recs, sc_rec, i);
      if (r->flags & CURSUS_STORE_DELETED)
        g_array_append_val(uids, r->uid);
    }
  }
  g_mutex_unlock(&f->mu);
  if (seqs != NULL)
    g_array_free(seqs, TRUE);
  if (ok)
    ok = sc_expunge_uids(box->user->st, f, box->loc.owner, dir, uids, &err);
  g_array_free(uids, TRUE);
  /* report what left the view, ours and others' */
  g_mutex_lock(&f->mu);
  sc_view_report_expunges(box, expunged, data);
  g_mutex_unlock(&f->mu);
  if (!ok)
    return sc_user_fail(box->user, err, error_r);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ copy */

static void item_free(sc_copy_item *it) {
  g_free((char *)it->src_path);
  g_free((char *)it->src_partition);
  if (it->keywords != NULL)
    g_ptr_array_free(it->keywords, TRUE);
  if (it->blob != NULL)
    g_bytes_unref(it->blob);
  g_free(it);
}

/* gather - what to copy of the view's messages in SET (mu held) */
static GPtrArray *gather(cursus_store_mailbox *box, const cursus_store_set *set,
                         GError **error) {
  sc_folder *f = box->f;
  GPtrArray *items = g_ptr_array_new_with_free_func((GDestroyNotify)item_free);
  GArray *seqs = sc_view_seqs(box, set);
  for (guint i = 0; i < seqs->len; i++) {
    uint32_t seq = g_array_index(seqs, uint32_t, i);
    const sc_rec *r = sc_view_rec(box, seq, NULL);
    if (r == NULL)
      continue;
    sc_copy_item *it = g_new0(sc_copy_item, 1);
    it->rec = *r;
    it->rec.flags = sc_view_flags(box, r) & SC_FLAG_MASK;
    it->src_path = sc_folder_msg_path(f, r->uid);
    it->src_partition = g_strdup(box->user->partition);
    it->keywords = g_ptr_array_new_with_free_func(g_free);
    for (uint32_t k = 0; k < f->keywords->len; k++)
      if (r->kw[k / 64] & (UINT64_C(1) << (k % 64)))
        g_ptr_array_add(it->keywords, g_strdup(f->keywords->pdata[k]));
    sc_msginfo *info = sc_folder_cache_get(f, r->uid, error);
    if (info == NULL) {
      item_free(it);
      g_ptr_array_free(items, TRUE);
      g_array_free(seqs, TRUE);
      return NULL;
    }
    sc_wbuf *b = g_byte_array_new();
    sc_msginfo_encode(info, 0, b);
    sc_msginfo_free(&info);
    it->blob = g_byte_array_free_to_bytes(b);
    g_ptr_array_add(items, it);
  }
  g_array_free(seqs, TRUE);
  return items;
}

static int copy_or_move(cursus_store_mailbox *box, const cursus_store_set *set,
                        const char *dest, bool move,
                        void (*copied)(void *data, uint32_t src_uid,
                                       uint32_t dst_uid),
                        void (*expunged)(void *data, uint32_t seq,
                                         uint32_t uid),
                        void *data, uint32_t *uidvalidity_r,
                        const char **error_r) {
  GError *err = NULL;
  sc_folder *f = box->f;
  if (move && !(box->rights & CURSUS_STORE_RIGHT_EXPUNGE)) {
    sc_set_error(&err, CURSUS_STORE_E_NOPERM,
                 "Permission denied (moving needs the \"e\" right)");
    return sc_user_fail(box->user, err, error_r);
  }
  if (move && readonly(box, &err))
    return sc_user_fail(box->user, err, error_r);
  g_mutex_lock(&f->mu);
  GPtrArray *items = gather(box, set, &err);
  g_mutex_unlock(&f->mu);
  if (items == NULL)
    return sc_user_fail(box->user, err, error_r);
  /* the source may be on another partition than the acting user's */
  const char *src_dir = sc_owner_dir(box->user, box->loc.owner, false, &err);
  char *src_part = NULL;
  if (src_dir != NULL) {
    char *d = sc_store_user_dir(box->user->st, box->loc.owner, &src_part, NULL);
    g_free(d);
  }
  for (guint i = 0; i < items->len && src_part != NULL; i++) {
    sc_copy_item *it = items->pdata[i];
    g_free((char *)it->src_partition);
    it->src_partition = g_strdup(src_part);
  }
  g_free(src_part);
  uint32_t uv = 0;
  bool ok = src_dir != NULL &&
            sc_copy_into(box->user, dest, items, &uv, &err);
  if (ok) {
    if (uidvalidity_r != NULL)
      *uidvalidity_r = uv;
    for (guint i = 0; i < items->len && copied != NULL; i++) {
      const sc_copy_item *it = items->pdata[i];
      copied(data, it->rec.uid, it->new_uid);
    }
  }
  if (ok && move) {
    GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; i < items->len; i++)
      g_array_append_val(uids, ((sc_copy_item *)items->pdata[i])->rec.uid);
    ok = sc_expunge_uids(box->user->st, f, box->loc.owner, src_dir, uids,
                         &err);
    g_array_free(uids, TRUE);
    g_mutex_lock(&f->mu);
    sc_view_report_expunges(box, expunged, data);
    g_mutex_unlock(&f->mu);
  }
  g_ptr_array_free(items, TRUE);
  if (!ok)
    return sc_user_fail(box->user, err, error_r);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

int sc_op_message_copy(cursus_store_mailbox *box, const cursus_store_set *set,
                       const char *dest,
                       void (*copied)(void *data, uint32_t src_uid,
                                      uint32_t dst_uid),
                       void *data, uint32_t *uidvalidity_r,
                       const char **error_r) {
  return copy_or_move(box, set, dest, false, copied, NULL, data,
                      uidvalidity_r, error_r);
}

int sc_op_message_move(cursus_store_mailbox *box, const cursus_store_set *set,
                       const char *dest,
                       void (*copied)(void *data, uint32_t src_uid,
                                      uint32_t dst_uid),
                       void (*expunged)(void *data, uint32_t seq,
                                        uint32_t uid),
                       void *data, uint32_t *uidvalidity_r,
                       const char **error_r) {
  return copy_or_move(box, set, dest, true, copied, expunged, data,
                      uidvalidity_r, error_r);
}
