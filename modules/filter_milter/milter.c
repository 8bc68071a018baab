/*
 * milter.c - filter_milter: content filtering by milters
 *
 * A milter is a separate program speaking the Sendmail mail filter
 * protocol (OpenDKIM, rspamd, ClamAV and SpamAssassin milters ...).  Each
 * [contentfilter NAME] naming this module is one milter at one address.
 * At the DATA stage the module connects, negotiates version 6 options
 * and macros, replays the whole transaction -- connect, HELO, MAIL, each
 * RCPT, DATA, the header fields, the body in 64 KiB chunks -- and applies
 * what the milter answers: header, body, sender and recipient changes,
 * quarantine, per-recipient refusals, and the final accept, continue,
 * reject, tempfail, discard or reply code.  Every read and write is
 * bounded by the milter's timeouts and the call's time left; a milter
 * that is down, slow, dies or sends garbage fails the call, and the
 * filter's default_action applies (filter.h).  Files: milter.c (module,
 * instance, conversation), mproto.c (protocol encoding; fuzzed).
 */
#define _GNU_SOURCE
#include "build-config.h"
#include "mproto.h"

#include <cursus/cursus.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const cursus_host *host;
static cursus_module_ctx *self;

/* One milter ([contentfilter NAME]). */
typedef struct milter {
  char *name;
  char *spec;
  char family;
  char *addr_host;
  unsigned port;
  char *path;
  unsigned connect_ms, command_ms, content_ms;
  unsigned version;
} milter;

/* One conversation (one message). */
typedef struct conv {
  const milter *m;
  cursus_filter_msg *msg;
  const cursus_filter_access *fa;
  int fd;
  GString *in, *out, *scratch;
  uint32_t version, actions, steps;
  char *symlists[MPROTO_M_COUNT];
  /* the verdict */
  cursus_filter_verdict *v;
  char status[16];
  char *text;
  char *quarantine;
  char err[256];
  bool body_replaced;
} conv;

/* What one event's replies said. */
enum { EV_CONTINUE, EV_ACCEPT, EV_SKIP, EV_REFUSE, EV_DISCARD, EV_ERROR };

/* ------------------------------------------------------------ helpers */

static int fail(conv *c, const char *fmt, ...) CURSUS_PRINTF(2, 3);
static int fail(conv *c, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  g_vsnprintf(c->err, sizeof(c->err), fmt, args);
  va_end(args);
  return EV_ERROR;
}

/* deadline - now plus MS, but not after the call's own end */
static gint64 deadline(const conv *c, unsigned ms) {
  unsigned left = c->fa->time_left(c->msg);
  return g_get_monotonic_time() + (gint64)MIN(ms, left) * 1000;
}

/* wait_fd - poll FD for EVENTS until DEADLINE; false on timeout/error */
static bool wait_fd(int fd, short events, gint64 until) {
  for (;;) {
    gint64 left = until - g_get_monotonic_time();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, (int)MIN((left + 999) / 1000, 60000));
    if (n > 0)
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
}

static bool send_all(conv *c, gint64 until) {
  size_t done = 0;
  while (done < c->out->len) {
    ssize_t n = send(c->fd, c->out->str + done, c->out->len - done,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        wait_fd(c->fd, POLLOUT, until))
      continue;
    fail(c, "milter %s: cannot send: %s", c->m->name,
         errno == ETIMEDOUT ? "timed out" : g_strerror(errno));
    return false;
  }
  g_string_truncate(c->out, 0);
  return true;
}

/* read_reply - the next reply; false with c->err */
static bool read_reply(conv *c, mreply *r, gint64 until) {
  for (;;) {
    size_t used = 0, need = 0;
    const char *why = NULL;
    int rc = mproto_read(c->in->str, c->in->len, &used, &need, r, c->scratch,
                         &why);
    if (rc == MPROTO_OK) {
      g_string_erase(c->in, 0, (gssize)used);
      return true;
    }
    if (rc == MPROTO_BAD) {
      fail(c, "milter %s: %s", c->m->name, why);
      return false;
    }
    char buf[16384];
    if (!wait_fd(c->fd, POLLIN, until)) {
      fail(c, "milter %s: no reply: %s", c->m->name,
           errno == ETIMEDOUT ? "timed out" : g_strerror(errno));
      return false;
    }
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) {
      fail(c, "milter %s: the milter closed the connection", c->m->name);
      return false;
    }
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      fail(c, "milter %s: cannot read: %s", c->m->name, g_strerror(errno));
      return false;
    }
    if (n > 0)
      g_string_append_len(c->in, buf, n);
  }
}

