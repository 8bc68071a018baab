/*
 * mime.h - what the store caches about a message: the MIME tree with the
 * byte ranges IMAP sections need, ENVELOPE, BODYSTRUCTURE and BODY in
 * IMAP syntax, the header block and the Date: header
 *
 * The tree and its offsets come from a boundary scanner over the raw
 * bytes (IMAP needs exact byte ranges); header fields, parameters,
 * encoded words, addresses and dates are parsed with GMime.  Any input is
 * accepted: malformed MIME degrades to opaque parts; NUL bytes, 8-bit
 * headers, huge messages, many parts and deep nesting are bounded (see
 * SC_MIME_MAX_*).
 */
#ifndef SC_MIME_H
#define SC_MIME_H

#include "sc.h"

/* Limits: parts indexed per message, nesting depth, cached header size. */
#define SC_MIME_MAX_PARTS 20000
#define SC_MIME_MAX_DEPTH 64
#define SC_MIME_MAX_CACHED_HEADER (64 * 1024)

/* One MIME part; see cursus_store_part for the meaning of the ranges. */
typedef struct sc_part {
  char *id; /* "" for the message, "1", "1.2" ... */
  uint64_t mime_off, mime_len;
  uint64_t body_off, body_len;
  uint64_t hdr_off, hdr_len;
  uint64_t text_off, text_len;
  uint32_t lines;
  uint32_t n_children;
  char *type, *subtype, *encoding, *charset; /* lower case */
} sc_part;

typedef struct sc_msginfo {
  GString *envelope;
  GString *bodystructure;
  GString *body;
  GByteArray *header;      /* raw header block of the message           */
  bool header_truncated;   /* longer than SC_MIME_MAX_CACHED_HEADER      */
  int64_t sent_date;       /* 0 when absent or unparsable               */
  int16_t sent_tz;
  GPtrArray *parts;        /* of sc_part*, depth first, [0] the message */
} sc_msginfo;

/* sc_mime_init / sc_mime_shutdown - once per process (GMime) */
void sc_mime_init(void);
void sc_mime_shutdown(void);

/* sc_mime_parse - everything about the message DATA/LEN (never fails) */
sc_msginfo *sc_mime_parse(const char *data, size_t len);
void sc_msginfo_free(sc_msginfo **info);

/* sc_msginfo_encode - the cache record for UID */
void sc_msginfo_encode(const sc_msginfo *info, uint32_t uid, sc_wbuf *out);
/* sc_msginfo_peek - where cached field WHICH (cursus_store_field: 0
 * ENVELOPE, 1 BODYSTRUCTURE, 2 BODY, 3 HEADER) lies in the cache record
 * DATA/LEN of UID, and whether the cached header is cut short, without
 * decoding the rest; false when the record is malformed or another's */
bool sc_msginfo_peek(const void *data, size_t len, uint32_t uid, int which,
                     const char **field_r, size_t *len_r,
                     bool *header_truncated_r);
/* sc_msginfo_decode - a cache record back; NULL when malformed */
sc_msginfo *sc_msginfo_decode(const void *data, size_t len, uint32_t *uid_r);

/* sc_msginfo_part - the part with id ID, or NULL */
const sc_part *sc_msginfo_part(const sc_msginfo *info, const char *id);

/* sc_imap_string - append S/LEN as an IMAP quoted string or literal */
void sc_imap_string(GString *out, const char *s, size_t len);
/* sc_imap_nstring - the same, NIL for NULL */
void sc_imap_nstring(GString *out, const char *s);

/* Header helpers shared with search. */
/* sc_header_end - offset just past the blank line ending the header that
 * starts at START (END when there is none) */
size_t sc_header_end(const char *data, size_t start, size_t end);
/* sc_header_each - call CB for every field of the header block DATA/LEN
 * with its name, raw value (folded) and the whole field's range; CB
 * returns false to stop */
void sc_header_each(const char *data, size_t len,
                    bool (*cb)(void *ctx, const char *name, size_t name_len,
                               const char *value, size_t value_len,
                               size_t field_off, size_t field_len),
                    void *ctx);
/* sc_header_get - the unfolded value of field NAME (first occurrence) in
 * the header block DATA/LEN, NULs removed; NULL when absent */
char *sc_header_get(const char *data, size_t len, const char *name);
/* sc_text_to_utf8 - TEXT as UTF-8: as is when valid, else from CHARSET
 * (NULL: windows-1252) */
char *sc_text_to_utf8(const char *text, size_t len, const char *charset);

#endif
