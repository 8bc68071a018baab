/*
 * cursus/directory.h - directory backends: users, groups, hosted domains
 *
 * A directory module answers lookups in the Cursus schema (an LDAP schema
 * of users, groups and domains; see docs/directory.md and config/ldap/).
 * dir_ldap asks LDAP servers, dir_ldif reads the same entries from an LDIF
 * file.  Entries cross the boundary as plain C structures of attribute
 * names and values.  The server (core/dir) builds address resolution,
 * group expansion, authentication and provisioning on these few calls;
 * a module knows nothing of mail routing.
 *
 * Two tables:
 *  - cursus_directory_ops: what a directory module provides (the module's
 *    `directory` ops; the module named by `[directory] module` in
 *    cursus.conf is the one the server uses).
 *  - cursus_directory_access: what the host offers other modules
 *    (host->directory): users and domains as the server resolves them,
 *    and autoreply handling for the channel that delivers it.
 *
 * Failure policy: a directory that cannot answer returns CURSUS_TEMPFAIL;
 * the MTA then defers (4xx at SMTP, retry in the queue).  Never turn an
 * outage, a timeout or a refused bind into CURSUS_NONE: that would bounce
 * mail and tell clients that users do not exist.
 *
 * Threads: every call except open and close may run on several threads
 * at once; a module serialises what it must.  Callbacks run on the
 * calling thread before the call returns.
 *
 * Errors: *error_r points to a message (no trailing newline) that stays
 * valid until the next call on the same directory from the same thread;
 * a thread-local buffer in the module does.
 *
 * ABI history: everything here appeared in ABI 1.0.
 */
#ifndef CURSUS_DIRECTORY_H
#define CURSUS_DIRECTORY_H

#include <cursus/common.h>
#include <strings.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One attribute: a name and its values.  Names are compared without case
 * (as LDAP does); options such as ";lang-de" stay part of the name.
 * Values are NUL-terminated UTF-8 strings; attributes holding binary
 * data are not handed out. */
typedef struct cursus_attr {
  const char *name;
  size_t n_values;
  const char *const *values;
} cursus_attr;

/* One directory entry.  Entries a module returns are immutable and owned
 * by the module: release each with the module's entry_free (the host
 * never frees them otherwise).  An entry stays valid after a reload of
 * the directory until it is freed. */
typedef struct cursus_entry {
  const char *dn;
  size_t n_attrs;
  const cursus_attr *attrs;
} cursus_entry;

/* What kind of entry a lookup wants (bits; several may be given).  A
 * module tells them apart by object class: users are inetMailUser (or
 * inetLocalMailRecipient without inetMailGroup), groups inetMailGroup,
 * domains mailDomain or sunManagedOrganization. */
enum cursus_entry_kind {
  CURSUS_ENTRY_USER = 1u << 0,
  CURSUS_ENTRY_GROUP = 1u << 1,
  CURSUS_ENTRY_DOMAIN = 1u << 2,
};

/* Flags of lookups: cache hints. */
enum cursus_dir_flag {
  /* Do not answer from a cache: ask the source (the LDAP server, the
   * file as it is on disk now) and refresh the cache with the answer.
   * Provisioning uses it before writing; the MTA does not. */
  CURSUS_DIR_FRESH = 1u << 0,
};

/* Search scopes (as RFC 4511). */
enum cursus_dir_scope {
  CURSUS_SCOPE_BASE = 0,
  CURSUS_SCOPE_ONE = 1,
  CURSUS_SCOPE_SUB = 2,
};

/* Called for each entry a search finds.  ENTRY is valid only during the
 * call.  Return 0 to go on, anything else to stop the search (the search
 * then returns CURSUS_OK). */
typedef int cursus_entry_cb(void *data, const cursus_entry *entry);

/* Changes for modify (as RFC 4511 ModifyRequest). */
typedef enum cursus_mod_op {
  CURSUS_MOD_ADD = 0,     /* add VALUES to the attribute                  */
  CURSUS_MOD_DELETE = 1,  /* delete VALUES, or the attribute when none    */
  CURSUS_MOD_REPLACE = 2, /* replace all values (none: delete attribute)  */
} cursus_mod_op;

typedef struct cursus_mod {
  cursus_mod_op op;
  const char *name;
  size_t n_values;
  const char *const *values;
} cursus_mod;

/* cursus_entry_attr - the attribute NAME of ENTRY (without case), or NULL */
static inline const cursus_attr *cursus_entry_attr(const cursus_entry *entry,
                                                   const char *name) {
  for (size_t i = 0; entry != NULL && i < entry->n_attrs; i++)
    if (strcasecmp(entry->attrs[i].name, name) == 0)
      return &entry->attrs[i];
  return NULL;
}

/* cursus_entry_value - the first value of NAME, or NULL */
static inline const char *cursus_entry_value(const cursus_entry *entry,
                                             const char *name) {
  const cursus_attr *a = cursus_entry_attr(entry, name);
  return a != NULL && a->n_values > 0 ? a->values[0] : NULL;
}