/* set_refusal - the verdict from a reject, tempfail or reply code */
static bool set_refusal(conv *c, const mreply *r) {
  cursus_filter_verdict *v = c->v;
  g_free(c->text);
  c->text = NULL;
  c->status[0] = '\0';
  v->code = 0;
  if (r->code == SMFIR_REPLYCODE) {
    unsigned code;
    const char *text;
    if (!mproto_parse_reply(r->value, &code, c->status, sizeof(c->status),
                            &text))
      return false;
    v->action = code >= 500 ? CURSUS_FILTER_REJECT : CURSUS_FILTER_TEMPFAIL;
    v->code = code;
    c->text = *text != '\0' ? g_strdup(text) : NULL;
  } else {
    v->action = r->code == SMFIR_REJECT ? CURSUS_FILTER_REJECT
                                        : CURSUS_FILTER_TEMPFAIL;
  }
  v->status = c->status[0] != '\0' ? c->status : NULL;
  v->text = c->text;
  return true;
}

/* verdict - the event of a reply that ends the conversation with a
 * verdict (discard, reject, tempfail, reply code, connection failure or
 * shutdown), recorded in c->v */
static int verdict(conv *c, const mreply *r) {
  switch (r->code) {
  case SMFIR_DISCARD:
    c->v->action = CURSUS_FILTER_DISCARD;
    return EV_DISCARD;
  case SMFIR_CONN_FAIL:
  case SMFIR_SHUTDOWN:
    c->v->action = CURSUS_FILTER_TEMPFAIL;
    return EV_REFUSE;
  default: /* SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_REPLYCODE */
    if (!set_refusal(c, r))
      return fail(c, "milter %s: malformed reply code \"%s\"", c->m->name,
                  r->value);
    return EV_REFUSE;
  }
}

/* event - send COMMAND (after its macros) and read its replies, unless
 * the milter asked not to get it (NO) or not to answer it (NR) */
static int event(conv *c, char command, const void *data, size_t len,
                 const char *const *macros, int stage, uint32_t no,
                 uint32_t nr, unsigned timeout_ms) {
  if (c->steps & no)
    return EV_CONTINUE;
  if (macros != NULL)
    mproto_put_macros(c->out, command, macros, c->symlists[stage]);
  mproto_put(c->out, command, data, len);
  gint64 until = deadline(c, timeout_ms);
  if (!send_all(c, until))
    return EV_ERROR;
  if (c->steps & nr)
    return EV_CONTINUE;
  for (;;) {
    mreply r;
    if (!read_reply(c, &r, until))
      return EV_ERROR;
    switch (r.code) {
    case SMFIR_PROGRESS:
      until = deadline(c, timeout_ms);
      continue;
    case SMFIR_CONTINUE:
      return EV_CONTINUE;
    case SMFIR_ACCEPT:
      return EV_ACCEPT;
    case SMFIR_SKIP:
      if (command == SMFIC_BODY)
        return EV_SKIP;
      return fail(c, "milter %s: skip outside the body", c->m->name);
    case SMFIR_DISCARD:
    case SMFIR_REJECT:
    case SMFIR_TEMPFAIL:
    case SMFIR_REPLYCODE:
    case SMFIR_CONN_FAIL:
    case SMFIR_SHUTDOWN:
      return verdict(c, &r);
    default:
      return fail(c, "milter %s: unexpected reply '%c' to command '%c'",
                  c->m->name, g_ascii_isprint(r.code) ? r.code : '?', command);
    }
  }
}

/* ---------------------------------------------------------- connecting */

