/*
 * fuzz_qfile.c - the queue-file reader (preamble, envelope, records) and
 * the header scanner on arbitrary bytes
 *
 * Whatever parses must format back to an envelope that parses to the
 * same text: the reader and the writer agree on every file they accept.
 */
#include "build-config.h"
#include "queue/hdrscan.h"
#include "queue/qfile.h"
#include "queue/qnotify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* roundtrip - ENV formats to text that parses to the same text */
static void roundtrip(const qenv *env) {
  GString *text = g_string_new(NULL);
  qenv_format(env, text);
  char *err = NULL;
  qenv *again = qenv_parse(text->str, text->len, text->len, &err);
  if (again == NULL)
    abort();
  GString *text2 = g_string_new(NULL);
  qenv_format(again, text2);
  if (!g_string_equal(text, text2))
    abort();
  g_string_free(text2, TRUE);
  g_string_free(text, TRUE);
  qenv_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  uint64_t clen;
  size_t elen;
  const char *why;
  if (qfile_parse_preamble(buf, size, &clen, &elen, &why) &&
      clen <= size - QFILE_PREAMBLE) {
    size_t off = QFILE_PREAMBLE + (size_t)clen;
    char *err = NULL;
    qenv *env = qenv_parse(buf + off, size - off, elen, &err);
    if (env != NULL) {
      if (env->records_len + env->torn_len + env->envelope_len != size - off)
        abort();
      roundtrip(env);
      qenv_free(&env);
    }
    g_free(err);
  }
  /* the envelope parser alone, on the whole input */
  char *err = NULL;
  qenv *env = qenv_parse(buf, size, size, &err);
  if (env != NULL) {
    roundtrip(env);
    qenv_free(&env);
  }
  g_free(err);
  /* the header scanner and the job controller datagram reader */
  hdrscan hs;
  hdrscan_init(&hs);
  hdrscan_feed(&hs, buf, size);
  hdrscan_end(&hs);
  if (strlen(hs.message_id) >= HDRSCAN_VALUE_MAX)
    abort();
  qnotify_msg m;
  if (qnotify_parse(buf, size, &m)) {
    char out[QNOTIFY_MAX];
    if (qnotify_format(&m, out) == 0)
      abort();
  }
  char *dec = qesc_decode(buf, size);
  g_free(dec);
  return 0;
}
