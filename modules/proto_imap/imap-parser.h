/*
 * imap-parser.h - the IMAP command grammar (RFC 3501 / RFC 9051 section 9)
 *
 * Offers a cursor over one complete command in wire form: the command
 * lines with every literal's octets inline after its "{n}" marker and
 * CRLF, exactly as the client sent them (the reader in imap-reader.h
 * assembles it).  Each imap_parse_* function consumes one production and
 * returns false with ip->error set when the input does not match; values
 * it returns are NUL-terminated copies that live until imap_parser_clear.
 * Knows nothing of sessions or the store.  Needs GLib.
 */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct imap_parser {
  const char *p;     /* what is left of the command */
  const char *end;
  const char *error; /* why the last parse failed (static text) */
  bool utf8_names;   /* mailbox names are UTF-8 on the wire (IMAP4rev2) */
  GPtrArray *owned;  /* copies handed out, freed by imap_parser_clear */
  GPtrArray *arrays; /* GArrays handed out, freed likewise */
} imap_parser;

/* A sequence number or UID range as parsed: 0 stands for "*". */
typedef struct imap_range {
  uint32_t first;
  uint32_t last;
} imap_range;

/* A sequence set: ranges, or the saved search result "$" (RFC 5182). */
typedef struct imap_seqset {
  GArray *ranges; /* of imap_range; owned by the parser */
  bool saved;     /* "$" */
} imap_seqset;

/* imap_parser_init - a cursor over DATA (LEN octets) */
void imap_parser_init(imap_parser *ip, const char *data, size_t len);
/* imap_parser_clear - free every value the parser handed out */
void imap_parser_clear(imap_parser *ip);
/* imap_parser_own - make the parser free P (a g_malloc'ed block) */
void *imap_parser_own(imap_parser *ip, void *p);
/* imap_parser_array - a GArray of ELT_SIZE elements freed with the parser */
GArray *imap_parser_array(imap_parser *ip, guint elt_size);
/* imap_parser_fail - set the error; always false */
bool imap_parser_fail(imap_parser *ip, const char *error);

/* imap_parse_sp - exactly one space */
bool imap_parse_sp(imap_parser *ip);
/* imap_parse_end - nothing left of the command */
bool imap_parse_end(imap_parser *ip);
/* imap_parse_at_end - true when nothing is left (consumes nothing) */
bool imap_parse_at_end(const imap_parser *ip);
/* imap_parse_peek - true when the next octet is C (consumes nothing) */
bool imap_parse_peek(const imap_parser *ip, char c);
/* imap_parse_char - the octet C */
bool imap_parse_char(imap_parser *ip, char c);

/* imap_parse_tag - a command tag */
bool imap_parse_tag(imap_parser *ip, const char **tag_r);
/* imap_parse_atom - an atom (RFC 3501 ATOM-CHARs) */
bool imap_parse_atom(imap_parser *ip, const char **atom_r);
/* imap_parse_astring - an atom (with ']' allowed) or a string */
bool imap_parse_astring(imap_parser *ip, const char **s_r);
/* imap_parse_string - a quoted string or a literal */
bool imap_parse_string(imap_parser *ip, const char **s_r);
/* imap_parse_nstring - NIL (NULL) or a string */
bool imap_parse_nstring(imap_parser *ip, const char **s_r);
/* imap_parse_literal8 - a literal8 "~{n}" (binary content, NULs allowed)
 * or an ordinary literal; *len_r gets the length */
bool imap_parse_literal8(imap_parser *ip, const char **s_r, size_t *len_r);
/* imap_parse_number - a number below 2^32 */
bool imap_parse_number(imap_parser *ip, uint32_t *n_r);
/* imap_parse_nz_number - a number from 1 to 2^32-1 */
bool imap_parse_nz_number(imap_parser *ip, uint32_t *n_r);
/* imap_parse_number64 - a number below 2^63 (mod-sequence values) */
bool imap_parse_number64(imap_parser *ip, uint64_t *n_r);
/* imap_parse_seqset - a sequence set; "$" only when ALLOW_SAVED */
bool imap_parse_seqset(imap_parser *ip, bool allow_saved, imap_seqset *set);
/* imap_parse_mailbox - a mailbox name, converted to UTF-8 from modified
 * UTF-7 unless ip->utf8_names; any case of "INBOX" becomes "INBOX" */
bool imap_parse_mailbox(imap_parser *ip, const char **name_r);
/* imap_parse_list_mailbox - a LIST pattern (wildcards kept), converted as
 * imap_parse_mailbox converts names */
bool imap_parse_list_mailbox(imap_parser *ip, const char **pattern_r);
/* imap_parse_flag - a flag: "\Word" (system) or a keyword atom; with
 * ALLOW_STAR also "\*" */
bool imap_parse_flag(imap_parser *ip, bool allow_star, const char **flag_r);
/* imap_parse_date_time - a quoted date-time "dd-Mon-yyyy hh:mm:ss +zzzz"
 * as seconds since the epoch and the zone in minutes east of UTC */
bool imap_parse_date_time(imap_parser *ip, int64_t *t_r, int32_t *tz_r);
/* imap_parse_date - a date "d-Mon-yyyy", quoted or not, as days since
 * 1970-01-01 */
bool imap_parse_date(imap_parser *ip, int64_t *days_r);
/* imap_parse_literal_marker - true when the command ends with a literal
 * marker; sets its size, whether it synchronises, and literal8 */
bool imap_literal_marker(const char *line, size_t len, uint64_t *size_r,
                         bool *sync_r, bool *binary_r, size_t *marker_len_r);

/* imap_is_atom - true when S can be sent as an atom */
bool imap_is_atom(const char *s, size_t len);
/* imap_mailbox_is_inbox - true for any case of "INBOX" */
bool imap_mailbox_is_inbox(const char *name);

#endif
