/*
 * test_mapfn.c - a mapping-source module for the rewrite tests: the URL
 * scheme "testurl" and the functions upper, domain, none and temp, with
 * answers the tests can predict
 *
 *   testurl:...missing...  not found
 *   testurl:...temp...     temporary failure
 *   testurl:...multi...    two values: one@list.example, two@list.example
 *   testurl:X              "found-X" with X after the last '/'
 */
#include <cursus/cursus.h>
#include <string.h>

static const cursus_host *host;

static int tm_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  return CURSUS_OK;
}

static int tm_open(cursus_module_ctx *ctx, const char *argument,
                   void **source_r, const char **error_r) {
  static int token;
  *source_r = &token;
  return CURSUS_OK;
}

static int tm_lookup(void *source, const char *key, size_t key_len,
                     cursus_buf *out, const char **error_r) {
  if (strstr(key, "missing") != NULL)
    return CURSUS_NONE;
  if (strstr(key, "temp") != NULL) {
    *error_r = "test source unavailable";
    return CURSUS_TEMPFAIL;
  }
  if (strstr(key, "multi") != NULL) {
    static const char two[] = "one@list.example\ntwo@list.example";
    host->buf_append(out, two, sizeof(two) - 1);
    return CURSUS_OK;
  }
  const char *slash = strrchr(key, '/');
  const char *tail = slash != NULL ? slash + 1 : key;
  host->buf_printf(out, "found-%s", tail);
  return CURSUS_OK;
}

static void tm_close(void *source) {}

static int tm_call(cursus_module_ctx *ctx, const char *function,
                   const char *argument, cursus_buf *out,
                   const char **error_r) {
  if (strcmp(function, "upper") == 0) {
    for (const char *p = argument; *p != '\0'; p++) {
      char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
      host->buf_append(out, &c, 1);
    }
    return CURSUS_OK;
  }
  if (strcmp(function, "domain") == 0) {
    const char *at = strrchr(argument, '@');
    if (at == NULL)
      return CURSUS_NONE;
    host->buf_append(out, at + 1, strlen(at + 1));
    return CURSUS_OK;
  }
  if (strcmp(function, "none") == 0)
    return CURSUS_NONE;
  *error_r = "test function unavailable";
  return CURSUS_TEMPFAIL;
}

static const char *const tm_schemes[] = {"testurl", NULL};
static const char *const tm_functions[] = {"upper", "domain", "none", "temp",
                                           NULL};

static const cursus_mapping_ops tm_ops = {
    .size = sizeof(cursus_mapping_ops),
    .schemes = tm_schemes,
    .open = tm_open,
    .lookup = tm_lookup,
    .close = tm_close,
    .functions = tm_functions,
    .call = tm_call,
};

CURSUS_MODULE(.name = "test_mapfn", .version = "1.0", .vendor = "Cursus tests",
              .license = "MIT", .description = "mapping functions for tests",
              .kinds = CURSUS_KIND_MAPPING, .init = tm_init,
              .mapping = &tm_ops);
