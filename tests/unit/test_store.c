/*
 * test_store.c - the default store (store_cursus) through the store ABI
 *
 * Each test gets a fresh store in a temporary directory, loaded as the
 * server loads it: the real module file, the loader, host->store.
 * Checked on disk where the ABI cannot tell: single copy (link counts),
 * hash directories, crash leftovers.
 */
#include "build-config.h"
#include "config/config.h"
#include "module/host.h"
#include "store/store.h"
#include "util/ev.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *builddir;
static char *tmpdir;
static config *cfg;
static modreg *mods;
static const cursus_store_access *S;
static const cursus_store_ops *O;

/* ------------------------------------------------------------ fixture */

static void write_file(const char *dir, const char *name, const char *text) {
  char *path = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
  g_free(path);
}

static void start_store(void) {
  char *error = NULL;
  diag *d = diag_new();
  mods = NULL;
  cfg = config_load(tmpdir, CURSUS_PROC_ANY, &mods, d);
  if (diag_has_errors(d))
    diag_print(d, stderr);
  ck_assert_ptr_nonnull(cfg);
  ck_assert(!diag_has_errors(d));
  diag_free(&d);
  mods->process = CURSUS_PROC_TOOL;
  config_set_current(cfg);
  host_init(CURSUS_PROC_TOOL);
  if (!store_service_start(cfg, mods, true, &error))
    ck_abort_msg("store: %s", error);
  S = host_table()->store;
  O = S->ops;
}

static void stop_store(void) {
  store_service_stop();
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
}

/* configure - a configuration directory with EXTRA cursus.conf text */
static void configure(const char *extra) {
  char *conf = g_strdup_printf("[paths]\nstate_dir = %s/var\n"
                               "[server]\nuser = %s\nhostname = test.example\n"
                               "[log]\nlevel = error\n%s",
                               tmpdir, g_get_user_name(), extra);
  write_file(tmpdir, "cursus.conf", conf);
  g_free(conf);
  write_file(tmpdir, "imta.cnf",
             "! tests\n.  $U%$H@tcp_local-daemon\n\nl\nlocalhost\n\n"
             "tcp_local slave\ntcp-daemon\n");
  write_file(tmpdir, "job_controller.cnf", "[POOL=DEFAULT]\nJOB_LIMIT=1\n");
  write_file(tmpdir, "dispatcher.cnf", "MIN_PROCS=1\n");
}

static void setup_with(const char *extra) {
  GError *err = NULL;
  tmpdir = g_dir_make_tmp("cursus-store-XXXXXX", &err);
  ck_assert_ptr_nonnull(tmpdir);
  char *mp = g_build_filename(builddir, "modules", "store_cursus", ".libs",
                              NULL);
  g_setenv("CURSUS_MODULE_PATH", mp, TRUE);
  g_free(mp);
  configure(extra);
  start_store();
}

static void setup(void) {
  setup_with("[module store_cursus]\nhash_threshold = 5\n"
             "checkpoint_size = 4K\n"
             "partitions = primary=p1, secondary=p2\n"
             "default_partition = primary\n");
}

static void teardown(void) {
  stop_store();
  char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
  int rc = system(cmd);
  (void)rc;
  g_free(cmd);
  g_free(tmpdir);
}

/* restart - as another process would see it: nothing cached */
static void restart(void) {
  stop_store();
  start_store();
}

/* ------------------------------------------------------------ helpers */

static cursus_store_user *user(const char *id, unsigned flags) {
  cursus_store_user *u = NULL;
  const char *error = NULL;
  int r = S->user_open(id, flags, &u, &error);
  if (r != CURSUS_OK)
    ck_abort_msg("user_open %s: %d %s", id, r, error ? error : "");
  return u;
}

static cursus_store_user *new_user(const char *id) {
  return user(id, CURSUS_STORE_USER_CREATE);
}

static const char *msg1 =
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
    "Subject: afternoon meeting\r\n"
    "To: mooch@owatagu.siam.edu\r\n"
    "Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

/* append - MSG into MAILBOX of every user in USERS; the results' status
 * must all be OK; returns the first UID */
static uint32_t append_to(cursus_store_user **users, size_t n,
                          const char *mailbox, const char *msg,
                          uint32_t flags, const char *const *keywords,
                          unsigned options) {
  const char *error = NULL;
  cursus_store_append_params p = {.size = sizeof(p)};
  cursus_store_append *a = S->append_begin(&p, &error);
  ck_assert_ptr_nonnull(a);
  for (size_t i = 0; i < n; i++) {
    cursus_store_target t = {.size = sizeof(t),
                             .mailbox = mailbox,
                             .flags = flags,
                             .keywords = keywords,
                             .internal_date = 1700000000,
                             .internal_tz = 60,
                             .options = options};
    ck_assert_int_eq(O->append_target(a, users[i], &t, &error), CURSUS_OK);
  }
  ck_assert_int_eq(O->append_write(a, msg, strlen(msg), &error), CURSUS_OK);
  cursus_store_append_result res[16];
  for (size_t i = 0; i < n; i++)
    res[i].size = sizeof(res[i]);
  int r = O->append_commit(a, res, &error);
  if (r != CURSUS_OK)
    ck_abort_msg("append_commit: %s", error);
  uint32_t uid = res[0].uid;
  O->append_free(&a);
  return uid;
}

static uint32_t append1(cursus_store_user *u, const char *mailbox,
                        const char *msg) {
  return append_to(&u, 1, mailbox, msg, 0, NULL, 0);
}

/* try_append - the result of appending MSG to MAILBOX of U */
static int try_append(cursus_store_user *u, const char *mailbox,
                      const char *msg, unsigned options,
                      cursus_store_append_result *res) {
  const char *error;
  cursus_store_append_params p = {.size = sizeof(p)};
  cursus_store_append *a = S->append_begin(&p, &error);
  cursus_store_target t = {.size = sizeof(t), .mailbox = mailbox,
                           .options = options};
  O->append_target(a, u, &t, &error);
  O->append_write(a, msg, strlen(msg), &error);
  res->size = sizeof(*res);
  int r = O->append_commit(a, res, &error);
  static char text[512];
  g_strlcpy(text, res->text != NULL ? res->text : "", sizeof(text));
  res->text = text;
  O->append_free(&a);
  return r;
}

static cursus_store_mailbox *open_box(cursus_store_user *u, const char *name,
                                      unsigned flags) {
  cursus_store_mailbox *box = NULL;
  const char *error = NULL;
  if (O->mailbox_open(u, name, flags, &box, &error) != CURSUS_OK)
    ck_abort_msg("open %s: %s", name, error);
  return box;
}

static char *field(cursus_store_mailbox *box, uint32_t seq,
                   cursus_store_field f) {
  cursus_buf b = {0};
  const char *error;
  ck_assert_int_eq(O->message_field(box, seq, f, &b, &error), CURSUS_OK);
  char *s = g_strndup(b.data, b.len);
  host_table()->buf_free(&b);
  return s;
}

static char *content(cursus_store_mailbox *box, uint32_t seq) {
  int fd;
  uint64_t size;
  const char *error;
  ck_assert_int_eq(O->message_open(box, seq, &fd, &size, &error), CURSUS_OK);
  char *buf = g_malloc(size + 1);
  ck_assert_int_eq(pread(fd, buf, size, 0), (ssize_t)size);
  buf[size] = '\0';
  close(fd);
  return buf;
}

/* range_is - the LEN bytes at OFF of C are TEXT */
static bool range_is(const char *c, uint64_t off, uint64_t len,
                     const char *text) {
  return strlen(text) == len && memcmp(c + off, text, len) == 0;
}

static cursus_store_message info(cursus_store_mailbox *box, uint32_t seq) {
  cursus_store_message m = {.size = sizeof(m)};
  const char *error;
  ck_assert_int_eq(O->message_info(box, seq, &m, &error), CURSUS_OK);
  return m;
}

/* files - paths matching PATTERN below the store */
static GPtrArray *files(const char *pattern) {
  char *full = g_strdup_printf("%s/var/store/%s", tmpdir, pattern);
  glob_t g;
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  if (glob(full, 0, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++)
      g_ptr_array_add(out, g_strdup(g.gl_pathv[i]));
    globfree(&g);
  }
  g_free(full);
  return out;
}

