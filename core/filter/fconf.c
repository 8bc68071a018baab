/*
 * fconf.c - content filter configuration and instances
 */
#include "build-config.h"
#include "fconf.h"
#include "config/keyword.h"
#include "module/host.h"
#include "util/log.h"

#include <string.h>

#define EXT_NAME "filters"
#define DEFAULT_TIMEOUT_S 120

/* The filters of one configuration. */
typedef struct fconf_set {
  GPtrArray *defs;      /* of fconf_def*, in cursus.conf order */
  GHashTable *by_name;  /* name -> fconf_def* */
  GHashTable *chains;   /* source channel -> GPtrArray of fconf_def* */
} fconf_set;

/* The host's own keys of a [contentfilter NAME] group. */
static const cursus_keyword host_keys[] = {
    {"module", CURSUS_VALUE_STRING, 1, 1, "the filter module"},
    {"timeout", CURSUS_VALUE_DURATION, 1, 1, "longest time of one call"},
    {"default_action", CURSUS_VALUE_STRING, 1, 1,
     "tempfail, accept, reject or quarantine when the filter fails"},
    {NULL, 0, 0, 0, NULL},
};

static const char *const default_names[] = {"tempfail", "accept", "reject",
                                            "quarantine", NULL};

const char *fconf_default_name(fconf_default d) {
  return d <= FCONF_QUARANTINE ? default_names[d] : "tempfail";
}

/* module_init is not made for concurrent callers */
static GMutex init_lock;

static void def_free(void *p) {
  fconf_def *d = p;
  if (d->instance != NULL) {
    const cursus_filter_ops *ops = fconf_ops(d);
    if (ops != NULL && ops->close != NULL)
      ops->close(d->instance);
  }
  g_mutex_clear(&d->lock);
  g_free(d->open_error);
  g_free(d->name);
  g_free(d);
}

static void set_free(void *p) {
  fconf_set *s = p;
  g_hash_table_destroy(s->chains);
  g_hash_table_destroy(s->by_name);
  g_ptr_array_free(s->defs, TRUE);
  g_free(s);
}

const cursus_filter_ops *fconf_ops(const fconf_def *def) {
  return def->mod != NULL ? def->mod->desc->filter : NULL;
}

/* find_key - KEY among the NULL-terminated LIST, or NULL */
static const cursus_keyword *find_key(const cursus_keyword *list,
                                      const char *key) {
  for (const cursus_keyword *k = list; k != NULL && k->name != NULL; k++)
    if (g_ascii_strcasecmp(k->name, key) == 0)
      return k;
  return NULL;
}

/* check_entry - one key of a [contentfilter NAME] group */
static void check_entry(const fconf_def *d, const opt_entry *e, diag *dg) {
  const cursus_keyword *k = find_key(host_keys, e->key);
  if (k == NULL && d->mod != NULL && fconf_ops(d) != NULL)
    k = find_key(fconf_ops(d)->settings, e->key);
  const char *why;
  if (k == NULL) {
    if (d->mod != NULL)
      diag_error(dg, e->file, e->line,
                 "[contentfilter %s]: unknown setting '%s' (module %s "
                 "takes: see `cursus modules -v`)",
                 d->name, e->key, d->mod->desc->name);
  } else if (k->type != CURSUS_VALUE_FLAG &&
             !(k->type == CURSUS_VALUE_STRING && *e->value == '\0') &&
             !keyword_check_value(k->type, e->value, &why)) {
    diag_error(dg, e->file, e->line,
               "[contentfilter %s]: %s expects %s, not \"%s\"", d->name,
               e->key, why, e->value);
  }
}

/* read_def - a [contentfilter NAME] group */
static fconf_def *read_def(config *cfg, const opt_section *s, diag *dg) {
  fconf_def *d = g_new0(fconf_def, 1);
  g_mutex_init(&d->lock);
  d->name = g_strdup(s->name);
  d->section = s;
  d->timeout_ms = DEFAULT_TIMEOUT_S * 1000;
  const opt_entry *e = optfile_get(s, "module");
  if (e == NULL) {
    diag_error(dg, s->file, s->line,
               "[contentfilter %s]: no module (module = NAME)", d->name);
  } else {
    module *m = modreg_find(cfg->mods, e->value);
    const module_refusal *r = modreg_refusal(cfg->mods, e->value);
    if (m == NULL)
      diag_error(dg, e->file, e->line,
                 "[contentfilter %s]: module %s is not available: %s",
                 d->name, e->value,
                 r != NULL ? r->reason
                           : "no such module in the module path (see "
                             "`cursus modules`)");
    else if (!(m->desc->kinds & CURSUS_KIND_FILTER))
      diag_error(dg, e->file, e->line,
                 "[contentfilter %s]: module %s is not a content filter",
                 d->name, e->value);
    else
      d->mod = m;
  }
  for (guint i = 0; i < s->entries->len; i++)
    check_entry(d, s->entries->pdata[i], dg);
  e = optfile_get(s, "timeout");
  long long n;
  if (e != NULL && opt_parse_duration(e->value, &n)) {
    if (n < 1 || n > 3600)
      diag_error(dg, e->file, e->line,
                 "[contentfilter %s]: timeout must be between 1 second and "
                 "1 hour",
                 d->name);
    else
      d->timeout_ms = (unsigned)n * 1000;
  }
  e = optfile_get(s, "default_action");
  if (e != NULL) {
    bool found = false;
    for (int i = 0; default_names[i] != NULL; i++)
      if (g_ascii_strcasecmp(e->value, default_names[i]) == 0) {
        d->on_failure = (fconf_default)i;
        found = true;
      }
    if (!found)
      diag_error(dg, e->file, e->line,
                 "[contentfilter %s]: default_action must be tempfail, "
                 "accept, reject or quarantine, not \"%s\"",
                 d->name, e->value);
  }
  return d;
}

