/*
 * pop3-parse.h - POP3 command lines (RFC 1939, RFC 2449, RFC 5034)
 *
 * Offers the split of one command line into a keyword and arguments, with
 * the limits of RFC 2449 (keywords of 3 or 4 letters, arguments of at most
 * 40 octets, lines of at most 255 octets) except where a command needs
 * more: PASS takes the rest of the line as the password (which may hold
 * spaces), AUTH's initial response may be long.  Needs nothing but libc.
 */
#ifndef POP3_PARSE_H
#define POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_MAX_LINE 255
#define POP3_MAX_ARG 40
#define POP3_MAX_ARGS 2

typedef struct pop3_command {
  char name[5];                 /* upper case, NUL-terminated */
  const char *args[POP3_MAX_ARGS];
  size_t arg_len[POP3_MAX_ARGS];
  unsigned nargs;
  const char *rest;             /* everything after "NAME " (PASS) */
  size_t rest_len;
} pop3_command;

/* pop3_parse - split LINE; false with *error_r for a malformed line */
bool pop3_parse(const char *line, size_t len, pop3_command *cmd,
                const char **error_r);

/* pop3_parse_number - a message number or line count: decimal digits
 * only, at most 10, value up to MAX; false otherwise */
bool pop3_parse_number(const char *arg, size_t len, uint32_t max,
                       uint32_t *n_r);

#endif
