/*
 * admit.c - senders and recipients through the rewrite rules, the
 * directory and the access tables
 *
 * Besides the tables the site writes, one rule is built in so that no
 * configuration makes an open relay by accident: a network submission
 * whose recipient leaves through the very channel it came in on (mail
 * from the Internet to the Internet, tcp_local to tcp_local) is refused
 * unless the client authenticated or an ORIG_SEND_ACCESS entry matched
 * (a site that relays for a backup domain says $Y there).  Channel
 * switching (switchchannel, saslswitchchannel) gives trusted clients
 * another source channel, which is how they relay.
 */
#include "build-config.h"
#include "admit.h"
#include "mapping/access.h"
#include "mta/mtacfg.h"
#include "mta/resolve.h"
#include "config/config.h"
#include "util/log.h"

#include <string.h>

void admit_reply_clear(admit_reply *r) {
  g_free(r->text);
  memset(r, 0, sizeof(*r));
}

void admit_target_free(void *p) {
  admit_target *t = p;
  if (t == NULL)
    return;
  g_free(t->address);
  g_free(t->channel);
  g_free(t->host);
  g_free(t->errors_to);
  g_free(t);
}

/* session_flags - the access tables' flag bits for the session letters
 * and a recipient's NOTIFY */
static unsigned session_flags(const admit_session *s, unsigned notify) {
  unsigned f = 0;
  const char *l = s->session_flags != NULL ? s->session_flags : "";
  if (strchr(l, 'A') || s->auth_user != NULL)
    f |= ACCESS_F_AUTH;
  if (strchr(l, 'E'))
    f |= ACCESS_F_ESMTP;
  if (strchr(l, 'L'))
    f |= ACCESS_F_LMTP;
  if (strchr(l, 'T'))
    f |= ACCESS_F_TLS;
  if (notify & CURSUS_NOTIFY_DELAY)
    f |= ACCESS_F_NOTIFY_DELAY;
  if (notify & CURSUS_NOTIFY_FAILURE)
    f |= ACCESS_F_NOTIFY_FAILURE;
  if (notify & CURSUS_NOTIFY_SUCCESS)
    f |= ACCESS_F_NOTIFY_SUCCESS;
  return f;
}

static void probe_init(access_probe *p, const admit_session *s,
                       const char *env_from, unsigned notify) {
  memset(p, 0, sizeof(*p));
  p->server_ip = s->server_ip;
  p->server_port = s->server_port;
  p->client_ip = s->client_ip;
  p->client_port = s->client_port;
  p->app_info = s->app_info;
  p->submit_type = "MAIL";
  p->source_channel = s->source_channel;
  p->env_from = env_from;
  p->auth_from = s->auth_user;
  p->session_flags = session_flags(s, notify);
}

/* refusal - fill R from a verdict that refused */
static void refusal(admit_reply *r, const access_verdict *v,
                    unsigned default_code, const char *default_status,
                    const char *default_text) {
  r->code = v->smtp_code > 0 ? (unsigned)v->smtp_code : default_code;
  r->text = g_strdup_printf("%s %s",
                            v->status != NULL ? v->status : default_status,
                            v->text != NULL && *v->text != '\0' ? v->text
                                                                : default_text);
  r->delay_ms = v->delay_ms;
}

/* lookup_failed - a table could not be consulted: defer */
static int lookup_failed(admit_reply *r, const char *what, char *error) {
  log_warning("%s: %s", what, error != NULL ? error : "lookup failed");
  g_free(error);
  r->code = 451;
  r->text = g_strdup("4.4.3 Temporary lookup failure, try again later");
  return CURSUS_TEMPFAIL;
}

