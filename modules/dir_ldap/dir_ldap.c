/*
 * dir_ldap.c - the directory in LDAP servers (OpenLDAP, 389 DS, ...)
 *
 * Lookups are searches in the Cursus schema under `base_dn`, with every
 * value from the wire escaped (RFC 4515) before it enters a filter.
 * Answers are cached in the process (the host's cache: `cache_size`
 * entries, `cache_ttl` seconds for entries found, `cache_negative_ttl` for
 * misses); lookups with CURSUS_DIR_FRESH go to the server and refresh the
 * cache.  Passwords are checked by a bind as the user on connections of
 * their own (`auth = bind`), or by reading userPassword with the
 * service's identity and comparing the hash in the server (`auth =
 * hash`, through host->directory->check_password).  Provisioning writes with the
 * service's identity, which needs write access.
 *
 * Failure policy: a server that is down, slow past `timeout`, busy or
 * unwilling gives CURSUS_TEMPFAIL after the other servers were tried
 * (pool.h); never CURSUS_NONE.
 *
 * Offers: the directory ops of directory.h.  Needs: the host table,
 * libldap, pool.c, direntry.
 */
#include "build-config.h"
#include "direntry/direntry.h"
#include "pool.h"

#include <cursus/cursus.h>
#include <string.h>

static const cursus_host *host;

#define CACHE_SHARDS 16

typedef struct ldapdir {
  cursus_module_ctx *ctx;
  pool_settings ps, auth_ps, write_ps;
  pool *pool;       /* the service's connections */
  pool *auth_pool;  /* connections for user binds */
  pool *write_pool; /* provisioning's identity, or NULL: the service's */
  char *base_dn;
  bool hash;       /* auth = hash: check userPassword values here */
  unsigned timeout_ms;
  /* the cache in shards by key, so threads seldom wait for one another */
  cursus_cache *cache[CACHE_SHARDS];
  gint hits, misses, lookups;
} ldapdir;

static GPrivate errbuf = G_PRIVATE_INIT(g_free);

/* keep - MSG (allocated) as this thread's error message */
static const char *keep(char *msg) {
  g_private_replace(&errbuf, msg);
  return msg;
}

/* ------------------------------------------------------------- settings */

static char *setting(cursus_module_ctx *ctx, const char *key) {
  const char *v = host->setting(ctx, key);
  return v != NULL && *v != '\0' ? g_strdup(v) : NULL;
}

/* read_password_file - the first line of PATH */
static char *read_password_file(const char *path, const char **error_r) {
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) {
    *error_r = keep(g_strdup_printf("cannot read bind_password_file %s", path));
    return NULL;
  }
  text[strcspn(text, "\r\n")] = '\0';
  return text;
}

static void settings_clear(pool_settings *s) {
  g_strfreev(s->uris);
  g_free(s->bind_dn);
  if (s->bind_password != NULL)
    memset(s->bind_password, 0, strlen(s->bind_password));
  g_free(s->bind_password);
  g_free(s->sasl_mech);
  g_free(s->tls_ca);
  g_free(s->tls_cert);
  g_free(s->tls_key);
}

