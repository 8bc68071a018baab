/*
 * cmd_modules.c - `cursus modules`: every module found, and the refused
 */
#include "build-config.h"
#include "commands.h"
#include "config/config.h"
#include "config/keyword.h"

#include <stdio.h>
#include <string.h>

static void print_keywords(const char *title, const cursus_keyword *k) {
  if (k == NULL || k->name == NULL)
    return;
  printf("    %s:\n", title);
  for (; k->name != NULL; k++) {
    char arity[32] = "";
    if (k->type != CURSUS_VALUE_FLAG) {
      if (k->max_values == 1)
        snprintf(arity, sizeof(arity), " <%s>", value_type_name(k->type));
      else
        snprintf(arity, sizeof(arity), " <%s>...", value_type_name(k->type));
    }
    printf("      %s%s%*s%s\n", k->name, arity,
           (int)(MAX(1, 34 - (int)strlen(k->name) - (int)strlen(arity))), "",
           k->help != NULL ? k->help : "");
  }
}

int cmd_modules(cmd_ctx *ctx) {
  bool verbose = false;
  for (int i = 1; i < ctx->argc; i++) {
    if (strcmp(ctx->argv[i], "-v") == 0 || strcmp(ctx->argv[i], "--verbose") == 0)
      verbose = true;
    else {
      fprintf(stderr, "usage: cursus [--config DIR] modules [-v]\n");
      return 2;
    }
  }
  /* the module path of the configuration, even when it has errors */
  diag *d = diag_new();
  char *conf_path = g_build_filename(ctx->config_dir, "cursus.conf", NULL);
  optfile *of = g_file_test(conf_path, G_FILE_TEST_EXISTS)
                    ? optfile_read(conf_path, d)
                    : NULL;
  char **dirs = config_module_path(of, ctx->config_dir);
  modreg *reg = modreg_scan((const char *const *)dirs, CURSUS_PROC_ANY);

  printf("Module search path: ");
  for (char **p = dirs; *p != NULL; p++)
    printf("%s%s", p == dirs ? "" : ":", *p);
  printf("\nServer module ABI: %d.%d\n\n", CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR);
  printf("%-18s %-9s %-5s %-26s %-14s %s\n", "NAME", "VERSION", "ABI", "KINDS",
         "LICENSE", "VENDOR");
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    const struct cursus_module *desc = m->desc;
    char *kinds = module_kinds_string(desc->kinds);
    char abi[16];
    snprintf(abi, sizeof(abi), "%u.%u", desc->abi_major, desc->abi_minor);
    printf("%-18s %-9s %-5s %-26s %-14s %s\n", desc->name,
           desc->version ? desc->version : "-", abi, kinds,
           desc->license ? desc->license : "-",
           desc->vendor ? desc->vendor : "-");
    g_free(kinds);
    if (verbose) {
      char *procs = module_processes_string(desc->processes);
      printf("    file: %s\n    description: %s\n    processes: %s\n", m->path,
             desc->description ? desc->description : "-", procs);
      g_free(procs);
      if (desc->requires != NULL && desc->requires[0] != NULL) {
        printf("    requires:");
        for (const char *const *r = desc->requires; *r != NULL; r++)
          printf(" %s", *r);
        printf("\n");
      }
      if (desc->channel != NULL && desc->channel->select_keywords != NULL) {
        printf("    selected by channel keyword:");
        for (const char *const *k = desc->channel->select_keywords; *k; k++)
          printf(" %s", *k);
        printf("\n");
      }
      if (desc->channel != NULL && desc->channel->channel_names != NULL) {
        printf("    serves channels named:");
        for (const char *const *k = desc->channel->channel_names; *k; k++)
          printf(" %s", *k);
        printf("\n");
      }
      if (desc->protocol != NULL && desc->protocol->names != NULL) {
        printf("    protocols:");
        for (const char *const *k = desc->protocol->names; *k; k++)
          printf(" %s", *k);
        printf("\n");
      }
      if (desc->mapping != NULL && desc->mapping->schemes != NULL) {
        printf("    mapping schemes:");
        for (const char *const *k = desc->mapping->schemes; *k; k++)
          printf(" %s", *k);
        printf("\n");
      }
      print_keywords("channel keywords", desc->keywords);
      print_keywords("settings ([module NAME] in cursus.conf)", desc->settings);
      if (desc->filter != NULL && desc->filter->size >=
                                      offsetof(cursus_filter_ops, settings) +
                                          sizeof(desc->filter->settings))
        print_keywords("filter settings ([contentfilter NAME] in cursus.conf)",
                       desc->filter->settings);
    }
  }
  if (reg->refused->len > 0) {
    printf("\nRefused:\n");
    for (guint i = 0; i < reg->refused->len; i++) {
      const module_refusal *r = reg->refused->pdata[i];
      printf("  %s: %s\n", r->path, r->reason);
    }
  }
  modreg_free(&reg);
  g_strfreev(dirs);
  optfile_free(&of);
  g_free(conf_path);
  diag_free(&d);
  return 0;
}
