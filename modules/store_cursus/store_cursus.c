/*
 * store_cursus.c - the default message store backend: the module
 * descriptor, its settings and the store-level calls
 *
 * Settings ([module store_cursus] in cursus.conf) are listed in
 * sc_settings below and explained in docs/store.md.
 */
#include "api.h"
#include "mime.h"
#include "repair.h"
#include "watch.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sc_partition *sc_store_partition(sc_store *st, const char *name) {
  for (guint i = 0; name != NULL && i < st->partitions->len; i++) {
    sc_partition *p = st->partitions->pdata[i];
    if (g_str_equal(p->name, name))
      return p;
  }
  return NULL;
}

static void partition_free(sc_partition *p) {
  g_free(p->name);
  g_free(p->path);
  g_free(p);
}

static char *setting_str(const char *key, const char *def) {
  const char *v = sc_host->setting(sc_ctx, key);
  return g_strdup(v != NULL && *v != '\0' ? v : def);
}

static char *resolve_path(const char *root, const char *path) {
  return g_path_is_absolute(path) ? g_strdup(path)
                                  : g_build_filename(root, path, NULL);
}

/* parse_partitions - "name=path, name=path" */
static bool parse_partitions(sc_store *st, const char *text, GError **error) {
  char **items = g_strsplit_set(text, ",", -1);
  bool ok = true;
  for (char **it = items; *it != NULL && ok; it++) {
    char *item = g_strstrip(*it);
    if (*item == '\0')
      continue;
    char *eq = strchr(item, '=');
    if (eq == NULL || eq == item || eq[1] == '\0') {
      sc_set_error(error, CURSUS_STORE_E_INVALID,
                   "[module store_cursus] partitions: \"%s\" is not "
                   "NAME=PATH",
                   item);
      ok = false;
      break;
    }
    *eq = '\0';
    char *name = g_strstrip(item), *path = g_strstrip(eq + 1);
    for (const char *c = name; *c; c++)
      if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-') {
        sc_set_error(error, CURSUS_STORE_E_INVALID,
                     "[module store_cursus] partitions: bad partition name "
                     "\"%s\" (letters, digits, _ and - only)",
                     name);
        ok = false;
        break;
      }
    if (ok && sc_store_partition(st, name) != NULL) {
      sc_set_error(error, CURSUS_STORE_E_INVALID,
                   "[module store_cursus] partitions: %s named twice", name);
      ok = false;
    }
    if (ok) {
      sc_partition *p = g_new0(sc_partition, 1);
      p->name = g_strdup(name);
      p->path = resolve_path(st->root, path);
      g_ptr_array_add(st->partitions, p);
    }
  }
  g_strfreev(items);
  return ok;
}

static void read_runtime_settings(sc_store *st) {
  st->lock_timeout_ms =
      (unsigned)sc_host->setting_int(sc_ctx, "lock_timeout", 30) * 1000;
  st->checkpoint_bytes =
      (uint64_t)sc_host->setting_int(sc_ctx, "checkpoint_size", 256 * 1024);
  st->max_message_size =
      (uint64_t)sc_host->setting_int(sc_ctx, "max_message_size", 0);
  st->binary_limit =
      (uint64_t)sc_host->setting_int(sc_ctx, "binary_limit", 64 * 1024 * 1024);
  st->vanished_keep = sc_host->setting_int(sc_ctx, "vanished_keep",
                                           30 * 24 * 3600);
  st->fsync = sc_host->setting_int(sc_ctx, "fsync", 1) != 0;
}

static void store_free(sc_store *st) {
  if (st == NULL)
    return;
  sc_mboxlist_close(&st->mboxlist);
  if (st->partitions != NULL)
    g_ptr_array_free(st->partitions, TRUE);
  g_free(st->root);
  g_free(st->mboxlist_dir);
  g_free(st->snapshot_dir);
  g_free(st->default_partition);
  g_free(st->other_prefix);
  g_free(st->shared_prefix);
  g_free(st->partitions_out);
  g_mutex_clear(&st->partitions_lock);
  g_free(st);
}

/* clean_dir - remove what in DIR is older than LIMIT; the writers'
 * slot directories are kept and cleaned inside when TOP */
