/*
 * auth_sasl.c - SASL mechanisms with GNU SASL: PLAIN, LOGIN and
 * SCRAM-SHA-256
 *
 * An auth-method module (sdk auth.h): protocol sessions never call it by
 * name, the host routes each exchange here.  It never reads the
 * directory: PLAIN and LOGIN ask the host to verify the password;
 * SCRAM-SHA-256 asks for the user's stored secrets (RFC 5803
 * "iterations:salt:StoredKey:ServerKey"), so no password is kept in clear.
 * CRAM-MD5 and DIGEST-MD5 would need clear passwords, which the directory
 * does not keep: they are not offered.
 *
 * Cleartext mechanisms (PLAIN, LOGIN) are offered over TLS and from the
 * local host only, unless `plaintext = always` (or `never`).  A login
 * whose SCRAM secrets are missing gets the same answers as any other
 * failing login (a salt derived from the name), so the exchange tells
 * nobody which names exist.  Settings in [module auth_sasl].
 */
#include "build-config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <gsasl.h>
#include <cursus/cursus.h>

static const cursus_host *host;
static cursus_module_ctx *mctx;
static Gsasl *gsasl;
/* mechanisms enabled by the settings (a subset of the supported ones) */
static char **enabled;
enum { PLAINTEXT_NEVER, PLAINTEXT_TLS, PLAINTEXT_ALWAYS };
static int plaintext = PLAINTEXT_TLS;
/* key of the salts given for logins without secrets */
static guint8 fake_key[32];

static const char *const supported[] = {"SCRAM-SHA-256", "PLAIN", "LOGIN",
                                        NULL};

/* One exchange. */
typedef struct exchange {
  Gsasl_session *sctx;
  char *mech;
  char *service, *remote_ip;
  cursus_auth_info info;
  cursus_buf user;    /* the canonical user the host named */
  int host_status;    /* the host's last answer (CURSUS_TEMPFAIL matters) */
  char error[256];
  bool secrets_loaded;
} exchange;

/* ------------------------------------------------------------ policy */

static bool is_loopback(const char *ip) {
  return ip != NULL && (g_str_has_prefix(ip, "127.") || strcmp(ip, "::1") == 0 ||
                        strcmp(ip, "unix") == 0);
}

static bool cleartext(const char *mech) {
  return g_ascii_strcasecmp(mech, "PLAIN") == 0 ||
         g_ascii_strcasecmp(mech, "LOGIN") == 0;
}

static bool is_enabled(const char *mech) {
  for (char **m = enabled; m != NULL && *m != NULL; m++)
    if (g_ascii_strcasecmp(*m, mech) == 0)
      return true;
  return false;
}

static int sasl_allowed(cursus_module_ctx *ctx, const char *mech,
                        const cursus_auth_info *info) {
  if (!is_enabled(mech))
    return 0;
  if (!cleartext(mech))
    return 1;
  switch (plaintext) {
  case PLAINTEXT_ALWAYS:
    return 1;
  case PLAINTEXT_NEVER:
    return 0;
  default:
    return info->tls || is_loopback(info->remote_ip);
  }
}

/* ----------------------------------------------------------- secrets */

/* key_form - a base64 key in the form GNU SASL wants it: base64 since
 * 2.0, hex before (whatever its header says); NULL when malformed */
static char *key_form(const char *b64) {
  gsize n = 0;
  guchar *bin = g_base64_decode(b64, &n);
  if (bin == NULL || n == 0 || n > 64) {
    g_free(bin);
    return NULL;
  }
  if (gsasl_check_version("2.0.0") != NULL) {
    g_free(bin);
    return g_strdup(b64);
  }
  char *hex = g_malloc(n * 2 + 1);
  for (gsize i = 0; i < n; i++)
    snprintf(hex + i * 2, 3, "%02x", bin[i]);
  g_free(bin);
  return hex;
}

