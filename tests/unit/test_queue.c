/*
 * test_queue.c - unit tests of the queue: the file format, writing with
 * group commit, per-recipient records, compaction, scans, the header
 * scanner, job controller datagrams and the message log
 */
#include "build-config.h"
#include "mta/msglog.h"
#include "queue/hdrscan.h"
#include "queue/qfile.h"
#include "queue/qnotify.h"
#include "queue/queue.h"
#include "queue/qwrite.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char *tmpdir;

static void setup(void) {
  GError *err = NULL;
  tmpdir = g_dir_make_tmp("cursus-queue-XXXXXX", &err);
  ck_assert_ptr_nonnull(tmpdir);
  qwrite_configure(tmpdir, QWRITE_SYNCFS, 256);
}

static void rm_rf(const char *path) {
  char *cmd = g_strdup_printf("rm -rf '%s'", path);
  int rc = system(cmd);
  (void)rc;
  g_free(cmd);
}

static void teardown(void) {
  qwrite_stop();
  rm_rf(tmpdir);
  g_free(tmpdir);
}

/* sample_env - an envelope with awkward values */
static qenv *sample_env(void) {
  qenv *e = qenv_new();
  e->channel = g_strdup("tcp_local");
  e->source = g_strdup("tcp_intranet");
  g_free(e->sender);
  e->sender = g_strdup("\"joe smith\"@example.org");
  e->envid = g_strdup("QQ%3D~ id-1");
  e->ret = CURSUS_RET_HDRS;
  e->body = CURSUS_BODY_8BITMIME;
  e->smtputf8 = true;
  e->priority = CURSUS_PRIORITY_URGENT;
  e->arrival_us = 1764355200123456;
  e->size = 5;
  e->crc = 0xdeadbeef;
  e->auth_user = g_strdup("joe");
  e->connection = g_strdup("TCP|127.0.0.1|25|192.0.2.1|4000");
  e->helo = g_strdup("client.example");
  e->protocol = g_strdup("ESMTPSA");
  e->message_id = g_strdup("<a b@c>");
  qenv_add_rcpt(e, "bob@example.com", "Bob@Example.COM", "rfc822;Bob@Example.COM",
                "example.com", CURSUS_NOTIFY_SUCCESS | CURSUS_NOTIFY_FAILURE);
  qenv_add_rcpt(e, "-dash@ex.com", "-dash@ex.com", NULL, NULL,
                CURSUS_NOTIFY_NEVER);
  qenv_add_rcpt(e, "ünï@例え.jp", "ünï@例え.jp", NULL, NULL, 0);
  return e;
}

/* file_image - preamble, CONTENT, envelope of E (and RECORDS) */
static GString *file_image(qenv *e, const char *content, const char *records) {
  GString *env = g_string_new(NULL);
  e->size = strlen(content);
  e->crc = (uint32_t)crc32(0, (const Bytef *)content, (uInt)e->size);
  qenv_format(e, env);
  char pre[QFILE_PREAMBLE];
  qfile_preamble(pre, e->size, env->len);
  GString *img = g_string_new_len(pre, QFILE_PREAMBLE);
  g_string_append(img, content);
  g_string_append_len(img, env->str, (gssize)env->len);
  if (records != NULL)
    g_string_append(img, records);
  g_string_free(env, TRUE);
  return img;
}

START_TEST(test_escape_roundtrip) {
  const char *cases[] = {"", "-", "a b", "100%", "~x", "tab\there", "ünï",
                         "-lead", "mid-dash", "=x"};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GString *s = g_string_new(NULL);
    qesc_append(s, cases[i]);
    ck_assert_ptr_null(strchr(s->str, ' '));
    char *back = qesc_decode(s->str, s->len);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back, cases[i]);
    g_free(back);
    g_string_free(s, TRUE);
  }
  ck_assert_ptr_null(qesc_decode("%4", 2));
  ck_assert_ptr_null(qesc_decode("%00", 3));
  ck_assert_ptr_null(qesc_decode("a~b", 3));
  ck_assert_ptr_null(qesc_decode("-x", 2));
}
END_TEST

