/*
 * addr.c - parse and format e-mail addresses (see addr.h)
 *
 * A small recursive-descent parser over an exact span of text: every
 * piece (route hop, local part, domain) is handed its own bounds, so no
 * terminator character can be overlooked and nothing is read past the end.
 */
#include "build-config.h"
#include "addr.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <string.h>

/* is_atext - RFC 5322 atext (ASCII), or any non-ASCII octet when UTF8 */
static bool is_atext(unsigned char c, bool utf8) {
  if (c >= 0x80)
    return utf8;
  if (g_ascii_isalnum(c))
    return true;
  return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

bool addr_local_is_dot_atom(const char *local, size_t len) {
  bool want_atext = true;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)local[i];
    if (c == '.') {
      if (want_atext)
        return false;
      want_atext = true;
    } else if (is_atext(c, true)) {
      want_atext = false;
    } else {
      return false;
    }
  }
  return !want_atext;
}

char *addr_format_local(const char *local, bool force_quote) {
  size_t n = strlen(local);
  if (!force_quote && addr_local_is_dot_atom(local, n))
    return g_strdup(local);
  GString *s = g_string_sized_new(n + 2);
  g_string_append_c(s, '"');
  for (const char *p = local; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(s, '\\');
    g_string_append_c(s, *p);
  }
  g_string_append_c(s, '"');
  return g_string_free(s, FALSE);
}

void addr_free(addr **ap) {
  addr *a = *ap;
  if (a == NULL)
    return;
  *ap = NULL;
  g_free(a->local);
  g_free(a->domain);
  g_strfreev(a->route);
  g_free(a);
}

addr *addr_new(const char *local, bool quoted, const char *domain) {
  addr *a = g_new0(addr, 1);
  a->local = g_strdup(local);
  a->quoted = quoted;
  a->domain = g_strdup(domain);
  return a;
}

addr *addr_copy(const addr *a) {
  addr *c = addr_new(a->local, a->quoted, a->domain);
  c->route = g_strdupv(a->route);
  c->utf8 = a->utf8;
  return c;
}

char *addr_format(const addr *a) {
  GString *s = g_string_new(NULL);
  for (char **r = a->route; r != NULL && *r != NULL; r++)
    g_string_append_printf(s, "%s@%s", r == a->route ? "" : ",", *r);
  if (a->route != NULL && a->route[0] != NULL)
    g_string_append_c(s, ':');
  /* quotes that protect a '%' or '!' from routing stay; others go */
  bool keep = a->quoted && (strchr(a->local, '%') != NULL ||
                            strchr(a->local, '!') != NULL);
  char *local = addr_format_local(a->local, keep);
  g_string_append(s, local);
  g_free(local);
  if (a->domain != NULL)
    g_string_append_printf(s, "@%s", a->domain);
  return g_string_free(s, FALSE);
}

/* ------------------------------------------------------------- domains */

int addr_literal_check(const char *lit, size_t len, char **canonical_r,
                       char **error_r) {
  if (len < 2 || lit[0] != '[' || lit[len - 1] != ']') {
    *error_r = g_strdup("a domain literal is enclosed in [ ]");
    return CURSUS_PERMFAIL;
  }
  char *inner = g_strndup(lit + 1, len - 2);
  int rc = CURSUS_OK;
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  const char *colon = strchr(inner, ':');

  if (*inner == '\0') {
    *error_r = g_strdup("empty domain literal []");
    rc = CURSUS_PERMFAIL;
  } else if (g_ascii_strncasecmp(inner, "IPv6:", 5) == 0) {
    if (inet_pton(AF_INET6, inner + 5, buf) != 1) {
      *error_r = g_strdup_printf("\"%s\" is not an IPv6 address", inner + 5);
      rc = CURSUS_PERMFAIL;
    } else {
      inet_ntop(AF_INET6, buf, text, sizeof(text));
      *canonical_r = g_strdup_printf("[IPv6:%s]", text);
    }
  } else if (colon != NULL) {
    *error_r = g_strdup_printf("address literal tag \"%.*s\" is not supported "
                               "(only IPv4 and IPv6: literals are)",
                               (int)MIN(colon - inner, 32), inner);
    rc = CURSUS_PERMFAIL;
  } else if (inet_pton(AF_INET, inner, buf) != 1) {
    *error_r = g_strdup_printf("\"%.64s\" is not an IPv4 address", inner);
    rc = CURSUS_PERMFAIL;
  } else {
    inet_ntop(AF_INET, buf, text, sizeof(text));
    *canonical_r = g_strdup_printf("[%s]", text);
  }
  g_free(inner);
  return rc;
}

/* check_ascii_name - labels of letters, digits, '-' and '_', 1..63
 * octets, no hyphen at either end */
