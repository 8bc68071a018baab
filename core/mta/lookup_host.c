/*
 * lookup_host.c - host->lookup for modules (see lookup_host.h)
 */
#include "build-config.h"
#include "lookup_host.h"
#include "addr/addr.h"
#include "mapping/access.h"
#include "module/host.h"
#include "mtacfg.h"
#include "resolve.h"

#include <string.h>

static GPrivate last_error = G_PRIVATE_INIT(g_free);
static GPrivate last_flags = G_PRIVATE_INIT(g_free);

/* keep_error - ERROR (taken) as this thread's last error */
static const char *keep_error(char *error) {
  g_private_replace(&last_error, error);
  return error;
}

static void append(cursus_buf *buf, const char *text, size_t len) {
  const cursus_host *h = host_table();
  if (h->buf_append != NULL) {
    h->buf_append(buf, text, len);
    return;
  }
  if (buf->len + len + 1 > buf->alloc) {
    buf->alloc = MAX(buf->alloc * 2, buf->len + len + 64);
    buf->data = g_realloc(buf->data, buf->alloc);
  }
  memcpy(buf->data + buf->len, text, len);
  buf->len += len;
  buf->data[buf->len] = '\0';
}

static int l_mapping(const char *table, const char *input, cursus_buf *out,
                     const char **flags_r, const char **error_r) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  char *error = NULL;
  int rc = CURSUS_NONE;
  if (m != NULL) {
    map_result r;
    map_result_init(&r);
    rc = mapset_apply(m->maps, table, input, NULL, &r, &error);
    if (rc == CURSUS_OK && r.matched) {
      GString *f = g_string_new(NULL);
      for (unsigned c = 1; c < 256; c++)
        if (map_flags_has(&r.flags, (unsigned char)c))
          g_string_append_c(f, (char)c);
      g_private_replace(&last_flags, g_string_free(f, FALSE));
      if (flags_r != NULL)
        *flags_r = g_private_get(&last_flags);
      append(out, r.out->str, r.out->len);
    } else if (rc == CURSUS_OK) {
      rc = CURSUS_NONE;
    }
    map_result_clear(&r);
  }
  if (rc == CURSUS_TEMPFAIL)
    *error_r = keep_error(error);
  else
    g_free(error);
  config_unref(&cfg);
  return rc;
}

static int l_source_lookup(const char *spec, const char *key, cursus_buf *out,
                           const char **error_r) {
  config *cfg = config_current_ref();
  const mtacfg *m = mtacfg_of(cfg);
  GString *v = g_string_new(NULL);
  char *error = NULL;
  int rc = CURSUS_NONE;
  if (m != NULL)
    rc = strchr(spec, ':') != NULL
             ? srcreg_lookup(m->sources, spec, key, v, &error)
             : srcreg_database(m->sources, spec, key, v, &error);
  if (rc == CURSUS_OK)
    append(out, v->str, v->len);
  else if (rc == CURSUS_TEMPFAIL)
    *error_r = keep_error(error);
  if (rc != CURSUS_TEMPFAIL)
    g_free(error);
  g_string_free(v, TRUE);
  config_unref(&cfg);
  return rc;
}

static int l_parse_path(const char *arg, uint32_t flags, cursus_buf *address,
                        const char **params_r, const char **error_r) {
  unsigned f = 0;
  if (flags & CURSUS_PATH_NULL_OK)
    f |= ADDR_NULL_OK;
  if (flags & CURSUS_PATH_POSTMASTER)
    f |= ADDR_POSTMASTER;
  if (flags & CURSUS_PATH_UTF8)
    f |= ADDR_UTF8;
  if (flags & CURSUS_PATH_NO_BRACKETS)
    f |= ADDR_NO_BRACKETS;
  addr_path path;
  char *error = NULL;
  if (addr_parse_path(arg, f, &path, &error) != CURSUS_OK) {
    *error_r = keep_error(error);
    return CURSUS_PERMFAIL;
  }
  if (path.address != NULL) {
    char *text = addr_format(path.address);
    append(address, text, strlen(text));
    g_free(text);
    addr_free(&path.address);
  } else {
    append(address, "", 0);
  }
  *params_r = path.params;
  return CURSUS_OK;
}

static resolve_params params_of(const cursus_resolve_params *p) {
  resolve_params rp = {0};
  if (p == NULL)
    return rp;
  rp.source_channel = p->source_channel;
  rp.sender = p->sender;
  rp.auth_user = p->auth_user;
  if (CURSUS_HAS(p, destination_channel))
    rp.destination_channel = p->destination_channel;
  if (CURSUS_HAS(p, tag))
    rp.tag = p->tag;
  if (CURSUS_HAS(p, flags)) {
    if (p->flags & CURSUS_RESOLVE_REPROCESS)
      rp.flags |= RESOLVE_REPROCESS;
    if (p->flags & CURSUS_RESOLVE_NO_EXPAND)
      rp.flags |= RESOLVE_NO_EXPAND;
    if (p->flags & CURSUS_RESOLVE_FROM)
      rp.flags |= RESOLVE_FROM;
    if (p->flags & CURSUS_RESOLVE_NO_MAPPING)
      rp.flags |= RESOLVE_NO_MAPPING;
  }
  return rp;
}

typedef struct resolution {
  cursus_resolution pub;
  resolve_result res;
  cursus_route *routes;
  const char **notes;
} resolution;

