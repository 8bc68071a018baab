/*
 * cmd_store.c - `cursus mbox` (mailboxes and users' stores),
 * `cursus reconstruct` and `cursus snapshot`
 *
 * Every command works through the store ABI of the configured backend
 * (host->store), with an admin session: ACLs do not apply, the directory
 * still gives quotas and partitions.
 */
#include "build-config.h"
#include "storetool.h"
#include "config/config.h"
#include "dir/dir.h"
#include "module/host.h"
#include "store/account.h"
#include "store/store.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* str_cmp - g_ptr_array_sort comparison of strings */
static gint str_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the acting id of admin sessions that are no particular user's */
#define ADMIN_ID "cursus-admin"

/* ------------------------------------------------------------ setup */

bool store_tool_open(cmd_ctx *ctx, store_tool *t) {
  diag *d = diag_new();
  char *error = NULL;
  const char *e;
  memset(t, 0, sizeof(*t));
  t->cfg = config_load(ctx->config_dir, CURSUS_PROC_ANY, &t->mods, d);
  if (t->cfg == NULL || diag_has_errors(d)) {
    diag_print(d, stderr);
    if (t->cfg != NULL)
      fprintf(stderr, "cursus: %u error(s) in the configuration in %s\n",
              d->errors, t->cfg->dir);
    config_unref(&t->cfg);
    modreg_free(&t->mods);
    diag_free(&d);
    return false;
  }
  diag_free(&d);
  t->mods->process = CURSUS_PROC_TOOL;
  config_set_current(t->cfg);
  log_set_level(CURSUS_LOG_WARNING);
  host_init(CURSUS_PROC_TOOL);
  if (dir_service_wanted(t->cfg) &&
      !dir_service_start(t->cfg, t->mods, &error)) {
    fprintf(stderr, "cursus: %s\n", error);
    g_free(error);
    store_tool_close(t);
    return false;
  }
  if (!store_service_start(t->cfg, t->mods, true, &error)) {
    fprintf(stderr, "cursus: %s\n", error);
    g_free(error);
    store_tool_close(t);
    return false;
  }
  t->ops = store_ops();
  t->store = store_backend(&e);
  return true;
}

void store_tool_close(store_tool *t) {
  store_service_stop();
  dir_service_stop();
  config_set_current(NULL);
  config_unref(&t->cfg);
  modreg_free(&t->mods);
}

int store_tool_exit(int rc) {
  return rc == CURSUS_OK || rc == CURSUS_NONE ? 0
         : rc == CURSUS_TEMPFAIL              ? STORE_EXIT_TEMPFAIL
                                              : 1;
}

bool admin_name_parse(const char *text, admin_name *n) {
  memset(n, 0, sizeof(*n));
  if (g_str_has_prefix(text, "shared/") && text[7] != '\0') {
    n->user = g_strdup(ADMIN_ID);
    n->mailbox = g_strdup(text + 7);
    return true;
  }
  if (!g_str_has_prefix(text, "user/") || text[5] == '\0' || text[5] == '/') {
    fprintf(stderr, "cursus: %s: name a mailbox as user/ID, user/ID/MAILBOX "
                    "or shared/MAILBOX\n",
            text);
    return false;
  }
  const char *slash = strchr(text + 5, '/');
  n->user = slash != NULL ? g_strndup(text + 5, (gsize)(slash - text - 5))
                          : g_strdup(text + 5);
  n->mailbox = slash != NULL && slash[1] != '\0' ? g_strdup(slash + 1) : NULL;
  return true;
}

void admin_name_clear(admin_name *n) {
  g_clear_pointer(&n->user, g_free);
  g_clear_pointer(&n->mailbox, g_free);
}

/* public_name - a shared/... admin name in the backend's namespace */
static char *public_name(store_tool *t, cursus_store_user *u,
                         const char *mailbox) {
  size_t n;
  const cursus_store_namespace *ns = t->ops->user_namespaces(u, &n);
  for (size_t i = 0; i < n; i++)
    if (ns[i].kind == CURSUS_STORE_NS_SHARED)
      return g_strconcat(ns[i].prefix, mailbox, NULL);
  return g_strdup(mailbox);
}

