/*
 * mtemplate.c - compile and expand mapping templates (see mtemplate.h)
 *
 * A template compiles to a list of tokens; call-out arguments compile to
 * sub-templates that may only substitute (no flags or controls).
 */
#include "build-config.h"
#include "mtemplate.h"
#include "mapset.h"
#include "tmplscan.h"
#include <cursus/common.h>

#include <string.h>

enum mt_kind {
  MT_LIT,      /* text */
  MT_CAP,      /* $n */
  MT_CASE,     /* $\ $^ $_ */
  MT_LDAPQ,    /* $= */
  MT_MAP,      /* $|table;arg| */
  MT_DB,       /* ${key} ${db,key} */
  MT_URL,      /* $]url[ */
  MT_FN,       /* $[mod,fn,arg] */
  MT_PROB,     /* $?n? */
  MT_COND_SET, /* $:x */
  MT_COND_CLR, /* $;x */
  MT_CTRL,     /* $C $E $L $R */
  MT_FLAG,     /* any other flag */
};

typedef struct mt_tok {
  enum mt_kind kind;
  char *text;  /* LIT text; MAP table; DB name; FN module */
  char *text2; /* FN function */
  int n;       /* CAP index, PROB percent, CASE mode, flag char */
  mtemplate *arg;
} mt_tok;

struct mtemplate {
  GArray *toks; /* of mt_tok */
};

void map_flags_string(const map_flags *f, GString *out) {
  for (unsigned c = 1; c < 256; c++)
    if (map_flags_has(f, (unsigned char)c))
      g_string_append_printf(out, "$%c", (char)c);
}

static void toks_free(GArray *toks) {
  for (guint i = 0; i < toks->len; i++) {
    mt_tok *t = &g_array_index(toks, mt_tok, i);
    g_free(t->text);
    g_free(t->text2);
    mtemplate_free(&t->arg);
  }
  g_array_free(toks, TRUE);
}

void mtemplate_free(mtemplate **tp) {
  if (*tp == NULL)
    return;
  toks_free((*tp)->toks);
  g_free(*tp);
  *tp = NULL;
}

static mtemplate *compile_span(const char *p, const char *end,
                               const mt_compile_info *info, bool arg_mode,
                               int depth, char **error_r);

static void add_lit(GArray *toks, GString *lit) {
  if (lit->len == 0)
    return;
  mt_tok t = {.kind = MT_LIT, .text = g_strndup(lit->str, lit->len)};
  g_array_append_val(toks, t);
  g_string_truncate(lit, 0);
}

/* compile_callout - the call-out opened at P ("$X", X = OPEN); fills T and
 * returns the octet after it, or NULL with *error_r */
static const char *compile_callout(const char *p, const char *end, char open,
                                   const mt_compile_info *info, int depth,
                                   mt_tok *t, char **error_r) {
  static const char closers[] = {'|', '|', '{', '}', ']', '[', '[', ']'};
  char close = 0;
  for (size_t i = 0; i < sizeof(closers); i += 2)
    if (closers[i] == open)
      close = closers[i + 1];
  const char *body = p + 2;
  const char *stop = tmpl_find_close(body, end, open, close);
  if (stop == NULL) {
    *error_r = g_strdup_printf("unterminated \"$%c\" call-out (expected "
                               "'%c')",
                               open, close);
    return NULL;
  }
  if (depth >= TMPL_MAX_NESTING) {
    *error_r = g_strdup("call-outs nested too deeply");
    return NULL;
  }
  const char *argp = body;
  switch (open) {
  case '|': {
    const char *semi = tmpl_find_sep(body, stop, ';');
    if (semi == NULL || semi == body) {
      *error_r = g_strdup("$|TABLE;ARGUMENT| needs a table name and ';'");
      return NULL;
    }
    t->kind = MT_MAP;
    t->text = g_ascii_strup(body, semi - body);
    argp = semi + 1;
    break;
  }
  case '{': {
    const char *comma = tmpl_find_sep(body, stop, ',');
    t->kind = MT_DB;
    if (comma != NULL) {
      char *name = g_strndup(body, comma - body);
      if (info != NULL && info->is_database != NULL &&
          info->is_database(info->data, name)) {
        t->text = name;
        argp = comma + 1;
      } else {
        g_free(name);
      }
    }
    break;
  }
  case ']':
    t->kind = MT_URL;
    break;
  case '[': {
    const char *c1 = tmpl_find_sep(body, stop, ',');
    const char *c2 = c1 != NULL ? tmpl_find_sep(c1 + 1, stop, ',') : NULL;
    if (c1 == NULL || c2 == NULL || c1 == body || c2 == c1 + 1) {
      *error_r = g_strdup("$[MODULE,FUNCTION,ARGUMENT] needs a module and a "
                          "function name");
      return NULL;
    }
    t->kind = MT_FN;
    t->text = g_strndup(body, c1 - body);
    t->text2 = g_strndup(c1 + 1, c2 - c1 - 1);
    argp = c2 + 1;
    break;
  }
  }
  t->arg = compile_span(argp, stop, info, true, depth + 1, error_r);
  if (t->arg == NULL)
    return NULL;
  return stop + 1;
}

