/*
 * cursus/host.h - the host table: what the server offers every module
 *
 * The host passes a `const struct cursus_host *` to the module's init.  It
 * stays valid until fini returns.  The table starts with services every
 * process offers (logging, settings, paths, buffers, caches, the event
 * loop); services that only some processes offer hang off it as sub-tables
 * that are NULL elsewhere:
 *
 *   host->conn    connection I/O for protocol modules      (protocol.h)
 *   host->queue   enqueue and dequeue of messages          (channel.h)
 *   host->lookup  rewriting, mappings, directory lookups   (lookup.h)
 *   host->store   the configured store backend             (store.h)
 *   host->auth    authentication of users                  (auth.h)
 *   host->directory  users and domains, autoreplies        (directory.h)
 *   host->filter  the message a content filter looks at    (filter.h)
 *
 * Each sub-table starts with a `size` and only grows at its end: check with
 * CURSUS_HAS(host->queue, member) before calling a member newer than the
 * ABI minor the module requires.
 *
 * Threads: every function here may be called from any thread unless its
 * comment says "loop thread only".  Callbacks registered with the event
 * loop run on the loop thread.
 */
#ifndef CURSUS_HOST_H
#define CURSUS_HOST_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cursus_conn_ops;
struct cursus_queue_ops;
struct cursus_lookup_ops;
struct cursus_store_access;
struct cursus_auth_access;
struct cursus_directory_access;
struct cursus_filter_access;

/* A bounded cache with a lifetime per entry, safe to share between
 * threads.  Values are opaque to the cache. */
typedef struct cursus_cache cursus_cache;
/* A file descriptor watched by the host's event loop. */
typedef struct cursus_watch cursus_watch;
/* A one-shot timer on the host's event loop. */
typedef struct cursus_timer cursus_timer;

/* A DNS query in progress (host->dns_query). */
typedef struct cursus_dns_query cursus_dns_query;

/* Record types for host->dns_query (their DNS type numbers). */
enum cursus_dns_type {
  CURSUS_DNS_A = 1,
  CURSUS_DNS_MX = 15,
  CURSUS_DNS_TXT = 16,
  CURSUS_DNS_AAAA = 28,
};

/*
 * The answer to one DNS query.  STATUS is CURSUS_OK with COUNT records,
 * CURSUS_NONE when the name does not exist or has no record of the type
 * (NXDOMAIN, NODATA), CURSUS_TEMPFAIL when no server answered in time or
 * a server failed (ERROR says which; NULL otherwise).  RECORDS: addresses
 * as text for A and AAAA, host names in preference order for MX, one
 * string per TXT record with its character-strings joined.  Everything
 * lives until the callback returns.
 */
typedef struct cursus_dns_result {
  uint32_t size;
  int status;
  unsigned count;
  const char *const *records;
  const char *error;
} cursus_dns_result;

/* Events for io_watch. */
enum cursus_io_event {
  CURSUS_IO_READ = 1u << 0,
  CURSUS_IO_WRITE = 1u << 1,
  CURSUS_IO_ERROR = 1u << 2, /* reported only: error or hang-up on the fd */
};

/* Directories the host knows (for host->path). */
typedef enum cursus_path_id {
  CURSUS_PATH_CONFIG = 0, /* configuration directory (--config)          */
  CURSUS_PATH_STATE = 1,  /* top of the server's data                     */
  CURSUS_PATH_QUEUE = 2,  /* channel queues                               */
  CURSUS_PATH_STORE = 3,  /* message store root                           */
  CURSUS_PATH_LOG = 4,    /* log files                                    */
  CURSUS_PATH_RUN = 5,    /* pid files and sockets                        */
  CURSUS_PATH_MODULES = 6 /* first directory of the module search path   */
} cursus_path_id;

