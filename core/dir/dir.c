/*
 * dir.c - the directory service of the process (see dir.h)
 */
#include "build-config.h"
#include "dir.h"
#include "access.h"
#include "delivery.h"
#include "resolve.h"
#include "auth/passwd.h"
#include "config/config.h"
#include "module/host.h"
#include "mta/expand.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <string.h>

static struct {
  module *mod;
  const cursus_directory_ops *ops;
  void *dir;
  dir_settings *settings;
  GPtrArray *old_settings; /* kept alive for readers on other threads */
} svc;

/* module_error - "WHAT: ERROR" (allocated) */
static char *module_error(const char *what, const char *error) {
  return g_strdup_printf("%s%s%s", what != NULL ? what : "",
                         what != NULL && error != NULL ? ": " : "",
                         error != NULL ? error : "no reason given");
}

dir_settings *dir_settings_read(const config *cfg) {
  const optfile *of = cfg != NULL ? cfg->conf : NULL;
  dir_settings *s = g_new0(dir_settings, 1);
  const char *v = conf_get(of, "directory", "default_domain");
  s->default_domain = v != NULL && *v != '\0' ? g_ascii_strdown(v, -1) : NULL;
  GPtrArray *hosts = g_ptr_array_new();
  if (cfg != NULL && cfg->hostname != NULL)
    g_ptr_array_add(hosts, g_strdup(cfg->hostname));
  v = conf_get(of, "directory", "local_hosts");
  char **more = g_strsplit_set(v != NULL ? v : "", " ,", -1);
  for (char **h = more; *h != NULL; h++)
    if (**h != '\0')
      g_ptr_array_add(hosts, g_ascii_strdown(*h, -1));
  g_strfreev(more);
  g_ptr_array_add(hosts, NULL);
  s->local_hosts = (char **)g_ptr_array_free(hosts, FALSE);
  s->delivery_options = g_strdup(conf_get(of, "directory", "delivery_options"));
  s->subaddress_separator =
      g_strdup(conf_get(of, "directory", "subaddress_separator"));
  s->domain_uplevel = conf_get_bool(of, "directory", "domain_uplevel", false);
  s->allow_program = conf_get_bool(of, "directory", "allow_program", false);
  s->allow_file = conf_get_bool(of, "directory", "allow_file", false);
  s->max_group_members =
      (unsigned)conf_get_int(of, "directory", "max_group_members", 100000);
  s->max_nesting = (unsigned)conf_get_int(of, "directory", "max_nesting", 10);
  s->mailhost_route = g_strdup(conf_get(of, "directory", "mailhost_route"));
  s->autoreply_timeout =
      (unsigned)conf_get_int(of, "directory", "autoreply_timeout", 604800);
  v = conf_get(of, "directory", "autoreply_db");
  s->autoreply_db = cfg != NULL ? fs_path_join(cfg->state_dir, v)
                                : g_strdup(v);
  return s;
}

void dir_settings_free(dir_settings **sp) {
  dir_settings *s = *sp;
  if (s == NULL)
    return;
  g_free(s->default_domain);
  g_strfreev(s->local_hosts);
  g_free(s->delivery_options);
  g_free(s->subaddress_separator);
  g_free(s->mailhost_route);
  g_free(s->autoreply_db);
  g_free(s);
  *sp = NULL;
}

static void settings_free(gpointer p) { dir_settings_free((dir_settings **)&p); }

const dir_settings *dir_settings_get(void) { return svc.settings; }

/* set_settings - make S current, keeping the old for other threads */
static void set_settings(dir_settings *s) {
  if (svc.old_settings == NULL)
    svc.old_settings = g_ptr_array_new_with_free_func(settings_free);
  if (svc.settings != NULL)
    g_ptr_array_add(svc.old_settings, svc.settings);
  svc.settings = s;
}

/* report - an error about GROUP's KEY at its line of cursus.conf */
static void report(const config *cfg, diag *d, const char *group,
                   const char *key, const char *error) {
  const char *file = cfg->conf_path;
  unsigned line = 0;
  for (guint i = 0; i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    const opt_entry *e = s->kind != NULL && s->name == NULL &&
                                 g_ascii_strcasecmp(s->kind, group) == 0
                             ? optfile_get(s, key)
                             : NULL;
    if (e != NULL) {
      file = e->file;
      line = e->line;
    }
  }
  diag_error(d, file, line, "[%s] %s: %s", group, key, error);
}

/* use_auth_modules - the auth-method modules named by [auth] modules (by
 * default every one found) are used: processes initialise them */
