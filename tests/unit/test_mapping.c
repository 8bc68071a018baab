/*
 * test_mapping.c - mapping patterns and templates, the MAPPINGS reader
 * and its diagnostics, applying tables ($C $E $L $R, nested tables, flag
 * tests), mapping sources served by modules, the compiled image, the
 * aliases file and `cursus crdb` databases
 */
#include "build-config.h"
#include "alias/aliasdb.h"
#include "mapping/image.h"
#include "mapping/kvdb.h"
#include "mapping/mapset.h"
#include "mapping/pattern.h"
#include "mta/mtacfg.h"
#include "rwtest.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct patcase {
  const char *pattern;
  const char *input;
  bool match;
  const char *captures; /* "a|b|c" */
} patcase;

static const patcase pattern_cases[] = {
    {"abc", "abc", true, ""},
    {"abc", "ABC", true, ""},
    {"abc", "abcd", false, NULL},
    {"*", "", true, ""},
    {"*", "anything", true, "anything"},
    {"a*c", "abbbc", true, "bbb"},
    {"a%c", "abc", true, "b"},
    {"a%c", "ac", false, NULL},
    {"*@*", "joe@x.com", true, "joe|x.com"},
    {"*.*", "a.b.c", true, "a.b|c"},
    {"$_*.*", "a.b.c", true, "a|b.c"},
    {"$@*@*", "joe@x.com", true, "x.com"},
    {"$@*@$^*", "joe@x.com", true, "x.com"},
    {"*|$0*", "ab|ab", true, "ab"},
    {"*|$0*", "ab|ac", false, NULL},
    {"$D*-$A*", "123-abc", true, "123|abc"},
    {"$D*-$A*", "12a-abc", false, NULL},
    {"$H%$H%", "fF", true, "f|F"},
    {"$B*", "0101", true, "0101"},
    {"$O*", "0178", false, NULL},
    {"$S*", "a_b$9", true, "a_b$9"},
    {"x$T*y", "x \t y", true, " \t "},
    {"$[abc]*", "cab", true, "cab"},
    {"$[a-c]%x", "Bx", true, "B"},
    {"$[a-c]%x", "dx", false, NULL},
    {"a$*b", "a*b", true, ""},
    {"a$*b", "axb", false, NULL},
    {"50$%", "50%", true, ""},
    {"a$ b", "a b", true, ""},
    {"$$x", "$x", true, ""},
    {"$(192.168.0.0/16)", "192.168.7.1", true, "192.168.7.1"},
    {"$(192.168.0.0/16)", "192.169.7.1", false, NULL},
    {"$(10.0.0.0/8)|*", "10.1.2.3|x", true, "10.1.2.3|x"},
    {"$(2001:db8::/32)", "2001:db8:1::5", true, "2001:db8:1::5"},
    {"$(2001:db8::/32)", "2001:db9::5", false, NULL},
    {"$(127.0.0.1)", "127.0.0.1", true, "127.0.0.1"},
    {"TCP|*|25|$(10.0.0.0/8)|*", "TCP|1.2.3.4|25|10.9.9.9|4000", true,
     "1.2.3.4|10.9.9.9|4000"},
    {"*|*|*|*|*", "TCP|a|25|b|1", true, "TCP|a|25|b|1"},
};

START_TEST(pattern_table) {
  const patcase *c = &pattern_cases[_i];
  char *error = NULL;
  mpattern *p = pattern_compile(c->pattern, &error);
  ck_assert_msg(p != NULL, "%s: %s", c->pattern, error);
  pmatch m;
  bool got = pattern_match(p, c->input, strlen(c->input), &m);
  ck_assert_msg(got == c->match, "%s on %s: %d", c->pattern, c->input, got);
  if (got) {
    GString *caps = g_string_new(NULL);
    for (unsigned i = 0; i < m.n; i++)
      g_string_append_printf(caps, "%s%.*s", i > 0 ? "|" : "", (int)m.len[i],
                             c->input + m.start[i]);
    ck_assert_str_eq(caps->str, c->captures);
    g_string_free(caps, TRUE);
  }
  pattern_free(&p);
}
END_TEST

