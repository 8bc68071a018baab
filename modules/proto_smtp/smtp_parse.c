/*
 * smtp_parse.c - parse SMTP/LMTP commands (see smtp_parse.h)
 */
#include "smtp_parse.h"

#include <string.h>
#include <glib.h>
#include <cursus/channel.h>

#define ERR(e, c, t)                                                           \
  do {                                                                         \
    (e)->code = (c);                                                           \
    (e)->text = (t);                                                           \
    return false;                                                              \
  } while (0)

static const struct {
  const char *name;
  smtp_verb verb;
} verbs[] = {
    {"HELO", SMTP_HELO},     {"EHLO", SMTP_EHLO},   {"LHLO", SMTP_LHLO},
    {"MAIL", SMTP_MAIL},     {"RCPT", SMTP_RCPT},   {"DATA", SMTP_DATA},
    {"BDAT", SMTP_BDAT},     {"RSET", SMTP_RSET},   {"NOOP", SMTP_NOOP},
    {"QUIT", SMTP_QUIT},     {"VRFY", SMTP_VRFY},   {"EXPN", SMTP_EXPN},
    {"HELP", SMTP_HELP},     {"STARTTLS", SMTP_STARTTLS},
    {"AUTH", SMTP_AUTH},     {"ETRN", SMTP_ETRN},   {"SEND", SMTP_OBSOLETE},
    {"SOML", SMTP_OBSOLETE}, {"SAML", SMTP_OBSOLETE},
    {"TURN", SMTP_OBSOLETE},
};

bool smtp_parse_command(const char *line, size_t len, smtp_cmd *cmd,
                        smtp_err *err) {
  memset(cmd, 0, sizeof(*cmd));
  cmd->arg = "";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f)
      ERR(err, 500, "5.5.2 Syntax error: control character in the command");
  }
  size_t n = 0;
  while (n < len && line[n] != ' ')
    n++;
  for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
    if (strlen(verbs[i].name) == n &&
        g_ascii_strncasecmp(line, verbs[i].name, n) == 0) {
      cmd->verb = verbs[i].verb;
      cmd->name = verbs[i].name;
      break;
    }
  if (n < len) {
    cmd->arg = line + n + 1;
    cmd->arg_len = len - n - 1;
  }
  return true;
}

/* Parameters after the path: "KEY[=VALUE]" separated by spaces. */
typedef struct param {
  const char *key;
  size_t key_len;
  const char *value; /* NULL when absent */
  size_t value_len;
} param;

/* next_param - the parameter at *P (spaces before it skipped); false at
 * the end; *bad set when malformed */
static bool next_param(const char **p, const char *end, param *out, bool *bad) {
  const char *s = *p;
  while (s < end && *s == ' ')
    s++;
  if (s >= end)
    return false;
  const char *e = s;
  while (e < end && *e != ' ')
    e++;
  *p = e;
  const char *eq = memchr(s, '=', (size_t)(e - s));
  out->key = s;
  out->key_len = (size_t)((eq != NULL ? eq : e) - s);
  out->value = eq != NULL ? eq + 1 : NULL;
  out->value_len = eq != NULL ? (size_t)(e - eq - 1) : 0;
  if (out->key_len == 0 || !g_ascii_isalnum(s[0]))
    *bad = true;
  for (size_t i = 0; i < out->key_len; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '-')
      *bad = true;
  if (eq != NULL && out->value_len == 0)
    *bad = true;
  for (size_t i = 0; i < out->value_len; i++) {
    unsigned char c = (unsigned char)out->value[i];
    if (c < 33 || c == '=' || c > 126)
      *bad = true;
  }
  return true;
}

static bool key_is(const param *p, const char *name) {
  return p->key_len == strlen(name) &&
         g_ascii_strncasecmp(p->key, name, p->key_len) == 0;
}

static bool value_is(const param *p, const char *word) {
  return p->value != NULL && p->value_len == strlen(word) &&
         g_ascii_strncasecmp(p->value, word, p->value_len) == 0;
}

char *smtp_xtext_decode(const char *s, size_t len) {
  GString *out = g_string_sized_new(len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '+') {
      int hi = i + 2 < len ? g_ascii_xdigit_value(s[i + 1]) : -1;
      int lo = i + 2 < len ? g_ascii_xdigit_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || g_ascii_islower(s[i + 1]) ||
          g_ascii_islower(s[i + 2]) || (hi == 0 && lo == 0)) {
        g_string_free(out, TRUE);
        return NULL;
      }
      g_string_append_c(out, (char)(hi * 16 + lo));
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      g_string_free(out, TRUE);
      return NULL;
    } else {
      g_string_append_c(out, (char)c);
    }
  }
  return g_string_free(out, FALSE);
}

