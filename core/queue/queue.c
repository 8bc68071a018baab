/*
 * queue.c - existing queue files: ids, paths, reading, records, scans
 */
#define _GNU_SOURCE
#include "build-config.h"
#include "queue.h"
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

/* Buffer for copies where copy_file_range cannot work. */
#define READ_CHUNK (64 * 1024)

static const char b32[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

/* put_b32 - N base-32 digits of V, most significant first */
static void put_b32(char *out, uint64_t v, unsigned n) {
  for (unsigned i = n; i > 0; i--) {
    out[i - 1] = b32[v & 31];
    v >>= 5;
  }
}

void queue_new_id(char out[QUEUE_ID_LEN + 1]) {
  static gint counter;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  unsigned c = (unsigned)g_atomic_int_add(&counter, 1);
  put_b32(out, (uint64_t)tv.tv_sec, 7);
  put_b32(out + 7, (uint64_t)tv.tv_usec, 4);
  put_b32(out + 11, (uint64_t)getpid(), 5);
  put_b32(out + 16, c, 2);
  out[QUEUE_ID_LEN] = '\0';
}

bool queue_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n < QUEUE_ID_LEN + 2 || n > QUEUE_NAME_MAX || name[QUEUE_ID_LEN] != '.')
    return false;
  for (size_t i = 0; i < QUEUE_ID_LEN; i++)
    if (strchr(b32, name[i]) == NULL)
      return false;
  for (size_t i = QUEUE_ID_LEN + 1; i < n; i++)
    if (!g_ascii_isdigit(name[i]))
      return false;
  return true;
}

unsigned queue_subdir(const char *name, unsigned subdirs) {
  if (subdirs <= 1)
    return 0;
  /* the id's fastest-changing part spreads messages evenly */
  return (unsigned)(g_str_hash(name) % subdirs);
}

char *queue_rel_path(const char *channel, unsigned subdirs, const char *name) {
  if (subdirs <= 1)
    return g_strdup_printf("%s/%s", channel, name);
  return g_strdup_printf("%s/%03u/%s", channel, queue_subdir(name, subdirs),
                         name);
}

/* ---------------------------------------------------------- reading */

static int errno_status(int err) {
  return err == ENOENT ? CURSUS_NONE : CURSUS_TEMPFAIL;
}

/* read_at - exactly LEN bytes at OFFSET; false at a short read */
static bool read_at(int fd, void *buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += (size_t)n;
  }
  return true;
}

/* ofd_lock - an open-file-description lock of TYPE on byte 0 (WAIT:
 * until it is granted); these are apart from the flock(2) locks that
 * serialise appends */
static int ofd_lock(int fd, short type, bool wait) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0,
                     .l_len = 1};
  for (;;) {
    int rc = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    if (rc == 0 || errno != EINTR)
      return rc;
  }
}

int queue_use(int fd, const char *path, char **error_r) {
  if (ofd_lock(fd, F_RDLCK, true) < 0) {
    *error_r = g_strdup_printf("%s: lock: %s", path, g_strerror(errno));
    return CURSUS_TEMPFAIL;
  }
  if (!queue_still_named(fd, path, NULL)) {
    *error_r = g_strdup_printf("%s: removed meanwhile", path);
    return CURSUS_NONE;
  }
  return CURSUS_OK;
}

bool queue_own(int fd) { return ofd_lock(fd, F_WRLCK, false) == 0; }

bool queue_still_named(int fd, const char *path, struct stat *st_r) {
  struct stat a, b;
  bool named = fstat(fd, &a) == 0 && a.st_nlink > 0 && stat(path, &b) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  if (named && st_r != NULL)
    *st_r = a;
  return named;
}

