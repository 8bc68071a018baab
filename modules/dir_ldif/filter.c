/*
 * filter.c - LDAP search filters evaluated in memory (see filter.h)
 */
#include "filter.h"

#include <stdlib.h>
#include <string.h>

typedef enum ftype {
  F_AND,
  F_OR,
  F_NOT,
  F_EQUAL,
  F_PRESENT,
  F_SUBSTR,
  F_GE,
  F_LE,
} ftype;

struct filter {
  ftype type;
  char *attr;        /* items */
  char *value;       /* folded assertion value (EQUAL, GE, LE) */
  char **parts;      /* SUBSTR: folded initial, any..., final ("" = none) */
  GPtrArray *subs;   /* AND, OR, NOT: of filter* */
};

typedef struct fparser {
  const char *pos;
  char *error;
} fparser;

static filter *parse_filter(fparser *p, unsigned depth);

/* sub_free - a filter of an AND, OR or NOT list */
static void sub_free(gpointer p) {
  filter *f = p;
  filter_free(&f);
}

/* fold - VALUE without case, for comparisons */
static char *fold(const char *value, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)value[i] >= 0x80)
      return g_utf8_casefold(value, (gssize)len);
  return g_ascii_strdown(value, (gssize)len);
}

static void perr(fparser *p, const char *what) {
  if (p->error == NULL)
    p->error = g_strdup(what);
}

/* unescape - assertion value [S, E) with \XX escapes decoded; NULL on a
 * bad escape or invalid UTF-8 */
static char *unescape(fparser *p, const char *s, const char *e) {
  GString *out = g_string_sized_new((gsize)(e - s));
  for (const char *c = s; c < e; c++) {
    if (*c != '\\') {
      g_string_append_c(out, *c);
      continue;
    }
    if (e - c < 3 || !g_ascii_isxdigit(c[1]) || !g_ascii_isxdigit(c[2])) {
      perr(p, "bad escape in filter value (use \\XX)");
      g_string_free(out, TRUE);
      return NULL;
    }
    g_string_append_c(out, (char)(g_ascii_xdigit_value(c[1]) * 16 +
                                  g_ascii_xdigit_value(c[2])));
    c += 2;
  }
  if (memchr(out->str, '\0', out->len) != NULL ||
      !g_utf8_validate(out->str, (gssize)out->len, NULL)) {
    perr(p, "filter value is not UTF-8 text");
    g_string_free(out, TRUE);
    return NULL;
  }
  char *folded = fold(out->str, out->len);
  g_string_free(out, TRUE);
  return folded;
}

/* value_end - the end of an assertion value: the closing ')' */
static const char *value_end(const char *s) {
  while (*s != '\0' && *s != ')' && *s != '(')
    s++;
  return s;
}

/* parse_substr - ATTR=[initial]*[any*]...[final] in [S, E) */
static filter *parse_substr(fparser *p, char *attr, const char *s,
                            const char *e) {
  GPtrArray *parts = g_ptr_array_new();
  const char *c = s;
  for (;;) {
    const char *star = memchr(c, '*', (size_t)(e - c));
    const char *end = star != NULL ? star : e;
    char *part = unescape(p, c, end);
    if (part == NULL) {
      g_ptr_array_set_free_func(parts, g_free);
      g_ptr_array_free(parts, TRUE);
      g_free(attr);
      return NULL;
    }
    g_ptr_array_add(parts, part);
    if (star == NULL)
      break;
    c = star + 1;
  }
  g_ptr_array_add(parts, NULL);
  filter *f = g_new0(filter, 1);
  f->type = F_SUBSTR;
  f->attr = attr;
  f->parts = (char **)g_ptr_array_free(parts, FALSE);
  return f;
}

/* parse_item - attr OP value, up to (not including) the closing ')' */
static filter *parse_item(fparser *p) {
  const char *s = p->pos;
  const char *e = value_end(s);
  const char *eq = memchr(s, '=', (size_t)(e - s));
  if (eq == NULL || eq == s) {
    perr(p, "filter item without an attribute and \"=\"");
    return NULL;
  }
  const char *aend = eq;
  ftype type = F_EQUAL;
  if (eq[-1] == '>' || eq[-1] == '<' || eq[-1] == '~') {
    type = eq[-1] == '>' ? F_GE : eq[-1] == '<' ? F_LE : F_EQUAL;
    aend--;
  }
  if (memchr(s, ':', (size_t)(aend - s)) != NULL) {
    perr(p, "extensible match filters are not supported");
    return NULL;
  }
  for (const char *c = s; c < aend; c++)
    if (!(g_ascii_isalnum(*c) || *c == '-' || *c == ';' || *c == '.')) {
      perr(p, "bad attribute name in filter");
      return NULL;
    }
  if (aend == s) {
    perr(p, "filter item without an attribute");
    return NULL;
  }
  char *attr = g_strndup(s, (gsize)(aend - s));
  const char *v = eq + 1;
  p->pos = e;
  if (type == F_EQUAL && e - v == 1 && *v == '*') {
    filter *f = g_new0(filter, 1);
    f->type = F_PRESENT;
    f->attr = attr;
    return f;
  }
  if (type == F_EQUAL && memchr(v, '*', (size_t)(e - v)) != NULL)
    return parse_substr(p, attr, v, e);
  char *value = unescape(p, v, e);
  if (value == NULL) {
    g_free(attr);
    return NULL;
  }
  filter *f = g_new0(filter, 1);
  f->type = type;
  f->attr = attr;
  f->value = value;
  return f;
}

