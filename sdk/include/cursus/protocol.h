/*
 * cursus/protocol.h - server sessions (SMTP, LMTP, IMAP, POP3, HTTP ...)
 *
 * The dispatcher accepts a connection on a service of dispatcher.cnf and
 * hands it to a worker process, which runs the service's protocol module.
 * The host owns the socket, TLS, timeouts, and line and size limits; the
 * module sees complete input lines (or byte ranges it asked for) and writes
 * replies into the connection's output buffer.
 *
 * Event model: a worker serves many sessions on one event-loop thread.
 * Callbacks must not block for long; blocking work goes through
 * host->run_blocking or an asynchronous host call, with the session
 * suspended (conn_ops->suspend) until the completion resumes it.  Output
 * written during a callback is flushed when the callback returns, so
 * replies to pipelined commands go out together.
 *
 * Failure policy: a module failure ends that session only.  A crash ends
 * the worker process; the dispatcher starts a new one and the other
 * workers go on.
 */
#ifndef CURSUS_PROTOCOL_H
#define CURSUS_PROTOCOL_H

#include <cursus/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One client connection, owned by the host. */
typedef struct cursus_conn cursus_conn;
/* One configured service (a [SERVICE=...] section of dispatcher.cnf). */
typedef struct cursus_service cursus_service;

/* How the host hands input to the module. */
enum cursus_input_mode {
  /* Complete lines, without the line end, at most the limit set with
   * set_line_limit (default 1,000 octets for SMTP-like protocols). */
  CURSUS_INPUT_LINE = 0,
  /* Raw bytes as they arrive, in chunks; for message bodies and
   * literals.  The module switches back to LINE mode when done. */
  CURSUS_INPUT_BYTES = 1,
};

/* Flags passed with a line. */
enum cursus_line_flag {
  /* The line was longer than the limit: LINE holds its first `limit`
   * octets and the rest was discarded up to the next line end. */
  CURSUS_LINE_TOO_LONG = 1u << 0,
  /* The line ended with a bare LF instead of CRLF. */
  CURSUS_LINE_BARE_LF = 1u << 1,
};

/* Why the host calls `event`. */
enum cursus_conn_event {
  CURSUS_EVENT_TIMEOUT = 1u << 0,  /* the idle timer expired             */
  CURSUS_EVENT_RESUMED = 1u << 1,  /* resume() was called                */
  CURSUS_EVENT_TLS_DONE = 1u << 2, /* start_tls handshake succeeded      */
  CURSUS_EVENT_TLS_FAIL = 1u << 3, /* start_tls handshake failed         */
  CURSUS_EVENT_DRAINED = 1u << 4,  /* output buffer fully written        */
  CURSUS_EVENT_NOTIFY = 1u << 5,   /* a notification arrived (notify())  */
  CURSUS_EVENT_SHUTDOWN = 1u << 6, /* the worker is being retired        */
};

/* Facts about a connection. */
typedef struct cursus_conn_info {
  const char *service;      /* service name, e.g. "SMTP"                */
  const char *channel;      /* default source channel of the service    */
  const char *remote_ip;    /* textual address of the client            */
  unsigned remote_port;
  const char *local_ip;
  unsigned local_port;
  int tls;                  /* 1 when TLS is active                     */
  const char *tls_cipher;   /* description of the TLS session, or NULL  */
  int implicit_tls;         /* 1 on a TLS_PORT (TLS from the start)     */
  int unix_socket;          /* 1 on a UNIX-domain listener              */
  const char *local_hostname; /* the server's host name for banners    */
} cursus_conn_info;

