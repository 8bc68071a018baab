/*
 * ldif.c - reading and writing LDIF content records (see ldif.h)
 */
#include "ldif.h"

#include <ldap.h>
#include <string.h>

/* One unfolded line. */
typedef struct lline {
  const char *start; /* first physical line in the text */
  const char *end;   /* just past the last physical line's line end */
  char *text;        /* unfolded, without line ends */
  unsigned line;     /* number of the first physical line */
} lline;

typedef struct parser {
  const char *name;
  const char *text, *pos, *limit;
  unsigned line;    /* number of the next physical line */
  const char *lead; /* start of the text before the next record */
  const char *body; /* start of the open record's dn: line */
  char *error;
} parser;

/* fail - record the first error at LINE */
static G_GNUC_PRINTF(3, 4) void fail(parser *p, unsigned line,
                                     const char *fmt, ...) {
  if (p->error != NULL)
    return;
  va_list args;
  va_start(args, fmt);
  char *msg = g_strdup_vprintf(fmt, args);
  va_end(args);
  p->error = g_strdup_printf("%s:%u: %s", p->name, line, msg);
  g_free(msg);
}

/* physical_line - the next physical line [*s, *e) without its line end;
 * returns the position after the line end, or NULL at the end */
static const char *physical_line(parser *p, const char *pos, const char **s,
                                 const char **e) {
  if (pos >= p->limit)
    return NULL;
  const char *nl = memchr(pos, '\n', (size_t)(p->limit - pos));
  const char *end = nl != NULL ? nl : p->limit;
  *s = pos;
  *e = end > pos && end[-1] == '\r' ? end - 1 : end;
  return nl != NULL ? nl + 1 : p->limit;
}

/* next_line - the next logical (unfolded) line, or false at the end */
static bool next_line(parser *p, lline *l) {
  const char *s, *e;
  const char *next = physical_line(p, p->pos, &s, &e);
  if (next == NULL)
    return false;
  GString *text = g_string_new_len(s, e - s);
  l->start = p->pos;
  l->line = p->line++;
  p->pos = next;
  /* a following line that starts with one space continues this one */
  while ((next = physical_line(p, p->pos, &s, &e)) != NULL && e > s &&
         *s == ' ' && text->len > 0) {
    g_string_append_len(text, s + 1, e - s - 1);
    p->line++;
    p->pos = next;
    if (text->len > LDIF_MAX_LINE)
      break;
  }
  l->end = p->pos;
  if (text->len > LDIF_MAX_LINE)
    fail(p, l->line, "line longer than %u octets", LDIF_MAX_LINE);
  l->text = g_string_free(text, FALSE);
  return true;
}

/* valid_attr_name - an AttributeDescription: a name or numeric OID, then
 * ;options */
static bool valid_attr_name(const char *n, size_t len) {
  size_t i = 0;
  if (len == 0)
    return false;
  if (g_ascii_isalpha(n[0])) {
    while (i < len && (g_ascii_isalnum(n[i]) || n[i] == '-'))
      i++;
  } else if (g_ascii_isdigit(n[0])) {
    bool dot_ok = false;
    while (i < len && (g_ascii_isdigit(n[i]) || (n[i] == '.' && dot_ok))) {
      dot_ok = n[i] != '.';
      i++;
    }
    if (!dot_ok)
      return false;
  } else {
    return false;
  }
  while (i < len && n[i] == ';') {
    size_t start = ++i;
    while (i < len && (g_ascii_isalnum(n[i]) || n[i] == '-'))
      i++;
    if (i == start)
      return false;
  }
  return i == len;
}

/* valid_base64 - TEXT is base64 that decodes cleanly */
static bool valid_base64(const char *text) {
  size_t n = 0, pad = 0;
  for (const char *c = text; *c != '\0'; c++, n++) {
    if (*c == '=') {
      pad++;
    } else if (pad > 0 || !(g_ascii_isalnum(*c) || *c == '+' || *c == '/')) {
      return false;
    }
  }
  return n % 4 == 0 && pad <= 2;
}

static void value_clear(gpointer data) {
  ldif_value *v = data;
  g_free(v->name);
  g_free(v->value);
}

/* parse_value_into - "name: value" / "name:: base64" of L into *V, which
 * may hold a name and value to free even on failure */
