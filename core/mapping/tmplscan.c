/*
 * tmplscan.c - call-out bracket matching and output helpers (see
 * tmplscan.h)
 */
#include "build-config.h"
#include "tmplscan.h"

/* is_opener - "$C" opens a call-out of either language */
static bool is_opener(char c) {
  return c == '{' || c == '(' || c == '[' || c == ']' || c == '|';
}

/* closer_of - the character closing a call-out opened by "$C" */
static char closer_of(char c) {
  switch (c) {
  case '{':
    return '}';
  case '(':
    return ')';
  case '[':
    return ']';
  case ']':
    return '[';
  default:
    return '|';
  }
}

/* skip_callout - P just after "$C": the octet after its closer */
static const char *skip_callout(const char *p, const char *end, char c,
                                int depth) {
  if (depth > TMPL_MAX_NESTING)
    return NULL;
  char close = closer_of(c);
  while (p < end) {
    if (*p == '$' && p + 1 < end) {
      if (is_opener(p[1])) {
        p = skip_callout(p + 2, end, p[1], depth + 1);
        if (p == NULL)
          return NULL;
        continue;
      }
      p += 2;
      continue;
    }
    if (*p == close)
      return p + 1;
    p++;
  }
  return NULL;
}

const char *tmpl_find_close(const char *p, const char *end, char open,
                            char close) {
  (void)close;
  const char *after = skip_callout(p, end, open, 1);
  return after != NULL ? after - 1 : NULL;
}

const char *tmpl_find_sep(const char *p, const char *end, char sep) {
  while (p < end) {
    if (*p == '$' && p + 1 < end) {
      if (is_opener(p[1])) {
        const char *n = skip_callout(p + 2, end, p[1], 1);
        if (n == NULL)
          return NULL;
        p = n;
        continue;
      }
      p += 2;
      continue;
    }
    if (*p == sep)
      return p;
    p++;
  }
  return NULL;
}

void tmpl_ldap_escape(GString *out, const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0')
      g_string_append_printf(out, "\\%02x", c);
    else
      g_string_append_c(out, (char)c);
  }
}

void tmpl_append_case(GString *out, const char *text, size_t len,
                      char case_mode) {
  if (case_mode == 0) {
    g_string_append_len(out, text, (gssize)len);
    return;
  }
  for (size_t i = 0; i < len; i++)
    g_string_append_c(out, case_mode == 'l' ? g_ascii_tolower(text[i])
                                            : g_ascii_toupper(text[i]));
}
