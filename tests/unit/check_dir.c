/*
 * check_dir.c - unit tests of the pure parts of the directory and
 * authentication services: addresses, delivery option templates,
 * statuses, value checks, service access rules, password hashes, login
 * throttling, and the autoreply decision, message and memory
 */
#include "build-config.h"
#include "auth/passwd.h"
#include "auth/service.h"
#include "auth/throttle.h"
#include "dir/address.h"
#include "dir/arstate.h"
#include "dir/autoreply.h"
#include "dir/delivery.h"
#include "dir/status.h"
#include "dir/values.h"

#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ----------------------------------------------------------- entries */

/* entry - a cursus_entry from "name=value" strings (NULL-terminated);
 * freed with entry_free */
static cursus_entry *entry(const char *dn, ...) {
  cursus_entry *e = g_new0(cursus_entry, 1);
  GArray *attrs = g_array_new(FALSE, TRUE, sizeof(cursus_attr));
  va_list ap;
  va_start(ap, dn);
  for (const char *av = va_arg(ap, const char *); av != NULL;
       av = va_arg(ap, const char *)) {
    const char *eq = strchr(av, '=');
    char *name = g_strndup(av, (gsize)(eq - av));
    cursus_attr *a = NULL;
    for (guint i = 0; i < attrs->len; i++)
      if (strcmp(g_array_index(attrs, cursus_attr, i).name, name) == 0)
        a = &g_array_index(attrs, cursus_attr, i);
    if (a == NULL) {
      cursus_attr na = {g_intern_string(name), 0, NULL};
      g_array_append_val(attrs, na);
      a = &g_array_index(attrs, cursus_attr, attrs->len - 1);
    }
    const char **v = g_renew(const char *, (const char **)a->values,
                             a->n_values + 1);
    v[a->n_values++] = g_strdup(eq + 1);
    a->values = v;
    g_free(name);
  }
  va_end(ap);
  e->dn = g_strdup(dn);
  e->n_attrs = attrs->len;
  e->attrs = (cursus_attr *)g_array_free(attrs, FALSE);
  return e;
}

static void entry_free(cursus_entry *e) {
  for (size_t i = 0; i < e->n_attrs; i++) {
    for (size_t v = 0; v < e->attrs[i].n_values; v++)
      g_free((char *)e->attrs[i].values[v]);
    g_free((char **)e->attrs[i].values);
  }
  g_free((cursus_attr *)e->attrs);
  g_free((char *)e->dn);
  g_free(e);
}

/* ----------------------------------------------------------- addresses */

static const struct {
  const char *address;
  const char *local, *domain, *mailbox, *sub; /* NULL local: invalid */
} addr_cases[] = {
    {"joe@Example.COM", "joe", "example.com", "joe", NULL},
    {"joe+work@example.com", "joe+work", "example.com", "joe", "work"},
    {"j.o.e@example.com", "j.o.e", "example.com", "j.o.e", NULL},
    {"\"joe smith\"@example.com", "\"joe smith\"", "example.com",
     "\"joe smith\"", NULL},
    {"jöe@exämple.com", "jöe", "exämple.com", "jöe", NULL},
    {"+only@example.com", "+only", "example.com", "+only", NULL},
    {"joe@", NULL, NULL, NULL, NULL},
    {"@example.com", NULL, NULL, NULL, NULL},
    {"joe", NULL, NULL, NULL, NULL},
    {"jo e@example.com", NULL, NULL, NULL, NULL},
    {"joe.@example.com", NULL, NULL, NULL, NULL},
    {"a..b@example.com", NULL, NULL, NULL, NULL},
    {"joe@-example.com", NULL, NULL, NULL, NULL},
    {"joe@example..com", NULL, NULL, NULL, NULL},
    {"joe@exa_mple.com", NULL, NULL, NULL, NULL},
    {"joe(x)@example.com", NULL, NULL, NULL, NULL},
    {"\"unterminated@example.com", NULL, NULL, NULL, NULL},
    {"@relay:joe@example.com", NULL, NULL, NULL, NULL},
};

