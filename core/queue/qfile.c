/*
 * qfile.c - encode and parse queue files (see qfile.h and
 * docs/queue-format.md)
 */
#include "build-config.h"
#include "qfile.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define PREAMBLE_MAGIC "cursus-queue "
/* Fields of an "rcpt" line. */
#define RCPT_FIELDS 11

/* ------------------------------------------------------------ escaping */

/* needs_escape - bytes that never appear raw in a token */
static bool needs_escape(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '%' || c == '~';
}

void qesc_append(GString *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  if (s == NULL || *s == '\0') {
    g_string_append_c(out, '-');
    return;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (needs_escape(*p) || (p == (const unsigned char *)s && *p == '-')) {
      g_string_append_c(out, '%');
      g_string_append_c(out, hex[*p >> 4]);
      g_string_append_c(out, hex[*p & 15]);
    } else {
      g_string_append_c(out, (char)*p);
    }
  }
}

char *qesc_decode(const char *token, size_t len) {
  if (len == 1 && token[0] == '-')
    return g_strdup("");
  GString *out = g_string_sized_new(len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)token[i];
    if (c == '%') {
      int hi, lo;
      if (i + 2 >= len) {
        g_string_free(out, TRUE);
        return NULL;
      }
      hi = g_ascii_xdigit_value(token[i + 1]);
      lo = g_ascii_xdigit_value(token[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        g_string_free(out, TRUE);
        return NULL;
      }
      g_string_append_c(out, (char)(hi * 16 + lo));
      i += 2;
    } else if (needs_escape(c) || (i == 0 && c == '-')) {
      g_string_free(out, TRUE);
      return NULL;
    } else {
      g_string_append_c(out, (char)c);
    }
  }
  return g_string_free(out, FALSE);
}

/* -------------------------------------------------------------- basics */

static const char *const state_names[] = {"pending", "delivered", "relayed",
                                          "expanded", "failed"};

const char *qstate_name(qstate state) {
  return (unsigned)state < G_N_ELEMENTS(state_names) ? state_names[state]
                                                     : "pending";
}

bool qstate_parse(const char *name, qstate *state_r) {
  for (unsigned i = 0; i < G_N_ELEMENTS(state_names); i++)
    if (strcmp(name, state_names[i]) == 0) {
      *state_r = (qstate)i;
      return true;
    }
  return false;
}

void qnotify_letters(unsigned notify, char out[5]) {
  char *p = out;
  if (notify & CURSUS_NOTIFY_NEVER)
    *p++ = 'N';
  if (notify & CURSUS_NOTIFY_SUCCESS)
    *p++ = 'S';
  if (notify & CURSUS_NOTIFY_FAILURE)
    *p++ = 'F';
  if (notify & CURSUS_NOTIFY_DELAY)
    *p++ = 'D';
  *p = '\0';
}

/* notify_parse - "-" or letters N/S/F/D, each once, N alone */
static bool notify_parse(const char *s, unsigned *notify_r) {
  unsigned n = 0;
  if (strcmp(s, "-") == 0) {
    *notify_r = 0;
    return true;
  }
  for (const char *p = s; *p != '\0'; p++) {
    unsigned bit = *p == 'N'   ? CURSUS_NOTIFY_NEVER
                   : *p == 'S' ? CURSUS_NOTIFY_SUCCESS
                   : *p == 'F' ? CURSUS_NOTIFY_FAILURE
                   : *p == 'D' ? CURSUS_NOTIFY_DELAY
                               : 0;
    if (bit == 0 || (n & bit))
      return false;
    n |= bit;
  }
  if ((n & CURSUS_NOTIFY_NEVER) && n != CURSUS_NOTIFY_NEVER)
    return false;
  *notify_r = n;
  return true;
}

static void rcpt_free(void *p) {
  qrcpt *r = p;
  g_free(r->address);
  g_free(r->original);
  g_free(r->orcpt);
  g_free(r->host);
  g_free(r->code);
  g_free(r->diag);
  g_free(r->remote);
  g_free(r);
}

