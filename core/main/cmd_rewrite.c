/*
 * cmd_rewrite.c - `cursus test-rewrite` and `cursus test-mapping`: show
 * what the MTA decides for an address or a mapping probe, step by step
 *
 * Both run the code the server runs (resolve.c, mapset.c, access.c) on the
 * configuration the server would load, and print every rule tried, every
 * mapping call and its result.
 */
#include "build-config.h"
#include "commands.h"
#include "config/config.h"
#include "dir/dir.h"
#include "mapping/access.h"
#include "mta/mtacfg.h"
#include "mta/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rw_opts {
  const char *tag;
  const char *source;
  const char *destination;
  const char *from;
  bool noimage, noexpand, quiet, reprocess, nomapping;
  GPtrArray *addresses;
} rw_opts;

/* opt_value - "--NAME=V" or "--NAME V" at argv[*i]; NULL if not NAME */
static const char *opt_value(cmd_ctx *ctx, int *i, const char *name) {
  const char *a = ctx->argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0)
    return NULL;
  if (a[n] == '=')
    return a + n + 1;
  if (a[n] == '\0' && *i + 1 < ctx->argc)
    return ctx->argv[++*i];
  return NULL;
}

static void print_kv(const char *key, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void print_kv(const char *key, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  printf("%-26s= ", key);
  vprintf(fmt, args);
  putchar('\n');
  va_end(args);
}

/* channel_keywords - the keywords in effect on CH, space-separated */
static char *channel_keywords(const cnf_channel *ch) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ch->keywords->len; i++) {
    const cnf_kw *k = ch->keywords->pdata[i];
    g_string_append_printf(s, "%s%s", s->len > 0 ? " " : "", k->name);
    for (guint j = 0; j < k->values->len; j++)
      g_string_append_printf(s, " %s", (char *)k->values->pdata[j]);
  }
  return g_string_free(s, FALSE);
}

static void print_trace(const rw_opts *o, GString *trace) {
  if (!o->quiet && trace->len > 0)
    fputs(trace->str, stdout);
  g_string_truncate(trace, 0);
}

/* show_channel - the channel lines of the classic output */
static void show_channel(const mtacfg *m, const char *name) {
  const cnf_channel *ch = mtacfg_channel(m, name);
  if (ch == NULL)
    return;
  char *kw = channel_keywords(ch);
  print_kv("channel", "%s", ch->name);
  print_kv("channel official host", "%s",
           ch->hosts->len > 0 ? ((cnf_host *)ch->hosts->pdata[0])->name : "");
  print_kv("channel keywords", "%s", kw);
  if (ch->module != NULL)
    print_kv("channel module", "%s", ch->module);
  g_free(kw);
}

/* test_one - everything about one address; true when it resolves */
static bool test_one(const mtacfg *m, const rw_opts *o, const char *address) {
  GString *trace = g_string_new(NULL);
  resolve_params p = {.source_channel = o->source,
                      .sender = o->from,
                      .tag = o->tag,
                      .flags = (o->reprocess ? RESOLVE_REPROCESS : 0) |
                               (o->noexpand ? RESOLVE_NO_EXPAND : 0) |
                               (o->nomapping ? RESOLVE_NO_MAPPING : 0),
                      .trace = trace};
  resolve_result res;
  resolve_result_init(&res);
  const cnf_channel *src = mtacfg_channel(m, o->source);

  print_kv("address", "%s", address);
  print_kv("source channel", "%s", src != NULL ? src->name : o->source);
  resolve_recipient(address, &p, &res);
  print_trace(o, trace);
  char *hto = NULL, *hfrom = NULL, *error = NULL;
  resolve_params hp = p;
  hp.flags &= ~(unsigned)RESOLVE_NO_EXPAND;
  hp.destination_channel = o->destination != NULL ? o->destination
                                                  : res.channel;
  if (resolve_header_address(address, &hp, &hto, &error) != CURSUS_OK)
    hto = g_strdup_printf("%s (kept: %s)", address, error);
  g_free(error);
  error = NULL;
  hp.flags |= RESOLVE_FROM;
  if (resolve_header_address(address, &hp, &hfrom, &error) != CURSUS_OK)
    hfrom = g_strdup_printf("%s (kept: %s)", address, error);
  g_free(error);
  print_trace(o, trace);
  if (res.rewritten != NULL) {
    print_kv("envelope To: address", "%s", res.rewritten);
    print_kv("routing host", "%s", res.host);
    show_channel(m, res.channel);
  }
  print_kv("header To: address", "%s", hto);
  print_kv("header From: address", "%s", hfrom);
  g_free(hto);
  g_free(hfrom);
  if (res.status == CURSUS_OK) {
    printf("Submitted address list:\n");
    for (guint i = 0; i < res.entries->len; i++) {
      const resolve_entry *e = res.entries->pdata[i];
      printf("  %s %s (routing host %s%s%s%s%s)\n", e->channel, e->address,
             e->host, e->via != NULL ? ", expanded from " : "",
             e->via != NULL ? e->via : "",
             e->errors_to != NULL ? ", errors to " : "",
             e->errors_to != NULL ? e->errors_to : "");
    }
    if (res.entries->len == 0)
      printf("  (no copies: the address expanded to nothing)\n");
    for (guint i = 0; i < res.notes->len; i++)
      printf("  skipped: %s\n", (char *)res.notes->pdata[i]);
    print_kv("status", "OK");
  } else {
    print_kv("status", "%s %d", res.status == CURSUS_TEMPFAIL ? "TEMPFAIL"
                                                               : "PERMFAIL",
             res.smtp_code);
    print_kv("error", "%s", res.error);
  }
  bool ok = res.status == CURSUS_OK;
  resolve_result_clear(&res);
  g_string_free(trace, TRUE);
  return ok;
}