/* load - read preamble, envelope and records of MSG->fd */
static int load(qmsg *m, char **error_r) {
  char pre[QFILE_PREAMBLE];
  struct stat st;
  uint64_t clen;
  size_t elen;
  const char *why;
  if (fstat(m->fd, &st) < 0) {
    *error_r = g_strdup_printf("%s: %s", m->path, g_strerror(errno));
    return CURSUS_TEMPFAIL;
  }
  if (!read_at(m->fd, pre, sizeof(pre), 0) ||
      !qfile_parse_preamble(pre, sizeof(pre), &clen, &elen, &why)) {
    *error_r = g_strdup_printf("%s: %s", m->path,
                               (uint64_t)st.st_size < QFILE_PREAMBLE
                                   ? "not a queue file (too short)"
                                   : why);
    return CURSUS_PERMFAIL;
  }
  uint64_t env_off = QFILE_PREAMBLE + clen;
  if (env_off < clen || env_off + elen > (uint64_t)st.st_size) {
    *error_r = g_strdup_printf("%s: queue file is truncated", m->path);
    return CURSUS_PERMFAIL;
  }
  size_t rest = (size_t)MIN((uint64_t)st.st_size - env_off,
                            (uint64_t)QFILE_MAX_ENVELOPE * 2);
  char *buf = g_malloc(rest + 1);
  if (!read_at(m->fd, buf, rest, env_off)) {
    g_free(buf);
    *error_r = g_strdup_printf("%s: read: %s", m->path, g_strerror(errno));
    return CURSUS_TEMPFAIL;
  }
  char *err = NULL;
  qenv *env = qenv_parse(buf, rest, elen, &err);
  g_free(buf);
  if (env == NULL) {
    *error_r = g_strdup_printf("%s: %s", m->path, err);
    g_free(err);
    return CURSUS_PERMFAIL;
  }
  if (env->size != clen) {
    *error_r = g_strdup_printf("%s: content size %llu in the envelope, %llu "
                               "in the preamble",
                               m->path, (unsigned long long)env->size,
                               (unsigned long long)clen);
    qenv_free(&env);
    return CURSUS_PERMFAIL;
  }
  qenv_free(&m->env);
  m->env = env;
  m->content_offset = QFILE_PREAMBLE;
  m->end = env_off + elen + env->records_len;
  if (m->writable && env->torn_len > 0) {
    /* a torn append from a crash: cut it so later records are read */
    if (ftruncate(m->fd, (off_t)m->end) < 0) {
      *error_r = g_strdup_printf("%s: truncate: %s", m->path, g_strerror(errno));
      return CURSUS_TEMPFAIL;
    }
    env->torn_len = 0;
  }
  return CURSUS_OK;
}

int qmsg_open(const char *path, bool writable, qmsg **msg_r, char **error_r) {
  int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    *error_r = g_strdup_printf("%s: %s", path, g_strerror(errno));
    return errno_status(errno);
  }
  qmsg *m = g_new0(qmsg, 1);
  m->path = g_strdup(path);
  m->fd = fd;
  m->writable = writable;
  /* in use for as long as it is open: a file is only recycled by whoever
   * has it alone (see queue_use) */
  int rc = queue_use(fd, path, error_r);
  if (rc != CURSUS_OK) {
    qmsg_close(&m);
    return rc;
  }
  if (writable && flock(fd, LOCK_EX) < 0) {
    *error_r = g_strdup_printf("%s: lock: %s", path, g_strerror(errno));
    qmsg_close(&m);
    return CURSUS_TEMPFAIL;
  }
  rc = load(m, error_r);
  if (writable)
    flock(fd, LOCK_UN);
  if (rc != CURSUS_OK) {
    qmsg_close(&m);
    return rc;
  }
  *msg_r = m;
  return CURSUS_OK;
}

void qmsg_close(qmsg **mp) {
  qmsg *m = *mp;
  if (m == NULL)
    return;
  *mp = NULL;
  if (m->fd >= 0)
    close(m->fd);
  qenv_free(&m->env);
  g_free(m->path);
  g_free(m);
}

