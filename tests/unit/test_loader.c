/*
 * test_loader.c - the module loader's checks and refusals, the host table,
 * the cache and the event loop
 */
#include "build-config.h"
#include "config/config.h"
#include "module/host.h"
#include "module/loader.h"
#include "util/cache.h"
#include "util/ev.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *builddir;

static char *libs(const char *sub) {
  return g_build_filename(builddir, "tests", "modules", sub, ".libs", NULL);
}

static const char *reason_of(modreg *reg, const char *file) {
  for (guint i = 0; i < reg->refused->len; i++) {
    const module_refusal *r = reg->refused->pdata[i];
    if (g_str_has_suffix(r->path, file))
      return r->reason;
  }
  return NULL;
}

#define ck_assert_has(haystack, needle)                                        \
  ck_assert_msg((haystack) != NULL && strstr((haystack), (needle)) != NULL,    \
                "expected \"%s\" in: %s", (needle), (haystack))

static const struct {
  const char *file, *reason;
} refusals[] = {
    /* bad_major and bad_minor: checked in test_refusals, with this
     * server's ABI */
    {"bad_nodesc.so", "refused: no 'cursus_module' descriptor symbol: not a "
                      "Cursus module"},
    {"bad_truncated.so", "refused: truncated descriptor (symbol 16 bytes"},
    {"bad_kind.so", "refused: module bad_kind declares kind 'channel' but has "
                    "no channel ops table"},
    {"bad_magic.so", "refused: garbled descriptor (magic 0xdeadbeef"},
    {"dup_b.so", "refused: duplicate module name test_dup (version 2.0; "
                 "already loaded from"},
    {"bad_requires.so", "refused: module bad_requires requires module "
                        "no_such_module, which is not available"},
};

START_TEST(test_refusals) {
  char *dir = libs("bad");
  const char *dirs[] = {dir, NULL};
  modreg *reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++)
    ck_assert_has(reason_of(reg, refusals[i].file), refusals[i].reason);
  /* the version refusals name this server's ABI */
  char *major = g_strdup_printf(
      "refused: module bad_major is built for module ABI 8.0; this server "
      "has ABI %d.%d and needs major %d",
      CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR, CURSUS_ABI_MAJOR);
  char *minor = g_strdup_printf(
      "refused: module bad_minor is built for module ABI %d.%d, newer than "
      "this server's %d.%d",
      CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR + 3, CURSUS_ABI_MAJOR,
      CURSUS_ABI_MINOR);
  ck_assert_has(reason_of(reg, "bad_major.so"), major);
  ck_assert_has(reason_of(reg, "bad_minor.so"), minor);
  g_free(major);
  g_free(minor);
  /* the accepted ones */
  ck_assert_ptr_nonnull(modreg_find(reg, "test_dup"));
  ck_assert_ptr_nonnull(modreg_find(reg, "bad_init"));
  ck_assert_ptr_null(modreg_find(reg, "bad_major"));
  ck_assert_int_eq(reg->modules->len, 2);
  ck_assert_int_eq(reg->refused->len, G_N_ELEMENTS(refusals) + 2);
  /* the refused are remembered by module name or file name */
  ck_assert_ptr_nonnull(modreg_refusal(reg, "bad_major"));
  ck_assert_ptr_nonnull(modreg_refusal(reg, "bad_nodesc"));
  modreg_free(&reg);
  g_free(dir);
}
END_TEST

/* copy_to - copy SRC into DIR with MODE; returns the new path */
static char *copy_to(const char *src, const char *dir, const char *name,
                     mode_t mode) {
  char *data;
  gsize len;
  ck_assert(g_file_get_contents(src, &data, &len, NULL));
  char *dst = g_build_filename(dir, name, NULL);
  ck_assert(g_file_set_contents(dst, data, (gssize)len, NULL));
  chmod(dst, mode);
  g_free(data);
  return dst;
}

