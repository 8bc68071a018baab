/*
 * svcaccess.c - service access filters in TCP-wrapper syntax
 *
 * A pattern that needs the login name answers "unknown" before login, so
 * that a connection is refused early only when the filters refuse it
 * whoever logs in; the full decision is made again at login.
 */
#include "svcaccess.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <glib.h>

typedef enum pat_kind {
  PAT_ALL,
  PAT_LOCAL,
  PAT_KNOWN,
  PAT_UNKNOWN,
  PAT_SPOOFER,
  PAT_SUFFIX,    /* .example.com */
  PAT_IPPREFIX,  /* 192.168. */
  PAT_NET,       /* address/mask, or one address (full mask) */
  PAT_HOSTNAME,  /* a name, with wildcards */
} pat_kind;

typedef struct pattern {
  pat_kind kind;
  char *text;     /* lower-case name, suffix or prefix */
  int family;     /* PAT_NET */
  unsigned char addr[16], mask[16];
  char *user;     /* user part (a glob, "*" for ALL), or NULL */
} pattern;

/* A list "a b c EXCEPT list". */
typedef struct plist {
  GPtrArray *pats; /* of pattern* (clients) or char* (services) */
  struct plist *except;
} plist;

typedef struct filter {
  plist *services;
  plist *clients;
} filter;

struct svcaccess {
  GPtrArray *allow; /* of filter* */
  GPtrArray *deny;
  bool needs_names;
};

/* Three-valued results of matching. */
typedef enum tri { NO = 0, YES = 1, MAYBE = 2 } tri;

static tri tri_and(tri a, tri b) {
  if (a == NO || b == NO)
    return NO;
  return a == YES && b == YES ? YES : MAYBE;
}

static tri tri_or(tri a, tri b) {
  if (a == YES || b == YES)
    return YES;
  return a == NO && b == NO ? NO : MAYBE;
}

static tri tri_not(tri a) { return a == MAYBE ? MAYBE : (a == YES ? NO : YES); }

/* ------------------------------------------------------------ freeing */

static void pattern_free(gpointer p) {
  pattern *pat = p;
  g_free(pat->text);
  g_free(pat->user);
  g_free(pat);
}

static void plist_free(plist *l) {
  if (l == NULL)
    return;
  g_ptr_array_free(l->pats, TRUE);
  plist_free(l->except);
  g_free(l);
}

static void filter_free(gpointer p) {
  filter *f = p;
  plist_free(f->services);
  plist_free(f->clients);
  g_free(f);
}

void svcaccess_free(svcaccess **ap) {
  svcaccess *a = *ap;
  if (a == NULL)
    return;
  *ap = NULL;
  g_ptr_array_free(a->allow, TRUE);
  g_ptr_array_free(a->deny, TRUE);
  g_free(a);
}

/* ------------------------------------------------------------ parsing */

/* parse_addr - an IPv4 or IPv6 address (IPv6 optionally in brackets) */
static bool parse_addr(const char *text, int *family_r, unsigned char *addr) {
  char buf[INET6_ADDRSTRLEN + 2];
  size_t len = strlen(text);
  if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
    if (len - 2 >= sizeof(buf))
      return false;
    memcpy(buf, text + 1, len - 2);
    buf[len - 2] = '\0';
    text = buf;
    if (inet_pton(AF_INET6, text, addr) == 1) {
      *family_r = AF_INET6;
      return true;
    }
    return false;
  }
  if (inet_pton(AF_INET, text, addr) == 1) {
    *family_r = AF_INET;
    return true;
  }
  if (strchr(text, ':') != NULL && inet_pton(AF_INET6, text, addr) == 1) {
    *family_r = AF_INET6;
    return true;
  }
  return false;
}

/* parse_mask - "255.255.0.0" or a prefix length, for FAMILY */
static bool parse_mask(const char *text, int family, unsigned char *mask) {
  size_t bytes = family == AF_INET ? 4 : 16;
  memset(mask, 0, 16);
  if (*text != '\0' && strspn(text, "0123456789") == strlen(text)) {
    unsigned long bits = strtoul(text, NULL, 10);
    if (bits > bytes * 8 || strlen(text) > 3)
      return false;
    for (size_t i = 0; i < bytes; i++) {
      unsigned b = bits >= 8 ? 8 : (unsigned)bits;
      mask[i] = (unsigned char)(0xff00 >> b);
      bits -= b;
    }
    return true;
  }
  int mfamily;
  return parse_addr(text, &mfamily, mask) && mfamily == family;
}

