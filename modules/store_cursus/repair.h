/*
 * repair.h - finishing what a crash interrupted, and rebuilding the
 * system area from the partitions
 */
#ifndef SC_REPAIR_H
#define SC_REPAIR_H

#include "user.h"

/* sc_repair_intents - finish or undo OWNER's interrupted create, delete
 * or rename (user lock LK held); when there was one, the usage in LK is
 * counted again once the folders are where the mailbox list says.  True
 * when there was one. */
bool sc_repair_intents(sc_store *st, const char *owner, sc_ulock *lk);
/* sc_repair_user_list - record OWNER (found on PARTITION) and every
 * folder under its directory in the mailbox list */
bool sc_repair_user_list(sc_store *st, const char *owner,
                         const char *partition, GError **error);

/* sc_fast_recover - bring a mailbox list restored from a snapshot up to
 * date with the partitions: folders and users created or removed since
 * are added or dropped; records that still match are kept as they are */
bool sc_fast_recover(sc_store *st,
                     void (*report)(void *data, const char *line), void *data,
                     GError **error);

/* sc_snapshot_restore_file - put snapshot NAME (NULL: the newest) in place
 * of the mailbox list file (its lock held, or the list not open) */
bool sc_snapshot_restore_file(sc_store *st, const char *name, char **used_r,
                              GError **error);

#endif
