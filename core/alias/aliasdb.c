/*
 * aliasdb.c - read the aliases file (see aliasdb.h)
 */
#include "build-config.h"
#include "aliasdb.h"
#include "addr/addr.h"
#include "config/bundle.h"
#include "config/srcfile.h"
#include "mapping/image.h"
#include "util/fsutil.h"
#include <cursus/common.h>

#include <string.h>

void alias_def_free(alias_def *def) {
  if (def == NULL)
    return;
  g_free(def->name);
  g_ptr_array_free(def->members, TRUE);
  g_free(def);
}

aliasdb *aliasdb_new(void) {
  aliasdb *db = g_new0(aliasdb, 1);
  db->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  db->order = g_ptr_array_new_with_free_func((GDestroyNotify)alias_def_free);
  db->strings = g_string_chunk_new(1024);
  db->inputs = g_ptr_array_new_with_free_func(g_free);
  return db;
}

void aliasdb_free(aliasdb **dbp) {
  aliasdb *db = *dbp;
  if (db == NULL)
    return;
  *dbp = NULL;
  g_hash_table_destroy(db->by_name);
  g_ptr_array_free(db->order, TRUE);
  g_string_chunk_free(db->strings);
  g_ptr_array_free(db->inputs, TRUE);
  g_free(db);
}

guint aliasdb_count(const aliasdb *db) {
  return db->img != NULL ? image_alias_count(db->img) : db->order->len;
}

alias_def *aliasdb_add(aliasdb *db, const char *name, const char *file,
                       unsigned line) {
  alias_def *def = g_new0(alias_def, 1);
  def->name = g_ascii_strdown(name, -1);
  def->members = g_ptr_array_new_with_free_func(g_free);
  def->file = file != NULL ? g_string_chunk_insert_const(db->strings, file)
                           : NULL;
  def->line = line;
  g_hash_table_insert(db->by_name, def->name, def);
  g_ptr_array_add(db->order, def);
  return def;
}

int aliasdb_lookup(const aliasdb *db, const char *name, alias_def **def_r,
                   bool *owned_r, char **error_r) {
  char *key = g_ascii_strdown(name, -1);
  int rc;
  *owned_r = false;
  if (db->img != NULL) {
    rc = image_alias(db->img, key, def_r, error_r);
    *owned_r = rc == CURSUS_OK;
  } else {
    *def_r = g_hash_table_lookup(db->by_name, key);
    rc = *def_r != NULL ? CURSUS_OK : CURSUS_NONE;
  }
  g_free(key);
  return rc;
}

/* ----------------------------------------------------------- reading */

/* note_input - remember a file read, for the compiled image */
static void note_input(aliasdb *db, const char *path) {
  if (!g_ptr_array_find_with_equal_func(db->inputs, path, g_str_equal, NULL))
    g_ptr_array_add(db->inputs, g_strdup(path));
}

typedef struct reader {
  aliasdb *db;
  const char *base_dir;
  diag *d;
} reader;

/* split_members - the comma-separated members of TEXT: commas inside
 * quotes or angle brackets do not separate, and a "<file" or "<URL"
 * member runs to the next white space (an LDAP URL's DN has commas) */
static GPtrArray *split_members(const char *text) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  const char *p = text;
  for (;;) {
    while (g_ascii_isspace(*p) || *p == ',')
      p++;
    if (*p == '\0')
      break;
    const char *start = p;
    if (*p == '<' && p[1] != '\0' && !g_ascii_isspace(p[1]) &&
        strchr(p, '>') == NULL) {
      while (*p != '\0' && !g_ascii_isspace(*p))
        p++;
    } else {
      bool quoted = false;
      int angle = 0;
      for (; *p != '\0'; p++) {
        if (*p == '\\' && quoted && p[1] != '\0')
          p++;
        else if (*p == '"')
          quoted = !quoted;
        else if (!quoted && *p == '<')
          angle++;
        else if (!quoted && *p == '>' && angle > 0)
          angle--;
        else if (*p == ',' && !quoted && angle == 0)
          break;
      }
    }
    char *m = g_strstrip(g_strndup(start, p - start));
    if (*m != '\0')
      g_ptr_array_add(out, m);
    else
      g_free(m);
  }
  return out;
}

static void add_member(reader *r, alias_def *def, const char *m,
                       const char *file, unsigned line, int depth);

/* include_list - the addresses of an include file */
static void include_list(reader *r, alias_def *def, const char *name,
                         const char *file, unsigned line, int depth) {
  char *path = fs_path_join(r->base_dir, name);
  char *text = NULL, *trust = NULL;
  GError *error = NULL;
  if (depth >= ALIAS_INCLUDE_DEPTH) {
    diag_error(r->d, file, line,
               "alias %s: include files nested deeper than %d (at %s)",
               def->name, ALIAS_INCLUDE_DEPTH, path);
  } else if (!bundle_get_contents(path, &text, NULL, &error)) {
    diag_error(r->d, file, line, "alias %s: cannot read %s: %s", def->name,
               path, error->message);
    g_error_free(error);
  } else if (!bundle_active() && !fs_check_trusted(path, false, &trust)) {
    diag_error(r->d, file, line, "alias %s: refusing to read %s: %s",
               def->name, path, trust);
    g_free(trust);
  } else {
    const char *inc = g_string_chunk_insert_const(r->db->strings, path);
    note_input(r->db, path);
    char **lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; lines[i] != NULL; i++) {
      char *l = g_strstrip(lines[i]);
      if (*l == '\0' || *l == '!' || *l == '#')
        continue;
      GPtrArray *ms = split_members(l);
      for (guint j = 0; j < ms->len; j++)
        add_member(r, def, ms->pdata[j], inc, i + 1, depth + 1);
      g_ptr_array_free(ms, TRUE);
    }
    g_strfreev(lines);
  }
  g_free(text);
  g_free(path);
}

