/*
 * pop3-parse.c - POP3 command lines
 */
#include "pop3-parse.h"

#include <string.h>

static bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool pop3_parse(const char *line, size_t len, pop3_command *cmd,
                const char **error_r) {
  memset(cmd, 0, sizeof(*cmd));
  size_t i = 0;
  while (i < len && is_alpha(line[i]) && i < 4) {
    char c = line[i];
    cmd->name[i] = (char)(c >= 'a' ? c - 'a' + 'A' : c);
    i++;
  }
  if (i < 3 || (i < len && line[i] != ' ')) {
    *error_r = "Unknown command";
    return false;
  }
  if (memchr(line, '\0', len) != NULL) {
    *error_r = "NUL in command";
    return false;
  }
  bool long_args = strcmp(cmd->name, "PASS") == 0 ||
                   strcmp(cmd->name, "AUTH") == 0;
  if (len > POP3_MAX_LINE && !long_args) {
    *error_r = "Command line too long";
    return false;
  }
  if (i == len)
    return true;
  i++; /* the space */
  cmd->rest = line + i;
  cmd->rest_len = len - i;
  while (i < len) {
    size_t start = i;
    while (i < len && line[i] != ' ')
      i++;
    size_t alen = i - start;
    if (alen == 0) {
      *error_r = "Empty argument";
      return false;
    }
    if (alen > POP3_MAX_ARG && !long_args) {
      *error_r = "Argument too long";
      return false;
    }
    if (cmd->nargs == POP3_MAX_ARGS) {
      if (strcmp(cmd->name, "PASS") == 0)
        return true; /* the password is the whole rest */
      *error_r = "Too many arguments";
      return false;
    }
    cmd->args[cmd->nargs] = line + start;
    cmd->arg_len[cmd->nargs] = alen;
    cmd->nargs++;
    if (i < len)
      i++;
    if (i == len && line[len - 1] == ' ' && strcmp(cmd->name, "PASS") != 0) {
      *error_r = "Trailing space";
      return false;
    }
  }
  return true;
}

bool pop3_parse_number(const char *arg, size_t len, uint32_t max,
                       uint32_t *n_r) {
  uint64_t n = 0;
  if (len == 0 || len > 10)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (arg[i] < '0' || arg[i] > '9')
      return false;
    n = n * 10 + (uint64_t)(arg[i] - '0');
  }
  if (n > max)
    return false;
  *n_r = (uint32_t)n;
  return true;
}
