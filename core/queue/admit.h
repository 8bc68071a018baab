/*
 * admit.h - what an enqueue asks about its sender and each recipient
 *
 * The one place where the queue meets the rewrite rules, the directory
 * (through core/mta/resolve.h) and the access tables
 * (core/mapping/access.h): the sender is checked with FROM_ACCESS and
 * rewritten; a recipient is resolved to its queue entries (rewriting,
 * alias and directory expansion) and checked with ORIG_SEND_ACCESS and
 * ORIG_MAIL_ACCESS (the rewritten address) and SEND_ACCESS and
 * MAIL_ACCESS (each address it expanded to).  Refusals come back as
 * SMTP replies.  May block on lookups; safe from any thread.
 */
#ifndef CURSUS_ADMIT_H
#define CURSUS_ADMIT_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/common.h>

/* The facts about a submission the checks depend on. */
typedef struct admit_session {
  const char *source_channel;
  const char *sender;       /* as given; "" = null sender */
  const char *auth_user;    /* or NULL */
  const char *auth_sender;  /* AUTH= of MAIL FROM, or NULL */
  const char *server_ip;    /* NULL for a local submission */
  unsigned server_port;
  const char *client_ip;
  unsigned client_port;
  const char *app_info;     /* "ESMTP/helo-name" ... or NULL */
  const char *session_flags; /* letters: E EHLO, L LMTP, T TLS, A AUTH */
  bool no_expand; /* rewrite only: expansion is deferred (expandlimit) */
} admit_session;

/* A refusal or a note to pass on. */
typedef struct admit_reply {
  unsigned code;     /* SMTP reply code */
  char *text;        /* "5.7.1 text" (allocated) */
  unsigned delay_ms; /* $D of an access table */
  bool hold;         /* FROM_ACCESS $H: hold the whole message */
  bool discard;      /* FROM_ACCESS $B: accept and discard it */
} admit_reply;

/* One queue entry a recipient resolved to. */
typedef struct admit_target {
  char *address;
  char *channel;
  char *host;
  char *errors_to; /* envelope sender for its copy, or NULL */
  bool hold;       /* an access table said $H */
  bool discard;    /* an access table said $B */
} admit_target;

void admit_reply_clear(admit_reply *r);
void admit_target_free(void *target);

/* admit_sender - check and rewrite the sender; CURSUS_OK with
 * *rewritten_r (allocated), else TEMPFAIL/PERMFAIL with R filled */
int admit_sender(const admit_session *s, char **rewritten_r, admit_reply *r);
/* admit_switch_channel - the source channel `switchchannel` gives a
 * client at CLIENT_IP (CLIENT_HOST: its name, or NULL) on a service of
 * CHANNEL; allocated */
char *admit_switch_channel(const char *channel, const char *client_ip,
                           const char *client_host);
/* admit_recipient - resolve and check ADDRESS; CURSUS_OK with the entries
 * appended to TARGETS (admit_target*), else TEMPFAIL/PERMFAIL with R
 * filled.  R->delay_ms may be set on success too. */
int admit_recipient(const admit_session *s, const char *sender_rewritten,
                    const char *address, unsigned notify, const char *orcpt,
                    GPtrArray *targets, admit_reply *r);

#endif