static char *user_dir(const char *u) {
  char *pat = g_strdup_printf("*/=user/*/*/=%s", u);
  GPtrArray *f = files(pat);
  g_free(pat);
  ck_assert_uint_eq(f->len, 1);
  char *d = g_strdup(f->pdata[0]);
  g_ptr_array_free(f, TRUE);
  return d;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_user_and_inbox) {
  const char *error;
  cursus_store_user *u = NULL;
  ck_assert_int_eq(S->user_open("nobody", 0, &u, &error), CURSUS_NONE);
  u = new_user("joe");
  ck_assert_str_eq(O->user_id(u), "joe");
  size_t n;
  const cursus_store_namespace *ns = O->user_namespaces(u, &n);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(ns[0].prefix, "");
  ck_assert_int_eq(ns[0].separator, '/');
  ck_assert_str_eq(ns[1].prefix, "Other Users/");
  ck_assert_str_eq(ns[2].prefix, "Shared Folders/");
  cursus_store_status s = {.size = sizeof(s), .items = CURSUS_STORE_STATUS_ALL};
  ck_assert_int_eq(O->mailbox_status(u, "inbox", &s, &error), CURSUS_OK);
  ck_assert_uint_eq(s.messages, 0);
  ck_assert_uint_eq(s.uidnext, 1);
  ck_assert(s.uidvalidity > 0);
  ck_assert(s.highestmodseq >= 1);
  ck_assert_int_eq(O->mailbox_status(u, "Nope", &s, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_NOTFOUND);
  /* bad names */
  ck_assert_int_eq(O->mailbox_create(u, "a//b", 0, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_INVALID);
  ck_assert_int_eq(O->mailbox_create(u, "a/../b", 0, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->mailbox_create(u, "INBOX", 0, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_EXISTS);
  O->user_close(&u);
  ck_assert_ptr_null(u);
  /* the layout: two-level hash of the user id */
  char *d = user_dir("joe");
  ck_assert(strstr(d, "/p1/=user/") != NULL);
  g_free(d);
}
END_TEST

START_TEST(test_append_and_read) {
  cursus_store_user *u = new_user("joe");
  const char *kw[] = {"$Forwarded", "Project-X", NULL};
  uint32_t uid = append_to(&u, 1, "INBOX", msg1,
                           CURSUS_STORE_SEEN | CURSUS_STORE_FLAGGED, kw, 0);
  ck_assert_uint_eq(uid, 1);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 1);
  cursus_store_message m = info(box, 1);
  ck_assert_uint_eq(m.uid, 1);
  ck_assert_uint_eq(m.flags & CURSUS_STORE_FLAGS_SETTABLE,
                    CURSUS_STORE_SEEN | CURSUS_STORE_FLAGGED);
  ck_assert(m.flags & CURSUS_STORE_RECENT);
  ck_assert_int_eq(m.internal_date, 1700000000);
  ck_assert_int_eq(m.internal_tz, 60);
  ck_assert_uint_eq(m.rfc822_size, strlen(msg1));
  ck_assert_int_eq(m.sent_date, 760686745);
  ck_assert_uint_eq(m.n_keywords, 2);
  size_t nk;
  const char *const *names = O->mailbox_keywords(box, &nk);
  ck_assert_uint_eq(nk, 2);
  ck_assert_str_eq(names[m.keywords[0]], "$Forwarded");
  ck_assert_str_eq(names[m.keywords[1]], "Project-X");
  ck_assert_ptr_nonnull(m.email_id);

  char *env = field(box, 1, CURSUS_STORE_FIELD_ENVELOPE);
  ck_assert_str_eq(env,
                   "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" "
                   "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                   "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                   "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                   "((NIL NIL \"mooch\" \"owatagu.siam.edu\")) NIL NIL NIL "
                   "\"<B27397-0100000@Blurdybloop.COM>\")");
  g_free(env);
  char *bs = field(box, 1, CURSUS_STORE_FIELD_BODY);
  ck_assert_str_eq(bs, "(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL "
                       "NIL \"7bit\" 55 1)");
  g_free(bs);
  bs = field(box, 1, CURSUS_STORE_FIELD_BODYSTRUCTURE);
  ck_assert_str_eq(bs, "(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL "
                       "NIL \"7bit\" 55 1 NIL NIL NIL NIL)");
  g_free(bs);
  char *c = content(box, 1);
  ck_assert_str_eq(c, msg1);
  g_free(c);

  cursus_buf b = {0};
  const char *error;
  const char *want[] = {"subject", "FROM", NULL};
  ck_assert_int_eq(O->message_headers(box, 1, "", want, 0, &b, &error),
                   CURSUS_OK);
  ck_assert_str_eq(b.data, "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
                           "Subject: afternoon meeting\r\n\r\n");
  host_table()->buf_free(&b);
  cursus_store_part p = {.size = sizeof(p)};
  ck_assert_int_eq(O->message_part(box, 1, "1", &p, &error), CURSUS_OK);
  ck_assert_uint_eq(p.body_size, 55);
  ck_assert_uint_eq(p.body_offset, strlen(msg1) - 55);
  ck_assert_str_eq(p.type, "text");
  ck_assert_int_eq(O->message_part(box, 1, "2", &p, &error), CURSUS_NONE);
  ck_assert_int_eq(O->message_part(box, 1, "1..2", &p, &error),
                   CURSUS_PERMFAIL);
  O->mailbox_close(&box);

  /* a second view: \Recent went to the first */
  box = open_box(u, "INBOX", 0);
  m = info(box, 1);
  ck_assert(!(m.flags & CURSUS_STORE_RECENT));
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

static const char *multipart =
    "From: a@example.org\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "prologue\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "first part\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "From: b@example.org\r\n"
    "\r\n"
    "inner body\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream; name=\"f\xc3\xa9.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"x.bin\"\r\n"
    "\r\n"
    "dW5pY29ybnM=\r\n"
    "--XX--\r\n"
    "epilogue\r\n";

START_TEST(test_mime_parts) {
  cursus_store_user *u = new_user("joe");
  append1(u, "INBOX", multipart);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  const char *error;
  char *bs = field(box, 1, CURSUS_STORE_FIELD_BODY);
  ck_assert_str_eq(
      bs, "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 1)"
          "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 49 (NIL \"inner\" "
          "((NIL NIL \"b\" \"example.org\")) ((NIL NIL \"b\" \"example.org\")) "
          "((NIL NIL \"b\" \"example.org\")) NIL NIL NIL NIL NIL) "
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1) 4)"
          "(\"application\" \"octet-stream\" (\"name*\" \"utf-8''f%C3%A9.bin\") "
          "NIL NIL \"base64\" 12) \"mixed\")");
  g_free(bs);
  char *c = content(box, 1);
  cursus_store_part p = {.size = sizeof(p)};
  ck_assert_int_eq(O->message_part(box, 1, "1", &p, &error), CURSUS_OK);
  ck_assert(range_is(c, p.body_offset, p.body_size, "first part"));
  ck_assert_int_eq(O->message_part(box, 1, "2", &p, &error), CURSUS_OK);
  ck_assert(range_is(c, p.header_offset, p.header_size, "Subject: inner\r\nFrom: b@example.org\r\n\r\n"));
  ck_assert(range_is(c, p.text_offset, p.text_size, "inner body"));
  ck_assert_int_eq(O->message_part(box, 1, "2.1", &p, &error), CURSUS_OK);
  ck_assert(range_is(c, p.body_offset, p.body_size, "inner body"));
  ck_assert_int_eq(O->message_part(box, 1, "3", &p, &error), CURSUS_OK);
  ck_assert_str_eq(p.encoding, "base64");
  ck_assert(range_is(c, p.mime_offset, 20, "Content-Type: applic"));
  cursus_buf b = {0};
  ck_assert_int_eq(O->message_binary(box, 1, "3", &b, &error), CURSUS_OK);
  ck_assert_str_eq(b.data, "unicorns");
  host_table()->buf_free(&b);
  const char *want[] = {"subject", NULL};
  ck_assert_int_eq(O->message_headers(box, 1, "2", want, 0, &b, &error),
                   CURSUS_OK);
  ck_assert_str_eq(b.data, "Subject: inner\r\n\r\n");
  host_table()->buf_free(&b);
  g_free(c);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

START_TEST(test_single_copy) {
  cursus_store_user *us[3] = {new_user("ann"), new_user("bob"),
                              new_user("cat")};
  append_to(us, 3, "INBOX", msg1, 0, NULL, 0);
  GPtrArray *f = files("p1/=user/*/*/=*/1.msg");
  ck_assert_uint_eq(f->len, 3);
  struct stat a, b;
  ck_assert_int_eq(stat(f->pdata[0], &a), 0);
  for (guint i = 1; i < f->len; i++) {
    ck_assert_int_eq(stat(f->pdata[i], &b), 0);
    ck_assert_uint_eq(a.st_ino, b.st_ino);
  }
  ck_assert_uint_eq(a.st_nlink, 3);
  g_ptr_array_free(f, TRUE);
  /* each has their own flags */
  cursus_store_mailbox *x = open_box(us[0], "INBOX", 0);
  cursus_store_range one = {1, 1};
  cursus_store_set set = {&one, 1, 0};
  const char *error;
  ck_assert_int_eq(O->message_store_flags(x, &set, CURSUS_STORE_FLAGS_ADD,
                                          CURSUS_STORE_SEEN, NULL, 0, NULL,
                                          NULL, NULL, &error),
                   CURSUS_OK);
  cursus_store_mailbox *y = open_box(us[1], "INBOX", 0);
  ck_assert(!(info(y, 1).flags & CURSUS_STORE_SEEN));
  ck_assert(info(x, 1).flags & CURSUS_STORE_SEEN);
  ck_assert_str_eq(info(x, 1).email_id, info(y, 1).email_id);
  O->mailbox_close(&x);
  O->mailbox_close(&y);
  /* a user on the other partition gets one copy of their own */
  cursus_store_user *dan = new_user("dan");
  O->user_close(&dan);
  for (int i = 0; i < 3; i++)
    O->user_close(&us[i]);
  stop_store();
  configure("[module store_cursus]\npartitions = primary=p1, secondary=p2\n"
            "default_partition = secondary\n");
  start_store();
  for (int i = 0; i < 3; i++)
    us[i] = user(i == 0 ? "ann" : i == 1 ? "bob" : "cat", 0);
  cursus_store_user *all[5] = {us[0], us[1], us[2], new_user("eve"),
                               new_user("fay")};
  append_to(all, 5, "INBOX", msg1, 0, NULL, 0);
  f = files("p1/=user/*/*/=*/2.msg");
  ck_assert_uint_eq(f->len, 3);
  ck_assert_int_eq(stat(f->pdata[0], &a), 0);
  ck_assert_uint_eq(a.st_nlink, 3);
  g_ptr_array_free(f, TRUE);
  f = files("p2/=user/*/*/=*/1.msg");
  ck_assert_uint_eq(f->len, 2);
  ck_assert_int_eq(stat(f->pdata[0], &b), 0);
  ck_assert_uint_eq(b.st_nlink, 2);
  ck_assert_uint_ne(a.st_ino, b.st_ino);
  g_ptr_array_free(f, TRUE);
  /* nothing left behind in the partitions' tmp (but the writers' slot
   * directories) */
  f = files("p*/tmp/*");
  for (guint i = 0; i < f->len; i++)
    ck_assert_msg(strstr(f->pdata[i], "/tmp/slot") != NULL, "left: %s",
                  (char *)f->pdata[i]);
  g_ptr_array_free(f, TRUE);
  f = files("p*/tmp/*/*");
  ck_assert_uint_eq(f->len, 0);
  g_ptr_array_free(f, TRUE);
  for (int i = 0; i < 5; i++)
    O->user_close(&all[i]);
}
END_TEST

struct events {
  GArray *expunged; /* seq, uid pairs */
  GArray *changed;
  uint32_t exists;
  int keywords;
};

static void ev_expunged(void *d, uint32_t seq, uint32_t uid) {
  struct events *e = d;
  uint32_t p[2] = {seq, uid};
  g_array_append_vals(e->expunged, p, 2);
}
static void ev_changed(void *d, uint32_t seq, uint32_t uid) {
  struct events *e = d;
  g_array_append_val(e->changed, seq);
}
static void ev_exists(void *d, uint32_t n) { ((struct events *)d)->exists = n; }
static void ev_keywords(void *d) { ((struct events *)d)->keywords++; }

static const cursus_store_sync_cb sync_cb = {
    .size = sizeof(cursus_store_sync_cb),
    .expunged = ev_expunged,
    .exists = ev_exists,
    .keywords = ev_keywords,
    .changed = ev_changed,
};

static void events_init(struct events *e) {
  memset(e, 0, sizeof(*e));
  e->expunged = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  e->changed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
}

static void events_free(struct events *e) {
  g_array_free(e->expunged, TRUE);
  g_array_free(e->changed, TRUE);
}

static void vanished_cb(void *d, uint32_t uid) {
  g_array_append_val((GArray *)d, uid);
}

static void count_cb(void *d, uint32_t seq, uint32_t uid) {
  g_array_append_val((GArray *)d, uid);
}

START_TEST(test_flags_sync_expunge) {
  cursus_store_user *u = new_user("joe");
  for (int i = 0; i < 8; i++)
    append1(u, "INBOX", msg1);
  cursus_store_mailbox *a = open_box(u, "INBOX", 0);
  cursus_store_mailbox *b = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(a), 8);
  const char *error;
  cursus_store_status st = {.size = sizeof(st),
                            .items = CURSUS_STORE_STATUS_HIGHESTMODSEQ};
  O->mailbox_state(a, &st, &error);
  uint64_t ms0 = st.highestmodseq;
  /* keywords and flags through view a, UNCHANGEDSINCE */
  cursus_store_range r = {2, 4};
  cursus_store_set set = {&r, 1, 0};
  const char *kw[] = {"urgent", NULL};
  GArray *changed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *modified = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  ck_assert_int_eq(O->message_store_flags(a, &set, CURSUS_STORE_FLAGS_ADD,
                                          CURSUS_STORE_DELETED, kw, 0,
                                          count_cb, count_cb, changed,
                                          &error),
                   CURSUS_OK);
  ck_assert_uint_eq(changed->len, 3);
  cursus_store_message m = info(a, 3);
  ck_assert(m.flags & CURSUS_STORE_DELETED);
  ck_assert_uint_eq(m.n_keywords, 1);
  ck_assert(m.modseq > ms0);
  cursus_store_range r1 = {3, 3}, r2 = {5, 5};
  cursus_store_range both[2] = {r1, r2};
  cursus_store_set s2 = {both, 2, 0};
  g_array_set_size(changed, 0);
  ck_assert_int_eq(O->message_store_flags(a, &s2, CURSUS_STORE_FLAGS_ADD,
                                          CURSUS_STORE_ANSWERED, NULL, ms0,
                                          count_cb, count_cb, modified,
                                          &error),
                   CURSUS_OK);
  ck_assert_uint_eq(modified->len, 2); /* 3 changed since ms0; 5 stored */
  g_array_free(changed, TRUE);
  g_array_free(modified, TRUE);

  /* view b learns of it at sync */
  struct events e;
  events_init(&e);
  ck_assert_int_eq(O->mailbox_sync(b, 0, &sync_cb, &e, &error), CURSUS_OK);
  ck_assert_uint_eq(e.changed->len, 4);
  ck_assert_int_eq(e.keywords, 1);
  events_free(&e);

  /* expunge 2,3,4 through a: reported in order, seqs shift */
  events_init(&e);
  ck_assert_int_eq(O->mailbox_expunge(a, NULL, ev_expunged, &e, &error),
                   CURSUS_OK);
  ck_assert_uint_eq(e.expunged->len, 6);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 0), 2);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 1), 2);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 2), 2);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 3), 3);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 4), 2);
  ck_assert_uint_eq(g_array_index(e.expunged, uint32_t, 5), 4);
  ck_assert_uint_eq(O->mailbox_count(a), 5);
  events_free(&e);
  /* b still numbers as before until it syncs; new mail shows with EXISTS */
  ck_assert_uint_eq(O->mailbox_count(b), 8);
  ck_assert_uint_eq(O->message_uid(b, 5), 5);
  append1(u, "INBOX", msg1);
  events_init(&e);
  ck_assert_int_eq(O->mailbox_sync(b, CURSUS_STORE_SYNC_NO_EXPUNGES, &sync_cb,
                                   &e, &error),
                   CURSUS_OK);
  ck_assert_uint_eq(e.expunged->len, 0);
  ck_assert_uint_eq(e.exists, 9);
  ck_assert_int_eq(O->message_info(b, 3, &m, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_EXPUNGED);
  events_free(&e);
  events_init(&e);
  ck_assert_int_eq(O->mailbox_sync(b, 0, &sync_cb, &e, &error), CURSUS_OK);
  ck_assert_uint_eq(e.expunged->len, 6);
  ck_assert_uint_eq(O->mailbox_count(b), 6);
  ck_assert_uint_eq(O->message_uid(b, 6), 9);
  events_free(&e);
  /* QRESYNC */
  GArray *v = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  ck_assert_int_eq(O->mailbox_vanished_since(b, ms0, NULL, vanished_cb, v,
                                             &error),
                   CURSUS_OK);
  ck_assert_uint_eq(v->len, 3);
  g_array_free(v, TRUE);
  GArray *ch = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  ck_assert_int_eq(O->mailbox_changed_since(b, ms0, count_cb, ch, &error),
                   CURSUS_OK);
  ck_assert_uint_eq(ch->len, 2); /* message 5 (answered) and the new one */
  g_array_free(ch, TRUE);
  O->mailbox_close(&a);
  O->mailbox_close(&b);
  /* the state survives: another process reads it from disk */
  O->user_close(&u);
  restart();
  u = user("joe", 0);
  a = open_box(u, "INBOX", CURSUS_STORE_OPEN_READONLY);
  ck_assert_uint_eq(O->mailbox_count(a), 6);
  ck_assert(info(a, 2).flags & CURSUS_STORE_ANSWERED);
  ck_assert_uint_eq(info(a, 6).uid, 9);
  st.items = CURSUS_STORE_STATUS_ALL;
  O->mailbox_state(a, &st, &error);
  ck_assert_uint_eq(st.uidnext, 10);
  ck_assert(st.read_only);
  O->mailbox_close(&a);
  O->user_close(&u);
}
END_TEST

