/*
 * image.c - write and read the compiled configuration image (image.h)
 *
 * Records (key -> GVariant value):
 *   "\1manifest"              (u format, x built, a(stx) sources,
 *                              a(sssu) tables, u aliases, u entries)
 *   "W\0" TABLE               a(usssu) wildcard entries: index, pattern,
 *                              template, file, line
 *   "E\0" TABLE "\0" KEY      a(usssu) plain entries with that key
 *   "A\0" NAME                (suas) alias: file, line, members
 */
#include "build-config.h"
#include "image.h"
#include "alias/aliasdb.h"
#include "config/bundle.h"
#include "mapset.h"
#include "util/fsutil.h"
#include <cursus/common.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tcutil.h>
#include <tchdb.h>
#include <unistd.h>

#define MANIFEST_KEY "\1manifest"
#define MANIFEST_TYPE "(uxa(stx)a(sssu)uu)"
#define ENTRIES_TYPE "a(usssu)"
#define ALIAS_TYPE "(suas)"

struct image {
  char *path;
  TCHDB *hdb;
  GVariant *manifest;
  guint n_aliases;
  GStringChunk *strings;
};

const char *image_path(const image *img) { return img->path; }

guint image_alias_count(const image *img) { return img->n_aliases; }

char *image_current_name(const char *text) {
  char *name = g_strstrip(g_strdup(text));
  if (!g_str_has_prefix(name, "image-") || !g_str_has_suffix(name, ".tch") ||
      strchr(name, '/') != NULL || strlen(name) > 128) {
    g_free(name);
    return NULL;
  }
  return name;
}

static GVariant *get_record(const image *img, const void *key, int ksiz,
                            const char *type) {
  int size = 0;
  void *data = tchdbget(img->hdb, key, ksiz, &size);
  if (data == NULL)
    return NULL;
  GBytes *b = g_bytes_new_with_free_func(data, (gsize)size, free, data);
  GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE(type), b, FALSE);
  g_bytes_unref(b);
  return g_variant_ref_sink(v);
}

int image_open(const char *dir, image **img_r, char **error_r) {
  char *cur_path = g_build_filename(dir, "current", NULL);
  char *text = NULL, *trust = NULL;
  GError *error = NULL;
  *img_r = NULL;
  if (!bundle_exists(cur_path)) {
    g_free(cur_path);
    return CURSUS_NONE;
  }
  if (!bundle_get_contents(cur_path, &text, NULL, &error)) {
    bool absent = error->code == G_FILE_ERROR_NOENT;
    if (!absent)
      *error_r = g_strdup_printf("%s: %s", cur_path, error->message);
    g_error_free(error);
    g_free(cur_path);
    return absent ? CURSUS_NONE : CURSUS_PERMFAIL;
  }
  char *name = image_current_name(text);
  g_free(text);
  if (name == NULL) {
    *error_r = g_strdup_printf("%s does not name an image file (run "
                               "`cursus cnbuild`)",
                               cur_path);
    g_free(cur_path);
    return CURSUS_PERMFAIL;
  }
  g_free(cur_path);
  image *img = g_new0(image, 1);
  img->path = g_build_filename(dir, name, NULL);
  img->strings = g_string_chunk_new(256);
  g_free(name);
  if (!fs_check_trusted(img->path, false, &trust)) {
    *error_r = g_strdup_printf("refusing the compiled image: %s", trust);
    g_free(trust);
    image_close(&img);
    return CURSUS_PERMFAIL;
  }
  img->hdb = tchdbnew();
  tchdbsetmutex(img->hdb);
  tchdbsetxmsiz(img->hdb, 64LL << 20);
  if (!tchdbopen(img->hdb, img->path, HDBOREADER | HDBONOLCK)) {
    *error_r = g_strdup_printf("cannot open the compiled image %s: %s",
                               img->path,
                               tchdberrmsg(tchdbecode(img->hdb)));
    image_close(&img);
    return CURSUS_PERMFAIL;
  }
  img->manifest = get_record(img, MANIFEST_KEY, (int)strlen(MANIFEST_KEY),
                             MANIFEST_TYPE);
  guint32 format = 0;
  if (img->manifest != NULL)
    g_variant_get_child(img->manifest, 0, "u", &format);
  if (format != IMAGE_FORMAT) {
    *error_r = g_strdup_printf("%s is not a compiled image of format %d (run "
                               "`cursus cnbuild`)",
                               img->path, IMAGE_FORMAT);
    image_close(&img);
    return CURSUS_PERMFAIL;
  }
  guint32 n_aliases = 0;
  g_variant_get_child(img->manifest, 4, "u", &n_aliases);
  img->n_aliases = n_aliases;
  *img_r = img;
  return CURSUS_OK;
}

