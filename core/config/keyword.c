/*
 * keyword.c - keyword registry and value checking
 */
#include "build-config.h"
#include "keyword.h"
#include "optfile.h"

#include <string.h>

kwtable *kwtable_new(void) {
  kwtable *t = g_new0(kwtable, 1);
  t->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return t;
}

void kwtable_free(kwtable **tp) {
  if (*tp == NULL)
    return;
  g_hash_table_destroy((*tp)->by_name);
  g_free(*tp);
  *tp = NULL;
}

bool kwtable_add(kwtable *t, const cursus_keyword *list, const char *owner,
                 char **error_r) {
  for (; list != NULL && list->name != NULL; list++) {
    char *key = g_ascii_strdown(list->name, -1);
    const kwdef *old = g_hash_table_lookup(t->by_name, key);
    if (old != NULL) {
      if (old->kw->type != list->type ||
          old->kw->min_values != list->min_values ||
          old->kw->max_values != list->max_values) {
        *error_r = g_strdup_printf(
            "keyword '%s' of %s conflicts with the one of %s (different "
            "value type)",
            list->name, owner, old->owner);
        g_free(key);
        return false;
      }
      g_free(key);
      continue; /* same declaration from several owners is fine */
    }
    kwdef *def = g_new0(kwdef, 1);
    def->kw = list;
    def->owner = owner;
    g_hash_table_insert(t->by_name, key, def);
  }
  return true;
}

const kwdef *kwtable_find(const kwtable *t, const char *name) {
  char *key = g_ascii_strdown(name, -1);
  const kwdef *def = g_hash_table_lookup(t->by_name, key);
  g_free(key);
  return def;
}

const char *value_type_name(cursus_value_type type) {
  switch (type) {
  case CURSUS_VALUE_FLAG:
    return "flag";
  case CURSUS_VALUE_INTEGER:
    return "integer";
  case CURSUS_VALUE_STRING:
    return "string";
  case CURSUS_VALUE_DURATION:
    return "duration";
  case CURSUS_VALUE_SIZE:
    return "size";
  case CURSUS_VALUE_HOST:
    return "host name";
  case CURSUS_VALUE_CHANNEL:
    return "channel name";
  case CURSUS_VALUE_PATH:
    return "path";
  case CURSUS_VALUE_BOOLEAN:
    return "boolean";
  }
  return "value";
}

/* host_ok - a host name, domain literal or IP address */
static bool host_ok(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > 255)
    return false;
  if (v[0] == '[')
    return v[n - 1] == ']' && n > 2;
  for (const char *p = v; *p != '\0'; p++)
    if (!(g_ascii_isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
          *p == ':' || (unsigned char)*p >= 0x80))
      return false;
  return true;
}

bool keyword_check_value(cursus_value_type type, const char *value,
                         const char **error_r) {
  long long n;
  bool b;

  switch (type) {
  case CURSUS_VALUE_FLAG:
    *error_r = "takes no value";
    return false;
  case CURSUS_VALUE_INTEGER:
    if (opt_parse_int(value, &n))
      return true;
    *error_r = "an integer (decimal, or base%value as in 8%777)";
    return false;
  case CURSUS_VALUE_DURATION:
    if (opt_parse_duration(value, &n))
      return true;
    *error_r = "a duration (ISO 8601 such as PT5M or P1D, or seconds)";
    return false;
  case CURSUS_VALUE_SIZE:
    if (opt_parse_size(value, &n))
      return true;
    *error_r = "a size in bytes (optionally with K, M or G)";
    return false;
  case CURSUS_VALUE_BOOLEAN:
    if (opt_parse_bool(value, &b))
      return true;
    *error_r = "yes or no";
    return false;
  case CURSUS_VALUE_HOST:
    if (host_ok(value))
      return true;
    *error_r = "a host name, domain literal or IP address";
    return false;
  case CURSUS_VALUE_CHANNEL:
    for (const char *p = value; *p != '\0'; p++)
      if (!(g_ascii_isalnum(*p) || *p == '_' || *p == '-' || *p == '.')) {
        *error_r = "a channel name";
        return false;
      }
    if (*value == '\0') {
      *error_r = "a channel name";
      return false;
    }
    return true;
  case CURSUS_VALUE_PATH:
  case CURSUS_VALUE_STRING:
    if (*value != '\0')
      return true;
    *error_r = "a non-empty value";
    return false;
  }
  *error_r = "a known value type";
  return false;
}
