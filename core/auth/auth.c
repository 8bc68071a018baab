/*
 * auth.c - the host's authentication service (see auth.h)
 */
#include "build-config.h"
#include "auth.h"
#include "passwd.h"
#include "sasl.h"
#include "service.h"
#include "throttle.h"
#include "config/config.h"
#include "dir/dir.h"
#include "dir/status.h"
#include "dir/user.h"
#include "module/host.h"
#include "util/log.h"

#include <string.h>

static GPrivate errbuf = G_PRIVATE_INIT(g_free);

/* set_error - MSG (allocated) as this thread's error string */
static const char *set_error(char *msg) {
  g_private_replace(&errbuf, msg);
  return msg;
}

/* find_login - the user LOGIN may log in as for INFO: OK with *user_r,
 * NONE (why in *error_r), TEMPFAIL */
static int find_login(const char *login, const cursus_auth_info *info,
                      dir_user **user_r, const char **error_r) {
  char *error = NULL;
  int rc = dir_find_user(login, 0, user_r, &error);
  if (rc != CURSUS_OK) {
    if (error == NULL)
      error = g_strdup_printf("no user %s", login);
    *error_r = set_error(error);
    return rc < 0 ? CURSUS_TEMPFAIL : CURSUS_NONE;
  }
  dir_user *u = *user_r;
  const cursus_entry *dom =
      u->domain != NULL && !u->domain->vanity ? u->domain->entry : NULL;
  const char *why = dir_status_login(dom, u->entry);
  const char *service = info != NULL ? info->service : NULL;
  bool tls = info != NULL && info->tls;
  const char *ip = info != NULL ? info->remote_ip : NULL;
  if (why == NULL)
    service_allowed(cursus_entry_value(dom, "mailDomainAllowedServiceAccess"),
                    service, tls, ip, &why);
  if (why == NULL)
    service_allowed(cursus_entry_value(u->entry, "mailAllowedServiceAccess"),
                    service, tls, ip, &why);
  if (why != NULL) {
    *error_r = set_error(g_strdup_printf("%s: %s", u->id, why));
    dir_user_free(user_r);
    return CURSUS_NONE;
  }
  return CURSUS_OK;
}

/* check_hashes - PASSWORD against the userPassword values of E */
static int check_hashes(const cursus_entry *e, const char *password,
                        const char **error_r) {
  const cursus_attr *a = cursus_entry_attr(e, "userPassword");
  for (size_t i = 0; a != NULL && i < a->n_values; i++) {
    const char *why = NULL;
    int ok = passwd_verify(a->values[i], password, &why);
    if (ok > 0)
      return CURSUS_OK;
    if (ok < 0)
      log_warning("%s: a userPassword value cannot be used: %s", e->dn, why);
  }
  *error_r = a == NULL ? "the account has no password" : "wrong password";
  return CURSUS_NONE;
}

static int verify_password(const char *login, const char *password,
                           const cursus_auth_info *info, cursus_buf *user,
                           const char **error_r) {
  dir_user *u = NULL;
  if (login == NULL || password == NULL || *password == '\0') {
    *error_r = "empty login or password";
    return CURSUS_NONE;
  }
  int rc = find_login(login, info, &u, error_r);
  if (rc != CURSUS_OK)
    return rc;
  bool done = false;
  char *error = NULL;
  rc = dir_authenticate(u->entry->dn, password, &done, &error);
  if (done && rc != CURSUS_OK)
    *error_r = set_error(error != NULL ? error : g_strdup("wrong password"));
  else
    g_free(error);
  if (!done)
    rc = check_hashes(u->entry, password, error_r);
  if (rc == CURSUS_OK)
    host_table()->buf_append(user, u->id, strlen(u->id));
  dir_user_free(&u);
  return rc < 0 ? CURSUS_TEMPFAIL : rc;
}

static int scram_secret(const char *login, const char *mech,
                        const cursus_auth_info *info, cursus_buf *secret,
                        cursus_buf *user, const char **error_r) {
  dir_user *u = NULL;
  int rc = find_login(login, info, &u, error_r);
  if (rc != CURSUS_OK)
    return rc;
  /* "-PLUS" variants use the same secrets */
  char *base = g_strdup(mech);
  if (g_str_has_suffix(base, "-PLUS"))
    base[strlen(base) - 5] = '\0';
  const cursus_attr *a = cursus_entry_attr(u->entry, "authPassword");
  char *found = NULL;
  for (size_t i = 0; a != NULL && found == NULL && i < a->n_values; i++)
    found = passwd_scram_secret(a->values[i], base);
  if (found != NULL) {
    host_table()->buf_append(secret, found, strlen(found));
    host_table()->buf_append(user, u->id, strlen(u->id));
    rc = CURSUS_OK;
  } else {
    *error_r = set_error(g_strdup_printf("%s has no %s secrets", u->id, base));
    rc = CURSUS_NONE;
  }
  g_free(found);
  g_free(base);
  dir_user_free(&u);
  return rc;
}

static unsigned login_failed(const char *login, const char *remote_ip) {
  unsigned ms = throttle_failed(login, remote_ip);
  if (ms > 0)
    log_notice("authentication failures for %s from %s: answering in %u ms",
               login != NULL ? login : "?", remote_ip != NULL ? remote_ip : "?",
               ms);
  return ms;
}

static const cursus_auth_access table = {
    .size = sizeof(cursus_auth_access),
    .verify_password = verify_password,
    .scram_secret = scram_secret,
    .mechanisms = sasl_mechanisms,
    .sasl_start = sasl_start,
    .sasl_step = sasl_step,
    .sasl_finish = sasl_finish,
    .login_failed = login_failed,
};

const cursus_auth_access *auth_access(void) { return &table; }

/* configure - the [auth] settings of CFG */
static void configure(config *cfg) {
  const optfile *of = cfg != NULL ? cfg->conf : NULL;
  throttle_settings s = {
      .free_failures = (unsigned)conf_get_int(of, "auth", "failures_free", 3),
      .delay_ms = (unsigned)conf_get_int(of, "auth", "failure_delay_ms", 500),
      .max_ms =
          (unsigned)conf_get_int(of, "auth", "failure_delay_max", 15) * 1000,
      .window_s = (unsigned)conf_get_int(of, "auth", "failure_window", 900),
      .max_entries = 100000,
  };
  throttle_configure(&s);
}

void auth_service_start(config *cfg, modreg *mods) {
  configure(cfg);
  sasl_set_modules(mods);
  host_set_auth(&table);
}

void auth_service_refresh(config *cfg) { configure(cfg); }

void auth_service_stop(void) {
  host_set_auth(NULL);
  sasl_set_modules(NULL);
  throttle_reset();
}