static int check_ascii_name(const char *name, char **error_r) {
  const char *label = name;
  bool has_ace = false;
  for (const char *p = name;; p++) {
    if (*p == '.' || *p == '\0') {
      size_t n = (size_t)(p - label);
      if (n == 0) {
        *error_r = g_strdup(*p == '\0' && p != name
                                ? "the domain ends with a dot"
                                : "empty label in the domain (\"..\" or a "
                                  "leading dot)");
        return CURSUS_PERMFAIL;
      }
      if (n > ADDR_LABEL_MAX) {
        *error_r = g_strdup_printf("domain label longer than %d octets",
                                   ADDR_LABEL_MAX);
        return CURSUS_PERMFAIL;
      }
      if (label[0] == '-' || p[-1] == '-') {
        *error_r = g_strdup_printf("domain label \"%.*s\" begins or ends "
                                   "with a hyphen",
                                   (int)n, label);
        return CURSUS_PERMFAIL;
      }
      if (n > 4 && g_ascii_strncasecmp(label, "xn--", 4) == 0)
        has_ace = true;
      if (*p == '\0')
        break;
      label = p + 1;
      continue;
    }
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_') {
      if (g_ascii_isprint(*p))
        *error_r = g_strdup_printf("character '%c' is not allowed in a "
                                   "domain",
                                   *p);
      else
        *error_r = g_strdup_printf("octet 0x%02x is not allowed in a domain",
                                   (unsigned char)*p);
      return CURSUS_PERMFAIL;
    }
  }
  if (has_ace) {
    /* an A-label must decode and encode back to itself (IDNA2008) */
    char *u = NULL, *back = NULL;
    int rc = idn2_to_unicode_8z8z(name, &u, 0);
    if (rc == IDN2_OK)
      rc = idn2_to_ascii_8z(u, &back, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc == IDN2_OK && g_ascii_strcasecmp(back, name) != 0)
      rc = IDN2_INVALID_ALABEL;
    idn2_free(u);
    idn2_free(back);
    if (rc != IDN2_OK) {
      *error_r = g_strdup_printf("invalid internationalized label in \"%s\": "
                                 "%s",
                                 name, idn2_strerror(rc));
      return CURSUS_PERMFAIL;
    }
  }
  return CURSUS_OK;
}

int addr_domain_check(const char *domain, size_t len, unsigned flags,
                      char **canonical_r, char **error_r) {
  if (len == 0) {
    *error_r = g_strdup("empty domain");
    return CURSUS_PERMFAIL;
  }
  if (memchr(domain, '\0', len) != NULL) {
    *error_r = g_strdup("NUL octet in the domain");
    return CURSUS_PERMFAIL;
  }
  if (domain[0] == '[')
    return addr_literal_check(domain, len, canonical_r, error_r);
  if (len > ADDR_DOMAIN_MAX) {
    *error_r = g_strdup_printf("domain longer than %d octets",
                               ADDR_DOMAIN_MAX);
    return CURSUS_PERMFAIL;
  }
  char *name = g_strndup(domain, len);
  bool ascii = true;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)name[i] >= 0x80)
      ascii = false;
  if (!ascii) {
    char *ace = NULL;
    int rc;
    if ((flags & ADDR_SMTP) && !(flags & ADDR_UTF8)) {
      *error_r = g_strdup("a non-ASCII domain needs SMTPUTF8");
      g_free(name);
      return CURSUS_PERMFAIL;
    }
    if (!g_utf8_validate(name, (gssize)len, NULL)) {
      *error_r = g_strdup("the domain is not valid UTF-8");
      g_free(name);
      return CURSUS_PERMFAIL;
    }
    rc = idn2_to_ascii_8z(name, &ace, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      *error_r = g_strdup_printf("invalid international domain name: %s",
                                 idn2_strerror(rc));
      g_free(name);
      return CURSUS_PERMFAIL;
    }
    g_free(name);
    name = g_strdup(ace);
    idn2_free(ace);
  }
  if (check_ascii_name(name, error_r) != CURSUS_OK) {
    g_free(name);
    return CURSUS_PERMFAIL;
  }
  *canonical_r = g_ascii_strdown(name, -1);
  g_free(name);
  return CURSUS_OK;
}

char *addr_domain_to_unicode(const char *domain) {
  char *u = NULL;
  if (domain[0] != '[' && strstr(domain, "xn--") != NULL &&
      idn2_to_unicode_8z8z(domain, &u, 0) == IDN2_OK) {
    char *copy = g_strdup(u);
    idn2_free(u);
    return copy;
  }
  return g_strdup(domain);
}

/* ---------------------------------------------------------- local part */

