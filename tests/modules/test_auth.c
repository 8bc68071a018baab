/*
 * test_auth.c - an auth-method module for the tests of the host's SASL
 * dispatch and password verification
 *
 * Mechanisms: X-TEST-PLAIN (one client message "login\0password",
 * verified with host->auth->verify_password), X-TEST-TLS (the same, but
 * offered only over TLS) and X-TEST-ECHO (the server speaks first with
 * "hello", then accepts any login as itself: tests challenges).
 */
#include <stdlib.h>
#include <string.h>
#include <cursus/cursus.h>

static const cursus_host *host;

typedef struct exchange {
  char mech[32];
  cursus_auth_info info;
  int step;
  cursus_buf user;
} exchange;

static const char *const mechs[] = {"X-TEST-PLAIN", "X-TEST-TLS",
                                    "X-TEST-ECHO", NULL};

static int allowed(cursus_module_ctx *ctx, const char *mech,
                   const cursus_auth_info *info) {
  return strcmp(mech, "X-TEST-TLS") != 0 || info->tls;
}

static int start(cursus_module_ctx *ctx, const char *mech,
                 const cursus_auth_info *info, void **exchange_r,
                 const char **error_r) {
  exchange *x = calloc(1, sizeof(*x));
  strncpy(x->mech, mech, sizeof(x->mech) - 1);
  x->info = *info;
  *exchange_r = x;
  return CURSUS_OK;
}

static int step(void *data, const char *in, size_t in_len, cursus_buf *out,
                const char **user_r, const char **error_r) {
  exchange *x = data;
  if (strcmp(x->mech, "X-TEST-ECHO") == 0 && x->step++ == 0) {
    host->buf_append(out, "hello", 5);
    return CURSUS_AGAIN;
  }
  if (in == NULL) {
    *error_r = "the client must speak first";
    return CURSUS_PERMFAIL;
  }
  const char *nul = memchr(in, '\0', in_len);
  if (strcmp(x->mech, "X-TEST-ECHO") == 0) {
    host->buf_append(&x->user, in, in_len);
    *user_r = x->user.data;
    return CURSUS_OK;
  }
  if (nul == NULL) {
    *error_r = "expected login NUL password";
    return CURSUS_PERMFAIL;
  }
  char *login = strndup(in, (size_t)(nul - in));
  char *password = strndup(nul + 1, in_len - (size_t)(nul - in) - 1);
  int rc = host->auth->verify_password(login, password, &x->info, &x->user,
                                       error_r);
  free(login);
  free(password);
  if (rc == CURSUS_OK)
    *user_r = x->user.data;
  return rc;
}

static void finish(void *data) {
  exchange *x = data;
  host->buf_free(&x->user);
  free(x);
}

static const cursus_auth_ops ops = {
    .size = sizeof(cursus_auth_ops),
    .mechanisms = mechs,
    .mechanism_allowed = allowed,
    .start = start,
    .step = step,
    .finish = finish,
};

static int init(cursus_module_ctx *ctx, const cursus_host *h,
                const char **error_r) {
  host = h;
  return CURSUS_OK;
}

CURSUS_MODULE(.name = "test_auth", .version = "1.0", .vendor = "Cursus tests",
              .license = "MIT", .description = "SASL mechanisms for tests",
              .kinds = CURSUS_KIND_AUTH, .init = init, .auth = &ops);