/* set_fake_secrets - secrets no proof can match, with a salt that is the
 * same for the same name every time */
static void set_fake_secrets(exchange *x, const char *login) {
  GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, fake_key, sizeof(fake_key));
  g_hmac_update(h, (const guchar *)login, (gssize)strlen(login));
  guint8 digest[32];
  gsize len = sizeof(digest);
  g_hmac_get_digest(h, digest, &len);
  g_hmac_unref(h);
  char *salt = g_base64_encode(digest, 16);
  guint8 junk[32];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (guint8)g_random_int_range(0, 256);
  char *b64 = g_base64_encode(junk, sizeof(junk));
  char *key = key_form(b64);
  gsasl_property_set(x->sctx, GSASL_SCRAM_ITER, "4096");
  gsasl_property_set(x->sctx, GSASL_SCRAM_SALT, salt);
  gsasl_property_set(x->sctx, GSASL_SCRAM_STOREDKEY, key);
  gsasl_property_set(x->sctx, GSASL_SCRAM_SERVERKEY, key);
  g_free(key);
  g_free(b64);
  g_free(salt);
}

/* load_secrets - ask the host for LOGIN's SCRAM secrets and hand them to
 * GNU SASL */
static int load_secrets(exchange *x) {
  const char *login = gsasl_property_fast(x->sctx, GSASL_AUTHID);
  if (login == NULL)
    return GSASL_NO_AUTHID;
  x->secrets_loaded = true;
  cursus_buf secret = {0};
  const char *err = NULL;
  host->buf_free(&x->user);
  x->host_status = host->auth->scram_secret(login, x->mech, &x->info, &secret,
                                            &x->user, &err);
  if (x->host_status != CURSUS_OK) {
    g_strlcpy(x->error, err != NULL ? err : "no SCRAM secrets", sizeof(x->error));
    host->buf_free(&secret);
    host->buf_free(&x->user);
    set_fake_secrets(x, login);
    return GSASL_OK;
  }
  char **f = g_strsplit(secret.data, ":", 4);
  char *stored = g_strv_length(f) == 4 ? key_form(f[2]) : NULL;
  char *server = g_strv_length(f) == 4 ? key_form(f[3]) : NULL;
  if (stored == NULL || server == NULL || g_ascii_strtoull(f[0], NULL, 10) == 0) {
    host->log(mctx, CURSUS_LOG_ERROR, "malformed SCRAM secrets of %s", login);
    x->host_status = CURSUS_NONE;
    host->buf_free(&x->user);
    set_fake_secrets(x, login);
  } else {
    gsasl_property_set(x->sctx, GSASL_SCRAM_ITER, f[0]);
    gsasl_property_set(x->sctx, GSASL_SCRAM_SALT, f[1]);
    gsasl_property_set(x->sctx, GSASL_SCRAM_STOREDKEY, stored);
    gsasl_property_set(x->sctx, GSASL_SCRAM_SERVERKEY, server);
  }
  g_free(stored);
  g_free(server);
  g_strfreev(f);
  host->buf_free(&secret);
  return GSASL_OK;
}

/* authzid_ok - the authorization identity is none, or the user himself */
static bool authzid_ok(exchange *x) {
  const char *authz = gsasl_property_fast(x->sctx, GSASL_AUTHZID);
  const char *authn = gsasl_property_fast(x->sctx, GSASL_AUTHID);
  return authz == NULL || *authz == '\0' ||
         (authn != NULL && g_ascii_strcasecmp(authz, authn) == 0) ||
         (x->user.data != NULL && g_ascii_strcasecmp(authz, x->user.data) == 0);
}

