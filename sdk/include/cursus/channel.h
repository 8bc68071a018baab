/*
 * cursus/channel.h - master channel programs and the queue they work on
 *
 * A channel is a named queue plus keywords in imta.cnf plus programs: the
 * master program delivers what is queued to the channel (outbound), the
 * slave side receives mail into the MTA (a protocol module, protocol.h).
 * A channel module provides the master program.  The job controller runs it
 * in channel job processes: each job opens one instance per channel it
 * serves and calls `deliver` once per message assigned to it.
 *
 * Which module serves a channel (checked by `cursus config check`):
 *   1. the `module NAME` keyword on the channel line, else
 *   2. a keyword on the channel line that a module lists in
 *      `select_keywords` (e.g. `smtp` selects channel_smtp), else
 *   3. a module whose `channel_names` glob matches the channel name
 *      (e.g. channel_store serves "ims-ms*").
 *
 * Failure policy: a deliver call reports a result for every recipient
 * through host->queue->rcpt_result.  A recipient left without a result, a
 * crash or a hung call count as a temporary failure for that recipient
 * only: the message is retried on the channel's backoff schedule and
 * recipients already delivered are never delivered again.
 */
#ifndef CURSUS_CHANNEL_H
#define CURSUS_CHANNEL_H

#include <cursus/common.h>

struct cursus_resolution; /* lookup.h */

