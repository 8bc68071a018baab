/*
 * ruleset.c - compile the rewrite rules of imta.cnf into a table keyed by
 * pattern (see rewrite.h)
 */
#include "build-config.h"
#include "rewrite.h"

#include <string.h>

static void rule_free(void *p) {
  rw_rule *r = p;
  g_free(r->pattern);
  g_free(r->key);
  g_free(r->template_text);
  rw_tmpl_free(&r->tmpl);
  g_free(r);
}

ruleset *ruleset_new(void) {
  ruleset *rs = g_new0(ruleset, 1);
  rs->rules = g_ptr_array_new_with_free_func(rule_free);
  rs->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                     (GDestroyNotify)g_ptr_array_unref);
  rs->strings = g_string_chunk_new(256);
  return rs;
}

void ruleset_free(ruleset **rsp) {
  ruleset *rs = *rsp;
  if (rs == NULL)
    return;
  *rsp = NULL;
  g_hash_table_destroy(rs->by_key);
  g_ptr_array_free(rs->rules, TRUE);
  g_string_chunk_free(rs->strings);
  g_free(rs);
}

/* check_pattern - what a rule pattern may be: a host name with '*' labels
 * or a leading dot, ".", "[]" or a literal prefix, "$*", "$%", "$!", each
 * optionally after a tag ending in '|'; returns the lookup key */
static char *check_pattern(const char *pattern, char **error_r) {
  const char *bar = strrchr(pattern, '|');
  const char *p = bar != NULL ? bar + 1 : pattern;
  if (*p == '\0') {
    *error_r = g_strdup_printf("rule pattern \"%s\" has a tag but no pattern",
                               pattern);
    return NULL;
  }
  if (p[0] == '$') {
    if ((p[1] == '*' || p[1] == '%' || p[1] == '!') && p[2] == '\0')
      return g_ascii_strdown(pattern, -1);
    *error_r = g_strdup_printf("unknown sequence in rule pattern \"%s\" (the "
                               "special patterns are $*, $%% and $!)",
                               pattern);
    return NULL;
  }
  if (p[0] == '[') {
    size_t n = strlen(p);
    if (p[n - 1] != ']') {
      *error_r = g_strdup_printf("rule pattern \"%s\": a domain literal "
                                 "pattern ends with ']'",
                                 pattern);
      return NULL;
    }
    return g_ascii_strdown(pattern, -1);
  }
  for (const char *q = p; *q != '\0'; q++) {
    if (*q == '$') {
      *error_r = g_strdup_printf("unknown sequence in rule pattern \"%s\" (the "
                                 "special patterns are $*, $%% and $!)",
                                 pattern);
      return NULL;
    }
    if (*q == '@' || *q == '%' || *q == '!' || (unsigned char)*q < 33) {
      *error_r = g_strdup_printf("rule pattern \"%s\": '%c' cannot be part of "
                                 "a host pattern",
                                 pattern, *q);
      return NULL;
    }
    if (*q == '*' && !((q == p || q[-1] == '.') && (q[1] == '.' || q[1] == '\0'))) {
      *error_r = g_strdup_printf("rule pattern \"%s\": '*' stands for whole "
                                 "labels only (*.example.com)",
                                 pattern);
      return NULL;
    }
  }
  return g_ascii_strdown(pattern, -1);
}

bool ruleset_add(ruleset *rs, const char *pattern, const char *template_,
                 const rw_compile_info *info, const char *file, unsigned line,
                 char **error_r) {
  char *key = check_pattern(pattern, error_r);
  if (key == NULL)
    return false;
  char *why = NULL;
  rw_tmpl *t = rw_tmpl_compile(template_, info, &why);
  if (t == NULL) {
    *error_r = g_strdup_printf("rewrite template \"%s\": %s", template_, why);
    g_free(why);
    g_free(key);
    return false;
  }
  rw_rule *r = g_new0(rw_rule, 1);
  r->pattern = g_strdup(pattern);
  r->key = key;
  r->template_text = g_strdup(template_);
  r->tmpl = t;
  r->file = file != NULL ? g_string_chunk_insert_const(rs->strings, file)
                         : NULL;
  r->line = line;
  g_ptr_array_add(rs->rules, r);
  GPtrArray *same = g_hash_table_lookup(rs->by_key, r->key);
  if (same == NULL) {
    same = g_ptr_array_new();
    g_hash_table_insert(rs->by_key, r->key, same);
  }
  g_ptr_array_add(same, r);
  return true;
}

ruleset *ruleset_compile(const imtacnf *cnf, const rw_compile_info *info,
                         diag *d) {
  ruleset *rs = ruleset_new();
  for (guint i = 0; cnf != NULL && i < cnf->rules->len; i++) {
    const cnf_rule *c = cnf->rules->pdata[i];
    char *error = NULL;
    if (!ruleset_add(rs, c->pattern, c->template_, info, c->file, c->line,
                     &error)) {
      diag_error(d, c->file, c->line, "%s", error);
      g_free(error);
    }
  }
  return rs;
}