char *smtp_xtext_encode(const char *s) {
  GString *out = g_string_new(NULL);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
      g_string_append_printf(out, "+%02X", *p);
    else
      g_string_append_c(out, (char)*p);
  }
  return g_string_free(out, FALSE);
}

/* parse_size - at most 20 digits */
static bool parse_size(const char *s, size_t len, uint64_t *v_r) {
  uint64_t v = 0;
  if (len == 0 || len > 20)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!g_ascii_isdigit(s[i]))
      return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *v_r = v;
  return true;
}

bool smtp_path_arg(const char *arg, size_t len, const char *prefix,
                   unsigned flags, const char **rest_r, smtp_err *err) {
  size_t pl = strlen(prefix);
  bool mail = prefix[0] == 'F';
  if (len < pl || g_ascii_strncasecmp(arg, prefix, pl) != 0)
    ERR(err, 501, mail ? "5.5.4 Syntax: MAIL FROM:<address>"
                       : "5.5.4 Syntax: RCPT TO:<address>");
  const char *s = arg + pl, *end = arg + len;
  if (s < end && *s == ' ' && !(flags & SMTP_P_LENIENT))
    ERR(err, 501, mail ? "5.1.7 Syntax: no space after MAIL FROM:"
                       : "5.1.3 Syntax: no space after RCPT TO:");
  while (s < end && *s == ' ')
    s++;
  if (s >= end)
    ERR(err, 501, mail ? "5.5.4 Syntax: MAIL FROM:<address>"
                       : "5.5.4 Syntax: RCPT TO:<address>");
  *rest_r = s;
  return true;
}

bool smtp_parse_mail_params(const char *params, size_t len, unsigned flags,
                            smtp_mail *m, smtp_err *err) {
  const char *end = params + len;
  param p;
  bool bad = false;
  unsigned seen = 0;
  while (next_param(&params, end, &p, &bad)) {
    if (bad)
      ERR(err, 501, "5.5.4 Malformed parameter");
    if (!(flags & SMTP_P_ESMTP))
      ERR(err, 555, "5.5.4 Parameters need EHLO");
    unsigned bit;
    if (key_is(&p, "SIZE")) {
      bit = 1;
      if (!parse_size(p.value, p.value_len, &m->size))
        ERR(err, 501, "5.5.4 Invalid SIZE parameter");
      m->has_size = true;
    } else if (key_is(&p, "BODY")) {
      bit = 2;
      if (value_is(&p, "7BIT"))
        m->body = 0;
      else if (value_is(&p, "8BITMIME"))
        m->body = 1;
      else if (value_is(&p, "BINARYMIME"))
        m->body = 2;
      else
        ERR(err, 501, "5.5.4 Invalid BODY parameter");
    } else if (key_is(&p, "RET")) {
      bit = 4;
      if (value_is(&p, "FULL"))
        m->ret = 1;
      else if (value_is(&p, "HDRS"))
        m->ret = 2;
      else
        ERR(err, 501, "5.5.4 Invalid RET parameter");
    } else if (key_is(&p, "ENVID")) {
      bit = 8;
      m->envid = p.value != NULL ? smtp_xtext_decode(p.value, p.value_len) : NULL;
      if (m->envid == NULL || strlen(m->envid) > SMTP_ENVID_MAX)
        ERR(err, 501, "5.5.4 Invalid ENVID parameter");
    } else if (key_is(&p, "AUTH")) {
      bit = 16;
      m->auth = p.value != NULL ? smtp_xtext_decode(p.value, p.value_len) : NULL;
      if (m->auth == NULL || strlen(m->auth) > SMTP_PATH_MAX)
        ERR(err, 501, "5.5.4 Invalid AUTH parameter");
    } else if (key_is(&p, "SMTPUTF8")) {
      bit = 32;
      if (p.value != NULL)
        ERR(err, 501, "5.5.4 SMTPUTF8 takes no value");
      m->smtputf8 = true;
    } else {
      ERR(err, 555, "5.5.4 Unsupported MAIL FROM parameter");
    }
    if (seen & bit)
      ERR(err, 501, "5.5.4 Parameter given twice");
    seen |= bit;
  }
  return true;
}

void smtp_mail_clear(smtp_mail *m) {
  g_free(m->path);
  g_free(m->envid);
  g_free(m->auth);
  memset(m, 0, sizeof(*m));
}

