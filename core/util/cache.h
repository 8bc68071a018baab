/*
 * cache.h - a bounded, thread-safe LRU cache with per-entry lifetimes
 *
 * Used for directory and mapping lookups (positive and negative entries).
 * Keys are strings, compared exactly; callers fold case first if needed.
 */
#ifndef CURSUS_CACHE_H
#define CURSUS_CACHE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cache cache;

/* cache_new - at most MAX_ENTRIES; values live TTL seconds, misses
 * NEGATIVE_TTL seconds (0: misses are not cached) */
cache *cache_new(size_t max_entries, unsigned ttl, unsigned negative_ttl,
                 void (*free_value)(void *value));
/* cache_get - true with *value_r (NULL for a cached miss) when a live
 * entry exists.  With a COPY function the value is copied under the lock
 * (so the caller owns the copy); without, the pointer is only good until
 * the entry is evicted. */
bool cache_get(cache *c, const char *key, void **value_r,
               void *(*copy)(const void *value));
/* cache_put - insert or replace; VALUE NULL records a miss */
void cache_put(cache *c, const char *key, void *value);
void cache_remove(cache *c, const char *key);
void cache_clear(cache *c);
size_t cache_size(cache *c);
/* cache_stats - hits and misses since creation */
void cache_stats(cache *c, unsigned long *hits_r, unsigned long *misses_r);
void cache_free(cache **c);

#endif
