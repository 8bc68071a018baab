/*
 * optfile.c - option files
 */
#include "build-config.h"
#include "optfile.h"
#include "util/fsutil.h"
#include "bundle.h"
#include "keyword.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void entry_free(void *p) {
  opt_entry *e = p;
  g_free(e->key);
  g_free(e->value);
  g_free(e);
}

static void section_free(void *p) {
  opt_section *s = p;
  g_free(s->kind);
  g_free(s->name);
  g_ptr_array_free(s->entries, TRUE);
  g_free(s);
}

static opt_section *section_new(optfile *of, const char *kind,
                                const char *name, unsigned line) {
  opt_section *s = g_new0(opt_section, 1);
  s->kind = g_strdup(kind);
  s->name = g_strdup(name);
  s->file = of->path;
  s->line = line;
  s->entries = g_ptr_array_new_with_free_func(entry_free);
  g_ptr_array_add(of->sections, s);
  return s;
}

/* parse_header - "[KIND=name]", "[group]" or "[group name]" */
static opt_section *parse_header(optfile *of, char *text, unsigned line,
                                 diag *d) {
  char *end = strchr(text, ']');
  if (end == NULL || !g_str_equal(g_strstrip(end + 1), "")) {
    diag_error(d, of->path, line, "malformed section header: %s", text);
    return NULL;
  }
  *end = '\0';
  char *inner = g_strstrip(text + 1);
  char *eq = strchr(inner, '=');
  char *space = strpbrk(inner, " \t");
  if (eq != NULL) {
    *eq = '\0';
    char *kind = g_strstrip(inner), *name = g_strstrip(eq + 1);
    if (*kind == '\0' || *name == '\0') {
      diag_error(d, of->path, line, "section header needs KIND=name");
      return NULL;
    }
    return section_new(of, kind, name, line);
  }
  if (*inner == '\0') {
    diag_error(d, of->path, line, "empty section header");
    return NULL;
  }
  if (space != NULL) {
    *space = '\0';
    return section_new(of, inner, g_strstrip(space + 1), line);
  }
  return section_new(of, inner, NULL, line);
}

optfile *optfile_parse(const char *name, const char *text, diag *d) {
  optfile *of = g_new0(optfile, 1);
  of->path = g_strdup(name);
  of->sections = g_ptr_array_new_with_free_func(section_free);
  opt_section *cur = section_new(of, NULL, NULL, 0);

  char **lines = g_strsplit(text, "\n", -1);
  GString *value = g_string_new(NULL);
  opt_entry *pending = NULL; /* an entry whose value continues */
  for (unsigned i = 0; lines[i] != NULL; i++) {
    unsigned lineno = i + 1;
    char *line = g_strstrip(lines[i]);
    if (*line == '!' || *line == '#' || *line == ';')
      continue;
    if (pending != NULL) {
      size_t n = strlen(line);
      bool more = n > 0 && line[n - 1] == '\\';
      g_string_append_len(value, line, more ? n - 1 : n);
      if (!more) {
        pending->value = g_strdup(g_strstrip(value->str));
        pending = NULL;
      }
      continue;
    }
    if (*line == '\0')
      continue;
    if (*line == '[') {
      opt_section *s = parse_header(of, line, lineno, d);
      if (s != NULL)
        cur = s;
      continue;
    }
    char *eq = strchr(line, '=');
    if (eq == NULL) {
      diag_error(d, of->path, lineno, "expected option=value, found \"%s\"",
                 line);
      continue;
    }
    *eq = '\0';
    char *key = g_strstrip(line), *val = g_strstrip(eq + 1);
    if (*key == '\0') {
      diag_error(d, of->path, lineno, "option name missing before '='");
      continue;
    }
    opt_entry *e = g_new0(opt_entry, 1);
    e->key = g_strdup(key);
    e->file = of->path;
    e->line = lineno;
    g_ptr_array_add(cur->entries, e);
    size_t n = strlen(val);
    if (n > 0 && val[n - 1] == '\\') {
      g_string_assign(value, "");
      g_string_append_len(value, val, n - 1);
      pending = e;
    } else {
      e->value = g_strdup(val);
    }
  }
  if (pending != NULL) {
    diag_error(d, of->path, pending->line, "continuation at end of file");
    pending->value = g_strdup(g_strstrip(value->str));
  }
  g_string_free(value, TRUE);
  g_strfreev(lines);
  return of;
}