cursus_store_user *admin_open_user(store_tool *t, const char *user,
                                   unsigned flags) {
  cursus_store_user *u = NULL;
  const char *error;
  int r = store_user_open(user, flags | CURSUS_STORE_USER_ADMIN, &u, &error);
  if (r == CURSUS_OK && !g_str_equal(user, ADMIN_ID) &&
      !(flags & CURSUS_STORE_USER_CREATE)) {
    /* an admin session exists without a store: is there one? */
    cursus_store_status s = {.size = sizeof(s),
                             .items = CURSUS_STORE_STATUS_MESSAGES};
    if (t->ops->mailbox_status(u, "INBOX", &s, &error) != CURSUS_OK &&
        t->ops->user_last_error(u) == CURSUS_STORE_E_NOTFOUND) {
      t->ops->user_close(&u);
      r = CURSUS_NONE;
    }
  }
  if (r == CURSUS_NONE)
    fprintf(stderr, "cursus: %s has no mailboxes\n", user);
  else if (r != CURSUS_OK)
    fprintf(stderr, "cursus: %s: %s\n", user, error);
  return r == CURSUS_OK ? u : NULL;
}

/* mailbox_of - the name to use in U's session for admin name N */
static char *mailbox_of(store_tool *t, cursus_store_user *u,
                        const admin_name *n) {
  if (g_str_equal(n->user, ADMIN_ID))
    return public_name(t, u, n->mailbox);
  return g_strdup(n->mailbox != NULL ? n->mailbox : "INBOX");
}

/* A mailbox named on the command line, with the session to reach it. */
typedef struct named {
  admin_name n;
  cursus_store_user *u;
  char *mbox;
} named;

/* named_open - parse TEXT and open its owner: 0, or the exit status */
static int named_open(store_tool *t, const char *text, named *m) {
  memset(m, 0, sizeof(*m));
  if (!admin_name_parse(text, &m->n))
    return 2;
  m->u = admin_open_user(t, m->n.user, 0);
  if (m->u == NULL) {
    admin_name_clear(&m->n);
    return 1;
  }
  m->mbox = mailbox_of(t, m->u, &m->n);
  return 0;
}

static void named_close(store_tool *t, named *m) {
  g_free(m->mbox);
  t->ops->user_close(&m->u);
  admin_name_clear(&m->n);
}

static int fail(store_tool *t, cursus_store_user *u, int rc,
                const char *what, const char *error) {
  fprintf(stderr, "cursus: %s: %s\n", what, error);
  return rc;
}

/* ------------------------------------------------------------ mbox list */

struct list_ctx {
  store_tool *t;
  cursus_store_user *u;
  const char *user;
  const char *pattern;
  bool extended;
  const cursus_store_namespace *ns;
  size_t n_ns;
  unsigned shown;
};

static int list_cb(void *data, const cursus_store_list_entry *e) {
  struct list_ctx *c = data;
  for (size_t i = 0; i < c->n_ns; i++)
    if (*c->ns[i].prefix != '\0' && g_str_has_prefix(e->name, c->ns[i].prefix))
      return 0; /* listed with their owner */
  bool shared_owner = g_str_equal(c->user, "#shared");
  char *full = shared_owner ? g_strconcat("shared/", e->name, NULL)
                            : g_strdup_printf("user/%s/%s", c->user, e->name);
  if (c->pattern != NULL && !g_pattern_match_simple(c->pattern, full)) {
    g_free(full);
    return 0;
  }
  c->shown++;
  if (!c->extended) {
    printf("%s\n", full);
  } else if (e->attributes & CURSUS_STORE_LIST_NOSELECT) {
    printf("%-40s  (no messages: a folder of folders)\n", full);
  } else {
    cursus_store_status s = {.size = sizeof(s),
                             .items = CURSUS_STORE_STATUS_MESSAGES |
                                      CURSUS_STORE_STATUS_SIZE |
                                      CURSUS_STORE_STATUS_UNSEEN |
                                      CURSUS_STORE_STATUS_UIDVALIDITY |
                                      CURSUS_STORE_STATUS_UIDNEXT};
    const char *error;
    if (c->t->ops->mailbox_status(c->u, e->name, &s, &error) == CURSUS_OK)
      printf("%-40s  %7u msgs %7u unseen %12" G_GUINT64_FORMAT
             " bytes  uidvalidity %u uidnext %u\n",
             full, s.messages, s.unseen, s.bytes, s.uidvalidity, s.uidnext);
    else
      printf("%-40s  %s\n", full, error);
  }
  g_free(full);
  return 0;
}

static int collect_user(void *data, const char *user, const char *partition) {
  g_ptr_array_add(data, g_strdup(user));
  return 0;
}

