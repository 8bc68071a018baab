/*
 * imap-sort.h - what SORT and THREAD (RFC 5256) need of each message:
 * base subjects, first addresses, dates, message ids
 */
#ifndef IMAP_SORT_H
#define IMAP_SORT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "imap-parser.h"

typedef struct imap_session imap_session;

/* The sort keys of one message. */
typedef struct msg_keys {
  uint32_t seq;
  uint32_t uid;
  int64_t arrival;     /* internal date */
  int64_t date;        /* Date: header, or the internal date */
  uint64_t size;
  char *subject;       /* base subject (RFC 5256 2.1), UTF-8 */
  bool subject_reply;  /* the subject had a reply/forward marker */
  char *from, *to, *cc;/* addr-mailbox of the first address */
  char *display_from;  /* RFC 5957 display names */
  char *display_to;
  char *message_id;    /* without <>, or NULL */
  GPtrArray *references; /* char*: References, else In-Reply-To */
} msg_keys;

/* What to gather (imap_gather_keys). */
enum msg_keys_want {
  KEYS_SUBJECT = 1u << 0,
  KEYS_ADDRESSES = 1u << 1,
  KEYS_THREADING = 1u << 2,
};

typedef enum sort_key {
  SORT_ARRIVAL,
  SORT_CC,
  SORT_DATE,
  SORT_FROM,
  SORT_SIZE,
  SORT_SUBJECT,
  SORT_TO,
  SORT_DISPLAYFROM,
  SORT_DISPLAYTO,
} sort_key;

typedef struct sort_crit {
  sort_key key;
  bool reverse;
} sort_crit;

/* imap_gather_keys - the keys of the messages SEQS/UIDS (same length) */
msg_keys *imap_gather_keys(imap_session *s, const GArray *seqs,
                           const GArray *uids, unsigned want);
void imap_keys_free(msg_keys *keys, guint n);

/* imap_base_subject - the base subject of a decoded SUBJECT (g_free it);
 * *reply_r set when a reply or forward marker was removed */
char *imap_base_subject(const char *subject, bool *reply_r);

/* imap_casemap_cmp - i;ascii-casemap comparison (NULL sorts as "") */
int imap_casemap_cmp(const char *a, const char *b);

struct search_args;
/* imap_sort_parse - "(criteria) charset keys" of SORT into CRIT
 * (sort_crit) and A */
bool imap_sort_parse(imap_parser *ip, GArray *crit, struct search_args *a);
/* imap_thread_parse - "algorithm charset keys" of THREAD */
bool imap_thread_parse(imap_parser *ip, bool *references_r,
                       struct search_args *a);

#endif
