/*
 * tmplscan.h - scanning helpers shared by the two template languages
 * (rewrite-rule templates and mapping templates)
 *
 * Both languages write call-outs as `$` + an opening character ... a
 * closing character, which may nest, and quote a character with `$`.
 */
#ifndef CURSUS_TMPLSCAN_H
#define CURSUS_TMPLSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Deepest nesting of call-outs inside call-outs. */
#define TMPL_MAX_NESTING 8

/* tmpl_find_close - P points just after "$OPEN"; the CLOSE character
 * ending this call-out (nested "$OPEN" counted, "$x" pairs skipped), or
 * NULL when there is none before END. */
const char *tmpl_find_close(const char *p, const char *end, char open,
                            char close);
/* tmpl_find_sep - the first SEP in [p, end) that is neither quoted with
 * '$' nor inside a nested call-out, or NULL */
const char *tmpl_find_sep(const char *p, const char *end, char sep);
/* tmpl_ldap_escape - append TEXT to OUT quoted for an LDAP search filter
 * (RFC 4515: * ( ) \ NUL as \xx) */
void tmpl_ldap_escape(GString *out, const char *text, size_t len);
/* tmpl_append_case - append TEXT to OUT in CASE_MODE: 0 as is, 'l' lower,
 * 'u' upper */
void tmpl_append_case(GString *out, const char *text, size_t len,
                      char case_mode);

#endif
