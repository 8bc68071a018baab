/*
 * mapset.c - mapping tables: building, reading the MAPPINGS file,
 * cross-checks and applying a table (see mapset.h)
 */
#include "build-config.h"
#include "config/bundle.h"
#include "mapset.h"
#include "image.h"
#include <cursus/common.h>

#include <string.h>

/* Most entries tried in one application (all passes together). */
#define MAP_MAX_STEPS 100000

static void entry_free(void *p) {
  map_entry *e = p;
  g_free(e->pattern_text);
  g_free(e->template_text);
  pattern_free(&e->pattern);
  mtemplate_free(&e->tmpl);
  g_free(e);
}

static void table_free(void *p) {
  map_table *t = p;
  g_free(t->name);
  g_free(t->source);
  g_ptr_array_free(t->entries, TRUE);
  g_hash_table_destroy(t->exact);
  g_ptr_array_free(t->wild, TRUE);
  g_ptr_array_free(t->calls, TRUE);
  g_free(t);
}

void map_result_init(map_result *r) {
  memset(r, 0, sizeof(*r));
  r->out = g_string_new(NULL);
}

void map_result_clear(map_result *r) {
  if (r->out != NULL)
    g_string_free(r->out, TRUE);
  r->out = NULL;
}

unsigned mapset_session_flag(char c) {
  c = g_ascii_toupper(c);
  return c >= 'A' && c <= 'Z' ? 1u << (c - 'A') : 0;
}

mapset *mapset_new(srcreg *sources) {
  mapset *ms = g_new0(mapset, 1);
  ms->tables = g_hash_table_new(g_str_hash, g_str_equal);
  ms->order = g_ptr_array_new_with_free_func(table_free);
  ms->strings = g_string_chunk_new(1024);
  ms->sources = sources;
  ms->inputs = g_ptr_array_new_with_free_func(g_free);
  g_mutex_init(&ms->lock);
  return ms;
}

void mapset_free(mapset **msp) {
  mapset *ms = *msp;
  if (ms == NULL)
    return;
  *msp = NULL;
  g_hash_table_destroy(ms->tables);
  g_ptr_array_free(ms->order, TRUE);
  g_string_chunk_free(ms->strings);
  g_ptr_array_free(ms->inputs, TRUE);
  g_mutex_clear(&ms->lock);
  g_free(ms);
}

map_table *mapset_table(const mapset *ms, const char *name) {
  char key[MAP_NAME_MAX + 1];
  size_t n = strlen(name);
  if (n > MAP_NAME_MAX)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    key[i] = g_ascii_toupper(name[i]);
  return g_hash_table_lookup(ms->tables, key);
}

map_table *mapset_add_table(mapset *ms, const char *name, const char *file,
                            unsigned line, const char *source) {
  map_table *t = g_new0(map_table, 1);
  t->name = g_ascii_strup(name, -1);
  t->file = file != NULL ? g_string_chunk_insert_const(ms->strings, file)
                         : NULL;
  t->line = line;
  t->source = g_strdup(source);
  t->entries = g_ptr_array_new_with_free_func(entry_free);
  t->exact = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  t->wild = g_ptr_array_new();
  t->calls = g_ptr_array_new_with_free_func(g_free);
  g_hash_table_insert(ms->tables, t->name, t);
  g_ptr_array_add(ms->order, t);
  return t;
}

static bool is_database(void *data, const char *name) {
  mapset *ms = data;
  return ms->sources != NULL && srcreg_has_database(ms->sources, name);
}

mt_compile_info mapset_compile_info(mapset *ms) {
  mt_compile_info info = {.is_database = is_database, .data = ms};
  return info;
}

