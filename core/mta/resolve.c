/*
 * resolve.c - from an address to queue entries (see resolve.h)
 */
#include "build-config.h"
#include "resolve.h"
#include "addr/addr.h"
#include "addr/addrlist.h"
#include "expand.h"
#include "mtacfg.h"

#include <string.h>

static void entry_free(void *p) {
  resolve_entry *e = p;
  g_free(e->address);
  g_free(e->channel);
  g_free(e->host);
  g_free(e->errors_to);
  g_free(e->via);
  g_free(e);
}

void resolve_result_init(resolve_result *r) {
  memset(r, 0, sizeof(*r));
  r->entries = g_ptr_array_new_with_free_func(entry_free);
  r->notes = g_ptr_array_new_with_free_func(g_free);
}

void resolve_result_clear(resolve_result *r) {
  g_free(r->error);
  g_free(r->rewritten);
  g_free(r->channel);
  g_free(r->host);
  if (r->entries != NULL)
    g_ptr_array_free(r->entries, TRUE);
  if (r->notes != NULL)
    g_ptr_array_free(r->notes, TRUE);
  memset(r, 0, sizeof(*r));
}

/* smtp_code_for - the reply code an error text calls for */
static int smtp_code_for(int status, const char *error) {
  if (status == CURSUS_OK)
    return 250;
  if (status == CURSUS_TEMPFAIL || (error != NULL && error[0] == '4'))
    return 451;
  if (error != NULL && g_str_has_prefix(error, "5.1.3"))
    return 553;
  return 550;
}

static void tracef(const resolve_params *p, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void tracef(const resolve_params *p, const char *fmt, ...) {
  if (p->trace == NULL)
    return;
  va_list args;
  va_start(args, fmt);
  g_string_append_vprintf(p->trace, fmt, args);
  g_string_append_c(p->trace, '\n');
  va_end(args);
}

/* Everything one resolution carries along. */
typedef struct resolving {
  const mtacfg *m;
  const resolve_params *p;
  const cnf_channel *source;
  resolve_result *res;
  GHashTable *queued;  /* "address\nchannel" of entries made */
  GPtrArray *chain;    /* addresses being expanded (loop guard) */
  int status;          /* worst failure of members */
  char *first_error;
} resolving;

/* source_channel - P's source channel, or NULL with *error_r */
static const cnf_channel *source_channel(const mtacfg *m,
                                         const resolve_params *p,
                                         char **error_r) {
  const cnf_channel *ch = mtacfg_channel(m, p->source_channel);
  if (ch == NULL)
    *error_r = g_strdup_printf("4.3.5 source channel %s is not defined in "
                               "imta.cnf",
                               p->source_channel);
  return ch;
}

/* proper_name - an envelope recipient on a channel's secondary host name
 * takes the host's routing name, or the channel's official name */
static char *proper_name(const cnf_channel *ch, const char *address) {
  const char *at = strrchr(address, '@');
  if (at == NULL || ch->hosts->len < 2)
    return g_strdup(address);
  for (guint i = 1; i < ch->hosts->len; i++) {
    const cnf_host *h = ch->hosts->pdata[i];
    if (g_ascii_strcasecmp(h->name, at + 1) == 0) {
      const char *to = h->routing != NULL
                           ? h->routing
                           : ((cnf_host *)ch->hosts->pdata[0])->name;
      return g_strdup_printf("%.*s@%s", (int)(at - address), address, to);
    }
  }
  return g_strdup(address);
}

static void add_entry(resolving *rv, const rewrite_result *rw,
                      const char *errors_to, const char *via) {
  char *address = proper_name(rw->channel, rw->address);
  char *key = g_strconcat(address, "\n", rw->channel->name, NULL);
  if (rv->queued == NULL)
    rv->queued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_contains(rv->queued, key)) {
    tracef(rv->p, "  %s on %s: already listed", address, rw->channel->name);
    g_free(key);
    g_free(address);
    return;
  }
  g_hash_table_add(rv->queued, key);
  resolve_entry *e = g_new0(resolve_entry, 1);
  e->address = address;
  e->channel = g_strdup(rw->channel->name);
  e->host = g_strdup(rw->host);
  e->errors_to = g_strdup(errors_to);
  e->via = g_strdup(via);
  g_ptr_array_add(rv->res->entries, e);
  tracef(rv->p, "  queue %s on channel %s (routing host %s)%s%s", e->address,
         e->channel, e->host, via != NULL ? ", expanded from " : "",
         via != NULL ? via : "");
}