static void clean_dir(const char *dir, int64_t limit, bool top) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    char *path = g_build_filename(dir, name, NULL);
    struct stat st;
    bool slot = top && g_str_has_prefix(name, SC_TMP_SLOT_PREFIX);
    if (lstat(path, &st) < 0) {
      /* gone meanwhile */
    } else if (slot && S_ISDIR(st.st_mode)) {
      clean_dir(path, limit, false);
    } else if (st.st_mtime < limit) {
      if (S_ISDIR(st.st_mode))
        sc_rmtree(path);
      else
        unlink(path);
    }
    g_free(path);
  }
  if (d != NULL)
    g_dir_close(d);
}

/* clean_tmp - remove what interrupted deliveries left in PART/tmp */
static void clean_tmp(sc_partition *p) {
  char *dir = g_build_filename(p->path, "tmp", NULL);
  clean_dir(dir, g_get_real_time() / G_USEC_PER_SEC - 3600, true);
  g_free(dir);
}

/* open_mboxlist - the system area, recovered from the newest snapshot
 * (or rebuilt from the partitions) when it is damaged */
static bool open_mboxlist(sc_store *st, GError **error) {
  GError *err = NULL;
  st->mboxlist = sc_mboxlist_open(st->mboxlist_dir, st->separator,
                                  st->lock_timeout_ms, &err);
  if (st->mboxlist != NULL)
    return true;
  if (err->code != CURSUS_STORE_E_CORRUPT) {
    g_propagate_error(error, err);
    return false;
  }
  sc_log(CURSUS_LOG_CRITICAL, "the mailbox list is damaged (%s); recovering "
         "from the newest snapshot", err->message);
  g_clear_error(&err);
  char *used = NULL;
  char *file = g_build_filename(st->mboxlist_dir, "folders.tcb", NULL);
  bool restored = sc_snapshot_restore_file(st, NULL, &used, &err);
  if (!restored) {
    sc_log(CURSUS_LOG_CRITICAL, "no usable snapshot (%s); rebuilding the "
           "mailbox list from the partitions", err->message);
    g_clear_error(&err);
    char *bad = g_strconcat(file, ".damaged", NULL);
    rename(file, bad);
    g_free(bad);
  }
  g_free(file);
  st->mboxlist = sc_mboxlist_open(st->mboxlist_dir, st->separator,
                                  st->lock_timeout_ms, error);
  if (st->mboxlist == NULL)
    return false;
  bool ok = sc_fast_recover(st, NULL, NULL, error);
  if (ok)
    sc_log(CURSUS_LOG_NOTICE, "the mailbox list was recovered (%s)",
           used != NULL ? used : "rebuilt from the partitions");
  g_free(used);
  return ok;
}