static int mbox_list(store_tool *t, int argc, char **argv) {
  const char *user = NULL, *pattern = NULL;
  bool extended = false;
  for (int i = 0; i < argc; i++) {
    if ((strcmp(argv[i], "-u") == 0 || strcmp(argv[i], "--user") == 0) &&
        i + 1 < argc)
      user = argv[++i];
    else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--pattern") == 0) &&
             i + 1 < argc)
      pattern = argv[++i];
    else if (strcmp(argv[i], "-x") == 0 || strcmp(argv[i], "--extended") == 0)
      extended = true;
    else {
      fprintf(stderr, "usage: cursus mbox list [-u USER] [-p PATTERN] [-x]\n");
      return 2;
    }
  }
  GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
  const char *error;
  if (user != NULL)
    g_ptr_array_add(users, g_strdup(user));
  else if (t->ops->users_list(t->store, collect_user, users, &error) !=
           CURSUS_OK) {
    g_ptr_array_free(users, TRUE);
    return fail(t, NULL, 1, "listing users", error);
  }
  g_ptr_array_sort(users, str_cmp);
  int rc = 0;
  for (guint i = 0; i < users->len; i++) {
    cursus_store_user *u = admin_open_user(t, users->pdata[i], 0);
    if (u == NULL) {
      rc = 1;
      continue;
    }
    struct list_ctx c = {t, u, t->ops->user_id(u), pattern, extended,
                         NULL, 0, 0};
    c.ns = t->ops->user_namespaces(u, &c.n_ns);
    const char *all[] = {"*", NULL};
    if (t->ops->mailbox_list(u, all, 0, list_cb, &c, &error) != CURSUS_OK)
      rc = fail(t, u, 1, users->pdata[i], error);
    t->ops->user_close(&u);
  }
  g_ptr_array_free(users, TRUE);
  return rc;
}

/* ------------------------------------------------------------ mbox ops */

static uint32_t special_use_parse(const char *text) {
  static const struct {
    const char *name;
    uint32_t bit;
  } uses[] = {{"\\All", CURSUS_STORE_USE_ALL},
              {"\\Archive", CURSUS_STORE_USE_ARCHIVE},
              {"\\Drafts", CURSUS_STORE_USE_DRAFTS},
              {"\\Flagged", CURSUS_STORE_USE_FLAGGED},
              {"\\Junk", CURSUS_STORE_USE_JUNK},
              {"\\Sent", CURSUS_STORE_USE_SENT},
              {"\\Trash", CURSUS_STORE_USE_TRASH}};
  for (size_t i = 0; i < G_N_ELEMENTS(uses); i++)
    if (g_ascii_strcasecmp(text, uses[i].name) == 0 ||
        g_ascii_strcasecmp(text, uses[i].name + 1) == 0)
      return uses[i].bit;
  return 0;
}

static int mbox_create(store_tool *t, int argc, char **argv) {
  const char *partition = NULL, *use = NULL, *name = NULL;
  for (int i = 0; i < argc; i++) {
    if ((strcmp(argv[i], "-P") == 0 || strcmp(argv[i], "--partition") == 0) &&
        i + 1 < argc)
      partition = argv[++i];
    else if (strcmp(argv[i], "--special-use") == 0 && i + 1 < argc)
      use = argv[++i];
    else if (name == NULL && argv[i][0] != '-')
      name = argv[i];
    else {
      name = NULL;
      break;
    }
  }
  admin_name n;
  if (name == NULL) {
    fprintf(stderr, "usage: cursus mbox create NAME [-P PARTITION] "
                    "[--special-use \\Sent]\n");
    return 2;
  }
  if (!admin_name_parse(name, &n))
    return 2;
  uint32_t su = use != NULL ? special_use_parse(use) : 0;
  if (use != NULL && su == 0) {
    fprintf(stderr, "cursus: %s is not a special use (\\Sent, \\Drafts, "
                    "\\Trash, \\Junk, \\Archive, \\All, \\Flagged)\n",
            use);
    admin_name_clear(&n);
    return 2;
  }
  int rc = CURSUS_OK;
  const char *error;
  if (n.mailbox == NULL) {
    /* a user's store: their account, with the partition asked for */
    store_account acct;
    char *err = NULL;
    if (store_account_resolve(t->cfg, n.user, &acct, &err) != CURSUS_OK) {
      g_free(acct.user);
      acct.user = g_strdup(n.user);
      acct.quota_bytes = acct.quota_messages = -1;
      g_free(err);
    }
    cursus_store_account a = {sizeof(a), acct.user,
                              partition != NULL ? partition : acct.partition,
                              acct.quota_bytes, acct.quota_messages,
                              acct.enforce};
    cursus_store_user *u = NULL;
    rc = t->ops->user_open(t->store, &a,
                           CURSUS_STORE_USER_CREATE | CURSUS_STORE_USER_ADMIN,
                           &u, &error);
    if (rc == CURSUS_OK)
      printf("created the store of %s\n", acct.user);
    else
      fail(t, NULL, rc, name, error);
    t->ops->user_close(&u);
    store_account_clear(&acct);
  } else {
    cursus_store_user *u = admin_open_user(t, n.user, 0);
    if (u == NULL) {
      admin_name_clear(&n);
      return 1;
    }
    char *mbox = mailbox_of(t, u, &n);
    rc = t->ops->mailbox_create(u, mbox, su, &error);
    if (rc != CURSUS_OK)
      fail(t, u, rc, name, error);
    else
      printf("created %s\n", name);
    g_free(mbox);
    t->ops->user_close(&u);
  }
  admin_name_clear(&n);
  return store_tool_exit(rc);
}