qenv *qenv_new(void) {
  qenv *e = g_new0(qenv, 1);
  e->rcpts = g_ptr_array_new_with_free_func(rcpt_free);
  e->extra = g_ptr_array_new_with_free_func(g_free);
  e->sender = g_strdup("");
  return e;
}

void qenv_free(qenv **envp) {
  qenv *e = *envp;
  if (e == NULL)
    return;
  *envp = NULL;
  g_free(e->channel);
  g_free(e->source);
  g_free(e->sender);
  g_free(e->envid);
  g_free(e->auth_user);
  g_free(e->connection);
  g_free(e->helo);
  g_free(e->protocol);
  g_free(e->message_id);
  g_ptr_array_free(e->rcpts, TRUE);
  g_ptr_array_free(e->extra, TRUE);
  g_free(e);
}

/* nullable - NULL for an empty optional string */
static char *nullable(const char *s) {
  return s != NULL && *s != '\0' ? g_strdup(s) : NULL;
}

qrcpt *qenv_add_rcpt(qenv *env, const char *address, const char *original,
                     const char *orcpt, const char *host, unsigned notify) {
  qrcpt *r = g_new0(qrcpt, 1);
  r->address = g_strdup(address != NULL ? address : "");
  r->original = g_strdup(original != NULL ? original : r->address);
  r->orcpt = nullable(orcpt);
  r->host = nullable(host);
  r->notify = notify;
  g_ptr_array_add(env->rcpts, r);
  return r;
}

unsigned qenv_pending(const qenv *env) {
  unsigned n = 0;
  for (guint i = 0; i < env->rcpts->len; i++)
    if (((qrcpt *)env->rcpts->pdata[i])->state == QSTATE_PENDING)
      n++;
  return n;
}

/* ------------------------------------------------------------ preamble */

void qfile_preamble(char out[QFILE_PREAMBLE], uint64_t content_len,
                    size_t envelope_len) {
  char tmp[QFILE_PREAMBLE + 32];
  int n = snprintf(tmp, sizeof(tmp), PREAMBLE_MAGIC "%d C=%llu E=%zu",
                   QFILE_VERSION, (unsigned long long)content_len,
                   envelope_len);
  memset(out, ' ', QFILE_PREAMBLE);
  memcpy(out, tmp, (size_t)MIN(n, QFILE_PREAMBLE - 1));
  out[QFILE_PREAMBLE - 1] = '\n';
}