/* parse_notify - "NEVER" or a list of SUCCESS, FAILURE, DELAY */
static bool parse_notify(const char *s, size_t len, unsigned *out) {
  unsigned n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != ',')
      continue;
    size_t l = i - start;
    const char *w = s + start;
    unsigned bit = l == 5 && g_ascii_strncasecmp(w, "NEVER", 5) == 0
                       ? CURSUS_NOTIFY_NEVER
                   : l == 7 && g_ascii_strncasecmp(w, "SUCCESS", 7) == 0
                       ? CURSUS_NOTIFY_SUCCESS
                   : l == 7 && g_ascii_strncasecmp(w, "FAILURE", 7) == 0
                       ? CURSUS_NOTIFY_FAILURE
                   : l == 5 && g_ascii_strncasecmp(w, "DELAY", 5) == 0
                       ? CURSUS_NOTIFY_DELAY
                       : 0;
    if (bit == 0 || (n & bit))
      return false;
    n |= bit;
    start = i + 1;
  }
  if ((n & CURSUS_NOTIFY_NEVER) && n != CURSUS_NOTIFY_NEVER)
    return false;
  *out = n;
  return true;
}

/* parse_orcpt - "addr-type;xtext"; the type is an atom */
static char *parse_orcpt(const char *s, size_t len) {
  const char *semi = memchr(s, ';', len);
  if (semi == NULL || semi == s)
    return NULL;
  for (const char *p = s; p < semi; p++)
    if (!g_ascii_isalnum(*p) && *p != '-')
      return NULL;
  char *addr = smtp_xtext_decode(semi + 1, len - (size_t)(semi + 1 - s));
  if (addr == NULL || *addr == '\0' || strlen(addr) > SMTP_ORCPT_MAX) {
    g_free(addr);
    return NULL;
  }
  char *out = g_strdup_printf("%.*s;%s", (int)(semi - s), s, addr);
  g_free(addr);
  return out;
}

bool smtp_parse_rcpt_params(const char *params, size_t len, unsigned flags,
                            smtp_rcpt *r, smtp_err *err) {
  const char *end = params + len;
  param p;
  bool bad = false;
  unsigned seen = 0;
  while (next_param(&params, end, &p, &bad)) {
    if (bad)
      ERR(err, 501, "5.5.4 Malformed parameter");
    if (!(flags & SMTP_P_ESMTP))
      ERR(err, 555, "5.5.4 Parameters need EHLO");
    unsigned bit;
    if (key_is(&p, "NOTIFY")) {
      bit = 1;
      if (p.value == NULL || !parse_notify(p.value, p.value_len, &r->notify))
        ERR(err, 501, "5.5.4 Invalid NOTIFY parameter");
    } else if (key_is(&p, "ORCPT")) {
      bit = 2;
      r->orcpt = p.value != NULL ? parse_orcpt(p.value, p.value_len) : NULL;
      if (r->orcpt == NULL)
        ERR(err, 501, "5.5.4 Invalid ORCPT parameter");
    } else {
      ERR(err, 555, "5.5.4 Unsupported RCPT TO parameter");
    }
    if (seen & bit)
      ERR(err, 501, "5.5.4 Parameter given twice");
    seen |= bit;
  }
  return true;
}

void smtp_rcpt_clear(smtp_rcpt *r) {
  g_free(r->path);
  g_free(r->orcpt);
  memset(r, 0, sizeof(*r));
}

bool smtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r,
                     bool *last_r, bool *size_ok_r, smtp_err *err) {
  size_t n = 0;
  while (n < len && arg[n] != ' ')
    n++;
  *size_ok_r = parse_size(arg, n, size_r);
  *last_r = false;
  if (!*size_ok_r)
    ERR(err, 501, "5.5.4 Syntax: BDAT size [LAST]");
  if (n == len)
    return true;
  if (len - n - 1 == 4 && g_ascii_strncasecmp(arg + n + 1, "LAST", 4) == 0) {
    *last_r = true;
    return true;
  }
  ERR(err, 501, "5.5.4 Syntax: BDAT size [LAST]");
}

bool smtp_check_helo(const char *arg, size_t len, smtp_err *err) {
  if (len == 0)
    ERR(err, 501, "5.5.4 Syntax: a domain name or address literal is needed");
  if (len > SMTP_DOMAIN_MAX)
    ERR(err, 501, "5.5.4 Domain name too long");
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)arg[i] <= ' ' || arg[i] == 0x7f)
      ERR(err, 501, "5.5.4 Syntax: one domain name or address literal");
  return true;
}