static int mbox_delete(store_tool *t, int argc, char **argv) {
  if (argc != 1) {
    fprintf(stderr, "usage: cursus mbox delete NAME\n");
    return 2;
  }
  admin_name n;
  if (!admin_name_parse(argv[0], &n))
    return 2;
  const char *error;
  int rc;
  if (n.mailbox == NULL) {
    rc = t->ops->user_delete(t->store, n.user, &error);
    if (rc == CURSUS_NONE)
      fprintf(stderr, "cursus: %s has no mailboxes\n", n.user);
    else if (rc != CURSUS_OK)
      fail(t, NULL, rc, argv[0], error);
    else
      printf("deleted the store of %s\n", n.user);
    rc = rc == CURSUS_NONE ? CURSUS_PERMFAIL : rc;
  } else {
    named m;
    admin_name_clear(&n);
    int st = named_open(t, argv[0], &m);
    if (st != 0)
      return st;
    rc = t->ops->mailbox_delete(m.u, m.mbox, &error);
    if (rc != CURSUS_OK)
      fail(t, m.u, rc, argv[0], error);
    else
      printf("deleted %s\n", argv[0]);
    named_close(t, &m);
  }
  admin_name_clear(&n);
  return store_tool_exit(rc);
}

static int mbox_rename(store_tool *t, int argc, char **argv) {
  admin_name a, b;
  if (argc != 2) {
    fprintf(stderr, "usage: cursus mbox rename OLD NEW\n");
    return 2;
  }
  if (!admin_name_parse(argv[0], &a))
    return 2;
  if (!admin_name_parse(argv[1], &b)) {
    admin_name_clear(&a);
    return 2;
  }
  int rc = CURSUS_PERMFAIL;
  if (a.mailbox == NULL || b.mailbox == NULL ||
      !g_str_equal(a.user, b.user)) {
    fprintf(stderr, "cursus: rename mailboxes of one user: user/ID/OLD "
                    "user/ID/NEW (to move a user, use `cursus mbox move`)\n");
  } else {
    cursus_store_user *u = admin_open_user(t, a.user, 0);
    if (u != NULL) {
      char *from = mailbox_of(t, u, &a), *to = mailbox_of(t, u, &b);
      const char *error;
      rc = t->ops->mailbox_rename(u, from, to, &error);
      if (rc != CURSUS_OK)
        fail(t, u, rc, argv[0], error);
      else
        printf("renamed %s to %s\n", argv[0], argv[1]);
      g_free(from);
      g_free(to);
      t->ops->user_close(&u);
    }
  }
  admin_name_clear(&a);
  admin_name_clear(&b);
  return store_tool_exit(rc);
}

static int show_acl(void *data, const char *id, uint32_t rights) {
  char letters[12];
  printf("  acl          %s %s\n", id,
         cursus_store_rights_format(rights, letters));
  return 0;
}

static const char *special_use_name(uint32_t su) {
  static const char *names[] = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                "\\Junk", "\\Sent",    "\\Trash"};
  for (int i = 0; i < 7; i++)
    if (su & (1u << i))
      return names[i];
  return NULL;
}

struct su_ctx {
  const char *name;
  uint32_t su;
};

static int su_cb(void *data, const cursus_store_list_entry *e) {
  struct su_ctx *c = data;
  if (g_str_equal(e->name, c->name))
    c->su = e->special_use;
  return 0;
}

