/*
 * fuzz_pop3.c - the POP3 command parser on an arbitrary byte stream split
 * into lines as the connection layer does, with the number arguments of
 * every command parsed as the server parses them
 */
#include "build-config.h"
#include "../../modules/common/login.h"
#include "../../modules/proto_pop3/pop3-parse.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
    if (len > 0 && p[len - 1] == '\r')
      len--;
    if (len > 8192)
      len = 8192;
    pop3_command cmd;
    const char *error;
    if (pop3_parse(p, len, &cmd, &error)) {
      for (unsigned i = 0; i < cmd.nargs; i++) {
        uint32_t n;
        (void)pop3_parse_number(cmd.args[i], cmd.arg_len[i], UINT32_MAX, &n);
      }
      if (strcmp(cmd.name, "AUTH") == 0 && cmd.nargs == 2) {
        size_t out;
        g_free(login_decode_b64(cmd.args[1], cmd.arg_len[1], &out));
      }
    } else {
      /* a SASL response line in the middle of AUTH */
      size_t out;
      g_free(login_decode_b64(p, len, &out));
    }
    if (nl == NULL)
      break;
    p = nl + 1;
  }
  return 0;
}
