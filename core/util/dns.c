/*
 * dns.c - asynchronous DNS queries on an event loop (c-ares)
 *
 * Offers the dns_* functions of dns.h.  c-ares tells us which sockets it
 * wants watched (the socket-state callback) and when its next retry is
 * due (ares_timeout); both become ev watchers, so queries progress while
 * the loop serves everything else.  Needs c-ares, GLib and util/ev.
 */
#include "build-config.h"
#include "dns.h"

#include <cursus/common.h>

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <string.h>

/* Most records kept from one answer, and bytes of one TXT record. */
#define MAX_RECORDS 64
#define MAX_TXT 4096

struct dns_resolver {
  ev_loop *loop;
  ares_channel ch;
  char *servers;
  GHashTable *watches; /* fd -> ev_io* */
  ev_timer *timer;
  unsigned depth; /* nested calls into c-ares: freeing must wait */
  bool doomed;
};

struct dns_query {
  dns_resolver *r;
  dns_cb *cb; /* NULL once cancelled */
  void *data;
  dns_type type;
  bool starting; /* inside dns_query_start: answers are posted */
  dns_answer posted;
};

static gsize library_ready;

/* resolver_destroy - end c-ares and free the watchers */
static void resolver_destroy(dns_resolver *r);

/* --------------------------------------------------------- loop glue */

/* rearm - the timer follows c-ares' next deadline */
static void rearm(dns_resolver *r);

/* process - let c-ares use its ready sockets or handle its timeouts */
static void process(dns_resolver *r, ares_socket_t rfd, ares_socket_t wfd) {
  r->depth++;
  ares_process_fd(r->ch, rfd, wfd);
  r->depth--;
  if (r->depth == 0 && r->doomed)
    resolver_destroy(r);
  else
    rearm(r);
}

