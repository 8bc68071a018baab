/*
 * test_config.c - the configuration readers: tables of files with the
 * exact diagnostics they must produce (file:line: message), and the
 * cross-checks against modules
 */
#include "build-config.h"
#include "config/bundle.h"
#include "config/config.h"
#include "config/dispcnf.h"
#include "config/imtacnf.h"
#include "config/jobccnf.h"
#include "config/optfile.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static void setup(void) {
  tmpdir = g_strdup("/tmp/cursus-unit-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
  g_free(cmd);
  g_free(tmpdir);
}

/* put - write NAME in the temp dir (mode 0644) */
static char *put(const char *name, const char *text) {
  char *path = g_build_filename(tmpdir, name, NULL);
  ck_assert(g_file_set_contents(path, text, -1, NULL));
  chmod(path, 0644);
  return path;
}

/* joined - every diagnostic line, one per line, with the temp dir shown
 * as "T" so expectations stay short */
static char *joined(const diag *d) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < d->lines->len; i++) {
    const diag_line *l = d->lines->pdata[i];
    char **parts = g_strsplit(l->text, tmpdir, -1);
    char *text = g_strjoinv("T", parts);
    g_string_append_printf(s, "%s\n", text);
    g_free(text);
    g_strfreev(parts);
  }
  return g_string_free(s, FALSE);
}

#define ck_assert_has(haystack, needle)                                        \
  ck_assert_msg(strstr((haystack), (needle)) != NULL,                          \
                "expected \"%s\" in:\n%s", (needle), (haystack))

/* ------------------------------------------------------------ imta.cnf */

typedef struct cnf_case {
  const char *text;
  const char *expect; /* a diagnostic line, or NULL for "no errors" */
} cnf_case;

static const cnf_case imta_cases[] = {
    {"a.com $U@l\n\nl\nlocalhost\n", NULL},
    {"a.com\n\nl\nlocalhost\n",
     "T/imta.cnf:1: rewrite rule \"a.com\" has no template"},
    {"a.com $U@l extra\n\nl\nlocalhost\n",
     "T/imta.cnf:1: unexpected text after the rewrite template: \"extra\""},
    {"a.com $U$ x@l\n\nl\nlocalhost\n", NULL},
    {"\nl\nlocalhost\n\nt frobnicate\nt-daemon\n",
     "T/imta.cnf:5: channel t: unknown keyword 'frobnicate'"},
    {"\nl maxjobs many\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'maxjobs' expects an integer"},
    {"\nl maxjobs\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'maxjobs' needs 1 value (integer)"},
    {"\nl notices 1 2 3 4 5 6\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'notices' takes at most 5 values; \"6\" "
     "is one too many"},
    {"\nl backoff \"pt5m\" \"soon\"\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'backoff' expects a duration"},
    {"\nl backoff \"pt5m\" \"PT1H\" 600\nlocalhost\n", NULL},
    {"\nl\nlocalhost\n\ndefaults logging\n",
     "T/imta.cnf:5: 'defaults' must come before the first channel"},
    {"\nl\nlocalhost\n\nl\nx\n",
     "T/imta.cnf:5: channel l is defined twice (first at T/imta.cnf:2)"},
    {"\nl\n", "T/imta.cnf:2: channel l has no official host name"},
    {"\nl\nlocalhost\n\nt\nlocalhost\n",
     "T/imta.cnf:6: host name localhost already belongs to channel l"},
    {"\nbad/name\nx\n", "T/imta.cnf:2: invalid channel name \"bad/name\""},
    {"\nl\nlocal host extra\n",
     "T/imta.cnf:3: channel l: a host line is a host name, optionally followed "
     "by a routing name"},
    {"\nl description \"unterminated\nlocalhost\n",
     "T/imta.cnf:2: unterminated quoted string"},
    {"a.com $U@l\n", "T/imta.cnf: no channels are defined"},
    {"a.com $U@l\\", "T/imta.cnf:1: continuation at end of file"},
    {"! comment\na.com \\\n  $U@l\n\n! c\nl \\\n  maxjobs 3\nlocalhost\n", NULL},
    {"\n<nosuch.rules\nl\nlocalhost\n",
     "T/imta.cnf:2: cannot read T/nosuch.rules"},
    {"\n<\nl\nlocalhost\n", "T/imta.cnf:2: include line names no file"},
    {"\nl pool\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'pool' needs 1 value (string)"},
    {"\ndefaults maxjobs 2\n\nl\nlocalhost\n\nt maxjobs 5\nt-daemon\n", NULL},
    {"\nnodefaults logging\nl\nlocalhost\n",
     "T/imta.cnf:2: nodefaults takes no keywords"},
    {"\nl saslswitchchannel bad!name\nlocalhost\n",
     "T/imta.cnf:2: channel l: keyword 'saslswitchchannel' expects a channel "
     "name, not \"bad!name\""},
};

