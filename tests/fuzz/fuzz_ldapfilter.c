/*
 * fuzz_ldapfilter.c - dir_ldif's LDAP filter parser (memberURL and
 * search filters) on arbitrary text, matched against an entry
 */
#include "direntry/direntry.h"
#include "filter.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cursus_entry *sample;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sample == NULL) {
    direntry_builder *b = direntry_builder_new("uid=joe,o=x");
    direntry_builder_add(b, "objectClass", "inetMailUser");
    direntry_builder_add(b, "uid", "joe");
    direntry_builder_add(b, "mail", "joe@example.com");
    direntry_builder_add(b, "mailQuota", "1000");
    direntry_builder_add(b, "cn", "Jöe (x*)");
    sample = direntry_builder_finish(&b);
  }
  char *text = g_strndup((const char *)data, size);
  char *error = NULL;
  filter *f = filter_parse(text, &error);
  if (f != NULL)
    (void)filter_match(f, sample);
  filter_free(&f);
  g_free(error);
  g_free(text);
  return 0;
}
