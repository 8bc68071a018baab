/*
 * delivery.c - the delivery option table and its templates (see
 * delivery.h)
 */
#include "build-config.h"
#include "delivery.h"

#include <string.h>

struct dopt_table {
  GPtrArray *opts; /* of dopt* */
};

static const char flag_chars[] = "*&#^!/@";

static void dopt_free(gpointer p) {
  dopt *o = p;
  g_free(o->name);
  g_free(o->template);
  g_free(o);
}

/* template_vars - the letters a template may substitute */
static const char vars[] = "ALUSDIMPFX";

bool dopt_check_template(const char *t, char **error_r) {
  if (strcmp(t, "*") == 0 || strcmp(t, "**") == 0)
    return true;
  if (*t == '\0') {
    *error_r = g_strdup("empty template");
    return false;
  }
  for (const char *c = t; *c != '\0'; c++) {
    if (*c != '$')
      continue;
    c++;
    if (*c == '1' || *c == '2' || *c == '0')
      c++;
    if (*c == '\0' || (strchr(vars, *c) == NULL && strchr("\\^_$", *c) == NULL)) {
      *error_r = g_strdup_printf("template \"%s\": unknown substitution \"$%s\"",
                                 t, *c != '\0' ? (char[]){*c, 0} : "");
      return false;
    }
  }
  return true;
}

/* parse_entry - one "[FLAGS]NAME=TEMPLATE" */
static dopt *parse_entry(const char *text, char **error_r) {
  dopt *o = g_new0(dopt, 1);
  const char *c = text;
  for (; *c != '\0' && strchr(flag_chars, *c) != NULL; c++) {
    static const unsigned bits[] = {DOPT_USERS, DOPT_GROUPS, DOPT_ANY_HOST,
                                    DOPT_DATES, DOPT_NOT_NULL, DOPT_HOLD,
                                    DOPT_DEFER};
    o->flags |= bits[strchr(flag_chars, *c) - flag_chars];
  }
  const char *eq = strchr(c, '=');
  const char *n = c;
  while (eq != NULL && n < eq && (g_ascii_isalnum(*n) || *n == '_'))
    n++;
  if (eq == NULL || eq == c || n != eq) {
    *error_r = g_strdup_printf("delivery option \"%s\": expected "
                               "[FLAGS]NAME=TEMPLATE", text);
    dopt_free(o);
    return NULL;
  }
  if (!(o->flags & (DOPT_USERS | DOPT_GROUPS)))
    o->flags |= DOPT_USERS | DOPT_GROUPS;
  o->name = g_ascii_strdown(c, eq - c);
  o->template = g_strstrip(g_strdup(eq + 1));
  char *why = NULL;
  if (!dopt_check_template(o->template, &why)) {
    *error_r = g_strdup_printf("delivery option %s: %s", o->name, why);
    g_free(why);
    dopt_free(o);
    return NULL;
  }
  return o;
}

dopt_table *dopt_table_parse(const char *text, char **error_r) {
  dopt_table *t = g_new0(dopt_table, 1);
  t->opts = g_ptr_array_new_with_free_func(dopt_free);
  char **parts = g_strsplit(text != NULL ? text : "", ",", -1);
  for (char **p = parts; *p != NULL; p++) {
    char *e = g_strstrip(*p);
    if (*e == '\0')
      continue;
    dopt *o = parse_entry(e, error_r);
    if (o == NULL) {
      g_strfreev(parts);
      dopt_table_free(&t);
      return NULL;
    }
    g_ptr_array_add(t->opts, o);
  }
  g_strfreev(parts);
  if (dopt_default(t, DOPT_USERS) == NULL ||
      dopt_default(t, DOPT_GROUPS) == NULL) {
    *error_r = g_strdup("delivery options: the table needs an entry for "
                        "users and one for groups");
    dopt_table_free(&t);
  }
  return t;
}

void dopt_table_free(dopt_table **tp) {
  if (*tp == NULL)
    return;
  g_ptr_array_free((*tp)->opts, TRUE);
  g_free(*tp);
  *tp = NULL;
}

const dopt *dopt_find(const dopt_table *t, const char *name, unsigned kind) {
  for (guint i = 0; i < t->opts->len; i++) {
    const dopt *o = t->opts->pdata[i];
    if ((o->flags & kind) && g_ascii_strcasecmp(o->name, name) == 0)
      return o;
  }
  return NULL;
}

const dopt *dopt_default(const dopt_table *t, unsigned kind) {
  for (guint i = 0; i < t->opts->len; i++) {
    const dopt *o = t->opts->pdata[i];
    if ((o->flags & kind) && !(o->flags & (DOPT_HOLD | DOPT_DATES)))
      return o;
  }
  return NULL;
}

const dopt *dopt_hold(const dopt_table *t) {
  for (guint i = 0; i < t->opts->len; i++)
    if (((const dopt *)t->opts->pdata[i])->flags & DOPT_HOLD)
      return t->opts->pdata[i];
  return NULL;
}

bool dopt_uses(const char *template, char letter) {
  for (const char *c = strchr(template, '$'); c != NULL;
       c = strchr(c + 1, '$')) {
    const char *l = c + 1;
    if (*l == '$') {
      c = l;
      continue;
    }
    if (*l >= '0' && *l <= '2')
      l++;
    if (*l == letter)
      return true;
  }
  return false;
}

/* var - the value of substitution LETTER */
static const char *var(const dopt_vars *v, char letter) {
  switch (letter) {
  case 'A': return v->address;
  case 'L': return v->local;
  case 'U': return v->mailbox;
  case 'S': return v->subaddress;
  case 'D': return v->domain;
  case 'I': return v->hosted;
  case 'M': return v->uid;
  case 'P': return v->program;
  case 'F': return v->file;
  case 'X': return v->mailhost;
  default: return NULL;
  }
}

char *dopt_expand(const char *t, const dopt_vars *v) {
  GString *out = g_string_new(NULL);
  char mode = '_';
  for (const char *c = t; *c != '\0'; c++) {
    if (*c != '$' || c[1] == '\0') {
      g_string_append_c(out, *c);
      continue;
    }
    c++;
    if (*c == '\\' || *c == '^' || *c == '_') {
      mode = *c;
      continue;
    }
    if (*c == '$') {
      g_string_append_c(out, '$');
      continue;
    }
    bool drop_before = *c == '2';
    if (*c >= '0' && *c <= '2')
      c++;
    const char *value = var(v, *c);
    if (value == NULL || *value == '\0') {
      if (drop_before && out->len > 0)
        g_string_truncate(out, out->len - 1);
      continue;
    }
    char *cased = mode == '\\' ? g_utf8_strdown(value, -1)
                  : mode == '^' ? g_utf8_strup(value, -1)
                                : g_strdup(value);
    g_string_append(out, cased);
    g_free(cased);
  }
  return g_string_free(out, FALSE);
}
