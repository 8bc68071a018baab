/*
 * dispatcher.c - accepts connections for every service of dispatcher.cnf
 * and hands each to a worker process
 *
 * Per service: listeners (TCP ports, TLS ports, a UNIX socket), a pool of
 * worker processes kept between MIN_PROCS and MAX_PROCS (a new one starts
 * when every worker has MIN_CONNS connections), each given at most
 * MAX_CONNS.  Workers are retired by age (MAX_LIFE_TIME), by connections
 * served (MAX_LIFE_CONNS) and when idle above MIN_PROCS (MAX_IDLE_TIME),
 * at most MAX_SHUTDOWN at a time; a worker that dies is replaced.
 *
 * Admission happens here, before any protocol code runs: BLOCK networks,
 * connections per client IP, new connections per client IP per minute and
 * sessions per service are refused with the protocol's busy reply; then
 * the PORT_ACCESS mapping and the DNS block lists (DNS_VERIFY_DOMAIN with
 * ENABLE_RBL) are asked, without blocking the loop, and a refused client
 * gets the protocol's refusal.  Doing this here rather than in the
 * protocol module means a listed client never costs a worker slot or a
 * session, and the answers serve every protocol the same way.  At most
 * MAX_HANDOFFS connections per service wait for these verdicts.  When
 * every worker is full the service stops accepting; new clients wait in
 * the listen backlog and established sessions are not disturbed.
 *
 * Hand-off: the socket travels over a SOCK_SEQPACKET pair with SCM_RIGHTS
 * together with a connection id; the worker reports the id back when the
 * connection ends.
 */
#include "build-config.h"
#include "daemon.h"
#include "dnsbl.h"
#include "handoff.h"
#include "main/commands.h"
#include "mapping/access.h"
#include "module/host.h"
#include "module/hostdns.h"
#include "mta/mtacfg.h"
#include "util/log.h"
#include "util/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct service service;

typedef struct worker {
  service *svc;
  pid_t pid;
  int ctl;
  ev_io *ctl_io;
  unsigned conns;
  unsigned total;
  uint64_t started;
  uint64_t idle_since;
  bool retiring;
} worker;

typedef struct listener {
  service *svc;
  int fd;
  ev_io *io;
  bool tls;
  bool unix_socket;
  char *desc; /* for the log */
  /* the address it is bound to, when that is each connection's own
   * (not a wildcard) */
  bool local_known;
  char local_ip[INET6_ADDRSTRLEN];
  uint16_t local_port;
} listener;

/* per client IP accounting */
typedef struct client {
  unsigned conns;
  uint64_t window_start;
  unsigned window_count;
} client;

struct service {
  disp_service *cfg;   /* points into the current configuration */
  char *name;
  GPtrArray *listeners; /* of listener* */
  GPtrArray *workers;   /* of worker* */
  unsigned sessions;
  unsigned checking; /* connections waiting for PORT_ACCESS or DNS lists */
  bool accepting;
  const char *busy_reply;
  uint32_t refusal_style; /* enum cursus_refusal_style */
};

typedef struct conn_rec {
  worker *w;
  char ip[INET6_ADDRSTRLEN];
} conn_rec;

typedef struct dispatcher {
  daemon_ctx *d;
  GPtrArray *services;   /* of service* */
  GHashTable *conns;     /* id -> conn_rec* */
  GHashTable *clients;   /* ip -> client* */
  uint64_t next_id;
  ev_timer *tick;
  bool stopping;
} dispatcher;

static dispatcher disp;

static void service_update_accepting(service *s);
static worker *worker_start(service *s);

/* ------------------------------------------------------------ listeners */

