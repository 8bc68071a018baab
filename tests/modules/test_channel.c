/*
 * test_channel.c - a channel module for the configuration and loader
 * tests: selected by the `testchan` keyword, declares typed keywords and
 * settings
 */
#include <stdlib.h>

#include <cursus/cursus.h>

static const cursus_host *host;

static int tc_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  return CURSUS_OK;
}

static int tc_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                   void **data_r, const char **error_r) {
  *data_r = (void *)chan;
  return CURSUS_OK;
}

static int tc_deliver(void *data, cursus_message *msg, const char **error_r) {
  /* a module that crashes, for the job controller's tests */
  if (host->queue->channel_keyword(data, "testcrash", 0) != NULL)
    abort();
  size_t n = host->queue->recipient_count(msg);
  for (size_t i = 0; i < n; i++) {
    cursus_result r = {.status = CURSUS_OK, .code = "2.0.0", .text = "accepted by test channel"};
    host->queue->rcpt_result(msg, i, &r);
  }
  return CURSUS_OK;
}

static void tc_close(void *data) {}

static const char *const tc_select[] = {"testchan", NULL};
static const char *const tc_names[] = {"testdrop*", NULL};

static const cursus_channel_ops tc_ops = {
    .size = sizeof(cursus_channel_ops),
    .select_keywords = tc_select,
    .channel_names = tc_names,
    .open = tc_open,
    .deliver = tc_deliver,
    .close = tc_close,
};

static const cursus_keyword tc_keywords[] = {
    {"testport", CURSUS_VALUE_INTEGER, 1, 1, "a port"},
    {"testhosts", CURSUS_VALUE_HOST, 1, 0, "hosts"},
    {"testflag", CURSUS_VALUE_FLAG, 0, 0, "a flag"},
    {"testcrash", CURSUS_VALUE_FLAG, 0, 0, "deliver crashes the job"},
    {"testdelay", CURSUS_VALUE_DURATION, 1, 1, "a delay"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword tc_settings[] = {
    {"spool", CURSUS_VALUE_PATH, 1, 1, "a directory"},
    {"limit", CURSUS_VALUE_SIZE, 1, 1, "a size"},
    {"enabled", CURSUS_VALUE_BOOLEAN, 1, 1, "a boolean"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "test_channel", .version = "2.1", .vendor = "Cursus tests",
              .license = "MIT", .description = "channel module for tests",
              .kinds = CURSUS_KIND_CHANNEL, .keywords = tc_keywords,
              .settings = tc_settings, .init = tc_init, .channel = &tc_ops);