int admit_sender(const admit_session *s, char **rewritten_r, admit_reply *r) {
  access_probe p;
  access_verdict v;
  char *error = NULL;
  char *sender = g_strdup(s->sender);
  probe_init(&p, s, sender, 0);
  access_verdict_init(&v);
  if (access_check(ACCESS_FROM, &p, &v, &error) != CURSUS_OK) {
    access_verdict_clear(&v);
    g_free(sender);
    return lookup_failed(r, "FROM_ACCESS", error);
  }
  r->delay_ms = v.delay_ms;
  if (v.action == ACCESS_REJECT) {
    refusal(r, &v, 550, "5.7.1", "Sender not allowed");
    access_verdict_clear(&v);
    g_free(sender);
    return r->code >= 500 ? CURSUS_PERMFAIL : CURSUS_TEMPFAIL;
  }
  r->hold = v.action == ACCESS_HOLD;
  r->discard = v.action == ACCESS_DISCARD;
  if (v.new_from != NULL) {
    g_free(sender);
    sender = g_strdup(v.new_from);
  }
  access_verdict_clear(&v);
  if (*sender == '\0') {
    *rewritten_r = sender;
    return CURSUS_OK;
  }
  resolve_params rp = {.source_channel = s->source_channel,
                       .sender = sender,
                       .auth_user = s->auth_user};
  int smtp_code = 0;
  int rc = resolve_sender(sender, &rp, rewritten_r, &smtp_code, &error);
  g_free(sender);
  if (rc != CURSUS_OK) {
    r->code = smtp_code > 0 ? (unsigned)smtp_code
              : rc == CURSUS_TEMPFAIL ? 451
                                      : 553;
    r->text = error != NULL ? error
                            : g_strdup(rc == CURSUS_TEMPFAIL
                                           ? "4.4.3 Sender cannot be checked now"
                                           : "5.1.7 Bad sender address");
    return rc == CURSUS_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

/* check_table - one recipient table; CURSUS_OK (allowed, flags applied
 * to *HOLD, *DISCARD, R->delay_ms), or a refusal */
static int check_table(access_table t, const access_probe *p, admit_reply *r,
                       bool *hold, bool *discard, bool *matched) {
  access_verdict v;
  char *error = NULL;
  access_verdict_init(&v);
  if (access_check(t, p, &v, &error) != CURSUS_OK) {
    access_verdict_clear(&v);
    return lookup_failed(r, access_table_name(t), error);
  }
  if (matched != NULL)
    *matched = v.matched;
  r->delay_ms = MAX(r->delay_ms, v.delay_ms);
  int rc = CURSUS_OK;
  if (v.action == ACCESS_REJECT) {
    refusal(r, &v, 550, "5.7.1", "Recipient not allowed");
    rc = r->code >= 500 ? CURSUS_PERMFAIL : CURSUS_TEMPFAIL;
  } else if (v.action == ACCESS_HOLD) {
    *hold = true;
  } else if (v.action == ACCESS_DISCARD) {
    *discard = true;
  }
  access_verdict_clear(&v);
  return rc;
}

int admit_recipient(const admit_session *s, const char *sender_rw,
                    const char *address, unsigned notify, const char *orcpt,
                    GPtrArray *targets, admit_reply *r) {
  const char *from = sender_rw != NULL ? sender_rw : s->sender;
  resolve_params rp = {.source_channel = s->source_channel,
                       .sender = from,
                       .auth_user = s->auth_user,
                       .flags = s->no_expand ? RESOLVE_NO_EXPAND : 0};
  resolve_result res;
  resolve_result_init(&res);
  int rc = resolve_recipient(address, &rp, &res);
  if (rc != CURSUS_OK) {
    r->code = res.smtp_code > 0 ? (unsigned)res.smtp_code
              : rc == CURSUS_TEMPFAIL ? 451
                                      : 550;
    r->text = res.error != NULL ? g_strdup(res.error)
                                : g_strdup(rc == CURSUS_TEMPFAIL
                                               ? "4.4.3 Temporary lookup failure"
                                               : "5.1.1 Unknown recipient");
    resolve_result_clear(&res);
    return rc == CURSUS_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_PERMFAIL;
  }
  access_probe p;
  probe_init(&p, s, from, notify);
  p.orcpt = orcpt;
  p.dest_channel = res.channel;
  p.env_to = res.rewritten != NULL ? res.rewritten : address;
  bool hold = false, discard = false, matched = false;
  rc = check_table(ACCESS_ORIG_SEND, &p, r, &hold, &discard, &matched);
  if (rc == CURSUS_OK)
    rc = check_table(ACCESS_ORIG_MAIL, &p, r, &hold, &discard, NULL);
  if (rc == CURSUS_OK && !matched && s->client_ip != NULL &&
      s->auth_user == NULL && res.channel != NULL &&
      g_strcmp0(res.channel, s->source_channel) == 0) {
    r->code = 550;
    r->text = g_strdup_printf("5.7.1 <%s>: Relaying not allowed", address);
    rc = CURSUS_PERMFAIL;
  }
  for (guint i = 0; rc == CURSUS_OK && i < res.entries->len; i++) {
    const resolve_entry *en = res.entries->pdata[i];
    bool h = hold, d = discard;
    p.dest_channel = en->channel;
    p.env_to = en->address;
    rc = check_table(ACCESS_SEND, &p, r, &h, &d, NULL);
    if (rc == CURSUS_OK)
      rc = check_table(ACCESS_MAIL, &p, r, &h, &d, NULL);
    if (rc != CURSUS_OK)
      break;
    admit_target *t = g_new0(admit_target, 1);
    t->address = g_strdup(en->address);
    t->channel = g_strdup(en->channel);
    t->host = g_strdup(en->host);
    t->errors_to = g_strdup(en->errors_to);
    t->hold = h;
    t->discard = d;
    g_ptr_array_add(targets, t);
  }
  if (rc == CURSUS_OK && res.entries->len == 0) {
    /* everything it expanded to failed: refuse rather than lose it */
    r->code = 550;
    r->text = g_strdup_printf("5.1.1 <%s>: no deliverable address", address);
    rc = CURSUS_PERMFAIL;
  }
  if (rc != CURSUS_OK)
    g_ptr_array_set_size(targets, 0);
  resolve_result_clear(&res);
  return rc;
}

/* switch_target - the channel the rewrite rules give ADDRESS taken as the
 * backward-pointing envelope address of a session on channel SRC (the
 * classic INTERNAL_IP rule "[]  $E$R${INTERNAL_IP,$L}...") */
static const cnf_channel *switch_target(const mtacfg *m, const cnf_channel *src,
                                        const char *address) {
  rewrite_params rp = {.flags = REWRITE_ENVELOPE | REWRITE_FROM, .source = src};
  rewrite_result rw;
  const cnf_channel *to = NULL;
  if (rewrite_address(&m->env, address, &rp, &rw) == CURSUS_OK)
    to = rw.channel;
  rewrite_result_clear(&rw);
  return to;
}

char *admit_switch_channel(const char *channel, const char *client_ip,
                           const char *client_host) {
  config *cfg = config_current_ref();
  const mtacfg *m = cfg != NULL ? mtacfg_of(cfg) : NULL;
  const cnf_channel *cur = m != NULL ? mtacfg_channel(m, channel) : NULL;
  char *out = NULL;
  if (cur != NULL &&
      cnf_channel_flag(cur, "switchchannel", "noswitchchannel", false)) {
    const char *names[2] = {client_ip, client_host};
    for (int i = 0; i < 2 && out == NULL; i++) {
      if (names[i] == NULL || *names[i] == '\0')
        continue;
      char *addr = i == 0 ? g_strdup_printf("postmaster@[%s]", names[i])
                          : g_strdup_printf("postmaster@%s", names[i]);
      const cnf_channel *to = switch_target(m, cur, addr);
      /* never to the local channel: no SMTP session comes from it */
      if (to != NULL && to != cur && to != mtacfg_local_channel(m) &&
          cnf_channel_flag(to, "allowswitchchannel", "noswitchchannel", true))
        out = g_strdup(to->name);
      g_free(addr);
    }
  }
  config_unref(&cfg);
  return out != NULL ? out : g_strdup(channel);
}
