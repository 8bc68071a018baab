/*
 * fmsg.h - the message as content filters see and edit it
 *
 * A model of the message being filtered (fmodel): the submission's
 * facts, sender, recipients, header fields and body.  A model is never
 * changed once a call can see it: each filter call gets a view
 * (cursus_filter_msg) over the current model, records its edits in
 * working copies, and when the call returns in time with success the
 * edits become the next model.  A late (abandoned) call keeps its model
 * alive with its reference, so nothing it was given goes away under it;
 * the enqueue's content it reads through (fsource) is cut off when the
 * enqueue ends.  host->filter is implemented here.  Needs GLib only.
 */
#ifndef CURSUS_FMSG_H
#define CURSUS_FMSG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/cursus.h>

/* The enqueue's content, read through a function while attached. */
typedef struct fsource fsource;
typedef long long fsource_read_fn(void *data, uint64_t offset, void *buf,
                                  size_t len);
fsource *fsource_new(fsource_read_fn *read, void *data, uint64_t size);
fsource *fsource_ref(fsource *s);
void fsource_unref(fsource **s);
/* fsource_detach - no reads after this returns (the data goes away) */
void fsource_detach(fsource *s);

/* One header field: VALUE is the raw text after the colon. */
typedef struct fhdr {
  char *name;
  char *value;
} fhdr;

/* One recipient of the model. */
typedef struct frcpt {
  unsigned id;          /* accepted RCPT number; added ones follow */
  bool added, removed;
  cursus_filter_rcpt pub; /* what filters see (strings owned below) */
  char *address, *routed, *channel, *orcpt;
  /* a per-recipient verdict, or action CONTINUE */
  cursus_filter_verdict verdict;
  char *v_status, *v_text, *v_by;
} frcpt;

typedef struct fmodel {
  gint refs;
  cursus_filter_info info; /* strings owned by the model */
  char *strings[12];       /* what info points to */
  char *sender;
  GPtrArray *rcpts;        /* of frcpt* (removed ones kept, flagged) */
  bool have_content;
  GPtrArray *hdrs;         /* of fhdr* */
  char *sep;               /* what ends the header: "\r\n" or "" */
  fsource *src;            /* original body: BODY_OFF.. of the source */
  uint64_t body_off, body_len;
  GBytes *body;            /* a replaced body, or NULL */
  bool content_changed;    /* header or body edited */
  bool sender_changed;
} fmodel;

/* fmodel_new - a model with the facts of INFO (copied) */
fmodel *fmodel_new(const cursus_filter_info *info);
fmodel *fmodel_ref(fmodel *m);
/* fmodel_clone - a new model equal to M, to be changed */
fmodel *fmodel_clone(const fmodel *m);
void fmodel_unref(fmodel **m);
/* fmodel_add_rcpt - append recipient number ID (setup, before calls) */
frcpt *fmodel_add_rcpt(fmodel *m, unsigned id, const char *address,
                       const char *routed, const char *channel,
                       const char *orcpt, unsigned notify);
/* fmodel_set_content - parse the header of SRC (SIZE octets); false with
 * *error_r when it cannot be read */
bool fmodel_set_content(fmodel *m, fsource *src, char **error_r);
/* fmodel_write - the content of M to OUT (header, separator, body);
 * false on a read error */
bool fmodel_write(const fmodel *m,
                  bool (*out)(void *data, const void *buf, size_t len),
                  void *data);
uint64_t fmodel_content_size(const fmodel *m);
/* fmodel_rcpt_by_id - the recipient with ID, or NULL */
frcpt *fmodel_rcpt_by_id(const fmodel *m, unsigned id);

/* The view of one call (the ABI's cursus_filter_msg). */
typedef struct cursus_filter_msg fview;

/* fview_new - a view over M for filter BY, with DEADLINE_US (monotonic),
 * content size limit LIMIT (0: none) */
fview *fview_new(fmodel *m, const char *by, gint64 deadline_us,
                 uint64_t limit);
/* fview_kill - cut the view off (its call was abandoned): every later
 * host->filter call on it fails */
void fview_kill(fview *v);
/* fview_result - the model with the view's edits (a new reference; the
 * same model when nothing changed); recipients added by the call have
 * `added` set and `routed`/`channel` NULL until resolved */
fmodel *fview_result(fview *v);
void fview_free(fview **v);

/* fmsg_access - the host->filter table */
const cursus_filter_access *fmsg_access(void);

#endif
