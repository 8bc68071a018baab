/*
 * kvdb.c - compile a text table into a Tokyo Cabinet database (kvdb.h)
 */
#include "build-config.h"
#include "kvdb.h"
#include "util/fsutil.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <tchdb.h>
#include <unistd.h>

/* split - key and value of LINE; false for a line without a value */
static bool split(char *line, char **key_r, char **value_r) {
  char *p = line;
  while (*p != '\0' && !g_ascii_isspace(*p)) {
    if (*p == '$' && p[1] != '\0')
      p++;
    p++;
  }
  if (*p == '\0')
    return false;
  *p++ = '\0';
  while (g_ascii_isspace(*p))
    p++;
  g_strchomp(p);
  *key_r = line;
  *value_r = p;
  return true;
}

/* unquote - "$ " and "$$" in a key stand for the character */
static char *unquote_key(const char *key) {
  GString *s = g_string_new(NULL);
  for (const char *p = key; *p != '\0'; p++) {
    if (*p == '$' && (p[1] == ' ' || p[1] == '$' || p[1] == '\t'))
      p++;
    g_string_append_c(s, g_ascii_tolower(*p));
  }
  return g_string_free(s, FALSE);
}

bool kvdb_build(const char *input, const char *output, diag *d,
                guint *count_r) {
  char *text = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents(input, &text, &len, &error)) {
    diag_error(d, input, 0, "cannot read: %s", error->message);
    g_error_free(error);
    return false;
  }
  if (memchr(text, '\0', len) != NULL) {
    diag_error(d, input, 0, "contains a NUL byte: not a text table");
    g_free(text);
    return false;
  }
  char *tmp = g_strdup_printf("%s.tmp.%d", output, (int)getpid());
  TCHDB *hdb = tchdbnew();
  guint lines = 0;
  for (const char *p = text; *p != '\0'; p++)
    lines += *p == '\n';
  tchdbtune(hdb, (int64_t)lines * 2 + 16, -1, -1, HDBTLARGE);
  if (!tchdbopen(hdb, tmp, HDBOWRITER | HDBOCREAT | HDBOTRUNC)) {
    diag_error(d, output, 0, "cannot create %s: %s", tmp,
               tchdberrmsg(tchdbecode(hdb)));
    tchdbdel(hdb);
    g_free(tmp);
    g_free(text);
    return false;
  }
  char **rows = g_strsplit(text, "\n", -1);
  guint count = 0;
  bool ok = true;
  for (guint i = 0; rows[i] != NULL && ok; i++) {
    char *line = rows[i];
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r')
      line[n - 1] = '\0';
    if (line[0] == '!' || line[0] == '#')
      continue;
    char *t = line;
    while (g_ascii_isspace(*t))
      t++;
    if (*t == '\0')
      continue;
    char *key, *value;
    if (!split(t, &key, &value)) {
      diag_error(d, input, i + 1, "\"%s\" has no value (key and value are "
                                  "separated by white space)",
                 t);
      continue;
    }
    char *k = unquote_key(key);
    if (tchdbputkeep2(hdb, k, value)) {
      count++;
    } else if (tchdbecode(hdb) != TCEKEEP) {
      diag_error(d, output, 0, "writing %s: %s", tmp,
                 tchdberrmsg(tchdbecode(hdb)));
      ok = false;
    }
    g_free(k);
  }
  g_strfreev(rows);
  g_free(text);
  ok = ok && !diag_has_errors(d) && tchdbsync(hdb);
  if (!tchdbclose(hdb))
    ok = false;
  tchdbdel(hdb);
  if (ok && (chmod(tmp, 0644) < 0 || rename(tmp, output) < 0)) {
    diag_error(d, output, 0, "cannot install: %s", g_strerror(errno));
    ok = false;
  }
  if (!ok) {
    unlink(tmp);
  } else {
    char *dir = g_path_get_dirname(output);
    char *why = NULL;
    if (!fs_fsync_dir(dir, &why)) {
      diag_warning(d, output, 0, "%s", why);
      g_free(why);
    }
    g_free(dir);
    *count_r = count;
  }
  g_free(tmp);
  return ok;
}
