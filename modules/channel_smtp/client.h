/*
 * client.h - one SMTP or LMTP client connection
 *
 * Connects (TCP with a timeout, or a UNIX socket for LMTP), reads the
 * greeting, says EHLO/LHLO (HELO as the fallback), learns the server's
 * extensions, starts TLS with GnuTLS when asked, and runs commands and
 * transactions with bounded replies and timeouts.  Blocking I/O: a
 * connection is used by one thread at a time (it may change threads
 * between transactions).
 *
 * Needs GnuTLS and GLib.
 */
#ifndef SMTP_CLIENT_H
#define SMTP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <glib.h>

/* Extensions the server announced. */
enum client_ext {
  EXT_PIPELINING = 1u << 0,
  EXT_SIZE = 1u << 1,
  EXT_8BITMIME = 1u << 2,
  EXT_BINARYMIME = 1u << 3,
  EXT_CHUNKING = 1u << 4,
  EXT_SMTPUTF8 = 1u << 5,
  EXT_DSN = 1u << 6,
  EXT_STARTTLS = 1u << 7,
  EXT_ENHANCEDSTATUSCODES = 1u << 8,
};

/* One reply: the code, its enhanced status when given, and the text of
 * all its lines joined by "; " (bounded). */
typedef struct client_reply {
  int code;       /* 0 when the connection failed (see text)        */
  char enh[16];   /* "5.1.1" or ""                                   */
  char text[1024];
} client_reply;

typedef struct client_timeouts {
  unsigned connect_ms, command_ms, data_ms;
} client_timeouts;

typedef struct client_conn {
  int fd;
  bool lmtp;
  char *peer_name; /* host name as routed (MX target)   */
  char *peer_addr; /* "192.0.2.1" or a socket path      */
  unsigned ext;
  uint64_t max_size; /* SIZE announced (0 = none given) */
  bool tls;
  void *tls_session; /* gnutls_session_t */
  void *tls_cred;
  client_timeouts to;
  bool broken;       /* an I/O error happened: do not reuse  */
  unsigned messages; /* transactions on this connection      */
  gint64 idle_since; /* monotonic time it was put back       */
  GString *out; /* commands not yet written */
  /* input buffer */
  char in[8192];
  size_t in_start, in_end;
} client_conn;

/* client_connect_tcp - connect to ADDR (with PORT) and read the
 * greeting; NULL with *reply_r explaining (code 0 on network errors) */
client_conn *client_connect_tcp(const struct sockaddr *addr, socklen_t len,
                                unsigned port, const char *peer_name,
                                const char *peer_addr, const char *bind_addr,
                                const client_timeouts *to, bool lmtp,
                                client_reply *reply_r);
/* client_connect_unix - the same over the UNIX socket PATH */
client_conn *client_connect_unix(const char *path, const client_timeouts *to,
                                 bool lmtp, client_reply *reply_r);
/* client_hello - EHLO (LHLO for LMTP) as HELO_NAME, falling back to HELO
 * for SMTP; true on 250, else *reply_r has the refusal */
bool client_hello(client_conn *c, const char *helo_name, bool try_ehlo,
                  client_reply *reply_r);
/* client_starttls - STARTTLS and the handshake (no certificate
 * verification: opportunistic encryption); true when TLS is on, then
 * call client_hello again */
bool client_starttls(client_conn *c, const char *priority,
                     client_reply *reply_r);
/* client_command - send LINE (without CRLF) and read one reply */
bool client_command(client_conn *c, const char *line, client_reply *reply_r);
/* client_send - queue LINE + CRLF (pipelined commands are sent together
 * by client_flush or the next read) */
void client_send(client_conn *c, const char *line);
/* client_flush - write what client_send queued; false on error */
bool client_flush(client_conn *c, client_reply *reply_r);
/* client_read_reply - read one reply (flushing first) */
bool client_read_reply(client_conn *c, unsigned timeout_ms,
                       client_reply *reply_r);
/* client_send_data - the message from FD at OFFSET (LEN bytes), dot-
 * stuffed, ending with CRLF "." CRLF; false on an I/O error */
bool client_send_data(client_conn *c, int fd, uint64_t offset, uint64_t len,
                      client_reply *reply_r);
/* client_send_bdat - the message as one BDAT LAST chunk (CHUNKING) */
bool client_send_bdat(client_conn *c, int fd, uint64_t offset, uint64_t len,
                      client_reply *reply_r);
/* client_close - QUIT (when GRACEFUL and the connection works) and free */
void client_close(client_conn **c, bool graceful);

/* client_shutdown - release GnuTLS (before the module goes) */
void client_shutdown(void);

/* client_reply_status - CURSUS_OK (2xx/3xx), TEMPFAIL (4xx or no
 * reply) or PERMFAIL (5xx) */
int client_reply_status(const client_reply *r);

#endif
