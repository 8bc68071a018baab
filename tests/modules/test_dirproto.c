/*
 * test_dirproto.c - a protocol module for the tests of the directory and
 * authentication services as a worker offers them (host->auth,
 * host->directory)
 *
 * Commands (one per line, answers "+OK ...", "-NO ...", "-TEMP ..."):
 *   LOGIN login password     host->auth->verify_password (a failure also
 *                            reports host->auth->login_failed's delay)
 *   MECHS                    host->auth->mechanisms
 *   AUTH mech [base64]       a SASL exchange through host->auth; the
 *                            server's challenges come as "+ base64", the
 *                            client answers with a base64 line
 *   FIND address-or-login    host->directory->find_user
 *   DOMAIN name              host->directory->find_domain
 *   SCRAM login              host->auth->scram_secret (SCRAM-SHA-256)
 *   AUTOREPLY rcpt sender file   host->directory->autoreply for the
 *                            message in FILE ("-" for the null sender)
 *   QUIT
 */
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <cursus/cursus.h>

static const cursus_host *host;

typedef struct session {
  cursus_conn *conn;
  cursus_sasl *sasl;
  cursus_auth_info info;
} session;

static int dp_init(cursus_module_ctx *ctx, const cursus_host *h,
                   const char **error_r) {
  host = h;
  return CURSUS_OK;
}

static int dp_open(cursus_module_ctx *ctx, cursus_conn *conn,
                   void **session_r, const char **error_r) {
  session *s = g_new0(session, 1);
  s->conn = conn;
  const cursus_conn_info *ci = host->conn->info(conn);
  s->info.service = "imap";
  s->info.remote_ip = ci->remote_ip;
  s->info.tls = ci->tls;
  host->conn->set_line_limit(conn, 4096);
  host->conn->printf(conn, "+OK dirproto ready\r\n");
  *session_r = s;
  return CURSUS_OK;
}

static void reply(session *s, int rc, const char *what) {
  const char *tag = rc == CURSUS_OK     ? "+OK"
                    : rc == CURSUS_NONE ? "-NO"
                    : rc == CURSUS_TEMPFAIL ? "-TEMP"
                                            : "-BAD";
  host->conn->printf(s->conn, "%s %s\r\n", tag, what != NULL ? what : "");
}

/* sasl_continue - one step with the decoded client data IN */
static void sasl_continue(session *s, const char *in, size_t len) {
  cursus_buf out = {0};
  const char *user = NULL, *error = NULL;
  int rc = host->auth->sasl_step(s->sasl, in, len, &out, &user, &error);
  if (rc == CURSUS_AGAIN) {
    char *b64 = g_base64_encode((const guchar *)(out.data ? out.data : ""),
                                out.len);
    host->conn->printf(s->conn, "+ %s\r\n", b64);
    g_free(b64);
  } else {
    reply(s, rc, rc == CURSUS_OK ? user : error);
    host->auth->sasl_finish(&s->sasl);
  }
  host->buf_free(&out);
}

static void cmd_auth(session *s, char **w) {
  const char *error = NULL;
  if (w[1] == NULL) {
    reply(s, CURSUS_PERMFAIL, "AUTH mech [initial]");
    return;
  }
  s->sasl = host->auth->sasl_start(w[1], &s->info, &error);
  if (s->sasl == NULL) {
    reply(s, CURSUS_PERMFAIL, error);
    return;
  }
  if (w[2] == NULL) {
    sasl_continue(s, NULL, 0);
    return;
  }
  gsize len = 0;
  guchar *in = g_base64_decode(w[2], &len);
  sasl_continue(s, (const char *)in, len);
  g_free(in);
}

static void cmd_login(session *s, char **w) {
  cursus_buf user = {0};
  const char *error = NULL;
  if (w[1] == NULL || w[2] == NULL) {
    reply(s, CURSUS_PERMFAIL, "LOGIN login password");
    return;
  }
  int rc = host->auth->verify_password(w[1], w[2], &s->info, &user, &error);
  if (rc == CURSUS_NONE) {
    unsigned ms = host->auth->login_failed(w[1], s->info.remote_ip);
    char *why = g_strdup_printf("%s delay=%u", error ? error : "", ms);
    reply(s, rc, why);
    g_free(why);
  } else {
    reply(s, rc, rc == CURSUS_OK ? user.data : error);
  }
  host->buf_free(&user);
}

