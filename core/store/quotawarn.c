/*
 * quotawarn.c - warning users whose mailbox crosses the [store]
 * quota_warn threshold: once per crossing, again after
 * quota_warn_interval while they stay above it
 *
 * The warning goes straight into the user's INBOX through the store
 * (past the quota: it must arrive when the mailbox is full), not through
 * the queue.
 */
#include "build-config.h"
#include "quotawarn.h"
#include "store.h"
#include "warning.h"
#include "config/config.h"
#include "dir/dir.h"
#include "dir/user.h"
#include "util/log.h"

#include <string.h>

/* user_address - USER's mail address from the directory, or the id */
static char *user_address(const char *user) {
  dir_user *du = NULL;
  char *error = NULL;
  char *addr = NULL;
  if (dir_running() && dir_find_user(user, 0, &du, &error) == CURSUS_OK) {
    const char **mail = dir_entry_values(du->entry, "mail");
    if (mail != NULL && mail[0] != NULL)
      addr = g_strdup(mail[0]);
    g_free(mail);
    dir_user_free(&du);
  }
  g_free(error);
  return addr != NULL ? addr : g_strdup(user);
}

/* deliver - MSG into USER's INBOX, whatever the quota says */
static int deliver(cursus_store_user *u, const GString *msg,
                   const char **error_r) {
  const cursus_store_ops *ops = store_ops();
  void *h = store_backend(error_r);
  if (h == NULL)
    return CURSUS_TEMPFAIL;
  cursus_store_append_params p = {.size = sizeof(p), .size_hint = msg->len};
  cursus_store_append *a = ops->append_begin(h, &p, error_r);
  if (a == NULL)
    return CURSUS_TEMPFAIL;
  cursus_store_target t = {.size = sizeof(t),
                           .mailbox = "INBOX",
                           .options = CURSUS_STORE_TARGET_IGNORE_QUOTA};
  cursus_store_append_result res = {.size = sizeof(res)};
  int r = ops->append_target(a, u, &t, error_r);
  if (r == CURSUS_OK)
    r = ops->append_write(a, msg->str, msg->len, error_r);
  if (r == CURSUS_OK)
    r = ops->append_commit(a, &res, error_r);
  ops->append_free(&a);
  return r;
}

int store_quota_notify(cursus_store_user *u, const char **error_r) {
  static GPrivate err_tls = G_PRIVATE_INIT(g_free);
  const cursus_store_ops *ops = store_ops();
  cursus_store_policy pol = {.size = sizeof(pol)};
  store_policy(&pol);
  if (ops == NULL || pol.warn_percent == 0)
    return CURSUS_NONE;
  cursus_store_quota q = {.size = sizeof(q)};
  if (ops->quota_get(u, NULL, &q, error_r) != CURSUS_OK)
    return CURSUS_TEMPFAIL;
  unsigned pct = store_warning_percent(&q);
  int64_t now = g_get_real_time() / G_USEC_PER_SEC;
  if (pct < pol.warn_percent) {
    /* below the threshold again: the next crossing warns */
    if (q.warned_at != 0)
      ops->quota_set_warned(u, 0, error_r);
    return CURSUS_NONE;
  }
  if (q.warned_at != 0 && now - q.warned_at < pol.warn_interval)
    return CURSUS_NONE;
  const char *user = ops->user_id(u);
  char *address = user_address(user);
  char *error = NULL;
  config *cfg = config_current();
  GString *msg = store_warning_compose(cfg, user, address, &q, &error);
  int r;
  if (msg == NULL) {
    g_private_replace(&err_tls, error);
    *error_r = error;
    r = CURSUS_TEMPFAIL;
  } else {
    /* claim first, atomically: of deliveries finishing at once (threads
     * of a channel job, several jobs, stored) only one warns */
    if (CURSUS_HAS(ops, quota_claim_warned))
      r = ops->quota_claim_warned(u, q.warned_at, now, error_r);
    else
      r = ops->quota_set_warned(u, now, error_r);
    if (r == CURSUS_NONE) {
      g_string_free(msg, TRUE);
      g_free(address);
      return CURSUS_NONE;
    }
    if (r == CURSUS_OK)
      r = deliver(u, msg, error_r);
    if (r != CURSUS_OK) {
      const char *e2;
      ops->quota_set_warned(u, q.warned_at, &e2);
    } else {
      log_info("store: %s is at %u%% of their quota; warned at %s", user,
               pct, address);
    }
    g_string_free(msg, TRUE);
  }
  g_free(address);
  return r;
}
