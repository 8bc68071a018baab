/*
 * cursus/lookup.h - rewriting, mapping tables and directory lookups as a
 * service of the host (host->lookup)
 *
 * Modules that need an address decision (a protocol module at RCPT time,
 * a channel that forwards) ask the host, so every part of the server makes
 * the same decision the rewrite rules and the directory give.
 */
#ifndef CURSUS_LOOKUP_H
#define CURSUS_LOOKUP_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Applies mapping table TABLE of the MAPPINGS file to INPUT.
 * Flags set by the matching entry are returned in *flags_r as a string of
 * flag letters (e.g. "YD") that lives until the next call in this thread. */
typedef struct cursus_lookup_ops {
  uint32_t size;
  /* CURSUS_OK with the output appended to OUT, CURSUS_NONE when no entry
   * matched, TEMPFAIL when a source could not answer. */
  int (*mapping)(const char *table, const char *input, cursus_buf *out,
                 const char **flags_r, const char **error_r);
  /* Looks KEY up in the source named SPEC ("tcdb:/path", "ldap:///...")
   * or in the general database named by SPEC.  Same results. */
  int (*source_lookup)(const char *spec, const char *key, cursus_buf *out,
                       const char **error_r);
  /* --- members added after ABI 0.1 go here --- */
} cursus_lookup_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_LOOKUP_H */