START_TEST(test_address_parse) {
  dir_addr a;
  char *error = NULL;
  bool ok = dir_addr_parse(addr_cases[_i].address, "+", &a, &error);
  if (addr_cases[_i].local == NULL) {
    ck_assert_msg(!ok, "%s parsed", addr_cases[_i].address);
    ck_assert_ptr_nonnull(error);
    g_free(error);
    return;
  }
  ck_assert_msg(ok, "%s: %s", addr_cases[_i].address, error);
  ck_assert_str_eq(a.local, addr_cases[_i].local);
  ck_assert_str_eq(a.domain, addr_cases[_i].domain);
  ck_assert_str_eq(a.mailbox, addr_cases[_i].mailbox);
  if (addr_cases[_i].sub == NULL)
    ck_assert_ptr_null(a.subaddress);
  else
    ck_assert_str_eq(a.subaddress, addr_cases[_i].sub);
  dir_addr_clear(&a);
}
END_TEST

START_TEST(test_address_limits) {
  char *error = NULL;
  char *local = g_strnfill(65, 'a');
  char *addr = g_strdup_printf("%s@example.com", local);
  ck_assert(!dir_addr_check(addr, false, &error));
  ck_assert_ptr_nonnull(strstr(error, "64 octets"));
  g_free(error);
  ck_assert(dir_addr_check("@example.com", true, &error));
  ck_assert(!dir_addr_check("@example.com", false, &error));
  g_free(error);
  char *label = g_strnfill(64, 'b');
  char *domain = g_strdup_printf("%s.com", label);
  ck_assert(!dir_domain_check(domain, &error));
  g_free(error);
  ck_assert(dir_addr_equal("Joe@Example.com", "joe@example.COM"));
  ck_assert(!dir_addr_equal("joe@example.com", "joe@example.org"));
  g_free(local);
  g_free(addr);
  g_free(label);
  g_free(domain);
}
END_TEST

/* ---------------------------------------------------- delivery options */

static const char *const default_options =
    "*mailbox=$M%$\\$2I$_+$2S@ims-ms-daemon, &members=*, "
    "/hold=@hold-daemon:$A, #forward=**, program=$M%$P@pipe-daemon, "
    "*^!autoreply=@autoreply-daemon:$A";

START_TEST(test_delivery_templates) {
  char *error = NULL;
  dopt_table *t = dopt_table_parse(default_options, &error);
  ck_assert_msg(t != NULL, "%s", error);
  const dopt *mb = dopt_find(t, "MAILBOX", DOPT_USERS);
  ck_assert_ptr_nonnull(mb);
  ck_assert_ptr_null(dopt_find(t, "mailbox", DOPT_GROUPS));
  ck_assert_str_eq(dopt_default(t, DOPT_USERS)->name, "mailbox");
  ck_assert_str_eq(dopt_default(t, DOPT_GROUPS)->name, "members");
  ck_assert_str_eq(dopt_hold(t)->name, "hold");
  ck_assert(dopt_find(t, "forward", DOPT_USERS)->flags & DOPT_ANY_HOST);
  const dopt *ar = dopt_find(t, "autoreply", DOPT_USERS);
  ck_assert(ar->flags & DOPT_DATES && ar->flags & DOPT_NOT_NULL);

  dopt_vars v = {.address = "Joe+X@Example.org", .uid = "joe",
                 .hosted = "Example.ORG", .subaddress = "X"};
  char *s = dopt_expand(mb->template, &v);
  ck_assert_str_eq(s, "joe%example.org+X@ims-ms-daemon");
  g_free(s);
  v.hosted = "";
  v.subaddress = NULL;
  s = dopt_expand(mb->template, &v);
  ck_assert_str_eq(s, "joe@ims-ms-daemon");
  g_free(s);
  s = dopt_expand("$^$M$$$_$A", &v);
  ck_assert_str_eq(s, "JOE$Joe+X@Example.org");
  g_free(s);
  ck_assert(dopt_uses("x$P@y", 'P'));
  ck_assert(dopt_uses("$2P", 'P'));
  ck_assert(!dopt_uses("$$P", 'P'));
  dopt_table_free(&t);
}
END_TEST

static const char *const bad_tables[] = {
    "mailbox", "=x@y", "*mailbox=$Q@ims-ms-daemon", "*mailbox=",
    "*mailbox=$M@ims-ms-daemon", /* no group entry */
    "&members=*",                /* no user entry */
    "ma il=x@y, &members=*",
};