static bool parse_value_into(parser *p, const lline *l, ldif_value *v) {
  const char *colon = strchr(l->text, ':');
  if (colon == NULL) {
    fail(p, l->line, "expected \"attribute: value\", found \"%.40s\"", l->text);
    return false;
  }
  size_t nlen = (size_t)(colon - l->text);
  if (!valid_attr_name(l->text, nlen)) {
    fail(p, l->line, "\"%.*s\" is not a valid attribute name", (int)MIN(nlen, 60),
         l->text);
    return false;
  }
  v->name = g_strndup(l->text, nlen);
  v->line = l->line;
  v->binary = false;
  const char *rest = colon + 1;
  if (*rest == '<') {
    fail(p, l->line, "%s: URL values (\":<\") are not accepted; put the value "
                     "in the file", v->name);
    return false;
  }
  bool b64 = *rest == ':';
  if (b64)
    rest++;
  while (*rest == ' ')
    rest++;
  if (b64) {
    if (!valid_base64(rest)) {
      fail(p, l->line, "%s: invalid base64 value", v->name);
      return false;
    }
    gsize len = 0;
    guchar *data = *rest != '\0' ? g_base64_decode(rest, &len) : NULL;
    v->value = g_malloc(len + 1);
    if (len > 0)
      memcpy(v->value, data, len);
    v->value[len] = '\0';
    v->len = len;
    g_free(data);
    v->binary = memchr(v->value, '\0', len) != NULL ||
                !g_utf8_validate(v->value, (gssize)len, NULL);
  } else {
    v->len = strlen(rest);
    v->value = g_strdup(rest);
    if (!g_utf8_validate(v->value, (gssize)v->len, NULL) ||
        memchr(l->text, '\0', strlen(l->text)) != NULL) {
      fail(p, l->line, "%s: value is not valid UTF-8 (use base64, \"::\")",
           v->name);
      return false;
    }
  }
  if (v->len > LDIF_MAX_VALUE) {
    fail(p, l->line, "%s: value longer than %u octets", v->name,
         LDIF_MAX_VALUE);
    return false;
  }
  return true;
}

/* parse_value - the same; on failure *V holds nothing */
static bool parse_value(parser *p, const lline *l, ldif_value *v) {
  memset(v, 0, sizeof(*v));
  if (parse_value_into(p, l, v))
    return true;
  g_free(v->name);
  g_free(v->value);
  memset(v, 0, sizeof(*v));
  return false;
}

ldif_record *ldif_record_new(const char *dn, const char *ndn) {
  ldif_record *r = g_new0(ldif_record, 1);
  r->dn = g_strdup(dn);
  r->ndn = g_strdup(ndn);
  r->values = g_array_new(FALSE, FALSE, sizeof(ldif_value));
  g_array_set_clear_func(r->values, value_clear);
  return r;
}

void ldif_record_add(ldif_record *r, const char *name, const char *value) {
  ldif_value v = {g_strdup(name), g_strdup(value), strlen(value), 0, false};
  g_array_append_val(r->values, v);
}

void ldif_record_free(ldif_record *r) {
  if (r == NULL)
    return;
  g_array_free(r->values, TRUE);
  g_free(r->dn);
  g_free(r->ndn);
  g_free(r->lead);
  g_free(r->source);
  g_free(r);
}

char *ldif_normalize_dn(const char *dn, char **error_r) {
  char *out = NULL;
  if (*dn == '\0') {
    *error_r = g_strdup("empty DN");
    return NULL;
  }
  int rc = ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &out,
                             LDAP_DN_FORMAT_LDAPV3);
  if (rc != LDAP_SUCCESS || out == NULL) {
    *error_r = g_strdup_printf("\"%s\" is not a valid DN", dn);
    if (out != NULL)
      ldap_memfree(out);
    return NULL;
  }
  char *ndn = g_utf8_strdown(out, -1);
  ldap_memfree(out);
  return ndn;
}

/* rdn_end - where the first RDN of normalised NDN ends (its ',' or NUL);
 * a backslash escapes the next character */
static const char *rdn_end(const char *ndn) {
  const char *c = ndn;
  while (*c != '\0' && *c != ',') {
    if (*c == '\\' && c[1] != '\0')
      c++;
    c++;
  }
  return c;
}

char *ldif_parent_dn(const char *ndn) {
  const char *c = rdn_end(ndn);
  return g_strdup(*c == ',' ? c + 1 : "");
}

bool ldif_dn_within(const char *ndn, const char *base) {
  if (*base == '\0')
    return true;
  for (const char *c = ndn; *c != '\0';) {
    if (strcmp(c, base) == 0)
      return true;
    c = rdn_end(c);
    if (*c == ',')
      c++;
  }
  return false;
}

