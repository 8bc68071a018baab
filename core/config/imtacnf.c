/*
 * imtacnf.c - parse imta.cnf
 */
#include "build-config.h"
#include "imtacnf.h"
#include "optfile.h"

#include <string.h>

static void rule_free(void *p) {
  cnf_rule *r = p;
  g_free(r->pattern);
  g_free(r->template_);
  g_free(r);
}

static void kw_free(void *p) {
  cnf_kw *k = p;
  g_free(k->name);
  g_ptr_array_free(k->values, TRUE);
  g_free(k);
}

static cnf_kw *kw_copy(const cnf_kw *k) {
  cnf_kw *c = g_new0(cnf_kw, 1);
  *c = *k;
  c->name = g_strdup(k->name);
  c->values = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < k->values->len; i++)
    g_ptr_array_add(c->values, g_strdup(k->values->pdata[i]));
  return c;
}

static void host_free(void *p) {
  cnf_host *h = p;
  g_free(h->name);
  g_free(h->routing);
  g_free(h);
}

static void channel_free(void *p) {
  cnf_channel *c = p;
  g_free(c->name);
  g_free(c->module);
  g_ptr_array_free(c->keywords, TRUE);
  g_ptr_array_free(c->hosts, TRUE);
  if (c->last != NULL)
    g_hash_table_destroy(c->last);
  g_free(c);
}

/* is_escaped_space - the whitespace at P is quoted by a preceding `$` */
static bool is_escaped_space(const char *start, const char *p) {
  size_t dollars = 0;
  while (p > start && p[-1] == '$') {
    dollars++;
    p--;
  }
  return dollars % 2 == 1;
}

/* parse_rule - "pattern template" */
static void parse_rule(imtacnf *cnf, const srcline *l, diag *d) {
  const char *s = l->text;
  while (g_ascii_isspace(*s))
    s++;
  const char *p = s;
  while (*p != '\0' && !(g_ascii_isspace(*p) && !is_escaped_space(s, p)))
    p++;
  const char *t = p;
  while (g_ascii_isspace(*t))
    t++;
  if (*t == '\0') {
    diag_error(d, l->file, l->line,
               "rewrite rule \"%.*s\" has no template (pattern and template "
               "are separated by white space)",
               (int)(p - s), s);
    return;
  }
  const char *e = t;
  while (*e != '\0' && !(g_ascii_isspace(*e) && !is_escaped_space(t, e)))
    e++;
  const char *rest = e;
  while (g_ascii_isspace(*rest))
    rest++;
  if (*rest != '\0') {
    diag_error(d, l->file, l->line,
               "unexpected text after the rewrite template: \"%s\" (quote "
               "spaces in templates as \"$ \")",
               rest);
    return;
  }
  cnf_rule *r = g_new0(cnf_rule, 1);
  r->pattern = g_strndup(s, p - s);
  r->template_ = g_strndup(t, e - t);
  r->file = l->file;
  r->line = l->line;
  g_ptr_array_add(cnf->rules, r);
}

static bool channel_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > CHANNEL_NAME_MAX)
    return false;
  for (const char *p = name; *p != '\0'; p++)
    if (!(g_ascii_isalnum(*p) || *p == '_' || *p == '-' || *p == '.'))
      return false;
  return true;
}

/* parse_keywords - bind the tokens after the channel name to keywords */
static void parse_keywords(GPtrArray *out, char **tokens, const srcline *l,
                           const kwtable *kws, const char *channel, diag *d) {
  cnf_kw *cur = NULL;
  for (unsigned i = 1; tokens[i] != NULL; i++) {
    const char *tok = tokens[i];
    const kwdef *def = kwtable_find(kws, tok);
    bool takes_more = cur != NULL && cur->def->kw->type != CURSUS_VALUE_FLAG &&
                      (cur->def->kw->max_values == 0 ||
                       cur->values->len < cur->def->kw->max_values);
    /* a token is a value when the current keyword still wants one and the
     * token is not itself a keyword - or must be a value (too few yet) */
    if (takes_more &&
        (def == NULL || cur->values->len < cur->def->kw->min_values)) {
      const char *why;
      if (!keyword_check_value(cur->def->kw->type, tok, &why))
        diag_error(d, l->file, l->line,
                   "channel %s: keyword '%s' expects %s, not \"%s\"", channel,
                   cur->name, why, tok);
      g_ptr_array_add(cur->values, g_strdup(tok));
      continue;
    }
    if (def == NULL) {
      if (cur != NULL && cur->def->kw->type != CURSUS_VALUE_FLAG &&
          cur->def->kw->max_values != 0 &&
          keyword_check_value(cur->def->kw->type, tok, &(const char *){NULL}))
        diag_error(d, l->file, l->line,
                   "channel %s: keyword '%s' takes at most %u value%s; "
                   "\"%s\" is one too many",
                   channel, cur->name, cur->def->kw->max_values,
                   cur->def->kw->max_values == 1 ? "" : "s", tok);
      else
        diag_error(d, l->file, l->line,
                   "channel %s: unknown keyword '%s' (see `cursus modules -v` "
                   "for the keywords of each module)",
                   channel, tok);
      cur = NULL;
      continue;
    }
    cur = g_new0(cnf_kw, 1);
    cur->name = g_ascii_strdown(tok, -1);
    cur->values = g_ptr_array_new_with_free_func(g_free);
    cur->def = def;
    cur->file = l->file;
    cur->line = l->line;
    g_ptr_array_add(out, cur);
  }
  for (guint i = 0; i < out->len; i++) {
    cnf_kw *k = out->pdata[i];
    if (k->values->len < k->def->kw->min_values)
      diag_error(d, k->file, k->line,
                 "channel %s: keyword '%s' needs %s%u value%s (%s)", channel,
                 k->name,
                 k->def->kw->max_values != k->def->kw->min_values ? "at least "
                                                                  : "",
                 k->def->kw->min_values, k->def->kw->min_values == 1 ? "" : "s",
                 value_type_name(k->def->kw->type));
  }
}

