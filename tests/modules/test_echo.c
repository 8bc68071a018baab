/*
 * test_echo.c - a protocol module for the tests of the dispatcher, the
 * workers and the connection layer
 *
 * Greets with "+OK echo <service> ready", answers each line with
 * "echo: <line>".  Commands: QUIT, STARTTLS, SLEEP <ms> (suspends input),
 * CRASH (aborts the worker), INFO (connection facts), BYTES <n> (reads n
 * raw bytes and reports their count).  Lines over 100 octets get
 * "-ERR line too long".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cursus/cursus.h>

static const cursus_host *host;
static cursus_module_ctx *mctx;

typedef struct session {
  cursus_conn *conn;
  cursus_timer *timer;
  size_t want_bytes;
  size_t got_bytes;
} session;

static int echo_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  host = h;
  mctx = ctx;
  if (h->conn == NULL && h->process == CURSUS_PROC_WORKER) {
    *error_r = "no connection services in a worker";
    return CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

static int echo_open(cursus_module_ctx *ctx, cursus_conn *conn,
                     void **session_r, const char **error_r) {
  session *s = calloc(1, sizeof(*s));
  s->conn = conn;
  host->conn->set_line_limit(conn, 100);
  host->conn->set_timeout(conn, (unsigned)host->setting_int(ctx, "timeout", 30) * 1000);
  host->conn->printf(conn, "+OK echo %s ready%s\r\n",
                     host->conn->info(conn)->service,
                     host->conn->info(conn)->tls ? " (tls)" : "");
  *session_r = s;
  return CURSUS_OK;
}

static void wake(void *data) {
  session *s = data;
  host->timer_remove(&s->timer);
  host->conn->write(s->conn, "+OK awake\r\n", 11);
  host->conn->resume(s->conn);
}

static void echo_line(void *data, const char *line, size_t len,
                      unsigned flags) {
  session *s = data;
  cursus_conn *c = s->conn;
  if (flags & CURSUS_LINE_TOO_LONG) {
    host->conn->printf(c, "-ERR line too long\r\n");
    return;
  }
  if (len == 4 && strncmp(line, "QUIT", 4) == 0) {
    host->conn->printf(c, "+OK bye\r\n");
    host->conn->close(c);
  } else if (len == 8 && strncmp(line, "STARTTLS", 8) == 0) {
    const char *err;
    if (!host->conn->tls_available(c)) {
      host->conn->printf(c, "-ERR no TLS\r\n");
      return;
    }
    host->conn->printf(c, "+OK begin TLS\r\n");
    if (host->conn->start_tls(c, &err) != CURSUS_OK)
      host->conn->printf(c, "-ERR %s\r\n", err);
  } else if (len > 6 && strncmp(line, "SLEEP ", 6) == 0) {
    host->conn->suspend(c);
    s->timer = host->timer_add((unsigned)atoi(line + 6), wake, s);
  } else if (len == 5 && strncmp(line, "CRASH", 5) == 0) {
    host->log(mctx, CURSUS_LOG_WARNING, "crashing on request");
    abort();
  } else if (len == 4 && strncmp(line, "INFO", 4) == 0) {
    const cursus_conn_info *i = host->conn->info(c);
    host->conn->printf(c, "+OK service=%s remote=%s tls=%d channel=%s host=%s\r\n",
                       i->service, i->remote_ip, i->tls,
                       i->channel ? i->channel : "-", i->local_hostname);
  } else if (len > 6 && strncmp(line, "BYTES ", 6) == 0) {
    s->want_bytes = (size_t)atol(line + 6);
    s->got_bytes = 0;
    host->conn->set_input_mode(c, CURSUS_INPUT_BYTES);
  } else {
    host->conn->printf(c, "echo: %.*s\r\n", (int)len, line);
  }
}

static size_t echo_bytes(void *data, const char *buf, size_t len) {
  session *s = data;
  size_t take = s->want_bytes - s->got_bytes;
  if (take > len)
    take = len;
  s->got_bytes += take;
  if (s->got_bytes == s->want_bytes) {
    host->conn->set_input_mode(s->conn, CURSUS_INPUT_LINE);
    host->conn->printf(s->conn, "+OK %zu bytes\r\n", s->got_bytes);
  }
  return take;
}

static void echo_event(void *data, unsigned events) {
  session *s = data;
  if (events & CURSUS_EVENT_TIMEOUT) {
    host->conn->printf(s->conn, "-ERR timeout\r\n");
    host->conn->close(s->conn);
  }
  if (events & CURSUS_EVENT_TLS_DONE)
    host->conn->printf(s->conn, "+OK tls active\r\n");
  if (events & CURSUS_EVENT_SHUTDOWN) {
    host->conn->printf(s->conn, "-ERR shutting down\r\n");
    host->conn->close(s->conn);
  }
}

static void echo_close(void *data) {
  session *s = data;
  host->timer_remove(&s->timer);
  free(s);
}

static const char *const echo_names[] = {"echo", NULL};

static const cursus_protocol_ops echo_ops = {
    .size = sizeof(cursus_protocol_ops),
    .names = echo_names,
    .busy_reply = "-ERR busy\r\n",
    .session_open = echo_open,
    .on_line = echo_line,
    .on_bytes = echo_bytes,
    .on_event = echo_event,
    .session_close = echo_close,
};

static const cursus_keyword echo_settings[] = {
    {"timeout", CURSUS_VALUE_DURATION, 1, 1, "idle timeout"},
    {NULL, 0, 0, 0, NULL},
};

CURSUS_MODULE(.name = "test_echo", .version = "1.0", .vendor = "Cursus tests",
              .license = "MIT", .description = "echo protocol for tests",
              .kinds = CURSUS_KIND_PROTOCOL, .processes = CURSUS_PROC_WORKER,
              .settings = echo_settings, .init = echo_init,
              .protocol = &echo_ops);
