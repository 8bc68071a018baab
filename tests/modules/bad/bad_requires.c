/* bad_requires.c - needs a module that is not installed */
#include <cursus/cursus.h>
static const char *const needs[] = {"no_such_module", NULL};
static const cursus_protocol_ops ops = {.size = sizeof(ops)};
CURSUS_MODULE(.name = "bad_requires", .version = "1.0",
              .kinds = CURSUS_KIND_PROTOCOL, .requires = needs, .protocol = &ops);
