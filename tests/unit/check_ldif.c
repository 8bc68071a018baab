/*
 * check_ldif.c - unit tests of dir_ldif's parts: the LDIF reader and
 * writer, DN handling, search filters, and the reference-counted entries
 * the directory modules share
 */
#include "direntry/direntry.h"
#include "filter.h"
#include "ldif.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char sample[] =
    "# leading comment\n"
    "version: 1\n"
    "\n"
    "dn: o=cursus\n"
    "objectClass: organization\n"
    "o: cursus\n"
    "\n"
    "# about joe\n"
    "dn: uid=joe, o=cursus\n"
    "changetype: add\n"
    "objectClass: inetOrgPerson\n"
    "cn:: Sm/DqyBEdXJhbmQ=\n"
    "description: a long value that is\n"
    "  folded\n"
    "jpegPhoto:: /9j/4AAQ\n"
    "\n"
    "# trailing comment\n";

START_TEST(test_parse_sample) {
  char *error = NULL;
  ldif_file *f = ldif_parse("t.ldif", sample, strlen(sample), &error);
  ck_assert_msg(f != NULL, "%s", error);
  ck_assert_uint_eq(f->records->len, 2);
  ldif_record *joe = f->records->pdata[1];
  ck_assert_str_eq(joe->ndn, "uid=joe,o=cursus");
  ck_assert_uint_eq(joe->line, 9);
  ck_assert_str_eq(joe->lead, "\n# about joe\n");
  ck_assert_uint_eq(joe->values->len, 4);
  ldif_value *cn = &g_array_index(joe->values, ldif_value, 1);
  ck_assert_str_eq(cn->value, "Joë Durand");
  ck_assert(!cn->binary);
  ldif_value *desc = &g_array_index(joe->values, ldif_value, 2);
  ck_assert_str_eq(desc->value, "a long value that is folded");
  ck_assert_uint_eq(desc->line, 13);
  ck_assert(g_array_index(joe->values, ldif_value, 3).binary);
  ck_assert_str_eq(f->trailer, "\n# trailing comment\n");
  /* unchanged records are written back as they were read */
  size_t len;
  char *out = ldif_write_file(f, &len);
  ck_assert_str_eq(out, sample);
  g_free(out);
  ldif_file_free(&f);
}
END_TEST

START_TEST(test_write_changed) {
  char *error = NULL;
  ldif_file *f = ldif_parse("t.ldif", sample, strlen(sample), &error);
  ldif_record *joe = f->records->pdata[1];
  g_free(joe->source);
  joe->source = NULL;
  ldif_record *r = ldif_record_new("uid=ann,o=cursus", "uid=ann,o=cursus");
  ldif_record_add(r, "objectClass", "inetOrgPerson");
  ldif_record_add(r, "cn", " leading space");
  ldif_record_add(r, "sn", "Ünïcode");
  char *long_value = g_strnfill(200, 'z');
  ldif_record_add(r, "description", long_value);
  g_ptr_array_add(f->records, r);
  size_t len;
  char *out = ldif_write_file(f, &len);
  /* the changed record keeps its comment; values that need it are base64 */
  ck_assert_ptr_nonnull(strstr(out, "# about joe\ndn: uid=joe, o=cursus\n"));
  ck_assert_ptr_nonnull(strstr(out, "jpegPhoto:: /9j/4AAQ\n"));
  ck_assert_ptr_nonnull(strstr(out, "cn:: IGxlYWRpbmcgc3BhY2U=\n"));
  ck_assert_ptr_null(strstr(out, "sn: "));
  for (char *line = out; line != NULL && *line; line = strchr(line, '\n')) {
    if (*line == '\n')
      line++;
    size_t n = strcspn(line, "\n");
    ck_assert_uint_le(n, 77);
  }
  /* and it all reads back to the same values */
  ldif_file *g = ldif_parse("t.ldif", out, len, &error);
  ck_assert_msg(g != NULL, "%s", error);
  ldif_record *ann = g->records->pdata[2];
  ck_assert_str_eq(g_array_index(ann->values, ldif_value, 1).value,
                   " leading space");
  ck_assert_str_eq(g_array_index(ann->values, ldif_value, 2).value, "Ünïcode");
  ck_assert_str_eq(g_array_index(ann->values, ldif_value, 3).value,
                   long_value);
  ldif_file_free(&g);
  g_free(long_value);
  g_free(out);
  ldif_file_free(&f);
}
END_TEST