/* parse_quoted - the quoted string at [*pp, end); decoded into OUT */
static bool parse_quoted(const char **pp, const char *end, unsigned flags,
                         GString *out, char **error_r) {
  const char *p = *pp + 1;
  bool utf8 = (flags & ADDR_UTF8) || !(flags & ADDR_SMTP);
  for (; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      *pp = p + 1;
      return true;
    }
    if (c == '\\') {
      if (p + 1 >= end) {
        break;
      }
      unsigned char q = (unsigned char)*++p;
      if (q < 32 || q == 127 || (q >= 0x80 && !utf8)) {
        *error_r = g_strdup("invalid quoted pair in the local part");
        return false;
      }
      g_string_append_c(out, (char)q);
      continue;
    }
    if (c == '\t' && !(flags & ADDR_SMTP)) {
      g_string_append_c(out, (char)c);
      continue;
    }
    if (c < 32 || c == 127) {
      *error_r = g_strdup_printf("control octet 0x%02x in the quoted local "
                                 "part",
                                 c);
      return false;
    }
    if (c >= 0x80 && !utf8) {
      *error_r = g_strdup("non-ASCII local part needs SMTPUTF8");
      return false;
    }
    g_string_append_c(out, (char)c);
  }
  *error_r = g_strdup("unterminated quoted string in the local part");
  return false;
}

/* parse_dot_string - atoms separated by single dots, up to '@' or END */
static bool parse_dot_string(const char **pp, const char *end, unsigned flags,
                             GString *out, char **error_r) {
  const char *p = *pp;
  bool utf8 = (flags & ADDR_UTF8) || !(flags & ADDR_SMTP);
  bool want_atext = true;
  for (; p < end && *p != '@'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '.') {
      if (want_atext) {
        *error_r = g_strdup("empty atom in the local part (\"..\", or a "
                            "leading dot)");
        return false;
      }
      want_atext = true;
    } else if (is_atext(c, true)) {
      if (c >= 0x80 && !utf8) {
        *error_r = g_strdup("non-ASCII local part needs SMTPUTF8");
        return false;
      }
      want_atext = false;
    } else if (c == '"') {
      *error_r = g_strdup("a quoted string must be the whole local part");
      return false;
    } else if (g_ascii_isprint(c) && c != ' ') {
      *error_r = g_strdup_printf("character '%c' is not allowed unquoted in "
                                 "a local part",
                                 c);
      return false;
    } else {
      *error_r = g_strdup_printf("octet 0x%02x is not allowed in a local "
                                 "part",
                                 c);
      return false;
    }
  }
  if (p == *pp) {
    *error_r = g_strdup("empty local part");
    return false;
  }
  if (want_atext) {
    *error_r = g_strdup("the local part ends with a dot");
    return false;
  }
  g_string_append_len(out, *pp, p - *pp);
  *pp = p;
  return true;
}

/* parse_route - "@a,@b:" at [*pp, end); fills ROUTE */
static bool parse_route(const char **pp, const char *end, unsigned flags,
                        GPtrArray *route, char **error_r) {
  const char *p = *pp;
  while (p < end && *p == '@') {
    const char *d = ++p;
    while (p < end && *p != ',' && *p != ':')
      p++;
    if (p >= end) {
      *error_r = g_strdup("source route without ':'");
      return false;
    }
    char *canon = NULL;
    if (addr_domain_check(d, (size_t)(p - d), flags, &canon, error_r) !=
        CURSUS_OK) {
      char *why = *error_r;
      *error_r = g_strdup_printf("in the source route: %s", why);
      g_free(why);
      return false;
    }
    if (route->len >= ADDR_ROUTE_MAX) {
      g_free(canon);
      *error_r = g_strdup_printf("source route with more than %d hops",
                                 ADDR_ROUTE_MAX);
      return false;
    }
    g_ptr_array_add(route, canon);
    if (*p == ':') {
      *pp = p + 1;
      return true;
    }
    p++; /* ',' */
    if (p >= end || *p != '@') {
      *error_r = g_strdup("each source-route hop starts with '@'");
      return false;
    }
  }
  *error_r = g_strdup("malformed source route");
  return false;
}