START_TEST(test_vanished) {
  cursus_store_user *u = new_user("joe");
  for (int i = 0; i < 5; i++)
    append1(u, "INBOX", msg1);
  cursus_store_mailbox *a = open_box(u, "INBOX", 0);
  cursus_store_status st = {.size = sizeof(st),
                            .items = CURSUS_STORE_STATUS_HIGHESTMODSEQ};
  const char *error;
  O->mailbox_state(a, &st, &error);
  cursus_store_range r = {2, 3};
  cursus_store_set set = {&r, 1, 1};
  O->message_store_flags(a, &set, CURSUS_STORE_FLAGS_ADD, CURSUS_STORE_DELETED,
                         NULL, 0, NULL, NULL, NULL, &error);
  /* UID EXPUNGE of 3 only */
  cursus_store_range r3 = {3, 3};
  cursus_store_set s3 = {&r3, 1, 1};
  O->mailbox_expunge(a, &s3, NULL, NULL, &error);
  ck_assert_uint_eq(O->mailbox_count(a), 4);
  GArray *v = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  O->mailbox_vanished_since(a, st.highestmodseq, NULL, vanished_cb, v, &error);
  ck_assert_uint_eq(v->len, 1);
  ck_assert_uint_eq(g_array_index(v, uint32_t, 0), 3);
  g_array_free(v, TRUE);
  O->mailbox_close(&a);
  O->user_close(&u);
}
END_TEST

static void copied_cb(void *d, uint32_t src, uint32_t dst) {
  uint32_t p[2] = {src, dst};
  g_array_append_vals((GArray *)d, p, 2);
}

