/*
 * auth.h - the host's authentication service (host->auth): verifying
 * passwords and handing out SCRAM secrets against the directory, login
 * throttling, and SASL exchanges run through the loaded auth-method
 * modules
 *
 * A login is found in the directory as user.h describes; it may log in
 * when its domain and account are active (status.h: overquota accounts
 * may), and when mailDomainAllowedServiceAccess and
 * mailAllowedServiceAccess allow the service from the client's address
 * (service.h).  The password is checked by the directory module when it
 * can (dir_ldap binds), else against the userPassword hashes (passwd.h).
 * An empty password never verifies.
 *
 * auth_service_start builds the table for a process after its modules
 * were initialised (it lists the auth-method modules) and plugs it in
 * with host_set_auth; the directory must be started first.
 * Thread-safe.
 */
#ifndef CURSUS_AUTH_SERVICE_H
#define CURSUS_AUTH_SERVICE_H

#include <stdbool.h>
#include <cursus/cursus.h>

struct config;
struct modreg;

/* auth_service_start - the auth service for MODS with the [auth]
 * settings of CFG; plugs host->auth in */
void auth_service_start(struct config *cfg, struct modreg *mods);
/* auth_service_refresh - new [auth] settings */
void auth_service_refresh(struct config *cfg);
void auth_service_stop(void);
/* auth_access - the table */
const cursus_auth_access *auth_access(void);

#endif
