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

/* Host services for the queue (host->queue).  Enqueue functions are
 * available in workers, channel jobs and tools; message functions only
 * inside a deliver call. */
typedef struct cursus_queue_ops {
  uint32_t size;

  /* --- the message being delivered --- */
  const char *(*message_id)(cursus_message *msg); /* queue id           */
  const char *(*sender)(cursus_message *msg);     /* "" = null sender   */
  const char *(*envid)(cursus_message *msg);      /* DSN ENVID or NULL  */
  cursus_ret (*ret)(cursus_message *msg);
  cursus_body (*body)(cursus_message *msg);
  int (*smtputf8)(cursus_message *msg);
  /* Recipients still to deliver in this attempt (done ones are left out). */
  size_t (*recipient_count)(cursus_message *msg);
  const cursus_recipient *(*recipient)(cursus_message *msg, size_t index);
  /* The content (header, blank line, body), CRLF line ends, as received.
   * Returns a read-only descriptor positioned at offset 0 that the module
   * must not close, and the size in bytes. */
  int (*content_fd)(cursus_message *msg, uint64_t *size_r);
  /* Records the outcome for recipient INDEX; the host writes it to the
   * queue file so a retry never repeats a delivered recipient. */
  void (*rcpt_result)(cursus_message *msg, size_t index,
                      const cursus_result *result);

  /* --- enqueueing a new message (DSNs, forwarding, reprocessing) --- */
  /* Starts a message from SOURCE_CHANNEL with envelope sender SENDER ("" for
   * the null sender).  Returns NULL with *error_r on failure. */
  cursus_enqueue *(*enqueue_begin)(cursus_module_ctx *ctx,
                                   const char *source_channel,
                                   const char *sender, const char **error_r);
  /* Adds a recipient; it is rewritten and routed to its channel now.
   * CURSUS_OK, or TEMPFAIL/PERMFAIL with *error_r (the reason the address
   * cannot be accepted). */
  int (*enqueue_recipient)(cursus_enqueue *enq, const char *address,
                           unsigned notify, const char *orcpt,
                           const char **error_r);
  /* Appends content bytes (header, blank line, body; CRLF line ends). */
  int (*enqueue_write)(cursus_enqueue *enq, const void *data, size_t len,
                       const char **error_r);
  /* Makes the message durable (written, fsynced, renamed into its queue)
   * and tells the job controller.  Blocks until done; the queue id is
   * written to *queue_id_r (host-owned, valid until the next call). */
  int (*enqueue_commit)(cursus_enqueue *enq, const char **queue_id_r,
                        const char **error_r);
  /* Discards an unfinished message. */
  void (*enqueue_abort)(cursus_enqueue *enq);

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
  /* --- members added after ABI 0.1 go here --- */
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
   * channel per job.  Store the state in *chan_data_r. */
  int (*open)(cursus_module_ctx *ctx, const cursus_channel *chan,
              void **chan_data_r, const char **error_r);
  /* Delivers MSG to its pending recipients and reports each result with
   * host->queue->rcpt_result.  The return value is for the whole call:
   * CURSUS_OK when every recipient has a result; TEMPFAIL/PERMFAIL give the
   * result of every recipient left without one. */
  int (*deliver)(void *chan_data, cursus_message *msg, const char **error_r);
  /* Called when the job goes idle: close idle connections and the like.
   * May be NULL. */
  void (*idle)(void *chan_data);
  /* Releases the state. */
  void (*close)(void *chan_data);
  /* --- members added after ABI 0.1 go here --- */
} cursus_channel_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_CHANNEL_H */