static const struct {
  const char *text;
  const char *error; /* "line: text" */
} bad[] = {
    {"dn: o=x\nobjectClass: top\nno colon\n", "t.ldif:3: expected"},
    {"objectClass: top\n", "t.ldif:1: a record must start with \"dn:\""},
    {"dn: o=x\nobjectClass: top\ndn: o=y\n", "t.ldif:3: \"dn:\" inside"},
    {"dn: o=x\nobjectClass: top\n\ndn: o=x\nobjectClass: top\n",
     "t.ldif:4: entry o=x appears twice (first at line 1)"},
    {"dn: o=x\ncn: x\n", "t.ldif:1: entry o=x has no objectClass"},
    {"dn: ,,\nobjectClass: top\n", "t.ldif:1: \",,\" is not a valid DN"},
    {"dn:: !!\nobjectClass: top\n", "t.ldif:1: dn: invalid base64"},
    {"version: 2\n", "t.ldif:1: unsupported LDIF version"},
    {"dn: o=x\nchangetype: modify\n", "t.ldif:2: changetype modify"},
    {"dn: o=x\nobjectClass: top\nchangetype: add\n",
     "t.ldif:3: changetype must follow"},
    {"dn: o=x\ncontrol: 1.2.3\n", "t.ldif:2: LDIF controls"},
    {"dn: o=x\nfile:< file:///etc/passwd\n", "t.ldif:2: file: URL values"},
    {"dn: o=x\n1bad: y\n", "t.ldif:2: \"1bad\" is not a valid attribute"},
    {"dn: o=x\ncn;: y\n", "t.ldif:2: \"cn;\" is not a valid attribute"},
    {"dn: o=x\ncn: \xc3\x28\n", "t.ldif:2: cn: value is not valid UTF-8"},
    {"dn: o=x\nobjectClass: top\n\n\ndn: ou=y,ou=z,o=x\nobjectClass: top\n"
     "\ndn: ou=z,o=x\nobjectClass: top\n",
     "t.ldif:5: entry ou=y,ou=z,o=x comes before its parent ou=z,o=x (line 8)"},
};

START_TEST(test_parse_errors) {
  char *error = NULL;
  ldif_file *f = ldif_parse("t.ldif", bad[_i].text, strlen(bad[_i].text),
                            &error);
  ck_assert_msg(f == NULL, "accepted: %s", bad[_i].text);
  ck_assert_msg(g_str_has_prefix(error, bad[_i].error), "got %s, expected %s",
                error, bad[_i].error);
  g_free(error);
}
END_TEST

START_TEST(test_limits) {
  char *error = NULL;
  char *big = g_strnfill(LDIF_MAX_VALUE + 1, 'x');
  char *text = g_strdup_printf("dn: o=x\nobjectClass: top\ncn: %s\n", big);
  ck_assert_ptr_null(ldif_parse("t.ldif", text, strlen(text), &error));
  ck_assert_ptr_nonnull(strstr(error, "t.ldif:3: cn: value longer"));
  g_free(error);
  g_free(text);
  text = g_strdup("dn: o=x\nobjectClass: top\ncn: a\0b\n");
  ck_assert_ptr_null(ldif_parse("t.ldif", text, 33, &error));
  ck_assert_str_eq(error, "t.ldif:3: NUL character in the file");
  g_free(error);
  g_free(text);
  g_free(big);
  /* an empty file and a file of comments are fine */
  ldif_file *f = ldif_parse("t.ldif", "", 0, &error);
  ck_assert_uint_eq(f->records->len, 0);
  ldif_file_free(&f);
  f = ldif_parse("t.ldif", "# nothing\n", 10, &error);
  ck_assert_uint_eq(f->records->len, 0);
  ldif_file_free(&f);
}
END_TEST

