/*
 * diag.h - collected diagnostics, each "file:line: message"
 *
 * Configuration readers report every problem they find instead of stopping
 * at the first, so `cursus config check` can list them all.
 */
#ifndef CURSUS_DIAG_H
#define CURSUS_DIAG_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>
#include <cursus/common.h>

typedef struct diag_line {
  char *text;
  bool warning;
} diag_line;

typedef struct diag {
  GPtrArray *lines; /* of diag_line*, in the order found */
  unsigned errors;
  unsigned warnings;
} diag;

diag *diag_new(void);
void diag_free(diag **d);
/* diag_error - record an error at FILE:LINE (LINE 0: the whole file) */
void diag_error(diag *d, const char *file, unsigned line, const char *fmt, ...)
    CURSUS_PRINTF(4, 5);
void diag_warning(diag *d, const char *file, unsigned line, const char *fmt,
                  ...) CURSUS_PRINTF(4, 5);
/* diag_has_errors - true when at least one error was recorded */
bool diag_has_errors(const diag *d);
/* diag_print - write all lines to F */
void diag_print(const diag *d, FILE *f);
/* diag_log - send all lines to the log (errors as errors) */
void diag_log(const diag *d);
/* diag_first_error - the first error line, or NULL */
const char *diag_first_error(const diag *d);

#endif
