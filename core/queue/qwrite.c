/*
 * qwrite.c - new queue files: message content and the committer thread
 */
#define _GNU_SOURCE
#include "build-config.h"
#include "qwrite.h"
#include "qfile.h"
#include "qnotify.h"
#include "queue.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------ the settings */

static GMutex lock;
static GCond cond;
static GQueue pending = G_QUEUE_INIT;
static GThread *thread;
static bool stopping;
static char *queue_dir;
static qwrite_sync sync_method = QWRITE_SYNCFS;
static unsigned max_batch = 256;
static qwrite_stats stats;
/* O_TMPFILE does not work on the queue's file system */
static gint no_tmpfile;

void qwrite_configure(const char *dir, qwrite_sync sync, unsigned batch) {
  g_mutex_lock(&lock);
  g_free(queue_dir);
  queue_dir = g_strdup(dir);
  sync_method = sync;
  max_batch = batch > 0 ? batch : 256;
  g_mutex_unlock(&lock);
}

void qwrite_get_stats(qwrite_stats *out) {
  g_mutex_lock(&lock);
  *out = stats;
  g_mutex_unlock(&lock);
}

/* tmp_create - an unnamed file on DIR's file system (or a named one in
 * DIR/.tmp, returned in *path_r); -1 with errno */
static int tmp_create(const char *dir, char **path_r) {
  static gint seq;
  *path_r = NULL;
  if (!g_atomic_int_get(&no_tmpfile)) {
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
      return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
      return -1;
    g_atomic_int_set(&no_tmpfile, 1);
  }
  char *tmpdir = g_build_filename(dir, QUEUE_TMP_DIR, NULL);
  char *err = NULL;
  if (!queue_mkdirs(dir, QUEUE_TMP_DIR, &err)) {
    g_free(err);
    g_free(tmpdir);
    errno = EIO;
    return -1;
  }
  char *path = g_strdup_printf("%s/%ld-%d", tmpdir, (long)getpid(),
                               g_atomic_int_add(&seq, 1));
  g_free(tmpdir);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    g_free(path);
    return -1;
  }
  *path_r = path;
  return fd;
}

/* write_at - all of LEN bytes at OFFSET */
static bool write_at(int fd, const void *data, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, (const char *)data + done, len - done,
                       (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = ENOSPC;
      return false;
    }
    done += (size_t)n;
  }
  return true;
}

/* ----------------------------------------------------------- qbody */

struct qbody {
  char *dir;
  size_t spill_at;
  char *mem;
  size_t mem_len, mem_alloc;
  int fd;         /* spill file, -1 while in memory */
  char *tmp_path; /* named spill file, or NULL */
  uint64_t size;
  uint32_t crc;
  bool fd_taken;  /* the spill file became a queue file */
};

qbody *qbody_new(const char *dir, size_t spill_at) {
  qbody *b = g_new0(qbody, 1);
  b->dir = g_strdup(dir);
  b->spill_at = MAX(spill_at, 4096);
  b->fd = -1;
  b->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  return b;
}

/* spill - move to a file: preamble room, then what memory holds */
static bool spill(qbody *b, char **error_r) {
  char pad[QFILE_PREAMBLE];
  b->fd = tmp_create(b->dir, &b->tmp_path);
  memset(pad, ' ', sizeof(pad));
  if (b->fd < 0 || !write_at(b->fd, pad, sizeof(pad), 0) ||
      !write_at(b->fd, b->mem, b->mem_len, QFILE_PREAMBLE)) {
    *error_r = g_strdup_printf("cannot write message content in %s: %s",
                               b->dir, g_strerror(errno));
    return false;
  }
  return true;
}

