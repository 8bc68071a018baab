/*
 * smtp.c - the SMTP client master channel (tcp_local, tcp_intranet ...)
 * and, built with CHANNEL_LMTP, the LMTP client (tcp_lmtp*)
 *
 * Selected by the `smtp` (or `lmtp`) keyword.  For each message it groups
 * the pending recipients by destination domain, finds the next hops
 * (route.h: MX, A/AAAA, `daemon` smarthost, `lastresort`), and tries them
 * in order until one takes the transaction (transact.h), reusing an idle
 * connection to the same host when it has one (pool.h).  A host that does
 * not answer, refuses the connection, or answers the greeting or MAIL
 * with 4xx is skipped for the next; a recipient refused with 4xx is
 * retried later, with 5xx it fails.  TLS: STARTTLS whenever the server
 * offers it (`maytls`, the default), required with `musttls`, never with
 * `notls`.  docs/channels.md describes every keyword and setting.
 */
#include "build-config.h"

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <cursus/cursus.h>

#include "pool.h"
#include "route.h"
#include "transact.h"

#ifdef CHANNEL_LMTP
#define MODULE_NAME "channel_lmtp"
#define DEFAULT_PORT 24
#else
#define MODULE_NAME "channel_smtp"
#define DEFAULT_PORT 25
#endif

static const cursus_host *host;
static cursus_module_ctx *me;

typedef enum tls_mode { TLS_NO = 0, TLS_MAY, TLS_MUST } tls_mode;

typedef struct smtp_chan {
  char *name;
  bool lmtp;
  route_config route;
  char *daemon, *lastresort, *servers;
  char *socket_path; /* LMTP over a UNIX socket */
  unsigned port;
  tls_mode tls;
  char *tls_priority;
  bool try_ehlo;
  char *bind_addr;
  char *helo_name;
  client_timeouts to;
  conn_pool *pool;
} smtp_chan;

static int smtp_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  if (!CURSUS_HAS(h, queue) || h->queue == NULL) {
    *error_r = "the host offers no queue services";
    return CURSUS_PERMFAIL;
  }
  host = h;
  me = ctx;
  return CURSUS_OK;
}

/* kw - value INDEX of keyword NAME on CH, or NULL */
static const char *kw(const cursus_channel *ch, const char *name) {
  return host->queue->channel_keyword(ch, name, 0);
}

static bool has(const cursus_channel *ch, const char *name) {
  return kw(ch, name) != NULL;
}

static unsigned ms_setting(const char *key, long long def_s) {
  long long s = host->setting_int(me, key, def_s);
  return s <= 0 ? 1000u : (unsigned)MIN(s, 86400) * 1000u;
}

static tls_mode tls_of(const cursus_channel *ch) {
  if (has(ch, "notlsclient") || (has(ch, "notls") && !has(ch, "maytlsclient") &&
                                 !has(ch, "musttlsclient")))
    return TLS_NO;
  if (has(ch, "musttlsclient") || has(ch, "musttls"))
    return TLS_MUST;
  return TLS_MAY;
}

