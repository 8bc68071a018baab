/*
 * dotscan.c - the DATA content scanner (see dotscan.h)
 */
#include "dotscan.h"

#include <string.h>

void dotscan_start(dotscan *d) {
  d->bare_lf = false;
  d->too_long = false;
  d->bol = true;
  d->after_cr = false;
  d->line_len = 0;
}

static void put(dotscan *d, const char *data, size_t len) {
  if (len > 0 && !d->too_long)
    d->write(d->ctx, data, len);
}

/* part - text of the current line, under the long-line policy */
static void part(dotscan *d, const char *data, size_t len) {
  while (len > 0) {
    if (d->line_len + len <= DOTSCAN_LINE_MAX || d->longlines == LONG_ACCEPT) {
      put(d, data, len);
      d->line_len += len;
      return;
    }
    size_t room =
        d->line_len < DOTSCAN_LINE_MAX ? DOTSCAN_LINE_MAX - d->line_len : 0;
    put(d, data, room);
    d->line_len += room;
    data += room;
    len -= room;
    switch (d->longlines) {
    case LONG_WRAP:
      put(d, "\r\n ", 3);
      d->line_len = 1;
      break;
    case LONG_REJECT:
      d->too_long = true;
      return;
    default: /* LONG_TRUNCATE: the rest of the line is dropped */
      return;
    }
  }
}

/* line - a piece of a line (ENDS: with its LF, the last byte) */
static void line(dotscan *d, const char *p, size_t n, bool ends) {
  if (!ends) {
    /* a CR at the end may be half of the CRLF that comes next */
    bool cr_last = n > 0 && p[n - 1] == '\r';
    if (d->after_cr)
      part(d, "\r", 1);
    part(d, p, cr_last ? n - 1 : n);
    d->after_cr = cr_last;
    return;
  }
  bool crlf = n >= 2 ? p[n - 2] == '\r' : d->after_cr;
  size_t text = n - 1 - (crlf && n >= 2 ? 1 : 0);
  if (d->after_cr && !(crlf && n == 1))
    part(d, "\r", 1);
  d->after_cr = false;
  part(d, p, text);
  if (!crlf && !d->bare_lf_ok)
    d->bare_lf = true;
  put(d, "\r\n", 2);
  d->line_len = 0;
}

size_t dotscan_feed(dotscan *d, const char *data, size_t len, bool *end_r) {
  *end_r = false;
  size_t pos = 0;
  while (pos < len) {
    /* most lines are plain: CRLF-ended, short enough, no leading dot;
     * a run of them is written in one piece */
    size_t run = pos;
    while (d->bol && run < len && data[run] != '.') {
      const char *end = memchr(data + run, '\n', len - run);
      size_t n = end != NULL ? (size_t)(end - (data + run)) + 1 : 0;
      if (n < 2 || data[run + n - 2] != '\r' || n - 2 > DOTSCAN_LINE_MAX)
        break;
      run += n;
    }
    if (run > pos) {
      put(d, data + pos, run - pos);
      pos = run;
      continue;
    }
    if (d->bol) {
      if (data[pos] == '.') {
        if (len - pos < 3)
          return pos; /* ".CRLF" or a stuffed dot: decide with more input */
        if (data[pos + 1] == '\r' && data[pos + 2] == '\n') {
          *end_r = true;
          return pos + 3;
        }
        pos++; /* a stuffed dot goes */
      }
      d->bol = false;
    }
    const char *nl = memchr(data + pos, '\n', len - pos);
    if (nl == NULL) {
      line(d, data + pos, len - pos, false);
      return len;
    }
    size_t n = (size_t)(nl - (data + pos)) + 1;
    line(d, data + pos, n, true);
    pos += n;
    d->bol = true;
  }
  return pos;
}