static int listen_tcp(const char *addr, unsigned port, int backlog,
                      char **error_r) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
  memset(&ss, 0, sizeof(ss));
  if (addr == NULL || strchr(addr, ':') != NULL) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (addr == NULL)
      in6->sin6_addr = in6addr_any;
    else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1) {
      *error_r = g_strdup_printf("invalid address %s", addr);
      return -1;
    }
    family = AF_INET6;
    len = sizeof(*in6);
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &in->sin_addr) != 1) {
      *error_r = g_strdup_printf("invalid address %s", addr);
      return -1;
    }
    family = AF_INET;
    len = sizeof(*in);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && addr == NULL && errno == EAFNOSUPPORT) {
    /* no IPv6 on this host: listen on IPv4 only */
    return listen_tcp("0.0.0.0", port, backlog, error_r);
  }
  if (fd < 0) {
    *error_r = g_strdup_printf("socket: %s", g_strerror(errno));
    return -1;
  }
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  /* accepted sockets inherit it: replies gathered whole must not wait
   * for the peer's delayed ACK (the worker counts on it) */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (family == AF_INET6 && addr == NULL)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
    *error_r = g_strdup_printf("cannot listen on %s port %u: %s",
                               addr != NULL ? addr : "*", port,
                               g_strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static int listen_unix(const char *path, int backlog, char **error_r) {
  struct sockaddr_un sun;
  if (strlen(path) >= sizeof(sun.sun_path)) {
    *error_r = g_strdup_printf("UNIX socket path too long: %s", path);
    return -1;
  }
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error_r = g_strdup_printf("socket: %s", g_strerror(errno));
    return -1;
  }
  (void)unlink(path);
  if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
      chmod(path, 0660) < 0 || listen(fd, backlog) < 0) {
    *error_r = g_strdup_printf("cannot listen on %s: %s", path,
                               g_strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* ------------------------------------------------------------ admission */

/* ip_in_network - IP (text) lies in CIDR (text) */
static bool ip_in_network(const char *ip, const char *cidr) {
  unsigned char a[16], n[16];
  char net[INET6_ADDRSTRLEN + 8];
  g_strlcpy(net, cidr, sizeof(net));
  char *slash = strchr(net, '/');
  if (slash != NULL)
    *slash = '\0';
  bool v6 = strchr(net, ':') != NULL;
  if (v6 != (strchr(ip, ':') != NULL))
    return false;
  int af = v6 ? AF_INET6 : AF_INET;
  if (inet_pton(af, ip, a) != 1 || inet_pton(af, net, n) != 1)
    return false;
  int bits = slash != NULL ? atoi(slash + 1) : (v6 ? 128 : 32);
  for (int i = 0; i < bits / 8; i++)
    if (a[i] != n[i])
      return false;
  if (bits % 8 != 0) {
    unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
    if ((a[bits / 8] & mask) != (n[bits / 8] & mask))
      return false;
  }
  return true;
}

/* addr_text - SS as an IP address (IPv4-mapped IPv6 shown as IPv4) and
 * a port; false for another family */
static bool addr_text(const struct sockaddr_storage *ss, char *ip,
                      size_t len, uint16_t *port_r) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)len);
    *port_r = ntohs(in->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)len);
    *port_r = ntohs(in6->sin6_port);
    if (g_str_has_prefix(ip, "::ffff:") && strchr(ip + 7, '.') != NULL)
      memmove(ip, ip + 7, strlen(ip + 7) + 1);
  } else {
    return false;
  }
  return true;
}

/* local_end - the server side of FD */
static void local_end(int fd, char *ip, size_t len, uint16_t *port_r) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  g_strlcpy(ip, "", len);
  *port_r = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    (void)addr_text(&ss, ip, len, port_r);
}

static client *client_get(const char *ip) {
  client *c = g_hash_table_lookup(disp.clients, ip);
  if (c == NULL) {
    c = g_new0(client, 1);
    g_hash_table_insert(disp.clients, g_strdup(ip), c);
  }
  return c;
}

/* Why a connection is refused, worded for the client. */
typedef struct refusal {
  const char *why; /* for the log */
  unsigned code;
  const char *status;
  const char *text;
} refusal;

static const refusal blocked = {"address blocked", 554, "5.7.1",
                                "Access denied"},
                     full = {"service at its session limit", 421, "4.7.0",
                             "Too many connections, try again later"},
                     per_ip = {"too many connections from this address", 421,
                               "4.7.0",
                               "Too many connections from your address, "
                               "try again later"},
                     rate = {"connection rate limit for this address", 421,
                             "4.7.0",
                             "Too many new connections from your address, "
                             "try again later"},
                     no_worker = {"no worker available", 421, "4.3.2",
                                  "Service not available, try again later"},
                     lookup = {"PORT_ACCESS lookup failed", 421, "4.4.3",
                               "Temporary failure checking your address, "
                               "try again later"};

