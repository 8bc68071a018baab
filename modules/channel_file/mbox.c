/*
 * mbox.c - local delivery to mbox files in a mail spool (/var/mail style)
 *
 * Serves channels named native* and file*.  Each recipient's local part
 * names its mailbox SPOOL/<user>, where SPOOL is the channel's `spool`
 * keyword, else `spool_dir` of [module channel_file], else /var/mail.
 * The message is appended in mboxrd form ("From " line, ">From " quoting,
 * LF line ends, a blank line after it) with Return-Path: and
 * Delivered-To: in front, under both locks other mail programs use: a
 * dot-lock file (user.lock) and an fcntl lock.  A write that fails is cut
 * off again (ftruncate) so the mailbox is never left half-written; the
 * file is fsynced before the recipient is reported delivered.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <cursus/cursus.h>

/* A dot-lock older than this is left by a dead process. */
#define STALE_LOCK_S 300

static const cursus_host *host;
static cursus_module_ctx *me;

typedef struct file_chan {
  char *spool;
  unsigned lock_timeout_s;
} file_chan;

static int file_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  if (h->queue == NULL) {
    *error_r = "the host offers no queue services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  me = ctx;
  return CURSUS_OK;
}

static int file_open(cursus_module_ctx *ctx, const cursus_channel *chan,
                     void **data_r, const char **error_r) {
  const char *spool = host->queue->channel_keyword(chan, "spool", 0);
  if (spool == NULL)
    spool = host->setting(ctx, "spool_dir");
  file_chan *c = g_new0(file_chan, 1);
  c->spool = g_strdup(spool != NULL ? spool : "/var/mail");
  c->lock_timeout_s = (unsigned)host->setting_int(ctx, "lock_timeout", 30);
  *data_r = c;
  return CURSUS_OK;
}

/* mailbox_name - the mailbox file name for ADDRESS, or NULL when its
 * local part cannot name a file */
static char *mailbox_name(const char *address) {
  const char *at = strrchr(address, '@');
  size_t n = at != NULL ? (size_t)(at - address) : strlen(address);
  if (n == 0 || n > 64 || address[0] == '.')
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum(address[i]) && strchr("._-+", address[i]) == NULL)
      return NULL;
  return g_ascii_strdown(address, (gssize)n);
}

/* dot_lock - create PATH.lock within TIMEOUT seconds */
static bool dot_lock(const char *lock, unsigned timeout) {
  for (unsigned waited = 0;; waited++) {
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    if (errno != EEXIST)
      return false;
    struct stat st;
    if (stat(lock, &st) == 0 && time(NULL) - st.st_mtime > STALE_LOCK_S)
      unlink(lock);
    if (waited >= timeout * 10)
      return false;
    g_usleep(100000);
  }
}

/* fcntl_lock - an exclusive fcntl lock on FD within TIMEOUT seconds */
static bool fcntl_lock(int fd, unsigned timeout) {
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  for (unsigned waited = 0; waited <= timeout * 10; waited++) {
    if (fcntl(fd, F_SETLK, &fl) == 0)
      return true;
    if (errno != EACCES && errno != EAGAIN)
      return false;
    g_usleep(100000);
  }
  return false;
}

/* mboxrd - append the message from IN (OFF, LEN) to OUT in mbox form */
static bool mboxrd(GString *out, int in, uint64_t off, uint64_t len) {
  char buf[65536];
  GString *line = g_string_new(NULL);
  uint64_t done = 0;
  bool ok = true;
  while (done < len) {
    ssize_t n = pread(in, buf, (size_t)MIN((uint64_t)sizeof(buf), len - done),
                      (off_t)(off + done));
    if (n <= 0) {
      ok = false;
      break;
    }
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != '\n') {
        g_string_append_c(line, buf[i]);
        continue;
      }
      if (line->len > 0 && line->str[line->len - 1] == '\r')
        g_string_truncate(line, line->len - 1);
      /* mboxrd: ">*From " gets one more '>' */
      size_t k = 0;
      while (k < line->len && line->str[k] == '>')
        k++;
      if (g_str_has_prefix(line->str + k, "From "))
        g_string_append_c(out, '>');
      g_string_append_len(out, line->str, (gssize)line->len);
      g_string_append_c(out, '\n');
      g_string_truncate(line, 0);
    }
    done += (uint64_t)n;
  }
  if (line->len > 0) {
    g_string_append_len(out, line->str, (gssize)line->len);
    g_string_append_c(out, '\n');
  }
  g_string_append_c(out, '\n');
  g_string_free(line, TRUE);
  return ok;
}