/* read_settings - the [module dir_ldap] settings into D */
static bool read_settings(ldapdir *d, const char **error_r) {
  cursus_module_ctx *ctx = d->ctx;
  pool_settings *s = &d->ps;
  char *uri = setting(ctx, "uri");
  d->base_dn = setting(ctx, "base_dn");
  if (uri == NULL || d->base_dn == NULL) {
    *error_r = "[module dir_ldap] needs uri and base_dn";
    g_free(uri);
    return false;
  }
  s->uris = g_strsplit_set(g_strstrip(uri), " ,", -1);
  g_free(uri);
  /* drop the empty strings several separators leave */
  guint n = 0;
  for (guint i = 0; s->uris[i] != NULL; i++) {
    if (*s->uris[i] == '\0')
      g_free(s->uris[i]);
    else
      s->uris[n++] = s->uris[i];
  }
  s->uris[n] = NULL;
  for (guint i = 0; i < n; i++)
    if (!ldap_is_ldap_url(s->uris[i]) && !ldap_is_ldaps_url(s->uris[i]) &&
        !ldap_is_ldapi_url(s->uris[i])) {
      *error_r = keep(g_strdup_printf("[module dir_ldap] uri: \"%s\" is not "
                                      "an ldap://, ldaps:// or ldapi:// URI",
                                      s->uris[i]));
      return false;
    }
  s->bind_dn = setting(ctx, "bind_dn");
  s->bind_password = setting(ctx, "bind_password");
  char *pwfile = setting(ctx, "bind_password_file");
  if (pwfile != NULL) {
    g_free(s->bind_password);
    s->bind_password = read_password_file(pwfile, error_r);
    g_free(pwfile);
    if (s->bind_password == NULL)
      return false;
  }
  s->sasl_mech = setting(ctx, "sasl_mech");
  s->starttls = host->setting_int(ctx, "starttls", 0) != 0;
  s->tls_ca = setting(ctx, "tls_ca");
  s->tls_cert = setting(ctx, "tls_cert");
  s->tls_key = setting(ctx, "tls_key");
  s->tls_verify = host->setting_int(ctx, "tls_verify", 1) != 0;
  d->timeout_ms = (unsigned)host->setting_int(ctx, "timeout", 5) * 1000;
  s->timeout_ms = d->timeout_ms;
  s->retry_after_s = (unsigned)host->setting_int(ctx, "retry_after", 30);
  long long size = host->setting_int(ctx, "connections", 4);
  s->size = (unsigned)MAX(size, 1);
  s->bind_as_service = true;
  char *auth = setting(ctx, "auth");
  d->hash = auth != NULL && g_ascii_strcasecmp(auth, "hash") == 0;
  bool auth_ok = auth == NULL || d->hash ||
                 g_ascii_strcasecmp(auth, "bind") == 0;
  g_free(auth);
  if (!auth_ok) {
    *error_r = "[module dir_ldap] auth is bind or hash";
    return false;
  }
  if (s->sasl_mech != NULL && g_ascii_strcasecmp(s->sasl_mech, "EXTERNAL")) {
    *error_r = "[module dir_ldap] sasl_mech: only EXTERNAL is supported";
    return false;
  }
  /* provisioning: its own identity when one is set */
  char *wdn = setting(ctx, "write_bind_dn");
  if (wdn != NULL) {
    d->write_ps = *s;
    d->write_ps.size = 1;
    d->write_ps.sasl_mech = NULL;
    d->write_ps.bind_dn = wdn;
    d->write_ps.bind_password = setting(ctx, "write_bind_password");
    char *wfile = setting(ctx, "write_bind_password_file");
    if (wfile != NULL) {
      g_free(d->write_ps.bind_password);
      d->write_ps.bind_password = read_password_file(wfile, error_r);
      g_free(wfile);
      if (d->write_ps.bind_password == NULL)
        return false;
    }
  }
  /* user binds: same servers and TLS, no service identity */
  d->auth_ps = *s;
  d->auth_ps.bind_as_service = false;
  d->auth_ps.sasl_mech = NULL;
  d->auth_ps.tls_cert = d->auth_ps.tls_key = NULL;
  return true;
}

/* --------------------------------------------------------------- entries */

/* text_value - BV is text that may cross the ABI (UTF-8, no NUL) */
static bool text_value(const struct berval *bv) {
  return memchr(bv->bv_val, '\0', bv->bv_len) == NULL &&
         g_utf8_validate(bv->bv_val, (gssize)bv->bv_len, NULL);
}

/* make_entry - the entry MSG holds */
static cursus_entry *make_entry(LDAP *ld, LDAPMessage *msg) {
  char *dn = ldap_get_dn(ld, msg);
  direntry_builder *b = direntry_builder_new(dn != NULL ? dn : "");
  if (dn != NULL)
    ldap_memfree(dn);
  BerElement *ber = NULL;
  for (char *a = ldap_first_attribute(ld, msg, &ber); a != NULL;
       a = ldap_next_attribute(ld, msg, ber)) {
    struct berval **vals = ldap_get_values_len(ld, msg, a);
    for (int i = 0; vals != NULL && vals[i] != NULL; i++) {
      if (!text_value(vals[i]))
        continue;
      char *v = g_strndup(vals[i]->bv_val, vals[i]->bv_len);
      direntry_builder_add(b, a, v);
      g_free(v);
    }
    ldap_value_free_len(vals);
    ldap_memfree(a);
  }
  if (ber != NULL)
    ber_free(ber, 0);
  return direntry_builder_finish(&b);
}