START_TEST(test_copy_move) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  ck_assert_int_eq(O->mailbox_create(u, "Archive", 0, &error), CURSUS_OK);
  const char *kw[] = {"kept", NULL};
  append_to(&u, 1, "INBOX", msg1, CURSUS_STORE_FLAGGED, kw, 0);
  append1(u, "INBOX", multipart);
  append1(u, "INBOX", msg1);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  cursus_store_range r = {1, 2};
  cursus_store_set set = {&r, 1, 0};
  GArray *pairs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  uint32_t uv = 0;
  ck_assert_int_eq(O->message_copy(box, &set, "Archive", copied_cb, pairs, &uv,
                                   &error),
                   CURSUS_OK);
  ck_assert_uint_eq(pairs->len, 4);
  ck_assert_uint_eq(g_array_index(pairs, uint32_t, 1), 1);
  ck_assert_uint_eq(g_array_index(pairs, uint32_t, 3), 2);
  ck_assert(uv > 0);
  /* a copy is another link to the same file */
  GPtrArray *f = files("p1/=user/*/*/=joe/=Archive/1.msg");
  struct stat st;
  ck_assert_uint_eq(f->len, 1);
  stat(f->pdata[0], &st);
  ck_assert_uint_eq(st.st_nlink, 2);
  g_ptr_array_free(f, TRUE);
  ck_assert_int_eq(O->message_copy(box, &set, "Nowhere", NULL, NULL, &uv,
                                   &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_NOTFOUND);
  /* move of 3 */
  cursus_store_range r3 = {3, 3};
  cursus_store_set s3 = {&r3, 1, 0};
  struct events e;
  events_init(&e);
  g_array_set_size(pairs, 0);
  ck_assert_int_eq(O->message_move(box, &s3, "Archive", NULL, ev_expunged,
                                   &e, &uv, &error),
                   CURSUS_OK);
  ck_assert_uint_eq(e.expunged->len, 2);
  ck_assert_uint_eq(O->mailbox_count(box), 2);
  events_free(&e);
  g_array_free(pairs, TRUE);
  O->mailbox_close(&box);
  box = open_box(u, "Archive", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 3);
  cursus_store_message m = info(box, 1);
  ck_assert(m.flags & CURSUS_STORE_FLAGGED);
  ck_assert_uint_eq(m.n_keywords, 1);
  ck_assert_int_eq(m.internal_date, 1700000000);
  char *bs = field(box, 2, CURSUS_STORE_FIELD_BODY);
  ck_assert(strstr(bs, "\"mixed\"") != NULL);
  g_free(bs);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

struct listed {
  GPtrArray *names;
  GArray *attrs;
  GArray *child;
  GArray *use;
};

static int list_cb(void *d, const cursus_store_list_entry *e) {
  struct listed *l = d;
  g_ptr_array_add(l->names, g_strdup(e->name));
  g_array_append_val(l->attrs, e->attributes);
  g_array_append_val(l->child, e->child_info);
  g_array_append_val(l->use, e->special_use);
  return 0;
}

static struct listed list(cursus_store_user *u, const char *pattern,
                          unsigned flags) {
  struct listed l = {g_ptr_array_new_with_free_func(g_free),
                     g_array_new(FALSE, FALSE, sizeof(uint32_t)),
                     g_array_new(FALSE, FALSE, sizeof(uint32_t)),
                     g_array_new(FALSE, FALSE, sizeof(uint32_t))};
  const char *pats[] = {pattern, NULL};
  const char *error;
  ck_assert_int_eq(O->mailbox_list(u, pats, flags, list_cb, &l, &error),
                   CURSUS_OK);
  return l;
}

static int find(struct listed *l, const char *name) {
  for (guint i = 0; i < l->names->len; i++)
    if (g_str_equal(l->names->pdata[i], name))
      return (int)i;
  return -1;
}

static void listed_free(struct listed *l) {
  g_ptr_array_free(l->names, TRUE);
  g_array_free(l->attrs, TRUE);
  g_array_free(l->child, TRUE);
  g_array_free(l->use, TRUE);
}

#define ATTR(l, i) g_array_index((l).attrs, uint32_t, (i))

START_TEST(test_hierarchy_and_list) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  ck_assert_int_eq(O->mailbox_create(u, "Projects/Alpha/Docs", 0, &error),
                   CURSUS_OK);
  ck_assert_int_eq(O->mailbox_create(u, "Sent", CURSUS_STORE_USE_SENT, &error),
                   CURSUS_OK);
  ck_assert_int_eq(O->mailbox_create(u, "Sent", 0, &error), CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_EXISTS);
  struct listed l = list(u, "*", 0);
  ck_assert_uint_eq(l.names->len, 5);
  ck_assert_str_eq(l.names->pdata[0], "INBOX");
  int i = find(&l, "Projects");
  ck_assert_int_ge(i, 0);
  ck_assert(ATTR(l, i) & CURSUS_STORE_LIST_NOSELECT);
  ck_assert(ATTR(l, i) & CURSUS_STORE_LIST_HASCHILDREN);
  i = find(&l, "Projects/Alpha/Docs");
  ck_assert(ATTR(l, i) & CURSUS_STORE_LIST_HASNOCHILDREN);
  ck_assert_uint_eq(g_array_index(l.use, uint32_t, find(&l, "Sent")),
                    CURSUS_STORE_USE_SENT);
  listed_free(&l);
  l = list(u, "%", 0);
  ck_assert_uint_eq(l.names->len, 3);
  listed_free(&l);
  l = list(u, "inbox", 0);
  ck_assert_uint_eq(l.names->len, 1);
  listed_free(&l);
  l = list(u, "*", CURSUS_STORE_LIST_SELECT_SPECIAL_USE);
  ck_assert_uint_eq(l.names->len, 1);
  listed_free(&l);
  /* subscriptions: one of a mailbox that goes away */
  O->mailbox_subscribe(u, "Projects/Alpha/Docs", 1, &error);
  O->mailbox_subscribe(u, "Gone", 1, &error);
  l = list(u, "*", CURSUS_STORE_LIST_SELECT_SUBSCRIBED |
                       CURSUS_STORE_LIST_RECURSIVE_MATCH);
  ck_assert_int_ge(find(&l, "Gone"), 0);
  ck_assert(ATTR(l, find(&l, "Gone")) & CURSUS_STORE_LIST_NONEXISTENT);
  i = find(&l, "Projects");
  ck_assert_int_ge(i, 0);
  ck_assert_uint_eq(g_array_index(l.child, uint32_t, i),
                    CURSUS_STORE_LIST_SUBSCRIBED);
  listed_free(&l);
  /* rename moves the subtree and its subscriptions */
  ck_assert_int_eq(O->mailbox_rename(u, "Projects/Alpha", "Old/Alpha", &error),
                   CURSUS_OK);
  l = list(u, "*", 0);
  ck_assert_int_ge(find(&l, "Old/Alpha/Docs"), 0);
  ck_assert_int_lt(find(&l, "Projects/Alpha/Docs"), 0);
  listed_free(&l);
  l = list(u, "*", CURSUS_STORE_LIST_SELECT_SUBSCRIBED);
  ck_assert_int_ge(find(&l, "Old/Alpha/Docs"), 0);
  listed_free(&l);
  append1(u, "Old/Alpha/Docs", msg1);
  /* not below itself, nor so that a child would nest too deep */
  ck_assert_int_eq(O->mailbox_rename(u, "Old", "Old/Deeper", &error),
                   CURSUS_PERMFAIL);
  GString *deep = g_string_new("Deep");
  for (int d = 2; d <= 64; d++)
    g_string_append(deep, "/d");
  ck_assert_int_eq(O->mailbox_create(u, deep->str, 0, &error), CURSUS_OK);
  ck_assert_int_eq(O->mailbox_rename(u, "Deep", "Old/Deep", &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_LIMIT);
  ck_assert_int_eq(O->mailbox_rename(u, "Deep", "Deep2", &error), CURSUS_OK);
  g_string_free(deep, TRUE);
  /* a placeholder with children cannot go (RFC 3501) */
  ck_assert_int_eq(O->mailbox_delete(u, "Old/Alpha", &error), CURSUS_PERMFAIL);
  /* a mailbox with children becomes a placeholder */
  ck_assert_int_eq(O->mailbox_create(u, "Old/Alpha", 0, &error), CURSUS_OK);
  append1(u, "Old/Alpha", msg1);
  ck_assert_int_eq(O->mailbox_delete(u, "Old/Alpha", &error), CURSUS_OK);
  l = list(u, "Old/*", 0);
  ck_assert(ATTR(l, find(&l, "Old/Alpha")) & CURSUS_STORE_LIST_NOSELECT);
  listed_free(&l);
  ck_assert_int_eq(O->mailbox_delete(u, "Old/Alpha/Docs", &error), CURSUS_OK);
  ck_assert_int_eq(O->mailbox_delete(u, "INBOX", &error), CURSUS_PERMFAIL);
  /* rename INBOX: messages move, INBOX stays */
  append1(u, "INBOX", msg1);
  append1(u, "INBOX", msg1);
  ck_assert_int_eq(O->mailbox_rename(u, "INBOX", "Saved", &error), CURSUS_OK);
  cursus_store_status s = {.size = sizeof(s),
                           .items = CURSUS_STORE_STATUS_MESSAGES};
  O->mailbox_status(u, "INBOX", &s, &error);
  ck_assert_uint_eq(s.messages, 0);
  O->mailbox_status(u, "Saved", &s, &error);
  ck_assert_uint_eq(s.messages, 2);
  O->user_close(&u);
  /* all of it holds after a restart (the mailbox list on disk) */
  restart();
  u = user("joe", 0);
  l = list(u, "*", 0);
  ck_assert_int_ge(find(&l, "Saved"), 0);
  ck_assert_int_ge(find(&l, "Old/Alpha"), 0);
  listed_free(&l);
  O->user_close(&u);
}
END_TEST

static int acl_cb(void *d, const char *id, uint32_t rights) {
  g_string_append_printf(d, "%s=%u;", id, rights);
  return 0;
}

static guint count_files(const char *pattern) {
  GPtrArray *f = files(pattern);
  guint n = f->len;
  g_ptr_array_free(f, TRUE);
  return n;
}

/* Partitions on one file system share new users; "." as the hierarchy
 * separator, with "/" an ordinary character of a name */
START_TEST(test_partitions_and_separator) {
  teardown();
  setup_with("[module store_cursus]\npartitions = primary=p1, secondary=p2\n"
             "separator = .\n");
  for (int i = 0; i < 20; i++) {
    char *id = g_strdup_printf("user%d", i);
    cursus_store_user *u = new_user(id);
    O->user_close(&u);
    g_free(id);
  }
  guint p1 = count_files("p1/=user/*/*/=user*"),
        p2 = count_files("p2/=user/*/*/=user*");
  ck_assert_uint_eq(p1 + p2, 20);
  ck_assert_msg(p1 >= 4 && p2 >= 4, "%u and %u users", p1, p2);
  cursus_store_user *u = new_user("joe");
  const char *error;
  ck_assert_int_eq(O->mailbox_create(u, "Archive.2024", 0, &error), CURSUS_OK);
  ck_assert_int_eq(O->mailbox_create(u, "a/b", 0, &error), CURSUS_OK);
  ck_assert_int_eq(O->mailbox_create(u, "x..y", 0, &error), CURSUS_PERMFAIL);
  append1(u, "a/b", msg1);
  append1(u, "Archive.2024", msg1);
  struct listed l = list(u, "*", 0);
  ck_assert_int_ge(find(&l, "Archive"), 0);
  ck_assert_int_ge(find(&l, "Archive.2024"), 0);
  ck_assert_int_ge(find(&l, "a/b"), 0);
  ck_assert_int_lt(find(&l, "a"), 0);
  listed_free(&l);
  l = list(u, "%", 0);
  ck_assert_int_lt(find(&l, "Archive.2024"), 0);
  ck_assert_int_ge(find(&l, "a/b"), 0);
  listed_free(&l);
  /* on disk: a/b is one folder, Archive.2024 two levels */
  ck_assert_uint_eq(count_files("p*/=user/*/*/=joe/=Archive/=2024/1.msg"), 1);
  ck_assert_uint_eq(count_files("p*/=user/*/*/=joe/=a/=b"), 0);
  ck_assert_uint_eq(count_files("p*/=user/*/*/=joe/=a*/1.msg"), 1);
  ck_assert_int_eq(O->mailbox_rename(u, "Archive", "Old", &error), CURSUS_OK);
  cursus_store_mailbox *box = open_box(u, "Old.2024", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 1);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

START_TEST(test_acl_sharing) {
  cursus_store_user *joe = new_user("joe");
  cursus_store_user *bob = new_user("bob");
  const char *error;
  ck_assert_int_eq(O->mailbox_create(joe, "Team", 0, &error), CURSUS_OK);
  append1(joe, "Team", msg1);
  /* not shared yet: bob does not even see it */
  cursus_store_mailbox *box = NULL;
  ck_assert_int_eq(O->mailbox_open(bob, "Other Users/joe/Team", 0, &box,
                                   &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(bob), CURSUS_STORE_E_NOTFOUND);
  ck_assert_int_eq(O->acl_set(bob, "Other Users/joe/Team", "bob",
                              CURSUS_STORE_ACL_REPLACE, CURSUS_STORE_RIGHTS_ALL,
                              &error),
                   CURSUS_PERMFAIL);
  /* l only: visible, not readable */
  ck_assert_int_eq(O->acl_set(joe, "Team", "bob", CURSUS_STORE_ACL_REPLACE,
                              CURSUS_STORE_RIGHT_LOOKUP, &error),
                   CURSUS_OK);
  struct listed l = list(bob, "*", 0);
  ck_assert_int_ge(find(&l, "Other Users/joe/Team"), 0);
  ck_assert(ATTR(l, find(&l, "Other Users")) & CURSUS_STORE_LIST_NOSELECT);
  listed_free(&l);
  ck_assert_int_eq(O->mailbox_open(bob, "Other Users/joe/Team", 0, &box,
                                   &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(bob), CURSUS_STORE_E_NOPERM);
  ck_assert_int_eq(O->acl_set(joe, "Team", "bob", CURSUS_STORE_ACL_ADD,
                              CURSUS_STORE_RIGHT_READ | CURSUS_STORE_RIGHT_SEEN,
                              &error),
                   CURSUS_OK);
  uint32_t rights;
  O->acl_myrights(bob, "Other Users/joe/Team", &rights, &error);
  ck_assert_uint_eq(rights, CURSUS_STORE_RIGHT_LOOKUP | CURSUS_STORE_RIGHT_READ |
                                CURSUS_STORE_RIGHT_SEEN);
  GString *acl = g_string_new(NULL);
  O->acl_get(joe, "Team", acl_cb, acl, &error);
  ck_assert_str_eq(acl->str, "joe=2047;bob=7;");
  g_string_free(acl, TRUE);
  /* bob reads, and his \Seen is his own; he may not set \Flagged */
  box = open_box(bob, "Other Users/joe/Team", 0);
  cursus_store_range one = {1, 1};
  cursus_store_set set = {&one, 1, 0};
  O->message_store_flags(box, &set, CURSUS_STORE_FLAGS_ADD,
                         CURSUS_STORE_SEEN | CURSUS_STORE_FLAGGED, NULL, 0,
                         NULL, NULL, NULL, &error);
  cursus_store_message m = info(box, 1);
  ck_assert(m.flags & CURSUS_STORE_SEEN);
  ck_assert(!(m.flags & CURSUS_STORE_FLAGGED));
  cursus_store_status st = {.size = sizeof(st),
                            .items = CURSUS_STORE_STATUS_ALL};
  O->mailbox_state(box, &st, &error);
  ck_assert_uint_eq(st.permanent_flags, CURSUS_STORE_SEEN);
  ck_assert_int_eq(O->mailbox_expunge(box, NULL, NULL, NULL, &error),
                   CURSUS_PERMFAIL);
  O->mailbox_close(&box);
  box = open_box(joe, "Team", 0);
  ck_assert(!(info(box, 1).flags & CURSUS_STORE_SEEN));
  O->mailbox_close(&box);
  /* bob cannot append (no i), nor see joe's INBOX */
  cursus_store_append_result res;
  ck_assert_int_ne(try_append(bob, "Other Users/joe/Team", msg1, 0, &res),
                   CURSUS_OK);
  ck_assert_int_eq(res.error, CURSUS_STORE_E_NOPERM);
  ck_assert_int_ne(try_append(bob, "Other Users/joe/INBOX", msg1, 0, &res),
                   CURSUS_OK);
  ck_assert_int_eq(res.error, CURSUS_STORE_E_NOTFOUND);
  /* anyone with i: appends count against joe's quota root */
  O->acl_set(joe, "Team", "anyone", CURSUS_STORE_ACL_REPLACE,
             CURSUS_STORE_RIGHT_INSERT, &error);
  ck_assert_int_eq(try_append(bob, "Other Users/joe/Team", msg1, 0, &res),
                   CURSUS_OK);
  cursus_buf root = {0};
  O->quota_root(bob, "Other Users/joe/Team", &root, &error);
  ck_assert_str_eq(root.data, "user/joe");
  host_table()->buf_free(&root);
  /* negative rights win */
  O->acl_set(joe, "Team", "-bob", CURSUS_STORE_ACL_REPLACE,
             CURSUS_STORE_RIGHT_READ, &error);
  ck_assert_int_eq(O->mailbox_open(bob, "Other Users/joe/Team", 0, &box,
                                   &error),
                   CURSUS_PERMFAIL);
  /* public folders */
  cursus_store_user *adm = user("admin", CURSUS_STORE_USER_ADMIN);
  ck_assert_int_eq(O->mailbox_create(adm, "Shared Folders/News", 0, &error),
                   CURSUS_OK);
  ck_assert_int_eq(O->acl_set(adm, "Shared Folders/News", "anyone",
                              CURSUS_STORE_ACL_REPLACE,
                              CURSUS_STORE_RIGHT_LOOKUP |
                                  CURSUS_STORE_RIGHT_READ |
                                  CURSUS_STORE_RIGHT_POST,
                              &error),
                   CURSUS_OK);
  l = list(bob, "Shared Folders/*", 0);
  ck_assert_int_ge(find(&l, "Shared Folders/News"), 0);
  listed_free(&l);
  ck_assert_int_eq(try_append(bob, "Shared Folders/News", msg1,
                              CURSUS_STORE_TARGET_POST, &res),
                   CURSUS_OK);
  O->user_close(&adm);
  O->user_close(&joe);
  O->user_close(&bob);
}
END_TEST

START_TEST(test_quota) {
  stop_store();
  configure("[store]\ndefault_quota = 2K\ndefault_message_quota = 3\n");
  start_store();
  cursus_store_user *u = new_user("joe");
  const char *error;
  cursus_store_append_result res;
  ck_assert_int_eq(try_append(u, "INBOX", msg1, 0, &res), CURSUS_OK);
  ck_assert_int_eq(try_append(u, "INBOX", msg1, 0, &res), CURSUS_OK);
  ck_assert_int_eq(try_append(u, "INBOX", msg1, 0, &res), CURSUS_OK);
  cursus_store_quota q = {.size = sizeof(q)};
  ck_assert_int_eq(O->quota_get(u, NULL, &q, &error), CURSUS_OK);
  ck_assert_str_eq(q.root, "user/joe");
  ck_assert_uint_eq(q.messages_used, 3);
  ck_assert_uint_eq(q.bytes_used, 3 * strlen(msg1));
  ck_assert_int_eq(q.bytes_limit, 2048);
  ck_assert_int_eq(q.messages_limit, 3);
  ck_assert(q.enforced);
  ck_assert(q.over_since > 0); /* 3 of 3 messages */
  ck_assert_int_eq(try_append(u, "INBOX", msg1, 0, &res), CURSUS_PERMFAIL);
  ck_assert_int_eq(res.error, CURSUS_STORE_E_OVERQUOTA);
  ck_assert_int_eq(try_append(u, "INBOX", msg1,
                              CURSUS_STORE_TARGET_IGNORE_QUOTA, &res),
                   CURSUS_OK);
  /* expunge brings usage down */
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  cursus_store_range all = {1, 4};
  cursus_store_set set = {&all, 1, 0};
  O->message_store_flags(box, &set, CURSUS_STORE_FLAGS_ADD,
                         CURSUS_STORE_DELETED, NULL, 0, NULL, NULL, NULL,
                         &error);
  O->mailbox_expunge(box, NULL, NULL, NULL, &error);
  O->mailbox_close(&box);
  O->quota_get(u, NULL, &q, &error);
  ck_assert_uint_eq(q.messages_used, 0);
  ck_assert_uint_eq(q.bytes_used, 0);
  ck_assert_int_eq(q.over_since, 0);
  /* a single message over the byte limit */
  char *big = g_strnfill(3000, 'x');
  char *msg = g_strconcat("Subject: big\r\n\r\n", big, NULL);
  ck_assert_int_eq(try_append(u, "INBOX", msg, 0, &res), CURSUS_PERMFAIL);
  ck_assert_int_eq(res.error, CURSUS_STORE_E_OVERQUOTA);
  g_free(big);
  g_free(msg);
  O->user_close(&u);
  /* the warning: at 66% of messages with a 50% threshold */
  stop_store();
  configure("[store]\ndefault_quota = 1M\ndefault_message_quota = 3\n"
            "quota_warn = 50\n");
  start_store();
  u = user("joe", 0);
  try_append(u, "INBOX", msg1, 0, &res);
  try_append(u, "INBOX", msg1, 0, &res);
  ck_assert_int_eq(S->quota_notify(u, &error), CURSUS_OK);
  ck_assert_int_eq(S->quota_notify(u, &error), CURSUS_NONE);
  box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 3);
  char *c = content(box, 3);
  ck_assert(strstr(c, "Subject: Your mailbox is 66% full") != NULL);
  ck_assert(strstr(c, "To: <joe>\r\n") != NULL);
  g_free(c);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

/* Deliveries finishing together (threads of a channel job, several jobs,
 * stored's round) each see the threshold crossed: one of them warns. */
START_TEST(test_quota_warning_once) {
  stop_store();
  configure("[store]\ndefault_quota = 1M\ndefault_message_quota = 3\n"
            "quota_warn = 50\n");
  start_store();
  cursus_store_user *u = new_user("joe");
  cursus_store_append_result res;
  try_append(u, "INBOX", msg1, 0, &res);
  try_append(u, "INBOX", msg1, 0, &res);
  /* the claim is a compare-and-set on the time of the last warning */
  const char *error;
  cursus_store_quota q = {.size = sizeof(q)};
  ck_assert_int_eq(O->quota_get(u, NULL, &q, &error), CURSUS_OK);
  ck_assert_int_eq(q.warned_at, 0);
  ck_assert_int_eq(O->quota_claim_warned(u, 5, 100, &error), CURSUS_NONE);
  ck_assert_int_eq(O->quota_claim_warned(u, 0, 100, &error), CURSUS_OK);
  ck_assert_int_eq(O->quota_claim_warned(u, 0, 200, &error), CURSUS_NONE);
  ck_assert_int_eq(O->quota_set_warned(u, 0, &error), CURSUS_OK);
  O->user_close(&u);
  stop_store();
  /* eight processes released at once */
  enum { KIDS = 8 };
  int gate[2];
  ck_assert_int_eq(pipe(gate), 0);
  pid_t kids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      close(gate[1]);
      start_store();
      cursus_store_user *cu = user("joe", 0);
      char c;
      ssize_t n = read(gate[0], &c, 1); /* EOF when the parent lets go */
      (void)n;
      const char *e;
      int r = S->quota_notify(cu, &e);
      O->user_close(&cu);
      stop_store();
      _exit(r == CURSUS_OK ? 0 : r == CURSUS_NONE ? 1 : 2);
    }
  }
  close(gate[0]);
  g_usleep(300000); /* every child opened its store and waits */
  close(gate[1]);
  int warned = 0;
  for (int k = 0; k < KIDS; k++) {
    int st;
    ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 2);
    warned += WEXITSTATUS(st) == 0;
  }
  ck_assert_int_eq(warned, 1);
  start_store();
  u = user("joe", 0);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 3);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

struct hits {
  GArray *uids;
};

static GArray *search(cursus_store_mailbox *box, const cursus_store_search *q) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  const char *error;
  ck_assert_int_eq(O->mailbox_search(box, q, count_cb, out, &error),
                   CURSUS_OK);
  return out;
}