START_TEST(test_delivery_bad_tables) {
  char *error = NULL;
  dopt_table *t = dopt_table_parse(bad_tables[_i], &error);
  ck_assert_msg(t == NULL, "accepted: %s", bad_tables[_i]);
  ck_assert_ptr_nonnull(error);
  g_free(error);
}
END_TEST

/* -------------------------------------------------------------- status */

static const struct {
  const char *domain_status, *user_status;
  int rc;
  bool hold;
  const char *code;
  const char *login; /* NULL: login allowed */
} status_cases[] = {
    {NULL, NULL, CURSUS_OK, false, NULL, NULL},
    {"active", "active", CURSUS_OK, false, NULL, NULL},
    {NULL, "inactive", CURSUS_TEMPFAIL, false, "4.2.1", "not active"},
    {NULL, "overquota", CURSUS_TEMPFAIL, false, "4.2.2", NULL},
    {NULL, "hold", CURSUS_OK, true, NULL, "not active"},
    {NULL, "disabled", CURSUS_PERMFAIL, false, "5.2.1", "not active"},
    {NULL, "deleted", CURSUS_PERMFAIL, false, "5.1.1", "not active"},
    {NULL, "removed", CURSUS_PERMFAIL, false, "5.1.1", "not active"},
    {NULL, "sleepy", CURSUS_TEMPFAIL, false, "4.3.5", "unknown status"},
    {"inactive", NULL, CURSUS_TEMPFAIL, false, "4.2.1", "domain"},
    {"deleted", "active", CURSUS_PERMFAIL, false, "5.1.2", "domain"},
    {"hold", "disabled", CURSUS_OK, true, NULL, "domain"},
};

START_TEST(test_status) {
  char *ds = status_cases[_i].domain_status != NULL
                 ? g_strdup_printf("mailDomainStatus=%s",
                                   status_cases[_i].domain_status)
                 : NULL;
  char *us = status_cases[_i].user_status != NULL
                 ? g_strdup_printf("mailUserStatus=%s",
                                   status_cases[_i].user_status)
                 : NULL;
  cursus_entry *d = entry("o=d", "objectClass=mailDomain", ds, NULL);
  cursus_entry *u = entry("uid=u", "objectClass=inetMailUser", us, NULL);
  dir_verdict v;
  dir_status_mail(d, u, &v);
  ck_assert_int_eq(v.rc, status_cases[_i].rc);
  ck_assert_int_eq(v.hold, status_cases[_i].hold);
  if (status_cases[_i].code != NULL)
    ck_assert_msg(g_str_has_prefix(v.error, status_cases[_i].code), "%s",
                  v.error);
  const char *why = dir_status_login(d, u);
  if (status_cases[_i].login == NULL)
    ck_assert_ptr_null(why);
  else
    ck_assert_ptr_nonnull(strstr(why, status_cases[_i].login));
  dir_verdict_clear(&v);
  entry_free(d);
  entry_free(u);
  g_free(ds);
  g_free(us);
}
END_TEST

START_TEST(test_status_order) {
  /* inetUserStatus before mailUserStatus */
  cursus_entry *u = entry("uid=u", "inetUserStatus=disabled",
                          "mailUserStatus=inactive", NULL);
  dir_verdict v;
  dir_status_mail(NULL, u, &v);
  ck_assert_int_eq(v.rc, CURSUS_PERMFAIL);
  dir_verdict_clear(&v);
  entry_free(u);
}
END_TEST

/* -------------------------------------------------------------- values */

static const struct {
  const char *attr, *value;
  bool ok;
} value_cases[] = {
    {"mail", "joe@example.com", true},
    {"mail", "@example.com", false},
    {"mailAlternateAddress", "@example.com", true},
    {"mailForwardingAddress", "nope", false},
    {"mgrpAllowedBroadcaster", "mailto:joe@example.com", true},
    {"mgrpAllowedBroadcaster", "ldap:///o=x??sub?(uid=*)", true},
    {"mgrpModerator", "mailto:not an address", false},
    {"mailHost", "mail.example.com", true},
    {"mailHost", "mail example", false},
    {"mailUserStatus", "Active", true},
    {"mailUserStatus", "zombie", false},
    {"mailDeliveryOption", "members_offline", true},
    {"mailDeliveryOption", "fax", false},
    {"mailQuota", "-1", true},
    {"mailQuota", "10M", false},
    {"vacationStartDate", "20240101000000Z", true},
    {"vacationStartDate", "202401010000Z", true},
    {"vacationStartDate", "2024-01-01", false},
    {"memberURL", "http://example.com/", false},
    {"mailAutoReplyMode", "echo", true},
    {"mailAutoReplyMode", "shout", false},
    {"cn", "anything at all", true},
    {"cn", "two\nlines", false},
    {"mailAutoReplyText", "two\nlines", true},
};