static void use_auth_modules(config *cfg, diag *d) {
  const char *names = conf_get(cfg->conf, "auth", "modules");
  if (names == NULL || *names == '\0') {
    for (guint i = 0; i < cfg->mods->modules->len; i++) {
      module *m = cfg->mods->modules->pdata[i];
      if (m->desc->kinds & CURSUS_KIND_AUTH)
        m->used = true;
    }
    return;
  }
  char **list = g_strsplit_set(names, " ,", -1);
  for (char **n = list; *n != NULL; n++) {
    if (**n == '\0')
      continue;
    module *m = modreg_find(cfg->mods, *n);
    if (m == NULL || !(m->desc->kinds & CURSUS_KIND_AUTH)) {
      char *why = g_strdup_printf("%s is not an available auth-method module "
                                  "(see `cursus modules`)",
                                  *n);
      report(cfg, d, "auth", "modules", why);
      g_free(why);
    } else {
      m->used = true;
    }
  }
  g_strfreev(list);
}

/* check_settings - the [directory] and [auth] values, for `cursus config
 * check` and every load */
static void check_settings(config *cfg, diag *d) {
  dir_settings *s = dir_settings_read(cfg);
  char *error = NULL;
  dopt_table *t = dopt_table_parse(s->delivery_options, &error);
  if (t == NULL)
    report(cfg, d, "directory", "delivery_options", error);
  dopt_table_free(&t);
  g_free(error);
  error = NULL;
  if (!dopt_check_template(s->mailhost_route, &error))
    report(cfg, d, "directory", "mailhost_route", error);
  g_free(error);
  use_auth_modules(cfg, d);
  const char *scheme = conf_get(cfg->conf, "auth", "password_scheme");
  if (scheme != NULL && !passwd_scheme_known(scheme))
    report(cfg, d, "auth", "password_scheme",
           "not a password scheme (CRYPT, SSHA512, ARGON2)");
  dir_settings_free(&s);
}

/* register_check - the settings are checked with the rest of the
 * configuration, in every program that loads it */
__attribute__((constructor)) static void register_check(void) {
  config_add_check_hook(check_settings);
}

bool dir_service_wanted(const config *cfg) {
  for (guint i = 0; cfg != NULL && i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    if (s->kind != NULL && s->name == NULL &&
        g_ascii_strcasecmp(s->kind, "directory") == 0 &&
        optfile_get(s, "module") != NULL)
      return true;
  }
  return false;
}

/* use_module - open module M's directory */
static bool use_module(module *m, char **error_r) {
  const char *error = NULL;
  if (m->desc->directory == NULL) {
    *error_r = g_strdup_printf("module %s is not a directory module",
                               m->desc->name);
    return false;
  }
  void *dir = NULL;
  if (m->desc->directory->open(m->ctx, &dir, &error) != CURSUS_OK) {
    *error_r = g_strdup_printf("directory module %s: %s", m->desc->name,
                               error != NULL ? error : "cannot open");
    return false;
  }
  svc.mod = m;
  svc.ops = m->desc->directory;
  svc.dir = dir;
  return true;
}

bool dir_service_start(config *cfg, modreg *mods, char **error_r) {
  const char *name = conf_get(cfg->conf, "directory", "module");
  module *m = name != NULL ? modreg_find(mods, name) : NULL;
  if (m == NULL) {
    *error_r = g_strdup_printf("[directory] module %s is not available",
                               name != NULL ? name : "(unset)");
    return false;
  }
  if (!m->initialized && !module_init(m, error_r))
    return false;
  dir_settings *s = dir_settings_read(cfg);
  /* modules check hand-written values through host->directory at open */
  host_set_directory(access_table());
  if (!use_module(m, error_r)) {
    host_set_directory(NULL);
    dir_settings_free(&s);
    return false;
  }
  set_settings(s);
  char *error = NULL;
  if (!resolve_start(s, &error)) {
    *error_r = g_strdup_printf("%s: [directory] %s", cfg->conf_path, error);
    g_free(error);
    dir_service_stop();
    return false;
  }
  return true;
}

void dir_service_refresh(config *cfg) {
  if (svc.ops == NULL)
    return;
  dir_settings *s = dir_settings_read(cfg);
  char *error = NULL;
  if (!resolve_start(s, &error)) {
    log_error("%s: [directory] %s; keeping the previous directory settings",
              cfg->conf_path, error);
    g_free(error);
    dir_settings_free(&s);
  } else {
    set_settings(s);
  }
  const char *merr = NULL;
  if (svc.ops->reload != NULL && svc.ops->reload(svc.dir, &merr) != CURSUS_OK)
    log_error("directory %s: %s", svc.mod->desc->name,
              merr != NULL ? merr : "reload failed");
  if (svc.ops->flush != NULL)
    svc.ops->flush(svc.dir);
}

bool dir_running(void) { return svc.ops != NULL; }

void dir_service_stop(void) {
  if (svc.ops != NULL) {
    host_set_directory(NULL);
    resolve_stop();
    svc.ops->close(svc.dir);
  }
  svc.ops = NULL;
  svc.dir = NULL;
  svc.mod = NULL;
  dir_settings_free(&svc.settings);
  if (svc.old_settings != NULL)
    g_ptr_array_free(svc.old_settings, TRUE);
  svc.old_settings = NULL;
}