/* admit - NULL when the connection may go on, else why it is refused */
static const refusal *admit(service *s, const char *ip, bool is_unix) {
  disp_service *cfg = s->cfg;
  if (!is_unix)
    for (char **b = cfg->block; b != NULL && *b != NULL; b++)
      if (ip_in_network(ip, *b))
        return &blocked;
  unsigned max_sessions = cfg->max_sessions != 0
                              ? cfg->max_sessions
                              : cfg->max_procs * cfg->max_conns;
  if (s->sessions + s->checking >= max_sessions)
    return &full;
  if (is_unix)
    return NULL;
  client *c = client_get(ip);
  if (cfg->max_conns_per_ip != 0 && c->conns >= cfg->max_conns_per_ip)
    return &per_ip;
  if (cfg->max_conn_rate_per_ip != 0) {
    uint64_t now = ev_now_ms(disp.d->loop);
    if (now - c->window_start >= 60000) {
      c->window_start = now;
      c->window_count = 0;
    }
    if (c->window_count >= cfg->max_conn_rate_per_ip)
      return &rate;
    c->window_count++;
  }
  return NULL;
}

/* refuse - say why in the service's protocol and close */
static void refuse(service *s, int fd, const char *ip, const refusal *why) {
  char buf[512];
  const char *reply = NULL;
  log_notice("%s: refused connection from %s: %s (%u %s %s)", s->name, ip,
             why->why, why->code, why->status, why->text);
  switch (s->refusal_style) {
  case CURSUS_REFUSE_SMTP:
    g_snprintf(buf, sizeof(buf), "%u %s %s\r\n", why->code, why->status,
               why->text);
    reply = buf;
    break;
  case CURSUS_REFUSE_IMAP:
    g_snprintf(buf, sizeof(buf), "* BYE %s\r\n", why->text);
    reply = buf;
    break;
  case CURSUS_REFUSE_POP3:
    g_snprintf(buf, sizeof(buf), "-ERR %s\r\n", why->text);
    reply = buf;
    break;
  default:
    reply = s->busy_reply;
  }
  if (reply != NULL) {
    ssize_t n = send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
  }
  close(fd);
}

/* ------------------------------------------------------------- workers */

/* pick_worker - where the next connection goes; may start a worker; NULL
 * when the service is full */
static worker *pick_worker(service *s) {
  worker *best = NULL;
  unsigned live = 0;
  for (guint i = 0; i < s->workers->len; i++) {
    worker *w = s->workers->pdata[i];
    if (w->retiring)
      continue;
    live++;
    if (w->conns < s->cfg->max_conns && (best == NULL || w->conns < best->conns))
      best = w;
  }
  if ((best == NULL || best->conns >= s->cfg->min_conns) &&
      live < s->cfg->max_procs) {
    worker *w = worker_start(s);
    if (w != NULL)
      return w;
  }
  return best;
}

static void conn_ended(uint64_t id) {
  conn_rec *r = g_hash_table_lookup(disp.conns, &id);
  if (r == NULL)
    return;
  service *s = r->w->svc;
  if (r->w->conns > 0)
    r->w->conns--;
  if (r->w->conns == 0)
    r->w->idle_since = ev_now_ms(disp.d->loop);
  if (s->sessions > 0)
    s->sessions--;
  client *c = g_hash_table_lookup(disp.clients, r->ip);
  if (c != NULL && c->conns > 0)
    c->conns--;
  g_hash_table_remove(disp.conns, &id);
  service_update_accepting(s);
}