START_TEST(test_values) {
  char *error = NULL;
  bool ok = dir_check_value(value_cases[_i].attr, value_cases[_i].value,
                            &error);
  ck_assert_msg(ok == value_cases[_i].ok, "%s: %s: %s", value_cases[_i].attr,
                value_cases[_i].value, error ? error : "accepted");
  if (!ok)
    ck_assert(g_str_has_prefix(error, value_cases[_i].attr));
  g_free(error);
}
END_TEST

/* ------------------------------------------------------ service access */

static const struct {
  const char *rules, *service, *ip;
  bool tls, ok;
} service_cases[] = {
    {NULL, "imap", "192.0.2.1", false, true},
    {"+imap:*", "imap", "192.0.2.1", false, true},
    {"+imap:*", "pop3", "192.0.2.1", false, false},
    {"-pop:*", "imap", "192.0.2.1", false, true},
    {"-pop:*", "pop3", "192.0.2.1", false, false},
    {"+imap:127.0.0.1$-pop:*", "imap", "192.0.2.1", false, false},
    {"+imap,pop:192.0.2.0/24", "pop3", "192.0.2.77", false, true},
    {"+imap,pop:192.0.2.0/24", "pop3", "198.51.100.7", false, false},
    {"+*:10.0.0.0/255.0.0.0", "smtp", "10.1.2.3", false, true},
    {"+*:192.0.", "http", "192.0.2.5", false, true},
    {"+imaps:*", "imap", "192.0.2.1", false, false},
    {"+imaps:*", "imap", "192.0.2.1", true, true},
    {"+smtp:*", "submission", "192.0.2.1", false, true},
    {"+imap:2001:db8::/32", "imap", "2001:db8::1", false, true},
    {"-*:192.0.2.9$+*:*", "imap", "192.0.2.9", false, false},
    {"-*:192.0.2.9$+*:*", "imap", "192.0.2.10", false, true},
    {"+imap:not-an-address", "imap", "192.0.2.1", false, false},
    {"garbage", "imap", "192.0.2.1", false, false},
};

START_TEST(test_service_access) {
  const char *why = NULL;
  bool ok = service_allowed(service_cases[_i].rules, service_cases[_i].service,
                            service_cases[_i].tls, service_cases[_i].ip, &why);
  ck_assert_msg(ok == service_cases[_i].ok, "%s %s %s: %s",
                service_cases[_i].rules, service_cases[_i].service,
                service_cases[_i].ip, why ? why : "allowed");
}
END_TEST

/* ----------------------------------------------------------- passwords */

