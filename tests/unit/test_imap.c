/*
 * test_imap.c - the IMAP module's grammar: modified UTF-7, the command
 * parser, the command reader with literals and limits, FETCH and SEARCH
 * arguments, base subjects; tables of inputs with the exact results
 */
#include "build-config.h"
#include "../../modules/proto_imap/imap.h"
#include "../../modules/proto_imap/imap-fetch.h"
#include "../../modules/proto_imap/imap-sort.h"
#include "../../modules/proto_imap/imap-utf7.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ UTF-7 */

static const struct {
  const char *utf8;
  const char *utf7;
} utf7_pairs[] = {
    {"INBOX", "INBOX"},
    {"A&B", "A&-B"},
    {"&", "&-"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail"},
    {"\xc3\xa9&\xc3\xa9", "&AOk-&-&AOk-"},
};

START_TEST(test_utf7_pairs) {
  for (size_t i = 0; i < G_N_ELEMENTS(utf7_pairs); i++) {
    GString *out = g_string_new(NULL);
    ck_assert(imap_utf7_encode(utf7_pairs[i].utf8, strlen(utf7_pairs[i].utf8),
                               out));
    ck_assert_str_eq(out->str, utf7_pairs[i].utf7);
    g_string_truncate(out, 0);
    ck_assert(imap_utf7_decode(utf7_pairs[i].utf7, strlen(utf7_pairs[i].utf7),
                               out));
    ck_assert_str_eq(out->str, utf7_pairs[i].utf8);
    g_string_free(out, TRUE);
  }
}
END_TEST

START_TEST(test_utf7_invalid) {
  static const char *const bad[] = {
      "&",            /* unterminated */
      "&AOk",         /* unterminated */
      "&AGE-",        /* encodes printable "a" */
      "&AOk-&AOk-",   /* two adjacent shift sequences */
      "&2D0-",        /* lone high surrogate */
      "&3ec-",        /* lone low surrogate */
      "&AO!-",        /* not base64 */
      "&AOl-",        /* non-zero padding bits */
      "caf\xc3\xa9",  /* raw 8-bit */
      "a\tb",         /* control character */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    GString *out = g_string_new("x");
    ck_assert_msg(!imap_utf7_decode(bad[i], strlen(bad[i]), out),
                  "accepted %s", bad[i]);
    ck_assert_str_eq(out->str, "x");
    g_string_free(out, TRUE);
  }
  GString *out = g_string_new(NULL);
  ck_assert(!imap_utf7_encode("\xff", 1, out));
  g_string_free(out, TRUE);
}
END_TEST

/* ------------------------------------------------------------ parser */

static imap_parser ip;

static void parse_init(const char *text) {
  imap_parser_init(&ip, text, strlen(text));
}

START_TEST(test_parser_strings) {
  const char *s;
  parse_init("atom \"quo\\\"ted\\\\\" {5}\r\nhe\"lo NIL {0+}\r\n");
  ck_assert(imap_parse_astring(&ip, &s));
  ck_assert_str_eq(s, "atom");
  ck_assert(imap_parse_sp(&ip));
  ck_assert(imap_parse_astring(&ip, &s));
  ck_assert_str_eq(s, "quo\"ted\\");
  ck_assert(imap_parse_sp(&ip));
  ck_assert(imap_parse_astring(&ip, &s));
  ck_assert_str_eq(s, "he\"lo");
  ck_assert(imap_parse_sp(&ip));
  ck_assert(imap_parse_nstring(&ip, &s));
  ck_assert_ptr_null(s);
  ck_assert(imap_parse_sp(&ip));
  ck_assert(imap_parse_string(&ip, &s));
  ck_assert_str_eq(s, "");
  ck_assert(imap_parse_end(&ip));
  imap_parser_clear(&ip);

  static const char *const bad[] = {
      "\"unterminated", "\"bad\\escape\"", "{5}\r\nabc", "{x}\r\nabc",
      "{3}abc",         "(paren",          "",          "{99999999999999999999}\r\n",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    parse_init(bad[i]);
    ck_assert_msg(!imap_parse_astring(&ip, &s), "accepted %s", bad[i]);
    ck_assert_ptr_nonnull(ip.error);
    imap_parser_clear(&ip);
  }
  /* NUL in a literal needs literal8 */
  static const char nul[] = "{3}\r\na\0b";
  imap_parser_init(&ip, nul, sizeof(nul) - 1);
  ck_assert(!imap_parse_astring(&ip, &s));
  imap_parser_clear(&ip);
  size_t len;
  static const char nul8[] = "~{3}\r\na\0b";
  imap_parser_init(&ip, nul8, sizeof(nul8) - 1);
  ck_assert(imap_parse_literal8(&ip, &s, &len));
  ck_assert_uint_eq(len, 3);
  ck_assert(memcmp(s, "a\0b", 3) == 0);
  imap_parser_clear(&ip);
}
END_TEST

START_TEST(test_parser_numbers_sets) {
  uint32_t n;
  uint64_t n64;
  imap_seqset set;
  parse_init("4294967295 4294967296 0 9223372036854775807 1:3,5,*:7,$");
  ck_assert(imap_parse_number(&ip, &n));
  ck_assert_uint_eq(n, 4294967295u);
  ck_assert(imap_parse_sp(&ip));
  ck_assert(!imap_parse_number(&ip, &n));
  imap_parser_clear(&ip);

  parse_init("0");
  ck_assert(!imap_parse_nz_number(&ip, &n));
  imap_parser_clear(&ip);
  parse_init("9223372036854775807");
  ck_assert(imap_parse_number64(&ip, &n64));
  ck_assert(n64 == 9223372036854775807ull);
  imap_parser_clear(&ip);
  parse_init("9223372036854775808");
  ck_assert(!imap_parse_number64(&ip, &n64));
  imap_parser_clear(&ip);

  parse_init("1:3,5,*:7");
  ck_assert(imap_parse_seqset(&ip, false, &set));
  ck_assert_uint_eq(set.ranges->len, 3);
  ck_assert_uint_eq(g_array_index(set.ranges, imap_range, 2).first, 0);
  ck_assert_uint_eq(g_array_index(set.ranges, imap_range, 2).last, 7);
  ck_assert(imap_parse_end(&ip));
  imap_parser_clear(&ip);

  static const char *const bad[] = {"0:3", "1:", ",1", "1,,2", "a", "1:0"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    parse_init(bad[i]);
    bool ok = imap_parse_seqset(&ip, false, &set) && imap_parse_end(&ip);
    ck_assert_msg(!ok, "accepted %s", bad[i]);
    imap_parser_clear(&ip);
  }
  parse_init("$");
  ck_assert(!imap_parse_seqset(&ip, false, &set));
  imap_parser_clear(&ip);
  parse_init("$");
  ck_assert(imap_parse_seqset(&ip, true, &set) && set.saved);
  imap_parser_clear(&ip);
}
END_TEST

START_TEST(test_parser_dates) {
  int64_t t, days;
  int32_t tz;
  parse_init("\"17-Jul-1996 02:44:25 -0700\"");
  ck_assert(imap_parse_date_time(&ip, &t, &tz));
  ck_assert_int_eq(t, 837596665);
  ck_assert_int_eq(tz, -420);
  imap_parser_clear(&ip);
  parse_init("\" 1-Jan-2000 00:00:00 +0000\"");
  ck_assert(imap_parse_date_time(&ip, &t, &tz));
  ck_assert_int_eq(t, 946684800);
  imap_parser_clear(&ip);
  parse_init("1-Feb-1970");
  ck_assert(imap_parse_date(&ip, &days));
  ck_assert_int_eq(days, 31);
  imap_parser_clear(&ip);
  parse_init("\"29-Feb-2024\"");
  ck_assert(imap_parse_date(&ip, &days));
  imap_parser_clear(&ip);
  static const char *const bad[] = {"30-Feb-2024", "29-Feb-2023", "1-Foo-2000",
                                    "1-Jan-00",    "32-Jan-2000", "\"1-Jan-2000"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    parse_init(bad[i]);
    ck_assert_msg(!imap_parse_date(&ip, &days), "accepted %s", bad[i]);
    imap_parser_clear(&ip);
  }
  static const char *const badtime[] = {
      "\"17-Jul-1996 24:00:00 -0700\"", "\"17-Jul-1996 02:44:25 0700\"",
      "\"17-Jul-1996 02:44 -0700\"", "17-Jul-1996 02:44:25 -0700"};
  for (size_t i = 0; i < G_N_ELEMENTS(badtime); i++) {
    parse_init(badtime[i]);
    ck_assert_msg(!imap_parse_date_time(&ip, &t, &tz), "accepted %s",
                  badtime[i]);
    imap_parser_clear(&ip);
  }
}
END_TEST

START_TEST(test_parser_mailbox) {
  const char *name;
  parse_init("inbox");
  ck_assert(imap_parse_mailbox(&ip, &name));
  ck_assert_str_eq(name, "INBOX");
  imap_parser_clear(&ip);
  parse_init("\"Entw&APw-rfe\"");
  ck_assert(imap_parse_mailbox(&ip, &name));
  ck_assert_str_eq(name, "Entw\xc3\xbcrfe");
  imap_parser_clear(&ip);
  parse_init("\"bad&AGE-\"");
  ck_assert(!imap_parse_mailbox(&ip, &name));
  imap_parser_clear(&ip);
  parse_init("\"Entw\xc3\xbcrfe\"");
  ip.utf8_names = true;
  ck_assert(imap_parse_mailbox(&ip, &name));
  ck_assert_str_eq(name, "Entw\xc3\xbcrfe");
  imap_parser_clear(&ip);
  parse_init("\"\"");
  ck_assert(!imap_parse_mailbox(&ip, &name));
  imap_parser_clear(&ip);
}
END_TEST

START_TEST(test_literal_marker) {
  uint64_t size;
  bool sync, binary;
  size_t mlen;
  ck_assert(imap_literal_marker("a LOGIN {5}", 11, &size, &sync, &binary, &mlen));
  ck_assert(size == 5 && sync && !binary && mlen == 3);
  ck_assert(imap_literal_marker("a APPEND x ~{12+}", 17, &size, &sync, &binary,
                                &mlen));
  ck_assert(size == 12 && !sync && binary && mlen == 6);
  ck_assert(!imap_literal_marker("a NOOP", 6, &size, &sync, &binary, &mlen));
  ck_assert(!imap_literal_marker("a {}", 4, &size, &sync, &binary, &mlen));
  ck_assert(!imap_literal_marker("}", 1, &size, &sync, &binary, &mlen));
}
END_TEST

/* ------------------------------------------------------------ reader */

START_TEST(test_reader_literals) {
  imap_reader r = {.max_literal = 100, .max_command = 200};
  imap_reader_result res;
  ck_assert_int_eq(imap_reader_line(&r, "a LOGIN {3}", 11, 0),
                   IMAP_READER_LITERAL);
  ck_assert(r.lit_sync);
  ck_assert_int_eq(imap_reader_accept_literal(&r), IMAP_READER_MORE);
  ck_assert_uint_eq(imap_reader_bytes(&r, "joe and more", 12, &res), 3);
  ck_assert_int_eq(res, IMAP_READER_LITERAL_DONE);
  ck_assert_int_eq(imap_reader_line(&r, " secret", 7, 0), IMAP_READER_COMMAND);
  GString *cmd = imap_reader_take(&r);
  ck_assert_str_eq(cmd->str, "a LOGIN {3}\r\njoe secret");
  g_string_free(cmd, TRUE);

  /* a synchronising literal over the limit is refused before it comes */
  ck_assert_int_eq(imap_reader_line(&r, "b LOGIN {101}", 13, 0),
                   IMAP_READER_LITERAL);
  ck_assert_int_eq(imap_reader_accept_literal(&r), IMAP_READER_ERROR);
  ck_assert(r.toobig);
  char *tag = imap_reader_tag(&r);
  ck_assert_str_eq(tag, "b");
  g_free(tag);
  imap_reader_reset(&r);

  /* a non-synchronising one is read and thrown away, then refused */
  ck_assert_int_eq(imap_reader_line(&r, "c LOGIN {150+}", 14, 0),
                   IMAP_READER_LITERAL);
  ck_assert_int_eq(imap_reader_accept_literal(&r), IMAP_READER_MORE);
  ck_assert(r.discarding);
  char junk[150];
  memset(junk, 'x', sizeof(junk));
  ck_assert_uint_eq(imap_reader_bytes(&r, junk, sizeof(junk), &res), 150);
  ck_assert_int_eq(res, IMAP_READER_LITERAL_DONE);
  ck_assert_int_eq(imap_reader_line(&r, " pw", 3, 0), IMAP_READER_ERROR);
  ck_assert_str_eq(r.error, "literal too large");
  imap_reader_reset(&r);

  /* the whole command is bounded too */
  char long_line[190];
  memset(long_line, 'a', sizeof(long_line));
  memcpy(long_line, "d X ", 4);
  memcpy(long_line + sizeof(long_line) - 4, "{50}", 4);
  ck_assert_int_eq(imap_reader_line(&r, long_line, sizeof(long_line), 0),
                   IMAP_READER_LITERAL);
  ck_assert_int_eq(imap_reader_accept_literal(&r), IMAP_READER_ERROR);
  imap_reader_reset(&r);

  /* an over-long line ends the command at once */
  ck_assert_int_eq(imap_reader_line(&r, "e NOOP", 6, CURSUS_LINE_TOO_LONG),
                   IMAP_READER_ERROR);
  imap_reader_reset(&r);
}
END_TEST

/* ------------------------------------------------------------ FETCH */

static const struct {
  const char *args;
  const char *labels; /* the items' labels, space separated */
  bool seen;
} fetch_cases[] = {
    {" 1 FAST", "FLAGS INTERNALDATE RFC822.SIZE", false},
    {" 1:* ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE", false},
    {" 1 FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY", false},
    {" 1 (UID BODY[])", "UID BODY[]", true},
    {" 1 body.peek[header.fields (from To)]",
     "BODY[HEADER.FIELDS (FROM TO)]", false},
    {" 2 (BODY[1.2.MIME] BODY.PEEK[TEXT]<0.100>)", "BODY[1.2.MIME] BODY[TEXT]<0>",
     true},
    {" 2 (BINARY.PEEK[1]<5.10> BINARY.SIZE[2])", "BINARY[1]<5> BINARY.SIZE[2]",
     false},
    {" 3 (RFC822 RFC822.HEADER RFC822.TEXT)", "RFC822 RFC822.HEADER RFC822.TEXT",
     true},
    {" 4 (BODY.PEEK[2.HEADER.FIELDS.NOT (X-A)])",
     "BODY[2.HEADER.FIELDS.NOT (X-A)]", false},
    {" 1 (FLAGS) (CHANGEDSINCE 12345)", "FLAGS", false},
};

START_TEST(test_fetch_parse) {
  for (size_t i = 0; i < G_N_ELEMENTS(fetch_cases); i++) {
    fetch_args a;
    parse_init(fetch_cases[i].args);
    ck_assert_msg(imap_fetch_parse(&ip, false, &a), "%s: %s",
                  fetch_cases[i].args, ip.error);
    GString *labels = g_string_new(NULL);
    for (guint k = 0; k < a.atts->len; k++)
      g_string_append_printf(labels, "%s%s", k ? " " : "",
                             g_array_index(a.atts, fetch_att, k).label);
    ck_assert_str_eq(labels->str, fetch_cases[i].labels);
    ck_assert_int_eq(a.sets_seen, fetch_cases[i].seen);
    g_string_free(labels, TRUE);
    imap_parser_clear(&ip);
  }
  static const char *const bad[] = {
      " 1 (BODY[HEADER.FIELDS ()])", " 1 BODY[1.MIME", " 1 (FOO)",
      " 1 BODY[MIME]", " 1 BINARY[TEXT]", " 1 BODY[]<1>", " 1 BODY[]<0.0>",
      " 1 (FLAGS) (VANISHED)", " 1", " 1 (FLAGS) (CHANGEDSINCE 0)",
      " 0 FLAGS", " 1 (FLAGS",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    fetch_args a;
    parse_init(bad[i]);
    ck_assert_msg(!imap_fetch_parse(&ip, false, &a), "accepted %s", bad[i]);
    imap_parser_clear(&ip);
  }
  /* UID FETCH adds UID; VANISHED only there */
  fetch_args a;
  parse_init(" 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)");
  ck_assert(imap_fetch_parse(&ip, true, &a));
  ck_assert(a.vanished && a.changedsince == 5);
  ck_assert_str_eq(g_array_index(a.atts, fetch_att, 0).label, "UID");
  imap_parser_clear(&ip);
}
END_TEST

/* ------------------------------------------------------------ SEARCH */

/* describe - a compact text of a parsed search tree */
static void describe(GString *out, const imap_search_key *k) {
  g_string_append_printf(out, "%d", (int)k->key);
  if (k->field != NULL)
    g_string_append_printf(out, ":%s", k->field);
  if (k->value != NULL)
    g_string_append_printf(out, "=%s", k->value);
  if (k->number != 0)
    g_string_append_printf(out, "#%" G_GINT64_FORMAT, k->number);
  if (k->children != NULL) {
    g_string_append_c(out, '(');
    for (guint i = 0; i < k->children->len; i++) {
      if (i)
        g_string_append_c(out, ' ');
      describe(out, g_array_index(k->children, imap_search_key *, i));
    }
    g_string_append_c(out, ')');
  }
}

START_TEST(test_search_parse) {
  static const struct {
    const char *args;
    const char *tree;
  } cases[] = {
      {" ALL", "1(0)"},
      {" FROM joe SUBJECT \"hi there\"", "1(19:From=joe 19:Subject=hi there)"},
      {" OR SEEN NOT DELETED", "1(2(5#1 3(5#8)))"},
      {" NEW", "1(1(5#32 6#1))"},
      {" (LARGER 100 SMALLER 2000) HEADER X-Foo \"\"",
       "1(1(17#100 18#2000) 19:X-Foo=)"},
      {" SINCE 1-Feb-1970 KEYWORD $Junk", "1(11#31 7=$Junk)"},
      {" CHARSET UTF-8 BODY \"caf\xc3\xa9\"", "1(20=caf\xc3\xa9)"},
      {" CHARSET UTF-8 TEXT {5}\r\ncaf\xc3\xa9", "1(21=caf\xc3\xa9)"},
      {" MODSEQ \"/flags/\\\\draft\" all 620162338", "1(22#620162338)"},
      {" RETURN (MIN COUNT) UNSEEN", "1(6#1)"},
      {" OLDER 3600 YOUNGER 60", "1(15#3600 16#60)"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    search_args a;
    parse_init(cases[i].args);
    ck_assert_msg(imap_search_parse(&ip, &a), "%s: %s", cases[i].args,
                  ip.error);
    GString *t = g_string_new(NULL);
    describe(t, a.root);
    ck_assert_str_eq(t->str, cases[i].tree);
    g_string_free(t, TRUE);
    imap_parser_clear(&ip);
  }
  static const char *const bad[] = {
      " FOO", " FROM", " OR SEEN", " NOT", " ()", " BEFORE 1-Jan",
      " RETURN (BOGUS) ALL", " KEYWORD \\Bogus", " OLDER 0", "",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    search_args a;
    parse_init(bad[i]);
    ck_assert_msg(!imap_search_parse(&ip, &a), "accepted %s", bad[i]);
    imap_parser_clear(&ip);
  }
  /* nesting is bounded */
  GString *deep = g_string_new(" ");
  for (int i = 0; i < 1000; i++)
    g_string_append(deep, "NOT ");
  g_string_append(deep, "ALL");
  search_args a;
  parse_init(deep->str);
  ck_assert(!imap_search_parse(&ip, &a));
  imap_parser_clear(&ip);
  g_string_free(deep, TRUE);
}
END_TEST

/* ------------------------------------------------------------ subjects */

START_TEST(test_base_subject) {
  static const struct {
    const char *in, *out;
    bool reply;
  } cases[] = {
      {"Hello", "Hello", false},
      {"Re: Hello", "Hello", true},
      {"RE: re:  Fwd: Hello", "Hello", true},
      {"[list] Re: Hello", "Hello", true},
      {"Hello (fwd)", "Hello", true},
      {"[Fwd: Re: Hello]", "Hello", true},
      {"[list]", "[list]", false},
      {"  Hello \t world  ", "Hello world", false},
      {"Re [foo]: Hi", "Hi", true},
      {"", "", false},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    bool reply;
    char *b = imap_base_subject(cases[i].in, &reply);
    ck_assert_msg(strcmp(b, cases[i].out) == 0, "\"%s\" -> \"%s\"",
                  cases[i].in, b);
    ck_assert_int_eq(reply, cases[i].reply);
    g_free(b);
  }
  ck_assert_int_lt(imap_casemap_cmp("abc", "ABD"), 0);
  ck_assert_int_eq(imap_casemap_cmp("abc", "ABC"), 0);
  ck_assert_int_eq(imap_casemap_cmp(NULL, ""), 0);
}
END_TEST

static Suite *imap_suite(void) {
  Suite *s = suite_create("imap");
  TCase *tc = tcase_create("grammar");
  tcase_add_test(tc, test_utf7_pairs);
  tcase_add_test(tc, test_utf7_invalid);
  tcase_add_test(tc, test_parser_strings);
  tcase_add_test(tc, test_parser_numbers_sets);
  tcase_add_test(tc, test_parser_dates);
  tcase_add_test(tc, test_parser_mailbox);
  tcase_add_test(tc, test_literal_marker);
  tcase_add_test(tc, test_reader_literals);
  tcase_add_test(tc, test_fetch_parse);
  tcase_add_test(tc, test_search_parse);
  tcase_add_test(tc, test_base_subject);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(imap_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
