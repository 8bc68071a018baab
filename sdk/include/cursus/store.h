/*
 * cursus/store.h - message store backends, and the store as a host service
 *
 * A store backend keeps users' mailboxes.  IMAP, POP3, HTTP, the delivery
 * channel (ims-ms) and the admin tools reach it only through this header:
 *
 *   host->store            the configured backend as a host service
 *                          (struct cursus_store_access): opens users with
 *                          their directory attributes (quota, partition),
 *                          starts deliveries, runs admin operations.
 *   host->store->ops       the backend's own table (struct cursus_store_ops):
 *                          every call on a handle (user, mailbox, append,
 *                          watch) goes through it.
 *
 * A backend module (kind CURSUS_KIND_STORE) fills struct cursus_store_ops;
 * the server loads the one named by `[store] module` in cursus.conf.
 *
 * Objects and their lifetimes
 * ---------------------------
 *   store    one per process, opened by the host (ops->open) before any
 *            other call and closed at exit.
 *   user     one user's store session (cursus_store_user): who is acting
 *            and on whose behalf ACLs are checked.  Opened for an
 *            authenticated user, a delivery recipient or an admin tool;
 *            closed with user_close.  Every mailbox, append and watch made
 *            through it must be closed before the user.
 *   mailbox  an open mailbox (cursus_store_mailbox): a *view* of one
 *            folder.  Message sequence numbers belong to the view: they
 *            change only when the caller calls mailbox_sync (or its own
 *            expunge), as IMAP requires.  Other processes' appends,
 *            expunges and flag changes become visible at mailbox_sync.
 *   append   a message being stored into one or more mailboxes
 *            (cursus_store_append): IMAP APPEND, delivery to many
 *            recipients (stored once per partition, each recipient with
 *            their own flags), tools.
 *   watch    a change notification on an open mailbox (IMAP IDLE).
 *
 * Names
 * -----
 * Mailbox names are UTF-8 (IMAP modified UTF-7 is the protocol module's
 * business), full names in the user's view of the namespaces: "INBOX",
 * "Sent", "Archive/2024", "Other Users/bob/Projects" (another user's
 * folder shared with this user), "Shared Folders/News" (public folders).
 * The hierarchy separator and the namespace prefixes are the backend's
 * (user_namespaces()); "INBOX" is case-insensitive.  Admin tools open a
 * user with CURSUS_STORE_USER_ADMIN and use the same names.
 *
 * Return values and errors
 * ------------------------
 * Calls return CURSUS_OK, CURSUS_NONE (only where documented: "not
 * found"), CURSUS_TEMPFAIL or CURSUS_PERMFAIL, and set *error_r to a
 * human-readable text on failure (valid until the next call on the same
 * user handle from the same thread).  A failed call on a user handle or
 * anything opened through it also records a machine-readable reason,
 * read with user_last_error(): protocol modules map it to IMAP response
 * codes ([TRYCREATE], [OVERQUOTA], [NOPERM] ...) and SMTP status codes.
 *
 * Threads
 * -------
 * Calls on one user handle, and on the mailboxes, appends and watches
 * made through it, must not run concurrently; different user handles may
 * be used from different threads at once (a backend serialises what it
 * shares internally).  Calls may block on disk I/O and on other
 * processes' locks (bounded: a lock not obtained within the backend's
 * lock timeout fails with CURSUS_STORE_E_TEMP); event-driven callers run
 * heavy calls (SEARCH of bodies, COPY of thousands of messages) through
 * host->run_blocking.  Watch callbacks run on the process's loop thread.
 *
 * Durability
 * ----------
 * When append_commit, message_copy, message_move or mailbox_expunge
 * return CURSUS_OK, the change survives a crash of the process or the
 * machine (message data and its directory entry are on stable storage).
 * Flag changes are crash-safe against a process crash and may lose the
 * last moments before a power failure.
 *
 * Ops tables only grow at their end; check members added after ABI 1.0
 * with CURSUS_HAS(host->store->ops, member).  Structures the caller hands
 * in for the backend to fill start with `uint32_t size`: set it to
 * sizeof(struct) before the call so the backend fills only what the
 * caller knows.
 */
#ifndef CURSUS_STORE_H
#define CURSUS_STORE_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ handles */

/* One user's store session (opaque, owned by the backend). */
typedef struct cursus_store_user cursus_store_user;
/* An open mailbox: a view of a folder (opaque, owned by the backend). */
typedef struct cursus_store_mailbox cursus_store_mailbox;
/* A message being stored (opaque, owned by the backend). */
typedef struct cursus_store_append cursus_store_append;
/* A change notification on an open mailbox (opaque). */
typedef struct cursus_store_watch cursus_store_watch;

/* ------------------------------------------------------------ errors */

/* Why a call failed: user_last_error().  Suggested IMAP response codes
 * and enhanced status codes are given for the protocol modules. */
typedef enum cursus_store_error {
  CURSUS_STORE_E_NONE = 0,     /* no failure recorded                   */
  CURSUS_STORE_E_TEMP = 1,     /* I/O error, lock timeout, busy: retry
                                  ([UNAVAILABLE]; 4.3.0)                */
  CURSUS_STORE_E_NOTFOUND = 2, /* no such mailbox ([NONEXISTENT]; on
                                  APPEND/COPY/MOVE: [TRYCREATE]; 5.1.1
                                  when the user does not exist)         */
  CURSUS_STORE_E_EXISTS = 3,   /* mailbox already exists ([ALREADYEXISTS]) */
  CURSUS_STORE_E_NOPERM = 4,   /* ACL denies it ([NOPERM])              */
  CURSUS_STORE_E_OVERQUOTA = 5,/* over quota ([OVERQUOTA]; 4.2.2/5.2.2) */
  CURSUS_STORE_E_LIMIT = 6,    /* a store limit: keywords per mailbox,
                                  name length, depth, message size
                                  ([LIMIT]; 5.3.4)                     */
  CURSUS_STORE_E_INVALID = 7,  /* malformed argument: bad mailbox name,
                                  bad keyword, INBOX misuse ([CANNOT])  */
  CURSUS_STORE_E_INUSE = 8,    /* held exclusively by another session
                                  (POP3) ([INUSE])                      */
  CURSUS_STORE_E_EXPUNGED = 9, /* the message was expunged by another
                                  session ([EXPUNGEISSUED])            */
  CURSUS_STORE_E_UNSUPPORTED = 10, /* the backend does not offer this   */
  CURSUS_STORE_E_CORRUPT = 11, /* damaged data on disk; the backend has
                                  logged it ([CORRUPTION]; run
                                  `cursus reconstruct`)                */
  CURSUS_STORE_E_NOSPACE = 12, /* the partition is full (4.3.1)         */
  CURSUS_STORE_E_INTERNAL = 13,/* a bug ([SERVERBUG])                   */
} cursus_store_error;