/* ------------------------------------------------------------- searches */

typedef struct search_req {
  const char *base;
  int scope;
  const char *filter;
  size_t max;
  unsigned timeout_ms;
  cursus_entry_cb *cb;
  void *data;
  bool stopped;
  size_t count;
} search_req;

static int op_search(LDAP *ld, void *data) {
  search_req *r = data;
  static const int scopes[] = {LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL,
                               LDAP_SCOPE_SUBTREE};
  struct timeval tv = {(time_t)(r->timeout_ms / 1000),
                       (suseconds_t)(r->timeout_ms % 1000) * 1000};
  LDAPMessage *res = NULL;
  r->count = 0;
  r->stopped = false;
  int rc = ldap_search_ext_s(ld, r->base, scopes[r->scope], r->filter, NULL,
                             0, NULL, NULL, &tv,
                             r->max > 0 ? (int)MIN(r->max + 1, 100000000u) : 0,
                             &res);
  if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
    for (LDAPMessage *m = ldap_first_entry(ld, res);
         m != NULL && !r->stopped; m = ldap_next_entry(ld, m)) {
      if (r->max > 0 && ++r->count > r->max) {
        rc = LDAP_SIZELIMIT_EXCEEDED;
        break;
      }
      cursus_entry *e = make_entry(ld, m);
      r->stopped = r->cb(r->data, e) != 0;
      direntry_unref(e);
    }
  }
  if (res != NULL)
    ldap_msgfree(res);
  return rc;
}

/* result - the cursus code of LDAP code RC (ERROR from the pool) */
static int result(int rc, char *error, const char **error_r) {
  switch (rc) {
  case LDAP_SUCCESS:
    g_free(error);
    return CURSUS_OK;
  case LDAP_NO_SUCH_OBJECT:
    g_free(error);
    return CURSUS_NONE;
  case LDAP_SIZELIMIT_EXCEEDED:
    g_free(error);
    *error_r = "size limit exceeded";
    return CURSUS_PERMFAIL;
  case LDAP_FILTER_ERROR:
  case LDAP_INVALID_DN_SYNTAX:
  case LDAP_INVALID_SYNTAX:
  case LDAP_UNDEFINED_TYPE:
  case LDAP_PARAM_ERROR:
    *error_r = keep(error != NULL ? error
                                  : g_strdup_printf("directory refuses the "
                                                    "request: %s",
                                                    ldap_err2string(rc)));
    return CURSUS_PERMFAIL;
  default:
    *error_r = keep(error != NULL ? error
                                  : g_strdup_printf("directory error: %s",
                                                    ldap_err2string(rc)));
    return CURSUS_TEMPFAIL;
  }
}

/* run_search - a search, with errors as cursus codes */
static int run_search(ldapdir *d, search_req *r, const char **error_r) {
  char *error = NULL;
  r->timeout_ms = d->timeout_ms;
  int rc = pool_run(d->pool, op_search, r, &error);
  if (rc == LDAP_NO_SUCH_OBJECT && r->scope == CURSUS_SCOPE_BASE) {
    /* the entry named does not exist: nothing found */
    g_free(error);
    return CURSUS_OK;
  }
  if (rc == LDAP_NO_SUCH_OBJECT) {
    g_free(error);
    *error_r = keep(g_strdup_printf("the search base %s does not exist",
                                    r->base));
    return CURSUS_PERMFAIL;
  }
  return result(rc, error, error_r);
}

/* ------------------------------------------------------- cached lookups */

typedef struct one_req {
  unsigned kinds;
  cursus_entry *found;
  unsigned count;
} one_req;

static int one_cb(void *data, const cursus_entry *e) {
  one_req *o = data;
  if (o->kinds != 0 && !(cursus_entry_kind_of(e) & o->kinds))
    return 0;
  if (++o->count == 1)
    o->found = direntry_ref(e);
  return 0;
}

/* escape - VALUE for a filter (RFC 4515) */
static char *escape(const char *value) {
  GString *out = g_string_new(NULL);
  for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
    if (*c == '*' || *c == '(' || *c == ')' || *c == '\\' || *c < 0x20)
      g_string_append_printf(out, "\\%02x", *c);
    else
      g_string_append_c(out, (char)*c);
  }
  return g_string_free(out, FALSE);
}

