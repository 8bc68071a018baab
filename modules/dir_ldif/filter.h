/*
 * filter.h - LDAP search filters (RFC 4515) evaluated on entries in
 * memory, for dir_ldif's search and dynamic groups
 *
 * Supports AND, OR, NOT, equality, presence, substrings, >= and <=
 * (numeric when both sides are integers), approximate match (as
 * equality), the absolute true/false filters "(&)" and "(|)" (RFC 4526)
 * and \XX escapes.  Values compare without case, as the caseIgnore
 * matching rules of the mail schema do.  Extensible matches are refused.
 * A filter without the outer parentheses ("uid=joe") is accepted, as
 * ldapsearch does.  Nesting is limited to FILTER_MAX_DEPTH.
 *
 * Needs GLib and the SDK headers.  A parsed filter is immutable: any
 * thread may match with it.
 */
#ifndef CURSUS_LDIF_FILTER_H
#define CURSUS_LDIF_FILTER_H

#include <stdbool.h>
#include <glib.h>
#include <cursus/directory.h>

#define FILTER_MAX_DEPTH 64
#define FILTER_MAX_LENGTH (64 * 1024)

typedef struct filter filter;

/* filter_parse - parse TEXT; NULL with *error_r (allocated) */
filter *filter_parse(const char *text, char **error_r);
/* filter_match - E matches F */
bool filter_match(const filter *f, const cursus_entry *e);
void filter_free(filter **f);

#endif