static void on_worker_ctl(ev_io *io, unsigned events, void *data) {
  worker *w = data;
  handoff_msg msg;
  for (;;) {
    ssize_t n = recv(w->ctl, &msg, sizeof(msg), MSG_DONTWAIT);
    if (n == (ssize_t)sizeof(msg)) {
      if (msg.type == HANDOFF_CLOSED)
        conn_ended(msg.id);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    /* EOF: the worker exited; SIGCHLD does the bookkeeping */
    ev_io_free(&w->ctl_io);
    return;
  }
}

static worker *worker_start(service *s) {
  int sv[2];
  char *error = NULL;
  if (disp.stopping)
    return NULL;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    log_error("%s: cannot start a worker: socketpair: %s", s->name,
              g_strerror(errno));
    return NULL;
  }
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, "cursus");
  g_ptr_array_add(argv, "--config");
  g_ptr_array_add(argv, disp.d->cfg->dir);
  if (disp.d->log_stderr)
    g_ptr_array_add(argv, "--log-stderr");
  g_ptr_array_add(argv, "worker");
  g_ptr_array_add(argv, s->name);
  g_ptr_array_add(argv, NULL);
  pid_t pid = proc_spawn_self((char *const *)argv->pdata, sv[1], &error);
  g_ptr_array_free(argv, TRUE);
  close(sv[1]);
  if (pid < 0) {
    log_error("%s: cannot start a worker: %s", s->name, error);
    g_free(error);
    close(sv[0]);
    return NULL;
  }
  worker *w = g_new0(worker, 1);
  w->svc = s;
  w->pid = pid;
  w->ctl = sv[0];
  w->started = ev_now_ms(disp.d->loop);
  w->idle_since = w->started;
  w->ctl_io = ev_io_new(disp.d->loop, w->ctl, EV_READ, on_worker_ctl, w);
  g_ptr_array_add(s->workers, w);
  log_info("%s: started worker pid %ld (%u worker(s))", s->name, (long)pid,
           s->workers->len);
  return w;
}