START_TEST(test_envelope_roundtrip) {
  qenv *e = sample_env();
  GString *env = g_string_new(NULL);
  qenv_format(e, env);
  char *err = NULL;
  qenv *p = qenv_parse(env->str, env->len, env->len, &err);
  ck_assert_msg(p != NULL, "%s", err);
  ck_assert_str_eq(p->channel, "tcp_local");
  ck_assert_str_eq(p->source, "tcp_intranet");
  ck_assert_str_eq(p->sender, e->sender);
  ck_assert_str_eq(p->envid, e->envid);
  ck_assert_int_eq(p->ret, CURSUS_RET_HDRS);
  ck_assert_int_eq(p->body, CURSUS_BODY_8BITMIME);
  ck_assert(p->smtputf8);
  ck_assert_int_eq(p->priority, CURSUS_PRIORITY_URGENT);
  ck_assert(p->arrival_us == e->arrival_us);
  ck_assert_uint_eq(p->crc, 0xdeadbeef);
  ck_assert_str_eq(p->message_id, "<a b@c>");
  ck_assert_uint_eq(p->rcpts->len, 3);
  qrcpt *r0 = p->rcpts->pdata[0], *r1 = p->rcpts->pdata[1],
        *r2 = p->rcpts->pdata[2];
  ck_assert_str_eq(r0->original, "Bob@Example.COM");
  ck_assert_str_eq(r0->orcpt, "rfc822;Bob@Example.COM");
  ck_assert_str_eq(r0->host, "example.com");
  ck_assert_uint_eq(r0->notify, CURSUS_NOTIFY_SUCCESS | CURSUS_NOTIFY_FAILURE);
  ck_assert_str_eq(r1->address, "-dash@ex.com");
  ck_assert_ptr_null(r1->orcpt);
  ck_assert_uint_eq(r1->notify, CURSUS_NOTIFY_NEVER);
  ck_assert_str_eq(r2->address, "ünï@例え.jp");
  ck_assert_int_eq(r2->state, QSTATE_PENDING);
  /* the same envelope formats the same way again */
  GString *again = g_string_new(NULL);
  qenv_format(p, again);
  ck_assert_str_eq(again->str, env->str);
  g_string_free(again, TRUE);
  qenv_free(&p);

  /* a null sender */
  g_free(e->sender);
  e->sender = g_strdup("");
  g_string_truncate(env, 0);
  qenv_format(e, env);
  ck_assert_ptr_nonnull(strstr(env->str, "\nsender -\n"));
  p = qenv_parse(env->str, env->len, env->len, &err);
  ck_assert_str_eq(p->sender, "");
  qenv_free(&p);
  g_string_free(env, TRUE);
  qenv_free(&e);
}
END_TEST

START_TEST(test_envelope_damage) {
  qenv *e = sample_env();
  GString *env = g_string_new(NULL);
  qenv_format(e, env);
  char *err = NULL;
  /* every single-byte change of the envelope is detected */
  for (gsize i = 0; i < env->len; i++) {
    char saved = env->str[i];
    env->str[i] = saved == 'x' ? 'y' : 'x';
    qenv *p = qenv_parse(env->str, env->len, env->len, &err);
    ck_assert_msg(p == NULL, "damage at %zu not detected", i);
    g_free(err);
    err = NULL;
    env->str[i] = saved;
  }
  /* truncation */
  qenv *p = qenv_parse(env->str, env->len - 1, env->len - 1, &err);
  ck_assert_ptr_null(p);
  g_free(err);
  /* a newer version's extra keys are kept */
  GString *ext = g_string_new("future-key some%20value\n");
  g_string_append(ext, "channel l\nsender -\narrival 1\nsize 0\ncrc 00000000\n");
  g_string_append(ext, "rcpt a@b a@b - - - pending 0 - - - 0\n");
  char line[32];
  snprintf(line, sizeof(line), "end %08lx\n",
           crc32(0, (const Bytef *)ext->str, (uInt)ext->len));
  g_string_append(ext, line);
  err = NULL;
  p = qenv_parse(ext->str, ext->len, ext->len, &err);
  ck_assert_msg(p != NULL, "%s", err);
  ck_assert_uint_eq(p->extra->len, 1);
  ck_assert_str_eq(p->extra->pdata[0], "future-key some%20value");
  qenv_free(&p);
  g_string_free(ext, TRUE);
  g_string_free(env, TRUE);
  qenv_free(&e);
}
END_TEST

START_TEST(test_preamble) {
  char pre[QFILE_PREAMBLE];
  uint64_t c;
  size_t e;
  const char *why;
  qfile_preamble(pre, 123456789012ULL, 4321);
  ck_assert(qfile_parse_preamble(pre, sizeof(pre), &c, &e, &why));
  ck_assert(c == 123456789012ULL);
  ck_assert_uint_eq(e, 4321);
  memcpy(pre, "cursus-queue 2", 14);
  ck_assert(!qfile_parse_preamble(pre, sizeof(pre), &c, &e, &why));
  ck_assert_ptr_nonnull(strstr(why, "newer"));
  ck_assert(!qfile_parse_preamble("junk", 4, &c, &e, &why));
}
END_TEST

