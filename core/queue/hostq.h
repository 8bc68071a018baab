/*
 * hostq.h - host->queue: the queue services modules get (sdk channel.h)
 *
 * Enqueueing goes to enqueue.h; the message functions of a deliver call
 * work on an open queue file (queue.h) wrapped as a cursus_message; the
 * channel accessors read imta.cnf.  A process that offers host->queue
 * calls queue_process_setup (qconfig.h) and plugs this table in with
 * host_set_queue before initialising its modules.
 */
#ifndef CURSUS_HOSTQ_H
#define CURSUS_HOSTQ_H

#include <cursus/cursus.h>
#include "queue.h"
#include "util/ev.h"

/* hostq_ops - the table; asynchronous commits complete on LOOP (NULL in
 * processes without one) */
const cursus_queue_ops *hostq_ops(ev_loop *loop);

/* hostq_message_new - the message handed to a channel's deliver: the
 * pending recipients of the open queue file Q (borrowed) */
cursus_message *hostq_message_new(qmsg *q);
/* hostq_message_sync - flush the results recorded during deliver */
int hostq_message_sync(cursus_message *msg, char **error_r);
/* hostq_message_results - how many results deliver recorded */
unsigned hostq_message_results(const cursus_message *msg);
void hostq_message_free(cursus_message **msg);

#endif
