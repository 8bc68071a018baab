/*
 * enqueue.h - putting a new message into the channel queues
 *
 * The core side of host->queue's enqueue functions (sdk channel.h, which
 * documents the behaviour): a message gets its sender checked, each
 * recipient resolved to queue entries and checked (admit.h), its content
 * streamed in (qwrite.h's qbody, scanned by hdrscan.h), and at commit one
 * queue file per destination channel (split further by `single`,
 * `single_sys`, `addrsperfile`, held copies apart) written with group
 * commit.  Limits enforced here: size (blocklimit, sourceblocklimit,
 * [mta] block_limit), recipients (recipientlimit, recipientcutoff), hops
 * ([mta] max_received).  Each accepted copy is logged (E) and each refused
 * recipient (J) in the message log.
 */
#ifndef CURSUS_ENQUEUE_H
#define CURSUS_ENQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <cursus/channel.h>
#include <cursus/lookup.h>
#include "config/config.h"
#include "util/ev.h"

typedef struct cursus_enqueue enqueue;

/* enqueue_start - a new message (see channel.h); NULL with *reply_r */
enqueue *enqueue_start(const cursus_enqueue_params *params,
                       cursus_reply *reply_r);
/* enqueue_rcpt_routed - add recipient ADDRESS already resolved to the N
 * ROUTES (address, channel, host, errors_to): no second resolution */
int enqueue_rcpt_routed(enqueue *e, const char *address, unsigned notify,
                        const char *orcpt, const cursus_route *routes,
                        size_t n, cursus_reply *r);
/* enqueue_rcpt - add a recipient; CURSUS_OK, TEMPFAIL or PERMFAIL */
int enqueue_rcpt(enqueue *e, const char *address, unsigned notify,
                 const char *orcpt, cursus_reply *reply_r);
/* enqueue_write - append content */
int enqueue_write(enqueue *e, const void *data, size_t len,
                  const char **error_r);
/* enqueue_commit - make it durable, waiting for the committer */
int enqueue_commit(enqueue *e, cursus_reply *reply_r);
/* enqueue_commit_async - the same; DONE runs on LOOP's thread */
int enqueue_commit_async(enqueue *e, ev_loop *loop,
                         void (*done)(void *data, int status), void *data,
                         const char **error_r);
/* enqueue_reply - the reply for the message or (per_recipient) for
 * accepted recipient INDEX, after the commit */
void enqueue_reply(enqueue *e, size_t index, cursus_reply *reply_r);
const char *enqueue_id(const enqueue *e);
size_t enqueue_rcpt_count(const enqueue *e);
void enqueue_free(enqueue **e);

/* enqueue_size_limit - the largest message from SOURCE_CHANNEL in bytes
 * (0: no limit) */
uint64_t enqueue_size_limit(const config *cfg, const char *source_channel);

#endif
