/*
 * dotscan.h - the DATA content scanner (RFC 5321 4.5.2, 4.5.3.1.6)
 *
 * Bytes after DATA arrive in pieces of any size.  The scanner removes the
 * dot that stuffs a line starting with a dot, stops at "CRLF . CRLF" (and
 * only there), ends every line with CRLF, notes a bare LF (or takes it as
 * CRLF when allowed), and applies the long-line policy to lines of more
 * than 998 characters.  The content goes to WRITE in runs as long as the
 * input allows.  Pure code: no session, no I/O; a fuzz target drives it
 * (tests/fuzz/fuzz_dotscan.c).
 */
#ifndef CURSUS_SMTP_DOTSCAN_H
#define CURSUS_SMTP_DOTSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Longest text line allowed by RFC 5321 4.5.3.1.6, without CRLF. */
#define DOTSCAN_LINE_MAX 998

/* What to do with a longer line. */
enum { LONG_ACCEPT, LONG_REJECT, LONG_WRAP, LONG_TRUNCATE };

typedef struct dotscan {
  /* set before the first feed */
  int longlines;   /* LONG_* */
  bool bare_lf_ok; /* a bare LF is a line end (smtp_lf, smtp_crorlf) */
  void (*write)(void *ctx, const char *data, size_t len);
  void *ctx;
  /* what the content showed */
  bool bare_lf;   /* a bare LF was seen (and not allowed) */
  bool too_long;  /* a long line met LONG_REJECT: what follows is dropped */
  /* state */
  bool bol;       /* at the beginning of a line */
  bool after_cr;  /* the last piece ended with a CR, maybe half a CRLF */
  size_t line_len;
} dotscan;

/* dotscan_start - ready for a message's content */
void dotscan_start(dotscan *d);
/* dotscan_feed - scan DATA; returns how many bytes were taken.  Bytes
 * not taken must be offered again with what follows (at most two, when
 * the input ends in the middle of a line start that could be ".CRLF").
 * *END_R is set when ".CRLF" ended the content (the bytes after it are
 * not taken). */
size_t dotscan_feed(dotscan *d, const char *data, size_t len, bool *end_r);

#endif