static int mbox_show(store_tool *t, int argc, char **argv) {
  named m;
  if (argc != 1) {
    fprintf(stderr, "usage: cursus mbox show NAME\n");
    return 2;
  }
  int st = named_open(t, argv[0], &m);
  if (st != 0)
    return st;
  cursus_store_user *u = m.u;
  const char *mbox = m.mbox;
  cursus_store_status s = {.size = sizeof(s), .items = CURSUS_STORE_STATUS_ALL};
  const char *error;
  int rc = t->ops->mailbox_status(u, mbox, &s, &error);
  if (rc != CURSUS_OK) {
    fail(t, u, rc, argv[0], error);
  } else {
    struct su_ctx sc = {mbox, 0};
    const char *pat[] = {mbox, NULL};
    t->ops->mailbox_list(u, pat, 0, su_cb, &sc, &error);
    printf("%s\n", argv[0]);
    printf("  messages     %u (%u unseen, %u deleted, %u recent)\n",
           s.messages, s.unseen, s.deleted, s.recent);
    printf("  size         %" G_GUINT64_FORMAT " bytes\n", s.bytes);
    printf("  uidvalidity  %u\n  uidnext      %u\n", s.uidvalidity,
           s.uidnext);
    printf("  modseq       %" G_GUINT64_FORMAT "\n", s.highestmodseq);
    if (s.items & CURSUS_STORE_STATUS_MAILBOXID)
      printf("  mailbox id   %s\n", s.mailbox_id);
    if (special_use_name(sc.su) != NULL)
      printf("  special use  %s\n", special_use_name(sc.su));
    t->ops->acl_get(u, mbox, show_acl, NULL, &error);
    cursus_buf root = {0};
    if (t->ops->quota_root(u, mbox, &root, &error) == CURSUS_OK) {
      cursus_store_quota q = {.size = sizeof(q)};
      if (t->ops->quota_get(u, root.data, &q, &error) == CURSUS_OK) {
        printf("  quota root   %s: %" G_GUINT64_FORMAT " bytes", root.data,
               q.bytes_used);
        if (q.bytes_limit >= 0)
          printf(" of %" G_GINT64_FORMAT, q.bytes_limit);
        printf(", %" G_GUINT64_FORMAT " messages", q.messages_used);
        if (q.messages_limit >= 0)
          printf(" of %" G_GINT64_FORMAT, q.messages_limit);
        printf("\n");
      }
    }
    host_table()->buf_free(&root);
  }
  named_close(t, &m);
  return store_tool_exit(rc);
}

/* rights_arg - "lrs" replace, "+lr" add, "-w" remove, "none" delete */
static bool rights_arg(const char *text, cursus_store_acl_mode *mode_r,
                       uint32_t *rights_r) {
  *mode_r = CURSUS_STORE_ACL_REPLACE;
  if (g_ascii_strcasecmp(text, "none") == 0) {
    *rights_r = 0;
    return true;
  }
  if (*text == '+' || *text == '-') {
    *mode_r = *text == '+' ? CURSUS_STORE_ACL_ADD : CURSUS_STORE_ACL_REMOVE;
    text++;
  }
  return *text != '\0' && cursus_store_rights_parse(text, rights_r);
}

static int mbox_acl(store_tool *t, int argc, char **argv) {
  named m;
  if (argc != 1 && argc != 3) {
    fprintf(stderr, "usage: cursus mbox acl NAME [IDENTIFIER RIGHTS]\n"
                    "  RIGHTS: letters of lrswipkxtea to set, +letters to "
                    "add, -letters to remove, none to delete\n");
    return 2;
  }
  int st = named_open(t, argv[0], &m);
  if (st != 0)
    return st;
  const char *error = NULL;
  int rc;
  if (argc == 1) {
    rc = t->ops->acl_get(m.u, m.mbox, show_acl, NULL, &error);
  } else {
    cursus_store_acl_mode mode;
    uint32_t rights;
    if (!rights_arg(argv[2], &mode, &rights)) {
      fprintf(stderr, "cursus: %s: rights are letters of lrswipkxtea\n",
              argv[2]);
      rc = CURSUS_PERMFAIL;
    } else {
      rc = t->ops->acl_set(m.u, m.mbox, argv[1], mode, rights, &error);
    }
  }
  if (rc != CURSUS_OK && error != NULL)
    fail(t, m.u, rc, argv[0], error);
  named_close(t, &m);
  return store_tool_exit(rc);
}