static uint32_t search_count(cursus_store_mailbox *box,
                             const cursus_store_search *q) {
  GArray *a = search(box, q);
  uint32_t n = a->len;
  g_array_free(a, TRUE);
  return n;
}

START_TEST(test_search) {
  const char *error_unused;
  cursus_store_user *u = new_user("joe");
  append1(u, "INBOX", msg1);
  append1(u, "INBOX", multipart);
  const char *qp =
      "From: x@example.org\r\nSubject: latin\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "Gr=FC=DFe aus K=F6ln\r\n";
  append1(u, "INBOX", qp);
  const char *b64 = "From: y@example.org\r\nSubject: encoded\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    "U3RyYcOfZSBpbiBNw7xuY2hlbg==\r\n";
  append1(u, "INBOX", b64);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  cursus_store_search q = {.key = CURSUS_STORE_SEARCH_ALL};
  ck_assert_uint_eq(search_count(box, &q), 4);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_HEADER,
                            .field = "subject",
                            .value = "CAFÉ"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.field = "From";
  q.value = "blurdybloop";
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "";
  q.field = "Content-Transfer-Encoding";
  ck_assert_uint_eq(search_count(box, &q), 2);
  /* full case folding: ß matches ss */
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_BODY, .value = "GRÜSSE"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "grüße aus köln";
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "münchen";
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "inner body"; /* in an attached message */
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "unicorns"; /* a base64 attachment is not text */
  ck_assert_uint_eq(search_count(box, &q), 0);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_TEXT, .value = "latin"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_LARGER, .number = 300};
  ck_assert_uint_eq(search_count(box, &q), 2);
  /* Date: 7 Feb 1994 -0800 is day 8803 in its zone */
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_SENTON, .number = 8803};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_BEFORE,
                            .number = 19676};
  ck_assert_uint_eq(search_count(box, &q), 4);
  q.number = 19675;
  ck_assert_uint_eq(search_count(box, &q), 0);
  cursus_store_range r = {2, 3};
  cursus_store_search kids[2] = {
      {.key = CURSUS_STORE_SEARCH_SET, .set = {&r, 1, 0}},
      {.key = CURSUS_STORE_SEARCH_UNFLAGS, .number = CURSUS_STORE_SEEN}};
  cursus_store_search both = {.key = CURSUS_STORE_SEARCH_AND,
                              .n_children = 2, .children = kids};
  ck_assert_uint_eq(search_count(box, &both), 2);
  cursus_store_search not = {.key = CURSUS_STORE_SEARCH_NOT, .n_children = 1,
                             .children = &both};
  GArray *h = search(box, &not);
  ck_assert_uint_eq(h->len, 2);
  ck_assert_uint_eq(g_array_index(h, uint32_t, 0), 1);
  ck_assert_uint_eq(g_array_index(h, uint32_t, 1), 4);
  g_array_free(h, TRUE);
  /* ASCII text is matched without folding it: case, folded header
   * lines, needles longer than the scan's skip table */
  char *ys = g_strnfill(299, 'y');
  char *plain = g_strdup_printf(
      "From: Z <z@example.org>\r\nSubject:   Mixed  Case\r\n folded line\r\n"
      "\r\nThe Quick Brown FOX jumps x%sz\r\n", ys);
  append1(u, "INBOX", plain);
  O->mailbox_sync(box, 0, NULL, NULL, &error_unused);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_BODY,
                            .value = "quick brown fox"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "QUICK  BROWN";
  ck_assert_uint_eq(search_count(box, &q), 0);
  char *yz = g_strconcat(ys, "Z", NULL);
  for (char *p = yz; *p; p++)
    *p = g_ascii_toupper(*p);
  q.value = yz;
  ck_assert_uint_eq(search_count(box, &q), 1);
  yz[strlen(yz) - 1] = 'Q';
  ck_assert_uint_eq(search_count(box, &q), 0);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_HEADER,
                            .field = "Subject", .value = "case folded"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "MIXED  CASE";
  ck_assert_uint_eq(search_count(box, &q), 1);
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_HEADER,
                            .field = "From", .value = "Z@EXAMPLE"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  /* the Kelvin sign folds to an ASCII k, in ASCII and in Latin-1 text */
  q = (cursus_store_search){.key = CURSUS_STORE_SEARCH_BODY,
                            .value = "QUIC\xe2\x84\xaa"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  q.value = "\xe2\x84\xaa\xc3\x96LN";
  ck_assert_uint_eq(search_count(box, &q), 1);
  g_free(yz);
  g_free(ys);
  g_free(plain);
  const char *error;
  cursus_store_search bad = {.key = (cursus_store_search_key)99};
  ck_assert_int_eq(O->mailbox_search(box, &bad, count_cb, NULL, &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_UNSUPPORTED);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

static void append_walk(cursus_store_user *u, int i) {
  char *m = g_strdup_printf("From: a@example.org\r\nSubject: walk %d\r\n"
                            "\r\nbody %d\r\n", i, i);
  append1(u, "INBOX", m);
  g_free(m);
}

static void check_walk(cursus_store_mailbox *box, uint32_t seq) {
  char *env = field(box, seq, CURSUS_STORE_FIELD_ENVELOPE);
  char *want = g_strdup_printf("\"walk %u\"", seq);
  ck_assert_msg(strstr(env, want) != NULL, "%u: %s", seq, env);
  g_free(want);
  g_free(env);
}

/* Cached fields read in UID order (read ahead under one lock), backwards,
 * and across a checkpoint another process made meanwhile */
START_TEST(test_cache_walk) {
  cursus_store_user *u = new_user("joe");
  for (int i = 1; i <= 150; i++)
    append_walk(u, i);
  O->user_close(&u);
  restart();
  u = user("joe", 0);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  for (uint32_t seq = 1; seq <= 150; seq++) {
    check_walk(box, seq);
    if (seq == 70) {
      /* another process appends (and checkpoints) in the middle; it
       * keeps the store it inherited (restarting it would free what the
       * open view still uses) */
      pid_t pid = fork();
      if (pid == 0) {
        cursus_store_user *cu = user("joe", 0);
        for (int i = 151; i <= 200; i++)
          append_walk(cu, i);
        O->user_close(&cu);
        _exit(0);
      }
      int st;
      ck_assert_int_eq(waitpid(pid, &st, 0), pid);
      ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
  }
  const char *error;
  ck_assert_int_eq(O->mailbox_sync(box, 0, NULL, NULL, &error), CURSUS_OK);
  ck_assert_uint_eq(O->mailbox_count(box), 200);
  for (uint32_t seq = 200; seq >= 3; seq -= 3)
    check_walk(box, seq);
  cursus_store_search q = {.key = CURSUS_STORE_SEARCH_HEADER,
                           .field = "Subject", .value = "WALK 1"};
  ck_assert_uint_eq(search_count(box, &q), 111); /* 1, 10-19, 100-199 */
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

START_TEST(test_checkpoint_and_hash_dirs) {
  cursus_store_user *u = new_user("joe");
  /* past the 4K checkpoint and the hash threshold of 5 */
  for (int i = 0; i < 40; i++)
    append1(u, "INBOX", msg1);
  GPtrArray *f = files("p1/=user/*/*/=joe/00/*.msg");
  ck_assert_uint_eq(f->len, 36);
  g_ptr_array_free(f, TRUE);
  f = files("p1/=user/*/*/=joe/*.msg");
  ck_assert_uint_eq(f->len, 4);
  g_ptr_array_free(f, TRUE);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  cursus_store_range r = {10, 20};
  cursus_store_set set = {&r, 1, 0};
  const char *error;
  for (int i = 0; i < 5; i++)
    O->message_store_flags(box, &set, i % 2 ? CURSUS_STORE_FLAGS_REMOVE
                                            : CURSUS_STORE_FLAGS_ADD,
                           CURSUS_STORE_SEEN, NULL, 0, NULL, NULL, NULL,
                           &error);
  O->mailbox_close(&box);
  O->user_close(&u);
  /* the log was folded into the index and the cache */
  struct stat st;
  char *d = user_dir("joe");
  char *log = g_build_filename(d, "store.log", NULL);
  ck_assert_int_eq(stat(log, &st), 0);
  ck_assert_int_lt(st.st_size, 8192);
  g_free(log);
  g_free(d);
  restart();
  u = user("joe", 0);
  box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 40);
  ck_assert(info(box, 10).flags & CURSUS_STORE_SEEN);
  ck_assert(!(info(box, 9).flags & CURSUS_STORE_SEEN));
  char *env = field(box, 33, CURSUS_STORE_FIELD_ENVELOPE);
  ck_assert(strstr(env, "afternoon meeting") != NULL);
  g_free(env);
  char *c = content(box, 40);
  ck_assert_str_eq(c, msg1);
  g_free(c);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

START_TEST(test_crash_leftovers) {
  cursus_store_user *u = new_user("joe");
  append1(u, "INBOX", msg1);
  append1(u, "INBOX", msg1);
  O->user_close(&u);
  char *d = user_dir("joe");
  /* a delivery that linked its file and died before logging it */
  char *orphan = g_build_filename(d, "3.msg", NULL);
  write_file(d, "3.msg", multipart);
  /* a log record cut in half */
  char *log = g_build_filename(d, "store.log", NULL);
  int fd = open(log, O_WRONLY | O_APPEND);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "\x40\x00\x00\x00\x12\x34", 6), 6);
  close(fd);
  restart();
  u = user("joe", 0);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 2);
  O->mailbox_close(&box);
  ck_assert_uint_eq(append1(u, "INBOX", msg1), 4);
  box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 4);
  char *bs = field(box, 3, CURSUS_STORE_FIELD_BODY);
  ck_assert(strstr(bs, "\"mixed\"") != NULL);
  g_free(bs);
  O->mailbox_close(&box);
  cursus_store_quota q = {.size = sizeof(q)};
  const char *error;
  O->quota_get(u, NULL, &q, &error);
  ck_assert_uint_eq(q.messages_used, 4);
  /* a message file removed behind the store's back */
  unlink(orphan);
  O->user_close(&u);
  restart();
  u = user("joe", 0);
  box = open_box(u, "INBOX", 0);
  int fd2;
  uint64_t size;
  ck_assert_int_ne(O->message_open(box, 3, &fd2, &size, &error), CURSUS_OK);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_EXPUNGED);
  O->mailbox_close(&box);
  O->user_close(&u);
  ck_assert_int_eq(O->reconstruct(S->backend(), "user/joe", 0, NULL, NULL,
                                  &error),
                   CURSUS_OK);
  u = user("joe", 0);
  box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 3);
  O->mailbox_close(&box);
  O->user_close(&u);
  g_free(orphan);
  g_free(log);
  g_free(d);
}
END_TEST