START_TEST(test_untrusted_files) {
  char tmp[] = "/tmp/cursus-mods-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  chmod(tmp, 0755);
  char *good = libs("");
  char *src = g_build_filename(good, "test_channel.so", NULL);
  char *ww = copy_to(src, tmp, "worldwritable.so", 0666);
  char *gw = copy_to(src, tmp, "groupwritable.so", 0664);
  char *txt = g_build_filename(tmp, "text.so", NULL);
  ck_assert(g_file_set_contents(txt, "#!/bin/sh\necho not a module\n", -1, NULL));
  chmod(txt, 0644);
  const char *dirs[] = {tmp, "/nonexistent/modules", NULL};
  modreg *reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  ck_assert_has(reason_of(reg, "worldwritable.so"), "is writable by others (mode 0666)");
  ck_assert_has(reason_of(reg, "groupwritable.so"), "is writable by its group (mode 0664)");
  ck_assert_has(reason_of(reg, "text.so"), "refused: not a shared object (not an ELF file)");
  ck_assert_has(reason_of(reg, "/nonexistent/modules"), "module directory unreadable");
  ck_assert_int_eq(reg->modules->len, 0);
  modreg_free(&reg);

  /* a good file in a directory others may write to is refused too */
  unlink(ww);
  unlink(gw);
  unlink(txt);
  char *ok = copy_to(src, tmp, "test_channel.so", 0644);
  chmod(tmp, 0777);
  reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  ck_assert_has(reason_of(reg, "test_channel.so"), "directory");
  ck_assert_has(reason_of(reg, "test_channel.so"), "is writable by others");
  modreg_free(&reg);
  chmod(tmp, 0755);
  reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  ck_assert_ptr_nonnull(modreg_find(reg, "test_channel"));
  modreg_free(&reg);
  unlink(ok);
  rmdir(tmp);
  g_free(ok);
  g_free(ww);
  g_free(gw);
  g_free(txt);
  g_free(src);
  g_free(good);
}
END_TEST

START_TEST(test_lookup_by_role) {
  char *good = libs(""), *bad = libs("bad");
  const char *dirs[] = {good, bad, NULL};
  modreg *reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  ck_assert_str_eq(modreg_channel_by_keyword(reg, "TESTCHAN")->desc->name, "test_channel");
  ck_assert_str_eq(modreg_channel_by_name(reg, "testdrop-eu")->desc->name, "test_channel");
  ck_assert_ptr_null(modreg_channel_by_name(reg, "tcp_local"));
  ck_assert_str_eq(modreg_protocol(reg, "echo")->desc->name, "test_echo");
  ck_assert_ptr_null(modreg_protocol(reg, "smtp"));
  char *k = module_kinds_string(CURSUS_KIND_CHANNEL | CURSUS_KIND_AUTH);
  ck_assert_str_eq(k, "channel, auth");
  g_free(k);
  char *p = module_processes_string(CURSUS_PROC_WORKER | CURSUS_PROC_TOOL);
  ck_assert_str_eq(p, "worker, tool");
  g_free(p);
  modreg_free(&reg);
  g_free(good);
  g_free(bad);
}
END_TEST

START_TEST(test_init_and_process_restriction) {
  char *good = libs(""), *bad = libs("bad");
  const char *dirs[] = {good, bad, NULL};
  modreg *reg = modreg_scan(dirs, CURSUS_PROC_TOOL);
  host_init(CURSUS_PROC_TOOL);
  char *error = NULL;
  module *m = modreg_find(reg, "bad_init");
  ck_assert(!module_init(m, &error));
  ck_assert_has(error, "module bad_init (");
  ck_assert_has(error, "initialisation failed: cannot reach the frobnicator");
  g_free(error);
  error = NULL;
  /* test_echo may only run in workers */
  m = modreg_find(reg, "test_echo");
  ck_assert(!module_init(m, &error));
  ck_assert_has(error, "may only run in: worker; not in the tool process");
  g_free(error);
  m = modreg_find(reg, "test_channel");
  ck_assert(module_init(m, &error));
  ck_assert(m->initialized);
  modreg_free(&reg);
  g_free(good);
  g_free(bad);
}
END_TEST

START_TEST(test_host_table) {
  host_init(CURSUS_PROC_WORKER);
  const cursus_host *h = host_table();
  ck_assert_int_eq(h->size, sizeof(cursus_host));
  ck_assert_int_eq(h->abi_major, CURSUS_ABI_MAJOR);
  ck_assert_int_eq(h->abi_minor, CURSUS_ABI_MINOR);
  ck_assert_int_eq(h->process, CURSUS_PROC_WORKER);
  ck_assert(CURSUS_HAS(h, auth));
  cursus_buf b = {0};
  h->buf_append(&b, "abc", 3);
  h->buf_printf(&b, "-%d-%s", 42, "x");
  for (int i = 0; i < 1000; i++)
    h->buf_append(&b, "0123456789", 10);
  ck_assert_int_eq(b.len, 3 + 5 + 10000);
  ck_assert(strncmp(b.data, "abc-42-x0123", 12) == 0);
  ck_assert_int_eq(b.data[b.len], '\0');
  h->buf_free(&b);
  ck_assert_ptr_null(b.data);
  ck_assert_int_eq(b.len, 0);
  /* no loop in this process: the event services say so */
  ck_assert_ptr_null(h->timer_add(10, NULL, NULL));
  const char *err = NULL;
  ck_assert_int_eq(h->run_blocking(NULL, NULL, NULL, &err), CURSUS_TEMPFAIL);
  ck_assert_ptr_nonnull(err);
}
END_TEST

