/*
 * cmd_quota.c - `cursus quota` (usage per user and domain, users over the
 * warning threshold or over quota, sending warnings) and `cursus expire`
 * (the expiry rules, now)
 */
#include "build-config.h"
#include "storetool.h"
#include "config/config.h"
#include "module/host.h"
#include "store/expire.h"
#include "store/store.h"
#include "store/warning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* str_cmp - g_ptr_array_sort comparison of strings */
static gint str_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct quota_opts {
  const char *user;
  const char *domain;
  bool over_threshold; /* only users at or above [store] quota_warn */
  bool over_quota;     /* only users at or over a limit */
  bool notify;         /* send warnings where due */
} quota_opts;

static int collect(void *data, const char *user, const char *partition) {
  g_ptr_array_add(data, g_strdup(user));
  return 0;
}

/* in_domain - is USER (a canonical id) in DOMAIN?  Users of the default
 * domain have ids without one. */
static bool in_domain(const store_tool *t, const char *user,
                      const char *domain) {
  const char *at = strrchr(user, '@');
  if (at != NULL)
    return g_ascii_strcasecmp(at + 1, domain) == 0;
  const char *def = conf_get(t->cfg->conf, "directory", "default_domain");
  return def != NULL && g_ascii_strcasecmp(def, domain) == 0;
}

static void print_limit(int64_t limit, bool kb) {
  if (limit < 0)
    printf(" %12s", "unlimited");
  else
    printf(" %12" G_GINT64_FORMAT, kb ? (limit + 1023) / 1024 : limit);
}

static int run_quota(store_tool *t, const quota_opts *o) {
  GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
  const char *error;
  if (o->user != NULL)
    g_ptr_array_add(users, g_strdup(o->user));
  else if (t->ops->users_list(t->store, collect, users, &error) != CURSUS_OK) {
    fprintf(stderr, "cursus: %s\n", error);
    g_ptr_array_free(users, TRUE);
    return 1;
  }
  g_ptr_array_sort(users, str_cmp);
  cursus_store_policy pol = {.size = sizeof(pol)};
  store_policy(&pol);
  printf("%-32s %12s %12s %4s %10s %10s %4s  %s\n", "USER", "USED(KB)",
         "QUOTA(KB)", "%", "MESSAGES", "MSGQUOTA", "%", "STATE");
  int rc = 0;
  for (guint i = 0; i < users->len; i++) {
    const char *user = users->pdata[i];
    if (o->domain != NULL && !in_domain(t, user, o->domain))
      continue;
    cursus_store_user *u = NULL;
    /* the user's own account (directory limits), not an admin view */
    if (store_user_open(user, 0, &u, &error) != CURSUS_OK &&
        (u = admin_open_user(t, user, 0)) == NULL) {
      rc = 1;
      continue;
    }
    cursus_store_quota q = {.size = sizeof(q)};
    if (t->ops->quota_get(u, NULL, &q, &error) != CURSUS_OK) {
      fprintf(stderr, "cursus: %s: %s\n", user, error);
      t->ops->user_close(&u);
      rc = 1;
      continue;
    }
    unsigned pct = store_warning_percent(&q);
    bool over = (q.bytes_limit >= 0 && q.bytes_used >= (uint64_t)q.bytes_limit) ||
                (q.messages_limit >= 0 &&
                 q.messages_used >= (uint64_t)q.messages_limit);
    bool warn = pol.warn_percent > 0 && pct >= pol.warn_percent;
    if ((o->over_quota && !over) || (o->over_threshold && !warn)) {
      t->ops->user_close(&u);
      continue;
    }
    unsigned pb = q.bytes_limit > 0
                      ? (unsigned)(q.bytes_used * 100 / (uint64_t)q.bytes_limit)
                      : 0;
    unsigned pm = q.messages_limit > 0
                      ? (unsigned)(q.messages_used * 100 /
                                   (uint64_t)q.messages_limit)
                      : 0;
    printf("%-32s %12" G_GUINT64_FORMAT, user, (q.bytes_used + 1023) / 1024);
    print_limit(q.bytes_limit, true);
    printf(" %4u %10" G_GUINT64_FORMAT, pb, q.messages_used);
    print_limit(q.messages_limit, false);
    printf(" %4u  %s", pm, over ? "OVER" : warn ? "WARN" : "ok");
    if (over && q.over_since != 0) {
      int64_t hours = (g_get_real_time() / G_USEC_PER_SEC - q.over_since) / 3600;
      printf(" (for %" G_GINT64_FORMAT "h)", hours);
    }
    if (o->notify) {
      int r = host_table()->store->quota_notify(u, &error);
      if (r == CURSUS_OK)
        printf(" warned");
      else if (r != CURSUS_NONE) {
        printf(" (warning failed: %s)", error);
        rc = 1;
      }
    }
    printf("\n");
    t->ops->user_close(&u);
  }
  g_ptr_array_free(users, TRUE);
  return rc;
}