static void print_sender(const char *from, const char *error) {
  print_kv("envelope From: address", "%s", from);
  if (error != NULL)
    print_kv("envelope From: error", "%s", error);
}

int cmd_test_rewrite(cmd_ctx *ctx) {
  rw_opts o = {.addresses = g_ptr_array_new()};
  const char *v;
  for (int i = 1; i < ctx->argc; i++) {
    const char *a = ctx->argv[i];
    if ((v = opt_value(ctx, &i, "--source-channel")) != NULL ||
        (v = opt_value(ctx, &i, "-s")) != NULL)
      o.source = v;
    else if ((v = opt_value(ctx, &i, "--destination-channel")) != NULL)
      o.destination = v;
    else if ((v = opt_value(ctx, &i, "--from")) != NULL)
      o.from = v;
    else if ((v = opt_value(ctx, &i, "--tag")) != NULL)
      o.tag = v;
    else if (strcmp(a, "--noimage") == 0)
      o.noimage = true;
    else if (strcmp(a, "--noexpand") == 0)
      o.noexpand = true;
    else if (strcmp(a, "--nomapping") == 0)
      o.nomapping = true;
    else if (strcmp(a, "--reprocess") == 0)
      o.reprocess = true;
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
      o.quiet = true;
    else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "cursus test-rewrite: unknown option %s\n", a);
      g_ptr_array_free(o.addresses, TRUE);
      return 2;
    } else
      g_ptr_array_add(o.addresses, (gpointer)a);
  }
  mtacfg_set_sources_only(o.noimage);
  modreg *mods = NULL;
  config *cfg = cmd_load_config(ctx, CURSUS_PROC_TOOL, &mods, false);
  if (cfg == NULL) {
    g_ptr_array_free(o.addresses, TRUE);
    return 1;
  }
  /* the directory decides hosted domains and users, as in the server */
  char *dir_error = NULL;
  if (dir_service_wanted(cfg) && !dir_service_start(cfg, mods, &dir_error)) {
    fprintf(stderr, "cursus test-rewrite: %s\n", dir_error);
    g_free(dir_error);
    g_ptr_array_free(o.addresses, TRUE);
    config_set_current(NULL);
    config_unref(&cfg);
    modreg_free(&mods);
    return 1;
  }
  const mtacfg *m = mtacfg_of(cfg);
  char *from = NULL, *from_error = NULL;
  char *default_from = g_strdup_printf("postmaster@%s", m->env.local_host);
  resolve_params sp = {.source_channel = o.source,
                       .destination_channel = o.destination,
                       .flags = o.nomapping ? RESOLVE_NO_MAPPING : 0};
  o.from = o.from != NULL ? o.from : default_from;
  if (resolve_sender(o.from, &sp, &from, NULL, &from_error) != CURSUS_OK)
    from = g_strdup(o.from);
  if (m->img != NULL && !o.quiet) {
    char *desc = image_describe(m->img);
    printf("compiled image: %s\n", desc);
    g_free(desc);
  }
  int status = 0;
  if (o.addresses->len == 0) {
    char line[4096];
    while (fgets(line, sizeof(line), stdin) != NULL) {
      g_strstrip(line);
      if (*line == '\0')
        continue;
      print_sender(from, from_error);
      if (!test_one(m, &o, line))
        status = 1;
      putchar('\n');
    }
  }
  for (guint i = 0; i < o.addresses->len; i++) {
    print_sender(from, from_error);
    if (!test_one(m, &o, o.addresses->pdata[i]))
      status = 1;
    if (i + 1 < o.addresses->len)
      putchar('\n');
  }
  g_free(from);
  g_free(from_error);
  g_free(default_from);
  g_ptr_array_free(o.addresses, TRUE);
  dir_service_stop();
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  return status;
}

/* access_of - the access table named NAME, or -1 */
static int access_of(const char *name) {
  for (int t = 0; t < ACCESS_N_TABLES; t++)
    if (g_ascii_strcasecmp(name, access_table_name((access_table)t)) == 0)
      return t;
  return -1;
}