static int mbox_move(store_tool *t, int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cursus mbox move USER PARTITION\n");
    return 2;
  }
  const char *user = g_str_has_prefix(argv[0], "user/") ? argv[0] + 5 : argv[0];
  const char *error;
  int rc = t->ops->user_move(t->store, user, argv[1], &error);
  if (rc != CURSUS_OK)
    fail(t, NULL, rc, user, error);
  else
    printf("moved the store of %s to partition %s\n", user, argv[1]);
  return store_tool_exit(rc);
}

static void count_expunged(void *data, uint32_t seq, uint32_t uid) {
  (*(unsigned *)data)++;
}

static int mbox_expunge(store_tool *t, int argc, char **argv) {
  named m;
  if (argc != 1) {
    fprintf(stderr, "usage: cursus mbox expunge NAME\n");
    return 2;
  }
  int st = named_open(t, argv[0], &m);
  if (st != 0)
    return st;
  cursus_store_mailbox *box = NULL;
  const char *error;
  unsigned count = 0;
  int rc = t->ops->mailbox_open(m.u, m.mbox, CURSUS_STORE_OPEN_NORECENT, &box,
                                &error);
  if (rc == CURSUS_OK)
    rc = t->ops->mailbox_expunge(box, NULL, count_expunged, &count, &error);
  if (rc != CURSUS_OK)
    fail(t, m.u, rc, argv[0], error);
  else
    printf("%s: %u messages expunged\n", argv[0], count);
  t->ops->mailbox_close(&box);
  named_close(t, &m);
  return store_tool_exit(rc);
}

/* read_all - FILE ("-" or NULL: standard input) */
static GBytes *read_all(const char *file) {
  if (file != NULL && strcmp(file, "-") != 0) {
    GError *err = NULL;
    GMappedFile *m = g_mapped_file_new(file, FALSE, &err);
    if (m == NULL) {
      fprintf(stderr, "cursus: %s\n", err->message);
      g_error_free(err);
      return NULL;
    }
    GBytes *b = g_mapped_file_get_bytes(m);
    g_mapped_file_unref(m);
    return b;
  }
  GByteArray *a = g_byte_array_new();
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    g_byte_array_append(a, (const guint8 *)buf, (guint)n);
  return g_byte_array_free_to_bytes(a);
}

static uint32_t flag_bit(const char *name) {
  static const char *names[] = {"\\Seen", "\\Answered", "\\Flagged",
                                "\\Deleted", "\\Draft"};
  for (int i = 0; i < 5; i++)
    if (g_ascii_strcasecmp(name, names[i]) == 0 ||
        g_ascii_strcasecmp(name, names[i] + 1) == 0)
      return 1u << i;
  return 0;
}

static int mbox_append(store_tool *t, int argc, char **argv) {
  const char *name = NULL, *file = NULL;
  uint32_t flags = 0;
  GPtrArray *keywords = g_ptr_array_new();
  unsigned options = 0;
  int rc = 2;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--flag") == 0 && i + 1 < argc) {
      uint32_t f = flag_bit(argv[++i]);
      if (f != 0)
        flags |= f;
      else
        g_ptr_array_add(keywords, argv[i]);
    } else if (strcmp(argv[i], "--ignore-quota") == 0) {
      options |= CURSUS_STORE_TARGET_IGNORE_QUOTA;
    } else if (name == NULL && argv[i][0] != '-') {
      name = argv[i];
    } else if (file == NULL && argv[i][0] != '-' ) {
      file = argv[i];
    } else if (strcmp(argv[i], "-") == 0 && file == NULL) {
      file = "-";
    } else {
      name = NULL;
      break;
    }
  }
  g_ptr_array_add(keywords, NULL);
  named m;
  GBytes *data = NULL;
  if (name == NULL) {
    fprintf(stderr, "usage: cursus mbox append NAME [--flag FLAG]... "
                    "[--ignore-quota] [FILE]\n"
                    "  appends the message in FILE (standard input when "
                    "none) to NAME\n");
    goto out;
  }
  if ((rc = named_open(t, name, &m)) != 0)
    goto out;
  data = read_all(file);
  rc = 1;
  if (data != NULL) {
    const char *error;
    gsize len;
    const char *bytes = g_bytes_get_data(data, &len);
    cursus_store_append_params p = {.size = sizeof(p), .size_hint = len,
                                    .flags = CURSUS_STORE_APPEND_FIX_EOL};
    cursus_store_append *a = t->ops->append_begin(t->store, &p, &error);
    cursus_store_target tg = {.size = sizeof(tg),
                              .mailbox = m.mbox,
                              .flags = flags,
                              .keywords = (const char *const *)keywords->pdata,
                              .options = options};
    cursus_store_append_result res = {.size = sizeof(res)};
    int r = a != NULL ? t->ops->append_target(a, m.u, &tg, &error)
                      : CURSUS_TEMPFAIL;
    if (r == CURSUS_OK)
      r = t->ops->append_write(a, bytes, len, &error);
    if (r == CURSUS_OK)
      r = t->ops->append_commit(a, &res, &error);
    if (r == CURSUS_OK && g_str_equal(m.n.user, ADMIN_ID))
      printf("appended uid %u to %s (uidvalidity %u)\n", res.uid, name,
             res.uidvalidity);
    else if (r == CURSUS_OK)
      printf("appended uid %u to user/%s/%s (uidvalidity %u)\n", res.uid,
             m.n.user, res.mailbox, res.uidvalidity);
    else
      fail(t, m.u, r, name, error);
    rc = store_tool_exit(r);
    t->ops->append_free(&a);
    g_bytes_unref(data);
  }
  named_close(t, &m);