static mtemplate *compile_span(const char *p, const char *end,
                               const mt_compile_info *info, bool arg_mode,
                               int depth, char **error_r) {
  GArray *toks = g_array_new(FALSE, TRUE, sizeof(mt_tok));
  GString *lit = g_string_new(NULL);

  while (p < end) {
    if (*p != '$') {
      g_string_append_c(lit, *p++);
      continue;
    }
    if (p + 1 >= end) {
      *error_r = g_strdup("template ends with a lone '$'");
      goto fail;
    }
    char d = p[1];
    mt_tok t = {.kind = MT_LIT};
    if (d == '$' || d == ' ' || d == '\t' || d == '*' || d == '%') {
      g_string_append_c(lit, d);
      p += 2;
      continue;
    }
    add_lit(toks, lit);
    if (g_ascii_isdigit(d)) {
      t.kind = MT_CAP;
      t.n = d - '0';
      p += 2;
    } else if (d == '\\' || d == '^' || d == '_') {
      t.kind = MT_CASE;
      t.n = d == '\\' ? 'l' : d == '^' ? 'u' : 0;
      p += 2;
    } else if (d == '=') {
      t.kind = MT_LDAPQ;
      p += 2;
    } else if (d == '|' || d == '{' || d == ']' || d == '[') {
      p = compile_callout(p, end, d, info, depth, &t, error_r);
      if (p == NULL) {
        mtemplate_free(&t.arg);
        g_free(t.text);
        g_free(t.text2);
        goto fail;
      }
    } else if (arg_mode) {
      *error_r = g_strdup_printf("\"$%c\" is not allowed in a call-out "
                                 "argument",
                                 d);
      goto fail;
    } else if (d == '?') {
      const char *q = p + 2;
      int n = 0;
      while (q < end && g_ascii_isdigit(*q) && n <= 100)
        n = n * 10 + (*q++ - '0');
      if (q >= end || *q != '?' || q == p + 2 || n > 100) {
        *error_r = g_strdup("$?N? needs a percentage 0-100 between the "
                            "question marks");
        goto fail;
      }
      t.kind = MT_PROB;
      t.n = n;
      p = q + 1;
    } else if (d == ':' || d == ';') {
      if (p + 2 >= end || !g_ascii_isalpha(p[2])) {
        *error_r = g_strdup_printf("$%c needs a flag letter", d);
        goto fail;
      }
      t.kind = d == ':' ? MT_COND_SET : MT_COND_CLR;
      t.n = g_ascii_toupper(p[2]);
      p += 3;
    } else if (d == 'C' || d == 'E' || d == 'L' || d == 'R' || d == 'c' ||
               d == 'e' || d == 'l' || d == 'r') {
      t.kind = MT_CTRL;
      t.n = g_ascii_toupper(d);
      p += 2;
    } else if (g_ascii_isalpha(d) || d == '!' || d == '<' || d == '>') {
      t.kind = MT_FLAG;
      t.n = g_ascii_toupper(d);
      p += 2;
    } else {
      *error_r = g_strdup_printf("unknown sequence \"$%c\" in a template", d);
      goto fail;
    }
    g_array_append_val(toks, t);
  }
  add_lit(toks, lit);
  g_string_free(lit, TRUE);
  mtemplate *tmpl = g_new0(mtemplate, 1);
  tmpl->toks = toks;
  return tmpl;

fail:
  g_string_free(lit, TRUE);
  toks_free(toks);
  return NULL;
}

