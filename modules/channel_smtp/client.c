/*
 * client.c - one SMTP or LMTP client connection (blocking, with timeouts)
 */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <cursus/common.h>

/* Most lines of one reply, and longest line kept. */
#define REPLY_MAX_LINES 100
#define REPLY_LINE_MAX 4096

/* out_buf - the connection's pending output (commands pipelined until
 * the next flush) */
static GString *out_buf(client_conn *c) {
  if (c->out == NULL)
    c->out = g_string_sized_new(1024);
  return c->out;
}

static void set_error(client_reply *r, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
static void set_error(client_reply *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  r->code = 0;
  strcpy(r->enh, "");
  g_vsnprintf(r->text, sizeof(r->text), fmt, ap);
  va_end(ap);
}

int client_reply_status(const client_reply *r) {
  if (r->code >= 200 && r->code < 400)
    return CURSUS_OK;
  if (r->code >= 500 && r->code < 600)
    return CURSUS_PERMFAIL;
  return CURSUS_TEMPFAIL;
}

/* ---------------------------------------------------------------- I/O */

/* wait_fd - poll FD for EVENTS up to MS; 1 ready, 0 timeout, -1 error */
static int wait_fd(int fd, short events, unsigned ms) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int rc = poll(&p, 1, (int)ms);
    if (rc < 0 && errno == EINTR)
      continue;
    return rc < 0 ? -1 : rc;
  }
}

static bool write_all(client_conn *c, const char *data, size_t len,
                      client_reply *r) {
  while (len > 0) {
    ssize_t n;
    if (c->tls) {
      n = gnutls_record_send(c->tls_session, data, len);
      if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
        continue;
      if (n < 0) {
        c->broken = true;
        set_error(r, "TLS write to %s failed: %s", c->peer_addr,
                  gnutls_strerror((int)n));
        return false;
      }
    } else {
      n = send(c->fd, data, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        c->broken = true;
        set_error(r, "write to %s failed: %s", c->peer_addr,
                  errno == EAGAIN ? "timed out" : g_strerror(errno));
        return false;
      }
    }
    data += n;
    len -= (size_t)n;
  }
  return true;
}

/* fill - read more input; false on EOF, error or timeout */
static bool fill(client_conn *c, unsigned ms, client_reply *r) {
  if (c->in_start > 0) {
    memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
    c->in_end -= c->in_start;
    c->in_start = 0;
  }
  if (c->in_end == sizeof(c->in)) {
    c->broken = true;
    set_error(r, "reply line from %s too long", c->peer_addr);
    return false;
  }
  for (;;) {
    bool pending = c->tls && gnutls_record_check_pending(c->tls_session) > 0;
    if (!pending) {
      int w = wait_fd(c->fd, POLLIN, ms);
      if (w <= 0) {
        c->broken = true;
        set_error(r, "%s: no reply from %s", w == 0 ? "timeout" : "error",
                  c->peer_addr);
        return false;
      }
    }
    ssize_t n;
    if (c->tls) {
      n = gnutls_record_recv(c->tls_session, c->in + c->in_end,
                             sizeof(c->in) - c->in_end);
      if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
        continue;
    } else {
      n = recv(c->fd, c->in + c->in_end, sizeof(c->in) - c->in_end, 0);
      if (n < 0 && errno == EINTR)
        continue;
    }
    if (n <= 0) {
      c->broken = true;
      set_error(r, "connection to %s lost%s%s", c->peer_addr,
                n < 0 ? ": " : "",
                n < 0 ? (c->tls ? gnutls_strerror((int)n) : g_strerror(errno))
                      : "");
      return false;
    }
    c->in_end += (size_t)n;
    return true;
  }
}

/* read_line - the next line without CRLF into LINE (truncated to SIZE) */
static bool read_line(client_conn *c, unsigned ms, char *line, size_t size,
                      client_reply *r) {
  for (;;) {
    char *nl = memchr(c->in + c->in_start, '\n', c->in_end - c->in_start);
    if (nl != NULL) {
      size_t n = (size_t)(nl - (c->in + c->in_start));
      size_t keep = n;
      if (keep > 0 && c->in[c->in_start + keep - 1] == '\r')
        keep--;
      if (keep >= size)
        keep = size - 1;
      memcpy(line, c->in + c->in_start, keep);
      line[keep] = '\0';
      c->in_start += n + 1;
      return true;
    }
    if (!fill(c, ms, r))
      return false;
  }
}

