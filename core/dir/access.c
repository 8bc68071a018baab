/*
 * access.c - host->directory (see access.h)
 */
#include "build-config.h"
#include "access.h"
#include "autoreply.h"
#include "dir.h"
#include "user.h"
#include "values.h"
#include "auth/passwd.h"
#include "module/host.h"

#include <string.h>

static GPrivate errbuf = G_PRIVATE_INIT(g_free);

/* keep_error - MSG (allocated) as this thread's error */
static const char *keep_error(char *msg) {
  g_private_replace(&errbuf, msg);
  return msg;
}

static int find_user(const char *login, cursus_entry **entry_r,
                     cursus_buf *user_id, const char **error_r) {
  dir_user *u = NULL;
  char *error = NULL;
  int rc = dir_find_user(login, 0, &u, &error);
  if (rc != CURSUS_OK) {
    *error_r = keep_error(error);
    return rc == CURSUS_PERMFAIL ? CURSUS_TEMPFAIL : rc;
  }
  g_free(error);
  if (user_id != NULL)
    host_table()->buf_append(user_id, u->id, strlen(u->id));
  *entry_r = u->entry;
  u->entry = NULL;
  dir_user_free(&u);
  return CURSUS_OK;
}

static int find_domain(const char *domain, cursus_entry **entry_r,
                       const char **error_r) {
  dir_domain *d = NULL;
  char *error = NULL;
  int rc = dir_find_domain(domain, 0, &d, &error);
  if (rc != CURSUS_OK) {
    *error_r = keep_error(error);
    return rc == CURSUS_PERMFAIL ? CURSUS_TEMPFAIL : rc;
  }
  g_free(error);
  *entry_r = d->entry;
  d->entry = NULL;
  dir_domain_free(&d);
  return CURSUS_OK;
}

static void entry_free(cursus_entry **entry) { dir_entry_free(entry); }

static int check_value(const char *name, const char *value,
                       const char **why_r) {
  char *error = NULL;
  if (dir_check_value(name, value, &error))
    return 1;
  /* "ATTR: reason" -> "reason": the caller names the attribute */
  const char *colon = strstr(error, ": ");
  *why_r = keep_error(g_strdup(colon != NULL ? colon + 2 : error));
  g_free(error);
  return 0;
}

static int check_password(const char *stored, const char *password,
                          const char **why_r) {
  return passwd_verify(stored, password, why_r);
}

static const cursus_directory_access table = {
    .size = sizeof(cursus_directory_access),
    .find_user = find_user,
    .find_domain = find_domain,
    .entry_free = entry_free,
    .check_value = check_value,
    .check_password = check_password,
    .autoreply = autoreply_handle,
};

const cursus_directory_access *access_table(void) { return &table; }
