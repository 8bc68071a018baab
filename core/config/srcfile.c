/*
 * srcfile.c - read classic configuration files into logical lines
 */
#include "build-config.h"
#include "srcfile.h"
#include "util/fsutil.h"
#include "bundle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void line_free(void *p) {
  srcline *l = p;
  g_free(l->text);
  g_free(l);
}

static bool is_blank(const char *s) {
  for (; *s != '\0'; s++)
    if (!g_ascii_isspace(*s))
      return false;
  return true;
}

/* resolve_include - the path named by an include line */
static char *resolve_include(const char *name, const char *base_dir) {
  static const char prefix[] = "IMTA_TABLE:";
  if (g_ascii_strncasecmp(name, prefix, sizeof(prefix) - 1) == 0)
    name += sizeof(prefix) - 1;
  return fs_path_join(base_dir, name);
}

static void add_line(srcfile *sf, const char *file, unsigned line,
                     GString *text) {
  srcline *l = g_new0(srcline, 1);
  l->text = g_strdup(text->str);
  l->file = file;
  l->line = line;
  l->blank = is_blank(text->str);
  g_ptr_array_add(sf->lines, l);
}

static bool read_one(srcfile *sf, const char *path, const char *base_dir,
                     GPtrArray *stack, diag *d, const char *from_file,
                     unsigned from_line);

/* include_file - handle a `<file` line */
static void include_file(srcfile *sf, const char *arg, const char *base_dir,
                         GPtrArray *stack, diag *d, const char *file,
                         unsigned line) {
  char *name = g_strstrip(g_strdup(arg));
  char *path = resolve_include(name, base_dir);
  char *real = realpath(path, NULL);

  if (*name == '\0') {
    diag_error(d, file, line, "include line names no file");
  } else if (stack->len >= SRCFILE_MAX_DEPTH) {
    diag_error(d, file, line, "includes nested deeper than %d levels at %s",
               SRCFILE_MAX_DEPTH, path);
  } else if (real != NULL &&
             g_ptr_array_find_with_equal_func(stack, real, g_str_equal, NULL)) {
    GString *chain = g_string_new(NULL);
    for (guint i = 0; i < stack->len; i++)
      g_string_append_printf(chain, "%s -> ", (char *)stack->pdata[i]);
    g_string_append(chain, real);
    diag_error(d, file, line, "include loop: %s", chain->str);
    g_string_free(chain, TRUE);
  } else {
    read_one(sf, path, base_dir, stack, d, file, line);
  }
  free(real);
  g_free(path);
  g_free(name);
}

static bool read_one(srcfile *sf, const char *path, const char *base_dir,
                     GPtrArray *stack, diag *d, const char *from_file,
                     unsigned from_line) {
  char *contents = NULL, *trust_error = NULL;
  gsize len = 0;
  GError *error = NULL;
  const char *file = g_string_chunk_insert_const(sf->names, path);

  if (!bundle_get_contents(path, &contents, &len, &error)) {
    diag_error(d, from_file, from_line, "cannot read %s: %s", path,
               error->message);
    g_error_free(error);
    return false;
  }
  if (!bundle_active() && !fs_check_trusted(path, false, &trust_error)) {
    diag_error(d, file, 0, "refusing to read: %s", trust_error);
    g_free(trust_error);
    g_free(contents);
    return false;
  }
  if (memchr(contents, '\0', len) != NULL) {
    diag_error(d, file, 0, "contains a NUL byte: not a text file");
    g_free(contents);
    return false;
  }
  char *real = realpath(path, NULL);
  g_ptr_array_add(stack, real != NULL ? real : strdup(path));

  GString *logical = g_string_new(NULL);
  unsigned lineno = 0, start = 0;
  bool continuing = false;
  char *p = contents;
  while (*p != '\0') {
    char *eol = strchr(p, '\n');
    size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
    lineno++;
    if (n > 0 && p[n - 1] == '\r')
      n--;
    if (n > 0 && p[0] == '!') {
      /* comment line; inside a continuation it is simply skipped */
    } else {
      if (!continuing)
        start = lineno;
      bool cont = n > 0 && p[n - 1] == '\\';
      g_string_append_len(logical, p, cont ? n - 1 : n);
      if (logical->len > SRCFILE_MAX_LINE) {
        diag_error(d, file, start, "line longer than %d octets",
                   SRCFILE_MAX_LINE);
        g_string_truncate(logical, 0);
        cont = false;
      } else if (!cont) {
        if (logical->str[0] == '<')
          include_file(sf, logical->str + 1, base_dir, stack, d, file, start);
        else
          add_line(sf, file, start, logical);
        g_string_truncate(logical, 0);
      }
      continuing = cont;
    }
    if (eol == NULL)
      break;
    p = eol + 1;
  }
  if (continuing) {
    diag_error(d, file, start, "continuation at end of file");
    add_line(sf, file, start, logical);
  }
  g_string_free(logical, TRUE);
  free(g_ptr_array_steal_index(stack, stack->len - 1));
  g_free(contents);
  return true;
}

srcfile *srcfile_read(const char *path, const char *base_dir, diag *d) {
  srcfile *sf = g_new0(srcfile, 1);
  GPtrArray *stack = g_ptr_array_new();

  sf->lines = g_ptr_array_new_with_free_func(line_free);
  sf->names = g_string_chunk_new(256);
  bool ok = read_one(sf, path, base_dir, stack, d, NULL, 0);
  g_ptr_array_free(stack, TRUE);
  if (!ok)
    srcfile_free(&sf);
  return sf;
}

void srcfile_free(srcfile **sfp) {
  srcfile *sf = *sfp;
  if (sf == NULL)
    return;
  *sfp = NULL;
  g_ptr_array_free(sf->lines, TRUE);
  g_string_chunk_free(sf->names);
  g_free(sf);
}

char **srcfile_split(const char *text, const char **error_r) {
  GPtrArray *tokens = g_ptr_array_new();
  const char *p = text;

  for (;;) {
    while (g_ascii_isspace(*p))
      p++;
    if (*p == '\0')
      break;
    GString *tok = g_string_new(NULL);
    while (*p != '\0' && !g_ascii_isspace(*p)) {
      if (*p == '"') {
        const char *end = strchr(p + 1, '"');
        if (end == NULL) {
          *error_r = "unterminated quoted string";
          g_string_free(tok, TRUE);
          g_ptr_array_add(tokens, NULL);
          g_strfreev((char **)g_ptr_array_free(tokens, FALSE));
          return NULL;
        }
        g_string_append_len(tok, p + 1, end - p - 1);
        p = end + 1;
      } else {
        g_string_append_c(tok, *p++);
      }
    }
    g_ptr_array_add(tokens, g_string_free(tok, FALSE));
  }
  g_ptr_array_add(tokens, NULL);
  return (char **)g_ptr_array_free(tokens, FALSE);
}