/* parse_pattern - one client pattern */
static pattern *parse_pattern(const char *tok, bool *needs_names,
                              const char **error_r) {
  pattern *p = g_new0(pattern, 1);
  const char *at = strrchr(tok, '@');
  char *host;
  if (tok[0] == '@') {
    *error_r = "netgroups (@name) are not supported";
    pattern_free(p);
    return NULL;
  }
  if (at != NULL) {
    char *user = g_strndup(tok, (size_t)(at - tok));
    p->user = g_ascii_strcasecmp(user, "ALL") == 0 ? g_strdup("*")
                                                    : g_utf8_strdown(user, -1);
    g_free(user);
    host = g_strdup(at + 1);
    if (*host == '\0') {
      *error_r = "missing client pattern after '@'";
      g_free(host);
      pattern_free(p);
      return NULL;
    }
  } else {
    host = g_strdup(tok);
  }
  const char *slash = strchr(host, '/');
  if (g_ascii_strcasecmp(host, "ALL") == 0 || strcmp(host, "*") == 0) {
    p->kind = PAT_ALL;
  } else if (strcmp(host, "LOCAL") == 0) {
    p->kind = PAT_LOCAL;
  } else if (strcmp(host, "KNOWN") == 0) {
    p->kind = PAT_KNOWN;
  } else if (strcmp(host, "UNKNOWN") == 0) {
    p->kind = PAT_UNKNOWN;
  } else if (strcmp(host, "DNSSPOOFER") == 0 ||
             strcmp(host, "PARANOID") == 0) {
    p->kind = PAT_SPOOFER;
  } else if (slash != NULL) {
    char *net = g_strndup(host, (size_t)(slash - host));
    bool ok = parse_addr(net, &p->family, p->addr) &&
              parse_mask(slash + 1, p->family, p->mask);
    g_free(net);
    if (!ok) {
      *error_r = "invalid network (expected address/mask or "
                 "address/prefix-length)";
      g_free(host);
      pattern_free(p);
      return NULL;
    }
    for (int i = 0; i < 16; i++)
      p->addr[i] &= p->mask[i];
    p->kind = PAT_NET;
  } else if (parse_addr(host, &p->family, p->addr)) {
    memset(p->mask, 0xff, sizeof(p->mask));
    p->kind = PAT_NET;
  } else if (host[0] == '.') {
    p->kind = PAT_SUFFIX;
    p->text = g_ascii_strdown(host, -1);
  } else if (host[strlen(host) - 1] == '.' &&
             strspn(host, "0123456789.") == strlen(host)) {
    p->kind = PAT_IPPREFIX;
    p->text = g_strdup(host);
  } else if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789.-_*?") == strlen(host)) {
    p->kind = PAT_HOSTNAME;
    p->text = g_ascii_strdown(host, -1);
  } else {
    *error_r = "not a valid client pattern";
    g_free(host);
    pattern_free(p);
    return NULL;
  }
  if (p->kind == PAT_LOCAL || p->kind == PAT_KNOWN ||
      p->kind == PAT_UNKNOWN || p->kind == PAT_SPOOFER ||
      p->kind == PAT_SUFFIX || p->kind == PAT_HOSTNAME)
    *needs_names = true;
  g_free(host);
  return p;
}

/* parse_list - tokens [FROM, TO) into "list EXCEPT list ..." */
static plist *parse_list(char **toks, guint from, guint to, bool services,
                         bool *needs_names, const char **error_r) {
  plist *l = g_new0(plist, 1);
  l->pats = g_ptr_array_new_with_free_func(services ? g_free : pattern_free);
  guint i;
  for (i = from; i < to; i++) {
    if (g_ascii_strcasecmp(toks[i], "EXCEPT") == 0)
      break;
    if (services) {
      g_ptr_array_add(l->pats, g_ascii_strdown(toks[i], -1));
      continue;
    }
    pattern *p = parse_pattern(toks[i], needs_names, error_r);
    if (p == NULL) {
      plist_free(l);
      return NULL;
    }
    g_ptr_array_add(l->pats, p);
  }
  if (l->pats->len == 0) {
    *error_r = services ? "empty service list" : "empty client list";
    plist_free(l);
    return NULL;
  }
  if (i < to) {
    l->except = parse_list(toks, i + 1, to, services, needs_names, error_r);
    if (l->except == NULL) {
      plist_free(l);
      return NULL;
    }
  }
  return l;
}