/* parse_u64 - a decimal number of at most 20 digits filling [S, END) */
static bool parse_u64(const char *s, const char *end, uint64_t *v_r) {
  uint64_t v = 0;
  if (s >= end || end - s > 20)
    return false;
  for (const char *p = s; p < end; p++) {
    if (!g_ascii_isdigit(*p))
      return false;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *v_r = v;
  return true;
}

bool qfile_parse_preamble(const char *buf, size_t len, uint64_t *content_r,
                          size_t *envelope_r, const char **error_r) {
  const size_t ml = strlen(PREAMBLE_MAGIC);
  if (len < QFILE_PREAMBLE || memcmp(buf, PREAMBLE_MAGIC, ml) != 0 ||
      buf[QFILE_PREAMBLE - 1] != '\n') {
    *error_r = "not a queue file (no preamble)";
    return false;
  }
  const char *p = buf + ml, *end = buf + QFILE_PREAMBLE - 1;
  const char *sp = memchr(p, ' ', (size_t)(end - p));
  uint64_t version, c, e;
  if (sp == NULL || !parse_u64(p, sp, &version)) {
    *error_r = "malformed preamble";
    return false;
  }
  if (version != QFILE_VERSION) {
    *error_r = version > QFILE_VERSION
                   ? "queue file of a newer format version"
                   : "queue file of an unknown format version";
    return false;
  }
  p = sp + 1;
  if (end - p < 2 || memcmp(p, "C=", 2) != 0) {
    *error_r = "malformed preamble";
    return false;
  }
  sp = memchr(p, ' ', (size_t)(end - p));
  if (sp == NULL || !parse_u64(p + 2, sp, &c)) {
    *error_r = "malformed preamble";
    return false;
  }
  p = sp + 1;
  if (end - p < 2 || memcmp(p, "E=", 2) != 0) {
    *error_r = "malformed preamble";
    return false;
  }
  sp = memchr(p, ' ', (size_t)(end - p));
  if (sp == NULL)
    sp = end;
  if (!parse_u64(p + 2, sp, &e) || e == 0 || e > QFILE_MAX_ENVELOPE) {
    *error_r = "malformed preamble";
    return false;
  }
  for (const char *q = sp; q < end; q++)
    if (*q != ' ') {
      *error_r = "malformed preamble";
      return false;
    }
  *content_r = c;
  *envelope_r = (size_t)e;
  return true;
}

/* ----------------------------------------------------------- encoding */

static const char *priority_name(cursus_priority p) {
  return p == CURSUS_PRIORITY_URGENT      ? "urgent"
         : p == CURSUS_PRIORITY_NONURGENT ? "non-urgent"
                                          : "normal";
}

static const char *body_name(cursus_body b) {
  return b == CURSUS_BODY_8BITMIME     ? "8bitmime"
         : b == CURSUS_BODY_BINARYMIME ? "binarymime"
                                       : "7bit";
}

static void kv(GString *out, const char *key, const char *value) {
  g_string_append(out, key);
  g_string_append_c(out, ' ');
  qesc_append(out, value);
  g_string_append_c(out, '\n');
}

void qenv_format(const qenv *e, GString *out) {
  gsize start = out->len;
  kv(out, "channel", e->channel);
  kv(out, "source", e->source);
  kv(out, "sender", e->sender);
  if (e->envid != NULL)
    kv(out, "envid", e->envid);
  if (e->ret != CURSUS_RET_DEFAULT)
    kv(out, "ret", e->ret == CURSUS_RET_FULL ? "full" : "hdrs");
  kv(out, "body", body_name(e->body));
  if (e->smtputf8)
    kv(out, "smtputf8", "1");
  kv(out, "priority", priority_name(e->priority));
  g_string_append_printf(out,
                         "arrival %" G_GINT64_FORMAT "\nsize %" G_GUINT64_FORMAT
                         "\ncrc %08x\nattempts %u\nnext-retry %" G_GINT64_FORMAT
                         "\nheld %d\nnotices %u\n",
                         e->arrival_us, e->size, e->crc, e->attempts,
                         e->next_retry, e->held ? 1 : 0, e->notices);
  if (e->auth_user != NULL)
    kv(out, "auth-user", e->auth_user);
  if (e->connection != NULL)
    kv(out, "connection", e->connection);
  if (e->helo != NULL)
    kv(out, "helo", e->helo);
  if (e->protocol != NULL)
    kv(out, "protocol", e->protocol);
  if (e->message_id != NULL)
    kv(out, "message-id", e->message_id);
  for (guint i = 0; i < e->extra->len; i++) {
    g_string_append(out, e->extra->pdata[i]);
    g_string_append_c(out, '\n');
  }
  for (guint i = 0; i < e->rcpts->len; i++) {
    const qrcpt *r = e->rcpts->pdata[i];
    char letters[5];
    qnotify_letters(r->notify, letters);
    g_string_append(out, "rcpt ");
    qesc_append(out, r->address);
    g_string_append_c(out, ' ');
    qesc_append(out, r->original);
    g_string_append_c(out, ' ');
    qesc_append(out, r->orcpt);
    g_string_append_c(out, ' ');
    qesc_append(out, r->host);
    g_string_append_c(out, ' ');
    qesc_append(out, letters);
    g_string_append_printf(out, " %s %" G_GINT64_FORMAT " ",
                           qstate_name(r->state), r->when);
    qesc_append(out, r->code);
    g_string_append_c(out, ' ');
    qesc_append(out, r->diag);
    g_string_append_c(out, ' ');
    qesc_append(out, r->remote);
    g_string_append_printf(out, " %u\n", r->dsn);
  }
  uLong crc = crc32(0L, (const Bytef *)out->str + start,
                    (uInt)(out->len - start));
  g_string_append_printf(out, "end %08lx\n", crc);
}

/* record_end - add the check to a record begun at START */
static void record_end(GString *out, gsize start) {
  uLong crc = crc32(0L, (const Bytef *)out->str + start,
                    (uInt)(out->len - start));
  g_string_append_printf(out, " ~%08lx\n", crc);
}

void qrec_result(GString *out, unsigned index, qstate state, int64_t when,
                 const char *code, const char *text, const char *remote) {
  gsize start = out->len;
  g_string_append_printf(out, "result %u %s %" G_GINT64_FORMAT " ", index,
                         qstate_name(state), when);
  qesc_append(out, code);
  g_string_append_c(out, ' ');
  qesc_append(out, text);
  g_string_append_c(out, ' ');
  qesc_append(out, remote);
  record_end(out, start);
}

void qrec_retry(GString *out, unsigned attempts, int64_t next_retry) {
  gsize start = out->len;
  g_string_append_printf(out, "retry %u %" G_GINT64_FORMAT, attempts,
                         next_retry);
  record_end(out, start);
}

void qrec_hold(GString *out, bool held) {
  gsize start = out->len;
  g_string_append_printf(out, "hold %d", held ? 1 : 0);
  record_end(out, start);
}

void qrec_notice(GString *out, unsigned notices) {
  gsize start = out->len;
  g_string_append_printf(out, "notice %u", notices);
  record_end(out, start);
}

void qrec_dsn(GString *out, unsigned index, unsigned dsn_bits) {
  gsize start = out->len;
  g_string_append_printf(out, "dsn %u %u", index, dsn_bits);
  record_end(out, start);
}

/* ------------------------------------------------------------- parsing */

/* A line cut into tokens at single spaces. */
typedef struct tokens {
  const char *tok[RCPT_FIELDS + 2];
  size_t len[RCPT_FIELDS + 2];
  unsigned n;
  bool too_many;
} tokens;

/* split - cut LINE (no line end) at spaces; empty tokens are errors */
static bool split(const char *line, size_t len, tokens *t) {
  t->n = 0;
  t->too_many = false;
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && line[j] != ' ')
      j++;
    if (j == i)
      return false;
    if (t->n == G_N_ELEMENTS(t->tok)) {
      t->too_many = true;
      return true;
    }
    t->tok[t->n] = line + i;
    t->len[t->n] = j - i;
    t->n++;
    i = j + 1;
    if (j == len)
      break;
  }
  return true;
}

