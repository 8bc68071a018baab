/*
 * addrlist.h - the addresses of an RFC 5322 address-list header field
 *
 * Header fields such as From:, To:, Cc: hold display names, comments,
 * groups and addresses.  Rewriting must change only the addr-spec of each
 * mailbox and leave every other octet alone, so this walker finds each
 * addr-spec (inside <...> or bare) and lets a callback replace it.
 *
 * Needs GLib only.
 */
#ifndef CURSUS_ADDRLIST_H
#define CURSUS_ADDRLIST_H

#include <glib.h>

/* Longest header field value walked. */
#define ADDRLIST_MAX (256 * 1024)

/* Returns the replacement for SPEC (allocated), or NULL to keep it. */
typedef char *addrlist_fn(void *data, const char *spec);

/* addrlist_map - VALUE with every addr-spec replaced by FN's answer.
 * 1 with *out_r (allocated), or -2 with *error_r for a value that is not
 * an address list (unbalanced quotes, comments or brackets, too long). */
int addrlist_map(const char *value, addrlist_fn *fn, void *data,
                 char **out_r, char **error_r);
/* addrlist_specs - the addr-specs of VALUE in order (char*), comments and
 * white space removed; NULL when VALUE is malformed */
GPtrArray *addrlist_specs(const char *value);

#endif
