/*
 * rewrite.c - rewrite one address with the rules (see rewrite.h)
 */
#include "build-config.h"
#include "rewrite.h"
#include "addr/addr.h"
#include <cursus/common.h>

#include <string.h>

/* The address being rewritten. */
typedef struct rw_addr {
  GPtrArray *route; /* char* hosts */
  char *local;      /* decoded local part */
  bool quoted;
  char *domain;     /* NULL when none */
} rw_addr;

/* The host spec taken from it. */
typedef struct extraction {
  char loc;        /* 'S', 'A', 'P', 'X' */
  char *host;
  char *user;      /* $U */
  char *rest;      /* P/X: the local part without this host */
  bool more;       /* other host specs remain */
  bool appended;   /* the host completes a bare local part */
} extraction;

typedef struct rw_state {
  const rewrite_env *env;
  const rewrite_params *p;
  rw_addr a;
  char *text;    /* the address as it stands (for $A in URLs) */
  GString *key;  /* lookup key being built */
  char *tag;     /* lower case */
  char *err_text;
  char err_code[12];
  bool bangs, bang_first;
  char **error_r;
} rw_state;

const char *rewrite_flags_string(unsigned flags) {
  bool env = flags & REWRITE_ENVELOPE;
  bool from = flags & REWRITE_FROM;
  return env ? (from ? "envelope From" : "envelope To")
             : (from ? "header From" : "header To");
}

void rewrite_result_clear(rewrite_result *r) {
  g_free(r->address);
  g_free(r->host);
  g_free(r->error);
  memset(r, 0, sizeof(*r));
}