static void *copy_str(const void *v) { return g_strdup(v); }

START_TEST(test_host_cache) {
  host_init(CURSUS_PROC_TOOL);
  const cursus_host *h = host_table();
  cursus_cache *c = h->cache_new(3, 60, 1, copy_str, g_free);
  void *v;
  ck_assert_int_eq(h->cache_get(c, "a", &v), CURSUS_NONE);
  h->cache_put(c, "a", g_strdup("A"));
  h->cache_put(c, "b", g_strdup("B"));
  h->cache_put(c, "miss", NULL);
  ck_assert_int_eq(h->cache_get(c, "a", &v), CURSUS_OK);
  ck_assert_str_eq(v, "A");
  g_free(v);
  ck_assert_int_eq(h->cache_get(c, "miss", &v), CURSUS_OK);
  ck_assert_ptr_null(v);
  /* "b" is now least recently used: a fourth entry evicts it */
  h->cache_put(c, "d", g_strdup("D"));
  ck_assert_int_eq(h->cache_get(c, "b", &v), CURSUS_NONE);
  ck_assert_int_eq(h->cache_get(c, "a", &v), CURSUS_OK);
  g_free(v);
  /* negative entries expire after their shorter lifetime */
  g_usleep(1100 * 1000);
  ck_assert_int_eq(h->cache_get(c, "miss", &v), CURSUS_NONE);
  ck_assert_int_eq(h->cache_get(c, "d", &v), CURSUS_OK);
  g_free(v);
  h->cache_clear(c);
  ck_assert_int_eq(h->cache_get(c, "d", &v), CURSUS_NONE);
  h->cache_free(&c);
  ck_assert_ptr_null(c);
}
END_TEST

static void count_timer(ev_timer *t, void *data) {
  int *n = data;
  (*n)++;
  ev_timer_free(&t);
}

static void stop_timer(ev_timer *t, void *data) {
  ev_loop_stop(data);
  ev_timer_free(&t);
}

static void posted(void *data) { (*(int *)data) += 10; }

static void *poster(void *data) {
  void **args = data;
  ev_post(args[0], posted, args[1]);
  return NULL;
}

START_TEST(test_event_loop) {
  ev_loop *loop = ev_loop_new();
  int fired = 0, p = 0;
  /* timers fire in due order; a removed timer never fires */
  ev_timer_new(loop, 30, count_timer, &fired);
  ev_timer_new(loop, 10, count_timer, &fired);
  ev_timer *gone = ev_timer_new(loop, 20, count_timer, &fired);
  ev_timer_free(&gone);
  ev_timer_new(loop, 80, stop_timer, loop);
  void *args[] = {loop, &p};
  GThread *t = g_thread_new("poster", poster, args);
  uint64_t t0 = ev_monotonic_ms();
  ev_loop_run(loop);
  g_thread_join(t);
  ck_assert_int_eq(fired, 2);
  ck_assert_int_eq(p, 10);
  ck_assert(ev_monotonic_ms() - t0 >= 75);
  ev_loop_free(&loop);
  ck_assert_ptr_null(loop);
}
END_TEST

int main(void) {
  builddir = g_strdup(g_getenv("CURSUS_BUILDDIR") ? g_getenv("CURSUS_BUILDDIR") : ".");
  Suite *s = suite_create("loader");
  TCase *tc = tcase_create("modules");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_refusals);
  tcase_add_test(tc, test_untrusted_files);
  tcase_add_test(tc, test_lookup_by_role);
  tcase_add_test(tc, test_init_and_process_restriction);
  tcase_add_test(tc, test_host_table);
  tcase_add_test(tc, test_host_cache);
  tcase_add_test(tc, test_event_loop);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  g_free(builddir);
  return failed == 0 ? 0 : 1;
}
