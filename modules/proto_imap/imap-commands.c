/*
 * imap-commands.c - the command table, and the commands valid in any
 * state: CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE, STARTTLS, COMPRESS,
 * NAMESPACE
 */
#include "build-config.h"
#include "imap.h"

#include <string.h>

#define B IMAP_CMD_BLOCKING
#define U IMAP_CMD_UID
#define NX IMAP_CMD_NO_EXPUNGES

static const imap_command commands[] = {
    {"APPEND", IMAP_STATE_LOGGEDIN, 0, imap_cmd_append},
    {"AUTHENTICATE", IMAP_STATE_NOTAUTH, 0, imap_cmd_authenticate},
    {"CAPABILITY", IMAP_STATE_ANY, 0, imap_cmd_capability},
    {"CHECK", IMAP_STATE_SELECTED, B, imap_cmd_check},
    {"CLOSE", IMAP_STATE_SELECTED, B, imap_cmd_close},
    {"COMPRESS", IMAP_STATE_LOGGEDIN, 0, imap_cmd_compress},
    {"COPY", IMAP_STATE_SELECTED, B | U, imap_cmd_copy},
    {"CREATE", IMAP_STATE_LOGGEDIN, B, imap_cmd_create},
    {"DELETE", IMAP_STATE_LOGGEDIN, B, imap_cmd_delete},
    {"DELETEACL", IMAP_STATE_LOGGEDIN, B, imap_cmd_setacl},
    {"ENABLE", IMAP_STATE_AUTH, 0, imap_cmd_enable},
    {"EXAMINE", IMAP_STATE_LOGGEDIN, B, imap_cmd_select},
    {"EXPUNGE", IMAP_STATE_SELECTED, B | U, imap_cmd_expunge},
    {"FETCH", IMAP_STATE_SELECTED, B | U | NX, imap_cmd_fetch},
    {"GETACL", IMAP_STATE_LOGGEDIN, B, imap_cmd_getacl},
    {"GETQUOTA", IMAP_STATE_LOGGEDIN, B, imap_cmd_getquota},
    {"GETQUOTAROOT", IMAP_STATE_LOGGEDIN, B, imap_cmd_getquotaroot},
    {"ID", IMAP_STATE_ANY, 0, imap_cmd_id},
    {"IDLE", IMAP_STATE_LOGGEDIN, 0, imap_cmd_idle},
    {"LIST", IMAP_STATE_LOGGEDIN, B, imap_cmd_list},
    {"LISTRIGHTS", IMAP_STATE_LOGGEDIN, B, imap_cmd_listrights},
    {"LOGIN", IMAP_STATE_NOTAUTH, 0, imap_cmd_login},
    {"LOGOUT", IMAP_STATE_ANY, 0, imap_cmd_logout},
    {"LSUB", IMAP_STATE_LOGGEDIN, B, imap_cmd_list},
    {"MOVE", IMAP_STATE_SELECTED, B | U, imap_cmd_copy},
    {"MYRIGHTS", IMAP_STATE_LOGGEDIN, B, imap_cmd_myrights},
    {"NAMESPACE", IMAP_STATE_LOGGEDIN, 0, imap_cmd_namespace},
    {"NOOP", IMAP_STATE_ANY, 0, imap_cmd_noop},
    {"RENAME", IMAP_STATE_LOGGEDIN, B, imap_cmd_rename},
    {"SEARCH", IMAP_STATE_SELECTED, B | U | NX, imap_cmd_search},
    {"SELECT", IMAP_STATE_LOGGEDIN, B, imap_cmd_select},
    {"SETACL", IMAP_STATE_LOGGEDIN, B, imap_cmd_setacl},
    {"SETQUOTA", IMAP_STATE_LOGGEDIN, 0, imap_cmd_setquota},
    {"SORT", IMAP_STATE_SELECTED, B | U | NX, imap_cmd_sort},
    {"STARTTLS", IMAP_STATE_NOTAUTH, 0, imap_cmd_starttls},
    {"STATUS", IMAP_STATE_LOGGEDIN, B, imap_cmd_status},
    {"STORE", IMAP_STATE_SELECTED, B | U | NX, imap_cmd_store},
    {"SUBSCRIBE", IMAP_STATE_LOGGEDIN, B, imap_cmd_subscribe},
    {"THREAD", IMAP_STATE_SELECTED, B | U | NX, imap_cmd_thread},
    {"UNSELECT", IMAP_STATE_SELECTED, 0, imap_cmd_close},
    {"UNSUBSCRIBE", IMAP_STATE_LOGGEDIN, B, imap_cmd_subscribe},
};

