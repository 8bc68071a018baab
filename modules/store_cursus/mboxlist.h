/*
 * mboxlist.h - the system area: the list of every mailbox, the users and
 * their partitions, subscriptions, and the index of ACL identifiers
 * (Tokyo Cabinet B+ tree STORE/mboxlist/folders.tcb)
 *
 * Keys: "V" version, "U<user>" user, "F<owner>\0<name>" mailbox,
 * "S<user>\0<name>" subscription, "A<identifier>\0<owner>\0<name>" who
 * has rights where, "P<user>" an operation in progress (create, delete,
 * rename) to finish or undo after a crash.
 *
 * Everything here can be rebuilt from the partitions (reconstruct -m).
 * Writers hold an exclusive lock on STORE/mboxlist/lock for one
 * transaction; readers a shared one while they read.
 */
#ifndef SC_MBOXLIST_H
#define SC_MBOXLIST_H

#include "sc.h"

typedef struct sc_mboxlist sc_mboxlist;
typedef struct sc_mltx sc_mltx;

/* sc_mbox flags */
#define SC_MBOX_NOSELECT 1u /* a placeholder directory: \Noselect */

typedef struct sc_mbox {
  char *owner;
  char *name;          /* in the owner's personal namespace: "INBOX" ...  */
  uint32_t uidvalidity;
  char *mailbox_id;
  uint32_t special_use;
  char *acl;           /* "id\trights\tid\trights..." ("" = owner only) */
  uint32_t flags;      /* SC_MBOX_*                                       */
  int64_t created;
} sc_mbox;

typedef struct sc_userrec {
  char *user;
  char *partition;
  int64_t created;
} sc_userrec;

void sc_mbox_free(sc_mbox *m);
sc_mbox *sc_mbox_copy(const sc_mbox *m);
void sc_userrec_free(sc_userrec *u);

/* sc_mboxlist_open - open (creating) the system area in DIR.  SEP is the
 * hierarchy separator; a store created with another one is refused. */
sc_mboxlist *sc_mboxlist_open(const char *dir, char sep, unsigned timeout_ms,
                              GError **error);
void sc_mboxlist_close(sc_mboxlist **ml);
/* sc_mboxlist_path - the database file */
const char *sc_mboxlist_path(sc_mboxlist *ml);

/* Reads: CURSUS_OK found, CURSUS_NONE not found, failure with ERROR. */
int sc_mboxlist_user(sc_mboxlist *ml, const char *user, sc_userrec **rec_r,
                     GError **error);
int sc_mboxlist_get(sc_mboxlist *ml, const char *owner, const char *name,
                    sc_mbox **m_r, GError **error);
/* sc_mboxlist_folders - OWNER's mailboxes (sc_mbox*) in name order */
bool sc_mboxlist_folders(sc_mboxlist *ml, const char *owner, GPtrArray *out,
                         GError **error);
/* sc_mboxlist_granted - mailboxes IDENTIFIER appears in the ACL of */
bool sc_mboxlist_granted(sc_mboxlist *ml, const char *identifier,
                         GPtrArray *out, GError **error);
/* sc_mboxlist_subscriptions - USER's subscribed names (char*) */
bool sc_mboxlist_subscriptions(sc_mboxlist *ml, const char *user,
                               GPtrArray *out, GError **error);
/* sc_mboxlist_users - every user record (sc_userrec*) */
bool sc_mboxlist_users(sc_mboxlist *ml, GPtrArray *out, GError **error);
/* sc_mboxlist_intent - USER's unfinished operation, or NULL */
char *sc_mboxlist_intent(sc_mboxlist *ml, const char *user, GError **error);
/* sc_mboxlist_all - every mailbox of every user (tools) */
bool sc_mboxlist_all(sc_mboxlist *ml, GPtrArray *out, GError **error);

/* Writes: one transaction under the exclusive lock. */
sc_mltx *sc_mboxlist_begin(sc_mboxlist *ml, GError **error);
bool sc_mboxlist_commit(sc_mltx **tx, GError **error);
void sc_mboxlist_abort(sc_mltx **tx);
/* sc_mboxlist_exclusive / _release - the writers' lock without opening the
 * database (snapshots copy the file, restores replace it; CHANGED makes
 * every reader reopen) */
bool sc_mboxlist_exclusive(sc_mboxlist *ml, GError **error);
void sc_mboxlist_release(sc_mboxlist *ml, bool changed);
/* sc_mltx_uidvalidity - a UIDVALIDITY greater than any given before */
uint32_t sc_mltx_uidvalidity(sc_mltx *tx);
int sc_mltx_get(sc_mltx *tx, const char *owner, const char *name,
                sc_mbox **m_r);
int sc_mltx_user(sc_mltx *tx, const char *user, sc_userrec **rec_r);
void sc_mltx_put_user(sc_mltx *tx, const sc_userrec *u);
void sc_mltx_del_user(sc_mltx *tx, const char *user);
void sc_mltx_put(sc_mltx *tx, const sc_mbox *m);
void sc_mltx_del(sc_mltx *tx, const char *owner, const char *name);
void sc_mltx_subscribe(sc_mltx *tx, const char *user, const char *name,
                       bool on);
void sc_mltx_set_intent(sc_mltx *tx, const char *user, const char *intent);
/* sc_mltx_folders - the same as sc_mboxlist_folders inside a transaction */
void sc_mltx_folders(sc_mltx *tx, const char *owner, GPtrArray *out);
/* the same as the reads above, inside a transaction (the reads above must
 * not be called while this thread holds one) */
void sc_mltx_subscriptions(sc_mltx *tx, const char *user, GPtrArray *out);
void sc_mltx_granted(sc_mltx *tx, const char *identifier, GPtrArray *out);
void sc_mltx_users(sc_mltx *tx, GPtrArray *out);
/* sc_mltx_clear - remove every record (reconstruct -m) */
void sc_mltx_clear(sc_mltx *tx);

/* ACL text helpers. */
/* sc_acl_rights - the rights of USER (the owner has all) */
uint32_t sc_acl_rights(const char *acl, const char *owner, const char *user);
/* sc_acl_set - ACL with IDENTIFIER changed; newly allocated */
char *sc_acl_set(const char *acl, const char *identifier,
                 cursus_store_acl_mode mode, uint32_t rights);
/* sc_acl_each - call CB for every entry */
void sc_acl_each(const char *acl,
                 void (*cb)(void *data, const char *id, uint32_t rights),
                 void *data);
/* sc_rights_parse / sc_rights_format - "lrs" <-> bits; parse returns
 * false on an unknown letter */
bool sc_rights_parse(const char *text, uint32_t *rights_r);
char *sc_rights_format(uint32_t rights);

#endif