/* not_open - the error when no directory is open */
static int not_open(char **error_r) {
  *error_r = g_strdup("no directory is open in this process");
  return CURSUS_TEMPFAIL;
}

/* result - RC with the module's ERROR made an allocated *error_r */
static int result(int rc, const char *error, char **error_r) {
  if (rc < 0 || (rc == CURSUS_NONE && error != NULL))
    *error_r = module_error(NULL, error);
  return rc;
}

int dir_lookup_domain(const char *domain, unsigned flags,
                      cursus_entry **entry_r, char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->lookup_domain(svc.dir, domain, flags, entry_r, &error);
  return result(rc, error, error_r);
}

int dir_lookup_address(const char *base_dn, const char *address,
                       unsigned kinds, unsigned flags, cursus_entry **entry_r,
                       char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->lookup_address(svc.dir, base_dn, address, kinds, flags,
                                   entry_r, &error);
  return result(rc, error, error_r);
}

int dir_lookup_uid(const char *base_dn, const char *uid, unsigned flags,
                   cursus_entry **entry_r, char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->lookup_uid(svc.dir, base_dn, uid, flags, entry_r, &error);
  return result(rc, error, error_r);
}

int dir_lookup_dn(const char *dn, unsigned flags, cursus_entry **entry_r,
                  char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->lookup_dn(svc.dir, dn, flags, entry_r, &error);
  return result(rc, error, error_r);
}

int dir_search(const char *base_dn, int scope, const char *filter,
               size_t max_entries, unsigned flags, cursus_entry_cb *cb,
               void *data, char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->search(svc.dir, base_dn, scope, filter, max_entries,
                                flags, cb, data, &error);
  return result(rc, error, error_r);
}

int dir_search_url(const char *url, size_t max_entries, unsigned flags,
                   cursus_entry_cb *cb, void *data, char **error_r) {
  const char *error = NULL;
  if (svc.ops == NULL)
    return not_open(error_r);
  int rc = svc.ops->search_url(svc.dir, url, max_entries, flags, cb, data,
                                    &error);
  return result(rc, error, error_r);
}

int dir_authenticate(const char *dn, const char *password, bool *done_r,
                     char **error_r) {
  const char *error = NULL;
  *done_r = false;
  if (svc.ops == NULL)
    return not_open(error_r);
  if (svc.ops->authenticate == NULL)
    return CURSUS_NONE;
  *done_r = true;
  int rc = svc.ops->authenticate(svc.dir, dn, password, &error);
  return result(rc, rc == CURSUS_OK ? NULL : error, error_r);
}

bool dir_writable(void) {
  return svc.ops != NULL && svc.ops->add != NULL && svc.ops->modify != NULL &&
         svc.ops->remove != NULL;
}

/* read_only - the error when the module cannot write */
static int read_only(char **error_r) {
  if (svc.ops == NULL)
    return not_open(error_r);
  *error_r = g_strdup_printf("directory module %s cannot change entries",
                             svc.mod->desc->name);
  return CURSUS_PERMFAIL;
}

int dir_add(const cursus_entry *entry, char **error_r) {
  const char *error = NULL;
  if (!dir_writable())
    return read_only(error_r);
  int rc = svc.ops->add(svc.dir, entry, &error);
  return result(rc, error, error_r);
}

int dir_modify(const char *dn, const cursus_mod *mods, size_t n_mods,
               char **error_r) {
  const char *error = NULL;
  if (!dir_writable())
    return read_only(error_r);
  int rc = svc.ops->modify(svc.dir, dn, mods, n_mods, &error);
  return result(rc, error, error_r);
}

int dir_remove(const char *dn, char **error_r) {
  const char *error = NULL;
  if (!dir_writable())
    return read_only(error_r);
  int rc = svc.ops->remove(svc.dir, dn, &error);
  return result(rc, error, error_r);
}


void dir_stats(GString *out) {
  cursus_buf buf = {0};
  if (svc.ops == NULL)
    return;
  g_string_append_printf(out, "module %s\n", svc.mod->desc->name);
  if (svc.ops->stats != NULL) {
    svc.ops->stats(svc.dir, &buf);
    if (buf.data != NULL)
      g_string_append(out, buf.data);
    host_table()->buf_free(&buf);
  }
}

void dir_entry_free(cursus_entry **entry) {
  if (*entry != NULL && svc.ops != NULL)
    svc.ops->entry_free(svc.dir, *entry);
  *entry = NULL;
}


const char **dir_entry_values(const cursus_entry *e, const char *name) {
  const cursus_attr *a = cursus_entry_attr(e, name);
  const char **v = g_new0(const char *, a != NULL ? a->n_values + 1 : 1);
  for (size_t i = 0; a != NULL && i < a->n_values; i++)
    v[i] = a->values[i];
  return v;
}