/* tokens - split TEXT on commas and white space */
static char **tokens(const char *text, guint *n_r) {
  char **raw = g_strsplit_set(text, ", \t\r\n", -1);
  GPtrArray *out = g_ptr_array_new();
  for (char **t = raw; *t != NULL; t++)
    if (**t != '\0')
      g_ptr_array_add(out, g_strdup(*t));
  g_strfreev(raw);
  *n_r = out->len;
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

/* parse_filters - the "$"-separated filters of one setting into OUT */
static bool parse_filters(const char *text, const char *name, GPtrArray *out,
                          bool *needs_names, char **error_r) {
  if (text == NULL)
    return true;
  char **parts = g_strsplit_set(text, "$\n", -1);
  unsigned number = 0;
  bool ok = true;
  for (char **part = parts; ok && *part != NULL; part++) {
    char *f = g_strstrip(*part);
    const char *why = NULL;
    if (*f == '\0')
      continue;
    number++;
    char *colon = strchr(f, ':');
    if (colon == NULL) {
      why = "missing ':' between the services and the clients";
    } else {
      *colon = '\0';
      guint ns, nc;
      char **st = tokens(f, &ns), **ct = tokens(colon + 1, &nc);
      filter *flt = g_new0(filter, 1);
      flt->services = parse_list(st, 0, ns, true, needs_names, &why);
      if (flt->services != NULL)
        flt->clients = parse_list(ct, 0, nc, false, needs_names, &why);
      g_strfreev(st);
      g_strfreev(ct);
      if (flt->services == NULL || flt->clients == NULL)
        filter_free(flt);
      else
        g_ptr_array_add(out, flt);
    }
    if (why != NULL) {
      *error_r = g_strdup_printf("%s: filter %u: %s", name, number, why);
      ok = false;
    }
  }
  g_strfreev(parts);
  return ok;
}

svcaccess *svcaccess_parse(const char *allowed, const char *allowed_name,
                           const char *not_allowed,
                           const char *not_allowed_name, char **error_r) {
  svcaccess *a = g_new0(svcaccess, 1);
  a->allow = g_ptr_array_new_with_free_func(filter_free);
  a->deny = g_ptr_array_new_with_free_func(filter_free);
  *error_r = NULL;
  if (!parse_filters(allowed, allowed_name, a->allow, &a->needs_names,
                     error_r) ||
      !parse_filters(not_allowed, not_allowed_name, a->deny, &a->needs_names,
                     error_r) ||
      (a->allow->len == 0 && a->deny->len == 0))
    svcaccess_free(&a);
  return a;
}

bool svcaccess_needs_names(const svcaccess *a) {
  return a != NULL && a->needs_names;
}

/* ------------------------------------------------------------ matching */

static bool match_net(const pattern *p, const char *ip) {
  unsigned char addr[16] = {0};
  int family;
  if (ip == NULL || !parse_addr(ip, &family, addr))
    return false;
  if (family != p->family) {
    /* an IPv4-mapped client address against an IPv4 network */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6 && p->family == AF_INET &&
        memcmp(addr, mapped, 12) == 0) {
      memmove(addr, addr + 12, 4);
      family = AF_INET;
    } else {
      return false;
    }
  }
  size_t bytes = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < bytes; i++)
    if ((addr[i] & p->mask[i]) != p->addr[i])
      return false;
  return true;
}

static bool match_host(const pattern *p, const svcaccess_client *c) {
  const char *host = c->host;
  switch (p->kind) {
  case PAT_ALL:
    return true;
  case PAT_LOCAL:
    return host != NULL && strchr(host, '.') == NULL;
  case PAT_KNOWN:
    return host != NULL;
  case PAT_UNKNOWN:
    return host == NULL;
  case PAT_SPOOFER:
    return c->spoofed;
  case PAT_SUFFIX:
    return host != NULL && g_str_has_suffix(host, p->text);
  case PAT_IPPREFIX:
    return c->ip != NULL && g_str_has_prefix(c->ip, p->text);
  case PAT_NET:
    return match_net(p, c->ip);
  case PAT_HOSTNAME:
    return host != NULL && g_pattern_match_simple(p->text, host);
  }
  return false;
}

