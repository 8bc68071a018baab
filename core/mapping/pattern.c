/*
 * pattern.c - compile and match mapping-entry patterns (see pattern.h)
 *
 * A pattern compiles to a list of elements (literal text, one character
 * of a set, a run of characters of a set, a back reference, an IP subnet)
 * matched by a backtracking walk with a step budget.
 */
#include "build-config.h"
#include "pattern.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

enum pe_kind { PE_LIT, PE_ONE, PE_STAR, PE_BACKREF, PE_CIDR };

typedef struct pelem {
  enum pe_kind kind;
  char *lit; /* folded literal text */
  size_t lit_len;
  guint8 set[32]; /* characters a ONE or STAR accepts */
  bool lazy;
  int save; /* capture number, or -1 */
  int ref;  /* BACKREF: capture number */
  int family;
  guint8 net[16];
  unsigned prefix;
} pelem;

struct mpattern {
  GArray *elems; /* of pelem */
  unsigned n_saves;
  char *literal; /* folded text when the pattern has no wildcard */
};

char *pattern_fold(const char *text, size_t len) {
  char *s = g_strndup(text, len);
  for (char *p = s; *p != '\0'; p++)
    *p = g_ascii_tolower(*p);
  return s;
}

static void set_add(guint8 *set, unsigned char c) {
  set[c >> 3] |= (guint8)(1u << (c & 7));
}

static bool set_has(const guint8 *set, unsigned char c) {
  return (set[c >> 3] >> (c & 7)) & 1;
}

static void set_all(guint8 *set) { memset(set, 0xff, 32); }

static void set_range(guint8 *set, unsigned char a, unsigned char b) {
  for (unsigned c = a; c <= b; c++)
    set_add(set, (unsigned char)c);
}

/* set_both_cases - matching is case-insensitive: a set holding a letter
 * holds its other case too */
static void set_both_cases(guint8 *set) {
  for (unsigned c = 'a'; c <= 'z'; c++) {
    if (set_has(set, (unsigned char)c) ||
        set_has(set, (unsigned char)g_ascii_toupper((char)c))) {
      set_add(set, (unsigned char)c);
      set_add(set, (unsigned char)g_ascii_toupper((char)c));
    }
  }
}

/* glob_set - the set of a glob letter ($A, $D ...); false if unknown */
static bool glob_set(char g, guint8 *set) {
  memset(set, 0, 32);
  switch (g_ascii_toupper(g)) {
  case 'A':
    set_range(set, 'a', 'z');
    set_range(set, 'A', 'Z');
    return true;
  case 'B':
    set_range(set, '0', '1');
    return true;
  case 'D':
    set_range(set, '0', '9');
    return true;
  case 'H':
  case 'X':
    set_range(set, '0', '9');
    set_range(set, 'a', 'f');
    set_range(set, 'A', 'F');
    return true;
  case 'O':
    set_range(set, '0', '7');
    return true;
  case 'S':
    set_range(set, '0', '9');
    set_range(set, 'a', 'z');
    set_range(set, 'A', 'Z');
    set_add(set, '_');
    set_add(set, '$');
    return true;
  case 'T':
    set_add(set, ' ');
    set_add(set, '\t');
    set_add(set, '\v');
    return true;
  default:
    return false;
  }
}

/* parse_cidr - "192.0.2.0/24" or "2001:db8::/32" into E */
static bool parse_cidr(const char *spec, pelem *e, char **error_r) {
  char *copy = g_strdup(spec);
  char *slash = strchr(copy, '/');
  long bits = -1;
  if (slash != NULL) {
    char *end;
    *slash = '\0';
    bits = strtol(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || bits < 0) {
      *error_r = g_strdup_printf("bad prefix length in $(%s)", spec);
      g_free(copy);
      return false;
    }
  }
  memset(e->net, 0, sizeof(e->net));
  if (inet_pton(AF_INET, copy, e->net) == 1) {
    e->family = AF_INET;
    if (bits < 0)
      bits = 32;
  } else if (inet_pton(AF_INET6, copy, e->net) == 1) {
    e->family = AF_INET6;
    if (bits < 0)
      bits = 128;
  } else {
    *error_r = g_strdup_printf("\"%s\" in $(%s) is not an IP address", copy,
                               spec);
    g_free(copy);
    return false;
  }
  if (bits > (e->family == AF_INET ? 32 : 128)) {
    *error_r = g_strdup_printf("prefix length /%ld too long in $(%s)", bits,
                               spec);
    g_free(copy);
    return false;
  }
  e->prefix = (unsigned)bits;
  g_free(copy);
  return true;
}

