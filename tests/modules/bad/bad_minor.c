/* bad_minor.c - built for a newer ABI minor than the host's: refused */
#include <cursus/cursus.h>
static const cursus_protocol_ops ops = {.size = sizeof(ops)};
CURSUS_EXPORT const struct cursus_module cursus_module = {
    .magic = CURSUS_MODULE_MAGIC, .abi_major = CURSUS_ABI_MAJOR,
    .abi_minor = CURSUS_ABI_MINOR + 3, .size = sizeof(struct cursus_module),
    .name = "bad_minor", .version = "1.0",
    .kinds = CURSUS_KIND_PROTOCOL, .protocol = &ops};
