/*
 * hdrfield.h - one header field of a queued message, for a channel job
 *
 * Reads the header of an open queue file (at most HDRFIELD_HEADER_MAX
 * bytes of it) and returns the unfolded value of the first field of a
 * given name.  The Deferred-delivery: date of `deferred` channels comes
 * from here.  Thread-safe (pread only).
 */
#ifndef CURSUS_HDRFIELD_H
#define CURSUS_HDRFIELD_H

#include <stdint.h>
#include "queue/queue.h"

#define HDRFIELD_HEADER_MAX (64 * 1024)

/* hdrfield_get - the value of field NAME in Q's header (allocated,
 * unfolded, trimmed); CURSUS_OK, CURSUS_NONE (no such field) or
 * CURSUS_TEMPFAIL (read error) */
int hdrfield_get(const qmsg *q, const char *name, char **value_r);
/* hdrfield_date - an RFC 5322 date-time in seconds since the epoch;
 * false when VALUE is not one */
bool hdrfield_date(const char *value, int64_t *t_r);

#endif
