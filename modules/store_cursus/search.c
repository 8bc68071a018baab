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

typedef struct sctx {
  cursus_store_mailbox *box;
  GHashTable *needles;     /* node -> casefolded needle */
  int64_t now;
  /* the message being evaluated */
  uint32_t seq;
  const sc_rec *r;
  sc_msginfo *info;
  bool info_tried;
  GString *body;           /* decoded, folded text of the body */
  bool body_tried;
  GError *error;
} sctx;

/* fold - TEXT folded for case-insensitive comparison (ASCII fast path) */
static char *fold(const char *text, size_t len) {
  bool ascii = true;
  for (size_t i = 0; i < len && ascii; i++)
    ascii = (unsigned char)text[i] < 0x80;
  if (ascii) {
    char *s = g_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
      s[i] = g_ascii_tolower(text[i]);
    s[len] = '\0';
    return s;
  }
  return g_utf8_casefold(text, (gssize)len);
}

static int64_t day_of(int64_t when, int32_t tz_minutes) {
  int64_t t = when + (int64_t)tz_minutes * 60;
  return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static sc_msginfo *info_of(sctx *c) {
  if (!c->info_tried) {
    c->info_tried = true;
    GError *err = NULL;
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

static GString *body_of(sctx *c) {
  if (c->body_tried)
    return c->body;
  c->body_tried = true;
  sc_msginfo *info = info_of(c);
  if (info == NULL)
    return NULL;
  GError *err = NULL;
  int fd = sc_folder_open_msg(c->box->f, c->r->uid, &err);
  if (fd < 0) {
    if (c->error == NULL)
      c->error = err;
    else
      g_clear_error(&err);
    return NULL;
  }
  GString *text = g_string_new(NULL);
  for (guint i = 0; i < info->parts->len; i++) {
    const sc_part *p = info->parts->pdata[i];
    size_t n;
    if (p->hdr_len > 0 && *p->id != '\0') {
      /* an attached message's header is part of this body */
      char *raw = read_part(c, fd, p->hdr_off, p->hdr_len, &n);
      append_header_text(text, raw, n);
      g_free(raw);
    }
    if (p->n_children > 0 || *p->id == '\0' || !g_str_equal(p->type, "text"))
      continue;
    char *raw = read_part(c, fd, p->body_off, p->body_len, &n);
    size_t dl;
    char *dec = decoded(p->encoding, raw, n, &dl);
    char *utf8 = sc_text_to_utf8(dec, dl, p->charset);
    char *f = fold(utf8, strlen(utf8));
    g_string_append(text, f);
    g_string_append_c(text, '\n');
    g_free(f);
    g_free(utf8);
    g_free(dec);
  }
  close(fd);
  c->body = text;
  return text;
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
  g_string_append_printf(out, "%s: %s\n", n, v);
  g_free(n);
  g_free(v);
  return true;
}

static void append_header_text(GString *out, const char *data, size_t len) {
  sc_header_each(data, len, text_cb, out);
}

struct hdr_match {
  const char *field;
  const char *needle;
  bool found;
};

static bool hdr_cb(void *ctx, const char *name, size_t nlen,
                   const char *value, size_t vlen, size_t off, size_t flen) {
  struct hdr_match *m = ctx;
  if (strlen(m->field) != nlen || g_ascii_strncasecmp(m->field, name, nlen))
    return true;
  if (*m->needle == '\0') {
    m->found = true;
    return false;
  }
  char *v = field_text(value, MIN(vlen, (size_t)65536));
  m->found = strstr(v, m->needle) != NULL;
  g_free(v);
  return !m->found;
}

/* header_block - the message header (from the cache when complete) */
static const char *header_block(sctx *c, size_t *len_r, GByteArray **own) {
  sc_msginfo *info = info_of(c);
  *own = NULL;
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
                         const char *needle) {
  size_t len;
  GByteArray *own;
  const char *h = header_block(c, &len, &own);
  if (h == NULL)
    return false;
  struct hdr_match m = {q->field != NULL ? q->field : "", needle, false};
  sc_header_each(h, len, hdr_cb, &m);
  if (own != NULL)
    g_byte_array_free(own, TRUE);
  return m.found;
}

static bool match_text(sctx *c, const char *needle) {
  size_t len;
  GByteArray *own;
  const char *h = header_block(c, &len, &own);
  bool found = false;
  if (h != NULL) {
    GString *t = g_string_new(NULL);
    append_header_text(t, h, len);
    found = strstr(t->str, needle) != NULL;
    g_string_free(t, TRUE);
  }
  if (own != NULL)
    g_byte_array_free(own, TRUE);
  if (!found) {
    GString *b = body_of(c);
    found = b != NULL && strstr(b->str, needle) != NULL;
  }
  return found;
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
  const char *needle = g_hash_table_lookup(c->needles, q);
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
    return match_header(c, q, needle != NULL ? needle : "");
  case CURSUS_STORE_SEARCH_BODY: {
    if (needle == NULL || *needle == '\0')
      return true;
    GString *b = body_of(c);
    return b != NULL && strstr(b->str, needle) != NULL;
  }
  case CURSUS_STORE_SEARCH_TEXT:
    return needle == NULL || *needle == '\0' || match_text(c, needle);
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
    g_hash_table_insert(needles, (gpointer)q,
                        fold(q->value, strlen(q->value)));
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
  c.needles = g_hash_table_new_full(NULL, NULL, NULL, g_free);
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
    if (c.body != NULL)
      g_string_free(c.body, TRUE);
    c.body = NULL;
    c.body_tried = false;
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