static void add_member(reader *r, alias_def *def, const char *m,
                       const char *file, unsigned line, int depth) {
  if (def->members->len >= ALIAS_MAX_MEMBERS) {
    if (def->members->len == ALIAS_MAX_MEMBERS)
      diag_error(r->d, file, line, "alias %s has more than %d members",
                 def->name, ALIAS_MAX_MEMBERS);
    return;
  }
  if (g_ascii_strncasecmp(m, ":include:", 9) == 0 ||
      (m[0] == '<' && strstr(m, "://") == NULL)) {
    const char *name = m[0] == '<' ? m + 1 : m + 9;
    while (g_ascii_isspace(*name))
      name++;
    if (*name == '\0')
      diag_error(r->d, file, line, "alias %s: include names no file",
                 def->name);
    else
      include_list(r, def, name, file, line, depth);
    return;
  }
  if (m[0] == '<') {
    g_ptr_array_add(def->members, g_strdup(m));
    return;
  }
  if (m[0] == '|' || m[0] == '/' || (m[0] == '"' && m[1] == '|')) {
    diag_error(r->d, file, line,
               "alias %s: \"%s\": program and file deliveries are made by "
               "the pipe and file channels, not the alias file",
               def->name, m);
    return;
  }
  const char *spec = m;
  char *inner = NULL;
  const char *lt = strrchr(m, '<');
  if (lt != NULL && m[strlen(m) - 1] == '>')
    spec = inner = g_strndup(lt + 1, strlen(lt + 1) - 1);
  addr *a = NULL;
  char *why = NULL;
  if (addr_parse(spec, -1, ADDR_BARE | ADDR_ROUTE | ADDR_UTF8, &a, &why) !=
      CURSUS_OK) {
    diag_error(r->d, file, line, "alias %s: member \"%s\": %s", def->name, m,
               why);
    g_free(why);
  } else {
    g_ptr_array_add(def->members, addr_format(a));
    addr_free(&a);
  }
  g_free(inner);
}

/* define - one logical "name: members" line */
static alias_def *define(reader *r, const srcline *l) {
  const char *colon = NULL;
  bool quoted = false;
  for (const char *p = l->text; *p != '\0'; p++) {
    if (*p == '\\' && quoted && p[1] != '\0')
      p++;
    else if (*p == '"')
      quoted = !quoted;
    else if (*p == ':' && !quoted) {
      colon = p;
      break;
    }
  }
  if (colon == NULL) {
    diag_error(r->d, l->file, l->line,
               "an alias is \"name: address, address ...\" (no ':' found)");
    return NULL;
  }
  char *name = g_strstrip(g_strndup(l->text, colon - l->text));
  addr *a = NULL;
  char *why = NULL;
  alias_def *def = NULL;
  if (*name == '\0') {
    diag_error(r->d, l->file, l->line, "alias with an empty name");
  } else if (addr_parse(name, -1, ADDR_BARE | ADDR_UTF8, &a, &why) !=
             CURSUS_OK) {
    diag_error(r->d, l->file, l->line, "alias name \"%s\": %s", name, why);
    g_free(why);
  } else {
    char *key = g_ascii_strdown(name, -1);
    alias_def *dup = g_hash_table_lookup(r->db->by_name, key);
    if (dup != NULL)
      diag_error(r->d, l->file, l->line,
                 "alias %s is defined twice (first at %s:%u)", name, dup->file,
                 dup->line);
    else
      def = aliasdb_add(r->db, name, l->file, l->line);
    g_free(key);
  }
  addr_free(&a);
  g_free(name);
  if (def != NULL) {
    GPtrArray *ms = split_members(colon + 1);
    for (guint i = 0; i < ms->len; i++)
      add_member(r, def, ms->pdata[i], l->file, l->line, 0);
    g_ptr_array_free(ms, TRUE);
    if (def->members->len == 0 && ms->len == 0)
      diag_warning(r->d, l->file, l->line, "alias %s has no members",
                   def->name);
  }
  return def;
}

bool aliasdb_read(aliasdb *db, const char *path, const char *base_dir,
                  bool optional, diag *d) {
  if (optional && !bundle_exists(path))
    return true;
  srcfile *src = srcfile_read(path, base_dir, d);
  if (src == NULL)
    return false;
  reader r = {.db = db, .base_dir = base_dir, .d = d};
  alias_def *cur = NULL;
  for (guint i = 0; i < src->lines->len; i++) {
    const srcline *l = src->lines->pdata[i];
    note_input(db, l->file);
    if (l->blank) {
      cur = NULL;
      continue;
    }
    if (g_ascii_isspace(l->text[0])) {
      if (cur == NULL) {
        diag_error(d, l->file, l->line,
                   "indented line continues no alias (a definition starts "
                   "in column 1)");
        continue;
      }
      GPtrArray *ms = split_members(l->text);
      for (guint j = 0; j < ms->len; j++)
        add_member(&r, cur, ms->pdata[j], l->file, l->line, 0);
      g_ptr_array_free(ms, TRUE);
      continue;
    }
    cur = define(&r, l);
  }
  srcfile_free(&src);
  return true;
}
