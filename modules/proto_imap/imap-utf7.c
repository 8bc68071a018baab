/*
 * imap-utf7.c - IMAP modified UTF-7 mailbox names
 *
 * Printable US-ASCII other than '&' stands for itself; "&-" is '&'; any
 * other run of characters is UTF-16BE in base64 with ',' for '/', without
 * padding, between '&' and '-'.  The decoder is strict so that one UTF-8
 * name has exactly one wire form (otherwise two spellings could name one
 * mailbox and get past access checks that compare names).
 */
#include "imap-utf7.h"

#include <stdint.h>
#include <string.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* b64_value - the 6-bit value of C in the modified alphabet, or -1 */
static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == ',')
    return 63;
  return -1;
}

bool imap_utf7_needs_encoding(const char *utf8, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)utf8[i];
    if (c < 0x20 || c > 0x7e || c == '&')
      return true;
  }
  return false;
}

/* run_state - an open shift sequence being encoded */
typedef struct run_state {
  bool open;
  uint32_t bits;
  int nbits;
} run_state;

/* run_unit - add one UTF-16 unit to the open shift sequence */
static void run_unit(run_state *r, gunichar2 u, GString *out) {
  if (!r->open) {
    g_string_append_c(out, '&');
    r->open = true;
    r->bits = 0;
    r->nbits = 0;
  }
  r->bits = (r->bits << 16) | u;
  r->nbits += 16;
  while (r->nbits >= 6) {
    r->nbits -= 6;
    g_string_append_c(out, b64[(r->bits >> r->nbits) & 0x3f]);
  }
  r->bits &= (1u << r->nbits) - 1;
}

/* run_close - pad and end the open shift sequence, if any */
static void run_close(run_state *r, GString *out) {
  if (!r->open)
    return;
  if (r->nbits > 0)
    g_string_append_c(out, b64[(r->bits << (6 - r->nbits)) & 0x3f]);
  g_string_append_c(out, '-');
  r->open = false;
}

bool imap_utf7_encode(const char *utf8, size_t len, GString *out) {
  if (!g_utf8_validate(utf8, (gssize)len, NULL))
    return false;
  run_state r = {0};
  const char *p = utf8, *end = utf8 + len;
  while (p < end) {
    gunichar c = g_utf8_get_char(p);
    p = g_utf8_next_char(p);
    if (c >= 0x20 && c <= 0x7e) {
      run_close(&r, out);
      if (c == '&')
        g_string_append(out, "&-");
      else
        g_string_append_c(out, (char)c);
    } else if (c >= 0x10000) {
      c -= 0x10000;
      run_unit(&r, (gunichar2)(0xd800 + (c >> 10)), out);
      run_unit(&r, (gunichar2)(0xdc00 + (c & 0x3ff)), out);
    } else {
      run_unit(&r, (gunichar2)c, out);
    }
  }
  run_close(&r, out);
  return true;
}

/* decode_run - decode the base64 of one shift sequence [P, END) into OUT */
static bool decode_run(const char *p, const char *end, GString *out) {
  uint32_t bits = 0;
  int nbits = 0;
  gunichar2 high = 0;
  size_t chars = 0;
  for (; p < end; p++) {
    int v = b64_value((unsigned char)*p);
    if (v < 0)
      return false;
    bits = (bits << 6) | (uint32_t)v;
    nbits += 6;
    if (nbits < 16)
      continue;
    nbits -= 16;
    gunichar2 u = (gunichar2)((bits >> nbits) & 0xffff);
    bits &= (1u << nbits) - 1;
    if (high != 0) {
      if (u < 0xdc00 || u > 0xdfff)
        return false;
      gunichar c = 0x10000 + (((gunichar)high - 0xd800) << 10) + (u - 0xdc00);
      g_string_append_unichar(out, c);
      high = 0;
    } else if (u >= 0xd800 && u <= 0xdbff) {
      high = u;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return false;
    } else {
      /* printable ASCII must not be encoded */
      if (u >= 0x20 && u <= 0x7e)
        return false;
      g_string_append_unichar(out, u);
    }
    chars++;
  }
  /* leftover bits must be zero padding of less than one base64 digit+ */
  if (high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
    return false;
  return chars > 0;
}

bool imap_utf7_decode(const char *utf7, size_t len, GString *out) {
  gsize start = out->len;
  const char *p = utf7, *end = utf7 + len;
  bool last_was_run = false;
  while (p < end) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c > 0x7e)
      goto fail;
    if (c != '&') {
      g_string_append_c(out, (char)c);
      p++;
      last_was_run = false;
      continue;
    }
    const char *dash = memchr(p + 1, '-', (size_t)(end - p - 1));
    if (dash == NULL)
      goto fail;
    if (dash == p + 1) {
      g_string_append_c(out, '&');
      last_was_run = false;
    } else {
      if (last_was_run || !decode_run(p + 1, dash, out))
        goto fail;
      last_was_run = true;
    }
    p = dash + 1;
  }
  return true;
fail:
  g_string_truncate(out, start);
  return false;
}
