/*
 * diag.c - collected diagnostics
 */
#include "build-config.h"
#include "diag.h"
#include "log.h"

#include <stdio.h>

static void line_free(void *p) {
  diag_line *l = p;
  g_free(l->text);
  g_free(l);
}

diag *diag_new(void) {
  diag *d = g_new0(diag, 1);
  d->lines = g_ptr_array_new_with_free_func(line_free);
  return d;
}

void diag_free(diag **dp) {
  if (*dp == NULL)
    return;
  g_ptr_array_free((*dp)->lines, TRUE);
  g_free(*dp);
  *dp = NULL;
}

static void diag_add(diag *d, bool warning, const char *file, unsigned line,
                     const char *fmt, va_list args) {
  const char *kind = warning ? "warning: " : "";
  char *msg = g_strdup_vprintf(fmt, args);
  char *text;
  if (file == NULL)
    text = g_strdup_printf("%s%s", kind, msg);
  else if (line > 0)
    text = g_strdup_printf("%s:%u: %s%s", file, line, kind, msg);
  else
    text = g_strdup_printf("%s: %s%s", file, kind, msg);
  g_free(msg);
  diag_line *l = g_new0(diag_line, 1);
  l->text = text;
  l->warning = warning;
  g_ptr_array_add(d->lines, l);
}

void diag_error(diag *d, const char *file, unsigned line, const char *fmt,
                ...) {
  va_list args;
  va_start(args, fmt);
  diag_add(d, false, file, line, fmt, args);
  va_end(args);
  d->errors++;
}

void diag_warning(diag *d, const char *file, unsigned line, const char *fmt,
                  ...) {
  va_list args;
  va_start(args, fmt);
  diag_add(d, true, file, line, fmt, args);
  va_end(args);
  d->warnings++;
}

bool diag_has_errors(const diag *d) { return d->errors > 0; }

void diag_print(const diag *d, FILE *f) {
  for (guint i = 0; i < d->lines->len; i++)
    fprintf(f, "%s\n", ((const diag_line *)d->lines->pdata[i])->text);
}

void diag_log(const diag *d) {
  for (guint i = 0; i < d->lines->len; i++) {
    const diag_line *l = d->lines->pdata[i];
    log_msg(l->warning ? CURSUS_LOG_WARNING : CURSUS_LOG_ERROR, "%s",
            l->text);
  }
}

const char *diag_first_error(const diag *d) {
  for (guint i = 0; i < d->lines->len; i++) {
    const diag_line *l = d->lines->pdata[i];
    if (!l->warning)
      return l->text;
  }
  return NULL;
}
