/*
 * dispcnf.c - dispatcher.cnf
 */
#include "build-config.h"
#include "dispcnf.h"
#include "util/fsutil.h"

#include <arpa/inet.h>
#include <string.h>

#define B (OPT_GLOBAL | OPT_SECTION)
#define S OPT_SECTION
#define INT CURSUS_VALUE_INTEGER
#define STR CURSUS_VALUE_STRING
static const opt_schema disp_schema[] = {
    {"PORT", STR, B, 0, 0, "TCP port(s), comma- or space-separated; 0 disables"},
    {"TLS_PORT", STR, B, 0, 0, "port(s) where TLS starts at connect"},
    {"INTERFACE_ADDRESS", STR, B, 0, 0, "address(es) to listen on (default all)"},
    {"UNIX_SOCKET", CURSUS_VALUE_PATH, S, 0, 0, "UNIX-domain socket to listen on"},
    {"PROTOCOL", STR, S, 0, 0, "protocol module name (smtp, lmtp, imap, pop3, http)"},
    {"CHANNEL", CURSUS_VALUE_CHANNEL, S, 0, 0, "default source channel"},
    {"IMAGE", STR, B, 0, 0, "accepted for compatibility; PROTOCOL selects the program"},
    {"PARAMETER", STR, B, 0, 0, "parameter passed to the protocol module"},
    {"LOGFILE", CURSUS_VALUE_PATH, B, 0, 0, "accepted for compatibility (one server log)"},
    {"MIN_PROCS", INT, B, 0, 1000, "worker processes kept running"},
    {"MAX_PROCS", INT, B, 1, 1000, "most worker processes"},
    {"MIN_CONNS", INT, B, 1, 1000000, "connections per worker before another starts"},
    {"MAX_CONNS", INT, B, 1, 1000000, "most connections per worker"},
    {"MAX_LIFE_TIME", CURSUS_VALUE_DURATION, B, 0, 0, "retire a worker after this long"},
    {"MAX_LIFE_CONNS", INT, B, 0, 1000000000, "retire a worker after this many connections"},
    {"MAX_SHUTDOWN", INT, B, 1, 1000, "workers retiring at once"},
    {"MAX_IDLE_TIME", CURSUS_VALUE_DURATION, B, 0, 0, "stop an idle worker above MIN_PROCS after this long"},
    {"MAX_HANDOFFS", INT, B, 1, 10000, "connections waiting for PORT_ACCESS or DNS block lists before hand-off"},
    {"BACKLOG", INT, B, 1, 65535, "listen() backlog"},
    {"STACKSIZE", INT, B, 0, 0, "accepted for compatibility"},
    {"USER", STR, B, 0, 0, "accepted for compatibility; see [server] user"},
    {"DEBUG", INT, B, 0, 0, "debug bitmask (-1 all)"},
    {"HISTORICAL_TIME", CURSUS_VALUE_DURATION, B, 0, 0, "keep statistics of retired workers"},
    {"MAX_CONNS_PER_IP", INT, B, 0, 1000000, "concurrent connections per client IP (0 = no limit)"},
    {"MAX_CONN_RATE_PER_IP", INT, B, 0, 1000000, "new connections per client IP per minute (0 = no limit)"},
    {"MAX_SESSIONS", INT, B, 0, 100000000, "concurrent sessions of the service (0 = MAX_PROCS*MAX_CONNS)"},
    {"BLOCK", STR, B, 0, 0, "client networks refused, comma-separated CIDR"},
    {"DNS_VERIFY_DOMAIN", STR, B, 0, 0, "DNS block list zone (repeatable)"},
    {"ENABLE_RBL", CURSUS_VALUE_BOOLEAN, B, 0, 0, "check DNS_VERIFY_DOMAIN"},
    {"IDENT", INT, B, 0, 1, "accepted for compatibility"},
    {NULL, 0, 0, 0, 0, NULL},
};

