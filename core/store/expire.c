/*
 * expire.c - expiry rules: reading them and applying them through the
 * store ABI (any backend)
 */
#include "build-config.h"
#include "expire.h"
#include "store.h"
#include "config/config.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ reading */

static void rule_free(expire_rule *r) {
  g_free(r->name);
  if (r->folder != NULL)
    g_regex_unref(r->folder);
  g_free(r->folder_text);
  g_ptr_array_free(r->headers, TRUE);
  g_free(r);
}

void expire_rules_free(expire_rules **rp) {
  if (*rp == NULL)
    return;
  g_ptr_array_free((*rp)->rules, TRUE);
  g_free(*rp);
  *rp = NULL;
}

static expire_rule *rule_get(expire_rules *rs, const char *name,
                             const char *file, unsigned line) {
  for (guint i = 0; i < rs->rules->len; i++) {
    expire_rule *r = rs->rules->pdata[i];
    if (g_str_equal(r->name, name))
      return r;
  }
  expire_rule *r = g_new0(expire_rule, 1);
  r->name = g_strdup(name);
  r->days = r->count = r->size = r->size_days = -1;
  r->deleted = r->seen = -1;
  r->headers = g_ptr_array_new_with_free_func(g_free);
  r->file = g_intern_string(file);
  r->line = line;
  g_ptr_array_add(rs->rules, r);
  return r;
}

static bool parse_number(const char *v, bool size, int64_t *out) {
  long long n;
  if (size ? !opt_parse_size(v, &n) : !opt_parse_int(v, &n))
    return false;
  if (n < 0)
    return false;
  *out = n;
  return true;
}

static void parse_line(expire_rules *rs, const char *file, unsigned ln,
                       char *text, diag *d) {
  char *colon = strchr(text, ':');
  char *dot = strchr(text, '.');
  if (colon == NULL || dot == NULL || dot > colon || dot == text) {
    diag_error(d, file, ln, "expected RULE.ATTRIBUTE: VALUE");
    return;
  }
  *colon = '\0';
  *dot = '\0';
  char *name = g_strstrip(text), *attr = g_strstrip(dot + 1);
  char *value = g_strstrip(colon + 1);
  expire_rule *r = rule_get(rs, name, file, ln);
  bool b;
  if (g_ascii_strcasecmp(attr, "folderpattern") == 0) {
    GError *err = NULL;
    char *anchored = g_strconcat("^(?:", value, ")$", NULL);
    GRegex *re = g_regex_new(anchored, G_REGEX_OPTIMIZE, 0, &err);
    g_free(anchored);
    if (re == NULL) {
      diag_error(d, file, ln, "rule %s: bad folderpattern: %s", name,
                 err->message);
      g_error_free(err);
      return;
    }
    if (r->folder != NULL)
      g_regex_unref(r->folder);
    r->folder = re;
    g_free(r->folder_text);
    r->folder_text = g_strdup(value);
  } else if (g_ascii_strcasecmp(attr, "messagedays") == 0) {
    if (!parse_number(value, false, &r->days))
      diag_error(d, file, ln, "rule %s: messagedays needs a number of days",
                 name);
  } else if (g_ascii_strcasecmp(attr, "messagecount") == 0) {
    if (!parse_number(value, false, &r->count))
      diag_error(d, file, ln, "rule %s: messagecount needs a number", name);
  } else if (g_ascii_strcasecmp(attr, "messagesize") == 0) {
    if (!parse_number(value, true, &r->size))
      diag_error(d, file, ln, "rule %s: messagesize needs a size", name);
  } else if (g_ascii_strcasecmp(attr, "messagesizedays") == 0) {
    if (!parse_number(value, false, &r->size_days))
      diag_error(d, file, ln, "rule %s: messagesizedays needs a number of "
                 "days", name);
  } else if (g_ascii_strcasecmp(attr, "deleted") == 0 ||
             g_ascii_strcasecmp(attr, "seen") == 0 ||
             g_ascii_strcasecmp(attr, "exclusive") == 0) {
    if (!opt_parse_bool(value, &b)) {
      diag_error(d, file, ln, "rule %s: %s needs yes or no", name, attr);
      return;
    }
    if (g_ascii_strcasecmp(attr, "deleted") == 0)
      r->deleted = b;
    else if (g_ascii_strcasecmp(attr, "seen") == 0)
      r->seen = b;
    else
      r->exclusive = b;
  } else if (g_ascii_strncasecmp(attr, "messageheader.", 14) == 0 &&
             attr[14] != '\0') {
    g_ptr_array_add(r->headers, g_strdup(attr + 14));
    g_ptr_array_add(r->headers, g_strdup(value));
  } else {
    diag_error(d, file, ln, "rule %s: unknown attribute %s", name, attr);
  }
}

