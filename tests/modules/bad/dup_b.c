/* dup_a.c - second of two modules with the same name */
#include <cursus/cursus.h>
static const char *const names[] = {"dupproto", NULL};
static const cursus_protocol_ops ops = {.size = sizeof(ops), .names = names};
CURSUS_MODULE(.name = "test_dup", .version = "2.0", .kinds = CURSUS_KIND_PROTOCOL,
              .protocol = &ops);