bool qbody_append(qbody *b, const void *data, size_t len, char **error_r) {
  if (len == 0)
    return true;
  b->crc = (uint32_t)crc32(b->crc, data, (uInt)len);
  if (b->fd < 0 && b->mem_len + len <= b->spill_at) {
    if (b->mem_len + len > b->mem_alloc) {
      size_t want = MAX(MAX(b->mem_alloc * 2, b->mem_len + len), 4096);
      b->mem_alloc = MIN(want, b->spill_at);
      b->mem = g_realloc(b->mem, b->mem_alloc);
    }
    memcpy(b->mem + b->mem_len, data, len);
    b->mem_len += len;
    b->size += len;
    return true;
  }
  if (b->fd < 0 && !spill(b, error_r))
    return false;
  if (!write_at(b->fd, data, len, QFILE_PREAMBLE + b->size)) {
    *error_r = g_strdup_printf("cannot write message content in %s: %s",
                               b->dir, g_strerror(errno));
    return false;
  }
  b->size += len;
  return true;
}

uint64_t qbody_size(const qbody *b) { return b->size; }
uint32_t qbody_crc(const qbody *b) { return b->crc; }

const char *qbody_head(const qbody *b, size_t *len_r) {
  *len_r = b->mem_len;
  return b->mem;
}

long long qbody_read(const qbody *b, uint64_t off, void *buf, size_t len) {
  if (off >= b->size)
    return 0;
  size_t take = (size_t)MIN((uint64_t)len, b->size - off);
  if (b->fd < 0) {
    memcpy(buf, b->mem + off, take);
    return (long long)take;
  }
  for (;;) {
    ssize_t n = pread(b->fd, buf, take, (off_t)(QFILE_PREAMBLE + off));
    if (n < 0 && errno == EINTR)
      continue;
    return n;
  }
}

void qbody_free(qbody **bp) {
  qbody *b = *bp;
  if (b == NULL)
    return;
  *bp = NULL;
  if (b->fd >= 0)
    close(b->fd);
  if (b->tmp_path != NULL && !b->fd_taken)
    (void)unlink(b->tmp_path);
  g_free(b->tmp_path);
  g_free(b->mem);
  g_free(b->dir);
  g_free(b);
}

/* ----------------------------------------------------------- copies */

qcopy *qcopy_new(const char *channel, unsigned subdirs, const char *name,
                 GString *envelope, cursus_priority priority) {
  qcopy *c = g_new0(qcopy, 1);
  c->channel = g_strdup(channel);
  c->name = g_strdup(name);
  c->rel_path = queue_rel_path(channel, subdirs, name);
  c->dir = g_path_get_dirname(c->rel_path);
  c->envelope = envelope;
  c->priority = priority;
  c->fd = -1;
  return c;
}

void qcopy_free(void *p) {
  qcopy *c = p;
  g_free(c->channel);
  g_free(c->dir);
  g_free(c->name);
  g_free(c->rel_path);
  g_free(c->tmp_path);
  if (c->envelope != NULL)
    g_string_free(c->envelope, TRUE);
  g_free(c);
}

/* ------------------------------------------------------ the committer */

/* A batch being committed: the directories it touches. */
typedef struct batch {
  GPtrArray *jobs;
  GHashTable *dirs; /* rel dir -> GINT_TO_POINTER(1) */
} batch;

static GHashTable *dir_fds; /* rel dir -> fd+1; committer thread only */
static char *dir_fds_root;  /* queue_dir those fds belong to */

static void job_fail(qwrite_job *job, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void job_fail(qwrite_job *job, const char *fmt, ...) {
  if (job->status != CURSUS_OK)
    return;
  va_list args;
  va_start(args, fmt);
  job->error = g_strdup_vprintf(fmt, args);
  va_end(args);
  job->status = CURSUS_TEMPFAIL;
}

/* dir_fd - an open descriptor of queue directory REL, created on need */
static int dir_fd(const char *root, const char *rel, char **error_r) {
  if (dir_fds == NULL || g_strcmp0(dir_fds_root, root) != 0) {
    if (dir_fds != NULL) {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, dir_fds);
      while (g_hash_table_iter_next(&it, &k, &v))
        close(GPOINTER_TO_INT(v) - 1);
      g_hash_table_destroy(dir_fds);
    }
    dir_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_free(dir_fds_root);
    dir_fds_root = g_strdup(root);
  }
  gpointer v = g_hash_table_lookup(dir_fds, rel);
  if (v != NULL)
    return GPOINTER_TO_INT(v) - 1;
  char *path = g_build_filename(root, rel, NULL);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && queue_mkdirs(root, rel, error_r))
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && *error_r == NULL)
    *error_r = g_strdup_printf("cannot open %s: %s", path, g_strerror(errno));
  g_free(path);
  if (fd >= 0)
    g_hash_table_insert(dir_fds, g_strdup(rel), GINT_TO_POINTER(fd + 1));
  return fd;
}

