/*
 * route.c - next hops for a domain: MX, then A/AAAA, through c-ares
 *
 * Each resolution uses its own c-ares channel (they are not shared
 * between threads).  Answers are cached process-wide for a short time, so
 * the many messages of a job to one domain cost one lookup.
 */
#include "route.h"

#include <arpa/inet.h>
#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>

#include <cursus/common.h>

/* How long an answer is reused (seconds); failures a shorter time. */
#define CACHE_TTL 60
#define CACHE_FAIL_TTL 5
#define CACHE_MAX 10000

/* ------------------------------------------------------ c-ares channel */

static gsize library_ready;

/* resolver_new - a c-ares channel for CFG (one per resolution that needs
 * the DNS: c-ares channels are not shared between threads, and answers
 * are cached anyway); NULL with *error_r */
static ares_channel resolver_new(const route_config *cfg, char **error_r) {
  if (g_once_init_enter(&library_ready)) {
    ares_library_init(ARES_LIB_INIT_ALL);
    g_once_init_leave(&library_ready, 1);
  }
  struct ares_options opts = {0};
  opts.timeout = (int)cfg->timeout_ms;
  opts.tries = 2;
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  ares_channel ch;
  int rc = ares_init_options(&ch, &opts,
                             ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                 ARES_OPT_FLAGS);
  if (rc != ARES_SUCCESS) {
    *error_r = g_strdup_printf("cannot start the DNS resolver: %s",
                               ares_strerror(rc));
    return NULL;
  }
  if (cfg->servers != NULL && *cfg->servers != '\0') {
    rc = ares_set_servers_ports_csv(ch, cfg->servers);
    if (rc != ARES_SUCCESS) {
      ares_destroy(ch);
      *error_r = g_strdup_printf("bad DNS server list \"%s\": %s",
                                 cfg->servers, ares_strerror(rc));
      return NULL;
    }
  }
  return ch;
}

/* wait_done - drive CH until its queries are answered or timed out */
static void wait_done(ares_channel ch) {
  for (;;) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    /* the bit mask read as unsigned: c-ares's own macros shift into the
     * sign bit */
    unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    struct pollfd pfd[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
      short ev = 0;
      if ((bits >> i) & 1u)
        ev |= POLLIN;
      if ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
        ev |= POLLOUT;
      if (ev == 0)
        continue;
      pfd[n].fd = socks[i];
      pfd[n].events = ev;
      pfd[n].revents = 0;
      n++;
    }
    if (n == 0)
      return;
    struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
    int ms = tvp != NULL ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
    int rc = poll(pfd, n, ms);
    if (rc <= 0) {
      ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (nfds_t i = 0; i < n; i++)
      ares_process_fd(ch,
                      pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
                          ? pfd[i].fd
                          : ARES_SOCKET_BAD,
                      pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
  }
}

/* One query's answer. */
typedef struct answer {
  int status;
  unsigned char *buf;
  int len;
} answer;

static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                     int alen) {
  answer *a = arg;
  a->status = status;
  if (status == ARES_SUCCESS && abuf != NULL) {
    a->buf = g_memdup2(abuf, (gsize)alen);
    a->len = alen;
  }
}

/* A resolver started on the first query that the cache cannot answer:
 * routes to literal addresses and cached names cost no c-ares channel. */
typedef struct resolver {
  const route_config *cfg;
  ares_channel ch;
  char *error; /* why the channel could not start */
} resolver;

/* query - one DNS query of TYPE for NAME */
static void query(resolver *r, const char *name, int type, answer *a) {
  memset(a, 0, sizeof(*a));
  a->status = ARES_ETIMEOUT;
  if (r->ch == NULL && r->error == NULL)
    r->ch = resolver_new(r->cfg, &r->error);
  if (r->ch == NULL) {
    a->status = ARES_ENOTINITIALIZED; /* passes: retried later */
    return;
  }
  ares_query(r->ch, name, ns_c_in, type, query_cb, a);
  wait_done(r->ch);
}

/* status_of - CURSUS_* for a c-ares status: no such name / no data are
 * definite answers, everything else may pass */
static int status_of(int ares_status) {
  switch (ares_status) {
  case ARES_SUCCESS:
    return CURSUS_OK;
  case ARES_ENOTFOUND:
    return CURSUS_PERMFAIL;
  case ARES_ENODATA:
    return CURSUS_NONE;
  default:
    return CURSUS_TEMPFAIL;
  }
}