START_TEST(test_dn) {
  char *error = NULL;
  char *n = ldif_normalize_dn("UID=Joe , OU=People,O=Example.COM", &error);
  ck_assert_str_eq(n, "uid=joe,ou=people,o=example.com");
  char *p = ldif_parent_dn(n);
  ck_assert_str_eq(p, "ou=people,o=example.com");
  ck_assert(ldif_dn_within(n, "o=example.com"));
  ck_assert(ldif_dn_within(n, n));
  ck_assert(ldif_dn_within(n, ""));
  ck_assert(!ldif_dn_within(n, "le.com"));
  ck_assert(!ldif_dn_within("o=example.com", n));
  char *esc = ldif_normalize_dn("cn=a\\,b,o=x", &error);
  char *ep = ldif_parent_dn(esc);
  ck_assert_str_eq(ep, "o=x");
  ck_assert_ptr_null(ldif_normalize_dn("", &error));
  g_free(error);
  g_free(n);
  g_free(p);
  g_free(esc);
  g_free(ep);
}
END_TEST

/* --------------------------------------------------------------- filters */

static cursus_entry *joe(void) {
  direntry_builder *b = direntry_builder_new("uid=joe,o=x");
  direntry_builder_add(b, "objectClass", "inetOrgPerson");
  direntry_builder_add(b, "objectclass", "inetMailUser");
  direntry_builder_add(b, "uid", "joe");
  direntry_builder_add(b, "mail", "Joe.Smith@Example.com");
  direntry_builder_add(b, "mailQuota", "1000");
  direntry_builder_add(b, "cn", "Jöe Smith (*)");
  return direntry_builder_finish(&b);
}

static const struct {
  const char *filter;
  bool match;
} filters[] = {
    {"(uid=joe)", true},
    {"uid=JOE", true},
    {"(objectClass=inetmailuser)", true},
    {"(uid=ann)", false},
    {"(mail=joe.smith@example.com)", true},
    {"(mail=joe*)", true},
    {"(mail=*@example.com)", true},
    {"(mail=*smith*)", true},
    {"(mail=j*s*m*h@*.com)", true},
    {"(mail=*smith)", false},
    {"(mail=joe.smith@example.com*)", true},
    {"(cn=jöe*)", true},
    {"(cn=*\\28\\2a\\29)", true},
    {"(cn=*\\2a*)", true},
    {"(mailQuota>=999)", true},
    {"(mailQuota>=1001)", false},
    {"(mailQuota<=1000)", true},
    {"(mailQuota>=10000)", false},
    {"(uid~=joe)", true},
    {"(mail=*)", true},
    {"(sn=*)", false},
    {"(&(uid=joe)(mail=*))", true},
    {"(&(uid=joe)(sn=*))", false},
    {"(|(uid=ann)(uid=joe))", true},
    {"(!(uid=joe))", false},
    {"(!(uid=ann))", true},
    {"(&)", true},
    {"(|)", false},
    {"(&(|(uid=a)(uid=joe))(!(|(mail=x)(mail=y))))", true},
};

START_TEST(test_filter_match) {
  char *error = NULL;
  filter *f = filter_parse(filters[_i].filter, &error);
  ck_assert_msg(f != NULL, "%s: %s", filters[_i].filter, error);
  cursus_entry *e = joe();
  ck_assert_msg(filter_match(f, e) == filters[_i].match, "%s",
                filters[_i].filter);
  direntry_unref(e);
  filter_free(&f);
}
END_TEST

static const char *const bad_filters[] = {
    "(uid=joe", "(uid=joe))", "((uid=joe)", "(=joe)", "(!(a=b)(c=d))",
    "(uid:dn:=joe)", "(cn=\\2)", "(cn=\\zz)", "(u id=x)", "(&(a=b)x)",
    "(cn=\\00)", "",
};

