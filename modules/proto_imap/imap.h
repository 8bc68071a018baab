/*
 * imap.h - the IMAP server module: sessions, commands and what the
 * command files share
 *
 * A session reads one command at a time (the reader assembles lines and
 * literals), runs it, and suspends its input while the command is in
 * progress, so pipelined commands wait their turn.  Handlers never call
 * the connection: they append responses to s->out, which the session
 * writes to the connection on the loop thread.  That lets a handler marked
 * IMAP_CMD_BLOCKING run on a host thread (host->run_blocking) when it may
 * wait for the disk or the directory, with the session suspended so that
 * nothing else touches the store user handle meanwhile.
 *
 * Needs the SDK (host table, store, auth, conn) and GLib.
 */
#ifndef IMAP_H
#define IMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/cursus.h>

#include "imap-parser.h"
#include "imap-reader.h"
#include "imap-search.h"
#include "../common/svcaccess.h"

extern const cursus_host *imap_host;
extern cursus_module_ctx *imap_ctx;

#define HOST imap_host
#define STORE (imap_host->store->ops)

/* Settings of [module proto_imap], read at init. */
typedef struct imap_settings {
  unsigned timeout_ms;       /* after login (RFC 9051: at least 30 min) */
  unsigned login_timeout_ms; /* before login */
  bool allow_plaintext;      /* LOGIN and plain mechanisms without TLS */
  size_t max_line;           /* one command line */
  size_t max_literal;        /* one literal other than an APPEND message */
  size_t max_command;        /* a whole command with its literals */
  uint64_t max_message;      /* an APPEND message */
  unsigned max_sessions_per_user;
  unsigned max_bad_commands;
  unsigned idle_keepalive_ms;/* "* OK Still here" during IDLE; 0 = never */
  bool rev2;                 /* offer IMAP4rev2 */
  bool compress;             /* offer COMPRESS=DEFLATE */
  svcaccess *access;         /* domain_allowed / domain_not_allowed */
  char *greeting;            /* banner text after "* OK" */
} imap_settings;

extern imap_settings imap_set;

typedef enum imap_state {
  IMAP_STATE_NOTAUTH = 1u << 0,
  IMAP_STATE_AUTH = 1u << 1,
  IMAP_STATE_SELECTED = 1u << 2,
  IMAP_STATE_LOGOUT = 1u << 3,
} imap_state;
#define IMAP_STATE_ANY (IMAP_STATE_NOTAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATE_LOGGEDIN (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* ENABLEd extensions (RFC 5161). */
enum imap_enabled {
  IMAP_ENABLE_CONDSTORE = 1u << 0,
  IMAP_ENABLE_QRESYNC = 1u << 1,
  IMAP_ENABLE_REV2 = 1u << 2,
};

/* What the session does with input lines. */
typedef enum imap_input {
  IMAP_INPUT_COMMAND = 0, /* command lines (and literals, via the reader) */
  IMAP_INPUT_SASL,        /* AUTHENTICATE responses                        */
  IMAP_INPUT_IDLE,        /* waiting for DONE                              */
  IMAP_INPUT_APPEND,      /* an APPEND message literal (bytes)             */
  IMAP_INPUT_BUSY,        /* a command is running: input is suspended      */
} imap_input;

typedef struct imap_session imap_session;
typedef struct imap_cmd imap_cmd;

/* A command handler.  Returns true when the command finished (the tagged
 * response is in s->out), false when it goes on: it then set cmd->next
 * (called when the output has drained) or arranged its own wake-up. */
typedef bool imap_cmd_fn(imap_session *s, imap_cmd *cmd);

/* Command table flags. */
enum imap_cmd_flag {
  IMAP_CMD_BLOCKING = 1u << 0,    /* run on a host thread                  */
  IMAP_CMD_UID = 1u << 1,         /* may follow "UID"                      */
  IMAP_CMD_NO_EXPUNGES = 1u << 2, /* no EXPUNGE responses after it (FETCH,
                                     STORE, SEARCH without UID)            */
  IMAP_CMD_NEEDS_BOX = 1u << 3,   /* needs a selected mailbox              */
};

