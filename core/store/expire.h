/*
 * expire.h - expiry rules (the classic store.expirerule) and running them
 *
 * `[store] expire_rules` (default expire.rules in the configuration
 * directory; no file means no rules) holds lines `RULE.ATTRIBUTE: VALUE`,
 * `!` or `#` starting comments:
 *   folderpattern     regular expression matched against the whole
 *                     mailbox name "user/<id>/<folder>" (required)
 *   messagedays       expire messages older than N days (internal date)
 *   messagecount      keep only the newest N messages
 *   messagesize       expire messages larger than N (K, M, G suffixes)
 *   messagesizedays   with messagesize: larger AND older than N days
 *   deleted           yes: only messages marked \Deleted
 *   seen              yes: only messages marked \Seen
 *   messageheader.F   only messages whose header F contains the text
 *   exclusive         yes: in the folders it matches, no other rule
 * A message is expired when it passes every filter of a rule (deleted,
 * seen, messageheader) and meets any of its limits (messagedays,
 * messagecount, messagesize/messagesizedays).  The housekeeping process
 * runs the rules daily at `[store] expire_start`; `cursus expire` runs
 * them now.
 */
#ifndef CURSUS_STORE_EXPIRE_H
#define CURSUS_STORE_EXPIRE_H

#include <stdbool.h>
#include <glib.h>
#include "util/diag.h"

struct config;

typedef struct expire_rule {
  char *name;
  GRegex *folder;
  char *folder_text;
  int64_t days;          /* -1 unset */
  int64_t count;
  int64_t size;
  int64_t size_days;
  int deleted, seen;     /* -1 unset, 0/1 */
  GPtrArray *headers;    /* of char* "Field\0text" pairs: field, text */
  bool exclusive;
  const char *file;
  unsigned line;
} expire_rule;

typedef struct expire_rules {
  GPtrArray *rules; /* of expire_rule*, in the order first named */
} expire_rules;

/* expire_rules_read - the rules of CFG; problems to D (file:line).  An
 * absent file gives no rules. */
expire_rules *expire_rules_read(const struct config *cfg, diag *d);
void expire_rules_free(expire_rules **r);
/* expire_check_hook - config check of the rules file */
void expire_check_hook(struct config *cfg, diag *d);

typedef struct expire_stats {
  unsigned folders;
  unsigned messages;
  uint64_t bytes;
} expire_stats;

/* expire_run - apply RULES to USER's mailboxes (NULL: every user);
 * DRY_RUN only reports.  REPORT gets one line per folder with expired
 * messages.  False with *error_r when the store cannot be used. */
bool expire_run(const expire_rules *rules, const char *user, bool dry_run,
                void (*report)(void *data, const char *line), void *data,
                expire_stats *stats, char **error_r);

#endif
