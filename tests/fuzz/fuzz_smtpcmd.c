/*
 * fuzz_smtpcmd.c - the SMTP/LMTP command parser of proto_smtp on
 * arbitrary lines: verbs, MAIL and RCPT parameters, BDAT, HELO, xtext
 *
 * Every parse either fails with a reply code in 500-555 or gives values
 * inside their documented bounds; xtext decoding and encoding agree.
 */
#include "build-config.h"
#include "../../modules/proto_smtp/smtp_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const smtp_err *e) {
  if (e->code < 500 || e->code > 555 || e->text == NULL ||
      !g_ascii_isdigit(e->text[0]) || e->text[1] != '.')
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *line = (const char *)data;
  smtp_cmd cmd;
  smtp_err err;
  if (!smtp_parse_command(line, size, &cmd, &err)) {
    check_err(&err);
  } else {
    if (cmd.arg_len > size || (cmd.arg_len > 0 && cmd.arg < line))
      abort();
    char *arg = g_strndup(cmd.arg, cmd.arg_len);
    const char *rest;
    for (int flags = 0; flags < 2; flags++) {
      unsigned f = flags ? SMTP_P_ESMTP | SMTP_P_LENIENT : 0;
      smtp_mail m = {0};
      if (smtp_path_arg(arg, strlen(arg), "FROM:", f, &rest, &err)) {
        if (!smtp_parse_mail_params(rest, strlen(rest), f, &m, &err))
          check_err(&err);
        else if (m.body > 2 || m.ret > 2 ||
                 (m.envid != NULL && strlen(m.envid) > SMTP_ENVID_MAX))
          abort();
      } else {
        check_err(&err);
      }
      smtp_mail_clear(&m);
      smtp_rcpt r = {0};
      if (smtp_path_arg(arg, strlen(arg), "TO:", f, &rest, &err)) {
        if (!smtp_parse_rcpt_params(rest, strlen(rest), f, &r, &err))
          check_err(&err);
        else if (r.notify > 15 || (r.orcpt != NULL && strchr(r.orcpt, ';') == NULL))
          abort();
      } else {
        check_err(&err);
      }
      smtp_rcpt_clear(&r);
    }
    uint64_t bsize;
    bool last, size_ok;
    if (!smtp_parse_bdat(arg, strlen(arg), &bsize, &last, &size_ok, &err))
      check_err(&err);
    if (!smtp_check_helo(arg, strlen(arg), &err))
      check_err(&err);
    g_free(arg);
  }
  char *dec = smtp_xtext_decode(line, size);
  if (dec != NULL) {
    char *enc = smtp_xtext_encode(dec);
    char *again = smtp_xtext_decode(enc, strlen(enc));
    if (again == NULL || strcmp(again, dec) != 0)
      abort();
    g_free(again);
    g_free(enc);
    g_free(dec);
  }
  return 0;
}
