/*
 * log.c - the server log
 *
 * Each line is formatted completely and written with one write(2) on an
 * O_APPEND descriptor, so lines from several processes never interleave.
 */
#include "build-config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

static char log_process[64] = "cursus";
static unsigned log_targets = LOG_TARGET_STDERR;
static int log_fd = -1;
static char *log_path;
static cursus_log_level log_level = CURSUS_LOG_INFO;
static _Thread_local char *log_context;
static GMutex log_lock;
static int log_stderr_fd = STDERR_FILENO;

static const char *const level_names[] = {
    "debug", "info", "notice", "warning", "error", "critical", "panic",
};

/* log_init - remember the process name */
void log_init(const char *process_name) {
  g_strlcpy(log_process, process_name, sizeof(log_process));
}

/* log_open - choose targets and open the file */
bool log_open(unsigned targets, const char *path, const char **error_r) {
  static char errbuf[512];
  int fd = -1;

  if (targets & LOG_TARGET_FILE) {
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      snprintf(errbuf, sizeof(errbuf), "cannot open log file %s: %s", path,
               g_strerror(errno));
      *error_r = errbuf;
      return false;
    }
  }
  g_mutex_lock(&log_lock);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = fd;
  g_free(log_path);
  log_path = (targets & LOG_TARGET_FILE) ? g_strdup(path) : NULL;
  if ((targets & LOG_TARGET_SYSLOG) && !(log_targets & LOG_TARGET_SYSLOG))
    openlog(log_process, LOG_PID | LOG_NDELAY, LOG_MAIL);
  log_targets = targets;
  g_mutex_unlock(&log_lock);
  return true;
}

/* log_set_stderr_fd - where LOG_TARGET_STDERR writes */
void log_set_stderr_fd(int fd) { log_stderr_fd = fd; }

/* log_reopen - reopen the file after rotation */
void log_reopen(void) {
  const char *error;

  if (log_path != NULL) {
    char *path = g_strdup(log_path);
    if (!log_open(log_targets, path, &error))
      log_error("%s", error);
    g_free(path);
  }
}

void log_set_level(cursus_log_level level) { log_level = level; }
cursus_log_level log_get_level(void) { return log_level; }

/* log_level_parse - level name to number */
int log_level_parse(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(level_names); i++)
    if (g_ascii_strcasecmp(name, level_names[i]) == 0)
      return (int)i;
  return -1;
}

const char *log_level_name(cursus_log_level level) {
  if ((unsigned)level < G_N_ELEMENTS(level_names))
    return level_names[level];
  return "unknown";
}

/* log_set_context - per-thread context shown in each line */
void log_set_context(const char *context) {
  g_free(log_context);
  log_context = context != NULL ? g_strdup(context) : NULL;
}

const char *log_get_context(void) { return log_context; }

static int syslog_priority(cursus_log_level level) {
  switch (level) {
  case CURSUS_LOG_DEBUG:
    return LOG_DEBUG;
  case CURSUS_LOG_INFO:
    return LOG_INFO;
  case CURSUS_LOG_NOTICE:
    return LOG_NOTICE;
  case CURSUS_LOG_WARNING:
    return LOG_WARNING;
  case CURSUS_LOG_ERROR:
    return LOG_ERR;
  case CURSUS_LOG_CRITICAL:
    return LOG_CRIT;
  default:
    return LOG_ALERT;
  }
}

/* write_all - write a whole buffer, retrying on EINTR */
static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

/* log_msgv - format and write one line */
void log_msgv(cursus_log_level level, const char *prefix, const char *fmt,
              va_list args) {
  char msg[4096], line[4600], stamp[32];
  struct timeval tv;
  struct tm tm;
  int saved_errno = errno;

  if (level < log_level)
    return;
  vsnprintf(msg, sizeof(msg), fmt, args);
  /* one event, one line: never let a value break the line */
  for (char *p = msg; *p != '\0'; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';

  gettimeofday(&tv, NULL);
  localtime_r(&tv.tv_sec, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
  int len = snprintf(line, sizeof(line), "%s.%03ld %s[%ld]: %s: %s%s%s%s%s%s\n",
                     stamp, (long)(tv.tv_usec / 1000), log_process,
                     (long)getpid(), log_level_name(level),
                     log_context != NULL ? "[" : "",
                     log_context != NULL ? log_context : "",
                     log_context != NULL ? "] " : "",
                     prefix != NULL ? prefix : "", prefix != NULL ? ": " : "",
                     msg);
  if (len < 0)
    len = 0;
  if ((size_t)len >= sizeof(line)) {
    len = sizeof(line) - 1;
    line[len - 1] = '\n';
  }
  if (log_targets & LOG_TARGET_STDERR)
    write_all(log_stderr_fd, line, (size_t)len);
  if ((log_targets & LOG_TARGET_FILE) && log_fd >= 0)
    write_all(log_fd, line, (size_t)len);
  if (log_targets & LOG_TARGET_SYSLOG)
    syslog(syslog_priority(level), "%s%s%s%s%s%s", log_context ? "[" : "",
           log_context ? log_context : "", log_context ? "] " : "",
           prefix ? prefix : "", prefix ? ": " : "", msg);
  errno = saved_errno;
}

void log_msg(cursus_log_level level, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  log_msgv(level, NULL, fmt, args);
  va_end(args);
}

void log_fatal(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  log_msgv(CURSUS_LOG_CRITICAL, NULL, fmt, args);
  va_end(args);
  exit(1);
}

void log_panic(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  log_msgv(CURSUS_LOG_PANIC, NULL, fmt, args);
  va_end(args);
  abort();
}
