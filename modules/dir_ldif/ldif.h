/*
 * ldif.h - reading and writing LDIF (RFC 2849) content records
 *
 * The parser turns LDIF text into records (a DN and attribute values,
 * each with its line number) and keeps each record's source text, so a
 * file rewritten after a change keeps the comments and layout of every
 * record that did not change.  It accepts what `ldapadd -f` accepts for
 * adding entries: a `version: 1` line, folded lines, comments, base64
 * values, `changetype: add`; it refuses with "file:line: reason" other
 * change types, controls, URL values (`attr:< file:...`: the server does
 * not read files an LDIF names), bad attribute names, bad UTF-8, and
 * oversized lines or values.  Values that are not UTF-8 text (base64 of
 * binary data) are kept for writing back but marked binary.
 *
 * Needs GLib and libldap (DN syntax).  No state: any thread may parse.
 */
#ifndef CURSUS_LDIF_H
#define CURSUS_LDIF_H

#include <stdbool.h>
#include <glib.h>

/* Limits (octets). */
#define LDIF_MAX_LINE (1024 * 1024)  /* one unfolded line */
#define LDIF_MAX_VALUE (256 * 1024)  /* one decoded value */

typedef struct ldif_value {
  char *name;        /* attribute description */
  char *value;       /* NUL-terminated (binary: may hold NULs, see len) */
  size_t len;
  unsigned line;
  bool binary;       /* not UTF-8 text: never handed out as a value */
} ldif_value;

typedef struct ldif_record {
  char *dn;          /* as written */
  char *ndn;         /* normalised: for comparisons and indexes */
  unsigned line;     /* line of the dn: line */
  GArray *values;    /* of ldif_value, in file order */
  char *lead;        /* the text before the dn: line (blank lines,
                        comments), or NULL for a record made in memory */
  char *source;      /* the record's text from its dn: line, or NULL when
                        it must be written from VALUES (new or changed) */
} ldif_record;

typedef struct ldif_file {
  GPtrArray *records; /* of ldif_record* in file order */
  char *header;       /* text up to a "version: 1" line, or NULL */
  char *trailer;      /* text after the last record (comments), or NULL */
} ldif_file;

/* ldif_parse - parse TEXT (LEN octets) read from NAME.  Returns the
 * records, or NULL with *error_r (allocated, "NAME:LINE: reason") at the
 * first error. */
ldif_file *ldif_parse(const char *name, const char *text, size_t len,
                      char **error_r);
void ldif_file_free(ldif_file **f);

ldif_record *ldif_record_new(const char *dn, const char *ndn);
void ldif_record_add(ldif_record *r, const char *name, const char *value);
void ldif_record_free(ldif_record *r);

/* ldif_normalize_dn - DN in the normalised form used as a key; NULL with
 * *error_r (allocated) when DN is not a valid DN */
char *ldif_normalize_dn(const char *dn, char **error_r);
/* ldif_parent_dn - the normalised parent of normalised NDN ("" for a
 * top entry) */
char *ldif_parent_dn(const char *ndn);
/* ldif_dn_within - NDN is BASE or below it (both normalised; "" is the
 * root) */
bool ldif_dn_within(const char *ndn, const char *base);

/* ldif_write_record - R as LDIF text (its lead, then its source text when
 * it has one, else its values) appended to OUT */
void ldif_write_record(GString *out, const ldif_record *r);
/* ldif_write_file - the whole file */
char *ldif_write_file(const ldif_file *f, size_t *len_r);

#endif