int addr_parse(const char *text, gssize len_in, unsigned flags, addr **addr_r,
               char **error_r) {
  size_t len = len_in < 0 ? strlen(text) : (size_t)len_in;
  const char *p = text, *end = text + len;
  GPtrArray *route = NULL;
  GString *local = NULL;
  bool quoted = false;
  char *domain = NULL;

  *addr_r = NULL;
  if (len == 0) {
    *error_r = g_strdup("empty address");
    return CURSUS_PERMFAIL;
  }
  if (len > ADDR_TEXT_MAX) {
    *error_r = g_strdup_printf("address longer than %d octets", ADDR_TEXT_MAX);
    return CURSUS_PERMFAIL;
  }
  if (memchr(text, '\0', len) != NULL) {
    *error_r = g_strdup("NUL octet in the address");
    return CURSUS_PERMFAIL;
  }
  if (*p == '@') {
    if (!(flags & ADDR_ROUTE)) {
      *error_r = g_strdup("source routes are not accepted here");
      return CURSUS_PERMFAIL;
    }
    route = g_ptr_array_new_with_free_func(g_free);
    if (!parse_route(&p, end, flags, route, error_r))
      goto fail;
  }
  local = g_string_new(NULL);
  const char *lstart = p;
  if (p < end && *p == '"') {
    quoted = true;
    if (!parse_quoted(&p, end, flags, local, error_r))
      goto fail;
  } else if (!parse_dot_string(&p, end, flags, local, error_r)) {
    goto fail;
  }
  if ((flags & ADDR_SMTP) && (size_t)(p - lstart) > ADDR_LOCAL_MAX) {
    *error_r = g_strdup_printf("local part longer than %d octets",
                               ADDR_LOCAL_MAX);
    goto fail;
  }
  if (p == end) {
    if (!(flags & ADDR_BARE) || route != NULL) {
      *error_r = g_strdup("missing \"@domain\"");
      goto fail;
    }
  } else if (*p != '@') {
    *error_r = g_strdup("unexpected text after the quoted local part");
    goto fail;
  } else {
    p++;
    if (addr_domain_check(p, (size_t)(end - p), flags, &domain, error_r) !=
        CURSUS_OK)
      goto fail;
  }
  if (quoted && local->len == 0 && (flags & ADDR_SMTP)) {
    *error_r = g_strdup("empty quoted local part");
    goto fail;
  }

  addr *a = g_new0(addr, 1);
  a->quoted = quoted;
  a->domain = domain;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)text[i] >= 0x80)
      a->utf8 = true;
  a->local = g_string_free(local, FALSE);
  if (route != NULL) {
    g_ptr_array_add(route, NULL);
    a->route = (char **)g_ptr_array_free(route, FALSE);
  }
  *addr_r = a;
  return CURSUS_OK;

fail:
  if (route != NULL)
    g_ptr_array_free(route, TRUE);
  if (local != NULL)
    g_string_free(local, TRUE);
  g_free(domain);
  return CURSUS_PERMFAIL;
}

/* path_end - the '>' closing a path that starts at P (after '<'), skipping
 * quoted strings; NULL when there is none */
static const char *path_end(const char *p) {
  bool in_quote = false;
  for (; *p != '\0'; p++) {
    if (in_quote && *p == '\\' && p[1] != '\0')
      p++;
    else if (*p == '"')
      in_quote = !in_quote;
    else if (*p == '>' && !in_quote)
      return p;
  }
  return NULL;
}

int addr_parse_path(const char *arg, unsigned flags, addr_path *path_r,
                    char **error_r) {
  const char *p = arg, *start, *stop, *rest;
  unsigned pflags = (flags | ADDR_SMTP | ADDR_ROUTE) & ~(unsigned)ADDR_BARE;

  path_r->address = NULL;
  path_r->params = "";
  while (*p == ' ')
    p++;
  if (*p == '<') {
    start = p + 1;
    stop = path_end(start);
    if (stop == NULL) {
      *error_r = g_strdup("the path has no closing '>'");
      return CURSUS_PERMFAIL;
    }
    rest = stop + 1;
  } else if (flags & ADDR_NO_BRACKETS) {
    start = p;
    stop = p;
    while (*stop != '\0' && *stop != ' ')
      stop++;
    rest = stop;
  } else {
    *error_r = g_strdup(*p == '\0' ? "missing path (expected <address>)"
                                   : "the path must be enclosed in < >");
    return CURSUS_PERMFAIL;
  }
  if (*rest != '\0' && *rest != ' ') {
    *error_r = g_strdup("unexpected text after the path");
    return CURSUS_PERMFAIL;
  }
  while (*rest == ' ')
    rest++;
  if ((size_t)(stop - start) + 2 > ADDR_PATH_MAX) {
    *error_r = g_strdup_printf("path longer than %d octets", ADDR_PATH_MAX);
    return CURSUS_PERMFAIL;
  }
  if (stop == start) {
    if (!(flags & ADDR_NULL_OK)) {
      *error_r = g_strdup("the null path <> is not allowed here");
      return CURSUS_PERMFAIL;
    }
    path_r->params = rest;
    return CURSUS_OK;
  }
  if ((flags & ADDR_POSTMASTER) && stop - start == 10 &&
      g_ascii_strncasecmp(start, "postmaster", 10) == 0) {
    char *pm = g_strndup(start, 10);
    path_r->address = addr_new(pm, false, NULL);
    g_free(pm);
    path_r->params = rest;
    return CURSUS_OK;
  }
  if (addr_parse(start, stop - start, pflags, &path_r->address, error_r) !=
      CURSUS_OK)
    return CURSUS_PERMFAIL;
  path_r->params = rest;
  return CURSUS_OK;
}
