/*
 * store-bench.c - drives the configured message store through the store
 * ABI, as the delivery channel and the IMAP server do, and prints figures
 *
 *   store-bench CONFIG deliver N THREADS [--users U] [--mbox FILE]
 *       N deliveries by THREADS threads into the INBOXes of U users
 *   store-bench CONFIG grow N STEP [--mbox FILE]
 *       N deliveries into one folder, the rate of every STEP of them
 *   store-bench CONFIG fill USER N [--mbox FILE]
 *       make USER's INBOX hold N messages
 *   store-bench CONFIG ops USER
 *       SELECT, FETCH FLAGS/ENVELOPE/BODYSTRUCTURE/headers, SEARCH, STORE
 *       and random message reads on USER's INBOX, cold and warm
 *   store-bench CONFIG single N RECIPIENTS [--mbox FILE]
 *       N messages to RECIPIENTS users each: disk bytes per message
 *   store-bench CONFIG churn USER SECONDS
 *       random appends, flag changes, expunges, creates, renames and
 *       deletes (the crash tests kill it with SIGKILL)
 *   store-bench CONFIG verify
 *       read every message of every mailbox; exit 1 on any problem
 *
 * Messages come from a CRLF mbox (--mbox) or a built-in generator with a
 * fixed seed (1-20 KB, a quarter multipart).
 */
#include "build-config.h"
#include "config/config.h"
#include "module/host.h"
#include "store/store.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const cursus_store_ops *O;
static const cursus_store_access *S;
static config *cfg;
static modreg *mods;
static const char *config_dir;
static GPtrArray *corpus; /* of GBytes* */

static double now_s(void) {
  return (double)g_get_monotonic_time() / 1e6;
}

static void start(void) {
  diag *d = diag_new();
  char *error = NULL;
  mods = NULL;
  cfg = config_load(config_dir, CURSUS_PROC_ANY, &mods, d);
  if (cfg == NULL || diag_has_errors(d)) {
    diag_print(d, stderr);
    exit(1);
  }
  diag_free(&d);
  mods->process = CURSUS_PROC_TOOL;
  config_set_current(cfg);
  log_set_level(CURSUS_LOG_WARNING);
  host_init(CURSUS_PROC_TOOL);
  if (!store_service_start(cfg, mods, true, &error)) {
    fprintf(stderr, "store-bench: %s\n", error);
    exit(1);
  }
  S = host_table()->store;
  O = S->ops;
}

static void stop(void) {
  store_service_stop();
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
}

/* ------------------------------------------------------------ corpus */

static const char *words[] = {"alpha",   "beta",    "gamma", "delta",
                              "epsilon", "zeta",    "eta",   "theta",
                              "iota",    "kappa",   "lambda", "mu",
                              "nu",      "xi",      "omicron", "pi",
                              "rho",     "sigma",   "tau",   "upsilon"};

static void generate(unsigned n) {
  GRand *r = g_rand_new_with_seed(42);
  static const int sizes[] = {800, 2000, 4000, 8000, 20000};
  for (unsigned i = 0; i < n; i++) {
    GString *m = g_string_new(NULL);
    g_string_append_printf(m, "From: User %u <user%u@example.org>\r\n"
                              "To: rcpt%u@example.org\r\nSubject:",
                           i % 97, i % 97, i % 13);
    for (int w = 0; w < 5; w++)
      g_string_append_printf(m, " %s", words[g_rand_int_range(r, 0, 20)]);
    g_string_append_printf(m, " #%u\r\nDate: Mon, 3 Nov 2025 10:%02u:00 "
                              "+0100\r\nMessage-ID: <%u.%u@bench.example.org>"
                              "\r\n",
                           i, i % 60, i, g_rand_int(r));
    bool multi = i % 4 == 0;
    if (multi)
      g_string_append_printf(m, "MIME-Version: 1.0\r\nContent-Type: "
                                "multipart/mixed; boundary=\"b%u\"\r\n\r\n"
                                "--b%u\r\nContent-Type: text/plain\r\n",
                             i, i);
    g_string_append(m, "\r\n");
    int target = sizes[g_rand_int_range(r, 0, 5)];
    size_t start_len = m->len;
    while ((int)(m->len - start_len) < target) {
      for (int w = 0; w < 10; w++)
        g_string_append_printf(m, "%s%s", w ? " " : "",
                               words[g_rand_int_range(r, 0, 20)]);
      g_string_append(m, "\r\n");
    }
    if (multi)
      g_string_append_printf(m, "--b%u\r\nContent-Type: application/"
                                "octet-stream\r\nContent-Transfer-Encoding: "
                                "base64\r\n\r\nQUJDREVGR0hJSktMTU5PUFFSU1RV"
                                "VldYWVo=\r\n--b%u--\r\n",
                             i, i);
    g_ptr_array_add(corpus, g_bytes_new(m->str, m->len));
    g_string_free(m, TRUE);
  }
  g_rand_free(r);
}

