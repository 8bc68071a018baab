/*
 * test_addr.c - the address parser (core/addr): tables of accepted and
 * refused addresses and SMTP paths, formatting, header address lists
 */
#include "build-config.h"
#include "addr/addr.h"
#include "addr/addrlist.h"
#include "rwtest.h"

#include <check.h>
#include <string.h>

typedef struct pcase {
  const char *in;
  unsigned flags;
  const char *out;   /* formatted, or NULL when refused */
  const char *error; /* part of the error when refused */
} pcase;

#define SMTP ADDR_SMTP
#define ROUTE ADDR_ROUTE
#define BARE ADDR_BARE
#define UTF8 ADDR_UTF8

static const pcase parse_cases[] = {
    {"joe@example.com", 0, "joe@example.com", NULL},
    {"Joe.Smith@Example.COM", 0, "Joe.Smith@example.com", NULL},
    {"joe+tag@example.com", SMTP, "joe+tag@example.com", NULL},
    {"a.b.c@d.e.f", SMTP, "a.b.c@d.e.f", NULL},
    {"!#$%&'*+-/=?^_`{|}~@example.com", SMTP, "!#$%&'*+-/=?^_`{|}~@example.com",
     NULL},
    {"\"joe smith\"@example.com", SMTP, "\"joe smith\"@example.com", NULL},
    {"\"joe\"@example.com", SMTP, "joe@example.com", NULL},
    {"\"a\\\"b\"@example.com", SMTP, "\"a\\\"b\"@example.com", NULL},
    {"\"a\\\\b\"@example.com", SMTP, "\"a\\\\b\"@example.com", NULL},
    {"\"a@b\"@example.com", SMTP, "\"a@b\"@example.com", NULL},
    {"\"a%b\"@example.com", 0, "\"a%b\"@example.com", NULL},
    {"\"\"@example.com", 0, "\"\"@example.com", NULL},
    {"\"\"@example.com", SMTP, NULL, "empty quoted"},
    {"joe@[192.0.2.1]", SMTP, "joe@[192.0.2.1]", NULL},
    {"joe@[IPv6:2001:DB8::1]", SMTP, "joe@[IPv6:2001:db8::1]", NULL},
    {"joe@[ipv6:::1]", SMTP, "joe@[IPv6:::1]", NULL},
    {"joe@[IPv6:::ffff:192.0.2.1]", SMTP, "joe@[IPv6:::ffff:192.0.2.1]", NULL},
    {"joe@[192.0.2.256]", SMTP, NULL, "not an IPv4"},
    {"joe@[1.2.3]", SMTP, NULL, "not an IPv4"},
    {"joe@[x:y]", SMTP, NULL, "not supported"},
    {"joe@[]", SMTP, NULL, "empty domain literal"},
    {"joe@[IPv6:1::2::3]", SMTP, NULL, "not an IPv6"},
    {"joe@[192.0.2.1", SMTP, NULL, "literal"},
    {"@a.example,@b.example:joe@c.example", SMTP | ROUTE,
     "@a.example,@b.example:joe@c.example", NULL},
    {"@a.example:joe@c.example", SMTP, NULL, "source routes are not"},
    {"@a.example,b.example:joe@c.example", ROUTE, NULL, "starts with '@'"},
    {"@a.example", ROUTE, NULL, "without ':'"},
    {"@:joe@c.example", ROUTE, NULL, "empty domain"},
    {"@[10.0.0.1]:joe@c.example", ROUTE, "@[10.0.0.1]:joe@c.example", NULL},
    {"joe", BARE, "joe", NULL},
    {"joe", 0, NULL, "missing \"@domain\""},
    {"@a:joe", ROUTE | BARE, NULL, "missing \"@domain\""},
    {"", 0, NULL, "empty address"},
    {"@", 0, NULL, "source routes"},
    {"joe@", 0, NULL, "empty domain"},
    {"@example.com", ROUTE, NULL, "source route"},
    {"joe@@example.com", 0, NULL, "character '@'"},
    {"joe..smith@example.com", 0, NULL, "empty atom"},
    {".joe@example.com", 0, NULL, "empty atom"},
    {"joe.@example.com", 0, NULL, "ends with a dot"},
    {"jo e@example.com", 0, NULL, "not allowed"},
    {"jo\"e@example.com", 0, NULL, "quoted string must be the whole"},
    {"\"joe\"x@example.com", 0, NULL, "unexpected text"},
    {"\"joe@example.com", 0, NULL, "unterminated"},
    {"jo(e@example.com", 0, NULL, "'('"},
    {"joe@exa mple.com", 0, NULL, "' '"},
    {"joe@example..com", 0, NULL, "empty label"},
    {"joe@.example.com", 0, NULL, "empty label"},
    {"joe@example.com.", 0, NULL, "ends with a dot"},
    {"joe@-example.com", 0, NULL, "hyphen"},
    {"joe@example-.com", 0, NULL, "hyphen"},
    {"joe@ex_ample.com", SMTP, "joe@ex_ample.com", NULL},
    {"joe@tcp_local-daemon", 0, "joe@tcp_local-daemon", NULL},
    {"joe@exa!mple.com", 0, NULL, "'!'"},
    {"joe@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
     0, NULL, "longer than 63"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com",
     SMTP, NULL, "longer than 64"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com",
     0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com",
     NULL},
    {"jöe@example.com", SMTP, NULL, "SMTPUTF8"},
    {"jöe@example.com", SMTP | UTF8, "jöe@example.com", NULL},
    {"jöe@example.com", 0, "jöe@example.com", NULL},
    {"joe@bücher.example", SMTP, NULL, "SMTPUTF8"},
    {"joe@bücher.example", SMTP | UTF8, "joe@xn--bcher-kva.example", NULL},
    {"joe@BÜCHER.example", UTF8, "joe@xn--bcher-kva.example", NULL},
    {"joe@xn--bcher-kva.example", SMTP, "joe@xn--bcher-kva.example", NULL},
    {"joe@xn--9.example", SMTP, NULL, "internationalized"},
    {"joe@xn--a.example", SMTP, NULL, "internationalized"},
    {"joe@\xff\xfe.example", UTF8, NULL, "UTF-8"},
    {"\"j\\\xc3" "\xb6" "e\"@x.com", SMTP, NULL, "quoted pair"},
    {"\"a\tb\"@x.com", SMTP, NULL, "control"},
    {"\"a\tb\"@x.com", 0, "\"a\tb\"@x.com", NULL},
    {"a\x01@x.com", 0, NULL, "0x01"},
    {"joe@x.com\n", 0, NULL, "0x0a"},
};

