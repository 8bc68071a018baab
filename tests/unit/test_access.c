/*
 * test_access.c - what the access protocols share: service access filters
 * (TCP-wrapper syntax, classic decision rules), per-user session limits
 * across processes, strict SASL base64, and the POP3 command parser
 */
#include "build-config.h"
#include "../../modules/common/login.h"
#include "../../modules/common/svcaccess.h"
#include "../../modules/common/userlimit.h"
#include "../../modules/proto_pop3/pop3-parse.h"

#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ filters */

static svcaccess_result check(const char *allow, const char *deny,
                              const char *service, const char *ip,
                              const char *host, const char *user) {
  char *error = NULL;
  svcaccess *a = svcaccess_parse(allow, "allow", deny, "deny", &error);
  ck_assert_msg(error == NULL, "%s", error);
  /* the dispatcher's service name, as the sessions pass it */
  char *alias = g_ascii_strup(service, -1);
  svcaccess_client c = {.service = service, .alias = alias, .ip = ip,
                        .host = host, .user = user};
  svcaccess_result r = svcaccess_check(a, &c);
  g_free(alias);
  svcaccess_free(&a);
  return r;
}

START_TEST(test_filter_decisions) {
  static const struct {
    const char *allow, *deny, *service, *ip, *host, *user;
    svcaccess_result want;
  } cases[] = {
      /* nothing configured: everyone */
      {NULL, NULL, "imap", "192.0.2.1", NULL, NULL, SVCACCESS_ALLOW},
      /* only allow filters: the rest is refused */
      {"imap: 192.168.", NULL, "imap", "192.168.1.9", NULL, NULL, SVCACCESS_ALLOW},
      {"imap: 192.168.", NULL, "imap", "10.1.1.1", NULL, NULL, SVCACCESS_DENY},
      {"imap: 192.168.", NULL, "imaps", "192.168.1.9", NULL, NULL, SVCACCESS_DENY},
      /* deny filters: the rest is allowed */
      {NULL, "ALL: 10.0.0.0/255.0.0.0", "pop", "10.2.3.4", NULL, NULL, SVCACCESS_DENY},
      {NULL, "ALL: 10.0.0.0/8", "pop", "11.2.3.4", NULL, NULL, SVCACCESS_ALLOW},
      /* allow wins over deny, first match decides */
      {"imap: 10.9.", "imap: 10.", "imap", "10.9.1.1", NULL, NULL, SVCACCESS_ALLOW},
      {"imap: 10.9.", "imap: 10.", "imap", "10.8.1.1", NULL, NULL, SVCACCESS_DENY},
      {"imap: 10.9.", "imap: 10.", "imap", "11.8.1.1", NULL, NULL, SVCACCESS_ALLOW},
      /* EXCEPT */
      {"imap: 192.168. EXCEPT 192.168.1.5", NULL, "imap", "192.168.1.5", NULL,
       NULL, SVCACCESS_DENY},
      {"ALL EXCEPT imaps: ALL", NULL, "imaps", "1.2.3.4", NULL, NULL,
       SVCACCESS_DENY},
      /* service alias from dispatcher.cnf */
      {"IMAP: 127.0.0.1", NULL, "imap", "127.0.0.1", NULL, NULL, SVCACCESS_ALLOW},
      /* host names */
      {"imap: .example.com", NULL, "imap", "192.0.2.1", "mail.example.com",
       NULL, SVCACCESS_ALLOW},
      {"imap: .example.com", NULL, "imap", "192.0.2.1", NULL, NULL,
       SVCACCESS_DENY},
      {"imap: *.example.com", NULL, "imap", "192.0.2.1", "a.example.com", NULL,
       SVCACCESS_ALLOW},
      {"imap: LOCAL", NULL, "imap", "127.0.0.1", "localhost", NULL,
       SVCACCESS_ALLOW},
      {NULL, "imap: UNKNOWN", "imap", "192.0.2.1", NULL, NULL, SVCACCESS_DENY},
      /* IPv6 */
      {"imap: [2001:db8::]/32", NULL, "imap", "2001:db8::1", NULL, NULL,
       SVCACCESS_ALLOW},
      {"imap: [::1]", NULL, "imap", "::1", NULL, NULL, SVCACCESS_ALLOW},
      /* user patterns: undecided before login */
      {NULL, "imap: joe@ALL", "imap", "192.0.2.1", NULL, NULL,
       SVCACCESS_UNDECIDED},
      {NULL, "imap: joe@ALL", "imap", "192.0.2.1", NULL, "joe", SVCACCESS_DENY},
      {NULL, "imap: joe@ALL", "imap", "192.0.2.1", NULL, "ann", SVCACCESS_ALLOW},
      {NULL, "imap: joe@example.com@ALL", "imap", "192.0.2.1", NULL,
       "joe@example.com", SVCACCESS_DENY},
      {"imap: ALL@192.0.2.", NULL, "imap", "192.0.2.1", NULL, NULL,
       SVCACCESS_ALLOW},
      /* several filters with $ */
      {"pop: 10. $ imap: 192.0.2.1", NULL, "imap", "192.0.2.1", NULL, NULL,
       SVCACCESS_ALLOW},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    svcaccess_result r = check(cases[i].allow, cases[i].deny, cases[i].service,
                               cases[i].ip, cases[i].host, cases[i].user);
    ck_assert_msg(r == cases[i].want, "case %zu (%s / %s, %s %s): got %d", i,
                  cases[i].allow ? cases[i].allow : "-",
                  cases[i].deny ? cases[i].deny : "-", cases[i].service,
                  cases[i].ip, r);
  }
}
END_TEST

