/*
 * search.c - evaluating a search tree on a view
 *
 * Flags, dates, sizes, UIDs and modseqs come from the in-memory index;
 * header keys from the cached header; only BODY and TEXT open message
 * files.  Text matches are case-insensitive substrings of the decoded
 * text (RFC 2047 words, transfer encodings, charsets to UTF-8).
 */
#include "api.h"
#include "mime.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

/* A search string prepared once per search: case-folded, and for a
 * folded needle of ASCII a skip table to scan ASCII text without folding
 * it (Horspool) */
typedef struct needle {
  char *text;              /* case-folded, NUL-terminated               */
  size_t len;
  bool ascii;
  uint8_t skip[256];
} needle;

typedef struct sctx {
  cursus_store_mailbox *box;
  GHashTable *needles;     /* node -> needle */
  int64_t now;
  /* the message being evaluated */
  uint32_t seq;
  const sc_rec *r;
  sc_msginfo *info;
  bool info_tried;
  void *raw;               /* its encoded cache record, for the header */
  size_t raw_len;
  bool raw_tried;
  GError *error;
} sctx;

static inline uint8_t lower(uint8_t c) {
  return (uint8_t)(c + ((unsigned)(c - 'A') < 26u ? 32 : 0));
}

/* plain_ascii - TEXT holds only ASCII without NUL: it folds to its lower
 * case and is the same text in any charset the message may name */
static bool plain_ascii(const char *text, size_t len) {
  const uint8_t *p = (const uint8_t *)text;
  size_t i = 0;
  uint64_t acc = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    /* a high bit, or a zero byte */
    acc |= (w & UINT64_C(0x8080808080808080)) |
           ((w - UINT64_C(0x0101010101010101)) & ~w &
            UINT64_C(0x8080808080808080));
    if (acc != 0)
      return false;
  }
  for (; i < len; i++)
    if (p[i] == 0 || p[i] >= 0x80)
      return false;
  return true;
}

/* fold - TEXT folded for case-insensitive comparison (ASCII fast path) */
static char *fold(const char *text, size_t len) {
  bool ascii = true;
  for (size_t i = 0; i < len && ascii; i++)
    ascii = (unsigned char)text[i] < 0x80;
  if (ascii) {
    char *s = g_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
      s[i] = (char)lower((uint8_t)text[i]);
    s[len] = '\0';
    return s;
  }
  return g_utf8_casefold(text, (gssize)len);
}

static needle *needle_new(const char *value) {
  needle *n = g_new(needle, 1);
  n->text = fold(value, strlen(value));
  n->len = strlen(n->text);
  n->ascii = plain_ascii(n->text, n->len);
  for (int c = 0; c < 256; c++)
    n->skip[c] = (uint8_t)MIN(n->len, 255u);
  for (size_t i = 0; n->len > 0 && i + 1 < n->len; i++)
    n->skip[(uint8_t)n->text[i]] = (uint8_t)MIN(n->len - 1 - i, 255u);
  return n;
}

static void needle_free(gpointer p) {
  needle *n = p;
  g_free(n->text);
  g_free(n);
}

/* ascii_find - does ASCII TEXT contain the ASCII needle N, whatever the
 * case?  Horspool over folded bytes: no copy, no folding of TEXT */
static bool ascii_find(const char *text, size_t len, const needle *n) {
  if (n->len == 0)
    return true;
  if (len < n->len)
    return false;
  const uint8_t *t = (const uint8_t *)text;
  const uint8_t *k = (const uint8_t *)n->text;
  size_t last = n->len - 1;
  for (size_t i = 0; i + last < len;) {
    uint8_t c = lower(t[i + last]);
    if (c == k[last]) {
      size_t j = 0;
      while (j < last && lower(t[i + j]) == k[j])
        j++;
      if (j == last)
        return true;
    }
    i += n->skip[c];
  }
  return false;
}

/* text_has - does TEXT (in CHARSET, transfer-decoded) contain N? */
static bool text_has(const char *text, size_t len, const char *charset,
                     const needle *n) {
  if (n->ascii && plain_ascii(text, len))
    return ascii_find(text, len, n);
  char *utf8 = sc_text_to_utf8(text, len, charset);
  char *f = fold(utf8, strlen(utf8));
  bool found = strstr(f, n->text) != NULL;
  g_free(f);
  g_free(utf8);
  return found;
}

