/*
 * cmd_directory.c - `cursus user|group|domain add|modify|delete|show|list`
 * (provisioning) and `cursus directory resolve|verify|check|stats` (what
 * the server would do with an address or a login)
 *
 * The commands open the directory module of cursus.conf exactly as the
 * server does (dir.h) and work through provision.h and resolve.h, so
 * they behave the same against dir_ldif and dir_ldap.  Options name
 * attributes (see `cursus user --help`); --set/--add/--remove NAME=VALUE
 * reach any attribute.  Passwords are read from standard input
 * (--password-stdin) or a file, never from the command line.
 */
#include "build-config.h"
#include "commands.h"
#include "auth/auth.h"
#include "config/config.h"
#include "dir/dir.h"
#include "dir/provision.h"
#include "dir/resolve.h"
#include "module/host.h"
#include "mta/expand.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit status for a temporary failure (sysexits EX_TEMPFAIL). */
#define EXIT_TEMPFAIL 75

enum conv { CONV_TEXT, CONV_SIZE, CONV_FILE };

typedef struct opt_map {
  const char *option;
  const char *attr;
  unsigned kinds; /* bits of 1 << prov_kind */
  enum conv conv;
} opt_map;

#define U (1u << PROV_USER)
#define G (1u << PROV_GROUP)
#define D (1u << PROV_DOMAIN)

static const opt_map options[] = {
    {"uid", "uid", U, CONV_TEXT},
    {"name", "cn", U | G, CONV_TEXT},
    {"surname", "sn", U, CONV_TEXT},
    {"alias", "mailAlternateAddress", U | G, CONV_TEXT},
    {"equivalent", "mailEquivalentAddress", U, CONV_TEXT},
    {"forward", "mailForwardingAddress", U | G, CONV_TEXT},
    {"option", "mailDeliveryOption", U | G, CONV_TEXT},
    {"mailhost", "mailHost", U | G, CONV_TEXT},
    {"routing", "mailRoutingAddress", U | G, CONV_TEXT},
    {"quota", "mailQuota", U, CONV_SIZE},
    {"msg-quota", "mailMsgQuota", U, CONV_TEXT},
    {"status", "mailUserStatus", U, CONV_TEXT},
    {"account-status", "inetUserStatus", U, CONV_TEXT},
    {"autoreply-text", "mailAutoReplyText", U, CONV_TEXT},
    {"autoreply-internal-text", "mailAutoReplyTextInternal", U, CONV_TEXT},
    {"autoreply-subject", "mailAutoReplySubject", U, CONV_TEXT},
    {"autoreply-mode", "mailAutoReplyMode", U, CONV_TEXT},
    {"autoreply-timeout", "mailAutoReplyTimeOut", U, CONV_TEXT},
    {"vacation-start", "vacationStartDate", U, CONV_TEXT},
    {"vacation-end", "vacationEndDate", U, CONV_TEXT},
    {"program", "mailProgramDeliveryInfo", U | G, CONV_TEXT},
    {"file", "mailDeliveryFileURL", U | G, CONV_TEXT},
    {"service-access", "mailAllowedServiceAccess", U, CONV_TEXT},
    {"sieve-file", "mailSieveRuleSource", U, CONV_FILE},
    {"vanity-domain", "msgVanityDomain", U, CONV_TEXT},
    {"member", "mgrpRFC822MailMember", G, CONV_TEXT},
    {"member-dn", "uniqueMember", G, CONV_TEXT},
    {"member-url", "memberURL", G, CONV_TEXT},
    {"deliver-to", "mgrpDeliverTo", G, CONV_TEXT},
    {"errors-to", "mgrpErrorsTo", G, CONV_TEXT},
    {"allowed-broadcaster", "mgrpAllowedBroadcaster", G, CONV_TEXT},
    {"disallowed-broadcaster", "mgrpDisallowedBroadcaster", G, CONV_TEXT},
    {"allowed-domain", "mgrpAllowedDomain", G, CONV_TEXT},
    {"disallowed-domain", "mgrpDisallowedDomain", G, CONV_TEXT},
    {"policy", "mgrpBroadcasterPolicy", G, CONV_TEXT},
    {"moderator", "mgrpModerator", G, CONV_TEXT},
    {"reject-action", "mgrpMsgRejectAction", G, CONV_TEXT},
    {"reject-text", "mgrpMsgRejectText", G, CONV_TEXT},
    {"max-size", "mgrpMsgMaxSize", G, CONV_SIZE},
    {"group-status", "inetMailGroupStatus", G, CONV_TEXT},
    {"domain-alias", "associatedDomain", D, CONV_TEXT},
    {"domain-status", "mailDomainStatus", D, CONV_TEXT},
    {"preferred-mailhost", "preferredMailHost", D, CONV_TEXT},
    {"catchall", "mailDomainCatchallAddress", D, CONV_TEXT},
    {"smarthost", "mailRoutingSmartHost", D, CONV_TEXT},
    {"domain-quota", "mailDomainDiskQuota", D, CONV_SIZE},
    {"domain-msg-quota", "mailDomainMsgQuota", D, CONV_TEXT},
    {"domain-autoreply-timeout", "mailDomainAutoReplyTimeOut", D, CONV_TEXT},
    {"domain-service-access", "mailDomainAllowedServiceAccess", D, CONV_TEXT},
    {"base-dn", "inetDomainBaseDN", D, CONV_TEXT},
};