/* cursus_entry_has - true when NAME has VALUE (compared without case) */
static inline int cursus_entry_has(const cursus_entry *entry,
                                   const char *name, const char *value) {
  const cursus_attr *a = cursus_entry_attr(entry, name);
  for (size_t i = 0; a != NULL && i < a->n_values; i++)
    if (strcasecmp(a->values[i], value) == 0)
      return 1;
  return 0;
}

/* cursus_entry_kind_of - the enum cursus_entry_kind ENTRY is by its
 * object classes (see enum cursus_entry_kind), or 0 */
static inline unsigned cursus_entry_kind_of(const cursus_entry *entry) {
  if (cursus_entry_has(entry, "objectClass", "mailDomain") ||
      cursus_entry_has(entry, "objectClass", "sunManagedOrganization"))
    return CURSUS_ENTRY_DOMAIN;
  if (cursus_entry_has(entry, "objectClass", "inetMailGroup"))
    return CURSUS_ENTRY_GROUP;
  if (cursus_entry_has(entry, "objectClass", "inetMailUser") ||
      cursus_entry_has(entry, "objectClass", "inetLocalMailRecipient"))
    return CURSUS_ENTRY_USER;
  return 0;
}

/*
 * What a directory module provides.  Lookups return CURSUS_OK with
 * *entry_r set, CURSUS_NONE when nothing matches, CURSUS_TEMPFAIL when the
 * directory cannot answer now, CURSUS_PERMFAIL when the question itself is
 * wrong (a malformed DN or filter, an ambiguous address).
 */
typedef struct cursus_directory_ops {
  uint32_t size;
  /* Opens the directory with the module's settings ([module NAME] of
   * cursus.conf).  Called once per process before any other call.  A
   * backend that is unreachable at open still opens (lookups then return
   * TEMPFAIL); open fails only on bad settings or unreadable data. */
  int (*open)(cursus_module_ctx *ctx, void **dir_r, const char **error_r);
  /* Releases everything; entries still held by the caller were freed
   * before.  Called once, with no other call running. */
  void (*close)(void *dir);
  /* The server's configuration was refreshed: re-read data that can
   * change (dir_ldif re-reads its file) and drop cached answers.  When
   * the new data is bad, keep serving the old and return a failure with
   * *error_r naming file:line.  May be NULL. */
  int (*reload)(void *dir, const char **error_r);
  /* Drops every cached answer (after provisioning in this process).
   * May be NULL. */
  void (*flush)(void *dir);

  /* The domain entry for DOMAIN (lower case, no trailing dot): the entry
   * whose sunPreferredDomain or associatedDomain is DOMAIN.  When no
   * domain entry has it but a user entry has msgVanityDomain DOMAIN (a
   * vanity domain), that user entry.  PERMFAIL when two domain entries
   * claim DOMAIN. */
  int (*lookup_domain)(void *dir, const char *domain, unsigned flags,
                       cursus_entry **entry_r, const char **error_r);
  /* The user or group (KINDS, enum cursus_entry_kind) whose mail,
   * mailAlternateAddress or mailEquivalentAddress is ADDRESS (compared
   * without case), below BASE_DN ("" for the whole directory).  ADDRESS
   * may be "@domain" (a catch-all alternate address).  The module
   * escapes ADDRESS itself: it is untrusted input from the wire.
   * PERMFAIL when several entries have it. */
  int (*lookup_address)(void *dir, const char *base_dn, const char *address,
                        unsigned kinds, unsigned flags, cursus_entry **entry_r,
                        const char **error_r);
  /* The user with login id UID below BASE_DN; PERMFAIL when several. */
  int (*lookup_uid)(void *dir, const char *base_dn, const char *uid,
                    unsigned flags, cursus_entry **entry_r,
                    const char **error_r);
  /* The entry named DN. */
  int (*lookup_dn)(void *dir, const char *dn, unsigned flags,
                   cursus_entry **entry_r, const char **error_r);
  /* Entries below BASE_DN in SCOPE matching FILTER (an RFC 4515 string
   * the caller built and escaped).  CURSUS_OK when the search completed
   * (even with no entry), CURSUS_PERMFAIL for a bad base or filter,
   * CURSUS_TEMPFAIL when the directory cannot answer.  MAX_ENTRIES > 0
   * stops with CURSUS_PERMFAIL ("size limit") past that many entries. */
  int (*search)(void *dir, const char *base_dn, int scope, const char *filter,
                size_t max_entries, unsigned flags, cursus_entry_cb *cb,
                void *data, const char **error_r);
  /* The same for an RFC 4516 LDAP URL ("ldap:///BASE??SCOPE?FILTER"), as
   * found in memberURL, mgrpDeliverTo and mgrpAllowedBroadcaster.  A host
   * part in the URL is ignored: the directory's own servers answer. */
  int (*search_url)(void *dir, const char *url, size_t max_entries,
                    unsigned flags, cursus_entry_cb *cb, void *data,
                    const char **error_r);
  /* Verifies PASSWORD for the entry DN at the source (dir_ldap binds as
   * DN, or reads its userPassword values and checks them with
   * host->directory->check_password).  CURSUS_OK, CURSUS_NONE (wrong
   * password or no password), TEMPFAIL.  NULL when the module hands out
   * userPassword values with entries: the host compares the hashes then.
   * An empty PASSWORD is never right (an LDAP bind with one would succeed
   * anonymously). */
  int (*authenticate)(void *dir, const char *dn, const char *password,
                      const char **error_r);

  /* --- provisioning; NULL for a read-only directory --- */
  /* Adds ENTRY (its dn and attributes).  PERMFAIL when it exists or its
   * parent does not, TEMPFAIL when the source cannot be written now. */
  int (*add)(void *dir, const cursus_entry *entry, const char **error_r);
  /* Applies MODS to the entry DN, all or nothing. */
  int (*modify)(void *dir, const char *dn, const cursus_mod *mods,
                size_t n_mods, const char **error_r);
  /* Deletes the entry DN (a leaf).  NONE when there is no such entry. */
  int (*remove)(void *dir, const char *dn, const char **error_r);

  /* Releases an entry a lookup returned.  NULL is ignored. */
  void (*entry_free)(void *dir, cursus_entry *entry);
  /* Appends "name value" lines about the directory's state (servers,
   * cache size, hits and misses) to OUT with host->buf_printf.  May be
   * NULL. */
  void (*stats)(void *dir, cursus_buf *out);
  /* --- members added after ABI 1.0 go here --- */
} cursus_directory_ops;