static int smtp_open(cursus_module_ctx *ctx, const cursus_channel *ch,
                     void **data_r, const char **error_r) {
  smtp_chan *c = g_new0(smtp_chan, 1);
  c->name = g_strdup(host->queue->channel_name(ch));
#ifdef CHANNEL_LMTP
  c->lmtp = true;
#else
  c->lmtp = has(ch, "lmtp");
#endif
  const char *port = kw(ch, "port");
  c->port = port != NULL ? (unsigned)atoi(port) : DEFAULT_PORT;
  if (c->port == 0 || c->port > 65535) {
    *error_r = "the port keyword needs a port number (1-65535)";
    g_free(c->name);
    g_free(c);
    return CURSUS_PERMFAIL;
  }
  c->daemon = g_strdup(kw(ch, "daemon"));
  c->lastresort = g_strdup(kw(ch, "lastresort"));
  c->socket_path = g_strdup(kw(ch, "socket"));
  /* the server-wide [dns] servers unless this module is given its own */
  const char *servers = host->setting(me, "dns_server");
  if (servers == NULL && CURSUS_HAS(host, dns_servers) &&
      host->dns_servers != NULL)
    servers = host->dns_servers();
  c->servers = g_strdup(servers);
  c->route.mode = has(ch, "nomx")       ? ROUTE_NOMX
                  : has(ch, "randommx") ? ROUTE_RANDOMMX
                                        : ROUTE_MX;
  /* LMTP goes to a store host named by `daemon`, never by MX */
  if (c->lmtp && c->daemon == NULL)
    c->route.mode = ROUTE_NOMX;
  c->route.daemon = c->daemon;
  c->route.lastresort = c->lastresort;
  c->route.servers = c->servers;
  c->route.timeout_ms = ms_setting("dns_timeout", 5);
  c->route.max_mx = (unsigned)host->setting_int(me, "max_mx", 10);
  c->route.ipv6 = host->setting_int(me, "ipv6", 1) != 0;
  c->tls = tls_of(ch);
  c->tls_priority = g_strdup(host->setting(me, "tls_priority"));
  c->try_ehlo = !has(ch, "noehlo");
  c->bind_addr = g_strdup(kw(ch, "interfaceaddress"));
  const char *helo = host->setting(me, "helo_name");
  c->helo_name = g_strdup(helo != NULL ? helo : g_get_host_name());
  c->to.connect_ms = ms_setting("connect_timeout", 30);
  c->to.command_ms = ms_setting("command_timeout", 300);
  c->to.data_ms = ms_setting("data_timeout", 600);
  c->pool = pool_new((unsigned)host->setting_int(me, "max_reuse", 100),
                     ms_setting("idle_timeout", 30));
  *data_r = c;
  return CURSUS_OK;
}

/* domain_of - the domain of ADDRESS (after the last @), lower case */
static char *domain_of(const char *address) {
  const char *at = strrchr(address, '@');
  return g_ascii_strdown(at != NULL ? at + 1 : "", -1);
}

/* ready - hello and TLS on a new connection; false with WHY_R */
static bool ready(smtp_chan *c, client_conn *conn, char **why_r) {
  client_reply r;
  if (!client_hello(conn, c->helo_name, c->try_ehlo, &r)) {
    *why_r = g_strdup_printf("%s refused %s: %d %s", conn->peer_addr,
                             c->lmtp ? "LHLO" : "EHLO/HELO", r.code, r.text);
    return false;
  }
  if (c->tls == TLS_NO || conn->tls || conn->peer_addr[0] == '/')
    return true;
  if (!(conn->ext & EXT_STARTTLS)) {
    if (c->tls == TLS_MUST) {
      *why_r = g_strdup_printf("TLS is required but %s does not offer "
                               "STARTTLS",
                               conn->peer_addr);
      return false;
    }
    return true;
  }
  if (!client_starttls(conn, c->tls_priority, &r)) {
    *why_r = g_strdup_printf("STARTTLS with %s failed: %d %s", conn->peer_addr,
                             r.code, r.text);
    return false;
  }
  if (!client_hello(conn, c->helo_name, true, &r)) {
    *why_r = g_strdup_printf("%s refused EHLO after STARTTLS: %d %s",
                             conn->peer_addr, r.code, r.text);
    return false;
  }
  return true;
}

/* try_conn - one transaction on CONN; true when done */
static bool try_conn(smtp_chan *c, client_conn *conn, const char *key,
                     const tx_message *m, const cursus_recipient *const *rcpts,
                     size_t n, tx_result *results, char **why_r) {
  char *why = NULL;
  tx_outcome o = transact(conn, m, rcpts, n, results, &why);
  if (o == TX_DONE) {
    pool_put(c->pool, key, conn);
    return true;
  }
  g_free(*why_r);
  *why_r = why;
  client_close(&conn, true);
  return false;
}

