/*
 * config.h - the whole configuration of one process
 *
 * Loads cursus.conf, finds the modules, reads imta.cnf, dispatcher.cnf and
 * job_controller.cnf, and checks them against each other and against the
 * modules: every keyword known and well typed, every channel served by an
 * available module, every service's protocol available, every pool and
 * channel named exists, every module setting declared.  The same code
 * serves `cursus config check`, start-up and refresh.
 */
#ifndef CURSUS_CONFIG_H
#define CURSUS_CONFIG_H

#include "conf.h"
#include "dispcnf.h"
#include "imtacnf.h"
#include "jobccnf.h"
#include "keyword.h"
#include "module/loader.h"

struct config;

/* Hook run after the core checks of config_load, so later parts of the
 * core (rewrite rules, mappings, aliases) check their own files. */
typedef void config_check_hook(struct config *cfg, diag *d);

typedef struct config {
  int refs;
  char *dir;
  unsigned process;
  char *conf_path;
  optfile *conf;
  char *state_dir, *queue_dir, *store_dir, *log_dir, *run_dir;
  char **module_path;
  char *hostname;
  char *server_user;
  kwtable *keywords;
  imtacnf *imta;
  dispcnf *disp;
  jobccnf *jobc;
  modreg *mods; /* borrowed: owned by the process */
  GHashTable *extensions; /* name -> data registered by later stages */
} config;

/* config_default_dir - $CURSUS_CONFIG_DIR or the installed default */
const char *config_default_dir(void);
/* config_module_path - the module search path the configuration in OF
 * (may be NULL) and the environment give; g_strfreev */
char **config_module_path(const optfile *of, const char *config_dir);

/* config_load - load and check everything in DIR for PROCESS.  When
 * *MODS_IO is NULL the modules are scanned and *MODS_IO set (the caller
 * owns it); otherwise the given registry is used.  Problems go to D; the
 * result is NULL only when cursus.conf cannot be read.  A configuration
 * with errors must not be used to run (diag_has_errors). */
config *config_load(const char *dir, unsigned process, modreg **mods_io,
                    diag *d);
config *config_ref(config *cfg);
void config_unref(config **cfg);

/* config_add_check_hook - run HOOK in every later config_load */
void config_add_check_hook(config_check_hook *hook);

/* config_set_current / config_current - the configuration the process runs
 * with (swapped on refresh) */
void config_set_current(config *cfg);
config *config_current(void);

/* config_current_ref - a reference to the current configuration (NULL
 * when none), safe against a refresh swapping it in another thread;
 * release with config_unref */
config *config_current_ref(void);

/* config_in_effect_ref - the configuration module calls should see: the
 * one being loaded by this thread (its check hooks open mapping sources),
 * else the current one; a new reference or NULL */
config *config_in_effect_ref(void);

/* config_extension_set - attach DATA under NAME to CFG; DESTROY (may be
 * NULL) releases it when the configuration is freed */
void config_extension_set(config *cfg, const char *name, void *data,
                          GDestroyNotify destroy);
/* config_extension - the data attached under NAME, or NULL */
void *config_extension(const config *cfg, const char *name);

/* config_channel_slave - CH only receives: `slave` is the last of
 * `master`, `slave` and `bidirectional` (the default) it names */
bool config_channel_slave(const cnf_channel *ch);
/* config_channel_module - the module serving CH's master side, or NULL */
module *config_channel_module(const config *cfg, const cnf_channel *ch);
/* config_lookups_local - every mapping and directory module CFG uses
 * answers without waiting (CURSUS_MODULE_LOCAL_LOOKUPS): its lookups
 * may run on an event loop */
bool config_lookups_local(const config *cfg);

#endif