typedef struct imap_command {
  const char *name;
  unsigned states; /* imap_state bits where it is valid */
  unsigned flags;  /* enum imap_cmd_flag */
  imap_cmd_fn *run;
} imap_command;

/* One command in progress. */
struct imap_cmd {
  const char *tag;
  const char *name; /* upper case, as in the table */
  const imap_command *def;
  bool uid;         /* "UID FETCH" ... */
  imap_parser parser;
  GString *text;    /* the command in wire form (owned) */
  imap_cmd_fn *next;/* continuation after the output drained */
  bool next_blocking;
  void *state;      /* the handler's, freed by state_free */
  void (*state_free)(void *state);
  unsigned sync_flags; /* mailbox_sync flags at completion */
};

/* One SEARCHRES result ("$"): UIDs. */
typedef struct imap_saved {
  GArray *uids; /* uint32_t, ascending */
} imap_saved;

struct imap_session {
  cursus_conn *conn;
  const cursus_conn_info *info;
  imap_state state;
  imap_input input;
  unsigned enabled;        /* enum imap_enabled */
  bool implicit_tls;
  bool tls;                /* TLS is active now */
  bool compressed;
  bool closed;             /* session_close came: free when the job ends */
  bool job_running;        /* a handler runs on a host thread */
  bool job_result;         /* what the handler on the thread returned */
  bool notify_pending;     /* a store change arrived while busy */
  bool drain_wait;         /* cmd->next waits for the output to drain */
  bool logout;             /* close after the output is flushed */
  bool id_logged;
  unsigned bad_commands;
  unsigned long commands;

  imap_reader reader;
  imap_cmd *cmd;           /* the command in progress, or NULL */
  GString *out;            /* responses not yet handed to the connection */

  /* authentication */
  cursus_sasl *sasl;
  char *login;             /* the name the client gave */
  char *user_id;           /* canonical user id after login */
  int session_slot;        /* per-user session counter slot, or -1 */
  cursus_timer *delay;     /* slows an answer after a failed login */
  const char *access_name; /* "imap" or "imaps" for the access filter */
  char *client_host;       /* reverse DNS name when the filter needs it */
  svcaccess_client client;

  /* store */
  cursus_store_user *user;
  cursus_store_mailbox *box;
  char *box_name;
  bool box_readonly;
  bool box_condstore;      /* CONDSTORE-aware since SELECT (CONDSTORE) or a
                              MODSEQ-using command */
  uint64_t highestmodseq;  /* last HIGHESTMODSEQ reported */
  uint32_t last_exists;
  uint32_t last_recent;
  cursus_store_watch *watch;
  cursus_timer *keepalive;
  imap_saved saved;        /* SEARCHRES */
  GArray *expunged_uids;   /* QRESYNC: collected for VANISHED */

  /* append in progress (imap-append.c) */
  struct imap_append *append;
};

/* ---- imap.c ---- */
/* imap_write - append raw text to the session output */
void imap_write(imap_session *s, const char *text, size_t len);
void imap_printf(imap_session *s, const char *fmt, ...) CURSUS_PRINTF(2, 3);
/* imap_flush - hand s->out to the connection (loop thread only) */
void imap_flush(imap_session *s);
/* imap_send_continuation - "+ TEXT" now (loop thread only) */
void imap_send_continuation(imap_session *s, const char *text);
/* imap_cmd_done - finish CMD: untagged updates, then "TAG RESULT TEXT" */
bool imap_cmd_done(imap_session *s, imap_cmd *cmd, const char *result,
                   const char *fmt, ...) CURSUS_PRINTF(4, 5);
