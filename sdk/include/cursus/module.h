/*
 * cursus/module.h - the module descriptor: the one symbol a module exports
 *
 * A Cursus module is a shared object exporting exactly one symbol,
 * `cursus_module`, of type `const struct cursus_module`.  The host reads the
 * descriptor without running any module code, checks it, and only then calls
 * `init`.  Declare it with CURSUS_MODULE():
 *
 *     #include <cursus/cursus.h>
 *
 *     CURSUS_MODULE(
 *         .name = "channel_drop",
 *         .version = "1.0.0",
 *         .vendor = "Example Ltd",
 *         .license = "MIT",
 *         .description = "drops each message into a spool directory",
 *         .kinds = CURSUS_KIND_CHANNEL,
 *         .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
 *         .keywords = drop_keywords,
 *         .init = drop_init,
 *         .channel = &drop_channel_ops);
 *
 * Checks made by the loader before anything runs (each refusal is one log
 * line naming the file, the module and both versions where they apply):
 *  - the file and its directory are owned by root or the server user and
 *    writable by nobody else; the file is an ELF shared object;
 *  - the symbol exists and is at least as large as the ABI 1.0 descriptor
 *    (a truncated descriptor is refused) and `magic` is CURSUS_MODULE_MAGIC;
 *  - abi_major equals the host's major; abi_minor is not newer than the
 *    host's minor;
 *  - every kind named in `kinds` has its ops table and vice versa;
 *  - no other module already loaded has the same `name`.
 * The module is opened with RTLD_NOW | RTLD_LOCAL: every symbol it needs
 * must resolve at load, and it never sees the symbols of other modules.
 * Modules link against no Cursus library; everything they need from the
 * server comes through the host table passed to `init`.
 */
#ifndef CURSUS_MODULE_H
#define CURSUS_MODULE_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cursus_host;
struct cursus_channel_ops;
struct cursus_protocol_ops;
struct cursus_mapping_ops;
struct cursus_store_ops;
struct cursus_directory_ops;
struct cursus_auth_ops;
struct cursus_filter_ops;

/* "CRS1" - identifies a descriptor; guards against a garbled symbol. */
#define CURSUS_MODULE_MAGIC 0x43525331u

/* The name of the exported descriptor symbol. */
#define CURSUS_MODULE_SYMBOL "cursus_module"

/* What a module provides; a module may provide several kinds. */
enum cursus_kind {
  CURSUS_KIND_CHANNEL = 1u << 0,   /* master channel program (outbound)   */
  CURSUS_KIND_PROTOCOL = 1u << 1,  /* server session (slave side, access) */
  CURSUS_KIND_MAPPING = 1u << 2,   /* mapping source / callout functions  */
  CURSUS_KIND_STORE = 1u << 3,     /* message store backend               */
  CURSUS_KIND_DIRECTORY = 1u << 4, /* users, groups, domains              */
  CURSUS_KIND_AUTH = 1u << 5,      /* authentication method (SASL)        */
  CURSUS_KIND_FILTER = 1u << 6,    /* content filter                      */
};
#define CURSUS_KIND_ALL 0x7fu

/* Which server processes may load the module.  The loader refuses to load
 * a module into a process it does not name. */
enum cursus_process {
  CURSUS_PROC_WATCHER = 1u << 0,        /* the supervising process        */
  CURSUS_PROC_DISPATCHER = 1u << 1,     /* accepts connections            */
  CURSUS_PROC_WORKER = 1u << 2,         /* serves connections (SMTP, IMAP) */
  CURSUS_PROC_JOB_CONTROLLER = 1u << 3, /* schedules the queues           */
  CURSUS_PROC_CHANNEL_JOB = 1u << 4,    /* runs a master channel          */
  CURSUS_PROC_STORED = 1u << 5,         /* store housekeeping             */
  CURSUS_PROC_TOOL = 1u << 6,           /* command-line tools (cursus ...) */
};
#define CURSUS_PROC_ANY 0x7fu

/* Value types of keywords a module declares (channel keywords in imta.cnf
 * and keys of the module's section in cursus.conf). */
typedef enum cursus_value_type {
  CURSUS_VALUE_FLAG = 0,     /* no value: the keyword's presence is the value */
  CURSUS_VALUE_INTEGER = 1,  /* decimal or base notation b%v, e.g. 8%777      */
  CURSUS_VALUE_STRING = 2,   /* any text (quoted if it has spaces)            */
  CURSUS_VALUE_DURATION = 3, /* ISO 8601 duration ("PT5M") or seconds         */
  CURSUS_VALUE_SIZE = 4,     /* bytes, with optional K, M or G suffix         */
  CURSUS_VALUE_HOST = 5,     /* a host name, domain literal or IP address     */
  CURSUS_VALUE_CHANNEL = 6,  /* the name of another channel in imta.cnf       */
  CURSUS_VALUE_PATH = 7,     /* a file-system path                             */
  CURSUS_VALUE_BOOLEAN = 8,  /* yes/no, true/false, on/off, 1/0               */
} cursus_value_type;

