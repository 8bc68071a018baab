/*
 * util.c - store_cursus helpers: errors, locks with a timeout, the
 * little-endian record format, bounded readers and UID sets
 */
#include "sc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

const cursus_host *sc_host;
cursus_module_ctx *sc_ctx;

GQuark sc_error_quark(void) { return g_quark_from_static_string("sc-error"); }

/* sc_set_error - set *ERROR to CODE with a formatted message */
void sc_set_error(GError **error, cursus_store_error code, const char *fmt,
                  ...) {
  va_list args;
  if (error == NULL)
    return;
  va_start(args, fmt);
  char *text = g_strdup_vprintf(fmt, args);
  va_end(args);
  g_clear_error(error);
  *error = g_error_new_literal(SC_ERROR, (gint)code, text);
  g_free(text);
}

/* sc_errno_error - an error for a failed system call on PATH: ENOSPC and
 * EDQUOT say the partition is full, everything else is temporary */
void sc_errno_error(GError **error, int errnum, const char *what,
                    const char *path) {
  cursus_store_error code = CURSUS_STORE_E_TEMP;
  if (errnum == ENOSPC || errnum == EDQUOT)
    code = CURSUS_STORE_E_NOSPACE;
  else if (errnum == EWOULDBLOCK)
    code = CURSUS_STORE_E_TEMP;
  sc_set_error(error, code, "%s %s: %s", what, path, g_strerror(errnum));
}

/* sc_status_of - the CURSUS_* status an error code maps to */
int sc_status_of(cursus_store_error code) {
  switch (code) {
  case CURSUS_STORE_E_NONE:
    return CURSUS_OK;
  case CURSUS_STORE_E_TEMP:
  case CURSUS_STORE_E_NOSPACE:
  case CURSUS_STORE_E_INUSE:
  case CURSUS_STORE_E_CORRUPT:
  case CURSUS_STORE_E_INTERNAL:
    return CURSUS_TEMPFAIL;
  default:
    return CURSUS_PERMFAIL;
  }
}

void sc_crash_point(const char *point) {
  const char *at = g_getenv("CURSUS_STORE_CRASH_AT");
  if (at != NULL && g_str_equal(at, point))
    _exit(137);
}

/* sc_flock - flock(FD, OP) retrying up to TIMEOUT_MS: a holder that never
 * lets go turns into a temporary failure instead of a hang */
bool sc_flock(int fd, int op, unsigned timeout_ms) {
  if (flock(fd, op | LOCK_NB) == 0)
    return true;
  if (errno != EWOULDBLOCK && errno != EINTR)
    return false;
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  unsigned sleep_us = 50;
  for (;;) {
    if (flock(fd, op | LOCK_NB) == 0)
      return true;
    if (errno != EWOULDBLOCK && errno != EINTR)
      return false;
    if (g_get_monotonic_time() >= deadline) {
      errno = EWOULDBLOCK;
      return false;
    }
    /* short naps: lock holders keep locks for milliseconds at most */
    g_usleep(sleep_us);
    if (sleep_us < 1000)
      sleep_us *= 2;
  }
}

/* ------------------------------------------------------------ binary */

void sc_put_u8(sc_wbuf *b, uint8_t v) { g_byte_array_append(b, &v, 1); }

void sc_put_u16(sc_wbuf *b, uint16_t v) {
  uint16_t le = GUINT16_TO_LE(v);
  g_byte_array_append(b, (const guint8 *)&le, 2);
}

void sc_put_u32(sc_wbuf *b, uint32_t v) {
  uint32_t le = GUINT32_TO_LE(v);
  g_byte_array_append(b, (const guint8 *)&le, 4);
}

void sc_put_u64(sc_wbuf *b, uint64_t v) {
  uint64_t le = GUINT64_TO_LE(v);
  g_byte_array_append(b, (const guint8 *)&le, 8);
}

void sc_put_bytes(sc_wbuf *b, const void *data, size_t len) {
  if (len > 0)
    g_byte_array_append(b, data, (guint)len);
}

/* sc_put_str - a u32 length and the bytes; NULL is length 0xffffffff */
void sc_put_str(sc_wbuf *b, const char *s, size_t len) {
  if (s == NULL) {
    sc_put_u32(b, 0xffffffffu);
    return;
  }
  sc_put_u32(b, (uint32_t)len);
  sc_put_bytes(b, s, len);
}

