/*
 * pool.c - connections to LDAP servers with failover (see pool.h)
 */
#include "pool.h"

#include <sasl/sasl.h>
#include <string.h>

typedef struct conn {
  LDAP *ld;
  int server; /* index in uris */
} conn;

struct pool {
  const pool_settings *s;
  guint n_servers;
  GMutex lock;
  GCond freed;
  gint64 *down_until; /* per server, monotonic microseconds */
  conn *conns;
  GQueue idle; /* of conn* */
  guint connects, failovers, dead;
};

/* dead codes: the server went away, did not answer, or refused to serve */
bool pool_dead(int code) {
  return code == LDAP_SERVER_DOWN || code == LDAP_TIMEOUT ||
         code == LDAP_CONNECT_ERROR || code == LDAP_UNAVAILABLE ||
         code == LDAP_BUSY || code == LDAP_TIMELIMIT_EXCEEDED;
}

pool *pool_new(const pool_settings *s) {
  pool *p = g_new0(pool, 1);
  p->s = s;
  p->n_servers = g_strv_length(s->uris);
  p->down_until = g_new0(gint64, p->n_servers);
  p->conns = g_new0(conn, MAX(s->size, 1));
  g_mutex_init(&p->lock);
  g_cond_init(&p->freed);
  for (guint i = 0; i < MAX(s->size, 1); i++)
    g_queue_push_tail(&p->idle, &p->conns[i]);
  return p;
}

void pool_free(pool **pp) {
  pool *p = *pp;
  if (p == NULL)
    return;
  for (guint i = 0; i < MAX(p->s->size, 1); i++)
    if (p->conns[i].ld != NULL)
      ldap_unbind_ext_s(p->conns[i].ld, NULL, NULL);
  g_queue_clear(&p->idle);
  g_mutex_clear(&p->lock);
  g_cond_clear(&p->freed);
  g_free(p->conns);
  g_free(p->down_until);
  g_free(p);
  *pp = NULL;
}

/* sasl_quiet - answers SASL prompts with their defaults (EXTERNAL asks
 * nothing that matters) */
static int sasl_quiet(LDAP *ld, unsigned flags, void *defaults, void *in) {
  for (sasl_interact_t *i = in; i->id != SASL_CB_LIST_END; i++) {
    i->result = i->defresult != NULL ? i->defresult : "";
    i->len = (unsigned)strlen(i->result);
  }
  return LDAP_SUCCESS;
}

/* set_options - timeouts, protocol and TLS of a new handle */
static int set_options(const pool_settings *s, LDAP *ld) {
  int version = LDAP_VERSION3, on = 1;
  struct timeval tv = {(time_t)(s->timeout_ms / 1000),
                       (suseconds_t)(s->timeout_ms % 1000) * 1000};
  int verify = s->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
  int rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_RESTART, &on);
  if (rc == LDAP_SUCCESS && s->tls_ca != NULL)
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, s->tls_ca);
  if (rc == LDAP_SUCCESS && s->tls_cert != NULL)
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CERTFILE, s->tls_cert);
  if (rc == LDAP_SUCCESS && s->tls_key != NULL)
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_KEYFILE, s->tls_key);
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &verify);
  int zero = 0;
  if (rc == LDAP_SUCCESS)
    rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
  return rc;
}

/* open_server - a bound handle to server I; its code and *why_r */
static int open_server(pool *p, guint i, LDAP **ld_r, char **why_r) {
  const pool_settings *s = p->s;
  LDAP *ld = NULL;
  int rc = ldap_initialize(&ld, s->uris[i]);
  if (rc == LDAP_SUCCESS)
    rc = set_options(s, ld);
  /* contact the server now, so a dead one is passed over here */
  if (rc == LDAP_SUCCESS)
    rc = ldap_connect(ld);
  if (rc == LDAP_SUCCESS && s->starttls)
    rc = ldap_start_tls_s(ld, NULL, NULL);
  if (rc == LDAP_SUCCESS && s->bind_as_service) {
    if (s->sasl_mech != NULL) {
      rc = ldap_sasl_interactive_bind_s(ld, NULL, s->sasl_mech, NULL, NULL,
                                        LDAP_SASL_QUIET, sasl_quiet, NULL);
    } else if (s->bind_dn != NULL) {
      struct berval cred = {s->bind_password != NULL
                                ? strlen(s->bind_password)
                                : 0,
                            s->bind_password};
      rc = ldap_sasl_bind_s(ld, s->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
                            NULL, NULL);
    }
  }
  if (rc != LDAP_SUCCESS) {
    char *diag = NULL;
    if (ld != NULL)
      ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    *why_r = g_strdup_printf("%s: %s%s%s", s->uris[i], ldap_err2string(rc),
                             diag != NULL && *diag ? ": " : "",
                             diag != NULL ? diag : "");
    if (diag != NULL)
      ldap_memfree(diag);
    if (ld != NULL)
      ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
  }
  *ld_r = ld;
  return LDAP_SUCCESS;
}

