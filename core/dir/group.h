/*
 * group.h - distribution lists: who may send to a group and who gets its
 * mail
 *
 * Senders: when mgrpAllowedBroadcaster or mgrpAllowedDomain are set the
 * envelope sender must match one (an address, "mailto:" address, or an
 * LDAP URL whose entries' addresses, or members for groups, count); then
 * mgrpDisallowedBroadcaster and mgrpDisallowedDomain refuse; policy
 * SMTP_AUTH_REQUIRED in mgrpBroadcasterPolicy refuses unauthenticated
 * submissions.  A refused message goes to the moderators (mgrpModerator)
 * when mgrpMsgRejectAction is TOMODERATOR, else is refused with
 * "5.7.1" and mgrpMsgRejectText.  mgrpMsgMaxSize refuses bigger
 * messages (5.3.4) when the size is known.
 *
 * Members (the "*" delivery option): mgrpRFC822MailMember addresses,
 * uniqueMember DNs, memberURL and mgrpDeliverTo LDAP URLs.  A member
 * that is itself a group is expanded in place; each group once (loops end
 * there, duplicates are removed); nesting stops at `[directory]
 * max_nesting`, size at `max_group_members` (5.2.4).  mgrpErrorsTo becomes
 * the envelope sender of the expanded copies.
 */
#ifndef CURSUS_DIR_GROUP_H
#define CURSUS_DIR_GROUP_H

#include "resolve.h"

/* group_resolve - resolve group E (status already checked) for PARAMS;
 * results as dir_resolve */
int group_resolve(const cursus_entry *e, dopt_vars *v,
                  const expand_params *params, expansion *out,
                  char **error_r);

#endif