static void add_literal(GArray *elems, GString *lit) {
  if (lit->len == 0)
    return;
  pelem e = {.kind = PE_LIT, .save = -1};
  e.lit = pattern_fold(lit->str, lit->len);
  e.lit_len = lit->len;
  g_array_append_val(elems, e);
  g_string_truncate(lit, 0);
}

static void elems_free(GArray *elems) {
  for (guint i = 0; i < elems->len; i++)
    g_free(g_array_index(elems, pelem, i).lit);
  g_array_free(elems, TRUE);
}

/* parse_set - "$[...]" at *pp (pointing after '['): fill SET */
static bool parse_set(const char **pp, guint8 *set, char **error_r) {
  const char *p = *pp;
  memset(set, 0, 32);
  if (*p == ']') { /* a leading ']' is a member */
    set_add(set, ']');
    p++;
  }
  while (*p != '\0' && *p != ']') {
    unsigned char a = (unsigned char)*p++;
    if (*p == '-' && p[1] != '\0' && p[1] != ']') {
      unsigned char b = (unsigned char)p[1];
      if (b < a) {
        *error_r = g_strdup_printf("reversed range %c-%c in $[...]", a, b);
        return false;
      }
      set_range(set, a, b);
      p += 2;
    } else {
      set_add(set, a);
    }
  }
  if (*p != ']') {
    *error_r = g_strdup("unterminated $[...] set");
    return false;
  }
  *pp = p + 1;
  set_both_cases(set);
  return true;
}

mpattern *pattern_compile(const char *text, char **error_r) {
  GArray *elems = g_array_new(FALSE, TRUE, sizeof(pelem));
  GString *lit = g_string_new(NULL);
  bool lazy = false, nosave = false;
  unsigned saves = 0;
  const char *p = text;

  while (*p != '\0') {
    pelem e = {.save = -1};
    char c = *p++;
    if (c != '$' && c != '*' && c != '%') {
      g_string_append_c(lit, c);
      continue;
    }
    if (c == '$') {
      char d = *p++;
      if (d == '\0') {
        *error_r = g_strdup("pattern ends with a lone '$'");
        goto fail;
      }
      if (strchr("$*% \t|", d) != NULL) {
        g_string_append_c(lit, d);
        continue;
      }
      if (d == '_') {
        lazy = true;
        continue;
      }
      if (d == '@' || d == '^') {
        nosave = d == '@';
        continue;
      }
      if (g_ascii_isdigit(d)) {
        if (*p != '*') {
          *error_r = g_strdup_printf("\"$%c\" in a pattern must be followed "
                                     "by '*' (a back reference $n*)",
                                     d);
          goto fail;
        }
        p++;
        e.kind = PE_BACKREF;
        e.ref = d - '0';
        if ((unsigned)e.ref >= saves) {
          *error_r = g_strdup_printf("back reference $%d* names a wildcard "
                                     "that comes later or does not exist",
                                     e.ref);
          goto fail;
        }
      } else if (d == '(') {
        const char *close = strchr(p, ')');
        if (close == NULL) {
          *error_r = g_strdup("unterminated $(...) subnet");
          goto fail;
        }
        char *spec = g_strndup(p, close - p);
        bool ok = parse_cidr(spec, &e, error_r);
        g_free(spec);
        if (!ok)
          goto fail;
        p = close + 1;
        e.kind = PE_CIDR;
      } else {
        if (d == '[') {
          if (!parse_set(&p, e.set, error_r))
            goto fail;
        } else if (!glob_set(d, e.set)) {
          *error_r = g_strdup_printf("unknown sequence \"$%c\" in a pattern",
                                     d);
          goto fail;
        }
        if (*p != '%' && *p != '*') {
          *error_r = g_strdup_printf("glob \"$%c\" must be followed by '%%' or "
                                     "'*'",
                                     d);
          goto fail;
        }
        e.kind = *p++ == '%' ? PE_ONE : PE_STAR;
      }
    } else {
      e.kind = c == '*' ? PE_STAR : PE_ONE;
      set_all(e.set);
    }
    add_literal(elems, lit);
    e.lazy = lazy;
    lazy = false;
    if (e.kind != PE_BACKREF && !nosave) {
      if (saves >= PATTERN_MAX_CAPTURES) {
        *error_r = g_strdup_printf("more than %d saved wildcards",
                                   PATTERN_MAX_CAPTURES);
        goto fail;
      }
      e.save = (int)saves++;
    }
    nosave = false;
    g_array_append_val(elems, e);
  }
  if (lazy) {
    *error_r = g_strdup("\"$_\" at the end of a pattern modifies nothing");
    goto fail;
  }
  add_literal(elems, lit);
  g_string_free(lit, TRUE);

  mpattern *pat = g_new0(mpattern, 1);
  pat->elems = elems;
  pat->n_saves = saves;
  if (elems->len == 0) {
    pat->literal = g_strdup("");
  } else if (elems->len == 1 && g_array_index(elems, pelem, 0).kind == PE_LIT) {
    pat->literal = g_strdup(g_array_index(elems, pelem, 0).lit);
  }
  return pat;

fail:
  g_string_free(lit, TRUE);
  elems_free(elems);
  return NULL;
}

