/*
 * aliasexp.c - expand addresses with the alias file (see aliasexp.h)
 */
#include "build-config.h"
#include "aliasexp.h"
#include "addr/addr.h"
#include "mta/expand.h"
#include "mta/mtacfg.h"

#include <string.h>

/* add_url_members - each line of what the source serving URL answers */
static int add_url_members(mtacfg *m, const char *url, expansion *out,
                           char **error_r) {
  GString *v = g_string_new(NULL);
  int rc = srcreg_url(m->sources, url, v, error_r);
  if (rc == CURSUS_OK) {
    char **lines = g_strsplit(v->str, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
      char *a = g_strstrip(*l);
      if (*a != '\0')
        g_ptr_array_add(out->addresses, g_strdup(a));
    }
    g_strfreev(lines);
  }
  g_string_free(v, TRUE);
  if (rc == CURSUS_TEMPFAIL) {
    char *why = *error_r;
    *error_r = g_strdup_printf("4.4.3 alias list %s: %s", url, why);
    g_free(why);
  }
  return rc;
}

/* find - the definition for ADDRESS, trying the full then the local form */
static int find(mtacfg *m, const addr *a, alias_def **def_r, bool *owned_r,
                char **error_r) {
  char *key = a->domain != NULL ? g_strdup_printf("%s@%s", a->local, a->domain)
                                : NULL;
  int rc = CURSUS_NONE;
  if (key != NULL)
    rc = aliasdb_lookup(m->aliases, key, def_r, owned_r, error_r);
  if (rc == CURSUS_NONE && mtacfg_is_local_host(m, a->domain))
    rc = aliasdb_lookup(m->aliases, a->local, def_r, owned_r, error_r);
  g_free(key);
  return rc;
}

static int alias_expand(void *data, const char *address,
                        const expand_params *params, expansion *out,
                        char **error_r) {
  config *cfg = config_current_ref();
  mtacfg *m = mtacfg_of(cfg);
  addr *a = NULL;
  char *why = NULL;
  int rc = 0;
  if (m == NULL ||
      addr_parse(address, -1, ADDR_BARE | ADDR_ROUTE | ADDR_UTF8, &a, &why) !=
          CURSUS_OK) {
    g_free(why);
    config_unref(&cfg);
    return 0;
  }
  alias_def *def = NULL;
  bool owned = false;
  char *lookup_error = NULL;
  int frc = find(m, a, &def, &owned, &lookup_error);
  if (frc == CURSUS_TEMPFAIL) {
    *error_r = g_strdup_printf("4.3.0 alias database: %s",
                               lookup_error != NULL ? lookup_error : "failed");
    rc = CURSUS_TEMPFAIL;
  } else if (frc == CURSUS_OK) {
    rc = 1;
    for (guint i = 0; i < def->members->len && rc == 1; i++) {
      const char *mbr = def->members->pdata[i];
      if (mbr[0] == '<') {
        int urc = add_url_members(m, mbr + 1, out, error_r);
        if (urc == CURSUS_TEMPFAIL)
          rc = CURSUS_TEMPFAIL;
      } else {
        g_ptr_array_add(out->addresses, g_strdup(mbr));
      }
    }
    out->note = g_strdup_printf("alias %s (%s:%u)", def->name,
                                def->file != NULL ? def->file : "?",
                                def->line);
    if (owned)
      alias_def_free(def);
  }
  g_free(lookup_error);
  addr_free(&a);
  config_unref(&cfg);
  return rc;
}

void aliasexp_register(void) {
  static const expander e = {
      .name = "aliases", .expand = alias_expand, .domain_is_local = NULL};
  expander_register_fallback(&e);
}