/* callback - GNU SASL asks for a decision or a property */
static int callback(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop) {
  exchange *x = gsasl_session_hook_get(sctx);
  if (x == NULL)
    return GSASL_NO_CALLBACK;
  switch (prop) {
  case GSASL_VALIDATE_SIMPLE: {
    const char *login = gsasl_property_fast(sctx, GSASL_AUTHID);
    const char *password = gsasl_property_fast(sctx, GSASL_PASSWORD);
    const char *err = NULL;
    if (login == NULL || password == NULL)
      return GSASL_AUTHENTICATION_ERROR;
    host->buf_free(&x->user);
    x->host_status =
        host->auth->verify_password(login, password, &x->info, &x->user, &err);
    if (x->host_status != CURSUS_OK) {
      g_strlcpy(x->error, err != NULL ? err : "wrong password", sizeof(x->error));
      return GSASL_AUTHENTICATION_ERROR;
    }
    if (!authzid_ok(x)) {
      g_strlcpy(x->error, "may not act for another user", sizeof(x->error));
      x->host_status = CURSUS_NONE;
      return GSASL_AUTHENTICATION_ERROR;
    }
    return GSASL_OK;
  }
  case GSASL_SCRAM_ITER:
  case GSASL_SCRAM_SALT:
  case GSASL_SCRAM_STOREDKEY:
  case GSASL_SCRAM_SERVERKEY:
    return x->secrets_loaded ? GSASL_NO_CALLBACK : load_secrets(x);
  default:
    return GSASL_NO_CALLBACK;
  }
}

/* ---------------------------------------------------------- exchanges */

static int sasl_start(cursus_module_ctx *ctx, const char *mech,
                      const cursus_auth_info *info, void **exchange_r,
                      const char **error_r) {
  if (host->auth == NULL) {
    *error_r = "no authentication service in this process";
    return CURSUS_TEMPFAIL;
  }
  exchange *x = g_new0(exchange, 1);
  x->mech = g_ascii_strup(mech, -1);
  x->service = g_strdup(info->service);
  x->remote_ip = g_strdup(info->remote_ip);
  x->info = (cursus_auth_info){.service = x->service,
                               .remote_ip = x->remote_ip,
                               .tls = info->tls};
  int rc = gsasl_server_start(gsasl, x->mech, &x->sctx);
  if (rc != GSASL_OK) {
    *error_r = gsasl_strerror(rc);
    g_free(x->mech);
    g_free(x->service);
    g_free(x->remote_ip);
    g_free(x);
    return CURSUS_PERMFAIL;
  }
  gsasl_session_hook_set(x->sctx, x);
  gsasl_property_set(x->sctx, GSASL_SERVICE,
                     info->service != NULL ? info->service : "smtp");
  *exchange_r = x;
  return CURSUS_OK;
}

static int sasl_step(void *data, const char *in, size_t in_len, cursus_buf *out,
                     const char **user_r, const char **error_r) {
  exchange *x = data;
  char *output = NULL;
  size_t output_len = 0;
  x->error[0] = '\0';
  int rc = gsasl_step(x->sctx, in, in != NULL ? in_len : 0, &output,
                      &output_len);
  if (output != NULL && output_len > 0)
    host->buf_append(out, output, output_len);
  gsasl_free(output);
  switch (rc) {
  case GSASL_NEEDS_MORE:
    return CURSUS_AGAIN;
  case GSASL_OK:
    if (x->host_status != CURSUS_OK || x->user.len == 0 || !authzid_ok(x)) {
      *error_r = "authentication refused";
      return CURSUS_NONE;
    }
    *user_r = x->user.data;
    return CURSUS_OK;
  case GSASL_AUTHENTICATION_ERROR:
  case GSASL_NO_AUTHID:
  case GSASL_NO_PASSWORD:
  case GSASL_SASLPREP_ERROR:
    *error_r = x->error[0] != '\0' ? x->error : gsasl_strerror(rc);
    return x->host_status == CURSUS_TEMPFAIL ? CURSUS_TEMPFAIL : CURSUS_NONE;
  default:
    *error_r = gsasl_strerror(rc);
    return CURSUS_PERMFAIL;
  }
}

