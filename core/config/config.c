/*
 * config.c - load and cross-check the configuration
 */
#include "build-config.h"
#include "config.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static GPtrArray *check_hooks;
static config *current_config;
static GMutex current_lock;
static GPrivate loading; /* config* being loaded by this thread */

/* An attached extension's destructor. */
typedef struct ext_destroy {
  void *data;
  GDestroyNotify destroy;
} ext_destroy;

const char *config_default_dir(void) {
  const char *env = g_getenv("CURSUS_CONFIG_DIR");
  return env != NULL && *env != '\0' ? env : CURSUS_CONFIG_DIR;
}

void config_add_check_hook(config_check_hook *hook) {
  if (check_hooks == NULL)
    check_hooks = g_ptr_array_new();
  g_ptr_array_add(check_hooks, (gpointer)hook);
}

char **config_module_path(const optfile *of, const char *config_dir) {
  const char *env = g_getenv("CURSUS_MODULE_PATH");
  const char *path = env != NULL && *env != '\0'
                         ? env
                         : conf_get(of, "paths", "module_path");
  char **dirs = g_strsplit(path != NULL ? path : CURSUS_MODULE_DIR, ":", -1);
  for (char **p = dirs; *p != NULL; p++) {
    char *abs = fs_path_join(config_dir, *p);
    g_free(*p);
    *p = abs;
  }
  return dirs;
}

/* dir_setting - a directory from [paths], relative to the config dir, or
 * STATE/DEFAULT_NAME */
static char *dir_setting(config *cfg, const char *key, const char *name) {
  const char *v = conf_get(cfg->conf, "paths", key);
  if (v != NULL && *v != '\0')
    return fs_path_join(cfg->dir, v);
  return g_build_filename(cfg->state_dir, name, NULL);
}

static void read_conf_paths(config *cfg) {
  cfg->state_dir = fs_path_join(cfg->dir, conf_get(cfg->conf, "paths", "state_dir"));
  cfg->queue_dir = dir_setting(cfg, "queue_dir", "queue");
  cfg->store_dir = dir_setting(cfg, "store_dir", "store");
  cfg->log_dir = dir_setting(cfg, "log_dir", "log");
  cfg->run_dir = dir_setting(cfg, "run_dir", "run");
  const char *host = conf_get(cfg->conf, "server", "hostname");
  cfg->hostname = g_ascii_strdown(host != NULL ? host : g_get_host_name(), -1);
  cfg->server_user = g_strdup(conf_get(cfg->conf, "server", "user"));
}

/* register_keywords - core keywords plus every module's, and each channel
 * module's selecting keywords as flags */
static void register_keywords(config *cfg, diag *d) {
  static const cursus_keyword select_flag = {NULL, CURSUS_VALUE_FLAG, 0, 0,
                                             "selects this module"};
  char *error = NULL;
  cfg->keywords = kwtable_new();
  kwtable_add(cfg->keywords, core_channel_keywords, "core", &error);
  for (guint i = 0; i < cfg->mods->modules->len; i++) {
    module *m = cfg->mods->modules->pdata[i];
    if (!kwtable_add(cfg->keywords, m->desc->keywords, m->desc->name, &error)) {
      diag_error(d, m->path, 0, "%s", error);
      g_free(error);
      error = NULL;
    }
    if (m->desc->channel == NULL)
      continue;
    for (const char *const *k = m->desc->channel->select_keywords;
         k != NULL && *k != NULL; k++) {
      /* one static list per keyword: the registry keeps the pointer */
      cursus_keyword *kw = g_new0(cursus_keyword, 2);
      *kw = select_flag;
      kw->name = g_intern_string(*k);
      if (!kwtable_add(cfg->keywords, kw, m->desc->name, &error)) {
        diag_error(d, m->path, 0, "%s", error);
        g_free(error);
        error = NULL;
      }
      g_ptr_array_add(g_hash_table_lookup(cfg->extensions, "config.owned"), kw);
    }
  }
}

/* explain_missing - why module NAME is not available */
static char *explain_missing(const config *cfg, const char *name) {
  const module_refusal *r = modreg_refusal(cfg->mods, name);
  if (r != NULL)
    return g_strdup_printf("%s: %s", r->path, r->reason);
  return g_strdup("no such module in the module path (see `cursus modules`)");
}

/* use_module - mark NAME used, requiring KIND; false (with a diagnostic at
 * FILE:LINE) when it is missing or lacks the kind */
