/*
 * jobctl.c - the job controller's control socket, both ends
 */
#include "build-config.h"
#include "jobctl.h"
#include "qcounters.h"
#include "config/config.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Longest request line. */
#define REQUEST_MAX 1024

struct jobctl {
  ev_loop *loop;
  int fd;
  ev_io *io;
  char *path;
  qcache *qc;
  char *queue_dir;
  void (*jobs)(GString *out);
  void (*changed)(void *data);
  void *data;
};

typedef struct ctl_conn {
  jobctl *ctl;
  int fd;
  ev_io *io;
  GString *in;
  GString *out;
  size_t sent;
} ctl_conn;

static void conn_free(ctl_conn *c) {
  ev_io_free(&c->io);
  close(c->fd);
  g_string_free(c->in, TRUE);
  if (c->out != NULL)
    g_string_free(c->out, TRUE);
  g_free(c);
}

static void list(jobctl *ctl, const char *channel, GString *out) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, ctl->qc->entries);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const qc_entry *e = v;
    if (channel != NULL && strcmp(e->chan->name, channel) != 0)
      continue;
    g_string_append_printf(out,
                           "%s %s %d %u %" G_GINT64_FORMAT " %d %d %" G_GUINT64_FORMAT
                           " %" G_GINT64_FORMAT "\n",
                           e->path, e->chan->name, (int)e->priority, e->attempts,
                           e->next_retry, e->held, e->busy, e->size, e->arrival);
  }
  if (ctl->qc->left_on_disk)
    g_string_append(out, "+disk\n");
}

static void counters(jobctl *ctl, GString *out) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, ctl->qc->chans);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const qc_chan *c = v;
    unsigned ready = qcache_ready_count(c);
    unsigned delayed = c->count - ready - c->held - c->busy;
    g_string_append_printf(out,
                           "%s %u %u %u %u %u %" G_GUINT64_FORMAT
                           " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                           " %" G_GUINT64_FORMAT "\n",
                           c->name, c->count, ready, delayed, c->held, c->busy,
                           c->enqueued, c->done, c->deferred, c->errors);
  }
  if (ctl->qc->left_on_disk)
    g_string_append(out, "+disk\n");
}

unsigned jobctl_retry(qcache *qc, const char *target) {
  unsigned n = 0;
  int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  qc_entry *one = qcache_find(qc, target);
  if (one != NULL) {
    one->next_retry = 0;
    qcache_place(qc, one, now);
    return 1;
  }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, qc->entries);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    qc_entry *e = v;
    if (strcmp(e->chan->name, target) != 0 || e->held || e->busy)
      continue;
    e->next_retry = 0;
    qcache_place(qc, e, now);
    n++;
  }
  return n;
}

/* sync_path - re-read PATH, or forget it when it is gone */
static void sync_path(jobctl *ctl, const char *path, GString *out) {
  qc_entry *e = qcache_find(ctl->qc, path);
  if (e != NULL && e->busy) {
    g_string_append(out, "busy: the job delivering it will report\n");
    return;
  }
  int rc = qcache_load_file(ctl->qc, ctl->queue_dir, path);
  if (rc == CURSUS_NONE && e != NULL)
    qcache_remove(ctl->qc, e);
  g_string_append_printf(out, "%s\n", rc == CURSUS_OK ? "loaded" : "gone");
}

/* answer - run one request line */
static void answer(jobctl *ctl, char *line, GString *out) {
  g_strstrip(line);
  char **w = g_strsplit_set(line, " \t", 3);
  const char *cmd = w[0] != NULL ? w[0] : "";
  const char *arg = w[0] != NULL && w[1] != NULL && *w[1] ? w[1] : NULL;
  bool changed = false;
  if (g_ascii_strcasecmp(cmd, "LIST") == 0) {
    list(ctl, arg, out);
  } else if (g_ascii_strcasecmp(cmd, "JOBS") == 0) {
    ctl->jobs(out);
  } else if (g_ascii_strcasecmp(cmd, "COUNTERS") == 0) {
    counters(ctl, out);
  } else if (g_ascii_strcasecmp(cmd, "CLEAR") == 0) {
    g_string_append_printf(out, "%u\n", qcounters_clear(ctl->qc, arg));
    changed = true;
  } else if (g_ascii_strcasecmp(cmd, "RETRY") == 0 && arg != NULL) {
    g_string_append_printf(out, "%u\n", jobctl_retry(ctl->qc, arg));
    changed = true;
  } else if (g_ascii_strcasecmp(cmd, "SYNC") == 0 && arg != NULL &&
             strstr(arg, "..") == NULL && arg[0] != '/') {
    sync_path(ctl, arg, out);
    changed = true;
  } else {
    g_string_append_printf(out, "-ERR unknown request \"%.40s\"\n", cmd);
  }
  g_string_append(out, ".\n");
  g_strfreev(w);
  if (changed && ctl->changed != NULL)
    ctl->changed(ctl->data);
}

