/*
 * fconf.h - content filter configuration and instances
 *
 * Reads the `[contentfilter NAME]` groups of cursus.conf (module, timeout,
 * default_action and the module's own settings) and the `contentfilter`
 * channel keyword of imta.cnf, checks them in every configuration load
 * (a check hook: unknown module, wrong kind, undeclared or mistyped
 * setting, a channel naming an undefined filter are file:line errors),
 * and keeps the instances of one configuration: each is opened on first
 * use in the process and closed when the configuration is released.
 * Needs core/config and core/module.
 */
#ifndef CURSUS_FCONF_H
#define CURSUS_FCONF_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/cursus.h>
#include "config/config.h"

/* What happens to a message when its filter fails. */
typedef enum fconf_default {
  FCONF_TEMPFAIL = 0,
  FCONF_ACCEPT = 1,
  FCONF_REJECT = 2,
  FCONF_QUARANTINE = 3,
} fconf_default;

/* One [contentfilter NAME] group; the cursus_filter_def of the ABI. */
typedef struct cursus_filter_def {
  char *name;
  const opt_section *section; /* borrowed from the configuration */
  module *mod;
  unsigned timeout_ms;
  fconf_default on_failure;
  /* the instance, opened on first use */
  GMutex lock;
  bool tried;
  void *instance;
  char *open_error;
} fconf_def;

/* fconf_register - check the filter configuration in every config_load */
void fconf_register(void);
/* fconf_chain - the filters messages from SOURCE_CHANNEL pass through, in
 * order (fconf_def*, borrowed from CFG), or NULL for none */
const GPtrArray *fconf_chain(const config *cfg, const char *source_channel);
/* fconf_instance - the filter's instance, opened now when it is not yet;
 * CURSUS_OK with *instance_r, or TEMPFAIL with *error_r (borrowed) */
int fconf_instance(fconf_def *def, void **instance_r, const char **error_r);
/* fconf_ops - the module's filter ops */
const cursus_filter_ops *fconf_ops(const fconf_def *def);
/* fconf_def_name, fconf_def_setting, fconf_def_setting_int - the
 * host->filter functions of the same names (filter.h) */
const char *fconf_def_name(const cursus_filter_def *def);
const char *fconf_def_setting(const cursus_filter_def *def, const char *key);
long long fconf_def_setting_int(const cursus_filter_def *def, const char *key,
                                long long default_value);
/* fconf_default_name - "tempfail", "accept" ... */
const char *fconf_default_name(fconf_default d);

#endif
