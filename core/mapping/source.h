/*
 * source.h - mapping sources served by modules
 *
 * Rewrite rules and mapping tables reach data outside the configuration
 * through mapping-source modules (sdk cursus/mapping.h):
 *   - a table of the MAPPINGS file backed by a source ("TABLE file:x.txt",
 *     "TABLE tcdb:/var/x.tcdb"),
 *   - general databases: $(key) / $(db,key) in rewrite rules, ${...} in
 *     mapping templates; [mta] general_database and cursus.conf
 *     [databases] NAME = SPEC name them,
 *   - URL lookups $]url[ (the module whose `schemes` has the URL's scheme;
 *     it is opened once with the spec "SCHEME:" and asked for each URL),
 *   - function calls $[module,function,argument].
 * A spec is "SCHEME:ARGUMENT"; the module serving SCHEME opens it.  Sources
 * are opened on first use and stay open for the life of the configuration
 * that named them; a source that cannot be opened is retried on the next
 * use and answers CURSUS_TEMPFAIL meanwhile.
 *
 * Thread-safe.
 */
#ifndef CURSUS_SOURCE_H
#define CURSUS_SOURCE_H

#include <stdbool.h>
#include <glib.h>
#include "module/loader.h"
#include "util/diag.h"

typedef struct srcreg srcreg;

/* srcreg_new - sources served by the modules of MODS; DATABASES maps a
 * database name to its spec (the general database is named ""); the
 * table is copied */
srcreg *srcreg_new(modreg *mods, GHashTable *databases);
void srcreg_free(srcreg **r);

/* srcreg_check_spec - SPEC names a scheme an available mapping module
 * serves (the module is marked used); false with *error_r */
bool srcreg_check_spec(srcreg *r, const char *spec, char **error_r);
/* srcreg_check_function - MODULE is an available mapping module that
 * offers FUNCTION; false with *error_r */
bool srcreg_check_function(srcreg *r, const char *module,
                           const char *function, char **error_r);
/* srcreg_has_database - NAME ("" = the general database) is configured */
bool srcreg_has_database(const srcreg *r, const char *name);
/* srcreg_database_spec - the spec of database NAME, or NULL */
const char *srcreg_database_spec(const srcreg *r, const char *name);

/* Lookups: CURSUS_OK with the value appended to OUT, CURSUS_NONE when
 * absent, CURSUS_TEMPFAIL with *error_r (allocated). */
int srcreg_lookup(srcreg *r, const char *spec, const char *key, GString *out,
                  char **error_r);
int srcreg_database(srcreg *r, const char *name, const char *key,
                    GString *out, char **error_r);
int srcreg_url(srcreg *r, const char *url, GString *out, char **error_r);
int srcreg_call(srcreg *r, const char *module, const char *function,
                const char *argument, GString *out, char **error_r);
/* srcreg_iterate - every (key, value) of the source SPEC in its order;
 * CURSUS_NONE when the source cannot be enumerated */
int srcreg_iterate(srcreg *r, const char *spec,
                   int (*cb)(void *data, const char *key, const char *value),
                   void *data, char **error_r);

/* srcreg_scheme - the scheme of SPEC ("ldap" of "ldap:///..."), newly
 * allocated, or NULL when SPEC has none */
char *srcreg_scheme(const char *spec);

#endif