static kwtable *core_keywords(void) {
  kwtable *k = kwtable_new();
  char *error = NULL;
  ck_assert(kwtable_add(k, core_channel_keywords, "core", &error));
  return k;
}

START_TEST(test_imta_cases) {
  const cnf_case *c = &imta_cases[_i];
  char *path = put("imta.cnf", c->text);
  kwtable *kws = core_keywords();
  diag *d = diag_new();
  imtacnf *cnf = imtacnf_parse(path, tmpdir, kws, d);
  char *out = joined(d);
  if (c->expect == NULL)
    ck_assert_msg(!diag_has_errors(d), "case %d: unexpected:\n%s", _i, out);
  else
    ck_assert_has(out, c->expect);
  imtacnf_free(&cnf);
  diag_free(&d);
  kwtable_free(&kws);
  g_free(out);
  g_free(path);
}
END_TEST

START_TEST(test_imta_structure) {
  char *path = put("imta.cnf",
                   "! rules\n"
                   "a.com      $U%a.com@ims-ms-daemon\n"
                   "<rules.inc\n"
                   ".          $U%$H@tcp_local-daemon\n"
                   "\n"
                   "defaults logging notices 1 2 4 7 immnonurgent\n"
                   "\n"
                   "l immnormal maxjobs 7\n"
                   "mail.a.com\n"
                   "localhost\n"
                   "\n"
                   "tcp_local maxjobs 3 backoff \"pt5m\" \"pt10m\" \\\n"
                   "   pool SMTP_POOL\n"
                   "tcp-daemon\n"
                   "[192.0.2.1] router1\n");
  g_free(put("rules.inc", "b.com $U%b.com@l\n"));
  kwtable *kws = core_keywords();
  diag *d = diag_new();
  imtacnf *cnf = imtacnf_parse(path, tmpdir, kws, d);
  char *out = joined(d);
  ck_assert_msg(!diag_has_errors(d), "%s", out);
  ck_assert_int_eq(cnf->rules->len, 3);
  cnf_rule *r = cnf->rules->pdata[1];
  ck_assert_str_eq(r->pattern, "b.com");
  ck_assert_has(r->file, "rules.inc");
  ck_assert_int_eq(r->line, 1);
  ck_assert_int_eq(cnf->channels->len, 2);
  cnf_channel *l = cnf->channels->pdata[0];
  ck_assert_str_eq(l->name, "l");
  ck_assert(cnf_channel_has(l, "logging"));
  ck_assert_int_eq(cnf_channel_int(l, "maxjobs", 0), 7);
  static const char *const imm[] = {"immnonurgent", "immnormal", "immurgent",
                                    NULL};
  ck_assert_str_eq(cnf_channel_last_of(l, imm), "immnormal");
  cnf_channel *t = imtacnf_channel(cnf, "TCP_LOCAL");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(cnf_channel_last_of(t, imm), "immnonurgent");
  const cnf_kw *b = cnf_channel_kw(t, "backoff");
  ck_assert_int_eq(b->values->len, 2);
  ck_assert_str_eq(b->values->pdata[1], "pt10m");
  ck_assert_str_eq(cnf_channel_kw(t, "pool")->values->pdata[0], "SMTP_POOL");
  ck_assert_ptr_eq(imtacnf_channel_by_host(cnf, "TCP-DAEMON"), t);
  ck_assert_ptr_eq(imtacnf_channel_by_host(cnf, "[192.0.2.1]"), t);
  ck_assert_str_eq(((cnf_host *)t->hosts->pdata[1])->routing, "router1");
  ck_assert_ptr_eq(imtacnf_channel_by_host(cnf, "mail.a.com"), l);
  imtacnf_free(&cnf);
  diag_free(&d);
  kwtable_free(&kws);
  g_free(out);
  g_free(path);
}
END_TEST

