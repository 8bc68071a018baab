/*
 * pool.c - idle client connections and dead addresses
 */
#include "pool.h"

/* How long an address that did not answer is skipped. */
#define DEAD_MS 30000

struct conn_pool {
  GMutex lock;
  GHashTable *idle; /* key -> GQueue of client_conn* (newest last) */
  GHashTable *dead; /* address -> gint64* monotonic time it failed */
  unsigned max_reuse;
  unsigned idle_ms;
};

static void queue_free(gpointer p) {
  GQueue *q = p;
  client_conn *c;
  while ((c = g_queue_pop_head(q)) != NULL)
    client_close(&c, true);
  g_queue_free(q);
}

conn_pool *pool_new(unsigned max_reuse, unsigned idle_ms) {
  conn_pool *p = g_new0(conn_pool, 1);
  g_mutex_init(&p->lock);
  p->idle = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queue_free);
  p->dead = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p->max_reuse = max_reuse;
  p->idle_ms = idle_ms;
  return p;
}

void pool_free(conn_pool **pp) {
  conn_pool *p = *pp;
  if (p == NULL)
    return;
  *pp = NULL;
  g_hash_table_destroy(p->idle);
  g_hash_table_destroy(p->dead);
  g_mutex_clear(&p->lock);
  g_free(p);
}

client_conn *pool_take(conn_pool *p, const char *key) {
  client_conn *found = NULL;
  GPtrArray *stale = g_ptr_array_new();
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->lock);
  GQueue *q = g_hash_table_lookup(p->idle, key);
  while (q != NULL && found == NULL && !g_queue_is_empty(q)) {
    client_conn *c = g_queue_pop_tail(q);
    if (now - c->idle_since > (gint64)p->idle_ms * 1000)
      g_ptr_array_add(stale, c);
    else
      found = c;
  }
  g_mutex_unlock(&p->lock);
  for (guint i = 0; i < stale->len; i++) {
    client_conn *c = stale->pdata[i];
    client_close(&c, true);
  }
  g_ptr_array_free(stale, TRUE);
  return found;
}

void pool_put(conn_pool *p, const char *key, client_conn *c) {
  if (c->broken || c->messages >= p->max_reuse || p->idle_ms == 0) {
    client_close(&c, true);
    return;
  }
  c->idle_since = g_get_monotonic_time();
  g_mutex_lock(&p->lock);
  GQueue *q = g_hash_table_lookup(p->idle, key);
  if (q == NULL) {
    q = g_queue_new();
    g_hash_table_insert(p->idle, g_strdup(key), q);
  }
  g_queue_push_tail(q, c);
  g_mutex_unlock(&p->lock);
}

void pool_close_idle(conn_pool *p) {
  g_mutex_lock(&p->lock);
  GHashTable *old = p->idle;
  p->idle = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queue_free);
  g_mutex_unlock(&p->lock);
  g_hash_table_destroy(old);
}

void pool_mark_dead(conn_pool *p, const char *addr) {
  gint64 *t = g_new(gint64, 1);
  *t = g_get_monotonic_time();
  g_mutex_lock(&p->lock);
  g_hash_table_replace(p->dead, g_strdup(addr), t);
  g_mutex_unlock(&p->lock);
}

bool pool_is_dead(conn_pool *p, const char *addr) {
  g_mutex_lock(&p->lock);
  gint64 *t = g_hash_table_lookup(p->dead, addr);
  bool dead = t != NULL && g_get_monotonic_time() - *t < DEAD_MS * 1000;
  if (t != NULL && !dead)
    g_hash_table_remove(p->dead, addr);
  g_mutex_unlock(&p->lock);
  return dead;
}