static bool connect_milter(conv *c) {
  const milter *m = c->m;
  gint64 until = deadline(c, m->connect_ms);
  if (m->family == 'L') {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(m->path) >= sizeof(sun.sun_path)) {
      fail(c, "milter %s: socket path too long", m->name);
      return false;
    }
    memcpy(sun.sun_path, m->path, strlen(m->path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd >= 0 &&
        connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
      return true;
    if (c->fd >= 0 && errno == EAGAIN && wait_fd(c->fd, POLLOUT, until))
      return true;
    fail(c, "milter %s: cannot connect to %s: %s", m->name, m->path,
         g_strerror(errno));
    return false;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                           .ai_family = m->family == '6' ? AF_INET6 : AF_UNSPEC};
  struct addrinfo *res = NULL;
  char port[16];
  snprintf(port, sizeof(port), "%u", m->port);
  int gai = getaddrinfo(m->addr_host, port, &hints, &res);
  if (gai != 0) {
    fail(c, "milter %s: %s: %s", m->name, m->addr_host, gai_strerror(gai));
    return false;
  }
  int err = 0;
  for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
    c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   0);
    if (c->fd < 0) {
      err = errno;
      continue;
    }
    if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0 ||
        (errno == EINPROGRESS && wait_fd(c->fd, POLLOUT, until))) {
      socklen_t len = sizeof(err);
      err = 0;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        break;
    } else {
      err = errno;
    }
    close(c->fd);
    c->fd = -1;
  }
  freeaddrinfo(res);
  if (c->fd >= 0)
    return true;
  fail(c, "milter %s: cannot connect to %s: %s", m->name, m->spec,
       g_strerror(err));
  return false;
}

/* negotiate - SMFIC_OPTNEG and its reply */
static bool negotiate(conv *c) {
  unsigned char d[12];
  uint32_t vals[3] = {c->m->version, SMFIF_ALL,
                      c->m->version >= 6 ? MPROTO_V6_STEPS : MPROTO_V2_STEPS};
  for (int i = 0; i < 3; i++) {
    d[i * 4] = (unsigned char)(vals[i] >> 24);
    d[i * 4 + 1] = (unsigned char)(vals[i] >> 16);
    d[i * 4 + 2] = (unsigned char)(vals[i] >> 8);
    d[i * 4 + 3] = (unsigned char)vals[i];
  }
  mproto_put(c->out, SMFIC_OPTNEG, d, sizeof(d));
  gint64 until = deadline(c, c->m->command_ms);
  mreply r;
  if (!send_all(c, until) || !read_reply(c, &r, until))
    return false;
  if (r.code != SMFIR_OPTNEG) {
    fail(c, "milter %s: no option negotiation but '%c'", c->m->name,
         g_ascii_isprint(r.code) ? r.code : '?');
    return false;
  }
  if (r.version < 2 || r.version > 6) {
    fail(c, "milter %s: protocol version %u is not supported", c->m->name,
         r.version);
    return false;
  }
  c->version = MIN(r.version, c->m->version);
  c->actions = r.actions & SMFIF_ALL;
  c->steps = r.steps & (c->version >= 6 ? MPROTO_V6_STEPS : MPROTO_V2_STEPS);
  for (int i = 0; i < MPROTO_M_COUNT; i++)
    c->symlists[i] = g_strdup(r.symlists[i]);
  return true;
}

/* ------------------------------------------------------------- events */

/* angle - "<ADDR>" */
static char *angle(const char *a) { return g_strdup_printf("<%s>", a); }

/* unangle - ADDR without its angle brackets */
static char *unangle(const char *a) {
  size_t n = strlen(a);
  if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
    return g_strndup(a + 1, n - 2);
  return g_strdup(a);
}

static const char *domain_of(const char *addr) {
  const char *at = strrchr(addr, '@');
  return at != NULL ? at + 1 : "";
}

