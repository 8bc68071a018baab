/*
 * imap-fetch.h - FETCH items as parsed (RFC 3501 6.4.5, RFC 3516 BINARY,
 * RFC 7162 CHANGEDSINCE/VANISHED)
 *
 * Offers the parsed form for the FETCH command and for the fuzz target.
 */
#ifndef IMAP_FETCH_H
#define IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include "imap-parser.h"

typedef enum fetch_kind {
  FETCH_UID,
  FETCH_FLAGS,
  FETCH_INTERNALDATE,
  FETCH_RFC822_SIZE,
  FETCH_ENVELOPE,
  FETCH_BODYSTRUCTURE,
  FETCH_BODY,          /* BODY without a section: structure, no extensions */
  FETCH_SECTION,       /* BODY[...], BODY.PEEK[...], BINARY[...], RFC822* */
  FETCH_BINARY_SIZE,
  FETCH_MODSEQ,
} fetch_kind;

/* What part of a section. */
typedef enum fetch_text {
  SECTION_ALL,         /* BODY[] or BODY[1.2] */
  SECTION_HEADER,
  SECTION_HEADER_FIELDS,
  SECTION_HEADER_FIELDS_NOT,
  SECTION_TEXT,
  SECTION_MIME,
} fetch_text;

typedef struct fetch_att {
  fetch_kind kind;
  bool peek;           /* does not set \Seen */
  bool binary;         /* BINARY: decoded content */
  const char *part;    /* "" or "1.2" */
  fetch_text text;
  const char **fields; /* HEADER.FIELDS names, NULL-terminated */
  bool partial;
  uint64_t offset;
  uint64_t length;
  const char *label;   /* the item's name in the response */
} fetch_att;

typedef struct fetch_args {
  imap_seqset set;
  GArray *atts;        /* of fetch_att */
  uint64_t changedsince; /* 0 = none */
  bool vanished;
  bool sets_seen;      /* some item sets \Seen */
  bool wants_modseq;
} fetch_args;

/* imap_fetch_parse - the arguments of FETCH after the command name;
 * UID adds the UID item.  Allocations belong to IP. */
bool imap_fetch_parse(imap_parser *ip, bool uid, fetch_args *a);

#endif
