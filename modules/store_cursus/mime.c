/*
 * mime.c - the MIME tree of a message with byte ranges, and its IMAP
 * ENVELOPE, BODYSTRUCTURE and BODY
 *
 * The scanner walks header blocks and multipart delimiter lines (RFC
 * 2046) over the raw bytes so every part's range is exact; GMime parses
 * the fields (Content-Type and its RFC 2231 parameters, dispositions,
 * address lists with encoded words, dates).  Nothing here fails: broken
 * structure degrades to opaque parts, and the limits in mime.h bound the
 * work on hostile input.
 */
#include "mime.h"

#include <gmime/gmime.h>
#include <string.h>

/* ------------------------------------------------------------ strings */

/* is_quotable - may S/LEN go in an IMAP quoted string? */
static bool is_quotable(const char *s, size_t len) {
  if (len > 1024)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
      return false;
  }
  return true;
}

void sc_imap_string(GString *out, const char *s, size_t len) {
  if (is_quotable(s, len)) {
    g_string_append_c(out, '"');
    for (size_t i = 0; i < len; i++) {
      if (s[i] == '"' || s[i] == '\\')
        g_string_append_c(out, '\\');
      g_string_append_c(out, s[i]);
    }
    g_string_append_c(out, '"');
    return;
  }
  /* a literal; NUL is never allowed in one, so it is dropped */
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += s[i] != '\0';
  g_string_append_printf(out, "{%zu}\r\n", n);
  for (size_t i = 0; i < len; i++)
    if (s[i] != '\0')
      g_string_append_c(out, s[i]);
}

void sc_imap_nstring(GString *out, const char *s) {
  if (s == NULL)
    g_string_append(out, "NIL");
  else
    sc_imap_string(out, s, strlen(s));
}

char *sc_text_to_utf8(const char *text, size_t len, const char *charset) {
  if (g_utf8_validate(text, (gssize)len, NULL))
    return g_strndup(text, len);
  if (charset != NULL) {
    char *u = g_convert_with_fallback(text, (gssize)len, "UTF-8", charset, "?",
                                      NULL, NULL, NULL);
    if (u != NULL)
      return u;
  }
  char *u = g_convert_with_fallback(text, (gssize)len, "UTF-8", "WINDOWS-1252",
                                    "?", NULL, NULL, NULL);
  return u != NULL ? u : g_utf8_make_valid(text, (gssize)len);
}

/* ------------------------------------------------------------ headers */

/* line_end - offset just past the line starting at P (before END) */
static size_t line_end(const char *data, size_t p, size_t end) {
  const char *nl = memchr(data + p, '\n', end - p);
  return nl != NULL ? (size_t)(nl - data) + 1 : end;
}

/* is_blank_line - the line at P is empty (CRLF or LF) */
static bool is_blank_line(const char *data, size_t p, size_t end) {
  if (p < end && data[p] == '\n')
    return true;
  return p + 1 < end && data[p] == '\r' && data[p + 1] == '\n';
}

size_t sc_header_end(const char *data, size_t start, size_t end) {
  size_t p = start;
  while (p < end) {
    if (is_blank_line(data, p, end))
      return line_end(data, p, end);
    p = line_end(data, p, end);
  }
  return end;
}

void sc_header_each(const char *data, size_t len,
                    bool (*cb)(void *ctx, const char *name, size_t name_len,
                               const char *value, size_t value_len,
                               size_t field_off, size_t field_len),
                    void *ctx) {
  size_t p = 0;
  unsigned fields = 0;
  while (p < len && !is_blank_line(data, p, len) && fields < 100000) {
    size_t start = p;
    size_t e = line_end(data, p, len);
    /* continuation lines start with whitespace */
    while (e < len && (data[e] == ' ' || data[e] == '\t'))
      e = line_end(data, e, len);
    const char *colon = memchr(data + start, ':', e - start);
    if (colon != NULL) {
      size_t name_len = (size_t)(colon - (data + start));
      while (name_len > 0 &&
             (data[start + name_len - 1] == ' ' ||
              data[start + name_len - 1] == '\t'))
        name_len--;
      size_t v = (size_t)(colon - data) + 1;
      fields++;
      if (name_len > 0 &&
          !cb(ctx, data + start, name_len, data + v, e - v, start, e - start))
        return;
    }
    p = e;
  }
}