/* load_mbox - messages of a CRLF mbox ("From " lines separate them) */
static void load_mbox(const char *path) {
  char *data;
  gsize len;
  if (!g_file_get_contents(path, &data, &len, NULL)) {
    fprintf(stderr, "store-bench: cannot read %s\n", path);
    exit(1);
  }
  char *p = data, *end = data + len;
  while (p < end) {
    char *body = strstr(p, "\r\n");
    if (body == NULL)
      break;
    body += 2;
    char *next = g_strstr_len(body, end - body, "\r\n\r\nFrom ");
    char *stop_at = next != NULL ? next + 4 : end;
    g_ptr_array_add(corpus, g_bytes_new(body, (gsize)(stop_at - body)));
    p = stop_at;
  }
  g_free(data);
}

static GBytes *message(unsigned i) {
  return corpus->pdata[i % corpus->len];
}

/* ------------------------------------------------------------ helpers */

static cursus_store_user *user(const char *id) {
  cursus_store_user *u = NULL;
  const char *error;
  if (S->user_open(id, CURSUS_STORE_USER_CREATE, &u, &error) != CURSUS_OK) {
    fprintf(stderr, "store-bench: %s: %s\n", id, error);
    exit(1);
  }
  return u;
}

/* deliver - one message to MAILBOX of USERS */
static bool deliver(cursus_store_user **users, size_t n, const char *mailbox,
                    GBytes *msg) {
  const char *error;
  gsize len;
  const char *data = g_bytes_get_data(msg, &len);
  cursus_store_append_params p = {.size = sizeof(p), .size_hint = len};
  cursus_store_append *a = S->append_begin(&p, &error);
  cursus_store_append_result res[64];
  for (size_t i = 0; i < n; i++) {
    cursus_store_target t = {.size = sizeof(t), .mailbox = mailbox,
                             .options = CURSUS_STORE_TARGET_POST |
                                        CURSUS_STORE_TARGET_FALLBACK_INBOX};
    O->append_target(a, users[i], &t, &error);
    res[i].size = sizeof(res[i]);
  }
  int r = O->append_write(a, data, len, &error);
  if (r == CURSUS_OK)
    r = O->append_commit(a, res, &error);
  if (r != CURSUS_OK)
    fprintf(stderr, "store-bench: delivery failed: %s\n", error);
  O->append_free(&a);
  return r == CURSUS_OK;
}

/* ------------------------------------------------------------ deliver */

typedef struct worker {
  unsigned id, threads, users, n;
  unsigned done;
} worker;

static gpointer deliver_thread(gpointer data) {
  worker *w = data;
  GHashTable *open = g_hash_table_new(NULL, NULL);
  for (unsigned i = w->id; i < w->n; i += w->threads) {
    unsigned k = i % w->users;
    cursus_store_user *u = g_hash_table_lookup(open, GUINT_TO_POINTER(k + 1));
    if (u == NULL) {
      char id[32];
      g_snprintf(id, sizeof(id), "bench%u", k);
      u = user(id);
      g_hash_table_insert(open, GUINT_TO_POINTER(k + 1), u);
    }
    if (deliver(&u, 1, "INBOX", message(i)))
      w->done++;
  }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, open);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    cursus_store_user *u = v;
    O->user_close(&u);
  }
  g_hash_table_destroy(open);
  return NULL;
}

static int cmd_deliver(unsigned n, unsigned threads, unsigned users) {
  /* the users' stores exist before the clock starts */
  for (unsigned k = 0; k < users; k++) {
    char id[32];
    g_snprintf(id, sizeof(id), "bench%u", k);
    cursus_store_user *u = user(id);
    O->user_close(&u);
  }
  worker *ws = g_new0(worker, threads);
  GThread **ts = g_new0(GThread *, threads);
  double t0 = now_s();
  for (unsigned i = 0; i < threads; i++) {
    ws[i] = (worker){i, threads, users, n, 0};
    ts[i] = g_thread_new("deliver", deliver_thread, &ws[i]);
  }
  unsigned done = 0;
  for (unsigned i = 0; i < threads; i++) {
    g_thread_join(ts[i]);
    done += ws[i].done;
  }
  double el = now_s() - t0;
  printf("deliveries %u threads %u users %u: %.2f s, %.0f msg/s\n", done,
         threads, users, el, done / el);
  g_free(ws);
  g_free(ts);
  return done == n ? 0 : 1;
}