/* shard - the part of the cache KEY belongs to, or NULL (no cache) */
static cursus_cache *shard(ldapdir *d, const char *key) {
  return d->cache[0] != NULL ? d->cache[g_str_hash(key) % CACHE_SHARDS]
                             : NULL;
}

/* cache_clear_all - forget every cached answer */
static void cache_clear_all(ldapdir *d) {
  for (int i = 0; i < CACHE_SHARDS && d->cache[i] != NULL; i++)
    host->cache_clear(d->cache[i]);
}

/* lookup_one - the one entry of KINDS matching FILTER under BASE, through
 * the cache under KEY */
static int lookup_one(ldapdir *d, const char *key, const char *base,
                      int scope, const char *filter, unsigned kinds,
                      unsigned flags, const char *ambiguous,
                      cursus_entry **entry_r, const char **error_r) {
  void *cached = NULL;
  g_atomic_int_inc(&d->lookups);
  cursus_cache *c = shard(d, key);
  if (!(flags & CURSUS_DIR_FRESH) && c != NULL &&
      host->cache_get(c, key, &cached) == CURSUS_OK) {
    g_atomic_int_inc(&d->hits);
    if (cached == NULL)
      return CURSUS_NONE;
    *entry_r = cached;
    return CURSUS_OK;
  }
  g_atomic_int_inc(&d->misses);
  one_req o = {kinds, NULL, 0};
  search_req r = {base, scope, filter, 0, 0, one_cb, &o, false, 0};
  int rc = run_search(d, &r, error_r);
  if (rc == CURSUS_OK && o.count > 1) {
    *error_r = ambiguous;
    rc = CURSUS_PERMFAIL;
  } else if (rc == CURSUS_OK) {
    if (c != NULL)
      host->cache_put(c, key, o.found != NULL ? direntry_ref(o.found) : NULL);
    if (o.found == NULL)
      rc = CURSUS_NONE;
    else
      *entry_r = direntry_ref(o.found);
  }
  direntry_unref(o.found);
  return rc;
}

#define USER_FILTER                                                           \
  "(|(objectClass=inetMailUser)(objectClass=inetLocalMailRecipient))"
#define GROUP_FILTER "(objectClass=inetMailGroup)"
#define DOMAIN_FILTER                                                         \
  "(|(objectClass=sunManagedOrganization)(objectClass=mailDomain))"

/* base_or_default - BASE, or the configured base for "" */
static const char *base_or_default(ldapdir *d, const char *base) {
  return base != NULL && *base != '\0' ? base : d->base_dn;
}

/* folded - a cache key part without case */
static char *folded(const char *s) { return g_utf8_casefold(s, -1); }

static int ldap_lookup_domain(void *dir, const char *domain, unsigned flags,
                              cursus_entry **entry_r, const char **error_r) {
  ldapdir *d = dir;
  char *v = escape(domain), *k = folded(domain);
  char *key = g_strdup_printf("d\x1f%s", k);
  char *filter = g_strdup_printf("(&" DOMAIN_FILTER
                                 "(|(sunPreferredDomain=%s)"
                                 "(associatedDomain=%s)))",
                                 v, v);
  int rc = lookup_one(d, key, d->base_dn, CURSUS_SCOPE_SUB, filter,
                      CURSUS_ENTRY_DOMAIN, flags,
                      "several domain entries claim this domain", entry_r,
                      error_r);
  g_free(filter);
  g_free(key);
  if (rc == CURSUS_NONE) {
    key = g_strdup_printf("v\x1f%s", k);
    filter = g_strdup_printf("(&(objectClass=inetMailUser)"
                             "(msgVanityDomain=%s))",
                             v);
    rc = lookup_one(d, key, d->base_dn, CURSUS_SCOPE_SUB, filter,
                    CURSUS_ENTRY_USER, flags,
                    "several users claim this vanity domain", entry_r,
                    error_r);
    g_free(filter);
    g_free(key);
  }
  g_free(k);
  g_free(v);
  return rc;
}

