/*
 * map_ldap.c - mapping source "ldap:": LDAP URL lookups with a cache
 *
 * Serves $]ldap:///base?attr?scope?filter[ in rewrite rules and mapping
 * templates, "<ldap:///..." members of the alias file, and tables of the
 * MAPPINGS file ("GROUPS  ldap:///ou=groups,o=example?cn?sub?(member=$0)":
 * each input replaces $0, quoted for a filter).  A URL without a host
 * goes to the `server` setting.  The answer is the values of the URL's
 * first attribute (the entry's DN when it names none), one per line, over
 * all entries found; nothing found is CURSUS_NONE; a server that cannot
 * be reached or answers with an error is CURSUS_TEMPFAIL (mail waits).
 *
 * Answers are cached by URL, as the classic URL_RESULT_CACHE does: at most
 * cache_size entries live cache_timeout seconds; misses live
 * cache_negative seconds (0: not cached).  Connections are kept in a pool
 * per server (at most max_connections idle ones) and rebuilt after a
 * failure.
 *
 * Settings ([module map_ldap] of cursus.conf): server (ldap://host:port,
 * default ldap://127.0.0.1:389), bind_dn, bind_password, timeout (default
 * 10 s), cache_size (10000), cache_timeout (600 s), cache_negative (0),
 * max_connections (8), size_limit (entries per search, 1000).
 *
 * Needs the SDK, GLib and OpenLDAP's libldap.
 */
#include "build-config.h"
#include <cursus/cursus.h>
#include <glib.h>
#include <ldap.h>
#include <string.h>

static const cursus_host *host;
static cursus_module_ctx *module_ctx;
static GMutex lock;
static cursus_cache *cache;      /* URL -> answer (char*) or NULL miss */
static GHashTable *pools;        /* server URI -> GQueue of idle LDAP* */

/* This thread's last error: a module that is unloaded must not leave
 * thread-private allocations behind, so the text is copied here. */
static __thread char last_error[512];

typedef struct lsource {
  char *url; /* URL with $0 for table sources, or NULL for URL lookups */
} lsource;

static int fail(char *error, const char **error_r, int status) {
  g_strlcpy(last_error, error, sizeof(last_error));
  g_free(error);
  *error_r = last_error;
  return status;
}

static void *copy_answer(const void *v) { return g_strdup(v); }

static void pool_free(void *p) {
  GQueue *q = p;
  LDAP *ld;
  while ((ld = g_queue_pop_head(q)) != NULL)
    ldap_unbind_ext_s(ld, NULL, NULL);
  g_queue_free(q);
}

static int ml_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  module_ctx = ctx;
  g_mutex_lock(&lock);
  if (pools == NULL)
    pools = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, pool_free);
  if (cache == NULL)
    cache = host->cache_new(
        (size_t)host->setting_int(ctx, "cache_size", 10000),
        (unsigned)host->setting_int(ctx, "cache_timeout", 600),
        (unsigned)host->setting_int(ctx, "cache_negative", 0), copy_answer,
        g_free);
  g_mutex_unlock(&lock);
  return CURSUS_OK;
}

static void ml_fini(cursus_module_ctx *ctx) {
  g_mutex_lock(&lock);
  if (pools != NULL)
    g_hash_table_destroy(pools);
  pools = NULL;
  if (cache != NULL)
    host->cache_free(&cache);
  g_mutex_unlock(&lock);
}

/* connect_server - a new bound connection to URI */
static LDAP *connect_server(const char *uri, char **error_r) {
  LDAP *ld = NULL;
  int rc = ldap_initialize(&ld, uri);
  if (rc != LDAP_SUCCESS) {
    *error_r = g_strdup_printf("%s: %s", uri, ldap_err2string(rc));
    return NULL;
  }
  int version = LDAP_VERSION3;
  long long secs = host->setting_int(module_ctx, "timeout", 10);
  struct timeval tv = {.tv_sec = (time_t)secs};
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  const char *dn = host->setting(module_ctx, "bind_dn");
  const char *pw = host->setting(module_ctx, "bind_password");
  struct berval cred = {.bv_val = (char *)(pw != NULL ? pw : ""),
                        .bv_len = pw != NULL ? strlen(pw) : 0};
  rc = ldap_sasl_bind_s(ld, dn != NULL ? dn : "", LDAP_SASL_SIMPLE, &cred,
                        NULL, NULL, NULL);
  if (rc != LDAP_SUCCESS) {
    *error_r = g_strdup_printf("%s: bind%s%s: %s", uri, dn != NULL ? " as " : "",
                               dn != NULL ? dn : "", ldap_err2string(rc));
    ldap_unbind_ext_s(ld, NULL, NULL);
    return NULL;
  }
  return ld;
}