static int sc_open(cursus_module_ctx *ctx, void **store_r,
                   const char **error_r) {
  GError *err = NULL;
  sc_store *st = g_new0(sc_store, 1);
  g_mutex_init(&st->partitions_lock);
  st->root = g_strdup(sc_host->path(ctx, CURSUS_PATH_STORE));
  st->partitions = g_ptr_array_new_with_free_func((GDestroyNotify)partition_free);
  char *sep = setting_str("separator", "/");
  char *parts = setting_str("partitions", "primary=partition/primary");
  char *snap = setting_str("snapshot_dir", "snapshots");
  st->mboxlist_dir = g_build_filename(st->root, "mboxlist", NULL);
  st->snapshot_dir = resolve_path(st->root, snap);
  st->default_partition = setting_str("default_partition", NULL);
  st->other_prefix = setting_str("other_users_prefix", "Other Users");
  st->shared_prefix = setting_str("shared_prefix", "Shared Folders");
  st->hash_threshold =
      (uint32_t)sc_host->setting_int(ctx, "hash_threshold", 1000);
  read_runtime_settings(st);
  bool ok = true;
  if (strlen(sep) != 1 || (sep[0] != '/' && sep[0] != '.')) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID,
                 "[module store_cursus] separator must be / or .");
    ok = false;
  }
  st->separator = sep[0];
  ok = ok && parse_partitions(st, parts, &err);
  if (ok && st->partitions->len == 0) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID,
                 "[module store_cursus] partitions names none");
    ok = false;
  }
  if (ok && st->default_partition != NULL &&
      !g_str_equal(st->default_partition, "least-full") &&
      sc_store_partition(st, st->default_partition) == NULL) {
    sc_set_error(&err, CURSUS_STORE_E_INVALID,
                 "[module store_cursus] default_partition %s is not among "
                 "the partitions",
                 st->default_partition);
    ok = false;
  }
  if (ok && st->default_partition != NULL &&
      g_str_equal(st->default_partition, "least-full"))
    g_clear_pointer(&st->default_partition, g_free);
  for (guint i = 0; ok && i < st->partitions->len; i++) {
    sc_partition *p = st->partitions->pdata[i];
    char *tmp = g_build_filename(p->path, "tmp", NULL);
    if (g_mkdir_with_parents(tmp, 0750) < 0) {
      sc_errno_error(&err, errno, "cannot create", tmp);
      ok = false;
    } else if (sc_host->process == CURSUS_PROC_STORED) {
      clean_tmp(p);
    }
    g_free(tmp);
  }
  if (ok && g_mkdir_with_parents(st->snapshot_dir, 0750) < 0) {
    sc_errno_error(&err, errno, "cannot create", st->snapshot_dir);
    ok = false;
  }
  ok = ok && open_mboxlist(st, &err);
  g_free(sep);
  g_free(parts);
  g_free(snap);
  if (!ok) {
    store_free(st);
    return sc_user_fail(NULL, err, error_r);
  }
  *store_r = st;
  return CURSUS_OK;
}

static void sc_close(void *store) {
  sc_watch_shutdown();
  sc_folder_cache_trim();
  store_free(store);
}

static void sc_refresh(void *store) { read_runtime_settings(store); }

static int sc_user_open(void *store, const cursus_store_account *acct,
                        unsigned flags, cursus_store_user **user_r,
                        const char **error_r) {
  return sc_user_open_impl(store, acct, flags, user_r, error_r);
}

static void sc_user_close(cursus_store_user **u) { sc_user_close_impl(u); }

static cursus_store_error sc_user_last_error(cursus_store_user *u) {
  return u->last_error;
}

static const char *sc_user_id(cursus_store_user *u) { return u->id; }

static const cursus_store_namespace *sc_namespaces(cursus_store_user *u,
                                                   size_t *count_r) {
  *count_r = 3;
  return u->ns;
}

static const cursus_store_ops sc_ops = {
    .size = sizeof(cursus_store_ops),
    .open = sc_open,
    .close = sc_close,
    .refresh = sc_refresh,
    .user_open = sc_user_open,
    .user_close = sc_user_close,
    .user_last_error = sc_user_last_error,
    .user_id = sc_user_id,
    .user_namespaces = sc_namespaces,
    .users_list = sc_op_users_list,
    .user_delete = sc_op_user_delete,
    .user_move = sc_op_user_move,
    .mailbox_list = sc_op_mailbox_list,
    .mailbox_create = sc_op_mailbox_create,
    .mailbox_delete = sc_op_mailbox_delete,
    .mailbox_rename = sc_op_mailbox_rename,
    .mailbox_subscribe = sc_op_mailbox_subscribe,
    .mailbox_status = sc_op_mailbox_status,
    .mailbox_set_special_use = sc_op_mailbox_set_special_use,
    .acl_get = sc_op_acl_get,
    .acl_set = sc_op_acl_set,
    .acl_myrights = sc_op_acl_myrights,
    .acl_listrights = sc_op_acl_listrights,
    .quota_root = sc_op_quota_root,
    .quota_get = sc_op_quota_get,
    .quota_set_warned = sc_op_quota_set_warned,
    .mailbox_open = sc_op_mailbox_open,
    .mailbox_close = sc_op_mailbox_close,
    .mailbox_name = sc_op_mailbox_name,
    .mailbox_state = sc_op_mailbox_state,
    .mailbox_sync = sc_op_mailbox_sync,
    .mailbox_count = sc_op_mailbox_count,
    .mailbox_keywords = sc_op_mailbox_keywords,
    .message_uid = sc_op_message_uid,
    .message_seq = sc_op_message_seq,
    .message_seq_range = sc_op_message_seq_range,
    .message_info = sc_op_message_info,
    .message_field = sc_op_message_field,
    .message_headers = sc_op_message_headers,
    .message_part = sc_op_message_part,
    .message_open = sc_op_message_open,
    .message_binary = sc_op_message_binary,
    .message_store_flags = sc_op_message_store_flags,
    .mailbox_expunge = sc_op_mailbox_expunge,
    .message_copy = sc_op_message_copy,
    .message_move = sc_op_message_move,
    .mailbox_search = sc_op_mailbox_search,
    .mailbox_changed_since = sc_op_mailbox_changed_since,
    .mailbox_vanished_since = sc_op_mailbox_vanished_since,
    .watch_add = sc_op_watch_add,
    .watch_remove = sc_op_watch_remove,
    .append_begin = sc_op_append_begin,
    .append_target = sc_op_append_target,
    .append_write = sc_op_append_write,
    .append_commit = sc_op_append_commit,
    .append_free = sc_op_append_free,
    .partitions = sc_op_partitions,
    .reconstruct = sc_op_reconstruct,
    .snapshot = sc_op_snapshot,
    .snapshot_list = sc_op_snapshot_list,
    .snapshot_restore = sc_op_snapshot_restore,
    .snapshot_prune = sc_op_snapshot_prune,
    .quota_claim_warned = sc_op_quota_claim_warned,
};

