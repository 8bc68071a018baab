/*
 * imap-reader.h - assembles IMAP commands from input lines and literals
 *
 * The host hands the session complete lines (CRLF removed) and, after a
 * switch to bytes mode, raw octets.  The reader keeps the command in wire
 * form (lines, CRLF after each literal marker, literal octets) for the
 * parser, enforces the line, literal and command size limits, and tells
 * the session when a literal begins so that it can send the continuation
 * "+" (synchronising literals), refuse it, or stream it elsewhere (APPEND).
 * An over-limit non-synchronising literal is read and thrown away so the
 * connection stays in step; the command then fails as a whole.
 * Knows nothing of the connection.  Needs GLib.
 */
#ifndef IMAP_READER_H
#define IMAP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef enum imap_reader_result {
  IMAP_READER_MORE = 0,    /* nothing to do yet                           */
  IMAP_READER_COMMAND = 1, /* a complete command is in reader->cmd        */
  IMAP_READER_LITERAL = 2, /* the line ended in a literal marker: see
                              lit_*; call imap_reader_accept_literal or
                              let another part take the literal           */
  IMAP_READER_ERROR = 3,   /* the command failed: reply with
                              reader->error (and tag, if known), then
                              imap_reader_reset                           */
  IMAP_READER_LITERAL_DONE = 4, /* the literal's octets are all in: go
                                   back to line input                     */
} imap_reader_result;

typedef struct imap_reader {
  GString *cmd;          /* the command so far, NULL between commands   */
  uint64_t lit_size;     /* the literal announced by the last line       */
  bool lit_sync;         /* it waits for "+"                             */
  bool lit_binary;       /* "~{n}" (literal8)                            */
  uint64_t lit_left;     /* octets of the literal still to come          */
  bool discarding;       /* throwing the literal's octets away           */
  const char *error;     /* why the command fails, once it does          */
  bool toobig;           /* the error is a size limit ([TOOBIG])         */
  size_t max_literal;    /* limits (0 = none)                            */
  size_t max_command;
} imap_reader;

/* imap_reader_line - one input line; FLAGS are enum cursus_line_flag */
imap_reader_result imap_reader_line(imap_reader *r, const char *line,
                                    size_t len, unsigned flags);
/* imap_reader_accept_literal - after IMAP_READER_LITERAL: MORE (send "+"
 * when lit_sync and not discarding, then feed octets) or ERROR (refused:
 * a synchronising literal over the limit) */
imap_reader_result imap_reader_accept_literal(imap_reader *r);
/* imap_reader_bytes - literal octets; returns how many it took and sets
 * *res_r to MORE or LITERAL_DONE */
size_t imap_reader_bytes(imap_reader *r, const char *data, size_t len,
                         imap_reader_result *res_r);
/* imap_reader_tag - the tag of the command being read, or NULL (a copy
 * the caller frees) */
char *imap_reader_tag(const imap_reader *r);
/* imap_reader_take - the completed command (the caller frees it) */
GString *imap_reader_take(imap_reader *r);
/* imap_reader_reset - forget the command being read */
void imap_reader_reset(imap_reader *r);

#endif
