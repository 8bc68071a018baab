/*
 * dirbench.c - directory lookups per second, as the MTA makes them
 *
 *   dirbench --config DIR --addresses FILE [--threads N] [--seconds S]
 *            [--mode lookup|resolve] [--warm]
 *
 * Opens the directory of the configuration exactly as a server process
 * does (dir.h), then N threads look up the addresses of FILE (one per
 * line, each thread starting at another place) for S seconds:
 *   lookup   one directory lookup by address (dir_lookup_address)
 *   resolve  the whole address resolution of the MTA (dir_resolve:
 *            domain, entry, status, delivery options)
 * --warm first looks every address up once (fills a cache).  Prints one
 * line: "MODE THREADS lookups SECONDS rate per-thread-rate cpu-seconds".
 * Used by bench/directory.py.
 */
#include "build-config.h"
#include "config/config.h"
#include "dir/dir.h"
#include "dir/resolve.h"
#include "module/host.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct run {
  char **addresses;
  guint n;
  bool resolve;
  gint64 end;
  gint stop;
} run;

typedef struct worker {
  run *r;
  guint start;
  guint64 done;
  guint64 failed;
} worker;

/* one - look ADDRESS up once; false on a failure */
static bool one(run *r, const char *address) {
  char *error = NULL;
  if (r->resolve) {
    expand_params p = {.sender = "bench@else.example",
                       .source_channel = "tcp_local"};
    expansion e;
    expansion_init(&e);
    int rc = dir_resolve(address, &p, &e, &error);
    expansion_clear(&e);
    g_free(error);
    return rc == 1;
  }
  cursus_entry *entry = NULL;
  int rc = dir_lookup_address("", address, CURSUS_ENTRY_USER, 0, &entry,
                              &error);
  dir_entry_free(&entry);
  g_free(error);
  return rc == CURSUS_OK;
}

static gpointer work(gpointer data) {
  worker *w = data;
  run *r = w->r;
  guint i = w->start;
  while (!g_atomic_int_get(&r->stop)) {
    for (int k = 0; k < 64; k++) {
      if (!one(r, r->addresses[i]))
        w->failed++;
      w->done++;
      i = (i + 1) % r->n;
    }
    if (g_get_monotonic_time() >= r->end)
      g_atomic_int_set(&r->stop, 1);
  }
  return NULL;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 +
         (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  const char *config_dir = NULL, *file = NULL, *mode = "lookup";
  int threads = 1, seconds = 5;
  bool warm = false;
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--config") == 0 && v)
      config_dir = argv[++i];
    else if (strcmp(argv[i], "--addresses") == 0 && v)
      file = argv[++i];
    else if (strcmp(argv[i], "--threads") == 0 && v)
      threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--seconds") == 0 && v)
      seconds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--mode") == 0 && v)
      mode = argv[++i];
    else if (strcmp(argv[i], "--warm") == 0)
      warm = true;
    else {
      fprintf(stderr, "usage: dirbench --config DIR --addresses FILE "
                      "[--threads N] [--seconds S] [--mode lookup|resolve] "
                      "[--warm]\n");
      return 2;
    }
  }
  char *text = NULL;
  if (config_dir == NULL || file == NULL ||
      !g_file_get_contents(file, &text, NULL, NULL)) {
    fprintf(stderr, "dirbench: need --config and a readable --addresses\n");
    return 2;
  }
  log_init("dirbench");
  log_set_level(CURSUS_LOG_WARNING);
  diag *d = diag_new();
  modreg *mods = NULL;
  config *cfg = config_load(config_dir, CURSUS_PROC_WORKER, &mods, d);
  if (cfg == NULL || diag_has_errors(d)) {
    diag_print(d, stderr);
    return 1;
  }
  config_set_current(cfg);
  host_init(CURSUS_PROC_TOOL);
  char *error = NULL;
  if (!dir_service_start(cfg, mods, &error)) {
    fprintf(stderr, "dirbench: %s\n", error);
    return 1;
  }
  run r = {.addresses = g_strsplit(g_strstrip(text), "\n", -1),
           .resolve = strcmp(mode, "resolve") == 0};
  r.n = g_strv_length(r.addresses);
  if (warm)
    for (guint i = 0; i < r.n; i++)
      one(&r, r.addresses[i]);
  worker *ws = g_new0(worker, threads);
  GThread **ts = g_new0(GThread *, threads);
  double cpu0 = cpu_seconds();
  gint64 t0 = g_get_monotonic_time();
  r.end = t0 + (gint64)seconds * G_USEC_PER_SEC;
  for (int i = 0; i < threads; i++) {
    ws[i].r = &r;
    ws[i].start = (guint)((guint64)r.n * (guint64)i / (guint64)threads);
    ts[i] = g_thread_new("bench", work, &ws[i]);
  }
  guint64 done = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    g_thread_join(ts[i]);
    done += ws[i].done;
    failed += ws[i].failed;
  }
  double elapsed = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  double cpu = cpu_seconds() - cpu0;
  printf("%s %d %" G_GUINT64_FORMAT " %.2f %.0f %.0f %.2f %" G_GUINT64_FORMAT
         "\n",
         mode, threads, done, elapsed, done / elapsed,
         done / elapsed / threads, cpu, failed);
  dir_service_stop();
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  diag_free(&d);
  g_strfreev(r.addresses);
  g_free(ws);
  g_free(ts);
  g_free(text);
  return failed > 0 ? 1 : 0;
}
