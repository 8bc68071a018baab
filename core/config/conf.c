/*
 * conf.c - cursus.conf schema and accessors
 */
#include "build-config.h"
#include "conf.h"
#include "keyword.h"

#include <string.h>

#define K(g, k, t, def, help) {g, k, CURSUS_VALUE_##t, def, help}

const conf_key conf_core_keys[] = {
    K("paths", "state_dir", PATH, CURSUS_STATE_DIR, "top of the server's data"),
    K("paths", "queue_dir", PATH, NULL, "channel queues (default STATE/queue)"),
    K("paths", "store_dir", PATH, NULL, "message store (default STATE/store)"),
    K("paths", "log_dir", PATH, NULL, "log files (default STATE/log)"),
    K("paths", "run_dir", PATH, NULL, "pid files and sockets (default STATE/run)"),
    K("paths", "module_path", STRING, CURSUS_MODULE_DIR,
      "colon-separated module directories (CURSUS_MODULE_PATH overrides)"),

    K("server", "hostname", HOST, NULL, "this server's name (default: the system's)"),
    K("server", "user", STRING, CURSUS_SERVER_USER,
      "user the daemons run as when started as root"),
    K("server", "postmaster", STRING, NULL, "address of the postmaster"),

    K("log", "level", STRING, "info", "debug, info, notice, warning or error"),
    K("log", "file", PATH, "cursus.log", "server log file in log_dir (\"\" for none)"),
    K("log", "syslog", BOOLEAN, "no", "also log to syslog (facility mail)"),
    K("log", "mail_log", PATH, "mail.log", "message log file in log_dir"),

    K("watcher", "restart_delay_max", DURATION, "60",
      "longest wait before restarting a process that keeps dying"),
    K("watcher", "stop_timeout", DURATION, "10",
      "how long to wait for processes to stop before killing them"),

    K("tls", "certificate", PATH, NULL, "PEM certificate chain for TLS services"),
    K("tls", "key", PATH, NULL, "PEM private key for TLS services"),
    K("tls", "priority", STRING, "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1",
      "GnuTLS priority string"),
    K("tls", "ca", PATH, NULL, "PEM CA bundle to verify peers"),

    K("queue", "sync", STRING, "syncfs",
      "how a batch of new queue files is flushed: syncfs (once for the "
      "queue's file system) or fsync (each file)"),
    K("queue", "spill_size", SIZE, "1M",
      "messages larger than this go to disk while they arrive"),
    K("queue", "batch_max", INTEGER, "256", "most messages committed together"),

    K("mta", "block_size", INTEGER, "1024",
      "bytes per block (blocklimit, the message log)"),
    K("mta", "block_limit", INTEGER, "51200",
      "largest message in blocks on every channel (0: no limit)"),
    K("mta", "notice_unit", DURATION, "86400",
      "unit of the notices keyword (classic RETURN_UNITS: a day)"),
    K("mta", "max_received", INTEGER, "50",
      "more Received: fields than this is a mail loop: refused"),

    K("mta", "mapping_file", PATH, "mappings", "the MAPPINGS file (mapping tables)"),
    K("mta", "alias_file", PATH, "aliases", "the aliases file"),
    K("mta", "compiled_dir", PATH, NULL,
      "where `cursus cnbuild` puts the compiled image (default STATE/compiled)"),
    K("mta", "general_database", STRING, NULL,
      "source of $(key) lookups in rewrite rules, e.g. tcdb:general.tcdb"),
    K("mta", "max_rewrites", INTEGER, "64", "rewriting steps before a rule loop is reported"),
    K("mta", "max_expansion_depth", INTEGER, "10",
      "nesting of alias and directory expansions"),
    K("mta", "bang_paths", BOOLEAN, "no", "route a!b!user bang paths"),
    K("mta", "reverse_envelope", BOOLEAN, "yes",
      "apply the REVERSE mapping to envelope senders too"),
    K("mta", "access_orcpt", BOOLEAN, "no",
      "append the DSN ORCPT to SEND_ACCESS / MAIL_ACCESS probes"),
    K("databases", "*", STRING, NULL,
      "NAME = SCHEME:ARGUMENT: a database for $(NAME,key) and ${NAME,key}"),
    K("directory", "module", STRING, "dir_ldif", "directory module"),
    K("directory", "base_dn", STRING, "o=cursus",
      "entry below which provisioning creates hosted domains"),
    K("directory", "default_domain", HOST, NULL,
      "hosted domain of logins and addresses without one"),
    K("directory", "local_hosts", STRING, "",
      "mailHost names that mean this server, besides [server] hostname"),
    K("directory", "delivery_options", STRING,
      "*mailbox=$M%$\\$2I$_+$2S@ims-ms-daemon, &members=*, "
      "*native=$M@native-daemon, *unix=$M@native-daemon, "
      "/hold=@hold-daemon:$A, file=+$F@native-daemon, "
      "&@members_offline=*, program=$M%$P@pipe-daemon, #forward=**, "
      "*^!autoreply=@autoreply-daemon:$A",
      "what each mailDeliveryOption value turns an address into"),
    K("directory", "subaddress_separator", STRING, "+",
      "separates a subaddress (folder) in local parts; empty: none"),
    K("directory", "domain_uplevel", BOOLEAN, "no",
      "an unknown subdomain of a hosted domain belongs to that domain"),
    K("directory", "allow_program", BOOLEAN, "no",
      "honour the program delivery option"),
    K("directory", "allow_file", BOOLEAN, "no",
      "honour the file delivery option"),
    K("directory", "max_group_members", INTEGER, "100000",
      "most addresses one group expands to"),
    K("directory", "max_nesting", INTEGER, "10",
      "deepest nesting of groups and of re-expanded addresses"),
    K("directory", "mailhost_route", STRING, "@$X:$A",
      "address for mail to a user whose mailHost is another server"),
    K("directory", "autoreply_timeout", DURATION, "P7D",
      "default time between two autoreplies to one sender"),
    K("directory", "autoreply_db", PATH, "autoreply.tch",
      "autoreply memory, relative to state_dir"),
    K("auth", "modules", STRING, "",
      "auth-method modules to use (default: every one found)"),
    K("auth", "failures_free", INTEGER, "3",
      "failed logins per user or address before answers slow down"),
    K("auth", "failure_delay_ms", INTEGER, "500",
      "first delay after the free failures, doubling with each failure"),
    K("auth", "failure_delay_max", DURATION, "15",
      "longest delay of an answer to a failed login"),
    K("auth", "failure_window", DURATION, "900",
      "time without failures after which they are forgotten"),
    K("auth", "password_scheme", STRING, "CRYPT",
      "hash of new passwords: CRYPT (SHA-512 crypt), SSHA512 or ARGON2"),
    K("auth", "scram_iterations", INTEGER, "4096",
      "PBKDF2 iterations of new SCRAM secrets"),
    K("store", "module", STRING, "store_cursus", "message store module"),
    K("store", "quota_enforcement", BOOLEAN, "yes",
      "refuse mail and APPENDs over quota (no: usage is only reported)"),
    K("store", "default_quota", SIZE, "0",
      "quota of users without mailQuota or a domain default (0: none)"),
    K("store", "default_message_quota", INTEGER, "0",
      "message quota of users without mailMsgQuota or a domain default (0: none)"),
    K("store", "quota_warn", INTEGER, "90",
      "percent of the quota at which users are warned (0: never)"),
    K("store", "quota_warn_interval", DURATION, "P1D",
      "time before a user still over the threshold is warned again"),
    K("store", "quota_warn_message", PATH, NULL,
      "template of the warning (header, blank line, text; see docs/store.md)"),
    K("store", "quota_grace", DURATION, "P1D",
      "how long mail for a user over quota is held before it is returned"),
    K("store", "quota_check_interval", DURATION, "PT1H",
      "how often the housekeeping process looks for users over the threshold"),
    K("store", "snapshot_interval", DURATION, "P1D",
      "time between snapshots of the system area (0: none)"),
    K("store", "snapshot_keep", INTEGER, "3", "snapshots kept"),
    K("store", "expire_rules", PATH, "expire.rules",
      "expiry rules, relative to the configuration directory (docs/store.md)"),
    K("store", "expire_start", INTEGER, "23",
      "hour of the day (0-23) at which the daily expiry runs"),
    K("dns", "servers", STRING, NULL,
      "DNS servers as ip[:port],... (default: /etc/resolv.conf)"),
    K("dns", "timeout", DURATION, "5", "wait for one DNS answer"),
    K("dns", "tries", INTEGER, "2", "times a DNS query is sent before giving up"),
    {NULL, NULL, 0, NULL, NULL},
};

