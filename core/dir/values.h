/*
 * values.h - which values the server accepts in the attributes it uses:
 * addresses (mail, mailAlternateAddress, forwarding and member addresses
 * ...), domain names, LDAP URLs, status words, delivery options, numbers
 * and times
 *
 * One table serves provisioning (before anything is written) and the
 * directory modules that read data written by hand (dir_ldif, through
 * host->directory->check_value), so both refuse the same values.
 * Attributes the server does not use are not checked.  Pure.
 */
#ifndef CURSUS_DIR_VALUES_H
#define CURSUS_DIR_VALUES_H

#include <stdbool.h>

/* dir_check_value - VALUE is acceptable for ATTR; false with *error_r
 * (allocated, "ATTR: reason") */
bool dir_check_value(const char *attr, const char *value, char **error_r);

#endif