/* unfold - VALUE without CR, LF and NUL, trimmed */
static char *unfold(const char *value, size_t len) {
  GString *s = g_string_sized_new(len);
  for (size_t i = 0; i < len; i++)
    if (value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
      g_string_append_c(s, value[i]);
  char *r = g_string_free(s, FALSE);
  return g_strstrip(r);
}

struct get_ctx {
  const char *name;
  char *value;
};

static bool get_cb(void *ctx, const char *name, size_t name_len,
                   const char *value, size_t value_len, size_t off,
                   size_t flen) {
  struct get_ctx *g = ctx;
  if (strlen(g->name) != name_len ||
      g_ascii_strncasecmp(g->name, name, name_len) != 0)
    return true;
  g->value = unfold(value, MIN(value_len, (size_t)256 * 1024));
  return false;
}

char *sc_header_get(const char *data, size_t len, const char *name) {
  struct get_ctx g = {name, NULL};
  sc_header_each(data, len, get_cb, &g);
  return g.value;
}

/* ------------------------------------------------------------ the tree */

typedef struct mnode {
  size_t start, hdr_end, end;
  char *type, *subtype;     /* lower case */
  GMimeContentType *ct;     /* NULL when the default applies */
  char *cte, *cid, *cdesc, *cdisp, *clang, *cloc, *cmd5;
  bool multipart, message;
  GPtrArray *children;      /* of mnode* (multipart) */
  struct mnode *msg;        /* the encapsulated message (message/rfc822) */
  uint32_t lines;
} mnode;

typedef struct scan {
  const char *data;
  size_t len;
  unsigned parts;
} scan;

static void mnode_free(mnode *n) {
  if (n == NULL)
    return;
  if (n->children != NULL) {
    for (guint i = 0; i < n->children->len; i++)
      mnode_free(n->children->pdata[i]);
    g_ptr_array_free(n->children, TRUE);
  }
  mnode_free(n->msg);
  if (n->ct != NULL)
    g_object_unref(n->ct);
  g_free(n->type);
  g_free(n->subtype);
  g_free(n->cte);
  g_free(n->cid);
  g_free(n->cdesc);
  g_free(n->cdisp);
  g_free(n->clang);
  g_free(n->cloc);
  g_free(n->cmd5);
  g_free(n);
}

struct fields_ctx {
  mnode *n;
  char *ctype;
};

static bool fields_cb(void *ctx, const char *name, size_t nlen,
                      const char *value, size_t vlen, size_t off,
                      size_t flen) {
  struct fields_ctx *f = ctx;
  static const struct {
    const char *name;
    size_t offset;
  } wanted[] = {
      {"content-transfer-encoding", offsetof(mnode, cte)},
      {"content-id", offsetof(mnode, cid)},
      {"content-description", offsetof(mnode, cdesc)},
      {"content-disposition", offsetof(mnode, cdisp)},
      {"content-language", offsetof(mnode, clang)},
      {"content-location", offsetof(mnode, cloc)},
      {"content-md5", offsetof(mnode, cmd5)},
  };
  if (nlen < 8 || g_ascii_strncasecmp(name, "content-", 8) != 0)
    return true;
  vlen = MIN(vlen, (size_t)64 * 1024);
  if (nlen == 12 && g_ascii_strncasecmp(name, "content-type", 12) == 0) {
    if (f->ctype == NULL)
      f->ctype = unfold(value, vlen);
    return true;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(wanted); i++) {
    char **slot = (char **)((char *)f->n + wanted[i].offset);
    if (strlen(wanted[i].name) == nlen &&
        g_ascii_strncasecmp(name, wanted[i].name, nlen) == 0 && *slot == NULL)
      *slot = unfold(value, vlen);
  }
  return true;
}

static uint32_t count_lines(const char *data, size_t start, size_t end) {
  uint32_t n = 0;
  const char *p = data + start, *e = data + end;
  while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    n++;
    p++;
  }
  if (end > start && data[end - 1] != '\n')
    n++;
  return n;
}

static void set_type(mnode *n, const char *type, const char *subtype) {
  g_free(n->type);
  g_free(n->subtype);
  n->type = g_ascii_strdown(type, -1);
  n->subtype = g_ascii_strdown(subtype, -1);
}

static mnode *parse_node(scan *s, size_t start, size_t end, unsigned depth,
                         bool in_digest);

/* is_delimiter - a delimiter line of boundary B at P: 1 for a delimiter,
 * 2 for the close delimiter, 0 otherwise; *next_r is the line's end */