/* envelope - connect, HELO, MAIL and the RCPTs; EV_CONTINUE to go on */
static int envelope(conv *c) {
  const cursus_filter_info *in = c->fa->info(c->msg);
  const char *ip = in->client_ip;
  char *name = in->client_name != NULL ? g_strdup(in->client_name)
               : ip != NULL            ? g_strdup_printf("[%s]", ip)
                                       : g_strdup("localhost");
  char port[16], sport[16];
  snprintf(port, sizeof(port), "%u", in->client_port);
  snprintf(sport, sizeof(sport), "%u", in->server_port);
  char *us = ip != NULL ? g_strdup_printf("%s [%s]", name, ip) : g_strdup(name);
  char *version = g_strdup_printf("Cursus %s", host->server_version);
  const char *conn_macros[] = {"j", in->hostname, "{daemon_name}", "cursus",
                               "v", version, "_", us, "{client_addr}", ip,
                               "{client_name}", name, "{client_port}",
                               ip != NULL ? port : NULL, "{client_ptr}",
                               in->client_name, "{daemon_addr}", in->server_ip,
                               "{daemon_port}",
                               in->server_ip != NULL ? sport : NULL,
                               "{if_addr}", in->server_ip, NULL, NULL};
  GString *d = g_string_new(name);
  g_string_append_c(d, '\0');
  if (ip == NULL) {
    g_string_append_c(d, 'U');
  } else {
    g_string_append_c(d, strchr(ip, ':') != NULL ? '6' : '4');
    unsigned char p[2] = {(unsigned char)(in->client_port >> 8),
                          (unsigned char)in->client_port};
    g_string_append_len(d, (const char *)p, 2);
    g_string_append_len(d, ip, (gssize)strlen(ip) + 1);
  }
  int ev = event(c, SMFIC_CONNECT, d->str, d->len, conn_macros,
                 MPROTO_M_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN,
                 c->m->command_ms);
  g_string_free(d, TRUE);
  g_free(us);
  g_free(version);
  g_free(name);
  if (ev != EV_CONTINUE)
    return ev;

  const char *helo = in->helo != NULL ? in->helo : in->hostname;
  const char *helo_macros[] = {NULL, NULL};
  ev = event(c, SMFIC_HELO, helo, strlen(helo) + 1, helo_macros,
             MPROTO_M_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, c->m->command_ms);
  if (ev != EV_CONTINUE)
    return ev;

  char *from = angle(in->sender);
  const char *mail_macros[] = {"i", in->queue_id,
                               "{auth_authen}", in->auth_user,
                               "{auth_type}", in->auth_user ? "LOGIN" : NULL,
                               "{mail_addr}", in->sender,
                               "{mail_host}", domain_of(in->sender),
                               "{mail_mailer}", "smtp", NULL, NULL};
  ev = event(c, SMFIC_MAIL, from, strlen(from) + 1, mail_macros,
             MPROTO_M_ENVFROM, SMFIP_NOMAIL, SMFIP_NR_MAIL, c->m->command_ms);
  g_free(from);
  if (ev != EV_CONTINUE)
    return ev;

  size_t n = c->fa->rcpt_count(c->msg), refused = 0;
  for (size_t i = 0; i < n; i++) {
    const cursus_filter_rcpt *r = c->fa->rcpt(c->msg, i);
    char *to = angle(r->address);
    const char *rcpt_macros[] = {"{rcpt_addr}", r->address,
                                 "{rcpt_host}", domain_of(r->address),
                                 "{rcpt_mailer}", r->channel, NULL, NULL};
    cursus_filter_verdict keep = *c->v;
    ev = event(c, SMFIC_RCPT, to, strlen(to) + 1, rcpt_macros,
               MPROTO_M_ENVRCPT, SMFIP_NORCPT, SMFIP_NR_RCPT,
               c->m->command_ms);
    g_free(to);
    if (ev == EV_REFUSE) {
      /* a refused RCPT refuses that recipient alone */
      const char *why = NULL;
      if (c->fa->rcpt_verdict(c->msg, i, c->v, &why) != CURSUS_OK)
        return fail(c, "milter %s: %s", c->m->name, why);
      *c->v = keep;
      refused++;
      continue;
    }
    if (ev != EV_CONTINUE)
      return ev;
  }
  if (n > 0 && refused == n)
    return EV_ACCEPT; /* nothing left to filter: the refusals stand */
  return EV_CONTINUE;
}

/* header_value - what the milter gets: without the leading white space
 * (unless it asked for it), folding with LF */
static char *header_value(const conv *c, const char *v) {
  if (!(c->steps & SMFIP_HDR_LEADSPC))
    while (*v == ' ' || *v == '\t')
      v++;
  GString *o = g_string_new(NULL);
  for (const char *p = v; *p != '\0'; p++)
    if (!(p[0] == '\r' && p[1] == '\n'))
      g_string_append_c(o, *p);
  return g_string_free(o, FALSE);
}