bool mapset_add_entry(mapset *ms, map_table *t, const char *pattern,
                      const char *template_, const char *file, unsigned line,
                      char **error_r) {
  mt_compile_info info = mapset_compile_info(ms);
  char *why = NULL;
  mpattern *pat = pattern_compile(pattern, &why);
  if (pat == NULL) {
    *error_r = g_strdup_printf("table %s: pattern \"%s\": %s", t->name,
                               pattern, why);
    g_free(why);
    return false;
  }
  mtemplate *tmpl = mtemplate_compile(template_, &info, &why);
  if (tmpl == NULL) {
    *error_r = g_strdup_printf("table %s: template \"%s\": %s", t->name,
                               template_, why);
    g_free(why);
    pattern_free(&pat);
    return false;
  }
  map_entry *e = g_new0(map_entry, 1);
  e->pattern_text = g_strdup(pattern);
  e->template_text = g_strdup(template_);
  e->pattern = pat;
  e->tmpl = tmpl;
  e->file = file != NULL ? g_string_chunk_insert_const(ms->strings, file)
                         : NULL;
  e->line = line;
  e->index = t->entries->len;
  g_ptr_array_add(t->entries, e);
  t->n_entries++;
  if (pattern_is_literal(pat)) {
    map_entry *first = g_hash_table_lookup(t->exact, pattern_literal(pat));
    if (first == NULL) {
      g_hash_table_insert(t->exact, g_strdup(pattern_literal(pat)), e);
    } else {
      while (first->next_same != NULL)
        first = first->next_same;
      first->next_same = e;
    }
  } else {
    g_ptr_array_add(t->wild, e);
  }
  GPtrArray *calls = g_ptr_array_new();
  mtemplate_calls(tmpl, calls);
  for (guint i = 0; i < calls->len; i++)
    if (!g_ptr_array_find_with_equal_func(t->calls, calls->pdata[i],
                                          g_str_equal, NULL))
      g_ptr_array_add(t->calls, g_strdup(calls->pdata[i]));
  g_ptr_array_free(calls, TRUE);
  return true;
}

/* ----------------------------------------------------------- reading */

/* split_entry - "pattern template" of an entry line, with `$ ` quoting;
 * false with *error_r */
static bool split_entry(const char *text, char **pattern_r, char **template_r,
                        char **error_r) {
  const char *p = text;
  while (g_ascii_isspace(*p))
    p++;
  const char *ps = p;
  while (*p != '\0' && !g_ascii_isspace(*p)) {
    if (*p == '$' && p[1] != '\0')
      p++;
    p++;
  }
  const char *pe = p;
  while (g_ascii_isspace(*p))
    p++;
  if (*p == '\0') {
    *error_r = g_strdup_printf("entry \"%s\" has no template (pattern and "
                               "template are separated by white space)",
                               ps);
    return false;
  }
  const char *ts = p;
  while (*p != '\0' && !g_ascii_isspace(*p)) {
    if (*p == '$' && p[1] != '\0')
      p++;
    p++;
  }
  const char *te = p;
  while (g_ascii_isspace(*p))
    p++;
  if (*p != '\0') {
    *error_r = g_strdup_printf("unexpected text after the template: \"%s\" "
                               "(quote spaces as \"$ \")",
                               p);
    return false;
  }
  *pattern_r = g_strndup(ps, pe - ps);
  *template_r = g_strndup(ts, te - ts);
  return true;
}

static bool table_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > MAP_NAME_MAX)
    return false;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
      return false;
  return true;
}