/* One keyword the module accepts.  `min_values` and `max_values` give the
 * number of values after the keyword (both 0 for a flag; max_values 0 with
 * type other than FLAG means "no upper bound").  The list ends with an
 * entry whose name is NULL. */
typedef struct cursus_keyword {
  const char *name;
  cursus_value_type type;
  unsigned min_values;
  unsigned max_values;
  const char *help; /* one line for `cursus modules -v` and the docs */
} cursus_keyword;

/* Properties a module declares in its descriptor's `flags`. */
enum cursus_module_flags {
  /*
   * The module's mapping and directory ops answer from memory or from
   * local files: they never wait for the network, for another process,
   * or for a lock held across such a wait.  When every mapping and
   * directory module the configuration uses says so (and the source
   * channel has no content filters), host->queue->enqueue_waits answers
   * 0 and protocol modules call the address lookups on their event loop
   * instead of handing them to a host thread.  Declare it only when it
   * holds for every spec the module accepts.  Appeared in ABI 1.1.
   */
  CURSUS_MODULE_LOCAL_LOOKUPS = 1u << 0,
};

/* The descriptor.  Fill it with CURSUS_MODULE().  (No typedef: the name
 * cursus_module is the exported symbol.) */
struct cursus_module {
  /* --- ABI 1.0: identification (never moves) --- */
  uint32_t magic;     /* CURSUS_MODULE_MAGIC                              */
  uint32_t abi_major; /* CURSUS_ABI_MAJOR at build time                    */
  uint32_t abi_minor; /* CURSUS_ABI_MINOR at build time                    */
  uint32_t size;      /* sizeof(struct cursus_module) at build time        */

  const char *name;        /* unique module name, e.g. "channel_smtp"      */
  const char *version;     /* the module's own release, free form          */
  const char *vendor;      /* who ships it                                 */
  const char *license;     /* SPDX identifier                              */
  const char *description; /* one line                                     */

  uint32_t kinds;     /* bitwise OR of enum cursus_kind                    */
  uint32_t processes; /* bitwise OR of enum cursus_process; 0 = any        */

  /* NULL-terminated names of other modules that must be loaded too, or
   * NULL.  The loader refuses the module when one is missing. */
  const char *const *requires;

  /* Channel keywords the module accepts in imta.cnf, or NULL. */
  const cursus_keyword *keywords;
  /* Keys the module accepts in its own `[module NAME]` group of
   * cursus.conf, or NULL. */
  const cursus_keyword *settings;

  /*
   * Called once per process after the checks pass and before any ops
   * call.  `host` stays valid until fini returns.  Return CURSUS_OK, or a
   * failure with *error_r set: the module is then not used (and start-up
   * stops if the configuration needs it).  May be NULL.
   */
  int (*init)(cursus_module_ctx *ctx, const struct cursus_host *host,
              const char **error_r);
  /* Called once before the process exits or unloads the module. May be
   * NULL. */
  void (*fini)(cursus_module_ctx *ctx);

  /* One ops table per kind provided; NULL for the others. */
  const struct cursus_channel_ops *channel;
  const struct cursus_protocol_ops *protocol;
  const struct cursus_mapping_ops *mapping;
  const struct cursus_store_ops *store;
  const struct cursus_directory_ops *directory;
  const struct cursus_auth_ops *auth;
  const struct cursus_filter_ops *filter;
  /* --- members added after ABI 1.0 go here, and only here --- */
  /* Bitwise OR of enum cursus_module_flags.  Appeared in ABI 1.1: read
   * it with CURSUS_HAS (a module built for 1.0 has no room for it, and
   * its flags are taken as 0). */
  uint32_t flags;
};

/* Declares the module's descriptor with the ABI fields filled in. */
#define CURSUS_MODULE(...)                                                     \
  CURSUS_EXPORT const struct cursus_module cursus_module = {                   \
      .magic = CURSUS_MODULE_MAGIC,                                            \
      .abi_major = CURSUS_ABI_MAJOR,                                           \
      .abi_minor = CURSUS_ABI_MINOR,                                           \
      .size = sizeof(struct cursus_module),                                    \
      __VA_ARGS__}

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_MODULE_H */
