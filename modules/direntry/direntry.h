/*
 * direntry.h - immutable, reference-counted directory entries for the
 * directory modules (dir_ldif, dir_ldap)
 *
 * An entry is one allocation holding its cursus_entry, attribute array,
 * value pointers and strings, with a reference count in front: handing an
 * entry to the host or putting it in a cache costs an atomic increment,
 * not a copy.
 * Built with a builder; never changed afterwards, so any thread may read
 * it.  Needs GLib and the SDK headers only (modules link no core code).
 */
#ifndef CURSUS_DIRENTRY_H
#define CURSUS_DIRENTRY_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/directory.h>

typedef struct direntry_builder direntry_builder;

/* direntry_builder_new - start an entry named DN */
direntry_builder *direntry_builder_new(const char *dn);
/* direntry_builder_add - add VALUE to attribute NAME (values of names
 * that differ only in case go to one attribute, in the order added) */
void direntry_builder_add(direntry_builder *b, const char *name,
                          const char *value);
/* direntry_builder_add_entry - add every attribute of E except SKIP
 * (NULL-terminated names, may be NULL) */
void direntry_builder_add_entry(direntry_builder *b, const cursus_entry *e,
                                const char *const *skip);
/* direntry_builder_finish - the entry (one reference); frees B */
cursus_entry *direntry_builder_finish(direntry_builder **b);
void direntry_builder_free(direntry_builder **b);

/* direntry_ref - one more reference to E (any thread) */
cursus_entry *direntry_ref(const cursus_entry *e);
/* direntry_unref - drop a reference; the last frees it.  NULL is fine. */
void direntry_unref(cursus_entry *e);
/* direntry_size - bytes the entry occupies */
size_t direntry_size(const cursus_entry *e);

/* direntry_apply - a new entry: E with MODS applied; false with
 * *error_r (allocated) when a DELETE names a value E does not have */
bool direntry_apply(const cursus_entry *e, const cursus_mod *mods,
                    size_t n_mods, cursus_entry **result_r, char **error_r);

/* direntry_url - the base DN, scope (enum cursus_dir_scope) and filter of
 * the RFC 4516 LDAP URL URL (the host part is ignored); allocated; false
 * with *error_r (static) when URL is not an LDAP URL */
bool direntry_url(const char *url, char **base_r, int *scope_r,
                  char **filter_r, const char **error_r);

/* direntry_cache_copy / direntry_cache_free - value functions for
 * host->cache_new */
void *direntry_cache_copy(const void *value);
void direntry_cache_free(void *value);

#endif
