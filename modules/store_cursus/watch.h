/*
 * watch.h - change notifications across processes (inotify)
 *
 * One inotify descriptor per process, watched by the host's event loop.
 * A folder is watched once (its directory: a write to store.log, or a
 * new log after a checkpoint) however many views watch it; each change
 * wakes every watcher of the folder once per loop iteration.
 */
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include "sc.h"

struct sc_folder;

cursus_store_watch *sc_op_watch_add(cursus_store_mailbox *box,
                                    void (*cb)(void *data), void *data,
                                    const char **error_r);
void sc_op_watch_remove(cursus_store_watch **watch);
/* sc_watch_folder_gone - forget F's watches (F is being freed) */
void sc_watch_folder_gone(struct sc_folder *f);
/* sc_watch_shutdown - close the inotify descriptor */
void sc_watch_shutdown(void);

#endif
