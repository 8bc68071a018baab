/*
 * fuzz_milter.c - the milter reply reader (modules/filter_milter/mproto.c)
 * on arbitrary bytes from a "milter"
 *
 * Replies are taken one after another as the client reads them; each
 * accepted reply's strings lie within the packet and reply codes parse
 * to 4xx/5xx.  A malformed reply ends the input, as it ends the
 * conversation with a real milter.
 */
#include "build-config.h"
#include "../../modules/filter_milter/mproto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  GString *scratch = g_string_new(NULL);
  const char *buf = (const char *)data;
  size_t off = 0;
  while (off < size) {
    size_t used = 0, need = 0;
    const char *why = NULL;
    mreply r;
    int rc = mproto_read(buf + off, size - off, &used, &need, &r, scratch,
                         &why);
    if (rc != MPROTO_OK) {
      if (rc == MPROTO_MORE && need <= size - off)
        abort(); /* claims to need bytes it has */
      break;
    }
    if (used < 5 || used > size - off)
      abort();
    if (r.code == SMFIR_REPLYCODE) {
      unsigned code;
      char status[16];
      const char *text;
      if (mproto_parse_reply(r.value, &code, status, sizeof(status), &text) &&
          (code < 400 || code > 599 || strlen(status) >= sizeof(status)))
        abort();
    }
    if (r.value != NULL && strlen(r.value) >= scratch->len + 1)
      abort();
    off += used;
  }
  /* the same bytes as a milter address */
  char *spec = g_strndup(buf, MIN(size, 512));
  char family;
  char *host = NULL, *path = NULL;
  unsigned port;
  const char *why;
  if (mproto_parse_address(spec, &family, &host, &port, &path, &why) &&
      family != 'L' && (port == 0 || port > 65535))
    abort();
  g_free(host);
  g_free(path);
  g_free(spec);
  g_string_free(scratch, TRUE);
  return 0;
}