START_TEST(pattern_errors) {
  static const char *const bad[] = {"a$",     "$1*",      "$Q*",   "$[abc",
                                    "$[z-a]*", "$(1.2.3)", "$(10.0.0.0/33)",
                                    "$D",     "$_",       "$(x"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *error = NULL;
    ck_assert_msg(pattern_compile(bad[i], &error) == NULL, "%s compiled",
                  bad[i]);
    ck_assert_ptr_nonnull(error);
    g_free(error);
  }
  /* a pathological pattern ends within its step budget */
  char *error = NULL;
  mpattern *p = pattern_compile("*a*a*a*a*a*a*a*a*a*b", &error);
  GString *s = g_string_new(NULL);
  for (int i = 0; i < 200; i++)
    g_string_append_c(s, 'a');
  pmatch m;
  ck_assert(!pattern_match(p, s->str, s->len, &m));
  ck_assert(m.exhausted);
  pattern_free(&p);
  g_string_free(s, TRUE);
}
END_TEST

/* ------------------------------------------------ tables from text */

static char *tmpdir;

static void make_tmpdir(void) {
  tmpdir = g_dir_make_tmp("cursus-map-XXXXXX", NULL);
  ck_assert_ptr_nonnull(tmpdir);
}

/* remove_tree - DIR and everything below it */
static void remove_tree(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
        !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
      remove_tree(path);
    else
      unlink(path);
    g_free(path);
  }
  if (d != NULL)
    g_dir_close(d);
  rmdir(dir);
}

static void drop_tmpdir(void) {
  if (tmpdir != NULL)
    remove_tree(tmpdir);
  g_free(tmpdir);
  tmpdir = NULL;
}

