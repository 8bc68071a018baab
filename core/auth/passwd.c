/*
 * passwd.c - password hashes and SCRAM secrets (see passwd.h)
 */
#include "build-config.h"
#include "passwd.h"

#include <argon2.h>
#include <crypt.h>
#include <glib.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gsasl.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define ARGON2_T 3
#define ARGON2_M (16 * 1024) /* KiB */
#define ARGON2_P 1
#define ARGON2_HASH 32

/* Digest schemes: name, GLib checksum, digest length. */
static const struct {
  const char *name;
  GChecksumType type;
  size_t len;
  bool salted;
} digests[] = {
    {"SSHA512", G_CHECKSUM_SHA512, 64, true},
    {"SHA512", G_CHECKSUM_SHA512, 64, false},
    {"SSHA256", G_CHECKSUM_SHA256, 32, true},
    {"SHA256", G_CHECKSUM_SHA256, 32, false},
    {"SSHA", G_CHECKSUM_SHA1, 20, true},
    {"SHA", G_CHECKSUM_SHA1, 20, false},
};

/* same_bytes - A and B are equal, in time independent of where they
 * differ */
static bool same_bytes(const void *a, const void *b, size_t len) {
  const unsigned char *x = a, *y = b;
  unsigned char diff = 0;
  for (size_t i = 0; i < len; i++)
    diff |= x[i] ^ y[i];
  return diff == 0;
}

static bool same_string(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  return la == lb && same_bytes(a, b, la);
}

/* digest - CHECKSUM of PASSWORD followed by SALT into OUT */
static void digest(GChecksumType type, const char *password,
                   const guchar *salt, size_t salt_len, guchar *out,
                   gsize *len) {
  GChecksum *c = g_checksum_new(type);
  g_checksum_update(c, (const guchar *)password, (gssize)strlen(password));
  if (salt_len > 0)
    g_checksum_update(c, salt, (gssize)salt_len);
  g_checksum_get_digest(c, out, len);
  g_checksum_free(c);
}

/* verify_digest - one of the SHA schemes; VALUE is the base64 part */
static int verify_digest(size_t i, const char *value, const char *password) {
  gsize n = 0;
  guchar *raw = g_base64_decode(value, &n);
  guchar mine[64];
  gsize mlen = sizeof(mine);
  int ok = 0;
  if (n >= digests[i].len && (digests[i].salted || n == digests[i].len)) {
    digest(digests[i].type, password, raw + digests[i].len,
           n - digests[i].len, mine, &mlen);
    ok = mlen == digests[i].len && same_bytes(mine, raw, mlen);
  }
  g_free(raw);
  return ok;
}

static int verify_crypt(const char *value, const char *password) {
  struct crypt_data *data = g_new0(struct crypt_data, 1);
  const char *out = crypt_r(password, value, data);
  int ok = out != NULL && *out != '*' && same_string(out, value);
  g_free(data);
  return ok;
}

static int verify_argon2(const char *value, const char *password) {
  argon2_type type = g_str_has_prefix(value, "$argon2id$") ? Argon2_id
                     : g_str_has_prefix(value, "$argon2i$") ? Argon2_i
                                                            : Argon2_d;
  return argon2_verify(value, password, strlen(password), type) == ARGON2_OK;
}

int passwd_verify(const char *stored, const char *password,
                  const char **why_r) {
  const char *close = stored[0] == '{' ? strchr(stored, '}') : NULL;
  if (close == NULL) {
    *why_r = "clear-text password values are not accepted";
    return -1;
  }
  char *scheme = g_strndup(stored + 1, (gsize)(close - stored - 1));
  const char *value = close + 1;
  int rc = -1;
  for (size_t i = 0; rc < 0 && i < G_N_ELEMENTS(digests); i++)
    if (g_ascii_strcasecmp(scheme, digests[i].name) == 0)
      rc = verify_digest(i, value, password);
  if (rc < 0 && g_ascii_strcasecmp(scheme, "CRYPT") == 0)
    rc = verify_crypt(value, password);
  if (rc < 0 && g_ascii_strcasecmp(scheme, "ARGON2") == 0)
    rc = verify_argon2(value, password);
  if (rc < 0)
    *why_r = "unknown password scheme";
  g_free(scheme);
  return rc;
}

bool passwd_scheme_known(const char *scheme) {
  return g_ascii_strcasecmp(scheme, "SSHA512") == 0 ||
         g_ascii_strcasecmp(scheme, "CRYPT") == 0 ||
         g_ascii_strcasecmp(scheme, "ARGON2") == 0;
}

/* random_bytes - LEN unpredictable bytes */
static bool random_bytes(void *out, size_t len) {
  return gnutls_rnd(GNUTLS_RND_RANDOM, out, len) == 0;
}

static char *hash_ssha512(const char *password) {
  guchar buf[64 + SALT_LEN];
  gsize len = 64;
  if (!random_bytes(buf + 64, SALT_LEN))
    return NULL;
  digest(G_CHECKSUM_SHA512, password, buf + 64, SALT_LEN, buf, &len);
  char *b64 = g_base64_encode(buf, sizeof(buf));
  char *out = g_strconcat("{SSHA512}", b64, NULL);
  g_free(b64);
  return out;
}