static int cmp_name(const void *key, const void *elt) {
  return strcmp(key, ((const imap_command *)elt)->name);
}

const imap_command *imap_command_find(const char *name) {
  return bsearch(name, commands, G_N_ELEMENTS(commands), sizeof(commands[0]),
                 cmp_name);
}

/* ------------------------------------------------------------ commands */

bool imap_cmd_capability(imap_session *s, imap_cmd *cmd) {
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  imap_printf(s, "* CAPABILITY ");
  imap_capabilities(s, s->out);
  imap_write(s, "\r\n", 2);
  return imap_cmd_done(s, cmd, "OK", "Capability completed.");
}

bool imap_cmd_noop(imap_session *s, imap_cmd *cmd) {
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  return imap_cmd_done(s, cmd, "OK", "NOOP completed.");
}

bool imap_cmd_check(imap_session *s, imap_cmd *cmd) {
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  return imap_cmd_done(s, cmd, "OK", "Check completed.");
}

bool imap_cmd_logout(imap_session *s, imap_cmd *cmd) {
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  imap_printf(s, "* BYE Logging out\r\n");
  s->logout = true;
  /* no untagged updates after BYE */
  imap_printf(s, "%s OK Logout completed.\r\n", cmd->tag);
  return true;
}

/* ID: at most this many pairs, as RFC 2971 asks */
#define ID_MAX_PAIRS 30

bool imap_cmd_id(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  GString *logged = g_string_new(NULL);
  const char *v;
  if (!imap_parse_sp(ip))
    goto bad;
  if (imap_parse_peek(ip, '(')) {
    ip->p++;
    for (unsigned n = 0; !imap_parse_peek(ip, ')'); n++) {
      const char *key;
      if (n > 0 && !imap_parse_sp(ip))
        goto bad;
      if (!imap_parse_string(ip, &key) || !imap_parse_sp(ip) ||
          !imap_parse_nstring(ip, &v))
        goto bad;
      if (n >= ID_MAX_PAIRS || strlen(key) > 30 ||
          (v != NULL && strlen(v) > 1024)) {
        imap_parser_fail(ip, "too many or too long ID fields");
        goto bad;
      }
      if (logged->len < 512)
        g_string_append_printf(logged, "%s%s=%s", logged->len ? " " : "",
                               key, v != NULL ? v : "NIL");
    }
    ip->p++;
  } else if (!imap_parse_nstring(ip, &v) || v != NULL) {
    imap_parser_fail(ip, "expected NIL or a list");
    goto bad;
  }
  if (!imap_parse_end(ip))
    goto bad;
  if (logged->len > 0 && !s->id_logged) {
    /* no control characters in the log */
    for (char *c = logged->str; *c; c++)
      if ((unsigned char)*c < 0x20)
        *c = ' ';
    imap_log(s, CURSUS_LOG_INFO, "client ID: %s", logged->str);
    s->id_logged = true;
  }
  g_string_free(logged, TRUE);
  imap_printf(s, "* ID (\"name\" \"Cursus\" \"version\" \"%s\" \"vendor\" "
                 "\"Cursus\")\r\n",
              PACKAGE_VERSION);
  return imap_cmd_done(s, cmd, "OK", "ID completed.");
bad:
  g_string_free(logged, TRUE);
  return imap_cmd_bad(s, cmd);
}

