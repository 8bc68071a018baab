/*
 * service.c - mailAllowedServiceAccess rules (see service.h)
 */
#include "build-config.h"
#include "service.h"

#include <gio/gio.h>
#include <string.h>

/* service_matches - the rule's service NAME covers SERVICE */
static bool service_matches(const char *name, const char *service, bool tls) {
  static const struct {
    const char *name, *service;
    int tls; /* -1 either, 0 plain only, 1 TLS only */
  } names[] = {
      {"imap", "imap", -1},        {"imaps", "imap", 1},
      {"pop", "pop3", -1},         {"pop3", "pop3", -1},
      {"pops", "pop3", 1},         {"smtp", "smtp", -1},
      {"smtp", "submission", -1},  {"submission", "submission", -1},
      {"smtps", "submission", 1},  {"http", "http", -1},
      {"https", "http", 1},
  };
  if (strcmp(name, "*") == 0)
    return true;
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
    if (g_ascii_strcasecmp(name, names[i].name) == 0 &&
        g_ascii_strcasecmp(service, names[i].service) == 0 &&
        (names[i].tls < 0 || names[i].tls == (int)tls))
      return true;
  return false;
}

/* mask_len - a dotted mask as a prefix length, or -1 */
static int mask_len(const char *mask) {
  GInetAddress *a = g_inet_address_new_from_string(mask);
  int bits = -1;
  if (a != NULL && g_inet_address_get_family(a) == G_SOCKET_FAMILY_IPV4) {
    const guint8 *b = g_inet_address_to_bytes(a);
    guint32 m = ((guint32)b[0] << 24) | ((guint32)b[1] << 16) |
                ((guint32)b[2] << 8) | b[3];
    bits = 0;
    while (bits < 32 && (m & (0x80000000u >> bits)))
      bits++;
    if (bits < 32 && (m << bits) != 0)
      bits = -1;
  }
  if (a != NULL)
    g_object_unref(a);
  return bits;
}

/* client_matches - the client pattern PAT covers IP; *bad_r when PAT is
 * not a pattern */
static bool client_matches(const char *pat, const char *ip, bool *bad_r) {
  *bad_r = false;
  if (strcmp(pat, "*") == 0 || g_ascii_strcasecmp(pat, "ALL") == 0)
    return true;
  const char *slash = strchr(pat, '/');
  if (slash != NULL) {
    char *net = g_strndup(pat, (gsize)(slash - pat));
    int bits = strchr(slash + 1, '.') != NULL ? mask_len(slash + 1)
                                              : (int)g_ascii_strtoll(slash + 1,
                                                                     NULL, 10);
    GInetAddress *n = g_inet_address_new_from_string(net);
    GInetAddressMask *m =
        n != NULL && bits >= 0 ? g_inet_address_mask_new(n, (guint)bits, NULL)
                               : NULL;
    GInetAddress *a = ip != NULL ? g_inet_address_new_from_string(ip) : NULL;
    bool hit = m != NULL && a != NULL && g_inet_address_mask_matches(m, a);
    *bad_r = m == NULL;
    g_free(net);
    if (n != NULL)
      g_object_unref(n);
    if (m != NULL)
      g_object_unref(m);
    if (a != NULL)
      g_object_unref(a);
    return hit;
  }
  size_t len = strlen(pat);
  if (len > 0 && pat[len - 1] == '.')
    return ip != NULL && g_str_has_prefix(ip, pat);
  GInetAddress *p = g_inet_address_new_from_string(pat);
  GInetAddress *a = ip != NULL ? g_inet_address_new_from_string(ip) : NULL;
  bool hit = p != NULL && a != NULL && g_inet_address_equal(p, a);
  *bad_r = p == NULL;
  if (p != NULL)
    g_object_unref(p);
  if (a != NULL)
    g_object_unref(a);
  return hit;
}

/* list_matches - a comma-separated list has an item matching */
static bool list_matches(const char *list, bool clients, const char *service,
                         bool tls, const char *ip, bool *bad_r) {
  char **items = g_strsplit(list, ",", -1);
  bool hit = false;
  *bad_r = items[0] == NULL;
  for (char **i = items; *i != NULL && !hit && !*bad_r; i++) {
    char *item = g_strstrip(*i);
    hit = clients ? client_matches(item, ip, bad_r)
                  : service_matches(item, service, tls);
  }
  g_strfreev(items);
  return hit;
}

/* evaluate - 1 allow, 0 refuse, -1 malformed */
static int evaluate(const char *rules, const char *service, bool tls,
                    const char *ip) {
  char **list = g_strsplit(rules, "$", -1);
  bool has_allow = false;
  int verdict = 2; /* undecided */
  for (char **r = list; *r != NULL && verdict == 2; r++) {
    char *rule = g_strstrip(*r);
    bool bad = false;
    if (*rule == '\0')
      continue;
    bool allow = *rule != '-';
    if (*rule == '+' || *rule == '-')
      rule++;
    has_allow |= allow;
    char *colon = strchr(rule, ':');
    if (colon == NULL) {
      verdict = -1;
      break;
    }
    *colon = '\0';
    bool svc = list_matches(rule, false, service, tls, ip, &bad);
    bool cli = !bad && list_matches(colon + 1, true, service, tls, ip, &bad);
    if (bad)
      verdict = -1;
    else if (svc && cli)
      verdict = allow ? 1 : 0;
  }
  g_strfreev(list);
  return verdict == 2 ? !has_allow : verdict;
}

bool service_allowed(const char *rules, const char *service, bool tls,
                     const char *ip, const char **why_r) {
  if (rules == NULL || *rules == '\0')
    return true;
  int v = evaluate(rules, service != NULL ? service : "", tls, ip);
  if (v < 0)
    *why_r = "the service access rules are malformed";
  else if (v == 0)
    *why_r = "the service is not allowed for this account from this address";
  return v == 1;
}

bool service_rules_check(const char *rules, char **error_r) {
  if (evaluate(rules, "imap", false, "127.0.0.1") < 0) {
    *error_r = g_strdup_printf("\"%s\" is not a list of service access rules "
                               "([+|-]SERVICES:CLIENTS$...)",
                               rules);
    return false;
  }
  return true;
}
