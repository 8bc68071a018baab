/*
 * dsn.h - delivery status notifications (RFC 3464) as message text
 *
 * Builds the multipart/report of a failure, delay, or success notice:
 * a human-readable part, the machine-readable message/delivery-status
 * (per-message fields, one block per recipient with Final-Recipient,
 * Original-Recipient from ORCPT, Action, Status, Remote-MTA,
 * Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until), and the returned
 * message: whole (message/rfc822) with RET=FULL or by default for
 * failures, or its header only (text/rfc822-headers) with RET=HDRS, for
 * delay and success notices, and for messages too large to return.
 * Pure: no I/O beyond reading the original content.  Needs GMime.
 */
#ifndef CURSUS_DSN_H
#define CURSUS_DSN_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/channel.h>

typedef enum dsn_kind {
  DSN_FAILURE = 0,
  DSN_DELAY,
  DSN_SUCCESS,
} dsn_kind;

typedef struct dsn_rcpt {
  const char *address;  /* final (active) recipient                      */
  const char *orcpt;    /* ORCPT "type;address", or NULL                  */
  const char *action;   /* "failed", "delayed", "delivered", "relayed"    */
  const char *status;   /* "5.1.1"                                       */
  const char *remote;   /* remote MTA host name, or NULL                  */
  const char *diag;     /* diagnostic text (an SMTP reply), or NULL       */
  int64_t last_attempt; /* seconds since the epoch; 0 = none             */
} dsn_rcpt;

typedef struct dsn_report {
  dsn_kind kind;
  const char *reporting_mta; /* this server's host name                 */
  const char *to;            /* where the notice goes                    */
  const char *envid;         /* DSN ENVID, or NULL                        */
  const char *queue_id;      /* the original's queue file                 */
  const char *received_from; /* "dns; host" it came from, or NULL         */
  int64_t arrival;           /* seconds since the epoch                   */
  int64_t retry_until;       /* delay notices: when it will be returned   */
  cursus_ret ret;
  bool headers_only;         /* return only the header whatever RET says  */
  int fd;                    /* the original content                      */
  uint64_t offset, size;
  uint64_t max_return;       /* return only the header above this size    */
  const dsn_rcpt *rcpts;
  size_t nrcpts;
} dsn_report;

/* dsn_build - the notice (header, blank line, body; CRLF) */
GBytes *dsn_build(const dsn_report *r);

#endif
