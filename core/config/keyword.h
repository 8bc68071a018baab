/*
 * keyword.h - the registry of channel keywords and settings with their
 * value types, and value checking
 *
 * The core registers the channel keywords it interprets itself; every
 * module registers those its descriptor declares.  imta.cnf is checked
 * against the union: an unknown keyword or a value of the wrong type is a
 * `file:line` error.
 */
#ifndef CURSUS_KEYWORD_H
#define CURSUS_KEYWORD_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/module.h>

typedef struct kwdef {
  const cursus_keyword *kw;
  const char *owner; /* "core" or the module's name */
} kwdef;

typedef struct kwtable {
  GHashTable *by_name; /* lower-case name -> kwdef* */
} kwtable;

kwtable *kwtable_new(void);
void kwtable_free(kwtable **t);
/* kwtable_add - register every keyword of LIST (ending in a NULL name) for
 * OWNER.  A name already registered with a different type or arity is a
 * conflict: returns false with *error_r (allocated). */
bool kwtable_add(kwtable *t, const cursus_keyword *list, const char *owner,
                 char **error_r);
const kwdef *kwtable_find(const kwtable *t, const char *name);

/* keyword_check_value - VALUE is acceptable for TYPE; otherwise false with
 * *error_r naming what was expected (static string) */
bool keyword_check_value(cursus_value_type type, const char *value,
                         const char **error_r);
/* value_type_name - "integer", "duration", ... */
const char *value_type_name(cursus_value_type type);

/* core_channel_keywords - the channel keywords the core interprets */
extern const cursus_keyword core_channel_keywords[];

#endif
