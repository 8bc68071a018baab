/*
 * arstate.c - the autoreply memory (see arstate.h)
 */
#include "build-config.h"
#include "arstate.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <glib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tcutil.h>
#include <tchdb.h>

/* The database's file lock serialises processes only: Tokyo Cabinet
 * refuses a second open of one file within a process ("threading error"),
 * so the threads of one channel job take turns here. */
static GMutex db_lock;

#define PRUNE_KEY "\001pruned"
#define PRUNE_EVERY (24 * 3600)

/* open_db - the database at PATH for writing; NULL with *error_r */
static TCHDB *open_db(const char *path, char **error_r) {
  char *dir = g_path_get_dirname(path);
  bool ok = fs_mkdir_p(dir, 0750, error_r);
  g_free(dir);
  if (!ok)
    return NULL;
  TCHDB *db = tchdbnew();
  tchdbsetmutex(db);
  if (!tchdbopen(db, path, HDBOWRITER | HDBOCREAT | HDBOTSYNC)) {
    *error_r = g_strdup_printf("cannot open %s: %s", path,
                               tchdberrmsg(tchdbecode(db)));
    tchdbdel(db);
    return NULL;
  }
  return db;
}

static void close_db(TCHDB *db) {
  if (!tchdbclose(db))
    log_error("autoreply database: %s", tchdberrmsg(tchdbecode(db)));
  tchdbdel(db);
}

static char *make_key(const char *user, const char *sender) {
  char *s = g_utf8_casefold(sender, -1);
  char *key = g_strdup_printf("%s\n%s", user, s);
  g_free(s);
  return key;
}

/* prune - drop entries whose interval has passed, once a day */
static void prune(TCHDB *db, time_t now) {
  char *last = tchdbget2(db, PRUNE_KEY);
  bool due = last == NULL || now - (time_t)strtoll(last, NULL, 10) > PRUNE_EVERY;
  free(last);
  if (!due)
    return;
  GPtrArray *old = g_ptr_array_new_with_free_func(free);
  tchdbiterinit(db);
  char *key;
  while ((key = tchdbiternext2(db)) != NULL) {
    char *value = tchdbget2(db, key);
    long long when = 0, interval = 0;
    if (value != NULL && sscanf(value, "%lld %lld", &when, &interval) == 2 &&
        when + interval < now && key[0] != '\001')
      g_ptr_array_add(old, key);
    else
      free(key);
    free(value);
  }
  for (guint i = 0; i < old->len; i++)
    tchdbout2(db, old->pdata[i]);
  g_ptr_array_free(old, TRUE);
  char stamp[32];
  snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
  tchdbput2(db, PRUNE_KEY, stamp);
}

int arstate_claim(const char *path, const char *user, const char *sender,
                  time_t now, unsigned interval, char **prev_r,
                  char **error_r) {
  *prev_r = NULL;
  g_mutex_lock(&db_lock);
  TCHDB *db = open_db(path, error_r);
  if (db == NULL) {
    g_mutex_unlock(&db_lock);
    return -1;
  }
  char *key = make_key(user, sender);
  char *prev = tchdbget2(db, key);
  long long when = 0;
  int rc = 1;
  if (prev != NULL && sscanf(prev, "%lld", &when) == 1 && interval > 0 &&
      now < when + (long long)interval)
    rc = 0;
  if (rc == 1) {
    char value[64];
    snprintf(value, sizeof(value), "%lld %u", (long long)now, interval);
    if (!tchdbput2(db, key, value)) {
      *error_r = g_strdup_printf("cannot record in %s: %s", path,
                                 tchdberrmsg(tchdbecode(db)));
      rc = -1;
    }
    *prev_r = prev != NULL ? g_strdup(prev) : NULL;
    prune(db, now);
  }
  free(prev);
  g_free(key);
  close_db(db);
  g_mutex_unlock(&db_lock);
  return rc;
}

void arstate_release(const char *path, const char *user, const char *sender,
                     const char *prev) {
  char *error = NULL;
  g_mutex_lock(&db_lock);
  TCHDB *db = open_db(path, &error);
  if (db == NULL) {
    g_mutex_unlock(&db_lock);
    log_error("autoreply database: %s", error);
    g_free(error);
    return;
  }
  char *key = make_key(user, sender);
  if (prev != NULL)
    tchdbput2(db, key, prev);
  else
    tchdbout2(db, key);
  g_free(key);
  close_db(db);
  g_mutex_unlock(&db_lock);
}
