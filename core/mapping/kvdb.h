/*
 * kvdb.h - plain key/value databases for map_tcdb (`cursus crdb`)
 *
 * A text file of "key value" lines (`!` or `#` comment lines, blank lines
 * ignored; the key ends at the first unquoted white space, `$ ` quotes a
 * space; the value is the rest of the line) compiled into a Tokyo Cabinet
 * hash database with lower-case keys, written to a temporary file and
 * renamed into place, so a reader never sees a half-written database.
 * The first definition of a key wins, as in a mapping table.
 */
#ifndef CURSUS_KVDB_H
#define CURSUS_KVDB_H

#include <stdbool.h>
#include <glib.h>
#include "util/diag.h"

/* kvdb_build - compile INPUT into OUTPUT; problems go to D (file:line);
 * true with *count_r records when OUTPUT was written */
bool kvdb_build(const char *input, const char *output, diag *d,
                guint *count_r);

#endif
