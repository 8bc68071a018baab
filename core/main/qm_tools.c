/*
 * qm_tools.c - `cursus qm history`, `qm clean` and `qm top`
 *
 * history: what became of a message, from the message log (every entry
 * naming its queue file: enqueued, each attempt deferred, delivered,
 * returned, notices) and from its queue file while it is there (each
 * recipient's state, results recorded, last result).  clean: hold or
 * delete the queued messages whose sender, recipients, Subject: or
 * content contain given substrings (the classic qclean).  top: the most
 * frequent senders, recipients and subjects of a channel's queue (a
 * flood shows at once).  All read the queue files, so they work whether
 * the server runs or not.
 */
#include "build-config.h"
#include "qm.h"
#include "jobs/hdrfield.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Longest Subject: shown by top. */
#define TOP_SUBJECT_MAX 72

static char *time_text(int64_t t) {
  GDateTime *dt = g_date_time_new_from_unix_local(t);
  char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
  g_date_time_unref(dt);
  return s;
}

/* ------------------------------------------------------------- history */

/* log_mentions - the message log line names file NAME (or, for a bare
 * queue id, one of its copies) */
static bool log_mentions(const char *line, const char *name, bool bare_id) {
  size_t n = strlen(name);
  for (const char *p = strstr(line, name); p != NULL; p = strstr(p + 1, name)) {
    bool starts = p == line || p[-1] == ' ';
    char after = p[n];
    bool ends = after == ' ' || after == '\0' || after == '\n' ||
                (bare_id && after == '.');
    if (starts && ends)
      return true;
  }
  return false;
}

/* print_file - the lines of one message log file about NAME; how many
 * (zlib reads plain and gzip-compressed files alike) */
static unsigned print_file(const char *path, const char *name) {
  gzFile f = gzopen(path, "rb");
  if (f == NULL) {
    if (errno != ENOENT)
      fprintf(stderr, "cursus qm: %s: %s\n", path, g_strerror(errno));
    return 0;
  }
  bool bare_id = strchr(name, '.') == NULL;
  unsigned n = 0;
  char line[16384];
  bool start = true; /* LINE begins a log line (longer ones come in parts) */
  while (gzgets(f, line, sizeof(line)) != NULL) {
    bool whole = strchr(line, '\n') != NULL;
    if (start && log_mentions(line, name, bare_id)) {
      if (n++ == 0)
        printf("Message log (%s):\n", path);
      printf("  %s%s", line, whole ? "" : "...\n");
    }
    start = whole;
  }
  gzclose(f);
  return n;
}

/* print_log - the message log lines about NAME, the rotated files first
 * (FILE.N or FILE.N.gz, oldest first, as logrotate numbers them); how
 * many */
static unsigned print_log(qm_ctx *q, const char *name) {
  const char *file = conf_get(q->cfg->conf, "log", "mail_log");
  if (file == NULL || *file == '\0')
    return 0;
  char *path = g_path_is_absolute(file) ? g_strdup(file)
                                        : g_build_filename(q->cfg->log_dir, file, NULL);
  GPtrArray *older = g_ptr_array_new_with_free_func(g_free);
  for (unsigned k = 1; k < 1000; k++) {
    char *plain = g_strdup_printf("%s.%u", path, k);
    char *gz = g_strdup_printf("%s.gz", plain);
    char *found = access(plain, F_OK) == 0 ? plain : access(gz, F_OK) == 0 ? gz : NULL;
    if (found != NULL)
      g_ptr_array_add(older, g_strdup(found));
    g_free(plain);
    g_free(gz);
    if (found == NULL)
      break;
  }
  unsigned n = 0;
  for (guint i = older->len; i > 0; i--)
    n += print_file(older->pdata[i - 1], name);
  n += print_file(path, name);
  g_ptr_array_free(older, TRUE);
  g_free(path);
  return n;
}

