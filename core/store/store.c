/*
 * store.c - the configured store backend as host->store
 */
#include "build-config.h"
#include "store.h"
#include "account.h"
#include "warning.h"
#include "quotawarn.h"
#include "config/config.h"
#include "module/host.h"
#include "util/log.h"

#include <string.h>

static struct {
  module *mod;
  const cursus_store_ops *ops;
  void *handle;
  GMutex mu;
  char *open_error;
  bool running;
  config *cfg; /* referenced */
} svc;

static cursus_store_access access_table;

/* opened - the backend, opened at the first need */
static void *opened(const char **error_r) {
  g_mutex_lock(&svc.mu);
  if (svc.handle == NULL && svc.ops != NULL) {
    const char *error = NULL;
    if (svc.ops->open(svc.mod->ctx, &svc.handle, &error) != CURSUS_OK) {
      g_free(svc.open_error);
      svc.open_error = g_strdup_printf("the message store (%s) cannot be "
                                       "opened: %s",
                                       svc.mod->desc->name,
                                       error != NULL ? error : "no reason");
      log_error("%s", svc.open_error);
      svc.handle = NULL;
    }
  }
  void *h = svc.handle;
  if (h == NULL && error_r != NULL)
    *error_r = svc.open_error != NULL ? svc.open_error
                                      : "no message store is configured";
  g_mutex_unlock(&svc.mu);
  return h;
}

void *store_backend(const char **error_r) { return opened(error_r); }

const cursus_store_ops *store_ops(void) { return svc.ops; }

bool store_running(void) { return svc.running; }

int store_user_open(const char *user, unsigned flags,
                    cursus_store_user **user_r, const char **error_r) {
  static GPrivate err_tls = G_PRIVATE_INIT(g_free);
  void *h = opened(error_r);
  *user_r = NULL;
  if (h == NULL)
    return CURSUS_TEMPFAIL;
  store_account acct;
  char *error = NULL;
  config *cfg = config_current() != NULL ? config_current() : svc.cfg;
  int r = store_account_resolve(cfg, user, &acct, &error);
  if (r == CURSUS_NONE && (flags & CURSUS_STORE_USER_ADMIN)) {
    /* an admin may reach stores the directory no longer knows */
    g_clear_pointer(&error, g_free);
    memset(&acct, 0, sizeof(acct));
    acct.user = g_strdup(user);
    acct.quota_bytes = store_quota_default(cfg, false);
    acct.quota_messages = store_quota_default(cfg, true);
    acct.enforce = conf_get_bool(cfg->conf, "store", "quota_enforcement",
                                 true);
    r = CURSUS_OK;
  }
  if (r != CURSUS_OK) {
    if (error == NULL)
      error = g_strdup_printf("no such user: %s", user);
    g_private_replace(&err_tls, error);
    *error_r = error;
    store_account_clear(&acct);
    return r;
  }
  cursus_store_account a = {
      .size = sizeof(a),
      .user = acct.user,
      .partition = acct.partition,
      .quota_bytes = acct.quota_bytes,
      .quota_messages = acct.quota_messages,
      .enforce_quota = acct.enforce,
  };
  r = svc.ops->user_open(h, &a, flags, user_r, error_r);
  store_account_clear(&acct);
  return r;
}

static cursus_store_append *append_begin(const cursus_store_append_params *p,
                                         const char **error_r) {
  void *h = opened(error_r);
  return h != NULL ? svc.ops->append_begin(h, p, error_r) : NULL;
}

void store_policy(cursus_store_policy *p) {
  config *cfg = config_current() != NULL ? config_current() : svc.cfg;
  const optfile *of = cfg != NULL ? cfg->conf : NULL;
  if (!CURSUS_HAS(p, grace))
    return;
  p->enforce = conf_get_bool(of, "store", "quota_enforcement", true);
  long long pct = conf_get_int(of, "store", "quota_warn", 90);
  p->warn_percent = pct > 0 && pct <= 100 ? (unsigned)pct : 0;
  p->warn_interval = conf_get_int(of, "store", "quota_warn_interval", 86400);
  p->grace = conf_get_int(of, "store", "quota_grace", 86400);
}

static int quota_warning(const char *user, const char *address,
                         const cursus_store_quota *quota, cursus_buf *out,
                         const char **error_r) {
  static GPrivate err_tls = G_PRIVATE_INIT(g_free);
  config *cfg = config_current() != NULL ? config_current() : svc.cfg;
  char *error = NULL;
  GString *msg = store_warning_compose(cfg, user, address, quota, &error);
  if (msg == NULL) {
    g_private_replace(&err_tls, error);
    *error_r = error;
    return CURSUS_TEMPFAIL;
  }
  host_table()->buf_append(out, msg->str, msg->len);
  g_string_free(msg, TRUE);
  return CURSUS_OK;
}

static void *backend(void) { return opened(NULL); }

bool store_service_start(config *cfg, modreg *mods, bool eager,
                         char **error_r) {
  const char *name = conf_get(cfg->conf, "store", "module");
  module *m = name != NULL ? modreg_find(mods, name) : NULL;
  if (m == NULL || m->desc->store == NULL) {
    *error_r = g_strdup_printf("[store] module %s is not available (see "
                               "`cursus modules`)",
                               name != NULL ? name : "(none)");
    return false;
  }
  if (!module_init(m, error_r))
    return false;
  svc.mod = m;
  svc.ops = m->desc->store;
  svc.cfg = config_ref(cfg);
  svc.running = true;
  memset(&access_table, 0, sizeof(access_table));
  access_table.size = sizeof(access_table);
  access_table.ops = svc.ops;
  access_table.user_open = store_user_open;
  access_table.append_begin = append_begin;
  access_table.quota_policy = store_policy;
  access_table.quota_warning = quota_warning;
  access_table.backend = backend;
  access_table.quota_notify = store_quota_notify;
  host_set_store(&access_table);
  if (eager) {
    const char *error;
    if (opened(&error) == NULL) {
      *error_r = g_strdup(error);
      store_service_stop();
      return false;
    }
  }
  return true;
}

void store_service_refresh(config *cfg) {
  if (!svc.running)
    return;
  config_unref(&svc.cfg);
  svc.cfg = config_ref(cfg);
  g_mutex_lock(&svc.mu);
  if (svc.handle != NULL && CURSUS_HAS(svc.ops, refresh) &&
      svc.ops->refresh != NULL)
    svc.ops->refresh(svc.handle);
  g_mutex_unlock(&svc.mu);
}

void store_service_stop(void) {
  host_set_store(NULL);
  g_mutex_lock(&svc.mu);
  if (svc.handle != NULL)
    svc.ops->close(svc.handle);
  svc.handle = NULL;
  g_clear_pointer(&svc.open_error, g_free);
  g_mutex_unlock(&svc.mu);
  config_unref(&svc.cfg);
  svc.mod = NULL;
  svc.ops = NULL;
  svc.running = false;
}

const cursus_store_access *store_access(void) {
  return svc.running ? &access_table : NULL;
}