static char *write_file(const char *name, const char *text) {
  char *path = g_build_filename(tmpdir, name, NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
  chmod(path, 0644);
  return path;
}

/* read_maps - a mapset from TEXT; diagnostics into *D */
static mapset *read_maps(const char *text, srcreg *sources, diag **d) {
  char *path = write_file("mappings", text);
  mapset *ms = mapset_new(sources);
  *d = diag_new();
  mapset_read(ms, path, tmpdir, false, *d);
  mapset_check(ms, *d);
  g_free(path);
  return ms;
}

/* apply - the output of TABLE on INPUT, "(none)" or "(tempfail)"; FLAGS
 * gets the flag letters */
static char *apply(mapset *ms, const char *table, const char *input,
                   unsigned session, GString *flags) {
  map_result r;
  map_result_init(&r);
  char *error = NULL;
  map_ctx ctx = {.session_flags = session};
  int rc = mapset_apply(ms, table, input, &ctx, &r, &error);
  char *out = rc != CURSUS_OK ? g_strdup_printf("(tempfail: %s)", error)
              : r.matched     ? g_strdup(r.out->str)
                              : g_strdup("(none)");
  if (flags != NULL) {
    g_string_truncate(flags, 0);
    map_flags_string(&r.flags, flags);
  }
  g_free(error);
  map_result_clear(&r);
  return out;
}

#define APPLY_EQ(ms, table, input, expect)                                     \
  do {                                                                         \
    char *got_ = apply(ms, table, input, 0, NULL);                             \
    ck_assert_str_eq(got_, expect);                                            \
    g_free(got_);                                                              \
  } while (0)

static const char semantics[] =
    "! comment\n"
    "SIMPLE\n"
    "\n"
    "  a            first\n"
    "  a            second\n"
    "  b*           b-$0\n"
    "  *@*          $1:$0\n"
    "  $ sp         space$ ok\n"
    "  lit$$        dollar$$\n"
    "\n"
    "CHAIN\n"
    "\n"
    "  a            b$C\n"
    "  b            c$C\n"
    "  c            done\n"
    "  x            y$C\n"
    "\n"
    "RESTART\n"
    "\n"
    "  *.*.*        $0.$1$R\n"
    "  *.*          end-$0-$1\n"
    "\n"
    "GROW\n"
    "\n"
    "  *            $0x$R\n"
    "\n"
    "LAST\n"
    "\n"
    "  b            B\n"
    "  a            b$L\n"
    "\n"
    "NEST\n"
    "\n"
    "  *            [$|SIMPLE;$0|]\n"
    "\n"
    "NESTFAIL\n"
    "\n"
    "  *            $|NO;$0|\n"
    "  *            fallback\n"
    "\n"
    "NO\n"
    "\n"
    "  *            $N\n"
    "\n"
    "FLAGS\n"
    "\n"
    "  auth         $:A$Yauthenticated\n"
    "  auth         $;A$Nplease$ authenticate\n"
    "  y            $Y$N$Y\n"
    "  n            $Y$N\n"
    "  f            $F\n"
    "  case         $^up$\\LOW$_Keep\n"
    "  q            $=$0\n"
    "  filt*        ($=$0)\n"
    "\n"
    "PROB\n"
    "\n"
    "  always       $?100?yes\n"
    "  never        $?0?yes\n"
    "  never        no\n"
    "\n"
    "CONT\n"
    "  k            v\\\n"
    "alue\n";

START_TEST(mapping_semantics) {
  make_tmpdir();
  diag *d;
  mapset *ms = read_maps(semantics, NULL, &d);
  diag_print(d, stderr);
  ck_assert(!diag_has_errors(d) || d->errors == 1);
  APPLY_EQ(ms, "SIMPLE", "a", "first");
  APPLY_EQ(ms, "simple", "A", "first");
  APPLY_EQ(ms, "SIMPLE", "bcd", "b-cd");
  APPLY_EQ(ms, "SIMPLE", "joe@x.com", "x.com:joe");
  APPLY_EQ(ms, "SIMPLE", " sp", "space ok");
  APPLY_EQ(ms, "SIMPLE", "lit$", "dollar$");
  APPLY_EQ(ms, "SIMPLE", "zzz", "(none)");
  APPLY_EQ(ms, "NOSUCHTABLE", "a", "(none)");
  APPLY_EQ(ms, "CHAIN", "a", "done");
  APPLY_EQ(ms, "CHAIN", "b", "done");
  APPLY_EQ(ms, "CHAIN", "x", "y");
  APPLY_EQ(ms, "RESTART", "a.b.c", "end-a-b");
  APPLY_EQ(ms, "GROW", "s", "sxxxxxxxxxxx");
  APPLY_EQ(ms, "LAST", "a", "B");
  APPLY_EQ(ms, "NEST", "a", "[first]");
  APPLY_EQ(ms, "NEST", "q", "(none)");
  APPLY_EQ(ms, "NESTFAIL", "a", "fallback");
  GString *flags = g_string_new(NULL);
  char *out = apply(ms, "FLAGS", "auth", mapset_session_flag('A'), flags);
  ck_assert_str_eq(out, "authenticated");
  ck_assert_str_eq(flags->str, "$Y");
  g_free(out);
  out = apply(ms, "FLAGS", "auth", 0, flags);
  ck_assert_str_eq(out, "please authenticate");
  ck_assert_str_eq(flags->str, "$N");
  g_free(out);
  out = apply(ms, "FLAGS", "y", 0, flags);
  ck_assert_str_eq(flags->str, "$Y");
  g_free(out);
  out = apply(ms, "FLAGS", "n", 0, flags);
  ck_assert_str_eq(flags->str, "$N");
  g_free(out);
  out = apply(ms, "FLAGS", "f", 0, flags);
  ck_assert_str_eq(flags->str, "$N");
  g_free(out);
  APPLY_EQ(ms, "FLAGS", "case", "UPlowKeep");
  APPLY_EQ(ms, "FLAGS", "filt*(x)\\", "(\\2a\\28x\\29\\5c)");
  APPLY_EQ(ms, "PROB", "always", "yes");
  APPLY_EQ(ms, "PROB", "never", "no");
  g_string_free(flags, TRUE);
  mapset_free(&ms);
  diag_free(&d);
}
END_TEST

typedef struct diagcase {
  const char *text;
  const char *expect; /* "mappings:LINE: text" part */
} diagcase;

static const diagcase diag_cases[] = {
    {"T\n\n  a\n", "mappings:3: entry \"a\" has no template"},
    {"T\n\n  a b c\n", "mappings:3: unexpected text after the template"},
    {"T\n  a b\n", "mappings:2: the line after the name of mapping table T "
                   "must be blank"},
    {"  a b\n", "mappings:1: entry outside of any mapping table"},
    {"T\n\n  a b\nU\n", "mappings:4: table name must follow a blank line"},
    {"T\n\n  a b\n\nT\n\n  c d\n", "mappings:5: mapping table T is defined "
                                   "twice (first at"},
    {"B@D\n\n", "mappings:1: invalid mapping table name"},
    {"T\n\n  $Q b\n", "mappings:3: table T: pattern \"$Q\": unknown sequence"},
    {"T\n\n  a $&\n", "mappings:3: table T: template \"$&\": unknown sequence"},
    {"T\n\n  a $|X;$0\n", "unterminated"},
    {"T\n\n  a $|U;$0|\n", "mappings:3: table T: $|U;...| calls a mapping "
                           "table that is not defined"},
    {"A\n\n  * $|B;$0|\n\nB\n\n  * $|A;$0|\n", "mapping loop: "},
    {"A\n\n  * $|A;$0|\n", "mapping loop: A -> A"},
    {"T nosuchscheme:x\n\n", "mappings:1: mapping table T: no available "
                             "mapping module serves the scheme "
                             "\"nosuchscheme\""},
    {"T\n\n  a $[nomod,fn,x]\n", "mappings:3: table T: module nomod is not "
                                 "available"},
    {"T\n\n  a $[test_mapfn,nofn,x]\n", "offers no function \"nofn\""},
    {"T\n\n  a ${k}\n", "needs the general database"},
    {"T\n\n  a $?x?\n", "$?N? needs a percentage"},
    {"T\n\n  a $:\n", "$: needs a flag letter"},
    {"<nosuchfile\n", "cannot read"},
};

START_TEST(mapping_diagnostics) {
  make_tmpdir();
  modreg *mods = NULL;
  config *cfg = rwtest_load("tests/data/rewrite", &mods);
  srcreg *sources = srcreg_new(mods, NULL);
  const diagcase *c = &diag_cases[_i];
  diag *d;
  mapset *ms = read_maps(c->text, sources, &d);
  bool found = false;
  for (guint i = 0; i < d->lines->len; i++) {
    const diag_line *l = d->lines->pdata[i];
    if (!l->warning && strstr(l->text, c->expect) != NULL)
      found = true;
  }
  if (!found)
    diag_print(d, stderr);
  ck_assert_msg(found, "no error \"%s\"", c->expect);
  mapset_free(&ms);
  diag_free(&d);
  srcreg_free(&sources);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
}
END_TEST

START_TEST(mapping_sources) {
  make_tmpdir();
  modreg *mods = NULL;
  config *cfg = rwtest_load("tests/data/rewrite", &mods);
  char *txt = write_file("big.txt", "! a table file\nalpha   A$Y\n"
                                     "b*      B-$0$Y\n# comment\n");
  char *kv = write_file("kv.txt", "k1 v1\nK2 v$ 2\nk1 dup\n");
  char *db = g_build_filename(tmpdir, "kv.tcdb", NULL);
  diag *d = diag_new();
  guint n = 0;
  ck_assert(kvdb_build(kv, db, d, &n));
  ck_assert_uint_eq(n, 2);
  diag_free(&d);
  GHashTable *dbs = g_hash_table_new(g_str_hash, g_str_equal);
  char *dbspec = g_strdup_printf("tcdb:%s", db);
  g_hash_table_insert(dbs, "", dbspec);
  srcreg *sources = srcreg_new(mods, dbs);
  g_hash_table_destroy(dbs);
  char *text = g_strdup_printf("FROMFILE file:%s\n\nFROMDB %s\n\nUSEDB\n\n"
                               "  * [${$0}]\n",
                               txt, dbspec);
  mapset *ms = read_maps(text, sources, &d);
  diag_print(d, stderr);
  ck_assert(!diag_has_errors(d));
  mapset_preload(ms, true, d);
  ck_assert(!diag_has_errors(d));
  APPLY_EQ(ms, "FROMFILE", "alpha", "A");
  APPLY_EQ(ms, "FROMFILE", "bravo", "B-ravo");
  APPLY_EQ(ms, "FROMFILE", "charlie", "(none)");
  APPLY_EQ(ms, "FROMDB", "K1", "v1");
  APPLY_EQ(ms, "FROMDB", "k2", "v 2");
  APPLY_EQ(ms, "FROMDB", "k3", "(none)");
  APPLY_EQ(ms, "USEDB", "k1", "[v1]");
  APPLY_EQ(ms, "USEDB", "k3", "(none)");
  GString *v = g_string_new(NULL);
  char *error = NULL;
  ck_assert_int_eq(srcreg_lookup(sources, "testurl:", "x/temp", v, &error),
                   CURSUS_TEMPFAIL);
  ck_assert_ptr_nonnull(strstr(error, "test source unavailable"));
  g_free(error);
  error = NULL;
  ck_assert_int_eq(srcreg_url(sources, "testurl:///abc", v, &error), CURSUS_OK);
  ck_assert_str_eq(v->str, "found-abc");
  ck_assert_int_eq(srcreg_lookup(sources, "tcdb:/no/such/file.tcdb", "k", v,
                                 &error),
                   CURSUS_TEMPFAIL);
  g_free(error);
  g_string_free(v, TRUE);
  mapset_free(&ms);
  diag_free(&d);
  srcreg_free(&sources);
  g_free(text);
  g_free(dbspec);
  g_free(db);
  g_free(kv);
  g_free(txt);
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
}
END_TEST

START_TEST(crdb_errors) {
  make_tmpdir();
  char *in = write_file("bad.txt", "ok value\nnovalue\n");
  char *out = g_build_filename(tmpdir, "bad.tcdb", NULL);
  diag *d = diag_new();
  guint n = 0;
  ck_assert(!kvdb_build(in, out, d, &n));
  ck_assert_ptr_nonnull(strstr(diag_first_error(d), "bad.txt:2:"));
  ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
  diag_free(&d);
  g_free(in);
  g_free(out);
}
END_TEST

/* ---------------------------------------------- the compiled image */

START_TEST(image_roundtrip) {
  make_tmpdir();
  diag *d;
  mapset *ms = read_maps(semantics, NULL, &d);
  char *apath = write_file("aliases", "staff: a@x.example, b@y.example\n"
                                      "Bob@Example.com: bob@z.example\n");
  aliasdb *al = aliasdb_new();
  aliasdb_read(al, apath, tmpdir, false, d);
  char *cdir = g_build_filename(tmpdir, "compiled", NULL);
  char *path = NULL, *error = NULL;
  GPtrArray *inputs = g_ptr_array_new();
  g_ptr_array_extend(inputs, ms->inputs, NULL, NULL);
  g_ptr_array_extend(inputs, al->inputs, NULL, NULL);
  ck_assert_msg(image_write(cdir, ms, al, inputs, NULL, &path, &error), "%s",
                error);
  g_ptr_array_free(inputs, TRUE);
  image *img = NULL;
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_OK);
  ck_assert_str_eq(image_path(img), path);
  mapset *ims = mapset_new(NULL);
  aliasdb *ial = aliasdb_new();
  image_load(img, ims, ial, d);
  ck_assert(!diag_has_errors(d) || d->errors == 1);
  /* every table answers the same from the image as from the text */
  static const char *const probes[][2] = {
      {"SIMPLE", "a"},     {"SIMPLE", "bcd"},   {"SIMPLE", "joe@x.com"},
      {"SIMPLE", " sp"},   {"SIMPLE", "zzz"},   {"CHAIN", "a"},
      {"CHAIN", "x"},      {"RESTART", "a.b.c"}, {"LAST", "a"},
      {"NEST", "a"},       {"NESTFAIL", "a"},   {"FLAGS", "case"},
      {"PROB", "never"},   {"NOSUCH", "x"}};
  for (size_t i = 0; i < G_N_ELEMENTS(probes); i++) {
    char *a = apply(ms, probes[i][0], probes[i][1], 0, NULL);
    char *b = apply(ims, probes[i][0], probes[i][1], 0, NULL);
    ck_assert_msg(strcmp(a, b) == 0, "%s %s: text %s, image %s", probes[i][0],
                  probes[i][1], a, b);
    g_free(a);
    g_free(b);
  }
  ck_assert_uint_eq(aliasdb_count(ial), 2);
  alias_def *def = NULL;
  bool owned = false;
  ck_assert_int_eq(aliasdb_lookup(ial, "STAFF", &def, &owned, &error),
                   CURSUS_OK);
  ck_assert(owned);
  ck_assert_uint_eq(def->members->len, 2);
  ck_assert_str_eq(def->members->pdata[1], "b@y.example");
  alias_def_free(def);
  ck_assert_int_eq(aliasdb_lookup(ial, "bob@example.com", &def, &owned, &error),
                   CURSUS_OK);
  alias_def_free(def);
  ck_assert_int_eq(aliasdb_lookup(ial, "nobody", &def, &owned, &error),
                   CURSUS_NONE);
  char *desc = image_describe(img);
  ck_assert_ptr_nonnull(strstr(desc, "2 aliases"));
  g_free(desc);
  /* a source changed after the build is reported */
  diag *d2 = diag_new();
  image_check_sources(img, d2);
  ck_assert_uint_eq(d2->warnings, 0);
  sleep(1);
  g_free(write_file("aliases", "staff: c@x.example\n"));
  image_check_sources(img, d2);
  ck_assert_uint_eq(d2->warnings, 1);
  diag_free(&d2);
  /* a second build: the first is kept (a running server may use it) */
  char *path2 = NULL;
  ck_assert(image_write(cdir, ms, al, ms->inputs, NULL, &path2, &error));
  ck_assert(g_file_test(path, G_FILE_TEST_EXISTS));
  ck_assert_str_ne(path, path2);
  mapset_free(&ims);
  aliasdb_free(&ial);
  image_close(&img);
  /* damaged pointer and image files are refused with a reason */
  char *cur = g_build_filename(cdir, "current", NULL);
  ck_assert(g_file_set_contents(cur, "../../etc/passwd\n", -1, NULL));
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "does not name an image"));
  g_free(error);
  ck_assert(g_file_set_contents(cur, "image-bogus.tch\n", -1, NULL));
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_PERMFAIL);
  g_free(error);
  char *bogus = g_build_filename(cdir, "image-bogus.tch", NULL);
  ck_assert(g_file_set_contents(bogus, "not a database", -1, NULL));
  chmod(bogus, 0644);
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_PERMFAIL);
  g_free(error);
  chmod(bogus, 0666);
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "refusing"));
  g_free(error);
  unlink(cur);
  ck_assert_int_eq(image_open(cdir, &img, &error), CURSUS_NONE);
  g_free(bogus);
  g_free(cur);
  g_free(path2);
  g_free(path);
  g_free(cdir);
  g_free(apath);
  aliasdb_free(&al);
  mapset_free(&ms);
  diag_free(&d);
}
END_TEST