int cmd_quota(cmd_ctx *ctx) {
  quota_opts o = {0};
  for (int i = 1; i < ctx->argc; i++) {
    const char *a = ctx->argv[i];
    if ((strcmp(a, "-u") == 0 || strcmp(a, "--user") == 0) && i + 1 < ctx->argc)
      o.user = ctx->argv[++i];
    else if ((strcmp(a, "-d") == 0 || strcmp(a, "--domain") == 0) &&
             i + 1 < ctx->argc)
      o.domain = ctx->argv[++i];
    else if (strcmp(a, "-w") == 0 || strcmp(a, "--over-threshold") == 0)
      o.over_threshold = true;
    else if (strcmp(a, "-o") == 0 || strcmp(a, "--over-quota") == 0)
      o.over_quota = true;
    else if (strcmp(a, "-n") == 0 || strcmp(a, "--notify") == 0)
      o.notify = true;
    else {
      fprintf(stderr,
              "usage: cursus quota [-u USER] [-d DOMAIN] [-w] [-o] [-n]\n"
              "  -w only users at or above [store] quota_warn\n"
              "  -o only users over quota\n"
              "  -n send the warnings that are due\n");
      return 2;
    }
  }
  store_tool t;
  if (!store_tool_open(ctx, &t))
    return 1;
  int rc = run_quota(&t, &o);
  store_tool_close(&t);
  return rc;
}

static void print_line(void *data, const char *line) { printf("%s\n", line); }

int cmd_expire(cmd_ctx *ctx) {
  bool dry = false;
  const char *user = NULL;
  for (int i = 1; i < ctx->argc; i++) {
    if (strcmp(ctx->argv[i], "-n") == 0)
      dry = true;
    else if ((strcmp(ctx->argv[i], "-u") == 0) && i + 1 < ctx->argc)
      user = ctx->argv[++i];
    else {
      fprintf(stderr, "usage: cursus expire [-n] [-u USER]\n"
                      "  applies [store] expire_rules now (-n: only report)\n");
      return 2;
    }
  }
  store_tool t;
  if (!store_tool_open(ctx, &t))
    return 1;
  diag *d = diag_new();
  expire_rules *rules = expire_rules_read(t.cfg, d);
  diag_print(d, stderr);
  int rc = 0;
  if (diag_has_errors(d)) {
    rc = 1;
  } else if (rules->rules->len == 0) {
    printf("no expiry rules (see [store] expire_rules)\n");
  } else {
    expire_stats st;
    char *error = NULL;
    if (!expire_run(rules, user, dry, print_line, NULL, &st, &error)) {
      fprintf(stderr, "cursus: %s\n", error);
      g_free(error);
      rc = 1;
    } else {
      printf("%s %u messages (%" G_GUINT64_FORMAT " bytes) in %u folders\n",
             dry ? "would expire" : "expired", st.messages, st.bytes,
             st.folders);
    }
  }
  expire_rules_free(&rules);
  diag_free(&d);
  store_tool_close(&t);
  return rc;
}