/* ------------------------------------------------------------ flags */

/* System flags of a message (IMAP \Seen ...).  RECENT is reported, never
 * set: the first read-write view that sees a new message gets it. */
enum cursus_store_flag {
  CURSUS_STORE_SEEN = 1u << 0,
  CURSUS_STORE_ANSWERED = 1u << 1,
  CURSUS_STORE_FLAGGED = 1u << 2,
  CURSUS_STORE_DELETED = 1u << 3,
  CURSUS_STORE_DRAFT = 1u << 4,
  CURSUS_STORE_RECENT = 1u << 5,
};
#define CURSUS_STORE_FLAGS_SETTABLE 0x1fu

/* Special-use attributes of a mailbox (RFC 6154). */
enum cursus_store_special_use {
  CURSUS_STORE_USE_ALL = 1u << 0,
  CURSUS_STORE_USE_ARCHIVE = 1u << 1,
  CURSUS_STORE_USE_DRAFTS = 1u << 2,
  CURSUS_STORE_USE_FLAGGED = 1u << 3,
  CURSUS_STORE_USE_JUNK = 1u << 4,
  CURSUS_STORE_USE_SENT = 1u << 5,
  CURSUS_STORE_USE_TRASH = 1u << 6,
};

/* ACL rights (RFC 4314), one bit per right letter. */
enum cursus_store_right {
  CURSUS_STORE_RIGHT_LOOKUP = 1u << 0,     /* l: visible in LIST        */
  CURSUS_STORE_RIGHT_READ = 1u << 1,       /* r: SELECT, FETCH, SEARCH  */
  CURSUS_STORE_RIGHT_SEEN = 1u << 2,       /* s: keep \Seen             */
  CURSUS_STORE_RIGHT_WRITE = 1u << 3,      /* w: other flags, keywords  */
  CURSUS_STORE_RIGHT_INSERT = 1u << 4,     /* i: APPEND, COPY into      */
  CURSUS_STORE_RIGHT_POST = 1u << 5,       /* p: send mail to it        */
  CURSUS_STORE_RIGHT_CREATE = 1u << 6,     /* k: create children        */
  CURSUS_STORE_RIGHT_DELETE_MBOX = 1u << 7,/* x: delete, rename         */
  CURSUS_STORE_RIGHT_DELETE_MSG = 1u << 8, /* t: set \Deleted           */
  CURSUS_STORE_RIGHT_EXPUNGE = 1u << 9,    /* e: EXPUNGE                */
  CURSUS_STORE_RIGHT_ADMIN = 1u << 10,     /* a: change the ACL         */
};
#define CURSUS_STORE_RIGHTS_ALL 0x7ffu
/* The letters in bit order: "lrswipkxtea".  Obsolete RFC 2086 letters map
 * as RFC 4314 says: "c" = k+x, "d" = x+t+e. */
#define CURSUS_STORE_RIGHT_LETTERS "lrswipkxtea"

/* cursus_store_rights_parse - the rights of LETTERS (RFC 4314, with the
 * obsolete "c" and "d"; digits, reserved for local rights, are ignored):
 * 1 with *rights_r set, 0 on an unknown letter. */
static inline int cursus_store_rights_parse(const char *letters,
                                            uint32_t *rights_r) {
  uint32_t r = 0;
  for (const char *p = letters; *p != '\0'; p++) {
    const char *l = CURSUS_STORE_RIGHT_LETTERS;
    while (*l != '\0' && *l != *p)
      l++;
    if (*l != '\0')
      r |= 1u << (l - CURSUS_STORE_RIGHT_LETTERS);
    else if (*p == 'c')
      r |= CURSUS_STORE_RIGHT_CREATE | CURSUS_STORE_RIGHT_DELETE_MBOX;
    else if (*p == 'd')
      r |= CURSUS_STORE_RIGHT_DELETE_MBOX | CURSUS_STORE_RIGHT_DELETE_MSG |
           CURSUS_STORE_RIGHT_EXPUNGE;
    else if (*p < '0' || *p > '9')
      return 0;
  }
  *rights_r = r;
  return 1;
}

/* cursus_store_rights_format - RIGHTS as letters into OUT (12 bytes) */
static inline const char *cursus_store_rights_format(uint32_t rights,
                                                     char out[12]) {
  size_t k = 0;
  for (int i = 0; CURSUS_STORE_RIGHT_LETTERS[i] != '\0'; i++)
    if (rights & (1u << i))
      out[k++] = CURSUS_STORE_RIGHT_LETTERS[i];
  out[k] = '\0';
  return out;
}

/* ------------------------------------------------------------ types */

/* A range of sequence numbers or UIDs, both ends included. */
typedef struct cursus_store_range {
  uint32_t first;
  uint32_t last;
} cursus_store_range;

/* A set of messages of a view: RANGES of sequence numbers, or of UIDs
 * when BY_UID.  Ranges may overlap and be in any order; numbers past the
 * end of the view are ignored ("*" is the caller's to resolve). */
typedef struct cursus_store_set {
  const cursus_store_range *ranges;
  size_t n_ranges;
  int by_uid;
} cursus_store_set;

/* One namespace (RFC 2342). */
typedef enum cursus_store_namespace_kind {
  CURSUS_STORE_NS_PERSONAL = 0,
  CURSUS_STORE_NS_OTHER_USERS = 1,
  CURSUS_STORE_NS_SHARED = 2,
} cursus_store_namespace_kind;

typedef struct cursus_store_namespace {
  cursus_store_namespace_kind kind;
  const char *prefix; /* "" for personal, "Other Users/" ...           */
  char separator;     /* hierarchy separator                           */
} cursus_store_namespace;

/* What a user handle is opened for (user_open flags). */
enum cursus_store_user_flag {
  /* Create the user's store (INBOX) when it does not exist yet; without
   * it, a missing user fails with CURSUS_STORE_E_NOTFOUND. */
  CURSUS_STORE_USER_CREATE = 1u << 0,
  /* Every right on every mailbox of every user (admin tools); ACLs are
   * not checked. */
  CURSUS_STORE_USER_ADMIN = 1u << 1,
};

/*
 * A user's account as the directory describes it; the host fills it
 * (host->store->user_open) from the directory's attributes (mailQuota,
 * mailMsgQuota, mailMessageStore), the domain's defaults and
 * [store] in cursus.conf, and hands it to the backend's user_open.
 */
typedef struct cursus_store_account {
  uint32_t size;         /* sizeof(cursus_store_account)              */
  const char *user;      /* canonical user id ("joe", "joe@example.com") */
  const char *partition; /* where a new user's mailboxes go, or NULL:
                            the backend's choice.  An existing user stays
                            where they are (see user_move). */
  int64_t quota_bytes;   /* limit in octets; -1 = unlimited             */
  int64_t quota_messages;/* limit in messages; -1 = unlimited           */
  int enforce_quota;     /* 0: usage is tracked, limits are reported,
                            nothing is refused                          */
} cursus_store_account;