/* start_table - a table-name line */
static map_table *start_table(mapset *ms, const srcline *l, diag *d) {
  const char *error = NULL;
  char **tok = srcfile_split(l->text, &error);
  map_table *t = NULL;
  if (tok == NULL) {
    diag_error(d, l->file, l->line, "%s", error);
    return NULL;
  }
  if (tok[0] == NULL || !table_name_ok(tok[0])) {
    diag_error(d, l->file, l->line,
               "invalid mapping table name \"%s\" (letters, digits, '_', "
               "'-' and '.', at most %d)",
               tok[0] != NULL ? tok[0] : "", MAP_NAME_MAX);
  } else if (tok[1] != NULL && tok[2] != NULL) {
    diag_error(d, l->file, l->line,
               "a table name line holds the name and at most a source spec "
               "(entries are indented on the lines after a blank line)");
  } else {
    map_table *dup = mapset_table(ms, tok[0]);
    if (dup != NULL) {
      diag_error(d, l->file, l->line,
                 "mapping table %s is defined twice (first at %s:%u)", tok[0],
                 dup->file, dup->line);
    } else {
      t = mapset_add_table(ms, tok[0], l->file, l->line, tok[1]);
      char *why = NULL;
      if (tok[1] != NULL && ms->sources != NULL &&
          !srcreg_check_spec(ms->sources, tok[1], &why)) {
        diag_error(d, l->file, l->line, "mapping table %s: %s", tok[0], why);
        g_free(why);
      }
    }
  }
  g_strfreev(tok);
  return t;
}

bool mapset_read(mapset *ms, const char *path, const char *base_dir,
                 bool optional, diag *d) {
  if (optional && !bundle_exists(path))
    return true;
  srcfile *src = srcfile_read(path, base_dir, d);
  if (src == NULL)
    return false;
  enum { WANT_NAME, WANT_BLANK, IN_ENTRIES } state = WANT_NAME;
  map_table *t = NULL;
  for (guint i = 0; i < src->lines->len; i++) {
    const srcline *l = src->lines->pdata[i];
    bool indented = l->text[0] == ' ' || l->text[0] == '\t';
    if (!g_ptr_array_find_with_equal_func(ms->inputs, l->file, g_str_equal,
                                          NULL))
      g_ptr_array_add(ms->inputs, g_strdup(l->file));
    if (l->blank) {
      if (state == WANT_BLANK)
        state = IN_ENTRIES;
      else if (state == IN_ENTRIES)
        state = WANT_NAME;
      continue;
    }
    if (state == WANT_BLANK) {
      diag_error(d, l->file, l->line,
                 "the line after the name of mapping table %s must be blank",
                 t != NULL ? t->name : "");
      state = IN_ENTRIES;
    }
    if (state == WANT_NAME || !indented) {
      if (indented) {
        diag_error(d, l->file, l->line,
                   "entry outside of any mapping table (a table starts with "
                   "its name in column 1, then a blank line)");
        continue;
      }
      /* the blank line after a table's name also ends a table without
       * entries (one served by a source) */
      if (state == IN_ENTRIES && t != NULL && t->entries->len > 0)
        diag_error(d, l->file, l->line,
                   "table name must follow a blank line (or indent this "
                   "entry)");
      t = start_table(ms, l, d);
      state = WANT_BLANK;
      continue;
    }
    if (t == NULL)
      continue; /* the table's name line was refused */
    char *pattern = NULL, *template_ = NULL, *error = NULL;
    if (!split_entry(l->text, &pattern, &template_, &error) ||
        !mapset_add_entry(ms, t, pattern, template_, l->file, l->line,
                          &error)) {
      diag_error(d, l->file, l->line, "%s", error);
      g_free(error);
    }
    g_free(pattern);
    g_free(template_);
  }
  /* file names in srcline are interned in SRC: keep our own copies */
  srcfile_free(&src);
  return true;
}

/* --------------------------------------------------------- checks */

/* find_cycle - depth-first search of table calls; a cycle through T is
 * reported once at the table that closes it */