/* Host services for connections (host->conn).  Loop thread only. */
typedef struct cursus_conn_ops {
  uint32_t size;
  /* Appends to the output buffer.  Never blocks; the host flushes. */
  void (*write)(cursus_conn *conn, const void *data, size_t len);
  void (*printf)(cursus_conn *conn, const char *fmt, ...) CURSUS_PRINTF(2, 3);
  /* Bytes waiting in the output buffer (for back-pressure). */
  size_t (*pending_output)(cursus_conn *conn);
  /* Selects how input is delivered (see cursus_input_mode). */
  void (*set_input_mode)(cursus_conn *conn, int mode);
  void (*set_line_limit)(cursus_conn *conn, size_t max_octets);
  /* Idle timeout in milliseconds (0 = none); restarted by each input. */
  void (*set_timeout)(cursus_conn *conn, unsigned ms);
  /* Stops reading input until resume(); buffered input is kept. */
  void (*suspend)(cursus_conn *conn);
  void (*resume)(cursus_conn *conn);
  /* After the output is flushed, starts a TLS server handshake on the
   * connection; `event` gets TLS_DONE or TLS_FAIL.  CURSUS_PERMFAIL when
   * no certificate is configured for the service. */
  int (*start_tls)(cursus_conn *conn, const char **error_r);
  /* True when a certificate is configured (so STARTTLS may be offered). */
  int (*tls_available)(cursus_conn *conn);
  /* Closes the connection after the output is flushed.  `close` of the
   * protocol ops follows. */
  void (*close)(cursus_conn *conn);
  const cursus_conn_info *(*info)(cursus_conn *conn);
  /* Sets the context shown in every log line for this connection, e.g.
   * "smtp 192.0.2.1 user=joe". */
  void (*set_log_context)(cursus_conn *conn, const char *context);
  /* Makes `event` get CURSUS_EVENT_NOTIFY on the loop thread soon;
   * callable from any thread (store change notifications). */
  void (*notify)(cursus_conn *conn);
  /* The service this connection came in on, and its options from
   * dispatcher.cnf (e.g. "CHANNEL"); NULL when unset. */
  const char *(*service_option)(cursus_conn *conn, const char *option);
  /* --- members added after ABI 1.0 go here --- */
  /* Compresses the rest of the session both ways with raw DEFLATE (RFC
   * 1951 without zlib header, as IMAP COMPRESS=DEFLATE, RFC 4978, asks),
   * above TLS when TLS is active.  Output written before the call goes
   * out uncompressed (the reply that announces compression); output
   * written after it is compressed and flushed with a sync point at the
   * end of each callback.  Input that arrives after the line being
   * handled is inflated, including octets already received.
   * CURSUS_PERMFAIL when compression is already active; a peer that
   * sends data that does not inflate is disconnected.  Check with
   * CURSUS_HAS(host->conn, start_compress). */
  int (*start_compress)(cursus_conn *conn, const char **error_r);
} cursus_conn_ops;

/* How the dispatcher words a refusal (a blocked address, a PORT_ACCESS
 * entry, a limit) in the protocol before closing; it runs no module code.
 * Since ABI 1.0. */
enum cursus_refusal_style {
  CURSUS_REFUSE_BUSY_REPLY = 0, /* busy_reply as it is, whatever the reason */
  CURSUS_REFUSE_SMTP = 1,       /* "CODE STATUS TEXT" (RFC 5321, 3463)     */
  CURSUS_REFUSE_IMAP = 2,       /* "* BYE TEXT"                            */
  CURSUS_REFUSE_POP3 = 3,       /* "-ERR TEXT"                             */
};

/* The server side of a protocol. */
typedef struct cursus_protocol_ops {
  uint32_t size;
  /* Protocol names this module serves in dispatcher.cnf's PROTOCOL=
   * option, e.g. {"smtp", "lmtp", NULL}. */
  const char *const *names;
  /* What the dispatcher writes before closing a connection it refuses
   * (blocked address, too many connections), CRLF-terminated, e.g.
   * "421 4.7.0 Too many connections, try later\r\n"; NULL = just close.
   * Data only: the dispatcher runs no module code. */
  const char *busy_reply;
  /* Starts a session on a new connection: write the greeting, set input
   * mode and limits.  Store per-session state in *session_r. */
  int (*session_open)(cursus_module_ctx *ctx, cursus_conn *conn,
                      void **session_r, const char **error_r);
  /* One input line (LINE mode).  LINE is not NUL-terminated by contract
   * (it happens to be, but may contain NULs). */
  void (*on_line)(void *session, const char *line, size_t len,
                  unsigned flags);
  /* Raw input (BYTES mode).  Returns how many bytes it consumed; the rest
   * is handed again (e.g. after a mode switch back to LINE). */
  size_t (*on_bytes)(void *session, const char *data, size_t len);
  /* Something other than input happened (enum cursus_conn_event). */
  void (*on_event)(void *session, unsigned events);
  /* The connection is gone (peer closed, error, close()): free the session.
   * The conn must not be used after this returns. */
  void (*session_close)(void *session);
  /* enum cursus_refusal_style: lets the dispatcher say why it refuses a
   * connection (check with CURSUS_HAS; absent = BUSY_REPLY). */
  uint32_t refusal_style;
  /* --- members added after ABI 1.0 go here --- */
} cursus_protocol_ops;

#ifdef __cplusplus
}
#endif
#endif /* CURSUS_PROTOCOL_H */