static const struct {
  const char *stored, *password;
  int result;
} passwd_cases[] = {
    /* written by Python's crypt and hashlib and by slappasswd */
    {"{CRYPT}$6$9gQdWX3VsIvtZMZ.$9E9lVv0sjngmQAykR4xB0w6/S3DypTrptz516vgkojmC"
     "UVqxyRS3e2Z2bF6TmKFh5db6widtijuKEvqZv.V3Z1",
     "test-password", 1},
    {"{CRYPT}$6$9gQdWX3VsIvtZMZ.$9E9lVv0sjngmQAykR4xB0w6/S3DypTrptz516vgkojmC"
     "UVqxyRS3e2Z2bF6TmKFh5db6widtijuKEvqZv.V3Z1",
     "test-passwore", 0},
    {"{SSHA512}pCdXGgPoHgC4b0iYUzhttchtZQGWu10lONvb+pTQAgKP7Lv6KSCWl4ohiIFYCH1"
     "MJdsak0+O7ABj3CAxEz1SVOGYRSdPJbRF",
     "ssha-password", 1},
    {"{ssha512}pCdXGgPoHgC4b0iYUzhttchtZQGWu10lONvb+pTQAgKP7Lv6KSCWl4ohiIFYCH1"
     "MJdsak0+O7ABj3CAxEz1SVOGYRSdPJbRF",
     "ssha-Password", 0},
    {"{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$djTSkJrtpUHrz/hzyT6mTA$AT+Z+yqiLLG"
     "sR7d021FANysv+R5gkfZ6cOrjs85nrC0",
     "argon-password", 1},
    {"{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$djTSkJrtpUHrz/hzyT6mTA$AT+Z+yqiLLG"
     "sR7d021FANysv+R5gkfZ6cOrjs85nrC0",
     "argon-passwort", 0},
    /* "password" */
    {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password", 1},
    {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "Password", 0},
    {"{SHA}", "", 0},
    {"{SSHA}", "password", 0},
    {"password", "password", -1},    /* clear text: never */
    {"{MD5}X03MO1qnZdYdgyfeuILPmQ==", "password", -1},
    {"{CRYPT}*", "anything", 0},
};

START_TEST(test_passwd_verify) {
  const char *why = NULL;
  ck_assert_int_eq(passwd_verify(passwd_cases[_i].stored,
                                 passwd_cases[_i].password, &why),
                   passwd_cases[_i].result);
}
END_TEST

START_TEST(test_passwd_hash) {
  static const char *const schemes[] = {"CRYPT", "SSHA512", "ARGON2"};
  char *error = NULL;
  const char *why = NULL;
  char *a = passwd_hash(schemes[_i], "pässword", &error);
  char *b = passwd_hash(schemes[_i], "pässword", &error);
  ck_assert_msg(a != NULL, "%s", error);
  ck_assert_str_ne(a, b); /* salted */
  ck_assert_int_eq(passwd_verify(a, "pässword", &why), 1);
  ck_assert_int_eq(passwd_verify(a, "password", &why), 0);
  ck_assert(passwd_scheme_known(schemes[_i]));
  g_free(a);
  g_free(b);
  ck_assert_ptr_null(passwd_hash("ROT13", "x", &error));
  g_free(error);
  ck_assert_ptr_null(passwd_hash(schemes[_i], "", &error));
  g_free(error);
}
END_TEST

START_TEST(test_scram_secrets) {
  char *error = NULL;
  char *v = passwd_scram("SCRAM-SHA-256", "pencil", 4096, &error);
  ck_assert_msg(v != NULL, "%s", error);
  ck_assert(g_str_has_prefix(v, "SCRAM-SHA-256$4096:"));
  char *secret = passwd_scram_secret(v, "SCRAM-SHA-256");
  char **parts = g_strsplit(secret, ":", -1);
  ck_assert_int_eq(g_strv_length(parts), 4);
  ck_assert_str_eq(parts[0], "4096");
  gsize len = 0;
  g_free(g_base64_decode(parts[2], &len));
  ck_assert_int_eq(len, 32);
  ck_assert_ptr_null(passwd_scram_secret(v, "SCRAM-SHA-1"));
  ck_assert_ptr_null(passwd_scram_secret("garbage", "SCRAM-SHA-256"));
  /* RFC 3112 allows spaces around the separators */
  char *spaced = passwd_scram_secret("SCRAM-SHA-1 $ 4096:c2FsdA== $ a:b",
                                     "SCRAM-SHA-1");
  ck_assert_str_eq(spaced, "4096:c2FsdA==:a:b");
  g_free(spaced);
  g_strfreev(parts);
  g_free(secret);
  g_free(v);
}
END_TEST

/* ------------------------------------------------------------ throttle */

START_TEST(test_throttle) {
  throttle_settings s = {2, 100, 1000, 60, 100};
  throttle_reset();
  throttle_configure(&s);
  unsigned expect[] = {0, 0, 100, 200, 400, 800, 1000, 1000};
  for (size_t i = 0; i < G_N_ELEMENTS(expect); i++)
    ck_assert_uint_eq(throttle_failed("Joe", "192.0.2.1"), expect[i]);
  /* the login counts whatever the case and address... */
  ck_assert_uint_eq(throttle_failed("JOE", "198.51.100.1"), 1000);
  /* ...and the address whatever the login */
  ck_assert_uint_eq(throttle_failed("ann", "192.0.2.1"), 1000);
  ck_assert_uint_eq(throttle_failed("ann", "198.51.100.2"), 0);
  throttle_reset();
}
END_TEST

/* ----------------------------------------------------------- autoreply */

static cursus_entry *vacationer(const char *extra) {
  return entry("uid=carol,ou=People,o=example.com",
               "objectClass=inetMailUser", "uid=carol",
               "mail=carol@example.com", "cn=Carol Danvers",
               "mailAlternateAddress=cd@example.com",
               "mailDeliveryOption=mailbox", "mailDeliveryOption=autoreply",
               "mailAutoReplyText=I am away.",
               "mailAutoReplyTextInternal=Ask Bob.",
               "mailAutoReplySubject=Away: $SUBJECT", extra, NULL);
}

static const struct {
  const char *sender, *headers, *why; /* why NULL: a reply is due */
} reply_cases[] = {
    {"friend@else.example", "To: carol@example.com\r\n", NULL},
    {"friend@else.example", "To: someone@example.com\r\nCc: Carol <CD@example.com>\r\n", NULL},
    {"friend@else.example", "To: list: carol@example.com;\r\n", NULL},
    {"friend@else.example", "To: someone@example.com\r\n", "not in To"},
    {"", "To: carol@example.com\r\n", "null sender"},
    {"MAILER-DAEMON@else.example", "To: carol@example.com\r\n", "mailer"},
    {"owner-list@else.example", "To: carol@example.com\r\n", "mailer"},
    {"list-request@else.example", "To: carol@example.com\r\n", "mailer"},
    {"carol@example.com", "To: carol@example.com\r\n", "is the user"},
    {"friend@else.example",
     "To: carol@example.com\r\nAuto-Submitted: auto-replied\r\n",
     "auto-submitted"},
    {"friend@else.example", "To: carol@example.com\r\nAuto-Submitted: no\r\n",
     NULL},
    {"friend@else.example", "To: carol@example.com\r\nPrecedence: bulk\r\n",
     "bulk"},
    {"friend@else.example", "To: carol@example.com\r\nPrecedence: List\r\n",
     "bulk"},
    {"friend@else.example",
     "To: carol@example.com\r\nList-Id: <x.lists.example>\r\n", "list"},
    {"friend@else.example",
     "To: carol@example.com\r\nX-Auto-Response-Suppress: OOF\r\n",
     "no automatic"},
};

/* message - a message with HEADERS and a subject */
static GMimeMessage *message(const char *headers) {
  char *text = g_strdup_printf("From: Friend <friend@else.example>\r\n%s"
                               "Subject: Lunch?\r\nMessage-ID: <m1@else.example>\r\n"
                               "\r\nShall we?\r\n",
                               headers);
  GMimeMessage *m = autoreply_parse(text, strlen(text));
  g_free(text);
  return m;
}

START_TEST(test_autoreply_decide) {
  cursus_entry *u = vacationer(NULL);
  GMimeMessage *m = message(reply_cases[_i].headers);
  autoreply_case c = {u, "example.com", reply_cases[_i].sender, m, time(NULL)};
  const char *why = NULL;
  int due = autoreply_decide(&c, &why);
  if (reply_cases[_i].why == NULL)
    ck_assert_msg(due == 1, "%s", why);
  else
    ck_assert_msg(due == 0 && strstr(why, reply_cases[_i].why) != NULL,
                  "expected \"%s\", got %s", reply_cases[_i].why,
                  due ? "a reply" : why);
  g_object_unref(m);
  entry_free(u);
}
END_TEST

START_TEST(test_autoreply_dates) {
  GMimeMessage *m = message("To: carol@example.com\r\n");
  const char *why = NULL;
  cursus_entry *past = vacationer("vacationEndDate=20000101000000Z");
  autoreply_case c = {past, "example.com", "f@else.example", m, time(NULL)};
  ck_assert_int_eq(autoreply_decide(&c, &why), 0);
  cursus_entry *now = vacationer("vacationStartDate=200001010000Z");
  c.user = now;
  ck_assert_int_eq(autoreply_decide(&c, &why), 1);
  /* the end is exclusive, to the second */
  cursus_entry *ends = vacationer("vacationEndDate=20300101120000Z");
  c.user = ends;
  GDateTime *t = g_date_time_new_utc(2030, 1, 1, 11, 59, 59);
  c.now = g_date_time_to_unix(t);
  ck_assert_int_eq(autoreply_decide(&c, &why), 1);
  c.now += 1;
  ck_assert_int_eq(autoreply_decide(&c, &why), 0);
  g_date_time_unref(t);
  entry_free(past);
  entry_free(now);
  entry_free(ends);
  g_object_unref(m);
}
END_TEST

START_TEST(test_autoreply_message) {
  cursus_entry *u = vacationer(NULL);
  GMimeMessage *m = message("To: carol@example.com\r\n"
                            "References: <m0@else.example>\r\n");
  autoreply_case c = {u, "example.com", "friend@else.example", m, time(NULL)};
  size_t len = 0;
  char *reply = autoreply_compose(&c, &len);
  ck_assert_uint_eq(strlen(reply), len);
  char *flat = g_strdelimit(g_strdup(reply), "\r", ' ');
  ck_assert_ptr_null(strstr(flat, "\n\n")); /* every line end is CRLF */
  g_free(flat);
  GMimeMessage *r = autoreply_parse(reply, len);
  GMimeObject *ro = GMIME_OBJECT(r);
  ck_assert_str_eq(g_mime_message_get_subject(r), "Away: Lunch?");
  ck_assert_str_eq(g_mime_object_get_header(ro, "Auto-Submitted"),
                   "auto-replied");
  ck_assert_str_eq(g_mime_object_get_header(ro, "In-Reply-To"),
                   "<m1@else.example>");
  ck_assert_str_eq(g_mime_object_get_header(ro, "References"),
                   "<m0@else.example> <m1@else.example>");
  char *to = internet_address_list_to_string(
      g_mime_message_get_addresses(r, GMIME_ADDRESS_TYPE_TO), NULL, FALSE);
  ck_assert_str_eq(to, "friend@else.example");
  ck_assert_ptr_nonnull(strstr(reply, "I am away."));
  /* senders of the user's own domain get the internal text */
  c.sender = "bob@example.com";
  char *internal = autoreply_compose(&c, &len);
  ck_assert_ptr_nonnull(strstr(internal, "Ask Bob."));
  g_free(internal);
  g_free(to);
  g_object_unref(r);
  g_free(reply);
  g_object_unref(m);
  entry_free(u);
}
END_TEST

START_TEST(test_autoreply_echo) {
  cursus_entry *u = vacationer("mailAutoReplyMode=echo");
  GMimeMessage *m = message("To: carol@example.com\r\n");
  autoreply_case c = {u, "example.com", "friend@else.example", m, time(NULL)};
  size_t len = 0;
  char *reply = autoreply_compose(&c, &len);
  ck_assert_ptr_nonnull(strstr(reply, "multipart/mixed"));
  ck_assert_ptr_nonnull(strstr(reply, "message/rfc822"));
  ck_assert_ptr_nonnull(strstr(reply, "Shall we?"));
  g_free(reply);
  g_object_unref(m);
  entry_free(u);
}
END_TEST

START_TEST(test_autoreply_memory) {
  char dir[] = "/tmp/check_dir.XXXXXX";
  ck_assert_ptr_nonnull(g_mkdtemp(dir));
  char *path = g_build_filename(dir, "sub", "ar.tch", NULL);
  char *prev = NULL, *error = NULL;
  time_t t = 1700000000;
  ck_assert_int_eq(arstate_claim(path, "carol", "F@x.example", t, 3600, &prev,
                                 &error), 1);
  ck_assert_ptr_null(prev);
  /* the same sender (any case) within the hour: no */
  ck_assert_int_eq(arstate_claim(path, "carol", "f@X.example", t + 3599, 3600,
                                 &prev, &error), 0);
  /* another user, or another sender: yes */
  ck_assert_int_eq(arstate_claim(path, "bob", "f@x.example", t + 10, 3600,
                                 &prev, &error), 1);
  g_free(prev);
  ck_assert_int_eq(arstate_claim(path, "carol", "g@x.example", t + 10, 3600,
                                 &prev, &error), 1);
  g_free(prev);
  /* after the hour: yes, and a failed send is undone */
  ck_assert_int_eq(arstate_claim(path, "carol", "f@x.example", t + 3600, 3600,
                                 &prev, &error), 1);
  ck_assert_ptr_nonnull(prev);
  arstate_release(path, "carol", "f@x.example", prev);
  g_free(prev);
  ck_assert_int_eq(arstate_claim(path, "carol", "f@x.example", t + 3601, 3600,
                                 &prev, &error), 1);
  g_free(prev);
  /* interval 0: every time */
  ck_assert_int_eq(arstate_claim(path, "dan", "f@x.example", t, 0, &prev,
                                 &error), 1);
  g_free(prev);
  ck_assert_int_eq(arstate_claim(path, "dan", "f@x.example", t, 0, &prev,
                                 &error), 1);
  g_free(prev);
  /* an unusable path is an error, not "no reply due" */
  ck_assert_int_eq(arstate_claim("/proc/nonexistent/x.tch", "a", "b", t, 1,
                                 &prev, &error), -1);
  ck_assert_ptr_nonnull(error);
  g_free(error);
  char *cmd = g_strdup_printf("rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(path);
}
END_TEST

/* Threads of one channel job claim replies to the same senders at once:
 * each (user, sender) pair must be granted exactly once. */
#define AR_THREADS 6
#define AR_SENDERS 150

static gpointer claim_all(gpointer path) {
  guint granted = 0;
  for (int i = 0; i < AR_SENDERS; i++) {
    char sender[32];
    snprintf(sender, sizeof(sender), "s%d@x.example", i);
    char *prev = NULL, *error = NULL;
    int rc = arstate_claim(path, "carol", sender, 1700000000, 3600, &prev,
                           &error);
    if (rc < 0)
      g_error("arstate_claim: %s", error);
    granted += rc == 1;
    g_free(prev);
  }
  return GUINT_TO_POINTER(granted);
}

START_TEST(test_autoreply_memory_threads) {
  char dir[] = "/tmp/check_dir.XXXXXX";
  ck_assert_ptr_nonnull(g_mkdtemp(dir));
  char *path = g_build_filename(dir, "ar.tch", NULL);
  GThread *t[AR_THREADS];
  for (int i = 0; i < AR_THREADS; i++)
    t[i] = g_thread_new("claim", claim_all, path);
  guint granted = 0;
  for (int i = 0; i < AR_THREADS; i++)
    granted += GPOINTER_TO_UINT(g_thread_join(t[i]));
  ck_assert_uint_eq(granted, AR_SENDERS);
  char *cmd = g_strdup_printf("rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(path);
}
END_TEST

static Suite *dir_suite(void) {
  Suite *s = suite_create("dir");
  TCase *tc = tcase_create("pure");
  tcase_add_loop_test(tc, test_address_parse, 0, G_N_ELEMENTS(addr_cases));
  tcase_add_test(tc, test_address_limits);
  tcase_add_test(tc, test_delivery_templates);
  tcase_add_loop_test(tc, test_delivery_bad_tables, 0,
                      G_N_ELEMENTS(bad_tables));
  tcase_add_loop_test(tc, test_status, 0, G_N_ELEMENTS(status_cases));
  tcase_add_test(tc, test_status_order);
  tcase_add_loop_test(tc, test_values, 0, G_N_ELEMENTS(value_cases));
  tcase_add_loop_test(tc, test_service_access, 0,
                      G_N_ELEMENTS(service_cases));
  tcase_add_loop_test(tc, test_passwd_verify, 0, G_N_ELEMENTS(passwd_cases));
  tcase_add_loop_test(tc, test_passwd_hash, 0, 3);
  tcase_add_test(tc, test_scram_secrets);
  tcase_add_test(tc, test_throttle);
  tcase_add_loop_test(tc, test_autoreply_decide, 0, G_N_ELEMENTS(reply_cases));
  tcase_add_test(tc, test_autoreply_dates);
  tcase_add_test(tc, test_autoreply_message);
  tcase_add_test(tc, test_autoreply_echo);
  tcase_add_test(tc, test_autoreply_memory);
  tcase_add_test(tc, test_autoreply_memory_threads);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(dir_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