/* cpu_s - user and system time of this process so far */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmd_grow(unsigned n, unsigned step) {
  cursus_store_user *u = user("grow");
  double t0 = now_s(), tstep = t0, cstep = cpu_s();
  for (unsigned i = 0; i < n; i++) {
    if (!deliver(&u, 1, "INBOX", message(i)))
      return 1;
    if ((i + 1) % step == 0) {
      /* CPU per message shows the cost of the folder's size whatever
       * else the machine runs */
      double t = now_s(), c = cpu_s();
      printf("messages %7u: %.0f msg/s (CPU %.0f us/msg)\n", i + 1,
             step / (t - tstep), (c - cstep) * 1e6 / step);
      fflush(stdout);
      tstep = t;
      cstep = c;
    }
  }
  printf("grow %u: %.0f msg/s overall\n", n, n / (now_s() - t0));
  O->user_close(&u);
  return 0;
}

static int cmd_fill(const char *id, unsigned n) {
  cursus_store_user *u = user(id);
  cursus_store_status s = {.size = sizeof(s),
                           .items = CURSUS_STORE_STATUS_MESSAGES};
  const char *error;
  O->mailbox_status(u, "INBOX", &s, &error);
  for (unsigned i = s.messages; i < n; i++)
    if (!deliver(&u, 1, "INBOX", message(i)))
      return 1;
  O->user_close(&u);
  return 0;
}

static int cmd_single(unsigned n, unsigned recipients) {
  cursus_store_user **us = g_new0(cursus_store_user *, recipients);
  for (unsigned k = 0; k < recipients; k++) {
    char id[32];
    g_snprintf(id, sizeof(id), "list%u", k);
    us[k] = user(id);
  }
  uint64_t raw = 0;
  double t0 = now_s();
  for (unsigned i = 0; i < n; i++) {
    raw += g_bytes_get_size(message(i));
    if (!deliver(us, recipients, "INBOX", message(i)))
      return 1;
  }
  double el = now_s() - t0;
  printf("single copy: %u messages to %u recipients each in %.2f s "
         "(%.0f deliveries/s); %" G_GUINT64_FORMAT " bytes of content\n",
         n, recipients, el, n * recipients / el, raw);
  for (unsigned k = 0; k < recipients; k++)
    O->user_close(&us[k]);
  g_free(us);
  return 0;
}

/* ------------------------------------------------------------ ops */

static void noop(void *d, uint32_t seq, uint32_t uid) { (*(unsigned *)d)++; }

typedef struct timing {
  const char *what;
  double ms;
  unsigned count;
} timing;

static double ms_since(double t0) { return (now_s() - t0) * 1000; }

static void fetch_all(cursus_store_mailbox *box, int what) {
  uint32_t n = O->mailbox_count(box);
  cursus_buf b = {0};
  const char *error;
  const char *fields[] = {"from", "to", "subject", "date", "message-id", NULL};
  for (uint32_t s = 1; s <= n; s++) {
    if (what == 0) {
      cursus_store_message m = {.size = sizeof(m)};
      O->message_info(box, s, &m, &error);
    } else if (what == 1) {
      O->message_field(box, s, CURSUS_STORE_FIELD_ENVELOPE, &b, &error);
    } else if (what == 2) {
      O->message_field(box, s, CURSUS_STORE_FIELD_BODYSTRUCTURE, &b, &error);
    } else {
      O->message_headers(box, s, "", fields, 0, &b, &error);
    }
    b.len = 0;
  }
  host_table()->buf_free(&b);
}

static unsigned search(cursus_store_mailbox *box, cursus_store_search *q) {
  unsigned n = 0;
  const char *error;
  O->mailbox_search(box, q, noop, &n, &error);
  return n;
}