START_TEST(test_imta_include_loop) {
  char *path = put("imta.cnf", "<a.inc\n\nl\nlocalhost\n");
  g_free(put("a.inc", "x.com $U@l\n<b.inc\n"));
  g_free(put("b.inc", "<a.inc\n"));
  kwtable *kws = core_keywords();
  diag *d = diag_new();
  imtacnf *cnf = imtacnf_parse(path, tmpdir, kws, d);
  char *out = joined(d);
  ck_assert_has(out, "T/b.inc:1: include loop: T/imta.cnf -> T/a.inc -> "
                     "T/b.inc -> T/a.inc");
  imtacnf_free(&cnf);
  diag_free(&d);
  kwtable_free(&kws);
  g_free(out);
  g_free(path);
}
END_TEST

START_TEST(test_imta_untrusted_and_binary) {
  char *path = put("imta.cnf", "\nl\nlocalhost\n");
  kwtable *kws = core_keywords();
  diag *d = diag_new();
  chmod(path, 0666);
  imtacnf *cnf = imtacnf_parse(path, tmpdir, kws, d);
  char *out = joined(d);
  ck_assert_ptr_null(cnf);
  ck_assert_has(out, "T/imta.cnf: refusing to read: file T/imta.cnf is "
                     "writable by others (mode 0666)");
  g_free(out);
  diag_free(&d);
  g_free(path);

  d = diag_new();
  path = g_build_filename(tmpdir, "imta.cnf", NULL);
  ck_assert(g_file_set_contents(path, "a\0b", 3, NULL));
  chmod(path, 0644);
  cnf = imtacnf_parse(path, tmpdir, kws, d);
  out = joined(d);
  ck_assert_has(out, "T/imta.cnf: contains a NUL byte: not a text file");
  imtacnf_free(&cnf);
  g_free(out);
  diag_free(&d);
  g_free(path);

  d = diag_new();
  cnf = imtacnf_parse("/nonexistent/imta.cnf", tmpdir, kws, d);
  ck_assert_ptr_null(cnf);
  out = joined(d);
  ck_assert_has(out, "cannot read /nonexistent/imta.cnf");
  g_free(out);
  diag_free(&d);
  kwtable_free(&kws);
}
END_TEST

/* ---------------------------------------------------------- option files */

static const cnf_case disp_cases[] = {
    {"[SERVICE=SMTP]\nPORT=25\n", NULL},
    {"[SERVICE=SMTP\nPORT=25\n", "T/d.cnf:1: malformed section header"},
    {"[SERVICE=SMTP]\nPORT 25\n",
     "T/d.cnf:2: expected option=value, found \"PORT 25\""},
    {"[SERVICE=SMTP]\nPORTS=25\n", "T/d.cnf:2: unknown option 'PORTS'"},
    {"[SERVICE=SMTP]\nPORT=25\nMAX_PROCS=lots\n",
     "T/d.cnf:3: option 'MAX_PROCS' expects an integer"},
    {"[SERVICE=SMTP]\nPORT=25\nMAX_PROCS=0\n",
     "T/d.cnf:3: option 'MAX_PROCS' is 0, outside 1..1000"},
    {"UNIX_SOCKET=x\n[SERVICE=LMTP]\nPORT=24\n",
     "T/d.cnf:1: option 'UNIX_SOCKET' is not allowed outside a section"},
    {"[POOL=X]\n", "T/d.cnf:1: unknown section [POOL=X]; expected [SERVICE=name]"},
    {"[SERVICE=SMTP]\nPORT=25\nMIN_PROCS=5\nMAX_PROCS=2\n",
     "T/d.cnf:1: service SMTP: MIN_PROCS (5) is above MAX_PROCS (2)"},
    {"[SERVICE=SMTP]\nPORT=25\n[SERVICE=LMTP]\nPORT=25\n",
     "T/d.cnf:3: service LMTP: port 25 is already used by service SMTP"},
    {"[SERVICE=SMTP]\nPORT=70000\n",
     "T/d.cnf:2: PORT: \"70000\" is not a port number (0-65535)"},
    {"[SERVICE=SMTP]\nPORT=25\nBLOCK=10.0.0.0/8, 300.1.1.1\n",
     "T/d.cnf:3: BLOCK: \"300.1.1.1\" is not an address or network (CIDR)"},
    {"[SERVICE=WEIRD]\nPORT=99\n",
     "T/d.cnf:1: service WEIRD: set PROTOCOL (no protocol is implied by the name)"},
    {"[SERVICE=SMTP]\nPORT=25,\\\n 587\nMAX_LIFE_TIME=P1D\n", NULL},
    {"[SERVICE=SMTP]\nPORT=25\nMAX_CONNS=5\\", "T/d.cnf:3: continuation at end of file"},
    {"[SERVICE=SMTP]\n[SERVICE=SMTP]\nPORT=26\n", "service SMTP is defined twice"},
};

