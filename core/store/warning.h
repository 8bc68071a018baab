/*
 * warning.h - the message telling a user their mailbox is nearly full
 *
 * `[store] quota_warn_message` names a template file (relative to the
 * configuration directory): RFC 5322 header lines, a blank line, the
 * text, with these substituted (as the classic store.quotaexceededmsg):
 *   [ID]         the user id          [ADDRESS]   where the warning goes
 *   [DISKUSAGE]  usage in KB          [QUOTA]     the limit in KB
 *   [NUMMSG]     messages stored      [MSGQUOTA]  the message limit
 *   [PERCENT]    the larger of the two usages in percent
 * Without the setting a built-in text is used.  Date:, Message-ID:,
 * Auto-Submitted:, MIME headers and To: are added when the template has
 * none.
 */
#ifndef CURSUS_STORE_WARNING_H
#define CURSUS_STORE_WARNING_H

#include <glib.h>
#include <cursus/cursus.h>

struct config;

/* store_warning_compose - the warning for USER at ADDRESS as a message
 * with CRLF line ends; NULL with *error_r (allocated) when the template
 * cannot be read or has no header */
GString *store_warning_compose(const struct config *cfg, const char *user,
                               const char *address,
                               const cursus_store_quota *quota,
                               char **error_r);
/* store_warning_percent - how full QUOTA is (the larger of bytes and
 * messages), 0 when unlimited */
unsigned store_warning_percent(const cursus_store_quota *quota);

#endif
