/*
 * cursus.c - the cursus program: one program, many subcommands
 *
 * Parses the options every command shares, finds the command in the table
 * and runs it.  The daemons are subcommands too; the watcher starts them
 * with this same program.
 */
#include "build-config.h"
#include "commands.h"
#include "config/config.h"
#include "queue/qconfig.h"
#include "filter/fconf.h"
#include "mta/mtacfg.h"
#include "module/hostdns.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const command commands[] = {
    {"start", cmd_start, "[--foreground]", "start the server", false},
    {"stop", cmd_stop, "", "stop the server", false},
    {"status", cmd_status, "", "show the server's processes", false},
    {"refresh", cmd_refresh, "",
     "check the configuration and make the running server reload it", false},
    {"config", cmd_config, "check [--quiet]",
     "check every configuration file (errors as file:line: message)", false},
    {"config", cmd_config, "keywords",
     "list the channel keywords the core interprets", false},
    {"modules", cmd_modules, "[-v]",
     "list the modules found and the files refused", false},
    {"test-rewrite", cmd_test_rewrite,
     "[--source-channel CH] [--from ADDR] [--tag TAG] [--noimage] "
     "[--noexpand] [-q] ADDRESS...",
     "show how addresses are rewritten, routed and expanded", false},
    {"test-mapping", cmd_test_mapping, "[--flags AELTDFS] TABLE [INPUT...]",
     "apply a mapping table (or an access table) to inputs", false},
    {"cnbuild", cmd_cnbuild, "[--check]",
     "compile the mapping tables and aliases into the configuration image",
     false},
    {"crdb", cmd_crdb, "INPUT OUTPUT",
     "compile a text table into a database for map_tcdb", false},
    {"user", cmd_user, "add|modify|delete|show|list ...",
     "provision users (`cursus user --help`)", false},
    {"group", cmd_group, "add|modify|delete|show|list ...",
     "provision groups and distribution lists", false},
    {"domain", cmd_domain, "add|modify|delete|show|list ...",
     "provision hosted domains", false},
    {"directory", cmd_directory, "resolve|verify|check|stats ...",
     "what the directory makes of an address or a login", false},
    {"mbox", cmd_mbox, "list|create|delete|rename|show|acl|move ...",
     "mailboxes and users' stores in the message store", false},
    {"quota", cmd_quota, "[-u USER] [-d DOMAIN] [-w] [-o] [-n]",
     "quota usage, users over the threshold or quota, warnings", false},
    {"reconstruct", cmd_reconstruct, "[-n] [-F] [-m] [-q] [-r] [NAME...]",
     "check and repair the store from its message files", false},
    {"snapshot", cmd_snapshot, "create|list|restore [NAME]|prune KEEP",
     "snapshots of the store's system area and recovery from them", false},
    {"expire", cmd_expire, "[-n] [-u USER]", "apply the expiry rules now",
     false},
    {"dispatcher", cmd_dispatcher, "", "the dispatcher process", true},
    {"worker", cmd_worker, "SERVICE", "a server worker process", true},
    {"job-controller", cmd_job_controller, "", "the job controller", true},
    {"channel-job", cmd_channel_job, "CHANNEL", "a master channel job", true},
    {"qm", cmd_qm, "COMMAND [ARGS]",
     "queue manager: list, show, hold, release, delete, return, retry, "
     "counters, jobs, inject",
     false},
    {"stored", cmd_stored, "", "the store housekeeping process", true},
    {NULL, NULL, NULL, NULL, false},
};

static void usage(FILE *f) {
  fprintf(f, "usage: cursus [--config DIR] COMMAND [ARGS]\n\ncommands:\n");
  for (const command *c = commands; c->name != NULL; c++)
    if (!c->internal)
      fprintf(f, "  %-16s %-28s %s\n", c->name, c->args, c->help);
  fprintf(f, "\nThe configuration directory is --config DIR, else "
             "$CURSUS_CONFIG_DIR, else %s.\n"
             "Modules are searched in [paths] module_path of cursus.conf, or "
             "$CURSUS_MODULE_PATH.\n",
          CURSUS_CONFIG_DIR);
}

/* take_option - remove "--NAME VALUE" or "--NAME=VALUE" from argv */
static bool take_option(int *argc, char **argv, int i, const char *name,
                        char **value_r) {
  size_t n = strlen(name);
  if (strncmp(argv[i], name, n) != 0)
    return false;
  int used;
  if (argv[i][n] == '=') {
    *value_r = argv[i] + n + 1;
    used = 1;
  } else if (argv[i][n] == '\0' && i + 1 < *argc) {
    *value_r = argv[i + 1];
    used = 2;
  } else {
    return false;
  }
  memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used + 1) * sizeof(char *));
  *argc -= used;
  return true;
}

static bool take_flag(int *argc, char **argv, int i, const char *name) {
  if (strcmp(argv[i], name) != 0)
    return false;
  memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(char *));
  *argc -= 1;
  return true;
}

int main(int argc, char **argv) {
  cmd_ctx ctx = {.config_dir = NULL, .ready_fd = -1};
  char *value;

  log_init("cursus");
  queue_config_register();
  fconf_register();
  mtacfg_register();
  hostdns_register();
  for (int i = 1; i < argc;) {
    if (take_option(&argc, argv, i, "--config", &value) ||
        take_option(&argc, argv, i, "-C", &value)) {
      ctx.config_dir = value;
    } else if (take_option(&argc, argv, i, "--ready-fd", &value)) {
      ctx.ready_fd = atoi(value);
    } else if (take_flag(&argc, argv, i, "--log-stderr")) {
      ctx.log_stderr = true;
    } else if (take_flag(&argc, argv, i, "--foreground") ||
               take_flag(&argc, argv, i, "-f")) {
      ctx.foreground = true;
      ctx.log_stderr = true;
    } else if (strcmp(argv[i], "--") == 0) {
      break;
    } else {
      i++;
    }
  }
  if (ctx.config_dir == NULL)
    ctx.config_dir = config_default_dir();
  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("cursus %s (module ABI %d.%d)\n", PACKAGE_VERSION, CURSUS_ABI_MAJOR,
           CURSUS_ABI_MINOR);
    return 0;
  }
  for (const command *c = commands; c->name != NULL; c++) {
    if (strcmp(c->name, argv[1]) == 0) {
      ctx.argc = argc - 1;
      ctx.argv = argv + 1;
      return c->fn(&ctx);
    }
  }
  fprintf(stderr, "cursus: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