START_TEST(test_records) {
  qenv *e = sample_env();
  GString *env = g_string_new(NULL);
  qenv_format(e, env);
  GString *all = g_string_new_len(env->str, (gssize)env->len);
  qrec_result(all, 0, QSTATE_DELIVERED, 1000, "2.0.0", "ok fine", "mx.example");
  qrec_retry(all, 3, 5000);
  qrec_hold(all, true);
  qrec_notice(all, 2);
  qrec_dsn(all, 0, QDSN_SUCCESS);
  qrec_result(all, 1, QSTATE_FAILED, 1001, "5.1.1", "no such user", NULL);
  char *err = NULL;
  qenv *p = qenv_parse(all->str, all->len, env->len, &err);
  ck_assert_msg(p != NULL, "%s", err);
  ck_assert_uint_eq(p->records, 6);
  ck_assert_uint_eq(p->torn_len, 0);
  qrcpt *r0 = p->rcpts->pdata[0], *r1 = p->rcpts->pdata[1];
  ck_assert_int_eq(r0->state, QSTATE_DELIVERED);
  ck_assert_str_eq(r0->diag, "ok fine");
  ck_assert_str_eq(r0->remote, "mx.example");
  ck_assert_uint_eq(r0->dsn, QDSN_SUCCESS);
  ck_assert_int_eq(r1->state, QSTATE_FAILED);
  ck_assert_ptr_null(r1->remote);
  ck_assert_uint_eq(p->attempts, 3);
  ck_assert(p->next_retry == 5000);
  ck_assert(p->held);
  ck_assert_uint_eq(p->notices, 2);
  ck_assert_uint_eq(qenv_pending(p), 1);
  qenv_free(&p);

  /* a torn last record is ignored, the ones before it count */
  gsize full = all->len;
  for (gsize cut = env->len; cut < full; cut++) {
    p = qenv_parse(all->str, cut, env->len, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->records_len + p->torn_len, cut - env->len);
    qenv_free(&p);
  }
  /* a damaged record ends the records */
  char *second = strstr(all->str + env->len, "\nretry") + 1;
  second[2] = 'X';
  p = qenv_parse(all->str, all->len, env->len, &err);
  ck_assert_uint_eq(p->records, 1);
  ck_assert(!p->held);
  qenv_free(&p);
  /* a record for a recipient that does not exist ends them too */
  g_string_truncate(all, env->len);
  qrec_result(all, 7, QSTATE_DELIVERED, 1, NULL, NULL, NULL);
  p = qenv_parse(all->str, all->len, env->len, &err);
  ck_assert_uint_eq(p->records, 0);
  qenv_free(&p);
  g_string_free(all, TRUE);
  g_string_free(env, TRUE);
  qenv_free(&e);
}
END_TEST

START_TEST(test_ids) {
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char prev[QUEUE_ID_LEN + 1] = "";
  for (int i = 0; i < 5000; i++) {
    char id[QUEUE_ID_LEN + 1];
    queue_new_id(id);
    char *name = g_strdup_printf("%s.01", id);
    ck_assert(queue_name_valid(name));
    ck_assert(g_hash_table_add(seen, name));
    ck_assert(strcmp(prev, id) < 0 || strncmp(prev, id, 11) == 0);
    memcpy(prev, id, sizeof(prev));
  }
  g_hash_table_destroy(seen);
  ck_assert(!queue_name_valid("x.01"));
  ck_assert(!queue_name_valid("0123456789ABCDEFGH"));
  ck_assert(!queue_name_valid("0123456789ABCDEFGW.01"));
  ck_assert(queue_name_valid("0123456789ABCDEFGH.01"));
  char *p = queue_rel_path("tcp_local", 1, "0123456789ABCDEFGH.01");
  ck_assert_str_eq(p, "tcp_local/0123456789ABCDEFGH.01");
  g_free(p);
  p = queue_rel_path("tcp_local", 20, "0123456789ABCDEFGH.01");
  ck_assert(g_str_has_prefix(p, "tcp_local/0"));
  ck_assert_uint_eq(strlen(p), strlen("tcp_local/000/0123456789ABCDEFGH.01"));
  g_free(p);
}
END_TEST

/* Commits JOB's copies and waits; returns status. */
static qwrite_job *make_job(qbody *b, const char *channels[], unsigned subdirs,
                            const char *content) {
  char id[QUEUE_ID_LEN + 1];
  queue_new_id(id);
  qwrite_job *job = g_new0(qwrite_job, 1);
  job->body = b;
  job->copies = g_ptr_array_new_with_free_func(qcopy_free);
  for (unsigned i = 0; channels[i] != NULL; i++) {
    qenv *e = qenv_new();
    e->channel = g_strdup(channels[i]);
    e->source = g_strdup("tcp_local");
    e->arrival_us = g_get_real_time();
    e->size = qbody_size(b);
    e->crc = qbody_crc(b);
    qenv_add_rcpt(e, "u@example.com", NULL, NULL, NULL, 0);
    GString *env = g_string_new(NULL);
    qenv_format(e, env);
    qenv_free(&e);
    char *name = g_strdup_printf("%s.%02u", id, i + 1);
    g_ptr_array_add(job->copies, qcopy_new(channels[i], subdirs, name, env,
                                           CURSUS_PRIORITY_NORMAL));
    g_free(name);
  }
  return job;
}

static void free_job(qwrite_job *job) {
  g_ptr_array_free(job->copies, TRUE);
  g_free(job->error);
  g_free(job);
}