static void run_ops(const char *id, const char *label) {
  cursus_store_user *u = user(id);
  const char *error;
  double t0 = now_s();
  cursus_store_mailbox *box = NULL;
  if (O->mailbox_open(u, "INBOX", 0, &box, &error) != CURSUS_OK) {
    fprintf(stderr, "store-bench: %s\n", error);
    exit(1);
  }
  cursus_store_status st = {.size = sizeof(st),
                            .items = CURSUS_STORE_STATUS_ALL |
                                     CURSUS_STORE_STATUS_FIRST_UNSEEN};
  O->mailbox_state(box, &st, &error);
  double select_ms = ms_since(t0);
  uint32_t n = O->mailbox_count(box);
  printf("%s: %u messages\n", label, n);
  printf("  %-44s %10.1f ms\n", "SELECT (open, state)", select_ms);
  const char *names[] = {"FETCH 1:* (UID FLAGS)", "FETCH 1:* (ENVELOPE)",
                         "FETCH 1:* (BODYSTRUCTURE)",
                         "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (...)])"};
  for (int w = 0; w < 4; w++) {
    t0 = now_s();
    fetch_all(box, w);
    printf("  %-44s %10.1f ms\n", names[w], ms_since(t0));
  }
  cursus_store_search q = {.key = CURSUS_STORE_SEARCH_HEADER,
                           .field = "subject", .value = "omicron"};
  t0 = now_s();
  unsigned hits = search(box, &q);
  printf("  %-44s %10.1f ms (%u)\n", "SEARCH SUBJECT omicron", ms_since(t0),
         hits);
  q.field = "from";
  q.value = "user7@";
  t0 = now_s();
  hits = search(box, &q);
  printf("  %-44s %10.1f ms (%u)\n", "SEARCH FROM user7@", ms_since(t0), hits);
  cursus_store_search body = {.key = CURSUS_STORE_SEARCH_BODY,
                              .value = "upsilon sigma"};
  t0 = now_s();
  hits = search(box, &body);
  printf("  %-44s %10.1f ms (%u)\n", "SEARCH BODY \"upsilon sigma\"",
         ms_since(t0), hits);
  cursus_store_search kids[2] = {
      {.key = CURSUS_STORE_SEARCH_SINCE, .number = 10957},
      {.key = CURSUS_STORE_SEARCH_UNFLAGS, .number = CURSUS_STORE_SEEN}};
  cursus_store_search both = {.key = CURSUS_STORE_SEARCH_AND, .n_children = 2,
                              .children = kids};
  t0 = now_s();
  hits = search(box, &both);
  printf("  %-44s %10.1f ms (%u)\n", "SEARCH SINCE 1-Jan-2000 UNSEEN",
         ms_since(t0), hits);
  if (n > 0) {
    cursus_store_range all = {1, n};
    cursus_store_set set = {&all, 1, 0};
    for (int m = 0; m < 2; m++) {
      t0 = now_s();
      O->message_store_flags(box, &set,
                             m == 0 ? CURSUS_STORE_FLAGS_ADD
                                    : CURSUS_STORE_FLAGS_REMOVE,
                             CURSUS_STORE_SEEN, NULL, 0, NULL, NULL, NULL,
                             &error);
      printf("  %-44s %10.1f ms\n",
             m == 0 ? "STORE 1:* +FLAGS.SILENT (\\Seen)"
                    : "STORE 1:* -FLAGS.SILENT (\\Seen)",
             ms_since(t0));
    }
    double lat[300];
    GRand *r = g_rand_new_with_seed(7);
    char *buf = g_malloc(1 << 20);
    for (int i = 0; i < 300; i++) {
      t0 = now_s();
      int fd;
      uint64_t size;
      if (O->message_open(box, (uint32_t)g_rand_int_range(r, 1, (gint32)n + 1),
                          &fd, &size, &error) == CURSUS_OK) {
        for (uint64_t off = 0; off < size;) {
          ssize_t k = pread(fd, buf, 1 << 20, (off_t)off);
          if (k <= 0)
            break;
          off += (uint64_t)k;
        }
        close(fd);
      }
      lat[i] = ms_since(t0);
    }
    g_free(buf);
    g_rand_free(r);
    /* sort by value */
    for (int i = 1; i < 300; i++)
      for (int j = i; j > 0 && lat[j - 1] > lat[j]; j--) {
        double x = lat[j];
        lat[j] = lat[j - 1];
        lat[j - 1] = x;
      }
    printf("  %-44s p50 %.3f ms p99 %.3f ms\n",
           "FETCH <random> (BODY.PEEK[]) x300", lat[150], lat[297]);
  }
  t0 = now_s();
  cursus_store_mailbox *again = NULL;
  O->mailbox_open(u, "INBOX", 0, &again, &error);
  O->mailbox_state(again, &st, &error);
  printf("  %-44s %10.1f ms\n", "SELECT again (warm)", ms_since(t0));
  O->mailbox_close(&again);
  O->mailbox_close(&box);
  O->user_close(&u);
}

