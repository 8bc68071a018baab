/*
 * mtemplate.h - templates of mapping-table entries
 *
 * The right-hand side of a MAPPINGS entry.  Text stands for itself;
 * `$$`, `$ ` and `$<tab>` quote; `$0`..`$9` insert what the n-th saved
 * wildcard of the pattern matched; `$\` `$^` `$_` make what follows lower
 * case, upper case, or as it is; `$=` quotes what later substitutions
 * insert for an LDAP search filter.  Call-outs insert a result or make the
 * entry fail (scanning goes on with the next entry):
 *   $|TABLE;ARG|     the mapping TABLE applied to ARG (it must match and
 *                    not set $N)
 *   ${KEY}, ${DB,KEY} the general database ([mta] general_database) or
 *                    the database DB of cursus.conf [databases]
 *   $]URL[           a URL lookup (ldap: served by map_ldap)
 *   $[MOD,FN,ARG]    function FN of mapping-source module MOD
 * `$?N?` lets the entry apply N percent of the time; `$:x` / `$;x` let it
 * apply only when the caller's flag x is set / clear.  `$C $E $L $R`
 * steer the scan (continue, end, continue then one more pass, restart);
 * any other `$` + letter, `$!`, `$<` and `$>` is a flag returned to the
 * caller ($Y yes, $N no, and the access tables' flags).
 */
#ifndef CURSUS_MTEMPLATE_H
#define CURSUS_MTEMPLATE_H

#include <stdbool.h>
#include <glib.h>
#include "pattern.h"

typedef struct mtemplate mtemplate;
struct mapset;
struct map_ctx;

/* A set of flag characters. */
typedef struct map_flags {
  guint8 bits[32];
} map_flags;

static inline void map_flags_set(map_flags *f, unsigned char c) {
  f->bits[c >> 3] |= (guint8)(1u << (c & 7));
}
static inline void map_flags_clear(map_flags *f, unsigned char c) {
  f->bits[c >> 3] &= (guint8) ~(1u << (c & 7));
}
static inline bool map_flags_has(const map_flags *f, unsigned char c) {
  return (f->bits[c >> 3] >> (c & 7)) & 1;
}
/* map_flags_string - the flags as "$Y$D..." into OUT */
void map_flags_string(const map_flags *f, GString *out);

/* What the compiler needs to know of the configuration. */
typedef struct mt_compile_info {
  /* is NAME a database of [databases]?  (decides ${DB,KEY}) */
  bool (*is_database)(void *data, const char *name);
  void *data;
} mt_compile_info;

/* mtemplate_compile - compile TEXT; NULL with *error_r when malformed */
mtemplate *mtemplate_compile(const char *text, const mt_compile_info *info,
                             char **error_r);
void mtemplate_free(mtemplate **t);
/* mtemplate_calls - add to NAMES (char*, not owned) every table the
 * template calls with $|TABLE;...| (upper case), for loop checks */
void mtemplate_calls(const mtemplate *t, GPtrArray *names);
/* mtemplate_sources - add every module name called with $[MOD,...] and
 * every URL scheme of $]...[ to MODULES / SCHEMES (not owned) */
void mtemplate_callouts(const mtemplate *t, GPtrArray *modules,
                        GPtrArray *functions, GPtrArray *schemes,
                        GPtrArray *databases);

/* Result controls. */
enum mt_control { MT_CONTROL_NONE = 0, MT_CONTROL_C = 'C',
                  MT_CONTROL_E = 'E', MT_CONTROL_L = 'L',
                  MT_CONTROL_R = 'R' };

/* mtemplate_eval - expand T for INPUT with the captures M into OUT.
 * CURSUS_OK (entry applies; flags and control set), CURSUS_NONE (the
 * entry fails: a call-out found nothing, a flag condition or the
 * probability said no), CURSUS_TEMPFAIL with *error_r. */
int mtemplate_eval(const mtemplate *t, const char *input,
                   const pmatch *m, const struct mapset *ms,
                   const struct map_ctx *ctx, GString *out, map_flags *flags,
                   int *control, char **error_r);

#endif
