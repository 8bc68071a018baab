/*
 * aliasdb.h - the alias file and its compiled form
 *
 * The aliases file (cursus.conf [mta] alias_file, default "aliases"):
 *
 *   ! comment
 *   postmaster:  root@example.com
 *   staff:       alice, bob@example.org,
 *                carol                      <- indented: continues
 *   sales@example.com: :include:/etc/cursus/sales.list
 *   team: <team.list, <ldap:///ou=team,o=example?mail?one
 *
 * A name is a local part or a whole address (an address's full form is
 * tried first, then its local part when its domain is one of the local
 * channel's host names).  Members are addresses separated by commas;
 * `:include:FILE` and `<FILE` read one or more addresses per line from a
 * file (`!` and `#` comments), `<URL` asks a mapping source for a list
 * (each value one address).  A trailing `\` or an indented line continues
 * a definition; `<file` at the start of a line includes another aliases
 * file.  Names are case-insensitive.
 *
 * Compiled by `cursus cnbuild` into the configuration image; the running
 * processes then read it from there.  Addresses routed to the local
 * channel (or an `aliaslocal` channel) are expanded through the registered
 * expanders (core/mta/expand.h): the directory's first, then this file's.
 */
#ifndef CURSUS_ALIASDB_H
#define CURSUS_ALIASDB_H

#include <stdbool.h>
#include <glib.h>
#include "util/diag.h"

/* Include files nest at most this deep (inside the aliases file). */
#define ALIAS_INCLUDE_DEPTH 3
/* Most members one alias may have after includes. */
#define ALIAS_MAX_MEMBERS 100000

struct image;

typedef struct alias_def {
  char *name;         /* lower case */
  GPtrArray *members; /* char*: addresses, or "<URL" */
  const char *file;
  unsigned line;
} alias_def;

typedef struct aliasdb {
  GHashTable *by_name; /* name -> alias_def* */
  GPtrArray *order;    /* alias_def* in file order */
  GStringChunk *strings;
  struct image *img;   /* compiled image holding the aliases, or NULL */
  GPtrArray *inputs;   /* files read (char*), for the compiled image */
} aliasdb;

aliasdb *aliasdb_new(void);
void aliasdb_free(aliasdb **db);
/* aliasdb_read - read PATH (includes relative to BASE_DIR); problems go
 * to D; a missing file is no error when OPTIONAL */
bool aliasdb_read(aliasdb *db, const char *path, const char *base_dir,
                  bool optional, diag *d);
/* aliasdb_add - add one definition (used by the reader and the image) */
alias_def *aliasdb_add(aliasdb *db, const char *name, const char *file,
                       unsigned line);
/* aliasdb_lookup - the definition of NAME (any case): CURSUS_OK with
 * *def_r (free with alias_def_free when *owned_r is true), CURSUS_NONE,
 * or CURSUS_TEMPFAIL with *error_r */
int aliasdb_lookup(const aliasdb *db, const char *name, alias_def **def_r,
                   bool *owned_r, char **error_r);
void alias_def_free(alias_def *def);
/* aliasdb_count - definitions held */
guint aliasdb_count(const aliasdb *db);

#endif
