/*
 * conf.h - cursus.conf: paths, logging, server identity, TLS and the
 * settings of modules (`[module NAME]` groups)
 *
 * Keys of the core's groups are declared in one table (conf.c) with their
 * value types; keys of a module's group are declared by the module's
 * descriptor (`settings`).  Anything else is an error at its line.
 */
#ifndef CURSUS_CONF_H
#define CURSUS_CONF_H

#include "optfile.h"
#include <cursus/module.h>

typedef struct conf_key {
  const char *group;
  const char *key;
  cursus_value_type type;
  const char *default_value; /* NULL: unset by default */
  const char *help;
} conf_key;

/* conf_core_keys - the core's groups and keys (ends with group NULL) */
extern const conf_key conf_core_keys[];

/* conf_check_core - report unknown groups and keys and bad values of the
 * core's groups in OF ("module" groups are checked by config.c) */
void conf_check_core(const optfile *of, diag *d);
/* conf_get - the value of GROUP.KEY, or its declared default */
const char *conf_get(const optfile *of, const char *group, const char *key);
long long conf_get_int(const optfile *of, const char *group, const char *key,
                       long long def);
bool conf_get_bool(const optfile *of, const char *group, const char *key,
                   bool def);
/* conf_module_section - the `[module NAME]` group, or NULL */
opt_section *conf_module_section(const optfile *of, const char *name);

#endif