/* take_conn / give_conn - the connection pool of URI */
static LDAP *take_conn(const char *uri, char **error_r) {
  g_mutex_lock(&lock);
  GQueue *q = pools != NULL ? g_hash_table_lookup(pools, uri) : NULL;
  LDAP *ld = q != NULL ? g_queue_pop_head(q) : NULL;
  g_mutex_unlock(&lock);
  return ld != NULL ? ld : connect_server(uri, error_r);
}

static void give_conn(const char *uri, LDAP *ld) {
  long long max = host->setting_int(module_ctx, "max_connections", 8);
  g_mutex_lock(&lock);
  GQueue *q = pools != NULL ? g_hash_table_lookup(pools, uri) : NULL;
  if (q == NULL && pools != NULL) {
    q = g_queue_new();
    g_hash_table_insert(pools, g_strdup(uri), q);
  }
  if (q != NULL && (long long)q->length < max) {
    g_queue_push_head(q, ld);
    ld = NULL;
  }
  g_mutex_unlock(&lock);
  if (ld != NULL)
    ldap_unbind_ext_s(ld, NULL, NULL);
}

/* server_of - the server URI of a parsed URL */
static char *server_of(const LDAPURLDesc *lud) {
  if (lud->lud_host != NULL && *lud->lud_host != '\0')
    return g_strdup_printf("%s://%s:%d", lud->lud_scheme, lud->lud_host,
                           lud->lud_port);
  const char *s = host->setting(module_ctx, "server");
  return g_strdup(s != NULL ? s : "ldap://127.0.0.1:389");
}

/* collect - the values of ATTR (or the DNs) of every entry of RES */
static void collect(LDAP *ld, LDAPMessage *res, const char *attr,
                    GString *answer) {
  for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL;
       e = ldap_next_entry(ld, e)) {
    if (attr == NULL) {
      char *dn = ldap_get_dn(ld, e);
      if (dn != NULL) {
        g_string_append_printf(answer, "%s%s", answer->len > 0 ? "\n" : "",
                               dn);
        ldap_memfree(dn);
      }
      continue;
    }
    struct berval **vals = ldap_get_values_len(ld, e, attr);
    for (int i = 0; vals != NULL && vals[i] != NULL; i++) {
      if (answer->len > 0)
        g_string_append_c(answer, '\n');
      g_string_append_len(answer, vals[i]->bv_val, (gssize)vals[i]->bv_len);
    }
    ldap_value_free_len(vals);
  }
}

/* search - run URL; CURSUS_OK with the answer, NONE, or TEMPFAIL */
static int search(const char *url, GString *answer, char **error_r) {
  LDAPURLDesc *lud = NULL;
  int rc = ldap_url_parse(url, &lud);
  if (rc != LDAP_URL_SUCCESS) {
    *error_r = g_strdup_printf("\"%s\" is not an LDAP URL (error %d)", url, rc);
    return CURSUS_TEMPFAIL;
  }
  char *uri = server_of(lud);
  int status = CURSUS_TEMPFAIL;
  for (int attempt = 0; attempt < 2 && status == CURSUS_TEMPFAIL; attempt++) {
    g_free(*error_r);
    *error_r = NULL;
    LDAP *ld = take_conn(uri, error_r);
    if (ld == NULL)
      break;
    long long secs = host->setting_int(module_ctx, "timeout", 10);
    struct timeval tv = {.tv_sec = (time_t)secs};
    LDAPMessage *res = NULL;
    const char *attr = lud->lud_attrs != NULL ? lud->lud_attrs[0] : NULL;
    char *attrs[2] = {(char *)(attr != NULL ? attr : LDAP_NO_ATTRS), NULL};
    int scope = lud->lud_scope == LDAP_SCOPE_DEFAULT ? LDAP_SCOPE_BASE
                                                      : lud->lud_scope;
    rc = ldap_search_ext_s(
        ld, lud->lud_dn != NULL ? lud->lud_dn : "", scope,
        lud->lud_filter != NULL ? lud->lud_filter : "(objectClass=*)", attrs,
        0, NULL, NULL, &tv,
        (int)host->setting_int(module_ctx, "size_limit", 1000), &res);
    if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
      collect(ld, res, attr, answer);
      status = answer->len > 0 ? CURSUS_OK : CURSUS_NONE;
      give_conn(uri, ld);
    } else if (rc == LDAP_NO_SUCH_OBJECT) {
      status = CURSUS_NONE;
      give_conn(uri, ld);
    } else {
      *error_r = g_strdup_printf("%s: %s", uri, ldap_err2string(rc));
      /* the connection may be dead: drop it, try once on a fresh one */
      ldap_unbind_ext_s(ld, NULL, NULL);
    }
    if (res != NULL)
      ldap_msgfree(res);
  }
  g_free(uri);
  ldap_free_urldesc(lud);
  return status;
}