static const conf_key *find_key(const char *group, const char *key) {
  for (const conf_key *k = conf_core_keys; k->group != NULL; k++)
    if (g_ascii_strcasecmp(k->group, group) == 0 &&
        (key == NULL || g_ascii_strcasecmp(k->key, key) == 0 ||
         strcmp(k->key, "*") == 0))
      return k;
  return NULL;
}

void conf_check_core(const optfile *of, diag *d) {
  for (guint i = 0; i < of->sections->len; i++) {
    const opt_section *s = of->sections->pdata[i];
    if (s->kind != NULL && g_ascii_strcasecmp(s->kind, "module") == 0) {
      if (s->name == NULL)
        diag_error(d, s->file, s->line, "[module] needs a module name: [module NAME]");
      continue;
    }
    /* checked with their modules by core/filter/fconf.c */
    if (s->kind != NULL && g_ascii_strcasecmp(s->kind, "contentfilter") == 0)
      continue;
    if (s->kind == NULL) {
      for (guint j = 0; j < s->entries->len; j++) {
        const opt_entry *e = s->entries->pdata[j];
        diag_error(d, e->file, e->line,
                   "option '%s' outside of any [group]", e->key);
      }
      continue;
    }
    if (s->name != NULL || find_key(s->kind, NULL) == NULL) {
      diag_error(d, s->file, s->line, "unknown group [%s%s%s]", s->kind,
                 s->name ? " " : "", s->name ? s->name : "");
      continue;
    }
    for (guint j = 0; j < s->entries->len; j++) {
      const opt_entry *e = s->entries->pdata[j];
      const conf_key *k = find_key(s->kind, e->key);
      const char *why;
      if (k == NULL)
        diag_error(d, e->file, e->line, "unknown option '%s' in [%s]", e->key,
                   s->kind);
      else if (!(k->type == CURSUS_VALUE_PATH && *e->value == '\0') &&
               !keyword_check_value(k->type, e->value, &why))
        diag_error(d, e->file, e->line, "[%s] %s expects %s, not \"%s\"",
                   s->kind, e->key, why, e->value);
    }
  }
}

