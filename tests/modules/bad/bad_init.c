/* bad_init.c - loads fine, fails its init */
#include <cursus/cursus.h>
static const char *const names[] = {"badinit", NULL};
static int bi_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  *error_r = "cannot reach the frobnicator";
  return CURSUS_TEMPFAIL;
}
static const cursus_protocol_ops ops = {.size = sizeof(ops), .names = names};
CURSUS_MODULE(.name = "bad_init", .version = "1.0", .kinds = CURSUS_KIND_PROTOCOL,
              .init = bi_init, .protocol = &ops);
