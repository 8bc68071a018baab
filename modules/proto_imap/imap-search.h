/*
 * imap-search.h - SEARCH keys as parsed (RFC 3501 6.4.4, RFC 9051 6.4.4,
 * ESEARCH RFC 4731, SEARCHRES RFC 5182, WITHIN RFC 5032, CONDSTORE
 * RFC 7162), shared by SEARCH, SORT and THREAD
 */
#ifndef IMAP_SEARCH_H
#define IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <cursus/store.h>
#include "imap-parser.h"

/* One key of the parsed tree (parser-owned). */
typedef struct imap_search_key {
  cursus_store_search_key key;
  GArray *children;      /* imap_search_key* (AND, OR, NOT) */
  const char *field;     /* HEADER */
  const char *value;     /* strings, in the command's charset */
  int64_t number;
  imap_seqset set;       /* SET */
  bool by_uid;
} imap_search_key;

/* RETURN options (RFC 4731, RFC 5182). */
enum search_return {
  SEARCH_RET_MIN = 1u << 0,
  SEARCH_RET_MAX = 1u << 1,
  SEARCH_RET_ALL = 1u << 2,
  SEARCH_RET_COUNT = 1u << 3,
  SEARCH_RET_SAVE = 1u << 4,
};

typedef struct search_args {
  bool esearch;           /* RETURN (...) was given */
  unsigned ret;           /* enum search_return */
  const char *charset;    /* NULL = US-ASCII */
  imap_search_key *root;  /* an AND of the keys */
  bool uses_modseq;       /* a MODSEQ key: report the highest */
} search_args;

/* imap_search_parse_keys - [CHARSET x] key *(SP key) up to the end */
bool imap_search_parse_keys(imap_parser *ip, bool allow_charset,
                            search_args *a);
/* imap_search_parse - the arguments of SEARCH (RETURN, CHARSET, keys) */
bool imap_search_parse(imap_parser *ip, search_args *a);

#endif
