/*
 * hostdns.c - the process's DNS resolver and the host table's DNS service
 *
 * Offers hostdns.h: one dns_resolver per process on the host loop, its
 * settings from [dns] in cursus.conf, and the host->dns_query /
 * dns_cancel / dns_servers members built on it.  Needs util/dns, config
 * and host.c's loop.
 */
#include "build-config.h"
#include "hostdns.h"
#include "config/config.h"
#include "host.h"

#include <string.h>

static dns_resolver *resolver;
static char *resolver_key; /* the [dns] settings it was made with */

/* settings - [dns] of CFG as resolver arguments; the key identifies them */
static char *settings(const config *cfg, const char **servers_r,
                      unsigned *timeout_ms_r, unsigned *tries_r) {
  const char *servers = conf_get(cfg->conf, "dns", "servers");
  long long timeout = conf_get_int(cfg->conf, "dns", "timeout", 5);
  long long tries = conf_get_int(cfg->conf, "dns", "tries", 2);
  *servers_r = servers != NULL ? servers : "";
  *timeout_ms_r = (unsigned)CLAMP(timeout, 1, 300) * 1000u;
  *tries_r = (unsigned)CLAMP(tries, 1, 10);
  return g_strdup_printf("%s|%u|%u", *servers_r, *timeout_ms_r, *tries_r);
}

dns_resolver *hostdns_resolver(char **error_r) {
  ev_loop *loop = host_get_loop();
  config *cfg = config_current();
  const char *servers;
  unsigned timeout_ms, tries;
  if (loop == NULL || cfg == NULL) {
    *error_r = g_strdup("no event loop for DNS queries in this process");
    return NULL;
  }
  char *key = settings(cfg, &servers, &timeout_ms, &tries);
  if (resolver != NULL && strcmp(key, resolver_key) == 0) {
    g_free(key);
    return resolver;
  }
  dns_resolver *fresh =
      dns_resolver_new(loop, servers, timeout_ms, tries, error_r);
  if (fresh == NULL) {
    g_free(key);
    return resolver; /* keep the old one, if any */
  }
  dns_resolver_free(&resolver);
  g_free(resolver_key);
  resolver = fresh;
  resolver_key = key;
  return resolver;
}

void hostdns_shutdown(void) {
  dns_resolver_free(&resolver);
  g_free(resolver_key);
  resolver_key = NULL;
}

/* ------------------------------------------------------- host members */

struct cursus_dns_query {
  dns_query *q;
  void (*cb)(void *, const cursus_dns_result *);
  void *data;
};

/* h_dns_done - an answer, handed to the module in the SDK's form */
static void h_dns_done(const dns_answer *a, void *data) {
  cursus_dns_query *hq = data;
  g_ptr_array_add(a->records, NULL); /* NULL-terminated for the module */
  cursus_dns_result res = {.size = sizeof(res),
                           .status = a->status,
                           .count = a->records->len - 1,
                           .records = (const char *const *)a->records->pdata,
                           .error = a->error};
  hq->cb(hq->data, &res);
  g_ptr_array_set_size(a->records, a->records->len - 1);
  g_free(hq);
}

/* h_dns_query - host->dns_query */
static cursus_dns_query *h_dns_query(const char *name, uint32_t type,
                                     void (*cb)(void *,
                                                const cursus_dns_result *),
                                     void *data, const char **error_r) {
  static char *last_error;
  char *error = NULL;
  if (type != CURSUS_DNS_A && type != CURSUS_DNS_AAAA &&
      type != CURSUS_DNS_MX && type != CURSUS_DNS_TXT) {
    *error_r = "unsupported DNS record type";
    return NULL;
  }
  dns_resolver *r = hostdns_resolver(&error);
  if (r == NULL) {
    /* loop thread only: one static message is enough */
    g_free(last_error);
    last_error = error;
    *error_r = last_error;
    return NULL;
  }
  g_free(error);
  cursus_dns_query *hq = g_new0(cursus_dns_query, 1);
  hq->cb = cb;
  hq->data = data;
  hq->q = dns_query_start(r, name, (dns_type)type, h_dns_done, hq);
  return hq;
}

/* h_dns_cancel - host->dns_cancel */
static void h_dns_cancel(cursus_dns_query **hqp) {
  cursus_dns_query *hq = *hqp;
  if (hq == NULL)
    return;
  *hqp = NULL;
  dns_query_cancel(&hq->q);
  g_free(hq);
}

/* h_dns_servers - host->dns_servers */
static const char *h_dns_servers(void) {
  config *cfg = config_current();
  const char *s = cfg != NULL ? conf_get(cfg->conf, "dns", "servers") : NULL;
  return s != NULL && *s != '\0' ? s : NULL;
}

void hostdns_install(cursus_host *h) {
  h->dns_query = h_dns_query;
  h->dns_cancel = h_dns_cancel;
  h->dns_servers = h_dns_servers;
}

/* ------------------------------------------------------ configuration */

/* check_hook - a server list c-ares cannot use is an error at its line */
static void check_hook(config *cfg, diag *d) {
  const char *servers;
  unsigned timeout_ms, tries;
  char *error = NULL;
  g_free(settings(cfg, &servers, &timeout_ms, &tries));
  if (*servers == '\0')
    return;
  dns_resolver *r = dns_resolver_new(NULL, servers, timeout_ms, tries, &error);
  if (r != NULL) {
    dns_resolver_free(&r);
    return;
  }
  const opt_entry *e = NULL;
  for (guint i = 0; i < cfg->conf->sections->len && e == NULL; i++) {
    const opt_section *sec = cfg->conf->sections->pdata[i];
    if (sec->kind != NULL && sec->name == NULL &&
        g_ascii_strcasecmp(sec->kind, "dns") == 0)
      e = optfile_get(sec, "servers");
  }
  if (e != NULL)
    diag_error(d, e->file, e->line, "[dns] servers: %s", error);
  else
    diag_error(d, cfg->conf_path, 0, "[dns] servers: %s", error);
  g_free(error);
}

void hostdns_register(void) {
  static bool done;
  if (done)
    return;
  done = true;
  config_add_check_hook(check_hook);
}
