/*
 * rewrite_bench.c - rewrites per second through resolve_recipient(),
 * the path the SMTP server takes at RCPT time (without expansion)
 *
 * usage: rewrite-bench CONFIG_DIR ADDRESS_FILE PASSES [THREADS]
 * Each pass resolves every address of the file once and prints its rate
 * in wall-clock time and in CPU time (what one core does when nothing
 * else runs on it); with THREADS > 1 the addresses are shared among that
 * many threads, as the SMTP server's lookup threads do.  Failures are
 * counted (a benchmark that fails quietly measures nothing).
 */
#include "build-config.h"
#include "config/config.h"
#include "module/host.h"
#include "mta/mtacfg.h"
#include "mta/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct work {
  char **addresses;
  guint from, to;
  guint failed;
  double cpu;
} work;

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static gpointer run(gpointer data) {
  work *w = data;
  resolve_params p = {.flags = RESOLVE_NO_EXPAND};
  double start = thread_cpu();
  for (guint i = w->from; i < w->to; i++) {
    resolve_result res;
    resolve_result_init(&res);
    if (resolve_recipient(w->addresses[i], &p, &res) != CURSUS_OK &&
        w->failed++ == 0)
      fprintf(stderr, "%s: %s\n", w->addresses[i], res.error);
    resolve_result_clear(&res);
  }
  w->cpu = thread_cpu() - start;
  return NULL;
}

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
  guint threads = argc > 4 ? (guint)MAX(atoi(argv[4]), 1) : 1;
  for (int pass = 1; pass <= passes; pass++) {
    work w[64];
    GThread *t[64];
    threads = MIN(threads, G_N_ELEMENTS(w));
    gint64 start = g_get_monotonic_time();
    for (guint k = 0; k < threads; k++) {
      w[k] = (work){.addresses = addresses, .from = n * k / threads,
                    .to = n * (k + 1) / threads};
      t[k] = threads > 1 ? g_thread_new("bench", run, &w[k]) : NULL;
    }
    if (threads == 1)
      run(&w[0]);
    guint failed = 0;
    double cpu = 0;
    for (guint k = 0; k < threads; k++) {
      if (t[k] != NULL)
        g_thread_join(t[k]);
      failed += w[k].failed;
      cpu += w[k].cpu;
    }
    double secs = (double)(g_get_monotonic_time() - start) / 1e6;
    printf("pass %d: %u addresses, %u thread%s, %.3f s: %.0f rewrites/s, "
           "%.0f per CPU second (%u failed)\n",
           pass, n, threads, threads == 1 ? "" : "s", secs, n / secs,
           cpu > 0 ? n / cpu : 0.0, failed);
    fflush(stdout);
  }
  g_strfreev(addresses);
  g_free(text);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  return 0;
}
