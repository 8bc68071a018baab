/* bad_nodesc.c - a shared object without the descriptor symbol */
#include <cursus/common.h>
CURSUS_EXPORT int not_a_cursus_module = 42;