const char *conf_get(const optfile *of, const char *group, const char *key) {
  if (of != NULL)
    for (guint i = of->sections->len; i > 0; i--) {
      const opt_section *s = of->sections->pdata[i - 1];
      if (s->kind == NULL || s->name != NULL ||
          g_ascii_strcasecmp(s->kind, group) != 0)
        continue;
      const opt_entry *e = optfile_get(s, key);
      if (e != NULL)
        return e->value;
    }
  const conf_key *k = find_key(group, key);
  return k != NULL ? k->default_value : NULL;
}

long long conf_get_int(const optfile *of, const char *group, const char *key,
                       long long def) {
  const char *v = conf_get(of, group, key);
  long long n;
  const conf_key *k = find_key(group, key);
  if (v == NULL)
    return def;
  if (k != NULL && k->type == CURSUS_VALUE_DURATION)
    return opt_parse_duration(v, &n) ? n : def;
  if (k != NULL && k->type == CURSUS_VALUE_SIZE)
    return opt_parse_size(v, &n) ? n : def;
  return opt_parse_int(v, &n) ? n : def;
}

bool conf_get_bool(const optfile *of, const char *group, const char *key,
                   bool def) {
  const char *v = conf_get(of, group, key);
  bool b;
  return v != NULL && opt_parse_bool(v, &b) ? b : def;
}

opt_section *conf_module_section(const optfile *of, const char *name) {
  return of != NULL ? optfile_section(of, "module", name) : NULL;
}
