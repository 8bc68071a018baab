/*
 * cursus/directory.h - directory backends: users, groups, hosted domains
 *
 * A directory module answers lookups in the Cursus schema (an LDAP schema
 * of users, groups and domains; see docs/directory.md).  dir_ldap asks an
 * LDAP server, dir_ldif reads the same entries from an LDIF file.  Entries
 * cross the boundary as plain C structures of attribute names and values.
 *
 * Failure policy: a directory that cannot answer returns CURSUS_TEMPFAIL;
 * the MTA then defers (4xx at SMTP, retry in the queue).  Never turn an
 * outage into CURSUS_NONE: that would bounce mail.
 *
 * Threads: every call may run on several threads at once.
 */
#ifndef CURSUS_DIRECTORY_H
#define CURSUS_DIRECTORY_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One attribute: a name and its values. */
typedef struct cursus_attr {
  const char *name;
  size_t n_values;
  const char *const *values;
} cursus_attr;

/* One directory entry.  Allocated by the module; released with the
 * module's entry_free. */
typedef struct cursus_entry {
  const char *dn;
  size_t n_attrs;
  const cursus_attr *attrs;
} cursus_entry;

/* What kind of entry a lookup wants. */
enum cursus_entry_kind {
  CURSUS_ENTRY_USER = 1u << 0,
  CURSUS_ENTRY_GROUP = 1u << 1,
  CURSUS_ENTRY_DOMAIN = 1u << 2,
};

typedef struct cursus_directory_ops {
  uint32_t size;
  /* Opens the directory with the module's settings.  Called once per
   * process. */
  int (*open)(cursus_module_ctx *ctx, void **dir_r, const char **error_r);
  /* The domain entry for DOMAIN (a canonical name or an alias).
   * CURSUS_OK with *entry_r, CURSUS_NONE, or TEMPFAIL. */
  int (*lookup_domain)(void *dir, const char *domain, cursus_entry **entry_r,
                       const char **error_r);
  /* The user or group (KINDS) whose mail, mailAlternateAddress or
   * mailEquivalentAddress is ADDRESS, searched below BASE_DN (the
   * domain's user/group base). */
  int (*lookup_address)(void *dir, const char *base_dn, const char *address,
                        unsigned kinds, cursus_entry **entry_r,
                        const char **error_r);
  /* The user with login id UID below BASE_DN. */
  int (*lookup_uid)(void *dir, const char *base_dn, const char *uid,
                    cursus_entry **entry_r, const char **error_r);
  /* The entry named DN. */
  int (*lookup_dn)(void *dir, const char *dn, cursus_entry **entry_r,
                   const char **error_r);
  /* Entries matching an RFC 4516 LDAP URL (dynamic groups): CB is called
   * for each; it returns 0 to go on. */
  int (*search_url)(void *dir, const char *url,
                    int (*cb)(void *data, const cursus_entry *entry),
                    void *data, const char **error_r);
  /* Verifies PASSWORD for the entry DN: CURSUS_OK, CURSUS_NONE (wrong
   * password), TEMPFAIL. */
  int (*authenticate)(void *dir, const char *dn, const char *password,
                      const char **error_r);
  void (*entry_free)(void *dir, cursus_entry *entry);
  void (*close)(void *dir);
  /* --- members added after ABI 0.1 go here --- */
} cursus_directory_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_DIRECTORY_H */
