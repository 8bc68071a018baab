/*
 * imap-acl.c - ACL (RFC 4314: SETACL, DELETEACL, GETACL, LISTRIGHTS,
 * MYRIGHTS) and QUOTA (RFC 9208: GETQUOTA, GETQUOTAROOT, SETQUOTA)
 *
 * The store checks every right; these commands only translate.
 */
#include "imap.h"

#include <string.h>

/* imap_parse_rights - rights letters into bits ("c" and "d" of RFC 2086
 * map as RFC 4314 says); false for a letter we do not know */
bool imap_parse_rights(const char *text, uint32_t *rights_r) {
  static const char letters[] = CURSUS_STORE_RIGHT_LETTERS;
  uint32_t r = 0;
  for (const char *p = text; *p; p++) {
    const char *at = strchr(letters, *p);
    if (*p == 'c')
      r |= CURSUS_STORE_RIGHT_CREATE | CURSUS_STORE_RIGHT_DELETE_MBOX;
    else if (*p == 'd')
      r |= CURSUS_STORE_RIGHT_DELETE_MBOX | CURSUS_STORE_RIGHT_DELETE_MSG |
           CURSUS_STORE_RIGHT_EXPUNGE;
    else if (at != NULL && *p != '\0')
      r |= 1u << (at - letters);
    else
      return false;
  }
  *rights_r = r;
  return true;
}

/* imap_append_rights - the letters of RIGHTS */
void imap_append_rights(GString *out, uint32_t rights) {
  static const char letters[] = CURSUS_STORE_RIGHT_LETTERS;
  gsize start = out->len;
  for (size_t i = 0; letters[i] != '\0'; i++)
    if (rights & (1u << i))
      g_string_append_c(out, letters[i]);
  if (out->len == start)
    g_string_append(out, "\"\"");
}

/* ------------------------------------------------------------ ACL */

static int on_acl(void *data, const char *identifier, uint32_t rights) {
  imap_session *s = data;
  g_string_append_c(s->out, ' ');
  imap_append_astring(s->out, identifier);
  g_string_append_c(s->out, ' ');
  imap_append_rights(s->out, rights);
  return 0;
}

bool imap_cmd_getacl(imap_session *s, imap_cmd *cmd) {
  const char *name, *error = NULL;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_mailbox(&cmd->parser, &name) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  imap_printf(s, "* ACL ");
  gsize start = s->out->len - 6;
  imap_append_mailbox(s, s->out, name);
  if (STORE->acl_get(s->user, name, on_acl, s, &error) != CURSUS_OK) {
    g_string_truncate(s->out, start);
    return imap_cmd_store_error(s, cmd, error);
  }
  imap_write(s, "\r\n", 2);
  return imap_cmd_done(s, cmd, "OK", "Getacl completed.");
}

