/*
 * addrlist.c - walk the addr-specs of an address-list header value
 *
 * The value is cut into elements at top-level ',' and ';' (a group's end),
 * and at the ':' that opens a group.  Quoted strings, comments (nested,
 * with quoted pairs) and angle brackets are skipped as units, so their
 * contents never cut an element.
 */
#include "build-config.h"
#include "addrlist.h"
#include <cursus/common.h>

#include <stdbool.h>
#include <string.h>

/* skip_quoted - P at '"': the octet after the closing quote, or NULL */
static const char *skip_quoted(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\' && p + 1 < end)
      p++;
    else if (*p == '"')
      return p + 1;
  }
  return NULL;
}

/* skip_comment - P at '(': the octet after the matching ')', or NULL */
static const char *skip_comment(const char *p, const char *end) {
  int depth = 0;
  for (; p < end; p++) {
    if (*p == '\\' && p + 1 < end)
      p++;
    else if (*p == '(')
      depth++;
    else if (*p == ')' && --depth == 0)
      return p + 1;
  }
  return NULL;
}

/* strip_cfws - the text of [s, e) without comments and folding white
 * space, for handing to the callback */
static char *strip_cfws(const char *s, const char *e) {
  GString *out = g_string_sized_new((gsize)(e - s));
  while (s < e) {
    if (*s == '(') {
      const char *n = skip_comment(s, e);
      s = n != NULL ? n : e;
    } else if (*s == '"') {
      const char *n = skip_quoted(s, e);
      n = n != NULL ? n : e;
      g_string_append_len(out, s, n - s);
      s = n;
    } else if (g_ascii_isspace(*s)) {
      s++;
    } else {
      g_string_append_c(out, *s++);
    }
  }
  return g_string_free(out, FALSE);
}

/* trim_cfws - narrow [*s, *e) to the octets between leading and trailing
 * comments and white space */
static void trim_cfws(const char **s, const char **e) {
  for (;;) {
    while (*s < *e && g_ascii_isspace(**s))
      (*s)++;
    if (*s < *e && **s == '(') {
      const char *n = skip_comment(*s, *e);
      if (n == NULL)
        return;
      *s = n;
      continue;
    }
    break;
  }
  for (;;) {
    while (*e > *s && g_ascii_isspace((*e)[-1]))
      (*e)--;
    if (*e > *s && (*e)[-1] == ')') {
      /* find the '(' opening this trailing comment */
      const char *p = *s, *last = NULL;
      while (p < *e) {
        if (*p == '"') {
          p = skip_quoted(p, *e);
          if (p == NULL)
            return;
        } else if (*p == '(') {
          const char *n = skip_comment(p, *e);
          if (n == NULL)
            return;
          if (n == *e)
            last = p;
          p = n;
        } else {
          p++;
        }
      }
      if (last == NULL)
        return;
      *e = last;
      continue;
    }
    break;
  }
}

typedef struct walk {
  addrlist_fn *fn;
  void *data;
  GString *out;
  GPtrArray *specs;
} walk;

/* emit_spec - hand the addr-spec [s, e) to the callback or collector */
static void emit_spec(walk *w, const char *s, const char *e) {
  char *spec = strip_cfws(s, e);
  char *repl = NULL;
  if (w->specs != NULL) {
    g_ptr_array_add(w->specs, spec);
    return;
  }
  if (*spec != '\0' && w->fn != NULL)
    repl = w->fn(w->data, spec);
  if (repl != NULL) {
    g_string_append(w->out, repl);
    g_free(repl);
  } else {
    g_string_append_len(w->out, s, e - s);
  }
  g_free(spec);
}

/* element - one mailbox [s, e): the part in <...> or the bare spec */
static bool element(walk *w, const char *s, const char *e) {
  const char *p = s, *lt = NULL, *gt = NULL;
  while (p < e) {
    if (*p == '"') {
      p = skip_quoted(p, e);
    } else if (*p == '(') {
      p = skip_comment(p, e);
    } else if (*p == '<' && lt == NULL) {
      lt = p;
      while (p < e && *p != '>') {
        if (*p == '"') {
          p = skip_quoted(p, e);
          if (p == NULL)
            return false;
          continue;
        }
        p++;
      }
      if (p >= e)
        return false;
      gt = p++;
    } else {
      p++;
    }
    if (p == NULL)
      return false;
  }
  if (lt != NULL) {
    g_string_append_len(w->out, s, lt + 1 - s);
    const char *a = lt + 1, *b = gt;
    trim_cfws(&a, &b);
    g_string_append_len(w->out, lt + 1, a - (lt + 1));
    if (a < b)
      emit_spec(w, a, b);
    g_string_append_len(w->out, b, e - b);
    return true;
  }
  const char *a = s, *b = e;
  trim_cfws(&a, &b);
  g_string_append_len(w->out, s, a - s);
  if (a < b)
    emit_spec(w, a, b);
  g_string_append_len(w->out, b, e - b);
  return true;
}

static int walk_value(walk *w, const char *value, char **error_r) {
  size_t len = strlen(value);
  const char *p = value, *end = value + len, *start = value;
  bool in_group = false;

  if (len > ADDRLIST_MAX) {
    *error_r = g_strdup_printf("header field longer than %d octets",
                               ADDRLIST_MAX);
    return CURSUS_PERMFAIL;
  }
  while (p <= end) {
    char c = p < end ? *p : '\0';
    if (c == '"' || c == '(') {
      const char *n = c == '"' ? skip_quoted(p, end) : skip_comment(p, end);
      if (n == NULL) {
        *error_r = g_strdup(c == '"' ? "unterminated quoted string"
                                     : "unbalanced comment parentheses");
        return CURSUS_PERMFAIL;
      }
      p = n;
      continue;
    }
    if (c == '<') {
      while (p < end && *p != '>') {
        if (*p == '"') {
          const char *n = skip_quoted(p, end);
          if (n == NULL)
            break;
          p = n;
          continue;
        }
        p++;
      }
      if (p >= end) {
        *error_r = g_strdup("'<' without '>'");
        return CURSUS_PERMFAIL;
      }
      p++;
      continue;
    }
    if (c == ':' && !in_group) {
      /* a group's display name: copied as is */
      g_string_append_len(w->out, start, p + 1 - start);
      in_group = true;
      start = ++p;
      continue;
    }
    if (c == ',' || c == ';' || c == '\0') {
      if (!element(w, start, p)) {
        *error_r = g_strdup("malformed address in the list");
        return CURSUS_PERMFAIL;
      }
      if (c == ';')
        in_group = false;
      if (c != '\0')
        g_string_append_c(w->out, c);
      start = ++p;
      if (c == '\0')
        break;
      continue;
    }
    p++;
  }
  return CURSUS_OK;
}

int addrlist_map(const char *value, addrlist_fn *fn, void *data,
                 char **out_r, char **error_r) {
  walk w = {.fn = fn, .data = data, .out = g_string_new(NULL)};
  int rc = walk_value(&w, value, error_r);
  if (rc != CURSUS_OK) {
    g_string_free(w.out, TRUE);
    return rc;
  }
  *out_r = g_string_free(w.out, FALSE);
  return CURSUS_OK;
}

GPtrArray *addrlist_specs(const char *value) {
  char *error = NULL;
  walk w = {.out = g_string_new(NULL),
            .specs = g_ptr_array_new_with_free_func(g_free)};
  int rc = walk_value(&w, value, &error);
  g_string_free(w.out, TRUE);
  g_free(error);
  if (rc != CURSUS_OK) {
    g_ptr_array_free(w.specs, TRUE);
    return NULL;
  }
  return w.specs;
}
