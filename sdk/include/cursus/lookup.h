/*
 * cursus/lookup.h - address decisions, mapping tables and access checks
 * as a service of the host (host->lookup)
 *
 * Modules that need an address decision (the SMTP and LMTP servers at
 * MAIL and RCPT time, a channel that forwards) ask the host, so every part
 * of the server makes the same decision the rewrite rules, the mapping
 * tables, the aliases and the directory give.  host->lookup is set in
 * every process.
 *
 * Threads and blocking: every member may be called from any thread.  The
 * answers may need lookups in remote sources (LDAP directory, LDAP URLs of
 * rewrite rules, module functions), so a module on the event loop calls
 * resolve_recipient, resolve_sender and access_check through
 * host->run_blocking unless it accepts the wait.
 *
 * Memory: results are allocated by the host and released with the
 * matching *_free member; strings inside them live as long as the result.
 * Text appended to a cursus_buf is the caller's (free it with
 * host->buf_free).  An error string (*error_r) stays valid until the next
 * call from the same thread.
 *
 * Appeared in ABI 1.0.
 */
#ifndef CURSUS_LOOKUP_H
#define CURSUS_LOOKUP_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* parse_path flags. */
enum cursus_path_flags {
  CURSUS_PATH_NULL_OK = 1u << 0,     /* "<>" accepted (MAIL FROM) */
  CURSUS_PATH_POSTMASTER = 1u << 1,  /* "<postmaster>" accepted (RCPT TO) */
  CURSUS_PATH_UTF8 = 1u << 2,        /* SMTPUTF8 was given */
  CURSUS_PATH_NO_BRACKETS = 1u << 3, /* tolerate a path without < > */
};

/* resolve flags. */
enum cursus_resolve_flags {
  CURSUS_RESOLVE_REPROCESS = 1u << 0, /* the message is being reprocessed */
  CURSUS_RESOLVE_NO_EXPAND = 1u << 1, /* rewrite only: no alias/directory */
  CURSUS_RESOLVE_FROM = 1u << 2,      /* header address: backward-pointing */
  CURSUS_RESOLVE_NO_MAPPING = 1u << 3 /* skip FORWARD / REVERSE mappings */
};

/* What is known of the message.  Set `size` to sizeof(cursus_resolve_params)
 * so the host knows which members the module filled. */
typedef struct cursus_resolve_params {
  uint32_t size;
  const char *source_channel; /* channel the message comes from; NULL for
                                 the local channel */
  const char *sender;         /* envelope sender ("" for <>), or NULL */
  const char *auth_user;      /* authenticated submitter, or NULL */
  const char *destination_channel; /* header rewriting: the destination */
  uint32_t flags;             /* enum cursus_resolve_flags */
  const char *tag;            /* rewrite tag of the recipient (an access
                                 table's $T verdict), or NULL */
} cursus_resolve_params;

/* One copy to enqueue. */
typedef struct cursus_route {
  const char *address;   /* envelope recipient as queued */
  const char *channel;   /* destination channel */
  const char *host;      /* routing host */
  const char *errors_to; /* envelope sender for this copy, or NULL */
  const char *via;       /* address it was expanded from, or NULL */
} cursus_route;

/* The decision for one recipient. */
typedef struct cursus_resolution {
  uint32_t size;
  int status;            /* CURSUS_OK, CURSUS_TEMPFAIL, CURSUS_PERMFAIL */
  int smtp_code;         /* 250, 451, 550, 553 ... */
  const char *error;     /* "5.1.1 bob@example.com: no such user here", or
                            NULL when status is CURSUS_OK */
  const char *rewritten; /* the address after rewriting, before expansion */
  const char *channel;   /* its channel (ORIG_*_ACCESS dst-channel) */
  size_t n_routes;
  const cursus_route *routes;
  size_t n_notes;
  const char *const *notes; /* members that failed and were skipped */
} cursus_resolution;

/* Access tables (see the admin guide for probes and flags). */
enum cursus_access_table {
  CURSUS_ACCESS_PORT = 0,
  CURSUS_ACCESS_FROM = 1,
  CURSUS_ACCESS_ORIG_SEND = 2,
  CURSUS_ACCESS_SEND = 3,
  CURSUS_ACCESS_ORIG_MAIL = 4,
  CURSUS_ACCESS_MAIL = 5,
};

/* Session flags the tables can test with $:x / $;x. */
enum cursus_access_session {
  CURSUS_ACCESS_F_AUTH = 1u << 0,           /* A */
  CURSUS_ACCESS_F_ESMTP = 1u << 1,          /* E */
  CURSUS_ACCESS_F_LMTP = 1u << 2,           /* L */
  CURSUS_ACCESS_F_TLS = 1u << 3,            /* T */
  CURSUS_ACCESS_F_NOTIFY_DELAY = 1u << 4,   /* D */
  CURSUS_ACCESS_F_NOTIFY_FAILURE = 1u << 5, /* F */
  CURSUS_ACCESS_F_NOTIFY_SUCCESS = 1u << 6, /* S */
};