static void trace(const rw_state *st, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void trace(const rw_state *st, const char *fmt, ...) {
  if (st->p->trace == NULL)
    return;
  va_list args;
  va_start(args, fmt);
  g_string_append(st->p->trace, "  ");
  g_string_append_vprintf(st->p->trace, fmt, args);
  g_string_append_c(st->p->trace, '\n');
  va_end(args);
}

static void extraction_clear(extraction *x) {
  g_free(x->host);
  g_free(x->user);
  g_free(x->rest);
  memset(x, 0, sizeof(*x));
}

static void addr_clear(rw_addr *a) {
  if (a->route != NULL)
    g_ptr_array_free(a->route, TRUE);
  g_free(a->local);
  g_free(a->domain);
  memset(a, 0, sizeof(*a));
}

static char *addr_text(const rw_addr *a) {
  addr tmp = {.local = a->local, .quoted = a->quoted, .domain = a->domain};
  GPtrArray *r = a->route;
  if (r != NULL && r->len > 0) {
    g_ptr_array_add(r, NULL);
    tmp.route = (char **)r->pdata;
  }
  char *s = addr_format(&tmp);
  if (tmp.route != NULL)
    g_ptr_array_remove_index(r, r->len - 1);
  return s;
}

/* percent_pos - the last single '%' of LOCAL with text on both sides */
static gssize percent_pos(const char *local) {
  gssize n = (gssize)strlen(local), found = -1;
  for (gssize i = 1; i + 1 < n; i++)
    if (local[i] == '%' && local[i - 1] != '%' && local[i + 1] != '%')
      found = i;
  return found;
}

/* bang_pos - the first '!' of LOCAL with text on both sides */
static gssize bang_pos(const char *local) {
  const char *b = strchr(local, '!');
  if (b == NULL || b == local || b[1] == '\0')
    return -1;
  return b - local;
}

static bool has_route_in_local(const rw_state *st, const char *local,
                               bool quoted) {
  return !quoted && (percent_pos(local) >= 0 ||
                     (st->bangs && bang_pos(local) >= 0));
}

/* format_user - $U: the local part, quoted when it must be (and when
 * quotes keep a '%' or '!' from routing) */
static char *format_user(const char *local, bool quoted) {
  return addr_format_local(local, quoted && (strchr(local, '%') != NULL ||
                                             strchr(local, '!') != NULL));
}

/* default_host - what completes a bare local part */
static const char *default_host(const rw_state *st) {
  const cnf_kw *k =
      st->p->source != NULL ? cnf_channel_kw(st->p->source, "defaulthost")
                            : NULL;
  if (k != NULL && k->values->len > 0)
    return k->values->pdata[0];
  return st->env->local_host;
}

/* extract - the first host spec of the address */
static bool extract(rw_state *st, extraction *x) {
  rw_addr *a = &st->a;
  memset(x, 0, sizeof(*x));
  if (a->route != NULL && a->route->len > 0) {
    x->loc = 'S';
    x->host = g_strdup(a->route->pdata[0]);
    x->user = format_user(a->local, a->quoted);
    x->more = true;
    return true;
  }
  if (a->domain != NULL) {
    x->loc = 'A';
    x->host = g_strdup(a->domain);
    x->user = format_user(a->local, a->quoted);
    x->more = has_route_in_local(st, a->local, a->quoted);
    return true;
  }
  gssize pp = a->quoted ? -1 : percent_pos(a->local);
  gssize bp = a->quoted || !st->bangs ? -1 : bang_pos(a->local);
  char which = 0;
  if (st->bang_first)
    which = bp >= 0 ? 'X' : pp >= 0 ? 'P' : 0;
  else
    which = pp >= 0 ? 'P' : bp >= 0 ? 'X' : 0;
  if (which == 0) {
    x->loc = 'A';
    x->host = g_ascii_strdown(default_host(st), -1);
    x->user = format_user(a->local, a->quoted);
    x->appended = true;
    return true;
  }
  char *raw_host, *rest;
  if (which == 'P') {
    raw_host = g_strdup(a->local + pp + 1);
    rest = g_strndup(a->local, (gsize)pp);
  } else {
    raw_host = g_strndup(a->local, (gsize)bp);
    rest = g_strdup(a->local + bp + 1);
  }
  char *canon = NULL, *why = NULL;
  if (addr_domain_check(raw_host, strlen(raw_host), ADDR_UTF8, &canon, &why) !=
      CURSUS_OK) {
    *st->error_r = g_strdup_printf("5.1.3 invalid host \"%s\" in the local "
                                   "part: %s",
                                   raw_host, why);
    g_free(why);
    g_free(raw_host);
    g_free(rest);
    return false;
  }
  g_free(raw_host);
  x->loc = which;
  x->host = canon;
  x->rest = rest;
  x->user = g_strdup(rest);
  x->more = has_route_in_local(st, rest, false);
  return true;
}

/* decode_user - the local part a template produced */
static void decode_user(const char *text, char **local_r, bool *quoted_r) {
  size_t n = strlen(text);
  if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
    GString *s = g_string_new(NULL);
    for (size_t i = 1; i + 1 < n; i++) {
      if (text[i] == '\\' && i + 2 < n)
        i++;
      g_string_append_c(s, text[i]);
    }
    *local_r = g_string_free(s, FALSE);
    *quoted_r = true;
    return;
  }
  *local_r = g_strdup(text);
  *quoted_r = false;
}

/* where - "imta.cnf:12" for messages (a per-thread buffer) */
static const char *where(const rw_rule *rule) {
  static __thread char buf[256];
  if (rule == NULL)
    return "direct routing";
  g_snprintf(buf, sizeof(buf), "%s:%u", rule->file, rule->line);
  return buf;
}

/* canon_host - a host a template produced, checked and in lower case */
static char *canon_host(rw_state *st, const char *host, const rw_rule *rule) {
  char *canon = NULL, *why = NULL;
  if (addr_domain_check(host, strlen(host), ADDR_UTF8, &canon, &why) !=
      CURSUS_OK) {
    *st->error_r = g_strdup_printf("5.1.2 rule %s produced the invalid "
                                   "host \"%s\": %s",
                                   where(rule), host, why);
    g_free(why);
    return NULL;
  }
  return canon;
}