/* parse_dn - the "dn:" line L opening a record */
static ldif_record *parse_dn(parser *p, const lline *l) {
  ldif_value v;
  if (!parse_value(p, l, &v))
    return NULL;
  if (g_ascii_strcasecmp(v.name, "dn") != 0) {
    fail(p, l->line, "a record must start with \"dn:\", not \"%s:\"", v.name);
    value_clear(&v);
    return NULL;
  }
  char *error = NULL;
  char *ndn = v.binary ? NULL : ldif_normalize_dn(v.value, &error);
  if (ndn == NULL) {
    fail(p, l->line, "%s", error != NULL ? error : "the DN is not text");
    g_free(error);
    value_clear(&v);
    return NULL;
  }
  ldif_record *r = ldif_record_new(v.value, ndn);
  r->line = l->line;
  g_free(ndn);
  value_clear(&v);
  return r;
}

/* parse_attr_line - one line inside a record */
static bool parse_attr_line(parser *p, ldif_record *r, const lline *l,
                            bool first) {
  ldif_value v;
  if (!parse_value(p, l, &v))
    return false;
  if (g_ascii_strcasecmp(v.name, "dn") == 0) {
    fail(p, l->line, "\"dn:\" inside a record (a blank line must separate "
                     "records)");
  } else if (g_ascii_strcasecmp(v.name, "control") == 0) {
    fail(p, l->line, "LDIF controls are not accepted in a directory file");
  } else if (g_ascii_strcasecmp(v.name, "changetype") == 0) {
    if (!first)
      fail(p, l->line, "changetype must follow the dn: line");
    else if (g_ascii_strcasecmp(v.value, "add") != 0)
      fail(p, l->line, "changetype %s: a directory file holds entries "
                       "(only \"changetype: add\" is accepted)",
           v.value);
    value_clear(&v);
    return p->error == NULL;
  } else {
    g_array_append_val(r->values, v);
    return true;
  }
  value_clear(&v);
  return false;
}

/* check_record - what every entry needs */
static void check_record(parser *p, const ldif_record *r) {
  bool has_oc = false;
  for (guint i = 0; i < r->values->len; i++)
    has_oc |= g_ascii_strcasecmp(
                  g_array_index(r->values, ldif_value, i).name,
                  "objectClass") == 0;
  if (r->values->len == 0)
    fail(p, r->line, "entry %s has no attributes", r->dn);
  else if (!has_oc)
    fail(p, r->line, "entry %s has no objectClass", r->dn);
}

/* check_tree - unique DNs, parents before children */
static void check_tree(parser *p, ldif_file *f) {
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTable *all = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < f->records->len; i++) {
    ldif_record *r = f->records->pdata[i];
    ldif_record *dup = g_hash_table_lookup(all, r->ndn);
    if (dup != NULL) {
      fail(p, r->line, "entry %s appears twice (first at line %u)", r->dn,
           dup->line);
      break;
    }
    g_hash_table_insert(all, r->ndn, r);
  }
  for (guint i = 0; p->error == NULL && i < f->records->len; i++) {
    ldif_record *r = f->records->pdata[i];
    char *parent = ldif_parent_dn(r->ndn);
    ldif_record *pr = g_hash_table_lookup(all, parent);
    if (pr != NULL && g_hash_table_lookup(seen, parent) == NULL)
      fail(p, r->line, "entry %s comes before its parent %s (line %u); "
                       "ldapadd needs parents first",
           r->dn, pr->dn, pr->line);
    g_hash_table_insert(seen, r->ndn, r);
    g_free(parent);
  }
  g_hash_table_destroy(seen);
  g_hash_table_destroy(all);
}

/* finish_record - CUR ends before END: keep its text */
static void finish_record(parser *p, ldif_file *f, ldif_record **cur,
                          const char *end) {
  (*cur)->source = g_strndup(p->body, end - p->body);
  g_ptr_array_add(f->records, *cur);
  *cur = NULL;
  p->lead = end;
}

/* nul_line - the line number of the first NUL in TEXT, or 0 */
static unsigned nul_line(const char *text, size_t len) {
  const char *z = memchr(text, '\0', len);
  unsigned n = 1;
  if (z == NULL)
    return 0;
  for (const char *c = text; c < z; c++)
    n += *c == '\n';
  return n;
}

