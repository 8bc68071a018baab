/*
 * test_lookup.c - a protocol module that asks host->lookup what the
 * server decides, for the tests of rewriting in running processes
 *
 * Commands (one reply line each):
 *   RCPT address       resolve_recipient (on a host thread, run_blocking):
 *                      "+OK rewritten channel | addr->channel ..." or
 *                      "-ERR code status error"
 *   FROM address       resolve_sender: "+OK rewritten" or "-ERR ..."
 *   PATH argument      parse_path (MAIL FROM: form): "+OK <addr> params"
 *   MAP table input    mapping: "+OK output flags" or "-ERR none"
 *   HDR name: value    rewrite_header: "+OK new value"
 *   PORT               PORT_ACCESS for this connection: "+OK action text"
 *   QUIT
 */
#include <cursus/cursus.h>
#include <stdlib.h>
#include <string.h>

static const cursus_host *host;

typedef struct session {
  cursus_conn *conn;
  char *address;
  cursus_resolution *res;
  int busy;
  int closed; /* the connection ended while a RCPT was being resolved */
} session;

static int tl_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  if (h->lookup == NULL || !CURSUS_HAS(h->lookup, access_verdict_free)) {
    *error_r = "no lookup services";
    return CURSUS_PERMFAIL;
  }
  return CURSUS_OK;
}

static int tl_open(cursus_module_ctx *ctx, cursus_conn *conn,
                   void **session_r, const char **error_r) {
  session *s = calloc(1, sizeof(*s));
  s->conn = conn;
  host->conn->set_line_limit(conn, 2000);
  host->conn->printf(conn, "+OK lookup ready\r\n");
  *session_r = s;
  return CURSUS_OK;
}

/* resolve_work / resolve_done - RCPT runs off the event loop */
static void resolve_work(void *data) {
  session *s = data;
  cursus_resolve_params p = {.size = sizeof(p),
                             .source_channel =
                                 host->conn->info(s->conn)->channel};
  host->lookup->resolve_recipient(s->address, &p, &s->res);
}

static void resolve_done(void *data) {
  session *s = data;
  cursus_resolution *r = s->res;
  if (s->closed) {
    host->lookup->resolution_free(&s->res);
    free(s->address);
    free(s);
    return;
  }
  if (r->status != CURSUS_OK) {
    host->conn->printf(s->conn, "-ERR %d %s\r\n", r->smtp_code, r->error);
  } else {
    cursus_buf line = {0};
    host->buf_printf(&line, "+OK %s %s |", r->rewritten, r->channel);
    for (size_t i = 0; i < r->n_routes; i++)
      host->buf_printf(&line, " %s->%s", r->routes[i].address,
                       r->routes[i].channel);
    host->conn->printf(s->conn, "%s\r\n", line.data);
    host->buf_free(&line);
  }
  host->lookup->resolution_free(&s->res);
  free(s->address);
  s->address = NULL;
  s->busy = 0;
  host->conn->resume(s->conn);
}