bool client_flush(client_conn *c, client_reply *r) {
  GString *out = out_buf(c);
  bool ok = out->len == 0 || write_all(c, out->str, out->len, r);
  g_string_truncate(out, 0);
  return ok;
}

void client_send(client_conn *c, const char *line) {
  GString *out = out_buf(c);
  g_string_append(out, line);
  g_string_append(out, "\r\n");
}

bool client_read_reply(client_conn *c, unsigned ms, client_reply *r) {
  char line[REPLY_LINE_MAX];
  if (!client_flush(c, r))
    return false;
  r->code = 0;
  r->enh[0] = '\0';
  r->text[0] = '\0';
  size_t tlen = 0;
  for (unsigned n = 0;; n++) {
    if (!read_line(c, ms, line, sizeof(line), r))
      return false;
    if (strlen(line) < 3 || !g_ascii_isdigit(line[0]) ||
        !g_ascii_isdigit(line[1]) || !g_ascii_isdigit(line[2]) ||
        (line[3] != '\0' && line[3] != ' ' && line[3] != '-') ||
        n >= REPLY_MAX_LINES) {
      c->broken = true;
      set_error(r, "malformed reply from %s: \"%.200s\"", c->peer_addr, line);
      return false;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (n > 0 && code != r->code) {
      c->broken = true;
      set_error(r, "inconsistent reply codes from %s", c->peer_addr);
      return false;
    }
    r->code = code;
    const char *text = line[3] != '\0' ? line + 4 : "";
    /* the enhanced status code of the first line (RFC 2034) */
    if (n == 0 && g_ascii_isdigit(text[0]) && text[1] == '.') {
      size_t k = strspn(text, "0123456789.");
      if (k < sizeof(r->enh) && (text[k] == ' ' || text[k] == '\0')) {
        memcpy(r->enh, text, k);
        r->enh[k] = '\0';
        text += k;
        while (*text == ' ')
          text++;
      }
    }
    if (tlen + 3 < sizeof(r->text)) {
      int w = g_snprintf(r->text + tlen, sizeof(r->text) - tlen, "%s%s",
                         n > 0 ? "; " : "", text);
      tlen = MIN(sizeof(r->text) - 1, tlen + (size_t)MAX(w, 0));
    }
    if (line[3] != '-')
      break;
  }
  return true;
}

bool client_command(client_conn *c, const char *line, client_reply *r) {
  client_send(c, line);
  return client_read_reply(c, c->to.command_ms, r);
}

/* ---------------------------------------------------------- connecting */

static client_conn *conn_new(int fd, const client_timeouts *to, bool lmtp,
                             const char *name, const char *addr) {
  client_conn *c = g_new0(client_conn, 1);
  c->fd = fd;
  c->to = *to;
  c->lmtp = lmtp;
  c->peer_name = g_strdup(name);
  c->peer_addr = g_strdup(addr);
  struct timeval tv = {.tv_sec = to->data_ms / 1000,
                       .tv_usec = (to->data_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return c;
}

/* connect_timed - connect FD to SA within MS; 0 or an errno */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len,
                         unsigned ms) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int err = 0;
  if (connect(fd, sa, len) < 0) {
    if (errno != EINPROGRESS)
      return errno;
    int w = wait_fd(fd, POLLOUT, ms);
    if (w <= 0)
      return w == 0 ? ETIMEDOUT : errno;
    socklen_t el = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  }
  fcntl(fd, F_SETFL, flags);
  return err;
}

static client_conn *greet(client_conn *c, client_reply *r) {
  if (!client_read_reply(c, c->to.command_ms, r)) {
    client_close(&c, false);
    return NULL;
  }
  if (r->code != 220) {
    client_close(&c, true);
    return NULL;
  }
  return c;
}

client_conn *client_connect_tcp(const struct sockaddr *addr, socklen_t len,
                                unsigned port, const char *peer_name,
                                const char *peer_addr, const char *bind_addr,
                                const client_timeouts *to, bool lmtp,
                                client_reply *r) {
  struct sockaddr_storage sa;
  memcpy(&sa, addr, len);
  if (sa.ss_family == AF_INET)
    ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    set_error(r, "cannot create a socket: %s", g_strerror(errno));
    return NULL;
  }
  if (bind_addr != NULL) {
    struct sockaddr_storage b = {0};
    b.ss_family = sa.ss_family;
    void *raw = sa.ss_family == AF_INET
                    ? (void *)&((struct sockaddr_in *)&b)->sin_addr
                    : (void *)&((struct sockaddr_in6 *)&b)->sin6_addr;
    if (inet_pton(sa.ss_family, bind_addr, raw) == 1 &&
        bind(fd, (struct sockaddr *)&b, len) < 0) {
      set_error(r, "cannot bind to %s: %s", bind_addr, g_strerror(errno));
      close(fd);
      return NULL;
    }
  }
  int err = connect_timed(fd, (struct sockaddr *)&sa, len, to->connect_ms);
  if (err != 0) {
    set_error(r, "cannot connect to %s[%s]:%u: %s", peer_name, peer_addr, port,
              g_strerror(err));
    close(fd);
    return NULL;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char *where = g_strdup_printf("%s[%s]", peer_name, peer_addr);
  client_conn *c = conn_new(fd, to, lmtp, peer_name, where);
  g_free(where);
  return greet(c, r);
}

client_conn *client_connect_unix(const char *path, const client_timeouts *to,
                                 bool lmtp, client_reply *r) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sun.sun_path)) {
    set_error(r, "socket path %s is too long", path);
    return NULL;
  }
  strcpy(sun.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    set_error(r, "cannot create a socket: %s", g_strerror(errno));
    return NULL;
  }
  int err = connect_timed(fd, (struct sockaddr *)&sun, sizeof(sun),
                          to->connect_ms);
  if (err != 0) {
    set_error(r, "cannot connect to %s: %s", path, g_strerror(err));
    close(fd);
    return NULL;
  }
  return greet(conn_new(fd, to, lmtp, path, path), r);
}

