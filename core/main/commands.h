/*
 * commands.h - the subcommands of the cursus program
 *
 * `cursus [--config DIR] COMMAND [ARGS]`.  Every command finds the
 * configuration in --config DIR, else $CURSUS_CONFIG_DIR, else the
 * installed configuration directory.
 */
#ifndef CURSUS_COMMANDS_H
#define CURSUS_COMMANDS_H

#include <stdbool.h>
#include <cursus/module.h>

typedef struct cmd_ctx {
  const char *config_dir;
  bool foreground; /* start: stay attached, log to stderr */
  bool log_stderr; /* daemons: also log to stderr */
  int ready_fd;    /* daemons started by the watcher: readiness pipe */
  int argc;        /* ARGS, argv[0] = the command name */
  char **argv;
} cmd_ctx;

typedef int cmd_fn(cmd_ctx *ctx);

typedef struct command {
  const char *name;
  cmd_fn *fn;
  const char *args;
  const char *help;
  bool internal; /* a daemon started by the watcher; not listed */
} command;

/* the table, in cursus.c */
extern const command commands[];

/* cmd_load_config - load and check the configuration for a tool; prints
 * problems to stderr.  Returns NULL (after printing) when it has errors
 * and ALLOW_ERRORS is false.  *MODS_R receives the module registry. */
struct config;
struct modreg;
struct config *cmd_load_config(cmd_ctx *ctx, unsigned process,
                               struct modreg **mods_r, bool allow_errors);

int cmd_start(cmd_ctx *ctx);
int cmd_stop(cmd_ctx *ctx);
int cmd_status(cmd_ctx *ctx);
int cmd_refresh(cmd_ctx *ctx);
int cmd_config(cmd_ctx *ctx);
int cmd_modules(cmd_ctx *ctx);
int cmd_test_rewrite(cmd_ctx *ctx);
int cmd_test_mapping(cmd_ctx *ctx);
int cmd_cnbuild(cmd_ctx *ctx);
int cmd_crdb(cmd_ctx *ctx);
int cmd_user(cmd_ctx *ctx);
int cmd_group(cmd_ctx *ctx);
int cmd_domain(cmd_ctx *ctx);
int cmd_directory(cmd_ctx *ctx);
int cmd_mbox(cmd_ctx *ctx);
int cmd_reconstruct(cmd_ctx *ctx);
int cmd_snapshot(cmd_ctx *ctx);
int cmd_quota(cmd_ctx *ctx);
int cmd_expire(cmd_ctx *ctx);

int watcher_main(cmd_ctx *ctx, int notify_fd);
int cmd_dispatcher(cmd_ctx *ctx);
int cmd_worker(cmd_ctx *ctx);
int cmd_job_controller(cmd_ctx *ctx);
int cmd_channel_job(cmd_ctx *ctx);
int cmd_qm(cmd_ctx *ctx);
int cmd_stored(cmd_ctx *ctx);

#endif
