/*
 * userlimit.h - how many sessions one user may have open at once, counted
 * across every worker process
 *
 * Each session holds a write lock on one byte ("slot") of a per-user file
 * in a run directory; a new session looks for a free slot among the first
 * MAX.  The kernel drops the locks of a process that dies, so a crashed
 * worker never leaves phantom sessions behind.  Within a process the
 * slots held are remembered (POSIX locks do not conflict with their own
 * process), and one descriptor per user is kept while it has sessions:
 * closing any other descriptor of the file would drop every lock.
 *
 * Thread-safe.  Needs GLib and POSIX record locks.
 */
#ifndef USERLIMIT_H
#define USERLIMIT_H

typedef struct userlimit userlimit;

/* userlimit_new - sessions of SERVICE ("imap") under DIR, at most MAX per
 * user (0 = no limit: acquire always succeeds without files) */
userlimit *userlimit_new(const char *dir, const char *service, unsigned max);
void userlimit_free(userlimit **ul);

/* userlimit_acquire - a slot for a new session of USER: >= 0; -1 when
 * USER has MAX sessions; -2 when the count cannot be kept (*error_r, a
 * static text or errno string; the caller may let the session in) */
int userlimit_acquire(userlimit *ul, const char *user, const char **error_r);
/* userlimit_release - give back SLOT of USER (ignored when < 0) */
void userlimit_release(userlimit *ul, const char *user, int slot);

#endif