START_TEST(test_dispatcher_cases) {
  const cnf_case *c = &disp_cases[_i];
  char *path = put("d.cnf", c->text);
  diag *d = diag_new();
  dispcnf *dc = dispcnf_read(path, tmpdir, d);
  char *out = joined(d);
  if (c->expect == NULL)
    ck_assert_msg(!diag_has_errors(d), "case %d: unexpected:\n%s", _i, out);
  else
    ck_assert_has(out, c->expect);
  dispcnf_free(&dc);
  diag_free(&d);
  g_free(out);
  g_free(path);
}
END_TEST

START_TEST(test_dispatcher_values) {
  char *path = put("d.cnf", "MAX_CONNS=7\nMAX_LIFE_TIME=PT2H\n"
                            "INTERFACE_ADDRESS=127.0.0.1, ::1\n"
                            "[SERVICE=SMTP]\nPORT=25 587\nTLS_PORT=465\n"
                            "CHANNEL=tcp_local\nMAX_CONNS=9\n"
                            "[SERVICE=LMTP]\nUNIX_SOCKET=lmtp.sock\n");
  diag *d = diag_new();
  dispcnf *dc = dispcnf_read(path, tmpdir, d);
  ck_assert(!diag_has_errors(d));
  disp_service *s = dispcnf_service(dc, "smtp");
  ck_assert_str_eq(s->protocol, "smtp");
  ck_assert_str_eq(s->channel, "tcp_local");
  ck_assert_int_eq(s->ports->len, 2);
  ck_assert_int_eq(g_array_index(s->ports, unsigned, 1), 587);
  ck_assert_int_eq(g_array_index(s->tls_ports, unsigned, 0), 465);
  ck_assert_int_eq(s->max_conns, 9);
  ck_assert_int_eq(s->max_life_time, 7200);
  ck_assert_str_eq(s->interfaces[1], "::1");
  disp_service *l = dispcnf_service(dc, "LMTP");
  ck_assert_str_eq(l->protocol, "lmtp");
  ck_assert_int_eq(l->max_conns, 7);
  char *sock = g_build_filename(tmpdir, "lmtp.sock", NULL);
  ck_assert_str_eq(l->unix_socket, sock);
  g_free(sock);
  dispcnf_free(&dc);
  diag_free(&d);
  g_free(path);
}
END_TEST

static const cnf_case jobc_cases[] = {
    {"[POOL=DEFAULT]\nJOB_LIMIT=10\n[CHANNEL=tcp_*]\nTHREAD_DEPTH=64\n", NULL},
    {"JOB_LIMIT=3\n[POOL=A]\n",
     "T/j.cnf:1: option 'JOB_LIMIT' is not allowed outside a section"},
    {"[POOL=A]\n[POOL=A]\n", "T/j.cnf:2: pool A is defined twice"},
    {"MAX_MESSAGES=10\n", "T/j.cnf: no [POOL=name] is defined"},
    {"[SERVICE=X]\n[POOL=A]\n", "T/j.cnf:1: unknown section [SERVICE=X]; "
                               "expected [POOL=name] or [CHANNEL=name]"},
};

START_TEST(test_jobc_cases) {
  const cnf_case *c = &jobc_cases[_i];
  char *path = put("j.cnf", c->text);
  diag *d = diag_new();
  jobccnf *jc = jobccnf_read(path, d);
  char *out = joined(d);
  if (c->expect == NULL)
    ck_assert_msg(!diag_has_errors(d), "case %d: unexpected:\n%s", _i, out);
  else
    ck_assert_has(out, c->expect);
  jobccnf_free(&jc);
  diag_free(&d);
  g_free(out);
  g_free(path);
}
END_TEST