/* Facts about an open or closed mailbox (mailbox_status, mailbox_state).
 * `items` says which fields the backend filled. */
enum cursus_store_status_item {
  CURSUS_STORE_STATUS_MESSAGES = 1u << 0,
  CURSUS_STORE_STATUS_RECENT = 1u << 1,
  CURSUS_STORE_STATUS_UIDNEXT = 1u << 2,
  CURSUS_STORE_STATUS_UIDVALIDITY = 1u << 3,
  CURSUS_STORE_STATUS_UNSEEN = 1u << 4,
  CURSUS_STORE_STATUS_HIGHESTMODSEQ = 1u << 5,
  CURSUS_STORE_STATUS_SIZE = 1u << 6,    /* RFC 8438 */
  CURSUS_STORE_STATUS_DELETED = 1u << 7, /* IMAP4rev2 */
  CURSUS_STORE_STATUS_MAILBOXID = 1u << 8,
  CURSUS_STORE_STATUS_FIRST_UNSEEN = 1u << 9, /* open views only */
};
#define CURSUS_STORE_STATUS_ALL 0x1ffu

typedef struct cursus_store_status {
  uint32_t size;        /* sizeof(cursus_store_status), set by the caller */
  uint32_t items;       /* enum cursus_store_status_item: filled fields   */
  uint32_t messages;
  uint32_t recent;
  uint32_t unseen;      /* messages without \Seen (for this user)         */
  uint32_t deleted;     /* messages with \Deleted                          */
  uint32_t uidnext;
  uint32_t uidvalidity;
  uint32_t first_unseen;/* sequence number in the view; 0 = none          */
  uint64_t highestmodseq;
  uint64_t bytes;       /* sum of RFC822.SIZE                             */
  const char *mailbox_id; /* RFC 8474 MAILBOXID; lives as long as the view
                             or until the next status call               */
  /* Open views only: */
  int read_only;        /* opened read-only (EXAMINE) or lacks rights     */
  uint32_t permanent_flags; /* enum cursus_store_flag the user may set    */
  int may_create_keywords;  /* \* in PERMANENTFLAGS                      */
} cursus_store_status;

/* mailbox_open flags. */
enum cursus_store_open_flag {
  CURSUS_STORE_OPEN_READONLY = 1u << 0,  /* EXAMINE: no \Recent claimed,
                                            no changes allowed          */
  /* Exclusive access for a POP3 session: fails with
   * CURSUS_STORE_E_INUSE while another exclusive view exists (in any
   * process). */
  CURSUS_STORE_OPEN_EXCLUSIVE = 1u << 1,
  /* Read-write without claiming \Recent (tools, housekeeping: the user's
   * own sessions should still see their new mail as recent). */
  CURSUS_STORE_OPEN_NORECENT = 1u << 2,
};

/* One message as the view sees it (message_info). */
typedef struct cursus_store_message {
  uint32_t size;         /* sizeof(cursus_store_message), set by caller  */
  uint32_t uid;
  uint32_t flags;        /* enum cursus_store_flag, as this user sees them */
  uint32_t n_keywords;
  const uint32_t *keywords; /* indices into mailbox_keywords(); valid
                               until the next call on the mailbox       */
  int64_t internal_date; /* seconds since the epoch                     */
  int32_t internal_tz;   /* minutes east of UTC it was given in          */
  int64_t sent_date;     /* the Date: header in seconds, 0 if none/bad   */
  int32_t sent_tz;
  int64_t save_date;     /* when it was stored into this mailbox         */
  uint64_t rfc822_size;  /* octets, CRLF line ends                       */
  uint64_t modseq;
  const char *email_id;  /* RFC 8474 EMAILID: the same for every copy    */
  const char *thread_id; /* RFC 8474 THREADID, or NULL                   */
} cursus_store_message;

/* Cached representations of a message (message_field).  All are IMAP
 * syntax ready to send (RFC 3501 / RFC 9051 section 7.5.2): strings are
 * quoted, or literals `{n}\r\n...` when they hold 8-bit or special bytes;
 * NUL bytes never appear. */
typedef enum cursus_store_field {
  CURSUS_STORE_FIELD_ENVELOPE = 0,      /* "(date subject from ...)"     */
  CURSUS_STORE_FIELD_BODYSTRUCTURE = 1, /* with extension data           */
  CURSUS_STORE_FIELD_BODY = 2,          /* BODY: without extension data  */
  CURSUS_STORE_FIELD_HEADER = 3,        /* raw header block, blank line
                                           included (not IMAP-quoted)    */
} cursus_store_field;

/* Where one MIME part lies in the message file (message_part).  Offsets
 * are from the start of the message; the IMAP sections map as:
 *   BODY[]              0 .. rfc822_size
 *   BODY[HEADER]        header_offset/header_size of part ""
 *   BODY[TEXT]          text_offset/text_size of part ""
 *   BODY[n]             body_offset/body_size
 *   BODY[n.MIME]        mime_offset/mime_size
 *   BODY[n.HEADER|TEXT] header_* / text_* of a message/rfc822 part n  */
typedef struct cursus_store_part {
  uint32_t size;          /* sizeof(cursus_store_part), set by caller     */
  uint64_t mime_offset;   /* the part's own MIME header, blank line incl. */
  uint64_t mime_size;
  uint64_t body_offset;   /* the part's content, still encoded            */
  uint64_t body_size;
  uint64_t header_offset; /* part "" and message/rfc822 parts: the message */
  uint64_t header_size;   /*   header, blank line included; else 0,0      */
  uint64_t text_offset;   /* ... and that message's body; else 0,0        */
  uint64_t text_size;
  uint32_t body_lines;    /* lines in body_size                            */
  uint32_t n_children;    /* parts of a multipart (or 1 for message/rfc822) */
  const char *type;       /* lower case: "text", "multipart" ...          */
  const char *subtype;    /* lower case: "plain", "mixed" ...              */
  const char *encoding;   /* Content-Transfer-Encoding, lower case        */
  const char *charset;    /* the charset parameter, or NULL               */
} cursus_store_part;

/* Attributes of a listed mailbox (mailbox_list). */
enum cursus_store_list_attr {
  CURSUS_STORE_LIST_NOSELECT = 1u << 0,      /* \Noselect: a placeholder */
  CURSUS_STORE_LIST_NOINFERIORS = 1u << 1,   /* \Noinferiors             */
  CURSUS_STORE_LIST_HASCHILDREN = 1u << 2,   /* \HasChildren             */
  CURSUS_STORE_LIST_HASNOCHILDREN = 1u << 3, /* \HasNoChildren           */
  CURSUS_STORE_LIST_SUBSCRIBED = 1u << 4,    /* \Subscribed              */
  CURSUS_STORE_LIST_NONEXISTENT = 1u << 5,   /* \NonExistent (subscribed
                                                but gone, or a missing
                                                parent)                  */
  CURSUS_STORE_LIST_MARKED = 1u << 6,        /* new mail since last view */
  CURSUS_STORE_LIST_UNMARKED = 1u << 7,
};

