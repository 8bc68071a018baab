/*
 * map_tcdb.c - mapping source "tcdb:": Tokyo Cabinet hash databases
 *
 * Serves databases made by `cursus crdb INPUT OUTPUT` (lower-case keys,
 * the values as written): general databases ($(db,key), [databases]) and
 * large tables of the MAPPINGS file ("BIG  tcdb:big.tcdb": each input is
 * looked up as a key, the value is the template).  Lookups go to the
 * memory-mapped file; nothing is loaded at open.  The database is opened
 * read-only without locks: `cursus crdb` replaces it by renaming a
 * complete new file, so an open database never changes under a reader.
 * Relative paths are relative to the configuration directory.
 *
 * Settings ([module map_tcdb] of cursus.conf):
 *   mmap_size   bytes of each database mapped into memory (default 64M)
 *
 * Needs the SDK, GLib and Tokyo Cabinet.
 */
#include "build-config.h"
#include <cursus/cursus.h>
#include <glib.h>
#include <string.h>
#include <tcutil.h>
#include <tchdb.h>

static const cursus_host *host;
static cursus_module_ctx *module_ctx;

/* This thread's last error: a module that is unloaded must not leave
 * thread-private allocations behind, so the text is copied here. */
static __thread char last_error[512];

static int fail(char *error, const char **error_r, int status) {
  g_strlcpy(last_error, error, sizeof(last_error));
  g_free(error);
  *error_r = last_error;
  return status;
}

static int mt_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  module_ctx = ctx;
  return CURSUS_OK;
}

static int mt_open(cursus_module_ctx *ctx, const char *argument,
                   void **source_r, const char **error_r) {
  if (*argument == '\0')
    return fail(g_strdup("tcdb: needs a database file name"), error_r,
                CURSUS_PERMFAIL);
  char *path = g_path_is_absolute(argument)
                   ? g_strdup(argument)
                   : g_build_filename(host->path(ctx, CURSUS_PATH_CONFIG),
                                      argument, NULL);
  TCHDB *hdb = tchdbnew();
  tchdbsetmutex(hdb);
  tchdbsetxmsiz(hdb, host->setting_int(ctx, "mmap_size", 64LL << 20));
  if (!tchdbopen(hdb, path, HDBOREADER | HDBONOLCK)) {
    char *e = g_strdup_printf("%s: %s", path, tchdberrmsg(tchdbecode(hdb)));
    tchdbdel(hdb);
    g_free(path);
    return fail(e, error_r, CURSUS_TEMPFAIL);
  }
  g_free(path);
  *source_r = hdb;
  return CURSUS_OK;
}

static int mt_lookup(void *source, const char *key, size_t key_len,
                     cursus_buf *out, const char **error_r) {
  TCHDB *hdb = source;
  char stack[256];
  char *folded = key_len < sizeof(stack) ? stack : g_malloc(key_len + 1);
  for (size_t i = 0; i < key_len; i++)
    folded[i] = g_ascii_tolower(key[i]);
  folded[key_len] = '\0';
  int size = 0;
  void *v = tchdbget(hdb, folded, (int)key_len, &size);
  int rc = CURSUS_OK;
  if (v != NULL) {
    host->buf_append(out, v, (size_t)size);
    tcfree(v);
  } else if (tchdbecode(hdb) == TCENOREC) {
    rc = CURSUS_NONE;
  } else {
    rc = fail(g_strdup(tchdberrmsg(tchdbecode(hdb))), error_r,
              CURSUS_TEMPFAIL);
  }
  if (folded != stack)
    g_free(folded);
  return rc;
}

static void mt_close(void *source) {
  TCHDB *hdb = source;
  tchdbclose(hdb);
  tchdbdel(hdb);
}

static const char *const mt_schemes[] = {"tcdb", NULL};

static const cursus_mapping_ops mt_ops = {
    .size = sizeof(cursus_mapping_ops),
    .schemes = mt_schemes,
    .open = mt_open,
    .lookup = mt_lookup,
    .close = mt_close,
};

static const cursus_keyword mt_settings[] = {
    {"mmap_size", CURSUS_VALUE_SIZE, 1, 1,
     "bytes of each database mapped into memory"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "map_tcdb", .version = PACKAGE_VERSION, .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "mapping tables and databases in Tokyo Cabinet "
                             "files",
              .kinds = CURSUS_KIND_MAPPING, .flags = CURSUS_MODULE_LOCAL_LOOKUPS,
              .settings = mt_settings,
              .init = mt_init, .mapping = &mt_ops);