START_TEST(test_jobc_channel_lookup) {
  char *path = put("j.cnf", "IDLE_TIME=60\n[POOL=DEFAULT]\n[CHANNEL=tcp_*]\n"
                            "JOB_LIMIT=4\n[CHANNEL=tcp_local]\nIDLE_TIME=5\n");
  diag *d = diag_new();
  jobccnf *jc = jobccnf_read(path, d);
  ck_assert(!diag_has_errors(d));
  ck_assert_int_eq(jobccnf_channel_int(jc, "tcp_local", "JOB_LIMIT", 1), 4);
  ck_assert_int_eq(jobccnf_channel_int(jc, "tcp_local", "IDLE_TIME", 1), 5);
  ck_assert_int_eq(jobccnf_channel_int(jc, "ims-ms", "IDLE_TIME", 1), 60);
  ck_assert_int_eq(jobccnf_channel_int(jc, "ims-ms", "JOB_LIMIT", 1), 1);
  ck_assert_int_eq(jobccnf_pool(jc, "default")->job_limit, 10);
  jobccnf_free(&jc);
  diag_free(&d);
  g_free(path);
}
END_TEST

START_TEST(test_value_parsers) {
  long long n;
  bool b;
  ck_assert(opt_parse_int("8%777", &n) && n == 511);
  ck_assert(opt_parse_int("16%FF", &n) && n == 255);
  ck_assert(opt_parse_int("-5", &n) && n == -5);
  ck_assert(!opt_parse_int("1%5", &n));
  ck_assert(!opt_parse_int("12x", &n));
  ck_assert(!opt_parse_int("", &n));
  ck_assert(!opt_parse_int("99999999999999999999", &n));
  ck_assert(opt_parse_duration("PT5M", &n) && n == 300);
  ck_assert(opt_parse_duration("pt1h30m", &n) && n == 5400);
  ck_assert(opt_parse_duration("P1DT1S", &n) && n == 86401);
  ck_assert(opt_parse_duration("P2W", &n) && n == 14 * 86400);
  ck_assert(opt_parse_duration("90", &n) && n == 90);
  ck_assert(opt_parse_duration("2h", &n) && n == 7200);
  ck_assert(!opt_parse_duration("P", &n));
  ck_assert(!opt_parse_duration("PT5D", &n));
  ck_assert(!opt_parse_duration("5 minutes", &n));
  ck_assert(!opt_parse_duration("P9999999999999999999D", &n));
  ck_assert(opt_parse_size("10M", &n) && n == 10 * 1024 * 1024);
  ck_assert(opt_parse_size("512KB", &n) && n == 512 * 1024);
  ck_assert(!opt_parse_size("10X", &n));
  ck_assert(opt_parse_bool("On", &b) && b);
  ck_assert(opt_parse_bool("no", &b) && !b);
  ck_assert(!opt_parse_bool("maybe", &b));
}
END_TEST

static const cnf_case conf_cases[] = {
    {"[paths]\nstate_dir = /tmp/x\n[log]\nlevel = debug\n", NULL},
    {"state_dir = /x\n", "T/c.conf:1: option 'state_dir' outside of any [group]"},
    {"[pathz]\n", "T/c.conf:1: unknown group [pathz]"},
    {"[paths]\nstate_directory = /x\n",
     "T/c.conf:2: unknown option 'state_directory' in [paths]"},
    {"[log]\nsyslog = perhaps\n", "T/c.conf:2: [log] syslog expects yes or no"},
    {"[watcher]\nstop_timeout = soon\n",
     "T/c.conf:2: [watcher] stop_timeout expects a duration"},
    {"[module]\n", "T/c.conf:1: [module] needs a module name: [module NAME]"},
};

START_TEST(test_conf_cases) {
  const cnf_case *c = &conf_cases[_i];
  char *path = put("c.conf", c->text);
  diag *d = diag_new();
  optfile *of = optfile_read(path, d);
  conf_check_core(of, d);
  char *out = joined(d);
  if (c->expect == NULL)
    ck_assert_msg(!diag_has_errors(d), "case %d: unexpected:\n%s", _i, out);
  else
    ck_assert_has(out, c->expect);
  optfile_free(&of);
  diag_free(&d);
  g_free(out);
  g_free(path);
}
END_TEST

/* ------------------------------------------------- the whole configuration */

static const char *module_dir(void) {
  static char *dir;
  if (dir == NULL)
    dir = g_build_filename(g_getenv("CURSUS_BUILDDIR") ? g_getenv("CURSUS_BUILDDIR") : ".",
                           "tests", "modules", ".libs", NULL);
  return dir;
}

/* load_config - a full configuration dir in tmpdir with IMTA and EXTRA
 * cursus.conf text; returns the diagnostics */