/* content - DATA, the header, EOH and the body */
static int content(conv *c) {
  const char *data_macros[] = {"i", c->fa->info(c->msg)->queue_id, NULL, NULL};
  int ev = EV_CONTINUE;
  if (c->version >= 4)
    ev = event(c, SMFIC_DATA, NULL, 0, data_macros, MPROTO_M_DATA,
               SMFIP_NODATA, SMFIP_NR_DATA, c->m->command_ms);
  size_t nh = c->fa->header_count(c->msg);
  for (size_t i = 0; i < nh && ev == EV_CONTINUE; i++) {
    const char *name, *value;
    c->fa->header(c->msg, i, &name, &value);
    char *v = header_value(c, value);
    const char *pair[] = {name, v, NULL};
    GString *d = g_string_new(NULL);
    for (int k = 0; pair[k] != NULL; k++)
      g_string_append_len(d, pair[k], (gssize)strlen(pair[k]) + 1);
    ev = event(c, SMFIC_HEADER, d->str, d->len, NULL, 0, SMFIP_NOHDRS,
               SMFIP_NR_HDR, c->m->command_ms);
    g_string_free(d, TRUE);
    g_free(v);
  }
  if (ev == EV_CONTINUE)
    ev = event(c, SMFIC_EOH, NULL, 0, NULL, 0, SMFIP_NOEOH, SMFIP_NR_EOH,
               c->m->command_ms);
  if (ev != EV_CONTINUE || (c->steps & SMFIP_NOBODY))
    return ev;
  uint64_t size = c->fa->body_size(c->msg), off = 0;
  char *buf = g_malloc(MPROTO_CHUNK);
  while (off < size && ev == EV_CONTINUE) {
    long long n = c->fa->body_read(c->msg, off, buf, MPROTO_CHUNK);
    if (n <= 0) {
      ev = fail(c, "milter %s: cannot read the body", c->m->name);
      break;
    }
    ev = event(c, SMFIC_BODY, buf, (size_t)n, NULL, 0, 0, SMFIP_NR_BODY,
               c->m->content_ms);
    off += (uint64_t)n;
  }
  g_free(buf);
  return ev == EV_SKIP ? EV_CONTINUE : ev;
}

/* ------------------------------------------------------ end of message */

/* allowed - the milter negotiated ACTION */
static bool allowed(conv *c, uint32_t action, char code) {
  if (c->actions & action)
    return true;
  fail(c, "milter %s: it sent '%c' without negotiating it", c->m->name, code);
  return false;
}

/* modify - one modification reply; false with c->err */
static bool modify(conv *c, const mreply *r) {
  const char *why = NULL;
  int rc = CURSUS_OK;
  char *a = NULL;
  switch (r->code) {
  case SMFIR_ADDHEADER:
    if (!allowed(c, SMFIF_ADDHDRS, r->code))
      return false;
    rc = c->fa->header_add(c->msg, r->name, r->value, &why);
    break;
  case SMFIR_INSHEADER:
    if (!allowed(c, SMFIF_ADDHDRS, r->code))
      return false;
    rc = c->fa->header_insert(c->msg, r->index, r->name, r->value, &why);
    break;
  case SMFIR_CHGHEADER:
    if (!allowed(c, SMFIF_CHGHDRS, r->code))
      return false;
    rc = c->fa->header_change(c->msg, r->name, MAX(r->index, 1u),
                              *r->value != '\0' ? r->value : NULL, &why);
    if (rc == CURSUS_NONE)
      rc = CURSUS_OK; /* no such field: nothing to change */
    break;
  case SMFIR_REPLBODY:
    if (!allowed(c, SMFIF_CHGBODY, r->code))
      return false;
    c->body_replaced = true;
    rc = c->fa->body_replace(c->msg, r->data, r->data_len, &why);
    break;
  case SMFIR_ADDRCPT:
  case SMFIR_ADDRCPT_PAR:
    if (!allowed(c, r->code == SMFIR_ADDRCPT ? SMFIF_ADDRCPT
                                             : SMFIF_ADDRCPT_PAR,
                 r->code))
      return false;
    a = unangle(r->value);
    rc = c->fa->rcpt_add(c->msg, a, &why);
    break;
  case SMFIR_DELRCPT:
    if (!allowed(c, SMFIF_DELRCPT, r->code))
      return false;
    a = unangle(r->value);
    rc = c->fa->rcpt_delete(c->msg, a, &why);
    if (rc == CURSUS_NONE)
      rc = CURSUS_OK;
    break;
  case SMFIR_CHGFROM:
    if (!allowed(c, SMFIF_CHGFROM, r->code))
      return false;
    a = unangle(r->value);
    rc = c->fa->sender_change(c->msg, a, &why);
    break;
  case SMFIR_QUARANTINE:
    if (!allowed(c, SMFIF_QUARANTINE, r->code))
      return false;
    g_free(c->quarantine);
    c->quarantine = g_strdup(r->value);
    break;
  default:
    fail(c, "milter %s: unexpected reply '%c' at the end of the message",
         c->m->name, g_ascii_isprint(r->code) ? r->code : '?');
    return false;
  }
  g_free(a);
  if (rc != CURSUS_OK) {
    fail(c, "milter %s: '%c' refused: %s", c->m->name, r->code,
         why != NULL ? why : "no reason");
    return false;
  }
  return true;
}