static const cursus_keyword sc_settings[] = {
    {"partitions", CURSUS_VALUE_STRING, 1, 1,
     "NAME=PATH, ... (relative paths below the store directory)"},
    {"default_partition", CURSUS_VALUE_STRING, 1, 1,
     "partition for new users, or least-full (the default)"},
    {"separator", CURSUS_VALUE_STRING, 1, 1,
     "hierarchy separator, / or . (fixed once the store exists)"},
    {"other_users_prefix", CURSUS_VALUE_STRING, 1, 1,
     "namespace of other users' shared mailboxes (Other Users)"},
    {"shared_prefix", CURSUS_VALUE_STRING, 1, 1,
     "namespace of public folders (Shared Folders)"},
    {"hash_threshold", CURSUS_VALUE_INTEGER, 1, 1,
     "messages in a folder before hash subdirectories (1000)"},
    {"lock_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest wait for a mailbox lock before a temporary failure (30s)"},
    {"checkpoint_size", CURSUS_VALUE_SIZE, 1, 1,
     "folder log size that triggers folding it into the index (256K)"},
    {"max_message_size", CURSUS_VALUE_SIZE, 1, 1,
     "largest message accepted (0 = no limit)"},
    {"binary_limit", CURSUS_VALUE_SIZE, 1, 1,
     "largest part decoded for BINARY and body searches (64M)"},
    {"vanished_keep", CURSUS_VALUE_DURATION, 1, 1,
     "how long expunged UIDs are remembered for QRESYNC (30 days)"},
    {"snapshot_dir", CURSUS_VALUE_PATH, 1, 1,
     "where snapshots of the system area go (snapshots)"},
    {"fsync", CURSUS_VALUE_BOOLEAN, 1, 1,
     "make data durable before replying (yes; no loses mail on a crash)"},
    {NULL, 0, 0, 0, NULL},
};

static int sc_init(cursus_module_ctx *ctx, const cursus_host *host,
                   const char **error_r) {
  sc_host = host;
  sc_ctx = ctx;
  sc_mime_init();
  return CURSUS_OK;
}

static void sc_fini(cursus_module_ctx *ctx) {}

CURSUS_MODULE(.name = "store_cursus", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "the default message store: partitions, "
                             "single copy, Tokyo Cabinet index and cache",
              .kinds = CURSUS_KIND_STORE,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_CHANNEL_JOB |
                           CURSUS_PROC_STORED | CURSUS_PROC_TOOL,
              .settings = sc_settings, .init = sc_init, .fini = sc_fini,
              .store = &sc_ops);
