/*
 * fuzz_mime.c - the store's MIME indexing (modules/store_cursus/mime.c)
 * on arbitrary messages: the tree with its byte ranges, ENVELOPE,
 * BODYSTRUCTURE, and the cache record written and read back
 *
 * Checks what must hold for any input: every part's ranges lie inside the
 * message, the IMAP strings hold no NUL, and the cache record reads back
 * to the same thing.
 */
#include "build-config.h"
#include "mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    sc_mime_init();
    ready = true;
  }
  sc_msginfo *info = sc_mime_parse((const char *)data, size);
  for (guint i = 0; i < info->parts->len; i++) {
    const sc_part *p = info->parts->pdata[i];
    if (p->mime_off + p->mime_len > size || p->body_off + p->body_len > size ||
        p->hdr_off + p->hdr_len > size || p->text_off + p->text_len > size)
      abort();
  }
  if (memchr(info->envelope->str, '\0', info->envelope->len) != NULL ||
      memchr(info->bodystructure->str, '\0', info->bodystructure->len) != NULL)
    abort();
  sc_wbuf *b = g_byte_array_new();
  sc_msginfo_encode(info, 7, b);
  uint32_t uid = 0;
  sc_msginfo *back = sc_msginfo_decode(b->data, b->len, &uid);
  if (back == NULL || uid != 7 || back->parts->len != info->parts->len ||
      !g_string_equal(back->bodystructure, info->bodystructure))
    abort();
  sc_msginfo_free(&back);
  g_byte_array_free(b, TRUE);
  sc_msginfo_free(&info);
  return 0;
}