/* replace - put the template's user and host in place of the spec */
static bool replace(rw_state *st, const extraction *x, const rw_outcome *o,
                    const rw_rule *rule) {
  char *host = canon_host(st, o->host, rule);
  char *route = o->route != NULL ? canon_host(st, o->route, rule) : NULL;
  if (host == NULL || (o->route != NULL && route == NULL)) {
    g_free(host);
    g_free(route);
    return false;
  }
  rw_addr *a = &st->a;
  g_free(a->local);
  decode_user(o->user, &a->local, &a->quoted);
  if (*a->local == '\0' && !a->quoted) {
    *st->error_r = g_strdup_printf("5.1.3 rule %s produced an empty local "
                                   "part",
                                   where(rule));
    g_free(host);
    g_free(route);
    return false;
  }
  if (x->loc == 'S') {
    g_free(a->route->pdata[0]);
    a->route->pdata[0] = host;
  } else {
    g_free(a->domain);
    a->domain = host;
  }
  if (route != NULL) {
    if (a->route == NULL)
      a->route = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_insert(a->route, 0, route);
  }
  return true;
}

/* collapse - drop the spec just rewritten (it routes through here) */
static void collapse(rw_state *st, const extraction *x) {
  rw_addr *a = &st->a;
  switch (x->loc) {
  case 'S':
    g_ptr_array_remove_index(a->route, 0);
    break;
  case 'A':
    g_free(a->domain);
    a->domain = NULL;
    break;
  default:
    g_free(a->local);
    a->local = g_strdup(x->rest);
    a->quoted = false;
    break;
  }
}

typedef struct scan_out {
  const rw_rule *rule;
  rw_outcome o;
} scan_out;

/* try_key - the rules of PATTERN (with the tag); RW_APPLIED, RW_FAILED
 * (none applies), or an error */
static int try_key(rw_state *st, const extraction *x, const char *pattern,
                   const char *h, const char *d, const char *l, scan_out *so) {
  GString *key = st->key;
  g_string_assign(key, st->tag);
  g_string_append(key, pattern);
  for (gsize i = 0; i < key->len; i++)
    key->str[i] = g_ascii_tolower(key->str[i]);
  GPtrArray *rules = g_hash_table_lookup(st->env->rules->by_key, key->str);
  if (rules == NULL)
    return RW_FAILED;
  const char *address = st->text;
  rw_subst s = {.user = x->user,
                .local = x->loc == 'P' || x->loc == 'X' ? x->rest
                                                        : st->a.local,
                .host = x->host,
                .h = h,
                .d = d,
                .l = l,
                .address = address};
  rw_situation sit = {.flags = st->p->flags,
                      .location = x->loc,
                      .source = st->p->source,
                      .destination = st->p->destination,
                      .maps = st->env->maps,
                      .sources = st->env->sources,
                      .trace = st->p->trace};
  int rc = RW_FAILED;
  for (guint i = 0; i < rules->len; i++) {
    const rw_rule *r = rules->pdata[i];
    trace(st, "  try %s (%s:%u) %s", r->pattern, r->file, r->line,
          r->template_text);
    char *error = NULL;
    rc = rw_tmpl_eval(r->tmpl, &s, &sit, &so->o, &error);
    if (rc == RW_APPLIED) {
      so->rule = r;
      break;
    }
    rw_outcome_clear(&so->o);
    if (rc == RW_TEMPFAIL) {
      *st->error_r = g_strdup_printf("4.4.3 rule %s:%u: %s", r->file,
                                     r->line, error);
      g_free(error);
      break;
    }
    if (rc == RW_MALFORMED) {
      *st->error_r = g_strdup_printf("5.3.5 rule %s:%u: %s", r->file,
                                     r->line, error);
      g_free(error);
      break;
    }
    g_free(error);
  }
  return rc;
}

