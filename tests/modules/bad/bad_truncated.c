/* bad_truncated.c - a descriptor symbol shorter than the descriptor */
#include <cursus/cursus.h>
CURSUS_EXPORT const uint32_t cursus_module[4] = {
    CURSUS_MODULE_MAGIC, CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR,
    sizeof(struct cursus_module)};
