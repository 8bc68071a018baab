/*
 * hdrfield.c - read one header field of a queued message
 */
#include "build-config.h"
#include "hdrfield.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <gmime/gmime.h>

/* header_text - the header (up to the empty line or the limit) */
static int header_text(const qmsg *q, GString **out_r) {
  uint64_t left = q->env->size;
  size_t want = (size_t)MIN(left, (uint64_t)HDRFIELD_HEADER_MAX);
  GString *h = g_string_sized_new(want + 1);
  g_string_set_size(h, want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(q->fd, h->str + got, want - got,
                      (off_t)(q->content_offset + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_string_free(h, TRUE);
      return CURSUS_TEMPFAIL;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  g_string_set_size(h, got);
  *out_r = h;
  return CURSUS_OK;
}

int hdrfield_get(const qmsg *q, const char *name, char **value_r) {
  GString *h = NULL;
  if (header_text(q, &h) != CURSUS_OK)
    return CURSUS_TEMPFAIL;
  size_t nlen = strlen(name);
  int rc = CURSUS_NONE;
  const char *p = h->str, *end = h->str + h->len;
  while (p < end && *p != '\r' && *p != '\n') {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol != NULL ? eol + 1 : end;
    if ((size_t)(end - p) > nlen && p[nlen] == ':' &&
        g_ascii_strncasecmp(p, name, nlen) == 0) {
      /* the field and its continuation lines, unfolded */
      GString *v = g_string_new(NULL);
      const char *s = p + nlen + 1;
      for (;;) {
        const char *e = eol != NULL ? eol : end;
        g_string_append_len(v, s, e - s);
        if (next >= end || (*next != ' ' && *next != '\t'))
          break;
        s = next;
        eol = memchr(s, '\n', (size_t)(end - s));
        next = eol != NULL ? eol + 1 : end;
      }
      g_strdelimit(v->str, "\r\n\t", ' ');
      *value_r = g_strstrip(g_string_free(v, FALSE));
      rc = CURSUS_OK;
      break;
    }
    p = next;
  }
  g_string_free(h, TRUE);
  return rc;
}

static gsize gmime_ready;

bool hdrfield_date(const char *value, int64_t *t_r) {
  if (g_once_init_enter(&gmime_ready)) {
    g_mime_init();
    g_once_init_leave(&gmime_ready, 1);
  }
  GDateTime *dt = g_mime_utils_header_decode_date(value);
  if (dt == NULL)
    return false;
  *t_r = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return true;
}