static char *load_config(const char *imta, const char *conf_extra,
                         const char *disp, const char *jobc) {
  char *conf = g_strdup_printf("[paths]\nstate_dir = %s/var\nmodule_path = %s\n%s",
                               tmpdir, module_dir(), conf_extra ? conf_extra : "");
  g_free(put("cursus.conf", conf));
  g_free(conf);
  g_free(put("imta.cnf", imta));
  g_free(put("dispatcher.cnf", disp ? disp : "[SERVICE=ECHO]\nPROTOCOL=echo\nPORT=12345\n"));
  g_free(put("job_controller.cnf", jobc ? jobc : "[POOL=DEFAULT]\n[POOL=SMTP_POOL]\n"));
  diag *d = diag_new();
  modreg *mods = NULL;
  g_unsetenv("CURSUS_MODULE_PATH");
  config *cfg = config_load(tmpdir, CURSUS_PROC_TOOL, &mods, d);
  ck_assert_ptr_nonnull(cfg);
  char *out = joined(d);
  config_unref(&cfg);
  modreg_free(&mods);
  diag_free(&d);
  return out;
}

static const struct {
  const char *imta, *conf, *disp, *expect;
} full_cases[] = {
    {"\nl\nlocalhost\n\ndrop testchan testport 25 testhosts a.example [192.0.2.1]\ndrop-daemon\n",
     NULL, NULL, NULL},
    {"\nl\nlocalhost\n\ndrop testchan testport many\ndrop-daemon\n", NULL, NULL,
     "T/imta.cnf:5: channel drop: keyword 'testport' expects an integer"},
    {"\nl\nlocalhost\n\ndrop module nosuch_module\ndrop-daemon\n", NULL, NULL,
     "T/imta.cnf:5: channel drop: module nosuch_module is not available: no "
     "such module in the module path"},
    {"\nl\nlocalhost\n\ndrop module test_echo\ndrop-daemon\n", NULL, NULL,
     "T/imta.cnf:5: channel drop: module test_echo provides protocol, not channel"},
    {"\nl\nlocalhost\n\nt saslswitchchannel tcp_auth\nt-daemon\n", NULL, NULL,
     "T/imta.cnf:5: channel t: keyword 'saslswitchchannel' names channel "
     "tcp_auth, which is not defined"},
    {"\nl\nlocalhost\n\nt pool NOPOOL\nt-daemon\n", NULL, NULL,
     "T/imta.cnf:5: channel t: pool NOPOOL is not defined in T/job_controller.cnf"},
    {"\nl\nlocalhost\n\nt\nt-daemon\n", NULL, NULL,
     "T/imta.cnf:5: warning: channel t has no master program module"},
    {"\nl\nlocalhost\n\ntestdrop1\ntestdrop1-daemon\n", NULL, NULL, NULL},
    {"\nl\nlocalhost\n", "[module test_channel]\nspool = /tmp\nlimit = 10M\nenabled = yes\n",
     NULL, NULL},
    {"\nl\nlocalhost\n", "[module test_channel]\nlimit = big\n", NULL,
     "T/cursus.conf:5: [module test_channel]: limit expects a size in bytes"},
    {"\nl\nlocalhost\n", "[module test_channel]\ncolour = red\n", NULL,
     "T/cursus.conf:5: [module test_channel]: unknown setting 'colour'"},
    {"\nl\nlocalhost\n", "[module no_such]\n", NULL,
     "T/cursus.conf:4: [module no_such]: module is not available"},
    {"\nl\nlocalhost\n", "[directory]\nmodule = test_channel\n", NULL,
     "T/cursus.conf:5: [directory] module: module test_channel provides "
     "channel, not directory"},
    {"\nl\nlocalhost\n", NULL, "[SERVICE=SMTP]\nPORT=1\n",
     "T/dispatcher.cnf:1: service SMTP: no available module serves protocol 'smtp'"},
    {"\nl\nlocalhost\n", NULL, "[SERVICE=ECHO]\nPROTOCOL=echo\nPORT=1\nCHANNEL=nochan\n",
     "T/dispatcher.cnf:1: service ECHO: CHANNEL nochan is not defined in imta.cnf"},
};