/* check_file - the queue file at REL has CONTENT and a valid envelope */
static void check_file(const char *rel, const char *content, size_t len) {
  char *path = g_build_filename(tmpdir, rel, NULL);
  qmsg *m = NULL;
  char *err = NULL;
  int rc = qmsg_open(path, false, &m, &err);
  ck_assert_msg(rc == CURSUS_OK, "%s: %s", path, err);
  ck_assert(m->env->size == len);
  char *buf = g_malloc(len + 1);
  ck_assert(pread(m->fd, buf, len, (off_t)m->content_offset) == (ssize_t)len);
  ck_assert(memcmp(buf, content, len) == 0);
  ck_assert_uint_eq(m->env->crc, (uint32_t)crc32(0, (const Bytef *)buf, (uInt)len));
  g_free(buf);
  qmsg_close(&m);
  g_free(path);
}

START_TEST(test_write_memory_and_spill) {
  for (int spilled = 0; spilled < 2; spilled++) {
    GString *content = g_string_new("Subject: t\r\n\r\n");
    while (content->len < (spilled ? 300000u : 2000u))
      g_string_append(content, "0123456789abcdefghijklmnopqrstuvwxyz\r\n");
    qbody *b = qbody_new(tmpdir, 8192);
    char *err = NULL;
    /* in awkward pieces */
    for (gsize off = 0; off < content->len; off += 777)
      ck_assert(qbody_append(b, content->str + off,
                             MIN(777, content->len - off), &err));
    const char *chans[] = {"tcp_local", "ims-ms", "l", NULL};
    qwrite_job *job = make_job(b, chans, spilled ? 7 : 1, content->str);
    ck_assert_int_eq(qwrite_run(job), CURSUS_OK);
    for (guint i = 0; i < job->copies->len; i++)
      check_file(((qcopy *)job->copies->pdata[i])->rel_path, content->str,
                 content->len);
    free_job(job);
    qbody_free(&b);
    g_string_free(content, TRUE);
  }
  /* nothing left behind in a temporary directory */
  char *t = g_build_filename(tmpdir, QUEUE_TMP_DIR, NULL);
  GDir *d = g_dir_open(t, 0, NULL);
  if (d != NULL) {
    ck_assert_ptr_null(g_dir_read_name(d));
    g_dir_close(d);
  }
  g_free(t);
}
END_TEST

typedef struct gc_state {
  GMutex m;
  GCond c;
  int done;
  int ok;
} gc_state;

static void gc_done(qwrite_job *job) {
  gc_state *st = job->data;
  g_mutex_lock(&st->m);
  st->done++;
  if (job->status == CURSUS_OK)
    st->ok++;
  g_cond_signal(&st->c);
  g_mutex_unlock(&st->m);
}

START_TEST(test_group_commit) {
  enum { N = 200 };
  gc_state st = {0};
  g_mutex_init(&st.m);
  g_cond_init(&st.c);
  qwrite_stats before, after;
  qwrite_get_stats(&before);
  qwrite_job *jobs[N];
  qbody *bodies[N];
  const char *chans[] = {"tcp_local", NULL};
  for (int i = 0; i < N; i++) {
    char *err = NULL;
    char *text = g_strdup_printf("Subject: %d\r\n\r\nbody %d\r\n", i, i);
    bodies[i] = qbody_new(tmpdir, 1 << 20);
    ck_assert(qbody_append(bodies[i], text, strlen(text), &err));
    jobs[i] = make_job(bodies[i], chans, 4, text);
    jobs[i]->done = gc_done;
    jobs[i]->data = &st;
    g_free(text);
  }
  for (int i = 0; i < N; i++)
    qwrite_submit(jobs[i]);
  g_mutex_lock(&st.m);
  while (st.done < N)
    g_cond_wait(&st.c, &st.m);
  g_mutex_unlock(&st.m);
  ck_assert_int_eq(st.ok, N);
  qwrite_get_stats(&after);
  ck_assert(after.jobs - before.jobs == N);
  /* the jobs were gathered: far fewer batches (and flushes) than jobs */
  ck_assert_msg(after.batches - before.batches < N / 2, "%llu batches",
                (unsigned long long)(after.batches - before.batches));
  ck_assert(after.flushes - before.flushes < N);
  for (int i = 0; i < N; i++) {
    free_job(jobs[i]);
    qbody_free(&bodies[i]);
  }
  g_mutex_clear(&st.m);
  g_cond_clear(&st.c);
}
END_TEST

START_TEST(test_directory_removed) {
  /* an admin removes a channel's queue directory under a running writer */
  const char *chans[] = {"gone", NULL};
  for (int round = 0; round < 2; round++) {
    char *err = NULL;
    qbody *b = qbody_new(tmpdir, 1 << 20);
    ck_assert(qbody_append(b, "x\r\n", 3, &err));
    qwrite_job *job = make_job(b, chans, 3, "x\r\n");
    ck_assert_int_eq(qwrite_run(job), CURSUS_OK);
    check_file(((qcopy *)job->copies->pdata[0])->rel_path, "x\r\n", 3);
    free_job(job);
    qbody_free(&b);
    char *dir = g_build_filename(tmpdir, "gone", NULL);
    rm_rf(dir);
    g_free(dir);
  }
}
END_TEST