/* member_failed - remember a failed member; the worst failure wins */
static void member_failed(resolving *rv, int status, const char *error) {
  if (error != NULL)
    g_ptr_array_add(rv->res->notes, g_strdup(error));
  if (status == CURSUS_TEMPFAIL || rv->status == 0) {
    rv->status = status;
    g_free(rv->first_error);
    rv->first_error = g_strdup(error);
  }
}

static int resolve_address(resolving *rv, const char *address, unsigned depth,
                           const char *errors_to, const char *via);

/* forward - the FORWARD mapping: CURSUS_OK with *to_r when it redirects */
static int forward(resolving *rv, const char *address, char **to_r,
                   char **error_r) {
  if ((rv->p->flags & RESOLVE_NO_MAPPING) ||
      mapset_table(rv->m->maps, "FORWARD") == NULL)
    return CURSUS_NONE;
  map_result r;
  map_result_init(&r);
  map_ctx ctx = {.trace = rv->p->trace, .indent = "  "};
  int rc = mapset_apply(rv->m->maps, "FORWARD", address, &ctx, &r, error_r);
  if (rc == CURSUS_OK && r.matched && map_flags_has(&r.flags, 'Y') &&
      r.out->len > 0 && g_ascii_strcasecmp(r.out->str, address) != 0) {
    *to_r = g_strdup(r.out->str);
    rc = CURSUS_OK;
  } else if (rc == CURSUS_OK) {
    rc = CURSUS_NONE;
  }
  map_result_clear(&r);
  return rc;
}

/* expand - ask the expanders about RW (routed to the local channel or an
 * aliaslocal channel) */
static int expand(resolving *rv, const rewrite_result *rw, unsigned depth,
                  const char *errors_to, const char *via) {
  const mtacfg *m = rv->m;
  bool is_local = rw->channel == mtacfg_local_channel(m);
  if (rv->chain == NULL)
    rv->chain = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < rv->chain->len; i++) {
    if (g_ascii_strcasecmp(rv->chain->pdata[i], rw->address) == 0) {
      GString *loop = g_string_new(NULL);
      for (guint j = i; j < rv->chain->len; j++)
        g_string_append_printf(loop, "%s -> ", (char *)rv->chain->pdata[j]);
      g_string_append(loop, rw->address);
      char *e = g_strdup_printf("5.4.6 expansion loop: %s", loop->str);
      g_string_free(loop, TRUE);
      tracef(rv->p, "  %s", e);
      member_failed(rv, CURSUS_PERMFAIL, e);
      g_free(e);
      return CURSUS_PERMFAIL;
    }
  }
  expand_params ep = {.sender = rv->p->sender != NULL ? rv->p->sender : "",
                      .source_channel = rv->source->name,
                      .auth_user = rv->p->auth_user,
                      .depth = depth};
  expansion x;
  expansion_init(&x);
  char *error = NULL;
  const char *by = NULL;
  int rc = expand_address(rw->address, &ep, &x, &error, &by);
  if (rc == 0) {
    expansion_clear(&x);
    if (!is_local) {
      add_entry(rv, rw, errors_to, via);
      return CURSUS_OK;
    }
    char *e = g_strdup_printf("5.1.1 %s: no such user here", rw->address);
    tracef(rv->p, "  %s (no expander knows it)", e);
    member_failed(rv, CURSUS_PERMFAIL, e);
    g_free(e);
    return CURSUS_PERMFAIL;
  }
  if (rc < 0) {
    if (error == NULL)
      error = g_strdup(rc == CURSUS_TEMPFAIL ? "4.4.3 expansion failed"
                                             : "5.1.1 expansion failed");
    tracef(rv->p, "  expansion by %s failed: %s", by != NULL ? by : "?", error);
    member_failed(rv, rc, error);
    g_free(error);
    expansion_clear(&x);
    return rc;
  }
  tracef(rv->p, "  %s expanded by %s%s%s: %u address%s", rw->address, by,
         x.note != NULL ? ", " : "", x.note != NULL ? x.note : "",
         x.addresses->len, x.addresses->len == 1 ? "" : "es");
  g_ptr_array_add(rv->chain, g_strdup(rw->address));
  const char *eto = x.errors_to != NULL ? x.errors_to : errors_to;
  int worst = CURSUS_OK;
  for (guint i = 0; i < x.addresses->len; i++) {
    int mrc = resolve_address(rv, x.addresses->pdata[i], depth + 1, eto,
                              rw->address);
    if (mrc == CURSUS_TEMPFAIL || (mrc < 0 && worst == CURSUS_OK))
      worst = mrc;
  }
  g_free(g_ptr_array_steal_index(rv->chain, rv->chain->len - 1));
  expansion_clear(&x);
  return worst;
}