static const char *const kind_names[] = {"user", "group", "domain"};

/* --------------------------------------------------------------- setup */

/* conf_errors_only - print the diagnostics about cursus.conf; true when
 * there were errors there */
static bool conf_errors(const diag *d, const char *conf_path) {
  bool bad = false;
  for (guint i = 0; i < d->lines->len; i++) {
    const diag_line *l = d->lines->pdata[i];
    if (!l->warning && g_str_has_prefix(l->text, conf_path)) {
      fprintf(stderr, "%s\n", l->text);
      bad = true;
    }
  }
  return bad;
}

/* open_directory - the configuration and directory as the server has
 * them; NULL after printing why */
static config *open_directory(cmd_ctx *ctx, modreg **mods_r) {
  diag *d = diag_new();
  *mods_r = NULL;
  config *cfg = config_load(ctx->config_dir, CURSUS_PROC_ANY, mods_r, d);
  char *error = NULL;
  if (cfg == NULL || conf_errors(d, cfg->conf_path)) {
    if (cfg == NULL)
      diag_print(d, stderr);
    config_unref(&cfg);
    modreg_free(mods_r);
    diag_free(&d);
    return NULL;
  }
  (*mods_r)->process = CURSUS_PROC_TOOL;
  config_set_current(cfg);
  /* a tool reports through its output; the log only for problems */
  log_set_level(CURSUS_LOG_WARNING);
  host_init(CURSUS_PROC_TOOL);
  if (!dir_service_start(cfg, *mods_r, &error)) {
    diag_print(d, stderr);
    fprintf(stderr, "cursus: %s\n", error);
    g_free(error);
    config_set_current(NULL);
    config_unref(&cfg);
    modreg_free(mods_r);
    cfg = NULL;
  }
  diag_free(&d);
  return cfg;
}

static void close_directory(config **cfg, modreg **mods) {
  auth_service_stop();
  dir_service_stop();
  config_set_current(NULL);
  config_unref(cfg);
  modreg_free(mods);
}

/* exit_code - the exit status for RC */
static int exit_code(int rc) {
  return rc == CURSUS_OK ? 0 : rc == CURSUS_TEMPFAIL ? EXIT_TEMPFAIL : 1;
}

/* ------------------------------------------------------ provisioning */

