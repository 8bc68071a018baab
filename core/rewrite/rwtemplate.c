/*
 * rwtemplate.c - compile and evaluate rewrite-rule templates
 * (see rwtemplate.h)
 *
 * Evaluation runs in three steps: the cheap controls known at compile
 * time are checked first (no lookup is made for a rule that cannot
 * apply); call-outs are then made and their results spliced in (scanned
 * again where the classic system does); last, the flat token list is cut
 * at the separators '%' and '@' into the template form, while the
 * remaining controls are applied.
 */
#include "build-config.h"
#include "rwtemplate.h"
#include "addr/addr.h"
#include "mapping/tmplscan.h"
#include "mta/expand.h"
#include <cursus/common.h>

#include <pwd.h>
#include <string.h>
#include <unistd.h>

/* Deepest rescanning of call-out results. */
#define RESCAN_MAX 8

enum rt_kind {
  RT_LIT,
  RT_SEP,
  RT_SUB,
  RT_CASE,
  RT_LDAPQ,
  RT_MAP,
  RT_DB,
  RT_URL,
  RT_FN,
  RT_CTL,
  RT_CTLARG,
};

enum compile_mode {
  MODE_TOP,  /* a rule's template */
  MODE_NODB, /* a general-database result: no further $(...) */
  MODE_ARG,  /* a call-out argument: substitutions only */
  MODE_URL,  /* a URL: substitutions, $A, $S, $~account */
};

typedef struct rt_tok {
  unsigned char kind;
  char c;      /* SUB, CTL, CTLARG letter; SEP character; CASE mode */
  int n;       /* numeric prefix or field number; -1 when none */
  char *text;  /* LIT text; MAP table; DB name; FN module; SUB ~account */
  char *text2; /* FN function */
  rw_tmpl *arg;
  char code[12]; /* $? status code */
} rt_tok;

struct rw_tmpl {
  GArray *toks;       /* of rt_tok */
  bool callouts;      /* some token is a call-out */
  unsigned ctl;       /* enum rw_ctl of top-level controls */
  GPtrArray *chan[4]; /* literal arguments of $M $N $Q $C (char*) */
};

static const char chan_ctl[] = "MNQC";

void rw_outcome_clear(rw_outcome *o) {
  g_free(o->user);
  g_free(o->host);
  g_free(o->route);
  g_free(o->routing);
  g_free(o->new_tag);
  g_free(o->error_text);
  g_free(o->why);
  memset(o, 0, sizeof(*o));
}

static void toks_free(GArray *toks) {
  for (guint i = 0; i < toks->len; i++) {
    rt_tok *t = &g_array_index(toks, rt_tok, i);
    g_free(t->text);
    g_free(t->text2);
    rw_tmpl_free(&t->arg);
  }
  g_array_free(toks, TRUE);
}

void rw_tmpl_free(rw_tmpl **tp) {
  rw_tmpl *t = *tp;
  if (t == NULL)
    return;
  *tp = NULL;
  toks_free(t->toks);
  for (int i = 0; i < 4; i++)
    if (t->chan[i] != NULL)
      g_ptr_array_free(t->chan[i], TRUE);
  g_free(t);
}

unsigned rw_tmpl_controls(const rw_tmpl *t) { return t->ctl; }

/* ------------------------------------------------------------ compiling */

static rw_tmpl *compile_span(const char *p, const char *end, int mode,
                             const rw_compile_info *info, int depth,
                             char **error_r);

static void flush_lit(GArray *toks, GString *lit) {
  if (lit->len == 0)
    return;
  rt_tok t = {.kind = RT_LIT, .n = -1, .text = g_strndup(lit->str, lit->len)};
  g_array_append_val(toks, t);
  g_string_truncate(lit, 0);
}

/* check_callout - with INFO, the table, database, function or scheme the
 * call-out names must exist */
static bool check_callout(const rt_tok *t, const rw_compile_info *info,
                          char **error_r) {
  char *why = NULL;
  if (info == NULL)
    return true;
  switch (t->kind) {
  case RT_MAP:
    if (info->maps != NULL && mapset_table(info->maps, t->text) == NULL) {
      *error_r = g_strdup_printf("${%s,...}: mapping table %s is not defined "
                                 "in the MAPPINGS file",
                                 t->text, t->text);
      return false;
    }
    return true;
  case RT_DB:
    if (info->sources != NULL &&
        !srcreg_has_database(info->sources, t->text != NULL ? t->text : "")) {
      *error_r = t->text != NULL
                     ? g_strdup_printf("$(%s,...): no database %s in "
                                       "cursus.conf [databases]",
                                       t->text, t->text)
                     : g_strdup("$(...) needs the general database: set "
                                "[mta] general_database in cursus.conf");
      return false;
    }
    return true;
  case RT_FN:
    if (info->sources != NULL &&
        !srcreg_check_function(info->sources, t->text, t->text2, &why)) {
      *error_r = g_strdup_printf("$[%s,%s,...]: %s", t->text, t->text2, why);
      g_free(why);
      return false;
    }
    return true;
  case RT_URL: {
    if (info->sources == NULL || t->arg->toks->len == 0)
      return true;
    const rt_tok *first = &g_array_index(t->arg->toks, rt_tok, 0);
    char *scheme = first->kind == RT_LIT ? srcreg_scheme(first->text) : NULL;
    if (scheme == NULL)
      return true;
    char *spec = g_strdup_printf("%s:", scheme);
    bool ok = srcreg_check_spec(info->sources, spec, &why);
    if (!ok) {
      *error_r = g_strdup_printf("$]%s...[: %s", scheme, why);
      g_free(why);
    }
    g_free(spec);
    g_free(scheme);
    return ok;
  }
  default:
    return true;
  }
}