/* --------------------------------------------------------- aliases */

typedef struct aliascase {
  const char *text;
  const char *expect;
} aliascase;

static const aliascase alias_diag_cases[] = {
    {"no colon here\n", "aliases:1: an alias is \"name: address"},
    {"a: x@y\na: z@w\n", "aliases:2: alias a is defined twice"},
    {"a: @@bad\n", "aliases:1: alias a: member \"@@bad\""},
    {"a: |/bin/prog\n", "program and file deliveries"},
    {"a: :include:missing.list\n", "aliases:1: alias a: cannot read"},
    {"  b@c\n", "aliases:1: indented line continues no alias"},
    {"bad name: x@y\n", "aliases:1: alias name \"bad name\""},
    {"a: <\n", "include names no file"},
};

START_TEST(alias_diagnostics) {
  make_tmpdir();
  const aliascase *c = &alias_diag_cases[_i];
  char *path = write_file("aliases", c->text);
  aliasdb *al = aliasdb_new();
  diag *d = diag_new();
  aliasdb_read(al, path, tmpdir, false, d);
  bool found = false;
  for (guint i = 0; i < d->lines->len; i++)
    if (strstr(((diag_line *)d->lines->pdata[i])->text, c->expect) != NULL)
      found = true;
  if (!found)
    diag_print(d, stderr);
  ck_assert_msg(found, "no error \"%s\"", c->expect);
  diag_free(&d);
  aliasdb_free(&al);
  g_free(path);
}
END_TEST

