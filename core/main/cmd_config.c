/*
 * cmd_config.c - `cursus config check`, and configuration loading for the
 * command-line tools
 */
#include "build-config.h"
#include "commands.h"
#include "config/config.h"
#include "config/keyword.h"
#include "module/host.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

config *cmd_load_config(cmd_ctx *ctx, unsigned process, modreg **mods_r,
                        bool allow_errors) {
  diag *d = diag_new();
  host_init(process);
  /* tools see every module, whatever processes it is meant for */
  *mods_r = NULL;
  config *cfg = config_load(ctx->config_dir, CURSUS_PROC_ANY, mods_r, d);
  if (cfg != NULL)
    (*mods_r)->process = process;
  diag_print(d, stderr);
  if (cfg == NULL || (diag_has_errors(d) && !allow_errors)) {
    if (cfg != NULL)
      fprintf(stderr, "cursus: %u error(s) in the configuration in %s\n",
              d->errors, cfg->dir);
    config_unref(&cfg);
    modreg_free(mods_r);
  }
  diag_free(&d);
  if (cfg != NULL)
    config_set_current(cfg);
  return cfg;
}

/* config_keywords - the channel keywords the core interprets */
static int config_keywords(void) {
  for (const cursus_keyword *k = core_channel_keywords; k->name != NULL; k++) {
    char arity[48] = "";
    if (k->type != CURSUS_VALUE_FLAG)
      snprintf(arity, sizeof(arity), " <%s>%s", value_type_name(k->type),
               k->max_values == 1 ? "" : "...");
    printf("%s%s\t%s\n", k->name, arity, k->help);
  }
  return 0;
}

int cmd_config(cmd_ctx *ctx) {
  bool quiet = false;
  if (ctx->argc == 2 && strcmp(ctx->argv[1], "keywords") == 0)
    return config_keywords();
  if (ctx->argc < 2 || strcmp(ctx->argv[1], "check") != 0) {
    fprintf(stderr, "usage: cursus [--config DIR] config check [--quiet]\n"
                    "       cursus config keywords\n");
    return 2;
  }
  for (int i = 2; i < ctx->argc; i++) {
    if (strcmp(ctx->argv[i], "--quiet") == 0 || strcmp(ctx->argv[i], "-q") == 0)
      quiet = true;
    else {
      fprintf(stderr, "cursus config check: unknown option %s\n", ctx->argv[i]);
      return 2;
    }
  }
  diag *d = diag_new();
  modreg *mods = NULL;
  host_init(CURSUS_PROC_TOOL);
  config *cfg = config_load(ctx->config_dir, CURSUS_PROC_ANY, &mods, d);
  diag_print(d, stderr);
  int status = 0;
  if (cfg == NULL || diag_has_errors(d)) {
    fprintf(stderr, "%s: %u error(s), %u warning(s)\n",
            cfg != NULL ? cfg->dir : ctx->config_dir, d->errors, d->warnings);
    status = 1;
  } else if (!quiet) {
    printf("%s: configuration OK (%u rewrite rules, %u channels, %u "
           "services, %u warning(s))\n",
           cfg->dir, cfg->imta->rules->len, cfg->imta->channels->len,
           cfg->disp->services->len, d->warnings);
    for (guint i = 0; i < mods->modules->len; i++) {
      module *m = mods->modules->pdata[i];
      if (!m->used)
        printf("note: module %s is installed but not used by the "
               "configuration\n",
               m->desc->name);
    }
  }
  config_unref(&cfg);
  modreg_free(&mods);
  diag_free(&d);
  return status;
}