static int ldap_lookup_address(void *dir, const char *base_dn,
                               const char *address, unsigned kinds,
                               unsigned flags, cursus_entry **entry_r,
                               const char **error_r) {
  ldapdir *d = dir;
  const char *base = base_or_default(d, base_dn);
  char *v = escape(address), *k = folded(address), *b = folded(base);
  char *key = g_strdup_printf("a\x1f%s\x1f%u\x1f%s", b, kinds, k);
  const char *kf = kinds == CURSUS_ENTRY_USER    ? USER_FILTER
                   : kinds == CURSUS_ENTRY_GROUP ? GROUP_FILTER
                                                 : "(|" USER_FILTER
                                                   GROUP_FILTER ")";
  char *filter = g_strdup_printf("(&%s(|(mail=%s)(mailAlternateAddress=%s)"
                                 "(mailEquivalentAddress=%s)))",
                                 kf, v, v, v);
  int rc = lookup_one(d, key, base, CURSUS_SCOPE_SUB, filter, kinds, flags,
                      "several entries have this address", entry_r, error_r);
  g_free(filter);
  g_free(key);
  g_free(b);
  g_free(k);
  g_free(v);
  return rc;
}

static int ldap_lookup_uid(void *dir, const char *base_dn, const char *uid,
                           unsigned flags, cursus_entry **entry_r,
                           const char **error_r) {
  ldapdir *d = dir;
  const char *base = base_or_default(d, base_dn);
  char *v = escape(uid), *k = folded(uid), *b = folded(base);
  char *key = g_strdup_printf("u\x1f%s\x1f%s", b, k);
  char *filter = g_strdup_printf("(&" USER_FILTER "(uid=%s))", v);
  int rc = lookup_one(d, key, base, CURSUS_SCOPE_SUB, filter,
                      CURSUS_ENTRY_USER, flags, "several users have this uid",
                      entry_r, error_r);
  g_free(filter);
  g_free(key);
  g_free(b);
  g_free(k);
  g_free(v);
  return rc;
}

static int ldap_lookup_dn(void *dir, const char *dn, unsigned flags,
                          cursus_entry **entry_r, const char **error_r) {
  ldapdir *d = dir;
  char *k = folded(dn);
  char *key = g_strdup_printf("n\x1f%s", k);
  int rc = lookup_one(d, key, dn, CURSUS_SCOPE_BASE, "(objectClass=*)", 0,
                      flags, "several entries", entry_r, error_r);
  g_free(key);
  g_free(k);
  return rc;
}

static int ldap_search(void *dir, const char *base_dn, int scope,
                       const char *filter, size_t max_entries, unsigned flags,
                       cursus_entry_cb *cb, void *data,
                       const char **error_r) {
  ldapdir *d = dir;
  if (scope < CURSUS_SCOPE_BASE || scope > CURSUS_SCOPE_SUB) {
    *error_r = "bad search scope";
    return CURSUS_PERMFAIL;
  }
  search_req r = {base_or_default(d, base_dn), scope, filter, max_entries,
                  0, cb, data, false, 0};
  return run_search(d, &r, error_r);
}

static int ldap_search_url(void *dir, const char *url, size_t max_entries,
                           unsigned flags, cursus_entry_cb *cb, void *data,
                           const char **error_r) {
  char *base = NULL, *filter = NULL;
  int scope;
  if (!direntry_url(url, &base, &scope, &filter, error_r))
    return CURSUS_PERMFAIL;
  int rc = ldap_search(dir, base, scope, filter, max_entries, flags, cb, data,
                       error_r);
  g_free(base);
  g_free(filter);
  return rc;
}

/* ------------------------------------------------------- authentication */

typedef struct auth_req {
  const char *dn;
  const char *password;
} auth_req;

static int op_bind(LDAP *ld, void *data) {
  auth_req *a = data;
  struct berval cred = {strlen(a->password), (char *)a->password};
  return ldap_sasl_bind_s(ld, a->dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                          NULL);
}

/* check_hashes - PASSWORD against DN's userPassword values, read with the
 * service's identity */