static void kind_usage(FILE *f, prov_kind kind) {
  fprintf(f,
          "usage: cursus [--config DIR] %s add|modify|delete|show|list "
          "%s [OPTIONS]\n\noptions:\n",
          kind_names[kind],
          kind == PROV_DOMAIN ? "DOMAIN" : kind == PROV_USER ? "ADDRESS|LOGIN"
                                                            : "ADDRESS");
  for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
    if (options[i].kinds & (1u << kind))
      fprintf(f, "  --%-*s VALUE %s%s\n", 26 - 6, options[i].option,
              options[i].attr,
              options[i].conv == CONV_SIZE   ? " (size: 100M, 2G ...)"
              : options[i].conv == CONV_FILE ? " (the file's text)"
                                             : "");
  fprintf(f, "  --set NAME=VALUE           replace attribute NAME (modify)\n"
             "  --add NAME=VALUE           add a value (modify)\n"
             "  --remove NAME[=VALUE]      remove a value or the attribute "
             "(modify)\n");
  if (kind == PROV_USER)
    fprintf(f, "  --password-stdin           read the password from the "
               "first line of standard input\n"
               "  --password-file FILE       read it from FILE\n"
               "  --scheme CRYPT|SSHA512|ARGON2  hash ([auth] "
               "password_scheme)\n");
  fprintf(f, "list takes an optional DOMAIN.  Option values are repeated "
             "for several values; in modify an option replaces the "
             "attribute's values.\n");
}

/* read_password - the first line of PATH ("-" = stdin) */
static char *read_password(const char *path, char **error_r) {
  char *text = NULL;
  if (strcmp(path, "-") == 0) {
    char buf[4096];
    if (fgets(buf, sizeof(buf), stdin) == NULL) {
      *error_r = g_strdup("no password on standard input");
      return NULL;
    }
    text = g_strdup(buf);
    memset(buf, 0, sizeof(buf));
  } else if (!g_file_get_contents(path, &text, NULL, NULL)) {
    *error_r = g_strdup_printf("cannot read %s", path);
    return NULL;
  }
  text[strcspn(text, "\r\n")] = '\0';
  if (*text == '\0') {
    *error_r = g_strdup("empty password");
    g_free(text);
    return NULL;
  }
  return text;
}

/* convert - VALUE of option M as the attribute wants it */
static char *convert(const opt_map *m, const char *value, char **error_r) {
  long long n;
  char *text = NULL;
  if (m->conv == CONV_SIZE) {
    if (g_ascii_strcasecmp(value, "unlimited") == 0 || strcmp(value, "-1") == 0)
      return g_strdup("-1");
    if (!opt_parse_size(value, &n)) {
      *error_r = g_strdup_printf("--%s: \"%s\" is not a size", m->option,
                                 value);
      return NULL;
    }
    return g_strdup_printf("%lld", n);
  }
  if (m->conv == CONV_FILE &&
      !g_file_get_contents(value, &text, NULL, NULL)) {
    *error_r = g_strdup_printf("--%s: cannot read %s", m->option, value);
    return NULL;
  }
  return text != NULL ? text : g_strdup(value);
}

/* generic - --set/--add/--remove NAME[=VALUE] */
static bool generic(prov_request *r, cursus_mod_op op, const char *arg,
                    char **error_r) {
  const char *eq = strchr(arg, '=');
  char *name = eq != NULL ? g_strndup(arg, (gsize)(eq - arg)) : g_strdup(arg);
  bool ok = *name != '\0' && (eq != NULL || op == CURSUS_MOD_DELETE);
  if (ok)
    prov_change_add(r, op, name, eq != NULL ? eq + 1 : NULL);
  else
    *error_r = g_strdup_printf("expected NAME=VALUE, not \"%s\"", arg);
  g_free(name);
  return ok;
}

