/*
 * access.c - probe the access-control tables (see access.h)
 */
#include "build-config.h"
#include "access.h"
#include "mta/mtacfg.h"

#include <stdlib.h>
#include <string.h>

static const char *const table_names[ACCESS_N_TABLES] = {
    "PORT_ACCESS",      "FROM_ACCESS",     "ORIG_SEND_ACCESS",
    "SEND_ACCESS",      "ORIG_MAIL_ACCESS", "MAIL_ACCESS"};

const char *access_table_name(access_table t) {
  return (unsigned)t < ACCESS_N_TABLES ? table_names[t] : "?";
}

void access_verdict_init(access_verdict *v) { memset(v, 0, sizeof(*v)); }

void access_verdict_clear(access_verdict *v) {
  g_free(v->status);
  g_free(v->text);
  g_free(v->new_from);
  g_free(v->new_sender);
  g_free(v->tag);
  g_free(v->add_header);
  g_free(v->log_text);
  g_free(v->need_user);
  g_free(v->need_group);
  g_free(v->probe);
  memset(v, 0, sizeof(*v));
}

static const char *s(const char *v) { return v != NULL ? v : ""; }

char *access_probe_string(access_table t, const access_probe *p) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  bool orcpt = m != NULL && m->access_orcpt && p->orcpt != NULL;
  config_unref(&cfg);
  char *port = g_strdup_printf("TCP|%s|%u|%s|%u", s(p->server_ip),
                               p->server_port, s(p->client_ip),
                               p->client_port);
  const char *submit = p->submit_type != NULL ? p->submit_type : "MAIL";
  char *probe = NULL;
  switch (t) {
  case ACCESS_PORT:
    probe = g_strdup(port);
    break;
  case ACCESS_FROM:
    probe = g_strdup_printf("%s|%s|%s|%s|%s|%s", port, s(p->app_info), submit,
                            s(p->source_channel), s(p->env_from),
                            s(p->auth_from));
    break;
  case ACCESS_ORIG_SEND:
  case ACCESS_SEND:
    probe = g_strdup_printf("%s|%s|%s|%s%s%s", s(p->source_channel),
                            s(p->env_from), s(p->dest_channel), s(p->env_to),
                            orcpt ? "|" : "", orcpt ? p->orcpt : "");
    break;
  case ACCESS_ORIG_MAIL:
  case ACCESS_MAIL:
    probe = g_strdup_printf("%s|%s|%s|%s|%s|%s|%s%s%s", port, s(p->app_info),
                            submit, s(p->source_channel), s(p->env_from),
                            s(p->dest_channel), s(p->env_to),
                            orcpt ? "|" : "", orcpt ? p->orcpt : "");
    break;
  default:
    probe = g_strdup("");
  }
  g_free(port);
  return probe;
}

/* session_bits - enum access_session_flags as map_ctx letters */
static unsigned session_bits(unsigned f) {
  static const struct {
    unsigned flag;
    char letter;
  } map[] = {{ACCESS_F_AUTH, 'A'},          {ACCESS_F_ESMTP, 'E'},
             {ACCESS_F_LMTP, 'L'},          {ACCESS_F_TLS, 'T'},
             {ACCESS_F_NOTIFY_DELAY, 'D'},  {ACCESS_F_NOTIFY_FAILURE, 'F'},
             {ACCESS_F_NOTIFY_SUCCESS, 'S'}};
  unsigned bits = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
    if (f & map[i].flag)
      bits |= mapset_session_flag(map[i].letter);
  return bits;
}

/* take_field - the next '|' field of *P */
static char *take_field(char **p) {
  char *bar = strchr(*p, '|');
  char *f;
  if (bar == NULL) {
    f = g_strdup(*p);
    *p += strlen(*p);
  } else {
    f = g_strndup(*p, bar - *p);
    *p = bar + 1;
  }
  return f;
}

