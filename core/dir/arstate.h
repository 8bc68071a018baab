/*
 * arstate.h - who was sent an autoreply, and when: the durable memory
 * behind "once per sender per interval"
 *
 * One Tokyo Cabinet hash database (`[directory] autoreply_db`, default
 * STATE/autoreply.tch) keyed by user and sender, holding the time of the
 * last reply and the interval that applied.  Every change is synced to
 * disk (HDBOTSYNC) before the call returns, and the database's file lock
 * serialises the channel jobs of all processes, so two copies of one
 * message delivered at once never both reply (the threads of one process
 * take turns on a lock of their own).  Entries whose interval
 * has passed are pruned once a day.
 */
#ifndef CURSUS_ARSTATE_H
#define CURSUS_ARSTATE_H

#include <time.h>

/* arstate_claim - is a reply from USER to SENDER due at NOW, INTERVAL
 * seconds after the last?  1: yes, and it is recorded as sent (call
 * arstate_release if the reply cannot be sent); 0: not due; -1 with
 * *error_r.  *prev_r (allocated, may be NULL) is what release needs. */
int arstate_claim(const char *path, const char *user, const char *sender,
                  time_t now, unsigned interval, char **prev_r,
                  char **error_r);
/* arstate_release - undo a claim: PREV is what claim returned */
void arstate_release(const char *path, const char *user, const char *sender,
                     const char *prev);

#endif