static int check_hashes(ldapdir *d, const char *dn, const char *password,
                        const char **error_r) {
  cursus_entry *e = NULL;
  int rc = ldap_lookup_dn(d, dn, CURSUS_DIR_FRESH, &e, error_r);
  if (rc != CURSUS_OK) {
    if (rc == CURSUS_NONE)
      *error_r = "no such entry";
    return rc;
  }
  const cursus_attr *a = cursus_entry_attr(e, "userPassword");
  const cursus_directory_access *h = host->directory;
  rc = CURSUS_NONE;
  *error_r = a == NULL ? "no userPassword can be read (check the access "
                         "rights of the server's identity)"
                       : "wrong password";
  for (size_t i = 0; a != NULL && h != NULL && i < a->n_values; i++) {
    const char *why = NULL;
    int ok = h->check_password(a->values[i], password, &why);
    if (ok > 0)
      rc = CURSUS_OK;
    else if (ok < 0)
      host->log(d->ctx, CURSUS_LOG_WARNING, "%s: a userPassword value "
                "cannot be used: %s", dn, why);
  }
  direntry_unref(e);
  return rc;
}

static int ldap_authenticate(void *dir, const char *dn, const char *password,
                             const char **error_r) {
  ldapdir *d = dir;
  /* an empty password would be an unauthenticated bind, which succeeds */
  if (password == NULL || *password == '\0' || dn == NULL || *dn == '\0') {
    *error_r = "empty password";
    return CURSUS_NONE;
  }
  if (d->hash)
    return check_hashes(d, dn, password, error_r);
  auth_req a = {dn, password};
  char *error = NULL;
  int rc = pool_run(d->auth_pool, op_bind, &a, &error);
  if (rc == LDAP_SUCCESS) {
    g_free(error);
    return CURSUS_OK;
  }
  if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
      rc == LDAP_NO_SUCH_OBJECT) {
    g_free(error);
    *error_r = "wrong password";
    return CURSUS_NONE;
  }
  return result(rc, error, error_r);
}

/* --------------------------------------------------------- provisioning */

typedef struct write_req {
  int kind; /* 0 add, 1 modify, 2 delete */
  const char *dn;
  LDAPMod **mods;
  char *diag;
} write_req;

static int op_write(LDAP *ld, void *data) {
  write_req *w = data;
  int rc = w->kind == 0   ? ldap_add_ext_s(ld, w->dn, w->mods, NULL, NULL)
           : w->kind == 1 ? ldap_modify_ext_s(ld, w->dn, w->mods, NULL, NULL)
                          : ldap_delete_ext_s(ld, w->dn, NULL, NULL);
  char *diag = NULL;
  if (rc != LDAP_SUCCESS &&
      ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) ==
          LDAP_OPT_SUCCESS &&
      diag != NULL) {
    g_free(w->diag);
    w->diag = g_strdup(diag);
    ldap_memfree(diag);
  }
  return rc;
}

/* make_mods - LDAPMod array of N changes; free with free_mods */
static LDAPMod **make_mods(const cursus_mod *mods, size_t n) {
  static const int ops[] = {LDAP_MOD_ADD, LDAP_MOD_DELETE, LDAP_MOD_REPLACE};
  LDAPMod **out = g_new0(LDAPMod *, n + 1);
  for (size_t i = 0; i < n; i++) {
    out[i] = g_new0(LDAPMod, 1);
    out[i]->mod_op = ops[mods[i].op] | LDAP_MOD_BVALUES;
    out[i]->mod_type = (char *)mods[i].name;
    out[i]->mod_bvalues = g_new0(struct berval *, mods[i].n_values + 1);
    for (size_t v = 0; v < mods[i].n_values; v++) {
      struct berval *bv = g_new0(struct berval, 1);
      bv->bv_val = (char *)mods[i].values[v];
      bv->bv_len = strlen(mods[i].values[v]);
      out[i]->mod_bvalues[v] = bv;
    }
  }
  return out;
}

static void free_mods(LDAPMod **mods) {
  for (LDAPMod **m = mods; *m != NULL; m++) {
    for (struct berval **b = (*m)->mod_bvalues; *b != NULL; b++)
      g_free(*b);
    g_free((*m)->mod_bvalues);
    g_free(*m);
  }
  g_free(mods);
}