void image_close(image **imgp) {
  image *img = *imgp;
  if (img == NULL)
    return;
  *imgp = NULL;
  if (img->hdb != NULL) {
    tchdbclose(img->hdb);
    tchdbdel(img->hdb);
  }
  if (img->manifest != NULL)
    g_variant_unref(img->manifest);
  g_string_chunk_free(img->strings);
  g_free(img->path);
  g_free(img);
}

/* entries_key - "<KIND>\0TABLE[\0KEY]" */
static GByteArray *entries_key(char kind, const char *table, const char *key) {
  GByteArray *k = g_byte_array_new();
  guint8 zero = 0;
  g_byte_array_append(k, (const guint8 *)&kind, 1);
  g_byte_array_append(k, &zero, 1);
  g_byte_array_append(k, (const guint8 *)table, (guint)strlen(table));
  if (key != NULL) {
    g_byte_array_append(k, &zero, 1);
    g_byte_array_append(k, (const guint8 *)key, (guint)strlen(key));
  }
  return k;
}

/* add_entries - the entries of record V to T (or to OUT when not NULL) */
static void add_entries(image *img, mapset *ms, map_table *t, GVariant *v,
                        GPtrArray *out, diag *d) {
  GVariantIter it;
  guint32 index, line;
  const char *pattern, *tmpl, *file;
  mt_compile_info info = mapset_compile_info(ms);
  g_variant_iter_init(&it, v);
  while (g_variant_iter_next(&it, "(u&s&s&su)", &index, &pattern, &tmpl,
                             &file, &line)) {
    char *why = NULL;
    /* plain entries found by their key need no pattern */
    mpattern *pat = out == NULL ? pattern_compile(pattern, &why) : NULL;
    mtemplate *mt = out != NULL || pat != NULL
                        ? mtemplate_compile(tmpl, &info, &why)
                        : NULL;
    if (mt == NULL) {
      if (d != NULL)
        diag_error(d, file, line, "compiled image %s: table %s: %s",
                   img->path, t->name, why);
      g_free(why);
      pattern_free(&pat);
      continue;
    }
    map_entry *e = g_new0(map_entry, 1);
    e->pattern_text = g_strdup(pattern);
    e->template_text = g_strdup(tmpl);
    e->pattern = pat;
    e->tmpl = mt;
    e->file = g_string_chunk_insert_const(img->strings, file);
    e->line = line;
    e->index = index;
    if (out != NULL) {
      g_ptr_array_add(out, e);
    } else {
      g_ptr_array_add(t->entries, e);
      g_ptr_array_add(t->wild, e);
      GPtrArray *calls = g_ptr_array_new();
      mtemplate_calls(mt, calls);
      for (guint i = 0; i < calls->len; i++)
        g_ptr_array_add(t->calls, g_strdup(calls->pdata[i]));
      g_ptr_array_free(calls, TRUE);
    }
  }
}

