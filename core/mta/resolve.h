/*
 * resolve.h - THE one code path from an address to queue entries
 *
 * Every part of the MTA that decides where mail goes asks here: the SMTP
 * and LMTP servers at RCPT time, reprocessing, the channel jobs that
 * forward, and `cursus test-rewrite`.  An envelope recipient is rewritten
 * by the rewrite rules (core/rewrite/) to an address and a routing host,
 * the routing host names the destination channel (the channel host table
 * of imta.cnf), the FORWARD mapping may redirect it, and an address routed
 * to the local channel or to an `aliaslocal` channel is expanded by the
 * expanders (directory, then the alias file; core/mta/expand.h); each
 * expansion is resolved again, with a bounded depth and loop detection.
 * The result is the list of (address, channel, routing host, errors-to)
 * to enqueue, or one precise 4xx/5xx error.
 *
 * Senders and header addresses are rewritten the same way, as
 * backward-pointing (From) or forward-pointing (To) addresses, with the
 * REVERSE mapping and the destination channel's local host alias applied.
 *
 * All functions use the configuration the process runs with
 * (config_current()); they may block on directory or mapping-source
 * lookups (LDAP), so an event-loop process runs them with run_blocking.
 * They are safe to call from several threads at once.
 */
#ifndef CURSUS_RESOLVE_H
#define CURSUS_RESOLVE_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/common.h>

/* resolve_params flags */
enum resolve_flags {
  /* the message is being reprocessed (rules with $1M apply) */
  RESOLVE_REPROCESS = 1u << 0,
  /* stop after rewriting: no alias or directory expansion */
  RESOLVE_NO_EXPAND = 1u << 1,
  /* for resolve_header_*: the address is backward-pointing (From:,
   * Sender:, Reply-To: ...); otherwise forward-pointing */
  RESOLVE_FROM = 1u << 2,
  /* do not apply the FORWARD (recipient) or REVERSE (sender) mapping */
  RESOLVE_NO_MAPPING = 1u << 3,
};

typedef struct resolve_params {
  /* channel the message comes from (whose slave or program enqueues:
   * "tcp_local", "tcp_submit" ...); NULL = the local channel */
  const char *source_channel;
  /* envelope sender as already resolved, "" for the null sender; may be
   * NULL when unknown (test-rewrite) */
  const char *sender;
  /* authenticated submitter, or NULL */
  const char *auth_user;
  /* destination channel when known (header rewriting: $C / $Q rules and
   * the channel's local host alias); NULL while resolving a recipient */
  const char *destination_channel;
  unsigned flags; /* enum resolve_flags */
  /* when not NULL, every step (rules tried, mapping calls, expansions) is
   * appended here, one line each, for `cursus test-rewrite` */
  GString *trace;
  /* rewrite tag the recipient starts with (an access table's $T), or
   * NULL; addresses it expands to start without */
  const char *tag;
} resolve_params;

/* One queue entry. */
typedef struct resolve_entry {
  char *address;   /* envelope recipient as queued ("bob@example.org",
                      "joe+INBOX@ims-ms-daemon") */
  char *channel;   /* destination channel */
  char *host;      /* routing host (the channel host name it matched) */
  char *errors_to; /* envelope sender for this copy (a list's errors-to),
                      or NULL for the message's */
  char *via;       /* the address this one was expanded from, or NULL */
} resolve_entry;

typedef struct resolve_result {
  int status;         /* CURSUS_OK, CURSUS_TEMPFAIL or CURSUS_PERMFAIL */
  int smtp_code;      /* reply code for the SMTP server: 250, 451, 550 ...*/
  char *error;        /* "5.1.1 joe@example.com: no such user"; NULL if OK */
  char *rewritten;    /* the address after rewriting, before expansion */
  char *channel;      /* its channel (ORIG_SEND_ACCESS's dst-channel) */
  char *host;         /* its routing host */
  GPtrArray *entries; /* of resolve_entry*: the copies to enqueue */
  GPtrArray *notes;   /* of char*: expansion members that failed
                         permanently and were skipped */
} resolve_result;

void resolve_result_init(resolve_result *r);
void resolve_result_clear(resolve_result *r);

/* resolve_recipient - ADDRESS (an RFC 5321 mailbox, "postmaster", or any
 * address the rewrite rules understand) to the copies to enqueue.
 * Returns res->status.  A recipient whose expansion partly fails
 * permanently succeeds with the members that resolved (the failures are
 * in res->notes); any temporary failure makes the whole recipient
 * CURSUS_TEMPFAIL so nothing is lost. */
int resolve_recipient(const char *address, const resolve_params *p,
                      resolve_result *res);

/* resolve_sender - the envelope sender ADDRESS ("" for <>) rewritten as a
 * backward-pointing envelope address (and reversed with the REVERSE
 * mapping unless `noreverse` or RESOLVE_NO_MAPPING).  CURSUS_OK with
 * *rewritten_r, or a failure with *error_r ("5.1.7 ...") and, when
 * SMTP_CODE_R is not NULL, the reply code. */
int resolve_sender(const char *address, const resolve_params *p,
                   char **rewritten_r, int *smtp_code_r, char **error_r);

/* resolve_header_address - one header addr-spec rewritten as a header
 * address (backward-pointing with RESOLVE_FROM).  CURSUS_OK with
 * *rewritten_r; on failure the caller keeps the original. */
int resolve_header_address(const char *address, const resolve_params *p,
                           char **rewritten_r, char **error_r);

/* resolve_header_field - every address of an address-list header field
 * value (To:, From:, Cc: ...) rewritten; display names, comments and
 * groups stay as they were.  NAME decides the direction (From, Sender,
 * Reply-To, Resent-From ... are backward-pointing).  CURSUS_OK with
 * *value_r, or CURSUS_PERMFAIL when VALUE is not an address list. */
int resolve_header_field(const char *name, const char *value,
                         const resolve_params *p, char **value_r,
                         char **error_r);

/* resolve_field_is_backward - NAME is a backward-pointing address field */
bool resolve_field_is_backward(const char *name);

#endif
