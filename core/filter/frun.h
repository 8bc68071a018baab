/*
 * frun.h - running the content filters of one message
 *
 * The enqueue of a message whose source channel names filters
 * (fconf_chain) keeps a frun: it calls frun_mail after the sender was
 * accepted, frun_rcpt after each accepted recipient, and frun_data (or
 * frun_data_async) with the complete content before the commit.  Each
 * filter call runs on a thread of the filter pool with its instance's
 * time limit; a call that fails or is late gets the instance's
 * default_action (fconf.h) and its edits are dropped.  What the chain
 * decided is then read from the outcome and the final model (fmsg.h):
 * the enqueue applies it (recipients, sender, content, holds, replies).
 * Needs fconf.h and fmsg.h.
 */
#ifndef CURSUS_FRUN_H
#define CURSUS_FRUN_H

#include <stdbool.h>
#include <glib.h>
#include "fconf.h"
#include "fmsg.h"

typedef struct frun frun;

/* How the enqueue routes a recipient a filter added: CURSUS_OK with
 * *ROUTED_R and *CHANNEL_R (allocated), else a failure with *ERROR_R
 * (allocated).  ID identifies the recipient in the final model. */
typedef int frun_resolve_fn(void *data, unsigned id, const char *address,
                            char **routed_r, char **channel_r,
                            char **error_r);

/* frun_new - the filtering of a message from a source channel whose
 * filters are CHAIN (fconf_chain of CFG, which the frun keeps a reference
 * to); INFO: the facts (copied); LIMIT: the size limit (0: none);
 * EARLY: a protocol session, whose MAIL and RCPT stages are filtered */
frun *frun_new(config *cfg, const GPtrArray *chain,
               const cursus_filter_info *info, uint64_t limit, bool early,
               frun_resolve_fn *resolve, void *resolve_data);
/* frun_free - end the filtering: `end` for every filter state (late
 * calls end theirs when they return) */
void frun_free(frun **fr);

/* A refusal: CODE and TEXT ("5.7.1 ..."). */
typedef struct frun_reply {
  unsigned code;
  char *text;
} frun_reply;
void frun_reply_clear(frun_reply *r);

/* frun_mail - the MAIL stage; CURSUS_OK, or a refusal in R */
int frun_mail(frun *fr, frun_reply *r);
/* frun_rcpt - the RCPT stage for the recipient the enqueue accepted as
 * number ID; CURSUS_OK (it joins the model), or a refusal in R (it does
 * not) */
int frun_rcpt(frun *fr, unsigned id, const char *address, const char *routed,
              const char *channel, const char *orcpt, unsigned notify,
              frun_reply *r);

/* What the DATA stage decided for the message. */
typedef struct frun_outcome {
  cursus_filter_action action; /* CONTINUE (queue it), REJECT, TEMPFAIL,
                                  DISCARD */
  unsigned code;               /* for REJECT/TEMPFAIL */
  char *text;                  /* "5.7.1 ..." or the discard reason */
  char *hold;                  /* quarantine reason, or NULL */
  char *by;                    /* the filter that decided, or NULL */
} frun_outcome;

/* frun_data - the DATA stage over the content SRC (blocking) */
void frun_data(frun *fr, fsource *src);
/* frun_data_async - the same on a filter thread; DONE(DATA) runs on that
 * thread when it is finished */
void frun_data_async(frun *fr, fsource *src, void (*done)(void *data),
                     void *data);
const frun_outcome *frun_get_outcome(const frun *fr);
/* frun_model - the final model (recipients, sender, content) */
const fmodel *frun_model(const frun *fr);

#endif