START_TEST(alias_reading) {
  make_tmpdir();
  g_free(write_file("one.list", "! list\n a@x.example\n\nb@x.example, "
                                "\"C D\" <cd@x.example>\n:include:two.list\n"));
  g_free(write_file("two.list", "e@x.example\n"));
  char *path = write_file("aliases",
                          "list: :include:one.list, z@x.example\n"
                          "cont: a@x.example,\\\n  b@x.example\n"
                          "wrapped: a@x.example,\n"
                          "   b@x.example\n"
                          "\n"
                          "url: <testurl:///multi\n");
  aliasdb *al = aliasdb_new();
  diag *d = diag_new();
  aliasdb_read(al, path, tmpdir, false, d);
  diag_print(d, stderr);
  ck_assert(!diag_has_errors(d));
  alias_def *def = NULL;
  bool owned;
  char *error = NULL;
  ck_assert_int_eq(aliasdb_lookup(al, "list", &def, &owned, &error), CURSUS_OK);
  ck_assert_uint_eq(def->members->len, 5);
  ck_assert_str_eq(def->members->pdata[2], "cd@x.example");
  ck_assert_str_eq(def->members->pdata[3], "e@x.example");
  ck_assert_str_eq(def->members->pdata[4], "z@x.example");
  ck_assert_int_eq(aliasdb_lookup(al, "cont", &def, &owned, &error), CURSUS_OK);
  ck_assert_uint_eq(def->members->len, 2);
  ck_assert_int_eq(aliasdb_lookup(al, "wrapped", &def, &owned, &error),
                   CURSUS_OK);
  ck_assert_uint_eq(def->members->len, 2);
  ck_assert_int_eq(aliasdb_lookup(al, "url", &def, &owned, &error), CURSUS_OK);
  ck_assert_str_eq(def->members->pdata[0], "<testurl:///multi");
  ck_assert_uint_ge(al->inputs->len, 3);
  diag_free(&d);
  aliasdb_free(&al);
  g_free(path);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("mapping");
  TCase *tc = tcase_create("mapping");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, NULL, drop_tmpdir);
  tcase_add_loop_test(tc, pattern_table, 0, G_N_ELEMENTS(pattern_cases));
  tcase_add_test(tc, pattern_errors);
  tcase_add_test(tc, mapping_semantics);
  tcase_add_loop_test(tc, mapping_diagnostics, 0, G_N_ELEMENTS(diag_cases));
  tcase_add_test(tc, mapping_sources);
  tcase_add_test(tc, crdb_errors);
  tcase_add_test(tc, image_roundtrip);
  tcase_add_loop_test(tc, alias_diagnostics, 0, G_N_ELEMENTS(alias_diag_cases));
  tcase_add_test(tc, alias_reading);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return rwtest_run(suite(), true); }