typedef struct cursus_host {
  uint32_t size;
  uint32_t abi_major; /* the host's ABI version                    */
  uint32_t abi_minor;
  uint32_t process;           /* enum cursus_process of this process */
  const char *server_version; /* the product release, e.g. "0.1.0"  */

  /* Writes one line to the server log, prefixed with the module name and
   * the current connection context. */
  void (*log)(cursus_module_ctx *ctx, cursus_log_level level, const char *fmt,
              ...) CURSUS_PRINTF(3, 4);
  void (*logv)(cursus_module_ctx *ctx, cursus_log_level level,
               const char *fmt, va_list args) CURSUS_PRINTF(3, 0);
  /* True when messages at LEVEL would be written (skip costly formatting). */
  int (*log_enabled)(cursus_module_ctx *ctx, cursus_log_level level);

  /* The value of KEY in the module's `[module NAME]` group of cursus.conf,
   * already checked against the module's `settings` declaration, or NULL
   * when unset.  The string lives as long as the configuration (until the
   * next refresh callback returns). */
  const char *(*setting)(cursus_module_ctx *ctx, const char *key);
  /* The same as an integer (sizes and durations converted to bytes and
   * seconds); DEFAULT_VALUE when unset. */
  long long (*setting_int)(cursus_module_ctx *ctx, const char *key,
                           long long default_value);

  /* An absolute directory path; never NULL. */
  const char *(*path)(cursus_module_ctx *ctx, cursus_path_id which);

  /* Buffers: append bytes or formatted text; the host grows the buffer. */
  void (*buf_append)(cursus_buf *buf, const void *data, size_t len);
  void (*buf_printf)(cursus_buf *buf, const char *fmt, ...)
      CURSUS_PRINTF(2, 3);
  /* Frees the buffer's storage and zeroes it. */
  void (*buf_free)(cursus_buf *buf);

  /*
   * Caches.  cache_new: at most MAX_ENTRIES entries (least recently used
   * evicted first); a value lives TTL seconds, a negative entry (value
   * NULL) NEGATIVE_TTL seconds (0 = do not cache misses).  COPY_VALUE makes
   * the caller's copy of a value (a deep copy or a new reference) and
   * FREE_VALUE releases a value or a copy; both may be NULL for values
   * that need neither (static data).
   * cache_get: CURSUS_OK with *value_r set to a copy the caller releases
   * with FREE_VALUE (NULL for a cached miss), or CURSUS_NONE.
   * cache_put takes ownership of VALUE.
   */
  cursus_cache *(*cache_new)(size_t max_entries, unsigned ttl,
                             unsigned negative_ttl,
                             void *(*copy_value)(const void *value),
                             void (*free_value)(void *value));
  int (*cache_get)(cursus_cache *cache, const char *key, void **value_r);
  void (*cache_put)(cursus_cache *cache, const char *key, void *value);
  void (*cache_clear)(cursus_cache *cache);
  void (*cache_free)(cursus_cache **cache);

  /*
   * The process's event loop (worker, channel job, job controller).  Loop
   * thread only.  io_watch calls CB with the events that occurred until
   * io_unwatch; timer_add calls CB once after MS milliseconds unless
   * removed first.  NULL in processes without a loop (tools).
   */
  cursus_watch *(*io_watch)(int fd, unsigned events,
                            void (*cb)(void *data, unsigned events),
                            void *data);
  void (*io_unwatch)(cursus_watch **watch);
  cursus_timer *(*timer_add)(unsigned ms, void (*cb)(void *data),
                             void *data);
  void (*timer_remove)(cursus_timer **timer);
  /* Runs WORK on a host thread, then DONE on the loop thread.  For blocking
   * calls (network lookups, large file I/O) that must not stall the loop. */
  int (*run_blocking)(void (*work)(void *data), void (*done)(void *data),
                      void *data, const char **error_r);

  /* Sub-tables; NULL in processes that do not offer them. */
  const struct cursus_conn_ops *conn;
  const struct cursus_queue_ops *queue;
  const struct cursus_lookup_ops *lookup;
  const struct cursus_store_access *store;
  const struct cursus_auth_access *auth;

  /*
   * Reads the configuration file PATH (relative paths are relative to the
   * configuration directory) as the running server accepted it: daemons
   * get the text the configuration check read (the configuration bundle:
   * an edited file is seen only after `cursus refresh`), tools read the
   * file after checking it is owned by root or the server user and not
   * writable by others.  Modules read their data files (map_file tables,
   * lists) this way rather than with open(2).  CURSUS_OK with the contents
   * appended to OUT, CURSUS_NONE when the file does not exist,
   * CURSUS_PERMFAIL with *error_r.  (ABI 1.0)
   */
  int (*read_config_file)(cursus_module_ctx *ctx, const char *path,
                          cursus_buf *out, const char **error_r);
  const struct cursus_directory_access *directory;
  /* Content filters' view of the message they are called for, and their
   * instance settings (filter.h); NULL in processes that run no filters.
   * Appeared in ABI 1.0. */
  const struct cursus_filter_access *filter;
  /* --- members added after ABI 1.0 go here, and only here --- */

  /*
   * DNS on the process's event loop (c-ares; the servers of [dns] servers
   * in cursus.conf, else /etc/resolv.conf; [dns] timeout per try).  Loop
   * thread only; NULL in processes without a loop.
   * dns_query asks for TYPE (enum cursus_dns_type) records of NAME and
   * returns at once; CB runs once, later, on the loop thread, with the
   * result.  The handle is valid until CB runs: dns_cancel before that
   * means CB is never called (and clears *QUERY).  NULL with *error_r
   * when no resolver can be made (a bad server list).
   */
  cursus_dns_query *(*dns_query)(const char *name, uint32_t type,
                                 void (*cb)(void *data,
                                            const cursus_dns_result *result),
                                 void *data, const char **error_r);
  void (*dns_cancel)(cursus_dns_query **query);
  /* The [dns] servers setting ("ip[:port],..."), or NULL for the system's
   * resolv.conf: for modules that run their own resolver. */
  const char *(*dns_servers)(void);
} cursus_host;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_HOST_H */
