/*
 * fuzz_mappings.c - the MAPPINGS reader (tables, entries, includes,
 * checks) and the aliases reader on arbitrary files; every table read is
 * then applied to a few inputs
 */
#include "build-config.h"
#include "alias/aliasdb.h"
#include "mapping/mapset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-mappings-XXXXXX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[sizeof(dir) - 2] == 'X' && mkdtemp(dir) == NULL) {
    g_printerr("fuzz_mappings: mkdtemp %s: %s\n", dir, g_strerror(errno));
    abort();
  }
  char *path = g_build_filename(dir, "mappings", NULL);
  GError *err = NULL;
  if (!g_file_set_contents(path, (const char *)data, (gssize)size, &err)) {
    g_printerr("fuzz_mappings: %s\n", err->message);
    abort();
  }
  chmod(path, 0644);
  diag *d = diag_new();
  mapset *ms = mapset_new(NULL);
  mapset_read(ms, path, dir, false, d);
  mapset_check(ms, d);
  static const char *const inputs[] = {"", "a", "joe@example.com",
                                       "TCP|127.0.0.1|25|10.0.0.1|4000",
                                       "tcp_local|a@b|tcp_local|c@d"};
  for (guint i = 0; i < ms->order->len; i++) {
    const map_table *t = ms->order->pdata[i];
    for (size_t j = 0; j < G_N_ELEMENTS(inputs); j++) {
      map_result r;
      map_result_init(&r);
      char *error = NULL;
      map_ctx ctx = {.session_flags = 0x5};
      if (mapset_apply(ms, t->name, inputs[j], &ctx, &r, &error) != CURSUS_OK)
        g_free(error);
      map_result_clear(&r);
    }
  }
  mapset_free(&ms);
  aliasdb *al = aliasdb_new();
  aliasdb_read(al, path, dir, false, d);
  aliasdb_free(&al);
  diag_free(&d);
  unlink(path);
  g_free(path);
  return 0;
}