static bool count_cb(void *data, const char *channel, const char *rel,
                     const char *name) {
  (*(unsigned *)data)++;
  return true;
}

START_TEST(test_scan) {
  const char *chans[] = {"a", "b", NULL};
  for (int i = 0; i < 5; i++) {
    char *err = NULL;
    qbody *b = qbody_new(tmpdir, 1 << 20);
    ck_assert(qbody_append(b, "x\r\n", 3, &err));
    qwrite_job *job = make_job(b, chans, i % 2 ? 3 : 1, "x\r\n");
    ck_assert_int_eq(qwrite_run(job), CURSUS_OK);
    free_job(job);
    qbody_free(&b);
  }
  /* a hidden file and a stray name are not queue files */
  char *junk = g_build_filename(tmpdir, "a", ".0123456789ABCDEFGH.01.compact", NULL);
  g_file_set_contents(junk, "x", 1, NULL);
  g_free(junk);
  junk = g_build_filename(tmpdir, "a", "README", NULL);
  g_file_set_contents(junk, "x", 1, NULL);
  g_free(junk);
  unsigned n = 0;
  ck_assert_uint_eq(queue_scan(tmpdir, NULL, count_cb, &n), 10);
  ck_assert_uint_eq(n, 10);
  n = 0;
  ck_assert_uint_eq(queue_scan(tmpdir, "a", count_cb, &n), 5);
}
END_TEST

/* one_file - commit a one-copy message; its path */
static char *one_file(const char *content) {
  char *err = NULL;
  qbody *b = qbody_new(tmpdir, 1 << 20);
  ck_assert(qbody_append(b, content, strlen(content), &err));
  const char *chans[] = {"tcp_local", NULL};
  qwrite_job *job = make_job(b, chans, 1, content);
  qenv *e = qenv_new();
  /* three recipients */
  e->channel = g_strdup("tcp_local");
  e->arrival_us = 1;
  e->size = qbody_size(b);
  e->crc = qbody_crc(b);
  qenv_add_rcpt(e, "a@x", NULL, NULL, NULL, 0);
  qenv_add_rcpt(e, "b@x", NULL, NULL, NULL, 0);
  qenv_add_rcpt(e, "c@x", NULL, NULL, NULL, 0);
  qcopy *c = job->copies->pdata[0];
  g_string_truncate(c->envelope, 0);
  qenv_format(e, c->envelope);
  qenv_free(&e);
  ck_assert_int_eq(qwrite_run(job), CURSUS_OK);
  char *path = g_build_filename(tmpdir, c->rel_path, NULL);
  free_job(job);
  qbody_free(&b);
  return path;
}

START_TEST(test_results_and_crash) {
  char *path = one_file("Subject: r\r\n\r\nhello\r\n");
  qmsg *m = NULL;
  char *err = NULL;
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_result(m, 0, QSTATE_DELIVERED, "2.0.0", "done", NULL, &err),
                   CURSUS_OK);
  ck_assert_int_eq(qmsg_sync(m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_result(m, 1, QSTATE_FAILED, "5.1.1", "unknown", NULL, &err),
                   CURSUS_OK);
  ck_assert_int_eq(qmsg_result(m, 9, QSTATE_FAILED, NULL, NULL, NULL, &err),
                   CURSUS_PERMFAIL);
  g_free(err);
  err = NULL;
  qmsg_close(&m);
  /* a crash in the middle of an append leaves half a record */
  int fd = open(path, O_WRONLY | O_APPEND);
  ck_assert(write(fd, "result 2 delivered 5 - half", 27) == 27);
  close(fd);
  ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_OK);
  ck_assert_int_eq(((qrcpt *)m->env->rcpts->pdata[0])->state, QSTATE_DELIVERED);
  ck_assert_int_eq(((qrcpt *)m->env->rcpts->pdata[1])->state, QSTATE_FAILED);
  ck_assert_int_eq(((qrcpt *)m->env->rcpts->pdata[2])->state, QSTATE_PENDING);
  ck_assert_uint_eq(m->env->torn_len, 27);
  qmsg_close(&m);
  /* a writer cuts the torn tail before appending, so its record counts */
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_reschedule(m, 1, 12345, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_hold(m, true, &err), CURSUS_OK);
  qmsg_close(&m);
  ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_OK);
  ck_assert_uint_eq(m->env->torn_len, 0);
  ck_assert_uint_eq(m->env->attempts, 1);
  ck_assert(m->env->next_retry == 12345);
  ck_assert(m->env->held);
  ck_assert_uint_eq(qenv_pending(m->env), 1);
  qmsg_close(&m);
  g_free(path);
}
END_TEST

