/*
 * imap-subject.c - base subjects (RFC 5256 section 2.1) and the
 * i;ascii-casemap comparison, for SORT and THREAD
 *
 * Needs only GLib, so the unit tests run it directly.
 */
#include "imap-sort.h"

#include <string.h>

/* skip_blob - length of a subj-blob "[...]" *WSP at P, or 0 */
static size_t blob_len(const char *p) {
  if (*p != '[')
    return 0;
  const char *q = p + 1;
  while (*q != '\0' && *q != '[' && *q != ']')
    q++;
  if (*q != ']')
    return 0;
  q++;
  while (*q == ' ')
    q++;
  return (size_t)(q - p);
}

/* refwd_len - length of *subj-blob subj-refwd at P, or 0 */
static size_t leader_len(const char *p) {
  const char *q = p;
  size_t b;
  while ((b = blob_len(q)) > 0)
    q += b;
  if (g_ascii_strncasecmp(q, "re", 2) == 0)
    q += 2;
  else if (g_ascii_strncasecmp(q, "fwd", 3) == 0)
    q += 3;
  else if (g_ascii_strncasecmp(q, "fw", 2) == 0)
    q += 2;
  else
    return 0;
  while (*q == ' ')
    q++;
  q += blob_len(q);
  if (*q != ':')
    return 0;
  return (size_t)(q + 1 - p);
}

char *imap_base_subject(const char *subject, bool *reply_r) {
  GString *s = g_string_new(NULL);
  *reply_r = false;
  /* (1) white space folded to single spaces */
  for (const char *p = subject != NULL ? subject : ""; *p; p++) {
    char c = (*p == '\t' || *p == '\r' || *p == '\n') ? ' ' : *p;
    if (c == ' ' && s->len > 0 && s->str[s->len - 1] == ' ')
      continue;
    g_string_append_c(s, c);
  }
  for (;;) {
    /* (2) trailers: "(fwd)" and white space */
    for (bool again = true; again;) {
      again = false;
      if (s->len > 0 && s->str[s->len - 1] == ' ') {
        g_string_truncate(s, s->len - 1);
        again = true;
      } else if (s->len >= 5 &&
                 g_ascii_strcasecmp(s->str + s->len - 5, "(fwd)") == 0) {
        g_string_truncate(s, s->len - 5);
        *reply_r = true;
        again = true;
      }
    }
    /* (3)-(5) leaders and blobs */
    for (bool again = true; again;) {
      again = false;
      size_t n;
      if (s->len > 0 && s->str[0] == ' ') {
        g_string_erase(s, 0, 1);
        again = true;
      } else if ((n = leader_len(s->str)) > 0) {
        g_string_erase(s, 0, (gssize)n);
        *reply_r = true;
        again = true;
      } else if ((n = blob_len(s->str)) > 0 && s->str[n] != '\0') {
        g_string_erase(s, 0, (gssize)n);
        again = true;
      }
    }
    /* (6) "[fwd: ... ]" */
    if (s->len >= 6 && g_ascii_strncasecmp(s->str, "[fwd:", 5) == 0 &&
        s->str[s->len - 1] == ']') {
      g_string_truncate(s, s->len - 1);
      g_string_erase(s, 0, 5);
      *reply_r = true;
      continue;
    }
    break;
  }
  return g_string_free(s, FALSE);
}

int imap_casemap_cmp(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)(a != NULL ? a : "");
  const unsigned char *y = (const unsigned char *)(b != NULL ? b : "");
  for (;; x++, y++) {
    int cx = g_ascii_toupper(*x), cy = g_ascii_toupper(*y);
    if (cx != cy)
      return cx < cy ? -1 : 1;
    if (cx == 0)
      return 0;
  }
}