static module *use_module(config *cfg, const char *name, uint32_t kind,
                          const char *what, const char *file, unsigned line,
                          diag *d) {
  module *m = modreg_find(cfg->mods, name);
  if (m == NULL) {
    char *why = explain_missing(cfg, name);
    diag_error(d, file, line, "%s: module %s is not available: %s", what, name,
               why);
    g_free(why);
    return NULL;
  }
  if (!(m->desc->kinds & kind)) {
    char *kinds = module_kinds_string(m->desc->kinds);
    char *want = module_kinds_string(kind);
    diag_error(d, file, line, "%s: module %s provides %s, not %s", what, name,
               kinds, want);
    g_free(kinds);
    g_free(want);
    return NULL;
  }
  m->used = true;
  return m;
}

bool config_lookups_local(const config *cfg) {
  if (cfg == NULL || cfg->mods == NULL)
    return false;
  for (guint i = 0; i < cfg->mods->modules->len; i++) {
    const module *m = cfg->mods->modules->pdata[i];
    if (!m->used ||
        !(m->desc->kinds & (CURSUS_KIND_MAPPING | CURSUS_KIND_DIRECTORY)))
      continue;
    if (!CURSUS_HAS(m->desc, flags) ||
        !(m->desc->flags & CURSUS_MODULE_LOCAL_LOOKUPS))
      return false;
  }
  return true;
}

bool config_channel_slave(const cnf_channel *ch) {
  static const char *const kinds[] = {"master", "slave", "bidirectional", NULL};
  const char *k = cnf_channel_last_of(ch, kinds);
  return k != NULL && strcmp(k, "slave") == 0;
}

module *config_channel_module(const config *cfg, const cnf_channel *ch) {
  return ch->module != NULL ? modreg_find(cfg->mods, ch->module) : NULL;
}

static void check_channels(config *cfg, diag *d) {
  for (guint i = 0; i < cfg->imta->channels->len; i++) {
    cnf_channel *ch = cfg->imta->channels->pdata[i];
    const cnf_kw *mk = cnf_channel_kw(ch, "module");
    module *m = NULL;
    char *what = g_strdup_printf("channel %s", ch->name);

    if (mk != NULL && mk->values->len > 0) {
      m = use_module(cfg, mk->values->pdata[0], CURSUS_KIND_CHANNEL, what,
                     mk->file, mk->line, d);
    } else if (cfg->jobc != NULL &&
               jobccnf_channel_str(cfg->jobc, ch->name, "MASTER_COMMAND",
                                   NULL) != NULL) {
      const char *name =
          jobccnf_channel_str(cfg->jobc, ch->name, "MASTER_COMMAND", NULL);
      m = use_module(cfg, name, CURSUS_KIND_CHANNEL, what, cfg->jobc->of->path,
                     0, d);
    } else if (config_channel_slave(ch)) {
      /* receives only: no master program, whatever its name */
    } else {
      for (guint k = 0; k < ch->keywords->len && m == NULL; k++) {
        const cnf_kw *kw = ch->keywords->pdata[k];
        m = modreg_channel_by_keyword(cfg->mods, kw->name);
      }
      if (m == NULL)
        m = modreg_channel_by_name(cfg->mods, ch->name);
      if (m != NULL)
        m->used = true;
    }
    if (m != NULL)
      ch->module = g_strdup(m->desc->name);
    else if (mk == NULL && i > 0 && !config_channel_slave(ch))
      diag_warning(d, ch->file, ch->line,
                   "channel %s has no master program module: mail routed to "
                   "it stays queued (name one with `module NAME`, or mark the "
                   "channel `slave`)",
                   ch->name);

    for (guint k = 0; k < ch->keywords->len; k++) {
      const cnf_kw *kw = ch->keywords->pdata[k];
      if (kw->def->kw->type == CURSUS_VALUE_CHANNEL)
        for (guint v = 0; v < kw->values->len; v++)
          if (imtacnf_channel(cfg->imta, kw->values->pdata[v]) == NULL)
            diag_error(d, kw->file, kw->line,
                       "channel %s: keyword '%s' names channel %s, which is "
                       "not defined",
                       ch->name, kw->name, (char *)kw->values->pdata[v]);
      if (g_str_equal(kw->name, "pool") && kw->values->len > 0 &&
          cfg->jobc != NULL &&
          jobccnf_pool(cfg->jobc, kw->values->pdata[0]) == NULL)
        diag_error(d, kw->file, kw->line,
                   "channel %s: pool %s is not defined in %s", ch->name,
                   (char *)kw->values->pdata[0], cfg->jobc->of->path);
    }
    g_free(what);
  }
}

