/*
 * smtp.h - the SMTP and LMTP server module: what its files share
 *
 * One module serves the protocols "smtp" (SMTP, submission, SMTPS) and
 * "lmtp".  A session is event-driven on the worker's loop: commands that
 * need lookups (MAIL, RCPT, AUTH, VRFY, the channel switch at connect)
 * run on a host thread with the connection suspended; the commit at the
 * end of DATA/BDAT goes to the host's group commit, and the reply waits
 * for it.  Files: smtp.c (module, sessions, replies, limits), cmd.c (the
 * commands), data.c (DATA, BDAT, Received:), auth.c (AUTH),
 * smtp_parse.c (the parser).
 */
#ifndef CURSUS_PROTO_SMTP_H
#define CURSUS_PROTO_SMTP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <cursus/cursus.h>
#include "dotscan.h"
#include "smtp_parse.h"

extern const cursus_host *smtp_host;
extern cursus_module_ctx *smtp_ctx;

/* Module settings ([module proto_smtp]), read at init. */
typedef struct smtp_settings {
  const char *banner;
  unsigned timeout_ms;         /* waiting for a command */
  unsigned data_timeout_ms;    /* waiting for message data */
  unsigned session_timeout_ms; /* a whole session */
  size_t max_line;             /* command line */
  unsigned max_recipients;     /* per message */
  unsigned max_errors;         /* bad commands before disconnect */
  unsigned max_idle_commands;  /* commands carrying no mail, per message */
} smtp_settings;
extern smtp_settings smtp_cfg;

enum { POLICY_NO = 0, POLICY_MAY = 1, POLICY_MUST = 2 };
enum { VRFY_OFF, VRFY_HIDE, VRFY_ALLOW };
enum { ETRN_ALLOW, ETRN_BLOCK, ETRN_OFF, ETRN_DOMAIN, ETRN_SILENT };
enum { IDENT_NUMERIC, IDENT_NONE, IDENT_LIMITED, IDENT_SYMBOLIC };

/* What the source channel's keywords say about a session. */
typedef struct smtp_policy {
  /* the queue's address lookups never wait (host->queue->enqueue_waits):
   * MAIL and RCPT are resolved on the loop */
  bool lookups_inline;
  int sasl, tls;
  bool chunking;
  bool msexchange;
  int vrfy, etrn, longlines, ident;
  bool bare_lf_ok;  /* smtp_lf / smtp_crorlf: bare LF taken as CRLF */
  bool receivedfor, receivedfrom;
  bool mailfromdnsverify; /* the MAIL FROM domain must exist in DNS */
  unsigned bad_command_limit, bad_auth_limit, reject_limit;
  unsigned transaction_limit, recipient_limit;
  uint64_t size_limit; /* 0 = none */
} smtp_policy;

/* What the session waits for. */
typedef enum smtp_wait {
  WAIT_NONE = 0,
  WAIT_LOOKUP, /* a host thread works for the current command */
  WAIT_DELAY,  /* a tarpit delay before the reply */
  WAIT_COMMIT, /* the message is on its way to disk */
  WAIT_DNS,    /* mailfromdnsverify asks DNS about the sender's domain */
} smtp_wait;

typedef enum smtp_mode {
  MODE_COMMAND = 0,
  MODE_DATA,      /* DATA: dot-stuffed text up to CRLF.CRLF */
  MODE_BDAT,      /* BDAT: a counted chunk */
  MODE_AUTH,      /* AUTH: waiting for a SASL response line */
} smtp_mode;

typedef struct smtp_sender_check smtp_sender_check;

