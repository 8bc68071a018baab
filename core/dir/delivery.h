/*
 * delivery.h - delivery options: what mailDeliveryOption values turn an
 * address into
 *
 * `[directory] delivery_options` is a comma-separated table in the form
 * of the classic DELIVERY_OPTIONS option: each entry is
 * [FLAGS]NAME=TEMPLATE.  Flags:
 *   *  users only            &  groups only
 *   #  applied even when the user's mailHost is another server
 *   ^  only between vacationStartDate and vacationEndDate
 *   !  never for mail from the null sender
 *   /  the option used for entries whose status is "hold"
 *   @  deferred: applied only when the message comes back from the
 *      reprocess channel; before that the address goes there
 * The first entry for users and the first for groups are the defaults
 * for entries without a mailDeliveryOption.
 *
 * Templates: "*" expands a group's members, "**" gives the forwarding
 * addresses (mailForwardingAddress); else the text with substitutions:
 *   $A address   $L local part   $U mailbox (local part without
 *   subaddress)  $S subaddress   $D domain of the address   $I hosted
 *   domain, empty for the default domain   $M uid   $P program
 *   (mailProgramDeliveryInfo)   $F file (mailDeliveryFileURL)   $X mail
 *   host   $$ a dollar sign
 *   $\ lower case from here, $^ upper case, $_ as is
 *   $2x: like $x, but when x is empty the character before it is
 *   dropped too ("$M%$2I" gives "joe" or "joe%example.org")
 * A template naming $P or $F gives one address per value.  Pure: any
 * thread.
 */
#ifndef CURSUS_DIR_DELIVERY_H
#define CURSUS_DIR_DELIVERY_H

#include <stdbool.h>
#include <glib.h>

enum dopt_flag {
  DOPT_USERS = 1u << 0,
  DOPT_GROUPS = 1u << 1,
  DOPT_ANY_HOST = 1u << 2,
  DOPT_DATES = 1u << 3,
  DOPT_NOT_NULL = 1u << 4,
  DOPT_HOLD = 1u << 5,
  DOPT_DEFER = 1u << 6,
};

typedef struct dopt {
  char *name;
  unsigned flags;
  char *template;
} dopt;

typedef struct dopt_table dopt_table;

/* The values a template may use; NULL counts as empty. */
typedef struct dopt_vars {
  const char *address, *local, *mailbox, *subaddress, *domain, *hosted;
  const char *uid, *program, *file, *mailhost;
} dopt_vars;

/* dopt_table_parse - the table TEXT; NULL with *error_r (allocated) */
dopt_table *dopt_table_parse(const char *text, char **error_r);
void dopt_table_free(dopt_table **t);
/* dopt_find - the entry NAME applicable to KIND (DOPT_USERS or
 * DOPT_GROUPS), or NULL */
const dopt *dopt_find(const dopt_table *t, const char *name, unsigned kind);
/* dopt_default - the default entry for KIND, or NULL */
const dopt *dopt_default(const dopt_table *t, unsigned kind);
/* dopt_hold - the entry for held entries, or NULL */
const dopt *dopt_hold(const dopt_table *t);
/* dopt_check_template - TEMPLATE is well formed */
bool dopt_check_template(const char *template, char **error_r);
/* dopt_expand - TEMPLATE with V substituted; allocated */
char *dopt_expand(const char *template, const dopt_vars *v);
/* dopt_uses - TEMPLATE substitutes $LETTER */
bool dopt_uses(const char *template, char letter);

#endif