/* dir_forget - drop the cached descriptor of REL (its directory was
 * removed under us) */
static void dir_forget(const char *rel) {
  gpointer v = dir_fds != NULL ? g_hash_table_lookup(dir_fds, rel) : NULL;
  if (v == NULL)
    return;
  close(GPOINTER_TO_INT(v) - 1);
  g_hash_table_remove(dir_fds, rel);
}

/* ------------------------------------------------------ spare files */

/* Names seen in the spare directory by the last scan, not yet tried, and
 * when the last flush started (wall clock, us): a spare is only written
 * again once the mark that retired it is on disk.  Committer thread. */
static GPtrArray *spares;
static int64_t spares_scanned_at; /* monotonic us */
static int64_t last_flush_at;     /* real time us */

static void spares_scan(const char *root) {
  char *dir = g_build_filename(root, QUEUE_SPARE_DIR, NULL);
  DIR *d = opendir(dir);
  g_free(dir);
  if (d == NULL)
    return;
  struct dirent *de;
  while (spares->len < 512 && (de = readdir(d)) != NULL)
    if (de->d_name[0] != '.')
      g_ptr_array_add(spares, g_strdup(de->d_name));
  closedir(d);
}

/* spare_ready - the spare open as FD (its stat ST) may be written
 * again: it carries the retirement mark, and the mark was flushed */
static bool spare_ready(int fd, const struct stat *st) {
  char head[QUEUE_SPARE_MAGIC_LEN];
  if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
      memcmp(head, QUEUE_SPARE_MAGIC, sizeof(head)) != 0) {
    /* retired by a process that died before marking it */
    (void)!pwrite(fd, QUEUE_SPARE_MAGIC, QUEUE_SPARE_MAGIC_LEN, 0);
    return false;
  }
  int64_t marked = (int64_t)st->st_mtim.tv_sec * G_USEC_PER_SEC +
                   st->st_mtim.tv_nsec / 1000;
  /* a margin for the file system's coarse clock */
  return marked + 20000 < last_flush_at;
}

/* spare_claim - an open spare file this thread holds alone (its path in
 * *PATH_R), or -1 when none is ready */
static int spare_claim(const char *root, char **path_r) {
  if (spares == NULL)
    spares = g_ptr_array_new_with_free_func(g_free);
  if (spares->len == 0) {
    int64_t now = g_get_monotonic_time();
    if (now - spares_scanned_at < 100000)
      return -1; /* at most ten scans a second while there are none */
    spares_scanned_at = now;
    spares_scan(root);
  }
  while (spares->len > 0) {
    char *name = g_ptr_array_steal_index_fast(spares, spares->len - 1);
    char *path = g_build_filename(root, QUEUE_SPARE_DIR, name, NULL);
    g_free(name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && queue_own(fd) && queue_still_named(fd, path, &st) &&
        spare_ready(fd, &st)) {
      *path_r = path;
      return fd;
    }
    if (fd >= 0)
      close(fd);
    g_free(path);
  }
  return -1;
}

/* new_file - a file to write copy C in: a spare (with the syncfs method,
 * whose flush also covers the spare's mark) or a new one */
static int new_file(const char *root, qcopy *c, qwrite_sync method) {
  if (method == QWRITE_SYNCFS) {
    int fd = spare_claim(root, &c->tmp_path);
    if (fd >= 0) {
      c->spare = true;
      return fd;
    }
  }
  return tmp_create(root, &c->tmp_path);
}