optfile *optfile_read(const char *path, diag *d) {
  char *text = NULL, *trust_error = NULL;
  gsize len = 0;
  GError *error = NULL;

  if (!bundle_get_contents(path, &text, &len, &error)) {
    diag_error(d, path, 0, "cannot read: %s", error->message);
    g_error_free(error);
    return NULL;
  }
  if (!bundle_active() && !fs_check_trusted(path, false, &trust_error)) {
    diag_error(d, path, 0, "refusing to read: %s", trust_error);
    g_free(trust_error);
    g_free(text);
    return NULL;
  }
  if (memchr(text, '\0', len) != NULL) {
    diag_error(d, path, 0, "contains a NUL byte: not a text file");
    g_free(text);
    return NULL;
  }
  optfile *of = optfile_parse(path, text, d);
  g_free(text);
  return of;
}

void optfile_free(optfile **ofp) {
  optfile *of = *ofp;
  if (of == NULL)
    return;
  *ofp = NULL;
  g_ptr_array_free(of->sections, TRUE);
  g_free(of->path);
  g_free(of);
}

const opt_entry *optfile_get(const opt_section *section, const char *key) {
  for (guint i = section->entries->len; i > 0; i--) {
    const opt_entry *e = section->entries->pdata[i - 1];
    if (g_ascii_strcasecmp(e->key, key) == 0)
      return e;
  }
  return NULL;
}

opt_section *optfile_section(const optfile *of, const char *kind,
                             const char *name) {
  for (guint i = 1; i < of->sections->len; i++) {
    opt_section *s = of->sections->pdata[i];
    if (g_ascii_strcasecmp(s->kind, kind) == 0 &&
        (name == NULL ||
         (s->name != NULL && g_ascii_strcasecmp(s->name, name) == 0)))
      return s;
  }
  return NULL;
}

bool opt_parse_int(const char *text, long long *value_r) {
  const char *pct = strchr(text, '%');
  int base = 10;
  char *end;

  if (pct != NULL) {
    char *bend;
    long b = strtol(text, &bend, 10);
    if (bend != pct || b < 2 || b > 36)
      return false;
    base = (int)b;
    text = pct + 1;
  }
  if (*text == '\0' || g_ascii_isspace(*text))
    return false;
  errno = 0;
  long long v = strtoll(text, &end, base);
  if (errno != 0 || *end != '\0')
    return false;
  *value_r = v;
  return true;
}

bool opt_parse_bool(const char *text, bool *value_r) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
    if (g_ascii_strcasecmp(text, yes[i]) == 0) {
      *value_r = true;
      return true;
    }
    if (g_ascii_strcasecmp(text, no[i]) == 0) {
      *value_r = false;
      return true;
    }
  }
  return false;
}

/* add_checked - *acc += n * unit, false on overflow */
static bool add_checked(long long *acc, long long n, long long unit) {
  if (n < 0 || (unit != 0 && n > (LLONG_MAX - *acc) / unit))
    return false;
  *acc += n * unit;
  return true;
}

/* parse_iso8601 - "P[nY][nM][nW][nD][T[nH][nM][nS]]" (months as 30 days) */
static bool parse_iso8601(const char *p, long long *seconds_r) {
  bool time_part = false, any = false;
  long long total = 0;

  p++; /* the P */
  while (*p != '\0') {
    if (*p == 'T' || *p == 't') {
      if (time_part)
        return false;
      time_part = true;
      p++;
      continue;
    }
    if (!g_ascii_isdigit(*p))
      return false;
    char *end;
    errno = 0;
    long long n = strtoll(p, &end, 10);
    if (errno != 0)
      return false;
    long long unit;
    switch (g_ascii_toupper(*end)) {
    case 'Y':
      unit = time_part ? -1 : 365LL * 86400;
      break;
    case 'M':
      unit = time_part ? 60 : 30LL * 86400;
      break;
    case 'W':
      unit = time_part ? -1 : 7LL * 86400;
      break;
    case 'D':
      unit = time_part ? -1 : 86400;
      break;
    case 'H':
      unit = time_part ? 3600 : -1;
      break;
    case 'S':
      unit = time_part ? 1 : -1;
      break;
    default:
      return false;
    }
    if (unit < 0 || !add_checked(&total, n, unit))
      return false;
    any = true;
    p = end + 1;
  }
  if (!any)
    return false;
  *seconds_r = total;
  return true;
}

bool opt_parse_duration(const char *text, long long *seconds_r) {
  if (*text == 'P' || *text == 'p')
    return parse_iso8601(text, seconds_r);
  if (!g_ascii_isdigit(*text))
    return false;
  char *end;
  errno = 0;
  long long n = strtoll(text, &end, 10), unit = 1, total = 0;
  if (errno != 0)
    return false;
  switch (g_ascii_tolower(*end)) {
  case '\0':
  case 's':
    break;
  case 'm':
    unit = 60;
    break;
  case 'h':
    unit = 3600;
    break;
  case 'd':
    unit = 86400;
    break;
  default:
    return false;
  }
  if (*end != '\0' && end[1] != '\0')
    return false;
  if (!add_checked(&total, n, unit))
    return false;
  *seconds_r = total;
  return true;
}

