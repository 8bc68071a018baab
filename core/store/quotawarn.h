/*
 * quotawarn.h - quota threshold warnings (host->store->quota_notify)
 */
#ifndef CURSUS_STORE_QUOTAWARN_H
#define CURSUS_STORE_QUOTAWARN_H

#include <cursus/cursus.h>

/* store_quota_notify - warn user U when due: CURSUS_OK warned,
 * CURSUS_NONE not due, TEMPFAIL with *error_r */
int store_quota_notify(cursus_store_user *u, const char **error_r);

#endif