static int l_resolve_recipient(const char *address,
                               const cursus_resolve_params *params,
                               cursus_resolution **result_r) {
  if (address == NULL || result_r == NULL)
    return CURSUS_PERMFAIL;
  resolution *r = g_new0(resolution, 1);
  resolve_params rp = params_of(params);
  resolve_result_init(&r->res);
  resolve_recipient(address, &rp, &r->res);
  r->pub.size = sizeof(r->pub);
  r->pub.status = r->res.status;
  r->pub.smtp_code = r->res.smtp_code;
  r->pub.error = r->res.error;
  r->pub.rewritten = r->res.rewritten;
  r->pub.channel = r->res.channel;
  r->routes = g_new0(cursus_route, r->res.entries->len + 1);
  for (guint i = 0; i < r->res.entries->len; i++) {
    const resolve_entry *e = r->res.entries->pdata[i];
    r->routes[i] = (cursus_route){e->address, e->channel, e->host,
                                  e->errors_to, e->via};
  }
  r->pub.n_routes = r->res.entries->len;
  r->pub.routes = r->routes;
  r->notes = g_new0(const char *, r->res.notes->len + 1);
  for (guint i = 0; i < r->res.notes->len; i++)
    r->notes[i] = r->res.notes->pdata[i];
  r->pub.n_notes = r->res.notes->len;
  r->pub.notes = r->notes;
  *result_r = &r->pub;
  return r->pub.status;
}

static void l_resolution_free(cursus_resolution **rp) {
  if (rp == NULL || *rp == NULL)
    return;
  resolution *r = (resolution *)*rp;
  *rp = NULL;
  resolve_result_clear(&r->res);
  g_free(r->routes);
  g_free(r->notes);
  g_free(r);
}

static int l_resolve_sender(const char *address,
                            const cursus_resolve_params *params,
                            cursus_buf *out, int *smtp_code_r,
                            const char **error_r) {
  resolve_params rp = params_of(params);
  char *rewritten = NULL, *error = NULL;
  int rc = resolve_sender(address, &rp, &rewritten, smtp_code_r, &error);
  if (rc == CURSUS_OK) {
    append(out, rewritten, strlen(rewritten));
    g_free(rewritten);
  } else {
    *error_r = keep_error(error);
  }
  return rc;
}

static int l_rewrite_header(const char *name, const char *value,
                            const cursus_resolve_params *params,
                            cursus_buf *out, const char **error_r) {
  resolve_params rp = params_of(params);
  char *v = NULL, *error = NULL;
  int rc = resolve_header_field(name, value, &rp, &v, &error);
  if (rc == CURSUS_OK) {
    append(out, v, strlen(v));
    g_free(v);
  } else {
    *error_r = keep_error(error);
  }
  return rc;
}

typedef struct verdict {
  cursus_access_verdict pub;
  access_verdict v;
} verdict;

static int l_access_check(int table, const cursus_access_probe *p,
                          cursus_access_verdict **verdict_r,
                          const char **error_r) {
  if (p == NULL || verdict_r == NULL || table < 0 ||
      table >= ACCESS_N_TABLES) {
    *error_r = "invalid access_check call";
    return CURSUS_TEMPFAIL;
  }
  access_probe ap = {.server_ip = p->server_ip,
                     .server_port = p->server_port,
                     .client_ip = p->client_ip,
                     .client_port = p->client_port,
                     .app_info = p->app_info,
                     .submit_type = p->submit_type,
                     .source_channel = p->source_channel,
                     .env_from = p->env_from,
                     .auth_from = p->auth_from,
                     .dest_channel = p->dest_channel,
                     .env_to = p->env_to,
                     .orcpt = p->orcpt,
                     .session_flags = p->session_flags};
  verdict *vd = g_new0(verdict, 1);
  char *error = NULL;
  int rc = access_check((access_table)table, &ap, &vd->v, &error);
  if (rc != CURSUS_OK) {
    *error_r = keep_error(error);
    access_verdict_clear(&vd->v);
    g_free(vd);
    return rc;
  }
  const access_verdict *v = &vd->v;
  vd->pub = (cursus_access_verdict){
      .size = sizeof(cursus_access_verdict),
      .action = (int)v->action,
      .matched = v->matched,
      .smtp_code = v->smtp_code,
      .status = v->status,
      .text = v->text,
      .delay_ms = v->delay_ms,
      .new_from = v->new_from,
      .new_sender = v->new_sender,
      .tag = v->tag,
      .add_header = v->add_header,
      .log_text = v->log_text,
      .need_user = v->need_user,
      .need_group = v->need_group,
      .debug = v->debug,
      .no_vacation = v->no_vacation,
      .probe = v->probe};
  *verdict_r = &vd->pub;
  return CURSUS_OK;
}

static void l_access_verdict_free(cursus_access_verdict **vp) {
  if (vp == NULL || *vp == NULL)
    return;
  verdict *vd = (verdict *)*vp;
  *vp = NULL;
  access_verdict_clear(&vd->v);
  g_free(vd);
}

const cursus_lookup_ops *lookup_host_ops(void) {
  static const cursus_lookup_ops ops = {
      .size = sizeof(cursus_lookup_ops),
      .mapping = l_mapping,
      .source_lookup = l_source_lookup,
      .parse_path = l_parse_path,
      .resolve_recipient = l_resolve_recipient,
      .resolution_free = l_resolution_free,
      .resolve_sender = l_resolve_sender,
      .rewrite_header = l_rewrite_header,
      .access_check = l_access_check,
      .access_verdict_free = l_access_verdict_free,
  };
  return &ops;
}