static void worker_retire(worker *w, const char *why) {
  handoff_msg msg = {.type = HANDOFF_RETIRE};
  if (w->retiring)
    return;
  w->retiring = true;
  log_info("%s: retiring worker pid %ld (%s, %u connection(s) left)",
           w->svc->name, (long)w->pid, why, w->conns);
  if (send(w->ctl, &msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    kill(w->pid, SIGTERM);
}

static void worker_free(worker *w) {
  ev_io_free(&w->ctl_io);
  close(w->ctl);
  g_free(w);
}

static bool hand_off(worker *w, int fd, const handoff_addr *a, bool tls,
                     bool is_unix) {
  const char *ip = a->remote_ip;
  handoff_msg msg = {.type = HANDOFF_CONN, .id = ++disp.next_id,
                     .implicit_tls = tls, .unix_socket = is_unix,
                     .addr = *a};
  if (!handoff_send_fd(w->ctl, &msg, fd)) {
    log_warning("%s: hand-off to worker pid %ld failed: %s", w->svc->name,
                (long)w->pid, g_strerror(errno));
    return false;
  }
  conn_rec *r = g_new0(conn_rec, 1);
  r->w = w;
  g_strlcpy(r->ip, ip, sizeof(r->ip));
  uint64_t *key = g_new(uint64_t, 1);
  *key = msg.id;
  g_hash_table_insert(disp.conns, key, r);
  w->conns++;
  w->total++;
  w->svc->sessions++;
  return true;
}

/* ------------------------------------------------------------ accepting */

/* forget_client - a connection counted for IP did not become a session */
static void forget_client(const char *ip, bool is_unix) {
  client *c = is_unix ? NULL : g_hash_table_lookup(disp.clients, ip);
  if (c != NULL && c->conns > 0)
    c->conns--;
}

/* dispatch - hand an admitted connection to a worker */
static void dispatch(service *s, int fd, const handoff_addr *a, bool tls,
                     bool is_unix) {
  worker *w = pick_worker(s);
  if (w == NULL || !hand_off(w, fd, a, tls, is_unix)) {
    forget_client(a->remote_ip, is_unix);
    refuse(s, fd, a->remote_ip, &no_worker);
    return;
  }
  close(fd);
}

/* A connection waiting for the DNS block lists' verdict. */
typedef struct rbl_wait {
  service *s;
  int fd;
  bool tls;
  handoff_addr a;
} rbl_wait;

static void rbl_done(const char *zone, const char *reason, void *data) {
  rbl_wait *w = data;
  service *s = w->s;
  s->checking--;
  if (disp.stopping) {
    forget_client(w->a.remote_ip, false);
    close(w->fd);
  } else if (zone != NULL) {
    char *why = dnsbl_reason_clean(reason != NULL ? reason : "", 200);
    char *text = g_strdup_printf(
        "access_control: host %s found on DNS list %s and rejected%s%s",
        w->a.remote_ip, zone, *why != '\0' ? ": " : "", why);
    refusal r = {.why = "DNS block list", .code = 554, .status = "5.7.1",
                 .text = text};
    forget_client(w->a.remote_ip, false);
    refuse(s, w->fd, w->a.remote_ip, &r);
    g_free(text);
    g_free(why);
  } else {
    dispatch(s, w->fd, &w->a, w->tls, false);
  }
  g_free(w);
  service_update_accepting(s);
}

/* admitted - a connection past BLOCK, the limits and PORT_ACCESS: ask
 * the DNS block lists if the service has them, else hand it off */
static void admitted(service *s, int fd, const handoff_addr *a, bool tls,
                     bool is_unix) {
  const char *ip = a->remote_ip;
  if (!is_unix && s->cfg->dns_zones != NULL) {
    char *error = NULL;
    dns_resolver *r = hostdns_resolver(&error);
    if (r == NULL) {
      log_warning("%s: DNS block lists not checked for %s: %s", s->name, ip,
                  error);
      g_free(error);
    } else {
      rbl_wait *w = g_new0(rbl_wait, 1);
      w->s = s;
      w->fd = fd;
      w->tls = tls;
      w->a = *a;
      s->checking++;
      if (dnsbl_start(r, s->name, ip, s->cfg->dns_zones, rbl_done, w) != NULL)
        return;
      s->checking--;
      g_free(w);
    }
  }
  dispatch(s, fd, a, tls, is_unix);
}

/* A connection waiting for its PORT_ACCESS verdict. */
typedef struct port_check {
  service *s;
  int fd;
  bool tls;
  handoff_addr a;
  int status;
  access_verdict v;
  char *error;
} port_check;

/* port_access_wanted - the mapping tables have a PORT_ACCESS table */
static bool port_access_wanted(void) {
  const mtacfg *m = mtacfg_of(disp.d->cfg);
  return m != NULL && mapset_table(m->maps, "PORT_ACCESS") != NULL;
}

/* check_work - on a host thread: the table may call out to slow sources */
static void check_work(void *data) {
  port_check *pc = data;
  access_probe p = {.server_ip = pc->a.local_ip,
                    .server_port = pc->a.local_port,
                    .client_ip = pc->a.remote_ip,
                    .client_port = pc->a.remote_port};
  pc->status = access_check(ACCESS_PORT, &p, &pc->v, &pc->error);
}

static void check_done(void *data) {
  port_check *pc = data;
  service *s = pc->s;
  s->checking--;
  if (disp.stopping) {
    forget_client(pc->a.remote_ip, false);
    close(pc->fd);
  } else if (pc->status != CURSUS_OK) {
    log_warning("%s: PORT_ACCESS for %s: %s", s->name, pc->a.remote_ip,
                pc->error != NULL ? pc->error : "lookup failed");
    forget_client(pc->a.remote_ip, false);
    refuse(s, pc->fd, pc->a.remote_ip, &lookup);
  } else if (pc->v.action == ACCESS_REJECT) {
    refusal r = {.why = "PORT_ACCESS",
                 .code = pc->v.smtp_code > 0 ? (unsigned)pc->v.smtp_code : 554,
                 .status = pc->v.status != NULL ? pc->v.status : "5.7.1",
                 .text = pc->v.text != NULL ? pc->v.text : "Access denied"};
    forget_client(pc->a.remote_ip, false);
    refuse(s, pc->fd, pc->a.remote_ip, &r);
  } else {
    admitted(s, pc->fd, &pc->a, pc->tls, false);
  }
  access_verdict_clear(&pc->v);
  g_free(pc->error);
  g_free(pc);
  service_update_accepting(s);
}

/* start_check - ask PORT_ACCESS about FD; false when no thread took it */
static bool start_check(service *s, int fd, const handoff_addr *a, bool tls) {
  const char *err = NULL;
  port_check *pc = g_new0(port_check, 1);
  pc->s = s;
  pc->fd = fd;
  pc->tls = tls;
  pc->a = *a;
  access_verdict_init(&pc->v);
  s->checking++;
  if (config_lookups_local(disp.d->cfg)) {
    /* the table answers from memory: no hand-off to a host thread */
    check_work(pc);
    check_done(pc);
    return true;
  }
  if (host_table()->run_blocking(check_work, check_done, pc, &err) !=
      CURSUS_OK) {
    s->checking--;
    log_error("%s: cannot check PORT_ACCESS: %s", s->name, err);
    g_free(pc);
    return false;
  }
  return true;
}

static void on_accept(ev_io *io, unsigned events, void *data) {
  listener *l = data;
  service *s = l->svc;
  bool check = !l->unix_socket && port_access_wanted();
  for (int i = 0; i < 64 && s->accepting; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        log_warning("%s: accept on %s: %s", s->name, l->desc,
                    g_strerror(errno));
      return;
    }
    /* both ends, for PORT_ACCESS and the worker */
    handoff_addr a = {.remote_port = 0};
    if (l->unix_socket || !addr_text(&ss, a.remote_ip, sizeof(a.remote_ip),
                                     &a.remote_port)) {
      g_strlcpy(a.remote_ip, "unix", sizeof(a.remote_ip));
      g_strlcpy(a.local_ip, "unix", sizeof(a.local_ip));
    } else if (l->local_known) {
      g_strlcpy(a.local_ip, l->local_ip, sizeof(a.local_ip));
      a.local_port = l->local_port;
    } else {
      local_end(fd, a.local_ip, sizeof(a.local_ip), &a.local_port);
    }
    const char *ip = a.remote_ip;
    const refusal *why = admit(s, ip, l->unix_socket);
    if (why != NULL) {
      refuse(s, fd, ip, why);
      continue;
    }
    if (!l->unix_socket)
      client_get(ip)->conns++;
    if (!check || !start_check(s, fd, &a, l->tls))
      admitted(s, fd, &a, l->tls, l->unix_socket);
    service_update_accepting(s);
  }
}

/* service_capacity - a worker can take a connection, or one can start */
static bool service_capacity(service *s) {
  unsigned live = 0;
  if (s->checking >= s->cfg->max_handoffs)
    return false;
  for (guint i = 0; i < s->workers->len; i++) {
    worker *w = s->workers->pdata[i];
    if (w->retiring)
      continue;
    live++;
    if (w->conns < s->cfg->max_conns)
      return true;
  }
  return live < s->cfg->max_procs;
}

static void service_update_accepting(service *s) {
  bool want = !disp.stopping && service_capacity(s);
  if (want == s->accepting)
    return;
  s->accepting = want;
  if (!want && !disp.stopping && s->checking >= s->cfg->max_handoffs)
    log_warning("%s: MAX_HANDOFFS (%u) connections wait for PORT_ACCESS or "
                "DNS block list answers: new connections wait",
                s->name, s->cfg->max_handoffs);
  else if (!want && !disp.stopping)
    log_warning("%s: every worker is full (MAX_PROCS %u x MAX_CONNS %u): "
                "new connections wait",
                s->name, s->cfg->max_procs, s->cfg->max_conns);
  for (guint i = 0; i < s->listeners->len; i++) {
    listener *l = s->listeners->pdata[i];
    ev_io_set(l->io, want ? EV_READ : 0);
  }
}

static bool listener_add(service *s, int fd, bool tls, bool is_unix,
                         const char *desc) {
  listener *l = g_new0(listener, 1);
  l->svc = s;
  l->fd = fd;
  l->tls = tls;
  l->unix_socket = is_unix;
  l->desc = g_strdup(desc);
  if (!is_unix) {
    local_end(fd, l->local_ip, sizeof(l->local_ip), &l->local_port);
    l->local_known = l->local_ip[0] != '\0' &&
                     strcmp(l->local_ip, "0.0.0.0") != 0 &&
                     strcmp(l->local_ip, "::") != 0;
  }
  l->io = ev_io_new(disp.d->loop, fd, EV_READ, on_accept, l);
  g_ptr_array_add(s->listeners, l);
  log_info("%s: listening on %s%s", s->name, desc, tls ? " (TLS)" : "");
  return true;
}

static bool service_listen(service *s, char **error_r) {
  disp_service *cfg = s->cfg;
  GArray *lists[2] = {cfg->ports, cfg->tls_ports};
  for (int tls = 0; tls < 2; tls++)
    for (guint i = 0; i < lists[tls]->len; i++) {
      unsigned port = g_array_index(lists[tls], unsigned, i);
      char **ifs = cfg->interfaces;
      char *any[] = {NULL};
      for (char **a = ifs != NULL ? ifs : any; a == any || *a != NULL; a++) {
        int fd = listen_tcp(*a, port, (int)cfg->backlog, error_r);
        if (fd < 0)
          return false;
        char *desc = g_strdup_printf("%s:%u", *a != NULL ? *a : "*", port);
        listener_add(s, fd, tls == 1, false, desc);
        g_free(desc);
        if (a == any)
          break;
      }
    }
  if (cfg->unix_socket != NULL) {
    int fd = listen_unix(cfg->unix_socket, (int)cfg->backlog, error_r);
    if (fd < 0)
      return false;
    listener_add(s, fd, false, true, cfg->unix_socket);
  }
  return true;
}

/* ------------------------------------------------------ housekeeping */

static void reap_workers(daemon_ctx *d) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (guint i = 0; i < disp.services->len; i++) {
      service *s = disp.services->pdata[i];
      for (guint j = 0; j < s->workers->len; j++) {
        worker *w = s->workers->pdata[j];
        if (w->pid != pid)
          continue;
        bool normal = w->retiring || disp.stopping;
        if (WIFSIGNALED(status))
          log_msg(normal ? CURSUS_LOG_INFO : CURSUS_LOG_ERROR,
                  "%s: worker pid %ld killed by signal %d%s", s->name,
                  (long)pid, WTERMSIG(status),
                  w->conns ? "; its connections are lost" : "");
        else
          log_msg(normal && WEXITSTATUS(status) == 0 ? CURSUS_LOG_INFO
                                                     : CURSUS_LOG_ERROR,
                  "%s: worker pid %ld exited with status %d", s->name,
                  (long)pid, WEXITSTATUS(status));
        /* forget its connections */
        GHashTableIter it;
        gpointer key, value;
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
        g_hash_table_iter_init(&it, disp.conns);
        while (g_hash_table_iter_next(&it, &key, &value))
          if (((conn_rec *)value)->w == w)
            g_array_append_val(ids, *(uint64_t *)key);
        for (guint k = 0; k < ids->len; k++)
          conn_ended(g_array_index(ids, uint64_t, k));
        g_array_free(ids, TRUE);
        g_ptr_array_remove_index(s->workers, j);
        worker_free(w);
        service_update_accepting(s);
        break;
      }
    }
  }
  if (disp.stopping) {
    for (guint i = 0; i < disp.services->len; i++)
      if (((service *)disp.services->pdata[i])->workers->len > 0)
        return;
    ev_loop_stop(d->loop);
  }
}