out:
  g_ptr_array_free(keywords, TRUE);
  return rc;
}

static int mbox_partitions(store_tool *t) {
  size_t n;
  const char *error;
  const cursus_store_partition *p = t->ops->partitions(t->store, &n, &error);
  if (p == NULL)
    return fail(t, NULL, 1, "partitions", error);
  printf("%-12s %8s %14s %14s  %s\n", "PARTITION", "USERS", "FREE", "SIZE",
         "PATH");
  for (size_t i = 0; i < n; i++)
    printf("%-12s %8" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT
           " %14" G_GUINT64_FORMAT "  %s%s\n",
           p[i].name, p[i].users, p[i].bytes_free, p[i].bytes_total,
           p[i].path, p[i].is_default ? " (default)" : "");
  return 0;
}

static void mbox_usage(FILE *f) {
  fprintf(f,
          "usage: cursus mbox COMMAND ...\n"
          "  list [-u USER] [-p PATTERN] [-x]   mailboxes (-x with counts)\n"
          "  create NAME [-P PARTITION] [--special-use \\Sent]\n"
          "  delete NAME                        a mailbox, or user/ID: the "
          "whole store\n"
          "  rename OLD NEW\n"
          "  show NAME                          status, ACL, quota\n"
          "  acl NAME [IDENTIFIER RIGHTS]       show or change the ACL\n"
          "  expunge NAME                       remove messages marked "
          "\\Deleted\n"
          "  append NAME [--flag F]... [FILE]   store a message (standard "
          "input when no FILE)\n"
          "  move USER PARTITION                move a user while the server "
          "runs\n"
          "  partitions\n"
          "NAME: user/ID, user/ID/MAILBOX or shared/MAILBOX\n");
}

int cmd_mbox(cmd_ctx *ctx) {
  if (ctx->argc < 2 || strcmp(ctx->argv[1], "--help") == 0) {
    mbox_usage(ctx->argc < 2 ? stderr : stdout);
    return ctx->argc < 2 ? 2 : 0;
  }
  static const struct {
    const char *name;
    int (*fn)(store_tool *t, int argc, char **argv);
  } subs[] = {{"list", mbox_list},     {"create", mbox_create},
              {"delete", mbox_delete}, {"rename", mbox_rename},
              {"show", mbox_show},     {"acl", mbox_acl},
              {"move", mbox_move},     {"expunge", mbox_expunge},
              {"append", mbox_append}};
  const char *sub = ctx->argv[1];
  int found = -1;
  for (size_t i = 0; i < G_N_ELEMENTS(subs); i++)
    if (strcmp(sub, subs[i].name) == 0)
      found = (int)i;
  if (found < 0 && strcmp(sub, "partitions") != 0) {
    mbox_usage(stderr);
    return 2;
  }
  store_tool t;
  if (!store_tool_open(ctx, &t))
    return 1;
  int rc = found >= 0 ? subs[found].fn(&t, ctx->argc - 2, ctx->argv + 2)
                      : mbox_partitions(&t);
  store_tool_close(&t);
  return rc;
}

/* ------------------------------------------------------------ reconstruct */

static void print_line(void *data, const char *line) { printf("%s\n", line); }