/* resolve_address - rewrite ADDRESS and place or expand it */
static int resolve_address(resolving *rv, const char *address, unsigned depth,
                           const char *errors_to, const char *via) {
  const mtacfg *m = rv->m;
  if (depth > m->max_expansion_depth) {
    char *e = g_strdup_printf("5.4.6 %s: expansions nested deeper than %u",
                              address, m->max_expansion_depth);
    tracef(rv->p, "  %s", e);
    member_failed(rv, CURSUS_PERMFAIL, e);
    g_free(e);
    return CURSUS_PERMFAIL;
  }
  rewrite_params rp = {.flags = REWRITE_ENVELOPE | REWRITE_TO |
                                ((rv->p->flags & RESOLVE_REPROCESS)
                                     ? REWRITE_REPROCESS
                                     : 0),
                       .source = rv->source,
                       .tag = depth == 0 ? rv->p->tag : NULL,
                       .trace = rv->p->trace};
  rewrite_result rw;
  int rc = rewrite_address(&m->env, address, &rp, &rw);
  if (rc != CURSUS_OK) {
    member_failed(rv, rc, rw.error);
    rewrite_result_clear(&rw);
    return rc;
  }
  if (depth == 0) {
    rv->res->rewritten = g_strdup(rw.address);
    rv->res->channel = g_strdup(rw.channel->name);
    rv->res->host = g_strdup(rw.host);
  }
  char *to = NULL, *error = NULL;
  int frc = forward(rv, rw.address, &to, &error);
  if (frc == CURSUS_TEMPFAIL) {
    char *e = g_strdup_printf("4.4.3 FORWARD mapping: %s", error);
    member_failed(rv, CURSUS_TEMPFAIL, e);
    g_free(e);
    g_free(error);
    rewrite_result_clear(&rw);
    return CURSUS_TEMPFAIL;
  }
  if (frc == CURSUS_OK) {
    tracef(rv->p, "  FORWARD mapping: %s -> %s", rw.address, to);
    rc = resolve_address(rv, to, depth + 1, errors_to, rw.address);
    g_free(to);
    rewrite_result_clear(&rw);
    return rc;
  }
  bool expandable = rw.channel == mtacfg_local_channel(m) ||
                    cnf_channel_has(rw.channel, "aliaslocal");
  if ((rv->p->flags & RESOLVE_NO_EXPAND) || !expandable)
    add_entry(rv, &rw, errors_to, via);
  else
    rc = expand(rv, &rw, depth, errors_to, via);
  rewrite_result_clear(&rw);
  return rc;
}