static int is_delimiter(const scan *s, size_t p, size_t end, const char *b,
                        size_t blen, size_t *next_r) {
  if (p + 2 + blen > end || s->data[p] != '-' || s->data[p + 1] != '-' ||
      memcmp(s->data + p + 2, b, blen) != 0)
    return 0;
  size_t q = p + 2 + blen;
  int kind = 1;
  if (q + 1 < end && s->data[q] == '-' && s->data[q + 1] == '-') {
    kind = 2;
    q += 2;
  }
  /* transport padding, then the line end */
  while (q < end && (s->data[q] == ' ' || s->data[q] == '\t'))
    q++;
  if (q < end && s->data[q] != '\r' && s->data[q] != '\n')
    return 0;
  *next_r = line_end(s->data, q, end);
  return kind;
}

/* before_eol - where the line end before offset P starts (the CRLF that
 * precedes a delimiter belongs to it) */
static size_t before_eol(const char *data, size_t lo, size_t p) {
  if (p > lo && data[p - 1] == '\n') {
    p--;
    if (p > lo && data[p - 1] == '\r')
      p--;
  }
  return p;
}

static void scan_multipart(scan *s, mnode *n, const char *boundary,
                           unsigned depth) {
  size_t blen = strlen(boundary);
  size_t p = n->hdr_end, child_start = 0;
  bool in_child = false;
  n->children = g_ptr_array_new();
  while (p < n->end) {
    size_t next;
    int kind = is_delimiter(s, p, n->end, boundary, blen, &next);
    if (kind != 0) {
      if (in_child && s->parts < SC_MIME_MAX_PARTS) {
        size_t child_end = before_eol(s->data, child_start, p);
        g_ptr_array_add(n->children,
                        parse_node(s, child_start, child_end, depth + 1,
                                   g_str_equal(n->subtype, "digest")));
      }
      if (kind == 2) {
        in_child = false;
        break;
      }
      in_child = true;
      child_start = next;
      p = next;
      continue;
    }
    /* next line that may be a delimiter */
    const char *hit = memmem(s->data + p, n->end - p, "\n--", 3);
    if (hit == NULL)
      break;
    p = (size_t)(hit - s->data) + 1;
  }
  if (in_child && s->parts < SC_MIME_MAX_PARTS)
    g_ptr_array_add(n->children,
                    parse_node(s, child_start, n->end, depth + 1,
                               g_str_equal(n->subtype, "digest")));
  if (n->children->len == 0) {
    /* no delimiter at all: one opaque text part holding the body, so the
     * structure stays a valid multipart */
    mnode *c = g_new0(mnode, 1);
    c->start = c->hdr_end = n->hdr_end;
    c->end = n->end;
    set_type(c, "text", "plain");
    c->lines = count_lines(s->data, c->hdr_end, c->end);
    s->parts++;
    g_ptr_array_add(n->children, c);
  }
}

static mnode *parse_node(scan *s, size_t start, size_t end, unsigned depth,
                         bool in_digest) {
  mnode *n = g_new0(mnode, 1);
  struct fields_ctx f = {n, NULL};
  s->parts++;
  n->start = start;
  n->end = end;
  n->hdr_end = sc_header_end(s->data, start, end);
  sc_header_each(s->data + start, n->hdr_end - start, fields_cb, &f);
  if (f.ctype != NULL)
    n->ct = g_mime_content_type_parse(NULL, f.ctype);
  g_free(f.ctype);
  if (n->ct != NULL && g_mime_content_type_get_media_type(n->ct) != NULL &&
      g_mime_content_type_get_media_subtype(n->ct) != NULL)
    set_type(n, g_mime_content_type_get_media_type(n->ct),
             g_mime_content_type_get_media_subtype(n->ct));
  else if (in_digest)
    set_type(n, "message", "rfc822");
  else
    set_type(n, "text", "plain");

  bool room = depth < SC_MIME_MAX_DEPTH && s->parts < SC_MIME_MAX_PARTS;
  if (g_str_equal(n->type, "multipart")) {
    const char *b = n->ct != NULL
                        ? g_mime_content_type_get_parameter(n->ct, "boundary")
                        : NULL;
    if (room && b != NULL && *b != '\0' && strlen(b) <= 200) {
      n->multipart = true;
      scan_multipart(s, n, b, depth);
      return n;
    }
    /* beyond the limits or without a boundary: an opaque part */
    set_type(n, "application", "octet-stream");
  } else if (g_str_equal(n->type, "message") &&
             (g_str_equal(n->subtype, "rfc822") ||
              g_str_equal(n->subtype, "global"))) {
    if (room) {
      n->message = true;
      n->msg = parse_node(s, n->hdr_end, end, depth + 1, false);
    }
  }
  n->lines = count_lines(s->data, n->hdr_end, n->end);
  return n;
}