static char *hash_crypt(const char *password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  unsigned char rnd[SALT_LEN];
  if (!random_bytes(rnd, sizeof(rnd)) ||
      crypt_gensalt_rn("$6$", 0, (const char *)rnd, sizeof(rnd), salt,
                       sizeof(salt)) == NULL)
    return NULL;
  struct crypt_data *data = g_new0(struct crypt_data, 1);
  const char *out = crypt_r(password, salt, data);
  char *value = out != NULL && *out != '*' ? g_strconcat("{CRYPT}", out, NULL)
                                           : NULL;
  g_free(data);
  return value;
}

static char *hash_argon2(const char *password) {
  unsigned char salt[SALT_LEN];
  size_t len = argon2_encodedlen(ARGON2_T, ARGON2_M, ARGON2_P, SALT_LEN,
                                 ARGON2_HASH, Argon2_id);
  char *encoded = g_malloc(len);
  if (!random_bytes(salt, sizeof(salt)) ||
      argon2id_hash_encoded(ARGON2_T, ARGON2_M, ARGON2_P, password,
                            strlen(password), salt, sizeof(salt), ARGON2_HASH,
                            encoded, len) != ARGON2_OK) {
    g_free(encoded);
    return NULL;
  }
  char *value = g_strconcat("{ARGON2}", encoded, NULL);
  g_free(encoded);
  return value;
}

char *passwd_hash(const char *scheme, const char *password, char **error_r) {
  char *value = NULL;
  if (*password == '\0') {
    *error_r = g_strdup("empty password");
    return NULL;
  }
  if (g_ascii_strcasecmp(scheme, "SSHA512") == 0)
    value = hash_ssha512(password);
  else if (g_ascii_strcasecmp(scheme, "CRYPT") == 0)
    value = hash_crypt(password);
  else if (g_ascii_strcasecmp(scheme, "ARGON2") == 0)
    value = hash_argon2(password);
  else {
    *error_r = g_strdup_printf("unknown password scheme %s (SSHA512, CRYPT "
                               "or ARGON2)",
                               scheme);
    return NULL;
  }
  if (value == NULL)
    *error_r = g_strdup_printf("cannot hash the password with %s", scheme);
  return value;
}

/* scram_algorithms - the GnuTLS algorithms of MECH */
static bool scram_algorithms(const char *mech, gnutls_mac_algorithm_t *mac_r,
                             gnutls_digest_algorithm_t *dig_r, size_t *len_r) {
  if (g_ascii_strcasecmp(mech, "SCRAM-SHA-256") == 0) {
    *mac_r = GNUTLS_MAC_SHA256;
    *dig_r = GNUTLS_DIG_SHA256;
    *len_r = 32;
    return true;
  }
  if (g_ascii_strcasecmp(mech, "SCRAM-SHA-1") == 0) {
    *mac_r = GNUTLS_MAC_SHA1;
    *dig_r = GNUTLS_DIG_SHA1;
    *len_r = 20;
    return true;
  }
  return false;
}

char *passwd_scram(const char *mech, const char *password, unsigned iterations,
                   char **error_r) {
  gnutls_mac_algorithm_t mac;
  gnutls_digest_algorithm_t dig;
  size_t len;
  char *prepped = NULL;
  int rc = 0;
  unsigned char salt[SALT_LEN], salted[32], client[32], stored[32], server[32];
  if (!scram_algorithms(mech, &mac, &dig, &len)) {
    *error_r = g_strdup_printf("unknown SCRAM mechanism %s", mech);
    return NULL;
  }
  if (gsasl_saslprep(password, GSASL_ALLOW_UNASSIGNED, &prepped, &rc) !=
      GSASL_OK) {
    *error_r = g_strdup("the password cannot be prepared (SASLprep)");
    return NULL;
  }
  gnutls_datum_t key = {(unsigned char *)prepped, (unsigned)strlen(prepped)};
  gnutls_datum_t sd = {salt, SALT_LEN};
  bool ok = random_bytes(salt, sizeof(salt)) &&
            gnutls_pbkdf2(mac, &key, &sd, iterations, salted, len) == 0 &&
            gnutls_hmac_fast(mac, salted, len, "Client Key", 10, client) == 0 &&
            gnutls_hash_fast(dig, client, len, stored) == 0 &&
            gnutls_hmac_fast(mac, salted, len, "Server Key", 10, server) == 0;
  gsasl_free(prepped);
  if (!ok) {
    *error_r = g_strdup("cannot compute the SCRAM secrets");
    return NULL;
  }
  char *b_salt = g_base64_encode(salt, SALT_LEN);
  char *b_stored = g_base64_encode(stored, len);
  char *b_server = g_base64_encode(server, len);
  char *value = g_strdup_printf("%s$%u:%s$%s:%s", mech, iterations, b_salt,
                                b_stored, b_server);
  g_free(b_salt);
  g_free(b_stored);
  g_free(b_server);
  return value;
}

char *passwd_scram_secret(const char *value, const char *mech) {
  /* RFC 3112 allows spaces around the "$" separators */
  char **parts = g_strsplit(value, "$", 3);
  char *secret = NULL;
  if (g_strv_length(parts) == 3) {
    for (int i = 0; i < 3; i++)
      g_strstrip(parts[i]);
    const char *colon1 = strchr(parts[1], ':');
    const char *colon2 = strchr(parts[2], ':');
    if (g_ascii_strcasecmp(parts[0], mech) == 0 && colon1 != NULL &&
        colon2 != NULL)
      secret = g_strdup_printf("%s:%s", parts[1], parts[2]);
  }
  g_strfreev(parts);
  return secret;
}
