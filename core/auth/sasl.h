/*
 * sasl.h - SASL exchanges through the auth-method modules: which
 * mechanisms may be offered, and routing an exchange to the module that
 * offers its mechanism (the first loaded, in module path order)
 *
 * The list of modules is set once per process (sasl_set_modules) after
 * they were initialised.  Thread-safe afterwards.
 */
#ifndef CURSUS_SASL_H
#define CURSUS_SASL_H

#include <glib.h>
#include <cursus/cursus.h>

struct modreg;

/* sasl_set_modules - use the initialised auth modules of MODS */
void sasl_set_modules(struct modreg *mods);
/* The functions of cursus_auth_access (auth.h of the SDK). */
const char *sasl_mechanisms(const cursus_auth_info *info);
cursus_sasl *sasl_start(const char *mech, const cursus_auth_info *info,
                        const char **error_r);
int sasl_step(cursus_sasl *sasl, const char *in, size_t in_len,
              cursus_buf *out, const char **user_r, const char **error_r);
void sasl_finish(cursus_sasl **sasl);

#endif