void sc_rbuf_init(sc_rbuf *r, const void *data, size_t len) {
  r->p = data;
  r->len = data != NULL ? len : 0;
  r->pos = 0;
  r->bad = false;
}

/* need - true when N more bytes are there; marks the reader bad if not */
static bool need(sc_rbuf *r, size_t n) {
  if (r->bad || n > r->len - r->pos) {
    r->bad = true;
    return false;
  }
  return true;
}

uint8_t sc_get_u8(sc_rbuf *r) {
  if (!need(r, 1))
    return 0;
  return r->p[r->pos++];
}

uint16_t sc_get_u16(sc_rbuf *r) {
  uint16_t v;
  if (!need(r, 2))
    return 0;
  memcpy(&v, r->p + r->pos, 2);
  r->pos += 2;
  return GUINT16_FROM_LE(v);
}

uint32_t sc_get_u32(sc_rbuf *r) {
  uint32_t v;
  if (!need(r, 4))
    return 0;
  memcpy(&v, r->p + r->pos, 4);
  r->pos += 4;
  return GUINT32_FROM_LE(v);
}

uint64_t sc_get_u64(sc_rbuf *r) {
  uint64_t v;
  if (!need(r, 8))
    return 0;
  memcpy(&v, r->p + r->pos, 8);
  r->pos += 8;
  return GUINT64_FROM_LE(v);
}

const uint8_t *sc_get_bytes(sc_rbuf *r, size_t len) {
  if (!need(r, len))
    return NULL;
  const uint8_t *p = r->p + r->pos;
  r->pos += len;
  return p;
}

const char *sc_get_str(sc_rbuf *r, size_t *len_r) {
  uint32_t n = sc_get_u32(r);
  *len_r = 0;
  if (r->bad || n == 0xffffffffu)
    return NULL;
  const uint8_t *p = sc_get_bytes(r, n);
  if (p == NULL)
    return NULL;
  *len_r = n;
  return (const char *)p;
}

char *sc_get_strdup(sc_rbuf *r) {
  size_t len;
  const char *s = sc_get_str(r, &len);
  return s != NULL ? g_strndup(s, len) : NULL;
}

/* ------------------------------------------------------------ records */

void sc_rec_pack(const sc_rec *r, uint8_t *out) {
  sc_wbuf *b = g_byte_array_sized_new(SC_REC_BYTES);
  sc_put_u32(b, r->uid);
  sc_put_u32(b, r->flags);
  sc_put_u64(b, r->modseq);
  sc_put_u64(b, r->kw[0]);
  sc_put_u64(b, r->kw[1]);
  sc_put_u64(b, (uint64_t)r->internal_date);
  sc_put_u64(b, (uint64_t)r->save_date);
  sc_put_u64(b, (uint64_t)r->sent_date);
  sc_put_u64(b, r->size);
  sc_put_u64(b, r->guid);
  sc_put_u16(b, (uint16_t)r->internal_tz);
  sc_put_u16(b, (uint16_t)r->sent_tz);
  sc_put_u32(b, r->reserved);
  memcpy(out, b->data, SC_REC_BYTES);
  g_byte_array_free(b, TRUE);
}

bool sc_rec_unpack(const uint8_t *in, size_t len, sc_rec *r) {
  sc_rbuf rb;
  sc_rbuf_init(&rb, in, len);
  r->uid = sc_get_u32(&rb);
  r->flags = sc_get_u32(&rb);
  r->modseq = sc_get_u64(&rb);
  r->kw[0] = sc_get_u64(&rb);
  r->kw[1] = sc_get_u64(&rb);
  r->internal_date = (int64_t)sc_get_u64(&rb);
  r->save_date = (int64_t)sc_get_u64(&rb);
  r->sent_date = (int64_t)sc_get_u64(&rb);
  r->size = sc_get_u64(&rb);
  r->guid = sc_get_u64(&rb);
  r->internal_tz = (int16_t)sc_get_u16(&rb);
  r->sent_tz = (int16_t)sc_get_u16(&rb);
  r->reserved = sc_get_u32(&rb);
  return !rb.bad && r->uid != 0;
}

/* ------------------------------------------------------------ uid sets */

GArray *sc_uidset_new(void) {
  return g_array_new(FALSE, FALSE, sizeof(cursus_store_range));
}

