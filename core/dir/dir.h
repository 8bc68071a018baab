/*
 * dir.h - the directory as a service of the process: the configured
 * directory module, opened once, with the [directory] settings of
 * cursus.conf
 *
 * Every part of the core that needs users, groups or domains (address
 * resolution, authentication, provisioning, the host->directory table)
 * goes through these functions, never through the module's ops directly,
 * so errors come back one way: CURSUS_OK/NONE/TEMPFAIL/PERMFAIL with an
 * allocated *error_r.
 *
 * dir_service_start opens the module named by `[directory] module` (which
 * must be initialised), registers the address expander (expand.h) and
 * plugs host->directory in.  dir_service_refresh re-reads the settings and
 * lets the module reload.  Threads: after start, lookups may run on any
 * thread; start, refresh and stop on the main thread only.
 */
#ifndef CURSUS_DIR_H
#define CURSUS_DIR_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/cursus.h>

struct config;
struct modreg;
struct module;

/* The [directory] settings, read at start and refresh. */
typedef struct dir_settings {
  char *default_domain;       /* NULL: none */
  char **local_hosts;         /* mail host names that mean this server */
  char *delivery_options;     /* the option table (delivery.h) */
  char *subaddress_separator; /* "+"; "" disables subaddresses */
  bool domain_uplevel;
  bool allow_program;
  bool allow_file;
  unsigned max_group_members;
  unsigned max_nesting;
  char *mailhost_route; /* template for mail routed to another host */
  unsigned autoreply_timeout; /* seconds */
  char *autoreply_db;         /* absolute path */
} dir_settings;

/* dir_service_wanted - cursus.conf names a directory module ([directory]
 * module): processes that serve users open it */
bool dir_service_wanted(const struct config *cfg);
/* dir_service_start - open the directory of CFG; false with *error_r */
bool dir_service_start(struct config *cfg, struct modreg *mods,
                       char **error_r);
/* dir_service_refresh - new settings from CFG; the module reloads (its
 * failure is logged, the old data stays) */
void dir_service_refresh(struct config *cfg);
void dir_service_stop(void);
/* dir_running - a directory is open in this process (the store asks
 * before reading account attributes) */
bool dir_running(void);
/* dir_settings_get - the current settings (main-thread changes only on
 * refresh; readers on other threads see a consistent snapshot because
 * refresh swaps a pointer and keeps the old settings alive) */
const dir_settings *dir_settings_get(void);
/* dir_settings_read - the settings of the configuration CFG (for tests and
 * tools); dir_settings_free releases them */
dir_settings *dir_settings_read(const struct config *cfg);
void dir_settings_free(dir_settings **s);

/* Lookups: as cursus_directory_ops, with allocated errors. */
int dir_lookup_domain(const char *domain, unsigned flags,
                      cursus_entry **entry_r, char **error_r);
int dir_lookup_address(const char *base_dn, const char *address,
                       unsigned kinds, unsigned flags, cursus_entry **entry_r,
                       char **error_r);
int dir_lookup_uid(const char *base_dn, const char *uid, unsigned flags,
                   cursus_entry **entry_r, char **error_r);
int dir_lookup_dn(const char *dn, unsigned flags, cursus_entry **entry_r,
                  char **error_r);
int dir_search(const char *base_dn, int scope, const char *filter,
               size_t max_entries, unsigned flags, cursus_entry_cb *cb,
               void *data, char **error_r);
int dir_search_url(const char *url, size_t max_entries, unsigned flags,
                   cursus_entry_cb *cb, void *data, char **error_r);
/* dir_authenticate - check PASSWORD at the source; CURSUS_NONE with
 * *error_r NULL when the module leaves it to the host (hash compare) */
int dir_authenticate(const char *dn, const char *password, bool *done_r,
                     char **error_r);
int dir_add(const cursus_entry *entry, char **error_r);
int dir_modify(const char *dn, const cursus_mod *mods, size_t n_mods,
               char **error_r);
int dir_remove(const char *dn, char **error_r);
/* dir_writable - the module can add, modify and remove entries */
bool dir_writable(void);
void dir_stats(GString *out);
void dir_entry_free(cursus_entry **entry);

/* dir_entry_values - the values of NAME (NULL-terminated, borrowed from
 * E; free the array only with g_free) */
const char **dir_entry_values(const cursus_entry *e, const char *name);


#endif