typedef struct smtp_session {
  cursus_conn *conn;
  const cursus_conn_info *info;
  bool lmtp;
  bool gone; /* the connection closed while something was pending */
  bool shutting_down; /* the worker retires: close once no transaction */
  smtp_wait wait;
  smtp_mode mode;
  char *helo;
  bool esmtp;
  char *client_name; /* reverse DNS name, or NULL */
  char *channel;     /* the source channel */
  smtp_policy pol;
  char *auth_user;
  cursus_sasl *sasl;
  char *sasl_mech;
  char *auth_pending; /* authenticated, waiting for the client's last word */
  /* counters */
  unsigned errors, bad_auths, rejects, transactions, rcpts_total;
  unsigned idle_commands;
  /* the transaction */
  cursus_enqueue *enq;
  bool mail_utf8;
  bool mail_binary;
  unsigned rcpt_accepted;
  unsigned rcpt_seen;
  char *first_rcpt; /* for Received: "for" */
  bool bdat_seen;   /* BDAT used in this transaction */
  bool data_failed; /* a content error: the rest is read and dropped */
  char *data_error; /* its reply */
  uint64_t bdat_chunk;
  uint64_t bdat_left;
  bool bdat_last;
  char *bdat_refusal; /* a reply for a chunk read only to be dropped */
  /* DATA scanner */
  dotscan scan;
  /* a reply held back by a tarpit delay */
  char *delayed_reply;
  smtp_sender_check *sender_dns; /* a mailfromdnsverify check in flight */
  cursus_timer *delay_timer;
  cursus_timer *session_timer;
  uint64_t started_ms;
} smtp_session;

/* smtp.c */
void smtp_reply(smtp_session *s, unsigned code, const char *fmt, ...)
    CURSUS_PRINTF(3, 4);
/* smtp_reply_delayed - send "CODE TEXT" after DELAY_MS (input suspended
 * meanwhile), or now when DELAY_MS is 0 */
void smtp_reply_delayed(smtp_session *s, unsigned code, const char *text,
                        unsigned delay_ms);
/* smtp_error - a refused command: reply, count, disconnect past the limit */
void smtp_error(smtp_session *s, unsigned code, const char *text);
/* smtp_close - "421 4.x.x TEXT" and close */
void smtp_close(smtp_session *s, const char *text);
/* smtp_run - run WORK(DATA) on a host thread, then DONE(DATA) with input
 * suspended in between; false when the thread pool refused */
bool smtp_run(smtp_session *s, void (*work)(void *), void (*done)(void *),
              void *data);
/* smtp_lookup - WORK(DATA), then DONE(DATA), for the queue's address
 * lookups: at once when they never wait (pol.lookups_inline), else as
 * smtp_run does; false when the thread pool refused */
bool smtp_lookup(smtp_session *s, void (*work)(void *), void (*done)(void *),
                 void *data);
/* smtp_resume - the command finished: take input again */
void smtp_resume(smtp_session *s);
/* smtp_set_channel - make NAME the source channel and read its policy */
void smtp_set_channel(smtp_session *s, const char *name);
/* smtp_reset - end the transaction (RSET, after a message) */
void smtp_reset(smtp_session *s);
/* smtp_free - free a session (when nothing is pending any more) */
void smtp_free(smtp_session *s);
/* smtp_session_flags - access-table letters for the session */
void smtp_session_flags(const smtp_session *s, char out[8]);

/* cmd.c */
void smtp_command(smtp_session *s, const char *line, size_t len,
                  unsigned flags);
void smtp_greet(smtp_session *s);

/* data.c */
void smtp_data_start(smtp_session *s);
void smtp_bdat_start(smtp_session *s, uint64_t size, bool last);
/* smtp_bdat_refuse - read and drop a chunk of SIZE, then reply CODE TEXT */
void smtp_bdat_refuse(smtp_session *s, uint64_t size, unsigned code,
                      const char *text);
size_t smtp_data_bytes(smtp_session *s, const char *data, size_t len);

/* auth.c */
void smtp_auth_start(smtp_session *s, const char *arg, size_t len);
void smtp_auth_line(smtp_session *s, const char *line, size_t len);
bool smtp_auth_offered(const smtp_session *s);
void smtp_auth_mechanisms(const smtp_session *s, cursus_buf *out);

/* senderdns.c */
/* Called with the verdict: CODE 0 = the domain exists, go on; else the
 * reply CODE TEXT refuses MAIL.  The session is resumed by the callee. */
typedef void smtp_sender_dns_cb(smtp_session *s, void *data, unsigned code,
                                const char *text);
/* smtp_sender_dns - check SENDER's domain in DNS (mailfromdnsverify) with
 * input suspended; DONE(DATA) runs later.  false when there is nothing to
 * check (no domain, a domain literal, no DNS service): DONE never runs */
bool smtp_sender_dns(smtp_session *s, const char *sender,
                     smtp_sender_dns_cb *done, void (*free_data)(void *),
                     void *data);
/* smtp_sender_dns_cancel - the session ends: forget the check, free DATA */
void smtp_sender_dns_cancel(smtp_session *s);

#endif