/* append_one - deliver to one mailbox; CURSUS_OK or a failure in *why_r */
static int append_one(file_chan *c, cursus_message *msg, int in, uint64_t off,
                      uint64_t len, const char *address, char **why_r) {
  char *name = mailbox_name(address);
  if (name == NULL) {
    *why_r = g_strdup_printf("<%s> names no mailbox", address);
    return CURSUS_PERMFAIL;
  }
  char *path = g_build_filename(c->spool, name, NULL);
  char *lock = g_strconcat(path, ".lock", NULL);
  int rc = CURSUS_TEMPFAIL;
  int fd = -1;
  if (!dot_lock(lock, c->lock_timeout_s)) {
    *why_r = g_strdup_printf("cannot lock %s: %s", path, g_strerror(errno));
    goto out;
  }
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
      !fcntl_lock(fd, c->lock_timeout_s)) {
    *why_r = g_strdup_printf("cannot open %s: %s", path, g_strerror(errno));
    goto unlock;
  }
  const char *sender = host->queue->sender(msg);
  time_t now = time(NULL);
  char date[64];
  strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", gmtime(&now));
  GString *out = g_string_new(NULL);
  g_string_append_printf(out, "From %s %s\nReturn-Path: <%s>\nDelivered-To: %s\n",
                         *sender ? sender : "MAILER-DAEMON", date, sender,
                         address);
  if (!mboxrd(out, in, off, len)) {
    *why_r = g_strdup("cannot read the queued message");
  } else if (write(fd, out->str, out->len) != (ssize_t)out->len ||
             fsync(fd) < 0) {
    *why_r = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
    /* never leave half a message in the mailbox */
    if (ftruncate(fd, st.st_size) == 0)
      fsync(fd);
  } else {
    rc = CURSUS_OK;
  }
  g_string_free(out, TRUE);
unlock:
  unlink(lock);
out:
  if (fd >= 0)
    close(fd);
  g_free(lock);
  g_free(path);
  g_free(name);
  return rc;
}

static int file_deliver(void *data, cursus_message *msg, const char **error_r) {
  file_chan *c = data;
  uint64_t off, len;
  int in = host->queue->content_fd(msg, &off, &len);
  if (in < 0) {
    *error_r = "cannot read the queued message";
    return CURSUS_TEMPFAIL;
  }
  size_t n = host->queue->recipient_count(msg);
  for (size_t i = 0; i < n; i++) {
    const cursus_recipient *r = host->queue->recipient(msg, i);
    char *why = NULL;
    int rc = append_one(c, msg, in, off, len, r->address, &why);
    cursus_result res = {
        .status = rc,
        .code = rc == CURSUS_OK ? "2.0.0" : rc == CURSUS_PERMFAIL ? "5.1.1" : "4.2.0",
        .text = rc == CURSUS_OK ? "delivered to the mailbox" : why,
    };
    if (rc != CURSUS_OK)
      host->log(me, CURSUS_LOG_WARNING, "<%s>: %s", r->address, why);
    host->queue->rcpt_result(msg, i, &res);
    g_free(why);
  }
  return CURSUS_OK;
}

static void file_close(void *data) {
  file_chan *c = data;
  g_free(c->spool);
  g_free(c);
}

static const cursus_keyword file_keywords[] = {
    {"spool", CURSUS_VALUE_PATH, 1, 1, "directory of the mbox files"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword file_settings[] = {
    {"spool_dir", CURSUS_VALUE_PATH, 1, 1, "directory of the mbox files (default /var/mail)"},
    {"lock_timeout", CURSUS_VALUE_DURATION, 1, 1, "how long to wait for a mailbox lock (default 30 s)"},
    {NULL, 0, 0, 0, NULL},
};

static const char *const file_names[] = {"native*", "file*", NULL};

static const cursus_channel_ops file_ops = {
    .size = sizeof(cursus_channel_ops),
    .channel_names = file_names,
    .open = file_open,
    .deliver = file_deliver,
    .close = file_close,
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

CURSUS_MODULE(.name = "channel_file", .version = "1.0", .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "local delivery to mbox files with dot and fcntl locks",
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .keywords = file_keywords, .settings = file_settings,
              .init = file_init, .channel = &file_ops);
