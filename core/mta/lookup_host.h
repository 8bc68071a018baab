/*
 * lookup_host.h - the host's lookup services for modules (host->lookup,
 * sdk cursus/lookup.h), built on resolve.h, access.h, addr.h and the
 * mapping tables of the current configuration
 */
#ifndef CURSUS_LOOKUP_HOST_H
#define CURSUS_LOOKUP_HOST_H

#include <cursus/lookup.h>

/* lookup_host_ops - the table to install with host_set_lookup */
const cursus_lookup_ops *lookup_host_ops(void);

#endif
