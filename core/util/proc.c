/*
 * proc.c - process helpers
 */
#include "build-config.h"
#include "proc.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

static int proc_start_stderr = -1;

const char *proc_self_exe(void) {
  static char path[PATH_MAX];
  if (path[0] == '\0') {
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n < 0)
      g_strlcpy(path, "cursus", sizeof(path));
    else
      path[n] = '\0';
  }
  return path;
}

bool proc_pidfile_write(const char *path, char **error_r) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error_r = g_strdup_printf("cannot open pid file %s: %s", path,
                               g_strerror(errno));
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    *error_r = g_strdup_printf("pid file %s is locked: another instance is "
                               "running",
                               path);
    close(fd);
    return false;
  }
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) < 0 || !fs_write_all(fd, buf, (size_t)n)) {
    *error_r = g_strdup_printf("cannot write pid file %s: %s", path,
                               g_strerror(errno));
    close(fd);
    return false;
  }
  /* the descriptor stays open (and locked) for the life of the process */
  return true;
}

pid_t proc_pidfile_read(const char *path) {
  char *text = NULL;
  pid_t pid = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  /* a pid file nobody holds locked is stale */
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
    close(fd);
    return 0;
  }
  close(fd);
  if (g_file_get_contents(path, &text, NULL, NULL)) {
    long v = strtol(text, NULL, 10);
    if (v > 0 && kill((pid_t)v, 0) == 0)
      pid = (pid_t)v;
    g_free(text);
  }
  return pid;
}

void proc_pidfile_remove(const char *path) { (void)unlink(path); }

bool proc_daemonize(int *notify_fd_r, char **error_r) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    *error_r = g_strdup_printf("pipe: %s", g_strerror(errno));
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error_r = g_strdup_printf("fork: %s", g_strerror(errno));
    return false;
  }
  if (pid > 0) {
    /* the starting process: wait for the daemon's verdict */
    char status = 1;
    close(pipefd[1]);
    ssize_t n;
    do
      n = read(pipefd[0], &status, 1);
    while (n < 0 && errno == EINTR);
    _exit(n == 1 ? status : 1);
  }
  close(pipefd[0]);
  setsid();
  /* keep the starting terminal's stderr for start-up messages only: no
   * child may inherit it (the starter waits for it to close) */
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
      close(null);
  }
  if (saved >= 0)
    log_set_stderr_fd(saved);
  proc_start_stderr = saved;
  *notify_fd_r = pipefd[1];
  return true;
}

void proc_notify_parent(int notify_fd, int status) {
  if (notify_fd < 0)
    return;
  char c = (char)status;
  ssize_t n = write(notify_fd, &c, 1);
  (void)n;
  close(notify_fd);
  /* the starting terminal's stderr was kept for start-up messages */
  if (proc_start_stderr >= 0) {
    log_set_stderr_fd(STDERR_FILENO);
    close(proc_start_stderr);
    proc_start_stderr = -1;
  }
}

int proc_startup_stderr(void) {
  return proc_start_stderr >= 0 ? proc_start_stderr : STDERR_FILENO;
}

bool proc_user_ids(const char *user, uid_t *uid_r, gid_t *gid_r) {
  struct passwd *pw = getpwnam(user);
  if (pw == NULL)
    return false;
  *uid_r = pw->pw_uid;
  *gid_r = pw->pw_gid;
  return true;
}

bool proc_drop_privileges(const char *user, char **error_r) {
  uid_t uid;
  gid_t gid;
  if (geteuid() != 0 || user == NULL || strcmp(user, "root") == 0)
    return true;
  if (!proc_user_ids(user, &uid, &gid)) {
    *error_r = g_strdup_printf("user %s does not exist: create it or set "
                               "[server] user in cursus.conf",
                               user);
    return false;
  }
  if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
    *error_r = g_strdup_printf("cannot become user %s: %s", user,
                               g_strerror(errno));
    return false;
  }
  /* stay dumpable for post-mortem core files */
  prctl(PR_SET_DUMPABLE, 1);
  return true;
}

pid_t proc_spawn_self(char *const argv[], int keep_fd, char **error_r) {
  pid_t pid = fork();
  if (pid < 0) {
    *error_r = g_strdup_printf("fork: %s", g_strerror(errno));
    return -1;
  }
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (keep_fd >= 0) {
      if (keep_fd != 3) {
        dup2(keep_fd, 3);
        close(keep_fd);
      } else {
        fcntl(3, F_SETFD, 0);
      }
    }
    execv(proc_self_exe(), argv);
    fprintf(stderr, "cannot execute %s: %s\n", proc_self_exe(),
            g_strerror(errno));
    _exit(127);
  }
  return pid;
}

void proc_set_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