static tri match_pattern(const pattern *p, const svcaccess_client *c) {
  tri host = match_host(p, c) ? YES : NO;
  if (p->user == NULL)
    return host;
  tri user;
  if (strcmp(p->user, "*") == 0)
    user = YES;
  else if (c->user == NULL)
    user = MAYBE;
  else {
    char *lower = g_utf8_strdown(c->user, -1);
    user = g_pattern_match_simple(p->user, lower) ? YES : NO;
    g_free(lower);
  }
  return tri_and(user, host);
}

static tri match_clients(const plist *l, const svcaccess_client *c) {
  tri any = NO;
  for (guint i = 0; i < l->pats->len && any != YES; i++)
    any = tri_or(any, match_pattern(l->pats->pdata[i], c));
  if (l->except == NULL || any == NO)
    return any;
  return tri_and(any, tri_not(match_clients(l->except, c)));
}

static bool match_services(const plist *l, const svcaccess_client *c) {
  bool any = false;
  for (guint i = 0; i < l->pats->len && !any; i++) {
    const char *name = l->pats->pdata[i];
    any = strcmp(name, "all") == 0 || strcmp(name, "*") == 0 ||
          (c->service != NULL && g_ascii_strcasecmp(name, c->service) == 0) ||
          (c->alias != NULL && g_ascii_strcasecmp(name, c->alias) == 0);
  }
  if (l->except == NULL || !any)
    return any;
  return !match_services(l->except, c);
}

/* first_match - YES/MAYBE/NO for the first filter of FILTERS that does
 * not answer NO */
static tri first_match(const GPtrArray *filters, const svcaccess_client *c) {
  for (guint i = 0; i < filters->len; i++) {
    const filter *f = filters->pdata[i];
    if (!match_services(f->services, c))
      continue;
    tri t = match_clients(f->clients, c);
    if (t != NO)
      return t;
  }
  return NO;
}

svcaccess_result svcaccess_check(const svcaccess *a,
                                 const svcaccess_client *c) {
  if (a == NULL)
    return SVCACCESS_ALLOW;
  tri t = first_match(a->allow, c);
  if (t == YES)
    return SVCACCESS_ALLOW;
  if (t == MAYBE)
    return SVCACCESS_UNDECIDED;
  t = first_match(a->deny, c);
  if (t == YES)
    return SVCACCESS_DENY;
  if (t == MAYBE)
    return SVCACCESS_UNDECIDED;
  if (a->allow->len > 0 && a->deny->len == 0)
    return SVCACCESS_DENY;
  return SVCACCESS_ALLOW;
}

/* ------------------------------------------------------------ DNS */

char *svcaccess_resolve(const char *ip, bool *spoofed_r) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  *spoofed_r = false;
  struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    len = sizeof(*in4);
  } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    len = sizeof(*in6);
  } else {
    return NULL;
  }
  char name[NI_MAXHOST];
  if (getnameinfo((struct sockaddr *)&ss, len, name, sizeof(name), NULL, 0,
                  NI_NAMEREQD) != 0)
    return NULL;
  /* the name counts only when it leads back to the address */
  struct addrinfo hints = {.ai_family = ss.ss_family,
                           .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  bool found = false;
  if (getaddrinfo(name, NULL, &hints, &res) == 0) {
    for (struct addrinfo *r = res; r != NULL && !found; r = r->ai_next) {
      if (r->ai_family == AF_INET && ss.ss_family == AF_INET)
        found = memcmp(&((struct sockaddr_in *)r->ai_addr)->sin_addr,
                       &in4->sin_addr, 4) == 0;
      else if (r->ai_family == AF_INET6 && ss.ss_family == AF_INET6)
        found = memcmp(&((struct sockaddr_in6 *)r->ai_addr)->sin6_addr,
                       &in6->sin6_addr, 16) == 0;
    }
    freeaddrinfo(res);
  }
  if (!found) {
    *spoofed_r = true;
    return NULL;
  }
  return g_ascii_strdown(name, -1);
}