ldif_file *ldif_parse(const char *name, const char *text, size_t len,
                      char **error_r) {
  parser p = {.name = name, .text = text, .pos = text, .limit = text + len,
              .line = 1, .lead = text};
  ldif_file *f = g_new0(ldif_file, 1);
  f->records = g_ptr_array_new_with_free_func((GDestroyNotify)ldif_record_free);
  ldif_record *cur = NULL;
  bool first_line = true, first_attr = false;
  lline l;

  if (nul_line(text, len) > 0)
    fail(&p, nul_line(text, len), "NUL character in the file");
  while (p.error == NULL && next_line(&p, &l)) {
    if (p.error != NULL) {
      /* the line was too long */
    } else if (*l.text == '\0') {
      if (cur != NULL)
        finish_record(&p, f, &cur, l.start);
    } else if (*l.text == '#') {
      /* a comment: kept with the text around the records */
    } else if (cur == NULL && first_line &&
               g_ascii_strncasecmp(l.text, "version:", 8) == 0) {
      if (strcmp(g_strstrip(l.text + 8), "1") != 0)
        fail(&p, l.line, "unsupported LDIF version \"%s\"", l.text + 8);
      f->header = g_strndup(text, l.end - text);
      p.lead = l.end;
    } else if (cur == NULL) {
      cur = parse_dn(&p, &l);
      if (cur != NULL) {
        cur->lead = g_strndup(p.lead, l.start - p.lead);
        p.body = l.start;
      }
      first_attr = true;
    } else {
      parse_attr_line(&p, cur, &l, first_attr);
      first_attr = false;
    }
    if (*l.text != '\0' && *l.text != '#')
      first_line = false;
    g_free(l.text);
  }
  if (cur != NULL && p.error == NULL)
    finish_record(&p, f, &cur, p.limit);
  ldif_record_free(cur);
  if (p.error == NULL && p.lead < p.limit)
    f->trailer = g_strndup(p.lead, p.limit - p.lead);
  for (guint i = 0; p.error == NULL && i < f->records->len; i++)
    check_record(&p, f->records->pdata[i]);
  if (p.error == NULL)
    check_tree(&p, f);
  if (p.error != NULL) {
    *error_r = p.error;
    ldif_file_free(&f);
    return NULL;
  }
  return f;
}

void ldif_file_free(ldif_file **fp) {
  ldif_file *f = *fp;
  if (f == NULL)
    return;
  g_ptr_array_free(f->records, TRUE);
  g_free(f->header);
  g_free(f->trailer);
  g_free(f);
  *fp = NULL;
}

/* needs_base64 - VALUE cannot be written as a plain SAFE-STRING */
static bool needs_base64(const ldif_value *v) {
  const unsigned char *c = (const unsigned char *)v->value;
  if (v->binary || v->len == 0)
    return v->binary;
  if (*c == ' ' || *c == ':' || *c == '<' || c[v->len - 1] == ' ')
    return true;
  for (size_t i = 0; i < v->len; i++)
    if (c[i] == '\0' || c[i] == '\n' || c[i] == '\r' || c[i] >= 0x80)
      return true;
  return false;
}

/* write_folded - "NAME: TEXT" folded at 76 columns */
static void write_folded(GString *out, const char *name, const char *sep,
                         const char *text) {
  GString *line = g_string_new(name);
  g_string_append(line, sep);
  g_string_append(line, text);
  size_t col = 0;
  for (size_t i = 0; i < line->len; i++) {
    /* never split a UTF-8 sequence: fold only before a lead octet */
    if (col >= 76 && ((unsigned char)line->str[i] & 0xC0) != 0x80) {
      g_string_append(out, "\n ");
      col = 1;
    }
    g_string_append_c(out, line->str[i]);
    col++;
  }
  g_string_append_c(out, '\n');
  g_string_free(line, TRUE);
}

static void write_value(GString *out, const char *name, const char *value,
                        size_t len, bool binary) {
  ldif_value v = {(char *)name, (char *)value, len, 0, binary};
  if (needs_base64(&v)) {
    char *b = g_base64_encode((const guchar *)value, len);
    write_folded(out, name, ":: ", b);
    g_free(b);
  } else {
    write_folded(out, name, ": ", value);
  }
}

/* end_line - OUT ends with a line end (or is empty) */
static void end_line(GString *out) {
  if (out->len > 0 && out->str[out->len - 1] != '\n')
    g_string_append_c(out, '\n');
}

void ldif_write_record(GString *out, const ldif_record *r) {
  end_line(out);
  if (r->lead != NULL)
    g_string_append(out, r->lead);
  else if (out->len > 0 && !g_str_has_suffix(out->str, "\n\n"))
    g_string_append_c(out, '\n');
  if (r->source != NULL) {
    g_string_append(out, r->source);
    return;
  }
  write_value(out, "dn", r->dn, strlen(r->dn), false);
  for (guint i = 0; i < r->values->len; i++) {
    const ldif_value *v = &g_array_index(r->values, ldif_value, i);
    write_value(out, v->name, v->value, v->len, v->binary);
  }
}

char *ldif_write_file(const ldif_file *f, size_t *len_r) {
  GString *out = g_string_new(f->header);
  for (guint i = 0; i < f->records->len; i++)
    ldif_write_record(out, f->records->pdata[i]);
  if (f->trailer != NULL) {
    end_line(out);
    g_string_append(out, f->trailer);
  }
  end_line(out);
  *len_r = out->len;
  return g_string_free(out, FALSE);
}