/* compile_callout - the call-out "$X..." at P; returns the octet after it */
static const char *compile_callout(const char *p, const char *end, int mode,
                                   const rw_compile_info *info, int depth,
                                   rt_tok *t, char **error_r) {
  char open = p[1];
  char close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : '[';
  const char *body = p + 2;
  const char *stop = tmpl_find_close(body, end, open, close);
  const char *argp = body;
  int arg_mode = MODE_ARG;
  if (stop == NULL) {
    *error_r = g_strdup_printf("unterminated \"$%c\" (expected '%c')", open,
                               close);
    return NULL;
  }
  if (depth >= TMPL_MAX_NESTING) {
    *error_r = g_strdup("call-outs nested too deeply");
    return NULL;
  }
  if (open == '{') {
    const char *comma = tmpl_find_sep(body, stop, ',');
    if (comma == NULL || comma == body) {
      *error_r = g_strdup("${TABLE,KEY} needs a table name and a comma");
      return NULL;
    }
    t->kind = RT_MAP;
    t->text = g_ascii_strup(body, comma - body);
    argp = comma + 1;
  } else if (open == '(') {
    if (mode == MODE_NODB) {
      *error_r = g_strdup("$(...) inside the result of a $(...) lookup");
      return NULL;
    }
    const char *comma = tmpl_find_sep(body, stop, ',');
    t->kind = RT_DB;
    if (comma != NULL) {
      t->text = g_strndup(body, comma - body);
      argp = comma + 1;
    }
  } else if (open == ']') {
    t->kind = RT_URL;
    arg_mode = MODE_URL;
  } else {
    const char *c1 = tmpl_find_sep(body, stop, ',');
    const char *c2 = c1 != NULL ? tmpl_find_sep(c1 + 1, stop, ',') : NULL;
    if (c1 == NULL || c2 == NULL || c1 == body || c2 == c1 + 1) {
      *error_r = g_strdup("$[MODULE,FUNCTION,ARGUMENT] needs a module and a "
                          "function");
      return NULL;
    }
    t->kind = RT_FN;
    t->text = g_strndup(body, c1 - body);
    /* the classic form names a shared library: IMTA_LIB:x.so -> x */
    char *base = g_path_get_basename(strchr(t->text, ':') != NULL
                                         ? strrchr(t->text, ':') + 1
                                         : t->text);
    if (g_str_has_suffix(base, ".so"))
      base[strlen(base) - 3] = '\0';
    g_free(t->text);
    t->text = base;
    t->text2 = g_strndup(c1 + 1, c2 - c1 - 1);
    argp = c2 + 1;
  }
  t->arg = compile_span(argp, stop, arg_mode, info, depth + 1, error_r);
  if (t->arg == NULL || !check_callout(t, info, error_r))
    return NULL;
  return stop + 1;
}

/* parse_code - "$x00y00z?": the status "x.y.z" into CODE */
static bool parse_code(const char *digits, size_t n, char *code,
                       char **error_r) {
  unsigned long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (unsigned long)(digits[i] - '0');
  unsigned long x = v / 1000000, y = (v / 1000) % 1000, z = v % 1000;
  if (n > 9 || (x != 4 && x != 5)) {
    *error_r = g_strdup_printf("$%.*s?: the status number is x00y00z with x "
                               "4 or 5 (e.g. $4001002? for 4.1.2)",
                               (int)MIN(n, 12), digits);
    return false;
  }
  g_snprintf(code, 12, "%lu.%lu.%lu", x, y, z);
  return true;
}

/* compile_dollar - the sequence at P ('$'); adds tokens, returns the
 * octet after it or NULL with *error_r */
