/*
 * proc.h - process helpers: pid files, daemonising, privileges, spawning
 * the cursus program itself
 */
#ifndef CURSUS_PROC_H
#define CURSUS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* proc_self_exe - absolute path of the running program */
const char *proc_self_exe(void);
/* proc_pidfile_write - write our pid to PATH and keep it locked (flock) so
 * a second instance can tell; false with *error_r when another process
 * holds it */
bool proc_pidfile_write(const char *path, char **error_r);
/* proc_pidfile_read - the pid in PATH when that process is alive and
 * still holds the lock; 0 otherwise */
pid_t proc_pidfile_read(const char *path);
void proc_pidfile_remove(const char *path);
/* proc_daemonize - fork, setsid, stdin/stdout/stderr to /dev/null; the
 * parent waits for the child to write one byte to READY_FD... (see .c) */
bool proc_daemonize(int *notify_fd_r, char **error_r);
/* proc_notify_parent - tell the process that ran `cursus start` how start-
 * up went (0 = ready), once */
void proc_notify_parent(int notify_fd, int status);
/* proc_startup_stderr - the starting terminal's stderr while start-up
 * lasts (after proc_daemonize), else 2 */
int proc_startup_stderr(void);
/* proc_drop_privileges - when root, become USER (and its group); a no-op
 * when USER is "root" or we are not root */
bool proc_drop_privileges(const char *user, char **error_r);
/* proc_user_ids - uid and gid of USER */
bool proc_user_ids(const char *user, uid_t *uid_r, gid_t *gid_r);
/* proc_spawn_self - fork and exec this program with ARGV (argv[0] is
 * replaced); KEEP_FD (or -1) stays open in the child as fd 3 */
pid_t proc_spawn_self(char *const argv[], int keep_fd, char **error_r);
/* proc_set_title - what `ps` shows (argv overwrite is not used; sets the
 * comm name) */
void proc_set_name(const char *name);

#endif
