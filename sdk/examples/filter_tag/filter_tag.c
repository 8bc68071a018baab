/*
 * filter_tag.c - an example content filter for Cursus
 *
 * Adds a header field to every message it sees, refuses messages larger
 * than a configured size, and refuses messages that carry a configured
 * header field.  Built only against the installed SDK:
 *
 *     cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags cursus-sdk) \
 *        filter_tag.c -o filter_tag.so
 *
 * Configuration (cursus.conf and imta.cnf):
 *
 *     [contentfilter tag]
 *     module = filter_tag
 *     header = X-Checked-By          ! the field added (default X-Filtered-By)
 *     max_size = 1M                  ! refuse larger messages (default: none)
 *     refuse_header = X-Spam-Flag    ! refuse messages with this field
 *
 *     tcp_local smtp mx contentfilter tag
 *
 * The filter keeps no state per message and only reads its settings, so
 * it is thread-safe as filter.h asks.  SPDX-License-Identifier: MIT
 */
#include <cursus/cursus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const cursus_host *host;

/* One [contentfilter NAME] naming this module. */
struct tag {
  char name[64];
  char header[64];
  char refuse_header[64];
  unsigned long long max_size; /* 0: no limit */
};

static int tag_open(cursus_module_ctx *ctx, const cursus_filter_def *def,
                    void **filter_r, const char **error_r) {
  const cursus_filter_access *fa = host->filter;
  struct tag *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    *error_r = "out of memory";
    return CURSUS_TEMPFAIL;
  }
  const char *h = fa->def_setting(def, "header");
  const char *r = fa->def_setting(def, "refuse_header");
  snprintf(t->name, sizeof(t->name), "%s", fa->def_name(def));
  snprintf(t->header, sizeof(t->header), "%s", h != NULL ? h : "X-Filtered-By");
  snprintf(t->refuse_header, sizeof(t->refuse_header), "%s", r != NULL ? r : "");
  t->max_size = (unsigned long long)fa->def_setting_int(def, "max_size", 0);
  host->log(ctx, CURSUS_LOG_INFO, "filter %s: adds %s%s", t->name, t->header,
            t->max_size ? ", refuses large messages" : "");
  *filter_r = t;
  return CURSUS_OK;
}

static void tag_close(void *filter) { free(filter); }

static int tag_data(void *filter, void **state, cursus_filter_msg *msg,
                    cursus_filter_verdict *verdict, const char **error_r) {
  const struct tag *t = filter;
  const cursus_filter_access *fa = host->filter;
  (void)state;
  if (t->max_size != 0 && fa->body_size(msg) > t->max_size) {
    verdict->action = CURSUS_FILTER_REJECT;
    verdict->code = 552;
    verdict->status = "5.3.4";
    verdict->text = "Message too large for this site's policy";
    return CURSUS_OK;
  }
  if (t->refuse_header[0] != '\0') {
    size_t n = fa->header_count(msg);
    for (size_t i = 0; i < n; i++) {
      const char *name, *value;
      if (fa->header(msg, i, &name, &value) == CURSUS_OK &&
          strcasecmp(name, t->refuse_header) == 0) {
        verdict->action = CURSUS_FILTER_REJECT;
        verdict->text = "Message refused by local policy";
        return CURSUS_OK;
      }
    }
  }
  char value[160];
  snprintf(value, sizeof(value), "%s (Cursus example filter) for %s",
           t->name, fa->info(msg)->queue_id);
  return fa->header_add(msg, t->header, value, error_r);
}

static const cursus_keyword tag_settings[] = {
    {"header", CURSUS_VALUE_STRING, 1, 1, "header field added to messages"},
    {"max_size", CURSUS_VALUE_SIZE, 1, 1, "refuse bodies larger than this"},
    {"refuse_header", CURSUS_VALUE_STRING, 1, 1,
     "refuse messages carrying this header field"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_filter_ops tag_ops = {
    .size = sizeof(cursus_filter_ops),
    .stages = CURSUS_FILTER_STAGE_DATA,
    .settings = tag_settings,
    .open = tag_open,
    .close = tag_close,
    .data = tag_data,
};

static int tag_init(cursus_module_ctx *ctx, const cursus_host *h,
                    const char **error_r) {
  (void)ctx;
  if (!CURSUS_HAS(h, filter) || h->filter == NULL) {
    *error_r = "this server offers no content filter services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  return CURSUS_OK;
}

CURSUS_MODULE(.name = "filter_tag", .version = "1.0.0",
              .vendor = "Example Ltd", .license = "MIT",
              .description = "tags messages, refuses large or flagged ones",
              .kinds = CURSUS_KIND_FILTER,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_CHANNEL_JOB |
                           CURSUS_PROC_TOOL,
              .init = tag_init, .filter = &tag_ops);
