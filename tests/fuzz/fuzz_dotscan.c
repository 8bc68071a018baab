/*
 * fuzz_dotscan.c - the DATA content scanner of proto_smtp on arbitrary
 * bytes
 *
 * The first byte picks the long-line policy and whether a bare LF ends a
 * line, the second how the input is cut into pieces; the rest is the
 * content as a client sends it.  Checked:
 *   - cutting the input into pieces (the left-over bytes offered again
 *     with the next piece, as the connection layer does) changes nothing:
 *     same content, same end, same bytes taken, same findings;
 *   - every LF of the content has its CR; under a policy other than
 *     "accept", no line is longer than 998 octets;
 *   - lines made from the input, dot-stuffed and ended by ".CRLF", come
 *     back exactly, and the scan ends right after the ".CRLF".
 */
#include "build-config.h"
#include "../../modules/proto_smtp/dotscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void collect(void *ctx, const char *data, size_t len) {
  g_string_append_len(ctx, data, (gssize)len);
}

typedef struct result {
  GString *out;
  bool end, bare_lf, too_long;
  size_t taken;
} result;

/* scan - IN cut into pieces of sizes from SEED (0: one piece) */
static void scan(const char *in, size_t len, int policy, bool lf_ok,
                 unsigned seed, result *r) {
  dotscan d = {.longlines = policy, .bare_lf_ok = lf_ok, .write = collect};
  r->out = g_string_new(NULL);
  d.ctx = r->out;
  dotscan_start(&d);
  GString *pending = g_string_new(NULL);
  size_t pos = 0;
  r->end = false;
  r->taken = 0;
  while (!r->end) {
    size_t piece = seed == 0 ? len - pos : 1 + (seed + pos * 7) % (seed % 37 + 1);
    piece = MIN(piece, len - pos);
    if (piece == 0 && pending->len == 0)
      break;
    g_string_append_len(pending, in + pos, (gssize)piece);
    pos += piece;
    size_t took = dotscan_feed(&d, pending->str, pending->len, &r->end);
    if (took > pending->len)
      abort();
    r->taken += took;
    g_string_erase(pending, 0, (gssize)took);
    if (!r->end && pending->len >= 3)
      abort(); /* only a possible ".CRLF" start is ever left */
    if (piece == 0)
      break;
  }
  r->bare_lf = d.bare_lf;
  r->too_long = d.too_long;
  g_string_free(pending, TRUE);
}

static void check_lines(const GString *out, int policy) {
  size_t line = 0; /* bytes since the last line end */
  for (size_t i = 0; i < out->len; i++) {
    if (out->str[i] != '\n') {
      line++;
      continue;
    }
    if (i == 0 || out->str[i - 1] != '\r')
      abort();
    if (policy != LONG_ACCEPT && line - 1 > DOTSCAN_LINE_MAX)
      abort();
    line = 0;
  }
  if (policy != LONG_ACCEPT && line > DOTSCAN_LINE_MAX)
    abort();
}

/* round_trip - lines from IN, stuffed and ended, come back whole */
static void round_trip(const char *in, size_t len, bool lf_ok) {
  GString *want = g_string_new(NULL), *wire = g_string_new(NULL);
  const char *p = in, *end = in + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl != NULL ? nl : end;
    GString *l = g_string_new(NULL);
    for (const char *q = p; q < stop && l->len < DOTSCAN_LINE_MAX; q++)
      if (*q != '\r')
        g_string_append_c(l, *q);
    g_string_append_len(want, l->str, (gssize)l->len);
    g_string_append(want, "\r\n");
    if (l->str[0] == '.')
      g_string_append_c(wire, '.');
    g_string_append_len(wire, l->str, (gssize)l->len);
    g_string_append(wire, "\r\n");
    g_string_free(l, TRUE);
    p = nl != NULL ? nl + 1 : end;
  }
  size_t body = wire->len;
  g_string_append(wire, ".\r\nNEXT COMMAND\r\n");
  result r;
  scan(wire->str, wire->len, LONG_ACCEPT, lf_ok, 0, &r);
  if (!r.end || r.taken != body + 3 || r.bare_lf || r.too_long ||
      r.out->len != want->len || memcmp(r.out->str, want->str, want->len) != 0)
    abort();
  g_string_free(r.out, TRUE);
  g_string_free(want, TRUE);
  g_string_free(wire, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  int policy = data[0] & 3;
  bool lf_ok = (data[0] & 4) != 0;
  unsigned seed = data[1];
  const char *in = (const char *)data + 2;
  size_t len = size - 2;
  result whole, pieces;
  scan(in, len, policy, lf_ok, 0, &whole);
  scan(in, len, policy, lf_ok, seed + 1, &pieces);
  if (whole.end != pieces.end || whole.taken != pieces.taken ||
      whole.bare_lf != pieces.bare_lf || whole.too_long != pieces.too_long ||
      !g_string_equal(whole.out, pieces.out))
    abort();
  check_lines(whole.out, policy);
  g_string_free(whole.out, TRUE);
  g_string_free(pieces.out, TRUE);
  round_trip(in, len, lf_ok);
  return 0;
}
