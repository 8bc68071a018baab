/*
 * throttle.h - slowing password guessing: failed logins per user and per
 * client address, and how long to wait before answering the next one
 *
 * Each failure counts against the login and against the address; after
 * `[auth] failures_free` failures within `failure_window` seconds the
 * delay doubles with each further failure from `failure_delay_ms` up to
 * `failure_delay_max` seconds.  A window without failures forgets them.
 * The counts live in the process (a bounded cache), so each worker
 * throttles what it sees.  Thread-safe.
 */
#ifndef CURSUS_THROTTLE_H
#define CURSUS_THROTTLE_H

typedef struct throttle_settings {
  unsigned free_failures;
  unsigned delay_ms;
  unsigned max_ms;
  unsigned window_s;
  unsigned max_entries;
} throttle_settings;

/* throttle_configure - use S from now on (counts are kept) */
void throttle_configure(const throttle_settings *s);
/* throttle_failed - count a failure of LOGIN from IP (either may be NULL)
 * and return the delay in milliseconds */
unsigned throttle_failed(const char *login, const char *ip);
/* throttle_reset - forget everything (tests, refresh) */
void throttle_reset(void);

#endif