/* write_copy - the file of copy C (I-th of JOB) on disk, unnamed */
static bool write_copy(const char *root, qwrite_job *job, qcopy *c, guint i,
                       qwrite_sync method) {
  qbody *b = job->body;
  char pre[QFILE_PREAMBLE];
  qfile_preamble(pre, b->size, c->envelope->len);
  uint64_t env_off = QFILE_PREAMBLE + b->size;
  if (b->fd >= 0 && i == 0) {
    /* the spill file becomes the first queue file */
    c->fd = b->fd;
    return write_at(c->fd, c->envelope->str, c->envelope->len, env_off) &&
           write_at(c->fd, pre, sizeof(pre), 0);
  }
  c->fd = new_file(root, c, method);
  if (c->fd < 0)
    return false;
  size_t want = sizeof(pre) + b->size + c->envelope->len;
  bool ok;
  if (b->fd < 0) {
    struct iovec iov[3] = {{pre, sizeof(pre)},
                           {b->mem, b->mem_len},
                           {c->envelope->str, c->envelope->len}};
    ssize_t n = pwritev(c->fd, iov, 3, 0);
    if (n < 0)
      return false;
    /* a short write: finish piece by piece */
    ok = n == (ssize_t)want ||
         (write_at(c->fd, pre, sizeof(pre), 0) &&
          write_at(c->fd, b->mem, b->mem_len, QFILE_PREAMBLE) &&
          write_at(c->fd, c->envelope->str, c->envelope->len, env_off));
  } else {
    ok = write_at(c->fd, pre, sizeof(pre), 0) &&
         queue_copy_range(b->fd, QFILE_PREAMBLE, c->fd, QFILE_PREAMBLE,
                          b->size) &&
         write_at(c->fd, c->envelope->str, c->envelope->len, env_off);
  }
  /* a spare may have been longer */
  return ok && (!c->spare || ftruncate(c->fd, (off_t)want) == 0);
}

/* link_copy - give copy C its name in its channel directory */
static bool link_copy(const char *root, qwrite_job *job, qcopy *c, guint i,
                      char **error_r) {
  const char *tmp = c->tmp_path;
  if (i == 0 && job->body->fd >= 0)
    tmp = job->body->tmp_path;
  int rc = -1;
  /* a second try when the directory was removed since it was opened */
  for (int tries = 0; tries < 2 && rc < 0; tries++) {
    int dfd = dir_fd(root, c->dir, error_r);
    if (dfd < 0)
      return false;
    if (tmp != NULL) {
      rc = renameat(AT_FDCWD, tmp, dfd, c->name);
    } else {
      char proc[64];
      snprintf(proc, sizeof(proc), "/proc/self/fd/%d", c->fd);
      rc = linkat(AT_FDCWD, proc, dfd, c->name, AT_SYMLINK_FOLLOW);
    }
    if (rc < 0 && errno == ENOENT && tries == 0)
      dir_forget(c->dir);
    else
      break;
  }
  if (rc < 0) {
    *error_r = g_strdup_printf("cannot place %s: %s", c->rel_path,
                               g_strerror(errno));
    return false;
  }
  if (i == 0 && job->body->fd >= 0 && tmp != NULL)
    job->body->fd_taken = true;
  c->linked = true;
  return true;
}

/* unlink_copies - take back what a failed job already linked */
static void unlink_copies(const char *root, qwrite_job *job) {
  for (guint i = 0; i < job->copies->len; i++) {
    qcopy *c = job->copies->pdata[i];
    if (!c->linked)
      continue;
    char *path = g_build_filename(root, c->rel_path, NULL);
    (void)unlink(path);
    g_free(path);
    c->linked = false;
  }
}

static void close_copies(qwrite_job *job) {
  for (guint i = 0; i < job->copies->len; i++) {
    qcopy *c = job->copies->pdata[i];
    if (c->fd >= 0 && !(i == 0 && c->fd == job->body->fd))
      close(c->fd);
    c->fd = -1;
    if (c->tmp_path != NULL && !c->linked)
      (void)unlink(c->tmp_path);
  }
}