int cmd_reconstruct(cmd_ctx *ctx) {
  unsigned flags = 0;
  GPtrArray *names = g_ptr_array_new();
  for (int i = 1; i < ctx->argc; i++) {
    const char *a = ctx->argv[i];
    if (strcmp(a, "-n") == 0)
      flags |= CURSUS_STORE_RECONSTRUCT_CHECK;
    else if (strcmp(a, "-F") == 0 || strcmp(a, "--force") == 0)
      flags |= CURSUS_STORE_RECONSTRUCT_FORCE;
    else if (strcmp(a, "-m") == 0)
      flags |= CURSUS_STORE_RECONSTRUCT_MBOXLIST;
    else if (strcmp(a, "-q") == 0)
      flags |= CURSUS_STORE_RECONSTRUCT_QUOTA;
    else if (strcmp(a, "-r") == 0)
      flags |= CURSUS_STORE_RECONSTRUCT_RECURSIVE;
    else if (a[0] != '-')
      g_ptr_array_add(names, (gpointer)a);
    else {
      fprintf(stderr,
              "usage: cursus reconstruct [-n] [-F] [-m] [-q] [-r] [NAME...]\n"
              "  -n check only   -F rebuild every index and cache\n"
              "  -m rebuild the mailbox list from the partitions\n"
              "  -q recount quota usage   -r NAME and every mailbox below\n"
              "  NAME: user/ID or user/ID/MAILBOX; none: the whole store\n");
      g_ptr_array_free(names, TRUE);
      return 2;
    }
  }
  store_tool t;
  if (!store_tool_open(ctx, &t)) {
    g_ptr_array_free(names, TRUE);
    return 1;
  }
  int rc = CURSUS_OK;
  const char *error;
  if (names->len == 0) {
    rc = t.ops->reconstruct(t.store, NULL, flags, print_line, NULL, &error);
    if (rc != CURSUS_OK)
      fail(&t, NULL, rc, "reconstruct", error);
  }
  for (guint i = 0; i < names->len; i++) {
    int r = t.ops->reconstruct(t.store, names->pdata[i], flags, print_line,
                               NULL, &error);
    if (r != CURSUS_OK) {
      fail(&t, NULL, r, names->pdata[i], error);
      rc = r;
    }
  }
  store_tool_close(&t);
  g_ptr_array_free(names, TRUE);
  return store_tool_exit(rc);
}

/* ------------------------------------------------------------ snapshot */

static int print_snapshot(void *data, const char *name, int64_t when) {
  GDateTime *dt = g_date_time_new_from_unix_local(when);
  char *s = dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S %z")
                       : g_strdup("?");
  printf("%s  %s\n", name, s);
  g_free(s);
  if (dt != NULL)
    g_date_time_unref(dt);
  return 0;
}

int cmd_snapshot(cmd_ctx *ctx) {
  const char *sub = ctx->argc >= 2 ? ctx->argv[1] : "";
  if (!(strcmp(sub, "create") == 0 && ctx->argc == 2) &&
      !(strcmp(sub, "list") == 0 && ctx->argc == 2) &&
      !(strcmp(sub, "restore") == 0 && ctx->argc <= 3) &&
      !(strcmp(sub, "prune") == 0 && ctx->argc == 3)) {
    fprintf(stderr, "usage: cursus snapshot create | list | restore [NAME] "
                    "| prune KEEP\n");
    return 2;
  }
  store_tool t;
  if (!store_tool_open(ctx, &t))
    return 1;
  const char *error;
  int rc;
  if (strcmp(sub, "create") == 0) {
    cursus_buf name = {0};
    rc = t.ops->snapshot(t.store, &name, &error);
    if (rc == CURSUS_OK)
      printf("snapshot %s\n", name.data);
    host_table()->buf_free(&name);
  } else if (strcmp(sub, "list") == 0) {
    rc = t.ops->snapshot_list(t.store, print_snapshot, NULL, &error);
  } else if (strcmp(sub, "restore") == 0) {
    rc = t.ops->snapshot_restore(t.store, ctx->argc == 3 ? ctx->argv[2] : NULL,
                                 print_line, NULL, &error);
  } else {
    rc = t.ops->snapshot_prune(t.store, (unsigned)atoi(ctx->argv[2]), &error);
  }
  if (rc != CURSUS_OK)
    fail(&t, NULL, rc, "snapshot", error);
  store_tool_close(&t);
  return store_tool_exit(rc);
}