START_TEST(test_two_writers) {
  char *path = one_file("Subject: w\r\n\r\nhello\r\n");
  qmsg *a = NULL, *b = NULL;
  char *err = NULL;
  ck_assert_int_eq(qmsg_open(path, true, &a, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_open(path, true, &b, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_result(a, 0, QSTATE_DELIVERED, NULL, NULL, NULL, &err),
                   CURSUS_OK);
  ck_assert_int_eq(qmsg_hold(b, true, &err), CURSUS_OK);
  /* b saw a's record before appending its own */
  ck_assert_int_eq(((qrcpt *)b->env->rcpts->pdata[0])->state, QSTATE_DELIVERED);
  ck_assert_int_eq(qmsg_result(a, 2, QSTATE_DELIVERED, NULL, NULL, NULL, &err),
                   CURSUS_OK);
  ck_assert(a->env->held);
  qmsg_close(&a);
  qmsg_close(&b);
  ck_assert_int_eq(qmsg_open(path, false, &a, &err), CURSUS_OK);
  ck_assert_uint_eq(a->env->records, 3);
  ck_assert_uint_eq(qenv_pending(a->env), 1);
  qmsg_close(&a);
  g_free(path);
}
END_TEST

START_TEST(test_compact_and_delete) {
  const char *content = "Subject: c\r\n\r\ncompact me\r\n";
  char *path = one_file(content);
  qmsg *m = NULL, *other = NULL;
  char *err = NULL;
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_open(path, true, &other, &err), CURSUS_OK);
  for (unsigned i = 0; i < 50; i++)
    ck_assert_int_eq(qmsg_reschedule(m, i + 1, 100 + i, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_result(m, 1, QSTATE_DELIVERED, "2.0.0", "x", NULL, &err),
                   CURSUS_OK);
  struct stat before, after;
  ck_assert(stat(path, &before) == 0);
  ck_assert_int_eq(qmsg_compact(m, &err), CURSUS_OK);
  ck_assert(stat(path, &after) == 0);
  ck_assert(after.st_size < before.st_size);
  ck_assert_uint_eq(m->env->records, 0);
  ck_assert_uint_eq(m->env->attempts, 50);
  /* a process holding the old file follows the name */
  ck_assert_int_eq(qmsg_hold(other, true, &err), CURSUS_OK);
  qmsg_close(&other);
  qmsg_close(&m);
  ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_OK);
  ck_assert(m->env->held);
  ck_assert_uint_eq(m->env->attempts, 50);
  ck_assert_int_eq(((qrcpt *)m->env->rcpts->pdata[1])->state, QSTATE_DELIVERED);
  qmsg_close(&m);
  check_file(path + strlen(tmpdir) + 1, content, strlen(content));
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_delete(m, NULL, true, &err), CURSUS_OK);
  qmsg_close(&m);
  ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_NONE);
  g_free(err);
  g_free(path);
}
END_TEST

/* spare_names - the files in the spare directory */
static GPtrArray *spare_names(void) {
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  char *dir = g_build_filename(tmpdir, QUEUE_SPARE_DIR, NULL);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d != NULL && (n = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(out, g_build_filename(dir, n, NULL));
  if (d != NULL)
    g_dir_close(d);
  g_free(dir);
  return out;
}

START_TEST(test_spares) {
  GString *big = g_string_new("Subject: big\r\n\r\n");
  while (big->len < 20000)
    g_string_append(big, "0123456789abcdefghijklmnopqrstuvwxyz\r\n");
  char *err = NULL;
  qmsg *m = NULL, *other = NULL;
  /* a file someone else has open is removed, not recycled */
  char *path = one_file(big->str);
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_open(path, false, &other, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_delete(m, tmpdir, false, &err), CURSUS_OK);
  ck_assert(access(path, F_OK) < 0);
  GPtrArray *names = spare_names();
  ck_assert_uint_eq(names->len, 0);
  g_ptr_array_free(names, TRUE);
  qmsg_close(&m);
  qmsg_close(&other);
  g_free(path);
  /* alone, it becomes a spare, marked so it is never read as a message */
  path = one_file(big->str);
  struct stat st;
  ck_assert(stat(path, &st) == 0);
  ino_t ino = st.st_ino;
  ck_assert_int_eq(qmsg_open(path, true, &m, &err), CURSUS_OK);
  ck_assert_int_eq(qmsg_delete(m, tmpdir, false, &err), CURSUS_OK);
  qmsg_close(&m);
  ck_assert(access(path, F_OK) < 0);
  g_free(path);
  names = spare_names();
  ck_assert_uint_eq(names->len, 1);
  ck_assert(stat(names->pdata[0], &st) == 0 && st.st_ino == ino);
  ck_assert_int_eq(qmsg_open(names->pdata[0], false, &m, &err), CURSUS_PERMFAIL);
  g_free(err);
  err = NULL;
  g_ptr_array_free(names, TRUE);
  /* once its mark is flushed a new message is written in it: shorter,
   * read back whole */
  const char *small = "Subject: small\r\n\r\nrecycled\r\n";
  bool reused = false;
  for (int i = 0; i < 6 && !reused; i++) {
    g_usleep(150000);
    path = one_file(small);
    ck_assert(stat(path, &st) == 0);
    reused = st.st_ino == ino;
    if (reused) {
      check_file(path + strlen(tmpdir) + 1, small, strlen(small));
      /* the old, longer content is cut off */
      ck_assert(st.st_size < 2000);
    }
    g_free(path);
  }
  ck_assert(reused);
  names = spare_names();
  ck_assert_uint_eq(names->len, 0);
  g_ptr_array_free(names, TRUE);
  g_string_free(big, TRUE);
}
END_TEST

START_TEST(test_bad_files) {
  char *err = NULL;
  qmsg *m = NULL;
  char *path = g_build_filename(tmpdir, "bad", NULL);
  const char *bodies[] = {"", "short", "cursus-queue 1 C=5 E=10"};
  for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
    g_file_set_contents(path, bodies[i], -1, NULL);
    ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_PERMFAIL);
    g_free(err);
    err = NULL;
  }
  /* a file cut short anywhere is refused, never half read */
  qenv *e = sample_env();
  GString *img = file_image(e, "Subject: x\r\n\r\nbody\r\n", NULL);
  for (gsize cut = 0; cut < img->len; cut += 7) {
    g_file_set_contents(path, img->str, (gssize)cut, NULL);
    ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_PERMFAIL);
    g_free(err);
    err = NULL;
  }
  g_file_set_contents(path, img->str, (gssize)img->len, NULL);
  ck_assert_int_eq(qmsg_open(path, false, &m, &err), CURSUS_OK);
  qmsg_close(&m);
  g_string_free(img, TRUE);
  qenv_free(&e);
  g_free(path);
}
END_TEST

