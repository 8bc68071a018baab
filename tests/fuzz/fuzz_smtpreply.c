/*
 * fuzz_smtpreply.c - the SMTP/LMTP client's reply reader (greeting, EHLO
 * extensions, multi-line replies, enhanced status codes) on arbitrary
 * bytes from a "server"
 *
 * The bytes arrive on a socket as a server would send them; the client
 * reads a greeting, says EHLO and reads replies until the input ends.
 * Every reply it accepts has a three-digit code and a bounded text.
 */
#include "build-config.h"
#include "../../modules/channel_smtp/client.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return 0;
  /* the whole "server side" is written first; big inputs are cut to what
   * the socket buffer holds */
  size_t n = size > 100000 ? 100000 : size;
  if (write(sv[1], data, n) < 0) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  shutdown(sv[1], SHUT_WR);
  client_conn *c = calloc(1, sizeof(*c));
  c->fd = sv[0];
  c->peer_name = strdup("fuzz");
  c->peer_addr = strdup("fuzz");
  c->out = NULL;
  c->to.connect_ms = c->to.command_ms = c->to.data_ms = 50;
  client_reply r;
  if (client_read_reply(c, 50, &r)) {
    if (r.code < 100 || r.code > 999 || strlen(r.text) >= sizeof(r.text))
      abort();
    client_hello(c, "fuzz.example", 1, &r);
    for (int i = 0; i < 1000 && !c->broken; i++) {
      if (!client_read_reply(c, 50, &r))
        break;
      if (r.code < 100 || r.code > 999)
        abort();
    }
  }
  close(sv[1]);
  client_close(&c, 0);
  return 0;
}
