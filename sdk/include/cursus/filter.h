/*
 * cursus/filter.h - content filters
 *
 * A content filter sees each message as it is enqueued and may accept,
 * reject, defer or discard it, or add header fields.
 * (ABI 0.x: this table is being completed with the MTA.)
 */
#ifndef CURSUS_FILTER_H
#define CURSUS_FILTER_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cursus_filter_ops {
  uint32_t size;
  /* --- members added after ABI 0.1 go here --- */
} cursus_filter_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_FILTER_H */