static bool tok_is(const tokens *t, unsigned i, const char *word) {
  return t->len[i] == strlen(word) && memcmp(t->tok[i], word, t->len[i]) == 0;
}

static bool tok_u64(const tokens *t, unsigned i, uint64_t *v_r) {
  return parse_u64(t->tok[i], t->tok[i] + t->len[i], v_r);
}

static bool tok_uint(const tokens *t, unsigned i, unsigned *v_r) {
  uint64_t v;
  if (!tok_u64(t, i, &v) || v > G_MAXUINT32)
    return false;
  *v_r = (unsigned)v;
  return true;
}

static bool tok_i64(const tokens *t, unsigned i, int64_t *v_r) {
  uint64_t v;
  if (t->len[i] > 1 && t->tok[i][0] == '-') {
    if (!parse_u64(t->tok[i] + 1, t->tok[i] + t->len[i], &v) ||
        v > (uint64_t)G_MAXINT64)
      return false;
    *v_r = -(int64_t)v;
    return true;
  }
  if (!tok_u64(t, i, &v) || v > (uint64_t)G_MAXINT64)
    return false;
  *v_r = (int64_t)v;
  return true;
}

static bool tok_hex32(const tokens *t, unsigned i, uint32_t *v_r) {
  uint32_t v = 0;
  if (t->len[i] != 8)
    return false;
  for (size_t k = 0; k < 8; k++) {
    int d = g_ascii_xdigit_value(t->tok[i][k]);
    if (d < 0)
      return false;
    v = v * 16 + (uint32_t)d;
  }
  *v_r = v;
  return true;
}