/* ------------------------------------------------------------ envelope */

static bool has_8bit(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s >= 0x80)
      return true;
  return false;
}

/* env_name - an address's display name as IMAP shows it: raw UTF-8 when
 * the header had 8-bit text, RFC 2047 encoded words otherwise */
static void env_name(GString *out, const char *name, bool raw8) {
  if (name == NULL || *name == '\0') {
    g_string_append(out, "NIL");
    return;
  }
  if (!has_8bit(name) || raw8) {
    sc_imap_nstring(out, name);
    return;
  }
  char *enc = g_mime_utils_header_encode_phrase(NULL, name, "utf-8");
  sc_imap_nstring(out, enc != NULL ? enc : name);
  g_free(enc);
}

static void env_mailbox(GString *out, InternetAddress *ia, bool raw8) {
  const char *addr =
      internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
  g_string_append_c(out, '(');
  env_name(out, internet_address_get_name(ia), raw8);
  g_string_append(out, " NIL ");
  const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
  if (addr == NULL || *addr == '\0') {
    g_string_append(out, "\"\" \".MISSING-HOST-NAME.\"");
  } else if (at == NULL) {
    sc_imap_string(out, addr, strlen(addr));
    g_string_append(out, " \".MISSING-HOST-NAME.\"");
  } else {
    sc_imap_string(out, addr, (size_t)(at - addr));
    g_string_append_c(out, ' ');
    sc_imap_string(out, at + 1, strlen(at + 1));
  }
  g_string_append_c(out, ')');
}

static void env_list(GString *out, InternetAddressList *list, bool raw8,
                     unsigned depth) {
  int n = internet_address_list_length(list);
  for (int i = 0; i < n && i < 10000; i++) {
    InternetAddress *ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      env_mailbox(out, ia, raw8);
    } else if (INTERNET_ADDRESS_IS_GROUP(ia) && depth == 0) {
      /* RFC 3501: a group is (NIL NIL name NIL) ... (NIL NIL NIL NIL) */
      const char *gname = internet_address_get_name(ia);
      g_string_append(out, "(NIL NIL ");
      sc_imap_nstring(out, gname != NULL ? gname : "");
      g_string_append(out, " NIL)");
      env_list(out,
               internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
               raw8, depth + 1);
      g_string_append(out, "(NIL NIL NIL NIL)");
    }
  }
}

static void env_addrs(GString *out, const char *value) {
  InternetAddressList *list =
      value != NULL ? internet_address_list_parse(NULL, value) : NULL;
  if (list == NULL || internet_address_list_length(list) == 0) {
    g_string_append(out, "NIL");
  } else {
    g_string_append_c(out, '(');
    env_list(out, list, has_8bit(value), 0);
    g_string_append_c(out, ')');
  }
  if (list != NULL)
    g_object_unref(list);
}

struct env_fields {
  char *v[10];
};

static const char *const env_names[] = {
    "date",     "subject", "from", "sender",      "reply-to",
    "to",       "cc",      "bcc",  "in-reply-to", "message-id"};

static bool env_cb(void *ctx, const char *name, size_t nlen,
                   const char *value, size_t vlen, size_t off, size_t flen) {
  struct env_fields *e = ctx;
  for (size_t i = 0; i < G_N_ELEMENTS(env_names); i++)
    if (strlen(env_names[i]) == nlen &&
        g_ascii_strncasecmp(env_names[i], name, nlen) == 0 && e->v[i] == NULL)
      e->v[i] = unfold(value, MIN(vlen, (size_t)64 * 1024));
  return true;
}

