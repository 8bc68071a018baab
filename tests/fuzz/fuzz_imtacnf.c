/*
 * fuzz_imtacnf.c - the imta.cnf reader (rules, channel blocks, keyword
 * binding and value checks, includes) on arbitrary text
 */
#include "build-config.h"
#include "config/imtacnf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-imtacnf-XXXXXX";
static kwtable *kws;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (kws == NULL) {
    char *error = NULL;
    if (mkdtemp(dir) == NULL)
      abort();
    kws = kwtable_new();
    kwtable_add(kws, core_channel_keywords, "core", &error);
  }
  char *path = g_build_filename(dir, "imta.cnf", NULL);
  if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL))
    abort();
  diag *d = diag_new();
  imtacnf *cnf = imtacnf_parse(path, dir, kws, d);
  if (cnf != NULL) {
    for (guint i = 0; i < cnf->channels->len; i++) {
      cnf_channel *ch = cnf->channels->pdata[i];
      (void)cnf_channel_int(ch, "maxjobs", 1);
      static const char *const imm[] = {"immnonurgent", "immnormal", NULL};
      (void)cnf_channel_last_of(ch, imm);
    }
    imtacnf_free(&cnf);
  }
  diag_free(&d);
  unlink(path);
  g_free(path);
  return 0;
}