static int cmd_ops(const char *id) {
  /* cold: a process that never opened the folder */
  run_ops(id, "first open in a process");
  stop();
  start();
  run_ops(id, "again, new process (page cache warm)");
  run_ops(id, "again, same process");
  return 0;
}

/* ------------------------------------------------------------ churn */

static int cmd_churn(const char *id, double seconds) {
  cursus_store_user *u = user(id);
  cursus_store_user *v = user("churn-peer");
  const char *error;
  GRand *r = g_rand_new();
  double t0 = now_s();
  unsigned ops = 0;
  char name[64];
  while (now_s() - t0 < seconds) {
    int what = g_rand_int_range(r, 0, 10);
    g_snprintf(name, sizeof(name), "F%d", g_rand_int_range(r, 0, 4));
    if (what < 4) {
      cursus_store_user *both[2] = {u, v};
      deliver(both, 2, what < 2 ? "INBOX" : name, message(ops));
    } else if (what < 7) {
      cursus_store_mailbox *box = NULL;
      if (O->mailbox_open(u, what == 4 ? name : "INBOX", 0, &box, &error) ==
          CURSUS_OK) {
        uint32_t n = O->mailbox_count(box);
        if (n > 0) {
          uint32_t a = (uint32_t)g_rand_int_range(r, 1, (gint32)n + 1);
          cursus_store_range rg = {a, MIN(n, a + 3)};
          cursus_store_set set = {&rg, 1, 0};
          O->message_store_flags(box, &set, CURSUS_STORE_FLAGS_ADD,
                                 what == 6 ? CURSUS_STORE_DELETED
                                           : CURSUS_STORE_SEEN,
                                 NULL, 0, NULL, NULL, NULL, &error);
          if (what == 6)
            O->mailbox_expunge(box, NULL, NULL, NULL, &error);
          if (what == 5) {
            cursus_store_range one = {a, a};
            cursus_store_set s1 = {&one, 1, 0};
            O->message_move(box, &s1, name, NULL, NULL, NULL, NULL, &error);
          }
        }
        O->mailbox_close(&box);
      }
    } else if (what == 7) {
      O->mailbox_create(u, name, 0, &error);
    } else if (what == 8) {
      char to[64];
      g_snprintf(to, sizeof(to), "F%d/sub", g_rand_int_range(r, 0, 4));
      O->mailbox_rename(u, name, to, &error);
    } else {
      O->mailbox_delete(u, name, &error);
    }
    ops++;
  }
  printf("churn: %u operations\n", ops);
  O->user_close(&u);
  O->user_close(&v);
  g_rand_free(r);
  return 0;
}

/* ------------------------------------------------------------ verify */

struct names {
  GPtrArray *list;
  const cursus_store_namespace *ns;
  size_t n_ns;
};

static int list_cb(void *data, const cursus_store_list_entry *e) {
  struct names *n = data;
  for (size_t i = 0; i < n->n_ns; i++)
    if (*n->ns[i].prefix != '\0' && g_str_has_prefix(e->name, n->ns[i].prefix))
      return 0;
  if (!(e->attributes & (CURSUS_STORE_LIST_NOSELECT |
                         CURSUS_STORE_LIST_NONEXISTENT)))
    g_ptr_array_add(n->list, g_strdup(e->name));
  return 0;
}

static int collect_user(void *data, const char *id, const char *part) {
  g_ptr_array_add(data, g_strdup(id));
  return 0;
}