/* parse_block - one channel block (consecutive non-blank lines) */
static void parse_block(imtacnf *cnf, GPtrArray *block, GPtrArray *defaults,
                        const kwtable *kws, diag *d) {
  const srcline *first = block->pdata[0];
  const char *err = NULL;
  char **tokens = srcfile_split(first->text, &err);

  if (tokens == NULL) {
    diag_error(d, first->file, first->line, "%s", err);
    return;
  }
  if (tokens[0] == NULL) {
    g_strfreev(tokens);
    return;
  }
  const char *name = tokens[0];
  if (g_ascii_strcasecmp(name, "defaults") == 0 ||
      g_ascii_strcasecmp(name, "nodefaults") == 0) {
    if (cnf->channels->len > 0)
      diag_error(d, first->file, first->line,
                 "'%s' must come before the first channel", name);
    if (g_ascii_strcasecmp(name, "nodefaults") == 0) {
      g_ptr_array_set_size(defaults, 0);
      if (tokens[1] != NULL)
        diag_error(d, first->file, first->line, "nodefaults takes no keywords");
    } else {
      parse_keywords(defaults, tokens, first, kws, "defaults", d);
    }
    if (block->len > 1) {
      const srcline *l = block->pdata[1];
      diag_error(d, l->file, l->line, "'%s' takes no host names", name);
    }
    g_strfreev(tokens);
    return;
  }
  if (!channel_name_ok(name)) {
    diag_error(d, first->file, first->line,
               "invalid channel name \"%s\" (letters, digits, '_', '-' and "
               "'.', at most %d)",
               name, CHANNEL_NAME_MAX);
    g_strfreev(tokens);
    return;
  }
  char *key = g_ascii_strdown(name, -1);
  cnf_channel *dup = g_hash_table_lookup(cnf->by_name, key);
  if (dup != NULL) {
    diag_error(d, first->file, first->line,
               "channel %s is defined twice (first at %s:%u)", name, dup->file,
               dup->line);
    g_free(key);
    g_strfreev(tokens);
    return;
  }
  cnf_channel *ch = g_new0(cnf_channel, 1);
  ch->name = g_strdup(name);
  ch->file = first->file;
  ch->line = first->line;
  ch->keywords = g_ptr_array_new_with_free_func(kw_free);
  ch->hosts = g_ptr_array_new_with_free_func(host_free);
  for (guint i = 0; i < defaults->len; i++) {
    cnf_kw *k = kw_copy(defaults->pdata[i]);
    k->inherited = true;
    g_ptr_array_add(ch->keywords, k);
  }
  parse_keywords(ch->keywords, tokens, first, kws, name, d);
  g_strfreev(tokens);
  /* keyword lookups come per message: index the last of each name */
  ch->last = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < ch->keywords->len; i++) {
    cnf_kw *k = ch->keywords->pdata[i];
    k->pos = i;
    g_hash_table_insert(ch->last, k->name, k);
  }
  name = ch->name; /* tokens[0] is gone */

  if (block->len < 2)
    diag_error(d, first->file, first->line,
               "channel %s has no official host name (the line after the "
               "channel line)",
               name);
  for (guint i = 1; i < block->len; i++) {
    const srcline *l = block->pdata[i];
    char **h = srcfile_split(l->text, &err);
    if (h == NULL) {
      diag_error(d, l->file, l->line, "%s", err);
      continue;
    }
    if (h[0] == NULL || (h[1] != NULL && h[2] != NULL)) {
      diag_error(d, l->file, l->line,
                 "channel %s: a host line is a host name, optionally followed "
                 "by a routing name",
                 name);
      g_strfreev(h);
      continue;
    }
    const char *why;
    if (!keyword_check_value(CURSUS_VALUE_HOST, h[0], &why)) {
      diag_error(d, l->file, l->line, "channel %s: \"%s\" is not %s", name,
                 h[0], why);
      g_strfreev(h);
      continue;
    }
    cnf_host *host = g_new0(cnf_host, 1);
    host->name = g_ascii_strdown(h[0], -1);
    host->routing = g_strdup(h[1]);
    host->file = l->file;
    host->line = l->line;
    cnf_channel *owner = g_hash_table_lookup(cnf->by_host, host->name);
    if (owner != NULL)
      diag_error(d, l->file, l->line,
                 "host name %s already belongs to channel %s", host->name,
                 owner->name);
    else
      g_hash_table_insert(cnf->by_host, host->name, ch);
    g_ptr_array_add(ch->hosts, host);
    g_strfreev(h);
  }
  g_hash_table_insert(cnf->by_name, key, ch);
  g_ptr_array_add(cnf->channels, ch);
}

