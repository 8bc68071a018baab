/*
 * rwtest.c - shared set-up of the address, mapping and rewriting unit
 * tests (see rwtest.h)
 */
#include "build-config.h"
#include "rwtest.h"
#include "module/host.h"
#include "mta/expand.h"
#include "mta/mtacfg.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

const char *rwtest_srcdir(void) {
  const char *s = g_getenv("srcdir");
  return s != NULL && *s != '\0' ? s : ".";
}

config *rwtest_load(const char *dir, modreg **mods_r) {
  char *cwd = g_get_current_dir();
  char *path = g_strdup_printf(
      "%s/modules/map_file/.libs:%s/modules/map_tcdb/.libs:%s/tests/modules/"
      ".libs",
      cwd, cwd, cwd);
  g_setenv("CURSUS_MODULE_PATH", path, TRUE);
  g_free(path);
  g_free(cwd);
  host_init(CURSUS_PROC_TOOL);
  mtacfg_register();
  char *full = g_build_filename(rwtest_srcdir(), dir, NULL);
  diag *d = diag_new();
  *mods_r = NULL;
  config *cfg = config_load(full, CURSUS_PROC_ANY, mods_r, d);
  if (cfg == NULL || diag_has_errors(d))
    diag_print(d, stderr);
  ck_assert_msg(cfg != NULL && !diag_has_errors(d),
                "the test configuration %s has errors", full);
  diag_free(&d);
  g_free(full);
  config_set_current(cfg);
  return cfg;
}

static bool domain_of(const char *address, const char *domain) {
  const char *at = strrchr(address, '@');
  return at != NULL && g_ascii_strcasecmp(at + 1, domain) == 0;
}

static int test_domain_is_local(void *data, const char *domain,
                                char **error_r) {
  static const char *const hosted[] = {"hosted.example", "alt.example",
                                       "zonehosted.example", NULL};
  if (g_ascii_strcasecmp(domain, "tempfail.example") == 0) {
    *error_r = g_strdup("4.4.3 directory down");
    return CURSUS_TEMPFAIL;
  }
  for (const char *const *h = hosted; *h != NULL; h++)
    if (g_ascii_strcasecmp(domain, *h) == 0)
      return 1;
  return 0;
}

static int test_expand(void *data, const char *address,
                       const expand_params *params, expansion *out,
                       char **error_r) {
  if (!domain_of(address, "hosted.example") &&
      !domain_of(address, "alt.example"))
    return 0;
  if (g_ascii_strncasecmp(address, "joe@", 4) == 0) {
    g_ptr_array_add(out->addresses, g_strdup("joe+INBOX@ims-ms-daemon"));
    out->note = g_strdup("user joe");
    return 1;
  }
  if (g_ascii_strncasecmp(address, "group@", 6) == 0) {
    g_ptr_array_add(out->addresses, g_strdup("alice@siroe.com"));
    g_ptr_array_add(out->addresses, g_strdup("list@lists-daemon"));
    out->errors_to = g_strdup("owner@hosted.example");
    return 1;
  }
  if (g_ascii_strncasecmp(address, "dirtemp@", 8) == 0) {
    *error_r = g_strdup("4.4.3 directory down");
    return CURSUS_TEMPFAIL;
  }
  return 0;
}

void rwtest_register_expander(void) {
  static gsize done;
  if (g_once_init_enter(&done)) {
    static const expander e = {.name = "test directory",
                               .expand = test_expand,
                               .domain_is_local = test_domain_is_local};
    expander_register(&e);
    g_once_init_leave(&done, 1);
  }
}

int rwtest_run(Suite *s, bool fork) {
  SRunner *sr = srunner_create(s);
  if (!fork)
    srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