/* envelope - the ENVELOPE of the message whose header is [START, HDR_END) */
static void envelope(GString *out, const scan *s, const mnode *m,
                     int64_t *date_r, int16_t *tz_r) {
  struct env_fields e = {{NULL}};
  sc_header_each(s->data + m->start, m->hdr_end - m->start, env_cb, &e);
  g_string_append_c(out, '(');
  sc_imap_nstring(out, e.v[0]);
  g_string_append_c(out, ' ');
  sc_imap_nstring(out, e.v[1]);
  for (int i = 2; i <= 7; i++) {
    g_string_append_c(out, ' ');
    /* sender and reply-to default to from */
    const char *v = e.v[i];
    if ((i == 3 || i == 4) && (v == NULL || *v == '\0'))
      v = e.v[2];
    env_addrs(out, v);
  }
  g_string_append_c(out, ' ');
  sc_imap_nstring(out, e.v[8]);
  g_string_append_c(out, ' ');
  sc_imap_nstring(out, e.v[9]);
  g_string_append_c(out, ')');
  if (date_r != NULL) {
    GDateTime *dt = e.v[0] != NULL ? g_mime_utils_header_decode_date(e.v[0])
                                   : NULL;
    *date_r = 0;
    *tz_r = 0;
    if (dt != NULL) {
      *date_r = g_date_time_to_unix(dt);
      *tz_r = (int16_t)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
      g_date_time_unref(dt);
    }
  }
  for (size_t i = 0; i < G_N_ELEMENTS(e.v); i++)
    g_free(e.v[i]);
}

/* ------------------------------------------------------------ structure */

static bool is_ascii(const char *s) { return !has_8bit(s); }

/* params - a body-fld-param list; non-ASCII values go out RFC 2231
 * encoded so every client can take them */
static void params(GString *out, GMimeParamList *list, const char *type) {
  int n = list != NULL ? g_mime_param_list_length(list) : 0;
  bool charset_seen = false;
  int shown = 0;
  for (int i = 0; i < n && i < 1000; i++) {
    GMimeParam *p = g_mime_param_list_get_parameter_at(list, i);
    const char *name = g_mime_param_get_name(p);
    const char *value = g_mime_param_get_value(p);
    if (name == NULL || value == NULL)
      continue;
    g_string_append(out, shown++ == 0 ? "(" : " ");
    if (g_ascii_strcasecmp(name, "charset") == 0)
      charset_seen = true;
    if (is_ascii(value)) {
      sc_imap_string(out, name, strlen(name));
      g_string_append_c(out, ' ');
      sc_imap_string(out, value, strlen(value));
    } else {
      char *n2 = g_strconcat(name, "*", NULL);
      char *esc = g_uri_escape_string(value, NULL, FALSE);
      char *v2 = g_strconcat("utf-8''", esc, NULL);
      sc_imap_string(out, n2, strlen(n2));
      g_string_append_c(out, ' ');
      sc_imap_string(out, v2, strlen(v2));
      g_free(n2);
      g_free(esc);
      g_free(v2);
    }
  }
  if (type != NULL && g_str_equal(type, "text") && !charset_seen)
    g_string_append(out, shown++ == 0 ? "(\"charset\" \"us-ascii\"" : " \"charset\" \"us-ascii\"");
  g_string_append(out, shown > 0 ? ")" : "NIL");
}

static void disposition(GString *out, const char *value) {
  GMimeContentDisposition *d =
      value != NULL ? g_mime_content_disposition_parse(NULL, value) : NULL;
  const char *kind = d != NULL ? g_mime_content_disposition_get_disposition(d)
                               : NULL;
  if (kind == NULL || *kind == '\0') {
    g_string_append(out, "NIL");
  } else {
    g_string_append_c(out, '(');
    sc_imap_string(out, kind, strlen(kind));
    g_string_append_c(out, ' ');
    params(out, g_mime_content_disposition_get_parameters(d), NULL);
    g_string_append_c(out, ')');
  }
  if (d != NULL)
    g_object_unref(d);
}