static void print_file_state(const char *rel, const qmsg *m) {
  const qenv *e = m->env;
  printf("Queue file:  %s (%s, %u attempt(s)%s)\n", rel,
         e->held ? "held" : "queued", e->attempts,
         e->notices > 0 ? ", delay notice sent" : "");
  if (e->next_retry > 0) {
    char *t = time_text(e->next_retry);
    printf("Next retry:  %s\n", t);
    g_free(t);
  }
  for (guint i = 0; i < e->rcpts->len; i++) {
    const qrcpt *r = e->rcpts->pdata[i];
    printf("  <%s> %s, %u result(s) recorded", r->address, qstate_name(r->state),
           r->results);
    if (r->when > 0) {
      char *t = time_text(r->when);
      printf("; last %s: %s%s%s%s%s", t, r->code ? r->code : "",
             r->diag ? " " : "", r->diag ? r->diag : "",
             r->remote ? " via " : "", r->remote ? r->remote : "");
      g_free(t);
    }
    printf("\n");
  }
}

int qm_history(qm_ctx *q, const char *id) {
  const char *slash = strrchr(id, '/');
  const char *name = slash != NULL ? slash + 1 : id;
  if (*name == '\0' || strchr(name, ' ') != NULL) {
    fprintf(stderr, "cursus qm history: not a queue id: %s\n", id);
    return 2;
  }
  bool found = false;
  if (strchr(name, '.') != NULL) {
    char *rel = qm_find_file(q, id);
    if (rel != NULL) {
      char *full = g_build_filename(q->cfg->queue_dir, rel, NULL);
      qmsg *m = NULL;
      char *error = NULL;
      if (qmsg_open(full, false, &m, &error) == CURSUS_OK) {
        print_file_state(rel, m);
        qmsg_close(&m);
        found = true;
      } else {
        g_free(error);
      }
      g_free(full);
      g_free(rel);
    }
  }
  if (!found)
    printf("Queue file:  none (delivered, returned or deleted)\n");
  if (print_log(q, name) == 0 && !found) {
    fprintf(stderr, "cursus qm history: nothing known of %s\n", id);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------ reading a queue */

typedef struct queued_msg {
  char *rel;
  qmsg *m;
} queued_msg;

typedef bool (*visit_fn)(qm_ctx *q, queued_msg *qm, void *data);

typedef struct walk {
  qm_ctx *q;
  visit_fn fn;
  void *data;
} walk;

static bool walk_cb(void *data, const char *channel, const char *rel_path,
                    const char *name) {
  walk *w = data;
  char *full = g_build_filename(w->q->cfg->queue_dir, rel_path, NULL);
  qmsg *m = NULL;
  char *error = NULL;
  bool go_on = true;
  if (qmsg_open(full, false, &m, &error) == CURSUS_OK) {
    queued_msg qm = {.rel = (char *)rel_path, .m = m};
    go_on = w->fn(w->q, &qm, w->data);
    qmsg_close(&m);
  } else {
    g_free(error); /* delivered meanwhile */
  }
  g_free(full);
  return go_on;
}

/* each_message - FN for every queue file of CHANNEL (NULL: all) */
static void each_message(qm_ctx *q, const char *channel, visit_fn fn,
                         void *data) {
  walk w = {q, fn, data};
  queue_scan(q->cfg->queue_dir, channel, walk_cb, &w);
}

static char *subject_of(const qmsg *m) {
  char *v = NULL;
  return hdrfield_get(m, "Subject", &v) == CURSUS_OK ? v : NULL;
}

/* contains - HAY contains NEEDLE, ASCII case ignored */
static bool contains(const char *hay, const char *needle) {
  if (hay == NULL)
    return false;
  char *h = g_ascii_strdown(hay, -1), *n = g_ascii_strdown(needle, -1);
  bool yes = strstr(h, n) != NULL;
  g_free(h);
  g_free(n);
  return yes;
}

/* content_contains - the message content contains NEEDLE (lower case),
 * ASCII case ignored; read in pieces that overlap by the needle */
static bool content_contains(const qmsg *m, const char *needle) {
  size_t nl = strlen(needle);
  size_t piece = 65536;
  char *buf = g_malloc(piece + nl + 1);
  size_t keep = 0;
  bool found = false;
  for (uint64_t off = 0; off < m->env->size && !found;) {
    size_t want = (size_t)MIN((uint64_t)piece, m->env->size - off);
    ssize_t n = pread(m->fd, buf + keep, want, (off_t)(m->content_offset + off));
    if (n <= 0)
      break;
    size_t have = keep + (size_t)n;
    for (size_t i = keep; i < have; i++)
      buf[i] = g_ascii_tolower(buf[i]);
    buf[have] = '\0';
    /* NULs in the content would end strstr early: search up to each */
    for (size_t i = 0; i < have && !found; i += strlen(buf + i) + 1)
      found = strstr(buf + i, needle) != NULL;
    keep = MIN(have, nl > 0 ? nl - 1 : 0);
    memmove(buf, buf + have - keep, keep);
    off += (uint64_t)n;
  }
  g_free(buf);
  return found;
}

/* --------------------------------------------------------------- clean */

typedef struct clean_opts {
  const char *from, *to, *subject, *content;
  char *content_lower;
  bool any; /* -match ANY */
  GPtrArray *matched; /* rel paths */
} clean_opts;

static bool clean_visit(qm_ctx *q, queued_msg *qm, void *data) {
  clean_opts *o = data;
  const qenv *e = qm->m->env;
  unsigned asked = 0, met = 0;
  if (o->from != NULL) {
    asked++;
    met += contains(e->sender, o->from);
  }
  if (o->to != NULL) {
    asked++;
    bool any = false;
    for (guint i = 0; i < e->rcpts->len && !any; i++) {
      const qrcpt *r = e->rcpts->pdata[i];
      any = r->state == QSTATE_PENDING && contains(r->address, o->to);
    }
    met += any;
  }
  if (o->subject != NULL) {
    asked++;
    char *s = subject_of(qm->m);
    met += contains(s, o->subject);
    g_free(s);
  }
  if (o->content != NULL) {
    /* the content is read only when it can still change the outcome */
    bool open_question = o->any ? met == 0 : met == asked;
    asked++;
    if (open_question)
      met += content_contains(qm->m, o->content_lower);
  }
  if (o->any ? met > 0 : met == asked) {
    char *s = subject_of(qm->m);
    printf("%-24s %-14s <%s> %s\n", strrchr(qm->rel, '/') + 1, e->channel,
           e->sender, s != NULL ? s : "");
    g_free(s);
    g_ptr_array_add(o->matched, g_strdup(qm->rel));
  }
  return true;
}

int qm_clean(qm_ctx *q, int argc, char **argv) {
  clean_opts o = {0};
  const char *channel = NULL;
  int action = 0; /* 0 list, 'h' hold, 'd' delete */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-hold") == 0)
      action = 'h';
    else if (strcmp(a, "-delete") == 0)
      action = 'd';
    else if (v != NULL && strcmp(a, "-from") == 0)
      o.from = v, i++;
    else if (v != NULL && strcmp(a, "-to") == 0)
      o.to = v, i++;
    else if (v != NULL && strcmp(a, "-subject") == 0)
      o.subject = v, i++;
    else if (v != NULL && strcmp(a, "-content") == 0)
      o.content = v, i++;
    else if (v != NULL && strcmp(a, "-match") == 0 &&
             (g_ascii_strcasecmp(v, "all") == 0 || g_ascii_strcasecmp(v, "any") == 0))
      o.any = g_ascii_strcasecmp(v, "any") == 0, i++;
    else if (a[0] != '-' && channel == NULL)
      channel = a;
    else {
      fprintf(stderr, "cursus qm clean: unknown or incomplete option %s\n", a);
      return 2;
    }
  }
  if (o.from == NULL && o.to == NULL && o.subject == NULL && o.content == NULL) {
    fprintf(stderr, "usage: cursus qm clean [-from TEXT] [-to TEXT] [-subject TEXT] "
                    "[-content TEXT] [-match ALL|ANY] [-hold|-delete] [CHANNEL]\n"
                    "(at least one of -from, -to, -subject, -content)\n");
    return 2;
  }
  if ((o.content != NULL && *o.content == '\0') ||
      (o.subject != NULL && *o.subject == '\0')) {
    fprintf(stderr, "cursus qm clean: an empty text matches everything\n");
    return 2;
  }
  o.content_lower = o.content != NULL ? g_ascii_strdown(o.content, -1) : NULL;
  o.matched = g_ptr_array_new_with_free_func(g_free);
  each_message(q, channel, clean_visit, &o);
  int rc = 0;
  printf("%u message(s) match\n", o.matched->len);
  if (action != 0 && o.matched->len > 0) {
    g_ptr_array_insert(o.matched, 0, g_strdup("clean"));
    rc = action == 'h' ? qm_hold(q, (int)o.matched->len, (char **)o.matched->pdata, true)
                       : qm_delete(q, (int)o.matched->len, (char **)o.matched->pdata, false);
  }
  g_ptr_array_free(o.matched, TRUE);
  g_free(o.content_lower);
  return rc;
}

/* ----------------------------------------------------------------- top */

typedef struct top_counts {
  GHashTable *from, *to, *subject; /* text -> count */
} top_counts;

static void bump(GHashTable *t, const char *key) {
  gpointer old = g_hash_table_lookup(t, key);
  g_hash_table_replace(t, g_strdup(key), GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
}

static bool top_visit(qm_ctx *q, queued_msg *qm, void *data) {
  top_counts *c = data;
  const qenv *e = qm->m->env;
  if (c->from != NULL)
    bump(c->from, *e->sender ? e->sender : "<>");
  for (guint i = 0; c->to != NULL && i < e->rcpts->len; i++) {
    const qrcpt *r = e->rcpts->pdata[i];
    if (r->state == QSTATE_PENDING)
      bump(c->to, r->address);
  }
  if (c->subject != NULL) {
    char *s = subject_of(qm->m);
    if (s != NULL && g_utf8_strlen(s, -1) > TOP_SUBJECT_MAX && g_utf8_validate(s, -1, NULL))
      *g_utf8_offset_to_pointer(s, TOP_SUBJECT_MAX) = '\0';
    bump(c->subject, s != NULL ? s : "(no subject)");
    g_free(s);
  }
  return true;
}

typedef struct kv {
  const char *key;
  unsigned n;
} kv;

static gint by_count(gconstpointer a, gconstpointer b) {
  const kv *x = a, *y = b;
  if (x->n != y->n)
    return x->n > y->n ? -1 : 1;
  return strcmp(x->key, y->key);
}

static void print_top(const char *title, GHashTable *t, unsigned top,
                      unsigned min) {
  if (t == NULL)
    return;
  GArray *a = g_array_new(FALSE, FALSE, sizeof(kv));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, t);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    kv e = {k, GPOINTER_TO_UINT(v)};
    if (e.n >= min)
      g_array_append_val(a, e);
  }
  g_array_sort(a, by_count);
  printf("%s:\n", title);
  for (guint i = 0; i < a->len && i < top; i++)
    printf("%8u  %s\n", g_array_index(a, kv, i).n, g_array_index(a, kv, i).key);
  g_array_free(a, TRUE);
}

