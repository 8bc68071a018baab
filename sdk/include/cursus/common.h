/*
 * cursus/common.h - types shared by every part of the Cursus module ABI
 *
 * This header is part of the public Cursus SDK.  It defines the ABI version,
 * the status codes every module call returns, the export macro for the one
 * symbol a module exports, and the small plain-C types that cross the
 * boundary between the server (the "host") and a module.
 *
 * Rules that hold for the whole ABI (see docs/module-guide.md):
 *  - Only plain C types and opaque handles cross the boundary.
 *  - Every table of function pointers starts with a `size` field and only
 *    ever grows at its end.  Use CURSUS_HAS() before calling a member that
 *    appeared after ABI 1.0.
 *  - Struct layouts never depend on build options.
 *  - Strings are NUL-terminated UTF-8 unless a length is given with them.
 *  - A module never frees memory the host allocated, and the host never
 *    frees memory a module allocated, unless a function says otherwise.
 */
#ifndef CURSUS_COMMON_H
#define CURSUS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version.  Numbered apart from the product release.  A module is
 * loaded when its major equals the host's and its minor is not newer than
 * the host's.  Minor bumps only append members to tables or add functions;
 * a major bump is any incompatible change.  1.0 is the first stable ABI:
 * from it on, CI compares these headers against a stored baseline
 * (sdk/abi/baseline.abi) and fails on any change but members appended.
 *
 * 1.1 appended struct cursus_module.flags (CURSUS_MODULE_LOCAL_LOOKUPS)
 * and cursus_queue_ops.enqueue_waits.
 */
#define CURSUS_ABI_MAJOR 1
#define CURSUS_ABI_MINOR 1

/* True when the compile-time SDK is at least MAJOR.MINOR. */
#define CURSUS_ABI_AT_LEAST(major, minor)                                      \
  (CURSUS_ABI_MAJOR > (major) ||                                               \
   (CURSUS_ABI_MAJOR == (major) && CURSUS_ABI_MINOR >= (minor)))

/* Marks the one symbol a module exports.  Modules are built with
 * -fvisibility=hidden; everything else stays private to the module. */
#if defined(__GNUC__) || defined(__clang__)
#define CURSUS_EXPORT __attribute__((visibility("default")))
#define CURSUS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CURSUS_EXPORT
#define CURSUS_PRINTF(fmt, args)
#endif

/*
 * True when the table PTR (any struct starting with `uint32_t size`) is
 * large enough to hold MEMBER, i.e. the other side was built against an ABI
 * minor that has it.  Always check before calling a member added after 1.0.
 */
#define CURSUS_HAS(ptr, member)                                                \
  ((ptr) != NULL &&                                                            \
   (ptr)->size >= offsetof(__typeof__(*(ptr)), member) + sizeof((ptr)->member))

/*
 * Status codes.  One convention everywhere:
 *   CURSUS_OK        success, or "found" for lookups
 *   CURSUS_NONE      nothing there: not found, false, declined
 *   CURSUS_TEMPFAIL  failure that may go away: retry later (SMTP 4xx,
 *                    queue retry).  A module that cannot tell uses this.
 *   CURSUS_PERMFAIL  failure that will not go away (SMTP 5xx, bounce)
 *   CURSUS_AGAIN     the operation continues asynchronously; the module
 *                    will call the completion it was given
 * Every call that can fail also takes `const char **error_r`; on failure it
 * points *error_r at a human-readable message that stays valid until the
 * next call on the same object from the same thread (a static string or a
 * buffer in the object both do).
 */
typedef enum cursus_status {
  CURSUS_AGAIN = -3,
  CURSUS_PERMFAIL = -2,
  CURSUS_TEMPFAIL = -1,
  CURSUS_NONE = 0,
  CURSUS_OK = 1,
} cursus_status;

/* Log levels, graded as in the admin guide: info, notice (worth a look),
 * warning (degraded, going on), error (this operation failed), critical
 * (configuration or resource failure: the process stops), panic (a broken
 * invariant: a bug). */
typedef enum cursus_log_level {
  CURSUS_LOG_DEBUG = 0,
  CURSUS_LOG_INFO = 1,
  CURSUS_LOG_NOTICE = 2,
  CURSUS_LOG_WARNING = 3,
  CURSUS_LOG_ERROR = 4,
  CURSUS_LOG_CRITICAL = 5,
  CURSUS_LOG_PANIC = 6,
} cursus_log_level;

/* A byte string with a length (may contain NULs). */
typedef struct cursus_bytes {
  const char *data;
  size_t len;
} cursus_bytes;

/* A growable output buffer owned by the host.  Modules append to it only
 * through host->buf_append / host->buf_printf; `data` is always
 * NUL-terminated after an append. */
typedef struct cursus_buf {
  char *data;
  size_t len;
  size_t alloc;
} cursus_buf;

/* Opaque handle for one loaded module instance: the host passes it to
 * init and the module passes it back to host calls that need to know who
 * is calling (logging prefix, configuration). */
typedef struct cursus_module_ctx cursus_module_ctx;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_COMMON_H */
