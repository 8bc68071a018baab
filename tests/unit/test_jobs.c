/*
 * test_jobs.c - the job controller's pure parts: retry intervals and
 * notice ages from channel keywords, the job protocol, the queue cache's
 * ordering, and the shape of RFC 3464 notices
 */
#include "build-config.h"
#include "config/imtacnf.h"
#include "jobs/dsn.h"
#include "jobs/jobproto.h"
#include "jobs/jpolicy.h"
#include "jobs/qcache.h"
#include "jobs/schedule.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;
static imtacnf *cnf;
static kwtable *kws;

static void setup(void) {
  tmpdir = g_strdup("/tmp/cursus-jobs-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  imtacnf_free(&cnf);
  kwtable_free(&kws);
  char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(tmpdir);
}

/* channels - parse an imta.cnf made of TEXT */
static void channels(const char *text) {
  char *path = g_build_filename(tmpdir, "imta.cnf", NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
  char *error = NULL;
  kws = kwtable_new();
  ck_assert(kwtable_add(kws, core_channel_keywords, "core", &error));
  diag *d = diag_new();
  cnf = imtacnf_parse(path, tmpdir, kws, d);
  ck_assert_int_eq(d->errors, 0);
  diag_free(&d);
  g_free(path);
}

static config *fake_config(void) {
  config *cfg = g_new0(config, 1);
  cfg->imta = cnf;
  char *path = g_build_filename(tmpdir, "cursus.conf", NULL);
  ck_assert(g_file_set_contents(path, "[mta]\nnotice_unit = 1d\n", -1, NULL));
  diag *d = diag_new();
  cfg->conf = optfile_read(path, d);
  ck_assert_ptr_nonnull(cfg->conf);
  diag_free(&d);
  g_free(path);
  return cfg;
}

START_TEST(backoff_from_keywords) {
  channels("\nl\nlocalhost\n\n"
           "a backoff \"pt5m\" \"pt1h\" urgentbackoff \"pt1m\"\na-daemon\n\n"
           "b\nb-daemon\n");
  const cnf_channel *a = imtacnf_channel(cnf, "a");
  const cnf_channel *b = imtacnf_channel(cnf, "b");
  /* listed intervals, the last repeating */
  ck_assert_int_eq(sched_backoff(a, CURSUS_PRIORITY_NORMAL, 1), 300);
  ck_assert_int_eq(sched_backoff(a, CURSUS_PRIORITY_NORMAL, 2), 3600);
  ck_assert_int_eq(sched_backoff(a, CURSUS_PRIORITY_NORMAL, 9), 3600);
  /* the priority's own keyword first */
  ck_assert_int_eq(sched_backoff(a, CURSUS_PRIORITY_URGENT, 3), 60);
  ck_assert_int_eq(sched_backoff(a, CURSUS_PRIORITY_NONURGENT, 1), 300);
  /* classic default cadence */
  ck_assert_int_eq(sched_backoff(b, CURSUS_PRIORITY_NORMAL, 1), 3600);
  ck_assert_int_eq(sched_backoff(b, CURSUS_PRIORITY_NORMAL, 4), 4 * 3600);
  ck_assert_int_eq(sched_backoff(b, CURSUS_PRIORITY_NORMAL, 100), 8 * 3600);
  ck_assert_int_eq(sched_backoff(b, CURSUS_PRIORITY_URGENT, 1), 1800);
  ck_assert_int_eq(sched_backoff(b, CURSUS_PRIORITY_NONURGENT, 100), 16 * 3600);
}
END_TEST

START_TEST(notices_fall_back) {
  channels("\nl notices 2 4\nlocalhost\n\n"
           "a notices 1 3 5 normalnotices 7 8\na-daemon\n\n"
           "b\nb-daemon\n");
  config *cfg = fake_config();
  sched_notices sn;
  sched_get_notices(cfg, imtacnf_channel(cnf, "a"), CURSUS_PRIORITY_NORMAL, &sn);
  ck_assert_uint_eq(sn.count, 2);
  ck_assert_int_eq(sn.age_s[0], 7 * 86400);
  sched_get_notices(cfg, imtacnf_channel(cnf, "a"), CURSUS_PRIORITY_URGENT, &sn);
  ck_assert_uint_eq(sn.count, 3);
  ck_assert_int_eq(sn.age_s[2], 5 * 86400);
  /* a channel without notices takes the local channel's */
  sched_get_notices(cfg, imtacnf_channel(cnf, "b"), CURSUS_PRIORITY_NORMAL, &sn);
  ck_assert_uint_eq(sn.count, 2);
  ck_assert_int_eq(sn.age_s[1], 4 * 86400);
  optfile_free(&cfg->conf);
  g_free(cfg);
}
END_TEST

START_TEST(notices_default) {
  channels("\nl\nlocalhost\n\nb\nb-daemon\n");
  config *cfg = fake_config();
  sched_notices sn;
  sched_get_notices(cfg, imtacnf_channel(cnf, "b"), CURSUS_PRIORITY_NORMAL, &sn);
  ck_assert_uint_eq(sn.count, 4);
  ck_assert_int_eq(sn.age_s[0], 3 * 86400);
  ck_assert_int_eq(sn.age_s[3], 12 * 86400);
  optfile_free(&cfg->conf);
  g_free(cfg);
}
END_TEST

START_TEST(jobproto_round_trip) {
  static const jobproto_result cases[] = {
      {.path = "tcp_local/1ABC.01", .outcome = JOB_DONE},
      {.path = "tcp_local/003/1ABC.02", .outcome = JOB_DEFERRED,
       .next_retry = 1795898826},
      {.path = "hold/1ABC.01", .outcome = JOB_HELD},
      {.path = "tcp_local/1ABC.03", .outcome = JOB_WAITING,
       .next_retry = 1795898900},
      {.path = "pipe/1ABC.01", .outcome = JOB_ERROR, .text = "disk full"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char buf[JOBPROTO_MAX];
    size_t n = jobproto_format_result(&cases[i], buf);
    jobproto_result r;
    ck_assert(jobproto_parse_result(buf, n, &r));
    ck_assert_str_eq(r.path, cases[i].path);
    ck_assert_int_eq(r.outcome, cases[i].outcome);
    ck_assert_int_eq(r.next_retry, cases[i].next_retry);
    ck_assert_str_eq(r.text, cases[i].text);
  }
}
END_TEST

START_TEST(jobproto_refuses_garbage) {
  static const char *const bad[] = {"", "R", "R x", "R  D", "X tcp D",
                                    "R tcp_local/1 Z", "R tcp_local/1 DD",
                                    "R tcp_local/1 Q", "R tcp_local/1 Qx"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    jobproto_result r;
    ck_assert_msg(!jobproto_parse_result(bad[i], strlen(bad[i]), &r), "%s",
                  bad[i]);
  }
}
END_TEST

START_TEST(qcache_orders_by_priority_and_retry) {
  qcache *qc = qcache_new();
  qc_entry *n1 = qcache_add(qc, "c", "c/n1", CURSUS_PRIORITY_NORMAL, 10);
  qc_entry *u1 = qcache_add(qc, "c", "c/u1", CURSUS_PRIORITY_URGENT, 10);
  qc_entry *l1 = qcache_add(qc, "c", "c/l1", CURSUS_PRIORITY_NONURGENT, 10);
  qc_entry *later = qcache_add(qc, "c", "c/later", CURSUS_PRIORITY_URGENT, 10);
  later->next_retry = 2000;
  ck_assert_ptr_eq(qcache_add(qc, "c", "c/n1", CURSUS_PRIORITY_NORMAL, 10), n1);
  qcache_place(qc, n1, 1000);
  qcache_place(qc, u1, 1000);
  qcache_place(qc, l1, 1000);
  qcache_place(qc, later, 1000);
  qc_chan *c = qcache_chan(qc, "c");
  ck_assert_uint_eq(c->count, 4);
  ck_assert_uint_eq(qcache_ready_count(c), 3);
  ck_assert_ptr_eq(qcache_pop_ready(qc, c), u1);
  ck_assert_ptr_eq(qcache_pop_ready(qc, c), n1);
  ck_assert_ptr_eq(qcache_pop_ready(qc, c), l1);
  ck_assert_ptr_null(qcache_pop_ready(qc, c));
  ck_assert_uint_eq(c->busy, 3);
  qcache_remove(qc, u1);
  ck_assert_uint_eq(c->busy, 2);
  ck_assert_uint_eq(c->count, 3);
  qcache_free(&qc);
}
END_TEST

static void woke(qc_chan *ch, void *data) { (*(int *)data)++; }

START_TEST(qcache_wakes_due_entries) {
  qcache *qc = qcache_new();
  qc_entry *a = qcache_add(qc, "c", "c/a", CURSUS_PRIORITY_NORMAL, 1);
  qc_entry *b = qcache_add(qc, "c", "c/b", CURSUS_PRIORITY_NORMAL, 1);
  a->next_retry = 100;
  b->next_retry = 200;
  qcache_place(qc, a, 50);
  qcache_place(qc, b, 50);
  int calls = 0;
  ck_assert_int_eq(qcache_wake(qc, 50, woke, &calls), 100);
  ck_assert_int_eq(calls, 0);
  ck_assert_int_eq(qcache_wake(qc, 150, woke, &calls), 200);
  ck_assert_int_eq(calls, 1);
  ck_assert_uint_eq(qcache_ready_count(qcache_chan(qc, "c")), 1);
  ck_assert_int_eq(qcache_wake(qc, 250, woke, &calls), 0);
  ck_assert_uint_eq(qcache_ready_count(qcache_chan(qc, "c")), 2);
  qcache_free(&qc);
}
END_TEST

START_TEST(jpolicy_drops_and_periodic_runs) {
  jpolicy p = {.block_size = 1024, .urgent_blocks = 10, .normal_blocks = 20,
               .nonurgent_blocks = 30, .immediate_from = CURSUS_PRIORITY_NORMAL,
               .periodic_s = 600, .after_s = 0};
  bool per = true;
  /* small urgent stays urgent and immediate */
  ck_assert_int_eq(jpolicy_priority(&p, CURSUS_PRIORITY_URGENT, 10 * 1024, &per),
                   CURSUS_PRIORITY_URGENT);
  ck_assert(!per);
  /* above urgentblocklimit: normal; above normalblocklimit too: non-urgent,
   * which immnormal leaves to the periodic run */
  ck_assert_int_eq(jpolicy_priority(&p, CURSUS_PRIORITY_URGENT, 15 * 1024, &per),
                   CURSUS_PRIORITY_NORMAL);
  ck_assert(!per);
  ck_assert_int_eq(jpolicy_priority(&p, CURSUS_PRIORITY_URGENT, 25 * 1024, &per),
                   CURSUS_PRIORITY_NONURGENT);
  ck_assert(per);
  /* immnonurgent: non-urgent is immediate, unless above nonurgentblocklimit */
  p.immediate_from = CURSUS_PRIORITY_NONURGENT;
  jpolicy_priority(&p, CURSUS_PRIORITY_NONURGENT, 25 * 1024, &per);
  ck_assert(!per);
  jpolicy_priority(&p, CURSUS_PRIORITY_NONURGENT, 31 * 1024, &per);
  ck_assert(per);
  /* immurgent: normal waits; periodic: everything waits */
  p.immediate_from = CURSUS_PRIORITY_URGENT;
  jpolicy_priority(&p, CURSUS_PRIORITY_NORMAL, 1, &per);
  ck_assert(per);
  p.immediate_from = CURSUS_PRIORITY_NONURGENT;
  p.periodic = true;
  jpolicy_priority(&p, CURSUS_PRIORITY_URGENT, 1, &per);
  ck_assert(per);
  /* first attempts: `after` counts from arrival, periodic runs are on
   * multiples of the interval */
  p.after_s = 300;
  ck_assert_int_eq(jpolicy_first_attempt(&p, false, 1000, 1000), 1300);
  ck_assert_int_eq(jpolicy_first_attempt(&p, false, 1000, 5000), 1300);
  ck_assert_int_eq(jpolicy_first_attempt(&p, true, 1000, 1000), 1800);
  ck_assert_int_eq(jpolicy_first_attempt(&p, true, 1000, 1900), 2400);
}
END_TEST

START_TEST(qcache_holds_at_most_max_messages) {
  qcache *qc = qcache_new();
  qc->max_messages = 2;
  ck_assert_ptr_nonnull(qcache_add(qc, "c", "c/a", CURSUS_PRIORITY_NORMAL, 1));
  qc_entry *b = qcache_add(qc, "c", "c/b", CURSUS_PRIORITY_NORMAL, 1);
  ck_assert_ptr_nonnull(b);
  ck_assert(!qc->left_on_disk);
  ck_assert_ptr_null(qcache_add(qc, "c", "c/c", CURSUS_PRIORITY_NORMAL, 1));
  ck_assert(qc->left_on_disk);
  ck_assert_uint_eq(qcache_room(qc), 0);
  /* ready recipients follow the ready list */
  b->rcpts = 5;
  qcache_place(qc, b, 0);
  ck_assert_uint_eq(qcache_chan(qc, "c")->ready_rcpts, 5);
  qcache_remove(qc, b);
  ck_assert_uint_eq(qcache_chan(qc, "c")->ready_rcpts, 0);
  ck_assert_uint_eq(qcache_room(qc), 1);
  qcache_free(&qc);
}
END_TEST

START_TEST(dsn_shape) {
  const char *orig = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
  char *path = g_build_filename(tmpdir, "orig", NULL);
  ck_assert(g_file_set_contents(path, orig, -1, NULL));
  FILE *f = fopen(path, "r");
  dsn_rcpt r = {.address = "bob@example.com", .orcpt = "rfc822;Bob@Example.com",
                .action = "failed", .status = "5.1.1",
                .remote = "mx.example.com",
                .diag = "mx.example.com[192.0.2.1] said: 550 5.1.1 no such user "
                        "(in reply to RCPT TO:<bob@example.com>)",
                .last_attempt = 1795898826};
  dsn_report rep = {.kind = DSN_FAILURE, .reporting_mta = "mail.example.org",
                    .to = "a@example.org", .envid = "E1", .queue_id = "Q1.01",
                    .arrival = 1795898800, .fd = fileno(f),
                    .size = strlen(orig), .rcpts = &r, .nrcpts = 1};
  GBytes *b = dsn_build(&rep);
  char *text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  ck_assert_ptr_nonnull(strstr(text, "Content-Type: multipart/report"));
  ck_assert_ptr_nonnull(strstr(text, "report-type=delivery-status"));
  ck_assert_ptr_nonnull(strstr(text, "Reporting-MTA: dns; mail.example.org\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Original-Envelope-Id: E1\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Original-Recipient: rfc822;Bob@Example.com\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Final-Recipient: rfc822; bob@example.com\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Action: failed\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Status: 5.1.1\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Remote-MTA: dns; mx.example.com\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
  ck_assert_ptr_nonnull(strstr(text, "Content-Type: message/rfc822"));
  ck_assert_ptr_nonnull(strstr(text, "Auto-Submitted: auto-replied"));
  g_free(text);
  g_bytes_unref(b);
  /* a delay notice returns the header only */
  r.action = "delayed";
  r.status = "4.2.0";
  rep.kind = DSN_DELAY;
  rep.retry_until = 1795999999;
  b = dsn_build(&rep);
  text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  ck_assert_ptr_nonnull(strstr(text, "Content-Type: text/rfc822-headers"));
  ck_assert_ptr_nonnull(strstr(text, "Will-Retry-Until: "));
  ck_assert_ptr_null(strstr(text, "body\r\n"));
  g_free(text);
  g_bytes_unref(b);
  fclose(f);
  g_free(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("jobs");
  TCase *tc = tcase_create("jobs");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, backoff_from_keywords);
  tcase_add_test(tc, notices_fall_back);
  tcase_add_test(tc, notices_default);
  tcase_add_test(tc, jobproto_round_trip);
  tcase_add_test(tc, jobproto_refuses_garbage);
  tcase_add_test(tc, qcache_orders_by_priority_and_retry);
  tcase_add_test(tc, qcache_wakes_due_entries);
  tcase_add_test(tc, dsn_shape);
  tcase_add_test(tc, jpolicy_drops_and_periodic_runs);
  tcase_add_test(tc, qcache_holds_at_most_max_messages);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