/* --------------------------------------------------------------- cache */

typedef struct cached {
  gint64 expires;
  int status;
  GArray *items; /* route_addr, or mx_item */
  char *error;
} cached;

typedef struct mx_item {
  char *name;
  int preference;
} mx_item;

static GMutex cache_lock;
static GHashTable *cache;

static void cached_free(gpointer p) {
  cached *c = p;
  if (c->items != NULL)
    g_array_unref(c->items);
  g_free(c->error);
  g_free(c);
}

static void mx_item_clear(gpointer p) { g_free(((mx_item *)p)->name); }

void route_shutdown(void) {
  g_mutex_lock(&cache_lock);
  if (cache != NULL)
    g_hash_table_destroy(cache);
  cache = NULL;
  g_mutex_unlock(&cache_lock);
  if (library_ready)
    ares_library_cleanup();
}

void route_cache_clear(void) {
  g_mutex_lock(&cache_lock);
  if (cache != NULL)
    g_hash_table_remove_all(cache);
  g_mutex_unlock(&cache_lock);
}

/* cache_get - a reference to the cached entry for KEY, or NULL */
static cached *cache_get(const char *key, int *status_r, GArray **items_r,
                         char **error_r) {
  g_mutex_lock(&cache_lock);
  cached *c = cache != NULL ? g_hash_table_lookup(cache, key) : NULL;
  if (c != NULL && c->expires < g_get_monotonic_time())
    c = NULL;
  if (c != NULL) {
    *status_r = c->status;
    *items_r = c->items != NULL ? g_array_ref(c->items) : NULL;
    *error_r = g_strdup(c->error);
  }
  g_mutex_unlock(&cache_lock);
  return c;
}

static void cache_put(const char *key, int status, GArray *items,
                      const char *error) {
  g_mutex_lock(&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cached_free);
  if (g_hash_table_size(cache) >= CACHE_MAX)
    g_hash_table_remove_all(cache);
  cached *c = g_new0(cached, 1);
  int ttl = status == CURSUS_TEMPFAIL ? CACHE_FAIL_TTL : CACHE_TTL;
  c->expires = g_get_monotonic_time() + (gint64)ttl * G_USEC_PER_SEC;
  c->status = status;
  c->items = items != NULL ? g_array_ref(items) : NULL;
  c->error = g_strdup(error);
  g_hash_table_replace(cache, g_strdup(key), c);
  g_mutex_unlock(&cache_lock);
}

/* ---------------------------------------------------------- addresses */

static void add_addr(GArray *out, int family, const void *raw) {
  route_addr a;
  memset(&a, 0, sizeof(a));
  if (family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&a.sa;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, raw, sizeof(sin->sin_addr));
    a.len = sizeof(*sin);
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.sa;
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, raw, sizeof(sin6->sin6_addr));
    a.len = sizeof(*sin6);
  }
  inet_ntop(family, raw, a.text, sizeof(a.text));
  g_array_append_val(out, a);
}

/* literal_addrs - NAME is an IP address (bare or as a domain literal):
 * true with its one address in OUT */
static bool literal_addrs(const char *name, GArray *out) {
  char buf[128];
  const char *s = name;
  if (*s == '[') {
    size_t n = strlen(s);
    if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(buf))
      return false;
    memcpy(buf, s + 1, n - 2);
    buf[n - 2] = '\0';
    s = g_ascii_strncasecmp(buf, "IPv6:", 5) == 0 ? buf + 5 : buf;
  }
  unsigned char raw[16];
  if (inet_pton(AF_INET, s, raw) == 1) {
    add_addr(out, AF_INET, raw);
    return true;
  }
  if (inet_pton(AF_INET6, s, raw) == 1) {
    add_addr(out, AF_INET6, raw);
    return true;
  }
  return false;
}

/* lookup_addrs - A and AAAA of NAME: CURSUS_OK with addresses,
 * PERMFAIL (no such host / no address), TEMPFAIL */
