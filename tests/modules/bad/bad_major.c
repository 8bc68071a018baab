/* bad_major.c - built for another ABI major: must be refused */
#include <cursus/cursus.h>
static const cursus_protocol_ops ops = {.size = sizeof(ops)};
CURSUS_EXPORT const struct cursus_module cursus_module = {
    .magic = CURSUS_MODULE_MAGIC, .abi_major = CURSUS_ABI_MAJOR + 7,
    .abi_minor = 0, .size = sizeof(struct cursus_module),
    .name = "bad_major", .version = "1.0",
    .kinds = CURSUS_KIND_PROTOCOL, .protocol = &ops};