/* What to list (mailbox_list flags; RFC 5258 selection options). */
enum cursus_store_list_flag {
  /* Only subscribed names, including subscribed names that do not exist
   * (LSUB / LIST (SUBSCRIBED)). */
  CURSUS_STORE_LIST_SELECT_SUBSCRIBED = 1u << 0,
  /* Only mailboxes with a special-use attribute. */
  CURSUS_STORE_LIST_SELECT_SPECIAL_USE = 1u << 1,
  /* RECURSIVEMATCH: also report parents matching a pattern whose children
   * satisfy the selection, with child_info set. */
  CURSUS_STORE_LIST_RECURSIVE_MATCH = 1u << 2,
};

typedef struct cursus_store_list_entry {
  const char *name;       /* full UTF-8 name                            */
  char separator;         /* hierarchy separator, '\0' for none (NIL)   */
  uint32_t attributes;    /* enum cursus_store_list_attr                */
  uint32_t special_use;   /* enum cursus_store_special_use              */
  uint32_t child_info;    /* RECURSIVEMATCH: CURSUS_STORE_LIST_SUBSCRIBED
                             when a child is subscribed (CHILDINFO)     */
  uint32_t my_rights;     /* enum cursus_store_right (RFC 8440 MYRIGHTS) */
} cursus_store_list_entry;

/* Quota of one quota root (RFC 9208): usage and limits, and the state
 * the delivery channel and the housekeeping process use for warnings and
 * the grace period. */
typedef struct cursus_store_quota {
  uint32_t size;          /* sizeof(cursus_store_quota), set by caller  */
  const char *root;       /* quota root name, e.g. "user/joe"            */
  uint64_t bytes_used;
  int64_t bytes_limit;    /* -1 = unlimited                              */
  uint64_t messages_used;
  int64_t messages_limit; /* -1 = unlimited                              */
  int enforced;           /* limits are enforced                         */
  int64_t over_since;     /* when usage last reached a limit (0 = under) */
  int64_t warned_at;      /* when the last threshold warning was sent    */
} cursus_store_quota;

/* Flag change modes (message_store_flags). */
typedef enum cursus_store_flag_mode {
  CURSUS_STORE_FLAGS_REPLACE = 0, /* FLAGS          */
  CURSUS_STORE_FLAGS_ADD = 1,     /* +FLAGS         */
  CURSUS_STORE_FLAGS_REMOVE = 2,  /* -FLAGS         */
} cursus_store_flag_mode;

/* ACL change modes (acl_set). */
typedef enum cursus_store_acl_mode {
  CURSUS_STORE_ACL_REPLACE = 0,
  CURSUS_STORE_ACL_ADD = 1,
  CURSUS_STORE_ACL_REMOVE = 2,
} cursus_store_acl_mode;

/* ------------------------------------------------------------ search */

/*
 * A search is a tree of keys; the backend evaluates it on the view.
 * Every key of this ABI version must be supported; a key the backend does
 * not know (from a newer SDK) fails with CURSUS_STORE_E_UNSUPPORTED.
 * Strings are UTF-8 (the protocol module converts from the client's
 * CHARSET) and match as case-insensitive substrings of the decoded text
 * (RFC 2047 words and transfer encodings decoded, charsets converted).
 */
typedef enum cursus_store_search_key {
  CURSUS_STORE_SEARCH_ALL = 0,
  CURSUS_STORE_SEARCH_AND = 1,     /* children: all must match            */
  CURSUS_STORE_SEARCH_OR = 2,      /* children: at least one              */
  CURSUS_STORE_SEARCH_NOT = 3,     /* one child                           */
  CURSUS_STORE_SEARCH_SET = 4,     /* `set`: sequence numbers or UIDs     */
  CURSUS_STORE_SEARCH_FLAGS = 5,   /* every flag in `number` is set       */
  CURSUS_STORE_SEARCH_UNFLAGS = 6, /* no flag in `number` is set          */
  CURSUS_STORE_SEARCH_KEYWORD = 7, /* keyword `value` is set              */
  CURSUS_STORE_SEARCH_UNKEYWORD = 8,
  /* Dates: `number` is a day (days since 1970-01-01); the message's date
   * is taken in its own time zone, ignoring the time (RFC 3501). */
  CURSUS_STORE_SEARCH_BEFORE = 9,  /* internal date earlier than the day  */
  CURSUS_STORE_SEARCH_ON = 10,
  CURSUS_STORE_SEARCH_SINCE = 11,  /* on or after the day                 */
  CURSUS_STORE_SEARCH_SENTBEFORE = 12, /* the same on the Date: header    */
  CURSUS_STORE_SEARCH_SENTON = 13,
  CURSUS_STORE_SEARCH_SENTSINCE = 14,
  CURSUS_STORE_SEARCH_OLDER = 15,  /* internal date more than `number`
                                      seconds ago (RFC 5032)              */
  CURSUS_STORE_SEARCH_YOUNGER = 16,
  CURSUS_STORE_SEARCH_LARGER = 17, /* RFC822.SIZE > number                */
  CURSUS_STORE_SEARCH_SMALLER = 18,
  CURSUS_STORE_SEARCH_HEADER = 19, /* header `field` contains `value`
                                      ("" matches any message having it);
                                      FROM/TO/CC/BCC/SUBJECT are HEADER
                                      with that field                     */
  CURSUS_STORE_SEARCH_BODY = 20,   /* text of the body contains `value`   */
  CURSUS_STORE_SEARCH_TEXT = 21,   /* header or body contains `value`     */
  CURSUS_STORE_SEARCH_MODSEQ = 22, /* modseq >= number (RFC 7162)         */
  CURSUS_STORE_SEARCH_EMAILID = 23,/* RFC 8474                            */
  CURSUS_STORE_SEARCH_SAVEDBEFORE = 24, /* RFC 8514 save date, as dates   */
  CURSUS_STORE_SEARCH_SAVEDON = 25,
  CURSUS_STORE_SEARCH_SAVEDSINCE = 26,
} cursus_store_search_key;

typedef struct cursus_store_search {
  cursus_store_search_key key;
  size_t n_children;
  const struct cursus_store_search *children; /* AND, OR (2), NOT (1)   */
  const char *field;   /* HEADER: the field name                        */
  const char *value;   /* HEADER, BODY, TEXT, KEYWORD, EMAILID          */
  int64_t number;      /* dates, sizes, seconds, flags, modseq          */
  cursus_store_set set;/* SET                                           */
} cursus_store_search;

/* ------------------------------------------------------------ callbacks */