static void check_services(config *cfg, diag *d) {
  for (guint i = 0; i < cfg->disp->services->len; i++) {
    disp_service *s = cfg->disp->services->pdata[i];
    if (s->protocol == NULL)
      continue;
    module *m = modreg_protocol(cfg->mods, s->protocol);
    if (m == NULL) {
      diag_error(d, s->file, s->line,
                 "service %s: no available module serves protocol '%s' (see "
                 "`cursus modules`)",
                 s->name, s->protocol);
    } else {
      m->used = true;
    }
    if (s->channel != NULL && cfg->imta != NULL &&
        imtacnf_channel(cfg->imta, s->channel) == NULL)
      diag_error(d, s->file, s->line,
                 "service %s: CHANNEL %s is not defined in imta.cnf", s->name,
                 s->channel);
  }
}

/* check_module_settings - every [module NAME] group names a module and
 * only keys it declares, with the right types */
static void check_module_settings(config *cfg, diag *d) {
  for (guint i = 0; i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    if (s->kind == NULL || s->name == NULL ||
        g_ascii_strcasecmp(s->kind, "module") != 0)
      continue;
    module *m = modreg_find(cfg->mods, s->name);
    if (m == NULL) {
      char *why = explain_missing(cfg, s->name);
      diag_error(d, s->file, s->line, "[module %s]: module is not available: %s",
                 s->name, why);
      g_free(why);
      continue;
    }
    for (guint j = 0; j < s->entries->len; j++) {
      const opt_entry *e = s->entries->pdata[j];
      const cursus_keyword *k = m->desc->settings;
      while (k != NULL && k->name != NULL &&
             g_ascii_strcasecmp(k->name, e->key) != 0)
        k++;
      const char *why;
      if (k == NULL || k->name == NULL)
        diag_error(d, e->file, e->line,
                   "[module %s]: unknown setting '%s' (see `cursus modules -v`)",
                   s->name, e->key);
      else if (k->type != CURSUS_VALUE_FLAG &&
               !(k->type == CURSUS_VALUE_STRING && *e->value == '\0') &&
               !keyword_check_value(k->type, e->value, &why))
        diag_error(d, e->file, e->line, "[module %s]: %s expects %s, not \"%s\"",
                   s->name, e->key, why, e->value);
    }
  }
}

static void check_backends(config *cfg, diag *d) {
  static const struct {
    const char *group, *key;
    uint32_t kind;
  } backends[] = {{"directory", "module", CURSUS_KIND_DIRECTORY},
                  {"store", "module", CURSUS_KIND_STORE},
                  {"auth", "modules", CURSUS_KIND_AUTH}};
  for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
    opt_section *s = NULL;
    for (guint j = 0; j < cfg->conf->sections->len; j++) {
      opt_section *t = cfg->conf->sections->pdata[j];
      if (t->kind != NULL && t->name == NULL &&
          g_ascii_strcasecmp(t->kind, backends[i].group) == 0)
        s = t;
    }
    const opt_entry *e = s != NULL ? optfile_get(s, backends[i].key) : NULL;
    if (e == NULL && backends[i].kind == CURSUS_KIND_STORE) {
      /* the default store backend serves whoever needs a store, when it
       * is installed (an MTA without a store needs none); a directory is
       * only used when named */
      module *m = modreg_find(cfg->mods, conf_get(cfg->conf, "store", "module"));
      if (m != NULL && (m->desc->kinds & CURSUS_KIND_STORE))
        m->used = true;
    }
    if (e == NULL)
      continue;
    char *what = g_strdup_printf("[%s] %s", backends[i].group, backends[i].key);
    /* "modules" keys name several, separated by spaces or commas */
    char **names = g_strsplit_set(e->value, " ,", -1);
    for (char **n = names; *n != NULL; n++)
      if (**n != '\0')
        use_module(cfg, *n, backends[i].kind, what, e->file, e->line, d);
    g_strfreev(names);
    g_free(what);
  }
}

static void owned_free(void *p) { g_free(p); }