mtemplate *mtemplate_compile(const char *text, const mt_compile_info *info,
                             char **error_r) {
  return compile_span(text, text + strlen(text), info, false, 0, error_r);
}

void mtemplate_calls(const mtemplate *t, GPtrArray *names) {
  for (guint i = 0; i < t->toks->len; i++) {
    const mt_tok *k = &g_array_index(t->toks, mt_tok, i);
    if (k->kind == MT_MAP)
      g_ptr_array_add(names, k->text);
    if (k->arg != NULL)
      mtemplate_calls(k->arg, names);
  }
}

void mtemplate_callouts(const mtemplate *t, GPtrArray *modules,
                        GPtrArray *functions, GPtrArray *schemes,
                        GPtrArray *databases) {
  for (guint i = 0; i < t->toks->len; i++) {
    const mt_tok *k = &g_array_index(t->toks, mt_tok, i);
    if (k->kind == MT_FN) {
      g_ptr_array_add(modules, k->text);
      g_ptr_array_add(functions, k->text2);
    } else if (k->kind == MT_DB) {
      g_ptr_array_add(databases, k->text != NULL ? k->text : "");
    } else if (k->kind == MT_URL && k->arg->toks->len > 0) {
      const mt_tok *first = &g_array_index(k->arg->toks, mt_tok, 0);
      if (first->kind == MT_LIT && strchr(first->text, ':') != NULL)
        g_ptr_array_add(schemes, first->text);
    }
    if (k->arg != NULL)
      mtemplate_callouts(k->arg, modules, functions, schemes, databases);
  }
}

typedef struct eval {
  const char *input;
  const pmatch *m;
  const mapset *ms;
  const map_ctx *ctx;
  char case_mode;
  bool ldap_quote;
  char **error_r;
} eval;

/* put - append substituted TEXT, honouring case and LDAP quoting */
static void put(eval *ev, GString *out, const char *text, size_t len,
                bool substituted) {
  if (substituted && ev->ldap_quote) {
    GString *tmp = g_string_new(NULL);
    tmpl_append_case(tmp, text, len, ev->case_mode);
    tmpl_ldap_escape(out, tmp->str, tmp->len);
    g_string_free(tmp, TRUE);
    return;
  }
  tmpl_append_case(out, text, len, ev->case_mode);
}

static int expand(eval *ev, const mtemplate *t, GString *out, map_flags *flags,
                  int *control);

/* expand_arg - a call-out's argument as a string */
static int expand_arg(eval *ev, const mtemplate *arg, GString *out) {
  char saved_case = ev->case_mode;
  bool saved_q = ev->ldap_quote;
  ev->case_mode = 0;
  ev->ldap_quote = false;
  int rc = expand(ev, arg, out, NULL, NULL);
  ev->case_mode = saved_case;
  ev->ldap_quote = saved_q;
  return rc;
}