expire_rules *expire_rules_read(const config *cfg, diag *d) {
  expire_rules *rs = g_new0(expire_rules, 1);
  rs->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);
  const char *name = conf_get(cfg->conf, "store", "expire_rules");
  if (name == NULL || *name == '\0')
    return rs;
  char *path = fs_path_join(cfg->dir, name);
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL)) {
    g_free(path);
    return rs;
  }
  const char *file = g_intern_string(path);
  char **lines = g_strsplit(text, "\n", -1);
  for (unsigned i = 0; lines[i] != NULL; i++) {
    char *l = g_strstrip(lines[i]);
    if (*l == '\0' || *l == '!' || *l == '#')
      continue;
    parse_line(rs, file, i + 1, l, d);
  }
  for (guint i = 0; i < rs->rules->len; i++) {
    expire_rule *r = rs->rules->pdata[i];
    if (r->folder == NULL)
      diag_error(d, r->file, r->line, "rule %s has no folderpattern",
                 r->name);
    else if (r->days < 0 && r->count < 0 && r->size < 0)
      diag_error(d, r->file, r->line, "rule %s expires nothing: give "
                 "messagedays, messagecount or messagesize", r->name);
    else if (r->size_days >= 0 && r->size < 0)
      diag_error(d, r->file, r->line, "rule %s: messagesizedays needs "
                 "messagesize", r->name);
  }
  g_strfreev(lines);
  g_free(text);
  g_free(path);
  return rs;
}

/* range_check - [store] KEY within LO..HI, reported at its line */
static void range_check(config *cfg, diag *d, const char *key, long long lo,
                        long long hi) {
  for (guint i = 0; i < cfg->conf->sections->len; i++) {
    const opt_section *s = cfg->conf->sections->pdata[i];
    if (s->kind == NULL || s->name != NULL ||
        g_ascii_strcasecmp(s->kind, "store") != 0)
      continue;
    const opt_entry *e = optfile_get(s, key);
    long long n;
    if (e != NULL && opt_parse_int(e->value, &n) && (n < lo || n > hi))
      diag_error(d, e->file, e->line, "[store] %s must be %lld to %lld", key,
                 lo, hi);
  }
}

void expire_check_hook(config *cfg, diag *d) {
  range_check(cfg, d, "expire_start", 0, 23);
  range_check(cfg, d, "quota_warn", 0, 100);
  expire_rules *rs = expire_rules_read(cfg, d);
  expire_rules_free(&rs);
}

/* register_check - the rules are checked with the rest of the
 * configuration, in every program that loads it */
__attribute__((constructor)) static void register_check(void) {
  config_add_check_hook(expire_check_hook);
}

/* ------------------------------------------------------------ running */

typedef struct uidlist {
  GArray *uids;
} uidlist;

static void collect(void *data, uint32_t seq, uint32_t uid) {
  g_array_append_val(((uidlist *)data)->uids, uid);
}

/* rule_filters - the rule's filters as AND children in OUT */
static void rule_filters(const expire_rule *r, GArray *out) {
  cursus_store_search s;
  memset(&s, 0, sizeof(s));
  if (r->deleted >= 0) {
    s.key = r->deleted ? CURSUS_STORE_SEARCH_FLAGS
                       : CURSUS_STORE_SEARCH_UNFLAGS;
    s.number = CURSUS_STORE_DELETED;
    g_array_append_val(out, s);
  }
  if (r->seen >= 0) {
    s.key = r->seen ? CURSUS_STORE_SEARCH_FLAGS : CURSUS_STORE_SEARCH_UNFLAGS;
    s.number = CURSUS_STORE_SEEN;
    g_array_append_val(out, s);
  }
  for (guint i = 0; i + 1 < r->headers->len; i += 2) {
    memset(&s, 0, sizeof(s));
    s.key = CURSUS_STORE_SEARCH_HEADER;
    s.field = r->headers->pdata[i];
    s.value = r->headers->pdata[i + 1];
    g_array_append_val(out, s);
  }
  if (out->len == 0) {
    memset(&s, 0, sizeof(s));
    s.key = CURSUS_STORE_SEARCH_ALL;
    g_array_append_val(out, s);
  }
}

