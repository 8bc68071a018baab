/*
 * ldifdb.h - one loaded directory file: its entries and their indexes
 *
 * Built from a parsed LDIF file (ldif.h) after checking the values the
 * server relies on (the server's rules, given as a function: addresses,
 * domain names, status words, delivery options, numbers, dates) and the
 * LDAP URLs of dynamic groups (their filters must be ones filter.c
 * evaluates), each error reported as "file:line: reason".  Immutable once built and shared by
 * reference count, so lookups on any thread never wait for a reload: a
 * reload builds a new ldifdb and swaps it in.
 *
 * Lookups return entries with a reference the caller drops with
 * direntry_unref.  Needs GLib, libldap (URLs), direntry.
 */
#ifndef CURSUS_LDIFDB_H
#define CURSUS_LDIFDB_H

#include "filter.h"
#include "ldif.h"

typedef struct ldifdb ldifdb;

/* How values are checked: true when VALUE is acceptable for attribute
 * NAME, else false with *why_r.  An empty VALUE asks whether NAME is
 * checked at all (binary data is refused only in checked attributes). */
typedef bool ldifdb_check(const char *name, const char *value,
                          const char **why_r);

/* ldifdb_build - check (with CHECK, may be NULL) and index F, which it
 * takes over; NULL with *error_r (allocated, NAME:LINE: reason) */
ldifdb *ldifdb_build(ldif_file *f, const char *name, ldifdb_check *check,
                     char **error_r);
ldifdb *ldifdb_ref(ldifdb *db);
void ldifdb_unref(ldifdb **db);

/* ldifdb_file - the records (for rewriting; do not change them) */
const ldif_file *ldifdb_file(const ldifdb *db);
size_t ldifdb_count(const ldifdb *db);

/* The lookups of cursus_directory_ops (same results). */
int ldifdb_domain(const ldifdb *db, const char *domain, cursus_entry **entry_r,
                  const char **error_r);
int ldifdb_address(const ldifdb *db, const char *base_ndn, const char *address,
                   unsigned kinds, cursus_entry **entry_r,
                   const char **error_r);
int ldifdb_uid(const ldifdb *db, const char *base_ndn, const char *uid,
               cursus_entry **entry_r, const char **error_r);
/* ldifdb_dn - by normalised DN */
int ldifdb_dn(const ldifdb *db, const char *ndn, cursus_entry **entry_r);
/* ldifdb_search - entries below BASE_NDN in SCOPE matching F; CB as in
 * cursus_entry_cb.  PERMFAIL with *error_r past MAX_ENTRIES (> 0) or
 * when the base does not exist. */
int ldifdb_search(const ldifdb *db, const char *base_ndn, int scope,
                  const filter *f, size_t max_entries, cursus_entry_cb *cb,
                  void *data, const char **error_r);
/* ldifdb_record_entry - the entry record R describes (text values only;
 * one reference) */
cursus_entry *ldifdb_record_entry(const ldif_record *r);
/* ldifdb_index - the position of the record named NDN, or -1 */
int ldifdb_index(const ldifdb *db, const char *ndn);
/* ldifdb_has_children - some record is directly below NDN */
bool ldifdb_has_children(const ldifdb *db, const char *ndn);

#endif