/* A rename killed between moving the directory and updating the mailbox
 * list, then a writer that counts the usage again before anyone finished
 * the rename: the count includes the folder being renamed */
START_TEST(test_crash_during_rename) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  ck_assert_int_eq(O->mailbox_create(u, "Box", 0, &error), CURSUS_OK);
  for (int i = 0; i < 3; i++)
    append1(u, "Box", msg1);
  append1(u, "INBOX", msg1);
  pid_t pid = fork();
  if (pid == 0) {
    stop_store();
    g_setenv("CURSUS_STORE_CRASH_AT", "rename-moved", TRUE);
    start_store();
    cursus_store_user *cu = user("joe", 0);
    O->mailbox_rename(cu, "Box", "New", &error);
    _exit(0); /* not reached */
  }
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 137);
  /* the usage as a crash in the middle of an update leaves it: odd */
  char *d = user_dir("joe");
  char *usr = g_build_filename(d, "store.usr", NULL);
  int fd = open(usr, O_RDWR);
  ck_assert_int_ge(fd, 0);
  uint32_t seq; /* little-endian, after the magic */
  ck_assert_int_eq(pread(fd, &seq, 4, 4), 4);
  seq = GUINT32_TO_LE(GUINT32_FROM_LE(seq) | 1u);
  ck_assert_int_eq(pwrite(fd, &seq, 4, 4), 4);
  close(fd);
  g_free(usr);
  g_free(d);
  /* the session opened before the crash delivers: it counts again */
  append1(u, "INBOX", msg1);
  O->user_close(&u);
  restart();
  u = user("joe", 0);
  cursus_store_quota q = {.size = sizeof(q)};
  ck_assert_int_eq(O->quota_get(u, NULL, &q, &error), CURSUS_OK);
  ck_assert_uint_eq(q.messages_used, 5);
  cursus_store_mailbox *box = open_box(u, "New", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 3);
  O->mailbox_close(&box);
  O->user_close(&u);
}
END_TEST

