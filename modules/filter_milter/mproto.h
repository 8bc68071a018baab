/*
 * mproto.h - the milter protocol (Sendmail 8.14+ mail filter protocol,
 * version 6): packet framing, commands, and the reader of replies
 *
 * A packet is a 32-bit length in network order (counting the code byte),
 * a one-byte code, and data.  This file builds the MTA's commands and
 * takes apart the filter's replies; it does no I/O, so the reply reader
 * can be fuzzed (tests/fuzz/fuzz_milter.c).
 */
#ifndef CURSUS_MPROTO_H
#define CURSUS_MPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* Commands (MTA to filter). */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

/* Replies (filter to MTA). */
#define SMFIR_ADDRCPT '+'
#define SMFIR_DELRCPT '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN '4'
#define SMFIR_ACCEPT 'a'
#define SMFIR_REPLBODY 'b'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_CHGFROM 'e'
#define SMFIR_CONN_FAIL 'f'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_PROGRESS 'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_SKIP 's'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'
#define SMFIR_OPTNEG 'O'

/* Actions a filter may take (negotiated). */
#define SMFIF_ADDHDRS 0x001u
#define SMFIF_CHGBODY 0x002u
#define SMFIF_ADDRCPT 0x004u
#define SMFIF_DELRCPT 0x008u
#define SMFIF_CHGHDRS 0x010u
#define SMFIF_QUARANTINE 0x020u
#define SMFIF_CHGFROM 0x040u
#define SMFIF_ADDRCPT_PAR 0x080u
#define SMFIF_SETSYMLIST 0x100u
#define SMFIF_ALL 0x1ffu

/* Protocol steps the filter does not want, or will not reply to. */
#define SMFIP_NOCONNECT 0x000001u
#define SMFIP_NOHELO 0x000002u
#define SMFIP_NOMAIL 0x000004u
#define SMFIP_NORCPT 0x000008u
#define SMFIP_NOBODY 0x000010u
#define SMFIP_NOHDRS 0x000020u
#define SMFIP_NOEOH 0x000040u
#define SMFIP_NR_HDR 0x000080u
#define SMFIP_NOUNKNOWN 0x000100u
#define SMFIP_NODATA 0x000200u
#define SMFIP_SKIP 0x000400u
#define SMFIP_RCPT_REJ 0x000800u
#define SMFIP_NR_CONN 0x001000u
#define SMFIP_NR_HELO 0x002000u
#define SMFIP_NR_MAIL 0x004000u
#define SMFIP_NR_RCPT 0x008000u
#define SMFIP_NR_DATA 0x010000u
#define SMFIP_NR_UNKN 0x020000u
#define SMFIP_NR_EOH 0x040000u
#define SMFIP_NR_BODY 0x080000u
#define SMFIP_HDR_LEADSPC 0x100000u
/* what this MTA can do for a version 6 filter */
#define MPROTO_V6_STEPS 0x1fffffu
#define MPROTO_V2_STEPS 0x00007fu

/* Body chunks sent to the filter (its smallest buffer). */
#define MPROTO_CHUNK 65535u
/* Largest reply accepted: a body chunk a filter sends back, or a header. */
#define MPROTO_MAX_REPLY (1024u * 1024)

/* Macro stages of SMFIR_SETSYMLIST. */
enum { MPROTO_M_CONNECT, MPROTO_M_HELO, MPROTO_M_ENVFROM, MPROTO_M_ENVRCPT,
       MPROTO_M_DATA, MPROTO_M_EOM, MPROTO_M_EOH, MPROTO_M_COUNT };

/* mproto_put - append packet CODE with DATA to OUT */
void mproto_put(GString *out, char code, const void *data, size_t len);
/* mproto_put_strings - packet CODE whose data is the NUL-terminated
 * strings of the NULL-terminated STRS, each with its NUL */
void mproto_put_strings(GString *out, char code, const char *const *strs);
/* mproto_put_macros - a SMFIC_MACRO packet for command CMD with the
 * NAME, VALUE pairs of MACROS (NULL-terminated), skipping NULL values and
 * names not in WANTED (a space-separated list; NULL = all) */
void mproto_put_macros(GString *out, char cmd, const char *const *macros,
                       const char *wanted);

/* One reply taken apart. */
typedef struct mreply {
  char code;
  /* by code: */
  uint32_t index;       /* INSHEADER, CHGHEADER                        */
  const char *name;     /* ADDHEADER, INSHEADER, CHGHEADER             */
  const char *value;    /* ... their value; ADDRCPT/DELRCPT/CHGFROM:   */
                        /* the address; QUARANTINE: the reason;        */
                        /* REPLYCODE: the reply line                   */
  const char *args;     /* ADDRCPT_PAR, CHGFROM: ESMTP arguments or NULL */
  const char *data;     /* REPLBODY: the chunk                         */
  size_t data_len;
  /* OPTNEG */
  uint32_t version, actions, steps;
  const char *symlists[MPROTO_M_COUNT]; /* macro names per stage, or NULL */
} mreply;

/* Results of mproto_read. */
enum { MPROTO_MORE = 0, MPROTO_OK = 1, MPROTO_BAD = -1 };

/*
 * mproto_read - take the first reply from BUF (LEN octets).  MPROTO_MORE
 * when it is not complete yet (*need_r: octets needed in total, when
 * known); MPROTO_OK with *used_r and R (pointing into SCRATCH, valid until
 * it changes); MPROTO_BAD with *error_r (static) for a malformed reply.
 */
int mproto_read(const char *buf, size_t len, size_t *used_r, size_t *need_r,
                mreply *r, GString *scratch, const char **error_r);

/* mproto_parse_reply - "550 5.7.1 text" of a REPLYCODE: the code (4xx or
 * 5xx), the enhanced status (or "") and the text; false when malformed */
bool mproto_parse_reply(const char *line, unsigned *code_r, char *status,
                        size_t status_size, const char **text_r);

/* mproto_parse_address - "inet:host:port", "inet:port@host",
 * "inet6:host:port", "unix:/path" or "local:/path" into its family
 * ('4', '6' or 'L'), host and port or path; false with *error_r */
bool mproto_parse_address(const char *spec, char *family_r, char **host_r,
                          unsigned *port_r, char **path_r,
                          const char **error_r);

#endif