START_TEST(test_filter_errors) {
  static const struct {
    const char *allow;
    const char *message;
  } cases[] = {
      {"imap 10.", "allow: filter 1: missing ':' between the services and the "
                   "clients"},
      {"imap: 10. $ pop:", "allow: filter 2: empty client list"},
      {"imap: @staff", "allow: filter 1: netgroups (@name) are not supported"},
      {"imap: 10.0.0.0/33", "allow: filter 1: invalid network (expected "
                            "address/mask or address/prefix-length)"},
      {"imap: 10. EXCEPT", "allow: filter 1: empty client list"},
      {": 10.", "allow: filter 1: empty service list"},
      {"imap: a/b/c", "allow: filter 1: invalid network (expected "
                      "address/mask or address/prefix-length)"},
      {"imap: ho$t", NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *error = NULL;
    svcaccess *a = svcaccess_parse(cases[i].allow, "allow", NULL, "deny",
                                   &error);
    if (cases[i].message == NULL) {
      /* "$" separates filters: "imap: ho" and "t" (no colon) */
      ck_assert_ptr_nonnull(error);
    } else {
      ck_assert_ptr_null(a);
      ck_assert_msg(error != NULL && strcmp(error, cases[i].message) == 0,
                    "case %zu: %s", i, error ? error : "(none)");
    }
    g_free(error);
    svcaccess_free(&a);
  }
}
END_TEST

/* ------------------------------------------------------------ limits */

START_TEST(test_userlimit) {
  char *dir = g_strdup("/tmp/cursus-unit-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  const char *error;
  userlimit *ul = userlimit_new(dir, "imap", 2);
  int a = userlimit_acquire(ul, "joe", &error);
  int b = userlimit_acquire(ul, "joe", &error);
  ck_assert_int_ge(a, 0);
  ck_assert_int_ge(b, 0);
  ck_assert_int_ne(a, b);
  ck_assert_int_eq(userlimit_acquire(ul, "joe", &error), -1);
  ck_assert_int_ge(userlimit_acquire(ul, "ann", &error), 0);
  /* another process sees the same count */
  pid_t pid = fork();
  if (pid == 0) {
    userlimit *other = userlimit_new(dir, "imap", 2);
    int r = userlimit_acquire(other, "joe", &error);
    _exit(r == -1 ? 0 : 1);
  }
  int status;
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  userlimit_release(ul, "joe", a);
  pid = fork();
  if (pid == 0) {
    userlimit *other = userlimit_new(dir, "imap", 2);
    int r = userlimit_acquire(other, "joe", &error);
    _exit(r >= 0 ? 0 : 1);
  }
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* the child's slot went with it: there is room again */
  ck_assert_int_ge(userlimit_acquire(ul, "joe", &error), 0);
  userlimit_free(&ul);
  char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(dir);
}
END_TEST

/* ------------------------------------------------------------ base64 */

START_TEST(test_b64) {
  size_t n;
  char *s = login_decode_b64("AGpvZQBzZWNyZXQ=", 16, &n);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(n, 11);
  ck_assert(memcmp(s, "\0joe\0secret", 11) == 0);
  g_free(s);
  s = login_decode_b64("", 0, &n);
  ck_assert(s != NULL && n == 0);
  g_free(s);
  static const char *const bad[] = {"AGpvZQ", "AGp*ZQ==", "A===", "=AAA",
                                    "AB=C"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(login_decode_b64(bad[i], strlen(bad[i]), &n) == NULL,
                  "accepted %s", bad[i]);
}
END_TEST

/* ------------------------------------------------------------ POP3 */

START_TEST(test_pop3_parse) {
  pop3_command c;
  const char *error;
  ck_assert(pop3_parse("retr 12", 7, &c, &error));
  ck_assert_str_eq(c.name, "RETR");
  ck_assert_uint_eq(c.nargs, 1);
  ck_assert(pop3_parse("TOP 1 10", 8, &c, &error) && c.nargs == 2);
  ck_assert(pop3_parse("PASS with spaces in it", 22, &c, &error));
  ck_assert_uint_eq(c.rest_len, 17);
  ck_assert(pop3_parse("QUIT", 4, &c, &error) && c.nargs == 0);
  static const char *const bad[] = {"RETRX 1", "1 RETR", "RETR  1", "RETR 1 ",
                                    "TOP 1 2 3", "", "XY"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(!pop3_parse(bad[i], strlen(bad[i]), &c, &error),
                  "accepted \"%s\"", bad[i]);
  char arg[60];
  memset(arg, '1', sizeof(arg));
  memcpy(arg, "LIST ", 5);
  ck_assert(!pop3_parse(arg, sizeof(arg), &c, &error));
  uint32_t n;
  ck_assert(pop3_parse_number("42", 2, 100, &n) && n == 42);
  ck_assert(!pop3_parse_number("-1", 2, 100, &n));
  ck_assert(!pop3_parse_number("101", 3, 100, &n));
  ck_assert(!pop3_parse_number("99999999999", 11, UINT32_MAX, &n));
}
END_TEST

static Suite *access_suite(void) {
  Suite *s = suite_create("access");
  TCase *tc = tcase_create("common");
  tcase_add_test(tc, test_filter_decisions);
  tcase_add_test(tc, test_filter_errors);
  tcase_add_test(tc, test_userlimit);
  tcase_add_test(tc, test_b64);
  tcase_add_test(tc, test_pop3_parse);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(access_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