static void on_conn(ev_io *io, unsigned events, void *data) {
  ctl_conn *c = data;
  if (c->out == NULL) {
    char buf[512];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0 || c->in->len + (size_t)n > REQUEST_MAX) {
      conn_free(c);
      return;
    }
    g_string_append_len(c->in, buf, n);
    char *nl = memchr(c->in->str, '\n', c->in->len);
    if (nl == NULL)
      return;
    *nl = '\0';
    c->out = g_string_new(NULL);
    answer(c->ctl, c->in->str, c->out);
    ev_io_set(c->io, EV_WRITE);
  }
  while (c->sent < c->out->len) {
    ssize_t n = send(c->fd, c->out->str + c->sent, c->out->len - c->sent,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0)
      break;
    c->sent += (size_t)n;
  }
  conn_free(c);
}

static void on_accept(ev_io *io, unsigned events, void *data) {
  jobctl *ctl = data;
  for (int i = 0; i < 16; i++) {
    int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    ctl_conn *c = g_new0(ctl_conn, 1);
    c->ctl = ctl;
    c->fd = fd;
    c->in = g_string_new(NULL);
    c->io = ev_io_new(ctl->loop, fd, EV_READ, on_conn, c);
  }
}

jobctl *jobctl_listen(ev_loop *loop, const char *run_dir, qcache *qc,
                      void (*jobs)(GString *out),
                      void (*changed)(void *data), void *data,
                      char **error_r) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  char *path = g_build_filename(run_dir, JOBCTL_SOCKET, NULL);
  if (strlen(path) >= sizeof(sun.sun_path)) {
    *error_r = g_strdup_printf("%s: path too long for a socket", path);
    g_free(path);
    return NULL;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  (void)unlink(path);
  mode_t old = umask(007);
  bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
            listen(fd, 64) == 0;
  umask(old);
  if (!ok) {
    *error_r = g_strdup_printf("%s: %s", path, g_strerror(errno));
    if (fd >= 0)
      close(fd);
    g_free(path);
    return NULL;
  }
  jobctl *ctl = g_new0(jobctl, 1);
  ctl->loop = loop;
  ctl->fd = fd;
  ctl->path = path;
  ctl->qc = qc;
  ctl->queue_dir = g_strdup(config_current() != NULL
                                ? config_current()->queue_dir
                                : run_dir);
  ctl->jobs = jobs;
  ctl->changed = changed;
  ctl->data = data;
  ctl->io = ev_io_new(loop, fd, EV_READ, on_accept, ctl);
  return ctl;
}

void jobctl_close(jobctl **cp) {
  jobctl *c = *cp;
  if (c == NULL)
    return;
  *cp = NULL;
  ev_io_free(&c->io);
  close(c->fd);
  (void)unlink(c->path);
  g_free(c->path);
  g_free(c->queue_dir);
  g_free(c);
}

int jobctl_request(const char *run_dir, const char *line, GPtrArray **lines_r,
                   char **error_r) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  char *path = g_build_filename(run_dir, JOBCTL_SOCKET, NULL);
  g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
  g_free(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    if (err == ENOENT || err == ECONNREFUSED)
      return CURSUS_NONE;
    *error_r = g_strdup_printf("cannot reach the job controller: %s",
                               g_strerror(err));
    return CURSUS_TEMPFAIL;
  }
  char *req = g_strdup_printf("%s\n", line);
  ssize_t w = send(fd, req, strlen(req), MSG_NOSIGNAL);
  g_free(req);
  GString *in = g_string_new(NULL);
  char buf[65536];
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (w < 0 || poll(&p, 1, 30000) <= 0)
      break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    g_string_append_len(in, buf, n);
  }
  close(fd);
  if (!g_str_has_suffix(in->str, ".\n")) {
    g_string_free(in, TRUE);
    *error_r = g_strdup("the job controller did not answer");
    return CURSUS_TEMPFAIL;
  }
  g_string_truncate(in, in->len - 2);
  if (g_str_has_prefix(in->str, "-ERR")) {
    *error_r = g_strdup(g_strstrip(in->str + 4));
    g_string_free(in, TRUE);
    return CURSUS_PERMFAIL;
  }
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  char **parts = g_strsplit(in->str, "\n", -1);
  for (char **p = parts; *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add(lines, g_strdup(*p));
  g_strfreev(parts);
  g_string_free(in, TRUE);
  *lines_r = lines;
  return CURSUS_OK;
}