static int lookup_addrs(const route_config *cfg, resolver *ch,
                        const char *name, GArray **addrs_r, char **error_r) {
  char *key = g_strdup_printf("a:%d:%s", cfg->ipv6, name);
  int status;
  if (cache_get(key, &status, addrs_r, error_r) != NULL) {
    g_free(key);
    return status;
  }
  GArray *out = g_array_new(FALSE, TRUE, sizeof(route_addr));
  answer a4, a6;
  query(ch, name, ns_t_a, &a4);
  if (cfg->ipv6)
    query(ch, name, ns_t_aaaa, &a6);
  else
    memset(&a6, 0, sizeof(a6)), a6.status = ARES_ENODATA;
  int s4 = status_of(a4.status), s6 = status_of(a6.status);
  if (s4 == CURSUS_OK) {
    struct ares_addrttl ttls[32];
    int n = 32;
    struct hostent *he = NULL;
    if (ares_parse_a_reply(a4.buf, a4.len, &he, ttls, &n) == ARES_SUCCESS)
      for (int i = 0; i < n; i++)
        add_addr(out, AF_INET, &ttls[i].ipaddr);
    if (he != NULL)
      ares_free_hostent(he);
  }
  if (s6 == CURSUS_OK) {
    struct ares_addr6ttl ttls[32];
    int n = 32;
    struct hostent *he = NULL;
    if (ares_parse_aaaa_reply(a6.buf, a6.len, &he, ttls, &n) == ARES_SUCCESS)
      for (int i = 0; i < n; i++)
        add_addr(out, AF_INET6, &ttls[i].ip6addr);
    if (he != NULL)
      ares_free_hostent(he);
  }
  g_free(a4.buf);
  g_free(a6.buf);
  char *error = NULL;
  if (out->len > 0) {
    status = CURSUS_OK;
  } else if (s4 == CURSUS_TEMPFAIL || s6 == CURSUS_TEMPFAIL) {
    status = CURSUS_TEMPFAIL;
    error = g_strdup_printf("DNS lookup of %s failed: %s", name,
                            ares_strerror(s4 == CURSUS_TEMPFAIL ? a4.status
                                                                : a6.status));
  } else {
    status = CURSUS_PERMFAIL;
    error = g_strdup_printf("host %s has no address", name);
  }
  cache_put(key, status, out, error);
  g_free(key);
  *addrs_r = out;
  *error_r = error;
  return status;
}

/* lookup_mx - MX records of DOMAIN sorted by preference: CURSUS_OK,
 * CURSUS_NONE (none: use the domain), PERMFAIL (no such domain, null
 * MX), TEMPFAIL */
static int lookup_mx(const route_config *cfg, resolver *ch,
                     const char *domain, GArray **mx_r, char **error_r) {
  char *key = g_strdup_printf("mx:%s", domain);
  int status;
  if (cache_get(key, &status, mx_r, error_r) != NULL) {
    g_free(key);
    return status;
  }
  GArray *out = g_array_new(FALSE, TRUE, sizeof(mx_item));
  g_array_set_clear_func(out, mx_item_clear);
  answer a;
  query(ch, domain, ns_t_mx, &a);
  status = status_of(a.status);
  char *error = NULL;
  if (status == CURSUS_OK) {
    struct ares_mx_reply *mx = NULL;
    if (ares_parse_mx_reply(a.buf, a.len, &mx) != ARES_SUCCESS) {
      status = CURSUS_NONE;
    } else {
      for (struct ares_mx_reply *m = mx; m != NULL; m = m->next) {
        mx_item it = {g_ascii_strdown(m->host, -1), m->priority};
        g_array_append_val(out, it);
      }
      ares_free_data(mx);
      if (out->len == 0)
        status = CURSUS_NONE;
    }
    if (out->len == 1 && (g_array_index(out, mx_item, 0).name[0] == '\0' ||
                          strcmp(g_array_index(out, mx_item, 0).name, ".") == 0)) {
      status = CURSUS_PERMFAIL;
      error = g_strdup_printf("domain %s accepts no mail (null MX)", domain);
    }
  } else if (status == CURSUS_PERMFAIL) {
    error = g_strdup_printf("domain %s does not exist", domain);
  } else if (status == CURSUS_TEMPFAIL) {
    error = g_strdup_printf("MX lookup of %s failed: %s", domain,
                            ares_strerror(a.status));
  }
  g_free(a.buf);
  cache_put(key, status, out, error);
  g_free(key);
  *mx_r = out;
  *error_r = error;
  return status;
}

