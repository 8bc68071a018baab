/*
 * cache.c - LRU cache: a hash table of entries linked in use order
 */
#include "build-config.h"
#include "cache.h"
#include "ev.h"

#include <glib.h>

struct entry {
  char *key;
  void *value;
  uint64_t expires; /* monotonic ms */
  GList link;       /* in the LRU queue; data points back to the entry */
};

struct cache {
  GMutex lock;
  GHashTable *table; /* key -> struct entry* */
  GQueue lru;        /* head = most recently used */
  size_t max_entries;
  unsigned ttl, negative_ttl;
  void (*free_value)(void *);
  unsigned long hits, misses;
};

cache *cache_new(size_t max_entries, unsigned ttl, unsigned negative_ttl,
                 void (*free_value)(void *value)) {
  cache *c = g_new0(cache, 1);
  g_mutex_init(&c->lock);
  c->table = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&c->lru);
  c->max_entries = MAX(max_entries, 1);
  c->ttl = ttl;
  c->negative_ttl = negative_ttl;
  c->free_value = free_value;
  return c;
}

static void entry_drop(cache *c, struct entry *e) {
  g_hash_table_remove(c->table, e->key);
  g_queue_unlink(&c->lru, &e->link);
  if (e->value != NULL && c->free_value != NULL)
    c->free_value(e->value);
  g_free(e->key);
  g_free(e);
}

bool cache_get(cache *c, const char *key, void **value_r,
               void *(*copy)(const void *value)) {
  bool found = false;

  g_mutex_lock(&c->lock);
  struct entry *e = g_hash_table_lookup(c->table, key);
  if (e != NULL && e->expires <= ev_monotonic_ms()) {
    entry_drop(c, e);
    e = NULL;
  }
  if (e != NULL) {
    g_queue_unlink(&c->lru, &e->link);
    g_queue_push_head_link(&c->lru, &e->link);
    *value_r = (copy != NULL && e->value != NULL) ? copy(e->value) : e->value;
    c->hits++;
    found = true;
  } else {
    c->misses++;
  }
  g_mutex_unlock(&c->lock);
  return found;
}

void cache_put(cache *c, const char *key, void *value) {
  unsigned life = value != NULL ? c->ttl : c->negative_ttl;

  if (life == 0) {
    if (value != NULL && c->free_value != NULL)
      c->free_value(value);
    return;
  }
  g_mutex_lock(&c->lock);
  struct entry *old = g_hash_table_lookup(c->table, key);
  if (old != NULL)
    entry_drop(c, old);
  while (g_hash_table_size(c->table) >= c->max_entries)
    entry_drop(c, g_queue_peek_tail_link(&c->lru)->data);
  struct entry *e = g_new0(struct entry, 1);
  e->key = g_strdup(key);
  e->value = value;
  e->expires = ev_monotonic_ms() + (uint64_t)life * 1000;
  e->link.data = e;
  g_queue_push_head_link(&c->lru, &e->link);
  g_hash_table_insert(c->table, e->key, e);
  g_mutex_unlock(&c->lock);
}

void cache_remove(cache *c, const char *key) {
  g_mutex_lock(&c->lock);
  struct entry *e = g_hash_table_lookup(c->table, key);
  if (e != NULL)
    entry_drop(c, e);
  g_mutex_unlock(&c->lock);
}

void cache_clear(cache *c) {
  g_mutex_lock(&c->lock);
  while (c->lru.head != NULL)
    entry_drop(c, c->lru.head->data);
  g_mutex_unlock(&c->lock);
}

size_t cache_size(cache *c) {
  g_mutex_lock(&c->lock);
  size_t n = g_hash_table_size(c->table);
  g_mutex_unlock(&c->lock);
  return n;
}

void cache_stats(cache *c, unsigned long *hits_r, unsigned long *misses_r) {
  g_mutex_lock(&c->lock);
  *hits_r = c->hits;
  *misses_r = c->misses;
  g_mutex_unlock(&c->lock);
}

void cache_free(cache **cp) {
  cache *c = *cp;
  if (c == NULL)
    return;
  *cp = NULL;
  cache_clear(c);
  g_hash_table_destroy(c->table);
  g_mutex_clear(&c->lock);
  g_free(c);
}
