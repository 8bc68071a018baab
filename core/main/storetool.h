/*
 * storetool.h - what the store commands (cmd_store.c, cmd_quota.c) share:
 * opening the configuration, directory and store as the server does, and
 * admin mailbox names
 *
 * Admin names: "user/<id>" is a user's whole store (INBOX and below),
 * "user/<id>/<mailbox>" one mailbox, "shared/<mailbox>" a public folder.
 */
#ifndef CURSUS_STORETOOL_H
#define CURSUS_STORETOOL_H

#include <stdbool.h>
#include <cursus/cursus.h>
#include "commands.h"

struct config;
struct modreg;

/* Exit status for a temporary failure (sysexits EX_TEMPFAIL). */
#define STORE_EXIT_TEMPFAIL 75

typedef struct store_tool {
  struct config *cfg;
  struct modreg *mods;
  const cursus_store_ops *ops;
  void *store;
} store_tool;

/* store_tool_open - configuration, directory and store; false after
 * printing why */
bool store_tool_open(cmd_ctx *ctx, store_tool *t);
void store_tool_close(store_tool *t);
/* store_tool_exit - the exit status for RC */
int store_tool_exit(int rc);

/* An admin name split up. */
typedef struct admin_name {
  char *user;    /* the owner's id ("#shared" for public folders) */
  char *mailbox; /* NULL for a whole user                            */
} admin_name;

/* admin_name_parse - false after printing why */
bool admin_name_parse(const char *text, admin_name *n);
void admin_name_clear(admin_name *n);
/* admin_open_user - the owner of N as an admin session; NULL after
 * printing why */
cursus_store_user *admin_open_user(store_tool *t, const char *user,
                                   unsigned flags);

#endif