static void tick(ev_timer *t, void *data) {
  uint64_t now = ev_now_ms(disp.d->loop);
  for (guint i = 0; i < disp.services->len && !disp.stopping; i++) {
    service *s = disp.services->pdata[i];
    disp_service *cfg = s->cfg;
    unsigned live = 0, retiring = 0;
    for (guint j = 0; j < s->workers->len; j++) {
      worker *w = s->workers->pdata[j];
      if (w->retiring) {
        retiring++;
        if (w->conns == 0)
          kill(w->pid, SIGTERM);
      } else {
        live++;
      }
    }
    for (guint j = 0; j < s->workers->len && retiring < cfg->max_shutdown; j++) {
      worker *w = s->workers->pdata[j];
      if (w->retiring)
        continue;
      const char *why = NULL;
      if (cfg->max_life_time != 0 && now - w->started >= cfg->max_life_time * 1000ULL)
        why = "MAX_LIFE_TIME reached";
      else if (cfg->max_life_conns != 0 && w->total >= cfg->max_life_conns)
        why = "MAX_LIFE_CONNS reached";
      else if (live > cfg->min_procs && w->conns == 0 &&
               cfg->max_idle_time != 0 &&
               now - w->idle_since >= cfg->max_idle_time * 1000ULL)
        why = "idle";
      if (why != NULL) {
        worker_retire(w, why);
        retiring++;
        live--;
      }
    }
    while (live < cfg->min_procs && worker_start(s) != NULL)
      live++;
    service_update_accepting(s);
  }
  /* forget idle client records */
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, disp.clients);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    client *c = value;
    if (c->conns == 0 && now - c->window_start >= 60000)
      g_hash_table_iter_remove(&it);
  }
  ev_timer_reset(t, 1000);
}