/* imap_cmd_bad - "TAG BAD" for a parse error of CMD */
bool imap_cmd_bad(imap_session *s, imap_cmd *cmd);
/* imap_cmd_store_error - "TAG NO [CODE] TEXT" from the store's reason */
bool imap_cmd_store_error(imap_session *s, imap_cmd *cmd, const char *error);
/* imap_cmd_wait - CMD continues later (by a timer, a job, input) */
bool imap_cmd_wait(imap_session *s, imap_cmd *cmd);
/* imap_cmd_finish_async - finish a waiting command from a callback on the
 * loop thread: flush, untagged sync, next command */
void imap_cmd_finish_async(imap_session *s);
/* imap_run_job - run WORK on a host thread with the session suspended,
 * then DONE on the loop thread (unless the connection closed) */
void imap_run_job(imap_session *s, void (*work)(imap_session *s),
                  void (*done)(imap_session *s));
/* imap_set_input - switch what input lines mean */
void imap_set_input(imap_session *s, imap_input input);
/* imap_log - log with the session context */
void imap_log(imap_session *s, cursus_log_level level, const char *fmt, ...)
    CURSUS_PRINTF(3, 4);
/* imap_user_error - the store's machine reason of the last failure */
cursus_store_error imap_user_error(imap_session *s);
/* imap_capabilities - the capability list for the session's state */
void imap_capabilities(imap_session *s, GString *out);
/* imap_set_log_context - "imap IP user=..." */
void imap_set_log_context(imap_session *s);

/* ---- imap-commands.c ---- */
const imap_command *imap_command_find(const char *name);

/* ---- imap-resp.c ---- */
/* imap_append_astring - S as an atom, a quoted string or a literal */
void imap_append_astring(GString *out, const char *s);
/* imap_append_string - S as a quoted string or a literal (never an atom) */
void imap_append_string(GString *out, const char *s, size_t len);
/* imap_append_nstring - NIL or a string */
void imap_append_nstring(GString *out, const char *s);
/* imap_append_mailbox - a UTF-8 mailbox name in the session's wire form */
void imap_append_mailbox(imap_session *s, GString *out, const char *name);
/* imap_append_seqset - a sorted array of numbers as a sequence set */
void imap_append_seqset(GString *out, const uint32_t *nums, size_t n);
/* imap_append_flags - "(\Seen $Label ...)" for a message */
void imap_append_flags(imap_session *s, GString *out, uint32_t flags,
                       const uint32_t *keywords, uint32_t n_keywords);
/* imap_append_date_time - INTERNALDATE form */
void imap_append_date_time(GString *out, int64_t t, int32_t tz);
/* imap_store_error_code - the response code for a store error, or NULL */
const char *imap_store_error_code(cursus_store_error e, bool on_append);
/* imap_flag_bit - enum cursus_store_flag of a system flag name, 0 for a
 * keyword; -1 for an unknown system flag */
int imap_flag_bit(const char *flag);

/* imap_cmp_u32 - order of two uint32_t (for g_array_sort) */
int imap_cmp_u32(gconstpointer a, gconstpointer b);
/* imap_sort_unique - sort an array of uint32_t, dropping duplicates */
void imap_sort_unique(GArray *a);

/* ---- imap-sync.c ---- */
/* imap_sync - bring the view up to date and write the untagged updates
 * (EXPUNGE/VANISHED, EXISTS, RECENT, FLAGS, FETCH); FLAGS as for
 * mailbox_sync */
void imap_sync(imap_session *s, unsigned flags);
/* imap_send_fetch_flags - "* n FETCH (FLAGS (...) [UID n] [MODSEQ (n)])" */
void imap_send_fetch_flags(imap_session *s, uint32_t seq, bool with_uid);
/* imap_send_mailbox_flags - FLAGS and PERMANENTFLAGS of the view */
void imap_send_mailbox_flags(imap_session *s);
/* imap_on_expunged - report one expunged message (EXPUNGE, or collect
 * its UID for VANISHED under QRESYNC); DATA is the session */