static bool find_cycle(mapset *ms, map_table *t, GPtrArray *stack,
                       GHashTable *done, diag *d) {
  if (g_hash_table_contains(done, t->name))
    return false;
  for (guint i = 0; i < stack->len; i++) {
    if (stack->pdata[i] == t) {
      GString *chain = g_string_new(NULL);
      for (guint j = i; j < stack->len; j++)
        g_string_append_printf(chain, "%s -> ",
                               ((map_table *)stack->pdata[j])->name);
      g_string_append(chain, t->name);
      map_table *last = stack->pdata[stack->len - 1];
      diag_error(d, last->file, last->line, "mapping loop: %s", chain->str);
      g_string_free(chain, TRUE);
      return true;
    }
  }
  g_ptr_array_add(stack, t);
  bool found = false;
  for (guint i = 0; i < t->calls->len && !found; i++) {
    map_table *c = mapset_table(ms, t->calls->pdata[i]);
    if (c != NULL)
      found = find_cycle(ms, c, stack, done, d);
  }
  g_ptr_array_remove_index(stack, stack->len - 1);
  g_hash_table_add(done, t->name);
  return found;
}

/* check_entry_callouts - the tables, modules, functions and databases an
 * entry calls exist */
static void check_entry_callouts(mapset *ms, const map_table *t,
                                 const map_entry *e, diag *d) {
  GPtrArray *mods = g_ptr_array_new(), *fns = g_ptr_array_new(),
            *schemes = g_ptr_array_new(), *dbs = g_ptr_array_new(),
            *calls = g_ptr_array_new();
  char *why = NULL;
  mtemplate_callouts(e->tmpl, mods, fns, schemes, dbs);
  mtemplate_calls(e->tmpl, calls);
  for (guint i = 0; i < calls->len; i++)
    if (mapset_table(ms, calls->pdata[i]) == NULL)
      diag_error(d, e->file, e->line,
                 "table %s: $|%s;...| calls a mapping table that is not "
                 "defined",
                 t->name, (char *)calls->pdata[i]);
  for (guint i = 0; ms->sources != NULL && i < mods->len; i++)
    if (!srcreg_check_function(ms->sources, mods->pdata[i], fns->pdata[i],
                               &why)) {
      diag_error(d, e->file, e->line, "table %s: %s", t->name, why);
      g_free(why);
      why = NULL;
    }
  for (guint i = 0; ms->sources != NULL && i < schemes->len; i++) {
    char *scheme = srcreg_scheme(schemes->pdata[i]);
    char *spec = scheme != NULL ? g_strdup_printf("%s:", scheme) : NULL;
    if (spec != NULL && !srcreg_check_spec(ms->sources, spec, &why)) {
      diag_error(d, e->file, e->line, "table %s: $]...[ %s", t->name, why);
      g_free(why);
      why = NULL;
    }
    g_free(scheme);
    g_free(spec);
  }
  for (guint i = 0; ms->sources != NULL && i < dbs->len; i++)
    if (!srcreg_has_database(ms->sources, dbs->pdata[i]))
      diag_error(d, e->file, e->line,
                 "table %s: ${...} needs %s (cursus.conf)", t->name,
                 *(char *)dbs->pdata[i] == '\0'
                     ? "the general database: [mta] general_database"
                     : "that database in [databases]");
  g_ptr_array_free(mods, TRUE);
  g_ptr_array_free(fns, TRUE);
  g_ptr_array_free(schemes, TRUE);
  g_ptr_array_free(dbs, TRUE);
  g_ptr_array_free(calls, TRUE);
}

void mapset_check(mapset *ms, diag *d) {
  GHashTable *done = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *stack = g_ptr_array_new();
  for (guint i = 0; i < ms->order->len; i++) {
    map_table *t = ms->order->pdata[i];
    find_cycle(ms, t, stack, done, d);
    for (guint j = 0; j < t->entries->len; j++)
      check_entry_callouts(ms, t, t->entries->pdata[j], d);
  }
  g_ptr_array_free(stack, TRUE);
  g_hash_table_destroy(done);
}

/* --------------------------------------------------------- applying */

typedef struct apply_state {
  const mapset *ms;
  const map_table *t;
  const map_ctx *ctx;
  char **error_r;
} apply_state;