static void language(GString *out, const char *value) {
  char **langs = value != NULL ? g_strsplit_set(value, ", \t", -1) : NULL;
  GPtrArray *l = g_ptr_array_new();
  for (char **p = langs; p != NULL && *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add(l, *p);
  if (l->len == 0) {
    g_string_append(out, "NIL");
  } else if (l->len == 1) {
    sc_imap_nstring(out, l->pdata[0]);
  } else {
    g_string_append_c(out, '(');
    for (guint i = 0; i < l->len; i++) {
      if (i > 0)
        g_string_append_c(out, ' ');
      sc_imap_nstring(out, l->pdata[i]);
    }
    g_string_append_c(out, ')');
  }
  g_ptr_array_free(l, TRUE);
  g_strfreev(langs);
}

static void structure(GString *out, const scan *s, const mnode *n, bool ext);

static void structure_multipart(GString *out, const scan *s, const mnode *n,
                                bool ext) {
  g_string_append_c(out, '(');
  for (guint i = 0; i < n->children->len; i++)
    structure(out, s, n->children->pdata[i], ext);
  g_string_append_c(out, ' ');
  sc_imap_string(out, n->subtype, strlen(n->subtype));
  if (ext) {
    g_string_append_c(out, ' ');
    GMimeParamList *pl =
        n->ct != NULL ? g_mime_content_type_get_parameters(n->ct) : NULL;
    params(out, pl, NULL);
    g_string_append_c(out, ' ');
    disposition(out, n->cdisp);
    g_string_append_c(out, ' ');
    language(out, n->clang);
    g_string_append_c(out, ' ');
    sc_imap_nstring(out, n->cloc);
  }
  g_string_append_c(out, ')');
}

static void structure(GString *out, const scan *s, const mnode *n, bool ext) {
  if (n->multipart) {
    structure_multipart(out, s, n, ext);
    return;
  }
  g_string_append_c(out, '(');
  sc_imap_string(out, n->type, strlen(n->type));
  g_string_append_c(out, ' ');
  sc_imap_string(out, n->subtype, strlen(n->subtype));
  g_string_append_c(out, ' ');
  params(out, n->ct != NULL ? g_mime_content_type_get_parameters(n->ct) : NULL,
         n->type);
  g_string_append_c(out, ' ');
  sc_imap_nstring(out, n->cid);
  g_string_append_c(out, ' ');
  sc_imap_nstring(out, n->cdesc);
  g_string_append_c(out, ' ');
  if (n->cte != NULL && *n->cte != '\0') {
    char *enc = g_ascii_strdown(n->cte, -1);
    sc_imap_string(out, enc, strlen(enc));
    g_free(enc);
  } else {
    g_string_append(out, "\"7bit\"");
  }
  g_string_append_printf(out, " %zu", n->end - n->hdr_end);
  if (n->message) {
    g_string_append_c(out, ' ');
    envelope(out, s, n->msg, NULL, NULL);
    g_string_append_c(out, ' ');
    structure(out, s, n->msg, ext);
    g_string_append_printf(out, " %u", n->lines);
  } else if (g_str_equal(n->type, "text")) {
    g_string_append_printf(out, " %u", n->lines);
  }
  if (ext) {
    g_string_append_c(out, ' ');
    sc_imap_nstring(out, n->cmd5);
    g_string_append_c(out, ' ');
    disposition(out, n->cdisp);
    g_string_append_c(out, ' ');
    language(out, n->clang);
    g_string_append_c(out, ' ');
    sc_imap_nstring(out, n->cloc);
  }
  g_string_append_c(out, ')');
}

/* ------------------------------------------------------------ parts */

static sc_part *part_new(const char *id, const mnode *n) {
  sc_part *p = g_new0(sc_part, 1);
  const char *cs =
      n->ct != NULL ? g_mime_content_type_get_parameter(n->ct, "charset")
                    : NULL;
  p->id = g_strdup(id);
  p->mime_off = n->start;
  p->mime_len = n->hdr_end - n->start;
  p->body_off = n->hdr_end;
  p->body_len = n->end - n->hdr_end;
  p->lines = n->lines;
  p->type = g_strdup(n->type);
  p->subtype = g_strdup(n->subtype);
  p->encoding = n->cte != NULL ? g_ascii_strdown(n->cte, -1) : g_strdup("7bit");
  p->charset = cs != NULL ? g_ascii_strdown(cs, -1) : NULL;
  return p;
}

static char *child_id(const char *prefix, guint i) {
  return *prefix == '\0' ? g_strdup_printf("%u", i)
                         : g_strdup_printf("%s.%u", prefix, i);
}

static void emit_part(GPtrArray *parts, const mnode *n, const char *id);

/* emit_message_body - the parts inside message M, numbered under PREFIX */
static void emit_message_body(GPtrArray *parts, const mnode *m,
                              const char *prefix) {
  if (m->multipart) {
    for (guint i = 0; i < m->children->len; i++) {
      char *cid = child_id(prefix, i + 1);
      emit_part(parts, m->children->pdata[i], cid);
      g_free(cid);
    }
  } else {
    char *cid = child_id(prefix, 1);
    emit_part(parts, m, cid);
    g_free(cid);
  }
}

static void emit_part(GPtrArray *parts, const mnode *n, const char *id) {
  sc_part *p = part_new(id, n);
  g_ptr_array_add(parts, p);
  if (n->multipart) {
    p->n_children = n->children->len;
    for (guint i = 0; i < n->children->len; i++) {
      char *cid = child_id(id, i + 1);
      emit_part(parts, n->children->pdata[i], cid);
      g_free(cid);
    }
  } else if (n->message) {
    p->n_children = 1;
    p->hdr_off = n->msg->start;
    p->hdr_len = n->msg->hdr_end - n->msg->start;
    p->text_off = n->msg->hdr_end;
    p->text_len = n->msg->end - n->msg->hdr_end;
    emit_message_body(parts, n->msg, id);
  }
}

/* ------------------------------------------------------------ api */

void sc_mime_init(void) { g_mime_init(); }
void sc_mime_shutdown(void) { g_mime_shutdown(); }

sc_msginfo *sc_mime_parse(const char *data, size_t len) {
  scan s = {data, len, 0};
  sc_msginfo *info = g_new0(sc_msginfo, 1);
  mnode *root = parse_node(&s, 0, len, 0, false);

  info->envelope = g_string_new(NULL);
  envelope(info->envelope, &s, root, &info->sent_date, &info->sent_tz);
  info->bodystructure = g_string_new(NULL);
  structure(info->bodystructure, &s, root, true);
  info->body = g_string_new(NULL);
  structure(info->body, &s, root, false);
  size_t hlen = root->hdr_end - root->start;
  info->header_truncated = hlen > SC_MIME_MAX_CACHED_HEADER;
  info->header = g_byte_array_sized_new(
      (guint)MIN(hlen, (size_t)SC_MIME_MAX_CACHED_HEADER));
  g_byte_array_append(info->header, (const guint8 *)data,
                      (guint)MIN(hlen, (size_t)SC_MIME_MAX_CACHED_HEADER));

  info->parts = g_ptr_array_new();
  sc_part *top = part_new("", root);
  top->hdr_off = root->start;
  top->hdr_len = root->hdr_end - root->start;
  top->text_off = root->hdr_end;
  top->text_len = root->end - root->hdr_end;
  top->n_children = root->multipart ? root->children->len : 1;
  g_ptr_array_add(info->parts, top);
  emit_message_body(info->parts, root, "");
  mnode_free(root);
  return info;
}

static void part_free(sc_part *p) {
  g_free(p->id);
  g_free(p->type);
  g_free(p->subtype);
  g_free(p->encoding);
  g_free(p->charset);
  g_free(p);
}

void sc_msginfo_free(sc_msginfo **infop) {
  sc_msginfo *info = *infop;
  if (info == NULL)
    return;
  *infop = NULL;
  if (info->envelope != NULL)
    g_string_free(info->envelope, TRUE);
  if (info->bodystructure != NULL)
    g_string_free(info->bodystructure, TRUE);
  if (info->body != NULL)
    g_string_free(info->body, TRUE);
  if (info->header != NULL)
    g_byte_array_free(info->header, TRUE);
  if (info->parts != NULL) {
    for (guint i = 0; i < info->parts->len; i++)
      part_free(info->parts->pdata[i]);
    g_ptr_array_free(info->parts, TRUE);
  }
  g_free(info);
}

const sc_part *sc_msginfo_part(const sc_msginfo *info, const char *id) {
  for (guint i = 0; i < info->parts->len; i++) {
    const sc_part *p = info->parts->pdata[i];
    if (g_str_equal(p->id, id))
      return p;
  }
  return NULL;
}

#define CACHE_MAGIC 0x31434353u /* "SCC1" */

static void put_gstr(sc_wbuf *b, const GString *s) {
  sc_put_str(b, s->str, s->len);
}

static void put_cstr(sc_wbuf *b, const char *s) {
  sc_put_str(b, s, s != NULL ? strlen(s) : 0);
}

void sc_msginfo_encode(const sc_msginfo *info, uint32_t uid, sc_wbuf *b) {
  sc_put_u32(b, CACHE_MAGIC);
  sc_put_u32(b, uid);
  put_gstr(b, info->envelope);
  put_gstr(b, info->bodystructure);
  put_gstr(b, info->body);
  sc_put_str(b, (const char *)info->header->data, info->header->len);
  sc_put_u8(b, info->header_truncated ? 1 : 0);
  sc_put_u64(b, (uint64_t)info->sent_date);
  sc_put_u16(b, (uint16_t)info->sent_tz);
  sc_put_u32(b, info->parts->len);
  for (guint i = 0; i < info->parts->len; i++) {
    const sc_part *p = info->parts->pdata[i];
    put_cstr(b, p->id);
    uint64_t v[8] = {p->mime_off, p->mime_len, p->body_off, p->body_len,
                     p->hdr_off,  p->hdr_len,  p->text_off, p->text_len};
    for (int k = 0; k < 8; k++)
      sc_put_u64(b, v[k]);
    sc_put_u32(b, p->lines);
    sc_put_u32(b, p->n_children);
    put_cstr(b, p->type);
    put_cstr(b, p->subtype);
    put_cstr(b, p->encoding);
    put_cstr(b, p->charset);
  }
}

static GString *get_gstr(sc_rbuf *r) {
  size_t len;
  const char *s = sc_get_str(r, &len);
  if (s == NULL) {
    r->bad = true;
    return NULL;
  }
  return g_string_new_len(s, (gssize)len);
}

bool sc_msginfo_peek(const void *data, size_t len, uint32_t uid, int which,
                     const char **field_r, size_t *len_r,
                     bool *header_truncated_r) {
  sc_rbuf r;
  sc_rbuf_init(&r, data, len);
  if (which < 0 || which > 3 || sc_get_u32(&r) != CACHE_MAGIC ||
      sc_get_u32(&r) != uid)
    return false;
  const char *field = NULL;
  size_t flen = 0;
  for (int i = 0; i <= 3; i++) {
    size_t n;
    const char *s = sc_get_str(&r, &n);
    if (s == NULL)
      return false;
    if (i == which) {
      field = s;
      flen = n;
    }
  }
  *header_truncated_r = sc_get_u8(&r) != 0;
  if (r.bad)
    return false;
  *field_r = field;
  *len_r = flen;
  return true;
}

sc_msginfo *sc_msginfo_decode(const void *data, size_t len, uint32_t *uid_r) {
  sc_rbuf r;
  sc_rbuf_init(&r, data, len);
  if (sc_get_u32(&r) != CACHE_MAGIC)
    return NULL;
  sc_msginfo *info = g_new0(sc_msginfo, 1);
  *uid_r = sc_get_u32(&r);
  info->envelope = get_gstr(&r);
  info->bodystructure = get_gstr(&r);
  info->body = get_gstr(&r);
  size_t hlen;
  const char *h = sc_get_str(&r, &hlen);
  info->header = g_byte_array_new();
  if (h != NULL)
    g_byte_array_append(info->header, (const guint8 *)h, (guint)hlen);
  info->header_truncated = sc_get_u8(&r) != 0;
  info->sent_date = (int64_t)sc_get_u64(&r);
  info->sent_tz = (int16_t)sc_get_u16(&r);
  uint32_t n = sc_get_u32(&r);
  info->parts = g_ptr_array_new();
  /* each part takes at least 96 bytes: a count beyond that is garbage */
  if (!r.bad && (uint64_t)n * 96 > len - r.pos)
    r.bad = true;
  for (uint32_t i = 0; i < n && !r.bad; i++) {
    sc_part *p = g_new0(sc_part, 1);
    p->id = sc_get_strdup(&r);
    uint64_t v[8];
    for (int k = 0; k < 8; k++)
      v[k] = sc_get_u64(&r);
    p->mime_off = v[0];
    p->mime_len = v[1];
    p->body_off = v[2];
    p->body_len = v[3];
    p->hdr_off = v[4];
    p->hdr_len = v[5];
    p->text_off = v[6];
    p->text_len = v[7];
    p->lines = sc_get_u32(&r);
    p->n_children = sc_get_u32(&r);
    p->type = sc_get_strdup(&r);
    p->subtype = sc_get_strdup(&r);
    p->encoding = sc_get_strdup(&r);
    p->charset = sc_get_strdup(&r);
    g_ptr_array_add(info->parts, p);
    if (p->id == NULL || p->type == NULL || p->subtype == NULL ||
        p->encoding == NULL)
      r.bad = true;
  }
  if (r.bad || info->parts->len == 0 || r.pos != len) {
    sc_msginfo_free(&info);
    return NULL;
  }
  return info;
}
