/*
 * values.c - which values the server accepts in the attributes it uses
 * (see values.h)
 */
#include "build-config.h"
#include "values.h"
#include "address.h"
#include "status.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>


typedef bool checker(const char *value, char **error_r);

static bool chk_address(const char *v, char **error_r) {
  return dir_addr_check(v, false, error_r);
}

static bool chk_alternate(const char *v, char **error_r) {
  return dir_addr_check(v, true, error_r);
}

static bool chk_sender(const char *v, char **error_r) {
  if (g_ascii_strncasecmp(v, "ldap:", 5) == 0)
    return true;
  return dir_addr_check(g_ascii_strncasecmp(v, "mailto:", 7) == 0 ? v + 7 : v,
                        false, error_r);
}

static bool chk_status(const char *v, char **error_r) {
  if (dir_status_parse(v) != DIR_STATUS_UNKNOWN)
    return true;
  *error_r = g_strdup_printf("\"%s\" is not a status (active, inactive, "
                             "hold, overquota, disabled, deleted, removed)",
                             v);
  return false;
}

static bool chk_option(const char *v, char **error_r) {
  static const char *const names[] = {
      "mailbox", "native", "unix", "autoreply", "program", "forward",
      "hold", "file", "members", "members_offline", NULL};
  for (const char *const *n = names; *n != NULL; n++)
    if (g_ascii_strcasecmp(v, *n) == 0)
      return true;
  *error_r = g_strdup_printf("\"%s\" is not a delivery option", v);
  return false;
}

static bool chk_integer(const char *v, char **error_r) {
  char *end;
  (void)strtoll(v, &end, 10);
  if (*v != '\0' && *end == '\0')
    return true;
  *error_r = g_strdup_printf("\"%s\" is not an integer", v);
  return false;
}

static bool chk_time(const char *v, char **error_r) {
  size_t n = strlen(v);
  bool ok = (n == 13 || n == 15) && v[n - 1] == 'Z';
  for (size_t i = 0; ok && i + 1 < n; i++)
    ok = g_ascii_isdigit(v[i]);
  if (!ok)
    *error_r = g_strdup_printf("\"%s\" is not a time YYYYMMDDHHMMSSZ", v);
  return ok;
}

static bool chk_mode(const char *v, char **error_r) {
  if (g_ascii_strcasecmp(v, "reply") == 0 || g_ascii_strcasecmp(v, "echo") == 0)
    return true;
  *error_r = g_strdup_printf("\"%s\" is not an autoreply mode (reply, echo)",
                             v);
  return false;
}

static bool chk_url(const char *v, char **error_r) {
  if (g_ascii_strncasecmp(v, "ldap://", 7) == 0 ||
      g_ascii_strncasecmp(v, "ldaps://", 8) == 0 ||
      g_ascii_strncasecmp(v, "ldapi://", 8) == 0)
    return true;
  *error_r = g_strdup_printf("\"%s\" is not an LDAP URL", v);
  return false;
}

static const struct {
  const char *attr;
  checker *check;
} checks[] = {
    {"mail", chk_address},
    {"mailAlternateAddress", chk_alternate},
    {"mailEquivalentAddress", chk_address},
    {"mailForwardingAddress", chk_address},
    {"mailRoutingAddress", chk_address},
    {"mgrpRFC822MailMember", chk_address},
    {"mgrpErrorsTo", chk_address},
    {"mailDomainCatchallAddress", chk_address},
    {"mailDomainReportAddress", chk_address},
    {"mgrpAllowedBroadcaster", chk_sender},
    {"mgrpDisallowedBroadcaster", chk_sender},
    {"mgrpModerator", chk_sender},
    {"sunPreferredDomain", dir_domain_check},
    {"associatedDomain", dir_domain_check},
    {"msgVanityDomain", dir_domain_check},
    {"mailHost", dir_domain_check},
    {"preferredMailHost", dir_domain_check},
    {"mailRoutingSmartHost", dir_domain_check},
    {"mgrpAllowedDomain", dir_domain_check},
    {"mgrpDisallowedDomain", dir_domain_check},
    {"memberURL", chk_url},
    {"mgrpDeliverTo", chk_url},
    {"mailUserStatus", chk_status},
    {"inetUserStatus", chk_status},
    {"mailDomainStatus", chk_status},
    {"inetDomainStatus", chk_status},
    {"inetMailGroupStatus", chk_status},
    {"mailDeliveryOption", chk_option},
    {"mailAutoReplyMode", chk_mode},
    {"mailQuota", chk_integer},
    {"mailMsgQuota", chk_integer},
    {"mgrpMsgMaxSize", chk_integer},
    {"mailAutoReplyTimeOut", chk_integer},
    {"mailDomainDiskQuota", chk_integer},
    {"mailDomainMsgQuota", chk_integer},
    {"mailDomainAutoReplyTimeOut", chk_integer},
    {"vacationStartDate", chk_time},
    {"vacationEndDate", chk_time},
};

bool dir_check_value(const char *attr, const char *value, char **error_r) {
  char *why = NULL;
  if (!g_utf8_validate(value, -1, NULL) || strpbrk(value, "\r\n") != NULL) {
    if (g_ascii_strcasecmp(attr, "mailAutoReplyText") != 0 &&
        g_ascii_strcasecmp(attr, "mailAutoReplyTextInternal") != 0 &&
        g_ascii_strcasecmp(attr, "mailSieveRuleSource") != 0) {
      *error_r = g_strdup_printf("%s: the value must be one line of UTF-8",
                                 attr);
      return false;
    }
  }
  for (size_t i = 0; i < G_N_ELEMENTS(checks); i++)
    if (g_ascii_strcasecmp(attr, checks[i].attr) == 0 &&
        !checks[i].check(value, &why)) {
      *error_r = g_strdup_printf("%s: %s", attr, why);
      g_free(why);
      return false;
    }
  return true;
}

