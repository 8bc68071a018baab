/*
 * user.h - user sessions, mailbox names, the per-user usage file, and the
 * handles the store ABI hands out
 *
 * A user's directory holds store.usr: usage (bytes, messages), the
 * limits last seen, when the user went over quota and when they were
 * last warned.  Its flock is the user lock: appends, expunges and
 * structural changes (create, delete, rename) of the user's mailboxes
 * take it before any folder lock, so locks are always taken in the order
 * user -> folder.
 */
#ifndef SC_USER_H
#define SC_USER_H

#include "folder.h"
#include "mboxlist.h"
#include "mime.h"

/* The pseudo-owner of public folders ("Shared Folders/..."). */
#define SC_SHARED_OWNER "#shared"

struct cursus_store_user {
  sc_store *st;
  char *id;
  unsigned flags;           /* enum cursus_store_user_flag             */
  cursus_store_account acct;
  char *partition;          /* where the user's mailboxes are           */
  char *dir;                /* the user's directory (INBOX)             */
  cursus_store_error last_error;
  char *last_text;
  cursus_store_namespace ns[3];
  char *ns_prefix[3];
  GHashTable *owner_dirs;   /* owner -> directory, for shared folders  */
  int children;             /* open mailboxes and appends              */
};

/* Where a mailbox name points. */
typedef enum sc_ns { SC_NS_PERSONAL, SC_NS_OTHER, SC_NS_SHARED } sc_ns;

typedef struct sc_loc {
  sc_ns ns;
  char *owner;  /* the owner's user id                                  */
  char *name;   /* in the owner's personal namespace: "INBOX", "A/B"     */
  char *full;   /* as the acting user names it                          */
} sc_loc;

void sc_loc_clear(sc_loc *loc);

/* sc_user_fail - record ERROR as U's last error; returns the status */
int sc_user_fail(cursus_store_user *u, GError *error, const char **error_r);
/* sc_user_ok - clear the last error */
void sc_user_ok(cursus_store_user *u);

/* sc_user_open_impl - the ABI user_open */
int sc_user_open_impl(sc_store *st, const cursus_store_account *acct,
                      unsigned flags, cursus_store_user **user_r,
                      const char **error_r);
void sc_user_close_impl(cursus_store_user **u);

/* sc_name_resolve - split the name FULL as U sees it */
bool sc_name_resolve(cursus_store_user *u, const char *full, sc_loc *loc,
                     GError **error);
/* sc_name_full - the name of OWNER's mailbox NAME as U sees it */
char *sc_name_full(cursus_store_user *u, const char *owner, const char *name);
/* sc_name_check - NAME (internal form) is a valid mailbox name */
bool sc_name_check(sc_store *st, const char *name, GError **error);

/* sc_owner_dir - the directory of OWNER's store; NULL (NOTFOUND) when the
 * owner has none and !CREATE */
const char *sc_owner_dir(cursus_store_user *u, const char *owner, bool create,
                         GError **error);
/* sc_store_user_dir - the same without a session (tools, deliveries) */
char *sc_store_user_dir(sc_store *st, const char *owner, char **partition_r,
                        GError **error);
/* sc_create_user - create OWNER's store with INBOX on PARTITION (NULL =
 * the default policy) */
bool sc_create_user(sc_store *st, const char *owner, const char *partition,
                    GError **error);
/* sc_folder_dir - the directory of OWNER's mailbox NAME */
char *sc_folder_dir(cursus_store_user *u, const char *owner,
                    const char *name, GError **error);
/* sc_rights - U's rights on mailbox record M */
uint32_t sc_rights(cursus_store_user *u, const sc_mbox *m);
/* sc_lookup_mbox - resolve FULL and find its record; NOTFOUND (not
 * revealing existence without `l`) or NOPERM when U lacks NEED */
bool sc_lookup_mbox(cursus_store_user *u, const char *full, uint32_t need,
                    sc_loc *loc, sc_mbox **m_r, GError **error);

