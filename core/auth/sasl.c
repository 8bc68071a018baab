/*
 * sasl.c - SASL exchanges through the auth-method modules (see sasl.h)
 */
#include "build-config.h"
#include "sasl.h"
#include "module/loader.h"

#include <string.h>

struct cursus_sasl {
  module *mod;
  void *exchange;
};

static GPtrArray *auth_modules; /* of module*, initialised, kind AUTH */
static GPrivate mech_list = G_PRIVATE_INIT(g_free); /* last answer */

void sasl_set_modules(modreg *mods) {
  if (auth_modules != NULL)
    g_ptr_array_free(auth_modules, TRUE);
  auth_modules = g_ptr_array_new();
  for (guint i = 0; mods != NULL && i < mods->modules->len; i++) {
    module *m = mods->modules->pdata[i];
    if (m->initialized && (m->desc->kinds & CURSUS_KIND_AUTH) &&
        m->desc->auth != NULL)
      g_ptr_array_add(auth_modules, m);
  }
}

/* offers - module M offers MECH in this situation */
static bool offers(const module *m, const char *mech,
                   const cursus_auth_info *info) {
  const cursus_auth_ops *ops = m->desc->auth;
  bool named = false;
  for (const char *const *n = ops->mechanisms; n != NULL && *n != NULL; n++)
    named |= g_ascii_strcasecmp(*n, mech) == 0;
  return named && (ops->mechanism_allowed == NULL ||
                   ops->mechanism_allowed(m->ctx, mech, info));
}

const char *sasl_mechanisms(const cursus_auth_info *info) {
  GString *list = g_string_new(NULL);
  for (guint i = 0; auth_modules != NULL && i < auth_modules->len; i++) {
    const module *m = auth_modules->pdata[i];
    for (const char *const *n = m->desc->auth->mechanisms;
         n != NULL && *n != NULL; n++) {
      char *padded = g_strdup_printf(" %s ", *n);
      char *have = g_strdup_printf(" %s ", list->str);
      bool dup = strstr(have, padded) != NULL;
      g_free(padded);
      g_free(have);
      if (!dup && offers(m, *n, info))
        g_string_append_printf(list, "%s%s", list->len ? " " : "", *n);
    }
  }
  char *answer = g_string_free(list, FALSE);
  g_private_replace(&mech_list, answer);
  return answer;
}

cursus_sasl *sasl_start(const char *mech, const cursus_auth_info *info,
                        const char **error_r) {
  for (guint i = 0; auth_modules != NULL && i < auth_modules->len; i++) {
    module *m = auth_modules->pdata[i];
    if (!offers(m, mech, info))
      continue;
    void *exchange = NULL;
    if (m->desc->auth->start(m->ctx, mech, info, &exchange, error_r) !=
        CURSUS_OK)
      return NULL;
    cursus_sasl *s = g_new0(cursus_sasl, 1);
    s->mod = m;
    s->exchange = exchange;
    return s;
  }
  *error_r = "unrecognized authentication mechanism";
  return NULL;
}

int sasl_step(cursus_sasl *s, const char *in, size_t in_len, cursus_buf *out,
              const char **user_r, const char **error_r) {
  return s->mod->desc->auth->step(s->exchange, in, in_len, out, user_r,
                                  error_r);
}

void sasl_finish(cursus_sasl **sp) {
  cursus_sasl *s = *sp;
  if (s == NULL)
    return;
  if (s->mod->desc->auth->finish != NULL)
    s->mod->desc->auth->finish(s->exchange);
  g_free(s);
  *sp = NULL;
}