/* What a table is probed with; members a table does not use may be NULL.
 * Set `size` to sizeof(cursus_access_probe). */
typedef struct cursus_access_probe {
  uint32_t size;
  const char *server_ip;
  uint32_t server_port;
  const char *client_ip;
  uint32_t client_port;
  const char *app_info;       /* "ESMTP/helo-name", "SMTP/...", "LMTP/..." */
  const char *submit_type;    /* "MAIL" when NULL */
  const char *source_channel;
  const char *env_from;
  const char *auth_from;
  const char *dest_channel;
  const char *env_to;
  const char *orcpt;
  uint32_t session_flags;     /* enum cursus_access_session */
} cursus_access_probe;

/* Verdict actions. */
enum cursus_access_action {
  CURSUS_ACCESS_ALLOW = 0,
  CURSUS_ACCESS_REJECT = 1,  /* refuse with smtp_code, status and text */
  CURSUS_ACCESS_DISCARD = 2, /* accept, then discard */
  CURSUS_ACCESS_HOLD = 3,    /* accept and hold */
};

typedef struct cursus_access_verdict {
  uint32_t size;
  int action;              /* enum cursus_access_action */
  int matched;             /* an entry matched (else the table allowed) */
  int smtp_code;           /* when refused: 550, 554, 421 ... */
  const char *status;      /* enhanced status "5.7.1", or NULL */
  const char *text;        /* refusal text / $Y result text */
  uint32_t delay_ms;       /* wait before answering (tarpit) */
  const char *new_from;    /* $J: new envelope From, or NULL */
  const char *new_sender;  /* $K: new Sender:, or NULL */
  const char *tag;         /* $T: rewrite tag, or NULL */
  const char *add_header;  /* $A: header line to add, or NULL */
  const char *log_text;    /* text to log, or NULL */
  const char *need_user;   /* $I */
  const char *need_group;
  int debug;               /* $U */
  int no_vacation;         /* $! */
  const char *probe;       /* the probe string used */
} cursus_access_verdict;

typedef struct cursus_lookup_ops {
  uint32_t size;
  /* Applies mapping table TABLE of the MAPPINGS file to INPUT.  CURSUS_OK
   * with the output appended to OUT and *flags_r pointing at the flag
   * letters the entry set ("YD"; valid until the next call from this
   * thread); CURSUS_NONE when no entry matched (or no such table);
   * CURSUS_TEMPFAIL when a source it calls could not answer. */
  int (*mapping)(const char *table, const char *input, cursus_buf *out,
                 const char **flags_r, const char **error_r);
  /* Looks KEY up in the source named SPEC ("tcdb:/path", "ldap:") or, for
   * a SPEC without ':', in the database of that name ([databases]; "" is
   * the general database).  Same results. */
  int (*source_lookup)(const char *spec, const char *key, cursus_buf *out,
                       const char **error_r);

  /* Parses ARG, the text after "MAIL FROM:" or "RCPT TO:", as an RFC 5321
   * path.  CURSUS_OK with the address in canonical form appended to
   * ADDRESS ("" for <>) and *params_r pointing into ARG at the ESMTP
   * parameters ("" when none); CURSUS_PERMFAIL with *error_r (no status
   * code: the caller answers 501 5.1.7 for a sender, 501 5.1.3 for a
   * recipient). */
  int (*parse_path)(const char *arg, uint32_t flags, cursus_buf *address,
                    const char **params_r, const char **error_r);
  /* Resolves one envelope recipient: rewriting, FORWARD mapping, alias and
   * directory expansion.  Always returns the status and fills *result_r
   * (release it with resolution_free), except on a NULL argument. */
  int (*resolve_recipient)(const char *address,
                           const cursus_resolve_params *params,
                           cursus_resolution **result_r);
  void (*resolution_free)(cursus_resolution **result);
  /* Rewrites the envelope sender ADDRESS ("" for <>).  CURSUS_OK with the
   * rewritten address appended to OUT, or a failure with *error_r
   * ("5.1.7 ...") and *smtp_code_r. */
  int (*resolve_sender)(const char *address,
                        const cursus_resolve_params *params, cursus_buf *out,
                        int *smtp_code_r, const char **error_r);
  /* Rewrites the value of header field NAME (From:, To: ...): every
   * address of the list rewritten, the rest kept as it was.  CURSUS_OK
   * with the new value appended to OUT, CURSUS_PERMFAIL when the value is
   * no address list. */
  int (*rewrite_header)(const char *name, const char *value,
                        const cursus_resolve_params *params, cursus_buf *out,
                        const char **error_r);
  /* Probes access table TABLE.  CURSUS_OK with *verdict_r (release with
   * access_verdict_free), or CURSUS_TEMPFAIL with *error_r (answer 4xx). */
  int (*access_check)(int table, const cursus_access_probe *probe,
                      cursus_access_verdict **verdict_r,
                      const char **error_r);
  void (*access_verdict_free)(cursus_access_verdict **verdict);
  /* --- members added after ABI 1.0 go here --- */
} cursus_lookup_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_LOOKUP_H */