static int cmd_verify(void) {
  GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
  const char *error;
  void *h = S->backend();
  O->users_list(h, collect_user, users, &error);
  unsigned problems = 0, messages = 0, folders = 0;
  for (guint i = 0; i < users->len; i++) {
    cursus_store_user *u = NULL;
    if (S->user_open(users->pdata[i], CURSUS_STORE_USER_ADMIN, &u, &error) !=
        CURSUS_OK) {
      printf("user %s: %s\n", (char *)users->pdata[i], error);
      problems++;
      continue;
    }
    struct names n = {g_ptr_array_new_with_free_func(g_free), NULL, 0};
    n.ns = O->user_namespaces(u, &n.n_ns);
    const char *all[] = {"*", NULL};
    O->mailbox_list(u, all, 0, list_cb, &n, &error);
    uint64_t msgs = 0, bytes = 0;
    for (guint k = 0; k < n.list->len; k++) {
      cursus_store_mailbox *box = NULL;
      folders++;
      if (O->mailbox_open(u, n.list->pdata[k], CURSUS_STORE_OPEN_NORECENT,
                          &box, &error) != CURSUS_OK) {
        printf("%s/%s: %s\n", (char *)users->pdata[i],
               (char *)n.list->pdata[k], error);
        problems++;
        continue;
      }
      uint32_t count = O->mailbox_count(box);
      for (uint32_t s = 1; s <= count; s++) {
        int fd;
        uint64_t size;
        cursus_store_message m = {.size = sizeof(m)};
        cursus_buf b = {0};
        if (O->message_info(box, s, &m, &error) != CURSUS_OK ||
            O->message_open(box, s, &fd, &size, &error) != CURSUS_OK ||
            O->message_field(box, s, CURSUS_STORE_FIELD_BODYSTRUCTURE, &b,
                             &error) != CURSUS_OK) {
          printf("%s/%s: message %u: %s\n", (char *)users->pdata[i],
                 (char *)n.list->pdata[k], s, error);
          problems++;
          continue;
        }
        host_table()->buf_free(&b);
        if (size != m.rfc822_size) {
          printf("%s/%s: message %u: %" G_GUINT64_FORMAT " bytes, index says "
                 "%" G_GUINT64_FORMAT "\n",
                 (char *)users->pdata[i], (char *)n.list->pdata[k], s, size,
                 m.rfc822_size);
          problems++;
        }
        close(fd);
        messages++;
        msgs++;
        bytes += m.rfc822_size;
      }
      O->mailbox_close(&box);
    }
    cursus_store_quota q = {.size = sizeof(q)};
    if (O->quota_get(u, NULL, &q, &error) == CURSUS_OK &&
        (q.messages_used != msgs || q.bytes_used != bytes)) {
      printf("user %s: quota usage %" G_GUINT64_FORMAT " messages %"
             G_GUINT64_FORMAT " bytes, counted %" G_GUINT64_FORMAT " and %"
             G_GUINT64_FORMAT "\n",
             (char *)users->pdata[i], q.messages_used, q.bytes_used, msgs,
             bytes);
      problems++;
    }
    g_ptr_array_free(n.list, TRUE);
    O->user_close(&u);
  }
  printf("verified %u users, %u folders, %u messages: %u problems\n",
         users->len, folders, messages, problems);
  g_ptr_array_free(users, TRUE);
  return problems == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: store-bench CONFIG COMMAND ... (see the source "
                    "header)\n");
    return 2;
  }
  config_dir = argv[1];
  const char *cmd = argv[2];
  unsigned users = 1;
  const char *mbox = NULL;
  GPtrArray *args = g_ptr_array_new();
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--users") == 0 && i + 1 < argc)
      users = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--mbox") == 0 && i + 1 < argc)
      mbox = argv[++i];
    else
      g_ptr_array_add(args, argv[i]);
  }
  corpus = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  if (mbox != NULL)
    load_mbox(mbox);
  else
    generate(strcmp(cmd, "churn") == 0 || strcmp(cmd, "verify") == 0 ? 50
                                                                      : 3000);
  start();
  int rc = 2;
  char **a = (char **)args->pdata;
  if (strcmp(cmd, "deliver") == 0 && args->len == 2)
    rc = cmd_deliver((unsigned)atoi(a[0]), (unsigned)atoi(a[1]),
                     MAX(users, 1u));
  else if (strcmp(cmd, "grow") == 0 && args->len == 2)
    rc = cmd_grow((unsigned)atoi(a[0]), (unsigned)MAX(atoi(a[1]), 1));
  else if (strcmp(cmd, "fill") == 0 && args->len == 2)
    rc = cmd_fill(a[0], (unsigned)atoi(a[1]));
  else if (strcmp(cmd, "ops") == 0 && args->len == 1)
    rc = cmd_ops(a[0]);
  else if (strcmp(cmd, "single") == 0 && args->len == 2)
    rc = cmd_single((unsigned)atoi(a[0]), (unsigned)MAX(atoi(a[1]), 1));
  else if (strcmp(cmd, "churn") == 0 && args->len == 2)
    rc = cmd_churn(a[0], atof(a[1]));
  else if (strcmp(cmd, "verify") == 0 && args->len == 0)
    rc = cmd_verify();
  else
    fprintf(stderr, "store-bench: bad command or arguments\n");
  stop();
  g_ptr_array_free(args, TRUE);
  g_ptr_array_free(corpus, TRUE);
  return rc;
}
