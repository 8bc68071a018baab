/*
 * notice.h - sending delivery status notifications for a queue file
 *
 * Decides who gets a notice (the envelope sender unless it is null or the
 * recipients' NOTIFY says otherwise; the postmaster per the channel's
 * sendpost/copysendpost/errsendpost/nosendpost for failures and
 * warnpost/copywarnpost/errwarnpost/nowarnpost for delays, with
 * postheadonly), builds it (dsn.h) and enqueues it from the null sender
 * through host->queue, so it is routed like any other mail.  Notices are
 * recorded per recipient in the queue file so none is sent twice.
 */
#ifndef CURSUS_NOTICE_H
#define CURSUS_NOTICE_H

#include "config/config.h"
#include "dsn.h"
#include "queue/queue.h"

/* notice_send - notices of KIND for the recipients of Q in state STATE
 * (FAILED for failures, PENDING for delays, DELIVERED for successes) that
 * have not had one.  CURSUS_OK when every notice owed is enqueued and
 * recorded (or none is owed), TEMPFAIL with *error_r otherwise. */
int notice_send(const config *cfg, const cnf_channel *ch, qmsg *q,
                dsn_kind kind, int64_t retry_until, char **error_r);

/* notice_owed - a failure or success notice is still owed for a
 * recipient of ENV (delay notices aside) */
bool notice_owed(const qenv *env);

/* notice_postmaster - the postmaster's address */
char *notice_postmaster(const config *cfg);

#endif
