/*
 * msglog.c - the message log
 */
#include "build-config.h"
#include "msglog.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

static GMutex lock;
static int log_fd = -1;
static char *log_path;
static unsigned log_block_size = 1024;
static bool warned;

bool msglog_open(const char *path, unsigned block_size, char **error_r) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    *error_r = g_strdup_printf("cannot open the message log %s: %s", path,
                               g_strerror(errno));
    return false;
  }
  g_mutex_lock(&lock);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = fd;
  g_free(log_path);
  log_path = g_strdup(path);
  log_block_size = block_size > 0 ? block_size : 1024;
  warned = false;
  g_mutex_unlock(&lock);
  return true;
}

void msglog_reopen(void) {
  g_mutex_lock(&lock);
  if (log_path != NULL) {
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) {
      if (log_fd >= 0)
        close(log_fd);
      log_fd = fd;
    }
  }
  g_mutex_unlock(&lock);
}

void msglog_close(void) {
  g_mutex_lock(&lock);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = -1;
  g_free(log_path);
  log_path = NULL;
  g_mutex_unlock(&lock);
}

/* field - append S as one field: "-" when empty, no white space */
static void field(GString *out, const char *s) {
  g_string_append_c(out, ' ');
  if (s == NULL || *s == '\0') {
    g_string_append_c(out, '-');
    return;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p <= 0x20 || *p == 0x7f || *p == '%')
      g_string_append_printf(out, "%%%02X", *p);
    else
      g_string_append_c(out, (char)*p);
  }
}

char *msglog_format(const msglog_entry *e, int64_t now_us,
                    unsigned block_size) {
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t secs = (time_t)(now_us / G_USEC_PER_SEC);
  struct tm tm;
  localtime_r(&secs, &tm);
  GString *out = g_string_sized_new(256);
  g_string_append_printf(out, "%02d-%s-%04d %02d:%02d:%02d.%02d", tm.tm_mday,
                         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                         tm.tm_min, tm.tm_sec,
                         (int)((now_us % G_USEC_PER_SEC) / 10000));
  field(out, e->source);
  field(out, e->dest);
  g_string_append_printf(out, " %c%s", e->code,
                         e->modifiers != NULL ? e->modifiers : "");
  unsigned bs = block_size > 0 ? block_size : 1024;
  g_string_append_printf(out, " %llu",
                         (unsigned long long)((e->size + bs - 1) / bs));
  if (e->from != NULL && *e->from == '\0')
    g_string_append(out, " <>");
  else
    field(out, e->from);
  if (e->orcpt != NULL && *e->orcpt != '\0') {
    char *o = strchr(e->orcpt, ';') != NULL
                  ? g_strdup(e->orcpt)
                  : g_strdup_printf("rfc822;%s", e->orcpt);
    field(out, o);
    g_free(o);
  } else {
    field(out, NULL);
  }
  field(out, e->to);
  field(out, e->file);
  field(out, e->message_id);
  field(out, e->connection);
  field(out, e->user);
  g_string_append_c(out, ' ');
  if (e->diag != NULL && *e->diag != '\0') {
    /* free text: only line breaks and controls must not get through */
    for (const unsigned char *p = (const unsigned char *)e->diag; *p != '\0';
         p++)
      g_string_append_c(out, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
  } else {
    g_string_append_c(out, '-');
  }
  g_string_append_c(out, '\n');
  return g_string_free(out, FALSE);
}

void msglog_write(const msglog_entry *e) {
  g_mutex_lock(&lock);
  if (log_fd < 0) {
    g_mutex_unlock(&lock);
    return;
  }
  char *line = msglog_format(e, g_get_real_time(), log_block_size);
  size_t len = strlen(line);
  ssize_t n = write(log_fd, line, len);
  if (n != (ssize_t)len && !warned) {
    warned = true;
    log_warning("cannot write the message log %s: %s", log_path,
                n < 0 ? g_strerror(errno) : "short write");
  }
  g_mutex_unlock(&lock);
  g_free(line);
}