/* SETACL mailbox identifier [+-]rights, DELETEACL mailbox identifier */
bool imap_cmd_setacl(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *name, *id, *rights_text = NULL, *error = NULL;
  bool delete = strcmp(cmd->name, "DELETEACL") == 0;
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &name) ||
      !imap_parse_sp(ip) || !imap_parse_astring(ip, &id))
    return imap_cmd_bad(s, cmd);
  if (!delete &&
      (!imap_parse_sp(ip) || !imap_parse_astring(ip, &rights_text)))
    return imap_cmd_bad(s, cmd);
  if (!imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (*id == '\0') {
    imap_parser_fail(ip, "empty identifier");
    return imap_cmd_bad(s, cmd);
  }
  cursus_store_acl_mode mode = CURSUS_STORE_ACL_REPLACE;
  uint32_t rights = 0;
  if (!delete) {
    if (*rights_text == '+' || *rights_text == '-') {
      mode = *rights_text == '+' ? CURSUS_STORE_ACL_ADD
                                 : CURSUS_STORE_ACL_REMOVE;
      rights_text++;
    }
    if (!imap_parse_rights(rights_text, &rights)) {
      imap_parser_fail(ip, "unknown right");
      return imap_cmd_bad(s, cmd);
    }
  }
  if (STORE->acl_set(s->user, name, id, mode, rights, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  return imap_cmd_done(s, cmd, "OK", "%s completed.",
                       delete ? "Deleteacl" : "Setacl");
}

bool imap_cmd_listrights(imap_session *s, imap_cmd *cmd) {
  imap_parser *ip = &cmd->parser;
  const char *name, *id, *error = NULL;
  uint32_t required = 0, optional = 0;
  if (!imap_parse_sp(ip) || !imap_parse_mailbox(ip, &name) ||
      !imap_parse_sp(ip) || !imap_parse_astring(ip, &id) ||
      !imap_parse_end(ip))
    return imap_cmd_bad(s, cmd);
  if (STORE->acl_listrights(s->user, name, id, &required, &optional,
                            &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  imap_printf(s, "* LISTRIGHTS ");
  imap_append_mailbox(s, s->out, name);
  g_string_append_c(s->out, ' ');
  imap_append_astring(s->out, id);
  g_string_append_c(s->out, ' ');
  imap_append_rights(s->out, required);
  static const char letters[] = CURSUS_STORE_RIGHT_LETTERS;
  for (size_t i = 0; letters[i] != '\0'; i++)
    if ((optional & ~required) & (1u << i))
      g_string_append_printf(s->out, " %c", letters[i]);
  imap_write(s, "\r\n", 2);
  return imap_cmd_done(s, cmd, "OK", "Listrights completed.");
}

bool imap_cmd_myrights(imap_session *s, imap_cmd *cmd) {
  const char *name, *error = NULL;
  uint32_t rights = 0;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_mailbox(&cmd->parser, &name) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  if (STORE->acl_myrights(s->user, name, &rights, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  imap_printf(s, "* MYRIGHTS ");
  imap_append_mailbox(s, s->out, name);
  g_string_append_c(s->out, ' ');
  imap_append_rights(s->out, rights);
  imap_write(s, "\r\n", 2);
  return imap_cmd_done(s, cmd, "OK", "Myrights completed.");
}

/* ------------------------------------------------------------ QUOTA */

/* write_quota - "* QUOTA root (STORAGE used limit MESSAGE used limit)" */
static void write_quota(imap_session *s, const cursus_store_quota *q) {
  bool first = true;
  imap_printf(s, "* QUOTA ");
  imap_append_astring(s->out, q->root != NULL ? q->root : "");
  g_string_append(s->out, " (");
  if (q->bytes_limit >= 0) {
    g_string_append_printf(s->out,
                           "STORAGE %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT,
                           (q->bytes_used + 1023) / 1024,
                           q->bytes_limit / 1024);
    first = false;
  }
  if (q->messages_limit >= 0)
    g_string_append_printf(s->out,
                           "%sMESSAGE %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT,
                           first ? "" : " ", q->messages_used,
                           q->messages_limit);
  g_string_append(s->out, ")\r\n");
}

bool imap_cmd_getquota(imap_session *s, imap_cmd *cmd) {
  const char *root, *error = NULL;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_astring(&cmd->parser, &root) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  cursus_store_quota q = {.size = sizeof(q)};
  if (STORE->quota_get(s->user, root, &q, &error) != CURSUS_OK)
    return imap_cmd_store_error(s, cmd, error);
  if (q.root == NULL)
    q.root = root;
  write_quota(s, &q);
  return imap_cmd_done(s, cmd, "OK", "Getquota completed.");
}

bool imap_cmd_getquotaroot(imap_session *s, imap_cmd *cmd) {
  const char *name, *error = NULL;
  if (!imap_parse_sp(&cmd->parser) || !imap_parse_mailbox(&cmd->parser, &name) ||
      !imap_parse_end(&cmd->parser))
    return imap_cmd_bad(s, cmd);
  cursus_buf root = {0};
  int rc = STORE->quota_root(s->user, name, &root, &error);
  if (rc != CURSUS_OK && rc != CURSUS_NONE) {
    HOST->buf_free(&root);
    return imap_cmd_store_error(s, cmd, error);
  }
  imap_printf(s, "* QUOTAROOT ");
  imap_append_mailbox(s, s->out, name);
  if (rc == CURSUS_OK && root.len > 0) {
    g_string_append_c(s->out, ' ');
    imap_append_astring(s->out, root.data);
  }
  imap_write(s, "\r\n", 2);
  if (rc == CURSUS_OK && root.len > 0) {
    cursus_store_quota q = {.size = sizeof(q)};
    char *r = g_strdup(root.data);
    if (STORE->quota_get(s->user, r, &q, &error) == CURSUS_OK) {
      if (q.root == NULL)
        q.root = r;
      write_quota(s, &q);
    }
    g_free(r);
  }
  HOST->buf_free(&root);
  return imap_cmd_done(s, cmd, "OK", "Getquotaroot completed.");
}

bool imap_cmd_setquota(imap_session *s, imap_cmd *cmd) {
  /* limits come from the directory (mailQuota, mailMsgQuota) */
  return imap_cmd_done(s, cmd, "NO", "[NOPERM] Quota limits are set in the "
                                     "directory (mailQuota, mailMsgQuota).");
}
