/*
 * channel_autoreply.c - the master program of the autoreply channel
 *
 * Address resolution gives users with the autoreply delivery option a copy
 * addressed "@autoreply-daemon:ADDRESS" (see docs/directory.md); the
 * rewrite rules route it to this channel.  Delivering the copy means
 * handing it to the server's autoreply service
 * (host->directory->autoreply), which decides whether a reply is due,
 * composes it and enqueues it with the null sender, and remembers whom it
 * answered.  The copy itself then goes nowhere: the user's mailbox copy
 * is delivered on its own channel.
 *
 * Results: a reply sent or not due (a list, a null sender, answered
 * lately ...) is a successful delivery of the copy; a temporary failure
 * (directory or queue unavailable) retries the copy.  No failure of the
 * copy ever produces a bounce for the sender: the copy is the server's
 * business, and the message itself was delivered.
 *
 * Offers: channel ops (channel names "autoreply").  Needs: host->queue,
 * host->directory.
 */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <cursus/cursus.h>

static const cursus_host *host;

typedef struct chan {
  cursus_module_ctx *ctx;
  const cursus_channel *channel;
} chan;

static int ar_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  return CURSUS_OK;
}

static int ar_open(cursus_module_ctx *ctx, const cursus_channel *c,
                   void **data_r, const char **error_r) {
  if (host->queue == NULL || host->directory == NULL ||
      !CURSUS_HAS(host->directory, autoreply)) {
    *error_r = "the autoreply channel needs the queue and the directory";
    return CURSUS_TEMPFAIL;
  }
  chan *ch = calloc(1, sizeof(*ch));
  ch->ctx = ctx;
  ch->channel = c;
  *data_r = ch;
  return CURSUS_OK;
}

/* report - the result for recipient I */
static void report(cursus_message *msg, size_t i, int rc, const char *why) {
  cursus_result r = {rc == CURSUS_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_OK,
                     rc == CURSUS_TEMPFAIL ? "4.3.0" : "2.0.0",
                     rc == CURSUS_OK ? "autoreply sent" : why, NULL};
  host->queue->rcpt_result(msg, i, &r);
}

static int ar_deliver(void *data, cursus_message *msg, const char **error_r) {
  chan *c = data;
  const cursus_queue_ops *q = host->queue;
  uint64_t offset = 0, size = 0;
  int fd = q->content_fd(msg, &offset, &size);
  for (size_t i = 0; i < q->recipient_count(msg); i++) {
    const cursus_recipient *rcpt = q->recipient(msg, i);
    cursus_autoreply_msg m = {q->sender(msg), rcpt->address, fd, size,
                              offset, q->channel_name(c->channel)};
    const char *why = NULL;
    int rc = fd < 0 ? CURSUS_TEMPFAIL
                    : host->directory->autoreply(c->ctx, &m, &why);
    if (rc != CURSUS_OK)
      host->log(c->ctx, rc == CURSUS_TEMPFAIL ? CURSUS_LOG_WARNING
                                              : CURSUS_LOG_INFO,
                "no autoreply for %s to %s: %s", rcpt->address,
                *m.sender ? m.sender : "<>",
                why != NULL ? why : "message content unavailable");
    report(msg, i, rc, why != NULL ? why : "no autoreply");
  }
  return CURSUS_OK;
}

static void ar_close(void *data) { free(data); }

static const char *const names[] = {"autoreply", NULL};

static const cursus_channel_ops ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = names,
    .open = ar_open,
    .deliver = ar_deliver,
    .close = ar_close,
};

CURSUS_MODULE(.name = "channel_autoreply", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "autoreplies and vacation messages",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .init = ar_init, .channel = &ops);