static void tl_line(void *data, const char *line, size_t len, unsigned flags) {
  session *s = data;
  cursus_conn *c = s->conn;
  char *cmd = strndup(line, len);
  const char *arg = strchr(cmd, ' ') != NULL ? strchr(cmd, ' ') + 1 : "";
  const char *error = NULL;
  cursus_buf out = {0};
  if (strncmp(cmd, "RCPT ", 5) == 0) {
    s->address = strdup(arg);
    s->busy = 1;
    host->conn->suspend(c);
    if (host->run_blocking(resolve_work, resolve_done, s, &error) !=
        CURSUS_OK) {
      host->conn->printf(c, "-ERR %s\r\n", error);
      s->busy = 0;
      host->conn->resume(c);
    }
  } else if (strncmp(cmd, "FROM ", 5) == 0) {
    int code = 0;
    cursus_resolve_params p = {.size = sizeof(p)};
    if (host->lookup->resolve_sender(arg, &p, &out, &code, &error) ==
        CURSUS_OK)
      host->conn->printf(c, "+OK %s\r\n", out.data != NULL ? out.data : "");
    else
      host->conn->printf(c, "-ERR %d %s\r\n", code, error);
  } else if (strncmp(cmd, "PATH ", 5) == 0) {
    const char *params = NULL;
    if (host->lookup->parse_path(arg, CURSUS_PATH_NULL_OK, &out, &params,
                                 &error) == CURSUS_OK)
      host->conn->printf(c, "+OK <%s> %s\r\n", out.data != NULL ? out.data : "",
                         params);
    else
      host->conn->printf(c, "-ERR %s\r\n", error);
  } else if (strncmp(cmd, "MAP ", 4) == 0) {
    char *table = strdup(arg);
    char *sp = strchr(table, ' ');
    const char *fl = NULL;
    if (sp != NULL)
      *sp = '\0';
    if (host->lookup->mapping(table, sp != NULL ? sp + 1 : "", &out, &fl,
                              &error) == CURSUS_OK)
      host->conn->printf(c, "+OK %s %s\r\n", out.data != NULL ? out.data : "",
                         fl);
    else
      host->conn->printf(c, "-ERR none\r\n");
    free(table);
  } else if (strncmp(cmd, "HDR ", 4) == 0) {
    char *name = strdup(arg);
    char *colon = strchr(name, ':');
    cursus_resolve_params p = {.size = sizeof(p), .destination_channel = "tcp_local"};
    if (colon != NULL) {
      *colon = '\0';
      if (host->lookup->rewrite_header(name, colon + 2, &p, &out, &error) ==
          CURSUS_OK)
        host->conn->printf(c, "+OK %s\r\n", out.data);
      else
        host->conn->printf(c, "-ERR %s\r\n", error);
    }
    free(name);
  } else if (strcmp(cmd, "PORT") == 0) {
    const cursus_conn_info *i = host->conn->info(c);
    cursus_access_probe p = {.size = sizeof(p),
                             .server_ip = i->local_ip,
                             .server_port = i->local_port,
                             .client_ip = i->remote_ip,
                             .client_port = i->remote_port};
    cursus_access_verdict *v = NULL;
    if (host->lookup->access_check(CURSUS_ACCESS_PORT, &p, &v, &error) ==
        CURSUS_OK) {
      host->conn->printf(c, "+OK %d %s\r\n", v->action, v->text ? v->text : "");
      host->lookup->access_verdict_free(&v);
    } else {
      host->conn->printf(c, "-ERR %s\r\n", error);
    }
  } else if (strcmp(cmd, "QUIT") == 0) {
    host->conn->printf(c, "+OK bye\r\n");
    host->conn->close(c);
  } else {
    host->conn->printf(c, "-ERR unknown command\r\n");
  }
  host->buf_free(&out);
  free(cmd);
}

static void tl_event(void *data, unsigned events) {
  session *s = data;
  if (events & (CURSUS_EVENT_TIMEOUT | CURSUS_EVENT_SHUTDOWN))
    host->conn->close(s->conn);
}

static void tl_close(void *data) {
  session *s = data;
  if (s->busy) { /* resolve_done frees it */
    s->closed = 1;
    return;
  }
  free(s->address);
  free(s);
}

static const char *const tl_names[] = {"lookup", NULL};

static const cursus_protocol_ops tl_ops = {
    .size = sizeof(cursus_protocol_ops),
    .names = tl_names,
    .busy_reply = "-ERR busy\r\n",
    .session_open = tl_open,
    .on_line = tl_line,
    .on_event = tl_event,
    .session_close = tl_close,
};

CURSUS_MODULE(.name = "test_lookup", .version = "1.0",
              .vendor = "Cursus tests", .license = "MIT",
              .description = "asks host->lookup, for tests",
              .kinds = CURSUS_KIND_PROTOCOL, .processes = CURSUS_PROC_WORKER,
              .init = tl_init, .protocol = &tl_ops);