/* on_timer - a retry or timeout is due */
static void on_timer(ev_timer *t, void *data) {
  dns_resolver *r = data;
  (void)t;
  process(r, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/* rearm - the timer follows c-ares' next deadline (none: no timer) */
static void rearm(dns_resolver *r) {
  struct timeval tv, *tvp = ares_timeout(r->ch, NULL, &tv);
  if (tvp == NULL) {
    ev_timer_free(&r->timer);
    return;
  }
  uint64_t ms = (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000;
  if (r->timer == NULL)
    r->timer = ev_timer_new(r->loop, ms, on_timer, r);
  else
    ev_timer_reset(r->timer, ms);
}

/* on_io - a c-ares socket is ready */
static void on_io(ev_io *io, unsigned events, void *data) {
  dns_resolver *r = data;
  ares_socket_t fd = ev_io_fd(io);
  bool rd = (events & (EV_READ | EV_ERROR)) != 0;
  bool wr = (events & EV_WRITE) != 0;
  process(r, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
}

/* sock_state - c-ares opens, changes or closes a socket */
static void sock_state(void *data, ares_socket_t fd, int readable,
                       int writable) {
  dns_resolver *r = data;
  unsigned events = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  ev_io *io = g_hash_table_lookup(r->watches, GINT_TO_POINTER(fd));
  if (events == 0) {
    if (io != NULL) {
      g_hash_table_remove(r->watches, GINT_TO_POINTER(fd));
      ev_io_free(&io);
    }
  } else if (io != NULL) {
    ev_io_set(io, events);
  } else {
    io = ev_io_new(r->loop, fd, events, on_io, r);
    g_hash_table_insert(r->watches, GINT_TO_POINTER(fd), io);
  }
}

/* ---------------------------------------------------------- resolver */

dns_resolver *dns_resolver_new(ev_loop *loop, const char *servers,
                               unsigned timeout_ms, unsigned tries,
                               char **error_r) {
  if (g_once_init_enter(&library_ready)) {
    ares_library_init(ARES_LIB_INIT_ALL);
    g_once_init_leave(&library_ready, 1);
  }
  dns_resolver *r = g_new0(dns_resolver, 1);
  struct ares_options opts = {0};
  opts.timeout = (int)MAX(timeout_ms, 1u);
  opts.tries = (int)MAX(tries, 1u);
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  opts.sock_state_cb = sock_state;
  opts.sock_state_cb_data = r;
  int rc = ares_init_options(&r->ch, &opts,
                             ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                 ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB);
  if (rc != ARES_SUCCESS) {
    *error_r = g_strdup_printf("cannot start the DNS resolver: %s",
                               ares_strerror(rc));
    g_free(r);
    return NULL;
  }
  if (servers != NULL && *servers != '\0') {
    rc = ares_set_servers_ports_csv(r->ch, servers);
    if (rc != ARES_SUCCESS) {
      *error_r = g_strdup_printf("bad DNS server list \"%s\": %s", servers,
                                 ares_strerror(rc));
      ares_destroy(r->ch);
      g_free(r);
      return NULL;
    }
  }
  r->loop = loop;
  r->servers = g_strdup(servers != NULL ? servers : "");
  r->watches = g_hash_table_new(g_direct_hash, g_direct_equal);
  return r;
}

/* resolver_destroy - end c-ares and free the watchers */
static void resolver_destroy(dns_resolver *r) {
  /* pending queries end with ARES_EDESTRUCTION: their callers hear a
   * temporary failure (query_done) */
  ares_destroy(r->ch);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, r->watches);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    ev_io *io = value;
    ev_io_free(&io);
  }
  g_hash_table_destroy(r->watches);
  ev_timer_free(&r->timer);
  g_free(r->servers);
  g_free(r);
}

void dns_resolver_free(dns_resolver **rp) {
  dns_resolver *r = *rp;
  if (r == NULL)
    return;
  *rp = NULL;
  if (r->depth > 0)
    r->doomed = true;
  else
    resolver_destroy(r);
}

const char *dns_resolver_servers(const dns_resolver *r) { return r->servers; }

/* ------------------------------------------------------------ answers */

/* parse_addresses - A or AAAA records as text */
static void parse_addresses(const unsigned char *buf, int len, bool v6,
                            GPtrArray *out) {
  char text[INET6_ADDRSTRLEN];
  int n = MAX_RECORDS;
  if (v6) {
    struct ares_addr6ttl a[MAX_RECORDS];
    if (ares_parse_aaaa_reply(buf, len, NULL, a, &n) != ARES_SUCCESS)
      return;
    for (int i = 0; i < n; i++)
      if (inet_ntop(AF_INET6, &a[i].ip6addr, text, sizeof(text)) != NULL)
        g_ptr_array_add(out, g_strdup(text));
  } else {
    struct ares_addrttl a[MAX_RECORDS];
    if (ares_parse_a_reply(buf, len, NULL, a, &n) != ARES_SUCCESS)
      return;
    for (int i = 0; i < n; i++)
      if (inet_ntop(AF_INET, &a[i].ipaddr, text, sizeof(text)) != NULL)
        g_ptr_array_add(out, g_strdup(text));
  }
}

/* mx_order - by preference, lowest first */
static gint mx_order(gconstpointer a, gconstpointer b) {
  const struct ares_mx_reply *x = *(struct ares_mx_reply *const *)a;
  const struct ares_mx_reply *y = *(struct ares_mx_reply *const *)b;
  return (int)x->priority - (int)y->priority;
}

/* parse_mx - MX host names in preference order */
static void parse_mx(const unsigned char *buf, int len, GPtrArray *out) {
  struct ares_mx_reply *mx = NULL;
  if (ares_parse_mx_reply(buf, len, &mx) != ARES_SUCCESS)
    return;
  GPtrArray *sorted = g_ptr_array_new();
  for (struct ares_mx_reply *m = mx; m != NULL && sorted->len < MAX_RECORDS;
       m = m->next)
    g_ptr_array_add(sorted, m);
  /* stable: equal preferences keep the server's order */
  g_ptr_array_sort(sorted, mx_order);
  for (guint i = 0; i < sorted->len; i++) {
    const struct ares_mx_reply *m = sorted->pdata[i];
    g_ptr_array_add(out, g_strdup(m->host));
  }
  g_ptr_array_free(sorted, TRUE);
  ares_free_data(mx);
}

/* parse_txt - one string per TXT record, its character-strings joined */
static void parse_txt(const unsigned char *buf, int len, GPtrArray *out) {
  struct ares_txt_ext *txt = NULL;
  GString *rec = NULL;
  if (ares_parse_txt_reply_ext(buf, len, &txt) != ARES_SUCCESS)
    return;
  for (struct ares_txt_ext *t = txt; t != NULL; t = t->next) {
    if (t->record_start && rec != NULL) {
      g_ptr_array_add(out, g_string_free(rec, FALSE));
      rec = NULL;
    }
    if (out->len >= MAX_RECORDS)
      break;
    if (rec == NULL)
      rec = g_string_new(NULL);
    if (rec->len < MAX_TXT)
      g_string_append_len(rec, (const char *)t->txt,
                          (gssize)MIN(t->length, MAX_TXT - rec->len));
  }
  if (rec != NULL)
    g_ptr_array_add(out, g_string_free(rec, FALSE));
  ares_free_data(txt);
}

void dns_parse_answer(dns_type type, const unsigned char *buf, int len,
                      GPtrArray *out) {
  if (type == CURSUS_DNS_A || type == CURSUS_DNS_AAAA)
    parse_addresses(buf, len, type == CURSUS_DNS_AAAA, out);
  else if (type == CURSUS_DNS_MX)
    parse_mx(buf, len, out);
  else if (type == CURSUS_DNS_TXT)
    parse_txt(buf, len, out);
}

/* deliver - hand ANSWER to the caller (unless cancelled) and free Q */
static void deliver(dns_query *q, const dns_answer *a) {
  if (q->cb != NULL)
    q->cb(a, q->data);
  g_free(q);
}

/* posted - an answer given inside dns_query_start, now from the loop */
static void posted(void *data) {
  dns_query *q = data;
  deliver(q, &q->posted);
  g_ptr_array_free(q->posted.records, TRUE);
}

/* query_done - c-ares' answer: sort it into found / none / failed */
static void query_done(void *arg, int status, int timeouts,
                       unsigned char *buf, int len) {
  dns_query *q = arg;
  dns_answer a = {.status = CURSUS_TEMPFAIL,
                  .records = g_ptr_array_new_with_free_func(g_free)};
  (void)timeouts;
  switch (status) {
  case ARES_SUCCESS:
    dns_parse_answer(q->type, buf, len, a.records);
    a.status = a.records->len > 0 ? CURSUS_OK : CURSUS_NONE;
    break;
  case ARES_ENODATA:
  case ARES_ENOTFOUND:
    a.status = CURSUS_NONE;
    break;
  case ARES_EDESTRUCTION:
  case ARES_ECANCELLED:
    a.error = "DNS resolver closed";
    break;
  default:
    a.error = ares_strerror(status);
  }
  if (q->starting) {
    /* c-ares answered from inside ares_query (a malformed name, no
     * servers): the caller hears it from the loop, as promised */
    q->posted = a;
    q->posted.error = a.error;
    ev_post(q->r->loop, posted, q);
    return;
  }
  deliver(q, &a);
  g_ptr_array_free(a.records, TRUE);
}

dns_query *dns_query_start(dns_resolver *r, const char *name,
                           dns_type type, dns_cb *cb, void *data) {
  dns_query *q = g_new0(dns_query, 1);
  q->r = r;
  q->cb = cb;
  q->data = data;
  q->type = type;
  q->starting = true;
  r->depth++;
  ares_query(r->ch, name, ns_c_in, (int)type, query_done, q);
  r->depth--;
  q->starting = false;
  rearm(r);
  return q;
}

void dns_query_cancel(dns_query **qp) {
  if (*qp != NULL)
    (*qp)->cb = NULL;
  *qp = NULL;
}

/* ------------------------------------------------------- block lists */

char *dns_reverse_name(const char *ip, const char *zone) {
  unsigned char a[16];
  if (inet_pton(AF_INET, ip, a) == 1)
    return g_strdup_printf("%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
  if (inet_pton(AF_INET6, ip, a) != 1)
    return NULL;
  static const char hex[] = "0123456789abcdef";
  GString *s = g_string_sized_new(64 + strlen(zone));
  for (int i = 15; i >= 0; i--) {
    g_string_append_c(s, hex[a[i] & 0xf]);
    g_string_append_c(s, '.');
    g_string_append_c(s, hex[a[i] >> 4]);
    g_string_append_c(s, '.');
  }
  g_string_append(s, zone);
  return g_string_free(s, FALSE);
}
