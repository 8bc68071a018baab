/*
 * loader.h - finding, checking and loading modules
 *
 * The loader scans the module search path for `*.so` files and checks
 * each one before any of its code runs beyond the dynamic loader's own
 * work: ownership and permissions of the file and its directory, that it
 * is an ELF shared object, the descriptor symbol's presence and size, its
 * magic, ABI version, kinds and ops tables, and name clashes.  A refused
 * file is reported in one line naming the file, the module and the
 * versions involved; it never stops the process.  Whether a refusal
 * matters is decided by the configuration (config.c): a module the
 * configuration needs and cannot have stops start-up.
 */
#ifndef CURSUS_LOADER_H
#define CURSUS_LOADER_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/cursus.h>

typedef struct module {
  char *path;
  void *handle;
  const struct cursus_module *desc;
  size_t symbol_size; /* st_size of the descriptor symbol */
  bool used;          /* the configuration needs it */
  bool initialized;
  struct cursus_module_ctx *ctx;
} module;

typedef struct module_refusal {
  char *path;
  char *name; /* module name when known, else NULL */
  char *reason;
} module_refusal;

typedef struct modreg {
  unsigned process;     /* enum cursus_process of this process */
  GPtrArray *modules;   /* of module*, accepted, in scan order */
  GPtrArray *refused;   /* of module_refusal* */
  GHashTable *by_name;  /* name -> module* */
} modreg;

/* modreg_scan - check and open every *.so in DIRS (NULL-terminated), in
 * order; a missing directory is reported as a refusal of that path.
 * Every process reads every descriptor (so the configuration can be
 * checked whole); PROCESS, the calling process's enum cursus_process bit,
 * decides which modules it may initialise (module_init). */
modreg *modreg_scan(const char *const *dirs, unsigned process);
/* modreg_add_file - check and open one file (used by the scan and tests);
 * returns the module, or NULL when refused (the reason is recorded) */
module *modreg_add_file(modreg *reg, const char *path);
/* modreg_check_requires - refuse modules whose `requires` are missing;
 * repeats until stable */
void modreg_check_requires(modreg *reg);
/* modreg_free - fini every initialized module, dlclose all */
void modreg_free(modreg **reg);

module *modreg_find(const modreg *reg, const char *name);
/* modreg_refusal - the refusal recorded for module NAME or file PATH */
const module_refusal *modreg_refusal(const modreg *reg, const char *name);
/* modreg_channel_module - the channel module a keyword selects, or whose
 * channel-name glob matches CHANNEL */
module *modreg_channel_by_keyword(const modreg *reg, const char *keyword);
module *modreg_channel_by_name(const modreg *reg, const char *channel);
/* modreg_protocol - the protocol module serving NAME ("smtp") */
module *modreg_protocol(const modreg *reg, const char *name);
/* modreg_mapping_scheme - the mapping module serving spec SCHEME */
module *modreg_mapping_scheme(const modreg *reg, const char *scheme);

/* module_kinds_string - "channel, protocol" etc.; newly allocated */
char *module_kinds_string(uint32_t kinds);
/* module_processes_string - "worker, channel-job" etc.; newly allocated */
char *module_processes_string(uint32_t processes);
/* process_name - "worker" for CURSUS_PROC_WORKER */
const char *process_name(unsigned process);

#endif
