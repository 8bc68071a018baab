/*
 * cursus/filter.h - content filters: spam and virus scanners, signers,
 * policy checks
 *
 * A content filter looks at a message while it is being enqueued and
 * says what becomes of it: accept, reject (5xx), defer (4xx), discard,
 * quarantine (hold); it may also edit it: add, change or delete header
 * fields, replace the body, add or remove recipients, change the sender.
 * Its verdict is known before the client is answered, and the message
 * written to the queue is the filtered one.
 *
 * Configuration (docs/filters.md).  Each filter is a named instance of a
 * filter module, a `[contentfilter NAME]` group of cursus.conf:
 *
 *     [contentfilter dkim]
 *     module = filter_milter
 *     milter = inet:127.0.0.1:8891      ! the module's own settings
 *     timeout = 30                      ! the host's: per call
 *     default_action = tempfail         ! the host's: when the filter fails
 *
 * and a source channel names the filters its messages pass through, in
 * order, with the core channel keyword `contentfilter` in imta.cnf:
 *
 *     tcp_auth smtp mustsaslserver contentfilter dkim
 *
 * One module may serve several instances (several milters, each with its
 * own address).  An instance is opened once per process that enqueues
 * (SMTP/LMTP workers, channel jobs that re-enqueue, tools).
 *
 * When filters run (the stages a filter asks for in `stages`):
 *   MAIL  after the sender was accepted (enqueue_start): the client,
 *         HELO, authenticated user and sender are known.  A refusal
 *         refuses the MAIL command.
 *   RCPT  after each recipient was accepted by the rewrite rules and the
 *         access tables (enqueue_rcpt).  A refusal refuses that RCPT.
 *   DATA  at the end of the message, before it is made durable: the
 *         whole message is there.  A refusal refuses the message (or,
 *         with per-recipient verdicts, single recipients).
 * MAIL and RCPT run only for messages of protocol sessions
 * (enqueue_start); DATA runs for every enqueue from a source channel
 * that names the filter (notices and re-enqueued mail included).
 * Filters run in the order the channel names them; each sees the
 * message as the filters before it left it.
 *
 * Threads and timeouts.  Every call runs on a host thread, never on an
 * event loop: a filter may block (network, disk).  Calls for one message
 * come one at a time (never concurrently) but may come from different
 * threads; calls for different messages run concurrently, so an
 * instance's state must be thread-safe.  Each call has a time limit (the
 * instance's `timeout`): a call that has not returned by then is
 * abandoned -- its verdict and its edits are ignored and the failure
 * policy below applies -- and `end` is called for the message once the
 * late call has returned.  host->filter->time_left tells a call how
 * much time it has, so a filter can bound its own I/O by it.
 *
 * Failure policy (part of the ABI).  A call that returns a failure
 * status (TEMPFAIL or PERMFAIL with *error_r), or times out, affects
 * that message only: the instance's `default_action` applies --
 * `tempfail` (the default: 451 4.7.1, the client tries again later, no
 * mail is lost and none let through unfiltered), `accept` (go on as if
 * the filter had not been configured for this message), `reject` (550
 * 5.7.1) or `quarantine` (accept and hold).  Edits made by a failed call
 * are discarded.  A module that crashes takes its worker process down:
 * the sessions of that worker get no reply and their clients retry; no
 * message answered 250 is lost.  Filters that must survive their own
 * crashes run as separate programs (milters, through filter_milter).
 *
 * ABI: appeared in 1.0; members are only ever appended.
 */
#ifndef CURSUS_FILTER_H
#define CURSUS_FILTER_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One configured filter instance: a [contentfilter NAME] group.  Owned by
 * the host; valid from open until close. */
typedef struct cursus_filter_def cursus_filter_def;
/* The message as one call sees it.  Owned by the host; valid during that
 * call only (pass it only to host->filter functions). */
typedef struct cursus_filter_msg cursus_filter_msg;