imtacnf *imtacnf_parse(const char *path, const char *base_dir,
                       const kwtable *kws, diag *d) {
  srcfile *src = srcfile_read(path, base_dir, d);
  if (src == NULL)
    return NULL;

  imtacnf *cnf = g_new0(imtacnf, 1);
  cnf->path = g_strdup(path);
  cnf->src = src;
  cnf->rules = g_ptr_array_new_with_free_func(rule_free);
  cnf->channels = g_ptr_array_new_with_free_func(channel_free);
  cnf->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  cnf->by_host = g_hash_table_new(g_str_hash, g_str_equal);

  guint i = 0;
  for (; i < src->lines->len; i++) {
    const srcline *l = src->lines->pdata[i];
    if (l->blank)
      break;
    parse_rule(cnf, l, d);
  }
  GPtrArray *defaults = g_ptr_array_new_with_free_func(kw_free);
  GPtrArray *block = g_ptr_array_new();
  for (; i <= src->lines->len; i++) {
    const srcline *l = i < src->lines->len ? src->lines->pdata[i] : NULL;
    if (l == NULL || l->blank) {
      if (block->len > 0)
        parse_block(cnf, block, defaults, kws, d);
      g_ptr_array_set_size(block, 0);
      continue;
    }
    g_ptr_array_add(block, (gpointer)l);
  }
  g_ptr_array_free(block, TRUE);
  g_ptr_array_free(defaults, TRUE);
  if (cnf->channels->len == 0)
    diag_error(d, path, 0, "no channels are defined (channel blocks follow "
                           "the first blank line after the rewrite rules)");
  return cnf;
}

void imtacnf_free(imtacnf **cnfp) {
  imtacnf *cnf = *cnfp;
  if (cnf == NULL)
    return;
  *cnfp = NULL;
  g_hash_table_destroy(cnf->by_host);
  g_hash_table_destroy(cnf->by_name);
  g_ptr_array_free(cnf->channels, TRUE);
  g_ptr_array_free(cnf->rules, TRUE);
  srcfile_free(&cnf->src);
  g_free(cnf->path);
  g_free(cnf);
}

cnf_channel *imtacnf_channel(const imtacnf *cnf, const char *name) {
  char *key = g_ascii_strdown(name, -1);
  cnf_channel *ch = g_hash_table_lookup(cnf->by_name, key);
  g_free(key);
  return ch;
}

cnf_channel *imtacnf_channel_by_host(const imtacnf *cnf, const char *host) {
  char *key = g_ascii_strdown(host, -1);
  cnf_channel *ch = g_hash_table_lookup(cnf->by_host, key);
  g_free(key);
  return ch;
}

/* last_named - the last keyword NAME (any case) of CH, or NULL */
static const cnf_kw *last_named(const cnf_channel *ch, const char *name) {
  for (const char *c = name; *c != '\0'; c++)
    if (g_ascii_isupper(*c)) {
      char *low = g_ascii_strdown(name, -1);
      const cnf_kw *k = g_hash_table_lookup(ch->last, low);
      g_free(low);
      return k;
    }
  return g_hash_table_lookup(ch->last, name);
}

const cnf_kw *cnf_channel_kw(const cnf_channel *ch, const char *name) {
  return last_named(ch, name);
}

bool cnf_channel_has(const cnf_channel *ch, const char *name) {
  return last_named(ch, name) != NULL;
}

const char *cnf_channel_last_of(const cnf_channel *ch,
                                const char *const *names) {
  const cnf_kw *best = NULL;
  const char *which = NULL;
  for (const char *const *n = names; *n != NULL; n++) {
    const cnf_kw *k = last_named(ch, *n);
    if (k != NULL && (best == NULL || k->pos > best->pos)) {
      best = k;
      which = *n;
    }
  }
  return which;
}

bool cnf_channel_flag(const cnf_channel *ch, const char *on, const char *off,
                      bool def) {
  const char *const names[] = {on, off, NULL};
  const char *last = cnf_channel_last_of(ch, names);
  return last == NULL ? def : last == on;
}

long long cnf_channel_int(const cnf_channel *ch, const char *name,
                          long long def) {
  const cnf_kw *k = cnf_channel_kw(ch, name);
  long long v;
  if (k == NULL || k->values->len == 0 ||
      !opt_parse_int(k->values->pdata[0], &v))
    return def;
  return v;
}