START_TEST(test_hdrscan) {
  const char *msg =
      "Received: from a by b; Mon, 1 Jan 2024\r\n"
      "Received: from c\r\n  by d; Mon, 1 Jan 2024\r\n"
      "Message-ID:\r\n <abc@example.org>\r\n"
      "Priority: urgent\r\n"
      "Subject: Received: not a field\r\n"
      "\r\n"
      "Received: in the body\r\n";
  size_t len = strlen(msg);
  size_t header_len = (size_t)(strstr(msg, "\r\n\r\n") - msg) + 4;
  /* the same result whatever the pieces */
  for (size_t step = 1; step <= len; step += (step < 8 ? 1 : 13)) {
    hdrscan s;
    hdrscan_init(&s);
    for (size_t off = 0; off < len; off += step)
      hdrscan_feed(&s, msg + off, MIN(step, len - off));
    hdrscan_end(&s);
    ck_assert(s.done);
    ck_assert_uint_eq(s.received, 2);
    ck_assert_uint_eq(s.fields, 5);
    ck_assert_str_eq(s.message_id, "<abc@example.org>");
    ck_assert_int_eq(s.priority, CURSUS_PRIORITY_URGENT);
    ck_assert(s.header_len == header_len);
  }
  /* bare LF line ends and a header without a body */
  hdrscan s;
  hdrscan_init(&s);
  hdrscan_feed(&s, "Priority: non-urgent\nMessage-Id: <x@y>", 38);
  hdrscan_end(&s);
  ck_assert_str_eq(s.message_id, "<x@y>");
  ck_assert_int_eq(s.priority, CURSUS_PRIORITY_NONURGENT);
  /* Importance: counts only without a Priority: field, wherever it is */
  const struct {
    const char *header;
    cursus_priority want;
  } cases[] = {
      {"Importance: high\n\n", CURSUS_PRIORITY_URGENT},
      {"Importance: Low\n\n", CURSUS_PRIORITY_NONURGENT},
      {"Importance: high\nPriority: normal\n\n", CURSUS_PRIORITY_NORMAL},
      {"Priority: non-urgent\nImportance: high\n\n", CURSUS_PRIORITY_NONURGENT},
      {"Priority: urgent\nPriority: non-urgent\n\n", CURSUS_PRIORITY_URGENT},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    hdrscan_init(&s);
    hdrscan_feed(&s, cases[i].header, strlen(cases[i].header));
    hdrscan_end(&s);
    ck_assert_int_eq(s.priority, cases[i].want);
  }
}
END_TEST