/* ------------------------------------------------------------ usage */

typedef struct sc_usage {
  uint32_t seq;            /* odd while the user lock is held          */
  uint64_t bytes, messages;
  int64_t over_since, warned_at;
  int64_t bytes_limit, messages_limit;
  uint32_t enforced;
} sc_usage;

/* The turnstile of one key for the threads of this process (gate.c). */
typedef struct sc_gate sc_gate;
/* sc_gate_enter - wait until no other thread of this process is inside
 * KEY's gate, then enter; NULL after TIMEOUT_MS */
sc_gate *sc_gate_enter(const char *key, unsigned timeout_ms);
/* sc_gate_leave - leave the gate and let the next thread in */
void sc_gate_leave(sc_gate **g);

/* A held user lock with the usage read. */
typedef struct sc_ulock {
  sc_store *st;
  char *owner;
  char *dir;
  int fd;
  sc_usage usage;
  sc_gate *gate; /* this process's turnstile of the owner */
} sc_ulock;

/* sc_ulock_take - lock OWNER's usage (recounting it first when a crash
 * interrupted an update); DIR is the owner's directory */
bool sc_ulock_take(sc_store *st, const char *owner, const char *dir,
                   sc_ulock *lk, GError **error);
/* sc_ulock_change - add DBYTES/DMSGS to the usage (written at release) */
void sc_ulock_change(sc_ulock *lk, int64_t dbytes, int64_t dmsgs);
/* sc_ulock_limits - record the account's limits */
void sc_ulock_limits(sc_ulock *lk, const cursus_store_account *acct);
/* sc_ulock_save - write the usage as it is */
void sc_ulock_save(sc_ulock *lk);
void sc_ulock_release(sc_ulock *lk);
/* sc_ulock_fits - may SIZE bytes be added? (limits, enforcement) */
bool sc_ulock_fits(sc_ulock *lk, uint64_t size, uint32_t count);
/* sc_usage_read_dir - read OWNER's usage without locking */
bool sc_usage_read_dir(const char *dir, sc_usage *u);
/* sc_usage_recount - sum OWNER's folders (lock held) */
bool sc_usage_recount(sc_store *st, const char *owner, const char *dir,
                      sc_usage *u, GError **error);

/* ------------------------------------------------------------ handles */

struct cursus_store_mailbox {
  cursus_store_user *user;
  sc_folder *f;
  sc_loc loc;
  sc_mbox *m;            /* the mailbox record as opened             */
  uint32_t rights;
  unsigned flags;        /* enum cursus_store_open_flag              */
  char *seen_user;       /* non-owner: whose \Seen set applies       */
  sc_uids *uids;         /* the view's UIDs                          */
  uint32_t count;        /* messages in the view                     */
  uint64_t version;      /* folder version at the last sync          */
  uint64_t expunge_version;
  uint64_t modseq;       /* highest modseq reported to the view      */
  guint n_keywords;      /* keywords announced                       */
  GArray *recent;        /* uid set with \Recent in this view        */
  GHashTable *own;       /* uid -> modseq of changes made through us */
  GArray *kw_tmp;        /* message_info keyword indices             */
  sc_part part_tmp;      /* message_part strings                     */
  struct sc_msginfo *info_tmp;
  uint32_t info_uid;     /* whose cache record info_tmp is          */
  void *raw_tmp;         /* an encoded cache record (message_field)  */
  size_t raw_len;
  uint32_t raw_uid;
  char *email_id_tmp;
  int exclusive_fd;
};

/* sc_view_find - the record of view sequence number SEQ (mu held), or
 * NULL with E_EXPUNGED */
const sc_rec *sc_view_rec(cursus_store_mailbox *box, uint32_t seq,
                          GError **error);
/* sc_view_flags - the flags of R as the view's user sees them */
uint32_t sc_view_flags(cursus_store_mailbox *box, const sc_rec *r);

#endif