START_TEST(test_reconstruct_index) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  O->mailbox_create(u, "Work", 0, &error);
  for (int i = 0; i < 12; i++)
    append1(u, "Work", i % 2 ? msg1 : multipart);
  cursus_store_status s = {.size = sizeof(s), .items = CURSUS_STORE_STATUS_ALL};
  O->mailbox_status(u, "Work", &s, &error);
  O->user_close(&u);
  stop_store();
  /* the index, cache and log gone */
  char *d = user_dir("joe");
  const char *names[] = {"store.idx", "store.cache", "store.log"};
  for (int i = 0; i < 3; i++) {
    char *p = g_build_filename(d, "=Work", names[i], NULL);
    ck_assert_int_eq(unlink(p), 0);
    g_free(p);
  }
  start_store();
  ck_assert_int_eq(O->reconstruct(S->backend(), "user/joe/Work", 0, NULL,
                                  NULL, &error),
                   CURSUS_OK);
  u = user("joe", 0);
  cursus_store_status s2 = {.size = sizeof(s2),
                            .items = CURSUS_STORE_STATUS_ALL};
  O->mailbox_status(u, "Work", &s2, &error);
  ck_assert_uint_eq(s2.messages, 12);
  ck_assert_uint_eq(s2.uidvalidity, s.uidvalidity);
  ck_assert_uint_eq(s2.uidnext, 13);
  ck_assert_uint_eq(s2.bytes, s.bytes);
  cursus_store_mailbox *box = open_box(u, "Work", 0);
  char *env = field(box, 2, CURSUS_STORE_FIELD_ENVELOPE);
  ck_assert(strstr(env, "afternoon meeting") != NULL);
  g_free(env);
  O->mailbox_close(&box);
  O->user_close(&u);
  /* the whole mailbox list lost: rebuilt from the partitions */
  stop_store();
  char *ml = g_strdup_printf("%s/var/store/mboxlist/folders.tcb", tmpdir);
  ck_assert_int_eq(unlink(ml), 0);
  start_store();
  ck_assert_int_eq(O->reconstruct(S->backend(), NULL,
                                  CURSUS_STORE_RECONSTRUCT_MBOXLIST |
                                      CURSUS_STORE_RECONSTRUCT_QUOTA,
                                  NULL, NULL, &error),
                   CURSUS_OK);
  u = user("joe", 0);
  struct listed l = list(u, "*", 0);
  ck_assert_uint_eq(l.names->len, 2);
  listed_free(&l);
  O->mailbox_status(u, "Work", &s2, &error);
  ck_assert_uint_eq(s2.uidvalidity, s.uidvalidity);
  O->user_close(&u);
  g_free(ml);
  g_free(d);
}
END_TEST

START_TEST(test_snapshot_recovery) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  O->mailbox_create(u, "Before", 0, &error);
  cursus_buf name = {0};
  ck_assert_int_eq(O->snapshot(S->backend(), &name, &error), CURSUS_OK);
  host_table()->buf_free(&name);
  O->mailbox_create(u, "After", 0, &error);
  O->mailbox_delete(u, "Before", &error);
  cursus_store_user *v = new_user("newbie");
  O->user_close(&v);
  O->user_close(&u);
  stop_store();
  /* the mailbox list damaged beyond repair */
  char *ml = g_strdup_printf("%s/var/store/mboxlist/folders.tcb", tmpdir);
  char *mldir = g_path_get_dirname(ml);
  write_file(mldir, "folders.tcb", "garbage, not a database");
  g_free(mldir);
  /* opening recovers from the snapshot and the partitions */
  start_store();
  u = user("joe", 0);
  struct listed l = list(u, "*", 0);
  ck_assert_int_ge(find(&l, "After"), 0);
  ck_assert_int_lt(find(&l, "Before"), 0);
  listed_free(&l);
  O->user_close(&u);
  v = user("newbie", 0);
  O->user_close(&v);
  g_free(ml);
}
END_TEST

START_TEST(test_user_move) {
  cursus_store_user *u = new_user("joe");
  const char *error;
  O->mailbox_create(u, "Keep", 0, &error);
  append1(u, "INBOX", msg1);
  append1(u, "Keep", msg1);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  cursus_store_range one = {1, 1};
  cursus_store_set set = {&one, 1, 0};
  cursus_store_mailbox *kb = open_box(u, "Keep", 0);
  O->message_copy(kb, &set, "INBOX", NULL, NULL, NULL, &error);
  O->mailbox_close(&kb);
  ck_assert_int_eq(O->user_move(S->backend(), "joe", "secondary", &error),
                   CURSUS_OK);
  GPtrArray *f = files("p2/=user/*/*/=joe/*.msg");
  ck_assert_uint_eq(f->len, 2);
  g_ptr_array_free(f, TRUE);
  f = files("p2/=user/*/*/=joe/2.msg");
  ck_assert_uint_eq(f->len, 1);
  struct stat st;
  stat(f->pdata[0], &st);
  g_ptr_array_free(f, TRUE);
  ck_assert_uint_eq(st.st_nlink, 2); /* the copy stayed a link */
  f = files("p1/=user/*/*/=joe");
  ck_assert_uint_eq(f->len, 0);
  g_ptr_array_free(f, TRUE);
  /* the open view notices and can be opened again at the new place */
  struct events e;
  events_init(&e);
  ck_assert_int_ne(O->mailbox_sync(box, 0, &sync_cb, &e, &error), CURSUS_OK);
  events_free(&e);
  O->mailbox_close(&box);
  box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 2);
  O->mailbox_close(&box);
  append1(u, "INBOX", msg1);
  O->user_close(&u);
  f = files("p2/=user/*/*/=joe/3.msg");
  ck_assert_uint_eq(f->len, 1);
  g_ptr_array_free(f, TRUE);
}
END_TEST

START_TEST(test_hostile_mime) {
  cursus_store_user *u = new_user("joe");
  GString *m = g_string_new(NULL);
  /* deep nesting */
  g_string_append(m, "Subject: deep\r\n");
  for (int i = 0; i < 200; i++)
    g_string_append_printf(m, "Content-Type: multipart/mixed; "
                              "boundary=\"b%d\"\r\n\r\n--b%d\r\n",
                           i, i);
  g_string_append(m, "\r\nbottom\r\n");
  append1(u, "INBOX", m->str);
  /* 10,000 parts */
  g_string_truncate(m, 0);
  g_string_append(m, "Content-Type: multipart/mixed; boundary=z\r\n\r\n");
  for (int i = 0; i < 10000; i++)
    g_string_append_printf(m, "--z\r\nContent-Type: text/plain\r\n\r\n"
                              "part %d\r\n",
                           i);
  g_string_append(m, "--z--\r\n");
  append1(u, "INBOX", m->str);
  /* NUL bytes, 8-bit headers, a broken boundary, no header at all */
  const char nul[] = "Subject: nul\0here\r\nFrom: \xff\xfe <a@b>\r\n"
                     "Content-Type: multipart/alternative\r\n\r\nbody\0x\r\n";
  const char *a[] = {"Subject: caf\xc3\xa9 \xe2\x82\xac\r\nFrom: "
                     "\"J\xc3\xb6rg\" <j@example.org>\r\n\r\nhi\r\n",
                     "Content-Type: multipart/mixed; boundary=\"never\"\r\n"
                     "\r\nno delimiter anywhere\r\n",
                     "no header at all, just text\r\n", ""};
  for (int i = 0; i < 4; i++)
    append1(u, "INBOX", a[i]);
  cursus_store_user *us[1] = {u};
  const char *error;
  cursus_store_append_params p = {.size = sizeof(p)};
  cursus_store_append *ap = S->append_begin(&p, &error);
  cursus_store_target t = {.size = sizeof(t), .mailbox = "INBOX"};
  O->append_target(ap, us[0], &t, &error);
  O->append_write(ap, nul, sizeof(nul) - 1, &error);
  cursus_store_append_result res = {.size = sizeof(res)};
  ck_assert_int_eq(O->append_commit(ap, &res, &error), CURSUS_OK);
  O->append_free(&ap);
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(box), 7);
  for (uint32_t s = 1; s <= 7; s++) {
    char *bs = field(box, s, CURSUS_STORE_FIELD_BODYSTRUCTURE);
    char *env = field(box, s, CURSUS_STORE_FIELD_ENVELOPE);
    ck_assert(bs[0] == '(' && env[0] == '(');
    ck_assert_ptr_null(memchr(bs, '\0', strlen(bs)));
    g_free(bs);
    g_free(env);
  }
  /* stored intact, NULs included */
  int fd;
  uint64_t size;
  ck_assert_int_eq(O->message_open(box, 7, &fd, &size, &error), CURSUS_OK);
  ck_assert_uint_eq(size, sizeof(nul) - 1);
  char buf[sizeof(nul)];
  ck_assert_int_eq(read(fd, buf, size), (ssize_t)size);
  ck_assert(memcmp(buf, nul, size) == 0);
  close(fd);
  cursus_store_part pt = {.size = sizeof(pt)};
  ck_assert_int_eq(O->message_part(box, 2, "10000", &pt, &error), CURSUS_OK);
  ck_assert_int_eq(O->message_part(box, 2, "10001", &pt, &error), CURSUS_NONE);
  char *env = field(box, 3, CURSUS_STORE_FIELD_ENVELOPE);
  ck_assert(strstr(env, "{9}\r\ncaf\xc3\xa9 \xe2\x82\xac") != NULL);
  g_free(env);
  cursus_store_search q = {.key = CURSUS_STORE_SEARCH_BODY, .value = "part 9999"};
  ck_assert_uint_eq(search_count(box, &q), 1);
  O->mailbox_close(&box);
  g_string_free(m, TRUE);
  O->user_close(&u);
}
END_TEST

/* vm_data_kb - this process's data size (VmData) */
static long vm_data_kb(void) {
  char *status = NULL;
  long kb = -1;
  if (g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
    const char *p = strstr(status, "VmData:");
    if (p != NULL)
      kb = strtol(p + 7, NULL, 10);
  }
  g_free(status);
  return kb;
}