/* scan_literal - [a.b.c.d] [a.b.c.] [a.b.] [a.] [] */
static int scan_literal(rw_state *st, const extraction *x, scan_out *so) {
  const char *host = x->host;
  int rc = try_key(st, x, host, "", host, "", so);
  char *inner = g_strndup(host + 1, strlen(host) - 2);
  if (g_ascii_strncasecmp(inner, "IPv6:", 5) != 0) {
    char **octets = g_strsplit(inner, ".", -1);
    guint n = g_strv_length(octets);
    for (guint k = n - 1; k >= 1 && k < n && rc == RW_FAILED; k--) {
      char *kept = g_strjoinv(".", (char **)octets + 0);
      char *cut = kept;
      for (guint i = 0; i < k; i++)
        cut = strchr(cut, '.') + 1;
      char *pattern = g_strdup_printf("[%.*s]", (int)(cut - kept), kept);
      rc = try_key(st, x, pattern, "", pattern, cut, so);
      g_free(pattern);
      g_free(kept);
    }
    g_strfreev(octets);
  }
  if (rc == RW_FAILED)
    rc = try_key(st, x, "[]", "", "[]", inner, so);
  g_free(inner);
  return rc;
}

/* scan_name - a host name: '*' labels and leading dots, then "*.*..." */
static int scan_name(rw_state *st, const extraction *x, scan_out *so) {
  const char *host = x->host;
  size_t n = strlen(host);
  char h[ADDR_DOMAIN_MAX + 1];
  /* "*." per dropped label, then the rest of the host */
  char star[2 * ADDR_DOMAIN_MAX + 2];
  size_t stars = 0;
  int rc = RW_FAILED; /* the host itself was tried by scan */
  if (n > ADDR_DOMAIN_MAX)
    return rc;
  for (const char *dot = strchr(host, '.'); dot != NULL && rc == RW_FAILED;
       dot = strchr(dot + 1, '.')) {
    size_t hl = (size_t)(dot - host);
    memcpy(h, host, hl);
    h[hl] = '\0';
    memcpy(star + stars, "*.", 2);
    stars += 2;
    memcpy(star + stars, dot + 1, n - hl);
    rc = try_key(st, x, star, h, dot, "", so);
    if (rc == RW_FAILED)
      rc = try_key(st, x, dot, h, dot, "", so);
  }
  if (rc == RW_FAILED) {
    star[stars] = '*';
    star[stars + 1] = '\0';
    rc = try_key(st, x, star, host, "", "", so);
  }
  return rc;
}

/* direct - route to a channel host name as it is ("joe+INBOX@ims-ms-
 * daemon" from an expansion): the form A@B */
static int direct(rw_state *st, const extraction *x, scan_out *so) {
  if (*st->tag != '\0' ||
      imtacnf_channel_by_host(st->env->imta, x->host) == NULL)
    return RW_FAILED;
  trace(st, "  %s is a channel host name: routed to it as it is", x->host);
  so->rule = NULL;
  so->o.user = g_strdup(x->user);
  so->o.host = g_strdup(x->host);
  so->o.routing = g_strdup(x->host);
  return RW_APPLIED;
}

/* scan - find the rule for the extracted host */
static int scan(rw_state *st, const extraction *x, scan_out *so) {
  int rc = try_key(st, x, "$*", x->host, "", "", so);
  bool percent = x->loc == 'P' ||
                 (x->loc == 'A' && !st->a.quoted &&
                  percent_pos(st->a.local) >= 0);
  bool bang = st->bangs && (x->loc == 'X' || (x->loc == 'A' && !st->a.quoted &&
                                              bang_pos(st->a.local) >= 0));
  if (rc == RW_FAILED && percent)
    rc = try_key(st, x, "$%", x->host, "", "", so);
  if (rc == RW_FAILED && bang)
    rc = try_key(st, x, "$!", x->host, "", "", so);
  if (rc == RW_FAILED && x->host[0] == '[')
    rc = scan_literal(st, x, so);
  else if (rc == RW_FAILED) {
    rc = try_key(st, x, x->host, "", x->host, "", so);
    if (rc == RW_FAILED)
      rc = direct(st, x, so);
    if (rc == RW_FAILED)
      rc = scan_name(st, x, so);
  }
  if (rc == RW_FAILED)
    rc = try_key(st, x, ".", x->host, ".", "", so);
  return rc;
}

