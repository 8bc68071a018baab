/*
 * smtp_parse.h - SMTP and LMTP command lines, paths and ESMTP parameters
 *
 * Pure code (no I/O, no host calls) so it can be fuzzed
 * (tests/fuzz/fuzz_smtpcmd.c): the verb of a command line, the parameters
 * of MAIL FROM and RCPT TO of RFC 1870 (SIZE), 1652/3030 (BODY), 3461
 * (RET, ENVID, NOTIFY, ORCPT), 4954 (AUTH) and 6531 (SMTPUTF8), xtext,
 * and BDAT's arguments.  The path itself is parsed by the host
 * (host->lookup->parse_path), the same parser the rewrite rules use.  A refusal is an smtp_err: the reply code, the
 * enhanced status code and a short text, all static.
 */
#ifndef CURSUS_SMTP_PARSE_H
#define CURSUS_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1 */
#define SMTP_PATH_MAX 256
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
/* RFC 3461: ENVID at most 100 characters, ORCPT at most 500 */
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500

typedef enum smtp_verb {
  SMTP_UNKNOWN = 0,
  SMTP_HELO,
  SMTP_EHLO,
  SMTP_LHLO,
  SMTP_MAIL,
  SMTP_RCPT,
  SMTP_DATA,
  SMTP_BDAT,
  SMTP_RSET,
  SMTP_NOOP,
  SMTP_QUIT,
  SMTP_VRFY,
  SMTP_EXPN,
  SMTP_HELP,
  SMTP_STARTTLS,
  SMTP_AUTH,
  SMTP_ETRN,
  SMTP_OBSOLETE, /* SEND, SOML, SAML, TURN: recognised, never served */
} smtp_verb;

typedef struct smtp_err {
  unsigned code;
  const char *text; /* "5.5.4 ..." */
} smtp_err;

typedef struct smtp_cmd {
  smtp_verb verb;
  const char *name; /* the verb as recognised ("MAIL"), or NULL */
  const char *arg;  /* after the verb and one space; "" when none */
  size_t arg_len;
} smtp_cmd;

/* smtp_parse_command - the verb and argument of LINE (no line end).
 * False with *err for a line no command can be (NUL, control bytes). */
bool smtp_parse_command(const char *line, size_t len, smtp_cmd *cmd,
                        smtp_err *err);

/* What MAIL FROM carries. */
typedef struct smtp_mail {
  char *path;        /* without brackets and source route; "" = <> */
  uint64_t size;     /* SIZE=, 0 when absent */
  bool has_size;
  int body;          /* 0 7BIT/absent, 1 8BITMIME, 2 BINARYMIME */
  int ret;           /* 0 absent, 1 FULL, 2 HDRS */
  char *envid;       /* decoded, or NULL */
  char *auth;        /* AUTH= decoded ("<>" kept), or NULL */
  bool smtputf8;
} smtp_mail;

/* What RCPT TO carries. */
typedef struct smtp_rcpt {
  char *path;        /* without brackets and route; "postmaster" allowed */
  unsigned notify;   /* enum cursus_notify bits; 0 = absent */
  char *orcpt;       /* "type;decoded address", or NULL */
} smtp_rcpt;

/* Parser options. */
enum smtp_parse_flags {
  SMTP_P_ESMTP = 1u << 0,    /* EHLO/LHLO was used: parameters allowed */
  SMTP_P_LENIENT = 1u << 2,  /* accept a path without angle brackets and
                                a space after the colon */
};

/* smtp_path_arg - the path and parameters after PREFIX ("FROM:" or
 * "TO:") of ARG; a space after the colon only in LENIENT mode */
bool smtp_path_arg(const char *arg, size_t len, const char *prefix,
                   unsigned flags, const char **rest_r, smtp_err *err);
/* smtp_parse_mail_params - the ESMTP parameters of MAIL (after the path);
 * OUT->path is left to the caller.  False with *err; free OUT with
 * smtp_mail_clear either way. */
bool smtp_parse_mail_params(const char *params, size_t len, unsigned flags,
                            smtp_mail *out, smtp_err *err);
void smtp_mail_clear(smtp_mail *m);
/* smtp_parse_rcpt_params - the same for RCPT */
bool smtp_parse_rcpt_params(const char *params, size_t len, unsigned flags,
                            smtp_rcpt *out, smtp_err *err);
void smtp_rcpt_clear(smtp_rcpt *r);
/* smtp_parse_bdat - "SIZE [LAST]"; *SIZE_OK_R says whether the size
 * could be read even when the rest could not */
bool smtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r,
                     bool *last_r, bool *size_ok_r, smtp_err *err);
/* smtp_check_domain - an EHLO/HELO argument: a domain or an address
 * literal (UTF-8 labels allowed with UTF8) */
bool smtp_check_helo(const char *arg, size_t len, smtp_err *err);

/* smtp_xtext_decode - RFC 3461 xtext; NULL when malformed */
char *smtp_xtext_decode(const char *s, size_t len);
/* smtp_xtext_encode - the xtext form of S; newly allocated */
char *smtp_xtext_encode(const char *s);

#endif