/* fail_all - every job still good fails with MESSAGE; what they linked
 * is taken back */
static void fail_all(GPtrArray *jobs, const char *root, const char *message) {
  for (guint j = 0; j < jobs->len; j++) {
    qwrite_job *job = jobs->pdata[j];
    if (job->status != CURSUS_OK)
      continue;
    job_fail(job, "%s", message);
    unlink_copies(root, job);
  }
}

/* link_all - every good job's files named in their channel directories;
 * the directories touched added to DIRS (when not NULL) */
static uint64_t link_all(GPtrArray *jobs, const char *root, GHashTable *dirs) {
  uint64_t files = 0;
  for (guint j = 0; j < jobs->len; j++) {
    qwrite_job *job = jobs->pdata[j];
    for (guint i = 0; i < job->copies->len && job->status == CURSUS_OK; i++) {
      qcopy *c = job->copies->pdata[i];
      char *err = NULL;
      if (!link_copy(root, job, c, i, &err)) {
        job_fail(job, "%s", err);
        g_free(err);
        unlink_copies(root, job);
      } else {
        if (dirs != NULL)
          g_hash_table_add(dirs, c->dir);
        files++;
      }
    }
  }
  return files;
}

/* commit_syncfs - link every file, then one syncfs(2): it writes the
 * file system's dirty data and metadata alike (contents, inodes and the
 * new directory entries), so one flush makes the whole batch durable.
 * A name is only given to a file whose content is written in full, so a
 * process killed meanwhile leaves whole files; the client has no reply
 * until the flush returned. */
static void commit_syncfs(GPtrArray *jobs, const char *root, uint64_t *files,
                          uint64_t *flushes) {
  *files = link_all(jobs, root, NULL);
  if (*files == 0)
    return;
  (*flushes)++;
  int64_t started = g_get_real_time();
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && syncfs(fd) == 0) {
    last_flush_at = started;
    close(fd);
    return;
  }
  char *msg = g_strdup_printf("cannot flush %s: %s", root, g_strerror(errno));
  if (fd >= 0)
    close(fd);
  log_error("%s", msg);
  fail_all(jobs, root, msg);
  *files = 0;
  g_free(msg);
}

/* commit_fsync - link each file, fsync it (content and inode: without a
 * journal, the link count the link just raised is only in the inode),
 * fsync each directory touched once */
static void commit_fsync(GPtrArray *jobs, const char *root, uint64_t *files,
                         uint64_t *flushes) {
  GHashTable *dirs = g_hash_table_new(g_str_hash, g_str_equal);
  *files = link_all(jobs, root, dirs);
  for (guint j = 0; j < jobs->len; j++) {
    qwrite_job *job = jobs->pdata[j];
    for (guint i = 0; i < job->copies->len && job->status == CURSUS_OK; i++) {
      qcopy *c = job->copies->pdata[i];
      (*flushes)++;
      if (fsync(c->fd) < 0) {
        job_fail(job, "cannot flush %s: %s", c->rel_path, g_strerror(errno));
        unlink_copies(root, job);
      }
    }
  }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, dirs);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    char *err = NULL;
    int dfd = dir_fd(root, key, &err);
    (*flushes)++;
    if (dfd >= 0 && fsync(dfd) == 0)
      continue;
    log_error("cannot flush queue directory %s/%s: %s", root, (char *)key,
              err != NULL ? err : g_strerror(errno));
    for (guint j = 0; j < jobs->len; j++) {
      qwrite_job *job = jobs->pdata[j];
      for (guint i = 0; i < job->copies->len; i++)
        if (g_str_equal(((qcopy *)job->copies->pdata[i])->dir, key) &&
            job->status == CURSUS_OK) {
          job_fail(job, "cannot flush queue directory %s", (char *)key);
          unlink_copies(root, job);
        }
    }
    g_free(err);
  }
  g_hash_table_destroy(dirs);
}