static void trace(const eval *ev, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void trace(const eval *ev, const char *fmt, ...) {
  if (ev->ctx == NULL || ev->ctx->trace == NULL)
    return;
  va_list args;
  va_start(args, fmt);
  g_string_append(ev->ctx->trace, ev->ctx->indent != NULL ? ev->ctx->indent
                                                          : "");
  g_string_append_vprintf(ev->ctx->trace, fmt, args);
  g_string_append_c(ev->ctx->trace, '\n');
  va_end(args);
}

/* callout - run one call-out token; its result is appended to RESULT */
static int callout(eval *ev, const mt_tok *k, GString *result) {
  GString *arg = g_string_new(NULL);
  int rc = expand_arg(ev, k->arg, arg);
  if (rc != CURSUS_OK) {
    g_string_free(arg, TRUE);
    return rc;
  }
  /* without tables or sources (a template checked on its own) every
   * call-out finds nothing */
  if (ev->ms == NULL || (k->kind != MT_MAP && ev->ms->sources == NULL)) {
    g_string_free(arg, TRUE);
    return CURSUS_NONE;
  }
  switch (k->kind) {
  case MT_MAP: {
    map_ctx sub = {0};
    if (ev->ctx != NULL)
      sub = *ev->ctx;
    sub.depth++;
    if (sub.depth > MAP_MAX_DEPTH) {
      *ev->error_r = g_strdup_printf("mapping calls nested deeper than %d "
                                     "(table %s)",
                                     MAP_MAX_DEPTH, k->text);
      rc = CURSUS_TEMPFAIL;
      break;
    }
    map_result r;
    map_result_init(&r);
    rc = mapset_apply(ev->ms, k->text, arg->str, &sub, &r, ev->error_r);
    if (rc == CURSUS_OK && (!r.matched || map_flags_has(&r.flags, 'N')))
      rc = CURSUS_NONE;
    if (rc == CURSUS_OK)
      g_string_append_len(result, r.out->str, r.out->len);
    trace(ev, "$|%s;%s| -> %s", k->text, arg->str,
          rc == CURSUS_OK ? r.out->str : rc == CURSUS_NONE ? "(fails)"
                                                           : "(temporary failure)");
    map_result_clear(&r);
    break;
  }
  case MT_DB:
    rc = srcreg_database(ev->ms->sources, k->text != NULL ? k->text : "",
                         arg->str, result, ev->error_r);
    trace(ev, "${%s%s%s} -> %s", k->text != NULL ? k->text : "",
          k->text != NULL ? "," : "", arg->str,
          rc == CURSUS_OK ? result->str : rc == CURSUS_NONE ? "(not found)"
                                                            : "(temporary failure)");
    break;
  case MT_URL:
    rc = srcreg_url(ev->ms->sources, arg->str, result, ev->error_r);
    trace(ev, "$]%s[ -> %s", arg->str,
          rc == CURSUS_OK ? result->str : rc == CURSUS_NONE ? "(not found)"
                                                            : "(temporary failure)");
    break;
  case MT_FN:
    rc = srcreg_call(ev->ms->sources, k->text, k->text2, arg->str, result,
                     ev->error_r);
    trace(ev, "$[%s,%s,%s] -> %s", k->text, k->text2, arg->str,
          rc == CURSUS_OK ? result->str : rc == CURSUS_NONE ? "(fails)"
                                                            : "(temporary failure)");
    break;
  default:
    break;
  }
  g_string_free(arg, TRUE);
  return rc;
}

static int expand(eval *ev, const mtemplate *t, GString *out, map_flags *flags,
                  int *control) {
  for (guint i = 0; i < t->toks->len; i++) {
    const mt_tok *k = &g_array_index(t->toks, mt_tok, i);
    switch (k->kind) {
    case MT_LIT:
      put(ev, out, k->text, strlen(k->text), false);
      break;
    case MT_CAP:
      if (ev->m != NULL && (unsigned)k->n < ev->m->n)
        put(ev, out, ev->input + ev->m->start[k->n], ev->m->len[k->n], true);
      break;
    case MT_CASE:
      ev->case_mode = (char)k->n;
      break;
    case MT_LDAPQ:
      ev->ldap_quote = true;
      break;
    case MT_MAP:
    case MT_DB:
    case MT_URL:
    case MT_FN: {
      GString *r = g_string_new(NULL);
      int rc = callout(ev, k, r);
      if (rc == CURSUS_OK)
        put(ev, out, r->str, r->len, true);
      g_string_free(r, TRUE);
      if (rc != CURSUS_OK)
        return rc;
      break;
    }
    case MT_PROB:
      if (k->n < 100 && g_random_int_range(0, 100) >= k->n)
        return CURSUS_NONE;
      break;
    case MT_COND_SET:
    case MT_COND_CLR: {
      unsigned bit = mapset_session_flag((char)k->n);
      bool set = ev->ctx != NULL && (ev->ctx->session_flags & bit) != 0;
      if (set != (k->kind == MT_COND_SET))
        return CURSUS_NONE;
      break;
    }
    case MT_CTRL:
      if (control != NULL)
        *control = k->n;
      break;
    case MT_FLAG:
      if (flags != NULL) {
        unsigned char c = (unsigned char)(k->n == 'F' ? 'N' : k->n);
        map_flags_set(flags, c);
        if (c == 'Y')
          map_flags_clear(flags, 'N');
        if (c == 'N')
          map_flags_clear(flags, 'Y');
      }
      break;
    }
  }
  return CURSUS_OK;
}

int mtemplate_eval(const mtemplate *t, const char *input,
                   const pmatch *m, const mapset *ms,
                   const map_ctx *ctx, GString *out, map_flags *flags,
                   int *control, char **error_r) {
  eval ev = {.input = input, .m = m, .ms = ms, .ctx = ctx,
             .error_r = error_r};
  return expand(&ev, t, out, flags, control);
}
