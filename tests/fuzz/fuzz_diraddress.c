/*
 * fuzz_diraddress.c - what the directory does with untrusted strings:
 * addresses from the wire (parsing, checks), delivery option templates,
 * service access rules and stored password values from the directory
 */
#include "build-config.h"
#include "auth/passwd.h"
#include "auth/service.h"
#include "dir/address.h"
#include "dir/delivery.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  char *error = NULL;
  dir_addr a;
  if (dir_addr_parse(text, "+", &a, &error))
    dir_addr_clear(&a);
  g_free(error);
  error = NULL;
  (void)dir_addr_check(text, true, &error);
  g_free(error);
  error = NULL;
  dopt_table *t = dopt_table_parse(text, &error);
  if (t != NULL) {
    dopt_vars v = {"a@b.example", "a", "a", "s", "b.example", "b.example",
                   "uid", "prog", "file", "host"};
    const dopt *o = dopt_default(t, DOPT_USERS);
    char *out = dopt_expand(o->template, &v);
    g_free(out);
    dopt_table_free(&t);
  }
  g_free(error);
  const char *why = NULL;
  (void)service_allowed(text, "imap", false, "192.0.2.1", &why);
  /* only cheap schemes: argon2 and crypt would make each input slow */
  if (g_str_has_prefix(text, "{SSHA") || g_str_has_prefix(text, "{SHA"))
    (void)passwd_verify(text, "password", &why);
  g_free(text);
  return 0;
}
