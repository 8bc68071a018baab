/*
 * fuzz_storeindex.c - the readers of the store's on-disk records
 * (modules/store_cursus): a folder log (header and records), the index's
 * message records, folder header and UID sets, and cache records, on
 * arbitrary bytes.  Nothing may read past its buffer or crash.
 */
#include "build-config.h"
#include "folder.h"
#include "mime.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* folder.c frees folders through the watch registry; no watches here */
void sc_watch_folder_gone(struct sc_folder *f);
void sc_watch_folder_gone(struct sc_folder *f) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t gen;
  size_t off = 0;
  if (sc_log_parse_header(data, size, &gen))
    off = SC_LOG_HEADER_BYTES;
  uint8_t type;
  const uint8_t *payload;
  size_t plen;
  unsigned records = 0;
  while (records < 100000 &&
         sc_log_next_record(data, size, &off, &type, &payload, &plen)) {
    sc_rec r;
    (void)sc_rec_unpack(payload, plen, &r);
    uint32_t uid;
    sc_msginfo *info = sc_msginfo_decode(payload, plen, &uid);
    sc_msginfo_free(&info);
    records++;
  }
  /* the same bytes as other records */
  for (size_t at = 0; at + SC_REC_BYTES <= size && at < 64 * SC_REC_BYTES;
       at += SC_REC_BYTES) {
    sc_rec r;
    (void)sc_rec_unpack(data + at, SC_REC_BYTES, &r);
  }
  (void)sc_index_header_valid(data, size);
  uint32_t uid;
  sc_msginfo *info = sc_msginfo_decode(data, size, &uid);
  sc_msginfo_free(&info);
  char *text = g_strndup((const char *)data, MIN(size, (size_t)4096));
  GArray *set = sc_uidset_parse(text);
  if (set != NULL) {
    char *again = sc_uidset_format(set);
    GArray *set2 = sc_uidset_parse(again);
    if (set2 == NULL || set2->len != set->len)
      __builtin_trap();
    g_array_free(set2, TRUE);
    g_free(again);
    g_array_free(set, TRUE);
  }
  g_free(text);
  return 0;
}