/* parse_ext - one EHLO keyword line */
static void parse_ext(client_conn *c, const char *kw) {
  static const struct {
    const char *name;
    unsigned bit;
  } table[] = {{"PIPELINING", EXT_PIPELINING},
               {"8BITMIME", EXT_8BITMIME},
               {"BINARYMIME", EXT_BINARYMIME},
               {"CHUNKING", EXT_CHUNKING},
               {"SMTPUTF8", EXT_SMTPUTF8},
               {"DSN", EXT_DSN},
               {"STARTTLS", EXT_STARTTLS},
               {"ENHANCEDSTATUSCODES", EXT_ENHANCEDSTATUSCODES}};
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
    if (g_ascii_strcasecmp(kw, table[i].name) == 0)
      c->ext |= table[i].bit;
  if (g_ascii_strncasecmp(kw, "SIZE", 4) == 0 &&
      (kw[4] == '\0' || kw[4] == ' ')) {
    c->ext |= EXT_SIZE;
    c->max_size = g_ascii_strtoull(kw + 4, NULL, 10);
  }
}

bool client_hello(client_conn *c, const char *helo_name, bool try_ehlo,
                  client_reply *r) {
  char *cmd = g_strdup_printf("%s %s", c->lmtp ? "LHLO" : "EHLO", helo_name);
  c->ext = 0;
  c->max_size = 0;
  bool ok = true;
  if (c->lmtp || try_ehlo) {
    client_send(c, cmd);
    if (!client_flush(c, r)) {
      g_free(cmd);
      return false;
    }
    char line[REPLY_LINE_MAX];
    r->code = 0;
    for (unsigned n = 0; n < REPLY_MAX_LINES; n++) {
      if (!read_line(c, c->to.command_ms, line, sizeof(line), r)) {
        g_free(cmd);
        return false;
      }
      if (strlen(line) < 3 || !g_ascii_isdigit(line[0])) {
        c->broken = true;
        set_error(r, "malformed reply from %s to EHLO", c->peer_addr);
        g_free(cmd);
        return false;
      }
      r->code = atoi(line);
      g_strlcpy(r->text, line[3] ? line + 4 : "", sizeof(r->text));
      if (n > 0 && r->code == 250)
        parse_ext(c, line + 4);
      if (line[3] != '-')
        break;
    }
    ok = r->code == 250;
  }
  g_free(cmd);
  if (ok && (c->lmtp || try_ehlo))
    return true;
  if (c->lmtp)
    return false;
  /* a server that does not know EHLO (RFC 5321 3.2) */
  cmd = g_strdup_printf("HELO %s", helo_name);
  ok = client_command(c, cmd, r) && r->code == 250;
  g_free(cmd);
  return ok;
}

/* ---------------------------------------------------------------- TLS */

static gsize tls_ready;

void client_shutdown(void) {
  if (tls_ready)
    gnutls_global_deinit();
}