/* What mailbox_sync reports.  Any member may be NULL. */
typedef struct cursus_store_sync_cb {
  uint32_t size;
  /* A message left the view.  Reported in the order to send them: SEQ is
   * valid when this call is made (messages after it move down by one
   * once it returns). */
  void (*expunged)(void *data, uint32_t seq, uint32_t uid);
  /* The number of messages in the view after new arrivals (EXISTS);
   * called once, after the expunges, when it changed. */
  void (*exists)(void *data, uint32_t count);
  /* Messages with \Recent for this view (RECENT), when it changed. */
  void (*recent)(void *data, uint32_t count);
  /* The mailbox's keyword list grew (send FLAGS/PERMANENTFLAGS again). */
  void (*keywords)(void *data);
  /* Flags, keywords or modseq of message SEQ changed by another view
   * (send FETCH FLAGS, with MODSEQ under CONDSTORE). */
  void (*changed)(void *data, uint32_t seq, uint32_t uid);
} cursus_store_sync_cb;

/* mailbox_sync flags. */
enum cursus_store_sync_flag {
  /* Do not remove expunged messages from the view yet (IMAP forbids
   * EXPUNGE responses during FETCH, STORE and SEARCH); new messages,
   * flag changes and keyword changes are still reported. */
  CURSUS_STORE_SYNC_NO_EXPUNGES = 1u << 0,
};

/* ------------------------------------------------------------ appends */

/* A message to store: the content comes through append_write. */
typedef struct cursus_store_append_params {
  uint32_t size;          /* sizeof(cursus_store_append_params)          */
  uint64_t size_hint;     /* expected size, or 0 (lets the backend refuse
                             early with E_LIMIT/E_OVERQUOTA)             */
  unsigned flags;         /* enum cursus_store_append_flag                */
} cursus_store_append_params;

enum cursus_store_append_flag {
  /* Convert bare LF line ends to CRLF while writing (content from a
   * file); without it the content must already use CRLF. */
  CURSUS_STORE_APPEND_FIX_EOL = 1u << 0,
};

/* One mailbox a message goes into (append_target). */
typedef struct cursus_store_target {
  uint32_t size;          /* sizeof(cursus_store_target)                  */
  const char *mailbox;    /* name in the user's namespaces                 */
  uint32_t flags;         /* enum cursus_store_flag (RECENT ignored)       */
  const char *const *keywords; /* NULL-terminated, or NULL                 */
  int64_t internal_date;  /* 0 = now                                       */
  int32_t internal_tz;    /* minutes east of UTC                           */
  unsigned options;       /* enum cursus_store_target_option               */
} cursus_store_target;

enum cursus_store_target_option {
  /* Store even over quota (the guaranteed-delivery channel, quota
   * warnings): usage still counts. */
  CURSUS_STORE_TARGET_IGNORE_QUOTA = 1u << 0,
  /* Delivery: when MAILBOX does not exist or may not be written, store
   * into INBOX instead (Sieve fileinto, folder addresses "joe+Folder"). */
  CURSUS_STORE_TARGET_FALLBACK_INBOX = 1u << 1,
  /* Create MAILBOX when it does not exist. */
  CURSUS_STORE_TARGET_CREATE = 1u << 2,
  /* Delivery by the MTA: checks the `p` (post) right instead of `i` on
   * another user's folder. */
  CURSUS_STORE_TARGET_POST = 1u << 3,
};

/* The outcome for one target (append_commit). */
typedef struct cursus_store_append_result {
  uint32_t size;          /* sizeof(cursus_store_append_result)          */
  int status;             /* CURSUS_OK, TEMPFAIL or PERMFAIL               */
  cursus_store_error error;
  const char *text;       /* why, for logs and DSNs; valid until the
                             append is freed                              */
  uint32_t uid;           /* UIDPLUS APPENDUID                             */
  uint32_t uidvalidity;
  const char *mailbox;    /* where it went (differs after a fallback)      */
} cursus_store_append_result;

/* ------------------------------------------------------------ admin */

/* Operations of `cursus reconstruct` (reconstruct flags). */
enum cursus_store_reconstruct_flag {
  CURSUS_STORE_RECONSTRUCT_CHECK = 1u << 0,   /* report only (-n)       */
  CURSUS_STORE_RECONSTRUCT_FORCE = 1u << 1,   /* rebuild every index and
                                                 cache from the files (-f) */
  CURSUS_STORE_RECONSTRUCT_MBOXLIST = 1u << 2,/* rebuild the mailbox list
                                                 and user database from the
                                                 partitions (-m)         */
  CURSUS_STORE_RECONSTRUCT_QUOTA = 1u << 3,   /* recount quota usage (-q) */
  CURSUS_STORE_RECONSTRUCT_RECURSIVE = 1u << 4, /* the mailbox and all
                                                 below it (-r)           */
};

/* One partition (partitions). */
typedef struct cursus_store_partition {
  uint32_t size;          /* sizeof(cursus_store_partition)              */
  const char *name;
  const char *path;
  uint64_t bytes_total;   /* of the file system                          */
  uint64_t bytes_free;
  uint64_t users;
  int is_default;         /* new users go here unless told otherwise     */
} cursus_store_partition;

/* ------------------------------------------------------------ backend */

/*
 * What a store backend module provides.  All members of ABI 1.0 are
 * required; later members are checked with CURSUS_HAS.
 */