START_TEST(test_qnotify) {
  qnotify_msg m = {.type = QNOTIFY_NEW, .priority = CURSUS_PRIORITY_URGENT,
                   .size = 1234};
  strcpy(m.channel, "tcp_local");
  strcpy(m.path, "tcp_local/003/0123456789ABCDEFGH.01");
  char buf[QNOTIFY_MAX];
  size_t n = qnotify_format(&m, buf);
  ck_assert_uint_gt(n, 0);
  qnotify_msg back;
  ck_assert(qnotify_parse(buf, n, &back));
  ck_assert_int_eq(back.type, QNOTIFY_NEW);
  ck_assert_str_eq(back.path, m.path);
  ck_assert_int_eq(back.priority, CURSUS_PRIORITY_URGENT);
  ck_assert(back.size == 1234);
  ck_assert(!qnotify_parse("Q1 NEW a b normal x\n", 20, &back));
  ck_assert(!qnotify_parse("Q2 RUN a\n", 9, &back));
  ck_assert(!qnotify_parse("Q1 RUN a b\n", 11, &back));
  ck_assert(qnotify_parse("Q1 RUN example.org\n", 19, &back));
  ck_assert_int_eq(back.type, QNOTIFY_RUN);

  /* nobody listening: nothing happens */
  qnotify_set_run_dir(tmpdir);
  qnotify_new("tcp_local", "tcp_local/x.01", CURSUS_PRIORITY_NORMAL, 1, 1);
  /* a listener receives each new file */
  char *err = NULL;
  int fd = qnotify_listen(tmpdir, &err);
  ck_assert_msg(fd >= 0, "%s", err);
  qnotify_new("ims-ms", "ims-ms/0123456789ABCDEFGH.02", CURSUS_PRIORITY_NORMAL,
              42, 3);
  qnotify_run("example.org");
  ssize_t r = recv(fd, buf, sizeof(buf), 0);
  ck_assert(r > 0 && qnotify_parse(buf, (size_t)r, &back));
  ck_assert_str_eq(back.channel, "ims-ms");
  ck_assert(back.size == 42);
  ck_assert_uint_eq(back.rcpts, 3);
  r = recv(fd, buf, sizeof(buf), 0);
  ck_assert(r > 0 && qnotify_parse(buf, (size_t)r, &back));
  ck_assert_int_eq(back.type, QNOTIFY_RUN);
  close(fd);
}
END_TEST

START_TEST(test_msglog) {
  msglog_entry e = {.code = 'E', .modifiers = "ES", .source = "tcp_local",
                    .dest = "ims-ms", .size = 2049, .from = "",
                    .orcpt = "Bob@Example.com", .to = "bob@example.com",
                    .file = "0123456789ABCDEFGH.01", .message_id = "<a b@c>",
                    .connection = "TCP|1|2|3|4", .diag = "line\nbreak"};
  char *line = msglog_format(&e, 1764355200120000, 1024);
  char **f = g_strsplit(line, " ", -1);
  ck_assert_uint_ge(g_strv_length(f), 14);
  ck_assert_str_eq(f[2], "tcp_local");
  ck_assert_str_eq(f[3], "ims-ms");
  ck_assert_str_eq(f[4], "EES");
  ck_assert_str_eq(f[5], "3");
  ck_assert_str_eq(f[6], "<>");
  ck_assert_str_eq(f[7], "rfc822;Bob@Example.com");
  ck_assert_str_eq(f[8], "bob@example.com");
  ck_assert_str_eq(f[10], "<a%20b@c>");
  ck_assert_str_eq(f[12], "-");
  ck_assert(g_str_has_suffix(line, "line break\n"));
  g_strfreev(f);
  g_free(line);
  /* written whole, appended */
  char *path = g_build_filename(tmpdir, "mail.log", NULL);
  char *err = NULL;
  ck_assert(msglog_open(path, 1024, &err));
  msglog_write(&e);
  e.code = 'J';
  msglog_write(&e);
  msglog_close();
  char *text = NULL;
  ck_assert(g_file_get_contents(path, &text, NULL, NULL));
  char **lines = g_strsplit(text, "\n", -1);
  ck_assert_uint_eq(g_strv_length(lines), 3);
  ck_assert_ptr_nonnull(strstr(lines[1], " JES "));
  g_strfreev(lines);
  g_free(text);
  g_free(path);
}
END_TEST

static Suite *queue_suite(void) {
  Suite *s = suite_create("queue");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_escape_roundtrip);
  tcase_add_test(tc, test_envelope_roundtrip);
  tcase_add_test(tc, test_envelope_damage);
  tcase_add_test(tc, test_preamble);
  tcase_add_test(tc, test_records);
  tcase_add_test(tc, test_ids);
  tcase_add_test(tc, test_write_memory_and_spill);
  tcase_add_test(tc, test_group_commit);
  tcase_add_test(tc, test_scan);
  tcase_add_test(tc, test_directory_removed);
  tcase_add_test(tc, test_results_and_crash);
  tcase_add_test(tc, test_two_writers);
  tcase_add_test(tc, test_compact_and_delete);
  tcase_add_test(tc, test_spares);
  tcase_add_test(tc, test_bad_files);
  tcase_add_test(tc, test_hdrscan);
  tcase_add_test(tc, test_qnotify);
  tcase_add_test(tc, test_msglog);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(queue_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