/* find - index of the first range whose last >= UID */
static guint find(const GArray *set, uint32_t uid) {
  guint lo = 0, hi = set->len;
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (g_array_index(set, cursus_store_range, mid).last < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool sc_uidset_has(const GArray *set, uint32_t uid) {
  guint i = find(set, uid);
  return i < set->len && g_array_index(set, cursus_store_range, i).first <= uid;
}

void sc_uidset_add(GArray *set, uint32_t first, uint32_t last) {
  if (first > last)
    return;
  /* merge every range touching first..last (adjacent ranges too) */
  guint i = find(set, first > 0 ? first - 1 : 0);
  cursus_store_range nr = {first, last};
  guint j = i;
  while (j < set->len) {
    cursus_store_range *r = &g_array_index(set, cursus_store_range, j);
    if (last != UINT32_MAX && r->first > last + 1)
      break;
    nr.first = MIN(nr.first, r->first);
    nr.last = MAX(nr.last, r->last);
    j++;
  }
  if (j > i)
    g_array_remove_range(set, i, j - i);
  g_array_insert_val(set, i, nr);
}

void sc_uidset_remove(GArray *set, uint32_t uid) {
  guint i = find(set, uid);
  if (i >= set->len)
    return;
  cursus_store_range *r = &g_array_index(set, cursus_store_range, i);
  if (r->first > uid)
    return;
  if (r->first == uid && r->last == uid) {
    g_array_remove_index(set, i);
  } else if (r->first == uid) {
    r->first++;
  } else if (r->last == uid) {
    r->last--;
  } else {
    cursus_store_range tail = {uid + 1, r->last};
    r->last = uid - 1;
    g_array_insert_val(set, i + 1, tail);
  }
}

char *sc_uidset_format(const GArray *set) {
  GString *s = g_string_new("");
  for (guint i = 0; i < set->len; i++) {
    const cursus_store_range *r = &g_array_index(set, cursus_store_range, i);
    if (i > 0)
      g_string_append_c(s, ',');
    if (r->first == r->last)
      g_string_append_printf(s, "%u", r->first);
    else
      g_string_append_printf(s, "%u:%u", r->first, r->last);
  }
  return g_string_free(s, FALSE);
}

GArray *sc_uidset_parse(const char *text) {
  GArray *set = sc_uidset_new();
  const char *p = text;
  while (*p != '\0') {
    char *end;
    guint64 a = g_ascii_strtoull(p, &end, 10), b;
    if (end == p || a == 0 || a > UINT32_MAX)
      goto bad;
    p = end;
    b = a;
    if (*p == ':') {
      b = g_ascii_strtoull(p + 1, &end, 10);
      if (end == p + 1 || b == 0 || b > UINT32_MAX)
        goto bad;
      p = end;
    }
    sc_uidset_add(set, (uint32_t)MIN(a, b), (uint32_t)MAX(a, b));
    if (*p == ',')
      p++;
    else if (*p != '\0')
      goto bad;
  }
  return set;
bad:
  g_array_free(set, TRUE);
  return NULL;
}

bool sc_set_has(const cursus_store_set *set, uint32_t n) {
  for (size_t i = 0; i < set->n_ranges; i++) {
    uint32_t a = MIN(set->ranges[i].first, set->ranges[i].last);
    uint32_t b = MAX(set->ranges[i].first, set->ranges[i].last);
    if (n >= a && n <= b)
      return true;
  }
  return false;
}

/* ------------------------------------------------------------ files */

bool sc_tc_sane(const char *path, GError **error) {
  /* Tokyo Cabinet ends the process on some damaged headers (it takes a
   * garbage size for an allocation): look before it does */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT;
  uint8_t h[256];
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && pread(fd, h, sizeof(h), 0) == sizeof(h);
  close(fd);
  if (ok) {
    /* big-endian counts: buckets at 40, file size at 56 */
    uint64_t bnum = 0, fsiz = 0;
    for (int i = 0; i < 8; i++) {
      bnum = bnum << 8 | h[40 + i];
      fsiz = fsiz << 8 | h[56 + i];
    }
    ok = memcmp(h, "ToKyO CaBiNeT\n", 14) == 0 && h[34] <= 16 &&
         h[35] <= 24 && bnum > 0 && bnum <= ((uint64_t)1 << 32) &&
         fsiz >= sizeof(h) && fsiz <= (uint64_t)st.st_size;
  }
  if (!ok)
    sc_set_error(error, CURSUS_STORE_E_CORRUPT,
                 "%s is damaged (not a Tokyo Cabinet database)", path);
  return ok;
}