START_TEST(parse_table) {
  const pcase *c = &parse_cases[_i];
  addr *a = NULL;
  char *error = NULL;
  int rc = addr_parse(c->in, -1, c->flags, &a, &error);
  if (c->out != NULL) {
    ck_assert_msg(rc == CURSUS_OK, "%s: refused: %s", c->in, error);
    char *f = addr_format(a);
    ck_assert_str_eq(f, c->out);
    g_free(f);
    addr_free(&a);
    ck_assert_ptr_null(a);
  } else {
    ck_assert_msg(rc == CURSUS_PERMFAIL, "%s: accepted", c->in);
    ck_assert_msg(strstr(error, c->error) != NULL, "%s: error \"%s\" lacks \"%s\"",
                  c->in, error, c->error);
    g_free(error);
  }
}
END_TEST

START_TEST(parse_lengths) {
  addr *a = NULL;
  char *error = NULL;
  GString *s = g_string_new("joe@");
  for (int i = 0; i < 5; i++)
    g_string_append(s, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
  g_string_append(s, "example");
  ck_assert_int_eq(addr_parse(s->str, -1, 0, &a, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "longer than 255"));
  g_free(error);
  g_string_assign(s, "");
  for (int i = 0; i < 1100; i++)
    g_string_append_c(s, 'a');
  g_string_append(s, "@x.com");
  ck_assert_int_eq(addr_parse(s->str, -1, 0, &a, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "longer than 1024"));
  g_free(error);
  g_string_assign(s, "");
  for (int i = 0; i < 20; i++)
    g_string_append_printf(s, "%s@h%d.example", i > 0 ? "," : "", i);
  g_string_append(s, ":joe@x.com");
  ck_assert_int_eq(addr_parse(s->str, -1, ROUTE, &a, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "hops"));
  g_free(error);
  /* an embedded NUL */
  ck_assert_int_eq(addr_parse("joe@x\0.com", 10, 0, &a, &error),
                   CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "NUL"));
  g_free(error);
  g_string_free(s, TRUE);
}
END_TEST