static gint mx_cmp(gconstpointer a, gconstpointer b) {
  return ((const mx_item *)a)->preference - ((const mx_item *)b)->preference;
}

/* shuffle_equal - random order among MX hosts of equal preference */
static void shuffle_equal(GArray *mx) {
  for (guint i = 0; i < mx->len;) {
    guint j = i;
    while (j < mx->len && g_array_index(mx, mx_item, j).preference ==
                              g_array_index(mx, mx_item, i).preference)
      j++;
    for (guint k = j - 1; k > i; k--) {
      guint r = i + (guint)g_random_int_range(0, (gint32)(k - i + 1));
      mx_item t = g_array_index(mx, mx_item, k);
      g_array_index(mx, mx_item, k) = g_array_index(mx, mx_item, r);
      g_array_index(mx, mx_item, r) = t;
    }
    i = j;
  }
}

static void hop_free(gpointer p) {
  route_hop *h = p;
  g_free(h->name);
  if (h->addrs != NULL)
    g_array_unref(h->addrs);
  g_free(h);
}

void route_hops_free(GPtrArray **hops) {
  if (*hops != NULL)
    g_ptr_array_unref(*hops);
  *hops = NULL;
}

/* add_hop - NAME with its addresses */
static void add_hop(const route_config *cfg, resolver *ch, GPtrArray *hops,
                    const char *name, int preference) {
  for (guint i = 0; i < hops->len; i++)
    if (g_ascii_strcasecmp(((route_hop *)hops->pdata[i])->name, name) == 0)
      return;
  route_hop *h = g_new0(route_hop, 1);
  h->name = g_strdup(name);
  h->preference = preference;
  h->addrs = g_array_new(FALSE, TRUE, sizeof(route_addr));
  if (literal_addrs(name, h->addrs)) {
    h->addr_status = CURSUS_OK;
  } else {
    char *error = NULL;
    g_array_unref(h->addrs);
    h->addrs = NULL;
    h->addr_status = lookup_addrs(cfg, ch, name, &h->addrs, &error);
    g_free(error);
  }
  g_ptr_array_add(hops, h);
}

int route_resolve(const route_config *cfg, const char *domain,
                  GPtrArray **hops_r, char **error_r) {
  GPtrArray *hops = g_ptr_array_new_with_free_func(hop_free);
  resolver res = {.cfg = cfg};
  resolver *ch = &res;
  int status = CURSUS_OK;
  if (cfg->daemon != NULL) {
    add_hop(cfg, ch, hops, cfg->daemon, -1);
  } else if (*domain == '[' || cfg->mode == ROUTE_NOMX) {
    add_hop(cfg, ch, hops, domain, -1);
  } else {
    GArray *mx = NULL;
    status = lookup_mx(cfg, ch, domain, &mx, error_r);
    if (status == CURSUS_OK) {
      GArray *sorted = g_array_sized_new(FALSE, TRUE, sizeof(mx_item), mx->len);
      g_array_append_vals(sorted, mx->data, mx->len);
      g_array_sort(sorted, mx_cmp);
      if (cfg->mode == ROUTE_RANDOMMX)
        shuffle_equal(sorted);
      for (guint i = 0; i < sorted->len && i < cfg->max_mx; i++)
        add_hop(cfg, ch, hops, g_array_index(sorted, mx_item, i).name,
                g_array_index(sorted, mx_item, i).preference);
      g_array_unref(sorted); /* names belong to MX */
    } else if (status == CURSUS_NONE) {
      status = CURSUS_OK;
      add_hop(cfg, ch, hops, domain, -1);
    }
    if (mx != NULL)
      g_array_unref(mx);
  }
  if (cfg->lastresort != NULL && status != CURSUS_PERMFAIL) {
    if (status == CURSUS_TEMPFAIL) {
      g_free(*error_r);
      *error_r = NULL;
      status = CURSUS_OK;
    }
    add_hop(cfg, ch, hops, cfg->lastresort, -1);
  }
  if (res.ch != NULL)
    ares_destroy(res.ch);
  if (res.error != NULL && status != CURSUS_OK) { /* the reason that counts */
    g_free(*error_r);
    *error_r = res.error;
    res.error = NULL;
  }
  g_free(res.error);
  if (status != CURSUS_OK) {
    g_ptr_array_unref(hops);
    return status;
  }
  *hops_r = hops;
  return CURSUS_OK;
}