static void on_stop(daemon_ctx *d) {
  if (disp.stopping)
    return;
  disp.stopping = true;
  for (guint i = 0; i < disp.services->len; i++) {
    service *s = disp.services->pdata[i];
    for (guint j = 0; j < s->listeners->len; j++) {
      listener *l = s->listeners->pdata[j];
      ev_io_free(&l->io);
      close(l->fd);
      if (l->unix_socket)
        (void)unlink(l->desc);
    }
    g_ptr_array_set_size(s->listeners, 0);
    for (guint j = 0; j < s->workers->len; j++)
      kill(((worker *)s->workers->pdata[j])->pid, SIGTERM);
  }
  reap_workers(d);
}

/* on_refresh - new limits apply now; workers are replaced so they run
 * with the new configuration; listener changes need a restart */
static void on_refresh(daemon_ctx *d) {
  for (guint i = 0; i < disp.services->len; i++) {
    service *s = disp.services->pdata[i];
    disp_service *fresh = dispcnf_service(d->cfg->disp, s->name);
    if (fresh == NULL) {
      log_warning("%s: removed from dispatcher.cnf; it keeps running until "
                  "the dispatcher restarts",
                  s->name);
      continue;
    }
    s->cfg = fresh;
    for (guint j = 0; j < s->workers->len; j++)
      worker_retire(s->workers->pdata[j], "configuration refreshed");
  }
}