static const char *location_name(const extraction *x) {
  if (x->appended)
    return "completing a bare local part";
  switch (x->loc) {
  case 'S':
    return "from the source route";
  case 'A':
    return "after '@'";
  case 'P':
    return "after '%'";
  default:
    return "before '!'";
  }
}

/* fail - finish with an error (the sticky $? text when there is one) */
static int fail(rw_state *st, rewrite_result *r, int status, char *error) {
  if (status == CURSUS_PERMFAIL && st->err_text != NULL) {
    g_free(error);
    error = g_strdup_printf("%s %s", st->err_code, st->err_text);
  }
  /* an error text may carry a temporary status ($4004000?...) */
  if (error != NULL && error[0] == '4')
    status = CURSUS_TEMPFAIL;
  r->status = status;
  r->error = error;
  trace(st, "error: %s", error);
  return status;
}

/* step - one extraction and rule; 1 to go on, 0 done, <0 failed */
static int step(rw_state *st, rewrite_result *r) {
  extraction x;
  char *error = NULL;
  st->error_r = &error;
  if (!extract(st, &x))
    return fail(st, r, CURSUS_PERMFAIL, error);
  trace(st, "host %s (%s), user %s%s%s%s", x.host, location_name(&x), x.user,
        *st->tag != '\0' ? ", tag \"" : "", st->tag,
        *st->tag != '\0' ? "\"" : "");
  scan_out so = {0};
  int rc = scan(st, &x, &so);
  if (rc == RW_TEMPFAIL || rc == RW_MALFORMED) {
    extraction_clear(&x);
    return fail(st, r, rc == RW_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_PERMFAIL,
                error);
  }
  if (rc == RW_FAILED) {
    char *msg = g_strdup_printf("5.1.2 %s: no rewrite rule matches this host "
                                "(illegal host/domain)",
                                x.host);
    extraction_clear(&x);
    return fail(st, r, CURSUS_PERMFAIL, msg);
  }
  rw_outcome *o = &so.o;
  r->rule = so.rule;
  if (o->error_text != NULL) {
    g_free(st->err_text);
    st->err_text = g_strdup(o->error_text);
    g_strlcpy(st->err_code, o->error_code, sizeof(st->err_code));
  }
  if (o->new_tag != NULL) {
    g_free(st->tag);
    st->tag = g_ascii_strdown(o->new_tag, -1);
    trace(st, "  tag is now \"%s\"", st->tag);
  }
  if (o->error_only) {
    char *msg = g_strdup_printf("%s %s", o->error_code, o->error_text);
    rw_outcome_clear(o);
    extraction_clear(&x);
    g_free(st->err_text);
    st->err_text = NULL;
    return fail(st, r, CURSUS_PERMFAIL, msg);
  }
  if (o->repeat) {
    trace(st, "  -> %s%%%s: rewrite again", o->user, o->host);
    bool ok = replace(st, &x, o, so.rule);
    rw_outcome_clear(o);
    extraction_clear(&x);
    return ok ? 1 : fail(st, r, CURSUS_PERMFAIL, error);
  }
  const cnf_channel *ch = imtacnf_channel_by_host(st->env->imta, o->routing);
  if (ch == NULL) {
    char *msg = g_strdup_printf("5.1.2 %s: the routing host %s of rule %s "
                                "names no channel (illegal host/domain)",
                                x.host, o->routing, where(so.rule));
    rw_outcome_clear(o);
    extraction_clear(&x);
    return fail(st, r, CURSUS_PERMFAIL, msg);
  }
  bool through_here =
      ch == st->env->imta->channels->pdata[0] || cnf_channel_has(ch, "routelocal");
  if (through_here && x.more) {
    trace(st, "  -> routing host %s is channel %s and more hosts follow: "
              "drop %s, rewrite the rest",
          o->routing, ch->name, x.host);
    collapse(st, &x);
    rw_outcome_clear(o);
    extraction_clear(&x);
    return 1;
  }
  if (!replace(st, &x, o, so.rule)) {
    rw_outcome_clear(o);
    extraction_clear(&x);
    return fail(st, r, CURSUS_PERMFAIL, error);
  }
  r->address = addr_text(&st->a);
  r->host = g_ascii_strdown(o->routing, -1);
  r->channel = ch;
  r->status = CURSUS_OK;
  trace(st, "  -> %s via %s: channel %s", r->address, r->host, ch->name);
  rw_outcome_clear(o);
  extraction_clear(&x);
  return 0;
}