static int64_t day_of(int64_t when, int32_t tz_minutes) {
  int64_t t = when + (int64_t)tz_minutes * 60;
  return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static sc_msginfo *info_of(sctx *c) {
  if (!c->info_tried) {
    c->info_tried = true;
    GError *err = NULL;
    uint32_t got = 0;
    if (c->raw != NULL) {
      /* the record the header came from */
      c->info = sc_msginfo_decode(c->raw, c->raw_len, &got);
      if (c->info != NULL && got != c->r->uid)
        sc_msginfo_free(&c->info);
    }
    if (c->info == NULL)
      c->info = sc_folder_cache_get(c->box->f, c->r->uid, &err);
    if (c->info == NULL && c->error == NULL)
      c->error = err;
    else
      g_clear_error(&err);
  }
  return c->info;
}

/* read_part - LEN bytes at OFF of the message (bounded) */
static char *read_part(sctx *c, int fd, uint64_t off, uint64_t len,
                       size_t *got) {
  uint64_t limit = c->box->user->st->binary_limit;
  if (len > limit)
    len = limit;
  char *buf = g_malloc(len + 1);
  ssize_t n = len > 0 ? pread(fd, buf, len, (off_t)off) : 0;
  if (n < 0)
    n = 0;
  buf[n] = '\0';
  *got = (size_t)n;
  return buf;
}

/* decoded - part content without its transfer encoding */
static char *decoded(const char *enc, char *raw, size_t len, size_t *out_len) {
  GMimeContentEncoding e = g_mime_content_encoding_from_string(enc);
  if (e != GMIME_CONTENT_ENCODING_BASE64 &&
      e != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
      e != GMIME_CONTENT_ENCODING_UUENCODE) {
    *out_len = len;
    return raw;
  }
  GMimeEncoding st;
  g_mime_encoding_init_decode(&st, e);
  char *out = g_malloc(g_mime_encoding_outlen(&st, len) + 16);
  size_t n = g_mime_encoding_step(&st, raw, len, out);
  n += g_mime_encoding_flush(&st, "", 0, out + n);
  g_free(raw);
  *out_len = n;
  return out;
}

static void append_header_text(GString *out, const char *data, size_t len);

/* header_text_has - does the header block DATA/LEN, decoded and folded,
 * contain N? */
static bool header_text_has(const char *data, size_t len, const needle *n) {
  GString *t = g_string_sized_new(len + 1);
  append_header_text(t, data, len);
  bool found = strstr(t->str, n->text) != NULL;
  g_string_free(t, TRUE);
  return found;
}

/* body_has - does the body contain N: its text parts decoded from their
 * transfer encodings and charsets, and the headers of attached messages;
 * stops at the first part that does */
static bool body_has(sctx *c, const needle *n) {
  sc_msginfo *info = info_of(c);
  if (info == NULL)
    return false;
  GError *err = NULL;
  int fd = sc_folder_open_msg(c->box->f, c->r->uid, &err);
  if (fd < 0) {
    if (c->error == NULL)
      c->error = err;
    else
      g_clear_error(&err);
    return false;
  }
  bool found = false;
  for (guint i = 0; i < info->parts->len && !found; i++) {
    const sc_part *p = info->parts->pdata[i];
    size_t len;
    if (p->hdr_len > 0 && *p->id != '\0') {
      /* an attached message's header is part of this body */
      char *raw = read_part(c, fd, p->hdr_off, p->hdr_len, &len);
      found = header_text_has(raw, len, n);
      g_free(raw);
    }
    if (found || p->n_children > 0 || *p->id == '\0' ||
        !g_str_equal(p->type, "text"))
      continue;
    char *raw = read_part(c, fd, p->body_off, p->body_len, &len);
    size_t dl;
    char *dec = decoded(p->encoding, raw, len, &dl);
    found = text_has(dec, dl, p->charset, n);
    g_free(dec);
  }
  close(fd);
  return found;
}

/* field_text - one header field's value, unfolded, decoded and folded */
static char *field_text(const char *value, size_t len) {
  GString *u = g_string_sized_new(len);
  for (size_t i = 0; i < len; i++)
    if (value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
      g_string_append_c(u, value[i]);
  char *utf8 = sc_text_to_utf8(u->str, u->len, NULL);
  g_string_free(u, TRUE);
  char *dec = g_mime_utils_header_decode_text(NULL, g_strstrip(utf8));
  char *f = fold(dec != NULL ? dec : utf8, strlen(dec != NULL ? dec : utf8));
  g_free(dec);
  g_free(utf8);
  return f;
}

static bool text_cb(void *ctx, const char *name, size_t nlen,
                    const char *value, size_t vlen, size_t off, size_t flen) {
  GString *out = ctx;
  char *n = fold(name, nlen);
  char *v = field_text(value, MIN(vlen, (size_t)65536));
  g_string_append(out, n);
  g_string_append(out, ": ");
  g_string_append(out, v);
  g_string_append_c(out, '\n');
  g_free(n);
  g_free(v);
  return true;
}

static void append_header_text(GString *out, const char *data, size_t len) {
  sc_header_each(data, len, text_cb, out);
}

struct hdr_match {
  const char *field;
  const needle *n; /* NULL: the field only has to be there */
  bool found;
};

/* value_has - does a header field's value contain N?  A one-line value
 * of plain ASCII without encoded words needs no decoding */
static bool value_has(const char *value, size_t len, const needle *n) {
  len = MIN(len, (size_t)65536);
  if (n->ascii && plain_ascii(value, len) && !memchr(value, '\r', len) &&
      !memchr(value, '\n', len) && !g_strstr_len(value, (gssize)len, "=?")) {
    while (len > 0 && g_ascii_isspace(*value)) {
      value++;
      len--;
    }
    while (len > 0 && g_ascii_isspace(value[len - 1]))
      len--;
    return ascii_find(value, len, n);
  }
  char *v = field_text(value, len);
  bool found = strstr(v, n->text) != NULL;
  g_free(v);
  return found;
}

static bool hdr_cb(void *ctx, const char *name, size_t nlen,
                   const char *value, size_t vlen, size_t off, size_t flen) {
  struct hdr_match *m = ctx;
  if (strlen(m->field) != nlen || g_ascii_strncasecmp(m->field, name, nlen))
    return true;
  m->found = m->n == NULL || m->n->len == 0 ||
             value_has(value, vlen, m->n);
  return !m->found;
}

/* header_block - the message header (from the cache when complete) */
static const char *header_block(sctx *c, size_t *len_r, GByteArray **own) {
  *own = NULL;
  if (!c->info_tried && !c->raw_tried) {
    /* the header alone, without decoding the whole record */
    c->raw_tried = true;
    c->raw = sc_folder_cache_raw(c->box->f, c->r->uid, &c->raw_len);
  }
  const char *h;
  bool truncated;
  if (c->raw != NULL &&
      sc_msginfo_peek(c->raw, c->raw_len, c->r->uid,
                      CURSUS_STORE_FIELD_HEADER, &h, len_r, &truncated) &&
      !truncated)
    return h;
  sc_msginfo *info = info_of(c);
  if (info == NULL)
    return NULL;
  if (!info->header_truncated) {
    *len_r = info->header->len;
    return (const char *)info->header->data;
  }
  GError *err = NULL;
  int fd = sc_folder_open_msg(c->box->f, c->r->uid, &err);
  if (fd < 0) {
    g_clear_error(&err);
    return NULL;
  }
  const sc_part *p = info->parts->pdata[0];
  size_t n;
  char *raw = read_part(c, fd, p->hdr_off, p->hdr_len, &n);
  close(fd);
  *own = g_byte_array_new_take((guint8 *)raw, n);
  *len_r = n;
  return raw;
}

static bool match_header(sctx *c, const cursus_store_search *q,
                         const needle *n) {
  size_t len;
  GByteArray *own;
  const char *h = header_block(c, &len, &own);
  if (h == NULL)
    return false;
  struct hdr_match m = {q->field != NULL ? q->field : "", n, false};
  sc_header_each(h, len, hdr_cb, &m);
  if (own != NULL)
    g_byte_array_free(own, TRUE);
  return m.found;
}

static bool match_text(sctx *c, const needle *n) {
  size_t len;
  GByteArray *own;
  const char *h = header_block(c, &len, &own);
  bool found = h != NULL && header_text_has(h, len, n);
  if (own != NULL)
    g_byte_array_free(own, TRUE);
  return found || body_has(c, n);
}

/* cost - 0 for what the index answers, 1 the cache, 2 message files */
static int cost(const cursus_store_search *q) {
  switch (q->key) {
  case CURSUS_STORE_SEARCH_HEADER:
  case CURSUS_STORE_SEARCH_SENTBEFORE:
  case CURSUS_STORE_SEARCH_SENTON:
  case CURSUS_STORE_SEARCH_SENTSINCE:
    return 1;
  case CURSUS_STORE_SEARCH_BODY:
  case CURSUS_STORE_SEARCH_TEXT:
    return 2;
  case CURSUS_STORE_SEARCH_AND:
  case CURSUS_STORE_SEARCH_OR:
  case CURSUS_STORE_SEARCH_NOT: {
    int m = 0;
    for (size_t i = 0; i < q->n_children; i++)
      m = MAX(m, cost(&q->children[i]));
    return m;
  }
  default:
    return 0;
  }
}

static bool eval(sctx *c, const cursus_store_search *q, unsigned depth);

static bool eval_and(sctx *c, const cursus_store_search *q, unsigned depth) {
  for (int pass = 0; pass <= 2; pass++)
    for (size_t i = 0; i < q->n_children; i++)
      if (cost(&q->children[i]) == pass &&
          !eval(c, &q->children[i], depth + 1))
        return false;
  return true;
}

static bool eval(sctx *c, const cursus_store_search *q, unsigned depth) {
  const sc_rec *r = c->r;
  sc_folder *f = c->box->f;
  const needle *nd = g_hash_table_lookup(c->needles, q);
  if (depth > 256)
    return false;
  switch (q->key) {
  case CURSUS_STORE_SEARCH_ALL:
    return true;
  case CURSUS_STORE_SEARCH_AND:
    return eval_and(c, q, depth);
  case CURSUS_STORE_SEARCH_OR:
    for (size_t i = 0; i < q->n_children; i++)
      if (eval(c, &q->children[i], depth + 1))
        return true;
    return false;
  case CURSUS_STORE_SEARCH_NOT:
    return q->n_children > 0 && !eval(c, &q->children[0], depth + 1);
  case CURSUS_STORE_SEARCH_SET:
    return sc_set_has(&q->set, q->set.by_uid ? r->uid : c->seq);
  case CURSUS_STORE_SEARCH_FLAGS:
    return (sc_view_flags(c->box, r) & (uint32_t)q->number) ==
           (uint32_t)q->number;
  case CURSUS_STORE_SEARCH_UNFLAGS:
    return (sc_view_flags(c->box, r) & (uint32_t)q->number) == 0;
  case CURSUS_STORE_SEARCH_KEYWORD:
  case CURSUS_STORE_SEARCH_UNKEYWORD: {
    int idx = q->value != NULL ? sc_folder_keyword(f, q->value, false, NULL)
                               : -1;
    bool set = idx >= 0 && (r->kw[idx / 64] & (UINT64_C(1) << (idx % 64)));
    return q->key == CURSUS_STORE_SEARCH_KEYWORD ? set : !set;
  }
  case CURSUS_STORE_SEARCH_BEFORE:
    return day_of(r->internal_date, r->internal_tz) < q->number;
  case CURSUS_STORE_SEARCH_ON:
    return day_of(r->internal_date, r->internal_tz) == q->number;
  case CURSUS_STORE_SEARCH_SINCE:
    return day_of(r->internal_date, r->internal_tz) >= q->number;
  case CURSUS_STORE_SEARCH_SENTBEFORE:
  case CURSUS_STORE_SEARCH_SENTON:
  case CURSUS_STORE_SEARCH_SENTSINCE: {
    int64_t d = r->sent_date != 0 ? day_of(r->sent_date, r->sent_tz)
                                  : day_of(r->internal_date, r->internal_tz);
    return q->key == CURSUS_STORE_SEARCH_SENTBEFORE ? d < q->number
           : q->key == CURSUS_STORE_SEARCH_SENTON   ? d == q->number
                                                    : d >= q->number;
  }
  case CURSUS_STORE_SEARCH_SAVEDBEFORE:
    return day_of(r->save_date, 0) < q->number;
  case CURSUS_STORE_SEARCH_SAVEDON:
    return day_of(r->save_date, 0) == q->number;
  case CURSUS_STORE_SEARCH_SAVEDSINCE:
    return day_of(r->save_date, 0) >= q->number;
  case CURSUS_STORE_SEARCH_OLDER:
    return c->now - r->internal_date > q->number;
  case CURSUS_STORE_SEARCH_YOUNGER:
    return c->now - r->internal_date <= q->number;
  case CURSUS_STORE_SEARCH_LARGER:
    return (int64_t)r->size > q->number;
  case CURSUS_STORE_SEARCH_SMALLER:
    return (int64_t)r->size < q->number;
  case CURSUS_STORE_SEARCH_HEADER:
    return match_header(c, q, nd);
  case CURSUS_STORE_SEARCH_BODY:
    return nd == NULL || nd->len == 0 || body_has(c, nd);
  case CURSUS_STORE_SEARCH_TEXT:
    return nd == NULL || nd->len == 0 || match_text(c, nd);
  case CURSUS_STORE_SEARCH_MODSEQ:
    return r->modseq >= (uint64_t)q->number;
  case CURSUS_STORE_SEARCH_EMAILID: {
    char id[24];
    g_snprintf(id, sizeof(id), "M%016" G_GINT64_MODIFIER "x",
               (guint64)r->guid);
    return q->value != NULL && g_str_equal(q->value, id);
  }
  }
  return false;
}

/* prepare - fold every needle once; false on an unknown key */
static bool prepare(GHashTable *needles, const cursus_store_search *q,
                    unsigned depth, GError **error) {
  if (depth > 256) {
    sc_set_error(error, CURSUS_STORE_E_LIMIT, "search too deeply nested");
    return false;
  }
  if ((int)q->key < 0 || q->key > CURSUS_STORE_SEARCH_SAVEDSINCE) {
    sc_set_error(error, CURSUS_STORE_E_UNSUPPORTED,
                 "unknown search key %d", (int)q->key);
    return false;
  }
  if ((q->key == CURSUS_STORE_SEARCH_HEADER ||
       q->key == CURSUS_STORE_SEARCH_BODY ||
       q->key == CURSUS_STORE_SEARCH_TEXT) &&
      q->value != NULL) {
    if (!g_utf8_validate(q->value, -1, NULL)) {
      sc_set_error(error, CURSUS_STORE_E_INVALID,
                   "search string is not UTF-8");
      return false;
    }
    g_hash_table_insert(needles, (gpointer)q, needle_new(q->value));
  }
  if ((q->key == CURSUS_STORE_SEARCH_AND || q->key == CURSUS_STORE_SEARCH_OR ||
       q->key == CURSUS_STORE_SEARCH_NOT) &&
      q->n_children > 0 && q->children == NULL) {
    sc_set_error(error, CURSUS_STORE_E_INVALID, "search node without children");
    return false;
  }
  for (size_t i = 0; i < q->n_children && q->children != NULL; i++)
    if (!prepare(needles, &q->children[i], depth + 1, error))
      return false;
  return true;
}

int sc_op_mailbox_search(cursus_store_mailbox *box,
                         const cursus_store_search *query,
                         void (*match)(void *data, uint32_t seq, uint32_t uid),
                         void *data, const char **error_r) {
  GError *err = NULL;
  sctx c = {0};
  c.box = box;
  c.needles = g_hash_table_new_full(NULL, NULL, NULL, needle_free);
  c.now = g_get_real_time() / G_USEC_PER_SEC;
  if (query == NULL || !prepare(c.needles, query, 0, &err)) {
    if (err == NULL)
      sc_set_error(&err, CURSUS_STORE_E_INVALID, "no search given");
    g_hash_table_destroy(c.needles);
    return sc_user_fail(box->user, err, error_r);
  }
  GArray *hits = g_array_new(FALSE, FALSE, sizeof(uint32_t) * 2);
  g_mutex_lock(&box->f->mu);
  for (uint32_t seq = 1; seq <= box->count; seq++) {
    c.seq = seq;
    c.r = sc_view_rec(box, seq, NULL);
    if (c.r == NULL)
      continue;
    bool hit = eval(&c, query, 0);
    if (hit) {
      uint32_t pair[2] = {seq, c.r->uid};
      g_array_append_vals(hits, pair, 1);
    }
    sc_msginfo_free(&c.info);
    c.info_tried = false;
    free(c.raw);
    c.raw = NULL;
    c.raw_tried = false;
    if (c.error != NULL) {
      /* a message whose file vanished just does not match */
      g_clear_error(&c.error);
    }
  }
  g_mutex_unlock(&box->f->mu);
  for (guint i = 0; i < hits->len; i++) {
    uint32_t *pair = &((uint32_t *)(void *)hits->data)[i * 2];
    match(data, pair[0], pair[1]);
  }
  g_array_free(hits, TRUE);
  g_hash_table_destroy(c.needles);
  sc_user_ok(box->user);
  return CURSUS_OK;
}
