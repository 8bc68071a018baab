/*
 * test_dns.c - the event-loop resolver (core/util/dns) and the block-list
 * helpers (core/daemon/dnsbl): reversed names, what counts as a listing,
 * reply-safe reasons, bad server lists, and a silent server's timeout
 * and cancellation on a real loop (a UDP socket that never answers)
 */
#include "build-config.h"
#include "daemon/dnsbl.h"
#include "util/dns.h"

#include <cursus/common.h>

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(reverse_names) {
  char *n = dns_reverse_name("192.0.2.7", "bl.example");
  ck_assert_str_eq(n, "7.2.0.192.bl.example");
  g_free(n);
  n = dns_reverse_name("2001:db8::1", "bl.example");
  ck_assert_str_eq(n, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                      "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  g_free(n);
  ck_assert_ptr_null(dns_reverse_name("unix", "bl.example"));
  ck_assert_ptr_null(dns_reverse_name("192.0.2", "bl.example"));
}
END_TEST

START_TEST(listing_addresses) {
  ck_assert(dnsbl_listed_address("127.0.0.2"));
  ck_assert(dnsbl_listed_address("127.0.1.10"));
  ck_assert(!dnsbl_listed_address("127.255.255.254")); /* list's error */
  ck_assert(!dnsbl_listed_address("192.0.2.1"));
  ck_assert(!dnsbl_listed_address("::1"));
}
END_TEST

START_TEST(reasons_fit_a_reply_line) {
  char *r = dnsbl_reason_clean("bad\r\n250 fake\x01 reply", 200);
  ck_assert_str_eq(r, "bad  250 fake  reply");
  g_free(r);
  r = dnsbl_reason_clean("0123456789", 4);
  ck_assert_str_eq(r, "0123");
  g_free(r);
}
END_TEST

START_TEST(bad_server_list) {
  char *error = NULL;
  ev_loop *loop = ev_loop_new();
  dns_resolver *r = dns_resolver_new(loop, "not an address", 1000, 1, &error);
  ck_assert_ptr_null(r);
  ck_assert(strstr(error, "bad DNS server list") != NULL);
  g_free(error);
  ev_loop_free(&loop);
}
END_TEST

typedef struct outcome {
  int calls;
  int status;
  char *error;
  ev_loop *loop;
} outcome;

static void got(const dns_answer *a, void *data) {
  outcome *o = data;
  o->calls++;
  o->status = a->status;
  o->error = g_strdup(a->error);
  ev_loop_stop(o->loop);
}

static void give_up(ev_timer *t, void *data) {
  (void)t;
  ev_loop_stop(data);
}

/* silent_server - a bound UDP socket that never answers; its "ip:port" */
static int silent_server(char *addr, size_t len) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sin);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
  g_snprintf(addr, len, "127.0.0.1:%u", ntohs(sin.sin_port));
  return fd;
}

START_TEST(silent_server_times_out) {
  char addr[64], *error = NULL;
  int fd = silent_server(addr, sizeof(addr));
  outcome o = {.loop = ev_loop_new()};
  dns_resolver *r = dns_resolver_new(o.loop, addr, 200, 1, &error);
  ck_assert_ptr_nonnull(r);
  uint64_t start = ev_monotonic_ms();
  ck_assert_ptr_nonnull(dns_query_start(r, "example.test", CURSUS_DNS_A, got, &o));
  ck_assert_int_eq(o.calls, 0); /* never from inside the call */
  ev_timer *limit = ev_timer_new(o.loop, 5000, give_up, o.loop);
  ev_loop_run(o.loop);
  ck_assert_int_eq(o.calls, 1);
  ck_assert_int_eq(o.status, CURSUS_TEMPFAIL);
  ck_assert_ptr_nonnull(o.error);
  ck_assert_uint_lt(ev_monotonic_ms() - start, 3000);
  g_free(o.error);
  ev_timer_free(&limit);
  dns_resolver_free(&r);
  ev_loop_free(&o.loop);
  close(fd);
}
END_TEST

START_TEST(cancelled_and_closed_queries) {
  char addr[64], *error = NULL;
  int fd = silent_server(addr, sizeof(addr));
  outcome cancelled = {.loop = ev_loop_new()}, pending = {.loop = cancelled.loop};
  dns_resolver *r = dns_resolver_new(cancelled.loop, addr, 200, 1, &error);
  dns_query *q = dns_query_start(r, "a.test", CURSUS_DNS_MX, got, &cancelled);
  dns_query_cancel(&q);
  ck_assert_ptr_null(q);
  ev_timer *limit = ev_timer_new(cancelled.loop, 600, give_up, cancelled.loop);
  ev_loop_run(cancelled.loop);
  ck_assert_int_eq(cancelled.calls, 0);
  /* freeing the resolver ends what is still pending as a failure */
  ck_assert_ptr_nonnull(dns_query_start(r, "b.test", CURSUS_DNS_TXT, got, &pending));
  dns_resolver_free(&r);
  ck_assert_int_eq(pending.calls, 1);
  ck_assert_int_eq(pending.status, CURSUS_TEMPFAIL);
  g_free(pending.error);
  ev_timer_free(&limit);
  ev_loop_free(&cancelled.loop);
  close(fd);
}
END_TEST

START_TEST(nothing_to_ask) {
  char *zones[] = {"bl.example", NULL};
  ck_assert_ptr_null(dnsbl_start(NULL, "test", "unix", zones, NULL, NULL));
}
END_TEST

int main(void) {
  Suite *s = suite_create("dns");
  TCase *tc = tcase_create("dns");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, reverse_names);
  tcase_add_test(tc, listing_addresses);
  tcase_add_test(tc, reasons_fit_a_reply_line);
  tcase_add_test(tc, bad_server_list);
  tcase_add_test(tc, silent_server_times_out);
  tcase_add_test(tc, cancelled_and_closed_queries);
  tcase_add_test(tc, nothing_to_ask);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