/* reply_text - "[NNN ][x.y.z ]text" into the verdict */
static void reply_text(access_verdict *v, const char *text, int def_code) {
  const char *p = text;
  v->smtp_code = def_code;
  if (g_ascii_isdigit(p[0]) && g_ascii_isdigit(p[1]) && g_ascii_isdigit(p[2]) &&
      (p[3] == ' ' || p[3] == '\0') && (p[0] == '4' || p[0] == '5')) {
    v->smtp_code = atoi(p);
    p += p[3] == ' ' ? 4 : 3;
  }
  const char *q = p;
  if ((q[0] == '4' || q[0] == '5' || q[0] == '2') && q[1] == '.') {
    q += 2;
    while (g_ascii_isdigit(*q))
      q++;
    if (*q == '.') {
      q++;
      while (g_ascii_isdigit(*q))
        q++;
      if (*q == ' ' || *q == '\0') {
        g_free(v->status);
        v->status = g_strndup(p, q - p);
        p = *q == ' ' ? q + 1 : q;
      }
    }
  }
  g_free(v->text);
  v->text = g_strdup(p);
}

/* verdict - the flags and output of the matching entry */
static void verdict(access_table t, const map_result *r, access_verdict *v) {
  const map_flags *f = &r->flags;
  char *out = g_strdup(r->out->str);
  char *p = out;
  v->matched = r->matched;
  if (map_flags_has(f, 'U')) {
    char *x = take_field(&p);
    v->debug = atoi(x);
    g_free(x);
  }
  if (map_flags_has(f, 'J'))
    v->new_from = take_field(&p);
  if (map_flags_has(f, 'K'))
    v->new_sender = take_field(&p);
  if (map_flags_has(f, 'I')) {
    v->need_user = take_field(&p);
    v->need_group = take_field(&p);
  }
  char *log_always = map_flags_has(f, '<') ? take_field(&p) : NULL;
  char *log_refused = map_flags_has(f, '>') ? take_field(&p) : NULL;
  if (map_flags_has(f, 'D')) {
    char *x = take_field(&p);
    long hundredths = strtol(x, NULL, 10);
    v->delay_ms = hundredths > 0 ? (unsigned)MIN(hundredths, 600000L) * 10u
                                 : 0;
    g_free(x);
  }
  if (map_flags_has(f, 'T'))
    v->tag = take_field(&p);
  if (map_flags_has(f, 'A'))
    v->add_header = take_field(&p);
  char *xcode = map_flags_has(f, 'X') ? take_field(&p) : NULL;

  if (map_flags_has(f, 'N'))
    v->action = ACCESS_REJECT;
  else if (map_flags_has(f, 'B'))
    v->action = ACCESS_DISCARD;
  else if (map_flags_has(f, 'H'))
    v->action = ACCESS_HOLD;
  else
    v->action = ACCESS_ALLOW;
  v->no_vacation = map_flags_has(f, '!');
  if (v->action == ACCESS_REJECT) {
    reply_text(v, p, t == ACCESS_PORT ? 554 : 550);
    if (v->status == NULL)
      v->status = g_strdup(v->smtp_code >= 500 ? "5.7.1" : "4.7.1");
    if (*v->text == '\0') {
      g_free(v->text);
      v->text = g_strdup(t == ACCESS_PORT ? "Connection refused"
                                          : "Not allowed");
    }
  } else {
    v->text = g_strdup(p);
  }
  if (xcode != NULL && *xcode != '\0') {
    g_free(v->status);
    v->status = xcode;
    xcode = NULL;
  }
  v->log_text = log_always != NULL ? log_always
                : v->action == ACCESS_REJECT ? log_refused
                                             : NULL;
  if (v->log_text != log_refused)
    g_free(log_refused);
  g_free(xcode);
  g_free(out);
}

int access_check_string(access_table t, const char *probe,
                        unsigned session_flags, access_verdict *v,
                        char **error_r) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  int rc = CURSUS_OK;
  access_verdict_init(v);
  v->probe = g_strdup(probe);
  if (m != NULL && mapset_table(m->maps, access_table_name(t)) != NULL) {
    map_result r;
    map_result_init(&r);
    map_ctx ctx = {.session_flags = session_bits(session_flags)};
    rc = mapset_apply(m->maps, access_table_name(t), probe, &ctx, &r, error_r);
    if (rc == CURSUS_OK && r.matched)
      verdict(t, &r, v);
    map_result_clear(&r);
  }
  config_unref(&cfg);
  return rc;
}

int access_check(access_table t, const access_probe *p, access_verdict *v,
                 char **error_r) {
  char *probe = access_probe_string(t, p);
  int rc = access_check_string(t, probe, p->session_flags, v, error_r);
  g_free(probe);
  return rc;
}
