/*
 * map_file.c - mapping source "file:": text tables
 *
 * A table file holds one entry per line: a key (a mapping pattern when the
 * file serves a table of the MAPPINGS file: "DOMAINS  file:domains.txt")
 * and a value (the entry's template), separated by white space; `$ `
 * quotes a space in the key; `!` or `#` at the start of a line makes it a
 * comment; a trailing `\` continues a line.  The file is read through the
 * host (host->read_config_file), so the running server uses the text the
 * configuration check accepted.  The source enumerates its entries in
 * order (the core compiles them into a pattern table) and answers exact
 * lookups (a general database "file:general.txt": the first entry whose
 * key equals the key, case-insensitively).
 *
 * Needs only the SDK and GLib.
 */
#include "build-config.h"
#include <cursus/cursus.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>

/* Longest line of a table file. */
#define MF_MAX_LINE (64 * 1024)

static const cursus_host *host;

typedef struct ftable {
  GPtrArray *keys, *values; /* char*, in file order */
  GHashTable *index;        /* folded plain key -> value (first) */
} ftable;

/* This thread's last error: a module that is unloaded must not leave
 * thread-private allocations behind, so the text is copied here. */
static __thread char last_error[512];

/* fail - ERROR (taken) as this thread's error */
static int fail(char *error, const char **error_r, int status) {
  g_strlcpy(last_error, error, sizeof(last_error));
  g_free(error);
  *error_r = last_error;
  return status;
}

static int mf_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  if (!CURSUS_HAS(h, read_config_file)) {
    *error_r = "the host is too old: read_config_file is missing";
    return CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

/* plain_key - KEY without its quoting, folded, or NULL when it holds a
 * wildcard (then only enumeration finds it) */
static char *plain_key(const char *key) {
  GString *s = g_string_new(NULL);
  for (const char *p = key; *p != '\0'; p++) {
    if (*p == '*' || *p == '%') {
      g_string_free(s, TRUE);
      return NULL;
    }
    if (*p == '$') {
      if (p[1] == '\0' || strchr("$*% \t|", p[1]) == NULL) {
        g_string_free(s, TRUE);
        return NULL;
      }
      p++;
    }
    g_string_append_c(s, g_ascii_tolower(*p));
  }
  return g_string_free(s, FALSE);
}

/* add_line - one logical line; false with *error_r for a bad line */
static bool add_line(ftable *t, char *line, unsigned lineno, char **error_r) {
  char *p = line;
  while (g_ascii_isspace(*p))
    p++;
  if (*p == '\0' || *p == '!' || *p == '#')
    return true;
  char *k = p;
  while (*p != '\0' && !g_ascii_isspace(*p)) {
    if (*p == '$' && p[1] != '\0')
      p++;
    p++;
  }
  if (*p == '\0') {
    *error_r = g_strdup_printf("line %u: \"%s\" has no value", lineno, k);
    return false;
  }
  *p++ = '\0';
  while (g_ascii_isspace(*p))
    p++;
  g_strchomp(p);
  g_ptr_array_add(t->keys, g_strdup(k));
  g_ptr_array_add(t->values, g_strdup(p));
  char *plain = plain_key(k);
  if (plain != NULL && !g_hash_table_contains(t->index, plain))
    g_hash_table_insert(t->index, plain, t->values->pdata[t->values->len - 1]);
  else
    g_free(plain);
  return true;
}

static void table_free(ftable *t) {
  g_hash_table_destroy(t->index);
  g_ptr_array_free(t->keys, TRUE);
  g_ptr_array_free(t->values, TRUE);
  g_free(t);
}

static int mf_open(cursus_module_ctx *ctx, const char *argument,
                   void **source_r, const char **error_r) {
  cursus_buf buf = {0};
  const char *error = NULL;
  if (*argument == '\0')
    return fail(g_strdup("file: needs a file name"), error_r,
                CURSUS_PERMFAIL);
  int rc = host->read_config_file(ctx, argument, &buf, &error);
  if (rc != CURSUS_OK) {
    host->buf_free(&buf);
    return fail(g_strdup(rc == CURSUS_NONE ? "no such file"
                         : error != NULL   ? error
                                           : "cannot read the file"),
                error_r, CURSUS_TEMPFAIL);
  }
  if (buf.data != NULL && memchr(buf.data, '\0', buf.len) != NULL) {
    host->buf_free(&buf);
    return fail(g_strdup("contains a NUL byte: not a text table"), error_r,
                CURSUS_PERMFAIL);
  }
  ftable *t = g_new0(ftable, 1);
  t->keys = g_ptr_array_new_with_free_func(g_free);
  t->values = g_ptr_array_new_with_free_func(g_free);
  t->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char **lines = g_strsplit(buf.data != NULL ? buf.data : "", "\n", -1);
  host->buf_free(&buf);
  GString *logical = g_string_new(NULL);
  char *why = NULL;
  unsigned start = 1;
  for (unsigned i = 0; lines[i] != NULL && why == NULL; i++) {
    char *l = lines[i];
    size_t n = strlen(l);
    if (n > 0 && l[n - 1] == '\r')
      l[--n] = '\0';
    if (logical->len == 0)
      start = i + 1;
    bool cont = n > 0 && l[n - 1] == '\\';
    g_string_append_len(logical, l, (gssize)(cont ? n - 1 : n));
    if (logical->len > MF_MAX_LINE)
      why = g_strdup_printf("line %u: longer than %d octets", start,
                            MF_MAX_LINE);
    else if (!cont) {
      add_line(t, logical->str, start, &why);
      g_string_truncate(logical, 0);
    }
  }
  g_string_free(logical, TRUE);
  g_strfreev(lines);
  if (why != NULL) {
    table_free(t);
    return fail(why, error_r, CURSUS_PERMFAIL);
  }
  *source_r = t;
  return CURSUS_OK;
}

static int mf_lookup(void *source, const char *key, size_t key_len,
                     cursus_buf *out, const char **error_r) {
  ftable *t = source;
  char *folded = g_ascii_strdown(key, (gssize)key_len);
  const char *v = g_hash_table_lookup(t->index, folded);
  g_free(folded);
  if (v == NULL)
    return CURSUS_NONE;
  host->buf_append(out, v, strlen(v));
  return CURSUS_OK;
}

static int mf_iterate(void *source,
                      int (*cb)(void *data, const char *key, const char *value),
                      void *data, const char **error_r) {
  ftable *t = source;
  for (guint i = 0; i < t->keys->len; i++)
    if (cb(data, t->keys->pdata[i], t->values->pdata[i]) != 0)
      break;
  return CURSUS_OK;
}

static void mf_close(void *source) { table_free(source); }

static const char *const mf_schemes[] = {"file", NULL};

static const cursus_mapping_ops mf_ops = {
    .size = sizeof(cursus_mapping_ops),
    .schemes = mf_schemes,
    .open = mf_open,
    .lookup = mf_lookup,
    .iterate = mf_iterate,
    .close = mf_close,
};

CURSUS_MODULE(.name = "map_file", .version = PACKAGE_VERSION, .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "mapping tables and databases in text files",
              .kinds = CURSUS_KIND_MAPPING, .flags = CURSUS_MODULE_LOCAL_LOOKUPS,
              .init = mf_init,
              .mapping = &mf_ops);
