/*
 * jobproto.c - result packets between channel jobs and the job controller
 */
#include "build-config.h"
#include "jobproto.h"

#include <glib.h>
#include <string.h>

size_t jobproto_format_result(const jobproto_result *r,
                              char out[JOBPROTO_MAX]) {
  int n;
  if (r->outcome == JOB_DEFERRED || r->outcome == JOB_WAITING)
    n = g_snprintf(out, JOBPROTO_MAX, "R %s %c %" G_GINT64_FORMAT, r->path,
                   (char)r->outcome, r->next_retry);
  else if (r->outcome == JOB_ERROR)
    n = g_snprintf(out, JOBPROTO_MAX, "R %s E %s", r->path, r->text);
  else
    n = g_snprintf(out, JOBPROTO_MAX, "R %s %c", r->path, (char)r->outcome);
  return (size_t)MIN(n, JOBPROTO_MAX - 1);
}

bool jobproto_parse_result(const char *buf, size_t len, jobproto_result *r) {
  char line[JOBPROTO_MAX];
  if (len < 5 || len >= sizeof(line) || buf[0] != 'R' || buf[1] != ' ')
    return false;
  memcpy(line, buf, len);
  line[len] = '\0';
  char *path = line + 2, *sp = strchr(path, ' ');
  if (sp == NULL || sp == path || (size_t)(sp - path) >= sizeof(r->path))
    return false;
  *sp = '\0';
  memset(r, 0, sizeof(*r));
  g_strlcpy(r->path, path, sizeof(r->path));
  const char *rest = sp + 1;
  switch (rest[0]) {
  case 'D':
  case 'H':
    r->outcome = (jobproto_outcome)rest[0];
    return rest[1] == '\0';
  case 'Q':
  case 'W':
    r->outcome = (jobproto_outcome)rest[0];
    if (rest[1] != ' ' || rest[2] == '\0' ||
        strspn(rest + 2, "0123456789") != strlen(rest + 2) ||
        strlen(rest + 2) > 18)
      return false;
    r->next_retry = g_ascii_strtoll(rest + 2, NULL, 10);
    return true;
  case 'E':
    r->outcome = JOB_ERROR;
    g_strlcpy(r->text, rest[1] == ' ' ? rest + 2 : "", sizeof(r->text));
    return true;
  default:
    return false;
  }
}