/* parse_options - ARGV[FIRST..] into R; false with *error_r */
static bool parse_options(prov_request *r, bool modify, int argc, char **argv,
                          int first, char **error_r) {
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!g_str_has_prefix(a, "--")) {
      *error_r = g_strdup_printf("unexpected argument \"%s\"", a);
      return false;
    }
    a += 2;
    if (strcmp(a, "password-stdin") == 0 || strcmp(a, "password-file") == 0) {
      bool file = a[9] == 'f';
      if (r->kind != PROV_USER || (file && value == NULL)) {
        *error_r = g_strdup_printf("--%s is for users, with a file name", a);
        return false;
      }
      r->password = read_password(file ? value : "-", error_r);
      if (r->password == NULL)
        return false;
      i += file;
      continue;
    }
    if (value == NULL) {
      *error_r = g_strdup_printf("--%s needs a value", a);
      return false;
    }
    i++;
    if (strcmp(a, "scheme") == 0) {
      g_free(r->scheme);
      r->scheme = g_strdup(value);
      continue;
    }
    if (strcmp(a, "set") == 0 || strcmp(a, "add") == 0 ||
        strcmp(a, "remove") == 0) {
      cursus_mod_op op = a[0] == 's'   ? CURSUS_MOD_REPLACE
                         : a[0] == 'a' ? CURSUS_MOD_ADD
                                       : CURSUS_MOD_DELETE;
      if (!modify && op != CURSUS_MOD_ADD && op != CURSUS_MOD_REPLACE) {
        *error_r = g_strdup("--remove is for modify");
        return false;
      }
      if (!generic(r, modify ? op : CURSUS_MOD_ADD, value, error_r))
        return false;
      continue;
    }
    const opt_map *m = NULL;
    for (size_t k = 0; k < G_N_ELEMENTS(options) && m == NULL; k++)
      if (strcmp(options[k].option, a) == 0 &&
          (options[k].kinds & (1u << r->kind)))
        m = &options[k];
    if (m == NULL) {
      *error_r = g_strdup_printf("unknown option --%s for a %s (see `cursus "
                                 "%s --help`)",
                                 a, kind_names[r->kind], kind_names[r->kind]);
      return false;
    }
    char *v = convert(m, value, error_r);
    if (v == NULL)
      return false;
    prov_change_add(r, modify ? CURSUS_MOD_REPLACE : CURSUS_MOD_ADD, m->attr,
                    v);
    g_free(v);
  }
  return true;
}

/* provision - one provisioning command of KIND */
static int provision(cmd_ctx *ctx, prov_kind kind) {
  if (ctx->argc < 2 || strcmp(ctx->argv[1], "--help") == 0 ||
      strcmp(ctx->argv[1], "-h") == 0) {
    kind_usage(ctx->argc < 2 ? stderr : stdout, kind);
    return ctx->argc < 2 ? 2 : 0;
  }
  const char *verb = ctx->argv[1];
  bool list = strcmp(verb, "list") == 0;
  if (!list && ctx->argc < 3) {
    kind_usage(stderr, kind);
    return 2;
  }
  if (!list && strcmp(verb, "add") != 0 && strcmp(verb, "modify") != 0 &&
      strcmp(verb, "delete") != 0 && strcmp(verb, "show") != 0) {
    fprintf(stderr, "cursus %s: unknown action \"%s\"\n", kind_names[kind],
            verb);
    kind_usage(stderr, kind);
    return 2;
  }
  const char *name = ctx->argc > 2 ? ctx->argv[2] : NULL;
  char *error = NULL;
  prov_request *r = prov_request_new(kind, name != NULL ? name : "");
  bool modify = strcmp(verb, "modify") == 0;
  if ((strcmp(verb, "add") == 0 || modify) &&
      !parse_options(r, modify, ctx->argc, ctx->argv, 3, &error)) {
    fprintf(stderr, "cursus %s %s: %s\n", kind_names[kind], verb, error);
    g_free(error);
    prov_request_free(&r);
    return 2;
  }
  if ((list && ctx->argc > 3) ||
      ((strcmp(verb, "delete") == 0 || strcmp(verb, "show") == 0) &&
       ctx->argc > 3)) {
    fprintf(stderr, "cursus %s %s: too many arguments\n", kind_names[kind],
            verb);
    prov_request_free(&r);
    return 2;
  }
  modreg *mods = NULL;
  config *cfg = open_directory(ctx, &mods);
  if (cfg == NULL) {
    prov_request_free(&r);
    return 1;
  }
  const char *base = conf_get(cfg->conf, "directory", "base_dn");
  r->scram_iterations =
      (unsigned)conf_get_int(cfg->conf, "auth", "scram_iterations", 4096);
  GString *out = g_string_new(NULL);
  char *dn = NULL;
  int rc;
  if (strcmp(verb, "add") == 0)
    rc = prov_add(r, base, &dn, &error);
  else if (modify)
    rc = prov_modify(r, &error);
  else if (strcmp(verb, "delete") == 0)
    rc = prov_delete(kind, name, &error);
  else if (strcmp(verb, "show") == 0)
    rc = prov_show(kind, name, out, &error);
  else
    rc = prov_list(kind, name, base, out, &error);
  if (rc == CURSUS_OK) {
    if (dn != NULL)
      printf("added %s\n", dn);
    else if (modify || strcmp(verb, "delete") == 0)
      printf("%s %s %s\n", modify ? "modified" : "deleted", kind_names[kind],
             name);
    fputs(out->str, stdout);
  } else {
    fprintf(stderr, "cursus %s %s: %s\n", kind_names[kind], verb,
            error != NULL ? error : "failed");
  }
  g_free(dn);
  g_free(error);
  g_string_free(out, TRUE);
  prov_request_free(&r);
  close_directory(&cfg, &mods);
  return exit_code(rc);
}