config *config_load(const char *dir, unsigned process, modreg **mods_io,
                    diag *d) {
  config *cfg = g_new0(config, 1);
  cfg->refs = 1;
  cfg->process = process;
  cfg->dir = g_canonicalize_filename(dir, NULL);
  cfg->extensions = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(cfg->extensions, "config.owned",
                      g_ptr_array_new_with_free_func(owned_free));
  g_hash_table_insert(cfg->extensions, "config.destroy",
                      g_ptr_array_new_with_free_func(g_free));
  cfg->conf_path = g_build_filename(cfg->dir, "cursus.conf", NULL);
  cfg->conf = optfile_read(cfg->conf_path, d);
  if (cfg->conf == NULL) {
    config_unref(&cfg);
    return NULL;
  }
  conf_check_core(cfg->conf, d);
  read_conf_paths(cfg);
  cfg->module_path = config_module_path(cfg->conf, cfg->dir);
  if (*mods_io == NULL)
    *mods_io = modreg_scan((const char *const *)cfg->module_path, process);
  cfg->mods = *mods_io;
  for (guint i = 0; i < cfg->mods->modules->len; i++)
    ((module *)cfg->mods->modules->pdata[i])->used = false;

  register_keywords(cfg, d);
  char *path = g_build_filename(cfg->dir, "job_controller.cnf", NULL);
  cfg->jobc = jobccnf_read(path, d);
  g_free(path);
  path = g_build_filename(cfg->dir, "imta.cnf", NULL);
  cfg->imta = imtacnf_parse(path, cfg->dir, cfg->keywords, d);
  g_free(path);
  if (cfg->imta != NULL)
    check_channels(cfg, d);
  path = g_build_filename(cfg->dir, "dispatcher.cnf", NULL);
  cfg->disp = dispcnf_read(path, cfg->run_dir, d);
  g_free(path);
  if (cfg->disp != NULL)
    check_services(cfg, d);
  check_module_settings(cfg, d);
  check_backends(cfg, d);
  g_private_set(&loading, cfg);
  for (guint i = 0; check_hooks != NULL && i < check_hooks->len; i++)
    ((config_check_hook *)check_hooks->pdata[i])(cfg, d);
  g_private_set(&loading, NULL);
  return cfg;
}

config *config_ref(config *cfg) {
  g_atomic_int_inc(&cfg->refs);
  return cfg;
}

void config_unref(config **cfgp) {
  config *cfg = *cfgp;
  if (cfg == NULL)
    return;
  *cfgp = NULL;
  if (!g_atomic_int_dec_and_test(&cfg->refs))
    return;
  /* extensions first: they may point into the rest */
  GPtrArray *destroys = g_hash_table_lookup(cfg->extensions, "config.destroy");
  for (guint i = destroys->len; i > 0; i--) {
    ext_destroy *x = destroys->pdata[i - 1];
    x->destroy(x->data);
  }
  g_ptr_array_free(destroys, TRUE);
  imtacnf_free(&cfg->imta);
  dispcnf_free(&cfg->disp);
  jobccnf_free(&cfg->jobc);
  kwtable_free(&cfg->keywords);
  optfile_free(&cfg->conf);
  g_ptr_array_free(g_hash_table_lookup(cfg->extensions, "config.owned"), TRUE);
  g_hash_table_destroy(cfg->extensions);
  g_strfreev(cfg->module_path);
  g_free(cfg->conf_path);
  g_free(cfg->state_dir);
  g_free(cfg->queue_dir);
  g_free(cfg->store_dir);
  g_free(cfg->log_dir);
  g_free(cfg->run_dir);
  g_free(cfg->hostname);
  g_free(cfg->server_user);
  g_free(cfg->dir);
  g_free(cfg);
}

void config_set_current(config *cfg) {
  g_mutex_lock(&current_lock);
  config *old = current_config;
  current_config = cfg != NULL ? config_ref(cfg) : NULL;
  g_mutex_unlock(&current_lock);
  config_unref(&old);
}

config *config_current_ref(void) {
  g_mutex_lock(&current_lock);
  config *cfg = current_config != NULL ? config_ref(current_config) : NULL;
  g_mutex_unlock(&current_lock);
  return cfg;
}

config *config_in_effect_ref(void) {
  config *cfg = g_private_get(&loading);
  return cfg != NULL ? config_ref(cfg) : config_current_ref();
}

void config_extension_set(config *cfg, const char *name, void *data,
                          GDestroyNotify destroy) {
  g_hash_table_insert(cfg->extensions, (gpointer)g_intern_string(name), data);
  if (destroy != NULL) {
    ext_destroy *x = g_new0(ext_destroy, 1);
    x->data = data;
    x->destroy = destroy;
    g_ptr_array_add(g_hash_table_lookup(cfg->extensions, "config.destroy"), x);
  }
}

void *config_extension(const config *cfg, const char *name) {
  return g_hash_table_lookup(cfg->extensions, name);
}

config *config_current(void) { return current_config; }