#ifdef __cplusplus
extern "C" {
#endif

/* A message assigned to a channel job, valid during one deliver call. */
typedef struct cursus_message cursus_message;
/* A message being enqueued (by a protocol session, a channel or a tool). */
typedef struct cursus_enqueue cursus_enqueue;
/* One configured channel as the host sees it (name, keywords, hosts). */
typedef struct cursus_channel cursus_channel;

/* DSN NOTIFY bits (RFC 3461). */
enum cursus_notify {
  CURSUS_NOTIFY_DEFAULT = 0, /* no NOTIFY given: failures and delays */
  CURSUS_NOTIFY_NEVER = 1u << 0,
  CURSUS_NOTIFY_SUCCESS = 1u << 1,
  CURSUS_NOTIFY_FAILURE = 1u << 2,
  CURSUS_NOTIFY_DELAY = 1u << 3,
};

/* DSN RET (RFC 3461). */
typedef enum cursus_ret {
  CURSUS_RET_DEFAULT = 0,
  CURSUS_RET_FULL = 1,
  CURSUS_RET_HDRS = 2,
} cursus_ret;

/* Body type declared by the client (RFC 1652, RFC 3030). */
typedef enum cursus_body {
  CURSUS_BODY_7BIT = 0,
  CURSUS_BODY_8BITMIME = 1,
  CURSUS_BODY_BINARYMIME = 2,
} cursus_body;

/* One envelope recipient of a message being delivered. */
typedef struct cursus_recipient {
  const char *address;  /* active envelope address, after rewriting       */
  const char *original; /* as the sender gave it (before rewriting)       */
  const char *orcpt;    /* DSN ORCPT "type;addr", or NULL                  */
  const char *host;     /* routing host chosen by the rewrite rules        */
  unsigned notify;      /* enum cursus_notify bits                         */
} cursus_recipient;

/* What a channel reports for one recipient. */
typedef struct cursus_result {
  cursus_status status; /* OK delivered, TEMPFAIL retry, PERMFAIL bounce  */
  const char *code;     /* enhanced status code "5.1.1", or NULL           */
  const char *text;     /* diagnostic text for the log and the DSN         */
  const char *remote;   /* the remote MTA that answered, or NULL           */
} cursus_result;

/* Message priority (the Priority: header field, RFC 2156 values). */
typedef enum cursus_priority {
  CURSUS_PRIORITY_NONURGENT = -1,
  CURSUS_PRIORITY_NORMAL = 0,
  CURSUS_PRIORITY_URGENT = 1,
} cursus_priority;

/*
 * What an enqueue carries besides sender and recipients (enqueue_start).
 * Zero-initialise, set `size` to sizeof(cursus_enqueue_params) and fill
 * what is known; strings are copied by the host.  Since ABI 1.0.
 */
typedef struct cursus_enqueue_params {
  uint32_t size;
  /* The channel the message comes from (the session's source channel
   * after switchchannel/saslswitchchannel); required. */
  const char *source_channel;
  /* The envelope sender as given (MAIL FROM path without the angle
   * brackets); "" for the null sender.  Required. */
  const char *sender;
  /* DSN parameters of MAIL FROM (RFC 3461): ENVID decoded from xtext, or
   * NULL; RET. */
  const char *envid;
  cursus_ret ret;
  /* BODY= (RFC 1652, RFC 3030) and SMTPUTF8 (RFC 6531). */
  cursus_body body;
  int smtputf8;
  /* SIZE= of MAIL FROM (RFC 1870) in bytes; 0 when not given.  Checked
   * against the size limits of the source channel now and of each
   * recipient's channel at enqueue_rcpt. */
  uint64_t declared_size;
  /* The authenticated user (canonical id), or NULL. */
  const char *auth_user;
  /* AUTH= of MAIL FROM (RFC 4954) decoded from xtext, or NULL. */
  const char *auth_sender;
  /* The client connection as "TCP|local-ip|local-port|remote-ip|
   * remote-port" (the PORT_ACCESS probe form), or NULL for a local
   * submission.  Used by the access tables and the message log. */
  const char *connection;
  /* The EHLO/HELO argument, or NULL. */
  const char *helo;
  /* The protocol words of the Received: "with" clause: "SMTP", "ESMTP",
   * "ESMTPS", "ESMTPSA", "LMTP" ...; NULL for a local submission. */
  const char *protocol;
  /* Access-table input flags describing the session (classic letters):
   * 'E' EHLO used, 'L' LMTP, 'T' TLS active, 'A' SASL authentication.
   * NULL or "" for none. */
  const char *session_flags;
  /* Non-zero for LMTP: a recipient whose channel refuses the finished
   * message (too large) is refused alone, the others are accepted
   * (enqueue_rcpt_status); otherwise one refused recipient refuses the
   * whole message. */
  int per_recipient;
  /* --- members added after ABI 1.0 go here --- */
  /* The client's reverse-DNS name (verified), or NULL: shown to content
   * filters (filter.h).  Appeared in ABI 1.0. */
  const char *client_name;
} cursus_enqueue_params;

/* A reply the host proposes to a protocol session.  CODE and TEXT are
 * ready to send: "CODE TEXT" with TEXT starting with the enhanced status
 * code (RFC 3463), e.g. 550 and "5.1.1 <joe@example.com>: no such user".
 * TEXT is host-owned and valid until the next call on the same enqueue
 * handle.  DELAY_MS is how long to wait before sending the reply (an
 * access table's $D), normally 0. */
typedef struct cursus_reply {
  unsigned code;
  const char *text;
  unsigned delay_ms;
} cursus_reply;

/*
 * Host services for the queue (host->queue).
 *
 * Enqueueing (workers, channel jobs, tools): a message is started with
 * enqueue_start (or enqueue_begin), gets its recipients one by one -- each
 * rewritten, expanded and checked against the access tables *now*, so a
 * session can refuse it at RCPT time -- then its content, and is made
 * durable by enqueue_commit or enqueue_commit_async.  The host writes one
 * queue file per destination channel (more with `single`, `single_sys`,
 * `addrsperfile`), so every recipient sits in its channel's queue.
 * An enqueue handle is used by one thread at a time; it may move between
 * threads (a worker calls enqueue_rcpt from host->run_blocking).  It is
 * released with enqueue_free, committed or not.
 *
 * Durability: when a commit reports CURSUS_OK, every queue file of the
 * message has been written, fsynced, linked into its channel directory and
 * the directory fsynced.  Commits of concurrent sessions in one process
 * are flushed together (group commit); a session is answered only after
 * its own batch is on disk.  The job controller is then told about each
 * file.
 *
 * Delivery (channel jobs, inside `deliver`): the message functions give
 * the envelope, the recipients still to deliver and the content, and
 * rcpt_result records each outcome in the queue file at once (a crash of
 * the job then repeats no recipient already reported).
 */
typedef struct cursus_queue_ops {
  uint32_t size;

  /* --- the message being delivered (inside deliver only) --- */
  /* The queue file's name, e.g. "0LQ8K2P3A1B4C0000.01". */
  const char *(*message_id)(cursus_message *msg);
  const char *(*sender)(cursus_message *msg);     /* "" = null sender   */
  const char *(*envid)(cursus_message *msg);      /* DSN ENVID or NULL  */
  cursus_ret (*ret)(cursus_message *msg);
  cursus_body (*body)(cursus_message *msg);
  int (*smtputf8)(cursus_message *msg);
  /* Recipients still to deliver in this attempt (done ones are left out). */
  size_t (*recipient_count)(cursus_message *msg);
  const cursus_recipient *(*recipient)(cursus_message *msg, size_t index);
  /* The content (header, blank line, body), CRLF line ends, as received:
   * the SIZE_R bytes of the returned descriptor from *OFFSET_R on.  The
   * descriptor is read-only, owned by the host (never close it) and
   * positioned at *OFFSET_R by each call; pread() from *OFFSET_R is the
   * thread-safe way.  Returns -1 with errno on failure. */
  int (*content_fd)(cursus_message *msg, uint64_t *offset_r,
                    uint64_t *size_r);
  /* Records the outcome for recipient INDEX; the host appends it to the
   * queue file at once (it survives a crash of the job) and flushes it to
   * disk before deliver's result is acted on, so a retry never repeats a
   * delivered recipient and never loses a pending one. */
  void (*rcpt_result)(cursus_message *msg, size_t index,
                      const cursus_result *result);

  /* --- enqueueing a new message --- */
  /* Starts a message with envelope sender SENDER ("" for the null
   * sender) from SOURCE_CHANNEL, without session facts (notices,
   * forwarding, reprocessing, tools).  NULL with *error_r on failure. */
  cursus_enqueue *(*enqueue_begin)(cursus_module_ctx *ctx,
                                   const char *source_channel,
                                   const char *sender, const char **error_r);
  /* Adds recipient ADDRESS (as the client gave it, without angle
   * brackets) with DSN NOTIFY bits and ORCPT ("type;address" decoded, or
   * NULL).  It is rewritten, expanded and checked now.  CURSUS_OK when
   * accepted; TEMPFAIL or PERMFAIL with *error_r, the reply text ("5.1.1
   * <x@y>: no such user").  enqueue_rcpt gives the full reply. */
  int (*enqueue_recipient)(cursus_enqueue *enq, const char *address,
                           unsigned notify, const char *orcpt,
                           const char **error_r);
  /* Appends content bytes (header, blank line, body; CRLF line ends).
   * PERMFAIL with *error_r once the message exceeds the size limit (the
   * rest of the content is then ignored; the commit fails the same way).
   * Never blocks for long: large messages spill to disk. */
  int (*enqueue_write)(cursus_enqueue *enq, const void *data, size_t len,
                       const char **error_r);
  /* Makes the message durable and tells the job controller; blocks until
   * done (use enqueue_commit_async on an event loop).  The queue id (the
   * common part of the queue file names) is written to *queue_id_r
   * (valid until enqueue_free).  TEMPFAIL/PERMFAIL with *error_r. */
  int (*enqueue_commit)(cursus_enqueue *enq, const char **queue_id_r,
                        const char **error_r);
  /* Releases the handle.  A message not committed is discarded; a
   * committed one stays queued.  Sets *enq to NULL. */
  void (*enqueue_free)(cursus_enqueue **enq);

  /* --- the channel configuration --- */
  const char *(*channel_name)(const cursus_channel *chan);
  /* The official host name (second line of the channel block). */
  const char *(*channel_host)(const cursus_channel *chan);
  /* Value number INDEX of KEYWORD on the channel line (after `defaults`),
   * or NULL.  For a flag keyword, "" when present. */
  const char *(*channel_keyword)(const cursus_channel *chan,
                                 const char *keyword, size_t index);
  /* Number of values of KEYWORD; -1 when the keyword is absent. */
  int (*channel_keyword_count)(const cursus_channel *chan,
                               const char *keyword);

  /* --- enqueueing from protocol sessions --- */
  /* Starts a message with the session's facts (see
   * cursus_enqueue_params).  The sender is checked now (FROM_ACCESS, the
   * source channel's size limit against declared_size): NULL with the
   * refusal in *reply_r, else the handle (reply_r then holds "250 2.1.0").
   * May block on lookups: call it from host->run_blocking in a worker. */
  cursus_enqueue *(*enqueue_start)(cursus_module_ctx *ctx,
                                   const cursus_enqueue_params *params,
                                   cursus_reply *reply_r);
  /* enqueue_recipient with the full reply: CURSUS_OK ("250 2.1.5 ..."),
   * TEMPFAIL (4xx: lookup failure, "452 4.5.3" too many recipients) or
   * PERMFAIL (5xx: "550 5.1.1" unknown user, "550 5.7.1" relaying denied,
   * "552 5.3.4" too large for the recipient's channel).  May block on
   * lookups: call it from host->run_blocking in a worker. */
  int (*enqueue_rcpt)(cursus_enqueue *enq, const char *address,
                      unsigned notify, const char *orcpt,
                      cursus_reply *reply_r);
  /* Starts the commit and returns at once; DONE(DATA, status) runs on the
   * calling loop's thread when the message is durable (CURSUS_OK) or the
   * commit failed.  Loop thread only.  Until DONE runs the handle must not
   * be used or freed. */
  int (*enqueue_commit_async)(cursus_enqueue *enq,
                              void (*done)(void *data, int status),
                              void *data, const char **error_r);
  /* The reply for the finished message after a commit: the whole
   * message's ("250 2.0.0 Ok: queued as ID", "552 5.3.4 ...", "451 4.3.0
   * ...").  With per_recipient, INDEX (in enqueue_rcpt order, counting
   * accepted recipients only) gives that recipient's; otherwise INDEX is
   * ignored. */
  void (*enqueue_reply)(cursus_enqueue *enq, size_t index,
                        cursus_reply *reply_r);
  /* The queue id of the message being enqueued, known from the start
   * (for Received: fields and logs). */
  const char *(*enqueue_id)(cursus_enqueue *enq);
  /* Recipients accepted so far. */
  size_t (*enqueue_rcpt_count)(cursus_enqueue *enq);
  /* The largest message SOURCE_CHANNEL accepts in bytes (its
   * sourceblocklimit/blocklimit and the server's block_limit), 0 for no
   * limit: the SIZE value to announce in EHLO. */
  uint64_t (*size_limit)(const char *source_channel);
  /* The channel named NAME, or NULL.  Valid until the configuration is
   * refreshed (in a worker: for the worker's life). */
  const cursus_channel *(*channel_find)(const char *name);
  /* `switchchannel`: the source channel for a client at CLIENT_IP (and
   * reverse-DNS name CLIENT_HOST, or NULL) connecting to a service whose
   * channel is CHANNEL.  When CHANNEL has `switchchannel`, the rewrite
   * rules route the address literal [CLIENT_IP] (then CLIENT_HOST) to a
   * channel; that channel is returned when it allows being switched to
   * (not `noswitchchannel`).  Otherwise CHANNEL.  May block on lookups. */
  const char *(*switch_channel)(const char *channel, const char *client_ip,
                                const char *client_host);
  /* Which of the NULL-terminated NAMES appears last on the channel line
   * (`defaults` first, then the channel's own), or NULL when none does:
   * for keywords that override each other (maytls, musttls, notls). */
  const char *(*channel_keyword_last)(const cursus_channel *chan,
                                      const char *const *names);
  /* Asks the job controller to process TARGET now: a channel name, or a
   * domain (ETRN).  Fire and forget: nothing happens when it is down. */
  void (*run_request)(const char *target);
  /* rcpt_result for a delivery that went on to another server, saying
   * who owes the sender a success notice (RFC 3461 sections 5.2.2-5.2.3):
   * CURSUS_DSN_PASSED when the next hop announced DSN and was given
   * NOTIFY and ORCPT (it reports from now on), CURSUS_DSN_RELAYED when
   * it could not take them (a success notice requested by NOTIFY=SUCCESS
   * then says "relayed").  Plain rcpt_result means final delivery
   * ("delivered").  For failures it is rcpt_result.  Inside deliver only.
   * Appeared in ABI 1.0. */
  void (*rcpt_result_dsn)(cursus_message *msg, size_t index,
                          const cursus_result *result, unsigned duty);
  /* enqueue_recipient for a recipient the caller has resolved already
   * (host->lookup->resolve_recipient gave RES, status CURSUS_OK): RCPT is
   * queued to RES's routes as they are, without a second resolution, so
   * the context the resolution was made in (CURSUS_RESOLVE_REPROCESS, the
   * `$1M` rewrite rules) holds for the new copies.  RCPT's original form,
   * NOTIFY and ORCPT are kept.  The source channel's recipient limits and
   * the destination channels' size limits apply; the access tables were
   * consulted when the message was first accepted and are not again.
   * Same thread rules and results as enqueue_recipient; *error_r lives
   * until the handle is freed.  Appeared in ABI 1.0. */
  int (*enqueue_routes)(cursus_enqueue *enq, const cursus_recipient *rcpt,
                        const struct cursus_resolution *res,
                        const char **error_r);
  /* --- members added after ABI 1.0 go here --- */
  /* Whether enqueue_start, enqueue_rcpt and switch_channel may wait for
   * sessions whose source channel is SOURCE_CHANNEL: non-zero when the
   * configuration uses a mapping or directory module without
   * CURSUS_MODULE_LOCAL_LOOKUPS (module.h), or names content filters for
   * that channel (they talk to other processes).  Zero means they answer
   * from memory and local files: a protocol module may then call them on
   * its loop thread instead of through host->run_blocking.  The answer
   * holds for the configuration the process runs.  Appeared in ABI 1.1
   * (check with CURSUS_HAS; without it, assume they wait). */
  int (*enqueue_waits)(const char *source_channel);
} cursus_queue_ops;

/* The master side of a channel. */
typedef struct cursus_channel_ops {
  uint32_t size;
  /* Keywords that select this module for a channel, e.g. {"smtp", NULL}. */
  const char *const *select_keywords;
  /* Channel-name globs this module serves by default, e.g. {"bitbucket",
   * NULL}. */
  const char *const *channel_names;

  /* Opens the module's state for CHAN in a channel job; called once per
   * channel per job, on the job's main thread, before any deliver.  Store
   * the state in *chan_data_r.  A failure ends the job: its messages are
   * retried later (TEMPFAIL) or the channel is reported broken in the log
   * (PERMFAIL: a configuration error). */
  int (*open)(cursus_module_ctx *ctx, const cursus_channel *chan,
              void **chan_data_r, const char **error_r);
  /* Delivers MSG to its pending recipients and reports each result with
   * host->queue->rcpt_result.  The return value is for the whole call:
   * CURSUS_OK when every recipient has a result; TEMPFAIL/PERMFAIL give the
   * result of every recipient left without one.  May block (network,
   * disk): it runs on one of the job's delivery threads, never on an
   * event loop.  Without CURSUS_CHANNEL_CONCURRENT in `flags` the job
   * calls deliver for one message at a time; with it, from several
   * threads at once (each with its own message). */
  int (*deliver)(void *chan_data, cursus_message *msg, const char **error_r);
  /* Called when the job goes idle (no message assigned): close idle
   * connections and the like.  Never concurrent with deliver.  May be
   * NULL. */
  void (*idle)(void *chan_data);
  /* Releases the state (the job is ending). */
  void (*close)(void *chan_data);
  /* --- members added after ABI 1.0 go here --- */
  /* enum cursus_channel_flags bits.  Since ABI 1.0 (a module built
   * without it has size too small to hold it: CURSUS_HAS is false and the
   * flags are taken as 0). */
  uint32_t flags;
} cursus_channel_ops;

/* Who sends the success notice after a relay (rcpt_result_dsn). */
enum cursus_dsn_duty {
  CURSUS_DSN_RELAYED = 1, /* the next hop does no DSN: we say "relayed"   */
  CURSUS_DSN_PASSED = 2,  /* the next hop does DSN: it reports, we do not */
};

/* Flags of a channel module (cursus_channel_ops.flags). */
enum cursus_channel_flags {
  /* deliver is thread-safe: a job may run several deliveries at once
   * (up to the channel's THREADS in job_controller.cnf) */
  CURSUS_CHANNEL_CONCURRENT = 1u << 0,
};

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_CHANNEL_H */