static void trace_line(const map_ctx *ctx, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void trace_line(const map_ctx *ctx, const char *fmt, ...) {
  if (ctx == NULL || ctx->trace == NULL)
    return;
  va_list args;
  va_start(args, fmt);
  g_string_append(ctx->trace, ctx->indent != NULL ? ctx->indent : "");
  for (unsigned i = 0; i < ctx->depth; i++)
    g_string_append(ctx->trace, "  ");
  g_string_append_vprintf(ctx->trace, fmt, args);
  g_string_append_c(ctx->trace, '\n');
  va_end(args);
}

/* try_entry - E's template for INPUT; CURSUS_OK when it applies */
static int try_entry(apply_state *st, const map_entry *e, const char *input,
                     const pmatch *m, GString *out, map_flags *flags,
                     int *control) {
  map_flags f = {0};
  int ctl = MT_CONTROL_NONE;
  g_string_truncate(out, 0);
  int rc = mtemplate_eval(e->tmpl, input, m, st->ms, st->ctx, out, &f, &ctl,
                          st->error_r);
  if (rc == CURSUS_OK) {
    for (size_t i = 0; i < sizeof(f.bits); i++)
      flags->bits[i] |= f.bits[i];
    if (map_flags_has(&f, 'Y'))
      map_flags_clear(flags, 'N');
    if (map_flags_has(&f, 'N'))
      map_flags_clear(flags, 'Y');
    *control = ctl;
    if (st->ctx != NULL && st->ctx->trace != NULL) {
      GString *fs = g_string_new(NULL);
      map_flags_string(&f, fs);
      trace_line(st->ctx, "%s \"%s\": entry %s:%u \"%s\" -> \"%s\"%s%s",
                 st->t->name, input, e->file != NULL ? e->file : "?", e->line,
                 e->pattern_text, out->str, fs->len > 0 ? " " : "", fs->str);
      g_string_free(fs, TRUE);
    }
  } else if (rc == CURSUS_NONE) {
    trace_line(st->ctx, "%s \"%s\": entry %s:%u \"%s\" matches but fails",
               st->t->name, input, e->file != NULL ? e->file : "?", e->line,
               e->pattern_text);
  }
  return rc;
}

/* plain_first - the plain entry for INPUT with the lowest index >= START */
static const map_entry *plain_first(const map_table *t, const char *folded,
                                    unsigned start) {
  const map_entry *e = g_hash_table_lookup(t->exact, folded);
  while (e != NULL && e->index < start)
    e = e->next_same;
  return e;
}

/* find_apply - the first entry at or after START that applies to INPUT.
 * Returns its index + 1 (0 when none) in *found_r. */
static int find_apply(apply_state *st, const char *input, unsigned start,
                      GString *out, map_flags *flags, int *control,
                      unsigned *found_r, unsigned long *steps) {
  const map_table *t = st->t;
  size_t len = strlen(input);
  char *folded = pattern_fold(input, len);
  GPtrArray *img_entries = NULL;
  const map_entry *plain = plain_first(t, folded, start);
  guint img_pos = 0;
  int rc = CURSUS_NONE;

  if (t->in_image && st->ms->img != NULL) {
    img_entries = g_ptr_array_new_with_free_func(entry_free);
    rc = image_plain_entries(st->ms->img, (mapset *)st->ms, t, folded,
                             img_entries, st->error_r);
    if (rc < 0)
      goto out;
    rc = CURSUS_NONE;
  }
  *found_r = 0;
  guint w = 0;
  while (w < t->wild->len &&
         ((const map_entry *)t->wild->pdata[w])->index < start)
    w++;
  while (img_entries != NULL && img_pos < img_entries->len &&
         ((map_entry *)img_entries->pdata[img_pos])->index < start)
    img_pos++;
  for (;;) {
    const map_entry *wild = w < t->wild->len ? t->wild->pdata[w] : NULL;
    const map_entry *img = img_entries != NULL && img_pos < img_entries->len
                               ? img_entries->pdata[img_pos]
                               : NULL;
    const map_entry *next = wild;
    if (plain != NULL && (next == NULL || plain->index < next->index))
      next = plain;
    if (img != NULL && (next == NULL || img->index < next->index))
      next = img;
    if (next == NULL)
      break;
    if (++*steps > MAP_MAX_STEPS) {
      trace_line(st->ctx, "%s: step limit reached", t->name);
      break;
    }
    pmatch m;
    bool matched;
    if (next == wild) {
      w++;
      matched = pattern_match(next->pattern, input, len, &m);
    } else {
      if (next == plain)
        plain = plain->next_same;
      else
        img_pos++;
      memset(&m, 0, sizeof(m));
      matched = true;
    }
    if (!matched)
      continue;
    rc = try_entry(st, next, input, &m, out, flags, control);
    if (rc == CURSUS_OK) {
      *found_r = next->index + 1;
      break;
    }
    if (rc < 0)
      break;
  }
out:
  if (img_entries != NULL)
    g_ptr_array_free(img_entries, TRUE);
  g_free(folded);
  return rc;
}

/* source_apply - a table served by a source that cannot be enumerated:
 * look INPUT up; the value is the template */
static int source_apply(apply_state *st, const char *input, GString *out,
                        map_flags *flags, int *control, unsigned *found_r) {
  GString *value = g_string_new(NULL);
  int rc = srcreg_lookup(st->ms->sources, st->t->source, input, value,
                         st->error_r);
  *found_r = 0;
  if (rc == CURSUS_OK) {
    mt_compile_info info = mapset_compile_info((mapset *)st->ms);
    char *why = NULL;
    mtemplate *tmpl = mtemplate_compile(value->str, &info, &why);
    if (tmpl == NULL) {
      *st->error_r = g_strdup_printf("table %s: the value %s gives for \"%s\" "
                                     "is not a valid template: %s",
                                     st->t->name, st->t->source, input, why);
      g_free(why);
      rc = CURSUS_TEMPFAIL;
    } else {
      map_entry e = {.pattern_text = (char *)input,
                     .template_text = value->str,
                     .tmpl = tmpl,
                     .file = st->t->source};
      pmatch m = {0};
      rc = try_entry(st, &e, input, &m, out, flags, control);
      if (rc == CURSUS_OK)
        *found_r = 1;
      mtemplate_free(&tmpl);
    }
  } else if (rc == CURSUS_NONE) {
    trace_line(st->ctx, "%s \"%s\": not in %s", st->t->name, input,
               st->t->source);
  }
  g_string_free(value, TRUE);
  return rc;
}

/* table_forget_entries - drop every entry of T */
static void table_forget_entries(map_table *t) {
  g_ptr_array_set_size(t->wild, 0);
  g_hash_table_remove_all(t->exact);
  g_ptr_array_set_size(t->entries, 0);
  t->n_entries = 0;
}

typedef struct load_state {
  mapset *ms;
  map_table *t;
  char *error;
  unsigned n;
} load_state;

static int load_entry(void *data, const char *key, const char *value) {
  load_state *ls = data;
  if (ls->error != NULL)
    return 1;
  mapset_add_entry(ls->ms, ls->t, key, value, ls->t->source, ++ls->n,
                   &ls->error);
  return ls->error != NULL;
}

/* load_source_entries - a table served by an enumerable source gets its
 * entries on first use; *enumerable_r false when the source only answers
 * lookups */
static int load_source_entries(apply_state *st, bool *enumerable_r) {
  map_table *t = (map_table *)st->t;
  mapset *ms = (mapset *)st->ms;
  int rc = CURSUS_OK;
  g_mutex_lock(&ms->lock);
  if (t->source_state == 0) {
    load_state ls = {.ms = ms, .t = t};
    rc = srcreg_iterate(ms->sources, t->source, load_entry, &ls, st->error_r);
    if (rc == CURSUS_OK && ls.error != NULL) {
      *st->error_r = ls.error;
      rc = CURSUS_TEMPFAIL;
    } else {
      g_free(ls.error);
    }
    if (rc == CURSUS_OK)
      t->source_state = 1;
    else if (rc == CURSUS_NONE)
      t->source_state = 2;
    else
      table_forget_entries(t); /* no half-loaded table */
  }
  *enumerable_r = t->source_state != 2;
  g_mutex_unlock(&ms->lock);
  return rc == CURSUS_NONE ? CURSUS_OK : rc;
}

int mapset_apply(const mapset *ms, const char *name, const char *input,
                 const map_ctx *ctx, map_result *res, char **error_r) {
  map_table *t = mapset_table(ms, name);
  apply_state st = {.ms = ms, .t = t, .ctx = ctx, .error_r = error_r};
  bool enumerable = true;
  res->matched = false;
  g_string_truncate(res->out, 0);
  memset(&res->flags, 0, sizeof(res->flags));
  if (t == NULL)
    return CURSUS_OK;
  if (t->source != NULL && ms->sources != NULL && t->source_state != 1) {
    int rc = load_source_entries(&st, &enumerable);
    if (rc != CURSUS_OK)
      return rc;
  }

  GString *cur = g_string_new(input);
  GString *out = g_string_new(NULL);
  unsigned start = 0, passes = 0;
  size_t prev_len = cur->len;
  unsigned long steps = 0;
  bool extra_pass = false, extra_done = false;
  int rc = CURSUS_OK;

  for (;;) {
    unsigned found = 0;
    int control = MT_CONTROL_NONE;
    if (!enumerable) {
      rc = start == 0 ? source_apply(&st, cur->str, out, &res->flags,
                                     &control, &found)
                      : CURSUS_NONE;
    } else {
      rc = find_apply(&st, cur->str, start, out, &res->flags, &control,
                      &found, &steps);
    }
    if (rc < 0)
      break;
    rc = CURSUS_OK;
    if (found == 0) {
      if (extra_pass && !extra_done) {
        extra_done = true;
        start = 0;
        continue;
      }
      break;
    }
    res->matched = true;
    res->file = NULL;
    g_string_assign(cur, out->str);
    if (control == MT_CONTROL_NONE || control == MT_CONTROL_E)
      break;
    start = control == MT_CONTROL_R ? 0 : found;
    if (control == MT_CONTROL_L)
      extra_pass = true;
    if (control == MT_CONTROL_R) {
      passes = cur->len >= prev_len ? passes + 1 : 0;
      prev_len = cur->len;
      if (passes > MAP_MAX_PASSES) {
        trace_line(ctx, "%s: %d passes without shortening the string; "
                        "stopping",
                   t->name, MAP_MAX_PASSES);
        break;
      }
    }
    if (steps > MAP_MAX_STEPS)
      break;
  }
  if (rc == CURSUS_OK) {
    g_string_assign(res->out, cur->str);
    if (!res->matched)
      trace_line(ctx, "%s \"%s\": no entry matches", t->name, input);
  }
  g_string_free(cur, TRUE);
  g_string_free(out, TRUE);
  return rc;
}

void mapset_preload(mapset *ms, bool strict, diag *d) {
  for (guint i = 0; ms->sources != NULL && i < ms->order->len; i++) {
    map_table *t = ms->order->pdata[i];
    if (t->source == NULL || t->source_state != 0)
      continue;
    char *error = NULL;
    bool enumerable;
    apply_state st = {.ms = ms, .t = t, .error_r = &error};
    if (load_source_entries(&st, &enumerable) != CURSUS_OK) {
      if (strict)
        diag_error(d, t->file, t->line, "mapping table %s: %s", t->name,
                   error);
      else
        diag_warning(d, t->file, t->line, "mapping table %s: %s", t->name,
                     error);
    }
    g_free(error);
  }
}