static void show_verdict(int table, const char *input, unsigned flags) {
  access_verdict v;
  char *error = NULL;
  static const char *const actions[] = {"ALLOW", "REJECT", "DISCARD", "HOLD"};
  if (access_check_string((access_table)table, input, flags, &v, &error) !=
      CURSUS_OK) {
    print_kv("verdict", "TEMPFAIL (%s)", error);
    g_free(error);
    return;
  }
  if (v.action == ACCESS_REJECT)
    print_kv("verdict", "REJECT %d %s %s", v.smtp_code, v.status, v.text);
  else
    print_kv("verdict", "%s%s%s", actions[v.action],
             v.text != NULL && *v.text != '\0' ? " " : "",
             v.text != NULL ? v.text : "");
  if (v.delay_ms > 0)
    print_kv("delay", "%u ms", v.delay_ms);
  if (v.new_from != NULL)
    print_kv("new envelope From", "%s", v.new_from);
  if (v.tag != NULL)
    print_kv("tag", "%s", v.tag);
  if (v.add_header != NULL)
    print_kv("add header", "%s", v.add_header);
  if (v.log_text != NULL)
    print_kv("log", "%s", v.log_text);
  access_verdict_clear(&v);
}

/* session_flags - "AET" letters to enum access_session_flags */
static unsigned session_flags(const char *letters) {
  unsigned f = 0;
  for (const char *p = letters; p != NULL && *p != '\0'; p++) {
    switch (g_ascii_toupper(*p)) {
    case 'A': f |= ACCESS_F_AUTH; break;
    case 'E': f |= ACCESS_F_ESMTP; break;
    case 'L': f |= ACCESS_F_LMTP; break;
    case 'T': f |= ACCESS_F_TLS; break;
    case 'D': f |= ACCESS_F_NOTIFY_DELAY; break;
    case 'F': f |= ACCESS_F_NOTIFY_FAILURE; break;
    case 'S': f |= ACCESS_F_NOTIFY_SUCCESS; break;
    }
  }
  return f;
}

static bool probe_one(const mtacfg *m, const char *table, const char *input,
                      const char *flags, bool quiet) {
  GString *trace = g_string_new(NULL);
  map_result r;
  map_result_init(&r);
  char *error = NULL;
  unsigned sf = 0;
  for (const char *p = flags; p != NULL && *p != '\0'; p++)
    sf |= mapset_session_flag(*p);
  map_ctx ctx = {.session_flags = sf, .trace = trace, .indent = "  "};
  int rc = mapset_apply(m->maps, table, input, &ctx, &r, &error);
  if (!quiet)
    fputs(trace->str, stdout);
  print_kv("input", "%s", input);
  bool ok = rc == CURSUS_OK;
  if (rc != CURSUS_OK) {
    print_kv("error", "%s", error);
  } else if (!r.matched) {
    print_kv("output", "(no entry matched)");
  } else {
    GString *fs = g_string_new(NULL);
    map_flags_string(&r.flags, fs);
    print_kv("output", "%s", r.out->str);
    print_kv("flags", "%s", fs->str);
    g_string_free(fs, TRUE);
  }
  int t = access_of(table);
  if (t >= 0 && rc == CURSUS_OK)
    show_verdict(t, input, session_flags(flags));
  g_free(error);
  map_result_clear(&r);
  g_string_free(trace, TRUE);
  return ok;
}

int cmd_test_mapping(cmd_ctx *ctx) {
  const char *table = NULL, *flags = NULL, *v;
  bool noimage = false, quiet = false;
  GPtrArray *inputs = g_ptr_array_new();
  for (int i = 1; i < ctx->argc; i++) {
    const char *a = ctx->argv[i];
    if ((v = opt_value(ctx, &i, "--flags")) != NULL)
      flags = v;
    else if (strcmp(a, "--noimage") == 0)
      noimage = true;
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
      quiet = true;
    else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "cursus test-mapping: unknown option %s\n", a);
      g_ptr_array_free(inputs, TRUE);
      return 2;
    } else if (table == NULL)
      table = a;
    else
      g_ptr_array_add(inputs, (gpointer)a);
  }
  if (table == NULL) {
    fprintf(stderr, "usage: cursus test-mapping [--noimage] [--flags AELTDFS] "
                    "TABLE [INPUT...]\n");
    g_ptr_array_free(inputs, TRUE);
    return 2;
  }
  mtacfg_set_sources_only(noimage);
  modreg *mods = NULL;
  config *cfg = cmd_load_config(ctx, CURSUS_PROC_TOOL, &mods, false);
  if (cfg == NULL) {
    g_ptr_array_free(inputs, TRUE);
    return 1;
  }
  const mtacfg *m = mtacfg_of(cfg);
  int status = 0;
  if (mapset_table(m->maps, table) == NULL) {
    fprintf(stderr, "cursus test-mapping: no mapping table %s in %s\n", table,
            m->img != NULL ? image_path(m->img) : m->mapping_file);
    status = 1;
  } else if (inputs->len == 0) {
    char line[4096];
    while (fgets(line, sizeof(line), stdin) != NULL) {
      line[strcspn(line, "\r\n")] = '\0';
      if (!probe_one(m, table, line, flags, quiet))
        status = 1;
    }
  } else {
    for (guint i = 0; i < inputs->len; i++)
      if (!probe_one(m, table, inputs->pdata[i], flags, quiet))
        status = 1;
  }
  g_ptr_array_free(inputs, TRUE);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
  return status;
}
