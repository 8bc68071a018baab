/*
 * fsutil.h - file-system helpers with durability and trust in mind
 */
#ifndef CURSUS_FSUTIL_H
#define CURSUS_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* fs_mkdir_p - create DIR and its parents with MODE; true if it exists */
bool fs_mkdir_p(const char *dir, mode_t mode, char **error_r);
/* fs_fsync_dir - fsync the directory DIR (makes renames/creates durable) */
bool fs_fsync_dir(const char *dir, char **error_r);
/* fs_write_atomic - write DATA to PATH via a temporary file, fsync, rename,
 * fsync the directory */
bool fs_write_atomic(const char *path, const void *data, size_t len,
                     mode_t mode, char **error_r);
/* fs_check_trusted - PATH (and, with CHECK_DIR, its directory) is owned
 * by root or by the effective user and not writable by group or others.
 * The loader and config reader refuse what fails this. */
bool fs_check_trusted(const char *path, bool check_dir, char **error_r);
/* fs_write_all - write(2) until done, retrying on EINTR */
bool fs_write_all(int fd, const void *data, size_t len);
/* fs_path_join - "DIR/NAME" unless NAME is absolute; newly allocated */
char *fs_path_join(const char *dir, const char *name);

#endif
