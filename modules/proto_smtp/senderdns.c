/*
 * senderdns.c - mailfromdnsverify: does the MAIL FROM domain exist in DNS?
 *
 * A domain passes when it has MX records, else an A, else an AAAA record
 * (the hosts mail to it would go to, RFC 5321 5.1).  It fails for good
 * (553 5.1.8) when DNS says it has none of them or does not exist, and
 * with a null MX (RFC 7505: 550 5.7.27, the domain sends no mail); a DNS
 * failure or timeout is temporary (451 4.1.8).  Queries go through the
 * host's event-loop resolver, so the session waits without holding a
 * thread.  Needs the host's dns_query (ABI members after 0.1).
 */
#include "smtp.h"

#include <string.h>

struct smtp_sender_check {
  smtp_session *s;
  char *domain;
  uint32_t step; /* the record type asked now: MX, then A, then AAAA */
  cursus_dns_query *q;
  smtp_sender_dns_cb *done;
  void (*free_data)(void *);
  void *data;
};

/* sdns_free - free a finished or cancelled check */
static void sdns_free(smtp_sender_check *v) {
  g_free(v->domain);
  g_free(v);
}

/* finish - the verdict: CODE 0 lets MAIL go on */
static void finish(smtp_sender_check *v, unsigned code, const char *text) {
  smtp_session *s = v->s;
  s->sender_dns = NULL;
  s->wait = WAIT_NONE;
  v->done(s, v->data, code, text);
  sdns_free(v);
}

/* null_mx - every MX record is the RFC 7505 "no mail" one */
static bool null_mx(const cursus_dns_result *r) {
  for (unsigned i = 0; i < r->count; i++)
    if (r->records[i][0] != '\0' && strcmp(r->records[i], ".") != 0)
      return false;
  return true;
}

static void ask(smtp_sender_check *v, uint32_t type);

/* answered - one step's answer: decide, or ask the next record type */
static void answered(void *data, const cursus_dns_result *r) {
  smtp_sender_check *v = data;
  v->q = NULL;
  if (r->status == CURSUS_TEMPFAIL) {
    smtp_host->log(smtp_ctx, CURSUS_LOG_NOTICE,
                   "mailfromdnsverify: no DNS answer for %s: %s", v->domain,
                   r->error != NULL ? r->error : "?");
    finish(v, 451, "4.1.8 Sender address domain cannot be verified now, "
                   "try again later");
    return;
  }
  if (r->status == CURSUS_OK) {
    if (v->step == CURSUS_DNS_MX && null_mx(r))
      finish(v, 550, "5.7.27 Sender address domain does not accept mail "
                     "(null MX)");
    else
      finish(v, 0, NULL);
    return;
  }
  if (v->step == CURSUS_DNS_MX)
    ask(v, CURSUS_DNS_A);
  else if (v->step == CURSUS_DNS_A)
    ask(v, CURSUS_DNS_AAAA);
  else
    finish(v, 553, "5.1.8 Sender address domain does not exist in DNS");
}

/* ask - query TYPE records of the domain */
static void ask(smtp_sender_check *v, uint32_t type) {
  const char *err = NULL;
  v->step = type;
  v->q = smtp_host->dns_query(v->domain, type, answered, v, &err);
  if (v->q == NULL) {
    smtp_host->log(smtp_ctx, CURSUS_LOG_ERROR,
                   "mailfromdnsverify: cannot ask DNS about %s: %s",
                   v->domain, err != NULL ? err : "?");
    finish(v, 451, "4.1.8 Sender address domain cannot be verified now, "
                   "try again later");
  }
}

bool smtp_sender_dns(smtp_session *s, const char *sender,
                     smtp_sender_dns_cb *done, void (*free_data)(void *),
                     void *data) {
  const char *at = sender != NULL ? strrchr(sender, '@') : NULL;
  if (at == NULL || at[1] == '\0' || at[1] == '[' ||
      !CURSUS_HAS(smtp_host, dns_query) || smtp_host->dns_query == NULL)
    return false;
  /* SMTPUTF8 domains are asked in their A-label form */
  char *domain = g_hostname_to_ascii(at + 1);
  if (domain == NULL)
    return false; /* the address parser already judged its syntax */
  smtp_sender_check *v = g_new0(smtp_sender_check, 1);
  v->s = s;
  v->domain = domain;
  v->done = done;
  v->free_data = free_data;
  v->data = data;
  s->sender_dns = v;
  s->wait = WAIT_DNS;
  smtp_host->conn->suspend(s->conn);
  /* the step's reply may come at once (no resolver): the session is
   * waiting already, and finish() resumes it through DONE */
  ask(v, CURSUS_DNS_MX);
  return true;
}

void smtp_sender_dns_cancel(smtp_session *s) {
  smtp_sender_check *v = s->sender_dns;
  if (v == NULL)
    return;
  s->sender_dns = NULL;
  smtp_host->dns_cancel(&v->q);
  if (v->free_data != NULL)
    v->free_data(v->data);
  sdns_free(v);
}