void image_load(image *img, mapset *ms, aliasdb *al, diag *d) {
  GVariant *tables = g_variant_get_child_value(img->manifest, 3);
  GVariantIter it;
  const char *name, *file, *source;
  guint32 line;
  g_variant_iter_init(&it, tables);
  while (g_variant_iter_next(&it, "(&s&s&su)", &name, &file, &source, &line)) {
    map_table *t = mapset_add_table(ms, name, file, line,
                                    *source != '\0' ? source : NULL);
    t->in_image = true;
    GByteArray *k = entries_key('W', t->name, NULL);
    GVariant *w = get_record(img, k->data, (int)k->len, ENTRIES_TYPE);
    g_byte_array_free(k, TRUE);
    if (w != NULL) {
      add_entries(img, ms, t, w, NULL, d);
      g_variant_unref(w);
    }
  }
  g_variant_unref(tables);
  ms->img = img;
  if (al != NULL)
    al->img = img;
}

int image_plain_entries(const image *img, mapset *ms, const map_table *t,
                        const char *key, GPtrArray *out, char **error_r) {
  GByteArray *k = entries_key('E', t->name, key);
  GVariant *v = get_record(img, k->data, (int)k->len, ENTRIES_TYPE);
  g_byte_array_free(k, TRUE);
  if (v == NULL)
    return CURSUS_NONE;
  add_entries((image *)img, ms, (map_table *)t, v, out, NULL);
  g_variant_unref(v);
  return CURSUS_OK;
}

int image_alias(const image *img, const char *name, alias_def **def_r,
                char **error_r) {
  GByteArray *k = entries_key('A', name, NULL);
  GVariant *v = get_record(img, k->data, (int)k->len, ALIAS_TYPE);
  g_byte_array_free(k, TRUE);
  if (v == NULL)
    return CURSUS_NONE;
  const char *file;
  guint32 line;
  GVariantIter *members;
  const char *m;
  g_variant_get(v, "(&suas)", &file, &line, &members);
  alias_def *def = g_new0(alias_def, 1);
  def->name = g_strdup(name);
  def->members = g_ptr_array_new_with_free_func(g_free);
  def->file = g_string_chunk_insert_const(((image *)img)->strings, file);
  def->line = line;
  while (g_variant_iter_next(members, "&s", &m))
    g_ptr_array_add(def->members, g_strdup(m));
  g_variant_iter_free(members);
  g_variant_unref(v);
  *def_r = def;
  return CURSUS_OK;
}

void image_check_sources(const image *img, diag *d) {
  GVariant *sources = g_variant_get_child_value(img->manifest, 2);
  GVariantIter it;
  const char *path;
  guint64 size;
  gint64 mtime;
  g_variant_iter_init(&it, sources);
  while (g_variant_iter_next(&it, "(&stx)", &path, &size, &mtime)) {
    struct stat st;
    if (stat(path, &st) < 0)
      diag_warning(d, path, 0,
                   "compiled into %s but now missing; the server keeps using "
                   "the compiled image until `cursus cnbuild`",
                   img->path);
    else if ((guint64)st.st_size != size || (gint64)st.st_mtime != mtime)
      diag_warning(d, path, 0,
                   "changed since `cursus cnbuild` made %s; the server keeps "
                   "using the compiled image until you run cnbuild again",
                   img->path);
  }
  g_variant_unref(sources);
}

char *image_describe(const image *img) {
  gint64 built = 0;
  guint32 n_aliases = 0, n_entries = 0;
  g_variant_get_child(img->manifest, 1, "x", &built);
  g_variant_get_child(img->manifest, 4, "u", &n_aliases);
  g_variant_get_child(img->manifest, 5, "u", &n_entries);
  GVariant *tables = g_variant_get_child_value(img->manifest, 3);
  GDateTime *dt = g_date_time_new_from_unix_local(built);
  char *when = dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : NULL;
  char *s = g_strdup_printf("%s (built %s): %zu mapping tables, %u entries, "
                            "%u aliases",
                            img->path, when != NULL ? when : "?",
                            g_variant_n_children(tables), n_entries,
                            n_aliases);
  g_free(when);
  if (dt != NULL)
    g_date_time_unref(dt);
  g_variant_unref(tables);
  return s;
}

/* ------------------------------------------------------------ writing */

