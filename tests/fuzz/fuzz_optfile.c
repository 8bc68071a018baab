/*
 * fuzz_optfile.c - the option-file reader (dispatcher.cnf,
 * job_controller.cnf, cursus.conf) on arbitrary text
 */
#include "build-config.h"
#include "config/optfile.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  diag *d = diag_new();
  optfile *of = optfile_parse("fuzz.cnf", text, d);
  static const opt_schema schema[] = {
      {"PORT", CURSUS_VALUE_STRING, OPT_GLOBAL | OPT_SECTION, 0, 0, ""},
      {"MAX_PROCS", CURSUS_VALUE_INTEGER, OPT_GLOBAL | OPT_SECTION, 1, 100, ""},
      {"DELAY", CURSUS_VALUE_DURATION, OPT_GLOBAL | OPT_SECTION, 0, 0, ""},
      {NULL, 0, 0, 0, 0, NULL},
  };
  static const char *const kinds[] = {"SERVICE", "module", NULL};
  optfile_check(of, schema, kinds, d);
  for (guint i = 0; i < of->sections->len; i++) {
    opt_section *s = of->sections->pdata[i];
    (void)optfile_int(s, of->sections->pdata[0], "MAX_PROCS", 0);
    (void)optfile_str(s, NULL, "PORT", NULL);
  }
  optfile_free(&of);
  diag_free(&d);
  g_free(text);
  return 0;
}
