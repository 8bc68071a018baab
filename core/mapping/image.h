/*
 * image.h - the compiled configuration image (`cursus cnbuild`)
 *
 * The mapping tables of the MAPPINGS file and the aliases file compiled
 * into one Tokyo Cabinet hash database, so that a process starts without
 * parsing them and looks a key up in a 100,000-entry table as fast as in a
 * small one: plain entries are records found by their key, wildcard
 * entries are loaded and compiled at open.  An image is immutable and
 * named uniquely (COMPILED_DIR/image-*.tch); the file COMPILED_DIR/current
 * names the one in force and is replaced atomically, after the new image
 * is complete and synced.  Processes read `current` through the
 * configuration bundle (core/config/bundle.h), so a running server keeps
 * the image it accepted until `cursus refresh`, and never sees a
 * half-written one.  `cnbuild` keeps the image the running server uses and
 * the newest few others.
 *
 * Needs Tokyo Cabinet and GLib (GVariant records).
 */
#ifndef CURSUS_IMAGE_H
#define CURSUS_IMAGE_H

#include <stdbool.h>
#include <glib.h>
#include "util/diag.h"

struct mapset;
struct map_table;
struct aliasdb;
struct alias_def;

/* Format of the records; an image of another format is refused. */
#define IMAGE_FORMAT 1
/* Older images cnbuild keeps besides the current one. */
#define IMAGE_KEEP 3

typedef struct image image;

/* image_open - the image COMPILED_DIR/current names.  CURSUS_OK with
 * *img_r, CURSUS_NONE when there is no image, CURSUS_PERMFAIL with
 * *error_r (allocated) when it cannot be used. */
int image_open(const char *compiled_dir, image **img_r, char **error_r);
void image_close(image **img);
/* image_path - the image file */
const char *image_path(const image *img);

/* image_load - give MS the image's tables (wildcard entries compiled,
 * plain entries left in the image) and AL its aliases; problems with the
 * entries go to D */
void image_load(image *img, struct mapset *ms, struct aliasdb *al, diag *d);
/* image_check_sources - warn in D for every source file that changed
 * since the image was built */
void image_check_sources(const image *img, diag *d);
/* image_describe - one line: file, build time, tables, entries, aliases */
char *image_describe(const image *img);

/* image_plain_entries - the plain entries of table T whose folded pattern
 * is KEY, compiled (map_entry*, appended to OUT in index order) */
int image_plain_entries(const image *img, struct mapset *ms,
                        const struct map_table *t, const char *key,
                        GPtrArray *out, char **error_r);
/* image_alias - the alias NAME (lower case): CURSUS_OK with *def_r
 * (alias_def_free), CURSUS_NONE, CURSUS_TEMPFAIL */
int image_alias(const image *img, const char *name, struct alias_def **def_r,
                char **error_r);
guint image_alias_count(const image *img);

/* image_write - compile MS and AL into a new image in COMPILED_DIR and
 * make it current; INPUTS are the source files read (for staleness
 * warnings); KEEP_NAME (may be NULL) is an image file name never pruned
 * (the running server's).  True with *path_r. */
bool image_write(const char *compiled_dir, const struct mapset *ms,
                 const struct aliasdb *al, const GPtrArray *inputs,
                 const char *keep_name, char **path_r, char **error_r);
/* image_current_name - the image file name COMPILED_DIR/current holds in
 * TEXT (the contents of a `current` file), or NULL */
char *image_current_name(const char *text);

#endif