/* Facts about a message an autoreply decision depends on (see
 * cursus_directory_access.autoreply). */
typedef struct cursus_autoreply_msg {
  const char *sender;    /* envelope sender; "" for the null sender      */
  const char *recipient; /* the address the autoreply copy was sent to   */
  int content_fd;        /* the message (header, blank line, body), CRLF:
                            CONTENT_SIZE bytes from CONTENT_OFFSET on, read
                            with pread (the descriptor's position is left
                            alone), as host->queue->content_fd gives it */
  uint64_t content_size;
  uint64_t content_offset;
  /* the channel that delivers the copy; the reply is enqueued as coming
   * from it (NULL: "autoreply") */
  const char *channel;
} cursus_autoreply_msg;

/*
 * The directory as a host service (host->directory): for channel and
 * protocol modules that need a user's settings (a store's quota, a
 * channel's autoreply).  NULL in processes without a directory.
 */
typedef struct cursus_directory_access {
  uint32_t size;
  /* The user entry for ADDRESS_OR_LOGIN ("joe", "joe@example.com", an
   * alternate address) as the server resolves it: hosted domains, domain
   * aliases, the default domain.  CURSUS_OK with *entry_r (release with
   * entry_free) and the canonical user id appended to USER_ID when not
   * NULL; CURSUS_NONE; TEMPFAIL. */
  int (*find_user)(const char *address_or_login, cursus_entry **entry_r,
                   cursus_buf *user_id, const char **error_r);
  /* The domain entry for DOMAIN (an alias resolves to its domain). */
  int (*find_domain)(const char *domain, cursus_entry **entry_r,
                     const char **error_r);
  void (*entry_free)(cursus_entry **entry);
  /* Checks VALUE of attribute NAME as the server will use it (addresses,
   * domain names, status words, delivery options, numbers, times): 1 when
   * it is valid or NAME is not an attribute the server checks, 0 with
   * *why_r.  Directory modules reading data written by hand (dir_ldif)
   * call it to report bad values where they are.  Available before the
   * directory module's open is called. */
  int (*check_value)(const char *name, const char *value,
                     const char **why_r);
  /* Checks PASSWORD against one stored userPassword value STORED
   * ("{SCHEME}..."; the schemes of docs/directory.md): 1 it matches, 0 it
   * does not, -1 the scheme is unknown or the value is clear text (*why_r
   * says which).  For directory modules that read password hashes
   * instead of binding as the user. */
  int (*check_password)(const char *stored, const char *password,
                        const char **why_r);
  /* Handles the autoreply copy of a message for the user of
   * MSG->recipient: decides whether a reply is due (the user's autoreply
   * settings and dates, never to null senders, lists, bulk or
   * auto-submitted mail, once per sender per interval), and if so
   * enqueues the reply through host->queue and records it.  CURSUS_OK
   * (replied), CURSUS_NONE (no reply due; *error_r says why), TEMPFAIL
   * (retry the copy later), PERMFAIL (the copy cannot be handled). */
  int (*autoreply)(cursus_module_ctx *ctx, const cursus_autoreply_msg *msg,
                   const char **error_r);
  /* --- members added after ABI 1.0 go here --- */
} cursus_directory_access;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_DIRECTORY_H */
