/*
 * driver.c - runs a libFuzzer harness over files, without libFuzzer
 *
 * `make check` builds every harness with this driver and feeds it the
 * saved corpus (tests/fuzz/corpus/NAME/), so the inputs that once found a
 * bug keep being tried under the normal and the sanitizer builds.  With
 * --enable-fuzzing the same harnesses are built with clang's libFuzzer
 * instead (`make fuzz`).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, got);
  free(buf);
  return 0;
}

static int run_path(const char *path, unsigned *count) {
  struct stat st;
  if (stat(path, &st) < 0) {
    perror(path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  DIR *d = opendir(path);
  struct dirent *e;
  int rc = 0;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
    rc |= run_path(sub, count);
  }
  if (d != NULL)
    closedir(d);
  return rc;
}

__attribute__((weak)) int main(int argc, char **argv) {
  unsigned count = 0;
  int rc = 0;
  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    rc |= run_path(argv[i], &count);
  printf("%s: %u input(s) run\n", argv[0], count);
  return rc;
}
