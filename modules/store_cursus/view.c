/*
 * view.c - open mailboxes: sequence numbers, sync, and reading messages
 *
 * A view keeps the UID array it last synced to (shared with the folder
 * while nothing was expunged), so its sequence numbers stay put until
 * the caller syncs, whatever other sessions do meanwhile.
 */
#include "api.h"
#include "mime.h"

#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ basics */

uint32_t sc_view_flags(cursus_store_mailbox *box, const sc_rec *r) {
  uint32_t flags = r->flags & SC_FLAG_MASK;
  if (box->seen_user != NULL) {
    const GArray *set = sc_folder_user_seen(box->f, box->seen_user);
    flags &= ~CURSUS_STORE_SEEN;
    if (set != NULL && sc_uidset_has(set, r->uid))
      flags |= CURSUS_STORE_SEEN;
  }
  if (sc_uidset_has(box->recent, r->uid))
    flags |= CURSUS_STORE_RECENT;
  return flags;
}

const sc_rec *sc_view_rec(cursus_store_mailbox *box, uint32_t seq,
                          GError **error) {
  if (seq == 0 || seq > box->count) {
    sc_set_error(error, CURSUS_STORE_E_INVALID, "no message %u in the view",
                 seq);
    return NULL;
  }
  uint32_t uid = box->uids->v[seq - 1];
  sc_folder *f = box->f;
  if (seq - 1 < f->recs->len &&
      g_array_index(f->recs, sc_rec, seq - 1).uid == uid)
    return &g_array_index(f->recs, sc_rec, seq - 1);
  const sc_rec *r = sc_folder_find(f, uid, NULL);
  if (r == NULL)
    sc_set_error(error, CURSUS_STORE_E_EXPUNGED,
                 "message %u has been expunged", uid);
  return r;
}

