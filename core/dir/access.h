/*
 * access.h - the directory as a host service for modules
 * (host->directory, cursus_directory_access of the SDK): users and
 * domains as the server resolves them, and autoreplies (autoreply.h)
 */
#ifndef CURSUS_DIR_ACCESS_H
#define CURSUS_DIR_ACCESS_H

#include <cursus/cursus.h>

/* access_table - the table dir_service_start plugs in */
const cursus_directory_access *access_table(void);

#endif