/* write - run a write, map its result, flush the cache */
static int write_op(ldapdir *d, write_req *w, const char **error_r) {
  char *error = NULL;
  int rc = pool_run(d->write_pool != NULL ? d->write_pool : d->pool,
                    op_write, w, &error);
  cache_clear_all(d);
  if (rc == LDAP_SUCCESS) {
    g_free(error);
    g_free(w->diag);
    return CURSUS_OK;
  }
  if (!pool_dead(rc) && rc != LDAP_BUSY) {
    g_free(error);
    *error_r = keep(g_strdup_printf("%s: %s%s%s", w->dn, ldap_err2string(rc),
                                    w->diag != NULL && *w->diag ? ": " : "",
                                    w->diag != NULL ? w->diag : ""));
    g_free(w->diag);
    return rc == LDAP_NO_SUCH_OBJECT && w->kind != 0 ? CURSUS_NONE
           : rc == LDAP_OTHER || rc == LDAP_INSUFFICIENT_ACCESS
               ? CURSUS_TEMPFAIL
               : CURSUS_PERMFAIL;
  }
  g_free(w->diag);
  return result(rc, error, error_r);
}

static int ldap_add(void *dir, const cursus_entry *e, const char **error_r) {
  GArray *m = g_array_new(FALSE, FALSE, sizeof(cursus_mod));
  for (size_t i = 0; i < e->n_attrs; i++) {
    cursus_mod mod = {CURSUS_MOD_ADD, e->attrs[i].name, e->attrs[i].n_values,
                      e->attrs[i].values};
    g_array_append_val(m, mod);
  }
  write_req w = {0, e->dn, make_mods((const cursus_mod *)m->data, m->len),
                 NULL};
  int rc = write_op(dir, &w, error_r);
  free_mods(w.mods);
  g_array_free(m, TRUE);
  return rc;
}

static int ldap_modify(void *dir, const char *dn, const cursus_mod *mods,
                       size_t n_mods, const char **error_r) {
  write_req w = {1, dn, make_mods(mods, n_mods), NULL};
  int rc = write_op(dir, &w, error_r);
  free_mods(w.mods);
  return rc;
}

static int ldap_remove(void *dir, const char *dn, const char **error_r) {
  write_req w = {2, dn, NULL, NULL};
  return write_op(dir, &w, error_r);
}

/* ----------------------------------------------------------------- life */

static int ldap_open(cursus_module_ctx *ctx, void **dir_r,
                     const char **error_r) {
  ldapdir *d = g_new0(ldapdir, 1);
  d->ctx = ctx;
  if (!read_settings(d, error_r)) {
    g_free(d->write_ps.bind_dn);
    g_free(d->write_ps.bind_password);
    settings_clear(&d->ps);
    g_free(d->base_dn);
    g_free(d);
    return CURSUS_PERMFAIL;
  }
  d->pool = pool_new(&d->ps);
  d->auth_pool = pool_new(&d->auth_ps);
  if (d->write_ps.bind_dn != NULL)
    d->write_pool = pool_new(&d->write_ps);
  long long size = host->setting_int(ctx, "cache_size", 100000);
  /* cache_size = 0: every lookup asks the server */
  for (int i = 0; size > 0 && i < CACHE_SHARDS; i++)
    d->cache[i] = host->cache_new(
        (size_t)(size + CACHE_SHARDS - 1) / CACHE_SHARDS,
        (unsigned)host->setting_int(ctx, "cache_ttl", 600),
        (unsigned)host->setting_int(ctx, "cache_negative_ttl", 60),
        direntry_cache_copy, direntry_cache_free);
  *dir_r = d;
  return CURSUS_OK;
}

static void ldap_close(void *dir) {
  ldapdir *d = dir;
  pool_free(&d->pool);
  pool_free(&d->auth_pool);
  pool_free(&d->write_pool);
  for (int i = 0; i < CACHE_SHARDS && d->cache[i] != NULL; i++)
    host->cache_free(&d->cache[i]);
  /* auth_ps and write_ps share ps's strings, but their own bind identity */
  g_free(d->write_ps.bind_dn);
  if (d->write_ps.bind_password != NULL)
    memset(d->write_ps.bind_password, 0, strlen(d->write_ps.bind_password));
  g_free(d->write_ps.bind_password);
  settings_clear(&d->ps);
  g_free(d->base_dn);
  g_free(d);
}

static int ldap_reload(void *dir, const char **error_r) {
  cache_clear_all(dir);
  return CURSUS_OK;
}

static void ldap_flush(void *dir) { cache_clear_all(dir); }

static void ldap_entry_free(void *dir, cursus_entry *e) { direntry_unref(e); }