static int end_of_message(conv *c) {
  const char *eom_macros[] = {"i", c->fa->info(c->msg)->queue_id, NULL, NULL};
  mproto_put_macros(c->out, SMFIC_BODYEOB, eom_macros,
                    c->symlists[MPROTO_M_EOM]);
  mproto_put(c->out, SMFIC_BODYEOB, NULL, 0);
  gint64 until = deadline(c, c->m->content_ms);
  if (!send_all(c, until))
    return EV_ERROR;
  for (unsigned count = 0;; count++) {
    mreply r;
    if (count > 100000)
      return fail(c, "milter %s: too many replies", c->m->name);
    if (!read_reply(c, &r, until))
      return EV_ERROR;
    switch (r.code) {
    case SMFIR_PROGRESS:
      until = deadline(c, c->m->content_ms);
      continue;
    case SMFIR_CONTINUE:
    case SMFIR_ACCEPT:
      return EV_CONTINUE;
    case SMFIR_DISCARD:
    case SMFIR_REJECT:
    case SMFIR_TEMPFAIL:
    case SMFIR_REPLYCODE:
    case SMFIR_CONN_FAIL:
    case SMFIR_SHUTDOWN:
      return verdict(c, &r);
    default:
      if (!modify(c, &r))
        return EV_ERROR;
    }
  }
}

/* --------------------------------------------------------------- calls */

static _Thread_local char call_error[256];

static int milter_data(void *filter, void **state, cursus_filter_msg *msg,
                       cursus_filter_verdict *verdict, const char **error_r) {
  conv c = {.m = filter, .msg = msg, .fa = host->filter, .fd = -1,
            .v = verdict};
  c.in = g_string_new(NULL);
  c.out = g_string_new(NULL);
  c.scratch = g_string_new(NULL);
  int ev = connect_milter(&c) && negotiate(&c) ? EV_CONTINUE : EV_ERROR;
  if (ev == EV_CONTINUE)
    ev = envelope(&c);
  if (ev == EV_CONTINUE)
    ev = content(&c);
  if (ev == EV_CONTINUE)
    ev = end_of_message(&c);
  if (ev != EV_ERROR) {
    /* done with this message; a polite goodbye, unanswered */
    if (ev != EV_CONTINUE)
      mproto_put(c.out, SMFIC_ABORT, NULL, 0);
    mproto_put(c.out, SMFIC_QUIT, NULL, 0);
    (void)send_all(&c, deadline(&c, 1000));
    if (ev == EV_ACCEPT || ev == EV_CONTINUE) {
      verdict->action = c.quarantine != NULL ? CURSUS_FILTER_QUARANTINE
                                             : CURSUS_FILTER_CONTINUE;
      verdict->text = c.quarantine;
    }
  }
  if (c.fd >= 0)
    close(c.fd);
  g_string_free(c.in, TRUE);
  g_string_free(c.out, TRUE);
  g_string_free(c.scratch, TRUE);
  for (int i = 0; i < MPROTO_M_COUNT; i++)
    g_free(c.symlists[i]);
  /* the verdict's strings must outlive this function: keep them with the
   * thread until its next call */
  static _Thread_local char text[512], reason[512];
  if (verdict->text != NULL) {
    g_strlcpy(verdict->action == CURSUS_FILTER_QUARANTINE ? reason : text,
              verdict->text, sizeof(text));
    verdict->text = verdict->action == CURSUS_FILTER_QUARANTINE ? reason : text;
  }
  static _Thread_local char status[16];
  if (verdict->status != NULL) {
    g_strlcpy(status, verdict->status, sizeof(status));
    verdict->status = status;
  }
  g_free(c.text);
  g_free(c.quarantine);
  (void)state;
  if (ev == EV_ERROR) {
    g_strlcpy(call_error, c.err, sizeof(call_error));
    *error_r = call_error;
    host->log(self, CURSUS_LOG_WARNING, "%s", call_error);
    return CURSUS_TEMPFAIL;
  }
  return CURSUS_OK;
}

