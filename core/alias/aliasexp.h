/*
 * aliasexp.h - the alias file as an expander (core/mta/expand.h)
 *
 * Registered as a fallback expander, so the directory's expander is
 * always asked first (the classic ALIAS_MAGIC order: directory URLs, then
 * the alias file).  An address "local@domain" matches the alias
 * "local@domain", else the alias "local" when the domain is one of the
 * local channel's host names or the server's name.  Members written
 * "<URL" are asked of the mapping source serving the URL's scheme; each
 * line of its answer is one member.
 */
#ifndef CURSUS_ALIASEXP_H
#define CURSUS_ALIASEXP_H

/* aliasexp_register - register the expander (once) */
void aliasexp_register(void);

#endif
