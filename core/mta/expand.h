/*
 * expand.h - the boundary between address rewriting and the directory
 *
 * The rewrite engine (core/rewrite/) turns an address into a rewritten
 * address and a channel.  Addresses routed to the local channel (or to a
 * channel with `aliaslocal`) are then *expanded*: the directory (users,
 * groups, hosted domains, delivery options) or the alias file replaces
 * them with zero or more new addresses, each of which is rewritten again.
 * The rewrite rules' $V / $Z controls ask whether a domain is hosted here.
 *
 * The directory part of the core (core/dir/) provides these functions by
 * registering an expander; the rewrite part calls them.  Neither includes
 * the other's headers.  Return convention: 1 yes/expanded, 0 no/not ours,
 * CURSUS_TEMPFAIL (-1) lookup failed for now, CURSUS_PERMFAIL (-2) refused.
 */
#ifndef CURSUS_EXPAND_H
#define CURSUS_EXPAND_H

#include <glib.h>
#include <cursus/common.h>

/* What is known about the message when an address is expanded. */
typedef struct expand_params {
  const char *sender;         /* envelope sender, "" for the null sender */
  const char *source_channel; /* channel the message came from */
  const char *auth_user;      /* authenticated submitter, or NULL */
  unsigned depth;             /* expansion nesting so far (loop guard) */
  uint64_t size;              /* message size when known (SIZE=), else 0 */
} expand_params;

/* What an expansion produced. */
typedef struct expansion {
  /* char*: addresses to rewrite again; channel-host forms such as
   * "joe+INBOX@ims-ms-daemon" route directly */
  GPtrArray *addresses;
  /* new envelope sender for the expanded copies (a group's errors-to), or
   * NULL to keep the message's */
  char *errors_to;
  /* short note for `cursus test-rewrite` ("user joe, options mailbox,
   * forward"), or NULL */
  char *note;
  /* the entry's DN when a directory entry matched (logging), or NULL */
  char *dn;
} expansion;

void expansion_init(expansion *e);
void expansion_clear(expansion *e);

typedef struct expander {
  const char *name; /* "directory", "aliases" */
  /* Expand ADDRESS (already rewritten, user@domain form): 1 with OUT
   * filled, 0 when the address is not this expander's, TEMPFAIL/PERMFAIL
   * with *error_r (an allocated "5.1.1 text" / "4.4.3 text" string). */
  int (*expand)(void *data, const char *address, const expand_params *params,
                expansion *out, char **error_r);
  /* Is DOMAIN hosted here (a domain entry, an alias of one, or a vanity
   * domain)?  1, 0, or TEMPFAIL with *error_r.  May be NULL. */
  int (*domain_is_local)(void *data, const char *domain, char **error_r);
  void *data;
} expander;

/* expander_register - add an expander; they are tried in registration
 * order (the directory first, then the alias file, as the classic
 * ALIAS_MAGIC 8764 order does) */
void expander_register(const expander *e);
/* expander_register_fallback - add an expander tried after every one
 * registered with expander_register, whenever either was registered (the
 * alias file's, so the directory always comes first) */
void expander_register_fallback(const expander *e);
void expander_unregister_all(void);
/* expand_address - try every expander in order; the first that returns
 * non-zero decides */
int expand_address(const char *address, const expand_params *params,
                   expansion *out, char **error_r, const char **by_r);
/* domain_is_local - ask every expander that can tell; 1 when one says
 * yes, TEMPFAIL when one failed and none said yes, else 0 */
int domain_is_local(const char *domain, char **error_r);

#endif
