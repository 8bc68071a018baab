/*
 * srcfile.h - logical lines of the classic configuration files
 *
 * imta.cnf, the mappings file and the aliases file share a line syntax:
 * a `!` in column 1 starts a comment line, a trailing `\` continues a line,
 * and a line `<file` includes another file at that point.  Blank lines are
 * kept (they separate sections and blocks).  Every logical line remembers
 * the file and line it came from, for `file:line:` diagnostics.
 */
#ifndef CURSUS_SRCFILE_H
#define CURSUS_SRCFILE_H

#include <stdbool.h>
#include "util/diag.h"

/* Longest logical line accepted. */
#define SRCFILE_MAX_LINE (64 * 1024)
/* Include nesting accepted (the including file is level 0). */
#define SRCFILE_MAX_DEPTH 8

typedef struct srcline {
  char *text;       /* the logical line, continuations joined */
  const char *file; /* file it came from (interned) */
  unsigned line;    /* number of its first physical line */
  bool blank;       /* empty or only white space */
} srcline;

typedef struct srcfile {
  GPtrArray *lines; /* of srcline* */
  GStringChunk *names;
} srcfile;

/* srcfile_read - read PATH and its includes.  Relative include paths and
 * the classic "IMTA_TABLE:" prefix resolve against BASE_DIR.  Problems go
 * to D; returns NULL only when PATH itself cannot be read. */
srcfile *srcfile_read(const char *path, const char *base_dir, diag *d);
void srcfile_free(srcfile **sf);

/* srcfile_split - split TEXT into whitespace-separated tokens; "..."
 * quotes a token with spaces (quotes removed).  Returns a NULL-terminated
 * vector (g_strfreev); *error_r on an unterminated quote. */
char **srcfile_split(const char *text, const char **error_r);

#endif
