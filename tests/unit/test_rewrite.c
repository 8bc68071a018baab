/*
 * test_rewrite.c - the table of rewriting cases (tests/data/rewrite/cases)
 * run through resolve.c, plus the access tables of the same
 * configuration
 *
 * The same case table is run through `cursus test-rewrite` by
 * tests/integration/test_rewrite_cli.py; the cases marked `unit` need the
 * tests' expander (rwtest.c), which only this program has.
 */
#include "build-config.h"
#include "mapping/access.h"
#include "mta/mtacfg.h"
#include "mta/resolve.h"
#include "rwtest.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static config *cfg;
static modreg *mods;

static void setup(void) {
  cfg = rwtest_load("tests/data/rewrite", &mods);
  rwtest_register_expander();
}

static void teardown(void) {
  config_set_current(NULL);
  config_unref(&cfg);
  modreg_free(&mods);
}

typedef struct rcase {
  unsigned line;
  bool header, from, reprocess, nomap, expand, noexpand, cli_only;
  char *src, *dst, *tag;
  char *address;
  char *expect;
} rcase;

static void rcase_free(void *p) {
  rcase *c = p;
  g_free(c->src);
  g_free(c->dst);
  g_free(c->tag);
  g_free(c->address);
  g_free(c->expect);
  g_free(c);
}

/* read_cases - the cases of the table (all, `unit` ones included) */
static GPtrArray *read_cases(void) {
  char *path = g_build_filename(rwtest_srcdir(), "tests/data/rewrite/cases",
                                NULL);
  char *text = NULL;
  ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "cannot read %s",
                path);
  GPtrArray *cases = g_ptr_array_new_with_free_func(rcase_free);
  char **lines = g_strsplit(text, "\n", -1);
  for (unsigned i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '#' || *g_strstrip(lines[i]) == '\0')
      continue;
    char **f = g_strsplit(lines[i], " | ", 3);
    ck_assert_msg(g_strv_length(f) == 3, "%s:%u: want CONTEXT | ADDRESS | "
                                         "EXPECTED",
                  path, i + 1);
    rcase *c = g_new0(rcase, 1);
    c->line = i + 1;
    c->address = g_strdup(g_strstrip(f[1]));
    c->expect = g_strdup(g_strstrip(f[2]));
    char **ctx = g_strsplit(f[0], " ", -1);
    for (char **t = ctx; *t != NULL; t++) {
      if (strcmp(*t, "hdr") == 0)
        c->header = true;
      else if (strcmp(*t, "from") == 0)
        c->from = true;
      else if (strcmp(*t, "reprocess") == 0)
        c->reprocess = true;
      else if (strcmp(*t, "nomap") == 0)
        c->nomap = true;
      else if (strcmp(*t, "expand") == 0)
        c->expand = true;
      else if (strcmp(*t, "noexpand") == 0)
        c->noexpand = true;
      else if (strcmp(*t, "cli") == 0)
        c->cli_only = true;
      else if (g_str_has_prefix(*t, "src="))
        c->src = g_strdup(*t + 4);
      else if (g_str_has_prefix(*t, "dst="))
        c->dst = g_strdup(*t + 4);
      else if (g_str_has_prefix(*t, "tag="))
        c->tag = g_strdup(*t + 4);
    }
    g_strfreev(ctx);
    g_strfreev(f);
    g_ptr_array_add(cases, c);
  }
  g_strfreev(lines);
  g_free(text);
  g_free(path);
  return cases;
}

/* words_match - EXPECT's words against GOT's, '*' matching any word */
static bool words_match(const char *expect, const char *got) {
  char **e = g_strsplit(expect, " ", -1), **g = g_strsplit(got, " ", -1);
  bool ok = g_strv_length(e) == g_strv_length(g);
  for (guint i = 0; ok && e[i] != NULL; i++)
    ok = strcmp(e[i], "*") == 0 || strcmp(e[i], g[i]) == 0;
  g_strfreev(e);
  g_strfreev(g);
  return ok;
}

/* error_matches - "! 5.1.2 text" against an error */
static bool error_matches(const char *expect, const char *error) {
  const char *want = expect + 2;
  if (error == NULL)
    return false;
  size_t code_len = strcspn(want, " ");
  if (strncmp(error, want, code_len) != 0)
    return false;
  return want[code_len] == '\0' || strstr(error, want + code_len + 1) != NULL;
}