/* tok_str - decode token I into *S_R (replacing it); optional fields give
 * NULL for "-" */
static bool tok_str(const tokens *t, unsigned i, char **s_r, bool optional) {
  char *s = qesc_decode(t->tok[i], t->len[i]);
  if (s == NULL)
    return false;
  g_free(*s_r);
  if (optional && *s == '\0') {
    g_free(s);
    s = NULL;
  }
  *s_r = s;
  return true;
}

static bool parse_rcpt(qenv *e, const tokens *t) {
  if (t->n < RCPT_FIELDS + 1)
    return false;
  qrcpt *r = g_new0(qrcpt, 1);
  g_ptr_array_add(e->rcpts, r);
  char *letters = NULL;
  bool ok = tok_str(t, 1, &r->address, false) && *r->address != '\0' &&
            tok_str(t, 2, &r->original, false) &&
            tok_str(t, 3, &r->orcpt, true) && tok_str(t, 4, &r->host, true) &&
            t->len[5] < 5;
  if (ok) {
    letters = g_strndup(t->tok[5], t->len[5]);
    ok = notify_parse(letters, &r->notify);
    g_free(letters);
  }
  if (ok) {
    char *st = g_strndup(t->tok[6], t->len[6]);
    ok = qstate_parse(st, &r->state);
    g_free(st);
  }
  return ok && tok_i64(t, 7, &r->when) && tok_str(t, 8, &r->code, true) &&
         tok_str(t, 9, &r->diag, true) && tok_str(t, 10, &r->remote, true) &&
         tok_uint(t, 11, &r->dsn) && r->dsn <= 7;
}

/* Keys of the envelope, for duplicate detection. */
enum {
  K_CHANNEL = 1u << 0,
  K_SOURCE = 1u << 1,
  K_SENDER = 1u << 2,
  K_ENVID = 1u << 3,
  K_RET = 1u << 4,
  K_BODY = 1u << 5,
  K_SMTPUTF8 = 1u << 6,
  K_PRIORITY = 1u << 7,
  K_ARRIVAL = 1u << 8,
  K_SIZE = 1u << 9,
  K_CRC = 1u << 10,
  K_ATTEMPTS = 1u << 11,
  K_NEXT = 1u << 12,
  K_HELD = 1u << 13,
  K_NOTICES = 1u << 14,
  K_AUTH = 1u << 15,
  K_CONN = 1u << 16,
  K_HELO = 1u << 17,
  K_PROTO = 1u << 18,
  K_MSGID = 1u << 19,
};
#define K_REQUIRED (K_CHANNEL | K_SENDER | K_ARRIVAL | K_SIZE | K_CRC)