static const char *compile_dollar(const char *p, const char *end, int mode,
                                  const rw_compile_info *info, int depth,
                                  GArray *toks, GString *lit,
                                  char **error_r) {
  const char *q = p + 1;
  int n = -1;
  rt_tok t = {.n = -1};
  const char *digits = q;
  while (q < end && g_ascii_isdigit(*q)) {
    n = (n < 0 ? 0 : n) * 10 + (*q - '0');
    if (n > 100000000)
      n = 100000000;
    q++;
  }
  size_t ndig = (size_t)(q - digits);
  if (q >= end) {
    *error_r = g_strdup("template ends with an incomplete '$' sequence");
    return NULL;
  }
  char c = *q;
  bool in_arg = mode == MODE_ARG || mode == MODE_URL;

  if (ndig == 0 && (c == '$' || c == '%' || c == '@' || c == ' ' ||
                    c == '\t')) {
    g_string_append_c(lit, c);
    return q + 1;
  }
  flush_lit(toks, lit);
  if (ndig == 0 && (c == '{' || c == '(' || c == '[' || c == ']')) {
    const char *after = compile_callout(p, end, mode, info, depth, &t, error_r);
    if (after == NULL) {
      g_free(t.text);
      g_free(t.text2);
      rw_tmpl_free(&t.arg);
      return NULL;
    }
    g_array_append_val(toks, t);
    return after;
  }
  if (ndig == 0 && (c == '&' || c == '!' || c == '*' || c == '#')) {
    if (q + 1 >= end || !g_ascii_isdigit(q[1])) {
      *error_r = g_strdup_printf("$%cn needs a field number 0-9", c);
      return NULL;
    }
    t.kind = RT_SUB;
    t.c = c;
    t.n = q[1] - '0';
    g_array_append_val(toks, t);
    return q + 2;
  }
  if (ndig == 0 && (c == '\\' || c == '^' || c == '_')) {
    t.kind = RT_CASE;
    t.c = c == '\\' ? 'l' : c == '^' ? 'u' : 0;
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (ndig == 0 && c == '=') {
    t.kind = RT_LDAPQ;
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (mode == MODE_URL && ndig == 0 && c == '~') {
    const char *a = q + 1;
    while (a < end && (g_ascii_isalnum(*a) || *a == '_' || *a == '-' ||
                       *a == '.'))
      a++;
    if (a == q + 1) {
      *error_r = g_strdup("$~ needs an account name");
      return NULL;
    }
    t.kind = RT_SUB;
    t.c = '~';
    t.text = g_strndup(q + 1, a - q - 1);
    g_array_append_val(toks, t);
    return a;
  }
  char u = g_ascii_toupper(c);
  bool sub = (u == 'U' && (ndig == 0 || n <= 1)) || u == 'H' || u == 'D' ||
             (ndig == 0 && (u == 'L' || u == 'W')) ||
             (mode == MODE_URL && ndig == 0 && (u == 'A' || u == 'S'));
  if (sub) {
    t.kind = RT_SUB;
    t.c = u;
    t.n = n;
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (in_arg) {
    *error_r = g_strdup_printf("\"$%.*s%c\" is not allowed inside a "
                               "call-out argument",
                               (int)ndig, digits, c);
    return NULL;
  }
  if (ndig == 0 && strchr("EBFRAPSX", u) != NULL) {
    t.kind = RT_CTL;
    t.c = u;
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (ndig == 1 && n == 1 && (u == 'M' || u == 'N' || c == '~')) {
    t.kind = RT_CTL;
    t.c = u == 'M' ? 'm' : u == 'N' ? 'n' : '~';
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (c == '?' && (ndig == 0 || parse_code(digits, ndig, t.code, error_r))) {
    if (ndig == 0)
      strcpy(t.code, "5.1.2");
    t.kind = RT_CTLARG;
    t.c = '?';
    g_array_append_val(toks, t);
    return q + 1;
  }
  if (c == '?')
    return NULL;
  if (ndig == 0 && strchr("MNCQTVZ", u) != NULL) {
    t.kind = RT_CTLARG;
    t.c = u;
    g_array_append_val(toks, t);
    return q + 1;
  }
  *error_r = g_strdup_printf("unknown sequence \"$%.*s%c\" in a rewrite "
                             "template",
                             (int)ndig, digits, c);
  return NULL;
}

/* note_static - top-level controls and literal channel arguments */
static void note_static(rw_tmpl *t) {
  static const struct {
    char c;
    unsigned bit;
  } bits[] = {{'E', RW_CTL_E},     {'B', RW_CTL_B},      {'F', RW_CTL_F},
              {'R', RW_CTL_R},     {'A', RW_CTL_LOC_A},  {'P', RW_CTL_LOC_P},
              {'S', RW_CTL_LOC_S}, {'X', RW_CTL_LOC_X},  {'m', RW_CTL_REPROC},
              {'n', RW_CTL_NOREPROC}};
  for (guint i = 0; i < t->toks->len; i++) {
    const rt_tok *k = &g_array_index(t->toks, rt_tok, i);
    if (k->kind == RT_CTL) {
      for (size_t b = 0; b < G_N_ELEMENTS(bits); b++)
        if (bits[b].c == k->c)
          t->ctl |= bits[b].bit;
      continue;
    }
    const char *which = k->kind == RT_CTLARG ? strchr(chan_ctl, k->c) : NULL;
    if (which == NULL)
      continue;
    /* a literal argument: one LIT up to a separator or control */
    const rt_tok *a = i + 1 < t->toks->len
                          ? &g_array_index(t->toks, rt_tok, i + 1)
                          : NULL;
    const rt_tok *b = i + 2 < t->toks->len
                          ? &g_array_index(t->toks, rt_tok, i + 2)
                          : NULL;
    if (a != NULL && a->kind == RT_LIT &&
        (b == NULL || b->kind == RT_SEP || b->kind == RT_CTL ||
         b->kind == RT_CTLARG)) {
      int idx = (int)(which - chan_ctl);
      if (t->chan[idx] == NULL)
        t->chan[idx] = g_ptr_array_new_with_free_func(g_free);
      g_ptr_array_add(t->chan[idx], g_ascii_strdown(a->text, -1));
    }
  }
}

static rw_tmpl *compile_span(const char *p, const char *end, int mode,
                             const rw_compile_info *info, int depth,
                             char **error_r) {
  GArray *toks = g_array_new(FALSE, TRUE, sizeof(rt_tok));
  GString *lit = g_string_new(NULL);
  bool top = mode == MODE_TOP || mode == MODE_NODB;
  while (p < end) {
    if (*p == '$') {
      p = compile_dollar(p, end, mode, info, depth, toks, lit, error_r);
      if (p == NULL) {
        g_string_free(lit, TRUE);
        toks_free(toks);
        return NULL;
      }
      continue;
    }
    if (top && (*p == '%' || *p == '@')) {
      flush_lit(toks, lit);
      rt_tok t = {.kind = RT_SEP, .c = *p, .n = -1};
      g_array_append_val(toks, t);
      p++;
      continue;
    }
    g_string_append_c(lit, *p++);
  }
  flush_lit(toks, lit);
  g_string_free(lit, TRUE);
  rw_tmpl *t = g_new0(rw_tmpl, 1);
  t->toks = toks;
  for (guint i = 0; i < toks->len; i++) {
    unsigned char kind = g_array_index(toks, rt_tok, i).kind;
    if (kind >= RT_MAP && kind <= RT_FN)
      t->callouts = true;
  }
  if (top)
    note_static(t);
  return t;
}

/* check_form - a template without call-outs must already have a form */
static bool check_form(const rw_tmpl *t, char **error_r) {
  char seps[8];
  unsigned nsep = 0;
  bool callouts = false, has_error = false;
  for (guint i = 0; i < t->toks->len; i++) {
    const rt_tok *k = &g_array_index(t->toks, rt_tok, i);
    if (k->kind >= RT_MAP && k->kind <= RT_FN)
      callouts = true;
    if (k->kind == RT_CTLARG && k->c == '?')
      has_error = true;
    if (k->kind == RT_SEP) {
      if (nsep < sizeof(seps))
        seps[nsep] = k->c;
      nsep++;
    }
  }
  if (callouts || (nsep == 0 && has_error))
    return true;
  if (nsep == 0) {
    *error_r = g_strdup("the template has no routing host (forms: A%B, A@B, "
                        "A%B@C, A@B@C, A@B@C@D)");
    return false;
  }
  for (unsigned i = 1; i < nsep && i < sizeof(seps); i++)
    if (seps[i] != '@') {
      *error_r = g_strdup("misplaced '%' in the template (forms: A%B, A@B, "
                          "A%B@C, A@B@C, A@B@C@D; write a literal % as $%)");
      return false;
    }
  if (nsep > 3) {
    *error_r = g_strdup("too many '@' in the template (write a literal @ as "
                        "$@)");
    return false;
  }
  return true;
}

rw_tmpl *rw_tmpl_compile(const char *text, const rw_compile_info *info,
                         char **error_r) {
  rw_tmpl *t = compile_span(text, text + strlen(text), MODE_TOP, info, 0,
                            error_r);
  if (t != NULL && !check_form(t, error_r))
    rw_tmpl_free(&t);
  return t;
}

/* ----------------------------------------------------------- evaluating */

typedef struct ev {
  const rw_subst *s;
  const rw_situation *sit;
  char case_mode;
  bool ldap_quote;
  char **error_r;
  GPtrArray *owned; /* rescanned templates to free */
} ev;

static void trace(const ev *e, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void trace(const ev *e, const char *fmt, ...) {
  if (e->sit->trace == NULL)
    return;
  va_list args;
  va_start(args, fmt);
  g_string_append(e->sit->trace, "      ");
  g_string_append_vprintf(e->sit->trace, fmt, args);
  g_string_append_c(e->sit->trace, '\n');
  va_end(args);
}

static void emit(ev *e, GString *out, const char *text, size_t len,
                 bool substituted) {
  if (substituted && e->ldap_quote) {
    GString *tmp = g_string_new(NULL);
    tmpl_append_case(tmp, text, len, e->case_mode);
    tmpl_ldap_escape(out, tmp->str, tmp->len);
    g_string_free(tmp, TRUE);
  } else {
    tmpl_append_case(out, text, len, e->case_mode);
  }
}

/* field - the N-th dot-separated label of TEXT, from the left or right;
 * empty labels are not counted */
static bool field(const char *text, int n, bool from_right, GString *out) {
  char **parts = g_strsplit(text, ".", -1);
  GPtrArray *labels = g_ptr_array_new();
  for (char **p = parts; *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add(labels, *p);
  bool ok = n >= 0 && (guint)n < labels->len;
  if (ok)
    g_string_append(out, labels->pdata[from_right ? labels->len - 1 - (guint)n
                                                  : (guint)n]);
  g_ptr_array_free(labels, TRUE);
  g_strfreev(parts);
  return ok;
}

/* skip_fields - TEXT without its first N dot-separated fields */
static const char *skip_fields(const char *text, int n) {
  const char *p = text;
  for (int i = 0; i < n && p != NULL; i++) {
    p = strchr(p, '.');
    if (p != NULL)
      p++;
  }
  return p != NULL ? p : "";
}

/* substitute - one RT_SUB token; false when the rule must fail */
static bool substitute(ev *e, const rt_tok *k, GString *out) {
  const rw_subst *s = e->s;
  GString *v = g_string_new(NULL);
  bool ok = true;
  switch (k->c) {
  case 'U': {
    const char *plus = strchr(s->local, '+');
    if (k->n < 0) {
      g_string_append(v, s->user);
    } else if (k->n == 0) {
      char *base = g_strndup(s->local, plus != NULL ? (gsize)(plus - s->local)
                                                    : strlen(s->local));
      char *f = addr_format_local(base, false);
      g_string_append(v, f);
      g_free(f);
      g_free(base);
    } else if (plus != NULL) {
      g_string_append(v, plus);
    }
    break;
  }
  case 'H':
    g_string_append(v, skip_fields(s->h, k->n < 0 ? 0 : k->n));
    break;
  case 'D':
    g_string_append(v, skip_fields(s->d, k->n < 0 ? 0 : k->n));
    break;
  case 'L':
    g_string_append(v, s->l);
    break;
  case 'W': {
    static gint counter;
    g_string_append_printf(v, "%08x%04x%04x", g_random_int(),
                           (unsigned)getpid() & 0xffffu,
                           (unsigned)g_atomic_int_add(&counter, 1) & 0xffffu);
    break;
  }
  case '&':
  case '!':
    ok = field(s->h, k->n, k->c == '!', v);
    break;
  case '*':
  case '#':
    ok = field(s->d, k->n, k->c == '#', v);
    break;
  case 'A':
    g_string_append(v, s->address);
    break;
  case 'S': {
    const char *plus = strchr(s->local, '+');
    if (plus != NULL)
      g_string_append(v, plus + 1);
    break;
  }
  case '~': {
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(k->text, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
      g_string_append(v, pw.pw_dir);
    else
      ok = false;
    break;
  }
  }
  if (ok)
    emit(e, out, v->str, v->len, true);
  else
    trace(e, "$%c%d: no such field; rule fails", k->c, k->n);
  g_string_free(v, TRUE);
  return ok;
}

static int flatten(ev *e, const rw_tmpl *t, GPtrArray *flat, int depth);

static void tmpl_destroy(void *p) {
  rw_tmpl *t = p;
  rw_tmpl_free(&t);
}

/* own - keep T (a call-out's result) until the evaluation ends */
static void own(ev *e, rw_tmpl *t) {
  if (e->owned == NULL)
    e->owned = g_ptr_array_new_with_free_func(tmpl_destroy);
  g_ptr_array_add(e->owned, t);
}

/* eval_arg - a call-out argument as a string */
static int eval_arg(ev *e, const rw_tmpl *arg, GString *out) {
  char saved_case = e->case_mode;
  bool saved_q = e->ldap_quote;
  e->case_mode = 0;
  e->ldap_quote = false;
  int rc = RW_APPLIED;
  for (guint i = 0; i < arg->toks->len && rc == RW_APPLIED; i++) {
    const rt_tok *k = &g_array_index(arg->toks, rt_tok, i);
    switch (k->kind) {
    case RT_LIT:
      emit(e, out, k->text, strlen(k->text), false);
      break;
    case RT_SUB:
      if (!substitute(e, k, out))
        rc = RW_FAILED;
      break;
    case RT_CASE:
      e->case_mode = k->c;
      break;
    case RT_LDAPQ:
      e->ldap_quote = true;
      break;
    default: { /* a nested call-out: its result is plain text here */
      GPtrArray *flat = g_ptr_array_new();
      rw_tmpl one = {.toks = g_array_new(FALSE, TRUE, sizeof(rt_tok))};
      g_array_append_vals(one.toks, k, 1);
      rc = flatten(e, &one, flat, RESCAN_MAX);
      for (guint j = 0; rc == RW_APPLIED && j < flat->len; j++) {
        const rt_tok *f = flat->pdata[j];
        if (f->kind == RT_LIT)
          emit(e, out, f->text, strlen(f->text), true);
      }
      g_array_free(one.toks, TRUE);
      g_ptr_array_free(flat, TRUE);
    }
    }
  }
  e->case_mode = saved_case;
  e->ldap_quote = saved_q;
  return rc;
}

/* run_callout - make the call-out K; its text goes to RESULT */
static int run_callout(ev *e, const rt_tok *k, GString *result) {
  GString *arg = g_string_new(NULL);
  int rc = eval_arg(e, k->arg, arg);
  int lrc = CURSUS_NONE;
  if (rc != RW_APPLIED) {
    g_string_free(arg, TRUE);
    return rc;
  }
  switch (k->kind) {
  case RT_MAP: {
    map_result r;
    map_result_init(&r);
    map_ctx ctx = {.trace = e->sit->trace, .indent = "        "};
    lrc = e->sit->maps != NULL
              ? mapset_apply(e->sit->maps, k->text, arg->str, &ctx, &r,
                             e->error_r)
              : CURSUS_OK;
    if (lrc == CURSUS_OK && r.matched && map_flags_has(&r.flags, 'Y'))
      g_string_append_len(result, r.out->str, r.out->len);
    else if (lrc == CURSUS_OK)
      lrc = CURSUS_NONE;
    trace(e, "${%s,%s} -> %s", k->text, arg->str,
          lrc == CURSUS_OK    ? result->str
          : lrc == CURSUS_NONE ? (r.matched ? "(no $Y: rule fails)"
                                            : "(no match: rule fails)")
                               : "(temporary failure)");
    map_result_clear(&r);
    break;
  }
  case RT_DB:
    lrc = e->sit->sources != NULL
              ? srcreg_database(e->sit->sources, k->text != NULL ? k->text : "",
                                arg->str, result, e->error_r)
              : CURSUS_NONE;
    trace(e, "$(%s%s%s) -> %s", k->text != NULL ? k->text : "",
          k->text != NULL ? "," : "", arg->str,
          lrc == CURSUS_OK    ? result->str
          : lrc == CURSUS_NONE ? "(not found: rule fails)"
                               : "(temporary failure)");
    break;
  case RT_URL: {
    lrc = e->sit->sources != NULL
              ? srcreg_url(e->sit->sources, arg->str, result, e->error_r)
              : CURSUS_NONE;
    const char *nl = strchr(result->str, '\n');
    if (nl != NULL)
      g_string_truncate(result, (gsize)(nl - result->str));
    trace(e, "$]%s[ -> %s", arg->str,
          lrc == CURSUS_OK    ? result->str
          : lrc == CURSUS_NONE ? "(nothing found: rule fails)"
                               : "(temporary failure)");
    break;
  }
  case RT_FN:
    lrc = e->sit->sources != NULL
              ? srcreg_call(e->sit->sources, k->text, k->text2, arg->str,
                            result, e->error_r)
              : CURSUS_NONE;
    trace(e, "$[%s,%s,%s] -> %s", k->text, k->text2, arg->str,
          lrc == CURSUS_OK    ? result->str
          : lrc == CURSUS_NONE ? "(fails: rule fails)"
                               : "(temporary failure)");
    break;
  }
  g_string_free(arg, TRUE);
  return lrc == CURSUS_OK ? RW_APPLIED
         : lrc == CURSUS_NONE ? RW_FAILED
                              : RW_TEMPFAIL;
}

/* flatten - T's tokens into FLAT with call-outs made and spliced in */
static int flatten(ev *e, const rw_tmpl *t, GPtrArray *flat, int depth) {
  for (guint i = 0; i < t->toks->len; i++) {
    rt_tok *k = &g_array_index(t->toks, rt_tok, i);
    if (k->kind < RT_MAP || k->kind > RT_FN) {
      g_ptr_array_add(flat, k);
      continue;
    }
    GString *result = g_string_new(NULL);
    int rc = run_callout(e, k, result);
    if (rc != RW_APPLIED) {
      g_string_free(result, TRUE);
      return rc;
    }
    if ((k->kind == RT_MAP || k->kind == RT_DB) && depth < RESCAN_MAX) {
      char *why = NULL;
      rw_tmpl *r = compile_span(result->str, result->str + result->len,
                                k->kind == RT_DB ? MODE_NODB : MODE_TOP, NULL,
                                0, &why);
      if (r == NULL) {
        *e->error_r = g_strdup_printf("the result \"%s\" of %s %s is not a "
                                      "valid template: %s",
                                      result->str,
                                      k->kind == RT_MAP ? "mapping"
                                                        : "database lookup",
                                      k->kind == RT_MAP ? k->text : "$(...)",
                                      why);
        g_free(why);
        g_string_free(result, TRUE);
        return RW_MALFORMED;
      }
      own(e, r);
      g_string_free(result, TRUE);
      int rc2 = flatten(e, r, flat, depth + 1);
      if (rc2 != RW_APPLIED)
        return rc2;
      continue;
    }
    rw_tmpl *lit = g_new0(rw_tmpl, 1);
    lit->toks = g_array_new(FALSE, TRUE, sizeof(rt_tok));
    rt_tok l = {.kind = RT_LIT, .n = -1, .text = g_string_free(result, FALSE)};
    g_array_append_val(lit->toks, l);
    own(e, lit);
    g_ptr_array_add(flat, &g_array_index(lit->toks, rt_tok, 0));
  }
  return RW_APPLIED;
}

/* channel_matches - NAME matches channel-name pattern PAT (globs allowed) */
static bool channel_matches(const char *pat, const char *name) {
  char *lname = g_ascii_strdown(name, -1);
  char *lpat = g_ascii_strdown(pat, -1);
  bool m = g_pattern_match_simple(lpat, lname);
  g_free(lname);
  g_free(lpat);
  return m;
}

/* channel_checks - the $M $N $Q $C clauses against the situation */
static bool channel_checks(ev *e, GPtrArray *const *lists) {
  const rw_situation *sit = e->sit;
  bool src_rules = sit->source != NULL &&
                   cnf_channel_flag(sit->source, "rules", "norules", true);
  bool dst_rules =
      sit->destination != NULL &&
      cnf_channel_flag(sit->destination, "rules", "norules", true);
  for (int i = 0; i < 4; i++) {
    const GPtrArray *l = lists[i];
    if (l == NULL || l->len == 0)
      continue;
    bool is_src = i < 2;
    if (is_src ? !src_rules : !dst_rules)
      continue;
    const char *name = is_src ? sit->source->name : sit->destination->name;
    bool any = false;
    for (guint j = 0; j < l->len; j++)
      any = any || channel_matches(l->pdata[j], name);
    bool must_match = i == 0 || i == 2; /* $M, $Q */
    if (any != must_match) {
      trace(e, "$%c%s: %s channel is %s; rule fails", chan_ctl[i],
            (char *)l->pdata[0], is_src ? "source" : "destination", name);
      return false;
    }
  }
  return true;
}

/* static_checks - controls known at compile time */
static bool static_checks(ev *e, const rw_tmpl *t) {
  unsigned c = t->ctl, f = e->sit->flags;
  const char *why = NULL;
  if ((c & RW_CTL_E) && !(f & REWRITE_ENVELOPE))
    why = "$E: not an envelope address";
  else if ((c & RW_CTL_B) && !(f & REWRITE_HEADER))
    why = "$B: not a header address";
  else if ((c & RW_CTL_F) && !(f & REWRITE_TO))
    why = "$F: not a forward-pointing address";
  else if ((c & RW_CTL_R) && !(f & REWRITE_FROM))
    why = "$R: not a backward-pointing address";
  else if ((c & RW_CTL_REPROC) && !(f & REWRITE_REPROCESS))
    why = "$1M: not reprocessing";
  else if ((c & RW_CTL_NOREPROC) && (f & REWRITE_REPROCESS))
    why = "$1N: reprocessing";
  else if (c & RW_CTL_LOC_ANY) {
    unsigned bit = e->sit->location == 'A'   ? RW_CTL_LOC_A
                   : e->sit->location == 'P' ? RW_CTL_LOC_P
                   : e->sit->location == 'S' ? RW_CTL_LOC_S
                                             : RW_CTL_LOC_X;
    if (!(c & bit))
      why = "host location ($A $P $S $X) does not match";
  }
  if (why != NULL) {
    trace(e, "%s; rule fails", why);
    return false;
  }
  return channel_checks(e, (GPtrArray *const *)t->chan);
}

/* take_arg - the text of a control's argument: tokens after index I up to
 * a separator or another control; advances *I */
static bool take_arg(ev *e, const rt_tok *const *toks, guint n, guint *i,
                     GString *arg) {
  char saved = e->case_mode;
  e->case_mode = 0;
  bool ok = true;
  while (*i + 1 < n) {
    const rt_tok *k = toks[*i + 1];
    if (k->kind == RT_SEP || k->kind == RT_CTL || k->kind == RT_CTLARG)
      break;
    (*i)++;
    if (k->kind == RT_LIT)
      emit(e, arg, k->text, strlen(k->text), false);
    else if (k->kind == RT_SUB)
      ok = substitute(e, k, arg) && ok;
    else if (k->kind == RT_CASE)
      e->case_mode = k->c;
  }
  e->case_mode = saved;
  return ok;
}

/* domain_check - $V / $Z */
static int domain_check(ev *e, char c, const char *domain) {
  char *error = NULL;
  int rc = domain_is_local(domain, &error);
  if (rc < 0) {
    *e->error_r = g_strdup_printf("$%c%s: %s", c, domain,
                                  error != NULL ? error
                                                : "domain lookup failed");
    g_free(error);
    trace(e, "$%c%s: temporary failure", c, domain);
    return RW_TEMPFAIL;
  }
  g_free(error);
  bool local = rc == 1;
  trace(e, "$%c%s: %s", c, domain,
        local ? "a domain hosted here" : "not a domain hosted here");
  if (local != (c == 'V')) {
    trace(e, "rule fails");
    return RW_FAILED;
  }
  return RW_APPLIED;
}

/* assemble - cut the evaluated text (parts ending at CUTS) into the
 * template form */
static int assemble(ev *e, const GString *buf, const size_t *cuts,
                    const char *seps, unsigned nsep, rw_outcome *out) {
  const char *form = NULL;
  if (nsep == 0)
    form = "the template produced no routing host";
  else if (nsep > 3)
    form = "the template produced too many '@'";
  for (unsigned i = 1; form == NULL && i < nsep; i++)
    if (seps[i] != '@')
      form = "misplaced '%' in the template's result";
  if (form != NULL) {
    *e->error_r = g_strdup(form);
    return RW_MALFORMED;
  }
  char *p[4] = {NULL, NULL, NULL, NULL};
  size_t from = 0;
  for (unsigned i = 0; i <= nsep; i++) {
    size_t to = i < nsep ? cuts[i] : buf->len;
    p[i] = g_strndup(buf->str + from, to - from);
    from = to;
  }
  out->user = p[0];
  out->host = p[1];
  if (seps[0] == '%') {
    out->repeat = nsep == 1;
    if (nsep == 2) {
      out->routing = p[2];
    } else if (nsep == 3) {
      out->route = p[2];
      out->routing = p[3];
    }
  } else if (nsep == 1) {
    out->routing = g_strdup(p[1]);
  } else {
    out->route = p[2];
    out->routing = nsep == 3 ? p[3] : g_strdup(p[2]);
  }
  if (*out->host == '\0' || (out->routing != NULL && *out->routing == '\0') ||
      (out->route != NULL && *out->route == '\0')) {
    *e->error_r = g_strdup("the template produced an empty host");
    return RW_MALFORMED;
  }
  return RW_APPLIED;
}

/* Tokens evaluated without call-outs are read in place; at most this
 * many, else they are copied to the heap. */
#define FLAT_STACK 64

int rw_tmpl_eval(const rw_tmpl *t, const rw_subst *s, const rw_situation *sit,
                 rw_outcome *out, char **error_r) {
  ev e = {.s = s, .sit = sit, .error_r = error_r};
  const rt_tok *stack[FLAT_STACK];
  const rt_tok *const *toks = stack;
  guint ntoks = 0;
  GPtrArray *flat = NULL;
  GPtrArray *lists[4] = {NULL, NULL, NULL, NULL};
  GPtrArray *domains = NULL;
  GString *buf = g_string_sized_new(64), *arg = NULL;
  size_t cuts[8];
  char seps[8];
  unsigned nsep = 0, ctl = 0;
  int rc = RW_APPLIED;
  bool error_only = true;

  memset(out, 0, sizeof(*out));
  if (!static_checks(&e, t)) {
    rc = RW_FAILED;
    goto done;
  }
  if (t->callouts || t->toks->len > FLAT_STACK) {
    flat = g_ptr_array_new();
    rc = flatten(&e, t, flat, 0);
    if (rc != RW_APPLIED)
      goto done;
    toks = (const rt_tok *const *)flat->pdata;
    ntoks = flat->len;
  } else {
    for (guint i = 0; i < t->toks->len; i++)
      stack[ntoks++] = &g_array_index(t->toks, rt_tok, i);
  }
  for (guint i = 0; i < ntoks && rc == RW_APPLIED; i++) {
    const rt_tok *k = toks[i];
    switch (k->kind) {
    case RT_LIT:
      emit(&e, buf, k->text, strlen(k->text), false);
      error_only = false;
      break;
    case RT_SEP:
      if (nsep < G_N_ELEMENTS(seps)) {
        seps[nsep] = k->c;
        cuts[nsep] = buf->len;
      }
      nsep++;
      error_only = false;
      break;
    case RT_SUB:
      error_only = false;
      if (!substitute(&e, k, buf))
        rc = RW_FAILED;
      break;
    case RT_CASE:
      e.case_mode = k->c;
      break;
    case RT_LDAPQ:
      e.ldap_quote = true;
      break;
    case RT_CTL: {
      static const char letters[] = "EBFRAPSXmn";
      const char *pos = strchr(letters, k->c);
      if (pos != NULL)
        ctl |= 1u << (pos - letters);
      break;
    }
    case RT_CTLARG: {
      if (arg == NULL)
        arg = g_string_new(NULL);
      g_string_truncate(arg, 0);
      if (!take_arg(&e, toks, ntoks, &i, arg)) {
        rc = RW_FAILED;
        break;
      }
      const char *idx = strchr(chan_ctl, k->c);
      if (idx != NULL) {
        int n = (int)(idx - chan_ctl);
        if (lists[n] == NULL)
          lists[n] = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(lists[n], g_strdup(arg->str));
      } else if (k->c == 'T') {
        g_free(out->new_tag);
        out->new_tag = g_strdup(arg->str);
      } else if (k->c == '?') {
        g_free(out->error_text);
        out->error_text = g_strdup(arg->str);
        g_strlcpy(out->error_code, k->code, sizeof(out->error_code));
      } else {
        if (domains == NULL)
          domains = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(domains, g_strdup_printf("%c%s", k->c, arg->str));
      }
      if (k->c != '?')
        error_only = false;
      break;
    }
    default:
      break;
    }
  }
  if (rc != RW_APPLIED)
    goto done;
  /* controls that arrived in call-out results */
  rw_tmpl dyn = {.ctl = ctl};
  memcpy(dyn.chan, lists, sizeof(lists));
  if ((ctl != 0 || lists[0] || lists[1] || lists[2] || lists[3]) &&
      !static_checks(&e, &dyn)) {
    rc = RW_FAILED;
    goto done;
  }
  for (guint i = 0; domains != NULL && i < domains->len && rc == RW_APPLIED;
       i++) {
    const char *d = domains->pdata[i];
    rc = domain_check(&e, d[0], d + 1);
  }
  if (rc != RW_APPLIED)
    goto done;
  if (error_only && out->error_text != NULL && nsep == 0) {
    out->error_only = true;
    goto done;
  }
  if (nsep > G_N_ELEMENTS(seps))
    nsep = G_N_ELEMENTS(seps);
  rc = assemble(&e, buf, cuts, seps, nsep, out);

done:
  if (rc != RW_APPLIED)
    rw_outcome_clear(out);
  for (int i = 0; i < 4; i++)
    if (lists[i] != NULL)
      g_ptr_array_free(lists[i], TRUE);
  if (domains != NULL)
    g_ptr_array_free(domains, TRUE);
  if (flat != NULL)
    g_ptr_array_free(flat, TRUE);
  if (e.owned != NULL)
    g_ptr_array_free(e.owned, TRUE);
  g_string_free(buf, TRUE);
  if (arg != NULL)
    g_string_free(arg, TRUE);
  return rc;
}