START_TEST(test_full_cases) {
  char *out = load_config(full_cases[_i].imta, full_cases[_i].conf,
                          full_cases[_i].disp, NULL);
  if (full_cases[_i].expect == NULL)
    ck_assert_msg(strstr(out, "error") == NULL && strstr(out, ": channel") == NULL,
                  "case %d: unexpected:\n%s", _i, out);
  else
    ck_assert_has(out, full_cases[_i].expect);
  g_free(out);
}
END_TEST

START_TEST(test_channel_module_selection) {
  char *conf = g_strdup_printf("[paths]\nstate_dir = %s/var\nmodule_path = %s\n",
                               tmpdir, module_dir());
  g_free(put("cursus.conf", conf));
  g_free(conf);
  g_free(put("imta.cnf", "\nl\nlocalhost\n\na testchan\na-daemon\n\n"
                         "testdrop-x\nb-daemon\n\nc module test_channel\nc-daemon\n"));
  g_free(put("dispatcher.cnf", "\n"));
  g_free(put("job_controller.cnf", "[POOL=DEFAULT]\n"));
  diag *d = diag_new();
  modreg *mods = NULL;
  config *cfg = config_load(tmpdir, CURSUS_PROC_TOOL, &mods, d);
  ck_assert(!diag_has_errors(d));
  for (const char *const *n = (const char *const[]){"a", "testdrop-x", "c", NULL};
       *n != NULL; n++) {
    cnf_channel *ch = imtacnf_channel(cfg->imta, *n);
    module *m = config_channel_module(cfg, ch);
    ck_assert_msg(m != NULL, "channel %s has no module", *n);
    ck_assert_str_eq(m->desc->name, "test_channel");
    ck_assert(m->used);
  }
  ck_assert_ptr_null(config_channel_module(cfg, imtacnf_channel(cfg->imta, "l")));
  ck_assert(!modreg_find(mods, "test_echo")->used);
  config_unref(&cfg);
  modreg_free(&mods);
  diag_free(&d);
}
END_TEST

START_TEST(test_bundle_roundtrip) {
  char *a = put("a.txt", "alpha\n");
  char *b = put("b.txt", "beta\0gamma");
  char *text = NULL;
  gsize len = 0;
  char *error = NULL;
  bundle_record();
  ck_assert(bundle_get_contents(a, &text, &len, NULL));
  g_free(text);
  ck_assert(bundle_get_contents(b, &text, &len, NULL));
  g_free(text);
  char *saved = g_build_filename(tmpdir, "cfg.bundle", NULL);
  ck_assert(bundle_save(saved, &error));
  /* the files change on disk; the bundle still gives the accepted text */
  g_free(put("a.txt", "edited\n"));
  ck_assert(bundle_load(saved, &error));
  ck_assert(bundle_active());
  ck_assert(bundle_get_contents(a, &text, &len, NULL));
  ck_assert_str_eq(text, "alpha\n");
  g_free(text);
  GError *gerr = NULL;
  ck_assert(!bundle_get_contents("/etc/passwd", &text, &len, &gerr));
  ck_assert_ptr_nonnull(strstr(gerr->message, "not part of the accepted"));
  g_error_free(gerr);
  /* a damaged bundle is refused */
  char *bad = put("bad.bundle", "CURSUS-CONFIG-BUNDLE 1\nx\0999\0ab");
  ck_assert(!bundle_load(bad, &error));
  ck_assert_ptr_nonnull(strstr(error, "damaged"));
  g_free(error);
  g_free(bad);
  g_free(saved);
  g_free(a);
  g_free(b);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("readers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_imta_cases, 0, G_N_ELEMENTS(imta_cases));
  tcase_add_test(tc, test_imta_structure);
  tcase_add_test(tc, test_imta_include_loop);
  tcase_add_test(tc, test_imta_untrusted_and_binary);
  tcase_add_loop_test(tc, test_dispatcher_cases, 0, G_N_ELEMENTS(disp_cases));
  tcase_add_test(tc, test_dispatcher_values);
  tcase_add_loop_test(tc, test_jobc_cases, 0, G_N_ELEMENTS(jobc_cases));
  tcase_add_test(tc, test_jobc_channel_lookup);
  tcase_add_test(tc, test_value_parsers);
  tcase_add_loop_test(tc, test_conf_cases, 0, G_N_ELEMENTS(conf_cases));
  tcase_add_loop_test(tc, test_full_cases, 0, G_N_ELEMENTS(full_cases));
  tcase_add_test(tc, test_channel_module_selection);
  tcase_add_test(tc, test_bundle_roundtrip);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(config_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