/* mark - server I failed (DOWN) or works */
static void mark(pool *p, guint i, bool down) {
  g_mutex_lock(&p->lock);
  p->down_until[i] = down ? g_get_monotonic_time() +
                                (gint64)p->s->retry_after_s * G_USEC_PER_SEC
                          : 0;
  g_mutex_unlock(&p->lock);
}

/* connect_conn - bind C to the first server that answers: the working
 * ones in order, then those that failed lately */
static int connect_conn(pool *p, conn *c, char **error_r) {
  gint64 now = g_get_monotonic_time();
  GString *why = g_string_new(NULL);
  int rc = LDAP_SERVER_DOWN;
  for (int pass = 0; pass < 2 && c->ld == NULL; pass++) {
    for (guint i = 0; i < p->n_servers && c->ld == NULL; i++) {
      g_mutex_lock(&p->lock);
      bool down = p->down_until[i] > now;
      g_mutex_unlock(&p->lock);
      if (down != (pass == 1))
        continue;
      char *err = NULL;
      rc = open_server(p, i, &c->ld, &err);
      if (rc == LDAP_SUCCESS) {
        c->server = (int)i;
        mark(p, i, false);
        g_atomic_int_inc(&p->connects);
      } else {
        g_string_append_printf(why, "%s%s", why->len ? "; " : "", err);
        g_free(err);
        mark(p, i, true);
      }
    }
  }
  if (c->ld == NULL)
    *error_r = g_strdup_printf("no directory server answers (%s)", why->str);
  g_string_free(why, TRUE);
  return c->ld != NULL ? LDAP_SUCCESS : (rc == LDAP_SUCCESS ? LDAP_SERVER_DOWN
                                                             : rc);
}

/* acquire - a free connection, waiting up to the timeout */
static conn *acquire(pool *p) {
  gint64 end = g_get_monotonic_time() + (gint64)p->s->timeout_ms * 1000;
  g_mutex_lock(&p->lock);
  while (g_queue_is_empty(&p->idle))
    if (!g_cond_wait_until(&p->freed, &p->lock, end))
      break;
  conn *c = g_queue_pop_head(&p->idle);
  g_mutex_unlock(&p->lock);
  return c;
}

static void release(pool *p, conn *c) {
  g_mutex_lock(&p->lock);
  g_queue_push_head(&p->idle, c);
  g_cond_signal(&p->freed);
  g_mutex_unlock(&p->lock);
}

/* drop - C's connection is dead */
static void drop(pool *p, conn *c) {
  if (c->ld != NULL)
    ldap_unbind_ext_s(c->ld, NULL, NULL);
  c->ld = NULL;
  mark(p, (guint)c->server, true);
  g_atomic_int_inc(&p->dead);
}

int pool_run(pool *p, pool_op *op, void *data, char **error_r) {
  conn *c = acquire(p);
  if (c == NULL) {
    *error_r = g_strdup("every directory connection is busy");
    return LDAP_BUSY;
  }
  int rc = LDAP_SERVER_DOWN;
  for (int attempt = 0; attempt < 2; attempt++) {
    if (c->ld == NULL) {
      g_free(*error_r);
      *error_r = NULL;
      rc = connect_conn(p, c, error_r);
      if (rc != LDAP_SUCCESS)
        break;
    }
    rc = op(c->ld, data);
    if (!pool_dead(rc))
      break;
    char *diag = NULL;
    ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    g_free(*error_r);
    *error_r = g_strdup_printf("%s: %s%s%s", p->s->uris[c->server],
                               ldap_err2string(rc), diag && *diag ? ": " : "",
                               diag != NULL ? diag : "");
    if (diag != NULL)
      ldap_memfree(diag);
    drop(p, c);
    if (attempt == 0)
      g_atomic_int_inc(&p->failovers);
  }
  release(p, c);
  return rc;
}

void pool_stats(pool *p, GString *out) {
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&p->lock);
  for (guint i = 0; i < p->n_servers; i++)
    g_string_append_printf(out, "server %s %s\n", p->s->uris[i],
                           p->down_until[i] > now ? "down" : "up");
  g_string_append_printf(out, "connections %u\nidle %u\nconnects %u\n"
                              "dead %u\nretried %u\n",
                         MAX(p->s->size, 1), g_queue_get_length(&p->idle),
                         p->connects, p->dead, p->failovers);
  g_mutex_unlock(&p->lock);
}