/* run - one case; the outcome as text ("ADDRESS HOST CHANNEL", "! error") */
static char *run(const rcase *c) {
  resolve_params p = {.source_channel = c->src,
                      .destination_channel = c->dst,
                      .tag = c->tag,
                      .flags = (c->reprocess ? RESOLVE_REPROCESS : 0) |
                               (c->nomap ? RESOLVE_NO_MAPPING : 0)};
  char *out = NULL, *error = NULL;
  if (c->header || c->from) {
    int rc;
    if (c->header) {
      if (c->from)
        p.flags |= RESOLVE_FROM;
      rc = resolve_header_address(c->address, &p, &out, &error);
    } else {
      rc = resolve_sender(c->address, &p, &out, NULL, &error);
    }
    char *r = rc == CURSUS_OK ? g_strdup(out) : g_strdup_printf("! %s", error);
    g_free(out);
    g_free(error);
    return r;
  }
  resolve_result res;
  resolve_result_init(&res);
  if (!c->expand)
    p.flags |= RESOLVE_NO_EXPAND;
  resolve_recipient(c->address, &p, &res);
  GString *s = g_string_new(NULL);
  if (res.status != CURSUS_OK) {
    g_string_printf(s, "! %s", res.error);
  } else if (c->expand || c->noexpand) {
    for (guint i = 0; i < res.entries->len; i++) {
      const resolve_entry *e = res.entries->pdata[i];
      g_string_append_printf(s, "%s%s->%s", i > 0 ? " " : "", e->address,
                             e->channel);
    }
    if (res.entries->len == 0)
      g_string_append(s, "(none)");
  } else {
    g_string_printf(s, "%s %s %s", res.rewritten, res.host, res.channel);
  }
  resolve_result_clear(&res);
  return g_string_free(s, FALSE);
}

START_TEST(rewrite_case_table) {
  GPtrArray *cases = read_cases();
  unsigned failed = 0;
  guint run_count = 0;
  for (guint i = 0; i < cases->len; i++) {
    const rcase *c = cases->pdata[i];
    if (c->cli_only)
      continue;
    run_count++;
    char *got = run(c);
    bool ok = c->expect[0] == '!' ? error_matches(c->expect, got + 2)
                                  : words_match(c->expect, got);
    if (c->expect[0] == '!' && got[0] != '!')
      ok = false;
    if (!ok) {
      fprintf(stderr, "cases:%u: %s\n  want: %s\n  got:  %s\n", c->line,
              c->address, c->expect, got);
      failed++;
    }
    g_free(got);
  }
  fprintf(stderr, "%u rewriting cases, %u failed\n", run_count, failed);
  ck_assert_uint_ge(run_count, 150);
  ck_assert_uint_eq(failed, 0);
  g_ptr_array_free(cases, TRUE);
}
END_TEST