/* The stages a filter is called at (cursus_filter_ops.stages). */
typedef enum cursus_filter_stage {
  CURSUS_FILTER_STAGE_MAIL = 1u << 0,
  CURSUS_FILTER_STAGE_RCPT = 1u << 1,
  CURSUS_FILTER_STAGE_DATA = 1u << 2,
} cursus_filter_stage;

/* What a filter says. */
typedef enum cursus_filter_action {
  /* No objection; the filter is called again at its next stage. */
  CURSUS_FILTER_CONTINUE = 0,
  /* No objection, and nothing more to say about this message: the
   * filter is not called for it again (other filters still run). */
  CURSUS_FILTER_ACCEPT = 1,
  /* Refuse: 5xx (default 550 5.7.1). */
  CURSUS_FILTER_REJECT = 2,
  /* Refuse for now: 4xx (default 451 4.7.1); the client tries again. */
  CURSUS_FILTER_TEMPFAIL = 3,
  /* Accept and drop the message (the client is told 250; logged).  At
   * RCPT the whole message is discarded, as at DATA.  No later filter
   * runs. */
  CURSUS_FILTER_DISCARD = 4,
  /* Accept and hold the message in its queue for an administrator
   * (`cursus qm release`); TEXT is the reason, logged.  Later filters
   * still run. */
  CURSUS_FILTER_QUARANTINE = 5,
} cursus_filter_action;

/*
 * A verdict.  The host zeroes it (CONTINUE) before each call; the filter
 * sets what it decides.  The strings need only live until the call
 * returns (the host copies them).  For REJECT and TEMPFAIL: CODE is the
 * SMTP reply code (5xx resp. 4xx; 0 or a code of the wrong class takes
 * 550 resp. 451), STATUS the enhanced status code ("5.7.1"; NULL takes
 * 5.7.1 resp. 4.7.1) and TEXT the reply text (NULL: "Message refused by
 * content filter NAME" resp. "... try again later").  Text with CR, LF
 * or other controls is refused as a filter failure.
 */
typedef struct cursus_filter_verdict {
  cursus_filter_action action;
  unsigned code;
  const char *status;
  const char *text;
} cursus_filter_verdict;

/* Facts about the submission (host->filter->info).  Strings are valid
 * during the call; NULL when unknown. */
typedef struct cursus_filter_info {
  uint32_t size;               /* sizeof this struct as the host has it */
  const char *queue_id;        /* the message's queue id                */
  const char *source_channel;  /* the channel the message comes from    */
  const char *client_ip;       /* NULL for a local submission           */
  unsigned client_port;
  const char *client_name;     /* reverse-DNS name of the client        */
  const char *server_ip;
  unsigned server_port;
  const char *helo;            /* EHLO/HELO argument                    */
  const char *protocol;        /* "ESMTP", "ESMTPSA", "LMTP" ...        */
  const char *auth_user;       /* authenticated user                    */
  int tls;                     /* 1 when the session used TLS           */
  const char *sender;          /* envelope sender as current; "" = <>   */
  int per_recipient;           /* 1: each recipient gets its own reply
                                  (LMTP): rcpt_verdict is honoured alone */
  const char *hostname;        /* this server's name                    */
} cursus_filter_info;

/* One recipient (host->filter->rcpt). */
typedef struct cursus_filter_rcpt {
  const char *address;  /* as the client gave it (RCPT TO, no brackets) */
  const char *routed;   /* the first address it was rewritten to        */
  const char *channel;  /* the channel it is queued to                  */
  const char *orcpt;    /* DSN ORCPT "type;addr", or NULL                */
  unsigned notify;      /* enum cursus_notify bits (channel.h)           */
  int added;            /* 1 when a filter added it                      */
} cursus_filter_rcpt;

/*
 * Host services for filters (host->filter; NULL in processes that run
 * no filters).  The message functions take the MSG of the current call
 * and may be called only during that call, from the thread running it.  Edits take effect when the call returns
 * in time with CURSUS_OK; later calls (of this and the next filters) see
 * them.  Functions that can fail return CURSUS_OK, or PERMFAIL with
 * *error_r (a static or host-owned text valid until the call returns).
 */