/* rule_uids - the UIDs rule R expires in BOX */
static bool rule_uids(const cursus_store_ops *ops, cursus_store_mailbox *box,
                      const expire_rule *r, GArray *out,
                      const char **error_r) {
  GArray *filters = g_array_new(FALSE, TRUE, sizeof(cursus_store_search));
  rule_filters(r, filters);
  GArray *limits = g_array_new(FALSE, TRUE, sizeof(cursus_store_search));
  cursus_store_search s, sized[2];
  memset(&s, 0, sizeof(s));
  if (r->days >= 0) {
    s.key = CURSUS_STORE_SEARCH_OLDER;
    s.number = r->days * 86400;
    g_array_append_val(limits, s);
  }
  memset(sized, 0, sizeof(sized));
  if (r->size >= 0) {
    sized[0].key = CURSUS_STORE_SEARCH_LARGER;
    sized[0].number = r->size;
    sized[1].key = CURSUS_STORE_SEARCH_OLDER;
    sized[1].number = r->size_days * 86400;
    memset(&s, 0, sizeof(s));
    if (r->size_days >= 0) {
      s.key = CURSUS_STORE_SEARCH_AND;
      s.n_children = 2;
      s.children = sized;
    } else {
      s = sized[0];
    }
    g_array_append_val(limits, s);
  }
  bool ok = true;
  uidlist hits = {out};
  if (limits->len > 0) {
    cursus_store_search any = {.key = CURSUS_STORE_SEARCH_OR,
                               .n_children = limits->len,
                               .children = (void *)limits->data};
    if (limits->len == 1)
      any = g_array_index(limits, cursus_store_search, 0);
    g_array_append_val(filters, any);
    cursus_store_search q = {.key = CURSUS_STORE_SEARCH_AND,
                             .n_children = filters->len,
                             .children = (void *)filters->data};
    ok = ops->mailbox_search(box, &q, collect, &hits, error_r) == CURSUS_OK;
    g_array_set_size(filters, filters->len - 1);
  }
  if (ok && r->count >= 0) {
    /* keep the newest COUNT of the messages the filters select */
    uidlist all = {g_array_new(FALSE, FALSE, sizeof(uint32_t))};
    cursus_store_search q = {.key = CURSUS_STORE_SEARCH_AND,
                             .n_children = filters->len,
                             .children = (void *)filters->data};
    ok = ops->mailbox_search(box, &q, collect, &all, error_r) == CURSUS_OK;
    for (guint i = 0; ok && i + (guint)r->count < all.uids->len; i++)
      g_array_append_val(out, g_array_index(all.uids, uint32_t, i));
    g_array_free(all.uids, TRUE);
  }
  g_array_free(filters, TRUE);
  g_array_free(limits, TRUE);
  return ok;
}

