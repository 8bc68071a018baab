/*
 * fuzz_ldif.c - dir_ldif's reader on arbitrary text: parse, check the
 * values with the server's rules, index, look up, search; and what it
 * writes back must read again
 */
#include "build-config.h"
#include "dir/values.h"
#include "direntry/direntry.h"
#include "ldifdb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - the server's value rules, as host->directory gives them */
static bool check(const char *name, const char *value, const char **why_r) {
  char *error = NULL;
  bool ok = dir_check_value(name, value, &error);
  g_free(error);
  *why_r = "refused";
  return ok;
}

static int count_cb(void *data, const cursus_entry *e) {
  (*(size_t *)data)++;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *error = NULL;
  ldif_file *f = ldif_parse("fuzz.ldif", (const char *)data, size, &error);
  if (f == NULL) {
    g_free(error);
    return 0;
  }
  size_t len;
  char *text = ldif_write_file(f, &len);
  ldif_file *again = ldif_parse("again.ldif", text, len, &error);
  if (again == NULL || again->records->len != f->records->len)
    abort(); /* what we write must read back */
  ldif_file_free(&again);
  g_free(text);
  ldifdb *db = ldifdb_build(f, "fuzz.ldif", check, &error);
  if (db == NULL) {
    g_free(error);
    return 0;
  }
  cursus_entry *e = NULL;
  const char *why = NULL;
  if (ldifdb_domain(db, "example.com", &e, &why) == CURSUS_OK)
    direntry_unref(e);
  if (ldifdb_address(db, "", "joe@example.com",
                     CURSUS_ENTRY_USER | CURSUS_ENTRY_GROUP, &e,
                     &why) == CURSUS_OK)
    direntry_unref(e);
  if (ldifdb_uid(db, "", "joe", &e, &why) == CURSUS_OK)
    direntry_unref(e);
  filter *flt = filter_parse("(|(mail=*)(objectClass=inetMailGroup))", &error);
  size_t n = 0;
  ldifdb_search(db, "", CURSUS_SCOPE_SUB, flt, 1000, count_cb, &n, &why);
  filter_free(&flt);
  ldifdb_unref(&db);
  return 0;
}
