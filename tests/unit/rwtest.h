/*
 * rwtest.h - what the unit tests of addresses, mappings and rewriting
 * share: loading the test configuration of tests/data/rewrite with the
 * build tree's modules, and the tests' expander (the directory stand-in)
 */
#ifndef CURSUS_RWTEST_H
#define CURSUS_RWTEST_H

#include <stdbool.h>
#include <check.h>
#include "config/config.h"

/* rwtest_srcdir - the source tree ($srcdir, else ".") */
const char *rwtest_srcdir(void);
/* rwtest_load - load and make current the configuration in DIR (relative
 * to the source tree); fails the test on any configuration error */
config *rwtest_load(const char *dir, modreg **mods_r);
/* rwtest_register_expander - the directory stand-in: hosted.example,
 * alt.example and zonehosted.example are hosted, tempfail.example cannot
 * be looked up; joe@ expands to joe+INBOX@ims-ms-daemon, group@ to two
 * members, dirtemp@ fails for now */
void rwtest_register_expander(void);

/* rwtest_run - run suite S (in forked children when FORK); the exit
 * status for main */
int rwtest_run(Suite *s, bool fork);

#endif
