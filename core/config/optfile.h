/*
 * optfile.h - option files: dispatcher.cnf, job_controller.cnf, cursus.conf
 *
 * One reader for the `option=value` files of the classic system and for
 * cursus.conf:
 *   - comment lines start with `!`, `#` or `;`; blank lines are ignored;
 *   - a trailing `\` continues the value on the next line;
 *   - `[KIND=name]` opens a section of the classic files (SERVICE, POOL,
 *     CHANNEL); `[group]` or `[group name]` opens a cursus.conf group;
 *   - options before any section belong to the global section;
 *   - integers may use the classic base notation b%v (8%777, 16%FF).
 * Keys are matched without regard to case.  A key given twice in one
 * section keeps the last value (the file is read top to bottom).
 */
#ifndef CURSUS_OPTFILE_H
#define CURSUS_OPTFILE_H

#include <stdbool.h>
#include "util/diag.h"
#include <cursus/module.h>

typedef struct opt_entry {
  char *key;
  char *value;
  const char *file;
  unsigned line;
} opt_entry;

typedef struct opt_section {
  char *kind; /* "SERVICE", "module", a group name; NULL for global */
  char *name; /* the section's name, or NULL */
  const char *file;
  unsigned line;
  GPtrArray *entries; /* of opt_entry* in file order */
} opt_section;

typedef struct optfile {
  char *path;
  GPtrArray *sections; /* of opt_section*; [0] is the global section */
} optfile;

/* optfile_read - read PATH; problems go to D.  NULL when unreadable. */
optfile *optfile_read(const char *path, diag *d);
/* optfile_parse - the same from TEXT, reporting against NAME */
optfile *optfile_parse(const char *name, const char *text, diag *d);
void optfile_free(optfile **of);

/* optfile_get - the last entry KEY in SECTION, or NULL */
const opt_entry *optfile_get(const opt_section *section, const char *key);
/* optfile_section - the first section of KIND (and NAME, unless NULL) */
opt_section *optfile_section(const optfile *of, const char *kind,
                             const char *name);

/* opt_parse_int - decimal or b%v notation; false when malformed */
bool opt_parse_int(const char *text, long long *value_r);
/* opt_parse_bool - yes/no, true/false, on/off, 1/0 */
bool opt_parse_bool(const char *text, bool *value_r);
/* opt_parse_duration - ISO 8601 duration (P1DT2H, PT5M) or plain seconds,
 * optionally with an s/m/h/d suffix */
bool opt_parse_duration(const char *text, long long *seconds_r);
/* opt_parse_size - bytes with an optional K, M or G suffix (powers of 1024) */
bool opt_parse_size(const char *text, long long *bytes_r);


/* An option an option file accepts. */
typedef struct opt_schema {
  const char *key;
  cursus_value_type type;
  unsigned where; /* OPT_GLOBAL and/or OPT_SECTION */
  long long min, max; /* integer range when min < max */
  const char *help;
} opt_schema;

#define OPT_GLOBAL 1u
#define OPT_SECTION 2u

/* optfile_check - every option of OF is in SCHEMA (ending with key NULL),
 * allowed where it is, and well typed; sections are of kind SECTION_KIND
 * (e.g. "SERVICE"), or one of the NULL-terminated SECTION_KINDS */
void optfile_check(const optfile *of, const opt_schema *schema,
                   const char *const *section_kinds, diag *d);
/* optfile_int - the integer value of KEY in SECTION, else in GLOBAL, else
 * DEF (durations and sizes converted) */
long long optfile_int(const opt_section *section, const opt_section *global,
                      const char *key, long long def);
/* optfile_str - the same for strings */
const char *optfile_str(const opt_section *section, const opt_section *global,
                        const char *key, const char *def);

#endif
