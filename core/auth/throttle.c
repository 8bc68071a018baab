/*
 * throttle.c - failed logins per user and address (see throttle.h)
 */
#include "build-config.h"
#include "throttle.h"
#include "util/cache.h"

#include <glib.h>

static GMutex lock;
static cache *counts;
static throttle_settings cur = {3, 500, 15000, 900, 100000};

void throttle_configure(const throttle_settings *s) {
  g_mutex_lock(&lock);
  bool resize = counts != NULL && (s->window_s != cur.window_s ||
                                   s->max_entries != cur.max_entries);
  cur = *s;
  if (resize)
    cache_free(&counts);
  g_mutex_unlock(&lock);
}

void throttle_reset(void) {
  g_mutex_lock(&lock);
  cache_free(&counts);
  g_mutex_unlock(&lock);
}

/* bump - one more failure for KEY; the new count (lock held) */
static unsigned bump(const char *key) {
  void *value = NULL;
  unsigned n = cache_get(counts, key, &value, NULL) ? GPOINTER_TO_UINT(value)
                                                    : 0;
  cache_put(counts, key, GUINT_TO_POINTER(n + 1));
  return n + 1;
}

unsigned throttle_failed(const char *login, const char *ip) {
  unsigned n = 0;
  g_mutex_lock(&lock);
  if (counts == NULL)
    counts = cache_new(cur.max_entries, cur.window_s, 0, NULL);
  if (login != NULL) {
    char *key = g_strdup_printf("u:%s", login);
    char *folded = g_utf8_casefold(key, -1);
    unsigned count = bump(folded);
    n = MAX(n, count);
    g_free(folded);
    g_free(key);
  }
  if (ip != NULL) {
    char *key = g_strdup_printf("a:%s", ip);
    unsigned count = bump(key);
    n = MAX(n, count);
    g_free(key);
  }
  throttle_settings s = cur;
  g_mutex_unlock(&lock);
  if (n <= s.free_failures)
    return 0;
  unsigned shift = MIN(n - s.free_failures - 1, 20u);
  guint64 delay = (guint64)s.delay_ms << shift;
  return (unsigned)MIN(delay, (guint64)s.max_ms);
}
