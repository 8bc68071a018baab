/*
 * bundle.c - recording and replaying configuration file contents
 *
 * Bundle format: "CURSUS-CONFIG-BUNDLE 1\n", then per file the path, a
 * NUL, the length in decimal, a NUL, and that many bytes.
 */
#include "build-config.h"
#include "bundle.h"
#include "util/fsutil.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "CURSUS-CONFIG-BUNDLE 1\n"

static GHashTable *recorded; /* path -> GBytes, while recording */
static GHashTable *replay;   /* path -> GBytes, when a bundle is active */

bool bundle_active(void) { return replay != NULL; }

bool bundle_exists(const char *path) {
  if (replay != NULL)
    return g_hash_table_contains(replay, path);
  return g_file_test(path, G_FILE_TEST_EXISTS);
}

void bundle_record(void) {
  if (recorded != NULL)
    g_hash_table_destroy(recorded);
  recorded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify)g_bytes_unref);
}

bool bundle_get_contents(const char *path, char **text_r, gsize *len_r,
                         GError **error_r) {
  if (replay != NULL) {
    GBytes *b = g_hash_table_lookup(replay, path);
    if (b == NULL) {
      g_set_error(error_r, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                  "not part of the accepted configuration (run `cursus "
                  "refresh` after adding it)");
      return false;
    }
    gsize n;
    const char *data = g_bytes_get_data(b, &n);
    *text_r = g_malloc(n + 1);
    memcpy(*text_r, data, n);
    (*text_r)[n] = '\0';
    if (len_r != NULL)
      *len_r = n;
    return true;
  }
  gsize n = 0;
  if (!g_file_get_contents(path, text_r, &n, error_r))
    return false;
  if (len_r != NULL)
    *len_r = n;
  if (recorded != NULL)
    g_hash_table_replace(recorded, g_strdup(path), g_bytes_new(*text_r, n));
  return true;
}

bool bundle_save(const char *path, char **error_r) {
  GString *out = g_string_new(MAGIC);
  GHashTableIter it;
  gpointer key, value;
  if (recorded != NULL) {
    g_hash_table_iter_init(&it, recorded);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      gsize n;
      const char *data = g_bytes_get_data(value, &n);
      g_string_append(out, key);
      g_string_append_c(out, '\0');
      g_string_append_printf(out, "%zu", (size_t)n);
      g_string_append_c(out, '\0');
      g_string_append_len(out, data, (gssize)n);
    }
  }
  bool ok = fs_write_atomic(path, out->str, out->len, 0640, error_r);
  g_string_free(out, TRUE);
  return ok;
}

/* bundle_parse - the files of a bundle file's DATA, or NULL if damaged */
static GHashTable *bundle_parse(const char *data, gsize len) {
  GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify)g_bytes_unref);
  bool ok = len >= strlen(MAGIC) && memcmp(data, MAGIC, strlen(MAGIC)) == 0;
  size_t pos = strlen(MAGIC);
  while (ok && pos < len) {
    const char *name = data + pos;
    const char *nul = memchr(name, '\0', len - pos);
    if (nul == NULL) {
      ok = false;
      break;
    }
    pos = (size_t)(nul - data) + 1;
    const char *num = data + pos;
    nul = memchr(num, '\0', len - pos);
    if (nul == NULL) {
      ok = false;
      break;
    }
    char *end;
    unsigned long long n = strtoull(num, &end, 10);
    pos = (size_t)(nul - data) + 1;
    if (end != nul || n > len - pos) {
      ok = false;
      break;
    }
    g_hash_table_replace(t, g_strdup(name), g_bytes_new(data + pos, (gsize)n));
    pos += (size_t)n;
  }
  if (!ok) {
    g_hash_table_destroy(t);
    return NULL;
  }
  return t;
}

bool bundle_load(const char *path, char **error_r) {
  char *data = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents(path, &data, &len, &error)) {
    *error_r = g_strdup_printf("configuration bundle %s: %s", path,
                               error->message);
    g_error_free(error);
    return false;
  }
  GHashTable *t = bundle_parse(data, len);
  g_free(data);
  if (t == NULL) {
    *error_r = g_strdup_printf("configuration bundle %s is damaged", path);
    return false;
  }
  if (replay != NULL)
    g_hash_table_destroy(replay);
  replay = t;
  return true;
}

bool bundle_peek(const char *bundle, const char *path, char **text_r) {
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(bundle, &data, &len, NULL))
    return false;
  GHashTable *t = bundle_parse(data, len);
  g_free(data);
  if (t == NULL)
    return false;
  GBytes *b = g_hash_table_lookup(t, path);
  if (b != NULL) {
    gsize n;
    const char *d = g_bytes_get_data(b, &n);
    *text_r = g_strndup(d, n);
  }
  g_hash_table_destroy(t);
  return b != NULL;
}