static gint u32_cmp(gconstpointer a, gconstpointer b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct folder_job {
  const expire_rules *rules;
  bool dry_run;
  void (*report)(void *data, const char *line);
  void *data;
  expire_stats *stats;
} folder_job;

static void say(folder_job *j, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(folder_job *j, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char *line = g_strdup_vprintf(fmt, args);
  va_end(args);
  if (j->report != NULL)
    j->report(j->data, line);
  log_info("expire: %s", line);
  g_free(line);
}

static void expire_folder(folder_job *j, cursus_store_user *u,
                          const char *user, const char *name) {
  const cursus_store_ops *ops = store_ops();
  char *full = g_strdup_printf("user/%s/%s", user, name);
  GPtrArray *apply = g_ptr_array_new();
  for (guint i = 0; i < j->rules->rules->len; i++) {
    expire_rule *r = j->rules->rules->pdata[i];
    if (r->folder == NULL || !g_regex_match(r->folder, full, 0, NULL))
      continue;
    if (r->exclusive) {
      g_ptr_array_set_size(apply, 0);
      g_ptr_array_add(apply, r);
      break;
    }
    g_ptr_array_add(apply, r);
  }
  cursus_store_mailbox *box = NULL;
  const char *error;
  if (apply->len == 0 ||
      ops->mailbox_open(u, name, CURSUS_STORE_OPEN_NORECENT, &box, &error) !=
          CURSUS_OK) {
    if (apply->len > 0)
      say(j, "%s: cannot open: %s", full, error);
    g_ptr_array_free(apply, TRUE);
    g_free(full);
    return;
  }
  GArray *uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  bool ok = true;
  for (guint i = 0; i < apply->len && ok; i++)
    ok = rule_uids(ops, box, apply->pdata[i], uids, &error);
  g_array_sort(uids, u32_cmp);
  GArray *ranges = g_array_new(FALSE, FALSE, sizeof(cursus_store_range));
  uint64_t bytes = 0;
  for (guint i = 0; i < uids->len; i++) {
    uint32_t uid = g_array_index(uids, uint32_t, i);
    if (i > 0 && uid == g_array_index(uids, uint32_t, i - 1))
      continue;
    cursus_store_range r = {uid, uid};
    g_array_append_val(ranges, r);
    cursus_store_message m = {.size = sizeof(m)};
    uint32_t seq = ops->message_seq(box, uid);
    if (seq != 0 && ops->message_info(box, seq, &m, &error) == CURSUS_OK)
      bytes += m.rfc822_size;
  }
  if (!ok) {
    say(j, "%s: %s", full, error);
  } else if (ranges->len > 0) {
    cursus_store_set set = {(void *)ranges->data, ranges->len, 1};
    if (!j->dry_run &&
        (ops->message_store_flags(box, &set, CURSUS_STORE_FLAGS_ADD,
                                  CURSUS_STORE_DELETED, NULL, 0, NULL, NULL,
                                  NULL, &error) != CURSUS_OK ||
         ops->mailbox_expunge(box, &set, NULL, NULL, &error) != CURSUS_OK)) {
      say(j, "%s: cannot expunge: %s", full, error);
    } else {
      say(j, "%s: %s %u messages (%" G_GUINT64_FORMAT " bytes)", full,
          j->dry_run ? "would expire" : "expired", ranges->len, bytes);
      j->stats->folders++;
      j->stats->messages += ranges->len;
      j->stats->bytes += bytes;
    }
  }
  g_array_free(ranges, TRUE);
  g_array_free(uids, TRUE);
  ops->mailbox_close(&box);
  g_ptr_array_free(apply, TRUE);
  g_free(full);
}

struct names {
  GPtrArray *names;
  const cursus_store_namespace *ns;
  size_t n_ns;
};

static int collect_name(void *data, const cursus_store_list_entry *e) {
  struct names *n = data;
  if (e->attributes & (CURSUS_STORE_LIST_NOSELECT |
                       CURSUS_STORE_LIST_NONEXISTENT))
    return 0;
  /* only the user's own mailboxes: others' are expired with their owner */
  for (size_t i = 0; i < n->n_ns; i++)
    if (*n->ns[i].prefix != '\0' && g_str_has_prefix(e->name, n->ns[i].prefix))
      return 0;
  g_ptr_array_add(n->names, g_strdup(e->name));
  return 0;
}

static int collect_user(void *data, const char *user, const char *part) {
  g_ptr_array_add(data, g_strdup(user));
  return 0;
}

bool expire_run(const expire_rules *rules, const char *user, bool dry_run,
                void (*report)(void *data, const char *line), void *data,
                expire_stats *stats, char **error_r) {
  const cursus_store_ops *ops = store_ops();
  const char *error;
  void *h = ops != NULL ? store_backend(&error) : NULL;
  memset(stats, 0, sizeof(*stats));
  if (h == NULL) {
    *error_r = g_strdup(ops != NULL ? error : "no message store");
    return false;
  }
  if (rules->rules->len == 0)
    return true;
  GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
  if (user != NULL)
    g_ptr_array_add(users, g_strdup(user));
  else if (ops->users_list(h, collect_user, users, &error) != CURSUS_OK) {
    *error_r = g_strdup(error);
    g_ptr_array_free(users, TRUE);
    return false;
  }
  folder_job j = {rules, dry_run, report, data, stats};
  for (guint i = 0; i < users->len; i++) {
    cursus_store_user *u = NULL;
    if (store_user_open(users->pdata[i], CURSUS_STORE_USER_ADMIN, &u,
                        &error) != CURSUS_OK) {
      say(&j, "user %s: %s", (char *)users->pdata[i], error);
      continue;
    }
    struct names n = {g_ptr_array_new_with_free_func(g_free), NULL, 0};
    n.ns = ops->user_namespaces(u, &n.n_ns);
    const char *all[] = {"*", NULL};
    if (ops->mailbox_list(u, all, 0, collect_name, &n, &error) == CURSUS_OK)
      for (guint k = 0; k < n.names->len; k++)
        expire_folder(&j, u, ops->user_id(u), n.names->pdata[k]);
    else
      say(&j, "user %s: %s", (char *)users->pdata[i], error);
    g_ptr_array_free(n.names, TRUE);
    ops->user_close(&u);
  }
  g_ptr_array_free(users, TRUE);
  return true;
}