START_TEST(resolve_entries_detail) {
  resolve_params p = {0};
  resolve_result res;
  resolve_result_init(&res);
  ck_assert_int_eq(resolve_recipient("group@hosted.example", &p, &res),
                   CURSUS_OK);
  ck_assert_uint_eq(res.entries->len, 2);
  const resolve_entry *e = res.entries->pdata[0];
  ck_assert_str_eq(e->errors_to, "owner@hosted.example");
  ck_assert_str_eq(e->via, "group@hosted.example");
  ck_assert_str_eq(res.rewritten, "group@hosted.example");
  ck_assert_str_eq(res.channel, "l");
  ck_assert_int_eq(res.smtp_code, 250);
  resolve_result_clear(&res);

  resolve_result_init(&res);
  ck_assert_int_eq(resolve_recipient("mixed@localhost", &p, &res), CURSUS_OK);
  ck_assert_uint_eq(res.notes->len, 1);
  ck_assert_ptr_nonnull(strstr(res.notes->pdata[0], "nosuchuser"));
  resolve_result_clear(&res);

  resolve_result_init(&res);
  ck_assert_int_eq(resolve_recipient("nosuch@localhost", &p, &res),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(res.smtp_code, 550);
  ck_assert_uint_eq(res.entries->len, 0);
  resolve_result_clear(&res);

  resolve_result_init(&res);
  ck_assert_int_eq(resolve_recipient("dirtemp@hosted.example", &p, &res),
                   CURSUS_TEMPFAIL);
  ck_assert_int_eq(res.smtp_code, 451);
  resolve_result_clear(&res);

  resolve_result_init(&res);
  ck_assert_int_eq(resolve_recipient("bad@@address", &p, &res),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(res.smtp_code, 553);
  resolve_result_clear(&res);
}
END_TEST

START_TEST(resolve_trace) {
  GString *trace = g_string_new(NULL);
  resolve_params p = {.trace = trace};
  resolve_result res;
  resolve_result_init(&res);
  resolve_recipient("joe@a.map.example", &p, &res);
  ck_assert_ptr_nonnull(strstr(trace->str, "try .map.example"));
  ck_assert_ptr_nonnull(strstr(trace->str, "DOMAINMAP \"a\""));
  ck_assert_ptr_nonnull(strstr(trace->str, "queue joe@mapped-a.example"));
  resolve_result_clear(&res);
  g_string_free(trace, TRUE);
}
END_TEST

START_TEST(resolve_sender_cases) {
  resolve_params p = {0};
  char *out = NULL, *error = NULL;
  int code = 0;
  ck_assert_int_eq(resolve_sender("", &p, &out, &code, &error), CURSUS_OK);
  ck_assert_str_eq(out, "");
  ck_assert_int_eq(code, 250);
  g_free(out);
  ck_assert_int_eq(resolve_sender("joe@@x", &p, &out, &code, &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(code, 553);
  ck_assert(g_str_has_prefix(error, "5.1.7"));
  g_free(error);
  p.source_channel = "tcp_local";
  ck_assert_int_eq(resolve_sender("joe@a.src.example", &p, &out, &code, &error),
                   CURSUS_PERMFAIL);
  ck_assert_int_eq(code, 550);
  ck_assert(g_str_has_prefix(error, "5.7.1"));
  g_free(error);
}
END_TEST

START_TEST(header_fields) {
  resolve_params p = {.destination_channel = "tcp_local"};
  char *out = NULL, *error = NULL;
  ck_assert_int_eq(resolve_header_field("From",
                                        "\"Joe (the boss)\" <joe@localhost>",
                                        &p, &out, &error),
                   CURSUS_OK);
  ck_assert_str_eq(out, "\"Joe (the boss)\" <joe@test.example>");
  g_free(out);
  ck_assert_int_eq(
      resolve_header_field("To",
                           "bob@localhost (Bob), Team: carol@mail.test.example, "
                           "dan <dan@a.fwd.example>;, x@@bad",
                           &p, &out, &error),
      CURSUS_OK);
  ck_assert_str_eq(out, "bob@public.test.example (Bob), Team: "
                        "carol@public.test.example, dan "
                        "<dan@f-a.fwd.example>;, x@@bad");
  g_free(out);
  ck_assert_int_eq(resolve_header_field("To", "a <b@c", &p, &out, &error),
                   CURSUS_PERMFAIL);
  g_free(error);
  ck_assert(resolve_field_is_backward("Resent-From"));
  ck_assert(!resolve_field_is_backward("Cc"));
}
END_TEST

typedef struct acase {
  access_table table;
  const char *probe;
  unsigned flags;
  access_action action;
  int code;
  const char *status;
  const char *text;
  unsigned delay_ms;
} acase;

START_TEST(access_tables) {
  static const acase cases[] = {
      {ACCESS_ORIG_SEND, "tcp_local|a@b|tcp_local|c@d", 0, ACCESS_REJECT, 550,
       "5.7.1", "Relaying not allowed", 300},
      {ACCESS_ORIG_SEND, "tcp_intranet|a@b|tcp_local|c@d", 0, ACCESS_ALLOW, 0,
       NULL, NULL, 0},
      {ACCESS_ORIG_SEND, "tcp_local|a@b|ims-ms|x@deny.access.example", 0,
       ACCESS_REJECT, 550, "5.7.2", "No mail to this domain", 0},
      {ACCESS_ORIG_SEND, "l|a@b|tcp_local|tarpit@x", 0, ACCESS_ALLOW, 0, NULL,
       "", 1500},
      {ACCESS_SEND, "l|a@b|ims-ms|held@x", 0, ACCESS_HOLD, 0, NULL, "", 0},
      {ACCESS_SEND, "l|a@b|ims-ms|dropped@x", 0, ACCESS_DISCARD, 0, NULL, "", 0},
      {ACCESS_SEND, "l|a@b|ims-ms|spam@x", 0, ACCESS_REJECT, 550, "5.7.1",
       "Spam trap", 0},
      {ACCESS_PORT, "TCP|127.0.0.1|25|192.168.1.5|4000", 0, ACCESS_ALLOW, 0,
       NULL, "INTERNAL", 0},
      {ACCESS_PORT, "TCP|127.0.0.1|25|127.0.0.1|4000", 0, ACCESS_ALLOW, 0, NULL,
       "INTERNAL", 0},
      {ACCESS_PORT, "TCP|127.0.0.1|25|10.9.9.9|4000", 0, ACCESS_REJECT, 421,
       "4.7.0", "Too many connections", 0},
      {ACCESS_PORT, "TCP|127.0.0.1|587|10.9.9.9|4000", 0, ACCESS_ALLOW, 0, NULL,
       "EXTERNAL", 0},
      {ACCESS_PORT, "TCP|127.0.0.1|25|8.8.8.8|1", 0, ACCESS_ALLOW, 0, NULL,
       "EXTERNAL", 0},
      {ACCESS_FROM,
       "TCP|127.0.0.1|25|8.8.8.8|1|ESMTP/x|MAIL|tcp_local|spoof@test.example|",
       0, ACCESS_REJECT, 550, "5.7.1", "Authenticate first", 0},
      {ACCESS_FROM,
       "TCP|127.0.0.1|25|8.8.8.8|1|ESMTP/x|MAIL|tcp_local|spoof@test.example|"
       "spoof@test.example",
       ACCESS_F_AUTH, ACCESS_ALLOW, 0, NULL, "", 0},
      {ACCESS_MAIL,
       "TCP|127.0.0.1|25|8.8.8.8|1|ESMTP/x|MAIL|tcp_local|a@b|l|tls-only@x", 0,
       ACCESS_REJECT, 550, "5.7.1", "TLS required", 0},
      {ACCESS_MAIL,
       "TCP|127.0.0.1|25|8.8.8.8|1|ESMTP/x|MAIL|tcp_local|a@b|l|tls-only@x",
       ACCESS_F_TLS, ACCESS_ALLOW, 0, NULL, NULL, 0},
      {ACCESS_ORIG_MAIL, "anything", 0, ACCESS_ALLOW, 0, NULL, NULL, 0},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const acase *c = &cases[i];
    access_verdict v;
    char *error = NULL;
    ck_assert_int_eq(access_check_string(c->table, c->probe, c->flags, &v,
                                         &error),
                     CURSUS_OK);
    ck_assert_msg(v.action == c->action, "case %zu (%s): action %d", i,
                  c->probe, v.action);
    if (c->code != 0)
      ck_assert_int_eq(v.smtp_code, c->code);
    if (c->status != NULL)
      ck_assert_str_eq(v.status, c->status);
    if (c->text != NULL)
      ck_assert_str_eq(v.text, c->text);
    ck_assert_uint_eq(v.delay_ms, c->delay_ms);
    access_verdict_clear(&v);
  }
}
END_TEST

START_TEST(access_probes) {
  access_probe p = {.server_ip = "192.0.2.1",
                    .server_port = 25,
                    .client_ip = "198.51.100.7",
                    .client_port = 40000,
                    .app_info = "ESMTP/client.example",
                    .source_channel = "tcp_local",
                    .env_from = "a@b.example",
                    .dest_channel = "ims-ms",
                    .env_to = "c@d.example"};
  char *s = access_probe_string(ACCESS_PORT, &p);
  ck_assert_str_eq(s, "TCP|192.0.2.1|25|198.51.100.7|40000");
  g_free(s);
  s = access_probe_string(ACCESS_FROM, &p);
  ck_assert_str_eq(s, "TCP|192.0.2.1|25|198.51.100.7|40000|ESMTP/client."
                      "example|MAIL|tcp_local|a@b.example|");
  g_free(s);
  s = access_probe_string(ACCESS_SEND, &p);
  ck_assert_str_eq(s, "tcp_local|a@b.example|ims-ms|c@d.example");
  g_free(s);
  s = access_probe_string(ACCESS_MAIL, &p);
  ck_assert_str_eq(s, "TCP|192.0.2.1|25|198.51.100.7|40000|ESMTP/client."
                      "example|MAIL|tcp_local|a@b.example|ims-ms|c@d.example");
  g_free(s);
  access_verdict v;
  char *error = NULL;
  p.client_ip = "10.9.9.9";
  ck_assert_int_eq(access_check(ACCESS_PORT, &p, &v, &error), CURSUS_OK);
  ck_assert_int_eq(v.action, ACCESS_REJECT);
  ck_assert_str_eq(v.probe, "TCP|192.0.2.1|25|10.9.9.9|40000");
  access_verdict_clear(&v);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("rewrite");
  TCase *tc = tcase_create("rewrite");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, rewrite_case_table);
  tcase_add_test(tc, resolve_entries_detail);
  tcase_add_test(tc, resolve_trace);
  tcase_add_test(tc, resolve_sender_cases);
  tcase_add_test(tc, header_fields);
  tcase_add_test(tc, access_tables);
  tcase_add_test(tc, access_probes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return rwtest_run(suite(), true); }
