/*
 * cursus/mapping.h - mapping sources and callout functions
 *
 * A mapping-source module serves data to the rewrite rules, the mapping
 * tables and the alias file.  It is reached four ways:
 *
 *   TABLE spec        a table of the MAPPINGS file whose entries come from
 *                     a source ("DOMAINS  tcdb:domains.tcdb"); a source
 *                     that can be enumerated (`iterate`) gives pattern
 *                     entries, loaded on first use; one that cannot is
 *                     asked (`lookup`) for each input, its value being the
 *                     entry's template;
 *   $(db,key)         a general database: cursus.conf [databases]
 *                     NAME = spec, or [mta] general_database for $(key);
 *                     ${...} in mapping templates;
 *   $]url[            a URL lookup: the module whose `schemes` has the
 *                     URL's scheme is opened once with the spec "SCHEME:"
 *                     (empty argument) and asked `lookup` with the whole
 *                     URL as the key (map_ldap serves ldap:);
 *   $[mod,fn,arg]     a call of `functions` member FN of module MOD.
 *
 * A source is named by a spec "SCHEME:ARGUMENT" (e.g.
 * "tcdb:/var/lib/cursus/domains.tcdb", "file:domains.txt"); the host picks
 * the module whose `schemes` lists SCHEME (case-insensitive).  Relative
 * paths in an ARGUMENT are the module's to resolve; the convention is
 * relative to host->path(CURSUS_PATH_CONFIG).
 *
 * Lifetime: `open` is called on first use of a spec in a process and the
 * source stays open until the configuration that named it is released
 * (after `cursus refresh` and the last lookup using it), when `close` is
 * called.  An `open` that fails is retried on the next use; meanwhile the
 * lookups answer CURSUS_TEMPFAIL (mail is deferred, never bounced).
 *
 * Threads: lookup, iterate and call may run on several threads at once,
 * also on one source; a module that cannot allow that serialises
 * internally.  open and close are never called at the same time as
 * anything else on the same source.
 *
 * Values: a lookup that finds several values appends them separated by
 * '\n'; rewrite rules use the first line, alias lists every line.
 *
 * Errors: *error_r points at a message that stays valid until the next
 * call on the same source (or module, for open and call) from the same
 * thread.  Never answer CURSUS_NONE for a source that could not be asked:
 * that makes a rule fail for good, where CURSUS_TEMPFAIL defers.
 *
 * Appeared in ABI 1.0.
 */
#ifndef CURSUS_MAPPING_H
#define CURSUS_MAPPING_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cursus_mapping_ops {
  uint32_t size;
  /* Spec schemes served, e.g. {"tcdb", NULL}; NULL for a module that only
   * offers functions. */
  const char *const *schemes;
  /* Opens the source whose spec is "SCHEME:ARGUMENT"; ARGUMENT is passed
   * (may be empty, for URL lookups).  CURSUS_OK with *source_r (the
   * module's handle, given back to lookup/iterate/close), or a failure
   * with *error_r. */
  int (*open)(cursus_module_ctx *ctx, const char *argument, void **source_r,
              const char **error_r);
  /* Exact lookup of KEY (KEY_LEN octets; case-insensitive unless the
   * source says otherwise).  CURSUS_OK with the value appended to OUT
   * (host->buf_append), CURSUS_NONE when absent, CURSUS_TEMPFAIL when the
   * source cannot answer now. */
  int (*lookup)(void *source, const char *key, size_t key_len,
                cursus_buf *out, const char **error_r);
  /* Calls CB for every (key, value) in the source's order; CB returns 0 to
   * go on, non-zero to stop.  CURSUS_OK when done (or stopped), a failure
   * with *error_r.  NULL when the source cannot be enumerated. */
  int (*iterate)(void *source,
                 int (*cb)(void *data, const char *key, const char *value),
                 void *data, const char **error_r);
  /* Releases the source. */
  void (*close)(void *source);

  /* NULL-terminated names of functions callable as $[module,function,arg],
   * or NULL. */
  const char *const *functions;
  /* Calls FUNCTION with ARGUMENT.  CURSUS_OK with the result appended to
   * OUT (the rule goes on), CURSUS_NONE (the rule fails), CURSUS_TEMPFAIL
   * with *error_r. */
  int (*call)(cursus_module_ctx *ctx, const char *function,
              const char *argument, cursus_buf *out, const char **error_r);
  /* --- members added after ABI 1.0 go here --- */
} cursus_mapping_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_MAPPING_H */