typedef struct cursus_filter_access {
  uint32_t size;

  /* --- what the filter sees --- */
  const cursus_filter_info *(*info)(cursus_filter_msg *msg);
  /* Milliseconds left before the call is abandoned (0 when overdue). */
  unsigned (*time_left)(cursus_filter_msg *msg);
  /* The current recipients, in RCPT order, then those filters added.
   * Recipients removed by an earlier filter are not listed. */
  size_t (*rcpt_count)(cursus_filter_msg *msg);
  const cursus_filter_rcpt *(*rcpt)(cursus_filter_msg *msg, size_t index);

  /* The header fields (DATA stage; 0 before).  NAME_R: the field name;
   * VALUE_R: everything after the colon up to the CRLF that ends the
   * field, folding (CRLF + white space) and the leading space kept.
   * Both stay valid during the call.  CURSUS_NONE past the end. */
  size_t (*header_count)(cursus_filter_msg *msg);
  int (*header)(cursus_filter_msg *msg, size_t index, const char **name_r,
                const char **value_r);
  /* The body (DATA stage): the octets after the empty line that ends the
   * header, CRLF line ends, as the message will be queued. */
  uint64_t (*body_size)(cursus_filter_msg *msg);
  /* Copies up to LEN body octets from OFFSET into BUF; returns how many
   * (0 at the end), or -1 on an I/O error (the call should fail). */
  long long (*body_read)(cursus_filter_msg *msg, uint64_t offset, void *buf,
                         size_t len);
  /* The whole message as it would be queued now (header, empty line,
   * body), as a read-only descriptor owned by the host (never close it):
   * its *SIZE_R octets from *OFFSET_R on; pread() it.  For scanners that
   * take a file.  -1 with errno on failure. */
  int (*content_fd)(cursus_filter_msg *msg, uint64_t *offset_r,
                    uint64_t *size_r);

  /* --- edits (DATA stage; MAIL/RCPT: recipients and sender only) --- */
  /* Appends a header field.  VALUE is what follows the colon: a space is
   * put before it unless it starts with white space; line ends inside it
   * (folding; LF or CRLF) become CRLF and each continuation line must
   * start with white space.  NAME: printable ASCII without ':' or space. */
  int (*header_add)(cursus_filter_msg *msg, const char *name,
                    const char *value, const char **error_r);
  /* Inserts a field before field number INDEX (0 = at the top; past the
   * end = appended). */
  int (*header_insert)(cursus_filter_msg *msg, size_t index,
                       const char *name, const char *value,
                       const char **error_r);
  /* Changes the OCCURRENCE-th (1 = first) field called NAME (compared
   * without regard to case) to VALUE, or deletes it when VALUE is NULL.
   * CURSUS_NONE when there is no such field (changing: nothing happens,
   * as in the milter protocol). */
  int (*header_change)(cursus_filter_msg *msg, const char *name,
                       size_t occurrence, const char *value,
                       const char **error_r);
  /* Replaces the body.  The first call in a filter call discards the
   * old body; each call appends LEN octets.  Bare LF becomes CRLF.  The
   * source channel's size limit holds for the new message (exceeding it
   * is a failure of the call). */
  int (*body_replace)(cursus_filter_msg *msg, const void *data, size_t len,
                      const char **error_r);
  /* Adds recipient ADDRESS (no angle brackets).  It is rewritten,
   * expanded and checked as a RCPT would be when the call returns, except
   * for the relaying check (the filter is trusted); an address refused
   * then fails the call. */
  int (*rcpt_add)(cursus_filter_msg *msg, const char *address,
                  const char **error_r);
  /* Removes the recipient whose `address` or `routed` form is ADDRESS
   * (compared without regard to case).  CURSUS_NONE when there is none. */
  int (*rcpt_delete)(cursus_filter_msg *msg, const char *address,
                     const char **error_r);
  /* Changes the envelope sender ("" for the null sender). */
  int (*sender_change)(cursus_filter_msg *msg, const char *address,
                       const char **error_r);
  /*
   * A verdict for recipient INDEX alone (DATA stage), e.g. per-user spam
   * policy.  With per-recipient replies (LMTP, info->per_recipient) the
   * recipient gets its own reply.  Otherwise (SMTP, one reply per
   * message): REJECT makes the message fail for that recipient only --
   * it is queued as failed, and the sender gets a failure notice --
   * TEMPFAIL defers the whole message (the client sends it again to
   * everyone, so nobody gets it twice), DISCARD drops the recipient,
   * QUARANTINE holds that recipient's copy.  When every recipient is
   * refused the message is refused with the first refusal.  The
   * message's own verdict, when it refuses, wins.
   */
  int (*rcpt_verdict)(cursus_filter_msg *msg, size_t index,
                      const cursus_filter_verdict *verdict,
                      const char **error_r);

  /* --- the instance's configuration (any thread, any time) --- */
  /* The instance's name (the NAME of [contentfilter NAME]). */
  const char *(*def_name)(const cursus_filter_def *def);
  /* The value of KEY in the instance's group, or NULL when unset; valid
   * while the instance is open. */
  const char *(*def_setting)(const cursus_filter_def *def, const char *key);
  /* The same as an integer: sizes in bytes, durations in seconds,
   * booleans 1/0; DEFAULT_VALUE when unset or not a number. */
  long long (*def_setting_int)(const cursus_filter_def *def, const char *key,
                               long long default_value);
  /* --- members added after ABI 1.0 go here --- */
} cursus_filter_access;