/* seq_lower - first view index whose UID >= UID */
static uint32_t seq_lower(cursus_store_mailbox *box, uint32_t uid) {
  uint32_t lo = 0, hi = box->count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (box->uids->v[mid] < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

uint32_t sc_op_message_uid(cursus_store_mailbox *box, uint32_t seq) {
  return seq > 0 && seq <= box->count ? box->uids->v[seq - 1] : 0;
}

uint32_t sc_op_message_seq(cursus_store_mailbox *box, uint32_t uid) {
  uint32_t i = seq_lower(box, uid);
  return i < box->count && box->uids->v[i] == uid ? i + 1 : 0;
}

int sc_op_message_seq_range(cursus_store_mailbox *box, uint32_t first_uid,
                            uint32_t last_uid, uint32_t *first_seq_r,
                            uint32_t *last_seq_r) {
  uint32_t a = MIN(first_uid, last_uid), b = MAX(first_uid, last_uid);
  uint32_t lo = seq_lower(box, a);
  uint32_t hi = b == UINT32_MAX ? box->count : seq_lower(box, b + 1);
  if (lo >= hi)
    return CURSUS_NONE;
  *first_seq_r = lo + 1;
  *last_seq_r = hi;
  return CURSUS_OK;
}

static gint u32_cmp(gconstpointer a, gconstpointer b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

GArray *sc_view_seqs(cursus_store_mailbox *box, const cursus_store_set *set) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (size_t i = 0; set != NULL && i < set->n_ranges; i++) {
    uint32_t a = MIN(set->ranges[i].first, set->ranges[i].last);
    uint32_t b = MAX(set->ranges[i].first, set->ranges[i].last);
    if (set->by_uid) {
      if (sc_op_message_seq_range(box, a, b, &a, &b) != CURSUS_OK)
        continue;
    } else {
      if (a == 0)
        a = 1;
      b = MIN(b, box->count);
    }
    for (uint32_t s = a; s <= b && s != 0; s++) {
      g_array_append_val(out, s);
      if (s == UINT32_MAX)
        break;
    }
  }
  g_array_sort(out, u32_cmp);
  /* unique */
  guint w = 0;
  for (guint r = 0; r < out->len; r++)
    if (w == 0 || g_array_index(out, uint32_t, w - 1) !=
                      g_array_index(out, uint32_t, r))
      g_array_index(out, uint32_t, w++) = g_array_index(out, uint32_t, r);
  g_array_set_size(out, w);
  return out;
}

/* ------------------------------------------------------------ open */

/* claim_recent - this read-write view gets \Recent for what arrived
 * since anybody last claimed it (mu held) */
static void claim_recent(cursus_store_mailbox *box) {
  sc_folder *f = box->f;
  GError *err = NULL;
  if ((box->flags &
       (CURSUS_STORE_OPEN_READONLY | CURSUS_STORE_OPEN_NORECENT)) ||
      f->uidnext <= 1 ||
      f->uidnext - 1 <= f->recent_uid)
    return;
  if (!sc_folder_write_begin(f, &err)) {
    g_clear_error(&err);
    return;
  }
  uint32_t from = f->recent_uid + 1, to = f->uidnext - 1;
  if (to >= from && sc_folder_log_recent(f, to, &err))
    sc_uidset_add(box->recent, from, to);
  g_clear_error(&err);
  sc_folder_write_end(f);
}

static void view_reset(cursus_store_mailbox *box) {
  sc_folder *f = box->f;
  if (box->uids != NULL)
    sc_uids_unref(&box->uids);
  box->uids = sc_uids_ref(f->uids);
  box->count = f->uids->n;
  box->version = f->version;
  box->expunge_version = f->expunge_version;
  box->modseq = f->highestmodseq;
  box->n_keywords = f->keywords->len;
}

int sc_op_mailbox_open(cursus_store_user *u, const char *name, unsigned flags,
                       cursus_store_mailbox **box_r, const char **error_r) {
  GError *err = NULL;
  sc_loc loc;
  sc_mbox *m = NULL;
  *box_r = NULL;
  if (!sc_lookup_mbox(u, name, CURSUS_STORE_RIGHT_READ, &loc, &m, &err))
    return sc_user_fail(u, err, error_r);
  if (m->flags & SC_MBOX_NOSELECT) {
    sc_set_error(&err, CURSUS_STORE_E_NOTFOUND, "Mailbox isn't selectable: %s",
                 name);
    sc_mbox_free(m);
    sc_loc_clear(&loc);
    return sc_user_fail(u, err, error_r);
  }
  char *path = sc_folder_dir(u, loc.owner, loc.name, &err);
  sc_folder *f = path != NULL ? sc_folder_get(u->st, path, &err) : NULL;
  g_free(path);
  if (f == NULL) {
    sc_mbox_free(m);
    sc_loc_clear(&loc);
    return sc_user_fail(u, err, error_r);
  }
  cursus_store_mailbox *box = g_new0(cursus_store_mailbox, 1);
  box->user = u;
  box->f = f;
  box->loc = loc;
  box->m = m;
  box->rights = sc_rights(u, m);
  box->flags = flags;
  box->exclusive_fd = -1;
  box->recent = sc_uidset_new();
  box->own = g_hash_table_new(NULL, NULL);
  box->kw_tmp = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (!g_str_equal(loc.owner, u->id) && !(u->flags & CURSUS_STORE_USER_ADMIN))
    box->seen_user = g_strdup(u->id);
  g_mutex_lock(&f->mu);
  bool ok = sc_folder_refresh(f, &err);
  if (ok && (flags & CURSUS_STORE_OPEN_EXCLUSIVE)) {
    box->exclusive_fd = openat(f->dirfd, "store.pop",
                               O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (box->exclusive_fd < 0 ||
        flock(box->exclusive_fd, LOCK_EX | LOCK_NB) < 0) {
      sc_set_error(&err, CURSUS_STORE_E_INUSE,
                   "the mailbox is in use by another session");
      ok = false;
    }
  }
  if (ok) {
    view_reset(box);
    claim_recent(box);
  }
  g_mutex_unlock(&f->mu);
  u->children++;
  if (!ok) {
    sc_op_mailbox_close(&box);
    return sc_user_fail(u, err, error_r);
  }
  *box_r = box;
  sc_user_ok(u);
  return CURSUS_OK;
}

void sc_op_mailbox_close(cursus_store_mailbox **boxp) {
  cursus_store_mailbox *box = *boxp;
  if (box == NULL)
    return;
  *boxp = NULL;
  box->user->children--;
  if (box->exclusive_fd >= 0)
    close(box->exclusive_fd);
  if (box->uids != NULL)
    sc_uids_unref(&box->uids);
  sc_folder_unref(&box->f);
  sc_loc_clear(&box->loc);
  sc_mbox_free(box->m);
  g_array_free(box->recent, TRUE);
  g_hash_table_destroy(box->own);
  g_array_free(box->kw_tmp, TRUE);
  g_free(box->part_tmp.type);
  g_free(box->part_tmp.subtype);
  g_free(box->part_tmp.encoding);
  g_free(box->part_tmp.charset);
  sc_msginfo_free(&box->info_tmp);
  free(box->raw_tmp);
  g_free(box->email_id_tmp);
  g_free(box->seen_user);
  g_free(box);
}

const char *sc_op_mailbox_name(cursus_store_mailbox *box) {
  return box->loc.full;
}

uint32_t sc_op_mailbox_count(cursus_store_mailbox *box) { return box->count; }

const char *const *sc_op_mailbox_keywords(cursus_store_mailbox *box,
                                          size_t *count_r) {
  /* the list only grows; entries past n_keywords are not announced yet */
  *count_r = box->n_keywords;
  return (const char *const *)box->f->keywords->pdata;
}

/* ------------------------------------------------------------ state */

int sc_op_mailbox_state(cursus_store_mailbox *box, cursus_store_status *s,
                        const char **error_r) {
  sc_folder *f = box->f;
  uint32_t want = s->items, got = 0;
  g_mutex_lock(&f->mu);
  uint32_t unseen = 0, deleted = 0, recent = 0, first_unseen = 0;
  uint64_t bytes = 0;
  for (uint32_t seq = 1; seq <= box->count; seq++) {
    const sc_rec *r = sc_view_rec(box, seq, NULL);
    if (r == NULL)
      continue;
    uint32_t fl = sc_view_flags(box, r);
    if (!(fl & CURSUS_STORE_SEEN)) {
      unseen++;
      if (first_unseen == 0)
        first_unseen = seq;
    }
    if (fl & CURSUS_STORE_DELETED)
      deleted++;
    if (fl & CURSUS_STORE_RECENT)
      recent++;
    bytes += r->size;
  }
  s->messages = box->count;
  s->recent = recent;
  s->unseen = unseen;
  s->deleted = deleted;
  s->first_unseen = first_unseen;
  s->uidnext = MAX(f->uidnext, box->count > 0
                                   ? box->uids->v[box->count - 1] + 1
                                   : 1);
  s->uidvalidity = f->uidvalidity;
  s->highestmodseq = box->modseq;
  s->bytes = bytes;
  got = want & (CURSUS_STORE_STATUS_ALL | CURSUS_STORE_STATUS_FIRST_UNSEEN);
  if ((want & CURSUS_STORE_STATUS_MAILBOXID) && CURSUS_HAS(s, mailbox_id)) {
    g_free(box->email_id_tmp);
    box->email_id_tmp = g_strdup(f->mailbox_id);
    s->mailbox_id = box->email_id_tmp;
  }
  if (CURSUS_HAS(s, may_create_keywords)) {
    uint32_t perm = 0;
    if (box->rights & CURSUS_STORE_RIGHT_SEEN)
      perm |= CURSUS_STORE_SEEN;
    if (box->rights & CURSUS_STORE_RIGHT_WRITE)
      perm |= CURSUS_STORE_ANSWERED | CURSUS_STORE_FLAGGED | CURSUS_STORE_DRAFT;
    if (box->rights & CURSUS_STORE_RIGHT_DELETE_MSG)
      perm |= CURSUS_STORE_DELETED;
    s->read_only = (box->flags & CURSUS_STORE_OPEN_READONLY) ||
                   !(box->rights &
                     (CURSUS_STORE_RIGHT_SEEN | CURSUS_STORE_RIGHT_WRITE |
                      CURSUS_STORE_RIGHT_DELETE_MSG |
                      CURSUS_STORE_RIGHT_EXPUNGE));
    s->permanent_flags = s->read_only ? 0 : perm;
    s->may_create_keywords = !s->read_only &&
                             (box->rights & CURSUS_STORE_RIGHT_WRITE) &&
                             f->keywords->len < SC_MAX_KEYWORDS;
  }
  s->items = got;
  g_mutex_unlock(&f->mu);
  (void)error_r;
  return CURSUS_OK;
}

/* ------------------------------------------------------------ sync */

void sc_view_report_expunges(cursus_store_mailbox *box,
                             void (*expunged)(void *data, uint32_t seq,
                                              uint32_t uid),
                             void *data) {
  sc_folder *f = box->f;
  if (box->expunge_version == f->expunge_version)
    return;
  /* survivors of the view, then what arrived after them */
  sc_uids *old = box->uids;
  uint32_t removed = 0, survivors = 0;
  for (uint32_t i = 0; i < box->count; i++) {
    uint32_t uid = old->v[i];
    if (sc_folder_find(f, uid, NULL) == NULL) {
      if (expunged != NULL)
        expunged(data, i + 1 - removed, uid);
      removed++;
      g_hash_table_remove(box->own, GUINT_TO_POINTER(uid));
      sc_uidset_remove(box->recent, uid);
    } else {
      survivors++;
    }
  }
  box->uids = sc_uids_ref(f->uids);
  sc_uids_unref(&old);
  box->count = survivors;
  box->expunge_version = f->expunge_version;
}

int sc_op_mailbox_sync(cursus_store_mailbox *box, unsigned flags,
                       const cursus_store_sync_cb *cb, void *data,
                       const char **error_r) {
  sc_folder *f = box->f;
  GError *err = NULL;
  static const cursus_store_sync_cb none = {sizeof(cursus_store_sync_cb)};
  if (cb == NULL)
    cb = &none;
  g_mutex_lock(&f->mu);
  sc_folder_ahead_clear(f);
  if (!sc_folder_refresh(f, &err)) {
    g_mutex_unlock(&f->mu);
    return sc_user_fail(box->user, err, error_r);
  }
  uint32_t old_count = box->count;
  uint32_t old_recent = 0;
  for (uint32_t i = 0; i < box->count; i++)
    old_recent += sc_uidset_has(box->recent, box->uids->v[i]);

  if (!(flags & CURSUS_STORE_SYNC_NO_EXPUNGES)) {
    uint32_t before = box->count;
    sc_view_report_expunges(
        box, CURSUS_HAS(cb, expunged) ? cb->expunged : NULL, data);
    old_count -= before - box->count;
    /* new arrivals follow the survivors in the folder's array (which may
     * have moved as it grew) */
    if (box->uids != f->uids) {
      sc_uids_unref(&box->uids);
      box->uids = sc_uids_ref(f->uids);
    }
    box->count = f->uids->n;
  } else if (f->uids->n > 0) {
    /* keep expunged messages in place; append what is new */
    uint32_t last = box->count > 0 ? box->uids->v[box->count - 1] : 0;
    uint32_t first_new = 0;
    while (first_new < f->uids->n && f->uids->v[first_new] <= last)
      first_new++;
    uint32_t add = f->uids->n - first_new;
    if (add > 0) {
      if (box->uids == f->uids) {
        box->count = f->uids->n;
      } else {
        sc_uids *nu = g_malloc(sizeof(sc_uids) +
                               (size_t)(box->count + add) * 4);
        nu->refs = 1;
        nu->n = nu->cap = box->count + add;
        memcpy(nu->v, box->uids->v, (size_t)box->count * 4);
        memcpy(nu->v + box->count, f->uids->v + first_new, (size_t)add * 4);
        sc_uids_unref(&box->uids);
        box->uids = nu;
        box->count = nu->n;
      }
    }
  }
  claim_recent(box);
  if (box->n_keywords != f->keywords->len) {
    box->n_keywords = f->keywords->len;
    if (CURSUS_HAS(cb, keywords) && cb->keywords != NULL)
      cb->keywords(data);
  }
  /* flag changes by others since the last sync */
  if (f->highestmodseq > box->modseq && CURSUS_HAS(cb, changed) &&
      cb->changed != NULL) {
    for (uint32_t seq = 1; seq <= MIN(old_count, box->count); seq++) {
      const sc_rec *r = sc_view_rec(box, seq, NULL);
      if (r == NULL || r->modseq <= box->modseq)
        continue;
      gpointer own = g_hash_table_lookup(box->own, GUINT_TO_POINTER(r->uid));
      if (own != NULL && (uint64_t)GPOINTER_TO_SIZE(own) == r->modseq)
        continue;
      cb->changed(data, seq, r->uid);
    }
  }
  g_hash_table_remove_all(box->own);
  box->modseq = f->highestmodseq;
  box->version = f->version;
  if (box->count != old_count && CURSUS_HAS(cb, exists) && cb->exists != NULL)
    cb->exists(data, box->count);
  uint32_t recent = 0;
  for (uint32_t i = 0; i < box->count; i++)
    recent += sc_uidset_has(box->recent, box->uids->v[i]);
  if ((recent != old_recent || box->count != old_count) &&
      CURSUS_HAS(cb, recent) && cb->recent != NULL)
    cb->recent(data, recent);
  g_mutex_unlock(&f->mu);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ messages */

int sc_op_message_info(cursus_store_mailbox *box, uint32_t seq,
                       cursus_store_message *msg, const char **error_r) {
  sc_folder *f = box->f;
  GError *err = NULL;
  g_mutex_lock(&f->mu);
  const sc_rec *r = sc_view_rec(box, seq, &err);
  if (r == NULL) {
    g_mutex_unlock(&f->mu);
    return sc_user_fail(box->user, err, error_r);
  }
  msg->uid = r->uid;
  msg->flags = sc_view_flags(box, r);
  g_array_set_size(box->kw_tmp, 0);
  for (uint32_t k = 0; k < SC_MAX_KEYWORDS; k++)
    if (r->kw[k / 64] & (UINT64_C(1) << (k % 64)))
      g_array_append_val(box->kw_tmp, k);
  msg->n_keywords = box->kw_tmp->len;
  msg->keywords = (const uint32_t *)(void *)box->kw_tmp->data;
  msg->internal_date = r->internal_date;
  msg->internal_tz = r->internal_tz;
  msg->sent_date = r->sent_date;
  msg->sent_tz = r->sent_tz;
  msg->save_date = r->save_date;
  msg->rfc822_size = r->size;
  msg->modseq = r->modseq;
  if (CURSUS_HAS(msg, email_id)) {
    g_free(box->email_id_tmp);
    box->email_id_tmp = g_strdup_printf("M%016" G_GINT64_MODIFIER "x",
                                        (guint64)r->guid);
    msg->email_id = box->email_id_tmp;
  }
  if (CURSUS_HAS(msg, thread_id))
    msg->thread_id = NULL;
  g_mutex_unlock(&f->mu);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

struct sc_msginfo *sc_view_info(cursus_store_mailbox *box, uint32_t seq,
                                GError **error) {
  const sc_rec *r = sc_view_rec(box, seq, error);
  if (r == NULL)
    return NULL;
  if (box->info_tmp != NULL && box->info_uid == r->uid)
    return box->info_tmp;
  sc_msginfo *info = sc_folder_cache_get(box->f, r->uid, error);
  if (info == NULL)
    return NULL;
  sc_msginfo_free(&box->info_tmp);
  box->info_tmp = info;
  box->info_uid = r->uid;
  return info;
}

/* peek_field - FIELD of message SEQ straight from its encoded cache
 * record (no decoding of the rest) into DATA_R and LEN_R, valid until the
 * next call on BOX; false when that cannot answer (mu) */
static bool peek_field(cursus_store_mailbox *box, uint32_t seq,
                       cursus_store_field field, const char **data_r,
                       size_t *len_r) {
  const sc_rec *r = sc_view_rec(box, seq, NULL);
  if (r == NULL || (box->info_tmp != NULL && box->info_uid == r->uid))
    return false;
  if (box->raw_tmp == NULL || box->raw_uid != r->uid) {
    free(box->raw_tmp);
    box->raw_tmp = sc_folder_cache_raw(box->f, r->uid, &box->raw_len);
    box->raw_uid = r->uid;
  }
  bool truncated;
  return box->raw_tmp != NULL &&
         sc_msginfo_peek(box->raw_tmp, box->raw_len, r->uid, (int)field,
                         data_r, len_r, &truncated) &&
         !(field == CURSUS_STORE_FIELD_HEADER && truncated);
}

int sc_op_message_field(cursus_store_mailbox *box, uint32_t seq,
                        cursus_store_field field, cursus_buf *out,
                        const char **error_r) {
  GError *err = NULL;
  g_mutex_lock(&box->f->mu);
  const char *data;
  size_t len;
  if ((unsigned)field <= CURSUS_STORE_FIELD_HEADER &&
      peek_field(box, seq, field, &data, &len)) {
    sc_host->buf_append(out, data, len);
    g_mutex_unlock(&box->f->mu);
    sc_user_ok(box->user);
    return CURSUS_OK;
  }
  sc_msginfo *info = sc_view_info(box, seq, &err);
  if (info == NULL) {
    g_mutex_unlock(&box->f->mu);
    return sc_user_fail(box->user, err, error_r);
  }
  switch (field) {
  case CURSUS_STORE_FIELD_ENVELOPE:
    sc_host->buf_append(out, info->envelope->str, info->envelope->len);
    break;
  case CURSUS_STORE_FIELD_BODYSTRUCTURE:
    sc_host->buf_append(out, info->bodystructure->str,
                        info->bodystructure->len);
    break;
  case CURSUS_STORE_FIELD_BODY:
    sc_host->buf_append(out, info->body->str, info->body->len);
    break;
  case CURSUS_STORE_FIELD_HEADER:
    if (!info->header_truncated) {
      sc_host->buf_append(out, info->header->data, info->header->len);
    } else {
      g_mutex_unlock(&box->f->mu);
      return sc_op_message_headers(box, seq, "", NULL, 1, out, error_r);
    }
    break;
  default:
    g_mutex_unlock(&box->f->mu);
    sc_set_error(&err, CURSUS_STORE_E_UNSUPPORTED, "unknown field %d",
                 (int)field);
    return sc_user_fail(box->user, err, error_r);
  }
  g_mutex_unlock(&box->f->mu);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

/* read_range - LEN bytes at OFF of message SEQ's file (mu held) */
static GByteArray *read_range(cursus_store_mailbox *box, uint32_t seq,
                              uint64_t off, uint64_t len, GError **error) {
  const sc_rec *r = sc_view_rec(box, seq, error);
  if (r == NULL)
    return NULL;
  int fd = sc_folder_open_msg(box->f, r->uid, error);
  if (fd < 0)
    return NULL;
  GByteArray *b = g_byte_array_sized_new((guint)MIN(len, (uint64_t)1 << 24));
  g_byte_array_set_size(b, (guint)len);
  ssize_t n = len > 0 ? pread(fd, b->data, (size_t)len, (off_t)off) : 0;
  close(fd);
  if (n < 0) {
    sc_errno_error(error, errno, "cannot read a message of", box->f->path);
    g_byte_array_free(b, TRUE);
    return NULL;
  }
  g_byte_array_set_size(b, (guint)n);
  return b;
}

static bool part_id_ok(const char *part) {
  for (const char *p = part; *p; p++)
    if (!g_ascii_isdigit(*p) && !(*p == '.' && p != part && p[1] != '\0' &&
                                  p[1] != '.'))
      return false;
  return true;
}

struct filter_ctx {
  const char *const *names;
  bool exclude;
  const char *data;
  cursus_buf *out;
};

static bool filter_cb(void *ctx, const char *name, size_t nlen,
                      const char *value, size_t vlen, size_t off,
                      size_t flen) {
  struct filter_ctx *c = ctx;
  bool listed = false;
  for (const char *const *n = c->names; n != NULL && *n != NULL && !listed;
       n++)
    listed = strlen(*n) == nlen && g_ascii_strncasecmp(*n, name, nlen) == 0;
  if (listed != c->exclude)
    sc_host->buf_append(c->out, c->data + off, flen);
  return true;
}

int sc_op_message_headers(cursus_store_mailbox *box, uint32_t seq,
                          const char *part, const char *const *names,
                          int exclude, cursus_buf *out, const char **error_r) {
  GError *err = NULL;
  GByteArray *raw = NULL;
  const char *data;
  size_t len;
  if (part == NULL)
    part = "";
  if (!part_id_ok(part)) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "bad part number %s", part);
    return sc_user_fail(box->user, err, error_r);
  }
  g_mutex_lock(&box->f->mu);
  if (*part == '\0' &&
      peek_field(box, seq, CURSUS_STORE_FIELD_HEADER, &data, &len))
    goto filter;
  sc_msginfo *info = sc_view_info(box, seq, &err);
  if (info == NULL)
    goto fail;
  const sc_part *p = sc_msginfo_part(info, part);
  if (p == NULL || (p->hdr_len == 0 && *part != '\0')) {
    g_mutex_unlock(&box->f->mu);
    sc_user_ok(box->user);
    return CURSUS_NONE;
  }
  if (*part == '\0' && !info->header_truncated) {
    data = (const char *)info->header->data;
    len = info->header->len;
  } else {
    raw = read_range(box, seq, p->hdr_off, p->hdr_len, &err);
    if (raw == NULL)
      goto fail;
    data = (const char *)raw->data;
    len = raw->len;
  }
filter:;
  struct filter_ctx c = {names, exclude != 0, data, out};
  sc_header_each(data, len, filter_cb, &c);
  sc_host->buf_append(out, "\r\n", 2);
  if (raw != NULL)
    g_byte_array_free(raw, TRUE);
  g_mutex_unlock(&box->f->mu);
  sc_user_ok(box->user);
  return CURSUS_OK;
fail:
  g_mutex_unlock(&box->f->mu);
  return sc_user_fail(box->user, err, error_r);
}

static void set_tmp(char **slot, const char *value) {
  g_free(*slot);
  *slot = g_strdup(value);
}

int sc_op_message_part(cursus_store_mailbox *box, uint32_t seq,
                       const char *part, cursus_store_part *part_r,
                       const char **error_r) {
  GError *err = NULL;
  if (part == NULL)
    part = "";
  if (!part_id_ok(part)) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID, "bad part number %s", part);
    return sc_user_fail(box->user, err, error_r);
  }
  g_mutex_lock(&box->f->mu);
  sc_msginfo *info = sc_view_info(box, seq, &err);
  if (info == NULL) {
    g_mutex_unlock(&box->f->mu);
    return sc_user_fail(box->user, err, error_r);
  }
  const sc_part *p = sc_msginfo_part(info, part);
  if (p == NULL) {
    g_mutex_unlock(&box->f->mu);
    sc_user_ok(box->user);
    return CURSUS_NONE;
  }
  part_r->mime_offset = p->mime_off;
  part_r->mime_size = p->mime_len;
  part_r->body_offset = p->body_off;
  part_r->body_size = p->body_len;
  part_r->header_offset = p->hdr_off;
  part_r->header_size = p->hdr_len;
  part_r->text_offset = p->text_off;
  part_r->text_size = p->text_len;
  part_r->body_lines = p->lines;
  part_r->n_children = p->n_children;
  set_tmp(&box->part_tmp.type, p->type);
  set_tmp(&box->part_tmp.subtype, p->subtype);
  set_tmp(&box->part_tmp.encoding, p->encoding);
  set_tmp(&box->part_tmp.charset, p->charset);
  if (CURSUS_HAS(part_r, charset)) {
    part_r->type = box->part_tmp.type;
    part_r->subtype = box->part_tmp.subtype;
    part_r->encoding = box->part_tmp.encoding;
    part_r->charset = box->part_tmp.charset;
  }
  g_mutex_unlock(&box->f->mu);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

int sc_op_message_open(cursus_store_mailbox *box, uint32_t seq, int *fd_r,
                       uint64_t *size_r, const char **error_r) {
  GError *err = NULL;
  g_mutex_lock(&box->f->mu);
  const sc_rec *r = sc_view_rec(box, seq, &err);
  int fd = r != NULL ? sc_folder_open_msg(box->f, r->uid, &err) : -1;
  g_mutex_unlock(&box->f->mu);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) < 0) {
    sc_errno_error(&err, errno, "cannot stat a message of", box->f->path);
    close(fd);
    fd = -1;
  }
  if (fd < 0)
    return sc_user_fail(box->user, err, error_r);
  *fd_r = fd;
  *size_r = (uint64_t)st.st_size;
  sc_user_ok(box->user);
  return CURSUS_OK;
}

int sc_op_message_binary(cursus_store_mailbox *box, uint32_t seq,
                         const char *part, cursus_buf *out,
                         const char **error_r) {
  GError *err = NULL;
  cursus_store_part p = {.size = sizeof(p)};
  int r = sc_op_message_part(box, seq, part, &p, error_r);
  if (r != CURSUS_OK)
    return r;
  if (p.body_size > box->user->st->binary_limit) {
    sc_set_error(&err, CURSUS_STORE_E_LIMIT,
                 "the part is too large to decode");
    return sc_user_fail(box->user, err, error_r);
  }
  g_mutex_lock(&box->f->mu);
  GByteArray *raw = read_range(box, seq, p.body_offset, p.body_size, &err);
  g_mutex_unlock(&box->f->mu);
  if (raw == NULL)
    return sc_user_fail(box->user, err, error_r);
  GMimeContentEncoding enc =
      g_mime_content_encoding_from_string(box->part_tmp.encoding);
  if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
      enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      enc == GMIME_CONTENT_ENCODING_UUENCODE) {
    GMimeEncoding state;
    g_mime_encoding_init_decode(&state, enc);
    size_t outlen = g_mime_encoding_outlen(&state, raw->len) + 16;
    char *dec = g_malloc(outlen);
    size_t n = g_mime_encoding_step(&state, (const char *)raw->data, raw->len,
                                    dec);
    n += g_mime_encoding_flush(&state, "", 0, dec + n);
    sc_host->buf_append(out, dec, n);
    g_free(dec);
  } else {
    sc_host->buf_append(out, raw->data, raw->len);
  }
  g_byte_array_free(raw, TRUE);
  sc_user_ok(box->user);
  return CURSUS_OK;
}