/* commit_batch - write the files of JOBS, make them durable and named */
static void commit_batch(GPtrArray *jobs, const char *root, qwrite_sync method) {
  uint64_t files = 0, flushes = 0;

  /* every file written in full, unnamed */
  for (guint j = 0; j < jobs->len; j++) {
    qwrite_job *job = jobs->pdata[j];
    job->status = CURSUS_OK;
    for (guint i = 0; i < job->copies->len && job->status == CURSUS_OK; i++)
      if (!write_copy(root, job, job->copies->pdata[i], i, method))
        job_fail(job, "cannot write a queue file in %s: %s", root,
                 g_strerror(errno));
  }
  if (method == QWRITE_SYNCFS)
    commit_syncfs(jobs, root, &files, &flushes);
  else
    commit_fsync(jobs, root, &files, &flushes);

  g_mutex_lock(&lock);
  stats.batches++;
  stats.jobs += jobs->len;
  stats.files += files;
  stats.flushes += flushes;
  g_mutex_unlock(&lock);

  /* tell the job controller, then the owners */
  for (guint j = 0; j < jobs->len; j++) {
    qwrite_job *job = jobs->pdata[j];
    close_copies(job);
    if (job->status == CURSUS_OK)
      for (guint i = 0; i < job->copies->len; i++) {
        qcopy *c = job->copies->pdata[i];
        qnotify_new(c->channel, c->rel_path, c->priority, job->body->size,
                    c->rcpts);
      }
    job->done(job);
  }
}

static gpointer committer(gpointer unused) {
  GPtrArray *jobs = g_ptr_array_new();
  for (;;) {
    g_mutex_lock(&lock);
    while (g_queue_is_empty(&pending) && !stopping)
      g_cond_wait(&cond, &lock);
    if (g_queue_is_empty(&pending) && stopping) {
      g_mutex_unlock(&lock);
      break;
    }
    while (!g_queue_is_empty(&pending) && jobs->len < max_batch)
      g_ptr_array_add(jobs, g_queue_pop_head(&pending));
    char *root = g_strdup(queue_dir);
    qwrite_sync method = sync_method;
    g_mutex_unlock(&lock);
    commit_batch(jobs, root, method);
    g_free(root);
    g_ptr_array_set_size(jobs, 0);
  }
  g_ptr_array_free(jobs, TRUE);
  return NULL;
}

void qwrite_submit(qwrite_job *job) {
  job->status = CURSUS_TEMPFAIL;
  g_mutex_lock(&lock);
  if (thread == NULL) {
    stopping = false;
    thread = g_thread_new("committer", committer, NULL);
  }
  g_queue_push_tail(&pending, job);
  g_cond_signal(&cond);
  g_mutex_unlock(&lock);
}

/* Waiting for a job in qwrite_run. */
typedef struct waiter {
  GMutex m;
  GCond c;
  bool done;
  void (*orig_done)(qwrite_job *);
  void *orig_data;
} waiter;

static void run_done(qwrite_job *job) {
  waiter *w = job->data;
  g_mutex_lock(&w->m);
  w->done = true;
  g_cond_signal(&w->c);
  g_mutex_unlock(&w->m);
}

int qwrite_run(qwrite_job *job) {
  waiter w = {.orig_done = job->done, .orig_data = job->data};
  g_mutex_init(&w.m);
  g_cond_init(&w.c);
  job->done = run_done;
  job->data = &w;
  qwrite_submit(job);
  g_mutex_lock(&w.m);
  while (!w.done)
    g_cond_wait(&w.c, &w.m);
  g_mutex_unlock(&w.m);
  g_mutex_clear(&w.m);
  g_cond_clear(&w.c);
  job->done = w.orig_done;
  job->data = w.orig_data;
  return job->status;
}

void qwrite_stop(void) {
  g_mutex_lock(&lock);
  GThread *t = thread;
  thread = NULL;
  stopping = true;
  g_cond_broadcast(&cond);
  g_mutex_unlock(&lock);
  if (t != NULL)
    g_thread_join(t);
}
