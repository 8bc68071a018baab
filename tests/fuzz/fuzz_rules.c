/*
 * fuzz_rules.c - the rewrite-rule compiler and evaluator, and the mapping
 * pattern and template compilers, on arbitrary text: the first line is a
 * rule pattern, the rest a template; both are also tried as a mapping
 * pattern and template
 */
#include "build-config.h"
#include "mapping/mtemplate.h"
#include "mapping/pattern.h"
#include "rewrite/rewrite.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = g_strndup((const char *)data, size);
  char *nl = strchr(text, '\n');
  const char *pattern = text, *tmpl = nl != NULL ? nl + 1 : text;
  if (nl != NULL)
    *nl = '\0';
  char *error = NULL;
  ruleset *rs = ruleset_new();
  if (!ruleset_add(rs, *pattern != '\0' ? pattern : ".", tmpl, NULL, "fuzz", 1,
                   &error))
    g_free(error);
  error = NULL;
  rw_tmpl *t = rw_tmpl_compile(tmpl, NULL, &error);
  if (t != NULL) {
    rw_subst s = {.user = "joe", .local = "joe+box", .host = "a.b.example",
                  .h = "a", .d = ".b.example", .l = "1.2.3.4",
                  .address = "joe@a.b.example"};
    rw_situation sit = {.flags = REWRITE_ENVELOPE | REWRITE_TO,
                        .location = 'A'};
    rw_outcome o;
    if (rw_tmpl_eval(t, &s, &sit, &o, &error) == RW_APPLIED)
      rw_outcome_clear(&o);
    else
      g_free(error);
    rw_tmpl_free(&t);
  } else {
    g_free(error);
  }
  error = NULL;
  mpattern *p = pattern_compile(pattern, &error);
  if (p != NULL) {
    pmatch m;
    pattern_match(p, tmpl, strlen(tmpl), &m);
    pattern_free(&p);
  } else {
    g_free(error);
  }
  error = NULL;
  mtemplate *mt = mtemplate_compile(tmpl, NULL, &error);
  if (mt != NULL) {
    GString *out = g_string_new(NULL);
    map_flags f = {0};
    int ctl = 0;
    pmatch m = {.n = 1, .start = {0}, .len = {3}};
    if (mtemplate_eval(mt, "abcdef", &m, NULL, NULL, out, &f, &ctl, &error) < 0)
      g_free(error);
    g_string_free(out, TRUE);
    mtemplate_free(&mt);
  } else {
    g_free(error);
  }
  ruleset_free(&rs);
  g_free(text);
  return 0;
}