/* parse_key - one "key value" line; false when malformed */
static bool parse_key(qenv *e, const tokens *t, unsigned *seen,
                      const char *line, size_t len) {
  static const struct {
    const char *name;
    unsigned bit;
  } keys[] = {{"channel", K_CHANNEL},   {"source", K_SOURCE},
              {"sender", K_SENDER},     {"envid", K_ENVID},
              {"ret", K_RET},           {"body", K_BODY},
              {"smtputf8", K_SMTPUTF8}, {"priority", K_PRIORITY},
              {"arrival", K_ARRIVAL},   {"size", K_SIZE},
              {"crc", K_CRC},           {"attempts", K_ATTEMPTS},
              {"next-retry", K_NEXT},   {"held", K_HELD},
              {"notices", K_NOTICES},   {"auth-user", K_AUTH},
              {"connection", K_CONN},   {"helo", K_HELO},
              {"protocol", K_PROTO},    {"message-id", K_MSGID}};
  unsigned bit = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(keys) && bit == 0; i++)
    if (tok_is(t, 0, keys[i].name))
      bit = keys[i].bit;
  if (bit == 0) {
    /* a key of a later minor version: keep it for rewriting */
    g_ptr_array_add(e->extra, g_strndup(line, len));
    return true;
  }
  if ((*seen & bit) || t->n != 2)
    return false;
  *seen |= bit;
  unsigned u;
  switch (bit) {
  case K_CHANNEL:
    return tok_str(t, 1, &e->channel, false) && *e->channel != '\0';
  case K_SOURCE:
    return tok_str(t, 1, &e->source, true);
  case K_SENDER:
    return tok_str(t, 1, &e->sender, false);
  case K_ENVID:
    return tok_str(t, 1, &e->envid, true);
  case K_RET:
    e->ret = tok_is(t, 1, "full")   ? CURSUS_RET_FULL
             : tok_is(t, 1, "hdrs") ? CURSUS_RET_HDRS
                                    : CURSUS_RET_DEFAULT;
    return e->ret != CURSUS_RET_DEFAULT;
  case K_BODY:
    if (tok_is(t, 1, "7bit"))
      e->body = CURSUS_BODY_7BIT;
    else if (tok_is(t, 1, "8bitmime"))
      e->body = CURSUS_BODY_8BITMIME;
    else if (tok_is(t, 1, "binarymime"))
      e->body = CURSUS_BODY_BINARYMIME;
    else
      return false;
    return true;
  case K_SMTPUTF8:
    if (!tok_uint(t, 1, &u) || u > 1)
      return false;
    e->smtputf8 = u == 1;
    return true;
  case K_PRIORITY:
    if (tok_is(t, 1, "urgent"))
      e->priority = CURSUS_PRIORITY_URGENT;
    else if (tok_is(t, 1, "normal"))
      e->priority = CURSUS_PRIORITY_NORMAL;
    else if (tok_is(t, 1, "non-urgent"))
      e->priority = CURSUS_PRIORITY_NONURGENT;
    else
      return false;
    return true;
  case K_ARRIVAL:
    return tok_i64(t, 1, &e->arrival_us);
  case K_SIZE:
    return tok_u64(t, 1, &e->size);
  case K_CRC:
    return tok_hex32(t, 1, &e->crc);
  case K_ATTEMPTS:
    return tok_uint(t, 1, &e->attempts);
  case K_NEXT:
    return tok_i64(t, 1, &e->next_retry);
  case K_HELD:
    if (!tok_uint(t, 1, &u) || u > 1)
      return false;
    e->held = u == 1;
    return true;
  case K_NOTICES:
    return tok_uint(t, 1, &e->notices);
  case K_AUTH:
    return tok_str(t, 1, &e->auth_user, true);
  case K_CONN:
    return tok_str(t, 1, &e->connection, true);
  case K_HELO:
    return tok_str(t, 1, &e->helo, true);
  case K_PROTO:
    return tok_str(t, 1, &e->protocol, true);
  case K_MSGID:
    return tok_str(t, 1, &e->message_id, true);
  }
  return false;
}

/* parse_envelope - the envelope lines; false with *why (static) */
static bool parse_envelope(qenv *e, const char *data, size_t len,
                           const char **why, unsigned *line_r) {
  unsigned seen = 0;
  size_t pos = 0;
  unsigned lineno = 0;
  *why = "malformed line";
  while (pos < len) {
    const char *line = data + pos;
    const char *nl = memchr(line, '\n', len - pos);
    lineno++;
    *line_r = lineno;
    if (nl == NULL) {
      *why = "envelope does not end with a line end";
      return false;
    }
    size_t ll = (size_t)(nl - line);
    for (size_t i = 0; i < ll; i++)
      if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
        *why = "control character in the envelope";
        return false;
      }
    tokens t;
    if (!split(line, ll, &t) || t.too_many)
      return false;
    if (tok_is(&t, 0, "end")) {
      uint32_t want;
      if (t.n != 2 || !tok_hex32(&t, 1, &want) || pos + ll + 1 != len) {
        *why = "malformed end line";
        return false;
      }
      if (crc32(0L, (const Bytef *)data, (uInt)pos) != want) {
        *why = "envelope check failed (damaged file)";
        return false;
      }
      if ((seen & K_REQUIRED) != K_REQUIRED) {
        *why = "envelope lacks a required key (channel, sender, arrival, "
               "size, crc)";
        return false;
      }
      if (e->rcpts->len == 0) {
        *why = "envelope has no recipient";
        return false;
      }
      return true;
    }
    if (tok_is(&t, 0, "rcpt")) {
      if (!parse_rcpt(e, &t)) {
        *why = "malformed rcpt line";
        return false;
      }
    } else if (!parse_key(e, &t, &seen, line, ll)) {
      return false;
    }
    pos += ll + 1;
  }
  *why = "envelope has no end line";
  return false;
}