static bool put(TCHDB *hdb, GByteArray *key, GVariant *v, char **error_r) {
  g_variant_ref_sink(v);
  /* an empty array serialises to no data at all */
  const void *data = g_variant_get_data(v);
  bool ok = tchdbput(hdb, key->data, (int)key->len, data != NULL ? data : "",
                     (int)g_variant_get_size(v));
  if (!ok)
    *error_r = g_strdup(tchdberrmsg(tchdbecode(hdb)));
  g_variant_unref(v);
  return ok;
}

static void entry_tuple(GVariantBuilder *b, const map_entry *e) {
  g_variant_builder_add(b, "(usssu)", (guint32)e->index, e->pattern_text,
                        e->template_text, e->file != NULL ? e->file : "",
                        (guint32)e->line);
}

static bool write_tables(TCHDB *hdb, const mapset *ms, GVariantBuilder *tb,
                         guint32 *n_entries, char **error_r) {
  for (guint i = 0; i < ms->order->len; i++) {
    const map_table *t = ms->order->pdata[i];
    g_variant_builder_add(tb, "(sssu)", t->name, t->file != NULL ? t->file : "",
                          t->source != NULL ? t->source : "",
                          (guint32)t->line);
    GVariantBuilder wb;
    g_variant_builder_init(&wb, G_VARIANT_TYPE(ENTRIES_TYPE));
    for (guint j = 0; j < t->wild->len; j++)
      entry_tuple(&wb, t->wild->pdata[j]);
    GByteArray *k = entries_key('W', t->name, NULL);
    bool ok = put(hdb, k, g_variant_builder_end(&wb), error_r);
    g_byte_array_free(k, TRUE);
    if (!ok)
      return false;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, t->exact);
    while (g_hash_table_iter_next(&it, &key, &value)) {
      GVariantBuilder eb;
      g_variant_builder_init(&eb, G_VARIANT_TYPE(ENTRIES_TYPE));
      for (const map_entry *e = value; e != NULL; e = e->next_same)
        entry_tuple(&eb, e);
      k = entries_key('E', t->name, key);
      ok = put(hdb, k, g_variant_builder_end(&eb), error_r);
      g_byte_array_free(k, TRUE);
      if (!ok)
        return false;
    }
    *n_entries += (guint32)t->entries->len;
  }
  return true;
}

static bool write_aliases(TCHDB *hdb, const aliasdb *al, char **error_r) {
  for (guint i = 0; al != NULL && i < al->order->len; i++) {
    const alias_def *def = al->order->pdata[i];
    GVariantBuilder mb;
    g_variant_builder_init(&mb, G_VARIANT_TYPE("as"));
    for (guint j = 0; j < def->members->len; j++)
      g_variant_builder_add(&mb, "s", (char *)def->members->pdata[j]);
    GVariant *v = g_variant_new("(suas)", def->file != NULL ? def->file : "",
                                (guint32)def->line, &mb);
    GByteArray *k = entries_key('A', def->name, NULL);
    bool ok = put(hdb, k, v, error_r);
    g_byte_array_free(k, TRUE);
    if (!ok)
      return false;
  }
  return true;
}

static GVariant *sources_variant(const GPtrArray *inputs) {
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("a(stx)"));
  for (guint i = 0; inputs != NULL && i < inputs->len; i++) {
    struct stat st;
    const char *path = inputs->pdata[i];
    if (stat(path, &st) == 0)
      g_variant_builder_add(&b, "(stx)", path, (guint64)st.st_size,
                            (gint64)st.st_mtime);
  }
  return g_variant_builder_end(&b);
}

/* prune - remove old images but the current, KEEP_NAME and the newest
 * IMAGE_KEEP others */
static void prune(const char *dir, const char *current, const char *keep) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  GPtrArray *old = g_ptr_array_new_with_free_func(g_free);
  if (d == NULL)
    return;
  while ((name = g_dir_read_name(d)) != NULL) {
    if (g_str_has_prefix(name, "image-") && g_str_has_suffix(name, ".tch") &&
        strcmp(name, current) != 0 && (keep == NULL || strcmp(name, keep) != 0))
      g_ptr_array_add(old, g_strdup(name));
  }
  g_dir_close(d);
  /* names carry the build time: sorted, the oldest come first */
  g_ptr_array_sort(old, (GCompareFunc)g_strcmp0);
  for (guint i = 0; i < old->len; i++) {
    if (old->len - i <= IMAGE_KEEP)
      break;
    char *path = g_build_filename(dir, old->pdata[i], NULL);
    unlink(path);
    g_free(path);
  }
  g_ptr_array_free(old, TRUE);
}

