/* bad_kind.c - declares the channel kind but has no channel ops */
#include <cursus/cursus.h>
CURSUS_MODULE(.name = "bad_kind", .version = "1.0",
              .kinds = CURSUS_KIND_CHANNEL);