typedef struct pathcase {
  const char *arg;
  unsigned flags;
  const char *address; /* "" for <>, NULL when refused */
  const char *params;
  const char *error;
} pathcase;

static const pathcase path_cases[] = {
    {"<joe@example.com>", 0, "joe@example.com", "", NULL},
    {"<joe@example.com> SIZE=1000 BODY=8BITMIME", 0, "joe@example.com",
     "SIZE=1000 BODY=8BITMIME", NULL},
    {" <joe@example.com>", 0, "joe@example.com", "", NULL},
    {"<joe@example.com>  SIZE=1", 0, "joe@example.com", "SIZE=1", NULL},
    {"<>", ADDR_NULL_OK, "", "", NULL},
    {"<> SIZE=10", ADDR_NULL_OK, "", "SIZE=10", NULL},
    {"<>", 0, NULL, NULL, "null path"},
    {"<postmaster>", ADDR_POSTMASTER, "postmaster", "", NULL},
    {"<PostMaster>", ADDR_POSTMASTER, "PostMaster", "", NULL},
    {"<postmaster>", 0, NULL, NULL, "missing \"@domain\""},
    {"<joe>", ADDR_POSTMASTER, NULL, NULL, "missing"},
    {"<@a.example,@b.example:joe@c.example>", 0,
     "@a.example,@b.example:joe@c.example", "", NULL},
    {"<\"a>b\"@example.com>", 0, "\"a>b\"@example.com", "", NULL},
    {"joe@example.com", 0, NULL, NULL, "enclosed in < >"},
    {"joe@example.com SIZE=1", ADDR_NO_BRACKETS, "joe@example.com", "SIZE=1",
     NULL},
    {"", 0, NULL, NULL, "missing path"},
    {"<joe@example.com", 0, NULL, NULL, "no closing '>'"},
    {"<joe@example.com>x", 0, NULL, NULL, "unexpected text"},
    {"<joe@@example.com>", 0, NULL, NULL, "'@'"},
    {"<jöe@example.com>", 0, NULL, NULL, "SMTPUTF8"},
    {"<jöe@example.com> SMTPUTF8", ADDR_UTF8, "jöe@example.com", "SMTPUTF8",
     NULL},
    {"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com>",
     0, NULL, NULL, "longer than 64"},
};

START_TEST(path_table) {
  const pathcase *c = &path_cases[_i];
  addr_path p;
  char *error = NULL;
  int rc = addr_parse_path(c->arg, c->flags, &p, &error);
  if (c->address != NULL) {
    ck_assert_msg(rc == CURSUS_OK, "%s: refused: %s", c->arg, error);
    char *f = p.address != NULL ? addr_format(p.address) : g_strdup("");
    ck_assert_str_eq(f, c->address);
    ck_assert_str_eq(p.params, c->params);
    g_free(f);
    addr_free(&p.address);
  } else {
    ck_assert_msg(rc == CURSUS_PERMFAIL, "%s: accepted", c->arg);
    ck_assert_msg(strstr(error, c->error) != NULL, "%s: \"%s\" lacks \"%s\"",
                  c->arg, error, c->error);
    g_free(error);
  }
}
END_TEST

START_TEST(path_too_long) {
  GString *s = g_string_new("<");
  for (int i = 0; i < 4; i++)
    g_string_append(s, "@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ex,");
  g_string_truncate(s, s->len - 1);
  g_string_append(s, ":joe@example.com>");
  addr_path p;
  char *error = NULL;
  ck_assert_int_eq(addr_parse_path(s->str, 0, &p, &error), CURSUS_PERMFAIL);
  ck_assert_ptr_nonnull(strstr(error, "longer than 256"));
  g_free(error);
  g_string_free(s, TRUE);
}
END_TEST