static int ml_open(cursus_module_ctx *ctx, const char *argument,
                   void **source_r, const char **error_r) {
  lsource *s = g_new0(lsource, 1);
  if (*argument != '\0')
    s->url = g_strdup_printf("ldap:%s", argument);
  *source_r = s;
  return CURSUS_OK;
}

/* expand_url - S's URL with $0 replaced by KEY quoted for a filter */
static char *expand_url(const lsource *s, const char *key, size_t key_len) {
  GString *u = g_string_new(NULL);
  for (const char *p = s->url; *p != '\0'; p++) {
    if (p[0] == '$' && p[1] == '0') {
      for (size_t i = 0; i < key_len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0' ||
            c == '?' || c == '%' || c < 32)
          g_string_append_printf(u, "%%5c%02x", c);
        else
          g_string_append_c(u, (char)c);
      }
      p++;
    } else {
      g_string_append_c(u, *p);
    }
  }
  return g_string_free(u, FALSE);
}

static int ml_lookup(void *source, const char *key, size_t key_len,
                     cursus_buf *out, const char **error_r) {
  const lsource *s = source;
  char *url = s->url != NULL ? expand_url(s, key, key_len)
                             : g_strndup(key, key_len);
  void *cached = NULL;
  if (cache != NULL && host->cache_get(cache, url, &cached) == CURSUS_OK) {
    g_free(url);
    if (cached == NULL)
      return CURSUS_NONE;
    host->buf_append(out, cached, strlen(cached));
    g_free(cached);
    return CURSUS_OK;
  }
  GString *answer = g_string_new(NULL);
  char *error = NULL;
  int rc = search(url, answer, &error);
  if (rc == CURSUS_OK) {
    host->buf_append(out, answer->str, answer->len);
    if (cache != NULL)
      host->cache_put(cache, url, g_strdup(answer->str));
  } else if (rc == CURSUS_NONE) {
    if (cache != NULL)
      host->cache_put(cache, url, NULL);
  } else {
    rc = fail(error != NULL ? error : g_strdup("LDAP search failed"), error_r,
              CURSUS_TEMPFAIL);
    error = NULL;
  }
  g_free(error);
  g_string_free(answer, TRUE);
  g_free(url);
  return rc;
}

static void ml_close(void *source) {
  lsource *s = source;
  g_free(s->url);
  g_free(s);
}

static const char *const ml_schemes[] = {"ldap", "ldaps", "ldapi", NULL};

static const cursus_mapping_ops ml_ops = {
    .size = sizeof(cursus_mapping_ops),
    .schemes = ml_schemes,
    .open = ml_open,
    .lookup = ml_lookup,
    .close = ml_close,
};

static const cursus_keyword ml_settings[] = {
    {"server", CURSUS_VALUE_STRING, 1, 1,
     "LDAP server for URLs without a host (ldap://host:port)"},
    {"bind_dn", CURSUS_VALUE_STRING, 1, 1, "DN to bind as (anonymous if unset)"},
    {"bind_password", CURSUS_VALUE_STRING, 1, 1, "password of bind_dn"},
    {"timeout", CURSUS_VALUE_DURATION, 1, 1, "connect and search timeout"},
    {"cache_size", CURSUS_VALUE_INTEGER, 1, 1, "URL answers kept in the cache"},
    {"cache_timeout", CURSUS_VALUE_DURATION, 1, 1, "lifetime of an answer"},
    {"cache_negative", CURSUS_VALUE_DURATION, 1, 1,
     "lifetime of a miss (0: misses are not cached)"},
    {"max_connections", CURSUS_VALUE_INTEGER, 1, 1,
     "idle connections kept per server"},
    {"size_limit", CURSUS_VALUE_INTEGER, 1, 1, "most entries one search returns"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "map_ldap", .version = PACKAGE_VERSION, .vendor = "Cursus",
              .license = "GPL-3.0-or-later",
              .description = "LDAP URL lookups for rewrite rules, mappings and "
                             "aliases, cached",
              .kinds = CURSUS_KIND_MAPPING, .settings = ml_settings,
              .init = ml_init, .fini = ml_fini, .mapping = &ml_ops);
