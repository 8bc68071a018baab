/*
 * log.h - the server log: one line per event, to a file, syslog or stderr
 *
 * Offers graded diagnostics (debug, info, notice, warning, error,
 * critical, panic), a per-thread context string shown in every line (the
 * connection or job being served), and log_fatal/log_panic that end the
 * process.  Needs nothing but libc and GLib.
 */
#ifndef CURSUS_LOG_H
#define CURSUS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <cursus/common.h>

/* Where lines go. */
enum log_target {
  LOG_TARGET_STDERR = 1u << 0,
  LOG_TARGET_FILE = 1u << 1,
  LOG_TARGET_SYSLOG = 1u << 2,
};

/* log_init - name the process (shown in each line); logs to stderr until
 * log_open is called */
void log_init(const char *process_name);
/* log_open - send lines to TARGETS; PATH is the log file for
 * LOG_TARGET_FILE.  Returns false with *error_r when the file cannot be
 * opened. */
bool log_open(unsigned targets, const char *path, const char **error_r);
/* log_set_stderr_fd - where LOG_TARGET_STDERR lines go (default 2) */
void log_set_stderr_fd(int fd);
/* log_reopen - reopen the log file (after rotation) */
void log_reopen(void);
/* log_set_level - drop lines below LEVEL */
void log_set_level(cursus_log_level level);
cursus_log_level log_get_level(void);
/* log_level_parse - "debug", "info", ... to a level; -1 if unknown */
int log_level_parse(const char *name);
const char *log_level_name(cursus_log_level level);
/* log_set_context - per-thread context ("smtp 192.0.2.1"), or NULL; the
 * string is copied */
void log_set_context(const char *context);
const char *log_get_context(void);

void log_msgv(cursus_log_level level, const char *prefix, const char *fmt,
              va_list args) CURSUS_PRINTF(3, 0);
void log_msg(cursus_log_level level, const char *fmt, ...) CURSUS_PRINTF(2, 3);

#define log_debug(...) log_msg(CURSUS_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(CURSUS_LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(CURSUS_LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(CURSUS_LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(CURSUS_LOG_ERROR, __VA_ARGS__)

/* log_fatal - a configuration or resource failure: log and exit(1) */
_Noreturn void log_fatal(const char *fmt, ...) CURSUS_PRINTF(1, 2);
/* log_panic - a broken invariant (a bug): log and abort() */
_Noreturn void log_panic(const char *fmt, ...) CURSUS_PRINTF(1, 2);

#endif