void pattern_free(mpattern **pp) {
  if (*pp == NULL)
    return;
  elems_free((*pp)->elems);
  g_free((*pp)->literal);
  g_free(*pp);
  *pp = NULL;
}

bool pattern_is_literal(const mpattern *p) { return p->literal != NULL; }

const char *pattern_literal(const mpattern *p) { return p->literal; }

typedef struct mstate {
  const mpattern *pat;
  const char *s;
  size_t len;
  pmatch *m;
  unsigned long steps;
} mstate;

static bool ci_equal(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (g_ascii_tolower(a[i]) != g_ascii_tolower(b[i]))
      return false;
  return true;
}

static bool in_net(const pelem *e, const char *text, size_t n) {
  char buf[64];
  guint8 addr[16];
  if (n >= sizeof(buf))
    return false;
  memcpy(buf, text, n);
  buf[n] = '\0';
  if (inet_pton(e->family, buf, addr) != 1)
    return false;
  unsigned full = e->prefix / 8, rest = e->prefix % 8;
  if (memcmp(addr, e->net, full) != 0)
    return false;
  if (rest == 0)
    return true;
  guint8 mask = (guint8)(0xff << (8 - rest));
  return (addr[full] & mask) == (e->net[full] & mask);
}

static bool match_at(mstate *st, guint ei, size_t pos);

static bool try_capture(mstate *st, const pelem *e, guint ei, size_t pos,
                        size_t n) {
  if (e->save >= 0) {
    st->m->start[e->save] = pos;
    st->m->len[e->save] = n;
  }
  return match_at(st, ei + 1, pos + n);
}

static bool match_at(mstate *st, guint ei, size_t pos) {
  if (++st->steps > PATTERN_MAX_STEPS) {
    st->m->exhausted = true;
    return false;
  }
  if (ei == st->pat->elems->len)
    return pos == st->len;
  const pelem *e = &g_array_index(st->pat->elems, pelem, ei);
  const char *s = st->s;
  size_t left = st->len - pos;

  switch (e->kind) {
  case PE_LIT:
    return e->lit_len <= left && ci_equal(s + pos, e->lit, e->lit_len) &&
           match_at(st, ei + 1, pos + e->lit_len);
  case PE_ONE:
    return left > 0 && set_has(e->set, (unsigned char)s[pos]) &&
           try_capture(st, e, ei, pos, 1);
  case PE_STAR: {
    size_t max = 0;
    while (max < left && set_has(e->set, (unsigned char)s[pos + max]))
      max++;
    if (e->lazy) {
      for (size_t k = 0; k <= max; k++)
        if (try_capture(st, e, ei, pos, k))
          return true;
    } else {
      for (size_t k = max + 1; k-- > 0;)
        if (try_capture(st, e, ei, pos, k))
          return true;
    }
    return false;
  }
  case PE_BACKREF: {
    size_t n = st->m->len[e->ref];
    return n <= left && ci_equal(s + pos, s + st->m->start[e->ref], n) &&
           match_at(st, ei + 1, pos + n);
  }
  case PE_CIDR: {
    size_t run = 0;
    while (run < left && run < 45 &&
           (g_ascii_isxdigit(s[pos + run]) || s[pos + run] == '.' ||
            s[pos + run] == ':'))
      run++;
    for (size_t k = run; k > 0; k--)
      if (in_net(e, s + pos, k) && try_capture(st, e, ei, pos, k))
        return true;
    return false;
  }
  }
  return false;
}

bool pattern_match(const mpattern *p, const char *input, size_t len,
                   pmatch *m) {
  memset(m, 0, sizeof(*m));
  m->n = p->n_saves;
  if (len > PATTERN_MAX_INPUT)
    return false;
  if (p->literal != NULL)
    return strlen(p->literal) == len && ci_equal(input, p->literal, len);
  mstate st = {.pat = p, .s = input, .len = len, .m = m};
  return match_at(&st, 0, 0);
}
