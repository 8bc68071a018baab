/* bad_magic.c - a garbled descriptor */
#include <cursus/cursus.h>
static const cursus_protocol_ops ops = {.size = sizeof(ops)};
CURSUS_EXPORT const struct cursus_module cursus_module = {
    .magic = 0xdeadbeefu, .abi_major = CURSUS_ABI_MAJOR,
    .abi_minor = CURSUS_ABI_MINOR, .size = sizeof(struct cursus_module),
    .name = "bad_magic", .kinds = CURSUS_KIND_PROTOCOL, .protocol = &ops};