bool opt_parse_size(const char *text, long long *bytes_r) {
  if (!g_ascii_isdigit(*text))
    return false;
  char *end;
  errno = 0;
  long long n = strtoll(text, &end, 10), unit = 1, total = 0;
  if (errno != 0)
    return false;
  switch (g_ascii_toupper(*end)) {
  case '\0':
    break;
  case 'K':
    unit = 1024;
    break;
  case 'M':
    unit = 1024 * 1024;
    break;
  case 'G':
    unit = 1024LL * 1024 * 1024;
    break;
  default:
    return false;
  }
  if (*end != '\0' && !(end[1] == '\0' || ((end[1] == 'B' || end[1] == 'b') &&
                                           end[2] == '\0')))
    return false;
  if (!add_checked(&total, n, unit))
    return false;
  *bytes_r = total;
  return true;
}

static const opt_schema *schema_find(const opt_schema *schema,
                                     const char *key) {
  for (; schema->key != NULL; schema++)
    if (g_ascii_strcasecmp(schema->key, key) == 0)
      return schema;
  return NULL;
}

/* parse_typed - a value of TYPE as an integer (for range checks) */
static bool parse_typed(cursus_value_type type, const char *value,
                        long long *n_r) {
  switch (type) {
  case CURSUS_VALUE_INTEGER:
    return opt_parse_int(value, n_r);
  case CURSUS_VALUE_DURATION:
    return opt_parse_duration(value, n_r);
  case CURSUS_VALUE_SIZE:
    return opt_parse_size(value, n_r);
  default:
    return false;
  }
}

void optfile_check(const optfile *of, const opt_schema *schema,
                   const char *const *section_kinds, diag *d) {
  for (guint i = 0; i < of->sections->len; i++) {
    const opt_section *s = of->sections->pdata[i];
    unsigned where = s->kind == NULL ? OPT_GLOBAL : OPT_SECTION;
    if (s->kind != NULL) {
      const char *const *k = section_kinds;
      while (k != NULL && *k != NULL && g_ascii_strcasecmp(*k, s->kind) != 0)
        k++;
      if (k == NULL || *k == NULL || s->name == NULL) {
        GString *expected = g_string_new(NULL);
        for (k = section_kinds; k != NULL && *k != NULL; k++)
          g_string_append_printf(expected, "%s[%s=name]", expected->len ? " or " : "", *k);
        diag_error(d, s->file, s->line, "unknown section [%s%s%s]; expected %s",
                   s->kind, s->name ? "=" : "", s->name ? s->name : "",
                   expected->len ? expected->str : "no sections");
        g_string_free(expected, TRUE);
        continue;
      }
    }
    for (guint j = 0; j < s->entries->len; j++) {
      const opt_entry *e = s->entries->pdata[j];
      const opt_schema *o = schema_find(schema, e->key);
      const char *why;
      long long n;
      if (o == NULL) {
        diag_error(d, e->file, e->line, "unknown option '%s'", e->key);
      } else if (!(o->where & where)) {
        diag_error(d, e->file, e->line, "option '%s' is not allowed %s",
                   e->key, where == OPT_GLOBAL ? "outside a section"
                                               : "inside a section");
      } else if (o->type == CURSUS_VALUE_FLAG) {
        /* flags take no value */
      } else if (!keyword_check_value(o->type, e->value, &why)) {
        diag_error(d, e->file, e->line, "option '%s' expects %s, not \"%s\"",
                   e->key, why, e->value);
      } else if (o->min < o->max && parse_typed(o->type, e->value, &n) &&
                 (n < o->min || n > o->max)) {
        diag_error(d, e->file, e->line,
                   "option '%s' is %lld, outside %lld..%lld", e->key, n,
                   o->min, o->max);
      }
    }
  }
}

long long optfile_int(const opt_section *section, const opt_section *global,
                      const char *key, long long def) {
  const opt_entry *e = section != NULL ? optfile_get(section, key) : NULL;
  long long n;
  if (e == NULL && global != NULL)
    e = optfile_get(global, key);
  if (e == NULL)
    return def;
  if (opt_parse_int(e->value, &n) || opt_parse_duration(e->value, &n) ||
      opt_parse_size(e->value, &n))
    return n;
  return def;
}

const char *optfile_str(const opt_section *section, const opt_section *global,
                        const char *key, const char *def) {
  const opt_entry *e = section != NULL ? optfile_get(section, key) : NULL;
  if (e == NULL && global != NULL)
    e = optfile_get(global, key);
  return e != NULL ? e->value : def;
}