int qm_top(qm_ctx *q, int argc, char **argv) {
  bool want_from = false, want_to = false, want_subject = false;
  unsigned top = 10, min = 1;
  const char *channel = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-from") == 0)
      want_from = true;
    else if (strcmp(a, "-to") == 0)
      want_to = true;
    else if (strcmp(a, "-subject") == 0)
      want_subject = true;
    else if (v != NULL && (strcmp(a, "-top") == 0 || strcmp(a, "-min_count") == 0) &&
             g_ascii_isdigit(v[0]) && strspn(v, "0123456789") == strlen(v) &&
             strlen(v) < 9) {
      *(strcmp(a, "-top") == 0 ? &top : &min) = (unsigned)atoi(v);
      i++;
    } else if (a[0] != '-' && channel == NULL)
      channel = a;
    else {
      fprintf(stderr, "usage: cursus qm top [-from] [-to] [-subject] [-top N] "
                      "[-min_count N] [CHANNEL]\n");
      return 2;
    }
  }
  if (!want_from && !want_to && !want_subject)
    want_from = want_to = want_subject = true;
  top_counts c = {0};
  if (want_from)
    c.from = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  if (want_to)
    c.to = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  if (want_subject)
    c.subject = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  each_message(q, channel, top_visit, &c);
  print_top("Senders", c.from, top, min);
  print_top("Recipients", c.to, top, min);
  print_top("Subjects", c.subject, top, min);
  GHashTable *all[] = {c.from, c.to, c.subject};
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
    if (all[i] != NULL)
      g_hash_table_destroy(all[i]);
  return 0;
}