typedef struct cursus_store_ops {
  uint32_t size;

  /* ---- the store (one per process) ---- */

  /* Opens the store with the module's settings; called once per process
   * by the host before any other call.  Fails with TEMPFAIL when the
   * store cannot be reached (missing partition, unreadable system area). */
  int (*open)(cursus_module_ctx *ctx, void **store_r, const char **error_r);
  void (*close)(void *store);
  /* The configuration was reloaded: re-read settings that may change at
   * run time.  May be NULL. */
  void (*refresh)(void *store);

  /* ---- users ---- */

  /* Opens ACCOUNT->user's store session (see cursus_store_user_flag).
   * CURSUS_NONE when the user has no store and CREATE was not given.
   * The account's limits are recorded for quota reports. */
  int (*user_open)(void *store, const cursus_store_account *account,
                   unsigned flags, cursus_store_user **user_r,
                   const char **error_r);
  /* Closes a user; every mailbox, append and watch of it must be closed. */
  void (*user_close)(cursus_store_user **user);
  /* Why the last failed call on USER (or anything opened through it)
   * failed. */
  cursus_store_error (*user_last_error)(cursus_store_user *user);
  /* The canonical user id. */
  const char *(*user_id)(cursus_store_user *user);
  /* The namespaces this user sees, personal first; the array lives as
   * long as the user. */
  const cursus_store_namespace *(*user_namespaces)(cursus_store_user *user,
                                                   size_t *count_r);
  /* Calls CB for every user with a store, in no particular order; CB
   * returns 0 to go on, anything else stops (returned).  For tools and the
   * housekeeping process. */
  int (*users_list)(void *store, int (*cb)(void *data, const char *user,
                                            const char *partition),
                    void *data, const char **error_r);
  /* Removes USER's store entirely (all mailboxes, messages, quota,
   * subscriptions, and the user's entries in others' ACLs).  CURSUS_NONE
   * when the user has none. */
  int (*user_delete)(void *store, const char *user, const char **error_r);
  /* Moves USER's mailboxes to PARTITION while the server runs: sessions
   * and deliveries wait for the move (bounded by the lock timeout) and
   * then continue at the new place. */
  int (*user_move)(void *store, const char *user, const char *partition,
                   const char **error_r);

  /* ---- mailboxes ---- */

  /* Lists the mailboxes USER sees whose names match one of PATTERNS
   * (NULL-terminated; IMAP LIST wildcards: `*` anything, `%` anything but
   * the separator; reference already applied by the caller), calling CB
   * for each, parents before children, each name once.  FLAGS are enum
   * cursus_store_list_flag.  The entry lives during the call.  Mailboxes
   * without the `l` right are not listed.  CB returns 0 to go on. */
  int (*mailbox_list)(cursus_store_user *user, const char *const *patterns,
                      unsigned flags,
                      int (*cb)(void *data, const cursus_store_list_entry *e),
                      void *data, const char **error_r);
  /* Creates NAME (and missing parents) with SPECIAL_USE attributes (0 =
   * none).  Fails with E_EXISTS, E_NOPERM, E_INVALID, E_LIMIT. */
  int (*mailbox_create)(cursus_store_user *user, const char *name,
                        uint32_t special_use, const char **error_r);
  /* Deletes NAME and its messages.  A mailbox with children becomes a
   * \Noselect placeholder instead (RFC 3501).  INBOX cannot be deleted. */
  int (*mailbox_delete)(cursus_store_user *user, const char *name,
                        const char **error_r);
  /* Renames OLD to NEW with every mailbox below it.  Renaming INBOX moves
   * its messages to NEW and leaves INBOX empty (RFC 3501).  Fails with
   * E_EXISTS, E_INVALID (NEW below OLD, or in another user's mailboxes)
   * and E_LIMIT (a mailbox below would nest too deep). */
  int (*mailbox_rename)(cursus_store_user *user, const char *old_name,
                        const char *new_name, const char **error_r);
  /* Adds or removes NAME from the user's subscriptions (it need not
   * exist). */
  int (*mailbox_subscribe)(cursus_store_user *user, const char *name,
                           int subscribe, const char **error_r);
  /* STATUS of NAME without selecting it; fills the items asked for in
   * status->items (enum cursus_store_status_item) and sets status->items
   * to those filled. */
  int (*mailbox_status)(cursus_store_user *user, const char *name,
                        cursus_store_status *status, const char **error_r);
  /* Sets the special-use attributes of NAME (RFC 6154 CREATE USE,
   * METADATA). */
  int (*mailbox_set_special_use)(cursus_store_user *user, const char *name,
                                 uint32_t special_use, const char **error_r);

  /* ---- ACLs (RFC 4314) ---- */

  /* Calls CB for each identifier with rights on NAME ("anyone", user
   * ids; "-id" for negative rights).  Needs the `a` right (or the owner's
   * `l`). */
  int (*acl_get)(cursus_store_user *user, const char *name,
                 int (*cb)(void *data, const char *identifier,
                           uint32_t rights),
                 void *data, const char **error_r);
  /* Changes IDENTIFIER's rights on NAME; rights 0 with REPLACE deletes
   * the entry (DELETEACL).  Needs the `a` right. */
  int (*acl_set)(cursus_store_user *user, const char *name,
                 const char *identifier, cursus_store_acl_mode mode,
                 uint32_t rights, const char **error_r);
  /* The rights USER has on NAME (MYRIGHTS). */
  int (*acl_myrights)(cursus_store_user *user, const char *name,
                      uint32_t *rights_r, const char **error_r);
  /* LISTRIGHTS: the rights IDENTIFIER always has on NAME (*required_r)
   * and the rights that may be granted (*optional_r). */
  int (*acl_listrights)(cursus_store_user *user, const char *name,
                        const char *identifier, uint32_t *required_r,
                        uint32_t *optional_r, const char **error_r);

  /* ---- quota (RFC 9208) ---- */

  /* The quota root of NAME ("user/<owner>"), appended to ROOT as a
   * NUL-terminated string; CURSUS_NONE when the mailbox has none. */
  int (*quota_root)(cursus_store_user *user, const char *name,
                    cursus_buf *root, const char **error_r);
  /* Usage and limits of ROOT (NULL = the user's own).  Needs the `r`
   * right on a mailbox under it, or being its owner. */
  int (*quota_get)(cursus_store_user *user, const char *root,
                   cursus_store_quota *quota, const char **error_r);
  /* Records that a threshold warning was sent to USER at WHEN. */
  int (*quota_set_warned)(cursus_store_user *user, int64_t when,
                          const char **error_r);

  /* ---- open mailboxes (views) ---- */

  /* Opens NAME as a view (enum cursus_store_open_flag).  Needs the `r`
   * right; the view's status (permanent_flags, read_only) says what the
   * user's other rights allow.  Claims \Recent for new messages unless
   * READONLY. */
  int (*mailbox_open)(cursus_store_user *user, const char *name,
                      unsigned flags, cursus_store_mailbox **box_r,
                      const char **error_r);
  void (*mailbox_close)(cursus_store_mailbox **box);
  /* The view's name as opened. */
  const char *(*mailbox_name)(cursus_store_mailbox *box);
  /* The view's state (SELECT responses): fills what status->items asks.
   * Counts are those of the view as of its last sync. */
  int (*mailbox_state)(cursus_store_mailbox *box, cursus_store_status *status,
                       const char **error_r);
  /* Brings the view up to date with every change by any process since
   * the last sync, reporting each through CB (any may be NULL).  FLAGS:
   * enum cursus_store_sync_flag.  The callbacks run while the backend
   * holds the folder's state locked: they must not call into the store
   * (no message_info, message_field, sync ... on this or any other view
   * of the user; a backend may deadlock).  Record what they report
   * (sequence numbers, UIDs) and act on it after mailbox_sync returns;
   * the sequence numbers given are valid in the view as it is then. */
  int (*mailbox_sync)(cursus_store_mailbox *box, unsigned flags,
                      const cursus_store_sync_cb *cb, void *data,
                      const char **error_r);
  /* Messages in the view. */
  uint32_t (*mailbox_count)(cursus_store_mailbox *box);
  /* The keyword names defined in the mailbox (FLAGS), in index order; the
   * array lives until the next sync or close.  The list only grows, and
   * only at mailbox_sync: a keyword a session creates with
   * message_store_flags (this view's or another's) becomes part of it at
   * this view's next sync, which reports it through the `keywords`
   * callback.  Until then message_info may give keyword indices at or
   * past *count_r: leave them out, or sync first (IMAP sends FLAGS
   * before the FETCH responses that use a new keyword). */
  const char *const *(*mailbox_keywords)(cursus_store_mailbox *box,
                                         size_t *count_r);
  /* The UID of sequence number SEQ (1-based), or 0 when out of range. */
  uint32_t (*message_uid)(cursus_store_mailbox *box, uint32_t seq);
  /* The sequence number of UID, or 0 when it is not in the view. */
  uint32_t (*message_seq)(cursus_store_mailbox *box, uint32_t uid);
  /* The first and last sequence numbers whose UIDs lie in FIRST..LAST;
   * CURSUS_NONE when none do. */
  int (*message_seq_range)(cursus_store_mailbox *box, uint32_t first_uid,
                           uint32_t last_uid, uint32_t *first_seq_r,
                           uint32_t *last_seq_r);
  /* Facts about message SEQ.  A message another session expunged, still
   * in this view, fails with E_EXPUNGED for what is no longer cached. */
  int (*message_info)(cursus_store_mailbox *box, uint32_t seq,
                      cursus_store_message *msg, const char **error_r);
  /* Appends the cached FIELD of message SEQ to OUT, without opening the
   * message file when the cache has it. */
  int (*message_field)(cursus_store_mailbox *box, uint32_t seq,
                       cursus_store_field field, cursus_buf *out,
                       const char **error_r);
  /* Appends the header lines of PART ("" = the message; "2" = the
   * message of a message/rfc822 part 2) whose field names are in NAMES
   * (NULL-terminated, case-insensitive), or not in NAMES when EXCLUDE,
   * followed by the blank line (BODY[HEADER.FIELDS (...)]). */
  int (*message_headers)(cursus_store_mailbox *box, uint32_t seq,
                         const char *part, const char *const *names,
                         int exclude, cursus_buf *out, const char **error_r);
  /* Where PART ("" = the whole message, "1", "1.2" ...) of message SEQ
   * lies in the file.  CURSUS_NONE when the part does not exist.  Strings
   * live until the next call on the mailbox. */
  int (*message_part)(cursus_store_mailbox *box, uint32_t seq,
                      const char *part, cursus_store_part *part_r,
                      const char **error_r);
  /* A read-only descriptor of message SEQ's file, positioned at 0, and
   * its size (CRLF line ends, as stored).  The caller closes it. */
  int (*message_open)(cursus_store_mailbox *box, uint32_t seq, int *fd_r,
                      uint64_t *size_r, const char **error_r);
  /* The content of PART decoded from its transfer encoding (BINARY[],
   * RFC 3516), appended to OUT.  E_LIMIT when larger than the backend's
   * limit for decoded content. */
  int (*message_binary)(cursus_store_mailbox *box, uint32_t seq,
                        const char *part, cursus_buf *out,
                        const char **error_r);

  /* ---- changing messages ---- */

  /* Changes the flags and keywords of the messages in SET.  FLAGS: enum
   * cursus_store_flag; KEYWORDS: NULL-terminated or NULL (new keywords
   * are added to the mailbox).  UNCHANGEDSINCE (0 = no condition,
   * RFC 7162): messages whose modseq is greater are left alone and
   * reported through MODIFIED.  CHANGED is called for each message whose
   * flags changed (after the change; read them with message_info).  The
   * view's other sessions see the change at their next sync.  Needs `s`
   * for \Seen, `t` for \Deleted, `w` for the rest; flags the user may not
   * change are left alone silently (RFC 4314). */
  int (*message_store_flags)(cursus_store_mailbox *box,
                             const cursus_store_set *set,
                             cursus_store_flag_mode mode, uint32_t flags,
                             const char *const *keywords,
                             uint64_t unchangedsince,
                             void (*changed)(void *data, uint32_t seq,
                                             uint32_t uid),
                             void (*modified)(void *data, uint32_t seq,
                                              uint32_t uid),
                             void *data, const char **error_r);
  /* Removes messages with \Deleted from the mailbox; with SET (may be
   * NULL) only those in SET (UID EXPUNGE).  EXPUNGED is called for each,
   * as in cursus_store_sync_cb (the view shrinks as it goes).  Needs `e`. */
  int (*mailbox_expunge)(cursus_store_mailbox *box,
                         const cursus_store_set *set,
                         void (*expunged)(void *data, uint32_t seq,
                                          uint32_t uid),
                         void *data, const char **error_r);
  /* Copies the messages in SET into mailbox DEST of the view's user,
   * keeping flags, keywords and internal dates; COPIED gets each pair of
   * UIDs in the order of SET's messages (COPYUID), and *uidvalidity_r the
   * destination's.  All or nothing: on failure nothing was copied. */
  int (*message_copy)(cursus_store_mailbox *box, const cursus_store_set *set,
                      const char *dest,
                      void (*copied)(void *data, uint32_t src_uid,
                                     uint32_t dst_uid),
                      void *data, uint32_t *uidvalidity_r,
                      const char **error_r);
  /* Moves them (RFC 6851): copies, then expunges them from this view,
   * reporting through EXPUNGED as mailbox_expunge does. */
  int (*message_move)(cursus_store_mailbox *box, const cursus_store_set *set,
                      const char *dest,
                      void (*copied)(void *data, uint32_t src_uid,
                                     uint32_t dst_uid),
                      void (*expunged)(void *data, uint32_t seq,
                                       uint32_t uid),
                      void *data, uint32_t *uidvalidity_r,
                      const char **error_r);

  /* ---- search and resynchronisation ---- */

  /* Evaluates QUERY on the view, calling MATCH for each matching message
   * in ascending order. */
  int (*mailbox_search)(cursus_store_mailbox *box,
                        const cursus_store_search *query,
                        void (*match)(void *data, uint32_t seq, uint32_t uid),
                        void *data, const char **error_r);
  /* CONDSTORE/QRESYNC: calls CHANGED for each message in the view whose
   * modseq is greater than MODSEQ. */
  int (*mailbox_changed_since)(cursus_store_mailbox *box, uint64_t modseq,
                               void (*changed)(void *data, uint32_t seq,
                                               uint32_t uid),
                               void *data, const char **error_r);
  /* QRESYNC: calls VANISHED for each UID expunged after MODSEQ, limited
   * to KNOWN (may be NULL = all).  When the backend no longer remembers
   * that far back it reports every UID of KNOWN not in the mailbox. */
  int (*mailbox_vanished_since)(cursus_store_mailbox *box, uint64_t modseq,
                                const cursus_store_set *known,
                                void (*vanished)(void *data, uint32_t uid),
                                void *data, const char **error_r);

  /* ---- change notifications ---- */

  /* Calls CB on the process's loop thread soon after any process changes
   * the mailbox of BOX (new messages, expunges, flags).  The callback
   * usually calls mailbox_sync.  NULL with E_UNSUPPORTED in processes
   * without an event loop, with E_TEMP when the system's limit of
   * notifications is reached: the caller then polls (mailbox_sync on a
   * timer), as IMAP IDLE does.
   *
   * Resources (store_cursus): a process has one inotify descriptor for
   * all its watches and one inotify watch per watched folder, however
   * many views watch it; an open folder keeps two descriptors (its
   * directory and its store.log) per process, shared by every view of
   * it, plus one for the cache once a message was read.  A session
   * idling in its own INBOX therefore costs its socket and about three
   * descriptors and one inotify watch per distinct folder.  50,000 IDLE
   * sessions on 50,000 INBOXes need about 200,000 descriptors spread
   * over the worker processes (the dispatcher's MAX_CONNS and MAX_PROCS,
   * each worker's RLIMIT_NOFILE) and 50,000 inotify watches for the
   * server's user (fs.inotify.max_user_watches, per user over all its
   * processes; past it IDLE falls back to polling). */
  cursus_store_watch *(*watch_add)(cursus_store_mailbox *box,
                                   void (*cb)(void *data), void *data,
                                   const char **error_r);
  void (*watch_remove)(cursus_store_watch **watch);

  /* ---- storing messages ---- */

  /* Starts a message.  Add targets with append_target (each target's
   * user handle must stay open until the append is freed), write the
   * content with append_write, then append_commit. */
  cursus_store_append *(*append_begin)(void *store,
                                       const cursus_store_append_params *p,
                                       const char **error_r);
  /* Adds mailbox T->mailbox of USER as a destination.  Permission and
   * existence are checked at commit, per target. */
  int (*append_target)(cursus_store_append *append, cursus_store_user *user,
                       const cursus_store_target *t, const char **error_r);
  /* Appends content (header, blank line, body). */
  int (*append_write)(cursus_store_append *append, const void *data,
                      size_t len, const char **error_r);
  /* Stores the message durably in every target: RESULTS has one entry
   * per target in the order added (each with size set by the caller).
   * Returns CURSUS_OK when every target succeeded, else the worst status;
   * the results say which.  A message is stored once per partition. */
  int (*append_commit)(cursus_store_append *append,
                       cursus_store_append_result *results,
                       const char **error_r);
  /* Frees the append (discarding it when not committed). */
  void (*append_free)(cursus_store_append **append);

  /* ---- administration (tools, housekeeping) ---- */

  /* The partitions; the array lives until the next call. */
  const cursus_store_partition *(*partitions)(void *store, size_t *count_r,
                                              const char **error_r);
  /* Checks and repairs the mailbox TARGET ("user/joe", "user/joe/Sent"),
   * or the whole store when TARGET is NULL (enum
   * cursus_store_reconstruct_flag).  REPORT gets one line per finding
   * or repair. */
  int (*reconstruct)(void *store, const char *target, unsigned flags,
                     void (*report)(void *data, const char *line),
                     void *data, const char **error_r);
  /* Saves a snapshot of the system area; its name is appended to NAME. */
  int (*snapshot)(void *store, cursus_buf *name, const char **error_r);
  /* Calls CB for each snapshot, oldest first, with its name and time. */
  int (*snapshot_list)(void *store,
                       int (*cb)(void *data, const char *name, int64_t when),
                       void *data, const char **error_r);
  /* Restores the system area from snapshot NAME (NULL = the newest) and
   * repairs what changed in the user area since it was taken (fast
   * recovery).  REPORT as for reconstruct. */
  int (*snapshot_restore)(void *store, const char *name,
                          void (*report)(void *data, const char *line),
                          void *data, const char **error_r);
  /* Removes snapshots beyond the newest KEEP. */
  int (*snapshot_prune)(void *store, unsigned keep, const char **error_r);
  /* --- members added after ABI 1.0 go here --- */
  /* Records that a threshold warning goes to USER at WHEN, but only when
   * the time of the last warning on record is still EXPECTED (the
   * warned_at quota_get reported): CURSUS_OK when this caller made the
   * claim, CURSUS_NONE when another thread or process recorded a warning
   * (or a reset) in between.  The check and the change are atomic across
   * processes, so deliveries finishing together send one warning per
   * crossing.  Callers without it fall back to quota_set_warned. */
  int (*quota_claim_warned)(cursus_store_user *user, int64_t expected,
                            int64_t when, const char **error_r);
} cursus_store_ops;

