/*
 * source.c - open and ask mapping-source modules (see source.h)
 */
#include "build-config.h"
#include "source.h"
#include "module/host.h"
#include <cursus/mapping.h>

#include <string.h>

typedef struct handle {
  module *mod;
  void *source;
} handle;

struct srcreg {
  modreg *mods;
  GHashTable *databases; /* name -> spec */
  GHashTable *open;      /* spec -> handle* */
  GRWLock lock;          /* guards OPEN */
  GMutex open_lock;      /* one opener at a time */
};

static void handle_free(void *p) {
  handle *h = p;
  if (h->mod->desc->mapping->close != NULL)
    h->mod->desc->mapping->close(h->source);
  g_free(h);
}

srcreg *srcreg_new(modreg *mods, GHashTable *databases) {
  srcreg *r = g_new0(srcreg, 1);
  r->mods = mods;
  r->databases = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       g_free);
  if (databases != NULL) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, databases);
    while (g_hash_table_iter_next(&it, &k, &v))
      g_hash_table_replace(r->databases, g_ascii_strdown(k, -1), g_strdup(v));
  }
  r->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                  handle_free);
  g_rw_lock_init(&r->lock);
  g_mutex_init(&r->open_lock);
  return r;
}

void srcreg_free(srcreg **rp) {
  srcreg *r = *rp;
  if (r == NULL)
    return;
  *rp = NULL;
  g_hash_table_destroy(r->open);
  g_hash_table_destroy(r->databases);
  g_rw_lock_clear(&r->lock);
  g_mutex_clear(&r->open_lock);
  g_free(r);
}

char *srcreg_scheme(const char *spec) {
  const char *colon = strchr(spec, ':');
  if (colon == NULL || colon == spec)
    return NULL;
  for (const char *p = spec; p < colon; p++)
    if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '+' &&
        *p != '.')
      return NULL;
  return g_ascii_strdown(spec, colon - spec);
}

/* scheme_module - the mapping module serving SPEC's scheme */
static module *scheme_module(srcreg *r, const char *spec, char **error_r) {
  char *scheme = srcreg_scheme(spec);
  if (scheme == NULL) {
    *error_r = g_strdup_printf("\"%s\" is not a source spec "
                               "(SCHEME:ARGUMENT, e.g. tcdb:/path/db.tcdb)",
                               spec);
    return NULL;
  }
  module *m = r->mods != NULL ? modreg_mapping_scheme(r->mods, scheme) : NULL;
  if (m == NULL) {
    const module_refusal *why =
        r->mods != NULL ? modreg_refusal(r->mods, scheme) : NULL;
    *error_r = g_strdup_printf("no available mapping module serves the "
                               "scheme \"%s\"%s%s (see `cursus modules`)",
                               scheme, why != NULL ? ": " : "",
                               why != NULL ? why->reason : "");
  }
  g_free(scheme);
  return m;
}

bool srcreg_check_spec(srcreg *r, const char *spec, char **error_r) {
  module *m = scheme_module(r, spec, error_r);
  if (m == NULL)
    return false;
  m->used = true;
  return true;
}

bool srcreg_check_function(srcreg *r, const char *name, const char *function,
                           char **error_r) {
  module *m = r->mods != NULL ? modreg_find(r->mods, name) : NULL;
  if (m == NULL) {
    *error_r = g_strdup_printf("module %s is not available (see `cursus "
                               "modules`)",
                               name);
    return false;
  }
  if (m->desc->mapping == NULL) {
    *error_r = g_strdup_printf("module %s is not a mapping-source module",
                               name);
    return false;
  }
  for (const char *const *f = m->desc->mapping->functions;
       f != NULL && *f != NULL; f++) {
    if (g_ascii_strcasecmp(*f, function) == 0) {
      m->used = true;
      return true;
    }
  }
  *error_r = g_strdup_printf("module %s offers no function \"%s\"", name,
                             function);
  return false;
}

bool srcreg_has_database(const srcreg *r, const char *name) {
  return srcreg_database_spec(r, name) != NULL;
}

const char *srcreg_database_spec(const srcreg *r, const char *name) {
  char *key = g_ascii_strdown(name, -1);
  const char *spec = g_hash_table_lookup(r->databases, key);
  g_free(key);
  return spec;
}

/* get_handle - the open source for SPEC, opening it on first use */
static handle *get_handle(srcreg *r, const char *spec, char **error_r) {
  g_rw_lock_reader_lock(&r->lock);
  handle *h = g_hash_table_lookup(r->open, spec);
  g_rw_lock_reader_unlock(&r->lock);
  if (h != NULL)
    return h;

  g_mutex_lock(&r->open_lock);
  g_rw_lock_reader_lock(&r->lock);
  h = g_hash_table_lookup(r->open, spec);
  g_rw_lock_reader_unlock(&r->lock);
  if (h == NULL) {
    char *init_error = NULL;
    const char *error = NULL;
    void *source = NULL;
    module *m = scheme_module(r, spec, error_r);
    if (m != NULL && !module_init(m, &init_error)) {
      *error_r = init_error;
      m = NULL;
    }
    if (m != NULL && m->desc->mapping->open == NULL) {
      *error_r = g_strdup_printf("module %s opens no sources", m->desc->name);
      m = NULL;
    }
    if (m != NULL) {
      const char *arg = strchr(spec, ':') + 1;
      if (m->desc->mapping->open(m->ctx, arg, &source, &error) != CURSUS_OK) {
        *error_r = g_strdup_printf("%s: cannot open %s: %s", m->desc->name,
                                   spec, error != NULL ? error : "failed");
        m = NULL;
      }
    }
    if (m != NULL) {
      h = g_new0(handle, 1);
      h->mod = m;
      h->source = source;
      g_rw_lock_writer_lock(&r->lock);
      g_hash_table_insert(r->open, g_strdup(spec), h);
      g_rw_lock_writer_unlock(&r->lock);
    }
  }
  g_mutex_unlock(&r->open_lock);
  return h;
}

