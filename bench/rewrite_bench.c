/*
 * rewrite_bench.c - rewrites per second through resolve_recipient(),
 * the path the SMTP server takes at RCPT time (without expansion)
 *
 * usage: rewrite-bench CONFIG_DIR ADDRESS_FILE PASSES [SOURCE_CHANNEL]
 * Each pass resolves every address of the file once, on this thread, and
 * prints its rate; failures are counted (a benchmark that fails quietly
 * measures nothing).
 */
#include "build-config.h"
#include "config/config.h"
#include "module/host.h"
#include "mta/mtacfg.h"
#include "mta/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: rewrite-bench CONFIG_DIR ADDRESS_FILE PASSES "
                    "[SOURCE_CHANNEL]\n");
    return 2;
  }
  host_init(CURSUS_PROC_TOOL);
  mtacfg_register();
  diag *d = diag_new();
  modreg *mods = NULL;
  config *cfg = config_load(argv[1], CURSUS_PROC_ANY, &mods, d);
  if (cfg == NULL || diag_has_errors(d)) {
    diag_print(d, stderr);
    return 1;
  }
  diag_free(&d);
  config_set_current(cfg);
  char *text = NULL;
  if (!g_file_get_contents(argv[2], &text, NULL, NULL)) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  char **addresses = g_strsplit(text, "\n", -1);
  guint n = g_strv_length(addresses);
  while (n > 0 && *addresses[n - 1] == '\0')
    n--;
  int passes = atoi(argv[3]);
  resolve_params p = {.source_channel = argc > 4 ? argv[4] : NULL,
                      .flags = RESOLVE_NO_EXPAND};
  for (int pass = 1; pass <= passes; pass++) {
    guint failed = 0;
    gint64 start = g_get_monotonic_time();
    for (guint i = 0; i < n; i++) {
      resolve_result res;
      resolve_result_init(&res);
      if (resolve_recipient(addresses[i], &p, &res) != CURSUS_OK) {
        if (failed++ == 0)
          fprintf(stderr, "%s: %s\n", addresses[i], res.error);
      }
      resolve_result_clear(&res);
    }
    double secs = (double)(g_get_monotonic_time() - start) / 1e6;
    printf("pass %d: %u addresses in %.3f s: %.0f rewrites/s (%u failed)\n",
           pass, n, secs, n / secs, failed);
    fflush(stdout);
  }
  g_strfreev(addresses);
  g_free(text);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  return 0;
}