/* channel_chain - the filters CH names; errors for unknown names */
static GPtrArray *channel_chain(fconf_set *set, const cnf_channel *ch,
                                diag *dg) {
  static const char *const which[] = {"contentfilter", "nocontentfilter",
                                      NULL};
  const char *last = cnf_channel_last_of(ch, which);
  if (last == NULL || strcmp(last, "contentfilter") != 0)
    return NULL;
  const cnf_kw *kw = cnf_channel_kw(ch, "contentfilter");
  GPtrArray *chain = g_ptr_array_new();
  for (guint v = 0; v < kw->values->len; v++) {
    char **names = g_strsplit(kw->values->pdata[v], ",", -1);
    for (char **n = names; *n != NULL; n++) {
      if (**n == '\0')
        continue;
      fconf_def *d = g_hash_table_lookup(set->by_name, *n);
      if (d == NULL)
        diag_error(dg, kw->file, kw->line,
                   "channel %s: contentfilter %s is not defined (add a "
                   "[contentfilter %s] group to cursus.conf)",
                   ch->name, *n, *n);
      else if (d->mod != NULL)
        d->mod->used = true;
      if (d != NULL)
        g_ptr_array_add(chain, d);
    }
    g_strfreev(names);
  }
  if (chain->len == 0) {
    g_ptr_array_free(chain, TRUE);
    return NULL;
  }
  return chain;
}

static void check_hook(config *cfg, diag *dg) {
  fconf_set *set = g_new0(fconf_set, 1);
  set->defs = g_ptr_array_new_with_free_func(def_free);
  set->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  set->chains = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify)g_ptr_array_unref);
  for (guint i = 0; cfg->conf != NULL && i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    if (s->kind == NULL || g_ascii_strcasecmp(s->kind, "contentfilter") != 0)
      continue;
    if (s->name == NULL) {
      diag_error(dg, s->file, s->line,
                 "[contentfilter] needs a name: [contentfilter NAME]");
      continue;
    }
    if (g_hash_table_contains(set->by_name, s->name)) {
      diag_error(dg, s->file, s->line,
                 "[contentfilter %s] is defined twice", s->name);
      continue;
    }
    fconf_def *d = read_def(cfg, s, dg);
    g_ptr_array_add(set->defs, d);
    g_hash_table_insert(set->by_name, d->name, d);
  }
  for (guint i = 0; cfg->imta != NULL && i < cfg->imta->channels->len; i++) {
    const cnf_channel *ch = cfg->imta->channels->pdata[i];
    GPtrArray *chain = channel_chain(set, ch, dg);
    if (chain != NULL)
      g_hash_table_insert(set->chains, ch->name, chain);
  }
  config_extension_set(cfg, EXT_NAME, set, set_free);
}

void fconf_register(void) {
  static bool done;
  if (done)
    return;
  done = true;
  config_add_check_hook(check_hook);
}

const GPtrArray *fconf_chain(const config *cfg, const char *source_channel) {
  const fconf_set *set = cfg != NULL ? config_extension(cfg, EXT_NAME) : NULL;
  if (set == NULL || source_channel == NULL)
    return NULL;
  return g_hash_table_lookup(set->chains, source_channel);
}

int fconf_instance(fconf_def *d, void **instance_r, const char **error_r) {
  g_mutex_lock(&d->lock);
  if (!d->tried) {
    d->tried = true;
    char *err = NULL;
    const cursus_filter_ops *ops = fconf_ops(d);
    g_mutex_lock(&init_lock);
    bool ok = d->mod != NULL && module_init(d->mod, &err);
    g_mutex_unlock(&init_lock);
    if (d->mod == NULL) {
      d->open_error = g_strdup("its module is not available");
    } else if (!ok) {
      d->open_error = err;
    } else if (ops == NULL || ops->open == NULL) {
      d->open_error = g_strdup_printf("module %s cannot open filters",
                                      d->mod->desc->name);
    } else {
      const char *why = NULL;
      if (ops->open(d->mod->ctx, d, &d->instance, &why) != CURSUS_OK) {
        d->instance = NULL;
        d->open_error = g_strdup_printf("%s: %s", d->mod->desc->name,
                                        why != NULL ? why : "open failed");
      }
    }
    if (d->open_error != NULL)
      log_error("content filter %s cannot be opened: %s", d->name,
                d->open_error);
  }
  int rc = d->open_error == NULL ? CURSUS_OK : CURSUS_TEMPFAIL;
  *instance_r = d->instance;
  *error_r = d->open_error;
  g_mutex_unlock(&d->lock);
  return rc;
}

const char *fconf_def_name(const cursus_filter_def *def) { return def->name; }

const char *fconf_def_setting(const cursus_filter_def *def, const char *key) {
  const opt_entry *e = key != NULL ? optfile_get(def->section, key) : NULL;
  return e != NULL ? e->value : NULL;
}

long long fconf_def_setting_int(const cursus_filter_def *def, const char *key,
                                long long default_value) {
  const char *v = fconf_def_setting(def, key);
  long long n;
  bool b;
  if (v == NULL)
    return default_value;
  if (opt_parse_int(v, &n) || opt_parse_duration(v, &n) ||
      opt_parse_size(v, &n))
    return n;
  if (opt_parse_bool(v, &b))
    return b ? 1 : 0;
  return default_value;
}