/* large_message - what test_large_message checks, in a process whose data
 * may grow by 24 MB only; 0 when all is well, else the failed step */
static int large_message(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_DATA, &rl) < 0 || vm_data_kb() < 0)
    return 1;
#ifndef __SANITIZE_ADDRESS__
  /* (AddressSanitizer maps memory of its own: no data limit there) */
  rl.rlim_cur = (rlim_t)(vm_data_kb() + 24 * 1024) * 1024;
  if (setrlimit(RLIMIT_DATA, &rl) < 0)
    return 2;
  void *whole = g_try_malloc(32u * 1024 * 1024); /* the limit holds */
  if (whole != NULL) {
    g_free(whole);
    return 12;
  }
#endif
  cursus_store_user *u = new_user("joe");
  const char *error;
  cursus_store_append_params p = {.size = sizeof(p)};
  cursus_store_append *a = S->append_begin(&p, &error);
  cursus_store_target t = {.size = sizeof(t), .mailbox = "INBOX"};
  if (a == NULL || O->append_target(a, u, &t, &error) != CURSUS_OK)
    return 3;
  const char *head =
      "From: big@example.org\r\nSubject: fifty megabytes\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nthe archive you asked for\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n";
  uint64_t total = strlen(head);
  O->append_write(a, head, strlen(head), &error);
  GString *block = g_string_new(NULL);
  for (int i = 0; i < 840; i++) /* 840 lines of 78 bytes: 65,520 */
    g_string_append(block, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hp"
                           "amtsbW5vcHFyc3R1dnd4\r\n");
  while (total < 50u * 1024 * 1024) {
    if (O->append_write(a, block->str, block->len, &error) != CURSUS_OK)
      return 4;
    total += block->len;
  }
  g_string_free(block, TRUE);
  O->append_write(a, "--b--\r\n", 7, &error);
  total += 7;
  cursus_store_append_result res = {.size = sizeof(res)};
  if (O->append_commit(a, &res, &error) != CURSUS_OK)
    return 5;
  O->append_free(&a);
  cursus_store_mailbox *box = NULL;
  if (O->mailbox_open(u, "INBOX", 0, &box, &error) != CURSUS_OK)
    return 6;
  cursus_store_message m = {.size = sizeof(m)};
  if (O->message_info(box, 1, &m, &error) != CURSUS_OK ||
      m.rfc822_size != total)
    return 7;
  cursus_store_part part = {.size = sizeof(part)};
  if (O->message_part(box, 1, "2", &part, &error) != CURSUS_OK ||
      part.body_size < 50u * 1024 * 1024 - 1024 ||
      strcmp(part.encoding, "base64") != 0)
    return 8;
  cursus_buf b = {0};
  if (O->message_field(box, 1, CURSUS_STORE_FIELD_BODYSTRUCTURE, &b,
                       &error) != CURSUS_OK ||
      !g_str_has_prefix(b.data, "((\"text\" \"plain\"") ||
      g_strstr_len(b.data, (gssize)b.len, "\"base64\"") == NULL) {
    fprintf(stderr, "%.*s\n", (int)MIN(b.len, 300u), b.data);
    return 9;
  }
  host_table()->buf_free(&b);
  cursus_store_search q = {.key = CURSUS_STORE_SEARCH_BODY,
                           .value = "ARCHIVE YOU"};
  GArray *hits = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  if (O->mailbox_search(box, &q, count_cb, hits, &error) != CURSUS_OK ||
      hits->len != 1)
    return 10;
  g_array_free(hits, TRUE);
  /* the end of the file is the end of the message */
  int fd;
  uint64_t size;
  char tail[8];
  if (O->message_open(box, 1, &fd, &size, &error) != CURSUS_OK ||
      size != total || pread(fd, tail, 7, (off_t)(size - 7)) != 7 ||
      memcmp(tail, "--b--\r\n", 7) != 0)
    return 11;
  close(fd);
  O->mailbox_close(&box);
  O->user_close(&u);
  return 0;
}

/* A 50 MB message: stored intact, indexed, read and searched without
 * ever being held in memory */
START_TEST(test_large_message) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(large_message());
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st), "killed by signal %d", WTERMSIG(st));
  ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

START_TEST(test_exclusive_and_concurrency) {
  cursus_store_user *u = new_user("joe");
  cursus_store_mailbox *a = open_box(u, "INBOX", CURSUS_STORE_OPEN_EXCLUSIVE);
  cursus_store_mailbox *b = NULL;
  const char *error;
  ck_assert_int_eq(O->mailbox_open(u, "INBOX", CURSUS_STORE_OPEN_EXCLUSIVE, &b,
                                   &error),
                   CURSUS_TEMPFAIL);
  ck_assert_int_eq(O->user_last_error(u), CURSUS_STORE_E_INUSE);
  O->mailbox_close(&a);
  O->user_close(&u);
  /* four processes delivering 50 messages each into one folder */
  stop_store();
  pid_t kids[4];
  for (int k = 0; k < 4; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      start_store();
      cursus_store_user *cu = user("joe", 0);
      for (int i = 0; i < 50; i++)
        append1(cu, "INBOX", msg1);
      O->user_close(&cu);
      stop_store();
      _exit(0);
    }
  }
  for (int k = 0; k < 4; k++) {
    int st;
    ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  start_store();
  u = user("joe", 0);
  a = open_box(u, "INBOX", 0);
  ck_assert_uint_eq(O->mailbox_count(a), 200);
  for (uint32_t s = 1; s <= 200; s++)
    ck_assert_uint_eq(O->message_uid(a, s), s);
  O->mailbox_close(&a);
  cursus_store_quota q = {.size = sizeof(q)};
  O->quota_get(u, NULL, &q, &error);
  ck_assert_uint_eq(q.messages_used, 200);
  O->user_close(&u);
}
END_TEST

static int woken;
static void wake(void *data) {
  woken++;
  ev_loop_stop(data);
}
static void give_up(ev_timer *t, void *data) { ev_loop_stop(data); }

START_TEST(test_watch_across_processes) {
  ev_loop *loop = ev_loop_new();
  host_set_loop(loop);
  cursus_store_user *u = new_user("joe");
  cursus_store_mailbox *box = open_box(u, "INBOX", 0);
  const char *error;
  cursus_store_watch *w = O->watch_add(box, wake, loop, &error);
  ck_assert_ptr_nonnull(w);
  pid_t kid = fork();
  if (kid == 0) {
    /* another process: the epoll instance is shared after fork, so the
     * child leaves the parent's watches alone */
    usleep(100000);
    host_set_loop(NULL);
    cursus_store_user *cu = user("joe", 0);
    append1(cu, "INBOX", msg1);
    O->user_close(&cu);
    _exit(0);
  }
  ev_timer *t = ev_timer_new(loop, 3000, give_up, loop);
  uint64_t t0 = ev_monotonic_ms();
  ev_loop_run(loop);
  ck_assert_int_ge(woken, 1);
  ck_assert_uint_lt(ev_monotonic_ms() - t0, 1000);
  int st;
  waitpid(kid, &st, 0);
  struct events e;
  events_init(&e);
  O->mailbox_sync(box, 0, &sync_cb, &e, &error);
  ck_assert_uint_eq(e.exists, 1);
  events_free(&e);
  ev_timer_free(&t);
  O->watch_remove(&w);
  O->mailbox_close(&box);
  O->user_close(&u);
  stop_store();
  host_set_loop(NULL);
  ev_loop_free(&loop);
  start_store();
}
END_TEST

/* A process remembers what it read from the mailbox list: another
 * process's rename, delete and re-create must still be seen at once. */
START_TEST(test_mboxlist_memo_across_processes) {
  const char *error;
  cursus_store_user *u = new_user("joe");
  ck_assert_int_eq(O->mailbox_create(u, "Work", 0, &error), CURSUS_OK);
  ck_assert_uint_eq(append1(u, "Work", msg1), 1);
  ck_assert_uint_eq(append1(u, "Work", msg1), 2); /* read from memory */
  pid_t kid = fork();
  if (kid == 0) {
    cursus_store_user *cu = user("joe", 0);
    int ok = O->mailbox_rename(cu, "Work", "Old", &error) == CURSUS_OK;
    O->user_close(&cu);
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(kid, &st, 0);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  cursus_store_append_result res;
  ck_assert_int_eq(try_append(u, "Work", msg1, 0, &res), CURSUS_PERMFAIL);
  ck_assert_int_eq(res.error, CURSUS_STORE_E_NOTFOUND);
  ck_assert_uint_eq(append1(u, "Old", msg1), 3);
  kid = fork();
  if (kid == 0) {
    cursus_store_user *cu = user("joe", 0);
    int ok = O->mailbox_delete(cu, "Old", &error) == CURSUS_OK &&
             O->mailbox_create(cu, "Old", 0, &error) == CURSUS_OK;
    O->user_close(&cu);
    _exit(ok ? 0 : 1);
  }
  waitpid(kid, &st, 0);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* the new folder starts again at UID 1 */
  ck_assert_uint_eq(append1(u, "Old", msg1), 1);
  O->user_close(&u);
}
END_TEST

int main(void) {
  builddir = g_strdup(g_getenv("CURSUS_BUILDDIR") ? g_getenv("CURSUS_BUILDDIR")
                                                  : ".");
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store_cursus");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_user_and_inbox);
  tcase_add_test(tc, test_append_and_read);
  tcase_add_test(tc, test_mime_parts);
  tcase_add_test(tc, test_single_copy);
  tcase_add_test(tc, test_flags_sync_expunge);
  tcase_add_test(tc, test_vanished);
  tcase_add_test(tc, test_copy_move);
  tcase_add_test(tc, test_hierarchy_and_list);
  tcase_add_test(tc, test_partitions_and_separator);
  tcase_add_test(tc, test_acl_sharing);
  tcase_add_test(tc, test_quota);
  tcase_add_test(tc, test_quota_warning_once);
  tcase_add_test(tc, test_search);
  tcase_add_test(tc, test_cache_walk);
  tcase_add_test(tc, test_checkpoint_and_hash_dirs);
  tcase_add_test(tc, test_crash_leftovers);
  tcase_add_test(tc, test_crash_during_rename);
  tcase_add_test(tc, test_reconstruct_index);
  tcase_add_test(tc, test_snapshot_recovery);
  tcase_add_test(tc, test_user_move);
  tcase_add_test(tc, test_hostile_mime);
  tcase_add_test(tc, test_large_message);
  tcase_add_test(tc, test_exclusive_and_concurrency);
  tcase_add_test(tc, test_watch_across_processes);
  tcase_add_test(tc, test_mboxlist_memo_across_processes);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  g_free(builddir);
  return failed == 0 ? 0 : 1;
}