/* ------------------------------------------------------------ host */

/* Quota policy from [store] in cursus.conf (quota_policy). */
typedef struct cursus_store_policy {
  uint32_t size;          /* sizeof(cursus_store_policy), set by caller   */
  int enforce;            /* [store] quota_enforcement                     */
  unsigned warn_percent;  /* [store] quota_warn (0 = no warnings)          */
  int64_t warn_interval;  /* seconds between repeated warnings             */
  int64_t grace;          /* [store] quota_grace: seconds over quota during
                             which deliveries are held, not returned       */
} cursus_store_policy;

/*
 * The store as a host service (host->store), in every process that may
 * use the store (workers, channel jobs, stored, tools).  NULL where no
 * store backend is configured.
 */
typedef struct cursus_store_access {
  uint32_t size;
  /* The backend's table, for calls on handles. */
  const cursus_store_ops *ops;
  /* Opens USER's store session with the account the directory gives
   * (quota, partition) and the [store] defaults.  CURSUS_NONE when the
   * user has no store and CREATE was not given; TEMPFAIL when the
   * directory or the store cannot answer. */
  int (*user_open)(const char *user, unsigned flags,
                   cursus_store_user **user_r, const char **error_r);
  /* Starts a message (see ops->append_begin). */
  cursus_store_append *(*append_begin)(const cursus_store_append_params *p,
                                       const char **error_r);
  /* The quota policy (fills what p->size allows). */
  void (*quota_policy)(cursus_store_policy *p);
  /* Builds the over-threshold warning for QUOTA (from [store]
   * quota_warn_message, a template with RFC 5322 headers) addressed to
   * ADDRESS, and appends it to OUT with CRLF line ends. */
  int (*quota_warning)(const char *user, const char *address,
                       const cursus_store_quota *quota, cursus_buf *out,
                       const char **error_r);
  /* The backend's store handle, for store-level ops members. */
  void *(*backend)(void);
  /* Compares USER's usage with the [store] warning threshold and, when
   * it was crossed since the last warning (or the warning interval has
   * passed while still above it), puts a warning into the user's INBOX
   * (over quota or not).  CURSUS_OK when a warning was delivered,
   * CURSUS_NONE when none was due, TEMPFAIL on failure.  The delivery
   * channel calls it after each delivery; the housekeeping process for
   * every user on its schedule. */
  int (*quota_notify)(cursus_store_user *user, const char **error_r);
  /* --- members added after ABI 1.0 go here --- */
} cursus_store_access;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_STORE_H */