/* deliver_hop_addr - deliver through one address of one hop */
static bool deliver_addr(smtp_chan *c, const route_hop *hop,
                         const route_addr *a, const tx_message *m,
                         const cursus_recipient *const *rcpts, size_t n,
                         tx_result *results, char **why_r) {
  char *key = g_strdup_printf("%s|%s|%u", hop->name, a->text, c->port);
  bool done = false;
  /* a kept connection first; it may have been closed by the server */
  client_conn *conn = pool_take(c->pool, key);
  if (conn != NULL)
    done = try_conn(c, conn, key, m, rcpts, n, results, why_r);
  if (!done && !pool_is_dead(c->pool, a->text)) {
    client_reply r;
    conn = client_connect_tcp((const struct sockaddr *)&a->sa, a->len, c->port,
                              hop->name, a->text, c->bind_addr, &c->to,
                              c->lmtp, &r);
    if (conn == NULL) {
      g_free(*why_r);
      *why_r = r.code != 0 ? g_strdup_printf("%s[%s] greeted: %d %s",
                                              hop->name, a->text, r.code,
                                              r.text)
                           : g_strdup(r.text);
      if (r.code == 0)
        pool_mark_dead(c->pool, a->text);
      host->log(me, CURSUS_LOG_INFO, "channel %s: %s", c->name, *why_r);
    } else {
      char *why = NULL;
      host->log(me, CURSUS_LOG_DEBUG, "channel %s: connected to %s[%s]:%u",
                c->name, hop->name, a->text, c->port);
      if (ready(c, conn, &why)) {
        done = try_conn(c, conn, key, m, rcpts, n, results, why_r);
      } else {
        g_free(*why_r);
        *why_r = why;
        client_close(&conn, true);
      }
    }
  }
  g_free(key);
  return done;
}

/* deliver_socket - LMTP over a UNIX socket */
static bool deliver_socket(smtp_chan *c, const tx_message *m,
                           const cursus_recipient *const *rcpts, size_t n,
                           tx_result *results, char **why_r) {
  client_conn *conn = pool_take(c->pool, c->socket_path);
  if (conn != NULL &&
      try_conn(c, conn, c->socket_path, m, rcpts, n, results, why_r))
    return true;
  client_reply r;
  conn = client_connect_unix(c->socket_path, &c->to, c->lmtp, &r);
  if (conn == NULL) {
    g_free(*why_r);
    *why_r = g_strdup(r.text);
    return false;
  }
  char *why = NULL;
  if (!ready(c, conn, &why)) {
    g_free(*why_r);
    *why_r = why;
    client_close(&conn, true);
    return false;
  }
  return try_conn(c, conn, c->socket_path, m, rcpts, n, results, why_r);
}

/* deliver_group - the recipients RCPTS of one domain */
static void deliver_group(smtp_chan *c, const char *domain, const tx_message *m,
                          const cursus_recipient *const *rcpts, size_t n,
                          tx_result *results) {
  char *why = NULL;
  if (c->socket_path != NULL) {
    if (!deliver_socket(c, m, rcpts, n, results, &why))
      for (size_t i = 0; i < n; i++)
        tx_result_set(&results[i], CURSUS_TEMPFAIL, "4.4.1", why);
    g_free(why);
    return;
  }
  GPtrArray *hops = NULL;
  int st = route_resolve(&c->route, domain, &hops, &why);
  if (st != CURSUS_OK) {
    const char *code = st == CURSUS_TEMPFAIL         ? "4.4.3"
                       : strstr(why, "null MX") != NULL ? "5.1.10"
                                                       : "5.1.2";
    for (size_t i = 0; i < n; i++)
      tx_result_set(&results[i], st, code, why);
    g_free(why);
    return;
  }
  bool done = false, any_addr = false, temp_addr = false;
  for (guint h = 0; h < hops->len && !done; h++) {
    const route_hop *hop = hops->pdata[h];
    if (hop->addr_status == CURSUS_TEMPFAIL)
      temp_addr = true;
    for (guint i = 0; hop->addrs != NULL && i < hop->addrs->len && !done; i++) {
      any_addr = true;
      done = deliver_addr(c, hop, &g_array_index(hop->addrs, route_addr, i), m,
                          rcpts, n, results, &why);
    }
  }
  if (!done) {
    const char *code = "4.4.1";
    int status = CURSUS_TEMPFAIL;
    if (!any_addr && !temp_addr) {
      /* every host name exists nowhere: the domain cannot get mail */
      status = CURSUS_PERMFAIL;
      code = "5.4.4";
      g_free(why);
      why = g_strdup_printf("no address for any mail host of %s", domain);
    } else if (!any_addr) {
      code = "4.4.3";
      g_free(why);
      why = g_strdup_printf("address lookup for the mail hosts of %s failed",
                            domain);
    }
    for (size_t i = 0; i < n; i++)
      tx_result_set(&results[i], status, code, why);
  }
  g_free(why);
  route_hops_free(&hops);
}

