/*
 * mapset.h - the mapping tables of the MAPPINGS file, and applying them
 *
 * File format (as in the classic system): a table name starting in
 * column 1, optionally followed by the spec of a source serving the
 * table ("DOMAINS  tcdb:domains.tcdb"); a blank line; the entries,
 * indented, one per line: a pattern (pattern.h) and a template
 * (mtemplate.h) separated by unquoted white space; a blank line ends the
 * table.  `!` in column 1 starts a comment, a trailing `\` continues a
 * line, `<file` includes a file (core/config/srcfile.h).  A table is
 * defined once; names are case-insensitive.
 *
 * Applying a table to an input string: entries are tried in order; the
 * first whose pattern matches and whose template applies gives the output.
 * Unless the template says $C, $L or $R the scan ends there ($E).  The
 * number of passes is bounded (a pass that does not shorten the string
 * counts; MAP_MAX_PASSES of them end the scan).  Entries whose pattern is
 * a plain string are found through a hash (the first in file order), so
 * large tables cost the same as small ones.
 */
#ifndef CURSUS_MAPSET_H
#define CURSUS_MAPSET_H

#include <stdbool.h>
#include <glib.h>
#include "config/srcfile.h"
#include "mtemplate.h"
#include "pattern.h"
#include "source.h"

#define MAP_MAX_PASSES 10
#define MAP_MAX_DEPTH 10
/* Longest table name. */
#define MAP_NAME_MAX 64

struct image;

typedef struct map_entry {
  char *pattern_text;
  char *template_text;
  mpattern *pattern; /* NULL for a plain entry read from the image */
  mtemplate *tmpl;
  const char *file;
  unsigned line;
  unsigned index; /* position in the table */
  struct map_entry *next_same; /* next entry with the same plain pattern */
} map_entry;

typedef struct map_table {
  char *name; /* upper case */
  const char *file;
  unsigned line;
  char *source;        /* spec of the source serving the table, or NULL */
  GPtrArray *entries;  /* of map_entry*, in order (text tables) */
  GHashTable *exact;   /* folded literal pattern -> map_entry* (first) */
  GPtrArray *wild;     /* entries with wildcards, in order */
  bool in_image;       /* plain entries live in the compiled image */
  int source_state;    /* 0 not yet asked, 1 entries loaded from the
                          source, 2 the source only answers lookups */
  GPtrArray *calls;    /* names of tables called with $|T;..| (char*) */
  gsize n_entries;
} map_table;

typedef struct mapset {
  GHashTable *tables;  /* upper-case name -> map_table* */
  GPtrArray *order;    /* map_table* in file order */
  GStringChunk *strings;
  srcreg *sources;     /* borrowed */
  struct image *img;   /* compiled image serving plain entries, or NULL */
  GMutex lock;         /* guards tables loaded from sources on first use */
  GPtrArray *inputs;   /* files read (char*), for the compiled image */
} mapset;

/* Per-call context of a mapping. */
typedef struct map_ctx {
  unsigned session_flags; /* letters of $:x / $;x: bit (x - 'A') */
  unsigned depth;         /* nesting of $|...| calls */
  GString *trace;         /* when set, each step is appended */
  const char *indent;     /* prefix of trace lines */
} map_ctx;

typedef struct map_result {
  bool matched;          /* an entry applied */
  GString *out;          /* the output string */
  map_flags flags;
  const char *file;      /* where the last entry that applied is */
  unsigned line;
} map_result;

void map_result_init(map_result *r);
void map_result_clear(map_result *r);

/* mapset_new - an empty set whose sources come from SOURCES */
mapset *mapset_new(srcreg *sources);
void mapset_free(mapset **ms);
/* mapset_read - add the tables of the MAPPINGS file PATH (includes resolve
 * in BASE_DIR); problems go to D.  A missing file is not an error when
 * OPTIONAL. */
bool mapset_read(mapset *ms, const char *path, const char *base_dir,
                 bool optional, diag *d);
/* mapset_check - cross-checks after reading: tables called exist, no
 * table calls itself through others, sources and functions available */
void mapset_check(mapset *ms, diag *d);
/* mapset_preload - load the entries of tables served by enumerable
 * sources now (their problems are errors of the check when STRICT, else
 * warnings, and the table is loaded again on first use) */
void mapset_preload(mapset *ms, bool strict, diag *d);
/* mapset_table - table NAME (any case), or NULL */
map_table *mapset_table(const mapset *ms, const char *name);
/* mapset_add_table / mapset_add_entry - build tables (mapset_read, the
 * compiled image, tests) */
map_table *mapset_add_table(mapset *ms, const char *name, const char *file,
                            unsigned line, const char *source);
bool mapset_add_entry(mapset *ms, map_table *t, const char *pattern,
                      const char *template_, const char *file, unsigned line,
                      char **error_r);
/* mapset_compile_info - what template compilation needs of MS */
mt_compile_info mapset_compile_info(mapset *ms);

/* mapset_apply - apply table NAME to INPUT.  CURSUS_OK with res->matched
 * telling whether an entry applied (an undefined table: matched false),
 * or CURSUS_TEMPFAIL with *error_r. */
int mapset_apply(const mapset *ms, const char *name, const char *input,
                 const map_ctx *ctx, map_result *res, char **error_r);
/* mapset_session_flag - the map_ctx bit of flag letter C */
unsigned mapset_session_flag(char c);

#endif