START_TEST(format_local) {
  char *s = addr_format_local("joe", false);
  ck_assert_str_eq(s, "joe");
  g_free(s);
  s = addr_format_local("joe", true);
  ck_assert_str_eq(s, "\"joe\"");
  g_free(s);
  s = addr_format_local("a b", false);
  ck_assert_str_eq(s, "\"a b\"");
  g_free(s);
  s = addr_format_local("a\"b\\c", false);
  ck_assert_str_eq(s, "\"a\\\"b\\\\c\"");
  g_free(s);
  s = addr_format_local("", false);
  ck_assert_str_eq(s, "\"\"");
  g_free(s);
  ck_assert(addr_local_is_dot_atom("a.b", 3));
  ck_assert(!addr_local_is_dot_atom("a..b", 4));
  s = addr_domain_to_unicode("xn--bcher-kva.example");
  ck_assert_str_eq(s, "bücher.example");
  g_free(s);
  addr *a = addr_new("x", false, "y.example");
  addr *b = addr_copy(a);
  char *f = addr_format(b);
  ck_assert_str_eq(f, "x@y.example");
  g_free(f);
  addr_free(&a);
  addr_free(&b);
}
END_TEST

static char *upper_spec(void *data, const char *spec) {
  int *count = data;
  (*count)++;
  return g_ascii_strup(spec, -1);
}

typedef struct lcase {
  const char *in;
  const char *out;
  int specs;
} lcase;

static const lcase list_cases[] = {
    {"joe@x.com", "JOE@X.COM", 1},
    {"Joe <joe@x.com>", "Joe <JOE@X.COM>", 1},
    {"\"Smith, Joe\" <joe@x.com>, ann@y.com", "\"Smith, Joe\" <JOE@X.COM>, ANN@Y.COM",
     2},
    {"joe@x.com (Joe, the boss)", "JOE@X.COM (Joe, the boss)", 1},
    {"(c) joe@x.com", "(c) JOE@X.COM", 1},
    {"Team: a@x.com, b@y.com;, c@z.com", "Team: A@X.COM, B@Y.COM;, C@Z.COM", 3},
    {"undisclosed-recipients:;", "undisclosed-recipients:;", 0},
    {"<@r.example:joe@x.com>", "<@R.EXAMPLE:JOE@X.COM>", 1},
    {"\"a <b@c>\" <d@e>", "\"a <b@c>\" <D@E>", 1},
    {"  ,  joe@x.com , ", "  ,  JOE@X.COM , ", 1},
    {"Joe < joe@x.com >", "Joe < JOE@X.COM >", 1},
};

START_TEST(list_table) {
  const lcase *c = &list_cases[_i];
  int count = 0;
  char *out = NULL, *error = NULL;
  ck_assert_int_eq(addrlist_map(c->in, upper_spec, &count, &out, &error),
                   CURSUS_OK);
  ck_assert_str_eq(out, c->out);
  ck_assert_int_eq(count, c->specs);
  g_free(out);
}
END_TEST

START_TEST(list_malformed) {
  static const char *const bad[] = {"\"unterminated", "a (b", "a <b@c",
                                    "x <\"a>"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *out = NULL, *error = NULL;
    ck_assert_int_eq(addrlist_map(bad[i], upper_spec, &(int){0}, &out, &error),
                     CURSUS_PERMFAIL);
    g_free(error);
    ck_assert_ptr_null(addrlist_specs(bad[i]));
  }
  GPtrArray *s = addrlist_specs("A <a@x>, b@y (B)");
  ck_assert_uint_eq(s->len, 2);
  ck_assert_str_eq(s->pdata[0], "a@x");
  ck_assert_str_eq(s->pdata[1], "b@y");
  g_ptr_array_free(s, TRUE);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("addr");
  TCase *tc = tcase_create("addr");
  tcase_add_loop_test(tc, parse_table, 0, G_N_ELEMENTS(parse_cases));
  tcase_add_test(tc, parse_lengths);
  tcase_add_loop_test(tc, path_table, 0, G_N_ELEMENTS(path_cases));
  tcase_add_test(tc, path_too_long);
  tcase_add_test(tc, format_local);
  tcase_add_loop_test(tc, list_table, 0, G_N_ELEMENTS(list_cases));
  tcase_add_test(tc, list_malformed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return rwtest_run(suite(), false); }
