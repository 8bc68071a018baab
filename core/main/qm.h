/*
 * qm.h - what the parts of `cursus qm` share
 *
 * cmd_qm.c: the command, list/show/hold/release/delete/return/retry/
 * counters/jobs/inject; qm_tools.c: history, clean, top.  Requests to the
 * running job controller go through qm_ask (jobctl.h); without it the
 * queue files are read directly.
 */
#ifndef CURSUS_QM_H
#define CURSUS_QM_H

#include <stdbool.h>
#include <glib.h>
#include "config/config.h"
#include "module/loader.h"
#include "queue/queue.h"

typedef struct qm_ctx {
  config *cfg;
  modreg *mods;
  bool running; /* the job controller answers */
} qm_ctx;

/* qm_ask - one request to the job controller: its answer lines, or NULL
 * when it does not run */
GPtrArray *qm_ask(qm_ctx *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* qm_find_file - the path below queue_dir of ID (a file name or a
 * relative path), or NULL */
char *qm_find_file(qm_ctx *q, const char *id);
qmsg *qm_open_id(qm_ctx *q, const char *id, bool writable, char **rel_r);
/* qm_tell - the job controller should re-read REL (and RETRY it now) */
void qm_tell(qm_ctx *q, const char *rel, bool retry);
const char *qm_prio_name(int p);
int qm_hold(qm_ctx *q, int argc, char **argv, bool held);
int qm_delete(qm_ctx *q, int argc, char **argv, bool with_notice);

/* qm_history - `qm history ID`: the message log entries and recorded
 * results of a message */
int qm_history(qm_ctx *q, const char *id);
/* qm_clean - `qm clean`: hold or delete the messages matching substrings */
int qm_clean(qm_ctx *q, int argc, char **argv);
/* qm_top - `qm top`: most frequent senders, recipients, subjects */
int qm_top(qm_ctx *q, int argc, char **argv);

#endif