void imap_on_expunged(void *data, uint32_t seq, uint32_t uid);
/* imap_close_mailbox - leave the selected state */
void imap_close_mailbox(imap_session *s);
/* imap_resolve_set - turn a parsed set into store ranges for the view:
 * "*" resolved, "$" replaced by the saved result; *set_r's ranges live
 * until imap_parser_clear of CMD */
bool imap_resolve_set(imap_session *s, imap_cmd *cmd, const imap_seqset *in,
                      bool by_uid, cursus_store_set *set_r);

/* ---- imap-message.c ---- */
typedef struct store_args {
  imap_seqset set;
  uint64_t unchangedsince;
  cursus_store_flag_mode mode;
  bool silent;
  uint32_t flags;
  GPtrArray *keywords; /* const char* (parser-owned), NULL-terminated; the
                          array is the caller's to free */
} store_args;
/* imap_store_parse - the arguments of STORE */
bool imap_store_parse(imap_parser *ip, store_args *a);
/* imap_parse_flag_list - "(\Seen kw)" (PARENS) or "\Seen kw" into FLAGS
 * and KEYWORDS, which gets a NULL at the end */
bool imap_parse_flag_list(imap_parser *ip, bool parens, uint32_t *flags,
                          GPtrArray *keywords);

/* ---- imap-search.c ---- */
/* imap_search_run - the messages of the view matching A, ascending, as
 * sequence numbers and UIDs.  CURSUS_OK, or a failure with the tagged
 * reply already written (*done_r says whether the command finished) */
int imap_search_run(imap_session *s, imap_cmd *cmd, search_args *a,
                    GArray *seqs, GArray *uids, bool *done_r);

/* ---- imap-fetch.c ---- */
/* imap_set_seqs - the sequence numbers of the messages in SET, ascending
 * and without duplicates (g_array_free it) */
GArray *imap_set_seqs(imap_session *s, const cursus_store_set *set);

/* ---- imap-mailbox.c ---- */
/* imap_special_use_bit - the bit of a special-use attribute, or 0 */
uint32_t imap_special_use_bit(const char *name);
/* imap_append_special_use - the attribute names of BITS */
void imap_append_special_use(GString *out, uint32_t bits, bool *first);
/* imap_parse_status_items - "(MESSAGES UNSEEN ...)" into ITEMS (guint) */
bool imap_parse_status_items(imap_parser *ip, GArray *items);
/* imap_write_status - "* STATUS name (...)"; false with the store error */
bool imap_write_status(imap_session *s, const char *name, GArray *items,
                       const char **error_r);

