/*
 * autoreply.h - vacation and autoreply messages (mailDeliveryOption
 * autoreply)
 *
 * Where: address resolution gives a user with the autoreply option an
 * extra address on the autoreply channel ("@autoreply-daemon:ADDRESS",
 * the "*^!autoreply" delivery option: users only, only between the
 * vacation dates, never for the null sender).  When that copy is
 * delivered, the channel's module (channel_autoreply) hands it to
 * host->directory->autoreply, which is autoreply_handle below: it reads
 * the message's header, decides, composes the reply and enqueues it
 * through host->queue with the null envelope sender.  The copy itself is
 * then discarded; the mailbox copy is delivered apart.
 *
 * A reply is due when the user has the autoreply option and text, it is
 * between vacationStartDate and vacationEndDate, and none of these hold
 * (RFC 3834, and the classic rules):
 *   - the envelope sender is null, MAILER-DAEMON, postmaster, owner-...
 *     or ...-request;
 *   - the message is auto-submitted (Auto-Submitted other than "no"),
 *     bulk (Precedence bulk, junk or list), from a list (List-Id,
 *     List-Post, List-Unsubscribe), or asks for no auto-response
 *     (X-Auto-Response-Suppress);
 *   - none of the user's addresses is in To: or Cc:;
 *   - the sender is the user;
 *   - the sender already had a reply within mailAutoReplyTimeOut hours
 *     (else the domain's mailDomainAutoReplyTimeOut, else `[directory]
 *     autoreply_timeout`); 0 means every message (arstate.h).
 * The reply: From the user's mail address, To the envelope sender,
 * Subject mailAutoReplySubject ("$SUBJECT" becomes the original subject;
 * default "Re: <subject>"), body mailAutoReplyTextInternal for senders of
 * the user's own domain when set, else mailAutoReplyText; mode "echo"
 * attaches the original message.  Auto-Submitted: auto-replied,
 * In-Reply-To and References are set.
 */
#ifndef CURSUS_DIR_AUTOREPLY_H
#define CURSUS_DIR_AUTOREPLY_H

#include <stdbool.h>
#include <time.h>
#include <cursus/cursus.h>

typedef struct _GMimeMessage GMimeMessage;

/* What a decision needs to know. */
typedef struct autoreply_case {
  const cursus_entry *user;
  const char *user_domain;  /* the user's hosted domain name */
  const char *sender;       /* envelope sender */
  GMimeMessage *message;    /* the copy's content (header is enough) */
  time_t now;
} autoreply_case;

/* autoreply_init - GMime (once per process) */
void autoreply_init(void);
/* autoreply_parse - the message in DATA (LEN octets); NULL when it is
 * not a message */
GMimeMessage *autoreply_parse(const char *data, size_t len);
/* autoreply_decide - 1 a reply is due (state not yet consulted), 0 not
 * (*why_r static) */
int autoreply_decide(const autoreply_case *c, const char **why_r);
/* autoreply_in_dates - NOW is between USER's vacationStartDate and
 * vacationEndDate (either may be absent) */
bool autoreply_in_dates(const cursus_entry *user, time_t now);
/* autoreply_interval - seconds between replies to one sender */
unsigned autoreply_interval(const cursus_entry *user,
                            const cursus_entry *domain, unsigned dflt);
/* autoreply_compose - the reply as message text with CRLF line ends;
 * allocated, *len_r set */
char *autoreply_compose(const autoreply_case *c, size_t *len_r);
/* autoreply_handle - host->directory->autoreply (see the SDK) */
int autoreply_handle(cursus_module_ctx *ctx, const cursus_autoreply_msg *msg,
                     const char **error_r);

#endif
