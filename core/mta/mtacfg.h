/*
 * mtacfg.h - the address-handling part of one configuration
 *
 * Built by a configuration check hook (config_add_check_hook) every time a
 * configuration is loaded, so `cursus config check`, start-up, refresh and
 * the tools see the same thing: the mapping sources ([mta]
 * general_database, [databases]), the mapping tables and aliases (from
 * the compiled image when `cursus cnbuild` made one, else from the
 * MAPPINGS and aliases files), and the compiled rewrite rules of
 * imta.cnf.  Every problem is a file:line diagnostic of the check.  The
 * result is attached to the configuration and freed with it, so a
 * refresh swaps all of it at once.
 */
#ifndef CURSUS_MTACFG_H
#define CURSUS_MTACFG_H

#include <stdbool.h>
#include "alias/aliasdb.h"
#include "config/config.h"
#include "mapping/image.h"
#include "mapping/mapset.h"
#include "mapping/source.h"
#include "rewrite/rewrite.h"

typedef struct mtacfg {
  config *cfg; /* the configuration this belongs to (not a reference) */
  srcreg *sources;
  mapset *maps;
  aliasdb *aliases;
  image *img; /* the compiled image in use, or NULL */
  ruleset *rules;
  rewrite_env env;
  char *compiled_dir;
  char *mapping_file;
  char *alias_file;
  unsigned max_expansion_depth;
  bool reverse_envelope;
  bool access_orcpt;
} mtacfg;

/* mtacfg_register - install the check hook, the alias-file expander and
 * the host's lookup services; once per process, before loading a
 * configuration */
void mtacfg_register(void);
/* mtacfg_set_sources_only - read the MAPPINGS and aliases files even when
 * a compiled image exists (cnbuild, test-rewrite --noimage) */
void mtacfg_set_sources_only(bool on);

/* mtacfg_of - the part attached to CFG, or NULL */
mtacfg *mtacfg_of(const config *cfg);
/* mtacfg_load - build it for CFG (what the hook does) */
mtacfg *mtacfg_load(config *cfg, bool sources_only, diag *d);
void mtacfg_free(mtacfg **m);

/* mtacfg_local_channel - the local channel (the first in imta.cnf) */
const cnf_channel *mtacfg_local_channel(const mtacfg *m);
/* mtacfg_channel - channel NAME, or the local channel for NULL */
const cnf_channel *mtacfg_channel(const mtacfg *m, const char *name);
/* mtacfg_is_local_host - HOST is one of the local channel's host names or
 * the server's own name */
bool mtacfg_is_local_host(const mtacfg *m, const char *host);

#endif
