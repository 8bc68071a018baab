/*
 * cursus/mapping.h - mapping sources and callout functions
 *
 * A mapping-source module serves data to the rewrite rules and mapping
 * tables.  It is reached three ways:
 *   ${table,key}   a mapping table: tables are defined in the MAPPINGS file
 *                  (served by map_file) or its compiled form (map_tcdb);
 *   $(db,key)      a general database named in cursus.conf [databases];
 *   $]url[         a URL lookup (map_ldap serves ldap: URLs);
 *   $[mod,fn,arg]  a function call into a module (`functions`).
 * A source is named by a spec "SCHEME:ARGUMENT" (e.g. "tcdb:/var/x.tcdb",
 * "ldap:///o=example?mail?sub?(uid=$U)"); the host picks the module whose
 * `schemes` list has SCHEME.
 *
 * Threads: lookup and call may run on several threads at once; a module
 * that cannot allow that serialises internally.
 */
#ifndef CURSUS_MAPPING_H
#define CURSUS_MAPPING_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cursus_mapping_ops {
  uint32_t size;
  /* Spec schemes served, e.g. {"tcdb", NULL}; may be NULL for a module
   * that only offers functions. */
  const char *const *schemes;
  /* Opens the source named by SPEC (the part after "SCHEME:" in ARGUMENT
   * form, the whole spec in SPEC). */
  int (*open)(cursus_module_ctx *ctx, const char *spec, void **source_r,
              const char **error_r);
  /* Exact lookup of KEY (case-insensitive unless the source says
   * otherwise).  CURSUS_OK with the value appended to OUT, CURSUS_NONE when
   * absent, CURSUS_TEMPFAIL when the source cannot answer now. */
  int (*lookup)(void *source, const char *key, size_t key_len,
                cursus_buf *out, const char **error_r);
  /* Calls CB for every entry in the source's order (pattern tables).
   * CB returns 0 to go on, non-zero to stop.  May be NULL when the source
   * cannot be enumerated. */
  int (*iterate)(void *source,
                 int (*cb)(void *data, const char *key, const char *value),
                 void *data, const char **error_r);
  void (*close)(void *source);

  /* Names of functions callable as $[module,function,argument], or NULL. */
  const char *const *functions;
  /* Calls FUNCTION with ARGUMENT.  CURSUS_OK with the result appended to
   * OUT (the rule goes on), CURSUS_NONE (the rule fails), TEMPFAIL. */
  int (*call)(cursus_module_ctx *ctx, const char *function,
              const char *argument, cursus_buf *out, const char **error_r);
  /* --- members added after ABI 0.1 go here --- */
} cursus_mapping_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_MAPPING_H */