/* The filter itself. */
typedef struct cursus_filter_ops {
  uint32_t size;
  /* enum cursus_filter_stage bits: the stages the filter is called at. */
  uint32_t stages;
  /* Keys the module accepts in a [contentfilter NAME] group that names
   * it (besides the host's: module, timeout, default_action), checked by
   * `cursus config check`; NULL-terminated, or NULL. */
  const cursus_keyword *settings;

  /* Opens instance DEF (its settings: host->filter->def_setting);
   * store the instance's state in *FILTER_R.  Called once per process
   * on the process's main thread before any message.  A failure stops
   * the start-up of a process that needs the filter (a configuration
   * error), with *error_r. */
  int (*open)(cursus_module_ctx *ctx, const cursus_filter_def *def,
              void **filter_r, const char **error_r);
  /* Releases the instance (the process ends).  No call is running. */
  void (*close)(void *filter);

  /*
   * The stage calls.  *STATE is the filter's per-message state: NULL at
   * the first call for a message; whatever the filter stores there is
   * handed to its later calls for the message and to `end`.  Return
   * CURSUS_OK with *VERDICT set (CONTINUE when untouched), or TEMPFAIL /
   * PERMFAIL with *error_r: the filter failed (its default_action
   * applies).  NULL for stages not in `stages`.
   */
  int (*mail)(void *filter, void **state, cursus_filter_msg *msg,
              cursus_filter_verdict *verdict, const char **error_r);
  /* INDEX: the new recipient (host->filter->rcpt). */
  int (*rcpt)(void *filter, void **state, cursus_filter_msg *msg,
              size_t index, cursus_filter_verdict *verdict,
              const char **error_r);
  int (*data)(void *filter, void **state, cursus_filter_msg *msg,
              cursus_filter_verdict *verdict, const char **error_r);
  /* The message is finished (queued, refused or abandoned by the
   * client): release STATE.  Called once per message whose STATE is not
   * NULL, after its last call returned (late ones included), on any
   * thread.  May be NULL. */
  void (*end)(void *filter, void *state);
  /* --- members added after ABI 1.0 go here --- */
} cursus_filter_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_FILTER_H */