/* apply_record - one checked record; false when it does not apply */
static bool apply_record(qenv *e, const tokens *t) {
  unsigned idx, u;
  int64_t when;
  qrcpt *r;
  if (tok_is(t, 0, "result") && t->n == 7) {
    qstate st;
    char *name = g_strndup(t->tok[2], t->len[2]);
    bool ok = qstate_parse(name, &st);
    g_free(name);
    if (!ok || !tok_uint(t, 1, &idx) || idx >= e->rcpts->len ||
        !tok_i64(t, 3, &when))
      return false;
    char *code = NULL, *text = NULL, *remote = NULL;
    if (!tok_str(t, 4, &code, true) || !tok_str(t, 5, &text, true) ||
        !tok_str(t, 6, &remote, true)) {
      g_free(code);
      g_free(text);
      g_free(remote);
      return false;
    }
    r = e->rcpts->pdata[idx];
    r->state = st;
    r->when = when;
    r->results++;
    g_free(r->code);
    g_free(r->diag);
    g_free(r->remote);
    r->code = code;
    r->diag = text;
    r->remote = remote;
    return true;
  }
  if (tok_is(t, 0, "retry") && t->n == 3)
    return tok_uint(t, 1, &e->attempts) && tok_i64(t, 2, &e->next_retry);
  if (tok_is(t, 0, "hold") && t->n == 2 && tok_uint(t, 1, &u) && u <= 1) {
    e->held = u == 1;
    return true;
  }
  if (tok_is(t, 0, "notice") && t->n == 2)
    return tok_uint(t, 1, &e->notices);
  if (tok_is(t, 0, "dsn") && t->n == 3 && tok_uint(t, 1, &idx) &&
      idx < e->rcpts->len && tok_uint(t, 2, &u) && u <= 7) {
    ((qrcpt *)e->rcpts->pdata[idx])->dsn = u;
    return true;
  }
  return false;
}

/* parse_records - apply records until the first that fails its check */
static void parse_records(qenv *e, const char *data, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    const char *line = data + pos;
    const char *nl = memchr(line, '\n', len - pos);
    if (nl == NULL)
      break;
    size_t ll = (size_t)(nl - line);
    /* "<text> ~xxxxxxxx" */
    if (ll < 11 || line[ll - 10] != ' ' || line[ll - 9] != '~')
      break;
    uint32_t want = 0;
    bool hex_ok = true;
    for (size_t k = ll - 8; k < ll; k++) {
      int d = g_ascii_xdigit_value(line[k]);
      if (d < 0)
        hex_ok = false;
      else
        want = want * 16 + (uint32_t)d;
    }
    size_t tl = ll - 10;
    if (!hex_ok || crc32(0L, (const Bytef *)line, (uInt)tl) != want)
      break;
    tokens t;
    if (!split(line, tl, &t) || t.too_many || !apply_record(e, &t))
      break;
    e->records++;
    pos += ll + 1;
  }
  e->records_len = pos;
  e->torn_len = len - pos;
}

qenv *qenv_parse(const char *data, size_t len, size_t envelope_len,
                 char **error_r) {
  const char *why;
  unsigned line = 0;
  if (envelope_len > len) {
    *error_r = g_strdup("queue file is truncated (envelope incomplete)");
    return NULL;
  }
  qenv *e = qenv_new();
  if (!parse_envelope(e, data, envelope_len, &why, &line)) {
    *error_r = g_strdup_printf("envelope line %u: %s", line, why);
    qenv_free(&e);
    return NULL;
  }
  e->envelope_len = envelope_len;
  parse_records(e, data + envelope_len, len - envelope_len);
  return e;
}
