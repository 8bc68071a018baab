/*
 * channel_drop.c - an example master channel for Cursus, built only
 * against the installed SDK
 *
 * Delivers each message into a spool directory, one file per recipient:
 *     <dropdir>/<recipient>/<queue id>.eml
 * written to a temporary name, fsynced, then renamed, so a reader never
 * sees half a message and a crash never loses one it reported delivered.
 * Useful as a hand-off to another system that picks files up.
 *
 * Configure it on a channel in imta.cnf:
 *
 *     drop module channel_drop dropdir /var/spool/cursus-drop
 *     drop-daemon
 *
 * or set a default for every such channel in cursus.conf:
 *
 *     [module channel_drop]
 *     dropdir = /var/spool/cursus-drop
 *
 * Build: cc -shared -fPIC $(pkg-config --cflags cursus-sdk) \
 *            channel_drop.c -o channel_drop.so
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cursus/cursus.h>

static const cursus_host *host;
static cursus_module_ctx *me;

typedef struct drop_channel {
  char *dir;
  char error[512];
} drop_channel;

static int drop_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  /* The host may be newer than the SDK we were built with, never older in
   * major; check for the services this module calls. */
  if (!CURSUS_HAS(h, queue)) {
    *error_r = "the host offers no queue services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  me = ctx;
  return CURSUS_OK;
}

static int drop_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                     void **data_r, const char **error_r) {
  const char *dir = host->queue->channel_keyword(chan, "dropdir", 0);
  if (dir == NULL)
    dir = host->setting(ctx, "dropdir");
  if (dir == NULL) {
    *error_r = "no drop directory: set `dropdir PATH` on the channel or "
               "dropdir in [module channel_drop]";
    return CURSUS_PERMFAIL;
  }
  if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
    *error_r = "cannot create the drop directory";
    return CURSUS_TEMPFAIL;
  }
  drop_channel *d = calloc(1, sizeof(*d));
  d->dir = strdup(dir);
  *data_r = d;
  host->log(me, CURSUS_LOG_INFO, "channel %s drops into %s",
            host->queue->channel_name(chan), dir);
  return CURSUS_OK;
}

/* safe_name - a recipient address as a single path component */
static void safe_name(const char *addr, char *out, size_t size) {
  size_t i = 0;
  for (; *addr != '\0' && i + 1 < size; addr++)
    out[i++] = (*addr == '/' || *addr == '\0' || (*addr == '.' && i == 0))
                   ? '_'
                   : *addr;
  out[i] = '\0';
}

/* copy_fd - copy the SIZE content bytes at OFFSET of IN to OUT */
static int copy_fd(int in, uint64_t offset, uint64_t size, int out) {
  char buf[65536];
  off_t off = (off_t)offset;
  for (;;) {
    uint64_t left = offset + size - (uint64_t)off;
    if (left == 0)
      return 0;
    ssize_t n = pread(in, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf),
                      off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 ? -1 : (int)n;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      done += w;
    }
    off += n;
  }
}

/* drop_one - write one recipient's copy durably */
static int drop_one(drop_channel *d, cursus_message *msg, int fd,
                    uint64_t offset, uint64_t size,
                    const cursus_recipient *rcpt, const char **why_r) {
  char name[256], dir[4096], tmp[4200], final[4200];
  safe_name(rcpt->address, name, sizeof(name));
  snprintf(dir, sizeof(dir), "%s/%s", d->dir, name);
  if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
    *why_r = "cannot create the recipient's directory";
    return CURSUS_TEMPFAIL;
  }
  snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, host->queue->message_id(msg));
  snprintf(final, sizeof(final), "%s/%s.eml", dir, host->queue->message_id(msg));
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0) {
    *why_r = "cannot create the message file";
    return CURSUS_TEMPFAIL;
  }
  int rc = copy_fd(fd, offset, size, out);
  if (rc < 0 || fsync(out) < 0) {
    close(out);
    unlink(tmp);
    *why_r = "cannot write the message file";
    return CURSUS_TEMPFAIL;
  }
  close(out);
  if (rename(tmp, final) < 0) {
    unlink(tmp);
    *why_r = "cannot rename the message file";
    return CURSUS_TEMPFAIL;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return CURSUS_OK;
}

static int drop_deliver(void *data, cursus_message *msg, const char **error_r) {
  drop_channel *d = data;
  uint64_t offset, size;
  int fd = host->queue->content_fd(msg, &offset, &size);
  if (fd < 0) {
    *error_r = "cannot read the queued message";
    return CURSUS_TEMPFAIL;
  }
  size_t n = host->queue->recipient_count(msg);
  for (size_t i = 0; i < n; i++) {
    const cursus_recipient *r = host->queue->recipient(msg, i);
    const char *why = NULL;
    cursus_result res = {.remote = NULL};
    res.status = drop_one(d, msg, fd, offset, size, r, &why);
    res.code = res.status == CURSUS_OK ? "2.0.0" : "4.3.0";
    res.text = res.status == CURSUS_OK ? "dropped" : why;
    host->queue->rcpt_result(msg, i, &res);
  }
  return CURSUS_OK;
}

static void drop_close(void *data) {
  drop_channel *d = data;
  free(d->dir);
  free(d);
}

static const cursus_keyword drop_keywords[] = {
    {"dropdir", CURSUS_VALUE_PATH, 1, 1, "directory the channel drops messages into"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword drop_settings[] = {
    {"dropdir", CURSUS_VALUE_PATH, 1, 1, "default drop directory"},
    {NULL, 0, 0, 0, NULL},
};

static const char *const drop_names[] = {"drop*", NULL};

static const cursus_channel_ops drop_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = drop_names,
    .open = drop_open,
    .deliver = drop_deliver,
    .close = drop_close,
};

CURSUS_MODULE(.name = "channel_drop", .version = "1.0.0",
              .vendor = "Example Mail Integrations", .license = "MIT",
              .description = "drops each message into a spool directory",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .keywords = drop_keywords, .settings = drop_settings,
              .init = drop_init, .channel = &drop_ops);
