/*
 * map_csv.c - an example mapping-source module: "csv:" tables and two
 * functions, built only against the installed Cursus SDK
 *
 * A csv: source is a text file of "key,value" lines ('#' starts a comment
 * line; the first comma separates key and value, the value may hold more
 * commas).  Keys are compared without regard to case.  Use it as a
 * general database in cursus.conf and call it from a rewrite rule:
 *
 *     [databases]
 *     people = csv:people.csv
 *
 *     example.com   $(people,$U)
 *
 * or as the source of a mapping table ("PEOPLE  csv:people.csv").  The
 * functions are called as $[map_csv,domain,$U@$H] (the part after the
 * last '@') and $[map_csv,lower,TEXT].
 *
 * The file is read through host->read_config_file, so the running server
 * uses the text `cursus config check` accepted.
 */
#include <cursus/cursus.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const cursus_host *host;

typedef struct row {
  char *key;
  char *value;
} row;

typedef struct table {
  row *rows;
  size_t n;
  char error[128];
} table;

static int csv_init(cursus_module_ctx *ctx, const cursus_host *h,
                    const char **error_r) {
  (void)ctx;
  host = h;
  if (!CURSUS_HAS(h, read_config_file)) {
    *error_r = "this server is too old for map_csv (no read_config_file)";
    return CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

/* parse - the rows of TEXT into T */
static void parse(table *t, char *text) {
  for (char *line = strtok(text, "\n"); line != NULL;
       line = strtok(NULL, "\n")) {
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    char *comma = strchr(line, ',');
    if (line[0] == '#' || comma == NULL)
      continue;
    *comma = '\0';
    row *r = realloc(t->rows, (t->n + 1) * sizeof(row));
    if (r == NULL)
      return;
    t->rows = r;
    t->rows[t->n].key = strdup(line);
    t->rows[t->n].value = strdup(comma + 1);
    t->n++;
  }
}

static int csv_open(cursus_module_ctx *ctx, const char *argument,
                    void **source_r, const char **error_r) {
  cursus_buf buf = {0};
  int rc = host->read_config_file(ctx, argument, &buf, error_r);
  if (rc != CURSUS_OK) {
    host->buf_free(&buf);
    if (rc == CURSUS_NONE)
      *error_r = "no such file";
    return CURSUS_TEMPFAIL;
  }
  table *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    host->buf_free(&buf);
    *error_r = "out of memory";
    return CURSUS_TEMPFAIL;
  }
  if (buf.data != NULL)
    parse(t, buf.data);
  host->buf_free(&buf);
  *source_r = t;
  return CURSUS_OK;
}

static int csv_lookup(void *source, const char *key, size_t key_len,
                      cursus_buf *out, const char **error_r) {
  (void)error_r; /* a table in memory always answers */
  table *t = source;
  for (size_t i = 0; i < t->n; i++) {
    if (strlen(t->rows[i].key) == key_len &&
        strncasecmp(t->rows[i].key, key, key_len) == 0) {
      host->buf_append(out, t->rows[i].value, strlen(t->rows[i].value));
      return CURSUS_OK;
    }
  }
  return CURSUS_NONE;
}

static int csv_iterate(void *source,
                       int (*cb)(void *data, const char *key,
                                 const char *value),
                       void *data, const char **error_r) {
  (void)error_r;
  table *t = source;
  for (size_t i = 0; i < t->n; i++)
    if (cb(data, t->rows[i].key, t->rows[i].value) != 0)
      break;
  return CURSUS_OK;
}

static void csv_close(void *source) {
  table *t = source;
  for (size_t i = 0; i < t->n; i++) {
    free(t->rows[i].key);
    free(t->rows[i].value);
  }
  free(t->rows);
  free(t);
}

static int csv_call(cursus_module_ctx *ctx, const char *function,
                    const char *argument, cursus_buf *out,
                    const char **error_r) {
  (void)ctx;
  if (strcmp(function, "domain") == 0) {
    const char *at = strrchr(argument, '@');
    if (at == NULL || at[1] == '\0')
      return CURSUS_NONE; /* the rule fails */
    host->buf_append(out, at + 1, strlen(at + 1));
    return CURSUS_OK;
  }
  if (strcmp(function, "lower") == 0) {
    for (const char *p = argument; *p != '\0'; p++) {
      char c = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
      host->buf_append(out, &c, 1);
    }
    return CURSUS_OK;
  }
  *error_r = "unknown function";
  return CURSUS_TEMPFAIL;
}

static const char *const csv_schemes[] = {"csv", NULL};
static const char *const csv_functions[] = {"domain", "lower", NULL};

static const cursus_mapping_ops csv_ops = {
    .size = sizeof(cursus_mapping_ops),
    .schemes = csv_schemes,
    .open = csv_open,
    .lookup = csv_lookup,
    .iterate = csv_iterate,
    .close = csv_close,
    .functions = csv_functions,
    .call = csv_call,
};

CURSUS_MODULE(.name = "map_csv", .version = "1.0.0", .vendor = "Example Ltd",
              .license = "MIT",
              .description = "example mapping source: comma-separated tables",
              .kinds = CURSUS_KIND_MAPPING, .init = csv_init,
              .mapping = &csv_ops);