bool image_write(const char *dir, const mapset *ms, const aliasdb *al,
                 const GPtrArray *inputs, const char *keep_name, char **path_r,
                 char **error_r) {
  if (!fs_mkdir_p(dir, 0755, error_r))
    return false;
  GDateTime *now = g_date_time_new_now_utc();
  char *stamp = g_date_time_format(now, "%Y%m%d%H%M%S");
  char *name = g_strdup_printf("image-%s-%06d-%08x.tch", stamp,
                               g_date_time_get_microsecond(now),
                               g_random_int());
  g_date_time_unref(now);
  g_free(stamp);
  char *path = g_build_filename(dir, name, NULL);
  char *tmp = g_strdup_printf("%s.tmp", path);
  guint32 n_entries = 0;
  bool ok = false;

  TCHDB *hdb = tchdbnew();
  gsize count = 16;
  for (guint i = 0; i < ms->order->len; i++)
    count += ((map_table *)ms->order->pdata[i])->entries->len;
  count += al != NULL ? al->order->len : 0;
  tchdbtune(hdb, (int64_t)(count * 2), -1, -1, HDBTLARGE);
  if (!tchdbopen(hdb, tmp, HDBOWRITER | HDBOCREAT | HDBOTRUNC)) {
    *error_r = g_strdup_printf("cannot create %s: %s", tmp,
                               tchdberrmsg(tchdbecode(hdb)));
    tchdbdel(hdb);
    goto out;
  }
  GVariantBuilder tb;
  g_variant_builder_init(&tb, G_VARIANT_TYPE("a(sssu)"));
  char *why = NULL;
  ok = write_tables(hdb, ms, &tb, &n_entries, &why) &&
       write_aliases(hdb, al, &why);
  GVariant *tables = g_variant_builder_end(&tb);
  if (ok) {
    GVariant *manifest = g_variant_new(
        "(ux@a(stx)@a(sssu)uu)", (guint32)IMAGE_FORMAT, (gint64)g_get_real_time() / 1000000,
        sources_variant(inputs), tables, al != NULL ? al->order->len : 0u,
        n_entries);
    GByteArray *k = g_byte_array_new();
    g_byte_array_append(k, (const guint8 *)MANIFEST_KEY, strlen(MANIFEST_KEY));
    ok = put(hdb, k, manifest, &why);
    g_byte_array_free(k, TRUE);
  } else {
    g_variant_unref(g_variant_ref_sink(tables));
  }
  if (ok && !tchdbsync(hdb)) {
    why = g_strdup(tchdberrmsg(tchdbecode(hdb)));
    ok = false;
  }
  if (!tchdbclose(hdb) && ok) {
    why = g_strdup(tchdberrmsg(tchdbecode(hdb)));
    ok = false;
  }
  tchdbdel(hdb);
  if (!ok) {
    *error_r = g_strdup_printf("writing %s: %s", tmp, why);
    g_free(why);
    unlink(tmp);
    goto out;
  }
  if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
    *error_r = g_strdup_printf("cannot install %s: %s", path,
                               g_strerror(errno));
    unlink(tmp);
    ok = false;
    goto out;
  }
  char *cur = g_build_filename(dir, "current", NULL);
  char *text = g_strdup_printf("%s\n", name);
  ok = fs_fsync_dir(dir, error_r) &&
       fs_write_atomic(cur, text, strlen(text), 0644, error_r);
  g_free(cur);
  g_free(text);
  if (ok) {
    prune(dir, name, keep_name);
    *path_r = g_strdup(path);
  }
out:
  g_free(tmp);
  g_free(path);
  g_free(name);
  return ok;
}
