/*
 * bitbucket.c - the bitbucket channel: accepts every message and keeps
 * nothing (mail for deleted users, autoreply triggers, discards)
 *
 * Serves channels named bitbucket*.  Each recipient is reported
 * delivered ("2.0.0 discarded"); the message log shows the discard.
 */
#include <cursus/cursus.h>

static const cursus_host *host;

static int bb_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  if (h->queue == NULL) {
    *error_r = "the host offers no queue services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  return CURSUS_OK;
}

static int bb_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                   void **data_r, const char **error_r) {
  *data_r = NULL;
  return CURSUS_OK;
}

static int bb_deliver(void *data, cursus_message *msg, const char **error_r) {
  size_t n = host->queue->recipient_count(msg);
  for (size_t i = 0; i < n; i++) {
    cursus_result r = {.status = CURSUS_OK, .code = "2.0.0", .text = "discarded"};
    host->queue->rcpt_result(msg, i, &r);
  }
  return CURSUS_OK;
}

static void bb_close(void *data) {}

static const char *const bb_names[] = {"bitbucket*", NULL};

static const cursus_channel_ops bb_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = bb_names,
    .open = bb_open,
    .deliver = bb_deliver,
    .close = bb_close,
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

CURSUS_MODULE(.name = "channel_bitbucket", .version = "1.0", .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "discards every message (bitbucket channel)",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .init = bb_init, .channel = &bb_ops);