START_TEST(test_filter_errors) {
  char *error = NULL;
  filter *f = filter_parse(bad_filters[_i], &error);
  ck_assert_msg(f == NULL, "accepted %s", bad_filters[_i]);
  g_free(error);
}
END_TEST

START_TEST(test_filter_depth) {
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 10000; i++)
    g_string_append(deep, "(!");
  g_string_append(deep, "(a=b)");
  for (int i = 0; i < 10000; i++)
    g_string_append_c(deep, ')');
  char *error = NULL;
  ck_assert_ptr_null(filter_parse(deep->str, &error));
  ck_assert_ptr_nonnull(strstr(error, "nested too deeply"));
  g_free(error);
  g_string_free(deep, TRUE);
}
END_TEST

/* --------------------------------------------------------------- entries */

START_TEST(test_entries) {
  cursus_entry *e = joe();
  ck_assert_uint_eq(e->n_attrs, 5); /* objectClass twice: one attribute */
  ck_assert_uint_eq(cursus_entry_attr(e, "OBJECTCLASS")->n_values, 2);
  ck_assert_uint_eq(cursus_entry_kind_of(e), CURSUS_ENTRY_USER);
  cursus_entry *r = direntry_ref(e);
  ck_assert_ptr_eq(r, e);
  direntry_unref(r);
  cursus_mod mods[] = {
      {CURSUS_MOD_ADD, "mailAlternateAddress", 1,
       (const char *const[]){"js@example.com"}},
      {CURSUS_MOD_REPLACE, "cn", 1, (const char *const[]){"Joe"}},
      {CURSUS_MOD_DELETE, "mailQuota", 0, NULL},
  };
  cursus_entry *n = NULL;
  char *error = NULL;
  ck_assert(direntry_apply(e, mods, 3, &n, &error));
  ck_assert_str_eq(cursus_entry_value(n, "cn"), "Joe");
  ck_assert_ptr_null(cursus_entry_attr(n, "mailQuota"));
  ck_assert(cursus_entry_has(n, "mailAlternateAddress", "JS@example.com"));
  ck_assert_str_eq(cursus_entry_value(e, "cn"), "Jöe Smith (*)");
  cursus_mod bad_del = {CURSUS_MOD_DELETE, "uid", 1,
                        (const char *const[]){"ann"}};
  cursus_entry *m = NULL;
  ck_assert(!direntry_apply(e, &bad_del, 1, &m, &error));
  g_free(error);
  cursus_mod dup = {CURSUS_MOD_ADD, "uid", 1, (const char *const[]){"JOE"}};
  ck_assert(!direntry_apply(e, &dup, 1, &m, &error));
  g_free(error);
  char *base = NULL, *filt = NULL;
  int scope = -1;
  const char *why = NULL;
  ck_assert(direntry_url("ldap://h:1/ou=P,o=x??one?(uid=a)", &base, &scope,
                         &filt, &why));
  ck_assert_str_eq(base, "ou=P,o=x");
  ck_assert_int_eq(scope, CURSUS_SCOPE_ONE);
  ck_assert_str_eq(filt, "(uid=a)");
  g_free(base);
  g_free(filt);
  ck_assert(!direntry_url("http://x/", &base, &scope, &filt, &why));
  direntry_unref(n);
  direntry_unref(e);
}
END_TEST

static Suite *ldif_suite(void) {
  Suite *s = suite_create("ldif");
  TCase *tc = tcase_create("reader");
  tcase_add_test(tc, test_parse_sample);
  tcase_add_test(tc, test_write_changed);
  tcase_add_loop_test(tc, test_parse_errors, 0, G_N_ELEMENTS(bad));
  tcase_add_test(tc, test_limits);
  tcase_add_test(tc, test_dn);
  tcase_add_loop_test(tc, test_filter_match, 0, G_N_ELEMENTS(filters));
  tcase_add_loop_test(tc, test_filter_errors, 0, G_N_ELEMENTS(bad_filters));
  tcase_add_test(tc, test_filter_depth);
  tcase_add_test(tc, test_entries);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ldif_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