int cmd_user(cmd_ctx *ctx) { return provision(ctx, PROV_USER); }
int cmd_group(cmd_ctx *ctx) { return provision(ctx, PROV_GROUP); }
int cmd_domain(cmd_ctx *ctx) { return provision(ctx, PROV_DOMAIN); }

/* -------------------------------------------------------- directory */

/* final - ADDRESS is not expanded further (another channel or host) */
static bool final(const char *address) {
  const char *at = strrchr(address, '@');
  char *error = NULL;
  if (*address == '@' || at == NULL)
    return true;
  int rc = domain_is_local(at + 1, &error);
  g_free(error);
  return rc != 1;
}

/* resolve_print - expand ADDRESS, print the result, recurse if asked */
static int resolve_print(const char *address, expand_params *p, bool recursive,
                         int indent) {
  expansion e;
  char *error = NULL;
  const char *by = NULL;
  expansion_init(&e);
  int rc = expand_address(address, p, &e, &error, &by);
  printf("%*s%s", indent, "", address);
  if (rc == 0) {
    printf(": not a hosted address\n");
  } else if (rc < 0) {
    printf(": %s %s\n", rc == CURSUS_TEMPFAIL ? "temporary failure" : "refused",
           error != NULL ? error : "");
  } else {
    printf(" -> %u address(es)", e.addresses->len);
    if (e.note != NULL)
      printf(" [%s]", e.note);
    if (e.errors_to != NULL)
      printf(" errors-to %s", e.errors_to);
    printf("\n");
    for (guint i = 0; i < e.addresses->len; i++) {
      const char *a = e.addresses->pdata[i];
      if (recursive && !final(a)) {
        expand_params sub = *p;
        sub.depth++;
        int sr = resolve_print(a, &sub, recursive, indent + 2);
        if (sr < 0 && rc > 0)
          rc = sr;
      } else {
        printf("%*s%s\n", indent + 2, "", a);
      }
    }
  }
  g_free(error);
  expansion_clear(&e);
  return rc;
}

