/*
 * fsutil.c - file-system helpers
 */
#include "build-config.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

bool fs_mkdir_p(const char *dir, mode_t mode, char **error_r) {
  if (g_mkdir_with_parents(dir, (int)mode) < 0) {
    *error_r = g_strdup_printf("cannot create directory %s: %s", dir,
                               g_strerror(errno));
    return false;
  }
  return true;
}

bool fs_fsync_dir(const char *dir, char **error_r) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0) {
    *error_r = g_strdup_printf("cannot fsync directory %s: %s", dir,
                               g_strerror(errno));
    if (fd >= 0)
      close(fd);
    return false;
  }
  close(fd);
  return true;
}

bool fs_write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += n;
    len -= (size_t)n;
  }
  return true;
}

bool fs_write_atomic(const char *path, const void *data, size_t len,
                     mode_t mode, char **error_r) {
  char *tmp = g_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  char *dir = g_path_get_dirname(path);
  bool ok = false;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

  if (fd < 0) {
    *error_r = g_strdup_printf("cannot create %s: %s", tmp, g_strerror(errno));
    goto out;
  }
  if (!fs_write_all(fd, data, len) || fsync(fd) < 0) {
    *error_r = g_strdup_printf("cannot write %s: %s", tmp, g_strerror(errno));
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    *error_r = g_strdup_printf("cannot rename %s to %s: %s", tmp, path,
                               g_strerror(errno));
    unlink(tmp);
    goto out;
  }
  ok = fs_fsync_dir(dir, error_r);
out:
  g_free(tmp);
  g_free(dir);
  return ok;
}

/* trusted_stat - owner and write-permission check of one path */
static bool trusted_stat(const char *path, const char *what, char **error_r) {
  struct stat st;
  if (stat(path, &st) < 0) {
    *error_r = g_strdup_printf("cannot stat %s %s: %s", what, path,
                               g_strerror(errno));
    return false;
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    *error_r = g_strdup_printf(
        "%s %s is owned by uid %ld, not by root or the server user (uid %ld)",
        what, path, (long)st.st_uid, (long)geteuid());
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    /* a sticky world-writable directory (/tmp) is still unsafe for us */
    *error_r = g_strdup_printf("%s %s is writable by %s (mode %04o)", what,
                               path,
                               (st.st_mode & S_IWOTH) ? "others" : "its group",
                               (unsigned)(st.st_mode & 07777));
    return false;
  }
  return true;
}

bool fs_check_trusted(const char *path, bool check_dir, char **error_r) {
  if (!trusted_stat(path, "file", error_r))
    return false;
  if (check_dir) {
    char *dir = g_path_get_dirname(path);
    bool ok = trusted_stat(dir, "directory", error_r);
    g_free(dir);
    return ok;
  }
  return true;
}

char *fs_path_join(const char *dir, const char *name) {
  if (g_path_is_absolute(name))
    return g_strdup(name);
  return g_build_filename(dir, name, NULL);
}