/* take_buf - move a module's answer into OUT */
static void take_buf(cursus_buf *buf, GString *out) {
  if (buf->data != NULL)
    g_string_append_len(out, buf->data, (gssize)buf->len);
  g_free(buf->data);
  memset(buf, 0, sizeof(*buf));
}

/* handle_lookup - ask H for KEY; errors name SPEC */
static int handle_lookup(handle *h, const char *spec, const char *key,
                         GString *out, char **error_r) {
  if (h->mod->desc->mapping->lookup == NULL) {
    *error_r = g_strdup_printf("module %s cannot look keys up",
                               h->mod->desc->name);
    return CURSUS_TEMPFAIL;
  }
  cursus_buf buf = {0};
  const char *error = NULL;
  int rc = h->mod->desc->mapping->lookup(h->source, key, strlen(key), &buf,
                                         &error);
  if (rc == CURSUS_OK) {
    take_buf(&buf, out);
    return CURSUS_OK;
  }
  g_free(buf.data);
  if (rc == CURSUS_NONE)
    return CURSUS_NONE;
  *error_r = g_strdup_printf("%s: lookup in %s failed: %s", h->mod->desc->name,
                             spec, error != NULL ? error : "no reason given");
  return CURSUS_TEMPFAIL;
}

int srcreg_lookup(srcreg *r, const char *spec, const char *key, GString *out,
                  char **error_r) {
  handle *h = get_handle(r, spec, error_r);
  return h != NULL ? handle_lookup(h, spec, key, out, error_r)
                   : CURSUS_TEMPFAIL;
}

int srcreg_database(srcreg *r, const char *name, const char *key, GString *out,
                    char **error_r) {
  const char *spec = srcreg_database_spec(r, name);
  if (spec == NULL)
    return CURSUS_NONE;
  return srcreg_lookup(r, spec, key, out, error_r);
}

int srcreg_url(srcreg *r, const char *url, GString *out, char **error_r) {
  char *scheme = srcreg_scheme(url);
  if (scheme == NULL) {
    *error_r = g_strdup_printf("\"%s\" is not a URL", url);
    return CURSUS_TEMPFAIL;
  }
  char *spec = g_strdup_printf("%s:", scheme);
  g_free(scheme);
  handle *h = get_handle(r, spec, error_r);
  int rc = h != NULL ? handle_lookup(h, spec, url, out, error_r)
                     : CURSUS_TEMPFAIL;
  g_free(spec);
  return rc;
}

int srcreg_call(srcreg *r, const char *name, const char *function,
                const char *argument, GString *out, char **error_r) {
  module *m = r->mods != NULL ? modreg_find(r->mods, name) : NULL;
  char *init_error = NULL;
  if (m == NULL || m->desc->mapping == NULL ||
      m->desc->mapping->call == NULL) {
    *error_r = g_strdup_printf("module %s offers no functions", name);
    return CURSUS_TEMPFAIL;
  }
  if (!module_init(m, &init_error)) {
    *error_r = init_error;
    return CURSUS_TEMPFAIL;
  }
  cursus_buf buf = {0};
  const char *error = NULL;
  int rc = m->desc->mapping->call(m->ctx, function, argument, &buf, &error);
  if (rc == CURSUS_OK) {
    take_buf(&buf, out);
    return CURSUS_OK;
  }
  g_free(buf.data);
  if (rc == CURSUS_NONE)
    return CURSUS_NONE;
  *error_r = g_strdup_printf("%s,%s: %s", name, function,
                             error != NULL ? error : "call failed");
  return CURSUS_TEMPFAIL;
}

int srcreg_iterate(srcreg *r, const char *spec,
                   int (*cb)(void *data, const char *key, const char *value),
                   void *data, char **error_r) {
  module *m = scheme_module(r, spec, error_r);
  if (m == NULL)
    return CURSUS_TEMPFAIL;
  if (m->desc->mapping->iterate == NULL)
    return CURSUS_NONE; /* not opened just to learn that */
  handle *h = get_handle(r, spec, error_r);
  if (h == NULL)
    return CURSUS_TEMPFAIL;
  if (h->mod->desc->mapping->iterate == NULL)
    return CURSUS_NONE;
  const char *error = NULL;
  int rc = h->mod->desc->mapping->iterate(h->source, cb, data, &error);
  if (rc < 0) {
    *error_r = g_strdup_printf("%s: reading %s failed: %s", h->mod->desc->name,
                               spec, error != NULL ? error : "no reason given");
    return CURSUS_TEMPFAIL;
  }
  return CURSUS_OK;
}
