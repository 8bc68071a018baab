/*
 * qcounters.c - per-channel counters saved across job controller restarts
 */
#include "build-config.h"
#include "qcounters.h"
#include "util/fsutil.h"

#include <stdio.h>
#include <string.h>

char *qcounters_path(const char *state_dir) {
  return g_build_filename(state_dir, QCOUNTERS_FILE, NULL);
}

int qcounters_load(qcache *qc, const char *path, char **error_r) {
  char *text = NULL;
  GError *ge = NULL;
  if (!g_file_get_contents(path, &text, NULL, &ge)) {
    bool missing = g_error_matches(ge, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    if (!missing)
      *error_r = g_strdup_printf("%s: %s", path, ge->message);
    g_error_free(ge);
    return missing ? CURSUS_OK : CURSUS_TEMPFAIL;
  }
  char **lines = g_strsplit(text, "\n", 0);
  for (char **l = lines; *l != NULL; l++) {
    char name[256];
    guint64 v[4];
    /* a line that does not parse (a torn write cannot happen: the file
     * is replaced atomically) is skipped rather than trusted */
    if (sscanf(*l, "%255s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
               name, &v[0], &v[1], &v[2], &v[3]) != 5)
      continue;
    qc_chan *c = qcache_chan(qc, name);
    c->enqueued += v[0];
    c->done += v[1];
    c->deferred += v[2];
    c->errors += v[3];
  }
  g_strfreev(lines);
  g_free(text);
  return CURSUS_OK;
}

int qcounters_save(const qcache *qc, const char *path, char **error_r) {
  GString *out = g_string_new(NULL);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const qc_chan *c = v;
    if (c->enqueued + c->done + c->deferred + c->errors == 0)
      continue;
    g_string_append_printf(out,
                           "%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                           " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
                           c->name, c->enqueued, c->done, c->deferred,
                           c->errors);
  }
  bool ok = fs_write_atomic(path, out->str, out->len, 0640, error_r);
  g_string_free(out, TRUE);
  return ok ? CURSUS_OK : CURSUS_TEMPFAIL;
}

unsigned qcounters_clear(qcache *qc, const char *channel) {
  unsigned n = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    qc_chan *c = v;
    if (channel != NULL && strcmp(c->name, channel) != 0)
      continue;
    c->enqueued = c->done = c->deferred = c->errors = 0;
    n++;
  }
  return n;
}

uint64_t qcounters_sum(const qcache *qc) {
  uint64_t sum = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const qc_chan *c = v;
    /* weights keep a move between counters from cancelling out */
    sum += c->enqueued + 3 * c->done + 7 * c->deferred + 13 * c->errors;
  }
  return sum;
}