int qmsg_reload(qmsg *m, char **error_r) {
  struct stat st;
  if (fstat(m->fd, &st) == 0 && st.st_nlink == 0) {
    /* replaced by a compaction or deleted: follow the name */
    int fd = open(m->path, (m->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      *error_r = g_strdup_printf("%s: %s", m->path, g_strerror(errno));
      return errno_status(errno);
    }
    close(m->fd);
    m->fd = fd;
    int rc = queue_use(fd, m->path, error_r);
    if (rc != CURSUS_OK)
      return rc;
  }
  return load(m, error_r);
}

/* ---------------------------------------------------------- records */

/* append - write RECORD under the lock; when another process replaced
 * or removed the file meanwhile, follow it (or report NONE) */
static int append(qmsg *m, const GString *record, bool sync, char **error_r) {
  if (!m->writable) {
    *error_r = g_strdup_printf("%s: opened read-only", m->path);
    return CURSUS_TEMPFAIL;
  }
  for (int tries = 0; tries < 3; tries++) {
    struct stat st;
    if (flock(m->fd, LOCK_EX) < 0 || fstat(m->fd, &st) < 0) {
      *error_r = g_strdup_printf("%s: %s", m->path, g_strerror(errno));
      return CURSUS_TEMPFAIL;
    }
    if (st.st_nlink == 0) {
      flock(m->fd, LOCK_UN);
      int rc = qmsg_reload(m, error_r);
      if (rc != CURSUS_OK)
        return rc;
      continue;
    }
    if ((uint64_t)st.st_size != m->end) {
      /* another process appended: take its records into account */
      int rc = load(m, error_r);
      if (rc != CURSUS_OK) {
        flock(m->fd, LOCK_UN);
        return rc;
      }
    }
    ssize_t n = pwrite(m->fd, record->str, record->len, (off_t)m->end);
    if (n != (ssize_t)record->len) {
      int err = n < 0 ? errno : ENOSPC;
      /* never leave half a record behind a later good one */
      if (ftruncate(m->fd, (off_t)m->end) < 0) {
        /* the torn tail is cut by the next writer's load */
      }
      flock(m->fd, LOCK_UN);
      *error_r = g_strdup_printf("%s: write: %s", m->path, g_strerror(err));
      return CURSUS_TEMPFAIL;
    }
    m->end += record->len;
    m->unsynced = true;
    int rc = CURSUS_OK;
    if (sync && fdatasync(m->fd) < 0) {
      *error_r = g_strdup_printf("%s: fsync: %s", m->path, g_strerror(errno));
      rc = CURSUS_TEMPFAIL;
    } else if (sync) {
      m->unsynced = false;
    }
    flock(m->fd, LOCK_UN);
    return rc;
  }
  *error_r = g_strdup_printf("%s: keeps changing under us", m->path);
  return CURSUS_TEMPFAIL;
}

int qmsg_result(qmsg *m, unsigned index, qstate state, const char *code,
                const char *text, const char *remote, char **error_r) {
  if (index >= m->env->rcpts->len) {
    *error_r = g_strdup_printf("%s: no recipient %u", m->path, index);
    return CURSUS_PERMFAIL;
  }
  int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  GString *rec = g_string_new(NULL);
  qrec_result(rec, index, state, now, code, text, remote);
  int rc = append(m, rec, false, error_r);
  g_string_free(rec, TRUE);
  if (rc == CURSUS_OK) {
    qrcpt *r = m->env->rcpts->pdata[index];
    r->state = state;
    r->when = now;
    r->results++;
    g_free(r->code);
    g_free(r->diag);
    g_free(r->remote);
    r->code = code != NULL && *code != '\0' ? g_strdup(code) : NULL;
    r->diag = text != NULL && *text != '\0' ? g_strdup(text) : NULL;
    r->remote = remote != NULL && *remote != '\0' ? g_strdup(remote) : NULL;
  }
  return rc;
}

int qmsg_sync(qmsg *m, char **error_r) {
  if (!m->unsynced)
    return CURSUS_OK;
  if (fdatasync(m->fd) < 0) {
    *error_r = g_strdup_printf("%s: fsync: %s", m->path, g_strerror(errno));
    return CURSUS_TEMPFAIL;
  }
  m->unsynced = false;
  return CURSUS_OK;
}

int qmsg_reschedule(qmsg *m, unsigned attempts, int64_t next_retry,
                    char **error_r) {
  GString *rec = g_string_new(NULL);
  qrec_retry(rec, attempts, next_retry);
  int rc = append(m, rec, true, error_r);
  g_string_free(rec, TRUE);
  if (rc == CURSUS_OK) {
    m->env->attempts = attempts;
    m->env->next_retry = next_retry;
  }
  return rc;
}

int qmsg_hold(qmsg *m, bool held, char **error_r) {
  GString *rec = g_string_new(NULL);
  qrec_hold(rec, held);
  int rc = append(m, rec, true, error_r);
  g_string_free(rec, TRUE);
  if (rc == CURSUS_OK)
    m->env->held = held;
  return rc;
}

int qmsg_notice(qmsg *m, unsigned notices, char **error_r) {
  GString *rec = g_string_new(NULL);
  qrec_notice(rec, notices);
  int rc = append(m, rec, true, error_r);
  g_string_free(rec, TRUE);
  if (rc == CURSUS_OK)
    m->env->notices = notices;
  return rc;
}

int qmsg_dsn(qmsg *m, unsigned index, unsigned bits, bool sync,
             char **error_r) {
  if (index >= m->env->rcpts->len) {
    *error_r = g_strdup_printf("%s: no recipient %u", m->path, index);
    return CURSUS_PERMFAIL;
  }
  GString *rec = g_string_new(NULL);
  qrec_dsn(rec, index, bits);
  int rc = append(m, rec, sync, error_r);
  g_string_free(rec, TRUE);
  if (rc == CURSUS_OK)
    ((qrcpt *)m->env->rcpts->pdata[index])->dsn = bits;
  return rc;
}

/* retire - move M's file among QUEUE_DIR's spare files; false when it
 * cannot be recycled (another process has it open, it is large, the
 * spare slots tried are taken) */
static bool retire(qmsg *m, const char *queue_dir) {
  struct stat st;
  if (queue_dir == NULL || !m->writable || !queue_own(m->fd) ||
      !queue_still_named(m->fd, m->path, &st) ||
      st.st_size > QUEUE_SPARE_MAX_SIZE)
    return false;
  char *dir = g_build_filename(queue_dir, QUEUE_SPARE_DIR, NULL);
  bool done = false;
  for (int tries = 0; tries < 2 && !done; tries++) {
    char *spare = g_strdup_printf("%s/%04d", dir,
                                  g_random_int_range(0, QUEUE_SPARES));
    int rc = renameat2(AT_FDCWD, m->path, AT_FDCWD, spare, RENAME_NOREPLACE);
    if (rc < 0 && errno == ENOENT && tries == 0) {
      char *err = NULL;
      if (!queue_mkdirs(queue_dir, QUEUE_SPARE_DIR, &err))
        tries = 2;
      g_free(err);
    }
    g_free(spare);
    done = rc == 0;
  }
  g_free(dir);
  /* never taken for a queue file again, even if a power failure brought
   * back stale blocks under a new name (the committer checks it) */
  if (done && pwrite(m->fd, QUEUE_SPARE_MAGIC, QUEUE_SPARE_MAGIC_LEN, 0) < 0) {
    /* the committer writes it before it takes the file */
  }
  return done;
}

int qmsg_delete(qmsg *m, const char *queue_dir, bool sync, char **error_r) {
  char *dir = g_path_get_dirname(m->path);
  char *err = NULL;
  int rc = CURSUS_OK;
  if (!retire(m, queue_dir) && unlink(m->path) < 0 && errno != ENOENT) {
    *error_r = g_strdup_printf("%s: unlink: %s", m->path, g_strerror(errno));
    rc = CURSUS_TEMPFAIL;
  } else if (sync && !fs_fsync_dir(dir, &err)) {
    *error_r = err;
    rc = CURSUS_TEMPFAIL;
  }
  g_free(dir);
  return rc;
}

/* queue_copy_range - LEN bytes from IN at IN_OFF to OUT at OUT_OFF */
bool queue_copy_range(int in, uint64_t in_off, int out, uint64_t out_off,
                       uint64_t len) {
  loff_t io = (loff_t)in_off, oo = (loff_t)out_off;
  while (len > 0) {
    ssize_t n = copy_file_range(in, &io, out, &oo, (size_t)MIN(len, 1u << 30), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      /* no in-kernel copy here: copy through a buffer */
      char buf[READ_CHUNK];
      while (len > 0) {
        size_t want = (size_t)MIN(len, sizeof(buf));
        if (!read_at(in, buf, want, (uint64_t)io) ||
            pwrite(out, buf, want, (off_t)oo) != (ssize_t)want)
          return false;
        io += (loff_t)want;
        oo += (loff_t)want;
        len -= want;
      }
      return true;
    }
    len -= (uint64_t)n;
  }
  return true;
}

int qmsg_compact(qmsg *m, char **error_r) {
  char *dir = g_path_get_dirname(m->path);
  char *base = g_path_get_basename(m->path);
  char *tmp = g_strdup_printf("%s/.%s.compact", dir, base);
  int rc = CURSUS_TEMPFAIL;
  GString *env = g_string_new(NULL);
  int fd = -1;
  char *err = NULL;
  if (flock(m->fd, LOCK_EX) < 0) {
    *error_r = g_strdup_printf("%s: lock: %s", m->path, g_strerror(errno));
    goto out;
  }
  rc = load(m, error_r);
  if (rc != CURSUS_OK)
    goto unlock;
  rc = CURSUS_TEMPFAIL;
  qenv_format(m->env, env);
  char pre[QFILE_PREAMBLE];
  qfile_preamble(pre, m->env->size, env->len);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || pwrite(fd, pre, sizeof(pre), 0) != (ssize_t)sizeof(pre) ||
      !queue_copy_range(m->fd, m->content_offset, fd, QFILE_PREAMBLE, m->env->size) ||
      pwrite(fd, env->str, env->len, (off_t)(QFILE_PREAMBLE + m->env->size)) !=
          (ssize_t)env->len ||
      fsync(fd) < 0 || rename(tmp, m->path) < 0 || !fs_fsync_dir(dir, &err)) {
    *error_r = err != NULL ? err
                           : g_strdup_printf("%s: compact: %s", m->path,
                                             g_strerror(errno));
    err = NULL;
    unlink(tmp);
    goto unlock;
  }
  /* the old inode is unlinked now: follow the name (closing the old
   * descriptor drops its lock; waiting writers then see it unlinked) */
  close(fd);
  fd = open(m->path, (m->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    *error_r = g_strdup_printf("%s: reopen: %s", m->path, g_strerror(errno));
    goto unlock;
  }
  close(m->fd);
  m->fd = fd;
  fd = -1;
  rc = queue_use(m->fd, m->path, error_r);
  if (rc == CURSUS_OK)
    rc = load(m, error_r);
  goto out;
unlock:
  flock(m->fd, LOCK_UN);
out:
  if (fd >= 0)
    close(fd);
  g_string_free(env, TRUE);
  g_free(tmp);
  g_free(base);
  g_free(dir);
  return rc;
}

/* ------------------------------------------------------------ scans */

static bool is_subdir_name(const char *name) {
  return strlen(name) == 3 && g_ascii_isdigit(name[0]) &&
         g_ascii_isdigit(name[1]) && g_ascii_isdigit(name[2]);
}

/* scan_dir - the queue files in QUEUE_DIR/REL (recursing into NNN) */
static bool scan_dir(const char *queue_dir, const char *channel,
                     const char *rel, bool top,
                     bool (*cb)(void *, const char *, const char *,
                                const char *),
                     void *data, unsigned *count) {
  char *path = g_build_filename(queue_dir, rel, NULL);
  DIR *d = opendir(path);
  g_free(path);
  if (d == NULL)
    return true;
  struct dirent *de;
  bool go_on = true;
  while (go_on && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char *sub = g_strdup_printf("%s/%s", rel, de->d_name);
    if (top && is_subdir_name(de->d_name)) {
      go_on = scan_dir(queue_dir, channel, sub, false, cb, data, count);
    } else if (queue_name_valid(de->d_name)) {
      (*count)++;
      go_on = cb(data, channel, sub, de->d_name);
    }
    g_free(sub);
  }
  closedir(d);
  return go_on;
}

unsigned queue_scan(const char *queue_dir, const char *channel,
                    bool (*cb)(void *data, const char *channel,
                               const char *rel_path, const char *name),
                    void *data) {
  unsigned count = 0;
  if (channel != NULL) {
    scan_dir(queue_dir, channel, channel, true, cb, data, &count);
    return count;
  }
  DIR *d = opendir(queue_dir);
  if (d == NULL)
    return 0;
  struct dirent *de;
  bool go_on = true;
  while (go_on && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    go_on = scan_dir(queue_dir, de->d_name, de->d_name, true, cb, data, &count);
  }
  closedir(d);
  return count;
}

void queue_clean_tmp(const char *queue_dir) {
  char *path = g_build_filename(queue_dir, QUEUE_TMP_DIR, NULL);
  DIR *d = opendir(path);
  if (d != NULL) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      char *end = NULL;
      long pid = strtol(de->d_name, &end, 10);
      if (de->d_name[0] == '.' || end == de->d_name || *end != '-' || pid <= 0)
        continue;
      if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        continue;
      char *f = g_build_filename(path, de->d_name, NULL);
      (void)unlink(f);
      g_free(f);
    }
    closedir(d);
  }
  g_free(path);
}

bool queue_mkdirs(const char *queue_dir, const char *dir, char **error_r) {
  char **parts = g_strsplit(dir, "/", -1);
  char *cur = g_strdup(queue_dir);
  bool ok = true;
  for (char **p = parts; ok && *p != NULL; p++) {
    if (**p == '\0')
      continue;
    char *next = g_build_filename(cur, *p, NULL);
    if (mkdir(next, 0750) == 0) {
      /* a new directory entry is only durable once its parent is */
      ok = fs_fsync_dir(cur, error_r);
    } else if (errno != EEXIST) {
      *error_r = g_strdup_printf("cannot create %s: %s", next, g_strerror(errno));
      ok = false;
    }
    g_free(cur);
    cur = next;
  }
  g_free(cur);
  g_strfreev(parts);
  return ok;
}