static void sasl_finish(void *data) {
  exchange *x = data;
  if (x == NULL)
    return;
  gsasl_finish(x->sctx);
  host->buf_free(&x->user);
  g_free(x->mech);
  g_free(x->service);
  g_free(x->remote_ip);
  g_free(x);
}

/* ------------------------------------------------------------- module */

static int sasl_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  host = h;
  mctx = ctx;
  /* host->auth is plugged in after the modules are initialised */
  int rc = gsasl_init(&gsasl);
  if (rc != GSASL_OK) {
    *error_r = gsasl_strerror(rc);
    return CURSUS_PERMFAIL;
  }
  gsasl_callback_set(gsasl, callback);
  const char *pt = h->setting(ctx, "plaintext");
  if (pt == NULL || g_ascii_strcasecmp(pt, "tls") == 0)
    plaintext = PLAINTEXT_TLS;
  else if (g_ascii_strcasecmp(pt, "always") == 0)
    plaintext = PLAINTEXT_ALWAYS;
  else if (g_ascii_strcasecmp(pt, "never") == 0)
    plaintext = PLAINTEXT_NEVER;
  else {
    *error_r = "[module auth_sasl] plaintext must be tls, always or never";
    return CURSUS_PERMFAIL;
  }
  const char *mechs = h->setting(ctx, "mechanisms");
  char **want = g_strsplit_set(mechs != NULL ? mechs : "SCRAM-SHA-256 PLAIN LOGIN",
                               " ,", -1);
  GPtrArray *on = g_ptr_array_new();
  for (char **w = want; *w != NULL; w++) {
    if (**w == '\0')
      continue;
    bool known = false;
    for (const char *const *s = supported; *s != NULL; s++)
      known |= g_ascii_strcasecmp(*s, *w) == 0;
    if (!known || !gsasl_server_support_p(gsasl, *w)) {
      static char msg[160];
      g_snprintf(msg, sizeof(msg),
                 "[module auth_sasl] mechanisms: %s is not available (choose "
                 "from SCRAM-SHA-256 PLAIN LOGIN)",
                 *w);
      *error_r = msg;
      g_strfreev(want);
      g_ptr_array_free(on, TRUE);
      return CURSUS_PERMFAIL;
    }
    g_ptr_array_add(on, g_ascii_strup(*w, -1));
  }
  g_ptr_array_add(on, NULL);
  g_strfreev(want);
  g_strfreev(enabled);
  enabled = (char **)g_ptr_array_free(on, FALSE);
  for (size_t i = 0; i < sizeof(fake_key); i += 4) {
    guint32 r = g_random_int();
    memcpy(fake_key + i, &r, 4);
  }
  return CURSUS_OK;
}

static void sasl_fini(cursus_module_ctx *ctx) {
  g_strfreev(enabled);
  enabled = NULL;
  gsasl_done(gsasl);
  gsasl = NULL;
}

static const cursus_keyword sasl_settings[] = {
    {"mechanisms", CURSUS_VALUE_STRING, 1, 1,
     "mechanisms offered, from SCRAM-SHA-256 PLAIN LOGIN (all)"},
    {"plaintext", CURSUS_VALUE_STRING, 1, 1,
     "PLAIN and LOGIN: tls (over TLS or from this host), always, never"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_auth_ops sasl_ops = {
    .size = sizeof(cursus_auth_ops),
    .mechanisms = supported,
    .mechanism_allowed = sasl_allowed,
    .start = sasl_start,
    .step = sasl_step,
    .finish = sasl_finish,
};

CURSUS_MODULE(.name = "auth_sasl", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "SASL PLAIN, LOGIN and SCRAM-SHA-256 (GNU SASL)",
              .kinds = CURSUS_KIND_AUTH,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_TOOL,
              .settings = sasl_settings, .init = sasl_init, .fini = sasl_fini,
              .auth = &sasl_ops);