/* ------------------------------------------------------------ instances */

static int milter_open(cursus_module_ctx *ctx, const cursus_filter_def *def,
                       void **filter_r, const char **error_r) {
  const cursus_filter_access *fa = host->filter;
  const char *spec = fa->def_setting(def, "milter");
  static _Thread_local char err[256];
  if (spec == NULL) {
    snprintf(err, sizeof(err), "[contentfilter %s]: no milter address "
                               "(milter = inet:HOST:PORT or unix:PATH)",
             fa->def_name(def));
    *error_r = err;
    return CURSUS_PERMFAIL;
  }
  milter *m = g_new0(milter, 1);
  const char *why = NULL;
  if (!mproto_parse_address(spec, &m->family, &m->addr_host, &m->port,
                            &m->path, &why)) {
    snprintf(err, sizeof(err), "[contentfilter %s]: milter %s: %s",
             fa->def_name(def), spec, why);
    *error_r = err;
    g_free(m);
    return CURSUS_PERMFAIL;
  }
  m->name = g_strdup(fa->def_name(def));
  m->spec = g_strdup(spec);
  m->connect_ms = (unsigned)fa->def_setting_int(def, "connect_timeout", 30) * 1000;
  m->command_ms = (unsigned)fa->def_setting_int(def, "command_timeout", 30) * 1000;
  m->content_ms = (unsigned)fa->def_setting_int(def, "content_timeout", 300) * 1000;
  long long v = fa->def_setting_int(def, "protocol", 6);
  m->version = v >= 2 && v <= 6 ? (unsigned)v : 6;
  *filter_r = m;
  return CURSUS_OK;
}

static void milter_close(void *filter) {
  milter *m = filter;
  g_free(m->name);
  g_free(m->spec);
  g_free(m->addr_host);
  g_free(m->path);
  g_free(m);
}

static const cursus_keyword milter_settings[] = {
    {"milter", CURSUS_VALUE_STRING, 1, 1,
     "where the milter listens: inet:HOST:PORT, inet:PORT@HOST, "
     "inet6:[ADDR]:PORT or unix:/PATH"},
    {"connect_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest wait for the connection (default 30s)"},
    {"command_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest wait for the reply to a command (default 30s)"},
    {"content_timeout", CURSUS_VALUE_DURATION, 1, 1,
     "longest wait for the reply to a body chunk or the end of the "
     "message (default 300s)"},
    {"protocol", CURSUS_VALUE_INTEGER, 1, 1,
     "milter protocol version offered, 2 to 6 (default 6)"},
    {NULL, 0, 0, 0, NULL},
};

static const cursus_filter_ops milter_ops = {
    .size = sizeof(cursus_filter_ops),
    .stages = CURSUS_FILTER_STAGE_DATA,
    .settings = milter_settings,
    .open = milter_open,
    .close = milter_close,
    .data = milter_data,
};

static int milter_init(cursus_module_ctx *ctx, const cursus_host *h,
                       const char **error_r) {
  if (!CURSUS_HAS(h, filter) || h->filter == NULL) {
    *error_r = "the host offers no content filter services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  self = ctx;
  return CURSUS_OK;
}

CURSUS_MODULE(.name = "filter_milter", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "content filtering by milters (the Sendmail "
                             "mail filter protocol, version 6)",
              .kinds = CURSUS_KIND_FILTER,
              .processes = CURSUS_PROC_WORKER | CURSUS_PROC_CHANNEL_JOB |
                           CURSUS_PROC_TOOL,
              .init = milter_init, .filter = &milter_ops);
