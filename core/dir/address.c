/*
 * address.c - parsing and checking mail addresses (see address.h)
 */
#include "build-config.h"
#include "address.h"

#include <glib.h>
#include <string.h>

#define MAX_LOCAL 64
#define MAX_ADDRESS 254
#define MAX_DOMAIN 253
#define MAX_LABEL 63

/* Octets allowed unquoted in a local part (RFC 5322 atext, RFC 6531). */
static bool atom_octet(unsigned char c) {
  static const char specials[] = "!#$%&'*+-/=?^_`{|}~";
  return c >= 0x80 || g_ascii_isalnum(c) ||
         (c != '\0' && strchr(specials, c) != NULL);
}

bool dir_domain_check(const char *domain, char **error_r) {
  size_t len = strlen(domain), label = 0;
  if (len == 0 || len > MAX_DOMAIN || !g_utf8_validate(domain, -1, NULL)) {
    *error_r = g_strdup_printf("\"%s\" is not a domain name (%s)", domain,
                               len == 0 ? "empty" : len > MAX_DOMAIN
                                                        ? "too long"
                                                        : "not UTF-8");
    return false;
  }
  for (size_t i = 0; i <= len; i++) {
    unsigned char c = (unsigned char)domain[i];
    bool end = c == '.' || c == '\0';
    const char *why = NULL;
    if (!end && !(g_ascii_isalnum(c) || c == '-' || c >= 0x80))
      why = "only letters, digits, hyphens and dots are allowed";
    else if (end && (label == 0 || label > MAX_LABEL))
      why = label == 0 ? "empty label" : "label longer than 63 octets";
    else if (end && (domain[i - label] == '-' || domain[i - 1] == '-'))
      why = "a label starts or ends with a hyphen";
    if (why != NULL) {
      *error_r = g_strdup_printf("\"%s\" is not a domain name (%s)", domain,
                                 why);
      return false;
    }
    label = end ? 0 : label + 1;
  }
  return true;
}

/* scan_local - the end of the local part at the start of S (the '@'),
 * or NULL with *why_r */
static const char *scan_local(const char *s, const char **why_r) {
  const char *c = s;
  if (*c == '"') {
    for (c++; *c != '"'; c++) {
      if (*c == '\0' || *c == '\r' || *c == '\n') {
        *why_r = "unterminated quoted local part";
        return NULL;
      }
      if (*c == '\\' && (c[1] == '\0' || c[1] == '\r' || c[1] == '\n')) {
        *why_r = "bad escape in a quoted local part";
        return NULL;
      }
      if (*c == '\\')
        c++;
    }
    c++;
  } else {
    const char *part = c;
    for (; *c != '@' && *c != '\0'; c++) {
      if (*c == '.') {
        if (c == part) {
          *why_r = "empty part between dots in the local part";
          return NULL;
        }
        part = c + 1;
      } else if (!atom_octet((unsigned char)*c)) {
        *why_r = "a character in the local part needs quoting";
        return NULL;
      }
    }
    if (c == s || c == part) {
      *why_r = c == s ? "empty local part" : "local part ends with a dot";
      return NULL;
    }
  }
  if (*c != '@') {
    *why_r = "no \"@domain\"";
    return NULL;
  }
  return c;
}

bool dir_addr_check(const char *address, bool catchall, char **error_r) {
  const char *why = NULL;
  if (!g_utf8_validate(address, -1, NULL)) {
    why = "not UTF-8";
  } else if (*address == '@' && catchall) {
    return dir_domain_check(address + 1, error_r);
  } else if (strlen(address) > MAX_ADDRESS) {
    why = "longer than 254 octets";
  } else {
    const char *at = scan_local(address, &why);
    if (at != NULL && at - address > MAX_LOCAL)
      why = "local part longer than 64 octets";
    else if (at != NULL)
      return dir_domain_check(at + 1, error_r);
  }
  *error_r = g_strdup_printf("\"%s\" is not an address (%s)", address, why);
  return false;
}

bool dir_addr_parse(const char *address, const char *sep, dir_addr *a,
                    char **error_r) {
  memset(a, 0, sizeof(*a));
  if (!dir_addr_check(address, false, error_r))
    return false;
  const char *why = NULL;
  const char *at = scan_local(address, &why);
  a->local = g_strndup(address, (gsize)(at - address));
  a->domain = g_ascii_strdown(at + 1, -1);
  const char *split = sep != NULL && *sep != '\0' && *a->local != '"'
                          ? strstr(a->local, sep)
                          : NULL;
  if (split != NULL && split > a->local) {
    a->mailbox = g_strndup(a->local, (gsize)(split - a->local));
    a->subaddress = g_strdup(split + strlen(sep));
  } else {
    a->mailbox = g_strdup(a->local);
  }
  return true;
}

void dir_addr_clear(dir_addr *a) {
  g_free(a->local);
  g_free(a->domain);
  g_free(a->mailbox);
  g_free(a->subaddress);
  memset(a, 0, sizeof(*a));
}

char *dir_addr_domain(const char *address) {
  const char *at = strrchr(address, '@');
  return at != NULL && at[1] != '\0' ? g_ascii_strdown(at + 1, -1) : NULL;
}

bool dir_addr_equal(const char *a, const char *b) {
  char *fa = g_utf8_casefold(a, -1), *fb = g_utf8_casefold(b, -1);
  bool same = strcmp(fa, fb) == 0;
  g_free(fa);
  g_free(fb);
  return same;
}
