/*
 * msglog.h - the message log (mail.log): one line per message event
 *
 * Every process that enqueues, delivers, defers, returns or refuses mail
 * writes here, for channels with the `logging` keyword.  One line per
 * event and recipient, appended with a single write so lines of several
 * processes never mix:
 *
 *   DATE TIME SOURCE DEST CODE SIZE FROM ORCPT TO FILE MSGID CONN USER DIAG
 *
 *   28-Nov-2026 19:54:13.72 tcp_local ims-ms EE 11 joe@example.org
 *   rfc822;bob@example.com bob@example.com 0LQ8K2P3A1B4C00001.01
 *   <123@example.org> TCP|127.0.0.1|2525|127.0.0.1|40112 - -
 *
 * CODE is the event letter (E enqueued, J rejected at enqueue, D
 * delivered, Q deferred, R returned/failed, B bad command, K returned on
 * request, W delay notice) followed by modifiers (E ESMTP, L LMTP, C
 * CHUNKING, S TLS, A SASL).  SIZE is in blocks ([mta] block_size).  A
 * field that is empty shows "-" (the null sender shows "<>"); white space
 * and control characters inside a field are %-escaped, except in DIAG,
 * the free text at the end.  docs/mta-inbound.md describes the fields.
 */
#ifndef CURSUS_MSGLOG_H
#define CURSUS_MSGLOG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct msglog_entry {
  char code;             /* 'E', 'J', 'D', 'Q', 'R', 'B', 'K', 'W' */
  const char *modifiers; /* "E", "ES", "LA" ..., or NULL */
  const char *source;    /* source channel */
  const char *dest;      /* destination channel, or NULL */
  uint64_t size;         /* bytes */
  const char *from;      /* envelope sender ("" = null sender) */
  const char *orcpt;     /* original recipient, or NULL */
  const char *to;        /* active recipient, or NULL */
  const char *file;      /* queue file name, or NULL */
  const char *message_id;
  const char *connection; /* "TCP|lip|lport|rip|rport", or NULL */
  const char *user;       /* authenticated user, or NULL */
  const char *diag;       /* diagnostic text, or NULL */
} msglog_entry;

/* msglog_open - log to PATH with sizes in BLOCK_SIZE-byte blocks;
 * false with *error_r (allocated) when it cannot be opened */
bool msglog_open(const char *path, unsigned block_size, char **error_r);
/* msglog_reopen - reopen the same path (after rotation) */
void msglog_reopen(void);
void msglog_close(void);
/* msglog_write - one line; dropped (with a warning once) when the log is
 * not open or not writable */
void msglog_write(const msglog_entry *entry);
/* msglog_format - the line for ENTRY at time NOW_US (microseconds since
 * the epoch), with its line end; newly allocated */
char *msglog_format(const msglog_entry *entry, int64_t now_us,
                    unsigned block_size);

#endif