static void cmd_find(session *s, char **w) {
  cursus_entry *e = NULL;
  cursus_buf id = {0};
  const char *error = NULL;
  int rc;
  if (host->directory == NULL) {
    reply(s, CURSUS_TEMPFAIL, "no directory");
    return;
  }
  if (g_ascii_strcasecmp(w[0], "DOMAIN") == 0)
    rc = host->directory->find_domain(w[1], &e, &error);
  else
    rc = host->directory->find_user(w[1], &e, &id, &error);
  if (rc == CURSUS_OK) {
    char *what = g_strdup_printf("%s %s", e->dn, id.data ? id.data : "");
    reply(s, rc, what);
    g_free(what);
    host->directory->entry_free(&e);
  } else {
    reply(s, rc, error);
  }
  host->buf_free(&id);
}

static void cmd_autoreply(session *s, const char *args) {
  char **w = g_strsplit(args, " ", 3);
  if (g_strv_length(w) != 3) {
    reply(s, CURSUS_PERMFAIL, "AUTOREPLY recipient sender file");
    g_strfreev(w);
    return;
  }
  int fd = open(w[2], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    reply(s, CURSUS_PERMFAIL, "cannot open the file");
  } else {
    cursus_autoreply_msg m = {strcmp(w[1], "-") == 0 ? "" : w[1], w[0], fd,
                              (uint64_t)st.st_size, 0, "l"};
    const char *error = NULL;
    int rc = host->directory->autoreply(NULL, &m, &error);
    reply(s, rc, rc == CURSUS_OK ? "replied" : error);
  }
  if (fd >= 0)
    close(fd);
  g_strfreev(w);
}

static void dp_line(void *data, const char *line, size_t len, unsigned flags) {
  session *s = data;
  char *text = g_strndup(line, len);
  if (s->sasl != NULL) {
    gsize n = 0;
    guchar *in = g_base64_decode(text, &n);
    sasl_continue(s, (const char *)in, n);
    g_free(in);
    g_free(text);
    return;
  }
  char **w = g_strsplit(text, " ", 3);
  const char *cmd = w[0] != NULL ? w[0] : "";
  if (g_ascii_strcasecmp(cmd, "QUIT") == 0) {
    reply(s, CURSUS_OK, "bye");
    host->conn->close(s->conn);
  } else if (g_ascii_strcasecmp(cmd, "MECHS") == 0) {
    reply(s, CURSUS_OK, host->auth->mechanisms(&s->info));
  } else if (g_ascii_strcasecmp(cmd, "LOGIN") == 0) {
    cmd_login(s, w);
  } else if (g_ascii_strcasecmp(cmd, "AUTH") == 0) {
    cmd_auth(s, w);
  } else if ((g_ascii_strcasecmp(cmd, "FIND") == 0 ||
              g_ascii_strcasecmp(cmd, "DOMAIN") == 0) && w[1] != NULL) {
    cmd_find(s, w);
  } else if (g_ascii_strcasecmp(cmd, "AUTOREPLY") == 0 && w[1] != NULL) {
    cmd_autoreply(s, text + 10);
  } else if (g_ascii_strcasecmp(cmd, "SCRAM") == 0 && w[1] != NULL) {
    cursus_buf secret = {0}, user = {0};
    const char *error = NULL;
    int rc = host->auth->scram_secret(w[1], "SCRAM-SHA-256", &s->info,
                                      &secret, &user, &error);
    char *what = rc == CURSUS_OK ? g_strdup_printf("%s %s", user.data,
                                                   secret.data)
                                 : g_strdup(error);
    reply(s, rc, what);
    g_free(what);
    host->buf_free(&secret);
    host->buf_free(&user);
  } else {
    reply(s, CURSUS_PERMFAIL, "unknown command");
  }
  g_strfreev(w);
  g_free(text);
}

static void dp_event(void *data, unsigned events) {
  session *s = data;
  if (events & (CURSUS_EVENT_TIMEOUT | CURSUS_EVENT_SHUTDOWN))
    host->conn->close(s->conn);
}

static void dp_close(void *data) {
  session *s = data;
  host->auth->sasl_finish(&s->sasl);
  g_free(s);
}

static const char *const names[] = {"dirproto", NULL};

static const cursus_protocol_ops ops = {
    .size = sizeof(cursus_protocol_ops),
    .names = names,
    .session_open = dp_open,
    .on_line = dp_line,
    .on_event = dp_event,
    .session_close = dp_close,
};

CURSUS_MODULE(.name = "test_dirproto", .version = "1.0",
              .vendor = "Cursus tests", .license = "MIT",
              .description = "directory and auth services for tests",
              .kinds = CURSUS_KIND_PROTOCOL, .init = dp_init,
              .protocol = &ops);
