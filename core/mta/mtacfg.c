/*
 * mtacfg.c - build the address-handling part of a configuration (see
 * mtacfg.h)
 */
#include "build-config.h"
#include "mtacfg.h"
#include "alias/aliasexp.h"
#include "config/bundle.h"
#include "lookup_host.h"
#include "module/host.h"
#include "util/fsutil.h"

#include <string.h>

static bool sources_only;

void mtacfg_set_sources_only(bool on) { sources_only = on; }

mtacfg *mtacfg_of(const config *cfg) {
  return cfg != NULL ? config_extension(cfg, "mta") : NULL;
}

void mtacfg_free(mtacfg **mp) {
  mtacfg *m = *mp;
  if (m == NULL)
    return;
  *mp = NULL;
  ruleset_free(&m->rules);
  aliasdb_free(&m->aliases);
  mapset_free(&m->maps);
  image_close(&m->img);
  srcreg_free(&m->sources);
  g_free(m->compiled_dir);
  g_free(m->mapping_file);
  g_free(m->alias_file);
  g_free(m);
}

static void mtacfg_destroy(void *p) {
  mtacfg *m = p;
  mtacfg_free(&m);
}

const cnf_channel *mtacfg_local_channel(const mtacfg *m) {
  const imtacnf *cnf = m->cfg->imta;
  return cnf != NULL && cnf->channels->len > 0 ? cnf->channels->pdata[0]
                                               : NULL;
}

const cnf_channel *mtacfg_channel(const mtacfg *m, const char *name) {
  if (name == NULL || *name == '\0')
    return mtacfg_local_channel(m);
  return m->cfg->imta != NULL ? imtacnf_channel(m->cfg->imta, name) : NULL;
}

bool mtacfg_is_local_host(const mtacfg *m, const char *host) {
  const cnf_channel *l = mtacfg_local_channel(m);
  if (host == NULL)
    return true;
  if (m->cfg->hostname != NULL && g_ascii_strcasecmp(host, m->cfg->hostname) == 0)
    return true;
  for (guint i = 0; l != NULL && i < l->hosts->len; i++)
    if (g_ascii_strcasecmp(((cnf_host *)l->hosts->pdata[i])->name, host) == 0)
      return true;
  return false;
}

/* databases - [mta] general_database and [databases] NAME = SPEC, each
 * checked against the modules */
static GHashTable *databases(config *cfg, srcreg *probe, diag *d) {
  GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free);
  for (guint i = 0; i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    bool general = s->kind != NULL && s->name == NULL &&
                   g_ascii_strcasecmp(s->kind, "mta") == 0;
    bool named = s->kind != NULL && s->name == NULL &&
                 g_ascii_strcasecmp(s->kind, "databases") == 0;
    for (guint j = 0; (general || named) && j < s->entries->len; j++) {
      const opt_entry *e = s->entries->pdata[j];
      if (general && g_ascii_strcasecmp(e->key, "general_database") != 0)
        continue;
      char *why = NULL;
      if (*e->value == '\0')
        continue;
      if (!srcreg_check_spec(probe, e->value, &why)) {
        diag_error(d, e->file, e->line, "%s = %s: %s", e->key, e->value, why);
        g_free(why);
        continue;
      }
      g_hash_table_replace(t, g_ascii_strdown(general ? "" : e->key, -1),
                           g_strdup(e->value));
    }
  }
  return t;
}

/* load_image - use the compiled image when there is one; false when the
 * text files must be read */
static bool load_image(mtacfg *m, diag *d) {
  char *error = NULL;
  int rc = image_open(m->compiled_dir, &m->img, &error);
  if (rc == CURSUS_NONE)
    return false;
  if (rc != CURSUS_OK) {
    char *cur = g_build_filename(m->compiled_dir, "current", NULL);
    diag_error(d, cur, 0, "%s", error);
    g_free(cur);
    g_free(error);
    return true;
  }
  image_load(m->img, m->maps, m->aliases, d);
  if (!bundle_active())
    image_check_sources(m->img, d);
  return true;
}

mtacfg *mtacfg_load(config *cfg, bool text_only, diag *d) {
  mtacfg *m = g_new0(mtacfg, 1);
  const optfile *of = cfg->conf;
  m->cfg = cfg;
  m->mapping_file = fs_path_join(cfg->dir, conf_get(of, "mta", "mapping_file"));
  m->alias_file = fs_path_join(cfg->dir, conf_get(of, "mta", "alias_file"));
  const char *cd = conf_get(of, "mta", "compiled_dir");
  m->compiled_dir = cd != NULL && *cd != '\0'
                        ? fs_path_join(cfg->dir, cd)
                        : g_build_filename(cfg->state_dir, "compiled", NULL);
  m->max_expansion_depth =
      (unsigned)CLAMP(conf_get_int(of, "mta", "max_expansion_depth", 10), 1, 100);
  m->reverse_envelope = conf_get_bool(of, "mta", "reverse_envelope", true);
  m->access_orcpt = conf_get_bool(of, "mta", "access_orcpt", false);

  srcreg *probe = srcreg_new(cfg->mods, NULL);
  GHashTable *dbs = databases(cfg, probe, d);
  srcreg_free(&probe);
  m->sources = srcreg_new(cfg->mods, dbs);
  g_hash_table_destroy(dbs);
  m->maps = mapset_new(m->sources);
  m->aliases = aliasdb_new();

  if (text_only || !load_image(m, d)) {
    mapset_read(m->maps, m->mapping_file, cfg->dir, true, d);
    aliasdb_read(m->aliases, m->alias_file, cfg->dir, true, d);
  }
  mapset_check(m->maps, d);
  mapset_preload(m->maps, !bundle_active(), d);
  rw_compile_info info = {.maps = m->maps, .sources = m->sources};
  m->rules = ruleset_compile(cfg->imta, &info, d);

  const cnf_channel *local = mtacfg_local_channel(m);
  m->env.rules = m->rules;
  m->env.maps = m->maps;
  m->env.sources = m->sources;
  m->env.imta = cfg->imta;
  m->env.local_host = local != NULL && local->hosts->len > 0
                          ? ((cnf_host *)local->hosts->pdata[0])->name
                          : cfg->hostname;
  m->env.bang_paths = conf_get_bool(of, "mta", "bang_paths", false);
  m->env.max_rewrites =
      (unsigned)CLAMP(conf_get_int(of, "mta", "max_rewrites", 64), 1, 10000);
  return m;
}

/* check_hook - build the part for every configuration loaded */
static void check_hook(config *cfg, diag *d) {
  if (cfg->imta == NULL)
    return;
  mtacfg *m = mtacfg_load(cfg, sources_only, d);
  config_extension_set(cfg, "mta", m, mtacfg_destroy);
}

void mtacfg_register(void) {
  static gsize done;
  if (g_once_init_enter(&done)) {
    config_add_check_hook(check_hook);
    aliasexp_register();
    host_set_lookup(lookup_host_ops());
    g_once_init_leave(&done, 1);
  }
}
