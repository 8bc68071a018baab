/*
 * imap-reader.c - assembles IMAP commands from input lines and literals
 */
#include "imap-reader.h"
#include "imap-parser.h"

#include <string.h>
#include <cursus/protocol.h>

/* fail - the command fails with ERROR (the first reason is kept) */
static void fail(imap_reader *r, const char *error, bool toobig) {
  if (r->error == NULL) {
    r->error = error;
    r->toobig = toobig;
  }
}

imap_reader_result imap_reader_line(imap_reader *r, const char *line,
                                    size_t len, unsigned flags) {
  if (r->cmd == NULL)
    r->cmd = g_string_sized_new(MIN(len + 2, 256));
  if (flags & CURSUS_LINE_TOO_LONG) {
    /* the rest of the line is lost, and with it any literal marker: end
     * the command here */
    if (r->cmd->len == 0)
      g_string_append_len(r->cmd, line, (gssize)MIN(len, 64));
    fail(r, "command line too long", true);
    return IMAP_READER_ERROR;
  }
  if (r->error == NULL && r->max_command > 0 &&
      r->cmd->len + len > r->max_command)
    fail(r, "command too long", true);
  if (r->error == NULL || r->cmd->len == 0)
    g_string_append_len(r->cmd, line, (gssize)len);

  uint64_t size;
  bool sync, binary;
  size_t marker_len;
  if (!imap_literal_marker(line, len, &size, &sync, &binary, &marker_len))
    return r->error != NULL ? IMAP_READER_ERROR : IMAP_READER_COMMAND;
  r->lit_size = size;
  r->lit_sync = sync;
  r->lit_binary = binary;
  if (r->error != NULL && sync)
    return IMAP_READER_ERROR; /* the client waits: answer now */
  return IMAP_READER_LITERAL;
}

imap_reader_result imap_reader_accept_literal(imap_reader *r) {
  r->lit_left = r->lit_size;
  r->discarding = r->error != NULL;
  if (!r->discarding) {
    bool too_big = (r->max_literal > 0 && r->lit_size > r->max_literal) ||
                   (r->max_command > 0 &&
                    r->lit_size > r->max_command - MIN(r->cmd->len,
                                                       r->max_command));
    if (too_big) {
      fail(r, "literal too large", true);
      if (r->lit_sync)
        return IMAP_READER_ERROR;
      r->discarding = true;
    }
  }
  if (!r->discarding)
    g_string_append(r->cmd, "\r\n");
  return IMAP_READER_MORE;
}

size_t imap_reader_bytes(imap_reader *r, const char *data, size_t len,
                         imap_reader_result *res_r) {
  size_t take = (size_t)MIN((uint64_t)len, r->lit_left);
  if (!r->discarding)
    g_string_append_len(r->cmd, data, (gssize)take);
  r->lit_left -= take;
  *res_r = r->lit_left == 0 ? IMAP_READER_LITERAL_DONE : IMAP_READER_MORE;
  return take;
}

char *imap_reader_tag(const imap_reader *r) {
  if (r->cmd == NULL)
    return NULL;
  imap_parser ip;
  const char *tag;
  char *copy = NULL;
  imap_parser_init(&ip, r->cmd->str, r->cmd->len);
  if (imap_parse_tag(&ip, &tag) &&
      (imap_parse_at_end(&ip) || imap_parse_peek(&ip, ' ')))
    copy = g_strdup(tag);
  imap_parser_clear(&ip);
  return copy;
}

GString *imap_reader_take(imap_reader *r) {
  GString *cmd = r->cmd;
  r->cmd = NULL;
  imap_reader_reset(r);
  return cmd;
}

void imap_reader_reset(imap_reader *r) {
  if (r->cmd != NULL) {
    g_string_free(r->cmd, TRUE);
    r->cmd = NULL;
  }
  r->lit_size = r->lit_left = 0;
  r->lit_sync = r->lit_binary = r->discarding = false;
  r->error = NULL;
  r->toobig = false;
}
