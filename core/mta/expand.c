/*
 * expand.c - the registry of expanders (see expand.h)
 */
#include "build-config.h"
#include "expand.h"

static GArray *expanders; /* of expander */
static guint n_fallbacks;  /* the last N of EXPANDERS are fallbacks */

void expansion_init(expansion *e) {
  e->addresses = g_ptr_array_new_with_free_func(g_free);
  e->errors_to = NULL;
  e->note = NULL;
  e->dn = NULL;
}

void expansion_clear(expansion *e) {
  if (e->addresses != NULL)
    g_ptr_array_free(e->addresses, TRUE);
  g_free(e->errors_to);
  g_free(e->note);
  g_free(e->dn);
  e->addresses = NULL;
  e->errors_to = e->note = e->dn = NULL;
}

void expander_register(const expander *e) {
  if (expanders == NULL)
    expanders = g_array_new(FALSE, FALSE, sizeof(expander));
  g_array_insert_val(expanders, expanders->len - n_fallbacks, *e);
}

void expander_register_fallback(const expander *e) {
  if (expanders == NULL)
    expanders = g_array_new(FALSE, FALSE, sizeof(expander));
  g_array_append_val(expanders, *e);
  n_fallbacks++;
}

void expander_unregister_all(void) {
  if (expanders != NULL)
    g_array_set_size(expanders, 0);
  n_fallbacks = 0;
}

int expand_address(const char *address, const expand_params *params,
                   expansion *out, char **error_r, const char **by_r) {
  for (guint i = 0; expanders != NULL && i < expanders->len; i++) {
    const expander *e = &g_array_index(expanders, expander, i);
    int rc = e->expand(e->data, address, params, out, error_r);
    if (rc != 0) {
      if (by_r != NULL)
        *by_r = e->name;
      return rc;
    }
  }
  return 0;
}

int domain_is_local(const char *domain, char **error_r) {
  int result = 0;
  for (guint i = 0; expanders != NULL && i < expanders->len; i++) {
    const expander *e = &g_array_index(expanders, expander, i);
    char *err = NULL;
    if (e->domain_is_local == NULL)
      continue;
    int rc = e->domain_is_local(e->data, domain, &err);
    if (rc == 1) {
      g_free(err);
      if (result < 0) {
        g_free(*error_r);
        *error_r = NULL;
      }
      return 1;
    }
    if (rc < 0 && result == 0) {
      result = rc;
      *error_r = err;
    } else {
      g_free(err);
    }
  }
  return result;
}