int rewrite_address(const rewrite_env *env, const char *address,
                    const rewrite_params *p, rewrite_result *r) {
  rw_state st = {.env = env, .p = p};
  addr *parsed = NULL;
  char *why = NULL;
  memset(r, 0, sizeof(*r));
  st.tag = g_ascii_strdown(p->tag != NULL ? p->tag : "", -1);
  st.key = g_string_sized_new(128);
  bool bop = p->source != NULL && cnf_channel_flag(p->source, "bangoverpercent",
                                                       "nobangoverpercent", false);
  st.bangs = (env->bang_paths || bop) &&
             !(p->source != NULL && cnf_channel_has(p->source, "percentonly"));
  st.bang_first = bop;

  if (p->trace != NULL)
    g_string_append_printf(p->trace, "rewriting %s (%s%s%s)\n", address,
                           rewrite_flags_string(p->flags),
                           p->source != NULL ? ", source channel " : "",
                           p->source != NULL ? p->source->name : "");
  if (addr_parse(address, -1, ADDR_ROUTE | ADDR_BARE | ADDR_UTF8, &parsed,
                 &why) != CURSUS_OK) {
    char *msg = g_strdup_printf("5.1.3 bad address syntax: %s", why);
    g_free(why);
    int rc = fail(&st, r, CURSUS_PERMFAIL, msg);
    g_free(st.tag);
    return rc;
  }
  st.a.local = g_strdup(parsed->local);
  st.a.quoted = parsed->quoted;
  st.a.domain = g_strdup(parsed->domain);
  if (parsed->route != NULL) {
    st.a.route = g_ptr_array_new_with_free_func(g_free);
    for (char **h = parsed->route; *h != NULL; h++)
      g_ptr_array_add(st.a.route, g_strdup(*h));
  }
  addr_free(&parsed);

  /* states seen: most addresses take one step, so the set is made on
   * the second */
  GHashTable *seen = NULL;
  char *first = NULL;
  unsigned max = env->max_rewrites > 0 ? env->max_rewrites
                                       : REWRITE_DEFAULT_MAX;
  int rc = 1;
  for (unsigned n = 0; rc > 0; n++) {
    st.text = addr_text(&st.a);
    char *state = g_strconcat(st.tag, "\n", st.text, NULL);
    bool again = first != NULL && (seen != NULL
                                       ? g_hash_table_contains(seen, state)
                                       : strcmp(first, state) == 0);
    if (n >= max) {
      rc = fail(&st, r, CURSUS_PERMFAIL,
                g_strdup_printf("5.4.6 rewriting %s did not end after %u "
                                "steps (rule loop)",
                                address, max));
    } else if (again) {
      rc = fail(&st, r, CURSUS_PERMFAIL,
                g_strdup_printf("5.4.6 rewrite loop: %s comes back to %s "
                                "(rule %s)",
                                address, st.text, where(r->rule)));
    } else {
      if (first == NULL) {
        first = g_strdup(state);
      } else {
        if (seen == NULL) {
          seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_add(seen, g_strdup(first));
        }
        g_hash_table_add(seen, g_strdup(state));
      }
      rc = step(&st, r);
    }
    g_free(state);
    g_free(st.text);
    st.text = NULL;
  }
  if (seen != NULL)
    g_hash_table_destroy(seen);
  g_free(first);
  g_string_free(st.key, TRUE);
  addr_clear(&st.a);
  g_free(st.tag);
  g_free(st.err_text);
  return r->status;
}
