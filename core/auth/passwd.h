/*
 * passwd.h - password hashes in the forms LDAP servers store them
 * (userPassword "{SCHEME}..."), and SCRAM secrets (authPassword, RFC 5803)
 *
 * Verification knows {SSHA512}, {SHA512}, {SSHA256}, {SHA256}, {SSHA},
 * {SHA} (as OpenLDAP's pw-sha2 module and core write them), {CRYPT}
 * (crypt(3): $6$, $5$, $y$, $2b$ ...) and {ARGON2} (OpenLDAP's argon2
 * module).  A value without a scheme is clear text: it never verifies.
 * New hashes are {SSHA512}, {CRYPT} with SHA-512 ($6$) or {ARGON2}
 * (argon2id); all three are understood by slapd (pw-sha2 and argon2 are
 * loadable modules of Debian's slapd; crypt is built in).
 *
 * Comparisons take constant time.  Salts come from GnuTLS's random
 * generator.  Thread-safe.
 */
#ifndef CURSUS_PASSWD_H
#define CURSUS_PASSWD_H

#include <stdbool.h>

/* passwd_verify - PASSWORD matches the stored value STORED: 1 yes, 0 no,
 * -1 the scheme is unknown (*why_r says which) */
int passwd_verify(const char *stored, const char *password,
                  const char **why_r);
/* passwd_hash - a new stored value for PASSWORD with SCHEME ("SSHA512",
 * "CRYPT", "ARGON2"); NULL with *error_r (allocated) */
char *passwd_hash(const char *scheme, const char *password, char **error_r);
/* passwd_scheme_known - SCHEME is one passwd_hash makes */
bool passwd_scheme_known(const char *scheme);

/* passwd_scram - the authPassword value (RFC 5803) holding the SCRAM
 * secrets of PASSWORD for MECH ("SCRAM-SHA-256" or "SCRAM-SHA-1"):
 * "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY"; NULL with *error_r */
char *passwd_scram(const char *mech, const char *password, unsigned iterations,
                   char **error_r);
/* passwd_scram_secret - from an authPassword VALUE for MECH, the
 * "ITER:SALT:STOREDKEY:SERVERKEY" form auth.h hands out; NULL when VALUE
 * is for another mechanism or malformed */
char *passwd_scram_secret(const char *value, const char *mech);

#endif