/* parse_list - the filters of an AND or OR, up to ')' */
static filter *parse_list(fparser *p, ftype type, unsigned depth) {
  filter *f = g_new0(filter, 1);
  f->type = type;
  f->subs = g_ptr_array_new_with_free_func(sub_free);
  while (*p->pos == '(') {
    filter *sub = parse_filter(p, depth + 1);
    if (sub == NULL) {
      filter_free(&f);
      return NULL;
    }
    g_ptr_array_add(f->subs, sub);
  }
  if (type == F_NOT && f->subs->len != 1) {
    perr(p, "\"!\" takes exactly one filter");
    filter_free(&f);
  }
  return f;
}

/* parse_filter - "(" filtercomp ")" */
static filter *parse_filter(fparser *p, unsigned depth) {
  if (depth > FILTER_MAX_DEPTH) {
    perr(p, "filter nested too deeply");
    return NULL;
  }
  if (*p->pos != '(') {
    perr(p, "expected \"(\" in filter");
    return NULL;
  }
  p->pos++;
  filter *f;
  switch (*p->pos) {
  case '&':
    p->pos++;
    f = parse_list(p, F_AND, depth);
    break;
  case '|':
    p->pos++;
    f = parse_list(p, F_OR, depth);
    break;
  case '!':
    p->pos++;
    f = parse_list(p, F_NOT, depth);
    break;
  default:
    f = parse_item(p);
  }
  if (f != NULL && *p->pos != ')') {
    perr(p, "expected \")\" in filter");
    filter_free(&f);
  }
  if (f != NULL)
    p->pos++;
  return f;
}

filter *filter_parse(const char *text, char **error_r) {
  size_t len = strlen(text);
  if (len > FILTER_MAX_LENGTH) {
    *error_r = g_strdup("filter too long");
    return NULL;
  }
  char *owned = NULL;
  while (*text == ' ')
    text++;
  if (*text != '(')
    text = owned = g_strdup_printf("(%s)", text);
  fparser p = {text, NULL};
  filter *f = parse_filter(&p, 0);
  if (f != NULL && *p.pos != '\0') {
    perr(&p, "text after the end of the filter");
    filter_free(&f);
  }
  if (f == NULL)
    *error_r = g_strdup_printf("bad filter %s: %s", text,
                               p.error != NULL ? p.error : "syntax error");
  g_free(p.error);
  g_free(owned);
  return f;
}

void filter_free(filter **fp) {
  filter *f = *fp;
  if (f == NULL)
    return;
  g_free(f->attr);
  g_free(f->value);
  g_strfreev(f->parts);
  if (f->subs != NULL)
    g_ptr_array_free(f->subs, TRUE);
  g_free(f);
  *fp = NULL;
}

/* integer - VALUE as a decimal integer */
static bool integer(const char *value, long long *n_r) {
  char *end;
  if (*value == '\0')
    return false;
  *n_r = strtoll(value, &end, 10);
  return *end == '\0';
}

/* substr_match - folded VALUE matches the parts */
static bool substr_match(char **parts, const char *value) {
  guint n = g_strv_length(parts);
  const char *c = value;
  size_t vlen = strlen(value);
  if (!g_str_has_prefix(c, parts[0]))
    return false;
  c += strlen(parts[0]);
  for (guint i = 1; i + 1 < n; i++) {
    if (*parts[i] == '\0')
      continue;
    const char *hit = strstr(c, parts[i]);
    if (hit == NULL)
      return false;
    c = hit + strlen(parts[i]);
  }
  size_t flen = strlen(parts[n - 1]);
  return (size_t)(value + vlen - c) >= flen &&
         strcmp(value + vlen - flen, parts[n - 1]) == 0;
}

/* value_match - one value of the attribute against item F */
static bool value_match(const filter *f, const char *raw) {
  char *v = fold(raw, strlen(raw));
  bool ok = false;
  long long a, b;
  switch (f->type) {
  case F_EQUAL:
    ok = strcmp(v, f->value) == 0;
    break;
  case F_SUBSTR:
    ok = substr_match(f->parts, v);
    break;
  case F_GE:
  case F_LE: {
    int cmp = integer(v, &a) && integer(f->value, &b) ? (a > b) - (a < b)
                                                      : strcmp(v, f->value);
    ok = f->type == F_GE ? cmp >= 0 : cmp <= 0;
    break;
  }
  default:
    break;
  }
  g_free(v);
  return ok;
}

/* item_match - an attribute item against E */
static bool item_match(const filter *f, const cursus_entry *e) {
  const cursus_attr *a = cursus_entry_attr(e, f->attr);
  if (f->type == F_PRESENT)
    return a != NULL ||
           g_ascii_strcasecmp(f->attr, "objectClass") == 0;
  for (size_t i = 0; a != NULL && i < a->n_values; i++)
    if (value_match(f, a->values[i]))
      return true;
  return false;
}

bool filter_match(const filter *f, const cursus_entry *e) {
  switch (f->type) {
  case F_AND:
    for (guint i = 0; i < f->subs->len; i++)
      if (!filter_match(f->subs->pdata[i], e))
        return false;
    return true;
  case F_OR:
    for (guint i = 0; i < f->subs->len; i++)
      if (filter_match(f->subs->pdata[i], e))
        return true;
    return false;
  case F_NOT:
    return !filter_match(f->subs->pdata[0], e);
  default:
    return item_match(f, e);
  }
}
