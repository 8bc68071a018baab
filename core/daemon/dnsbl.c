/*
 * dnsbl.c - is a client address on a DNS block list?
 *
 * Offers dnsbl.h.  All zones are asked at once so the wait is the slowest
 * zone's, not their sum; the TXT query is asked only of the zone that
 * lists the client.  Needs util/dns and util/log.
 */
#include "build-config.h"
#include "dnsbl.h"
#include "util/log.h"

#include <cursus/common.h>

#include <arpa/inet.h>
#include <string.h>

typedef struct zone_query {
  dnsbl_check *c;
  char *zone;
  char *name;
  dns_query *q;
} zone_query;

struct dnsbl_check {
  dns_resolver *r;
  char *label;
  char *ip;
  GPtrArray *zones; /* of zone_query* */
  unsigned pending;
  zone_query *listed;
  dns_query *txt;
  dnsbl_cb *cb;
  void *data;
};

/* zone_query_free - one zone's query, cancelled if still pending */
static void zone_query_free(void *p) {
  zone_query *z = p;
  dns_query_cancel(&z->q);
  g_free(z->zone);
  g_free(z->name);
  g_free(z);
}

/* finish - tell the caller and free everything */
static void finish(dnsbl_check *c, const char *reason) {
  c->cb(c->listed != NULL ? c->listed->zone : NULL, reason, c->data);
  g_ptr_array_free(c->zones, TRUE);
  g_free(c->label);
  g_free(c->ip);
  g_free(c);
}

/* txt_done - the listing zone's reason (if any): the verdict is complete */
static void txt_done(const dns_answer *a, void *data) {
  dnsbl_check *c = data;
  c->txt = NULL;
  finish(c, a->status == CURSUS_OK ? a->records->pdata[0] : NULL);
}

bool dnsbl_listed_address(const char *addr) {
  unsigned char b[4];
  if (inet_pton(AF_INET, addr, b) != 1 || b[0] != 127)
    return false;
  return !(b[1] == 255 && b[2] == 255);
}

/* zone_done - one zone's A answer: listed, not listed, or no answer */
static void zone_done(const dns_answer *a, void *data) {
  zone_query *z = data;
  dnsbl_check *c = z->c;
  z->q = NULL;
  c->pending--;
  if (a->status == CURSUS_TEMPFAIL) {
    log_warning("%s: DNS block list %s: no answer for %s (%s): "
                "client %s let through",
                c->label, z->zone, z->name, a->error, c->ip);
  } else if (a->status == CURSUS_OK) {
    for (guint i = 0; i < a->records->len && c->listed == NULL; i++) {
      const char *addr = a->records->pdata[i];
      if (dnsbl_listed_address(addr))
        c->listed = z;
      else
        log_warning("%s: DNS block list %s answers %s for %s: not a "
                    "listing (an error code of the list?)",
                    c->label, z->zone, addr, c->ip);
    }
  }
  if (c->listed == z) {
    /* the first listing decides: the other zones need not answer */
    for (guint i = 0; i < c->zones->len; i++)
      dns_query_cancel(&((zone_query *)c->zones->pdata[i])->q);
    c->pending = 0;
    c->txt = dns_query_start(c->r, z->name, CURSUS_DNS_TXT, txt_done, c);
    return;
  }
  if (c->pending == 0 && c->listed == NULL)
    finish(c, NULL);
}

dnsbl_check *dnsbl_start(dns_resolver *r, const char *label, const char *ip,
                         char *const *zones, dnsbl_cb *cb, void *data) {
  dnsbl_check *c = g_new0(dnsbl_check, 1);
  c->r = r;
  c->label = g_strdup(label);
  c->ip = g_strdup(ip);
  c->cb = cb;
  c->data = data;
  c->zones = g_ptr_array_new_with_free_func(zone_query_free);
  for (char *const *zp = zones; zp != NULL && *zp != NULL; zp++) {
    char *name = dns_reverse_name(ip, *zp);
    if (name == NULL)
      continue;
    zone_query *z = g_new0(zone_query, 1);
    z->c = c;
    z->zone = g_strdup(*zp);
    z->name = name;
    g_ptr_array_add(c->zones, z);
  }
  c->pending = c->zones->len;
  if (c->pending == 0) {
    g_ptr_array_free(c->zones, TRUE);
    g_free(c->label);
    g_free(c->ip);
    g_free(c);
    return NULL;
  }
  for (guint i = 0; i < c->zones->len; i++) {
    zone_query *z = c->zones->pdata[i];
    z->q = dns_query_start(r, z->name, CURSUS_DNS_A, zone_done, z);
  }
  return c;
}

char *dnsbl_reason_clean(const char *text, size_t max) {
  GString *s = g_string_sized_new(64);
  for (const char *p = text; *p != '\0' && s->len < max; p++)
    g_string_append_c(s, (*p >= 0x20 && *p < 0x7f) ? *p : ' ');
  return g_string_free(s, FALSE);
}