/* ---- command handlers ---- */
bool imap_cmd_capability(imap_session *s, imap_cmd *cmd);
bool imap_cmd_noop(imap_session *s, imap_cmd *cmd);
bool imap_cmd_logout(imap_session *s, imap_cmd *cmd);
bool imap_cmd_id(imap_session *s, imap_cmd *cmd);
bool imap_cmd_enable(imap_session *s, imap_cmd *cmd);
bool imap_cmd_starttls(imap_session *s, imap_cmd *cmd);
bool imap_cmd_compress(imap_session *s, imap_cmd *cmd);
bool imap_cmd_login(imap_session *s, imap_cmd *cmd);
bool imap_cmd_authenticate(imap_session *s, imap_cmd *cmd);
bool imap_cmd_select(imap_session *s, imap_cmd *cmd);
bool imap_cmd_create(imap_session *s, imap_cmd *cmd);
bool imap_cmd_delete(imap_session *s, imap_cmd *cmd);
bool imap_cmd_rename(imap_session *s, imap_cmd *cmd);
bool imap_cmd_subscribe(imap_session *s, imap_cmd *cmd);
bool imap_cmd_status(imap_session *s, imap_cmd *cmd);
bool imap_cmd_namespace(imap_session *s, imap_cmd *cmd);
bool imap_cmd_list(imap_session *s, imap_cmd *cmd);
bool imap_cmd_check(imap_session *s, imap_cmd *cmd);
bool imap_cmd_close(imap_session *s, imap_cmd *cmd);
bool imap_cmd_expunge(imap_session *s, imap_cmd *cmd);
bool imap_cmd_fetch(imap_session *s, imap_cmd *cmd);
bool imap_cmd_store(imap_session *s, imap_cmd *cmd);
bool imap_cmd_copy(imap_session *s, imap_cmd *cmd);
bool imap_cmd_search(imap_session *s, imap_cmd *cmd);
bool imap_cmd_sort(imap_session *s, imap_cmd *cmd);
bool imap_cmd_thread(imap_session *s, imap_cmd *cmd);
bool imap_cmd_append(imap_session *s, imap_cmd *cmd);
bool imap_cmd_idle(imap_session *s, imap_cmd *cmd);
bool imap_cmd_getacl(imap_session *s, imap_cmd *cmd);
bool imap_cmd_setacl(imap_session *s, imap_cmd *cmd);
bool imap_cmd_listrights(imap_session *s, imap_cmd *cmd);
bool imap_cmd_myrights(imap_session *s, imap_cmd *cmd);
bool imap_cmd_getquota(imap_session *s, imap_cmd *cmd);
bool imap_cmd_getquotaroot(imap_session *s, imap_cmd *cmd);
bool imap_cmd_setquota(imap_session *s, imap_cmd *cmd);

/* ---- input hooks of the stateful commands ---- */
void imap_sasl_line(imap_session *s, const char *line, size_t len);
void imap_idle_line(imap_session *s, const char *line, size_t len);
void imap_idle_notify(imap_session *s);
void imap_idle_stop(imap_session *s);
/* imap_append_literal - an APPEND message literal begins (the reader saw
 * its marker); true when the append took over the input */
bool imap_append_literal(imap_session *s, uint64_t size, bool sync,
                         bool binary);
size_t imap_append_bytes(imap_session *s, const char *data, size_t len);
void imap_append_line(imap_session *s, const char *line, size_t len,
                      unsigned flags);
void imap_append_free(imap_session *s);

/* append_args - the arguments before the message */
typedef struct append_args {
  const char *mailbox;
  uint32_t flags;
  GPtrArray *keywords;
  int64_t date;
  int32_t tz;
} append_args;

typedef enum append_kind {
  APPEND_MESSAGE,   /* the literal is an APPEND's message */
  APPEND_OTHER,     /* another command, or not at the message */
  APPEND_MALFORMED, /* an APPEND with bad arguments (ip->error) */
} append_kind;
/* imap_append_parse - "tag APPEND mailbox [flags] [date-time] " up to a
 * literal marker */
append_kind imap_append_parse(imap_parser *ip, append_args *a);

/* ---- imap-list.c ---- */
typedef struct imap_list_args {
  unsigned select;  /* enum cursus_store_list_flag */
  unsigned ret;     /* enum list_return */
  bool extended;    /* the LIST-EXTENDED syntax was used */
  bool lsub;             /* set by the caller: LSUB syntax */
  const char *reference;
  GPtrArray *patterns; /* const char* (parser-owned); the array is the
                          caller's to free */
  GArray *status_items;
  bool remote;
} imap_list_args;

/* imap_list_parse - the arguments of LIST/LSUB (extended syntax too) */
bool imap_list_parse(imap_parser *ip, imap_list_args *a);

/* ---- imap-acl.c ---- */
/* imap_parse_rights - RFC 4314 rights letters into bits */
bool imap_parse_rights(const char *text, uint32_t *rights_r);
/* imap_append_rights - the letters of RIGHTS ("" when none) */
void imap_append_rights(GString *out, uint32_t rights);

/* ---- login (imap-login.c) ---- */
void imap_login_cleanup(imap_session *s);

#endif
