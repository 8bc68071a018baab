/*
 * qfile.h - the queue file format: one message copy for one channel
 *
 * Offers the in-memory form of a queue file's envelope and state
 * (qenv), its text encoding, the parser (envelope plus the records
 * appended later) and the record encoders.  Pure code: no I/O, so the
 * parser can be fuzzed.  docs/queue-format.md is the specification:
 *
 *   preamble   64 bytes: "cursus-queue 1 C=<content bytes> E=<envelope
 *              bytes>", spaces, "\n"
 *   content    the message (header, blank line, body) as received, CRLF
 *   envelope   "key value" lines, one "rcpt" line per recipient, ending
 *              with "end <crc32>"
 *   records    appended later, one line each, "<record> ~<crc32>":
 *              per-recipient results, retries, hold/release, notices
 *
 * Needs GLib and zlib (crc32) only.
 */
#ifndef CURSUS_QFILE_H
#define CURSUS_QFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/channel.h>

/* Format version written; readers accept QFILE_VERSION only (a newer
 * major is refused by name), and ignore unknown envelope keys. */
#define QFILE_VERSION 1
#define QFILE_PREAMBLE 64
/* Largest envelope accepted by the reader (a bound for hostile files). */
#define QFILE_MAX_ENVELOPE (64u * 1024 * 1024)

/* Where a recipient stands. */
typedef enum qstate {
  QSTATE_PENDING = 0,  /* still to deliver (perhaps after failed tries) */
  QSTATE_DELIVERED,    /* delivered to its final destination           */
  QSTATE_RELAYED,      /* handed to a next hop that does not do DSN     */
  QSTATE_EXPANDED,     /* replaced by the addresses it expanded to      */
  QSTATE_FAILED,       /* failed for good: a failure notice is owed     */
} qstate;

/* Notices already sent for a recipient (so none is sent twice). */
enum qdsn {
  QDSN_DELAY = 1u << 0,
  QDSN_FAILURE = 1u << 1,
  QDSN_SUCCESS = 1u << 2,
};

typedef struct qrcpt {
  char *address;  /* active envelope address, after rewriting      */
  char *original; /* as the sender gave it                          */
  char *orcpt;    /* DSN ORCPT "type;address", or NULL               */
  char *host;     /* routing host chosen by the rewrite rules, or NULL */
  unsigned notify; /* enum cursus_notify bits                        */
  qstate state;
  char *code;     /* enhanced status of the last result, or NULL     */
  char *diag;     /* diagnostic text of the last result, or NULL     */
  char *remote;   /* remote MTA of the last result, or NULL          */
  int64_t when;   /* time of the last result (seconds), 0 = none     */
  unsigned results; /* result records read and written: a sequence that
                       tells a new result from an old one of the same
                       second (not stored)                             */
  unsigned dsn;   /* enum qdsn bits                                  */
} qrcpt;

typedef struct qenv {
  char *channel;  /* destination channel (the queue it sits in)      */
  char *source;   /* source channel                                  */
  char *sender;   /* envelope sender; "" = null sender               */
  char *envid;    /* DSN ENVID, or NULL                              */
  cursus_ret ret;
  cursus_body body;
  bool smtputf8;
  cursus_priority priority;
  int64_t arrival_us; /* arrival time, microseconds since the epoch */
  uint64_t size;      /* content bytes                              */
  uint32_t crc;       /* crc32 of the content                       */
  unsigned attempts;  /* delivery attempts so far                   */
  int64_t next_retry; /* seconds since the epoch; 0 = now           */
  bool held;
  unsigned notices;   /* delay notices sent so far                  */
  char *auth_user;    /* authenticated submitter, or NULL           */
  char *connection;   /* "TCP|lip|lport|rip|rport", or NULL          */
  char *helo;
  char *protocol;     /* "ESMTPSA" ..., or NULL                      */
  char *message_id;   /* the Message-ID: field, or NULL              */
  GPtrArray *rcpts;   /* of qrcpt*                                   */
  GPtrArray *extra;   /* unknown envelope lines (char*), kept as read */

  /* layout of the file read (set by the parser) */
  size_t envelope_len;
  size_t records_len; /* bytes of valid records after the envelope  */
  unsigned records;   /* how many                                   */
  size_t torn_len;    /* bytes after the last valid record (a torn
                         append), ignored                            */
} qenv;

qenv *qenv_new(void);
void qenv_free(qenv **env);
/* qenv_add_rcpt - append a pending recipient (strings copied) */
qrcpt *qenv_add_rcpt(qenv *env, const char *address, const char *original,
                     const char *orcpt, const char *host, unsigned notify);
/* qenv_pending - recipients still to deliver */
unsigned qenv_pending(const qenv *env);

/* qfile_preamble - the 64-byte preamble for the given part sizes */
void qfile_preamble(char out[QFILE_PREAMBLE], uint64_t content_len,
                    size_t envelope_len);
/* qfile_parse_preamble - read the sizes back; false with *error_r
 * (static) when BUF is not a preamble of this version */
bool qfile_parse_preamble(const char *buf, size_t len, uint64_t *content_r,
                          size_t *envelope_r, const char **error_r);

/* qenv_format - append the envelope text of ENV (with its "end" line) */
void qenv_format(const qenv *env, GString *out);

/* qenv_parse - parse the envelope (ENVELOPE_LEN bytes of DATA) and apply
 * the records that follow it (the rest of DATA).  A record that fails its
 * check ends the records (a torn append); a bad envelope is an error.
 * Returns the envelope, or NULL with *error_r (allocated). */
qenv *qenv_parse(const char *data, size_t len, size_t envelope_len,
                 char **error_r);

/* Records: each appends one complete line to OUT. */
void qrec_result(GString *out, unsigned index, qstate state, int64_t when,
                 const char *code, const char *text, const char *remote);
void qrec_retry(GString *out, unsigned attempts, int64_t next_retry);
void qrec_hold(GString *out, bool held);
void qrec_notice(GString *out, unsigned notices);
void qrec_dsn(GString *out, unsigned index, unsigned dsn_bits);

/* qstate_name / qstate_parse - "pending", "delivered", ... */
const char *qstate_name(qstate state);
bool qstate_parse(const char *name, qstate *state_r);
/* qnotify_letters - NOTIFY bits as "N", "SFD", "" (default) */
void qnotify_letters(unsigned notify, char out[5]);

/* qesc_append - append S in the file's escaped form (no white space) */
void qesc_append(GString *out, const char *s);
/* qesc_decode - the text a token stands for; NULL when malformed */
char *qesc_decode(const char *token, size_t len);

#endif
