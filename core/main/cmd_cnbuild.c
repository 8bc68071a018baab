/*
 * cmd_cnbuild.c - `cursus cnbuild` (compile the mapping tables and the
 * aliases into the configuration image) and `cursus crdb` (compile a text
 * table into a database for map_tcdb)
 */
#include "build-config.h"
#include "commands.h"
#include "config/bundle.h"
#include "config/config.h"
#include "mapping/kvdb.h"
#include "module/host.h"
#include "mta/mtacfg.h"

#include <stdio.h>
#include <string.h>

/* running_image - the image file the running server accepted, or NULL */
static char *running_image(const config *cfg, const mtacfg *m) {
  char *bundle = g_build_filename(cfg->run_dir, "config.bundle", NULL);
  char *cur = g_build_filename(m->compiled_dir, "current", NULL);
  char *text = NULL, *name = NULL;
  if (bundle_peek(bundle, cur, &text))
    name = image_current_name(text);
  g_free(text);
  g_free(cur);
  g_free(bundle);
  return name;
}

int cmd_cnbuild(cmd_ctx *ctx) {
  bool check_only = false;
  for (int i = 1; i < ctx->argc; i++) {
    if (strcmp(ctx->argv[i], "--check") == 0) {
      check_only = true;
    } else {
      fprintf(stderr, "usage: cursus [--config DIR] cnbuild [--check]\n");
      return 2;
    }
  }
  mtacfg_set_sources_only(true);
  modreg *mods = NULL;
  config *cfg = cmd_load_config(ctx, CURSUS_PROC_TOOL, &mods, false);
  if (cfg == NULL) {
    fprintf(stderr, "cursus cnbuild: nothing compiled\n");
    return 1;
  }
  const mtacfg *m = mtacfg_of(cfg);
  guint entries = 0;
  for (guint i = 0; i < m->maps->order->len; i++)
    entries += ((map_table *)m->maps->order->pdata[i])->entries->len;
  int status = 0;
  if (check_only) {
    printf("%s, %s: %u mapping tables, %u entries, %u aliases: OK\n",
           m->mapping_file, m->alias_file, m->maps->order->len, entries,
           m->aliases->order->len);
  } else {
    GPtrArray *inputs = g_ptr_array_new();
    for (guint i = 0; i < m->maps->inputs->len; i++)
      g_ptr_array_add(inputs, m->maps->inputs->pdata[i]);
    for (guint i = 0; i < m->aliases->inputs->len; i++)
      g_ptr_array_add(inputs, m->aliases->inputs->pdata[i]);
    char *keep = running_image(cfg, m);
    char *path = NULL, *error = NULL;
    if (!image_write(m->compiled_dir, m->maps, m->aliases, inputs, keep, &path,
                     &error)) {
      fprintf(stderr, "cursus cnbuild: %s\n", error);
      g_free(error);
      status = 1;
    } else {
      printf("compiled %u mapping tables (%u entries) and %u aliases into "
             "%s\n(a running server uses it after `cursus refresh`)\n",
             m->maps->order->len, entries, m->aliases->order->len, path);
      g_free(path);
    }
    g_free(keep);
    g_ptr_array_free(inputs, TRUE);
  }
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  return status;
}

int cmd_crdb(cmd_ctx *ctx) {
  if (ctx->argc != 3) {
    fprintf(stderr, "usage: cursus crdb INPUT.txt OUTPUT.tcdb\n");
    return 2;
  }
  diag *d = diag_new();
  guint count = 0;
  bool ok = kvdb_build(ctx->argv[1], ctx->argv[2], d, &count);
  diag_print(d, stderr);
  if (ok)
    printf("%s: %u records from %s\n", ctx->argv[2], count, ctx->argv[1]);
  diag_free(&d);
  return ok ? 0 : 1;
}