int resolve_recipient(const char *address, const resolve_params *p,
                      resolve_result *res) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  char *error = NULL;
  if (res->entries == NULL)
    resolve_result_init(res);
  if (m == NULL) {
    res->status = CURSUS_TEMPFAIL;
    res->error = g_strdup("4.3.5 the address configuration is not loaded");
    res->smtp_code = 451;
    config_unref(&cfg);
    return res->status;
  }
  resolving rv = {.m = m, .p = p, .res = res};
  rv.source = source_channel(m, p, &error);
  if (rv.source == NULL) {
    res->status = CURSUS_TEMPFAIL;
    res->error = error;
    res->smtp_code = 451;
    config_unref(&cfg);
    return res->status;
  }
  int rc = resolve_address(&rv, address, 0, NULL, NULL);
  /* members that failed for good are skipped when others resolved */
  if (res->entries->len > 0 && rv.status != CURSUS_TEMPFAIL)
    rc = CURSUS_OK;
  else if (res->entries->len == 0 && rc == CURSUS_OK && rv.status < 0)
    rc = rv.status;
  if (rv.status == CURSUS_TEMPFAIL)
    rc = CURSUS_TEMPFAIL;
  res->status = rc;
  if (rc != CURSUS_OK) {
    res->error = g_strdup(rv.first_error != NULL ? rv.first_error
                                                 : "5.1.1 address refused");
    g_ptr_array_set_size(res->entries, 0);
  }
  res->smtp_code = smtp_code_for(rc, res->error);
  g_free(rv.first_error);
  if (rv.queued != NULL)
    g_hash_table_destroy(rv.queued);
  if (rv.chain != NULL)
    g_ptr_array_free(rv.chain, TRUE);
  config_unref(&cfg);
  return rc;
}

/* reverse - the REVERSE mapping of a backward-pointing ADDRESS */
static char *reverse(const mtacfg *m, const resolve_params *p,
                     const char *address) {
  if ((p->flags & RESOLVE_NO_MAPPING) ||
      mapset_table(m->maps, "REVERSE") == NULL)
    return NULL;
  map_result r;
  map_result_init(&r);
  map_ctx ctx = {.trace = p->trace, .indent = "  "};
  char *error = NULL, *out = NULL;
  if (mapset_apply(m->maps, "REVERSE", address, &ctx, &r, &error) ==
          CURSUS_OK &&
      r.matched && map_flags_has(&r.flags, 'Y') && r.out->len > 0)
    out = g_strdup(r.out->str);
  g_free(error);
  map_result_clear(&r);
  if (out != NULL)
    tracef(p, "  REVERSE mapping: %s -> %s", address, out);
  return out;
}

/* local_host_alias - the destination channel's name for the local host
 * replaces it (the second word of the channel's official host line) */
static char *local_host_alias(const mtacfg *m, const cnf_channel *dst,
                              char *address) {
  const char *at = strrchr(address, '@');
  if (dst == NULL || at == NULL || dst->hosts->len == 0)
    return address;
  const cnf_host *off = dst->hosts->pdata[0];
  if (off->routing == NULL || m->env.local_host == NULL ||
      g_ascii_strcasecmp(at + 1, m->env.local_host) != 0)
    return address;
  char *out = g_strdup_printf("%.*s@%s", (int)(at - address), address,
                              off->routing);
  g_free(address);
  return out;
}

/* rewrite_one - rewrite ADDRESS with FLAGS for resolve_sender and the
 * header functions */