static int smtp_deliver(void *data, cursus_message *msg,
                        const char **error_r) {
  smtp_chan *c = data;
  const cursus_queue_ops *q = host->queue;
  tx_message m = {
      .sender = q->sender(msg),
      .envid = q->envid(msg),
      .ret = q->ret(msg),
      .body = q->body(msg),
      .smtputf8 = q->smtputf8(msg) != 0,
  };
  m.fd = q->content_fd(msg, &m.offset, &m.size);
  if (m.fd < 0) {
    *error_r = "cannot read the queued message";
    return CURSUS_TEMPFAIL;
  }
  size_t n = q->recipient_count(msg);
  /* group the recipients by domain (all together for a smarthost) */
  GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify)g_array_unref);
  GPtrArray *order = g_ptr_array_new();
  for (size_t i = 0; i < n; i++) {
    const cursus_recipient *r = q->recipient(msg, i);
    char *dom = c->daemon != NULL || c->socket_path != NULL
                    ? g_strdup("")
                    : domain_of(r->address);
    GArray *g = g_hash_table_lookup(groups, dom);
    if (g == NULL) {
      g = g_array_new(FALSE, FALSE, sizeof(size_t));
      g_hash_table_insert(groups, dom, g);
      g_ptr_array_add(order, dom);
    } else {
      g_free(dom);
    }
    g_array_append_val(g, i);
  }
  for (guint k = 0; k < order->len; k++) {
    const char *dom = order->pdata[k];
    GArray *g = g_hash_table_lookup(groups, dom);
    const cursus_recipient **rcpts = g_new(const cursus_recipient *, g->len);
    tx_result *results = g_new0(tx_result, g->len);
    for (guint i = 0; i < g->len; i++)
      rcpts[i] = q->recipient(msg, g_array_index(g, size_t, i));
    if (*dom == '\0' && c->daemon == NULL && c->socket_path == NULL) {
      for (guint i = 0; i < g->len; i++)
        tx_result_set(&results[i], CURSUS_PERMFAIL, "5.1.3",
                      "the recipient address has no domain");
    } else {
      deliver_group(c, dom, &m, rcpts, g->len, results);
    }
    for (guint i = 0; i < g->len; i++) {
      cursus_result res = {
          .status = results[i].status == CURSUS_NONE ? CURSUS_TEMPFAIL
                                                     : results[i].status,
          .code = results[i].code,
          .text = results[i].text,
          .remote = results[i].remote[0] != '\0' ? results[i].remote : NULL,
      };
      size_t index = g_array_index(g, size_t, i);
      /* an LMTP server without DSN is the final delivery agent */
      bool final = c->lmtp && !results[i].dsn_passed;
      if (CURSUS_HAS(q, rcpt_result_dsn) && q->rcpt_result_dsn != NULL &&
          res.status == CURSUS_OK && !final)
        q->rcpt_result_dsn(msg, index, &res,
                           results[i].dsn_passed ? CURSUS_DSN_PASSED
                                                 : CURSUS_DSN_RELAYED);
      else
        q->rcpt_result(msg, index, &res);
      g_free(results[i].text);
    }
    g_free(results);
    g_free(rcpts);
  }
  g_ptr_array_free(order, TRUE);
  g_hash_table_destroy(groups);
  return CURSUS_OK;
}

static void smtp_fini(cursus_module_ctx *ctx) {
  route_shutdown();
  client_shutdown();
}

static void smtp_idle(void *data) {
  smtp_chan *c = data;
  pool_close_idle(c->pool);
}

static void smtp_close(void *data) {
  smtp_chan *c = data;
  pool_free(&c->pool);
  g_free(c->name);
  g_free(c->daemon);
  g_free(c->lastresort);
  g_free(c->servers);
  g_free(c->socket_path);
  g_free(c->tls_priority);
  g_free(c->bind_addr);
  g_free(c->helo_name);
  g_free(c);
}