/* ------------------------------------------------------------ resync */

int sc_op_mailbox_changed_since(cursus_store_mailbox *box, uint64_t modseq,
                                void (*changed)(void *data, uint32_t seq,
                                                uint32_t uid),
                                void *data, const char **error_r) {
  g_mutex_lock(&box->f->mu);
  for (uint32_t seq = 1; seq <= box->count; seq++) {
    const sc_rec *r = sc_view_rec(box, seq, NULL);
    if (r != NULL && r->modseq > modseq)
      changed(data, seq, r->uid);
  }
  g_mutex_unlock(&box->f->mu);
  sc_user_ok(box->user);
  (void)error_r;
  return CURSUS_OK;
}

int sc_op_mailbox_vanished_since(cursus_store_mailbox *box, uint64_t modseq,
                                 const cursus_store_set *known,
                                 void (*vanished)(void *data, uint32_t uid),
                                 void *data, const char **error_r) {
  sc_folder *f = box->f;
  g_mutex_lock(&f->mu);
  GArray *out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (modseq >= f->vanished_floor) {
    for (guint i = 0; i < f->tombs->len; i++) {
      const sc_tomb *t = &g_array_index(f->tombs, sc_tomb, i);
      if (t->modseq > modseq && (known == NULL || sc_set_has(known, t->uid)))
        g_array_append_val(out, t->uid);
    }
  } else {
    /* forgotten that far back: every known UID not in the mailbox */
    uint32_t top = f->uidnext > 0 ? f->uidnext - 1 : 0;
    cursus_store_range all = {1, top};
    const cursus_store_set everything = {&all, 1, 1};
    const cursus_store_set *k = known != NULL ? known : &everything;
    for (size_t i = 0; i < k->n_ranges; i++) {
      uint32_t a = MIN(k->ranges[i].first, k->ranges[i].last);
      uint32_t b = MIN(MAX(k->ranges[i].first, k->ranges[i].last), top);
      for (uint32_t uid = MAX(a, 1u); uid <= b && uid != 0; uid++)
        if (sc_folder_find(f, uid, NULL) == NULL)
          g_array_append_val(out, uid);
    }
  }
  g_mutex_unlock(&f->mu);
  g_array_sort(out, u32_cmp);
  for (guint i = 0; i < out->len; i++)
    if (i == 0 || g_array_index(out, uint32_t, i) !=
                      g_array_index(out, uint32_t, i - 1))
      vanished(data, g_array_index(out, uint32_t, i));
  g_array_free(out, TRUE);
  sc_user_ok(box->user);
  (void)error_r;
  return CURSUS_OK;
}