bool client_starttls(client_conn *c, const char *priority, client_reply *r) {
  if (g_once_init_enter(&tls_ready)) {
    gnutls_global_init();
    g_once_init_leave(&tls_ready, 1);
  }
  if (!client_command(c, "STARTTLS", r))
    return false;
  if (r->code != 220)
    return false;
  gnutls_session_t s;
  gnutls_certificate_credentials_t cred;
  gnutls_certificate_allocate_credentials(&cred);
  gnutls_certificate_set_x509_system_trust(cred);
  gnutls_init(&s, GNUTLS_CLIENT);
  const char *err_pos = NULL;
  int rc = priority != NULL ? gnutls_priority_set_direct(s, priority, &err_pos)
                            : gnutls_set_default_priority(s);
  if (rc < 0)
    gnutls_set_default_priority(s);
  gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
  if (c->peer_name != NULL && c->peer_name[0] != '[' &&
      c->peer_name[0] != '/')
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, c->peer_name,
                           strlen(c->peer_name));
  gnutls_transport_set_int(s, c->fd);
  gnutls_handshake_set_timeout(s, c->to.command_ms);
  do {
    rc = gnutls_handshake(s);
  } while (rc < 0 && !gnutls_error_is_fatal(rc));
  c->tls_session = s;
  c->tls_cred = cred;
  if (rc < 0) {
    c->broken = true;
    set_error(r, "TLS handshake with %s failed: %s", c->peer_addr,
              gnutls_strerror(rc));
    return false;
  }
  c->tls = true;
  c->in_start = c->in_end = 0; /* nothing sent before TLS counts */
  return true;
}

/* ------------------------------------------------------------ content */

bool client_send_data(client_conn *c, int fd, uint64_t offset, uint64_t len,
                      client_reply *r) {
  char in[65536];
  GString *out = g_string_sized_new(sizeof(in) + 1024);
  bool bol = true; /* at the beginning of a line */
  char last = '\n';
  uint64_t done = 0;
  bool ok = true;
  while (done < len && ok) {
    size_t want = (size_t)MIN((uint64_t)sizeof(in), len - done);
    ssize_t n = pread(fd, in, want, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      set_error(r, "cannot read the queued message: %s",
                n < 0 ? g_strerror(errno) : "file is short");
      r->code = -1;
      g_string_free(out, TRUE);
      return false;
    }
    /* line by line: a dot starting a line is doubled (RFC 5321 4.5.2) */
    for (const char *p = in, *end = in + n; p < end;) {
      if (bol && *p == '.')
        g_string_append_c(out, '.');
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      const char *stop = nl != NULL ? nl + 1 : end;
      g_string_append_len(out, p, stop - p);
      bol = nl != NULL;
      p = stop;
    }
    last = in[n - 1];
    done += (uint64_t)n;
    ok = write_all(c, out->str, out->len, r);
    g_string_truncate(out, 0);
  }
  if (ok) {
    g_string_append(out, last == '\n' ? ".\r\n" : "\r\n.\r\n");
    ok = write_all(c, out->str, out->len, r);
  }
  g_string_free(out, TRUE);
  return ok;
}

bool client_send_bdat(client_conn *c, int fd, uint64_t offset, uint64_t len,
                      client_reply *r) {
  char head[64], in[65536];
  g_snprintf(head, sizeof(head), "BDAT %" G_GUINT64_FORMAT " LAST\r\n", len);
  if (!write_all(c, head, strlen(head), r))
    return false;
  uint64_t done = 0;
  while (done < len) {
    size_t want = (size_t)MIN((uint64_t)sizeof(in), len - done);
    ssize_t n = pread(fd, in, want, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      /* the chunk size is promised: the connection cannot be reused */
      c->broken = true;
      set_error(r, "cannot read the queued message");
      r->code = -1;
      return false;
    }
    if (!write_all(c, in, (size_t)n, r))
      return false;
    done += (uint64_t)n;
  }
  return true;
}

void client_close(client_conn **cp, bool graceful) {
  client_conn *c = *cp;
  if (c == NULL)
    return;
  *cp = NULL;
  if (graceful && !c->broken) {
    client_reply r;
    client_send(c, "QUIT");
    client_read_reply(c, MIN(c->to.command_ms, 5000u), &r);
  }
  if (c->out != NULL)
    g_string_free(c->out, TRUE);
  if (c->tls_session != NULL) {
    if (c->tls && !c->broken)
      gnutls_bye(c->tls_session, GNUTLS_SHUT_WR);
    gnutls_deinit(c->tls_session);
  }
  if (c->tls_cred != NULL)
    gnutls_certificate_free_credentials(c->tls_cred);
  close(c->fd);
  g_free(c->peer_name);
  g_free(c->peer_addr);
  g_free(c);
}