static int directory_resolve(int argc, char **argv) {
  expand_params p = {.sender = "", .source_channel = "tcp_local"};
  bool recursive = false;
  const char *address = NULL;
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--recursive") == 0 || strcmp(argv[i], "-r") == 0)
      recursive = true;
    else if (strcmp(argv[i], "--sender") == 0 && v != NULL)
      p.sender = argv[++i];
    else if (strcmp(argv[i], "--auth-user") == 0 && v != NULL)
      p.auth_user = argv[++i];
    else if (strcmp(argv[i], "--source-channel") == 0 && v != NULL)
      p.source_channel = argv[++i];
    else if (strcmp(argv[i], "--size") == 0 && v != NULL)
      p.size = g_ascii_strtoull(argv[++i], NULL, 10);
    else if (address == NULL && argv[i][0] != '-')
      address = argv[i];
    else
      return -2;
  }
  if (address == NULL)
    return -2;
  int rc = resolve_print(address, &p, recursive, 0);
  return rc == 0 ? 3 : exit_code(rc > 0 ? CURSUS_OK : rc);
}

static int directory_verify(int argc, char **argv) {
  cursus_auth_info info = {.service = "imap", .remote_ip = "127.0.0.1"};
  const char *login = NULL;
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--service") == 0 && v != NULL)
      info.service = argv[++i];
    else if (strcmp(argv[i], "--ip") == 0 && v != NULL)
      info.remote_ip = argv[++i];
    else if (strcmp(argv[i], "--tls") == 0)
      info.tls = 1;
    else if (login == NULL && argv[i][0] != '-')
      login = argv[i];
    else
      return -2;
  }
  if (login == NULL)
    return -2;
  char *error = NULL;
  char *password = read_password("-", &error);
  if (password == NULL) {
    fprintf(stderr, "cursus directory verify: %s\n", error);
    g_free(error);
    return 2;
  }
  cursus_buf user = {0};
  const char *why = NULL;
  int rc = host_table()->auth->verify_password(login, password, &info, &user,
                                               &why);
  if (rc == CURSUS_OK)
    printf("OK %s\n", user.data);
  else
    printf("%s: %s\n", rc == CURSUS_NONE ? "refused" : "temporary failure",
           why != NULL ? why : "");
  host_table()->buf_free(&user);
  memset(password, 0, strlen(password));
  g_free(password);
  return exit_code(rc);
}

static void directory_usage(FILE *f) {
  fprintf(f,
          "usage: cursus [--config DIR] directory COMMAND\n\n"
          "  resolve ADDRESS [--recursive] [--sender S] [--auth-user U]\n"
          "          [--size OCTETS] [--source-channel C]\n"
          "                  what address resolution makes of ADDRESS\n"
          "  verify LOGIN [--service S] [--ip IP] [--tls]\n"
          "                  check the password on standard input as a "
          "login would\n"
          "  check           read the directory (reports file:line errors)\n"
          "  stats           the directory module's figures\n");
}

int cmd_directory(cmd_ctx *ctx) {
  if (ctx->argc < 2 || strcmp(ctx->argv[1], "--help") == 0) {
    directory_usage(ctx->argc < 2 ? stderr : stdout);
    return ctx->argc < 2 ? 2 : 0;
  }
  const char *verb = ctx->argv[1];
  if (strcmp(verb, "resolve") != 0 && strcmp(verb, "verify") != 0 &&
      strcmp(verb, "check") != 0 && strcmp(verb, "stats") != 0) {
    directory_usage(stderr);
    return 2;
  }
  modreg *mods = NULL;
  config *cfg = open_directory(ctx, &mods);
  if (cfg == NULL)
    return 1;
  int status = 0;
  if (strcmp(verb, "resolve") == 0) {
    status = directory_resolve(ctx->argc - 2, ctx->argv + 2);
  } else if (strcmp(verb, "verify") == 0) {
    modules_init(mods, CURSUS_KIND_AUTH, false);
    auth_service_start(cfg, mods);
    status = directory_verify(ctx->argc - 2, ctx->argv + 2);
  } else {
    GString *out = g_string_new(NULL);
    dir_stats(out);
    printf("%s%s", strcmp(verb, "check") == 0 ? "directory OK\n" : "",
           out->str);
    g_string_free(out, TRUE);
  }
  if (status == -2) {
    directory_usage(stderr);
    status = 2;
  }
  close_directory(&cfg, &mods);
  return status;
}