static void ldap_stats(void *dir, cursus_buf *out) {
  ldapdir *d = dir;
  GString *s = g_string_new(NULL);
  pool_stats(d->pool, s);
  g_string_append_printf(s, "base_dn %s\nlookups %d\ncache_hits %d\n"
                            "cache_misses %d\n",
                         d->base_dn, g_atomic_int_get(&d->lookups),
                         g_atomic_int_get(&d->hits),
                         g_atomic_int_get(&d->misses));
  host->buf_append(out, s->str, s->len);
  g_string_free(s, TRUE);
}

static const cursus_directory_ops ldap_ops = {
    .size = sizeof(cursus_directory_ops),
    .open = ldap_open,
    .close = ldap_close,
    .reload = ldap_reload,
    .flush = ldap_flush,
    .lookup_domain = ldap_lookup_domain,
    .lookup_address = ldap_lookup_address,
    .lookup_uid = ldap_lookup_uid,
    .lookup_dn = ldap_lookup_dn,
    .search = ldap_search,
    .search_url = ldap_search_url,
    .authenticate = ldap_authenticate,
    .add = ldap_add,
    .modify = ldap_modify,
    .remove = ldap_remove,
    .entry_free = ldap_entry_free,
    .stats = ldap_stats,
};

static const cursus_keyword ldap_settings[] = {
    {"uri", CURSUS_VALUE_STRING, 1, 1,
     "LDAP servers in order of preference: ldap://, ldaps://, ldapi://"},
    {"base_dn", CURSUS_VALUE_STRING, 1, 1,
     "where users, groups and domains are searched"},
    {"bind_dn", CURSUS_VALUE_STRING, 1, 1,
     "identity of the server (simple bind); unset: anonymous"},
    {"bind_password", CURSUS_VALUE_STRING, 1, 1, "password of bind_dn"},
    {"bind_password_file", CURSUS_VALUE_PATH, 1, 1,
     "file whose first line is the password of bind_dn"},
    {"sasl_mech", CURSUS_VALUE_STRING, 1, 1,
     "EXTERNAL: bind with the ldapi:// peer or the TLS client certificate"},
    {"starttls", CURSUS_VALUE_BOOLEAN, 1, 1, "StartTLS on ldap:// servers"},
    {"tls_ca", CURSUS_VALUE_PATH, 1, 1, "CA certificates to verify servers"},
    {"tls_cert", CURSUS_VALUE_PATH, 1, 1, "client certificate (EXTERNAL)"},
    {"tls_key", CURSUS_VALUE_PATH, 1, 1, "key of the client certificate"},
    {"tls_verify", CURSUS_VALUE_BOOLEAN, 1, 1,
     "verify the server certificate (default yes)"},
    {"timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest wait for a server (default 5 s)"},
    {"retry_after", CURSUS_VALUE_DURATION, 1, 1,
     "how long a failed server is tried last (default 30 s)"},
    {"connections", CURSUS_VALUE_INTEGER, 1, 1,
     "connections per process (default 4)"},
    {"cache_size", CURSUS_VALUE_INTEGER, 1, 1,
     "lookups cached per process (default 100000; 0: no cache)"},
    {"cache_ttl", CURSUS_VALUE_DURATION, 1, 1,
     "lifetime of a cached entry (default 600 s)"},
    {"cache_negative_ttl", CURSUS_VALUE_DURATION, 1, 1,
     "lifetime of a cached miss (default 60 s)"},
    {"write_bind_dn", CURSUS_VALUE_STRING, 1, 1,
     "identity for provisioning (cursus user|group|domain); unset: bind_dn"},
    {"write_bind_password", CURSUS_VALUE_STRING, 1, 1,
     "password of write_bind_dn"},
    {"write_bind_password_file", CURSUS_VALUE_PATH, 1, 1,
     "file whose first line is the password of write_bind_dn"},
    {"auth", CURSUS_VALUE_STRING, 1, 1,
     "how passwords are checked: bind as the user (default), or hash: read "
     "userPassword and compare here"},
    {NULL, 0, 0, 0, NULL},
};

static int ldap_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  host = h;
  return CURSUS_OK;
}

CURSUS_MODULE(.name = "dir_ldap", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "directory in LDAP servers (libldap)",
              .kinds = CURSUS_KIND_DIRECTORY, .processes = CURSUS_PROC_ANY,
              .settings = ldap_settings, .init = ldap_init,
              .directory = &ldap_ops);
