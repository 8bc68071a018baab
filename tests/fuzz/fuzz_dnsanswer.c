/*
 * fuzz_dnsanswer.c - DNS answers as a server could send them, read into
 * records (core/util/dns): the first byte picks the record type asked
 * for, the rest is the message
 */
#include "build-config.h"
#include "util/dns.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const dns_type types[] = {CURSUS_DNS_A, CURSUS_DNS_AAAA,
                                   CURSUS_DNS_MX, CURSUS_DNS_TXT};
  if (size < 1 || size > 65536)
    return 0;
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  dns_parse_answer(types[data[0] % 4], data + 1, (int)(size - 1), out);
  for (guint i = 0; i < out->len; i++)
    g_assert(out->pdata[i] != NULL);
  g_ptr_array_free(out, TRUE);
  return 0;
}
