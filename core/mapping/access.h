/*
 * access.h - the access-control mapping tables
 *
 * PORT_ACCESS, FROM_ACCESS, ORIG_SEND_ACCESS, SEND_ACCESS,
 * ORIG_MAIL_ACCESS and MAIL_ACCESS of the MAPPINGS file decide whether a
 * connection, a sender or a recipient is accepted.  Each is probed with
 * the string the classic system builds (fields joined by '|'):
 *
 *   PORT_ACCESS       TCP|server-ip|server-port|client-ip|client-port
 *   FROM_ACCESS       port-probe|app-info|submit-type|src-channel|
 *                     env-from|auth-from
 *   ORIG_SEND_ACCESS  src-channel|env-from|dst-channel|orig-env-to
 *   SEND_ACCESS       src-channel|env-from|dst-channel|env-to
 *   ORIG_MAIL_ACCESS  port-probe|app-info|submit-type|src-channel|
 *                     env-from|dst-channel|orig-env-to
 *   MAIL_ACCESS       port-probe|app-info|submit-type|src-channel|
 *                     env-from|dst-channel|env-to
 *
 * ("ORIG_" tables see the recipient after rewriting and before alias
 * expansion, the others each address it expanded to.)  A table that is
 * not defined, or whose entries do not match, allows.  The entry's flags
 * give the verdict: $Y allow, $N or $F refuse (the text after the flag
 * arguments is the reply text, optionally starting with a reply code and
 * an enhanced status code: "421 4.7.0 Too busy"), $B accept and discard
 * (bitbucket), $H accept and hold.  Flags taking an argument read them,
 * in this order, from the '|'-separated fields of the output before the
 * text: $U debug level, $J new envelope From, $K new Sender:, $I user|group
 * (two fields), $< text logged on match, $> text logged on refusal,
 * $D delay in hundredths of a second, $T rewrite tag, $A header line to
 * add, $X enhanced status code.  $! (FROM_ACCESS) turns vacation replies
 * off for the message.  The session's own flags can be tested by an entry
 * with $:x (only if set) and $;x (only if clear): A authenticated (SASL),
 * E EHLO used, L LMTP, T TLS in use, D/F/S NOTIFY=DELAY/FAILURE/SUCCESS
 * requested for this recipient.
 *
 * Safe to call from several threads; may block on mapping sources that
 * tables call out to (LDAP, functions).
 */
#ifndef CURSUS_ACCESS_H
#define CURSUS_ACCESS_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/common.h>

typedef enum access_table {
  ACCESS_PORT = 0,
  ACCESS_FROM,
  ACCESS_ORIG_SEND,
  ACCESS_SEND,
  ACCESS_ORIG_MAIL,
  ACCESS_MAIL,
  ACCESS_N_TABLES
} access_table;

/* Session flags for $:x / $;x tests. */
enum access_session_flags {
  ACCESS_F_AUTH = 1u << 0,       /* A: SASL authentication succeeded */
  ACCESS_F_ESMTP = 1u << 1,      /* E: EHLO (not HELO) */
  ACCESS_F_LMTP = 1u << 2,       /* L: LMTP session */
  ACCESS_F_TLS = 1u << 3,        /* T: TLS in use */
  ACCESS_F_NOTIFY_DELAY = 1u << 4,   /* D */
  ACCESS_F_NOTIFY_FAILURE = 1u << 5, /* F */
  ACCESS_F_NOTIFY_SUCCESS = 1u << 6, /* S */
};

/* What is known when a table is probed; fields a table does not use may
 * be NULL (an empty field is probed for NULL). */
typedef struct access_probe {
  const char *server_ip;
  unsigned server_port;
  const char *client_ip;
  unsigned client_port;
  const char *app_info;       /* "SMTP/helo-name", "ESMTP/helo-name",
                                 "LMTP/..." */
  const char *submit_type;    /* "MAIL" (default), "SEND", "SAML", "SOML" */
  const char *source_channel;
  const char *env_from;       /* envelope sender ("" for <>) */
  const char *auth_from;      /* authenticated sender, or NULL */
  const char *dest_channel;
  const char *env_to;         /* recipient (orig or expanded per table) */
  const char *orcpt;          /* DSN ORCPT, appended when [mta]
                                 access_orcpt is on */
  unsigned session_flags;     /* enum access_session_flags */
} access_probe;

typedef enum access_action {
  ACCESS_ALLOW = 0,   /* no entry matched, or $Y */
  ACCESS_REJECT = 1,  /* $N / $F */
  ACCESS_DISCARD = 2, /* $B: accept and discard */
  ACCESS_HOLD = 3,    /* $H: accept and hold */
} access_action;

typedef struct access_verdict {
  access_action action;
  bool matched;          /* an entry matched (else the table allowed) */
  int smtp_code;         /* reply code to send when refused (550, 421...) */
  char *status;          /* enhanced status code ("5.7.1"), or NULL */
  char *text;            /* refusal text, or the $Y result text (e.g. the
                            PORT_ACCESS "INTERNAL"/"EXTERNAL" result) */
  unsigned delay_ms;     /* $D: wait this long before replying */
  char *new_from;        /* $J: replace the envelope From */
  char *new_sender;      /* $K: replace Sender: */
  char *tag;             /* $T: rewrite tag for this recipient */
  char *add_header;      /* $A: header line to add */
  char *log_text;        /* $< (always) or $> (when refused) text */
  char *need_user, *need_group; /* $I */
  int debug;             /* $U */
  bool no_vacation;      /* $! */
  char *probe;           /* the probe string used (for logs and tests) */
} access_verdict;

void access_verdict_init(access_verdict *v);
void access_verdict_clear(access_verdict *v);

/* access_table_name - "PORT_ACCESS" ... */
const char *access_table_name(access_table t);
/* access_probe_string - the probe string TABLE is given for P; allocated */
char *access_probe_string(access_table t, const access_probe *p);
/* access_check - probe TABLE.  CURSUS_OK with *v filled (v->action says
 * allow or not), or CURSUS_TEMPFAIL with *error_r when a source the table
 * calls out to could not answer (the caller defers: 4xx). */
int access_check(access_table t, const access_probe *p, access_verdict *v,
                 char **error_r);
/* access_check_string - the same with a ready probe string */
int access_check_string(access_table t, const char *probe,
                        unsigned session_flags, access_verdict *v,
                        char **error_r);

#endif
