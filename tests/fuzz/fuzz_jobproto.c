/*
 * fuzz_jobproto.c - the channel jobs' result packets on arbitrary bytes
 *
 * Whatever parses must format back to the same packet.
 */
#include "build-config.h"
#include "jobs/jobproto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jobproto_result r;
  if (!jobproto_parse_result((const char *)data, size, &r))
    return 0;
  char buf[JOBPROTO_MAX];
  size_t n = jobproto_format_result(&r, buf);
  jobproto_result again;
  if (!jobproto_parse_result(buf, n, &again) ||
      strcmp(again.path, r.path) != 0 || again.outcome != r.outcome ||
      again.next_retry != r.next_retry)
    abort();
  return 0;
}