static void service_free(void *p) {
  disp_service *s = p;
  g_free(s->name);
  g_free(s->protocol);
  g_free(s->channel);
  g_array_free(s->ports, TRUE);
  g_array_free(s->tls_ports, TRUE);
  g_strfreev(s->interfaces);
  g_free(s->unix_socket);
  g_strfreev(s->block);
  g_strfreev(s->dns_zones);
  g_free(s);
}

/* default_protocol - the protocol classic service names imply */
static const char *default_protocol(const char *service) {
  static const struct {
    const char *prefix, *protocol;
  } map[] = {{"SMTP", "smtp"}, {"LMTP", "lmtp"}, {"IMAP", "imap"},
             {"POP", "pop3"},  {"HTTP", "http"}};
  for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
    if (g_ascii_strncasecmp(service, map[i].prefix, strlen(map[i].prefix)) == 0)
      return map[i].protocol;
  return NULL;
}

static char **split_list(const char *v) {
  char **parts = g_strsplit_set(v, ", \t", -1);
  GPtrArray *out = g_ptr_array_new();
  for (char **p = parts; *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add(out, g_strdup(*p));
  g_strfreev(parts);
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

static GArray *parse_ports(const opt_entry *e, diag *d) {
  GArray *ports = g_array_new(FALSE, FALSE, sizeof(unsigned));
  if (e == NULL)
    return ports;
  char **list = split_list(e->value);
  for (char **p = list; *p != NULL; p++) {
    long long n;
    if (!opt_parse_int(*p, &n) || n < 0 || n > 65535) {
      diag_error(d, e->file, e->line, "%s: \"%s\" is not a port number (0-65535)",
                 e->key, *p);
      continue;
    }
    unsigned port = (unsigned)n;
    if (port != 0)
      g_array_append_val(ports, port);
  }
  g_strfreev(list);
  return ports;
}

static bool cidr_ok(const char *text) {
  char *copy = g_strdup(text), *slash = strchr(copy, '/');
  unsigned char buf[16];
  bool ok;
  if (slash != NULL)
    *slash = '\0';
  bool v6 = strchr(copy, ':') != NULL;
  ok = inet_pton(v6 ? AF_INET6 : AF_INET, copy, buf) == 1;
  if (ok && slash != NULL) {
    long long bits;
    ok = opt_parse_int(slash + 1, &bits) && bits >= 0 && bits <= (v6 ? 128 : 32);
  }
  g_free(copy);
  return ok;
}

/* zone_ok - ZONE looks like a DNS name (labels of letters, digits, '-'
 * and '_', each 1-63 long, 253 in all) */
static bool zone_ok(const char *zone) {
  size_t len = strlen(zone), label = 0;
  if (len == 0 || len > 253)
    return false;
  for (const char *p = zone; *p != '\0'; p++) {
    if (*p == '.') {
      if (label == 0 && p[1] != '\0')
        return false;
      label = 0;
    } else if (g_ascii_isalnum(*p) || *p == '-' || *p == '_') {
      if (++label > 63)
        return false;
    } else {
      return false;
    }
  }
  return true;
}

/* read_zones - the DNS_VERIFY_DOMAIN zones (the section's, else the
 * global ones), used when ENABLE_RBL is on */
static void read_zones(disp_service *s, const opt_section *sec,
                       const opt_section *g, diag *d) {
  const opt_section *from = optfile_get(sec, "DNS_VERIFY_DOMAIN") ? sec : g;
  GPtrArray *zones = g_ptr_array_new_with_free_func(g_free);
  const opt_entry *first = NULL;
  for (guint i = 0; i < from->entries->len; i++) {
    const opt_entry *e = from->entries->pdata[i];
    if (g_ascii_strcasecmp(e->key, "DNS_VERIFY_DOMAIN") != 0)
      continue;
    if (first == NULL)
      first = e;
    char *zone = g_strstrip(g_ascii_strdown(e->value, -1));
    size_t n = strlen(zone);
    if (n > 1 && zone[n - 1] == '.')
      zone[n - 1] = '\0';
    if (!zone_ok(zone)) {
      diag_error(d, e->file, e->line,
                 "DNS_VERIFY_DOMAIN: \"%s\" is not a DNS zone name", e->value);
      g_free(zone);
      continue;
    }
    g_ptr_array_add(zones, zone);
  }
  bool enabled = false;
  const char *rbl = optfile_str(sec, g, "ENABLE_RBL", NULL);
  if (rbl != NULL)
    (void)opt_parse_bool(rbl, &enabled); /* the schema reported bad values */
  if (enabled && zones->len == 0)
    diag_warning(d, s->file, s->line,
                 "service %s: ENABLE_RBL is set but no DNS_VERIFY_DOMAIN "
                 "names a block list", s->name);
  if (!enabled && first != NULL && from == sec)
    diag_warning(d, first->file, first->line,
                 "service %s: DNS_VERIFY_DOMAIN is not checked unless "
                 "ENABLE_RBL=1", s->name);
  if (enabled && zones->len > 0) {
    g_ptr_array_add(zones, NULL);
    s->dns_zones = (char **)g_ptr_array_free(zones, FALSE);
  } else {
    g_ptr_array_free(zones, TRUE);
  }
}

static void service_read(dispcnf *dc, opt_section *sec, const char *run_dir,
                         diag *d) {
  const opt_section *g = dc->of->sections->pdata[0];
  disp_service *s = g_new0(disp_service, 1);
  const opt_entry *e;

  s->name = g_ascii_strup(sec->name, -1);
  s->section = sec;
  s->file = sec->file;
  s->line = sec->line;
  s->protocol = g_strdup(optfile_str(sec, NULL, "PROTOCOL",
                                     default_protocol(s->name)));
  s->channel = g_strdup(optfile_str(sec, NULL, "CHANNEL", NULL));
  e = optfile_get(sec, "PORT");
  s->ports = parse_ports(e != NULL ? e : optfile_get(g, "PORT"), d);
  e = optfile_get(sec, "TLS_PORT");
  s->tls_ports = parse_ports(e != NULL ? e : optfile_get(g, "TLS_PORT"), d);
  const char *ifs = optfile_str(sec, g, "INTERFACE_ADDRESS", NULL);
  if (ifs != NULL)
    s->interfaces = split_list(ifs);
  const char *us = optfile_str(sec, NULL, "UNIX_SOCKET", NULL);
  if (us != NULL)
    s->unix_socket = fs_path_join(run_dir, us);
  s->min_procs = (unsigned)optfile_int(sec, g, "MIN_PROCS", 1);
  s->max_procs = (unsigned)optfile_int(sec, g, "MAX_PROCS", 4);
  s->max_conns = (unsigned)optfile_int(sec, g, "MAX_CONNS", 10000);
  /* unset, MIN_CONNS follows a small MAX_CONNS down */
  s->min_conns = (unsigned)optfile_int(sec, g, "MIN_CONNS", MIN(20, s->max_conns));
  s->max_life_time = (unsigned)optfile_int(sec, g, "MAX_LIFE_TIME", 86400);
  s->max_life_conns = (unsigned)optfile_int(sec, g, "MAX_LIFE_CONNS", 0);
  s->max_shutdown = (unsigned)optfile_int(sec, g, "MAX_SHUTDOWN", 2);
  s->max_idle_time = (unsigned)optfile_int(sec, g, "MAX_IDLE_TIME", 600);
  s->max_handoffs = (unsigned)optfile_int(sec, g, "MAX_HANDOFFS", 64);
  s->backlog = (unsigned)optfile_int(sec, g, "BACKLOG", 1024);
  s->max_conns_per_ip = (unsigned)optfile_int(sec, g, "MAX_CONNS_PER_IP", 0);
  s->max_conn_rate_per_ip =
      (unsigned)optfile_int(sec, g, "MAX_CONN_RATE_PER_IP", 0);
  s->max_sessions = (unsigned)optfile_int(sec, g, "MAX_SESSIONS", 0);
  const char *block = optfile_str(sec, g, "BLOCK", NULL);
  if (block != NULL) {
    s->block = split_list(block);
    for (char **b = s->block; *b != NULL; b++)
      if (!cidr_ok(*b)) {
        e = optfile_get(sec, "BLOCK") ? optfile_get(sec, "BLOCK")
                                      : optfile_get(g, "BLOCK");
        diag_error(d, e->file, e->line,
                   "BLOCK: \"%s\" is not an address or network (CIDR)", *b);
      }
  }

  read_zones(s, sec, g, d);

  if (s->protocol == NULL)
    diag_error(d, sec->file, sec->line,
               "service %s: set PROTOCOL (no protocol is implied by the name)",
               s->name);
  if (s->ports->len == 0 && s->tls_ports->len == 0 && s->unix_socket == NULL)
    diag_warning(d, sec->file, sec->line,
                 "service %s has no PORT, TLS_PORT or UNIX_SOCKET: disabled",
                 s->name);
  if (s->min_procs > s->max_procs)
    diag_error(d, sec->file, sec->line,
               "service %s: MIN_PROCS (%u) is above MAX_PROCS (%u)", s->name,
               s->min_procs, s->max_procs);
  if (s->min_conns > s->max_conns)
    diag_error(d, sec->file, sec->line,
               "service %s: MIN_CONNS (%u) is above MAX_CONNS (%u)", s->name,
               s->min_conns, s->max_conns);
  if (dispcnf_service(dc, s->name) != NULL)
    diag_error(d, sec->file, sec->line, "service %s is defined twice", s->name);
  g_ptr_array_add(dc->services, s);
}

/* check_port_clashes - no two services (or one twice) share a port */
static void check_port_clashes(dispcnf *dc, diag *d) {
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint i = 0; i < dc->services->len; i++) {
    disp_service *s = dc->services->pdata[i];
    GArray *lists[] = {s->ports, s->tls_ports};
    for (size_t l = 0; l < 2; l++)
      for (guint j = 0; j < lists[l]->len; j++) {
        unsigned port = g_array_index(lists[l], unsigned, j);
        disp_service *other = g_hash_table_lookup(seen, GUINT_TO_POINTER(port));
        if (other != NULL)
          diag_error(d, s->file, s->line,
                     "service %s: port %u is already used by service %s",
                     s->name, port, other->name);
        else
          g_hash_table_insert(seen, GUINT_TO_POINTER(port), s);
      }
  }
  g_hash_table_destroy(seen);
}

dispcnf *dispcnf_read(const char *path, const char *run_dir, diag *d) {
  static const char *const kinds[] = {"SERVICE", NULL};
  optfile *of = optfile_read(path, d);
  if (of == NULL)
    return NULL;
  optfile_check(of, disp_schema, kinds, d);

  dispcnf *dc = g_new0(dispcnf, 1);
  dc->of = of;
  dc->services = g_ptr_array_new_with_free_func(service_free);
  for (guint i = 1; i < of->sections->len; i++) {
    opt_section *sec = of->sections->pdata[i];
    if (g_ascii_strcasecmp(sec->kind, "SERVICE") == 0 && sec->name != NULL)
      service_read(dc, sec, run_dir, d);
  }
  check_port_clashes(dc, d);
  return dc;
}

void dispcnf_free(dispcnf **dcp) {
  dispcnf *dc = *dcp;
  if (dc == NULL)
    return;
  *dcp = NULL;
  g_ptr_array_free(dc->services, TRUE);
  optfile_free(&dc->of);
  g_free(dc);
}

disp_service *dispcnf_service(const dispcnf *dc, const char *name) {
  for (guint i = 0; i < dc->services->len; i++) {
    disp_service *s = dc->services->pdata[i];
    if (g_ascii_strcasecmp(s->name, name) == 0)
      return s;
  }
  return NULL;
}

const char *disp_service_option(const dispcnf *dc, const disp_service *svc,
                                const char *key) {
  return optfile_str(svc->section, dc->of->sections->pdata[0], key, NULL);
}
