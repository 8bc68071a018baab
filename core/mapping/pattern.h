/*
 * pattern.h - patterns of mapping-table entries
 *
 * Matching is case-insensitive (ASCII).  Wildcards: `*` zero or more
 * characters (greedy), `%` exactly one; `$_` makes the next wildcard lazy,
 * `$@` keeps it from being saved, `$^` saves it again (default); `$n*`
 * matches what the n-th saved wildcard matched; globs `$A% $A*` (letters),
 * `$B` binary, `$D` decimal, `$H`/`$X` hex, `$O` octal, `$S` symbol
 * (letters, digits, '_', '$'), `$T` blanks, `$[abc]` / `$[a-z]` a set;
 * `$(192.0.2.0/24)` / `$(2001:db8::/32)` an IP address in a subnet
 * (saved like a wildcard).  `$*`, `$%`, `$$`, `$ ` and `$|` stand for the
 * character itself.  Saved wildcards are numbered $0, $1 ... left to
 * right for the template.
 *
 * A match costs at most PATTERN_MAX_STEPS steps; a pathological pattern
 * on a long input fails instead of running away.
 */
#ifndef CURSUS_PATTERN_H
#define CURSUS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#define PATTERN_MAX_CAPTURES 10
#define PATTERN_MAX_STEPS 200000
/* Longest string a pattern is matched against. */
#define PATTERN_MAX_INPUT 4096

typedef struct mpattern mpattern;

typedef struct pmatch {
  unsigned n;                        /* saved wildcards */
  size_t start[PATTERN_MAX_CAPTURES];
  size_t len[PATTERN_MAX_CAPTURES];
  bool exhausted;                    /* the step budget ran out */
} pmatch;

/* pattern_compile - compile TEXT; NULL with *error_r (allocated) when it
 * is malformed */
mpattern *pattern_compile(const char *text, char **error_r);
void pattern_free(mpattern **p);
/* pattern_is_literal - the pattern has no wildcard: it matches only the
 * string pattern_literal() returns (lower case) */
bool pattern_is_literal(const mpattern *p);
const char *pattern_literal(const mpattern *p);
/* pattern_match - does P match all of INPUT?  Captures go to M. */
bool pattern_match(const mpattern *p, const char *input, size_t len,
                   pmatch *m);
/* pattern_fold - lower-case copy of TEXT for exact-key lookups */
char *pattern_fold(const char *text, size_t len);

#endif