bool imap_cmd_enable(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  GString *enabled = g_string_new(NULL);
  bool any = false;
  while (imap_parse_peek(ip, ' ')) {
    const char *cap;
    ip->p++;
    if (!imap_parse_atom(ip, &cap)) {
      g_string_free(enabled, TRUE);
      return imap_cmd_bad(s, cmd);
    }
    any = true;
    unsigned bit = 0;
    if (g_ascii_strcasecmp(cap, "CONDSTORE") == 0)
      bit = IMAP_ENABLE_CONDSTORE;
    else if (g_ascii_strcasecmp(cap, "QRESYNC") == 0)
      bit = IMAP_ENABLE_QRESYNC | IMAP_ENABLE_CONDSTORE;
    else if (g_ascii_strcasecmp(cap, "IMAP4rev2") == 0 && imap_set.rev2)
      bit = IMAP_ENABLE_REV2;
    if (bit == 0 || (s->enabled & bit) == bit)
      continue; /* unknown or already on: not listed (RFC 5161) */
    s->enabled |= bit;
    g_string_append_printf(enabled, " %s",
                           bit == IMAP_ENABLE_CONDSTORE ? "CONDSTORE"
                           : bit == IMAP_ENABLE_REV2    ? "IMAP4rev2"
                                                        : "QRESYNC");
  }
  if (!any || !imap_parse_end(ip)) {
    g_string_free(enabled, TRUE);
    imap_parser_fail(ip, "expected capability names");
    return imap_cmd_bad(s, cmd);
  }
  if (s->enabled & IMAP_ENABLE_CONDSTORE)
    s->box_condstore = true;
  imap_printf(s, "* ENABLED%s\r\n", enabled->str);
  g_string_free(enabled, TRUE);
  return imap_cmd_done(s, cmd, "OK", "Enabled.");
}

bool imap_cmd_starttls(imap_session *s, imap_cmd *cmd) {
  const char *error = NULL;
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (s->tls)
    return imap_cmd_done(s, cmd, "BAD", "TLS is already active.");
  if (!HOST->conn->tls_available(s->conn))
    return imap_cmd_done(s, cmd, "NO", "TLS is not available.");
  imap_cmd_done(s, cmd, "OK", "Begin TLS negotiation now.");
  imap_flush(s);
  if (HOST->conn->start_tls(s->conn, &error) != CURSUS_OK) {
    imap_log(s, CURSUS_LOG_ERROR, "cannot start TLS: %s", error);
    s->logout = true;
  }
  return true;
}

bool imap_cmd_compress(imap_session *s, imap_cmd *cmd) {
  const char *alg, *error = NULL;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_atom(&cmd->parser, &alg) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (g_ascii_strcasecmp(alg, "DEFLATE") != 0)
    return imap_cmd_done(s, cmd, "BAD", "Unknown compression algorithm.");
  if (s->compressed)
    return imap_cmd_done(s, cmd, "NO", "[COMPRESSIONACTIVE] Compression is "
                                       "already active.");
  if (!imap_set.compress || !CURSUS_HAS(HOST->conn, start_compress))
    return imap_cmd_done(s, cmd, "NO", "Compression is not available.");
  imap_cmd_done(s, cmd, "OK", "DEFLATE active.");
  imap_flush(s);
  if (HOST->conn->start_compress(s->conn, &error) != CURSUS_OK) {
    imap_log(s, CURSUS_LOG_ERROR, "cannot start compression: %s", error);
    s->logout = true;
    return true;
  }
  s->compressed = true;
  return true;
}

bool imap_cmd_namespace(imap_session *s, imap_cmd *cmd) {
  if (!imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  size_t n = 0;
  const cursus_store_namespace *ns = STORE->user_namespaces(s->user, &n);
  imap_printf(s, "* NAMESPACE");
  for (int kind = CURSUS_STORE_NS_PERSONAL; kind <= CURSUS_STORE_NS_SHARED;
       kind++) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
      if ((int)ns[i].kind != kind)
        continue;
      g_string_append(s->out, any ? "(" : " ((");
      imap_append_mailbox(s, s->out, ns[i].prefix);
      if (ns[i].separator != '\0')
        g_string_append_printf(s->out, " \"%s%c\")",
                               ns[i].separator == '"' ||
                                       ns[i].separator == '\\'
                                   ? "\\"
                                   : "",
                               ns[i].separator);
      else
        g_string_append(s->out, " NIL)");
      any = true;
    }
    g_string_append(s->out, any ? ")" : " NIL");
  }
  imap_write(s, "\r\n", 2);
  return imap_cmd_done(s, cmd, "OK", "Namespace completed.");
}
