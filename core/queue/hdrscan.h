/*
 * hdrscan.h - what the queue needs to know from a message's header,
 * learnt while the content streams in
 *
 * Counts Received: fields (hop count, for loop protection), keeps the
 * Message-ID: value (for the message log) and the message's priority
 * (RFC 2156: Priority: urgent / normal / non-urgent; without it,
 * Importance: high / normal / low), and notes where the header ends.  Bytes arrive in pieces of any size; the
 * scanner keeps a few dozen bytes of state and stops at the first empty
 * line.  Pure code.
 */
#ifndef CURSUS_HDRSCAN_H
#define CURSUS_HDRSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cursus/channel.h>

/* Longest field name and Message-ID value kept. */
#define HDRSCAN_NAME_MAX 32
#define HDRSCAN_VALUE_MAX 256

typedef struct hdrscan {
  bool done;             /* the empty line ending the header was seen */
  uint64_t header_len;   /* bytes of header including the empty line */
  unsigned received;     /* Received: fields */
  unsigned fields;       /* header fields */
  char message_id[HDRSCAN_VALUE_MAX];
  cursus_priority priority;
  bool priority_set; /* by a Priority: field, which Importance: yields to */
  /* state */
  int state;
  unsigned name_len;
  char name[HDRSCAN_NAME_MAX];
  int capture; /* which value is being kept */
  unsigned value_len;
  char value[HDRSCAN_VALUE_MAX];
} hdrscan;

void hdrscan_init(hdrscan *s);
/* hdrscan_feed - scan the next LEN bytes of content */
void hdrscan_feed(hdrscan *s, const char *data, size_t len);
/* hdrscan_end - the content is complete (a header without a body) */
void hdrscan_end(hdrscan *s);

#endif