static void listener_free(void *p) {
  listener *l = p;
  ev_io_free(&l->io);
  if (l->fd >= 0)
    close(l->fd);
  g_free(l->desc);
  g_free(l);
}

int cmd_dispatcher(cmd_ctx *ctx) {
  daemon_ctx d = {
      .name = "dispatcher",
      .process = CURSUS_PROC_DISPATCHER,
      .config_dir = ctx->config_dir,
      .log_stderr = ctx->log_stderr,
      .ready_fd = ctx->ready_fd,
      .on_stop = on_stop,
      .on_refresh = on_refresh,
      .on_child = reap_workers,
  };
  char *error = NULL;

  daemon_start(&d);
  disp.d = &d;
  disp.services = g_ptr_array_new();
  disp.conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  disp.clients = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < d.cfg->disp->services->len; i++) {
    disp_service *cfg = d.cfg->disp->services->pdata[i];
    service *s = g_new0(service, 1);
    s->cfg = cfg;
    s->name = g_strdup(cfg->name);
    s->listeners = g_ptr_array_new_with_free_func(listener_free);
    s->workers = g_ptr_array_new();
    s->accepting = true;
    module *m = modreg_protocol(d.mods, cfg->protocol);
    s->busy_reply = m != NULL ? m->desc->protocol->busy_reply : NULL;
    s->refusal_style = m != NULL && CURSUS_HAS(m->desc->protocol, refusal_style)
                           ? m->desc->protocol->refusal_style
                           : CURSUS_REFUSE_BUSY_REPLY;
    g_ptr_array_add(disp.services, s);
    if (!service_listen(s, &error))
      log_fatal("%s: %s", s->name, error);
  }
  if (!proc_drop_privileges(d.cfg->server_user, &error))
    log_fatal("%s", error);
  for (guint i = 0; i < disp.services->len; i++) {
    service *s = disp.services->pdata[i];
    if (s->listeners->len == 0)
      continue;
    for (unsigned n = 0; n < MAX(s->cfg->min_procs, 1u); n++)
      worker_start(s);
  }
  disp.tick = ev_timer_new(d.loop, 1000, tick, NULL);
  daemon_ready(&d);
  ev_loop_run(d.loop);
  ev_timer_free(&disp.tick);
  for (guint i = 0; i < disp.services->len; i++) {
    service *s = disp.services->pdata[i];
    for (guint j = 0; j < s->workers->len; j++)
      worker_free(s->workers->pdata[j]);
    g_ptr_array_free(s->workers, TRUE);
    g_ptr_array_free(s->listeners, TRUE);
    g_free(s->name);
    g_free(s);
  }
  g_ptr_array_free(disp.services, TRUE);
  g_hash_table_destroy(disp.conns);
  g_hash_table_destroy(disp.clients);
  daemon_finish(&d);
  return 0;
}
