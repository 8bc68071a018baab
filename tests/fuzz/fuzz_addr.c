/*
 * fuzz_addr.c - the address parser, the SMTP path parser and the header
 * address-list walker on arbitrary octets; a formatted address must parse
 * again to the same text
 */
#include "build-config.h"
#include "addr/addr.h"
#include "addr/addrlist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *keep_spec(void *data, const char *spec) { return NULL; }

static char *upper_spec(void *data, const char *spec) {
  return g_ascii_strup(spec, -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const unsigned flags[] = {
      0, ADDR_SMTP, ADDR_SMTP | ADDR_UTF8, ADDR_ROUTE | ADDR_BARE | ADDR_UTF8,
      ADDR_SMTP | ADDR_ROUTE};
  for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
    addr *a = NULL;
    char *error = NULL;
    if (addr_parse((const char *)data, (gssize)size, flags[i], &a, &error) ==
        CURSUS_OK) {
      char *text = addr_format(a);
      addr *b = NULL;
      char *e2 = NULL;
      /* what we write we read back (without the SMTP length limits a
       * quoted form may exceed) */
      if (addr_parse(text, -1, ADDR_ROUTE | ADDR_BARE | ADDR_UTF8, &b, &e2) !=
          CURSUS_OK)
        abort();
      char *again = addr_format(b);
      if (strcmp(text, again) != 0)
        abort();
      g_free(again);
      addr_free(&b);
      g_free(text);
      addr_free(&a);
    } else if (error == NULL) {
      abort();
    }
    g_free(error);
  }
  char *s = g_strndup((const char *)data, size);
  addr_path p;
  char *error = NULL;
  if (addr_parse_path(s, ADDR_NULL_OK | ADDR_POSTMASTER | ADDR_UTF8, &p,
                      &error) == CURSUS_OK)
    addr_free(&p.address);
  else
    g_free(error);
  char *out = NULL;
  error = NULL;
  /* keeping every address keeps the value octet for octet */
  if (addrlist_map(s, keep_spec, NULL, &out, &error) == CURSUS_OK) {
    if (strcmp(out, s) != 0)
      abort();
    g_free(out);
  } else {
    g_free(error);
  }
  out = error = NULL;
  if (addrlist_map(s, upper_spec, NULL, &out, &error) == CURSUS_OK)
    g_free(out);
  else
    g_free(error);
  GPtrArray *specs = addrlist_specs(s);
  if (specs != NULL)
    g_ptr_array_free(specs, TRUE);
  g_free(s);
  return 0;
}