#define FLAG(n, h) {n, CURSUS_VALUE_FLAG, 0, 0, h}
static const cursus_keyword smtp_keywords[] = {
    FLAG("smtp", "the channel speaks SMTP"),
    FLAG("lmtp", "the channel speaks LMTP (to a back-end store)"),
    FLAG("mx", "route by the destination's MX records (default)"),
    FLAG("nonrandommx", "MX hosts of equal preference in DNS order"),
    FLAG("randommx", "MX hosts of equal preference in random order"),
    FLAG("nomx", "connect to the domain's own address, ignoring MX"),
    FLAG("defaultmx", "route by MX records"),
    {"daemon", CURSUS_VALUE_HOST, 1, 1, "send everything to this host (smarthost)"},
    {"lastresort", CURSUS_VALUE_HOST, 1, 1, "host tried when every other fails"},
    {"port", CURSUS_VALUE_INTEGER, 1, 1, "TCP port of the remote server"},
    {"socket", CURSUS_VALUE_PATH, 1, 1, "UNIX socket of the LMTP server"},
    {"interfaceaddress", CURSUS_VALUE_HOST, 1, 1, "local address of outgoing connections"},
    FLAG("maytls", "use STARTTLS when offered (server and client)"),
    FLAG("musttls", "require TLS (server and client)"),
    FLAG("notls", "never use TLS (server and client)"),
    FLAG("maytlsclient", "use STARTTLS when the remote server offers it (default)"),
    FLAG("musttlsclient", "deliver only over TLS"),
    FLAG("notlsclient", "never start TLS when delivering"),
    FLAG("ehlo", "say EHLO first (default)"),
    FLAG("noehlo", "say HELO only"),
    {NULL, 0, 0, 0, NULL},
};

static const cursus_keyword smtp_settings[] = {
    {"dns_server", CURSUS_VALUE_STRING, 1, 1, "DNS servers as ip[:port],... for this module only (default: [dns] servers, else /etc/resolv.conf)"},
    {"dns_timeout", CURSUS_VALUE_DURATION, 1, 1, "timeout of one DNS query (default 5 s)"},
    {"ipv6", CURSUS_VALUE_BOOLEAN, 1, 1, "also connect over IPv6 (default yes)"},
    {"max_mx", CURSUS_VALUE_INTEGER, 1, 1, "most MX hosts tried per domain (default 10)"},
    {"helo_name", CURSUS_VALUE_HOST, 1, 1, "name given in EHLO (default: the system's host name)"},
    {"connect_timeout", CURSUS_VALUE_DURATION, 1, 1, "timeout of a connection attempt (default 30 s)"},
    {"command_timeout", CURSUS_VALUE_DURATION, 1, 1, "timeout of a command reply (default 300 s)"},
    {"data_timeout", CURSUS_VALUE_DURATION, 1, 1, "timeout of the reply to the message data (default 600 s)"},
    {"idle_timeout", CURSUS_VALUE_DURATION, 1, 1, "how long an idle connection is kept for reuse (default 30 s; 0 = never reuse)"},
    {"max_reuse", CURSUS_VALUE_INTEGER, 1, 1, "most messages over one connection (default 100)"},
    {"tls_priority", CURSUS_VALUE_STRING, 1, 1, "GnuTLS priority string for outgoing TLS"},
    {NULL, 0, 0, 0, NULL},
};

#ifdef CHANNEL_LMTP
static const char *const smtp_select[] = {"lmtp", NULL};
static const char *const *const smtp_names = NULL;
#else
static const char *const smtp_select[] = {"smtp", NULL};
static const char *const smtp_names_list[] = {"tcp_*", NULL};
static const char *const *const smtp_names = smtp_names_list;
#endif

static const cursus_channel_ops smtp_ops = {
    .size = sizeof(cursus_channel_ops),
    .select_keywords = smtp_select,
    .channel_names = smtp_names,
    .open = smtp_open,
    .deliver = smtp_deliver,
    .idle = smtp_idle,
    .close = smtp_close,
    .flags = CURSUS_CHANNEL_CONCURRENT,
};

CURSUS_MODULE(.name = MODULE_NAME, .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
#ifdef CHANNEL_LMTP
              .description = "LMTP client: delivery to back-end stores",
#else
              .description = "SMTP client: delivery by MX, smarthost, TLS",
#endif
              .kinds = CURSUS_KIND_CHANNEL,
              .processes = CURSUS_PROC_CHANNEL_JOB | CURSUS_PROC_TOOL,
              .keywords = smtp_keywords, .settings = smtp_settings,
              .init = smtp_init, .fini = smtp_fini, .channel = &smtp_ops);