static int rewrite_one(const mtacfg *m, const char *address, unsigned flags,
                       const resolve_params *p, char **out_r, char **error_r) {
  char *error = NULL;
  const cnf_channel *src = source_channel(m, p, &error);
  if (src == NULL) {
    *error_r = error;
    return CURSUS_TEMPFAIL;
  }
  const cnf_channel *dst =
      p->destination_channel != NULL ? mtacfg_channel(m, p->destination_channel)
                                     : NULL;
  rewrite_params rp = {.flags = flags, .source = src, .destination = dst,
                       .trace = p->trace};
  rewrite_result rw;
  int rc = rewrite_address(&m->env, address, &rp, &rw);
  if (rc != CURSUS_OK) {
    *error_r = g_strdup(rw.error);
    rewrite_result_clear(&rw);
    return rc;
  }
  char *out = g_strdup(rw.address);
  rewrite_result_clear(&rw);
  bool noreverse = !cnf_channel_flag(src, "reverse", "noreverse", true) ||
                   (dst != NULL &&
                    !cnf_channel_flag(dst, "reverse", "noreverse", true));
  if ((flags & REWRITE_FROM) && !noreverse &&
      (!(flags & REWRITE_ENVELOPE) || m->reverse_envelope)) {
    char *rev = reverse(m, p, out);
    if (rev != NULL) {
      g_free(out);
      out = rev;
    }
  }
  *out_r = local_host_alias(m, dst, out);
  return CURSUS_OK;
}

int resolve_sender(const char *address, const resolve_params *p,
                   char **rewritten_r, int *smtp_code_r, char **error_r) {
  if (*address == '\0') {
    *rewritten_r = g_strdup("");
    if (smtp_code_r != NULL)
      *smtp_code_r = 250;
    return CURSUS_OK;
  }
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  int rc;
  char *error = NULL;
  if (m == NULL) {
    error = g_strdup("4.3.5 the address configuration is not loaded");
    rc = CURSUS_TEMPFAIL;
  } else {
    rc = rewrite_one(m, address, REWRITE_ENVELOPE | REWRITE_FROM, p,
                     rewritten_r, &error);
  }
  if (smtp_code_r != NULL)
    *smtp_code_r = smtp_code_for(rc, error);
  if (rc != CURSUS_OK && error != NULL && g_str_has_prefix(error, "5.1.")) {
    /* a sender's address problem is 5.1.7, whatever the rule said */
    char *e = g_strdup_printf("5.1.7%s", error + 5);
    g_free(error);
    error = e;
  }
  if (rc != CURSUS_OK)
    *error_r = error;
  config_unref(&cfg);
  return rc;
}

int resolve_header_address(const char *address, const resolve_params *p,
                           char **rewritten_r, char **error_r) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  int rc;
  if (m == NULL) {
    *error_r = g_strdup("4.3.5 the address configuration is not loaded");
    rc = CURSUS_TEMPFAIL;
  } else {
    unsigned flags = REWRITE_HEADER |
                     ((p->flags & RESOLVE_FROM) ? REWRITE_FROM : REWRITE_TO);
    rc = rewrite_one(m, address, flags, p, rewritten_r, error_r);
  }
  config_unref(&cfg);
  return rc;
}

bool resolve_field_is_backward(const char *name) {
  static const char *const backward[] = {
      "from",          "sender",          "reply-to",    "resent-from",
      "resent-sender", "resent-reply-to", "errors-to",   "return-path",
      "disposition-notification-to",      "return-receipt-to", NULL};
  for (const char *const *b = backward; *b != NULL; b++)
    if (g_ascii_strcasecmp(name, *b) == 0)
      return true;
  return false;
}

typedef struct field_walk {
  const resolve_params *p;
} field_walk;

static char *rewrite_spec(void *data, const char *spec) {
  field_walk *w = data;
  char *out = NULL, *error = NULL;
  if (resolve_header_address(spec, w->p, &out, &error) != CURSUS_OK) {
    if (w->p->trace != NULL)
      g_string_append_printf(w->p->trace, "  %s kept as it is: %s\n", spec,
                             error);
    g_free(error);
    return NULL;
  }
  return out;
}

int resolve_header_field(const char *name, const char *value,
                         const resolve_params *p, char **value_r,
                         char **error_r) {
  resolve_params hp = *p;
  if (resolve_field_is_backward(name))
    hp.flags |= RESOLVE_FROM;
  else
    hp.flags &= ~(unsigned)RESOLVE_FROM;
  field_walk w = {.p = &hp};
  return addrlist_map(value, rewrite_spec, &w, value_r, error_r);
}
